/* Local cache of Xet chunks fetched before (issue 4, Xet downloads): a later download of a file
 * that shares chunk ranges of the same xorbs (a new revision of a large file) takes them from
 * here instead of the CAS.
 *
 * Layout under the cache directory ($WEFT_CHUNK_CACHE, else $HF_HOME/weft/chunks):
 *   <xorb hex[0..2]>/<xorb hex>/<first>-<end>     one "piece": chunks [first, end) of that xorb
 * A piece holds the chunks decompressed, with each chunk's raw length, its length in the xorb
 * (8-byte header + payload, so a client can compute the byte offset of a chunk after cached ones)
 * and its chunk hash, then a check hash over that table:
 *   "WEFTCC01" | xorb hash (32) | u32 first | u32 n | u64 data_len | n × {u32 raw_len,
 *   u32 phys_len, chunk hash (32)} | check = chunk hash of everything before (32) | raw bytes
 * Pieces of one xorb may overlap; a lookup takes every chunk from whichever piece has it. Every
 * chunk read is re-hashed and compared with its stored hash; a piece that fails any check is
 * deleted and its chunks count as absent (the caller fetches them again).
 *
 * Several processes may share a cache: pieces are written to a temp file and renamed into place,
 * readers that lose a race with a delete just miss, and nothing is locked. The cache is bounded:
 * when the bytes a handle added pass an eighth of the bound, and when it closes, the cache is
 * scanned and the least recently used pieces (by mtime, which a hit refreshes) are deleted until
 * it fits. A weft_chunk_cache is thread-safe. Errors are negative WEFT_E* with a message; the
 * cache is an optimization, so callers may go on without it when put fails. */
#ifndef WEFT_CHUNK_CACHE_H
#define WEFT_CHUNK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"
#include "weft/xet_hash.h"

#define WEFT_CHUNK_CACHE_DEFAULT_MAX (10ull << 30) /* 10 GiB, as xet-core */

/* One chunk of a xorb as the download code holds it. */
typedef struct weft_xet_chunk {
    uint8_t *data; /* raw_len decompressed bytes (malloc'd, the holder's); NULL: absent */
    uint32_t raw_len;
    uint32_t phys_len; /* bytes it takes in the xorb: 8-byte header + payload */
    weft_hash hash;    /* chunk hash of data */
} weft_xet_chunk;

/* Frees the data of n chunks and marks them absent. */
void weft_xet_chunks_clear(weft_xet_chunk *chunks, size_t n);

typedef struct weft_chunk_cache weft_chunk_cache;

typedef struct weft_chunk_cache_stats {
    uint64_t hit_bytes;     /* raw chunk bytes served by get */
    uint64_t put_bytes;     /* piece bytes written by put */
    uint64_t evicted_bytes; /* piece bytes deleted to stay under the bound */
    uint64_t n_corrupt;     /* pieces that failed a check and were deleted */
} weft_chunk_cache_stats;

/* Opens (creating it) the cache in `dir`, bounded to max_bytes (0: the default). */
WEFT_MUST_USE int weft_chunk_cache_open(weft_chunk_cache **out, const char *dir,
                                        uint64_t max_bytes);

/* Evicts down to the bound if this handle added anything, then frees it. NULL is fine. */
void weft_chunk_cache_close(weft_chunk_cache *c);

/* For every chunk i in [first, first + n) of `xorb` whose chunks[i - first].data is NULL and that
 * a piece holds and verifies, fills chunks[i - first] (data malloc'd, the caller's). Adds the
 * number filled to *n_found (may be NULL). Absent chunks are not an error. */
WEFT_MUST_USE int weft_chunk_cache_get(weft_chunk_cache *c, uint32_t *n_found,
                                       weft_xet_chunk *chunks, const weft_hash *xorb,
                                       uint32_t first, uint32_t n);

/* Stores chunks [first, first + n) of `xorb` (all present, hashes computed by the caller from
 * the data) as one piece, and deletes older pieces of the xorb it contains. */
WEFT_MUST_USE int weft_chunk_cache_put(weft_chunk_cache *c, const weft_hash *xorb, uint32_t first,
                                       const weft_xet_chunk *chunks, uint32_t n);

/* ---- streaming access: what downloads use, so no chunk is held longer than it is needed ---- */

typedef struct weft_chunk_cache_view weft_chunk_cache_view;

/* Locates the cached chunks of [first, first + n) of `xorb`: opens the pieces that hold them and
 * checks their tables. For each chunk i held, held[i - first] = 1 and meta[i - first] gets its
 * raw_len, phys_len and hash (data is not touched); else held[i - first] = 0. Nothing is read
 * yet. *out is the caller's (weft_chunk_cache_view_close); it keeps the pieces open. */
WEFT_MUST_USE int weft_chunk_cache_view_open(weft_chunk_cache_view **out, weft_chunk_cache *c,
                                             weft_xet_chunk *meta, uint8_t *held,
                                             const weft_hash *xorb, uint32_t first, uint32_t n);

/* Reads held chunk i into buf (room for its raw_len) and checks its chunk hash. WEFT_ECORRUPT
 * when it differs: the piece is then deleted and every chunk it held counts as dropped. */
WEFT_MUST_USE int weft_chunk_cache_view_read(weft_chunk_cache_view *v, uint32_t i, uint8_t *buf);

/* 1 if chunk i was held by a piece found damaged since the view was opened. */
int weft_chunk_cache_view_dropped(const weft_chunk_cache_view *v, uint32_t i);

/* Pieces of this view found damaged (and deleted) so far. */
uint32_t weft_chunk_cache_view_n_dropped(const weft_chunk_cache_view *v);

/* Closes the pieces. NULL is fine. */
void weft_chunk_cache_view_close(weft_chunk_cache_view *v);

typedef struct weft_chunk_cache_writer weft_chunk_cache_writer;

/* Starts a piece for chunks [first, first + n) of `xorb`, streamed to a temp file. */
WEFT_MUST_USE int weft_chunk_cache_writer_open(weft_chunk_cache_writer **out, weft_chunk_cache *c,
                                               const weft_hash *xorb, uint32_t first, uint32_t n);

/* Appends the next chunk (data, raw_len, phys_len, hash; the data is written, not kept). */
WEFT_MUST_USE int weft_chunk_cache_writer_add(weft_chunk_cache_writer *w, const weft_xet_chunk *ch);

/* Publishes the piece (rename; older pieces it contains are deleted) when all n chunks were
 * added, else discards it with WEFT_EINVALID; frees w either way. NULL is fine. */
WEFT_MUST_USE int weft_chunk_cache_writer_close(weft_chunk_cache_writer *w);

/* Deletes least recently used pieces (and temp files older than an hour) until the cache holds
 * at most max_bytes (0: the handle's bound). *total_out (may be NULL) is what stays. */
WEFT_MUST_USE int weft_chunk_cache_evict(weft_chunk_cache *c, uint64_t max_bytes,
                                         uint64_t *total_out);

/* Counters of this handle so far. */
void weft_chunk_cache_stats_get(weft_chunk_cache *c, weft_chunk_cache_stats *out);

/* Parses a size such as "10G", "512M", "1048576" (K/M/G/T, powers of 1024, optional "iB"/"B"). */
WEFT_MUST_USE int weft_chunk_cache_parse_size(uint64_t *out, const char *s);

#endif
