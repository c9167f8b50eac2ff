/* bench_gen_model: writes a synthetic, deterministic model-like safetensors file.
 *
 * Distribution (documented in bench/README.md, used by benchmarks and tests):
 *  - a Llama-shaped layout: embeddings [vocab, d], per layer q/k/v/o [d, d], gate/up [f, d],
 *    down [d, f] with f = 8d/3 rounded to 64, two RMS norms [d], a final norm and lm_head;
 *    layers are added until the file reaches the requested size;
 *  - every matrix is Gaussian N(0, s^2) with s = 0.02 * exp(u), u ~ U(-0.5, 0.5) drawn per
 *    tensor, computed in float32 and rounded to BF16 (round to nearest, ties to even);
 *  - norm vectors are 1 + N(0, 0.02^2);
 *  - all randomness from splitmix64 seeded by --seed, so the same arguments give the same bytes.
 * Fine-tune families (specs/xet-storage.md §7; bench/README.md): --finetune P writes the same
 * base moved by Gaussian noise of sigma P% of each tensor's sigma (norms: of 0.02), rounded to
 * the dtype again, with the embeddings and every norm vector left exactly unchanged;
 * --checkpoint moves that fine-tune a further 0.5% (a later training checkpoint). The noise has
 * its own generators (seeded from --seed and P), so the base values are the same as without
 * the options. --dtype f16|f32 writes FP16 or FP32 instead of BF16.
 * usage: bench_gen_model -o FILE [--size BYTES] [--dim D] [--seed N] [--finetune P]
 *        [--checkpoint] [--dtype bf16|f16|f32] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"

typedef struct gen_tensor {
    char name[96];
    uint64_t rows, cols; /* cols == 0 for vectors */
    int is_norm;
    int frozen; /* left unchanged by --finetune */
} gen_tensor;

/* Options that change values; all zero for the plain base. */
typedef struct gen_opts {
    double finetune;   /* noise sigma as a fraction of the tensor's sigma; 0: the base */
    int checkpoint;    /* a further 0.5% */
    int esize;         /* 2 (bf16, f16) or 4 (f32) */
    int f16;           /* FP16 instead of BF16 when esize is 2 */
    uint64_t noise[2]; /* generator states of the two noise draws */
} gen_opts;

static uint64_t gen_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double gen_uniform(uint64_t *s)
{
    return ((double)(gen_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static uint16_t gen_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rounding = 0x7fff + ((u >> 16) & 1);
    return (uint16_t)((u + rounding) >> 16);
}

/* IEEE half from float, round to nearest even (subnormals, overflow to infinity). */
static uint16_t gen_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00);
    if (x >= 0x477ff000u) /* 65520 and up round to infinity */
        return (uint16_t)(sign | 0x7c00);
    if (x < 0x38800000u) /* below 2^-14: subnormal, m / 2^24 */
        return (uint16_t)(sign | (uint16_t)rint((double)f * (sign ? -16777216.0 : 16777216.0)));
    uint32_t h = ((x >> 23) - 112) << 10 | (x & 0x7fffff) >> 13, rem = x & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static float gen_bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float gen_f16_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(m + 1024, e - 25);
    if (e == 31)
        v = m ? NAN : INFINITY;
    return (float)((h & 0x8000) ? -v : v);
}

/* A standard normal from one Box-Muller draw (the noise streams use one value per draw). */
static double gen_normal(uint64_t *s)
{
    double r = sqrt(-2.0 * log(gen_uniform(s)));
    return r * cos(6.283185307179586 * gen_uniform(s));
}

/* Rounds v to the output dtype and stores it at p; returns the rounded value. */
static float gen_store(uint8_t *p, double v, const gen_opts *o)
{
    if (o->esize == 4) {
        float f = (float)v;
        memcpy(p, &f, 4);
        return f;
    }
    uint16_t h = o->f16 ? gen_f16((float)v) : gen_bf16((float)v);
    memcpy(p, &h, 2);
    return o->f16 ? gen_f16_float(h) : gen_bf16_float(h);
}

