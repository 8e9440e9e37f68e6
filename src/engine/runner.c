/* The step engine (see runner.h): one run, one data plane, one session, steps in order. */
#include "runner.h"
#include "dataplane.h"
#include "drivers/driver.h"
#include "files.h"
#include "fingerprint.h"
#include "fscontract.h"
#include "oml.h"
#include "params.h"
#include "report/aiop.h"
#include "runid.h"
#include "runindex.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Error codes ====
 * The taxonomy of reference osiris-runtime.md §4.7, chosen by what failed rather than by
 * searching the message: the phase of the step, then the error's code, then the step's mode. */

enum phase { PHASE_CONFIG, PHASE_CONNECTION, PHASE_DRIVER };

static const struct {
    enum phase phase;
    int code;         /* ERR_NONE = any */
    const char *mode; /* NULL = any */
    const char *taxonomy;
} error_codes[] = {
    { PHASE_CONFIG, ERR_IO, NULL, "system.error" }, /* the run directory, a cfg file */
    { PHASE_CONFIG, ERR_NONE, NULL, "config.invalid" },
    { PHASE_CONNECTION, ERR_NOTFOUND, NULL, "connection.not_found" },
    { PHASE_CONNECTION, ERR_NONE, NULL, "connection.invalid_config" },
    { PHASE_DRIVER, ERR_INPUT, NULL, "config.invalid" },
    { PHASE_DRIVER, ERR_NOTFOUND, NULL, "config.missing_required" },
    { PHASE_DRIVER, ERR_TIMEOUT, NULL, "runtime.timeout" },
    { PHASE_DRIVER, ERR_INTERNAL, NULL, "system.error" },
    { PHASE_DRIVER, ERR_DRIVER, "extract", "connection.failed" },
    { PHASE_DRIVER, ERR_DRIVER, "write", "connection.failed" },
    { PHASE_DRIVER, ERR_NONE, "extract", "extract.query_failed" },
    { PHASE_DRIVER, ERR_NONE, "transform", "transform.failed" },
    { PHASE_DRIVER, ERR_NONE, "write", "write.failed" },
    { PHASE_DRIVER, ERR_NONE, NULL, "system.error" },
};

static const char *error_code(enum phase phase, int code, const char *mode)
{
    for (size_t i = 0; i < sizeof(error_codes) / sizeof(*error_codes); i++)
        if (error_codes[i].phase == phase &&
            (error_codes[i].code == ERR_NONE || error_codes[i].code == code) &&
            (!error_codes[i].mode || (mode && strcmp(error_codes[i].mode, mode) == 0)))
            return error_codes[i].taxonomy;
    return "system.error";
}

/* ==== Names ==== */

const char *runner_view_name(struct arena *a, const char *step_id, bool collides)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "df_");
    if (isdigit((unsigned char)*step_id))
        strbuf_addch(&sb, '_');
    for (const char *p = step_id; *p; p++)
        strbuf_addch(&sb, isalnum((unsigned char)*p) || *p == '_' ? *p : '_');
    if (collides) {
        char hex[FINGERPRINT_HEX_LEN];
        fingerprint_of(step_id, strlen(step_id), hex);
        strbuf_addf(&sb, "_%.8s", hex);
    }
    const char *r = arena_take(a, &sb);
    return r;
}

/* ==== Run state ==== */

struct step_state {
    const char *table; /* output table (quoted), or NULL */
    int64_t rows;      /* rows in it */
    size_t last_use;   /* index of the last step that needs it */
    struct step_report report;
    bool transformed; /* a transform step needs it */
    bool done;        /* completed successfully */
};

struct engine {
    const struct run_request *req;
    struct run_result *res;
    struct arena *a;
    struct redactor red;
    struct session *s;
    struct dataplane *dp;
    struct step_state *st;
    char started[40];
    uint64_t t0;           /* wall clock: run id, run directory name */
    uint64_t clock0;       /* monotonic: durations */
    struct err record_err; /* the first file of the run record that could not be written */
};

void run_result_release(struct run_result *res)
{
    arena_release(&res->arena);
    memset(res, 0, sizeof(*res));
}

/* The spec's names for secrets (last segments of its pointers) join the redactor's list. */
static void add_spec_secret_names(struct redactor *r, const json_t *spec)
{
    static const char *const lists[] = { "/secrets", "/x-secret", "/redaction/extras",
                                         "/loggingPolicy/sensitivePaths" };
    for (size_t l = 0; l < sizeof(lists) / sizeof(*lists); l++) {
        size_t i;
        json_t *p;
        json_array_foreach(jv_pointer_get(spec, lists[l]), i, p)
        {
            const char *s = json_string_value(p);
            const char *last = s ? strrchr(s, '/') : NULL;
            if (last && last[1])
                redactor_add_name(r, last + 1);
        }
    }
}

