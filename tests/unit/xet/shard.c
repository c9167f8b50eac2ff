/* MDB shards: exact byte layout, round trips with and without footer, the SHA-256 word order,
 * lookup tables, upload rules, HMAC, and clear errors on truncated and absurd inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/shard.h"

static weft_hash hash_of(uint64_t seed)
{
    weft_hash h;
    tu_fill_random(h.b, 32, seed);
    return h;
}

/* Two xorbs (3 and 2 chunks), two files: one spanning both xorbs with SHA-256, one single term
 * without SHA-256. Consistent enough to pass the upload rules. */
static weft_shard *make_shard(void)
{
    weft_shard *s;
    assert_int_equal(weft_shard_new(&s), 0);
    weft_hash x0 = hash_of(100), x1 = hash_of(101);
    weft_shard_chunk c0[3], c1[2];
    uint32_t off = 0;
    for (int i = 0; i < 3; i++) {
        c0[i] = (weft_shard_chunk){hash_of(200 + (uint64_t)i), off, 1000u + (uint32_t)i, 0};
        off += c0[i].raw_len;
    }
    off = 0;
    for (int i = 0; i < 2; i++) {
        c1[i] = (weft_shard_chunk){hash_of(300 + (uint64_t)i), off, 5000u, 0};
        off += 5000;
    }
    c1[1].flags = WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP;
    assert_int_equal(weft_shard_add_xorb(s, &x0, c0, 3, 3100), 0);
    assert_int_equal(weft_shard_add_xorb(s, &x1, c1, 2, 9000), 0);
    weft_shard_term t[2] = {{x0, 0, 1001 + 1002, 1, 3}, {x1, 0, 5000, 0, 1}};
    weft_hash v[2] = {hash_of(400), hash_of(401)};
    uint8_t sha[32];
    for (int i = 0; i < 32; i++)
        sha[i] = (uint8_t)i;
    weft_hash f0 = hash_of(500), f1 = hash_of(501);
    assert_int_equal(weft_shard_add_file(s, &f0, t, 2, v, sha), 0);
    assert_int_equal(weft_shard_add_file(s, &f1, t + 1, 1, v + 1, NULL), 0);
    return s;
}

static void assert_same_shard(const weft_shard *a, const weft_shard *b)
{
    assert_int_equal(a->n_files, b->n_files);
    assert_int_equal(a->n_xorbs, b->n_xorbs);
    for (uint32_t i = 0; i < a->n_files; i++) {
        const weft_shard_file *x = &a->files[i], *y = &b->files[i];
        assert_memory_equal(x->hash.b, y->hash.b, 32);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->n_terms, y->n_terms);
        assert_memory_equal(x->terms, y->terms, x->n_terms * sizeof *x->terms);
        assert_int_equal(x->verification != NULL, y->verification != NULL);
        if (x->verification != NULL)
            assert_memory_equal(x->verification, y->verification, x->n_terms * 32);
        assert_int_equal(x->has_sha256, y->has_sha256);
        if (x->has_sha256)
            assert_memory_equal(x->sha256, y->sha256, 32);
    }
    for (uint32_t i = 0; i < a->n_xorbs; i++) {
        const weft_shard_xorb *x = &a->xorbs[i], *y = &b->xorbs[i];
        assert_memory_equal(x->hash.b, y->hash.b, 32);
        assert_int_equal(x->n_chunks, y->n_chunks);
        assert_int_equal(x->raw_len, y->raw_len);
        assert_int_equal(x->stored_len, y->stored_len);
        assert_memory_equal(x->chunks, y->chunks, x->n_chunks * sizeof *x->chunks);
    }
}

