/* The order-0 entropy coder: round trips for every mode and size edge, the length limit on
 * skewed histograms, compression where there is something to gain, the raw fallback where
 * there is not, and bounded rejection of malformed blocks (every truncation, bad headers,
 * incomplete codes, trailing bytes), the same through a memo whose tables are remembered; and
 * the memo's code reuse over a run of alike blocks. */
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

/* A Huffman block written here from the format in docs/internals/codecs.md, independently of
 * the encoder: canonical codes (shorter first, then by symbol) from the given lengths, each
 * code's first bit (its most significant) written first, LSB-first within bytes, four streams
 * over quarters of the symbols. Returns the block length; stream k's byte length goes to
 * sl_out[k] when sl_out is not NULL. */
typedef struct hand_code {
    uint8_t len[256];
    uint16_t code[256];
} hand_code;

static void hand_assign(hand_code *c, const uint8_t len[256])
{
    memcpy(c->len, len, 256);
    uint32_t next = 0;
    for (unsigned l = 1; l <= 11; l++) {
        for (unsigned v = 0; v < 256; v++) {
            if (len[v] != l)
                continue;
            c->code[v] = (uint16_t)next;
            next++;
        }
        next <<= 1;
    }
}

static size_t hand_put_varint(uint8_t *p, size_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

static size_t hand_block(uint8_t *out, const hand_code *c, const uint8_t *in, size_t n,
                         size_t sl_out[4])
{
    unsigned first = 0, last = 255;
    while (c->len[first] == 0)
        first++;
    while (c->len[last] == 0)
        last--;
    uint8_t *p = out;
    *p++ = WEFT_ENTROPY_HUFFMAN;
    *p++ = (uint8_t)first;
    *p++ = (uint8_t)last;
    for (unsigned v = first; v <= last; v += 2)
        *p++ = (uint8_t)(c->len[v] | (v + 1 <= last ? c->len[v + 1] : 0) << 4);
    /* Streams into scratch first: their lengths precede them. */
    static uint8_t streams[4][80000];
    size_t sl[4], q = (n + 3) / 4;
    for (unsigned k = 0; k < 4; k++) {
        size_t s = q * k < n ? q * k : n, e = q * (k + 1) < n ? q * (k + 1) : n, bit = 0;
        memset(streams[k], 0, sizeof streams[k]);
        for (size_t i = s; i < e; i++)
            for (int b = c->len[in[i]] - 1; b >= 0; b--, bit++)
                streams[k][bit / 8] |= (uint8_t)(((c->code[in[i]] >> b) & 1) << (bit % 8));
        sl[k] = (bit + 7) / 8;
        if (sl_out != NULL)
            sl_out[k] = sl[k];
    }
    for (unsigned k = 0; k < 4; k++)
        p += hand_put_varint(p, sl[k]);
    for (unsigned k = 0; k < 4; k++) {
        memcpy(p, streams[k], sl[k]);
        p += sl[k];
    }
    return (size_t)(p - out);
}

/* Decodes a block from an exactly sized copy into an exactly sized output (ASan sees any byte
 * read or written outside), returns the decoder's result. */
static weft_entropy_memo *test_memo; /* shared by every exact_decode, so tables are reused */

static int exact_decode(uint8_t *dec_out, const uint8_t *blk, size_t len, size_t n, size_t *used)
{
    uint8_t *b = malloc(len ? len : 1), *o = malloc(n ? n : 1), *o2 = malloc(n ? n : 1);
    assert_non_null(b);
    assert_non_null(o);
    assert_non_null(o2);
    memcpy(b, blk, len);
    int rc = weft_entropy_decode(o, n, b, len, used);
    if (rc == 0 && dec_out != NULL)
        memcpy(dec_out, o, n);
    /* Through the memo twice (the second time its table is remembered, also when an earlier
     * block had the same code): the same answer. */
    if (test_memo == NULL)
        assert_int_equal(weft_entropy_memo_new(&test_memo), 0);
    for (int t = 0; t < 2; t++) {
        size_t used2 = 0;
        assert_int_equal(weft_entropy_decode_memo(test_memo, o2, n, b, len, &used2), rc);
        if (rc == 0) {
            assert_int_equal(used2, *used);
            assert_memory_equal(o2, o, n);
        }
    }
    free(b);
    free(o);
    free(o2);
    return rc;
}

/* Code length shapes: a two-symbol code, a 1..11 staircase, four 2-bit codes, flat 8-bit codes
 * over all 256 symbols, a 1-bit symbol with 11-bit neighbours, and an exponent-like code. */
static unsigned shape_lengths(uint8_t len[256], unsigned shape)
{
    memset(len, 0, 256);
    switch (shape) {
    case 0: len[3] = len[250] = 1; return 2;
    case 1: /* 1, 2, ..., 10, 11, 11: Kraft sum 1 */
        for (unsigned l = 1; l <= 11; l++)
            len[100 + l] = (uint8_t)l;
        len[7] = 11;
        return 12;
    case 2: len[0] = len[1] = len[2] = len[255] = 2; return 4;
    case 3: memset(len, 8, 256); return 256;
    case 4:          /* one 1-bit symbol and a long tail of 9- and 11-bit codes */
        len[40] = 1; /* 1/2 */
        len[41] = 2; /* 1/4 */
        len[42] = 3; /* 1/8 */
        for (unsigned v = 0; v < 32; v++)
            len[60 + v] = 9; /* 32 / 512 = 1/16 */
        for (unsigned v = 0; v < 128; v++)
            len[128 + v] = 11; /* 128 / 2048 = 1/16 */
        return 3 + 32 + 128;
    default: /* exponent-like: 2, 2, 3, 3, 3, 4, 5, then rare 10- and 11-bit symbols */
        len[120] = len[121] = 2;            /* 1/2 */
        len[119] = len[122] = len[118] = 3; /* 3/8 */
        len[123] = 4;                       /* 1/16 */
        len[117] = 5;                       /* 1/32 */
        for (unsigned v = 0; v < 16; v++)
            len[200 + v] = 10; /* 16 / 1024 = 1/64 */
        for (unsigned v = 0; v < 32; v++)
            len[130 + v] = 11; /* 32 / 2048 = 1/64 */
        return 7 + 16 + 32;
    }
}

/* Symbols for a shape: mode 0 follows the code (each symbol about 2^-len), mode 1 only the
 * shortest code (most symbols per table lookup), mode 2 only the longest codes, mode 3 uniform
 * over the symbols that have a code. */
static void shape_fill(uint8_t *p, size_t n, const uint8_t len[256], unsigned mode, uint64_t seed)
{
    uint8_t syms[256], shortest = 0, longest = 0;
    unsigned m = 0;
    for (unsigned v = 0; v < 256; v++) {
        if (len[v] == 0)
            continue;
        syms[m++] = (uint8_t)v;
        if (len[shortest] == 0 || len[v] < len[shortest])
            shortest = (uint8_t)v;
        if (len[v] >= len[longest])
            longest = (uint8_t)v;
    }
    /* by_code[l][code] = symbol + 1 for the canonical code of length l (hand_assign's). */
    static uint16_t by_code[12][2048];
    hand_code hc;
    hand_assign(&hc, len);
    memset(by_code, 0, sizeof by_code);
    for (unsigned v = 0; v < 256; v++)
        if (len[v] != 0)
            by_code[len[v]][hc.code[v]] = (uint16_t)(v + 1);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = tu_next(&s);
        if (mode == 1) {
            p[i] = shortest;
        } else if (mode == 2) {
            p[i] = r & 1 ? longest : syms[r % m];
            if (len[p[i]] < len[longest])
                p[i] = longest;
        } else if (mode == 3) {
            p[i] = syms[r % m];
        } else {
            /* Walk the code tree with fair coin flips: symbol v comes with chance 2^-len[v]. */
            uint32_t code = 0;
            p[i] = syms[0];
            for (unsigned l = 1; l <= 11; l++) {
                code = code << 1 | (uint32_t)(r & 1);
                r >>= 1;
                if (by_code[l][code] != 0) {
                    p[i] = (uint8_t)(by_code[l][code] - 1);
                    break;
                }
            }
        }
    }
}

