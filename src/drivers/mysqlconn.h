/* MySQL/MariaDB connections for the mysql.* drivers and `osiris connections doctor`: the step's
 * connection settings, opening a libmariadb connection with timeouts, utf8mb4 and a UTC session,
 * and turning the library's errors into "<category>: <message>" lines that never carry the
 * password or the user@host pair the server likes to print (AS-38).
 *
 * Ownership: a struct mysqlconn, its MYSQL handle and its copy of the params live in the arena
 * given to mysqlconn_open() and are closed when that arena is released; the caller's params may go
 * away once mysqlconn_open() returns. Nothing here prints. */
#ifndef OSIRIS_MYSQLCONN_H
#define OSIRIS_MYSQLCONN_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "json.h"

/* Where and how to connect. Strings are borrowed from the step config or the connection. */
struct mysqlconn_params {
    const char *host;         /* "localhost" when nobody sets it; always reached over TCP */
    unsigned port;            /* 3306 when nobody sets it */
    const char *database;     /* required */
    const char *user;         /* required */
    const char *password;     /* "" when absent */
    unsigned connect_timeout; /* seconds, for the TCP connect and the handshake */
    unsigned read_timeout;    /* seconds to wait for each read from the server; 0 = no limit */
    unsigned write_timeout;   /* seconds to wait for each write to the server; 0 = no limit */
    bool local_infile;        /* allow LOAD DATA LOCAL INFILE (the writer's bulk path) */
};

/* Fills p from the step config and the resolved connection (may be NULL): host and port may be
 * overridden by the step (x-connection-fields: allowed), so the step's value wins; database,
 * user and password come from the connection, the step's value being used only when the
 * connection has none. Numbers may be given as strings ("3306", as ${VAR} substitution yields).
 * Timeouts are not read here: the caller sets them from its own options. -1 (ERR_INPUT) when
 * database or user is missing or a field has the wrong type. */
int mysqlconn_params_read(const json_t *config, const json_t *connection,
                          struct mysqlconn_params *p, struct err *err);

struct mysqlconn {
    MYSQL *mysql;                          /* open; closed when the arena is released */
    const struct mysqlconn_params *params; /* a copy in the arena, strings included: the timeouts,
                                              and what messages must not show */
};

/* Connects, keeping a copy of p. On failure returns NULL with err (may be NULL) set to
 * "<category>: <message>" and code ERR_DRIVER (err->sys holds the MySQL error number), unless
 * err already held an error, which is kept; the caller adds which step failed. */
struct mysqlconn *mysqlconn_open(struct arena *a, const struct mysqlconn_params *p,
                                 struct err *err);

/* Runs one statement and discards its result, if any. On failure err is set by
 * mysqlconn_fail() (timeout measured against the connection's read_timeout). */
int mysqlconn_exec(struct mysqlconn *c, const char *sql, struct err *err);

/* The rows of a small query (mysql_store_result), all values as text (NULL for SQL NULL), in
 * arena a: rows[r][col]. */
struct mysqlconn_rows {
    size_t n;     /* rows */
    size_t ncols; /* columns of each row */
    char ***rows; /* rows[r][col]: NUL-terminated text, or NULL for SQL NULL */
};
int mysqlconn_query(struct mysqlconn *c, const char *sql, struct arena *a,
                    struct mysqlconn_rows *out, struct err *err);

/* Sets err from the connection's last error: "<category>: <message>", err->sys = the MySQL
 * error number, code ERR_TIMEOUT for a timeout, ERR_DRIVER for auth and network failures,
 * ERR_INPUT for config, ERR_DATA otherwise; an error already in err is kept. started_ms
 * (session_clock_ms()) and timeout_s tell whether the failed call ran out of time, which the
 * library reports only as a lost connection; timeout_s 0 = no limit. Always returns -1. */
int mysqlconn_fail(struct mysqlconn *c, uint64_t started_ms, unsigned timeout_s, struct err *err);

/* The same for the last error of a prepared statement of c (mysql_stmt_errno()), or of c when
 * the statement has none (a connection lost while rows stream). */
int mysqlconn_fail_stmt(struct mysqlconn *c, MYSQL_STMT *stmt, uint64_t started_ms,
                        unsigned timeout_s, struct err *err);

/* Makes every later read and write of the connection fail at once (mariadb_cancel), so that
 * freeing an unfinished unbuffered result does not read the rest of it first. */
void mysqlconn_abort(struct mysqlconn *c);

/* The category of an error, in the vocabulary pgconn.h uses too: "auth", "permission",
 * "network", "timeout", "config" (unknown database), "query" (SQL syntax, unknown table or
 * column), "data" (a value the column cannot hold, a duplicate key, NOT NULL, foreign key,
 * CHECK) or "unknown". code is the MySQL error number,
 * msg its message; timed_out says the call lasted as long as its timeout. Static strings. */
const char *mysqlconn_category(unsigned code, const char *msg, bool timed_out);

/* msg without secrets, into out (size n): the password masked as ***, and 'user'@'host' (or
 * user@host) shortened to 'user'. */
void mysqlconn_safe_message(char *out, size_t n, const char *msg, const struct mysqlconn_params *p);

/* The DuckDB type of a result column (typemap.h), with MariaDB's extended metadata, which names
 * JSON columns (otherwise LONGTEXT) and its own types (UUID, INET6). In arena a. */
const char *mysqlconn_duckdb_type(struct arena *a, const MYSQL_FIELD *f);

/* `name` with embedded backticks doubled, in arena a. */
char *mysqlconn_ident(struct arena *a, const char *name);

/* 'text' escaped for the connection's character set and sql_mode (mysql_real_escape_string),
 * in arena a. */
char *mysqlconn_literal(struct mysqlconn *c, struct arena *a, const char *s, size_t len);

/* ==== Doctor ====
 * What `osiris connections doctor` reports for a mysql connection: connect with timeout_s as
 * connect and read timeout, run SELECT 1, measure the round trip. */
struct mysqlconn_check {
    bool ok;              /* connected and SELECT 1 answered */
    double latency_ms;    /* connect + SELECT 1, wall time */
    const char *category; /* NULL when ok, else one of mysqlconn_category()'s names, or "config"
                             when the connection lacks a field */
    char message[1024];   /* "connected to MariaDB 10.11.6 in 3 ms" or the safe error message */
};
void mysqlconn_doctor(const json_t *connection, unsigned timeout_s, struct mysqlconn_check *out);

#endif
