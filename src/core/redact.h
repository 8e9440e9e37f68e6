/* Secrets: which names denote secrets, the one mask string osiris writes in their place, and the
 * run redactor every file of a run goes through. The compiler, the validator, `connections list`
 * and the runner share these rules. */
#ifndef OSIRIS_REDACT_H
#define OSIRIS_REDACT_H

#include <stdbool.h>

#include "json.h"
#include "strbuf.h"

#define REDACT_MASK "***"

/* True when a key names a secret: case-insensitively, with '-' read as '_', it is one of
 * password passwd pwd pass secret token key api_key apikey access_token refresh_token auth_token
 * bearer_token client_secret client_key secret_key service_key service_role_key anon_key
 * private_key dsn pg_dsn sql_dsn connection_string authorization cookie credentials, or ends in
 * _password, _secret, _token or _key — except names of key columns (primary_key, upsert_keys,
 * foreign_key, sort_key, partition_key, key_column(s)). The name is tried as written and with
 * camelCase split into words (apiKey as api_key, accessToken as access_token, primaryKey as
 * primary_key); it is secret when either reading is. Names that merely contain a word are not
 * secret: token_url, max_tokens, password_file, monkey, keyboard. NULL is not secret. */
bool redact_is_secret_name(const char *key);

/* True when the whole string is a reference to the environment: ${VAR} or ${VAR:-default},
 * VAR matching [A-Za-z_][A-Za-z0-9_]* and default holding no '}'. Nothing may surround it.
 * Note that a non-empty default under a secret name is itself an inline secret. */
bool redact_is_env_ref(const char *s);

/* A deep copy of v (new reference; v is not changed) with the value of every secret-named key,
 * at any depth inside objects and arrays, replaced whole (whatever its type) by REDACT_MASK.
 * Exceptions: null stays null (it holds nothing), and an environment reference stays so users
 * see which variable feeds the field, with a non-empty default masked ("${PW:-***}"). Values
 * under other names are copied as they are: names decide, not contents. extra_names
 * (NULL-terminated, may be NULL) adds component-specific secret names, compared with the same
 * normalisation. */
json_t *redact_mask_secrets(const json_t *v, const char *const *extra_names);

/* Replaces every occurrence in sb of each of the n values by REDACT_MASK, one value after the
 * other (give a value that contains another first); NULL and empty values are skipped. A value is
 * masked however short it is: a one-letter password garbles the text rather than showing in it.
 * The drivers scrub their error messages of the connection's secrets with it. */
void redact_scrub(struct strbuf *sb, const char *const *values, size_t n);

/* ==== The run redactor ====
 * One redactor per run, applied to every event, metric, log line and artifact written: secret
 * key names (the ones above plus the components' spec pointers) have their values replaced by
 * REDACT_MASK, and every string is scrubbed of the exact secret values the run resolved
 * (connection passwords, tokens, sensitive params), of passwords in URLs
 * (scheme://user:***@host), of Bearer tokens and of long key-like strings. */

struct redactor {
    char **values; /* exact secret values to scrub (at least 4 bytes), longest first; owned */
    size_t nvalues, capvalues;
    char **names; /* extra secret key names; owned */
    size_t nnames, capnames;
};

#define REDACTOR_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

void redactor_release(struct redactor *r);

/* Remembers a secret value (ignored when shorter than 4 bytes, which would mask too much). */
void redactor_add_value(struct redactor *r, const char *value);

/* Remembers an extra secret key name (from a spec's secrets/x-secret pointers). */
void redactor_add_name(struct redactor *r, const char *name);

/* Remembers the values of the secret-named fields of a resolved connection (at any depth), and
 * the passwords inside URL-valued fields. */
void redactor_add_connection(struct redactor *r, const json_t *conn);

/* A redacted copy of v (new reference): secret-named keys masked, every string scrubbed. */
json_t *redactor_json(const struct redactor *r, const json_t *v);

/* A scrubbed copy of s (malloc'd). */
char *redactor_text(const struct redactor *r, const char *s);

#endif
