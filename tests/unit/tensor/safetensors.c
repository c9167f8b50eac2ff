/* Safetensors headers: the real files in ../shared/data parse and re-serialize to the same
 * bytes, the reference layout and JSON conventions of the writer, and one test per validation
 * rule of specs/model-formats.md §8 with the error it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tensor_test.h"
#include "weft/safetensors.h"

static const char *const real_files[] = {
    "stories260K-hf/model.safetensors",
    "stories260K-hf/model.bf16.safetensors",
    "stories260K-wiki-ft/model.safetensors",
    "stories260K-wiki-ft/model.bf16.safetensors",
    "stories260K-wiki-ft/checkpoints/step-0250.safetensors",
    "lora-wiki/adapter_model.safetensors",
    "lora-wiki/merged.safetensors",
    "lora-other/adapter_model.safetensors",
};

static void test_tensor_safetensors_real_roundtrip(void **state)
{
    (void)state;
    size_t n_done = 0;
    for (size_t f = 0; f < sizeof real_files / sizeof real_files[0]; f++) {
        size_t len = 0;
        uint8_t *p = tt_read_shared(real_files[f], &len);
        if (!p)
            continue;
        /* What a range reader does: 8 bytes first, then exactly the header. */
        uint64_t need = 0;
        assert_int_equal(weft_st_header_need(&need, p, 3), 0);
        assert_int_equal(need, 8);
        assert_int_equal(weft_st_header_need(&need, p, 8), 0);
        assert_true(need > 8 && need < len);
        weft_st_header *h = NULL;
        assert_int_equal(weft_st_parse(&h, p, (size_t)need, len), 0);
        assert_true(h->n_tensors > 0);
        assert_int_equal(h->data_start + h->data_len, len);
        assert_true(h->has_metadata);
        /* These files were written with sorted keys (data_offsets before dtype). */
        assert_int_equal(h->flags, WEFT_ST_KEYS_SORTED);
        for (size_t i = 0; i < h->n_tensors; i++) {
            assert_int_equal(h->tensors[i].abs_begin, need + h->tensors[i].begin);
            assert_ptr_equal(weft_st_find(h, h->tensors[i].name, h->tensors[i].name_len),
                             &h->tensors[i]);
            if (i)
                assert_int_equal(h->tensors[i].begin, h->tensors[i - 1].end);
        }
        weft_buf out;
        weft_buf_init(&out, 1 << 24);
        assert_int_equal(weft_st_serialize(&out, h, h->flags), 0);
        assert_int_equal(out.len, need);
        assert_memory_equal(out.data, p, need);
        weft_buf_dispose(&out);
        weft_st_header_free(h);
        free(p);
        n_done++;
    }
    if (n_done == 0) {
        print_message("skipped: ../shared/data not found (WEFT_SHARED_DATA)\n");
        skip();
    }
}

static void test_tensor_safetensors_real_content(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *p = tt_read_shared("stories260K-hf/model.bf16.safetensors", &len);
    if (!p) {
        print_message("skipped: ../shared/data not found (WEFT_SHARED_DATA)\n");
        skip();
    }
    weft_st_header *h = NULL;
    assert_int_equal(weft_st_parse(&h, p, len, len), 0);
    const weft_st_tensor *t = weft_st_find(h, "model.embed_tokens.weight", 25);
    assert_non_null(t);
    assert_int_equal(t->dtype, WEFT_DTYPE_BF16);
    assert_int_equal(t->rank, 2);
    assert_int_equal(t->shape[0], 512);
    assert_int_equal(t->shape[1], 64);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 65536);
    assert_int_equal(h->n_meta, 1);
    assert_string_equal(h->meta[0].key, "format");
    assert_string_equal(h->meta[0].value, "pt");
    uint64_t counts[WEFT_DTYPE_COUNT] = {0};
    uint64_t total = weft_st_count_params(h, counts);
    /* stories260K: 260K parameters, all BF16 in this file */
    assert_true(total > 250000 && total < 300000);
    assert_int_equal(counts[WEFT_DTYPE_BF16], total);
    assert_null(weft_st_find(h, "nope", 4));
    weft_st_header_free(h);
    free(p);
}

