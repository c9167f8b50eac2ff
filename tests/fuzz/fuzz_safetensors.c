/* Fuzz target for safetensors headers (include/weft/safetensors.h) and the tensor diff fed
 * from them (include/weft/tensor_diff.h). The input is a whole file. On every input that
 * parses, these must hold: the tensors tile the data in file order; serializing in the detected
 * style and parsing that again (with the same data) gives the same tensors and metadata, and
 * serializing once more gives the same bytes; diffing the file against itself finds every
 * tensor identical; diffing against a copy with one byte flipped finds exactly one tensor
 * changed (when that byte is inside a non-empty tensor). Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/safetensors.h"
#include "weft/tensor_diff.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_header(const weft_st_header *a, const weft_st_header *b)
{
    CHECK(a->n_tensors == b->n_tensors && a->n_meta == b->n_meta);
    CHECK(a->data_len == b->data_len && a->has_metadata == b->has_metadata);
    for (size_t i = 0; i < a->n_tensors; i++) {
        const weft_st_tensor *x = &a->tensors[i];
        const weft_st_tensor *y = weft_st_find(b, x->name, x->name_len);
        CHECK(y != NULL);
        CHECK(x->dtype == y->dtype && x->rank == y->rank && x->numel == y->numel);
        CHECK(x->begin == y->begin && x->end == y->end);
        CHECK(x->rank == 0 || memcmp(x->shape, y->shape, x->rank * sizeof *x->shape) == 0);
    }
    for (size_t i = 0; i < a->n_meta; i++) {
        int found = 0;
        for (size_t k = 0; k < b->n_meta; k++)
            found |= a->meta[i].key_len == b->meta[k].key_len &&
                     memcmp(a->meta[i].key, b->meta[k].key, a->meta[i].key_len) == 0 &&
                     a->meta[i].value_len == b->meta[k].value_len &&
                     memcmp(a->meta[i].value, b->meta[k].value, a->meta[i].value_len) == 0;
        CHECK(found);
    }
}

/* Diffs h's file against `other` (same header): returns the number of changed tensors. */
static size_t diff_count(const weft_st_header *h, const uint8_t *a, const uint8_t *b)
{
    weft_tdiff *d = NULL;
    CHECK(weft_tdiff_plan(&d, h, h) == 0);
    for (size_t i = 0; i < d->n; i++) {
        weft_tdiff_entry *e = &d->entries[i];
        CHECK(weft_tdiff_needs_data(e));
        uint64_t len = e->a->end - e->a->begin;
        /* two pieces when the split is element-aligned for every dtype */
        uint64_t first = len >= 48 ? len / 48 * 24 : len;
        CHECK(weft_tdiff_update(e, a + e->a->abs_begin, b + e->a->abs_begin, first) == 0);
        if (first < len)
            CHECK(weft_tdiff_update(e, a + e->a->abs_begin + first, b + e->a->abs_begin + first,
                                    len - first) == 0);
        CHECK(weft_tdiff_finish(d, e) == 0);
        CHECK(e->stats.n_changed <= e->stats.n_elems);
    }
    size_t changed = d->count[WEFT_TDIFF_CHANGED];
    CHECK(changed + d->count[WEFT_TDIFF_IDENTICAL] == h->n_tensors);
    weft_tdiff_free(d);
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t need = 0;
    if (weft_st_header_need(&need, data, size) != 0 || need > size)
        return 0;
    weft_st_header *h = NULL;
    /* Without the file size first (a remote header), then with it. */
    if (weft_st_parse(&h, data, (size_t)need, WEFT_ST_SIZE_UNKNOWN) == 0)
        weft_st_header_free(h);
    h = NULL;
    if (weft_st_parse(&h, data, size, size) != 0)
        return 0;
    CHECK(h->data_start == need && h->data_start + h->data_len == size);
    uint64_t expect = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        CHECK(h->tensors[i].begin == expect && h->tensors[i].abs_begin == need + expect);
        expect = h->tensors[i].end;
    }

    /* Diff against itself, then against a copy with one data byte flipped. */
    CHECK(diff_count(h, data, data) == 0);
    if (h->data_len > 0) {
        uint8_t *copy = malloc(size);
        CHECK(copy != NULL);
        memcpy(copy, data, size);
        size_t at = (size_t)need + (size_t)(data[size - 1] % h->data_len);
        copy[at] ^= 0x01;
        CHECK(diff_count(h, data, copy) == 1);
        free(copy);
    }

    /* Serialize (which moves the absolute offsets to the new header), re-attach the data,
     * parse again. */
    weft_buf out;
    weft_buf_init(&out, (size_t)need + size + 64);
    CHECK(weft_st_serialize(&out, h, h->flags) == 0);
    size_t hdr = out.len;
    CHECK(hdr % 8 == 0);
    CHECK(weft_buf_append(&out, data + need, size - (size_t)need) == 0);
    weft_st_header *g = NULL;
    CHECK(weft_st_parse(&g, out.data, out.len, out.len) == 0);
    same_header(h, g);
    CHECK(g->flags == h->flags || h->n_tensors + h->n_meta <= 1);
    weft_buf again;
    weft_buf_init(&again, hdr + 64);
    CHECK(weft_st_serialize(&again, g, h->flags) == 0);
    CHECK(again.len == hdr && memcmp(again.data, out.data, hdr) == 0);
    weft_buf_dispose(&again);
    weft_st_header_free(g);

    weft_buf_dispose(&out);
    weft_st_header_free(h);
    return 0;
}
