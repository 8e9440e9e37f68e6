/* jansson wrapper: parsing with positioned errors, the canonical and pretty writers, equality
 * and JSON pointers. Number text follows Python's repr() so files stay byte-compatible with the
 * original Osiris where it wrote JSON. */
#include "json.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jv_init(void)
{
    json_set_alloc_funcs(xmalloc, free);
}

json_t *jv_parse(const char *text, size_t len, const char *name, struct err *err)
{
    json_error_t je;
    json_t *v =
        json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v)
        err_at(err, ERR_INPUT, name, je.line, je.column, "%s", je.text);
    return v;
}

/* ==== Numbers ==== */

void jv_format_real(double d, char buf[32])
{
    char tmp[40];
    int p;
    /* The fewest significant digits that read back as the same double. */
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (p > 17)
        snprintf(tmp, sizeof(tmp), "%.16e", d);

    /* Split "-d.ddde+XX" into sign, digits and decimal exponent. */
    const char *s = tmp;
    bool neg = *s == '-';
    if (neg)
        s++;
    char digits[24];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *s;
    digits[nd] = '\0';
    int exp10 = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';

    char *o = buf;
    if (neg)
        *o++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                *o++ = '0';
            for (size_t i = 0; i < nd; i++)
                *o++ = digits[i];
        } else {
            size_t intlen = (size_t)exp10 + 1;
            for (size_t i = 0; i < intlen; i++)
                *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > intlen)
                for (size_t i = intlen; i < nd; i++)
                    *o++ = digits[i];
            else
                *o++ = '0';
        }
        *o = '\0';
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            for (size_t i = 1; i < nd; i++)
                *o++ = digits[i];
        }
        snprintf(o, 32 - (size_t)(o - buf), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
}

/* ==== Writers ==== */

void jv_quote(struct strbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_addch(out, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_add(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            strbuf_adds(out, "\\\"");
            break;
        case '\\':
            strbuf_adds(out, "\\\\");
            break;
        case '\b':
            strbuf_adds(out, "\\b");
            break;
        case '\f':
            strbuf_adds(out, "\\f");
            break;
        case '\n':
            strbuf_adds(out, "\\n");
            break;
        case '\r':
            strbuf_adds(out, "\\r");
            break;
        case '\t':
            strbuf_adds(out, "\\t");
            break;
        default: {
            char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
            strbuf_adds(out, u);
        }
        }
    }
    strbuf_add(out, s + run, len - run);
    strbuf_addch(out, '"');
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline(struct strbuf *out, unsigned flags, int depth)
{
    if (!(flags & JV_PRETTY))
        return;
    strbuf_addch(out, '\n');
    for (int i = 0; i < depth; i++)
        strbuf_adds(out, "  ");
}

void jv_scalar(const json_t *v, struct strbuf *out)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_NULL:
        strbuf_adds(out, "null");
        break;
    case JSON_TRUE:
        strbuf_adds(out, "true");
        break;
    case JSON_FALSE:
        strbuf_adds(out, "false");
        break;
    case JSON_INTEGER:
        strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        jv_format_real(json_real_value(v), num);
        strbuf_adds(out, num);
        break;
    default:
        break;
    }
}

static void dump(const json_t *v, struct strbuf *out, unsigned flags, int depth)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_INTEGER:
    case JSON_REAL:
        jv_scalar(v, out);
        break;
    case JSON_STRING:
        jv_quote(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        strbuf_addch(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_addch(out, ',');
            newline(out, flags, depth + 1);
            dump(json_array_get(v, i), out, flags, depth + 1);
        }
        if (n)
            newline(out, flags, depth);
        strbuf_addch(out, ']');
        break;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            keys[k++] = key;
        }
        if (flags & JV_SORT)
            qsort(keys, k, sizeof(*keys), cmp_keys);
        strbuf_addch(out, '{');
        for (size_t i = 0; i < k; i++) {
            if (i)
                strbuf_addch(out, ',');
            newline(out, flags, depth + 1);
            jv_quote(out, keys[i], strlen(keys[i]));
            strbuf_adds(out, (flags & JV_PRETTY) ? ": " : ":");
            dump(json_object_get(v, keys[i]), out, flags, depth + 1);
        }
        if (k)
            newline(out, flags, depth);
        strbuf_addch(out, '}');
        free(keys);
        break;
    }
    }
}

