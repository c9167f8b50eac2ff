/* The chunk store: every large file the hub holds, as Xet chunks packed into xorbs.
 *
 * A store is a directory: xorbs/ (the fs backend's objects) and index.db (SQLite, WAL) mapping
 * chunk hash -> (xorb, chunk index), xorb -> sizes, file (Xet file hash, SHA-256) -> terms.
 * Ingest chunks a byte stream, deduplicates every chunk against the index, packs new chunks
 * into xorbs (<= 64 MiB, <= 8,192 chunks) and records the file. Crash safety: a xorb object is
 * durable before the index rows naming it are committed, and a file's row and terms are
 * committed in one transaction after all its xorbs are durable, so a crash (kill -9 included)
 * leaves at most unreferenced objects, which gc removes, never a dangling reference.
 * Several processes and threads may ingest into one store at once (SQLite locking, busy
 * timeout); one weft_store handle is used by one thread at a time.
 * Reads resolve a file's terms and read only the chunk bytes a range needs (the xorb footer
 * gives every chunk's offsets), verifying each chunk's hash unless told not to; a chunk that
 * fails is reported as WEFT_ECORRUPT naming the xorb, before any of its bytes are passed on.
 * Errors are WEFT_E* codes with a message from weft_err_last(). */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"
#include "weft/xet_hash.h"

typedef struct weft_store weft_store;

typedef struct weft_store_file {
    weft_hash xet_hash;  /* Xet file hash */
    uint8_t sha256[32];  /* the Git LFS oid */
    uint64_t size;       /* bytes */
    int64_t created;     /* unix seconds */
} weft_store_file;

typedef struct weft_store_put_result {
    weft_store_file file;
    uint64_t new_bytes;      /* raw bytes of chunks stored anew by this put */
    uint64_t dedup_bytes;    /* raw bytes of chunks the store already had */
    uint64_t stored_bytes;   /* bytes written to xorb objects (after compression, with footers) */
    uint32_t new_chunks, dedup_chunks, new_xorbs;
} weft_store_put_result;

typedef struct weft_store_stats {
    uint64_t n_files;
    uint64_t logical_bytes;  /* sum of file sizes */
    uint64_t unique_bytes;   /* raw bytes of distinct chunks */
    uint64_t physical_bytes; /* bytes of xorb objects */
    uint64_t n_chunks, n_xorbs;
} weft_store_stats;

/* Opens (creating if needed) the store in dir. */
WEFT_MUST_USE int weft_store_open(weft_store **out, const char *dir);
void weft_store_close(weft_store *s);

/* Test hook: caps xorbs at max_bytes of chunk data (0 = the Xet default of 64 MiB). */
void weft_store_set_xorb_limit(weft_store *s, size_t max_bytes);

/* Compression of new chunks at ingest: off by default (chunks stored raw, scheme none), so
 * ingest runs at hashing speed; on = Xet's auto choice of LZ4 / BG4-LZ4 per chunk, which
 * costs about 1.2 s per GB of BF16 weights on one core for a ~1.2x smaller store. */
void weft_store_set_compression(weft_store *s, int compress);

/* ---- ingest ---- */

typedef struct weft_store_ingest weft_store_ingest;

WEFT_MUST_USE int weft_store_ingest_begin(weft_store *s, weft_store_ingest **out);
WEFT_MUST_USE int weft_store_ingest_feed(weft_store_ingest *in, const void *p, size_t n);
/* Flushes the last xorb and commits the file. Frees `in` whatever the outcome. */
WEFT_MUST_USE int weft_store_ingest_finish(weft_store_ingest *in, weft_store_put_result *out);
/* Gives up: nothing is committed for the file (xorbs already written stay for dedup/gc). */
void weft_store_ingest_abort(weft_store_ingest *in);

/* Ingests everything readable from fd. progress(done, payload) is called about every 8 MiB
 * (may be NULL). */
WEFT_MUST_USE int weft_store_put_fd(weft_store *s, int fd, weft_store_put_result *out,
                                    void (*progress)(uint64_t done, void *payload),
                                    void *payload);

/* ---- files ---- */

/* Finds a file by either name, given as 64 hex digits: the SHA-256 (plain hex) or the Xet file
 * hash (Xet hex). WEFT_ENOTFOUND if the store has neither; WEFT_EINVALID for bad hex. */
WEFT_MUST_USE int weft_store_lookup(weft_store *s, const char *hex, weft_store_file *out);

/* Receives reconstructed bytes in order; a negative return stops the read and is returned. */
typedef int (*weft_store_write_cb)(const uint8_t *p, size_t n, void *payload);

/* Streams bytes [offset, offset + len) of a file (len is clamped to the file's end; an offset
 * past the end is WEFT_EINVALID). verify != 0 re-hashes every chunk before passing it on. */
WEFT_MUST_USE int weft_store_read(weft_store *s, const weft_hash *file, uint64_t offset,
                                  uint64_t len, int verify, weft_store_write_cb cb, void *payload);

/* Lists every file, oldest first. */
WEFT_MUST_USE int weft_store_list(weft_store *s,
                                  int (*cb)(const weft_store_file *f, void *payload),
                                  void *payload);

/* Forgets a file (its chunks stay until gc finds them unreferenced). */
WEFT_MUST_USE int weft_store_remove(weft_store *s, const weft_hash *file);

WEFT_MUST_USE int weft_store_get_stats(weft_store *s, weft_store_stats *out);

/* ---- maintenance ---- */

typedef struct weft_store_gc_result {
    uint32_t xorbs_deleted, xorbs_rewritten, orphans_deleted;
    uint64_t bytes_freed;
} weft_store_gc_result;

/* Mark and sweep from the live files: deletes xorbs no file uses, rewrites xorbs of which less
 * than half the bytes are live, and deletes backend objects the index does not know. Xorbs and
 * objects younger than grace_seconds are left alone (uploads not yet committed). */
WEFT_MUST_USE int weft_store_gc(weft_store *s, int64_t grace_seconds, weft_store_gc_result *out);

/* Called by fsck for each damaged xorb, with the reason and the files that depend on it. */
typedef void (*weft_store_fsck_cb)(const char *xorb_hex, const char *reason,
                                   const weft_store_file *files, size_t n_files, void *payload);

/* Re-hashes every chunk of every xorb and checks index against backend. *n_damaged gets the
 * number of damaged or missing xorbs (0 = clean). */
WEFT_MUST_USE int weft_store_fsck(weft_store *s, weft_store_fsck_cb cb, void *payload,
                                  uint32_t *n_damaged);

#endif
