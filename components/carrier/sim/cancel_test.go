package sim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// chargedSim has T1: 1000 charged to a normal phone; TP: 1000 to the
// prepaid 008; TD: declined; T6: 006, not charged.
func chargedSim(t *testing.T) *Simulator {
	t.Helper()
	s, c := newSim(t, nil)
	ctx := context.Background()
	_ = s.Charge(ctx, "T1", "01012345678", 1000)
	_ = s.Charge(ctx, "TP", PhonePrepaid, 1000)
	_ = s.Charge(ctx, "TD", PhoneDeclined, 1000)
	_ = s.Charge(ctx, "T6", PhoneNotChargedUnknown, 1000)
	c.Advance(DefaultUnknownFor)
	return s
}

func TestSimulator_Cancel_Refusals(t *testing.T) {
	type call struct {
		refund bool
		tid    string
		id     string
		amount int64
	}
	tests := []struct {
		name  string
		calls []call // all but the last must succeed
		want  error  // the last call's answer
	}{
		{"whole cancel", []call{{false, "T1", "C1", 1000}}, nil},
		{"whole refund", []call{{true, "T1", "C1", 1000}}, nil},
		{"partial then rest", []call{{false, "T1", "C1", 400}, {true, "T1", "C2", 600}}, nil},
		{"over the charge", []call{{false, "T1", "C1", 1001}}, payment.ErrRefused},
		{"over what is left", []call{{false, "T1", "C1", 400}, {true, "T1", "C2", 601}}, payment.ErrRefused},
		{"after all is cancelled", []call{{false, "T1", "C1", 1000}, {false, "T1", "C2", 1}}, payment.ErrRefused},
		{"zero", []call{{false, "T1", "C1", 0}}, payment.ErrRefused},
		{"negative refund", []call{{true, "T1", "C1", -100}}, payment.ErrRefused},
		{"prepaid cancel", []call{{false, "TP", "C1", 100}}, payment.ErrRefused},
		{"prepaid refund", []call{{true, "TP", "C1", 100}}, payment.ErrRefused},
		{"never charged", []call{{false, "NOPE", "C1", 100}}, payment.ErrRefused},
		{"declined", []call{{false, "TD", "C1", 100}}, payment.ErrRefused},
		{"006 not charged", []call{{true, "T6", "C1", 100}}, payment.ErrRefused},
		{"empty cancel ID", []call{{false, "T1", "", 100}}, ErrInvalid},
		{"cancel ID of another TID", []call{{false, "T1", "C1", 100}, {false, "TP", "C1", 100}}, ErrConflict},
		{"cancel ID with another amount", []call{{false, "T1", "C1", 100}, {false, "T1", "C1", 200}}, ErrConflict},
		{"cancel ID as a refund", []call{{false, "T1", "C1", 100}, {true, "T1", "C1", 100}}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := chargedSim(t)
			var err error
			for i, c := range tt.calls {
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if c.refund {
					err = s.Refund(context.Background(), c.tid, c.id, c.amount)
				} else {
					err = s.Cancel(context.Background(), c.tid, c.id, c.amount)
				}
			}
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("last call = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSimulator_Cancel_Idempotent(t *testing.T) {
	s := chargedSim(t)
	ctx := context.Background()
	for range 3 {
		if err := s.Cancel(ctx, "T1", "C1", 600); err != nil {
			t.Fatal(err)
		}
		if err := s.Refund(ctx, "T1", "R1", 400); err != nil {
			t.Fatal(err)
		}
	}
	e := entry(t, s, "T1")
	if e.Cancelled != 600 || e.Refunded != 400 || len(e.Cancels) != 2 || e.Status != StatusCancelled {
		t.Fatalf("entry after repeats: %+v", e)
	}
	if e.Cancels[0] != (CancelEntry{ID: "C1", Type: payment.TypeCancel, Amount: 600, At: e.Cancels[0].At}) ||
		e.Cancels[1].ID != "R1" || e.Cancels[1].Type != payment.TypeRefund {
		t.Fatalf("cancels %+v", e.Cancels)
	}
}

// A refused cancel changes nothing and is not remembered.
func TestSimulator_Cancel_RefusalChangesNothing(t *testing.T) {
	s := chargedSim(t)
	ctx := context.Background()
	if err := s.Cancel(ctx, "T1", "C1", 5000); !errors.Is(err, payment.ErrRefused) {
		t.Fatal(err)
	}
	if done, err := s.InquireCancel(ctx, "T1", "C1"); err != nil || done {
		t.Fatalf("InquireCancel of a refused cancel = %v, %v", done, err)
	}
	if e := entry(t, s, "T1"); e.Status != StatusCharged || e.Cancelled != 0 || len(e.Cancels) != 0 {
		t.Fatalf("entry after a refusal: %+v", e)
	}
	if err := s.Cancel(ctx, "T1", "C1", 500); err != nil {
		t.Fatalf("the refused cancel ID with a valid amount: %v", err)
	}
}

func TestSimulator_Cancel_Status(t *testing.T) {
	s := chargedSim(t)
	ctx := context.Background()
	steps := []struct {
		refund bool
		amount int64
		status string
	}{{false, 100, StatusPartiallyCancelled}, {true, 200, StatusPartiallyCancelled}, {true, 700, StatusCancelled}}
	for i, st := range steps {
		id := string(rune('A' + i))
		var err error
		if st.refund {
			err = s.Refund(ctx, "T1", id, st.amount)
		} else {
			err = s.Cancel(ctx, "T1", id, st.amount)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := entry(t, s, "T1").Status; got != st.status {
			t.Fatalf("after step %d: status %s, want %s", i, got, st.status)
		}
	}
}

func TestSimulator_InquireCancel(t *testing.T) {
	s := chargedSim(t)
	ctx := context.Background()
	if err := s.Refund(ctx, "T1", "R1", 100); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tid, id string
		want    bool
	}{{"T1", "R1", true}, {"T1", "R2", false}, {"TP", "R1", false}, {"NOPE", "R1", false}}
	for _, tt := range tests {
		if done, err := s.InquireCancel(ctx, tt.tid, tt.id); err != nil || done != tt.want {
			t.Errorf("InquireCancel(%s, %s) = %v, %v; want %v", tt.tid, tt.id, done, err, tt.want)
		}
	}
}

// Concurrent cancels of one charge never cancel more than was charged,
// concurrent charges and cancels of other TIDs share commits, and the
// file agrees with the books after all of them.
func TestSimulator_Cancel_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carrier.db")
	s, _ := newSim(t, &Options{Path: path})
	ctx := context.Background()
	if err := s.Charge(ctx, "T1", "01012345678", 10000); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	cancelErrs := make([]error, 25)
	for i := range cancelErrs {
		wg.Go(func() { cancelErrs[i] = s.Cancel(ctx, "T1", fmt.Sprint("C", i), 1000) })
	}
	// One cancel ID sent for two TIDs at once: one of them is a conflict.
	_ = s.Charge(ctx, "T2", "01012345678", 1000)
	_ = s.Charge(ctx, "T3", "01012345678", 1000)
	var dupErrs [2]error
	wg.Go(func() { dupErrs[0] = s.Cancel(ctx, "T2", "DUP", 1000) })
	wg.Go(func() { dupErrs[1] = s.Cancel(ctx, "T3", "DUP", 1000) })
	for i := range 30 {
		wg.Go(func() {
			if err := s.Charge(ctx, fmt.Sprint("X", i), "01012345678", 500); err != nil {
				t.Errorf("charge X%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range cancelErrs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, payment.ErrRefused):
			t.Errorf("cancel: %v", err)
		}
	}
	if ok != 10 {
		t.Errorf("%d cancels of 1000 applied to a charge of 10000, want 10", ok)
	}
	if (dupErrs[0] == nil) == (dupErrs[1] == nil) || !errors.Is(errors.Join(dupErrs[:]...), ErrConflict) {
		t.Errorf("one cancel ID on two TIDs: %v, want one applied and one conflict", dupErrs)
	}
	st := statement(t, s)
	if len(st) != 33 {
		t.Fatalf("%d entries, want 33", len(st))
	}
	if got := crashCopy(t, path); !reflect.DeepEqual(got, st) {
		t.Fatalf("the file holds\n%+v\nwant\n%+v", got, st)
	}
}
