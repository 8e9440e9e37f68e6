/* The pack: the binary's DT_NEEDED closure read from the ELF files themselves (ldd may execute
 * the program it inspects), resolved in the dynamic loader's order, copied by content. */
#include "pack.h"
#include "files.h"
#include "xalloc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* glibc's own objects never enter the pack: the worker runs on the remote system's C library,
 * which every sandbox image and ssh host has, and glibc's objects only work as one set of one
 * version (a host libc.so.6 under the remote ld.so, or a host libm beside the remote libc, fails
 * with symbol version errors or worse). The binary's PT_INTERP is excluded as well, by name. */
static const char *const GLIBC[] = {
    "libc.so.6",      "libm.so.6",    "libpthread.so.0", "libdl.so.2",   "librt.so.1",
    "libresolv.so.2", "libutil.so.1", "libanl.so.1",     "libmvec.so.1", "ld-linux-x86-64.so.2",
};

/* The loader's trusted directories, searched last. */
static const char DEFAULT_DIRS[] =
    "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";

/* ==== ELF ==== */

/* The dynamic-linking facts of one object; strings in the arena. */
struct elf {
    uint16_t machine;
    const char *interp;  /* PT_INTERP, NULL if none */
    const char **needed; /* DT_NEEDED, in order */
    size_t nneeded;
    const char *rpath, *runpath; /* as written, NULL when absent */
};

static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* The string at idx of a string table of len bytes, NULL unless it ends inside the table. */
static const char *table_str(struct arena *a, const char *tab, uint64_t len, uint64_t idx)
{
    const char *end = idx < len ? memchr(tab + idx, 0, len - idx) : NULL;
    return end ? arena_strndup(a, tab + idx, (size_t)(end - tab - idx)) : NULL;
}

static int corrupt(struct err *err, const char *path, const char *what)
{
    return err_set(err, ERR_INPUT, "'%s' is a corrupt ELF file (%s)", path, what);
}

/* Headers are copied out with memcpy: the file gives no alignment guarantee. */
static int elf_parse(struct arena *a, const char *path, const unsigned char *m, size_t size,
                     struct elf *e, struct err *err)
{
    if (size < sizeof(Elf64_Ehdr) || memcmp(m, ELFMAG, SELFMAG) != 0)
        return err_set(err, ERR_INPUT, "'%s' is not an ELF file", path);
    if (m[EI_CLASS] != ELFCLASS64 || m[EI_DATA] != ELFDATA2LSB)
        return err_set(err, ERR_INPUT, "'%s' is not a 64-bit little-endian ELF file", path);
    Elf64_Ehdr eh;
    memcpy(&eh, m, sizeof(eh));
    e->machine = eh.e_machine;
    size_t phsz = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (!in_file(eh.e_phoff, phsz, size) || (eh.e_phnum && eh.e_phentsize != sizeof(Elf64_Phdr)))
        return corrupt(err, path, "program headers");
    Elf64_Phdr *ph = arena_alloc(a, phsz);
    memcpy(ph, m + eh.e_phoff, phsz);
    const Elf64_Phdr *dyn = NULL;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = &ph[i];
        if (ph[i].p_type == PT_INTERP &&
            !(in_file(ph[i].p_offset, ph[i].p_filesz, size) &&
              (e->interp = table_str(a, (const char *)m + ph[i].p_offset, ph[i].p_filesz, 0))))
            return corrupt(err, path, "PT_INTERP");
    }
    if (!dyn) /* statically linked: needs nothing */
        return 0;
    if (!in_file(dyn->p_offset, dyn->p_filesz, size))
        return corrupt(err, path, "PT_DYNAMIC outside the file");
    size_t ndyn = dyn->p_filesz / sizeof(Elf64_Dyn);
    Elf64_Dyn *d = arena_alloc(a, ndyn * sizeof(*d));
    memcpy(d, m + dyn->p_offset, ndyn * sizeof(*d));
    uint64_t strtab = UINT64_MAX, strsz = 0, rpath = UINT64_MAX, runpath = UINT64_MAX;
    uint64_t *needed = arena_alloc(a, ndyn * sizeof(*needed));
    for (size_t i = 0; i < ndyn && d[i].d_tag != DT_NULL; i++) {
        uint64_t v = d[i].d_un.d_val;
        switch (d[i].d_tag) {
        case DT_NEEDED:
            needed[e->nneeded++] = v;
            break;
        case DT_STRTAB:
            strtab = v;
            break;
        case DT_STRSZ:
            strsz = v;
            break;
        case DT_RPATH:
            rpath = v;
            break;
        case DT_RUNPATH:
            runpath = v;
            break;
        }
    }
    if (strtab == UINT64_MAX)
        return e->nneeded ? corrupt(err, path, "no DT_STRTAB") : 0;
    /* DT_STRTAB is an address: the PT_LOAD segment holding it maps it to a file offset. */
    uint64_t off = UINT64_MAX;
    for (size_t i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && strtab >= ph[i].p_vaddr &&
            strtab - ph[i].p_vaddr < ph[i].p_filesz)
            off = ph[i].p_offset + (strtab - ph[i].p_vaddr);
    if (off == UINT64_MAX || !in_file(off, strsz, size))
        return corrupt(err, path, "DT_STRTAB outside the file");
    const char *str = (const char *)m + off;
    e->needed = arena_alloc(a, e->nneeded * sizeof(*e->needed));
    for (size_t i = 0; i < e->nneeded; i++)
        if (!(e->needed[i] = table_str(a, str, strsz, needed[i])))
            return corrupt(err, path, "DT_NEEDED");
    if ((rpath != UINT64_MAX && !(e->rpath = table_str(a, str, strsz, rpath))) ||
        (runpath != UINT64_MAX && !(e->runpath = table_str(a, str, strsz, runpath))))
        return corrupt(err, path, "DT_RPATH or DT_RUNPATH");
    return 0;
}

