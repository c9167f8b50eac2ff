/* Xet CAS tokens (include/weft/xet_token.h): what a token binds cannot be changed without the
 * key, expiry is enforced, and malformed text of every shape is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft/xet_token.h"

static const uint8_t key_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key_b[32] = {9};

static void sign(char out[WEFT_XET_TOKEN_MAX + 1], int mode, int64_t exp, const char *repo)
{
    weft_xet_token t = {.mode = mode, .exp = exp};
    snprintf(t.repo, sizeof t.repo, "%s", repo);
    assert_int_equal(weft_xet_token_sign(out, WEFT_XET_TOKEN_MAX + 1, &t, key_a), 0);
}

static void test_xet_token_roundtrip(void **state)
{
    (void)state;
    char tok[WEFT_XET_TOKEN_MAX + 1];
    sign(tok, WEFT_XET_TOKEN_WRITE, 2000, "datasets/my.org/data-set_v1.2");
    weft_xet_token t;
    assert_int_equal(weft_xet_token_verify(&t, tok, strlen(tok), key_a, 1999), 0);
    assert_int_equal(t.mode, WEFT_XET_TOKEN_WRITE);
    assert_int_equal(t.exp, 2000);
    assert_string_equal(t.repo, "datasets/my.org/data-set_v1.2");
    /* Valid through its expiry second, refused after it. */
    assert_int_equal(weft_xet_token_verify(&t, tok, strlen(tok), key_a, 2000), 0);
    assert_int_equal(weft_xet_token_verify(&t, tok, strlen(tok), key_a, 2001), WEFT_EAUTH);
    assert_non_null(strstr(weft_err_last(), "expired"));
    /* Another server's key. */
    assert_int_equal(weft_xet_token_verify(&t, tok, strlen(tok), key_b, 1000), WEFT_EAUTH);
    sign(tok, WEFT_XET_TOKEN_READ, 5, "models/a/b");
    assert_int_equal(weft_xet_token_verify(&t, tok, strlen(tok), key_a, 0), 0);
    assert_int_equal(t.mode, WEFT_XET_TOKEN_READ);
}

static void test_xet_token_tampering(void **state)
{
    (void)state;
    char tok[WEFT_XET_TOKEN_MAX + 1], bad[WEFT_XET_TOKEN_MAX + 8];
    weft_xet_token t;
    sign(tok, WEFT_XET_TOKEN_READ, 3000, "models/alice/m");
    /* Every single-byte change is refused: mode, expiry, repo, MAC. */
    for (size_t i = 0; i < strlen(tok); i++) {
        snprintf(bad, sizeof bad, "%s", tok);
        bad[i] = bad[i] == 'w' ? 'r' : bad[i] == 'r' ? 'w' : bad[i] == '9' ? '8' : '9';
        assert_int_equal(weft_xet_token_verify(&t, bad, strlen(bad), key_a, 0), WEFT_EAUTH);
    }
    /* Truncated anywhere, or with bytes added. */
    for (size_t n = 0; n < strlen(tok); n++)
        assert_int_equal(weft_xet_token_verify(&t, tok, n, key_a, 0), WEFT_EAUTH);
    snprintf(bad, sizeof bad, "%s0", tok);
    assert_int_equal(weft_xet_token_verify(&t, bad, strlen(bad), key_a, 0), WEFT_EAUTH);
    /* Not a token at all. */
    const char *junk[] = {"",
                          "hf_abcdef",
                          "wxt1.",
                          "wxt1.w.1.a.",
                          "Bearer x",
                          "wxt1.w..models/a/b.0000000000000000000000000000000000000000000000000000"
                          "000000000000"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        assert_int_equal(weft_xet_token_verify(&t, junk[i], strlen(junk[i]), key_a, 0), WEFT_EAUTH);
    assert_int_equal(weft_xet_token_verify(&t, NULL, 0, key_a, 0), WEFT_EAUTH);
}

static void test_xet_token_sign_rejects(void **state)
{
    (void)state;
    char out[WEFT_XET_TOKEN_MAX + 1];
    weft_xet_token t = {.mode = WEFT_XET_TOKEN_READ, .exp = 1};
    assert_int_equal(weft_xet_token_sign(out, sizeof out, &t, key_a), WEFT_EINVALID); /* empty */
    snprintf(t.repo, sizeof t.repo, "models/a b/c");
    assert_int_equal(weft_xet_token_sign(out, sizeof out, &t, key_a), WEFT_EINVALID);
    snprintf(t.repo, sizeof t.repo, "models/a/b");
    t.mode = 7;
    assert_int_equal(weft_xet_token_sign(out, sizeof out, &t, key_a), WEFT_EINVALID);
    t.mode = WEFT_XET_TOKEN_WRITE;
    assert_int_equal(weft_xet_token_sign(out, 20, &t, key_a), WEFT_ELIMIT);
    /* The longest repo fits WEFT_XET_TOKEN_MAX with the largest expiry. */
    memset(t.repo, 'x', WEFT_XET_TOKEN_REPO_MAX);
    t.repo[WEFT_XET_TOKEN_REPO_MAX] = '\0';
    t.exp = 999999999999999999LL;
    assert_int_equal(weft_xet_token_sign(out, sizeof out, &t, key_a), 0);
    weft_xet_token back;
    assert_int_equal(weft_xet_token_verify(&back, out, strlen(out), key_a, 0), 0);
    assert_string_equal(back.repo, t.repo);
}

static void test_xet_token_mac(void **state)
{
    (void)state;
    char a[65], b[65], c[65];
    weft_xet_mac_hex(a, key_a, "tag one\n", "msg", 3);
    weft_xet_mac_hex(b, key_a, "tag two\n", "msg", 3);
    weft_xet_mac_hex(c, key_b, "tag one\n", "msg", 3);
    assert_int_equal(strlen(a), 64);
    assert_false(weft_xet_mac_equal(a, b, 64));
    assert_false(weft_xet_mac_equal(a, c, 64));
    weft_xet_mac_hex(b, key_a, "tag one\n", "msg", 3);
    assert_true(weft_xet_mac_equal(a, b, 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_token_roundtrip),
        cmocka_unit_test(test_xet_token_tampering),
        cmocka_unit_test(test_xet_token_sign_rejects),
        cmocka_unit_test(test_xet_token_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
