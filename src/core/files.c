/* Whole-file reads, atomic writes and recursive mkdir. */
#include "files.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int files_read(const char *path, struct strbuf *out, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot read '%s'", path);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_errno(err, ERR_IO, "cannot read '%s'", path);
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        strbuf_add(out, buf, (size_t)n);
    }
    close(fd);
    return 0;
}

int files_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int files_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", path);
        free(tmp);
        return -1;
    }
    /* fsync before rename: after a crash the name points at either the old or the new bytes. */
    if (files_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", path);
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int files_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot write '%s'", path);
    if (files_write_all(fd, data, len) != 0) {
        err_errno(err, ERR_IO, "cannot write '%s'", path);
        close(fd);
        return -1;
    }
    if (close(fd) != 0)
        return err_errno(err, ERR_IO, "cannot write '%s'", path);
    return 0;
}

int files_sync_fs(const char *path, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot open '%s'", path);
    int rc = syncfs(fd) == 0 ? 0 : err_errno(err, ERR_IO, "cannot sync '%s'", path);
    close(fd);
    return rc;
}

int files_sync_dir(const char *path, struct err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot open directory '%s'", path);
    int rc = fsync(fd) == 0 ? 0 : err_errno(err, ERR_IO, "cannot sync '%s'", path);
    close(fd);
    return rc;
}

int files_remove_tree(const char *path, struct err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : err_errno(err, ERR_IO, "cannot remove '%s'", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return err_errno(err, ERR_IO, "cannot remove '%s'", path);
        struct dirent *de;
        int rc = 0;
        while (rc == 0 && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            size_t n = strlen(path) + strlen(de->d_name) + 2;
            char *child = xmalloc(n);
            snprintf(child, n, "%s/%s", path, de->d_name);
            rc = files_remove_tree(child, err);
            free(child);
        }
        closedir(d);
        if (rc != 0)
            return -1;
        return rmdir(path) == 0 ? 0 : err_errno(err, ERR_IO, "cannot remove '%s'", path);
    }
    return unlink(path) == 0 ? 0 : err_errno(err, ERR_IO, "cannot remove '%s'", path);
}

int files_copy_tree(const char *from, const char *to, struct err *err)
{
    if (files_mkdirs(to, NULL, err) != 0)
        return -1;
    DIR *d = opendir(from);
    if (!d)
        return err_errno(err, ERR_IO, "cannot read '%s'", from);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t n = strlen(from) + strlen(to) + 2 * strlen(de->d_name) + 4;
        char *src = xmalloc(n), *dst = xmalloc(n);
        snprintf(src, n, "%s/%s", from, de->d_name);
        snprintf(dst, n, "%s/%s", to, de->d_name);
        struct stat st;
        if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = files_copy_tree(src, dst, err);
        } else if (lstat(src, &st) == 0 && S_ISREG(st.st_mode)) {
            struct strbuf sb = STRBUF_INIT;
            rc = files_read(src, &sb, err) == 0
                     ? files_write_atomic(dst, strbuf_str(&sb), sb.len, st.st_mode & 0777, err)
                     : -1;
            strbuf_release(&sb);
        }
        free(src);
        free(dst);
    }
    closedir(d);
    return rc;
}

int files_mkdirs(const char *path, bool *created, struct err *err)
{
    if (created)
        *created = false;
    if (files_is_dir(path))
        return 0;
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            err_errno(err, ERR_IO, "cannot create directory '%s'", p);
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) == 0) {
        if (created)
            *created = true;
    } else if (errno != EEXIST || !files_is_dir(p)) {
        rc = err_errno(err, ERR_IO, "cannot create directory '%s'", p);
    }
    free(p);
    return rc;
}

const char *files_expand_tilde(struct arena *a, const char *path)
{
    if (path[0] != '~')
        return path;
    size_t n = strcspn(path + 1, "/");
    const char *home = NULL;
    if (n == 0) {
        home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
    } else {
        struct passwd *pw = getpwnam(arena_strndup(a, path + 1, n));
        home = pw ? pw->pw_dir : NULL;
    }
    return home ? arena_printf(a, "%s%s", home, path + 1 + n) : NULL;
}

bool files_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool files_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **files_list(struct arena *a, const char *path, size_t *n)
{
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return NULL;
    const char **names = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        XGROW(names, cap, *n + 2);
        names[(*n)++] = arena_strdup(a, de->d_name);
    }
    closedir(d);
    if (*n > 1)
        qsort(names, *n, sizeof(*names), name_cmp);
    const char **out = arena_calloc(a, *n + 1, sizeof(*out));
    if (*n)
        memcpy(out, names, *n * sizeof(*out));
    free(names);
    return out;
}
