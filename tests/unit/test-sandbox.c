/* sandbox.c and spawn.c: the exact bwrap vectors, then spawn on plain processes, then real
 * sandboxes checked from inside (writable session, read-only pack, private /tmp, PID and network
 * namespaces, environment, limits) and from outside (--die-with-parent, nothing left behind).
 * The sandbox part is skipped when bwrap cannot create namespaces here. */
#include "../harness/tap.h"
#include "arena.h"
#include "files.h"
#include "remote/sandbox.h"
#include "remote/spawn.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char top[64]; /* the test's temp directory */

static const char *at(struct arena *a, const char *rel)
{
    return arena_printf(a, "%s/%s", top, rel);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void skip(const char *what, const char *reason)
{
    printf("ok %d - %s # SKIP %s\n", ++tap_count, what, reason);
}

/* The state and a numeric field of /proc/PID/stat (field 4 is the parent, 5 the process group);
 * false when the process is gone. */
static bool proc_stat(const char *pid, char *state, int field, int *value)
{
    char path[300], buf[512];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p || sscanf(p + 2, "%c", state) != 1)
        return false;
    p++; /* the space before field 3 */
    for (int i = 3; i < field && p; i++)
        p = strchr(p + 1, ' ');
    return p && sscanf(p + 1, "%d", value) == 1;
}

/* Alive and not a zombie; zombies of processes the test adopted are reaped on the way. */
static bool alive(pid_t pid)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    char name[32], state;
    int ppid;
    snprintf(name, sizeof(name), "%d", (int)pid);
    return proc_stat(name, &state, 4, &ppid) && state != 'Z' && state != 'X';
}

/* Whether any live process is in the process group. */
static bool group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d)) != NULL) {
        char state;
        int pgrp;
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && proc_stat(e->d_name, &state, 5, &pgrp) &&
            pgrp == pgid && state != 'Z' && state != 'X')
            found = true;
    }
    if (d)
        closedir(d);
    return found;
}

static bool group_gone_within(pid_t pgid, int ms)
{
    long long end = now_ms() + ms;
    while (group_alive(pgid)) {
        if (now_ms() > end)
            return false;
        usleep(10000);
    }
    return true;
}

/* Compares two NULL-terminated vectors; on a difference shows the first one. */
static void is_vector(char **got, const char *const *want, const char *name)
{
    size_t i = 0;
    while (got[i] && want[i] && strcmp(got[i], want[i]) == 0)
        i++;
    if (!ok(!got[i] && !want[i], "%s", name))
        diag("first difference at [%zu]: got '%s', wanted '%s'", i, got[i] ? got[i] : "(end)",
             want[i] ? want[i] : "(end)");
}

static bool vector_has(char **v, const char *a, const char *b, const char *c)
{
    for (size_t i = 0; v[i] && v[i + 1] && v[i + 2]; i++)
        if (!strcmp(v[i], a) && !strcmp(v[i + 1], b) && !strcmp(v[i + 2], c))
            return true;
    return false;
}

/* ==== The argument vector ==== */

