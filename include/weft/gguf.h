/* GGUF v3 headers (specs/model-formats.md §1.1): parse and validate, serialize byte-identically.
 *
 * A file is: "GGUF" | u32 version (3) | u64 tensor_count | u64 kv_count | kv pairs | tensor infos
 * | zero padding to the alignment | tensor data (each tensor at its offset, zero padded to the
 * alignment). Like safetensors, everything but the tensor bytes sits at the front, so a reader
 * asks weft_gguf_header_need() how many leading bytes it needs (it cannot know up front: it
 * answers with a growing lower bound until the header is complete), then calls weft_gguf_parse().
 *
 * Validation (WEFT_ECORRUPT naming the key or tensor and the rule): magic; version 3 (2 is read
 * too: same layout); every string and count checked against the bytes left before anything is
 * allocated; value types 0..12, BOOL 0 or 1; arrays may nest (the spec allows it, ggml does not)
 * up to WEFT_GGUF_MAX_DEPTH; keys non-empty and unique; `general.alignment`, if present, a UINT32
 * power of two (default 32); tensor names non-empty, < 64 bytes, unique; 1..4 dimensions,
 * known ggml type, ne[0] a multiple of the type's block size, offsets exactly sequential from 0
 * (each the previous padded end, as ggml's reader demands); when the file size is known the
 * data must fit in it.
 *
 * Writing: weft_gguf_serialize() writes the header, kv pairs and tensor infos from the structure
 * and zero-pads to the alignment, so parse-then-serialize reproduces the first data_offset bytes
 * exactly (float values and strings are kept as raw bytes). The tensor data is the caller's to
 * append: tensor i at data_offset + offset, padded with zeros to weft_gguf_padded_size().
 *
 * Ownership: a weft_gguf and everything it points to is library-allocated and freed by
 * weft_gguf_free (accepts NULL); immutable after parse; no I/O, no globals, thread-safe on
 * distinct objects. Errors: WEFT_ECORRUPT bad bytes; WEFT_ELIMIT over a fixed bound (header
 * size, nesting depth); WEFT_EINVALID bad arguments (buffer shorter than needed); WEFT_ENOMEM.
 * Expected load: one parse per file inspected; headers of real models hold ~30k-entry token
 * arrays (a few MB). */
#ifndef WEFT_GGUF_H
#define WEFT_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"

#define WEFT_GGUF_MAGIC "GGUF"
#define WEFT_GGUF_DEFAULT_ALIGNMENT 32u
#define WEFT_GGUF_MAX_DIMS 4
#define WEFT_GGUF_MAX_NAME 64 /* tensor names are shorter than this (ggml's GGML_MAX_NAME) */
#define WEFT_GGUF_MAX_DEPTH 8 /* array nesting */
/* Weft's bound on the header (kv pairs + tensor infos): 256 MiB. */
#define WEFT_GGUF_MAX_HEADER_LEN (256ull << 20)
#define WEFT_GGUF_SIZE_UNKNOWN UINT64_MAX

/* Metadata value types (u32 on disk). */
typedef enum weft_gguf_type {
    WEFT_GGUF_UINT8 = 0,
    WEFT_GGUF_INT8 = 1,
    WEFT_GGUF_UINT16 = 2,
    WEFT_GGUF_INT16 = 3,
    WEFT_GGUF_UINT32 = 4,
    WEFT_GGUF_INT32 = 5,
    WEFT_GGUF_FLOAT32 = 6,
    WEFT_GGUF_BOOL = 7,
    WEFT_GGUF_STRING = 8,
    WEFT_GGUF_ARRAY = 9,
    WEFT_GGUF_UINT64 = 10,
    WEFT_GGUF_INT64 = 11,
    WEFT_GGUF_FLOAT64 = 12,
    WEFT_GGUF_TYPE_COUNT
} weft_gguf_type;