static const char *step_mode(const struct component *c)
{
    static const char *const order[] = { "transform", "extract", "write" };
    const json_t *modes = json_object_get(c->doc.root, "modes");
    for (size_t k = 0; k < 3; k++) {
        size_t i;
        json_t *m;
        json_array_foreach(modes, i, m)
        {
            if (strcmp(json_string_value(m), order[k]) == 0)
                return order[k];
        }
    }
    return "write";
}

/* ==== Files of the run directory ==== */

static int copy_file(const char *from, const char *to, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = files_read(from, &sb, err) == 0
                 ? files_write_atomic(to, strbuf_str(&sb), sb.len, 0644, err)
                 : -1;
    strbuf_release(&sb);
    return rc;
}

/* The manifest byte for byte, and the cfg files as compiled (references only, never secrets). */
static int copy_inputs(struct engine *e, struct err *err)
{
    const struct manifest *m = e->req->manifest;
    struct arena *a = e->a;
    if (copy_file(m->path, arena_printf(a, "%s/manifest.yaml", e->res->run_dir), err) != 0)
        return -1;
    const char *cfgdir = arena_printf(a, "%s/cfg", e->res->run_dir);
    if (files_mkdirs(cfgdir, NULL, err) != 0)
        return -1;
    for (size_t i = 0; i < m->nsteps; i++) {
        const char *base = strrchr(m->steps[i].cfg_path, '/') + 1;
        if (copy_file(m->steps[i].cfg_path, arena_printf(a, "%s/%s", cfgdir, base), err) != 0)
            return -1;
    }
    return 0;
}

/* Writes v (stolen) as pretty JSON; a failure is noted in e->record_err and logged. */
static int write_json_file(struct engine *e, const char *path, json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    jv_dump(v, &sb, JV_PRETTY);
    strbuf_addch(&sb, '\n');
    struct err err = ERR_INIT;
    int rc = files_write_atomic(path, sb.buf, sb.len, 0644, &err);
    if (rc != 0) {
        session_log(e->s, SESSION_ERROR, "%s", err.msg);
        if (!e->record_err.code)
            e->record_err = err;
    }
    strbuf_release(&sb);
    json_decref(v);
    return rc;
}

/* ==== One step ==== */

/* The worker's connection: the object the host resolved for ref ("@family" for the default). */
static json_t *given_connection(struct engine *e, const char *family, const char *ref,
                                struct err *err)
{
    const char *key = ref ? ref : arena_printf(e->a, "@%s", family);
    json_t *c = json_object_get(e->req->resolved, key);
    /* A connection the host could not resolve fails its step here, as it would locally. */
    const json_t *failed = json_object_get(json_object_get(e->req->resolved, "errors"), key);
    if (!json_is_object(c) && failed) {
        err_set(err, (int)json_integer_value(json_object_get(failed, "code")), "%s",
                json_string_value(json_object_get(failed, "message")));
        return NULL;
    }
    if (!json_is_object(c)) {
        err_set(err, ERR_INPUT, "the host sent no connection %s", key);
        return NULL;
    }
    return json_deep_copy(c);
}

/* Resolves the step's connection into config.resolved_connection; NULL connection when the
 * family needs none. */
static int resolve_connection(struct engine *e, const struct manifest_step *ms, json_t *config,
                              const char *ref, const json_t **conn, struct err *err)
{
    char family[128];
    oml_family(ms->component, family, sizeof(family));
    char *rfam = NULL, *ralias = NULL;
    *conn = NULL;
    if (!ref && oml_connection_optional(family))
        return 0;
    if (ref && connections_parse_ref(ref, &rfam, &ralias, err) != 0)
        return -1;
    int rc = 0;
    if (rfam && strcmp(rfam, family) != 0) {
        rc = err_set(err, ERR_INPUT,
                     "Connection family mismatch: component '%s' needs '%s', got '%s'",
                     ms->component, family, ref);
    } else {
        session_event(e->s, "connection_resolve_start",
                      json_pack("{s:s, s:s, s:s}", "step_id", ms->id, "family", family, "alias",
                                ralias ? ralias : "(default)"));
        json_t *resolved = e->req->resolved
                               ? given_connection(e, family, ref, err)
                               : connections_resolve(e->req->conns, family, ralias, err);
        if (resolved) {
            /* Before anything can print them: the run's redactor learns the secrets first. */
            redactor_add_connection(&e->red, resolved);
            json_object_set_new(config, "resolved_connection", resolved);
            *conn = resolved;
        } else {
            rc = -1;
        }
        json_t *done = json_pack("{s:s, s:s, s:s, s:b}", "step_id", ms->id, "family", family,
                                 "alias", ralias ? ralias : "(default)", "ok", rc == 0);
        if (rc != 0)
            json_object_set_new(done, "error", json_string(err->msg));
        session_event(e->s, "connection_resolve_complete", done);
    }
    free(rfam);
    free(ralias);
    return rc;
}

