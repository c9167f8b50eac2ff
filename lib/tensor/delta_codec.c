/* Delta codec byte planes (specs/xet-storage.md §4.1): a fine-tune element against the base
 * element at the same position.
 *
 * DIFF: the ordered-integer map o(w) = w ^ (sign set ? all ones : sign bit only) sends the IEEE
 * bit patterns monotonically and bijectively onto unsigned integers (-NaN < -inf < ... < -0 <
 * +0 < ... < +inf < +NaN), so a small change of value is a small integer difference even across
 * a mantissa carry or zero; d = o(fine) - o(base) modulo 2^bits is zigzag-coded (0, -1, 1, -2,
 * ... → 0, 1, 2, 3, ...) and split into byte planes, high first. Every step is a bijection on
 * bit patterns, so any pair of patterns round-trips exactly.
 * XOR: fine ^ base, rotated left by one bit like the float codec, in byte planes (BitX-style).
 * No state; plain loops. */
#include "tensor/codec_internal.h"

#if !defined(__x86_64__) && !defined(__i386__)
/* Never called off x86 (weft_tensor__use_avx2 is 0); defined so the references link. */
size_t weft_tensor__diff_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                      size_t n)
{
    (void)planes, (void)fine, (void)base, (void)n;
    return 0;
}
size_t weft_tensor__diff_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                     const uint8_t *base, size_t n)
{
    (void)out, (void)hi, (void)lo, (void)base, (void)n;
    return 0;
}
size_t weft_tensor__xor_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                     size_t n)
{
    (void)planes, (void)fine, (void)base, (void)n;
    return 0;
}
size_t weft_tensor__xor_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                    const uint8_t *base, size_t n)
{
    (void)out, (void)hi, (void)lo, (void)base, (void)n;
    return 0;
}
size_t weft_tensor__count_escapes_avx2(const uint8_t *a, size_t n, size_t *done)
{
    (void)a, (void)n;
    *done = 0;
    return 0;
}
size_t weft_tensor__diffesc_join16_avx512(uint8_t *out, const uint8_t *a, const uint8_t *words,
                                          size_t *j, const uint8_t *base, size_t n)
{
    (void)out, (void)a, (void)words, (void)j, (void)base, (void)n;
    return 0;
}
#endif

static inline uint16_t delta_order16(uint16_t w)
{
    return (uint16_t)(w ^ ((w & 0x8000) ? 0xffff : 0x8000));
}

static inline uint16_t delta_unorder16(uint16_t o)
{
    return (uint16_t)(o ^ ((o & 0x8000) ? 0x8000 : 0xffff));
}

static inline uint32_t delta_order32(uint32_t w)
{
    return w ^ ((w & 0x80000000u) ? 0xffffffffu : 0x80000000u);
}

static inline uint32_t delta_unorder32(uint32_t o)
{
    return o ^ ((o & 0x80000000u) ? 0x80000000u : 0xffffffffu);
}

void weft_tensor__diff_split(uint8_t *planes, const uint8_t *fine, const uint8_t *base, size_t n,
                             size_t esize)
{
    if (esize == 2) {
        uint8_t *hi = planes, *lo = planes + n;
        size_t i = weft_tensor__use_avx2() ? weft_tensor__diff_split16_avx2(planes, fine, base, n)
                                           : 0;
        for (; i < n; i++) {
            uint16_t d = (uint16_t)(delta_order16(weft_tensor__load16(fine + 2 * i)) -
                                    delta_order16(weft_tensor__load16(base + 2 * i)));
            uint16_t z = (uint16_t)(d << 1 ^ ((d & 0x8000) ? 0xffff : 0));
            hi[i] = (uint8_t)(z >> 8);
            lo[i] = (uint8_t)z;
        }
        return;
    }
    uint8_t *p0 = planes, *p1 = planes + n, *p2 = planes + 2 * n, *p3 = planes + 3 * n;
    for (size_t i = 0; i < n; i++) {
        uint32_t d = delta_order32(weft_tensor__load32(fine + 4 * i)) -
                     delta_order32(weft_tensor__load32(base + 4 * i));
        uint32_t z = d << 1 ^ ((d & 0x80000000u) ? 0xffffffffu : 0);
        p0[i] = (uint8_t)(z >> 24);
        p1[i] = (uint8_t)(z >> 16);
        p2[i] = (uint8_t)(z >> 8);
        p3[i] = (uint8_t)z;
    }
}

