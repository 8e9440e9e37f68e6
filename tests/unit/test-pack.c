/* pack.c: a pack of the real binary holds its whole DT_NEEDED closure minus glibc (the loader's
 * own trace agrees), is reproducible, and runs with nothing but its own lib/; a library removed
 * from a pack, a non-ELF binary and a DT_NEEDED that exists nowhere are all named. Small programs
 * compiled at test time check $ORIGIN, recursion and symbolic links without the host's libraries.
 */
#include "../harness/tap.h"
#include "files.h"
#include "fingerprint.h"
#include "remote/pack.h"

#include <dirent.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const GLIBC[] = {
    "libc.so.6",  "libm.so.6",      "libpthread.so.0", "libdl.so.2",
    "librt.so.1", "libresolv.so.2", "libutil.so.1",    "ld-linux-x86-64.so.2",
};

/* A check that should succeed; the error, if any, is printed under it. */
#define ok_err(cond, err, ...)                                                                     \
    do {                                                                                           \
        if (!ok(cond, __VA_ARGS__))                                                                \
            diag("error: %s", (err).msg);                                                          \
    } while (0)

static bool listed(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool glibc(const char *s)
{
    return listed(GLIBC, sizeof(GLIBC) / sizeof(GLIBC[0]), s);
}

/* OSIRIS_BIN (make test), else the osiris of this test's build directory, else build/osiris. */
static const char *find_binary(struct arena *a)
{
    const char *env = getenv("OSIRIS_BIN");
    if (env && *env)
        return env;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        const char *p = arena_printf(a, "%s/../osiris", dirname(self));
        if (access(p, X_OK) == 0)
            return p;
    }
    return access("build/osiris", X_OK) == 0 ? "build/osiris" : NULL;
}

/* Exit status of a shell command (-1 if it did not exit normally). */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The dynamic loader's own resolution (LD_TRACE_LOADED_OBJECTS, what ldd uses: libraries are
 * mapped, no code of the program runs): "soname => path" for each non-glibc object, sorted. */
static size_t loader_trace(struct arena *a, const char *env, const char *bin, const char ***names,
                           const char ***paths)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s LD_TRACE_LOADED_OBJECTS=1 '%s' | sort", env, bin);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    *names = arena_calloc(a, 256, sizeof(**names));
    *paths = arena_calloc(a, 256, sizeof(**paths));
    char line[4096], name[1024], path[2048];
    while (p && fgets(line, sizeof(line), p) && n < 256)
        if (sscanf(line, " %1023s => %2047s", name, path) == 2 && !glibc(name)) {
            (*names)[n] = arena_strdup(a, name);
            (*paths)[n++] = arena_strdup(a, path);
        }
    if (p)
        pclose(p);
    return n;
}

static bool same_list(const char *const *x, size_t nx, const char *const *y, size_t ny)
{
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (strcmp(x[i], y[i]) != 0)
            return false;
    return true;
}

static bool same_file(const char *x, const char *y)
{
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    struct err err = ERR_INIT;
    bool same = files_read(x, &a, &err) == 0 && files_read(y, &b, &err) == 0 && a.len == b.len &&
                memcmp(a.buf, b.buf, a.len) == 0;
    strbuf_release(&a);
    strbuf_release(&b);
    return same;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode : 0;
}