/* Loads the cfg into a driver config: component/connection stripped (the reference goes to *ref),
 * sensitive params filled. *shown gets the same config before filling (new reference). */
static json_t *load_config(struct engine *e, const struct manifest_step *ms, char **ref,
                           json_t **shown, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    json_t *config = NULL;
    if (files_read(ms->cfg_path, &sb, err) == 0)
        config = jv_parse(strbuf_str(&sb), sb.len, ms->cfg_path, err);
    strbuf_release(&sb);
    if (config && !json_is_object(config)) {
        json_decref(config);
        err_set(err, ERR_INPUT, "%s: a step config must be a JSON object", ms->cfg_path);
        return NULL;
    }
    if (!config)
        return NULL;
    const char *r = json_string_value(json_object_get(config, "connection"));
    *ref = r ? xstrdup(r) : NULL;
    json_t *removed = json_array();
    static const char *const meta[] = { "component", "connection" };
    for (size_t i = 0; i < 2; i++)
        if (json_object_get(config, meta[i])) {
            json_object_del(config, meta[i]);
            json_array_append_new(removed, json_string(meta[i]));
        }
    if (json_array_size(removed))
        session_event(e->s, "config_meta_stripped",
                      json_pack("{s:s, s:o}", "step_id", ms->id, "keys_removed", removed));
    else
        json_decref(removed);
    /* What cleaned_config.json shows: sensitive params as their placeholders, so a value too
     * short for the redactor to scrub by value still never reaches the file. */
    *shown = json_deep_copy(config);
    json_t *used = json_object(), *missing = json_array();
    params_fill(config, e->req->params, used, missing);
    /* Only sensitive params are left as placeholders by the compiler: mask what was filled. */
    const char *name;
    json_t *v;
    json_object_foreach(used, name, v)
    {
        struct strbuf text = STRBUF_INIT;
        jv_scalar(v, &text); /* a compile's values keep their types; strings give "" */
        redactor_add_value(&e->red, json_is_string(v) ? json_string_value(v) : strbuf_str(&text));
        strbuf_release(&text);
    }
    json_decref(used);
    if (json_array_size(missing)) {
        const char *first = json_string_value(json_array_get(missing, 0));
        char upper[256];
        size_t n = 0;
        for (; first[n] && n + 1 < sizeof(upper); n++)
            upper[n] = (char)toupper((unsigned char)first[n]);
        upper[n] = '\0';
        err_set(err, ERR_INPUT,
                "sensitive param '%s' has no value: give it with --param or OSIRIS_PARAM_%s", first,
                upper);
        json_decref(missing);
        json_decref(config);
        json_decref(*shown);
        *shown = NULL;
        return NULL;
    }
    json_decref(missing);
    return config;
}

/* Inputs from needs: one per upstream that produced a table, under its df_ view name. */
static size_t wire_inputs(struct engine *e, size_t idx, struct step_input *inputs)
{
    const struct manifest *m = e->req->manifest;
    const struct manifest_step *ms = &m->steps[idx];
    struct arena *a = e->a;
    size_t n = 0;
    for (size_t k = 0; k < ms->nneeds; k++) {
        size_t up = 0;
        while (strcmp(m->steps[up].id, ms->needs[k]) != 0)
            up++;
        if (!e->st[up].table)
            continue; /* a writer: an ordering dependency, no data */
        const char *plain = runner_view_name(a, ms->needs[k], false);
        bool collides = false;
        for (size_t j = 0; j < ms->nneeds; j++)
            collides = collides ||
                       (j != k && strcmp(runner_view_name(a, ms->needs[j], false), plain) == 0);
        inputs[n] = (struct step_input){ .step_id = ms->needs[k],
                                         .table = e->st[up].table,
                                         .view = runner_view_name(a, ms->needs[k], collides),
                                         .rows = e->st[up].rows };
        session_event(e->s, "inputs_resolved",
                      json_pack("{s:s, s:s, s:s, s:I}", "step_id", ms->id, "from_step",
                                ms->needs[k], "table", inputs[n].view, "rows",
                                (json_int_t)inputs[n].rows));
        n++;
    }
    return n;
}

