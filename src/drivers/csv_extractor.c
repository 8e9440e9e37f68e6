/* filesystem.csv_extractor: creates the step's table from a CSV file with DuckDB's streaming CSV
 * reader. Every option of the spec becomes a read_csv parameter; the dialect (delimiter, quote,
 * header, skipped lines, comment) is always given explicitly, because the sniffer would
 * otherwise guess it and could, for instance, skip lines it takes for a preamble. DuckDB's
 * multi-line messages are turned into one line that names the file, the line and the option to
 * change. */
#include "driver.h"
#include "fsdriver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ENC_UTF8, ENC_UTF16, ENC_LATIN1, ENC_ISO8859_1 };
enum { COMP_INFER, COMP_NONE, COMP_GZIP, COMP_ZSTD };
enum { BAD_ERROR, BAD_SKIP };

static const char *const encodings[] = { "utf-8", "utf-16", "latin-1", "iso-8859-1", NULL };
static const char *const duck_encodings[] = { "utf-8", "utf-16", "latin-1", "latin-1" };
static const char *const compressions[] = { "infer", "none", "gzip", "zstd", NULL };
static const char *const bad_lines[] = { "error", "skip", NULL };

/* dtype names (pandas or SQL spelling) and the DuckDB type each reads a column as. */
static const struct {
    const char *name;
    const char *sql;
} dtypes[] = {
    { "string", "VARCHAR" },
    { "str", "VARCHAR" },
    { "object", "VARCHAR" },
    { "int8", "TINYINT" },
    { "int16", "SMALLINT" },
    { "int32", "INTEGER" },
    { "int", "BIGINT" },
    { "int64", "BIGINT" },
    { "integer", "BIGINT" },
    { "bigint", "BIGINT" },
    { "float32", "FLOAT" },
    { "float", "DOUBLE" },
    { "float64", "DOUBLE" },
    { "double", "DOUBLE" },
    { "bool", "BOOLEAN" },
    { "boolean", "BOOLEAN" },
    { "date", "DATE" },
    { "datetime", "TIMESTAMP" },
    { "datetime64[ns]", "TIMESTAMP" },
    { "timestamp", "TIMESTAMP" },
};

/* The types the sniffer may infer (it picks the first that fits every sampled value). */
static const char *const candidates_plain = "['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR']";
static const char *const candidates_dates =
    "['BOOLEAN', 'BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ', 'VARCHAR']";

struct options {
    const char *path;
    const char *base_dir;
    const char *delim;
    const char *comment;
    bool header;
    int64_t skip_rows;
    int64_t limit; /* 0 = all rows */
    size_t enc, compression, on_bad;
    const json_t *columns;     /* array of strings, or NULL */
    const json_t *na_values;   /* array of strings, or NULL */
    const json_t *dtype;       /* object, or NULL */
    bool parse_dates_auto;     /* parse_dates: true */
    const json_t *parse_dates; /* array of column names, or NULL */
};

/* ==== Options ==== */

static int string_array(const json_t *config, const char *key, const json_t **out, struct err *err)
{
    const json_t *v = json_object_get(config, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return err_set(err, ERR_INPUT, "option '%s' must be a list of strings, not %s", key,
                       jv_type_name(v));
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return err_set(err, ERR_INPUT, "option '%s' must be a list of strings", key);
    }
    *out = v;
    return 0;
}

static const char *dtype_sql(const char *name)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return dtypes[i].sql;
    return NULL;
}

static bool one_char(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return false;
    unsigned char c = (unsigned char)s[0];
    size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return n == want;
}

