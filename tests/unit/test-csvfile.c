/* The file drivers (csv_extractor, csv_writer, parquet_writer, jsonl_writer), driven directly
 * with a hand-built context: CSV round trips compared byte for byte, every extractor option,
 * the writer's encodings, newlines and quoting modes, atomic replacement, and Parquet / JSON
 * Lines output read back through DuckDB. */
#include "../harness/tap.h"
#include "drivers/driver.h"
#include "files.h"
#include "xalloc.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct env {
    char dir[64];  /* the test's temporary directory, also the project base path */
    char run[128]; /* run directory of the session */
    char art[160]; /* artifacts directory */
    struct dataplane *dp;
    struct redactor red;
    struct session *s;
};

/* ==== Helpers ==== */

static const char *at(struct env *e, const char *rel, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", e->dir, rel);
    return buf;
}

static void put_file(struct env *e, const char *rel, const char *bytes, size_t len)
{
    char p[512];
    at(e, rel, p, sizeof(p));
    char *slash = strrchr(p, '/');
    *slash = '\0';
    files_mkdirs(p, NULL, NULL);
    *slash = '/';
    struct err err = ERR_INIT;
    if (files_write(p, bytes, len, 0644, &err) != 0)
        diag("cannot write %s: %s", p, err.msg);
}

#define PUT(e, rel, lit) put_file((e), (rel), (lit), sizeof(lit) - 1)

/* The file's bytes (malloc'd, NUL-terminated), or NULL. */
static char *slurp(struct env *e, const char *rel, size_t *len)
{
    char p[512];
    struct strbuf sb = STRBUF_INIT;
    struct err err = ERR_INIT;
    *len = 0;
    if (files_read(at(e, rel, p, sizeof(p)), &sb, &err) != 0) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, len);
}

/* Runs driver d as step `id` with the JSON config; `in` names input tables (comma-separated
 * quoted names, may be NULL) and `out` the table an extractor creates. */
static int run_drv(struct env *e, const struct driver *d, const char *config, const json_t *conn,
                   const char *in, const char *out, struct driver_ctx *res, struct err *err)
{
    struct err perr = ERR_INIT;
    json_t *cfg = jv_parse(config, strlen(config), "config", &perr);
    if (!cfg) {
        diag("bad test config: %s", perr.msg);
        return -1;
    }
    struct arena a = ARENA_INIT;
    struct step_input inputs[4];
    size_t n = 0;
    char names[256] = "";
    if (in)
        snprintf(names, sizeof(names), "%s", in);
    char *save = NULL;
    for (char *tok = in ? strtok_r(names, ",", &save) : NULL; tok && n < 4;
         tok = strtok_r(NULL, ",", &save)) {
        inputs[n].step_id = arena_printf(&a, "up%zu", n);
        inputs[n].table = arena_strdup(&a, tok);
        inputs[n].view = arena_printf(&a, "df_up%zu", n);
        inputs[n].rows = 0;
        dataplane_count(e->dp, tok, &inputs[n].rows, NULL);
        n++;
    }
    if (out)
        dataplane_exec(e->dp, arena_printf(&a, "DROP TABLE IF EXISTS %s", out), NULL);
    struct driver_ctx ctx = {
        .step_id = "step",
        .component = "test",
        .mode = out ? "extract" : "write",
        .config = cfg,
        .connection = conn,
        .dp = e->dp,
        .inputs = inputs,
        .ninputs = n,
        .output = out,
        .artifacts_dir = e->art,
        .base_path = e->dir,
        .session = e->s,
        .arena = &a,
    };
    err_clear(err);
    int rc = d->run(&ctx, err);
    if (res)
        *res = ctx;
    arena_release(&a);
    json_decref(cfg);
    return rc;
}

/* One text value from SQL (malloc'd; "(null)" for NULL, "(error)" on failure). */
static char *q1(struct env *e, const char *sql)
{
    struct err err = ERR_INIT;
    char *text = xmalloc(strlen(sql) + 64);
    sprintf(text, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s)", sql);
    struct dp_cursor *c = dataplane_cursor_open(e->dp, text, &err);
    free(text);
    char *out = NULL;
    if (c && dataplane_cursor_next(c, &err) == 1 && dataplane_cursor_rows(c) > 0) {
        size_t len;
        const char *s = dataplane_cursor_text(c, 0, 0, &len);
        out = s ? xstrndup(s, len) : xstrdup("(null)");
    }
    dataplane_cursor_close(c);
    if (!out)
        diag("query failed: %s: %s", sql, err.msg);
    return out ? out : xstrdup("(error)");
}

#define IS_Q(e, sql, want, ...)                                                                    \
    do {                                                                                           \
        char *got_ = q1((e), (sql));                                                               \
        is_str(got_, (want), __VA_ARGS__);                                                         \
        free(got_);                                                                                \
    } while (0)

/* Extracts rel with the extra config (JSON members, may be "") into table "t". */
static int extract(struct env *e, const char *rel, const char *extra, struct err *err)
{
    char cfg[2048];
    snprintf(cfg, sizeof(cfg), "{\"path\": \"%s\"%s%s}", rel, *extra ? ", " : "", extra);
    return run_drv(e, &driver_csv_extractor, cfg, NULL, NULL, "\"t\"", NULL, err);
}

/* Writes table "t" to rel with the extra config. */
static int write_csv(struct env *e, const char *table, const char *rel, const char *extra,
                     struct driver_ctx *res, struct err *err)
{
    char cfg[2048];
    snprintf(cfg, sizeof(cfg), "{\"path\": \"%s\"%s%s}", rel, *extra ? ", " : "", extra);
    return run_drv(e, &driver_csv_writer, cfg, NULL, table, NULL, res, err);
}

/* Whether dir (relative) holds a leftover temporary file. */
static bool has_temp(struct env *e, const char *rel)
{
    char p[512];
    DIR *d = opendir(at(e, rel, p, sizeof(p)));
    bool found = false;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        found = found || strstr(de->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return found;
}

static bool same_bytes(struct env *e, const char *rel, const char *want, size_t wlen)
{
    size_t len = 0;
    char *got = slurp(e, rel, &len);
    bool same = got && len == wlen && memcmp(got, want, wlen) == 0;
    if (!same)
        diag("%s: got %zu bytes '%.*s', wanted %zu bytes '%.*s'", rel, len, (int)len,
             got ? got : "", wlen, (int)wlen, want);
    free(got);
    return same;
}

#define SAME(e, rel, lit) same_bytes((e), (rel), (lit), sizeof(lit) - 1)

static char *cols_of(struct env *e, const char *what)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(%s, ',' ORDER BY cid) FROM pragma_table_info('t')", what);
    return q1(e, sql);
}

