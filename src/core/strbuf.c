/* Growable strings with an optional size bound. */
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, size_t max)
{
    memset(sb, 0, sizeof(*sb));
    sb->max = max;
}

void strbuf_release(struct strbuf *sb)
{
    free(sb->buf);
    size_t max = sb->max;
    strbuf_init(sb, max);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    sb->toobig = false;
    if (sb->buf)
        sb->buf[0] = '\0';
}

bool strbuf_grow(struct strbuf *sb, size_t n)
{
    if (sb->max && (n > sb->max || sb->len > sb->max - n)) {
        sb->toobig = true;
        return false;
    }
    size_t cap = sb->cap;
    XGROW(sb->buf, cap, sb->len + n + 1);
    sb->cap = cap;
    if (sb->len == 0)
        sb->buf[0] = '\0';
    return true;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
    if (!strbuf_grow(sb, n))
        return;
    if (n)
        memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_adds(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
    char ch = (char)c;
    strbuf_add(sb, &ch, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n <= 0 || !strbuf_grow(sb, (size_t)n))
        return;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
    if (len < sb->len) {
        sb->len = len;
        sb->buf[len] = '\0';
    }
}

const char *strbuf_str(const struct strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *p = sb->buf ? sb->buf : xstrdup("");
    if (len)
        *len = sb->len;
    size_t max = sb->max;
    strbuf_init(sb, max);
    return p;
}