/* The decoder against hand-made blocks of every shape, every size 1..300 and sizes around the
 * multi-symbol table's threshold and its fast loop's margins, so every stream tail case and
 * every last lookup that straddles a stream's end are hit. */
static void test_tensor_entropy_decoder_shapes(void **state)
{
    (void)state;
    static uint8_t in[20000], dec[20000], blk[28000]; /* 20000 codes of 11 bits fit */
    static const size_t big[] = {4095, 4096, 4097, 4099,  4100, 4127,
                                 4160, 5000, 8191, 12347, 20000};
    hand_code c;
    for (unsigned shape = 0; shape < 6; shape++) {
        uint8_t len[256];
        shape_lengths(len, shape);
        hand_assign(&c, len);
        for (unsigned mode = 0; mode < 4; mode++) {
            for (size_t t = 0; t < 300 + sizeof big / sizeof big[0]; t++) {
                size_t n = t < 300 ? t + 1 : big[t - 300];
                shape_fill(in, n, len, mode, shape * 1000 + mode * 100 + t);
                size_t bl = hand_block(blk, &c, in, n, NULL);
                size_t used = 0;
                assert_int_equal(exact_decode(dec, blk, bl, n, &used), 0);
                assert_int_equal(used, bl);
                assert_memory_equal(dec, in, n);
            }
        }
    }
}

