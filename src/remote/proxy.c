/* The host side of a remote run; see proxy.h. */
#include "proxy.h"
#include "connections.h"
#include "drivers/driver.h"
#include "files.h"
#include "fingerprint.h"
#include "json.h"
#include "oml.h"
#include "backend.h"
#include "pack.h"
#include "registry.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROTOCOL        1
#define DEFAULT_CALL_MS (10 * 60 * 1000)
/* The worker's last stderr bytes kept for an error message. */
#define STDERR_TAIL 2048

/* The worker and what it has said. */
struct link {
    struct worker w;            /* the worker's process, as its backend started it */
    struct strbuf out;          /* stdout bytes not yet taken as a frame */
    char tail[STDERR_TAIL + 1]; /* the last stderr bytes */
    size_t taillen;
    json_int_t next_id;
    uint64_t run_deadline; /* session_clock_ms() value, 0: none */
    int call_ms;
};

/* ==== Frames ==== */

static void keep_stderr(struct link *l, const char *buf, size_t n)
{
    if (n >= STDERR_TAIL) {
        buf += n - STDERR_TAIL;
        n = STDERR_TAIL;
    }
    if (l->taillen + n > STDERR_TAIL) {
        size_t drop = l->taillen + n - STDERR_TAIL;
        memmove(l->tail, l->tail + drop, l->taillen - drop);
        l->taillen -= drop;
    }
    memcpy(l->tail + l->taillen, buf, n);
    l->taillen += n;
    l->tail[l->taillen] = '\0';
}

/* The last lines the worker wrote on stderr, on one line. */
static const char *stderr_tail(struct link *l)
{
    for (size_t i = 0; i < l->taillen; i++)
        if (l->tail[i] == '\n')
            l->tail[i] = i + 1 < l->taillen ? ' ' : '\0';
    return l->taillen ? l->tail : "(nothing)";
}

/* The next frame from the worker into line: 1, 0 when its stdout ended, -1 past the deadline. */
static int read_frame(struct link *l, uint64_t deadline, struct strbuf *line)
{
    for (;;) {
        char *nl = l->out.len ? memchr(l->out.buf, '\n', l->out.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - l->out.buf);
            strbuf_reset(line);
            strbuf_add(line, l->out.buf, n);
            memmove(l->out.buf, nl + 1, l->out.len - n - 1);
            l->out.len -= n + 1;
            l->out.buf[l->out.len] = '\0';
            return 1;
        }
        if (l->w.sb.proc.fd[1] < 0)
            return 0;
        uint64_t now = session_clock_ms();
        if (now >= deadline)
            return -1;
        struct pollfd fds[2] = { { .fd = l->w.sb.proc.fd[1], .events = POLLIN },
                                 { .fd = l->w.sb.proc.fd[2], .events = POLLIN } };
        uint64_t wait = deadline - now;
        int r = poll(fds, l->w.sb.proc.fd[2] >= 0 ? 2 : 1, wait > INT_MAX ? INT_MAX : (int)wait);
        if (r < 0 && errno != EINTR)
            return 0;
        char buf[65536];
        for (int k = 1; r > 0 && k >= 0; k--) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[k].fd, buf, sizeof(buf));
            if (n <= 0 && errno != EINTR)
                spawn_close_fd(&l->w.sb.proc, k + 1);
            else if (n > 0 && k == 1)
                keep_stderr(l, buf, (size_t)n);
            else if (n > 0)
                strbuf_add(&l->out, buf, (size_t)n);
        }
    }
}

/* Why the worker stopped answering, for err. */
static int worker_gone(struct link *l, const char *cmd, bool timed_out, struct err *err)
{
    if (timed_out) {
        sandbox_stop(&l->w.sb, 1000);
        return err_set(err, ERR_TIMEOUT,
                       "the worker did not answer '%s' in time (stopped); its "
                       "last stderr lines: %s",
                       cmd, stderr_tail(l));
    }
    struct err werr = ERR_INIT;
    char status[96] = "still running";
    if (spawn_wait(&l->w.sb.proc, 5000, &werr) == 1)
        spawn_status_str(l->w.sb.proc.status, status, sizeof(status));
    sandbox_stop(&l->w.sb, 0);
    return err_set(err, ERR_RPC, "the worker ended during '%s' (%s); its last stderr lines: %s",
                   cmd, status, stderr_tail(l));
}

/* Sends req (stolen; its id is set here) and waits for its response (*resp, new reference),
 * handing every frame before it to the run. */
