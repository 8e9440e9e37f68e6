#!/bin/sh
# A table of broken inputs for `osiris compile`: each must exit 2 with a one-line, positioned
# error (file:line:col) as the last line of stderr, and never crash (this script also runs under
# AddressSanitizer with `make sanitize`).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${OSIRIS_BIN:-$top/build/osiris}
script="$top/tests/t/$(basename "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

good='oml_version: "0.1.0"
name: t
steps:
  - id: a
    component: duckdb.processor
    mode: transform
    config: {query: SELECT 1}'

n=0
total=$(grep -c '^try ' "$script")
echo "1..$total"

# try NAME FILE CONTENT: writes CONTENT to FILE (pipeline.yaml unless named), compiles
# pipeline.yaml, and checks exit 2 plus a positioned last stderr line naming FILE.
try() {
	n=$((n + 1))
	name=$1 file=$2
	rm -f pipeline.yaml osiris_connections.yaml
	"$bin" init --force >/dev/null 2>&1
	[ "$file" = pipeline.yaml ] || printf '%s\n' "$good" >pipeline.yaml
	printf '%s' "$3" >"$file"
	"$bin" compile pipeline.yaml >out.txt 2>err.txt
	rc=$?
	last=$(tail -n 1 err.txt)
	if [ $rc -eq 2 ] && echo "$last" | grep -Eq "^osiris: .*$file:[0-9]+:[0-9]+: "; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (exit $rc)"
		sed 's/^/#   /' err.txt | tail -5
	fi
}

nl='
'
try 'bad YAML syntax' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: [unclosed${nl}"
try 'tab indentation' pipeline.yaml "oml_version: \"0.1.0\"${nl}steps:${nl}	- id: a${nl}"
try 'empty file' pipeline.yaml ''
try 'a list at the top' pipeline.yaml "- a${nl}- b${nl}"
try 'a scalar at the top' pipeline.yaml "just text${nl}"
try 'binary junk' pipeline.yaml "$(printf '\001\002\377\376junk\000')"
try 'invalid UTF-8' pipeline.yaml "$(printf 'name: \377\376\n')"
try 'two documents' pipeline.yaml "${good}${nl}---${nl}a: 1${nl}"
try 'duplicate top-level key' pipeline.yaml "${good}${nl}name: again${nl}"
try 'missing oml_version' pipeline.yaml "name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'oml_version not a string' pipeline.yaml "oml_version: 0.1${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'major version 1' pipeline.yaml "oml_version: \"1.0.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'forbidden key' pipeline.yaml "${good}${nl}tasks: []${nl}"
try 'steps not a list' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: {a: 1}${nl}"
try 'no steps' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: []${nl}"
try 'step not a mapping' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [hello]${nl}"
try 'duplicate step ids' pipeline.yaml "${good}${nl}  - id: a${nl}    component: duckdb.processor${nl}    mode: transform${nl}    config: {query: SELECT 2}${nl}"
try 'step id with a slash' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a/b, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'unknown component' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: nosuch.thing, mode: read}]${nl}"
try 'invalid mode' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: dance, config: {query: x}}]${nl}"
try 'mode not supported' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: read, config: {query: x}}]${nl}"
try 'unknown dependency' pipeline.yaml "${good}${nl}    needs: [ghost]${nl}"
try 'self dependency' pipeline.yaml "${good}${nl}    needs: [a]${nl}"
try 'dependency cycle' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps:${nl}  - {id: a, component: duckdb.processor, mode: transform, needs: [b], config: {query: x}}${nl}  - {id: b, component: duckdb.processor, mode: transform, needs: [a], config: {query: x}}${nl}"
try 'needs not a list' pipeline.yaml "${good}${nl}    needs: a${nl}"
try 'config not a mapping' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: [1]}]${nl}"
try 'unknown config key' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x, qeury: y}}]${nl}"
try 'wrong config type' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: 5}}]${nl}"
try 'config value out of range' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: filesystem.csv_extractor, mode: read, config: {path: x.csv, skip_rows: -1}}]${nl}"
try 'bad connection reference' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: mysql.extractor, mode: read, config: {connection: mysql.main, table: t}}]${nl}"
try 'connection of another family' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: mysql.extractor, mode: read, config: {connection: \"@postgres.main\", table: t}}]${nl}"
try 'inline secret' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}metadata: {api_key: abcdefgh}${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'unresolved param' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: \"\${params.nope}\"}}]${nl}"
try 'param default of the wrong type' pipeline.yaml "oml_version: \"0.1.0\"${nl}name: t${nl}params: {n: {type: integer, default: abc}}${nl}steps: [{id: a, component: duckdb.processor, mode: transform, config: {query: x}}]${nl}"
try 'alias bomb' pipeline.yaml "a: &a [x,x,x,x,x,x,x,x,x,x]${nl}b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]${nl}c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]${nl}d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]${nl}e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]${nl}f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]${nl}"
try 'deep nesting' pipeline.yaml "$(printf 'x: '; head -c 5000 /dev/zero | tr '\0' '[')"
try 'osiris.yaml: bad YAML' osiris.yaml "filesystem: [${nl}"
try 'osiris.yaml: unknown key' osiris.yaml "filesystem:${nl}  biuld_dir: out${nl}"
try 'osiris.yaml: wrong type' osiris.yaml "filesystem:${nl}  naming:${nl}    manifest_short_len: seven${nl}"
try 'connections: bad YAML' osiris_connections.yaml "connections: {${nl}"
try 'connections: alias not a mapping' osiris_connections.yaml "connections:${nl}  mysql:${nl}    main: localhost${nl}"
try 'connections: default as a string' osiris_connections.yaml "connections:${nl}  mysql:${nl}    main: {default: \"true\", host: h}${nl}"
