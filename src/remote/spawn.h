/* spawn: starts a program with chosen stdin/stdout/stderr in a process group of its own, and
 * stops it for sure (the whole group, with a deadline, reaped). Every remote backend starts its
 * worker through it: `sandbox` runs bwrap, `process` the worker itself, `ssh` the ssh client.
 *
 * Only fds 0-2 reach the program: every other descriptor of the host (database sockets, run
 * files) is closed at exec, so a worker never inherits a connection it was not given.
 *
 * Between fork and exec the child runs async-signal-safe code only, because the host may have
 * threads (DuckDB's); everything it needs is prepared before fork. A failure there (chdir, the
 * setup hook, exec itself) comes back over a close-on-exec pipe, so spawn_start() fails with
 * "cannot run X: No such file or directory" instead of returning a process that exits 127. */
#ifndef OSIRIS_SPAWN_H
#define OSIRIS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "strbuf.h"

enum spawn_stdio {
    SPAWN_INHERIT = 0, /* the host's own stream */
    SPAWN_NULL,        /* /dev/null */
    SPAWN_PIPE,        /* a pipe; the host's end is in spawn_proc.fd[] */
};

struct spawn_opts {
    const char *const *argv;   /* NULL-terminated; argv[0] is a path, or a name looked up in PATH */
    const char *const *envp;   /* NULL-terminated K=V; NULL: the host's environment */
    const char *cwd;           /* NULL: the host's working directory */
    enum spawn_stdio stdio[3]; /* stdin, stdout, stderr */
    /* Runs in the child just before exec, so it must be async-signal-safe (no malloc, no stdio):
     * returns 0 or an errno value, which fails spawn_start() with "<setup_what>: <strerror>". */
    int (*setup)(void *arg);
    void *setup_arg;
    const char *setup_what; /* e.g. "cannot apply the resource limits"; NULL: "setup failed" */
};

struct spawn_proc {
    pid_t pid;     /* the child, also its process group id; 0 before spawn_start() */
    int fd[3];     /* the host's end of each SPAWN_PIPE stream (fd[0] is written, fd[1] and fd[2]
                      read), else -1; owned, closed by spawn_close_fds() or spawn_stop() */
    bool ended;    /* reaped; status holds the wait status */
    int status;    /* wait status (WIFEXITED...) once ended */
    char name[64]; /* the program's base name, for messages */
};

#define SPAWN_PROC_INIT                                                                            \
    {                                                                                              \
        .pid = 0, .fd = { -1, -1, -1 }, .ended = false, .status = 0                                \
    }

/* Starts the program; p must be SPAWN_PROC_INIT. On failure nothing is left running or open and
 * err says why (ERR_DRIVER naming argv[0], or ERR_IO when fork/pipe fail). */
int spawn_start(struct spawn_proc *p, const struct spawn_opts *o, struct err *err);

/* Waits for the child to end for at most timeout_ms (-1: no limit, 0: just look). Returns 1 when
 * it ended (p->status), 0 when it still runs, -1 on error. Reaps only the child itself; what it
 * started in its group is spawn_stop()'s business. */
int spawn_wait(struct spawn_proc *p, int timeout_ms, struct err *err);

/* Sends sig to the child's process group (the child and whatever it started without leaving the
 * group). 0, or -1 with errno (ESRCH: nobody left). */
int spawn_signal(const struct spawn_proc *p, int sig);

/* Ends the child for sure: SIGTERM to the group, up to grace_ms for it to end, then SIGKILL to
 * the group, reap; closes the pipes. Safe on a child that already ended or never started. */
void spawn_stop(struct spawn_proc *p, int grace_ms);

/* Closes the host's pipe ends that are still open (e.g. stdin, to send EOF: spawn_close_fd()). */
void spawn_close_fds(struct spawn_proc *p);
void spawn_close_fd(struct spawn_proc *p, int stream);

/* Writes in[0..inlen) to the child's stdin (then closes it), collects its stdout and stderr into
 * out and errout (NULL: read and dropped) until both reach EOF and the child ends. Past
 * timeout_ms (-1: none) the group is killed and ERR_TIMEOUT set. The wait status is in p->status;
 * a non-zero exit is not an error here. Streams that are not SPAWN_PIPE are skipped. */
int spawn_communicate(struct spawn_proc *p, const void *in, size_t inlen, struct strbuf *out,
                      struct strbuf *errout, int timeout_ms, struct err *err);

/* "exit status 3", "killed by signal 9 (Killed)": for messages. Returns buf. */
const char *spawn_status_str(int status, char *buf, size_t n);

#endif
