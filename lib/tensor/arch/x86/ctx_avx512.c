/* AVX-512 fast path of the DIFF_CTX and DIFF_SHIFT join for 16-bit elements (reference in
 * lib/tensor/delta_ctx.c). 32 elements per step with no branch on the data: three unsigned
 * compares of |base| against the thresholds give the class masks, one byte expand (VBMI2) per
 * class places the class's next symbols at its lanes, the escape mask and one word expand
 * place the escape words; with DIFF_SHIFT one more byte expand per class places the low bits,
 * a per-lane shift puts the symbols above them; the ordered-integer addition runs on 32 words
 * at once.
 * Loads from the register (expand from memory is microcoded on AMD); the symbol streams and
 * escape words have 64 bytes of room after them (the caller's contract). Compiled with the
 * AVX-512 flags of its suffix plus VBMI2 for this function; only called when the CPU has both
 * (weft_tensor__use_avx512_vbmi2). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "tensor/codec_internal.h"

/* Keeps the compiler from folding a load into the expand: the memory form is microcoded and
 * slow on AMD cores. */
#define CTX_IN_REGISTER(v) __asm__("" : "+v"(v))

/* The join with k classes, k a constant in each instance so the class loops unroll and the
 * stream positions stay in registers; `raw` (a constant too) when the classes have low-bit
 * streams r (DIFF_SHIFT). Expands into zero and OR, so the classes do not chain. */
static inline __attribute__((always_inline, target("avx512vbmi2"))) size_t
ctx_join16(uint8_t *out, const weft_tensor__ctx *cx, const uint8_t *const a[4],
           const uint8_t *const *r, const uint8_t *words, size_t pa_out[4], size_t *pe_out,
           const uint8_t *base, size_t n, const unsigned k, const int raw)
{
    __m512i thr[3], sh[4];
    for (unsigned c = 0; c < 4; c++)
        sh[c] = _mm512_set1_epi16((short)(raw ? cx->shift[c] : 0));
    size_t pa[4] = {0, 0, 0, 0}, pe = 0, lim[4];
    for (unsigned c = 0; c < 3; c++)
        thr[c] = _mm512_set1_epi16((short)(uint16_t)(cx->thr[c] > 0xffff ? 0xffff : cx->thr[c]));
    for (unsigned c = 0; c < 4; c++)
        lim[c] = cx->n[c];
    const __m256i all = _mm256_set1_epi8(-1);
    const __m512i one = _mm512_set1_epi16(1), sign = _mm512_set1_epi16(-32768),
                  low15 = _mm512_set1_epi16(0x7fff);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i b = _mm512_loadu_si512((const void *)(base + 2 * i));
        __m512i ab = _mm512_and_si512(b, low15);
        __mmask32 g[3], m[4];
#pragma GCC unroll 4
        for (unsigned c = 0; c + 1 < k; c++)
            g[c] = _mm512_cmpge_epu16_mask(ab, thr[c]);
        if (k == 1) {
            m[0] = (__mmask32)~0u;
        } else {
            m[0] = (__mmask32)~g[0];
#pragma GCC unroll 4
            for (unsigned c = 1; c + 1 < k; c++)
                m[c] = g[c - 1] & (__mmask32)~g[c];
            m[k - 1] = g[k - 2];
        }
        __m256i av = _mm256_setzero_si256(), rv = _mm256_setzero_si256();
        __m512i sv = _mm512_setzero_si512();
        int over = 0;
#pragma GCC unroll 4
        for (unsigned c = 0; c < k; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(a[c] + pa[c]));
            CTX_IN_REGISTER(v);
            av = _mm256_or_si256(av, _mm256_maskz_expand_epi8(m[c], v));
            if (raw) {
                __m256i w = _mm256_loadu_si256((const __m256i *)(r[c] + pa[c]));
                CTX_IN_REGISTER(w);
                rv = _mm256_or_si256(rv, _mm256_maskz_expand_epi8(m[c], w));
                sv = _mm512_mask_mov_epi16(sv, m[c], sh[c]);
            }
            pa[c] += (size_t)__builtin_popcount(m[c]);
            over |= pa[c] > lim[c];
        }
        if (over) {
            i += 32; /* the caller sees pa > n and rejects the span */
            break;
        }
        __mmask32 ke = _mm256_cmpeq_epi8_mask(av, all);
        __m512i v = _mm512_loadu_si512((const void *)(words + 2 * pe));
        CTX_IN_REGISTER(v);
        __m512i z = _mm512_mask_expand_epi16(_mm512_cvtepu8_epi16(av), ke, v);
        pe += (size_t)__builtin_popcount(ke);
        if (raw)
            z = _mm512_or_si512(_mm512_sllv_epi16(z, sv), _mm512_cvtepu8_epi16(rv));
        __m512i d =
            _mm512_xor_si512(_mm512_srli_epi16(z, 1),
                             _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_and_si512(z, one)));
        __m512i ob = _mm512_xor_si512(b, _mm512_or_si512(_mm512_srai_epi16(b, 15), sign));
        __m512i o = _mm512_add_epi16(ob, d);
        __m512i mk = _mm512_or_si512(
            _mm512_andnot_si512(_mm512_srai_epi16(o, 15), _mm512_set1_epi16(-1)), sign);
        _mm512_storeu_si512((void *)(out + 2 * i), _mm512_xor_si512(o, mk));
    }
    for (unsigned c = 0; c < k; c++)
        pa_out[c] = pa[c];
    *pe_out = pe;
    return i;
}

/* Low-bit planes to bytes, 64 elements at a time: each plane's next 8 bytes are a mask that
 * sets its bit in the masked bytes. Returns the plane bytes done (a multiple of 8). */
size_t weft_tensor__raw_unpack_avx512(uint8_t *dst, const uint8_t *planes, size_t stride,
                                      unsigned shift)
{
    size_t g = 0;
    for (; g + 8 <= stride; g += 8) {
        __m512i v = _mm512_setzero_si512();
        for (unsigned b = 0; b < shift; b++) {
            uint64_t m;
            memcpy(&m, planes + b * stride + g, 8);
            v = _mm512_mask_mov_epi8(v, m, _mm512_or_si512(v, _mm512_set1_epi8((char)(1 << b))));
        }
        _mm512_storeu_si512((void *)(dst + 8 * g), v);
    }
    return g;
}

__attribute__((target("avx512vbmi2"))) size_t
weft_tensor__ctx_join16_avx512(uint8_t *out, const weft_tensor__ctx *cx, const uint8_t *const a[4],
                               const uint8_t *const *r, const uint8_t *words, size_t pa[4],
                               size_t *pe, const uint8_t *base, size_t n)
{
    if (r != NULL) {
        switch (cx->k) {
        case 1: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 1, 1);
        case 2: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 2, 1);
        case 3: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 3, 1);
        default: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 4, 1);
        }
    }
    switch (cx->k) {
    case 2: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 2, 0);
    case 3: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 3, 0);
    case 4: return ctx_join16(out, cx, a, r, words, pa, pe, base, n, 4, 0);
    default: return 0; /* one class: the portable path (the encoder writes DIFF_ESC instead) */
    }
}

#endif
