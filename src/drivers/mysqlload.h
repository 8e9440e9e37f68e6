/* Streaming a data-plane table into a MySQL/MariaDB table, for mysql.writer: LOAD DATA LOCAL
 * INFILE fed by our own local-infile handler (no temporary file), or multi-row INSERTs when the
 * server refuses local infile. Either way the server must store every value exactly as sent:
 * any warning it raises fails the load (LOAD DATA LOCAL would otherwise truncate values and skip
 * duplicate rows with nothing but a warning). Transactions are the caller's business.
 *
 * Ownership: everything is borrowed from the caller; SQL text and buffers live in the arena of
 * struct mysqlload or are freed before returning. Nothing here prints; the fallback to INSERT is
 * logged through the session when there is one. */
#ifndef OSIRIS_MYSQLLOAD_H
#define OSIRIS_MYSQLLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "engine/dataplane.h"
#include "engine/session.h"
#include "mysqlconn.h"

/* How a column's values travel. */
enum mysqlload_kind {
    MYSQLLOAD_TEXT, /* DuckDB's text form, escaped */
    MYSQLLOAD_HEX,  /* BLOB: hex from DuckDB, UNHEX() on the server, so every byte survives */
    MYSQLLOAD_BIT,  /* into a BIT(n) column: the number, CAST(... AS UNSIGNED) on the server */
};

struct mysqlload_column {
    const char *name;   /* in the data plane (borrowed) */
    const char *type;   /* its DuckDB type (borrowed) */
    const char *target; /* the MySQL column, quoted with backticks */
    enum mysqlload_kind kind;
};

/* A column of the input, sent to a MySQL column of the same name (target and kind may be changed
 * afterwards); strings in arena a. */
void mysqlload_column_init(struct mysqlload_column *c, struct arena *a, const char *name,
                           const char *type);

struct mysqlload {
    /* set by the caller */
    struct dataplane *dp;                /* the run's database, holding the input */
    struct mysqlconn *conn;              /* the server's connection (its transaction, if any) */
    struct session *session;             /* may be NULL */
    const char *step_id;                 /* for log lines */
    struct arena *arena;                 /* the step's */
    const char *relation;                /* the input table or view, quoted for DuckDB */
    const struct mysqlload_column *cols; /* the input's columns, in the order sent */
    size_t ncols;                        /* entries of cols */
    int64_t batch_size;                  /* rows per INSERT statement on the fallback path */
    /* set by mysqlload_run() */
    int64_t rows_sent;  /* rows read from the input and sent */
    int64_t stored;     /* rows the server reports stored (== rows_sent on success) */
    const char *method; /* "load_data" or "insert" */
};

/* Sends every row of l->relation into table (quoted). -1 with err "<category>: <message>"
 * when the server fails or warns, when it reports a number of rows stored other than the rows
 * sent (so 0 means stored == rows_sent), when the connection breaks (a killed connection is
 * noticed at once, not when a socket times out), or when reading the input fails. */
int mysqlload_run(struct mysqlload *l, const char *table, struct err *err);

/* Fails with "<category>: <server's message> (<what> <code>)" when the connection's last
 * statement raised a warning or note, other than MySQL 8's deprecation of VALUES(). */
int mysqlload_check_warnings(struct mysqlconn *c, struct arena *a, const char *what,
                             struct err *err);

#endif
