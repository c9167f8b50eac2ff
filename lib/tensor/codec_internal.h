/* Internal to the weight codecs (lib/tensor): LEB128 varints and the plane transforms shared by
 * float_codec.c, delta_codec.c and weight_frame.c. Not a public API. */
#ifndef WEFT_TENSOR_CODEC_INTERNAL_H
#define WEFT_TENSOR_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Writes v as LEB128 at p (room for 10 bytes needed); returns the bytes written. */
static inline size_t weft_tensor__put_varint(uint8_t *p, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

/* Bytes weft_tensor__put_varint would write for v. */
static inline size_t weft_tensor__varint_len(uint64_t v)
{
    size_t i = 1;
    while (v >= 0x80) {
        v >>= 7;
        i++;
    }
    return i;
}

/* Reads a LEB128 value of at most max_bytes bytes from [p, end); returns the bytes read, or 0
 * if it is truncated, too long, or not minimal (a trailing zero byte), so every value has
 * exactly one encoding. */
static inline size_t weft_tensor__get_varint(uint64_t *v, const uint8_t *p, const uint8_t *end,
                                             size_t max_bytes)
{
    uint64_t r = 0;
    for (size_t i = 0; i < max_bytes && p + i < end; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            if (i > 0 && p[i] == 0)
                return 0;
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static inline uint16_t weft_tensor__load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline uint32_t weft_tensor__load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void weft_tensor__store16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static inline void weft_tensor__store32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Plane transforms of n whole elements of `esize` bytes (2 or 4), little-endian words.
 * The splits write plane k at planes + k*n; the joins read plane k from planes[k] (so stored
 * planes can be read in place). Plane 0 is the most significant byte of the transformed word.
 *  - float: rotate left by one bit (exponent into the top byte), split;
 *  - diff: zigzag(o(fine) - o(base)) with o the ordered-integer map, split;
 *  - xor: rotate(fine ^ base), split.
 * The inverses rebuild the elements from the planes (and the base). All are bijections. */
void weft_tensor__float_split(uint8_t *planes, const uint8_t *in, size_t n, size_t esize);
void weft_tensor__float_join(uint8_t *out, const uint8_t *const planes[4], size_t n, size_t esize);

/* 1 when a plane of n bytes surely gains nothing from the entropy coder, judged from a fixed
 * sample (32 runs of 64 bytes spread evenly over the plane): their byte counts are as flat as
 * uniform noise. The float codec then stores its mantissa planes without the coder's full
 * histogram. Deterministic; 0 for planes under 8 KiB. A plane with any run of n/32 + 64 equal
 * or skewed bytes, or a skewed distribution overall, is never judged noise. */
int weft_tensor__plane_is_noise(const uint8_t *plane, size_t n);
void weft_tensor__diff_split(uint8_t *planes, const uint8_t *fine, const uint8_t *base, size_t n,
                             size_t esize);
void weft_tensor__diff_join(uint8_t *out, const uint8_t *const planes[4], const uint8_t *base,
                            size_t n, size_t esize);
void weft_tensor__xor_split(uint8_t *planes, const uint8_t *fine, const uint8_t *base, size_t n,
                            size_t esize);
void weft_tensor__xor_join(uint8_t *out, const uint8_t *const planes[4], const uint8_t *base,
                           size_t n, size_t esize);

/* DIFF_ESC planes: a[i] = min(z, 255) for the zigzag difference z; each escape (a[i] == 255)
 * puts z - 255 into esize escape planes, high byte first, plane k at esc + k*e for e escapes.
 * The split returns e (esc needs room for esize*n bytes). For the join, esc_words turns the
 * escape planes esc[k] back into e little-endian words holding z (plus one zero word after
 * them: words needs esize*(e+1) bytes); the join consumes them in order (a has exactly e
 * bytes 255, which count_escapes tells). */
size_t weft_tensor__diffesc_split(uint8_t *a, uint8_t *esc, const uint8_t *fine,
                                  const uint8_t *base, size_t n, size_t esize);
size_t weft_tensor__count_escapes(const uint8_t *a, size_t n);
void weft_tensor__esc_words(uint8_t *words, const uint8_t *const esc[4], size_t e, size_t esize);
void weft_tensor__diffesc_join(uint8_t *out, const uint8_t *a, const uint8_t *words,
                               const uint8_t *base, size_t n, size_t esize);

/* AVX2 fast paths for 16-bit elements (arch/x86/planes_avx2.c): each does the largest multiple
 * of 32 elements of n and returns that count. weft_tensor__use_avx2() says whether to call
 * them (CPU support and WEFT_KERNEL). */
int weft_tensor__use_avx2(void);
size_t weft_tensor__float_split16_avx2(uint8_t *planes, const uint8_t *in, size_t n);
size_t weft_tensor__float_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo, size_t n);
size_t weft_tensor__diff_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                      size_t n);
size_t weft_tensor__diff_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                     const uint8_t *base, size_t n);
size_t weft_tensor__xor_split16_avx2(uint8_t *planes, const uint8_t *fine, const uint8_t *base,
                                     size_t n);
