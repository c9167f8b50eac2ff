/* DIFF_CTX and DIFF_SHIFT (lib/tensor/delta_ctx.c and their frame methods): the class planes
 * round-trip every 16-bit fine pattern against several bases and every base pattern against
 * several fines, for 1 to 4 classes including empty classes and all elements in one, with
 * shifts 0 to 8 mixed across classes, through the portable and the SIMD join (which must
 * agree, also on rejection); random F32 patterns; frames of BF16, F16 and F32 spans cut at
 * every element phase at both ends, and at random cuts, with 2 and 4 classes, shifts off and
 * on; malformed class headers, shifts, low-bit padding and truncations rejected with
 * WEFT_ECORRUPT (the ASan build checks that nothing is read out of bounds); and the real
 * stories260K pair with and without the methods. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../bench/st_regions.h"
#include "tensor/codec_internal.h"
#include "tensor_test.h"
#include "unit/testutil.h"
#include "weft/chunker.h"
#include "weft/entropy.h"
#include "weft/weight_codec.h"

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 17;
}

/* Splits fine against base with cx (its classes and shifts; counted here), rebuilds through
 * the portable and the SIMD join, and checks both against fine. */
static void planes_roundtrip(weft_tensor__ctx *cx, const uint8_t *fine, const uint8_t *base,
                             size_t n, size_t esize)
{
    weft_tensor__ctx_count(cx, fine, base, n, esize);
    size_t e = 0, sum = 0, raw = weft_tensor__ctx_raw_len(cx);
    int shifted = 0;
    for (unsigned c = 0; c < cx->k; c++) {
        sum += cx->n[c];
        e += cx->e[c];
        shifted |= cx->shift[c] > 0;
    }
    assert_int_equal(sum, n);
    uint8_t *planes = malloc(n + raw + esize * e + 1), *pad = malloc(n + 4 * 64),
            *lows = malloc(n + 4 * 64), *words = malloc(esize * (e + 1) + 64),
            *out = malloc(esize * n + 1), *out2 = malloc(esize * n + 1);
    assert_non_null(planes);
    assert_non_null(pad);
    assert_non_null(lows);
    assert_non_null(words);
    assert_non_null(out);
    assert_non_null(out2);
    weft_tensor__ctx_split(planes, cx, fine, base, n, esize);
    const uint8_t *a[4] = {NULL, NULL, NULL, NULL}, *pl[4] = {NULL, NULL, NULL, NULL};
    const uint8_t *r[4] = {NULL, NULL, NULL, NULL};
    uint8_t *q = pad, *lq = lows;
    const uint8_t *src = planes;
    size_t counted = 0;
    for (unsigned c = 0; c < cx->k; c++) {
        memcpy(q, src, cx->n[c]);
        memset(q + cx->n[c], 0, 64);
        a[c] = q;
        counted += weft_tensor__count_escapes(q, cx->n[c]);
        q += cx->n[c] + 64;
        src += cx->n[c];
    }
    assert_int_equal(counted, e);
    for (unsigned c = 0; c < cx->k; c++) {
        assert_int_equal(weft_tensor__raw_unpack(lq, src, cx->n[c], cx->shift[c]), 0);
        for (size_t i = 0; i < cx->n[c]; i++)
            assert_true(lq[i] >> cx->shift[c] == 0);
        r[c] = lq;
        lq += cx->n[c] + 64;
        src += cx->shift[c] * ((cx->n[c] + 7) / 8);
    }
    for (size_t k = 0; k < esize; k++)
        pl[k] = src + k * e;
    weft_tensor__esc_words(words, pl, e, esize);
    const uint8_t *const *rr = shifted ? r : NULL;
    assert_int_equal(weft_tensor__ctx_join(out, cx, a, rr, words, e, base, n, esize, 0), 0);
    assert_memory_equal(out, fine, esize * n);
    assert_int_equal(weft_tensor__ctx_join(out2, cx, a, rr, words, e, base, n, esize, 1), 0);
    assert_memory_equal(out2, fine, esize * n);
    /* One element too few in a class that has some: both paths reject the streams. */
    for (unsigned c = 0; c < cx->k; c++) {
        if (cx->n[c] == 0)
            continue;
        weft_tensor__ctx bad = *cx;
        bad.n[c]--;
        memset((uint8_t *)a[c] + bad.n[c], 0, 1); /* the padding stays zero */
        assert_int_equal(weft_tensor__ctx_join(out, &bad, a, rr, words, e, base, n, esize, 0), -1);
        assert_int_equal(weft_tensor__ctx_join(out2, &bad, a, rr, words, e, base, n, esize, 1),
                         -1);
        break;
    }
    free(planes);
    free(pad);
    free(lows);
    free(words);
    free(out);
    free(out2);
}

