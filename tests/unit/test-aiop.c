/* aiop.c: summaries of hand-made run directories validate against docs/aiop.schema.json; run
 * fields, first error, failed step, recursive artifacts with their SHA-256, delta, size policy
 * on 100,000 events (first error kept, deterministic, timed), run-card escaping, and damaged or
 * missing inputs. Runs from the repository root (the schema is read from docs/). */
#include "../harness/tap.h"
#include "files.h"
#include "fingerprint.h"
#include "jsonschema.h"
#include "projconfig.h"
#include "report/aiop.h"
#include "runindex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_PATH "docs/aiop.schema.json"
#define HELLO_SHA   "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static char root[64];

/* ==== Building run directories ==== */

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    files_mkdirs(path, NULL, NULL);
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static const char *run_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    files_mkdirs(path, NULL, NULL);
    return path;
}

#define EV(ts, rest) "{\"ts\":\"2026-11-26T10:00:" ts "+00:00\",\"session\":\"r1\"," rest "}\n"

static const char *const ok_events = EV(
    "00.000000", "\"event\":\"run_start\",\"run_id\":\"r1\",\"pipeline_id\":\"demo\","
                 "\"profile\":\"dev\",\"manifest_hash\":\"abc123\",\"steps_total\":3")
    EV("00.100000", "\"event\":\"step_start\",\"step_id\":\"extract\",\"driver\":\"csv_extractor\"")
        EV("00.150000", "\"event\":\"config_meta_stripped\",\"step_id\":\"extract\"") EV(
            "00.200000",
            "\"event\":\"step_complete\",\"step_id\":\"extract\",\"driver\":\"csv_extractor\","
            "\"rows_in\":0,\"rows_out\":100,\"duration_ms\":100") EV("00.300000",
                                                                     "\"event\":\"step_start\","
                                                                     "\"step_id\":\"transform\","
                                                                     "\"driver\":"
                                                                     "\"duckdb_processor\"")
            EV("00.310000",
               "\"event\":\"inputs_resolved\",\"step_id\":\"transform\",\"from_step\":\"extract\","
               "\"rows\":100") EV("00.320000", "\"event\":\"metric_snapshot\",\"step_id\":"
                                               "\"transform\",\"value\":1")
                EV("00.500000", "\"event\":\"step_complete\",\"step_id\":\"transform\",\"driver\":"
                                "\"duckdb_processor\","
                                "\"rows_in\":100,\"rows_out\":10,\"duration_ms\":200")
                    EV("00.600000",
                       "\"event\":\"step_start\",\"step_id\":\"load\",\"driver\":\"csv_writer\"")
                        EV("00.610000",
                           "\"event\":\"inputs_resolved\",\"step_id\":\"load\",\"from_step\":"
                           "\"transform\","
                           "\"rows\":10") EV("00.700000",
                                             "\"event\":\"step_complete\",\"step_id\":\"load\","
                                             "\"driver\":\"csv_writer\","
                                             "\"rows_in\":10,\"rows_out\":10,\"duration_ms\":100")
                            EV("00.800000",
                               "\"event\":\"run_complete\",\"rows_read\":100,\"rows_written\":10,"
                               "\"duration_ms\":800")
                                EV("00.810000", "\"event\":\"run_end\",\"status\":\"success\","
                                                "\"duration_ms\":800");

static const char *const ok_metrics =
    "{\"metric\":\"rows_read\",\"value\":100,\"step_id\":\"extract\"}\n"
    "{\"metric\":\"step_duration_ms\",\"value\":101,\"step_id\":\"extract\"}\n"
    "{\"metric\":\"rows_processed\",\"value\":10,\"step_id\":\"transform\"}\n"
    "{\"metric\":\"rows_written\",\"value\":10,\"step_id\":\"load\"}\n"
    "{\"metric\":\"total_duration_ms\",\"value\":800}\n";

static const char *const ok_status =
    "{\"run_id\":\"r1\",\"pipeline\":\"demo\",\"profile\":\"dev\",\"manifest_hash\":\"abc123\","
    "\"ok\":true,\"status\":\"success\",\"steps_total\":3,\"steps_completed\":3,"
    "\"started_at\":\"2026-11-26T09:59:59.900000+00:00\","
    "\"finished_at\":\"2026-11-26T10:00:00.805000+00:00\",\"duration_ms\":905,\"rows_read\":100,"
    "\"rows_written\":10,\"environment\":\"sandbox\"}\n";

static const char *const manifest =
    "meta:\n  manifest_hash: abc123\n  manifest_short: abc1\n  oml_version: 0.1.0\n"
    "metadata:\n  intent: Count the movies per director\n"
    "name: demo\n"
    "steps:\n"
    "- {id: extract, component: filesystem.csv_extractor, driver: csv_extractor, needs: []}\n"
    "- {id: transform, component: duckdb.processor, driver: duckdb_processor, needs: [extract]}\n"
    "- {id: load, component: filesystem.csv_writer, driver: csv_writer, needs: [transform]}\n";

