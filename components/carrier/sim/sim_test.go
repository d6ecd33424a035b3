package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/session/storetest"
)

func newClock() *storetest.Clock {
	return storetest.NewClock(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))
}

// newSim opens an in-memory simulator on a fixed clock, closed at the
// end of the test.
func newSim(t *testing.T, opts *Options) (*Simulator, *storetest.Clock) {
	t.Helper()
	c := newClock()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = c.Now
	}
	s, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// statement returns s's statement, failing the test on an error.
func statement(t *testing.T, s *Simulator) []Entry {
	t.Helper()
	st, err := s.Statement(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// entry returns the statement entry of tid.
func entry(t *testing.T, s *Simulator, tid string) Entry {
	t.Helper()
	for _, e := range statement(t, s) {
		if e.TID == tid {
			return e
		}
	}
	t.Fatalf("no statement entry for %s", tid)
	return Entry{}
}

func TestNew_BadOptions(t *testing.T) {
	for _, o := range []Options{{FailRate: -0.1}, {FailRate: 1.5}, {Latency: -time.Second}} {
		if _, err := New(&o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestSimulator_Close(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Charge(ctx, "T1", "01012345678", 1000); !errors.Is(err, ErrClosed) {
		t.Errorf("Charge after Close: %v", err)
	}
	if _, err := s.Statement(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Statement after Close: %v", err)
	}
	if _, err := s.Inquire(ctx, "T1"); !errors.Is(err, payment.ErrCarrierUnknown) {
		t.Errorf("Inquire after Close: %v", err)
	}
}

func TestSimulator_Latency(t *testing.T) {
	s, _ := newSim(t, &Options{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Charge(ctx, "T1", "01012345678", 1000); !errors.Is(err, payment.ErrCarrierUnknown) {
		t.Fatalf("Charge past the deadline: %v", err)
	}
	if n := len(statement(t, s)); n != 0 {
		t.Fatalf("a charge cut short by its context was applied: %d entries", n)
	}

	s, _ = newSim(t, &Options{Latency: 30 * time.Millisecond})
	start := time.Now()
	if err := s.Charge(context.Background(), "T1", "01012345678", 1000); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("Charge took %s, want at least the latency", d)
	}
}
