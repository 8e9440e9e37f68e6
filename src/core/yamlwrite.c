/* YAML writer: block style the way PyYAML writes it, so files look like the original's:
 *
 *     name: Orders ETL
 *     steps:
 *     - id: extract
 *       needs: []
 *       query: |
 *         SELECT 1
 *
 * Quoting asks the loader's own resolver (yamlload_plain_is_string) whether a plain string
 * reads back as a string, so the two cannot drift apart; a YAML 1.1 pattern adds PyYAML's
 * look-alikes because the original tools read these files too. */
#include "yamlwrite.h"
#include "xalloc.h"
#include "yamlload.h"

#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest key written as a simple key: libyaml refuses simple keys of 1024 characters or more,
 * so longer ones use the explicit "? key" form. */
#define SIMPLE_KEY_MAX 1000

/* What PyYAML's resolver (YAML 1.1) turns into a bool, int, float, timestamp, merge or value. */
static const char yaml11_pattern[] =
    "^("
    "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|<<|="
    "|[-+]?(0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|[1-9][0-9_]*(:[0-5]?[0-9])+)"
    "|[-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?"
    "|\\.[0-9_]+([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
    "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)"
    "|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]*)?"
    "([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?"
    ")$";

struct writer {
    struct strbuf *out; /* where the document goes; borrowed */
    unsigned flags;     /* YAMLWRITE_* */
    regex_t yaml11;     /* compiled yaml11_pattern */
    bool have_yaml11;   /* false if it failed to compile: then no string is plain */
};

/* ==== Characters ==== */

/* Decodes the UTF-8 character at s[*i] and advances *i. A byte that starts no valid sequence
 * comes back as itself (>= 0x80 and < 0x100) and is written through unchanged. */
static uint32_t next_char(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    size_t left = n - *i;
    uint32_t c = u[0];
    size_t len = 0; /* stays 0 for a continuation byte or an invalid lead byte */
    if (c < 0x80)
        len = 1;
    else if ((c & 0xe0) == 0xc0)
        len = 2;
    else if ((c & 0xf0) == 0xe0)
        len = 3;
    else if ((c & 0xf8) == 0xf0)
        len = 4;
    if (len <= 1 || len > left) {
        *i += 1;
        return c;
    }
    uint32_t v = c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
        if ((u[k] & 0xc0) != 0x80) {
            *i += 1;
            return c;
        }
        v = (v << 6) | (u[k] & 0x3f);
    }
    *i += len;
    return v;
}

/* Characters a YAML reader does not take as they are: C0 and C1 controls, DEL, the line
 * separators that libyaml treats as breaks (NEL, LS, PS), the BOM (skipped at a line start)
 * and the non-characters U+FFFE/U+FFFF. */
static bool must_escape(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
           c == 0xfffe || c == 0xffff;
}

/* ==== Choosing a scalar style ==== */

static bool plain_ok(const struct writer *w, const char *s, size_t n)
{
    if (n == 0 || strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]))
        return false;
    if (s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    if (n >= 3 && memcmp(s, "...", 3) == 0) /* a document end marker at column 0 */
        return false;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = next_char(s, n, &i);
        if (c == '\t' || must_escape(c))
            return false;
        if (c == ':' && i < n && s[i] == ' ')
            return false;
        if (c == '#' && at > 0 && s[at - 1] == ' ')
            return false;
    }
    if (!yamlload_plain_is_string(s, n))
        return false;
    return w->have_yaml11 && regexec(&w->yaml11, s, 0, NULL, 0) != 0;
}

/* A literal block reads back exactly when the text has a first line that does not start with
 * a blank, ends in at most one newline, has no trailing blanks and only printable characters.
 * *chomp tells whether "|-" is needed (no final newline). */
static bool literal_ok(const char *s, size_t n, bool *chomp)
{
    if (!memchr(s, '\n', n) || s[0] == '\n' || s[0] == ' ' || s[0] == '\t')
        return false;
    *chomp = s[n - 1] != '\n';
    size_t body = *chomp ? n : n - 1;
    if (s[body - 1] == '\n' || s[body - 1] == ' ' || s[body - 1] == '\t')
        return false;
    for (size_t i = 0; i < body;) {
        size_t at = i;
        uint32_t c = next_char(s, body, &i);
        if (c == '\n') {
            if (s[at - 1] == ' ' || s[at - 1] == '\t')
                return false;
            continue;
        }
        if (c != '\t' && must_escape(c))
            return false;
        if (c >= 0x80 && i - at == 1) /* invalid UTF-8 */
            return false;
    }
    return true;
}

