/* pgbinary.c: which DuckDB types have a binary encoding into which PostgreSQL types, and the exact
 * bytes of each encoder for edge values (integer limits, numeric digits and display scale,
 * infinities, the epoch shift of dates and timestamps, NaN, UUID byte order), read from a real
 * data plane as the writer reads them. No server: tests/cases/3000-postgres/3060-binary-copy.case
 * checks the server reads them as the text format's values. */
#include "../harness/tap.h"
#include "drivers/pgbinary.h"
#include "engine/dataplane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_type OIDs */
enum {
    BOOL = 16,
    BYTEA = 17,
    INT8 = 20,
    INT2 = 21,
    INT4 = 23,
    TEXT = 25,
    FLOAT4 = 700,
    FLOAT8 = 701,
    DATE = 1082,
    TIME = 1083,
    TIMESTAMP = 1114,
    TIMESTAMPTZ = 1184,
    INTERVAL = 1186,
    NUMERIC = 1700,
    UUID = 2950,
    JSONB = 3802,
};

static struct dataplane *dp;

/* The field (length and bytes, in hex) the encoder for oid writes for the one value of expr, a
 * DuckDB expression; "none" when there is no encoder, "refused" when it has no binary form. */
static const char *field(const char *expr, unsigned oid, bool as_text)
{
    static char hex[512];
    struct arena a = ARENA_INIT;
    struct err err = ERR_INIT;
    struct dp_type *types;
    size_t n;
    snprintf(hex, sizeof(hex), "error");
    if (dataplane_column_types(dp, arena_printf(&a, "(SELECT %s AS v)", expr), &a, &types, &n,
                               &err) != 0 ||
        n != 1) {
        diag("%s: %s", expr, err.msg);
        arena_release(&a);
        return hex;
    }
    struct pgbinary_column col = { .enc = pgbinary_encoder(&types[0], oid, as_text),
                                   .type = types[0] };
    if (!col.enc) {
        arena_release(&a);
        return "none";
    }
    bool text = pgbinary_reads_text(col.enc);
    if (text)
        col.type = (struct dp_type){ .kind = DP_VARCHAR };
    struct dp_cursor *c = dataplane_cursor_open(
        dp, arena_printf(&a, text ? "SELECT CAST((%s) AS VARCHAR)" : "SELECT %s", expr), &err);
    struct strbuf sb = STRBUF_INIT;
    size_t bad = 99;
    if (c && dataplane_cursor_next(c, &err) == 1) {
        dataplane_cursor_vector(c, 0, &col.v);
        if (pgbinary_put_row(&sb, &col, 1, 0, &bad) != 0) {
            snprintf(hex, sizeof(hex), bad == 0 && sb.len == 0 ? "refused" : "bad refusal");
        } else {
            /* Past the row's field count, which must be 1. */
            size_t k = 0;
            if (sb.len < 2 || sb.buf[0] != 0 || sb.buf[1] != 1)
                k += (size_t)snprintf(hex, sizeof(hex), "bad count ");
            for (size_t i = 2; i < sb.len && k + 3 < sizeof(hex); i++)
                k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02x",
                                      (unsigned)(unsigned char)sb.buf[i]);
            hex[k] = '\0';
        }
    } else {
        diag("%s: %s", expr, err.msg);
    }
    strbuf_release(&sb);
    dataplane_cursor_close(c);
    arena_release(&a);
    return hex;
}

