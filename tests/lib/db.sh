# Helpers for tests that use the database servers of tests/servers.sh. Source it from a case's
# check section (`. "$OSIRIS_TESTS/lib/db.sh"`) or a tests/t script; see tests/README.md.
#
#   my [ARGS...]          the mariadb client as the test user (database: $TEST_DB once newdb ran)
#   my_root [ARGS...]     the mariadb client as root through the socket (KILL, SET GLOBAL)
#   pg [ARGS...]          psql as the test user, stopping at the first error
#   pg_super [ARGS...]    psql as the superuser postgres through the socket
#   newdb                 makes a fresh database osiris_<random> on both servers, sets TEST_DB
#   connections_yaml      writes osiris_connections.yaml with @mysql.test, @postgres.test and
#                         @supabase.test pointing at $TEST_DB; the passwords stay ${...}
#                         references to OSIRIS_TEST_*_PASSWORD, as a user would write them
# Each function needs its server: a case using them declares `# requires: mysql pg` (or one).

my() {
	mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" \
		-u "$OSIRIS_TEST_MYSQL_USER" -p"$OSIRIS_TEST_MYSQL_PASSWORD" --batch \
		--default-character-set=utf8mb4 \
		"${TEST_DB:-$OSIRIS_TEST_MYSQL_DATABASE}" "$@"
}

my_root() {
	mariadb --no-defaults -S "$OSIRIS_TEST_MYSQL_SOCKET" -uroot --batch --default-character-set=utf8mb4 "$@"
}

pg() {
	PGPASSWORD=$OSIRIS_TEST_PG_PASSWORD psql -X -q -A -t -v ON_ERROR_STOP=1 \
		-h "$OSIRIS_TEST_PG_HOST" -p "$OSIRIS_TEST_PG_PORT" -U "$OSIRIS_TEST_PG_USER" \
		-d "${TEST_DB:-$OSIRIS_TEST_PG_DATABASE}" "$@"
}

pg_super() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$OSIRIS_TEST_PG_SOCKET_DIR" \
		-p "$OSIRIS_TEST_PG_PORT" -U postgres -d "${TEST_DB:-postgres}" "$@"
}

newdb() {
	TEST_DB=osiris_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	if [ -n "${OSIRIS_TEST_HAVE_MYSQL:-}" ]; then
		mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" \
			-u "$OSIRIS_TEST_MYSQL_USER" -p"$OSIRIS_TEST_MYSQL_PASSWORD" \
			-e "CREATE DATABASE $TEST_DB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	fi
	if [ -n "${OSIRIS_TEST_HAVE_PG:-}" ]; then
		PGPASSWORD=$OSIRIS_TEST_PG_PASSWORD psql -X -q -h "$OSIRIS_TEST_PG_HOST" \
			-p "$OSIRIS_TEST_PG_PORT" -U "$OSIRIS_TEST_PG_USER" -d "$OSIRIS_TEST_PG_DATABASE" \
			-c "CREATE DATABASE $TEST_DB"
	fi
	export TEST_DB
}

connections_yaml() {
	cat >osiris_connections.yaml <<YAML
version: 1
connections:
  mysql:
    test:
      default: true
      host: $OSIRIS_TEST_MYSQL_HOST
      port: ${OSIRIS_TEST_MYSQL_PORT:-3306}
      database: ${TEST_DB:-$OSIRIS_TEST_MYSQL_DATABASE}
      user: $OSIRIS_TEST_MYSQL_USER
      password: \${OSIRIS_TEST_MYSQL_PASSWORD}
  postgres:
    test:
      default: true
      host: $OSIRIS_TEST_PG_HOST
      port: ${OSIRIS_TEST_PG_PORT:-5432}
      database: ${TEST_DB:-$OSIRIS_TEST_PG_DATABASE}
      user: $OSIRIS_TEST_PG_USER
      password: \${OSIRIS_TEST_PG_PASSWORD}
  supabase:
    test:
      default: true
      host: $OSIRIS_TEST_PG_HOST
      port: ${OSIRIS_TEST_PG_PORT:-5432}
      database: ${TEST_DB:-$OSIRIS_TEST_PG_DATABASE}
      user: $OSIRIS_TEST_PG_USER
      password: \${OSIRIS_TEST_PG_PASSWORD}
      sslmode: disable
YAML
}
