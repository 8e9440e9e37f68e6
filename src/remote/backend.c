/* The --remote backends; see backend.h. */
#include "backend.h"
#include "drivers/driver.h"
#include "files.h"
#include "fingerprint.h"
#include "json.h"
#include "pack.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The worker's environment: only what is named. */
static const char **worker_env(struct arena *a, const char *home, const struct remote_opts *o)
{
    size_t n = 0;
    while (o->env && o->env[n])
        n++;
    const char **env = arena_calloc(a, n + 5, sizeof(*env));
    size_t k = 0;
    env[k++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    env[k++] = "TZ=UTC";
    env[k++] = arena_printf(a, "HOME=%s", home);
    for (size_t i = 0; i < n; i++)
        env[k++] = o->env[i];
    return env;
}

/* The osiris binary the worker runs: OSIRIS_WORKER_BIN's, or this one. */
static const char *worker_binary(const struct remote_opts *o, struct arena *a, struct err *err)
{
    if (o->worker_path)
        return o->worker_path;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0) {
        err_errno(err, ERR_IO, "cannot find the osiris binary (/proc/self/exe)");
        return NULL;
    }
    return arena_strndup(a, self, (size_t)n);
}

/* `process`: the worker as a plain subprocess in the session directory. */
static int start_process(struct worker *l, struct engine *e, const struct remote_opts *o,
                         const char *sess, struct arena *a, struct err *err)
{
    (void)e;
    const char *self = worker_binary(o, a, err);
    if (!self)
        return -1;
    const char *argv[] = { self, "worker", NULL };
    struct spawn_opts so = { .argv = argv,
                             .envp = worker_env(a, sess, o),
                             .cwd = sess,
                             .stdio = { SPAWN_PIPE, SPAWN_PIPE, SPAWN_PIPE } };
    return spawn_start(&l->sb.proc, &so, err);
}

/* Removes the packs of other builds of this version: each rebuild of osiris would otherwise
 * leave 90 MB behind. Packs of other versions may belong to other installed binaries. */
static void prune_packs(struct arena *a, const char *root, const char *keep)
{
    struct dirent **list = NULL;
    int n = scandir(root, &list, NULL, alphasort);
    size_t vlen = strlen(OSIRIS_VERSION);
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        const char *path = arena_printf(a, "%s/%s", root, name);
        if (strncmp(name, OSIRIS_VERSION "-", vlen + 1) == 0 &&
            strncmp(path, keep, strlen(keep)) != 0)
            files_remove_tree(path, NULL);
        free(list[i]);
    }
    free(list);
}

/* The pack of this binary, built once per build of it into the cache
 * ($OSIRIS_PACK_CACHE, else $XDG_CACHE_HOME/osiris/packs, else ~/.cache/osiris/packs): copying
 * and hashing 90 MB on every run would cost more than the whole sandbox. */
static const char *pack_dir(struct arena *a, const char *exe, struct err *err)
{
    struct stat st;
    if (stat(exe, &st) != 0) {
        err_errno(err, ERR_IO, "cannot read '%s'", exe);
        return NULL;
    }
    const char *root = getenv("OSIRIS_PACK_CACHE"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (!root || !*root)
        root = xdg && *xdg     ? arena_printf(a, "%s/osiris/packs", xdg)
               : home && *home ? arena_printf(a, "%s/.cache/osiris/packs", home)
                               : "/tmp/osiris-packs";
    const char *dir =
        arena_printf(a, "%s/%s-%lld-%lld.%09ld", root, OSIRIS_VERSION, (long long)st.st_size,
                     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (files_is_dir(dir))
        return dir;
    struct pack_info info;
    if (files_mkdirs(root, NULL, err) != 0)
        return NULL;
    struct err berr = ERR_INIT;
    if (pack_build(a, exe, dir, &info, &berr) != 0) {
        if (files_is_dir(dir))
            return dir; /* a concurrent run built it first */
        *err = berr;
        return NULL;
    }
    prune_packs(a, root, dir);
    return dir;
}

static json_t *string_list(const char **v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i]));
    return arr;
}

