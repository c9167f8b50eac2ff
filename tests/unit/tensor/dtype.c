/* Tensor element types: the name table, widths, byte sizes and element values of every dtype,
 * checked against values worked out by hand from each format's definition. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "weft/dtype.h"

static void test_tensor_dtype_names(void **state)
{
    (void)state;
    for (int d = 0; d < WEFT_DTYPE_COUNT; d++) {
        const char *n = weft_dtype_name((weft_dtype)d);
        weft_dtype back;
        assert_int_equal(weft_dtype_from_name(&back, n, strlen(n)), 0);
        assert_int_equal(back, d);
        assert_true(weft_dtype_bits((weft_dtype)d) > 0);
    }
    weft_dtype x;
    assert_int_equal(weft_dtype_from_name(&x, "bf16", 4), WEFT_EINVALID);
    assert_int_equal(weft_dtype_from_name(&x, "BF16X", 4), 0); /* length-bounded */
    assert_int_equal(x, WEFT_DTYPE_BF16);
    assert_string_equal(weft_dtype_name(WEFT_DTYPE_COUNT), "?");
    /* the reference enum order decides the writer's layout */
    assert_true(WEFT_DTYPE_F32 > WEFT_DTYPE_BF16 && WEFT_DTYPE_BF16 > WEFT_DTYPE_F16);
    assert_true(WEFT_DTYPE_U64 > WEFT_DTYPE_F64 && WEFT_DTYPE_BOOL == 0);
    assert_int_equal(weft_dtype_bits(WEFT_DTYPE_F4), 4);
    assert_int_equal(weft_dtype_bits(WEFT_DTYPE_F6_E3M2), 6);
    assert_int_equal(weft_dtype_bits(WEFT_DTYPE_C64), 64);
    assert_true(weft_dtype_is_float(WEFT_DTYPE_F8_E8M0));
    assert_false(weft_dtype_is_float(WEFT_DTYPE_BOOL));
}

static void test_tensor_dtype_nbytes(void **state)
{
    (void)state;
    uint64_t n = 0;
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_BF16, 3), 0);
    assert_int_equal(n, 6);
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_F4, 4), 0);
    assert_int_equal(n, 2);
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_F4, 3), WEFT_ECORRUPT);
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_F6_E2M3, 4), 0);
    assert_int_equal(n, 3);
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_F6_E2M3, 2), WEFT_ECORRUPT);
    assert_int_equal(weft_dtype_nbytes(&n, WEFT_DTYPE_F64, UINT64_MAX / 8), WEFT_ELIMIT);
    assert_int_equal(weft_dtype_n_scalars(WEFT_DTYPE_C64, 5), 10);
    assert_int_equal(weft_dtype_n_scalars(WEFT_DTYPE_F32, 5), 5);
}

static double v1(weft_dtype dt, uint8_t b)
{
    return weft_dtype_value(dt, &b, 0);
}

