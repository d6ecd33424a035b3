// Package storetest is the contract suite every session.Store backend must
// pass. A backend's test calls Run with a function that opens a fresh store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
)

// Epoch is the time every suite clock starts at.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)

// TTL is the lifetime the suite gives its sessions.
const TTL = 10 * time.Minute

// OpenFunc opens a fresh, empty store whose expiry clock is now and closes
// it in t.Cleanup (closing twice must be harmless). It is called from
// parallel subtests.
type OpenFunc func(t *testing.T, now func() time.Time) session.Store

// env is what one subtest gets: its own store and the clock it runs on.
type env struct {
	store session.Store
	clock *Clock
}

// Run runs the contract suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Epoch)
			tc.run(t, env{store: open(t, clock.Now), clock: clock})
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"Create_Load_RoundTrip", testCreateLoadRoundTrip},
	{"Create_Exists", testCreateExists},
	{"Create_NotAliased", testCreateNotAliased},
	{"Create_EmptyTID", testCreateEmptyTID},
	{"Load_NotFound", testLoadNotFound},
	{"Load_Expired", testLoadExpired},
	{"Load_NotAliased", testLoadNotAliased},
	{"Load_WritableMaps", testLoadWritableMaps},
	{"Save_IncrementsVersion", testSaveIncrementsVersion},
	{"Save_Conflict", testSaveConflict},
	{"Save_NotFound", testSaveNotFound},
	{"Save_ConcurrentConflict", testSaveConcurrentConflict},
	{"Save_SlidingTTL", testSaveSlidingTTL},
	{"Sweep_Expired", testSweepExpired},
	{"Sweep_Many", testSweepMany},
	{"NoExpiry", testNoExpiry},
	{"Hold_Busy", testHoldBusy},
	{"Hold_AfterRelease", testHoldAfterRelease},
	{"Hold_ReleaseTwice", testHoldReleaseTwice},
	{"Hold_ContextCancel", testHoldContextCancel},
	{"Hold_OtherTID", testHoldOtherTID},
	{"Concurrent_SameTID", testConcurrentSameTID},
	{"Concurrent_ManyTIDs", testConcurrentManyTIDs},
	{"Close", testClose},
}

// Sample returns a session that uses every field and every kind of JSON
// value, created at now.
func Sample(tid string, now time.Time) *session.Session {
	kst := time.FixedZone("KST", 9*60*60)
	return &session.Session{
		TID:       tid,
		Protocol:  "payment",
		CreatedAt: now.In(kst),
		UpdatedAt: now.Add(1500 * time.Millisecond),
		ExpiresAt: now.Add(TTL),
		Seq:       2,
		Data: map[string]any{
			"cp_id": "CP0001",
			"name":  "휴대폰 <결제> & \"quoted\"\n",
			"price": 1500.0, "ratio": 0.125, "neg": -3.0, "max_safe": 9007199254740991.0,
			"ok": true, "no": false, "none": nil,
			"nested": map[string]any{
				"list":  []any{1.0, "two", false, nil, map[string]any{"deep": []any{}}},
				"empty": map[string]any{},
			},
		},
		Steps: map[string]*session.StepRecord{
			"cp_auth": {
				Result: "SUCCESS", Code: "0000", Message: "ok",
				Data:     map[string]any{"token": "abc", "n": 1.0, "l": []any{"x"}},
				Attempts: 1, LastSeq: 1, SuccessSeq: 1, At: now,
			},
			"user_auth": {Result: "FAIL", Code: "E101", Attempts: 2, LastSeq: 2, At: now.Add(time.Second)},
		},
	}
}

func testCreateLoadRoundTrip(t *testing.T, e env) {
	closed := Sample("tid-closed", Epoch)
	closed.ClosedBy = "cancel"
	preset := Sample("tid-preset", Epoch)
	preset.Version = 7
	for _, s := range []*session.Session{
		Sample("tid-full", Epoch),
		closed,
		preset,
		{TID: "tid-minimal", ExpiresAt: Epoch.Add(TTL)},
	} {
		t.Run(s.TID, func(t *testing.T) {
			mustCreate(t, e.store, s)
			if s.Version != 1 {
				t.Fatalf("Create set Version %d, want 1", s.Version)
			}
			got := mustLoad(t, e.store, s.TID)
			if d := Diff(s, got); d != "" {
				t.Fatalf("Load after Create: %s", d)
			}
		})
	}
}

