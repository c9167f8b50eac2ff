/* Downloads from a Hub into the Hugging Face cache (include/weft/hf_cache.h) or into a plain
 * local folder, the way `hf download` does (specs/hf-hub-api.md §7).
 *
 * weft_download_run learns the commit of the revision (repo info `sha`), lists the files (tree
 * API, recursive, every page) unless files are named, keeps those that match the --include and
 * none of the --exclude globs, then fetches the files with a pool of worker threads. Per file it
 * HEADs the resolve URL (no redirects followed) for X-Repo-Commit, the etag and the size; a blob
 * already in the cache is only linked into the snapshot. Otherwise, under the blob's lock, the
 * bytes go to blobs/<etag>.incomplete: small files in one GET resumed from the length already
 * there (as huggingface_hub resumes), files of WEFT_DOWNLOAD_RANGED_MIN bytes and more in
 * WEFT_DOWNLOAD_PART_SIZE ranges written in place (each GET covers a run of consecutive ranges;
 * one connection, more up to WEFT_DOWNLOAD_RANGE_WORKERS while the file arrives slowly), with a
 * sidecar `<incomplete>.parts` recording the finished ranges so a re-run fetches only the missing
 * ones. The bytes are verified (SHA-256 for a 64-hex etag, the git blob id for a 40-hex one) on a
 * hashing thread while they arrive, in file order, before the rename into blobs/<etag>. With a
 * local dir the file lands at DIR/<path> and huggingface_hub's metadata
 * DIR/.cache/huggingface/download/<path>.metadata records commit, etag and time, so either tool
 * recognises the other's local dirs.
 *
 * The result and every string in it are the caller's (weft_download_result_dispose). Errors are
 * a negative WEFT_E* with one message: WEFT_ENOTFOUND for an unknown repo, revision or file,
 * WEFT_EAUTH for 401/403, WEFT_ENETWORK when the server cannot be reached, WEFT_EIO when the disk
 * refuses (disk full), WEFT_ECORRUPT when bytes fail verification. When several files fail, the
 * first failure is returned (the others still finish). Thread-safe for distinct calls. */
#ifndef WEFT_DOWNLOAD_H
#define WEFT_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "weft/client.h"
#include "weft/err.h"
#include "weft/progress.h"

#define WEFT_DOWNLOAD_DEFAULT_WORKERS 8
#define WEFT_DOWNLOAD_RANGED_MIN (64ull << 20) /* files this large are fetched in ranges */
#define WEFT_DOWNLOAD_PART_SIZE (16ull << 20)  /* the size of one range */
#define WEFT_DOWNLOAD_RANGE_WORKERS 4 /* connections for one file's ranges at most, by default */

/* One file's blob as the HEAD of its resolve URL described it; what a fetcher needs. */
typedef struct weft_download_blob {
    const char *path;            /* in the repo */
    const char *url;             /* resolve URL (a path under the endpoint) to GET */
    char etag[65];               /* 64-hex sha256 (LFS) or 40-hex git blob id */
    char commit[41];             /* X-Repo-Commit */
    uint64_t size;               /* X-Linked-Size, else Content-Length */
    const char *xet_hash;        /* X-Xet-Hash, NULL when the server offers no Xet */
    const char *xet_refresh_url; /* X-Xet-Refresh-Route or Link rel="xet-auth", or NULL */
    const char *delta_bases;     /* X-Weft-Delta-Base (sha256s, comma-separated), or NULL */
} weft_download_blob;

/* A Xet fetch (wired in by lib/client's Xet download): writes all `blob->size` bytes of the
 * blob into `fd` at their offsets (pwrite; the file is empty when called) and reports them on
 * `bar`. Return 0 when done, WEFT_ENOTFOUND to let the plain HTTP fetch run instead, else an
 * error. The bytes are verified afterwards like any others. */
typedef int (*weft_download_xet_fn)(weft_client *c, const weft_download_blob *blob, int fd,
                                    weft_progress_bar *bar, void *payload);

typedef struct weft_download_opts {
    const char *revision;     /* branch, tag or commit; NULL: "main" */
    const char *const *files; /* named files (no listing, no filters); may be NULL */
    size_t n_files;
    const char *const *include; /* fnmatch globs, huggingface_hub allow_patterns */
    size_t n_include;
    const char *const *exclude; /* huggingface_hub ignore_patterns */
    size_t n_exclude;
    const char *cache_dir; /* NULL: the client's hub cache */
    const char *local_dir; /* NULL: into the cache */
    int max_workers; /* 0: WEFT_DOWNLOAD_DEFAULT_WORKERS files, WEFT_DOWNLOAD_RANGE_WORKERS ranges
                      */
    weft_progress *progress;        /* may be NULL */
    weft_download_xet_fn xet_fetch; /* NULL: plain HTTP only */
    void *xet_payload;
    weft_download_xet_fn delta_fetch; /* tried first when the server offers deltas; may be NULL */
    void *delta_payload;              /* (weft/delta_download.h) */
} weft_download_opts;

typedef struct weft_download_result {
    char commit[41];
    char *path;       /* snapshot folder or local dir; the file itself when one file was named */
    size_t n_files;   /* files wanted */
    size_t n_fetched; /* files whose bytes moved */
    size_t n_cached;  /* files already there */
    uint64_t bytes_received;
} weft_download_result;

/* Downloads `repo` as `opts` says. `out` is filled on success and on failure (dispose it). */
WEFT_MUST_USE int weft_download_run(weft_download_result *out, weft_client *c,
                                    const weft_client_repo *repo, const weft_download_opts *opts);
void weft_download_result_dispose(weft_download_result *r);

/* 1 when repo path `path` passes huggingface_hub's filter: it matches one of `include` (or there
 * is none) and none of `exclude`; a pattern ending in '/' matches everything under it. */
int weft_download_path_wanted(const char *path, const char *const *include, size_t n_include,
                              const char *const *exclude, size_t n_exclude);

#endif
