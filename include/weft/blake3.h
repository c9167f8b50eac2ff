/* BLAKE3 (hash and keyed mode), written here: no packaged C BLAKE3 exists on Debian.
 *
 * A portable reference (lib/crypto/blake3.c) is the spec; SIMD paths in lib/crypto/arch/x86/
 * compress many 1 KiB chunks at once and are chosen at run time (weft_cpu_features(), forced
 * off by WEFT_KERNEL=ref, capped by WEFT_KERNEL=avx2). All paths give identical output.
 * weft_blake3 is caller-allocated and holds no heap memory (no dispose needed); nothing here
 * allocates or fails, and a call uses at most about 20 KiB of stack. Separate objects are
 * independent and the one-shot functions are thread-safe; one object is not. Input pointers
 * may be NULL when the length is 0. Output may be any length (XOF); 32 bytes is the normal
 * digest. The hot path is weft_blake3_keyed on 8-128 KiB buffers (Xet chunk hashes). */
#ifndef WEFT_BLAKE3_H
#define WEFT_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define WEFT_BLAKE3_KEY_LEN 32
#define WEFT_BLAKE3_OUT_LEN 32
#define WEFT_BLAKE3_BLOCK_LEN 64
#define WEFT_BLAKE3_CHUNK_LEN 1024
#define WEFT_BLAKE3_MAX_DEPTH 54

typedef struct weft_blake3_chunk_state {
    uint32_t cv[8];
    uint64_t chunk_counter;
    uint8_t buf[WEFT_BLAKE3_BLOCK_LEN];
    uint8_t buf_len;
    uint8_t blocks_compressed;
    uint8_t flags;
} weft_blake3_chunk_state;

typedef struct weft_blake3 {
    uint32_t key[8];
    weft_blake3_chunk_state chunk;
    uint8_t cv_stack_len;
    uint8_t cv_stack[(WEFT_BLAKE3_MAX_DEPTH + 1) * WEFT_BLAKE3_OUT_LEN];
} weft_blake3;

/* Starts a plain hash. */
void weft_blake3_init(weft_blake3 *h);

/* Starts a keyed hash with a 32-byte key. */
void weft_blake3_init_keyed(weft_blake3 *h, const uint8_t key[WEFT_BLAKE3_KEY_LEN]);

/* Absorbs n bytes. */
void weft_blake3_update(weft_blake3 *h, const void *p, size_t n);

/* Writes out_len bytes of output; h is unchanged and may keep absorbing. */
void weft_blake3_final(const weft_blake3 *h, uint8_t *out, size_t out_len);

/* One-shot 32-byte keyed hash of a buffer (the hot path for Xet chunk hashes). */
void weft_blake3_keyed(uint8_t out[WEFT_BLAKE3_OUT_LEN], const uint8_t key[WEFT_BLAKE3_KEY_LEN],
                       const void *p, size_t n);

/* One-shot 32-byte plain hash. */
void weft_blake3_hash(uint8_t out[WEFT_BLAKE3_OUT_LEN], const void *p, size_t n);

/* Name of the compression kernel in use ("ref", "avx2", "avx512"). */
const char *weft_blake3_kernel(void);

#endif
