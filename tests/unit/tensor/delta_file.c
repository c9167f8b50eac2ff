/* Portable delta files (include/weft/delta_file.h): lossless round trips on synthetic families
 * (same layout, and a fine-tune whose header differs in size and tensor order) and on the real
 * stories260K pair; lossy tiers rebuild exactly what the encoder promised and their errors rank
 * 1bit > int4 > int8; truncated, corrupted or mismatched inputs are errors, never crashes. With
 * WEFT_WRITE_DELTA_CORPUS=DIR the small deltas are written there (the fuzz corpus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz/delta_fixture.h"
#include "unit/tensor/tensor_test.h"
#include "weft/delta_file.h"
#include "weft/tensor_match.h"

#define NS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct made {
    weft_buf delta;  /* the whole delta file */
    weft_buf result; /* what the encoder says apply will produce */
    size_t matched, tensors;
    double err_sq, delta_sq, ft_sq;
} made;

static void make_delta(made *m, const weft_buf *base, const weft_buf *ft, int kind)
{
    weft_delta_encoder *e = NULL;
    memset(m, 0, sizeof *m);
    weft_buf_init(&m->delta, 1u << 30);
    weft_buf_init(&m->result, 1u << 30);
    assert_int_equal(weft_delta_encoder_new(&e, base->data, base->len, ft->data, ft->len, kind),
                     0);
    weft_delta_info info = *weft_delta_encoder_info(e);
    memset(info.base_sha256, 0xba, 32); /* the hashes are the caller's: any bytes do here */
    memset(info.result_sha256, 0x11, 32);
    memset(info.source_sha256, kind ? 0x22 : 0x11, 32);
    uint8_t pro[WEFT_DELTA_PROLOGUE_LEN];
    weft_delta_prologue_encode(pro, &info);
    assert_int_equal(weft_buf_append(&m->delta, pro, sizeof pro), 0);
    assert_int_equal(weft_buf_append(&m->delta, info.header, info.header_len), 0);
    assert_int_equal(weft_buf_append(&m->result, info.header, info.header_len), 0);
    for (;;) {
        weft_delta_piece p;
        assert_int_equal(weft_delta_encoder_next(e, &p), 0);
        if (p.coded_len == 0)
            break;
        assert_int_equal(p.result_offset, m->result.len);
        assert_true(p.result_len <= WEFT_DELTA_PIECE_MAX);
        assert_int_equal(weft_buf_append(&m->delta, p.coded, p.coded_len), 0);
        assert_int_equal(weft_buf_append(&m->result, p.result, p.result_len), 0);
    }
    weft_delta_encoder_counts(e, &m->matched, &m->tensors);
    size_t n = 0;
    const weft_delta_tensor_error *errs = weft_delta_encoder_errors(e, &n);
    for (size_t i = 0; i < n; i++) {
        m->err_sq += errs[i].err_sq;
        m->delta_sq += errs[i].delta_sq;
        m->ft_sq += errs[i].ft_sq;
    }
    weft_delta_encoder_free(e);
}

static void made_dispose(made *m)
{
    weft_buf_dispose(&m->delta);
    weft_buf_dispose(&m->result);
}

/* Applies delta to base; 0 and the rebuilt file in out, or the error code. */
static int apply(weft_buf *out, const uint8_t *delta, size_t len, const weft_buf *base)
{
    weft_delta_reader *r = NULL;
    uint8_t *piece = malloc(WEFT_DELTA_PIECE_MAX);
    assert_non_null(piece);
    weft_buf_init(out, 1u << 30);
    int rc = weft_delta_reader_open(&r, delta, len, base->data, base->len);
    while (rc == 0) {
        size_t n = 0;
        rc = weft_delta_reader_next(r, piece, WEFT_DELTA_PIECE_MAX, &n);
        if (rc < 0 || n == 0)
            break;
        assert_true(n <= WEFT_DELTA_PIECE_MAX);
        assert_int_equal(weft_buf_append(out, piece, n), 0);
    }
    if (rc < 0 && getenv("DELTA_DEBUG"))
        print_message("apply: %s\n", weft_err_last());
    weft_delta_reader_free(r);
    free(piece);
    return rc;
}

static void build(weft_buf *b, const dfx_tensor *ts, size_t n, double move, int reorder)
{
    weft_buf_init(b, 1u << 30);
    assert_int_equal(dfx_build(b, ts, n, move, reorder, 7), 0);
}