func testCreateExists(t *testing.T, e env) {
	first := Sample("tid-dup", Epoch)
	mustCreate(t, e.store, first)
	second := Sample("tid-dup", Epoch)
	second.Data = map[string]any{"other": "value"}
	if err := e.store.Create(ctx(t), second); !errors.Is(err, session.ErrExists) {
		t.Fatalf("second Create: err %v, want ErrExists", err)
	}
	if d := Diff(first, mustLoad(t, e.store, "tid-dup")); d != "" {
		t.Fatalf("stored session changed by a failed Create: %s", d)
	}
}

func testCreateNotAliased(t *testing.T, e env) {
	s := Sample("tid-create-alias", Epoch)
	want := s.Clone()
	mustCreate(t, e.store, s)
	want.Version = s.Version
	mutate(s)
	if d := Diff(want, mustLoad(t, e.store, s.TID)); d != "" {
		t.Fatalf("changing the created session changed the store: %s", d)
	}
}

func testCreateEmptyTID(t *testing.T, e env) {
	if err := e.store.Create(ctx(t), Sample("", Epoch)); err == nil {
		t.Fatal("Create with an empty TID succeeded")
	}
}

func testLoadNotFound(t *testing.T, e env) {
	if _, err := e.store.Load(ctx(t), "tid-unknown"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load unknown: err %v, want ErrNotFound", err)
	}
}

func testLoadExpired(t *testing.T, e env) {
	s := Sample("tid-expiring", Epoch)
	mustCreate(t, e.store, s)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{s.ExpiresAt.Add(-time.Nanosecond), nil},
		{s.ExpiresAt, session.ErrExpired},
		{s.ExpiresAt.Add(24 * time.Hour), session.ErrExpired}, // until swept
	} {
		e.clock.Set(tc.at)
		if _, err := e.store.Load(ctx(t), s.TID); !errors.Is(err, tc.want) {
			t.Errorf("Load at ExpiresAt%+v: err %v, want %v", tc.at.Sub(s.ExpiresAt), err, tc.want)
		}
	}
}

func testLoadNotAliased(t *testing.T, e env) {
	s := Sample("tid-load-alias", Epoch)
	mustCreate(t, e.store, s)
	mutate(mustLoad(t, e.store, s.TID))
	if d := Diff(s, mustLoad(t, e.store, s.TID)); d != "" {
		t.Fatalf("changing a loaded copy changed the store: %s", d)
	}
}

func testLoadWritableMaps(t *testing.T, e env) {
	mustCreate(t, e.store, &session.Session{TID: "tid-nil-maps", ExpiresAt: Epoch.Add(TTL)})
	got := mustLoad(t, e.store, "tid-nil-maps")
	if got.Data == nil || got.Steps == nil {
		t.Fatalf("Load returned Data %v, Steps %v: want non-nil maps", got.Data, got.Steps)
	}
}

func testSaveIncrementsVersion(t *testing.T, e env) {
	mustCreate(t, e.store, Sample("tid-save", Epoch))
	for want := uint64(2); want <= 4; want++ {
		s := mustLoad(t, e.store, "tid-save")
		s.Data["round"] = float64(want)
		s.Seq++
		mustSave(t, e.store, s)
		if s.Version != want {
			t.Fatalf("Save set Version %d, want %d", s.Version, want)
		}
		if d := Diff(s, mustLoad(t, e.store, "tid-save")); d != "" {
			t.Fatalf("Load after Save: %s", d)
		}
	}
}

func testSaveConflict(t *testing.T, e env) {
	mustCreate(t, e.store, Sample("tid-conflict", Epoch))
	winner := mustLoad(t, e.store, "tid-conflict")
	loser := mustLoad(t, e.store, "tid-conflict")
	winner.Data["who"] = "winner"
	mustSave(t, e.store, winner)
	loser.Data["who"] = "loser"
	if err := e.store.Save(ctx(t), loser); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("stale Save: err %v, want ErrConflict", err)
	}
	if loser.Version != 1 {
		t.Errorf("failed Save set Version %d, want it left at 1", loser.Version)
	}
	if d := Diff(winner, mustLoad(t, e.store, "tid-conflict")); d != "" {
		t.Fatalf("stored session changed by a stale Save: %s", d)
	}
}

func testSaveNotFound(t *testing.T, e env) {
	s := Sample("tid-never-created", Epoch)
	s.Version = 1
	if err := e.store.Save(ctx(t), s); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Save of unknown: err %v, want ErrNotFound", err)
	}
}