static unsigned char big[200000]; /* an artifact spanning several read chunks */

static const char *make_ok_run(const char *name)
{
    const char *dir = run_path(name);
    put(dir, "events.jsonl", ok_events);
    put(dir, "metrics.jsonl", ok_metrics);
    put(dir, "status.json", ok_status);
    put(dir, "manifest.yaml", manifest);
    put(dir, "artifacts/extract/cleaned_config.json", "{}\n");
    put(dir, "artifacts/load/deep/er/hello.txt", "hello\n");
    put(dir, "artifacts/top.txt", "");
    char path[512];
    snprintf(path, sizeof(path), "%s/artifacts/load/big.bin", dir);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 31 + 7);
    files_write_atomic(path, big, sizeof(big), 0644, NULL);
    /* Links are never followed: neither to a file outside nor to a directory (a loop). */
    snprintf(path, sizeof(path), "%s/artifacts/link-to-status", dir);
    if (symlink("../status.json", path) != 0)
        abort();
    snprintf(path, sizeof(path), "%s/artifacts/load/loop", dir);
    if (symlink("..", path) != 0)
        abort();
    return dir;
}

/* ==== Checks ==== */

static struct jsonschema *schema;

static bool valid(const json_t *summary, const char *what)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    bool ok = jsonschema_validate(schema, summary, &errs);
    ok(ok, "%s validates against " SCHEMA_PATH, what);
    for (size_t i = 0; i < errs.len && i < 10; i++)
        diag("  %s: %s", errs.items[i].instance, errs.items[i].message);
    schema_errors_release(&errs);
    return ok;
}

static const char *sget(const json_t *j, const char *pointer)
{
    return json_string_value(jv_pointer_get(j, pointer));
}

static long long iget(const json_t *j, const char *pointer)
{
    const json_t *v = jv_pointer_get(j, pointer);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -999;
}

static char *serialize(const json_t *j)
{
    struct strbuf sb = STRBUF_INIT;
    aiop_serialize(j, &sb);
    return strbuf_detach(&sb, NULL);
}

static json_t *build(const char *dir, const char *session, const struct aiop_options *o)
{
    struct err err = ERR_INIT;
    json_t *j = aiop_build(dir, session, o, &err);
    if (!j)
        diag("aiop_build: %s", err.msg);
    return j;
}

static const json_t *artifact_at(const json_t *s, const char *path)
{
    size_t i;
    json_t *a;
    json_array_foreach(jv_pointer_get(s, "/evidence/artifacts"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "path")), path) == 0)
            return a;
    }
    return NULL;
}

static const json_t *step_at(const json_t *s, const char *list, const char *key, const char *id)
{
    size_t i;
    json_t *a;
    json_array_foreach(jv_pointer_get(s, list), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, key)), id) == 0)
            return a;
    }
    return NULL;
}

/* ==== Tests ==== */

