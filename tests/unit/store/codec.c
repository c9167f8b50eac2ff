/* Weight codecs in the store: optimize re-codes a synthetic BF16 family (a base and a fine-tune
 * whose header size and tensor offsets differ) and the real stories260K pair; every read path
 * stays bit-exact (whole files, ranges around every chunk boundary, the Xet served view of the
 * xorbs), fsck stays clean, a needed base cannot be removed and survives gc, chains stay one
 * deep, gc rewrites a sparse re-coded xorb, and a bad safetensors header changes nothing. */
#include <math.h>

#include "unit/store/store_test.h"
#include "unit/tensor/tensor_test.h"
#include "weft/chunker.h"
#include "weft/safetensors.h"
#include "weft/weight_codec.h"
#include "weft/xorb.h"

static uint64_t cx_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double cx_normal(uint64_t *s)
{
    double u = ((double)(cx_next(s) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(cx_next(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static uint16_t cx_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static float cx_f32(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#define CX_TENSORS 6
#define CX_COLS 384
/* Rows per matrix and the step between checked ranges: smaller under the sanitizers. */
static uint64_t cx_rows = 256, cx_step = 15013;

/* A family member: CX_TENSORS BF16 matrices, one F32 vector and one I64 tensor. The base is
 * N(0, 0.02²); a fine-tune (moved > 0) adds N(0, (moved·0.02)²) to every element of the
 * matrices but the first (left unchanged), carries an extra tensor that sorts first (so every
 * offset moves) and longer metadata (so the header size differs). */
static uint8_t *cx_model(double moved, uint64_t seed, size_t *len)
{
    weft_st_header *h = NULL;
    weft_buf out;
    weft_buf_init(&out, 64 * MIB);
    assert_int_equal(weft_st_header_new(&h), 0);
    assert_int_equal(weft_st_add_meta(h, "format", moved > 0 ? "pt-finetuned-on-something" : "pt"),
                     0);
    uint64_t mat[2] = {cx_rows, CX_COLS}, vec[1] = {CX_COLS}, ids[1] = {64};
    char name[64];
    for (int i = 0; i < CX_TENSORS; i++) {
        snprintf(name, sizeof name, "layers.%d.weight", i);
        assert_int_equal(weft_st_add_tensor(h, name, WEFT_DTYPE_BF16, 2, mat), 0);
    }
    assert_int_equal(weft_st_add_tensor(h, "norm.weight", WEFT_DTYPE_F32, 1, vec), 0);
    assert_int_equal(weft_st_add_tensor(h, "position_ids", WEFT_DTYPE_I64, 1, ids), 0);
    if (moved > 0)
        assert_int_equal(weft_st_add_tensor(h, "a.extra", WEFT_DTYPE_BF16, 1, vec), 0);
    assert_int_equal(weft_st_layout(h), 0);
    assert_int_equal(weft_st_serialize(&out, h, 0), 0);
    size_t start = out.len;
    for (size_t i = 0; i < h->data_len; i++)
        assert_int_equal(weft_buf_put_u8(&out, 0), 0);
    for (size_t t = 0; t < h->n_tensors; t++) {
        const weft_st_tensor *te = &h->tensors[t];
        uint8_t *p = out.data + start + te->begin;
        /* The same base values whatever the member: seeded by the tensor's name. */
        uint64_t s = seed, noise = seed ^ 0xabcdef1234ull ^ te->name_len * 7919;
        for (size_t c = 0; c < te->name_len; c++)
            s = s * 131 + (uint8_t)te->name[c];
        int unchanged = strcmp(te->name, "layers.0.weight") == 0;
        for (uint64_t e = 0; e < te->numel; e++) {
            if (te->dtype == WEFT_DTYPE_BF16) {
                float v = cx_f32(cx_bf16((float)(0.02 * cx_normal(&s))));
                if (moved > 0 && !unchanged)
                    v += (float)(moved * 0.02 * cx_normal(&noise));
                uint16_t b = cx_bf16(v);
                memcpy(p + 2 * e, &b, 2);
            } else if (te->dtype == WEFT_DTYPE_F32) {
                float v = (float)(1.0 + 0.02 * cx_normal(&s));
                if (moved > 0)
                    v += (float)(moved * 0.02 * cx_normal(&noise));
                memcpy(p + 4 * e, &v, 4);
            } else {
                uint64_t v = e;
                memcpy(p + 8 * e, &v, 8);
            }
        }
    }
    weft_st_header_free(h);
    *len = out.len;
    return out.data;
}

static void cx_clean(weft_store *s)
{
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(s, NULL, NULL, &r), 0);
    assert_int_equal(r.problems, 0);
}

/* Every byte range that starts or ends at a chunk boundary (± 1) of the file reads back right,
 * and so does the file through the Xet served view (reconstruction + xorb ranges). */
static void cx_check_all(weft_store *s, const weft_hash *f, const uint8_t *p, size_t n)
{
    st_check_file(s, f, p, n);
    weft_store_recon *r = NULL;
    assert_int_equal(weft_store_recon_get(s, f, 0, UINT64_MAX, &r), 0);
    weft_buf got;
    weft_buf_init(&got, n + 1);
    uint64_t at = 0;
    for (size_t i = 0; i < r->n_terms; i++) {
        const weft_store_recon_term *t = &r->terms[i];
        const weft_store_recon_fetch *fe = NULL;
        for (size_t j = 0; j < r->n_fetches; j++)
            if (weft_hash_eq(&r->fetches[j].xorb, &t->xorb) &&
                r->fetches[j].chunk_start <= t->chunk_start &&
                r->fetches[j].chunk_end >= t->chunk_end)
                fe = &r->fetches[j];
        assert_non_null(fe);
        size_t len = (size_t)(fe->byte_end - fe->byte_start);
        uint8_t *bytes = malloc(len);
        assert_non_null(bytes);
        assert_int_equal(weft_store_xorb_read(s, &t->xorb, fe->byte_start, bytes, len, 0), 0);
        /* A Xet client sees only standard schemes. */
        weft_buf raw;
        weft_buf_init(&raw, 64 * MIB);
        uint32_t nc = 0;
        assert_int_equal(weft_xorb_chunks_decode(&raw, &nc, bytes, len), 0);
        assert_int_equal(nc, fe->chunk_end - fe->chunk_start);
        /* Offset of the term's first chunk inside the fetched chunks. */
        size_t skip = 0, pos = 0;
        for (uint32_t c = fe->chunk_start; c < t->chunk_start; c++) {
            weft_xorb_chunk_header hd;
            assert_int_equal(weft_xorb_chunk_header_parse(&hd, bytes + pos, len - pos), 0);
            pos += WEFT_XORB_CHUNK_HEADER_LEN + hd.compressed_len;
            skip += hd.raw_len;
        }
        assert_int_equal(weft_buf_append(&got, raw.data + skip, t->raw_len), 0);
        at += t->raw_len;
        weft_buf_dispose(&raw);
        free(bytes);
    }
    assert_int_equal(got.len, n);
    assert_memory_equal(got.data, p, n);
    weft_buf_dispose(&got);
    weft_store_recon_free(r);
    /* Ranges starting all over the file (a step prime to everything), one byte and 70,000. */
    for (uint64_t off = 0; off < n; off += cx_step) {
        st_check_range(s, f, p, n, off, 1, 0);
        st_check_range(s, f, p, n, off, 70000, 0);
    }
    st_check_range(s, f, p, n, n - 1, 1, 0);
}

static void test_store_codec_family(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, 256 * KIB);
    size_t nb = 0, nf = 0;
    uint8_t *base = cx_model(0, 7, &nb), *ft = cx_model(0.03, 7, &nf);
    weft_store_put_result rb, rf;
    st_put(s, base, nb, &rb);
    st_put(s, ft, nf, &rf);
    weft_store_stats before, after;
    assert_int_equal(weft_store_get_stats(s, &before), 0);

    weft_store_optimize_result ob, of;
    assert_int_equal(weft_store_optimize_file(s, &rb.file.xet_hash, NULL, NULL, &ob), 0);
    assert_true(ob.chunks_coded > 0 && !ob.used_base);
    assert_true(ob.after_bytes * 5 < ob.before_bytes * 4); /* BF16 planes: at least 1.25x */
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, &of),
                     0);
    assert_true(of.used_base);
    assert_true(of.codecs[WEFT_STORE_CODEC_WEIGHT + WEFT_WEIGHT_DIFF].chunks +
                    of.codecs[WEFT_STORE_CODEC_WEIGHT + WEFT_WEIGHT_XOR].chunks +
                    of.codecs[WEFT_STORE_CODEC_WEIGHT + WEFT_WEIGHT_DIFF_ESC].chunks +
                    of.codecs[WEFT_STORE_CODEC_WEIGHT + WEFT_WEIGHT_DIFF_CTX].chunks +
                    of.codecs[WEFT_STORE_CODEC_WEIGHT + WEFT_WEIGHT_DIFF_SHIFT].chunks >
                0);
    /* The delta beats the plain float codec on the same kind of bytes. */
    assert_true(of.after_bytes * 10 < ob.after_bytes * 9);
    print_message("base %zu -> %llu, fine-tune %zu -> %llu\n", nb,
                  (unsigned long long)ob.after_bytes, nf, (unsigned long long)of.after_bytes);
    assert_int_equal(weft_store_get_stats(s, &after), 0);
    assert_true(after.physical_bytes < before.physical_bytes);
    assert_int_equal(after.unique_bytes, before.unique_bytes);

    /* Optimizing again changes nothing. */
    weft_store_optimize_result again;
    assert_int_equal(
        weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, &again), 0);
    assert_int_equal(again.chunks_coded, 0);
    assert_int_equal(again.xorbs_rewritten, 0);

    cx_check_all(s, &rb.file.xet_hash, base, nb);
    cx_check_all(s, &rf.file.xet_hash, ft, nf);
    cx_clean(s);

    weft_store_codec_stats cs[WEFT_STORE_N_CODECS + 1];
    assert_int_equal(weft_store_stats_by_codec(s, cs), 0);
    uint64_t raw = 0;
    for (int i = 0; i <= WEFT_STORE_N_CODECS; i++)
        raw += cs[i].raw_bytes;
    assert_int_equal(raw, after.unique_bytes);

    /* A reopened store (another process) reads the same. */
    weft_store_close(s);
    s = st_open();
    st_check_file(s, &rf.file.xet_hash, ft, nf);
    weft_store_close(s);
    free(base);
    free(ft);
}

static void test_store_codec_base_kept(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, 256 * KIB);
    size_t nb = 0, nf = 0, n2 = 0, no = 0;
    uint8_t *base = cx_model(0, 3, &nb), *ft = cx_model(0.01, 3, &nf), *ft2 = cx_model(0.1, 3, &n2);
    uint8_t *other = cx_model(0, 4, &no);
    weft_store_put_result rb, rf, r2, ro;
    st_put(s, base, nb, &rb);
    st_put(s, ft, nf, &rf);
    st_put(s, ft2, n2, &r2);
    st_put(s, other, no, &ro);
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, NULL),
                     0);

    /* Chains stay one deep: a delta-coded file is no base, and a base gets no deltas. */
    assert_int_equal(weft_store_optimize_file(s, &r2.file.xet_hash, &rf.file.xet_hash, NULL, NULL),
                     WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "one deep"));
    weft_store_optimize_result o;
    assert_int_equal(weft_store_optimize_file(s, &rb.file.xet_hash, &ro.file.xet_hash, NULL, &o),
                     0);
    assert_true(o.chunks_coded > 0);
    assert_false(o.used_base);

    /* The base cannot go while the fine-tune needs it; gc keeps everything it needs. */
    assert_int_equal(weft_store_remove(s, &rb.file.xet_hash), WEFT_ECONFLICT);
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, &rf.file.xet_hash);
    assert_non_null(strstr(weft_err_last(), hex));
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(g.xorbs_deleted + g.xorbs_rewritten, 0);
    st_check_file(s, &rb.file.xet_hash, base, nb);
    st_check_file(s, &rf.file.xet_hash, ft, nf);
    cx_clean(s);

    /* Re-coding the fine-tune without its base frees the base. */
    weft_store_optimize_opts plain = {.no_delta = 1};
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, &plain, &o),
                     0);
    assert_false(o.used_base);
    st_check_file(s, &rf.file.xet_hash, ft, nf);
    assert_int_equal(weft_store_remove(s, &rb.file.xet_hash), 0);
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    st_check_file(s, &rf.file.xet_hash, ft, nf);
    st_check_file(s, &r2.file.xet_hash, ft2, n2);
    st_check_file(s, &ro.file.xet_hash, other, no);
    cx_clean(s);
    weft_store_close(s);
    free(base);
    free(ft);
    free(ft2);
    free(other);
}

