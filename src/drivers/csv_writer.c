/* filesystem.csv_writer: streams its one input table out of the data plane, a chunk at a time,
 * and formats the CSV itself, so quoting by column type, the NULL / "" distinction and the
 * encodings behave exactly as docs/components/filesystem.csv_writer.md says. The file appears
 * at its path only when complete (temporary file, fsync, rename).
 *
 * Speed: casting every value to VARCHAR in the query and fetching it with a call per cell cost
 * more than everything else together. Columns of the common types (text, booleans, integers,
 * decimals of up to 18 digits, dates, timestamps) are read from the chunk in their own type and
 * formatted here into exactly the text DuckDB's cast gives (tests/cases/2000-csv/2121 holds
 * that text for edge values). Other types are still cast in the query: floating point above
 * all, whose shortest form comes from the fmt library inside DuckDB and is not reproduced here.
 * A second thread fetches chunks, and so runs DuckDB's scan and casts, while this one formats
 * and writes. */
#include "driver.h"
#include "fsdriver.h"
#include "typemap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum csv_enc { ENC_UTF8, ENC_UTF16, ENC_ASCII, ENC_LATIN1 };
enum csv_quoting { QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC };

static const char *const encodings[] = { "utf-8", "utf-16", "ascii", "latin-1", NULL };
static const char *const newlines[] = { "lf", "crlf", NULL };
static const char *const quotings[] = { "minimal", "all", "nonnumeric", NULL };

/* Encoded bytes are written out once this many are buffered. */
#define FLUSH_AT (1u << 20)

/* Room for the longest text a formatter writes: "-9223372036854775808" (20 bytes), a
 * DECIMAL(18,18) "-.123456789012345678" (20), "9999-12-31 23:59:59.999999" (26). */
#define FMT_MAX 32

/* DuckDB's buffer for a streaming result (default 976 KiB, a few chunks). Larger, its worker
 * threads scan and cast ahead while this thread formats, instead of this thread doing that work
 * itself whenever the buffer runs dry; the bound on memory stays small. */
#define STREAM_BUFFER "'32MB'"

struct column;
/* Formats the non-NULL value at row r of the current chunk at dst (FMT_MAX bytes) and returns
 * its length, or 0 for a value left to DuckDB's own cast (infinity, years outside 1 to 9999):
 * no formatted text is empty. */
typedef size_t format_fn(struct column *c, size_t r, char *dst);

struct column {
    const char *name; /* as in the table */
    const char *type; /* DuckDB type name */
    bool numeric;     /* written unquoted by quoting: nonnumeric */
    bool raw;         /* selected in its own type and formatted here, not cast in the query */
    /* Its text never holds the delimiter, a quote, CR or LF, so it is never scanned for them
     * (known for numbers and dates, whatever reads them). */
    bool plain;
    /* Known once the cursor is open: */
    format_fn *format; /* NULL for text (VARCHAR, or cast to it in the query) */
    int width, scale;  /* of a DECIMAL */
    bool quote;        /* every non-NULL field is quoted (quoting all, or nonnumeric for text) */
    /* The current chunk: values and validity for format, texts (NULL for NULL) for the rest. */
    struct dp_vector v;
    const char **s;
    size_t *len;
    /* The last day formatted and its text: rows in time order share days. */
    int64_t day;
    char day_text[10];
};