/* Class layouts for 16-bit elements: one class, all in the lowest of four (thresholds above
 * every non-NaN magnitude), all but zeros in the highest, and exponent boundaries; with shift
 * set `shifts` (0: none, 1: one per class from 0 to 8 mixed, 2: all the largest). */
static void ctx_layout(weft_tensor__ctx *cx, int which, int shifts)
{
    weft_tensor__ctx_init(cx);
    static const uint32_t thr[5][3] = {
        {0, 0, 0}, {0x7ffd, 0x7ffe, 0x7fff}, {1, 2, 3}, {0x3c00, 0, 0}, {0x3a00, 0x3c00, 0x3e80}};
    static const unsigned k[5] = {1, 4, 4, 2, 4};
    static const uint8_t mixed[5][4] = {{3}, {0, 5, 1, 8}, {8, 2, 0, 7}, {4, 0}, {1, 3, 6, 2}};
    cx->k = k[which];
    for (unsigned c = 0; c + 1 < cx->k; c++)
        cx->thr[c] = thr[which][c];
    for (unsigned c = 0; c < cx->k; c++)
        cx->shift[c] = shifts == 0 ? 0 : shifts == 1 ? mixed[which][c] : WEFT_TENSOR_SHIFT_MAX;
}

static void test_tensor_delta_ctx_every_16bit_pattern(void **state)
{
    (void)state;
    const size_t n = 65536;
    uint8_t *all = malloc(2 * n), *other = malloc(2 * n);
    assert_non_null(all);
    assert_non_null(other);
    for (size_t i = 0; i < n; i++)
        weft_tensor__store16(all + 2 * i, (uint16_t)i);
    for (int kind = 0; kind < 3; kind++) {
        uint64_t s = 5 + (uint64_t)kind;
        for (size_t i = 0; i < n; i++) {
            uint16_t v = kind == 0   ? (uint16_t)rng(&s)
                         : kind == 1 ? (uint16_t)(i ^ 1)
                                     : (uint16_t)(0x3c00 + (rng(&s) & 0x3ff)); /* near 1.0 */
            weft_tensor__store16(other + 2 * i, v);
        }
        for (int which = 0; which < 5; which++) {
            for (int shifts = 0; shifts < 3; shifts++) {
                weft_tensor__ctx cx;
                ctx_layout(&cx, which, shifts);
                planes_roundtrip(&cx, all, other, n, 2); /* every fine pattern */
                ctx_layout(&cx, which, shifts);
                planes_roundtrip(&cx, other, all, n, 2); /* every base pattern */
            }
        }
    }
    /* Empty and full classes really happen in these layouts. */
    weft_tensor__ctx cx;
    ctx_layout(&cx, 1, 0);
    for (size_t i = 0; i < n; i++)
        weft_tensor__store16(other + 2 * i, (uint16_t)(i & 0x7ff0));
    weft_tensor__ctx_count(&cx, all, other, n, 2);
    assert_int_equal(cx.n[0], n);
    ctx_layout(&cx, 2, 1);
    for (size_t i = 0; i < n; i++)
        weft_tensor__store16(other + 2 * i, (uint16_t)((i | 4) & 0x7fff));
    weft_tensor__ctx_count(&cx, all, other, n, 2);
    assert_int_equal(cx.n[3], n);
    planes_roundtrip(&cx, all, other, n, 2);
    free(all);
    free(other);
}

