/* Chunk layouts for weight frames (include/weft/weight_codec.h): which spans of a content-
 * defined chunk are which tensor, in which dtype and at which element phase. A chunk may start
 * in the file header, inside an element, and cover many small tensors; bytes between tensors
 * are RAW. */
#include "weft/weight_codec.h"

/* Appends a span, merging RAW bytes into a preceding RAW span. */
static int layout_push(weft_weight_span *spans, size_t max_spans, size_t *n, size_t len,
                       int dtype, unsigned phase, const uint8_t *base, uint64_t base_ref)
{
    if (dtype == WEFT_WEIGHT_RAW && *n > 0 && spans[*n - 1].dtype == WEFT_WEIGHT_RAW) {
        spans[*n - 1].len += len;
        return 0;
    }
    if (*n >= max_spans)
        return weft_err_set(WEFT_ELIMIT, "weight layout: more than %zu spans", max_spans);
    spans[*n] = (weft_weight_span){
        .len = len, .dtype = dtype, .phase = phase, .base = base, .base_ref = base_ref};
    (*n)++;
    return 0;
}

int weft_weight_layout(weft_weight_span *spans, size_t max_spans, size_t *n_spans_out,
                       const weft_weight_region *regions, size_t n_regions, uint64_t start,
                       size_t len)
{
    uint64_t end;
    if (__builtin_add_overflow(start, (uint64_t)len, &end))
        return weft_err_set(WEFT_EINVALID, "weight layout: range overflows");
    for (size_t i = 0; i < n_regions; i++) {
        uint64_t r_end;
        if (weft_weight_dtype_size(regions[i].dtype) == 0 ||
            __builtin_add_overflow(regions[i].offset, regions[i].len, &r_end) ||
            (i + 1 < n_regions && regions[i + 1].offset < r_end))
            return weft_err_set(WEFT_EINVALID, "weight layout: region %zu bad or overlapping",
                                i);
    }
    /* First region that ends after start (binary search: regions are sorted). */
    size_t lo = 0, hi = n_regions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (regions[mid].offset + regions[mid].len <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    uint64_t pos = start;
    for (size_t i = lo; pos < end; i++) {
        const weft_weight_region *r = i < n_regions ? &regions[i] : NULL;
        uint64_t r_start = r != NULL ? r->offset : end;
        if (r_start > pos) { /* bytes before the region: raw */
            uint64_t stop = r_start < end ? r_start : end;
            int rc = layout_push(spans, max_spans, &n, (size_t)(stop - pos), WEFT_WEIGHT_RAW, 0,
                                 NULL, 0);
            if (rc != 0)
                return rc;
            pos = stop;
        }
        if (r == NULL || pos >= end)
            break;
        if (r->len == 0)
            continue;
        uint64_t stop = r->offset + r->len < end ? r->offset + r->len : end;
        uint64_t k = pos - r->offset;
        size_t esize = weft_weight_dtype_size(r->dtype);
        int rc = layout_push(spans, max_spans, &n, (size_t)(stop - pos), r->dtype,
                             (unsigned)(k % esize), r->base != NULL ? r->base + k : NULL,
                             r->base != NULL ? r->base_ref + k : 0);
        if (rc != 0)
            return rc;
        pos = stop;
    }
    *n_spans_out = n;
    return 0;
}
