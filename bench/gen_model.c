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
 * usage: bench_gen_model -o FILE [--size BYTES] [--dim D] [--seed N] */
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
} gen_tensor;

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

static int gen_write_tensor(FILE *out, const gen_tensor *t, uint64_t *seed)
{
    uint64_t n = t->rows * (t->cols ? t->cols : 1);
    double sigma = t->is_norm ? 0.02 : 0.02 * exp(gen_uniform(seed) - 0.5);
    double mean = t->is_norm ? 1.0 : 0.0;
    uint16_t block[8192];
    for (uint64_t i = 0; i < n;) {
        size_t m = 0;
        while (m < 8192 && i < n) {
            /* Box-Muller: two normals per pair of uniforms. */
            double r = sqrt(-2.0 * log(gen_uniform(seed))), a = 6.283185307179586 * gen_uniform(seed);
            block[m++] = gen_bf16((float)(mean + sigma * r * cos(a)));
            i++;
            if (m < 8192 && i < n) {
                block[m++] = gen_bf16((float)(mean + sigma * r * sin(a)));
                i++;
            }
        }
        if (fwrite(block, 2, m, out) != m)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    uint64_t size = 64ull << 20, dim = 1024, seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc)
            dim = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_gen_model -o FILE [--size BYTES] [--dim D] [--seed N]\n");
            return 2;
        }
    }
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
        bytes += 2 * (r) * ((c) ? (c) : 1);                                                        \
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
                                 "bench_gen_model seed %llu\"}",
                             (unsigned long long)seed);
    for (size_t i = 0; i < n_t && rc == 0; i++) {
        uint64_t len = 2 * ts[i].rows * (ts[i].cols ? ts[i].cols : 1);
        if (ts[i].cols)
            rc = weft_buf_printf(&h, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%llu,%llu],", ts[i].name,
                                 (unsigned long long)ts[i].rows, (unsigned long long)ts[i].cols);
        else
            rc = weft_buf_printf(&h, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%llu],", ts[i].name,
                                 (unsigned long long)ts[i].rows);
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
        bad = gen_write_tensor(out, &ts[i], &s) != 0;
    bad |= fclose(out) != 0;
    weft_buf_dispose(&h);
    free(ts);
    if (bad) {
        fprintf(stderr, "bench_gen_model: write to %s failed\n", path);
        return 1;
    }
    fprintf(stderr, "bench_gen_model: %s: %zu tensors, %llu bytes of BF16 weights\n", path, n_t,
            (unsigned long long)off);
    return 0;
}
