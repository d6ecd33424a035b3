#!/usr/bin/env bash
# bench/overhead.sh — what the engine and JavaScript cost a payment flow, in
# CPU and allocations, measured in one process (cmd/tuna/flow_bench_test.go).
#
# Whole payments through the real handler, 64 at a time, stores not
# syncing: "tx" (the repository's scripts) and "baseline-session" (the same
# flow as hand-written handlers over the same stores).
#   1. Allocations: one BenchmarkFlow_InProcess run of each route (its own
#      server each): objects, bytes and GC CPU per flow. These repeat to a
#      few objects, so they show a change's effect at once.
#   2. CPU: OVERHEAD_ROUNDS runs of BenchmarkFlow_InProcessRatio, which
#      runs both routes on one server in alternating chunks of 256 flows and
#      adds up each one's CPU, so that the machine's drift mostly cancels.
#      The summary gives the medians over rounds.
#
# Environment: OVERHEAD_ROUNDS (5), OVERHEAD_FLOWS (3000 per route and
# run), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${OVERHEAD_ROUNDS:-5}
flows=${OVERHEAD_FLOWS:-3000}
GO=${GO:-go}

. bench/lib.sh
bench_init overhead
"$GO" test -c -o "$tmp/tuna.test" ./cmd/tuna
cd cmd/tuna # the benchmarks find scripts/ and protocols/ from here

# bench NAME FLOWS: one run of benchmark NAME, its result line.
bench() {
	"$tmp/tuna.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime "$2x" -test.benchmem >"$tmp/run.txt" 2>&1 ||
		die "$1 failed: $(tail -5 "$tmp/run.txt")"
	grep "^${1%%/*}" "$tmp/run.txt" || die "$1: no result: $(tail -5 "$tmp/run.txt")"
}

# metric LINE UNIT: the value before UNIT in a benchmark result line.
metric() { awk -v u="$2" '{ for (f = 2; f < NF; f++) if ($(f+1) == u) print $f }' <<<"$1"; }

for route in tx baseline-session; do
	line=$(bench "BenchmarkFlow_InProcess/$route" 1000)
	printf 'overhead: %-16s allocations %s a flow, %s B, GC %s µs of CPU\n' "$route" \
		"$(metric "$line" allocs/op)" "$(metric "$line" B/op)" "$(metric "$line" gc-µs/flow)"
done
for i in $(seq "$rounds"); do
	line=$(bench BenchmarkFlow_InProcessRatio "$flows")
	tx=$(metric "$line" tx-cpu-µs/flow) base=$(metric "$line" baseline-cpu-µs/flow) r=$(metric "$line" tx/baseline)
	printf 'overhead: round %d  tx %7.1f µs/flow  baseline %7.1f µs/flow  ratio %s\n' "$i" "$tx" "$base" "$r"
	echo "$tx $base $r" >>"$tmp/rounds.txt"
done
awk '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	{ t[NR] = $1; b[NR] = $2; d[NR] = $1 - $2; r[NR] = $3 }
	END {
		n = NR; mt = median(t, n); mb = median(b, n); md = median(d, n); mr = median(r, n)
		printf "overhead: tx %.1f µs/flow, baseline %.1f µs/flow, engine %.1f µs/flow, ratio %.3f (medians of %d rounds)\n", mt, mb, md, mr, n
	}' "$tmp/rounds.txt"
