/* Secret names and masking. A name is compared after normalisation (lower case, '-' as '_'),
 * once as written and once with camelCase split into words, so that Api-Key, API_KEY, apiKey and
 * api_key are one name; masking copies a JSON tree and replaces what sits under such names. */
#include "redact.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Exact names. */
static const char *const SECRET_NAMES[] = {
    "password",      "passwd",        "pwd",
    "pass",          "secret",        "token",
    "key",           "api_key",       "apikey",
    "access_token",  "refresh_token", "auth_token",
    "bearer_token",  "client_secret", "client_key",
    "secret_key",    "service_key",   "service_role_key",
    "anon_key",      "private_key",   "dsn",
    "pg_dsn",        "sql_dsn",       "connection_string",
    "authorization", "cookie",        "credentials",
};

static const char *const SECRET_SUFFIXES[] = { "_password", "_secret", "_token", "_key" };

/* Names of key columns: they read like secret names but hold column names. */
static const char *const NOT_SECRET[] = {
    "primary_key",   "upsert_keys", "foreign_key", "sort_key",
    "partition_key", "key_column",  "key_columns",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Lower case with '-' as '_'; with split_camel, an upper-case letter that follows a lower-case
 * letter or a digit also starts a new word ("apiKey" -> "api_key"). Returns a new string. */
static char *normalise(const char *name, bool split_camel)
{
    size_t n = strlen(name);
    char *out = xmalloc(2 * n + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (split_camel && isupper(c) && i > 0 &&
            (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1])))
            out[len++] = '_';
        out[len++] = c == '-' ? '_' : (char)tolower(c);
    }
    out[len] = '\0';
    return out;
}

static bool in_list(const char *s, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool normalised_is_secret(const char *norm)
{
    if (in_list(norm, NOT_SECRET, COUNT(NOT_SECRET)))
        return false;
    if (in_list(norm, SECRET_NAMES, COUNT(SECRET_NAMES)))
        return true;
    for (size_t i = 0; i < COUNT(SECRET_SUFFIXES); i++)
        if (ends_with(norm, SECRET_SUFFIXES[i]))
            return true;
    return false;
}

/* Either spelling may reveal the secret ("passWord" only as written, "accessToken" only split),
 * so a name is secret when either one is. */
bool redact_is_secret_name(const char *key)
{
    if (!key)
        return false;
    char *plain = normalise(key, false);
    char *split = normalise(key, true);
    bool secret = normalised_is_secret(plain) || normalised_is_secret(split);
    free(plain);
    free(split);
    return secret;
}

static bool matches_extra(const char *key, const char *const *extra_names)
{
    if (!extra_names)
        return false;
    bool hit = false;
    char *plain = normalise(key, false);
    char *split = normalise(key, true);
    for (size_t i = 0; !hit && extra_names[i]; i++) {
        char *eplain = normalise(extra_names[i], false);
        char *esplit = normalise(extra_names[i], true);
        hit = strcmp(plain, eplain) == 0 || strcmp(split, esplit) == 0;
        free(eplain);
        free(esplit);
    }
    free(plain);
    free(split);
    return hit;
}

/* ==== Environment references ==== */

/* Parses "${VAR}" or "${VAR:-default}" (default without '}'), the whole string. On success sets
 * *default_at to the default's first byte (NULL for the plain form). */
static bool parse_env_ref(const char *s, const char **default_at)
{
    *default_at = NULL;
    if (!s || s[0] != '$' || s[1] != '{')
        return false;
    const char *p = s + 2;
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return false;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (p[0] == ':' && p[1] == '-') {
        *default_at = p + 2;
        p = strchr(p + 2, '}');
        if (!p)
            return false;
    }
    return p[0] == '}' && p[1] == '\0';
}

bool redact_is_env_ref(const char *s)
{
    const char *default_at;
    return parse_env_ref(s, &default_at);
}

/* ==== Masking ==== */

/* What replaces the value of a secret-named key. An env reference stays so users see which
 * variable feeds the field, but a non-empty default is itself an inline secret and is masked:
 * "${DB_PASSWORD:-hunter2}" becomes "${DB_PASSWORD:-***}". null stays: it holds nothing, and
 * showing it tells the user the secret is missing. */
static json_t *mask_value(const json_t *v)
{
    if (json_is_null(v))
        return json_null();
    const char *s = json_string_value(v);
    const char *default_at;
    if (!s || !parse_env_ref(s, &default_at))
        return json_string(REDACT_MASK);
    if (!default_at || *default_at == '}')
        return json_string(s);
    size_t head = (size_t)(default_at - s);
    char *masked = xmalloc(head + sizeof(REDACT_MASK) + 1);
    memcpy(masked, s, head);
    memcpy(masked + head, REDACT_MASK "}", sizeof(REDACT_MASK) + 1);
    json_t *out = json_string(masked);
    free(masked);
    return out;
}

json_t *redact_mask_secrets(const json_t *v, const char *const *extra_names)
{
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *child;
        /* jansson has no const iteration; v is only read. */
        json_object_foreach((json_t *)v, key, child)
        {
            bool secret = redact_is_secret_name(key) || matches_extra(key, extra_names);
            json_object_set_new(
                out, key, secret ? mask_value(child) : redact_mask_secrets(child, extra_names));
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, redact_mask_secrets(json_array_get(v, i), extra_names));
        return out;
    }
    return json_deep_copy(v);
}

