/* Xet hashes (specs/xet-storage.md §1.2): chunk hash, Merkle aggregation, xorb hash, file hash,
 * term verification hash, HMAC, and Xet's hash-to-hex convention.
 *
 * Every hash is 32 bytes, BLAKE3 in keyed mode. Pure functions on caller memory: no I/O,
 * thread-safe. Functions that build the Merkle tree allocate a scratch copy of the node list
 * and return WEFT_ENOMEM if that fails. Bit-exact with xet-core and @huggingface/xetchunk-wasm. */
#ifndef WEFT_XET_HASH_H
#define WEFT_XET_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

#define WEFT_HASH_LEN 32
#define WEFT_HASH_HEX_LEN 64

typedef struct weft_hash {
    uint8_t b[WEFT_HASH_LEN];
} weft_hash;

/* A leaf or node of the Merkle tree: a hash and the number of bytes under it. */
typedef struct weft_xet_node {
    weft_hash hash;
    uint64_t size;
} weft_xet_node;

extern const uint8_t WEFT_XET_DATA_KEY[32];
extern const uint8_t WEFT_XET_NODE_KEY[32];
extern const uint8_t WEFT_XET_VERIFICATION_KEY[32];

/* Xet's hex form: each 8-byte word read as a little-endian u64, printed as 16 hex digits.
 * out receives 64 digits and a NUL. */
void weft_xet_hash_to_hex(char out[WEFT_HASH_HEX_LEN + 1], const weft_hash *h);

/* Parses Xet's hex form (exactly 64 hex digits, either case). */
WEFT_MUST_USE int weft_xet_hash_from_hex(weft_hash *out, const char *hex, size_t len);

/* 1 if equal, 0 if not. */
int weft_hash_eq(const weft_hash *a, const weft_hash *b);

/* 1 if all 32 bytes are zero (the hash of the empty file). */
int weft_hash_is_zero(const weft_hash *h);

/* Chunk hash: keyed BLAKE3 (DATA_KEY) of the raw chunk bytes. */
void weft_xet_chunk_hash(weft_hash *out, const void *data, size_t len);

/* Root of the aggregated Merkle tree over n nodes (the xorb hash when the nodes are a xorb's
 * chunks). n == 0 gives the zero hash; n == 1 gives that node's hash. */
WEFT_MUST_USE int weft_xet_merkle_root(weft_hash *out, const weft_xet_node *nodes, size_t n);

/* File hash: keyed BLAKE3 with a zero key of the Merkle root over the file's chunks.
 * The empty file (n == 0) hashes to all zeros. */
WEFT_MUST_USE int weft_xet_file_hash(weft_hash *out, const weft_xet_node *chunks, size_t n);

/* Term verification hash: keyed BLAKE3 (VERIFICATION_KEY) of the concatenated raw hashes. */
void weft_xet_verification_hash(weft_hash *out, const weft_hash *chunk_hashes, size_t n);

/* HMAC as Xet defines it: keyed BLAKE3 of the 32 hash bytes with a 32-byte key. */
void weft_xet_hmac(weft_hash *out, const weft_hash *h, const uint8_t key[32]);

/* The last 8 bytes of a hash as a little-endian u64 (Xet's "hash mod n" tests use it). */
uint64_t weft_xet_hash_tail_u64(const weft_hash *h);

#endif