/* The reference writer: dtype descending then name, __metadata__ first, dtype/shape/offsets,
 * padded to 8 with spaces. */
static void test_tensor_safetensors_writer_reference(void **state)
{
    (void)state;
    weft_st_header *h = NULL;
    assert_int_equal(weft_st_header_new(&h), 0);
    uint64_t s2[] = {2}, s12[] = {1, 2}, s0[] = {0};
    assert_int_equal(weft_st_add_tensor(h, "b", WEFT_DTYPE_F16, 1, s2), 0);
    assert_int_equal(weft_st_add_tensor(h, "c", WEFT_DTYPE_F32, 0, NULL), 0);
    assert_int_equal(weft_st_add_tensor(h, "a", WEFT_DTYPE_F32, 2, s12), 0);
    assert_int_equal(weft_st_add_tensor(h, "e", WEFT_DTYPE_U8, 1, s0), 0);
    assert_int_equal(weft_st_add_tensor(h, "a", WEFT_DTYPE_F32, 1, s2), WEFT_EINVALID);
    assert_int_equal(weft_st_add_tensor(h, "f", WEFT_DTYPE_F4, 1, (uint64_t[]){3}), WEFT_EINVALID);
    assert_int_equal(weft_st_add_meta(h, "format", "pt"), 0);
    assert_int_equal(weft_st_add_meta(h, "format", "np"), WEFT_EINVALID);
    assert_int_equal(weft_st_layout(h), 0);
    weft_buf out;
    weft_buf_init(&out, 1 << 20);
    assert_int_equal(weft_st_serialize(&out, h, 0), 0);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                       "\"c\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]},"
                       "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[12,16]},"
                       "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[16,16]}}";
    size_t wl = strlen(want), padded = (wl + 7) / 8 * 8;
    assert_int_equal(out.len, 8 + padded);
    assert_int_equal(weft_load_u64le(out.data), padded);
    assert_memory_equal(out.data + 8, want, wl);
    for (size_t i = 8 + wl; i < out.len; i++)
        assert_int_equal(out.data[i], ' ');
    assert_int_equal(h->data_len, 16);
    assert_int_equal(h->tensors[0].abs_begin, 8 + padded);

    /* Parse it back (with its 16 data bytes): same tensors, reference style, same bytes. */
    size_t hdr = out.len;
    for (int i = 0; i < 16; i++)
        assert_int_equal(weft_buf_put_u8(&out, (uint8_t)i), 0);
    weft_st_header *g = NULL;
    assert_int_equal(weft_st_parse(&g, out.data, out.len, out.len), 0);
    assert_int_equal(g->flags, 0);
    assert_int_equal(g->n_tensors, 4);
    assert_string_equal(g->tensors[0].name, "a");
    assert_string_equal(g->tensors[3].name, "e");
    assert_int_equal(g->tensors[1].rank, 0);
    assert_int_equal(g->tensors[1].numel, 1);
    weft_buf again;
    weft_buf_init(&again, 1 << 20);
    assert_int_equal(weft_st_serialize(&again, g, g->flags), 0);
    assert_int_equal(again.len, hdr);
    assert_memory_equal(again.data, out.data, hdr);
    /* and in the sorted-keys style: __metadata__ sorts after upper case, before lower case */
    weft_buf_clear(&again);
    assert_int_equal(weft_st_serialize(&again, g, WEFT_ST_KEYS_SORTED), 0);
    const char *want_sorted = "{\"__metadata__\":{\"format\":\"pt\"},"
                              "\"a\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[1,2]},"
                              "\"b\":{\"data_offsets\":[12,16],\"dtype\":\"F16\",\"shape\":[2]},";
    assert_memory_equal(again.data + 8, want_sorted, strlen(want_sorted));
    weft_buf_dispose(&again);
    weft_st_header_free(g);
    weft_buf_dispose(&out);
    weft_st_header_free(h);
}

