#!/bin/sh
# HTTP extractor benchmark: does memory grow with the number of pages?
#
# Starts the GraphQL test server (tests/http/graphql-server.mjs --products N) and runs a
# graphql.extractor step with cursor pagination (500 records a page) into a CSV writer for
# 1,000, 10,000, 100,000 and 300,000 products (2, 20, 200 and 600 pages), under bench/measure.c: wall time,
# peak RSS of osiris, CPU, with run.stream_memory_limit STREAM_LIMIT (default 32MB). The same run
# with one page of 1,000 records is the comparison.
# Prints a Markdown table.   bench/http.sh [OSIRIS_BIN]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
work=$(mktemp -d "${TMPDIR:-/tmp}/osiris-bench.XXXXXX")
OSIRIS_TESTS=$top/tests
export OSIRIS_TESTS
# shellcheck source=tests/lib/http.sh
. "$top/tests/lib/http.sh"
trap 'http_cleanup; rm -rf "$work"' EXIT
cd "$work"
cc -std=c17 -O2 -Wall -Wextra -o measure "$top/bench/measure.c"
start_graphql_server --products 300000
"$bin" init >/dev/null
# A small stream limit shows the plateau sooner: beyond it DuckDB spills the staged records.
sed "s/^  stream_memory_limit: .*/  stream_memory_limit: ${STREAM_LIMIT:-32MB}/" osiris.yaml >o && mv o osiris.yaml
printf 'version: 1\nconnections:\n  graphql:\n    shop:\n      endpoint: %s/graphql\n' "$GRAPHQL_URL" >osiris_connections.yaml

gen() { # gen FILE PAGE_SIZE MAX_PAGES
	cat >"$1" <<YAML
oml_version: "0.1.0"
name: http-bench
steps:
  - id: products
    component: graphql.extractor
    mode: read
    config:
      connection: "@graphql.shop"
      query: "query P(\$first: Int!, \$after: String) { products(first: \$first, after: \$after) { edges { node { id name price inStock tags createdAt vendor { name country } } } pageInfo { hasNextPage endCursor } } }"
      variables: {first: $2}
      data_path: data.products.edges[*].node
      pagination_enabled: true
      pagination_path: data.products.pageInfo
      max_pages: $3
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [products]
    config: {path: out/products.csv}
YAML
}

echo "| records | pages | wall (s) | peak RSS (MiB) | CPU (s) |"
echo "|---:|---:|---:|---:|---:|"
for spec in "1000 1000 1" "1000 500 2" "10000 500 20" "100000 500 200" "300000 500 600"; do
	set -- $spec
	gen p.yaml "$2" "$3"
	./measure m.out "$bin" run p.yaml >run.out
	grep -q "$1 rows written" run.out || { cat run.out >&2; exit 1; }
	read -r wall rss cpu <m.out
	printf '| %s | %s | %.2f | %.0f | %.2f |\n' "$1" "$3" "$wall" "$(echo "$rss / 1024" | bc -l)" "$cpu"
done
