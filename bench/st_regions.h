/* Test and benchmark helper (header-only): the tensor regions of an in-memory safetensors file
 * for weft_weight_layout, through the library (weft_st_parse, weft_tensor_match_regions), each
 * float tensor matched to the base tensor of the same name, shape and dtype when a base is given.
 * Used by bench/codec.c and tests/unit/tensor/weight_real.c. */
#ifndef WEFT_BENCH_ST_REGIONS_H
#define WEFT_BENCH_ST_REGIONS_H

#include <stdlib.h>

#include "weft/safetensors.h"
#include "weft/tensor_match.h"
#include "weft/weight_codec.h"

/* Regions of ft[0..ft_len) in file order (malloc'd; free()), matched against base[0..base_len)
 * when base is not NULL; *n_out regions, *matched_out (may be NULL) matched. NULL if either file
 * is not a valid safetensors file. */
static inline weft_weight_region *st_regions(const uint8_t *ft, size_t ft_len, const uint8_t *base,
                                             size_t base_len, size_t *n_out, size_t *matched_out)
{
    weft_st_header *fh = NULL, *bh = NULL;
    weft_weight_region *r = NULL;
    if (weft_st_parse(&fh, ft, ft_len, ft_len) == 0 &&
        (base == NULL || weft_st_parse(&bh, base, base_len, base_len) == 0) &&
        weft_tensor_match_regions(&r, n_out, matched_out, fh, bh, base, base_len) != 0)
        r = NULL;
    weft_st_header_free(fh);
    weft_st_header_free(bh);
    return r;
}

#endif
