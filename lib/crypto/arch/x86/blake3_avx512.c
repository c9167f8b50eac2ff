/* BLAKE3 kernel: up to 32 chunks or parents at once in AVX-512 registers (blake3_internal.h).
 *
 * Lane i of a register belongs to input i: state word j of 16 inputs sits in one register, so
 * each step of the compression function (lib/crypto/blake3.c, the reference) is one
 * instruction for 16 inputs, and the rotations are single vprord instructions. Each 64-byte
 * block of the 16 inputs is loaded as 16 registers and transposed so register j holds message
 * word j of every lane.
 *
 * One compression is a chain of dependent instructions (each takes 2 cycles on Zen 5), so a
 * single group of 16 lanes leaves most of the vector units idle. With more than 16 inputs the
 * kernel runs two groups of 16 lanes side by side, their instructions interleaved, which
 * nearly doubles throughput. Inputs shorter than the others (the last, partial chunk of a
 * buffer) and unused lanes are masked: a lane stops updating its chaining value after its last
 * block. Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512dq; only called when the CPU
 * has them. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "crypto/blake3_internal.h"

#define AVX512_GROUP 16 /* lanes in one register */
#define AVX512_GROUPS 2 /* groups in flight */
#define AVX512_LANES (AVX512_GROUP * AVX512_GROUPS)

/* Inputs streaming from memory: at each block step, every lane prefetches the chunk the same
 * lane will hash in the next call, AVX512_PREFETCH_AHEAD bytes further on (1 GiB buffer on
 * Zen 5: 8.5 GB/s against 5.5 without; nearer distances measured worse). */
#define AVX512_PREFETCH_AHEAD 512

/* Always inlined, with constant group counts, so every index is a constant and the state
 * stays in registers. */
#define AVX512_INLINE static inline __attribute__((always_inline))

/* The quarter-round G on words a, b, c, d of each of ng groups; message words x and y. The
 * message is added before the state word so the chain through b is one instruction shorter. */
AVX512_INLINE void avx512_g(int ng, __m512i v[][16], __m512i m[][16], int a, int b, int c, int d,
                            int x, int y)
{
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][a] = _mm512_add_epi32(_mm512_add_epi32(v[g][a], m[g][x]), v[g][b]);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][d] = _mm512_ror_epi32(_mm512_xor_si512(v[g][d], v[g][a]), 16);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][c] = _mm512_add_epi32(v[g][c], v[g][d]);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][b] = _mm512_ror_epi32(_mm512_xor_si512(v[g][b], v[g][c]), 12);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][a] = _mm512_add_epi32(_mm512_add_epi32(v[g][a], m[g][y]), v[g][b]);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][d] = _mm512_ror_epi32(_mm512_xor_si512(v[g][d], v[g][a]), 8);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][c] = _mm512_add_epi32(v[g][c], v[g][d]);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        v[g][b] = _mm512_ror_epi32(_mm512_xor_si512(v[g][b], v[g][c]), 7);
}

AVX512_INLINE void avx512_round(int ng, __m512i v[][16], __m512i m[][16], int r)
{
    const uint8_t *s = blake3_msg_schedule[r];
    avx512_g(ng, v, m, 0, 4, 8, 12, s[0], s[1]);
    avx512_g(ng, v, m, 1, 5, 9, 13, s[2], s[3]);
    avx512_g(ng, v, m, 2, 6, 10, 14, s[4], s[5]);
    avx512_g(ng, v, m, 3, 7, 11, 15, s[6], s[7]);
    avx512_g(ng, v, m, 0, 5, 10, 15, s[8], s[9]);
    avx512_g(ng, v, m, 1, 6, 11, 12, s[10], s[11]);
    avx512_g(ng, v, m, 2, 7, 8, 13, s[12], s[13]);
    avx512_g(ng, v, m, 3, 4, 9, 14, s[14], s[15]);
}

/* Per-group inputs of one compression besides the chaining value and the message. */
typedef struct avx512_words {
    __m512i ctr_lo, ctr_hi, block_len, flags;
} avx512_words;

/* One compression in every lane of ng groups: out[g] (8 CV words) from h[g] and m[g]. out may
 * be h. */
