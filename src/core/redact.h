/* Secrets: which names denote secrets, and the one mask string osiris writes in their place.
 * The full redactor (spec pointers, value scrubbing) arrives with the run issue; the compiler,
 * the validator and `connections list` already share these rules. */
#ifndef OSIRIS_REDACT_H
#define OSIRIS_REDACT_H

#include <stdbool.h>

#include "json.h"

#define REDACT_MASK "***"

/* True when a key names a secret: case-insensitively, with '-' read as '_', it is one of
 * password passwd pwd pass secret token key api_key apikey access_token refresh_token auth_token
 * bearer_token client_secret client_key secret_key service_key service_role_key anon_key
 * private_key dsn pg_dsn sql_dsn connection_string authorization cookie credentials, or ends in
 * _password, _secret, _token or _key — except names of key columns (primary_key, upsert_keys,
 * foreign_key, sort_key, partition_key, key_column(s)). */
bool redact_is_secret_name(const char *key);

/* True when the string is a reference to the environment (${VAR} or ${VAR:-default}) and
 * nothing else, so it holds no secret itself. */
bool redact_is_env_ref(const char *s);

/* A copy of v (new reference) with the value of every secret-named key, at any depth, replaced
 * by REDACT_MASK, except values that are environment references (kept, so users see which
 * variable feeds them). extra_names (NULL-terminated, may be NULL) adds component-specific
 * secret names. */
json_t *redact_mask_secrets(const json_t *v, const char *const *extra_names);

#endif
