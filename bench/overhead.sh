#!/usr/bin/env bash
# bench/overhead.sh — what the engine and JavaScript cost a payment flow, in
# CPU, measured in one process (BenchmarkFlow_InProcess in cmd/tuna).
#
# Runs the benchmark's two routes in turn, OVERHEAD_ROUNDS times: "tx" (the
# repository's scripts) and "baseline-session" (the same flow as
# hand-written handlers over the same stores), 64 flows at a time, stores
# not syncing. Each run prints its CPU per flow, the garbage collector's
# share of it and the allocations per flow; the summary gives each route's
# median and the median over rounds of the difference and the ratio of the
# two runs of a round, which were a few seconds apart.
#
# Environment: OVERHEAD_ROUNDS (5), OVERHEAD_FLOWS (3000 per run), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${OVERHEAD_ROUNDS:-5}
flows=${OVERHEAD_FLOWS:-3000}
GO=${GO:-go}

. bench/lib.sh
bench_init overhead
"$GO" test -c -o "$tmp/tuna.test" ./cmd/tuna
cd cmd/tuna # the benchmark finds scripts/ and protocols/ from here
for i in $(seq "$rounds"); do
	for route in tx baseline-session; do
		"$tmp/tuna.test" -test.run '^$' -test.bench "BenchmarkFlow_InProcess/$route\$" \
			-test.benchtime "${flows}x" -test.benchmem >"$tmp/run.txt" 2>&1 ||
			die "the benchmark failed: $(tail -5 "$tmp/run.txt")"
		line=$(grep '^BenchmarkFlow_InProcess/' "$tmp/run.txt") || die "no result: $(tail -5 "$tmp/run.txt")"
		echo "$i $route $line" | tee -a "$tmp/all.txt" | awk '{
			for (f = 4; f < NF; f++) { if ($(f+1) == "cpu-µs/flow") c = $f; if ($(f+1) == "gc-µs/flow") g = $f; if ($(f+1) == "allocs/op") a = $f }
			printf "round %s  %-16s cpu %7.1f µs/flow  gc %6.1f  allocs %s\n", $1, $2, c, g, a }'
	done
done
awk '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	{ for (f = 4; f < NF; f++) if ($(f+1) == "cpu-µs/flow") cpu[$2, $1] = $f; n = $1 }
	END {
		for (i = 1; i <= n; i++) { t[i] = cpu["tx", i]; b[i] = cpu["baseline-session", i]; d[i] = t[i] - b[i]; r[i] = t[i] / b[i] }
		mt = median(t, n); mb = median(b, n); md = median(d, n); mr = median(r, n)
		printf "overhead: tx %.1f µs/flow, baseline %.1f µs/flow, engine %.1f µs/flow, ratio %.3f (medians of %d rounds)\n", mt, mb, md, mr, n
	}' "$tmp/all.txt"
