/* Column type inference for CSV discovery (rules in csvinfer.h). Dates are recognised by a small
 * strptime-like matcher over a fixed list of formats, so what counts as a date is written down
 * here rather than left to a lenient parser that reads numeric ids as epoch offsets. */
#include "csvinfer.h"

#include <string.h>
#include <strings.h>

/* ==== Characters ==== */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *skip_space(const char *s, const char *end)
{
    while (s < end && is_space(*s))
        s++;
    return s;
}

/* True when [s, end) equals word, ignoring letter case. */
static bool equals_nocase(const char *s, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - s) == n && strncasecmp(s, word, n) == 0;
}

/* ==== Nulls, booleans and numbers ==== */

/* pandas' default NA strings (read_csv na_values), compared case-sensitively. */
static const char *const null_tokens[] = {
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",      "NA",  "NULL",    "NaN",      "None", "n/a",  "nan",    "null",
};

static bool is_null_token(const char *s, const char *end)
{
    size_t n = (size_t)(end - s);
    if (n == 0)
        return true;
    for (size_t i = 0; i < sizeof(null_tokens) / sizeof(*null_tokens); i++)
        if (strlen(null_tokens[i]) == n && memcmp(null_tokens[i], s, n) == 0)
            return true;
    return false;
}

static bool is_boolean(const char *s, const char *end)
{
    return equals_nocase(s, end, "true") || equals_nocase(s, end, "false");
}

enum number_kind { NUM_NONE, NUM_INTEGER, NUM_FLOAT };

static enum number_kind classify_number(const char *s, const char *end)
{
    const char *p = s;
    bool negative = false;
    if (p < end && (*p == '+' || *p == '-')) {
        negative = *p == '-';
        p++;
    }
    if (equals_nocase(p, end, "inf") || equals_nocase(p, end, "infinity"))
        return NUM_FLOAT;
    const char *int_digits = p;
    while (p < end && is_digit(*p))
        p++;
    size_t nint = (size_t)(p - int_digits), nfrac = 0;
    bool point = false, exponent = false;
    if (p < end && *p == '.') {
        point = true;
        const char *frac = ++p;
        while (p < end && is_digit(*p))
            p++;
        nfrac = (size_t)(p - frac);
    }
    if (nint + nfrac == 0)
        return NUM_NONE;
    if (p < end && (*p == 'e' || *p == 'E')) {
        exponent = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *exp_digits = p;
        while (p < end && is_digit(*p))
            p++;
        if (p == exp_digits)
            return NUM_NONE;
    }
    if (p != end)
        return NUM_NONE;
    /* "007" is a code, not the number 7: as a number it would lose its zeros. */
    if (nint > 1 && int_digits[0] == '0')
        return NUM_NONE;
    if (point || exponent)
        return NUM_FLOAT;
    /* Beyond 64 bits an integer would be read as a float and lose digits: keep it text. */
    if (nint > 19)
        return NUM_NONE;
    if (nint == 19 &&
        memcmp(int_digits, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0)
        return NUM_NONE;
    return NUM_INTEGER;
}

/* ==== Dates ==== */

struct dt {
    int year, month, day; /* 0 while not parsed */
    int hour;             /* 0 when there is no time */
    bool ampm;            /* %p was given: hour must be 1-12 */
};

static const struct name {
    const char *text;
    int value;
} month_names[] = {
    { "january", 1 },   { "february", 2 },  { "march", 3 },  { "april", 4 },     { "may", 5 },
    { "june", 6 },      { "july", 7 },      { "august", 8 }, { "september", 9 }, { "october", 10 },
    { "november", 11 }, { "december", 12 }, { "jan", 1 },    { "feb", 2 },       { "mar", 3 },
    { "apr", 4 },       { "jun", 6 },       { "jul", 7 },    { "aug", 8 },       { "sep", 9 },
    { "sept", 9 },      { "oct", 10 },      { "nov", 11 },   { "dec", 12 },
};

static const struct name weekday_names[] = {
    { "monday", 1 },   { "tuesday", 2 }, { "wednesday", 3 }, { "thursday", 4 }, { "friday", 5 },
    { "saturday", 6 }, { "sunday", 7 },  { "mon", 1 },       { "tue", 2 },      { "tues", 2 },
    { "wed", 3 },      { "thu", 4 },     { "thur", 4 },      { "thurs", 4 },    { "fri", 5 },
    { "sat", 6 },      { "sun", 7 },
};

/* A whole word of names (the next character is not a letter); its value in *value. */
static const char *match_name(const char *s, const char *end, const struct name *names, size_t n,
                              int *value)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i].text);
        if ((size_t)(end - s) < len || strncasecmp(s, names[i].text, len) != 0)
            continue;
        if (s + len < end && is_alpha(s[len]))
            continue;
        *value = names[i].value;
        return s + len;
    }
    return NULL;
}