static int read_options(const struct driver_ctx *ctx, struct options *o, struct err *err)
{
    const json_t *cfg = ctx->config;
    memset(o, 0, sizeof(*o));
    if (fsdriver_opt_string(cfg, "path", NULL, &o->path, err) != 0 ||
        fsdriver_opt_string(cfg, "base_dir", NULL, &o->base_dir, err) != 0 ||
        fsdriver_opt_string(cfg, "delimiter", ",", &o->delim, err) != 0 ||
        fsdriver_opt_string(cfg, "comment", NULL, &o->comment, err) != 0 ||
        fsdriver_opt_bool(cfg, "header", true, &o->header, err) != 0 ||
        fsdriver_opt_int(cfg, "skip_rows", 0, 0, &o->skip_rows, err) != 0 ||
        fsdriver_opt_int(cfg, "limit", 0, 1, &o->limit, err) != 0 ||
        fsdriver_opt_enum(cfg, "encoding", encodings, ENC_UTF8, &o->enc, err) != 0 ||
        fsdriver_opt_enum(cfg, "compression", compressions, COMP_INFER, &o->compression, err) !=
            0 ||
        fsdriver_opt_enum(cfg, "on_bad_lines", bad_lines, BAD_ERROR, &o->on_bad, err) != 0 ||
        string_array(cfg, "columns", &o->columns, err) != 0 ||
        string_array(cfg, "na_values", &o->na_values, err) != 0)
        return -1;
    if (!o->path || !*o->path)
        return err_set(err, ERR_INPUT, "'path' is required");
    /* The connection supplies base_dir; a step's own base_dir wins (x-connection-fields:
     * allowed). */
    if (!o->base_dir && ctx->connection &&
        fsdriver_opt_string(ctx->connection, "base_dir", NULL, &o->base_dir, err) != 0) {
        err_prefix(err, "connection: ");
        return -1;
    }
    if (!one_char(o->delim))
        return err_set(err, ERR_INPUT, "option 'delimiter' must be exactly one character, not '%s'",
                       o->delim);
    if (o->comment && !one_char(o->comment))
        return err_set(err, ERR_INPUT, "option 'comment' must be exactly one character, not '%s'",
                       o->comment);
    const json_t *dt = json_object_get(cfg, "dtype");
    if (dt && !json_is_null(dt)) {
        if (!json_is_object(dt))
            return err_set(err, ERR_INPUT, "option 'dtype' must be a mapping of column to type");
        const char *col;
        const json_t *t;
        json_object_foreach((json_t *)dt, col, t)
        {
            if (!json_is_string(t) || !dtype_sql(json_string_value(t)))
                return err_set(err, ERR_INPUT,
                               "dtype of column '%s' must be one of the types listed in the "
                               "component's spec (string, int64, float64, bool, date, "
                               "datetime, ...)",
                               col);
        }
        o->dtype = dt;
    }
    const json_t *pd = json_object_get(cfg, "parse_dates");
    if (json_is_boolean(pd))
        o->parse_dates_auto = json_is_true(pd);
    else if (pd && !json_is_null(pd) && string_array(cfg, "parse_dates", &o->parse_dates, err) != 0)
        return -1;
    return 0;
}

/* ==== Errors ==== */

static long long error_line(const char *m)
{
    const char *p = strstr(m, "CSV Error on Line: ");
    return p ? strtoll(p + 19, NULL, 10) : 0;
}

/* DuckDB's message (joined into one line by the data plane) from start up to the first of its
 * advice markers, in arena a. */
static const char *cut(struct arena *a, const char *start, const char *const *stops)
{
    size_t n = strlen(start);
    for (size_t i = 0; stops[i]; i++) {
        const char *p = strstr(start, stops[i]);
        if (p && (size_t)(p - start) < n)
            n = (size_t)(p - start);
    }
    while (n && start[n - 1] == ' ')
        n--;
    return arena_strndup(a, start, n);
}

static const char *const advice[] = { " Possible fixes",
                                      " Possible Solution",
                                      " Possible solution",
                                      "  file = ",
                                      "\n",
                                      " Original Line:",
                                      NULL };

/* The gist of a message: without its "<Kind> Error: " prefix and DuckDB's advice. */
static const char *gist(struct arena *a, const char *m)
{
    const char *colon = strstr(m, " Error: ");
    if (colon && colon - m < 40)
        m = colon + 8;
    return cut(a, m, advice);
}

