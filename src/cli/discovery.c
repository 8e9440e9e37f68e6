/* osiris discovery run: what a connection holds. For a filesystem connection, the CSV files of
 * its base_dir (not recursive, sorted by name), each with its size, an estimated row count, its
 * columns and their types, inferred by core/csvinfer.h from the first --samples rows read as
 * text by DuckDB's CSV reader in a scratch database. Databases (mysql, postgres, supabase) and
 * PostHog are asked by their drivers' code (dbdiscover.h). */
#include "cli.h"
#include "csvinfer.h"
#include "drivers/dbdiscover.h"
#include "engine/dataplane.h"
#include "files.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SAMPLES    100 /* rows per file for type inference */
#define DEFAULT_DB_SAMPLES 10  /* sample rows per table, as the original showed */
#define DEFAULT_TIMEOUT_S  30
#define MAX_ERROR_TEXT     400 /* bytes of a reader error kept in the output */
#define MAX_CELL           40  /* characters of a sample value shown in the text output */

struct discovery_opts {
    long samples;       /* --samples; 0 when not given */
    const char *path;   /* --path: a subdirectory of base_dir, or NULL */
    const char *schema; /* --schema (postgres, supabase) */
    long timeout;       /* --timeout seconds; 0 when not given */
};

/* One command's state. */
struct discovery {
    struct arena *a;         /* every string below */
    long samples;            /* rows read per file for type inference */
    const char *scratch;     /* the scratch database directory */
    struct dataplane *dp;    /* opened for the first file that needs it; NULL before */
    const char *created[16]; /* directories that did not exist before dp, deepest first */
    size_t ncreated;
};

/* ==== Paths ==== */

/* The directory to list: base_dir (absent: the project root; relative: relative to it) joined
 * with --path (used as is when absolute). Exit code on a bad base_dir, else 0. */
static int target_dir(struct cli_ctx *ctx, struct cli_project *p, const json_t *conn,
                      const char *who, const char *sub, struct arena *a, const char **dir)
{
    const json_t *v = json_object_get(conn, "base_dir");
    const char *base = ".";
    if (v) {
        if (!json_is_string(v) || !*json_string_value(v))
            return cli_failf(ctx, ERR_INPUT,
                             "connection '%s' has an unusable 'base_dir' (a non-empty string is "
                             "needed)",
                             who);
        base = files_expand_tilde(a, json_string_value(v));
        if (!base)
            base = json_string_value(v);
    }
    const char *d = projconfig_path(&p->cfg, base);
    if (sub) {
        const char *expanded = files_expand_tilde(a, sub);
        if (expanded)
            sub = expanded;
        d = projconfig_path(&p->cfg, sub[0] == '/' ? sub : arena_printf(a, "%s/%s", d, sub));
    }
    *dir = d;
    return 0;
}

/* DuckDB expands * ? and [ in file names even when the file exists; a bracket makes each
 * literal ("a[1].csv" would otherwise read a1.csv). */
static const char *glob_escape(struct arena *a, const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    for (const char *s = path; *s; s++) {
        if (*s == '*' || *s == '?' || *s == '[')
            strbuf_addf(&sb, "[%c]", *s);
        else
            strbuf_addch(&sb, *s);
    }
    const char *out = arena_take(a, &sb);
    return out;
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The names of the regular files "*.csv" in dir (hidden files left out), sorted by their bytes. */
static int list_csv(struct arena *a, const char *dir, const char ***names, size_t *n,
                    struct err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_errno(err, ERR_IO, "cannot read directory '%s'", dir);
    size_t cap = 16;
    const char **out = xmalloc(cap * sizeof(*out));
    *n = 0;
    for (;;) {
        errno = 0; /* readdir reports an error only through errno */
        struct dirent *e = readdir(d);
        if (!e)
            break;
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 4 || strcmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        struct stat st;
        const char *path = arena_printf(a, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap)
            out = xrealloc(out, (cap *= 2) * sizeof(*out));
        out[(*n)++] = arena_strdup(a, e->d_name);
    }
    int rc = errno ? err_errno(err, ERR_IO, "cannot read directory '%s'", dir) : 0;
    closedir(d);
    qsort(out, *n, sizeof(*out), compare_names);
    *names = arena_alloc(a, (*n ? *n : 1) * sizeof(**names));
    memcpy(*names, out, *n * sizeof(*out));
    free(out);
    return rc;
}

/* ==== One file ==== */

/* Data records: newline-terminated lines, plus a last line without one, minus the header. A
 * quoted field holding a newline counts twice, hence "estimated". */
static int count_rows(const char *path, int64_t *rows, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot open '%s'", path);
    char buf[65536];
    int64_t lines = 0;
    char last = '\n';
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            err_errno(err, ERR_IO, "cannot read '%s'", path);
            close(fd);
            return -1;
        }
        for (const char *s = buf, *end = buf + got; (s = memchr(s, '\n', (size_t)(end - s))); s++)
            lines++;
        last = buf[got - 1];
    }
    close(fd);
    if (last != '\n')
        lines++;
    *rows = lines > 0 ? lines - 1 : 0;
    return 0;
}