#define IS_COLS(e, want, ...)                                                                      \
    do {                                                                                           \
        char *got_ = cols_of((e), "name");                                                         \
        is_str(got_, (want), __VA_ARGS__);                                                         \
        free(got_);                                                                                \
    } while (0)

#define IS_TYPES(e, want, ...)                                                                     \
    do {                                                                                           \
        char *got_ = cols_of((e), "type");                                                         \
        is_str(got_, (want), __VA_ARGS__);                                                         \
        free(got_);                                                                                \
    } while (0)

/* ==== Round trips ==== */

#define RT_QUOTED                                                                                  \
    "a,b,c\n1,\"x,y\",plain\n2,\"say \"\"hi\"\"\",\"\"\n3,\"line1\nline2\",\n4, lead "             \
    ",\"cr\r\nlf\"\n"
#define RT_UTF8   "name,word\nJosé,世界\n☕,x\n"
#define RT_CRLF   "a,b\r\n1,x\r\n2,\"y\r\nz\"\r\n3,\r\n"
#define RT_ONECOL "a\nx\n\n\"\"\ny\n"
#define RT_HEADER "a,b,c\n"

static void test_round_trips(struct env *e)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        const char *xopts, *wopts;
        int64_t rows;
    } cases[] = {
        { "quoted", RT_QUOTED, sizeof(RT_QUOTED) - 1, "", "", 4 },
        { "utf8", RT_UTF8, sizeof(RT_UTF8) - 1, "", "", 2 },
        { "crlf", RT_CRLF, sizeof(RT_CRLF) - 1, "", "\"newline\": \"crlf\"", 3 },
        { "onecol", RT_ONECOL, sizeof(RT_ONECOL) - 1, "", "", 4 },
        { "header-only", RT_HEADER, sizeof(RT_HEADER) - 1, "", "", 0 },
        { "empty", "", 0, "\"header\": false", "\"header\": false", 0 },
    };
    struct err err = ERR_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[64], out[64];
        snprintf(in, sizeof(in), "rt/%s.csv", cases[i].name);
        snprintf(out, sizeof(out), "rt/out/%s.csv", cases[i].name);
        put_file(e, in, cases[i].bytes, cases[i].len);
        struct driver_ctx x, w;
        char cfg[256];
        snprintf(cfg, sizeof(cfg), "{\"path\": \"%s\"%s%s}", in, *cases[i].xopts ? ", " : "",
                 cases[i].xopts);
        ok(run_drv(e, &driver_csv_extractor, cfg, NULL, NULL, "\"t\"", &x, &err) == 0,
           "round trip %s: extract (%s)", cases[i].name, err.msg);
        is_int(x.rows_out, cases[i].rows, "round trip %s: rows_out", cases[i].name);
        ok(write_csv(e, "\"t\"", out, cases[i].wopts, &w, &err) == 0, "round trip %s: write (%s)",
           cases[i].name, err.msg);
        is_int(w.rows_out, cases[i].rows, "round trip %s: rows written", cases[i].name);
        is_int(w.bytes_written, cases[i].len, "round trip %s: bytes_written", cases[i].name);
        ok(same_bytes(e, out, cases[i].bytes, cases[i].len), "round trip %s: identical bytes",
           cases[i].name);
        if (strcmp(cases[i].name, "quoted") == 0) {
            IS_Q(e, "SELECT count(*) FROM t WHERE c IS NULL", "1", "quoted: one NULL");
            IS_Q(e, "SELECT count(*) FROM t WHERE c = ''", "1", "quoted: one empty string");
            IS_Q(e, "SELECT b FROM t WHERE a = 3", "line1\nline2", "quoted: newline kept");
            IS_Q(e, "SELECT b FROM t WHERE a = 4", " lead ", "quoted: spaces kept");
        }
        if (strcmp(cases[i].name, "onecol") == 0)
            IS_Q(e, "SELECT count(*) FROM t WHERE a IS NULL", "1", "onecol: blank line is NULL");
        if (strcmp(cases[i].name, "header-only") == 0)
            IS_COLS(e, "a,b,c", "header-only: columns kept");
    }

    /* 100 columns, already in sorted order so the writer's order matches. */
    struct strbuf sb = STRBUF_INIT;
    for (int c = 0; c < 100; c++)
        strbuf_addf(&sb, "%sc%03d", c ? "," : "", c);
    strbuf_addch(&sb, '\n');
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 100; c++)
            strbuf_addf(&sb, "%s%s%d", c ? "," : "", c % 2 ? "v" : "", r * 100 + c);
        strbuf_addch(&sb, '\n');
    }
    put_file(e, "rt/wide.csv", sb.buf, sb.len);
    ok(extract(e, "rt/wide.csv", "", &err) == 0, "100 columns: extract (%s)", err.msg);
    IS_Q(e, "SELECT count(*) FROM pragma_table_info('t')", "100", "100 columns");
    ok(write_csv(e, "\"t\"", "rt/out/wide.csv", "", NULL, &err) == 0, "100 columns: write");
    ok(same_bytes(e, "rt/out/wide.csv", sb.buf, sb.len), "100 columns: identical bytes");
    strbuf_release(&sb);
}

/* ==== Extractor options ==== */

