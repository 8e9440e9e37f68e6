/* mysql.writer: writes its one input table to a MySQL/MariaDB table so that a failure leaves the
 * target as it was.
 *
 *   append   START TRANSACTION; [DELETE FROM target]; load target; COMMIT
 *   replace  CREATE TABLE staging LIKE target; load staging; RENAME TABLE target TO old,
 *            staging TO target (one atomic statement); DROP TABLE old
 *   upsert   CREATE TEMPORARY TABLE staging LIKE target; START TRANSACTION; [DELETE FROM target];
 *            load staging; INSERT INTO target SELECT ... FROM staging ON DUPLICATE KEY UPDATE;
 *            COMMIT
 *
 * "load" is mysqlload.c: the input streams out of DuckDB a chunk at a time, through LOAD DATA
 * LOCAL INFILE or, when the server refuses local infile, multi-row INSERTs of batch_size rows, and
 * any warning the server raises fails the step, so the target gets exactly the input or nothing.
 * This file decides where the rows go and what happens around them: options, the target's
 * columns and keys, CREATE TABLE, the modes' transactions, and undoing a failed write. Row counts
 * are the server's. */
#include "driver.h"
#include "fsdriver.h"
#include "mysqlconn.h"
#include "mysqlload.h"
#include "typemap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* ==== Options ==== */

enum mode { MODE_APPEND, MODE_REPLACE, MODE_UPSERT };
static const char *const modes[] = { "append", "replace", "upsert", NULL };

struct options {
    const char *table;       /* the target, unquoted (borrowed from the config) */
    enum mode mode;          /* mode / write_mode; append when neither is given */
    const char **keys;       /* upsert_keys / primary_key, in the arena; NULL-terminated */
    size_t nkeys;            /* entries of keys; 0 when neither option is given */
    bool create_table;       /* create a missing target from the input's types */
    bool truncate_before;    /* DELETE every row of the target in the write's transaction */
    int64_t batch_size;      /* rows per INSERT on the fallback path */
    int64_t connect_timeout; /* seconds */
};

/* The index of a write mode in cfg[key], or -1 when absent. `mode` also carries the component's
 * mode ("write") in compiled configs: a value outside the write modes there means "not given". */
static int mode_option(const json_t *cfg, const char *key, bool strict, int *out, struct err *err)
{
    const json_t *v = json_object_get(cfg, key);
    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    for (int i = 0; json_is_string(v) && modes[i]; i++)
        if (strcmp(json_string_value(v), modes[i]) == 0)
            *out = i;
    if (*out < 0 && strict)
        return err_set(err, ERR_INPUT, "option '%s' must be append, replace or upsert", key);
    return 0;
}

/* True when column name is one of the keys (ignoring case, as MySQL does). */
static bool is_key(const struct options *o, const char *name)
{
    for (size_t j = 0; name && j < o->nkeys; j++)
        if (strcasecmp(o->keys[j], name) == 0)
            return true;
    return false;
}

static int key_list(struct arena *a, const json_t *cfg, struct options *o, struct err *err)
{
    const json_t *uk = json_object_get(cfg, "upsert_keys"),
                 *pk = json_object_get(cfg, "primary_key");
    uk = json_is_null(uk) ? NULL : uk;
    pk = json_is_null(pk) ? NULL : pk;
    if (uk && pk)
        return err_set(err, ERR_INPUT, "give 'upsert_keys' or 'primary_key', not both");
    const json_t *v = uk ? uk : pk;
    const char *name = uk ? "upsert_keys" : "primary_key";
    if (!v)
        return 0;
    if (json_is_string(v) && pk) {
        o->keys = arena_calloc(a, 2, sizeof(*o->keys));
        o->keys[o->nkeys++] = json_string_value(v);
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        o->keys = arena_calloc(a, json_array_size(v) + 1, sizeof(*o->keys));
        size_t i;
        const json_t *k;
        json_array_foreach(v, i, k)
        {
            if (!json_is_string(k) || !*json_string_value(k))
                return err_set(err, ERR_INPUT, "option '%s' must list column names", name);
            for (size_t j = 0; j < o->nkeys; j++)
                if (strcasecmp(o->keys[j], json_string_value(k)) == 0)
                    return err_set(err, ERR_INPUT, "option '%s' names column '%s' twice", name,
                                   o->keys[j]);
            o->keys[o->nkeys++] = json_string_value(k);
        }
    } else {
        return err_set(err, ERR_INPUT, "option '%s' must be a non-empty list of column names%s",
                       name, pk ? " or one name" : "");
    }
    if (!*o->keys[0])
        return err_set(err, ERR_INPUT, "option '%s' names an empty column", name);
    return 0;
}