static void test_argv(void)
{
    struct arena a;
    arena_init(&a);
    struct err err = ERR_INIT;
    /* A fake system tree: each kind of entry the table may meet. */
    const char *sys = at(&a, "sys");
    mkdir(sys, 0755);
    mkdir(at(&a, "sys/dir"), 0755);
    files_write(at(&a, "sys/file"), "x", 1, 0644, &err);
    symlink("dir", at(&a, "sys/link"));
    symlink("file", at(&a, "sys/filelink"));
    symlink("nowhere", at(&a, "sys/dangling"));
    const struct sandbox_bind binds[] = {
        { at(&a, "sys/dir"), SANDBOX_BIND_MIRROR },
        { at(&a, "sys/link"), SANDBOX_BIND_MIRROR },
        { at(&a, "sys/file"), SANDBOX_BIND_FOLLOW },
        { at(&a, "sys/filelink"), SANDBOX_BIND_FOLLOW },
        { at(&a, "sys/dangling"), SANDBOX_BIND_FOLLOW },
        { at(&a, "sys/missing"), SANDBOX_BIND_MIRROR },
        { at(&a, "sys/missing2"), SANDBOX_BIND_FOLLOW },
        { NULL, SANDBOX_BIND_MIRROR },
    };
    const char *pack = at(&a, "pack"), *session = at(&a, "session");
    mkdir(pack, 0755);
    mkdir(session, 0755);
    const char *cmd[] = { "/osiris/bin/osiris", "worker", NULL };
    const char *env[] = { "FOO=bar", "EQ=a=b", "EMPTY=", NULL };
    struct sandbox_opts o = {
        .pack_dir = pack,
        .session_dir = session,
        .argv = cmd,
        .env = env,
        .binds = binds,
    };
    const char *head[] = { "bwrap",         "--die-with-parent", "--new-session", "--unshare-pid",
                           "--unshare-ipc", "--unshare-uts",     "--cap-drop",    "ALL" };
    const char *tail[] = {
        "--ro-bind",
        at(&a, "sys/dir"),
        at(&a, "sys/dir"),
        "--symlink",
        "dir",
        at(&a, "sys/link"),
        "--ro-bind",
        at(&a, "sys/file"),
        at(&a, "sys/file"),
        "--ro-bind",
        at(&a, "sys/filelink"),
        at(&a, "sys/filelink"),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        pack,
        "/osiris",
        "--bind",
        session,
        "/session",
        "--chdir",
        "/session",
        "--clearenv",
        "--setenv",
        "LD_LIBRARY_PATH",
        "/osiris/lib",
        "--setenv",
        "HOME",
        "/session",
        "--setenv",
        "TZ",
        "UTC",
        "--setenv",
        "FOO",
        "bar",
        "--setenv",
        "EQ",
        "a=b",
        "--setenv",
        "EMPTY",
        "",
        "--",
        "/osiris/bin/osiris",
        "worker",
        NULL,
    };
    size_t nh = sizeof(head) / sizeof(head[0]), nt = sizeof(tail) / sizeof(tail[0]);
    const char **want = arena_calloc(&a, nh + nt + 1, sizeof(*want));
    memcpy(want, head, sizeof(head));
    memcpy(want + nh, tail, sizeof(tail));

    char **argv = NULL;
    ok(sandbox_argv(&a, &o, &argv, &err) == 0, "argv: built");
    if (argv)
        is_vector(argv, want, "argv: exact vector with the network shared");

    /* --unshare-net right after the fixed flags. */
    const char **want_nonet = arena_calloc(&a, nh + nt + 2, sizeof(*want));
    memcpy(want_nonet, head, sizeof(head));
    want_nonet[nh] = "--unshare-net";
    memcpy(want_nonet + nh + 1, tail, sizeof(tail));
    o.no_net = true;
    argv = NULL;
    ok(sandbox_argv(&a, &o, &argv, &err) == 0, "argv: built without network");
    if (argv)
        is_vector(argv, want_nonet, "argv: exact vector with --unshare-net");
    o.no_net = false;

    o.bwrap = "/opt/bwrap";
    ok(sandbox_argv(&a, &o, &argv, &err) == 0 && !strcmp(argv[0], "/opt/bwrap"),
       "argv: the bwrap program is configurable");
    o.bwrap = NULL;

    /* The default table: only what exists, links mirrored. */
    o.binds = NULL;
    if (!ok(sandbox_argv(&a, &o, &argv, &err) == 0, "argv: default system binds"))
        return;
    ok(vector_has(argv, "--ro-bind", "/usr", "/usr"), "argv: /usr bound read-only");
    char target[256];
    ssize_t n = readlink("/lib", target, sizeof(target) - 1);
    if (n > 0) {
        target[n] = '\0';
        ok(vector_has(argv, "--symlink", target, "/lib"), "argv: /lib is a link, mirrored");
    } else {
        ok(vector_has(argv, "--ro-bind", "/lib", "/lib"), "argv: /lib is a directory, bound");
    }
    bool all_exist = true;
    for (size_t i = 0; argv[i]; i++)
        if (!strcmp(argv[i], "--ro-bind") && access(argv[i + 1], F_OK) != 0)
            all_exist = false;
    ok(all_exist, "argv: no bind of a path the host lacks");
    ok(!vector_has(argv, "--ro-bind", "/etc/shadow", "/etc/shadow"), "argv: /etc/shadow stays out");

    /* Refusals. */
    o.pack_dir = at(&a, "no-such-pack");
    ok(sandbox_argv(&a, &o, &argv, &err) < 0 && err.code == ERR_IO, "missing pack dir: ERR_IO");
    like(err.msg, "no-such-pack", "the error names the directory");
    err_clear(&err);
    o.pack_dir = pack;
    const char *bad_env[] = { "NOEQUALS", NULL };
    o.env = bad_env;
    ok(sandbox_argv(&a, &o, &argv, &err) < 0 && err.code == ERR_INPUT, "env without '=': refused");
    like(err.msg, "'NOEQUALS' is not NAME=VALUE", "the error names the entry");
    err_clear(&err);
    const char *bad_env2[] = { "=value", NULL };
    o.env = bad_env2;
    ok(sandbox_argv(&a, &o, &argv, &err) < 0 && err.code == ERR_INPUT, "env with no name: refused");
    err_clear(&err);
    o.env = env;
    const char *no_cmd[] = { NULL };
    o.argv = no_cmd;
    ok(sandbox_argv(&a, &o, &argv, &err) < 0, "an empty command is refused");
    err_clear(&err);
    arena_release(&a);
}

