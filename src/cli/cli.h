/* The command-line layer: only code under src/cli/ prints results or errors and picks exit codes.
 *
 * How to add a command: write src/cli/<command>.c with a `const struct cli_command cmd_<name>`
 * (name, summary, positional-argument synopsis, option table, handler), declare it below, add it
 * to the table in src/main.c and write docs/commands/<command>.md; tests/cases/0xxx checks that
 * its --help synopsis matches the doc. */
#ifndef OSIRIS_CLI_H
#define OSIRIS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "connections.h"
#include "err.h"
#include "json.h"
#include "projconfig.h"
#include "registry.h"

/* Exit codes, the same for every command (docs/internals/errors.md). */
enum {
    EXIT_OK = 0,      /* success */
    EXIT_FAILED = 1,  /* the operation ran and failed (invalid spec, failed run) */
    EXIT_INVALID = 2, /* usage error or invalid input */
};

/* Global options, accepted anywhere on the line (filled through cli_global_options). */
struct cli_ctx {
    bool json;                     /* --json: results as JSON on stdout */
    bool verbose;                  /* -v / --verbose: more detail on stderr */
    bool help;                     /* -h / --help */
    bool version;                  /* --version */
    const char *components_dir;    /* --components-dir or $OSIRIS_COMPONENTS_DIR; NULL if neither */
    const struct cli_command *cmd; /* the command being run */
};

enum cli_opt_kind {
    CLI_FLAG,   /* bool */
    CLI_STRING, /* const char * */
    CLI_INT,    /* long, checked against min/max */
    CLI_LIST,   /* struct cli_list: the option may be repeated */
};

/* The values of a repeatable option, in command-line order (borrowed from argv). */
struct cli_list {
    const char *items[64];
    size_t n;
};

struct cli_option {
    const char *name; /* long name without dashes */
    char short_name;  /* 0 when there is none */
    enum cli_opt_kind kind;
    size_t offset;              /* where the value goes in the command's options struct */
    const char *arg;            /* placeholder shown in help ("LEVEL"); NULL for flags */
    const char *help;           /* one line */
    const char *const *choices; /* NULL-terminated allowed values for CLI_STRING, or NULL */
    long min, max;              /* range for CLI_INT */
};

struct cli_command {
    const char *name;                 /* "components list" */
    const char *summary;              /* one line for the command list */
    const char *args;                 /* positional synopsis, e.g. "NAME|PATH", or NULL */
    int min_args, max_args;           /* positional argument counts */
    const struct cli_option *options; /* terminated by an entry with name NULL */
    size_t opts_size;                 /* sizeof the options struct the handler receives */
    bool hidden;                      /* left out of the command list */
    /* Runs the command; returns the exit code. opts points to a zeroed struct of opts_size
     * filled from the option table; argv holds the positional arguments. */
    int (*run)(struct cli_ctx *ctx, const void *opts, int argc, char **argv);
};

extern const struct cli_command cmd_version;
extern const struct cli_command cmd_init;
extern const struct cli_command cmd_validate;
extern const struct cli_command cmd_oml_validate;
extern const struct cli_command cmd_compile;
extern const struct cli_command cmd_run;
extern const struct cli_command cmd_connections_list;
extern const struct cli_command cmd_connections_doctor;
extern const struct cli_command cmd_components_list;
extern const struct cli_command cmd_components_show;
extern const struct cli_command cmd_components_validate;
extern const struct cli_command cmd_components_config_example;
extern const struct cli_command cmd_discovery_run;
extern const struct cli_command cmd_logs_list;
extern const struct cli_command cmd_logs_show;
extern const struct cli_command cmd_logs_last;
extern const struct cli_command cmd_logs_gc;
extern const struct cli_command cmd_logs_bundle;
extern const struct cli_command cmd_logs_html;
extern const struct cli_command cmd_logs_aiop_list;
extern const struct cli_command cmd_logs_aiop_show;
extern const struct cli_command cmd_logs_aiop_export;
extern const struct cli_command cmd_maintenance_clean;
extern const struct cli_command cmd_runs_list;
extern const struct cli_command cmd_worker;

