/* Growable byte buffers with a fixed cap.
 *
 * A weft_buf is caller-allocated (weft_buf_init / weft_buf_dispose); its bytes are owned by
 * the buffer and freed by dispose. Growth past `cap` fails with WEFT_ELIMIT, out of memory
 * with WEFT_ENOMEM; on failure the buffer is unchanged. Not thread-safe: one owner at a time.
 * `data` may be NULL while len == 0. */
#ifndef WEFT_BUF_H
#define WEFT_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_buf {
    uint8_t *data;
    size_t len;
    size_t alloc;
    size_t cap; /* hard bound on len */
} weft_buf;

/* Starts an empty buffer that may grow to `cap` bytes. */
void weft_buf_init(weft_buf *b, size_t cap);

/* Frees the bytes; the buffer is empty again (and may be reused). */
void weft_buf_dispose(weft_buf *b);

/* Makes room for `extra` more bytes past len without changing len. */
WEFT_MUST_USE int weft_buf_reserve(weft_buf *b, size_t extra);

/* Appends `n` bytes. */
WEFT_MUST_USE int weft_buf_append(weft_buf *b, const void *p, size_t n);

/* Appends a formatted string (no terminating NUL counted in len; one is kept after it). */
WEFT_MUST_USE int weft_buf_printf(weft_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends little-endian integers. */
WEFT_MUST_USE int weft_buf_put_u8(weft_buf *b, uint8_t v);
WEFT_MUST_USE int weft_buf_put_u32le(weft_buf *b, uint32_t v);
WEFT_MUST_USE int weft_buf_put_u64le(weft_buf *b, uint64_t v);

/* Drops the contents, keeps the allocation. */
void weft_buf_clear(weft_buf *b);

/* Little-endian loads and stores on raw memory (no alignment needed). */
static inline uint32_t weft_load_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t weft_load_u64le(const uint8_t *p)
{
    return (uint64_t)weft_load_u32le(p) | (uint64_t)weft_load_u32le(p + 4) << 32;
}
static inline void weft_store_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void weft_store_u64le(uint8_t *p, uint64_t v)
{
    weft_store_u32le(p, (uint32_t)v);
    weft_store_u32le(p + 4, (uint32_t)(v >> 32));
}

#endif