/* min..max digits (greedy) whose value is within lo..hi. */
static const char *match_digits(const char *s, const char *end, int min, int max, int lo, int hi,
                                int *value)
{
    int v = 0, n = 0;
    while (n < max && s < end && is_digit(*s)) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n < min || v < lo || v > hi)
        return NULL;
    *value = v;
    return s;
}

/* Z, an offset +hh, +hhmm or +hh:mm (or -), and with names also UTC and GMT. */
static const char *match_zone(const char *s, const char *end, bool names)
{
    int v;
    if (s < end && (*s == 'Z' || *s == 'z') && (s + 1 == end || !is_alpha(s[1])))
        return s + 1;
    if (names && (size_t)(end - s) >= 3 &&
        (strncasecmp(s, "utc", 3) == 0 || strncasecmp(s, "gmt", 3) == 0) &&
        (s + 3 == end || !is_alpha(s[3])))
        return s + 3;
    if (s == end || (*s != '+' && *s != '-'))
        return NULL;
    s = match_digits(s + 1, end, 2, 2, 0, 23, &v);
    if (!s || s == end || !(is_digit(*s) || *s == ':'))
        return s;
    if (*s == ':')
        s++;
    return match_digits(s, end, 2, 2, 0, 59, &v);
}

/* Matches fmt against the start of [s, end); the position after the match, or NULL. In fmt a
 * space matches one or more whitespace characters, "%2x" a field of exactly two digits, "%z" a
 * zone without names and "%Z" one with UTC/GMT; other characters match themselves. */
static const char *dt_match(const char *fmt, const char *s, const char *end, struct dt *t)
{
    int v;
    for (const char *f = fmt; s && *f; f++) {
        if (*f == ' ') {
            if (s == end || !is_space(*s))
                return NULL;
            s = skip_space(s, end);
            continue;
        }
        if (*f != '%') {
            if (s == end || *s != *f)
                return NULL;
            s++;
            continue;
        }
        int min = 1;
        if (f[1] == '2') {
            min = 2;
            f++;
        }
        switch (*++f) {
        case 'Y':
            s = match_digits(s, end, 4, 4, 1, 9999, &t->year);
            break;
        case 'm':
            s = match_digits(s, end, min, 2, 1, 12, &t->month);
            break;
        case 'd':
            s = match_digits(s, end, min, 2, 1, 31, &t->day);
            break;
        case 'H':
            s = match_digits(s, end, min, 2, 0, 23, &t->hour);
            break;
        case 'M':
        case 'S':
            s = match_digits(s, end, min, 2, 0, 59, &v);
            break;
        case 'f':
            s = match_digits(s, end, 1, 9, 0, 999999999, &v);
            break;
        case 'b':
            s = match_name(s, end, month_names, sizeof(month_names) / sizeof(*month_names),
                           &t->month);
            break;
        case 'a':
            s = match_name(s, end, weekday_names, sizeof(weekday_names) / sizeof(*weekday_names),
                           &v);
            break;
        case 'p':
            if ((size_t)(end - s) >= 2 &&
                (strncasecmp(s, "am", 2) == 0 || strncasecmp(s, "pm", 2) == 0) &&
                (s + 2 == end || !is_alpha(s[2]))) {
                t->ampm = true;
                s += 2;
            } else {
                s = NULL;
            }
            break;
        case 'z':
        case 'Z':
            s = match_zone(s, end, *f == 'Z');
            break;
        default:
            return NULL;
        }
    }
    return s;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The date exists and a 12-hour clock reads 1-12. */
static bool dt_valid(const struct dt *t)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (t->month < 1 || t->month > 12 || t->day < 1)
        return false;
    int dim = days[t->month - 1] + (t->month == 2 && is_leap(t->year));
    if (t->day > dim)
        return false;
    return !t->ampm || (t->hour >= 1 && t->hour <= 12);
}

