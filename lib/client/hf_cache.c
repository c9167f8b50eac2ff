/* The Hugging Face cache layout (include/weft/hf_cache.h, specs/hf-hub-api.md §7.3). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/fsutil.h"
#include "weft/hf_cache.h"
#include "weft/repo.h"
#include "weft/sha256.h"

static int hf_cache_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A repo id is "name" or "ns/name"; each part is [A-Za-z0-9._-], starts and ends with a letter,
 * digit or '_' and holds no "--" or ".." (huggingface_hub's validate_repo_id), so a folder name
 * maps back to exactly one id. */
static int hf_cache_repo_id_valid(const char *id)
{
    size_t n = strlen(id), seg = 0, slashes = 0;
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = id[i];
        if (c == '/' || c == '\0') {
            if (seg == 0 || !hf_cache_word_char(id[i - 1]) || (c == '/' && ++slashes > 1))
                return 0;
            seg = 0;
            continue;
        }
        if (!hf_cache_word_char(c) && c != '.' && c != '-')
            return 0;
        if (seg == 0 && !hf_cache_word_char(c))
            return 0;
        if (seg > 0 && (c == '-' || c == '.') && id[i - 1] == c)
            return 0;
        seg++;
    }
    return 1;
}

/* A commit (40 hex) or an etag (40 or 64 hex), lower case. */
static int hf_cache_hex_valid(const char *s, size_t want1, size_t want2)
{
    return weft_hex_is_lower(s, want1) || weft_hex_is_lower(s, want2);
}

/* Formats into a new heap string; WEFT_ELIMIT past PATH_MAX. */
static int hf_cache_fmt(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hf_cache_fmt(char **out, const char *fmt, ...)
{
    *out = NULL;
    char *s = malloc(PATH_MAX);
    if (s == NULL)
        return weft_err_set(WEFT_ENOMEM, "hf cache: out of memory");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) {
        free(s);
        return weft_err_set(WEFT_ELIMIT, "hf cache: path longer than %d bytes", PATH_MAX);
    }
    *out = s;
    return 0;
}

int weft_hf_cache_repo_folder(char **out, const char *type, const char *repo_id)
{
    *out = NULL;
    if (type == NULL ||
        (strcmp(type, "model") != 0 && strcmp(type, "dataset") != 0 && strcmp(type, "space") != 0))
        return weft_err_set(WEFT_EINVALID, "hf cache: unknown repo type '%.40s'",
                            type != NULL ? type : "(null)");
    if (repo_id == NULL || !hf_cache_repo_id_valid(repo_id))
        return weft_err_set(WEFT_EINVALID, "hf cache: invalid repo id '%.200s'",
                            repo_id != NULL ? repo_id : "(null)");
    char id[256];
    size_t j = 0;
    for (size_t i = 0; repo_id[i] != '\0'; i++) {
        if (repo_id[i] == '/') {
            id[j++] = '-';
            id[j++] = '-';
        } else {
            id[j++] = repo_id[i];
        }
    }
    id[j] = '\0';
    return hf_cache_fmt(out, "%ss--%s", type, id);
}

int weft_hf_cache_repo_dir(char **out, const char *cache, const char *type, const char *repo_id)
{
    *out = NULL;
    char *folder = NULL;
    int rc = weft_hf_cache_repo_folder(&folder, type, repo_id);
    if (rc < 0)
        return rc;
    rc = hf_cache_fmt(out, "%s/%s", cache, folder);
    free(folder);
    return rc;
}

static int hf_cache_check_etag(const char *etag)
{
    if (etag == NULL || !hf_cache_hex_valid(etag, 40, 64))
        return weft_err_set(WEFT_EINVALID, "hf cache: invalid etag '%.100s'",
                            etag != NULL ? etag : "(null)");
    return 0;
}

static int hf_cache_check_commit(const char *commit)
{
    if (commit == NULL || !hf_cache_hex_valid(commit, 40, 40))
        return weft_err_set(WEFT_EINVALID, "hf cache: invalid commit '%.100s'",
                            commit != NULL ? commit : "(null)");
    return 0;
}

static int hf_cache_check_path(const char *what, const char *path)
{
    if (path == NULL || !weft_repo_path_valid(path))
        return weft_err_set(WEFT_EINVALID, "hf cache: invalid %s '%.200s'", what,
                            path != NULL ? path : "(null)");
    return 0;
}

int weft_hf_cache_blob_path(char **out, const char *repo_dir, const char *etag)
{
    *out = NULL;
    int rc = hf_cache_check_etag(etag);
    if (rc < 0)
        return rc;
    return hf_cache_fmt(out, "%s/blobs/%s", repo_dir, etag);
}

int weft_hf_cache_snapshot_path(char **out, const char *repo_dir, const char *commit,
                                const char *path)
{
    *out = NULL;
    int rc = hf_cache_check_commit(commit);
    if (rc < 0)
        return rc;
    rc = hf_cache_check_path("path", path);
    if (rc < 0)
        return rc;
    return hf_cache_fmt(out, "%s/snapshots/%s/%s", repo_dir, commit, path);
}

