/* Xet chunk compression: every scheme round-trips at the size edges, BG4 lane layout for every
 * tail length, the frame header xet-core writes, decoding of frames written by other encoders
 * (liblz4's frame API stands in for lz4_flex and lz4js here), the predictor, and bounded
 * rejection of broken payloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>

#include "unit/testutil.h"
#include "weft/xet_compress.h"

#define MAXC WEFT_XET_MAX_CHUNK_LEN

/* Kinds of chunk content: the predictor and the raw fallback behave differently on each. */
enum { DATA_ZEROS, DATA_RANDOM, DATA_FLOATS, DATA_TEXT, DATA_KINDS };

static void fill(uint8_t *p, size_t n, int kind, uint64_t seed)
{
    uint64_t s = seed;
    switch (kind) {
    case DATA_ZEROS:
        memset(p, 0, n);
        break;
    case DATA_RANDOM:
        tu_fill_random(p, n, seed);
        break;
    case DATA_FLOATS: /* little-endian floats near 1.0: high bytes repeat, low bytes vary */
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tu_next(&s);
            p[i] = (i % 4 == 3) ? 0x3F : (i % 4 == 2) ? (uint8_t)(0x80 | (r & 0x0F)) : (uint8_t)r;
        }
        break;
    default: {
        static const char words[] = "the quick brown fox jumps over the lazy dog ";
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)words[(i + (tu_next(&s) % 3 == 0 ? 1 : 0)) % (sizeof words - 1)];
    }
    }
}

static void roundtrip(const uint8_t *data, size_t n, int scheme, int *used)
{
    weft_buf out;
    weft_buf_init(&out, 1u << 20);
    assert_int_equal(weft_xet_compress(&out, used, scheme, data, n), 0);
    assert_true(weft_xet_scheme_is_stored(*used));
    assert_true(out.len <= n);
    if (*used != WEFT_XET_SCHEME_NONE)
        assert_true(out.len < n);
    uint8_t *back = malloc(n + 1);
    assert_non_null(back);
    assert_int_equal(weft_xet_decompress(back, n, *used, out.data, out.len), 0);
    assert_memory_equal(back, data, n);
    free(back);
    weft_buf_dispose(&out);
}

static void test_xet_compress_roundtrip_every_scheme_at_size_edges(void **state)
{
    (void)state;
    static const size_t sizes[] = {0,     1,     2,     3,      4,      5,      7,     8,    15,
                                   16,    17,    100,   4095,   4096,   4097,   8191,  8192, 65535,
                                   65536, 65537, 98304, 131069, 131070, 131071, 131072};
    static const int schemes[] = {WEFT_XET_SCHEME_NONE, WEFT_XET_SCHEME_LZ4,
                                  WEFT_XET_SCHEME_BG4_LZ4, WEFT_XET_SCHEME_AUTO};
    uint8_t *data = malloc(MAXC);
    assert_non_null(data);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int kind = 0; kind < DATA_KINDS; kind++) {
            fill(data, sizes[i], kind, 1000 + i);
            for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
                int used = -1;
                roundtrip(data, sizes[i], schemes[k], &used);
                if (schemes[k] == WEFT_XET_SCHEME_NONE || kind == DATA_RANDOM || sizes[i] < 16)
                    assert_int_equal(used, WEFT_XET_SCHEME_NONE);
                if (kind == DATA_ZEROS && sizes[i] >= 4096 && schemes[k] != WEFT_XET_SCHEME_NONE)
                    assert_int_not_equal(used, WEFT_XET_SCHEME_NONE);
            }
        }
    free(data);
}

static void test_xet_compress_bg4_tails_go_to_first_lanes(void **state)
{
    (void)state;
    uint8_t in[64], out[64], back[64];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    /* n = 7: lanes are {0,4} {1,5} {2,6} {3}. */
    static const uint8_t seven[7] = {0, 4, 1, 5, 2, 6, 3};
    weft_xet_bg4_split(out, in, 7);
    assert_memory_equal(out, seven, 7);
    /* n = 9: {0,4,8} {1,5} {2,6} {3,7}. */
    static const uint8_t nine[9] = {0, 4, 8, 1, 5, 2, 6, 3, 7};
    weft_xet_bg4_split(out, in, 9);
    assert_memory_equal(out, nine, 9);
    for (size_t n = 0; n <= sizeof in; n++) {
        memset(out, 0xEE, sizeof out);
        weft_xet_bg4_split(out, in, n);
        for (size_t i = n; i < sizeof out; i++)
            assert_int_equal(out[i], 0xEE); /* nothing written past n */
        /* Lane k is every 4th byte from k, in order. */
        size_t pos = 0;
        for (size_t k = 0; k < 4; k++)
            for (size_t i = k; i < n; i += 4)
                assert_int_equal(out[pos++], in[i]);
        weft_xet_bg4_regroup(back, out, n);
        assert_memory_equal(back, in, n);
    }
}

