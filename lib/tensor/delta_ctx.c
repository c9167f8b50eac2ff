/* DIFF_CTX planes (contract in codec_internal.h): the DIFF_ESC symbols of a fine-tune, coded in
 * up to four classes chosen by the magnitude of the BASE element.
 *
 * In ordered-integer units a move of the value by δ is about δ / ulp(base), and the ulp doubles
 * with each exponent step: elements with large bases move by a unit or two, those near zero by
 * hundreds. One entropy table for both spends bits on the mix; one table per magnitude class
 * codes each class near its own entropy. The decoder knows the base, so the class of every
 * element costs nothing to send: the frame stores only the class boundaries (as |base| bit
 * patterns) and the element count of each class.
 *
 * The encoder picks the boundaries per span: a histogram of the symbols per base exponent
 * (the lowest exponents folded into one group), then the cheapest partition of the exponent
 * groups into 1..kmax contiguous classes by dynamic programming over an estimate of the Huffman
 * cost of the symbol blocks (at least one bit per symbol, plus each block's code-length table;
 * the escapes are one set of planes for the whole span, in element order, whatever the
 * classes). */
#include "tensor/codec_internal.h"

#if !defined(__x86_64__) && !defined(__i386__)
/* Never called off x86 (weft_tensor__use_avx512_vbmi2 is 0); defined so the reference links. */
size_t weft_tensor__ctx_join16_avx512(uint8_t *out, const weft_tensor__ctx *cx,
                                      const uint8_t *const a[4], const uint8_t *const *r,
                                      const uint8_t *words, size_t pa[4], size_t *pe,
                                      const uint8_t *base, size_t n)
{
    (void)out, (void)cx, (void)a, (void)r, (void)words, (void)pa, (void)pe, (void)base, (void)n;
    return 0;
}
size_t weft_tensor__raw_unpack_avx512(uint8_t *dst, const uint8_t *planes, size_t stride,
                                      unsigned shift)
{
    (void)dst, (void)planes, (void)stride, (void)shift;
    return 0;
}
#endif

static inline uint32_t ctx_abs(const uint8_t *p, size_t esize)
{
    return esize == 2 ? (uint32_t)(weft_tensor__load16(p) & 0x7fff)
                      : weft_tensor__load32(p) & 0x7fffffffu;
}

static inline unsigned ctx_class(const weft_tensor__ctx *cx, uint32_t aw)
{
    return (unsigned)(aw >= cx->thr[0]) + (unsigned)(aw >= cx->thr[1]) +
           (unsigned)(aw >= cx->thr[2]);
}

static inline uint32_t ctx_order(uint32_t w, size_t esize)
{
    if (esize == 2)
        return (uint16_t)(w ^ ((w & 0x8000) ? 0xffff : 0x8000));
    return w ^ ((w & 0x80000000u) ? 0xffffffffu : 0x80000000u);
}

static inline uint32_t ctx_unorder(uint32_t o, size_t esize)
{
    if (esize == 2)
        return (uint16_t)(o ^ ((o & 0x8000) ? 0x8000 : 0xffff));
    return o ^ ((o & 0x80000000u) ? 0x80000000u : 0xffffffffu);
}

/* The zigzag ordered difference of element i (as DIFF and DIFF_ESC). */
static inline uint32_t ctx_z(const uint8_t *fine, const uint8_t *base, size_t i, size_t esize)
{
    if (esize == 2) {
        uint16_t d = (uint16_t)(ctx_order(weft_tensor__load16(fine + 2 * i), 2) -
                                ctx_order(weft_tensor__load16(base + 2 * i), 2));
        return (uint16_t)(d << 1 ^ ((d & 0x8000) ? 0xffff : 0));
    }
    uint32_t d = ctx_order(weft_tensor__load32(fine + 4 * i), 4) -
                 ctx_order(weft_tensor__load32(base + 4 * i), 4);
    return d << 1 ^ ((d & 0x80000000u) ? 0xffffffffu : 0);
}

void weft_tensor__ctx_init(weft_tensor__ctx *cx)
{
    memset(cx, 0, sizeof *cx);
    cx->k = 1;
    cx->thr[0] = cx->thr[1] = cx->thr[2] = UINT32_MAX;
}

/* log2(x) for x >= 1 within about 0.01: the float's exponent plus a quadratic in the
 * mantissa. Only steers the encoder's choice, never the format. */