static void test_tensor_delta_ctx_fp32(void **state)
{
    (void)state;
    const size_t n = 20000;
    uint8_t *fine = malloc(4 * n), *base = malloc(4 * n);
    assert_non_null(fine);
    assert_non_null(base);
    uint64_t s = 3;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)rng(&s) ^ (uint32_t)(rng(&s) << 16);
        uint32_t f = i % 3 == 0 ? (uint32_t)rng(&s) ^ (uint32_t)(rng(&s) << 16)
                                : b + (uint32_t)(rng(&s) % 700) - 350;
        weft_tensor__store32(base + 4 * i, b);
        weft_tensor__store32(fine + 4 * i, f);
    }
    for (unsigned k = 1; k <= 4; k++) {
        for (unsigned sh = 0; sh <= WEFT_TENSOR_SHIFT_MAX; sh += 4) {
            weft_tensor__ctx cx;
            weft_tensor__ctx_init(&cx);
            cx.k = k;
            for (unsigned c = 0; c + 1 < k; c++)
                cx.thr[c] = (100u + 20u * c) << 23;
            for (unsigned c = 0; c < k; c++)
                cx.shift[c] = (uint8_t)((sh + c) % (WEFT_TENSOR_SHIFT_MAX + 1));
            planes_roundtrip(&cx, fine, base, n, 4);
        }
    }
    free(fine);
    free(base);
}

/* A fine-tune of a Gaussian tensor: base ~ N(0, 0.02), fine = base + N(0, 0.0006 * move) (F32:
 * 2^-16 of that). */
static double gauss(uint64_t *s)
{
    double u1 = ((double)rng(s) + 0.5) / 140737488355328.0;
    double u2 = ((double)rng(s) + 0.5) / 140737488355328.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void put_value(uint8_t *p, int dtype, double v)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    if (dtype == WEFT_WEIGHT_F32) {
        weft_tensor__store32(p, u);
    } else if (dtype == WEFT_WEIGHT_BF16) {
        weft_tensor__store16(p, (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16));
    } else { /* F16 of a small normal value: sign, exponent rebased, 10 mantissa bits */
        uint32_t e = (u >> 23) & 255, m = (u >> 13) & 0x3ff;
        uint16_t h = e < 113 ? 0 : (uint16_t)((e - 112) << 10 | m);
        weft_tensor__store16(p, (uint16_t)((u >> 16 & 0x8000) | h));
    }
}

static void make_pair(uint8_t *base, uint8_t *fine, size_t n, int dtype, uint64_t seed,
                      double move)
{
    size_t es = weft_weight_dtype_size(dtype);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double b = 0.02 * gauss(&s);
        put_value(base + es * i, dtype, b);
        /* F32 moves scaled down to a few units in the last place, as BF16 moves are. */
        double d = 0.0006 * move * gauss(&s) * (dtype == WEFT_WEIGHT_F32 ? 1.0 / 65536 : 1.0);
        put_value(fine + es * i, dtype, b + d);
    }
}

/* Encodes fine[start, start+len) against base with the codec's settings, decodes, compares;
 * returns the method of the span. */
static int frame_roundtrip(weft_weight_codec *c, const uint8_t *fine, const uint8_t *base,
                           size_t start, size_t len, int dtype)
{
    size_t es = weft_weight_dtype_size(dtype), cap = weft_weight_frame_bound(len, 1), flen = 0,
           olen = 0, rl = 0, ns = 0;
    uint8_t *frame = malloc(cap), *out = malloc(len);
    assert_non_null(frame);
    assert_non_null(out);
    weft_weight_span sp = {.len = len,
                           .dtype = dtype,
                           .phase = (unsigned)(start % es),
                           .base = base + start,
                           .base_ref = start};
    assert_int_equal(weft_weight_frame_encode(c, frame, cap, &flen, fine + start, len, &sp, 1), 0);
    weft_weight_span_info info;
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    const uint8_t *bases[1] = {base + start};
    assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, frame, flen, bases, 1), 0);
    assert_int_equal(olen, len);
    assert_memory_equal(out, fine + start, len);
    free(frame);
    free(out);
    return info.method;
}

