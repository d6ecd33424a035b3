package paymenttest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// SeedVerified fills s with n VERIFIED payments, tid-0 … tid-(n-1), all of
// one phone, or of a phone each when spread: the ledger a store benchmark
// runs charges against.
func SeedVerified(tb testing.TB, s payment.Store, n int, spread bool) {
	tb.Helper()
	err := s.Update(context.Background(), func(tx payment.Tx) error {
		for i := range n {
			p := SamplePayment(fmt.Sprint("tid-", i), Epoch)
			p.Status, p.Cancels, p.Cancelled, p.Refunded = payment.StatusVerified, nil, 0, 0
			if spread {
				p.Phone = fmt.Sprintf("010%08d", i)
			}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// Charge is the store's part of a charge, as the Service does it: hold the
// amount on the limit and mark the payment UNKNOWN before the carrier call.
func Charge(tid string) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		p, err := tx.Payment(tid)
		if err != nil {
			return err
		}
		l, err := tx.Limit(p.Phone, p.BillMonth)
		if err != nil {
			return err
		}
		l.Held += p.Amount
		p.Status, p.ChargeStartedAt = payment.StatusUnknown, p.CreatedAt
		if err := tx.PutLimit(l); err != nil {
			return err
		}
		return tx.PutPayment(p)
	}
}

// BenchCharges runs Charge on the first n seeded payments in turn, one
// Update at a time, for b.
func BenchCharges(b *testing.B, s payment.Store, n int) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Update(context.Background(), Charge(fmt.Sprint("tid-", i%n))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchChargesParallel is BenchCharges from parallelism goroutines per
// GOMAXPROCS at once.
func BenchChargesParallel(b *testing.B, s payment.Store, n, parallelism int) {
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tid := fmt.Sprint("tid-", next.Add(1)%int64(n))
			if err := s.Update(context.Background(), Charge(tid)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
