/* Bounded reading cursor for the lib/xet parsers (xorb.c, shard.c): a position over (p, end)
 * that never moves past end. Internal to lib/xet. */
#ifndef WEFT_XET_CURSOR_H
#define WEFT_XET_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"

typedef struct xet_cursor {
    const uint8_t *base; /* start of the parsed input, for offsets in messages */
    const uint8_t *p;
    const uint8_t *end;
} xet_cursor;

static inline void xet_cursor_init(xet_cursor *c, const uint8_t *p, size_t len)
{
    c->base = p;
    c->p = p;
    c->end = p + len;
}

static inline size_t xet_cursor_left(const xet_cursor *c)
{
    return (size_t)(c->end - c->p);
}

static inline size_t xet_cursor_pos(const xet_cursor *c)
{
    return (size_t)(c->p - c->base);
}

/* Returns the next n bytes and advances, or NULL (cursor unchanged) if fewer are left. */
static inline const uint8_t *xet_cursor_take(xet_cursor *c, size_t n)
{
    if (xet_cursor_left(c) < n)
        return NULL;
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

#endif