/* Frame header as lz4_flex's FrameEncoder writes it; checked against liblz4 writing the same
 * settings, which also checks our xxHash32 descriptor checksum. */
static void test_xet_compress_frame_header_matches_xet_core(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        LZ4F_blockSizeID_t bs;
        uint8_t bd;
    } cases[] = {{1000, LZ4F_max64KB, 0x40},
                 {65536, LZ4F_max64KB, 0x40},
                 {65537, LZ4F_max256KB, 0x50},
                 {131072, LZ4F_max256KB, 0x50}};
    uint8_t *data = calloc(1, MAXC);
    assert_non_null(data);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_buf out;
        weft_buf_init(&out, 1u << 20);
        int used;
        assert_int_equal(weft_xet_compress(&out, &used, WEFT_XET_SCHEME_LZ4, data, cases[i].n), 0);
        assert_int_equal(used, WEFT_XET_SCHEME_LZ4);
        static const uint8_t magic[4] = {0x04, 0x22, 0x4D, 0x18};
        assert_memory_equal(out.data, magic, 4);
        assert_int_equal(out.data[4], 0x60); /* version 01, independent blocks, nothing else */
        assert_int_equal(out.data[5], cases[i].bd);

        LZ4F_preferences_t prefs;
        memset(&prefs, 0, sizeof prefs);
        prefs.frameInfo.blockSizeID = cases[i].bs;
        prefs.frameInfo.blockMode = LZ4F_blockIndependent;
        uint8_t ref[64];
        size_t cap = LZ4F_compressFrameBound(cases[i].n, &prefs);
        uint8_t *tmp = malloc(cap);
        size_t r = LZ4F_compressFrame(tmp, cap, data, cases[i].n, &prefs);
        assert_false(LZ4F_isError(r));
        memcpy(ref, tmp, 7);
        free(tmp);
        assert_memory_equal(out.data, ref, 7);
        /* One block, then the end mark. */
        uint32_t blk = weft_load_u32le(out.data + 7);
        assert_int_equal(out.len, 7 + 4 + (blk & 0x7FFFFFFFu) + 4);
        assert_int_equal(weft_load_u32le(out.data + out.len - 4), 0);
        weft_buf_dispose(&out);
    }
    free(data);
}

/* Frames from another encoder with every option the reader must handle. */
static void test_xet_compress_decodes_foreign_frames(void **state)
{
    (void)state;
    uint8_t *data = malloc(MAXC), *back = malloc(MAXC), *split = malloc(MAXC);
    assert_non_null(data);
    fill(data, MAXC, DATA_TEXT, 7);
    size_t cap = LZ4F_compressFrameBound(MAXC, NULL) + 64;
    uint8_t *frame = malloc(cap);
    for (int mode = 0; mode < 2; mode++)
        for (int bs = 4; bs <= 7; bs++)
            for (int csum = 0; csum < 2; csum++)
                for (int bsum = 0; bsum < 2; bsum++) {
                    LZ4F_preferences_t prefs;
                    memset(&prefs, 0, sizeof prefs);
                    prefs.frameInfo.blockSizeID = (LZ4F_blockSizeID_t)bs;
                    prefs.frameInfo.blockMode = mode ? LZ4F_blockLinked : LZ4F_blockIndependent;
                    prefs.frameInfo.contentChecksumFlag = (LZ4F_contentChecksum_t)csum;
                    prefs.frameInfo.blockChecksumFlag = (LZ4F_blockChecksum_t)bsum;
                    prefs.frameInfo.contentSize = csum ? MAXC : 0;
                    size_t n = LZ4F_compressFrame(frame, cap, data, MAXC, &prefs);
                    assert_false(LZ4F_isError(n));
                    assert_int_equal(weft_xet_decompress(back, MAXC, WEFT_XET_SCHEME_LZ4, frame, n),
                                     0);
                    assert_memory_equal(back, data, MAXC);
                    /* One byte short of the declared length is refused, not truncated. */
                    assert_int_equal(
                        weft_xet_decompress(back, MAXC - 1, WEFT_XET_SCHEME_LZ4, frame, n),
                        WEFT_ECORRUPT);
                }
    /* BG4 payload from another encoder. */
    weft_xet_bg4_split(split, data, MAXC - 3);
    size_t n = LZ4F_compressFrame(frame, cap, split, MAXC - 3, NULL);
    assert_false(LZ4F_isError(n));
    assert_int_equal(weft_xet_decompress(back, MAXC - 3, WEFT_XET_SCHEME_BG4_LZ4, frame, n), 0);
    assert_memory_equal(back, data, MAXC - 3);
    free(frame);
    free(data);
    free(back);
    free(split);
}

