/* Weight codecs: the plane transforms against a reference written from the spec, round trips of
 * every BF16/FP16 bit pattern (NaNs, ±0, infinities, subnormals) and random FP32 patterns for
 * every method, frames of a small mixed file cut at every pair of byte offsets (odd starts,
 * elements split by the cut, several tensors and the header in one frame) with and without a
 * base, the ratios that make the codecs worth having, layouts, and rejection of malformed or
 * misused frames. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tensor/codec_internal.h"
#include "unit/testutil.h"
#include "weft/entropy.h"
#include "weft/weight_codec.h"

/* The spec's transforms, written plainly (the library's versions have SIMD paths). */
static uint16_t ref_order16(uint16_t w)
{
    return (w & 0x8000) ? (uint16_t)~w : (uint16_t)(w | 0x8000);
}

static uint16_t ref_z16(uint16_t fine, uint16_t base)
{
    int32_t d = (int16_t)(uint16_t)(ref_order16(fine) - ref_order16(base));
    return (uint16_t)(d >= 0 ? 2 * d : -2 * d - 1);
}

/* Every 16-bit pattern as the fine-tune, against three kinds of base. */
static void test_tensor_weight_planes_every_16bit_pattern(void **state)
{
    (void)state;
    const size_t n = 65536;
    uint8_t *fine = malloc(2 * n), *base = malloc(2 * n), *planes = malloc(3 * n + 64),
            *out = malloc(2 * n), *words = malloc(2 * n + 64);
    assert_non_null(fine);
    assert_non_null(base);
    assert_non_null(planes);
    assert_non_null(out);
    assert_non_null(words);
    for (size_t i = 0; i < n; i++)
        weft_tensor__store16(fine + 2 * i, (uint16_t)i);
    /* Float planes: the rotation puts the BF16 exponent in the high plane. */
    weft_tensor__float_split(planes, fine, n, 2);
    for (size_t i = 0; i < n; i++) {
        uint16_t r = (uint16_t)(i << 1 | i >> 15);
        assert_int_equal(planes[i], r >> 8);
        assert_int_equal(planes[n + i], r & 0xff);
    }
    assert_int_equal(planes[0x3f80], 0x7f); /* BF16 1.0: exponent 127 */
    const uint8_t *pl[4] = {planes, planes + n, NULL, NULL};
    weft_tensor__float_join(out, pl, n, 2);
    assert_memory_equal(out, fine, 2 * n);
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < n; i++) {
            uint16_t b = kind == 0   ? (uint16_t)(i * 40503u + 12345u)
                         : kind == 1 ? (uint16_t)(i ^ 1)
                                     : (uint16_t)(i + 3);
            weft_tensor__store16(base + 2 * i, b);
        }
        weft_tensor__diff_split(planes, fine, base, n, 2);
        for (size_t i = 0; i < n; i++) {
            uint16_t z = ref_z16((uint16_t)i, weft_tensor__load16(base + 2 * i));
            assert_int_equal(planes[i], z >> 8);
            assert_int_equal(planes[n + i], z & 0xff);
        }
        memset(out, 0, 2 * n);
        weft_tensor__diff_join(out, pl, base, n, 2);
        assert_memory_equal(out, fine, 2 * n);
        weft_tensor__xor_split(planes, fine, base, n, 2);
        memset(out, 0, 2 * n);
        weft_tensor__xor_join(out, pl, base, n, 2);
        assert_memory_equal(out, fine, 2 * n);
        size_t e = weft_tensor__diffesc_split(planes, planes + n, fine, base, n, 2);
        assert_int_equal(weft_tensor__count_escapes(planes, n), e);
        for (size_t i = 0; i < n; i++) {
            uint16_t z = ref_z16((uint16_t)i, weft_tensor__load16(base + 2 * i));
            assert_int_equal(planes[i], z < 255 ? z : 255);
        }
        const uint8_t *esc[4] = {planes + n, planes + n + e, NULL, NULL};
        weft_tensor__esc_words(words, esc, e, 2);
        memset(out, 0, 2 * n);
        weft_tensor__diffesc_join(out, planes, words, base, n, 2);
        assert_memory_equal(out, fine, 2 * n);
    }
    /* ±1 unit in the last place across zero and across an exponent step is a small z. */
    assert_int_equal(ref_z16(0x8000, 0x0000), 1); /* -0 vs +0 */
    assert_int_equal(ref_z16(0x0001, 0x8001), 6); /* +tiny vs -tiny: three steps up */
    assert_int_equal(ref_z16(0x3f80, 0x3f7f), 2); /* 1.0 vs the float below it */
    free(fine);
    free(base);
    free(planes);
    free(out);
    free(words);
}

