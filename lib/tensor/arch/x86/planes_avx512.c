/* AVX-512 fast path of the DIFF_ESC join for 16-bit elements (reference in
 * lib/tensor/delta_codec.c). 32 elements per step with no branch: a compare gives the escape
 * mask, an expand (VBMI2) places the next escape words at the masked lanes, and the
 * ordered-integer addition runs on 32 words at once. Compiled with the AVX-512 flags of its
 * suffix plus VBMI2 for this function; only called when the CPU has both
 * (weft_tensor__use_avx512_vbmi2). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "tensor/codec_internal.h"

__attribute__((target("avx512vbmi2"))) size_t
weft_tensor__diffesc_join16_avx512(uint8_t *out, const uint8_t *a, const uint8_t *words,
                                   size_t *j, const uint8_t *base, size_t n)
{
    size_t i = 0, e = *j;
    const __m256i all = _mm256_set1_epi8(-1);
    const __m512i one = _mm512_set1_epi16(1), sign = _mm512_set1_epi16(-32768);
    for (; i + 32 <= n; i += 32) {
        __m256i av = _mm256_loadu_si256((const __m256i *)(a + i));
        __mmask32 k = _mm256_cmpeq_epi8_mask(av, all);
        __m512i z = _mm512_cvtepu8_epi16(av);
        /* Expand from a register: the memory form is microcoded and slow on AMD cores. The
         * 64-byte load may pass the last escape word; the caller pads words by 64 bytes. */
        z = _mm512_mask_expand_epi16(z, k, _mm512_loadu_si512((const void *)(words + 2 * e)));
        e += (size_t)__builtin_popcount(k);
        __m512i d = _mm512_xor_si512(_mm512_srli_epi16(z, 1),
                                     _mm512_sub_epi16(_mm512_setzero_si512(),
                                                      _mm512_and_si512(z, one)));
        __m512i b = _mm512_loadu_si512((const void *)(base + 2 * i));
        __m512i ob = _mm512_xor_si512(b, _mm512_or_si512(_mm512_srai_epi16(b, 15), sign));
        __m512i o = _mm512_add_epi16(ob, d);
        /* o ^ (top set ? 0x8000 : 0xffff) == o ^ (~srai(o, 15) | 0x8000) */
        __m512i m = _mm512_or_si512(_mm512_andnot_si512(_mm512_srai_epi16(o, 15),
                                                        _mm512_set1_epi16(-1)),
                                    sign);
        _mm512_storeu_si512((void *)(out + 2 * i), _mm512_xor_si512(o, m));
    }
    *j = e;
    return i;
}

#endif
