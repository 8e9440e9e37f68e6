# shellcheck shell=sh
# Local HTTP test servers (tests/http/README.md) for a case's check section or a tests/t script.
# Source it (`. "$OSIRIS_TESTS/lib/http.sh"`); POSIX sh, works under `sh -eux`.
#
#   start_graphql_server [ARGS...]  node tests/http/graphql-server.mjs ARGS on a free loopback port;
#                                   sets GRAPHQL_PORT, GRAPHQL_URL (http://127.0.0.1:PORT, no path),
#                                   GRAPHQL_TOKEN (--token or the default), GRAPHQL_PID, GRAPHQL_LOG
#   start_posthog_server [ARGS...]  node tests/http/posthog-server.mjs ARGS; sets POSTHOG_PORT,
#                                   POSTHOG_URL, POSTHOG_API_KEY and POSTHOG_PROJECT_ID (from ARGS or
#                                   the defaults), POSTHOG_PID, POSTHOG_LOG
#   graphql_stats TEST_ID           prints how many requests the GraphQL server saw with that
#                                   X-Test-Id (GET /stats)
#   posthog_requests                prints the PostHog server's request log (GET /requests, JSON)
#   http_cleanup                    stops the servers started here and deletes their files
#
# Each start waits up to 10 s for the server's port file; a server that is missing its packages
# (scripts/bootstrap.sh --node) or does not start prints why and exits 1 (with its log). The
# servers are stopped by an EXIT trap that this file sets on the first start: a script that sets
# its own EXIT trap afterwards must call http_cleanup in it.

# The repository: $OSIRIS_TESTS is set by run-cases.sh; a tests/t script can set it too.
_http_top() {
	if [ -n "${OSIRIS_TESTS:-}" ]; then
		(cd "$OSIRIS_TESTS/.." && pwd)
	elif [ -f tests/http/graphql-server.mjs ]; then
		pwd
	else
		echo "http.sh: set OSIRIS_TESTS to the tests directory" >&2
		return 1
	fi
}

_http_pids=""
_http_dirs=""

http_cleanup() {
	for _p in $_http_pids; do
		kill -TERM "$_p" 2>/dev/null || :
	done
	for _p in $_http_pids; do
		wait "$_p" 2>/dev/null || :
	done
	for _d in $_http_dirs; do
		rm -rf "$_d"
	done
	_http_pids=""
	_http_dirs=""
}

# _http_start NAME SCRIPT ARGS...: starts the server with its files in a new temp directory and
# waits for its port; sets _http_last_pid, _http_last_dir and _http_last_port. Not to be called
# in $(...): the pid and directory must reach http_cleanup in this shell.
_http_start() {
	_name=$1 _script=$2
	shift 2
	command -v node >/dev/null 2>&1 || {
		echo "http.sh: node is not installed (scripts/bootstrap.sh installs nodejs)" >&2
		exit 1
	}
	_dir=$(mktemp -d "${TMPDIR:-/tmp}/osiris-http.XXXXXX")
	if [ -z "$_http_dirs" ] && [ -z "$_http_pids" ]; then
		trap http_cleanup EXIT
	fi
	_http_dirs="$_http_dirs $_dir"
	node "$_script" --port-file "$_dir/port" "$@" </dev/null >"$_dir/$_name.log" 2>&1 &
	_pid=$!
	_http_pids="$_http_pids $_pid"
	_n=100
	while [ ! -s "$_dir/port" ]; do
		if ! kill -0 "$_pid" 2>/dev/null || [ "$_n" -le 0 ]; then
			if kill -0 "$_pid" 2>/dev/null; then
				echo "http.sh: the $_name server wrote no port within 10 s; its log:" >&2
			else
				echo "http.sh: the $_name server exited at start; its log:" >&2
			fi
			sed 's/^/  /' "$_dir/$_name.log" >&2
			exit 1
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	_http_last_pid=$_pid
	_http_last_dir=$_dir
	_http_last_port=$(cat "$_dir/port")
}

# The value of FLAG in ARGS, or DEFAULT: _http_flag FLAG DEFAULT ARGS...
_http_flag() {
	_f=$1 _v=$2
	shift 2
	while [ $# -gt 0 ]; do
		if [ "$1" = "$_f" ] && [ $# -ge 2 ]; then
			_v=$2
			shift
		fi
		shift
	done
	printf '%s\n' "$_v"
}

start_graphql_server() {
	_top=$(_http_top) || exit 1
	if [ ! -f "$_top/third_party/node/node_modules/graphql-yoga/package.json" ]; then
		echo "http.sh: graphql-yoga is not installed in third_party/node (run scripts/bootstrap.sh --node)" >&2
		exit 1
	fi
	_http_start graphql "$_top/tests/http/graphql-server.mjs" "$@"
	GRAPHQL_PORT=$_http_last_port
	GRAPHQL_URL=http://127.0.0.1:$GRAPHQL_PORT
	GRAPHQL_PID=$_http_last_pid
	GRAPHQL_LOG=$_http_last_dir/graphql.log
	GRAPHQL_TOKEN=$(_http_flag --token s3cret-token "$@")
	export GRAPHQL_PORT GRAPHQL_URL GRAPHQL_PID GRAPHQL_LOG GRAPHQL_TOKEN
}

start_posthog_server() {
	_top=$(_http_top) || exit 1
	_http_start posthog "$_top/tests/http/posthog-server.mjs" "$@"
	POSTHOG_PORT=$_http_last_port
	POSTHOG_URL=http://127.0.0.1:$POSTHOG_PORT
	POSTHOG_PID=$_http_last_pid
	POSTHOG_LOG=$_http_last_dir/posthog.log
	POSTHOG_API_KEY=$(_http_flag --api-key phx_test_personal_api_key "$@")
	POSTHOG_PROJECT_ID=$(_http_flag --project-id 123 "$@")
	export POSTHOG_PORT POSTHOG_URL POSTHOG_PID POSTHOG_LOG POSTHOG_API_KEY POSTHOG_PROJECT_ID
}

graphql_stats() {
	curl -sf "$GRAPHQL_URL/stats?id=$1" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p'
}

posthog_requests() {
	curl -sf "$POSTHOG_URL/requests"
}