/* pack_uploaded: the pack's file count, bytes and manifest SHA-256, from its MANIFEST (hashing
 * 90 MB again on every run would cost more than starting the sandbox). */
static int pack_event(struct engine *e, const char *dir, struct err *err)
{
    size_t files;
    uint64_t bytes;
    char sha[FINGERPRINT_HEX_LEN];
    if (pack_summary(dir, &files, &bytes, sha, err) != 0) {
        err_prefix(err, "the pack in %s is damaged (remove it to rebuild it): ", dir);
        return -1;
    }
    session_event(runner_session(e), "pack_uploaded",
                  json_pack("{s:I, s:I, s:s}", "files", (json_int_t)files, "bytes",
                            (json_int_t)bytes, "sha256", sha));
    return 0;
}

/* The pack of the worker's binary. */
static const char *worker_pack(const struct remote_opts *o, struct arena *a, struct err *err)
{
    const char *bin = worker_binary(o, a, err);
    return bin ? pack_dir(a, bin, err) : NULL;
}

/* `sandbox`: the pack read-only and the session directory under bubblewrap. A pack that misses
 * a library fails here, naming it, before the worker could fail to start. */
static int start_sandbox(struct worker *l, struct engine *e, const struct remote_opts *o,
                         const char *sess, struct arena *a, struct err *err)
{
    const char *dir = worker_pack(o, a, err);
    struct pack_check chk;
    if (!dir || pack_check(a, dir, &chk, err) != 0)
        return -1;
    struct session *s = runner_session(e);
    session_event(s, "dependency_check",
                  json_pack("{s:o, s:o, s:o}", "required", string_list(chk.required, chk.nrequired),
                            "present", string_list(chk.present, chk.npresent), "missing",
                            string_list(chk.missing, chk.nmissing)));
    if (chk.nmissing)
        return err_set(err, ERR_NOTFOUND,
                       "the pack in %s lacks %s%s: the worker could not start (remove the "
                       "directory to rebuild it)",
                       dir, chk.missing[0], chk.nmissing > 1 ? " and more" : "");
    if (pack_event(e, dir, err) != 0)
        return -1;
    const char *argv[] = { SANDBOX_PACK_MOUNT "/bin/osiris", "worker", NULL };
    struct sandbox_opts so = { .pack_dir = dir,
                               .session_dir = sess,
                               .argv = argv,
                               .env = o->env,
                               .no_net = o->no_net,
                               .cpus = o->cpus,
                               .mem_mb = o->mem_mb };
    if (sandbox_start(&l->sb, &so, err) != 0)
        return -1;
    session_event(s, "sandbox_created",
                  json_pack("{s:s, s:b, s:s, s:s}", "backend", "sandbox", "network", !o->no_net,
                            "cpu_limit", sandbox_mech_name(l->sb.cpu_mech), "memory_limit",
                            sandbox_mech_name(l->sb.mem_mech)));
    if (l->sb.cpu_mech == SANDBOX_MECH_UNAVAILABLE || l->sb.mem_mech == SANDBOX_MECH_UNAVAILABLE)
        session_log(s, SESSION_WARNING, "remote limits not enforced: %s", l->sb.limit_note);
    return 0;
}

/* `ssh://[user@]host[:port]`: the pack and the session directory go to a temporary directory on
 * the host as one tar stream, the worker talks over the ssh connection's stdio, and the session
 * directory comes back the same way before the remote directory is removed. The ssh client's
 * own configuration applies (OSIRIS_SSH_CONFIG: a file for `ssh -F`); it must not ask for
 * anything (BatchMode). */

/* 'text' for the remote shell. */
static const char *shell_quote(struct arena *a, const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '\'');
    for (; *s; s++)
        if (*s == '\'')
            strbuf_adds(&sb, "'\\''");
        else
            strbuf_addch(&sb, *s);
    strbuf_addch(&sb, '\'');
    return arena_take(a, &sb);
}

