package session_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

func benchBolt(b *testing.B, noSync bool) *session.BoltStore {
	b.Helper()
	s, err := session.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), &session.BoltOptions{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchSession creates a realistic session (the storetest sample, about
// 700 bytes of JSON) that does not expire during the benchmark.
func benchSession(b *testing.B, store session.Store, tid string) *session.Session {
	s := storetest.Sample(tid, storetest.Epoch)
	s.ExpiresAt = s.ExpiresAt.AddDate(100, 0, 0)
	if err := store.Create(b.Context(), s); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkBolt_Load(b *testing.B) {
	benchLoad(b, benchBolt(b, true))
}

// benchLoad loads sessions of a table holding 1,000.
func benchLoad(b *testing.B, store session.Store) {
	const n = 1000
	for i := range n {
		benchSession(b, store, fmt.Sprint("tid-", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := store.Load(b.Context(), fmt.Sprint("tid-", i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkBolt_Save(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			benchSave(b, benchBolt(b, noSync))
		})
	}
}

// benchSave saves one session over and over.
func benchSave(b *testing.B, store session.Store) {
	s := benchSession(b, store, "tid")
	b.ReportAllocs()
	for b.Loop() {
		s.Seq++
		if err := store.Save(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
}

// BenchmarkBolt_SaveParallel runs many savers on different TIDs, as many
// concurrent steps would; group commit lets them share fsyncs.
func BenchmarkBolt_SaveParallel(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, savers := range []int{64, 128} {
			b.Run(fmt.Sprintf("nosync=%v/savers=%d", noSync, savers), func(b *testing.B) {
				benchSaveParallel(b, benchBolt(b, noSync), savers)
			})
		}
	}
}

func benchSaveParallel(b *testing.B, store session.Store, savers int) {
	var next atomic.Int64
	b.SetParallelism(max(1, savers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := benchSession(b, store, fmt.Sprint("tid-", next.Add(1)))
		for pb.Next() {
			s.Seq++
			if err := store.Save(b.Context(), s); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
}