/* s with every invalid UTF-8 sequence replaced by U+FFFD (in a), or s itself when it is valid. */
static const char *utf8_clean(struct arena *a, const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    const char *out = jv_utf8_clean(&sb, s) ? arena_strdup(a, strbuf_str(&sb)) : s;
    strbuf_release(&sb);
    return out;
}

/* A reader error for the output: DuckDB's message (already one line) without its advice and
 * its dump of reader options, cut to MAX_ERROR_TEXT bytes. */
static const char *reader_error(struct arena *a, const char *msg)
{
    static const char *const cuts[] = { " Possible Solution:", "  file = " };
    size_t n = strlen(msg);
    for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
        const char *cut = strstr(msg, cuts[i]);
        if (cut && (size_t)(cut - msg) < n)
            n = (size_t)(cut - msg);
    }
    bool cut = n > MAX_ERROR_TEXT;
    if (cut)
        for (n = MAX_ERROR_TEXT; n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80; n--)
            ;
    while (n > 0 && msg[n - 1] == ' ')
        n--;
    return utf8_clean(a, arena_printf(a, "%.*s%s", (int)n, msg, cut ? "..." : ""));
}

/* The scratch database, opened once. The directories it creates (.osiris/cache/...) are noted
 * so that the command leaves nothing behind. */
