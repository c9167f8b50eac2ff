/* Delta downloads: a file rebuilt from a cached base and a delta (include/weft/delta_download.h). */
#include "weft/delta_download.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/delta_stream.h"
#include "weft/fsutil.h"
#include "weft/log.h"
#include "weft/sha256.h"

struct weft_delta_fetcher {
    char *cache;
    weft_client_repo repo;
    pthread_mutex_t lock;
    weft_delta_fetch_stats stats;
};

int weft_delta_fetcher_new(weft_delta_fetcher **out, const char *hub_cache,
                           const weft_client_repo *repo)
{
    weft_delta_fetcher *f = calloc(1, sizeof *f);
    if (f)
        f->cache = strdup(hub_cache);
    if (!f || !f->cache) {
        free(f);
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    f->repo = *repo;
    pthread_mutex_init(&f->lock, NULL);
    *out = f;
    return 0;
}

void weft_delta_fetcher_free(weft_delta_fetcher *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f->cache);
    free(f);
}

void weft_delta_fetcher_stats(weft_delta_fetcher *f, weft_delta_fetch_stats *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->stats;
    pthread_mutex_unlock(&f->lock);
}

/* The path of a cached blob named sha (64 hex) in any repo folder of the cache, into out. */
static int find_cached_blob(const char *cache, const char *sha, char *out, size_t cap)
{
    DIR *d = opendir(cache);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, "--") || de->d_name[0] == '.')
            continue;
        struct stat st;
        snprintf(out, cap, "%s/%s/blobs/%s", cache, de->d_name, sha);
        found = stat(out, &st) == 0 && S_ISREG(st.st_mode);
    }
    closedir(d);
    return found;
}

/* ---- receiving the delta into a file, rebuilding into the blob --------------------------------- */

static int fd_sink(const uint8_t *data, size_t len, void *payload)
{
    return weft_fs_write_full(*(int *)payload, data, len, "a delta file");
}

typedef struct rebuild_sink {
    int fd;
    weft_progress_bar *bar;
} rebuild_sink;

static int rebuild_write(const void *data, size_t len, uint64_t off, uint64_t done,
                         void *payload)
{
    rebuild_sink *s = payload;
    int rc = weft_fs_pwrite_full(s->fd, data, len, off, "the rebuilt file");
    if (rc == 0)
        weft_progress_set(s->bar, done);
    return rc;
}

static void *map_fd(int fd, uint64_t len)
{
    if (len == 0)
        return NULL;
    void *p = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* GETs the delta of blob against base_sha into a temp file (unlinked, kept open in *delta_fd). */
static int delta_get(weft_delta_fetcher *f, weft_client *c, const weft_download_blob *blob,
                     const char *base_sha, int *delta_fd, uint64_t *delta_len)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/.weft-delta-XXXXXX", f->cache);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "create %s", tmpl);
    unlink(tmpl);
    char api[512], *epath = NULL, *url = NULL;
    int rc = weft_client_repo_api_path(api, sizeof api, &f->repo);
    if (rc == 0)
        rc = weft_client_url_escape(&epath, blob->path, 1);
    size_t len = rc == 0 ? strlen(api) + strlen(epath) + 200 : 0;
    if (rc == 0 && !(url = malloc(len)))
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0)
        snprintf(url, len, "%s/weft-delta/%s/%s?base=%s", api, blob->commit, epath, base_sha);
    weft_client_resp resp = {0};
    if (rc == 0) {
        weft_client_req req;
        weft_client_req_init(&req, "GET", url);
        req.sink = fd_sink;
        req.sink_payload = &fd;
        req.follow_redirects = 1;
        rc = weft_client_send(c, &resp, &req);
        if (rc == 0)
            rc = weft_client_resp_check(&resp, "delta download");
        *delta_len = resp.bytes_received;
    }
    weft_client_resp_dispose(&resp);
    free(epath);
    free(url);
    if (rc) {
        close(fd);
        return rc;
    }
    *delta_fd = fd;
    return 0;
}

