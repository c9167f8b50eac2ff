/* BLAKE3 internals shared by the reference (lib/crypto/blake3.c), the SIMD kernels
 * (lib/crypto/arch/x86/blake3_*.c), the unit tests and the benchmark.
 *
 * A kernel compresses many independent inputs at once, one input per SIMD lane: 1 KiB chunks
 * (the leaves of the BLAKE3 tree; the last one may be shorter) or parent nodes (64-byte pairs
 * of child chaining values). The tree logic in blake3.c calls the kernels through
 * weft_blake3__hash_chunks and weft_blake3__hash_parents, which split any count into calls of
 * at most one kernel width. Kernels are immutable static tables; the active one is chosen
 * once (weft_cpu_features()) and can be forced by tests and benchmarks with
 * weft_blake3__set_kernel. Chaining values travel as 32 little-endian bytes, as in the tree.
 * Nothing here allocates or fails. */
#ifndef WEFT_CRYPTO_BLAKE3_INTERNAL_H
#define WEFT_CRYPTO_BLAKE3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weft/blake3.h"

/* BLAKE3 paper §2.1: the domain flags, set in the last state word of a compression. */
enum {
    WEFT_BLAKE3__CHUNK_START = 1u << 0,
    WEFT_BLAKE3__CHUNK_END = 1u << 1,
    WEFT_BLAKE3__PARENT = 1u << 2,
    WEFT_BLAKE3__ROOT = 1u << 3,
    WEFT_BLAKE3__KEYED_HASH = 1u << 4,
};

/* Widest kernel (inputs per call: AVX-512 runs two 16-lane groups): bounds stack buffers. */
#define WEFT_BLAKE3__MAX_WIDTH 32

/* Largest subtree (bytes, a power of two) hashed in one batch by the tree code: its chunk
 * chaining values (256 chunks, 8 KiB) live on the stack while parents are reduced. */
#define WEFT_BLAKE3__SUBTREE_MAX (256 * WEFT_BLAKE3_CHUNK_LEN)

/* BLAKE3 paper §2.1: the initialisation vector (that of SHA-256). */
extern const uint32_t weft_blake3__iv[8];

/* Message word order for each of the 7 rounds: the paper's permutation (§2.2) applied r times
 * (row r + 1 is row r permuted; the unit test derives it again). SIMD kernels index their
 * message registers with it so no words move between rounds; it is static here so the
 * compiler sees the constants and keeps the message in registers. */
static const uint8_t blake3_msg_schedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* Compresses n_chunks (1..width) consecutive chunks starting at `in`: chunk i is the 1 KiB at
 * in + i * 1024 and has chunk counter `counter + i`; every chunk is whole except the last,
 * which has last_len bytes (1..1024). Writes chunk i's 32-byte chaining value at out + 32 * i.
 * `flags` is 0 or KEYED_HASH; the kernel adds CHUNK_START/CHUNK_END. No chunk may be the root. */
typedef void weft_blake3__chunks_fn(uint8_t *out, const uint8_t *in, size_t n_chunks,
                                    size_t last_len, const uint32_t key[8], uint64_t counter,
                                    uint8_t flags);

/* Compresses n_parents (1..width) parent nodes: parent i's block is the 64 bytes (left and
 * right child chaining values) at in + 64 * i; writes its chaining value at out + 32 * i.
 * `out` may equal `in` (each call reads all its blocks before writing). `flags` is 0 or
 * KEYED_HASH; the kernel adds PARENT. No parent may be the root. */
typedef void weft_blake3__parents_fn(uint8_t *out, const uint8_t *in, size_t n_parents,
                                     const uint32_t key[8], uint8_t flags);

typedef struct weft_blake3__kernel {
    const char *name; /* "ref", "avx2", "avx512" */
    size_t width;     /* the most inputs one call takes */
    weft_blake3__chunks_fn *hash_chunks;
    weft_blake3__parents_fn *hash_parents;
} weft_blake3__kernel;

/* The portable reference: width 1, the spec written out. */
extern const weft_blake3__kernel weft_blake3__kernel_ref;
#if defined(__x86_64__) || defined(__i386__)
/* 8 lanes of 32-bit words in AVX2 registers (lib/crypto/arch/x86/blake3_avx2.c). */
extern const weft_blake3__kernel weft_blake3__kernel_avx2;
/* 32 inputs: two interleaved groups of 16 AVX-512 lanes (arch/x86/blake3_avx512.c). */
extern const weft_blake3__kernel weft_blake3__kernel_avx512;
#endif

/* The BLAKE3 compression function (paper §2.2), portable: compresses the 64-byte `block` into
 * `cv` (8 words, updated in place) with the given counter, block length and flags. */
void weft_blake3__compress_in_place(uint32_t cv[8], const uint8_t block[WEFT_BLAKE3_BLOCK_LEN],
                                    uint8_t block_len, uint64_t counter, uint8_t flags);

/* The kernel in use: the one forced by weft_blake3__set_kernel, else the best the CPU offers
 * after the WEFT_KERNEL override. Borrowed, static. */
const weft_blake3__kernel *weft_blake3__active(void);

/* Forces the kernel called `name` ("ref", "avx2", "avx512") for every later call in the
 * process; NULL returns to the automatic choice. Returns 0, WEFT_EINVALID for an unknown name,
 * or WEFT_ENOTFOUND when the CPU (after WEFT_KERNEL) lacks its instructions; on error the
 * kernel in use is unchanged. Tests and benchmarks call it between runs: a hash running in
 * another thread meanwhile may use either kernel (both give the same output). */
int weft_blake3__set_kernel(const char *name);

/* Chunk chaining values for any number of consecutive chunks through kernel k (same contract
 * as weft_blake3__chunks_fn without the width limit). A lone leftover chunk goes to the
 * reference, which is faster than a SIMD call with one busy lane. */
void weft_blake3__hash_chunks(const weft_blake3__kernel *k, uint8_t *out, const uint8_t *in,
                              size_t n_chunks, size_t last_len, const uint32_t key[8],
                              uint64_t counter, uint8_t flags);

/* Parent chaining values for any number of parents through kernel k (same contract as
 * weft_blake3__parents_fn without the width limit; `out` may equal `in`). */
void weft_blake3__hash_parents(const weft_blake3__kernel *k, uint8_t *out, const uint8_t *in,
                               size_t n_parents, const uint32_t key[8], uint8_t flags);

/* Little-endian helpers shared by the kernels. */
static inline uint32_t weft_blake3__load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void weft_blake3__store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
