/* A tiny TAP producer for the C unit tests (picotest, libuv task.h). One test binary per module;
 * `prove` runs them. Failing checks print both values.
 *
 *   ok(cond, "name %d", i);  is_int(got, want, "name");  is_str(got, want, "name");
 *   like(got, "substring", "name");  diag("fmt", ...);  return done_testing(); */
#ifndef OSIRIS_TAP_H
#define OSIRIS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;

__attribute__((format(printf, 4, 5))) static bool tap_ok(bool pass, const char *file, int line,
                                                         const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

__attribute__((format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

#define ok(cond, ...) tap_ok((cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (!ok(g_ == w_, __VA_ARGS__))                                                            \
            diag("     got: %lld\n#  wanted: %lld", g_, w_);                                       \
    } while (0)

#define is_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                                     \
            diag("     got: '%s'\n#  wanted: '%s'", g_ ? g_ : "(null)", w_ ? w_ : "(null)");       \
    } while (0)

#define like(got, sub, ...)                                                                        \
    do {                                                                                           \
        const char *g_ = (got), *s_ = (sub);                                                       \
        if (!ok(g_ && strstr(g_, s_) != NULL, __VA_ARGS__))                                        \
            diag("     got: '%s'\n#  lacking: '%s'", g_ ? g_ : "(null)", s_);                      \
    } while (0)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

static inline void skip_all(const char *reason)
{
    printf("1..0 # SKIP %s\n", reason);
    exit(0);
}

#endif
