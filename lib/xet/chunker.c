/* Xet content-defined chunker (include/weft/chunker.h, specs/xet-storage.md §1.1).
 *
 * Per chunk starting at s: reset the Gear hash, skip the first MIN - 64 - 1 bytes unhashed,
 * then hash byte i and cut after it when (h & MASK) == 0, or at s + MAX. The skip makes this
 * sequential scan faster on the reference machine than scanning four independent strips in
 * lockstep, which was measured and dropped (3.3 vs 3.8 GB/s, bench/RESULTS.md).
 *
 * The byte-at-a-time loop runs at about 6.5 instructions per cycle on the reference machine:
 * it is bound by instruction throughput as much as by its one-cycle shift-add chain. The fast
 * version (weft_chunker__gear_fast) advances the hash two bytes per step of the chain,
 * h2 = 4h + (2 T[a] + T[b]), and computes the hash after the first byte, h1 = 2h + T[a], off
 * the chain only to test it: fewer instructions per byte and half the chain (scan 16% faster,
 * chunking + hashing 10%). Measured slower and not kept: plain unrolling, four bytes per
 * step, and interleaving the AVX-512 BLAKE3 of the previous chunk into the scan (the scan
 * leaves no issue slots free for it). */
#include <stdlib.h>
#include <string.h>

#include "weft/chunker.h"
#include "weft/cpu.h"
#include "xet/chunker_internal.h"

#define GEAR_WINDOW 64
#define CHUNK_SKIP (WEFT_XET_CHUNK_MIN - GEAR_WINDOW - 1)
#define STREAM_WINDOW (1u << 20)  /* the streaming chunker's buffer, plus one max chunk */

size_t weft_chunker__gear_ref(const uint8_t *p, size_t i, size_t limit)
{
    uint64_t h = 0;
    for (; i < limit; i++) {
        h = (h << 1) + WEFT_XET_GEAR_TABLE[p[i]];
        if ((h & WEFT_XET_GEAR_MASK) == 0)
            return i + 1;
    }
    return 0;
}

/* Two bytes a, b at p[j], p[j + 1]: the hash after a (tested, off the chain), then after b. */
#define GEAR_PAIR(j)                                                                              \
    do {                                                                                          \
        uint64_t ta = WEFT_XET_GEAR_TABLE[p[(j)]], tb = WEFT_XET_GEAR_TABLE[p[(j) + 1]];          \
        uint64_t h1 = (h << 1) + ta;                                                              \
        h = (h << 2) + ((ta << 1) + tb);                                                          \
        if (__builtin_expect((h1 & WEFT_XET_GEAR_MASK) == 0, 0))                                  \
            return (j) + 1;                                                                       \
        if (__builtin_expect((h & WEFT_XET_GEAR_MASK) == 0, 0))                                   \
            return (j) + 2;                                                                       \
    } while (0)

size_t weft_chunker__gear_fast(const uint8_t *p, size_t i, size_t limit)
{
    uint64_t h = 0;
    /* Eight bytes per iteration (a longer unroll measured slower). */
    while (i < limit && limit - i >= 8) {
        GEAR_PAIR(i);
        GEAR_PAIR(i + 2);
        GEAR_PAIR(i + 4);
        GEAR_PAIR(i + 6);
        i += 8;
    }
    for (; i < limit; i++) {
        h = (h << 1) + WEFT_XET_GEAR_TABLE[p[i]];
        if ((h & WEFT_XET_GEAR_MASK) == 0)
            return i + 1;
    }
    return 0;
}

/* The scan in use: the reference when WEFT_KERNEL=ref, else the fast one. Both are pure, so a
 * race on the first call only stores the same pointer twice. */
static weft_chunker__gear_fn *chunker_gear(void)
{
    static weft_chunker__gear_fn *volatile chosen;
    weft_chunker__gear_fn *f = chosen;
    if (f == NULL) {
        f = weft_cpu_features() != 0 ? weft_chunker__gear_fast : weft_chunker__gear_ref;
        chosen = f;
    }
    return f;
}