size_t weft_tensor__xor_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo,
                                    const uint8_t *base, size_t n);
/* Escapes (bytes 255) in the largest multiple of 32 bytes of a[0..n); *done gets that length. */
size_t weft_tensor__count_escapes_avx2(const uint8_t *a, size_t n, size_t *done);

/* AVX-512 with VBMI2 (expand): the DIFF_ESC join for 16-bit elements, 32 at a time without
 * branches; *j counts the escape words used. Returns the elements done. Reads up to 64 bytes
 * past the last escape word: words must have that much room. */
int weft_tensor__use_avx512_vbmi2(void);
size_t weft_tensor__diffesc_join16_avx512(uint8_t *out, const uint8_t *a, const uint8_t *words,
                                          size_t *j, const uint8_t *base, size_t n);

/* DIFF_CTX (delta_ctx.c): the DIFF_ESC symbols split into k classes (1..WEFT_TENSOR_CTX_MAX) by
 * the magnitude of the base element: element i is in class #{j : |base_i| >= thr[j]}, with
 * |w| the bit pattern without the sign and the unused thresholds UINT32_MAX. Class c has n[c]
 * elements (in element order) and e[c] escapes; each class's symbols are one entropy block,
 * the escapes of all classes one set of planes in element order as in DIFF_ESC. */
#define WEFT_TENSOR_CTX_MAX 4
#define WEFT_TENSOR_CTX_GROUPS 16 /* exponent groups the encoder's choice works on */
/* Classes the frame encoder uses by default: each class is one more entropy block to set up
 * on decode. With DIFF_SHIFT and the entropy memo (a block in a remembered code skips its table
 * build) a third class costs no measurable decode speed and gains 2-4% (1 GiB synthetic
 * fine-tunes, same run: 1% 3.91x -> 4.06x, 10% 2.20x -> 2.24x); a fourth gains 1% more at
 * about 5% of the speed. */
#define WEFT_TENSOR_CTX_ENCODE_MAX 3
/* DIFF_SHIFT: class c's symbols are min(z >> shift[c], 255), its low shift[c] bits of z go
 * verbatim into shift[c] bit planes (bit i of plane j, LSB first in byte i / 8, is bit j of the
 * class's element i) and an escape holds (z >> shift[c]) - 255. Moves of many units have
 * near-uniform low bits: coding them raw costs almost nothing in size and takes the symbols
 * down to a few bits each, which the entropy decoder takes several at a time. DIFF_CTX is the
 * same with every shift 0. */
#define WEFT_TENSOR_SHIFT_MAX 8
typedef struct weft_tensor__ctx {
    unsigned k;
    uint32_t thr[WEFT_TENSOR_CTX_MAX - 1];
    size_t n[WEFT_TENSOR_CTX_MAX], e[WEFT_TENSOR_CTX_MAX];
    uint8_t shift[WEFT_TENSOR_CTX_MAX];
    float bits_one, bits; /* the choice's estimates: one class, and the classes chosen */
} weft_tensor__ctx;

/* One class, no thresholds, counts zero. */
void weft_tensor__ctx_init(weft_tensor__ctx *cx);
/* Chooses k ≤ kmax classes of at least min_class elements each, and thr (and sets the
 * estimates), for n elements whose exponent starts at bit `shift` of the word (BF16 7, F16 10,
 * F32 23). hist is scratch of WEFT_TENSOR_CTX_GROUPS * 256 counters. */
void weft_tensor__ctx_choose(weft_tensor__ctx *cx, uint32_t *hist, const uint8_t *fine,
                             const uint8_t *base, size_t n, size_t esize, unsigned shift,
                             unsigned kmax, size_t min_class);