// testSaveConcurrentConflict races saves of one version: exactly one wins.
func testSaveConcurrentConflict(t *testing.T, e env) {
	const writers = 20
	mustCreate(t, e.store, Sample("tid-race", Epoch))
	copies := make([]*session.Session, writers)
	for i := range copies {
		copies[i] = mustLoad(t, e.store, "tid-race")
		copies[i].Data["writer"] = float64(i)
	}
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for _, s := range copies {
		wg.Go(func() { errs <- e.store.Save(ctx(t), s) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, session.ErrConflict):
			t.Errorf("racing Save: err %v, want nil or ErrConflict", err)
		}
	}
	if got := mustLoad(t, e.store, "tid-race"); won != 1 || got.Version != 2 {
		t.Fatalf("%d saves won, stored Version %d; want 1 and 2", won, got.Version)
	}
}

func testSaveSlidingTTL(t *testing.T, e env) {
	s := Sample("tid-slide", Epoch)
	mustCreate(t, e.store, s)
	e.clock.Set(Epoch.Add(TTL / 2))
	s = mustLoad(t, e.store, s.TID)
	s.ExpiresAt = e.clock.Now().Add(TTL)
	mustSave(t, e.store, s)

	e.clock.Set(Epoch.Add(TTL + time.Minute)) // past the first ExpiresAt
	mustLoad(t, e.store, s.TID)
	if n := mustSweep(t, e.store, e.clock.Now()); n != 0 {
		t.Fatalf("Sweep past the old ExpiresAt removed %d, want 0", n)
	}
	e.clock.Set(s.ExpiresAt)
	if _, err := e.store.Load(ctx(t), s.TID); !errors.Is(err, session.ErrExpired) {
		t.Fatalf("Load at the new ExpiresAt: err %v, want ErrExpired", err)
	}
	if n := mustSweep(t, e.store, s.ExpiresAt); n != 1 {
		t.Fatalf("Sweep at the new ExpiresAt removed %d, want 1", n)
	}
}

func testSweepExpired(t *testing.T, e env) {
	cutoff := Epoch.Add(2 * time.Minute)
	cases := []struct {
		tid     string
		expires time.Time
		swept   bool
	}{
		{"tid-1m", Epoch.Add(time.Minute), true},
		{"tid-at-cutoff", cutoff, true},
		{"tid-after-cutoff", cutoff.Add(time.Nanosecond), false},
		{"tid-1h", Epoch.Add(time.Hour), false},
	}
	for _, tc := range cases {
		s := Sample(tc.tid, Epoch)
		s.ExpiresAt = tc.expires
		mustCreate(t, e.store, s)
	}
	if n := mustSweep(t, e.store, cutoff); n != 2 {
		t.Errorf("Sweep removed %d, want 2", n)
	}
	for _, tc := range cases {
		_, err := e.store.Load(ctx(t), tc.tid)
		if swept := errors.Is(err, session.ErrNotFound); swept != tc.swept {
			t.Errorf("Load %s after Sweep: err %v, want swept %v", tc.tid, err, tc.swept)
		}
	}
	if n := mustSweep(t, e.store, cutoff); n != 0 {
		t.Errorf("second Sweep removed %d, want 0", n)
	}
}

// testSweepMany sweeps more sessions than a backend is likely to delete in
// one round.
func testSweepMany(t *testing.T, e env) {
	const writers, each = 30, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				s := &session.Session{TID: fmt.Sprintf("tid-many-%d-%d", w, i), ExpiresAt: Epoch.Add(time.Duration(i) * time.Second)}
				if err := e.store.Create(ctx(t), s); err != nil {
					t.Errorf("Create %s: %v", s.TID, err)
				}
			}
		})
	}
	wg.Wait()
	if n := mustSweep(t, e.store, Epoch.Add(TTL)); n != writers*each {
		t.Fatalf("Sweep removed %d, want %d", n, writers*each)
	}
	if st := e.store.Stats(); st.Sessions > 0 {
		t.Fatalf("Stats after Sweep: %d sessions, want 0 (or -1)", st.Sessions)
	}
}

func testNoExpiry(t *testing.T, e env) {
	s := Sample("tid-forever", Epoch)
	s.ExpiresAt = time.Time{}
	mustCreate(t, e.store, s)
	e.clock.Set(Epoch.AddDate(100, 0, 0))
	mustLoad(t, e.store, s.TID)
	if n := mustSweep(t, e.store, e.clock.Now()); n != 0 {
		t.Fatalf("Sweep removed %d sessions without an expiry, want 0", n)
	}
}