AVX512_INLINE void avx512_compress(int ng, __m512i out[][8], __m512i h[][8], __m512i m[][16],
                                   const avx512_words w[])
{
    __m512i v[AVX512_GROUPS][16];
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            v[g][i] = h[g][i];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            v[g][8 + i] = _mm512_set1_epi32((int)weft_blake3__iv[i]);
        v[g][12] = w[g].ctr_lo;
        v[g][13] = w[g].ctr_hi;
        v[g][14] = w[g].block_len;
        v[g][15] = w[g].flags;
    }
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++)
        avx512_round(ng, v, m, r);
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            out[g][i] = _mm512_xor_si512(v[g][i], v[g][i + 8]);
    }
}

/* 16x16 transpose of 32-bit words: row i (lane i's block) in, register j (word j of every
 * lane, lane i in element i) out. Pairs of rows interleave words, then pairs of pairs
 * interleave 64-bit halves, leaving 128-bit quarter q of group g (rows 4g..4g+3) holding word
 * 4q + k; two rounds of 128-bit shuffles then gather the four groups' quarters. */
AVX512_INLINE void avx512_transpose(__m512i m[16], const __m512i r[16])
{
    __m512i u[4][4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
        __m512i t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
        __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
        __m512i t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
        u[g][0] = _mm512_unpacklo_epi64(t0, t2);
        u[g][1] = _mm512_unpackhi_epi64(t0, t2);
        u[g][2] = _mm512_unpacklo_epi64(t1, t3);
        u[g][3] = _mm512_unpackhi_epi64(t1, t3);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m512i s0 = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0x44);
        __m512i s1 = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0xee);
        __m512i s2 = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0x44);
        __m512i s3 = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0xee);
        m[k] = _mm512_shuffle_i32x4(s0, s2, 0x88);
        m[4 + k] = _mm512_shuffle_i32x4(s0, s2, 0xdd);
        m[8 + k] = _mm512_shuffle_i32x4(s1, s3, 0x88);
        m[12 + k] = _mm512_shuffle_i32x4(s1, s3, 0xdd);
    }
}

/* Message words of 16 blocks spaced `stride` bytes apart from p. */
AVX512_INLINE void avx512_load_strided(__m512i m[16], const uint8_t *p, size_t stride)
{
    __m512i r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_si512((const void *)(p + stride * (size_t)i));
    avx512_transpose(m, r);
}

/* Message words of the 16 blocks at p[0..15]. */
AVX512_INLINE void avx512_load_lanes(__m512i m[16], const uint8_t *const p[16])
{
    __m512i r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_si512((const void *)p[i]);
    avx512_transpose(m, r);
}

/* Writes the CVs of lanes 0..n-1 of one group (32 bytes each) to out. */
static void avx512_store_cvs(uint8_t *out, const __m512i h[8], size_t n)
{
    uint32_t w[8][AVX512_GROUP];
    for (int j = 0; j < 8; j++)
        _mm512_storeu_si512((void *)w[j], h[j]);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 8; j++)
            weft_blake3__store32(out + 32 * i + 4 * (size_t)j, w[j][i]);
    }
}

AVX512_INLINE void avx512_key(__m512i h[8], const uint32_t key[8])
{
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        h[j] = _mm512_set1_epi32((int)key[j]);
}

/* Chunk counters counter + i in every lane i, split in low and high words. */
AVX512_INLINE void avx512_counters(avx512_words *w, uint64_t counter)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i base_lo = _mm512_set1_epi32((int)(uint32_t)counter);
    __m512i base_hi = _mm512_set1_epi32((int)(uint32_t)(counter >> 32));
    w->ctr_lo = _mm512_add_epi32(base_lo, lane);
    __mmask16 carry = _mm512_cmplt_epu32_mask(w->ctr_lo, base_lo);
    w->ctr_hi = _mm512_mask_add_epi32(base_hi, carry, base_hi, _mm512_set1_epi32(1));
}

