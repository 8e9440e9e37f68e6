/* .env loading: parse a whole file first, then export its variables without overriding any that
 * are already set. A malformed file sets nothing, and no error message ever quotes a value. */
#include "envfile.h"
#include "files.h"
#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct envvar {
    char *key;   /* owned */
    char *value; /* owned */
};

struct envlist {
    struct envvar *items; /* owned, in file order */
    size_t count;
    size_t cap;
};

static void envlist_release(struct envlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_key_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

/* After a closing quote only blanks or a comment may follow: anything else means the quoting is
 * not what the author thinks, and guessing would load a wrong value. */
static bool only_comment_left(const char *p, const char *end)
{
    p = skip_blanks(p, end);
    return p == end || *p == '#';
}

/* Parses the value part of one line (p after '=' and the blanks that follow it) into out. Returns
 * NULL on success or the reason for the error; reasons never include the text of the line. */
static const char *parse_value(const char *p, const char *end, struct strbuf *out)
{
    if (p < end && *p == '\'') {
        const char *close = memchr(p + 1, '\'', (size_t)(end - p - 1));
        if (!close)
            return "unterminated single quote";
        strbuf_add(out, p + 1, (size_t)(close - p - 1));
        return only_comment_left(close + 1, end) ? NULL : "unexpected text after the closing quote";
    }
    if (p < end && *p == '"') {
        for (p++; p < end; p++) {
            if (*p == '"')
                return only_comment_left(p + 1, end) ? NULL
                                                     : "unexpected text after the closing quote";
            if (*p != '\\' || p + 1 == end) {
                strbuf_addch(out, *p);
                continue;
            }
            switch (*++p) {
            case 'n':
                strbuf_addch(out, '\n');
                break;
            case 't':
                strbuf_addch(out, '\t');
                break;
            case '"':
            case '\\':
                strbuf_addch(out, *p);
                break;
            default:
                /* Unknown escapes stay as written (as in a POSIX shell's double quotes), so a
                 * Windows path or a regex survives. */
                strbuf_addch(out, '\\');
                strbuf_addch(out, *p);
                break;
            }
        }
        return "unterminated double quote";
    }
    /* Bare value: '#' starts a comment only after a blank, so URLs with fragments and values
     * such as a#b keep their '#'. p[-1] is always inside the line (at least the '='), so
     * "KEY= #note" is an empty value while "KEY=#x" is "#x". */
    const char *start = p;
    const char *stop = end;
    for (; p < end; p++) {
        if (*p == '#' && is_blank(p[-1])) {
            stop = p;
            break;
        }
    }
    while (stop > start && is_blank(stop[-1]))
        stop--;
    strbuf_add(out, start, (size_t)(stop - start));
    return NULL;
}

/* Parses one line into list (blank and comment lines add nothing). Errors name path:lineno and
 * at most the key, which is a name and not a secret. */
static int parse_line(const char *line, size_t len, const char *path, int lineno,
                      struct envlist *list, struct err *err)
{
    const char *p = line;
    const char *end = line + len;
    if (memchr(line, '\0', len))
        return err_at(err, ERR_INPUT, path, lineno, 0, "NUL byte in line");
    p = skip_blanks(p, end);
    if (p == end || *p == '#')
        return 0;
    if (!memchr(p, '=', (size_t)(end - p)))
        return err_at(err, ERR_INPUT, path, lineno, 0, "expected KEY=VALUE (no '=' found)");
    if ((size_t)(end - p) > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6]))
        p = skip_blanks(p + 7, end);
    const char *key = p;
    if (p < end && is_key_start(*p))
        for (p++; p < end && is_key_char(*p);)
            p++;
    const char *key_end = p;
    p = skip_blanks(p, end);
    if (key_end == key || p == end || *p != '=')
        return err_at(err, ERR_INPUT, path, lineno, 0,
                      "invalid variable name (expected [A-Za-z_][A-Za-z0-9_]* before '=')");
    p = skip_blanks(p + 1, end);

    struct strbuf value = STRBUF_INIT;
    const char *why = parse_value(p, end, &value);
    if (why) {
        err_at(err, ERR_INPUT, path, lineno, 0, "%s in the value of '%.*s'", why,
               (int)(key_end - key), key);
        strbuf_release(&value);
        return -1;
    }
    XGROW(list->items, list->cap, list->count + 1);
    list->items[list->count].key = xstrndup(key, (size_t)(key_end - key));
    list->items[list->count].value = strbuf_detach(&value, NULL);
    if (!list->items[list->count].value)
        list->items[list->count].value = xstrdup("");
    list->count++;
    return 0;
}

