/* runindex.c: record shape and validation, both files, filters and ordering, torn lines, --since
 * parsing, and concurrent appenders (4 processes x 50 records, no line lost or mixed). */
#include "../harness/tap.h"
#include "files.h"
#include "runindex.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HASH "3c76e7268bfdd0556e8a2c1f0e1d2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b"

static struct runindex_record rec(const char *id, const char *slug, const char *profile,
                                  const char *ts, bool ok)
{
    struct runindex_record r = {
        .run_id = id,
        .pipeline_slug = slug,
        .profile = profile,
        .manifest_hash = HASH,
        .manifest_short = "3c76e72",
        .run_ts = ts,
        .ok = ok,
        .duration_ms = 1234,
        .run_logs_path = "/proj/run_logs/dev/demo/x",
        .build_manifest_path = "/elsewhere/manifest.yaml",
        .failed_step = ok ? NULL : "transform",
        .error = ok ? NULL : "duckdb: table 'nope' does not exist",
    };
    return r;
}

static size_t count_lines(const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    struct err err = ERR_INIT;
    size_t n = 0;
    if (files_read(path, &sb, &err) == 0)
        for (size_t i = 0; i < sb.len; i++)
            n += sb.buf[i] == '\n';
    strbuf_release(&sb);
    return n;
}

/* The run ids of a query result, joined with ' '. */
static const char *ids(json_t *a, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? " " : "",
                 json_string_value(json_object_get(v, "run_id")));
    }
    return buf;
}

static json_t *query(const char *dir, const struct runindex_query *q, size_t *skipped)
{
    struct err err = ERR_INIT;
    json_t *a = runindex_query(dir, q, skipped, &err);
    if (!a)
        diag("runindex_query: %s", err.msg);
    return a;
}

static void test_record_shape(void)
{
    struct err err = ERR_INIT;
    struct runindex_record r = rec("r1", "demo", "dev", "2026-11-26T10:01:47.022463+00:00", false);
    json_t *o = runindex_record_json(&r, "/proj", &err);
    ok(o != NULL, "a failed run is a valid record");
    struct strbuf sb = STRBUF_INIT;
    jv_dump(o, &sb, 0);
    is_str(
        strbuf_str(&sb),
        "{\"run_id\":\"r1\",\"pipeline_slug\":\"demo\",\"profile\":\"dev\",\"manifest_hash\":"
        "\"" HASH
        "\",\"manifest_short\":\"3c76e72\",\"run_ts\":\"2026-11-26T10:01:47.022463+00:00\","
        "\"status\":\"failed\",\"duration_ms\":1234,\"run_logs_path\":\"run_logs/dev/demo/x\","
        "\"aiop_path\":\"\",\"build_manifest_path\":\"/elsewhere/manifest.yaml\",\"tags\":[],"
        "\"branch\":\"\",\"user\":\"\",\"git_commit\":\"\",\"runtime_env\":\"local\","
        "\"failed_step\":\"transform\",\"error\":\"duckdb: table 'nope' does not exist\"}",
        "fields in order; paths under base_path made relative; null failed_step only on success");
    strbuf_release(&sb);
    json_decref(o);

    r = rec("r2", "demo", NULL, "2026-11-26T10:01:47Z", true);
    const char *tags[] = { "nightly" };
    r.tags = tags;
    r.ntags = 1;
    r.run_logs_path = "/proj";
    o = runindex_record_json(&r, "/proj/", &err);
    ok(o && json_is_null(json_object_get(o, "failed_step")) &&
           json_is_null(json_object_get(o, "error")),
       "success: failed_step and error are null");
    is_str(json_string_value(json_object_get(o, "status")), "success", "status success");
    is_str(json_string_value(json_object_get(o, "profile")), "", "no profile is \"\"");
    is_str(json_string_value(json_object_get(o, "run_logs_path")), ".", "base_path itself is '.'");
    is_str(json_string_value(json_array_get(json_object_get(o, "tags"), 0)), "nightly", "tags");
    json_decref(o);

    r = rec("r3", "demo", "dev", "2026-11-26T10:01:47Z", true);
    r.run_logs_path = "/project/run_logs/x";
    o = runindex_record_json(&r, "/proj", &err);
    is_str(json_string_value(json_object_get(o, "run_logs_path")), "/project/run_logs/x",
           "a sibling directory sharing the prefix stays absolute");
    json_decref(o);

    r.manifest_hash = "sha256:" HASH;
    ok(!runindex_record_json(&r, NULL, &err) && err.code == ERR_INPUT, "hash with ':' refused");
    like(err.msg, "must be bare hex", "message says why");
    err_clear(&err);
    r.manifest_hash = "ABC";
    ok(!runindex_record_json(&r, NULL, &err), "upper-case hash refused");
    err_clear(&err);
    r.manifest_hash = "";
    o = runindex_record_json(&r, NULL, &err);
    ok(o != NULL, "an empty hash is allowed (a run that never got a manifest)");
    json_decref(o);

    const char *bad_slugs[] = { "", "../x", "a/b", ".hidden" };
    for (size_t i = 0; i < 4; i++) {
        r = rec("r4", bad_slugs[i], "dev", "2026-11-26T10:01:47Z", true);
        ok(!runindex_record_json(&r, NULL, &err) && err.code == ERR_INPUT, "slug '%s' refused",
           bad_slugs[i]);
        err_clear(&err);
    }
    r = rec("", "demo", "dev", "2026-11-26T10:01:47Z", true);
    ok(!runindex_record_json(&r, NULL, &err), "empty run id refused");
    err_clear(&err);
    r = rec("r5", "demo", "dev", "yesterday", true);
    ok(!runindex_record_json(&r, NULL, &err), "run_ts must be ISO-8601");
    like(err.msg, "yesterday", "message names the value");
    err_clear(&err);
}