static void test_tensor_delta_ctx_frame_cuts(void **state)
{
    (void)state;
    static const int dtypes[3] = {WEFT_WEIGHT_BF16, WEFT_WEIGHT_F16, WEFT_WEIGHT_F32};
    const size_t n = 6000;
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    for (int d = 0; d < 3; d++) {
        size_t es = weft_weight_dtype_size(dtypes[d]), len = es * n;
        uint8_t *base = malloc(len), *fine = malloc(len);
        assert_non_null(base);
        assert_non_null(fine);
        /* Shifts off: DIFF_CTX on small moves; on: DIFF_SHIFT on moves of dozens of units (F16
         * has three more mantissa bits than BF16, so its moves are 8 times as many units). */
        for (int on = 0; on < 2; on++) {
            make_pair(base, fine, n, dtypes[d], 40 + (uint64_t)d,
                      on ? (dtypes[d] == WEFT_WEIGHT_F16 ? 1.5 : 8.0) : 1.0);
            int want = on ? WEFT_WEIGHT_DIFF_SHIFT : WEFT_WEIGHT_DIFF_CTX;
            for (unsigned kmax = 2; kmax <= 4; kmax += 2) {
                weft_tensor__codec_set_ctx(c, kmax, 0, on ? WEFT_TENSOR_SHIFT_MAX : 0);
                size_t hits = 0, runs = 0;
                /* Every phase at both ends. */
                for (size_t s = 0; s < 2 * es; s++)
                    for (size_t e = len - 2 * es; e <= len; e++, runs++)
                        hits += frame_roundtrip(c, fine, base, s, e - s, dtypes[d]) == want;
                /* Random cuts, down to a few elements. */
                uint64_t r = 77;
                for (int t = 0; t < 60; t++, runs++) {
                    size_t s = rng(&r) % len, l = 1 + rng(&r) % (len - s);
                    hits += frame_roundtrip(c, fine, base, s, l, dtypes[d]) == want;
                }
                print_message("dtype %d, %u classes: %zu of %zu frames %s\n", dtypes[d], kmax,
                              hits, runs, weft_weight_method_name(want));
                assert_true(hits >= runs / 4); /* the method is what these frames use */
            }
        }
        free(base);
        free(fine);
    }
    weft_weight_codec_free(c);
}

/* A BF16 DIFF_CTX frame of one span with 4 classes; returns its length, the payload offset. */
static size_t ctx_frame(weft_weight_codec *c, uint8_t *frame, size_t cap, const uint8_t *fine,
                        const uint8_t *base, size_t len, size_t *payload)
{
    weft_weight_span sp = {.len = len, .dtype = WEFT_WEIGHT_BF16, .base = base, .base_ref = 0};
    size_t flen = 0, rl = 0, ns = 0;
    weft_tensor__codec_set_ctx(c, 4, 0, 0);
    assert_int_equal(weft_weight_frame_encode(c, frame, cap, &flen, fine, len, &sp, 1), 0);
    weft_weight_span_info info;
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    assert_int_equal(info.method, WEFT_WEIGHT_DIFF_CTX);
    *payload = flen - info.coded_len;
    return flen;
}

static void expect_corrupt(weft_weight_codec *c, const uint8_t *frame, size_t flen,
                           const uint8_t *base, size_t len)
{
    /* An exact-size copy, so any read past the frame is an ASan error. */
    uint8_t *f = malloc(flen ? flen : 1), *out = malloc(len);
    assert_non_null(f);
    assert_non_null(out);
    memcpy(f, frame, flen);
    const uint8_t *bases[1] = {base};
    size_t olen = 0;
    assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, f, flen, bases, 1),
                     WEFT_ECORRUPT);
    free(f);
    free(out);
}

/* Every truncation of a BF16 frame of one span (payload at `payload`) and a flip of each bit
 * of its bytes [payload, flip_end) never read out of bounds (ASan) and never pass with wrong
 * bytes; the untouched frame still decodes to fine. */
static void truncate_and_flip(weft_weight_codec *c, const uint8_t *frame, size_t flen,
                              size_t payload, size_t flip_end, const uint8_t *base,
                              const uint8_t *fine, size_t len)
{
    uint8_t *bad = malloc(flen), *out = malloc(len);
    assert_non_null(bad);
    assert_non_null(out);
    const uint8_t *bases[1] = {base};
    size_t olen = 0;
    for (size_t l = 0; l < flen; l += (l < payload + 64 ? 1 : 97))
        expect_corrupt(c, frame, l, base, len);
    for (size_t i = payload; i < flip_end && i < flen; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(bad, frame, flen);
            bad[i] ^= (uint8_t)(1u << b);
            int rc = weft_weight_frame_decode(c, out, len, &olen, bad, flen, bases, 1);
            assert_true(rc == 0 || rc == WEFT_ECORRUPT);
        }
    }
    assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, frame, flen, bases, 1), 0);
    assert_memory_equal(out, fine, len);
    free(bad);
    free(out);
}

