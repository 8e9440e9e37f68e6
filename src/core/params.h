/* Pipeline parameters: declarations in the OML `params` section, values from defaults, the
 * active profile, the environment and the command line, and their substitution into the OML.
 *
 * Declarations: `params: {name: {default: V, type: string|integer|number|boolean,
 * description: ..., sensitive: bool}}`, or the shorthand `name: V` (a default). Precedence, each
 * layer overriding the one before: default < profiles.<active>.params < OSIRIS_PARAM_<NAME> (upper
 * case; only for declared params) < --param NAME=VALUE. Text values from the environment and the
 * command line are converted to the declared type (or the default's type): "5" is 5 for an
 * integer param; a value that does not convert is an error.
 *
 * Substitution: in every string of the document outside `params` and `profiles`, a string that
 * is exactly "${params.NAME}" becomes the param's value with its type; a placeholder inside a
 * longer string is replaced by the value's text. Other ${...} forms are left alone. Each
 * substituted place is remembered (its template and the params it used), so messages can name
 * the param a value came from and sensitive values can be put back as placeholders before
 * anything is written. */
#ifndef OSIRIS_PARAMS_H
#define OSIRIS_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "jdoc.h"

struct param {
    const char *name;   /* in the arena */
    json_t *value;      /* effective value, owned reference; NULL when it has none */
    const char *source; /* "default", "profile", "env" or "cli" */
    bool sensitive;
};

/* A substituted place: container[key] (objects) or container[index] (arrays). */
struct param_use {
    json_t *container; /* borrowed from the document */
    const char *key;   /* in the arena; NULL for an array item */
    size_t index;
    const char *pointer;  /* JSON pointer of the place; in the arena */
    const char *template; /* the string as written; in the arena */
    const char *names;    /* the params used, "a, b"; in the arena */
    bool sensitive;       /* one of them is sensitive */
};

struct params {
    struct arena arena;
    struct param *items; /* owned; declaration order */
    size_t len, cap;
    struct param_use *uses; /* owned */
    size_t nuses, capuses;
};

#define PARAMS_INIT                                                                                \
    {                                                                                              \
        0                                                                                          \
    }

/* Reads the declarations of doc, computes the values (profile may be NULL; cli holds
 * "NAME=VALUE" strings) and substitutes them into doc->root in place. Problems become
 * diagnostics: invalid_param, unknown_param (a --param or profile param that is not declared),
 * unresolved_param (one error listing every unresolved name, sorted). */
void params_resolve(struct params *p, struct jdoc *doc, const char *profile, const char *const *cli,
                    size_t ncli, struct diags *d);
void params_release(struct params *p);

/* The use at container[key] / container[index], or NULL. */
const struct param_use *params_use_at(const struct params *p, const json_t *container,
                                      const char *key, size_t index);

/* Writes the templates of sensitive uses back into the document, so no sensitive value reaches
 * a file written from it; placeholders of plain params in those templates stay substituted. */
void params_restore_sensitive(const struct params *p);

/* {name: value} of every param with a value, sensitive ones as "${params.NAME}" (new
 * reference): the input of params_fp. */
json_t *params_effective(const struct params *p);

/* Fills "${params.NAME}" placeholders left in a compiled config (sensitive params) in place,
 * from values (name → value, e.g. from --param and OSIRIS_PARAM_<NAME> at run time): a whole
 * placeholder takes the value with its type, a placeholder inside text its text. The names
 * filled are set in used (a JSON object, name → value) so the caller can mask their values; names
 * without a value are appended to missing (a JSON array, each name once) and left as written. */
void params_fill(json_t *v, const json_t *values, json_t *used, json_t *missing);

#endif
