/* Internal helpers of lib/tensor: a bump arena that owns everything a parsed header points to
 * (one free for the whole header), and a bounded little-endian cursor for binary parsers. */
#ifndef WEFT_TENSOR_INTERNAL_H
#define WEFT_TENSOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tensor_arena_block {
    struct tensor_arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} tensor_arena_block;

typedef struct tensor_arena {
    tensor_arena_block *head;
} tensor_arena;

#define TENSOR_ARENA_BLOCK (64u * 1024u)

/* n bytes aligned to 16, zeroed, or NULL when out of memory. Big requests get their own
 * block, so a block is never more than half wasted. */
static inline void *tensor_arena_alloc(tensor_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    tensor_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > TENSOR_ARENA_BLOCK / 4 ? n : TENSOR_ARENA_BLOCK;
        b = calloc(1, sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        if (size == n && a->head) {
            /* a dedicated block: keep the current block as the one to bump into */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* A NUL-terminated copy of len bytes, or NULL when out of memory (len < SIZE_MAX). */
static inline char *tensor_arena_strndup(tensor_arena *a, const void *p, size_t len)
{
    char *s = tensor_arena_alloc(a, len + 1);
    if (s) {
        if (len)
            memcpy(s, p, len);
        s[len] = 0;
    }
    return s;
}

static inline void tensor_arena_dispose(tensor_arena *a)
{
    tensor_arena_block *b = a->head;
    while (b) {
        tensor_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

/* Bytewise order of two byte strings, shorter first on a common prefix (Rust's str order). */
static inline int tensor_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

#endif