static int read_options(struct arena *a, const json_t *cfg, struct options *o, struct err *err)
{
    memset(o, 0, sizeof(*o));
    int wm, m;
    if (fsdriver_opt_string(cfg, "table", NULL, &o->table, err) != 0 ||
        mode_option(cfg, "write_mode", true, &wm, err) != 0 ||
        mode_option(cfg, "mode", false, &m, err) != 0 || key_list(a, cfg, o, err) != 0 ||
        fsdriver_opt_bool(cfg, "create_table", false, &o->create_table, err) != 0 ||
        fsdriver_opt_bool(cfg, "truncate_before", false, &o->truncate_before, err) != 0 ||
        fsdriver_opt_int(cfg, "batch_size", 1000, 1, &o->batch_size, err) != 0 ||
        fsdriver_opt_int(cfg, "connect_timeout", 10, 1, &o->connect_timeout, err) != 0)
        return -1;
    if (!o->table || !*o->table)
        return err_set(err, ERR_INPUT, "'table' is required");
    if (wm >= 0 && m >= 0 && wm != m)
        return err_set(err, ERR_INPUT, "give 'mode' or 'write_mode', not both ('%s' and '%s')",
                       modes[m], modes[wm]);
    o->mode = (enum mode)(wm >= 0 ? wm : m >= 0 ? m : MODE_APPEND);
    if (o->mode == MODE_UPSERT && !o->nkeys)
        return err_set(err, ERR_INPUT,
                       "upsert needs 'upsert_keys' (or 'primary_key') naming the key columns");
    if (o->connect_timeout > 0xFFFFFF)
        return err_set(err, ERR_INPUT, "option 'connect_timeout' must be at most %d", 0xFFFFFF);
    return 0;
}

/* ==== The target ==== */

/* The target table as the server describes it. */
struct target {
    bool exists;        /* false: the table is missing (then n is 0) */
    size_t n;           /* its columns */
    const char **names; /* their names, as the server spells them; in the arena */
    bool *is_bit;       /* the column is BIT(n) */
};

static int inspect_target(struct mysqlconn *c, struct arena *a, const char *table, struct target *t,
                          struct err *err)
{
    memset(t, 0, sizeof(*t));
    /* The server resolves the name itself (case rules, lower_case_table_names). */
    const char *sql = arena_printf(a, "SELECT * FROM %s LIMIT 0", table);
    uint64_t t0 = session_clock_ms();
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0) {
        if (mysql_errno(c->mysql) == 1146) /* ER_NO_SUCH_TABLE */
            return 0;
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    }
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    t->exists = true;
    t->n = mysql_num_fields(res);
    t->names = arena_calloc(a, t->n + 1, sizeof(*t->names));
    t->is_bit = arena_calloc(a, t->n + 1, sizeof(*t->is_bit));
    for (size_t i = 0; i < t->n; i++) {
        t->names[i] = arena_strndup(a, f[i].name, f[i].name_length);
        t->is_bit[i] = f[i].type == MYSQL_TYPE_BIT;
    }
    mysql_free_result(res);
    return 0;
}

/* SHOW INDEX's columns: Table, Non_unique, Key_name, Seq_in_index, Column_name, Collation,
 * Cardinality, Sub_part, Packed, Null, ... */
enum { IX_NON_UNIQUE = 1, IX_KEY_NAME, IX_SEQ, IX_COLUMN, IX_SUB_PART = 7, IX_NULL = 9, IX_NCOLS };

/* Upsert merges on a key, and ON DUPLICATE KEY UPDATE finds an existing row only through a
 * PRIMARY KEY or UNIQUE index: the target needs one on exactly the key columns, each indexed
 * whole (with a prefix index, UNIQUE(name(3)), 'alice' and 'alicia' would be the same row) and
 * NOT NULL (a NULL key matches nothing, so its rows would be inserted again on every run). */
