#!/usr/bin/env bash
# bench/soak.sh — the server's memory over a long steady load.
#
# Builds tuna, starts one fresh `tuna serve` (no watching) on a temporary
# data folder and runs `tuna loadgen` against it: SOAK_CONCURRENCY full
# payment flows for SOAK_SECONDS after SOAK_WARMUP, the server's RSS, CPU,
# throughput and step p99 sampled every SOAK_SAMPLE. It prints loadgen's
# table, the series, one interval a line, and, last,
#
#   soak: <secs> s, <flows/s> flows/s, RSS after warm-up X MiB, max Y MiB, end Z MiB, growth G MiB
#
# "After warm-up" is read as the measured window starts. The resident set
# counts the pages of the embedded stores the server maps (they grow with
# every payment and session kept), so the line above the last gives the
# anonymous part too (heap, stacks): a leak grows that one. The Go heap
# goal the server reports (go_memstats_next_gc_bytes, twice what stayed live
# after the last collection) follows the live heap without the resident
# set's memory of its peaks; both get a least-squares trend in MiB a minute.
#
# Environment: SOAK_SECONDS (300) measured, SOAK_WARMUP (30s),
# SOAK_CONCURRENCY (64), SOAK_SAMPLE (10s), SOAK_PORT (18110),
# SOAK_ADMIN_PORT (18111), SOAK_LOG_LEVEL (info), SOAK_OUT (keep the JSON
# result and the server log there), SOAK_SERVE_FLAGS (more flags for the
# server: `--session redis://… --db postgres://…` soaks the shared stores,
# whose memory is not in this process), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SOAK_SECONDS:-300}
warmup=${SOAK_WARMUP:-30s}
conc=${SOAK_CONCURRENCY:-64}
sample=${SOAK_SAMPLE:-10s}
port=${SOAK_PORT:-18110}
admin_port=${SOAK_ADMIN_PORT:-18111}
log_level=${SOAK_LOG_LEVEL:-info}
serve_flags=${SOAK_SERVE_FLAGS:-}
GO=${GO:-go}
url=http://127.0.0.1:$port

. bench/lib.sh
bench_init soak
out=${SOAK_OUT:-$tmp/out}
mkdir -p "$out"

build_tuna "$tmp/tuna" SOAK_PORT
# shellcheck disable=SC2086 # SOAK_SERVE_FLAGS is a list of flags
start_server "$tmp/tuna" "$out/server.log" 10 --data "$tmp/data" --listen "127.0.0.1:$port" \
	--admin-listen "127.0.0.1:$admin_port" --public-url "$url" --watch=false --log-format json --log-level "$log_level" $serve_flags
echo "soak: tuna serve pid $pid on $url, $(nproc) CPUs, load $(loadavg)"
echo "soak: ${secs}s after ${warmup} warm-up, $conc concurrent, sampled every $sample"

"$tmp/tuna" loadgen --url "$url" --concurrency "$conc" --duration "${secs}s" --warmup "$warmup" \
	--server-pid "$pid" --sample-every "$sample" --print-samples \
	--json "$out/soak.json" >"$out/soak.txt" 2>"$out/soak.progress" ||
	die "the load run failed: $(tail -3 "$out/soak.progress"; cat "$out/soak.txt")"
cat "$out/soak.txt"

j=$out/soak.json
awk -v w="$(sfield "$j" rss_anon_warmup_mib)" -v m="$(sfield "$j" rss_anon_max_mib)" -v e="$(sfield "$j" rss_anon_end_mib)" \
	-v g="$(sfield "$j" rss_anon_growth_mib)" -v d="$(du -sm "$tmp/data" | cut -f1)" -v l="$(loadavg)" 'BEGIN {
	printf "soak: anonymous RSS (heap, stacks) after warm-up %.1f MiB, max %.1f MiB, end %.1f MiB, growth %.1f MiB; data folder %d MiB; load %s\n", w, m, e, g, d, l }'
awk -v w="$(sfield "$j" heap_goal_warmup_mib)" -v e="$(sfield "$j" heap_goal_end_mib)" -v t="$(sfield "$j" heap_goal_trend_mib_per_min)" \
	-v a="$(sfield "$j" rss_anon_trend_mib_per_min)" 'BEGIN {
	printf "soak: Go heap goal (2 x live after GC) after warm-up %.1f MiB, end %.1f MiB, trend %+.2f MiB/min; anonymous RSS trend %+.2f MiB/min\n", w, e, t, a }'
awk -v s="$secs" -v f="$(field "$j" flows_per_sec)" -v w="$(sfield "$j" rss_warmup_mib)" -v m="$(sfield "$j" rss_max_mib)" \
	-v e="$(sfield "$j" rss_end_mib)" -v g="$(sfield "$j" rss_growth_mib)" 'BEGIN {
	printf "soak: %d s, %.1f flows/s, RSS after warm-up %.1f MiB, max %.1f MiB, end %.1f MiB, growth %.1f MiB\n", s, f, w, m, e, g }'
