/* Base64: the RFC 4648 §10 test vectors both ways, and strict rejection of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "weft/base64.h"

static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

static void test_crypto_base64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        char enc[16];
        weft_base64_encode(enc, (const uint8_t *)plain[i], strlen(plain[i]));
        assert_string_equal(enc, coded[i]);
        assert_int_equal(weft_base64_encoded_len(strlen(plain[i])), strlen(coded[i]));
        uint8_t dec[16];
        size_t n = 99;
        assert_int_equal(weft_base64_decode(dec, sizeof dec, &n, coded[i], strlen(coded[i])), 0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], n);
    }
}

static void test_crypto_base64_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t in[256], out[260];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)(255 - i);
    for (size_t len = 0; len <= 256; len++) {
        char enc[400];
        weft_base64_encode(enc, in, len);
        size_t n = 0;
        assert_int_equal(weft_base64_decode(out, sizeof out, &n, enc, strlen(enc)), 0);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
    }
}

static void test_crypto_base64_rejects_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"Zg=",  "Zg",   "Z===",     "Zm9v\n", "Zm 9v",   "Zh==",
                         "Zm9=", "=Zm9", "Zg==Zg==", "Zm-v",   "Zm9v===="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n = 0;
        assert_int_equal(weft_base64_decode(out, sizeof out, &n, bad[i], strlen(bad[i])),
                         WEFT_EINVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypto_base64_rfc4648_vectors),
        cmocka_unit_test(test_crypto_base64_all_bytes_round_trip),
        cmocka_unit_test(test_crypto_base64_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