static void test_xet_shard_layout_without_footer(void **state)
{
    (void)state;
    weft_shard *s = make_shard();
    weft_buf b;
    weft_buf_init(&b, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b, s, 0), 0);
    /* header + file0 (1 + 2 terms + 2 verif + 1 ext) + file1 (1 + 1 + 1) + bookend
     * + xorb0 (1 + 3) + xorb1 (1 + 2) + bookend */
    size_t entries = 6 + 3 + 1 + 4 + 3 + 1;
    assert_int_equal(b.len, 48 + 48 * entries);
    assert_memory_equal(b.data, WEFT_SHARD_TAG, 32);
    assert_memory_equal(b.data, "HFRepoMetaData", 15);
    assert_int_equal(weft_load_u64le(b.data + 32), 2);
    assert_int_equal(weft_load_u64le(b.data + 40), 0);
    /* File 0 header: hash, flags (both bits), 2 terms, reserved 0. */
    const uint8_t *f0 = b.data + 48;
    assert_memory_equal(f0, s->files[0].hash.b, 32);
    assert_int_equal(weft_load_u32le(f0 + 32), 0xC0000000u);
    assert_int_equal(weft_load_u32le(f0 + 36), 2);
    assert_int_equal(weft_load_u64le(f0 + 40), 0);
    /* First term: xorb hash, flags, bytes, start, end. */
    assert_memory_equal(f0 + 48, s->xorbs[0].hash.b, 32);
    assert_int_equal(weft_load_u32le(f0 + 48 + 36), 2003);
    assert_int_equal(weft_load_u32le(f0 + 48 + 40), 1);
    assert_int_equal(weft_load_u32le(f0 + 48 + 44), 3);
    /* Metadata ext: SHA-256 with every 8-byte word reversed, then 16 zero bytes. */
    const uint8_t *ext = f0 + 5 * 48;
    static const uint8_t sha_wire[8] = {7, 6, 5, 4, 3, 2, 1, 0};
    assert_memory_equal(ext, sha_wire, 8);
    assert_int_equal(ext[8], 15);
    assert_int_equal(weft_load_u64le(ext + 32) | weft_load_u64le(ext + 40), 0);
    /* File bookend: 32 x 0xFF then 16 x 0. */
    const uint8_t *bk = b.data + 48 + 48 * 9;
    for (int i = 0; i < 32; i++)
        assert_int_equal(bk[i], 0xFF);
    for (int i = 32; i < 48; i++)
        assert_int_equal(bk[i], 0);
    /* Xorb 0 header: hash, flags, chunks, raw bytes, stored bytes; chunk entries after. */
    const uint8_t *x0 = bk + 48;
    assert_int_equal(weft_load_u32le(x0 + 36), 3);
    assert_int_equal(weft_load_u32le(x0 + 40), 3003);
    assert_int_equal(weft_load_u32le(x0 + 44), 3100);
    assert_int_equal(weft_load_u32le(x0 + 48 + 48 + 32), 1000); /* chunk 1 starts at 1000 */
    assert_int_equal(weft_load_u32le(x0 + 48 + 48 + 36), 1001);
    /* Round trip: parse, compare, serialize again byte for byte. */
    weft_shard *p = NULL;
    assert_int_equal(weft_shard_parse(&p, b.data, b.len), 0);
    assert_false(p->has_footer);
    assert_same_shard(s, p);
    assert_int_equal(p->xorbs[1].chunks[1].flags, WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP);
    weft_buf b2;
    weft_buf_init(&b2, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b2, p, 0), 0);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    assert_int_equal(weft_shard_check_upload(p), 0);
    assert_int_equal(weft_shard_file_size(&p->files[0]), 7003);
    weft_buf_dispose(&b2);
    weft_shard_free(p);
    weft_buf_dispose(&b);
    weft_shard_free(s);
}

