package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tunapay/tuna/internal/bolttest"
)

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newOp(t *testing.T, create bool, tid string, version uint64, expires time.Duration, note string) *op {
	t.Helper()
	s := &Session{TID: tid, Version: version, ExpiresAt: epoch.Add(expires), Data: map[string]any{"note": note}}
	o := getOp()
	if err := o.prepare(s, create); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestBoltStore_Commit_Batch commits one batch in which some ops fail: the
// others must still be written, in order, each seeing the ones before.
func TestBoltStore_Commit_Batch(t *testing.T) {
	b, err := OpenBolt(filepath.Join(t.TempDir(), "s.db"), &BoltOptions{Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cases := []struct {
		op   *op
		want error
	}{
		{newOp(t, true, "a", 0, time.Minute, "a1"), nil},
		{newOp(t, false, "a", 1, 2*time.Minute, "a2"), nil},
		{newOp(t, false, "a", 1, 3*time.Minute, "stale"), ErrConflict},
		{newOp(t, true, "a", 0, time.Minute, "dup"), ErrExists},
		{newOp(t, false, "b", 1, time.Minute, "ghost"), ErrNotFound},
		{newOp(t, true, "c", 0, time.Minute, "c1"), nil},
		{newOp(t, false, "a", 2, 4*time.Minute, "a3"), nil},
	}
	batch := make([]*op, len(cases))
	for i, tc := range cases {
		batch[i] = tc.op
	}
	b.commit(batch)
	for i, tc := range cases {
		<-tc.op.done
		if !errors.Is(tc.op.err, tc.want) {
			t.Errorf("op %d (%s): err %v, want %v", i, tc.op.tid, tc.op.err, tc.want)
		}
	}
	a, err := b.Load(t.Context(), "a")
	if err != nil || a.Version != 3 || a.Data["note"] != "a3" || !a.ExpiresAt.Equal(epoch.Add(4*time.Minute)) {
		t.Fatalf("a = %+v, %v; want the last save at Version 3", a, err)
	}
	if n := indexLen(t, b); n != 2 {
		t.Fatalf("expiry index holds %d keys, want 2 (a and c)", n)
	}
}

func indexLen(t *testing.T, b *BoltStore) int {
	t.Helper()
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExpiry).ForEach(func(k, v []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBoltStore_Save_MovesIndex checks that a sliding TTL replaces the
// session's expiry key rather than adding one.
func TestBoltStore_Save_MovesIndex(t *testing.T) {
	b, err := OpenBolt(filepath.Join(t.TempDir(), "s.db"), &BoltOptions{Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := &Session{TID: "slide", ExpiresAt: epoch.Add(time.Minute)}
	if err := b.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.ExpiresAt = s.ExpiresAt.Add(time.Minute)
		if i == 2 {
			s.ExpiresAt = time.Time{} // no expiry: no key at all
		}
		if err := b.Save(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if n, want := indexLen(t, b), min(1, 2-i); n != want {
			t.Fatalf("after save %d the index holds %d keys, want %d", i, n, want)
		}
	}
}

// The session count is kept with every create and sweep, so Stats does not
// walk the table; a file from before the count is counted once on open.
func TestBoltStore_Count(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	now := time.Unix(1_700_000_000, 0)
	b, err := OpenBolt(path, &BoltOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	count := func(want int64) {
		t.Helper()
		if got := b.Stats().Sessions; got != want {
			t.Fatalf("Stats().Sessions = %d, want %d", got, want)
		}
	}
	count(0)
	var ss []*Session
	for i := range 5 {
		s := &Session{TID: fmt.Sprint("tid-", i), Protocol: "p", ExpiresAt: now.Add(time.Duration(i+1) * time.Minute),
			Data: map[string]any{}, Steps: map[string]*StepRecord{}}
		if err := b.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	count(5)
	if err := b.Create(ctx, &Session{TID: "tid-0", ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, ErrExists) {
		t.Fatalf("Create of a taken TID: %v", err)
	}
	if err := b.Save(ctx, ss[1]); err != nil {
		t.Fatal(err)
	}
	count(5)
	if n, err := b.Sweep(ctx, now.Add(2*time.Minute)); err != nil || n != 2 {
		t.Fatalf("Sweep: %d, %v", n, err)
	}
	count(3)
	// A file from before the count: the meta bucket goes, the open counts.
	if err := b.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMeta) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = OpenBolt(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	count(3)
}

// Sessions created one after another add expiry index keys at the
// right-hand end: the index's pages are filled as appendFill says, not
// half full as bbolt's default leaves them.
func TestBoltStore_ExpiryIndexFill(t *testing.T) {
	b, err := OpenBolt(filepath.Join(t.TempDir(), "s.db"), &BoltOptions{Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for i := 0; i < 3000; i++ {
		s := &Session{TID: fmt.Sprintf("T%06d", i), ExpiresAt: epoch.Add(time.Hour + time.Duration(i)*time.Millisecond), Data: map[string]any{}}
		if err := b.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	bolttest.LeafFill(t, b.db, bucketExpiry, 5, 0.75)
}
