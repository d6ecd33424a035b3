package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// failRun charges and then wholly cancels n TIDs on a simulator with
// FailRate 0.5, retrying each call while its answer is unknown, and
// returns the outcome of every first attempt: "ok", "lost" (unknown, not
// applied) or "applied" (unknown, applied).
func failRun(t *testing.T, seed int64, n int) []string {
	t.Helper()
	s, _ := newSim(t, &Options{FailRate: 0.5, Seed: seed})
	var outcomes []string
	for i := range n {
		tid := fmt.Sprintf("T%03d", i)
		outcomes = append(outcomes, attempt(t, s, tid, func() error { return s.Charge(context.Background(), tid, "01012345678", 1000) },
			func() bool { st, _ := s.Inquire(context.Background(), tid); return st.Charged }))
		outcomes = append(outcomes, attempt(t, s, tid, func() error { return s.Cancel(context.Background(), tid, "C"+tid, 1000) },
			func() bool { done, _ := s.InquireCancel(context.Background(), tid, "C"+tid); return done }))
	}
	for _, e := range statement(t, s) {
		if e.Amount != 1000 || e.Cancelled != 1000 || len(e.Cancels) != 1 || e.Status != StatusCancelled {
			t.Fatalf("entry %+v: want one charge of 1000, wholly cancelled once", e)
		}
	}
	if got := len(statement(t, s)); got != n {
		t.Fatalf("%d entries, want %d", got, n)
	}
	return outcomes
}

// attempt calls call until its answer is known and reports the first.
func attempt(t *testing.T, s *Simulator, tid string, call func() error, applied func() bool) string {
	t.Helper()
	first := call()
	outcome := "ok"
	if errors.Is(first, payment.ErrCarrierUnknown) {
		outcome = "lost"
		if applied() {
			outcome = "applied"
		}
	} else if first != nil {
		t.Fatalf("%s: %v", tid, first)
	}
	for err := first; err != nil; err = call() {
		if !errors.Is(err, payment.ErrCarrierUnknown) {
			t.Fatalf("%s: retry: %v", tid, err)
		}
	}
	return outcome
}

func TestSimulator_FailRate(t *testing.T) {
	got := failRun(t, 7, 100)
	count := map[string]int{}
	for _, o := range got {
		count[o]++
	}
	// 200 calls at 0.5: about 50 of each kind of failure.
	if count["lost"] < 20 || count["applied"] < 20 || count["ok"] < 60 {
		t.Fatalf("outcomes %v: want some of each", count)
	}
	if again := failRun(t, 7, 100); strings.Join(again, " ") != strings.Join(got, " ") {
		t.Fatal("the same seed gave other failures")
	}
	if other := failRun(t, 8, 100); strings.Join(other, " ") == strings.Join(got, " ") {
		t.Fatal("another seed gave the same failures")
	}
}

func TestSimulator_FailRate_Bounds(t *testing.T) {
	ctx := context.Background()
	always, _ := newSim(t, &Options{FailRate: 1})
	never, _ := newSim(t, nil)
	for i := range 50 {
		tid := fmt.Sprint("T", i)
		if err := always.Charge(ctx, tid, "01012345678", 1000); !errors.Is(err, payment.ErrCarrierUnknown) {
			t.Fatalf("FailRate 1: %v", err)
		}
		if err := never.Charge(ctx, tid, "01012345678", 1000); err != nil {
			t.Fatalf("FailRate 0: %v", err)
		}
	}
	// Inquiries never fail at random.
	for i := range 50 {
		if _, err := always.Inquire(ctx, fmt.Sprint("T", i)); err != nil {
			t.Fatalf("Inquire with FailRate 1: %v", err)
		}
	}
}
