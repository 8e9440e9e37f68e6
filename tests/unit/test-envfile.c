/* envfile.c: the .env format, no overriding, first file wins, errors that never show values. */
#include "../harness/tap.h"
#include "envfile.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET "s3cr3tVALUE"

static char dir[256]; /* the test's temporary directory */

static const char *path_in(const char *sub, const char *name)
{
    static char buf[3][PATH_MAX];
    static int slot;
    slot = (slot + 1) % 3;
    snprintf(buf[slot], sizeof(buf[slot]), "%s%s%s/%s", dir, *sub ? "/" : "", sub, name);
    return buf[slot];
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static const char *env(const char *key)
{
    const char *v = getenv(key);
    return v ? v : "(unset)";
}

static void test_format(void)
{
    const char *p = path_in("", "format.env");
    write_file(p, "\xEF\xBB\xBF# comment\n"
                  "   # indented comment\n"
                  "\n"
                  "   \t\n"
                  "T_BARE=hello world   # trailing comment\n"
                  "T_HASH=a#b\n"
                  "T_HASH_START=#x\n"
                  "T_URL=http://x/y#frag\n"
                  "T_EMPTY=\n"
                  "T_EMPTY_COMMENT= # nothing here\n"
                  "T_SQ='lit \\n $HOME \"x\" # not a comment'\n"
                  "T_DQ=\"l1\\nl2\\ttab \\\"q\\\" back\\\\slash \\d\"\n"
                  "T_DQ_HASH=\"a # b\"   # comment\n"
                  "T_SQ_EMPTY=''\n"
                  "export T_EXPORTED=yes\n"
                  "export   T_SPACED  =   spaced value   \n"
                  "export=not a keyword here\n"
                  "T_CRLF=crlf\r\n"
                  "T_INNER=a\"b'c\n"
                  "T_DUP=first\n"
                  "T_DUP=second\n"
                  "T_LAST=no newline at end");
    struct err err = ERR_INIT;
    is_int(envfile_load(p, &err), 0, "well-formed file loads");
    is_str(err.msg, "", "no error");
    is_str(env("T_BARE"), "hello world", "bare value, trailing blanks and comment dropped");
    is_str(env("T_HASH"), "a#b", "'#' without a blank before it is kept");
    is_str(env("T_HASH_START"), "#x", "'#' right after '=' is data");
    is_str(env("T_URL"), "http://x/y#frag", "URL fragment kept");
    is_str(env("T_EMPTY"), "", "empty value");
    is_str(env("T_EMPTY_COMMENT"), "", "empty value followed by a comment");
    is_str(env("T_SQ"), "lit \\n $HOME \"x\" # not a comment", "single quotes are literal");
    is_str(env("T_DQ"), "l1\nl2\ttab \"q\" back\\slash \\d", "double-quote escapes");
    is_str(env("T_DQ_HASH"), "a # b", "'#' inside double quotes is data");
    is_str(env("T_SQ_EMPTY"), "", "empty single-quoted value");
    is_str(env("T_EXPORTED"), "yes", "export prefix");
    is_str(env("T_SPACED"), "spaced value", "blanks around '=' and the value");
    is_str(env("export"), "not a keyword here", "'export' alone is a plain key");
    is_str(env("T_CRLF"), "crlf", "CRLF line ending");
    is_str(env("T_INNER"), "a\"b'c", "quotes inside a bare value are data");
    is_str(env("T_DUP"), "second", "the last assignment in one file wins");
    is_str(env("T_LAST"), "no newline at end", "last line without newline");
}

static void test_no_override(void)
{
    setenv("T_PRESET", "from-env", 1);
    setenv("T_PRESET_EMPTY", "", 1);
    unsetenv("T_FIRST");
    const char *a = path_in("", "a.env");
    const char *b = path_in("", "b.env");
    write_file(a, "T_PRESET=from-file\nT_PRESET_EMPTY=from-file\nT_FIRST=a\n");
    write_file(b, "T_FIRST=b\nT_ONLY_B=b\n");
    struct err err = ERR_INIT;
    ok(envfile_load(a, &err) == 0 && envfile_load(b, &err) == 0, "two files load");
    is_str(env("T_PRESET"), "from-env", "an exported variable is not overridden");
    is_str(env("T_PRESET_EMPTY"), "", "an exported empty variable is not overridden");
    is_str(env("T_FIRST"), "a", "the first file wins");
    is_str(env("T_ONLY_B"), "b", "the second file adds what is missing");
}

static void test_missing_and_unreadable(void)
{
    struct err err = ERR_INIT;
    is_int(envfile_load(path_in("", "does-not-exist.env"), &err), 0, "missing file is fine");
    is_int(err.code, ERR_NONE, "missing file sets no error");
    is_int(envfile_load(path_in("", "nodir/x.env"), &err), 0, "missing directory is fine");
    is_int(envfile_load(dir, &err), -1, "a directory is an error");
    is_int(err.code, ERR_IO, "read error is ERR_IO");
}

static void check_malformed(const char *name, const char *text, const char *where,
                            const char *reason)
{
    const char *p = path_in("", "bad.env");
    write_file(p, text);
    unsetenv("T_BEFORE");
    struct err err = ERR_INIT;
    is_int(envfile_load(p, &err), -1, "%s: fails", name);
    is_int(err.code, ERR_INPUT, "%s: ERR_INPUT", name);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s:%s: ", p, where);
    ok(strncmp(err.msg, want, strlen(want)) == 0, "%s: message starts with file:line", name);
    like(err.msg, reason, "%s: reason", name);
    ok(strstr(err.msg, "s3cr3t") == NULL, "%s: value not in the message", name);
    is_str(env("T_BEFORE"), "(unset)", "%s: nothing is loaded from a malformed file", name);
    diag("%s", err.msg);
}

static void test_malformed(void)
{
    check_malformed("no '='", "T_BEFORE=1\n# c\n" SECRET "\n", "3", "no '='");
    check_malformed("export without '='", "T_BEFORE=1\nexport " SECRET "\n", "2", "no '='");
    check_malformed("key starts with a digit", "T_BEFORE=1\n1" SECRET "=x\n", "2",
                    "invalid variable name");
    check_malformed("key with a blank", "T_BEFORE=1\nT_A " SECRET "=x\n", "2",
                    "invalid variable name");
    check_malformed("key with a dash", "T_BEFORE=1\nT-A=" SECRET "\n", "2",
                    "invalid variable name");
    check_malformed("empty key", "T_BEFORE=1\n=" SECRET "\n", "2", "invalid variable name");
    check_malformed("unterminated double quote", "T_BEFORE=1\n\nT_Q=\"" SECRET "\nT_R=1\n", "3",
                    "unterminated double quote in the value of 'T_Q'");
    check_malformed("unterminated single quote", "T_BEFORE=1\nT_Q='" SECRET "\n", "2",
                    "unterminated single quote");
    check_malformed("escaped closing quote", "T_BEFORE=1\nT_Q=\"" SECRET "\\\"\n", "2",
                    "unterminated double quote");
    check_malformed("text after the quote", "T_BEFORE=1\nT_Q=\"" SECRET "\"" SECRET "\n", "2",
                    "unexpected text after the closing quote");
}

static void test_defaults(void)
{
    char home[512], work[512], link[512], old[PATH_MAX];
    snprintf(home, sizeof(home), "%s/home", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    snprintf(link, sizeof(link), "%s/worklink", dir);
    mkdir(home, 0700);
    mkdir(work, 0700);
    if (symlink(work, link) != 0)
        perror("symlink");
    write_file(path_in("home", ".env"), "T_D_BOTH=home\nT_D_HOME=home\n");
    write_file(path_in("work", ".env"), "T_D_BOTH=work\nT_D_WORK=work\n");
    if (!getcwd(old, sizeof(old)) || chdir(work) != 0) {
        perror("chdir");
        exit(1);
    }

    struct strbuf loaded = STRBUF_INIT;
    struct err err = ERR_INIT;
    setenv("OSIRIS_HOME", home, 1);
    is_int(envfile_load_defaults(&loaded, &err), 0, "defaults load");
    char want[PATH_MAX + 32];
    /* getcwd() resolves symlinks in dir itself (e.g. a /tmp symlink), so compare tails. */
    like(strbuf_str(&loaded), "/home/.env\n", "OSIRIS_HOME file listed");
    like(strbuf_str(&loaded), "/work/.env\n", "cwd file listed");
    ok(strstr(strbuf_str(&loaded), "/home/.env") < strstr(strbuf_str(&loaded), "/work/.env"),
       "OSIRIS_HOME file first");
    is_str(env("T_D_BOTH"), "home", "OSIRIS_HOME's file wins over the cwd's");
    is_str(env("T_D_HOME"), "home", "home variable");
    is_str(env("T_D_WORK"), "work", "cwd variable");

    /* OSIRIS_HOME naming the cwd through a symlink: the same file, read once. */
    strbuf_reset(&loaded);
    snprintf(want, sizeof(want), "%s/", link);
    setenv("OSIRIS_HOME", want, 1);
    is_int(envfile_load_defaults(&loaded, &err), 0, "defaults load again");
    snprintf(want, sizeof(want), "%s/.env\n", link);
    is_str(strbuf_str(&loaded), want, "a file reached twice is read once");

    /* Without OSIRIS_HOME only the cwd file; with no .env at all nothing. */
    strbuf_reset(&loaded);
    unsetenv("OSIRIS_HOME");
    is_int(envfile_load_defaults(&loaded, &err), 0, "defaults without OSIRIS_HOME");
    like(strbuf_str(&loaded), "/work/.env\n", "only the cwd file");
    ok(strchr(strbuf_str(&loaded), '\n') == strbuf_str(&loaded) + loaded.len - 1, "one line");
    strbuf_reset(&loaded);
    if (chdir(home) != 0 || unlink(".env") != 0)
        perror("home");
    is_int(envfile_load_defaults(&loaded, &err), 0, "no .env anywhere");
    is_str(strbuf_str(&loaded), "", "nothing listed");
    is_int(envfile_load_defaults(NULL, &err), 0, "loaded may be NULL");

    /* A malformed default file fails with its path. */
    write_file(path_in("home", ".env"), "oops\n");
    is_int(envfile_load_defaults(&loaded, &err), -1, "malformed cwd .env fails");
    like(err.msg, "/home/.env:1: ", "error names the file");

    strbuf_release(&loaded);
    if (chdir(old) != 0)
        perror("chdir back");
    unlink(path_in("home", ".env"));
    unlink(path_in("work", ".env"));
    unlink(link);
    rmdir(home);
    rmdir(work);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/osiris-envfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_format();
    test_no_override();
    test_missing_and_unreadable();
    test_malformed();
    test_defaults();
    const char *files[] = { "format.env", "a.env", "b.env", "bad.env" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path_in("", files[i]));
    rmdir(dir);
    return done_testing();
}
