/* The local-directory object backend (include/weft/backend.h).
 *
 * Object `name` lives at <dir>/<name[0..2)>/<name>. A put writes <name>.tmp.<pid>.<n> in the
 * same folder (unique per process and put, so two threads putting the same object never share
 * a temp file), fsyncs it, renames it over the final name and fsyncs the folder; a folder created
 * for the put is made durable in its parent first. Temp files of interrupted puts stay listed
 * under their temp names until gc removes them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weft/backend.h"
#include "weft/fsutil.h"

#define BACKEND_NAME_MAX 100
#define BACKEND_IOV_BATCH 512 /* well under IOV_MAX */

typedef struct backend_fs {
    weft_backend base;
    char dir[PATH_MAX - 2 * BACKEND_NAME_MAX];
} backend_fs;

static atomic_uint backend_fs_put_seq;

/* The folder of `name` (dir_only) or its full path. */
static int backend_fs_path(const backend_fs *b, const char *name, char *out, size_t out_len,
                           int dir_only)
{
    size_t n = strlen(name);
    if (n < 3 || n > BACKEND_NAME_MAX || strchr(name, '/') != NULL || name[0] == '.')
        return weft_err_set(WEFT_EINVALID, "backend: bad object name '%s'", name);
    int w = dir_only ? snprintf(out, out_len, "%s/%.2s", b->dir, name)
                     : snprintf(out, out_len, "%s/%.2s/%s", b->dir, name, name);
    if (w < 0 || (size_t)w >= out_len)
        return weft_err_set(WEFT_EINVALID, "backend: path too long for '%s'", name);
    return 0;
}

/* Writes every part to fd, in batches of iovecs, resuming after short writes. */
static int backend_fs_writev_all(int fd, const weft_backend_part *parts, size_t n_parts,
                                 const char *what)
{
    struct iovec iov[BACKEND_IOV_BATCH];
    size_t next = 0, skip = 0; /* first part not fully written, bytes of it already written */
    int rc = 0;
    while (next < n_parts) {
        int k = 0;
        for (size_t i = next; i < n_parts && k < BACKEND_IOV_BATCH; i++) {
            size_t off = i == next ? skip : 0;
            if (parts[i].len == off)
                continue;
            iov[k].iov_base = (void *)((const uint8_t *)parts[i].p + off);
            iov[k].iov_len = parts[i].len - off;
            k++;
        }
        if (k == 0)
            break;
        ssize_t w = writev(fd, iov, k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "write %s", what);
            goto out;
        }
        /* Advance (next, skip) by w bytes. */
        size_t left = (size_t)w;
        while (next < n_parts && left >= parts[next].len - skip) {
            left -= parts[next].len - skip;
            next++;
            skip = 0;
        }
        skip += left;
    }
out:
    return rc;
}

static int backend_fs_put(weft_backend *base, const char *name, const weft_backend_part *parts,
                          size_t n_parts)
{
    backend_fs *b = (backend_fs *)base;
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 64];
    int fd = -1;
    int rc = backend_fs_path(b, name, dir, sizeof dir, 1);
    if (rc == 0)
        rc = backend_fs_path(b, name, path, sizeof path, 0);
    if (rc < 0)
        goto out;
    if (mkdir(dir, 0755) == 0) {
        /* A new folder's entry must be durable before an object in it can be. */
        rc = weft_fs_fsync_dir(b->dir);
        if (rc < 0)
            goto out;
    } else if (errno != EEXIST) {
        rc = weft_err_sys(WEFT_EIO, errno, "mkdir %s", dir);
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
             atomic_fetch_add(&backend_fs_put_seq, 1u));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "create %s", tmp);
        goto out;
    }
    rc = backend_fs_writev_all(fd, parts, n_parts, tmp);
    if (rc == 0 && fsync(fd) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "fsync %s", tmp);
    if (close(fd) != 0 && rc == 0)
        rc = weft_err_sys(WEFT_EIO, errno, "close %s", tmp);
    fd = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "rename %s", tmp);
    if (rc < 0) {
        unlink(tmp);
        goto out;
    }
    rc = weft_fs_fsync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    return rc;
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

int weft_backend_put_buf(weft_backend *b, const char *name, const void *data, size_t len)
{
    weft_backend_part part = {.p = data, .len = len};
    return b->put(b, name, &part, 1);
}

void weft_backend_close(weft_backend *b)
{
    if (b != NULL)
        b->close(b);
}
