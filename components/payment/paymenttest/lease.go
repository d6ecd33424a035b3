package paymenttest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// testLease: a lease is held by one holder at a time, renewed by its holder,
// and free again once it expires.
func testLease(t *testing.T, s payment.Store) {
	ctx := context.Background()
	steps := []struct {
		holder string
		ttl    time.Duration
		want   bool
	}{
		{"a", 300 * time.Millisecond, true},
		{"b", time.Second, false},
		{"a", 300 * time.Millisecond, true}, // renews
		{"b", time.Second, false},
	}
	for i, st := range steps {
		got, err := s.Lease(ctx, "recovery", st.holder, st.ttl)
		if err != nil || got != st.want {
			t.Fatalf("step %d: %s got %v, %v; want %v", i, st.holder, got, err, st.want)
		}
	}
	if got, _ := s.Lease(ctx, "other", "b", time.Second); !got {
		t.Fatal("leases of different names block each other")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.Lease(ctx, "recovery", "b", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired lease never came free")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Many contenders at once: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if ok, err := s.Lease(ctx, "race", string(rune('A'+i)), time.Minute); err == nil && ok {
				wins.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d holders of one lease", wins.Load())
	}
}

// testConcurrentOrderID: 20 concurrent check-then-put of one order id (as
// Register does) create exactly one payment.
func testConcurrentOrderID(t *testing.T, s payment.Store) {
	ctx := context.Background()
	errTaken := errors.New("taken")
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Update(ctx, func(tx payment.Tx) error {
				if _, err := tx.PaymentByOrder("cp", "order-1"); err == nil {
					return errTaken
				} else if !errors.Is(err, payment.ErrNotFound) {
					return err
				}
				p := SamplePayment(string(rune('a'+i))+"-tid", Epoch)
				p.CPID, p.OrderID = "cp", "order-1"
				return tx.PutPayment(p)
			})
			switch {
			case err == nil:
				created.Add(1)
			case !errors.Is(err, errTaken):
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d payments created for one order id", created.Load())
	}
}
