/* The HTML run report (site.h). Pages are built in a strbuf with a few escaping helpers; nothing
 * from a run reaches the page except through esc() (text and attribute values) or url_path()
 * (links), so review those two and the fixed markup, not each call. */
#include "site.h"
#include "embedded.h"
#include "files.h"
#include "fscontract.h"
#include "fingerprint.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamlload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ROWS      5000         /* events or metrics shown per run; the rest stay in the files */
#define BIG_ROWS      200          /* see section_open() */
#define MAX_TREE      2000         /* files listed in a run's tree */
#define MAX_LOG_BYTES (256 * 1024) /* the tail of each text log shown */

/* The DAG layout: a box per step, layers top to bottom by the longest chain of needs. */
#define NODE_W   220
#define NODE_H   54
#define GAP_X    28
#define GAP_Y    44
#define MARGIN   16
#define ID_CHARS 30 /* a longer step id is cut with an ellipsis (its <title> has it whole) */

/* ==== Escaping ==== */

/* s as HTML text or a quoted attribute value; invalid UTF-8 becomes U+FFFD first so the page
 * stays valid UTF-8 (file names and log files need not be). NULL writes nothing. */
static void esc(struct strbuf *sb, const char *s)
{
    if (!s)
        return;
    struct strbuf clean = STRBUF_INIT;
    if (jv_utf8_clean(&clean, s))
        s = clean.buf;
    static const char *const entity[256] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
    };
    for (; *s; s++)
        if (entity[(unsigned char)*s])
            strbuf_adds(sb, entity[(unsigned char)*s]);
        else
            strbuf_addch(sb, *s);
    strbuf_release(&clean);
}

/* A relative URL of the path: every byte outside [A-Za-z0-9._~/-] percent-encoded, so a
 * session id can neither leave the attribute nor become a scheme ("javascript:" has a ':'). */
static void url_path(struct strbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("._~/-", *p))
            strbuf_addch(sb, *p);
        else
            strbuf_addf(sb, "%%%02X", *p);
    }
}

static void tag_text(struct strbuf *sb, const char *open, const char *text, const char *close)
{
    strbuf_adds(sb, open);
    esc(sb, text);
    strbuf_adds(sb, close);
}

static void num(struct strbuf *sb, bool have, int64_t v)
{
    if (!have) {
        strbuf_adds(sb, "–");
        return;
    }
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%" PRId64, v < 0 ? -v : v);
    if (v < 0)
        strbuf_addch(sb, '-');
    for (int i = 0; i < n; i++) { /* thousands separated: 1,250,000 */
        if (i > 0 && (n - i) % 3 == 0)
            strbuf_addch(sb, ',');
        strbuf_addch(sb, digits[i]);
    }
}

static void num_cell(struct strbuf *sb, bool have, int64_t v)
{
    strbuf_adds(sb, "<td class=\"num\">");
    num(sb, have, v);
    strbuf_adds(sb, "</td>");
}

static void badge(struct strbuf *sb, const char *status)
{
    strbuf_adds(sb, "<span class=\"badge st-");
    esc(sb, status);
    strbuf_adds(sb, "\">");
    esc(sb, status);
    strbuf_adds(sb, "</span>");
}

/* ==== Page frame ==== */

struct asset {
    const char *path;
    const char *text;
    char hash[48]; /* base64 of the SHA-256, for the Content-Security-Policy */
};

static struct asset assets[] = {
    { "src/report/assets/report.css", NULL, "" },
    { "src/report/assets/report.js", NULL, "" },
};

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        *out++ = tab[v >> 18 & 63];
        *out++ = tab[v >> 12 & 63];
        *out++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *out++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *out = '\0';
}

static void assets_load(void)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(*assets); i++) {
        if (assets[i].text)
            continue;
        const struct embedded_file *f = embedded_find(assets[i].path);
        assets[i].text = f ? (const char *)f->data : "";
        char hex[FINGERPRINT_HEX_LEN];
        unsigned char raw[32];
        fingerprint_of(assets[i].text, strlen(assets[i].text), hex);
        for (size_t j = 0; j < sizeof(raw); j++) {
            unsigned b;
            sscanf(hex + 2 * j, "%2x", &b);
            raw[j] = (unsigned char)b;
        }
        base64(raw, sizeof(raw), assets[i].hash);
    }
}

