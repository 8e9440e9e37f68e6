/* filesystem.csv_writer: streams its one input table out of the data plane, a chunk at a time,
 * and formats the CSV itself, so quoting by column type, the NULL / "" distinction and the
 * encodings behave exactly as docs/components/filesystem.csv_writer.md says. The file appears
 * at its path only when complete (temporary file, fsync, rename). */
#include "driver.h"
#include "fsdriver.h"
#include "typemap.h"

#include <stdlib.h>
#include <string.h>

enum csv_enc { ENC_UTF8, ENC_UTF16, ENC_ASCII, ENC_LATIN1 };
enum csv_quoting { QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC };

static const char *const encodings[] = { "utf-8", "utf-16", "ascii", "latin-1", NULL };
static const char *const newlines[] = { "lf", "crlf", NULL };
static const char *const quotings[] = { "minimal", "all", "nonnumeric", NULL };

/* Encoded bytes are written out once this many are buffered. */
#define FLUSH_AT (1u << 20)

struct column {
    const char *name; /* as in the table */
    const char *type; /* DuckDB type name */
    bool numeric;     /* written unquoted by quoting: nonnumeric */
};

struct csvw {
    struct fsdriver_out *out;
    struct strbuf buf;      /* encoded bytes not yet written */
    enum csv_enc enc;       /* target encoding */
    enum csv_quoting quote; /* quoting mode */
    const char *delim;      /* the delimiter, UTF-8 */
    size_t delim_len;
    const char *nl; /* "\n" or "\r\n" */
    const struct column *cols;
    int64_t row; /* data row being written, 1-based; 0 while writing the header */
};

/* ==== Encoding ==== */

/* Decodes one UTF-8 sequence at s (n bytes available): its code point and length, or -1 when
 * the bytes are not UTF-8 (DuckDB guarantees valid VARCHARs; this is a guard). */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || (size_t)len > n)
        return -1;
    uint32_t c = s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return len;
}

static void put_u16(struct strbuf *b, uint32_t u)
{
    strbuf_addch(b, (int)(u & 0xFF));
    strbuf_addch(b, (int)(u >> 8));
}

static int encode_error(struct csvw *w, size_t col, uint32_t cp, struct err *err)
{
    const char *name = w->cols[col].name;
    if (w->row == 0)
        return err_set(err, ERR_DATA,
                       "character U+%04X of the name of column '%s' cannot be encoded in %s",
                       (unsigned)cp, name, encodings[w->enc]);
    return err_set(err, ERR_DATA,
                   "row %lld, column '%s': character U+%04X cannot be encoded in %s (choose "
                   "encoding utf-8 or utf-16)",
                   (long long)w->row, name, (unsigned)cp, encodings[w->enc]);
}

