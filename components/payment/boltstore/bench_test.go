package boltstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/paymenttest"
)

// benchLedger is how many payments the benchmark's ledger holds.
const benchLedger = 1000

func benchStore(b *testing.B, noSync bool) *boltstore.Store {
	b.Helper()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), &boltstore.Options{NoSync: noSync})
	paymenttest.SeedVerified(b, s, benchLedger, false)
	return s
}

func BenchmarkStore_Update(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			s := benchStore(b, noSync)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Update(b.Context(), paymenttest.Charge(fmt.Sprint("tid-", i%benchLedger))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