/* up is the way back to the site's root ("" or "../../"). */
static void page_begin(struct strbuf *sb, const char *title, const char *heading, const char *sub,
                       const char *up)
{
    assets_load();
    strbuf_addf(sb,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'sha256-%s'; script-src 'sha256-%s'; img-src data:; "
                "base-uri 'none'; form-action 'none'\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"generator\" content=\"osiris logs html\">\n",
                assets[0].hash, assets[1].hash);
    tag_text(sb, "<title>", title, "</title>\n");
    strbuf_adds(sb, "<style>");
    strbuf_adds(sb, assets[0].text);
    strbuf_adds(sb, "</style>\n</head>\n<body>\n<header class=\"top\">");
    tag_text(sb, "<h1>", heading, "</h1>");
    strbuf_adds(sb, "<div class=\"sub\">");
    if (*up) {
        strbuf_adds(sb, "<a href=\"");
        strbuf_adds(sb, up);
        strbuf_adds(sb, "index.html\">← all runs</a> · ");
    }
    esc(sb, sub);
    strbuf_adds(sb, "</div></header>\n");
}

static void page_end(struct strbuf *sb)
{
    strbuf_adds(sb, "<script>");
    strbuf_adds(sb, assets[1].text);
    strbuf_adds(sb, "</script>\n</body>\n</html>\n");
}

/* A text/kind/errors filter over the table with that id (report.js). */
static void filter_box(struct strbuf *sb, const char *table_id, const char *placeholder,
                       const json_t *kinds, const char *kind_label, bool errors_only)
{
    strbuf_addf(sb, "<div class=\"filter\" data-for=\"%s\"><input type=\"search\" placeholder=\"",
                table_id);
    esc(sb, placeholder);
    strbuf_adds(sb, "\">");
    if (json_object_size(kinds) > 0) {
        strbuf_adds(sb, "<select><option value=\"\">");
        esc(sb, kind_label);
        strbuf_adds(sb, "</option>");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)kinds, k, v)
        {
            strbuf_adds(sb, "<option value=\"");
            esc(sb, k);
            strbuf_adds(sb, "\">");
            esc(sb, k);
            strbuf_addf(sb, " (%" JSON_INTEGER_FORMAT ")</option>", json_integer_value(v));
        }
        strbuf_adds(sb, "</select>");
    }
    if (errors_only)
        strbuf_adds(sb, "<label><input type=\"checkbox\"> errors only</label>");
    strbuf_adds(sb, "<span class=\"count\"></span></div>\n");
}

