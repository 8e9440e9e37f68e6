/* osiris worker (hidden): the remote end of `osiris run --remote`. Serves protocol v1
 * (docs/internals/protocol.md) on stdin/stdout: one JSON object per line each way, a response per
 * request carrying its id, and the run's events, metrics and log lines as frames in between. The
 * steps run in the same engine as a local run (runner_open/runner_step/runner_close); the host
 * keeps the run record (run_start, run_end, status.json, the index). The worker's session
 * directory is its working directory: build/ gets the manifest and cfg files from `prepare`,
 * run/ the run's artifacts and scratch space. Connections arrive resolved in `prepare` and live
 * only in memory. stdin at EOF ends the worker (status 0). */
#include "cli.h"
#include "connections.h"
#include "drivers/driver.h"
#include "engine/runner.h"
#include "files.h"
#include "fingerprint.h"
#include "json.h"
#include "manifest.h"
#include "projconfig.h"
#include "registry.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL 1
/* A frame longer than this is refused (and skipped to its end): a prepare frame holds a manifest
 * and its cfg files, a few hundred KB for a thousand steps. */
#define MAX_FRAME (16u << 20)

struct worker {
    struct cli_ctx *ctx;
    FILE *out;
    struct registry reg;
    bool prepared, closed;
    struct manifest m;
    struct project_config cfg;
    struct connections conns; /* empty: the host resolves connections */
    json_t *resolved, *params;
    struct run_result res;
    struct engine *e;
    bool *executed; /* per manifest step */
    size_t steps_executed;
    int64_t total_rows;
};

/* ==== Frames ==== */

/* Reads one line into line (without the newline): 1, 0 at EOF, -1 when it was longer than
 * MAX_FRAME (and has been skipped). */
static int read_frame(FILE *in, struct strbuf *line)
{
    strbuf_reset(line);
    char chunk[65536];
    bool big = false;
    while (fgets(chunk, sizeof(chunk), in)) {
        size_t n = strlen(chunk);
        bool end = n && chunk[n - 1] == '\n';
        if (!big && line->len + n > MAX_FRAME)
            big = true;
        if (!big)
            strbuf_add(line, chunk, end ? n - 1 : n);
        if (end)
            return big ? -1 : 1;
    }
    if (big)
        return -1;
    return line->len ? 1 : 0; /* a last line without its newline still counts */
}

static void send_frame(struct worker *w, json_t *frame)
{
    struct strbuf sb = STRBUF_INIT;
    jv_dump(frame, &sb, 0);
    strbuf_addch(&sb, '\n');
    fwrite(sb.buf, 1, sb.len, w->out);
    fflush(w->out);
    strbuf_release(&sb);
    json_decref(frame);
}

static void send_error(struct worker *w, const json_t *id, const char *step_id, const char *msg,
                       const char *code)
{
    json_t *f = json_pack("{s:O, s:s, s:s, s:s}", "id", id ? id : json_null(), "type", "error",
                          "error", msg, "error_code", code);
    if (step_id)
        json_object_set_new(f, "step_id", json_string(step_id));
    send_frame(w, f);
}

/* ==== Commands ==== */

static int hello(struct worker *w, const json_t *req, json_t *reply, struct err *err)
{
    const json_t *proto = json_object_get(req, "protocol");
    if (proto && (!json_is_integer(proto) || json_integer_value(proto) != PROTOCOL)) {
        struct strbuf v = STRBUF_INIT;
        jv_dump(proto, &v, 0);
        err_set(err, ERR_INPUT, "protocol %s is not spoken here (this worker speaks %d)",
                strbuf_str(&v), PROTOCOL);
        strbuf_release(&v);
        return -1;
    }
    char fp[FINGERPRINT_HEX_LEN];
    registry_fingerprint(&w->reg, NULL, 0, fp);
    json_t *drivers = json_array();
    for (size_t i = 0; driver_at(i); i++)
        json_array_append_new(drivers, json_string(driver_at(i)->name));
    const char *sandbox = getenv("OSIRIS_SANDBOX_ID");
    json_object_update_new(reply, json_pack("{s:s, s:i, s:s, s:s, s:o, s:s}", "type", "hello",
                                            "protocol", PROTOCOL, "version", OSIRIS_VERSION,
                                            "registry_fp", fp, "drivers", drivers, "sandbox_id",
                                            sandbox && *sandbox ? sandbox : "local"));
    return 0;
}

static int ping(struct worker *w, const json_t *req, json_t *reply, struct err *err)
{
    (void)w, (void)err;
    const json_t *data = json_object_get(req, "data");
    json_object_set_new(reply, "type", json_string("pong"));
    json_object_set(reply, "echo", data ? (json_t *)data : json_null());
    return 0;
}