static void real_binary(struct arena *a, const char *bin, const char *tmp)
{
    struct err err = ERR_INIT;
    struct pack_info plan, info, again;
    const char *p1 = arena_printf(a, "%s/p1", tmp), *p2 = arena_printf(a, "%s/p2", tmp);

    ok_err(pack_plan(a, bin, &plan, &err) == 0, err, "plan for %s", bin);
    ok_err(pack_build(a, bin, p1, &info, &err) == 0, err, "pack built");
    if (err.code)
        return;
    diag("pack of %s: %zu files, %llu bytes, sha256 %s", bin, info.nfiles,
         (unsigned long long)info.bytes, info.sha256);
    is_int(info.nfiles, info.nlibs + 1, "bin/osiris plus one file per library");
    is_int(info.nmissing, 0, "nothing missing");
    is_int(strlen(info.sha256), 64, "manifest digest");
    is_str(info.files[0].name, "bin/osiris", "bin/osiris comes first");
    bool plan_same = plan.nfiles == info.nfiles && plan.bytes == info.bytes;
    for (size_t i = 0; plan_same && i < info.nfiles; i++)
        plan_same = strcmp(plan.files[i].name, info.files[i].name) == 0 &&
                    plan.files[i].size == info.files[i].size;
    ok(plan_same, "the plan lists what the build ships, with the same sizes");

    ok(same_file(bin, arena_printf(a, "%s/bin/osiris", p1)), "bin/osiris is byte-identical");
    is_int(mode_of(arena_printf(a, "%s/bin/osiris", p1)) & 07777, 0755, "bin/osiris is 0755");
    for (const char *want = "libduckdb.so\0libmariadb.so.3\0libpq.so.5\0"; *want;
         want += strlen(want) + 1)
        ok(listed(info.libs, info.nlibs, want), "%s shipped", want);

    /* lib/ holds exactly the listed sonames, as regular 0644 files, and no glibc object. */
    DIR *d = opendir(arena_printf(a, "%s/lib", p1));
    size_t n = 0, unlisted = 0, bad_mode = 0, libc = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        n++;
        unlisted += !listed(info.libs, info.nlibs, de->d_name);
        bad_mode += mode_of(arena_printf(a, "%s/lib/%s", p1, de->d_name)) != (S_IFREG | 0644);
        libc += glibc(de->d_name);
    }
    if (d)
        closedir(d);
    ok(n == info.nlibs && unlisted == 0, "lib/ holds the %zu listed libraries and nothing else",
       info.nlibs);
    is_int(bad_mode, 0, "every library a regular file of mode 0644");
    is_int(libc, 0, "no glibc object shipped");

    /* The loader, resolving the original binary on this host, finds the same closure. */
    const char **names, **paths;
    n = loader_trace(a, "", bin, &names, &paths);
    ok(same_list(names, n, info.libs, info.nlibs), "the loader's closure of %s is what is shipped",
       bin);
    if (n != info.nlibs)
        for (size_t i = 0; i < n; i++)
            diag("loader: %s => %s", names[i], paths[i]);

    /* Copied to the pack, the binary's RUNPATH ($ORIGIN) points into the pack: every library
     * must come from <pack>/lib. */
    const char *env = arena_printf(a, "env -i LD_LIBRARY_PATH='%s/lib'", p1);
    n = loader_trace(a, env, arena_printf(a, "%s/bin/osiris", p1), &names, &paths);
    const char *prefix = arena_printf(a, "%s/lib/", p1);
    size_t outside = 0;
    for (size_t i = 0; i < n; i++)
        outside += strncmp(paths[i], prefix, strlen(prefix)) != 0;
    ok(n == info.nlibs && outside == 0, "the packed binary loads all %zu libraries from the pack",
       n);
    is_int(sh("%s '%s/bin/osiris' version >/dev/null", env, p1), 0,
           "env -i LD_LIBRARY_PATH=<pack>/lib <pack>/bin/osiris version exits 0");

    struct strbuf m = STRBUF_INIT, m2 = STRBUF_INIT, l = STRBUF_INIT;
    pack_manifest(&info, &m);
    char hex[FINGERPRINT_HEX_LEN];
    fingerprint_of(m.buf, m.len, hex);
    is_str(hex, info.sha256, "sha256 is the digest of the manifest");
    struct strbuf binbytes = STRBUF_INIT;
    files_read(bin, &binbytes, &err);
    fingerprint_of(binbytes.buf, binbytes.len, hex);
    like(m.buf, arena_printf(a, "bin/osiris\t%zu\t%s\n", binbytes.len, hex),
         "manifest line: path, size, content digest");
    strbuf_release(&binbytes);
    pack_listing(&info, &l);
    like(l.buf, "lib/libduckdb.so\t", "listing names the libraries");
    like(l.buf, arena_printf(a, "total\t%zu files\t", info.nfiles), "listing has a total line");

    struct pack_check ck;
    ok_err(pack_check(a, p1, &ck, &err) == 0, err, "pack_check");
    ok(same_list(ck.required, ck.nrequired, info.libs, info.nlibs), "required = shipped");
    ok(same_list(ck.present, ck.npresent, info.libs, info.nlibs), "present = shipped");
    is_int(ck.nmissing, 0, "nothing missing");

    ok_err(pack_build(a, bin, p2, &again, &err) == 0, err, "second pack");
    is_str(again.sha256, info.sha256, "the digest is stable across builds");
    pack_manifest(&again, &m2);
    is_str(m2.buf, m.buf, "so is the manifest");
    strbuf_release(&m);
    strbuf_release(&m2);
    strbuf_release(&l);

    /* A broken pack: libduckdb.so deleted. */
    unlink(arena_printf(a, "%s/lib/libduckdb.so", p2));
    ok_err(pack_check(a, p2, &ck, &err) == 0, err,
           "pack_check of a broken pack is not itself an error");
    ok(ck.nmissing == 1 && strcmp(ck.missing[0], "libduckdb.so") == 0,
       "missing: libduckdb.so (%zu missing)", ck.nmissing);
    ok(listed(ck.required, ck.nrequired, "libduckdb.so") &&
           !listed(ck.present, ck.npresent, "libduckdb.so") && ck.npresent == ck.nrequired - 1,
       "required still lists it, present does not");
    ok(sh("env -i LD_LIBRARY_PATH='%s/lib' '%s/bin/osiris' version >/dev/null 2>&1", p2, p2) != 0,
       "and indeed the broken pack does not run");

    ok(pack_build(a, bin, p1, &again, &err) != 0 && err.code == ERR_CONFLICT,
       "building into a non-empty directory: conflict");
    like(err.msg, "exists and is not empty", "error says why (%s)", err.msg);
    err_clear(&err);
    ok(files_exists(arena_printf(a, "%s/bin/osiris", p1)) &&
           !files_exists(arena_printf(a, "%s.tmp", p1)),
       "the existing pack is untouched, no temporary left");
}

