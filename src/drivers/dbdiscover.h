/* What `osiris discovery run @family.alias` shows of a database: its tables and views, each with
 * its columns (the database's type and the DuckDB type an extractor would give the column),
 * primary key, exact row count and a few sample rows. One function per family, each in the file
 * of its dialect (mysqldiscover.c, pgdiscover.c, posthog_extractor.c); the CLI prints the
 * result.
 *
 * The result (a new reference) is
 *   {"database": NAME, "schema": NAME (PostgreSQL only), "tables": [
 *     {"name", "type": "table"|"view", "row_count", "primary_key": [column...],
 *      "columns": [{"name", "type", "duckdb_type", "nullable", "primary_key"}],
 *      "sample": [[value...]...]}]}
 * Sample values are text as the database prints them (NULL is null; bytes are "\\x" and hex);
 * invalid UTF-8 is replaced (JSON holds only text). Tables are sorted by name. */
#ifndef OSIRIS_DBDISCOVER_H
#define OSIRIS_DBDISCOVER_H

#include "err.h"
#include "json.h"

struct dbdiscover_opts {
    long samples;       /* sample rows per table (0: none) */
    const char *schema; /* PostgreSQL schema; NULL means public */
    int timeout_s;      /* to connect, and for each query */
};

/* A resolved mysql connection; NULL with err ("<category>: <message>", never the password). */
json_t *mysqldiscover_run(const json_t *connection, const struct dbdiscover_opts *o,
                          struct err *err);

/* A resolved postgres or supabase connection (family says which: it decides the connection
 * forms, as in pgconn.h). */
json_t *pgdiscover_run(const json_t *connection, const char *family,
                       const struct dbdiscover_opts *o, struct err *err);

/* A resolved posthog connection: the data types posthog.extractor reads (events, persons) as
 * tables: their HogQL columns (ClickHouse type, the DuckDB type the extractor gives them), the
 * row count (SELECT count()) and the newest rows as samples. */
json_t *posthogdiscover_run(const json_t *connection, const struct dbdiscover_opts *o,
                            struct err *err);

#endif