static void test_store_codec_remove_delta_then_base(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t nb = 0, nf = 0;
    uint8_t *base = cx_model(0, 5, &nb), *ft = cx_model(0.03, 5, &nf);
    weft_store_put_result rb, rf;
    st_put(s, base, nb, &rb);
    st_put(s, ft, nf, &rf);
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, NULL),
                     0);
    /* Gone fine-tune: its dead xorbs no longer pin the base, which can go too. */
    assert_int_equal(weft_store_remove(s, &rf.file.xet_hash), 0);
    assert_int_equal(weft_store_remove(s, &rb.file.xet_hash), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(st_count_objects(), 0);
    cx_clean(s);
    weft_store_close(s);
    free(base);
    free(ft);
}

/* A fine-tune that shares its first xorb with its base (same header, a changed stretch inside
 * that xorb, a changed tail): optimize against a base nobody coded yet must keep the shared
 * xorb free of deltas (it is the base's own: a delta there is a chain, fsck finds it) and must
 * read base bytes from that xorb after it was re-coded under the base reader. */
static void test_store_codec_shared_head(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, 256 * KIB);
    size_t nb = 0;
    uint8_t *base = cx_model(0, 7, &nb), *ft = malloc(nb);
    assert_non_null(ft);
    memcpy(ft, base, nb);
    uint64_t r = 99;
    /* flip low mantissa bits: bytes [100 KiB, 180 KiB) and the last third */
    for (size_t i = 100 * KIB; i < 180 * KIB; i += 2)
        ft[i] ^= (uint8_t)(cx_next(&r) & 1);
    for (size_t i = nb - nb / 3 - (nb / 3) % 2; i + 8 < nb; i += 2)
        ft[i] ^= (uint8_t)(cx_next(&r) & 1);
    weft_store_put_result rb, rf;
    st_put(s, base, nb, &rb);
    st_put(s, ft, nb, &rf);
    assert_true(rf.dedup_chunks > 0);
    weft_store_optimize_result o;
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, &o),
                     0);
    assert_true(o.used_base);
    cx_clean(s);
    st_check_file(s, &rb.file.xet_hash, base, nb);
    st_check_file(s, &rf.file.xet_hash, ft, nb);
    /* the base can still be coded (plainly), and nothing is lost */
    assert_int_equal(weft_store_optimize_file(s, &rb.file.xet_hash, NULL, NULL, &o), 0);
    cx_clean(s);
    st_check_file(s, &rb.file.xet_hash, base, nb);
    st_check_file(s, &rf.file.xet_hash, ft, nb);
    weft_store_close(s);
    free(base);
    free(ft);
}

