/* Streaming SHA-256 (OpenSSL libcrypto underneath, which uses SHA-NI where present).
 *
 * weft_sha256 is caller-allocated: init, update any number of times, final, dispose.
 * Not thread-safe per object; separate objects are independent. Out of memory at init is
 * reported as WEFT_ENOMEM. The digest is the LFS oid of a file (64 lower-case hex). */
#ifndef WEFT_SHA256_H
#define WEFT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

#define WEFT_SHA256_LEN 32

typedef struct weft_sha256 {
    void *ctx; /* EVP_MD_CTX */
} weft_sha256;

WEFT_MUST_USE int weft_sha256_init(weft_sha256 *s);
void weft_sha256_update(weft_sha256 *s, const void *p, size_t n);
void weft_sha256_final(weft_sha256 *s, uint8_t out[WEFT_SHA256_LEN]);
void weft_sha256_dispose(weft_sha256 *s);

/* One-shot digest of a buffer. */
WEFT_MUST_USE int weft_sha256_oneshot(uint8_t out[WEFT_SHA256_LEN], const void *p, size_t n);

/* Plain lower-case hex of `n` bytes into `out` (2n+1 bytes, NUL-terminated). */
void weft_hex_encode(char *out, const uint8_t *p, size_t n);

/* 1 if `s` is exactly `n` lower-case hex digits (commit ids, SHA-256 etags), else 0. */
int weft_hex_is_lower(const char *s, size_t n);

/* Parses exactly 2n hex digits into n bytes; anything else is WEFT_EINVALID. */
WEFT_MUST_USE int weft_hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_len);

#endif