struct csvw {
    struct fsdriver_out *out;
    struct strbuf buf;      /* encoded bytes not yet written */
    struct strbuf scratch;  /* DuckDB's text of a value not formatted here */
    enum csv_enc enc;       /* target encoding */
    enum csv_quoting quote; /* quoting mode */
    const char *delim;      /* the delimiter, UTF-8 */
    size_t delim_len;
    const char *nl; /* "\n" or "\r\n" */
    size_t nl_len;
    struct column *cols;
    size_t ncols;
    size_t rows_cap; /* rows the texts arrays of the columns hold */
    /* Per byte: 1 for a quote, CR or LF, 2 for the first byte of the delimiter; the bytes that
     * can make a field need quotes. */
    unsigned char special[256];
    uint64_t special8[4]; /* the same four bytes, each repeated in a word (see needs_quotes) */
    int64_t row;          /* data row being written, 1-based; 0 while writing the header */
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

/* Non-zero when a byte of x is zero (exact as to whether, not where). */
static inline uint64_t zero_byte(uint64_t x)
{
    return (x - UINT64_C(0x0101010101010101)) & ~x & UINT64_C(0x8080808080808080);
}

static bool needs_quotes(const struct csvw *w, const char *s, size_t len)
{
    if (len == 0) /* "" keeps the empty string apart from NULL, which is written as nothing */
        return true;
    const unsigned char *p = (const unsigned char *)s;
    const uint64_t *k = w->special8;
    size_t i = 0;
    /* Eight bytes at a time up to the first that may be special, then byte by byte. */
    for (uint64_t x; i + 8 <= len; i += 8) {
        memcpy(&x, p + i, 8);
        if (zero_byte(x ^ k[0]) | zero_byte(x ^ k[1]) | zero_byte(x ^ k[2]) | zero_byte(x ^ k[3]))
            break;
    }
    for (; i < len; i++)
        if (w->special[p[i]] == 1 ||
            (w->special[p[i]] == 2 &&
             (w->delim_len == 1 ||
              (len - i >= w->delim_len && memcmp(p + i, w->delim, w->delim_len) == 0))))
            return true;
    return false;
}

/* One non-NULL field in any encoding; quote forces the quotes. */
static int field(struct csvw *w, const char *s, size_t len, bool quote, size_t col, struct err *err)
{
    if (!quote && !needs_quotes(w, s, len))
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

static int flush(struct csvw *w, struct err *err)
{
    int rc = fsdriver_out_write(w->out, w->buf.buf, w->buf.len, err);
    strbuf_reset(&w->buf);
    return rc;
}

static int end_row(struct csvw *w, struct err *err)
{
    if (put(w, w->nl, w->nl_len, 0, err) != 0)
        return -1;
    return w->buf.len < FLUSH_AT ? 0 : flush(w, err);
}

/* ==== UTF-8 output ====
 * The text is UTF-8 already (DuckDB guarantees valid VARCHARs), so fields go straight into the
 * buffer, which first has room made for them. */

static inline char *room(struct csvw *w, size_t n)
{
    if (w->buf.cap - w->buf.len <= n) /* and a byte for strbuf's terminating NUL */
        strbuf_grow(&w->buf, n);
    return w->buf.buf + w->buf.len;
}

static inline void copy_utf8(struct csvw *w, const char *s, size_t len)
{
    memcpy(room(w, len), s, len);
    w->buf.len += len;
}

/* A quoted field: its quotes doubled, copied a run between quotes at a time. */
static void quoted_utf8(struct csvw *w, const char *s, size_t len)
{
    char *o = room(w, 2 * len + 2), *start = o;
    *o++ = '"';
    for (const char *q; (q = memchr(s, '"', len)) != NULL;) {
        size_t n = (size_t)(q - s) + 1;
        memcpy(o, s, n);
        o += n;
        *o++ = '"';
        s += n;
        len -= n;
    }
    memcpy(o, s, len);
    o += len;
    *o++ = '"';
    w->buf.len += (size_t)(o - start);
}

/* A text field; plain when it cannot hold a character that needs quotes. */
static inline void text_utf8(struct csvw *w, const char *s, size_t len, bool quote, bool plain)
{
    if (quote || len == 0 || (!plain && needs_quotes(w, s, len)))
        quoted_utf8(w, s, len);
    else
        copy_utf8(w, s, len);
}

/* ==== Formatting ====
 * Each formatter writes what CAST(value AS VARCHAR) gives in DuckDB 1.4. */

static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "68697071727374757677787980818283848586878889909192939495969798"
                              "99";

static int ndigits(uint64_t u)
{
    int n = 1;
    for (; u >= 10000; u /= 10000)
        n += 4;
    if (u >= 100) {
        n += 2;
        u /= 100;
    }
    return n + (u >= 10);
}

/* Writes u in decimal so that it ends just before end (two digits a step). */
static void digits_before(uint64_t u, char *end)
{
    for (; u >= 100; u /= 100) {
        end -= 2;
        memcpy(end, digits2 + (u % 100) * 2, 2);
    }
    if (u >= 10)
        memcpy(end - 2, digits2 + u * 2, 2);
    else
        end[-1] = (char)('0' + u);
}

/* Writes exactly n digits of u (zero-padded) ending just before end. */
static void digits_n_before(uint64_t u, int n, char *end)
{
    for (int i = 0; i < n; i++, u /= 10)
        *--end = (char)('0' + u % 10);
}

/* An integer, or a decimal of that many units of 10^-scale: "-12.30", "0.05"; a DECIMAL(w,w)
 * has no integer digit at all (".50"), as in DuckDB. */
static size_t integer(const struct column *c, bool negative, uint64_t u, char *dst)
{
    static const uint64_t pow10[19] = { 1,
                                        10,
                                        100,
                                        1000,
                                        10000,
                                        100000,
                                        1000000,
                                        10000000,
                                        100000000,
                                        1000000000,
                                        10000000000,
                                        100000000000,
                                        1000000000000,
                                        10000000000000,
                                        100000000000000,
                                        1000000000000000,
                                        10000000000000000,
                                        100000000000000000,
                                        1000000000000000000 };
    char *o = dst;
    if (negative)
        *o++ = '-';
    if (c->scale == 0) {
        o += ndigits(u);
        digits_before(u, o);
        return (size_t)(o - dst);
    }
    uint64_t unit = pow10[c->scale];
    if (c->width > c->scale) {
        o += ndigits(u / unit);
        digits_before(u / unit, o);
    }
    *o++ = '.';
    o += c->scale;
    digits_n_before(u % unit, c->scale, o);
    return (size_t)(o - dst);
}

/* Magnitudes as uint64_t, so INT64_MIN needs no special case. */
static size_t signed_integer(const struct column *c, int64_t v, char *dst)
{
    return integer(c, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, dst);
}

static size_t fmt_int8(struct column *c, size_t r, char *dst)
{
    return signed_integer(c, ((const int8_t *)c->v.data)[r], dst);
}

static size_t fmt_int16(struct column *c, size_t r, char *dst)
{
    return signed_integer(c, ((const int16_t *)c->v.data)[r], dst);
}

static size_t fmt_int32(struct column *c, size_t r, char *dst)
{
    return signed_integer(c, ((const int32_t *)c->v.data)[r], dst);
}

static size_t fmt_int64(struct column *c, size_t r, char *dst)
{
    return signed_integer(c, ((const int64_t *)c->v.data)[r], dst);
}

static size_t fmt_uint8(struct column *c, size_t r, char *dst)
{
    return integer(c, false, ((const uint8_t *)c->v.data)[r], dst);
}

static size_t fmt_uint16(struct column *c, size_t r, char *dst)
{
    return integer(c, false, ((const uint16_t *)c->v.data)[r], dst);
}

static size_t fmt_uint32(struct column *c, size_t r, char *dst)
{
    return integer(c, false, ((const uint32_t *)c->v.data)[r], dst);
}

static size_t fmt_uint64(struct column *c, size_t r, char *dst)
{
    return integer(c, false, ((const uint64_t *)c->v.data)[r], dst);
}

static size_t fmt_bool(struct column *c, size_t r, char *dst)
{
    /* Read as a byte: DuckDB stores a BOOLEAN as one byte, 0 or 1. */
    bool b = ((const uint8_t *)c->v.data)[r] != 0;
    memcpy(dst, b ? "true" : "false", b ? 4 : 5);
    return b ? 4 : 5;
}

/* Days since 1970-01-01 of 0001-01-01 and 9999-12-31: the dates formatted here. DuckDB writes
 * other years with more digits or a " (BC)" suffix, and the infinities as words. */
#define DAY_MIN    (-719162)
#define DAY_MAX    2932896
#define US_PER_DAY INT64_C(86400000000)

/* YYYY-MM-DD of a day in [DAY_MIN, DAY_MAX] (Howard Hinnant's civil_from_days) at o, through
 * the column's one-day cache; returns the end of the text. */
static char *date_text(struct column *c, int64_t days, char *o)
{
    if (days != c->day) {
        /* Counted from 0000-03-01, positive over [DAY_MIN, DAY_MAX]: unsigned 32-bit
         * arithmetic, cheaper than the signed 64-bit of the general algorithm. */
        uint32_t z = (uint32_t)(days + 719468);
        uint32_t era = z / 146097, doe = z - era * 146097;
        uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint32_t mp = (5 * doy + 2) / 153;
        uint32_t day = doy - (153 * mp + 2) / 5 + 1;
        uint32_t month = mp < 10 ? mp + 3 : mp - 9;
        uint32_t year = yoe + era * 400 + (month <= 2);
        char *t = c->day_text;
        memcpy(t, digits2 + (year / 100) * 2, 2);
        memcpy(t + 2, digits2 + (year % 100) * 2, 2);
        t[4] = '-';
        memcpy(t + 5, digits2 + month * 2, 2);
        t[7] = '-';
        memcpy(t + 8, digits2 + day * 2, 2);
        c->day = days;
    }
    memcpy(o, c->day_text, 10);
    return o + 10;
}

static size_t fmt_date(struct column *c, size_t r, char *dst)
{
    int32_t days = ((const int32_t *)c->v.data)[r];
    if (days < DAY_MIN || days > DAY_MAX)
        return 0;
    return (size_t)(date_text(c, days, dst) - dst);
}

/* YYYY-MM-DD HH:MM:SS, then the microseconds without trailing zeros when there are any. */
static size_t fmt_timestamp(struct column *c, size_t r, char *dst)
{
    int64_t us = ((const int64_t *)c->v.data)[r];
    int64_t days = us / US_PER_DAY, t = us % US_PER_DAY;
    if (t < 0) { /* before 1970: the day before, counted forward */
        t += US_PER_DAY;
        days--;
    }
    if (days < DAY_MIN || days > DAY_MAX)
        return 0;
    char *o = date_text(c, days, dst);
    unsigned secs = (unsigned)(t / 1000000), micros = (unsigned)(t % 1000000);
    *o = ' ';
    memcpy(o + 1, digits2 + (secs / 3600) * 2, 2);
    o[3] = ':';
    memcpy(o + 4, digits2 + (secs / 60 % 60) * 2, 2);
    o[6] = ':';
    memcpy(o + 7, digits2 + (secs % 60) * 2, 2);
    o += 9;
    if (micros) {
        *o = '.';
        o += 7;
        digits_n_before(micros, 6, o);
        while (o[-1] == '0')
            o--;
    }
    return (size_t)(o - dst);
}

/* The formatter of each type read as it is; decimals by the bytes of their integers. */
static format_fn *const formats[] = {
    [DP_BOOLEAN] = fmt_bool,     [DP_TINYINT] = fmt_int8,        [DP_SMALLINT] = fmt_int16,
    [DP_INTEGER] = fmt_int32,    [DP_BIGINT] = fmt_int64,        [DP_UTINYINT] = fmt_uint8,
    [DP_USMALLINT] = fmt_uint16, [DP_UINTEGER] = fmt_uint32,     [DP_UBIGINT] = fmt_uint64,
    [DP_DATE] = fmt_date,        [DP_TIMESTAMP] = fmt_timestamp,
};
static format_fn *const decimal_formats[] = { [2] = fmt_int16, [4] = fmt_int32, [8] = fmt_int64 };

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

/* Types whose text (formatted here or cast by DuckDB) is made of these characters only, so a
 * delimiter outside them can never appear in it; raw: read in its own type (see formats[]). */
static const struct {
    const char *type; /* a DuckDB type name, or a prefix ending in '(' */
    const char *alphabet;
    bool raw;
} kinds[] = {
    { "VARCHAR", NULL, true },
    { "BOOLEAN", "truefals", true },
    { "TINYINT", "-0123456789", true },
    { "SMALLINT", "-0123456789", true },
    { "INTEGER", "-0123456789", true },
    { "BIGINT", "-0123456789", true },
    { "UTINYINT", "0123456789", true },
    { "USMALLINT", "0123456789", true },
    { "UINTEGER", "0123456789", true },
    { "UBIGINT", "0123456789", true },
    { "HUGEINT", "-0123456789", false },
    { "UHUGEINT", "0123456789", false },
    { "DECIMAL(", "-.0123456789", true }, /* raw up to 18 digits, see type_kind() */
    /* "inf", "-inf", "nan", "1e+20", "-0.0", and the other spellings of infinity and NaN. */
    { "FLOAT", "+-.0123456789EFINATYefinaty", false },
    { "DOUBLE", "+-.0123456789EFINATYefinaty", false },
    /* Outside years 1 to 9999 dates are DuckDB's text (" (BC)", "infinity"), never plain. */
    { "DATE", "-0123456789", true },
    { "TIMESTAMP", "-0123456789 :.", true },
};

/* Sets c->raw and c->plain from c->type. */
static void type_kind(struct column *c, const char *delim, size_t delim_len)
{
    for (size_t i = 0; i < NELEM(kinds); i++) {
        size_t n = strlen(kinds[i].type);
        bool prefix = kinds[i].type[n - 1] == '(';
        if (prefix ? strncmp(c->type, kinds[i].type, n) != 0 : strcmp(c->type, kinds[i].type) != 0)
            continue;
        int width = 0, scale;
        /* Decimals of up to 18 digits are 64-bit integers or narrower; wider ones are cast. */
        c->raw =
            kinds[i].raw &&
            (!prefix || (sscanf(c->type, "DECIMAL(%d,%d)", &width, &scale) == 2 && width <= 18));
        /* A delimiter of several bytes never appears in ASCII text. */
        c->plain = kinds[i].alphabet && (delim_len > 1 || !strchr(kinds[i].alphabet, delim[0]));
        return;
    }
}

static int column_cmp(const void *a, const void *b)
{
    return strcmp(((const struct column *)a)->name, ((const struct column *)b)->name);
}

/* The input's columns in byte order of their names, and the SELECT that streams them: types
 * formatted here as they are, the rest cast to text by DuckDB. */
static int plan_columns(struct driver_ctx *ctx, const char *table, const char *delim,
                        struct column **cols, size_t *ncols, const char **sql, struct err *err)
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
        c[i].day = INT64_MIN; /* no day cached */
        type_kind(&c[i], delim, strlen(delim));
    }
    qsort(c, dc.n, sizeof(*c), column_cmp);
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    for (size_t i = 0; i < dc.n; i++) {
        const char *id = dataplane_ident(a, c[i].name);
        if (c[i].raw)
            strbuf_addf(&sb, "%s%s", i ? ", " : "", id);
        else if (typemap_duckdb_is_nested(c[i].type) /* written as JSON text */)
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

/* Picks each column's formatter from the types its query returns. */
static int bind_columns(struct csvw *w, struct dataplane *dp, const char *sql, struct arena *a,
                        struct err *err)
{
    struct dp_type *types;
    size_t n;
    if (dataplane_column_types(dp, arena_printf(a, "(%s)", sql), a, &types, &n, err) != 0)
        return -1;
    if (n != w->ncols)
        return err_set(err, ERR_INTERNAL, "the query over the input has %zu columns, not %zu", n,
                       w->ncols);
    for (size_t i = 0; i < n; i++) {
        struct column *c = &w->cols[i];
        const struct dp_type *t = &types[i];
        c->quote = w->quote == QUOTE_ALL || (w->quote == QUOTE_NONNUMERIC && !c->numeric);
        if (t->kind == DP_VARCHAR)
            continue;
        if (t->kind == DP_DECIMAL)
            c->format = t->bytes < NELEM(decimal_formats) ? decimal_formats[t->bytes] : NULL;
        else
            c->format = (size_t)t->kind < NELEM(formats) ? formats[t->kind] : NULL;
        c->width = t->width;
        c->scale = t->scale;
        if (!c->raw || !c->format)
            return err_set(err, ERR_INTERNAL, "column '%s' (%s) cannot be read as text", c->name,
                           c->type);
    }
    return 0;
}

/* Points the columns at the chunk. */
static void load_chunk(struct csvw *w, const struct dp_chunk *ch, size_t rows, struct arena *a)
{
    bool grow = rows > w->rows_cap;
    if (grow)
        w->rows_cap = rows;
    for (size_t i = 0; i < w->ncols; i++) {
        struct column *c = &w->cols[i];
        dataplane_chunk_vector(ch, i, &c->v);
        if (c->format)
            continue;
        if (grow) {
            c->s = arena_alloc(a, rows * sizeof(*c->s));
            c->len = arena_alloc(a, rows * sizeof(*c->len));
        }
        for (size_t r = 0; r < rows; r++)
            c->s[r] =
                dp_vector_valid(&c->v, r) ? dataplane_vector_string(&c->v, r, &c->len[r]) : NULL;
    }
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

/* ==== Rows ==== */

static inline bool is_null(const struct column *c, size_t r)
{
    return !dp_vector_valid(&c->v, r);
}

/* DuckDB's text of the value at row r of column i, in w->scratch. */
static const char *cast_text(struct csvw *w, const struct dp_chunk *ch, size_t i, size_t r,
                             struct err *err)
{
    strbuf_reset(&w->scratch);
    if (dataplane_chunk_cast_text(ch, i, r, &w->scratch, err) != 0)
        return NULL;
    return strbuf_str(&w->scratch);
}

/* A value formatted here, UTF-8: written in place, then quoted when it has to be. */
static int formatted_utf8(struct csvw *w, const struct dp_chunk *ch, size_t i, size_t r,
                          struct err *err)
{
    struct column *c = &w->cols[i];
    char *o = room(w, FMT_MAX + 2);
    size_t n = c->format(c, r, o + c->quote);
    if (n == 0) {
        const char *s = cast_text(w, ch, i, r, err);
        if (!s)
            return -1;
        text_utf8(w, s, w->scratch.len, c->quote, false);
        return 0;
    }
    /* Formatted text holds no quote: quoting only adds the two around it. */
    if (c->quote || (!c->plain && needs_quotes(w, o, n))) {
        if (!c->quote)
            memmove(o + 1, o, n);
        o[0] = '"';
        o[n + 1] = '"';
        n += 2;
    }
    w->buf.len += n;
    return 0;
}

static inline void delimiter_utf8(struct csvw *w)
{
    if (w->delim_len == 1) {
        *room(w, 1) = w->delim[0];
        w->buf.len++;
    } else {
        copy_utf8(w, w->delim, w->delim_len);
    }
}

/* The rows of the current chunk, UTF-8. */
static int chunk_utf8(struct csvw *w, const struct dp_chunk *ch, size_t rows, struct err *err)
{
    for (size_t r = 0; r < rows; r++) {
        w->row++;
        for (size_t i = 0; i < w->ncols; i++) {
            struct column *c = &w->cols[i];
            if (i > 0)
                delimiter_utf8(w);
            if (!c->format) {
                if (c->s[r])
                    text_utf8(w, c->s[r], c->len[r], c->quote, c->plain);
            } else if (!is_null(c, r) && formatted_utf8(w, ch, i, r, err) != 0) {
                return -1;
            }
        }
        /* Both newlines fit a fixed two-byte copy ("\n" with its NUL). */
        memcpy(room(w, 2), w->nl, 2);
        w->buf.len += w->nl_len;
        w->buf.buf[w->buf.len] = '\0'; /* strbuf's invariant */
        if (w->buf.len >= FLUSH_AT && flush(w, err) != 0)
            return -1;
    }
    return 0;
}

/* The rows of the current chunk in another encoding, converted a piece at a time. */
static int chunk_encoded(struct csvw *w, const struct dp_chunk *ch, size_t rows, struct err *err)
{
    char tmp[FMT_MAX];
    for (size_t r = 0; r < rows; r++) {
        w->row++;
        for (size_t i = 0; i < w->ncols; i++) {
            struct column *c = &w->cols[i];
            if (separator(w, i, err) != 0)
                return -1;
            const char *s = c->format ? tmp : c->s[r];
            size_t len = c->format ? 0 : c->len[r];
            if (c->format ? is_null(c, r) : !s)
                continue; /* NULL: an empty field */
            if (c->format && (len = c->format(c, r, tmp)) == 0) {
                if (!(s = cast_text(w, ch, i, r, err)))
                    return -1;
                len = w->scratch.len;
            }
            if (field(w, s, len, c->quote, i, err) != 0)
                return -1;
        }
        if (end_row(w, err) != 0)
            return -1;
    }
    return 0;
}

/* ==== Fetching ahead ====
 * A thread of its own fetches chunks into a short queue while this one formats them, so the two
 * halves of the work overlap instead of taking turns: DuckDB runs its scan and casts in the
 * fetching thread whenever its streaming buffer is empty, besides its own worker threads. */

#define AHEAD 8 /* chunks queued: 2048 rows each */

struct fetcher {
    struct dp_cursor *cur;
    pthread_t thread;
    bool threaded; /* false when no thread could be started: fetched in line */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a chunk queued or taken, the end reached, or stop */
    struct dp_chunk *queue[AHEAD];
    size_t head, count;
    bool done; /* the fetching thread has finished: end of the result or error */
    bool stop; /* the consumer gave up: fetch no more */
    int rc;    /* of the last fetch: 0 end, -1 error */
    struct err err;
};

static void *fetch_ahead(void *arg)
{
    struct fetcher *f = arg;
    for (;;) {
        struct dp_chunk *ch = NULL;
        struct err e = ERR_INIT;
        int rc = dataplane_cursor_fetch(f->cur, &ch, &e);
        pthread_mutex_lock(&f->lock);
        while (rc == 1 && f->count == AHEAD && !f->stop)
            pthread_cond_wait(&f->changed, &f->lock);
        if (rc != 1 || f->stop) {
            f->done = true;
            f->rc = rc == 1 ? 0 : rc;
            f->err = e;
            pthread_cond_broadcast(&f->changed);
            pthread_mutex_unlock(&f->lock);
            dataplane_chunk_free(ch);
            return NULL;
        }
        f->queue[(f->head + f->count++) % AHEAD] = ch;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
    }
}

static void fetcher_start(struct fetcher *f, struct dp_cursor *cur)
{
    *f = (struct fetcher){ .cur = cur, .err = ERR_INIT };
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
    f->threaded = pthread_create(&f->thread, NULL, fetch_ahead, f) == 0;
}

/* The next chunk, as dataplane_cursor_fetch() returns it. */
static int fetcher_next(struct fetcher *f, struct dp_chunk **ch, struct err *err)
{
    if (!f->threaded)
        return dataplane_cursor_fetch(f->cur, ch, err);
    pthread_mutex_lock(&f->lock);
    while (f->count == 0 && !f->done)
        pthread_cond_wait(&f->changed, &f->lock);
    int rc = f->count ? 1 : f->rc;
    if (rc == 1) {
        *ch = f->queue[f->head];
        f->head = (f->head + 1) % AHEAD;
        f->count--;
        pthread_cond_broadcast(&f->changed);
    } else if (rc < 0 && !err->code) { /* the first error wins */
        *err = f->err;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* Stops the thread and frees what it queued; the cursor is idle again. */
static void fetcher_stop(struct fetcher *f)
{
    if (f->threaded) {
        pthread_mutex_lock(&f->lock);
        f->stop = true;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    for (; f->count; f->count--, f->head = (f->head + 1) % AHEAD)
        dataplane_chunk_free(f->queue[f->head]);
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
}

/* ==== The driver ==== */

static int write_rows(struct csvw *w, struct dp_cursor *cur, struct arena *a, struct err *err)
{
    struct fetcher f;
    fetcher_start(&f, cur);
    struct dp_chunk *ch;
    int rc;
    while ((rc = fetcher_next(&f, &ch, err)) == 1) {
        size_t rows = dataplane_chunk_rows(ch);
        load_chunk(w, ch, rows, a);
        rc = w->enc == ENC_UTF8 ? chunk_utf8(w, ch, rows, err) : chunk_encoded(w, ch, rows, err);
        dataplane_chunk_free(ch);
        if (rc != 0)
            break;
    }
    fetcher_stop(&f);
    return rc;
}

static int write_header(struct csvw *w, struct err *err)
{
    for (size_t c = 0; c < w->ncols; c++) {
        const char *name = w->cols[c].name;
        if (separator(w, c, err) != 0 ||
            field(w, name, strlen(name), w->quote != QUOTE_MINIMAL, c, err) != 0)
            return -1;
    }
    return end_row(w, err);
}

/* The bytes that can make a field need quotes, as a table and as words for needs_quotes(). */
static void init_special(struct csvw *w)
{
    static const unsigned char quote_bytes[] = { '"', '\r', '\n' };
    for (size_t i = 0; i < NELEM(quote_bytes); i++) {
        w->special[quote_bytes[i]] = 1;
        w->special8[i] = UINT64_C(0x0101010101010101) * quote_bytes[i];
    }
    w->special[(unsigned char)w->delim[0]] = 2;
    w->special8[3] = UINT64_C(0x0101010101010101) * (unsigned char)w->delim[0];
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct fsdriver_target t;
    struct options o;
    struct column *cols;
    size_t ncols;
    const char *sql;
    if (fsdriver_target(ctx, &t, err) != 0 || read_options(ctx->config, &o, err) != 0 ||
        plan_columns(ctx, t.in->table, o.delim, &cols, &ncols, &sql, err) != 0)
        return -1;
    struct csvw w = {
        .enc = (enum csv_enc)o.enc,
        .quote = (enum csv_quoting)o.quoting,
        .delim = o.delim,
        .delim_len = strlen(o.delim),
        .nl = o.newline == 1 ? "\r\n" : "\n",
        .nl_len = o.newline == 1 ? 2 : 1,
        .cols = cols,
        .ncols = ncols,
    };
    init_special(&w);
    struct dp_cursor *cur = NULL;
    bool stream_buffer = false;
    struct err ignored = ERR_INIT; /* of the streaming buffer setting */
    int rc = -1;
    w.out = fsdriver_out_begin(ctx->arena, t.path, t.create_dirs, err);
    if (!w.out)
        goto done;
    /* UTF-16 output is little-endian with a byte-order mark. */
    if (w.enc == ENC_UTF16)
        strbuf_add(&w.buf, "\xFF\xFE", 2);
    if (o.header && write_header(&w, err) != 0)
        goto done;
    /* DuckDB reads the setting when the query starts; another statement on the connection
     * would end the streaming query, so it is restored once the cursor is closed. A failure to
     * set it changes nothing but the speed. */
    stream_buffer =
        dataplane_exec(ctx->dp, "SET streaming_buffer_size = " STREAM_BUFFER, &ignored) == 0;
    if (bind_columns(&w, ctx->dp, sql, ctx->arena, err) != 0)
        goto done;
    cur = dataplane_cursor_open(ctx->dp, sql, err);
    if (!cur || write_rows(&w, cur, ctx->arena, err) != 0)
        goto done;
    /* An empty UTF-16 file stays empty rather than holding a lone byte-order mark. */
    if (w.enc == ENC_UTF16 && w.buf.len == 2 && w.row == 0 && !o.header)
        strbuf_reset(&w.buf);
    if (flush(&w, err) != 0 || fsdriver_out_commit(w.out, &ctx->bytes_written, err) != 0)
        goto done;
    ctx->rows_in = w.row;
    ctx->rows_out = w.row;
    rc = 0;
done:
    dataplane_cursor_close(cur);
    if (stream_buffer)
        dataplane_exec(ctx->dp, "RESET streaming_buffer_size", &ignored);
    strbuf_release(&w.buf);
    strbuf_release(&w.scratch);
    if (rc != 0 && w.out)
        fsdriver_out_abort(w.out);
    return rc == 0 ? 0 : fsdriver_write_failed(err, "CSV", t.path);
}

const struct driver driver_csv_writer = {
    .name = "csv_writer",
    .run = run,
};
