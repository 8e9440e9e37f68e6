/* The bubblewrap sandbox: the argument vector from tables, resource limits by cgroup v2 or by
 * rlimit and affinity, started through spawn. */
#include "sandbox.h"
#include "files.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT       "/sys/fs/cgroup"
#define CPU_PERIOD_US     100000 /* cpu.max period; the quota is cpus times this */
#define PROBE_TIMEOUT_MS  10000
#define CGROUP_RMDIR_WAIT 1000 /* ms for killed processes to leave the cgroup */

/* What the worker needs from the host: the loader and libraries (/usr and the merged-/usr links),
 * the loader's cache, CA certificates for TLS (libcurl, libpq, libmariadb), name resolution, and
 * the account names libpq and libmariadb look up for a default user (/etc/passwd holds no
 * password hashes; /etc/shadow is not bound). */
const struct sandbox_bind sandbox_system_binds[] = {
    { "/usr", SANDBOX_BIND_MIRROR },
    { "/bin", SANDBOX_BIND_MIRROR },
    { "/lib", SANDBOX_BIND_MIRROR },
    { "/lib64", SANDBOX_BIND_MIRROR },
    { "/etc/ld.so.cache", SANDBOX_BIND_FOLLOW },
    { "/etc/ssl", SANDBOX_BIND_FOLLOW },
    { "/etc/resolv.conf", SANDBOX_BIND_FOLLOW },
    { "/etc/hosts", SANDBOX_BIND_FOLLOW },
    { "/etc/nsswitch.conf", SANDBOX_BIND_FOLLOW },
    { "/etc/host.conf", SANDBOX_BIND_FOLLOW },
    { "/etc/gai.conf", SANDBOX_BIND_FOLLOW },
    { "/etc/passwd", SANDBOX_BIND_FOLLOW },
    { "/etc/group", SANDBOX_BIND_FOLLOW },
    { NULL, SANDBOX_BIND_MIRROR },
};

/* Always on: the sandbox dies with the host, cannot reach the host's terminal (TIOCSTI), gets
 * its own PID, IPC and UTS namespaces, and keeps no capability even when the host is root
 * (bwrap keeps them for root by default, and with CAP_SYS_ADMIN the worker could remount the
 * pack read-write). */
static const char *const FIXED_FLAGS[] = {
    "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
    "--unshare-uts",     "--cap-drop",    "ALL",           NULL,
};

/* Fresh file systems of the sandbox's own. */
static const char *const OWN_MOUNTS[] = {
    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", NULL,
};

/* The environment before the caller's pairs. */
static const struct {
    const char *name, *value;
} DEFAULT_ENV[] = {
    { "LD_LIBRARY_PATH", SANDBOX_PACK_MOUNT "/lib" },
    { "HOME", SANDBOX_SESSION_MOUNT },
    { "TZ", "UTC" },
};

const char *sandbox_mech_name(enum sandbox_mech m)
{
    static const char *const NAMES[] = {
        [SANDBOX_MECH_OFF] = "off",
        [SANDBOX_MECH_CGROUP] = "cgroup",
        [SANDBOX_MECH_RLIMIT] = "rlimit",
        [SANDBOX_MECH_AFFINITY] = "affinity",
        [SANDBOX_MECH_UNAVAILABLE] = "unavailable",
    };
    if ((unsigned)m < sizeof(NAMES) / sizeof(NAMES[0]) && NAMES[m])
        return NAMES[m];
    return "unknown";
}

/* ==== The argument vector ==== */

struct argvec {
    struct arena *a;
    char **v;
    size_t n, cap;
};

static void push(struct argvec *av, const char *s)
{
    if (av->n + 1 >= av->cap) {
        size_t cap = av->cap ? av->cap * 2 : 64;
        char **v = arena_alloc(av->a, cap * sizeof(*v));
        if (av->n)
            memcpy(v, av->v, av->n * sizeof(*v));
        av->v = v;
        av->cap = cap;
    }
    av->v[av->n++] = s ? arena_strdup(av->a, s) : NULL;
}

