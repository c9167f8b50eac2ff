/* Xorbs: chunk headers, the builder (schemes, auto retest, limits), the footer read from the
 * tail, single-chunk and range decoding, client-xorb verification, and clear errors on
 * truncated, corrupted and absurd inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/xorb.h"

#define MAXC WEFT_XET_MAX_CHUNK_LEN

typedef struct sample {
    uint8_t *data[8];
    size_t len[8];
    size_t n;
} sample;

/* Chunks of mixed content and sizes: random, zeros, text, floats, a 1-byte and a max chunk. */
static void sample_make(sample *s)
{
    static const size_t lens[8] = {70000, 8192, 1, MAXC, 12345, 65536, 3, 40000};
    s->n = 8;
    for (size_t i = 0; i < s->n; i++) {
        s->len[i] = lens[i];
        s->data[i] = malloc(lens[i]);
        assert_non_null(s->data[i]);
        switch (i % 4) {
        case 0:
            tu_fill_random(s->data[i], lens[i], i);
            break;
        case 1:
            memset(s->data[i], 0, lens[i]);
            break;
        case 2:
            for (size_t k = 0; k < lens[i]; k++)
                s->data[i][k] = (uint8_t)("weft xorb "[k % 10]);
            break;
        default:
            for (size_t k = 0; k < lens[i]; k++)
                s->data[i][k] = (k % 4 == 3) ? 0x3C : (uint8_t)(k * 7 + i);
        }
    }
}

static void sample_free(sample *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
}

static weft_xorb_builder *build(const sample *s, int scheme, weft_xorb_built *out)
{
    weft_xorb_builder *b;
    assert_int_equal(weft_xorb_builder_new(&b, scheme), 0);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(weft_xorb_builder_add(b, NULL, s->data[i], s->len[i]), 0);
    assert_int_equal(weft_xorb_builder_finish(b, out), 0);
    return b;
}

static void test_xet_xorb_chunk_header_roundtrip_and_rejects(void **state)
{
    (void)state;
    weft_xorb_chunk_header h = {.version = 0,
                                .scheme = 2,
                                .compressed_len = 0x123456 & 0x3FFFF,
                                .raw_len = MAXC},
                           g;
    uint8_t b[8];
    weft_xorb_chunk_header_write(b, &h);
    assert_int_equal(b[4], 2);
    assert_int_equal(weft_xorb_chunk_header_parse(&g, b, 8), 0);
    assert_int_equal(g.compressed_len, h.compressed_len);
    assert_int_equal(g.raw_len, MAXC);

    static const uint8_t bad[][8] = {
        {1, 4, 0, 0, 0, 4, 0, 0},               /* version 1 */
        {'X', 'E', 'T', 'B', 'L', 'O', 'B', 1}, /* a footer where a chunk should be */
        {0, 4, 0, 0, 3, 4, 0, 0},               /* scheme 3 */
        {0, 4, 0, 0, 99, 4, 0, 0},              /* auto is never stored */
        {0, 4, 0, 0, 1, 1, 0, 2},               /* raw 128 KiB + 1 */
        {0, 1, 0, 4, 1, 4, 0, 0},               /* compressed 256 KiB + 1 */
        {0, 5, 0, 0, 0, 4, 0, 0},               /* none with lengths that differ */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_err_clear();
        assert_int_equal(weft_xorb_chunk_header_parse(&g, bad[i], 8), WEFT_ECORRUPT);
        assert_true(strlen(weft_err_last()) > 0);
    }
    assert_int_equal(weft_xorb_chunk_header_parse(&g, b, 7), WEFT_ECORRUPT);
    /* The largest compressed length allowed is accepted. */
    uint8_t ok[8] = {0, 0, 0, 4, 1, 0, 0, 2};
    assert_int_equal(weft_xorb_chunk_header_parse(&g, ok, 8), 0);
}

