/* Scanning and cleaning a Hugging Face cache folder (the layout of include/weft/hf_cache.h), as
 * `weft cache ls|rm|prune` do; what is left behind stays valid for huggingface_hub and
 * @huggingface/hub.
 *
 * weft_cache_scan_dir reads a cache once into a weft_cache_scan the caller frees: the repos
 * (folders named models--*, datasets--*, spaces--*), their blobs (each counted once, whatever links
 * to it), their revisions (snapshots/<commit>) with the refs naming them and the blobs their files
 * link to. Nothing is followed outside the repo folder and nothing is trusted: a symlink whose
 * target is not ../blobs/<name> counts as a file without a blob, odd entries are skipped.
 *
 * weft_cache_remove deletes revisions picked by the caller from a scanned repo: their snapshot
 * folders, the refs naming them, their .no_exist markers, then every blob no surviving revision
 * links to (never one whose .locks file another process holds: a download is writing it). When
 * no revision survives, the whole repo folder goes (and its .locks folder), as huggingface_hub's
 * delete_revisions does. Each deletion (or, with dry_run, each deletion that would happen) is
 * reported through a callback. Not thread-safe on one scan; the file system is the only shared
 * state. Errors: 0 or a negative WEFT_E* naming the path (WEFT_EIO for what the OS refused). */
#ifndef WEFT_CACHE_SCAN_H
#define WEFT_CACHE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_cache_blob {
    char *name;    /* the etag, or "<etag>.incomplete" for a download under way or broken */
    uint64_t size; /* st_size */
    int64_t atime; /* seconds since the epoch */
    int64_t mtime;
    int incomplete;
} weft_cache_blob;

typedef struct weft_cache_revision {
    char *commit; /* the snapshot folder's name (normally 40 hex) */
    char **refs;  /* revisions naming it ("main", "refs/pr/1"), sorted */
    size_t n_refs;
    size_t n_files;    /* files in the snapshot */
    uint64_t size;     /* bytes of the distinct blobs it links to, plus plain-file copies */
    int64_t last_used; /* max atime/mtime of those blobs; the folder's mtime if none */
    size_t *blobs;     /* indexes into the repo's blobs, distinct */
    size_t n_blobs;
} weft_cache_revision;

typedef struct weft_cache_repo {
    char type[8];           /* "model", "dataset", "space" */
    char *id;               /* "ns/name" */
    char *folder;           /* "models--ns--name" */
    char *dir;              /* "{cache}/{folder}" */
    weft_cache_blob *blobs; /* sorted by name */
    size_t n_blobs;
    weft_cache_revision *revs; /* sorted by last_used, newest first */
    size_t n_revs;
    uint64_t size;     /* every blob once, incomplete ones included */
    size_t n_files;    /* complete blobs */
    int64_t last_used; /* max atime/mtime of its blobs */
} weft_cache_repo;

typedef struct weft_cache_scan {
    char *cache_dir;
    weft_cache_repo *repos; /* sorted by type, then id */
    size_t n_repos;
    uint64_t size;
} weft_cache_scan;

/* Scans `cache_dir`; `type` ("model", "dataset", "space") keeps only that type, NULL keeps all.
 * A missing cache_dir is an empty scan. */
WEFT_MUST_USE int weft_cache_scan_dir(weft_cache_scan **out, const char *cache_dir,
                                      const char *type);
void weft_cache_scan_free(weft_cache_scan *s);

/* The repo of `type` and `id` in the scan, or NULL. Borrowed until weft_cache_scan_free. */
const weft_cache_repo *weft_cache_scan_find(const weft_cache_scan *s, const char *type,
                                            const char *id);

/* The revision `rev` names: a ref ("main", "refs/pr/1"), a commit, or a unique commit prefix of
 * at least 7 hex digits. WEFT_ENOTFOUND when none, WEFT_EINVALID when a prefix is ambiguous. */
WEFT_MUST_USE int weft_cache_find_revision(const weft_cache_revision **out,
                                           const weft_cache_repo *repo, const char *rev);

/* Called for each deletion: `what` is "repo", "revision", "ref", "blob" or "incomplete", `path`
 * the file or folder, `size` the bytes it frees (0 for refs and snapshots, whose files are links).
 */
typedef void (*weft_cache_report_fn)(const char *what, const char *path, uint64_t size,
                                     void *payload);

/* Removes the revisions of `repo` whose flag in doomed[0..n_revs) is set (NULL: none), then the
 * blobs no surviving revision links to; also the *.incomplete blobs not modified since
 * `incomplete_before` (seconds since the epoch; 0: keep them all) that no process holds the lock
 * of. A non-NULL `doomed` with every flag set (or a repo without revisions) removes the repo
 * folder, except, when incomplete_before != 0 (a prune), while a download may be under way in it
 * (a fresh *.incomplete or a held lock): then only the revisions and unused blobs go. *freed_out
 * (may be NULL) gets the bytes freed. `repo` is not updated: scan again to see the result. */
WEFT_MUST_USE int weft_cache_remove(uint64_t *freed_out, const weft_cache_scan *scan,
                                    const weft_cache_repo *repo, const int *doomed,
                                    int64_t incomplete_before, int dry_run,
                                    weft_cache_report_fn report, void *payload);

#endif