static void test_tensor_delta_ctx_rejects_malformed(void **state)
{
    (void)state;
    const size_t n = 16384, len = 2 * n;
    size_t cap = weft_weight_frame_bound(len, 1), payload = 0;
    uint8_t *base = malloc(len), *fine = malloc(len), *frame = malloc(cap), *bad = malloc(cap),
            *out = malloc(len);
    assert_non_null(out);
    assert_non_null(bad);
    make_pair(base, fine, n, WEFT_WEIGHT_BF16, 9, 1.0);
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    size_t flen = ctx_frame(c, frame, cap, fine, base, len, &payload);
    const uint8_t *p = frame + payload; /* k, thresholds, counts */
    unsigned k = p[0];
    assert_true(k >= 2 && k <= 4);
    /* Class count 0 and 5. */
    memcpy(bad, frame, flen);
    bad[payload] = 0;
    expect_corrupt(c, bad, flen, base, len);
    bad[payload] = 5;
    expect_corrupt(c, bad, flen, base, len);
    /* Fewer classes than written: the counts are read as thresholds, then sizes mismatch. */
    bad[payload] = (uint8_t)(k - 1);
    expect_corrupt(c, bad, flen, base, len);
    /* Threshold 0; thresholds not increasing; over 0x7fff. */
    size_t t0 = payload + 1, used = 0;
    uint64_t v = 0;
    used = weft_tensor__get_varint(&v, frame + t0, frame + flen, 5);
    assert_true(used > 0);
    uint8_t hdr[64];
    size_t h = 0;
    for (int variant = 0; variant < 3; variant++) {
        uint64_t thr[3], cnt[3];
        size_t q = t0;
        for (unsigned j = 0; j + 1 < k; j++)
            q += weft_tensor__get_varint(&thr[j], frame + q, frame + flen, 5);
        for (unsigned j = 0; j + 1 < k; j++)
            q += weft_tensor__get_varint(&cnt[j], frame + q, frame + flen, 5);
        if (variant == 0)
            thr[0] = 0;
        else if (variant == 1)
            thr[k - 2] = k > 2 ? thr[k - 3] : 0;
        else
            thr[k - 2] = 0x8000;
        h = 0;
        hdr[h++] = (uint8_t)k;
        for (unsigned j = 0; j + 1 < k; j++)
            h += weft_tensor__put_varint(hdr + h, thr[j]);
        for (unsigned j = 0; j + 1 < k; j++)
            h += weft_tensor__put_varint(hdr + h, cnt[j]);
        /* Rebuild the frame with the new header (the span's payload length changes). */
        size_t rest = flen - q, plen = payload + h + rest;
        uint8_t *nf = malloc(plen + 16);
        assert_non_null(nf);
        size_t o = 0;
        memcpy(nf, frame, 4); /* magic */
        o = 4;
        o += weft_tensor__put_varint(nf + o, len);
        o += weft_tensor__put_varint(nf + o, 1);
        nf[o++] = WEFT_WEIGHT_DIFF_CTX;
        nf[o++] = WEFT_WEIGHT_BF16;
        nf[o++] = 0;
        o += weft_tensor__put_varint(nf + o, len);
        o += weft_tensor__put_varint(nf + o, h + rest);
        o += weft_tensor__put_varint(nf + o, 0);
        memcpy(nf + o, hdr, h);
        memcpy(nf + o + h, frame + q, rest);
        expect_corrupt(c, nf, o + h + rest, base, len);
        free(nf);
    }
    /* Class sizes off by one either way, and a size over n: the base decides the classes. */
    for (int delta = -1; delta <= 1; delta += 2) {
        size_t q = t0;
        for (unsigned j = 0; j + 1 < k; j++)
            q += weft_tensor__get_varint(&v, frame + q, frame + flen, 5);
        uint64_t c0 = 0;
        size_t cl = weft_tensor__get_varint(&c0, frame + q, frame + flen, 5);
        if (c0 == 0 && delta < 0)
            continue;
        uint64_t nc = c0 + (uint64_t)(int64_t)delta;
        if (weft_tensor__varint_len(nc) != cl)
            continue;
        memcpy(bad, frame, flen);
        weft_tensor__put_varint(bad + q, nc);
        expect_corrupt(c, bad, flen, base, len);
    }
    truncate_and_flip(c, frame, flen, payload, payload + 16, base, fine, len);
    weft_weight_codec_free(c);
    free(base);
    free(fine);
    free(frame);
    free(bad);
    free(out);
}

