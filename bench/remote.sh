#!/bin/sh
# Remote-run overhead (issue 6): the CSV demo (examples/movies: 3 CSV extracts, a DuckDB join and
# group-by, CSV and Parquet out) run locally and with each --remote backend, alternately, RUNS
# times each (default 10), in one invocation; best and median wall time per way, from
# bench/measure.c.
#
#   bench/remote.sh [OSIRIS_BIN]          (default build/osiris)
#
# The ssh backend runs against a throw-away sshd on loopback (tests/sshd.sh), so its figure is
# the protocol's and the 90 MB pack upload's cost without a network. The pack cache is warmed
# first (the first sandbox or ssh run of a new build copies the pack into it); the figures are
# for a warm cache, as every run but the first after an upgrade sees it. Work files live in
# $BENCH_DIR (default $TMPDIR or /tmp)/osiris-remote-bench. Prints Markdown.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || {
	echo "remote.sh: $bin: no such program (make, or pass the osiris binary)" >&2
	exit 1
}
runs=${RUNS:-10}
work=${BENCH_DIR:-${TMPDIR:-/tmp}}/osiris-remote-bench
rm -rf "$work"
mkdir -p "$work/bin" "$work/tmp"
cc -std=c17 -O2 -Wall -Wextra -o "$work/bin/measure" "$top/bench/measure.c"

"$top/tests/sshd.sh" start "$work/ssh" >/dev/null
trap '"$top/tests/sshd.sh" stop "$work/ssh"' EXIT
trap 'exit 130' INT TERM
# shellcheck source=/dev/null
. "$work/ssh/env"
export OSIRIS_SSH_CONFIG="$OSIRIS_TEST_SSH_CONFIG" OSIRIS_PACK_CACHE="$work/packs" TMPDIR="$work/tmp"

cp -R "$top/examples/movies/." "$work/project/"
cd "$work/project"
"$bin" init >/dev/null
"$bin" compile pipelines/movies.yaml >/dev/null

ways="local process sandbox ssh://$OSIRIS_TEST_SSH_HOST"
for way in $ways; do # warm: the pack cache, the page cache
	opt=
	[ "$way" = local ] || opt="--remote $way"
	# shellcheck disable=SC2086
	"$bin" run --last-compile $opt >/dev/null
done
r=1
while [ "$r" -le "$runs" ]; do
	for way in $ways; do
		opt=
		[ "$way" = local ] || opt="--remote $way"
		name=${way%%:*}
		# shellcheck disable=SC2086
		"$work/bin/measure" "$work/m" "$bin" run --last-compile $opt >/dev/null ||
			{ echo "remote.sh: the $name run failed" >&2 && exit 1; }
		cut -d' ' -f1 "$work/m" >>"$work/times.$name"
	done
	r=$((r + 1))
done
best() { sort -n "$1" | head -1 | awk '{ printf "%.0f", $1 * 1000 }'; }
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) * 1000 }'; }
echo "| way | best (ms) | median (ms) | median overhead (ms) |"
echo "|---|---:|---:|---:|"
base=$(med "$work/times.local")
for way in $ways; do
	name=${way%%:*}
	m=$(med "$work/times.$name")
	echo "| $name | $(best "$work/times.$name") | $m | $((m - base)) |"
done
echo
echo "$(nproc) cores; $runs runs of each, alternating; osiris $("$bin" --version | cut -d' ' -f2); pack $(du -sm "$work/packs" | cut -f1) MB"
