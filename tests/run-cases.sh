#!/bin/sh
# Runs the data-driven CLI cases (tests/cases/**/*.case) against $OSIRIS_BIN and prints TAP.
# The case file format is described in tests/README.md. Usage: run-cases.sh [CASE...]
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${OSIRIS_BIN:-$top/build/osiris}
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built"; exit 0; }

if [ $# -eq 0 ]; then
	set -- $(find "$top/tests/cases" -name '*.case' | LC_ALL=C sort)
fi
echo "1..$#"

n=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

diag() { sed 's/^/#   /'; }

for case in "$@"; do
	n=$((n + 1))
	name=${case#"$top/"}
	meta="$scratch/meta.$n"
	work="$scratch/work.$n"
	mkdir -p "$meta" "$work"
	work=$(cd "$work" && pwd -P)
	# Split the case into sections: "--- NAME [ARG]" starts one; "# key: value" lines before the
	# first section are metadata. "file" sections are written into the work directory.
	awk -v meta="$meta" -v work="$work" '
		BEGIN { out = "" }
		/^--- / {
			sec = $2
			if (sec == "file") { path = substr($0, length("--- file ") + 1); out = work "/" path
				dir = out; sub(/\/[^\/]*$/, "", dir); system("mkdir -p \"" dir "\"") }
			else out = meta "/" sec
			printf "" > out
			next
		}
		out == "" && /^# [a-z-]+:/ { key = $2; sub(/:$/, "", key); v = $0; sub(/^# [a-z-]+: */, "", v)
			print v > (meta "/@" key); next }
		out != "" { print >> out }
	' "$case"

	desc=$(cat "$meta/@desc" 2>/dev/null || echo "")
	skip=""
	for req in $(cat "$meta/@requires" 2>/dev/null); do
		var=$(echo "OSIRIS_TEST_HAVE_$req" | tr 'a-z-' 'A-Z_')
		eval "have=\${$var:-}"
		[ -n "$have" ] || skip="$req not available"
	done
	if [ -n "$skip" ]; then
		echo "ok $n - $name # SKIP $skip"
		continue
	fi

	args=$(cat "$meta/args" 2>/dev/null || echo "")
	eval "set -- $args"
	envs=""
	[ -f "$meta/env" ] && envs=$(grep -v '^[[:space:]]*$' "$meta/env" | tr '\n' ' ')
	stdin=/dev/null
	[ -f "$meta/stdin" ] && stdin="$meta/stdin"
	# A clean environment: only what the case sets, plus sanitizer settings of the build under test.
	(cd "$work" && eval "env -i PATH=\"\$PATH\" HOME=\"$work\" LANG=C.UTF-8 TZ=UTC \
		\${ASAN_OPTIONS:+ASAN_OPTIONS=\"\$ASAN_OPTIONS\"} \
		\${UBSAN_OPTIONS:+UBSAN_OPTIONS=\"\$UBSAN_OPTIONS\"} \
		\${LSAN_OPTIONS:+LSAN_OPTIONS=\"\$LSAN_OPTIONS\"} \
		$envs \"\$bin\" \"\$@\"") <"$stdin" >"$meta/@out" 2>"$meta/@err"
	status=$?
	# Paths of the work directory are written as %WORK% in expectations.
	sed "s|$work|%WORK%|g" "$meta/@out" >"$meta/@out.norm"
	sed "s|$work|%WORK%|g" "$meta/@err" >"$meta/@err.norm"

	problems=""
	want_exit=0
	[ -f "$meta/exit" ] && want_exit=$(tr -d ' \n' <"$meta/exit")
	[ "$status" = "$want_exit" ] || problems="$problems
exit status $status, expected $want_exit"
	for stream in stdout stderr; do
		actual="$meta/@out.norm"
		[ $stream = stderr ] && actual="$meta/@err.norm"
		if [ -f "$meta/$stream" ] && ! cmp -s "$meta/$stream" "$actual"; then
			problems="$problems
$stream differs:
$(diff -u "$meta/$stream" "$actual" | tail -n +3)"
		fi
	done
	for stream in stdout stderr; do
		[ -f "$meta/$stream-match" ] || continue
		actual="$meta/@out.norm"
		[ $stream = stderr ] && actual="$meta/@err.norm"
		while IFS= read -r re; do
			[ -n "$re" ] || continue
			grep -Eq -- "$re" "$actual" || problems="$problems
$stream lacks a line matching: $re"
		done <"$meta/$stream-match"
	done
	if [ -f "$meta/check" ]; then
		if ! (cd "$work" && OSIRIS_BIN="$bin" OSIRIS_TESTS="$top/tests" sh -eux "$meta/check") >"$meta/@check" 2>&1; then
			problems="$problems
check failed:
$(cat "$meta/@check")"
		fi
	fi

	if [ -z "$problems" ]; then
		echo "ok $n - $name${desc:+ - $desc}"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name${desc:+ - $desc}"
		echo "$problems" | sed 1d | diag
		echo "stderr was:" | diag
		head -20 "$meta/@err.norm" | diag
	fi
done
[ $failed -eq 0 ]