/* A DIFF_SHIFT frame: a shift over WEFT_TENSOR_SHIFT_MAX, a set padding bit in a low-bit
 * plane, truncations and header flips are rejected or harmless; the frame itself decodes. */
static void test_tensor_delta_shift_rejects_malformed(void **state)
{
    (void)state;
    const size_t n = 16381, len = 2 * n; /* class sizes need not be multiples of 8 */
    size_t cap = weft_weight_frame_bound(len, 1), flen = 0, rl = 0, ns = 0;
    uint8_t *base = malloc(len), *fine = malloc(len), *frame = malloc(cap), *bad = malloc(cap),
            *scratch = malloc(len + 64);
    assert_non_null(base);
    assert_non_null(fine);
    assert_non_null(frame);
    assert_non_null(bad);
    assert_non_null(scratch);
    make_pair(base, fine, n, WEFT_WEIGHT_BF16, 12, 8.0);
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    weft_weight_span sp = {.len = len, .dtype = WEFT_WEIGHT_BF16, .base = base, .base_ref = 0};
    assert_int_equal(weft_weight_frame_encode(c, frame, cap, &flen, fine, len, &sp, 1), 0);
    weft_weight_span_info info;
    assert_int_equal(weft_weight_frame_parse(&rl, &ns, &info, 1, frame, flen), 0);
    assert_int_equal(info.method, WEFT_WEIGHT_DIFF_SHIFT);
    size_t payload = flen - info.coded_len, q = payload + 1, cls[4] = {0, 0, 0, 0}, left = n;
    unsigned k = frame[payload];
    assert_true(k >= 1 && k <= 4);
    uint64_t v = 0;
    for (unsigned j = 0; j + 1 < k; j++)
        q += weft_tensor__get_varint(&v, frame + q, frame + flen, 5);
    for (unsigned j = 0; j + 1 < k; j++) {
        q += weft_tensor__get_varint(&v, frame + q, frame + flen, 5);
        cls[j] = (size_t)v;
        left -= (size_t)v;
    }
    cls[k - 1] = left;
    const size_t shifts = q;
    /* A shift over the largest. */
    memcpy(bad, frame, flen);
    bad[shifts] = WEFT_TENSOR_SHIFT_MAX + 1;
    expect_corrupt(c, bad, flen, base, len);
    /* The first class with a shift and a partial last byte gets a padding bit set. */
    size_t at = shifts + k;
    for (unsigned j = 0; j < k; j++) {
        size_t used = 0;
        assert_int_equal(weft_entropy_decode(scratch, cls[j], frame + at, flen - at, &used), 0);
        at += used;
    }
    int padded = 0;
    for (unsigned j = 0; j < k && !padded; j++) {
        size_t stride = (cls[j] + 7) / 8;
        if (frame[shifts + j] > 0 && cls[j] % 8 != 0) {
            memcpy(bad, frame, flen);
            bad[at + stride - 1] |= 0x80;
            expect_corrupt(c, bad, flen, base, len);
            padded = 1;
        }
        at += frame[shifts + j] * stride;
    }
    assert_true(padded);
    truncate_and_flip(c, frame, flen, payload, shifts + k, base, fine, len);
    weft_weight_codec_free(c);
    free(base);
    free(fine);
    free(frame);
    free(bad);
    free(scratch);
}

/* The real stories260K BF16 pair, every chunk of the real chunker, with DIFF_CTX off (one
 * class), as the encoder does by default, and with four classes. */
