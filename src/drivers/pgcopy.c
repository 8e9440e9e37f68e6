/* COPY text format (see pgcopy.h), as PostgreSQL's copyfromparse.c and copyto.c define it. */
#include "pgcopy.h"

#include <string.h>

/* ==== Decoding ==== */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte a backslash sequence stands for; *r is just past the backslash and is advanced past
 * the sequence. The server writes only \b \f \n \r \t \v and \\, but reads octal (\ooo) and hex
 * (\xhh) as well, so those are decoded too. */
static char unescape(char **r, const char *end)
{
    char c = *(*r)++;
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'v':
        return '\v';
    case 'x':
        if (*r < end && hexval(**r) >= 0) {
            int v = hexval(*(*r)++);
            if (*r < end && hexval(**r) >= 0)
                v = v * 16 + hexval(*(*r)++);
            return (char)v;
        }
        return 'x';
    default:
        if (c >= '0' && c <= '7') {
            int v = c - '0';
            for (int k = 0; k < 2 && *r < end && **r >= '0' && **r <= '7'; k++)
                v = v * 8 + (*(*r)++ - '0');
            return (char)v;
        }
        return c;
    }
}

int pgcopy_decode_row(char *row, size_t len, struct pgcopy_field *fields, size_t n)
{
    if (len == 0 || row[len - 1] != '\n')
        return -1;
    char *r = row, *end = row + len - 1;
    size_t i = 0;
    for (;;) {
        if (i == n)
            return -1;
        if (end - r >= 2 && r[0] == '\\' && r[1] == 'N' && (r + 2 == end || r[2] == '\t')) {
            fields[i].data = NULL;
            fields[i].len = 0;
            r += 2;
        } else {
            char *start = r, *w = r;
            /* Until the first escape, the decoded text is the raw text. */
            while (r < end && *r != '\t' && *r != '\\')
                r++;
            w = r;
            while (r < end && *r != '\t') {
                if (*r != '\\') {
                    *w++ = *r++;
                } else if (++r == end) {
                    *w++ = '\\'; /* a lone trailing backslash (the server never sends one) */
                } else {
                    *w++ = unescape(&r, end);
                }
            }
            fields[i].data = start;
            fields[i].len = (size_t)(w - start);
        }
        i++;
        if (r == end)
            break;
        r++; /* the tab */
    }
    return i == n ? 0 : -1;
}

int pgcopy_unhex(struct pgcopy_field *f)
{
    if (!f->data)
        return 0;
    if (f->len < 2 || f->data[0] != '\\' || f->data[1] != 'x' || f->len % 2)
        return -1;
    size_t n = (f->len - 2) / 2;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(f->data[2 + 2 * i]), lo = hexval(f->data[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        f->data[i] = (char)(hi * 16 + lo);
    }
    f->len = n;
    return 0;
}

void pgcopy_interval_to_duckdb(struct pgcopy_field *f)
{
    if (!f->data || !memchr(f->data, '+', f->len))
        return;
    size_t w = 0;
    for (size_t r = 0; r < f->len; r++)
        if (f->data[r] != '+')
            f->data[w++] = f->data[r];
    f->len = w;
}

bool pgcopy_bc_to_duckdb(const struct pgcopy_field *f, struct strbuf *scratch)
{
    if (!f->data || f->len < 4 || memcmp(f->data + f->len - 3, " BC", 3) != 0)
        return false;
    size_t body = f->len - 3;
    const char *sp = memchr(f->data, ' ', body);
    size_t date = sp ? (size_t)(sp - f->data) : body;
    strbuf_reset(scratch);
    strbuf_add(scratch, f->data, date);
    strbuf_adds(scratch, " (BC)");
    strbuf_add(scratch, f->data + date, body - date);
    return true;
}

/* ==== Encoding ==== */

void pgcopy_put_null(struct strbuf *out)
{
    strbuf_add(out, "\\N", 2);
}

/* The escape of each byte that needs one, else 0. */
static const char escapes[256] = { ['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r' };

/* pgcopy_put_text() a run of plain bytes at a time: for a strbuf whose maximum may not leave room
 * for the worst case, so that it drops exactly what strbuf_add drops. */
static void put_text_bounded(struct strbuf *out, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        char e = escapes[(unsigned char)s[i]];
        if (!e)
            continue;
        strbuf_add(out, s + run, i - run);
        char pair[2] = { '\\', e };
        strbuf_add(out, pair, 2);
        run = i + 1;
    }
    strbuf_add(out, s + run, len - run);
}

void pgcopy_put_text(struct strbuf *out, const char *s, size_t len)
{
    if (out->max && (out->len > out->max || 2 * len > out->max - out->len)) {
        put_text_bounded(out, s, len);
        return;
    }
    /* Room for the worst case (every byte escaped), then one pass writing straight into the
     * buffer: a strbuf_add per run of plain bytes costs more than the scan. */
    if (out->cap - out->len <= 2 * len)
        strbuf_grow(out, 2 * len);
    char *o = out->buf + out->len;
    for (size_t i = 0; i < len; i++) {
        char e = escapes[(unsigned char)s[i]];
        if (!e) {
            *o++ = s[i];
        } else {
            *o++ = '\\';
            *o++ = e;
        }
    }
    out->len = (size_t)(o - out->buf);
    out->buf[out->len] = '\0';
}

void pgcopy_put_datetime(struct strbuf *out, const char *s, size_t len)
{
    static const char bc[] = " (BC)";
    const char *p = len >= 5 ? memmem(s, len, bc, 5) : NULL;
    if (!p) {
        pgcopy_put_text(out, s, len);
        return;
    }
    size_t at = (size_t)(p - s);
    pgcopy_put_text(out, s, at);
    pgcopy_put_text(out, p + 5, len - at - 5);
    strbuf_adds(out, " BC");
}