/* Writes a corpus seed when asked to. */
static void corpus_write(const char *name, const weft_buf *b)
{
    const char *dir = getenv("WEFT_WRITE_DELTA_CORPUS");
    char path[4096];
    if (dir == NULL || snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

static void test_tensor_delta_file_lossless_roundtrip(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        const dfx_tensor *ts = big ? DFX_BIG : DFX_SMALL;
        size_t nt = big ? NS(DFX_BIG) : NS(DFX_SMALL);
        for (int reorder = 0; reorder < 2; reorder++) {
            weft_buf base, ft, out;
            build(&base, ts, nt, 0, 0);
            build(&ft, ts, nt, 0.01, reorder);
            assert_true(reorder == 0 || ft.len != base.len); /* the header size differs */
            made m;
            make_delta(&m, &base, &ft, WEFT_DELTA_LOSSLESS);
            assert_int_equal(m.result.len, ft.len);
            assert_memory_equal(m.result.data, ft.data, ft.len);
            /* every float tensor found its base, whatever the order */
            assert_int_equal(m.tensors, nt);
            assert_int_equal(m.matched, big ? 2 : 5);
            assert_int_equal(apply(&out, m.delta.data, m.delta.len, &base), 0);
            assert_int_equal(out.len, ft.len);
            assert_memory_equal(out.data, ft.data, ft.len);
            if (big) /* a 1% move codes well below the float codec's ~1.5x */
                assert_true(m.delta.len * 2 < ft.len);
            if (!big && !reorder)
                corpus_write("lossless-small", &m.delta);
            if (!big && reorder)
                corpus_write("lossless-reordered", &m.delta);
            weft_buf_dispose(&out);
            made_dispose(&m);
            weft_buf_dispose(&base);
            weft_buf_dispose(&ft);
        }
    }
}

static void test_tensor_delta_file_match(void **state)
{
    (void)state;
    weft_buf base, ft;
    build(&base, DFX_SMALL, NS(DFX_SMALL), 0, 0);
    build(&ft, DFX_SMALL, NS(DFX_SMALL), 0.03, 1);
    weft_st_header *bh = NULL, *fh = NULL;
    assert_int_equal(weft_st_parse(&bh, base.data, base.len, base.len), 0);
    assert_int_equal(weft_st_parse(&fh, ft.data, ft.len, ft.len), 0);
    weft_weight_region *r = NULL;
    size_t n = 0, matched = 0;
    assert_int_equal(weft_tensor_match_regions(&r, &n, &matched, fh, bh, base.data, base.len), 0);
    assert_int_equal(n, fh->n_tensors);
    assert_int_equal(matched, 5);
    for (size_t i = 0; i < n; i++) {
        const weft_st_tensor *t = &fh->tensors[i], *b = weft_st_find(bh, t->name, t->name_len);
        assert_int_equal(r[i].offset, t->abs_begin);
        if (t->dtype == WEFT_DTYPE_I32) {
            assert_null(r[i].base);
            assert_true(r[i].base_ref == WEFT_TENSOR_NO_BASE);
        } else {
            assert_int_equal(r[i].base_ref, b->abs_begin);
            assert_ptr_equal(r[i].base, base.data + b->abs_begin);
            assert_true(i == 0 || r[i].offset >= r[i - 1].offset + r[i - 1].len);
        }
    }
    free(r);
    /* without base bytes: offsets only; a too-short base size is corrupt */
    assert_int_equal(weft_tensor_match_regions(&r, &n, &matched, fh, bh, NULL, base.len), 0);
    assert_null(r[0].base);
    assert_int_equal(matched, 5);
    free(r);
    assert_int_equal(weft_tensor_match_regions(&r, &n, &matched, fh, bh, NULL, 100),
                     WEFT_ECORRUPT);
    weft_st_header_free(bh);
    weft_st_header_free(fh);
    weft_buf_dispose(&base);
    weft_buf_dispose(&ft);
}

static void test_tensor_delta_file_lossy(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        const dfx_tensor *ts = big ? DFX_BIG : DFX_SMALL;
        size_t nt = big ? NS(DFX_BIG) : NS(DFX_SMALL);
        weft_buf base, ft;
        build(&base, ts, nt, 0, 0);
        build(&ft, ts, nt, 0.05, 1);
        double rel[4] = {0};
        size_t size[4] = {0};
        for (int kind = WEFT_DELTA_LOSSLESS; kind <= WEFT_DELTA_1BIT; kind++) {
            made m;
            weft_buf out;
            make_delta(&m, &base, &ft, kind);
            assert_int_equal(apply(&out, m.delta.data, m.delta.len, &base), 0);
            assert_int_equal(out.len, m.result.len);
            assert_memory_equal(out.data, m.result.data, out.len);
            /* the header and the frozen embedding are exact */
            assert_memory_equal(out.data, ft.data, 8);
            rel[kind] = m.delta_sq > 0 ? m.err_sq / m.delta_sq : 0;
            size[kind] = m.delta.len;
            if (kind != WEFT_DELTA_LOSSLESS) {
                assert_true(m.delta_sq > 0);
                assert_true(memcmp(out.data, ft.data, ft.len) != 0);
            }
            if (!big) {
                static const char *names[] = {"lossless-moved", "int8", "int4", "1bit"};
                corpus_write(names[kind], &m.delta);
            }
            weft_buf_dispose(&out);
            made_dispose(&m);
        }
        print_message("%s: rel err^2 int8 %.3g int4 %.3g 1bit %.3g; bytes %zu %zu %zu %zu\n",
                      big ? "big" : "small", rel[1], rel[2], rel[3], size[0], size[1], size[2],
                      size[3]);
        assert_true(rel[1] > 0);
        assert_true(rel[1] < rel[2]);
        assert_true(rel[2] < rel[3]);
        assert_true(size[3] < size[2]);
        assert_true(size[2] < size[1]);
        weft_buf_dispose(&base);
        weft_buf_dispose(&ft);
    }
}

