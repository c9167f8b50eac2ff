/* Weight codecs: lossless compression of one stored chunk of a model file, tensor-aware
 * (specs/xet-storage.md §3 ZipNN-style byte grouping, §4.1 lossless fine-tune deltas).
 *
 * The unit is a frame: the coded form of one chunk (a Xet chunk of 8–128 KiB, cut anywhere, so
 * it may start or end inside an element and span several tensors and the file header). The
 * caller describes the chunk with a layout: spans in order, covering it exactly, each with a
 * dtype (RAW for bytes that are not float weights) and, for fine-tune bytes, the matching bytes
 * of the base tensor. Each span is coded with the best of:
 *   - STORED    the bytes verbatim;
 *   - ENTROPY   one order-0 entropy block (entropy.h) of the bytes;
 *   - FLOAT     byte planes of the elements: BF16/FP16 words are rotated left by one bit so the
 *               exponent fills the high byte (BF16: exactly the 8 exponent bits; the low byte
 *               is 7 mantissa bits and the sign); FP32 likewise with 4 planes. Each plane is
 *               one entropy block (stored when coding does not save);
 *   - DIFF      (needs the base) ordered-integer difference: each word w maps to
 *               o(w) = w ^ (negative ? all ones : sign bit), a bijective monotone map onto
 *               unsigned integers; d = o(fine) - o(base) mod 2^16 (FP32: 2^32), zigzag-coded,
 *               split into byte planes (high first), each an entropy block;
 *   - XOR       (needs the base) fine ^ base, rotated as in FLOAT, in byte planes.
 *   - DIFF_ESC  (needs the base) the DIFF value z as one byte plane min(z, 255), and for each
 *               element where z ≥ 255 the value z - 255 in escape byte planes (high first):
 *               small moves cost one symbol instead of two, so fine-tunes code smaller and
 *               decode faster than with DIFF.
 *   - DIFF_CTX  (needs the base) the DIFF_ESC symbols and escapes in up to 4 classes by the
 *               magnitude of the base element (class boundaries and sizes in the payload),
 *               each class with its own entropy blocks: a move is about δ/ulp(base) units, so
 *               its spread depends on the base exponent, which the decoder already has.
 *   - DIFF_SHIFT (needs the base) DIFF_CTX where each class also has a shift s: its symbols
 *               are min(z >> s, 255), the low s bits of each z go verbatim into s bit planes,
 *               an escape holds (z >> s) - 255. Large moves have near-uniform low bits, so
 *               this costs a few per cent at most and makes the symbols short, which the
 *               entropy decoder takes several per lookup: fine-tunes decode about twice as
 *               fast. The encoder writes it instead of DIFF_CTX; DIFF_CTX frames still decode.
 * Partial elements at either end of a span (a chunk cut inside an element) are kept verbatim.
 * Every bit pattern round-trips exactly (NaNs, ±0, infinities, subnormals).
 *
 * Frame layout (byte by byte in docs/internals/codecs.md; varints are LEB128, ≤ 5 bytes):
 *   "WTC" 0x01        magic and version
 *   varint raw_len    decoded bytes (≤ WEFT_WEIGHT_FRAME_MAX)
 *   varint n_spans    (≥ 1, ≤ WEFT_WEIGHT_MAX_SPANS)
 *   per span: u8 method, u8 dtype, u8 phase, varint len, varint payload_len,
 *             [varint64 base_ref, only for the methods that need the base], payload
 * A frame decodes alone, given for DIFF/XOR spans the base bytes of that span; the frame keeps
 * each such span's offset, length and the caller's opaque base_ref so the caller can find them.
 *
 * Threading and ownership: the codec functions are pure (no I/O, no globals); a
 * weft_weight_codec holds scratch memory, belongs to one thread at a time, and is reused across
 * frames so steady-state coding does not allocate. All buffers are the caller's.
 * Errors: WEFT_EINVALID (a layout that does not cover the data, bad dtype or phase),
 * WEFT_ELIMIT (over the frame or span bounds, or an output capacity too small), WEFT_ECORRUPT
 * (a malformed frame: decoding never reads or writes out of bounds), WEFT_ENOMEM. Expected
 * load: BF16 encode ≥ 1.2 GB/s and decode ≥ 3 GB/s per core. */
#ifndef WEFT_WEIGHT_CODEC_H
#define WEFT_WEIGHT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

/* Largest chunk a frame codes, and most spans in one frame. */
#define WEFT_WEIGHT_FRAME_MAX (1u << 20)
#define WEFT_WEIGHT_MAX_SPANS 65536u

/* Element types; the values are stored in frames. */
enum {
    WEFT_WEIGHT_RAW = 0, /* not float weights: the header, integers, quantized blocks, ... */
    WEFT_WEIGHT_BF16 = 1,
    WEFT_WEIGHT_F16 = 2,
    WEFT_WEIGHT_F32 = 3,
};

/* Span coding methods; the values are stored in frames. */
enum {
    WEFT_WEIGHT_STORED = 0,
    WEFT_WEIGHT_ENTROPY = 1,
    WEFT_WEIGHT_FLOAT = 2,
    WEFT_WEIGHT_DIFF = 3,
    WEFT_WEIGHT_XOR = 4,
    WEFT_WEIGHT_DIFF_ESC = 5,
    WEFT_WEIGHT_DIFF_CTX = 6,
    WEFT_WEIGHT_DIFF_SHIFT = 7,
};

