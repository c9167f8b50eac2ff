/* The Hub's NDJSON commit payload (specs/hf-hub-api.md §8.4), parsed into repo operations.
 *
 * One JSON object per line, {"key": K, "value": {...}}: an optional "header" first (summary,
 * description, parentCommit), then "file" (path + base64 content), "lfsFile" (path, sha256 oid,
 * optional size), "deletedFile" and "deletedFolder" lines, in any number up to
 * WEFT_COMMIT_MAX_OPS. Empty lines and a missing trailing newline are fine; CRLF is tolerated.
 * Paths are checked with weft_repo_path_valid (a deleted folder may end with '/').
 *
 * Pure: no I/O, no store or git access (the caller checks that LFS oids exist). The request owns
 * every string and buffer its ops point to; dispose frees them. Errors: WEFT_EINVALID with
 * "commit line N: reason" for anything malformed, WEFT_ELIMIT for too many operations,
 * WEFT_ENOMEM. Thread-safe (no shared state). */
#ifndef WEFT_COMMIT_REQUEST_H
#define WEFT_COMMIT_REQUEST_H

#include <stddef.h>

#include "weft/err.h"
#include "weft/repo.h"

#define WEFT_COMMIT_MAX_OPS 100000

typedef struct weft_commit_request {
    char *summary;     /* NULL when the header gave none */
    char *description; /* NULL when absent */
    char *parent;      /* parentCommit text as sent (5..40 hex), NULL when absent */
    weft_repo_op *ops;
    int *lfs_size_given; /* per op: 1 when an lfsFile line carried "size" */
    size_t n_ops;
} weft_commit_request;

/* Parses body[0..len). On failure *out is left empty (nothing to dispose). */
WEFT_MUST_USE int weft_commit_request_parse(weft_commit_request *out, const char *body, size_t len);

/* Frees what the request owns; the struct itself is the caller's. */
void weft_commit_request_dispose(weft_commit_request *r);

#endif