static void test_xet_xorb_builder_roundtrip_every_scheme(void **state)
{
    (void)state;
    sample s;
    sample_make(&s);
    static const int schemes[] = {WEFT_XET_SCHEME_NONE, WEFT_XET_SCHEME_LZ4,
                                  WEFT_XET_SCHEME_BG4_LZ4, WEFT_XET_SCHEME_AUTO};
    weft_hash first;
    for (size_t k = 0; k < 4; k++) {
        weft_xorb_built x;
        weft_xorb_builder *b = build(&s, schemes[k], &x);
        /* The xorb hash does not depend on the compression. */
        if (k == 0)
            first = x.hash;
        assert_memory_equal(x.hash.b, first.b, 32);
        assert_int_equal(x.footer->n_chunks, s.n);
        assert_int_equal(x.len, x.data_len + WEFT_XORB_FOOTER_LEN(s.n));

        /* Client form: verify, same hash and offsets. */
        weft_xorb_footer *f = NULL;
        assert_int_equal(weft_xorb_parse_client(&f, x.bytes, x.data_len, &x.hash), 0);
        assert_memory_equal(f->hash.b, x.hash.b, 32);
        for (size_t i = 0; i <= s.n; i++) {
            assert_int_equal(f->phys_off[i], x.footer->phys_off[i]);
            assert_int_equal(f->raw_off[i], x.footer->raw_off[i]);
        }
        /* Rebuilt footer is byte-identical to the builder's. */
        weft_buf fb;
        weft_buf_init(&fb, 1u << 20);
        assert_int_equal(weft_xorb_footer_serialize(&fb, f), 0);
        assert_int_equal(fb.len, x.len - x.data_len);
        assert_memory_equal(fb.data, x.bytes + x.data_len, fb.len);
        weft_buf_dispose(&fb);
        weft_xorb_footer_free(f);

        /* Each chunk decodes alone from its physical range, and the scheme is as forced. */
        uint8_t *out = malloc(MAXC);
        for (size_t i = 0; i < s.n; i++) {
            const uint8_t *c = x.bytes + x.footer->phys_off[i];
            size_t clen = x.footer->phys_off[i + 1] - x.footer->phys_off[i], got = 0;
            assert_int_equal(weft_xorb_chunk_decode(out, MAXC, &got, c, clen), 0);
            assert_int_equal(got, s.len[i]);
            assert_memory_equal(out, s.data[i], got);
            if (schemes[k] == WEFT_XET_SCHEME_NONE || i % 4 == 0)
                assert_int_equal(c[4], WEFT_XET_SCHEME_NONE); /* random stays raw */
            else if (schemes[k] != WEFT_XET_SCHEME_AUTO && s.len[i] > 100)
                assert_int_equal(c[4], schemes[k]);
        }
        free(out);
        weft_xorb_builder_free(b);
    }
    sample_free(&s);
}