/* Creates the parent folders of `file`. */
static int hf_cache_mkparents(const char *file)
{
    char dir[PATH_MAX];
    size_t n = strlen(file);
    if (n >= sizeof dir)
        return weft_err_set(WEFT_ELIMIT, "hf cache: path too long");
    memcpy(dir, file, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    return weft_fs_mkdirs(dir);
}

int weft_hf_cache_ref_read(char commit_out[41], const char *repo_dir, const char *revision)
{
    commit_out[0] = '\0';
    char *path = NULL;
    int fd = -1, rc = hf_cache_check_path("revision", revision);
    if (rc < 0)
        return rc;
    if (hf_cache_hex_valid(revision, 40, 40)) {
        rc = hf_cache_fmt(&path, "%s/snapshots/%s", repo_dir, revision);
        if (rc < 0)
            return rc;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            memcpy(commit_out, revision, 41);
            goto out;
        }
        free(path);
        path = NULL;
    }
    rc = hf_cache_fmt(&path, "%s/refs/%s", repo_dir, revision);
    if (rc < 0)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? weft_err_set(WEFT_ENOTFOUND, "hf cache: no ref %s", path)
                 : weft_err_sys(WEFT_EIO, errno, "hf cache: open %s", path);
        goto out;
    }
    /* The file holds the 40-hex commit, maybe followed by whitespace. */
    char buf[64];
    ssize_t r;
    do
        r = read(fd, buf, sizeof buf - 1);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "hf cache: read %s", path);
        goto out;
    }
    size_t len = (size_t)r;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    if (!hf_cache_hex_valid(buf, 40, 40)) {
        rc = weft_err_set(WEFT_ECORRUPT, "hf cache: %s does not hold a commit hash", path);
        goto out;
    }
    memcpy(commit_out, buf, 41);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

int weft_hf_cache_ref_write(const char *repo_dir, const char *revision, const char *commit)
{
    char *path = NULL;
    int rc = hf_cache_check_path("revision", revision);
    if (rc == 0)
        rc = hf_cache_check_commit(commit);
    if (rc < 0 || strcmp(revision, commit) == 0)
        return rc;
    rc = hf_cache_fmt(&path, "%s/refs/%s", repo_dir, revision);
    if (rc == 0)
        rc = hf_cache_mkparents(path);
    if (rc == 0)
        rc = weft_fs_write_atomic(path, commit, 40);
    free(path);
    return rc;
}

int weft_hf_cache_link(const char *repo_dir, const char *commit, const char *path, const char *etag)
{
    char *link = NULL, *tmp = NULL, *target = NULL;
    int rc = hf_cache_check_etag(etag);
    if (rc < 0)
        return rc;
    rc = weft_hf_cache_snapshot_path(&link, repo_dir, commit, path);
    if (rc < 0)
        return rc;
    /* os.path.relpath(blob, dirname(link)): up out of the path's folders and the commit folder
     * and snapshots/, then down into blobs/. */
    size_t depth = 2;
    for (const char *p = path; *p != '\0'; p++)
        depth += *p == '/';
    size_t tlen = depth * 3 + strlen("blobs/") + strlen(etag) + 1;
    if (tlen > PATH_MAX) {
        rc = weft_err_set(WEFT_ELIMIT, "hf cache: path too deep: %.200s", path);
        goto out;
    }
    target = malloc(tlen);
    if (target == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "hf cache: out of memory");
        goto out;
    }
    char *t = target;
    for (size_t i = 0; i < depth; i++, t += 3)
        memcpy(t, "../", 3);
    snprintf(t, tlen - depth * 3, "blobs/%s", etag);
    rc = hf_cache_mkparents(link);
    if (rc < 0)
        goto out;
    /* A new link under a temporary name renamed over the old one: readers never see a gap. */
    rc = hf_cache_fmt(&tmp, "%s.tmp.%ld", link, (long)getpid());
    if (rc < 0)
        goto out;
    (void)unlink(tmp);
    if (symlink(target, tmp) != 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "hf cache: symlink %s", tmp);
        goto out;
    }
    if (rename(tmp, link) != 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "hf cache: rename to %s", link);
        (void)unlink(tmp);
        goto out;
    }
out:
    free(target);
    free(tmp);
    free(link);
    return rc;
}

int weft_hf_cache_mark_absent(const char *repo_dir, const char *commit, const char *path)
{
    char *file = NULL;
    int rc = hf_cache_check_commit(commit);
    if (rc == 0)
        rc = hf_cache_check_path("path", path);
    if (rc == 0)
        rc = hf_cache_fmt(&file, "%s/.no_exist/%s/%s", repo_dir, commit, path);
    if (rc == 0)
        rc = hf_cache_mkparents(file);
    if (rc == 0) {
        int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = weft_err_sys(WEFT_EIO, errno, "hf cache: create %s", file);
        else
            close(fd);
    }
    free(file);
    return rc;
}

int weft_hf_cache_lock(int *fd_out, const char *cache, const char *repo_folder, const char *etag)
{
    *fd_out = -1;
    char *file = NULL;
    int fd = -1, rc = hf_cache_check_etag(etag);
    if (rc == 0 &&
        (repo_folder == NULL || repo_folder[0] == '\0' || strchr(repo_folder, '/') != NULL ||
         strcmp(repo_folder, "..") == 0 || strcmp(repo_folder, ".") == 0))
        rc = weft_err_set(WEFT_EINVALID, "hf cache: invalid repo folder '%.200s'",
                          repo_folder != NULL ? repo_folder : "(null)");
    if (rc == 0)
        rc = hf_cache_fmt(&file, "%s/.locks/%s/%s.lock", cache, repo_folder, etag);
    if (rc == 0)
        rc = hf_cache_mkparents(file);
    if (rc < 0)
        goto out;
    fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "hf cache: open %s", file);
        goto out;
    }
    /* filelock's UnixFileLock: an exclusive flock on the whole file. */
    int r;
    do
        r = flock(fd, LOCK_EX);
    while (r != 0 && errno == EINTR);
    if (r != 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "hf cache: lock %s", file);
        close(fd);
        goto out;
    }
    *fd_out = fd;
out:
    free(file);
    return rc;
}

void weft_hf_cache_unlock(int fd)
{
    if (fd < 0)
        return;
    (void)flock(fd, LOCK_UN);
    close(fd);
}
