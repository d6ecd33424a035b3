package paymenttest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// ErrNoRemaining is CancelStep's refusal of a cancel larger than what remains.
var ErrNoRemaining = errors.New("paymenttest: nothing left to cancel")

// Concurrent Updates of one limit lose no increment: the money invariant of
// the limit.
func testConcurrentLimit(t *testing.T, s payment.Store) {
	const workers, step = 50, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			if err := s.Update(t.Context(), addUse(step)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := readLimit(t, s, "01012345678", "2026-03"); got.Used != workers*step {
		t.Fatalf("Used = %d after %d Updates adding %d, want %d", got.Used, workers, step, workers*step)
	}
}

func addUse(n int64) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		l, err := tx.Limit("01012345678", "2026-03")
		if err != nil {
			return err
		}
		l.Used += n
		return tx.PutLimit(l)
	}
}

// Concurrent cancels never cancel more than the payment's amount: 30
// cancels of 100 on 2000 leave exactly 20 done and nothing remaining.
func testConcurrentCancel(t *testing.T, s payment.Store) {
	const workers, amount, step = 30, 2000, 100
	p := &payment.Payment{TID: "tid-cancel", CPID: "CP0001", Amount: amount, Status: payment.StatusPaid}
	seed(t, s, p)
	var wg sync.WaitGroup
	var done, refused atomic.Int64
	for range workers {
		wg.Go(func() {
			switch err := s.Update(t.Context(), CancelStep(p.TID, step)); {
			case err == nil:
				done.Add(1)
			case errors.Is(err, ErrNoRemaining):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := readPayment(t, s, p.TID)
	if got.Cancelled != amount || got.Remaining() != 0 || len(got.Cancels) != amount/step {
		t.Fatalf("Cancelled %d, Remaining %d, %d cancels; want %d, 0, %d",
			got.Cancelled, got.Remaining(), len(got.Cancels), amount, amount/step)
	}
	if done.Load() != amount/step || refused.Load() != workers-amount/step {
		t.Fatalf("%d cancels done, %d refused; want %d, %d", done.Load(), refused.Load(), amount/step, workers-amount/step)
	}
}

// CancelStep cancels n of tid if that much remains, the way concurrent
// partial cancels race: a store must never let them exceed the amount. It
// keeps nothing outside tx, so a store may run it again.
func CancelStep(tid string, n int64) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		p, err := tx.Payment(tid)
		if err != nil {
			return err
		}
		if p.Remaining() < n {
			return ErrNoRemaining
		}
		p.Cancels = append(p.Cancels, payment.Cancel{
			ID: fmt.Sprintf("%s-c%d", tid, len(p.Cancels)), Type: payment.TypeCancel, Amount: n, Status: payment.CancelDone,
		})
		p.Cancelled += n
		p.Status = payment.StatusPartialCancelled
		if p.Remaining() == 0 {
			p.Status = payment.StatusCancelled
		}
		return tx.PutPayment(p)
	}
}

// A View sees a whole Update or none of it, across rows: each Update adds
// to a payment's Cancelled and a limit's Used alike, so every View finds
// them equal.
func testConcurrentViewConsistent(t *testing.T, s payment.Store) {
	const writers, readers, step = 20, 8, 100
	seed(t, s, &payment.Payment{TID: "tid-pair", Amount: writers * step, Status: payment.StatusPaid})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if err := s.Update(t.Context(), pairStep(step)); err != nil {
				t.Error(err)
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range 10 {
				if err := s.View(t.Context(), checkPair); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.View(t.Context(), checkPair); err != nil {
		t.Fatal(err)
	}
}

func pairStep(n int64) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		p, err := tx.Payment("tid-pair")
		if err != nil {
			return err
		}
		p.Cancelled += n
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		return addUse(n)(tx)
	}
}

func checkPair(tx payment.Tx) error {
	p, err := tx.Payment("tid-pair")
	if err != nil {
		return err
	}
	l, err := tx.Limit("01012345678", "2026-03")
	if err == nil && p.Cancelled != l.Used {
		err = fmt.Errorf("View saw Cancelled %d but Used %d: a torn Update", p.Cancelled, l.Used)
	}
	return err
}
