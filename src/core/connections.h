/* osiris_connections.yaml (reference osiris-compile.md §3.2): connection aliases per family,
 * with ${VAR} and ${VAR:-default} read from the environment when a connection is resolved.
 *
 * Search order (the first file that exists wins): $OSIRIS_HOME/; the cwd; the cwd's parent. No
 * file means no connections. A path given explicitly must exist (ERR_IO naming it). The file is
 * checked when loaded, with positioned errors (ERR_INPUT): the top level is a mapping whose
 * `connections` is a mapping of families (names [A-Za-z0-9_-]+) to mappings of aliases (same
 * names) to mappings of fields; `default` must be a boolean; at most one alias per family has
 * default: true. `version` is accepted and ignored; other top-level keys are errors.
 *
 * Resolution errors use the original's messages: "No connections configured. Create
 * osiris_connections.yaml with <family> connections.", "Connection family 'F' not found.
 * Available families: ...", "Connection alias 'A' not found in family 'F'. Available aliases:
 * ...", "No default connection for family 'F'. Available aliases: ... Either: 1) Set 'default:
 * true' on an alias, 2) Name an alias 'default', or 3) Specify an alias explicitly.",
 * "Environment variable 'VAR' not set for <field> in F.A" (unset or empty). */
#ifndef OSIRIS_CONNECTIONS_H
#define OSIRIS_CONNECTIONS_H

#include <stdbool.h>

#include "err.h"
#include "jdoc.h"

struct connections {
    struct jdoc doc; /* the file as written, no substitution; root NULL when there is no file */
    char *path;      /* the file read, or NULL; owned */
};

#define CONNECTIONS_INIT                                                                           \
    {                                                                                              \
        0                                                                                          \
    }

int connections_load(struct connections *c, const char *path, struct err *err);
void connections_release(struct connections *c);

/* The aliases of a family (a mapping alias → fields), or NULL. Borrowed. */
const json_t *connections_family(const struct connections *c, const char *family);

/* The alias used when a step names none: the one with default: true, else one named
 * "default", else NULL. Borrowed. */
const char *connections_default_alias(const struct connections *c, const char *family);

/* Splits "@family.alias" at the first dot into malloc'd strings; alias may contain dots.
 * Errors: "Invalid connection reference format '...'. Expected '@family.alias'" and "Family and
 * alias cannot be empty" (ERR_INPUT). */
int connections_parse_ref(const char *ref, char **family, char **alias, struct err *err);

/* The resolved fields (new reference): variables substituted, `default` removed. alias NULL
 * selects the default alias. */
json_t *connections_resolve(const struct connections *c, const char *family, const char *alias,
                            struct err *err);

/* Substitutes ${VAR} and ${VAR:-default} in every string of v (new reference); a variable that
 * is unset or empty and has no default is left as written. */
json_t *connections_substitute(const json_t *v);

/* Appends to names (a JSON array) the variable names v refers to, each once, in order. */
void connections_env_names(const json_t *v, json_t *names);

#endif