/* A re-coded xorb that becomes sparse is rewritten by gc into plain chunks, bit-exact. */
static void test_store_codec_gc_rewrite(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t nb = 0, nf = 0;
    uint8_t *base = cx_model(0, 9, &nb), *ft = cx_model(0.03, 9, &nf);
    size_t nx = nf * 4;
    uint8_t *big = st_random(nx, 99);
    memcpy(big, ft, nf);
    weft_store_put_result rb, rx, rf;
    st_put(s, base, nb, &rb);
    st_put(s, big, nx, &rx);
    st_put(s, ft, nf, &rf);
    assert_true(rf.dedup_bytes > nf / 2);
    assert_int_equal(weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, NULL),
                     0);
    st_check_file(s, &rx.file.xet_hash, big, nx);
    assert_int_equal(weft_store_remove(s, &rx.file.xet_hash), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_true(g.xorbs_rewritten >= 1);
    st_check_file(s, &rf.file.xet_hash, ft, nf);
    cx_clean(s);
    weft_store_close(s);
    free(base);
    free(ft);
    free(big);
}

static void test_store_codec_bad_header(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 0;
    uint8_t *p = cx_model(0, 1, &n);
    p[8] = '['; /* the JSON is no object any more */
    weft_store_put_result r, rnot;
    st_put(s, p, n, &r);
    uint8_t *noise = st_random(300 * KIB, 4);
    st_put(s, noise, 300 * KIB, &rnot);
    int objects = st_count_objects();
    weft_store_stats a, b;
    assert_int_equal(weft_store_get_stats(s, &a), 0);
    assert_int_equal(weft_store_optimize_file(s, &r.file.xet_hash, NULL, NULL, NULL),
                     WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "not a valid safetensors file"));
    assert_int_equal(weft_store_optimize_file(s, &rnot.file.xet_hash, NULL, NULL, NULL),
                     WEFT_ECORRUPT);
    /* As a base, too. */
    assert_int_equal(weft_store_optimize_file(s, &rnot.file.xet_hash, &r.file.xet_hash, NULL, NULL),
                     WEFT_ECORRUPT);
    assert_int_equal(weft_store_get_stats(s, &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(st_count_objects(), objects);
    st_check_file(s, &r.file.xet_hash, p, n);
    cx_clean(s);
    weft_store_close(s);
    free(p);
    free(noise);
}

static void test_store_codec_real_pair(void **state)
{
    (void)state;
    const char *pairs[][2] = {
        {"stories260K-hf/model.bf16.safetensors", "stories260K-wiki-ft/model.bf16.safetensors"},
        {"stories260K-hf/model.safetensors", "stories260K-wiki-ft/model.safetensors"},
    };
    int done = 0;
    for (size_t i = 0; i < 2; i++) {
        size_t nb = 0, nf = 0;
        uint8_t *base = tt_read_shared(pairs[i][0], &nb), *ft = tt_read_shared(pairs[i][1], &nf);
        if (base == NULL || ft == NULL) {
            free(base);
            free(ft);
            continue;
        }
        weft_store *s = st_open();
        weft_store_put_result rb, rf;
        st_put(s, base, nb, &rb);
        st_put(s, ft, nf, &rf);
        weft_store_optimize_result ob, of;
        assert_int_equal(weft_store_optimize_file(s, &rb.file.xet_hash, NULL, NULL, &ob), 0);
        assert_int_equal(
            weft_store_optimize_file(s, &rf.file.xet_hash, &rb.file.xet_hash, NULL, &of), 0);
        print_message("%s: base %.2fx, fine-tune as delta %.2fx\n", pairs[i][1],
                      (double)ob.before_bytes / (double)ob.after_bytes,
                      (double)of.before_bytes / (double)of.after_bytes);
        assert_true(of.used_base);
        assert_true(of.after_bytes < of.before_bytes);
        cx_check_all(s, &rb.file.xet_hash, base, nb);
        cx_check_all(s, &rf.file.xet_hash, ft, nf);
        cx_clean(s);
        weft_store_close(s);
        st_sh("rm -rf '%s'/*", st_dir);
        free(base);
        free(ft);
        done++;
    }
    if (done == 0) {
        print_message("skipped: ../shared/data not found (WEFT_SHARED_DATA)\n");
        skip();
    }
}

int main(void)
{
    const char *san = getenv("WEFT_SANITIZE");
    if (san != NULL && strcmp(san, "1") == 0) {
        cx_rows = 128;
        cx_step = 40009;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_codec_family, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_base_kept, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_remove_delta_then_base, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_shared_head, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_gc_rewrite, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_bad_header, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_codec_real_pair, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
