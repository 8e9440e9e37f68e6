/* fork/exec with pipes, a process group per child, and stops that leave nothing behind. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What the child was doing when it failed, sent to the host with the errno value. */
enum stage { STAGE_STDIO, STAGE_CWD, STAGE_SETUP, STAGE_EXEC };

struct child_failure {
    int stage;
    int errnum;
};

/* ==== Time ==== */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds until deadline for poll(): -1 without a deadline, 0 once it passed. */
static int time_left(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static long long deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* ==== The child, between fork and exec (async-signal-safe only) ==== */

static _Noreturn void child_fail(int status_fd, int stage, int errnum)
{
    struct child_failure f = { stage, errnum };
    ssize_t n;
    do
        n = write(status_fd, &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    _exit(127);
}

/* Every descriptor from 3 up is closed at exec; the status pipe stays usable until then. */
static void cloexec_from_3(void)
{
    if (close_range(3, UINT_MAX, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    /* Kernels before 5.11: one fcntl per possible descriptor. */
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (long)rl.rlim_cur
                   : 65536;
    for (long fd = 3; fd < max; fd++)
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void child_main(const struct spawn_opts *o, const int child_end[3], int status_fd)
{
    /* Its own group, so the host can signal the child and everything it starts at once. */
    setpgid(0, 0);
    /* The host's blocked and ignored signals would survive exec (an ignored SIGPIPE or SIGTERM
     * in the worker would hide a dead host or defeat spawn_stop). */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP, glibc's own */

    for (int i = 0; i < 3; i++)
        if (child_end[i] >= 0 && dup2(child_end[i], i) < 0)
            child_fail(status_fd, STAGE_STDIO, errno);
    if (o->cwd && chdir(o->cwd) < 0)
        child_fail(status_fd, STAGE_CWD, errno);
    if (o->setup) {
        int e = o->setup(o->setup_arg);
        if (e)
            child_fail(status_fd, STAGE_SETUP, e);
    }
    cloexec_from_3();
    char *const *argv = (char *const *)o->argv;
    char *const *envp = o->envp ? (char *const *)o->envp : environ;
    if (strchr(o->argv[0], '/'))
        execve(o->argv[0], argv, envp);
    else
        execvpe(o->argv[0], argv, envp);
    child_fail(status_fd, STAGE_EXEC, errno);
}

/* ==== Start ==== */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child's ends must not be 0-2 (a host with a closed stdin gets fd 0 from pipe()), else the
 * dup2() of one stream would clobber another. */
static int above_stdio(int *fd)
{
    if (*fd < 0 || *fd > 2)
        return 0;
    int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return -1;
    close(*fd);
    *fd = moved;
    return 0;
}

static void set_name(struct spawn_proc *p, const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    snprintf(p->name, sizeof(p->name), "%s", slash ? slash + 1 : argv0);
}

int spawn_start(struct spawn_proc *p, const struct spawn_opts *o, struct err *err)
{
    if (!o->argv || !o->argv[0])
        return err_set(err, ERR_INTERNAL, "spawn: no program given");
    set_name(p, o->argv[0]);
    int child_end[3] = { -1, -1, -1 };
    int parent_end[3] = { -1, -1, -1 };
    int status[2] = { -1, -1 };
    for (int i = 0; i < 3; i++) {
        if (o->stdio[i] == SPAWN_PIPE) {
            int fds[2];
            if (pipe2(fds, O_CLOEXEC) < 0) {
                err_errno(err, ERR_IO, "cannot create a pipe for %s", p->name);
                goto fail;
            }
            /* stdin: the child reads fds[0]; stdout and stderr: the child writes fds[1]. */
            child_end[i] = i == 0 ? fds[0] : fds[1];
            parent_end[i] = i == 0 ? fds[1] : fds[0];
        } else if (o->stdio[i] == SPAWN_NULL) {
            child_end[i] = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            if (child_end[i] < 0) {
                err_errno(err, ERR_IO, "cannot open /dev/null for %s", p->name);
                goto fail;
            }
        }
        if (above_stdio(&child_end[i]) < 0) {
            err_errno(err, ERR_IO, "cannot move a descriptor for %s", p->name);
            goto fail;
        }
    }
    if (pipe2(status, O_CLOEXEC) < 0) {
        err_errno(err, ERR_IO, "cannot create a pipe for %s", p->name);
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_errno(err, ERR_IO, "cannot start %s", p->name);
        goto fail;
    }
    if (pid == 0)
        child_main(o, child_end, status[1]);
    /* Both sides set the group: whichever runs first, a signal sent right after spawn_start()
     * returns reaches the group (EACCES once the child has exec'd is expected). */
    setpgid(pid, pid);
    close_fd(&status[1]);
    for (int i = 0; i < 3; i++)
        close_fd(&child_end[i]);

    struct child_failure f;
    ssize_t n;
    do
        n = read(status[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    close_fd(&status[0]);
    if (n == (ssize_t)sizeof(f)) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        errno = f.errnum;
        switch (f.stage) {
        case STAGE_STDIO:
            err_errno(err, ERR_DRIVER, "cannot set up the standard streams of %s", p->name);
            break;
        case STAGE_CWD:
            err_errno(err, ERR_DRIVER, "cannot run %s in %s", p->name, o->cwd);
            break;
        case STAGE_SETUP:
            err_errno(err, ERR_DRIVER, "%s: %s", p->name,
                      o->setup_what ? o->setup_what : "setup failed");
            break;
        default:
            err_errno(err, ERR_DRIVER, "cannot run %s", o->argv[0]);
        }
        goto fail;
    }
    p->pid = pid;
    p->ended = false;
    p->status = 0;
    for (int i = 0; i < 3; i++)
        p->fd[i] = parent_end[i];
    return 0;

fail:
    for (int i = 0; i < 3; i++) {
        close_fd(&child_end[i]);
        close_fd(&parent_end[i]);
    }
    close_fd(&status[0]);
    close_fd(&status[1]);
    return -1;
}

/* ==== Wait, signal, stop ==== */

int spawn_wait(struct spawn_proc *p, int timeout_ms, struct err *err)
{
    if (p->ended)
        return 1;
    if (p->pid <= 0)
        return err_set(err, ERR_INTERNAL, "spawn: no process to wait for");
    long long deadline = deadline_after(timeout_ms);
    /* A pidfd turns "wait with a timeout" into one poll(); without one (kernels before 5.3) the
     * loop looks every 10 ms. */
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
#endif
    int rc;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->ended = true;
            p->status = st;
            rc = 1;
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = err_errno(err, ERR_INTERNAL, "cannot wait for %s (pid %d)", p->name, (int)p->pid);
            break;
        }
        int left = time_left(deadline);
        if (left == 0) {
            rc = 0;
            break;
        }
        if (pidfd >= 0) {
            struct pollfd pf = { .fd = pidfd, .events = POLLIN };
            poll(&pf, 1, left);
        } else {
            int step = left < 0 || left > 10 ? 10 : left;
            struct timespec ts = { 0, (long)step * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

int spawn_signal(const struct spawn_proc *p, int sig)
{
    if (p->pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    if (kill(-p->pid, sig) == 0)
        return 0;
    /* No group (yet): the child itself, unless it is already reaped (its pid may be reused). */
    if (errno == ESRCH && !p->ended)
        return kill(p->pid, sig);
    return -1;
}

void spawn_close_fd(struct spawn_proc *p, int stream)
{
    if (stream >= 0 && stream < 3)
        close_fd(&p->fd[stream]);
}

void spawn_close_fds(struct spawn_proc *p)
{
    for (int i = 0; i < 3; i++)
        close_fd(&p->fd[i]);
}

void spawn_stop(struct spawn_proc *p, int grace_ms)
{
    /* Closing first: stdin EOF is the worker's cue to finish, and a child blocked writing to a
     * full pipe gets EPIPE instead of hanging past the grace period. */
    spawn_close_fds(p);
    if (p->pid <= 0)
        return;
    if (!p->ended) {
        spawn_signal(p, SIGTERM);
        if (spawn_wait(p, grace_ms < 0 ? 0 : grace_ms, NULL) != 1) {
            spawn_signal(p, SIGKILL);
            spawn_wait(p, -1, NULL);
        }
    }
    /* Members of the group that outlived the child. */
    spawn_signal(p, SIGKILL);
}

/* ==== Communicate ==== */

/* write() that returns EPIPE instead of killing the host with SIGPIPE when the child closed its
 * stdin: SIGPIPE is blocked around the call and a SIGPIPE it raised is consumed (the host's own
 * handling of SIGPIPE is left as it was). */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, buf, n);
    int saved = errno;
    if (w < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return w;
}

int spawn_communicate(struct spawn_proc *p, const void *in, size_t inlen, struct strbuf *out,
                      struct strbuf *errout, int timeout_ms, struct err *err)
{
    long long deadline = deadline_after(timeout_ms);
    const char *data = in;
    size_t off = 0;
    if (p->fd[0] >= 0) {
        if (!in || inlen == 0)
            spawn_close_fd(p, 0);
        else
            fcntl(p->fd[0], F_SETFL, fcntl(p->fd[0], F_GETFL) | O_NONBLOCK);
    }
    struct strbuf *sink[3] = { NULL, out, errout };
    char buf[65536];
    while (p->fd[0] >= 0 || p->fd[1] >= 0 || p->fd[2] >= 0) {
        struct pollfd pf[3];
        int stream[3];
        nfds_t n = 0;
        for (int i = 0; i < 3; i++) {
            if (p->fd[i] < 0)
                continue;
            pf[n] = (struct pollfd){ .fd = p->fd[i], .events = i == 0 ? POLLOUT : POLLIN };
            stream[n++] = i;
        }
        int left = time_left(deadline);
        if (left == 0)
            goto timeout;
        int r = poll(pf, n, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_errno(err, ERR_INTERNAL, "cannot poll the pipes of %s", p->name);
            spawn_stop(p, 0);
            return -1;
        }
        for (nfds_t k = 0; k < n; k++) {
            int i = stream[k];
            if (!pf[k].revents)
                continue;
            if (i == 0) {
                ssize_t w = write_nosigpipe(p->fd[0], data + off, inlen - off);
                if (w > 0)
                    off += (size_t)w;
                /* A child that stopped reading just does not get the rest. */
                if (off == inlen || (w < 0 && errno != EAGAIN && errno != EINTR))
                    spawn_close_fd(p, 0);
                continue;
            }
            ssize_t got = read(p->fd[i], buf, sizeof(buf));
            if (got > 0 && sink[i])
                strbuf_add(sink[i], buf, (size_t)got);
            else if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
                spawn_close_fd(p, i);
        }
    }
    int w = spawn_wait(p, time_left(deadline), err);
    if (w < 0)
        return -1;
    if (w == 1)
        return 0;

timeout:
    spawn_stop(p, 0);
    return err_set(err, ERR_TIMEOUT, "%s did not finish within %d ms", p->name, timeout_ms);
}

const char *spawn_status_str(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "wait status %d", status);
    return buf;
}
