/* HTTP for the API extractors (graphql, posthog) and their `connections doctor`: the one file
 * that includes libcurl. One request at a time, a whole-request timeout, TLS verified unless
 * told otherwise, the response body bounded, and retries of what can succeed when tried again
 * (network errors, timeouts, 429 and 5xx) with exponential backoff that honours Retry-After.
 *
 * Errors name a category, as the database drivers do: "network", "timeout", "auth" (401),
 * "permission" (403), "config" (bad URL, TLS), "query" (other 4xx), "unknown". Messages never
 * hold a header value (credentials travel in headers). */
#ifndef OSIRIS_HTTP_H
#define OSIRIS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "strbuf.h"

struct http_header {
    const char *name, *value;
};

struct http_request {
    const char *url;
    const char *body; /* POST body (JSON); NULL for a GET */
    size_t body_len;
    const struct http_header *headers; /* nheaders; borrowed */
    size_t nheaders;
    const char *user, *password; /* HTTP basic credentials, or NULL */
    long timeout_s;              /* the whole request, connecting included; 0 = 30 */
    bool insecure;               /* do not verify the TLS certificate and host name */
    size_t max_body;             /* a larger response body fails; 0 = 256 MiB */
};

struct http_response {
    long status;          /* HTTP status, 0 when none arrived */
    struct strbuf body;   /* the response body; release with strbuf_release() */
    double retry_after_s; /* Retry-After in seconds, or -1 when absent */
    const char *category; /* on failure: the category of the error; static */
};

/* Sends rq once. 0 when a response arrived, whatever its status; -1 with err (ERR_DRIVER or
 * ERR_TIMEOUT, "<category>: <message>", without the URL: callers say what was asked) and
 * rs->category set when none did. rs is reset first. */
int http_send(const struct http_request *rq, struct http_response *rs, struct err *err);

/* Retrying: what http_send_retry() does between attempts, and what it tells its caller. */
struct http_retry {
    int max_retries;   /* retries after the first attempt (0 = none) */
    double delay_s;    /* before the first retry; doubled for each further one */
    double max_wait_s; /* a longer Retry-After is cut to this; 0 = 60 */
    /* Called before each wait (may be NULL): the attempt that failed (1-based), its status (0
     * for a network error or timeout), why in words, and the seconds about to be slept. */
    void (*on_retry)(void *data, int attempt, long status, const char *why, double wait_s);
    void *data;
    int requests; /* out: requests sent */
};

/* http_send() until a response that is neither 429 nor 5xx arrives, or the retries are spent.
 * Returns 0 with the last response (which may still be 429 or 5xx when retries ran out: the
 * caller turns statuses into errors), or -1 with err when the last attempt got no response. */
int http_send_retry(const struct http_request *rq, struct http_retry *retry,
                    struct http_response *rs, struct err *err);

/* http_send_retry() of rq with body (JSON, not stolen) as its POST body. */
int http_post_json(struct http_request *rq, struct http_retry *retry, const json_t *body,
                   struct http_response *rs, struct err *err);

struct driver_ctx;

/* What an API extractor's on_retry says: the event `event` {step_id, page, attempt, wait_s,
 * status | error} and a warning in osiris.log ("step 's': <api> page 2: HTTP 503; retrying in
 * 1.0 s"). */
void http_report_retry(struct driver_ctx *ctx, const char *event, const char *api, int64_t page,
                       int attempt, long status, const char *why, double wait_s);

/* The category of an HTTP error status: "auth" (401), "permission" (403), "network" (429, 5xx:
 * the server is unavailable or overloaded), "query" (other 4xx), "unknown". Static. */
const char *http_status_category(long status);

/* text (may be NULL) as one line for a message: at most HTTP_EXCERPT - 1 bytes, tabs and line
 * breaks as spaces, no trailing space. */
#define HTTP_EXCERPT 301
void http_excerpt(const char *text, char out[HTTP_EXCERPT]);

/* Sets err for a response with status >= 400: "<what>: HTTP <status> (<category>)", with the
 * start of the body (one line, at most 300 bytes) when it has text. Returns -1. */
int http_fail_status(const struct http_response *rs, const char *what, struct err *err);

#endif
