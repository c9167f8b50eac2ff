/* Shared state of one weft_upload_run (lib/client/upload.c) for its LFS and Xet transfer paths
 * (lfs_upload.c, xet_upload.c). Not a public interface. */
#ifndef WEFT_CLIENT_UPLOAD_INTERNAL_H
#define WEFT_CLIENT_UPLOAD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "weft/shard.h"
#include "weft/upload.h"
#include "weft/xet_client.h"

/* One local file on its way into the commit. */
typedef struct weft_upload__file {
    char *local; /* path on disk */
    char *path;  /* path in the repo */
    uint64_t size;
    int lfs;     /* preupload said "lfs" */
    int has_oid; /* the remote file's oid is known */
    char remote_oid[65];
    int unchanged; /* same content as remote: not committed */
    int have_sha256;
    uint8_t sha256[32];
    char sha256_hex[65];
    weft_progress_bar *bar;
    /* Xet: the file's reconstruction, for the shard */
    weft_hash xet_hash;
    weft_shard_term *terms;
    weft_hash *verification;
    uint32_t n_terms;
    void *xet_refs; /* the chunks as read, until terms are made (xet_upload.c) */
    size_t n_xet_refs;
} weft_upload__file;

typedef struct weft_upload__ctx {
    weft_client *c;
    const weft_client_repo *repo;
    const weft_upload_opts *o;
    weft_upload__file *files;
    size_t n_files;
    int threads;
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t bytes_deduped;
} weft_upload__ctx;

/* Runs fn(i, payload) for i in [0, n) on up to `threads` threads; stops handing out work after
 * the first failure and returns it (its message kept). */
WEFT_MUST_USE int weft_upload__parallel(int threads, size_t n, int (*fn)(size_t i, void *payload),
                                        void *payload);

/* Reads the file once in 4 MiB blocks, handing each to on_block (if not NULL; a negative return
 * stops the read and is returned) and, if want_sha, hashing it (sets have_sha256 and
 * sha256_hex at the end). Fails with WEFT_EIO if the file's size is not f->size. */
WEFT_MUST_USE int weft_upload__read(weft_upload__file *f, int want_sha,
                                    int (*on_block)(const uint8_t *p, size_t len, void *payload),
                                    void *payload);

/* Streams the file once for its SHA-256 (sets have_sha256 and sha256_hex), advancing f->bar by
 * `progress_share` of the bytes read: 1 counts them all, 0 none. */
WEFT_MUST_USE int weft_upload__sha256(weft_upload__file *f, int progress_share);

/* LFS: batch, then basic or multipart transfers (parallel), then verify; for the files whose
 * indices are in idx[0..n) (their SHA-256 known). */
WEFT_MUST_USE int weft_upload__lfs(weft_upload__ctx *u, const size_t *idx, size_t n);

/* Xet: chunks, dedups, packs and posts xorbs, then one shard; for the files in idx[0..n).
 * Computes their SHA-256 as it reads them (and skips those whose remote oid turns out equal:
 * f->unchanged). */
WEFT_MUST_USE int weft_upload__xet(weft_upload__ctx *u, weft_xet_session *s, const size_t *idx,
                                   size_t n);

#endif
