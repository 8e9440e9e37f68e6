/* The error struct: first error wins, context is prepended while unwinding. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int err_vset(struct err *err, int code, const char *fmt, va_list ap)
{
    if (!err || err->code)
        return -1;
    err->code = code ? code : ERR_INTERNAL;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return -1;
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int err_errno(struct err *err, int code, const char *fmt, ...)
{
    int saved = errno;
    if (!err || err->code)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    err->sys = saved;
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(saved));
    return -1;
}

int err_at(struct err *err, int code, const char *file, int line, int col, const char *fmt, ...)
{
    char where[512] = "";
    if (file && line > 0 && col > 0)
        snprintf(where, sizeof(where), "%s:%d:%d: ", file, line, col);
    else if (file && line > 0)
        snprintf(where, sizeof(where), "%s:%d: ", file, line);
    else if (file)
        snprintf(where, sizeof(where), "%s: ", file);
    char msg[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(err, code, "%s%s", where, msg);
}

void err_prefix(struct err *err, const char *fmt, ...)
{
    if (!err || !err->code)
        return;
    char pre[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    size_t plen = (size_t)n < sizeof(pre) ? (size_t)n : sizeof(pre) - 1;
    size_t mlen = strlen(err->msg);
    if (plen + mlen >= sizeof(err->msg))
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, pre, plen);
    err->msg[plen + mlen] = '\0';
}

void err_clear(struct err *err)
{
    memset(err, 0, sizeof(*err));
}

const char *err_code_name(int code)
{
    switch (code) {
#define XX(c, name, desc)                                                                          \
    case ERR_##c:                                                                                  \
        return name;
        ERR_CODES(XX)
#undef XX
    default:
        return "none";
    }
}
