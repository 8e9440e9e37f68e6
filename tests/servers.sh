#!/bin/sh
# Throw-away MariaDB and PostgreSQL servers for the tests, and an OpenSSH server (tests/sshd.sh):
# in a temp directory, on free loopback ports, with fresh random passwords and keys, never as a
# system service.
#
#   tests/servers.sh run CMD [ARG...]   start all three, run CMD with the variables below
#                                       exported, stop them (also when CMD fails or is
#                                       interrupted); exits with CMD's status. When the variables
#                                       already point at running servers (a nested make), CMD
#                                       just runs.
#   tests/servers.sh start DIR          start all three with their files in DIR (created) and
#                                       write DIR/env, a file to source: `. DIR/env`
#   tests/servers.sh stop DIR           stop the servers of DIR and delete DIR
#
# Exported (see tests/README.md):
#   OSIRIS_TEST_HAVE_MYSQL=1, OSIRIS_TEST_MYSQL_HOST/PORT/USER/PASSWORD/DATABASE (a user with all
#   privileges on that database and on any database named osiris_*, so a test can make its own) and OSIRIS_TEST_MYSQL_SOCKET (root through the socket, for setup
#   and for killing connections);
#   OSIRIS_TEST_HAVE_PG=1, OSIRIS_TEST_PG_HOST/PORT/USER/PASSWORD/DATABASE (the owner of that
#   database, allowed to create databases) and OSIRIS_TEST_PG_SOCKET_DIR (superuser postgres without a password through the
#   socket);
#   OSIRIS_TEST_HAVE_SSH=1, OSIRIS_TEST_SSH_CONFIG/HOST and the rest listed in tests/sshd.sh (its
#   files are in DIR/ssh);
#   OSIRIS_TEST_HAVE_CHROMIUM=1 when chromium and node are installed (tests/browser/cdp.js);
#   OSIRIS_TEST_HAVE_HTTP=1 when node and the HTTP test servers' packages are (tests/http/);
#   OSIRIS_TEST_SERVERS_DIR.
# A server that cannot start is reported on stderr and its variables are left out, so the tests
# that need it skip with that reason; `make test` then fails (REQUIRE_SERVERS=1).
#
# PostgreSQL refuses to run as root and MariaDB is told to run as mysql, so their directories
# belong to those users.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "servers.sh: $*" >&2
	exit 1
}

# shellcheck source=tests/lib/ports.sh
. "$here/lib/ports.sh"

secret() {
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n'
}

pg_bin() {
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && echo "$d" && return
	done
	return 1
}

