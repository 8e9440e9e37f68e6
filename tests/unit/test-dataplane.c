/* dataplane.c: SQL execution with DuckDB's messages, counts, describe, streaming cursors over
 * more rows than one chunk, quoting, and cleanup of the scratch directory. */
#include "../harness/tap.h"
#include "engine/dataplane.h"
#include "files.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    char dir[] = "/tmp/osiris-test-dp-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char scratch[300];
    snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
    struct err err = ERR_INIT;
    struct dataplane *dp = dataplane_open(scratch, "256MB", 1, &err);
    ok(dp != NULL, "open: %s", err.msg);
    ok(dataplane_exec(dp,
                      "CREATE TABLE t AS SELECT range AS id, 'v' || range AS s, "
                      "CASE WHEN range % 3 = 0 THEN NULL ELSE range * 1.5 END AS d "
                      "FROM range(5000)",
                      &err) == 0,
       "create table");
    int64_t rows = 0;
    ok(dataplane_count(dp, "t", &rows, &err) == 0 && rows == 5000, "count 5000: %lld",
       (long long)rows);

    struct arena a = ARENA_INIT;
    struct dp_columns cols;
    ok(dataplane_describe(dp, "t", &a, &cols, &err) == 0 && cols.n == 3, "describe");
    is_str(cols.names[1], "s", "column name");
    is_str(cols.types[0], "BIGINT", "column type");

    struct dp_cursor *c = dataplane_cursor_open(
        dp, "SELECT CAST(id AS VARCHAR), s, CAST(d AS VARCHAR) FROM t ORDER BY id", &err);
    ok(c != NULL, "cursor");
    size_t total = 0, chunks = 0, nulls = 0;
    bool texts_ok = true;
    int r;
    while ((r = dataplane_cursor_next(c, &err)) == 1) {
        chunks++;
        for (size_t i = 0; i < dataplane_cursor_rows(c); i++, total++) {
            size_t len;
            const char *s = dataplane_cursor_text(c, 1, i, &len);
            char want[32];
            snprintf(want, sizeof(want), "v%zu", total);
            texts_ok = texts_ok && s && len == strlen(want) && strncmp(s, want, len) == 0;
            nulls += dataplane_cursor_text(c, 2, i, &len) == NULL;
        }
    }
    ok(r == 0, "cursor ends cleanly");
    is_int(total, 5000, "all rows streamed");
    ok(chunks > 1, "in several chunks (%zu)", chunks);
    ok(texts_ok, "long and inlined strings read back");
    is_int(nulls, 1667, "NULLs reported as NULL");
    is_int(dataplane_cursor_columns(c), 3, "column count");
    dataplane_cursor_close(c);

    ok(dataplane_exec(dp, "SELECT * FROM missing_table", &err) != 0, "bad SQL fails");
    like(err.msg, "missing_table", "DuckDB's message is kept");
    is_int(err.code, ERR_DATA, "as ERR_DATA");
    err_clear(&err);
    ok(dataplane_cursor_open(dp, "SELEC 1", &err) == NULL, "bad cursor SQL fails");
    like(err.msg, "syntax error", "syntax error reported");
    err_clear(&err);

    /* The appender: text into typed columns, bytes, NULL, and a value that does not convert. */
    static const char *const names[] = { "u", "d", "ts", "b", "n" };
    static const char *const types[] = { "UBIGINT", "DECIMAL(38,10)", "TIMESTAMP", "BLOB",
                                         "INTEGER" };
    struct dp_columns tc = { 5, (const char **)names, (const char **)types };
    struct dp_appender *ap = dataplane_appender_open(dp, "\"app\"\"x\"", &tc, &err);
    ok(ap != NULL, "appender on a new table with a quoted name: %s", err.msg);
    static const char *const row[] = { "18446744073709551615",
                                       "1234567890123456789012345678.0123456789",
                                       "2024-02-29 23:59:59.123456" };
    bool appended = true;
    for (size_t i = 0; i < 3; i++)
        appended = appended && dataplane_append_text(ap, row[i], strlen(row[i]), &err) == 0;
    appended = appended && dataplane_append_blob(ap, "a\0b", 3, &err) == 0 &&
               dataplane_append_null(ap, &err) == 0 && dataplane_append_end_row(ap, &err) == 0;
    ok(appended, "a row of text, bytes and NULL: %s", err.msg);
    is_int(dataplane_appender_rows(ap), 1, "one row appended");
    /* Values are cast a chunk at a time: a bad one fails the flush (or the append that fills a
     * chunk), still naming its row and column. */
    ok(dataplane_appender_flush(ap, &err) == 0, "the row is flushed: %s", err.msg);
    appended = dataplane_append_text(ap, "x", 1, &err) == 0;
    for (size_t i = 1; i < 5; i++)
        appended = appended && dataplane_append_null(ap, &err) == 0;
    ok(appended && dataplane_append_end_row(ap, &err) == 0, "a bad value is staged: %s", err.msg);
    ok(dataplane_appender_flush(ap, &err) != 0, "text that is no UBIGINT fails the flush");
    like(err.msg, "row 2, column 'u' (UBIGINT): Could not convert string 'x'",
         "naming row, column and type");
    err_clear(&err);
    ok(dataplane_append_text(ap, "1", 1, &err) == 0 && dataplane_append_end_row(ap, &err) != 0,
       "a row with too few values fails");
    like(err.msg, "a row ended early at row 3, column 2 of 5", "saying where");
    err_clear(&err);
    dataplane_appender_close(ap, NULL);

    /* The rejected value in the third chunk: its row number counts the chunks before. */
    static const char *const iname[] = { "i" }, *const itype[] = { "INTEGER" };
    struct dp_columns ic = { 1, (const char **)iname, (const char **)itype };
    ap = dataplane_appender_open(dp, "ints", &ic, &err);
    int rc = ap ? 0 : -1;
    char num[32];
    for (int i = 1; rc == 0 && i <= 5000; i++) {
        int n = i == 4321 ? snprintf(num, sizeof(num), "99999999999")
                          : snprintf(num, sizeof(num), "%d", i);
        rc = dataplane_append_text(ap, num, (size_t)n, &err);
        if (rc == 0)
            rc = dataplane_append_end_row(ap, &err);
    }
    ok(rc != 0 || dataplane_appender_close(ap, &err) != 0, "an INTEGER out of range fails");
    like(err.msg, "row 4321, column 'i' (INTEGER)", "at its row");
    err_clear(&err);
    if (rc != 0)
        dataplane_appender_close(ap, NULL);
    c = dataplane_cursor_open(
        dp,
        "SELECT u::VARCHAR || '|' || d::VARCHAR || '|' || ts::VARCHAR || "
        "'|' || hex(b) || '|' || coalesce(n::VARCHAR, 'null') FROM \"app\"\"x\"",
        &err);
    ok(c && dataplane_cursor_next(c, &err) == 1 && dataplane_cursor_rows(c) == 1,
       "the appended row reads back");
    size_t len = 0;
    const char *back = c ? dataplane_cursor_text(c, 0, 0, &len) : NULL;
    is_str(back ? arena_strndup(&a, back, len) : "",
           "18446744073709551615|1234567890123456789012345678.0123456789|2024-02-29 "
           "23:59:59.123456|610062|null",
           "every value exact");
    dataplane_cursor_close(c);

    is_str(dataplane_ident(&a, "we\"ird"), "\"we\"\"ird\"", "identifier quoting");
    is_str(dataplane_literal(&a, "it's"), "'it''s'", "literal quoting");
    arena_release(&a);

    dataplane_close(dp);
    ok(!files_exists(scratch), "scratch directory removed at close");
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? done_testing() : 1;
}
