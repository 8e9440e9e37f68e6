/* Options, paths and atomic output files for the filesystem.* drivers. The temporary file lives
 * in the target's directory so the final rename never crosses a file system, and an arena
 * cleanup removes it on every path that does not publish it. */
#include "fsdriver.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Options ==== */

static const json_t *opt_get(const json_t *config, const char *key)
{
    const json_t *v = json_object_get(config, key);
    return json_is_null(v) ? NULL : v;
}

int fsdriver_opt_string(const json_t *config, const char *key, const char *def, const char **out,
                        struct err *err)
{
    const json_t *v = opt_get(config, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, ERR_INPUT, "option '%s' must be a string, not %s", key,
                       jv_type_name(v));
    *out = json_string_value(v);
    return 0;
}

int fsdriver_opt_bool(const json_t *config, const char *key, bool def, bool *out, struct err *err)
{
    const json_t *v = opt_get(config, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return err_set(err, ERR_INPUT, "option '%s' must be true or false, not %s", key,
                       jv_type_name(v));
    *out = json_is_true(v);
    return 0;
}

int fsdriver_opt_int(const json_t *config, const char *key, int64_t def, int64_t min, int64_t *out,
                     struct err *err)
{
    const json_t *v = opt_get(config, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return err_set(err, ERR_INPUT, "option '%s' must be an integer, not %s", key,
                       jv_type_name(v));
    if (json_integer_value(v) < min)
        return err_set(err, ERR_INPUT, "option '%s' must be at least %lld, not %lld", key,
                       (long long)min, (long long)json_integer_value(v));
    *out = json_integer_value(v);
    return 0;
}

int fsdriver_opt_enum(const json_t *config, const char *key, const char *const *allowed, size_t def,
                      size_t *index, struct err *err)
{
    const char *s;
    if (fsdriver_opt_string(config, key, NULL, &s, err) != 0)
        return -1;
    if (!s) {
        *index = def;
        return 0;
    }
    struct strbuf names = STRBUF_INIT;
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(allowed[i], s) == 0) {
            *index = i;
            strbuf_release(&names);
            return 0;
        }
        strbuf_addf(&names, "%s%s", i ? ", " : "", allowed[i]);
    }
    err_set(err, ERR_INPUT, "option '%s' must be one of %s, not '%s'", key, strbuf_str(&names), s);
    strbuf_release(&names);
    return -1;
}

/* ==== Paths ==== */

char *fsdriver_resolve(struct arena *a, const char *path, const char *base, struct err *err)
{
    const char *expanded = files_expand_tilde(a, path);
    if (!expanded) {
        /* Not a relative directory named "~bob": that would be created by create_dirs. */
        err_set(err, ERR_INPUT, "cannot expand '%s': no such user (or no home directory)", path);
        return NULL;
    }
    if (expanded != path)
        return arena_strdup(a, expanded);
    if (path[0] == '/')
        return arena_strdup(a, path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char cwd[4096];
    if (!base || !*base || strcmp(base, ".") == 0)
        base = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/')
        n--;
    if (!*path || strcmp(path, ".") == 0)
        return arena_strndup(a, base, n);
    return arena_printf(a, "%.*s/%s", (int)n, base, path);
}

/* ==== Writers ==== */

/* The one input a writer writes, or an error naming `needs` when the step has none or several. */
int fsdriver_single_input(const struct driver_ctx *ctx, const struct step_input **in,
                          struct err *err)
{
    if (ctx->ninputs == 1) {
        *in = &ctx->inputs[0];
        return 0;
    }
    if (ctx->ninputs == 0)
        return err_set(err, ERR_INPUT,
                       "a writer needs exactly one input, but the step's 'needs' is empty: list "
                       "the step whose output it writes");
    struct strbuf ids = STRBUF_INIT;
    for (size_t i = 0; i < ctx->ninputs; i++)
        strbuf_addf(&ids, "%s'%s'", i ? ", " : "", ctx->inputs[i].step_id);
    err_set(err, ERR_INPUT,
            "a writer needs exactly one input, but the step's 'needs' lists %zu (%s): combine "
            "them in a duckdb.processor step first",
            ctx->ninputs, strbuf_str(&ids));
    strbuf_release(&ids);
    return -1;
}

int fsdriver_target(struct driver_ctx *ctx, struct fsdriver_target *t, struct err *err)
{
    const char *path;
    if (fsdriver_single_input(ctx, &t->in, err) != 0 ||
        fsdriver_opt_string(ctx->config, "path", NULL, &path, err) != 0 ||
        fsdriver_opt_bool(ctx->config, "create_dirs", true, &t->create_dirs, err) != 0)
        return -1;
    if (!path || !*path)
        return err_set(err, ERR_INPUT, "'path' is required");
    t->path = fsdriver_resolve(ctx->arena, path, ctx->base_path, err);
    return t->path ? 0 : -1;
}

int fsdriver_write_failed(struct err *err, const char *format, const char *path)
{
    if (strstr(err->msg, path))
        err_prefix(err, "%s write failed: ", format);
    else
        err_prefix(err, "%s write to '%s' failed: ", format, path);
    return -1;
}

static void out_cleanup(void *data)
{
    fsdriver_out_abort(data);
}

struct fsdriver_out *fsdriver_out_begin(struct arena *a, const char *path, bool create_dirs,
                                        struct err *err)
{
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    if (!slash || n == 0 || path[n - 1] == '/') {
        err_set(err, ERR_INPUT, "output path '%s' names a directory, not a file", path);
        return NULL;
    }
    char *dir =
        slash == path ? arena_strdup(a, "/") : arena_strndup(a, path, (size_t)(slash - path));
    if (create_dirs) {
        if (files_mkdirs(dir, NULL, err) != 0)
            return NULL;
    } else if (!files_is_dir(dir)) {
        err_set(err, ERR_IO, "directory '%s' does not exist (create_dirs is false)", dir);
        return NULL;
    }
    /* A new file gets what open(2) would give it; mkostemp() creates it 0600. umask() can only
     * be read by setting it, and nothing else in the process creates files meanwhile. */
    mode_t mask = umask(077);
    umask(mask);
    mode_t mode = 0666 & ~mask;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            err_set(err, ERR_IO, "'%s' is a directory", path);
            return NULL;
        }
        mode = st.st_mode & 0777; /* the target's permissions, never its set-id bits */
    } else if (errno != ENOENT) {
        err_errno(err, ERR_IO, "cannot write '%s'", path);
        return NULL;
    }
    struct fsdriver_out *o = arena_calloc(a, 1, sizeof(*o));
    o->path = arena_strdup(a, path);
    o->dir = dir;
    o->mode = mode;
    o->tmp = arena_printf(a, "%s/.%s.tmp-XXXXXX", dir, slash + 1);
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0) {
        err_errno(err, ERR_IO, "cannot create a temporary file in '%s'", dir);
        o->published = true; /* nothing to remove */
        return NULL;
    }
    arena_on_release(a, out_cleanup, o);
    return o;
}

