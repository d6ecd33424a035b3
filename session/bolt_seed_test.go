package session_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

func seedAll(t *testing.T, b *session.BoltStore, sessions []*session.Session) error {
	t.Helper()
	res, err := b.Seed(t.Context(), len(sessions), func(i int) *session.Session { return sessions[i] })
	if err == nil && (res.Sessions != len(sessions) || res.RecordBytes <= 0) {
		t.Fatalf("Seed result %+v for %d sessions", res, len(sessions))
	}
	return err
}

// A seeded session is what Create would have stored: Load returns the same
// as for a created one, at Version 1, and Save and Create treat it alike.
func TestBoltSeed_LikeCreate(t *testing.T) {
	dir := t.TempDir()
	clock := storetest.NewClock(storetest.Epoch)
	seeded := openBolt(t, filepath.Join(dir, "seeded.db"), clock.Now)
	created := openBolt(t, filepath.Join(dir, "created.db"), clock.Now)
	var in []*session.Session
	for i := range 10 {
		in = append(in, storetest.Sample(fmt.Sprintf("tid-%02d", 9-i), storetest.Epoch)) // not in key order
	}
	if err := seedAll(t, seeded, in); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	for _, s := range in {
		if s.Version != 1 {
			t.Fatalf("%s: Version %d after Seed, want 1", s.TID, s.Version)
		}
		c := storetest.Sample(s.TID, storetest.Epoch)
		if err := created.Create(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		got, err := seeded.Load(t.Context(), s.TID)
		if err != nil {
			t.Fatalf("Load %s: %v", s.TID, err)
		}
		want, err := created.Load(t.Context(), s.TID)
		if err != nil {
			t.Fatal(err)
		}
		if d := storetest.Diff(want, got); d != "" {
			t.Fatalf("seeded %s differs from created: %s", s.TID, d)
		}
	}
	if st := seeded.Stats(); st.Sessions != 10 {
		t.Fatalf("Stats = %+v, want 10 sessions", st)
	}

	if err := seeded.Create(t.Context(), storetest.Sample("tid-03", storetest.Epoch)); !errors.Is(err, session.ErrExists) {
		t.Fatalf("Create of a seeded TID: err %v, want ErrExists", err)
	}
	s, _ := seeded.Load(t.Context(), "tid-03")
	s.Data["more"] = true
	if err := seeded.Save(t.Context(), s); err != nil || s.Version != 2 {
		t.Fatalf("Save of a seeded session: err %v, version %d", err, s.Version)
	}
}

// Seeded sessions carry their expiry index entry: Sweep removes them once
// they expire, and not before.
func TestBoltSeed_Sweep(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	b := openBolt(t, filepath.Join(t.TempDir(), "sessions.db"), clock.Now)
	var in []*session.Session
	for i := range 6 {
		s := storetest.Sample(fmt.Sprint("tid-", i), storetest.Epoch)
		s.ExpiresAt = storetest.Epoch.Add(time.Duration(i%3) * time.Minute)
		if i%3 == 0 {
			s.ExpiresAt = time.Time{} // never expires: not indexed
		}
		in = append(in, s)
	}
	if err := seedAll(t, b, in); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if n, err := b.Sweep(t.Context(), storetest.Epoch); err != nil || n != 0 {
		t.Fatalf("Sweep before expiry: %d, %v", n, err)
	}
	clock.Set(storetest.Epoch.Add(time.Minute))
	if _, err := b.Load(t.Context(), "tid-1"); !errors.Is(err, session.ErrExpired) {
		t.Fatalf("Load expired: err %v, want ErrExpired", err)
	}
	if n, err := b.Sweep(t.Context(), clock.Now()); err != nil || n != 2 {
		t.Fatalf("Sweep at +1m: %d, %v, want 2", n, err)
	}
	if n, err := b.Sweep(t.Context(), storetest.Epoch.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("Sweep at +1h: %d, %v, want 2", n, err)
	}
	for i := range 6 {
		_, err := b.Load(t.Context(), fmt.Sprint("tid-", i))
		if i%3 == 0 && err != nil || i%3 != 0 && !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Load tid-%d after the sweeps: %v", i, err)
		}
	}
}

// A TID that is taken, or given twice, fails its whole transaction.
func TestBoltSeed_Exists(t *testing.T) {
	b := openBolt(t, filepath.Join(t.TempDir(), "sessions.db"), nil)
	if err := b.Create(t.Context(), &session.Session{TID: "taken"}); err != nil {
		t.Fatal(err)
	}
	for name, tids := range map[string][]string{
		"stored": {"a", "taken", "b"},
		"twice":  {"c", "d", "c"},
	} {
		var in []*session.Session
		for _, tid := range tids {
			in = append(in, &session.Session{TID: tid})
		}
		if err := seedAll(t, b, in); !errors.Is(err, session.ErrExists) {
			t.Fatalf("%s: Seed err %v, want ErrExists", name, err)
		}
	}
	if st := b.Stats(); st.Sessions != 1 {
		t.Fatalf("Stats after failed seeds = %+v, want only the taken session", st)
	}
	if err := seedAll(t, b, []*session.Session{{TID: ""}}); err == nil {
		t.Fatal("Seed of an empty TID succeeded")
	}
}

// More sessions than one transaction holds (seedChunk, 20000) all land and
// survive a reopen; a cancelled context or a closed store stops Seed.
func TestBoltSeed_ManyAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	b := openBolt(t, path, nil)
	const n = 20100
	exp := time.Now().Add(time.Hour)
	gen := func(i int) *session.Session { return &session.Session{TID: fmt.Sprintf("tid-%06d", i), ExpiresAt: exp} }
	res, err := b.Seed(t.Context(), n, gen)
	if err != nil || res.Sessions != n {
		t.Fatalf("Seed: %+v, %v", res, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Seed(t.Context(), 1, gen); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Seed after Close: err %v, want ErrClosed", err)
	}

	b = openBolt(t, path, nil)
	if st := b.Stats(); st.Sessions != n {
		t.Fatalf("Stats after reopen = %+v, want %d", st, n)
	}
	for _, i := range []int{0, 19999, 20000, n - 1} {
		if s, err := b.Load(t.Context(), gen(i).TID); err != nil || s.Version != 1 || !s.ExpiresAt.Equal(exp) {
			t.Fatalf("Load %d after reopen: %+v, %v", i, s, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Seed(ctx, 1, func(int) *session.Session { return &session.Session{TID: "late"} }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Seed with a cancelled context: err %v", err)
	}
}
