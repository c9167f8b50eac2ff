/* Weight frames: one chunk coded span by span with the best method (contract and layout in
 * include/weft/weight_codec.h; byte-by-byte description in docs/internals/codecs.md).
 *
 * Encoding tries the methods a span allows (STORED always; ENTROPY for raw bytes; FLOAT for
 * float dtypes; DIFF and XOR when the caller gave base bytes, and FLOAT too when the delta
 * does not pay) into two scratch buffers and keeps the smallest. Decoding walks the span
 * headers with one cursor over (p, end), checks every length against both the frame and the
 * output before use, and reads stored planes in place instead of copying them. */
#include "weft/weight_codec.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/codec_internal.h"
#include "weft/entropy.h"

static const uint8_t FRAME_MAGIC[4] = {'W', 'T', 'C', 1};

struct weft_weight_codec {
    uint8_t *planes; /* split planes (encode) or decoded planes (decode): 2 * alloc bytes */
    uint8_t *try_buf, *best_buf;
    uint8_t *words;       /* DIFF_ESC escape words (decode) */
    uint32_t *hist;       /* DIFF_CTX class choice (encode): WEFT_TENSOR_CTX_GROUPS * 256 */
    uint32_t *shift_hist; /* DIFF_SHIFT shift choice (encode): WEFT_TENSOR_SHIFT_HIST */
    unsigned ctx_max;     /* most DIFF_CTX classes the encoder uses */
    size_t ctx_min_class; /* and the fewest elements in one */
    unsigned shift_max;   /* largest DIFF_SHIFT shift (0: DIFF_CTX instead) */
    /* Recent entropy codes of consecutive frames (entropy.h). The encoder uses it for delta
     * planes only: float planes decode fast without it, and their own codes are 0.1% smaller
     * (the real BF16 pair needs that to stay at 1.50x). */
    weft_entropy_memo *memo;
    size_t alloc;
};

int weft_weight_codec_new(weft_weight_codec **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return weft_err_set(WEFT_ENOMEM, "weight codec: out of memory");
    int rc = weft_entropy_memo_new(&(*out)->memo);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    (*out)->ctx_max = WEFT_TENSOR_CTX_ENCODE_MAX;
    (*out)->shift_max = WEFT_TENSOR_SHIFT_MAX;
    return 0;
}

void weft_tensor__codec_set_ctx(struct weft_weight_codec *c, unsigned kmax, size_t min_class,
                                unsigned max_shift)
{
    c->ctx_max = kmax;
    c->ctx_min_class = min_class;
    c->shift_max = max_shift;
}

void weft_weight_codec_free(weft_weight_codec *c)
{
    if (c == NULL)
        return;
    free(c->planes);
    free(c->try_buf);
    free(c->best_buf);
    free(c->words);
    free(c->hist);
    free(c->shift_hist);
    weft_entropy_memo_free(c->memo);
    free(c);
}

/* Scratch for spans of up to `len` bytes (payloads need len + 8: plane mode bytes; the escape
 * words one word and 64 bytes of SIMD over-read past their end, for each of up to four
 * DIFF_CTX classes, whose symbol streams also get 64 zero bytes after each). */
#define CODEC_SLACK 512
static int codec_reserve(weft_weight_codec *c, size_t len)
{
    if (c->hist == NULL) {
        c->hist = malloc(WEFT_TENSOR_CTX_GROUPS * 256 * sizeof *c->hist);
        c->shift_hist = malloc(WEFT_TENSOR_SHIFT_HIST * sizeof *c->shift_hist);
        if (c->hist == NULL || c->shift_hist == NULL) {
            free(c->hist);
            free(c->shift_hist);
            c->hist = c->shift_hist = NULL;
            return weft_err_set(WEFT_ENOMEM, "weight codec: out of memory");
        }
    }
    if (c->alloc >= len + CODEC_SLACK)
        return 0;
    size_t a = len + CODEC_SLACK > 65536 ? len + CODEC_SLACK : 65536;
    /* DIFF_ESC planes take n + esize * n bytes: up to twice the span; so may a trial payload
     * before it loses to STORED (every element an escape, the planes incompressible). */
    uint8_t *p = malloc(2 * a), *t = malloc(2 * a), *b = malloc(2 * a), *w = malloc(a);
    if (p == NULL || t == NULL || b == NULL || w == NULL) {
        free(p);
        free(t);
        free(b);
        free(w);
        return weft_err_set(WEFT_ENOMEM, "weight codec: out of memory for %zu bytes", a);
    }
    free(c->planes);
    free(c->try_buf);
    free(c->best_buf);
    free(c->words);
    c->planes = p;
    c->try_buf = t;
    c->best_buf = b;
    c->words = w;
    c->alloc = a;
    return 0;
}

