/* The --remote backends: how a remote run's worker is started, and how its session directory
 * reaches it and comes back. proxy.c holds the conversation with the worker; a backend only
 * provides the process whose stdin and stdout carry the protocol's frames (spawn.h).
 *   process  the worker as a plain subprocess in the session directory;
 *   sandbox  bubblewrap (sandbox.h) with this binary's pack (pack.h) read-only;
 *   ssh://   the pack and the session directory as one tar stream to a temporary directory on
 *            the host, the worker over the ssh connection, the session pulled back.
 * The pack is built once per build of osiris into a cache and checked on every use: a missing
 * library fails the run before the worker starts (dependency_check, pack_uploaded events). */
#ifndef OSIRIS_BACKEND_H
#define OSIRIS_BACKEND_H

#include <stdbool.h>

#include "arena.h"
#include "engine/runner.h"
#include "err.h"
#include "proxy.h"
#include "sandbox.h"

/* A started worker. */
struct worker {
    struct sandbox sb;      /* its process (sb.proc, pipes in sb.proc.fd[]); a sandbox's limits */
    const char *remote_dir; /* ssh: its directory on the remote host, or NULL */
};

struct backend {
    const char *name; /* the --remote value, or its prefix when it ends in '/' */
    bool packs;       /* ships the pack (else the worker is this binary) */
    /* Starts the worker for the session directory sess (which holds its input files); events
     * about it go to the run e. */
    int (*start)(struct worker *w, struct engine *e, const struct remote_opts *o, const char *sess,
                 struct arena *a, struct err *err);
    /* Brings the worker's session directory back into sess; NULL: it is sess already. */
    int (*pull)(struct worker *w, const struct remote_opts *o, const char *sess, struct arena *a,
                struct err *err);
    /* Removes what the backend left on the remote side, whatever happened; or NULL. */
    void (*finish)(struct worker *w, const struct remote_opts *o, struct arena *a);
};

/* The backend of a --remote value, or NULL. Static data. */
const struct backend *backend_find(const char *target);
/* 0 when target names a backend, in its syntax; else ERR_USAGE saying why. */
int backend_check_target(const char *target, struct err *err);

#endif