int fsdriver_out_write(struct fsdriver_out *o, const void *buf, size_t len, struct err *err)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(o->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return err_errno(err, ERR_IO, "cannot write '%s'", o->path);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void fsdriver_out_close_fd(struct fsdriver_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}

int fsdriver_out_commit(struct fsdriver_out *o, int64_t *bytes, struct err *err)
{
    int fd = o->fd >= 0 ? o->fd : open(o->tmp, O_RDONLY | O_CLOEXEC);
    o->fd = -1;
    struct stat st;
    /* fsync before rename: after a crash the name holds either the old or the new bytes. */
    if (fd < 0 || fchmod(fd, o->mode) != 0 || fsync(fd) != 0 || fstat(fd, &st) != 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", o->path);
        if (fd >= 0)
            close(fd);
        fsdriver_out_abort(o);
        return -1;
    }
    if (close(fd) != 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", o->path);
        fsdriver_out_abort(o);
        return -1;
    }
    if (rename(o->tmp, o->path) != 0) {
        err_errno(err, ERR_IO, "cannot rename the temporary file to '%s'", o->path);
        fsdriver_out_abort(o);
        return -1;
    }
    o->published = true;
    /* The file is complete and in place; a failed directory sync only weakens durability. */
    files_sync_dir(o->dir, NULL);
    if (bytes)
        *bytes = (int64_t)st.st_size;
    return 0;
}

void fsdriver_out_abort(struct fsdriver_out *o)
{
    fsdriver_out_close_fd(o);
    if (!o->published)
        unlink(o->tmp);
    o->published = true;
}

/* ==== Writers built on DuckDB's COPY ==== */

int fsdriver_copy_to(struct driver_ctx *ctx, const char *select, const char *copy_options,
                     const char *path, bool create_dirs, struct err *err)
{
    struct arena *a = ctx->arena;
    struct fsdriver_out *o = fsdriver_out_begin(a, path, create_dirs, err);
    if (!o)
        return -1;
    /* DuckDB opens the temporary file itself; USE_TMP_FILE false stops it from adding a
     * temporary file of its own next to ours. */
    fsdriver_out_close_fd(o);
    const char *sql = arena_printf(a, "COPY (%s) TO %s (%s, USE_TMP_FILE false)", select,
                                   dataplane_literal(a, o->tmp), copy_options);
    int64_t rows = 0;
    if (dataplane_exec(ctx->dp, sql, err) != 0 ||
        dataplane_count(ctx->dp, arena_printf(a, "(%s)", select), &rows, err) != 0 ||
        fsdriver_out_commit(o, &ctx->bytes_written, err) != 0) {
        fsdriver_out_abort(o);
        return -1;
    }
    ctx->rows_in = rows;
    ctx->rows_out = rows;
    return 0;
}