static json_t *test_success(struct aiop_options *o)
{
    const char *dir = make_ok_run("ok");
    json_t *s = build(dir, "dev/demo/ok", o);
    if (!ok(s != NULL, "successful run: built"))
        return NULL;
    valid(s, "successful run");
    is_str(sget(s, "/run/status"), "completed", "status completed");
    is_str(sget(s, "/run/session_id"), "dev/demo/ok", "session_id is the run directory id");
    is_str(sget(s, "/run/run_id"), "r1", "run_id");
    is_str(sget(s, "/run/started_at"), "2026-11-26T09:59:59.900000+00:00", "started_at");
    is_str(sget(s, "/run/completed_at"), "2026-11-26T10:00:00.805000+00:00", "completed_at");
    is_int(iget(s, "/run/duration_ms"), 905, "duration_ms from status.json");
    is_str(sget(s, "/run/environment"), "sandbox", "environment from status.json");
    is_int(iget(s, "/run/total_rows"), 10, "total_rows: rows written");
    is_str(sget(s, "/evidence/metrics/rows_source"), "rows_written", "rows_source");
    is_str(sget(s, "/@id"), "osiris://pipeline/@abc123", "@id from the manifest hash");
    ok(json_is_null(jv_pointer_get(s, "/run/failed_step")), "no failed step");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/errors")), 0, "no errors");

    const json_t *m = step_at(s, "/evidence/metrics/steps", "step_id", "extract");
    is_int(iget(m, "/rows_read"), 100, "extract: rows_read from metrics.jsonl");
    is_int(iget(m, "/duration_ms"), 101, "extract: metrics.jsonl duration wins over the event");
    is_int(iget(m, "/rows_out"), 100, "extract: rows_out from step_complete");
    ok(json_is_null(jv_pointer_get(m, "/rows_written")), "extract: rows_written unknown (null)");
    m = step_at(s, "/evidence/metrics/steps", "step_id", "load");
    is_int(iget(m, "/rows_written"), 10, "load: rows_written");
    is_str(sget(s, "/evidence/metrics/steps/0/step_id"), "transform", "ranked slowest first");

    is_str(sget(s, "/semantic/dag/source"), "manifest", "DAG from manifest.yaml");
    is_int(iget(s, "/semantic/dag/counts/nodes"), 3, "three nodes");
    is_int(iget(s, "/semantic/dag/counts/edges"), 2, "two edges");
    is_str(sget(s, "/semantic/dag/edges/0/from"), "extract", "edge extract → transform");
    is_str(sget(s, "/semantic/dag/nodes/1/status"), "completed", "node status");
    is_int(iget(s, "/semantic/dag/nodes/1/rows_out"), 10, "node rows_out");
    is_str(sget(s, "/semantic/components/duckdb.processor/steps/0"), "transform", "components");

    /* medium density: lifecycle, errors and metrics; not configuration chatter */
    const json_t *tl = jv_pointer_get(s, "/evidence/timeline");
    is_int(json_array_size(tl), 10, "medium timeline: 9 lifecycle events + 1 metric event");
    is_str(sget(s, "/evidence/timeline/0/@id"), "ev.event.run_start.run.1795687200000",
           "evidence id: ev.event.<name>.<step|run>.<ms>");
    is_str(sget(s, "/evidence/timeline/1/type"), "STEP_START", "canonical type");
    is_str(sget(s, "/evidence/timeline/4/type"), "METRICS", "metric event kept at medium");

    is_int(json_array_size(jv_pointer_get(s, "/evidence/artifacts")), 4,
           "artifacts: every regular file below artifacts/, links skipped");
    is_str(sget(s, "/evidence/artifacts/0/path"), "artifacts/extract/cleaned_config.json",
           "sorted by path, relative to the run directory");
    const json_t *a = artifact_at(s, "artifacts/load/deep/er/hello.txt");
    ok(a != NULL, "nested artifact found");
    is_str(sget(a, "/content_hash"), "sha256:" HELLO_SHA, "sha256 of a known content");
    is_int(iget(a, "/size_bytes"), 6, "size_bytes");
    char hex[FINGERPRINT_HEX_LEN], want[80];
    fingerprint_of(big, sizeof(big), hex);
    snprintf(want, sizeof(want), "sha256:%s", hex);
    is_str(sget(artifact_at(s, "artifacts/load/big.bin"), "/content_hash"), want,
           "sha256 of a file read in several chunks");
    ok(artifact_at(s, "artifacts/link-to-status") == NULL, "symbolic link to a file not listed");

    like(sget(s, "/narrative/narrative"), "completed in 905 ms", "narrative: completed");
    like(sget(s, "/narrative/paragraphs/0"), "Count the movies per director", "intent paragraph");
    ok(json_is_true(jv_pointer_get(s, "/narrative/intent_known")), "intent known");
    is_str(sget(s, "/narrative/intent_provenance/0/source"), "manifest.metadata.intent",
           "intent provenance");
    like(sget(s, "/narrative/narrative"), sget(s, "/narrative/citations/0"),
         "the narrative cites evidence ids");
    ok(json_is_true(jv_pointer_get(s, "/metadata/delta/first_run")), "no previous: first run");
    ok(json_is_false(jv_pointer_get(s, "/metadata/truncated")), "not truncated");
    is_str(sget(s, "/metadata/paths/aiop_path"), "aiop/dev/demo/abc1-abc123/r1",
           "paths as the caller gave them");
    is_str(sget(s, "/controls/examples/0/command"), "osiris logs show --session dev/demo/ok",
           "control: logs show");
    is_str(sget(s, "/controls/examples/2/command"), "osiris logs aiop show --run r1",
           "control: logs aiop show");
    char *text = serialize(s);
    is_int((long long)strlen(text), iget(s, "/metadata/size_bytes"),
           "size_bytes is the serialized size");
    ok(strstr(text, root) == NULL, "no absolute path of the run directory in the summary");
    json_t *again = build(dir, "dev/demo/ok", o);
    char *text2 = serialize(again);
    ok(strcmp(text, text2) == 0, "deterministic: two builds are byte-identical");
    free(text);
    free(text2);
    json_decref(again);

    o->timeline_density = AIOP_DENSITY_LOW;
    json_t *low = build(dir, "dev/demo/ok", o);
    is_int(json_array_size(jv_pointer_get(low, "/evidence/timeline")), 9, "low: no metric event");
    json_decref(low);
    o->timeline_density = AIOP_DENSITY_HIGH;
    json_t *high = build(dir, "dev/demo/ok", o);
    is_int(json_array_size(jv_pointer_get(high, "/evidence/timeline")), 13, "high: every event");
    json_decref(high);
    o->timeline_density = AIOP_DENSITY_MEDIUM;

    o->metrics_topk = 2;
    json_t *top = build(dir, "dev/demo/ok", o);
    is_int(json_array_size(jv_pointer_get(top, "/evidence/metrics/steps")), 2, "metrics_topk");
    is_int(iget(top, "/evidence/metrics/dropped_series"), 1, "dropped_series");
    ok(json_is_true(jv_pointer_get(top, "/metadata/truncated")), "topk cut is a truncation");
    valid(top, "topk summary");
    json_decref(top);
    o->metrics_topk = 100;
    return s;
}

