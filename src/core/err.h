/* Errors: one struct filled once with a complete sentence; the first error wins.
 *
 * Any function that can fail returns 0 / -1 (or a pointer / NULL) and takes `struct err *err` as
 * its last argument. `err` is untouched on success, so calls chain: if (a(..., err) || b(..., err))
 * goto fail; Callers add context while unwinding with err_prefix(), giving messages such as step
 * 'load': postgres: connection refused Only src/cli/ prints an error and maps its code to an exit
 * status (see docs/internals/errors.md). */
#ifndef OSIRIS_ERR_H
#define OSIRIS_ERR_H

#include <stdarg.h>

/* X-macro: the code, its stable name (used in JSON output, events and RPC) and a description. */
#define ERR_CODES(XX)                                                                              \
    XX(USAGE, "usage", "bad command-line usage")                                                   \
    XX(INPUT, "invalid_input", "invalid input file or value")                                      \
    XX(NOTFOUND, "not_found", "no such thing")                                                     \
    XX(CONFLICT, "conflict", "refused to overwrite something that exists")                         \
    XX(IO, "io", "file system error")                                                              \
    XX(DRIVER, "driver", "a driver or external system failed")                                     \
    XX(DATA, "data", "data could not be converted or written")                                     \
    XX(RPC, "rpc", "remote worker protocol error")                                                 \
    XX(TIMEOUT, "timeout", "an operation timed out")                                               \
    XX(INTERNAL, "internal", "internal error")

enum err_code {
    ERR_NONE = 0,
#define XX(code, name, desc) ERR_##code,
    ERR_CODES(XX)
#undef XX
};

struct err {
    int code;         /* enum err_code; ERR_NONE while no error is set */
    int sys;          /* errno or the native code of a library, 0 if none */
    char sqlstate[6]; /* SQLSTATE when a database gave one, else "" */
    char msg[1024];   /* one line: lower-case start, no trailing full stop, context first */
};

#define ERR_INIT                                                                                   \
    {                                                                                              \
        0                                                                                          \
    }

/* Sets the error unless one is already set; always returns -1. */
int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_vset(struct err *err, int code, const char *fmt, va_list ap);

/* Like err_set() and appends ": <strerror(errno)>"; records errno in err->sys. */
int err_errno(struct err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Positioned error: "<file>:<line>:<col>: <message>" (parts that are unknown are left out). */
int err_at(struct err *err, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Prepends context to an error that is set ("step 'x': " + msg); no-op when none is set. */
void err_prefix(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the error so the struct can be reused. */
void err_clear(struct err *err);

const char *err_code_name(int code); /* "invalid_input"; "none" for ERR_NONE */

#endif
