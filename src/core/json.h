/* JSON values: the only file that includes jansson.
 *
 * The tree type everywhere in osiris is jansson's `json_t` (reference-counted; json_decref() what
 * you own). This module adds what jansson lacks: the canonical writer behind every fingerprint,
 * a writer with Python-compatible float text, JSON-Schema equality and RFC 6901 pointers.
 * Our prefix is `jv_` because `json_` belongs to jansson. */
#ifndef OSIRIS_JSON_H
#define OSIRIS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "strbuf.h"

/* Makes jansson allocate through xmalloc (abort on OOM, as everywhere in osiris) instead of
 * returning NULL from constructors nobody checks. Call once at program start. */
void jv_init(void);

/* Parses one JSON text. Errors are positioned "<name>:<line>:<col>: <reason>" (ERR_INPUT).
 * Duplicate object keys are rejected. Returns a new reference. */
json_t *jv_parse(const char *text, size_t len, const char *name, struct err *err);

/* Canonical form, appended to out: keys sorted by their UTF-8 bytes, no whitespace, strings
 * unescaped except '"', '\\' and control characters, integers as integers, reals in the
 * shortest text that reads back to the same double (and always with '.' or 'e', so a real
 * stays a real). Identical values give identical bytes; fingerprints hash this. */
void jv_canonical(const json_t *v, struct strbuf *out);

enum {
    JV_PRETTY = 1, /* newlines and two-space indentation */
    JV_SORT = 2,   /* sort object keys (otherwise insertion order) */
};
/* Appends v to out in the same number and string format as jv_canonical(). */
void jv_dump(const json_t *v, struct strbuf *out, unsigned flags);

/* Shortest round-trip text of a finite double, as Python's repr() writes it: "0.1", "1.0",
 * "1e+16", "1.5e-05". buf must hold 32 bytes. */
void jv_format_real(double d, char buf[32]);

/* Appends the text of a number, boolean or null (nothing for other types). */
void jv_scalar(const json_t *v, struct strbuf *out);

/* Appends s to out with every invalid UTF-8 sequence replaced by U+FFFD; true when one was. */
bool jv_utf8_clean(struct strbuf *out, const char *s);

/* A JSON string of s, invalid UTF-8 replaced by U+FFFD (jansson refuses it, and file names need
 * not be UTF-8); null for NULL. New reference. */
json_t *jv_text(const char *s);

/* The string at key of object o, or NULL (no key, not a string, o not an object). */
const char *jv_str(const json_t *o, const char *key);

/* Appends s as a JSON string literal (with quotes). */
void jv_quote(struct strbuf *out, const char *s, size_t len);

/* Equality as JSON Schema defines it: 1 equals 1.0; object key order does not matter. */
bool jv_equal(const json_t *a, const json_t *b);

/* Compares two numbers exactly (an int64 against a double without rounding either): -1, 0, 1. */
int jv_number_cmp(const json_t *a, const json_t *b);

/* True for an integer, or a real with no fractional part. */
bool jv_is_integral(const json_t *v);

/* "object", "array", "string", "integer", "number", "boolean" or "null". */
const char *jv_type_name(const json_t *v);

/* RFC 6901: the value at pointer ("" is the root), or NULL. Borrowed. */
json_t *jv_pointer_get(const json_t *root, const char *pointer);

/* Appends "/" and token escaped for a JSON pointer (~ → ~0, / → ~1). */
void jv_pointer_add(struct strbuf *sb, const char *token);
void jv_pointer_add_index(struct strbuf *sb, size_t index);

/* Decodes one pointer token (~1 → /, ~0 → ~) of length n into out (reset first). */
void jv_pointer_unescape(struct strbuf *out, const char *token, size_t n);

/* Version string of the JSON library in use. */
const char *jv_library_version(void);

#endif
