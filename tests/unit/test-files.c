/* files.c: atomic writes replace whole files, mkdir -p reports what it created. */
#include "../harness/tap.h"
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(void)
{
    char dir[] = "/tmp/osiris-test-files-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    struct err err = ERR_INIT;
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    bool created = false;
    ok(files_mkdirs(path, &created, &err) == 0 && created, "mkdir -p creates nested directories");
    ok(files_mkdirs(path, &created, &err) == 0 && !created, "existing directory: not created");
    ok(files_is_dir(path), "is_dir");

    snprintf(path, sizeof(path), "%s/a/f.txt", dir);
    ok(files_write_atomic(path, "first", 5, 0600, &err) == 0, "atomic write");
    ok(files_write_atomic(path, "second!", 7, 0600, &err) == 0, "atomic overwrite");
    struct strbuf sb = STRBUF_INIT;
    ok(files_read(path, &sb, &err) == 0, "read back");
    is_str(strbuf_str(&sb), "second!", "whole new content");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode applied");
    strbuf_release(&sb);

    snprintf(path, sizeof(path), "%s/missing/f.txt", dir);
    ok(files_write_atomic(path, "x", 1, 0644, &err) != 0, "write into a missing directory fails");
    like(err.msg, "cannot write", "error names the operation");
    like(err.msg, "missing/f.txt", "error names the path");
    err_clear(&err);
    ok(files_read(path, &sb, &err) != 0 && err.code == ERR_IO, "reading a missing file is ERR_IO");
    strbuf_release(&sb);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? done_testing() : 1;
}