static inline float ctx_log2(float x)
{
    union {
        float f;
        uint32_t u;
    } v = {x};
    float e = (float)(int)((v.u >> 23) & 255) - 127.0f;
    v.u = (v.u & 0x007fffffu) | 0x3f800000u;
    float m = v.f;
    return e + (-0.34484843f * m + 2.02466578f) * m - 1.67487759f;
}

/* Estimated bits of one entropy block of `total` symbols with histogram h, the non-zero counts
 * within [first, last]: Huffman codes cost at least one bit, and the block carries a 4-bit
 * length per symbol of its range. */
static float ctx_block_bits(const uint32_t *h, uint32_t total, unsigned first, unsigned last)
{
    if (total == 0 || first >= last)
        return 16.0f; /* an empty or constant block: mode and byte */
    float lt = ctx_log2((float)total), bits = 0;
    for (unsigned s = first; s <= last; s++) {
        if (h[s] == 0)
            continue;
        float b = lt - ctx_log2((float)h[s]);
        bits += (float)h[s] * (b < 1.0f ? 1.0f : b);
    }
    return bits + 8.0f * (float)((last - first + 2) / 2 + 8);
}

void weft_tensor__ctx_choose(weft_tensor__ctx *cx, uint32_t *hist, const uint8_t *fine,
                             const uint8_t *base, size_t n, size_t esize, unsigned shift,
                             unsigned kmax, size_t min_class)
{
    weft_tensor__ctx_init(cx);
    if (n < 256 || kmax < 2)
        return;
    uint32_t amax = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t aw = ctx_abs(base + esize * i, esize);
        amax = aw > amax ? aw : amax;
    }
    uint32_t emax = amax >> shift;
    uint32_t elow = emax >= WEFT_TENSOR_CTX_GROUPS - 1 ? emax - (WEFT_TENSOR_CTX_GROUPS - 1) : 0;
    memset(hist, 0, WEFT_TENSOR_CTX_GROUPS * 256 * sizeof *hist);
    uint32_t gcount[WEFT_TENSOR_CTX_GROUPS] = {0};
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ctx_abs(base + esize * i, esize) >> shift;
        uint32_t g = e > elow ? e - elow : 0;
        uint32_t z = ctx_z(fine, base, i, esize);
        gcount[g]++;
        hist[g * 256 + (z < 255 ? z : 255)]++;
    }
    /* Fold the sparse low groups (1/32 of the elements at most) into the lowest kept one: a
     * class of them would not pay for its table, and fewer groups make the search cheap. */
    unsigned g0 = 0;
    for (uint32_t below = 0; g0 + 1 < WEFT_TENSOR_CTX_GROUPS; g0++) {
        if (below + gcount[g0] > n / 32)
            break;
        below += gcount[g0];
    }
    for (unsigned g = 0; g < g0; g++) {
        for (size_t s = 0; s < 256; s++)
            hist[g0 * 256 + s] += hist[g * 256 + s];
        gcount[g0] += gcount[g];
    }
    /* The non-empty groups, in order of magnitude, with their symbol ranges. */
    unsigned grp[WEFT_TENSOR_CTX_GROUPS], m = 0;
    uint16_t lo[WEFT_TENSOR_CTX_GROUPS], hi[WEFT_TENSOR_CTX_GROUPS];
    for (unsigned g = g0; g < WEFT_TENSOR_CTX_GROUPS; g++) {
        if (gcount[g] == 0)
            continue;
        const uint32_t *h = hist + g * 256;
        unsigned f = 256, l = 0;
        for (unsigned s = 0; s < 256; s++) {
            if (h[s] != 0) {
                f = f == 256 ? s : f;
                l = s;
            }
        }
        lo[m] = (uint16_t)f;
        hi[m] = (uint16_t)l;
        grp[m++] = g;
    }
    if (m < 2)
        return;
    /* cost[i][j]: bits of one class made of groups grp[i..j]; a class under min_class
     * elements is not allowed (one class always is). */
    float cost[WEFT_TENSOR_CTX_GROUPS][WEFT_TENSOR_CTX_GROUPS];
    uint32_t run[256];
    for (unsigned i = 0; i < m; i++) {
        memset(run, 0, sizeof run);
        uint32_t rt = 0;
        unsigned rf = 256, rl = 0;
        for (unsigned j = i; j < m; j++) {
            const uint32_t *h = hist + grp[j] * 256;
            for (unsigned s = lo[j]; s <= hi[j]; s++)
                run[s] += h[s];
            rt += gcount[grp[j]];
            rf = lo[j] < rf ? lo[j] : rf;
            rl = hi[j] > rl ? hi[j] : rl;
            cost[i][j] =
                rt < min_class && !(i == 0 && j == m - 1) ? 1e30f : ctx_block_bits(run, rt, rf, rl);
        }
    }
    /* best[k][j]: groups 0..j in k+1 classes; from[k][j]: first group of the last class. */
    float best[WEFT_TENSOR_CTX_MAX][WEFT_TENSOR_CTX_GROUPS];
    unsigned from[WEFT_TENSOR_CTX_MAX][WEFT_TENSOR_CTX_GROUPS];
    for (unsigned j = 0; j < m; j++) {
        best[0][j] = cost[0][j];
        from[0][j] = 0;
    }
    if (kmax > WEFT_TENSOR_CTX_MAX)
        kmax = WEFT_TENSOR_CTX_MAX;
    for (unsigned k = 1; k < kmax; k++) {
        for (unsigned j = 0; j < m; j++) {
            best[k][j] = 1e30f;
            from[k][j] = 0;
            for (unsigned s = k; s <= j; s++) {
                float c = best[k - 1][s - 1] + cost[s][j];
                if (c < best[k][j]) {
                    best[k][j] = c;
                    from[k][j] = s;
                }
            }
        }
    }
    /* Each class beyond the first costs a threshold and a count in the header (~6 bytes). */
    unsigned kbest = 0;
    for (unsigned k = 1; k < kmax && k < m; k++)
        if (best[k][m - 1] + 48.0f * (float)k < best[kbest][m - 1] + 48.0f * (float)kbest)
            kbest = k;
    cx->k = kbest + 1;
    cx->bits_one = best[0][m - 1];
    cx->bits = best[kbest][m - 1] + 48.0f * (float)kbest;
    unsigned j = m - 1;
    for (unsigned k = kbest; k > 0; k--) {
        unsigned s = from[k][j];
        /* The class starts at the first exponent of group grp[s] (s > 0, so grp[s] > g0). */
        cx->thr[k - 1] = (grp[s] + elow) << shift;
        j = s - 1;
    }
}