static int check_unique_key(struct mysqlconn *c, struct arena *a, const char *table,
                            const struct options *o, struct err *err)
{
    struct mysqlconn_rows r;
    if (mysqlconn_query(c, arena_printf(a, "SHOW INDEX FROM %s", table), a, &r, err) != 0)
        return -1;
    const char *prefix_index = NULL, *prefix_column = NULL;
    for (size_t i = 0; r.ncols >= IX_NCOLS && i < r.n; i++) {
        char **first = r.rows[i];
        /* Each unique index once, at its first column. */
        if (!first[IX_NON_UNIQUE] || strcmp(first[IX_NON_UNIQUE], "0") != 0 ||
            !first[IX_KEY_NAME] || !first[IX_SEQ] || strcmp(first[IX_SEQ], "1") != 0)
            continue;
        size_t cols = 0, matched = 0;
        const char *prefix = NULL, *nullable = NULL;
        for (size_t k = 0; k < r.n; k++) {
            char **part = r.rows[k];
            if (!part[IX_KEY_NAME] || strcmp(part[IX_KEY_NAME], first[IX_KEY_NAME]) != 0)
                continue;
            cols++;
            matched += is_key(o, part[IX_COLUMN]);
            if (part[IX_SUB_PART] && !prefix)
                prefix = part[IX_COLUMN];
            if (part[IX_NULL] && strcmp(part[IX_NULL], "YES") == 0 && !nullable)
                nullable = part[IX_COLUMN];
        }
        if (cols != o->nkeys || matched != o->nkeys)
            continue;
        if (prefix) {
            prefix_index = first[IX_KEY_NAME];
            prefix_column = prefix;
            continue;
        }
        if (nullable)
            return err_set(err, ERR_INPUT,
                           "upsert key column '%s' of table '%s' allows NULL: rows with a NULL "
                           "key never match an existing row and would be inserted again on "
                           "every run; declare it NOT NULL",
                           nullable, o->table);
        return 0;
    }
    struct strbuf keys = STRBUF_INIT;
    for (size_t j = 0; j < o->nkeys; j++)
        strbuf_addf(&keys, "%s%s", j ? ", " : "", o->keys[j]);
    err_set(err, ERR_INPUT,
            "upsert needs a PRIMARY KEY or UNIQUE index on exactly (%s) in table '%s', which has "
            "none%s%s%s%s%s",
            strbuf_str(&keys), o->table, prefix_index ? " (index '" : "",
            prefix_index ? prefix_index : "", prefix_index ? "' covers only a prefix of '" : "",
            prefix_index ? prefix_column : "",
            prefix_index ? "', so different keys could update the same row)" : "");
    strbuf_release(&keys);
    return -1;
}

/* replace swaps in a table made by CREATE TABLE ... LIKE, which copies columns and indexes but
 * not triggers or foreign keys: a table that has either (or is referenced by one) would lose
 * them, or could not be dropped, so replace refuses it and says what does the same safely. */
static int check_replaceable(struct mysqlconn *c, struct arena *a, const char *table,
                             struct err *err)
{
    const char *name = mysqlconn_literal(c, a, table, strlen(table));
    struct mysqlconn_rows r;
    if (mysqlconn_query(
            c,
            arena_printf(a,
                         "SELECT 'triggers', COUNT(*) FROM information_schema.TRIGGERS "
                         "WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = %s "
                         "UNION ALL SELECT 'foreign keys', COUNT(*) FROM "
                         "information_schema.REFERENTIAL_CONSTRAINTS WHERE "
                         "(CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s) OR "
                         "(UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = %s)",
                         name, name, name),
            a, &r, err) != 0)
        return -1;
    for (size_t i = 0; i < r.n; i++)
        if (r.rows[i][1] && strcmp(r.rows[i][1], "0") != 0)
            return err_set(err, ERR_INPUT,
                           "replace cannot keep the %s of table '%s' (it swaps in a copy made "
                           "with CREATE TABLE ... LIKE); use mode append with truncate_before: "
                           "true, which deletes and inserts in one transaction",
                           r.rows[i][0], table);
    return 0;
}

