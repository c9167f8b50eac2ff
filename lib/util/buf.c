/* Growable byte buffers with a cap (include/weft/buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"

void weft_buf_init(weft_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void weft_buf_dispose(weft_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void weft_buf_clear(weft_buf *b)
{
    b->len = 0;
}

int weft_buf_reserve(weft_buf *b, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || need > b->cap)
        return weft_err_set(WEFT_ELIMIT, "buffer: %zu more bytes would pass the cap of %zu", extra,
                            b->cap);
    /* +1 keeps room for the NUL weft_buf_printf leaves after the text. */
    if (need + 1 <= b->alloc)
        return 0;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need + 1)
        n = n > SIZE_MAX / 2 ? need + 1 : n * 2;
    uint8_t *p = realloc(b->data, n);
    if (p == NULL)
        return weft_err_set(WEFT_ENOMEM, "buffer: cannot allocate %zu bytes", n);
    b->data = p;
    b->alloc = n;
    return 0;
}

int weft_buf_append(weft_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = weft_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int weft_buf_printf(weft_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return weft_err_set(WEFT_EINVALID, "buffer: bad format");
    int rc = weft_buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int weft_buf_put_u8(weft_buf *b, uint8_t v)
{
    return weft_buf_append(b, &v, 1);
}

int weft_buf_put_u32le(weft_buf *b, uint32_t v)
{
    uint8_t tmp[4];
    weft_store_u32le(tmp, v);
    return weft_buf_append(b, tmp, 4);
}

int weft_buf_put_u64le(weft_buf *b, uint64_t v)
{
    uint8_t tmp[8];
    weft_store_u64le(tmp, v);
    return weft_buf_append(b, tmp, 8);
}
