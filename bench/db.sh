#!/bin/sh
# Database benchmark (issue 5): move 5M rows out of MariaDB and between PostgreSQL tables with
# osiris and with the databases' own clients, and measure osiris's memory while it extracts.
#
#   bench/db.sh [OSIRIS_BIN]          (default build/osiris)
#
# Servers: the throw-away MariaDB and PostgreSQL of tests/servers.sh, started here and stopped at
# the end; when OSIRIS_TEST_HAVE_MYSQL and OSIRIS_TEST_HAVE_PG are set (`. DIR/env` after
# `tests/servers.sh start DIR`), those servers are used instead and left running.
#
# Data: a database osiris_bench on each server with tables src_<N> (N = ROWS, default 5000000,
# and SMALL_ROWS, default 1000000), generated on the server (MariaDB's SEQUENCE engine,
# PostgreSQL's generate_series) from the same integer formulas, so both hold the same values: id
# BIGINT (primary key), qty INT, amount DECIMAL(12,2), score DOUBLE, name VARCHAR(60) (14-53
# characters, a fifth of them with non-ASCII UTF-8, a tenth with a comma), day DATE, created
# DATETIME / timestamp, ref INT (NULL in a tenth of the rows), active BOOLEAN. A table that
# already has its row count is reused (drop the database to regenerate); the script then checks
# that the two servers' tables agree (count and sums of every column).
#
# Measured (each pair alternately, RUNS times, default 3; best wall time, highest peak RSS, least
# CPU time, from bench/measure.c: fork/exec/wait4):
#   mysql   `osiris run` of mysql.extractor -> filesystem.csv_writer against
#           `mariadb --batch --quick -e "SELECT ..." > file` (the same SELECT, ORDER BY id).
#           Checked: both files have N rows, and the osiris CSV holds the same values as the
#           client's TSV (both rewritten to one canonical form and compared by md5).
#   pg      `osiris run` of postgres.extractor -> postgres.writer (append) against
#           `psql -c "\copy (SELECT ...) TO STDOUT" | psql -c "\copy dst FROM STDIN"`, into the
#           empty table dst_<N> (no index; truncated before every run). Checked after every run:
#           count, sum(id) and a sum of per-row md5 hashes over all rows, and the md5 of the
#           first 10,000 rows as ordered text, equal to the source's.
#   memory  `osiris run` of a pipeline that is one extractor step (a query over src_<SMALL_ROWS>
#           or src_<ROWS>), for each run.stream_memory_limit in LIMITS (default "96MB 256MB
#           512MB"; STREAM_MEMORY_LIMIT sets it for the other parts). Checked: the step's
#           rows_out.
# PARTS (default "mysql pg memory") selects what runs. Server CPU (the MariaDB process; the
# PostgreSQL postmaster, its live children and the ones it reaped) is read from /proc around each
# run when the servers' pid files are visible (servers started by tests/servers.sh).
#
# Work files live in $BENCH_DIR (default $TMPDIR or /tmp)/osiris-db-bench and are kept; every run
# line goes to stderr, the Markdown tables to stdout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/osiris}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || {
	echo "db.sh: $bin: no such program (make, or pass the osiris binary)" >&2
	exit 1
}
rows=${ROWS:-5000000}
small=${SMALL_ROWS:-1000000}
runs=${RUNS:-3}
limits=${LIMITS:-96MB 256MB 512MB}
parts=${PARTS:-mysql pg memory}
work=${BENCH_DIR:-${TMPDIR:-/tmp}}/osiris-db-bench
db=osiris_bench
base=3000000000 # ids are base + 1 ... base + N
mkdir -p "$work/bin"
cd "$work"

fail() {
	echo "db.sh: $*" >&2
	exit 1
}

