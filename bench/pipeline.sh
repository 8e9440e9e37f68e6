#!/bin/sh
# Run-time benchmark (goal: within 1.3x of DuckDB alone; peak RSS under 1 GiB and not growing with
# row count).
#
# For 1M and 10M rows (about 100 MB and 1 GB of CSV written by bench/gen_csv.c), runs
#   osiris     `osiris run pipelines/rows-N.yaml` (compile included) of a pipeline
#              csv_extractor -> duckdb.processor (group by category) -> csv_writer +
#              parquet_writer, in a project made with `osiris init`;
#   DuckDB     bench/duckdb_alone.c: the same statements through the DuckDB C API alone, with the
#              database opened as osiris opens a run's (in memory, memory_limit, spill
#              directory in a scratch dir, default threads).
# The two run alternately, RUNS times each (default 3); the table shows the best wall time, the
# highest peak RSS and the least CPU time (user + system) over the runs, and each run's figures
# go to stderr. They come from a small wrapper compiled here (fork, exec, wait4: the child's
# ru_maxrss, which is what GNU time's %M reports), so the script needs nothing beyond cc. After the runs the two CSV outputs must be identical, their
# row counts must add up to the input's rows, and the two Parquet files must be identical (the
# same DuckDB writes both with the same options: snappy, 122,880-row groups).
#
# With FUSED=1 it also runs osiris on a one-step variant: a duckdb.processor whose query reads the
# CSV itself (read_csv in its FROM, the extractor's options) and writes the same two files, so
# DuckDB streams the file through the group-by instead of storing it in a table first. A second
# table shows it; its outputs are checked the same way.
#
# Work files live in $BENCH_DIR (default $TMPDIR or /tmp)/osiris-pipeline-bench and are kept: a
# generated CSV is reused by the next run (delete the directory to start over). SIZES (default
# "1000000 10000000"), RUNS and MEMORY_LIMIT (default 512MB, osiris's default, written to osiris.yaml run.memory_limit
# and passed to duckdb_alone) and FUSED can be set in the environment. Prints Markdown.
#   bench/pipeline.sh [OSIRIS_BIN]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
duck=$top/third_party/duckdb
sizes=${SIZES:-1000000 10000000}
runs=${RUNS:-3}
memory_limit=${MEMORY_LIMIT:-512MB}
fused=${FUSED:-0}
work=${BENCH_DIR:-${TMPDIR:-/tmp}}/osiris-pipeline-bench
mkdir -p "$work/bin" "$work/data"
cd "$work"

# The read_csv options csv_extractor passes for a step with only `path` (READ_CSV_OPTIONS in
# bench/duckdb_alone.c), for FUSED.
read_opts="delim = ',', quote = '\"', escape = '\"', header = true, skip = 0, comment = '', strict_mode = true, allow_quoted_nulls = false, encoding = 'utf-8', compression = 'none', auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR'], nullstr = ['']"
# The group-by of the duckdb.processor step; bench/duckdb_alone.c runs the same text over `src`
# (AGG_QUERY there). Output column names are in byte order, the order osiris's CSV writer uses;
# the doubles are summed as DECIMAL, so the result does not depend on the order threads add them.
aggs='SELECT sum(CAST(amount AS DECIMAL(18, 2))) AS amount_sum, category, count(code) AS codes, min(ts) AS first_ts, max(ts) AS last_ts, sum(length(note)) AS note_chars, count(*) AS row_count, round(avg(CAST(score AS DECIMAL(9, 4))), 6) AS score_avg'
query="$aggs FROM input_df GROUP BY category ORDER BY category"

# ==== Programs ====

cc -std=c17 -O2 -Wall -Wextra -o bin/gen_csv "$top/bench/gen_csv.c"
cc -std=c17 -O2 -Wall -Wextra -isystem "$duck" -o bin/duckdb_alone "$top/bench/duckdb_alone.c" \
	-L"$duck" -lduckdb -Wl,-rpath,"$duck"
cc -std=c17 -O2 -Wall -Wextra -o bin/measure "$top/bench/measure.c"

# ==== Project ====

rm -rf project
mkdir project
(cd project && "$bin" init >/dev/null)
sed "s/^  memory_limit: .*/  memory_limit: \"$memory_limit\"/" project/osiris.yaml >project/osiris.yaml.new
mv project/osiris.yaml.new project/osiris.yaml
grep -q "^  memory_limit: \"$memory_limit\"" project/osiris.yaml
cat >project/osiris_connections.yaml <<EOF
version: 1
connections:
  filesystem:
    bench:
      default: true
      base_dir: $work/data
EOF
for n in $sizes; do
	cat >"project/pipelines/rows-$n.yaml" <<EOF
oml_version: "0.1.0"
name: bench-rows-$n
description: $n CSV rows grouped by category, written as CSV and Parquet.
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config:
      connection: "@filesystem.bench"
      path: rows-$n.csv
  - id: group
    component: duckdb.processor
    mode: transform
    needs: [extract]
    config:
      query: |
        $query
  - id: write-csv
    component: filesystem.csv_writer
    mode: write
    needs: [group]
    config:
      path: out-$n/agg.csv
  - id: write-parquet
    component: filesystem.parquet_writer
    mode: write
    needs: [group]
    config:
      path: out-$n/agg.parquet
EOF
	cat >"project/pipelines/fused-$n.yaml" <<EOF