static void push_list(struct argvec *av, const char *const *list)
{
    for (; *list; list++)
        push(av, *list);
}

static void push3(struct argvec *av, const char *opt, const char *x, const char *y)
{
    push(av, opt);
    push(av, x);
    push(av, y);
}

/* One system path: mirrored link, read-only bind, or nothing when the host lacks it. */
static void push_bind(struct argvec *av, const struct sandbox_bind *b)
{
    struct stat st;
    if (b->kind == SANDBOX_BIND_MIRROR && lstat(b->path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(b->path, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            push3(av, "--symlink", target, b->path);
        }
        return;
    }
    if (stat(b->path, &st) == 0)
        push3(av, "--ro-bind", b->path, b->path);
}

static int check_dir(const char *path, const char *what, struct err *err)
{
    if (!path || !*path)
        return err_set(err, ERR_INTERNAL, "sandbox: no %s directory given", what);
    struct stat st;
    if (stat(path, &st) < 0)
        return err_errno(err, ERR_IO, "sandbox: %s directory %s", what, path);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_IO, "sandbox: %s directory %s is not a directory", what, path);
    return 0;
}

static int check_env(const char *const *env, struct err *err)
{
    for (; env && *env; env++) {
        const char *eq = strchr(*env, '=');
        if (!eq || eq == *env)
            return err_set(err, ERR_INPUT, "sandbox: environment entry '%s' is not NAME=VALUE",
                           *env);
    }
    return 0;
}

int sandbox_argv(struct arena *a, const struct sandbox_opts *o, char ***argv, struct err *err)
{
    if (!o->argv || !o->argv[0])
        return err_set(err, ERR_INTERNAL, "sandbox: no command given");
    if (check_dir(o->pack_dir, "pack", err) || check_dir(o->session_dir, "session", err) ||
        check_env(o->env, err))
        return -1;

    struct argvec av = { .a = a };
    push(&av, o->bwrap ? o->bwrap : SANDBOX_BWRAP);
    push_list(&av, FIXED_FLAGS);
    if (o->no_net)
        push(&av, "--unshare-net");
    for (const struct sandbox_bind *b = o->binds ? o->binds : sandbox_system_binds; b->path; b++)
        push_bind(&av, b);
    push_list(&av, OWN_MOUNTS);
    push3(&av, "--ro-bind", o->pack_dir, SANDBOX_PACK_MOUNT);
    push3(&av, "--bind", o->session_dir, SANDBOX_SESSION_MOUNT);
    push(&av, "--chdir");
    push(&av, SANDBOX_SESSION_MOUNT);
    push(&av, "--clearenv");
    for (size_t i = 0; i < sizeof(DEFAULT_ENV) / sizeof(DEFAULT_ENV[0]); i++)
        push3(&av, "--setenv", DEFAULT_ENV[i].name, DEFAULT_ENV[i].value);
    for (const char *const *e = o->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        push3(&av, "--setenv", arena_strndup(a, *e, (size_t)(eq - *e)), eq + 1);
    }
    push(&av, "--");
    push_list(&av, o->argv);
    push(&av, NULL);
    *argv = av.v;
    return 0;
}

/* ==== Resource limits ==== */

/* What the child applies between fork and exec (apply_limits); prepared by the host. */
struct limits {
    int cgroup_procs_fd; /* -1: no cgroup */
    rlim_t as_bytes;     /* 0: no RLIMIT_AS */
    bool affinity;
    cpu_set_t cpus;
};

/* In the child: async-signal-safe only. */
static int apply_limits(void *arg)
{
    struct limits *l = arg;
    /* "0" moves the writing process; bwrap and all it starts then stay in the cgroup. */
    if (l->cgroup_procs_fd >= 0 && write(l->cgroup_procs_fd, "0", 1) < 0)
        return errno;
    if (l->as_bytes) {
        struct rlimit rl = { l->as_bytes, l->as_bytes };
        if (setrlimit(RLIMIT_AS, &rl) < 0)
            return errno;
    }
    if (l->affinity && sched_setaffinity(0, sizeof(l->cpus), &l->cpus) < 0)
        return errno;
    return 0;
}

