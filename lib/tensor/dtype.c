/* Tensor element types (include/weft/dtype.h): the name and width table, and element decoding
 * for diffs. Decoding is the readable scalar reference; it is only used for statistics. */
#include "weft/dtype.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bits;
    int is_float;
} dtype_table[WEFT_DTYPE_COUNT] = {
    [WEFT_DTYPE_BOOL] = {"BOOL", 8, 0},
    [WEFT_DTYPE_F4] = {"F4", 4, 1},
    [WEFT_DTYPE_F6_E2M3] = {"F6_E2M3", 6, 1},
    [WEFT_DTYPE_F6_E3M2] = {"F6_E3M2", 6, 1},
    [WEFT_DTYPE_U8] = {"U8", 8, 0},
    [WEFT_DTYPE_I8] = {"I8", 8, 0},
    [WEFT_DTYPE_F8_E5M2] = {"F8_E5M2", 8, 1},
    [WEFT_DTYPE_F8_E4M3] = {"F8_E4M3", 8, 1},
    [WEFT_DTYPE_F8_E8M0] = {"F8_E8M0", 8, 1},
    [WEFT_DTYPE_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8, 1},
    [WEFT_DTYPE_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8, 1},
    [WEFT_DTYPE_I16] = {"I16", 16, 0},
    [WEFT_DTYPE_U16] = {"U16", 16, 0},
    [WEFT_DTYPE_F16] = {"F16", 16, 1},
    [WEFT_DTYPE_BF16] = {"BF16", 16, 1},
    [WEFT_DTYPE_I32] = {"I32", 32, 0},
    [WEFT_DTYPE_U32] = {"U32", 32, 0},
    [WEFT_DTYPE_F32] = {"F32", 32, 1},
    [WEFT_DTYPE_C64] = {"C64", 64, 1},
    [WEFT_DTYPE_F64] = {"F64", 64, 1},
    [WEFT_DTYPE_I64] = {"I64", 64, 0},
    [WEFT_DTYPE_U64] = {"U64", 64, 0},
};

static int dtype_valid(weft_dtype dt)
{
    return (unsigned)dt < WEFT_DTYPE_COUNT;
}

const char *weft_dtype_name(weft_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].name : "?";
}

int weft_dtype_from_name(weft_dtype *out, const char *name, size_t len)
{
    for (unsigned i = 0; i < WEFT_DTYPE_COUNT; i++) {
        if (strlen(dtype_table[i].name) == len && memcmp(dtype_table[i].name, name, len) == 0) {
            *out = (weft_dtype)i;
            return 0;
        }
    }
    return weft_err_set(WEFT_EINVALID, "unknown dtype \"%.*s\"", (int)(len > 32 ? 32 : len), name);
}

unsigned weft_dtype_bits(weft_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].bits : 0;
}

int weft_dtype_is_float(weft_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].is_float : 0;
}

int weft_dtype_nbytes(uint64_t *out, weft_dtype dt, uint64_t numel)
{
    uint64_t bits;
    if (!dtype_valid(dt))
        return weft_err_set(WEFT_EINVALID, "dtype %d out of range", (int)dt);
    if (__builtin_mul_overflow(numel, (uint64_t)dtype_table[dt].bits, &bits))
        return weft_err_set(WEFT_ELIMIT, "%" PRIu64 " elements of %s overflow 64 bits", numel,
                            dtype_table[dt].name);
    if (bits % 8 != 0)
        return weft_err_set(WEFT_ECORRUPT, "%" PRIu64 " elements of %s are not a whole byte count",
                            numel, dtype_table[dt].name);
    *out = bits / 8;
    return 0;
}

uint64_t weft_dtype_n_scalars(weft_dtype dt, uint64_t numel)
{
    if (dt != WEFT_DTYPE_C64)
        return numel;
    return numel > UINT64_MAX / 2 ? UINT64_MAX : numel * 2;
}

/* A small float with `mbits` mantissa bits and exponent bias `bias` (no special values: the
 * callers handle NaN/inf patterns first). */
static double minifloat(unsigned sign, unsigned e, unsigned m, int mbits, int bias)
{
    double v;
    if (e == 0)
        v = ldexp((double)m, 1 - bias - mbits);
    else
        v = ldexp((double)((1u << mbits) | m), (int)e - bias - mbits);
    return sign ? -v : v;
}

double weft_f16_to_double(uint16_t h)
{
    unsigned sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f)
        return m ? NAN : (sign ? -INFINITY : INFINITY);
    return minifloat(sign, e, m, 10, 15);
}

double weft_bf16_to_double(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return (double)f;
}

static uint64_t load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

double weft_dtype_value(weft_dtype dt, const uint8_t *data, uint64_t i)
{
    switch (dt) {
    case WEFT_DTYPE_BOOL: return data[i] != 0;
    case WEFT_DTYPE_F4: {
        unsigned nib = (data[i / 2] >> (4 * (unsigned)(i % 2))) & 0xf;
        return minifloat(nib >> 3, (nib >> 1) & 3, nib & 1, 1, 1);
    }
    case WEFT_DTYPE_F6_E2M3:
    case WEFT_DTYPE_F6_E3M2: return NAN;
    case WEFT_DTYPE_U8: return data[i];
    case WEFT_DTYPE_I8: return (int8_t)data[i];
    case WEFT_DTYPE_F8_E5M2: return weft_f16_to_double((uint16_t)(data[i] << 8));
    case WEFT_DTYPE_F8_E4M3: {
        unsigned b = data[i];
        if ((b & 0x7f) == 0x7f)
            return NAN;
        return minifloat(b >> 7, (b >> 3) & 0xf, b & 7, 3, 7);
    }
    case WEFT_DTYPE_F8_E8M0: return data[i] == 0xff ? NAN : ldexp(1.0, (int)data[i] - 127);
    case WEFT_DTYPE_F8_E4M3FNUZ: {
        unsigned b = data[i];
        if (b == 0x80)
            return NAN;
        return minifloat(b >> 7, (b >> 3) & 0xf, b & 7, 3, 8);
    }
    case WEFT_DTYPE_F8_E5M2FNUZ: {
        unsigned b = data[i];
        if (b == 0x80)
            return NAN;
        return minifloat(b >> 7, (b >> 2) & 0x1f, b & 3, 2, 16);
    }
    case WEFT_DTYPE_I16: return (int16_t)load_le(data + 2 * i, 2);
    case WEFT_DTYPE_U16: return (double)load_le(data + 2 * i, 2);
    case WEFT_DTYPE_F16: return weft_f16_to_double((uint16_t)load_le(data + 2 * i, 2));
    case WEFT_DTYPE_BF16: return weft_bf16_to_double((uint16_t)load_le(data + 2 * i, 2));
    case WEFT_DTYPE_I32: return (int32_t)load_le(data + 4 * i, 4);
    case WEFT_DTYPE_U32: return (double)load_le(data + 4 * i, 4);
    case WEFT_DTYPE_F32:
    case WEFT_DTYPE_C64: {
        uint32_t bits = (uint32_t)load_le(data + 4 * i, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        return (double)f;
    }
    case WEFT_DTYPE_F64: {
        uint64_t bits = load_le(data + 8 * i, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    case WEFT_DTYPE_I64: return (double)(int64_t)load_le(data + 8 * i, 8);
    case WEFT_DTYPE_U64: return (double)load_le(data + 8 * i, 8);
    default: return NAN;
    }
}