/* Replaces the error in err (set from DuckDB) by one line that names the file and what to do. */
static void explain(struct err *err, struct arena *a, const struct options *o, const char *path)
{
    char *m = arena_strdup(a, err->msg);
    long long line = error_line(m);
    const char *where =
        line ? arena_printf(a, "line %lld of '%s'", line, path) : arena_printf(a, "'%s'", path);
    const char *s;
    int code = ERR_DATA;
    char buf[sizeof(err->msg)];
    if (strstr(m, "Invalid unicode") || strstr(m, "not utf-8 encoded") ||
        strstr(m, "not utf-16 encoded") || strstr(m, "INVALID ENCODING")) {
        snprintf(buf, sizeof(buf),
                 "CSV encoding error (%s): %s is not valid %s; set 'encoding' to the file's "
                 "encoding (utf-8, utf-16 or latin-1)",
                 encodings[o->enc], where, encodings[o->enc]);
    } else if ((s = strstr(m, "Expected Number of Columns: ")) != NULL) {
        long long want = strtoll(s + 28, NULL, 10);
        const char *f = strstr(s, "Found: ");
        snprintf(buf, sizeof(buf), "CSV parsing failed: %s has %lld fields, expected %lld%s", where,
                 f ? strtoll(f + 7, NULL, 10) : 0, want,
                 o->on_bad == BAD_ERROR ? " (on_bad_lines: skip drops such lines)" : "");
    } else if ((s = strstr(m, "Error when converting column")) != NULL) {
        static const char *const stops[] = { " Column ", " Possible", "  file = ", "\n", NULL };
        snprintf(buf, sizeof(buf), "CSV parsing failed: %s: %s%s", where, cut(a, s, stops),
                 strstr(m, "auto-detected")
                     ? " (the type was inferred from the first rows of the file: give the "
                       "column a type with dtype, e.g. string)"
                     : " (the type comes from dtype or parse_dates)");
    } else if (strstr(m, "unterminated quote")) {
        snprintf(buf, sizeof(buf),
                 "CSV parsing failed: %s: a quoted field is not closed, or its closing quote is "
                 "followed by other text",
                 where);
    } else if (strstr(m, "detect the CSV parsing dialect")) {
        snprintf(buf, sizeof(buf),
                 "CSV parsing failed: '%s' cannot be read as CSV with delimiter '%s' and double "
                 "quotes: its lines have different numbers of fields, or a quoted field is "
                 "malformed%s",
                 path, o->delim,
                 o->on_bad == BAD_ERROR ? " (on_bad_lines: skip drops lines with the wrong "
                                          "number of fields)"
                                        : "");
    } else if ((s = strstr(m, "Columns with names: ")) != NULL) {
        static const char *const stops[] = { " do not exist", "\n", NULL };
        snprintf(buf, sizeof(buf), "dtype or parse_dates names columns that '%s' does not have: %s",
                 path, cut(a, s + 20, stops));
        code = ERR_INPUT;
    } else if (strstr(m, "not a GZIP stream") || strstr(m, "Unknown frame descriptor") ||
               strstr(m, "zstd")) {
        snprintf(buf, sizeof(buf), "'%s' is not %s-compressed: set 'compression' to match the file",
                 path, o->compression == COMP_ZSTD ? "zstd" : "gzip");
    } else if (strstr(m, "Maximum line size")) {
        snprintf(buf, sizeof(buf), "CSV parsing failed: %s is longer than 2,000,000 bytes", where);
    } else if (line && strstr(m, "Original Line:")) {
        /* The rest of DuckDB's message follows the line's text, which can be cut off (and is
         * data, which does not belong in a message): say what usually causes it. */
        snprintf(buf, sizeof(buf),
                 "CSV parsing failed: %s cannot be read (usual causes: a line longer than "
                 "2,000,000 bytes, or a malformed quoted field)",
                 where);
    } else {
        snprintf(buf, sizeof(buf), "CSV extraction failed: %s: %s", where, gist(a, m));
    }
    err_clear(err);
    err_set(err, code, "%s", buf);
}