/* Matches the input's columns to the target's (by name, ignoring case as MySQL does); every
 * input column must exist there; target columns the input lacks get their defaults. */
static int match_columns(struct arena *a, const struct target *t, struct mysqlload_column *cols,
                         size_t n, const char *table, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < t->n && strcasecmp(t->names[k], cols[i].name) != 0)
            k++;
        if (k == t->n) {
            struct strbuf has = STRBUF_INIT;
            for (size_t j = 0; j < t->n; j++)
                strbuf_addf(&has, "%s%s", j ? ", " : "", t->names[j]);
            err_set(err, ERR_INPUT, "input column '%s' is not a column of table '%s' (it has: %s)",
                    cols[i].name, table, strbuf_str(&has));
            strbuf_release(&has);
            return -1;
        }
        cols[i].target = mysqlconn_ident(a, t->names[k]);
        if (t->is_bit[k] && cols[i].kind == MYSQLLOAD_TEXT)
            cols[i].kind = MYSQLLOAD_BIT;
    }
    return 0;
}

/* CREATE TABLE from the input's types (typemap.c), keys as PRIMARY KEY. utf8mb4_bin compares
 * text byte for byte, as DuckDB does, so keys that differ only in case stay distinct. */
static const char *create_sql(struct arena *a, const char *name,
                              const struct mysqlload_column *cols, size_t n,
                              const struct options *o)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "CREATE TABLE %s (", name);
    for (size_t i = 0; i < n; i++) {
        bool key = is_key(o, cols[i].name);
        strbuf_addf(&sb, "%s%s %s%s", i ? ", " : "", mysqlconn_ident(a, cols[i].name),
                    typemap_duckdb_to_mysql(a, cols[i].type, key), key ? " NOT NULL" : "");
    }
    if (o->nkeys) {
        strbuf_adds(&sb, ", PRIMARY KEY (");
        for (size_t j = 0; j < o->nkeys; j++)
            strbuf_addf(&sb, "%s%s", j ? ", " : "", mysqlconn_ident(a, o->keys[j]));
        strbuf_adds(&sb, ")");
    }
    strbuf_adds(&sb, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    return arena_take(a, &sb);
}

/* ==== The job ==== */

/* One write: what it works with, and what to undo when it fails. */
struct job {
    struct driver_ctx *ctx;        /* the step */
    const struct options *o;       /* its options */
    struct mysqlconn *c;           /* the connection everything runs on */
    const struct target *t;        /* the target as it was before the write */
    struct mysqlload *load;        /* the input stream */
    struct mysqlload_column *cols; /* the input's columns, matched to the target's */
    size_t ncols;                  /* entries of cols */
    const char *target;            /* the target's name, quoted */
    int64_t written;               /* rows the server reports written */
    const char *staging;           /* quoted: a table of ours to drop on failure, or NULL */
    bool created;                  /* this step created the target: dropped on failure */
    bool in_txn;                   /* a transaction is open: rolled back on failure */
};

/* ==== Undoing a failed write ==== */

/* Best effort, after the step already failed: roll back, drop what this step created. When the
 * connection is gone (killed, timed out) a new one does the dropping; the server has rolled the
 * transaction back already. */
static void undo(struct job *j)
{
    struct err ignored = ERR_INIT;
    struct arena a = ARENA_INIT;
    struct mysqlconn *c = j->c;
    if (c && j->in_txn)
        mysqlconn_exec(c, "ROLLBACK", &ignored);
    if (!j->staging && !j->created) {
        arena_release(&a);
        return;
    }
    if (!c || mysql_ping(c->mysql) != 0) {
        err_clear(&ignored);
        c = j->c ? mysqlconn_open(&a, j->c->params, &ignored) : NULL;
    }
    const char *drops[] = { j->staging, j->created ? j->target : NULL };
    for (size_t i = 0; i < 2; i++) {
        if (!drops[i])
            continue;
        err_clear(&ignored);
        if (!c ||
            mysqlconn_exec(c, arena_printf(&a, "DROP TABLE IF EXISTS %s", drops[i]), &ignored) != 0)
            if (j->ctx->session)
                session_log(j->ctx->session, SESSION_WARNING,
                            "step '%s': could not drop table %s after the failure; drop it by "
                            "hand (%s)",
                            j->ctx->step_id, drops[i], c ? ignored.msg : "no connection");
    }
    arena_release(&a);
}

