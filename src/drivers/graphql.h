/* What `osiris connections doctor` asks a graphql connection: the driver's own request (same
 * endpoint, authentication and headers as graphql.extractor), with an introspection query. */
#ifndef OSIRIS_GRAPHQL_H
#define OSIRIS_GRAPHQL_H

#include <stdbool.h>

#include "json.h"
#include "strbuf.h"

struct graphql_check {
    bool ok;
    const char *category;  /* on failure: auth, permission, network, timeout, config, query */
    struct strbuf message; /* one line; release it */
};

/* POSTs { __schema { queryType { name } } } to the connection's endpoint once, within
 * timeout_s. A GraphQL answer is ok, also one refusing introspection (the endpoint and the
 * credentials work; the schema is private). */
void graphql_doctor(const json_t *connection, int timeout_s, struct graphql_check *out);

#endif
