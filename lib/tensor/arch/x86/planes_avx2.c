/* AVX2 fast paths of the 16-bit plane transforms (lib/tensor/float_codec.c and delta_codec.c
 * hold the portable references these must equal). Each function handles the largest multiple
 * of 32 elements of n and returns how many it did; the caller finishes the rest with the
 * reference. Words are rebuilt by interleaving the high and low planes (unpack within 128-bit
 * lanes, then a cross-lane permute); planes are made by a byte shuffle that gathers low and
 * high bytes per lane and 64-bit permutes. Compiled with -mavx2; only called when the CPU has
 * it (weft_cpu_features). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "tensor/codec_internal.h"

#define AVX2_INLINE static inline __attribute__((always_inline))

/* Words of 32 elements from the planes: w0 = elements 0..15, w1 = 16..31. */
AVX2_INLINE void avx2_words(__m256i *w0, __m256i *w1, const uint8_t *hi, const uint8_t *lo)
{
    __m256i h = _mm256_loadu_si256((const __m256i *)hi);
    __m256i l = _mm256_loadu_si256((const __m256i *)lo);
    __m256i a = _mm256_unpacklo_epi8(l, h); /* elements 0-7 | 16-23 */
    __m256i b = _mm256_unpackhi_epi8(l, h); /* elements 8-15 | 24-31 */
    *w0 = _mm256_permute2x128_si256(a, b, 0x20);
    *w1 = _mm256_permute2x128_si256(a, b, 0x31);
}

/* Planes of 32 elements from words w0 (0..15) and w1 (16..31). */
AVX2_INLINE void avx2_planes(uint8_t *hi, uint8_t *lo, __m256i w0, __m256i w1)
{
    const __m256i gather = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                            0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    /* Per lane: 8 low bytes then 8 high bytes; reorder the 64-bit quarters to lo, lo, hi, hi. */
    __m256i a = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(w0, gather), 0xd8);
    __m256i b = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(w1, gather), 0xd8);
    _mm256_storeu_si256((__m256i *)lo, _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256((__m256i *)hi, _mm256_permute2x128_si256(a, b, 0x31));
}

AVX2_INLINE __m256i avx2_rotl1(__m256i w)
{
    return _mm256_or_si256(_mm256_slli_epi16(w, 1), _mm256_srli_epi16(w, 15));
}

AVX2_INLINE __m256i avx2_rotr1(__m256i w)
{
    return _mm256_or_si256(_mm256_srli_epi16(w, 1), _mm256_slli_epi16(w, 15));
}

/* o(w) = w ^ (negative ? 0xffff : 0x8000) */
AVX2_INLINE __m256i avx2_order(__m256i w)
{
    return _mm256_xor_si256(w, _mm256_or_si256(_mm256_srai_epi16(w, 15), _mm256_set1_epi16(-32768)));
}

/* o^-1(o) = o ^ (top bit set ? 0x8000 : 0xffff) */
AVX2_INLINE __m256i avx2_unorder(__m256i o)
{
    __m256i m = _mm256_or_si256(_mm256_xor_si256(_mm256_srai_epi16(o, 15), _mm256_set1_epi16(-1)),
                                _mm256_set1_epi16(-32768));
    return _mm256_xor_si256(o, m);
}

AVX2_INLINE __m256i avx2_load(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

AVX2_INLINE void avx2_store(uint8_t *p, __m256i v)
{
    _mm256_storeu_si256((__m256i *)p, v);
}

size_t weft_tensor__float_split16_avx2(uint8_t *planes, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i w0 = avx2_rotl1(avx2_load(in + 2 * i)), w1 = avx2_rotl1(avx2_load(in + 2 * i + 32));
        avx2_planes(planes + i, planes + n + i, w0, w1);
    }
    return i;
}

size_t weft_tensor__float_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i w0, w1;
        avx2_words(&w0, &w1, hi + i, lo + i);
        avx2_store(out + 2 * i, avx2_rotr1(w0));
        avx2_store(out + 2 * i + 32, avx2_rotr1(w1));
    }
    return i;
}

AVX2_INLINE __m256i avx2_zigzag_diff(__m256i f, __m256i b)
{
    __m256i d = _mm256_sub_epi16(avx2_order(f), avx2_order(b));
    return _mm256_xor_si256(_mm256_slli_epi16(d, 1), _mm256_srai_epi16(d, 15));
}

AVX2_INLINE __m256i avx2_unzigzag_add(__m256i z, __m256i b)
{
    __m256i one = _mm256_set1_epi16(1);
    __m256i d = _mm256_xor_si256(_mm256_srli_epi16(z, 1),
                                 _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_and_si256(z, one)));
    return avx2_unorder(_mm256_add_epi16(avx2_order(b), d));
}

size_t weft_tensor__diff_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                      size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i z0 = avx2_zigzag_diff(avx2_load(fine + 2 * i), avx2_load(base + 2 * i));
        __m256i z1 = avx2_zigzag_diff(avx2_load(fine + 2 * i + 32), avx2_load(base + 2 * i + 32));
        avx2_planes(planes + i, planes + n + i, z0, z1);
    }
    return i;
}

size_t weft_tensor__diff_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                     const uint8_t *base, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i z0, z1;
        avx2_words(&z0, &z1, hi + i, lo + i);
        avx2_store(out + 2 * i, avx2_unzigzag_add(z0, avx2_load(base + 2 * i)));
        avx2_store(out + 2 * i + 32, avx2_unzigzag_add(z1, avx2_load(base + 2 * i + 32)));
    }
    return i;
}

size_t weft_tensor__xor_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                     size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x0 = avx2_rotl1(_mm256_xor_si256(avx2_load(fine + 2 * i), avx2_load(base + 2 * i)));
        __m256i x1 = avx2_rotl1(
            _mm256_xor_si256(avx2_load(fine + 2 * i + 32), avx2_load(base + 2 * i + 32)));
        avx2_planes(planes + i, planes + n + i, x0, x1);
    }
    return i;
}

size_t weft_tensor__xor_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                    const uint8_t *base, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i w0, w1;
        avx2_words(&w0, &w1, hi + i, lo + i);
        avx2_store(out + 2 * i, _mm256_xor_si256(avx2_rotr1(w0), avx2_load(base + 2 * i)));
        avx2_store(out + 2 * i + 32,
                   _mm256_xor_si256(avx2_rotr1(w1), avx2_load(base + 2 * i + 32)));
    }
    return i;
}

size_t weft_tensor__count_escapes_avx2(const uint8_t *a, size_t n, size_t *done)
{
    size_t i = 0, e = 0;
    const __m256i esc = _mm256_set1_epi8(-1);
    for (; i + 32 <= n; i += 32)
        e += (size_t)__builtin_popcount(
            (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(avx2_load(a + i), esc)));
    *done = i;
    return e;
}

#endif
