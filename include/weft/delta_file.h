/* Portable delta files (`weft delta create/apply`): a safetensors fine-tune stored as its
 * difference from a base model, rebuilt bit-exactly from the base and the delta alone
 * (specs/xet-storage.md §4.1 lossless deltas, §4.2 BitDelta-style 1-bit deltas). The format is
 * described byte by byte in docs/internals/codecs.md ("Portable delta files"):
 *
 *   prologue (136 bytes): "WEFTDLTA", version, lossy kind, size and SHA-256 of the base, size
 *                         and SHA-256 of the result, SHA-256 of the fine-tune it was made from,
 *                         length of the fine-tune's safetensors header;
 *   the fine-tune's header bytes, verbatim;
 *   segments up to the end of the file, each producing the next bytes of the result:
 *     FRAME  a weight frame (weight_codec.h) of ≤ 1 MiB whose spans are laid out by
 *            weft_weight_layout over the fine-tune's tensors matched to the base's
 *            (tensor_match.h; base_ref = offset in the base file);
 *     QUANT  (lossy files only) one whole tensor as base + scale × q, q the quantized delta:
 *            int8 / int4 symmetric with one scale per tensor (max |delta| / 127 or / 7), or
 *            1 bit per element with one scale per tensor (mean |delta|), codes entropy-coded
 *            in blocks of WEFT_DELTA_QBLOCK elements.
 *
 * Lossless files reproduce the fine-tune. Lossy files (an explicit choice, never made by the
 * store) reproduce a file R whose SHA-256 the creator computed: R is the fine-tune's header and
 * untouched tensors, and for each quantized tensor base + dequantized delta computed in double,
 * rounded to float32 and then to the tensor's dtype (round to nearest even); elements whose code
 * is 0 keep the base's bits.
 *
 * Hashing is the caller's (lib/tensor does no I/O and no crypto): the encoder hands back each
 * piece of the result beside the coded bytes so the caller can hash R, and writes the prologue
 * last. Encoder and reader work on whole buffers (mmap'ed files) and produce bounded pieces, so
 * memory stays at a few MiB whatever the model's size.
 *
 * Ownership: encoder and reader borrow the buffers given to _new/_open until _free; pieces they
 * hand out are borrowed until the next call. One thread per object; distinct objects are
 * independent. Errors: WEFT_EINVALID bad arguments (a fine-tune or base that is not safetensors,
 * a base of the wrong size), WEFT_ECORRUPT a malformed delta file (every length, offset and
 * count is checked before use: reading never leaves the buffers), WEFT_ELIMIT, WEFT_ENOMEM. */
#ifndef WEFT_DELTA_FILE_H
#define WEFT_DELTA_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

#define WEFT_DELTA_VERSION 1
#define WEFT_DELTA_PROLOGUE_LEN 136u
/* Most bytes of the result one piece holds (a frame's chunk, or a block of F32 elements). */
#define WEFT_DELTA_PIECE_MAX (1u << 20)
/* Elements per quantized block. */
#define WEFT_DELTA_QBLOCK (1u << 18)

/* Kinds of delta; the values are stored in the prologue. */
enum {
    WEFT_DELTA_LOSSLESS = 0,
    WEFT_DELTA_INT8 = 1,
    WEFT_DELTA_INT4 = 2,
    WEFT_DELTA_1BIT = 3,
};

/* Segment kinds. */
enum {
    WEFT_DELTA_SEG_FRAME = 1,
    WEFT_DELTA_SEG_QUANT = 2,
};

/* What a delta file says about itself. */
typedef struct weft_delta_info {
    unsigned version;
    int kind;                  /* WEFT_DELTA_LOSSLESS .. WEFT_DELTA_1BIT */
    uint64_t base_size;        /* bytes of the base file */
    uint8_t base_sha256[32];   /* of the base file */
    uint64_t result_size;      /* bytes of the file apply produces (the fine-tune's size) */
    uint8_t result_sha256[32]; /* of that file: the fine-tune's when lossless */
    uint8_t source_sha256[32]; /* of the fine-tune the delta was made from */
    uint64_t header_len;       /* the fine-tune's safetensors header: 8 + N bytes */
    const uint8_t *header;     /* borrowed: from the delta (reader) or the fine-tune (encoder) */
} weft_delta_info;