typedef struct weft_gguf_value {
    weft_gguf_type type;
    union {
        uint64_t u;        /* UINT8/16/32/64, BOOL */
        int64_t i;         /* INT8/16/32/64 */
        uint32_t f32_bits; /* FLOAT32, raw bits (exact round trip) */
        uint64_t f64_bits; /* FLOAT64, raw bits */
        struct {
            const char *p; /* NUL-terminated copy; may contain NUL, len is authoritative */
            uint64_t len;
        } str;
        struct {
            weft_gguf_type elem_type;
            uint64_t n;
            struct weft_gguf_value *items; /* n values of elem_type */
        } arr;
    } v;
} weft_gguf_value;

typedef struct weft_gguf_kv {
    const char *key; /* NUL-terminated copy, key_len bytes */
    uint64_t key_len;
    weft_gguf_value value;
} weft_gguf_kv;

typedef struct weft_gguf_tensor {
    const char *name; /* NUL-terminated copy, name_len bytes */
    uint64_t name_len;
    uint32_t n_dims;
    uint64_t ne[WEFT_GGUF_MAX_DIMS]; /* ggml order, innermost first; unused dims are 1 */
    uint32_t type;                   /* ggml type (weft_gguf_type_name) */
    uint64_t offset;                 /* relative to the data section */
    uint64_t abs_offset;             /* data_offset + offset: where the bytes are in the file */
    uint64_t numel;
    uint64_t size; /* bytes of data (without padding) */
} weft_gguf_tensor;

typedef struct weft_gguf {
    uint32_t version;
    uint32_t alignment; /* general.alignment or 32 */
    size_t n_kv;
    weft_gguf_kv *kv; /* in file order */
    size_t n_tensors;
    weft_gguf_tensor *tensors; /* in file order (which is offset order) */
    uint64_t info_end;         /* bytes of header + kv + tensor infos (before the padding) */
    uint64_t data_offset;      /* start of the data section: info_end aligned up */
    uint64_t data_len;         /* end of the last tensor's padded data, relative to data_offset */
} weft_gguf;

/* How many leading bytes weft_gguf_parse() needs, knowing the first `len`: 0 and *need, where
 * *need ≤ len means "enough" (it is then the exact data_offset) and *need > len is a lower bound
 * to fetch before asking again. WEFT_ECORRUPT/WEFT_ELIMIT when the bytes so far cannot start a
 * valid GGUF header. */
WEFT_MUST_USE int weft_gguf_header_need(uint64_t *need, const uint8_t *p, size_t len);

/* Parses and validates the header in the first `len` bytes (len ≥ data_offset; later bytes are
 * ignored). `file_size` or WEFT_GGUF_SIZE_UNKNOWN. *out is the caller's (weft_gguf_free). */
WEFT_MUST_USE int weft_gguf_parse(weft_gguf **out, const uint8_t *p, size_t len,
                                  uint64_t file_size);

/* Frees a parsed header (NULL is fine). */
void weft_gguf_free(weft_gguf *g);

/* Appends the header, kv pairs, tensor infos and zero padding up to the alignment to `out`
 * (exactly g->data_offset bytes for a parsed g). */
WEFT_MUST_USE int weft_gguf_serialize(weft_buf *out, const weft_gguf *g);

/* The key's value or NULL. Borrowed from g. */
const weft_gguf_value *weft_gguf_find(const weft_gguf *g, const char *key);

/* ggml type name ("F32", "Q4_K", ...) or NULL for an unknown type. Static string. */
const char *weft_gguf_type_name(uint32_t ggml_type);

/* Elements per block and bytes per block of a ggml type; 0 and both, or WEFT_EINVALID. */
WEFT_MUST_USE int weft_gguf_type_block(uint32_t ggml_type, uint32_t *block_elems,
                                       uint32_t *block_bytes);

/* Metadata value type name ("uint32", "array", ...) or "?" . Static string. */
const char *weft_gguf_value_type_name(weft_gguf_type t);

/* `size` rounded up to the file's alignment (a tensor's footprint in the data section). */
uint64_t weft_gguf_padded_size(const weft_gguf *g, uint64_t size);

#endif