void weft_tensor__diff_join(uint8_t *out, const uint8_t *const planes[4], const uint8_t *base,
                            size_t n, size_t esize)
{
    if (esize == 2) {
        const uint8_t *hi = planes[0], *lo = planes[1];
        size_t i =
            weft_tensor__use_avx2() ? weft_tensor__diff_join16_avx2(out, hi, lo, base, n) : 0;
        for (; i < n; i++) {
            uint16_t z = (uint16_t)(hi[i] << 8 | lo[i]);
            uint16_t d = (uint16_t)(z >> 1 ^ ((z & 1) ? 0xffff : 0));
            uint16_t o = (uint16_t)(delta_order16(weft_tensor__load16(base + 2 * i)) + d);
            weft_tensor__store16(out + 2 * i, delta_unorder16(o));
        }
        return;
    }
    const uint8_t *p0 = planes[0], *p1 = planes[1], *p2 = planes[2], *p3 = planes[3];
    for (size_t i = 0; i < n; i++) {
        uint32_t z = (uint32_t)p0[i] << 24 | (uint32_t)p1[i] << 16 | (uint32_t)p2[i] << 8 | p3[i];
        uint32_t d = z >> 1 ^ ((z & 1) ? 0xffffffffu : 0);
        uint32_t o = delta_order32(weft_tensor__load32(base + 4 * i)) + d;
        weft_tensor__store32(out + 4 * i, delta_unorder32(o));
    }
}

void weft_tensor__xor_split(uint8_t *planes, const uint8_t *fine, const uint8_t *base, size_t n,
                            size_t esize)
{
    if (esize == 2) {
        uint8_t *hi = planes, *lo = planes + n;
        size_t i = weft_tensor__use_avx2() ? weft_tensor__xor_split16_avx2(planes, fine, base, n)
                                           : 0;
        for (; i < n; i++) {
            uint16_t x = weft_tensor__load16(fine + 2 * i) ^ weft_tensor__load16(base + 2 * i);
            uint16_t r = (uint16_t)(x << 1 | x >> 15);
            hi[i] = (uint8_t)(r >> 8);
            lo[i] = (uint8_t)r;
        }
        return;
    }
    uint8_t *p0 = planes, *p1 = planes + n, *p2 = planes + 2 * n, *p3 = planes + 3 * n;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = weft_tensor__load32(fine + 4 * i) ^ weft_tensor__load32(base + 4 * i);
        uint32_t r = x << 1 | x >> 31;
        p0[i] = (uint8_t)(r >> 24);
        p1[i] = (uint8_t)(r >> 16);
        p2[i] = (uint8_t)(r >> 8);
        p3[i] = (uint8_t)r;
    }
}

void weft_tensor__xor_join(uint8_t *out, const uint8_t *const planes[4], const uint8_t *base,
                           size_t n, size_t esize)
{
    size_t i = 0;
    if (esize == 2 && weft_tensor__use_avx2())
        i = weft_tensor__xor_join16_avx2(out, planes[0], planes[1], base, n);
    /* The float join undoes the rotation; the base is XOR-ed back in place. */
    const uint8_t *rest[4] = {planes[0] + i, planes[1] + i, esize == 4 ? planes[2] : NULL,
                              esize == 4 ? planes[3] : NULL}; /* i is 0 for esize 4 */
    weft_tensor__float_join(out + i * esize, rest, n - i, esize);
    for (size_t j = i * esize; j < n * esize; j++)
        out[j] ^= base[j];
}

/* DIFF_ESC: the zigzag difference z as one byte per element while it is small: a[i] = z when
 * z < 255, else 255 and z - 255 goes to the escape planes (one entry per escape, high byte
 * first). A fine-tune moves most weights by a few units in the last place, so the high planes
 * of DIFF are nearly all zero yet cost a whole bit per element under Huffman; here they cost
 * only the escape symbol's share, and the decoder has half the symbols to decode. */