/* ==== Writing ==== */

/* Counts in mysql_info(): "Records: 3  Deleted: 0  Skipped: 0  Warnings: 0". */
static int64_t info_count(MYSQL *m, const char *label)
{
    const char *info = mysql_info(m);
    const char *p = info ? strstr(info, label) : NULL;
    return p ? strtoll(p + strlen(label), NULL, 10) : -1;
}

static const char *random_name(struct arena *a, const char *prefix)
{
    unsigned char r[6] = { 0 };
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        memcpy(r, &(uint64_t){ session_now_ms() }, sizeof(r));
    return arena_printf(a, "%s%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4],
                        r[5]);
}

/* The input's columns, and a check that the keys are among them. */
static int input_columns(struct driver_ctx *ctx, const struct step_input *in,
                         const struct options *o, struct mysqlload_column **cols, size_t *n,
                         struct err *err)
{
    struct arena *a = ctx->arena;
    struct dp_columns dc;
    if (dataplane_describe(ctx->dp, in->table, a, &dc, err) != 0)
        return -1;
    struct mysqlload_column *c = arena_calloc(a, dc.n + 1, sizeof(*c));
    for (size_t i = 0; i < dc.n; i++)
        mysqlload_column_init(&c[i], a, dc.names[i], dc.types[i]);
    for (size_t j = 0; j < o->nkeys; j++) {
        size_t i = 0;
        while (i < dc.n && strcasecmp(dc.names[i], o->keys[j]) != 0)
            i++;
        if (i == dc.n)
            return err_set(err, ERR_INPUT, "key column '%s' is not a column of the input",
                           o->keys[j]);
    }
    *cols = c;
    *n = dc.n;
    return 0;
}

/* CREATE TABLE for the target, or (replace) for the staging table named staging (unquoted),
 * which becomes the target once loaded: the table_created event and the log line say so. */
static int create_table(struct job *j, const char *staging, struct err *err)
{
    struct arena *a = j->ctx->arena;
    const char *name = staging ? mysqlconn_ident(a, staging) : j->target;
    const char *ddl = create_sql(a, name, j->cols, j->ncols, j->o);
    if (mysqlconn_exec(j->c, ddl, err) != 0)
        return -1;
    struct session *s = j->ctx->session;
    if (!s)
        return 0;
    json_t *ev = json_pack("{s:s, s:s}", "step_id", j->ctx->step_id, "table", j->o->table);
    if (staging)
        json_object_set_new(ev, "staging", json_string(staging));
    json_object_set_new(ev, "ddl", json_string(ddl));
    session_event(s, "table_created", ev);
    if (staging)
        session_log(s, SESSION_INFO,
                    "step '%s': table '%s' is created as staging table %s, renamed to it once "
                    "loaded: %s",
                    j->ctx->step_id, j->o->table, name, ddl);
    else
        session_log(s, SESSION_INFO, "step '%s': %s", j->ctx->step_id, ddl);
    return 0;
}

/* Streams the input into table (quoted); j->written gets the rows the server stored. */
static int load_into(struct job *j, const char *table, struct err *err)
{
    if (mysqlload_run(j->load, table, err) != 0)
        return -1;
    j->written = j->load->stored;
    return 0;
}

/* INSERT ... SELECT from the staging table, updating every non-key column of existing keys;
 * j->written gets the rows merged (new and existing, from mysql_info()). */