/* Corrupt Huffman blocks, small and large: a stream one byte short (length fixed up), one
 * byte long (a spare zero byte), bytes moved from one stream to the next, and flipped bits.
 * Every one is WEFT_ECORRUPT or decodes in bounds; none reads or writes outside (ASan). */
static void test_tensor_entropy_decoder_corrupt(void **state)
{
    (void)state;
    static uint8_t in[20000], blk[28000], bad[28100];
    static const size_t sizes[] = {9, 40, 257, 1000, 4096, 6001, 20000};
    hand_code c;
    for (unsigned shape = 0; shape < 6; shape++) {
        uint8_t len[256];
        shape_lengths(len, shape);
        hand_assign(&c, len);
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
            size_t n = sizes[t], sl[4], used = 0;
            shape_fill(in, n, len, 0, 77 + shape * 10 + t);
            size_t bl = hand_block(blk, &c, in, n, sl);
            size_t hdr = bl - (sl[0] + sl[1] + sl[2] + sl[3]);
            /* Header without the four varints: where they start. */
            size_t vstart = hdr;
            for (unsigned k = 0; k < 4; k++)
                vstart -= sl[k] < 128 ? 1 : sl[k] < 16384 ? 2 : 3;
            for (unsigned k = 0; k < 4; k++) {
                for (int delta = -1; delta <= 1; delta += 2) {
                    if (delta < 0 && sl[k] == 0)
                        continue;
                    /* Rebuild the block with stream k one byte shorter (its last byte dropped)
                     * or longer (a zero byte added). */
                    size_t nsl[4] = {sl[0], sl[1], sl[2], sl[3]};
                    nsl[k] = (size_t)((ptrdiff_t)sl[k] + delta);
                    uint8_t *p = bad;
                    memcpy(p, blk, vstart);
                    p += vstart;
                    for (unsigned j = 0; j < 4; j++)
                        p += hand_put_varint(p, nsl[j]);
                    const uint8_t *src = blk + hdr;
                    for (unsigned j = 0; j < 4; j++) {
                        size_t take = nsl[j] < sl[j] ? nsl[j] : sl[j];
                        memcpy(p, src, take);
                        if (nsl[j] > sl[j])
                            memset(p + take, 0, nsl[j] - take);
                        p += nsl[j];
                        src += sl[j];
                    }
                    int rc = exact_decode(NULL, bad, (size_t)(p - bad), n, &used);
                    assert_int_equal(rc, WEFT_ECORRUPT);
                }
            }
            /* The streams' bytes, boundaries moved: one byte from stream k to stream k + 1. */
            for (unsigned k = 0; k < 3; k++) {
                if (sl[k] == 0)
                    continue;
                size_t nsl[4] = {sl[0], sl[1], sl[2], sl[3]};
                nsl[k]--;
                nsl[k + 1]++;
                uint8_t *p = bad;
                memcpy(p, blk, vstart);
                p += vstart;
                for (unsigned j = 0; j < 4; j++)
                    p += hand_put_varint(p, nsl[j]);
                memcpy(p, blk + hdr, bl - hdr);
                p += bl - hdr;
                int rc = exact_decode(NULL, bad, (size_t)(p - bad), n, &used);
                assert_true(rc == WEFT_ECORRUPT || rc == 0);
            }
            /* The block truncated anywhere in its last 40 bytes, and flipped bits. */
            for (size_t cut = bl > 40 ? bl - 40 : 0; cut < bl; cut++)
                assert_int_equal(exact_decode(NULL, blk, cut, n, &used), WEFT_ECORRUPT);
            uint64_t s = shape * 31 + t;
            for (int round = 0; round < 60; round++) {
                memcpy(bad, blk, bl);
                size_t at = hdr + (size_t)(tu_next(&s) % (bl - hdr));
                bad[at] ^= (uint8_t)(1u << (tu_next(&s) % 8));
                int rc = exact_decode(NULL, bad, bl, n, &used);
                assert_true(rc == WEFT_ECORRUPT || (rc == 0 && used == bl));
            }
        }
    }
}