size_t weft_weight_dtype_size(int dtype)
{
    switch (dtype) {
    case WEFT_WEIGHT_RAW: return 1;
    case WEFT_WEIGHT_BF16:
    case WEFT_WEIGHT_F16: return 2;
    case WEFT_WEIGHT_F32: return 4;
    default: return 0;
    }
}

const char *weft_weight_dtype_name(int dtype)
{
    static const char *const names[] = {"raw", "bf16", "f16", "f32"};
    return dtype >= 0 && dtype <= WEFT_WEIGHT_F32 ? names[dtype] : NULL;
}

const char *weft_weight_method_name(int method)
{
    static const char *const names[] = {"stored",   "entropy",  "float",     "diff",
                                        "xor",      "diff-esc", "diff-ctx", "diff-shift"};
    return method >= 0 && method <= WEFT_WEIGHT_DIFF_SHIFT ? names[method] : NULL;
}

/* Span header: method, dtype, phase, varint len, varint payload_len, varint base_ref. */
#define FRAME_SPAN_HEADER_MAX (3 + 5 + 5 + 10)

size_t weft_weight_frame_bound(size_t len, size_t n_spans)
{
    return 4 + 5 + 5 + n_spans * FRAME_SPAN_HEADER_MAX + len;
}

/* Head and tail partial-element bytes and the whole elements of a span. */
static void frame_split_span(size_t len, size_t esize, unsigned phase, size_t *head, size_t *n,
                             size_t *tail)
{
    size_t h = (esize - phase) % esize;
    if (h > len)
        h = len;
    *head = h;
    *n = (len - h) / esize;
    *tail = (len - h) % esize;
}

static int frame_is_delta(int method)
{
    return method == WEFT_WEIGHT_DIFF || method == WEFT_WEIGHT_XOR ||
           method == WEFT_WEIGHT_DIFF_ESC || method == WEFT_WEIGHT_DIFF_CTX ||
           method == WEFT_WEIGHT_DIFF_SHIFT;
}

/* DIFF_CTX: bit position of the exponent and largest |w| of a float dtype. */
static unsigned frame_exp_shift(int dtype)
{
    return dtype == WEFT_WEIGHT_F32 ? 23 : dtype == WEFT_WEIGHT_F16 ? 10 : 7;
}

static uint32_t frame_abs_max(size_t esize)
{
    return esize == 2 ? 0x7fffu : 0x7fffffffu;
}

/* Codes one span as DIFF_CTX or DIFF_SHIFT (`method`) with the classes (and shifts) of cx,
 * counted, into out (room: 2 * len + 64); returns the size. Payload: head bytes, u8 k, k-1
 * varint thresholds, k-1 varint counts (classes 0 to k-2), for DIFF_SHIFT k shift bytes, per
 * class its symbol block, for DIFF_SHIFT the raw bit planes, the esize escape plane blocks,
 * tail bytes. */
static size_t frame_encode_ctx(weft_weight_codec *c, uint8_t *out, int method,
                               const weft_tensor__ctx *cx, const uint8_t *data,
                               const uint8_t *base, size_t len, size_t esize, unsigned phase)
{
    size_t head, n, tail;
    frame_split_span(len, esize, phase, &head, &n, &tail);
    uint8_t *p = out;
    memcpy(p, data, head);
    p += head;
    weft_tensor__ctx_split(c->planes, cx, data + head, base + head, n, esize);
    *p++ = (uint8_t)cx->k;
    for (unsigned k = 0; k + 1 < cx->k; k++)
        p += weft_tensor__put_varint(p, cx->thr[k]);
    for (unsigned k = 0; k + 1 < cx->k; k++)
        p += weft_tensor__put_varint(p, cx->n[k]);
    if (method == WEFT_WEIGHT_DIFF_SHIFT)
        for (unsigned k = 0; k < cx->k; k++)
            *p++ = cx->shift[k];
    const uint8_t *src = c->planes;
    size_t used = 0, e = 0;
    for (unsigned k = 0; k < cx->k; k++) {
        if (weft_entropy_encode_memo(c->memo, p, cx->n[k] + 1, &used, src, cx->n[k]) != 0)
            return (size_t)-1;
        p += used;
        src += cx->n[k];
        e += cx->e[k];
    }
    size_t raw = weft_tensor__ctx_raw_len(cx);
    memcpy(p, src, raw);
    p += raw;
    src += raw;
    for (size_t j = 0; j < esize; j++) {
        if (weft_entropy_encode_memo(c->memo, p, e + 1, &used, src, e) != 0)
            return (size_t)-1;
        p += used;
        src += e;
    }
    memcpy(p, data + head + n * esize, tail);
    p += tail;
    return (size_t)(p - out);
}

