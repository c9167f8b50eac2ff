/* weft_buf: growth, the cap, formatted appends and little-endian helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "weft/buf.h"

static void test_util_buf_append_grows_and_keeps_bytes(void **state)
{
    (void)state;
    weft_buf b;
    weft_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(weft_buf_append(&b, &v, 1), 0);
    }
    assert_int_equal(b.len, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(b.data[i], (uint8_t)i);
    weft_buf_dispose(&b);
    assert_null(b.data);
}

static void test_util_buf_cap_is_enforced_and_unchanged(void **state)
{
    (void)state;
    weft_buf b;
    weft_buf_init(&b, 10);
    assert_int_equal(weft_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(weft_buf_append(&b, "x", 1), WEFT_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "0123456789", 10);
    assert_non_null(strstr(weft_err_last(), "cap"));
    weft_buf_dispose(&b);
}

static void test_util_buf_printf_and_le(void **state)
{
    (void)state;
    weft_buf b;
    weft_buf_init(&b, 100);
    assert_int_equal(weft_buf_printf(&b, "%s=%d", "x", 42), 0);
    assert_int_equal(b.len, 4);
    assert_string_equal((char *)b.data, "x=42");
    assert_int_equal(weft_buf_put_u32le(&b, 0x11223344u), 0);
    assert_int_equal(weft_buf_put_u64le(&b, 0x0102030405060708ull), 0);
    static const uint8_t expect[] = {0x44, 0x33, 0x22, 0x11, 8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b.data + 4, expect, sizeof expect);
    assert_int_equal(weft_load_u32le(b.data + 4), 0x11223344u);
    assert_int_equal(weft_load_u64le(b.data + 8), 0x0102030405060708ull);
    /* Over the cap: error, nothing appended. */
    assert_int_equal(weft_buf_printf(&b, "%0200d", 1), WEFT_ELIMIT);
    assert_int_equal(b.len, 16);
    weft_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_buf_append_grows_and_keeps_bytes),
        cmocka_unit_test(test_util_buf_cap_is_enforced_and_unchanged),
        cmocka_unit_test(test_util_buf_printf_and_le),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