static void small_programs(struct arena *a, const char *tmp)
{
    struct err err = ERR_INIT;
    struct pack_info info;
    if (sh("cc --version >/dev/null 2>&1") != 0) {
        ok(true, "# SKIP no C compiler");
        return;
    }
    /* prog needs libmissing.so, which is then deleted; chain needs libb.so.1 (a symbolic link to
     * libb.so.1.0, found through RUNPATH $ORIGIN/deps) which needs liba.so.1 (its own $ORIGIN). */
    int rc = sh("cd '%s' && mkdir deps && "
                "echo 'int missing_fn(void) { return 0; }' >m.c && "
                "echo 'int missing_fn(void); int main(void) { return missing_fn(); }' >main.c && "
                "cc -shared -fPIC -o libmissing.so m.c && cc -o prog main.c -L. -lmissing && "
                "rm libmissing.so && "
                "echo 'int a(void) { return 40; }' >a.c && "
                "echo 'int a(void); int b(void) { return a() + 2; }' >b.c && "
                "echo 'int b(void); int main(void) { return b(); }' >chain.c && "
                "echo 'int main(void) { return 0; }' >hello.c && "
                "cc -shared -fPIC -Wl,-soname,liba.so.1 -o deps/liba.so.1 a.c && "
                "cc -shared -fPIC -Wl,-soname,libb.so.1 -o deps/libb.so.1.0 b.c deps/liba.so.1 "
                "-Wl,-rpath,'$ORIGIN' && ln -s libb.so.1.0 deps/libb.so.1 && "
                "cc -o chain chain.c deps/libb.so.1 -Wl,-rpath-link,deps "
                "-Wl,-rpath,'$ORIGIN/deps' && cc -o hello hello.c",
                tmp);
    is_int(rc, 0, "test programs compiled");
    if (rc != 0)
        return;

    const char *prog = arena_printf(a, "%s/prog", tmp), *p = arena_printf(a, "%s/p-missing", tmp);
    ok(pack_build(a, prog, p, &info, &err) != 0 && err.code == ERR_NOTFOUND,
       "a DT_NEEDED found nowhere: not found");
    like(err.msg, "'libmissing.so'", "error names the library (%s)", err.msg);
    like(err.msg, prog, "and the object that needs it");
    ok(info.nmissing == 1 && strcmp(info.missing[0], "libmissing.so") == 0, "info lists it");
    ok(!files_exists(p) && !files_exists(arena_printf(a, "%s.tmp", p)), "nothing created");
    err_clear(&err);

    p = arena_printf(a, "%s/p-chain", tmp);
    ok_err(pack_build(a, arena_printf(a, "%s/chain", tmp), p, &info, &err) == 0, err,
           "chain packed");
    const char *want[] = { "liba.so.1", "libb.so.1" };
    ok(same_list(info.libs, info.nlibs, want, 2), "both libraries, each under its soname");
    ok(S_ISREG(mode_of(arena_printf(a, "%s/lib/libb.so.1", p))) &&
           same_file(arena_printf(a, "%s/lib/libb.so.1", p),
                     arena_printf(a, "%s/deps/libb.so.1.0", tmp)),
       "a symbolic link is copied as the file it points to");
    ok(strstr(info.files[2].source, "deps/libb.so.1.0") != NULL, "source is the link's target");
    is_int(sh("env -i LD_LIBRARY_PATH='%s/lib' '%s/bin/osiris'", p, p), 42,
           "the packed chain runs with the pack's libraries");

    p = arena_printf(a, "%s/p-empty", tmp);
    mkdir(p, 0755);
    ok_err(pack_build(a, arena_printf(a, "%s/hello", tmp), p, &info, &err) == 0, err,
           "an existing empty directory is fine");
    ok(info.nfiles == 1 && info.nlibs == 0, "a glibc-only program ships just bin/osiris");
    ok(files_is_dir(arena_printf(a, "%s/lib", p)), "lib/ exists all the same");

    /* Truncated ELF files are rejected with bounds checks, never read past their end. */
    for (int len = 16; len <= 4096; len *= 4) {
        const char *cut = arena_printf(a, "%s/cut%d", tmp, len);
        sh("head -c %d '%s/hello' >'%s'", len, tmp, cut);
        ok(pack_plan(a, cut, &info, &err) != 0 && err.code == ERR_INPUT,
           "hello cut to %d bytes: %s", len, err.msg);
        err_clear(&err);
    }
}