static int merge(struct job *j, const char *staging, struct err *err)
{
    struct arena *a = j->ctx->arena;
    struct strbuf sb = STRBUF_INIT, list = STRBUF_INIT;
    for (size_t i = 0; i < j->ncols; i++)
        strbuf_addf(&list, "%s%s", i ? ", " : "", j->cols[i].target);
    strbuf_addf(&sb, "INSERT INTO %s (%s) SELECT %s FROM %s ON DUPLICATE KEY UPDATE ", j->target,
                strbuf_str(&list), strbuf_str(&list), staging);
    strbuf_release(&list);
    size_t updates = 0;
    for (size_t i = 0; i < j->ncols; i++) {
        if (!is_key(j->o, j->cols[i].name))
            strbuf_addf(&sb, "%s%s.%s = VALUES(%s)", updates++ ? ", " : "", j->target,
                        j->cols[i].target, j->cols[i].target);
    }
    /* Only key columns: an existing row stays as it is (qualified: the staging table has the
     * same column names). */
    if (!updates)
        strbuf_addf(&sb, "%s.%s = %s.%s", j->target, j->cols[0].target, j->target,
                    j->cols[0].target);
    const char *sql = arena_take(a, &sb);
    struct mysqlconn *c = j->c;
    uint64_t t0 = session_clock_ms();
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    int64_t records = info_count(c->mysql, "Records: ");
    int64_t dups = info_count(c->mysql, "Duplicates: ");
    if (mysqlload_check_warnings(c, a, "INSERT ... ON DUPLICATE KEY UPDATE", err) != 0)
        return -1;
    /* Before the COMMIT: every staged row must have been merged. */
    if (records >= 0 && records != j->written)
        return err_set(err, ERR_DATA, "the merge took %lld of the %lld rows staged",
                       (long long)records, (long long)j->written);
    dups = dups > 0 ? dups : 0;
    if (j->ctx->session)
        session_log(j->ctx->session, SESSION_INFO,
                    "step '%s': upsert into '%s': %lld new rows, %lld existing keys",
                    j->ctx->step_id, j->o->table, (long long)(j->written - dups), (long long)dups);
    return 0;
}

/* append and upsert: one transaction on the target itself. */
static int write_in_place(struct job *j, struct err *err)
{
    struct arena *a = j->ctx->arena;
    struct mysqlconn *c = j->c;
    bool upsert = j->o->mode == MODE_UPSERT;
    if (!j->t->exists) {
        if (create_table(j, NULL, err) != 0)
            return -1;
        j->created = true;
    }
    if (upsert && check_unique_key(c, a, j->target, j->o, err) != 0)
        return -1;
    const char *into = j->target;
    if (upsert) {
        /* A temporary table: private to this connection and gone with it, whatever happens. */
        into = mysqlconn_ident(a, random_name(a, "_osiris_merge_"));
        if (mysqlconn_exec(c, arena_printf(a, "CREATE TEMPORARY TABLE %s LIKE %s", into, j->target),
                           err) != 0)
            return -1;
    }
    j->in_txn = true;
    if (mysqlconn_exec(c, "START TRANSACTION", err) != 0 ||
        (j->o->truncate_before &&
         mysqlconn_exec(c, arena_printf(a, "DELETE FROM %s", j->target), err) != 0) ||
        load_into(j, into, err) != 0 || (upsert && merge(j, into, err) != 0) ||
        mysqlconn_exec(c, "COMMIT", err) != 0)
        return -1;
    j->in_txn = false;
    j->created = false;
    return 0;
}

/* replace: a real staging table (RENAME TABLE cannot move a temporary one), loaded and
 * committed, then swapped in by one atomic RENAME; the target is untouched until then. */
static int write_replace(struct job *j, struct err *err)
{
    struct arena *a = j->ctx->arena;
    struct mysqlconn *c = j->c;
    if (j->t->exists && check_replaceable(c, a, j->o->table, err) != 0)
        return -1;
    const char *name = random_name(a, "_osiris_stage_");
    const char *staging = mysqlconn_ident(a, name);
    j->staging = staging;
    if ((j->t->exists ? mysqlconn_exec(
                            c, arena_printf(a, "CREATE TABLE %s LIKE %s", staging, j->target), err)
                      : create_table(j, name, err)) != 0)
        return -1;
    j->in_txn = true;
    if (mysqlconn_exec(c, "START TRANSACTION", err) != 0 || load_into(j, staging, err) != 0 ||
        mysqlconn_exec(c, "COMMIT", err) != 0)
        return -1;
    j->in_txn = false;
    if (!j->t->exists) {
        if (mysqlconn_exec(c, arena_printf(a, "RENAME TABLE %s TO %s", staging, j->target), err))
            return -1;
        j->staging = NULL;
        return 0;
    }
    const char *old = mysqlconn_ident(a, random_name(a, "_osiris_old_"));
    if (mysqlconn_exec(
            c,
            arena_printf(a, "RENAME TABLE %s TO %s, %s TO %s", j->target, old, staging, j->target),
            err) != 0)
        return -1;
    j->staging = NULL; /* it is the target now */
    struct err derr = ERR_INIT;
    if (mysqlconn_exec(c, arena_printf(a, "DROP TABLE %s", old), &derr) != 0 && j->ctx->session)
        session_log(j->ctx->session, SESSION_WARNING,
                    "step '%s': the table was replaced, but its previous version %s could not be "
                    "dropped: %s",
                    j->ctx->step_id, old, derr.msg);
    return 0;
}