static void count_kind(json_t *kinds, const char *k)
{
    if (!k)
        return;
    json_t *v = json_object_get(kinds, k);
    json_object_set_new(kinds, k, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* A section of a run page; one with more than BIG_ROWS rows is laid out only when it scrolls
 * into view (report.css), which keeps a 1,000-step run's page fast to open. */
static void section_open(struct strbuf *sb, const char *id, const char *title, size_t rows)
{
    strbuf_addf(sb, "<section id=\"%s\"%s><h2>%s</h2>", id, rows > BIG_ROWS ? " class=\"big\"" : "",
                title);
}

/* A table with fixed layout: the browser sizes columns from these widths instead of measuring
 * every cell, which is what made a 1,000-step run's page slow (docs/benchmarks.md). */
struct column {
    const char *title;
    const char *width; /* a CSS class of report.css (w-s, w-m, w-l), NULL for the rest */
    bool num;          /* right-aligned */
};

static const struct column run_columns[] = {
    { "Status", "w-s", false },   { "Run", NULL, false },     { "Started (UTC)", "w-l", false },
    { "Duration", "w-xs", true }, { "Steps", "w-xs", true },  { "Rows in", "w-xs", true },
    { "Rows out", "w-xs", true }, { "Where", "w-xs", false },
};
static const struct column step_columns[] = {
    { "Step", "w-l", false },   { "Component", "w-l", false }, { "Status", "w-s", false },
    { "Rows in", "w-s", true }, { "Rows out", "w-s", true },   { "Duration", "w-s", true },
    { "Detail", NULL, false },
};
static const struct column event_columns[] = {
    { "Time (UTC)", "w-s", false },
    { "Event", "w-l", false },
    { "Step", "w-l", false },
    { "Details", NULL, false },
};
static const struct column metric_columns[] = {
    { "Time (UTC)", "w-s", false }, { "Metric", "w-l", false }, { "Step", "w-l", false },
    { "Value", "w-s", true },       { "Unit", "w-s", false },   { "Details", NULL, false },
};

static void table_open(struct strbuf *sb, const char *id, const struct column *cols, size_t n)
{
    strbuf_addf(sb, "<table id=\"%s\" class=\"fixed\"><colgroup>", id);
    for (size_t i = 0; i < n; i++)
        strbuf_addf(sb, cols[i].width ? "<col class=\"%s\">" : "<col>", cols[i].width);
    strbuf_adds(sb, "</colgroup><thead><tr>");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(sb, "<th%s>%s</th>", cols[i].num ? " class=\"num\"" : "", cols[i].title);
    strbuf_adds(sb, "</tr></thead><tbody>\n");
}

static int write_page(const char *path, struct strbuf *sb, size_t *pages, struct err *err)
{
    if (files_write_atomic(path, sb->buf ? sb->buf : "", sb->len, 0666, err) != 0)
        return -1;
    (*pages)++;
    return 0;
}

/* ==== The index ==== */

/* "local", or where a remote run ran: "remote (process)", "remote (ssh://...)". */
static const char *environment(struct arena *a, const struct runlog *s)
{
    const char *env = s->environment && *s->environment ? s->environment : "local";
    if (strcmp(env, "local") == 0 || !s->sandbox_id || !*s->sandbox_id ||
        strcmp(s->sandbox_id, env) == 0)
        return env;
    return arena_printf(a, "%s (%s)", env, s->sandbox_id);
}

static void index_page(struct strbuf *sb, const char *logs_dir, const struct runlog *runs, size_t n)
{
    struct arena a;
    arena_init(&a);
    int64_t ok = 0, failed = 0, rows = 0;
    json_t *kinds = json_object();
    for (size_t i = 0; i < n; i++) {
        ok += strcmp(runs[i].status, "success") == 0;
        failed += strcmp(runs[i].status, "failed") == 0;
        rows += runs[i].have_rows_out ? runs[i].rows_out : 0;
        count_kind(kinds, runs[i].status);
    }
    page_begin(sb, "Osiris runs", "Osiris runs", arena_printf(&a, "run logs in %s", logs_dir), "");
    strbuf_adds(sb, "<main>\n<div class=\"cards\">");
    struct {
        const char *label;
        int64_t v;
    } cards[] = {
        { "runs", (int64_t)n }, { "succeeded", ok }, { "failed", failed }, { "rows written", rows }
    };
    for (size_t i = 0; i < sizeof(cards) / sizeof(*cards); i++) {
        strbuf_adds(sb, "<div class=\"card\"><div class=\"n\">");
        num(sb, true, cards[i].v);
        strbuf_addf(sb, "</div><div class=\"l\">%s</div></div>", cards[i].label);
    }
    strbuf_adds(sb, "</div>\n<section id=\"runs\"><h2>Runs, newest first</h2>\n");
    if (n == 0) {
        strbuf_adds(sb, "<p class=\"note\">No runs yet.</p>\n");
    } else {
        filter_box(sb, "runs-table", "filter: pipeline, session, status…", kinds, "any status",
                   false);
        table_open(sb, "runs-table", run_columns, sizeof(run_columns) / sizeof(*run_columns));
    }
    for (size_t i = 0; i < n; i++) {
        const struct runlog *s = &runs[i];
        strbuf_adds(sb, "<tr data-kind=\"");
        esc(sb, s->status);
        strbuf_adds(sb, "\"><td>");
        badge(sb, s->status);
        strbuf_adds(sb, "</td>");
        /* The pipeline links to the run's page; the session id, long, goes below it. */
        strbuf_adds(sb, "<td class=\"id\"><a href=\"");
        url_path(sb, s->id);
        strbuf_adds(sb, "/index.html\">");
        esc(sb, s->pipeline ? s->pipeline : s->id);
        strbuf_adds(sb, "</a>");
        tag_text(sb, "<div class=\"note\">", s->id, "</div></td>");
        tag_text(sb, "<td>", runlog_fmt_time(&a, s->started_at, false), "</td>");
        tag_text(sb, "<td class=\"num\">",
                 runlog_fmt_duration(&a, s->have_duration, s->duration_ms), "</td>");
        strbuf_adds(sb, "<td class=\"num\">");
        num(sb, true, s->steps_ok);
        strbuf_adds(sb, "/");
        num(sb, s->have_steps_total, s->steps_total);
        strbuf_adds(sb, "</td>");
        num_cell(sb, s->have_rows_in, s->rows_in);
        num_cell(sb, s->have_rows_out, s->rows_out);
        tag_text(sb, "<td class=\"env\">", environment(&a, s), "</td></tr>\n");
    }
    if (n > 0)
        strbuf_adds(sb, "</tbody></table>\n");
    strbuf_adds(sb, "</section>\n</main>\n");
    page_end(sb);
    json_decref(kinds);
    arena_release(&a);
}

/* ==== One run ==== */

/* What a run page needs besides the summary. */
struct run_view {
    struct arena *a;
    const struct runlog *s;
    json_t *events, *metrics; /* owned arrays */
    json_t *manifest_steps;   /* owned array of {id, component|driver, needs}, or NULL */
    const char *manifest_text, *status_text;
};

static const char *read_text(struct arena *a, const char *path, size_t max, bool *cut)
{
    struct strbuf sb = STRBUF_INIT;
    struct err err = ERR_INIT;
    *cut = false;
    if (!files_exists(path) || files_read(path, &sb, &err) != 0) {
        strbuf_release(&sb);
        return NULL;
    }
    const char *text = strbuf_str(&sb);
    if (sb.len > max) { /* the end of a log is where a run stopped */
        text += sb.len - max;
        while (*text && *text != '\n')
            text++;
        *cut = true;
    }
    const char *out = arena_strdup(a, text);
    strbuf_release(&sb);
    return out;
}

static void overview(struct strbuf *sb, const struct run_view *v)
{
    const struct runlog *s = v->s;
    if (strcmp(s->status, "failed") == 0) {
        strbuf_adds(sb, "<div class=\"failure\" id=\"failure\"><h2>Failed");
        if (s->failed_step)
            tag_text(sb, " at step <code class=\"failed-step\">", s->failed_step, "</code>");
        strbuf_adds(sb, "</h2>");
        if (s->error_code)
            tag_text(sb, "<div class=\"note\">", s->error_code, "</div>");
        tag_text(sb, "<div class=\"msg\">", s->reason ? s->reason : "no error message recorded",
                 "</div></div>\n");
    }
    strbuf_adds(sb, "<section id=\"overview\"><h2>Overview</h2><dl class=\"facts\">");
    struct {
        const char *label, *value;
    } facts[] = {
        { "pipeline", s->pipeline },
        { "run id", s->run_id },
        { "session", s->id },
        { "profile", s->profile && *s->profile ? s->profile : NULL },
        { "where", environment(v->a, s) },
        { "started (UTC)", runlog_fmt_time(v->a, s->started_at, false) },
        { "finished (UTC)", runlog_fmt_time(v->a, s->finished_at, false) },
        { "duration", runlog_fmt_duration(v->a, s->have_duration, s->duration_ms) },
        { "manifest hash", s->manifest_hash },
        { "directory", s->dir },
    };
    strbuf_adds(sb, "<dt>status</dt><dd>");
    badge(sb, s->status);
    strbuf_adds(sb, "</dd>");
    for (size_t i = 0; i < sizeof(facts) / sizeof(*facts); i++)
        if (facts[i].value) {
            tag_text(sb, "<dt>", facts[i].label, "</dt>");
            tag_text(sb, "<dd>", facts[i].value, "</dd>");
        }
    strbuf_adds(sb, "<dt>steps</dt><dd>");
    num(sb, true, s->steps_ok);
    strbuf_adds(sb, " ok, ");
    num(sb, true, s->steps_failed);
    strbuf_adds(sb, " failed, ");
    num(sb, true, s->steps_skipped);
    strbuf_adds(sb, " skipped of ");
    num(sb, s->have_steps_total, s->steps_total);
    strbuf_adds(sb, "</dd><dt>rows</dt><dd>");
    num(sb, s->have_rows_in, s->rows_in);
    strbuf_adds(sb, " read, ");
    num(sb, s->have_rows_out, s->rows_out);
    strbuf_addf(sb,
                " written</dd><dt>events</dt><dd>%" PRId64 " (%" PRId64 " errors, %" PRId64
                " warnings)</dd></dl></section>\n",
                s->event_count, s->errors, s->warnings);
}

/* One DAG node: a step of the manifest (or, without one, of the events). */
struct node {
    const char *id, *driver;
    const struct runlog_step *st; /* what the run did, or NULL (never started) */
    size_t *needs;                /* indexes of earlier nodes */
    size_t nneeds;
    size_t layer, slot;
};

static const struct runlog_step *step_of(const struct runlog *s, const char *id)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (strcmp(s->steps[i].id, id) == 0)
            return &s->steps[i];
    return NULL;
}

static size_t build_nodes(const struct run_view *v, struct node **out)
{
    const struct runlog *s = v->s;
    size_t n = v->manifest_steps ? json_array_size(v->manifest_steps) : s->nsteps;
    struct node *nodes = arena_calloc(v->a, n + 1, sizeof(*nodes));
    for (size_t i = 0; i < n; i++) {
        struct node *nd = &nodes[i];
        if (v->manifest_steps) {
            const json_t *m = json_array_get(v->manifest_steps, i);
            nd->id = jv_str(m, "id") ? jv_str(m, "id") : "?";
            nd->driver = jv_str(m, "component") ? jv_str(m, "component") : jv_str(m, "driver");
            const json_t *needs = json_object_get(m, "needs");
            nd->needs = arena_calloc(v->a, json_array_size(needs) + 1, sizeof(size_t));
            size_t k;
            json_t *need;
            json_array_foreach(
                needs, k, need) for (size_t j = 0; j < i;
                                     j++) if (json_is_string(need) &&
                                              strcmp(nodes[j].id, json_string_value(need)) == 0)
            {
                nd->needs[nd->nneeds++] = j;
                break;
            }
        } else {
            nd->id = s->steps[i].id;
            nd->driver = s->steps[i].driver;
        }
        nd->st = step_of(s, nd->id);
        for (size_t k = 0; k < nd->nneeds; k++)
            if (nodes[nd->needs[k]].layer + 1 > nd->layer)
                nd->layer = nodes[nd->needs[k]].layer + 1;
    }
    *out = nodes;
    return n;
}

static void dag(struct strbuf *sb, const struct run_view *v)
{
    struct node *nodes;
    size_t n = build_nodes(v, &nodes);
    section_open(sb, "dag", "Steps graph", n);
    if (n == 0) {
        strbuf_adds(sb, "<p class=\"note\">No steps recorded.</p></section>\n");
        return;
    }
    size_t layers = 0, *width = arena_calloc(v->a, n + 1, sizeof(size_t)), widest = 1;
    for (size_t i = 0; i < n; i++) {
        nodes[i].slot = width[nodes[i].layer]++;
        if (width[nodes[i].layer] > widest)
            widest = width[nodes[i].layer];
        if (nodes[i].layer + 1 > layers)
            layers = nodes[i].layer + 1;
    }
    unsigned w = MARGIN * 2 + (unsigned)widest * (NODE_W + GAP_X) - GAP_X;
    unsigned h = MARGIN * 2 + (unsigned)layers * (NODE_H + GAP_Y) - GAP_Y;
    strbuf_addf(sb,
                "<div class=\"dag\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
                "height=\"%u\" viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"steps graph\">"
                "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
                "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"dag-arrow\" "
                "d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n",
                w, h, w, h);
#define NX(nd) (MARGIN + (unsigned)(nd)->slot * (NODE_W + GAP_X))
#define NY(nd) (MARGIN + (unsigned)(nd)->layer * (NODE_H + GAP_Y))
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nodes[i].nneeds; k++) {
            const struct node *from = &nodes[nodes[i].needs[k]], *to = &nodes[i];
            unsigned x1 = NX(from) + NODE_W / 2, y1 = NY(from) + NODE_H;
            unsigned x2 = NX(to) + NODE_W / 2, y2 = NY(to);
            strbuf_addf(sb,
                        "<path class=\"dag-edge\" marker-end=\"url(#arrow)\" d=\"M%u,%u C%u,%u "
                        "%u,%u %u,%u\"/>\n",
                        x1, y1, x1, (y1 + y2) / 2, x2, (y1 + y2) / 2, x2, y2);
        }
    for (size_t i = 0; i < n; i++) {
        const struct node *nd = &nodes[i];
        const char *state = nd->st ? runlog_step_state_name[nd->st->state] : "pending";
        strbuf_addf(sb, "<a href=\"#step-%zu\"><g class=\"dag-node st-%s\" data-step=\"", i, state);
        esc(sb, nd->id);
        strbuf_addf(sb, "\" transform=\"translate(%u,%u)\"><title>", NX(nd), NY(nd));
        esc(sb, nd->id);
        strbuf_adds(sb, " — ");
        esc(sb, state);
        strbuf_addf(sb,
                    "</title><rect width=\"%d\" height=\"%d\" rx=\"6\"/><text x=\"10\" "
                    "y=\"21\">",
                    NODE_W, NODE_H);
        /* Cut by characters, not bytes: a UTF-8 sequence is never split. */
        size_t chars = 0, cut = 0;
        for (const char *p = nd->id; *p; p++)
            if (((unsigned char)*p & 0xC0) != 0x80 && ++chars == ID_CHARS)
                cut = (size_t)(p - nd->id);
        if (cut) {
            char *short_id = arena_strndup(v->a, nd->id, cut);
            esc(sb, short_id);
            strbuf_adds(sb, "…");
        } else {
            esc(sb, nd->id);
        }
        strbuf_adds(sb, "</text><text class=\"sub\" x=\"10\" y=\"41\">");
        esc(sb, state);
        if (nd->st && nd->st->have_rows_out) {
            strbuf_adds(sb, " · ");
            num(sb, true, nd->st->rows_out);
            strbuf_adds(sb, " rows");
        }
        if (nd->st && nd->st->have_duration) {
            strbuf_adds(sb, " · ");
            esc(sb, runlog_fmt_duration(v->a, true, nd->st->duration_ms));
        }
        strbuf_adds(sb, "</text></g></a>\n");
    }
#undef NX
#undef NY
    strbuf_adds(sb, "</svg></div>");

    /* The same steps as a table, with each step's configuration (cfg/<id>.json). */
    table_open(sb, "steps-table", step_columns, sizeof(step_columns) / sizeof(*step_columns));
    for (size_t i = 0; i < n; i++) {
        const struct node *nd = &nodes[i];
        const struct runlog_step *st = nd->st;
        const char *state = st ? runlog_step_state_name[st->state] : "pending";
        strbuf_addf(sb, "<tr id=\"step-%zu\"%s>", i,
                    st && st->state == RUNLOG_FAILED ? " class=\"level-error\"" : "");
        tag_text(sb, "<td class=\"id\">", nd->id, "</td>");
        tag_text(sb, "<td>", nd->driver ? nd->driver : "–", "</td><td>");
        badge(sb, state);
        strbuf_adds(sb, "</td>");
        num_cell(sb, st && st->have_rows_in, st ? st->rows_in : 0);
        num_cell(sb, st && st->have_rows_out, st ? st->rows_out : 0);
        tag_text(sb, "<td class=\"num\">",
                 runlog_fmt_duration(v->a, st && st->have_duration, st ? st->duration_ms : 0),
                 "</td><td class=\"detail\">");
        if (st && (st->error || st->reason))
            tag_text(sb, "<div>", st->error ? st->error : st->reason, "</div>");
        bool cut;
        const char *cfg =
            fscontract_is_segment(nd->id)
                ? read_text(v->a, arena_printf(v->a, "%s/cfg/%s.json", v->s->dir, nd->id),
                            MAX_LOG_BYTES, &cut)
                : NULL;
        if (cfg)
            tag_text(sb, "<details><summary>configuration</summary><pre>", cfg, "</pre></details>");
        strbuf_adds(sb, "</td></tr>\n");
    }
    strbuf_adds(sb, "</tbody></table></section>\n");
}