static int call(struct link *l, struct engine *e, json_t *req, json_t **resp, struct err *err)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    char what[64];
    snprintf(what, sizeof(what), "%s", cmd ? cmd : "?");
    json_int_t id = ++l->next_id;
    json_object_set_new(req, "id", json_integer(id));
    struct strbuf sb = STRBUF_INIT;
    jv_dump(req, &sb, 0);
    strbuf_addch(&sb, '\n');
    json_decref(req);
    int rc = l->w.sb.proc.fd[0] >= 0 ? files_write_all(l->w.sb.proc.fd[0], sb.buf, sb.len) : -1;
    strbuf_release(&sb);
    if (rc != 0)
        return worker_gone(l, what, false, err);
    uint64_t deadline = session_clock_ms() + (uint64_t)l->call_ms;
    if (l->run_deadline && l->run_deadline < deadline)
        deadline = l->run_deadline;
    struct strbuf line = STRBUF_INIT;
    *resp = NULL;
    while (!*resp && (rc = read_frame(l, deadline, &line)) == 1) {
        struct err perr = ERR_INIT;
        json_t *f = jv_parse(line.buf, line.len, "worker frame", &perr);
        if (!json_is_object(f)) {
            session_log(runner_session(e), SESSION_WARNING, "worker: not a frame: %.200s",
                        line.buf);
        } else if (json_object_get(f, "id") && json_integer_value(json_object_get(f, "id")) == id) {
            *resp = json_incref(f);
        } else {
            runner_relay(e, f);
        }
        json_decref(f);
    }
    strbuf_release(&line);
    if (!*resp)
        return worker_gone(l, what, rc < 0, err);
    return 0;
}

static const char *resp_type(const json_t *r)
{
    const char *t = json_string_value(json_object_get(r, "type"));
    return t ? t : "";
}

/* ==== Files in and out ==== */

/* A step's cfg, as compiled. New reference or NULL. */
static json_t *step_cfg(const struct manifest_step *ms)
{
    struct strbuf sb = STRBUF_INIT;
    struct err err = ERR_INIT;
    json_t *v = files_read(ms->cfg_path, &sb, &err) == 0
                    ? jv_parse(sb.buf, sb.len, ms->cfg_path, &err)
                    : NULL;
    strbuf_release(&sb);
    return v;
}

static int copy_file(const char *from, const char *to, struct err *err)
{
    char *dir = xstrdup(to);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    struct strbuf sb = STRBUF_INIT;
    int rc = (!slash || files_mkdirs(dir, NULL, err) == 0) && files_read(from, &sb, err) == 0
                 ? files_write_atomic(to, sb.buf, sb.len, 0644, err)
                 : -1;
    strbuf_release(&sb);
    free(dir);
    return rc;
}

/* The base directory a filesystem extract step reads from: its own base_dir, else its
 * connection's (csv_extractor resolves it so), or NULL. */
static const char *step_base_dir(const struct run_request *req, const json_t *cfg, struct arena *a,
                                 struct err *err)
{
    const char *own = json_string_value(json_object_get(cfg, "base_dir"));
    const char *ref = json_string_value(json_object_get(cfg, "connection"));
    if (own || !ref)
        return own;
    char *family = NULL, *alias = NULL;
    const char *base = NULL;
    if (connections_parse_ref(ref, &family, &alias, err) == 0 &&
        strcmp(family, "filesystem") == 0) {
        json_t *c = connections_resolve(req->conns, family, alias, err);
        const char *b = json_string_value(json_object_get(c, "base_dir"));
        base = b ? arena_strdup(a, b) : NULL;
        json_decref(c);
    }
    free(family);
    free(alias);
    return base;
}

/* The file step i reads (extract) or writes (write), relative to the project, which it must
 * stay inside for a remote run: its `path` under its base directory. NULL when it has none (a
 * database step), or on error. *mode gets the step's mode. */
static const char *step_file(const struct run_request *req, size_t i, const char **mode,
                             struct arena *a, struct err *err)
{
    const struct manifest_step *ms = &req->manifest->steps[i];
    json_t *cfg = step_cfg(ms);
    const char *m = json_string_value(json_object_get(cfg, "mode"));
    const char *p = json_string_value(json_object_get(cfg, "path"));
    *mode = m ? arena_strdup(a, m) : "";
    const char *base = p && m && strcmp(m, "extract") == 0 ? step_base_dir(req, cfg, a, err) : NULL;
    const char *rel = !p || err->code ? NULL
                      : base          ? arena_printf(a, "%s/%s", base, p)
                                      : arena_strdup(a, p);
    json_decref(cfg);
    if (rel && (rel[0] == '/' || rel[0] == '~' || strstr(rel, ".."))) {
        err_set(err, ERR_INPUT,
                "step '%s': a remote run needs its files inside the project, not '%s'", ms->id,
                rel);
        return NULL;
    }
    return rel;
}