/* The hot path: ng * 16 whole chunks, the same flags in every lane. */
AVX512_INLINE void avx512_chunks_whole(int ng, uint8_t *out, const uint8_t *in,
                                       const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    const size_t n_blocks = WEFT_BLAKE3_CHUNK_LEN / WEFT_BLAKE3_BLOCK_LEN;
    const size_t group_bytes = AVX512_GROUP * WEFT_BLAKE3_CHUNK_LEN;
    __m512i h[AVX512_GROUPS][8], m[AVX512_GROUPS][16];
    avx512_words w[AVX512_GROUPS];
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++) {
        avx512_key(h[g], key);
        avx512_counters(&w[g], counter + AVX512_GROUP * (uint64_t)g);
        w[g].block_len = _mm512_set1_epi32(WEFT_BLAKE3_BLOCK_LEN);
    }
    for (size_t b = 0; b < n_blocks; b++) {
        unsigned f = flags;
        if (b == 0)
            f |= WEFT_BLAKE3__CHUNK_START;
        if (b + 1 == n_blocks)
            f |= WEFT_BLAKE3__CHUNK_END;
#pragma GCC unroll 2
        for (int g = 0; g < ng; g++) {
            const uint8_t *p = in + group_bytes * (size_t)g + WEFT_BLAKE3_BLOCK_LEN * b;
            avx512_load_strided(m[g], p, WEFT_BLAKE3_CHUNK_LEN);
            w[g].flags = _mm512_set1_epi32((int)f);
            /* This may point past the input: a prefetch never faults, and the address is
             * formed as an integer, not by pointer arithmetic. */
#pragma GCC unroll 16
            for (size_t i = 0; i < AVX512_GROUP; i++)
                _mm_prefetch((const char *)((uintptr_t)p + WEFT_BLAKE3_CHUNK_LEN * i +
                                            (size_t)ng * group_bytes + AVX512_PREFETCH_AHEAD),
                             _MM_HINT_T0);
        }
        avx512_compress(ng, h, h, m, w);
    }
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++)
        avx512_store_cvs(out + 32 * AVX512_GROUP * (size_t)g, h[g], AVX512_GROUP);
}

/* Fewer lanes, or a partial last chunk: lanes past n_chunks read zeros and never update; the
 * partial chunk's last block is read from a zero-padded copy with its own length. */
AVX512_INLINE void avx512_chunks_masked(int ng, uint8_t *out, const uint8_t *in, size_t n_chunks,
                                        size_t last_len, const uint32_t key[8], uint64_t counter,
                                        uint8_t flags)
{
    static const uint8_t zeros[WEFT_BLAKE3_BLOCK_LEN];
    const size_t n_blocks = WEFT_BLAKE3_CHUNK_LEN / WEFT_BLAKE3_BLOCK_LEN;
    __m512i h[AVX512_GROUPS][8], m[AVX512_GROUPS][16], next[AVX512_GROUPS][8];
    avx512_words w[AVX512_GROUPS];
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++) {
        avx512_key(h[g], key);
        avx512_counters(&w[g], counter + AVX512_GROUP * (uint64_t)g);
    }
    uint8_t pad[WEFT_BLAKE3_BLOCK_LEN] = {0};
    size_t last = n_chunks - 1;
    size_t last_blocks = (last_len + WEFT_BLAKE3_BLOCK_LEN - 1) / WEFT_BLAKE3_BLOCK_LEN;
    size_t last_tail = last_len - (last_blocks - 1) * WEFT_BLAKE3_BLOCK_LEN;
    memcpy(pad, in + WEFT_BLAKE3_CHUNK_LEN * last + (last_blocks - 1) * WEFT_BLAKE3_BLOCK_LEN,
           last_tail);
    size_t steps = last > 0 ? n_blocks : last_blocks;
    for (size_t b = 0; b < steps; b++) {
        __mmask16 active[AVX512_GROUPS];
#pragma GCC unroll 2
        for (int g = 0; g < ng; g++) {
            const uint8_t *p[AVX512_GROUP];
            uint32_t lane_flags[AVX512_GROUP], lane_len[AVX512_GROUP];
            active[g] = 0;
            for (size_t l = 0; l < AVX512_GROUP; l++) {
                size_t i = AVX512_GROUP * (size_t)g + l;
                size_t blocks = i < last ? n_blocks : i == last ? last_blocks : 0;
                p[l] = zeros;
                lane_len[l] = WEFT_BLAKE3_BLOCK_LEN;
                lane_flags[l] = flags;
                if (b >= blocks)
                    continue;
                active[g] |= (__mmask16)(1u << l);
                p[l] = in + WEFT_BLAKE3_CHUNK_LEN * i + WEFT_BLAKE3_BLOCK_LEN * b;
                if (b == 0)
                    lane_flags[l] |= WEFT_BLAKE3__CHUNK_START;
                if (b + 1 == blocks) {
                    lane_flags[l] |= WEFT_BLAKE3__CHUNK_END;
                    if (i == last) {
                        p[l] = pad;
                        lane_len[l] = (uint32_t)last_tail;
                    }
                }
            }
            avx512_load_lanes(m[g], p);
            w[g].block_len = _mm512_loadu_si512((const void *)lane_len);
            w[g].flags = _mm512_loadu_si512((const void *)lane_flags);
        }
        avx512_compress(ng, next, h, m, w);
#pragma GCC unroll 2
        for (int g = 0; g < ng; g++) {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                h[g][j] = _mm512_mask_mov_epi32(h[g][j], active[g], next[g][j]);
        }
    }
    for (int g = 0; g < ng; g++) {
        size_t first = AVX512_GROUP * (size_t)g;
        size_t n = n_chunks - first < AVX512_GROUP ? n_chunks - first : AVX512_GROUP;
        avx512_store_cvs(out + 32 * first, h[g], n);
    }
}