/* "k=v k2=v2" of the fields not in a column, escaped. */
static void details(struct strbuf *sb, const json_t *rec, const char *const *skip)
{
    struct strbuf text = STRBUF_INIT;
    runlog_details(&text, rec, skip);
    esc(sb, strbuf_str(&text));
    strbuf_release(&text);
}

static void events_section(struct strbuf *sb, const struct run_view *v)
{
    static const char *const skip[] = { "ts", "session", "event", "step_id", NULL };
    size_t total = json_array_size(v->events), shown = total < MAX_ROWS ? total : MAX_ROWS;
    json_t *kinds = json_object();
    for (size_t i = 0; i < shown; i++)
        count_kind(kinds, jv_str(json_array_get(v->events, i), "event"));
    section_open(sb, "events", "Events", shown);
    filter_box(sb, "events-table", "filter events…", kinds, "any event", true);
    if (shown < total)
        strbuf_addf(sb,
                    "<p class=\"note\">The first %zu of %zu events; all are in events.jsonl.</p>",
                    shown, total);
    table_open(sb, "events-table", event_columns, sizeof(event_columns) / sizeof(*event_columns));
    for (size_t i = 0; i < shown; i++) {
        const json_t *e = json_array_get(v->events, i);
        bool error = runlog_is_error(e);
        strbuf_adds(sb, "<tr data-kind=\"");
        esc(sb, jv_str(e, "event"));
        strbuf_addf(sb, "\"%s>", error ? " data-level=\"error\" class=\"level-error\"" : "");
        tag_text(sb, "<td class=\"num\">", runlog_fmt_time(v->a, jv_str(e, "ts"), true), "</td>");
        tag_text(sb, "<td>", jv_str(e, "event"), "</td>");
        tag_text(sb, "<td class=\"id\">", jv_str(e, "step_id"), "</td><td class=\"detail\">");
        details(sb, e, skip);
        strbuf_adds(sb, "</td></tr>\n");
    }
    strbuf_adds(sb, "</tbody></table></section>\n");
    json_decref(kinds);
}

