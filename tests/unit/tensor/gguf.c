/* GGUF v3 headers: the real stories260K.gguf reads and re-serializes byte-identically, a file
 * built here byte by byte with every value type (nested arrays too) round-trips, the range
 * reader's need converges, and each validation rule gives its error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tensor_test.h"
#include "weft/gguf.h"

static void test_tensor_gguf_real_roundtrip(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *p = tt_read_shared("stories260K.gguf", &len);
    if (!p) {
        print_message("skipped: ../shared/data not found (WEFT_SHARED_DATA)\n");
        skip();
    }
    /* A range reader: start with 64 bytes, fetch what need says until it is enough. */
    size_t have = 64;
    uint64_t need = 0;
    int rounds = 0;
    for (;;) {
        assert_int_equal(weft_gguf_header_need(&need, p, have), 0);
        if (need <= have)
            break;
        assert_true(need <= len);
        have = (size_t)need;
        rounds++;
        assert_true(rounds < 100000);
    }
    weft_gguf *g = NULL;
    assert_int_equal(weft_gguf_parse(&g, p, have, len), 0);
    assert_int_equal(g->data_offset, need);
    assert_int_equal(g->version, 3);
    assert_int_equal(g->alignment, 32);
    assert_int_equal(g->data_offset + g->data_len, len);
    const weft_gguf_value *arch = weft_gguf_find(g, "general.architecture");
    assert_non_null(arch);
    assert_int_equal(arch->type, WEFT_GGUF_STRING);
    assert_string_equal(arch->v.str.p, "llama");
    const weft_gguf_value *tokens = weft_gguf_find(g, "tokenizer.ggml.tokens");
    assert_non_null(tokens);
    assert_int_equal(tokens->type, WEFT_GGUF_ARRAY);
    assert_int_equal(tokens->v.arr.elem_type, WEFT_GGUF_STRING);
    assert_int_equal(tokens->v.arr.n, 512);
    const weft_gguf_value *ctx = weft_gguf_find(g, "llama.embedding_length");
    assert_non_null(ctx);
    assert_int_equal(ctx->v.u, 64);
    uint64_t params = 0;
    for (size_t i = 0; i < g->n_tensors; i++) {
        assert_int_equal(g->tensors[i].abs_offset % g->alignment, 0);
        params += g->tensors[i].numel;
    }
    assert_true(params > 250000 && params < 300000);

    weft_buf out;
    weft_buf_init(&out, 1 << 26);
    assert_int_equal(weft_gguf_serialize(&out, g), 0);
    assert_int_equal(out.len, g->data_offset);
    assert_memory_equal(out.data, p, out.len);
    weft_buf_dispose(&out);
    weft_gguf_free(g);
    free(p);
}

/* ---- a GGUF written here, independently of the library's writer ---- */

static void put_str(weft_buf *b, const char *s)
{
    assert_int_equal(weft_buf_put_u64le(b, strlen(s)), 0);
    assert_int_equal(weft_buf_append(b, s, strlen(s)), 0);
}

static void put_u32(weft_buf *b, uint32_t v)
{
    assert_int_equal(weft_buf_put_u32le(b, v), 0);
}

static void put_u64(weft_buf *b, uint64_t v)
{
    assert_int_equal(weft_buf_put_u64le(b, v), 0);
}

static void put_raw(weft_buf *b, const void *p, size_t n)
{
    assert_int_equal(weft_buf_append(b, p, n), 0);
}

enum {
    MUT_NONE,
    MUT_BOOL2,
    MUT_TYPE13,
    MUT_DUPKEY,
    MUT_ALIGN3,
    MUT_ALIGN_U64,
    MUT_DIMS5,
    MUT_GGMLTYPE,
    MUT_BLOCK,
    MUT_OFFSET,
    MUT_DUPNAME,
    MUT_LONGNAME,
    MUT_EMPTYKEY
};