/* One element: the base value, then the fine-tune's and checkpoint's moves, each rounded. */
static void gen_value(uint8_t *p, double base, double sigma, int frozen, gen_opts *o)
{
    float v = gen_store(p, base, o);
    if (o->finetune > 0 && !frozen) {
        v = gen_store(p, (double)v + o->finetune * sigma * gen_normal(&o->noise[0]), o);
        if (o->checkpoint)
            gen_store(p, (double)v + 0.005 * sigma * gen_normal(&o->noise[1]), o);
    }
}

static int gen_write_tensor(FILE *out, const gen_tensor *t, uint64_t *seed, gen_opts *o)
{
    uint64_t n = t->rows * (t->cols ? t->cols : 1);
    double sigma = t->is_norm ? 0.02 : 0.02 * exp(gen_uniform(seed) - 0.5);
    double mean = t->is_norm ? 1.0 : 0.0;
    uint8_t block[8192 * 4];
    size_t es = (size_t)o->esize;
    for (uint64_t i = 0; i < n;) {
        size_t m = 0;
        while (m < 8192 && i < n) {
            /* Box-Muller: two normals per pair of uniforms. */
            double r = sqrt(-2.0 * log(gen_uniform(seed))), a = 6.283185307179586 * gen_uniform(seed);
            gen_value(block + es * m++, mean + sigma * r * cos(a), sigma, t->frozen, o);
            i++;
            if (m < 8192 && i < n) {
                gen_value(block + es * m++, mean + sigma * r * sin(a), sigma, t->frozen, o);
                i++;
            }
        }
        if (fwrite(block, es, m, out) != m)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    uint64_t size = 64ull << 20, dim = 1024, seed = 1;
    gen_opts o = {.esize = 2};
    const char *dtype = "BF16";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc)
            dim = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--finetune") == 0 && i + 1 < argc)
            o.finetune = strtod(argv[++i], NULL) / 100.0;
        else if (strcmp(argv[i], "--checkpoint") == 0)
            o.checkpoint = 1;
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc && strcmp(argv[i + 1], "bf16") == 0)
            i++;
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc && strcmp(argv[i + 1], "f16") == 0)
            o.f16 = 1, dtype = "F16", i++;
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc && strcmp(argv[i + 1], "f32") == 0)
            o.esize = 4, dtype = "F32", i++;
        else {
            fprintf(stderr, "usage: bench_gen_model -o FILE [--size BYTES] [--dim D] [--seed N] "
                            "[--finetune PERCENT] [--checkpoint] [--dtype bf16|f16|f32]\n");
            return 2;
        }
    }
    if (o.finetune < 0 || o.finetune > 10 || (o.checkpoint && o.finetune == 0)) {
        fprintf(stderr, "bench_gen_model: --finetune takes 0 < PERCENT <= 1000; --checkpoint "
                        "needs --finetune\n");
        return 2;
    }
    /* The noise streams: their own seeds, so the base draws are untouched. */
    uint64_t pct = (uint64_t)(o.finetune * 1e6 + 0.5);
    o.noise[0] = gen_next(&(uint64_t){seed ^ 0x66696e6574756e65ull}) ^ pct;
    o.noise[1] = gen_next(&(uint64_t){seed ^ 0x636865636b707431ull}) ^ pct;
    if (path == NULL || dim < 64 || dim > 65536) {
        fprintf(stderr, "bench_gen_model: need -o FILE and 64 <= --dim <= 65536\n");
        return 2;
    }
    uint64_t ffn = (dim * 8 / 3 + 63) / 64 * 64, vocab = 32000;
    size_t max_t = 4096, n_t = 0;
    gen_tensor *ts = calloc(max_t, sizeof *ts);
    if (ts == NULL)
        return 1;
    uint64_t bytes = 0;
