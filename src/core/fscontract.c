/* The filesystem contract: slugs, naming templates, build and run directories, run timestamps
 * and the three-line pointer files (latest/<slug>.txt, last_compile.txt, LATEST). The rules are
 * the original's (TokenRenderer, slugify_token), so paths stay where its users expect them. */
#include "fscontract.h"
#include "files.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== Slugs and templates ==== */

char *fscontract_slugify(struct arena *a, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *out = arena_alloc(a, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = tolower((unsigned char)s[i]);
        if (c == ' ' || c == '_')
            c = '-';
        bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!keep || (c == '-' && (o == 0 || out[o - 1] == '-')))
            continue; /* dropped, a leading '-' or the second of a run */
        out[o++] = (char)c;
    }
    while (o > 0 && out[o - 1] == '-')
        o--;
    out[o] = '\0';
    return out;
}

static const char *token_value(const struct fs_token *tokens, size_t n, const char *name,
                               size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(tokens[i].name) == len && memcmp(tokens[i].name, name, len) == 0)
            return tokens[i].value;
    return NULL;
}

static bool is_sep(char c)
{
    return c == '/' || c == '-' || c == '_';
}

char *fscontract_render(struct arena *a, const char *tmpl, const struct fs_token *tokens,
                        size_t ntokens)
{
    struct strbuf sb = STRBUF_INIT;
    const char *p = tmpl;
    while (*p) {
        const char *close = p[0] == '{' ? strchr(p + 1, '}') : NULL;
        if (close && close > p + 1) {
            const char *v = token_value(tokens, ntokens, p + 1, (size_t)(close - p - 1));
            if (v)
                strbuf_adds(&sb, fscontract_slugify(a, v));
            p = close + 1;
        } else {
            strbuf_addch(&sb, *p++);
        }
    }
    /* Collapse runs of one separator ("//" → "/", "--" → "-", "__" → "_"), then strip all
     * three from both ends. A mixed run such as "/_" is kept, as the original does. */
    const char *s = strbuf_str(&sb);
    char *out = arena_alloc(a, sb.len + 1);
    size_t o = 0;
    for (size_t i = 0; i < sb.len; i++) {
        if (is_sep(s[i]) && o > 0 && out[o - 1] == s[i])
            continue;
        out[o++] = s[i];
    }
    out[o] = '\0';
    size_t start = 0;
    while (start < o && is_sep(out[start]))
        start++;
    while (o > start && is_sep(out[o - 1]))
        o--;
    out[o] = '\0';
    strbuf_release(&sb);
    return out + start;
}

/* ==== Directories ==== */

/* <root>/[<profile>/]<rendered>, with no empty segments. */
static char *under(struct project_config *cfg, const char *root, const char *profile,
                   const char *rendered)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, root);
    if (cfg->profiles_enabled && profile && *profile)
        strbuf_addf(&sb, "/%s", profile);
    if (*rendered)
        strbuf_addf(&sb, "/%s", rendered);
    char *s = arena_take(&cfg->arena, &sb);
    return s;
}

char *fscontract_build_dir(struct project_config *cfg, const char *slug, const char *profile,
                           const char *manifest_hash, const char *manifest_short)
{
    const struct fs_token tokens[] = {
        { "pipeline_slug", slug },
        { "profile", profile },
        { "manifest_hash", manifest_hash },
        { "manifest_short", manifest_short },
    };
    const char *root =
        arena_printf(&cfg->arena, "%s/pipelines", projconfig_path(cfg, cfg->build_dir));
    return under(cfg, root, profile,
                 fscontract_render(&cfg->arena, cfg->naming.manifest_dir, tokens, 4));
}

char *fscontract_run_dir(struct project_config *cfg, const char *slug, const char *profile,
                         const char *run_id, const char *run_ts, const char *manifest_short)
{
    const struct fs_token tokens[] = {
        { "pipeline_slug", slug },
        { "profile", profile },
        { "run_id", run_id },
        { "run_ts", run_ts },
        { "manifest_short", manifest_short },
    };
    return under(cfg, projconfig_path(cfg, cfg->run_logs_dir), profile,
                 fscontract_render(&cfg->arena, cfg->naming.run_dir, tokens, 5));
}

char *fscontract_aiop_dir(struct project_config *cfg, const char *slug, const char *profile,
                          const char *manifest_hash, const char *manifest_short, const char *run_id)
{
    const struct fs_token tokens[] = {
        { "pipeline_slug", slug },
        { "profile", profile },
        { "manifest_hash", manifest_hash },
        { "manifest_short", manifest_short },
    };
    const struct fs_token run[] = { { "run_id", run_id } };
    const char *manifest_dir = fscontract_render(&cfg->arena, cfg->naming.manifest_dir, tokens, 4);
    return under(cfg, projconfig_path(cfg, cfg->aiop_dir), profile,
                 arena_printf(&cfg->arena, "%s/%s", manifest_dir,
                              fscontract_render(&cfg->arena, cfg->naming.aiop_run_dir, run, 1)));
}

/* ==== Run timestamps ==== */

char *fscontract_run_ts(struct arena *a, const char *format, uint64_t ms)
{
    static const char iso_basic[] = "%Y%m%dT%H%M%SZ";
    if (strcmp(format, "epoch_ms") == 0)
        return arena_printf(a, "%" PRIu64, ms);
    if (strcmp(format, "none") == 0)
        return arena_strdup(a, "");
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[256];
    const char *fmt = strcmp(format, "iso_basic_z") == 0 ? iso_basic : format;
    size_t n = *fmt ? strftime(buf, sizeof(buf), fmt, &tm) : 0;
    /* strftime gives 0 for output that does not fit; fall back like the original does. */
    if (n == 0)
        n = strftime(buf, sizeof(buf), iso_basic, &tm);
    return arena_strndup(a, buf, n);
}

/* ==== Pointer files ==== */

int fscontract_write_pointer(const char *path, const char *manifest_path, const char *hash,
                             const char *profile, struct err *err)
{
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char *dir = xstrndup(path, (size_t)(slash - path));
        int rc = files_mkdirs(dir, NULL, err);
        free(dir);
        if (rc != 0)
            return -1;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s\n%s\n%s\n", manifest_path, hash, profile ? profile : "");
    int rc = files_write_atomic(path, sb.buf, sb.len, 0644, err);
    strbuf_release(&sb);
    return rc;
}

int fscontract_read_pointer(const char *path, struct strbuf *out, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    if (!files_exists(path)) {
        strbuf_release(&sb);
        return err_set(err, ERR_NOTFOUND, "pointer file '%s' does not exist", path);
    }
    if (files_read(path, &sb, err) != 0) {
        strbuf_release(&sb);
        return -1;
    }
    size_t n = strcspn(strbuf_str(&sb), "\r\n");
    if (n == 0) {
        strbuf_release(&sb);
        return err_set(err, ERR_NOTFOUND, "pointer file '%s' is empty", path);
    }
    strbuf_reset(out);
    strbuf_add(out, sb.buf, n);
    strbuf_release(&sb);
    return 0;
}

bool fscontract_is_segment(const char *s)
{
    if (!*s || *s == '.' || *s == '-')
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}