static void test_xet_xorb_footer_parse_from_tail(void **state)
{
    (void)state;
    sample s;
    sample_make(&s);
    weft_xorb_built x;
    weft_xorb_builder *b = build(&s, WEFT_XET_SCHEME_AUTO, &x);
    /* Step 1: the last 32 bytes tell the footer length. */
    size_t flen = 0;
    uint32_t n = 0;
    assert_int_equal(weft_xorb_footer_len(&flen, &n, x.bytes + x.len - WEFT_XORB_FOOTER_TAIL_LEN,
                                          WEFT_XORB_FOOTER_TAIL_LEN, x.len),
                     0);
    assert_int_equal(flen, WEFT_XORB_FOOTER_LEN(s.n));
    assert_int_equal(n, s.n);
    /* Too little tail for step 1 or step 2: asks for more, does not guess. */
    assert_int_equal(weft_xorb_footer_len(&flen, &n, x.bytes + x.len - 31, 31, x.len),
                     WEFT_EINVALID);
    weft_xorb_footer *f = NULL;
    assert_int_equal(weft_xorb_footer_parse(&f, x.bytes + x.len - (flen - 1), flen - 1, x.len),
                     WEFT_EINVALID);
    /* Step 2: exactly the footer, or any longer tail. */
    assert_int_equal(weft_xorb_footer_parse(&f, x.bytes + x.len - flen, flen, x.len), 0);
    assert_memory_equal(f->hash.b, x.hash.b, 32);
    for (size_t i = 0; i < s.n; i++)
        assert_memory_equal(f->chunk_hashes[i].b, x.footer->chunk_hashes[i].b, 32);
    weft_xorb_footer_free(f);
    assert_int_equal(weft_xorb_footer_parse(&f, x.bytes, x.len, x.len), 0);
    /* A byte range of the unpacked xorb maps to chunks; serve [i, j) by reading its bytes. */
    assert_int_equal(weft_xorb_footer_chunk_at(f, 0), 0);
    assert_int_equal(weft_xorb_footer_chunk_at(f, 69999), 0);
    assert_int_equal(weft_xorb_footer_chunk_at(f, 70000), 1);
    assert_int_equal(weft_xorb_footer_chunk_at(f, 70000 + 8192), 2);
    assert_int_equal(weft_xorb_footer_chunk_at(f, f->raw_off[s.n] - 1), s.n - 1);
    assert_int_equal(weft_xorb_footer_chunk_at(f, f->raw_off[s.n]), s.n);
    weft_buf range;
    weft_buf_init(&range, 1u << 24);
    uint32_t got_n = 0;
    assert_int_equal(weft_xorb_chunks_decode(&range, &got_n, x.bytes + f->phys_off[2],
                                             f->phys_off[5] - f->phys_off[2]),
                     0);
    assert_int_equal(got_n, 3);
    assert_int_equal(range.len, s.len[2] + s.len[3] + s.len[4]);
    assert_memory_equal(range.data, s.data[2], s.len[2]);
    assert_memory_equal(range.data + s.len[2] + s.len[3], s.data[4], s.len[4]);
    /* A range that cuts a chunk fails and leaves the buffer as it was. */
    size_t before = range.len;
    assert_int_equal(weft_xorb_chunks_decode(&range, NULL, x.bytes + f->phys_off[2],
                                             f->phys_off[5] - f->phys_off[2] - 1),
                     WEFT_ECORRUPT);
    assert_int_equal(range.len, before);
    weft_buf_dispose(&range);
    weft_xorb_footer_free(f);
    /* The whole stored object verifies. */
    assert_int_equal(weft_xorb_parse_stored(&f, x.bytes, x.len, &x.hash), 0);
    weft_xorb_footer_free(f);
    weft_xorb_builder_free(b);
    sample_free(&s);
}

static void test_xet_xorb_footer_rejects_corruption(void **state)
{
    (void)state;
    sample s;
    sample_make(&s);
    weft_xorb_built x;
    weft_xorb_builder *b = build(&s, WEFT_XET_SCHEME_LZ4, &x);
    uint8_t *obj = malloc(x.len);
    memcpy(obj, x.bytes, x.len);
    size_t flen = x.len - x.data_len;
    uint8_t *ft = obj + x.data_len;
    weft_xorb_footer *f = NULL;
    /* Every byte of the footer. Idents, versions, counts, section offsets and the info length
     * fail the footer parse; chunk boundaries that stay plausible and hashes only fail the full
     * verification; the nonce buffer is free. */
    size_t bounds_at = 52 + 32 * s.n;
    for (size_t i = 0; i < flen; i++) {
        ft[i] ^= 0x10;
        int rc = weft_xorb_footer_parse(&f, obj, x.len, x.len);
        int fixed = i < 8 || (i >= 40 && i < 52) || (i >= bounds_at && i < bounds_at + 12) ||
                    (i >= flen - 32 && i < flen - 20) || i >= flen - 4;
        int in_buffer = i >= flen - 20 && i < flen - 4;
        if (fixed)
            assert_int_equal(rc, WEFT_ECORRUPT);
        if (rc == 0) {
            weft_xorb_footer_free(f);
            rc = weft_xorb_parse_stored(&f, obj, x.len, NULL);
            assert_int_equal(rc, in_buffer ? 0 : WEFT_ECORRUPT);
            if (rc == 0)
                weft_xorb_footer_free(f);
        } else {
            assert_int_equal(rc, WEFT_ECORRUPT);
        }
        ft[i] ^= 0x10;
    }
    /* Absurd info length, version 0 footer, too-short objects. */
    weft_store_u32le(obj + x.len - 4, 0xFFFFFFFFu);
    assert_int_equal(weft_xorb_footer_parse(&f, obj, x.len, x.len), WEFT_ECORRUPT);
    weft_store_u32le(obj + x.len - 4, (uint32_t)(flen - 4));
    ft[7] = 0;
    assert_int_equal(weft_xorb_footer_parse(&f, obj, x.len, x.len), WEFT_ECORRUPT);
    ft[7] = 1;
    assert_int_equal(weft_xorb_footer_parse(&f, obj, 10, 10), WEFT_ECORRUPT);
    /* The footer of one object read as the tail of a longer one: chunks do not meet it. */
    assert_int_equal(weft_xorb_footer_parse(&f, obj, x.len, x.len + 8), WEFT_ECORRUPT);
    assert_int_equal(weft_xorb_footer_parse(&f, obj + 8, x.len - 8, x.len - 8), WEFT_ECORRUPT);
    free(obj);
    weft_xorb_builder_free(b);
    sample_free(&s);
}