/* The memo: a run of alike blocks (the same source, different draws) coded with a memo mostly
 * reuses codes (equal headers) and costs under 1% more than coding each alone; every block
 * decodes alone, with and without a memo. A block unlike the rest gets its own code. */
static void test_tensor_entropy_memo(void **state)
{
    (void)state;
    const size_t n = 16384, blocks = 40;
    uint8_t *in = malloc(n), *enc = malloc(blocks * (n + 1)), *dec = malloc(n);
    size_t *len = malloc(blocks * sizeof *len);
    assert_non_null(in);
    assert_non_null(enc);
    assert_non_null(dec);
    assert_non_null(len);
    weft_entropy_memo *em = NULL, *dm = NULL;
    assert_int_equal(weft_entropy_memo_new(&em), 0);
    assert_int_equal(weft_entropy_memo_new(&dm), 0);
    size_t with = 0, alone = 0, same = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint8_t *blk = enc + b * (n + 1);
        if (b == 30)
            tu_fill_random(in, n, b); /* unlike the others: stored */
        else
            fill_skewed(in, n, 1000 + b, b == 20 ? 40 : 16);
        assert_int_equal(weft_entropy_encode_memo(em, blk, n + 1, &len[b], in, n), 0);
        size_t own = 0, used = 0;
        uint8_t *tmp = malloc(n + 1);
        assert_non_null(tmp);
        assert_int_equal(weft_entropy_encode(tmp, n + 1, &own, in, n), 0);
        free(tmp);
        with += len[b];
        alone += own;
        if (b > 0 && len[b] > 3 && len[b - 1] > 3 && blk[0] == WEFT_ENTROPY_HUFFMAN &&
            memcmp(blk, blk - (n + 1), 3 + (size_t)(blk[2] - blk[1] + 2) / 2) == 0)
            same++;
        assert_int_equal(weft_entropy_decode(dec, n, blk, len[b], &used), 0);
        assert_int_equal(used, len[b]);
        assert_memory_equal(dec, in, n);
        assert_int_equal(weft_entropy_decode_memo(dm, dec, n, blk, len[b], &used), 0);
        assert_memory_equal(dec, in, n);
    }
    print_message("memo: %zu of %zu blocks reuse the previous code; %zu bytes, %zu alone\n", same,
                  blocks - 1, with, alone);
    assert_true(same >= blocks / 2);
    assert_true((double)with <= 1.01 * (double)alone);
    /* Decoding in another order through the same memo (tables hit and missed). */
    for (size_t b = blocks; b-- > 0;) {
        size_t used = 0;
        assert_int_equal(weft_entropy_decode_memo(dm, dec, n, enc + b * (n + 1), len[b], &used),
                         0);
        assert_int_equal(used, len[b]);
    }
    weft_entropy_memo_free(em);
    weft_entropy_memo_free(dm);
    free(in);
    free(enc);
    free(dec);
    free(len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_entropy_roundtrip_sizes),
        cmocka_unit_test(test_tensor_entropy_modes),
        cmocka_unit_test(test_tensor_entropy_length_limit),
        cmocka_unit_test(test_tensor_entropy_rejects_malformed),
        cmocka_unit_test(test_tensor_entropy_decoder_shapes),
        cmocka_unit_test(test_tensor_entropy_decoder_corrupt),
        cmocka_unit_test(test_tensor_entropy_memo),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    weft_entropy_memo_free(test_memo);
    return rc;
}