/* Strings are escaped as serde_json does and read back unchanged. */
static void test_tensor_safetensors_writer_escapes(void **state)
{
    (void)state;
    weft_st_header *h = NULL;
    assert_int_equal(weft_st_header_new(&h), 0);
    assert_int_equal(weft_st_add_meta(h, "k\"\\", "line\nnext\x01\t/\xc3\xa9"), 0);
    assert_int_equal(weft_st_add_tensor(h, "x.y", WEFT_DTYPE_BOOL, 1, (uint64_t[]){3}), 0);
    assert_int_equal(weft_st_layout(h), 0);
    weft_buf out;
    weft_buf_init(&out, 1 << 20);
    assert_int_equal(weft_st_serialize(&out, h, 0), 0);
    const char *want = "{\"__metadata__\":{\"k\\\"\\\\\":\"line\\nnext\\u0001\\t/\xc3\xa9\"},"
                       "\"x.y\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}";
    assert_memory_equal(out.data + 8, want, strlen(want));
    assert_int_equal(weft_buf_append(&out, "\1\0\1", 3), 0);
    weft_st_header *g = NULL;
    assert_int_equal(weft_st_parse(&g, out.data, out.len, out.len), 0);
    assert_string_equal(g->meta[0].key, "k\"\\");
    assert_string_equal(g->meta[0].value, "line\nnext\x01\t/\xc3\xa9");
    weft_st_header_free(g);
    weft_buf_dispose(&out);
    weft_st_header_free(h);
}

