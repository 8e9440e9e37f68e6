/* YAML loader: libyaml events → the JSON tree (json_t) of a jdoc, with file:line:col for every
 * node. This is the only file that includes libyaml's parser.
 *
 * Scalars follow the YAML 1.2 core schema: null (~, null, empty), booleans (true/false in three
 * casings), integers (decimal, 0o octal, 0x hex), floats (incl. .inf/.nan, which are rejected as
 * JSON cannot hold them); quoted and block scalars are strings, so `0.1.0` and "1" are strings.
 * The tags !!str, !!int, !!float, !!bool, !!null, !!map, !!seq are honoured; others are errors.
 * Anchors and aliases are expanded by copy; merge keys (<<) are applied.
 *
 * Rejected with a positioned error (ERR_INPUT): syntax errors, invalid UTF-8, duplicate keys,
 * keys that are not strings, more than one document, nesting deeper than YAMLLOAD_MAX_DEPTH,
 * aliases expanding to more than YAMLLOAD_MAX_ALIAS_NODES nodes, integers outside int64. */
#ifndef OSIRIS_YAMLLOAD_H
#define OSIRIS_YAMLLOAD_H

#include <stddef.h>

#include "err.h"
#include "jdoc.h"

#define YAMLLOAD_MAX_DEPTH       512
#define YAMLLOAD_MAX_ALIAS_NODES 100000

/* Loads path into doc (which must be JDOC_INIT or released; the name in messages is path).
 * An empty document gives a JSON null root. On error doc is left released. */
int yamlload_file(struct jdoc *doc, const char *path, struct err *err);

/* Same, from memory; name is used in messages. */
int yamlload_mem(struct jdoc *doc, const char *name, const void *buf, size_t len, struct err *err);

const char *yamlload_library_version(void);

#endif
