/* Column type inference over sample values: text in, one type name out. No I/O and no
 * third-party library; the rules are a specification (docs/commands/discovery.md, "Type
 * inference") with a test table in tests/unit/test-csvinfer.c, not a library's lenient parser.
 *
 * Inference is streaming: csvinfer_add() updates a few counters per value, so a column of any
 * length needs constant memory. The result depends only on the multiset of values plus the order
 * of the first 20 non-null ones (rule 5).
 *
 * Each value is first trimmed of surrounding whitespace. It is NULL when it is SQL NULL, empty
 * after trimming, or one of pandas' default NA strings (case-sensitive): #N/A, #N/A N/A, #NA,
 * -1.#IND, -1.#QNAN, -NaN, -nan, 1.#IND, 1.#QNAN, <NA>, N/A, NA, NULL, NaN, None, n/a, nan, null.
 * Over the non-null values, the first rule that holds gives the type:
 *
 *  1. no non-null value                                  → string
 *  2. every value is true or false, in any letter case   → boolean
 *  3. every value is an integer: [+-]?digits, within the signed 64-bit range, with no leading
 *     zero unless the digits are exactly "0" ("001" stays a string: as an integer it would lose
 *     its zeros; "99999999999999999999" stays a string: as a float it would lose digits)
 *                                                         → integer
 *  4. every value is an integer or a float: [+-]?(digits[.digits?]|.digits)([eE][+-]?digits)?
 *     with the same leading-zero rule for the digits before the point, or [+-]?inf|infinity in
 *     any letter case                                    → float
 *  5. datetime, strict pass: for the formats "%Y-%m-%d %H:%M:%S", "%Y-%m-%d" and ISO 8601, in
 *     this order, the first for which more than 80% of ALL sampled values (nulls included)
 *     parse                                               → datetime
 *     Lenient pass, only when some of the first 20 non-null values contains a separator ('-',
 *     '/', ':', '.' or whitespace): more than 80% of the NON-NULL values parse with one of the
 *     strict formats or one of the lenient formats below, and not every parsed year is 1970
 *                                                         → datetime
 *  6. otherwise                                           → string
 *
 * Formats (a space matches one or more whitespace characters; letters in names are
 * case-insensitive; every parsed date must exist, 2024-02-30 does not):
 *   %Y  exactly 4 digits, 0001-9999     %m  1-2 digits, 1-12      %d  1-2 digits, 1-31
 *   %H  1-2 digits, 0-23                %M  1-2 digits, 0-59      %S  1-2 digits, 0-59
 *   %f  1-9 digits                      %b  English month name, abbreviated (Jan, Sept) or full
 *   %a  English weekday name, abbreviated or full                 %p  AM or PM (hour 1-12)
 *   %z  Z, UTC, GMT, +hh, +hhmm or +hh:mm (or -)
 * ISO 8601: YYYY-MM-DD, optionally followed by 'T' or one space and HH:MM, optionally :SS and
 * .fraction (1-9 digits), optionally Z or an offset +hh, +hhmm or +hh:mm (two-digit fields).
 * Lenient dates: %Y-%m-%d, %Y/%m/%d, %Y.%m.%d, %Y %m %d, %d.%m.%Y, %d/%m/%Y, %m/%d/%Y,
 * %d-%m-%Y, %m-%d-%Y, %b %d %Y, %b %d, %Y, %d %b %Y, %d-%b-%Y, %Y-%b-%d; each may start with a
 * weekday ("%a " or "%a, ") and may be followed by a time: 'T' or whitespace, then %H:%M,
 * optionally :%S and .%f, then optionally %p and %z, each after optional whitespace.
 * Not dates: time-only values (10:30), year-month values (2024-03), two-digit years (17/03/24),
 * numbers (20240317 and 12345 are integers by rule 3, never epoch offsets). */
#ifndef OSIRIS_CSVINFER_H
#define OSIRIS_CSVINFER_H

#include <stdbool.h>
#include <stddef.h>

enum csvinfer_type {
    CSVINFER_STRING,
    CSVINFER_INTEGER,
    CSVINFER_FLOAT,
    CSVINFER_BOOLEAN,
    CSVINFER_DATETIME,
};

/* The strict datetime formats of rule 5, in the order they are tried. */
enum { CSVINFER_NSTRICT = 3 };

/* The counters of one column; start from CSVINFER_INIT. Plain data: copy or discard freely. */
struct csvinfer {
    size_t total;                    /* values added, nulls included */
    size_t nonnull;                  /* values that are not NULL */
    size_t booleans;                 /* true / false */
    size_t integers;                 /* rule 3 */
    size_t floats;                   /* rule 4, not integers */
    size_t strict[CSVINFER_NSTRICT]; /* values parsed by each strict format */
    size_t lenient;                  /* values parsed by a strict or a lenient format */
    bool separator;                  /* one of the first 20 non-null values has a separator */
    bool year_not_1970;              /* some value parsed leniently has a year other than 1970 */
};

#define CSVINFER_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* Adds one value of len bytes (need not be NUL-terminated); value NULL is SQL NULL. */
void csvinfer_add(struct csvinfer *ci, const char *value, size_t len);

/* The type of the values added so far. */
enum csvinfer_type csvinfer_result(const struct csvinfer *ci);

/* "string", "integer", "float", "boolean", "datetime": static strings. */
const char *csvinfer_type_name(enum csvinfer_type type);

/* The type of a whole column of NUL-terminated values (NULL entries are SQL NULL). */
enum csvinfer_type csvinfer_column(const char *const *values, size_t n);

/* The first format that parses one (trimmed) value: one of the strict formats
 * ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "ISO8601"), else with lenient set one of the lenient date
 * formats as listed above ("%d.%m.%Y"); NULL when none does. A static string. */
const char *csvinfer_datetime_format(const char *value, size_t len, bool lenient);

#endif
