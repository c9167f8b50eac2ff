/* Test and benchmark helper (header-only, not the library's safetensors reader): the tensor
 * regions of an in-memory safetensors file for weft_weight_layout, and the matching of a
 * fine-tune's tensors to its base's by name, dtype and size. Trusts its input only as far as
 * bounds checks go (files are our own or ../shared/data). Used by bench/codec.c and
 * tests/unit/tensor/weight_real.c. */
#ifndef WEFT_BENCH_ST_REGIONS_H
#define WEFT_BENCH_ST_REGIONS_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"
#include "weft/weight_codec.h"

typedef struct st_region {
    char name[128];
    weft_weight_region r;
} st_region;

static int st_region_cmp(const void *a, const void *b)
{
    const st_region *x = a, *y = b;
    return (x->r.offset > y->r.offset) - (x->r.offset < y->r.offset);
}

/* Regions of file[0..len), sorted by offset, into a malloc'd array; -1 if not safetensors. */
static inline int st_regions_read(st_region **out, size_t *n_out, const uint8_t *file, size_t len)
{
    if (len < 8)
        return -1;
    uint64_t hlen = weft_load_u64le(file);
    if (hlen > len - 8)
        return -1;
    json_error_t jerr;
    json_t *h = json_loadb((const char *)file + 8, (size_t)hlen, 0, &jerr);
    if (h == NULL || !json_is_object(h)) {
        json_decref(h);
        return -1;
    }
    st_region *rs = calloc(json_object_size(h) + 1, sizeof *rs);
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v)
    {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        json_t *offs = json_object_get(v, "data_offsets");
        if (dt == NULL || json_array_size(offs) != 2)
            continue;
        uint64_t a = (uint64_t)json_integer_value(json_array_get(offs, 0));
        uint64_t b = (uint64_t)json_integer_value(json_array_get(offs, 1));
        if (b < a || b > len - 8 - hlen)
            continue;
        st_region *r = &rs[n++];
        snprintf(r->name, sizeof r->name, "%s", key);
        r->r.offset = 8 + hlen + a;
        r->r.len = b - a;
        r->r.dtype = strcmp(dt, "BF16") == 0  ? WEFT_WEIGHT_BF16
                     : strcmp(dt, "F16") == 0 ? WEFT_WEIGHT_F16
                     : strcmp(dt, "F32") == 0 ? WEFT_WEIGHT_F32
                                              : WEFT_WEIGHT_RAW;
    }
    json_decref(h);
    qsort(rs, n, sizeof *rs, st_region_cmp);
    *out = rs;
    *n_out = n;
    return 0;
}

/* Points each fine-tune region at the base tensor of the same name, dtype and length (base_ref =
 * its offset in the base file). Returns how many regions matched. */
static inline size_t st_regions_match(st_region *ft, size_t n_ft, const st_region *base,
                                      size_t n_base, const uint8_t *base_file)
{
    size_t matched = 0;
    for (size_t i = 0; i < n_ft; i++) {
        for (size_t j = 0; j < n_base; j++) {
            if (strcmp(ft[i].name, base[j].name) == 0 && ft[i].r.dtype == base[j].r.dtype &&
                ft[i].r.len == base[j].r.len && ft[i].r.dtype != WEFT_WEIGHT_RAW) {
                ft[i].r.base = base_file + base[j].r.offset;
                ft[i].r.base_ref = base[j].r.offset;
                matched++;
                break;
            }
        }
    }
    return matched;
}

/* The plain weft_weight_region array of st_region entries (malloc'd). */
static inline weft_weight_region *st_regions_plain(const st_region *rs, size_t n)
{
    weft_weight_region *out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out != NULL && i < n; i++)
        out[i] = rs[i].r;
    return out;
}

#endif
