/* Xet chunk compression (specs/xet-storage.md §1.3): scheme 0 none, 1 LZ4 frame, 2 BG4-LZ4
 * (bytes regrouped into 4 lanes, then one LZ4 frame), and the BG4 predictor behind "auto".
 *
 * Pure functions on caller memory: no I/O, no global state, thread-safe. Output goes to a
 * caller-owned weft_buf (appended; on failure the buffer is unchanged) or to a caller buffer of
 * a declared size. Decoding is bounded: it never writes more than the declared uncompressed
 * length and rejects input that does not decode to exactly that many bytes (WEFT_ECORRUPT).
 * The LZ4 frames written are the ones xet-core writes (lz4_flex FrameEncoder defaults: frame
 * version 1, independent blocks, no block or content checksum, no content size, no dictionary,
 * block-size code chosen from the input length); any valid LZ4 frame is accepted on decode.
 * Errors: WEFT_EINVALID (unknown scheme, bad argument), WEFT_ECORRUPT (undecodable or wrong
 * length), WEFT_ELIMIT (chunk over 128 KiB or buffer cap), WEFT_ENOMEM. */
#ifndef WEFT_XET_COMPRESS_H
#define WEFT_XET_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"

/* Scheme byte values as stored in chunk headers (xet-core compression_scheme.rs). AUTO is never
 * stored; it asks the encoder to choose with the BG4 predictor. */
enum {
    WEFT_XET_SCHEME_NONE = 0,
    WEFT_XET_SCHEME_LZ4 = 1,
    WEFT_XET_SCHEME_BG4_LZ4 = 2,
    WEFT_XET_SCHEME_AUTO = 99,
};

/* Largest uncompressed chunk (xet-core MAX_CHUNK_SIZE). */
#define WEFT_XET_MAX_CHUNK_LEN (128u * 1024u)

/* Chunks the auto choice is reused for within one file segment of a xorb
 * (xet-core xorb.compression_scheme_retest_interval default). */
#define WEFT_XET_SCHEME_RETEST_INTERVAL 32u

/* KL-divergence threshold of the BG4 predictor (xet-core bg4_prediction.rs). */
#define WEFT_XET_BG4_KL_THRESHOLD 0.02

/* "none", "lz4", "bg4-lz4", "auto", or NULL for any other value. */
const char *weft_xet_scheme_name(int scheme);

/* Parses a scheme name as above (case-sensitive; "" means auto). -1 if unknown. */
int weft_xet_scheme_from_name(const char *name);

/* 1 if `scheme` may appear in a stored chunk header (0, 1, 2), else 0. */
int weft_xet_scheme_is_stored(int scheme);

/* BG4 predictor: per-lane 9-bin popcount histograms (lane = byte index mod 4). */
typedef struct weft_xet_bg4_predictor {
    uint32_t hist[4][9];
} weft_xet_bg4_predictor;

/* Empties the histograms. */
void weft_xet_bg4_predictor_init(weft_xet_bg4_predictor *p);

/* Counts n bytes that sit at byte position `offset` of the analysed stream. */
void weft_xet_bg4_predictor_add(weft_xet_bg4_predictor *p, size_t offset, const void *data,
                                size_t n);

/* 1 when the max KL divergence of a lane against the pooled histogram (pooled bins start at 1)
 * exceeds WEFT_XET_BG4_KL_THRESHOLD. A lane whose divergence is not a number (an empty lane, or
 * an empty bin, as in xet-core where 0 * ln 0 is NaN and max() skips it) does not count. */
int weft_xet_bg4_predictor_recommends(const weft_xet_bg4_predictor *p);

/* The scheme "auto" picks for this data: WEFT_XET_SCHEME_BG4_LZ4 or WEFT_XET_SCHEME_LZ4. */
int weft_xet_scheme_choose(const void *data, size_t n);

/* BG4 split: byte k of every 4-byte word goes to lane k; lanes are concatenated; the n % 4 tail
 * bytes extend lanes 0, 1, 2 in order. out and in are n bytes each and must not overlap. */
void weft_xet_bg4_split(uint8_t *out, const uint8_t *in, size_t n);

/* Inverse of weft_xet_bg4_split. */
void weft_xet_bg4_regroup(uint8_t *out, const uint8_t *in, size_t n);

/* Worst-case encoded size of a chunk of n bytes for any scheme (bound for output buffers). */
size_t weft_xet_compress_bound(size_t n);

/* Encodes n ≤ WEFT_XET_MAX_CHUNK_LEN bytes with `scheme` (NONE, LZ4, BG4_LZ4 or AUTO), appending
 * the payload to `out` and the scheme actually used to *scheme_out. Like xet-core, when the
 * compressed form is not strictly shorter than the input the chunk is stored raw (scheme NONE). */
WEFT_MUST_USE int weft_xet_compress(weft_buf *out, int *scheme_out, int scheme, const void *data,
                                    size_t n);

/* Decodes `in_len` bytes of payload in `scheme` into out[0..raw_len). raw_len ≤
 * WEFT_XET_MAX_CHUNK_LEN. Succeeds only if the payload decodes to exactly raw_len bytes (for
 * NONE: in_len == raw_len); never writes past out[raw_len). */
WEFT_MUST_USE int weft_xet_decompress(uint8_t *out, size_t raw_len, int scheme, const uint8_t *in,
                                      size_t in_len);

#endif
