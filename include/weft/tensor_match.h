/* Matching a fine-tune's tensors to its base model's (specs/xet-storage.md §4.1): the weight
 * regions of a fine-tune file for weft_weight_layout, each float tensor paired with the base
 * tensor of the same name, shape and dtype found through the two safetensors headers, so files
 * whose headers differ in size or tensor order still match. Used by portable delta files
 * (delta_file.h) and by the store's optimizer.
 *
 * Pure: headers and bytes in, a malloc'ed array out (the caller frees it with free()); no I/O,
 * no globals, thread-safe. Errors: WEFT_ECORRUPT when a matched base tensor lies outside the
 * base's size, WEFT_ENOMEM. */
#ifndef WEFT_TENSOR_MATCH_H
#define WEFT_TENSOR_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"
#include "weft/safetensors.h"
#include "weft/weight_codec.h"

/* base_ref of a region whose tensor has no match in the base. */
#define WEFT_TENSOR_NO_BASE UINT64_MAX

/* The weight codecs' dtype for a safetensors dtype: BF16, F16, F32, else WEFT_WEIGHT_RAW. */
int weft_tensor_weight_dtype(weft_dtype dt);

/* One region per tensor of `ft` with data, in file order (ft->tensors order): offset and len =
 * the tensor's absolute bytes in the fine-tune file, dtype = weft_tensor_weight_dtype. A float
 * tensor with a match in `base` (may be NULL: no base) gets base_ref = the base tensor's offset
 * in the base file and, when `base_bytes` is not NULL, base = base_bytes + that offset; every
 * other region has base NULL and base_ref WEFT_TENSOR_NO_BASE. The base tensors must lie within
 * base_size bytes. *out (malloc'ed, at least one element) and *n_out are the caller's;
 * *n_matched_out (may be NULL) gets the number of matched regions. */
WEFT_MUST_USE int weft_tensor_match_regions(weft_weight_region **out, size_t *n_out,
                                            size_t *n_matched_out, const weft_st_header *ft,
                                            const weft_st_header *base, const uint8_t *base_bytes,
                                            uint64_t base_size);

#endif