static void test_tensor_delta_ctx_real_pair(void **state)
{
    (void)state;
    size_t blen = 0, flen = 0;
    uint8_t *base = tt_read_shared("stories260K-hf/model.bf16.safetensors", &blen);
    uint8_t *ft = tt_read_shared("stories260K-wiki-ft/model.bf16.safetensors", &flen);
    if (base == NULL || ft == NULL) {
        free(base);
        free(ft);
        print_message("skip: the stories260K BF16 pair is not under WEFT_SHARED_DATA\n");
        skip();
        return;
    }
    size_t nw = 0, matched = 0;
    weft_weight_region *with = st_regions(ft, flen, base, blen, &nw, &matched);
    assert_non_null(with);
    assert_int_equal(matched, 47);
    uint32_t lens[256];
    size_t consumed = 0, n_chunks = weft_chunker_split(lens, 256, ft, flen, 1, &consumed);
    assert_int_equal(consumed, flen);
    static weft_weight_span spans[4096];
    static weft_weight_span_info info[4096];
    static const uint8_t *bases[4096];
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    size_t total[4] = {0, 0, 0, 0}, ctx_spans = 0, shift_spans = 0;
    static const unsigned kmax[4] = {1, WEFT_TENSOR_CTX_ENCODE_MAX, 4, WEFT_TENSOR_CTX_ENCODE_MAX};
    static const unsigned shift_max[4] = {0, 0, 0, WEFT_TENSOR_SHIFT_MAX};
    for (int run = 0; run < 4; run++) {
        weft_tensor__codec_set_ctx(c, kmax[run], 0, shift_max[run]);
        size_t off = 0;
        for (size_t i = 0; i < n_chunks; i++) {
            size_t n_spans = 0, cap = weft_weight_frame_bound(lens[i], 4096), fl = 0, olen = 0,
                   rl = 0, ns = 0;
            uint8_t *frame = malloc(cap), *out = malloc(lens[i]);
            assert_non_null(frame);
            assert_non_null(out);
            assert_int_equal(weft_weight_layout(spans, 4096, &n_spans, with, nw, off, lens[i]), 0);
            assert_int_equal(
                weft_weight_frame_encode(c, frame, cap, &fl, ft + off, lens[i], spans, n_spans), 0);
            assert_int_equal(weft_weight_frame_parse(&rl, &ns, info, 4096, frame, fl), 0);
            for (size_t j = 0; j < ns; j++) {
                bases[j] = info[j].needs_base ? base + info[j].base_ref : NULL;
                ctx_spans += run > 0 && info[j].method == WEFT_WEIGHT_DIFF_CTX;
                shift_spans += info[j].method == WEFT_WEIGHT_DIFF_SHIFT;
                if (run == 0)
                    assert_int_not_equal(info[j].method, WEFT_WEIGHT_DIFF_CTX);
                if (shift_max[run] == 0)
                    assert_int_not_equal(info[j].method, WEFT_WEIGHT_DIFF_SHIFT);
            }
            assert_int_equal(weft_weight_frame_decode(c, out, lens[i], &olen, frame, fl, bases, ns),
                             0);
            assert_memory_equal(out, ft + off, lens[i]);
            total[run] += fl;
            off += lens[i];
            free(frame);
            free(out);
        }
    }
    print_message("stories260K bf16 delta: %zu chunks, without diff-ctx %.4fx, %u classes "
                  "%.4fx, 4 classes %.4fx, default (%u classes, shifts) %.4fx; %zu diff-ctx, %zu "
                  "diff-shift spans\n",
                  n_chunks, (double)flen / (double)total[0], WEFT_TENSOR_CTX_ENCODE_MAX,
                  (double)flen / (double)total[1], (double)flen / (double)total[2],
                  WEFT_TENSOR_CTX_ENCODE_MAX, (double)flen / (double)total[3], ctx_spans,
                  shift_spans);
    assert_true(total[1] <= total[0]);
    assert_true(total[2] <= total[0]);
    weft_weight_codec_free(c);
    free(with);
    free(base);
    free(ft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_delta_ctx_every_16bit_pattern),
        cmocka_unit_test(test_tensor_delta_ctx_fp32),
        cmocka_unit_test(test_tensor_delta_ctx_frame_cuts),
        cmocka_unit_test(test_tensor_delta_ctx_rejects_malformed),
        cmocka_unit_test(test_tensor_delta_shift_rejects_malformed),
        cmocka_unit_test(test_tensor_delta_ctx_real_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
