/* csvinfer: the type-inference table of discovery (AS-35 and the datetime rules of the original's
 * PR #66), one column per row, plus single-value format checks and the streaming counters. */
#include "../harness/tap.h"
#include "csvinfer.h"

#define MAXV 40

struct column_case {
    const char *name;
    const char *want;
    const char *values[MAXV]; /* terminated by END; NULL entries are SQL NULL */
};

/* Marks the end of a values list, so NULL can be a value. */
static const char end_marker[] = "<end>";
#define END end_marker

/* AS-35's sparse column: 20 blanks and 10 ISO dates. */
#define BLANK20 "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""
#define ISO10                                                                                      \
    "2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z", "2024-01-03T10:00:00Z",                        \
        "2024-01-04T10:00:00Z", "2024-01-05T10:00:00Z", "2024-01-06T10:00:00Z",                    \
        "2024-01-07T10:00:00Z", "2024-01-08T10:00:00Z", "2024-01-09T10:00:00Z",                    \
        "2024-01-10T10:00:00Z"

static const struct column_case columns[] = {
    /* AS-35: actors.csv */
    { "actor_id", "integer", { "1", "2", "3", "4", END } },
    { "birth_year", "integer", { "1956", "1974", "1990", END } },
    { "name", "string", { "Tom Hanks", "Leonardo DiCaprio", "Emma Stone", END } },
    { "rating", "float", { "8.5", "9.1", "7.8", END } },
    { "created_at", "datetime", { "2025-03-03 11:53:20", "2025-03-04 09:00:01", END } },
    /* AS-35: the datetime examples */
    { "european dates", "datetime", { "17.03.2024", "18.03.2024", "01.12.2023", END } },
    { "text-month dates", "datetime", { "Mar 5 2024", "Apr 12 2024", "Dec 31 2023", END } },
    { "space-separated dates", "datetime", { "2024 03 17", "2024 03 18", "2023 12 01", END } },
    { "sparse ISO dates (lenient pass over non-null values)", "datetime", { BLANK20, ISO10, END } },
    { "numeric ids (never epoch offsets)", "integer", { "12345", "12346", "99999", END } },
    { "compact dates are integers", "integer", { "20240317", "20240318", "20231201", END } },
    /* strict formats */
    { "%Y-%m-%d", "datetime", { "2024-03-17", "2024-3-5", END } },
    { "ISO with fraction and offset",
      "datetime",
      { "2024-03-17T10:00:00.123456+01:00", "2024-03-17T10:00Z", "2024-03-17 10:00:00-0500",
        END } },
    { "strict: 9 of 10 parse (> 80% of all)",
      "datetime",
      { "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06",
        "2024-01-07", "2024-01-08", "2024-01-09", "soon", END } },
    { "4 of 5 parse is not more than 80%",
      "string",
      { "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "soon", END } },
    { "one null among 5 dates: strict 5/6 passes",
      "datetime",
      { "2024-01-01", "2024-01-02", NULL, "2024-01-04", "2024-01-05", "2024-01-06", END } },
    /* lenient formats */
    { "%d/%m/%Y and %m/%d/%Y", "datetime", { "17/03/2024", "03/17/2024", "1/2/2024", END } },
    { "%Y/%m/%d", "datetime", { "2024/03/17", "2024/3/1", END } },
    { "%d %b %Y and %B", "datetime", { "5 Mar 2024", "17 MARCH 2024", "1 sept 2023", END } },
    { "%b %d, %Y", "datetime", { "March 5, 2024", "Jan 1, 2024", END } },
    { "%d-%b-%Y", "datetime", { "17-Mar-2024", "01-Jan-2000", END } },
    { "RFC 2822",
      "datetime",
      { "Tue, 05 Mar 2024 10:00:00 +0000", "Wed, 06 Mar 2024 11:30:00 GMT", END } },
    { "European with time", "datetime", { "17.03.2024 10:30", "18.03.2024 9:05:01", END } },
    { "US with AM/PM", "datetime", { "03/17/2024 10:30 PM", "03/18/2024 1:05 am", END } },
    { "lenient: 9 of 10 non-null",
      "datetime",
      { "17.03.2024", "18.03.2024", "19.03.2024", "20.03.2024", "21.03.2024", "22.03.2024",
        "23.03.2024", "24.03.2024", "25.03.2024", "tomorrow", NULL, NULL, END } },
    { "lenient: exactly 80% is not enough",
      "string",
      { "17.03.2024", "18.03.2024", "19.03.2024", "20.03.2024", "tomorrow", END } },
    { "every year 1970 (epoch guard)", "string", { "01.01.1970", "02.01.1970", END } },
    { "one year besides 1970", "datetime", { "01.01.1970", "02.01.1971", END } },
    { "strict formats skip the epoch guard", "datetime", { "1970-01-01", "1970-01-02", END } },
    { "no separator in the first 20 values",
      "string",
      { "a", "b", "c", "d", "e", "f", "g", "h", "i",          "j",          "k", "l",
        "m", "n", "o", "p", "q", "r", "s", "t", "17.03.2024", "18.03.2024", END } },
    { "impossible dates", "string", { "2024-02-30", "31.04.2024", "2023-02-29", END } },
    { "leap day", "datetime", { "2024-02-29", "29.02.2000", END } },
    { "time only is not a date", "string", { "10:30", "11:45:00", END } },
    { "year-month is not a date", "string", { "2024-03", "2024-04", END } },
    { "two-digit years are not dates", "string", { "17/03/24", "18/03/24", END } },
    { "version numbers", "string", { "1.2.3", "10.4.1", END } },
    { "IP addresses", "string", { "192.168.1.1", "10.0.0.1", END } },
    { "phone numbers", "string", { "555-123-4567", "555-987-6543", END } },
    { "13 is not a month", "string", { "2024.13.01", "17.13.2024", END } },
    /* booleans */
    { "booleans in any case", "boolean", { "true", "False", "TRUE", "fAlSe", END } },
    { "booleans with nulls", "boolean", { "true", NULL, "", "false", END } },
    { "yes/no are text", "string", { "yes", "no", END } },
    { "0/1 are integers", "integer", { "0", "1", "1", "0", END } },
    { "booleans mixed with integers", "string", { "true", "1", END } },
    /* numbers */
    { "negative integers", "integer", { "-5", "+7", "0", "-0", END } },
    { "int64 bounds", "integer", { "9223372036854775807", "-9223372036854775808", END } },
    { "beyond int64", "string", { "9223372036854775808", "1", END } },
    { "20 digits", "string", { "12345678901234567890", END } },
    { "integers and floats", "float", { "1", "2.5", "3", END } },
    { "negative and exponent floats", "float", { "-1.5", "1e10", "2.5E-3", "-3e+2", END } },
    { "bare points", "float", { ".5", "5.", "-.25", END } },
    { "infinity", "float", { "inf", "-Infinity", "1.5", END } },
    { "leading zeros are codes", "string", { "001", "002", "010", END } },
    { "leading zero mixed with integers", "string", { "007", "5", END } },
    { "leading zero float", "string", { "00.5", "1.5", END } },
    { "zero point five", "float", { "0.5", "0.25", END } },
    { "thousands separators", "string", { "1,000", "2,500", END } },
    { "hex", "string", { "0x1F", "0x20", END } },
    { "lone sign or point", "string", { "-", ".", END } },
    { "exponent without digits", "string", { "1e", "2e+", END } },
    { "surrounding spaces are trimmed", "integer", { " 1", "2 ", "\t3\t", END } },
    /* nulls */
    { "all null", "string", { NULL, "", "   ", END } },
    { "no values", "string", { END } },
    { "pandas NA strings are nulls",
      "integer",
      { "1", "NA", "N/A", "NULL", "nan", "None", "2", END } },
    { "integers with nulls stay integers", "integer", { "1", NULL, "3", "", END } },
    { "NA strings are case-sensitive", "string", { "1", "Null", END } },
    { "plain text", "string", { "hello", "world", END } },
};

static void check_columns(void)
{
    for (size_t i = 0; i < sizeof(columns) / sizeof(*columns); i++) {
        const struct column_case *c = &columns[i];
        size_t n = 0;
        while (c->values[n] != END)
            n++;
        is_str(csvinfer_type_name(csvinfer_column(c->values, n)), c->want, "column: %s", c->name);
    }
}

static void check_formats(void)
{
    static const struct {
        const char *value;
        bool lenient;
        const char *want; /* NULL: no format */
    } cases[] = {
        { "2025-03-03 11:53:20", false, "%Y-%m-%d %H:%M:%S" },
        { "2025-03-03   11:53:20", false, "%Y-%m-%d %H:%M:%S" },
        { "2025-03-03", false, "%Y-%m-%d" },
        { "2025-3-3", false, "%Y-%m-%d" },
        { "2025-03-03T11:53", false, "ISO8601" },
        { "2025-03-03T11:53:20.5Z", false, "ISO8601" },
        { "2025-03-03T11:53:20+05:30", false, "ISO8601" },
        { "2025-03-03T11:53:20+05", false, "ISO8601" },
        { "2025-3-03T11:53", false, NULL },
        { "2025-03-03T11:53:20.1234567890", false, NULL },
        { "2025-03-03T11:53:20 UTC", false, NULL },
        { "2025-03-03T25:00", false, NULL },
        { "17.03.2024", false, NULL },
        { "17.03.2024", true, "%d.%m.%Y" },
        { "03/17/2024", true, "%m/%d/%Y" },
        { "17/03/2024", true, "%d/%m/%Y" },
        { "Mar 5 2024", true, "%b %d %Y" },
        { "mar  5   2024", true, "%b %d %Y" },
        { "Mar 5, 2024", true, "%b %d, %Y" },
        { "Sunday, 17 March 2024", true, "%d %b %Y" },
        { "2024 03 17", true, "%Y %m %d" },
        { "2024-Mar-17", true, "%Y-%b-%d" },
        { "  17.03.2024 23:59:59.999 +01:00  ", true, "%d.%m.%Y" },
        { "17.03.2024 13:00 PM", true, NULL },
        { "17.03.2024 12:00 PM", true, "%d.%m.%Y" },
        { "17.03.2024 10:00 EST", true, NULL },
        { "17.03.2024x", true, NULL },
        { "Marc 5 2024", true, NULL },
        { "Mon 5 2024", true, NULL },
        { "20240317", true, NULL },
        { "0000-01-01", true, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const char *got =
            csvinfer_datetime_format(cases[i].value, strlen(cases[i].value), cases[i].lenient);
        const char *want = cases[i].want;
        if (!want)
            ok(got == NULL, "format of '%s'%s: none (got %s)", cases[i].value,
               cases[i].lenient ? " (lenient)" : "", got ? got : "none");
        else
            is_str(got, want, "format of '%s'%s", cases[i].value,
                   cases[i].lenient ? " (lenient)" : "");
    }
}

/* The streaming interface: values need no terminating NUL, the counters are what the header
 * says, and adding more values can change the answer. */
static void check_streaming(void)
{
    struct csvinfer ci = CSVINFER_INIT;
    const char *buf = "17.03.2024|18.03.2024|";
    csvinfer_add(&ci, buf, 10);
    csvinfer_add(&ci, buf + 11, 10);
    csvinfer_add(&ci, NULL, 0);
    is_int(ci.total, 3, "total counts nulls");
    is_int(ci.nonnull, 2, "nonnull");
    is_int(ci.lenient, 2, "both parse leniently");
    is_int(ci.strict[0] + ci.strict[1] + ci.strict[2], 0, "no strict format parses");
    ok(ci.separator, "separator seen");
    is_str(csvinfer_type_name(csvinfer_result(&ci)), "datetime", "lenient datetime");
    csvinfer_add(&ci, "x", 1);
    is_str(csvinfer_type_name(csvinfer_result(&ci)), "string", "2 of 3 is not enough");

    struct csvinfer num = CSVINFER_INIT;
    csvinfer_add(&num, "12", 1); /* only "1" */
    csvinfer_add(&num, "2.5x", 3);
    is_int(num.integers, 1, "length is honoured (integer)");
    is_int(num.floats, 1, "length is honoured (float)");
    is_str(csvinfer_type_name(csvinfer_result(&num)), "float", "1 and 2.5 are floats");
    is_str(csvinfer_type_name(CSVINFER_STRING), "string", "type name of string");

    /* The separator test looks at the first 20 non-null values only: 20 words, then 100 dates
     * (83% of the non-null values) is not a date column; the same values the other way round
     * are. Nulls do not count towards the 20. */
    struct csvinfer late = CSVINFER_INIT, early = CSVINFER_INIT;
    for (int i = 0; i < 20; i++) {
        csvinfer_add(&late, NULL, 0);
        csvinfer_add(&late, "word", 4);
    }
    for (int i = 0; i < 100; i++) {
        csvinfer_add(&late, "17.03.2024", 10);
        csvinfer_add(&early, "17.03.2024", 10);
    }
    for (int i = 0; i < 20; i++)
        csvinfer_add(&early, "word", 4);
    ok(!late.separator, "no separator in the first 20 non-null values");
    is_str(csvinfer_type_name(csvinfer_result(&late)), "string", "late dates: string");
    is_str(csvinfer_type_name(csvinfer_result(&early)), "datetime", "early dates: datetime");
}

int main(void)
{
    check_columns();
    check_formats();
    check_streaming();
    return done_testing();
}