static void test_tensor_delta_file_bad_input(void **state)
{
    (void)state;
    weft_buf base, ft, other, out;
    build(&base, DFX_SMALL, NS(DFX_SMALL), 0, 0);
    build(&ft, DFX_SMALL, NS(DFX_SMALL), 0.02, 0);
    build(&other, DFX_BIG, NS(DFX_BIG), 0, 0);
    for (int kind = WEFT_DELTA_LOSSLESS; kind <= WEFT_DELTA_INT4; kind += WEFT_DELTA_INT4) {
        made m;
        make_delta(&m, &base, &ft, kind);
        /* every truncation is an error */
        for (size_t len = 0; len < m.delta.len; len++) {
            int rc = apply(&out, m.delta.data, len, &base);
            assert_true(rc == WEFT_ECORRUPT);
            weft_buf_dispose(&out);
        }
        /* a byte more is an error */
        assert_int_equal(weft_buf_put_u8(&m.delta, 0), 0);
        assert_int_equal(apply(&out, m.delta.data, m.delta.len, &base), WEFT_ECORRUPT);
        weft_buf_dispose(&out);
        m.delta.len--;
        /* every single-byte change: an error, or a result the caller's hash check rejects;
         * never a crash or a result of another size */
        for (size_t i = 0; i < m.delta.len; i++) {
            uint8_t keep = m.delta.data[i];
            m.delta.data[i] ^= (uint8_t)(1u << (i % 8));
            int rc = apply(&out, m.delta.data, m.delta.len, &base);
            assert_true(rc == 0 || rc == WEFT_ECORRUPT || rc == WEFT_EINVALID);
            if (rc == 0)
                assert_int_equal(out.len, ft.len);
            weft_buf_dispose(&out);
            m.delta.data[i] = keep;
        }
        /* a base of another size */
        assert_int_equal(apply(&out, m.delta.data, m.delta.len, &other), WEFT_EINVALID);
        weft_buf_dispose(&out);
        made_dispose(&m);
    }
    /* inputs that are not safetensors */
    weft_delta_encoder *e = NULL;
    static const uint8_t junk[64] = {1, 2, 3};
    assert_int_equal(weft_delta_encoder_new(&e, junk, sizeof junk, ft.data, ft.len, 0),
                     WEFT_EINVALID);
    assert_int_equal(weft_delta_encoder_new(&e, base.data, base.len, junk, sizeof junk, 0),
                     WEFT_EINVALID);
    assert_null(e);
    weft_buf_dispose(&base);
    weft_buf_dispose(&ft);
    weft_buf_dispose(&other);
}

/* The real pair: F32 and BF16 base vs the WikiText fine-tune, and a checkpoint vs the final. */
static void test_tensor_delta_file_real(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"stories260K-hf/model.safetensors", "stories260K-wiki-ft/model.safetensors"},
        {"stories260K-hf/model.bf16.safetensors", "stories260K-wiki-ft/model.bf16.safetensors"},
        {"stories260K-hf/model.safetensors",
         "stories260K-wiki-ft/checkpoints/step-0500.safetensors"},
    };
    for (size_t i = 0; i < NS(pairs); i++) {
        size_t bl = 0, fl = 0;
        uint8_t *b = tt_read_shared(pairs[i][0], &bl), *f = tt_read_shared(pairs[i][1], &fl);
        if (b == NULL || f == NULL) {
            free(b);
            free(f);
            print_message("skip: %s not under WEFT_SHARED_DATA\n", pairs[i][1]);
            skip();
        }
        weft_buf base = {.data = b, .len = bl}, ft = {.data = f, .len = fl}, out;
        for (int kind = WEFT_DELTA_LOSSLESS; kind <= WEFT_DELTA_1BIT; kind++) {
            made m;
            make_delta(&m, &base, &ft, kind);
            assert_int_equal(apply(&out, m.delta.data, m.delta.len, &base), 0);
            assert_int_equal(out.len, fl);
            assert_memory_equal(out.data, m.result.data, fl);
            if (kind == WEFT_DELTA_LOSSLESS) {
                assert_memory_equal(out.data, f, fl);
                print_message("%s: %zu -> %zu bytes (%.2fx)\n", pairs[i][1], fl, m.delta.len,
                              (double)fl / (double)m.delta.len);
            }
            weft_buf_dispose(&out);
            made_dispose(&m);
        }
        free(b);
        free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_delta_file_lossless_roundtrip),
        cmocka_unit_test(test_tensor_delta_file_match),
        cmocka_unit_test(test_tensor_delta_file_lossy),
        cmocka_unit_test(test_tensor_delta_file_bad_input),
        cmocka_unit_test(test_tensor_delta_file_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