static void metrics_section(struct strbuf *sb, const struct run_view *v)
{
    static const char *const skip[] = {
        "ts", "session", "metric", "value", "unit", "step_id", NULL
    };
    size_t total = json_array_size(v->metrics), shown = total < MAX_ROWS ? total : MAX_ROWS;
    json_t *kinds = json_object();
    for (size_t i = 0; i < shown; i++)
        count_kind(kinds, jv_str(json_array_get(v->metrics, i), "metric"));
    section_open(sb, "metrics", "Metrics", shown);
    if (total == 0) {
        strbuf_adds(sb, "<p class=\"note\">No metrics recorded.</p></section>\n");
        json_decref(kinds);
        return;
    }
    filter_box(sb, "metrics-table", "filter metrics…", kinds, "any metric", false);
    if (shown < total)
        strbuf_addf(sb, "<p class=\"note\">The first %zu of %zu metrics.</p>", shown, total);
    table_open(sb, "metrics-table", metric_columns,
               sizeof(metric_columns) / sizeof(*metric_columns));
    struct strbuf val = STRBUF_INIT;
    for (size_t i = 0; i < shown; i++) {
        const json_t *m = json_array_get(v->metrics, i);
        int64_t iv;
        strbuf_adds(sb, "<tr data-kind=\"");
        esc(sb, jv_str(m, "metric"));
        strbuf_adds(sb, "\">");
        tag_text(sb, "<td class=\"num\">", runlog_fmt_time(v->a, jv_str(m, "ts"), true), "</td>");
        tag_text(sb, "<td>", jv_str(m, "metric"), "</td>");
        tag_text(sb, "<td class=\"id\">", jv_str(m, "step_id"), "</td>");
        if (runlog_int(m, "value", &iv)) {
            num_cell(sb, true, iv);
        } else {
            strbuf_reset(&val);
            if (json_object_get(m, "value"))
                jv_dump(json_object_get(m, "value"), &val, 0);
            tag_text(sb, "<td class=\"num\">", strbuf_str(&val), "</td>");
        }
        tag_text(sb, "<td>", jv_str(m, "unit"), "</td><td class=\"detail\">");
        details(sb, m, skip);
        strbuf_adds(sb, "</td></tr>\n");
    }
    strbuf_release(&val);
    strbuf_adds(sb, "</tbody></table></section>\n");
    json_decref(kinds);
}