static void test_xet_xorb_parse_client_rejects_bad_input(void **state)
{
    (void)state;
    sample s;
    sample_make(&s);
    weft_xorb_built x;
    weft_xorb_builder *b = build(&s, WEFT_XET_SCHEME_AUTO, &x);
    weft_xorb_footer *f = NULL;
    /* Every truncation. */
    for (size_t cut = 0; cut < x.data_len; cut += (cut < 64 ? 1 : 997)) {
        weft_err_clear();
        int rc = weft_xorb_parse_client(&f, x.bytes, cut, NULL);
        assert_int_equal(rc, WEFT_ECORRUPT);
        assert_true(strstr(weft_err_last(), "chunk") != NULL || cut == 0);
    }
    /* Truncation exactly at a chunk boundary is a valid shorter xorb with another hash. */
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes, x.footer->phys_off[3], &x.hash),
                     WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "hash to"));
    /* Trailing bytes after the last chunk. */
    uint8_t *copy = malloc(x.data_len + 5);
    memcpy(copy, x.bytes, x.data_len);
    memset(copy + x.data_len, 0, 5);
    assert_int_equal(weft_xorb_parse_client(&f, copy, x.data_len + 5, NULL), WEFT_ECORRUPT);
    /* A storage footer after the chunks is ignored, as xet-core does: the chunks verify and end
     * where the footer starts. Anything else after them is refused. */
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes, x.len, &x.hash), 0);
    assert_int_equal(f->phys_off[f->n_chunks], x.data_len);
    weft_xorb_footer_free(f);
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes, x.data_len + 7, NULL), WEFT_ECORRUPT);
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes + x.data_len, x.len - x.data_len, NULL),
                     WEFT_ECORRUPT);
    /* A flipped payload byte: a raw chunk hashes differently, a compressed one fails to
     * decode or hashes differently. Never success. */
    for (size_t i = 0; i < s.n; i++) {
        size_t at =
            x.footer->phys_off[i] + 8 + (x.footer->phys_off[i + 1] - x.footer->phys_off[i] - 8) / 2;
        copy[at] ^= 0x40;
        int rc = weft_xorb_parse_client(&f, copy, x.data_len, &x.hash);
        assert_true(rc == WEFT_ECORRUPT || rc == WEFT_EINVALID);
        copy[at] ^= 0x40;
    }
    /* A header whose lengths lie. */
    copy[5] ^= 1;
    assert_int_equal(weft_xorb_parse_client(&f, copy, x.data_len, NULL), WEFT_ECORRUPT);
    copy[5] ^= 1;
    assert_int_equal(weft_xorb_parse_client(&f, copy, x.data_len, &x.hash), 0);
    weft_xorb_footer_free(f);
    free(copy);
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes, 0, NULL), WEFT_ECORRUPT);
    weft_xorb_builder_free(b);
    sample_free(&s);
}