/* ==== spawn on plain processes ==== */

static int run(const char *const *argv, const char *in, struct strbuf *out, struct strbuf *errout,
               int timeout_ms, struct err *err)
{
    struct spawn_opts o = { .argv = argv, .stdio = { SPAWN_PIPE, SPAWN_PIPE, SPAWN_PIPE } };
    struct spawn_proc p = SPAWN_PROC_INIT;
    if (spawn_start(&p, &o, err) ||
        spawn_communicate(&p, in, in ? strlen(in) : 0, out, errout, timeout_ms, err))
        return -1;
    spawn_stop(&p, 0);
    return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status);
}

static int failing_setup(void *arg)
{
    (void)arg;
    return EPERM;
}

static void test_spawn(void)
{
    struct err err = ERR_INIT;
    struct strbuf out = STRBUF_INIT, errout = STRBUF_INIT;
    const char *cat[] = { "/bin/sh", "-c", "cat; echo oops >&2; exit 3", NULL };
    is_int(run(cat, "hello\n", &out, &errout, 5000, &err), 3, "spawn: exit status");
    is_str(strbuf_str(&out), "hello\n", "spawn: stdin reaches the child, stdout comes back");
    is_str(strbuf_str(&errout), "oops\n", "spawn: stderr comes back apart");

    /* A large input the child never reads: no SIGPIPE for the host, no hang. */
    strbuf_reset(&out);
    size_t big = 4 << 20;
    char *lots = malloc(big + 1);
    memset(lots, 'x', big);
    lots[big] = '\0';
    const char *noread[] = { "/bin/sh", "-c", "exec 0<&-; echo done", NULL };
    is_int(run(noread, lots, &out, NULL, 5000, &err), 0, "spawn: child closing stdin is fine");
    is_str(strbuf_str(&out), "done\n", "spawn: output of that child");
    free(lots);

    const char *missing[] = { "/no/such/program", NULL };
    ok(run(missing, NULL, NULL, NULL, 5000, &err) < 0 && err.code == ERR_DRIVER,
       "spawn: a missing program fails spawn_start");
    like(err.msg, "cannot run /no/such/program: No such file or directory",
         "spawn: the error says why");
    err_clear(&err);
    const char *bypath[] = { "no-such-program-osiris", NULL };
    ok(run(bypath, NULL, NULL, NULL, 5000, &err) < 0, "spawn: PATH lookup failure reported");
    err_clear(&err);

    /* Setup hook failures carry their own words. */
    struct spawn_opts so = { .argv = cat, .setup = failing_setup, .setup_what = "cannot limit" };
    struct spawn_proc p = SPAWN_PROC_INIT;
    ok(spawn_start(&p, &so, &err) < 0, "spawn: a failing setup hook fails the start");
    like(err.msg, "sh: cannot limit: Operation not permitted", "spawn: with setup_what and errno");
    err_clear(&err);

    /* Timeout: the whole group dies, quickly. */
    const char *slow[] = { "/bin/sh", "-c", "sleep 30 & sleep 30; wait", NULL };
    struct spawn_opts o = { .argv = slow, .stdio = { SPAWN_NULL, SPAWN_PIPE, SPAWN_NULL } };
    p = (struct spawn_proc)SPAWN_PROC_INIT;
    long long t0 = now_ms();
    ok(spawn_start(&p, &o, &err) == 0, "spawn: slow child started");
    pid_t group = p.pid;
    ok(spawn_communicate(&p, NULL, 0, NULL, NULL, 300, &err) < 0 && err.code == ERR_TIMEOUT,
       "spawn: timeout is ERR_TIMEOUT");
    like(err.msg, "sh did not finish within 300 ms", "spawn: timeout message");
    err_clear(&err);
    ok(now_ms() - t0 < 3000, "spawn: the timeout is kept (%lld ms)", now_ms() - t0);
    ok(group_gone_within(group, 1000), "spawn: nothing of the group is left");

    /* Descriptors of the host do not reach the child. */
    int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    int high = dup2(fd, 57);
    const char *fds[] = { "/bin/sh", "-c", "test -e /proc/self/fd/57 && echo leaked || echo clean",
                          NULL };
    strbuf_reset(&out);
    run(fds, NULL, &out, NULL, 5000, &err);
    is_str(strbuf_str(&out), "clean\n", "spawn: host descriptors are closed at exec");
    close(fd);
    close(high);

    /* An ignored SIGTERM in the host is not inherited: spawn_stop's TERM ends the child. */
    signal(SIGTERM, SIG_IGN);
    const char *sleeper[] = { "/bin/sleep", "30", NULL };
    struct spawn_opts so2 = { .argv = sleeper };
    p = (struct spawn_proc)SPAWN_PROC_INIT;
    ok(spawn_start(&p, &so2, &err) == 0, "spawn: sleeper started");
    t0 = now_ms();
    spawn_stop(&p, 5000);
    ok(p.ended && WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGTERM && now_ms() - t0 < 2000,
       "spawn: SIGTERM ends a child of a host that ignores it");
    signal(SIGTERM, SIG_DFL);
    char how[64];
    is_str(spawn_status_str(p.status, how, sizeof(how)), "killed by signal 15 (Terminated)",
           "spawn: status text");
    strbuf_release(&out);
    strbuf_release(&errout);
}