/* The files under dir as nested lists with sizes; *left counts down the entries still shown. */
static void tree(struct strbuf *sb, struct arena *a, const char *dir, size_t *left, bool root)
{
    size_t n;
    const char **names = files_list(a, dir, &n);
    if (!names)
        return;
    strbuf_adds(sb, root ? "<ul class=\"tree root\">" : "<ul class=\"tree\">");
    for (size_t i = 0; i < n; i++) {
        if (*left == 0) {
            strbuf_addf(sb, "<li class=\"note\">… %zu more</li>", n - i);
            break;
        }
        (*left)--;
        const char *path = arena_printf(a, "%s/%s", dir, names[i]);
        struct stat st;
        /* lstat: a link is listed, never followed (it could point anywhere or loop). */
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            strbuf_adds(sb, "<li><details open><summary>");
            esc(sb, names[i]);
            strbuf_adds(sb, "/<span class=\"size\">");
            num(sb, true, (int64_t)runlog_tree_bytes(path));
            strbuf_adds(sb, " bytes</span></summary>");
            tree(sb, a, path, left, false);
            strbuf_adds(sb, "</details></li>");
        } else {
            strbuf_adds(sb, "<li>");
            esc(sb, names[i]);
            if (S_ISLNK(st.st_mode))
                strbuf_adds(sb, " (link)");
            strbuf_adds(sb, "<span class=\"size\">");
            num(sb, true, (int64_t)st.st_size);
            strbuf_adds(sb, " bytes</span></li>");
        }
    }
    strbuf_adds(sb, "</ul>");
}