static void note(struct sandbox *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct sandbox *sb, const char *fmt, ...)
{
    if (sb->limit_note[0]) /* the first reason is the one that matters */
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sb->limit_note, sizeof(sb->limit_note), fmt, ap);
    va_end(ap);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
            (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
            return true;
    return false;
}

/* The host's own cgroup v2 path ("/user.slice/..."), from the "0::" line of /proc/self/cgroup. */
static char *own_cgroup(void)
{
    struct strbuf sb = STRBUF_INIT;
    struct err ignored = ERR_INIT;
    char *path = NULL;
    if (files_read("/proc/self/cgroup", &sb, &ignored) == 0) {
        const char *line = strbuf_str(&sb);
        const char *v2 = strncmp(line, "0::", 3) == 0 ? line : strstr(line, "\n0::");
        if (v2) {
            v2 += v2[0] == '\n' ? 4 : 3;
            path = xstrndup(v2, strcspn(v2, "\n"));
        }
    }
    strbuf_release(&sb);
    return path;
}

/* One cgroup-limited resource: its controller, the file that takes the limit, and a second file
 * written when present. */
struct cg_resource {
    const char *controller;
    const char *file;
    const char *extra_file, *extra_value;
    bool wanted;
    bool ok;
    char value[64];
};

static bool any_ok(const struct cg_resource *res, size_t nres)
{
    for (size_t i = 0; i < nres; i++)
        if (res[i].ok)
            return true;
    return false;
}

/* Tries to put the limits into a new child cgroup of the host's own; marks the resources it
 * could limit there and returns the cgroup.procs fd for the child, or -1 (with a note). */
static int cgroup_setup(struct sandbox *sb, const struct sandbox_opts *o, struct cg_resource *res,
                        size_t nres)
{
    const char *root = o->cgroup_root ? o->cgroup_root : CGROUP_ROOT;
    if (!*root) {
        note(sb, "cgroups are turned off");
        return -1;
    }
    char *own = own_cgroup();
    if (!own) {
        note(sb, "the host is in no cgroup v2 hierarchy");
        return -1;
    }
    struct arena a;
    arena_init(&a);
    const char *parent = arena_printf(&a, "%s%s", root, strcmp(own, "/") == 0 ? "" : own);
    free(own);

    struct strbuf controllers = STRBUF_INIT, subtree = STRBUF_INIT;
    struct err ignored = ERR_INIT;
    int fd = -1;
    if (files_read(arena_printf(&a, "%s/cgroup.controllers", parent), &controllers, &ignored)) {
        note(sb, "%s is not a cgroup v2 directory", parent);
        goto done;
    }
    const char *subtree_path = arena_printf(&a, "%s/cgroup.subtree_control", parent);
    files_read(subtree_path, &subtree, &ignored);
    for (size_t i = 0; i < nres; i++) {
        if (!res[i].wanted)
            continue;
        if (!has_word(strbuf_str(&controllers), res[i].controller)) {
            note(sb, "the %s controller is not available in %s", res[i].controller, parent);
            continue;
        }
        /* Children get a controller only when the parent enables it for its subtree; that fails
         * (EBUSY) where the parent itself holds processes and is not the root. */
        if (!has_word(strbuf_str(&subtree), res[i].controller) &&
            write_file(subtree_path, arena_printf(&a, "+%s", res[i].controller)) < 0) {
            note(sb, "cannot enable the %s controller in %s: %s", res[i].controller, parent,
                 strerror(errno));
            continue;
        }
        res[i].ok = true;
    }
    if (!any_ok(res, nres))
        goto done;

    static unsigned seq;
    const char *dir = arena_printf(&a, "%s/osiris-sandbox-%ld-%u", parent, (long)getpid(), seq++);
    if (mkdir(dir, 0755) < 0) {
        note(sb, "cannot create cgroup %s: %s", dir, strerror(errno));
        goto none;
    }
    for (size_t i = 0; i < nres; i++) {
        if (!res[i].ok)
            continue;
        const char *path = arena_printf(&a, "%s/%s", dir, res[i].file);
        if (write_file(path, res[i].value) < 0) {
            note(sb, "cannot write %s: %s", path, strerror(errno));
            res[i].ok = false;
            continue;
        }
        if (res[i].extra_file)
            write_file(arena_printf(&a, "%s/%s", dir, res[i].extra_file), res[i].extra_value);
    }
    const char *procs = arena_printf(&a, "%s/cgroup.procs", dir);
    if (any_ok(res, nres) && (fd = open(procs, O_WRONLY | O_CLOEXEC)) >= 0) {
        sb->cgroup_dir = xstrdup(dir);
        goto done;
    }
    if (any_ok(res, nres))
        note(sb, "cannot open %s: %s", procs, strerror(errno));
    rmdir(dir);
none:
    for (size_t i = 0; i < nres; i++)
        res[i].ok = false;
done:
    strbuf_release(&controllers);
    strbuf_release(&subtree);
    arena_release(&a);
    return fd;
}