/* ==== Option parsing (args.c) ==== */

/* Parses the options of table out of argv into dest, removing them; what remains (positional
 * arguments, and unknown options when keep_unknown is set) is compacted at the front and *argc
 * updated. "--" ends option parsing (and is removed). Errors are ERR_USAGE. */
int cli_parse(const struct cli_option *table, void *dest, int *argc, char **argv, bool keep_unknown,
              struct err *err);

/* ==== Output helpers (output.c) ==== */

/* Maps an error code to the exit code: input and usage errors give 2, everything else 1. */
int cli_exit_code(int err_code);

/* Reports err: one line "osiris: <message>" on stderr and, with --json, {"error","code"} on stdout.
 * extra (may be NULL; ownership is taken) adds fields to the JSON object. Returns the exit code. */
int cli_fail(struct cli_ctx *ctx, const struct err *err, json_t *extra);

/* logs gc's work (cli/logs.c), which maintenance clean shares: deletes the sessions under
 * logs_dir (NULL: osiris.yaml's) that finished more than days ago (0: none by age), then the
 * oldest while the rest is over max_gb gigabytes (negative: no size limit), never a live run
 * (nothing with dry_run). Returns what it did, {dry_run, count, bytes, kept, days, sessions,
 * errors, logs_dir} (a new reference), with *rc the exit code (1 when a deletion failed); NULL
 * after reporting a logs directory that cannot be read. cli_logs_gc_print() prints it as text. */
json_t *cli_logs_gc(struct cli_ctx *ctx, const char *logs_dir, long days, double max_gb,
                    bool dry_run, int *rc);
void cli_logs_gc_print(const json_t *result);

/* Same for a message built here; code picks the exit status. */
int cli_failf(struct cli_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes v (ownership is taken) pretty-printed to stdout with a final newline. */
void cli_print_json(json_t *v);

/* A warning on stderr ("osiris: warning: ..."). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ==== Project context (project.c) ==== */

/* What a command works on: .env loaded into the environment, osiris.yaml, the component
 * registry and osiris_connections.yaml. */
struct cli_project {
    struct project_config cfg;
    struct registry reg;
    struct connections conns;
    bool have_cfg, have_reg, have_conns;
};

/* Loads everything (--components-dir / $OSIRIS_COMPONENTS_DIR for the registry). On failure
 * the error is reported (exit code returned, non-zero) and nothing needs releasing. */
int cli_project_open(struct cli_ctx *ctx, struct cli_project *p);
void cli_project_close(struct cli_project *p);

/* ==== Tables and display formats (table.c) ==== */

/* Rows of cells printed on stdout in columns two spaces apart; the last column is not padded. */
struct cli_table {
    size_t ncols;       /* cells per row */
    const char **cells; /* nrows * ncols (owned; the strings are borrowed until printed) */
    size_t nrows, cap;
};

/* Adds a row of t->ncols strings (NULL prints as "-"). */
void cli_table_row(struct cli_table *t, ...);
void cli_table_row_v(struct cli_table *t, const char *const *cells);

/* Prints the rows and empties the table. */
void cli_table_print(struct cli_table *t);

/* Warns that n lines of a JSON-lines file (where) were skipped; nothing when n is 0. */
void cli_warn_bad_lines(const char *where, size_t n);

/* ==== Help (help.c) ==== */

/* "osiris components list [--mode MODE] [--runnable] [--json]" */
void cli_synopsis(const struct cli_command *cmd, struct strbuf *out);

/* Prints the command's help, as text or (with --json) as {command, synopsis, summary, options}. */
void cli_help(const struct cli_ctx *ctx, const struct cli_command *cmd);

/* The global options, shared by the parser in main.c and the help. */
extern const struct cli_option cli_global_options[];

#endif
