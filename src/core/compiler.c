/* The compiler: validated, parameter-resolved OML in; manifest, step configs, fingerprints and
 * pointer files out. Nothing is written unless everything validated. */
#include "compiler.h"
#include "dag.h"
#include "files.h"
#include "fingerprint.h"
#include "fscontract.h"
#include "oml.h"
#include "params.h"
#include "xalloc.h"
#include "yamlload.h"
#include "yamlwrite.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMPILER_ID "osiris-compiler/" OSIRIS_VERSION
#define REGISTRY_ID "osiris-registry/" OSIRIS_VERSION

void compile_result_release(struct compile_result *res)
{
    diags_release(&res->diags);
    json_decref(res->sensitive);
    arena_release(&res->arena);
    memset(res, 0, sizeof(*res));
}

/* "sha256:<hex>" of the canonical JSON of v. */
static json_t *fingerprint_json(const json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    jv_canonical(v, &sb);
    char hex[FINGERPRINT_HEX_LEN];
    fingerprint_of(sb.buf, sb.len, hex);
    strbuf_release(&sb);
    return json_sprintf("sha256:%s", hex);
}

/* The step's cfg: component, mode, its config without secrets, and the spec defaults of absent
 * keys except `mode` and fields a connection supplies (host, port, ... belong to the
 * connection, not to the pipeline). */
static json_t *step_cfg(const json_t *step, const struct component *c)
{
    const json_t *spec = c->doc.root;
    json_t *cfg = json_object();
    json_object_set_new(cfg, "component", json_string(c->name));
    json_object_set_new(
        cfg, "mode",
        json_string(oml_component_mode(json_string_value(json_object_get(step, "mode")))));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get((json_t *)step, "config"), key, v)
    {
        if (!oml_secret_key(spec, key))
            json_object_set_new(cfg, key, json_deep_copy(v));
    }
    json_object_foreach(json_object_get(json_object_get(spec, "configSchema"), "properties"), key,
                        v)
    {
        json_t *def = json_object_get(v, "default");
        if (def && !json_object_get(cfg, key) && strcmp(key, "mode") != 0 &&
            !oml_connection_policy(spec, key) && !oml_secret_key(spec, key))
            json_object_set_new(cfg, key, json_deep_copy(def));
    }
    return cfg;
}

/* Declaration indices in topological order (the OML validated, so there is no cycle). */
static size_t *step_order(const json_t *steps)
{
    size_t n = json_array_size(steps);
    json_t *index = json_object(); /* id → declaration index */
    for (size_t i = 0; i < n; i++)
        json_object_set_new(index,
                            json_string_value(json_object_get(json_array_get(steps, i), "id")),
                            json_integer((json_int_t)i));
    struct dag_edge *edges = NULL;
    size_t nedges = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        json_t *need;
        json_array_foreach(json_object_get(json_array_get(steps, i), "needs"), j, need)
        {
            XGROW(edges, cap, nedges + 1);
            edges[nedges++] = (struct dag_edge){
                (size_t)json_integer_value(json_object_get(index, json_string_value(need))), i
            };
        }
    }
    json_decref(index);
    size_t *order = xmalloc((n + 1) * sizeof(*order));
    size_t *cycle = xmalloc((n + 1) * sizeof(*cycle));
    size_t ncycle;
    dag_order(n, edges, nedges, order, cycle, &ncycle);
    free(edges);
    free(cycle);
    return order;
}

/* ==== Writing ==== */

struct output {
    json_t *manifest;
    json_t *cfgs;         /* step id → cfg */
    json_t *fingerprints; /* pipeline.fingerprints */
    const struct project_config *cfg;
};

/* The build directory's files, rendered in memory first so they can be compared with an
 * earlier build before anything is written. */
struct outfile {
    char *name;         /* relative path, e.g. "cfg/load.json"; owned */
    struct strbuf data; /* the exact bytes */
};

struct fileset {
    struct outfile *items; /* owned */
    size_t len, cap;
};

static struct strbuf *add_file(struct fileset *fs, const char *name)
{
    XGROW(fs->items, fs->cap, fs->len + 1);
    struct outfile *f = &fs->items[fs->len++];
    f->name = xstrdup(name);
    strbuf_init(&f->data, 0);
    return &f->data;
}

static void add_json(struct fileset *fs, const char *name, json_t *v, bool pretty)
{
    struct strbuf *sb = add_file(fs, name);
    if (pretty) {
        jv_dump(v, sb, JV_PRETTY | JV_SORT);
        strbuf_addch(sb, '\n');
    } else {
        jv_canonical(v, sb); /* cfg files: canonical, no newline, as the original writes them */
    }
    json_decref(v);
}

