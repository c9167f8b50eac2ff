/* Order-0 entropy coder for byte streams: canonical Huffman with code lengths limited to
 * WEFT_ENTROPY_MAX_BITS, four interleaved bit streams and a table-driven decoder
 * (specs/xet-storage.md §3: ZipNN codes weight exponents with huff0; this is our own coder
 * for the same job). Used by the weight codecs (weight_codec.h) for exponent, mantissa and
 * delta byte planes.
 *
 * A block codes n bytes; n is not stored in the block (the caller's format knows it). The
 * encoder picks the smallest of three modes: stored (the bytes verbatim), constant (all n
 * bytes equal) and Huffman; so a block is never more than WEFT_ENTROPY_BOUND(n) bytes.
 *
 * Block layout (all integers little-endian, varints are LEB128, at most 5 bytes):
 *   u8 mode           0 stored, 1 constant, 2 Huffman
 *   stored:           n bytes
 *   constant:         u8 the byte
 *   Huffman:          u8 first, u8 last        symbols first..last may have codes
 *                     (last-first+2)/2 bytes   4-bit code lengths (0 = no code), low nibble first
 *                     4 varints                byte lengths of the four bit streams
 *                     the four bit streams     stream k codes symbols [k*q, min(n,(k+1)*q)),
 *                                              q = ceil(n/4); codes are canonical (shorter
 *                                              first, then by symbol), written LSB-first
 * The code must be complete (Kraft sum exactly 1) and use at least two symbols.
 *
 * Pure functions on caller memory: no I/O, no allocation, no global state; thread-safe (the
 * memo variants below keep state in the caller's memo).
 * Decoding never reads outside [in, in+in_len) or writes outside [out, out+n), and rejects a
 * malformed block with WEFT_ECORRUPT and a message. Encoding fails only with WEFT_ELIMIT when
 * `cap` is below WEFT_ENTROPY_BOUND(n). Expected load: blocks of 8 KiB – 1 MiB, encode
 * ≥ 1 GB/s and decode ≥ 2 GB/s of symbols per core. */
#ifndef WEFT_ENTROPY_H
#define WEFT_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

/* Longest Huffman code, in bits; the decoder's table has 1 << WEFT_ENTROPY_MAX_BITS entries. */
#define WEFT_ENTROPY_MAX_BITS 11

/* Largest block the coder accepts, in symbols (bounds the varints and the scratch). */
#define WEFT_ENTROPY_MAX_N (64u << 20)

/* Upper bound of an encoded block of n bytes (the stored mode plus its mode byte). */
#define WEFT_ENTROPY_BOUND(n) ((size_t)(n) + 1)

enum {
    WEFT_ENTROPY_STORED = 0,
    WEFT_ENTROPY_CONSTANT = 1,
    WEFT_ENTROPY_HUFFMAN = 2,
};

/* Byte histogram of a stream (the encoder's first pass; exposed so callers can estimate). */
void weft_entropy_histogram(uint32_t counts[256], const uint8_t *in, size_t n);

/* Size in bytes that weft_entropy_encode would produce for a stream with this histogram,
 * without encoding: exact up to the rounding of the four bit streams (within 8 bytes). n is
 * the sum of counts. */
size_t weft_entropy_estimate(const uint32_t counts[256], size_t n);

/* Encodes in[0..n) into out[0..cap) and sets *out_len. Picks the smallest mode. */
WEFT_MUST_USE int weft_entropy_encode(uint8_t *out, size_t cap, size_t *out_len, const uint8_t *in,
                                      size_t n);

/* Decodes exactly n bytes into out from the block at in[0..in_len); *consumed gets the
 * block's length (in_len may extend past the block). WEFT_ECORRUPT if the block is malformed,
 * truncated, or its bit streams do not hold exactly the codes for n symbols. */
WEFT_MUST_USE int weft_entropy_decode(uint8_t *out, size_t n, const uint8_t *in, size_t in_len,
                                      size_t *consumed);

/* A memo of recent codes, for a coder that codes a sequence of alike blocks (the planes of
 * consecutive chunks of one tensor). Building a block's decode table costs about as much as
 * decoding 10 000 symbols, and alike blocks nearly always have codes within a fraction of a
 * per cent of each other in size. So the encoder, given a memo, codes a block of at least
 * 4096 symbols with a recent code when that costs at most 1/256 more than the block's own;
 * the decoder, given a memo, keeps the tables of the last codes it built and copies one
 * instead of building it. Every block still carries its whole code and decodes alone, with
 * or without a memo; the memo changes which code the encoder picks, so the encoded bytes
 * depend on the blocks coded before with the same memo. About 130 KiB; one thread at a time. */
typedef struct weft_entropy_memo weft_entropy_memo;
WEFT_MUST_USE int weft_entropy_memo_new(weft_entropy_memo **out);
void weft_entropy_memo_free(weft_entropy_memo *m);
/* weft_entropy_encode and weft_entropy_decode with a memo (m NULL: none). */
WEFT_MUST_USE int weft_entropy_encode_memo(weft_entropy_memo *m, uint8_t *out, size_t cap,
                                           size_t *out_len, const uint8_t *in, size_t n);
WEFT_MUST_USE int weft_entropy_decode_memo(weft_entropy_memo *m, uint8_t *out, size_t n,
                                           const uint8_t *in, size_t in_len, size_t *consumed);

#endif
