/* YAML writer: a JSON tree as block-style YAML that the loader reads back to an equal tree.
 * Deterministic (object keys in insertion order, or sorted with YAMLWRITE_SORT). Strings that
 * would read back as another type, or that need escapes, are double-quoted; multi-line strings
 * use a literal block scalar when that reads back exactly. No libyaml: the format is small and
 * must stay byte-stable across library versions. */
#ifndef OSIRIS_YAMLWRITE_H
#define OSIRIS_YAMLWRITE_H

#include "json.h"
#include "strbuf.h"

enum {
    YAMLWRITE_SORT = 1, /* sort object keys */
};

/* Appends v as a YAML document (no "---", ends with a newline) to out. */
void yamlwrite(const json_t *v, struct strbuf *out, unsigned flags);

#endif