/* The files of the run, per step, read once: in[i] what extract step i reads, out[i] what write
 * step i writes (NULL for the other steps and for steps without a file). */
struct run_files {
    const char **in, **out;
};

static int plan_files(const struct run_request *req, struct arena *a, struct run_files *f,
                      struct err *err)
{
    size_t n = req->manifest->nsteps;
    f->in = arena_calloc(a, n + 1, sizeof(*f->in));
    f->out = arena_calloc(a, n + 1, sizeof(*f->out));
    for (size_t i = 0; i < n; i++) {
        const char *mode, *rel = step_file(req, i, &mode, a, err);
        if (err->code)
            return -1;
        if (strcmp(mode, "extract") == 0)
            f->in[i] = rel;
        else if (strcmp(mode, "write") == 0)
            f->out[i] = rel;
    }
    return 0;
}

/* Copies the extract steps' input files into the session directory, and every step's
 * incremental state (the worker's base_path is the session directory, so the driver finds it
 * at the same relative path; the new state comes back with the artifacts). */
static int ship_inputs(const struct run_request *req, const struct run_files *f, const char *sess,
                       struct arena *a, struct err *err)
{
    for (size_t i = 0; i < req->manifest->nsteps; i++) {
        const char *rels[] = {
            f->in[i],
            runner_state_file(a, req->manifest->pipeline_id, req->manifest->steps[i].id),
        };
        for (size_t k = 0; k < sizeof(rels) / sizeof(*rels); k++)
            if (rels[k] && files_exists(projconfig_path(req->cfg, rels[k])) &&
                copy_file(projconfig_path(req->cfg, rels[k]),
                          arena_printf(a, "%s/%s", sess, rels[k]), err) != 0)
                return -1;
    }
    return 0;
}

/* Brings back what the completed write steps wrote, and the artifacts. */
static int fetch_outputs(const struct run_request *req, const struct run_result *res,
                         const struct run_files *f, const bool *done, const char *sess,
                         struct arena *a, struct err *err)
{
    for (size_t i = 0; i < req->manifest->nsteps; i++) {
        const char *rel = done[i] ? f->out[i] : NULL;
        if (rel && copy_file(arena_printf(a, "%s/%s", sess, rel), projconfig_path(req->cfg, rel),
                             err) != 0)
            return -1;
    }
    struct strbuf from = STRBUF_INIT, to = STRBUF_INIT;
    strbuf_addf(&from, "%s/run/artifacts", sess);
    strbuf_addf(&to, "%s/artifacts", res->run_dir);
    int rc = files_is_dir(from.buf) ? files_copy_tree(from.buf, to.buf, err) : 0;
    strbuf_release(&from);
    strbuf_release(&to);
    return rc;
}

/* ==== The conversation ==== */

static json_t *hello_request(const struct run_request *req)
{
    char fp[FINGERPRINT_HEX_LEN];
    registry_fingerprint(req->reg, NULL, 0, fp);
    return json_pack("{s:s, s:i, s:s, s:s}", "cmd", "hello", "protocol", PROTOCOL, "version",
                     OSIRIS_VERSION, "registry_fp", fp);
}

/* The worker must be this osiris: same version, same components. */
static int check_hello(struct engine *e, const struct run_request *req, const json_t *r,
                       struct err *err)
{
    char fp[FINGERPRINT_HEX_LEN];
    registry_fingerprint(req->reg, NULL, 0, fp);
    const char *version = json_string_value(json_object_get(r, "version"));
    const char *wfp = json_string_value(json_object_get(r, "registry_fp"));
    bool match = version && wfp && strcmp(version, OSIRIS_VERSION) == 0 && strcmp(wfp, fp) == 0;
    session_event(runner_session(e), "worker_started",
                  json_pack("{s:s?, s:O?, s:s?, s:b}", "version", version, "protocol",
                            json_object_get(r, "protocol"), "registry_fp", wfp, "match", match));
    if (strcmp(resp_type(r), "hello") != 0)
        return err_set(err, ERR_RPC, "the worker refused hello: %s",
                       json_string_value(json_object_get(r, "error")));
    if (!match)
        return err_set(err, ERR_RPC,
                       "the worker is osiris %s with registry %.12s, the host osiris %s with "
                       "registry %.12s: they must be the same build",
                       version ? version : "?", wfp ? wfp : "?", OSIRIS_VERSION, fp);
    return 0;
}

