/* HTTP through libcurl (http.h). */
#include "http.h"
#include "driver.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_MAX_BODY  ((size_t)256 << 20)
#define DEFAULT_MAX_WAIT  60.0

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe in older libcurl: once, before the first handle. */
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct http_response *rs;
    size_t max;
    bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *p)
{
    struct sink *s = p;
    size_t len = size * n;
    if (s->rs->body.len + len > s->max) {
        s->too_big = true;
        return 0; /* makes curl fail the transfer */
    }
    strbuf_add(&s->rs->body, data, len);
    return len;
}

/* Retry-After: delta-seconds or an HTTP date. */
static size_t on_header(char *data, size_t size, size_t n, void *p)
{
    struct sink *s = p;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char value[128];
        size_t vlen = len - (sizeof(name) - 1);
        if (vlen >= sizeof(value))
            vlen = sizeof(value) - 1;
        memcpy(value, data + sizeof(name) - 1, vlen);
        value[vlen] = '\0';
        char *end;
        double secs = strtod(value, &end);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (end != value && !*end && secs >= 0)
            s->rs->retry_after_s = secs;
        else {
            time_t when = curl_getdate(value, NULL);
            if (when > 0)
                s->rs->retry_after_s = fmax(0, difftime(when, time(NULL)));
        }
    }
    return len;
}

static const char *curl_category(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return "config";
    default:
        return "network";
    }
}

int http_send(const struct http_request *rq, struct http_response *rs, struct err *err)
{
    pthread_once(&curl_once, curl_init);
    strbuf_reset(&rs->body);
    rs->status = 0;
    rs->retry_after_s = -1;
    rs->category = NULL;
    CURL *h = curl_easy_init();
    if (!h) {
        rs->category = "unknown";
        return err_set(err, ERR_DRIVER, "unknown: cannot start an HTTP request");
    }
    struct sink sink = { rs, rq->max_body ? rq->max_body : DEFAULT_MAX_BODY, false };
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < rq->nheaders; i++) {
        char *line = malloc(strlen(rq->headers[i].name) + strlen(rq->headers[i].value) + 3);
        sprintf(line, "%s: %s", rq->headers[i].name, rq->headers[i].value);
        headers = curl_slist_append(headers, line);
        free(line);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, rq->timeout_s > 0 ? rq->timeout_s : DEFAULT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: threads are safe */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* any encoding curl can decode */
    /* Only http(s), also after a redirect: a URL must not reach files or other schemes. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, rq->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, rq->insecure ? 0L : 2L);
    if (rq->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, rq->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK)
        return 0;
    rs->status = 0;
    if (sink.too_big) {
        rs->category = "data";
        return err_set(err, ERR_DRIVER, "data: the response is larger than %zu bytes", sink.max);
    }
    rs->category = curl_category(rc);
    return err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : ERR_DRIVER, "%s: %s",
                   rs->category, *errbuf ? errbuf : curl_easy_strerror(rc));
}

static bool retryable(long status)
{
    return status == 429 || status >= 500;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int http_send_retry(const struct http_request *rq, struct http_retry *retry,
                    struct http_response *rs, struct err *err)
{
    double delay = retry->delay_s > 0 ? retry->delay_s : 1.0;
    double max_wait = retry->max_wait_s > 0 ? retry->max_wait_s : DEFAULT_MAX_WAIT;
    for (int attempt = 1;; attempt++) {
        struct err e = ERR_INIT;
        retry->requests++;
        int rc = http_send(rq, rs, &e);
        bool again = rc != 0 || retryable(rs->status);
        if (!again || attempt > retry->max_retries) {
            if (rc != 0)
                err_set(err, e.code, "%s", e.msg);
            return rc;
        }
        /* The server's Retry-After wins over our backoff: it knows when it will take more. */
        double wait =
            rs->retry_after_s >= 0 ? fmin(rs->retry_after_s, max_wait) : fmin(delay, max_wait);
        if (retry->on_retry)
            retry->on_retry(retry->data, attempt, rs->status, rc != 0 ? e.msg : "", wait);
        sleep_s(wait);
        delay *= 2;
    }
}

int http_post_json(struct http_request *rq, struct http_retry *retry, const json_t *body,
                   struct http_response *rs, struct err *err)
{
    struct strbuf text = STRBUF_INIT;
    jv_dump(body, &text, 0);
    rq->body = text.buf;
    rq->body_len = text.len;
    int rc = http_send_retry(rq, retry, rs, err);
    rq->body = NULL;
    rq->body_len = 0;
    strbuf_release(&text);
    return rc;
}

const char *http_status_category(long status)
{
    if (status == 401)
        return "auth";
    if (status == 403)
        return "permission";
    if (status == 429 || status >= 500)
        return "network";
    if (status >= 400)
        return "query";
    return "unknown";
}

void http_excerpt(const char *text, char out[HTTP_EXCERPT])
{
    size_t n = 0;
    for (const char *p = text; p && *p && n < HTTP_EXCERPT - 1; p++)
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

int http_fail_status(const struct http_response *rs, const char *what, struct err *err)
{
    char excerpt[HTTP_EXCERPT];
    http_excerpt(rs->body.buf, excerpt);
    if (*excerpt)
        return err_set(err, ERR_DRIVER, "%s: HTTP %ld (%s): %s", what, rs->status,
                       http_status_category(rs->status), excerpt);
    return err_set(err, ERR_DRIVER, "%s: HTTP %ld (%s)", what, rs->status,
                   http_status_category(rs->status));
}

void http_report_retry(struct driver_ctx *ctx, const char *event, const char *api, int64_t page,
                       int attempt, long status, const char *why, double wait_s)
{
    json_t *f = json_pack("{s:s, s:I, s:I, s:f}", "step_id", ctx->step_id, "page", (json_int_t)page,
                          "attempt", (json_int_t)attempt, "wait_s", wait_s);
    char what[64];
    if (status) {
        json_object_set_new(f, "status", json_integer(status));
        snprintf(what, sizeof(what), "HTTP %ld", status);
    } else {
        json_object_set_new(f, "error", json_string(why));
    }
    session_event(ctx->session, event, f);
    session_log(ctx->session, SESSION_WARNING, "step '%s': %s page %lld: %s; retrying in %.1f s",
                ctx->step_id, api, (long long)page, status ? what : why, wait_s);
}