static const char *const strict_names[CSVINFER_NSTRICT] = {
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "ISO8601",
};

/* ISO 8601 after the date: nothing, or 'T'/one space, HH:MM[:SS[.f]] and an optional zone. */
static bool iso_tail(const char *s, const char *end, struct dt *t)
{
    if (s == end)
        return true;
    if (*s != 'T' && *s != ' ')
        return false;
    s = dt_match("%2H:%2M", s + 1, end, t);
    if (s && s < end && *s == ':') {
        s = dt_match(":%2S", s, end, t);
        if (s && s < end && *s == '.')
            s = dt_match(".%f", s, end, t);
    }
    if (s && s < end)
        s = dt_match("%z", s, end, t);
    return s == end;
}

static bool parse_strict(int which, const char *s, const char *end, struct dt *t)
{
    memset(t, 0, sizeof(*t));
    const char *rest;
    if (which < 2) { /* the two plain formats are their own names */
        rest = dt_match(strict_names[which], s, end, t);
        return rest == end && dt_valid(t);
    }
    rest = dt_match("%Y-%2m-%2d", s, end, t);
    return rest && iso_tail(rest, end, t) && dt_valid(t);
}

static const char *const lenient_dates[] = {
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y %m %d",  "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y",
    "%d-%m-%Y", "%m-%d-%Y", "%b %d %Y", "%b %d, %Y", "%d %b %Y", "%d-%b-%Y", "%Y-%b-%d",
};

/* An optional time after a lenient date: 'T' or whitespace, %H:%M[:%S[.%f]], then optionally
 * %p and a zone, each after optional whitespace. */
static bool lenient_tail(const char *s, const char *end, struct dt *t)
{
    if (s == end)
        return true;
    if (*s == 'T')
        s++;
    else if (is_space(*s))
        s = skip_space(s, end);
    else
        return false;
    s = dt_match("%H:%M", s, end, t);
    if (s && s < end && *s == ':') {
        s = dt_match(":%S", s, end, t);
        if (s && s < end && *s == '.')
            s = dt_match(".%f", s, end, t);
    }
    if (!s)
        return false;
    const char *p = dt_match("%p", skip_space(s, end), end, t);
    if (p)
        s = p;
    p = skip_space(s, end);
    if (p < end)
        s = dt_match("%Z", p, end, t);
    return s == end;
}

static const char *parse_lenient(const char *s, const char *end, struct dt *t)
{
    struct dt scratch;
    const char *after = dt_match("%a, ", s, end, &scratch);
    if (!after)
        after = dt_match("%a ", s, end, &scratch);
    if (after)
        s = after;
    for (size_t i = 0; i < sizeof(lenient_dates) / sizeof(*lenient_dates); i++) {
        memset(t, 0, sizeof(*t));
        const char *rest = dt_match(lenient_dates[i], s, end, t);
        if (rest && lenient_tail(rest, end, t) && dt_valid(t))
            return lenient_dates[i];
    }
    return NULL;
}

