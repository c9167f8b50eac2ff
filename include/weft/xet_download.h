/* Downloads a file through a Hub's Xet CAS (specs/xet-storage.md §1.4–1.5, docs/http-api.md
 * "Xet CAS"), taking every chunk it can from the local chunk cache (include/weft/chunk_cache.h):
 * a new revision of a large file moves only the chunks that changed.
 *
 * weft_xet_download asks the CAS for the file's reconstruction (GET /v1/reconstructions/{hash},
 * with a Range when only part of the file is wanted), then handles each fetch entry (one merged
 * chunk range of a xorb, the terms inside it) on one of a few worker threads, chunk by chunk:
 * the chunks the cache holds are located (weft_chunk_cache_view), the missing ones are fetched as
 * ONE byte range of the signed fetch URL (from the first to the last missing chunk; byte offsets
 * inside the entry follow from the cached chunks' stored lengths), decoded (none / LZ4 / BG4-LZ4)
 * as they arrive, hashed, streamed into a new cache piece and written with pwrite wherever the
 * terms use them; then the cached chunks are read one at a time, re-hashed and written. Chunks of
 * a cache piece found damaged are fetched again (and stored anew). Checks: each chunk decodes to
 * its header's length, every chunk stays inside its term, the chunks of a term add up to its
 * unpacked_length, the fetched bytes end exactly at a chunk boundary. The reconstruction carries
 * no chunk hashes, so the content itself is verified by the caller (the file's SHA-256); cached
 * chunks are verified against the hashes computed when they were fetched.
 *
 * Memory: a worker holds one chunk at a time (two scratch buffers, reused) plus per-entry
 * tables; several downloads at once share a bound on entries in flight through opts->inflight
 * (the fetcher below allows 6). Errors:
 * negative WEFT_E* with a message (WEFT_ENETWORK for transfers, WEFT_ECORRUPT for bad chunk data,
 * WEFT_EINVALID for a malformed reconstruction, WEFT_EIO for writes). Thread-safe on distinct
 * calls; the client, session and cache may be shared. */
#ifndef WEFT_XET_DOWNLOAD_H
#define WEFT_XET_DOWNLOAD_H

#include <semaphore.h>
#include <stdint.h>

#include "weft/chunk_cache.h"
#include "weft/client.h"
#include "weft/download.h"
#include "weft/err.h"
#include "weft/progress.h"
#include "weft/xet_client.h"

typedef struct weft_xet_download_opts {
    uint64_t range_start;    /* first byte of the file to write */
    uint64_t range_end;      /* end (exclusive); 0: the file's end */
    int n_parallel;          /* fetch workers; 0: 4 */
    weft_chunk_cache *cache; /* may be NULL: everything comes from the CAS */
    weft_progress_bar *bar;  /* advanced by the bytes written; may be NULL */
    sem_t *inflight;         /* shared bound on entries in flight across the downloads using
                              * it (connections); NULL: n_parallel per call */
} weft_xet_download_opts;

typedef struct weft_xet_download_stats {
    uint64_t cas_bytes;     /* chunk bytes received from the CAS fetch URLs */
    uint64_t cache_bytes;   /* decompressed bytes taken from the chunk cache */
    uint64_t meta_bytes;    /* reconstruction answers */
    uint64_t written_bytes; /* file bytes written */
    uint64_t n_fetches;     /* fetch requests */
    uint64_t n_corrupt;     /* cache pieces that failed a check (dropped and refetched) */
} weft_xet_download_stats;

/* Writes bytes [opts->range_start, range_end) of the file whose Xet hash is `file_hash_hex` (64
 * hex digits) and size `file_size` into fd at the same offsets (pwrite; the fd's size is not
 * changed otherwise). `c` sends the fetch requests, `s` the CAS ones. opts may be NULL (whole
 * file, defaults). *stats (may be NULL) is filled even on failure. */
WEFT_MUST_USE int weft_xet_download(weft_xet_download_stats *stats, weft_client *c,
                                    weft_xet_session *s, const char *file_hash_hex,
                                    uint64_t file_size, int fd, const weft_xet_download_opts *opts);

/* ---- the Xet fetcher of `weft download` (include/weft/download.h's xet_fetch hook) ---------- */

/* The state the files of one `weft download` share: the chunk cache, one CAS session per token
 * route, summed stats. Thread-safe. */
typedef struct weft_xet_fetcher weft_xet_fetcher;

/* A fetcher with the chunk cache in cache_dir bounded to cache_max bytes (0: the default), or
 * without a cache when cache_dir is NULL. */
WEFT_MUST_USE int weft_xet_fetcher_new(weft_xet_fetcher **out, const char *cache_dir,
                                       uint64_t cache_max);

/* Frees the sessions, closes the cache (which trims it to its bound). NULL is fine. */
void weft_xet_fetcher_free(weft_xet_fetcher *f);

/* A weft_download_xet_fn (payload: the fetcher): the whole blob through weft_xet_download.
 * WEFT_ENOTFOUND (plain HTTP runs instead) when the blob has no token route or the Hub hands out
 * no CAS token for it (404, 401/403). */
WEFT_MUST_USE int weft_xet_fetcher_fetch(weft_client *c, const weft_download_blob *blob, int fd,
                                         weft_progress_bar *bar, void *payload);

/* The stats of every fetch so far and the number of files fetched through Xet. */
void weft_xet_fetcher_stats(weft_xet_fetcher *f, weft_xet_download_stats *out, uint64_t *n_files);

#endif
