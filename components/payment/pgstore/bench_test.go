package pgstore_test

import (
	"context"
	"testing"

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
	paymenttest.SeedVerified(b, s, benchLedger, spread)
	return s
}

// BenchmarkStore_Update is one charge-like Update at a time; Parallel runs
// 16 at once, on payments of distinct phones (Spread) or of one phone, whose
// limit row they then queue for.
func BenchmarkStore_Update(b *testing.B) {
	b.Run("Serial", func(b *testing.B) {
		paymenttest.BenchCharges(b, benchStore(b, false), benchLedger)
	})
	for _, spread := range []bool{true, false} {
		name := map[bool]string{true: "Parallel_Spread", false: "Parallel_OnePhone"}[spread]
		b.Run(name, func(b *testing.B) {
			paymenttest.BenchChargesParallel(b, benchStore(b, spread), benchLedger, 8)
		})
	}
}