void weft_tensor__ctx_count(weft_tensor__ctx *cx, const uint8_t *fine, const uint8_t *base,
                            size_t n, size_t esize)
{
    memset(cx->n, 0, sizeof cx->n);
    memset(cx->e, 0, sizeof cx->e);
    for (size_t i = 0; i < n; i++) {
        unsigned c = ctx_class(cx, ctx_abs(base + esize * i, esize));
        cx->n[c]++;
        cx->e[c] += (ctx_z(fine, base, i, esize) >> cx->shift[c]) >= 255;
    }
}

/* How much bigger than the smallest estimate a class may code to get a larger shift: each bit
 * of shift takes a bit off every symbol, so the decoder takes more symbols per table lookup. */
#define WEFT_TENSOR_SHIFT_SLACK 0.04f

/* The symbol histogram of shift s from the fine histogram hf (z, the last counter for every z
 * ≥ 4095) or, for s ≥ 4, the coarse one hc (z >> 4 likewise): both are exact up to escapes,
 * since 255 << s ≤ 4080 << (s ≥ 4 ? 4 : 0). Returns the escapes. */
static size_t ctx_shift_hist(uint32_t qh[256], const uint32_t *hf, const uint32_t *hc, unsigned s)
{
    const uint32_t *h = s >= 4 ? hc : hf;
    unsigned r = s >= 4 ? s - 4 : s;
    memset(qh, 0, 256 * sizeof *qh);
    for (unsigned v = 0; v < 4095; v++) {
        unsigned q = v >> r;
        qh[q < 255 ? q : 255] += h[v];
    }
    qh[255] += h[4095];
    return qh[255];
}