/* Header with every value type, alignment 64, and two tensors (F32 [4], Q8_0 [32, 2]); then
 * the data with its padding. `mut` breaks one rule. */
static void build(weft_buf *b, int mut)
{
    put_raw(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, 2);  /* tensors */
    put_u64(b, 16); /* kv pairs */
    uint8_t one = 0x85;
    put_str(b, "t.u8"), put_u32(b, 0), put_raw(b, &one, 1);
    put_str(b, "t.i8"), put_u32(b, 1), put_raw(b, &one, 1);
    put_str(b, "t.u16"), put_u32(b, 2), put_raw(b, "\x01\x80", 2);
    put_str(b, "t.i16"), put_u32(b, 3), put_raw(b, "\xff\xff", 2);
    put_str(b, "t.u32"), put_u32(b, 4), put_u32(b, 0xdeadbeef);
    put_str(b, "t.i32"), put_u32(b, 5), put_u32(b, 0xfffffffe);
    put_str(b, "t.f32"), put_u32(b, 6), put_u32(b, 0x7fc00001); /* a NaN payload survives */
    put_str(b, "t.bool"), put_u32(b, 7), put_raw(b, mut == MUT_BOOL2 ? "\x02" : "\x01", 1);
    put_str(b, "t.str"), put_u32(b, 8), put_str(b, "h\xc3\xa9llo");
    put_str(b, "t.u64"), put_u32(b, 10), put_u64(b, 0xfedcba9876543210ull);
    put_str(b, mut == MUT_DUPKEY ? "t.u8" : "t.i64"), put_u32(b, 11), put_u64(b, 1);
    put_str(b, "t.f64"), put_u32(b, 12), put_u64(b, 0x400921fb54442d18ull);
    /* [[1, 2], []] of int32, and an array of strings */
    put_str(b, "t.nested"), put_u32(b, 9), put_u32(b, 9), put_u64(b, 2);
    put_u32(b, 5), put_u64(b, 2), put_u32(b, 1), put_u32(b, 2);
    put_u32(b, 5), put_u64(b, 0);
    put_str(b, "t.strs"), put_u32(b, 9), put_u32(b, 8), put_u64(b, 3);
    put_str(b, "a"), put_str(b, ""), put_str(b, "ccc");
    put_str(b, mut == MUT_EMPTYKEY ? "" : "t.odd"), put_u32(b, mut == MUT_TYPE13 ? 13 : 0);
    put_raw(b, "\x07", 1);
    put_str(b, "general.alignment");
    if (mut == MUT_ALIGN_U64)
        put_u32(b, 10), put_u64(b, 64);
    else
        put_u32(b, 4), put_u32(b, mut == MUT_ALIGN3 ? 48 : 64);
    /* tensor infos */
    put_str(b, "w.f32"), put_u32(b, mut == MUT_DIMS5 ? 5 : 1), put_u64(b, 4);
    if (mut == MUT_DIMS5)
        put_u64(b, 1), put_u64(b, 1), put_u64(b, 1), put_u64(b, 1);
    put_u32(b, mut == MUT_GGMLTYPE ? 4 : 0), put_u64(b, 0);
    put_str(b, mut == MUT_DUPNAME    ? "w.f32"
               : mut == MUT_LONGNAME ? "a-name-of-sixty-four-bytes-which-"
                                       "ggml-does-not-accept-at-all!!!!"
                                     : "w.q8");
    put_u32(b, 2), put_u64(b, mut == MUT_BLOCK ? 30 : 32), put_u64(b, 2);
    put_u32(b, 8), put_u64(b, mut == MUT_OFFSET ? 16 : 64);
    while (b->len % 64)
        assert_int_equal(weft_buf_put_u8(b, 0), 0);
    for (int i = 0; i < 64 + 68 + 60; i++)
        assert_int_equal(weft_buf_put_u8(b, (uint8_t)(i < 16 || (i >= 64 && i < 132) ? i : 0)), 0);
}

