//go:build unix

package main

import (
	"slices"
	"testing"
	"time"
)

// benchClients is how many merchants' servers and users pay at once.
const benchClients = 32

// BenchmarkFlows measures whole payments (cp_auth, user_auth, the SMS,
// otp_verify, bill) per second, benchClients at a time, against `tuna
// serve` processes: one on the embedded stores, one on Redis and
// PostgreSQL, and three on Redis and PostgreSQL taking the steps in turn.
// The Redis and PostgreSQL ones need the cluster test's variables:
//
//	TUNA_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	TUNA_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	go test -run '^$' -bench BenchmarkFlows -benchtime 400x ./cmd/tuna/
func BenchmarkFlows(b *testing.B) {
	if testing.Short() {
		b.Skip("skipped in -short mode: it builds tuna and runs several instances")
	}
	bin := buildTuna(b)
	be, ok := envBackends()
	for _, bc := range []struct {
		name   string
		size   int
		shared bool
	}{
		{"bolt-1", 1, false},
		{"redis-pg-1", 1, true},
		{"redis-pg-3", clusterSize, true},
	} {
		if bc.shared && !ok {
			b.Run(bc.name, func(b *testing.B) { b.Skip(backendsHelp) })
			continue
		}
		stores := backends{}
		if bc.shared {
			stores = be
		}
		// Set up and warm up (script runtimes, connection pools) once for
		// every b.N the sub-benchmark is run with.
		c := newCluster(b, bin, stores, bc.size)
		if err := c.run(benchFlowsOf(4*benchClients), benchClients, benchPhones(), nil); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) { benchFlows(b, c) })
		c.stop()
	}
}

func benchFlows(b *testing.B, c *cluster) {
	flows := benchFlowsOf(b.N)
	b.ResetTimer()
	start := time.Now()
	err := c.run(flows, benchClients, benchPhones(), nil)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	took := make([]time.Duration, len(flows))
	for i, f := range flows {
		took[i] = f.took
	}
	slices.Sort(took)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// benchFlowsOf returns n payments of 100 KRW: thousands of them stay far
// from any phone's monthly limit.
func benchFlowsOf(n int) []*flow { return newFlows(n, func(int) int64 { return 100 }) }

func benchPhones() []string { return phoneNumbers(900, 2*benchClients) }