/* A relative path without "..", "." or empty segments: where a cfg file may be written. */
static bool plain_path(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

static const char *string_field(const json_t *req, const char *name, struct err *err)
{
    const char *s = json_string_value(json_object_get(req, name));
    if (!s || !*s)
        err_set(err, ERR_INPUT, "'%s' must be a non-empty string", name);
    return s;
}

/* Writes the manifest and the cfg files under build/ and loads the manifest. */
static int write_inputs(struct worker *w, const json_t *req, struct err *err)
{
    const char *manifest = string_field(req, "manifest", err);
    const json_t *cfgs = json_object_get(req, "cfg");
    if (!manifest)
        return -1;
    if (!json_is_object(cfgs))
        return err_set(err, ERR_INPUT, "'cfg' must be an object of cfg files by path");
    if (files_mkdirs("build", NULL, err) != 0 ||
        files_write_atomic("build/manifest.yaml", manifest, strlen(manifest), 0644, err) != 0)
        return -1;
    const char *path;
    json_t *v;
    json_object_foreach((json_t *)cfgs, path, v)
    {
        if (!plain_path(path) || !json_is_object(v))
            return err_set(err, ERR_INPUT,
                           "cfg '%s': a relative path (no '..') to a JSON object is expected",
                           path);
        struct strbuf file = STRBUF_INIT, text = STRBUF_INIT;
        strbuf_addf(&file, "build/%s", path);
        char *slash = strrchr(file.buf, '/');
        *slash = '\0';
        int rc = files_mkdirs(file.buf, NULL, err);
        *slash = '/';
        jv_dump(v, &text, JV_PRETTY);
        if (rc == 0)
            rc = files_write_atomic(file.buf, text.buf, text.len, 0644, err);
        strbuf_release(&file);
        strbuf_release(&text);
        if (rc != 0)
            return -1;
    }
    return manifest_load(&w->m, "build/manifest.yaml", err);
}

/* Options of osiris.yaml's run: section the host passes on. */
static void run_settings(struct worker *w, const json_t *req)
{
    const json_t *run = json_object_get(req, "run");
    const char *s;
    if ((s = json_string_value(json_object_get(run, "memory_limit"))))
        w->cfg.run.memory_limit = arena_strdup(&w->cfg.arena, s);
    if ((s = json_string_value(json_object_get(run, "stream_memory_limit"))))
        w->cfg.run.stream_memory_limit = arena_strdup(&w->cfg.arena, s);
    const json_t *t = json_object_get(run, "threads");
    if (json_is_integer(t))
        w->cfg.run.threads = (int)json_integer_value(t);
}

static int prepare(struct worker *w, const json_t *req, json_t *reply, struct err *err)
{
    if (w->prepared)
        return err_set(err, ERR_CONFLICT, "the session is prepared already");
    const char *session = string_field(req, "session_id", err);
    const json_t *conns = json_object_get(req, "connections");
    const json_t *params = json_object_get(req, "params");
    if (!session)
        return -1;
    if (conns && !json_is_object(conns))
        return err_set(err, ERR_INPUT, "'connections' must be an object");
    if (!plain_path(session) || strchr(session, '/'))
        return err_set(err, ERR_INPUT, "'session_id' must be a plain name");
    if (projconfig_load(&w->cfg, NULL, err) != 0)
        return -1;
    if (write_inputs(w, req, err) != 0) {
        projconfig_release(&w->cfg);
        return -1;
    }
    run_settings(w, req);
    w->resolved = conns ? json_deep_copy(conns) : json_object();
    w->params = json_is_object(params) ? json_deep_copy(params) : NULL;
    w->executed = xcalloc(w->m.nsteps + 1, sizeof(*w->executed));
    struct run_request rr = { .manifest = &w->m,
                              .cfg = &w->cfg,
                              .reg = &w->reg,
                              .conns = &w->conns,
                              .params = w->params,
                              .verbose = w->ctx->verbose,
                              .stream = w->out,
                              .run_id = session,
                              .run_dir = projconfig_path(&w->cfg, "run"),
                              .resolved = w->resolved };
    /* The request must outlive the run: keep a copy in the config's arena. */
    struct run_request *kept = arena_alloc(&w->cfg.arena, sizeof(*kept));
    *kept = rr;
    w->e = runner_open(kept, &w->res, err);
    w->prepared = true;
    if (!w->e)
        return -1;
    if (w->res.error)
        return err_set(err, ERR_IO, "the run could not start: %s", w->res.error);
    json_object_update_new(reply, json_pack("{s:s, s:s, s:I}", "type", "ready", "session_id",
                                            session, "steps", (json_int_t)w->m.nsteps));
    return 0;
}

static int exec_step(struct worker *w, const json_t *req, json_t *reply, struct err *err)
{
    const char *id = string_field(req, "step_id", err);
    if (!id)
        return -1;
    if (!w->e || w->closed)
        return err_set(err, ERR_CONFLICT, "no prepared session: send 'prepare' first");
    size_t i = 0;
    while (i < w->m.nsteps && strcmp(w->m.steps[i].id, id) != 0)
        i++;
    if (i == w->m.nsteps)
        return err_set(err, ERR_NOTFOUND, "no step '%s' in the manifest", id);
    if (w->executed[i])
        return err_set(err, ERR_CONFLICT, "step '%s' has run already", id);
    w->executed[i] = true;
    struct step_report rep;
    if (runner_step(w->e, i, &rep) != 0) {
        err_set(err, ERR_INPUT, "%s", rep.error ? rep.error : "the step failed");
        json_object_set_new(reply, "step_id", json_string(id));
        json_object_set_new(reply, "error_code",
                            json_string(rep.error_code ? rep.error_code : "system.error"));
        return -1;
    }
    w->steps_executed++;
    w->total_rows += rep.rows_out;
    json_object_update_new(reply, json_pack("{s:s, s:s, s:I, s:I, s:I}", "type", "complete",
                                            "step_id", id, "rows_in", (json_int_t)rep.rows_in,
                                            "rows_out", (json_int_t)rep.rows_out, "duration_ms",
                                            (json_int_t)rep.duration_ms));
    return 0;
}

static void end_session(struct worker *w)
{
    if (w->e && !w->closed)
        runner_close(w->e);
    w->closed = true;
}

static void release_session(struct worker *w)
{
    end_session(w);
    if (!w->prepared)
        return;
    run_result_release(&w->res); /* also after a failed runner_open */
    manifest_release(&w->m);
    projconfig_release(&w->cfg);
    json_decref(w->resolved);
    json_decref(w->params);
    free(w->executed);
}

static int cleanup(struct worker *w, const json_t *req, json_t *reply, struct err *err)
{
    (void)req, (void)err;
    end_session(w);
    json_object_update_new(reply, json_pack("{s:s, s:I, s:I}", "type", "cleaned", "steps_executed",
                                            (json_int_t)w->steps_executed, "total_rows",
                                            (json_int_t)w->total_rows));
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(struct worker *w, const json_t *req, json_t *reply, struct err *err);
} commands[] = {
    { "hello", hello },         { "ping", ping },       { "prepare", prepare },
    { "exec_step", exec_step }, { "cleanup", cleanup },
};

/* Error codes of the responses, by the err code of the failure. */
static const char *error_code(int code)
{
    return code == ERR_INPUT || code == ERR_NOTFOUND || code == ERR_CONFLICT ? "protocol.invalid"
                                                                             : "system.error";
}

static void serve(struct worker *w, const char *text, size_t len)
{
    struct err err = ERR_INIT;
    json_t *req = jv_parse(text, len, "frame", &err);
    const json_t *id = json_object_get(req, "id");
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!req || !json_is_object(req)) {
        send_error(w, NULL, NULL, req ? "a frame must be a JSON object" : err.msg,
                   "protocol.invalid");
    } else if (!json_is_integer(id)) {
        send_error(w, NULL, NULL, "'id' must be an integer", "protocol.invalid");
    } else if (!cmd) {
        send_error(w, id, NULL, "'cmd' must be a string", "protocol.invalid");
    } else {
        size_t i = 0, n = sizeof(commands) / sizeof(commands[0]);
        while (i < n && strcmp(commands[i].name, cmd) != 0)
            i++;
        json_t *reply = json_pack("{s:O}", "id", id);
        if (i == n) {
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown command '%.100s'", cmd);
            send_error(w, id, NULL, msg, "protocol.unknown_command");
        } else if (commands[i].fn(w, req, reply, &err) == 0) {
            send_frame(w, json_incref(reply));
        } else {
            const char *step = json_string_value(json_object_get(reply, "step_id"));
            const char *code = json_string_value(json_object_get(reply, "error_code"));
            send_error(w, id, step, err.msg, code ? code : error_code(err.code));
        }
        json_decref(reply);
    }
    json_decref(req);
}

static int run(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    struct worker w = { .ctx = ctx, .out = stdout };
    struct err err = ERR_INIT;
    /* Only the compiled-in components: the registry must be the binary's, as hello says. */
    if (registry_load(&w.reg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    struct strbuf line = STRBUF_INIT;
    int rc;
    while ((rc = read_frame(stdin, &line)) != 0) {
        if (rc < 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "frame larger than %u bytes", MAX_FRAME);
            send_error(&w, NULL, NULL, msg, "protocol.frame_too_large");
        } else if (line.len) {
            serve(&w, line.buf, line.len);
        }
    }
    strbuf_release(&line);
    release_session(&w);
    registry_release(&w.reg);
    return EXIT_OK;
}

const struct cli_command cmd_worker = {
    .name = "worker",
    .summary = "Serve the remote-execution protocol on stdin/stdout (started by run --remote)",
    .min_args = 0,
    .max_args = 0,
    .hidden = true,
    .run = run,
};
