/* PostgreSQL connections for the postgres_extractor and postgres_writer drivers (components
 * postgres.* and supabase.*), and for `osiris connections doctor`: the one place that turns an
 * osiris connection into libpq parameters, starts transactions with the session settings the
 * drivers rely on, and turns libpq and server errors into one-line messages with a category.
 *
 * Messages never contain the connection's password or DSN: libpq does not echo them, every
 * message is scrubbed of both anyway, and a DSN libpq cannot parse gets a message of our own,
 * since libpq's quotes the text around the fault (maybe part of a password). */
#ifndef OSIRIS_PGCONN_H
#define OSIRIS_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "driver.h"
#include "err.h"
#include "json.h"

/* What went wrong, as `connections doctor` and error messages name it. */
enum pgconn_category {
    PGCAT_NONE,       /* no error */
    PGCAT_AUTH,       /* password, role, pg_hba.conf (SQLSTATE class 28) */
    PGCAT_PERMISSION, /* insufficient privilege (42501) */
    PGCAT_NETWORK,    /* refused, unreachable, unknown host, connection lost (class 08, 57P0x) */
    PGCAT_TIMEOUT,    /* connect_timeout, statement_timeout, lock timeout (57014, 55P03) */
    PGCAT_CONFIG,     /* the connection is incomplete or names a missing database (3D000) */
    PGCAT_QUERY,      /* the SQL is wrong: syntax, unknown table or column (class 42, 0A, 3F) */
    PGCAT_DATA,       /* a value does not fit or violates a constraint (class 22, 23, 21) */
    PGCAT_UNKNOWN,
};

/* "auth", "permission", "network", "timeout", "config", "query", "data", "unknown" ("" for
 * PGCAT_NONE). Static. */
const char *pgconn_category_name(enum pgconn_category c);

/* Where to connect and how. */
struct pgconn_options {
    const json_t *connection; /* the resolved connection's fields; borrowed, may be NULL */
    const json_t *step;       /* the step's config, whose connection fields (host, port, database,
                                 user, password, sslmode, url, project_id) win over the
                                 connection's; borrowed, may be NULL */
    const char *family;       /* "postgres" or "supabase" (derives the host from url/project_id
                                 and names the connection in messages) */
    const char *application_name; /* pg_stat_activity.application_name, e.g. "osiris load" */
    int connect_timeout;          /* seconds (libpq waits at least 2) */
};

/* An open connection. Everything lives in the arena given to pgconn_open(). */
struct pgconn {
    PGconn *conn;                  /* open; PQfinish() runs when the arena is released */
    const char *family;            /* for messages */
    const char *where;             /* "host:port" as libpq connected, for messages */
    const char *statement_timeout; /* the connection's statement_timeout as PostgreSQL reads it
                                      ("30s", "500ms"), or NULL: none */
    const char *secrets[4];        /* DSN, the DSN's password, password, NULL-terminated:
                                      scrubbed from every message, however short */
    char fatal[256];     /* the last FATAL the server sent outside a result (it arrives as a
                            notice when the backend is terminated mid-COPY), or "" */
    char fatal_state[6]; /* its SQLSTATE */
};

/* Connects. The connection is the first of these the merged fields give:
 *   1. pg_dsn or dsn: a libpq connection string (key=value or a postgresql:// URI); any
 *      host/port/database/user/password/sslmode fields given as well override its parts;
 *   2. host, port, database, user, password, sslmode (database and user required);
 *   3. family "supabase" only: url https://<ref>.supabase.co (or project_id <ref>) plus
 *      password: host db.<ref>.supabase.co, port 5432, database and user postgres,
 *      sslmode=require, each unless given.
 * A supabase connection with none of these (the REST API's url + key) fails with a message
 * saying what to add. Always: client_encoding UTF8, the application name, connect_timeout and
 * TCP keepalives (a dead server is noticed within about a minute). A database field is only
 * ever a name (libpq expands a connection string only from the DSN). The optional connection
 * field statement_timeout (a number of seconds, 1.5 or "1.5" too, or PostgreSQL's syntax:
 * "500ms", "5min") is kept for pgconn_begin().
 * Errors: ERR_DRIVER (ERR_TIMEOUT for a timeout, ERR_INPUT for an incomplete connection), one
 * line: "postgres connection to 127.0.0.1:5432 failed (auth): password authentication failed
 * for user \"osiris\"". NULL on failure. */
struct pgconn *pgconn_open(struct arena *a, const struct pgconn_options *o, struct err *err);

/* pgconn_open() for a driver's step: ctx's resolved connection with the step's config as
 * overrides, the family from the component's name ("supabase.writer" → "supabase"), application
 * name "osiris <step id>" (how pg_stat_activity shows the step), in ctx->arena. */
struct pgconn *pgconn_open_step(struct driver_ctx *ctx, int connect_timeout, struct err *err);

/* A quoted identifier ("name", inner quotes doubled), in arena a. */
const char *pgconn_ident(struct arena *a, const char *name);

/* BEGIN [READ ONLY], then the session settings every driver reads and writes values with, for
 * this transaction only (SET LOCAL, so they also hold behind a transaction-mode pooler):
 * TimeZone UTC, DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, bytea_output hex,
 * and statement_timeout when the connection sets one. */
int pgconn_begin(struct pgconn *c, bool read_only, struct err *err);

/* COMMIT; a failure (the server may refuse at commit time) is an error like any other. */
int pgconn_commit(struct pgconn *c, struct err *err);

/* Runs one statement with text parameters (params may be NULL when nparams is 0) and returns its
 * result (caller PQclear()s it), which is PGRES_COMMAND_OK or PGRES_TUPLES_OK; NULL with err
 * ("<what> failed (<category>): <message>") otherwise. */
PGresult *pgconn_query(struct pgconn *c, const char *what, const char *sql, int nparams,
                       const char *const *params, struct err *err);

/* pgconn_query() for statements whose result is only a row count (INSERT, DELETE, COPY, DDL);
 * *rows (may be NULL) gets PQcmdTuples (0 when the statement reports none). */
int pgconn_command(struct pgconn *c, const char *what, const char *sql, int nparams,
                   const char *const *params, int64_t *rows, struct err *err);

/* Reads the results left after a COPY (or after a failed one) until there are none: the first
 * error becomes err ("<what> failed (<category>): ..."); *rows (may be NULL) gets the COPY's row
 * count. 0 when every result was a success. */
int pgconn_finish_results(struct pgconn *c, const char *what, int64_t *rows, struct err *err);

/* Sets err from res (may be NULL: the connection's last error): the server's message, detail
 * and hint on one line, with its category and SQLSTATE (err->sqlstate). Returns -1. */
int pgconn_fail(struct pgconn *c, const PGresult *res, const char *what, struct err *err);

/* ==== connections doctor ==== */

struct pgconn_doctor_result {
    bool ok;
    int64_t latency_ms;            /* connecting plus SELECT 1, also when it failed */
    enum pgconn_category category; /* PGCAT_NONE when ok */
    char message[1024]; /* one line without secrets: "connected to 127.0.0.1:5432 (PostgreSQL
                          15.8) as osiris" or why not */
};

/* Checks a resolved connection of family "postgres" or "supabase": connects (timeout_s seconds
 * at most for the connection) and runs SELECT 1. Never fails itself; the outcome is in *out. */
void pgconn_doctor(const json_t *connection, const char *family, int timeout_s,
                   struct pgconn_doctor_result *out);

#endif
