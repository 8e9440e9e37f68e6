/* Table-driven option parsing: --name VALUE, --name=VALUE, -x VALUE, -x, with choices and ranges
 * checked here so every command reports bad options the same way. */
#include "cli.h"
#include "suggest.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option *find_long(const struct cli_option *t, const char *name, size_t n)
{
    for (; t->name; t++)
        if (strlen(t->name) == n && strncmp(t->name, name, n) == 0)
            return t;
    return NULL;
}

static const struct cli_option *find_short(const struct cli_option *t, char c)
{
    for (; t->name; t++)
        if (t->short_name && t->short_name == c)
            return t;
    return NULL;
}

static int unknown_option(const struct cli_option *t, const char *arg, struct err *err)
{
    const char *names[64];
    size_t n = 0;
    for (; t->name && n < 64; t++)
        names[n++] = t->name;
    const char *word = arg + strspn(arg, "-");
    size_t wlen = strcspn(word, "=");
    char *w = xstrndup(word, wlen);
    int best = suggest_closest(w, names, n);
    free(w);
    if (best >= 0)
        return err_set(err, ERR_USAGE, "unknown option '%s'; did you mean '--%s'?", arg,
                       names[best]);
    return err_set(err, ERR_USAGE, "unknown option '%s'", arg);
}

static int store(const struct cli_option *o, void *dest, const char *value, struct err *err)
{
    char *field = (char *)dest + o->offset;
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)field = true;
        return 0;
    case CLI_STRING:
        if (o->choices) {
            const char *const *c = o->choices;
            while (*c && strcmp(*c, value) != 0)
                c++;
            if (!*c) {
                struct strbuf sb = STRBUF_INIT;
                for (c = o->choices; *c; c++)
                    strbuf_addf(&sb, "%s%s", c == o->choices ? "" : ", ", *c);
                err_set(err, ERR_USAGE, "invalid value '%s' for --%s (choose from %s)", value,
                        o->name, strbuf_str(&sb));
                strbuf_release(&sb);
                return -1;
            }
        }
        *(const char **)field = value;
        return 0;
    case CLI_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return err_set(err, ERR_USAGE, "--%s needs a whole number, got '%s'", o->name, value);
        if (v < o->min || v > o->max)
            return err_set(err, ERR_USAGE, "--%s must be between %ld and %ld, got %ld", o->name,
                           o->min, o->max, v);
        *(long *)field = v;
        return 0;
    }
    case CLI_LIST: {
        struct cli_list *l = (struct cli_list *)(void *)field;
        if (l->n == sizeof(l->items) / sizeof(*l->items))
            return err_set(err, ERR_USAGE, "too many --%s options (at most %zu)", o->name,
                           sizeof(l->items) / sizeof(*l->items));
        l->items[l->n++] = value;
        return 0;
    }
    }
    return 0;
}

int cli_parse(const struct cli_option *table, void *dest, int *argc, char **argv, bool keep_unknown,
              struct err *err)
{
    static const struct cli_option none[] = { { 0 } };
    if (!table)
        table = none;
    int out = 1; /* argv[0] stays */
    int i = 1;
    for (; i < *argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            if (keep_unknown) {
                /* The command parser must see "--" too, to stop at the same place. */
                break;
            }
            i++;
            break;
        }
        const struct cli_option *o = NULL;
        const char *value = NULL;
        if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            size_t n = strcspn(arg + 2, "=");
            o = find_long(table, arg + 2, n);
            if (o && arg[2 + n] == '=') {
                if (o->kind == CLI_FLAG)
                    return err_set(err, ERR_USAGE, "option '--%s' takes no value", o->name);
                value = arg + 3 + n;
            }
        } else if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
            o = find_short(table, arg[1]);
        } else {
            argv[out++] = arg; /* positional */
            continue;
        }
        if (!o) {
            if (!keep_unknown)
                return unknown_option(table, arg, err);
            argv[out++] = arg;
            continue;
        }
        if (o->kind != CLI_FLAG && !value) {
            if (i + 1 >= *argc)
                return err_set(err, ERR_USAGE, "option '--%s' needs a value (%s)", o->name,
                               o->arg ? o->arg : "VALUE");
            value = argv[++i];
        }
        if (store(o, dest, value, err) != 0)
            return -1;
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    *argc = out;
    argv[out] = NULL;
    return 0;
}