static void test_failed(struct aiop_options *o)
{
    const char *dir = run_path("failed");
    put(dir, "events.jsonl",
        EV("00.000000", "\"event\":\"run_start\",\"run_id\":\"r2\",\"pipeline_id\":\"demo\"")
            EV("00.100000", "\"event\":\"step_start\",\"step_id\":\"extract\"")
                EV("00.200000", "\"event\":\"step_complete\",\"step_id\":\"extract\","
                                "\"rows_out\":100,\"duration_ms\":100")
                    EV("00.300000", "\"event\":\"step_start\",\"step_id\":\"transform\"")
                        EV("00.400000",
                           "\"event\":\"step_error\",\"step_id\":\"transform\",\"error\":"
                           "\"Binder Error: no column x\",\"error_code\":\"transform.failed\"")
                            EV("00.410000", "\"event\":\"step_skipped\",\"step_id\":\"load\","
                                            "\"reason\":\"step 'transform' failed\"")
                                EV("00.420000", "\"event\":\"run_error\",\"step_id\":\"transform\","
                                                "\"error\":\"second\",\"error_code\":\"x\"")
                                    EV("00.430000", "\"event\":\"run_end\",\"status\":\"failed\","
                                                    "\"duration_ms\":430"));
    put(dir, "status.json",
        "{\"run_id\":\"r2\",\"status\":\"failed\",\"ok\":false,\"failed_step\":\"transform\","
        "\"error_code\":\"transform.failed\",\"reason\":\"step 'transform' failed: Binder\","
        "\"environment\":\"local\",\"rows_read\":100,\"rows_written\":0,\"duration_ms\":430}");
    put(dir, "manifest.yaml", manifest);
    json_t *s = build(dir, "failed", o);
    if (!ok(s != NULL, "failed run: built"))
        return;
    valid(s, "failed run");
    is_str(sget(s, "/run/status"), "failed", "status failed (not completed)");
    is_str(sget(s, "/run/failed_step"), "transform", "failed step");
    is_str(sget(s, "/run/error_code"), "transform.failed", "error code");
    is_str(sget(s, "/evidence/errors/0/message"), "Binder Error: no column x", "first error");
    is_str(sget(s, "/evidence/errors/0/step_id"), "transform", "first error's step");
    is_str(sget(s, "/evidence/errors/0/error_code"), "transform.failed", "first error's code");
    is_str(sget(s, "/evidence/errors/0/@id"), "ev.error.step_error.transform.1795687200400",
           "error evidence id");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/errors")), 2, "run_error too");
    is_str(sget(s, "/semantic/dag/nodes/1/status"), "failed", "failed node");
    is_str(sget(s, "/semantic/dag/nodes/2/status"), "skipped", "skipped node");
    is_str(sget(s, "/evidence/metrics/rows_source"), "rows_read", "no rows written: rows read");
    like(sget(s, "/narrative/paragraphs/1"), "failed at step 'transform'", "narrative: failed");
    like(sget(s, "/narrative/paragraphs/1"), "[ev.error.step_error.transform.1795687200400]",
         "narrative cites the first error");
    char *card = aiop_run_card(s);
    like(card, "## demo ❌", "run card: failed icon");
    like(card, "### Errors", "run card: errors");
    like(card, "| transform | failed | – | – | – | – |", "run card: failed step row");
    free(card);
    json_decref(s);

    /* The original's names: step_failed, and an error known only by its level. No status.json. */
    dir = run_path("failed-original");
    put(dir, "events.jsonl",
        EV("00.000000", "\"event\":\"run_start\"")
            EV("00.100000", "\"event\":\"driver_problem\",\"level\":\"ERROR\",\"msg\":\"warned\"")
                EV("00.200000", "\"event\":\"step_failed\",\"step_id\":\"w\",\"error\":\"boom\","
                                "\"error_type\":\"ValueError\""));
    s = build(dir, NULL, o);
    valid(s, "original-style failed run");
    is_str(sget(s, "/run/status"), "failed", "step_failed fails the run");
    is_str(sget(s, "/run/session_id"), "failed-original", "session id defaults to the dir name");
    is_str(sget(s, "/evidence/errors/0/message"), "warned", "level ERROR is an error");
    is_str(sget(s, "/evidence/errors/1/error_code"), "ValueError", "error_type as code");
    is_str(sget(s, "/semantic/dag/source"), "events", "no manifest: DAG from events");
    json_decref(s);

    /* status.json says failed but the events were lost: the error comes from status.json. */
    dir = run_path("failed-no-events");
    put(dir, "status.json",
        "{\"run_id\":\"r3\",\"status\":\"failed\",\"failed_step\":\"load\",\"reason\":\"disk "
        "full\",\"error_code\":\"write.disk_full\",\"finished_at\":\"2026-11-26T10:00:01Z\"}");
    s = build(dir, NULL, o);
    valid(s, "failed run without events.jsonl");
    is_str(sget(s, "/evidence/errors/0/message"), "disk full", "error from status.json");
    is_str(sget(s, "/evidence/errors/0/step_id"), "load", "its step");
    ok(json_is_false(jv_pointer_get(s, "/metadata/inputs/events_jsonl")), "events.jsonl missing");
    json_decref(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_big(struct aiop_options *o)
{
    const char *dir = run_path("big");
    char path[512];
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    static const char *const kinds[] = { "step_start", "step_complete", "metric_tick",
                                         "write.progress" };
    for (int i = 0; i < 100000; i++) {
        int s = i / 100 % 12;
        char ts[40];
        snprintf(ts, sizeof(ts), "2026-11-26T10:%02d:%02d.%06d+00:00", i / 6000 % 60, i / 100 % 60,
                 i % 100 * 10000);
        if (i == 0)
            fprintf(f, "{\"ts\":\"%s\",\"event\":\"run_start\",\"run_id\":\"big\"}\n", ts);
        else if (i == 3)
            fprintf(f,
                    "{\"ts\":\"%s\",\"event\":\"step_error\",\"step_id\":\"s0\",\"error\":"
                    "\"FIRST\",\"error_code\":\"transform.failed\"}\n",
                    ts);
        else
            fprintf(f,
                    "{\"ts\":\"%s\",\"event\":\"%s\",\"step_id\":\"s%d\",\"rows_out\":%d,"
                    "\"duration_ms\":%d,\"error\":\"later %d\",\"note\":\"padding padding\"}\n",
                    ts, i % 1000 == 503 ? "step_error" : kinds[i % 4], s, i, i % 977, i);
    }
    fclose(f);
    put(dir, "manifest.yaml", manifest);
    for (int i = 0; i < 15; i++) {
        char name[64];
        snprintf(name, sizeof(name), "artifacts/s%02d/out.txt", i);
        put(dir, name, "x");
    }

    o->max_core_bytes = 300000;
    double t0 = now_s();
    json_t *s = build(dir, "big", o);
    double t1 = now_s();
    if (!ok(s != NULL, "100,000 events: built"))
        return;
    diag("aiop_build on 100,000 events: %.3f s", t1 - t0);
    char *text = serialize(s);
    ok(strlen(text) <= 300000, "size %zu within max_core_bytes 300000", strlen(text));
    is_int((long long)strlen(text), iget(s, "/metadata/size_bytes"), "size_bytes exact");
    ok(json_is_true(jv_pointer_get(s, "/metadata/truncated")), "metadata.truncated");
    ok(json_is_true(jv_pointer_get(s, "/evidence/timeline/truncated")), "timeline truncated");
    ok(iget(s, "/evidence/timeline/dropped_events") > 0, "dropped_events counted");
    is_str(sget(s, "/evidence/errors/0/message"), "FIRST", "the first error is errors[0]");
    is_int(iget(s, "/metadata/compute/errors_count"), 101, "every error counted");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/errors")), 101, "errors fit: all kept");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/timeline/items")), 10,
           "far over the limit: K = 5 at each end");
    valid(s, "truncated summary");
    json_t *again = build(dir, "big", o);
    char *text2 = serialize(again);
    ok(strcmp(text, text2) == 0, "truncated summary is deterministic");
    free(text);
    free(text2);
    json_decref(again);
    json_decref(s);

    /* A limit nothing can meet runs every stage; the first error still stays. */
    o->max_core_bytes = 2000;
    s = build(dir, "big", o);
    is_str(sget(s, "/evidence/errors/0/message"), "FIRST", "tiny limit: first error kept");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/errors")), 1, "only the first error");
    ok(json_is_true(jv_pointer_get(s, "/evidence/timeline/all_dropped")), "timeline dropped");
    ok(json_is_true(jv_pointer_get(s, "/evidence/artifacts/all_dropped")), "artifacts dropped");
    const json_t *stages = jv_pointer_get(s, "/metadata/truncation_stages");
    is_str(json_string_value(json_array_get(stages, json_array_size(stages) - 1)),
           "errors_first_only", "the errors stage ran last");
    valid(s, "fully truncated summary");
    json_decref(s);
    o->max_core_bytes = 300000;
}

