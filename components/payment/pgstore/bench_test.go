package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
	"github.com/tunapay/tuna/components/payment/pgstore"
)

// benchLedger is how many payments the benchmark's ledger holds.
const benchLedger = 1000

// benchStore seeds a store with VERIFIED payments, all of one phone, or of
// a phone each when spread.
func benchStore(b *testing.B, spread bool) *pgstore.Store {
	b.Helper()
	schema := newSchema(b)
	s, err := pgstore.Open(context.Background(), testURL(b), &pgstore.Options{Schema: schema, MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	mustUpdate(b, s, func(tx payment.Tx) error {
		for i := range benchLedger {
			p := paymenttest.SamplePayment(fmt.Sprint("tid-", i), paymenttest.Epoch)
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
	return s
}

// charge is the store's part of a charge: hold the amount on the limit and
// mark the payment UNKNOWN before the carrier is called.
func charge(tid string) func(payment.Tx) error {
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

// BenchmarkStore_Update is one charge-like Update at a time; Parallel runs
// 16 at once, on payments of distinct phones (Spread) or of one phone, whose
// limit row they then queue for.
func BenchmarkStore_Update(b *testing.B) {
	b.Run("Serial", func(b *testing.B) {
		s := benchStore(b, false)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Update(context.Background(), charge(fmt.Sprint("tid-", i%benchLedger))); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, spread := range []bool{true, false} {
		name := map[bool]string{true: "Parallel_Spread", false: "Parallel_OnePhone"}[spread]
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, spread)
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tid := fmt.Sprint("tid-", next.Add(1)%benchLedger)
					if err := s.Update(context.Background(), charge(tid)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