static void test_tensor_dtype_values(void **state)
{
    (void)state;
    /* IEEE half: 1, -2, smallest subnormal, infinity, NaN */
    assert_true(weft_f16_to_double(0x3c00) == 1.0);
    assert_true(weft_f16_to_double(0xc000) == -2.0);
    assert_true(weft_f16_to_double(0x0001) == ldexp(1, -24));
    assert_true(weft_f16_to_double(0x7bff) == 65504.0);
    assert_true(isinf(weft_f16_to_double(0x7c00)));
    assert_true(isnan(weft_f16_to_double(0x7e00)));
    assert_true(weft_bf16_to_double(0x3f80) == 1.0);
    assert_true(weft_bf16_to_double(0xbfc0) == -1.5);
    /* fp8 e4m3 (fn): bias 7, max 448, S.1111.111 is NaN, no infinity */
    assert_true(v1(WEFT_DTYPE_F8_E4M3, 0x38) == 1.0);
    assert_true(v1(WEFT_DTYPE_F8_E4M3, 0x7e) == 448.0);
    assert_true(v1(WEFT_DTYPE_F8_E4M3, 0x01) == ldexp(1, -9));
    assert_true(v1(WEFT_DTYPE_F8_E4M3, 0xb8) == -1.0);
    assert_true(isnan(v1(WEFT_DTYPE_F8_E4M3, 0x7f)));
    assert_true(isnan(v1(WEFT_DTYPE_F8_E4M3, 0xff)));
    /* fp8 e5m2: the top byte of a half */
    assert_true(v1(WEFT_DTYPE_F8_E5M2, 0x3c) == 1.0);
    assert_true(isinf(v1(WEFT_DTYPE_F8_E5M2, 0x7c)));
    assert_true(v1(WEFT_DTYPE_F8_E5M2, 0x01) == ldexp(1, -16));
    /* fnuz variants: bias 8 / 16, 0x80 is the only NaN, no negative zero */
    assert_true(v1(WEFT_DTYPE_F8_E4M3FNUZ, 0x40) == 1.0);
    assert_true(v1(WEFT_DTYPE_F8_E4M3FNUZ, 0x7f) == 240.0);
    assert_true(isnan(v1(WEFT_DTYPE_F8_E4M3FNUZ, 0x80)));
    assert_true(v1(WEFT_DTYPE_F8_E5M2FNUZ, 0x40) == 1.0);
    assert_true(isnan(v1(WEFT_DTYPE_F8_E5M2FNUZ, 0x80)));
    /* e8m0: 2^(b-127), 0xff NaN */
    assert_true(v1(WEFT_DTYPE_F8_E8M0, 127) == 1.0);
    assert_true(v1(WEFT_DTYPE_F8_E8M0, 130) == 8.0);
    assert_true(v1(WEFT_DTYPE_F8_E8M0, 0) == ldexp(1, -127));
    assert_true(isnan(v1(WEFT_DTYPE_F8_E8M0, 0xff)));
    /* F4 (e2m1), low nibble first: 0x2 = 1.0, 0x7 = 6.0, 0x1 = 0.5, 0xf = -6 */
    uint8_t f4[2] = {0x72, 0xf1};
    assert_true(weft_dtype_value(WEFT_DTYPE_F4, f4, 0) == 1.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_F4, f4, 1) == 6.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_F4, f4, 2) == 0.5);
    assert_true(weft_dtype_value(WEFT_DTYPE_F4, f4, 3) == -6.0);
    assert_true(isnan(v1(WEFT_DTYPE_F6_E2M3, 0)));
    /* integers, little-endian */
    uint8_t le[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    assert_true(v1(WEFT_DTYPE_I8, 0xff) == -1.0);
    assert_true(v1(WEFT_DTYPE_U8, 0xff) == 255.0);
    assert_true(v1(WEFT_DTYPE_BOOL, 7) == 1.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_I16, le, 0) == -1.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_U16, le, 4) == 0x0201);
    assert_true(weft_dtype_value(WEFT_DTYPE_I32, le, 0) == -1.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_U32, le, 0) == 4294967295.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_I64, le, 0) == -1.0);
    assert_true(weft_dtype_value(WEFT_DTYPE_U64, le, 1) == 0x0201);
    /* F32/F64 and C64 (real, imaginary as scalars 0 and 1) */
    float fl[2] = {1.5f, -0.25f};
    double db = 3.25;
    assert_true(weft_dtype_value(WEFT_DTYPE_F32, (const uint8_t *)fl, 1) == -0.25);
    assert_true(weft_dtype_value(WEFT_DTYPE_C64, (const uint8_t *)fl, 0) == 1.5);
    assert_true(weft_dtype_value(WEFT_DTYPE_C64, (const uint8_t *)fl, 1) == -0.25);
    assert_true(weft_dtype_value(WEFT_DTYPE_F64, (const uint8_t *)&db, 0) == 3.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_dtype_names),
        cmocka_unit_test(test_tensor_dtype_nbytes),
        cmocka_unit_test(test_tensor_dtype_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