static void files_section(struct strbuf *sb, const struct run_view *v)
{
    size_t left = MAX_TREE;
    section_open(sb, "files", "Run directory", 0);
    tree(sb, v->a, v->s->dir, &left, true);
    strbuf_adds(sb, "</section>\n");
}

static void logs_section(struct strbuf *sb, const struct run_view *v)
{
    static const char *const logs[] = { "osiris.log", "debug.log" };
    section_open(sb, "logs", "Logs", 0);
    for (size_t i = 0; i < sizeof(logs) / sizeof(*logs); i++) {
        bool cut;
        const char *text =
            read_text(v->a, arena_printf(v->a, "%s/%s", v->s->dir, logs[i]), MAX_LOG_BYTES, &cut);
        if (!text)
            continue;
        strbuf_addf(sb, "<details%s><summary>%s%s</summary><pre>", i == 0 ? " open" : "", logs[i],
                    cut ? " (its last 256 KiB)" : "");
        esc(sb, text);
        strbuf_adds(sb, "</pre></details>");
    }
    if (v->manifest_text)
        tag_text(sb, "<details><summary>manifest.yaml</summary><pre>", v->manifest_text,
                 "</pre></details>");
    if (v->status_text)
        tag_text(sb, "<details><summary>status.json</summary><pre>", v->status_text,
                 "</pre></details>");
    strbuf_adds(sb, "</section>\n");
}

