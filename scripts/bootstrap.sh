#!/bin/sh
# Installs what osiris needs to build and test on a Debian machine, and fetches DuckDB.
# Idempotent and quick when everything is present: it only calls apt-get or npm for what is missing.
#
#   scripts/bootstrap.sh            packages + DuckDB + the test servers' npm packages
#   scripts/bootstrap.sh --duckdb   DuckDB only (no root needed)
#   scripts/bootstrap.sh --node     the npm packages of tests/http/ only (no root needed)
#   DUCKDB_DIR=/path                use a DuckDB copy there (libduckdb.so + duckdb.h) instead of fetching
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

# Build and test packages. Keep in step with README.md ("Dependencies").
packages="
build-essential pkg-config clang-format perl
libyaml-dev libjansson-dev libssl-dev libmariadb-dev libpq-dev libcurl4-openssl-dev libpcre2-dev
bubblewrap openssh-client openssh-server mariadb-server mariadb-client postgresql postgresql-client
iproute2 chromium fonts-dejavu-core
json-schema-test-suite
ca-certificates curl nodejs npm
"

duckdb_version=1.4.4
duckdb_lib_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
duckdb_hdr_pkg="duckdb@$duckdb_version"

# npm packages of the local HTTP test servers (tests/http/), in third_party/node. graphql stays
# on 16.x: 17.x wants Node >= 22 and Debian's nodejs is 20.
graphql_yoga_version=5.24.1
graphql_version=16.15.0

say() { printf 'bootstrap: %s\n' "$*" >&2; }

install_packages() {
	missing=""
	for p in $packages; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			# A package may be provided by another name (nodejs from nodesource ships npm).
			case $p in
			npm) command -v npm >/dev/null 2>&1 && continue ;;
			nodejs) command -v node >/dev/null 2>&1 && continue ;;
			esac
			missing="$missing $p"
		fi
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	# Package servers must not start as system services; the tests start their own.
	$sudo apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
}

fetch_duckdb() {
	dest="${DUCKDB_DIR:-$top/third_party/duckdb}"
	if [ -f "$dest/libduckdb.so" ] && [ -f "$dest/duckdb.h" ]; then
		return 0
	fi
	if [ -n "${DUCKDB_DIR:-}" ]; then
		say "DUCKDB_DIR=$DUCKDB_DIR lacks libduckdb.so or duckdb.h"
		exit 1
	fi
	command -v npm >/dev/null 2>&1 || {
		say "npm is needed to fetch DuckDB (apt-get install npm)"
		exit 1
	}
	say "fetching DuckDB $duckdb_version from the npm registry"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$duckdb_lib_pkg" "$duckdb_hdr_pkg" >/dev/null)
	mkdir -p "$tmp/lib" "$tmp/hdr"
	tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp/lib"
	tar -xzf "$tmp/duckdb-$duckdb_version.tgz" -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h
	mkdir -p "$dest"
	cp "$tmp/lib/package/libduckdb.so" "$dest/libduckdb.so.tmp"
	cp "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$dest/duckdb.h.tmp"
	echo "$duckdb_version" >"$dest/VERSION"
	mv "$dest/duckdb.h.tmp" "$dest/duckdb.h"
	mv "$dest/libduckdb.so.tmp" "$dest/libduckdb.so"
}

# Version in DIR/node_modules/NAME/package.json, or nothing.
npm_pkg_version() {
	f="$1/node_modules/$2/package.json"
	[ -f "$f" ] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | head -n 1
}

install_node_packages() {
	dest="$top/third_party/node"
	if [ "$(npm_pkg_version "$dest" graphql-yoga)" = "$graphql_yoga_version" ] &&
		[ "$(npm_pkg_version "$dest" graphql)" = "$graphql_version" ]; then
		return 0
	fi
	command -v npm >/dev/null 2>&1 || {
		say "npm is needed for the test servers' packages (apt-get install npm)"
		exit 1
	}
	say "installing graphql-yoga@$graphql_yoga_version graphql@$graphql_version into third_party/node"
	mkdir -p "$dest"
	# A package.json of our own, so npm does not climb to a parent directory's.
	[ -f "$dest/package.json" ] || echo '{"private": true}' >"$dest/package.json"
	npm install --prefix "$dest" --no-audit --no-fund --silent --save-exact \
		"graphql-yoga@$graphql_yoga_version" "graphql@$graphql_version"
}

case "${1:-}" in
--duckdb) fetch_duckdb ;;
--node) install_node_packages ;;
"")
	install_packages
	fetch_duckdb
	install_node_packages
	;;
*)
	say "usage: scripts/bootstrap.sh [--duckdb | --node]"
	exit 2
	;;
esac