static void test_extractor_options(struct env *e)
{
    struct err err = ERR_INIT;
    PUT(e, "x/basic.csv", "id,name,value\n1,a,10\n2,b,20\n3,c,30\n");
    ok(extract(e, "x/basic.csv", "\"columns\": [\"value\", \"id\"]", &err) == 0, "columns (%s)",
       err.msg);
    IS_COLS(e, "value,id", "columns: selected, in the requested order");
    ok(extract(e, "x/basic.csv", "\"columns\": [\"id\", \"nope\"]", &err) != 0,
       "columns: unknown name fails");
    like(err.msg, "column 'nope' (option 'columns') is not in", "columns: names the column");
    like(err.msg, "it has: id, name, value", "columns: lists the file's columns");

    ok(extract(e, "x/basic.csv", "\"limit\": 2", &err) == 0, "limit");
    IS_Q(e, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM t", "1,2", "limit: first rows");

    PUT(e, "x/data.tsv", "id\tvalue\n1\ta,b\n2\tc\n");
    ok(extract(e, "x/data.tsv", "\"delimiter\": \"\\t\"", &err) == 0, "delimiter tab");
    IS_Q(e, "SELECT count(*) FROM t", "2", "delimiter: 2 rows");
    IS_Q(e, "SELECT value FROM t WHERE id = 1", "a,b", "delimiter: commas are data");
    PUT(e, "x/semi.csv", "a;b\n1;x\n");
    ok(extract(e, "x/semi.csv", "\"delimiter\": \";\"", &err) == 0, "delimiter ;");
    IS_COLS(e, "a,b", "delimiter ;: columns");

    PUT(e, "x/preamble.csv", "exported by tool\nid,value\n1,x\n2,y\n");
    ok(extract(e, "x/preamble.csv", "\"skip_rows\": 1", &err) == 0, "skip_rows");
    IS_COLS(e, "id,value", "skip_rows: header after the skipped line");
    IS_Q(e, "SELECT count(*) FROM t", "2", "skip_rows: 2 rows");
    ok(extract(e, "x/basic.csv", "\"skip_rows\": 1", &err) == 0, "skip_rows on a header file");
    IS_COLS(e, "1,a,10", "skip_rows: the first data row becomes the header");

    PUT(e, "x/comment.csv", "# a comment\nid,v\n1,x\n# another\n2,y\n");
    ok(extract(e, "x/comment.csv", "\"comment\": \"#\"", &err) == 0, "comment (%s)", err.msg);
    IS_Q(e, "SELECT count(*) FROM t", "2", "comment: comment lines ignored");

    PUT(e, "x/na.csv", "id,v,w\n1,NULL,x\n2,,N/A\n3,\"NULL\",y\n4,z,\"\"\n");
    ok(extract(e, "x/na.csv", "\"na_values\": [\"NULL\", \"N/A\"]", &err) == 0, "na_values");
    IS_Q(e, "SELECT count(*) FROM t WHERE v IS NULL", "2", "na_values: NULL and empty are NULL");
    IS_Q(e, "SELECT count(*) FROM t WHERE w IS NULL", "1", "na_values: N/A is NULL");
    IS_Q(e, "SELECT v FROM t WHERE id = 3", "NULL", "na_values: a quoted value stays text");
    IS_Q(e, "SELECT count(*) FROM t WHERE w = ''", "1", "quoted empty field is the empty string");
    ok(extract(e, "x/na.csv", "", &err) == 0, "without na_values");
    IS_Q(e, "SELECT count(*) FROM t WHERE v = 'NULL'", "2", "without na_values: NULL is text");

    PUT(e, "x/codes.csv", "code,n,f,flag\n001,1,1.5,true\n010,2,2.5,false\n");
    ok(extract(e, "x/codes.csv", "", &err) == 0, "inference");
    IS_TYPES(e, "VARCHAR,BIGINT,DOUBLE,BOOLEAN",
             "inference: leading zeros stay text; BIGINT, DOUBLE, BOOLEAN");
    ok(extract(e, "x/codes.csv",
               "\"dtype\": {\"code\": \"string\", \"n\": \"int32\", \"f\": \"float32\", "
               "\"flag\": \"str\"}",
               &err) == 0,
       "dtype (%s)", err.msg);
    IS_TYPES(e, "VARCHAR,INTEGER,FLOAT,VARCHAR", "dtype: types applied");
    IS_Q(e, "SELECT string_agg(code, ',' ORDER BY code) FROM t", "001,010",
         "dtype string: leading zeros kept");
    ok(extract(e, "x/codes.csv", "\"dtype\": {\"missing\": \"int64\"}", &err) != 0,
       "dtype on a missing column fails");
    like(err.msg, "does not have: \"missing\"", "dtype: names the column");

    PUT(e, "x/dates.csv",
        "id,d,ts,eu\n1,2024-03-17,2025-03-03 11:53:20,17.03.2024\n2,2024-03-18,2025-03-04 "
        "00:00:00,18.03.2024\n");
    ok(extract(e, "x/dates.csv", "", &err) == 0, "parse_dates default");
    IS_TYPES(e, "BIGINT,VARCHAR,VARCHAR,VARCHAR", "parse_dates false: dates stay text");
    ok(extract(e, "x/dates.csv", "\"parse_dates\": false", &err) == 0, "parse_dates false");
    IS_TYPES(e, "BIGINT,VARCHAR,VARCHAR,VARCHAR", "parse_dates false, explicit");
    ok(extract(e, "x/dates.csv", "\"parse_dates\": true", &err) == 0, "parse_dates true");
    IS_TYPES(e, "BIGINT,DATE,TIMESTAMP,VARCHAR", "parse_dates true: DATE and TIMESTAMP inferred");
    ok(extract(e, "x/dates.csv", "\"parse_dates\": [\"d\"]", &err) == 0, "parse_dates list");
    IS_TYPES(e, "BIGINT,TIMESTAMP,VARCHAR,VARCHAR", "parse_dates list: exactly those columns");
    IS_Q(e, "SELECT d::VARCHAR FROM t WHERE id = 1", "2024-03-17 00:00:00", "parse_dates value");
    ok(extract(e, "x/dates.csv", "\"parse_dates\": [\"d\"], \"dtype\": {\"d\": \"date\"}", &err) ==
           0,
       "parse_dates with dtype");
    IS_TYPES(e, "BIGINT,DATE,VARCHAR,VARCHAR", "dtype wins over parse_dates");
    ok(extract(e, "x/dates.csv", "\"parse_dates\": [\"eu\"]", &err) != 0,
       "parse_dates on a non-ISO column fails");
    like(err.msg, "line 2 of", "parse_dates failure: names the line");
    like(err.msg, "the type comes from dtype or parse_dates", "parse_dates failure: explains");

    ok(extract(e, "x/basic.csv", "\"header\": false", &err) == 0, "header false");
    IS_COLS(e, "column0,column1,column2", "header false: columns named column0...");
    IS_Q(e, "SELECT count(*) FROM t", "4", "header false: the header line is data");

    /* Encodings. */
    PUT(e, "x/latin1.csv", "name\ncaf\xe9\n");
    ok(extract(e, "x/latin1.csv", "\"encoding\": \"latin-1\"", &err) == 0, "latin-1");
    IS_Q(e, "SELECT name FROM t", "café", "latin-1 decoded");
    ok(extract(e, "x/latin1.csv", "\"encoding\": \"iso-8859-1\"", &err) == 0, "iso-8859-1");
    IS_Q(e, "SELECT name FROM t", "café", "iso-8859-1 is latin-1");
    ok(extract(e, "x/latin1.csv", "", &err) != 0, "invalid UTF-8 fails");
    like(err.msg, "encoding error", "invalid UTF-8: an encoding error");
    like(err.msg, "line 2 of", "invalid UTF-8: names the line");
    PUT(e, "x/utf16.csv",
        "\xff\xfe"
        "a\0,\0b\0\n\0"
        "1\0,\0\xe9\0\n\0");
    ok(extract(e, "x/utf16.csv", "\"encoding\": \"utf-16\"", &err) == 0, "utf-16 (%s)", err.msg);
    IS_Q(e, "SELECT b FROM t WHERE a = 1", "é", "utf-16 decoded");

    /* Compression: files made by DuckDB itself. */
    char p[512], sql[1200];
    snprintf(sql, sizeof(sql),
             "COPY (SELECT range AS id FROM range(5)) TO '%s' (FORMAT csv, COMPRESSION gzip)",
             at(e, "x/five.csv.gz", p, sizeof(p)));
    ok(dataplane_exec(e->dp, sql, &err) == 0, "made a gzip file");
    snprintf(sql, sizeof(sql),
             "COPY (SELECT range AS id FROM range(6)) TO '%s' (FORMAT csv, COMPRESSION zstd)",
             at(e, "x/six.csv.zst", p, sizeof(p)));
    ok(dataplane_exec(e->dp, sql, &err) == 0, "made a zstd file");
    snprintf(sql, sizeof(sql),
             "COPY (SELECT range AS id FROM range(7)) TO '%s' (FORMAT csv, COMPRESSION gzip)",
             at(e, "x/seven.dat", p, sizeof(p)));
    ok(dataplane_exec(e->dp, sql, &err) == 0, "made a gzip file without extension");
    ok(extract(e, "x/five.csv.gz", "", &err) == 0, "gzip inferred (%s)", err.msg);
    IS_Q(e, "SELECT count(*) FROM t", "5", "gzip rows");
    ok(extract(e, "x/six.csv.zst", "\"compression\": \"infer\"", &err) == 0, "zstd inferred (%s)",
       err.msg);
    IS_Q(e, "SELECT count(*) FROM t", "6", "zstd rows");
    ok(extract(e, "x/seven.dat", "\"compression\": \"gzip\"", &err) == 0, "gzip explicit");
    IS_Q(e, "SELECT count(*) FROM t", "7", "gzip explicit rows");
    ok(extract(e, "x/five.csv.gz", "\"compression\": \"zstd\"", &err) != 0,
       "wrong compression fails");
    like(err.msg, "is not zstd-compressed", "wrong compression: explained");
    ok(extract(e, "x/basic.csv", "\"compression\": \"none\"", &err) == 0, "compression none");

    /* on_bad_lines. */
    PUT(e, "x/bad.csv", "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n");
    ok(extract(e, "x/bad.csv", "", &err) != 0, "wrong field count fails by default");
    like(err.msg, "CSV parsing failed", "on_bad_lines error: parsing failed");
    ok(extract(e, "x/bad.csv", "\"on_bad_lines\": \"error\"", &err) != 0, "on_bad_lines error");
    ok(extract(e, "x/bad.csv", "\"on_bad_lines\": \"skip\"", &err) == 0, "on_bad_lines skip (%s)",
       err.msg);
    IS_Q(e, "SELECT string_agg(a::VARCHAR, ',' ORDER BY a) FROM t", "1,10",
         "skip: both lines with the wrong number of fields dropped");
    /* A late bad line (after the sniffer's sample) is reported with its line number. */
    struct strbuf big = STRBUF_INIT;
    strbuf_adds(&big, "a,b,c\n");
    for (int i = 0; i < 30000; i++)
        strbuf_addf(&big, "%d,2,3\n", i);
    strbuf_adds(&big, "4,5\n");
    put_file(e, "x/late.csv", big.buf, big.len);
    ok(extract(e, "x/late.csv", "", &err) != 0, "late bad line fails");
    like(err.msg, "line 30002 of", "late bad line: line number");
    like(err.msg, "has 2 fields, expected 3", "late bad line: field counts");
    strbuf_truncate(&big, big.len - 4);
    strbuf_adds(&big, "7,x,3\n");
    put_file(e, "x/late-type.csv", big.buf, big.len);
    ok(extract(e, "x/late-type.csv", "", &err) != 0, "late value of another type fails");
    like(err.msg, "give the column a type with dtype", "late type: tells what to do");
    ok(extract(e, "x/late-type.csv", "\"on_bad_lines\": \"skip\"", &err) == 0,
       "skip: a late value of another type (%s)", err.msg);
    IS_Q(e, "SELECT count(*) FROM t", "30001", "skip never drops a row for an inferred type");
    IS_TYPES(e, "BIGINT,VARCHAR,BIGINT", "skip: types inferred from every row");
    ok(extract(e, "x/late-type.csv", "\"on_bad_lines\": \"skip\", \"dtype\": {\"b\": \"int64\"}",
               &err) == 0,
       "skip with dtype");
    IS_Q(e, "SELECT count(*) FROM t", "30000", "skip drops a value that does not fit dtype");
    strbuf_release(&big);
    PUT(e, "x/bad-utf8.csv", "a,b,c\n1,x,3\n4,5\n1,caf\xe9,3\n2,y,4\n");
    ok(extract(e, "x/bad-utf8.csv", "\"on_bad_lines\": \"skip\"", &err) != 0,
       "skip still fails on invalid UTF-8");
    like(err.msg, "encoding error", "skip + invalid UTF-8: an encoding error");
    IS_Q(e, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'osiris_rejects%'", "0",
         "skip: reject tables dropped");

    /* Empty and odd files. */
    PUT(e, "x/empty.csv", "");
    ok(extract(e, "x/empty.csv", "", &err) == 0, "empty file: no error (%s)", err.msg);
    IS_Q(e, "SELECT count(*) FROM t", "0", "empty file: 0 rows");
    PUT(e, "x/header.csv", "a,b\r\n");
    ok(extract(e, "x/header.csv", "", &err) == 0, "header-only CRLF file");
    IS_COLS(e, "a,b", "header-only: columns kept");
    PUT(e, "x/blank.csv", "a,b\n1,2\n\n3,4\n");
    ok(extract(e, "x/blank.csv", "", &err) == 0, "blank lines");
    IS_Q(e, "SELECT count(*) FROM t", "2", "blank lines skipped");
    PUT(e, "x/bom.csv",
        "\xef\xbb\xbf"
        "a,b\n1,2\n");
    ok(extract(e, "x/bom.csv", "", &err) == 0, "UTF-8 byte-order mark");
    IS_COLS(e, "a,b", "byte-order mark not part of the first name");
    PUT(e, "x/unterminated.csv", "a,b\n1,\"open\n2,x\n");
    ok(extract(e, "x/unterminated.csv", "", &err) != 0, "unterminated quote fails");

    /* Names DuckDB would take for globs are read literally. */
    PUT(e, "x/g[1].csv", "v\nliteral\n");
    PUT(e, "x/g1.csv", "v\nglob\n");
    ok(extract(e, "x/g[1].csv", "", &err) == 0, "file name with [ ] (%s)", err.msg);
    IS_Q(e, "SELECT v FROM t", "literal", "glob characters taken literally");
    PUT(e, "x/star*.csv", "v\nstar\n");
    ok(extract(e, "x/star*.csv", "", &err) == 0, "file name with *");
    IS_Q(e, "SELECT string_agg(v, ',') FROM t", "star", "* taken literally");

    /* Option errors. */
    ok(extract(e, "x/missing.csv", "", &err) != 0, "missing file fails");
    at(e, "x/missing.csv", p, sizeof(p));
    char want[600];
    snprintf(want, sizeof(want), "CSV file not found: %s", p);
    is_str(err.msg, want, "missing file: message");
    ok(extract(e, "x", "", &err) != 0, "directory fails");
    like(err.msg, "is a directory", "directory: message");
    ok(run_drv(e, &driver_csv_extractor, "{}", NULL, NULL, "\"t\"", NULL, &err) != 0 &&
           strstr(err.msg, "'path' is required"),
       "path is required");
    ok(extract(e, "x/basic.csv", "\"delimiter\": \"ab\"", &err) != 0, "two-character delimiter");
    ok(extract(e, "x/basic.csv", "\"encoding\": \"ebcdic\"", &err) != 0 &&
           strstr(err.msg, "option 'encoding' must be one of"),
       "unknown encoding");
    ok(extract(e, "x/basic.csv", "\"limit\": 0", &err) != 0, "limit 0 refused");
    ok(extract(e, "x/basic.csv", "\"dtype\": {\"id\": \"uuid\"}", &err) != 0, "unknown dtype");
}

/* ==== Paths and base_dir ==== */

static void test_paths(struct env *e)
{
    struct err err = ERR_INIT;
    PUT(e, "local/test.csv", "src\nlocal\n");
    PUT(e, "exports/test.csv", "src\nexports\n");
    PUT(e, "test.csv", "src\nproject\n");
    char p[512];
    json_t *local = json_pack("{s:s}", "base_dir", "local");
    json_t *exports = json_pack("{s:s}", "base_dir", at(e, "exports", p, sizeof(p)));
    struct driver_ctx x;
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"test.csv\"}", exports, NULL, "\"t\"", &x,
               &err) == 0,
       "connection base_dir (%s)", err.msg);
    IS_Q(e, "SELECT src FROM t", "exports", "relative path resolves against base_dir");
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"test.csv\"}", local, NULL, "\"t\"", &x,
               &err) == 0,
       "relative base_dir");
    IS_Q(e, "SELECT src FROM t", "local", "relative base_dir resolves against the project");
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"test.csv\", \"base_dir\": \"local\"}",
               exports, NULL, "\"t\"", &x, &err) == 0,
       "step base_dir");
    IS_Q(e, "SELECT src FROM t", "local", "the step's base_dir wins over the connection's");
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"test.csv\"}", NULL, NULL, "\"t\"", &x,
               &err) == 0,
       "no base_dir");
    IS_Q(e, "SELECT src FROM t", "project", "without base_dir: the project directory");
    char cfg[700];
    snprintf(cfg, sizeof(cfg), "{\"path\": \"%s\"}", at(e, "local/test.csv", p, sizeof(p)));
    ok(run_drv(e, &driver_csv_extractor, cfg, exports, NULL, "\"t\"", &x, &err) == 0,
       "absolute path");
    IS_Q(e, "SELECT src FROM t", "local", "an absolute path ignores base_dir");
    setenv("HOME", e->dir, 1);
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"~/exports/test.csv\"}", NULL, NULL, "\"t\"",
               &x, &err) == 0,
       "~ in path (%s)", err.msg);
    IS_Q(e, "SELECT src FROM t", "exports", "~ expands to HOME");
    json_t *home = json_pack("{s:s}", "base_dir", "~/local");
    ok(run_drv(e, &driver_csv_extractor, "{\"path\": \"test.csv\"}", home, NULL, "\"t\"", &x,
               &err) == 0,
       "~ in base_dir");
    IS_Q(e, "SELECT src FROM t", "local", "~ in base_dir expands");
    ok(run_drv(e, &driver_csv_writer, "{\"path\": \"~/w/out.csv\"}", NULL, "\"t\"", NULL, &x,
               &err) == 0,
       "~ in a writer path");
    ok(SAME(e, "w/out.csv", "src\nlocal\n"), "writer: ~ expands");
    json_decref(local);
    json_decref(exports);
    json_decref(home);
}

