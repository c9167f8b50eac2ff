/* Commits through a Hub's HTTP API (specs/hf-hub-api.md §8.2 and §8.4): ask how files should be
 * uploaded (preupload) and create a commit of added, LFS and deleted paths (NDJSON commit).
 *
 * weft_client_preupload sends the files in batches of 256 and fills in each file's answer: its
 * upload mode (regular or LFS), whether the repo's .gitignore ignores it, and the oid of the
 * current remote file at that path when the server says it (git blob sha1 for regular files,
 * SHA-256 for LFS files), so callers can skip unchanged files.
 *
 * weft_client_commit_create builds the NDJSON body in memory (regular file contents are read and
 * base64-encoded into it: keep them small; LFS files are named by SHA-256 and size only, their
 * bytes must already be on the server) and POSTs it to /api/{T}s/{repo}/commit/{rev}, with
 * ?create_pr=1 when asked. The result carries the commit oid, its URL and, with create_pr, the
 * pull request URL. Errors are the weft_client_resp_check codes of the answer (404 for an unknown
 * repo, revision or deleted path, 412 for a stale parentCommit, 401/403 WEFT_EAUTH), WEFT_EIO for
 * a local file that cannot be read, WEFT_EINVALID for bad arguments or an answer without
 * commitOid. Functions are thread-safe as the weft_client is; they keep no state. */
#ifndef WEFT_CLIENT_COMMIT_H
#define WEFT_CLIENT_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "weft/client.h"
#include "weft/err.h"

/* Bytes of a file's beginning sent as the preupload "sample". */
#define WEFT_CLIENT_PREUPLOAD_SAMPLE 512u

/* One file of a preupload request: inputs first, then what the server answered. */
typedef struct weft_client_preupload_file {
    const char *path;      /* path in the repo (borrowed) */
    uint64_t size;         /* bytes */
    const uint8_t *sample; /* the first min(size, 512) bytes (borrowed) */
    size_t sample_len;
    /* answer */
    int lfs;           /* 1: uploadMode "lfs"; 0: "regular" (always 0 for empty files) */
    int should_ignore; /* 1: the repo's .gitignore ignores the path */
    int has_oid;       /* 1: `oid` holds the remote oid of the path at the revision */
    char oid[65];      /* 40 hex (git blob sha1, regular) or 64 hex (SHA-256, lfs) */
} weft_client_preupload_file;

/* Asks the modes of files[0..n) for a commit to `revision` (NULL: "main") of `repo`, with
 * ?create_pr=1 when create_pr. Fills the answer fields of every file; a file missing from the
 * answer is WEFT_EINVALID. */
WEFT_MUST_USE int weft_client_preupload(weft_client *c, const weft_client_repo *repo,
                                        const char *revision, int create_pr,
                                        weft_client_preupload_file *files, size_t n);

enum {
    WEFT_COMMIT_OP_FILE = 1,      /* regular file: content inline (base64) */
    WEFT_COMMIT_OP_LFS,           /* LFS/Xet file already uploaded: sha256 + size */
    WEFT_COMMIT_OP_DELETE_FILE,   /* delete one file */
    WEFT_COMMIT_OP_DELETE_FOLDER, /* delete a folder and everything under it */
};

/* One operation of a commit. Every pointer is borrowed for the call. */
typedef struct weft_client_commit_op {
    int kind;            /* WEFT_COMMIT_OP_* */
    const char *path;    /* path in the repo */
    const void *content; /* FILE: the bytes in memory, or NULL to read ... */
    size_t content_len;  /*        (content_len bytes) */
    const char *local;   /* FILE: ... the whole local file at this path */
    const char *sha256;  /* LFS: 64 lower-case hex */
    uint64_t size;       /* LFS: bytes */
} weft_client_commit_op;

typedef struct weft_client_commit {
    const char *revision;      /* branch or refs/pr/N; NULL: "main" */
    const char *summary;       /* commit title; NULL or "": a default naming the operation */
    const char *description;   /* may be NULL */
    const char *parent_commit; /* may be NULL; else the server refuses (412) if the branch moved */
    int create_pr;             /* 1: commit onto a new pull request ref instead */
    const weft_client_commit_op *ops;
    size_t n_ops;
} weft_client_commit;

typedef struct weft_client_commit_result {
    char oid[41];    /* the new commit */
    char *url;       /* its commitUrl (caller's via _dispose) */
    char *pr_url;    /* pullRequestUrl, or NULL */
    unsigned pr_num; /* the N of refs/pr/N parsed from pr_url, or 0 */
} weft_client_commit_result;

/* Creates the commit described by `req` in `repo`. *out is initialized here; dispose it with
 * weft_client_commit_result_dispose whether or not this succeeds. */
WEFT_MUST_USE int weft_client_commit_create(weft_client_commit_result *out, weft_client *c,
                                            const weft_client_repo *repo,
                                            const weft_client_commit *req);
void weft_client_commit_result_dispose(weft_client_commit_result *r);

/* The git blob sha1 of `len` bytes (what preupload answers as a regular file's oid), as 40 hex
 * digits and a NUL. Streams: call _begin with the total length, _update, then _end. */
typedef struct weft_git_blob_sha1 {
    void *ctx;
} weft_git_blob_sha1;
WEFT_MUST_USE int weft_git_blob_sha1_begin(weft_git_blob_sha1 *s, uint64_t len);
void weft_git_blob_sha1_update(weft_git_blob_sha1 *s, const void *p, size_t n);
void weft_git_blob_sha1_end(weft_git_blob_sha1 *s, char out[41]);

#endif
