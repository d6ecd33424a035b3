#!/usr/bin/env bash
# bench/reload.sh — hot reload under full load.
#
# Builds tuna, copies the repository's scripts/ and protocols/ into a
# temporary folder and starts one fresh `tuna serve` WATCHING the copies
# (fsnotify, its default debounce), then runs `tuna loadgen` against it:
# RELOAD_CONCURRENCY full payment flows for RELOAD_SECONDS, and from
# RELOAD_AT into the measured window a reload every RELOAD_EVERY, each by
# rewriting the copied RELOAD_FILE with a new comment (loadgen puts the file
# back at the end). It prints loadgen's table (the reloads, the failed
# steps near each, the p99 around each) and, last,
#
#   reload: N reloads, F failed steps, p99 before X ms, p99 during reload Y ms, ratio Z
#
# where F counts every failed request of the run (warm-up and drain
# included), "before" is the RELOAD_AT (at most 10 s) before the first
# reload and "during" the 2 s after each reload, all together. The goal:
# F = 0 and Z <= 2.
#
# Environment: RELOAD_SECONDS (30) measured, RELOAD_WARMUP (5s),
# RELOAD_CONCURRENCY (64), RELOAD_AT (10s), RELOAD_EVERY (5s), RELOAD_FILE
# (scripts/payment/bill.js: every flow runs it), RELOAD_PORT (18100),
# RELOAD_ADMIN_PORT (18101), RELOAD_OUT (keep the JSON result and the
# server log there), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${RELOAD_SECONDS:-30}
warmup=${RELOAD_WARMUP:-5s}
conc=${RELOAD_CONCURRENCY:-64}
at=${RELOAD_AT:-10s}
every=${RELOAD_EVERY:-5s}
file=${RELOAD_FILE:-scripts/payment/bill.js}
port=${RELOAD_PORT:-18100}
admin_port=${RELOAD_ADMIN_PORT:-18101}
GO=${GO:-go}
url=http://127.0.0.1:$port

. bench/lib.sh
bench_init reload
out=${RELOAD_OUT:-$tmp/out}
mkdir -p "$out"

[[ $file == scripts/* || $file == protocols/* ]] || die "RELOAD_FILE must be under scripts/ or protocols/: $file"
[[ -f $file ]] || die "no $file"
build_tuna "$tmp/tuna" RELOAD_PORT
cp -R scripts protocols "$tmp/"
start_server "$tmp/tuna" "$out/server.log" 10 --data "$tmp/data" --scripts "$tmp/scripts" --protocols "$tmp/protocols" \
	--watch=true --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" --public-url "$url" \
	--log-format json --log-level info
for _ in $(seq 50); do
	grep -q '"msg":"watching scripts and protocols"' "$out/server.log" && break
	sleep 0.1
done
grep -q '"msg":"watching scripts and protocols"' "$out/server.log" || die "the server does not watch its scripts"
echo "reload: tuna serve pid $pid on $url watching $tmp/scripts, $(nproc) CPUs, load $(loadavg)"
echo "reload: ${secs}s after ${warmup} warm-up, $conc concurrent, rewriting $file at $at and every $every"

"$tmp/tuna" loadgen --url "$url" --concurrency "$conc" --duration "${secs}s" --warmup "$warmup" \
	--server-pid "$pid" --reload-touch "$tmp/$file" --reload-at "$at" --reload-every "$every" \
	--json "$out/reload.json" >"$out/reload.txt" 2>"$out/reload.progress" ||
	die "the load run failed: $(tail -3 "$out/reload.progress"; cat "$out/reload.txt")"
cat "$out/reload.txt"
cmp -s "$file" "$tmp/$file" || die "$tmp/$file was not put back as it was"
sleep 0.5 # the restore's own reload

# rfield KEY: a number of the JSON result's reload section.
rfield() { sfield "$out/reload.json" "$1"; }
snapshots=$(grep -c '"msg":"reloaded"' "$out/server.log" || true)
refused=$(grep -c '"msg":"reload failed' "$out/server.log" || true)
echo "reload: the server built $snapshots new snapshots (the reloads and the restore) and refused $refused;" \
	"$(rfield failed_steps_near_reloads) failed steps within ±2s of a reload; load $(loadavg)"
awk -v n="$(rfield reloads)" -v f="$(rfield failed_steps_run)" -v b="$(rfield p99_before_ms)" \
	-v d="$(rfield p99_during_ms)" -v r="$(rfield p99_ratio)" 'BEGIN {
	printf "reload: %d reloads, %d failed steps, p99 before %.2f ms, p99 during reload %.2f ms, ratio %.2f\n", n, f, b, d, r }'