/* The first n CPUs of those the host may run on. */
static bool first_cpus(int n, cpu_set_t *out)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        return false;
    CPU_ZERO(out);
    for (int c = 0, taken = 0; c < CPU_SETSIZE && taken < n; c++)
        if (CPU_ISSET(c, &allowed)) {
            CPU_SET(c, out);
            taken++;
        }
    return true;
}

/* Decides how each limit is enforced and prepares what the child applies. */
static int plan_limits(struct sandbox *sb, const struct sandbox_opts *o, struct limits *l,
                       struct err *err)
{
    if (o->cpus < 0 || o->mem_mb < 0)
        return err_set(err, ERR_INPUT, "sandbox: cpu and memory limits must not be negative");
    if (o->mem_mb > 0 && (uint64_t)o->mem_mb > UINT64_MAX / (1024 * 1024) / 2)
        return err_set(err, ERR_INPUT, "sandbox: memory limit of %ld MB is too large", o->mem_mb);
    memset(l, 0, sizeof(*l));
    l->cgroup_procs_fd = -1;
    sb->cpu_mech = sb->mem_mech = SANDBOX_MECH_OFF;
    sb->limit_note[0] = '\0';
    if (o->cpus == 0 && o->mem_mb == 0)
        return 0;

    uint64_t mem_bytes = (uint64_t)o->mem_mb * 1024 * 1024;
    /* memory.swap.max: else the memory limit could be sidestepped into swap (the file is absent
     * without swap accounting, which is as good). */
    struct cg_resource res[] = {
        { "cpu", "cpu.max", NULL, NULL, o->cpus > 0, false, "" },
        { "memory", "memory.max", "memory.swap.max", "0", o->mem_mb > 0, false, "" },
    };
    snprintf(res[0].value, sizeof(res[0].value), "%lld %d", (long long)o->cpus * CPU_PERIOD_US,
             CPU_PERIOD_US);
    snprintf(res[1].value, sizeof(res[1].value), "%llu", (unsigned long long)mem_bytes);
    l->cgroup_procs_fd = cgroup_setup(sb, o, res, sizeof(res) / sizeof(res[0]));

    if (o->cpus > 0) {
        if (res[0].ok)
            sb->cpu_mech = SANDBOX_MECH_CGROUP;
        else if (first_cpus(o->cpus, &l->cpus)) {
            l->affinity = true;
            sb->cpu_mech = SANDBOX_MECH_AFFINITY;
        } else {
            note(sb, "cannot read the CPU affinity: %s", strerror(errno));
            sb->cpu_mech = SANDBOX_MECH_UNAVAILABLE;
        }
    }
    if (o->mem_mb > 0) {
        struct rlimit cur;
        if (res[1].ok)
            sb->mem_mech = SANDBOX_MECH_CGROUP;
        else if (getrlimit(RLIMIT_AS, &cur) == 0) {
            /* A lower hard limit already in force stays: it cannot be raised, and is stricter. */
            l->as_bytes = cur.rlim_max != RLIM_INFINITY && cur.rlim_max < mem_bytes
                              ? cur.rlim_max
                              : (rlim_t)mem_bytes;
            sb->mem_mech = SANDBOX_MECH_RLIMIT;
        } else {
            note(sb, "cannot read RLIMIT_AS: %s", strerror(errno));
            sb->mem_mech = SANDBOX_MECH_UNAVAILABLE;
        }
    }
    return 0;
}