static size_t frame_encode_planes(weft_weight_codec *c, uint8_t *out, int method,
                                  const uint8_t *data, const uint8_t *base, size_t len,
                                  size_t esize, unsigned phase);

/* Codes one span with the classes of cx and the shifts chosen for them into out: DIFF_ESC for
 * one class without a shift, else DIFF_SHIFT (DIFF_CTX when no class has a shift). Returns
 * the method; *size gets the payload size. */
static int frame_encode_classes(weft_weight_codec *c, uint8_t *out, size_t *size,
                                weft_tensor__ctx *cx, const uint8_t *data, const uint8_t *base,
                                size_t len, size_t esize, unsigned phase)
{
    size_t head, n, tail;
    frame_split_span(len, esize, phase, &head, &n, &tail);
    weft_tensor__ctx_shifts(cx, c->shift_hist, data + head, base + head, n, esize, c->shift_max);
    int shifted = 0;
    for (unsigned k = 0; k < cx->k; k++)
        shifted |= cx->shift[k] > 0;
    if (cx->k == 1 && !shifted) {
        *size = frame_encode_planes(c, out, WEFT_WEIGHT_DIFF_ESC, data, base, len, esize, phase);
        return WEFT_WEIGHT_DIFF_ESC;
    }
    int m = shifted ? WEFT_WEIGHT_DIFF_SHIFT : WEFT_WEIGHT_DIFF_CTX;
    *size = frame_encode_ctx(c, out, m, cx, data, base, len, esize, phase);
    return m;
}

/* Codes one span with a plane method into out (room: len + esize + 1); returns the size. The
 * planes of the whole elements are made from data (and base) into c->planes. */
static size_t frame_encode_planes(weft_weight_codec *c, uint8_t *out, int method,
                                  const uint8_t *data, const uint8_t *base, size_t len,
                                  size_t esize, unsigned phase)
{
    size_t head, n, tail;
    frame_split_span(len, esize, phase, &head, &n, &tail);
    uint8_t *p = out;
    memcpy(p, data, head);
    p += head;
    const uint8_t *el = data + head;
    if (method == WEFT_WEIGHT_DIFF_ESC) {
        /* Plane a at c->planes, escape planes after it. */
        size_t e = weft_tensor__diffesc_split(c->planes, c->planes + n, el, base + head, n, esize);
        size_t used = 0;
        if (weft_entropy_encode_memo(c->memo, p, n + 1, &used, c->planes, n) != 0)
            return (size_t)-1;
        p += used;
        for (size_t k = 0; k < esize; k++) {
            if (weft_entropy_encode_memo(c->memo, p, e + 1, &used, c->planes + n + k * e, e) != 0)
                return (size_t)-1;
            p += used;
        }
        memcpy(p, data + head + n * esize, tail);
        p += tail;
        return (size_t)(p - out);
    }
    if (method == WEFT_WEIGHT_FLOAT)
        weft_tensor__float_split(c->planes, el, n, esize);
    else if (method == WEFT_WEIGHT_DIFF)
        weft_tensor__diff_split(c->planes, el, base + head, n, esize);
    else
        weft_tensor__xor_split(c->planes, el, base + head, n, esize);
    for (size_t k = 0; k < esize; k++) {
        size_t used = n + 1;
        const uint8_t *plane = c->planes + k * n;
        if (method == WEFT_WEIGHT_FLOAT && k > 0 && weft_tensor__plane_is_noise(plane, n)) {
            /* Mantissa noise: the stored block the coder would pick, without its histogram. */
            p[0] = WEFT_ENTROPY_STORED;
            memcpy(p + 1, plane, n);
        } else if (weft_entropy_encode_memo(method == WEFT_WEIGHT_FLOAT ? NULL : c->memo, p, n + 1,
                                            &used, plane, n) != 0) {
            /* Room is exact: each block is at most n + 1 bytes. */
            return (size_t)-1;
        }
        p += used;
    }
    memcpy(p, data + head + n * esize, tail);
    p += tail;
    return (size_t)(p - out);
}