/* ==== The run redactor ==== */

void redactor_release(struct redactor *r)
{
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i]);
    free(r->values);
    free(r->names);
    memset(r, 0, sizeof(*r));
}

void redactor_add_value(struct redactor *r, const char *value)
{
    size_t n = value ? strlen(value) : 0;
    if (n < 4 || strcmp(value, REDACT_MASK) == 0)
        return;
    for (size_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], value) == 0)
            return;
    /* Longest first, so a secret that contains another is replaced whole. */
    XGROW(r->values, r->capvalues, r->nvalues + 1);
    size_t at = 0;
    while (at < r->nvalues && strlen(r->values[at]) >= n)
        at++;
    memmove(r->values + at + 1, r->values + at, (r->nvalues - at) * sizeof(*r->values));
    r->values[at] = xstrdup(value);
    r->nvalues++;
}

void redactor_add_name(struct redactor *r, const char *name)
{
    for (size_t i = 0; i < r->nnames; i++)
        if (strcmp(r->names[i], name) == 0)
            return;
    XGROW(r->names, r->capnames, r->nnames + 2);
    r->names[r->nnames++] = xstrdup(name);
    r->names[r->nnames] = NULL; /* NULL-terminated, as redact_mask_secrets() wants */
}

static bool secret_key(const struct redactor *r, const char *key)
{
    return redact_is_secret_name(key) ||
           (r->nnames && matches_extra(key, (const char *const *)r->names));
}

/* The password of "scheme://user:password@host", or NULL; *len gets its length. */
static const char *url_password(const char *s, size_t *len)
{
    const char *scheme = strstr(s, "://");
    if (!scheme)
        return NULL;
    const char *user = scheme + 3;
    size_t auth = strcspn(user, "@/?# \t\"'");
    if (user[auth] != '@')
        return NULL;
    const char *colon = memchr(user, ':', auth);
    if (!colon || colon + 1 == user + auth)
        return NULL;
    *len = (size_t)(user + auth - colon - 1);
    return colon + 1;
}

static void add_secrets_of(struct redactor *r, const json_t *v, bool secret)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n;
        const char *pw = url_password(s, &n);
        if (pw) {
            char *p = xstrndup(pw, n);
            redactor_add_value(r, p);
            free(p);
        }
        if (secret)
            redactor_add_value(r, s);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child)
        {
            add_secrets_of(r, child, secret || secret_key(r, key));
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            add_secrets_of(r, json_array_get(v, i), secret);
    } else if (secret && json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        redactor_add_value(r, num);
    }
}

void redactor_add_connection(struct redactor *r, const json_t *conn)
{
    add_secrets_of(r, conn, false);
}

/* Replaces out[from, from+len) with the mask. */
static void splice_mask(struct strbuf *out, size_t from, size_t len)
{
    struct strbuf tail = STRBUF_INIT;
    strbuf_add(&tail, out->buf + from + len, out->len - from - len);
    strbuf_truncate(out, from);
    strbuf_adds(out, REDACT_MASK);
    strbuf_add(out, tail.buf ? tail.buf : "", tail.len);
    strbuf_release(&tail);
}

void redact_scrub(struct strbuf *sb, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = values[i] ? strlen(values[i]) : 0;
        size_t from = 0;
        const char *hit;
        while (len && from < sb->len &&
               (hit = memmem(sb->buf + from, sb->len - from, values[i], len)) != NULL) {
            size_t at = (size_t)(hit - sb->buf);
            splice_mask(sb, at, len);
            from = at + sizeof(REDACT_MASK) - 1;
        }
    }
}

