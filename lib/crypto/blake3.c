/* BLAKE3 (include/weft/blake3.h): the portable reference and the tree.
 *
 * Section numbers refer to the BLAKE3 paper ("BLAKE3: one function, fast everywhere", 2020).
 * The input is split into 1 KiB chunks (§2.4); each chunk's 64-byte blocks are compressed in
 * a chain to a 32-byte chaining value (CV); CVs are paired into parent nodes up a binary tree
 * whose left subtrees are complete (§2.5), and the root node is compressed with the ROOT flag
 * as many times as output is wanted (§2.6).
 *
 * Speed comes from compressing many chunks, then many parents, side by side in SIMD lanes
 * (weft_blake3__hash_chunks / _parents through a kernel, see blake3_internal.h). The tree
 * code feeds the kernels whole subtrees: weft_blake3_update() cuts its input into the largest
 * subtrees aligned to the chunk counter (at most WEFT_BLAKE3__SUBTREE_MAX), reduces each one
 * to its two top CVs and pushes both on the CV stack; the stack merges lazily, so a CV is only
 * combined once more input proves it is not the root. One-shot calls on buffers up to
 * SUBTREE_MAX (the Xet chunk case) skip the stack and reduce the whole tree in one batch. */
#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "crypto/blake3_internal.h"
#include "weft/blake3.h"
#include "weft/cpu.h"
#include "weft/err.h"

