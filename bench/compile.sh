#!/bin/sh
# Compile-time benchmark (goal: a 1,000-step pipeline compiles in under 100 ms).
#
# Generates pipelines of 10, 100 and 1,000 steps (a CSV extractor, a chain of DuckDB processors
# with a fan-in every 10th step, a CSV writer) and times `osiris compile`:
#   first      compile into a new project (writes manifest.yaml and one cfg file per step);
#   recompile  the same pipeline again (nothing changed: the build directory is left alone).
# Each figure is the best of 5 runs. The project lives under BENCH_DIR (default $TMPDIR or /tmp),
# because creating a thousand files costs what the file system makes it cost: run it on tmpfs
# (BENCH_DIR=/dev/shm) and on disk to see both. Prints a Markdown table.
#   bench/compile.sh [OSIRIS_BIN]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
base=${BENCH_DIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$base/osiris-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

best() { # best A B C ...
	b=$1
	for v in "$@"; do [ "$v" -lt "$b" ] && b=$v; done
	echo "$b"
}

fstype=$(stat -f -c %T "$work")
echo "| steps | first compile (ms) | recompile (ms) | files written |"
echo "|---:|---:|---:|---:|"
for n in 10 100 1000; do
	gen_chain $n "p$n.yaml" data/in.csv
	first='' again=''
	for r in 1 2 3 4 5; do
		mkdir "proj$n-$r"
		(cd "proj$n-$r" && "$bin" init >/dev/null)
		first="$first $(cd "proj$n-$r" && ms "$bin" compile "../p$n.yaml")"
		again="$again $(cd "proj$n-$r" && ms "$bin" compile "../p$n.yaml")"
	done
	files=$(find "proj$n-1/build/pipelines" -type f ! -name LATEST | wc -l)
	# shellcheck disable=SC2086 # the lists are meant to split into arguments
	echo "| $n | $(best $first) | $(best $again) | $files |"
done
echo
echo "file system: $fstype ($base); $(nproc) cores; osiris $("$bin" --version | cut -d' ' -f2)"