static bool keyish(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* A run of 24+ letters and digits mixing upper case, lower case and digits, and changing between
 * them often (segments of under 4 characters on average; a capital followed by lower case counts
 * as one segment), looks like an API key or token body (ghp_..., sk_live_..., JWT segments).
 * Random base62 changes class about every 2 characters; names like CustomerOrdersExport2024Q1
 * (segments of 4+), hashes (lower-case hex), ULIDs and run ids (upper case and digits) do not. */
static bool looks_like_key(const char *s, size_t n)
{
    size_t run = 0, segments = 0;
    bool up = false, low = false, dig = false;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : 0;
        if (c && isalnum(c)) {
            int cls = isdigit(c) ? 0 : isupper(c) ? 1 : 2;
            int prev = run == 0                           ? -1
                       : isdigit((unsigned char)s[i - 1]) ? 0
                       : isupper((unsigned char)s[i - 1]) ? 1
                                                          : 2;
            if (cls != prev && !(prev == 1 && cls == 2))
                segments++;
            run++;
            up = up || cls == 1;
            low = low || cls == 2;
            dig = dig || cls == 0;
            continue;
        }
        if (run >= 24 && up && low && dig && segments * 4 > run)
            return true;
        run = segments = 0;
        up = low = dig = false;
    }
    return false;
}

char *redactor_text(const struct redactor *r, const char *s)
{
    struct strbuf out = STRBUF_INIT;
    strbuf_adds(&out, s ? s : "");
    /* 1. Exact secret values the run resolved. */
    redact_scrub(&out, (const char *const *)r->values, r->nvalues);
    /* 2. Passwords in URLs, 3. Bearer tokens, 4. key=value / "key": "value" pairs with a secret
     * name, 5. key-like strings — in one left-to-right pass. */
    for (size_t i = 0; out.buf && i < out.len; i++) {
        size_t n;
        const char *pw;
        if (out.buf[i] == ':' && i + 2 < out.len && out.buf[i + 1] == '/' &&
            out.buf[i + 2] == '/' && (pw = url_password(out.buf + (i > 0 ? i - 1 : 0), &n)) &&
            strncmp(pw, REDACT_MASK, n) != 0) {
            splice_mask(&out, (size_t)(pw - out.buf), n);
            continue;
        }
        if (strncasecmp(out.buf + i, "bearer ", 7) == 0) {
            size_t at = i + 7;
            size_t end = at;
            while (end < out.len && !isspace((unsigned char)out.buf[end]) &&
                   !strchr("\"',;", out.buf[end]))
                end++;
            if (end > at && strncmp(out.buf + at, REDACT_MASK, end - at) != 0)
                splice_mask(&out, at, end - at);
            i = at + 2;
            continue;
        }
        if (keyish(out.buf[i]) && (i == 0 || !keyish(out.buf[i - 1]))) {
            size_t end = i;
            while (end < out.len && keyish(out.buf[end]))
                end++;
            if (looks_like_key(out.buf + i, end - i)) {
                splice_mask(&out, i, end - i);
                i += sizeof(REDACT_MASK) - 2;
                continue;
            }
            /* word=value or word: value (also "word": "value") after a secret name */
            char *word = xstrndup(out.buf + i, end - i);
            bool secret = secret_key(r, word);
            free(word);
            size_t v = end;
            if (secret && v < out.len && out.buf[v] == '"')
                v++;
            if (secret && v < out.len && (out.buf[v] == '=' || out.buf[v] == ':')) {
                v++;
                while (v < out.len && (out.buf[v] == ' ' || out.buf[v] == '"'))
                    v++;
                /* "Authorization: Bearer <token>": the token is the secret, not the scheme. */
                static const char *const schemes[] = { "bearer ", "basic ", "token " };
                for (size_t k = 0; k < sizeof(schemes) / sizeof(*schemes); k++)
                    if (strncasecmp(out.buf + v, schemes[k], strlen(schemes[k])) == 0)
                        v += strlen(schemes[k]);
                size_t ve = v;
                while (ve < out.len && !isspace((unsigned char)out.buf[ve]) &&
                       !strchr("\"',;&", out.buf[ve]))
                    ve++;
                if (ve > v && strncmp(out.buf + v, REDACT_MASK, ve - v) != 0 &&
                    strncmp(out.buf + v, "${", 2) != 0) /* a reference, not a value */
                    splice_mask(&out, v, ve - v);
                i = v + sizeof(REDACT_MASK) - 2;
                continue;
            }
            i = end - 1;
        }
    }
    return strbuf_detach(&out, NULL);
}

json_t *redactor_json(const struct redactor *r, const json_t *v)
{
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child)
        {
            bool secret = secret_key(r, key);
            json_object_set_new(out, key, secret ? mask_value(child) : redactor_json(r, child));
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, redactor_json(r, json_array_get(v, i)));
        return out;
    }
    if (json_is_string(v)) {
        char *s = redactor_text(r, json_string_value(v));
        json_t *out = json_string(s);
        free(s);
        return out;
    }
    return json_deep_copy(v);
}