const uint32_t weft_blake3__iv[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* §2.2: the message permutation applied between rounds. */
static const uint8_t blake3_permutation[16] = {2, 6,  3,  10, 7, 0,  4,  13,
                                               1, 11, 12, 5,  9, 14, 15, 8};

/* ---- the compression function (§2.2) ---- */

static inline uint32_t blake3_rotr(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

/* The quarter-round G on state words a, b, c, d with message words mx, my. */
static inline void blake3_g(uint32_t v[16], int a, int b, int c, int d, uint32_t mx, uint32_t my)
{
    v[a] = v[a] + v[b] + mx;
    v[d] = blake3_rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = blake3_rotr(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + my;
    v[d] = blake3_rotr(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = blake3_rotr(v[b] ^ v[c], 7);
}

/* One round: G on the four columns, then on the four diagonals of the 4x4 state. */
static inline void blake3_round(uint32_t v[16], const uint32_t m[16])
{
    blake3_g(v, 0, 4, 8, 12, m[0], m[1]);
    blake3_g(v, 1, 5, 9, 13, m[2], m[3]);
    blake3_g(v, 2, 6, 10, 14, m[4], m[5]);
    blake3_g(v, 3, 7, 11, 15, m[6], m[7]);
    blake3_g(v, 0, 5, 10, 15, m[8], m[9]);
    blake3_g(v, 1, 6, 11, 12, m[10], m[11]);
    blake3_g(v, 2, 7, 8, 13, m[12], m[13]);
    blake3_g(v, 3, 4, 9, 14, m[14], m[15]);
}

/* Seven rounds over the state set up from cv, the counter, block length and flags; leaves
 * the 16 state words in v for the caller to finish. */
static void blake3_rounds(uint32_t v[16], const uint32_t cv[8], const uint8_t block[64],
                          uint8_t block_len, uint64_t counter, uint8_t flags)
{
    uint32_t m[16], t[16];
    for (int i = 0; i < 16; i++)
        m[i] = weft_blake3__load32(block + 4 * i);
    for (int i = 0; i < 8; i++)
        v[i] = cv[i];
    for (int i = 0; i < 4; i++)
        v[8 + i] = weft_blake3__iv[i];
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = block_len;
    v[15] = flags;
    /* Unrolled, so the permutation is only renaming and the state stays in registers. */
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++) {
        blake3_round(v, m);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            t[i] = m[blake3_permutation[i]];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            m[i] = t[i];
    }
}

void weft_blake3__compress_in_place(uint32_t cv[8], const uint8_t block[WEFT_BLAKE3_BLOCK_LEN],
                                    uint8_t block_len, uint64_t counter, uint8_t flags)
{
    uint32_t v[16];
    blake3_rounds(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++)
        cv[i] = v[i] ^ v[i + 8];
}

/* The full 64-byte output of a compression, used for root output blocks (§2.6). */
static void blake3_compress_xof(uint8_t out[64], const uint32_t cv[8], const uint8_t block[64],
                                uint8_t block_len, uint64_t counter, uint8_t flags)
{
    uint32_t v[16];
    blake3_rounds(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++) {
        weft_blake3__store32(out + 4 * i, v[i] ^ v[i + 8]);
        weft_blake3__store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
    }
}

static void blake3_words_from_bytes(uint32_t w[8], const uint8_t b[32])
{
    for (int i = 0; i < 8; i++)
        w[i] = weft_blake3__load32(b + 4 * i);
}

static void blake3_bytes_from_words(uint8_t b[32], const uint32_t w[8])
{
    for (int i = 0; i < 8; i++)
        weft_blake3__store32(b + 4 * i, w[i]);
}

/* ---- the reference kernel: one chunk or parent at a time ---- */

static void blake3_ref_chunks(uint8_t *out, const uint8_t *in, size_t n_chunks, size_t last_len,
                              const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    for (size_t i = 0; i < n_chunks; i++) {
        const uint8_t *p = in + i * WEFT_BLAKE3_CHUNK_LEN;
        size_t len = i + 1 == n_chunks ? last_len : WEFT_BLAKE3_CHUNK_LEN;
        size_t n_blocks = (len + WEFT_BLAKE3_BLOCK_LEN - 1) / WEFT_BLAKE3_BLOCK_LEN;
        uint32_t cv[8];
        memcpy(cv, key, sizeof cv);
        for (size_t b = 0; b < n_blocks; b++) {
            size_t off = b * WEFT_BLAKE3_BLOCK_LEN;
            size_t block_len =
                len - off < WEFT_BLAKE3_BLOCK_LEN ? len - off : WEFT_BLAKE3_BLOCK_LEN;
            uint8_t f = flags;
            if (b == 0)
                f |= WEFT_BLAKE3__CHUNK_START;
            if (b + 1 == n_blocks)
                f |= WEFT_BLAKE3__CHUNK_END;
            if (block_len == WEFT_BLAKE3_BLOCK_LEN) {
                weft_blake3__compress_in_place(cv, p + off, WEFT_BLAKE3_BLOCK_LEN, counter + i, f);
            } else {
                uint8_t block[WEFT_BLAKE3_BLOCK_LEN] = {0};
                memcpy(block, p + off, block_len);
                weft_blake3__compress_in_place(cv, block, (uint8_t)block_len, counter + i, f);
            }
        }
        blake3_bytes_from_words(out + 32 * i, cv);
    }
}

static void blake3_ref_parents(uint8_t *out, const uint8_t *in, size_t n_parents,
                               const uint32_t key[8], uint8_t flags)
{
    for (size_t i = 0; i < n_parents; i++) {
        uint8_t block[WEFT_BLAKE3_BLOCK_LEN];
        uint32_t cv[8];
        /* Copy first: out may alias in, and parent 0 writes where it reads. */
        memcpy(block, in + WEFT_BLAKE3_BLOCK_LEN * i, sizeof block);
        memcpy(cv, key, sizeof cv);
        weft_blake3__compress_in_place(cv, block, WEFT_BLAKE3_BLOCK_LEN, 0,
                                       (uint8_t)(flags | WEFT_BLAKE3__PARENT));
        blake3_bytes_from_words(out + 32 * i, cv);
    }
}

const weft_blake3__kernel weft_blake3__kernel_ref = {
    .name = "ref",
    .width = 1,
    .hash_chunks = blake3_ref_chunks,
    .hash_parents = blake3_ref_parents,
};

/* ---- kernel choice ---- */

static const weft_blake3__kernel *const blake3_kernels[] = {
    &weft_blake3__kernel_ref,
#if defined(__x86_64__) || defined(__i386__)
    &weft_blake3__kernel_avx2,
    &weft_blake3__kernel_avx512,
#endif
};

/* Set once on first use (every thread would pick the same) or by weft_blake3__set_kernel. */
static _Atomic(const weft_blake3__kernel *) blake3_kernel_in_use;

static int blake3_kernel_supported(const weft_blake3__kernel *k)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned f = weft_cpu_features();
    if (k == &weft_blake3__kernel_avx512)
        return (f & WEFT_CPU_AVX512) != 0;
    if (k == &weft_blake3__kernel_avx2)
        return (f & WEFT_CPU_AVX2) != 0;
#endif
    return k == &weft_blake3__kernel_ref;
}

const weft_blake3__kernel *weft_blake3__active(void)
{
    const weft_blake3__kernel *k =
        atomic_load_explicit(&blake3_kernel_in_use, memory_order_acquire);
    if (k != NULL)
        return k;
    /* The best supported kernel: the table is ordered from slowest to fastest. */
    k = &weft_blake3__kernel_ref;
    for (size_t i = 0; i < sizeof blake3_kernels / sizeof blake3_kernels[0]; i++) {
        if (blake3_kernel_supported(blake3_kernels[i]))
            k = blake3_kernels[i];
    }
    atomic_store_explicit(&blake3_kernel_in_use, k, memory_order_release);
    return k;
}

int weft_blake3__set_kernel(const char *name)
{
    if (name == NULL) {
        atomic_store_explicit(&blake3_kernel_in_use, NULL, memory_order_release);
        return 0;
    }
    for (size_t i = 0; i < sizeof blake3_kernels / sizeof blake3_kernels[0]; i++) {
        const weft_blake3__kernel *k = blake3_kernels[i];
        if (strcmp(k->name, name) != 0)
            continue;
        if (!blake3_kernel_supported(k))
            return weft_err_set(WEFT_ENOTFOUND, "blake3: kernel %s not supported by this cpu",
                                name);
        atomic_store_explicit(&blake3_kernel_in_use, k, memory_order_release);
        return 0;
    }
    return weft_err_set(WEFT_EINVALID, "blake3: no kernel called %s", name);
}

const char *weft_blake3_kernel(void)
{
    return weft_blake3__active()->name;
}

void weft_blake3__hash_chunks(const weft_blake3__kernel *k, uint8_t *out, const uint8_t *in,
                              size_t n_chunks, size_t last_len, const uint32_t key[8],
                              uint64_t counter, uint8_t flags)
{
    while (n_chunks > 0) {
        size_t n = n_chunks < k->width ? n_chunks : k->width;
        size_t len = n == n_chunks ? last_len : WEFT_BLAKE3_CHUNK_LEN;
        if (n == 1)
            weft_blake3__kernel_ref.hash_chunks(out, in, 1, len, key, counter, flags);
        else
            k->hash_chunks(out, in, n, len, key, counter, flags);
        out += 32 * n;
        in += WEFT_BLAKE3_CHUNK_LEN * n;
        counter += n;
        n_chunks -= n;
    }
}

void weft_blake3__hash_parents(const weft_blake3__kernel *k, uint8_t *out, const uint8_t *in,
                               size_t n_parents, const uint32_t key[8], uint8_t flags)
{
    /* In place is safe: group g writes bytes [32 w g, 32 w (g+1)) before group g+1 reads from
     * 64 w (g+1) on, and each kernel call reads its own blocks before writing. */
    while (n_parents > 0) {
        size_t n = n_parents < k->width ? n_parents : k->width;
        if (n == 1)
            weft_blake3__kernel_ref.hash_parents(out, in, 1, key, flags);
        else
            k->hash_parents(out, in, n, key, flags);
        out += 32 * n;
        in += WEFT_BLAKE3_BLOCK_LEN * n;
        n_parents -= n;
    }
}

/* ---- subtrees: many chunks, then parents level by level, in kernel batches ---- */

/* Hashes the len bytes at `in` (1 KiB < len <= SUBTREE_MAX; chunk counters from `counter`) as
 * one subtree and writes the two CVs under its top node to out[0..63]. Pairing neighbours
 * level by level, an odd last CV moving up unchanged, builds the same left-complete tree as
 * §2.5 describes. */
static void blake3_subtree_pair(const weft_blake3__kernel *k, uint8_t out[64], const uint8_t *in,
                                size_t len, const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    uint8_t cvs[WEFT_BLAKE3__SUBTREE_MAX / WEFT_BLAKE3_CHUNK_LEN * 32];
    assert(len > WEFT_BLAKE3_CHUNK_LEN && len <= WEFT_BLAKE3__SUBTREE_MAX);
    size_t n = (len + WEFT_BLAKE3_CHUNK_LEN - 1) / WEFT_BLAKE3_CHUNK_LEN;
    size_t last_len = len - (n - 1) * WEFT_BLAKE3_CHUNK_LEN;
    weft_blake3__hash_chunks(k, cvs, in, n, last_len, key, counter, flags);
    while (n > 2) {
        size_t half = n / 2;
        weft_blake3__hash_parents(k, cvs, cvs, half, key, flags);
        if (n & 1)
            memcpy(cvs + 32 * half, cvs + 32 * (n - 1), 32);
        n = half + (n & 1);
    }
    memcpy(out, cvs, 64);
}

/* ---- output nodes (§2.6) ---- */

/* A node not yet compressed: whether it yields a CV or root output is decided later. */
typedef struct blake3_output {
    uint32_t cv[8];
    uint8_t block[WEFT_BLAKE3_BLOCK_LEN];
    uint64_t counter;
    uint8_t block_len;
    uint8_t flags;
} blake3_output;

static void blake3_output_cv(const blake3_output *o, uint8_t cv_out[32])
{
    uint32_t cv[8];
    memcpy(cv, o->cv, sizeof cv);
    weft_blake3__compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    blake3_bytes_from_words(cv_out, cv);
}

/* Root output: block i of the output stream is the root compressed with counter i. */
static void blake3_output_root(const blake3_output *o, uint8_t *out, size_t out_len)
{
    uint8_t flags = (uint8_t)(o->flags | WEFT_BLAKE3__ROOT);
    for (uint64_t i = 0; out_len > 0; i++) {
        uint8_t block[64];
        size_t take = out_len < sizeof block ? out_len : sizeof block;
        blake3_compress_xof(block, o->cv, o->block, o->block_len, i, flags);
        memcpy(out, block, take);
        out += take;
        out_len -= take;
    }
}

static void blake3_parent_output(blake3_output *o, const uint8_t left[32], const uint8_t right[32],
                                 const uint32_t key[8], uint8_t flags)
{
    memcpy(o->cv, key, sizeof o->cv);
    memcpy(o->block, left, 32);
    memcpy(o->block + 32, right, 32);
    o->counter = 0;
    o->block_len = WEFT_BLAKE3_BLOCK_LEN;
    o->flags = (uint8_t)(flags | WEFT_BLAKE3__PARENT);
}

/* ---- chunk state (§2.4): one chunk absorbed a piece at a time ---- */

static void blake3_chunk_init(weft_blake3_chunk_state *c, const uint32_t key[8], uint64_t counter,
                              uint8_t flags)
{
    memcpy(c->cv, key, sizeof c->cv);
    c->chunk_counter = counter;
    memset(c->buf, 0, sizeof c->buf);
    c->buf_len = 0;
    c->blocks_compressed = 0;
    c->flags = flags;
}

static size_t blake3_chunk_len(const weft_blake3_chunk_state *c)
{
    return (size_t)c->blocks_compressed * WEFT_BLAKE3_BLOCK_LEN + c->buf_len;
}

static uint8_t blake3_chunk_start_flag(const weft_blake3_chunk_state *c)
{
    return c->blocks_compressed == 0 ? WEFT_BLAKE3__CHUNK_START : 0;
}

/* Absorbs n bytes; the chunk must have room (chunk_len + n <= 1 KiB). The last block stays
 * buffered until more input shows it is not the chunk's last. */
static void blake3_chunk_update(weft_blake3_chunk_state *c, const uint8_t *p, size_t n)
{
    assert(blake3_chunk_len(c) + n <= WEFT_BLAKE3_CHUNK_LEN);
    while (n > 0) {
        if (c->buf_len == WEFT_BLAKE3_BLOCK_LEN) {
            weft_blake3__compress_in_place(c->cv, c->buf, WEFT_BLAKE3_BLOCK_LEN, c->chunk_counter,
                                           (uint8_t)(c->flags | blake3_chunk_start_flag(c)));
            c->blocks_compressed++;
            c->buf_len = 0;
        }
        /* Whole blocks with more input after them go straight from the caller's buffer. */
        while (c->buf_len == 0 && n > WEFT_BLAKE3_BLOCK_LEN) {
            weft_blake3__compress_in_place(c->cv, p, WEFT_BLAKE3_BLOCK_LEN, c->chunk_counter,
                                           (uint8_t)(c->flags | blake3_chunk_start_flag(c)));
            c->blocks_compressed++;
            p += WEFT_BLAKE3_BLOCK_LEN;
            n -= WEFT_BLAKE3_BLOCK_LEN;
        }
        size_t take = WEFT_BLAKE3_BLOCK_LEN - c->buf_len;
        if (take > n)
            take = n;
        memcpy(c->buf + c->buf_len, p, take);
        c->buf_len = (uint8_t)(c->buf_len + take);
        p += take;
        n -= take;
    }
}

static void blake3_chunk_output(const weft_blake3_chunk_state *c, blake3_output *o)
{
    memcpy(o->cv, c->cv, sizeof o->cv);
    memset(o->block, 0, sizeof o->block);
    memcpy(o->block, c->buf, c->buf_len);
    o->counter = c->chunk_counter;
    o->block_len = c->buf_len;
    o->flags = (uint8_t)(c->flags | blake3_chunk_start_flag(c) | WEFT_BLAKE3__CHUNK_END);
}

/* ---- the incremental hasher: chunk state + CV stack ---- */

static void blake3_hasher_init(weft_blake3 *h, const uint32_t key[8], uint8_t flags)
{
    memcpy(h->key, key, sizeof h->key);
    blake3_chunk_init(&h->chunk, key, 0, flags);
    h->cv_stack_len = 0;
}

void weft_blake3_init(weft_blake3 *h)
{
    blake3_hasher_init(h, weft_blake3__iv, 0);
}

void weft_blake3_init_keyed(weft_blake3 *h, const uint8_t key[WEFT_BLAKE3_KEY_LEN])
{
    uint32_t k[8];
    blake3_words_from_bytes(k, key);
    blake3_hasher_init(h, k, WEFT_BLAKE3__KEYED_HASH);
}

/* Merges the top of the stack until it holds one CV per complete subtree among the first
 * n_chunks chunks (one per set bit of n_chunks). Called before pushing the CV of chunk
 * n_chunks, and before buffering a partial chunk: only then is it known that the CVs merged
 * here are not the root (lazy merging keeps the last CV unmerged until more input comes). */
static void blake3_merge_stack(weft_blake3 *h, uint64_t n_chunks)
{
    size_t keep = (size_t)__builtin_popcountll(n_chunks);
    while (h->cv_stack_len > keep) {
        uint8_t *left = h->cv_stack + 32 * (h->cv_stack_len - 2);
        blake3_output o;
        blake3_parent_output(&o, left, left + 32, h->key, h->chunk.flags);
        blake3_output_cv(&o, left);
        h->cv_stack_len--;
    }
}

/* Pushes the CV of the subtree whose first chunk has counter `chunk_counter`. */
static void blake3_push_cv(weft_blake3 *h, const uint8_t cv[32], uint64_t chunk_counter)
{
    blake3_merge_stack(h, chunk_counter);
    assert(h->cv_stack_len < WEFT_BLAKE3_MAX_DEPTH + 1);
    memcpy(h->cv_stack + 32 * h->cv_stack_len, cv, 32);
    h->cv_stack_len++;
}

static size_t blake3_round_down_pow2(size_t n)
{
    return (size_t)1 << (63 - __builtin_clzll((unsigned long long)n));
}

void weft_blake3_update(weft_blake3 *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (n == 0)
        return;
    const weft_blake3__kernel *k = weft_blake3__active();

    /* Finish a started chunk first; if input remains, that chunk is not the root. */
    if (blake3_chunk_len(&h->chunk) > 0) {
        size_t take = WEFT_BLAKE3_CHUNK_LEN - blake3_chunk_len(&h->chunk);
        if (take > n)
            take = n;
        blake3_chunk_update(&h->chunk, p, take);
        p += take;
        n -= take;
        if (n == 0)
            return;
        blake3_output o;
        uint8_t cv[32];
        blake3_chunk_output(&h->chunk, &o);
        blake3_output_cv(&o, cv);
        blake3_push_cv(h, cv, h->chunk.chunk_counter);
        blake3_chunk_init(&h->chunk, h->key, h->chunk.chunk_counter + 1, h->chunk.flags);
    }

    /* Whole subtrees while more than a chunk remains: the largest power of two that fits and
     * that the chunk counter is a multiple of, so it is a complete subtree of the final tree.
     * At least one byte is kept back unless a subtree pair (not yet merged) ends the input. */
    while (n > WEFT_BLAKE3_CHUNK_LEN) {
        size_t sub = blake3_round_down_pow2(n);
        if (sub > WEFT_BLAKE3__SUBTREE_MAX)
            sub = WEFT_BLAKE3__SUBTREE_MAX;
        uint64_t done = h->chunk.chunk_counter * WEFT_BLAKE3_CHUNK_LEN;
        while (((uint64_t)(sub - 1) & done) != 0)
            sub /= 2;
        uint64_t counter = h->chunk.chunk_counter;
        uint64_t sub_chunks = sub / WEFT_BLAKE3_CHUNK_LEN;
        if (sub_chunks == 1) {
            uint8_t cv[32];
            weft_blake3__kernel_ref.hash_chunks(cv, p, 1, WEFT_BLAKE3_CHUNK_LEN, h->key, counter,
                                                h->chunk.flags);
            blake3_push_cv(h, cv, counter);
        } else {
            uint8_t pair[64];
            blake3_subtree_pair(k, pair, p, sub, h->key, counter, h->chunk.flags);
            blake3_push_cv(h, pair, counter);
            blake3_push_cv(h, pair + 32, counter + sub_chunks / 2);
        }
        h->chunk.chunk_counter = counter + sub_chunks;
        p += sub;
        n -= sub;
    }

    if (n > 0) {
        /* More input after everything on the stack: merge what is complete (see above). */
        blake3_merge_stack(h, h->chunk.chunk_counter);
        blake3_chunk_update(&h->chunk, p, n);
    }
}

void weft_blake3_final(const weft_blake3 *h, uint8_t *out, size_t out_len)
{
    blake3_output o;
    if (h->cv_stack_len == 0) {
        blake3_chunk_output(&h->chunk, &o);
        blake3_output_root(&o, out, out_len);
        return;
    }
    /* Fold the stack from the top: the last node (a buffered chunk, or the unmerged pair on
     * top) joins each stacked subtree to its left in turn. */
    size_t left = h->cv_stack_len;
    if (blake3_chunk_len(&h->chunk) > 0) {
        blake3_chunk_output(&h->chunk, &o);
    } else {
        assert(left >= 2);
        left -= 2;
        blake3_parent_output(&o, h->cv_stack + 32 * left, h->cv_stack + 32 * (left + 1), h->key,
                             h->chunk.flags);
    }
    while (left > 0) {
        uint8_t cv[32];
        left--;
        blake3_output_cv(&o, cv);
        blake3_parent_output(&o, h->cv_stack + 32 * left, cv, h->key, h->chunk.flags);
    }
    blake3_output_root(&o, out, out_len);
}

/* ---- one-shot ---- */

static void blake3_oneshot(uint8_t out[WEFT_BLAKE3_OUT_LEN], const uint32_t key[8], uint8_t flags,
                           const uint8_t *p, size_t n)
{
    if (n <= WEFT_BLAKE3_CHUNK_LEN) {
        /* One chunk, which is the root. */
        weft_blake3_chunk_state c;
        blake3_output o;
        blake3_chunk_init(&c, key, 0, flags);
        blake3_chunk_update(&c, p, n);
        blake3_chunk_output(&c, &o);
        blake3_output_root(&o, out, WEFT_BLAKE3_OUT_LEN);
    } else if (n <= WEFT_BLAKE3__SUBTREE_MAX) {
        /* The whole tree in one batch; its top node is the root. */
        uint8_t pair[64];
        uint32_t cv[8];
        blake3_subtree_pair(weft_blake3__active(), pair, p, n, key, 0, flags);
        memcpy(cv, key, sizeof cv);
        weft_blake3__compress_in_place(cv, pair, WEFT_BLAKE3_BLOCK_LEN, 0,
                                       (uint8_t)(flags | WEFT_BLAKE3__PARENT | WEFT_BLAKE3__ROOT));
        blake3_bytes_from_words(out, cv);
    } else {
        weft_blake3 h;
        blake3_hasher_init(&h, key, flags);
        weft_blake3_update(&h, p, n);
        weft_blake3_final(&h, out, WEFT_BLAKE3_OUT_LEN);
    }
}

void weft_blake3_keyed(uint8_t out[WEFT_BLAKE3_OUT_LEN], const uint8_t key[WEFT_BLAKE3_KEY_LEN],
                       const void *p, size_t n)
{
    uint32_t k[8];
    blake3_words_from_bytes(k, key);
    blake3_oneshot(out, k, WEFT_BLAKE3__KEYED_HASH, p, n);
}

void weft_blake3_hash(uint8_t out[WEFT_BLAKE3_OUT_LEN], const void *p, size_t n)
{
    blake3_oneshot(out, weft_blake3__iv, 0, p, n);
}
