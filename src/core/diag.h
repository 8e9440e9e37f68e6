/* Diagnostics: the errors and warnings of a validator (OML, osiris.yaml, connections), each with
 * a type name, a one-line message, an OML-style location ("steps[0].config.password") and a
 * file:line:col position. Validators collect all of them instead of stopping at the first. */
#ifndef OSIRIS_DIAG_H
#define OSIRIS_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "jdoc.h"

enum diag_severity { DIAG_ERROR, DIAG_WARNING };

struct diag {
    enum diag_severity severity;
    const char *type;     /* stable name, e.g. "missing_required_key" */
    const char *message;  /* one line, without the position */
    const char *location; /* "root", "steps[0].config.password" */
    const char *file;     /* file the position refers to; may be NULL */
    struct srcpos pos;    /* {0,0} when unknown */
};

/* All strings are in the arena. */
struct diags {
    struct arena arena;
    struct diag *items; /* owned, in the order found */
    size_t len, cap;
    size_t nerrors, nwarnings;
};

#define DIAGS_INIT                                                                                 \
    {                                                                                              \
        0                                                                                          \
    }

void diags_release(struct diags *d);

/* Adds a diagnostic about the value at JSON pointer (or its key, with at_key) of doc. */
struct diag *diags_add(struct diags *d, enum diag_severity sev, const char *type,
                       const struct jdoc *doc, const char *pointer, bool at_key, const char *fmt,
                       ...) __attribute__((format(printf, 7, 8)));

/* Adds a diagnostic with an explicit place; location may be NULL ("root"). */
struct diag *diags_add_at(struct diags *d, enum diag_severity sev, const char *type,
                          const char *file, struct srcpos pos, const char *location,
                          const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* "steps[0].config.password" for "/steps/0/config/password"; "root" for "". In arena a. */
const char *diag_location(struct arena *a, const char *pointer);

/* "file:line:col: error: message [type]" (without a newline) appended to out. */
void diag_format(const struct diag *dg, struct strbuf *out);

/* {"type","message","location","file","line","col","severity"}; a new reference. */
json_t *diag_json(const struct diag *dg);

/* Sets err (ERR_INPUT) from the first error, positioned; returns -1, or 0 when there is none. */
int diags_first_error(const struct diags *d, struct err *err);

#endif
