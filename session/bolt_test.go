package session_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

func openBolt(t *testing.T, path string, now func() time.Time) *session.BoltStore {
	t.Helper()
	b, err := session.OpenBolt(path, &session.BoltOptions{Now: now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBolt_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "sessions.db"), now)
	})
}

func TestBolt_Reopen_Durable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	clock := storetest.NewClock(storetest.Epoch)
	b := openBolt(t, path, clock.Now)
	var want []*session.Session
	for i := range 5 {
		s := storetest.Sample(fmt.Sprintf("tid-%d", i), storetest.Epoch)
		if err := b.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		s.Data["saved"] = float64(i)
		if err := b.Save(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = openBolt(t, path, clock.Now)
	for _, s := range want {
		got, err := b.Load(t.Context(), s.TID)
		if err != nil {
			t.Fatalf("Load %s after reopen: %v", s.TID, err)
		}
		if d := storetest.Diff(s, got); d != "" {
			t.Fatalf("%s after reopen: %s", s.TID, d)
		}
	}
	if st := b.Stats(); st.Backend != "bolt" || st.Sessions != 5 || st.Bytes <= 0 {
		t.Fatalf("Stats after reopen = %+v", st)
	}
}

func TestBolt_Open_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	openBolt(t, path, nil)
	start := time.Now()
	_, err := session.OpenBolt(path, &session.BoltOptions{OpenTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second OpenBolt: err %v, want a locked error", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("second OpenBolt took %v", waited)
	}
}

func TestBolt_Closed(t *testing.T) {
	b := openBolt(t, filepath.Join(t.TempDir(), "sessions.db"), nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(t.Context(), "tid"); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Load after Close: err %v, want ErrClosed", err)
	}
	if st := b.Stats(); st.Sessions != -1 || st.Bytes != -1 {
		t.Fatalf("Stats after Close = %+v, want -1s", st)
	}
}

// TestBolt_Close_Pending closes the store while saves are in flight: each
// must answer (committed or ErrClosed), none may hang.
func TestBolt_Close_Pending(t *testing.T) {
	b := openBolt(t, filepath.Join(t.TempDir(), "sessions.db"), nil)
	const writers = 64
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			errs <- b.Create(context.Background(), &session.Session{TID: fmt.Sprint("tid-", i)})
		}()
	}
	time.Sleep(time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range writers {
		select {
		case err := <-errs:
			if err != nil && !errors.Is(err, session.ErrClosed) {
				t.Errorf("Create during Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a Create hung across Close")
		}
	}
}