static void avx512_chunks(uint8_t *out, const uint8_t *in, size_t n_chunks, size_t last_len,
                          const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    int whole = last_len == WEFT_BLAKE3_CHUNK_LEN;
    if (whole && n_chunks == 2 * AVX512_GROUP)
        avx512_chunks_whole(2, out, in, key, counter, flags);
    else if (whole && n_chunks == AVX512_GROUP)
        avx512_chunks_whole(1, out, in, key, counter, flags);
    else if (n_chunks > AVX512_GROUP)
        avx512_chunks_masked(2, out, in, n_chunks, last_len, key, counter, flags);
    else
        avx512_chunks_masked(1, out, in, n_chunks, last_len, key, counter, flags);
}

/* ng groups of parents; lanes past n_parents hash the first block again, unstored. */
AVX512_INLINE void avx512_parents_groups(int ng, uint8_t *out, const uint8_t *in, size_t n_parents,
                                         const uint32_t key[8], uint8_t flags)
{
    __m512i h[AVX512_GROUPS][8], m[AVX512_GROUPS][16];
    avx512_words w[AVX512_GROUPS];
#pragma GCC unroll 2
    for (int g = 0; g < ng; g++) {
        const uint8_t *p[AVX512_GROUP];
        for (size_t l = 0; l < AVX512_GROUP; l++) {
            size_t i = AVX512_GROUP * (size_t)g + l;
            p[l] = in + WEFT_BLAKE3_BLOCK_LEN * (i < n_parents ? i : 0);
        }
        avx512_load_lanes(m[g], p);
        avx512_key(h[g], key);
        w[g].ctr_lo = _mm512_setzero_si512();
        w[g].ctr_hi = _mm512_setzero_si512();
        w[g].block_len = _mm512_set1_epi32(WEFT_BLAKE3_BLOCK_LEN);
        w[g].flags = _mm512_set1_epi32((int)(flags | WEFT_BLAKE3__PARENT));
    }
    avx512_compress(ng, h, h, m, w);
    /* All blocks were read above, so out may be in. */
    for (int g = 0; g < ng; g++) {
        size_t first = AVX512_GROUP * (size_t)g;
        size_t n = n_parents - first < AVX512_GROUP ? n_parents - first : AVX512_GROUP;
        avx512_store_cvs(out + 32 * first, h[g], n);
    }
}

static void avx512_parents(uint8_t *out, const uint8_t *in, size_t n_parents, const uint32_t key[8],
                           uint8_t flags)
{
    if (n_parents > AVX512_GROUP)
        avx512_parents_groups(2, out, in, n_parents, key, flags);
    else
        avx512_parents_groups(1, out, in, n_parents, key, flags);
}

const weft_blake3__kernel weft_blake3__kernel_avx512 = {
    .name = "avx512",
    .width = AVX512_LANES,
    .hash_chunks = avx512_chunks,
    .hash_parents = avx512_parents,
};

#else
typedef int blake3_avx512_not_built; /* ISO C forbids an empty translation unit */
#endif
