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
/* Changes the memory limit (DuckDB syntax) from now on; tables beyond it spill. 1 when it changed,
 * 0 when it was the limit already, -1 on error. */
int dataplane_set_memory_limit(struct dataplane *dp, const char *limit, struct err *err);
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

/* ==== Values as DuckDB stores them ====
 * For a writer that encodes values itself (postgres.writer's binary COPY) rather than reading
 * DuckDB's text of them, which costs more than the encoding: the column types of a query, and
 * per chunk of a cursor over it each column's array of values and its validity mask. A cursor
 * column of any type is read this way (dataplane_cursor_text needs VARCHAR).
 *
 * The array's element, by kind:
 *   BOOLEAN uint8_t (0, 1); TINYINT .. BIGINT int8_t .. int64_t; UTINYINT .. UBIGINT uint8_t ..
 *   uint64_t; HUGEINT struct dp_hugeint; UHUGEINT struct dp_uhugeint; FLOAT float; DOUBLE double;
 *   DECIMAL the value times 10^scale, as int16_t, int32_t, int64_t or struct dp_hugeint (by
 *   `bytes`: 2, 4, 8, 16); DATE int32_t days since 1970-01-01, ±infinity ±INT32_MAX; TIME int64_t
 *   µs since midnight (24:00:00 is 86400000000); TIMESTAMP, TIMESTAMP_TZ int64_t µs since
 *   1970-01-01 00:00:00 UTC, ±infinity ±INT64_MAX; INTERVAL struct dp_interval; UUID struct
 *   dp_hugeint of the 16 bytes read big-endian with the top bit flipped (so that UUIDs sort as
 *   their text); VARCHAR, BLOB: read with dataplane_vector_string(). */
enum dp_kind {
    DP_OTHER, /* a type not listed here (ENUM, LIST, STRUCT, TIME WITH TIME ZONE, ...) */
    DP_BOOLEAN,
    DP_TINYINT,
    DP_SMALLINT,
    DP_INTEGER,
    DP_BIGINT,
    DP_HUGEINT,
    DP_UTINYINT,
    DP_USMALLINT,
    DP_UINTEGER,
    DP_UBIGINT,
    DP_UHUGEINT,
    DP_FLOAT,
    DP_DOUBLE,
    DP_DECIMAL,
    DP_DATE,
    DP_TIME,
    DP_TIMESTAMP,
    DP_TIMESTAMP_TZ,
    DP_INTERVAL,
    DP_UUID,
    DP_VARCHAR, /* also JSON, which is a VARCHAR to DuckDB */
    DP_BLOB,
};

struct dp_type {
    enum dp_kind kind;
    uint8_t width, scale; /* DECIMAL(width,scale) */
    uint8_t bytes;        /* DECIMAL: bytes per value (2, 4, 8, 16) */
};

struct dp_hugeint {
    uint64_t lower;
    int64_t upper; /* the value is upper * 2^64 + lower */
};
struct dp_uhugeint {
    uint64_t lower, upper;
};
struct dp_interval {
    int32_t months, days;
    int64_t micros;
};

/* The types of the columns of a relation or query, without running it: *n of them in *types
 * (in arena a). */
int dataplane_column_types(struct dataplane *dp, const char *sql_or_relation, struct arena *a,
                           struct dp_type **types, size_t *n, struct err *err);

/* A column of the cursor's current chunk: valid until the next dataplane_cursor_next(). */
struct dp_vector {
    const void *data;         /* the array of values, one per row of the chunk */
    const uint64_t *validity; /* bit row % 64 of word row / 64 set: not NULL; NULL: no NULLs */
};
void dataplane_cursor_vector(const struct dp_cursor *c, size_t col, struct dp_vector *out);

static inline bool dp_vector_valid(const struct dp_vector *v, size_t row)
{
    return !v->validity || (v->validity[row / 64] >> (row % 64) & 1);
}

/* A VARCHAR or BLOB value of a vector (not NUL-terminated); *len gets its length. */
const char *dataplane_vector_string(const struct dp_vector *v, size_t row, size_t *len);

/* ==== Chunks a caller owns ====
 * The chunks of a cursor handed over rather than replaced at the next fetch, so one thread can
 * fetch (DuckDB's scan runs in the fetching thread) while another reads the chunk before; their
 * columns read as dp_vectors. */
struct dp_chunk; /* up to 2048 rows of a cursor's result */
/* The cursor's next chunk, which the caller frees with dataplane_chunk_free(): 1 and *out set,
 * 0 at the end, -1 on error. Not mixed with dataplane_cursor_next() on one cursor. One thread
 * at a time fetches from a cursor; its chunks may be read and freed on any thread. */
int dataplane_cursor_fetch(struct dp_cursor *c, struct dp_chunk **out, struct err *err);
size_t dataplane_chunk_rows(const struct dp_chunk *ch);
/* Column col of the chunk, laid out as for dataplane_cursor_vector(); valid until it is freed. */
void dataplane_chunk_vector(const struct dp_chunk *ch, size_t col, struct dp_vector *out);
/* Appends to out DuckDB's own text (CAST AS VARCHAR) of the value at row of DATE or TIMESTAMP
 * column col, for values a caller does not format itself (infinity, years outside 1 to 9999);
 * -1 (ERR_INTERNAL) for other types. */
int dataplane_chunk_cast_text(const struct dp_chunk *ch, size_t col, size_t row, struct strbuf *out,
                              struct err *err);
void dataplane_chunk_free(struct dp_chunk *ch); /* NULL is fine */

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