static void run_page(struct strbuf *sb, const struct run_view *v, const char *up)
{
    const struct runlog *s = v->s;
    const char *title = arena_printf(v->a, "%s %s — %s", s->pipeline ? s->pipeline : "run",
                                     s->run_id ? s->run_id : s->id, s->status);
    page_begin(sb, title, s->pipeline ? s->pipeline : s->id,
               arena_printf(v->a, "%s · %s", s->run_id ? s->run_id : s->id, s->status), up);
    strbuf_adds(sb, "<nav class=\"tabs\">");
    static const char *const tabs[][2] = {
        { "overview", "Overview" }, { "dag", "Steps" },   { "events", "Events" },
        { "metrics", "Metrics" },   { "files", "Files" }, { "logs", "Logs" },
    };
    for (size_t i = 0; i < sizeof(tabs) / sizeof(*tabs); i++)
        strbuf_addf(sb, "<a href=\"#%s\">%s</a>", tabs[i][0], tabs[i][1]);
    strbuf_adds(sb, "</nav>\n<main>\n");
    overview(sb, v);
    dag(sb, v);
    events_section(sb, v);
    metrics_section(sb, v);
    files_section(sb, v);
    logs_section(sb, v);
    strbuf_adds(sb, "</main>\n");
    page_end(sb);
}

/* Reads what the page shows besides the summary. Damaged or missing files show as missing. */
static void view_open(struct run_view *v, struct arena *a, const struct runlog *s)
{
    memset(v, 0, sizeof(*v));
    v->a = a;
    v->s = s;
    struct err err = ERR_INIT;
    size_t bad;
    bool missing, cut;
    v->events = runlog_read_jsonl(arena_printf(a, "%s/events.jsonl", s->dir), &bad, &missing, &err);
    v->metrics =
        runlog_read_jsonl(arena_printf(a, "%s/metrics.jsonl", s->dir), &bad, &missing, &err);
    if (!v->events)
        v->events = json_array();
    if (!v->metrics)
        v->metrics = json_array();
    const char *manifest = arena_printf(a, "%s/manifest.yaml", s->dir);
    v->manifest_text = read_text(a, manifest, MAX_LOG_BYTES, &cut);
    v->status_text = read_text(a, arena_printf(a, "%s/status.json", s->dir), MAX_LOG_BYTES, &cut);
    struct jdoc doc = JDOC_INIT;
    err_clear(&err);
    if (v->manifest_text && yamlload_file(&doc, manifest, &err) == 0 &&
        json_is_array(json_object_get(doc.root, "steps")))
        v->manifest_steps = json_incref(json_object_get(doc.root, "steps"));
    jdoc_release(&doc);
}

static void view_close(struct run_view *v)
{
    json_decref(v->events);
    json_decref(v->metrics);
    json_decref(v->manifest_steps);
}

int site_write(const char *out_dir, const char *logs_dir, const struct runlog *runs, size_t n,
               size_t *pages, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    struct arena a;
    arena_init(&a);
    *pages = 0;
    int rc = files_mkdirs(out_dir, NULL, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *dir = arena_printf(&a, "%s/%s", out_dir, runs[i].id);
        struct strbuf up = STRBUF_INIT;
        for (const char *p = runs[i].id; p; p = strchr(p + 1, '/'))
            strbuf_adds(&up, "../");
        /* A page's texts (logs, configs) live in an arena of its own: a report of many runs
         * holds one run's files at a time. */
        struct arena page;
        arena_init(&page);
        struct run_view v;
        view_open(&v, &page, &runs[i]);
        strbuf_reset(&sb);
        run_page(&sb, &v, strbuf_str(&up));
        view_close(&v);
        arena_release(&page);
        strbuf_release(&up);
        rc = files_mkdirs(dir, NULL, err) ||
             write_page(arena_printf(&a, "%s/index.html", dir), &sb, pages, err);
    }
    if (rc == 0) {
        strbuf_reset(&sb);
        index_page(&sb, logs_dir, runs, n);
        rc = write_page(arena_printf(&a, "%s/index.html", out_dir), &sb, pages, err);
    }
    strbuf_release(&sb);
    arena_release(&a);
    return rc ? -1 : 0;
}