/* The ssh command line: `ssh [-F config] -o BatchMode=yes ... [-p port] -- dest remote_cmd`. */
static const char **ssh_argv(struct arena *a, const char *target, const char *remote_cmd,
                             struct err *err)
{
    const char *rest = target + strlen("ssh://");
    const char *at = strchr(rest, '@'), *colon = strrchr(rest, ':');
    if (colon && at && colon < at)
        colon = NULL;
    const char *dest = arena_strndup(a, rest, colon ? (size_t)(colon - rest) : strlen(rest));
    const char *port = colon ? colon + 1 : NULL;
    bool bad_port = port && (!*port || strspn(port, "0123456789") != strlen(port));
    if (!*dest || dest[strlen(dest) - 1] == '@' || dest[0] == '-' || strchr(dest, '/') ||
        bad_port) {
        err_set(err, ERR_USAGE, "--remote %s: ssh://[user@]host[:port] expected", target);
        return NULL;
    }
    const char *config = getenv("OSIRIS_SSH_CONFIG");
    const char **argv = arena_calloc(a, 16, sizeof(*argv));
    size_t k = 0;
    argv[k++] = "ssh";
    if (config && *config) {
        argv[k++] = "-F";
        argv[k++] = config;
    }
    argv[k++] = "-o";
    argv[k++] = "BatchMode=yes";
    argv[k++] = "-o";
    argv[k++] = "ConnectTimeout=10";
    if (port) {
        argv[k++] = "-p";
        argv[k++] = port;
    }
    argv[k++] = "--";
    argv[k++] = dest;
    argv[k++] = remote_cmd;
    return argv;
}

/* Runs argv to its end; its stdout into out (may be NULL). A non-zero exit is an error quoting
 * its stderr. */
static int run_tool(const char *const *argv, const char *what, struct strbuf *out, int timeout_ms,
                    struct err *err)
{
    struct spawn_proc p = SPAWN_PROC_INIT;
    struct spawn_opts so = { .argv = argv, .stdio = { SPAWN_NULL, SPAWN_PIPE, SPAWN_PIPE } };
    struct strbuf errout = STRBUF_INIT;
    int rc = spawn_start(&p, &so, err) == 0
                 ? spawn_communicate(&p, NULL, 0, out, &errout, timeout_ms, err)
                 : -1;
    if (rc == 0 && !(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0)) {
        char status[96];
        while (errout.len && errout.buf[errout.len - 1] == '\n')
            errout.buf[--errout.len] = '\0';
        for (size_t i = 0; i < errout.len; i++)
            if (errout.buf[i] == '\n')
                errout.buf[i] = ' ';
        rc = err_set(err, ERR_DRIVER, "%s failed (%s): %s", what,
                     spawn_status_str(p.status, status, sizeof(status)),
                     errout.len ? errout.buf : "no message");
    }
    spawn_stop(&p, 0);
    strbuf_release(&errout);
    return rc;
}

/* `sh -c SCRIPT sh ARGS... SSH...`: the shell only connects ssh and tar with a pipe; every value
 * reaches them as an argument, never through the script. */
static const char **piped(struct arena *a, const char *script, const char *const *args,
                          const char *const *ssh)
{
    const char **argv = arena_calloc(a, 40, sizeof(*argv));
    size_t k = 0;
    argv[k++] = "sh";
    argv[k++] = "-c";
    argv[k++] = script;
    argv[k++] = "sh";
    for (size_t i = 0; args[i]; i++)
        argv[k++] = args[i];
    for (size_t i = 0; ssh[i]; i++)
        argv[k++] = ssh[i];
    return argv;
}