static void test_tensor_gguf_generated_roundtrip(void **state)
{
    (void)state;
    weft_buf b;
    weft_buf_init(&b, 1 << 20);
    build(&b, MUT_NONE);
    weft_gguf *g = NULL;
    int rc = weft_gguf_parse(&g, b.data, b.len, b.len);
    if (rc)
        print_message("%s\n", weft_err_last());
    assert_int_equal(rc, 0);
    assert_int_equal(g->alignment, 64);
    assert_int_equal(g->n_kv, 16);
    assert_int_equal(g->n_tensors, 2);
    assert_int_equal(g->data_offset % 64, 0);
    assert_int_equal(g->data_offset + g->data_len, b.len);
    assert_int_equal(weft_gguf_find(g, "t.i8")->v.i, -123);
    assert_int_equal(weft_gguf_find(g, "t.u16")->v.u, 0x8001);
    assert_int_equal(weft_gguf_find(g, "t.i16")->v.i, -1);
    assert_int_equal(weft_gguf_find(g, "t.i32")->v.i, -2);
    assert_int_equal(weft_gguf_find(g, "t.f32")->v.f32_bits, 0x7fc00001);
    assert_int_equal(weft_gguf_find(g, "t.bool")->v.u, 1);
    assert_int_equal(weft_gguf_find(g, "t.str")->v.str.len, 6);
    const weft_gguf_value *n = weft_gguf_find(g, "t.nested");
    assert_int_equal(n->v.arr.n, 2);
    assert_int_equal(n->v.arr.items[0].v.arr.n, 2);
    assert_int_equal(n->v.arr.items[0].v.arr.items[1].v.i, 2);
    assert_int_equal(n->v.arr.items[1].v.arr.n, 0);
    assert_string_equal(weft_gguf_find(g, "t.strs")->v.arr.items[2].v.str.p, "ccc");
    assert_null(weft_gguf_find(g, "t.none"));
    const weft_gguf_tensor *q = &g->tensors[1];
    assert_string_equal(q->name, "w.q8");
    assert_int_equal(q->numel, 64);
    assert_int_equal(q->size, 68); /* two Q8_0 blocks of 34 bytes */
    assert_int_equal(q->abs_offset, g->data_offset + 64);
    assert_string_equal(weft_gguf_type_name(q->type), "Q8_0");

    weft_buf out;
    weft_buf_init(&out, 1 << 20);
    assert_int_equal(weft_gguf_serialize(&out, g), 0);
    assert_int_equal(out.len, g->data_offset);
    assert_memory_equal(out.data, b.data, out.len);
    weft_buf_dispose(&out);
    weft_gguf_free(g);

    /* need: every prefix gives a bound that is more than it has, or the exact offset */
    uint64_t data_offset = g ? 0 : 0;
    weft_gguf *full = NULL;
    assert_int_equal(weft_gguf_parse(&full, b.data, b.len, b.len), 0);
    data_offset = full->data_offset;
    weft_gguf_free(full);
    for (size_t have = 0; have <= data_offset; have++) {
        uint64_t need = 0;
        assert_int_equal(weft_gguf_header_need(&need, b.data, have), 0);
        if (have < data_offset)
            assert_true(need > have && need <= data_offset);
        else
            assert_int_equal(need, data_offset);
    }
    weft_buf_dispose(&b);
}