static void record_metrics(struct engine *e, const char *id, const struct driver_ctx *ctx,
                           int64_t ms)
{
    struct session *s = e->s;
    if (strcmp(ctx->mode, "extract") == 0) {
        session_metric(s, "rows_read", json_integer(ctx->rows_out), "rows", id, NULL);
        e->res->rows_read += ctx->rows_out;
    } else if (strcmp(ctx->mode, "transform") == 0) {
        session_metric(s, "rows_processed", json_integer(ctx->rows_out), "rows", id, NULL);
    } else {
        session_metric(s, "rows_written", json_integer(ctx->rows_out), "rows", id, NULL);
        session_metric(s, "bytes_written", json_integer(ctx->bytes_written), "bytes", id, NULL);
        e->res->rows_written += ctx->rows_out;
    }
    session_metric(s, "step_duration_ms", json_integer(ms), "ms", id, NULL);
}

/* An extract step whose output no transform reads only moves rows, and keeping them in memory
 * helps no one: it gets the stream limit, and so do the writers after it. Transform steps, and
 * extract steps whose output a transform reads back, get run.memory_limit (a group-by over a
 * spilled table took 1.5 times as long). A limit that cannot be set leaves the one in force: the
 * step still runs. */
static void set_memory_limit(struct engine *e, size_t idx, const char *mode)
{
    const struct project_config *cfg = e->req->cfg;
    const char *limit;
    if (strcmp(mode, "extract") == 0 && !e->st[idx].transformed)
        limit = cfg->run.stream_memory_limit;
    else if (strcmp(mode, "write") != 0)
        limit = cfg->run.memory_limit;
    else
        return;
    struct err err = ERR_INIT;
    int rc = dataplane_set_memory_limit(e->dp, limit, &err);
    if (rc < 0)
        session_log(e->s, SESSION_WARNING, "memory_limit %s not set: %s", limit, err.msg);
    else if (rc > 0)
        session_log(e->s, SESSION_DEBUG, "step '%s': DuckDB memory_limit %s",
                    e->req->manifest->steps[idx].id, limit);
}

/* Runs step idx; returns 0 or -1 with err, *phase telling where it failed. */
static int run_step(struct engine *e, size_t idx, enum phase *phase, const char **mode,
                    struct err *err)
{
    const struct manifest_step *ms = &e->req->manifest->steps[idx];
    struct arena step_arena = ARENA_INIT;
    struct arena *a = e->a;
    uint64_t t0 = session_clock_ms();
    session_event(e->s, "step_start",
                  json_pack("{s:s, s:s}", "step_id", ms->id, "driver", ms->driver));
    *phase = PHASE_CONFIG;
    *mode = NULL;
    const struct component *c = registry_find(e->req->reg, ms->component);
    const struct driver *drv = driver_find(ms->driver);
    if (!c || !drv)
        return err_set(err, ERR_INPUT, "%s '%s' is not available in this osiris (%s)",
                       c ? "driver" : "component", c ? ms->driver : ms->component,
                       "see 'osiris components list --runnable'");
    *mode = step_mode(c);
    const char *artifacts = arena_printf(a, "%s/artifacts/%s", e->res->run_dir, ms->id);
    if (files_mkdirs(artifacts, NULL, err) != 0)
        return -1;
    char *ref = NULL;
    json_t *shown = NULL;
    json_t *config = load_config(e, ms, &ref, &shown, err);
    if (!config)
        return -1;
    *phase = PHASE_CONNECTION;
    const json_t *conn = NULL;
    int rc = resolve_connection(e, ms, config, ref, &conn, err);
    free(ref);
    if (rc == 0) {
        const json_t *resolved = json_object_get(config, "resolved_connection");
        if (resolved)
            json_object_set(shown, "resolved_connection", (json_t *)resolved);
        json_t *clean = redactor_json(&e->red, shown);
        if (write_json_file(e, arena_printf(a, "%s/cleaned_config.json", artifacts), clean) == 0)
            session_event(e->s, "artifact_created",
                          json_pack("{s:s, s:s, s:s++}", "step_id", ms->id, "artifact_type",
                                    "cleaned_config", "path", "artifacts/", ms->id,
                                    "/cleaned_config.json"));
        *phase = PHASE_DRIVER;
        set_memory_limit(e, idx, *mode);
        struct step_input *inputs = arena_calloc(a, ms->nneeds + 1, sizeof(*inputs));
        struct driver_ctx ctx = {
            .step_id = ms->id,
            .component = ms->component,
            .mode = *mode,
            .config = config,
            .connection = conn,
            .dp = e->dp,
            .inputs = inputs,
            .ninputs = wire_inputs(e, idx, inputs),
            .output = strcmp(*mode, "write") != 0
                          ? dataplane_ident(a, arena_printf(a, "osiris_step_%zu", idx))
                          : NULL,
            .artifacts_dir = artifacts,
            .base_path = e->req->cfg->base_path,
            .state_path = projconfig_path(
                e->req->cfg, runner_state_file(a, e->req->manifest->pipeline_id, ms->id)),
            .session = e->s,
            .arena = &step_arena,
        };
        rc = drv->run(&ctx, err);
        int64_t ms_used = (int64_t)(session_clock_ms() - t0);
        if (rc == 0) {
            e->st[idx].table = ctx.output;
            e->st[idx].rows = ctx.rows_out;
            e->st[idx].done = true;
            e->st[idx].report = (struct step_report){
                .ok = true, .rows_in = ctx.rows_in, .rows_out = ctx.rows_out, .duration_ms = ms_used
            };
            session_event(e->s, "step_complete",
                          json_pack("{s:s, s:s, s:I, s:I, s:I}", "step_id", ms->id, "driver",
                                    ms->driver, "rows_in", (json_int_t)ctx.rows_in, "rows_out",
                                    (json_int_t)ctx.rows_out, "duration_ms", (json_int_t)ms_used));
            record_metrics(e, ms->id, &ctx, ms_used);
        } else if (ctx.output) {
            dataplane_exec(e->dp, arena_printf(a, "DROP TABLE IF EXISTS %s", ctx.output), NULL);
        }
    }
    json_decref(config);
    json_decref(shown);
    arena_release(&step_arena);
    return rc;
}