static void fileset_release(struct fileset *fs)
{
    for (size_t i = 0; i < fs->len; i++) {
        free(fs->items[i].name);
        strbuf_release(&fs->items[i].data);
    }
    free(fs->items);
}

static void render(const struct output *out, struct fileset *fs)
{
    const char *id;
    json_t *v;
    json_object_foreach(out->cfgs, id, v)
    {
        char name[PATH_MAX];
        snprintf(name, sizeof(name), "cfg/%s.json", id);
        add_json(fs, name, json_incref(v), false);
    }
    struct strbuf *m = add_file(fs, "manifest.yaml");
    strbuf_adds(m, "---\n");
    yamlwrite(out->manifest, m, YAMLWRITE_SORT);
    strbuf_adds(m, "...\n");
    const json_t *meta = json_object_get(out->manifest, "meta");
    if (out->cfg->artifacts.plan) {
        json_t *steps = json_array();
        size_t i;
        json_t *st;
        json_array_foreach(json_object_get(out->manifest, "steps"), i, st)
        {
            json_array_append_new(steps,
                                  json_pack("{s:O, s:O}", "driver", json_object_get(st, "driver"),
                                            "id", json_object_get(st, "id")));
        }
        add_json(fs, "plan.json", json_pack("{s:o}", "steps", steps), true);
    }
    if (out->cfg->artifacts.fingerprints)
        add_json(fs, "fingerprints.json", json_pack("{s:O}", "fingerprints", out->fingerprints),
                 true);
    if (out->cfg->artifacts.run_summary)
        /* The original's compiled_at is left out: the build directory is byte-identical for
         * identical inputs. */
        add_json(fs, "run_summary.json",
                 json_pack("{s:O, s:O, s:O, s:O, s:O}", "manifest_hash",
                           json_object_get(meta, "manifest_hash"), "manifest_short",
                           json_object_get(meta, "manifest_short"), "oml_version",
                           json_object_get(meta, "oml_version"), "pipeline_slug",
                           json_object_get(json_object_get(out->manifest, "pipeline"), "id"),
                           "profile", json_object_get(meta, "profile")),
                 true);
}

static int write_set(const char *dir, const struct fileset *fs, struct err *err)
{
    struct strbuf path = STRBUF_INIT;
    strbuf_addf(&path, "%s/cfg", dir);
    int rc = files_mkdirs(strbuf_str(&path), NULL, err);
    for (size_t i = 0; rc == 0 && i < fs->len; i++) {
        strbuf_reset(&path);
        strbuf_addf(&path, "%s/%s", dir, fs->items[i].name);
        rc =
            files_write(strbuf_str(&path), fs->items[i].data.buf, fs->items[i].data.len, 0644, err);
    }
    strbuf_release(&path);
    return rc;
}

static size_t count_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += de->d_type == DT_REG;
    if (d)
        closedir(d);
    return n;
}

/* True when dir holds exactly these files with exactly these bytes. */
static bool same_set(const char *dir, const struct fileset *fs)
{
    struct strbuf path = STRBUF_INIT, have = STRBUF_INIT;
    size_t cfgs = 0;
    bool same = true;
    for (size_t i = 0; same && i < fs->len; i++) {
        struct err ignored = ERR_INIT;
        strbuf_reset(&path);
        strbuf_reset(&have);
        strbuf_addf(&path, "%s/%s", dir, fs->items[i].name);
        cfgs += strncmp(fs->items[i].name, "cfg/", 4) == 0;
        same = files_read(strbuf_str(&path), &have, &ignored) == 0 &&
               have.len == fs->items[i].data.len &&
               memcmp(strbuf_str(&have), strbuf_str(&fs->items[i].data), have.len) == 0;
    }
    if (same) {
        strbuf_reset(&path);
        strbuf_addf(&path, "%s/cfg", dir);
        same = count_files(strbuf_str(&path)) == cfgs && count_files(dir) == fs->len - cfgs;
    }
    strbuf_release(&path);
    strbuf_release(&have);
    return same;
}

/* Publishes the build directory atomically: everything is written into a sibling temporary
 * directory, synced once, and renamed into place. An earlier build of the same hash that is
 * already byte-identical is left alone, so recompiling an unchanged pipeline writes nothing. */
