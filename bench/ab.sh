#!/usr/bin/env bash
# bench/ab.sh — two builds of TUNA under load at the same time.
#
# On a shared machine whose speed changes by more than the effect being
# measured within a minute, runs one after the other cannot compare two
# builds. This runs them side by side: build A (a git ref, AB_A, default
# HEAD) and build B (AB_B, a git ref, or "worktree": the files as they are,
# the default), each its own `tuna serve` on its own data folder, scripts
# and protocols, each driven by its own `tuna loadgen` (the working tree's,
# the same harness for both) at AB_CONCURRENCY flows, for AB_SECONDS. Both
# see the same machine. The one started second gets a few per cent more,
# so every other pair starts B first. One line per pair, then
#
#   ab: <prefix> B/A server CPU per flow <median> (<each pair>), flows/s <median> (<each pair>)
#
# Below 1 in CPU per flow, B is cheaper. The per-pair ratios show the spread.
# With AB_PREFIX_B, B is loaded on another route than A: AB_A=HEAD AB_B=HEAD
# AB_PREFIX=/baseline-session AB_PREFIX_B=/tx gives TUNA over the
# hand-written handlers, measured side by side. With AB_SESSIONS_A and
# AB_SESSIONS_B, each side's session table holds that many live sessions
# (seeded once, copied in before each pair): AB_A=HEAD AB_B=HEAD
# AB_SESSIONS_A=1000 AB_SESSIONS_B=1000000 is the scale curve's question,
# does a step slow down with the table's size, asked of two servers that
# see the same machine. A line before the last then gives the median B/A of
# each step's p50.
#
# Environment: AB_A (HEAD), AB_B (worktree), AB_PREFIX (/tx; /baseline-session
# compares the hand-written handlers), AB_PREFIX_B (B's route, default
# AB_PREFIX), AB_SESSIONS_A and AB_SESSIONS_B (0), AB_PAIRS (4), AB_SECONDS (10),
# AB_WARMUP (2s), AB_CONCURRENCY (32 each), AB_PORT (18300: A on it and the
# next, B ten above), AB_SERVE_FLAGS (more flags for both servers), GO.
set -euo pipefail
cd "$(dirname "$0")/.."

ref_a=${AB_A:-HEAD}
ref_b=${AB_B:-worktree}
prefix=${AB_PREFIX:-/tx}
prefix_b=${AB_PREFIX_B:-$prefix}
sessions_a=${AB_SESSIONS_A:-0}
sessions_b=${AB_SESSIONS_B:-0}
pairs=${AB_PAIRS:-4}
secs=${AB_SECONDS:-10}
warmup=${AB_WARMUP:-2s}
conc=${AB_CONCURRENCY:-32}
port=${AB_PORT:-18300}
serve_flags=${AB_SERVE_FLAGS:-}
GO=${GO:-go}
url=http://127.0.0.1:$port

. bench/lib.sh
bench_init ab
trap 'for f in "$tmp"/*.pid; do [[ -e $f ]] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# tree NAME REF: the sources of REF in $tmp/NAME, built; "worktree" is the
# files as they are.
tree() {
	local dir=$tmp/$1
	mkdir -p "$dir"
	if [[ $2 == worktree ]]; then
		git ls-files -z --cached --others --exclude-standard | tar -c --null -T - -f - | tar -x -C "$dir"
	else
		git rev-parse --verify -q "$2^{commit}" >/dev/null || die "no such git ref: $2"
		git archive "$2" | tar -x -C "$dir"
	fi
	(cd "$dir" && "$GO" build -o "$dir/tuna" ./cmd/tuna) || die "$1 ($2) does not build"
}

tree a "$ref_a"
if [[ $ref_b == "$ref_a" ]]; then
	mkdir -p "$tmp/b" && cp -r "$tmp/a/." "$tmp/b/"
else
	tree b "$ref_b"
fi
"$GO" build -o "$tmp/loadgen" ./cmd/tuna
for p in "$port" $((port + 10)); do
	curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && die "something already listens on port $p (set AB_PORT)"
done

