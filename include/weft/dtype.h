/* Tensor element types of safetensors (specs/model-formats.md §8): names, widths in bits, and
 * the value of one element as a double (for diffs and statistics).
 *
 * The enum order is the reference writer's order (the `safetensors` crate's Dtype enum), so
 * "sort by dtype descending" is a sort by enum value descending. Widths are in bits because F4
 * (4) and F6_* (6) are narrower than a byte; every other type is a whole number of bytes. C64
 * is a complex number of two float32 (real, imaginary).
 *
 * Pure functions on constant tables: no allocation, no I/O, thread-safe. Errors: an unknown
 * name is WEFT_EINVALID with a message naming it. */
#ifndef WEFT_DTYPE_H
#define WEFT_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef enum weft_dtype {
    WEFT_DTYPE_BOOL = 0,
    WEFT_DTYPE_F4,      /* MXFP4 element (E2M1), two per byte */
    WEFT_DTYPE_F6_E2M3, /* 6-bit floats; packing is not specified by safetensors */
    WEFT_DTYPE_F6_E3M2,
    WEFT_DTYPE_U8,
    WEFT_DTYPE_I8,
    WEFT_DTYPE_F8_E5M2,
    WEFT_DTYPE_F8_E4M3, /* the "fn" variant: no infinities, one NaN pattern */
    WEFT_DTYPE_F8_E8M0, /* a power of two (MX scale) */
    WEFT_DTYPE_F8_E4M3FNUZ,
    WEFT_DTYPE_F8_E5M2FNUZ,
    WEFT_DTYPE_I16,
    WEFT_DTYPE_U16,
    WEFT_DTYPE_F16,
    WEFT_DTYPE_BF16,
    WEFT_DTYPE_I32,
    WEFT_DTYPE_U32,
    WEFT_DTYPE_F32,
    WEFT_DTYPE_C64,
    WEFT_DTYPE_F64,
    WEFT_DTYPE_I64,
    WEFT_DTYPE_U64,
    WEFT_DTYPE_COUNT
} weft_dtype;

/* The safetensors name ("BF16"), or "?" for a value out of range. Static string. */
const char *weft_dtype_name(weft_dtype dt);

/* Looks up a safetensors dtype name (exact, case-sensitive, `len` bytes, need not be
 * NUL-terminated). 0 and *out, or WEFT_EINVALID for an unknown name. */
WEFT_MUST_USE int weft_dtype_from_name(weft_dtype *out, const char *name, size_t len);

/* Bits per element (8 for BOOL, 4 for F4, 64 for C64); 0 for a value out of range. */
unsigned weft_dtype_bits(weft_dtype dt);

/* 1 for floating types (F*, BF16, C64), 0 for BOOL and integers. */
int weft_dtype_is_float(weft_dtype dt);

/* Bytes taken by `numel` elements: 0 and *out, or WEFT_ECORRUPT when numel × bits is not a
 * multiple of 8 (the spec's rule) and WEFT_ELIMIT when it overflows 64 bits. */
WEFT_MUST_USE int weft_dtype_nbytes(uint64_t *out, weft_dtype dt, uint64_t numel);

/* Number of scalar values weft_dtype_value() indexes in `numel` elements: numel, except C64
 * (2 × numel: real and imaginary parts as separate scalars). Saturates at UINT64_MAX. */
uint64_t weft_dtype_n_scalars(weft_dtype dt, uint64_t numel);

/* Scalar `i` of a little-endian element array `data` as a double (exact for every type but
 * I64/U64 beyond 2^53). For F4 element i is nibble i (low nibble first); for C64 scalar i is
 * the i-th float32. F6_* have no agreed packing: they read as NaN. The caller guarantees data
 * holds scalar i. */
double weft_dtype_value(weft_dtype dt, const uint8_t *data, uint64_t i);

/* Half-precision helpers, exact: IEEE binary16 and bfloat16 bit patterns to double. */
double weft_f16_to_double(uint16_t h);
double weft_bf16_to_double(uint16_t h);

#endif
