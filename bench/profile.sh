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

tmp=$(mktemp -d)
mkdir -p "$out"
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "profile: $*" >&2; exit 1; }

"$GO" build -o "$out/tuna" ./cmd/tuna
if curl -s -o /dev/null "$url/healthz"; then
	die "something already listens on $url (set PROFILE_PORT)"
fi
"$out/tuna" serve --pprof --bench-endpoints --admin-token "$token" --data "$tmp/data" \
	--listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" --public-url "$url" \
	--watch=false --log-format json $serve_flags 2>"$out/server.log" &
pid=$!
for _ in $(seq 100); do
	curl -sf -o /dev/null "$url/readyz" && break
	kill -0 "$pid" 2>/dev/null || die "the server did not start: $(tail -5 "$out/server.log")"
	sleep 0.1
done
curl -sf -o /dev/null "$url/readyz" || die "the server is not ready after 10s"

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
