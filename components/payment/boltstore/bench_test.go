package boltstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/paymenttest"
)

// benchLedger is how many payments the benchmark's ledger holds.
const benchLedger = 1000

func benchStore(b *testing.B, noSync bool) *boltstore.Store {
	b.Helper()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), &boltstore.Options{NoSync: noSync})
	err := s.Update(b.Context(), func(tx payment.Tx) error {
		for i := range benchLedger {
			p := paymenttest.SamplePayment(fmt.Sprint("tid-", i), paymenttest.Epoch)
			p.Status, p.Cancels, p.Cancelled, p.Refunded = payment.StatusVerified, nil, 0, 0
			if err := tx.PutPayment(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
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

func BenchmarkStore_Update(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			s := benchStore(b, noSync)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Update(b.Context(), charge(fmt.Sprint("tid-", i%benchLedger))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
