/* The pack: everything a remote worker needs so that nothing can be missing there (DESIGN §7).
 *
 *   <dir>/bin/osiris        a copy of the binary (mode 0755)
 *   <dir>/lib/<soname>      its DT_NEEDED closure minus the C library (mode 0644), each file named
 *                           by the soname that needs it, so LD_LIBRARY_PATH=<dir>/lib finds it
 *   <dir>/MANIFEST          pack_manifest()'s lines for the files above
 *
 * Dependencies are read from the ELF files themselves (64-bit little-endian, PT_DYNAMIC), never by
 * running ldd or the binary, and resolved the way the dynamic loader does: DT_RPATH of the loader
 * chain (when the needing object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH ($ORIGIN
 * expanded), the directories listed in /etc/ld.so.conf.d, then the default directories.
 *
 * Everything a function returns through its out-structure lives in the arena a it was given and
 * stays valid until arena_release(a). */
#ifndef OSIRIS_PACK_H
#define OSIRIS_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "fingerprint.h"
#include "strbuf.h"

struct pack_file {
    const char *name;                 /* path inside the pack: "bin/osiris", "lib/libpq.so.5" */
    const char *source;               /* the host file copied (symbolic links resolved) */
    uint64_t size;                    /* bytes */
    char sha256[FINGERPRINT_HEX_LEN]; /* of the content; "" from pack_plan() */
};

struct pack_info {
    struct pack_file *files; /* bin/osiris first, then lib/ sorted by name */
    size_t nfiles;
    uint64_t bytes;                   /* sum of the sizes */
    char sha256[FINGERPRINT_HEX_LEN]; /* of pack_manifest(); "" from pack_plan() */
    const char **libs;                /* sonames shipped, sorted */
    size_t nlibs;
    const char **missing; /* sonames found nowhere, sorted; a pack is never built with any */
    size_t nmissing;
};

/* What would be shipped for binary (NULL: the running binary, /proc/self/exe), without copying:
 * names, sources and sizes. A binary that is not a 64-bit little-endian ELF file is ERR_INPUT; a
 * library that cannot be found is ERR_NOTFOUND naming it and the object that needs it (info is
 * filled all the same, with every missing soname). */
int pack_plan(struct arena *a, const char *binary, struct pack_info *info, struct err *err);

/* pack_plan(), then builds the pack in <dir>.tmp and renames it to dir, which must not exist or
 * be an empty directory (else ERR_CONFLICT); on failure nothing is left behind. info also gets
 * the content digests and the manifest digest. */
int pack_build(struct arena *a, const char *binary, const char *dir, struct pack_info *info,
               struct err *err);

/* Appends the canonical manifest: one "name\tsize\tsha256\n" line per file, sorted by name.
 * Its SHA-256 is info->sha256 (the pack_uploaded event's digest). */
void pack_manifest(const struct pack_info *info, struct strbuf *out);

/* The pack in dir as pack_build() described it in <dir>/MANIFEST (pack_manifest()'s lines): its
 * file count, bytes and SHA-256 (info->sha256 of the build), without reading the files again.
 * An error when there is no MANIFEST or it is damaged. */
int pack_summary(const char *dir, size_t *files, uint64_t *bytes, char sha256[FINGERPRINT_HEX_LEN],
                 struct err *err);

/* Appends a listing for people (`--dry-run --remote`): "name\tsize\tsource\n" per file, then a
 * "total\t<files> files\t<bytes> bytes\n" line. */
void pack_listing(const struct pack_info *info, struct strbuf *out);

/* The dependency_check event of an existing pack. Each list is sorted. */
struct pack_check {
    const char **required; /* the closure of bin/osiris minus the C library */
    size_t nrequired;
    const char **present; /* required and loadable from <dir>/lib */
    size_t npresent;
    const char **missing; /* required and absent from <dir>/lib (or not a loadable ELF object) */
    size_t nmissing;
};

/* Computes out for the pack in dir, resolving every soname against <dir>/lib first (the worker
 * runs with LD_LIBRARY_PATH=<dir>/lib) and then as the loader would, so that the dependencies of
 * a library missing from the pack still count as required when the host has it. Missing
 * libraries are not an error here (the caller refuses to start the worker and names them); an
 * unreadable or non-ELF <dir>/bin/osiris is. */
int pack_check(struct arena *a, const char *dir, struct pack_check *out, struct err *err);

#endif
