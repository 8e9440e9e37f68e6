#!/bin/sh
# Report benchmark (goal: the page of a 1,000-step run renders in Chromium in under 2 s).
#
# Runs a 1,000-step pipeline (a CSV extractor, 998 chained DuckDB processors with a fan-in every
# 10th step, a CSV writer) and, for comparison in the same invocation, the 5-step demo pipeline;
# writes the report with `osiris logs html` and loads each run page in headless Chromium
# (tests/browser/cdp.js). Figures are the best of RUNS (default 5) loads:
#   html      wall time of `osiris logs html` for that run alone;
#   load      from Page.navigate to the load event (parse, style, layout of the whole page);
#   dom       the same to DOMContentLoaded.
# Prints a Markdown table.   bench/report.sh [OSIRIS_BIN]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
runs=${RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/osiris-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

min() { sort -n | head -1; }

cp -R "$top/examples/movies/." .
"$bin" init >/dev/null
gen_chain 1000 pipelines/steps1000.yaml data/movies.csv
"$bin" run pipelines/movies.yaml >/dev/null
"$bin" run pipelines/steps1000.yaml >/dev/null

echo "| run | steps | events | page size | html (ms) | load (ms) | dom (ms) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in movies-demo bench-1000; do
	dir=$(ls -d run_logs/*/"$name"/*/)
	sid=${dir#run_logs/}
	sid=${sid%/}
	html=$(for r in $(seq "$runs"); do
		rm -rf "out-$name"
		ms "$bin" logs html --out "out-$name" --logs-dir "run_logs/${sid%%/*}/$name"
	done | min)
	page="out-$name/${sid##*/}/index.html"
	: >loads
	for r in $(seq "$runs"); do
		node "$top/tests/browser/cdp.js" --eval 'nodes=document.querySelectorAll("svg .dag-node").length' \
			"file://$PWD/$page" >load.json
		jq -r '[.load_ms, .dom_content_loaded_ms, .evals.nodes, (.console | length)] | @tsv' load.json >>loads
	done
	best=$(sort -n loads | head -1)
	set -- $best
	[ "$4" = 0 ] || { echo "bench/report.sh: console messages on $page" >&2; exit 1; }
	steps=$3
	events=$(wc -l <"$dir/events.jsonl")
	size=$(($(wc -c <"$page") / 1024))
	printf '| %s | %s | %s | %s KiB | %s | %.0f | %.0f |\n' "$name" "$steps" "$events" "$size" "$html" "$1" "$2"
done
