package boltgroup

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("b")

func openT(t *testing.T) *Committer {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "group.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err })
	if err != nil {
		t.Fatal(err)
	}
	c := New(db)
	t.Cleanup(func() { c.Close(); _ = db.Close() })
	return c
}

// hold occupies the committer with an Update that waits for release, so
// that the Updates started meanwhile queue up and commit as one batch.
func hold(t *testing.T, s *Committer) (release func()) {
	t.Helper()
	in, out := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Update(context.Background(), func(*bolt.Tx) error {
			close(in)
			<-out
			return nil
		})
	}()
	<-in
	return func() {
		close(out)
		if err := <-errc; err != nil {
			t.Errorf("holding Update: %v", err)
		}
	}
}

// waitQueued waits until n Updates are queued behind the held committer.
func waitQueued(t *testing.T, s *Committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.queue)
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Updates queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func putKey(id string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(id), []byte(id)) }
}

func exists(t *testing.T, s *Committer, id string) bool {
	t.Helper()
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucket).Get([]byte(id)) != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// queueKeys starts n Updates, each writing key "m<i>", and waits until all
// are queued behind the held committer; wait returns their errors.
func queueKeys(t *testing.T, s *Committer, n int) (wait func() []error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.Update(context.Background(), putKey(fmt.Sprint("m", i))) })
	}
	waitQueued(t, s, n)
	return func() []error { wg.Wait(); return errs }
}

// commits is the id of the last committed write transaction: bbolt counts
// them one by one.
func commits(t *testing.T, s *Committer) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// Updates queued together share one transaction and one fsync.
func TestCommit_Batches(t *testing.T) {
	s := openT(t)
	release := hold(t, s)
	const n = 50
	wait := queueKeys(t, s, n)
	before := commits(t, s)
	release()
	errs := wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		if !exists(t, s, fmt.Sprint("m", i)) {
			t.Fatalf("m%d was not written", i)
		}
	}
	// The held Update's own commit, then one for the fifty.
	if got := commits(t, s) - before; got != 2 {
		t.Fatalf("%d commits after the release, want 2 (the held one, then one batch)", got)
	}
}

// A failing fn in the middle of a batch returns its own error and leaves no
// write; the fns around it commit, and those before it run again.
func TestCommit_FailureInBatch(t *testing.T) {
	s := openT(t)
	release := hold(t, s)
	boom := errors.New("boom")
	var mu sync.Mutex
	runs := map[string]int{}
	step := func(id string, fail bool) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			mu.Lock()
			runs[id]++
			mu.Unlock()
			if err := putKey(id)(tx); err != nil {
				return err
			}
			if fail {
				return fmt.Errorf("after writing %s: %w", id, boom)
			}
			return nil
		}
	}
	var wg sync.WaitGroup
	errs := map[string]error{}
	ids := []string{"a", "b", "bad", "c", "d"}
	for i, id := range ids {
		wg.Go(func() {
			err := s.Update(context.Background(), step(id, id == "bad"))
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
		waitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	for _, id := range ids {
		err := errs[id]
		if id == "bad" {
			if !errors.Is(err, boom) {
				t.Fatalf("bad: %v, want boom", err)
			}
			if exists(t, s, id) {
				t.Fatal("the failed fn's write was kept")
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !exists(t, s, id) {
			t.Fatalf("%s was not written", id)
		}
	}
	// a and b ran, were rolled back with the batch, and ran again; bad ran
	// in the batch and once more alone (it had seen a's and b's writes);
	// c and d ran once.
	want := map[string]int{"a": 2, "b": 2, "bad": 2, "c": 1, "d": 1}
	for id, n := range want {
		if runs[id] != n {
			t.Errorf("%s ran %d times, want %d", id, runs[id], n)
		}
	}
}

// A fn that fails first in its batch saw only committed state: its answer
// stands and it does not run again.
func TestCommit_FirstFailsOnce(t *testing.T) {
	s := openT(t)
	runs := 0
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx *bolt.Tx) error {
		runs++
		_ = putKey("x")(tx)
		return boom
	})
	if !errors.Is(err, boom) || runs != 1 {
		t.Fatalf("err %v after %d runs, want boom after 1", err, runs)
	}
	if exists(t, s, "x") {
		t.Fatal("the failed fn's write was kept")
	}
}

// A panic in a batched fn reaches its caller; the others commit.
func TestCommit_PanicInBatch(t *testing.T) {
	s := openT(t)
	release := hold(t, s)
	var wg sync.WaitGroup
	var okErr error
	var got any
	wg.Go(func() { okErr = s.Update(context.Background(), putKey("ok1")) })
	waitQueued(t, s, 1)
	wg.Go(func() {
		defer func() { got = recover() }()
		_ = s.Update(context.Background(), func(tx *bolt.Tx) error {
			_ = putKey("panicker")(tx)
			panic("script bug")
		})
	})
	waitQueued(t, s, 2)
	release()
	wg.Wait()
	if got != "script bug" {
		t.Fatalf("recovered %v, want the fn's panic", got)
	}
	if okErr != nil || !exists(t, s, "ok1") {
		t.Fatalf("the other fn: %v", okErr)
	}
	if exists(t, s, "panicker") {
		t.Fatal("the panicking fn's write was kept")
	}
	// The store still works.
	if err := s.Update(context.Background(), putKey("after")); err != nil {
		t.Fatal(err)
	}
}

// A caller that gives up while queued gets its context's error and no
// write, without costing the batch a rollback.
func TestCommit_CancelledWhileQueued(t *testing.T) {
	s := openT(t)
	release := hold(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var errGone, errOK error
	ran := false
	wg.Go(func() { errOK = s.Update(context.Background(), putKey("kept")) })
	waitQueued(t, s, 1)
	wg.Go(func() {
		errGone = s.Update(ctx, func(tx *bolt.Tx) error { ran = true; return putKey("gone")(tx) })
	})
	waitQueued(t, s, 2)
	cancel()
	release()
	wg.Wait()
	if !errors.Is(errGone, context.Canceled) || ran || exists(t, s, "gone") {
		t.Fatalf("cancelled Update: %v, ran %v", errGone, ran)
	}
	if errOK != nil || !exists(t, s, "kept") {
		t.Fatalf("the other Update: %v", errOK)
	}
}

// Close answers every Update queued before it, then refuses new ones.
func TestCommit_CloseDrains(t *testing.T) {
	s := openT(t)
	release := hold(t, s)
	wait := queueKeys(t, s, 10)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	// Close waits for the committer, which waits for the held fn.
	select {
	case <-closed:
		t.Fatal("Close returned while an Update was running")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	errs := wait()
	<-closed
	for i, err := range errs {
		if err != nil {
			t.Fatalf("queued Update %d: %v", i, err)
		}
	}
	if err := s.Update(context.Background(), putKey("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
}