/* ==== Writer ==== */

static void test_writer(struct env *e)
{
    struct err err = ERR_INIT;
    struct driver_ctx w;
    ok(dataplane_exec(e->dp,
                      "CREATE TABLE w1 AS SELECT * FROM (VALUES (1, 'x', 'a'), (2, 'y', 'b')) "
                      "v(zebra, apple, mango)",
                      &err) == 0,
       "table w1");
    ok(write_csv(e, "w1", "wr/sorted.csv", "", &w, &err) == 0, "write sorted (%s)", err.msg);
    ok(SAME(e, "wr/sorted.csv", "apple,mango,zebra\nx,a,1\ny,b,2\n"), "columns in sorted order");
    is_int(w.rows_in, 2, "rows_in");
    is_int(w.rows_out, 2, "rows_out");
    is_int(w.bytes_written, 30, "bytes_written");
    ok(write_csv(e, "w1", "wr/noheader.csv", "\"header\": false", NULL, &err) == 0, "no header");
    ok(SAME(e, "wr/noheader.csv", "x,a,1\ny,b,2\n"), "header false: data lines only");
    ok(write_csv(e, "w1", "wr/tab.csv", "\"delimiter\": \"\\t\"", NULL, &err) == 0, "tab");
    ok(SAME(e, "wr/tab.csv", "apple\tmango\tzebra\nx\ta\t1\ny\tb\t2\n"), "tab-delimited");
    ok(write_csv(e, "w1", "wr/crlf.csv", "\"newline\": \"crlf\"", NULL, &err) == 0, "crlf");
    ok(SAME(e, "wr/crlf.csv", "apple,mango,zebra\r\nx,a,1\r\ny,b,2\r\n"), "crlf line ends");
    ok(write_csv(e, "w1", "wr/lf.csv", "\"newline\": \"lf\"", NULL, &err) == 0, "lf");
    ok(SAME(e, "wr/lf.csv", "apple,mango,zebra\nx,a,1\ny,b,2\n"), "lf line ends");

    /* Quoting modes over every kind of value. */
    ok(dataplane_exec(e->dp,
                      "CREATE TABLE w2 AS SELECT * FROM (VALUES "
                      "(1, 1.5::DOUBLE, 'plain', 'a,b', true, 12.30::DECIMAL(10,2)), "
                      "(NULL, NULL, '', 'say \"hi\"', false, NULL), "
                      "(-3, -0.25::DOUBLE, NULL, 'l1\nl2', NULL, 0.05::DECIMAL(10,2))) "
                      "v(a_int, b_dbl, c_str, d_q, e_bool, f_dec)",
                      &err) == 0,
       "table w2");
    ok(write_csv(e, "w2", "wr/minimal.csv", "", NULL, &err) == 0, "minimal");
    ok(SAME(e, "wr/minimal.csv",
            "a_int,b_dbl,c_str,d_q,e_bool,f_dec\n"
            "1,1.5,plain,\"a,b\",true,12.30\n"
            ",,\"\",\"say \"\"hi\"\"\",false,\n"
            "-3,-0.25,,\"l1\nl2\",,0.05\n"),
       "quoting minimal: delimiter, quote, newline and \"\" quoted; NULL empty");
    ok(write_csv(e, "w2", "wr/all.csv", "\"quoting\": \"all\"", NULL, &err) == 0, "all");
    ok(SAME(e, "wr/all.csv",
            "\"a_int\",\"b_dbl\",\"c_str\",\"d_q\",\"e_bool\",\"f_dec\"\n"
            "\"1\",\"1.5\",\"plain\",\"a,b\",\"true\",\"12.30\"\n"
            ",,\"\",\"say \"\"hi\"\"\",\"false\",\n"
            "\"-3\",\"-0.25\",,\"l1\nl2\",,\"0.05\"\n"),
       "quoting all: every field but NULL");
    ok(write_csv(e, "w2", "wr/nonnumeric.csv", "\"quoting\": \"nonnumeric\"", NULL, &err) == 0,
       "nonnumeric");
    ok(SAME(e, "wr/nonnumeric.csv",
            "\"a_int\",\"b_dbl\",\"c_str\",\"d_q\",\"e_bool\",\"f_dec\"\n"
            "1,1.5,\"plain\",\"a,b\",\"true\",12.30\n"
            ",,\"\",\"say \"\"hi\"\"\",\"false\",\n"
            "-3,-0.25,,\"l1\nl2\",,0.05\n"),
       "quoting nonnumeric: numbers bare, everything else quoted");
    ok(write_csv(e, "w2", "wr/dot.csv", "\"quoting\": \"nonnumeric\", \"delimiter\": \".\"", NULL,
                 &err) == 0,
       "nonnumeric with delimiter .");
    size_t len;
    char *dot = slurp(e, "wr/dot.csv", &len);
    like(dot, "\n1.\"1.5\".\"plain\"", "a number holding the delimiter is quoted anyway");
    free(dot);

    /* Types as text; nested values as JSON. */
    ok(dataplane_exec(e->dp,
                      "CREATE TABLE w3 AS SELECT [1, 2] AS a_list, {'k': 'v', 'n': [true]} AS "
                      "b_struct, MAP {'x': 1} AS c_map, ['p', 'q'] AS d_strs, DATE '2024-03-17' "
                      "AS e_date, TIMESTAMP '2024-03-17 11:53:20' AS f_ts, 'x\"y'::BLOB AS "
                      "g_blob, '{\"j\": 1}'::JSON AS h_json, 30::BIGINT AS i_int",
                      &err) == 0,
       "table w3 (%s)", err.msg);
    ok(write_csv(e, "w3", "wr/types.csv", "", NULL, &err) == 0, "types (%s)", err.msg);
    ok(SAME(e, "wr/types.csv",
            "a_list,b_struct,c_map,d_strs,e_date,f_ts,g_blob,h_json,i_int\n"
            "\"[1,2]\",\"{\"\"k\"\":\"\"v\"\",\"\"n\"\":[true]}\",\"{\"\"x\"\":1}\","
            "\"[\"\"p\"\",\"\"q\"\"]\",2024-03-17,2024-03-17 11:53:20,x\\x22y,"
            "\"{\"\"j\"\": 1}\",30\n"),
       "lists, structs and maps as JSON; dates, timestamps, integers as text");

    /* Encodings. */
    ok(dataplane_exec(e->dp,
                      "CREATE TABLE w4 AS SELECT * FROM (VALUES ('José', 'ok'), ('世界', '☕'), "
                      "('x', '😀')) v(a, b)",
                      &err) == 0,
       "table w4");
    ok(write_csv(e, "w4", "wr/utf8.csv", "", NULL, &err) == 0, "utf-8");
    ok(SAME(e, "wr/utf8.csv", "a,b\nJosé,ok\n世界,☕\nx,😀\n"), "UTF-8 text kept");
    ok(write_csv(e, "w4", "wr/utf16.csv", "\"encoding\": \"utf-16\"", &w, &err) == 0, "utf-16");
    static const char want16[] = "\xff\xfe"
                                 "a\0,\0b\0\n\0"
                                 "J\0o\0s\0\xe9\0,\0o\0k\0\n\0"
                                 "\x16\x4e\x4c\x75,\0\x15\x26\n\0"
                                 "x\0,\0\x3d\xd8\x00\xde\n\0";
    ok(same_bytes(e, "wr/utf16.csv", want16, sizeof(want16) - 1),
       "utf-16: little-endian with BOM and surrogate pairs");
    is_int(w.bytes_written, sizeof(want16) - 1, "utf-16 bytes_written");
    /* DuckDB's UTF-16 reader rejects surrogate pairs, so the read-back leaves the emoji out. */
    ok(extract(e, "wr/utf16.csv", "\"encoding\": \"utf-16\"", &err) != 0,
       "utf-16 with a surrogate pair cannot be read back by DuckDB");
    like(err.msg, "encoding error", "utf-16 surrogate pair: an encoding error");
    ok(dataplane_exec(e->dp, "CREATE TABLE w4b AS SELECT * FROM w4 WHERE a <> 'x'", &err) == 0,
       "table w4b");
    ok(write_csv(e, "w4b", "wr/utf16b.csv", "\"encoding\": \"utf-16\"", &w, &err) == 0,
       "utf-16 without surrogates");
    ok(extract(e, "wr/utf16b.csv", "\"encoding\": \"utf-16\"", &err) == 0, "utf-16 read back (%s)",
       err.msg);
    IS_Q(e, "SELECT string_agg(a || b, '|' ORDER BY a) FROM t", "Joséok|世界☕",
         "utf-16 round trip");
    ok(dataplane_exec(e->dp, "CREATE TABLE w5 AS SELECT 'café' AS a, 'x' AS b", &err) == 0,
       "table w5");
    ok(write_csv(e, "w5", "wr/latin1.csv", "\"encoding\": \"latin-1\"", NULL, &err) == 0,
       "latin-1");
    ok(SAME(e, "wr/latin1.csv", "a,b\ncaf\xe9,x\n"), "latin-1 bytes");
    ok(write_csv(e, "w5", "wr/ascii.csv", "\"encoding\": \"ascii\"", NULL, &err) != 0,
       "ascii cannot encode é");
    like(err.msg, "row 1, column 'a': character U+00E9 cannot be encoded in ascii",
         "ascii: names row and column");
    ok(!files_exists(at(e, "wr/ascii.csv", (char[512]){ 0 }, 512)), "ascii: no file left");
    ok(!has_temp(e, "wr"), "ascii: no temporary file left");
    ok(write_csv(e, "w4", "wr/latin1-bad.csv", "\"encoding\": \"latin-1\"", NULL, &err) != 0,
       "latin-1 cannot encode 世");
    like(err.msg, "row 2, column 'a': character U+4E16", "latin-1: names row and column");
    ok(write_csv(e, "w1", "wr/euro.csv", "\"encoding\": \"latin-1\", \"delimiter\": \"€\"", NULL,
                 &err) != 0,
       "latin-1 cannot encode the delimiter €");
    ok(write_csv(e, "w4", "wr/delim-utf8.csv", "\"delimiter\": \"€\"", NULL, &err) == 0,
       "a multi-byte delimiter");
    ok(SAME(e, "wr/delim-utf8.csv", "a€b\nJosé€ok\n世界€☕\nx€😀\n"), "multi-byte delimiter");
    ok(write_csv(e, "w1", "wr/q.csv", "\"delimiter\": \"\\\"\"", NULL, &err) != 0,
       "a quote as delimiter is refused");

    /* Directories. */
    ok(write_csv(e, "w1", "wr/deep/er/out.csv", "", NULL, &err) == 0, "create_dirs default");
    ok(SAME(e, "wr/deep/er/out.csv", "apple,mango,zebra\nx,a,1\ny,b,2\n"), "nested directories");
    ok(write_csv(e, "w1", "wr/none/out.csv", "\"create_dirs\": false", NULL, &err) != 0,
       "create_dirs false");
    like(err.msg, "does not exist (create_dirs is false)", "create_dirs false: message");
    ok(write_csv(e, "w1", "wr", "", NULL, &err) != 0, "a directory as target fails");
    like(err.msg, "/wr' is a directory", "directory target: message");

    /* Atomic replacement: a failing write leaves the old file, and no temporary file. */
    PUT(e, "wr/keep.csv", "old contents\n");
    char p[512];
    chmod(at(e, "wr/keep.csv", p, sizeof(p)), 0600);
    ok(write_csv(e, "w4", "wr/keep.csv", "\"encoding\": \"ascii\"", NULL, &err) != 0,
       "failing write");
    ok(SAME(e, "wr/keep.csv", "old contents\n"), "atomic: the old target is intact");
    ok(!has_temp(e, "wr"), "atomic: no temporary file left");
    ok(write_csv(e, "w1", "wr/keep.csv", "", NULL, &err) == 0, "replacing write");
    ok(SAME(e, "wr/keep.csv", "apple,mango,zebra\nx,a,1\ny,b,2\n"), "target replaced");
    struct stat st;
    ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "the replaced file keeps its mode");
    ok(!has_temp(e, "wr"), "no temporary file after success");

    /* Inputs. */
    ok(run_drv(e, &driver_csv_writer, "{\"path\": \"wr/x.csv\"}", NULL, NULL, NULL, NULL, &err) !=
           0,
       "no input fails");
    like(err.msg, "'needs' is empty", "no input: names needs");
    ok(run_drv(e, &driver_csv_writer, "{\"path\": \"wr/x.csv\"}", NULL, "w1,w2", NULL, NULL,
               &err) != 0,
       "two inputs fail");
    like(err.msg, "'needs' lists 2 ('up0', 'up1')", "two inputs: names them");
    ok(run_drv(e, &driver_csv_writer, "{}", NULL, "w1", NULL, NULL, &err) != 0 &&
           strstr(err.msg, "'path' is required"),
       "path is required");
    ok(write_csv(e, "w1", "wr/x.csv", "\"newline\": \"cr\"", NULL, &err) != 0,
       "newline cr refused");

    /* Many chunks, and an empty table. */
    ok(dataplane_exec(e->dp, "CREATE TABLE w6 AS SELECT range AS n FROM range(10000)", &err) == 0,
       "table w6");
    ok(write_csv(e, "w6", "wr/big.csv", "", &w, &err) == 0, "10000 rows");
    is_int(w.rows_out, 10000, "10000 rows written");
    ok(extract(e, "wr/big.csv", "", &err) == 0, "10000 rows read back");
    IS_Q(e, "SELECT count(*) || ' ' || sum(n) FROM t", "10000 49995000", "every row written once");
    ok(dataplane_exec(e->dp, "CREATE TABLE w7 AS SELECT * FROM w1 WHERE false", &err) == 0,
       "empty table");
    ok(write_csv(e, "w7", "wr/empty.csv", "", &w, &err) == 0, "empty table written");
    ok(SAME(e, "wr/empty.csv", "apple,mango,zebra\n"), "empty table: header only");
    ok(write_csv(e, "w7", "wr/empty16.csv", "\"header\": false, \"encoding\": \"utf-16\"", &w,
                 &err) == 0,
       "empty utf-16");
    ok(SAME(e, "wr/empty16.csv", ""), "empty table without header: empty file, no BOM");
}