static int parse_text(const char *text, size_t len, const char *path, struct envlist *list,
                      struct err *err)
{
    const char *p = text;
    const char *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) /* editors on Windows add a BOM */
        p += 3;
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (parse_line(p, n, path, lineno, list, err) != 0)
            return -1;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* Exports the parsed variables. Walking backwards with "set only if unset" makes the last
 * assignment of a key in one file win (as when the file is sourced by a shell), while variables
 * exported before the load, even empty ones, still win over the file. */
static int apply(const struct envlist *list, const char *path, struct err *err)
{
    for (size_t i = list->count; i-- > 0;) {
        if (getenv(list->items[i].key))
            continue;
        if (setenv(list->items[i].key, list->items[i].value, 0) != 0)
            return err_errno(err, ERR_INTERNAL, "%s: cannot set '%s'", path, list->items[i].key);
    }
    return 0;
}

/* Loads path; *found tells whether the file existed (a missing file is not an error). */
static int load(const char *path, bool *found, struct err *err)
{
    *found = false;
    struct strbuf text = STRBUF_INIT;
    struct err local = ERR_INIT;
    if (files_read(path, &text, &local) != 0) {
        strbuf_release(&text);
        if (local.sys == ENOENT || local.sys == ENOTDIR)
            return 0;
        if (err && !err->code)
            *err = local;
        return -1;
    }
    *found = true;
    struct envlist list = { 0 };
    int rc = parse_text(text.buf ? text.buf : "", text.len, path, &list, err);
    if (rc == 0)
        rc = apply(&list, path, err);
    envlist_release(&list);
    strbuf_release(&text);
    return rc;
}

int envfile_load(const char *path, struct err *err)
{
    bool found;
    return load(path, &found, err);
}

int envfile_load_defaults(struct strbuf *loaded, struct err *err)
{
    /* Identity by device and inode, so $OSIRIS_HOME == cwd (or a symlink to it) is read once. */
    struct {
        dev_t dev;
        ino_t ino;
    } seen[2];
    size_t nseen = 0;
    char *paths[2] = { NULL, NULL };
    const char *home = getenv("OSIRIS_HOME");
    if (home && *home) {
        size_t n = strlen(home);
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, home);
        if (home[n - 1] != '/')
            strbuf_addch(&sb, '/');
        strbuf_adds(&sb, ".env");
        paths[0] = strbuf_detach(&sb, NULL);
    }
    /* The cwd file is recorded with an absolute path: the list ends up in logs and events,
     * where "./.env" would not say which directory was meant. */
    char *cwd = getcwd(NULL, 0);
    if (cwd) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, cwd);
        if (strcmp(cwd, "/") != 0)
            strbuf_addch(&sb, '/');
        strbuf_adds(&sb, ".env");
        paths[1] = strbuf_detach(&sb, NULL);
        free(cwd);
    } else {
        paths[1] = xstrdup(".env");
    }

    int rc = 0;
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        struct stat st;
        if (!paths[i])
            continue;
        if (stat(paths[i], &st) == 0) {
            bool dup = false;
            for (size_t j = 0; j < nseen; j++)
                dup = dup || (seen[j].dev == st.st_dev && seen[j].ino == st.st_ino);
            if (dup)
                continue;
            seen[nseen].dev = st.st_dev;
            seen[nseen].ino = st.st_ino;
            nseen++;
        } else if (errno == ENOENT || errno == ENOTDIR) {
            continue;
        } /* else load() reports the real error (permission denied, ...) */
        bool found;
        rc = load(paths[i], &found, err);
        if (rc == 0 && found && loaded) {
            strbuf_adds(loaded, paths[i]);
            strbuf_addch(loaded, '\n');
        }
    }
    free(paths[0]);
    free(paths[1]);
    return rc;
}
