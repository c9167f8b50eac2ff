/* Xet content-defined chunker (specs/xet-storage.md §1.1): Gear rolling hash with xet-core's
 * exact table, mask 0xFFFF000000000000, 8 KiB minimum (with skip-ahead), 128 KiB maximum.
 *
 * Two layers:
 *  - weft_chunker_split() is pure and stateless: given bytes that begin at a chunk start it
 *    finds the chunk lengths. A boundary depends only on the bytes since its chunk started, so
 *    re-presenting an unfinished tail together with more data gives the same chunks as one
 *    call over everything.
 *  - weft_chunker is the streaming form: feed any split of the input, get each chunk's bytes
 *    and keyed-BLAKE3 chunk hash through a callback, identical for every split. It owns one
 *    internal window (about 1 MiB). Not thread-safe per object.
 * Errors: only WEFT_ENOMEM from _new, and whatever the callback returns (passed through). */
#ifndef WEFT_CHUNKER_H
#define WEFT_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"
#include "weft/xet_hash.h"

#define WEFT_XET_CHUNK_TARGET 65536u
#define WEFT_XET_CHUNK_MIN (WEFT_XET_CHUNK_TARGET / 8)
#define WEFT_XET_CHUNK_MAX (WEFT_XET_CHUNK_TARGET * 2)
#define WEFT_XET_GEAR_MASK 0xFFFF000000000000ull

extern const uint64_t WEFT_XET_GEAR_TABLE[256];

/* Finds the chunks of p[0..n), where p[0] starts a chunk. Writes up to max_out chunk lengths
 * to lens and returns how many. *consumed gets the bytes those chunks cover. Unless `final`,
 * the trailing bytes after the last boundary are not a chunk yet and are left for the next call;
 * with `final` they form the last chunk. Stops early when lens is full. */
size_t weft_chunker_split(uint32_t *lens, size_t max_out, const uint8_t *p, size_t n, int final,
                          size_t *consumed);

/* Called once per chunk, in order. `data` is borrowed until the callback returns. A negative
 * return stops the chunker and is passed back to the caller of feed/finish. */
typedef int (*weft_chunk_cb)(const uint8_t *data, size_t len, const weft_hash *hash,
                             void *payload);

typedef struct weft_chunker weft_chunker;

WEFT_MUST_USE int weft_chunker_new(weft_chunker **out);
void weft_chunker_free(weft_chunker *c);

/* Feeds n bytes; emits every chunk that is complete. */
WEFT_MUST_USE int weft_chunker_feed(weft_chunker *c, const void *p, size_t n, weft_chunk_cb cb,
                                    void *payload);

/* Ends the input: emits the last chunk, if any. The chunker is then ready for a new stream. */
WEFT_MUST_USE int weft_chunker_finish(weft_chunker *c, weft_chunk_cb cb, void *payload);

/* Chunks and hashes a whole in-memory buffer without copying it. */
WEFT_MUST_USE int weft_chunker_run(const void *p, size_t n, weft_chunk_cb cb, void *payload);

#endif