/* A `columns` entry the file lacks: name it and list what the file has. */
static void explain_missing_column(struct err *err, struct driver_ctx *ctx, const char *source,
                                   const struct options *o, const char *path)
{
    struct arena *a = ctx->arena;
    struct dp_columns dc;
    struct err e2 = ERR_INIT;
    if (dataplane_describe(ctx->dp, arena_printf(a, "%s", source), a, &dc, &e2) != 0)
        return;
    size_t i;
    const json_t *name;
    json_array_foreach(o->columns, i, name)
    {
        const char *want = json_string_value(name);
        bool found = false;
        for (size_t k = 0; k < dc.n && !found; k++)
            found = strcmp(dc.names[k], want) == 0;
        if (found)
            continue;
        struct strbuf has = STRBUF_INIT;
        for (size_t k = 0; k < dc.n; k++)
            strbuf_addf(&has, "%s%s", k ? ", " : "", dc.names[k]);
        err_clear(err);
        err_set(err, ERR_INPUT, "column '%s' (option 'columns') is not in '%s'; it has: %s", want,
                path, strbuf_str(&has));
        strbuf_release(&has);
        return;
    }
}

/* ==== SQL ==== */

/* A SQL list of the strings in items (may be NULL), after '' when with_empty. */
static void add_list(struct strbuf *sb, struct arena *a, const json_t *items, bool with_empty)
{
    strbuf_adds(sb, "[");
    bool first = true;
    if (with_empty) {
        strbuf_adds(sb, "''");
        first = false;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(items, i, v)
    {
        strbuf_addf(sb, "%s%s", first ? "" : ", ", dataplane_literal(a, json_string_value(v)));
        first = false;
    }
    strbuf_adds(sb, "]");
}

static size_t infer_compression(const char *path)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        return COMP_GZIP;
    if (n > 4 && strcmp(path + n - 4, ".zst") == 0)
        return COMP_ZSTD;
    return COMP_NONE;
}

/* read_csv(...) with every option; `source` is the file name DuckDB opens. */
static const char *reader_sql(struct arena *a, const struct options *o, const char *source,
                              const char *path, const char *rejects)
{
    static const char *const duck_comp[] = { "none", "none", "gzip", "zstd" };
    size_t comp = o->compression == COMP_INFER ? infer_compression(path) : o->compression;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb,
                "read_csv(%s, delim=%s, quote='\"', escape='\"', header=%s, skip=%lld, "
                "comment=%s, strict_mode=true, allow_quoted_nulls=false, encoding='%s', "
                "compression='%s', auto_type_candidates=%s, nullstr=",
                dataplane_literal(a, source), dataplane_literal(a, o->delim),
                o->header ? "true" : "false", (long long)o->skip_rows,
                dataplane_literal(a, o->comment ? o->comment : ""), duck_encodings[o->enc],
                duck_comp[comp], o->parse_dates_auto ? candidates_dates : candidates_plain);
    add_list(&sb, a, o->na_values, true);
    if (o->dtype || o->parse_dates) {
        /* parse_dates columns read as TIMESTAMP unless dtype says otherwise. */
        strbuf_adds(&sb, ", types={");
        bool first = true;
        size_t i;
        const json_t *v;
        json_array_foreach(o->parse_dates, i, v)
        {
            const char *col = json_string_value(v);
            if (o->dtype && json_object_get(o->dtype, col))
                continue;
            strbuf_addf(&sb, "%s%s: 'TIMESTAMP'", first ? "" : ", ", dataplane_literal(a, col));
            first = false;
        }
        const char *col;
        const json_t *t;
        json_object_foreach((json_t *)o->dtype, col, t)
        {
            strbuf_addf(&sb, "%s%s: '%s'", first ? "" : ", ", dataplane_literal(a, col),
                        dtype_sql(json_string_value(t)));
            first = false;
        }
        strbuf_adds(&sb, "}");
    }
    if (rejects)
        /* Types inferred from every row, so the only values that can fail a cast are those of
         * columns typed by dtype / parse_dates: skip never drops a row for a guessed type. */
        strbuf_addf(&sb,
                    ", sample_size=-1, store_rejects=true, rejects_table=%s, "
                    "rejects_scan=%s",
                    dataplane_literal(a, rejects),
                    dataplane_literal(a, arena_printf(a, "%s_scan", rejects)));
    strbuf_adds(&sb, ")");
    const char *out = arena_take(a, &sb);
    return out;
}

