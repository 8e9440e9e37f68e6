/* Diagnostic lists: positioned errors and warnings collected by validators. */
#include "diag.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diags_release(struct diags *d)
{
    free(d->items);
    arena_release(&d->arena);
    memset(d, 0, sizeof(*d));
}

const char *diag_location(struct arena *a, const char *pointer)
{
    if (!pointer || !*pointer)
        return "root";
    struct strbuf sb = STRBUF_INIT, tok = STRBUF_INIT;
    const char *p = pointer;
    while (*p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        bool index = tok.len > 0;
        for (size_t i = 0; i < tok.len; i++)
            index = index && isdigit((unsigned char)tok.buf[i]);
        if (index)
            strbuf_addf(&sb, "[%s]", strbuf_str(&tok));
        else
            strbuf_addf(&sb, "%s%s", sb.len ? "." : "", strbuf_str(&tok));
        p += n;
    }
    char *s = arena_take(a, &sb);
    strbuf_release(&tok);
    return s;
}

static struct diag *push(struct diags *d, enum diag_severity sev, const char *type, const char *fmt,
                         va_list ap)
{
    XGROW(d->items, d->cap, d->len + 1);
    struct diag *dg = &d->items[d->len++];
    memset(dg, 0, sizeof(*dg));
    dg->severity = sev;
    dg->type = arena_strdup(&d->arena, type);
    dg->message = arena_vprintf(&d->arena, fmt, ap);
    if (sev == DIAG_ERROR)
        d->nerrors++;
    else
        d->nwarnings++;
    return dg;
}

struct diag *diags_add(struct diags *d, enum diag_severity sev, const char *type,
                       const struct jdoc *doc, const char *pointer, bool at_key, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct diag *dg = push(d, sev, type, fmt, ap);
    va_end(ap);
    dg->location = diag_location(&d->arena, pointer);
    if (doc) {
        dg->file = arena_strdup(&d->arena, doc->file);
        dg->pos = jdoc_locate(doc, pointer, at_key);
    }
    return dg;
}

struct diag *diags_add_at(struct diags *d, enum diag_severity sev, const char *type,
                          const char *file, struct srcpos pos, const char *location,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct diag *dg = push(d, sev, type, fmt, ap);
    va_end(ap);
    dg->location = arena_strdup(&d->arena, location ? location : "root");
    dg->file = file ? arena_strdup(&d->arena, file) : NULL;
    dg->pos = pos;
    return dg;
}

void diag_format(const struct diag *dg, struct strbuf *out)
{
    if (dg->file && dg->pos.line)
        strbuf_addf(out, "%s:%d:%d: ", dg->file, dg->pos.line, dg->pos.col);
    else if (dg->file)
        strbuf_addf(out, "%s: ", dg->file);
    strbuf_addf(out, "%s: %s [%s]", dg->severity == DIAG_ERROR ? "error" : "warning", dg->message,
                dg->type);
}

json_t *diag_json(const struct diag *dg)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "type", dg->type, "message", dg->message, "location",
                  dg->location, "severity", dg->severity == DIAG_ERROR ? "error" : "warning");
    if (dg->file)
        json_object_set_new(o, "file", json_string(dg->file));
    if (dg->pos.line) {
        json_object_set_new(o, "line", json_integer(dg->pos.line));
        json_object_set_new(o, "col", json_integer(dg->pos.col));
    }
    return o;
}

int diags_first_error(const struct diags *d, struct err *err)
{
    for (size_t i = 0; i < d->len; i++) {
        const struct diag *dg = &d->items[i];
        if (dg->severity != DIAG_ERROR)
            continue;
        return err_at(err, ERR_INPUT, dg->file, dg->pos.line, dg->pos.col, "%s", dg->message);
    }
    return 0;
}