/* Drops the tables whose last consumer was step idx: memory and spill space go back at once. */
static void release_tables(struct engine *e, size_t idx)
{
    for (size_t up = 0; up <= idx; up++)
        if (e->st[up].table && e->st[up].last_use == idx) {
            dataplane_exec(e->dp, arena_printf(e->a, "DROP TABLE IF EXISTS %s", e->st[up].table),
                           NULL);
            e->st[up].table = NULL;
        }
}

/* ==== The run ==== */

static void write_status(struct engine *e)
{
    const struct manifest *m = e->req->manifest;
    struct run_result *res = e->res;
    char finished[40];
    session_now(finished);
    json_t *st = json_pack(
        "{s:s, s:s, s:s?, s:s, s:s, s:b, s:s, s:i, s:I, s:I, s:s?, s:s, s:s?, s:s, s:s, s:I, s:I, "
        "s:I, s:s, s:s, s:b, s:s}",
        "run_id", res->run_id, "pipeline", m->pipeline_id, "profile", m->profile, "manifest_hash",
        m->manifest_hash, "manifest_short", m->manifest_short, "ok", res->ok, "status",
        res->ok ? "success" : "failed", "exit_code", res->ok ? 0 : 1, "steps_total",
        (json_int_t)res->steps_total, "steps_completed", (json_int_t)res->steps_completed,
        "failed_step", res->failed_step, "reason",
        res->ok ? ""
        : res->failed_step
            ? arena_printf(e->a, "step '%s' failed: %s", res->failed_step, res->error)
            : res->error,
        "error_code", res->error_code, "started_at", e->started, "finished_at", finished,
        "duration_ms", (json_int_t)res->duration_ms, "rows_read", (json_int_t)res->rows_read,
        "rows_written", (json_int_t)res->rows_written, "environment",
        e->req->environment ? e->req->environment : "local", "sandbox_id",
        e->req->sandbox_id ? e->req->sandbox_id : "local", "events_jsonl_exists", true,
        "osiris_version", OSIRIS_VERSION);
    write_json_file(e, arena_printf(e->a, "%s/status.json", res->run_dir),
                    redactor_json(&e->red, st));
    json_decref(st);
}

static int step(struct engine *e, size_t i)
{
    const struct manifest_step *ms = &e->req->manifest->steps[i];
    struct run_result *res = e->res;
    if (e->req->remote && !res->error) /* the host of a remote run has no data plane */
        runner_fail(e, NULL, "a remote run's step ran on the host", "system.error");
    if (res->error) {
        session_event(e->s, "step_skipped",
                      json_pack("{s:s, s:s}", "step_id", ms->id, "reason",
                                res->failed_step
                                    ? arena_printf(e->a, "step '%s' failed", res->failed_step)
                                    : "the run could not start"));
        return -1;
    }
    struct err err = ERR_INIT;
    enum phase phase;
    const char *mode;
    if (run_step(e, i, &phase, &mode, &err) == 0) {
        res->steps_completed++;
        release_tables(e, i);
        return 0;
    }
    res->failed_step = ms->id;
    res->error = arena_strdup(e->a, err.msg);
    res->error_code = error_code(phase, err.code, mode);
    session_log(e->s, SESSION_ERROR, "step '%s' failed: %s", ms->id, err.msg);
    session_event(e->s, "step_error",
                  json_pack("{s:s, s:s, s:s, s:s}", "step_id", ms->id, "driver", ms->driver,
                            "error", err.msg, "error_code", res->error_code));
    return -1;
}