/* Chooses and writes one span's payload into c->best_buf; returns its size and method. */
static int frame_encode_span(weft_weight_codec *c, size_t *size_out, int *method_out,
                             const uint8_t *data, const weft_weight_span *s)
{
    size_t len = s->len, esize = weft_weight_dtype_size(s->dtype);
    int best = WEFT_WEIGHT_STORED;
    size_t best_len = len;
    uint8_t *tmp;
#define FRAME_TAKE(m, sz)                                                                          \
    do {                                                                                           \
        if ((sz) < best_len) {                                                                     \
            best = (m);                                                                            \
            best_len = (sz);                                                                       \
            tmp = c->best_buf;                                                                     \
            c->best_buf = c->try_buf;                                                              \
            c->try_buf = tmp;                                                                      \
        }                                                                                          \
    } while (0)
    if (s->dtype == WEFT_WEIGHT_RAW) {
        size_t used = 0;
        int rc = weft_entropy_encode(c->try_buf, len + 1, &used, data, len);
        if (rc != 0)
            return rc;
        FRAME_TAKE(WEFT_WEIGHT_ENTROPY, used);
    } else {
        size_t sz;
        if (s->base != NULL) {
            /* One class unless the class choice expects its classes to save over 3%; the
             * classes when it found more than one worth having. */
            size_t head, n, tail;
            frame_split_span(len, esize, s->phase, &head, &n, &tail);
            weft_tensor__ctx cx, one;
            weft_tensor__ctx_choose(&cx, c->hist, data + head, s->base + head, n, esize,
                                    frame_exp_shift(s->dtype), c->ctx_max, c->ctx_min_class);
            weft_tensor__ctx_init(&one);
            for (int t = 0; t < 2; t++) {
                weft_tensor__ctx *x = t == 0 ? &one : &cx;
                if (t == 0 ? cx.k > 1 && cx.bits <= 0.97f * cx.bits_one : cx.k == 1)
                    continue;
                int m = frame_encode_classes(c, c->try_buf, &sz, x, data, s->base, len, esize,
                                             s->phase);
                FRAME_TAKE(m, sz);
            }
            /* The byte-plane forms win when most moves are large (escapes everywhere). */
            if (best_len > len / 2) {
                sz = frame_encode_planes(c, c->try_buf, WEFT_WEIGHT_DIFF, data, s->base, len, esize,
                                         s->phase);
                FRAME_TAKE(WEFT_WEIGHT_DIFF, sz);
                sz = frame_encode_planes(c, c->try_buf, WEFT_WEIGHT_XOR, data, s->base, len, esize,
                                         s->phase);
                FRAME_TAKE(WEFT_WEIGHT_XOR, sz);
            }
        }
        /* Without a base, or when the delta pays less than 2x (a base that is not one), the
         * float codec too. */
        if (s->base == NULL || best_len > len / 2) {
            sz = frame_encode_planes(c, c->try_buf, WEFT_WEIGHT_FLOAT, data, NULL, len, esize,
                                     s->phase);
            FRAME_TAKE(WEFT_WEIGHT_FLOAT, sz);
        }
    }
#undef FRAME_TAKE
    if (best == WEFT_WEIGHT_STORED)
        memcpy(c->best_buf, data, len);
    *size_out = best_len;
    *method_out = best;
    return 0;
}

