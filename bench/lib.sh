# bench/lib.sh — what the bench scripts share; sourced, never run.
#
# bench_init NAME: a temporary folder ($tmp), removed on exit with the
# server still running, if any; die prints "NAME: …" and exits. The
# caller sets $url (the public URL) and $GO first.
bench_init() {
	bench_name=$1
	tmp=$(mktemp -d)
	pid=
	trap 'stop_server; rm -rf "$tmp"' EXIT
}

die() { echo "$bench_name: $*" >&2; exit 1; }

# build_tuna PATH: the tuna binary at PATH; fails if something already
# listens on $url (PORT_VAR names the variable that moves it).
build_tuna() {
	"$GO" build -o "$1" ./cmd/tuna
	if curl -s -o /dev/null "$url/healthz"; then
		die "something already listens on $url (set $2)"
	fi
}

# start_server BIN LOG TIMEOUT ARGS…: `BIN serve ARGS…` in the background,
# its stderr in LOG, its pid in $pid, waiting up to TIMEOUT seconds for
# $url/readyz.
start_server() {
	local bin=$1 log=$2 timeout=$3
	shift 3
	"$bin" serve "$@" 2>"$log" &
	pid=$!
	for _ in $(seq $((timeout * 10))); do
		curl -sf -o /dev/null "$url/readyz" && return 0
		kill -0 "$pid" 2>/dev/null || die "the server did not start: $(tail -5 "$log")"
		sleep 0.1
	done
	die "the server is not ready after ${timeout}s"
}

stop_server() {
	if [[ -n ${pid:-} ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}

# field FILE KEY: a top-level number of a loadgen JSON result.
field() { sed -n "s/^  \"$2\": \\([-0-9.e+]*\\),*\$/\\1/p" "$1"; }

# sfield FILE KEY: the first number KEY of a section of a loadgen JSON
# result (the sample summary, the reload result).
sfield() { sed -n "s/^    \"$2\": \\([-0-9.e+]*\\),*\$/\\1/p" "$1" | head -1; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