/* Maps the file rather than reading it: libduckdb.so is 60 MB and only its headers matter. */
static int elf_read(struct arena *a, const char *path, struct elf *e, struct err *err)
{
    memset(e, 0, sizeof(*e));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot read '%s'", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return err_set(err, ERR_INPUT, "'%s' is not an ELF file", path);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return err_errno(err, ERR_IO, "cannot read '%s'", path);
    int rc = elf_parse(a, path, m, (size_t)st.st_size, e, err);
    munmap(m, (size_t)st.st_size);
    return rc;
}

/* ==== Resolution ==== */

/* One object of the closure; objs[0] is the binary. */
struct obj {
    const char *soname; /* as DT_NEEDED names it (the binary: its path) */
    const char *path;   /* where it was found, as the loader opens it; NULL when missing */
    int parent;         /* index of the object that needed it first; -1 for the binary */
    bool in_first;      /* found in closure.first */
    struct elf elf;
    const char *rpath, *runpath; /* $ORIGIN expanded; rpath NULL when runpath is set */
};

struct closure {
    struct arena *a;
    const char *first;     /* searched before anything else (pack_check: <dir>/lib), or NULL */
    const char *conf_dirs; /* of /etc/ld.so.conf.d, ':'-separated */
    const char *interp;    /* file name of the binary's PT_INTERP, or NULL */
    struct obj *objs;      /* owned (free()) */
    size_t nobjs, cap;
};

/* The directories named in /etc/ld.so.conf.d's *.conf files (what ldconfig puts in the cache,
 * which is a binary format not worth parsing); "include" and "hwcap" lines are ignored. */