int weft_weight_frame_encode(weft_weight_codec *c, uint8_t *out, size_t cap, size_t *out_len,
                             const uint8_t *data, size_t len, const weft_weight_span *spans,
                             size_t n_spans)
{
    int rc = 0;
    if (len > WEFT_WEIGHT_FRAME_MAX)
        return weft_err_set(WEFT_ELIMIT, "weight frame: chunk of %zu bytes over %u", len,
                            WEFT_WEIGHT_FRAME_MAX);
    if (n_spans == 0 || n_spans > WEFT_WEIGHT_MAX_SPANS)
        return weft_err_set(WEFT_EINVALID, "weight frame: %zu spans (1 to %u)", n_spans,
                            WEFT_WEIGHT_MAX_SPANS);
    size_t total = 0, longest = 0;
    for (size_t i = 0; i < n_spans; i++) {
        const weft_weight_span *s = &spans[i];
        size_t esize = weft_weight_dtype_size(s->dtype);
        if (esize == 0)
            return weft_err_set(WEFT_EINVALID, "weight frame: span %zu has dtype %d", i, s->dtype);
        if (s->len == 0 || s->phase >= esize)
            return weft_err_set(WEFT_EINVALID, "weight frame: span %zu: length %zu, phase %u", i,
                                s->len, s->phase);
        if (s->len > len - total)
            return weft_err_set(WEFT_EINVALID, "weight frame: spans cover more than %zu bytes",
                                len);
        total += s->len;
        if (s->len > longest)
            longest = s->len;
    }
    if (total != len)
        return weft_err_set(WEFT_EINVALID, "weight frame: spans cover %zu of %zu bytes", total,
                            len);
    rc = codec_reserve(c, longest);
    if (rc != 0)
        return rc;
    if (cap < 14)
        return weft_err_set(WEFT_ELIMIT, "weight frame: output room %zu too small", cap);
    uint8_t *p = out, *end = out + cap;
    memcpy(p, FRAME_MAGIC, 4);
    p += 4;
    p += weft_tensor__put_varint(p, len);
    p += weft_tensor__put_varint(p, n_spans);
    size_t off = 0;
    for (size_t i = 0; i < n_spans; i++) {
        const weft_weight_span *s = &spans[i];
        size_t size = 0;
        int method = 0;
        rc = frame_encode_span(c, &size, &method, data + off, s);
        if (rc != 0)
            return rc;
        if ((size_t)(end - p) < FRAME_SPAN_HEADER_MAX + size)
            return weft_err_set(WEFT_ELIMIT, "weight frame: output room %zu too small", cap);
        *p++ = (uint8_t)method;
        *p++ = (uint8_t)s->dtype;
        *p++ = (uint8_t)s->phase;
        p += weft_tensor__put_varint(p, s->len);
        p += weft_tensor__put_varint(p, size);
        if (frame_is_delta(method))
            p += weft_tensor__put_varint(p, s->base_ref);
        memcpy(p, c->best_buf, size);
        p += size;
        off += s->len;
    }
    *out_len = (size_t)(p - out);
    return 0;
}

/* Cursor over a frame's span headers. */
typedef struct frame_cursor {
    const uint8_t *p, *end;
    size_t raw_len, n_spans, offset;
} frame_cursor;

static int frame_open(frame_cursor *fc, const uint8_t *frame, size_t frame_len)
{
    const uint8_t *p = frame, *end = frame + frame_len;
    uint64_t v;
    size_t used;
    if (frame_len < 4 || memcmp(p, FRAME_MAGIC, 4) != 0)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: bad magic");
    p += 4;
    used = weft_tensor__get_varint(&v, p, end, 5);
    if (used == 0 || v > WEFT_WEIGHT_FRAME_MAX)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: bad decoded length");
    fc->raw_len = (size_t)v;
    p += used;
    used = weft_tensor__get_varint(&v, p, end, 5);
    if (used == 0 || v == 0 || v > WEFT_WEIGHT_MAX_SPANS || v > fc->raw_len)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: bad span count");
    fc->n_spans = (size_t)v;
    p += used;
    fc->p = p;
    fc->end = end;
    fc->offset = 0;
    return 0;
}

/* Reads the next span header; *payload points at its payload (checked to lie in the frame). */
static int frame_next(frame_cursor *fc, weft_weight_span_info *si, const uint8_t **payload,
                      size_t index)
{
    const uint8_t *p = fc->p, *end = fc->end;
    uint64_t v;
    size_t used;
    if (end - p < 3)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu header truncated", index);
    memset(si, 0, sizeof *si);
    si->method = p[0];
    si->dtype = p[1];
    si->phase = p[2];
    p += 3;
    size_t esize = weft_weight_dtype_size(si->dtype);
    if (esize == 0 || si->phase >= esize || si->method > WEFT_WEIGHT_DIFF_SHIFT)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: method %d, dtype %d, phase %u",
                            index, si->method, si->dtype, si->phase);
    if (si->dtype == WEFT_WEIGHT_RAW && si->method > WEFT_WEIGHT_ENTROPY)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: raw bytes with method %s",
                            index, weft_weight_method_name(si->method));
    used = weft_tensor__get_varint(&v, p, end, 5);
    if (used == 0 || v == 0 || v > fc->raw_len - fc->offset)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad length", index);
    si->len = (size_t)v;
    si->offset = fc->offset;
    p += used;
    used = weft_tensor__get_varint(&v, p, end, 5);
    if (used == 0)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad payload length", index);
    si->coded_len = (size_t)v;
    p += used;
    if (frame_is_delta(si->method)) {
        used = weft_tensor__get_varint(&v, p, end, 10);
        if (used == 0)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad base reference", index);
        si->base_ref = v;
        si->needs_base = 1;
        p += used;
    }
    if (si->coded_len > (size_t)(end - p))
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: payload truncated", index);
    if (si->method == WEFT_WEIGHT_STORED && si->coded_len != si->len)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: stored length mismatch", index);
    *payload = p;
    fc->p = p + si->coded_len;
    fc->offset += si->len;
    return 0;
}