static void test_append_and_query(const char *base)
{
    char dir[512], path[600], buf[512];
    struct err err = ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/idx/.osiris/index", base);

    struct runindex_query all = { 0 };
    size_t skipped = 99;
    json_t *a = query(dir, &all, &skipped);
    ok(a && json_array_size(a) == 0 && skipped == 0, "a missing index is empty, not an error");
    json_decref(a);

    struct runindex_record rs[] = {
        rec("a1", "alpha", "dev", "2026-11-20T08:00:00.000000+00:00", true),
        rec("b1", "beta", "prod", "2026-11-21T08:00:00.000000+00:00", false),
        rec("a2", "alpha", "prod", "2026-11-25T12:00:00.000000+00:00", false),
        /* appended after a2 but started before it; 07:00-02:00 is 09:00Z, after a1 although
         * its text sorts before a1's */
        rec("a0", "alpha", "dev", "2026-11-20T07:00:00.000000-02:00", true),
        rec("b2", "beta", "dev", "2026-11-26T09:59:59.999999+00:00", true),
    };
    bool all_ok = true;
    for (size_t i = 0; i < sizeof(rs) / sizeof(*rs); i++)
        all_ok &= runindex_append(dir, base, &rs[i], &err) == 0;
    ok(all_ok, "five appends %s", err.msg);

    snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
    is_int(count_lines(path), 5, "runs.jsonl has every run");
    snprintf(path, sizeof(path), "%s/by_pipeline/alpha.jsonl", dir);
    is_int(count_lines(path), 3, "by_pipeline/alpha.jsonl has alpha's runs");
    snprintf(path, sizeof(path), "%s/by_pipeline/beta.jsonl", dir);
    is_int(count_lines(path), 2, "by_pipeline/beta.jsonl has beta's runs");

    a = query(dir, &all, NULL);
    is_str(ids(a, buf, sizeof(buf)), "b2 a2 b1 a0 a1", "newest start first (offsets honoured)");
    json_decref(a);

    struct runindex_query q = { .pipeline_slug = "alpha" };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "a2 a0 a1", "--pipeline");
    json_decref(a);

    q = (struct runindex_query){ .profile = "dev" };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "b2 a0 a1", "--profile");
    json_decref(a);

    q = (struct runindex_query){ .status = "failed" };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "a2 b1", "failed runs are indexed and found");
    json_decref(a);

    q = (struct runindex_query){ .limit = 2 };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "b2 a2", "limit keeps the newest");
    json_decref(a);

    int64_t now, since;
    runindex_parse_time("2026-11-26T10:00:00Z", &now);
    ok(runindex_parse_since("1d", now, &since, &err) == 0, "1d parses");
    q = (struct runindex_query){ .have_since = true, .since_us = since };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "b2 a2", "--since 1d");
    json_decref(a);
    ok(runindex_parse_since("2026-11-21T08:00:00+00:00", now, &since, &err) == 0, "ISO since");
    q = (struct runindex_query){ .have_since = true, .since_us = since, .pipeline_slug = "beta" };
    a = query(dir, &q, NULL);
    is_str(ids(a, buf, sizeof(buf)), "b2 b1", "--since ISO is inclusive, with --pipeline");
    json_decref(a);

    q = (struct runindex_query){ .pipeline_slug = "gamma" };
    a = query(dir, &q, NULL);
    ok(a && json_array_size(a) == 0, "an unknown pipeline has no runs");
    json_decref(a);
    q = (struct runindex_query){ .pipeline_slug = "../runs" };
    ok(!runindex_query(dir, &q, NULL, &err) && err.code == ERR_INPUT,
       "a pipeline filter cannot escape by_pipeline/");
    err_clear(&err);

    /* A crash mid-write: the torn line is ended before the next record and skipped on read. */
    snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    ok(fd >= 0 && write(fd, "{\"run_id\":\"torn", 15) == 15, "simulate a torn line");
    close(fd);
    struct runindex_record r = rec("c1", "alpha", "dev", "2026-11-26T11:00:00Z", true);
    ok(runindex_append(dir, base, &r, &err) == 0, "append after a torn line");
    is_int(count_lines(path), 7, "torn line ended by its own newline");
    fd = open(path, O_WRONLY | O_APPEND);
    ok(fd >= 0 && write(fd, "\nnot json\n[1]\n\n", 15) == 15, "add garbage lines");
    close(fd);
    a = query(dir, &all, &skipped);
    is_str(ids(a, buf, sizeof(buf)), "c1 b2 a2 b1 a0 a1", "every intact record is read");
    is_int(skipped, 3, "the torn line, 'not json' and a non-object are skipped and counted");
    json_decref(a);
}

