/* Base64 (RFC 4648, standard alphabet, '=' padding), as used in commit payloads and HTTP Basic
 * credentials.
 *
 * Pure functions on caller buffers; thread-safe. Decoding is strict: characters outside the
 * alphabet, bad padding, non-zero bits before the padding or a length that is not a multiple of 4
 * are WEFT_EINVALID (whitespace is not skipped), so a byte string has exactly one encoding. */
#ifndef WEFT_BASE64_H
#define WEFT_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

/* Bytes needed to encode n bytes, without the NUL. */
size_t weft_base64_encoded_len(size_t n);

/* Encodes n bytes into out (weft_base64_encoded_len(n) + 1 bytes, NUL-terminated). */
void weft_base64_encode(char *out, const uint8_t *in, size_t n);

/* Upper bound of the decoded size of n characters. */
size_t weft_base64_decoded_max(size_t n);

/* Decodes n characters into out (capacity cap >= weft_base64_decoded_max(n)); *len_out gets the
 * decoded length. */
WEFT_MUST_USE int weft_base64_decode(uint8_t *out, size_t cap, size_t *len_out, const char *in,
                                     size_t n);

#endif