/* One span of a chunk's layout, as the caller describes it to the encoder. */
typedef struct weft_weight_span {
    size_t len;          /* bytes of the chunk in this span (> 0) */
    int dtype;           /* WEFT_WEIGHT_* */
    unsigned phase;      /* bytes of the element the span starts in that lie before the span:
                            (span start - tensor data start) mod element size; 0 for RAW */
    const uint8_t *base; /* NULL, or len bytes of the base tensor at the same positions (same
                            dtype and phase): the span may then be coded as a delta */
    uint64_t base_ref;   /* the caller's opaque tag for the base bytes, kept in the frame */
} weft_weight_span;

/* One span of a frame, as the parser reports it. */
typedef struct weft_weight_span_info {
    size_t offset;     /* position of the span in the decoded chunk */
    size_t len;        /* decoded bytes */
    int dtype;         /* WEFT_WEIGHT_* */
    unsigned phase;    /* as in weft_weight_span */
    int method;        /* WEFT_WEIGHT_STORED .. DIFF_SHIFT */
    int needs_base;    /* 1 for DIFF, XOR, DIFF_ESC/CTX/SHIFT: decoding needs len base bytes */
    uint64_t base_ref; /* as given to the encoder (0 unless needs_base) */
    size_t coded_len;  /* payload bytes in the frame */
} weft_weight_span_info;

/* A tensor's data in a file, for weft_weight_layout: regions are sorted by offset and do not
 * overlap; bytes outside every region (the file header, padding) are RAW. */
typedef struct weft_weight_region {
    uint64_t offset;     /* file offset of the first data byte */
    uint64_t len;        /* data bytes */
    int dtype;           /* WEFT_WEIGHT_* (RAW for dtypes the codecs do not model) */
    const uint8_t *base; /* NULL, or len bytes of the matching base tensor (same dtype, shape) */
    uint64_t base_ref;   /* the caller's tag for the base tensor's first byte; a span starting
                            k bytes into the region gets base_ref + k (UINT64_MAX: no base
                            tensor, passed on as is), also when base is NULL, so a caller that
                            reads base bytes itself knows where they are */
} weft_weight_region;

typedef struct weft_weight_codec weft_weight_codec;

/* A codec context with its scratch memory; free with weft_weight_codec_free. */
WEFT_MUST_USE int weft_weight_codec_new(weft_weight_codec **out);
void weft_weight_codec_free(weft_weight_codec *c);

/* Bytes of one element of a dtype (RAW: 1), or 0 if the value is not a WEFT_WEIGHT_* dtype. */
size_t weft_weight_dtype_size(int dtype);

/* "raw", "bf16", "f16", "f32", or NULL. */
const char *weft_weight_dtype_name(int dtype);

/* "stored", "entropy", "float", "diff", "xor", "diff-esc", "diff-ctx", "diff-shift", or NULL. */
const char *weft_weight_method_name(int method);

/* The layout of the chunk at file bytes [start, start + len): spans in order (adjacent RAW bytes
 * merged), phases from each region's offset, base pointers advanced to the span. Writes at
 * most max_spans spans and sets *n_spans_out; WEFT_ELIMIT if more are needed, WEFT_EINVALID if
 * the regions are unsorted or overlap. */
WEFT_MUST_USE int weft_weight_layout(weft_weight_span *spans, size_t max_spans, size_t *n_spans_out,
                                     const weft_weight_region *regions, size_t n_regions,
                                     uint64_t start, size_t len);

/* Capacity that always suffices for the frame of a len-byte chunk cut into n_spans spans. */
size_t weft_weight_frame_bound(size_t len, size_t n_spans);

/* Encodes data[0..len) described by spans[0..n_spans) (their lengths sum to len) into
 * out[0..cap); *out_len gets the frame's length. Never fails for lack of room when cap ≥
 * weft_weight_frame_bound(len, n_spans). Base bytes are read only during the call. */
WEFT_MUST_USE int weft_weight_frame_encode(weft_weight_codec *c, uint8_t *out, size_t cap,
                                           size_t *out_len, const uint8_t *data, size_t len,
                                           const weft_weight_span *spans, size_t n_spans);

/* Parses a frame's structure without decoding: *raw_len_out gets the decoded size and
 * *n_spans_out the span count; up to max_spans entries of `spans` (may be NULL when max_spans
 * is 0) are filled. Checks everything decoding checks except the payloads' contents. */
WEFT_MUST_USE int weft_weight_frame_parse(size_t *raw_len_out, size_t *n_spans_out,
                                          weft_weight_span_info *spans, size_t max_spans,
                                          const uint8_t *frame, size_t frame_len);

/* Decodes a frame into out[0..cap); *out_len gets the decoded size. bases has n_bases entries
 * indexed by span number (as in weft_weight_frame_parse); entry i must hold the span's len base
 * bytes when span i needs a base, and is ignored otherwise (bases may be NULL when no span
 * needs one). A missing base is WEFT_EINVALID; a frame that is malformed in any way is
 * WEFT_ECORRUPT. */
WEFT_MUST_USE int weft_weight_frame_decode(weft_weight_codec *c, uint8_t *out, size_t cap,
                                           size_t *out_len, const uint8_t *frame, size_t frame_len,
                                           const uint8_t *const *bases, size_t n_bases);

#endif