static void test_xet_shard_footer_and_lookups(void **state)
{
    (void)state;
    weft_shard *s = make_shard();
    s->footer.created = 1700000000;
    s->footer.key_expiry = 1800000000;
    weft_buf b;
    weft_buf_init(&b, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b, s, 1), 0);
    size_t body = 48 + 48 * 18;
    assert_int_equal(b.len, body + 12 * 2 + 12 * 2 + 16 * 5 + 200);
    assert_int_equal(weft_load_u64le(b.data + 40), 200);
    const uint8_t *ft = b.data + b.len - 200;
    assert_int_equal(weft_load_u64le(ft), 1);
    assert_int_equal(weft_load_u64le(ft + 8), 48);
    assert_int_equal(weft_load_u64le(ft + 16), 48 + 48 * 10);
    assert_int_equal(weft_load_u64le(ft + 24), body); /* file lookup right after */
    assert_int_equal(weft_load_u64le(ft + 32), 2);
    assert_int_equal(weft_load_u64le(ft + 64), 5); /* chunk lookup entries */
    assert_int_equal(weft_load_u64le(ft + 104), 1700000000);
    assert_int_equal(weft_load_u64le(ft + 112), 1800000000);
    assert_int_equal(weft_load_u64le(ft + 168), 3100 + 9000);  /* stored on disk */
    assert_int_equal(weft_load_u64le(ft + 176), 7003 + 5000);  /* materialized */
    assert_int_equal(weft_load_u64le(ft + 184), 3003 + 10000); /* stored (unpacked) */
    assert_int_equal(weft_load_u64le(ft + 192), b.len - 200);
    /* Chunk lookup is sorted by key and points at (xorb entry index, chunk index). */
    const uint8_t *cl = b.data + weft_load_u64le(ft + 56);
    for (int i = 1; i < 5; i++)
        assert_true(weft_load_u64le(cl + 16 * (size_t)i) >=
                    weft_load_u64le(cl + 16 * (size_t)(i - 1)));
    for (int i = 0; i < 5; i++) {
        uint32_t xi = weft_load_u32le(cl + 16 * (size_t)i + 8),
                 ci = weft_load_u32le(cl + 16 * (size_t)i + 12);
        const weft_shard_xorb *x = xi == 0 ? &s->xorbs[0] : &s->xorbs[1];
        assert_true(xi == 0 || xi == 4);
        assert_int_equal(weft_load_u64le(cl + 16 * (size_t)i),
                         weft_load_u64le(x->chunks[ci].hash.b));
    }
    weft_shard *p = NULL;
    assert_int_equal(weft_shard_parse(&p, b.data, b.len), 0);
    assert_true(p->has_footer);
    assert_int_equal(p->footer.chunk_lookup_n, 5);
    assert_int_equal(p->footer.created, 1700000000);
    assert_same_shard(s, p);
    weft_buf b2;
    weft_buf_init(&b2, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b2, p, 1), 0);
    assert_memory_equal(b2.data, b.data, b.len);
    weft_buf_dispose(&b2);
    weft_shard_free(p);

    /* A footer with no lookup tables (what @huggingface/hub uploads: all zero) parses too. */
    uint8_t *js = malloc(body + 200);
    memcpy(js, b.data, body);
    memcpy(js + body, ft, 200);
    memset(js + body + 24, 0, 48);
    weft_store_u64le(js + body + 192, body);
    assert_int_equal(weft_shard_parse(&p, js, body + 200), 0);
    assert_same_shard(s, p);
    weft_shard_free(p);
    /* Footer fields that disagree with the layout. */
    static const size_t fields[] = {0, 8, 16, 192};
    for (size_t i = 0; i < 4; i++) {
        js[body + fields[i]] ^= 1;
        assert_int_equal(weft_shard_parse(&p, js, body + 200), WEFT_ECORRUPT);
        js[body + fields[i]] ^= 1;
    }
    /* A lookup table pointing outside the tables region. */
    weft_store_u64le(js + body + 24, 10);
    weft_store_u64le(js + body + 32, 1);
    assert_int_equal(weft_shard_parse(&p, js, body + 200), WEFT_ECORRUPT);
    weft_store_u64le(js + body + 24, UINT64_MAX - 4);
    assert_int_equal(weft_shard_parse(&p, js, body + 200), WEFT_ECORRUPT);
    free(js);
    weft_buf_dispose(&b);
    weft_shard_free(s);
}

static void test_xet_shard_rejects_truncated_and_absurd(void **state)
{
    (void)state;
    weft_shard *s = make_shard();
    weft_buf b;
    weft_buf_init(&b, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b, s, 0), 0);
    weft_shard *p = NULL;
    for (size_t cut = 0; cut < b.len; cut++) {
        weft_err_clear();
        assert_int_equal(weft_shard_parse(&p, b.data, cut), WEFT_ECORRUPT);
        assert_true(strlen(weft_err_last()) > 0);
    }
    uint8_t *c = malloc(b.len + 48);
    memcpy(c, b.data, b.len);
    /* Trailing bytes. */
    memset(c + b.len, 0, 48);
    assert_int_equal(weft_shard_parse(&p, c, b.len + 48), WEFT_ECORRUPT);
    /* Tag, version, footer size. */
    c[3] ^= 1;
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    c[3] ^= 1;
    weft_store_u64le(c + 32, 1);
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    weft_store_u64le(c + 32, 2);
    weft_store_u64le(c + 40, 100);
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    weft_store_u64le(c + 40, 200); /* says footer, has none */
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    weft_store_u64le(c + 40, 0);
    /* Absurd counts: refused from the bytes left, before allocating. */
    weft_store_u32le(c + 48 + 36, 0xFFFFFFFFu);
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "file 0"));
    weft_store_u32le(c + 48 + 36, 2);
    size_t x0 = 48 + 48 * 10;
    weft_store_u32le(c + x0 + 36, 0x7FFFFFFFu);
    assert_int_equal(weft_shard_parse(&p, c, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "xorb 0"));
    weft_store_u32le(c + x0 + 36, 3);
    assert_int_equal(weft_shard_parse(&p, c, b.len), 0);
    weft_shard_free(p);
    /* Over 64 MiB. */
    assert_int_equal(weft_shard_parse(&p, c, (size_t)WEFT_SHARD_MAX_BYTES + 1), WEFT_ELIMIT);
    free(c);
    weft_buf_dispose(&b);
    weft_shard_free(s);
}