int main(void)
{
    struct arena a = ARENA_INIT;
    arena_init(&a);
    char tmp[] = "/tmp/osiris-test-pack-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    struct err err = ERR_INIT;
    struct pack_info info;
    struct pack_check ck;

    const char *notelf = arena_printf(&a, "%s/script", tmp);
    files_write(notelf, "#!/bin/sh\necho hi\n", 18, 0755, &err);
    const char *p = arena_printf(&a, "%s/p-script", tmp);
    ok(pack_build(&a, notelf, p, &info, &err) != 0 && err.code == ERR_INPUT,
       "a shell script is no binary to pack");
    like(err.msg, "is not an ELF file", "error says so (%s)", err.msg);
    like(err.msg, notelf, "and names the file");
    ok(!files_exists(p), "nothing created");
    err_clear(&err);
    ok(pack_check(&a, tmp, &ck, &err) != 0 && err.code == ERR_NOTFOUND,
       "pack_check of a directory without bin/osiris fails (%s)", err.msg);
    err_clear(&err);

    ok_err(pack_plan(&a, NULL, &info, &err) == 0 && strcmp(info.files[0].name, "bin/osiris") == 0,
           err, "NULL packs the running program");

    small_programs(&a, tmp);

    const char *bin = find_binary(&a);
    if (bin)
        real_binary(&a, bin, tmp);
    else
        ok(true, "# SKIP no osiris binary (set OSIRIS_BIN or build it)");

    arena_release(&a);
    return sh("rm -rf '%s'", tmp) == 0 ? done_testing() : 1;
}
