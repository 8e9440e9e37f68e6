/* The data plane: one DuckDB database per run, the only file besides cli/version.c that includes
 * duckdb.h. Step outputs are tables in it; drivers read and write them through SQL and streaming
 * cursors, so no driver ever holds a whole table in its own memory.
 *
 * The database is in memory, with a memory_limit and DuckDB's temp_directory in the run's scratch
 * directory (deleted at close): a table larger than the limit spills there instead of growing the
 * process, so peak memory is bounded by memory_limit (plus DuckDB's own overhead), not by row
 * count. In memory rather than a database file: step outputs are read once or twice and dropped,
 * and a file database spends ~40% of a CSV extraction compressing blocks for storage (see
 * docs/benchmarks.md). */
#ifndef OSIRIS_DATAPLANE_H
#define OSIRIS_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

struct dataplane; /* opaque */

/* Opens a database under scratch_dir (created as needed). memory_limit is DuckDB syntax ("1GB")
 * or NULL for DuckDB's default (80% of RAM); threads 0 = DuckDB's default. Sets TZ=UTC for the
 * whole process: this DuckDB build has no ICU to set a time zone per database, and TIMESTAMPTZ
 * values rendered as text must not depend on the machine (osiris formats times in UTC anyway). */
struct dataplane *dataplane_open(const char *scratch_dir, const char *memory_limit, int threads,
                                 struct err *err);
/* Closes the database and removes its files. NULL is fine. */
void dataplane_close(struct dataplane *dp);

/* Runs SQL that returns no rows the caller needs (CREATE, DROP, COPY ...). Errors carry DuckDB's
 * message (ERR_DATA). */
int dataplane_exec(struct dataplane *dp, const char *sql, struct err *err);

/* Rows of a table or view. */
int dataplane_count(struct dataplane *dp, const char *relation, int64_t *rows, struct err *err);

/* Column names and DuckDB type names ("BIGINT", "DECIMAL(18,2)", "VARCHAR", ...) of a relation or
 * query, in order. All strings are in arena a. */
struct dp_columns {
    size_t n;
    const char **names;
    const char **types;
};
int dataplane_describe(struct dataplane *dp, const char *sql_or_relation, struct arena *a,
                       struct dp_columns *out, struct err *err);

/* A streaming cursor over a query whose columns are all VARCHAR (cast them in the SQL): rows
 * arrive a chunk (up to 2048 rows) at a time, so memory stays bounded however big the result.
 * The caller owns the cursor and closes it with dataplane_cursor_close(). */
struct dp_cursor;
struct dp_cursor *dataplane_cursor_open(struct dataplane *dp, const char *sql, struct err *err);
/* 1 when a chunk is ready, 0 at the end, -1 on error. */
int dataplane_cursor_next(struct dp_cursor *c, struct err *err);
size_t dataplane_cursor_rows(const struct dp_cursor *c);    /* rows in the current chunk */
size_t dataplane_cursor_columns(const struct dp_cursor *c); /* columns of the result */
/* The text of a cell of the current chunk, or NULL for SQL NULL; *len gets its length. Valid
 * until the next call to dataplane_cursor_next(). */
const char *dataplane_cursor_text(const struct dp_cursor *c, size_t col, size_t row, size_t *len);
void dataplane_cursor_close(struct dp_cursor *c);

/* ==== Appending rows ====
 * The extractors' fast path into a new table (DuckDB's Appender): values are appended column by
 * column, a row at a time; text is converted to the column's type by DuckDB's cast rules
 * ("18446744073709551615" into UBIGINT, "2024-01-01 10:00:00" into TIMESTAMP, "\x00" into BLOB),
 * and a value that does not convert fails naming the row and column. */
struct dp_appender;

/* Creates table (a quoted identifier, like driver_ctx.output) with the columns of cols (names,
 * DuckDB types) and opens an appender on it. The caller owns the appender and closes it with
 * dataplane_appender_close(). */
struct dp_appender *dataplane_appender_open(struct dataplane *dp, const char *table,
                                            const struct dp_columns *cols, struct err *err);
int dataplane_append_text(struct dp_appender *ap, const char *s, size_t len, struct err *err);
int dataplane_append_blob(struct dp_appender *ap, const void *p, size_t len, struct err *err);
int dataplane_append_null(struct dp_appender *ap, struct err *err);
int dataplane_append_end_row(struct dp_appender *ap, struct err *err);
/* Rows appended so far. */
int64_t dataplane_appender_rows(const struct dp_appender *ap);
/* Moves the rows buffered so far into the table, so the appender holds no more than the rows
 * appended since (the extractors' batch_size); -1 (ERR_DATA) when a buffered value is rejected. */
int dataplane_appender_flush(struct dp_appender *ap, struct err *err);
/* Flushes what is buffered and frees the appender (NULL is fine); -1 when the flush failed. A
 * failed extraction closes with err already set: the first error wins. */
int dataplane_appender_close(struct dp_appender *ap, struct err *err);

/* SQL quoting: "ident" with doubled quotes, 'literal' with doubled quotes; in arena a. */
char *dataplane_ident(struct arena *a, const char *name);
char *dataplane_literal(struct arena *a, const char *text);

const char *dataplane_library_version(void);

#endif