/* The first stage decides from a counted size, the later ones from the built summary: both
 * must agree to the byte, so a limit of exactly the whole size cuts nothing and one byte less
 * cuts the timeline to its first and last 100 items. */
static void test_size_boundary(struct aiop_options *o)
{
    const char *dir = run_path("boundary");
    char path[512];
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    for (int i = 0; i < 300; i++)
        fprintf(f,
                "{\"ts\":\"2026-11-26T10:00:%02d.%06d+00:00\",\"event\":\"%s\",\"step_id\":"
                "\"s%d\",\"n\":%d,\"x\":[1.5,\"\\u00e9\\t\\\"\",null,true,{}]}\n",
                i / 10, i % 10 * 1000, i % 2 ? "step_complete" : "step_start", i / 2, i);
    fclose(f);
    o->max_core_bytes = 0;
    json_t *s = build(dir, NULL, o);
    char *text = serialize(s);
    is_int((long long)strlen(text), iget(s, "/metadata/size_bytes"), "no limit: size exact");
    ok(json_is_false(jv_pointer_get(s, "/metadata/truncated")), "no limit (0): nothing cut");
    free(text);
    json_decref(s);
    /* The limit is written in the summary: measure with one of as many digits. */
    o->max_core_bytes = 999999;
    s = build(dir, NULL, o);
    long long whole = iget(s, "/metadata/size_bytes");
    text = serialize(s);
    is_int((long long)strlen(text), whole, "size_bytes exact");
    free(text);
    json_decref(s);

    o->max_core_bytes = whole;
    s = build(dir, NULL, o);
    ok(json_is_false(jv_pointer_get(s, "/metadata/truncated")), "limit = size: nothing cut");
    is_int(iget(s, "/metadata/size_bytes"), whole, "same size");
    json_decref(s);

    o->max_core_bytes = whole - 1;
    s = build(dir, NULL, o);
    is_str(sget(s, "/metadata/truncation_stages/0"), "timeline_first_last_k",
           "limit = size - 1: the timeline stage");
    is_int(json_array_size(jv_pointer_get(s, "/evidence/timeline/items")), 200,
           "K = 100 at each end (overshoot under 1.5)");
    is_int(iget(s, "/evidence/timeline/dropped_events"), 100, "100 dropped");
    text = serialize(s);
    ok((long long)strlen(text) <= whole - 1, "fits");
    is_int((long long)strlen(text), iget(s, "/metadata/size_bytes"), "size_bytes exact");
    free(text);
    valid(s, "boundary summary");
    json_decref(s);
    o->max_core_bytes = 300000;
}

