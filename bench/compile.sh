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

gen() { # gen N FILE
	n=$1
	{
		echo 'oml_version: "0.1.0"'
		echo "name: bench-$n"
		echo 'params: {limit: {default: 100}}'
		echo 'steps:'
		echo '  - {id: s0, component: filesystem.csv_extractor, mode: read, config: {path: data/in.csv}}'
		i=1
		while [ $i -lt $((n - 1)) ]; do
			prev=$((i - 1))
			if [ $((i % 10)) -eq 0 ]; then needs="[s$prev, s0]"; else needs="[s$prev]"; fi
			echo "  - {id: s$i, component: duckdb.processor, mode: transform, needs: $needs, config: {query: \"SELECT * FROM input_df LIMIT \${params.limit}\"}}"
			i=$((i + 1))
		done
		echo "  - {id: s$i, component: filesystem.csv_writer, mode: write, needs: [s$((i - 1))], config: {path: out.csv}}"
	} >"$2"
}

ms() { # ms COMMAND...: wall-clock milliseconds of one run
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

best() { # best A B C ...
	b=$1
	for v in "$@"; do [ "$v" -lt "$b" ] && b=$v; done
	echo "$b"
}

fstype=$(stat -f -c %T "$work")
echo "| steps | first compile (ms) | recompile (ms) | files written |"
echo "|---:|---:|---:|---:|"
for n in 10 100 1000; do
	gen $n "p$n.yaml"
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
