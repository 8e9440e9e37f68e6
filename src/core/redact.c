/* Secret names and masking. A name is compared after normalisation (lower case, '-' as '_'),
 * once as written and once with camelCase split into words, so that Api-Key, API_KEY, apiKey and
 * api_key are one name; masking copies a JSON tree and replaces what sits under such names. */
#include "redact.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