static void test_delta(const json_t *ok_summary, struct aiop_options *o)
{
    json_t *prev = json_deep_copy(ok_summary);
    json_object_set_new(json_object_get(prev, "run"), "total_rows", json_integer(8));
    json_object_set_new(json_object_get(prev, "run"), "run_id", json_string("r0"));
    json_object_set_new(json_object_get(prev, "run"), "duration_ms", json_integer(1000));
    json_object_set_new(jv_pointer_get(prev, "/metadata/compute"), "errors_count", json_integer(2));
    o->previous = prev;
    json_t *s = build(run_path("ok"), "dev/demo/ok", o);
    o->previous = NULL;
    valid(s, "summary with a delta");
    const json_t *d = jv_pointer_get(s, "/metadata/delta");
    ok(json_is_false(json_object_get(d, "first_run")), "delta: not a first run");
    is_str(sget(d, "/previous_run_id"), "r0", "previous run id");
    is_int(iget(d, "/rows/previous"), 8, "rows previous");
    is_int(iget(d, "/rows/current"), 10, "rows current");
    is_int(iget(d, "/rows/change"), 2, "rows change");
    ok(json_real_value(jv_pointer_get(d, "/rows/change_percent")) == 25.0, "rows +25%%");
    is_int(iget(d, "/duration_ms/change"), -95, "duration change");
    is_int(iget(d, "/errors_count/change"), -2, "errors change");
    char *card = aiop_run_card(s);
    like(card, "| Rows | 8 | 10 | 📈 +2 (+25.0%) |", "run card: rows row");
    like(card, "| Errors | 2 | 0 | ✅ -2 (-100.0%) |", "run card: errors row");
    like(card, "| Duration | 1.0 s | 905 ms | 🟢 -95 ms", "run card: duration row");
    like(sget(s, "/narrative/narrative"), "Compared with the previous run r0", "narrative delta");
    free(card);
    json_decref(s);
    json_decref(prev);
}

/* '|' not preceded by a backslash: the cells of a table row. */
static int unescaped_pipes(const char *line, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return n;
}

static void test_card_escaping(struct aiop_options *o)
{
    const char *dir = run_path("evil");
    put(dir, "events.jsonl",
        EV("00.000000", "\"event\":\"run_start\",\"pipeline_id\":\"p|<b>x</b>\"")
            EV("00.100000", "\"event\":\"step_start\",\"step_id\":\"a|b<script>alert(1)</script>\"")
                EV("00.200000", "\"event\":\"step_error\",\"step_id\":\"a|b<script>alert(1)"
                                "</script>\",\"error\":\"bad `code` & <img src=x>\\n| x |\"")
                    EV("00.300000", "\"event\":\"run_end\",\"status\":\"failed\""));
    json_t *s = build(dir, NULL, o);
    valid(s, "summary with hostile names");
    char *card = aiop_run_card(s);
    ok(strstr(card, "<script>") == NULL && strstr(card, "<b>") == NULL &&
           strstr(card, "<img") == NULL,
       "no raw HTML in the run card");
    like(card, "a\\|b&lt;script&gt;alert(1)&lt;/script&gt;", "step id escaped");
    like(card, "bad \\`code\\` &amp; &lt;img src=x&gt; \\| x \\|", "message escaped, one line");
    like(card, "## p\\|&lt;b&gt;x&lt;/b&gt; ❌", "heading escaped");
    bool rows_ok = true;
    int rows = 0;
    for (const char *line = strstr(card, "| Step |"); line && *line == '|';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        rows_ok = rows_ok && unescaped_pipes(line, len) == 7;
        rows++;
        line = nl ? nl + 1 : NULL;
    }
    ok(rows_ok && rows == 3, "every step table row has exactly 6 cells (%d rows)", rows);
    free(card);
    json_decref(s);
}