static int frame_close(const frame_cursor *fc)
{
    if (fc->offset != fc->raw_len)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: spans cover %zu of %zu bytes", fc->offset,
                            fc->raw_len);
    if (fc->p != fc->end)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: %zu bytes after the last span",
                            (size_t)(fc->end - fc->p));
    return 0;
}

/* Walks every span of a frame: visit (may be NULL) sees each header and payload in order; a
 * non-zero return stops the walk with that code. The cursor's totals are checked at the end. */
typedef int (*frame_visit)(void *ctx, size_t i, const weft_weight_span_info *si,
                           const uint8_t *payload);

static int frame_walk(frame_cursor *fc, frame_visit visit, void *ctx)
{
    for (size_t i = 0; i < fc->n_spans; i++) {
        weft_weight_span_info si;
        const uint8_t *payload = NULL;
        int rc = frame_next(fc, &si, &payload, i);
        if (rc == 0 && visit != NULL)
            rc = visit(ctx, i, &si, payload);
        if (rc != 0)
            return rc;
    }
    return frame_close(fc);
}

typedef struct frame_parse_ctx {
    weft_weight_span_info *spans;
    size_t max_spans;
} frame_parse_ctx;

static int frame_parse_visit(void *ctx, size_t i, const weft_weight_span_info *si,
                             const uint8_t *payload)
{
    frame_parse_ctx *pc = ctx;
    (void)payload;
    if (i < pc->max_spans)
        pc->spans[i] = *si;
    return 0;
}

int weft_weight_frame_parse(size_t *raw_len_out, size_t *n_spans_out, weft_weight_span_info *spans,
                            size_t max_spans, const uint8_t *frame, size_t frame_len)
{
    frame_cursor fc;
    frame_parse_ctx pc = {spans, max_spans};
    int rc = frame_open(&fc, frame, frame_len);
    if (rc == 0)
        rc = frame_walk(&fc, frame_parse_visit, &pc);
    if (rc != 0)
        return rc;
    *raw_len_out = fc.raw_len;
    *n_spans_out = fc.n_spans;
    return 0;
}

/* Decodes one entropy block of n symbols at *p (before end): a stored block is read in place,
 * others are decoded into dst. *plane gets where the symbols are; *p moves past the block. */
static int frame_plane(weft_entropy_memo *m, const uint8_t **plane, uint8_t *dst,
                       const uint8_t **p, const uint8_t *end, size_t n, size_t index)
{
    size_t used = 0;
    if (end - *p >= 1 && (*p)[0] == WEFT_ENTROPY_STORED) {
        if ((size_t)(end - *p) - 1 < n)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: plane truncated", index);
        *plane = *p + 1;
        *p += n + 1;
        return 0;
    }
    int rc = weft_entropy_decode_memo(m, dst, n, *p, (size_t)(end - *p), &used);
    if (rc != 0)
        return weft_err_wrap(rc, "weight frame: span %zu", index);
    *plane = dst;
    *p += used;
    return 0;
}

/* Decodes a DIFF_CTX or DIFF_SHIFT (`method`) span's whole elements (after the head bytes, p
 * to end) into el. The class symbol streams go to c->planes, each followed by 64 zero bytes
 * (stored blocks are copied there too), then the classes' unpacked low bits (DIFF_SHIFT; the
 * same shape, zeros for a class without a shift), the escape planes after them, and the
 * escape words to c->words (64 bytes of room after them). */
