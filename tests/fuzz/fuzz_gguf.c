/* Fuzz target for GGUF headers (include/weft/gguf.h). The input is a whole file. header_need
 * must agree with parse: on any prefix it answers a bound beyond the prefix or the exact data
 * offset. On every input that parses: serializing reproduces the input's first info_end bytes
 * exactly, then zero padding up to data_offset; the serialized header parses again to the same
 * structure; tensor offsets are sequential and aligned. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/gguf.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t need = 0;
    int rc_need = weft_gguf_header_need(&need, data, size);
    weft_gguf *g = NULL;
    int rc = weft_gguf_parse(&g, data, size, WEFT_GGUF_SIZE_UNKNOWN);
    if (rc_need == 0 && need <= size)
        CHECK(rc == 0 && g->data_offset == need);
    if (rc != 0) {
        /* a prefix of a file that parses cannot be "enough" */
        return 0;
    }
    CHECK(rc_need == 0 && need == g->data_offset);
    /* a shorter prefix asks for more than it has */
    size_t half = (size_t)(g->info_end / 2);
    uint64_t need_half = 0;
    CHECK(weft_gguf_header_need(&need_half, data, half) == 0);
    CHECK(need_half > half && need_half <= g->data_offset);

    uint64_t expect = 0;
    for (size_t i = 0; i < g->n_tensors; i++) {
        CHECK(g->tensors[i].offset == expect);
        CHECK(g->tensors[i].abs_offset % g->alignment == 0);
        expect += weft_gguf_padded_size(g, g->tensors[i].size);
    }
    CHECK(expect == g->data_len);

    weft_buf out;
    weft_buf_init(&out, (size_t)g->data_offset + 64);
    CHECK(weft_gguf_serialize(&out, g) == 0);
    CHECK(out.len == g->data_offset);
    CHECK(memcmp(out.data, data, (size_t)g->info_end) == 0);
    for (size_t i = (size_t)g->info_end; i < out.len; i++)
        CHECK(out.data[i] == 0);
    weft_gguf *h = NULL;
    CHECK(weft_gguf_parse(&h, out.data, out.len, WEFT_GGUF_SIZE_UNKNOWN) == 0);
    CHECK(h->n_kv == g->n_kv && h->n_tensors == g->n_tensors && h->info_end == g->info_end);
    CHECK(h->alignment == g->alignment && h->data_len == g->data_len);
    weft_buf again;
    weft_buf_init(&again, out.len + 64);
    CHECK(weft_gguf_serialize(&again, h) == 0);
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    weft_buf_dispose(&again);
    weft_gguf_free(h);
    weft_buf_dispose(&out);
    weft_gguf_free(g);
    return 0;
}