/* FP32: random patterns and special values through every transform, at lengths that exercise
 * the SIMD bodies and their scalar tails. */
static void test_tensor_weight_planes_fp32(void **state)
{
    (void)state;
    const size_t n = 4099;
    uint8_t *fine = malloc(4 * n), *base = malloc(4 * n), *planes = malloc(5 * n + 64),
            *out = malloc(4 * n), *words = malloc(4 * n + 64);
    assert_non_null(words);
    static const uint32_t specials[] = {0,           0x80000000u, 0x7f800000u, 0xff800000u,
                                        0x7fc00000u, 0xffc00001u, 0x00000001u, 0x807fffffu,
                                        0x3f800000u, 0x7f7fffffu, 0x7fffffffu, 0xffffffffu};
    uint64_t s = 42;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < n; i++) {
            uint32_t f = (uint32_t)tu_next(&s), b = (uint32_t)tu_next(&s);
            if (i < 12 * 12) {
                f = specials[i % 12];
                b = specials[i / 12];
            } else if (round == 1) {
                b = f + (uint32_t)(tu_next(&s) % 64) - 32; /* close, like a fine-tune */
            } else if (round == 2) {
                f &= 0xffff0000u; /* FP32 that came from BF16: zero low bytes */
                b &= 0xffff0000u;
            }
            weft_tensor__store32(fine + 4 * i, f);
            weft_tensor__store32(base + 4 * i, round == 3 ? f : b);
        }
        for (size_t len = n; len + 5 > n; len--) { /* tails of every length mod 4 */
            const uint8_t *pl[4] = {planes, planes + len, planes + 2 * len, planes + 3 * len};
            weft_tensor__float_split(planes, fine, len, 4);
            weft_tensor__float_join(out, pl, len, 4);
            assert_memory_equal(out, fine, 4 * len);
            weft_tensor__diff_split(planes, fine, base, len, 4);
            weft_tensor__diff_join(out, pl, base, len, 4);
            assert_memory_equal(out, fine, 4 * len);
            weft_tensor__xor_split(planes, fine, base, len, 4);
            weft_tensor__xor_join(out, pl, base, len, 4);
            assert_memory_equal(out, fine, 4 * len);
            size_t e = weft_tensor__diffesc_split(planes, planes + len, fine, base, len, 4);
            const uint8_t *esc[4] = {planes + len, planes + len + e, planes + len + 2 * e,
                                     planes + len + 3 * e};
            weft_tensor__esc_words(words, esc, e, 4);
            memset(out, 0, 4 * len);
            weft_tensor__diffesc_join(out, planes, words, base, len, 4);
            assert_memory_equal(out, fine, 4 * len);
        }
    }
    free(fine);
    free(base);
    free(planes);
    free(out);
    free(words);
}

/* A small "file": raw header, BF16, raw padding, F32, F16, raw tail; values include specials. */
#define MINI_LEN 173
static const weft_weight_region mini_regions[] = {
    {.offset = 21, .len = 74, .dtype = WEFT_WEIGHT_BF16},
    {.offset = 98, .len = 44, .dtype = WEFT_WEIGHT_F32},
    {.offset = 142, .len = 26, .dtype = WEFT_WEIGHT_F16},
};