static void test_damaged(struct aiop_options *o)
{
    const char *dir = run_path("empty");
    json_t *s = build(dir, NULL, o);
    ok(s != NULL, "an empty run directory builds");
    valid(s, "empty run directory");
    is_str(sget(s, "/run/status"), "unknown", "status unknown");
    is_str(sget(s, "/@id"), "osiris://pipeline/unknown", "unknown pipeline id");
    char *card = aiop_run_card(s);
    like(card, "⚠️", "run card of an unknown run");
    free(card);
    json_decref(s);

    dir = run_path("garbage");
    put(dir, "events.jsonl",
        "garbage\n{not json\n[1,2]\n\xff\xfe\x01\n"
        "{\"ts\":\"not a time\",\"event\":\"run_start\",\"run_id\":\"g\"}\n{\"event\":42}\n"
        "{\"ts\":\"2026-11-26T10:00:00Z\",\"event\":\"run_end\",\"status\":\"success\"}");
    put(dir, "metrics.jsonl", "nope\n{\"metric\":\"rows_read\",\"value\":\"x\",\"step_id\":1}\n");
    put(dir, "status.json", "{broken");
    put(dir, "manifest.yaml", "steps: [unclosed\n");
    s = build(dir, NULL, o);
    ok(s != NULL, "garbage lines build");
    valid(s, "summary of damaged inputs");
    is_int(iget(s, "/metadata/inputs/bad_lines"), 4, "bad lines counted");
    is_int(iget(s, "/metadata/inputs/metrics_bad_lines"), 1, "bad metric lines counted");
    like(sget(s, "/metadata/inputs/status_problem"), "status.json", "status.json problem named");
    ok(sget(s, "/metadata/inputs/status_problem")[0] != '/', "... by a relative name");
    like(sget(s, "/metadata/inputs/manifest_problem"), "manifest.yaml:", "manifest problem");
    is_str(sget(s, "/evidence/timeline/0/event"), "run_end", "events without a time sort last");
    json_decref(s);

    struct err err = ERR_INIT;
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/really-missing", root);
    ok(aiop_build(missing, NULL, o, &err) == NULL && err.code == ERR_NOTFOUND,
       "missing run directory: ERR_NOTFOUND");
    like(err.msg, "really-missing", "error names the directory");
}

static void test_write(struct aiop_options *o)
{
    char out[300];
    snprintf(out, sizeof(out), "%s/aiop/dev/demo/r1", root);
    struct err err = ERR_INIT;
    ok(aiop_write(run_path("ok"), "dev/demo/ok", out, o, &err) == 0, "aiop_write %s", err.msg);
    char path[400];
    snprintf(path, sizeof(path), "%s/summary.json", out);
    struct strbuf text = STRBUF_INIT;
    ok(files_read(path, &text, &err) == 0, "summary.json written");
    json_t *j = jv_parse(text.buf, text.len, path, &err);
    is_int((long long)text.len, iget(j, "/metadata/size_bytes"), "file size is size_bytes");
    valid(j, "summary.json as written");
    json_decref(j);
    strbuf_reset(&text);
    snprintf(path, sizeof(path), "%s/run-card.md", out);
    ok(files_read(path, &text, &err) == 0, "run-card.md written");
    like(strbuf_str(&text), "## demo ✅", "run card heading");
    like(strbuf_str(&text), "- Summary: aiop/dev/demo/abc1-abc123/r1/summary.json",
         "run card links the caller's path");
    ok(strstr(strbuf_str(&text), "logs/aiop") == NULL, "no legacy logs/aiop path");
    strbuf_release(&text);
}

/* aiop_export(): a project with osiris.yaml and a run index; the second run of the same
 * manifest gets the first as its previous run. */
