package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
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

// BenchmarkStore_UpdateParallel is durable Updates from many goroutines:
// the group commit shares one fsync among the Updates queued together.
func BenchmarkStore_UpdateParallel(b *testing.B) {
	for _, writers := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := benchStore(b, false)
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					if err := s.Update(context.Background(), paymenttest.Charge(fmt.Sprint("tid-", i%benchLedger))); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