static int start_ssh(struct worker *l, struct engine *e, const struct remote_opts *o,
                     const char *sess, struct arena *a, struct err *err)
{
    const char *dir = worker_pack(o, a, err);
    const char **ssh = dir ? ssh_argv(a, o->target,
                                      "d=$(mktemp -d /tmp/osiris-worker-XXXXXX) && "
                                      "tar -C \"$d\" -xf - && printf '%s\\n' \"$d\"",
                                      err)
                           : NULL;
    if (!ssh || pack_event(e, dir, err) != 0)
        return -1;
    /* One stream: the pack as pack/, the session directory as session/. */
    const char *args[] = { dir, sess, NULL };
    const char **argv = piped(a,
                              "p=$1 s=$2; shift 2; "
                              "tar -cf - --transform 's,^\\./,session/,;s,^\\.$,session,' "
                              "--transform 's,^\\(bin\\|lib\\)\\(/\\|$\\),pack/\\1\\2,' "
                              "-C \"$p\" bin lib -C \"$s\" . | \"$@\"",
                              args, ssh);
    struct strbuf out = STRBUF_INIT;
    int rc = run_tool(argv, "sending the pack over ssh", &out, 10 * 60 * 1000, err);
    while (out.len && out.buf[out.len - 1] == '\n')
        out.buf[--out.len] = '\0';
    if (rc == 0 && (out.len == 0 || out.buf[0] != '/'))
        rc = err_set(err, ERR_DRIVER, "the ssh host named no directory for the worker");
    if (rc == 0)
        l->remote_dir = arena_strdup(a, out.buf);
    strbuf_release(&out);
    if (rc != 0)
        return -1;
    session_event(runner_session(e), "sandbox_created",
                  json_pack("{s:s, s:s}", "backend", "ssh", "directory", l->remote_dir));
    const char *d = shell_quote(a, l->remote_dir);
    struct strbuf cmd = STRBUF_INIT;
    strbuf_addf(&cmd,
                "cd %s/session && exec env -i PATH=/usr/local/bin:/usr/bin:/bin TZ=UTC "
                "HOME=%s/session LD_LIBRARY_PATH=%s/pack/lib",
                d, d, d);
    for (size_t i = 0; o->env && o->env[i]; i++)
        strbuf_addf(&cmd, " %s", shell_quote(a, o->env[i]));
    strbuf_addf(&cmd, " %s/pack/bin/osiris worker", d);
    const char **wargv = ssh_argv(a, o->target, arena_take(a, &cmd), err);
    struct spawn_opts so = { .argv = wargv, .stdio = { SPAWN_PIPE, SPAWN_PIPE, SPAWN_PIPE } };
    return wargv ? spawn_start(&l->sb.proc, &so, err) : -1;
}

/* Brings the remote session directory back into sess, where fetch_outputs() finds it. */
static int pull_ssh(struct worker *l, const struct remote_opts *o, const char *sess,
                    struct arena *a, struct err *err)
{
    const char **ssh = ssh_argv(
        a, o->target,
        arena_printf(a, "cd %s/session && tar -cf - .", shell_quote(a, l->remote_dir)), err);
    if (!ssh)
        return -1;
    const char *args[] = { sess, NULL };
    const char **argv = piped(a, "s=$1; shift; \"$@\" | tar -C \"$s\" -xf -", args, ssh);
    return run_tool(argv, "fetching the outputs over ssh", NULL, 10 * 60 * 1000, err);
}

/* The remote directory goes, whatever happened. */
static void finish_ssh(struct worker *l, const struct remote_opts *o, struct arena *a)
{
    if (!l->remote_dir)
        return;
    struct err err = ERR_INIT;
    const char **argv =
        ssh_argv(a, o->target, arena_printf(a, "rm -rf %s", shell_quote(a, l->remote_dir)), &err);
    if (argv)
        run_tool(argv, "removing the remote directory", NULL, 60 * 1000, &err);
}

static const struct backend backends[] = {
    { "process", false, start_process, NULL, NULL },
    { "sandbox", true, start_sandbox, NULL, NULL },
    { "ssh://", true, start_ssh, pull_ssh, finish_ssh },
};

const struct backend *backend_find(const char *target)
{
    for (size_t i = 0; i < NELEM(backends); i++) {
        const char *name = backends[i].name;
        size_t n = strlen(name);
        if (name[n - 1] == '/' ? strncmp(name, target, n) == 0 && target[n]
                               : strcmp(name, target) == 0)
            return &backends[i];
    }
    return NULL;
}

int backend_check_target(const char *target, struct err *err)
{
    const struct backend *b = backend_find(target);
    if (!b)
        return err_set(err, ERR_USAGE,
                       "--remote %s: not a backend of this osiris (it has: process, sandbox, "
                       "ssh://[user@]host[:port])",
                       target);
    struct arena a = ARENA_INIT;
    int rc = b->pull && !ssh_argv(&a, target, "true", err) ? -1 : 0;
    arena_release(&a);
    return rc;
}
