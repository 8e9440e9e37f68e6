/* dataplane.c: SQL execution with DuckDB's messages, counts, describe, streaming cursors over
 * more rows than one chunk, quoting, and cleanup of the scratch directory. */
#include "../harness/tap.h"
#include "engine/dataplane.h"
#include "files.h"

#include <stdlib.h>

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

    is_str(dataplane_ident(&a, "we\"ird"), "\"we\"\"ird\"", "identifier quoting");
    is_str(dataplane_literal(&a, "it's"), "'it''s'", "literal quoting");
    arena_release(&a);

    dataplane_close(dp);
    ok(!files_exists(scratch), "scratch directory removed at close");
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? done_testing() : 1;
}