/* ==== Real sandboxes ==== */

struct result {
    int status; /* exit status, or 128 + signal */
    struct strbuf out, err;
    enum sandbox_mech cpu, mem;
    char note[256];
};

static void result_release(struct result *r)
{
    strbuf_release(&r->out);
    strbuf_release(&r->err);
}

/* Runs /bin/sh -c script in a sandbox with options o. */
static int in_sandbox(struct sandbox_opts *o, const char *script, struct result *r)
{
    const char *argv[] = { "/bin/sh", "-c", script, NULL };
    if (script)
        o->argv = argv;
    struct err err = ERR_INIT;
    struct sandbox sb = SANDBOX_INIT;
    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (sandbox_start(&sb, o, &err) ||
        spawn_communicate(&sb.proc, NULL, 0, &r->out, &r->err, 20000, &err)) {
        diag("%s", err.msg);
        sandbox_stop(&sb, 0);
        return -1;
    }
    sandbox_stop(&sb, 0);
    r->cpu = sb.cpu_mech;
    r->mem = sb.mem_mech;
    snprintf(r->note, sizeof(r->note), "%s", sb.limit_note);
    int st = sb.proc.status;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r->status;
}

/* The pids below pid (by the parent field of /proc/N/stat), pid first. */
static size_t descendants(pid_t pid, pid_t *out, size_t max)
{
    size_t n = 0;
    out[n++] = pid;
    for (size_t i = 0; i < n; i++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL && n < max) {
            char state;
            int ppid;
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
                proc_stat(e->d_name, &state, 4, &ppid) && ppid == out[i])
                out[n++] = atoi(e->d_name);
        }
        if (d)
            closedir(d);
    }
    return n;
}

static bool all_gone_within(const pid_t *pids, size_t n, int ms)
{
    long long end = now_ms() + ms;
    for (;;) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any = any || alive(pids[i]);
        if (!any)
            return true;
        if (now_ms() > end)
            return false;
        usleep(10000);
    }
}

