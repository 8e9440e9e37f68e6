#!/bin/sh
# The manual cannot drift from the binary: every command's --help synopsis appears verbatim in
# docs/commands/<command>.md, and every built-in component has a page in docs/components/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${OSIRIS_BIN:-$top/build/osiris}

commands=$("$bin" --help --json | sed -n 's/.*"command": "\(.*\)",/\1/p')
components=$("$bin" components list --json | sed -n 's/.*"name": "\(.*\)",/\1/p')
n=0
echo "1..$(($(echo "$commands" | wc -l) + $(echo "$components" | wc -l)))"
echo "$commands" | while IFS= read -r cmd; do
	n=$((n + 1))
	syn=$("$bin" $cmd --help --json | sed -n 's/.*"synopsis": "\(.*\)",/\1/p')
	doc="$top/docs/commands/${cmd%% *}.md"
	if [ -f "$doc" ] && grep -qxF "$syn" "$doc"; then
		echo "ok $n - $cmd: synopsis documented in ${doc#"$top/"}"
	else
		echo "not ok $n - $cmd: ${doc#"$top/"} lacks the line: $syn"
	fi
done
base=$(echo "$commands" | wc -l)
echo "$components" | while IFS= read -r comp; do
	base=$((base + 1))
	doc="$top/docs/components/$comp.md"
	if [ -f "$doc" ]; then
		echo "ok $base - component $comp has ${doc#"$top/"}"
	else
		echo "not ok $base - component $comp has no ${doc#"$top/"}"
	fi
done