static void test_xet_xorb_parse_client_limits(void **state)
{
    (void)state;
    weft_xorb_footer *f = NULL;
    /* 8193 empty chunks: over the chunk count before any allocation for them. */
    size_t n = WEFT_XORB_MAX_CHUNKS + 1;
    uint8_t *p = calloc(n, 8);
    assert_int_equal(weft_xorb_parse_client(&f, p, n * 8, NULL), WEFT_ELIMIT);
    /* 8192 empty chunks are fine. */
    assert_int_equal(weft_xorb_parse_client(&f, p, (n - 1) * 8, NULL), 0);
    assert_int_equal(f->n_chunks, WEFT_XORB_MAX_CHUNKS);
    weft_xorb_footer_free(f);
    free(p);
    /* Over 64 MiB. */
    size_t big = (size_t)WEFT_XORB_MAX_BYTES + 1;
    p = calloc(1, big);
    assert_int_equal(weft_xorb_parse_client(&f, p, big, NULL), WEFT_ELIMIT);
    free(p);
}

static void test_xet_xorb_builder_auto_retests_every_32_chunks(void **state)
{
    (void)state;
    /* Chunk 0 is float-like (predictor: BG4), the rest plain text (predictor: LZ4). */
    size_t len = 16384;
    uint8_t *fl = malloc(len), *txt = malloc(len);
    uint64_t s = 1;
    for (size_t i = 0; i < len; i++) {
        fl[i] = (i % 4 == 3) ? (uint8_t)(0x3C + (tu_next(&s) % 2)) : (uint8_t)tu_next(&s);
        txt[i] = (uint8_t)("lorem ipsum dolor sit amet "[i % 27]);
    }
    assert_int_equal(weft_xet_scheme_choose(fl, len), WEFT_XET_SCHEME_BG4_LZ4);
    assert_int_equal(weft_xet_scheme_choose(txt, len), WEFT_XET_SCHEME_LZ4);
    weft_xorb_builder *b;
    assert_int_equal(weft_xorb_builder_new(&b, WEFT_XET_SCHEME_AUTO), 0);
    assert_int_equal(weft_xorb_builder_add(b, NULL, fl, len), 0);
    for (int i = 1; i < 40; i++) {
        if (i == 36)
            weft_xorb_builder_file_start(b);
        assert_int_equal(weft_xorb_builder_add(b, NULL, i == 36 ? fl : txt, len), 0);
    }
    weft_xorb_built x;
    assert_int_equal(weft_xorb_builder_finish(b, &x), 0);
    for (uint32_t i = 0; i < 40; i++) {
        uint8_t scheme = x.bytes[x.footer->phys_off[i] + 4];
        /* Chunks 0..31 reuse chunk 0's choice; 32 re-tests on text; 36 starts a file. */
        int want = (i < 32 || i >= 36) ? WEFT_XET_SCHEME_BG4_LZ4 : WEFT_XET_SCHEME_LZ4;
        assert_int_equal(scheme, want);
    }
    /* Adding after finish is refused until reset; reset gives an empty builder. */
    assert_int_equal(weft_xorb_builder_add(b, NULL, txt, 10), WEFT_EINVALID);
    weft_xorb_builder_reset(b);
    assert_int_equal(weft_xorb_builder_n_chunks(b), 0);
    assert_int_equal(weft_xorb_builder_finish(b, &x), WEFT_EINVALID);
    weft_xorb_builder_free(b);
    free(fl);
    free(txt);
}