/* The prepare request: the manifest, cfg files by the path the manifest names them, the
 * connections the steps use, resolved here, and the run settings. */
static json_t *prepare_request(struct engine *e, const struct run_request *req,
                               const struct run_result *res, struct err *err)
{
    const struct manifest *m = req->manifest;
    struct strbuf text = STRBUF_INIT;
    if (files_read(m->path, &text, err) != 0)
        return NULL;
    json_t *cfgs = json_object(), *conns = json_object(), *failed = json_object();
    for (size_t i = 0; i < m->nsteps && !err->code; i++) {
        json_t *cfg = step_cfg(&m->steps[i]);
        if (!cfg) {
            err_set(err, ERR_INPUT, "cannot read %s", m->steps[i].cfg_path);
            break;
        }
        char key[512], family[128];
        snprintf(key, sizeof(key), "cfg/%s", strrchr(m->steps[i].cfg_path, '/') + 1);
        oml_family(m->steps[i].component, family, sizeof(family));
        const char *ref = json_string_value(json_object_get(cfg, "connection"));
        json_object_set(cfgs, key, cfg);
        json_decref(cfg);
        if (!ref && oml_connection_optional(family))
            continue;
        char *rfam = NULL, *ralias = NULL;
        if (ref && connections_parse_ref(ref, &rfam, &ralias, err) != 0)
            break;
        char conn_key[256];
        snprintf(conn_key, sizeof(conn_key), "%s%s", ref ? "" : "@", ref ? ref : family);
        /* One that cannot be resolved fails its step in the worker, with this error. */
        struct err cerr = ERR_INIT;
        json_t *c = json_object_get(conns, conn_key)
                        ? NULL
                        : connections_resolve(req->conns, rfam ? rfam : family, ralias, &cerr);
        if (c) {
            runner_learn_connection(e, c);
            json_object_set_new(conns, conn_key, c);
        } else if (cerr.code) {
            json_object_set_new(failed, conn_key,
                                json_pack("{s:s, s:i}", "message", cerr.msg, "code", cerr.code));
        }
        free(rfam);
        free(ralias);
    }
    json_t *r = NULL;
    if (json_object_size(failed))
        json_object_set(conns, "errors", failed);
    json_decref(failed);
    if (!err->code)
        r = json_pack("{s:s, s:s, s:s, s:o, s:o, s:O?, s:{s:s, s:s, s:i}}", "cmd", "prepare",
                      "session_id", res->run_id, "manifest", text.buf, "cfg", cfgs, "connections",
                      conns, "params", req->params, "run", "memory_limit",
                      req->cfg->run.memory_limit, "stream_memory_limit",
                      req->cfg->run.stream_memory_limit, "threads", req->cfg->run.threads);
    else {
        json_decref(cfgs);
        json_decref(conns);
    }
    strbuf_release(&text);
    return r;
}

/* Runs the steps in the worker; *next gets the first step not run, *stepping whether a failure
 * happened while step *next ran. */
static int converse(struct link *l, struct engine *e, const struct run_request *req,
                    const struct run_result *res, bool *done, size_t *next, bool *stepping,
                    struct err *err)
{
    json_t *r = NULL;
    if (call(l, e, hello_request(req), &r, err) != 0 || check_hello(e, req, r, err) != 0) {
        json_decref(r);
        return -1;
    }
    json_decref(r);
    json_t *prep = prepare_request(e, req, res, err);
    if (!prep || call(l, e, prep, &r, err) != 0)
        return -1;
    if (strcmp(resp_type(r), "ready") != 0) {
        err_set(err, ERR_RPC, "the worker could not prepare the run: %s",
                json_string_value(json_object_get(r, "error")));
        json_decref(r);
        return -1;
    }
    json_decref(r);
    const struct manifest *m = req->manifest;
    for (*next = 0; *next < m->nsteps; (*next)++) {
        const char *id = m->steps[*next].id;
        *stepping = true;
        if (call(l, e, json_pack("{s:s, s:s}", "cmd", "exec_step", "step_id", id), &r, err) != 0)
            return -1;
        *stepping = false;
        bool ok = strcmp(resp_type(r), "complete") == 0;
        struct step_report rep = {
            .ok = ok,
            .rows_in = json_integer_value(json_object_get(r, "rows_in")),
            .rows_out = json_integer_value(json_object_get(r, "rows_out")),
            .duration_ms = json_integer_value(json_object_get(r, "duration_ms")),
            .error = json_string_value(json_object_get(r, "error")),
            .error_code = json_string_value(json_object_get(r, "error_code")),
        };
        runner_record(e, *next, &rep);
        done[*next] = ok;
        json_decref(r);
        if (!ok) {
            (*next)++;
            break;
        }
    }
    if (call(l, e, json_pack("{s:s}", "cmd", "cleanup"), &r, err) != 0)
        return -1;
    json_decref(r);
    return 0;
}