#define ADD(r, c, norm, ...)                                                                       \
    do {                                                                                           \
        snprintf(ts[n_t].name, sizeof ts[n_t].name, __VA_ARGS__);                                  \
        ts[n_t].rows = (r);                                                                        \
        ts[n_t].cols = (c);                                                                        \
        ts[n_t].is_norm = (norm);                                                                  \
        ts[n_t].frozen = (norm) || strcmp(ts[n_t].name, "model.embed_tokens.weight") == 0;        \
        bytes += (uint64_t)o.esize * (r) * ((c) ? (c) : 1);                                        \
        n_t++;                                                                                     \
    } while (0)
    /* Small requests get a small vocabulary so at least one layer fits. */
    if (size < 4 * vocab * dim)
        vocab = 512;
    ADD(vocab, dim, 0, "model.embed_tokens.weight");
    for (int layer = 0; bytes < size && n_t + 16 < max_t; layer++) {
        ADD(dim, 0, 1, "model.layers.%d.input_layernorm.weight", layer);
        ADD(dim, dim, 0, "model.layers.%d.self_attn.q_proj.weight", layer);
        ADD(dim, dim, 0, "model.layers.%d.self_attn.k_proj.weight", layer);
        ADD(dim, dim, 0, "model.layers.%d.self_attn.v_proj.weight", layer);
        ADD(dim, dim, 0, "model.layers.%d.self_attn.o_proj.weight", layer);
        ADD(dim, 0, 1, "model.layers.%d.post_attention_layernorm.weight", layer);
        ADD(ffn, dim, 0, "model.layers.%d.mlp.gate_proj.weight", layer);
        ADD(ffn, dim, 0, "model.layers.%d.mlp.up_proj.weight", layer);
        ADD(dim, ffn, 0, "model.layers.%d.mlp.down_proj.weight", layer);
    }
    ADD(dim, 0, 1, "model.norm.weight");
    ADD(vocab, dim, 0, "lm_head.weight");
#undef ADD

    /* Header: tensors in file order, data offsets contiguous; padded with spaces to 8 bytes. */
    weft_buf h;
    weft_buf_init(&h, 1u << 24);
    uint64_t off = 0;
    int rc = weft_buf_printf(&h, "{\"__metadata__\":{\"format\":\"pt\",\"generator\":\"weft "
                                 "bench_gen_model seed %llu",
                             (unsigned long long)seed);
    if (rc == 0 && o.finetune > 0)
        rc = weft_buf_printf(&h, " finetune %g%%%s", o.finetune * 100,
                             o.checkpoint ? " checkpoint" : "");
    if (rc == 0 && strcmp(dtype, "BF16") != 0)
        rc = weft_buf_printf(&h, " %s", dtype);
    if (rc == 0)
        rc = weft_buf_printf(&h, "\"}");
    for (size_t i = 0; i < n_t && rc == 0; i++) {
        uint64_t len = (uint64_t)o.esize * ts[i].rows * (ts[i].cols ? ts[i].cols : 1);
        if (ts[i].cols)
            rc = weft_buf_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu,%llu],", ts[i].name,
                                 dtype, (unsigned long long)ts[i].rows,
                                 (unsigned long long)ts[i].cols);
        else
            rc = weft_buf_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu],", ts[i].name,
                                 dtype, (unsigned long long)ts[i].rows);
        if (rc == 0)
            rc = weft_buf_printf(&h, "\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                                 (unsigned long long)(off + len));
        off += len;
    }
    if (rc == 0)
        rc = weft_buf_printf(&h, "}");
    while (rc == 0 && h.len % 8 != 0)
        rc = weft_buf_printf(&h, " ");
    FILE *out = rc == 0 ? fopen(path, "wb") : NULL;
    if (out == NULL) {
        fprintf(stderr, "bench_gen_model: cannot write %s\n", path);
        return 1;
    }
    uint8_t len8[8];
    weft_store_u64le(len8, h.len);
    int bad = fwrite(len8, 1, 8, out) != 8 || fwrite(h.data, 1, h.len, out) != h.len;
    uint64_t s = seed;
    for (size_t i = 0; i < n_t && !bad; i++)
        bad = gen_write_tensor(out, &ts[i], &s, &o) != 0;
    bad |= fclose(out) != 0;
    weft_buf_dispose(&h);
    free(ts);
    if (bad) {
        fprintf(stderr, "bench_gen_model: write to %s failed\n", path);
        return 1;
    }
    fprintf(stderr, "bench_gen_model: %s: %zu tensors, %llu bytes of %s weights\n", path, n_t,
            (unsigned long long)off, dtype);
    return 0;
}
