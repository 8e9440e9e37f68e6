/* sandbox: runs the worker under bubblewrap (DESIGN §7, the `sandbox` backend).
 *
 * Inside, the sandboxed process sees:
 *   /osiris     the pack (bin/osiris and lib/ with its shared libraries), read-only
 *   /session    a writable directory of the host, the working directory and HOME
 *   /usr, /lib, /etc/ssl, ...   read-only binds of the host's system files (sandbox_system_binds)
 *   /tmp        an empty private tmpfs;  /proc of its own PID namespace;  a minimal /dev
 * with new PID, IPC and UTS namespaces (and a new network namespace, holding only `lo`, when
 * no_net), no capabilities even when the host runs as root, and only the environment it is given:
 * LD_LIBRARY_PATH=/osiris/lib, HOME=/session, TZ=UTC, then the caller's K=V pairs (bwrap adds
 * PWD=/session). bwrap's --die-with-parent kills the sandbox when the host dies, so a crashed
 * host leaves no worker; it is also what ends the sandboxed processes when sandbox_stop() kills
 * bwrap, since --new-session moves them out of bwrap's process group.
 *
 * Limits: `cpus` and `mem_mb` are enforced by a cgroup v2 child group (cpu.max, memory.max) when
 * the host's cgroup is v2 with those controllers delegated and writable; otherwise memory falls
 * back to RLIMIT_AS (per process, and counting address space rather than resident memory, so it
 * is looser for a process tree and stricter for programs that reserve much address space) and
 * CPUs to the affinity mask (the first `cpus` CPUs the host may use). sandbox.cpu_mech and
 * mem_mech say what was used; SANDBOX_MECH_UNAVAILABLE means the limit is not enforced and the
 * caller must warn. */
#ifndef OSIRIS_SANDBOX_H
#define OSIRIS_SANDBOX_H

#include <stdbool.h>

#include "arena.h"
#include "err.h"
#include "spawn.h"

#define SANDBOX_BWRAP         "bwrap" /* looked up in PATH unless sandbox_opts.bwrap is set */
#define SANDBOX_PACK_MOUNT    "/osiris"
#define SANDBOX_SESSION_MOUNT "/session"

/* How a host path is made visible inside. */
enum sandbox_bind_kind {
    SANDBOX_BIND_MIRROR, /* a symbolic link stays a link (/lib -> usr/lib), anything else is
                            bound read-only */
    SANDBOX_BIND_FOLLOW, /* bound read-only at its own path, links followed on the host
                            (/etc/resolv.conf -> /run/...: the file, not a dangling link) */
};

struct sandbox_bind {
    const char *path; /* absolute; NULL ends a table */
    enum sandbox_bind_kind kind;
};

/* The default system binds, NULL-terminated; paths missing on the host are left out. */
extern const struct sandbox_bind sandbox_system_binds[];

struct sandbox_opts {
    const char *bwrap;       /* NULL: SANDBOX_BWRAP */
    const char *pack_dir;    /* host directory mounted read-only at /osiris; must exist */
    const char *session_dir; /* host directory mounted writable at /session; must exist */
    const char *const *argv; /* the command inside (paths as seen inside), NULL-terminated */
    const char *const *env;  /* NULL or NULL-terminated "K=V" set after the defaults (a later
                                value of the same K wins) */
    bool no_net;             /* a network namespace of its own (only lo) */
    int cpus;                /* 0: no limit */
    long mem_mb;             /* 0: no limit */
    const struct sandbox_bind *binds; /* NULL: sandbox_system_binds */
    const char *cgroup_root;          /* NULL: "/sys/fs/cgroup"; "": never use cgroups */
};

/* How a limit is enforced. */
enum sandbox_mech {
    SANDBOX_MECH_OFF = 0,     /* no limit was asked for */
    SANDBOX_MECH_CGROUP,      /* cgroup v2 cpu.max / memory.max */
    SANDBOX_MECH_RLIMIT,      /* RLIMIT_AS */
    SANDBOX_MECH_AFFINITY,    /* sched_setaffinity */
    SANDBOX_MECH_UNAVAILABLE, /* asked for, not enforced: the caller warns */
};

const char *sandbox_mech_name(enum sandbox_mech m); /* "off", "cgroup", "rlimit", ... */

struct sandbox {
    struct spawn_proc proc; /* bwrap; proc.fd[] are the worker's stdin, stdout, stderr */
    enum sandbox_mech cpu_mech;
    enum sandbox_mech mem_mech;
    char limit_note[256]; /* why a limit fell back or is unavailable; "" when neither */
    char *cgroup_dir;     /* the child cgroup (owned, removed by sandbox_stop), or NULL */
};

#define SANDBOX_INIT                                                                               \
    {                                                                                              \
        .proc = SPAWN_PROC_INIT                                                                    \
    }

/* The bwrap argument vector (argv[0] is the bwrap program), NULL-terminated, allocated in a.
 * Checks the options: ERR_IO when the pack or session directory is missing, ERR_INPUT for an
 * env entry that is not K=V. Builds only; resource limits are sandbox_start()'s. */
int sandbox_argv(struct arena *a, const struct sandbox_opts *o, char ***argv, struct err *err);

/* Starts the sandbox with the worker's stdin, stdout and stderr as pipes (sb->proc.fd[]); sb must
 * be SANDBOX_INIT. Sets cpu_mech/mem_mech. On failure nothing is left running. */
int sandbox_start(struct sandbox *sb, const struct sandbox_opts *o, struct err *err);

/* Stops the sandbox (spawn_stop with grace_ms; everything in the cgroup too), reaps it, removes
 * the cgroup and closes the pipes. Safe after a failed or no start. The mechanisms and the wait
 * status (sb->proc.status) stay readable. */
void sandbox_stop(struct sandbox *sb, int grace_ms);

/* Whether bwrap runs here and may create the namespaces the sandbox needs (a container without
 * user namespaces or CAP_SYS_ADMIN cannot): 0, or -1 with bwrap's own reason (ERR_DRIVER). */
int sandbox_probe(const char *bwrap, struct err *err);

#endif