static void test_xet_compress_rejects_broken_payloads(void **state)
{
    (void)state;
    uint8_t data[4096], back[4096 + 64];
    fill(data, sizeof data, DATA_TEXT, 3);
    weft_buf out;
    weft_buf_init(&out, 1u << 20);
    int used;
    assert_int_equal(weft_xet_compress(&out, &used, WEFT_XET_SCHEME_LZ4, data, sizeof data), 0);
    assert_int_equal(used, WEFT_XET_SCHEME_LZ4);
    uint8_t *f = out.data;
    size_t n = out.len;

    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < n; cut++) {
        weft_err_clear();
        assert_int_equal(weft_xet_decompress(back, sizeof data, WEFT_XET_SCHEME_LZ4, f, cut),
                         WEFT_ECORRUPT);
        assert_true(strlen(weft_err_last()) > 0);
    }
    /* A declared length that is too long or too short. */
    assert_int_equal(weft_xet_decompress(back, sizeof data + 1, WEFT_XET_SCHEME_LZ4, f, n),
                     WEFT_ECORRUPT);
    assert_int_equal(weft_xet_decompress(back, sizeof data - 1, WEFT_XET_SCHEME_LZ4, f, n),
                     WEFT_ECORRUPT);
    /* Trailing garbage after the frame. */
    uint8_t *longer = malloc(n + 3);
    memcpy(longer, f, n);
    memset(longer + n, 0xAB, 3);
    assert_int_equal(weft_xet_decompress(back, sizeof data, WEFT_XET_SCHEME_LZ4, longer, n + 3),
                     WEFT_ECORRUPT);
    free(longer);
    /* Header fields: magic, descriptor checksum, reserved bits, dictionary, block size. */
    static const struct {
        size_t at;
        uint8_t x;
    } flips[] = {{0, 0x01}, {6, 0x01}, {4, 0x02}, {4, 0x01}, {5, 0x30}, {5, 0x01}};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        f[flips[i].at] ^= flips[i].x;
        assert_int_equal(weft_xet_decompress(back, sizeof data, WEFT_XET_SCHEME_LZ4, f, n),
                         WEFT_ECORRUPT);
        f[flips[i].at] ^= flips[i].x;
    }
    /* A block that claims more than the block maximum. */
    weft_store_u32le(f + 7, 0x7FFFFFF0u);
    assert_int_equal(weft_xet_decompress(back, sizeof data, WEFT_XET_SCHEME_LZ4, f, n),
                     WEFT_ECORRUPT);
    /* Flipping bytes inside the block never writes past the declared length (ASan checks). */
    assert_int_equal(weft_xet_compress(&out, &used, WEFT_XET_SCHEME_LZ4, data, sizeof data), 0);
    f = out.data + n;
    for (size_t at = 11; at + 4 < n; at += 7) {
        f[at] ^= 0x5A;
        int rc = weft_xet_decompress(back, sizeof data, WEFT_XET_SCHEME_LZ4, f, n);
        assert_true(rc == 0 || rc == WEFT_ECORRUPT);
        f[at] ^= 0x5A;
    }
    /* An empty LZ4 payload is an empty stream, as lz4_flex reads it: fine for 0 bytes only. */
    assert_int_equal(weft_xet_decompress(back, 0, WEFT_XET_SCHEME_LZ4, data, 0), 0);
    assert_int_equal(weft_xet_decompress(back, 1, WEFT_XET_SCHEME_BG4_LZ4, data, 0), WEFT_ECORRUPT);
    /* Scheme none must match its length exactly. */
    assert_int_equal(weft_xet_decompress(back, 10, WEFT_XET_SCHEME_NONE, data, 11), WEFT_ECORRUPT);
    assert_int_equal(weft_xet_decompress(back, 10, 7, data, 10), WEFT_ECORRUPT);
    weft_buf_dispose(&out);
}