static inline uint32_t delta_z(const uint8_t *fine, const uint8_t *base, size_t i, size_t esize)
{
    if (esize == 2) {
        uint16_t d = (uint16_t)(delta_order16(weft_tensor__load16(fine + 2 * i)) -
                                delta_order16(weft_tensor__load16(base + 2 * i)));
        return (uint16_t)(d << 1 ^ ((d & 0x8000) ? 0xffff : 0));
    }
    uint32_t d = delta_order32(weft_tensor__load32(fine + 4 * i)) -
                 delta_order32(weft_tensor__load32(base + 4 * i));
    return d << 1 ^ ((d & 0x80000000u) ? 0xffffffffu : 0);
}

size_t weft_tensor__diffesc_split(uint8_t *a, uint8_t *esc, const uint8_t *fine,
                                  const uint8_t *base, size_t n, size_t esize)
{
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t z = delta_z(fine, base, i, esize);
        a[i] = z < 255 ? (uint8_t)z : 255;
        e += z >= 255;
    }
    size_t j = 0;
    for (size_t i = 0; i < n && j < e; i++) {
        if (a[i] != 255)
            continue;
        uint32_t x = delta_z(fine, base, i, esize) - 255;
        for (size_t k = 0; k < esize; k++)
            esc[k * e + j] = (uint8_t)(x >> (8 * (esize - 1 - k)));
        j++;
    }
    return e;
}

size_t weft_tensor__count_escapes(const uint8_t *a, size_t n)
{
    size_t i = 0, e = 0;
    if (weft_tensor__use_avx2())
        e = weft_tensor__count_escapes_avx2(a, n, &i);
    for (; i < n; i++)
        e += a[i] == 255;
    return e;
}

void weft_tensor__esc_words(uint8_t *words, const uint8_t *const esc[4], size_t e, size_t esize)
{
    for (size_t j = 0; j < e; j++) {
        if (esize == 2) {
            weft_tensor__store16(words + 2 * j, (uint16_t)(255 + (esc[0][j] << 8 | esc[1][j])));
        } else {
            uint32_t x = (uint32_t)esc[0][j] << 24 | (uint32_t)esc[1][j] << 16 |
                         (uint32_t)esc[2][j] << 8 | esc[3][j];
            weft_tensor__store32(words + 4 * j, 255 + x);
        }
    }
    memset(words + esize * e, 0, esize); /* the join may read one word past the last */
}

void weft_tensor__diffesc_join(uint8_t *out, const uint8_t *a, const uint8_t *words,
                               const uint8_t *base, size_t n, size_t esize)
{
    size_t j = 0, i = 0;
    if (esize == 2) {
        if (weft_tensor__use_avx512_vbmi2())
            i = weft_tensor__diffesc_join16_avx512(out, a, words, &j, base, n);
        /* Branchless: an escape takes the next word, others add nothing and keep j. */
        for (; i < n; i++) {
            uint16_t isesc = a[i] == 255;
            uint16_t w = weft_tensor__load16(words + 2 * j);
            uint16_t z = isesc ? w : a[i];
            j += isesc;
            uint16_t d = (uint16_t)(z >> 1 ^ ((z & 1) ? 0xffff : 0));
            uint16_t o = (uint16_t)(delta_order16(weft_tensor__load16(base + 2 * i)) + d);
            weft_tensor__store16(out + 2 * i, delta_unorder16(o));
        }
        return;
    }
    for (; i < n; i++) {
        uint32_t isesc = a[i] == 255;
        uint32_t w = weft_tensor__load32(words + 4 * j);
        uint32_t z = isesc ? w : a[i];
        j += isesc;
        uint32_t d = z >> 1 ^ ((z & 1) ? 0xffffffffu : 0);
        uint32_t o = delta_order32(weft_tensor__load32(base + 4 * i)) + d;
        weft_tensor__store32(out + 4 * i, delta_unorder32(o));
    }
}