/* Double-quoted, with the escapes JSON and YAML share (\" \\ \b \t \n \f \r \uXXXX). */
static void write_quoted(struct strbuf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_addch(out, '"');
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = next_char(s, n, &i);
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\r':
            esc = "\\r";
            break;
        }
        if (esc) {
            strbuf_adds(out, esc);
        } else if (must_escape(c) && (c < 0x80 || i - at > 1)) {
            char u[7] = {
                '\\',        'u', hex[(c >> 12) & 15], hex[(c >> 8) & 15], hex[(c >> 4) & 15],
                hex[c & 15], 0
            };
            strbuf_adds(out, u);
        } else {
            strbuf_add(out, s + at, i - at);
        }
    }
    strbuf_addch(out, '"');
}

static void add_indent(struct strbuf *out, int indent)
{
    for (int i = 0; i < indent; i++)
        strbuf_addch(out, ' ');
}

/* A string as a key or as a single-line value. */
static void write_flow_string(const struct writer *w, struct strbuf *out, const char *s, size_t n)
{
    if (plain_ok(w, s, n))
        strbuf_add(out, s, n);
    else
        write_quoted(out, s, n);
}

/* A scalar or an empty container, then the newline; indent is that of the entry holding it, and
 * a literal block's lines go 2 deeper. */
static void write_scalar(const struct writer *w, const json_t *v, int indent)
{
    struct strbuf *out = w->out;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        strbuf_adds(out, "{}");
        break;
    case JSON_ARRAY:
        strbuf_adds(out, "[]");
        break;
    default: /* numbers, booleans and null read the same in YAML as in JSON */
        jv_scalar(v, out);
        break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        bool chomp;
        if (!plain_ok(w, s, n) && literal_ok(s, n, &chomp)) {
            strbuf_adds(out, chomp ? "|-\n" : "|\n");
            for (size_t i = 0; i < n;) {
                size_t eol = i;
                while (eol < n && s[eol] != '\n')
                    eol++;
                if (eol > i) /* empty lines stay empty: no trailing blanks */
                    add_indent(out, indent + 2);
                strbuf_add(out, s + i, eol - i);
                strbuf_addch(out, '\n');
                i = eol + 1;
            }
            return;
        }
        write_flow_string(w, out, s, n);
        break;
    }
    }
    strbuf_addch(out, '\n');
}

/* ==== Containers ==== */

static bool is_block(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void write_block(const struct writer *w, const json_t *v, int indent, bool inline_first);

/* What follows a key (after "key" or "? key\n:"): a scalar on the same line or a nested block. */
static void write_value(const struct writer *w, const json_t *v, int indent)
{
    if (!is_block(v)) {
        strbuf_addch(w->out, ' ');
        write_scalar(w, v, indent);
        return;
    }
    strbuf_addch(w->out, '\n');
    /* PyYAML style: a sequence under a key starts at the key's own column. */
    write_block(w, v, json_is_array(v) ? indent : indent + 2, false);
}

/* A non-empty mapping or sequence whose entries start at column indent; with inline_first the
 * first entry continues a line already begun ("- "). Recursion follows the tree's depth, which
 * the loader bounds by YAMLLOAD_MAX_DEPTH. */
static void write_block(const struct writer *w, const json_t *v, int indent, bool inline_first)
{
    struct strbuf *out = w->out;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            if (i || !inline_first)
                add_indent(out, indent);
            strbuf_adds(out, "- ");
            if (is_block(item))
                write_block(w, item, indent + 2, true);
            else
                write_scalar(w, item, indent);
        }
        return;
    }

    size_t n = json_object_size(v);
    const char **keys = xmalloc(n * sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        keys[k++] = key;
    }
    if (w->flags & YAMLWRITE_SORT)
        qsort(keys, n, sizeof(*keys), cmp_keys);

    struct strbuf kb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i || !inline_first)
            add_indent(out, indent);
        strbuf_reset(&kb);
        write_flow_string(w, &kb, keys[i], strlen(keys[i]));
        if (kb.len > SIMPLE_KEY_MAX) {
            strbuf_adds(out, "? ");
            strbuf_add(out, kb.buf, kb.len);
            strbuf_addch(out, '\n');
            add_indent(out, indent);
        } else {
            strbuf_add(out, kb.buf, kb.len);
        }
        strbuf_addch(out, ':');
        write_value(w, json_object_get(v, keys[i]), indent);
    }
    strbuf_release(&kb);
    free(keys);
}

void yamlwrite(const json_t *v, struct strbuf *out, unsigned flags)
{
    struct writer w = { .out = out, .flags = flags };
    w.have_yaml11 = regcomp(&w.yaml11, yaml11_pattern, REG_EXTENDED | REG_NOSUB) == 0;
    if (is_block(v))
        write_block(&w, v, 0, false);
    else
        write_scalar(&w, v, 0);
    if (w.have_yaml11)
        regfree(&w.yaml11);
}