oml_version: "0.1.0"
name: bench-fused-$n
description: $n CSV rows read and grouped by one SQL step, written as CSV and Parquet.
steps:
  - id: group
    component: duckdb.processor
    mode: transform
    config:
      query: |
        $aggs
        FROM read_csv('$work/data/rows-$n.csv', $read_opts)
        GROUP BY category ORDER BY category
  - id: write-csv
    component: filesystem.csv_writer
    mode: write
    needs: [group]
    config:
      path: fused-$n/agg.csv
  - id: write-parquet
    component: filesystem.parquet_writer
    mode: write
    needs: [group]
    config:
      path: fused-$n/agg.parquet
EOF
done

# ==== Runs ====

# measure LOG CMD...: runs CMD under bin/measure, appends its output to LOG and its
# "wall rss cpu" line to LOG.times; fails the script (showing the end of LOG) when CMD fails.
# LOG is absolute.
measure() {
	log=$1
	shift
	if ! "$work/bin/measure" "$log.m" "$@" >>"$log" 2>&1; then
		echo "pipeline.sh: failed: $* (output in $log):" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	cat "$log.m" >>"$log.times"
	rm -f "$log.m"
}

# From a .times file: the best wall time, the highest peak RSS (MiB), the least CPU time.
best_wall() { awk 'NR == 1 || $1 < m { m = $1 } END { printf "%.2f", m }' "$1"; }
peak_mib() { awk '$2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$1"; }
best_cpu() { awk 'NR == 1 || $3 < m { m = $3 } END { printf "%.1f", m }' "$1"; }
last_run() { tail -1 "$1" | awk '{ printf "%.2f s, %.0f MiB, %.1f s CPU", $1, $2 / 1024, $3 }'; }

rows_sum() { # the row_count column of an aggregate CSV, summed
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "row_count") c = i; next }
		{ s += $c } END { print s + 0 }' "$1"
}

fail() {
	echo "pipeline.sh: $*" >&2
	exit 1
}

# check N DIR: DIR holds the same agg.csv and agg.parquet as duckdb-N (the last run of each is
# checked): the same CSV bytes, counting every input row, and the same Parquet bytes.
check() {
	if ! cmp -s "$2/agg.csv" "duckdb-$1/agg.csv"; then
		diff "$2/agg.csv" "duckdb-$1/agg.csv" | head -10 >&2
		fail "$1 rows: $2/agg.csv differs from duckdb-$1/agg.csv"
	fi
	got=$(rows_sum "$2/agg.csv")
	[ "$got" = "$1" ] || fail "$1 rows: $2/agg.csv counts $got rows"
	[ "$(head -c 4 "duckdb-$1/agg.parquet")" = PAR1 ] || fail "duckdb-$1/agg.parquet is not Parquet"
	cmp -s "$2/agg.parquet" "duckdb-$1/agg.parquet" ||
		fail "$1 rows: $2/agg.parquet differs from duckdb-$1/agg.parquet"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

table="| rows | CSV size (MB) | osiris (s) | DuckDB alone (s) | ratio | osiris peak RSS (MiB) | DuckDB alone peak RSS (MiB) | osiris CPU (s) | DuckDB alone CPU (s) |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
ftable="| rows | osiris, one SQL step (s) | DuckDB alone (s) | ratio | peak RSS (MiB) | CPU (s) |
|---:|---:|---:|---:|---:|---:|"
for n in $sizes; do
	csv=data/rows-$n.csv
	[ -f "$csv" ] || bin/gen_csv "$n" "$csv" >/dev/null
	for k in osiris duckdb fused; do rm -f "logs-$n.$k" "logs-$n.$k.times"; done
	r=1
	while [ "$r" -le "$runs" ]; do
		rm -rf "project/out-$n" "project/fused-$n" "duckdb-$n"
		(cd project && measure "$work/logs-$n.osiris" "$bin" run "pipelines/rows-$n.yaml")
		measure "$work/logs-$n.duckdb" bin/duckdb_alone "$csv" "duckdb-$n" "$memory_limit"
		line="$n rows, run $r: osiris $(last_run "logs-$n.osiris.times");"
		line="$line DuckDB alone $(last_run "logs-$n.duckdb.times")"
		if [ "$fused" = 1 ]; then
			(cd project && measure "$work/logs-$n.fused" "$bin" run "pipelines/fused-$n.yaml")
			line="$line; one SQL step $(last_run "logs-$n.fused.times")"
		fi
		echo "$line" >&2
		r=$((r + 1))
	done
	check "$n" "project/out-$n"
	[ "$fused" != 1 ] || check "$n" "project/fused-$n"
	o=$(best_wall "logs-$n.osiris.times")
	d=$(best_wall "logs-$n.duckdb.times")
	mb=$(($(wc -c <"$csv") / 1000000))
	table="$table
| $n | $mb | $o | $d | $(ratio "$o" "$d") | $(peak_mib "logs-$n.osiris.times") | $(peak_mib "logs-$n.duckdb.times") | $(best_cpu "logs-$n.osiris.times") | $(best_cpu "logs-$n.duckdb.times") |"
	if [ "$fused" = 1 ]; then
		f=$(best_wall "logs-$n.fused.times")
		ftable="$ftable
| $n | $f | $d | $(ratio "$f" "$d") | $(peak_mib "logs-$n.fused.times") | $(best_cpu "logs-$n.fused.times") |"
	fi
done
echo "$table"
if [ "$fused" = 1 ]; then
	echo
	echo "$ftable"
fi
echo
mem=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
echo "$(nproc) cores, $mem GiB RAM; file system: $(stat -f -c %T "$work") ($work);" \
	"memory_limit $memory_limit; best of $runs runs; osiris $("$bin" --version | cut -d' ' -f2)," \
	"DuckDB $(cat "$duck/VERSION" 2>/dev/null || echo '?')"