static const struct {
    const char *expr;
    unsigned oid;
    bool as_text;
    const char *want;
} cases[] = {
    /* integers, widened but never narrowed (the text input range-checks) */
    { "CAST(-1 AS TINYINT)", INT8, false, "00000008ffffffffffffffff" },
    { "CAST(-32768 AS SMALLINT)", INT2, false, "000000028000" },
    { "CAST(-2147483648 AS INTEGER)", INT4, false, "0000000480000000" },
    { "CAST(-9223372036854775808 AS BIGINT)", INT8, false, "000000088000000000000000" },
    { "CAST(255 AS UTINYINT)", INT2, false, "0000000200ff" },
    { "CAST(4294967295 AS UINTEGER)", INT8, false, "0000000800000000ffffffff" },
    { "CAST(1 AS INTEGER)", INT2, false, "none" },
    { "CAST(1 AS BIGINT)", INT4, false, "none" },
    { "CAST(1 AS UBIGINT)", INT8, false, "none" },
    { "CAST(NULL AS INTEGER)", INT4, false, "ffffffff" },
    { "true", BOOL, false, "0000000101" },
    { "false", BOOL, false, "0000000100" },
    /* numeric: digit count, weight, sign, display scale, base-10000 digits */
    { "CAST(123.45 AS DECIMAL(5,2))", NUMERIC, false, "0000000c0002000000000002007b1194" },
    { "CAST(-0.0001 AS DECIMAL(9,4))", NUMERIC, false, "0000000a0001ffff400000040001" },
    { "CAST(0 AS DECIMAL(4,1))", NUMERIC, false, "000000080000000000000001" },
    { "CAST(12345678.994999 AS DECIMAL(18,6))", NUMERIC, false,
      "00000010000400010000000604d2162e26dd26ac" },
    { "CAST(0.0000000001 AS DECIMAL(38,10))", NUMERIC, false, "0000000a0001fffd0000000a0064" },
    { "CAST(-9999999999999999999999999999.9999999999 AS DECIMAL(38,10))", NUMERIC, false,
      "0000001c000a00064000000a270f270f270f270f270f270f270f270f270f26ac" },
    { "CAST(10000 AS INTEGER)", NUMERIC, false, "0000000a00010001000000000001" },
    { "CAST(18446744073709551615 AS UBIGINT)", NUMERIC, false,
      "00000012000500040000000007341a5802e103bb064f" },
    { "CAST(-170141183460469231731687303715884105728 AS HUGEINT)", NUMERIC, false,
      "0000001c000a00094000000000aa0583209a01d5090d0c601c871bf620da1660" },
    { "CAST(340282366920938463463374607431768211455 AS UHUGEINT)", NUMERIC, false,
      "0000001c000a00090000000001540b071a2403aa121a18c111ff10dd1aa505af" },
    /* floats: the bits, one NaN, no widening (FLOAT's text differs from its double) */
    { "CAST('-0.0' AS DOUBLE)", FLOAT8, false, "000000088000000000000000" },
    { "-CAST('nan' AS DOUBLE)", FLOAT8, false, "000000087ff8000000000000" },
    { "CAST('-inf' AS DOUBLE)", FLOAT8, false, "00000008fff0000000000000" },
    { "CAST(0.1 AS FLOAT)", FLOAT4, false, "000000043dcccccd" },
    { "-CAST('nan' AS FLOAT)", FLOAT4, false, "000000047fc00000" },
    { "CAST(0.1 AS FLOAT)", FLOAT8, false, "none" },
    /* dates and times: PostgreSQL counts from 2000-01-01, infinities are its extremes */
    { "DATE '2000-01-01'", DATE, false, "0000000400000000" },
    { "DATE '1970-01-01'", DATE, false, "00000004ffffd533" },
    { "DATE 'infinity'", DATE, false, "000000047fffffff" },
    { "DATE '-infinity'", DATE, false, "0000000480000000" },
    { "TIMESTAMP '2000-01-01 00:00:00.000001'", TIMESTAMP, false, "000000080000000000000001" },
    { "TIMESTAMP '1970-01-01 00:00:00'", TIMESTAMPTZ, false, "00000008fffca2fec4c82000" },
    { "TIMESTAMPTZ '2000-01-01 00:00:01+00'", TIMESTAMP, false, "0000000800000000000f4240" },
    { "TIMESTAMP 'infinity'", TIMESTAMP, false, "000000087fffffffffffffff" },
    { "TIMESTAMP '-infinity'", TIMESTAMP, false, "000000088000000000000000" },
    { "TIMESTAMP '290309-12-22 (BC) 00:00:00'", TIMESTAMP, false, "refused" },
    { "TIME '24:00:00'", TIME, false, "00000008000000141dd76000" },
    { "DATE '2000-01-01'", TIMESTAMP, false, "none" },
    { "INTERVAL '1 month 2 days 3 microseconds'", INTERVAL, false,
      "0000001000000000000000030000000200000001" },
    { "to_microseconds(9000000000000000000)", INTERVAL, false, "refused" },
    /* UUIDs big-endian, DuckDB's flipped top bit undone */
    { "UUID '00000000-0000-0000-0000-000000000001'", UUID, false,
      "0000001000000000000000000000000000000001" },
    { "UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", UUID, false,
      "00000010a0eebc999c0b4ef8bb6d6bb9bd380a11" },
    /* bytes and text */
    { "from_hex('00ff')", BYTEA, false, "0000000200ff" },
    { "'é'", TEXT, true, "00000002c3a9" },
    { "'{\"a\": 1}'", JSONB, true, "00000009017b2261223a20317d" },
    { "42", TEXT, true, "000000023432" },
    { "CAST(1.5 AS DECIMAL(3,1))", TEXT, true, "00000003312e35" },
    { "'1'", INT4, true, "none" },
    { "DATE '2000-01-01'", TEXT, false, "none" },
};

int main(void)
{
    char dir[] = "/tmp/osiris-test-pgbinary-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char scratch[300];
    snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
    struct err err = ERR_INIT;
    dp = dataplane_open(scratch, "256MB", 1, &err);
    ok(dp != NULL, "open: %s", err.msg);

    struct strbuf sb = STRBUF_INIT;
    pgbinary_put_header(&sb);
    ok(sb.len == 19 && memcmp(sb.buf, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19) == 0,
       "header: signature, no flags, no extension");
    strbuf_reset(&sb);
    pgbinary_put_trailer(&sb);
    ok(sb.len == 2 && (unsigned char)sb.buf[0] == 0xff && (unsigned char)sb.buf[1] == 0xff,
       "trailer: -1");
    strbuf_release(&sb);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_str(field(cases[i].expr, cases[i].oid, cases[i].as_text), cases[i].want, "%s into %u",
               cases[i].expr, cases[i].oid);

    dataplane_close(dp);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? done_testing() : 1;
}
