/* BLAKE3 kernel: 8 chunks or parents at once in AVX2 registers (blake3_internal.h).
 *
 * One register group of blake3_avx512.c at half the width: lane i of every register belongs
 * to input i, so each step of the compression function (lib/crypto/blake3.c) is one
 * instruction for 8 inputs. With 16 registers there is no room for a second group in flight.
 * AVX2 has no vector rotate: rotations by 16 and 8 are byte shuffles, by 12 and 7 two shifts
 * and an or. Each 64-byte block of the 8 inputs is loaded as two 8x8 word matrices and
 * transposed. Lanes past the inputs, and a partial last chunk, are handled as in the AVX-512
 * kernel, with a blend instead of a mask register. Compiled with -mavx2 -mbmi2; only called
 * when the CPU has them. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "crypto/blake3_internal.h"

#define AVX2_LANES 8

#define AVX2_INLINE static inline __attribute__((always_inline))

AVX2_INLINE __m256i avx2_rot16(__m256i x)
{
    const __m256i bytes = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2,
                                           3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return _mm256_shuffle_epi8(x, bytes);
}

AVX2_INLINE __m256i avx2_rot8(__m256i x)
{
    const __m256i bytes = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1,
                                           2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
    return _mm256_shuffle_epi8(x, bytes);
}

AVX2_INLINE __m256i avx2_rot12(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}

AVX2_INLINE __m256i avx2_rot7(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

AVX2_INLINE void avx2_g(__m256i v[16], int a, int b, int c, int d, __m256i mx, __m256i my)
{
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], mx), v[b]);
    v[d] = avx2_rot16(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = avx2_rot12(_mm256_xor_si256(v[b], v[c]));
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], my), v[b]);
    v[d] = avx2_rot8(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = avx2_rot7(_mm256_xor_si256(v[b], v[c]));
}

AVX2_INLINE void avx2_round(__m256i v[16], const __m256i m[16], int r)
{
    const uint8_t *s = blake3_msg_schedule[r];
    avx2_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    avx2_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    avx2_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    avx2_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    avx2_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    avx2_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    avx2_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    avx2_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

/* One compression in every lane: out (8 CV words) from h and the message m. */
AVX2_INLINE void avx2_compress(__m256i out[8], const __m256i h[8], const __m256i m[16],
                               __m256i ctr_lo, __m256i ctr_hi, __m256i block_len, __m256i flags)
{
    __m256i v[16] = {
        h[0],
        h[1],
        h[2],
        h[3],
        h[4],
        h[5],
        h[6],
        h[7],
        _mm256_set1_epi32((int)weft_blake3__iv[0]),
        _mm256_set1_epi32((int)weft_blake3__iv[1]),
        _mm256_set1_epi32((int)weft_blake3__iv[2]),
        _mm256_set1_epi32((int)weft_blake3__iv[3]),
        ctr_lo,
        ctr_hi,
        block_len,
        flags,
    };
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++)
        avx2_round(v, m, r);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        out[i] = _mm256_xor_si256(v[i], v[i + 8]);
}

/* 8x8 transpose of 32-bit words: r[i] (8 words of lane i) in, m[j] (word j of every lane)
 * out. Word pairs, then 64-bit pairs interleave within 128-bit halves, leaving half h of u[k]
 * (k < 4 for rows 0..3, k >= 4 for rows 4..7) holding word 4h + k % 4; a 128-bit permute
 * joins the two row groups. */
AVX2_INLINE void avx2_transpose8(__m256i m[8], const __m256i r[8])
{
    __m256i u[8];
#pragma GCC unroll 8
    for (int g = 0; g < 2; g++) {
        __m256i t0 = _mm256_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
        __m256i t1 = _mm256_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
        __m256i t2 = _mm256_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
        __m256i t3 = _mm256_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g] = _mm256_unpacklo_epi64(t0, t2);
        u[4 * g + 1] = _mm256_unpackhi_epi64(t0, t2);
        u[4 * g + 2] = _mm256_unpacklo_epi64(t1, t3);
        u[4 * g + 3] = _mm256_unpackhi_epi64(t1, t3);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 4; k++) {
        m[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        m[4 + k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
    }
}

/* Message words of the 8 blocks at p[0..7]. */
AVX2_INLINE void avx2_load_lanes(__m256i m[16], const uint8_t *const p[8])
{
    __m256i r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_si256((const __m256i *)p[i]);
    avx2_transpose8(m, r);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_si256((const __m256i *)(p[i] + 32));
    avx2_transpose8(m + 8, r);
}

static void avx2_store_cvs(uint8_t *out, const __m256i h[8], size_t n)
{
    uint32_t w[8][AVX2_LANES];
    for (int j = 0; j < 8; j++)
        _mm256_storeu_si256((__m256i *)w[j], h[j]);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 8; j++)
            weft_blake3__store32(out + 32 * i + 4 * (size_t)j, w[j][i]);
    }
}

static void avx2_key(__m256i h[8], const uint32_t key[8])
{
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        h[j] = _mm256_set1_epi32((int)key[j]);
}

/* Chunk counters counter + i in lane i; AVX2 compares signed, so the carry test flips the top
 * bit of both sides to compare unsigned. */
static void avx2_counters(__m256i *lo, __m256i *hi, uint64_t counter)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i top = _mm256_set1_epi32((int)0x80000000u);
    __m256i base_lo = _mm256_set1_epi32((int)(uint32_t)counter);
    *lo = _mm256_add_epi32(base_lo, lane);
    __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(base_lo, top), _mm256_xor_si256(*lo, top));
    /* carry lanes are -1: subtracting adds one. */
    *hi = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(counter >> 32)), carry);
}