static void mini_file(uint8_t *p, uint64_t seed, const uint8_t *like)
{
    uint64_t s = seed;
    tu_fill_random(p, MINI_LEN, seed);
    memcpy(p, "{\"header\":\"mini\"}    ", 21);
    for (size_t i = 0; i < 37; i++) {
        uint16_t v = (uint16_t)(0x3c00 + tu_next(&s) % 0x400);
        if (like != NULL && tu_next(&s) % 4 != 0)
            v = (uint16_t)(weft_tensor__load16(like + 21 + 2 * i) + tu_next(&s) % 5 - 2);
        static const uint16_t sp[] = {0x7fc0, 0x8000, 0x0000, 0x7f80, 0xff80, 0x0001, 0xffff};
        if (i < 7)
            v = sp[(i + seed) % 7];
        weft_tensor__store16(p + 21 + 2 * i, v);
    }
    for (size_t i = 0; i < 11; i++) {
        uint32_t v = (uint32_t)(0x3c000000u + tu_next(&s) % 0x1000000u);
        if (like != NULL && i % 3 != 0)
            v = weft_tensor__load32(like + 98 + 4 * i) ^ (uint32_t)(tu_next(&s) % 16);
        weft_tensor__store32(p + 98 + 4 * i, i == 0 ? 0x7f800001u : v);
    }
}

/* Encodes file[start..end) with the mini layout (with a base when base != NULL), checks the
 * parse and the decode; returns the frame length. */
static size_t mini_roundtrip(weft_weight_codec *c, const uint8_t *file, const uint8_t *base,
                             size_t start, size_t end)
{
    weft_weight_region regions[3];
    memcpy(regions, mini_regions, sizeof regions);
    for (int i = 0; i < 3 && base != NULL; i++) {
        regions[i].base = base + regions[i].offset;
        regions[i].base_ref = 1000 + regions[i].offset;
    }
    weft_weight_span spans[16];
    size_t n_spans = 0, len = end - start;
    assert_int_equal(weft_weight_layout(spans, 16, &n_spans, regions, 3, start, len), 0);
    size_t total = 0;
    for (size_t i = 0; i < n_spans; i++)
        total += spans[i].len;
    assert_int_equal(total, len);
    uint8_t frame[512], out[MINI_LEN];
    size_t cap = weft_weight_frame_bound(len, n_spans), flen = 0, olen = 0;
    assert_true(cap <= sizeof frame);
    assert_int_equal(
        weft_weight_frame_encode(c, frame, cap, &flen, file + start, len, spans, n_spans), 0);
    assert_true(flen <= cap);
    weft_weight_span_info info[16];
    size_t raw_len = 0, n_info = 0;
    assert_int_equal(weft_weight_frame_parse(&raw_len, &n_info, info, 16, frame, flen), 0);
    assert_int_equal(raw_len, len);
    assert_int_equal(n_info, n_spans);
    const uint8_t *bases[16] = {0};
    for (size_t i = 0; i < n_info; i++) {
        assert_int_equal(info[i].len, spans[i].len);
        assert_int_equal(info[i].dtype, spans[i].dtype);
        assert_int_equal(info[i].phase, spans[i].phase);
        if (info[i].needs_base) {
            assert_non_null(spans[i].base);
            /* The caller finds its base bytes from the reference alone. */
            assert_int_equal(info[i].base_ref, spans[i].base_ref);
            bases[i] = base + (info[i].base_ref - 1000);
        }
    }
    memset(out, 0xee, sizeof out);
    assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, frame, flen, bases, n_info), 0);
    assert_int_equal(olen, len);
    assert_memory_equal(out, file + start, len);
    return flen;
}