static void test_xet_shard_empty_shard(void **state)
{
    (void)state;
    weft_shard *s;
    assert_int_equal(weft_shard_new(&s), 0);
    weft_buf b;
    weft_buf_init(&b, 4096);
    assert_int_equal(weft_shard_serialize(&b, s, 0), 0);
    assert_int_equal(b.len, 48 + 96);
    weft_shard *p;
    assert_int_equal(weft_shard_parse(&p, b.data, b.len), 0);
    assert_int_equal(p->n_files + p->n_xorbs, 0);
    weft_shard_free(p);
    weft_buf_clear(&b);
    assert_int_equal(weft_shard_serialize(&b, s, 1), 0);
    assert_int_equal(b.len, 48 + 96 + 200);
    assert_int_equal(weft_shard_parse(&p, b.data, b.len), 0);
    weft_shard_free(p);
    weft_buf_dispose(&b);
    weft_shard_free(s);
}

static void test_xet_shard_upload_rules(void **state)
{
    (void)state;
    weft_shard *s = make_shard();
    assert_int_equal(weft_shard_check_upload(s), 0);
    /* A term with more bytes than its chunks. */
    s->files[0].terms[0].raw_len++;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "file 0 term 0"));
    s->files[0].terms[0].raw_len--;
    /* Past the end of its xorb, or empty. */
    s->files[0].terms[0].chunk_end = 4;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    s->files[0].terms[0].chunk_end = 1;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    s->files[0].terms[0].chunk_end = 3;
    /* A term into a xorb not in this shard is left to the caller. */
    s->files[1].terms[0].xorb_hash.b[0] ^= 1;
    assert_int_equal(weft_shard_check_upload(s), 0);
    s->files[1].terms[0].xorb_hash.b[0] ^= 1;
    /* Missing verification. */
    weft_hash *v = s->files[1].verification;
    s->files[1].verification = NULL;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    s->files[1].verification = v;
    /* Xorb chunks not contiguous, total that disagrees, too-large chunk. */
    s->xorbs[0].chunks[1].raw_off++;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    s->xorbs[0].chunks[1].raw_off--;
    s->xorbs[0].raw_len++;
    assert_int_equal(weft_shard_check_upload(s), WEFT_EINVALID);
    s->xorbs[0].raw_len--;
    assert_int_equal(weft_shard_check_upload(s), 0);
    weft_shard_free(s);
}

static void test_xet_shard_hmac(void **state)
{
    (void)state;
    weft_shard *s = make_shard();
    uint8_t key[32];
    memset(key, 0x42, 32);
    weft_hash before = s->xorbs[0].chunks[0].hash, want;
    weft_shard_apply_hmac(s, key);
    weft_xet_hmac(&want, &before, key);
    assert_memory_equal(s->xorbs[0].chunks[0].hash.b, want.b, 32);
    assert_true(s->has_footer);
    weft_buf b;
    weft_buf_init(&b, 1u << 20);
    assert_int_equal(weft_shard_serialize(&b, s, 1), 0);
    weft_shard *p;
    assert_int_equal(weft_shard_parse(&p, b.data, b.len), 0);
    assert_memory_equal(p->footer.hmac_key, key, 32);
    weft_shard_free(p);
    weft_buf_dispose(&b);
    weft_shard_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_shard_layout_without_footer),
        cmocka_unit_test(test_xet_shard_footer_and_lookups),
        cmocka_unit_test(test_xet_shard_rejects_truncated_and_absurd),
        cmocka_unit_test(test_xet_shard_empty_shard),
        cmocka_unit_test(test_xet_shard_upload_rules),
        cmocka_unit_test(test_xet_shard_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
