/* Hex helpers of include/weft/sha256.h: encode/decode round trip, and the lower-case check that
 * commit ids and etags go through (exact length, no upper case, no other characters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "weft/sha256.h"

static void test_crypto_hex_round_trip(void **state)
{
    (void)state;
    const uint8_t bytes[4] = {0x00, 0x9f, 0xa0, 0xff};
    char hex[9];
    weft_hex_encode(hex, bytes, 4);
    assert_string_equal(hex, "009fa0ff");
    uint8_t back[4];
    assert_int_equal(weft_hex_decode(back, 4, hex, 8), 0);
    assert_memory_equal(back, bytes, 4);
    assert_true(weft_hex_is_lower(hex, 8));
}

static void test_crypto_hex_is_lower_rejects(void **state)
{
    (void)state;
    assert_true(weft_hex_is_lower("0123456789abcdef", 16));
    assert_false(weft_hex_is_lower("0123456789abcdef", 15)); /* longer than asked */
    assert_false(weft_hex_is_lower("0123456789abcde", 16));  /* shorter */
    assert_false(weft_hex_is_lower("0123456789ABCDEF", 16)); /* upper case */
    assert_false(weft_hex_is_lower("0123456789abcdeg", 16));
    assert_false(weft_hex_is_lower("../../etc/passwd", 16));
    assert_true(weft_hex_is_lower("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypto_hex_round_trip),
        cmocka_unit_test(test_crypto_hex_is_lower_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