static void test_export(void)
{
    char proj[300], path[400];
    snprintf(proj, sizeof(proj), "%s/proj", root);
    put(proj, "osiris.yaml", "filesystem:\n  base_path: .\naiop:\n  metrics_topk: 2\n");
    struct project_config cfg;
    struct err err = ERR_INIT;
    snprintf(path, sizeof(path), "%s/osiris.yaml", proj);
    if (!ok(projconfig_load(&cfg, path, &err) == 0, "project loads %s", err.msg))
        return;
    static const char *const ids[] = { "run-a", "run-b" };
    json_t *summary[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "proj/run_logs/dev/demo/%s", ids[i]);
        const char *dir = make_ok_run(rel);
        char status[600];
        snprintf(status, sizeof(status),
                 "{\"run_id\":\"%s\",\"status\":\"success\",\"rows_written\":%d,"
                 "\"duration_ms\":%d}",
                 ids[i], 10 + 10 * i, 900 - 100 * i);
        put(dir, "status.json", status);
        char ts[40];
        snprintf(ts, sizeof(ts), "2026-11-26T1%d:00:00Z", i);
        struct runindex_record rec = { .run_id = ids[i],
                                       .pipeline_slug = "demo",
                                       .profile = "dev",
                                       .manifest_hash = "abc123",
                                       .manifest_short = "abc1",
                                       .run_ts = ts,
                                       .ok = true,
                                       .run_logs_path = dir };
        ok(runindex_append(projconfig_path(&cfg, cfg.index_dir), cfg.base_path, &rec, &err) == 0,
           "indexed %s %s", ids[i], err.msg);
        struct aiop_run run = { .run_dir = dir,
                                .run_id = ids[i],
                                .pipeline = "demo",
                                .profile = "dev",
                                .manifest_hash = "abc123",
                                .manifest_short = "abc1",
                                .manifest_path = "build/pipelines/demo/manifest.yaml" };
        summary[i] = aiop_export(&cfg, &run, &err);
        ok(summary[i] != NULL, "exported %s %s", ids[i], err.msg);
    }
    const json_t *a = summary[0], *b = summary[1];
    ok(json_is_true(jv_pointer_get(a, "/metadata/delta/first_run")), "first run: no previous");
    is_str(sget(a, "/run/session_id"), "dev/demo/run-a", "session id below run_logs/");
    is_str(sget(a, "/metadata/paths/run_logs_path"), "run_logs/dev/demo/run-a",
           "run logs path relative to base_path");
    is_str(sget(a, "/metadata/paths/manifest_path"), "build/pipelines/demo/manifest.yaml",
           "manifest path relative to base_path");
    const char *aiop = sget(a, "/metadata/paths/aiop_path");
    if (!aiop)
        aiop = "(null)";
    ok(aiop[0] != '/' && strstr(aiop, "run-a"), "aiop path relative: %s", aiop);
    is_int(iget(a, "/metadata/config_effective/metrics_topk"), 2, "options from osiris.yaml");
    snprintf(path, sizeof(path), "%s/%s/summary.json", proj, aiop);
    ok(files_exists(path), "summary.json where aiop_path says");
    snprintf(path, sizeof(path), "%s/%s/run-card.md", proj, aiop);
    ok(files_exists(path), "run-card.md too");
    ok(json_is_false(jv_pointer_get(b, "/metadata/delta/first_run")), "second run: a delta");
    is_str(sget(b, "/metadata/delta/previous_run_id"), "run-a", "previous run from the index");
    is_int(iget(b, "/metadata/delta/rows/change"), 10, "rows change");
    is_int(iget(b, "/metadata/delta/duration_ms/change"), -100, "duration change");
    valid(b, "exported summary");
    json_decref(summary[0]);
    json_decref(summary[1]);
    projconfig_release(&cfg);
}

int main(void)
{
    jv_init();
    snprintf(root, sizeof(root), "/tmp/osiris-test-aiop-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    struct err err = ERR_INIT;
    struct strbuf text = STRBUF_INIT;
    json_t *doc = NULL;
    if (files_read(SCHEMA_PATH, &text, &err) == 0)
        doc = jv_parse(text.buf, text.len, SCHEMA_PATH, &err);
    strbuf_release(&text);
    schema = doc ? jsonschema_compile(doc, NULL, 0, &err) : NULL;
    json_decref(doc);
    if (!ok(schema != NULL, "schema compiles: %s", err.msg))
        return done_testing();
    struct jsonschema *meta = jsonschema_metaschema(&err);
    ok(meta && jsonschema_validate(meta, jsonschema_document(schema), NULL),
       "schema is a valid draft-07 schema");
    jsonschema_free(meta);

    enum aiop_density d = AIOP_DENSITY_LOW;
    ok(aiop_density_parse("high", &d) == 0 && d == AIOP_DENSITY_HIGH, "density names");
    ok(aiop_density_parse("max", &d) != 0, "unknown density");

    struct aiop_options o;
    aiop_options_default(&o);
    is_int(o.max_core_bytes, 300000, "default max_core_bytes");
    o.run_logs_path = "run_logs/dev/demo/ok";
    o.aiop_path = "aiop/dev/demo/abc1-abc123/r1";
    o.manifest_path = "build/pipelines/dev/demo/abc1-abc123/manifest.yaml";
    o.osiris_version = "0.0.0-test";

    json_t *ok_summary = test_success(&o);
    test_failed(&o);
    if (ok_summary)
        test_delta(ok_summary, &o);
    test_card_escaping(&o);
    test_damaged(&o);
    test_size_boundary(&o);
    test_write(&o);
    test_export();
    test_big(&o);
    json_decref(ok_summary);
    jsonschema_free(schema);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd) == 0 ? done_testing() : 1;
}
