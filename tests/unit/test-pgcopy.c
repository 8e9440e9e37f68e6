/* pgcopy.c: COPY text rows as the server writes them (NULL, escapes, empty values, bytea hex),
 * the PostgreSQL/DuckDB spelling fixes (years BC, interval signs) and the escaping of values sent
 * to COPY FROM STDIN. */
#include "../harness/tap.h"
#include "drivers/pgcopy.h"

static char *dup_row(const char *s)
{
    return strdup(s);
}

static bool field_is(const struct pgcopy_field *f, const char *want, size_t len)
{
    return f->data && f->len == len && memcmp(f->data, want, len) == 0;
}

int main(void)
{
    struct pgcopy_field f[4];

    char *row = dup_row("1\t\\N\t\ta\\tb\\nc\\\\d\\r\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 4) == 0, "a row of four fields decodes");
    ok(field_is(&f[0], "1", 1), "plain value");
    ok(f[1].data == NULL, "\\N is NULL");
    ok(field_is(&f[2], "", 0), "an empty field is the empty string, not NULL");
    ok(field_is(&f[3], "a\tb\nc\\d\r", 8), "escapes decoded: tab, newline, backslash, CR");
    free(row);

    row = dup_row("\\\\N\t\\101\\x42\\b\\f\\v\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 2) == 0, "escaped backslash before N");
    ok(field_is(&f[0], "\\N", 2), "\\\\N is the text \\N, not NULL");
    ok(field_is(&f[1], "AB\b\f\v", 5), "octal, hex and control escapes");
    free(row);

    row = dup_row("a\tb\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 3) == -1, "too few fields is an error");
    free(row);
    row = dup_row("a\tb\tc\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 2) == -1, "too many fields is an error");
    free(row);
    row = dup_row("a");
    ok(pgcopy_decode_row(row, 1, f, 1) == -1, "a row without its newline is an error");
    free(row);
    row = dup_row("\\N\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 1) == 0 && f[0].data == NULL, "a lone NULL");
    free(row);

    row = dup_row("\\\\x00ff41\t\\\\x\t\\\\xzz\n");
    ok(pgcopy_decode_row(row, strlen(row), f, 3) == 0, "bytea fields decode");
    ok(pgcopy_unhex(&f[0]) == 0 && field_is(&f[0],
                                            "\0\xff"
                                            "A",
                                            3),
       "bytea hex with a NUL byte");
    ok(pgcopy_unhex(&f[1]) == 0 && f[1].len == 0 && f[1].data, "empty bytea");
    ok(pgcopy_unhex(&f[2]) == -1, "bad hex is refused");
    free(row);

    char iv[] = "-1 years -2 mons +3 days -04:05:06.789";
    struct pgcopy_field i = { iv, strlen(iv) };
    pgcopy_interval_to_duckdb(&i);
    ok(field_is(&i, "-1 years -2 mons 3 days -04:05:06.789", 37), "interval '+' signs dropped");

    struct strbuf sb = STRBUF_INIT;
    char d1[] = "0044-03-15 BC", d2[] = "0044-03-15 10:00:00+00 BC", d3[] = "2024-01-01";
    struct pgcopy_field b1 = { d1, strlen(d1) }, b2 = { d2, strlen(d2) }, b3 = { d3, strlen(d3) };
    ok(pgcopy_bc_to_duckdb(&b1, &sb), "a date BC needs rewriting");
    is_str(strbuf_str(&sb), "0044-03-15 (BC)", "date BC in DuckDB's spelling");
    ok(pgcopy_bc_to_duckdb(&b2, &sb), "a timestamptz BC needs rewriting");
    is_str(strbuf_str(&sb), "0044-03-15 (BC) 10:00:00+00", "timestamptz BC in DuckDB's spelling");
    ok(!pgcopy_bc_to_duckdb(&b3, &sb), "a date AD is left alone");

    strbuf_reset(&sb);
    pgcopy_put_text(&sb, "a\tb\nc\\d\re\\N", 11);
    strbuf_addch(&sb, '|');
    pgcopy_put_null(&sb);
    strbuf_addch(&sb, '|');
    pgcopy_put_text(&sb, "plain", 5);
    is_str(strbuf_str(&sb), "a\\tb\\nc\\\\d\\re\\\\N|\\N|plain", "values escaped for COPY FROM");
    strbuf_reset(&sb);
    pgcopy_put_datetime(&sb, "0044-03-15 (BC) 10:00:00", 24);
    strbuf_addch(&sb, '|');
    pgcopy_put_datetime(&sb, "0044-03-15 (BC)", 15);
    strbuf_addch(&sb, '|');
    pgcopy_put_datetime(&sb, "2024-01-01 10:00:00+00", 22);
    is_str(strbuf_str(&sb), "0044-03-15 10:00:00 BC|0044-03-15 BC|2024-01-01 10:00:00+00",
           "DuckDB's years BC in PostgreSQL's spelling");
    strbuf_release(&sb);

    /* put_text writes into room it makes for the worst case: into an empty strbuf, after other
     * text, nothing at all, a value of only escapes, and not past a strbuf's maximum. */
    struct strbuf e = STRBUF_INIT;
    pgcopy_put_text(&e, "", 0);
    ok(e.buf && e.len == 0 && e.buf[0] == '\0', "an empty value into an empty strbuf");
    char big[5000];
    memset(big, '\n', sizeof(big));
    strbuf_adds(&e, "x");
    pgcopy_put_text(&e, big, sizeof(big));
    ok(e.len == 1 + 2 * sizeof(big) && e.buf[e.len] == '\0' && memcmp(e.buf, "x\\n\\n", 5) == 0 &&
           memcmp(e.buf + e.len - 2, "\\n", 2) == 0,
       "5000 newlines after other text: 10000 bytes of escapes, NUL-terminated");
    strbuf_release(&e);
    struct strbuf m;
    strbuf_init(&m, 8);
    pgcopy_put_text(&m, "abc", 3);
    pgcopy_put_text(&m, "defg", 4);
    ok(m.len == 7 && !m.toobig && strcmp(strbuf_str(&m), "abcdefg") == 0,
       "a value that fits a strbuf's maximum, if not twice over, is added");
    pgcopy_put_text(&m, "\t", 1);
    ok(m.len == 7 && m.toobig && strcmp(strbuf_str(&m), "abcdefg") == 0,
       "an escape that would pass the maximum is dropped");
    strbuf_release(&m);
    return done_testing();
}