void weft_tensor__ctx_shifts(weft_tensor__ctx *cx, uint32_t *hist, const uint8_t *fine,
                             const uint8_t *base, size_t n, size_t esize, unsigned max_shift)
{
    memset(cx->shift, 0, sizeof cx->shift);
    if (max_shift == 0) {
        weft_tensor__ctx_count(cx, fine, base, n, esize);
        return;
    }
    if (max_shift > WEFT_TENSOR_SHIFT_MAX)
        max_shift = WEFT_TENSOR_SHIFT_MAX;
    memset(hist, 0, WEFT_TENSOR_SHIFT_HIST * sizeof *hist);
    uint32_t *fine_h = hist, *coarse_h = hist + WEFT_TENSOR_CTX_MAX * 4096;
    memset(cx->n, 0, sizeof cx->n);
    memset(cx->e, 0, sizeof cx->e);
    for (size_t i = 0; i < n; i++) {
        unsigned c = ctx_class(cx, ctx_abs(base + esize * i, esize));
        uint32_t z = ctx_z(fine, base, i, esize), zc = z >> 4;
        cx->n[c]++;
        fine_h[c * 4096 + (z < 4095 ? z : 4095)]++;
        coarse_h[c * 4096 + (zc < 4095 ? zc : 4095)]++;
    }
    for (unsigned c = 0; c < cx->k; c++) {
        if (cx->n[c] == 0)
            continue; /* an empty class keeps shift 0 */
        const uint32_t *hf = fine_h + c * 4096, *hc = coarse_h + c * 4096;
        float cost[WEFT_TENSOR_SHIFT_MAX + 1], best = 0;
        size_t esc[WEFT_TENSOR_SHIFT_MAX + 1];
        uint32_t qh[256];
        for (unsigned s = 0; s <= max_shift; s++) {
            esc[s] = ctx_shift_hist(qh, hf, hc, s);
            unsigned first = 0, last = 255;
            while (first < 255 && qh[first] == 0)
                first++;
            while (last > first && qh[last] == 0)
                last--;
            /* Escape bytes code to about three quarters of their size. */
            cost[s] = ctx_block_bits(qh, (uint32_t)cx->n[c], first, last) +
                      (float)s * (float)cx->n[c] + 6.0f * (float)(esize * esc[s]);
            best = s == 0 || cost[s] < best ? cost[s] : best;
        }
        unsigned pick = 0;
        for (unsigned s = 0; s <= max_shift; s++)
            if (cost[s] <= (1.0f + WEFT_TENSOR_SHIFT_SLACK) * best)
                pick = s;
        cx->shift[c] = (uint8_t)pick;
        cx->e[c] = esc[pick];
    }
}

size_t weft_tensor__ctx_raw_len(const weft_tensor__ctx *cx)
{
    size_t len = 0;
    for (unsigned c = 0; c < cx->k; c++)
        len += cx->shift[c] * ((cx->n[c] + 7) / 8);
    return len;
}