static struct dataplane *scratch_db(struct discovery *d, struct err *err)
{
    if (d->dp)
        return d->dp;
    char *p = arena_strdup(d->a, d->scratch);
    while (d->ncreated < sizeof(d->created) / sizeof(*d->created) && !files_exists(p)) {
        d->created[d->ncreated++] = arena_strdup(d->a, p);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    d->dp = dataplane_open(d->scratch, NULL, 0, err);
    if (!d->dp)
        err_prefix(err, "cannot open a scratch database in '%s': ", d->scratch);
    return d->dp;
}

static void scratch_close(struct discovery *d)
{
    dataplane_close(d->dp);
    d->dp = NULL;
    for (size_t i = 0; i < d->ncreated; i++)
        rmdir(d->created[i]); /* only when empty: never another process's files */
}

/* Columns and types of a CSV file into f; -1 with err set when DuckDB cannot read it (a reader
 * error), or when the scratch database cannot be opened (*fatal set). */
static int read_columns(struct discovery *d, const char *path, json_t *f, bool *fatal,
                        struct err *err)
{
    struct dataplane *dp = scratch_db(d, err);
    if (!dp) {
        *fatal = true;
        return -1;
    }
    struct arena a = ARENA_INIT;
    int rc = -1;
    const char *src =
        arena_printf(&a, "read_csv(%s, all_varchar=true, header=true, null_padding=true)",
                     dataplane_literal(&a, glob_escape(&a, path)));
    struct dp_columns cols;
    if (dataplane_describe(dp, src, &a, &cols, err) != 0)
        goto done;
    struct csvinfer *inf = arena_calloc(&a, cols.n + 1, sizeof(*inf));
    struct dp_cursor *c = dataplane_cursor_open(
        dp, arena_printf(&a, "SELECT * FROM %s LIMIT %ld", src, d->samples), err);
    if (!c)
        goto done;
    size_t ncols = dataplane_cursor_columns(c) < cols.n ? dataplane_cursor_columns(c) : cols.n;
    int more;
    while ((more = dataplane_cursor_next(c, err)) == 1) {
        for (size_t row = 0; row < dataplane_cursor_rows(c); row++) {
            for (size_t col = 0; col < ncols; col++) {
                size_t len;
                const char *text = dataplane_cursor_text(c, col, row, &len);
                csvinfer_add(&inf[col], text, len);
            }
        }
    }
    dataplane_cursor_close(c);
    if (more < 0)
        goto done;
    json_t *names = json_array(), *types = json_object();
    for (size_t i = 0; i < cols.n; i++) {
        const char *col = utf8_clean(&a, cols.names[i]);
        json_array_append_new(names, json_string(col));
        json_object_set_new(types, col, json_string(csvinfer_type_name(csvinfer_result(&inf[i]))));
    }
    json_object_set_new(f, "column_names", names);
    json_object_set_new(f, "columns", json_integer((json_int_t)cols.n));
    json_object_set_new(f, "column_types", types);
    rc = 0;
done:
    arena_release(&a);
    return rc;
}

/* The entry of one file: name, path, size, estimated_rows, column_names, columns and
 * column_types, or an `error` in place of what could not be read. NULL (err set) only when the
 * scratch database cannot be opened. */
static json_t *describe_file(struct discovery *d, const char *dir, const char *name,
                             struct err *err)
{
    const char *path = arena_printf(d->a, "%s/%s", dir, name);
    json_t *f =
        json_pack("{s:s, s:s}", "name", utf8_clean(d->a, name), "path", utf8_clean(d->a, path));
    struct err ferr = ERR_INIT;
    struct stat st = { 0 };
    int64_t rows = 0;
    if (stat(path, &st) != 0) {
        err_errno(&ferr, ERR_IO, "cannot read '%s'", path);
        json_object_set_new(f, "size", json_null());
        json_object_set_new(f, "estimated_rows", json_null());
    } else {
        json_object_set_new(f, "size", json_integer((json_int_t)st.st_size));
        if (count_rows(path, &rows, &ferr) == 0)
            json_object_set_new(f, "estimated_rows", json_integer((json_int_t)rows));
        else
            json_object_set_new(f, "estimated_rows", json_null());
    }
    if (ferr.code) {
        /* Not readable at all: DuckDB would only repeat it. */
    } else if (utf8_clean(d->a, path) != path) {
        err_set(&ferr, ERR_DATA, "the path is not valid UTF-8, which DuckDB's CSV reader refuses");
    } else if (st.st_size == 0) {
        /* DuckDB would invent a column "column0" for an empty file; it has none. */
        json_object_set_new(f, "column_names", json_array());
        json_object_set_new(f, "columns", json_integer(0));
        json_object_set_new(f, "column_types", json_object());
    } else {
        bool fatal = false;
        if (read_columns(d, path, f, &fatal, &ferr) != 0 && fatal) {
            *err = ferr;
            json_decref(f);
            return NULL;
        }
    }
    if (ferr.code)
        json_object_set_new(f, "error", json_string(reader_error(d->a, ferr.msg)));
    return f;
}

/* ==== Output ==== */

static void print_text(const char *ref, const char *dir, long samples, const json_t *files)
{
    size_t n = json_array_size(files);
    if (!n) {
        printf("%s: no CSV files in %s\n", ref, dir);
        return;
    }
    printf("%s: %zu CSV file%s in %s (types from up to %ld rows per file)\n", ref, n,
           n == 1 ? "" : "s", dir, samples);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const json_t *size = json_object_get(f, "size");
        const json_t *rows = json_object_get(f, "estimated_rows");
        const json_t *types = json_object_get(f, "column_types");
        printf("\n%s", json_string_value(json_object_get(f, "name")));
        if (json_is_integer(size))
            printf("  %lld byte%s", (long long)json_integer_value(size),
                   json_integer_value(size) == 1 ? "" : "s");
        if (json_is_integer(rows))
            printf(", ~%lld row%s", (long long)json_integer_value(rows),
                   json_integer_value(rows) == 1 ? "" : "s");
        if (types)
            printf(", %zu column%s", json_object_size(types),
                   json_object_size(types) == 1 ? "" : "s");
        printf("\n");
        const json_t *error = json_object_get(f, "error");
        if (error)
            printf("  error: %s\n", json_string_value(error));
        if (!json_object_size(types))
            continue;
        int width = (int)strlen("COLUMN");
        const char *col;
        json_t *type;
        json_object_foreach((json_t *)types, col, type)
        {
            if ((int)strlen(col) > width)
                width = (int)strlen(col);
        }
        printf("  %-*s  TYPE\n", width, "COLUMN");
        json_object_foreach((json_t *)types, col, type)
        {
            printf("  %-*s  %s\n", width, col, json_string_value(type));
        }
    }
}

/* ==== The command ==== */