/* "lossless", "int8", "int4", "1bit", or NULL. */
const char *weft_delta_kind_name(int kind);

/* The kind named `name` ("int8", "int4", "1bit"; "lossless"), or -1. */
int weft_delta_kind_from_name(const char *name);

/* Writes the prologue of `info` (header bytes not included) into out. */
void weft_delta_prologue_encode(uint8_t out[WEFT_DELTA_PROLOGUE_LEN], const weft_delta_info *info);

/* ---- creating ---------------------------------------------------------------------------- */

typedef struct weft_delta_encoder weft_delta_encoder;

/* One step of the encoder: bytes to append to the delta file, and the bytes of the result
 * file they stand for (at result_offset). Both borrowed until the next call. */
typedef struct weft_delta_piece {
    const uint8_t *coded;
    size_t coded_len;
    const uint8_t *result;
    size_t result_len;
    uint64_t result_offset;
} weft_delta_piece;

/* Error a lossy delta introduced in one tensor (all zero for tensors kept exact). */
typedef struct weft_delta_tensor_error {
    const char *name; /* borrowed from the encoder */
    int quantized;    /* 1 if the tensor was quantized */
    uint64_t numel;
    double err_sq;   /* sum of (rebuilt - ft)^2 */
    double delta_sq; /* sum of (ft - base)^2 */
    double ft_sq;    /* sum of ft^2 */
    double max_abs;  /* max |rebuilt - ft| */
} weft_delta_tensor_error;

/* An encoder of `ft` against `base` (both whole safetensors files, borrowed until _free), kind
 * WEFT_DELTA_*. Parses both headers and matches the tensors; for lossy kinds it also reads
 * every matched float tensor once to choose its scale. *out is the caller's. */
WEFT_MUST_USE int weft_delta_encoder_new(weft_delta_encoder **out, const uint8_t *base,
                                         uint64_t base_len, const uint8_t *ft, uint64_t ft_len,
                                         int kind);
void weft_delta_encoder_free(weft_delta_encoder *e);

/* Sizes, kind and header of the delta being made (the hashes are left zero: the caller fills
 * them before weft_delta_prologue_encode). Borrowed. */
const weft_delta_info *weft_delta_encoder_info(const weft_delta_encoder *e);

/* Matched tensors / tensors with data in the fine-tune. */
void weft_delta_encoder_counts(const weft_delta_encoder *e, size_t *matched, size_t *tensors);

/* The next segment piece (after the prologue and the header bytes, which the caller writes).
 * At the end: 0 with piece->coded_len == 0. */
WEFT_MUST_USE int weft_delta_encoder_next(weft_delta_encoder *e, weft_delta_piece *piece);

/* Per-tensor errors (in file order; valid after the last piece), borrowed. */
const weft_delta_tensor_error *weft_delta_encoder_errors(const weft_delta_encoder *e, size_t *n);

/* ---- applying ---------------------------------------------------------------------------- */

typedef struct weft_delta_reader weft_delta_reader;

/* Opens a delta file held in delta[0..len) against `base` (base_len bytes; both borrowed until
 * _free): checks the prologue, the header and that base_len is the base size it names
 * (WEFT_EINVALID if not; the SHA-256 is the caller's to check). *out is the caller's. */
WEFT_MUST_USE int weft_delta_reader_open(weft_delta_reader **out, const uint8_t *delta, size_t len,
                                         const uint8_t *base, uint64_t base_len);
void weft_delta_reader_free(weft_delta_reader *r);

/* Reads only the prologue and header of a delta file (for `info`-like uses, no base needed). */
WEFT_MUST_USE int weft_delta_info_parse(weft_delta_info *out, const uint8_t *delta, size_t len);

/* Borrowed until _free. */
const weft_delta_info *weft_delta_reader_info(const weft_delta_reader *r);

/* Decodes the next piece of the result (≤ WEFT_DELTA_PIECE_MAX bytes) into out[0..cap), cap ≥
 * WEFT_DELTA_PIECE_MAX; the pieces in order are the whole file, header first. At the end: 0
 * with *out_len == 0, after checking nothing follows the last segment. */
WEFT_MUST_USE int weft_delta_reader_next(weft_delta_reader *r, uint8_t *out, size_t cap,
                                         size_t *out_len);

#endif