/* Rebuilds blob into fd from the base at base_path and the delta in delta_fd. */
static int delta_rebuild(const weft_download_blob *blob, const char *base_path, const char *sha,
                         int delta_fd, uint64_t delta_len, int fd, weft_progress_bar *bar)
{
    int base_fd = open(base_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (base_fd < 0 || fstat(base_fd, &st) != 0) {
        int rc = weft_err_sys(WEFT_EIO, errno, "open %s", base_path);
        if (base_fd >= 0)
            close(base_fd);
        return rc;
    }
    uint8_t *base = map_fd(base_fd, (uint64_t)st.st_size);
    uint8_t *delta = map_fd(delta_fd, delta_len);
    weft_delta_reader *r = NULL;
    uint8_t want[32], got[32];
    int rc = (st.st_size > 0 && !base) || !delta
                 ? weft_err_sys(WEFT_EIO, errno, "map the base or the delta")
                 : weft_delta_reader_open(&r, delta, (size_t)delta_len, base, (uint64_t)st.st_size);
    const weft_delta_info *info = r ? weft_delta_reader_info(r) : NULL;
    if (rc == 0 && (weft_hex_decode(want, 32, sha, 64) != 0 ||
                    memcmp(info->base_sha256, want, 32) != 0 || info->kind != WEFT_DELTA_LOSSLESS))
        rc = weft_err_set(WEFT_ECORRUPT, "the delta is not a lossless delta from base %s", sha);
    if (rc == 0 && (weft_hex_decode(want, 32, blob->etag, 64) != 0 ||
                    memcmp(info->result_sha256, want, 32) != 0 || info->result_size != blob->size))
        rc = weft_err_set(WEFT_ECORRUPT, "the delta does not rebuild %s (etag %s)", blob->path,
                          blob->etag);
    rebuild_sink sink = {fd, bar};
    if (rc == 0)
        rc = weft_delta_stream_apply(r, rebuild_write, &sink, got);
    if (rc == 0 && memcmp(got, want, 32) != 0)
        rc = weft_err_set(WEFT_ECORRUPT, "%s rebuilt from the delta does not match its SHA-256",
                          blob->path);
    weft_delta_reader_free(r);
    if (delta)
        munmap(delta, (size_t)delta_len);
    if (base)
        munmap(base, (size_t)st.st_size);
    close(base_fd);
    return rc;
}

int weft_delta_fetcher_fetch(weft_client *c, const weft_download_blob *blob, int fd,
                             weft_progress_bar *bar, void *payload)
{
    weft_delta_fetcher *f = payload;
    if (!blob->delta_bases || strlen(blob->etag) != 64)
        return WEFT_ENOTFOUND;
    /* the first announced base that the cache holds */
    char base_path[4096], sha[65] = "";
    int found = 0;
    for (const char *p = blob->delta_bases; *p && !found;) {
        size_t n = strcspn(p, ", ");
        if (n == 64) {
            memcpy(sha, p, 64);
            sha[64] = 0;
            found = weft_hex_is_lower(sha, 64) &&
                    find_cached_blob(f->cache, sha, base_path, sizeof base_path);
        }
        p += n;
        p += strspn(p, ", ");
    }
    if (!found)
        return WEFT_ENOTFOUND;
    int delta_fd = -1;
    uint64_t delta_len = 0;
    int rc = delta_get(f, c, blob, sha, &delta_fd, &delta_len);
    if (rc == 0)
        rc = delta_rebuild(blob, base_path, sha, delta_fd, delta_len, fd, bar);
    if (delta_fd >= 0)
        close(delta_fd);
    pthread_mutex_lock(&f->lock);
    if (rc == 0) {
        f->stats.files++;
        f->stats.delta_bytes += delta_len;
        f->stats.rebuilt_bytes += blob->size;
    } else {
        f->stats.fallbacks++;
    }
    pthread_mutex_unlock(&f->lock);
    if (rc == 0)
        return 0;
    weft_log_warn("delta download of %s failed (%s); fetching the whole file", blob->path,
                  weft_err_last());
    if (ftruncate(fd, 0) < 0)
        return weft_err_sys(WEFT_EIO, errno, "truncate the download of %s", blob->path);
    weft_progress_set(bar, 0);
    return WEFT_ENOTFOUND;
}