static const char *select_sql(struct arena *a, const struct options *o, const char *reader)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    if (o->columns) {
        size_t i;
        const json_t *v;
        json_array_foreach(o->columns, i, v)
        {
            strbuf_addf(&sb, "%s%s", i ? ", " : "", dataplane_ident(a, json_string_value(v)));
        }
    } else {
        strbuf_adds(&sb, "*");
    }
    strbuf_addf(&sb, " FROM %s", reader);
    if (o->limit)
        strbuf_addf(&sb, " LIMIT %lld", (long long)o->limit);
    const char *out = arena_take(a, &sb);
    return out;
}

/* ==== on_bad_lines: skip ==== */

/* Lines DuckDB rejected: those with the wrong number of fields, or with a value that does not
 * fit a dtype / parse_dates column, are skipped (and counted); anything else (an encoding error,
 * a malformed quote) still fails the step. */
static int check_rejects(struct driver_ctx *ctx, const struct options *o, const char *rejects,
                         const char *path, struct err *err)
{
    struct arena *a = ctx->arena;
    struct strbuf typed = STRBUF_INIT;
    size_t i;
    const json_t *v;
    json_array_foreach(o->parse_dates, i, v)
    {
        strbuf_addf(&typed, "%s%s", typed.len ? ", " : "",
                    dataplane_literal(a, json_string_value(v)));
    }
    const char *col;
    json_object_foreach((json_t *)o->dtype, col, v)
    {
        strbuf_addf(&typed, "%s%s", typed.len ? ", " : "", dataplane_literal(a, col));
    }
    const char *skippable = arena_printf(
        a,
        "error_type::VARCHAR IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') OR "
        "(error_type::VARCHAR = 'CAST' AND %s)",
        typed.len ? arena_printf(a, "column_name IN (%s)", strbuf_str(&typed)) : "false");
    strbuf_release(&typed);
    const char *sql = arena_printf(a,
                                   "SELECT CAST(count(*) FILTER (WHERE ok) AS VARCHAR), "
                                   "CAST(arg_min(line, line) FILTER (WHERE NOT ok) AS VARCHAR), "
                                   "arg_min(error_message, line) FILTER (WHERE NOT ok) "
                                   "FROM (SELECT line, error_message, (%s) AS ok FROM %s)",
                                   skippable, dataplane_ident(a, rejects));
    struct dp_cursor *c = dataplane_cursor_open(ctx->dp, sql, err);
    if (!c)
        return -1;
    int rc = dataplane_cursor_next(c, err);
    long long skipped = 0, bad_line = 0;
    const char *bad_msg = NULL;
    if (rc == 1 && dataplane_cursor_rows(c) == 1) {
        size_t len;
        const char *s = dataplane_cursor_text(c, 0, 0, &len);
        skipped = s ? strtoll(arena_strndup(a, s, len), NULL, 10) : 0;
        if ((s = dataplane_cursor_text(c, 1, 0, &len)) != NULL)
            bad_line = strtoll(arena_strndup(a, s, len), NULL, 10);
        if ((s = dataplane_cursor_text(c, 2, 0, &len)) != NULL)
            bad_msg = arena_strndup(a, s, len);
    }
    dataplane_cursor_close(c);
    if (rc < 0)
        return -1;
    if (bad_msg) {
        err_set(err, ERR_DATA, "CSV Error on Line: %lld\n%s", bad_line, bad_msg);
        explain(err, a, o, path);
        return -1;
    }
    if (skipped && ctx->session)
        session_log(ctx->session, SESSION_WARNING,
                    "step '%s': skipped %lld bad line%s of '%s' (on_bad_lines: skip)", ctx->step_id,
                    skipped, skipped == 1 ? "" : "s", path);
    return 0;
}

