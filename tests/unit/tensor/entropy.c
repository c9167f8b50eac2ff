/* The order-0 entropy coder: round trips for every mode and size edge, the length limit on
 * skewed histograms, compression where there is something to gain, the raw fallback where
 * there is not, and bounded rejection of malformed blocks (every truncation, bad headers,
 * incomplete codes, trailing bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/entropy.h"

/* Encodes and decodes in[0..n), checks the round trip and returns the block size. */
static size_t roundtrip(const uint8_t *in, size_t n)
{
    size_t cap = WEFT_ENTROPY_BOUND(n);
    uint8_t *enc = malloc(cap), *dec = malloc(n + 1);
    assert_non_null(enc);
    assert_non_null(dec);
    size_t len = 0, used = 0;
    assert_int_equal(weft_entropy_encode(enc, cap, &len, in, n), 0);
    assert_true(len <= cap);
    assert_int_equal(weft_entropy_decode(dec, n, enc, len, &used), 0);
    assert_int_equal(used, len);
    assert_memory_equal(dec, in, n);
    /* The estimate is within the rounding of the four streams. */
    uint32_t counts[256];
    weft_entropy_histogram(counts, in, n);
    size_t est = weft_entropy_estimate(counts, n);
    assert_true(est + 8 >= len && est <= len + 8);
    free(enc);
    free(dec);
    return len;
}

/* Geometric-ish bytes: mostly small values, like a weight exponent or a delta plane. */
static void fill_skewed(uint8_t *p, size_t n, uint64_t seed, unsigned spread)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = tu_next(&s);
        unsigned v = 120;
        while ((r & 3) != 0 && v < 120 + spread) {
            v++;
            r >>= 2;
        }
        p[i] = (uint8_t)v;
    }
}

static void test_tensor_entropy_roundtrip_sizes(void **state)
{
    (void)state;
    uint8_t *buf = malloc(70000);
    assert_non_null(buf);
    for (size_t n = 0; n <= 300; n++) {
        fill_skewed(buf, n, n, 12);
        roundtrip(buf, n);
        tu_fill_random(buf, n, n);
        roundtrip(buf, n);
    }
    static const size_t big[] = {4095, 4096, 4097, 32768, 32771, 65536, 69999};
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++) {
        fill_skewed(buf, big[k], k, 20);
        size_t len = roundtrip(buf, big[k]);
        assert_true(len < big[k] / 2); /* ~2 bits of entropy per byte */
    }
    free(buf);
}

static void test_tensor_entropy_modes(void **state)
{
    (void)state;
    uint8_t buf[5000], enc[5001];
    size_t len = 0;
    /* Constant: two bytes whatever the length. */
    memset(buf, 0x7c, sizeof buf);
    assert_int_equal(weft_entropy_encode(enc, sizeof enc, &len, buf, sizeof buf), 0);
    assert_int_equal(len, 2);
    assert_int_equal(enc[0], WEFT_ENTROPY_CONSTANT);
    roundtrip(buf, sizeof buf);
    /* Random bytes cannot be coded smaller: stored, one byte over. */
    tu_fill_random(buf, sizeof buf, 3);
    assert_int_equal(weft_entropy_encode(enc, sizeof enc, &len, buf, sizeof buf), 0);
    assert_int_equal(len, sizeof buf + 1);
    assert_int_equal(enc[0], WEFT_ENTROPY_STORED);
    /* Two symbols: one bit each. */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 % 3 == 0 ? 9 : 200);
    assert_int_equal(weft_entropy_encode(enc, sizeof enc, &len, buf, sizeof buf), 0);
    assert_int_equal(enc[0], WEFT_ENTROPY_HUFFMAN);
    assert_true(len <= sizeof buf / 8 + 3 + 96 + 16); /* the nibble table spans 9..200 */
    roundtrip(buf, sizeof buf);
    /* Output room below the bound is refused, never overrun. */
    assert_int_equal(weft_entropy_encode(enc, 10, &len, buf, sizeof buf), WEFT_ELIMIT);
}