/* The frame encoder's DIFF_CTX and DIFF_SHIFT limits for codec c: at most kmax classes (1
 * turns classes off) of at least min_class elements each, shifts of at most max_shift bits (0
 * turns DIFF_SHIFT off: the encoder writes DIFF_CTX as before it). For tests and benchmarks. */
struct weft_weight_codec;
void weft_tensor__codec_set_ctx(struct weft_weight_codec *c, unsigned kmax, size_t min_class,
                                unsigned max_shift);
/* Fills n[] and e[] for the chosen classes and shifts. */
void weft_tensor__ctx_count(weft_tensor__ctx *cx, const uint8_t *fine, const uint8_t *base,
                            size_t n, size_t esize);
/* Scratch counters weft_tensor__ctx_shifts needs. */
#define WEFT_TENSOR_SHIFT_HIST (2 * WEFT_TENSOR_CTX_MAX * 4096)
/* Chooses each class's shift (at most max_shift ≤ WEFT_TENSOR_SHIFT_MAX) from histograms of z
 * per class: the largest shift whose estimated size is within WEFT_TENSOR_SHIFT_SLACK of the
 * smallest (a few bytes more buy a faster decode), and fills n[] and e[] as ctx_count. hist is
 * scratch of WEFT_TENSOR_SHIFT_HIST counters. */
void weft_tensor__ctx_shifts(weft_tensor__ctx *cx, uint32_t *hist, const uint8_t *fine,
                             const uint8_t *base, size_t n, size_t esize, unsigned max_shift);
/* Bytes of the classes' raw bit planes: the sum of shift[c] * ceil(n[c] / 8). */
size_t weft_tensor__ctx_raw_len(const weft_tensor__ctx *cx);
/* Writes the classes' symbol streams (class 0 first, n[c] bytes each), then their raw bit
 * planes (class 0 first, weft_tensor__ctx_raw_len bytes), then the escape planes of all
 * elements in element order (esize planes of e = sum of e[c] bytes, high byte first) at
 * planes: needs n + raw_len + esize * e bytes; cx must have been counted. */
void weft_tensor__ctx_split(uint8_t *planes, const weft_tensor__ctx *cx, const uint8_t *fine,
                            const uint8_t *base, size_t n, size_t esize);
/* Unpacks `shift` bit planes of n elements (ceil(n / 8) bytes each, one after the other) into
 * n bytes plus 64 zero bytes at dst. Returns -1 if a plane's unused bits in its last byte are
 * not zero (each value has one coding), else 0. */
int weft_tensor__raw_unpack(uint8_t *dst, const uint8_t *planes, size_t n, unsigned shift);
/* AVX-512 part of weft_tensor__raw_unpack: 64 elements (8 bytes of each of the shift planes
 * of `stride` bytes) at a time while a whole 8 bytes are left; returns the plane bytes done. */
size_t weft_tensor__raw_unpack_avx512(uint8_t *dst, const uint8_t *planes, size_t stride,
                                      unsigned shift);
/* Rebuilds n elements from class symbol streams a[c] (n[c] bytes, followed by at least 64
 * zero bytes), the classes' unpacked low bits r[c] (the same shape; r NULL when every shift is
 * 0) and the e escape words (weft_tensor__esc_words of the escape planes, with 64 bytes of
 * room after them): z = (symbol, or the next escape word for symbol 255) << shift | low bits.
 * Returns -1, having written garbage, when the base puts more elements in a class than n[c]
 * says; 0 otherwise (then every stream is used exactly). simd = 0 forces the portable path. */
int weft_tensor__ctx_join(uint8_t *out, const weft_tensor__ctx *cx, const uint8_t *const a[4],
                          const uint8_t *const *r, const uint8_t *words, size_t e,
                          const uint8_t *base, size_t n, size_t esize, int simd);
/* AVX-512 VBMI2 part of the join for 16-bit elements: 32 at a time while no class overruns;
 * pa/pe get the symbols and escapes used per class. Returns the elements done. */
size_t weft_tensor__ctx_join16_avx512(uint8_t *out, const weft_tensor__ctx *cx,
                                      const uint8_t *const a[4], const uint8_t *const *r,
                                      const uint8_t *words, size_t pa[4], size_t *pe,
                                      const uint8_t *base, size_t n);

#endif
