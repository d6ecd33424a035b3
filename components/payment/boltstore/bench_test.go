package boltstore_test

import (
	"fmt"
	"path/filepath"
	"runtime"
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
			paymenttest.BenchCharges(b, benchStore(b, noSync), benchLedger)
		})
	}
}

// BenchmarkStore_UpdateParallel is durable Updates from many goroutines:
// the group commit shares one fsync among the Updates queued together.
func BenchmarkStore_UpdateParallel(b *testing.B) {
	for _, writers := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			paymenttest.BenchChargesParallel(b, benchStore(b, false), benchLedger, max(1, writers/runtime.GOMAXPROCS(0)))
		})
	}
}