static void test_xet_compress_limits(void **state)
{
    (void)state;
    uint8_t *big = calloc(1, MAXC + 1);
    weft_buf out;
    weft_buf_init(&out, 1u << 20);
    int used;
    assert_int_equal(weft_xet_compress(&out, &used, WEFT_XET_SCHEME_LZ4, big, MAXC + 1),
                     WEFT_ELIMIT);
    assert_int_equal(out.len, 0);
    assert_int_equal(weft_xet_compress(&out, &used, 3, big, 10), WEFT_EINVALID);
    assert_int_equal(weft_xet_decompress(big, MAXC + 1, WEFT_XET_SCHEME_NONE, big, MAXC + 1),
                     WEFT_ELIMIT);
    /* A buffer cap that is too small leaves the buffer unchanged. */
    weft_buf small;
    weft_buf_init(&small, 10);
    assert_int_equal(weft_xet_compress(&small, &used, WEFT_XET_SCHEME_NONE, big, 11), WEFT_ELIMIT);
    assert_int_equal(small.len, 0);
    weft_buf_dispose(&small);
    weft_buf_dispose(&out);
    free(big);
}

static void test_xet_compress_scheme_names(void **state)
{
    (void)state;
    assert_string_equal(weft_xet_scheme_name(WEFT_XET_SCHEME_BG4_LZ4), "bg4-lz4");
    assert_int_equal(weft_xet_scheme_from_name("lz4"), WEFT_XET_SCHEME_LZ4);
    assert_int_equal(weft_xet_scheme_from_name(""), WEFT_XET_SCHEME_AUTO);
    assert_int_equal(weft_xet_scheme_from_name("zstd"), -1);
    assert_null(weft_xet_scheme_name(5));
}

/* Predictor: divergence of a lane whose bins are all populated decides; lanes with an empty bin
 * are skipped exactly as xet-core's NaN arithmetic skips them. */
static void test_xet_compress_predictor(void **state)
{
    (void)state;
    size_t n = 65536;
    uint8_t *d = malloc(n);
    uint64_t s = 5;
    /* Uniform random bytes: all lanes alike. */
    tu_fill_random(d, n, 9);
    assert_int_equal(weft_xet_scheme_choose(d, n), WEFT_XET_SCHEME_LZ4);
    /* Lane 3 biased to few set bits, but with every popcount present. */
    for (size_t i = 0; i < n; i++) {
        uint8_t r = (uint8_t)tu_next(&s);
        d[i] = (i % 4 == 3 && i % 64 != 3)
                   ? (uint8_t)(r & (uint8_t)tu_next(&s) & (uint8_t)tu_next(&s))
                   : r;
    }
    assert_int_equal(weft_xet_scheme_choose(d, n), WEFT_XET_SCHEME_BG4_LZ4);
    /* Float-like data whose lanes each miss a popcount bin (no 0xFF in lanes 0-2, a constant
     * lane 3): every divergence is NaN, so the reference says LZ4 although BG4 would help. */
    for (size_t i = 0; i < n; i++)
        d[i] = (i % 4 == 3) ? 0x3F : (uint8_t)(tu_next(&s) & 0xFE);
    assert_int_equal(weft_xet_scheme_choose(d, n), WEFT_XET_SCHEME_LZ4);
    /* One 0xFF in each of lanes 0-2 fills their last bin: now they count, and they differ from
     * the pooled histogram that lane 3 skews. */
    d[0] = d[1] = d[2] = 0xFF;
    assert_int_equal(weft_xet_scheme_choose(d, n), WEFT_XET_SCHEME_BG4_LZ4);
    /* Zeros and empty input: every lane NaN, LZ4. */
    memset(d, 0, n);
    assert_int_equal(weft_xet_scheme_choose(d, n), WEFT_XET_SCHEME_LZ4);
    assert_int_equal(weft_xet_scheme_choose(d, 0), WEFT_XET_SCHEME_LZ4);
    /* Histograms: lane = (offset + i) % 4. */
    weft_xet_bg4_predictor p;
    weft_xet_bg4_predictor_init(&p);
    static const uint8_t bytes[5] = {0xFF, 0x01, 0x03, 0x07, 0x0F};
    weft_xet_bg4_predictor_add(&p, 2, bytes, 5);
    assert_int_equal(p.hist[2][8], 1);
    assert_int_equal(p.hist[3][1], 1);
    assert_int_equal(p.hist[0][2], 1);
    assert_int_equal(p.hist[1][3], 1);
    assert_int_equal(p.hist[2][4], 1);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_compress_roundtrip_every_scheme_at_size_edges),
        cmocka_unit_test(test_xet_compress_bg4_tails_go_to_first_lanes),
        cmocka_unit_test(test_xet_compress_frame_header_matches_xet_core),
        cmocka_unit_test(test_xet_compress_decodes_foreign_frames),
        cmocka_unit_test(test_xet_compress_rejects_broken_payloads),
        cmocka_unit_test(test_xet_compress_limits),
        cmocka_unit_test(test_xet_compress_scheme_names),
        cmocka_unit_test(test_xet_compress_predictor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
