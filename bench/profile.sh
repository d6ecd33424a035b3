#!/usr/bin/env bash
# bench/profile.sh — CPU and heap profiles of TUNA under load.
#
# Starts one fresh `tuna serve --pprof` on a temporary data folder, runs
# `tuna loadgen` against it (full payment flows through /tx), and while the
# load runs takes a CPU profile of PROFILE_SECONDS, then the heap profile
# and allocation counts. Everything lands in PROFILE_OUT (profiles/):
#
#   cpu.pprof     where the server spends its CPU under load
#   heap.pprof    live heap and allocations since start (-sample_index)
#   tuna          the binary the profiles belong to (pprof wants it)
#   loadgen.txt   the load run's table, so the profile has its figures
#   server.log    the server's log
#
# Read them with: go tool pprof -top profiles/tuna profiles/cpu.pprof
# (README: "Reading a profile").
#
# Environment: PROFILE_SECONDS (15), PROFILE_CONCURRENCY (64),
# PROFILE_PREFIX (/tx; /baseline profiles the hand-written handlers),
# PROFILE_PORT (18090), PROFILE_ADMIN_PORT (18091), PROFILE_SERVE_FLAGS (more
# flags for tuna serve, e.g. "--pool-max 32"), PROFILE_OUT, GO.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${PROFILE_SECONDS:-15}
conc=${PROFILE_CONCURRENCY:-64}
prefix=${PROFILE_PREFIX:-/tx}
port=${PROFILE_PORT:-18090}
admin_port=${PROFILE_ADMIN_PORT:-18091}
serve_flags=${PROFILE_SERVE_FLAGS:-}
out=${PROFILE_OUT:-profiles}
GO=${GO:-go}
url=http://127.0.0.1:$port
admin=http://127.0.0.1:$admin_port
token=profile-$RANDOM$RANDOM

. bench/lib.sh
bench_init profile
mkdir -p "$out"

build_tuna "$out/tuna" PROFILE_PORT
# shellcheck disable=SC2086 # PROFILE_SERVE_FLAGS is a list of flags
start_server "$out/tuna" "$out/server.log" 10 --pprof --bench-endpoints --admin-token "$token" --data "$tmp/data" \
	--listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" --public-url "$url" \
	--watch=false --log-format json $serve_flags

warm=2
"$out/tuna" loadgen --url "$url" --prefix "$prefix" --concurrency "$conc" --warmup "${warm}s" \
	--duration "$((secs + 2))s" --server-pid "$pid" >"$out/loadgen.txt" 2>"$out/loadgen.progress" &
lg=$!
sleep "$((warm + 1))"
auth=(-H "Authorization: Bearer $token")
curl -sf "${auth[@]}" -o "$out/cpu.pprof" "$admin/admin/debug/pprof/profile?seconds=$secs" ||
	die "could not take the CPU profile"
curl -sf "${auth[@]}" -o "$out/heap.pprof" "$admin/admin/debug/pprof/heap" ||
	die "could not take the heap profile"
wait "$lg" || die "the load run failed: $(tail -3 "$out/loadgen.progress")"
cat "$out/loadgen.txt"
echo "profile: $out/cpu.pprof ($secs s under load) and $out/heap.pprof; read them with"
echo "  go tool pprof -top $out/tuna $out/cpu.pprof"
echo "  go tool pprof -http=: $out/tuna $out/cpu.pprof"