static void test_tensor_weight_frame_every_cut(void **state)
{
    (void)state;
    uint8_t base[MINI_LEN], fine[MINI_LEN];
    mini_file(base, 1, NULL);
    mini_file(fine, 2, base);
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    for (size_t start = 0; start < MINI_LEN; start++) {
        for (size_t end = start + 1; end <= MINI_LEN; end++) {
            mini_roundtrip(c, fine, NULL, start, end);
            mini_roundtrip(c, fine, base, start, end);
        }
    }
    weft_weight_codec_free(c);
}

static void test_tensor_weight_layout_phases(void **state)
{
    (void)state;
    weft_weight_span spans[8];
    size_t n = 0;
    /* From inside the header into the BF16 tensor at an odd offset, across into the F32. */
    assert_int_equal(weft_weight_layout(spans, 8, &n, mini_regions, 3, 10, 100), 0);
    assert_int_equal(n, 4);
    assert_int_equal(spans[0].dtype, WEFT_WEIGHT_RAW);
    assert_int_equal(spans[0].len, 11);
    assert_int_equal(spans[1].dtype, WEFT_WEIGHT_BF16);
    assert_int_equal(spans[1].len, 74);
    assert_int_equal(spans[2].len, 3); /* padding */
    assert_int_equal(spans[3].dtype, WEFT_WEIGHT_F32);
    assert_int_equal(spans[3].len, 12);
    assert_int_equal(weft_weight_layout(spans, 8, &n, mini_regions, 3, 22, 9), 0);
    assert_int_equal(n, 1);
    assert_int_equal(spans[0].phase, 1);
    assert_int_equal(weft_weight_layout(spans, 8, &n, mini_regions, 3, 101, 2), 0);
    assert_int_equal(spans[0].phase, 3);
    assert_int_equal(weft_weight_layout(spans, 2, &n, mini_regions, 3, 0, MINI_LEN), WEFT_ELIMIT);
    weft_weight_region bad[2] = {{.offset = 10, .len = 20, .dtype = 1},
                                 {.offset = 20, .len = 4, .dtype = 1}};
    assert_int_equal(weft_weight_layout(spans, 8, &n, bad, 2, 0, 40), WEFT_EINVALID);
}