/* ==== Parquet and JSON Lines ==== */

static void test_parquet_jsonl(struct env *e)
{
    struct err err = ERR_INIT;
    struct driver_ctx w;
    char p[512], sql[1200];
    ok(dataplane_exec(e->dp,
                      "CREATE TABLE pq AS SELECT range AS id, 'n' || range AS name, "
                      "(range * 0.5)::DECIMAL(10,2) AS amount, DATE '2024-01-01' + range::INT AS "
                      "d, range % 2 = 0 AS even, [range, range + 1] AS pair, "
                      "CASE WHEN range = 1 THEN 'nan'::DOUBLE WHEN range = 2 THEN NULL "
                      "ELSE range / 4 END AS ratio FROM range(5000)",
                      &err) == 0,
       "table pq (%s)", err.msg);
    ok(run_drv(e, &driver_parquet_writer, "{\"path\": \"pq/out.parquet\"}", NULL, "pq", NULL, &w,
               &err) == 0,
       "parquet (%s)", err.msg);
    is_int(w.rows_out, 5000, "parquet rows_out");
    is_int(w.rows_in, 5000, "parquet rows_in");
    at(e, "pq/out.parquet", p, sizeof(p));
    struct stat st;
    ok(stat(p, &st) == 0 && w.bytes_written == st.st_size && st.st_size > 0,
       "parquet bytes_written");
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(column_name || ' ' || column_type, ', ') FROM (DESCRIBE SELECT * "
             "FROM read_parquet('%s'))",
             p);
    IS_Q(e, sql,
         "id BIGINT, name VARCHAR, amount DECIMAL(10,2), d DATE, even BOOLEAN, pair BIGINT[], "
         "ratio DOUBLE",
         "parquet keeps columns, order and types");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL SELECT * FROM "
             "pq)",
             p);
    IS_Q(e, sql, "0", "parquet holds the same rows");
    snprintf(sql, sizeof(sql),
             "SELECT DISTINCT compression FROM parquet_metadata('%s') WHERE path_in_schema = "
             "'id'",
             p);
    IS_Q(e, sql, "SNAPPY", "parquet default compression snappy");
    ok(run_drv(e, &driver_parquet_writer,
               "{\"path\": \"pq/z.parquet\", \"compression\": \"zstd\", \"row_group_size\": 2048}",
               NULL, "pq", NULL, &w, &err) == 0,
       "parquet zstd (%s)", err.msg);
    at(e, "pq/z.parquet", p, sizeof(p));
    snprintf(sql, sizeof(sql),
             "SELECT DISTINCT compression FROM parquet_metadata('%s') WHERE path_in_schema = "
             "'id'",
             p);
    IS_Q(e, sql, "ZSTD", "parquet compression zstd");
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT row_group_id) FROM parquet_metadata('%s')",
             p);
    IS_Q(e, sql, "3", "parquet row_group_size 2048: 3 row groups for 5000 rows");
    ok(run_drv(e, &driver_parquet_writer,
               "{\"path\": \"pq/u.parquet\", \"compression\": \"uncompressed\"}", NULL, "pq", NULL,
               &w, &err) == 0,
       "parquet uncompressed");
    ok(run_drv(e, &driver_parquet_writer, "{\"path\": \"pq/b.parquet\", \"compression\": \"lz4\"}",
               NULL, "pq", NULL, &w, &err) != 0,
       "parquet: unknown compression refused");
    PUT(e, "pq/keep.parquet", "old");
    ok(run_drv(e, &driver_parquet_writer, "{\"path\": \"pq/keep.parquet\"}", NULL, "nope", NULL, &w,
               &err) != 0,
       "parquet: failing write");
    ok(SAME(e, "pq/keep.parquet", "old"), "parquet: old target intact");
    ok(!has_temp(e, "pq"), "parquet: no temporary file left");
    ok(run_drv(e, &driver_parquet_writer,
               "{\"path\": \"pq/none/x.parquet\", \"create_dirs\": false}", NULL, "pq", NULL, &w,
               &err) != 0,
       "parquet: create_dirs false");
    ok(run_drv(e, &driver_parquet_writer, "{\"path\": \"pq/x.parquet\"}", NULL, NULL, NULL, &w,
               &err) != 0 &&
           strstr(err.msg, "needs"),
       "parquet: no input");

    ok(run_drv(e, &driver_jsonl_writer, "{\"path\": \"js/out.jsonl\"}", NULL, "pq", NULL, &w,
               &err) == 0,
       "jsonl (%s)", err.msg);
    is_int(w.rows_out, 5000, "jsonl rows_out");
    size_t len;
    char *js = slurp(e, "js/out.jsonl", &len);
    static const char want_js[] =
        "{\"id\":0,\"name\":\"n0\",\"amount\":0.0,\"d\":\"2024-01-01\",\"even\":true,"
        "\"pair\":[0,1],\"ratio\":0.0}\n"
        "{\"id\":1,\"name\":\"n1\",\"amount\":0.5,\"d\":\"2024-01-02\",\"even\":false,"
        "\"pair\":[1,2],\"ratio\":null}\n";
    ok(js && strncmp(js, want_js, sizeof(want_js) - 1) == 0,
       "jsonl: one object per line, keys in column order, NaN as null");
    is_int(w.bytes_written, len, "jsonl bytes_written");
    free(js);
    at(e, "js/out.jsonl", p, sizeof(p));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || ' ' || count(ratio) FROM read_json('%s', format = "
             "'newline_delimited')",
             p);
    IS_Q(e, sql, "5000 4998", "jsonl reads back: 5000 rows, NULL and NaN as null");
    ok(run_drv(e, &driver_jsonl_writer,
               "{\"path\": \"js/out.jsonl.gz\", \"compression\": \"gzip\"}", NULL, "pq", NULL, &w,
               &err) == 0,
       "jsonl gzip");
    js = slurp(e, "js/out.jsonl.gz", &len);
    ok(js && len > 2 && (unsigned char)js[0] == 0x1f && (unsigned char)js[1] == 0x8b,
       "jsonl gzip: a gzip file");
    free(js);
    at(e, "js/out.jsonl.gz", p, sizeof(p));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM read_json('%s', format = 'newline_delimited')",
             p);
    IS_Q(e, sql, "5000", "jsonl gzip reads back");
    PUT(e, "js/keep.jsonl", "old");
    ok(run_drv(e, &driver_jsonl_writer, "{\"path\": \"js/keep.jsonl\"}", NULL, "nope", NULL, &w,
               &err) != 0,
       "jsonl: failing write");
    ok(SAME(e, "js/keep.jsonl", "old"), "jsonl: old target intact");
    ok(!has_temp(e, "js"), "jsonl: no temporary file left");
    ok(run_drv(e, &driver_jsonl_writer, "{\"path\": \"js/x.jsonl\"}", NULL, "pq,pq", NULL, &w,
               &err) != 0 &&
           strstr(err.msg, "needs"),
       "jsonl: two inputs");
}

int main(void)
{
    jv_init();
    struct env e = { .red = REDACTOR_INIT };
    snprintf(e.dir, sizeof(e.dir), "/tmp/osiris-test-csv-XXXXXX");
    if (!mkdtemp(e.dir))
        return 1;
    char scratch[200];
    snprintf(scratch, sizeof(scratch), "%s/.scratch", e.dir);
    snprintf(e.run, sizeof(e.run), "%s/.run", e.dir);
    snprintf(e.art, sizeof(e.art), "%s/.run/artifacts/step", e.dir);
    struct err err = ERR_INIT;
    e.dp = dataplane_open(scratch, "512MB", 2, &err);
    e.s = session_open(e.run, "run-test", &e.red, false, &err);
    if (!e.dp || !e.s) {
        diag("setup: %s", err.msg);
        return 1;
    }
    files_mkdirs(e.art, NULL, NULL);

    test_round_trips(&e);
    test_extractor_options(&e);
    test_paths(&e);
    test_writer(&e);
    test_parquet_jsonl(&e);

    session_close(e.s, NULL);
    dataplane_close(e.dp);
    redactor_release(&e.red);
    files_remove_tree(e.dir, NULL);
    return done_testing();
}