/* Fibonacci counts make an unbounded Huffman code ~25 bits deep: the limit must hold and the
 * code stay complete (the decoder rejects incomplete codes). */
static void test_tensor_entropy_length_limit(void **state)
{
    (void)state;
    size_t n = 0;
    uint32_t f[26] = {1, 1};
    for (int i = 2; i < 26; i++)
        f[i] = f[i - 1] + f[i - 2];
    for (int i = 0; i < 26; i++)
        n += f[i];
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    size_t k = 0;
    for (int i = 0; i < 26; i++)
        for (uint32_t j = 0; j < f[i]; j++)
            buf[k++] = (uint8_t)(i * 9);
    /* Shuffle so the four streams see mixed symbols. */
    uint64_t s = 1;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(tu_next(&s) % (i + 1));
        uint8_t t = buf[i];
        buf[i] = buf[j];
        buf[j] = t;
    }
    size_t len = roundtrip(buf, n);
    assert_true(len < n / 3);
    /* All 256 symbols, steeply skewed. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i % 1000 < 744 ? 0 : i % 256);
    roundtrip(buf, n);
    free(buf);
}

static void test_tensor_entropy_rejects_malformed(void **state)
{
    (void)state;
    uint8_t buf[3000], enc[3001], dec[3000];
    fill_skewed(buf, sizeof buf, 11, 16);
    size_t len = 0, used = 0;
    assert_int_equal(weft_entropy_encode(enc, sizeof enc, &len, buf, sizeof buf), 0);
    assert_int_equal(enc[0], WEFT_ENTROPY_HUFFMAN);
    /* Every truncation is an error, read only within the given bytes (ASan checks). */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut + 1);
        assert_non_null(t);
        memcpy(t, enc, cut);
        assert_int_equal(weft_entropy_decode(dec, sizeof buf, t, cut, &used), WEFT_ECORRUPT);
        free(t);
    }
    /* The wrong symbol count: the streams do not end where the codes do. */
    assert_int_equal(weft_entropy_decode(dec, sizeof buf - 40, enc, len, &used), WEFT_ECORRUPT);
    assert_int_equal(weft_entropy_decode(dec, sizeof buf + 0, enc, len, &used), 0);
    /* Unknown mode. */
    uint8_t bad[8] = {7, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(weft_entropy_decode(dec, 4, bad, sizeof bad, &used), WEFT_ECORRUPT);
    /* A code length over the limit; an incomplete code (one symbol of length 1). */
    uint8_t over[] = {WEFT_ENTROPY_HUFFMAN, 0, 1, 0xc1, 0, 0, 0, 0};
    assert_int_equal(weft_entropy_decode(dec, 4, over, sizeof over, &used), WEFT_ECORRUPT);
    uint8_t incomplete[] = {WEFT_ENTROPY_HUFFMAN, 5, 5, 0x01, 0, 0, 0, 0};
    assert_int_equal(weft_entropy_decode(dec, 4, incomplete, sizeof incomplete, &used),
                     WEFT_ECORRUPT);
    /* Stream lengths past the end. */
    uint8_t longer[] = {WEFT_ENTROPY_HUFFMAN, 0, 1, 0x11, 0x7f, 0, 0, 0};
    assert_int_equal(weft_entropy_decode(dec, 4, longer, sizeof longer, &used), WEFT_ECORRUPT);
    /* Random garbage after a Huffman header never reads or writes out of bounds. */
    uint64_t s = 5;
    for (int round = 0; round < 2000; round++) {
        uint8_t g[64];
        tu_fill_random(g, sizeof g, tu_next(&s));
        g[0] = WEFT_ENTROPY_HUFFMAN;
        size_t gl = 3 + tu_next(&s) % 61;
        int rc = weft_entropy_decode(dec, tu_next(&s) % 200, g, gl, &used);
        assert_true(rc == 0 || rc == WEFT_ECORRUPT);
        if (rc == 0)
            assert_true(used <= gl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_entropy_roundtrip_sizes),
        cmocka_unit_test(test_tensor_entropy_modes),
        cmocka_unit_test(test_tensor_entropy_length_limit),
        cmocka_unit_test(test_tensor_entropy_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
