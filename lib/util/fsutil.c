/* Durable file-system helpers (include/weft/fsutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/fsutil.h"

int weft_fs_mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return weft_err_set(WEFT_EINVALID, "mkdir %s: bad path length", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return weft_err_sys(WEFT_EIO, errno, "mkdir %s", tmp);
        tmp[i] = c;
    }
    return 0;
}

int weft_fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "open directory %s", path);
    int rc = 0;
    if (fsync(fd) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "fsync directory %s", path);
    close(fd);
    return rc;
}

int weft_fs_write_full(int fd, const void *src, size_t len, const char *what)
{
    const uint8_t *p = src;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return weft_err_sys(WEFT_EIO, errno, "write %s", what);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int weft_fs_pread_full(int fd, void *dst, size_t len, uint64_t offset, const char *what)
{
    uint8_t *p = dst;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return weft_err_sys(WEFT_EIO, errno, "read %s", what);
        if (r == 0)
            return weft_err_set(WEFT_ECORRUPT, "read %s: file ends %zu bytes early", what, len);
        p += r;
        len -= (size_t)r;
        offset += (uint64_t)r;
    }
    return 0;
}

int weft_fs_pwrite_full(int fd, const void *src, size_t len, uint64_t offset, const char *what)
{
    const uint8_t *p = src;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)offset);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return weft_err_sys(WEFT_EIO, w < 0 ? errno : ENOSPC, "writing %s", what);
        p += w;
        len -= (size_t)w;
        offset += (uint64_t)w;
    }
    return 0;
}

int weft_fs_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return weft_err_set(WEFT_EINVALID, "write %s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "create %s", tmp);
    int rc = weft_fs_write_full(fd, data, len, tmp);
    if (rc == 0 && fsync(fd) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "fsync %s", tmp);
    if (close(fd) != 0 && rc == 0)
        rc = weft_err_sys(WEFT_EIO, errno, "close %s", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "rename %s", tmp);
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return weft_fs_fsync_dir(".");
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return weft_fs_fsync_dir(dir);
}

int weft_fs_read_file(weft_buf *out, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path);
    int rc = 0;
    for (;;) {
        rc = weft_buf_reserve(out, 65536 < out->cap - out->len ? 65536 : out->cap - out->len);
        if (rc < 0)
            break;
        size_t room = out->alloc - out->len - 1;
        if (room > out->cap - out->len)
            room = out->cap - out->len;
        if (room == 0) {
            /* At the cap: one more byte means the file is too large. */
            uint8_t probe;
            ssize_t r = read(fd, &probe, 1);
            if (r > 0)
                rc = weft_err_set(WEFT_ELIMIT, "read %s: larger than %zu bytes", path, out->cap);
            break;
        }
        ssize_t r = read(fd, out->data + out->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "read %s", path);
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    close(fd);
    return rc;
}

int weft_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
