/* YAML loader: libyaml events → the JSON tree (json_t) of a jdoc, with file:line:col for every
 * node. This is the only file that includes libyaml's parser.
 *
 * Scalars follow the YAML 1.2 core schema: null (~, null, empty), booleans (true/false in three
 * casings), integers (decimal, 0o octal, 0x hex), floats (incl. .inf/.nan, which are rejected as
 * JSON cannot hold them); quoted and block scalars are strings, so `0.1.0` and "1" are strings.
 * The tags !!str, !!int, !!float, !!bool, !!null, !!map, !!seq and the non-specific ! are
 * honoured (!!int "42" is 42); others are errors.
 * Anchors and aliases are expanded by copy (the copy keeps the anchored node's positions; its top
 * node takes the key position where the alias is used). Merge keys (a plain <<) take a mapping or
 * a sequence of mappings: explicit keys win, earlier mappings win over later ones, and merged
 * keys come first in the result, as with PyYAML.
 *
 * Positions: every node has one, and a mapping value also its key's, except true, false and
 * null: jansson shares one node for each, so they have none and jdoc_locate() gives the parent.
 *
 * Rejected with a positioned error (ERR_INPUT): syntax errors, invalid UTF-8, duplicate keys,
 * keys that are not strings (or contain NUL), more than one document, nesting deeper than
 * YAMLLOAD_MAX_DEPTH (aliases included), aliases expanding to more than YAMLLOAD_MAX_ALIAS_NODES
 * nodes in total (checked before copying), recursive or unknown aliases, integers outside int64,
 * floats outside double. */
#ifndef OSIRIS_YAMLLOAD_H
#define OSIRIS_YAMLLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "jdoc.h"

#define YAMLLOAD_MAX_DEPTH       512
#define YAMLLOAD_MAX_ALIAS_NODES 100000

/* Loads path into doc (which must be JDOC_INIT or released; the name in messages is path).
 * An empty document gives a JSON null root. On error doc is left released. A file that cannot
 * be read is ERR_IO: "cannot read '<path>': <strerror>". */
int yamlload_file(struct jdoc *doc, const char *path, struct err *err);

/* Same, from memory; name is used in messages. */
int yamlload_mem(struct jdoc *doc, const char *name, const void *buf, size_t len, struct err *err);

/* True when an untagged plain scalar with this text loads as a string, i.e. it is not a null,
 * boolean, integer or float (.inf and .nan included) under the rules above. The YAML writer asks
 * this to decide whether a string needs quotes. */
bool yamlload_plain_is_string(const char *s, size_t len);

const char *yamlload_library_version(void);

#endif