has_part() {
	case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# ==== Servers ====

if [ -z "${OSIRIS_TEST_HAVE_MYSQL:-}" ] || [ -z "${OSIRIS_TEST_HAVE_PG:-}" ]; then
	servers=$work/servers
	"$top/tests/servers.sh" stop "$servers"
	trap '"$top/tests/servers.sh" stop "$servers"' EXIT
	trap 'exit 130' INT TERM
	echo "starting MariaDB and PostgreSQL in $servers" >&2
	"$top/tests/servers.sh" start "$servers" >/dev/null
	# shellcheck source=/dev/null
	. "$servers/env"
	if [ -z "${OSIRIS_TEST_HAVE_MYSQL:-}" ] || [ -z "${OSIRIS_TEST_HAVE_PG:-}" ]; then
		fail "a test server did not start (see the messages above)"
	fi
fi

# The clients take the passwords from the environment (MYSQL_PWD, PGPASSWORD), never from the
# command line; osiris from its connections file, which refers to the OSIRIS_TEST_* variables.
export MYSQL_PWD="$OSIRIS_TEST_MYSQL_PASSWORD" PGPASSWORD="$OSIRIS_TEST_PG_PASSWORD"
export OSIRIS_TEST_MYSQL_PASSWORD OSIRIS_TEST_PG_PASSWORD
my() { # my [ARGS...]: the mariadb client as the test user, in $db
	mariadb --no-defaults --default-character-set=utf8mb4 \
		-h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" \
		--batch --skip-column-names "$db" "$@"
}
pg_in() { # pg_in DATABASE [ARGS...]: psql as the test user
	d=$1
	shift
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$OSIRIS_TEST_PG_HOST" -p "$OSIRIS_TEST_PG_PORT" \
		-U "$OSIRIS_TEST_PG_USER" -d "$d" "$@"
}
pg() { pg_in "$db" "$@"; }

# CPU seconds the servers have used so far: the MariaDB process, and the PostgreSQL postmaster
# with its reaped children (cutime, cstime) and its live ones. "?" without pid files.
hz=$(getconf CLK_TCK)
proc_ticks() { # proc_ticks PID FIELDS: the sum of those fields of /proc/PID/stat
	awk -v f="$2" '{ sub(/^.*\) /, ""); n = split(f, k, " "); for (i = 1; i <= n; i++) s += $(k[i] - 2) }
		END { print s + 0 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
server_cpu() { # server_cpu mysql|pg
	d=${OSIRIS_TEST_SERVERS_DIR:-}
	case $1 in
	mysql)
		pid=$(cat "$d/mysql/pid" 2>/dev/null) || {
			echo "?"
			return
		}
		t=$(proc_ticks "$pid" "14 15")
		;;
	pg)
		pid=$(head -1 "$d/pg/data/postmaster.pid" 2>/dev/null) || {
			echo "?"
			return
		}
		t=$(proc_ticks "$pid" "14 15 16 17")
		for c in $(ps -o pid= --ppid "$pid"); do
			t=$((t + $(proc_ticks "$c" "14 15")))
		done
		;;
	esac
	awk -v t="$t" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }'
}

# ==== Data ====

cols="id, qty, amount, score, name, day, created, ref, active"

