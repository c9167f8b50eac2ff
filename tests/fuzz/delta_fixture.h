/* Test fixture for delta files (header-only): a small deterministic safetensors base with BF16,
 * F16, F32 and I32 tensors, and fine-tunes of it: every float tensor moved by noise of a given
 * share of its scale, one tensor left unchanged, written in the reference writer's order or
 * reversed with metadata (another header size and tensor order). Used by
 * tests/unit/tensor/delta_file.c and tests/fuzz/fuzz_delta_file.c (whose corpus the unit test
 * writes when WEFT_WRITE_DELTA_CORPUS names a folder). */
#ifndef WEFT_TESTS_DELTA_FIXTURE_H
#define WEFT_TESTS_DELTA_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "weft/buf.h"
#include "weft/safetensors.h"

typedef struct dfx_tensor {
    const char *name;
    weft_dtype dtype;
    uint32_t rank;
    uint64_t shape[2];
    int frozen; /* never moved by a fine-tune */
} dfx_tensor;

static const dfx_tensor DFX_SMALL[] = {
    {"model.embed.weight", WEFT_DTYPE_BF16, 2, {64, 24}, 1},
    {"model.layers.0.q.weight", WEFT_DTYPE_BF16, 2, {24, 24}, 0},
    {"model.layers.0.norm.weight", WEFT_DTYPE_F32, 1, {24, 0}, 0},
    {"model.layers.0.up.weight", WEFT_DTYPE_F16, 2, {40, 24}, 0},
    {"model.positions", WEFT_DTYPE_I32, 1, {17, 0}, 0},
    {"lm_head.weight", WEFT_DTYPE_BF16, 2, {33, 24}, 0},
};

/* A tensor over one frame and one quantized block, for multi-piece files. */
static const dfx_tensor DFX_BIG[] = {
    {"model.big.weight", WEFT_DTYPE_BF16, 2, {1100, 640}, 0},
    {"model.norm.weight", WEFT_DTYPE_F32, 1, {640, 0}, 0},
};

static inline uint64_t dfx_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Roughly N(0, 1): a sum of four uniforms, rescaled. */
static inline double dfx_normal(uint64_t *s)
{
    double u = 0;
    for (int i = 0; i < 4; i++)
        u += (double)(dfx_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (u - 2.0) * 1.7320508;
}

static inline void dfx_put(uint8_t *p, weft_dtype dt, double v, uint64_t i)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    if (dt == WEFT_DTYPE_F32) {
        weft_store_u32le(p, u);
    } else if (dt == WEFT_DTYPE_BF16) {
        uint16_t h = (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
        p[0] = (uint8_t)h;
        p[1] = (uint8_t)(h >> 8);
    } else if (dt == WEFT_DTYPE_F16) { /* small normal values only: |v| in [2^-14, 2) */
        uint32_t a = u & 0x7fffffffu;
        uint16_t h = a < 0x38800000u ? 0 : (uint16_t)((a - 0x38000000u + 0xfffu) >> 13);
        h |= (uint16_t)(u >> 16 & 0x8000);
        p[0] = (uint8_t)h;
        p[1] = (uint8_t)(h >> 8);
    } else { /* I32 */
        weft_store_u32le(p, (uint32_t)(i * 7 + 3));
    }
}

/* Appends a safetensors file of `ts` to out: the base when move == 0, else a fine-tune whose
 * float values moved by move × the tensor's scale (frozen tensors unchanged). reorder: tensors
 * in reverse order with __metadata__ (another header size and order). 0 or a WEFT_E* code. */
static inline int dfx_build(weft_buf *out, const dfx_tensor *ts, size_t n, double move,
                            int reorder, uint64_t seed)
{
    weft_st_header *h = NULL;
    int rc = weft_st_header_new(&h);
    if (rc == 0 && reorder)
        rc = weft_st_add_meta(h, "format", "pt");
    for (size_t k = 0; k < n && rc == 0; k++) {
        const dfx_tensor *t = &ts[reorder ? n - 1 - k : k];
        rc = weft_st_add_tensor(h, t->name, t->dtype, t->rank, t->shape);
    }
    if (rc == 0 && !reorder)
        rc = weft_st_layout(h);
    if (rc == 0 && reorder) { /* offsets in array order, as another writer would */
        uint64_t off = 0;
        for (size_t k = 0; k < h->n_tensors; k++) {
            uint64_t nb = h->tensors[k].numel * weft_dtype_bits(h->tensors[k].dtype) / 8;
            h->tensors[k].begin = off;
            h->tensors[k].end = off + nb;
            off += nb;
        }
        h->data_len = off;
    }
    if (rc == 0)
        rc = weft_st_serialize(out, h, 0);
    size_t start = out->len;
    if (rc == 0)
        rc = weft_buf_reserve(out, (size_t)h->data_len);
    if (rc == 0) {
        memset(out->data + start, 0, (size_t)h->data_len);
        out->len = start + (size_t)h->data_len;
    }
    for (size_t k = 0; k < h->n_tensors && rc == 0; k++) {
        const weft_st_tensor *t = &h->tensors[k];
        size_t ti = 0;
        while (ti < n && strcmp(ts[ti].name, t->name) != 0)
            ti++;
        /* Values depend on the tensor's name only, so the order does not change them. */
        uint64_t s = seed ^ (ti * 0x100000001b3ull), noise = s ^ 0x5bd1e995u;
        double scale = 0.02 * (1.0 + (double)ti / 4);
        size_t es = weft_dtype_bits(t->dtype) / 8;
        int is_norm = strstr(t->name, "norm") != NULL;
        for (uint64_t i = 0; i < t->numel; i++) {
            double v = (is_norm ? 1.0 : 0.0) + scale * dfx_normal(&s);
            if (move > 0 && !ts[ti].frozen)
                v += move * scale * dfx_normal(&noise);
            dfx_put(out->data + start + t->begin + i * es, t->dtype, v, i);
        }
    }
    weft_st_header_free(h);
    return rc;
}

#endif