static void test_xet_xorb_builder_reports_full(void **state)
{
    (void)state;
    weft_xorb_builder *b;
    /* Chunk count: 8192 one-byte chunks, then full. */
    assert_int_equal(weft_xorb_builder_new(&b, WEFT_XET_SCHEME_NONE), 0);
    uint8_t one = 7;
    weft_hash h;
    weft_xet_chunk_hash(&h, &one, 1);
    for (uint32_t i = 0; i < WEFT_XORB_MAX_CHUNKS; i++)
        assert_int_equal(weft_xorb_builder_add(b, &h, &one, 1), 0);
    assert_true(weft_xorb_builder_full(b));
    assert_false(weft_xorb_builder_can_add(b, 1));
    assert_int_equal(weft_xorb_builder_add(b, &h, &one, 1), WEFT_ELIMIT);
    assert_int_equal(weft_xorb_builder_n_chunks(b), WEFT_XORB_MAX_CHUNKS);
    weft_xorb_built x;
    assert_int_equal(weft_xorb_builder_finish(b, &x), 0);
    assert_int_equal(x.len,
                     (size_t)WEFT_XORB_MAX_CHUNKS * 9 + WEFT_XORB_FOOTER_LEN(WEFT_XORB_MAX_CHUNKS));
    weft_xorb_builder_free(b);

    /* Bytes: incompressible max chunks until 64 MiB with the footer. */
    uint8_t *d = malloc(MAXC);
    tu_fill_random(d, MAXC, 77);
    assert_int_equal(weft_xorb_builder_new(&b, WEFT_XET_SCHEME_AUTO), 0);
    uint32_t n = 0;
    while (!weft_xorb_builder_full(b)) {
        d[0] = (uint8_t)n; /* distinct chunks */
        assert_int_equal(weft_xorb_builder_add(b, NULL, d, MAXC), 0);
        n++;
    }
    size_t expect_n = (WEFT_XORB_MAX_BYTES - 96) / (MAXC + 8 + 40);
    assert_int_equal(n, expect_n);
    assert_int_equal(weft_xorb_builder_add(b, NULL, d, MAXC), WEFT_ELIMIT);
    assert_int_equal(weft_xorb_builder_n_chunks(b), n); /* unchanged */
    assert_true(weft_xorb_builder_can_add(b, 1000));    /* a small one still fits */
    assert_int_equal(weft_xorb_builder_finish(b, &x), 0);
    assert_true(x.len <= WEFT_XORB_MAX_BYTES);
    /* Its client form parses within the limit. */
    weft_xorb_footer *f = NULL;
    assert_int_equal(weft_xorb_parse_client(&f, x.bytes, x.data_len, &x.hash), 0);
    weft_xorb_footer_free(f);
    /* A chunk over 128 KiB is never accepted. */
    weft_xorb_builder_reset(b);
    uint8_t *big = calloc(1, MAXC + 1);
    assert_int_equal(weft_xorb_builder_add(b, NULL, big, MAXC + 1), WEFT_ELIMIT);
    free(big);
    free(d);
    weft_xorb_builder_free(b);
    assert_int_equal(weft_xorb_builder_new(&b, 5), WEFT_EINVALID);
}

static void test_xet_xorb_chunk_decode_bounds(void **state)
{
    (void)state;
    uint8_t chunk[8 + 16], out[16];
    weft_xorb_chunk_header h = {.scheme = 0, .compressed_len = 16, .raw_len = 16};
    weft_xorb_chunk_header_write(chunk, &h);
    memset(chunk + 8, 0xAA, 16);
    size_t got = 0;
    assert_int_equal(weft_xorb_chunk_decode(out, 16, &got, chunk, sizeof chunk), 0);
    assert_int_equal(got, 16);
    /* Output too small: refused before writing. */
    assert_int_equal(weft_xorb_chunk_decode(out, 15, &got, chunk, sizeof chunk), WEFT_EINVALID);
    /* Chunk bytes that do not match the header. */
    assert_int_equal(weft_xorb_chunk_decode(out, 16, &got, chunk, sizeof chunk - 1), WEFT_ECORRUPT);
    assert_int_equal(weft_xorb_chunk_decode(out, 16, &got, chunk, 4), WEFT_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_xorb_chunk_header_roundtrip_and_rejects),
        cmocka_unit_test(test_xet_xorb_builder_roundtrip_every_scheme),
        cmocka_unit_test(test_xet_xorb_footer_parse_from_tail),
        cmocka_unit_test(test_xet_xorb_footer_rejects_corruption),
        cmocka_unit_test(test_xet_xorb_parse_client_rejects_bad_input),
        cmocka_unit_test(test_xet_xorb_parse_client_limits),
        cmocka_unit_test(test_xet_xorb_builder_auto_retests_every_32_chunks),
        cmocka_unit_test(test_xet_xorb_builder_reports_full),
        cmocka_unit_test(test_xet_xorb_chunk_decode_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
