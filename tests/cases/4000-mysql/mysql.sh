# Helpers shared by the 4000-mysql cases (sourced from a check section, after lib/db.sh):
#
#   project               osiris init, a fresh database (newdb) and osiris_connections.yaml
#   sum TABLE             a checksum of TABLE's contents (CHECKSUM TABLE), "" when it is missing
#   leftovers             the names of staging tables a writer left behind (none expected)
#   kill_when SQL_LIKE    waits (up to 60 s) for a statement of $TEST_DB whose text is LIKE
#                         SQL_LIKE in the process list, then kills its connection as root
#   run_bg LOG ARGS...    starts osiris ARGS in the background, output to LOG; PID in $bg
#   elapsed_ok START MAX  fails unless fewer than MAX seconds passed since START (date +%s)

project() {
	"$OSIRIS_BIN" init >/dev/null
	newdb
	connections_yaml
}

sum() {
	my -N -e "CHECKSUM TABLE \`$1\` EXTENDED" 2>/dev/null | cut -f2
}

leftovers() {
	my -N -e "SHOW TABLES LIKE '\\_osiris\\_%'"
}

kill_when() {
	i=0
	while :; do
		id=$(my -N -e "SELECT ID FROM information_schema.PROCESSLIST
			WHERE DB = '$TEST_DB' AND INFO LIKE '$1' AND ID <> CONNECTION_ID() LIMIT 1")
		[ -n "$id" ] && break
		i=$((i + 1))
		[ $i -lt 1200 ] || { echo "no statement like '$1' appeared" >&2; return 1; }
		sleep 0.05
	done
	my_root -e "KILL $id"
}

run_bg() {
	log=$1
	shift
	"$OSIRIS_BIN" "$@" >"$log" 2>&1 &
	bg=$!
}

elapsed_ok() {
	test $(($(date +%s) - $1)) -lt "$2"
}

# types_table: creates `src` holding every type the MySQL typemap covers, with edge values: the
# limits of each integer type (unsigned 64-bit max), DECIMAL(38,10), DATETIME and TIMESTAMP,
# TINYINT(1), BIT, 4-byte UTF-8, 1 MB of text, binary with NUL bytes, JSON, and a row of NULLs.
types_table() {
	my --default-character-set=utf8mb4 -e "
CREATE TABLE src (
  id INT PRIMARY KEY,
  ti TINYINT, ti_u TINYINT UNSIGNED, si SMALLINT, si_u SMALLINT UNSIGNED,
  mi MEDIUMINT, mi_u MEDIUMINT UNSIGNED, i INT, i_u INT UNSIGNED, bi BIGINT, bi_u BIGINT UNSIGNED,
  d DECIMAL(38,10), d2 DECIMAL(5,2) UNSIGNED, f FLOAT, dbl DOUBLE, b TINYINT(1),
  bit8 BIT(8), bit1 BIT(1),
  dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, da DATE, tm TIME(6), yr YEAR,
  js JSON, vc VARCHAR(100), ch CHAR(10), txt MEDIUMTEXT, vb VARBINARY(300), blb MEDIUMBLOB,
  en ENUM('small','large'), st SET('x','y','z')
) ENGINE=InnoDB;
SET time_zone = '+00:00';
INSERT INTO src VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  9999999999999999999999999999.9999999999, 999.99, 1.5, 1.7976931348623157e308, 1,
  b'10000001', b'1',
  '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '9999-12-31', '23:59:59.999999', 2155,
  '{\"k\": [1, \"ü\", null]}', '😀 ünïcödé ✓ \t tab', 'abc',
  REPEAT('0123456789abcdé\n', 61681), X'00FF000102', CONCAT(X'00', REPEAT(X'00FF', 1000), X'00'),
  'large', 'x,z'),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  -9999999999999999999999999999.9999999999, 0.01, -0.25, -2.2250738585072014e-308, 0,
  b'0', b'0',
  '1000-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', '00:00:00', 1901,
  '[]', '', '', '', X'', X'', 'small', ''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
}

# types_equal DST: the number of rows of src that DST holds unchanged (3 when the copy is exact),
# column by column with <=> (NULL-safe); TIMESTAMP is compared in UTC, as osiris writes it.
types_equal() {
	my -N -e "SET time_zone = '+00:00';
SELECT COUNT(*) FROM src s JOIN \`$1\` d ON d.id = s.id WHERE
  s.ti <=> d.ti AND s.ti_u <=> d.ti_u AND s.si <=> d.si AND s.si_u <=> d.si_u AND
  s.mi <=> d.mi AND s.mi_u <=> d.mi_u AND s.i <=> d.i AND s.i_u <=> d.i_u AND
  s.bi <=> d.bi AND s.bi_u <=> d.bi_u AND s.d <=> d.d AND s.d2 <=> d.d2 AND s.f <=> d.f AND
  s.dbl <=> d.dbl AND s.b <=> d.b AND s.bit8 + 0 <=> d.bit8 + 0 AND s.bit1 + 0 <=> d.bit1 + 0 AND
  s.dt <=> d.dt AND s.ts <=> d.ts AND s.da <=> d.da AND s.tm <=> d.tm AND s.yr <=> d.yr AND
  s.js <=> d.js AND BINARY s.vc <=> BINARY d.vc AND BINARY s.ch <=> BINARY d.ch AND
  MD5(s.txt) <=> MD5(d.txt) AND s.vb <=> d.vb AND s.blb <=> d.blb AND
  BINARY s.en <=> BINARY d.en AND BINARY s.st <=> BINARY d.st"
}