static int frame_decode_classes(weft_weight_codec *c, int method, uint8_t *el, const uint8_t **pp,
                                const uint8_t *end, const uint8_t *base, size_t n, size_t esize,
                                size_t index)
{
    const uint8_t *p = *pp;
    weft_tensor__ctx cx;
    weft_tensor__ctx_init(&cx);
    uint64_t v;
    size_t used;
    if (p >= end || p[0] == 0 || p[0] > WEFT_TENSOR_CTX_MAX)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad class count", index);
    cx.k = *p++;
    for (unsigned k = 0; k + 1 < cx.k; k++) {
        used = weft_tensor__get_varint(&v, p, end, 5);
        if (used == 0 || v == 0 || v > frame_abs_max(esize) || (k > 0 && v <= cx.thr[k - 1]))
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad class threshold",
                                index);
        cx.thr[k] = (uint32_t)v;
        p += used;
    }
    size_t left = n;
    for (unsigned k = 0; k + 1 < cx.k; k++) {
        used = weft_tensor__get_varint(&v, p, end, 5);
        if (used == 0 || v > left)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad class size", index);
        cx.n[k] = (size_t)v;
        left -= (size_t)v;
        p += used;
    }
    cx.n[cx.k - 1] = left;
    if (method == WEFT_WEIGHT_DIFF_SHIFT) {
        if ((size_t)(end - p) < cx.k)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: shifts truncated", index);
        for (unsigned k = 0; k < cx.k; k++)
            if ((cx.shift[k] = *p++) > WEFT_TENSOR_SHIFT_MAX)
                return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: bad shift %u", index,
                                    cx.shift[k]);
    }
    const uint8_t *a[4] = {NULL, NULL, NULL, NULL}, *pl[4] = {NULL, NULL, NULL, NULL};
    const uint8_t *r[4] = {NULL, NULL, NULL, NULL};
    uint8_t *q = c->planes;
    size_t e = 0;
    for (unsigned k = 0; k < cx.k; k++) {
        const uint8_t *sym;
        int rc = frame_plane(c->memo, &sym, q, &p, end, cx.n[k], index);
        if (rc != 0)
            return rc;
        if (sym != q)
            memcpy(q, sym, cx.n[k]);
        memset(q + cx.n[k], 0, 64);
        a[k] = q;
        q += cx.n[k] + 64;
        e += weft_tensor__count_escapes(a[k], cx.n[k]);
    }
    for (unsigned k = 0; k < cx.k && method == WEFT_WEIGHT_DIFF_SHIFT; k++) {
        size_t bytes = cx.shift[k] * ((cx.n[k] + 7) / 8);
        if ((size_t)(end - p) < bytes)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: low bits truncated", index);
        if (weft_tensor__raw_unpack(q, p, cx.n[k], cx.shift[k]) != 0)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: low bits padding not zero",
                                index);
        r[k] = q;
        q += cx.n[k] + 64;
        p += bytes;
    }
    for (size_t j = 0; j < esize; j++) {
        int rc = frame_plane(c->memo, &pl[j], q, &p, end, e, index);
        if (rc != 0)
            return rc;
        q += e;
    }
    weft_tensor__esc_words(c->words, pl, e, esize);
    if (weft_tensor__ctx_join(el, &cx, a, method == WEFT_WEIGHT_DIFF_SHIFT ? r : NULL, c->words,
                              e, base, n, esize, 1) != 0)
        return weft_err_set(WEFT_ECORRUPT,
                            "weight frame: span %zu: class sizes do not match the base", index);
    *pp = p;
    return 0;
}