static int publish(const char *dir, const struct fileset *fs, struct err *err)
{
    if (same_set(dir, fs))
        return 0;
    char tmp[PATH_MAX], old[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dir, (long)getpid());
    snprintf(old, sizeof(old), "%s.old-%ld", dir, (long)getpid());
    if (files_remove_tree(tmp, err) != 0 || files_mkdirs(tmp, NULL, err) != 0)
        return -1;
    if (write_set(tmp, fs, err) != 0 || files_sync_fs(tmp, err) != 0)
        goto fail;
    bool replace = files_exists(dir);
    if (replace && rename(dir, old) != 0) {
        err_errno(err, ERR_IO, "cannot replace '%s'", dir);
        goto fail;
    }
    if (rename(tmp, dir) != 0) {
        err_errno(err, ERR_IO, "cannot create '%s'", dir);
        if (replace)
            rename(old, dir);
        goto fail;
    }
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';
    if (files_sync_dir(parent, err) != 0)
        return -1;
    return replace ? files_remove_tree(old, err) : 0;
fail:
    files_remove_tree(tmp, NULL);
    return -1;
}

/* A path for pointer files: relative to the project root when inside it, so a moved checkout
 * keeps working. */
static const char *pointer_path(struct arena *a, const struct project_config *cfg, const char *path)
{
    size_t n = strlen(cfg->base_path);
    if (strncmp(path, cfg->base_path, n) == 0 && path[n] == '/')
        return arena_strdup(a, path + n + 1);
    return arena_strdup(a, path);
}

static int write_pointers(struct project_config *cfg, const struct compile_result *res, bool latest,
                          struct err *err)
{
    struct arena a = ARENA_INIT;
    const char *mpath = pointer_path(&a, cfg, res->manifest_path);
    const char *index = projconfig_path(cfg, cfg->index_dir);
    int rc = 0;
    if (latest) {
        char *parent = arena_strdup(&a, res->build_dir);
        *strrchr(parent, '/') = '\0';
        rc = fscontract_write_pointer(arena_printf(&a, "%s/LATEST", parent), mpath,
                                      res->manifest_hash, res->profile, err);
    }
    if (rc == 0)
        rc = fscontract_write_pointer(
            arena_printf(&a, "%s/latest/%s.txt", index, res->pipeline_slug), mpath,
            res->manifest_hash, res->profile, err);
    if (rc == 0)
        rc = fscontract_write_pointer(arena_printf(&a, "%s/last_compile.txt", index), mpath,
                                      res->manifest_hash, res->profile, err);
    arena_release(&a);
    return rc;
}

/* ==== Entry point ==== */

static json_t *build(struct jdoc *doc, const struct registry *reg, const struct params *params,
                     const char *slug, const char *profile, struct output *out)
{
    const json_t *root = doc->root;
    const json_t *steps = json_object_get(root, "steps");
    size_t n = json_array_size(steps);
    size_t *order = step_order(steps);
    out->cfgs = json_object();
    json_t *msteps = json_array();
    const char **used = xmalloc((n + 1) * sizeof(*used));
    for (size_t k = 0; k < n; k++) {
        const json_t *step = json_array_get(steps, order[k]);
        const char *id = json_string_value(json_object_get(step, "id"));
        const struct component *c =
            registry_find(reg, json_string_value(json_object_get(step, "component")));
        used[k] = c->name;
        json_object_set_new(out->cfgs, id, step_cfg(step, c));
        const json_t *needs = json_object_get(step, "needs");
        json_array_append_new(msteps, json_pack("{s:s, s:s, s:s, s:s++, s:o}", "id", id,
                                                "component", c->name, "driver", c->driver,
                                                "cfg_path", "cfg/", id, ".json", "needs",
                                                needs ? json_deep_copy(needs) : json_array()));
    }
    free(order);
    char regfp[FINGERPRINT_HEX_LEN];
    registry_fingerprint(reg, used, n, regfp);
    free(used);

    json_t *params_value = params_effective(params);
    json_t *compiler_id = json_string(COMPILER_ID);
    out->fingerprints = json_pack("{s:o, s:o, s:s+, s:o, s:o}", "oml_fp", fingerprint_json(root),
                                  "params_fp", fingerprint_json(params_value), "registry_fp",
                                  "sha256:", regfp, "compiler_fp", fingerprint_json(compiler_id),
                                  "profile", profile ? json_string(profile) : json_null());
    json_decref(params_value);
    json_decref(compiler_id);

    json_t *manifest =
        json_pack("{s:{s:s, s:s, s:O}, s:o, s:{s:O, s:o, s:s, s:{s:s, s:s}}}", "pipeline", "id",
                  slug, "version", "0.1.0", "fingerprints", out->fingerprints, "steps", msteps,
                  "meta", "oml_version", json_object_get(root, "oml_version"), "profile",
                  profile ? json_string(profile) : json_null(), "run_id", "${run_id}", "toolchain",
                  "compiler", COMPILER_ID, "registry", REGISTRY_ID);
    json_object_set(manifest, "name", json_object_get(root, "name"));
    if (json_object_get(root, "metadata"))
        json_object_set(manifest, "metadata", json_object_get(root, "metadata"));
    return manifest;
}

