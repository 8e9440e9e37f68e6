/* YAML writer: a JSON tree as block-style YAML that the loader reads back to an equal tree.
 * Deterministic (object keys in insertion order, or sorted with YAMLWRITE_SORT). Strings that
 * would read back as another type, or that need escapes, are double-quoted; multi-line strings
 * use a literal block scalar when that reads back exactly. No libyaml: the format is small and
 * must stay byte-stable across library versions.
 *
 * Layout, as PyYAML's default_flow_style=False: 2-space indentation for nested mappings, a
 * sequence under a key is not indented ("key:\n- item"), a container inside a sequence item
 * starts on the "- " line, empty containers are {} and [], numbers as in jv_canonical().
 * Strings a YAML 1.1 reader would take for something else (yes, 1_000, 2024-01-01) are quoted
 * too. Keys longer than 1000 bytes use the explicit "? key" form (libyaml's simple-key limit).
 *
 * yamlload(yamlwrite(t)) equals t for every tree whose strings are valid UTF-8, whose keys hold
 * no NUL (the loader rejects such keys) and that nests at most YAMLLOAD_MAX_DEPTH levels. */
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