static int discover_filesystem(struct cli_ctx *ctx, struct cli_project *p,
                               const struct discovery_opts *opts, const char *ref, const char *who,
                               const json_t *conn)
{
    struct arena a = ARENA_INIT;
    struct discovery d = {
        .a = &a,
        .samples = opts->samples ? opts->samples : DEFAULT_SAMPLES,
    };
    const char *dir = NULL;
    int rc = target_dir(ctx, p, conn, who, opts->path, &a, &dir);
    if (rc)
        goto done;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = cli_failf(ctx, ERR_NOTFOUND, "directory '%s' of %s does not exist", dir, ref);
        else
            rc = cli_failf(ctx, ERR_IO, "cannot access directory '%s' of %s: %s", dir, ref,
                           strerror(errno));
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = cli_failf(ctx, ERR_INPUT, "'%s' of %s is not a directory", dir, ref);
        goto done;
    }
    struct err err = ERR_INIT;
    const char **names = NULL;
    size_t n = 0;
    if (list_csv(&a, dir, &names, &n, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        goto done;
    }
    d.scratch = arena_printf(&a, "%s/discovery-%ld", projconfig_path(&p->cfg, p->cfg.cache_dir),
                             (long)getpid());
    json_t *files = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *f = describe_file(&d, dir, names[i], &err);
        if (!f)
            break;
        json_array_append_new(files, f);
    }
    scratch_close(&d);
    if (err.code) {
        json_decref(files);
        rc = cli_fail(ctx, &err, NULL);
        goto done;
    }
    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:o, s:I}", "status", "success",
                                 "connection", ref, "directory", utf8_clean(&a, dir), "samples",
                                 (json_int_t)d.samples, "files", files, "total_files",
                                 (json_int_t)n));
    } else {
        print_text(ref, dir, d.samples, files);
        json_decref(files);
    }
    rc = EXIT_OK;
done:
    arena_release(&a);
    return rc;
}

/* ==== Databases ==== */

/* A sample value for a table cell: one line, at most MAX_CELL characters. */
static const char *cell(struct arena *a, const json_t *v)
{
    if (!json_is_string(v))
        return "NULL";
    const char *s = json_string_value(v);
    struct strbuf sb = STRBUF_INIT;
    size_t chars = 0;
    for (const char *p = s; *p && chars < MAX_CELL; p++) {
        strbuf_addch(&sb, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    }
    /* Finish a multi-byte character the cut landed in. */
    const char *rest = s + sb.len;
    while (*rest && ((unsigned char)*rest & 0xC0) == 0x80)
        strbuf_addch(&sb, *rest++);
    if (*rest)
        strbuf_adds(&sb, "...");
    return arena_take(a, &sb);
}

static void print_db(const char *ref, const json_t *r)
{
    struct arena a = ARENA_INIT;
    const json_t *tables = json_object_get(r, "tables");
    const char *schema = json_string_value(json_object_get(r, "schema"));
    size_t n = json_array_size(tables);
    printf("%s: %zu table%s (views included) in %s%s%s\n", ref, n, n == 1 ? "" : "s",
           json_string_value(json_object_get(r, "database")), schema ? ", schema " : "",
           schema ? schema : "");
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t)
    {
        const json_t *pk = json_object_get(t, "primary_key");
        printf("\n%s  %s, %lld row%s", jv_str(t, "name"), jv_str(t, "type"),
               (long long)json_integer_value(json_object_get(t, "row_count")),
               json_integer_value(json_object_get(t, "row_count")) == 1 ? "" : "s");
        for (size_t k = 0; k < json_array_size(pk); k++)
            printf("%s%s", k ? ", " : ", primary key ", json_string_value(json_array_get(pk, k)));
        printf("\n");
        struct cli_table cols = { .ncols = 4 };
        cli_table_row(&cols, "  COLUMN", "TYPE", "DUCKDB", "NULL");
        size_t c;
        json_t *col;
        const json_t *columns = json_object_get(t, "columns");
        json_array_foreach(columns, c, col)
        {
            cli_table_row(&cols, arena_printf(&a, "  %s", jv_str(col, "name")), jv_str(col, "type"),
                          jv_str(col, "duckdb_type"),
                          json_is_true(json_object_get(col, "nullable")) ? "yes" : "no");
        }
        cli_table_print(&cols);
        const json_t *sample = json_object_get(t, "sample");
        if (!json_array_size(sample))
            continue;
        printf("  sample:\n");
        struct cli_table rows = { .ncols = json_array_size(columns) };
        const char **cells = arena_calloc(&a, rows.ncols + 1, sizeof(*cells));
        json_array_foreach(columns, c, col) cells[c] =
            arena_printf(&a, "%s%s", c ? "" : "  ", jv_str(col, "name"));
        cli_table_row_v(&rows, cells);
        size_t s;
        json_t *row;
        json_array_foreach(sample, s, row)
        {
            for (c = 0; c < rows.ncols; c++)
                cells[c] =
                    arena_printf(&a, "%s%s", c ? "" : "  ", cell(&a, json_array_get(row, c)));
            cli_table_row_v(&rows, cells);
        }
        cli_table_print(&rows);
    }
    arena_release(&a);
}