/* Bit j of each of the 8 bytes of v, as one byte (byte m's bit to bit m). */
static inline uint8_t ctx_pack8(uint64_t v, unsigned j)
{
    return (uint8_t)((((v >> j) & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56);
}

void weft_tensor__ctx_split(uint8_t *planes, const weft_tensor__ctx *cx, const uint8_t *fine,
                            const uint8_t *base, size_t n, size_t esize)
{
    uint8_t *a[WEFT_TENSOR_CTX_MAX], *raw[WEFT_TENSOR_CTX_MAX];
    size_t pa[WEFT_TENSOR_CTX_MAX] = {0}, pe = 0, e = 0, stride[WEFT_TENSOR_CTX_MAX];
    uint64_t low[WEFT_TENSOR_CTX_MAX] = {0}; /* the low bits of a class's last (up to) 8 */
    uint8_t *p = planes;
    for (unsigned c = 0; c < cx->k; c++) {
        a[c] = p;
        p += cx->n[c];
        e += cx->e[c];
    }
    for (unsigned c = 0; c < cx->k; c++) {
        raw[c] = p;
        stride[c] = (cx->n[c] + 7) / 8;
        p += cx->shift[c] * stride[c];
    }
    uint8_t *esc = p;
    for (size_t i = 0; i < n; i++) {
        unsigned c = ctx_class(cx, ctx_abs(base + esize * i, esize));
        uint32_t z = ctx_z(fine, base, i, esize), q = z >> cx->shift[c];
        size_t j = pa[c]++;
        if (cx->shift[c] > 0) {
            low[c] |= (uint64_t)(z & ((1u << cx->shift[c]) - 1)) << (8 * (j & 7));
            if ((j & 7) == 7 || j + 1 == cx->n[c]) {
                for (unsigned b = 0; b < cx->shift[c]; b++)
                    raw[c][b * stride[c] + j / 8] = ctx_pack8(low[c], b);
                low[c] = 0;
            }
        }
        if (q < 255) {
            a[c][j] = (uint8_t)q;
            continue;
        }
        a[c][j] = 255;
        uint32_t x = q - 255;
        for (size_t k = 0; k < esize; k++)
            esc[k * e + pe] = (uint8_t)(x >> (8 * (esize - 1 - k)));
        pe++;
    }
}

/* spread[b]: bit m of b as byte m (0 or 1). */
#define CTX_S(b)                                                                                   \
    ((uint64_t)((b) & 1) | (uint64_t)((b) >> 1 & 1) << 8 | (uint64_t)((b) >> 2 & 1) << 16 |        \
     (uint64_t)((b) >> 3 & 1) << 24 | (uint64_t)((b) >> 4 & 1) << 32 |                           \
     (uint64_t)((b) >> 5 & 1) << 40 | (uint64_t)((b) >> 6 & 1) << 48 | (uint64_t)((b) >> 7 & 1) << 56)
#define CTX_S4(b) CTX_S(b), CTX_S((b) + 1), CTX_S((b) + 2), CTX_S((b) + 3)
#define CTX_S16(b) CTX_S4(b), CTX_S4((b) + 4), CTX_S4((b) + 8), CTX_S4((b) + 12)
#define CTX_S64(b) CTX_S16(b), CTX_S16((b) + 16), CTX_S16((b) + 32), CTX_S16((b) + 48)
static const uint64_t ctx_spread[256] = {CTX_S64(0), CTX_S64(64), CTX_S64(128), CTX_S64(192)};

int weft_tensor__raw_unpack(uint8_t *dst, const uint8_t *planes, size_t n, unsigned shift)
{
    size_t stride = (n + 7) / 8;
    if (n % 8 != 0)
        for (unsigned b = 0; b < shift; b++)
            if (planes[b * stride + stride - 1] >> (n % 8) != 0)
                return -1;
    /* Eight elements at a time, each plane adding its bit to all eight bytes; the last group
     * writes up to 7 bytes into the zero padding, which is then cleared again. */
    size_t g = weft_tensor__use_avx512_vbmi2() ? weft_tensor__raw_unpack_avx512(dst, planes, stride,
                                                                                  shift)
                                               : 0;
    for (; g < stride; g++) {
        uint64_t v = 0;
        for (unsigned b = 0; b < shift; b++)
            v |= ctx_spread[planes[b * stride + g]] << b;
        memcpy(dst + 8 * g, &v, 8);
    }
    memset(dst + n, 0, 64);
    return 0;
}

int weft_tensor__ctx_join(uint8_t *out, const weft_tensor__ctx *cx, const uint8_t *const a[4],
                          const uint8_t *const *r, const uint8_t *words, size_t e,
                          const uint8_t *base, size_t n, size_t esize, int simd)
{
    size_t pa[WEFT_TENSOR_CTX_MAX] = {0}, pe = 0, i = 0;
    if (simd && esize == 2 && weft_tensor__use_avx512_vbmi2())
        i = weft_tensor__ctx_join16_avx512(out, cx, a, r, words, pa, &pe, base, n);
    for (unsigned c = 0; c < cx->k; c++)
        if (pa[c] > cx->n[c])
            return -1;
    for (; i < n; i++) {
        unsigned c = ctx_class(cx, ctx_abs(base + esize * i, esize));
        if (pa[c] >= cx->n[c])
            return -1;
        uint32_t z = a[c][pa[c]];
        if (z == 255) {
            if (pe >= e)
                return -1;
            z = esize == 2 ? weft_tensor__load16(words + 2 * pe)
                           : weft_tensor__load32(words + 4 * pe);
            pe++;
        }
        if (r != NULL)
            z = z << cx->shift[c] | r[c][pa[c]];
        pa[c]++;
        if (esize == 2) {
            uint16_t d = (uint16_t)(z >> 1 ^ ((z & 1) ? 0xffff : 0));
            uint32_t o = (uint16_t)(ctx_order(weft_tensor__load16(base + 2 * i), 2) + d);
            weft_tensor__store16(out + 2 * i, (uint16_t)ctx_unorder(o, 2));
        } else {
            uint32_t d = z >> 1 ^ ((z & 1) ? 0xffffffffu : 0);
            uint32_t o = ctx_order(weft_tensor__load32(base + 4 * i), 4) + d;
            weft_tensor__store32(out + 4 * i, ctx_unorder(o, 4));
        }
    }
    return 0;
}