func testHoldBusy(t *testing.T, e env) {
	const wait = 50 * time.Millisecond
	defer mustHold(t, e.store, "tid-hold", 0)()
	start := time.Now()
	_, err := e.store.Hold(ctx(t), "tid-hold", wait, time.Minute)
	if !errors.Is(err, session.ErrBusy) {
		t.Fatalf("second Hold: err %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < wait {
		t.Fatalf("second Hold gave up after %v, want at least %v", waited, wait)
	}
}

func testHoldAfterRelease(t *testing.T, e env) {
	release := mustHold(t, e.store, "tid-handover", 0)
	time.AfterFunc(20*time.Millisecond, release)
	start := time.Now()
	mustHold(t, e.store, "tid-handover", 10*time.Second)()
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waiter took %v to get a released TID", waited)
	}
	mustHold(t, e.store, "tid-handover", 0)()
}

func testHoldReleaseTwice(t *testing.T, e env) {
	first := mustHold(t, e.store, "tid-twice", 0)
	first()
	first()
	second := mustHold(t, e.store, "tid-twice", 0)
	first() // a stale release must not free the second holder
	if _, err := e.store.Hold(ctx(t), "tid-twice", 20*time.Millisecond, time.Minute); !errors.Is(err, session.ErrBusy) {
		t.Fatalf("Hold after a stale release: err %v, want ErrBusy", err)
	}
	second()
	second()
	mustHold(t, e.store, "tid-twice", 0)()
}

func testHoldContextCancel(t *testing.T, e env) {
	defer mustHold(t, e.store, "tid-cancel", 0)()
	c, cancel := context.WithCancel(ctx(t))
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.store.Hold(c, "tid-cancel", time.Minute, time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Hold with a cancelled ctx: err %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("cancel took %v to stop the wait", waited)
	}
}

func testHoldOtherTID(t *testing.T, e env) {
	defer mustHold(t, e.store, "tid-a", 0)()
	mustHold(t, e.store, "tid-b", 0)()
}

// testConcurrentSameTID runs whole steps (Hold, Load, change, Save,
// release) on one TID at once: Hold must serialise them so none is lost.
func testConcurrentSameTID(t *testing.T, e env) {
	const steps = 50
	mustCreate(t, e.store, Sample("tid-counter", Epoch))
	var wg sync.WaitGroup
	for range steps {
		wg.Go(func() {
			if err := step(ctx(t), e.store, "tid-counter"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := mustLoad(t, e.store, "tid-counter")
	if got.Data["counter"] != float64(steps) || got.Version != steps+1 {
		t.Fatalf("counter %v at Version %d, want %d at %d", got.Data["counter"], got.Version, steps, steps+1)
	}
}

// step is one engine step that counts itself in Data["counter"].
func step(c context.Context, store session.Store, tid string) error {
	release, err := store.Hold(c, tid, 20*time.Second, time.Minute)
	if err != nil {
		return fmt.Errorf("Hold %s: %w", tid, err)
	}
	defer release()
	s, err := store.Load(c, tid)
	if err != nil {
		return fmt.Errorf("Load %s: %w", tid, err)
	}
	n, _ := s.Data["counter"].(float64)
	s.Data["counter"] = n + 1
	s.Seq++
	if err := store.Save(c, s); err != nil {
		return fmt.Errorf("Save %s: %w", tid, err)
	}
	return nil
}

func testConcurrentManyTIDs(t *testing.T, e env) {
	const workers, tids, rounds = 16, 4, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range tids {
				tid := fmt.Sprintf("tid-w%d-%d", w, i)
				if err := e.store.Create(ctx(t), Sample(tid, Epoch)); err != nil {
					t.Errorf("Create %s: %v", tid, err)
					return
				}
				for range rounds {
					if err := step(ctx(t), e.store, tid); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i := range tids {
			got := mustLoad(t, e.store, fmt.Sprintf("tid-w%d-%d", w, i))
			if got.Data["counter"] != float64(rounds) || got.Version != rounds+1 {
				t.Errorf("%s: counter %v at Version %d", got.TID, got.Data["counter"], got.Version)
			}
		}
	}
}

func testClose(t *testing.T, e env) {
	s := Sample("tid-close", Epoch)
	mustCreate(t, e.store, s)
	if err := e.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, tc := range []struct {
		op  string
		err error
	}{
		{"Create", e.store.Create(ctx(t), Sample("tid-after-close", Epoch))},
		{"Load", second(e.store.Load(ctx(t), s.TID))},
		{"Save", e.store.Save(ctx(t), s)},
		{"Hold", second(e.store.Hold(ctx(t), s.TID, 0, time.Minute))},
		{"Sweep", second(e.store.Sweep(ctx(t), Epoch.AddDate(1, 0, 0)))},
	} {
		if !errors.Is(tc.err, session.ErrClosed) {
			t.Errorf("%s after Close: err %v, want ErrClosed", tc.op, tc.err)
		}
	}
	if err := e.store.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
