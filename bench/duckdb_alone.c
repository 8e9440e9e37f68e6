/* The benchmark's baseline: the work of bench/pipeline.sh's osiris pipeline done with the DuckDB
 * C API alone, the way a DuckDB user would write it. The database is opened as osiris opens a
 * run's (src/engine/dataplane.c): in memory, memory_limit, a spill temp_directory in a scratch
 * directory, DuckDB's default thread count; the CSV is read with the options osiris's
 * csv_extractor passes by default, grouped by the same query, and written with COPY.
 *
 *   duckdb_alone CSV OUTDIR [MEMORY_LIMIT]
 *
 * Writes OUTDIR/agg.csv and OUTDIR/agg.parquet; OUTDIR/.scratch holds what the database spills
 * while it runs and is removed at the end (as osiris removes a run's .scratch). Prints the time of
 * each statement on stderr and "src_rows agg_rows" on stdout. */
#define _XOPEN_SOURCE 700
#include <duckdb.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* read_csv options osiris's filesystem.csv_extractor uses for a config with only `path`
 * (src/drivers/csv_extractor.c); keep the two in step. */
#define READ_CSV_OPTIONS                                                                           \
    "delim = ',', quote = '\"', escape = '\"', header = true, skip = 0, comment = '', "            \
    "strict_mode = true, allow_quoted_nulls = false, encoding = 'utf-8', compression = 'none', "   \
    "auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR'], nullstr = ['']"

/* The group-by of bench/pipeline.sh's duckdb.processor step, over src instead of input_df; keep
 * the two in step (the script compares the outputs). Column names are in byte order because
 * osiris's CSV writer writes columns sorted by name; the doubles are summed as DECIMAL so the
 * result does not depend on the order parallel threads add them in. */
#define AGG_QUERY                                                                                  \
    "SELECT sum(CAST(amount AS DECIMAL(18, 2))) AS amount_sum, category, count(code) AS codes, "   \
    "min(ts) AS first_ts, max(ts) AS last_ts, sum(length(note)) AS note_chars, "                   \
    "count(*) AS row_count, round(avg(CAST(score AS DECIMAL(9, 4))), 6) AS score_avg "             \
    "FROM src GROUP BY category ORDER BY category"

struct bench {
    duckdb_database db;
    duckdb_connection conn;
    const char *csv;    /* input file */
    const char *outdir; /* output directory */
    char scratch[4096]; /* OUTDIR/.scratch */
};

/* ==== Helpers ==== */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* s as an SQL string literal, in a malloc'd buffer. */
static char *sql_string(const char *s)
{
    char *q = malloc(2 * strlen(s) + 3);
    if (!q)
        abort();
    char *p = q;
    *p++ = '\'';
    for (; *s; s++) {
        if (*s == '\'')
            *p++ = '\'';
        *p++ = *s;
    }
    *p++ = '\'';
    *p = '\0';
    return q;
}

/* Runs sql; prints its duration under label. The first value of the result (a count) goes to
 * *value when value is not NULL. */
static int exec(struct bench *b, const char *label, const char *sql, long long *value)
{
    duckdb_result res;
    double t0 = now_ms();
    if (duckdb_query(b->conn, sql, &res) != DuckDBSuccess) {
        fprintf(stderr, "duckdb_alone: %s: %s\n", label, duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return -1;
    }
    if (value)
        *value = (long long)duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    fprintf(stderr, "  %-12s %9.0f ms\n", label, now_ms() - t0);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ==== Main ==== */

static int run(struct bench *b, const char *memory_limit)
{
    char spill[4200], sql[8192];
    int rc = -1;
    snprintf(spill, sizeof(spill), "%s/spill", b->scratch);

    duckdb_config config;
    if (duckdb_create_config(&config) != DuckDBSuccess)
        return -1;
    duckdb_set_config(config, "temp_directory", spill);
    duckdb_set_config(config, "memory_limit", memory_limit);
    char *msg = NULL;
    duckdb_state st = duckdb_open_ext(NULL, &b->db, config, &msg); /* in memory */
    duckdb_destroy_config(&config);
    if (st != DuckDBSuccess) {
        fprintf(stderr, "duckdb_alone: cannot open the database: %s\n", msg ? msg : "?");
        duckdb_free(msg);
        return -1;
    }
    if (duckdb_connect(b->db, &b->conn) != DuckDBSuccess) {
        fprintf(stderr, "duckdb_alone: cannot connect\n");
        goto close_db;
    }

    char *csv = sql_string(b->csv);
    snprintf(sql, sizeof(sql), "%s/agg.csv", b->outdir);
    char *out_csv = sql_string(sql);
    snprintf(sql, sizeof(sql), "%s/agg.parquet", b->outdir);
    char *out_parquet = sql_string(sql);
    long long src_rows = 0, agg_rows = 0;

    snprintf(sql, sizeof(sql), "CREATE TABLE src AS SELECT * FROM read_csv(%s, %s)", csv,
             READ_CSV_OPTIONS);
    if (exec(b, "read_csv", sql, NULL) != 0 ||
        exec(b, "count src", "SELECT count(*) FROM src", &src_rows) != 0 ||
        exec(b, "group by", "CREATE TABLE agg AS " AGG_QUERY, NULL) != 0 ||
        exec(b, "count agg", "SELECT count(*) FROM agg", &agg_rows) != 0 ||
        exec(b, "drop src", "DROP TABLE src", NULL) != 0)
        goto done;
    snprintf(sql, sizeof(sql), "COPY agg TO %s (FORMAT csv, HEADER true)", out_csv);
    if (exec(b, "copy csv", sql, NULL) != 0)
        goto done;
    snprintf(sql, sizeof(sql), "COPY agg TO %s (FORMAT parquet)", out_parquet);
    if (exec(b, "copy parquet", sql, NULL) != 0)
        goto done;
    printf("%lld %lld\n", src_rows, agg_rows);
    rc = 0;
done:
    free(csv);
    free(out_csv);
    free(out_parquet);
    duckdb_disconnect(&b->conn);
close_db:
    duckdb_close(&b->db);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: duckdb_alone CSV OUTDIR [MEMORY_LIMIT]\n");
        return 2;
    }
    struct bench b = { .csv = argv[1], .outdir = argv[2] };
    const char *memory_limit = argc > 3 ? argv[3] : "512MB";
    if (mkdir(b.outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "duckdb_alone: %s: %s\n", b.outdir, strerror(errno));
        return 1;
    }
    snprintf(b.scratch, sizeof(b.scratch), "%s/.scratch", b.outdir);
    remove_tree(b.scratch);
    if (mkdir(b.scratch, 0777) != 0) {
        fprintf(stderr, "duckdb_alone: %s: %s\n", b.scratch, strerror(errno));
        return 1;
    }
    double t0 = now_ms();
    int rc = run(&b, memory_limit);
    remove_tree(b.scratch);
    fprintf(stderr, "  %-12s %9.0f ms\n", "total", now_ms() - t0);
    return rc == 0 ? 0 : 1;
}