/* BF16 weights drawn like a model's: the float codec must reach the ZipNN ratio, a close
 * fine-tune must code several times smaller as a delta. */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double gauss(uint64_t *s)
{
    double u1 = ((double)(tu_next(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(tu_next(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void test_tensor_weight_frame_ratios(void **state)
{
    (void)state;
    const size_t n = 32768, len = 2 * n;
    uint8_t *w = malloc(len), *ft = malloc(len), *frame = malloc(len + 64), *out = malloc(len);
    assert_non_null(out);
    uint64_t s = 9;
    for (size_t i = 0; i < n; i++) {
        uint16_t b = to_bf16((float)(0.02 * gauss(&s)));
        weft_tensor__store16(w + 2 * i, b);
        weft_tensor__store16(ft + 2 * i, to_bf16((float)(from_bf16(b) + 0.0002 * gauss(&s))));
    }
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    weft_weight_span sp = {.len = len, .dtype = WEFT_WEIGHT_BF16};
    size_t flen = 0, olen = 0, rl = 0, ns = 0;
    assert_int_equal(weft_weight_frame_encode(c, frame, len + 64, &flen, w, len, &sp, 1), 0);
    assert_true((double)len / (double)flen > 1.45);
    weft_weight_span_info info;
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    assert_int_equal(info.method, WEFT_WEIGHT_FLOAT);
    assert_int_equal(info.needs_base, 0);
    sp.base = w;
    sp.base_ref = 77;
    assert_int_equal(weft_weight_frame_encode(c, frame, len + 64, &flen, ft, len, &sp, 1), 0);
    assert_true((double)len / (double)flen > 3.0);
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    /* Classes, as the moves are about δ/ulp(base) and the base's exponent tells their spread;
     * with shifts, since the smallest bases' moves are dozens of units. */
    assert_int_equal(info.method, WEFT_WEIGHT_DIFF_SHIFT);
    assert_int_equal(info.base_ref, 77);
    const uint8_t *bases[1] = {w};
    assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, frame, flen, bases, 1), 0);
    assert_memory_equal(out, ft, len);
    /* An unrelated base: the delta does not pay, the float codec is used instead. */
    sp.base = ft + 2;
    sp.len = len - 2;
    assert_int_equal(weft_weight_frame_encode(c, frame, len + 64, &flen, w, len - 2, &sp, 1), 0);
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    assert_int_equal(info.method, WEFT_WEIGHT_FLOAT);
    weft_weight_codec_free(c);
    free(w);
    free(ft);
    free(frame);
    free(out);
}

static void test_tensor_weight_frame_rejects_malformed(void **state)
{
    (void)state;
    uint8_t base[MINI_LEN], fine[MINI_LEN], frame[512], out[MINI_LEN + 16];
    mini_file(base, 1, NULL);
    mini_file(fine, 2, base);
    weft_weight_region regions[3];
    memcpy(regions, mini_regions, sizeof regions);
    for (int i = 0; i < 3; i++)
        regions[i].base = base + regions[i].offset;
    weft_weight_span spans[16];
    size_t n_spans = 0, flen = 0, olen = 0;
    assert_int_equal(weft_weight_layout(spans, 16, &n_spans, regions, 3, 0, MINI_LEN), 0);
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    assert_int_equal(
        weft_weight_frame_encode(c, frame, sizeof frame, &flen, fine, MINI_LEN, spans, n_spans), 0);
    const uint8_t *bases[16];
    for (size_t i = 0; i < n_spans; i++)
        bases[i] = spans[i].base;
    assert_int_equal(weft_weight_frame_decode(c, out, MINI_LEN, &olen, frame, flen, bases, n_spans),
                     0);
    /* Every truncation fails, in a buffer of exactly that size (ASan sees any over-read). */
    for (size_t cut = 0; cut < flen; cut++) {
        uint8_t *t = malloc(cut + 1);
        assert_non_null(t);
        memcpy(t, frame, cut);
        size_t rl, ns;
        assert_int_equal(weft_weight_frame_parse(&rl, &ns, NULL, 0, t, cut), WEFT_ECORRUPT);
        assert_int_equal(weft_weight_frame_decode(c, out, MINI_LEN, &olen, t, cut, bases, n_spans),
                         WEFT_ECORRUPT);
        free(t);
    }
    /* Trailing bytes; too little output room; a base withheld. */
    assert_int_equal(
        weft_weight_frame_decode(c, out, MINI_LEN, &olen, frame, flen + 1, bases, n_spans),
        WEFT_ECORRUPT);
    assert_int_equal(
        weft_weight_frame_decode(c, out, MINI_LEN - 1, &olen, frame, flen, bases, n_spans),
        WEFT_ELIMIT);
    assert_int_equal(weft_weight_frame_decode(c, out, MINI_LEN, &olen, frame, flen, NULL, 0),
                     WEFT_EINVALID);
    /* Every byte flipped: an error or a decode of the right length, never out of bounds. */
    for (size_t i = 0; i < flen; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t *t = malloc(flen);
            assert_non_null(t);
            memcpy(t, frame, flen);
            t[i] ^= (uint8_t)(1u << bit);
            int rc = weft_weight_frame_decode(c, out, sizeof out, &olen, t, flen, bases, n_spans);
            /* ELIMIT: a flipped length asks for more room than out has. */
            assert_true(rc == 0 || rc == WEFT_ECORRUPT || rc == WEFT_EINVALID || rc == WEFT_ELIMIT);
            if (rc == 0)
                assert_true(olen <= sizeof out);
            free(t);
        }
    }
    /* Layouts the encoder refuses. */
    weft_weight_span bad = {.len = 10, .dtype = WEFT_WEIGHT_BF16, .phase = 2};
    assert_int_equal(weft_weight_frame_encode(c, frame, sizeof frame, &flen, fine, 10, &bad, 1),
                     WEFT_EINVALID);
    bad.phase = 0;
    assert_int_equal(weft_weight_frame_encode(c, frame, sizeof frame, &flen, fine, 11, &bad, 1),
                     WEFT_EINVALID);
    bad.dtype = 9;
    assert_int_equal(weft_weight_frame_encode(c, frame, sizeof frame, &flen, fine, 10, &bad, 1),
                     WEFT_EINVALID);
    assert_int_equal(weft_weight_frame_encode(c, frame, sizeof frame, &flen, fine, 10, &bad, 0),
                     WEFT_EINVALID);
    bad.dtype = WEFT_WEIGHT_RAW;
    assert_int_equal(weft_weight_frame_encode(c, frame, 12, &flen, fine, 10, &bad, 1), WEFT_ELIMIT);
    weft_weight_codec_free(c);
    assert_string_equal(weft_weight_method_name(WEFT_WEIGHT_DIFF_ESC), "diff-esc");
    assert_string_equal(weft_weight_dtype_name(WEFT_WEIGHT_BF16), "bf16");
    assert_null(weft_weight_dtype_name(4));
}

/* BF16 of a float, round to nearest even (finite inputs). */
static uint16_t noise_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/* The float codec's shortcut for mantissa planes: noise is recognised (Gaussian weights' low
 * plane, random bytes), anything an order-0 coder could shrink is not (a run of equal bytes
 * anywhere, the skewed mantissas of values near 1), and the frame it leads to is no larger than
 * the entropy coder's own choice. */
static void test_tensor_weight_plane_noise(void **state)
{
    (void)state;
    enum { N = 32768 };
    static uint8_t plane[N], planes[2 * N], words[2 * N], block[N + 1];
    tu_fill_random(plane, N, 9);
    assert_int_equal(weft_tensor__plane_is_noise(plane, N), 1);
    assert_int_equal(weft_tensor__plane_is_noise(plane, 8191), 0); /* too small to judge */
    /* A run of n/32 + 64 zero bytes at any offset is seen. */
    for (size_t at = 0; at + N / 32 + 64 <= N; at += 997) {
        tu_fill_random(plane, N, 9);
        memset(plane + at, 0, N / 32 + 64);
        assert_int_equal(weft_tensor__plane_is_noise(plane, N), 0);
    }
    /* Gaussian weights (the synthetic models' kind) and values near 1 (norm vectors). */
    uint64_t s = 3;
    for (int kind = 0; kind < 2; kind++) {
        for (size_t i = 0; i < N; i++) {
            double u1 = ((double)(tu_next(&s) >> 11) + 0.5) / 9007199254740992.0;
            double u2 = (double)(tu_next(&s) >> 11) / 9007199254740992.0;
            double g = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
            uint16_t w = noise_bf16((float)(kind == 0 ? 0.02 * g : 1.0 + 0.02 * g));
            memcpy(words + 2 * i, &w, 2);
        }
        weft_tensor__float_split(planes, words, N, 2);
        int noise = weft_tensor__plane_is_noise(planes + N, N);
        assert_int_equal(noise, kind == 0);
        size_t used = 0;
        assert_int_equal(weft_entropy_encode(block, sizeof block, &used, planes + N, N), 0);
        if (noise)
            assert_int_equal(block[0], WEFT_ENTROPY_STORED); /* the coder agrees */
        else
            assert_true(used < N * 9 / 10); /* and here it gains */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_weight_planes_every_16bit_pattern),
        cmocka_unit_test(test_tensor_weight_planes_fp32),
        cmocka_unit_test(test_tensor_weight_frame_every_cut),
        cmocka_unit_test(test_tensor_weight_layout_phases),
        cmocka_unit_test(test_tensor_weight_frame_ratios),
        cmocka_unit_test(test_tensor_weight_frame_rejects_malformed),
        cmocka_unit_test(test_tensor_weight_plane_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
