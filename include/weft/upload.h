/* Uploads of local files and folders to a repo on any Hub-compatible server, as one commit
 * (specs/hf-hub-api.md §8): what `weft upload` does.
 *
 * weft_upload_run walks the local path (a file, or a folder recursively, filtered by include and
 * exclude globs matched against the path relative to the folder; ".git/" folders are skipped),
 * asks the server how each file must travel (preupload), drops what the repo's .gitignore
 * ignores and what is unchanged (the remote oid equals the local git blob sha1 or SHA-256), sends
 * the large files' bytes, then makes one commit: small files inline, large ones as lfsFile lines.
 * Nothing left to send means no commit (result->committed = 0).
 *
 * Large files go through Xet when the server hands out a write token (and !no_xet): each file is
 * read once for its SHA-256 and chunks, chunks the server already has (global dedup query on key
 * chunks) or that this upload already packed are referenced, the rest are packed into xorbs
 * (≤ 64 MiB, ≤ 8,192 chunks) and POSTed, then one shard registers every file. Xorbs the server
 * accepted are remembered with their chunk hashes under the chunk cache
 * (<chunk_cache>/uploaded/<server key>.xorbs), so a re-run after an interruption sends only what
 * is missing. Otherwise they go through the LFS batch API
 * (basic or multipart PUTs streamed from the file, parts in parallel, verify when asked).
 * Files are handled by `threads` worker threads.
 *
 * The caller owns everything passed in; the result owns its strings (weft_upload_result_dispose).
 * Errors: the weft_client codes of the failing request (WEFT_EAUTH, WEFT_ENOTFOUND for a missing
 * repo or branch, WEFT_ENETWORK, ...), WEFT_ENOTFOUND for a missing local path, WEFT_EIO for a
 * local read error, WEFT_EINVALID when no file matches. Progress goes to `progress` (may be NULL).
 */
#ifndef WEFT_UPLOAD_H
#define WEFT_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "weft/client.h"
#include "weft/client_commit.h"
#include "weft/err.h"
#include "weft/progress.h"

typedef struct weft_upload_opts {
    const char *local;          /* file or folder */
    const char *path_in_repo;   /* file: its repo path (NULL: the base name); folder: the prefix
                                 * (NULL or "" or ".": the repo root) */
    const char *const *include; /* globs (fnmatch, '*' crosses '/'); NULL or empty: all */
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const char *revision;    /* branch; NULL: "main" */
    const char *summary;     /* commit title; NULL: a default */
    const char *description; /* may be NULL */
    int create_pr;           /* commit to a new refs/pr/N */
    int no_xet;              /* force LFS for large files */
    int threads;             /* worker threads; 0: a default (4) */
    weft_progress *progress; /* may be NULL */
} weft_upload_opts;

typedef struct weft_upload_result {
    int committed;                    /* 1: a commit was made (commit holds it) */
    weft_client_commit_result commit; /* zeroed when no commit */
    size_t n_files;                   /* files found locally (after include/exclude) */
    size_t n_ignored;                 /* dropped by the repo's .gitignore */
    size_t n_unchanged;               /* same content as the remote file */
    size_t n_regular, n_large;        /* committed inline / as LFS or Xet files */
    int used_xet;                     /* 1: large files went through Xet */
    uint64_t bytes_sent;              /* xorb or LFS bytes sent for large files */
    uint64_t bytes_deduped;           /* Xet: file bytes not sent thanks to dedup */
} weft_upload_result;

/* Runs the upload; *out is initialized here (dispose it whatever the outcome). */
WEFT_MUST_USE int weft_upload_run(weft_upload_result *out, weft_client *c,
                                  const weft_client_repo *repo, const weft_upload_opts *opts);
void weft_upload_result_dispose(weft_upload_result *r);

#endif
