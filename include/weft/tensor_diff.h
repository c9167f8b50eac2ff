/* Tensor-by-tensor comparison of two safetensors files, pure: the caller reads the bytes (pread,
 * mmap, the chunk store) and feeds them in pieces, so files of any size stream through a fixed
 * buffer and a server endpoint can drive the same code with tensors read from the store.
 *
 * Use: weft_tdiff_plan() pairs the tensors of two parsed headers by name and classifies each as
 * added, removed, reshaped (same dtype, other shape), retyped (other dtype) or "to compare"
 * (same dtype and shape). For every entry with weft_tdiff_needs_data(), feed the two tensors'
 * bytes in matching pieces to weft_tdiff_update() (same offsets in both, each piece a whole
 * number of elements: a multiple of 8 bytes works for every dtype, 24 for F6_*), then call
 * weft_tdiff_finish(), which makes it identical (every byte equal) or changed. Identical pieces
 * take a fast path (memcmp, then only Σa² for the relative L2).
 *
 * Statistics of a changed tensor, over its scalars (C64: real and imaginary parts separately):
 * max |b − a|, relative L2 = ‖b − a‖₂ / ‖a‖₂ (infinity when a is all zero and b is not), and the
 * share of elements whose bytes differ. NaN and infinite values count as changed when their
 * bytes differ but stay out of max and L2 (n_nonfinite counts them). F6_* have no agreed
 * packing: they are compared as 6-bit fields of a little-endian bit stream (changed share
 * only).
 *
 * Ownership: a weft_tdiff is the caller's (weft_tdiff_free); its entries borrow names and
 * tensor pointers from the two headers, which must outlive it. Pure, no I/O; one weft_tdiff per
 * thread. Errors: WEFT_EINVALID for pieces that do not fit the entry, WEFT_ENOMEM. */
#ifndef WEFT_TENSOR_DIFF_H
#define WEFT_TENSOR_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "weft/dtype.h"
#include "weft/err.h"
#include "weft/safetensors.h"
#include "weft/tensor_header.h"

typedef enum weft_tdiff_kind {
    WEFT_TDIFF_COMPARE = 0, /* same dtype and shape, bytes not compared yet */
    WEFT_TDIFF_IDENTICAL,
    WEFT_TDIFF_CHANGED,
    WEFT_TDIFF_ADDED,    /* only in b */
    WEFT_TDIFF_REMOVED,  /* only in a */
    WEFT_TDIFF_RESHAPED, /* same dtype, other shape */
    WEFT_TDIFF_RETYPED,  /* other dtype (the shape may differ too) */
    WEFT_TDIFF_KIND_COUNT
} weft_tdiff_kind;

typedef struct weft_tdiff_stats {
    uint64_t n_elems;     /* elements compared so far */
    uint64_t n_changed;   /* elements whose bytes differ */
    uint64_t n_nonfinite; /* changed pairs left out of max/L2 (NaN or infinite) */
    uint64_t bytes_done;  /* bytes of each tensor fed so far */
    double max_abs;       /* max |b − a| */
    double sum_sq_a;      /* Σ a² */
    double sum_sq_d;      /* Σ (b − a)² */
} weft_tdiff_stats;

typedef struct weft_tdiff_entry {
    const char *name; /* borrowed from a or b */
    weft_tdiff_kind kind;
    const weft_st_tensor *a; /* NULL when added */
    const weft_st_tensor *b; /* NULL when removed */
    weft_tdiff_stats stats;
} weft_tdiff_entry;

typedef struct weft_tdiff {
    size_t n;
    weft_tdiff_entry *entries; /* a's tensors in a's file order, then those only in b */
    size_t count[WEFT_TDIFF_KIND_COUNT];
} weft_tdiff;

/* Pairs the tensors of a and b by name. *out is the caller's (weft_tdiff_free). */
WEFT_MUST_USE int weft_tdiff_plan(weft_tdiff **out, const weft_st_header *a,
                                  const weft_st_header *b);

/* Frees a plan (NULL is fine). */
void weft_tdiff_free(weft_tdiff *d);

/* 1 if the entry's bytes must be fed (kind still WEFT_TDIFF_COMPARE). */
int weft_tdiff_needs_data(const weft_tdiff_entry *e);

/* Compares the next `len` bytes of the entry's two tensors (pa from a, pb from b). */
WEFT_MUST_USE int weft_tdiff_update(weft_tdiff_entry *e, const uint8_t *pa, const uint8_t *pb,
                                    size_t len);

/* Ends the comparison: kind becomes identical or changed, and d->count is updated. Every byte
 * must have been fed (else WEFT_EINVALID). */
WEFT_MUST_USE int weft_tdiff_finish(weft_tdiff *d, weft_tdiff_entry *e);

/* Compares every entry that still needs data: each tensor pair's bytes are read in pieces of
 * WEFT_TDIFF_PIECE bytes through the callbacks (a's with read_a, b's with read_b, at the
 * tensors' absolute file offsets), fed and finished. Memory: two pieces. */
#define WEFT_TDIFF_PIECE ((4u << 20) - (4u << 20) % 24) /* whole elements of every dtype */
WEFT_MUST_USE int weft_tdiff_run(weft_tdiff *d, weft_tensor_read_fn read_a, void *payload_a,
                                 weft_tensor_read_fn read_b, void *payload_b);

/* ‖b − a‖ / ‖a‖ of the stats (0 when nothing changed, INFINITY when a is all zero). */
double weft_tdiff_rel_l2(const weft_tdiff_stats *s);

/* "identical", "changed", "added", "removed", "reshaped", "retyped" ("pending" for COMPARE). */
const char *weft_tdiff_kind_name(weft_tdiff_kind k);

/* The result as JSON: {"tensors": [{"name", "status", "dtype", "shape", ("a"/"b" for
 * reshaped/retyped), "elements", "changed_elements", "changed_share", "max_abs_diff",
 * "rel_l2"}], "summary": {status: count}}. *out is the caller's (json_decref). */
WEFT_MUST_USE int weft_tdiff_to_json(json_t **out, const weft_tdiff *d);

#endif
