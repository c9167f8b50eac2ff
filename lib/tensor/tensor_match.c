/* Fine-tune tensors matched to base tensors by name, shape and dtype (include/weft/tensor_match.h).
 */
#include "weft/tensor_match.h"

#include <stdlib.h>

int weft_tensor_weight_dtype(weft_dtype dt)
{
    switch (dt) {
    case WEFT_DTYPE_BF16: return WEFT_WEIGHT_BF16;
    case WEFT_DTYPE_F16: return WEFT_WEIGHT_F16;
    case WEFT_DTYPE_F32: return WEFT_WEIGHT_F32;
    default: return WEFT_WEIGHT_RAW;
    }
}

static int match_same_shape(const weft_st_tensor *a, const weft_st_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->end - a->begin != b->end - b->begin)
        return 0;
    for (uint32_t i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

int weft_tensor_match_regions(weft_weight_region **out, size_t *n_out, size_t *n_matched_out,
                              const weft_st_header *ft, const weft_st_header *base,
                              const uint8_t *base_bytes, uint64_t base_size)
{
    weft_weight_region *r = calloc(ft->n_tensors + 1, sizeof *r);
    size_t n = 0, matched = 0;
    if (r == NULL)
        return weft_err_set(WEFT_ENOMEM, "tensor match: out of memory");
    for (size_t i = 0; i < ft->n_tensors; i++) {
        const weft_st_tensor *t = &ft->tensors[i];
        if (t->abs_end == t->abs_begin)
            continue;
        weft_weight_region *g = &r[n++];
        *g = (weft_weight_region){.offset = t->abs_begin,
                                  .len = t->abs_end - t->abs_begin,
                                  .dtype = weft_tensor_weight_dtype(t->dtype),
                                  .base_ref = WEFT_TENSOR_NO_BASE};
        if (g->dtype == WEFT_WEIGHT_RAW || base == NULL)
            continue;
        const weft_st_tensor *b = weft_st_find(base, t->name, t->name_len);
        if (b == NULL || !match_same_shape(t, b))
            continue;
        if (b->abs_end < b->abs_begin || b->abs_end > base_size) {
            free(r);
            return weft_err_set(WEFT_ECORRUPT, "base tensor %s: bytes past the end of the base",
                                b->name);
        }
        g->base_ref = b->abs_begin;
        g->base = base_bytes != NULL ? base_bytes + b->abs_begin : NULL;
        matched++;
    }
    *out = r;
    *n_out = n;
    if (n_matched_out != NULL)
        *n_matched_out = matched;
    return 0;
}
