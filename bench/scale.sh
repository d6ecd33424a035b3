#!/usr/bin/env bash
# bench/scale.sh — per-step latency and memory as the session table grows.
#
# Builds tuna once, then for each N of SCALE_COUNTS: seeds a fresh data
# folder with N live payment sessions (tuna seed-sessions: shaped as after
# cp_auth and user_auth, expiring SCALE_TTL from the seeding), starts
# `tuna serve --bench-endpoints` on it, reads the server's resident set once
# it is ready (/proc/PID/status: VmRSS, of which RssAnon is the Go heap and
# stacks and RssFile mostly the mmap'd session file), then runs
# `tuna loadgen` against it for SCALE_SECONDS. One line per N:
#
#   scale: N live  record <bytes>  file <MiB>  <bytes>/session  ready <s>  rss idle <MiB> (anon <MiB>, file <MiB>)  peak <MiB> (anon <MiB>)  <flows/s> flows/s  failed <n>  <step> <p50>/<p99> …
#
# (record: a seeded session's stored record, header and JSON; file: the
# session file after seeding, and its size per session, B-tree pages, free
# space and growth slack included; ready: from start to /readyz answering;
# latencies in ms; peak: the server's VmHWM after the load, and in
# brackets the largest RssAnon sampled each second under load: the heap and
# stacks without the mapped files' pages, which grow with the flows run),
# and last the ratio of the largest N's p50 to the smallest N's, per step
# (the target: within 1.20).
# The loadgen flows add sessions of their own as they run (about flows/s
# times SCALE_SECONDS plus the warm-up), so the smallest table grows most.
#
# Environment: SCALE_COUNTS ("1000 100000 1000000"), SCALE_SECONDS (10)
# measured per N, SCALE_WARMUP (2s), SCALE_CONCURRENCY (64), SCALE_TTL (1h),
# SCALE_PORT (18180) and SCALE_ADMIN_PORT (18181), SCALE_READY_TIMEOUT (180
# seconds for the server to become ready), SCALE_OUT (keep the seed output,
# the JSON results and the server logs there), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

read -ra counts <<<"${SCALE_COUNTS:-1000 100000 1000000}"
secs=${SCALE_SECONDS:-10}
warmup=${SCALE_WARMUP:-2s}
conc=${SCALE_CONCURRENCY:-64}
ttl=${SCALE_TTL:-1h}
port=${SCALE_PORT:-18180}
admin_port=${SCALE_ADMIN_PORT:-18181}
ready_timeout=${SCALE_READY_TIMEOUT:-180}
GO=${GO:-go}
url=http://127.0.0.1:$port
steps=(cp_auth user_auth otp_verify bill)

. bench/lib.sh
bench_init scale
out=${SCALE_OUT:-$tmp/out}
mkdir -p "$out"

# latency FILE STEP KEY: a number of one step's row of a loadgen JSON result.
latency() {
	awk -v step="$2" -v key="\"$3\":" '
		$1 == "\"step\":" { cur = $2; gsub(/[",]/, "", cur) }
		cur == step && $1 == key { v = $2; sub(/,$/, "", v) }
		END { print v + 0 }' "$1"
}

# peak FILE: the server's peak resident set under load in MiB.
peak() {
	awk '$1 == "\"server\":" { in_server = 1 }
		in_server && $1 == "\"peak_rss_bytes\":" { v = $2; sub(/,$/, "", v); printf "%.1f", v / 1048576; exit }' "$1"
}

# status PID KEY: a figure of /proc/PID/status in MiB.
status() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

build_tuna "$tmp/tuna" SCALE_PORT
echo "scale: $(nproc) CPUs; ${secs}s per N after ${warmup} warm-up, $conc concurrent; sessions live for $ttl; N = ${counts[*]}"

for n in "${counts[@]}"; do
	data=$tmp/data-$n
	"$tmp/tuna" seed-sessions --data "$data" --sessions "$n" --ttl "$ttl" >"$out/seed-$n.txt" ||
		die "seeding $n sessions failed"
	bytes=$(stat -c %s "$data/sessions.db")
	record=$(sed -n 's/.*records \([0-9]*\) bytes\/session.*/\1/p' "$out/seed-$n.txt")

	t0=$(date +%s.%N)
	start_server "$tmp/tuna" "$out/server-$n.log" "$ready_timeout" --bench-endpoints --data "$data" \
		--listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" --public-url "$url" --watch=false \
		--log-format json
	ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	rss=$(status "$pid" VmRSS)
	anon=$(status "$pid" RssAnon)
	file=$(status "$pid" RssFile)

	f=$out/load-$n.json
	"$tmp/tuna" loadgen --url "$url" --concurrency "$conc" --duration "${secs}s" --warmup "$warmup" \
		--server-pid "$pid" --sample-every 1s --json "$f" >"$out/load-$n.txt" 2>"$out/load-$n.progress" ||
		die "the load run with $n sessions failed: $(tail -3 "$out/load-$n.progress"; cat "$out/load-$n.txt")"
	stop_server
	rm -rf "$data"

	line=$(printf 'scale: %7d live  record %4d B  file %7.1f MiB  %4.0f B/session  ready %4.1fs  rss idle %6.1f MiB (anon %5.1f, file %6.1f)  peak %6.1f MiB (anon %5.1f)  %6.1f flows/s  failed %s' \
		"$n" "$record" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$(awk -v b="$bytes" -v n="$n" 'BEGIN { print b / n }')" \
		"$ready" "$rss" "$anon" "$file" \
		"$(peak "$f")" "$(sfield "$f" rss_anon_max_mib)" \
		"$(field "$f" flows_per_sec)" "$(field "$f" failed_flows)")
	for s in "${steps[@]}"; do
		line+=$(printf '  %s %.2f/%.2f' "$s" "$(latency "$f" "$s" p50_ms)" "$(latency "$f" "$s" p99_ms)")
	done
	echo "$line  (p50/p99 ms)"
done

small=$(printf '%s\n' "${counts[@]}" | sort -n | head -1)
large=$(printf '%s\n' "${counts[@]}" | sort -n | tail -1)
line="scale: p50 at $large / p50 at $small:"
for s in "${steps[@]}"; do
	line+=$(awk -v s="$s" -v a="$(latency "$out/load-$large.json" "$s" p50_ms)" -v b="$(latency "$out/load-$small.json" "$s" p50_ms)" \
		'BEGIN { printf "  %s %.2f", s, (b > 0 ? a / b : 0) }')
done
echo "$line  (target: within 1.20)"
echo "scale: the sizes ran a minute apart; for the latency ratio on the same machine at the same time:"
echo "scale:   make ab AB_A=HEAD AB_B=HEAD AB_SESSIONS_A=$small AB_SESSIONS_B=$large"