/* Decodes one plane-coded span into out[0..len). */
static int frame_decode_planes(weft_weight_codec *c, uint8_t *out, const weft_weight_span_info *si,
                               const uint8_t *payload, const uint8_t *base, size_t index)
{
    size_t esize = weft_weight_dtype_size(si->dtype), head, n, tail;
    frame_split_span(si->len, esize, si->phase, &head, &n, &tail);
    const uint8_t *p = payload, *end = payload + si->coded_len;
    if ((size_t)(end - p) < head)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: head truncated", index);
    memcpy(out, p, head);
    p += head;
    const uint8_t *planes[4] = {NULL, NULL, NULL, NULL};
    uint8_t *el = out + head;
    /* A delta span's base bytes are asked for before its planes are decoded, so their trip
     * from memory overlaps the entropy decoding instead of stalling the join (10% σ, 1 GiB
     * base in memory: +13% decode speed; a base already in cache costs a few hundred ns). */
    for (size_t i = 0; base != NULL && i < si->len; i += 64)
        __builtin_prefetch(base + i, 0, 2);
    if (si->method == WEFT_WEIGHT_DIFF_CTX || si->method == WEFT_WEIGHT_DIFF_SHIFT) {
        int rc = frame_decode_classes(c, si->method, el, &p, end, base + head, n, esize, index);
        if (rc != 0)
            return rc;
        if ((size_t)(end - p) != tail)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: payload length mismatch",
                                index);
        memcpy(el + n * esize, p, tail);
        return 0;
    }
    if (si->method == WEFT_WEIGHT_DIFF_ESC) {
        const uint8_t *a;
        int rc = frame_plane(c->memo, &a, c->planes, &p, end, n, index);
        if (rc != 0)
            return rc;
        size_t e = weft_tensor__count_escapes(a, n);
        for (size_t k = 0; k < esize; k++) {
            rc = frame_plane(c->memo, &planes[k], c->planes + n + k * e, &p, end, e, index);
            if (rc != 0)
                return rc;
        }
        if ((size_t)(end - p) != tail)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: payload length mismatch",
                                index);
        weft_tensor__esc_words(c->words, planes, e, esize);
        weft_tensor__diffesc_join(el, a, c->words, base + head, n, esize);
        memcpy(el + n * esize, p, tail);
        return 0;
    }
    for (size_t k = 0; k < esize; k++) {
        int rc = frame_plane(c->memo, &planes[k], c->planes + k * n, &p, end, n, index);
        if (rc != 0)
            return rc;
    }
    if ((size_t)(end - p) != tail)
        return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: payload length mismatch",
                            index);
    if (si->method == WEFT_WEIGHT_FLOAT)
        weft_tensor__float_join(el, planes, n, esize);
    else if (si->method == WEFT_WEIGHT_DIFF)
        weft_tensor__diff_join(el, planes, base + head, n, esize);
    else
        weft_tensor__xor_join(el, planes, base + head, n, esize);
    memcpy(el + n * esize, p, tail);
    return 0;
}

typedef struct frame_decode_ctx {
    weft_weight_codec *c;
    uint8_t *out;
    const uint8_t *const *bases;
    size_t n_bases;
} frame_decode_ctx;

static int frame_decode_visit(void *ctx, size_t i, const weft_weight_span_info *si,
                              const uint8_t *payload)
{
    frame_decode_ctx *dc = ctx;
    uint8_t *o = dc->out + si->offset;
    const uint8_t *base = NULL;
    if (si->needs_base) {
        base = dc->bases != NULL && i < dc->n_bases ? dc->bases[i] : NULL;
        if (base == NULL)
            return weft_err_set(WEFT_EINVALID, "weight frame: span %zu needs its base bytes", i);
    }
    if (si->method == WEFT_WEIGHT_STORED) {
        memcpy(o, payload, si->len);
        return 0;
    }
    if (si->method == WEFT_WEIGHT_ENTROPY) {
        size_t used = 0;
        int rc = weft_entropy_decode_memo(dc->c->memo, o, si->len, payload, si->coded_len, &used);
        if (rc != 0)
            return weft_err_wrap(rc, "weight frame: span %zu", i);
        if (used != si->coded_len)
            return weft_err_set(WEFT_ECORRUPT, "weight frame: span %zu: payload length mismatch",
                                i);
        return 0;
    }
    return frame_decode_planes(dc->c, o, si, payload, base, i);
}

int weft_weight_frame_decode(weft_weight_codec *c, uint8_t *out, size_t cap, size_t *out_len,
                             const uint8_t *frame, size_t frame_len, const uint8_t *const *bases,
                             size_t n_bases)
{
    frame_cursor fc;
    int rc = frame_open(&fc, frame, frame_len);
    if (rc != 0)
        return rc;
    if (fc.raw_len > cap)
        return weft_err_set(WEFT_ELIMIT, "weight frame: %zu decoded bytes, room for %zu",
                            fc.raw_len, cap);
    rc = codec_reserve(c, fc.raw_len);
    if (rc != 0)
        return rc;
    frame_decode_ctx dc = {c, out, bases, n_bases};
    rc = frame_walk(&fc, frame_decode_visit, &dc);
    if (rc != 0)
        return rc;
    *out_len = fc.raw_len;
    return 0;
}