/* ==== The driver ==== */

static void close_fd(void *data)
{
    close((int)(intptr_t)data);
}

/* DuckDB expands *, ?, [ and { in file names as globs; such a file is handed over as an open
 * descriptor instead, so the name is taken literally. */
static const char *literal_source(struct arena *a, const char *path, struct err *err)
{
    if (!strpbrk(path, "*?[{"))
        return path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_errno(err, ERR_IO, "cannot open '%s'", path);
        return NULL;
    }
    arena_on_release(a, close_fd, (void *)(intptr_t)fd);
    return arena_printf(a, "/proc/self/fd/%d", fd);
}

static int check_file(const char *path, struct err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return err_set(err, ERR_IO, "CSV file not found: %s", path);
        return err_errno(err, ERR_IO, "cannot read CSV file '%s'", path);
    }
    if (S_ISDIR(st.st_mode))
        return err_set(err, ERR_IO, "CSV path '%s' is a directory, not a file", path);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_IO, "CSV path '%s' is not a regular file", path);
    return 0;
}

/* DuckDB's reject tables (errors and scans) of a step; errors ignored, the tables may not exist. */
static void drop_rejects(struct driver_ctx *ctx, const char *rejects)
{
    struct arena *a = ctx->arena;
    dataplane_exec(ctx->dp, arena_printf(a, "DROP TABLE IF EXISTS %s", dataplane_ident(a, rejects)),
                   NULL);
    dataplane_exec(ctx->dp,
                   arena_printf(a, "DROP TABLE IF EXISTS %s",
                                dataplane_ident(a, arena_printf(a, "%s_scan", rejects))),
                   NULL);
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct options o;
    if (!ctx->output)
        return err_set(err, ERR_INTERNAL, "csv_extractor runs in extract mode only");
    if (read_options(ctx, &o, err) != 0)
        return -1;
    struct arena *a = ctx->arena;
    const char *base = ctx->base_path;
    if (o.base_dir && !(base = fsdriver_resolve(a, o.base_dir, ctx->base_path, err)))
        return -1;
    const char *path = fsdriver_resolve(a, o.path, base, err);
    if (!path || check_file(path, err) != 0)
        return -1;
    const char *source = literal_source(a, path, err);
    if (!source)
        return -1;
    /* Rejected lines go to a temporary table named after the step's own output table. */
    const char *rejects = NULL;
    if (o.on_bad == BAD_SKIP) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, "osiris_rejects_");
        for (const char *p = ctx->output; *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
                strbuf_addch(&sb, *p);
        rejects = arena_take(a, &sb);
        drop_rejects(ctx, rejects);
    }
    const char *reader = reader_sql(a, &o, source, path, rejects);
    int rc = dataplane_exec(
        ctx->dp, arena_printf(a, "CREATE TABLE %s AS %s", ctx->output, select_sql(a, &o, reader)),
        err);
    if (rc != 0) {
        if (o.columns && strstr(err->msg, "Referenced column"))
            explain_missing_column(err, ctx, reader, &o, path);
        else
            explain(err, a, &o, path);
    }
    if (rc == 0 && rejects)
        rc = check_rejects(ctx, &o, rejects, path, err);
    if (rc == 0)
        rc = dataplane_count(ctx->dp, ctx->output, &ctx->rows_out, err);
    if (rejects) {
        drop_rejects(ctx, rejects);
    }
    return rc;
}

const struct driver driver_csv_extractor = {
    .name = "csv_extractor",
    .run = run,
};