/* Valid corner cases of the spec. */
static void test_tensor_safetensors_valid_corners(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        size_t data;
        size_t n_tensors;
    } cases[] = {
        {"{}", 0, 0},
        {"  {\"__metadata__\":{}}  \n", 0, 0},
        {"{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8, 1},
        {"{\"e\":{\"dtype\":\"F32\",\"shape\":[4,0],\"data_offsets\":[0,0]},"
         "\"f\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}",
         2, 2},
        {"{\"b\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]},"
         "\"a\":{\"shape\":[1],\"dtype\":\"C64\",\"data_offsets\":[6,14],\"extra\":1},"
         "\"c\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,4]}}",
         14, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_buf b;
        weft_buf_init(&b, 1 << 20);
        assert_int_equal(tt_st_file(&b, cases[i].json, cases[i].data), 0);
        weft_st_header *h = NULL;
        int rc = weft_st_parse(&h, b.data, b.len, b.len);
        if (rc)
            print_message("case %zu: %s\n", i, weft_err_last());
        assert_int_equal(rc, 0);
        assert_int_equal(h->n_tensors, cases[i].n_tensors);
        assert_int_equal(h->data_len, cases[i].data);
        for (size_t k = 1; k < h->n_tensors; k++)
            assert_true(h->tensors[k].begin >= h->tensors[k - 1].end);
        weft_st_header_free(h);
        weft_buf_dispose(&b);
    }
}

/* Every rule broken once: the error code and a message that names the problem. */
static void test_tensor_safetensors_rules(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        long data; /* data bytes after the header; negative: file shorter than the header */
        int code;
        const char *msg;
    } cases[] = {
        {"", 0, WEFT_ECORRUPT, "empty header"},
        {"{\"a\":", 0, WEFT_ECORRUPT, "not valid JSON"},
        {"[1,2]", 0, WEFT_ECORRUPT, "not a JSON object"},
        {"{\"a\":{}}  x", 0, WEFT_ECORRUPT, "not valid JSON"},
        {"{\"\xff\":1}", 0, WEFT_ECORRUPT, "not valid JSON"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         2, WEFT_ECORRUPT, "duplicate"},
        {"{\"__metadata__\":[]}", 0, WEFT_ECORRUPT, "__metadata__ is not an object"},
        {"{\"__metadata__\":{\"k\":1}}", 0, WEFT_ECORRUPT, "is not a string"},
        {"{\"a\":7}", 0, WEFT_ECORRUPT, "not an object"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, WEFT_ECORRUPT, "needs \"dtype\""},
        {"{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, WEFT_ECORRUPT,
         "unknown dtype"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1, WEFT_ECORRUPT,
         "shape[0]"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1, WEFT_ECORRUPT,
         "shape[0]"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, WEFT_ECORRUPT,
         "two non-negative"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", 1, WEFT_ECORRUPT,
         "is after end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, WEFT_ECORRUPT,
         "needs 8 bytes"},
        {"{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, WEFT_ECORRUPT,
         "whole byte"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}", 1,
         WEFT_ECORRUPT, "overflows"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
         "1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
         1, WEFT_ELIMIT, "dimensions"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8, WEFT_ECORRUPT,
         "a gap before it"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
         12, WEFT_ECORRUPT, "a gap before it"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
         12, WEFT_ECORRUPT, "overlaps"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5, WEFT_ECORRUPT,
         "file has 5 data bytes"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 3, WEFT_ECORRUPT,
         "file has 3 data bytes"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", -1, WEFT_ECORRUPT,
         "longer than the file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_buf b;
        weft_buf_init(&b, 1 << 20);
        assert_int_equal(
            tt_st_file(&b, cases[i].json, cases[i].data > 0 ? (size_t)cases[i].data : 0), 0);
        uint64_t size = cases[i].data < 0 ? b.len - 1 : b.len;
        weft_st_header *h = NULL;
        int rc = weft_st_parse(&h, b.data, b.len, size);
        if (rc != cases[i].code || !strstr(weft_err_last(), cases[i].msg))
            print_message("case %zu: rc %d, message \"%s\", wanted \"%s\"\n", i, rc,
                          weft_err_last(), cases[i].msg);
        assert_int_equal(rc, cases[i].code);
        assert_non_null(strstr(weft_err_last(), cases[i].msg));
        assert_null(h);
        assert_non_null(strstr(weft_err_last(), "safetensors: "));
        weft_buf_dispose(&b);
    }
}

static void test_tensor_safetensors_header_size(void **state)
{
    (void)state;
    uint8_t p[16] = {0};
    uint64_t need = 0;
    weft_store_u64le(p, WEFT_ST_MAX_HEADER_LEN + 1);
    assert_int_equal(weft_st_header_need(&need, p, sizeof p), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "over the limit"));
    weft_st_header *h = NULL;
    assert_int_equal(weft_st_parse(&h, p, sizeof p, WEFT_ST_SIZE_UNKNOWN), WEFT_ECORRUPT);
    weft_store_u64le(p, 1000);
    assert_int_equal(weft_st_header_need(&need, p, sizeof p), 0);
    assert_int_equal(need, 1008);
    /* fewer bytes than needed is the caller's mistake */
    assert_int_equal(weft_st_parse(&h, p, sizeof p, WEFT_ST_SIZE_UNKNOWN), WEFT_EINVALID);
    assert_int_equal(weft_st_parse(&h, p, 5, WEFT_ST_SIZE_UNKNOWN), WEFT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_safetensors_real_roundtrip),
        cmocka_unit_test(test_tensor_safetensors_real_content),
        cmocka_unit_test(test_tensor_safetensors_writer_reference),
        cmocka_unit_test(test_tensor_safetensors_writer_escapes),
        cmocka_unit_test(test_tensor_safetensors_valid_corners),
        cmocka_unit_test(test_tensor_safetensors_rules),
        cmocka_unit_test(test_tensor_safetensors_header_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