void jv_dump(const json_t *v, struct strbuf *out, unsigned flags)
{
    dump(v, out, flags, 0);
}

void jv_canonical(const json_t *v, struct strbuf *out)
{
    dump(v, out, JV_SORT, 0);
}

/* ==== Equality and types ==== */

/* An int64 against a double, exactly (a cast would round integers beyond 2^53). */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    json_int_t ti = (json_int_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

int jv_number_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_integer(a))
        return cmp_int_real(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b))
        return -cmp_int_real(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return x < y ? -1 : x > y;
}

bool jv_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return jv_number_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!jv_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        json_t *va;
        json_object_foreach((json_t *)a, key, va)
        {
            json_t *vb = json_object_get(b, key);
            if (!vb || !jv_equal(va, vb))
                return false;
        }
        return true;
    }
    default:
        return true; /* null, true, false */
    }
}

bool jv_is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

const char *jv_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* ==== JSON pointers ==== */

void jv_pointer_unescape(struct strbuf *out, const char *token, size_t n)
{
    strbuf_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (token[i] == '~' && i + 1 < n && (token[i + 1] == '0' || token[i + 1] == '1')) {
            strbuf_addch(out, token[i + 1] == '0' ? '~' : '/');
            i++;
        } else {
            strbuf_addch(out, token[i]);
        }
    }
}

/* Parses an array index token: digits only, no leading zero (RFC 6901 §4). */
static bool parse_index(const char *s, size_t n, size_t *out)
{
    if (n == 0 || (n > 1 && s[0] == '0'))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > ((size_t)-1) / 10 - 1)
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

json_t *jv_pointer_get(const json_t *root, const char *pointer)
{
    json_t *cur = (json_t *)root;
    if (!pointer || !*pointer)
        return cur;
    if (*pointer != '/')
        return NULL;
    struct strbuf tok = STRBUF_INIT;
    const char *p = pointer;
    while (cur && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        if (json_is_object(cur)) {
            cur = json_object_get(cur, strbuf_str(&tok));
        } else if (json_is_array(cur)) {
            size_t idx;
            cur = parse_index(tok.buf, tok.len, &idx) ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
        p += n;
    }
    strbuf_release(&tok);
    return cur;
}

void jv_pointer_add(struct strbuf *sb, const char *token)
{
    strbuf_addch(sb, '/');
    for (const char *p = token; *p; p++) {
        if (*p == '~')
            strbuf_adds(sb, "~0");
        else if (*p == '/')
            strbuf_adds(sb, "~1");
        else
            strbuf_addch(sb, *p);
    }
}

void jv_pointer_add_index(struct strbuf *sb, size_t index)
{
    strbuf_addf(sb, "/%zu", index);
}

const char *jv_library_version(void)
{
    return jansson_version_str();
}

bool jv_utf8_clean(struct strbuf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool changed = false;
    while (*p) {
        unsigned c = p[0], cp = c, min = 0;
        size_t len = 1;
        if (c >= 0x80) {
            len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            cp = len ? c & (0x7Fu >> len) : 0;
            for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80) {
                    len = 0;
                    break;
                }
                cp = cp << 6 | (p[i] & 0x3F);
            }
            /* overlong forms, surrogates and code points past U+10FFFF are invalid too */
            if (len && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
                len = 0;
        }
        if (len) {
            strbuf_add(out, p, len);
            p += len;
        } else {
            strbuf_adds(out, "\xEF\xBF\xBD");
            changed = true;
            p++;
        }
    }
    return changed;
}

const char *jv_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *jv_text(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (v)
        return v;
    struct strbuf sb = STRBUF_INIT;
    jv_utf8_clean(&sb, s);
    v = json_stringn(sb.buf, sb.len);
    strbuf_release(&sb);
    return v;
}