static void test_time(void)
{
    struct {
        const char *text;
        int64_t us;
    } good[] = {
        { "1970-01-01", 0 },
        { "1970-01-01T00:00:01Z", 1000000 },
        { "2026-11-26T10:01:47.022463+00:00", 1795687307022463LL },
        { "2026-11-26 10:01:47.022463", 1795687307022463LL },
        { "2026-11-26T11:01:47.022463+01:00", 1795687307022463LL },
        { "2026-11-26T09:31:47.022463-0030", 1795687307022463LL },
        { "2026-11-26T12:01:47.022463+02", 1795687307022463LL },
        { "2026-11-26T10:01:47.0224639Z", 1795687307022463LL },
        { "2026-11-26T10:01:47.5z", 1795687307500000LL },
        { "2026-11-26T10:01", 1795687260000000LL },
        { "2024-02-29T00:00:00Z", 1709164800000000LL },
        { "1969-12-31T23:59:59Z", -1000000 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        int64_t us = 0;
        int rc = runindex_parse_time(good[i].text, &us);
        ok(rc == 0 && us == good[i].us, "time '%s'", good[i].text);
        if (rc == 0 && us != good[i].us)
            diag("got %lld, wanted %lld", (long long)us, (long long)good[i].us);
    }
    const char *bad[] = { "",
                          "2026-11-26T",
                          "2026-13-01",
                          "2026-02-29",
                          "2026-11-26T24:00",
                          "2026-11-26T10:60",
                          "2026-11-26T10:01:47.",
                          "2026-11-26T10:01:47+25:00",
                          "2026-11-26T10:01:47+01:",
                          "2026-11-26T10:01:47 UTC",
                          "26-11-2026",
                          "7d" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int64_t us;
        ok(runindex_parse_time(bad[i], &us) != 0, "not a time: '%s'", bad[i]);
    }

    struct err err = ERR_INIT;
    int64_t now = 1795687307000000LL, since = 0;
    struct {
        const char *text;
        int64_t back;
    } rel[] = {
        { "7d", 7 * 86400LL }, { "24h", 86400 }, { "30m", 1800 },
        { "45s", 45 },         { "0s", 0 },      { "2w", 14 * 86400LL },
    };
    for (size_t i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
        int rc = runindex_parse_since(rel[i].text, now, &since, &err);
        ok(rc == 0 && since == now - rel[i].back * 1000000, "since '%s'", rel[i].text);
    }
    const char *bad_since[] = {
        "7", "d", "7x", "-7d", "7dd", "7 d", "1.5h", "999999999999999999w"
    };
    for (size_t i = 0; i < sizeof(bad_since) / sizeof(*bad_since); i++) {
        err_clear(&err);
        ok(runindex_parse_since(bad_since[i], now, &since, &err) != 0 && err.code == ERR_INPUT,
           "since '%s' refused", bad_since[i]);
    }
    err_clear(&err);
    runindex_parse_since("yesterday", now, &since, &err);
    like(err.msg, "invalid time 'yesterday'", "message names the value");
    like(err.msg, "7d", "message gives examples");
    ok(runindex_now_us() > 1700000000000000LL, "now is now");
}

/* 4 processes append 50 records each, with long lines so that unlocked writers would mix. */
static void test_concurrency(const char *base)
{
    enum { PROCS = 4, EACH = 50 };
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/conc", base);
    char long_error[3000];
    memset(long_error, 'x', sizeof(long_error) - 1);
    long_error[sizeof(long_error) - 1] = '\0';
    fflush(stdout);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            int bad = 0;
            for (int i = 0; i < EACH; i++) {
                char id[32], slug[16];
                snprintf(id, sizeof(id), "p%d-%03d", p, i);
                snprintf(slug, sizeof(slug), "pipe%d", p % 2);
                struct runindex_record r = rec(id, slug, "dev", "2026-11-26T10:00:00Z", false);
                r.error = long_error;
                struct err err = ERR_INIT;
                bad += runindex_append(dir, base, &r, &err) != 0;
            }
            _exit(bad ? 1 : 0);
        }
    }
    bool children_ok = true;
    for (int p = 0; p < PROCS; p++) {
        int st;
        children_ok &= waitpid(pids[p], &st, 0) == pids[p] && WIFEXITED(st) && !WEXITSTATUS(st);
    }
    ok(children_ok, "4 writers x 50 appends succeed");
    snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
    is_int(count_lines(path), PROCS * EACH, "runs.jsonl has 200 lines");
    snprintf(path, sizeof(path), "%s/by_pipeline/pipe0.jsonl", dir);
    is_int(count_lines(path), PROCS * EACH / 2, "by_pipeline/pipe0.jsonl has 100 lines");

    struct runindex_query all = { 0 };
    size_t skipped = 99;
    json_t *a = query(dir, &all, &skipped);
    is_int(a ? json_array_size(a) : 0, PROCS * EACH, "200 records parse");
    is_int(skipped, 0, "no mixed or torn line");
    /* every id exactly once, each error intact */
    int seen[PROCS][EACH] = { { 0 } };
    bool intact = true;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        int p, n;
        const char *id = json_string_value(json_object_get(v, "run_id"));
        if (!id || sscanf(id, "p%d-%d", &p, &n) != 2 || p < 0 || p >= PROCS || n < 0 || n >= EACH)
            intact = false;
        else
            seen[p][n]++;
        intact &= strcmp(json_string_value(json_object_get(v, "error")), long_error) == 0;
    }
    for (int p = 0; p < PROCS; p++)
        for (int n = 0; n < EACH; n++)
            intact &= seen[p][n] == 1;
    ok(intact, "every record once, its 3000-byte error intact");
    json_decref(a);

    struct runindex_query q1 = { .pipeline_slug = "pipe1" };
    a = query(dir, &q1, &skipped);
    is_int(a ? json_array_size(a) : 0, PROCS * EACH / 2, "pipe1 has its 100 records");
    json_decref(a);
}

int main(void)
{
    jv_init();
    char base[] = "/tmp/osiris-test-runindex-XXXXXX";
    if (!mkdtemp(base))
        return 1;
    test_record_shape();
    test_append_and_query(base);
    test_time();
    test_concurrency(base);
    struct err err = ERR_INIT;
    files_remove_tree(base, &err);
    return done_testing();
}