start_mysql() { # start_mysql DIR
	d=$1/mysql
	command -v mariadbd >/dev/null || {
		echo "servers.sh: mariadbd not found (install mariadb-server)" >&2
		return 1
	}
	mkdir -p "$d/data"
	chown -R mysql:mysql "$d"
	port=$(free_port)
	pw=$(secret)
	mariadb-install-db --user=mysql --datadir="$d/data" --auth-root-authentication-method=socket \
		--skip-test-db >"$d/install.log" 2>&1 || {
		echo "servers.sh: mariadb-install-db failed, see $d/install.log" >&2
		return 1
	}
	# local_infile: the writer's bulk path (the server must allow it; the test of the fallback
	# turns it off with SET GLOBAL).
	mariadbd --no-defaults --user=mysql --datadir="$d/data" --socket="$d/sock" --port="$port" \
		--bind-address=127.0.0.1 --pid-file="$d/pid" --log-error="$d/error.log" \
		--local-infile=1 --max-allowed-packet=64M --innodb-buffer-pool-size=64M \
		--skip-name-resolve >/dev/null 2>&1 &
	if ! wait_for 30 mariadb-admin --no-defaults -S "$d/sock" -uroot ping; then
		echo "servers.sh: MariaDB did not start, see $d/error.log" >&2
		return 1
	fi
	mariadb --no-defaults -S "$d/sock" -uroot <<EOF
CREATE DATABASE osiris_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'osiris'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER 'osiris'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL ON osiris_test.* TO 'osiris'@'127.0.0.1', 'osiris'@'localhost';
GRANT ALL ON \`osiris\\_%\`.* TO 'osiris'@'127.0.0.1', 'osiris'@'localhost';
GRANT PROCESS ON *.* TO 'osiris'@'127.0.0.1', 'osiris'@'localhost';
EOF
	cat >>"$1/env" <<EOF
export OSIRIS_TEST_HAVE_MYSQL=1
export OSIRIS_TEST_MYSQL_HOST=127.0.0.1
export OSIRIS_TEST_MYSQL_PORT=$port
export OSIRIS_TEST_MYSQL_USER=osiris
export OSIRIS_TEST_MYSQL_PASSWORD=$pw
export OSIRIS_TEST_MYSQL_DATABASE=osiris_test
export OSIRIS_TEST_MYSQL_SOCKET=$d/sock
EOF
}

start_pg() { # start_pg DIR
	d=$1/pg
	bin=$(pg_bin) || {
		echo "servers.sh: PostgreSQL not found (install postgresql)" >&2
		return 1
	}
	mkdir -p "$d"
	chown postgres:postgres "$d"
	port=$(free_port)
	pw=$(secret)
	runuser -u postgres -- "$bin/initdb" -D "$d/data" -U postgres --auth-local=trust \
		--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 || {
		echo "servers.sh: initdb failed, see $d/initdb.log" >&2
		return 1
	}
	runuser -u postgres -- "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 30 \
		-o "-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
		start >/dev/null || {
		echo "servers.sh: PostgreSQL did not start, see $d/server.log" >&2
		return 1
	}
	psql -X -q -v ON_ERROR_STOP=1 -h "$d" -p "$port" -U postgres -d postgres <<EOF
CREATE ROLE osiris LOGIN CREATEDB PASSWORD '$pw';
CREATE DATABASE osiris_test OWNER osiris;
EOF
	cat >>"$1/env" <<EOF
export OSIRIS_TEST_HAVE_PG=1
export OSIRIS_TEST_PG_HOST=127.0.0.1
export OSIRIS_TEST_PG_PORT=$port
export OSIRIS_TEST_PG_USER=osiris
export OSIRIS_TEST_PG_PASSWORD=$pw
export OSIRIS_TEST_PG_DATABASE=osiris_test
export OSIRIS_TEST_PG_SOCKET_DIR=$d
EOF
}

start_ssh() { # start_ssh DIR
	sh "$here/sshd.sh" start "$1/ssh" >/dev/null || return 1
	cat "$1/ssh/env" >>"$1/env"
}

# Not servers, but tests need them like servers: a browser for the report tests, and node with
# the packages of the HTTP test servers (tests/http/), which each case starts itself.
find_tools() { # find_tools DIR
	if command -v chromium >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
		echo "export OSIRIS_TEST_HAVE_CHROMIUM=1" >>"$1/env"
	else
		echo "servers.sh: chromium or node not found (scripts/bootstrap.sh installs them)" >&2
	fi
	if command -v node >/dev/null 2>&1 &&
		[ -f "$here/../third_party/node/node_modules/graphql-yoga/package.json" ]; then
		echo "export OSIRIS_TEST_HAVE_HTTP=1" >>"$1/env"
	else
		echo "servers.sh: node or graphql-yoga not found (scripts/bootstrap.sh --node)" >&2
	fi
}

start() { # start DIR
	mkdir -p "$1"
	chmod 755 "$1"
	echo "export OSIRIS_TEST_SERVERS_DIR=$1" >"$1/env"
	start_mysql "$1" || true
	start_pg "$1" || true
	start_ssh "$1" || true
	find_tools "$1"
}

stop() { # stop DIR
	d=$1
	[ -d "$d" ] || return 0
	if [ -f "$d/mysql/pid" ]; then
		kill "$(cat "$d/mysql/pid")" 2>/dev/null || true
		wait_for 20 sh -c "! test -e '$d/mysql/pid'" || true
	fi
	if bin=$(pg_bin) && [ -f "$d/pg/data/postmaster.pid" ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$d/pg/data" -m immediate -w stop >/dev/null 2>&1 ||
			true
	fi
	sh "$here/sshd.sh" stop "$d/ssh" || true
	rm -rf "$d"
}

case ${1:-} in
run)
	shift
	[ $# -gt 0 ] || die "usage: tests/servers.sh run CMD [ARG...]"
	if [ -n "${OSIRIS_TEST_SERVERS_DIR:-}" ] && [ -d "$OSIRIS_TEST_SERVERS_DIR" ]; then
		exec "$@"
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/osiris-servers.XXXXXX")
	trap 'stop "$dir"' EXIT
	trap 'exit 130' INT TERM
	start "$dir"
	# shellcheck source=/dev/null
	. "$dir/env"
	if [ "${REQUIRE_SERVERS:-0}" = 1 ] &&
		{ [ -z "${OSIRIS_TEST_HAVE_MYSQL:-}" ] || [ -z "${OSIRIS_TEST_HAVE_PG:-}" ] ||
			[ -z "${OSIRIS_TEST_HAVE_SSH:-}" ] || [ -z "${OSIRIS_TEST_HAVE_CHROMIUM:-}" ] ||
			[ -z "${OSIRIS_TEST_HAVE_HTTP:-}" ]; }; then
		die "a test server did not start (REQUIRE_SERVERS=1)"
	fi
	rc=0
	"$@" || rc=$?
	exit "$rc"
	;;
start)
	[ $# -eq 2 ] || die "usage: tests/servers.sh start DIR"
	start "$2"
	echo "servers.sh: started; . $2/env"
	;;
stop)
	[ $# -eq 2 ] || die "usage: tests/servers.sh stop DIR"
	stop "$2"
	;;
*)
	die "usage: tests/servers.sh run CMD... | start DIR | stop DIR"
	;;
esac