static int count_interfaces(const char *proc_net_dev)
{
    int n = 0;
    for (const char *p = proc_net_dev; (p = strchr(p, ':')) != NULL; p++)
        n++;
    return n;
}

static void test_die_with_parent(struct sandbox_opts *o)
{
    /* The test adopts orphans, so it can see the sandbox's processes end and reap them. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return;
    const char *argv[] = { "/bin/sh", "-c", "echo started; exec sleep 30", NULL };
    o->argv = argv;
    pid_t parent = fork();
    if (parent == 0) {
        struct sandbox sb = SANDBOX_INIT;
        struct err err = ERR_INIT;
        char line[16] = "";
        pid_t pid = -1;
        if (sandbox_start(&sb, o, &err) == 0 && read(sb.proc.fd[1], line, sizeof(line)) > 0)
            pid = sb.proc.pid;
        if (write(pipefd[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(1);
        pause();
        _exit(0);
    }
    close(pipefd[1]);
    pid_t bwrap = -1;
    if (read(pipefd[0], &bwrap, sizeof(bwrap)) != sizeof(bwrap))
        bwrap = -1;
    close(pipefd[0]);
    ok(bwrap > 0, "die-with-parent: a host process started a sandbox");
    pid_t tree[64];
    size_t n = bwrap > 0 ? descendants(bwrap, tree, 64) : 0;
    ok(n >= 2, "die-with-parent: the sandbox runs %zu processes", n);
    kill(parent, SIGKILL);
    waitpid(parent, NULL, 0);
    ok(n > 0 && all_gone_within(tree, n, 1000),
       "die-with-parent: the host killed with SIGKILL, the sandbox is gone within 1 s");
    for (size_t i = 0; i < n; i++) /* whatever failed the check is not left running */
        if (alive(tree[i]))
            kill(tree[i], SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void test_stop_leaves_nothing(struct sandbox_opts *o)
{
    const char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo started; sleep 30", NULL };
    o->argv = argv;
    struct sandbox sb = SANDBOX_INIT;
    struct err err = ERR_INIT;
    char line[16];
    if (sandbox_start(&sb, o, &err) < 0 || read(sb.proc.fd[1], line, sizeof(line)) <= 0) {
        ok(false, "stop: sandbox started (%s)", err.msg);
        sandbox_stop(&sb, 0);
        return;
    }
    pid_t tree[64];
    size_t n = descendants(sb.proc.pid, tree, 64);
    long long t0 = now_ms();
    sandbox_stop(&sb, 500);
    ok(n >= 3 && all_gone_within(tree, n, 1000) && now_ms() - t0 < 2000,
       "stop: all %zu processes of the sandbox end", n);
    for (size_t i = 0; i < n; i++) /* whatever failed the check is not left running */
        if (alive(tree[i]))
            kill(tree[i], SIGKILL);
}

static void test_sandbox(void)
{
    struct err err = ERR_INIT;
    if (sandbox_probe(NULL, &err) < 0) {
        skip("sandbox", err.msg);
        return;
    }
    ok(true, "probe: bwrap creates namespaces here");
    struct arena a;
    arena_init(&a);
    const char *pack = at(&a, "pack"), *session = at(&a, "session");
    files_mkdirs(at(&a, "pack/bin"), NULL, &err);
    files_mkdirs(at(&a, "pack/lib"), NULL, &err);
    files_write(at(&a, "pack/bin/marker"), "pack\n", 5, 0644, &err);
    files_mkdirs(session, NULL, &err);
    const char *env[] = { "FOO=bar", NULL };
    struct sandbox_opts o = { .pack_dir = pack, .session_dir = session, .env = env };
    struct result r;

    is_int(in_sandbox(&o, "echo hi >/session/out && cat /session/out && pwd", &r), 0,
           "session: writable");
    is_str(strbuf_str(&r.out), "hi\n/session\n", "session: the working directory");
    struct strbuf host = STRBUF_INIT;
    files_read(at(&a, "session/out"), &host, &err);
    is_str(strbuf_str(&host), "hi\n", "session: the host sees the file");
    strbuf_release(&host);
    result_release(&r);

    ok(in_sandbox(&o, "cat /osiris/bin/marker && touch /osiris/bin/x", &r) != 0, "pack: read-only");
    is_str(strbuf_str(&r.out), "pack\n", "pack: readable at /osiris");
    like(strbuf_str(&r.err), "Read-only file system", "pack: the write fails with EROFS");
    ok(!files_exists(at(&a, "pack/bin/x")), "pack: nothing written on the host");
    result_release(&r);

    ok(in_sandbox(&o, "mount -o remount,rw /osiris 2>/dev/null || exit 0; exit 1", &r) == 0,
       "pack: cannot be remounted writable (no capabilities, even as root)");
    result_release(&r);

    is_int(in_sandbox(&o, "ls -A /tmp; echo x >/tmp/osiris-sandbox-private", &r), 0,
           "tmp: writable");
    is_str(strbuf_str(&r.out), "", "tmp: empty, though the host's /tmp is not");
    ok(!files_exists("/tmp/osiris-sandbox-private"), "tmp: private, nothing reaches the host");
    result_release(&r);

    is_int(in_sandbox(&o, "echo $$", &r), 0, "pid: ran");
    int inner = atoi(strbuf_str(&r.out));
    ok(inner > 0 && inner <= 3, "pid: a namespace of its own (the shell is pid %d)", inner);
    result_release(&r);

    const char *env_argv[] = { "/usr/bin/env", NULL };
    o.argv = env_argv;
    setenv("OSIRIS_TEST_HOST_SECRET", "s3cr3t", 1);
    is_int(in_sandbox(&o, NULL, &r), 0, "env: ran");
    is_str(strbuf_str(&r.out),
           "LD_LIBRARY_PATH=/osiris/lib\nHOME=/session\nTZ=UTC\nFOO=bar\nPWD=/session\n",
           "env: only what was given, in order (and bwrap's PWD)");
    unsetenv("OSIRIS_TEST_HOST_SECRET");
    result_release(&r);

    struct strbuf hostnet = STRBUF_INIT;
    files_read("/proc/net/dev", &hostnet, &err);
    is_int(in_sandbox(&o, "cat /proc/net/dev", &r), 0, "net: shared by default");
    is_int(count_interfaces(strbuf_str(&r.out)), count_interfaces(strbuf_str(&hostnet)),
           "net: the host's interfaces are there");
    result_release(&r);
    o.no_net = true;
    is_int(in_sandbox(&o, "cat /proc/net/dev", &r), 0, "no-net: ran");
    is_int(count_interfaces(strbuf_str(&r.out)), 1, "no-net: one interface");
    like(strbuf_str(&r.out), "lo:", "no-net: it is lo");
    result_release(&r);
    o.no_net = false;
    strbuf_release(&hostnet);

    /* Memory: the fallback (cgroups turned off) is RLIMIT_AS and is deterministic here. */
    o.mem_mb = 64;
    o.cgroup_root = "";
    const char *alloc_small = "x=$(head -c 4000000 /dev/zero | tr '\\0' a); echo ${#x}";
    const char *alloc_big = "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}";
    is_int(in_sandbox(&o, alloc_small, &r), 0, "mem rlimit: 4 MB fit in 64 MB");
    is_str(strbuf_str(&r.out), "4000000\n", "mem rlimit: allocated");
    is_str(sandbox_mech_name(r.mem), "rlimit", "mem rlimit: reported as rlimit");
    like(r.note, "cgroups are turned off", "mem rlimit: the note says why");
    result_release(&r);
    ok(in_sandbox(&o, alloc_big, &r) != 0, "mem rlimit: 300 MB do not fit in 64 MB");
    ok(strcmp(strbuf_str(&r.out), "300000000\n") != 0, "mem rlimit: the allocation failed");
    result_release(&r);
    /* Whatever the host offers by default (cgroup v2 where delegated, else rlimit). */
    o.cgroup_root = NULL;
    ok(in_sandbox(&o, alloc_big, &r) != 0, "mem default: 300 MB do not fit in 64 MB");
    ok(r.mem == SANDBOX_MECH_CGROUP || r.mem == SANDBOX_MECH_RLIMIT, "mem: enforced by %s%s%s",
       sandbox_mech_name(r.mem), r.note[0] ? "; " : "", r.note);
    result_release(&r);

    /* A cgroup v2 directory (as far as sandbox.c can tell) that lacks the memory controller, then
     * one whose limit files cannot be written: both fall back to rlimit, say why, and leave no
     * child cgroup behind. */
    struct strbuf own = STRBUF_INIT;
    files_read("/proc/self/cgroup", &own, &err);
    const char *v2 = strstr(strbuf_str(&own), "0::");
    if (v2 && (v2 == strbuf_str(&own) || v2[-1] == '\n')) {
        v2 += 3;
        const char *fake = at(&a, "cg");
        const char *parent = arena_printf(&a, "%s%.*s", fake, (int)strcspn(v2, "\n"), v2);
        files_mkdirs(parent, NULL, &err);
        const char *ctl = arena_printf(&a, "%s/cgroup.controllers", parent);
        files_write(ctl, "cpu io\n", 7, 0644, &err);
        files_write(arena_printf(&a, "%s/cgroup.subtree_control", parent), "", 0, 0644, &err);
        o.cgroup_root = fake;
        is_int(in_sandbox(&o, alloc_small, &r), 0, "cgroup without memory: ran");
        is_str(sandbox_mech_name(r.mem), "rlimit", "cgroup without memory: rlimit instead");
        like(r.note, "the memory controller is not available", "cgroup without memory: why");
        result_release(&r);
        files_write(ctl, "cpu memory\n", 11, 0644, &err);
        is_int(in_sandbox(&o, alloc_small, &r), 0, "cgroup unwritable: ran");
        is_str(sandbox_mech_name(r.mem), "rlimit", "cgroup unwritable: rlimit instead");
        like(r.note, "memory.max", "cgroup unwritable: the note names the file");
        result_release(&r);
        DIR *d = opendir(parent);
        struct dirent *e;
        bool left = false;
        while (d && (e = readdir(d)) != NULL)
            left = left || strncmp(e->d_name, "osiris-sandbox-", 15) == 0;
        if (d)
            closedir(d);
        ok(!left, "cgroup unwritable: the child cgroup is removed");
        o.cgroup_root = NULL;
    } else {
        skip("cgroup fallbacks", "the host is in no cgroup v2 hierarchy");
    }
    strbuf_release(&own);
    o.mem_mb = 0;

    /* CPUs: the affinity fallback shows in nproc. */
    o.cpus = 1;
    o.cgroup_root = "";
    is_int(in_sandbox(&o, "nproc", &r), 0, "cpu affinity: ran");
    is_str(strbuf_str(&r.out), "1\n", "cpu affinity: one CPU visible");
    is_str(sandbox_mech_name(r.cpu), "affinity", "cpu affinity: reported");
    result_release(&r);
    o.cgroup_root = NULL;
    is_int(in_sandbox(&o, "true", &r), 0, "cpu default: ran");
    ok(r.cpu == SANDBOX_MECH_CGROUP || r.cpu == SANDBOX_MECH_AFFINITY, "cpu: enforced by %s",
       sandbox_mech_name(r.cpu));
    result_release(&r);
    o.cpus = 0;
    is_str(sandbox_mech_name(SANDBOX_MECH_OFF), "off", "no limit asked: off");

    /* A missing bwrap fails the start with a reason. */
    o.bwrap = "/no/such/bwrap";
    struct sandbox sb = SANDBOX_INIT;
    const char *t[] = { "/bin/true", NULL };
    o.argv = t;
    ok(sandbox_start(&sb, &o, &err) < 0, "missing bwrap: start fails");
    like(err.msg, "sandbox: cannot run /no/such/bwrap: No such file or directory",
         "missing bwrap: the reason");
    err_clear(&err);
    sandbox_stop(&sb, 0);
    o.bwrap = NULL;

    test_stop_leaves_nothing(&o);
    test_die_with_parent(&o);
    arena_release(&a);
}

int main(void)
{
    snprintf(top, sizeof(top), "/tmp/osiris-test-sandbox-XXXXXX");
    if (!mkdtemp(top))
        return 1;
    setvbuf(stdout, NULL, _IONBF, 0); /* the die-with-parent fork must not repeat buffered TAP */
    test_argv();
    test_spawn();
    test_sandbox();
    struct err err = ERR_INIT;
    files_remove_tree(top, &err);
    return done_testing();
}
