package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
	"github.com/tunapay/tuna/components/payment/pgstore"
)

// Tests of two Stores on one schema: two pools, as two servers have. The
// money invariants must hold across them as within one.

// twoServers opens two stores on one fresh schema.
func twoServers(t *testing.T) [2]*pgstore.Store {
	t.Helper()
	schema := newSchema(t)
	return [2]*pgstore.Store{open(t, schema), open(t, schema)}
}

// onBoth runs n calls of fn, concurrently, alternating between the stores.
func onBoth(servers [2]*pgstore.Store, n int, fn func(s *pgstore.Store, i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(servers[i%2], i) })
	}
	wg.Wait()
}

const (
	testPhone = "01012345678"
	testMonth = "2026-03"
)

func TestServers_Limit(t *testing.T) {
	servers := twoServers(t)
	const workers, step = 50, 1000
	onBoth(servers, workers, func(s *pgstore.Store, _ int) {
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			l, err := tx.Limit(testPhone, testMonth)
			if err != nil {
				return err
			}
			l.Used += step
			return tx.PutLimit(l)
		})
		if err != nil {
			t.Error(err)
		}
	})
	for i, s := range servers {
		if got := readLimit(t, s); got.Used != workers*step {
			t.Errorf("server %d reads Used %d, want %d", i, got.Used, workers*step)
		}
	}
}

func readLimit(t *testing.T, s payment.Store) *payment.Limit {
	t.Helper()
	var l *payment.Limit
	mustView(t, s, func(tx payment.Tx) (err error) {
		l, err = tx.Limit(testPhone, testMonth)
		return err
	})
	return l
}

func TestServers_Cancel(t *testing.T) {
	servers := twoServers(t)
	const workers, amount, step = 30, 2000, 100
	p := &payment.Payment{TID: "tid-cancel", CPID: "CP0001", Amount: amount, Status: payment.StatusPaid}
	mustUpdate(t, servers[0], func(tx payment.Tx) error { return tx.PutPayment(p) })
	var done, refused atomic.Int64
	onBoth(servers, workers, func(s *pgstore.Store, _ int) {
		switch err := s.Update(context.Background(), paymenttest.CancelStep(p.TID, step)); {
		case err == nil:
			done.Add(1)
		case errors.Is(err, paymenttest.ErrNoRemaining):
			refused.Add(1)
		default:
			t.Error(err)
		}
	})
	var got *payment.Payment
	mustView(t, servers[1], func(tx payment.Tx) (err error) { got, err = tx.Payment(p.TID); return err })
	if got.Cancelled != amount || got.Remaining() != 0 || len(got.Cancels) != amount/step {
		t.Errorf("Cancelled %d, Remaining %d, %d cancels; want %d, 0, %d",
			got.Cancelled, got.Remaining(), len(got.Cancels), amount, amount/step)
	}
	if done.Load() != amount/step || refused.Load() != workers-amount/step {
		t.Errorf("%d cancels done, %d refused; want %d, %d", done.Load(), refused.Load(), amount/step, workers-amount/step)
	}
}

// Register's check-then-put of an order id, from both servers: one wins.
func TestServers_OrderID(t *testing.T) {
	servers := twoServers(t)
	errTaken := errors.New("taken")
	var created atomic.Int32
	onBoth(servers, 20, func(s *pgstore.Store, i int) {
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			if _, err := tx.PaymentByOrder("CP0001", "order-1"); err == nil {
				return errTaken
			} else if !errors.Is(err, payment.ErrNotFound) {
				return err
			}
			p := paymenttest.SamplePayment(fmt.Sprint("tid-", i), paymenttest.Epoch)
			p.OrderID = "order-1"
			return tx.PutPayment(p)
		})
		switch {
		case err == nil:
			created.Add(1)
		case !errors.Is(err, errTaken):
			t.Error(err)
		}
	})
	if created.Load() != 1 {
		t.Errorf("%d payments created for one order id, want 1", created.Load())
	}
}

// The first OTP of a transaction, sent from both servers: a missing row
// read in an Update stays missing until it ends, so no send is lost.
func TestServers_FirstOTP(t *testing.T) {
	servers := twoServers(t)
	const sends = 20
	onBoth(servers, sends, func(s *pgstore.Store, _ int) {
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			o, err := tx.OTP("tid-otp")
			if errors.Is(err, payment.ErrNotFound) {
				o, err = &payment.OTP{TID: "tid-otp"}, nil
			}
			if err != nil {
				return err
			}
			o.Sends++
			return tx.PutOTP(o)
		})
		if err != nil {
			t.Error(err)
		}
	})
	var o *payment.OTP
	mustView(t, servers[0], func(tx payment.Tx) (err error) { o, err = tx.OTP("tid-otp"); return err })
	if o.Sends != sends {
		t.Errorf("Sends = %d after %d first sends, want %d", o.Sends, sends, sends)
	}
}

// A lease one server holds is not granted to the other until it expires,
// by the database's clock.
func TestServers_Lease(t *testing.T) {
	servers := twoServers(t)
	ctx := t.Context()
	const ttl = 600 * time.Millisecond
	granted := time.Now() // no later than the database's now() for the grant
	if ok, err := servers[0].Lease(ctx, "recovery", "server-a", ttl); err != nil || !ok {
		t.Fatalf("server-a: Lease = %v, %v; want granted", ok, err)
	}
	for {
		ok, err := servers[1].Lease(ctx, "recovery", "server-b", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		waited := time.Since(granted)
		if ok {
			if waited < ttl-20*time.Millisecond { // slack for the two clocks' resolution
				t.Fatalf("server-b was granted the lease %s after server-a, before its %s expired", waited, ttl)
			}
			break
		}
		if waited > ttl+5*time.Second {
			t.Fatal("server-b never got the expired lease")
		}
		time.Sleep(25 * time.Millisecond)
	}
	if ok, err := servers[0].Lease(ctx, "recovery", "server-a", ttl); err != nil || ok {
		t.Errorf("server-a: Lease = %v, %v after server-b took it; want refused", ok, err)
	}
}