int runner_step(struct engine *e, size_t i, struct step_report *out)
{
    struct step_report *rep = &e->st[i].report;
    int rc = step(e, i);
    if (rc != 0)
        *rep = (struct step_report){ .error = e->res->error, .error_code = e->res->error_code };
    if (out)
        *out = *rep;
    return rc;
}

/* ==== The host of a remote run ==== */

void runner_relay(struct engine *e, const json_t *frame)
{
    static const char *const levels[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (!type)
        return;
    /* The record's own fields: the host's session adds its ts and session again. */
    json_t *fields = json_deep_copy(frame);
    static const char *const envelope[] = { "ts", "session", "type", "event", "metric", "level" };
    for (size_t i = 0; i < NELEM(envelope); i++)
        json_object_del(fields, envelope[i]);
    const char *name = NULL;
    if (strcmp(type, "event") == 0 && (name = json_string_value(json_object_get(frame, "event")))) {
        session_event(e->s, name, fields);
        return;
    }
    if (strcmp(type, "metric") == 0 &&
        (name = json_string_value(json_object_get(frame, "metric")))) {
        json_t *value = json_incref(json_object_get(fields, "value"));
        const char *unit = json_string_value(json_object_get(fields, "unit"));
        const char *step = json_string_value(json_object_get(fields, "step_id"));
        /* The run's totals, as record_metrics() keeps them for a local step. */
        if (json_is_integer(value) && strcmp(name, "rows_read") == 0)
            e->res->rows_read += json_integer_value(value);
        else if (json_is_integer(value) && strcmp(name, "rows_written") == 0)
            e->res->rows_written += json_integer_value(value);
        char *unit_copy = xstrdup(unit ? unit : ""), *step_copy = step ? xstrdup(step) : NULL;
        static const char *const own[] = { "value", "unit", "step_id" };
        for (size_t i = 0; i < NELEM(own); i++)
            json_object_del(fields, own[i]);
        session_metric(e->s, name, value ? value : json_null(), unit_copy, step_copy,
                       json_object_size(fields) ? fields : NULL);
        if (!json_object_size(fields))
            json_decref(fields);
        free(unit_copy);
        free(step_copy);
        return;
    }
    const char *level = json_string_value(json_object_get(frame, "level"));
    const char *msg = json_string_value(json_object_get(frame, "message"));
    for (size_t i = 0; strcmp(type, "log") == 0 && level && msg && i < NELEM(levels); i++)
        if (strcmp(level, levels[i]) == 0)
            session_log(e->s, (enum session_level)i, "%s", msg);
    json_decref(fields);
}

void runner_record(struct engine *e, size_t i, const struct step_report *rep)
{
    struct run_result *res = e->res;
    e->st[i].report = *rep;
    if (rep->ok) {
        res->steps_completed++;
        e->st[i].done = true;
        return;
    }
    res->failed_step = e->req->manifest->steps[i].id;
    res->error = arena_strdup(e->a, rep->error ? rep->error : "the step failed");
    res->error_code = arena_strdup(e->a, rep->error_code ? rep->error_code : "system.error");
    e->st[i].report.error = res->error;
    e->st[i].report.error_code = res->error_code;
}

void runner_learn_connection(struct engine *e, const json_t *resolved)
{
    redactor_add_connection(&e->red, resolved);
}

struct session *runner_session(struct engine *e)
{
    return e->s;
}

void runner_fail(struct engine *e, const char *step_id, const char *error, const char *code)
{
    struct run_result *res = e->res;
    if (res->error)
        return;
    res->failed_step = step_id ? arena_strdup(e->a, step_id) : NULL;
    res->error = arena_strdup(e->a, error);
    res->error_code = arena_strdup(e->a, code);
    session_log(e->s, SESSION_ERROR, "%s", error);
    const struct manifest *m = e->req->manifest;
    for (size_t i = 0; step_id && i < m->nsteps; i++)
        if (strcmp(m->steps[i].id, step_id) == 0) /* it started, and nobody else will say so */
            session_event(e->s, "step_error",
                          json_pack("{s:s, s:s, s:s, s:s}", "step_id", step_id, "driver",
                                    m->steps[i].driver, "error", error, "error_code", code));
}

struct engine *runner_open(const struct run_request *req, struct run_result *res, struct err *err)
{
    memset(res, 0, sizeof(*res));
    const struct manifest *m = req->manifest;
    struct project_config *cfg = req->cfg;
    struct engine *e = arena_calloc(&res->arena, 1, sizeof(*e));
    *e = (struct engine){ .req = req, .res = res, .a = &res->arena };
    e->t0 = session_now_ms();
    e->clock0 = session_clock_ms();
    session_now(e->started);
    res->steps_total = m->nsteps;

    char run_id[RUNID_MAX];
    if (req->run_id) {
        snprintf(run_id, sizeof(run_id), "%s", req->run_id);
        res->run_dir = arena_strdup(e->a, req->run_dir);
    } else {
        struct runid_gen gen;
        runid_init(&gen, cfg->run_id_format, cfg->nrun_id_format,
                   arena_printf(e->a, "%s/counters", projconfig_path(cfg, cfg->index_dir)));
        if (runid_next(&gen, m->pipeline_id, e->t0, run_id, err) != 0)
            return NULL;
        const char *run_ts = fscontract_run_ts(e->a, cfg->naming.run_ts_format, e->t0);
        res->run_dir =
            fscontract_run_dir(cfg, m->pipeline_id, m->profile, run_id, run_ts, m->manifest_short);
    }
    res->run_id = arena_strdup(e->a, run_id);
    for (size_t i = 0; i < req->reg->len; i++)
        add_spec_secret_names(&e->red, req->reg->items[i].doc.root);
    e->s = req->stream
               ? session_open_stream(req->stream, res->run_dir, run_id, &e->red, req->verbose, err)
               : session_open(res->run_dir, run_id, &e->red, req->verbose, err);
    if (!e->s) {
        redactor_release(&e->red);
        return NULL;
    }
    if (req->observer)
        session_set_observer(e->s, req->observer, req->observer_data);
    if (!req->stream)
        session_event(e->s, "run_start",
                      json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:I}", "run_id", run_id,
                                "pipeline_id", m->pipeline_id, "profile", m->profile,
                                "manifest_path", m->path, "manifest_hash", m->manifest_hash,
                                "manifest_short", m->manifest_short, "steps_total",
                                (json_int_t)m->nsteps));
    session_log(e->s, SESSION_INFO, "run %s of pipeline %s (%zu steps)", run_id, m->pipeline_id,
                m->nsteps);

    /* Each step's output lives until the last step that needs it has run. */
    e->st = arena_calloc(e->a, m->nsteps + 1, sizeof(*e->st));
    for (size_t i = 0; i < m->nsteps; i++) {
        e->st[i].last_use = i;
        for (size_t j = i + 1; j < m->nsteps; j++)
            for (size_t k = 0; k < m->steps[j].nneeds; k++)
                if (strcmp(m->steps[j].needs[k], m->steps[i].id) == 0) {
                    e->st[i].last_use = j;
                    const struct component *c = registry_find(req->reg, m->steps[j].component);
                    e->st[i].transformed |= c && strcmp(step_mode(c), "transform") == 0;
                }
    }

    /* Failing to set up fails the run, not a step: no step ran, every step is skipped. */
    struct err serr = ERR_INIT;
    if (copy_inputs(e, &serr) != 0 ||
        (!req->remote &&
         !(e->dp = dataplane_open(arena_printf(e->a, "%s/.scratch", res->run_dir),
                                  cfg->run.memory_limit, cfg->run.threads, &serr)))) {
        res->error = arena_strdup(e->a, serr.msg);
        res->error_code = "system.error";
        session_log(e->s, SESSION_ERROR, "the run could not start: %s", serr.msg);
    }
    return e;
}