/* The modes, in the order of enum mode. */
static int (*const writers[])(struct job *, struct err *) = {
    [MODE_APPEND] = write_in_place,
    [MODE_REPLACE] = write_replace,
    [MODE_UPSERT] = write_in_place,
};

/* ==== The driver ==== */

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct arena *a = ctx->arena;
    struct options o;
    struct mysqlconn_params p;
    const struct step_input *in = NULL;
    struct mysqlload_column *cols = NULL;
    size_t n = 0;
    if (fsdriver_single_input(ctx, &in, err) != 0 || read_options(a, ctx->config, &o, err) != 0 ||
        mysqlconn_params_read(ctx->config, ctx->connection, &p, err) != 0 ||
        input_columns(ctx, in, &o, &cols, &n, err) != 0)
        return -1;
    p.connect_timeout = (unsigned)o.connect_timeout;
    /* No read timeout of its own in the spec: a merge or rename may wait long for locks, but a
     * server that stops answering altogether fails the step after an hour. */
    p.read_timeout = p.write_timeout = 3600;
    p.local_infile = true;
    struct job j = {
        .ctx = ctx, .o = &o, .cols = cols, .ncols = n, .target = mysqlconn_ident(a, o.table)
    };
    j.c = mysqlconn_open(a, &p, err);
    if (!j.c) {
        err_prefix(err, "MySQL connection failed for step %s: ", ctx->step_id);
        return -1;
    }
    struct target t;
    if (inspect_target(j.c, a, j.target, &t, err) != 0 ||
        (t.exists && match_columns(a, &t, cols, n, o.table, err) != 0)) {
        err_prefix(err, "MySQL write to '%s' failed for step %s: ", o.table, ctx->step_id);
        return -1;
    }
    if (!t.exists && !o.create_table)
        return err_set(err, ERR_INPUT,
                       "MySQL write failed for step %s: table '%s' does not exist in database "
                       "'%s' (set create_table: true to create it)",
                       ctx->step_id, o.table, p.database);
    j.t = &t;
    if (ctx->session)
        session_event(ctx->session, "write.start",
                      json_pack("{s:s, s:s, s:s, s:I}", "step_id", ctx->step_id, "table", o.table,
                                "mode", modes[o.mode], "rows", (json_int_t)in->rows));
    struct mysqlload l = { .dp = ctx->dp,
                           .conn = j.c,
                           .session = ctx->session,
                           .step_id = ctx->step_id,
                           .arena = a,
                           .relation = in->table,
                           .cols = cols,
                           .ncols = n,
                           .batch_size = o.batch_size };
    j.load = &l;
    /* mysqlload_run() fails unless the server stored every row sent, and merge() unless every
     * staged row was merged, both before the COMMIT: a step that succeeds wrote all its rows. */
    if (writers[o.mode](&j, err) != 0) {
        undo(&j);
        err_prefix(err, "MySQL write to '%s' (%s) failed for step %s: ", o.table, modes[o.mode],
                   ctx->step_id);
        return -1;
    }
    ctx->rows_in = l.rows_sent;
    ctx->rows_out = j.written;
    if (ctx->session)
        session_event(ctx->session, "write.complete",
                      json_pack("{s:s, s:s, s:s, s:s, s:I}", "step_id", ctx->step_id, "table",
                                o.table, "mode", modes[o.mode], "method",
                                l.method ? l.method : "none", "rows_written",
                                (json_int_t)j.written));
    return 0;
}

const struct driver driver_mysql_writer = {
    .name = "mysql_writer",
    .run = run,
};