json_t *remote_shipment(const struct run_request *req, const struct remote_opts *o, struct err *err)
{
    struct arena a = ARENA_INIT;
    json_t *inputs = json_array(), *out = NULL;
    struct run_files rf;
    if (plan_files(req, &a, &rf, err) == 0)
        for (size_t i = 0; i < req->manifest->nsteps; i++)
            if (rf.in[i])
                json_array_append_new(inputs, json_string(rf.in[i]));
    struct pack_info info = { 0 };
    bool packs = backend_find(o->target)->packs;
    if (!err->code && (!packs || pack_plan(&a, o->worker_path, &info, err) == 0)) {
        json_t *files = json_array();
        for (size_t i = 0; i < info.nfiles; i++)
            json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", info.files[i].name,
                                                   "size", (json_int_t)info.files[i].size, "source",
                                                   info.files[i].source));
        out = json_pack("{s:s, s:o, s:I, s:o}", "target", o->target, "pack", files, "pack_bytes",
                        (json_int_t)info.bytes, "inputs", inputs);
        inputs = NULL;
    }
    json_decref(inputs);
    arena_release(&a);
    return out;
}

int remote_check_target(const char *target, struct err *err)
{
    return backend_check_target(target, err);
}

int remote_run(const struct run_request *req, const struct remote_opts *o, struct run_result *res,
               struct err *err)
{
    struct run_request rq = *req;
    rq.remote = true;
    rq.environment = "remote";
    rq.sandbox_id = o->target;
    struct engine *e = runner_open(&rq, res, err);
    if (!e)
        return -1;
    const struct manifest *m = req->manifest;
    struct arena *a = &res->arena;
    bool *done = arena_calloc(a, m->nsteps + 1, sizeof(*done));
    size_t next = 0;
    bool stepping = false;
    struct run_files files;
    const char *tmp = getenv("TMPDIR");
    char *sess = arena_printf(a, "%s/osiris-worker-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    struct link l = { .w = { .sb = SANDBOX_INIT },
                      .call_ms = o->call_timeout_ms > 0 ? o->call_timeout_ms : DEFAULT_CALL_MS };
    if (o->run_timeout_ms > 0)
        l.run_deadline = session_clock_ms() + (uint64_t)o->run_timeout_ms;
    struct err rerr = ERR_INIT;
    const struct backend *b = backend_find(o->target);
    /* A worker that dies must fail the run, not kill the host with SIGPIPE. */
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    if (!res->error) {
        if (!mkdtemp(sess))
            err_errno(&rerr, ERR_IO, "cannot create the worker's session directory");
        else if (plan_files(req, a, &files, &rerr) == 0 &&
                 ship_inputs(req, &files, sess, a, &rerr) == 0 &&
                 b->start(&l.w, e, o, sess, a, &rerr) == 0 &&
                 converse(&l, e, req, res, done, &next, &stepping, &rerr) == 0 &&
                 (!b->pull || b->pull(&l.w, o, sess, a, &rerr) == 0))
            fetch_outputs(req, res, &files, done, sess, a, &rerr);
        if (l.w.sb.proc.pid) {
            spawn_close_fd(&l.w.sb.proc, 0); /* EOF: the worker ends */
            struct err werr = ERR_INIT;
            if (spawn_wait(&l.w.sb.proc, 5000, &werr) != 1)
                sandbox_stop(&l.w.sb, 1000);
        }
        sandbox_stop(&l.w.sb, 0);
        if (b->finish)
            b->finish(&l.w, o, a);
        if (rerr.code)
            runner_fail(e, stepping ? m->steps[next].id : NULL, rerr.msg,
                        rerr.code == ERR_TIMEOUT ? "remote.timeout" : "remote.failed");
        files_remove_tree(sess, NULL);
    }
    signal(SIGPIPE, old_pipe);
    /* Steps the worker did not run: the run has failed, so they are recorded as skipped. */
    for (size_t i = next + (stepping ? 1 : 0); i < m->nsteps; i++)
        runner_step(e, i, NULL);
    strbuf_release(&l.out);
    runner_close(e);
    return 0;
}