static void test_tensor_gguf_rules(void **state)
{
    (void)state;
    static const struct {
        int mut;
        const char *msg;
    } cases[] = {
        {MUT_BOOL2, "bool value 2"},
        {MUT_TYPE13, "unknown value type 13"},
        {MUT_DUPKEY, "duplicate key t.u8"},
        {MUT_EMPTYKEY, "(must be 1 to 65535)"},
        {MUT_ALIGN3, "power of two"},
        {MUT_ALIGN_U64, "power of two"},
        {MUT_DIMS5, "5 dimensions"},
        {MUT_GGMLTYPE, "unknown ggml type 4"},
        {MUT_BLOCK, "not a multiple of the Q8_0 block size 32"},
        {MUT_OFFSET, "offsets must be sequential"},
        {MUT_DUPNAME, "duplicate tensor w.f32"},
        {MUT_LONGNAME, "tensor name of 64 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_buf b;
        weft_buf_init(&b, 1 << 20);
        build(&b, cases[i].mut);
        weft_gguf *g = NULL;
        int rc = weft_gguf_parse(&g, b.data, b.len, b.len);
        if (rc != WEFT_ECORRUPT || !strstr(weft_err_last(), cases[i].msg))
            print_message("case %zu: rc %d \"%s\", wanted \"%s\"\n", i, rc, weft_err_last(),
                          cases[i].msg);
        assert_int_equal(rc, WEFT_ECORRUPT);
        assert_non_null(strstr(weft_err_last(), cases[i].msg));
        assert_null(g);
        weft_buf_dispose(&b);
    }
}

static void test_tensor_gguf_header_errors(void **state)
{
    (void)state;
    weft_buf b;
    weft_buf_init(&b, 1 << 20);
    build(&b, MUT_NONE);
    weft_gguf *g = NULL;
    /* magic, versions */
    b.data[0] = 'X';
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "bad magic"));
    b.data[0] = 'G';
    b.data[4] = 1;
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "no longer supported"));
    b.data[4] = 4;
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "unsupported version 4"));
    weft_store_u32le(b.data + 4, 0x03000000);
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "big-endian"));
    weft_store_u32le(b.data + 4, 3);
    /* truncated file: the whole file given, shorter than its header */
    assert_int_equal(weft_gguf_parse(&g, b.data, 100, 100), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "truncated"));
    /* a prefix of a longer file: the caller's mistake */
    assert_int_equal(weft_gguf_parse(&g, b.data, 100, b.len), WEFT_EINVALID);
    /* data past the end of the file */
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len - 61), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "tensors end at byte"));
    /* a hostile count: checked against the bytes before allocation */
    weft_store_u64le(b.data + 16, UINT64_MAX / 2);
    uint64_t need = 0;
    assert_int_equal(weft_gguf_header_need(&need, b.data, b.len), WEFT_ELIMIT);
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ELIMIT);
    weft_store_u64le(b.data + 16, 100000);
    assert_int_equal(weft_gguf_header_need(&need, b.data, b.len), 0);
    assert_true(need > b.len);
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ECORRUPT);
    weft_buf_dispose(&b);

    /* arrays nested deeper than the bound */
    weft_buf_init(&b, 1 << 20);
    put_raw(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, 1);
    put_str(&b, "deep");
    put_u32(&b, 9);
    for (int i = 0; i < WEFT_GGUF_MAX_DEPTH + 1; i++)
        put_u32(&b, 9), put_u64(&b, 1);
    put_u32(&b, 0), put_u64(&b, 0);
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), WEFT_ELIMIT);
    assert_non_null(strstr(weft_err_last(), "nested deeper"));
    weft_buf_dispose(&b);

    /* no tensors, no kv: a valid 24-byte header padded to 32 */
    weft_buf_init(&b, 1 << 20);
    put_raw(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, 0);
    put_u64(&b, 0);
    assert_int_equal(weft_gguf_parse(&g, b.data, b.len, b.len), 0);
    assert_int_equal(g->data_offset, 32);
    weft_buf out;
    weft_buf_init(&out, 1 << 20);
    assert_int_equal(weft_gguf_serialize(&out, g), 0);
    assert_int_equal(out.len, 32);
    assert_memory_equal(out.data, b.data, 32);
    weft_buf_dispose(&out);
    weft_gguf_free(g);
    weft_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_gguf_real_roundtrip),
        cmocka_unit_test(test_tensor_gguf_generated_roundtrip),
        cmocka_unit_test(test_tensor_gguf_rules),
        cmocka_unit_test(test_tensor_gguf_header_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
