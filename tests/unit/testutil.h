/* Helpers shared by the C unit tests: deterministic data and temp dirs. Header-only. */
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* splitmix64 step: deterministic pseudo-random 64-bit values. */
static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void tu_fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = tu_next(&s);
        for (size_t k = 0; k < 8 && i + k < n; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

#endif