# side NAME PORT: serve build NAME on PORT, load it, write $tmp/NAME.json.
side() {
	local name=$1 p=$2 dir=$tmp/$1 data=$tmp/$1-data route=$prefix
	[[ $name == b ]] && route=$prefix_b
	rm -rf "$data"
	if [[ -d $tmp/$name-seeded ]]; then
		cp -a "$tmp/$name-seeded" "$data"
	fi
	# shellcheck disable=SC2086
	"$dir/tuna" serve --bench-endpoints --data "$data" --scripts "$dir/scripts" --protocols "$dir/protocols" \
		--listen "127.0.0.1:$p" --admin-listen "127.0.0.1:$((p + 1))" --public-url "http://127.0.0.1:$p" \
		--watch=false --log-format json --log-level warn $serve_flags 2>"$tmp/$name.log" &
	local spid=$!
	echo "$spid" >"$tmp/$name.pid"
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$p/readyz" && break
		kill -0 "$spid" 2>/dev/null || die "server $name did not start: $(tail -3 "$tmp/$name.log")"
		sleep 0.1
	done
	"$tmp/loadgen" loadgen --url "http://127.0.0.1:$p" --prefix "$route" --concurrency "$conc" \
		--duration "${secs}s" --warmup "$warmup" --server-pid "$spid" --json "$tmp/$name.json" \
		>/dev/null 2>"$tmp/$name.progress" || echo "ab: the load on $name failed: $(tail -3 "$tmp/$name.progress")" >&2
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	rm -f "$tmp/$name.pid"
}

# cpu FILE: the server's CPU per flow in a loadgen JSON result.
cpu() {
	awk '$1 == "\"server\":" { in_server = 1 }
		in_server && $1 == "\"cpu_per_op_us\":" { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# seed NAME N: a data folder holding N live sessions for side NAME.
seed() {
	(($2 > 0)) || return 0
	"$tmp/$1/tuna" seed-sessions --data "$tmp/$1-seeded" --sessions "$2" >"$tmp/$1-seed.txt" ||
		die "seeding $2 sessions for $1 failed: $(tail -3 "$tmp/$1-seed.txt")"
}
seed a "$sessions_a"
seed b "$sessions_b"

# p50 FILE STEP: a step's p50 in a loadgen JSON result.
p50() {
	awk -v step="$2" '$1 == "\"step\":" { cur = $2; gsub(/[",]/, "", cur) }
		cur == step && $1 == "\"p50_ms\":" { v = $2; sub(/,$/, "", v) } END { print v + 0 }' "$1"
}
steps=(cp_auth user_auth otp_verify bill)
declare -A p50_ratios

routes=$prefix
[[ $prefix_b != "$prefix" ]] && routes="$prefix (A) and $prefix_b (B)"
((sessions_a + sessions_b > 0)) && routes+=", $sessions_a (A) and $sessions_b (B) live sessions"
echo "ab: A $ref_a, B $ref_b, $routes, $pairs pairs of ${secs}s at $conc flows each, $(nproc) CPUs, load $(loadavg)"
cpu_ratios=() flow_ratios=()
for i in $(seq "$pairs"); do
	rm -f "$tmp/a.json" "$tmp/b.json"
	if ((i % 2)); then
		side a "$port" & j1=$!
		sleep 0.05
		side b $((port + 10)) & j2=$!
		first=A
	else
		side b $((port + 10)) & j1=$!
		sleep 0.05
		side a "$port" & j2=$!
		first=B
	fi
	wait "$j1" "$j2"
	[[ -s $tmp/a.json && -s $tmp/b.json ]] || die "pair $i: a load run failed"
	ca=$(cpu "$tmp/a.json") cb=$(cpu "$tmp/b.json")
	fa=$(field "$tmp/a.json" flows_per_sec) fb=$(field "$tmp/b.json" flows_per_sec)
	cr=$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.3f", b / a }')
	fr=$(awk -v a="$fa" -v b="$fb" 'BEGIN { printf "%.3f", b / a }')
	cpu_ratios+=("$cr") flow_ratios+=("$fr")
	for s in "${steps[@]}"; do
		p50_ratios[$s]+=" $(awk -v a="$(p50 "$tmp/a.json" "$s")" -v b="$(p50 "$tmp/b.json" "$s")" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')"
	done
	printf 'ab: pair %d (%s first)  A %7.1f flows/s %5.0f us/flow  B %7.1f flows/s %5.0f us/flow  B/A cpu %s flows %s\n' \
		"$i" "$first" "$fa" "$ca" "$fb" "$cb" "$cr" "$fr"
done
if ((sessions_a + sessions_b > 0)); then
	line="ab: B/A p50 per step (median of pairs):"
	for s in "${steps[@]}"; do
		# shellcheck disable=SC2086 # the list of ratios, split on purpose
		line+=" $s $(printf '%s\n' ${p50_ratios[$s]} | median)"
	done
	echo "$line"
fi
echo "ab: $routes B/A server CPU per flow $(printf '%s\n' "${cpu_ratios[@]}" | median) (${cpu_ratios[*]}), flows/s $(printf '%s\n' "${flow_ratios[@]}" | median) (${flow_ratios[*]})"
