/* Xet hash helpers: the hex convention, Merkle edge cases, verification hash and HMAC shapes.
 * Bit-exact agreement with the reference implementation is tested end to end in
 * tests/integration/xet_conformance.test.mjs; here are the rules that test cannot isolate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft/blake3.h"
#include "weft/xet_hash.h"

static void test_xet_hash_hex_is_little_endian_per_word(void **state)
{
    (void)state;
    weft_hash h;
    for (int i = 0; i < 32; i++)
        h.b[i] = (uint8_t)i;
    char hex[65];
    weft_xet_hash_to_hex(hex, &h);
    assert_string_equal(hex, "0706050403020100"
                             "0f0e0d0c0b0a0908"
                             "1716151413121110"
                             "1f1e1d1c1b1a1918");
    weft_hash back;
    assert_int_equal(weft_xet_hash_from_hex(&back, hex, 64), 0);
    assert_memory_equal(back.b, h.b, 32);
}

static void test_xet_hash_hex_rejects_bad_input(void **state)
{
    (void)state;
    weft_hash h;
    assert_int_equal(weft_xet_hash_from_hex(&h, "abc", 3), WEFT_EINVALID);
    char bad[65];
    memset(bad, 'a', 64);
    bad[64] = 0;
    bad[17] = 'g';
    assert_int_equal(weft_xet_hash_from_hex(&h, bad, 64), WEFT_EINVALID);
}

static void test_xet_hash_merkle_edges(void **state)
{
    (void)state;
    weft_hash root, zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(weft_xet_merkle_root(&root, NULL, 0), 0);
    assert_memory_equal(root.b, zero.b, 32);

    weft_xet_node one = {.size = 5};
    weft_xet_chunk_hash(&one.hash, "hello", 5);
    assert_int_equal(weft_xet_merkle_root(&root, &one, 1), 0);
    assert_memory_equal(root.b, one.hash.b, 32);

    /* File hash of one chunk: zero-keyed BLAKE3 of the chunk hash. */
    weft_hash file, expect;
    static const uint8_t zero_key[32];
    assert_int_equal(weft_xet_file_hash(&file, &one, 1), 0);
    weft_blake3_keyed(expect.b, zero_key, one.hash.b, 32);
    assert_memory_equal(file.b, expect.b, 32);

    /* Empty file: all zeros. */
    assert_int_equal(weft_xet_file_hash(&file, NULL, 0), 0);
    assert_true(weft_hash_is_zero(&file));
}

static void test_xet_hash_two_nodes_hash_their_text(void **state)
{
    (void)state;
    weft_xet_node n[2] = {{.size = 3}, {.size = 70000}};
    weft_xet_chunk_hash(&n[0].hash, "abc", 3);
    weft_xet_chunk_hash(&n[1].hash, "def", 3);
    char text[256], h0[65], h1[65];
    weft_xet_hash_to_hex(h0, &n[0].hash);
    weft_xet_hash_to_hex(h1, &n[1].hash);
    int len = snprintf(text, sizeof text, "%s : 3\n%s : 70000\n", h0, h1);
    weft_hash expect, root;
    weft_blake3_keyed(expect.b, WEFT_XET_NODE_KEY, text, (size_t)len);
    assert_int_equal(weft_xet_merkle_root(&root, n, 2), 0);
    assert_memory_equal(root.b, expect.b, 32);
}

static void test_xet_hash_verification_is_keyed_concat(void **state)
{
    (void)state;
    weft_hash hs[3], v, expect;
    for (int i = 0; i < 3; i++)
        weft_xet_chunk_hash(&hs[i], &i, sizeof i);
    weft_xet_verification_hash(&v, hs, 3);
    weft_blake3_keyed(expect.b, WEFT_XET_VERIFICATION_KEY, hs, sizeof hs);
    assert_memory_equal(v.b, expect.b, 32);
    /* Order matters. */
    weft_hash swapped[3] = {hs[1], hs[0], hs[2]};
    weft_xet_verification_hash(&expect, swapped, 3);
    assert_memory_not_equal(v.b, expect.b, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_hash_hex_is_little_endian_per_word),
        cmocka_unit_test(test_xet_hash_hex_rejects_bad_input),
        cmocka_unit_test(test_xet_hash_merkle_edges),
        cmocka_unit_test(test_xet_hash_two_nodes_hash_their_text),
        cmocka_unit_test(test_xet_hash_verification_is_keyed_concat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
