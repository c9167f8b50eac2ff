/* Safetensors headers (specs/model-formats.md §8): parse and validate, build, serialize.
 *
 * A file is `u64 N` (LE) ‖ N bytes of JSON ‖ data. Only the first 8 + N bytes are needed to
 * know every tensor, so a reader (local pread or a remote Range request) asks
 * weft_st_header_need() how many leading bytes to get — 8 at first, then 8 + N — and hands
 * exactly those to weft_st_parse(). Tensor bytes are never touched here: tensor i lives at
 * [abs_begin, abs_end) of the file.
 *
 * Validation (every rule of the spec; a violation is WEFT_ECORRUPT naming the tensor and the
 * rule): N ≤ WEFT_ST_MAX_HEADER_LEN; the header is UTF-8 JSON (leading and trailing whitespace
 * tolerated, as the reference reader does) holding one object, no duplicate keys;
 * `__metadata__`, if present, is an object of string → string; every other key is a tensor
 * with exactly the fields dtype (a known name), shape (array of non-negative integers) and
 * data_offsets ([begin, end], begin ≤ end); end − begin = numel × bits / 8 with numel × bits a
 * multiple of 8; sorted by offset the tensors tile the data from 0 with no gap or overlap; and
 * when the file size is known, 8 + N + last end == file size. Names must not contain NUL.
 *
 * Writing follows the reference writer (the `safetensors` crate behind the Python package):
 * weft_st_layout() orders tensors by dtype descending, then by name (bytewise), and assigns
 * contiguous offsets; weft_st_serialize() writes `u64 N` and compact JSON with `__metadata__`
 * first and the tensors in array order, each as {"dtype","shape","data_offsets"}, padded with
 * spaces so the data starts at a multiple of 8. Files written with every object's keys sorted
 * (Python json.dumps(sort_keys=True), as those in ../shared/data are) are reproduced with
 * WEFT_ST_KEYS_SORTED; weft_st_parse() detects which of the two a file uses (h->flags), so
 * serialize(parse(file), h->flags) gives the file's header bytes back when it was written by
 * either writer. JSON strings are escaped as serde_json does (", \, and control characters;
 * everything else, non-ASCII included, verbatim).
 *
 * Ownership: a weft_st_header and everything it points to (names, shapes, metadata strings)
 * are allocated by the library in one block and freed by weft_st_header_free (accepts NULL).
 * A header is immutable after parse; one being built is owned by one thread. No I/O, no
 * globals: thread-safe on distinct headers.
 *
 * Errors (message via weft_err_last()): WEFT_ECORRUPT the bytes break a rule above;
 * WEFT_ELIMIT over a fixed bound (header size, rank, count of tensors); WEFT_EINVALID a bad
 * argument to a builder function (duplicate name, unknown dtype, buffer shorter than
 * weft_st_header_need says); WEFT_ENOMEM. Expected load: one parse per file inspected or read;
 * headers are at most a few MB (thousands of tensors). */
#ifndef WEFT_SAFETENSORS_H
#define WEFT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/dtype.h"
#include "weft/err.h"

/* The reference reader's bound on N (100,000,000 bytes). */
#define WEFT_ST_MAX_HEADER_LEN 100000000ull
/* Weft's own bounds: dimensions per tensor. */
#define WEFT_ST_MAX_RANK 32
/* Pass as file_size when it is not known (remote header without a size, streams). */
#define WEFT_ST_SIZE_UNKNOWN UINT64_MAX

/* Serialization flags (h->flags after a parse says which the file used). */
#define WEFT_ST_KEYS_SORTED 1u /* every object's keys sorted bytewise, tensors included */

typedef struct weft_st_tensor {
    const char *name; /* NUL-terminated (no NUL inside), name_len bytes */
    size_t name_len;
    weft_dtype dtype;
    uint32_t rank;         /* 0 for a scalar */
    const uint64_t *shape; /* rank dimensions, outermost first */
    uint64_t numel;        /* product of shape (1 for a scalar) */
    uint64_t begin, end;   /* data_offsets: relative to the start of the data, end exclusive */
    uint64_t abs_begin;    /* begin + 8 + N: where the bytes are in the file */
    uint64_t abs_end;
    size_t header_index; /* position of the entry in the JSON object (tensors only) */
} weft_st_tensor;