static int discover_database(struct cli_ctx *ctx, const struct discovery_opts *opts,
                             const char *family, const char *ref, const json_t *conn)
{
    struct dbdiscover_opts o = {
        .samples = opts->samples > 0 ? opts->samples : DEFAULT_DB_SAMPLES,
        .schema = opts->schema,
        .timeout_s = opts->timeout > 0 ? (int)opts->timeout : DEFAULT_TIMEOUT_S,
    };
    struct err err = ERR_INIT;
    json_t *r = strcmp(family, "mysql") == 0     ? mysqldiscover_run(conn, &o, &err)
                : strcmp(family, "posthog") == 0 ? posthogdiscover_run(conn, &o, &err)
                                                 : pgdiscover_run(conn, family, &o, &err);
    if (!r) {
        err_prefix(&err, "discovery of %s failed: ", ref);
        return cli_fail(ctx, &err, NULL);
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:s, s:I}", "status", "success", "connection", ref,
                                "samples", (json_int_t)o.samples);
        json_object_update(out, r);
        json_object_set_new(
            out, "total_tables",
            json_integer((json_int_t)json_array_size(json_object_get(r, "tables"))));
        cli_print_json(out);
    } else {
        print_db(ref, r);
    }
    json_decref(r);
    return EXIT_OK;
}

/* ==== The command ==== */

/* Which options make sense for which family: a mistaken option is an error, not ignored. */
static const struct {
    const char *family;
    bool files; /* --path */
    bool db;    /* --timeout */
    bool schema;
} families[] = {
    { "filesystem", true, false, false }, { "mysql", false, true, false },
    { "postgres", false, true, true },    { "supabase", false, true, true },
    { "posthog", false, true, false },
};

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct discovery_opts *opts = optsp;
    (void)argc;
    struct err err = ERR_INIT;
    char *family = NULL, *alias = NULL;
    if (connections_parse_ref(argv[0], &family, &alias, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    int rc = 0;
    size_t f = 0;
    while (f < sizeof(families) / sizeof(*families) && strcmp(families[f].family, family) != 0)
        f++;
    if (f == sizeof(families) / sizeof(*families))
        rc = cli_failf(ctx, ERR_USAGE,
                       "discovery of '%s' connections is not supported (filesystem, mysql, "
                       "postgres, supabase and posthog are)",
                       family);
    else if (opts->path && !families[f].files)
        rc = cli_failf(ctx, ERR_USAGE, "--path is for filesystem connections");
    else if (opts->schema && !families[f].schema)
        rc = cli_failf(ctx, ERR_USAGE, "--schema is for postgres and supabase connections");
    else if (opts->timeout && !families[f].db)
        rc = cli_failf(ctx, ERR_USAGE, "--timeout is for database and API connections");
    if (rc)
        goto done;
    struct cli_project p;
    rc = cli_project_open(ctx, &p);
    if (rc)
        goto done;
    json_t *conn = connections_resolve(&p.conns, family, alias, &err);
    if (!conn) {
        rc = cli_fail(ctx, &err, NULL);
    } else {
        char ref[600], who[600];
        snprintf(ref, sizeof(ref), "@%s.%s", family, alias);
        snprintf(who, sizeof(who), "%s.%s", family, alias);
        rc = families[f].files ? discover_filesystem(ctx, &p, opts, ref, who, conn)
                               : discover_database(ctx, opts, family, ref, conn);
        json_decref(conn);
    }
    cli_project_close(&p);
done:
    free(family);
    free(alias);
    return rc;
}

static const struct cli_option options[] = {
    { "samples", 0, CLI_INT, offsetof(struct discovery_opts, samples), "N",
      "rows read per file for type inference (default 100), or sample rows per table (default 10)",
      NULL, 1, 1000000 },
    { "path", 0, CLI_STRING, offsetof(struct discovery_opts, path), "SUBDIR",
      "list this directory below the connection's base_dir instead (filesystem)", NULL, 0, 0 },
    { "schema", 0, CLI_STRING, offsetof(struct discovery_opts, schema), "SCHEMA",
      "the schema to list (postgres, supabase; default public)", NULL, 0, 0 },
    { "timeout", 0, CLI_INT, offsetof(struct discovery_opts, timeout), "SECONDS",
      "give the database or API this long to connect and to answer each query (default 30)", NULL,
      1, 3600 },
    { 0 },
};

const struct cli_command cmd_discovery_run = {
    .name = "discovery run",
    .summary = "Show what a connection holds: CSV files, or tables with columns, keys and samples",
    .args = "@FAMILY.ALIAS",
    .min_args = 1,
    .max_args = 1,
    .options = options,
    .opts_size = sizeof(struct discovery_opts),
    .run = run,
};