static void avx2_chunks(uint8_t *out, const uint8_t *in, size_t n_chunks, size_t last_len,
                        const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    __m256i h[8], m[16], lo, hi;
    avx2_key(h, key);
    avx2_counters(&lo, &hi, counter);
    const __m256i full_len = _mm256_set1_epi32(WEFT_BLAKE3_BLOCK_LEN);
    const size_t n_blocks = WEFT_BLAKE3_CHUNK_LEN / WEFT_BLAKE3_BLOCK_LEN;

    if (n_chunks == AVX2_LANES && last_len == WEFT_BLAKE3_CHUNK_LEN) {
        for (size_t b = 0; b < n_blocks; b++) {
            const uint8_t *p[AVX2_LANES];
#pragma GCC unroll 8
            for (size_t i = 0; i < AVX2_LANES; i++)
                p[i] = in + WEFT_BLAKE3_CHUNK_LEN * i + WEFT_BLAKE3_BLOCK_LEN * b;
            unsigned f = flags;
            if (b == 0)
                f |= WEFT_BLAKE3__CHUNK_START;
            if (b + 1 == n_blocks)
                f |= WEFT_BLAKE3__CHUNK_END;
            avx2_load_lanes(m, p);
            /* The chunk each lane hashes in the next call, half a chunk ahead (see the AVX-512
             * kernel); the address may be past the input, which a prefetch tolerates. */
#pragma GCC unroll 8
            for (size_t i = 0; i < AVX2_LANES; i++)
                _mm_prefetch((const char *)((uintptr_t)p[i] + AVX2_LANES * WEFT_BLAKE3_CHUNK_LEN +
                                            WEFT_BLAKE3_CHUNK_LEN / 2),
                             _MM_HINT_T0);
            avx2_compress(h, h, m, lo, hi, full_len, _mm256_set1_epi32((int)f));
        }
        avx2_store_cvs(out, h, AVX2_LANES);
        return;
    }

    static const uint8_t zeros[WEFT_BLAKE3_BLOCK_LEN];
    uint8_t pad[WEFT_BLAKE3_BLOCK_LEN] = {0};
    size_t last = n_chunks - 1;
    size_t last_blocks = (last_len + WEFT_BLAKE3_BLOCK_LEN - 1) / WEFT_BLAKE3_BLOCK_LEN;
    size_t last_tail = last_len - (last_blocks - 1) * WEFT_BLAKE3_BLOCK_LEN;
    memcpy(pad, in + WEFT_BLAKE3_CHUNK_LEN * last + (last_blocks - 1) * WEFT_BLAKE3_BLOCK_LEN,
           last_tail);
    size_t rounds = last > 0 ? n_blocks : last_blocks;
    for (size_t b = 0; b < rounds; b++) {
        const uint8_t *p[AVX2_LANES];
        uint32_t lane_flags[AVX2_LANES], lane_len[AVX2_LANES], lane_on[AVX2_LANES];
        for (size_t i = 0; i < AVX2_LANES; i++) {
            size_t blocks = i < last ? n_blocks : i == last ? last_blocks : 0;
            p[i] = zeros;
            lane_len[i] = WEFT_BLAKE3_BLOCK_LEN;
            lane_flags[i] = flags;
            lane_on[i] = 0;
            if (b >= blocks)
                continue;
            lane_on[i] = 0xffffffffu;
            p[i] = in + WEFT_BLAKE3_CHUNK_LEN * i + WEFT_BLAKE3_BLOCK_LEN * b;
            if (b == 0)
                lane_flags[i] |= WEFT_BLAKE3__CHUNK_START;
            if (b + 1 == blocks) {
                lane_flags[i] |= WEFT_BLAKE3__CHUNK_END;
                if (i == last) {
                    p[i] = pad;
                    lane_len[i] = (uint32_t)last_tail;
                }
            }
        }
        __m256i next[8];
        __m256i on = _mm256_loadu_si256((const __m256i *)lane_on);
        avx2_load_lanes(m, p);
        avx2_compress(next, h, m, lo, hi, _mm256_loadu_si256((const __m256i *)lane_len),
                      _mm256_loadu_si256((const __m256i *)lane_flags));
        for (int j = 0; j < 8; j++)
            h[j] = _mm256_blendv_epi8(h[j], next[j], on);
    }
    avx2_store_cvs(out, h, n_chunks);
}

static void avx2_parents(uint8_t *out, const uint8_t *in, size_t n_parents, const uint32_t key[8],
                         uint8_t flags)
{
    __m256i h[8], m[16];
    const __m256i zero = _mm256_setzero_si256();
    const uint8_t *p[AVX2_LANES];
    /* Unused lanes hash the first block again; their results are not stored. */
    for (size_t i = 0; i < AVX2_LANES; i++)
        p[i] = in + WEFT_BLAKE3_BLOCK_LEN * (i < n_parents ? i : 0);
    avx2_key(h, key);
    avx2_load_lanes(m, p);
    avx2_compress(h, h, m, zero, zero, _mm256_set1_epi32(WEFT_BLAKE3_BLOCK_LEN),
                  _mm256_set1_epi32((int)(flags | WEFT_BLAKE3__PARENT)));
    avx2_store_cvs(out, h, n_parents);
}

const weft_blake3__kernel weft_blake3__kernel_avx2 = {
    .name = "avx2",
    .width = AVX2_LANES,
    .hash_chunks = avx2_chunks,
    .hash_parents = avx2_parents,
};

#else
typedef int blake3_avx2_not_built; /* ISO C forbids an empty translation unit */
#endif