/* Adds manifest_fp to the fingerprints and computes manifest_hash, both over the manifest as it
 * stands (without any hash field); see compiler.h for the exact inputs. */
static void seal(struct output *out, const char *profile, char hash[FINGERPRINT_HEX_LEN])
{
    json_t *manifest_fp = fingerprint_json(out->manifest);
    json_t *input = json_pack("{s:O, s:O, s:s}", "cfg", out->cfgs, "manifest", out->manifest,
                              "profile", profile ? profile : "");
    struct strbuf sb = STRBUF_INIT;
    jv_canonical(input, &sb);
    fingerprint_of(sb.buf, sb.len, hash);
    strbuf_release(&sb);
    json_decref(input);
    json_object_set_new(out->fingerprints, "manifest_fp", manifest_fp);
}

int compiler_compile(const struct compile_request *req, struct project_config *cfg,
                     const struct registry *reg, const struct connections *conns,
                     struct compile_result *res, struct err *err)
{
    memset(res, 0, sizeof(*res));
    struct jdoc doc = JDOC_INIT;
    struct params params = PARAMS_INIT;
    struct output out = { .cfg = cfg };
    const char *profile = NULL;
    int rc = -1;
    if (yamlload_file(&doc, req->oml_path, err) != 0) {
        err->code = ERR_INPUT; /* a missing or unreadable pipeline is bad input, not a failure */
        goto done;
    }
    if (projconfig_profile(cfg, req->profile, &profile, err) != 0)
        goto done;
    params_resolve(&params, &doc, profile, req->params, req->nparams, &res->diags);
    struct oml_context ctx = { .reg = reg, .conns = conns, .params = &params, .compiling = true };
    oml_validate(&doc, &ctx, &res->diags);
    if (diags_first_error(&res->diags, err) != 0)
        goto done;
    params_restore_sensitive(&params);

    const char *slug =
        fscontract_slugify(&res->arena, json_string_value(json_object_get(doc.root, "name")));
    out.manifest = build(&doc, reg, &params, slug, profile, &out);

    char hash[FINGERPRINT_HEX_LEN];
    seal(&out, profile, hash);
    char *short_hash = arena_strndup(&res->arena, hash, (size_t)cfg->naming.manifest_short_len);
    json_t *meta = json_object_get(out.manifest, "meta");
    json_object_set_new(meta, "manifest_hash", json_string(hash));
    json_object_set_new(meta, "manifest_short", json_string(short_hash));

    res->pipeline_slug = slug;
    res->profile = profile ? arena_strdup(&res->arena, profile) : NULL;
    res->manifest_hash = arena_strdup(&res->arena, hash);
    res->manifest_short = short_hash;
    res->nsteps = json_object_size(out.cfgs);
    res->sensitive = json_object();
    for (size_t i = 0; i < params.len; i++)
        if (params.items[i].sensitive && params.items[i].value)
            json_object_set(res->sensitive, params.items[i].name, params.items[i].value);
    struct fileset fs = { 0 };
    render(&out, &fs);
    if (req->out_dir) {
        char abs[PATH_MAX];
        if (files_mkdirs(req->out_dir, NULL, err) != 0 || !realpath(req->out_dir, abs)) {
            err_errno(err, ERR_IO, "cannot use output directory '%s'", req->out_dir);
            fileset_release(&fs);
            goto done;
        }
        res->build_dir = arena_strdup(&res->arena, abs);
        rc = write_set(res->build_dir, &fs, err) == 0 ? files_sync_fs(res->build_dir, err) : -1;
    } else {
        res->build_dir = fscontract_build_dir(cfg, slug, profile, hash, short_hash);
        char *parent = arena_strdup(&res->arena, res->build_dir);
        *strrchr(parent, '/') = '\0';
        rc = files_mkdirs(parent, NULL, err) == 0 ? publish(res->build_dir, &fs, err) : -1;
    }
    fileset_release(&fs);
    if (rc != 0)
        goto done;
    res->manifest_path = arena_printf(&res->arena, "%s/manifest.yaml", res->build_dir);
    if (!req->no_pointers)
        rc = write_pointers(cfg, res, !req->out_dir, err);
done:
    json_decref(out.manifest);
    json_decref(out.cfgs);
    json_decref(out.fingerprints);
    params_release(&params);
    jdoc_release(&doc);
    return rc;
}