/* ==== State ==== */

const char *runner_state_file(struct arena *a, const char *pipeline_id, const char *step_id)
{
    return arena_printf(a, STATE_DIR "/%s/%s.json", pipeline_id, step_id);
}

/* A successful run's steps' new states (artifacts/<step>/state.json) become the store's, each
 * atomically. A state that cannot be saved fails the run: the next run would fetch again what
 * this one already wrote, a duplicate the user did not ask for. */
static void commit_states(struct engine *e)
{
    const struct manifest *m = e->req->manifest;
    struct run_result *res = e->res;
    for (size_t i = 0; i < m->nsteps && res->ok; i++) {
        struct strbuf text = STRBUF_INIT;
        struct err err = ERR_INIT;
        const char *from =
            arena_printf(e->a, "%s/artifacts/%s/state.json", res->run_dir, m->steps[i].id);
        const char *to =
            projconfig_path(e->req->cfg, runner_state_file(e->a, m->pipeline_id, m->steps[i].id));
        char *dir = arena_strdup(e->a, to);
        *strrchr(dir, '/') = '\0';
        if (!files_exists(from))
            continue;
        if (files_read(from, &text, &err) != 0 || files_mkdirs(dir, NULL, &err) != 0 ||
            files_write_atomic(to, text.buf, text.len, 0600, &err) != 0) {
            res->ok = false;
            res->failed_step = m->steps[i].id;
            res->error = arena_printf(e->a, "the state of step '%s' was not saved: %s",
                                      m->steps[i].id, err.msg);
            res->error_code = "system.error";
        } else {
            session_event(e->s, "state_saved",
                          json_pack("{s:s, s:s}", "step_id", m->steps[i].id, "path",
                                    runner_state_file(e->a, m->pipeline_id, m->steps[i].id)));
        }
        strbuf_release(&text);
    }
}