typedef struct weft_st_meta {
    const char *key; /* NUL-terminated, key_len bytes */
    size_t key_len;
    const char *value; /* NUL-terminated, value_len bytes */
    size_t value_len;
} weft_st_meta;

typedef struct weft_st_header {
    uint64_t header_len; /* N: bytes of JSON including padding (after parse or serialize) */
    uint64_t data_start; /* 8 + N */
    uint64_t data_len;   /* end of the last tensor (0 without tensors) */
    unsigned flags;      /* WEFT_ST_KEYS_SORTED if the parsed file had every key sorted */
    int has_metadata;    /* a __metadata__ object was present (possibly empty) */
    size_t n_meta;
    weft_st_meta *meta; /* in header order */
    size_t n_tensors;
    weft_st_tensor *tensors; /* in file order: by begin (empty tensors by header order) */
} weft_st_header;

/* How many leading bytes of a file weft_st_parse() needs, knowing its first `len` bytes:
 * 8 while len < 8, then 8 + N. 0 and *need, or WEFT_ECORRUPT/WEFT_ELIMIT when N is over the
 * bound (the file cannot be a safetensors file). */
WEFT_MUST_USE int weft_st_header_need(uint64_t *need, const uint8_t *p, size_t len);

/* Parses and validates the header in the first `len` bytes of a file (len ≥ what
 * weft_st_header_need says; bytes past 8 + N are ignored). `file_size` is the whole file's
 * size or WEFT_ST_SIZE_UNKNOWN (then only the end-of-file rule is skipped). *out is the
 * caller's (weft_st_header_free). */
WEFT_MUST_USE int weft_st_parse(weft_st_header **out, const uint8_t *p, size_t len,
                                uint64_t file_size);

/* Frees a header (NULL is fine). */
void weft_st_header_free(weft_st_header *h);

/* The tensor named `name` (name_len bytes), or NULL. Borrowed from h. O(log n) after
 * weft_st_parse/weft_st_layout, O(n) on a header being built. */
const weft_st_tensor *weft_st_find(const weft_st_header *h, const char *name, size_t name_len);

/* Builder: an empty header to fill with weft_st_add_meta/weft_st_add_tensor. */
WEFT_MUST_USE int weft_st_header_new(weft_st_header **out);

/* Appends a metadata pair (copied); sets has_metadata. Duplicate keys are WEFT_EINVALID. */
WEFT_MUST_USE int weft_st_add_meta(weft_st_header *h, const char *key, const char *value);

/* Appends a tensor (name and shape copied; offsets left 0 until weft_st_layout). */
WEFT_MUST_USE int weft_st_add_tensor(weft_st_header *h, const char *name, weft_dtype dtype,
                                     uint32_t rank, const uint64_t *shape);

/* Orders the tensors as the reference writer does (dtype descending, then name) and assigns
 * contiguous offsets from 0; data_len becomes the total. Absolute offsets are set by
 * weft_st_serialize (they depend on N). */
WEFT_MUST_USE int weft_st_layout(weft_st_header *h);

/* Appends `u64 N` ‖ the padded JSON header to `out` (tensors in array order with their
 * begin/end as they are), and updates h->header_len, data_start and every abs_* offset.
 * `flags`: 0 (the reference writer) or WEFT_ST_KEYS_SORTED. The data itself is the caller's
 * to append (tensor i's bytes at out position data_start + begin). */
WEFT_MUST_USE int weft_st_serialize(weft_buf *out, weft_st_header *h, unsigned flags);

/* Parameter counts by dtype: counts[d] += numel of every tensor of dtype d (array of
 * WEFT_DTYPE_COUNT); returns the total. */
uint64_t weft_st_count_params(const weft_st_header *h, uint64_t counts[WEFT_DTYPE_COUNT]);

#endif
