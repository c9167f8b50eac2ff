/* The local-directory object backend (include/weft/backend.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/backend.h"
#include "weft/fsutil.h"

typedef struct backend_fs {
    weft_backend base;
    char dir[PATH_MAX - 128];
} backend_fs;

static int backend_fs_path(const backend_fs *b, const char *name, char *out, size_t out_len,
                           int dir_only)
{
    size_t n = strlen(name);
    if (n < 3 || n > 100 || strchr(name, '/') != NULL || name[0] == '.')
        return weft_err_set(WEFT_EINVALID, "backend: bad object name '%s'", name);
    int w = dir_only ? snprintf(out, out_len, "%s/%.2s", b->dir, name)
                     : snprintf(out, out_len, "%s/%.2s/%s", b->dir, name, name);
    if (w < 0 || (size_t)w >= out_len)
        return weft_err_set(WEFT_EINVALID, "backend: path too long for '%s'", name);
    return 0;
}

static int backend_fs_put(weft_backend *base, const char *name, const void *data, size_t len)
{
    backend_fs *b = (backend_fs *)base;
    char dir[PATH_MAX], path[PATH_MAX];
    int rc = backend_fs_path(b, name, dir, sizeof dir, 1);
    if (rc == 0)
        rc = backend_fs_path(b, name, path, sizeof path, 0);
    if (rc < 0)
        return rc;
    if (!weft_fs_exists(dir)) {
        /* The new directory's entry must be durable too. */
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return weft_err_sys(WEFT_EIO, errno, "mkdir %s", dir);
        rc = weft_fs_fsync_dir(b->dir);
        if (rc < 0)
            return rc;
    }
    return weft_fs_write_atomic(path, data, len);
}

static int backend_fs_get(weft_backend *base, const char *name, uint64_t offset, void *dst,
                          size_t len)
{
    backend_fs *b = (backend_fs *)base;
    char path[PATH_MAX];
    int rc = backend_fs_path(b, name, path, sizeof path, 0);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "xorb %s", name);
    rc = weft_fs_pread_full(fd, dst, len, offset, path);
    close(fd);
    return rc;
}

static int backend_fs_size(weft_backend *base, const char *name, uint64_t *size_out)
{
    backend_fs *b = (backend_fs *)base;
    char path[PATH_MAX];
    int rc = backend_fs_path(b, name, path, sizeof path, 0);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "xorb %s", name);
    *size_out = (uint64_t)st.st_size;
    return 0;
}

static int backend_fs_remove(weft_backend *base, const char *name)
{
    backend_fs *b = (backend_fs *)base;
    char path[PATH_MAX];
    int rc = backend_fs_path(b, name, path, sizeof path, 0);
    if (rc < 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return weft_err_sys(WEFT_EIO, errno, "remove %s", path);
    return 0;
}

static int backend_fs_list(weft_backend *base, weft_backend_list_cb cb, void *payload)
{
    backend_fs *b = (backend_fs *)base;
    DIR *top = opendir(b->dir);
    if (top == NULL)
        return weft_err_sys(WEFT_EIO, errno, "list %s", b->dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(top)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) != 2)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%.2s", b->dir, e->d_name);
        DIR *d = opendir(sub);
        if (d == NULL)
            continue;
        struct dirent *f;
        while (rc == 0 && (f = readdir(d)) != NULL) {
            /* Temp files of interrupted puts are listed too (gc removes them when old). */
            if (f->d_name[0] == '.')
                continue;
            char path[PATH_MAX + 256];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                rc = cb(f->d_name, (int64_t)st.st_mtime, payload);
        }
        closedir(d);
    }
    closedir(top);
    return rc;
}

static void backend_fs_close(weft_backend *base)
{
    free(base);
}

int weft_backend_fs_open(weft_backend **out, const char *dir)
{
    backend_fs *b = calloc(1, sizeof *b);
    if (b == NULL)
        return weft_err_set(WEFT_ENOMEM, "backend: out of memory");
    int n = snprintf(b->dir, sizeof b->dir, "%s", dir);
    int rc = n < 0 || (size_t)n >= sizeof b->dir
                 ? weft_err_set(WEFT_EINVALID, "backend: path too long: %s", dir)
                 : weft_fs_mkdirs(b->dir);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b->base.put = backend_fs_put;
    b->base.get = backend_fs_get;
    b->base.size = backend_fs_size;
    b->base.remove = backend_fs_remove;
    b->base.list = backend_fs_list;
    b->base.close = backend_fs_close;
    *out = &b->base;
    return 0;
}

void weft_backend_close(weft_backend *b)
{
    if (b != NULL)
        b->close(b);
}
