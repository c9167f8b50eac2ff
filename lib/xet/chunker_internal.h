/* Chunker internals shared by lib/xet/chunker.c and its unit test (tests/unit/xet/chunker.c).
 *
 * The Gear scan is the chunker's hot loop. Two versions give the same answer for every input:
 * the reference, one byte per step of the hash as the spec states it, and a fast version that
 * advances the hash two bytes per step of its dependency chain. The chunker uses the fast one
 * unless WEFT_KERNEL=ref (or a CPU without any SIMD level, where weft_cpu_features() is 0). */
#ifndef WEFT_XET_CHUNKER_INTERNAL_H
#define WEFT_XET_CHUNKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Hashes p[i], p[i+1], ... with the Gear hash starting from 0 and returns k + 1 for the first
 * k < limit after which (h & WEFT_XET_GEAR_MASK) == 0, or 0 if there is none (also when
 * i >= limit). */
typedef size_t weft_chunker__gear_fn(const uint8_t *p, size_t i, size_t limit);

/* specs/xet-storage.md §1.1 as written: one byte per step. */
size_t weft_chunker__gear_ref(const uint8_t *p, size_t i, size_t limit);

/* Same result; portable C, about 16% faster on the reference machine. */
size_t weft_chunker__gear_fast(const uint8_t *p, size_t i, size_t limit);

#endif
