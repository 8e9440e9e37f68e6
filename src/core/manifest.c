/* Manifest loading with shape checks. The compiler writes manifests in topological order; the
 * loader insists on it (a need must name an earlier step), since the runner runs steps in file
 * order. */
#include "manifest.h"
#include "fscontract.h"
#include "xalloc.h"
#include "yamlload.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool manifest_detect(const json_t *root)
{
    return json_is_object(root) && json_object_get(root, "pipeline") &&
           json_object_get(root, "steps") && json_object_get(root, "meta") &&
           !json_object_get(root, "oml_version");
}

void manifest_release(struct manifest *m)
{
    jdoc_release(&m->doc);
    arena_release(&m->arena);
    memset(m, 0, sizeof(*m));
}

static int bad(struct manifest *m, const char *pointer, struct err *err, const char *what)
{
    struct srcpos at = jdoc_locate(&m->doc, pointer, false);
    return err_at(err, ERR_INPUT, m->doc.file, at.line, at.col, "invalid manifest: %s", what);
}

/* A required string at pointer, or NULL after setting err. */
static const char *need_str(struct manifest *m, const char *pointer, struct err *err)
{
    const char *s = json_string_value(jv_pointer_get(m->doc.root, pointer));
    if (!s || !*s) {
        char what[256];
        snprintf(what, sizeof(what), "%s must be a non-empty string", pointer);
        bad(m, pointer, err, what);
        return NULL;
    }
    return arena_strdup(&m->arena, s);
}

static int load_step(struct manifest *m, size_t i, struct err *err)
{
    struct manifest_step *st = &m->steps[i];
    char p[96];
#define FIELD(dst, key)                                                                            \
    snprintf(p, sizeof(p), "/steps/%zu/" key, i);                                                  \
    if (!((dst) = need_str(m, p, err)))                                                            \
        return -1;
    FIELD(st->id, "id")
    if (!fscontract_is_segment(st->id)) /* ids name files and directories of the run */
        return bad(m, p, err, "a step id must be a name (letters, digits, '_', '.', '-')");
    FIELD(st->component, "component")
    FIELD(st->driver, "driver")
    const char *cfg;
    FIELD(cfg, "cfg_path")
#undef FIELD
    if (cfg[0] == '/' || strstr(cfg, ".."))
        return bad(m, p, err, "cfg_path must be a path inside the manifest's directory");
    st->cfg_path = arena_printf(&m->arena, "%s/%s", m->dir, cfg);
    for (size_t k = 0; k < i; k++)
        if (strcmp(m->steps[k].id, st->id) == 0) {
            snprintf(p, sizeof(p), "/steps/%zu/id", i);
            return bad(m, p, err, "duplicate step id");
        }
    snprintf(p, sizeof(p), "/steps/%zu/needs", i);
    const json_t *needs = jv_pointer_get(m->doc.root, p);
    if (needs && !json_is_array(needs))
        return bad(m, p, err, "needs must be a list");
    st->nneeds = json_array_size(needs);
    st->needs = arena_calloc(&m->arena, st->nneeds + 1, sizeof(*st->needs));
    for (size_t k = 0; k < st->nneeds; k++) {
        const char *dep = json_string_value(json_array_get(needs, k));
        bool earlier = false;
        for (size_t j = 0; dep && j < i && !earlier; j++)
            earlier = strcmp(m->steps[j].id, dep) == 0;
        if (!earlier) {
            snprintf(p, sizeof(p), "/steps/%zu/needs/%zu", i, k);
            return bad(m, p, err, "a need must name an earlier step");
        }
        st->needs[k] = arena_strdup(&m->arena, dep);
    }
    return 0;
}

int manifest_load(struct manifest *m, const char *path, struct err *err)
{
    memset(m, 0, sizeof(*m));
    arena_init(&m->arena);
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        err_errno(err, ERR_INPUT, "cannot read manifest '%s'", path);
        goto fail;
    }
    if (yamlload_file(&m->doc, abs, err) != 0) {
        err->code = ERR_INPUT;
        goto fail;
    }
    m->path = arena_strdup(&m->arena, abs);
    m->dir = arena_strdup(&m->arena, abs);
    *strrchr((char *)m->dir, '/') = '\0';
    if (!manifest_detect(m->doc.root)) {
        bad(m, "", err, "expected the top-level keys pipeline, steps and meta (is this OML?)");
        goto fail;
    }
    if (!(m->pipeline_id = need_str(m, "/pipeline/id", err)) ||
        !(m->manifest_hash = need_str(m, "/meta/manifest_hash", err)) ||
        !(m->manifest_short = need_str(m, "/meta/manifest_short", err)))
        goto fail;
    const char *s = json_string_value(jv_pointer_get(m->doc.root, "/meta/profile"));
    m->profile = s ? arena_strdup(&m->arena, s) : NULL;
    /* These name the run's directory: a hand-edited "../x" must not lead out of run_logs. */
    const char *const names[][2] = { { "/pipeline/id", m->pipeline_id },
                                     { "/meta/manifest_short", m->manifest_short },
                                     { "/meta/profile", m->profile } };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (names[i][1] && !fscontract_is_segment(names[i][1])) {
            bad(m, names[i][0], err,
                arena_printf(&m->arena, "%s must be a name (letters, digits, '_', '.', '-')",
                             names[i][0]));
            goto fail;
        }
    s = json_string_value(jv_pointer_get(m->doc.root, "/name"));
    m->name = s ? arena_strdup(&m->arena, s) : NULL;
    s = json_string_value(jv_pointer_get(m->doc.root, "/meta/oml_version"));
    m->oml_version = s ? arena_strdup(&m->arena, s) : NULL;
    const json_t *steps = json_object_get(m->doc.root, "steps");
    if (!json_is_array(steps) || !json_array_size(steps)) {
        bad(m, "/steps", err, "steps must be a non-empty list");
        goto fail;
    }
    m->nsteps = json_array_size(steps);
    m->steps = arena_calloc(&m->arena, m->nsteps, sizeof(*m->steps));
    for (size_t i = 0; i < m->nsteps; i++)
        if (load_step(m, i, err) != 0)
            goto fail;
    return 0;
fail:
    manifest_release(m);
    return -1;
}
