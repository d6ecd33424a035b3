#!/usr/bin/env bash
# bench/run.sh — what the flow engine costs, measured on this machine.
#
# Builds tuna, starts one fresh `tuna serve --bench-endpoints` on a temporary
# data folder, and runs `tuna loadgen` against it, in turn: the floor (an
# endpoint that does nothing, on the same server and middleware), the two
# baselines and TUNA (the flow as JavaScript steps), repeated and
# interleaved. The baseline is the payment flow as hand-written Go handlers
# over the same payment.Service and the same session table, with no engine
# and no JavaScript (/baseline-session): TUNA against it is what the
# scripting layer costs. The ledger-only baseline (/baseline) keeps no
# session table at all; TUNA against it adds what the session table costs
# (one more durable write per step). The figures are the medians of the
# repeats. Above the last lines it prints the server's CPU per flow of
# TUNA and both baselines, steadier than throughput on a noisy machine. The
# last line is
#
#   bench: tuna <flows/s> flows/s, baseline <flows/s> flows/s, ratio <tuna/baseline>, floor <req/s> req/s, p99 <ms> ms
#
# where p99 is TUNA's slowest step's p99. The harness runs on the same
# machine as the server and takes CPU from it: the ratio is the fair figure.
#
# Environment: BENCH_SECONDS (10) measured per run, BENCH_WARMUP (2s),
# BENCH_REPEATS (3), BENCH_CONCURRENCY (64), BENCH_PORT (18080) and
# BENCH_ADMIN_PORT (18081), BENCH_LOG_LEVEL (info: the access log is part of
# the cost), BENCH_OUT (keep the JSON results and the server log there), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2s}
repeats=${BENCH_REPEATS:-3}
conc=${BENCH_CONCURRENCY:-64}
port=${BENCH_PORT:-18080}
admin_port=${BENCH_ADMIN_PORT:-18081}
log_level=${BENCH_LOG_LEVEL:-info}
GO=${GO:-go}
url=http://127.0.0.1:$port

. bench/lib.sh
bench_init bench
out=${BENCH_OUT:-$tmp/out}
mkdir -p "$out"

build_tuna "$tmp/tuna" BENCH_PORT
start_server "$tmp/tuna" "$out/server.log" 10 --bench-endpoints --data "$tmp/data" --listen "127.0.0.1:$port" \
	--admin-listen "127.0.0.1:$admin_port" --public-url "$url" --watch=false \
	--log-format json --log-level "$log_level"
echo "bench: tuna serve pid $pid on $url, $(nproc) CPUs; ${secs}s per run after ${warmup} warm-up, $conc concurrent, $repeats repeats"

# median: of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run NAME REPEAT FLAGS…: one loadgen run, its table kept, one line shown.
run() {
	local name=$1 rep=$2
	shift 2
	"$tmp/tuna" loadgen --url "$url" --concurrency "$conc" --duration "${secs}s" --warmup "$warmup" \
		--server-pid "$pid" --json "$out/$name-$rep.json" "$@" >"$out/$name-$rep.txt" 2>"$out/$name-$rep.progress" ||
		die "$name run $rep failed: $(tail -3 "$out/$name-$rep.progress"; cat "$out/$name-$rep.txt")"
	local f=$out/$name-$rep.json
	printf 'bench: %-8s %d/%d  %9.1f flows/s  %9.0f req/s  slowest step p99 %7.2f ms  server %.2f cores  errors %s\n' \
		"$name" "$rep" "$repeats" "$(field "$f" flows_per_sec)" "$(field "$f" requests_per_sec)" \
		"$(field "$f" max_step_p99_ms)" "$(sed -n 's/^    "cpu_cores": \([0-9.e+-]*\),*$/\1/p' "$f" | head -1)" \
		"$(grep -c '^    "[a-z_]* [A-Z]' "$f" || true)"
}

for rep in $(seq "$repeats"); do
	run floor "$rep" --floor
	# Alternate the order: the ledger and the session table grow as they run.
	if ((rep % 2)); then
		run baseline "$rep" --prefix /baseline-session
		run tuna "$rep" --prefix /tx
		run ledger "$rep" --prefix /baseline
	else
		run ledger "$rep" --prefix /baseline
		run tuna "$rep" --prefix /tx
		run baseline "$rep" --prefix /baseline-session
	fi
done

echo
cat "$out/tuna-$repeats.txt"

med() { for f in "$out/$1"-*.json; do field "$f" "$2"; done | median; }
tuna=$(med tuna flows_per_sec)
base=$(med baseline flows_per_sec)
floor=$(med floor requests_per_sec)
p99=$(med tuna max_step_p99_ms)
ledger=$(med ledger flows_per_sec)
errs=$(cat "$out"/tuna-*.json "$out"/baseline-*.json "$out"/ledger-*.json | grep -c '^    "[a-z_]* [A-Z]' || true)
((errs == 0)) || echo "bench: warning: $errs kinds of error in the flow runs; see $out"
# Server CPU per flow does not depend on whether a run was bound by
# latency or by CPU: the engine's and the scripts' own cost, per flow.
cpu() { for f in "$out/$1"-*.json; do sed -n 's/^    "cpu_per_op_us": \([0-9.e+-]*\),*$/\1/p' "$f" | head -1; done | median; }
awk -v t="$(cpu tuna)" -v b="$(cpu baseline)" -v l="$(cpu ledger)" 'BEGIN {
	printf "bench: server CPU per flow: tuna %.0f us, baseline %.0f us, ledger-only %.0f us; tuna/baseline %.2f\n", t, b, l, (b > 0 ? t / b : 0) }'
awk -v t="$tuna" -v l="$ledger" 'BEGIN {
	printf "bench: ledger-only baseline (no session table) %.1f flows/s, tuna/ledger-only %.3f\n", l, (l > 0 ? t / l : 0) }'

awk -v t="$tuna" -v b="$base" -v f="$floor" -v p="$p99" 'BEGIN {
	printf "bench: tuna %.1f flows/s, baseline %.1f flows/s, ratio %.3f, floor %.0f req/s, p99 %.2f ms\n", t, b, (b > 0 ? t / b : 0), f, p }'