static const char *conf_dirs(struct arena *a)
{
    struct strbuf sb = STRBUF_INIT;
    glob_t g;
    if (glob("/etc/ld.so.conf.d/*.conf", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct strbuf f = STRBUF_INIT;
            struct err ignored = ERR_INIT;
            char *save = NULL;
            if (files_read(g.gl_pathv[i], &f, &ignored) == 0 && f.len)
                for (char *l = strtok_r(f.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                    l[strcspn(l, "#")] = '\0';
                    l += strspn(l, " \t");
                    size_t n = strcspn(l, " \t\r");
                    if (n && strncmp(l, "include", n) && strncmp(l, "hwcap", n))
                        strbuf_addf(&sb, "%s%.*s", sb.len ? ":" : "", (int)n, l);
                }
            strbuf_release(&f);
        }
    }
    globfree(&g);
    return arena_take(a, &sb);
}

static const char *expand_origin(struct arena *a, const char *dirs, const char *origin)
{
    if (!dirs)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    for (const char *p = dirs; *p;) {
        size_t n = !strncmp(p, "$ORIGIN", 7) ? 7 : !strncmp(p, "${ORIGIN}", 9) ? 9 : 0;
        if (n)
            strbuf_adds(&sb, origin);
        else
            strbuf_addch(&sb, *p);
        p += n ? n : 1;
    }
    return arena_take(a, &sb);
}

/* path holds an ELF object for the binary's machine (the loader skips others, such as the 32-bit
 * libraries of /lib32): o takes it. */
static bool try_path(struct closure *c, const char *path, struct obj *o)
{
    struct err ignored = ERR_INIT;
    struct elf e;
    if (elf_read(c->a, path, &e, &ignored) != 0 || e.machine != c->objs[0].elf.machine)
        return false;
    o->path = path;
    o->elf = e;
    return true;
}

static bool search(struct closure *c, const char *dirs, struct obj *o)
{
    for (const char *p = dirs; p && *p;) {
        size_t n = strcspn(p, ":;");
        if (n && try_path(c, arena_printf(c->a, "%.*s/%s", (int)n, p, o->soname), o))
            return true;
        p += n + (p[n] != '\0');
    }
    return false;
}

/* The loader's order (ld.so(8)); o->path stays NULL when nothing matches. */
static void resolve(struct closure *c, struct obj *o)
{
    const struct obj *by = &c->objs[o->parent];
    if (strchr(o->soname, '/')) {
        try_path(c, o->soname, o);
        return;
    }
    if (c->first && try_path(c, arena_printf(c->a, "%s/%s", c->first, o->soname), o)) {
        o->in_first = true;
        return;
    }
    /* DT_RPATH of the needing object, then of whatever loaded it, up to the binary; all of it
     * is ignored when the needing object has a DT_RUNPATH. */
    for (int k = by->runpath ? -1 : o->parent; k >= 0; k = c->objs[k].parent)
        if (search(c, c->objs[k].rpath, o))
            return;
    if (search(c, getenv("LD_LIBRARY_PATH"), o) || search(c, by->runpath, o) ||
        search(c, c->conf_dirs, o))
        return;
    search(c, DEFAULT_DIRS, o);
}

static void add(struct closure *c, struct obj o)
{
    if (o.path) {
        char *dir = arena_strdup(c->a, o.path);
        const char *origin = dirname(dir);
        o.runpath = expand_origin(c->a, o.elf.runpath, origin);
        o.rpath = o.elf.runpath ? NULL : expand_origin(c->a, o.elf.rpath, origin);
    }
    XGROW(c->objs, c->cap, c->nobjs + 1);
    c->objs[c->nobjs++] = o;
}

static bool wanted(const struct closure *c, const char *soname)
{
    for (size_t i = 0; i < sizeof(GLIBC) / sizeof(GLIBC[0]); i++)
        if (strcmp(GLIBC[i], soname) == 0)
            return false;
    if (c->interp && strcmp(c->interp, soname) == 0)
        return false;
    for (size_t i = 1; i < c->nobjs; i++) /* the loader maps each soname once */
        if (strcmp(c->objs[i].soname, soname) == 0)
            return false;
    return true;
}

/* Breadth first, like the loader, so the first object to need a soname decides where it is
 * searched for. */
static int closure_build(struct closure *c, const char *binary, struct err *err)
{
    char *real = realpath(binary, NULL);
    if (!real)
        return err_errno(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot find '%s'", binary);
    struct obj bin = { .soname = arena_strdup(c->a, real), .parent = -1 };
    free(real);
    bin.path = bin.soname;
    if (elf_read(c->a, bin.path, &bin.elf, err) != 0)
        return -1;
    if (bin.elf.interp)
        c->interp =
            strrchr(bin.elf.interp, '/') ? strrchr(bin.elf.interp, '/') + 1 : bin.elf.interp;
    c->conf_dirs = conf_dirs(c->a);
    add(c, bin);
    for (size_t i = 0; i < c->nobjs; i++)
        for (size_t j = 0; j < c->objs[i].elf.nneeded; j++) {
            struct obj o = { .soname = c->objs[i].elf.needed[j], .parent = (int)i };
            if (!wanted(c, o.soname))
                continue;
            resolve(c, &o);
            add(c, o);
        }
    return 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int cmp_file(const void *x, const void *y)
{
    return strcmp(((const struct pack_file *)x)->name, ((const struct pack_file *)y)->name);
}

static const char *base_name(const char *s)
{
    return strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
}

/* ==== Plan and build ==== */

int pack_plan(struct arena *a, const char *binary, struct pack_info *info, struct err *err)
{
    memset(info, 0, sizeof(*info));
    struct closure c = { .a = a };
    if (closure_build(&c, binary ? binary : "/proc/self/exe", err) != 0) {
        free(c.objs);
        return -1;
    }
    info->files = arena_calloc(a, c.nobjs, sizeof(*info->files));
    info->libs = arena_calloc(a, c.nobjs, sizeof(*info->libs));
    info->missing = arena_calloc(a, c.nobjs, sizeof(*info->missing));
    const struct obj *first_missing = NULL;
    for (size_t i = 0; i < c.nobjs; i++) {
        const struct obj *o = &c.objs[i];
        if (!o->path) {
            first_missing = first_missing ? first_missing : o;
            info->missing[info->nmissing++] = o->soname;
            continue;
        }
        struct pack_file *f = &info->files[info->nfiles++];
        char *real = realpath(o->path, NULL);
        struct stat st;
        if (!real || stat(real, &st) != 0) {
            err_errno(err, ERR_IO, "cannot read '%s'", o->path);
            free(real);
            free(c.objs);
            return -1;
        }
        f->source = arena_strdup(a, real);
        free(real);
        f->size = (uint64_t)st.st_size;
        info->bytes += f->size;
        f->name = i ? arena_printf(a, "lib/%s", base_name(o->soname)) : "bin/osiris";
        if (i)
            info->libs[info->nlibs++] = f->name + 4;
    }
    qsort(info->files, info->nfiles, sizeof(*info->files), cmp_file);
    qsort(info->libs, info->nlibs, sizeof(*info->libs), cmp_str);
    qsort(info->missing, info->nmissing, sizeof(*info->missing), cmp_str);
    if (first_missing)
        err_set(err, ERR_NOTFOUND,
                "library '%s' needed by '%s' not found in its RPATH/RUNPATH, LD_LIBRARY_PATH, "
                "/etc/ld.so.conf.d or the default directories%s",
                first_missing->soname, c.objs[first_missing->parent].path,
                info->nmissing > 1
                    ? arena_printf(a, "; %zu libraries missing in all", info->nmissing)
                    : "");
    free(c.objs);
    return first_missing ? -1 : 0;
}

/* Copies the content of src (symbolic links followed) to the new file dst with exactly mode (not
 * masked by the umask: the worker needs bin/osiris executable); f gets the size and digest of
 * the bytes written. */
static int copy_file(const char *src, const char *dst, mode_t mode, struct pack_file *f,
                     struct err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_errno(err, ERR_IO, "cannot read '%s'", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        return err_errno(err, ERR_IO, "cannot write '%s'", dst);
    }
    struct fingerprint fp;
    fingerprint_init(&fp);
    char buf[65536];
    int rc = 0;
    f->size = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? err_errno(err, ERR_IO, "cannot read '%s'", src) : 0;
            break;
        }
        fingerprint_update(&fp, buf, (size_t)n);
        f->size += (uint64_t)n;
        if (files_write_all(out, buf, (size_t)n) != 0) {
            rc = err_errno(err, ERR_IO, "cannot write '%s'", dst);
            break;
        }
    }
    if ((fchmod(out, mode) != 0 || close(out) != 0) && rc == 0)
        rc = err_errno(err, ERR_IO, "cannot write '%s'", dst);
    close(in);
    fingerprint_hex(&fp, f->sha256);
    return rc;
}

static bool absent_or_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    struct dirent *de;
    while ((de = readdir(d)) && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")))
        ;
    closedir(d);
    return de == NULL;
}

int pack_build(struct arena *a, const char *binary, const char *dir, struct pack_info *info,
               struct err *err)
{
    if (pack_plan(a, binary, info, err) != 0)
        return -1;
    if (!absent_or_empty(dir))
        return err_set(err, ERR_CONFLICT, "pack directory '%s' exists and is not empty", dir);
    const char *tmp = arena_printf(a, "%s.tmp", dir);
    if (files_remove_tree(tmp, err) != 0 ||
        files_mkdirs(arena_printf(a, "%s/bin", tmp), NULL, err) != 0 ||
        files_mkdirs(arena_printf(a, "%s/lib", tmp), NULL, err) != 0)
        goto fail;
    info->bytes = 0;
    for (size_t i = 0; i < info->nfiles; i++) {
        struct pack_file *f = &info->files[i];
        mode_t mode = strcmp(f->name, "bin/osiris") == 0 ? 0755 : 0644;
        if (copy_file(f->source, arena_printf(a, "%s/%s", tmp, f->name), mode, f, err) != 0)
            goto fail;
        info->bytes += f->size;
    }
    /* The pack describes itself, so that a user of a cached pack needs no second hash of it. */
    struct strbuf m = STRBUF_INIT;
    pack_manifest(info, &m);
    fingerprint_of(m.buf, m.len, info->sha256);
    int wrc = files_write_atomic(arena_printf(a, "%s/MANIFEST", tmp), m.buf, m.len, 0644, err);
    strbuf_release(&m);
    if (wrc != 0)
        goto fail;
    /* Renaming over an empty directory is allowed; one that filled up meanwhile fails. */
    if (files_sync_fs(tmp, err) != 0)
        goto fail;
    if (rename(tmp, dir) != 0) {
        err_errno(err, ERR_IO, "cannot rename '%s' to '%s'", tmp, dir);
        goto fail;
    }
    return files_sync_dir(dirname(arena_strdup(a, dir)), err);
fail:;
    struct err ignored = ERR_INIT;
    files_remove_tree(tmp, &ignored);
    info->sha256[0] = '\0';
    return -1;
}

void pack_manifest(const struct pack_info *info, struct strbuf *out)
{
    for (size_t i = 0; i < info->nfiles; i++)
        strbuf_addf(out, "%s\t%" PRIu64 "\t%s\n", info->files[i].name, info->files[i].size,
                    info->files[i].sha256);
}

int pack_summary(const char *dir, size_t *files, uint64_t *bytes, char sha256[FINGERPRINT_HEX_LEN],
                 struct err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/MANIFEST", dir);
    struct strbuf m = STRBUF_INIT;
    if (files_read(path, &m, err) != 0) {
        strbuf_release(&m);
        return -1;
    }
    *files = 0;
    *bytes = 0;
    for (const char *line = m.buf; *line;) {
        const char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (!tab || !nl || tab > nl) {
            strbuf_release(&m);
            return err_set(err, ERR_INPUT, "%s: not a pack manifest", path);
        }
        (*files)++;
        *bytes += strtoull(tab + 1, NULL, 10);
        line = nl + 1;
    }
    fingerprint_of(m.buf, m.len, sha256);
    strbuf_release(&m);
    return 0;
}

void pack_listing(const struct pack_info *info, struct strbuf *out)
{
    for (size_t i = 0; i < info->nfiles; i++)
        strbuf_addf(out, "%s\t%" PRIu64 "\t%s\n", info->files[i].name, info->files[i].size,
                    info->files[i].source);
    strbuf_addf(out, "total\t%zu files\t%" PRIu64 " bytes\n", info->nfiles, info->bytes);
}

/* ==== Check ==== */

int pack_check(struct arena *a, const char *dir, struct pack_check *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    struct closure c = { .a = a, .first = arena_printf(a, "%s/lib", dir) };
    if (closure_build(&c, arena_printf(a, "%s/bin/osiris", dir), err) != 0) {
        free(c.objs);
        return -1;
    }
    out->required = arena_calloc(a, c.nobjs, sizeof(*out->required));
    out->present = arena_calloc(a, c.nobjs, sizeof(*out->present));
    out->missing = arena_calloc(a, c.nobjs, sizeof(*out->missing));
    for (size_t i = 1; i < c.nobjs; i++) {
        out->required[out->nrequired++] = c.objs[i].soname;
        if (c.objs[i].in_first)
            out->present[out->npresent++] = c.objs[i].soname;
        else
            out->missing[out->nmissing++] = c.objs[i].soname;
    }
    qsort(out->required, out->nrequired, sizeof(*out->required), cmp_str);
    qsort(out->present, out->npresent, sizeof(*out->present), cmp_str);
    qsort(out->missing, out->nmissing, sizeof(*out->missing), cmp_str);
    free(c.objs);
    return 0;
}