/* The end of the chunk starting at s, or 0 if p[s..n) holds no boundary yet. */
static size_t chunk_end(weft_chunker__gear_fn *gear, const uint8_t *p, size_t n, size_t s,
                        int final)
{
    size_t limit = n - s > WEFT_XET_CHUNK_MAX ? s + WEFT_XET_CHUNK_MAX : n;
    size_t end = gear(p, s + CHUNK_SKIP, limit);
    if (end != 0)
        return end;
    if (limit - s >= WEFT_XET_CHUNK_MAX)
        return s + WEFT_XET_CHUNK_MAX;
    return final ? n : 0;
}

size_t weft_chunker_split(uint32_t *lens, size_t max_out, const uint8_t *p, size_t n, int final,
                          size_t *consumed)
{
    weft_chunker__gear_fn *gear = chunker_gear();
    size_t k = 0, s = 0;
    while (k < max_out && s < n) {
        size_t end = chunk_end(gear, p, n, s, final);
        if (end == 0)
            break;
        lens[k++] = (uint32_t)(end - s);
        s = end;
    }
    *consumed = s;
    return k;
}

/* ---- streaming ---- */

struct weft_chunker {
    uint8_t *buf; /* STREAM_WINDOW + one max chunk */
    size_t len;   /* bytes in buf; buf[0] starts a chunk */
};

int weft_chunker_new(weft_chunker **out)
{
    weft_chunker *c = calloc(1, sizeof *c);
    if (c != NULL)
        c->buf = malloc(STREAM_WINDOW + WEFT_XET_CHUNK_MAX);
    if (c == NULL || c->buf == NULL) {
        free(c);
        return weft_err_set(WEFT_ENOMEM, "chunker: cannot allocate its window");
    }
    *out = c;
    return 0;
}

void weft_chunker_free(weft_chunker *c)
{
    if (c == NULL)
        return;
    free(c->buf);
    free(c);
}

/* Hashes and emits every complete chunk of p[0..n) (all of it if final); *consumed gets the
 * bytes emitted. */
static int chunker_emit(const uint8_t *p, size_t n, int final, size_t *consumed,
                        weft_chunk_cb cb, void *payload)
{
    weft_chunker__gear_fn *gear = chunker_gear();
    size_t s = 0;
    int rc = 0;
    while (s < n) {
        size_t end = chunk_end(gear, p, n, s, final);
        if (end == 0)
            break;
        weft_hash h;
        weft_xet_chunk_hash(&h, p + s, end - s);
        rc = cb(p + s, end - s, &h, payload);
        if (rc < 0)
            break;
        s = end;
    }
    *consumed = s;
    return rc;
}

static int chunker_drain(weft_chunker *c, int final, weft_chunk_cb cb, void *payload)
{
    size_t used = 0;
    int rc = chunker_emit(c->buf, c->len, final, &used, cb, payload);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    return rc;
}

int weft_chunker_feed(weft_chunker *c, const void *p, size_t n, weft_chunk_cb cb, void *payload)
{
    const uint8_t *src = p;
    size_t cap = STREAM_WINDOW + WEFT_XET_CHUNK_MAX;
    while (n > 0) {
        size_t take = cap - c->len < n ? cap - c->len : n;
        memcpy(c->buf + c->len, src, take);
        c->len += take;
        src += take;
        n -= take;
        if (c->len == cap) {
            /* A full window holds at least one boundary, so this always makes room. */
            int rc = chunker_drain(c, 0, cb, payload);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int weft_chunker_finish(weft_chunker *c, weft_chunk_cb cb, void *payload)
{
    int rc = chunker_drain(c, 1, cb, payload);
    c->len = 0;
    return rc;
}

int weft_chunker_run(const void *p, size_t n, weft_chunk_cb cb, void *payload)
{
    size_t used;
    return chunker_emit(p, n, 1, &used, cb, payload);
}
