/* Xet hashes (include/weft/xet_hash.h, specs/xet-storage.md §1.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/blake3.h"
#include "weft/buf.h"
#include "weft/xet_hash.h"

const uint8_t WEFT_XET_DATA_KEY[32] = {
    102, 151, 245, 119, 91,  149, 80,  222, 49,  53,  203, 172, 165, 151, 24,  28,
    157, 228, 33,  16,  155, 235, 43,  88,  180, 208, 176, 75,  147, 173, 242, 41};
const uint8_t WEFT_XET_NODE_KEY[32] = {
    1,  126, 197, 199, 165, 71,  41,  150, 253, 148, 102, 102, 180, 138, 2,   230,
    93, 221, 83,  111, 55,  199, 109, 210, 248, 99,  82,  230, 74,  83,  113, 63};
const uint8_t WEFT_XET_VERIFICATION_KEY[32] = {
    127, 24,  87,  214, 206, 86,  237, 102, 18, 127, 249, 19,  231, 165, 195, 243,
    164, 205, 38,  213, 181, 219, 73,  230, 65, 36,  152, 127, 40,  251, 148, 195};

static const uint8_t zero_key[32];

/* specs/xet-storage.md §1.2: a group closes after at most 9 nodes, or earlier at a node
 * (not among the group's first two) whose hash tail is 0 mod 4. */
#define MERKLE_MAX_CHILDREN 9
#define MERKLE_CUT_MODULUS 4

void weft_xet_hash_to_hex(char out[WEFT_HASH_HEX_LEN + 1], const weft_hash *h)
{
    static const char digits[] = "0123456789abcdef";
    for (int w = 0; w < 4; w++) {
        uint64_t v = weft_load_u64le(h->b + 8 * w);
        for (int d = 15; d >= 0; d--) {
            out[16 * w + d] = digits[v & 15];
            v >>= 4;
        }
    }
    out[WEFT_HASH_HEX_LEN] = '\0';
}

int weft_xet_hash_from_hex(weft_hash *out, const char *hex, size_t len)
{
    if (len != WEFT_HASH_HEX_LEN)
        return weft_err_set(WEFT_EINVALID, "hash: expected 64 hex digits, got %zu characters", len);
    for (int w = 0; w < 4; w++) {
        uint64_t v = 0;
        for (int d = 0; d < 16; d++) {
            char c = hex[16 * w + d];
            int x;
            if (c >= '0' && c <= '9')
                x = c - '0';
            else if (c >= 'a' && c <= 'f')
                x = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                x = c - 'A' + 10;
            else
                return weft_err_set(WEFT_EINVALID, "hash: bad hex digit at position %d",
                                    16 * w + d);
            v = v << 4 | (uint64_t)x;
        }
        weft_store_u64le(out->b + 8 * w, v);
    }
    return 0;
}

int weft_hash_eq(const weft_hash *a, const weft_hash *b)
{
    return memcmp(a->b, b->b, WEFT_HASH_LEN) == 0;
}

int weft_hash_is_zero(const weft_hash *h)
{
    static const weft_hash zero;
    return weft_hash_eq(h, &zero);
}

uint64_t weft_xet_hash_tail_u64(const weft_hash *h)
{
    return weft_load_u64le(h->b + 24);
}

void weft_xet_chunk_hash(weft_hash *out, const void *data, size_t len)
{
    weft_blake3_keyed(out->b, WEFT_XET_DATA_KEY, data, len);
}

/* One internal node: keyed hash of the lines "{child hex} : {child size}\n". */
static void merkle_node(weft_xet_node *out, const weft_xet_node *children, size_t n)
{
    /* 9 lines of at most 64 + 3 + 20 + 1 characters. */
    char text[MERKLE_MAX_CHILDREN * 88];
    size_t len = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        weft_xet_hash_to_hex(text + len, &children[i].hash);
        len += WEFT_HASH_HEX_LEN;
        len += (size_t)snprintf(text + len, sizeof text - len, " : %llu\n",
                                (unsigned long long)children[i].size);
        total += children[i].size;
    }
    weft_blake3_keyed(out->hash.b, WEFT_XET_NODE_KEY, text, len);
    out->size = total;
}

int weft_xet_merkle_root(weft_hash *out, const weft_xet_node *nodes, size_t n)
{
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    if (n == 1) {
        *out = nodes[0].hash;
        return 0;
    }
    weft_xet_node *level = malloc(n * sizeof *level);
    if (level == NULL)
        return weft_err_set(WEFT_ENOMEM, "merkle: cannot allocate %zu nodes", n);
    memcpy(level, nodes, n * sizeof *level);
    while (n > 1) {
        /* Parents are written in place: parent k never lies past child k. */
        size_t n_parents = 0, start = 0;
        for (size_t i = 0; i < n; i++) {
            size_t group = i - start + 1;
            int natural = group >= 3 &&
                          weft_xet_hash_tail_u64(&level[i].hash) % MERKLE_CUT_MODULUS == 0;
            if (i == n - 1 || group == MERKLE_MAX_CHILDREN || natural) {
                weft_xet_node parent;
                merkle_node(&parent, level + start, group);
                level[n_parents++] = parent;
                start = i + 1;
            }
        }
        n = n_parents;
    }
    *out = level[0].hash;
    free(level);
    return 0;
}

int weft_xet_file_hash(weft_hash *out, const weft_xet_node *chunks, size_t n)
{
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    weft_hash root;
    int rc = weft_xet_merkle_root(&root, chunks, n);
    if (rc < 0)
        return rc;
    weft_blake3_keyed(out->b, zero_key, root.b, WEFT_HASH_LEN);
    return 0;
}

void weft_xet_verification_hash(weft_hash *out, const weft_hash *chunk_hashes, size_t n)
{
    weft_blake3 h;
    weft_blake3_init_keyed(&h, WEFT_XET_VERIFICATION_KEY);
    weft_blake3_update(&h, chunk_hashes, n * sizeof *chunk_hashes);
    weft_blake3_final(&h, out->b, WEFT_HASH_LEN);
}

void weft_xet_hmac(weft_hash *out, const weft_hash *h, const uint8_t key[32])
{
    weft_blake3_keyed(out->b, key, h->b, WEFT_HASH_LEN);
}