void runner_close(struct engine *e)
{
    const struct manifest *m = e->req->manifest;
    struct project_config *cfg = e->req->cfg;
    struct run_result *res = e->res;
    dataplane_close(e->dp);

    res->ok = !res->error;
    res->duration_ms = (int64_t)(session_clock_ms() - e->clock0);
    if (e->req->stream) {
        /* The worker ran steps; the run itself, its status and its index entry are the host's. */
        session_close(e->s, &e->record_err);
        redactor_release(&e->red);
        return;
    }
    session_metric(e->s, "total_duration_ms", json_integer(res->duration_ms), "ms", NULL, NULL);
    if (res->ok)
        commit_states(e);
    if (res->ok)
        session_event(
            e->s, "run_complete",
            json_pack("{s:I, s:I, s:I, s:I}", "steps_executed", (json_int_t)res->steps_completed,
                      "duration_ms", (json_int_t)res->duration_ms, "rows_read",
                      (json_int_t)res->rows_read, "rows_written", (json_int_t)res->rows_written));
    else {
        json_t *f = json_object();
        if (res->failed_step) /* none when the run could not start */
            json_object_set_new(f, "step_id", json_string(res->failed_step));
        json_object_set_new(f, "error", json_string(res->error));
        json_object_set_new(f, "error_code", json_string(res->error_code));
        session_event(e->s, "run_error", f);
    }
    write_status(e);
    session_event(e->s, "run_end",
                  json_pack("{s:s, s:I}", "status", res->ok ? "success" : "failed", "duration_ms",
                            (json_int_t)res->duration_ms));
    session_close(e->s, &e->record_err);
    if (e->record_err.code)
        res->record_error = arena_strdup(e->a, e->record_err.msg);
    /* The caller prints res->error and the index keeps it: it must not carry a secret either. */
    if (res->error) {
        char *clean = redactor_text(&e->red, res->error);
        res->error = arena_strdup(e->a, clean);
        free(clean);
    }
    redactor_release(&e->red);

    /* The AIOP of every run, failed ones first of all: read back from the closed run directory,
     * as `logs aiop export` would write it later. Like the index, a failure only warns. */
    if (cfg->aiop.enabled) {
        const char *dir = fscontract_aiop_dir(cfg, m->pipeline_id, m->profile, m->manifest_hash,
                                              m->manifest_short, res->run_id);
        struct aiop_run run = { .run_dir = res->run_dir,
                                .run_id = res->run_id,
                                .pipeline = m->pipeline_id,
                                .profile = m->profile,
                                .manifest_hash = m->manifest_hash,
                                .manifest_short = m->manifest_short,
                                .manifest_path = m->path,
                                .out_dir = dir };
        struct err aerr = ERR_INIT;
        json_t *summary = aiop_export(cfg, &run, &aerr);
        if (summary)
            res->aiop_dir = dir;
        else
            res->aiop_error = arena_strdup(e->a, aerr.msg);
        json_decref(summary);
    }

    /* Failed runs are indexed too. A run that cannot be indexed still happened: warn only. */
    struct runindex_record rec = { .run_id = res->run_id,
                                   .pipeline_slug = m->pipeline_id,
                                   .profile = m->profile,
                                   .manifest_hash = m->manifest_hash,
                                   .manifest_short = m->manifest_short,
                                   .run_ts = e->started,
                                   .ok = res->ok,
                                   .duration_ms = res->duration_ms,
                                   .run_logs_path = res->run_dir,
                                   .aiop_path = res->aiop_dir,
                                   .build_manifest_path = m->path,
                                   .failed_step = res->failed_step,
                                   .error = res->error };
    struct err ierr = ERR_INIT;
    if (runindex_append(projconfig_path(cfg, cfg->index_dir), cfg->base_path, &rec, &ierr) != 0)
        res->index_error = arena_strdup(e->a, ierr.msg);
}

int runner_run(const struct run_request *req, struct run_result *res, struct err *err)
{
    struct engine *e = runner_open(req, res, err);
    if (!e)
        return -1;
    for (size_t i = 0; i < req->manifest->nsteps; i++)
        runner_step(e, i, NULL);
    runner_close(e);
    return 0;
}