/* ==== Inference ==== */

static void trim(const char **s, const char **end)
{
    while (*s < *end && is_space(**s))
        (*s)++;
    while (*end > *s && is_space((*end)[-1]))
        (*end)--;
}

static bool has_separator(const char *s, const char *end)
{
    for (; s < end; s++)
        if (*s == '-' || *s == '/' || *s == ':' || *s == '.' || is_space(*s))
            return true;
    return false;
}

static bool has_digit(const char *s, const char *end)
{
    for (; s < end; s++)
        if (is_digit(*s))
            return true;
    return false;
}

void csvinfer_add(struct csvinfer *ci, const char *value, size_t len)
{
    ci->total++;
    if (!value)
        return;
    const char *s = value, *end = value + len;
    trim(&s, &end);
    if (is_null_token(s, end))
        return;
    if (ci->nonnull++ < 20 && has_separator(s, end))
        ci->separator = true;
    if (is_boolean(s, end)) {
        ci->booleans++;
        return;
    }
    switch (classify_number(s, end)) {
    case NUM_INTEGER:
        ci->integers++;
        return;
    case NUM_FLOAT:
        ci->floats++;
        return;
    case NUM_NONE:
        break;
    }
    /* Every format has digits; numbers and booleans, counted above, parse with none. */
    if (!has_digit(s, end))
        return;
    struct dt t;
    bool parsed = false;
    int year = 0;
    for (int i = 0; i < CSVINFER_NSTRICT; i++) {
        if (parse_strict(i, s, end, &t)) {
            ci->strict[i]++;
            parsed = true;
            year = t.year;
        }
    }
    if (!parsed && parse_lenient(s, end, &t)) {
        parsed = true;
        year = t.year;
    }
    if (parsed) {
        ci->lenient++;
        if (year != 1970)
            ci->year_not_1970 = true;
    }
}

enum csvinfer_type csvinfer_result(const struct csvinfer *ci)
{
    if (ci->nonnull == 0)
        return CSVINFER_STRING;
    if (ci->booleans == ci->nonnull)
        return CSVINFER_BOOLEAN;
    if (ci->integers == ci->nonnull)
        return CSVINFER_INTEGER;
    if (ci->integers + ci->floats == ci->nonnull)
        return CSVINFER_FLOAT;
    /* "More than 80%": parsed / total > 4 / 5. */
    for (int i = 0; i < CSVINFER_NSTRICT; i++)
        if (ci->strict[i] * 5 > ci->total * 4)
            return CSVINFER_DATETIME;
    if (ci->separator && ci->lenient * 5 > ci->nonnull * 4 && ci->year_not_1970)
        return CSVINFER_DATETIME;
    return CSVINFER_STRING;
}

const char *csvinfer_type_name(enum csvinfer_type type)
{
    switch (type) {
    case CSVINFER_INTEGER:
        return "integer";
    case CSVINFER_FLOAT:
        return "float";
    case CSVINFER_BOOLEAN:
        return "boolean";
    case CSVINFER_DATETIME:
        return "datetime";
    case CSVINFER_STRING:
        break;
    }
    return "string";
}

enum csvinfer_type csvinfer_column(const char *const *values, size_t n)
{
    struct csvinfer ci = CSVINFER_INIT;
    for (size_t i = 0; i < n; i++)
        csvinfer_add(&ci, values[i], values[i] ? strlen(values[i]) : 0);
    return csvinfer_result(&ci);
}

const char *csvinfer_datetime_format(const char *value, size_t len, bool lenient)
{
    const char *s = value, *end = value + len;
    trim(&s, &end);
    struct dt t;
    for (int i = 0; i < CSVINFER_NSTRICT; i++)
        if (parse_strict(i, s, end, &t))
            return strict_names[i];
    return lenient ? parse_lenient(s, end, &t) : NULL;
}