static void cgroup_remove(struct sandbox *sb)
{
    if (!sb->cgroup_dir)
        return;
    /* Whatever left bwrap's process group is still in the cgroup (kernel 5.14+). */
    char *kill_path = xmalloc(strlen(sb->cgroup_dir) + sizeof("/cgroup.kill"));
    strcpy(kill_path, sb->cgroup_dir);
    strcat(kill_path, "/cgroup.kill");
    write_file(kill_path, "1");
    free(kill_path);
    /* Killed processes leave the cgroup a moment after they die. */
    for (int waited = 0; rmdir(sb->cgroup_dir) < 0 && errno == EBUSY && waited < CGROUP_RMDIR_WAIT;
         waited += 10) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    free(sb->cgroup_dir);
    sb->cgroup_dir = NULL;
}

/* ==== Start, stop, probe ==== */

int sandbox_start(struct sandbox *sb, const struct sandbox_opts *o, struct err *err)
{
    struct arena a;
    arena_init(&a);
    char **argv;
    struct limits l;
    int rc = -1;
    if (sandbox_argv(&a, o, &argv, err) || plan_limits(sb, o, &l, err))
        goto out;
    /* bwrap itself gets an empty environment: the host's (which may hold secrets) has no
     * business in it, and --clearenv gives the worker its own anyway. */
    static const char *const no_env[] = { NULL };
    struct spawn_opts so = {
        .argv = (const char *const *)argv,
        .envp = no_env,
        .stdio = { SPAWN_PIPE, SPAWN_PIPE, SPAWN_PIPE },
        .setup = apply_limits,
        .setup_arg = &l,
        .setup_what = "cannot apply the sandbox's resource limits",
    };
    rc = spawn_start(&sb->proc, &so, err);
    if (l.cgroup_procs_fd >= 0)
        close(l.cgroup_procs_fd);
    if (rc < 0)
        cgroup_remove(sb);
out:
    if (rc < 0)
        err_prefix(err, "sandbox: ");
    arena_release(&a);
    return rc;
}

void sandbox_stop(struct sandbox *sb, int grace_ms)
{
    spawn_stop(&sb->proc, grace_ms);
    cgroup_remove(sb);
}

int sandbox_probe(const char *bwrap, struct err *err)
{
    const char *argv[] = {
        bwrap ? bwrap : SANDBOX_BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--",
        "true",
        NULL,
    };
    static const char *const no_env[] = { NULL };
    struct spawn_opts so = {
        .argv = argv,
        .envp = no_env,
        .stdio = { SPAWN_NULL, SPAWN_NULL, SPAWN_PIPE },
    };
    struct spawn_proc p = SPAWN_PROC_INIT;
    struct strbuf errout = STRBUF_INIT;
    strbuf_init(&errout, 4096);
    int rc = -1;
    if (spawn_start(&p, &so, err) ||
        spawn_communicate(&p, NULL, 0, NULL, &errout, PROBE_TIMEOUT_MS, err))
        goto out;
    if (WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0) {
        rc = 0;
        goto out;
    }
    char how[128];
    const char *msg = strbuf_str(&errout);
    err_set(err, ERR_DRIVER, "bubblewrap cannot create the sandbox (%s)%s%.*s",
            spawn_status_str(p.status, how, sizeof(how)), *msg ? ": " : "", (int)strcspn(msg, "\n"),
            msg);
out:
    spawn_stop(&p, 0);
    strbuf_release(&errout);
    return rc;
}