# The generator, the same formulas in both dialects (n = 1 ... N). MariaDB's seq is unsigned, so
# it is cast first; decimals divide exact integers; doubles are multiples of 1/64, exact in both.
gen_mysql() { # gen_mysql N
	my <<EOF
DROP TABLE IF EXISTS src_$1;
CREATE TABLE src_$1 (
  id BIGINT NOT NULL PRIMARY KEY, qty INT NOT NULL, amount DECIMAL(12,2) NOT NULL,
  score DOUBLE NOT NULL, name VARCHAR(60) NOT NULL, day DATE NOT NULL,
  created DATETIME NOT NULL, ref INT NULL, active BOOLEAN NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO src_$1
SELECT $base + n,
  (n * 7919) % 20001 - 10000,
  ((n * 104729) % 100000000 - 20000000) / 100,
  ((n * 2654435761) % 1000003) * 1e0 / 64,
  CONCAT(ELT(1 + n % 10, 'Amsterdam', 'Zürich', 'São Paulo', 'Kraków', '東京', 'Αθήνα', 'Oslo',
      'Paris, TX', 'Reykjavík', 'New York'),
    ' ', ELT(1 + n % 7, 'order', 'invoice', 'refund', 'transfer', 'deposit', 'payment',
      'credit note'),
    ' #', n, ' ', LEFT('lorem ipsum dolor sit amet consectetur', n % 23)),
  DATE '2000-01-01' + INTERVAL ((n * 7) % 9000) DAY,
  TIMESTAMP '2015-01-01 00:00:00' + INTERVAL (n * 37) SECOND,
  CASE WHEN n % 10 = 3 THEN NULL ELSE (n * 31) % 100000 END,
  n % 3 <> 0
FROM (SELECT CAST(seq AS SIGNED) AS n FROM seq_1_to_$1) s;
EOF
}

gen_pg() { # gen_pg N
	pg <<EOF
DROP TABLE IF EXISTS src_$1;
CREATE TABLE src_$1 (
  id BIGINT NOT NULL PRIMARY KEY, qty INT NOT NULL, amount DECIMAL(12,2) NOT NULL,
  score DOUBLE PRECISION NOT NULL, name VARCHAR(60) NOT NULL, day DATE NOT NULL,
  created TIMESTAMP NOT NULL, ref INT NULL, active BOOLEAN NOT NULL
);
INSERT INTO src_$1
SELECT $base + n,
  (n * 7919) % 20001 - 10000,
  ((n * 104729) % 100000000 - 20000000) / 100.0,
  ((n * 2654435761) % 1000003)::float8 / 64,
  (ARRAY['Amsterdam', 'Zürich', 'São Paulo', 'Kraków', '東京', 'Αθήνα', 'Oslo', 'Paris, TX',
      'Reykjavík', 'New York'])[1 + n % 10]
    || ' ' || (ARRAY['order', 'invoice', 'refund', 'transfer', 'deposit', 'payment',
      'credit note'])[1 + n % 7]
    || ' #' || n || ' ' || left('lorem ipsum dolor sit amet consectetur', (n % 23)::int),
  DATE '2000-01-01' + ((n * 7) % 9000)::int,
  TIMESTAMP '2015-01-01 00:00:00' + n * 37 * INTERVAL '1 second',
  CASE WHEN n % 10 = 3 THEN NULL ELSE (n * 31) % 100000 END,
  n % 3 <> 0
FROM generate_series(1::bigint, $1) AS n;
ANALYZE src_$1;
EOF
}

# One line of sums over every column, printed the same way by both servers.
summary_sql() { # summary_sql TABLE ACTIVE_AS_INT
	echo "SELECT count(*), sum(id), sum(qty), sum(amount), sum(score), sum(char_length(name)),
		count(ref), sum(ref), sum($2), min(day), max(created) FROM $1"
}

mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" \
	-P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" \
	-e "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
[ -n "$(pg_in "$OSIRIS_TEST_PG_DATABASE" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ] ||
	pg_in "$OSIRIS_TEST_PG_DATABASE" -c "CREATE DATABASE $db"
sizes=$small
[ "$rows" = "$small" ] || sizes="$small $rows"
for n in $sizes; do
	if [ "$(my -e "SELECT count(*) FROM src_$n" 2>/dev/null)" != "$n" ]; then
		echo "generating src_$n on MariaDB" >&2
		gen_mysql "$n"
	fi
	if [ "$(pg -c "SELECT count(*) FROM src_$n" 2>/dev/null)" != "$n" ]; then
		echo "generating src_$n on PostgreSQL" >&2
		gen_pg "$n"
	fi
	m=$(my -e "$(summary_sql "src_$n" active)" | tr '\t' ' ')
	p=$(pg -F ' ' -c "$(summary_sql "src_$n" 'active::int')")
	[ "$m" = "$p" ] || fail "src_$n differs between the servers: MariaDB $m; PostgreSQL $p"
	echo "src_$n: $m" >&2
done

# ==== Programs and project ====

cc -std=c17 -O2 -Wall -Wextra -o bin/measure "$top/bench/measure.c"

rm -rf project
mkdir project
(cd project && "$bin" init >/dev/null)
default_limit=$(sed -n 's/^  stream_memory_limit: "*\([^" ]*\).*/\1/p' project/osiris.yaml)
[ -n "$default_limit" ] || fail "osiris init wrote no run.stream_memory_limit"
memory_limit=$(sed -n 's/^  memory_limit: "*\([^" ]*\).*/\1/p' project/osiris.yaml)
set_limit() { # set_limit LIMIT: run.stream_memory_limit of the project
	sed "s/^  stream_memory_limit: .*/  stream_memory_limit: \"$1\"/" project/osiris.yaml >project/y
	mv project/y project/osiris.yaml
	grep -q "^  stream_memory_limit: \"$1\"" project/osiris.yaml || fail "cannot set stream_memory_limit"
}
[ -z "${STREAM_MEMORY_LIMIT:-}" ] || set_limit "$STREAM_MEMORY_LIMIT"
# Passwords stay references to the environment, as a user would write them.
cat >project/osiris_connections.yaml <<EOF
version: 1
connections:
  mysql:
    bench:
      default: true
      host: $OSIRIS_TEST_MYSQL_HOST
      port: $OSIRIS_TEST_MYSQL_PORT
      database: $db
      user: $OSIRIS_TEST_MYSQL_USER
      password: \${OSIRIS_TEST_MYSQL_PASSWORD}
  postgres:
    bench:
      default: true
      host: $OSIRIS_TEST_PG_HOST
      port: $OSIRIS_TEST_PG_PORT
      database: $db
      user: $OSIRIS_TEST_PG_USER
      password: \${OSIRIS_TEST_PG_PASSWORD}
EOF
my_select="SELECT $cols FROM src_$rows ORDER BY id"
pg_select="SELECT $cols FROM src_$rows"
cat >"project/pipelines/mysql-csv.yaml" <<EOF
oml_version: "0.1.0"
name: bench-mysql-csv
description: $rows MariaDB rows written to a CSV file.
steps:
  - id: extract
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.bench"
      query: $my_select
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [extract]
    config:
      path: out/mysql-$rows.csv
EOF
cat >"project/pipelines/pg-pg.yaml" <<EOF
oml_version: "0.1.0"
name: bench-pg-pg
description: $rows PostgreSQL rows appended to another PostgreSQL table.
steps:
  - id: extract
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.bench"
      query: $pg_select
  - id: write
    component: postgres.writer
    mode: write
    needs: [extract]
    config:
      connection: "@postgres.bench"
      table: dst_$rows
      write_mode: append
EOF
for fam in mysql postgres; do
	for n in $sizes; do
		cat >"project/pipelines/mem-$fam-$n.yaml" <<EOF
oml_version: "0.1.0"
name: bench-mem-$fam-$n
description: $n rows extracted by $fam.extractor.
steps:
  - id: extract
    component: $fam.extractor
    mode: read
    config:
      connection: "@$fam.bench"
      query: SELECT $cols FROM src_$n
EOF
	done
done

# ==== Measuring ====

# measure LOG SERVER CMD...: runs CMD under bin/measure, appends its output to LOG and
# "wall rss cpu server_cpu" to LOG.times (server_cpu: CPU seconds of SERVER, mysql or pg, during
# the run); fails the script (showing the end of LOG) when CMD fails. LOG is absolute.
measure() {
	log=$1
	srv=$2
	shift 2
	s0=$(server_cpu "$srv")
	if ! "$work/bin/measure" "$log.m" "$@" >>"$log" 2>&1; then
		echo "db.sh: failed: $* (output in $log):" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	sleep 0.2 # let the server reap the backends of the run
	s1=$(server_cpu "$srv")
	echo "$(cat "$log.m") $(awk -v a="$s0" -v b="$s1" 'BEGIN {
		if (a == "?" || b == "?") print "?"; else printf "%.2f", b - a }')" >>"$log.times"
	rm -f "$log.m"
}

# osiris_steps LOG: "extract_ms write_ms" of the run whose output LOG ends with, to LOG.steps.
osiris_steps() {
	dir=$(sed -n 's/.*run directory: //p' "$1" | tail -1)
	ev=$dir/events.jsonl
	[ -f "$ev" ] || fail "no events.jsonl in '$dir'"
	e=$(sed -n 's/.*"step_complete","step_id":"extract".*"duration_ms":\([0-9]*\).*/\1/p' "$ev")
	w=$(sed -n 's/.*"step_complete","step_id":"write".*"duration_ms":\([0-9]*\).*/\1/p' "$ev")
	echo "${e:-0} ${w:-0}" >>"$1.steps"
}

# From a .times file: the best wall time, the highest peak RSS (MiB), the least CPU time, the
# least server CPU time; from a .steps file the least time of a column, in seconds.
best_wall() { awk 'NR == 1 || $1 < m { m = $1 } END { printf "%.2f", m }' "$1"; }
peak_mib() { awk '$2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$1"; }
best_cpu() { awk 'NR == 1 || $3 < m { m = $3 } END { printf "%.1f", m }' "$1"; }
best_server() {
	awk '$4 == "?" { q = 1 } NR == 1 || $4 < m { m = $4 }
		END { if (q) print "?"; else printf "%.1f", m }' "$1"
}
best_step() { awk -v c="$2" 'NR == 1 || $c < m { m = $c } END { printf "%.1f", m / 1000 }' "$1"; }
last_run() { tail -1 "$1" | awk '{ printf "%.2f s, %.0f MiB, %.1f s CPU, server %s s", $1, $2 / 1024, $3, $4 }'; }
per_s() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
thousands() { # 5000000 -> 5,000,000
	echo "$1" | awk '{ s = $1; o = ""
		while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
		print s o }'
}

# The osiris CSV and the client's TSV rewritten as the same tab-separated text (columns in the
# SELECT's order, NULL as NULL, booleans as 1/0, doubles without a trailing ".0"), to compare.
# Only name can hold a comma, so the CSV fields around it are counted from both ends.
canon_csv() {
	LC_ALL=C awk -F, -v OFS='\t' '
		NR == 1 {
			if ($0 != "active,amount,created,day,id,name,qty,ref,score") {
				print "db.sh: unexpected CSV header: " $0 >"/dev/stderr"
				exit 1
			}
			next
		}
		{
			name = $6
			for (i = 7; i <= NF - 3; i++) name = name "," $i
			if (name ~ /^".*"$/) {
				name = substr(name, 2, length(name) - 2)
				gsub(/""/, "\"", name)
			}
			score = $NF
			sub(/\.0$/, "", score)
			ref = $(NF - 1) == "" ? "NULL" : $(NF - 1)
			print $5, $(NF - 2), $2, score, name, $4, $3, ref, ($1 == "true" ? 1 : 0)
		}' "$1"
}

# compare_table TITLE LOG OSIRIS_LABEL NATIVE_LABEL: the two-row table of osiris against the
# native clients from LOG.osiris.times and LOG.native.times.
compare_table() {
	o=$(best_wall "$2.osiris.times")
	n=$(best_wall "$2.native.times")
	echo "$1, $(thousands "$rows") rows:"
	echo
	echo "| | wall (s) | rows/s | throughput vs native | peak RSS (MiB) | CPU (s) | server CPU (s) |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for side in osiris native; do
		t=$2.$side.times
		w=$(best_wall "$t")
		label=$3
		rel="$(ratio "$n" "$o")×"
		[ "$side" = osiris ] || label=$4 rel=1
		printf '%s\n' "| $label | $w | $(thousands "$(per_s "$rows" "$w")") | $rel | $(peak_mib "$t") | $(best_cpu "$t") | $(best_server "$t") |"
	done
	echo
}

# ==== MySQL -> CSV ====

results=$work/results.md
: >"$results"
ncpu=$(nproc)
if has_part mysql; then
	l=$work/logs-mysql
	rm -f "$l".*
	r=1
	while [ "$r" -le "$runs" ]; do
		rm -rf project/out "native-$rows.tsv"
		(cd project && measure "$l.osiris" mysql "$bin" run pipelines/mysql-csv.yaml)
		osiris_steps "$l.osiris"
		# shellcheck disable=SC2016 # the inner shell expands them
		measure "$l.native" mysql sh -c 'exec "$@" >"$0"' "native-$rows.tsv" \
			mariadb --no-defaults \
			--default-character-set=utf8mb4 -h "$OSIRIS_TEST_MYSQL_HOST" \
			-P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" --batch --quick "$db" \
			-e "$my_select"
		echo "MySQL -> CSV, run $r: osiris $(last_run "$l.osiris.times"); mariadb client $(last_run "$l.native.times")" >&2
		r=$((r + 1))
	done
	csv=project/out/mysql-$rows.csv
	got=$(($(wc -l <"$csv") - 1))
	[ "$got" = "$rows" ] || fail "$csv has $got rows, not $rows"
	got=$(($(wc -l <"native-$rows.tsv") - 1))
	[ "$got" = "$rows" ] || fail "native-$rows.tsv has $got rows, not $rows"
	a=$(canon_csv "$csv" | md5sum | cut -d' ' -f1)
	b=$(tail -n +2 "native-$rows.tsv" | md5sum | cut -d' ' -f1)
	[ "$a" = "$b" ] || fail "the osiris CSV and the mariadb client's TSV hold different values"
	echo "MySQL -> CSV: both outputs have $rows rows and the same values (md5 $a)" >&2
	{
		compare_table "MySQL → CSV" "$l" "osiris (mysql.extractor → csv_writer)" \
			"\`mariadb --batch --quick -e ... > file\`"
		echo "osiris steps (best of $runs): extract $(best_step "$l.osiris.steps" 1) s, write CSV $(best_step "$l.osiris.steps" 2) s; CSV $(($(wc -c <"$csv") / 1000000)) MB, TSV $(($(wc -c <"native-$rows.tsv") / 1000000)) MB"
		echo
	} >>"$results"
fi

# ==== PostgreSQL -> PostgreSQL ====

# The checksums of a table: count, sum(id), the sum of a 32-bit piece of every row's md5 (all
# columns, order-independent), and the md5 of the first 10,000 rows as ordered text.
pg_checksum() {
	pg -F ' ' -c "SELECT count(*), sum(id), sum(('x' || left(md5(t::text), 8))::bit(32)::int::bigint),
		(SELECT md5(string_agg(s::text, E'\n' ORDER BY id)) FROM $1 s WHERE id <= $base + 10000)
		FROM $1 t"
}
pg_prepare() { # an empty target, and a checkpoint (when we may) so none falls into the run
	pg -c "TRUNCATE dst_$rows"
	[ -z "${OSIRIS_TEST_PG_SOCKET_DIR:-}" ] || psql -X -q -h "$OSIRIS_TEST_PG_SOCKET_DIR" \
		-p "$OSIRIS_TEST_PG_PORT" -U postgres -d "$db" -c CHECKPOINT 2>/dev/null || true
}
if has_part pg; then
	pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS dst_$rows" -c "CREATE TABLE dst_$rows (LIKE src_$rows)"
	want=$(pg_checksum "src_$rows")
	l=$work/logs-pg
	rm -f "$l".*
	copy_out="\\copy ($pg_select) TO STDOUT"
	copy_in="\\copy dst_$rows FROM STDIN"
	r=1
	while [ "$r" -le "$runs" ]; do
		pg_prepare
		(cd project && measure "$l.osiris" pg "$bin" run pipelines/pg-pg.yaml)
		osiris_steps "$l.osiris"
		got=$(pg_checksum "dst_$rows")
		[ "$got" = "$want" ] || fail "osiris run $r: dst_$rows: $got; src_$rows: $want"
		pg_prepare
		# shellcheck disable=SC2016 # the inner shell expands them
		measure "$l.native" pg sh -c 'psql -X -q -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$3" -d "$4" -c "$5" |
			psql -X -q -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$3" -d "$4" -c "$6"' sh \
			"$OSIRIS_TEST_PG_HOST" "$OSIRIS_TEST_PG_PORT" "$OSIRIS_TEST_PG_USER" "$db" "$copy_out" \
			"$copy_in"
		got=$(pg_checksum "dst_$rows")
		[ "$got" = "$want" ] || fail "psql run $r: dst_$rows: $got; src_$rows: $want"
		echo "PostgreSQL -> PostgreSQL, run $r: osiris $(last_run "$l.osiris.times"); psql | psql $(last_run "$l.native.times")" >&2
		r=$((r + 1))
	done
	echo "PostgreSQL -> PostgreSQL: every run's target matches the source ($want)" >&2
	{
		compare_table "PostgreSQL → PostgreSQL" "$l" "osiris (postgres.extractor → postgres.writer)" \
			"\`psql \\copy ... TO STDOUT \\| psql \\copy ... FROM STDIN\`"
		echo "osiris steps (best of $runs): extract $(best_step "$l.osiris.steps" 1) s, write $(best_step "$l.osiris.steps" 2) s"
		echo
	} >>"$results"
fi

# ==== Memory ====

if has_part memory; then
	for lim in $limits; do
		for fam in mysql postgres; do
			for n in $sizes; do rm -f "$work/logs-mem-$fam-$n-$lim".*; done
		done
	done
	for lim in $limits; do
		set_limit "$lim"
		r=1
		while [ "$r" -le "$runs" ]; do
			for fam in mysql postgres; do
				srv=pg
				[ "$fam" != mysql ] || srv=mysql
				for n in $sizes; do
					l=$work/logs-mem-$fam-$n-$lim
					: >"$l"
					(cd project && measure "$l" "$srv" "$bin" run "pipelines/mem-$fam-$n.yaml")
					dir=$(sed -n 's/.*run directory: //p' "$l" | tail -1)
					got=$(sed -n 's/.*"step_complete","step_id":"extract".*"rows_out":\([0-9]*\).*/\1/p' "$dir/events.jsonl")
					[ "$got" = "$n" ] || fail "mem-$fam-$n: the extract step says $got rows, not $n"
					echo "memory, $fam.extractor, $n rows, stream_memory_limit $lim, run $r: $(last_run "$l.times")" >&2
				done
			done
			r=$((r + 1))
		done
	done
	{
		echo "Peak RSS of \`osiris run\` of a pipeline that only extracts $(thousands "$small") or $(thousands "$rows") rows:"
		echo
		echo "| extractor | stream_memory_limit | $(thousands "$small") rows: wall (s) | CPU (s) | peak RSS (MiB) | $(thousands "$rows") rows: wall (s) | CPU (s) | peak RSS (MiB) | RSS growth |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		for fam in mysql postgres; do
			for lim in $limits; do
				a=$work/logs-mem-$fam-$small-$lim.times
				b=$work/logs-mem-$fam-$rows-$lim.times
				ra=$(peak_mib "$a")
				rb=$(peak_mib "$b")
				echo "| $fam.extractor | $lim | $(best_wall "$a") | $(best_cpu "$a") | $ra | $(best_wall "$b") | $(best_cpu "$b") | $rb | $(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%+.0f%%", (b - a) * 100 / a }') |"
			done
		done
		echo
	} >>"$results"
	set_limit "$default_limit"
fi

cat "$results"
mem=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
my_version=$(my -e "SELECT version()")
pg_version=$(pg -c "SHOW server_version" | cut -d' ' -f1)
echo "$ncpu cores, $mem GiB RAM; file system: $(stat -f -c %T "$work") ($work); MariaDB" \
	"$my_version, PostgreSQL $pg_version (tests/servers.sh, loopback TCP);" \
	"memory_limit $memory_limit, stream_memory_limit $default_limit unless stated; best of $runs runs; osiris $("$bin" --version | cut -d' ' -f2)," \
	"DuckDB $(cat "$top/third_party/duckdb/VERSION" 2>/dev/null || echo '?')"