/* Appends UTF-8 text in the target encoding; col names the column for messages. */
static int put(struct csvw *w, const char *s, size_t len, size_t col, struct err *err)
{
    if (w->enc == ENC_UTF8) {
        strbuf_add(&w->buf, s, len);
        return 0;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t cp;
        int n = utf8_next(p, (size_t)(end - p), &cp);
        if (n < 0)
            return err_set(err, ERR_DATA, "row %lld, column '%s': the text is not valid UTF-8",
                           (long long)w->row, w->cols[col].name);
        p += n;
        switch (w->enc) {
        case ENC_UTF16:
            if (cp >= 0x10000) {
                put_u16(&w->buf, 0xD800 + ((cp - 0x10000) >> 10));
                put_u16(&w->buf, 0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                put_u16(&w->buf, cp);
            }
            break;
        case ENC_ASCII:
        case ENC_LATIN1:
            if (cp >= (w->enc == ENC_ASCII ? 0x80u : 0x100u))
                return encode_error(w, col, cp, err);
            strbuf_addch(&w->buf, (int)cp);
            break;
        case ENC_UTF8:
            break;
        }
    }
    return 0;
}

/* ==== Fields and rows ==== */

static bool needs_quotes(const struct csvw *w, const char *s, size_t len)
{
    if (len == 0) /* "" keeps the empty string apart from NULL, which is written as nothing */
        return true;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return memmem(s, len, w->delim, w->delim_len) != NULL;
}

/* One field; s == NULL is SQL NULL, written as an empty unquoted field. */
static int field(struct csvw *w, const char *s, size_t len, bool numeric, size_t col,
                 struct err *err)
{
    if (!s)
        return 0;
    bool quoted = w->quote == QUOTE_ALL || (w->quote == QUOTE_NONNUMERIC && !numeric) ||
                  needs_quotes(w, s, len);
    if (!quoted)
        return put(w, s, len, col, err);
    if (put(w, "\"", 1, col, err) != 0)
        return -1;
    for (const char *q; (q = memchr(s, '"', len)) != NULL;) {
        size_t n = (size_t)(q - s) + 1;
        if (put(w, s, n, col, err) != 0 || put(w, "\"", 1, col, err) != 0)
            return -1;
        s += n;
        len -= n;
    }
    if (put(w, s, len, col, err) != 0)
        return -1;
    return put(w, "\"", 1, col, err);
}

static int separator(struct csvw *w, size_t col, struct err *err)
{
    return col == 0 ? 0 : put(w, w->delim, w->delim_len, col, err);
}

static int end_row(struct csvw *w, struct err *err)
{
    if (put(w, w->nl, strlen(w->nl), 0, err) != 0)
        return -1;
    if (w->buf.len < FLUSH_AT)
        return 0;
    int rc = fsdriver_out_write(w->out, w->buf.buf, w->buf.len, err);
    strbuf_reset(&w->buf);
    return rc;
}

/* ==== Columns ==== */

static bool type_is_numeric(const char *t)
{
    static const char *const numeric[] = {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
        "UBIGINT", "UHUGEINT", "FLOAT",   "DOUBLE", "BIGNUM",  "VARINT",   NULL,
    };
    for (size_t i = 0; numeric[i]; i++)
        if (strcmp(t, numeric[i]) == 0)
            return true;
    return strncmp(t, "DECIMAL(", 8) == 0;
}

static int column_cmp(const void *a, const void *b)
{
    return strcmp(((const struct column *)a)->name, ((const struct column *)b)->name);
}

/* The input's columns in byte order of their names, and the SELECT that streams them as text. */
static int plan_columns(struct driver_ctx *ctx, const char *table, struct column **cols,
                        size_t *ncols, const char **sql, struct err *err)
{
    struct arena *a = ctx->arena;
    struct dp_columns dc;
    if (dataplane_describe(ctx->dp, table, a, &dc, err) != 0)
        return -1;
    struct column *c = arena_calloc(a, dc.n ? dc.n : 1, sizeof(*c));
    for (size_t i = 0; i < dc.n; i++) {
        c[i].name = dc.names[i];
        c[i].type = dc.types[i];
        c[i].numeric = type_is_numeric(dc.types[i]);
    }
    qsort(c, dc.n, sizeof(*c), column_cmp);
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    for (size_t i = 0; i < dc.n; i++) {
        const char *id = dataplane_ident(a, c[i].name);
        if (typemap_duckdb_is_nested(c[i].type) /* written as JSON text */)
            strbuf_addf(&sb, "%sCAST(to_json(%s) AS VARCHAR)", i ? ", " : "", id);
        else
            strbuf_addf(&sb, "%sCAST(%s AS VARCHAR)", i ? ", " : "", id);
    }
    strbuf_addf(&sb, " FROM %s", table);
    *sql = arena_take(a, &sb);
    *cols = c;
    *ncols = dc.n;
    return 0;
}

/* ==== Options ==== */

struct options {
    const char *delim;
    bool header;
    size_t enc, newline, quoting;
};

static int read_options(const json_t *config, struct options *o, struct err *err)
{
    if (fsdriver_opt_string(config, "delimiter", ",", &o->delim, err) != 0 ||
        fsdriver_opt_bool(config, "header", true, &o->header, err) != 0 ||
        fsdriver_opt_enum(config, "encoding", encodings, ENC_UTF8, &o->enc, err) != 0 ||
        fsdriver_opt_enum(config, "newline", newlines, 0, &o->newline, err) != 0 ||
        fsdriver_opt_enum(config, "quoting", quotings, QUOTE_MINIMAL, &o->quoting, err) != 0)
        return -1;
    uint32_t cp = 0;
    size_t dlen = strlen(o->delim);
    int n = dlen ? utf8_next((const unsigned char *)o->delim, dlen, &cp) : -1;
    if (n < 0 || (size_t)n != dlen)
        return err_set(err, ERR_INPUT, "option 'delimiter' must be exactly one character, not '%s'",
                       o->delim);
    if (cp == '"' || cp == '\r' || cp == '\n')
        return err_set(err, ERR_INPUT, "option 'delimiter' cannot be a double quote, CR or LF");
    if ((o->enc == ENC_ASCII && cp >= 0x80) || (o->enc == ENC_LATIN1 && cp >= 0x100))
        return err_set(err, ERR_INPUT, "the delimiter '%s' cannot be encoded in %s", o->delim,
                       encodings[o->enc]);
    return 0;
}

/* ==== The driver ==== */

static int write_rows(struct csvw *w, struct dp_cursor *cur, size_t ncols, struct err *err)
{
    int rc;
    while ((rc = dataplane_cursor_next(cur, err)) == 1) {
        size_t rows = dataplane_cursor_rows(cur);
        for (size_t r = 0; r < rows; r++) {
            w->row++;
            for (size_t c = 0; c < ncols; c++) {
                size_t len;
                const char *s = dataplane_cursor_text(cur, c, r, &len);
                if (separator(w, c, err) != 0 || field(w, s, len, w->cols[c].numeric, c, err) != 0)
                    return -1;
            }
            if (end_row(w, err) != 0)
                return -1;
        }
    }
    return rc;
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct fsdriver_target t;
    struct options o;
    struct column *cols;
    size_t ncols;
    const char *sql;
    if (fsdriver_target(ctx, &t, err) != 0 || read_options(ctx->config, &o, err) != 0 ||
        plan_columns(ctx, t.in->table, &cols, &ncols, &sql, err) != 0)
        return -1;
    struct csvw w = {
        .enc = (enum csv_enc)o.enc,
        .quote = (enum csv_quoting)o.quoting,
        .delim = o.delim,
        .delim_len = strlen(o.delim),
        .nl = o.newline == 1 ? "\r\n" : "\n",
        .cols = cols,
    };
    struct dp_cursor *cur = NULL;
    int rc = -1;
    w.out = fsdriver_out_begin(ctx->arena, t.path, t.create_dirs, err);
    if (!w.out)
        goto done;
    /* UTF-16 output is little-endian with a byte-order mark. */
    if (w.enc == ENC_UTF16)
        strbuf_add(&w.buf, "\xFF\xFE", 2);
    if (o.header) {
        for (size_t c = 0; c < ncols; c++)
            if (separator(&w, c, err) != 0 ||
                field(&w, cols[c].name, strlen(cols[c].name), false, c, err) != 0)
                goto done;
        if (end_row(&w, err) != 0)
            goto done;
    }
    cur = dataplane_cursor_open(ctx->dp, sql, err);
    if (!cur || write_rows(&w, cur, ncols, err) != 0)
        goto done;
    /* An empty UTF-16 file stays empty rather than holding a lone byte-order mark. */
    if (w.enc == ENC_UTF16 && w.buf.len == 2 && w.row == 0 && !o.header)
        strbuf_reset(&w.buf);
    if (fsdriver_out_write(w.out, w.buf.buf, w.buf.len, err) != 0 ||
        fsdriver_out_commit(w.out, &ctx->bytes_written, err) != 0)
        goto done;
    ctx->rows_in = w.row;
    ctx->rows_out = w.row;
    rc = 0;
done:
    dataplane_cursor_close(cur);
    strbuf_release(&w.buf);
    if (rc != 0 && w.out)
        fsdriver_out_abort(w.out);
    return rc == 0 ? 0 : fsdriver_write_failed(err, "CSV", t.path);
}

const struct driver driver_csv_writer = {
    .name = "csv_writer",
    .run = run,
};
