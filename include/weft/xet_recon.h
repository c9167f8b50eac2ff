/* The answer of a Xet CAS to GET /v1/reconstructions/{file hash} (specs/xet-storage.md §1.4):
 * the terms that make up the file (or the requested byte range of it) in order, and the fetch
 * entries (a signed URL and byte range holding a run of chunks of one xorb) that hold them.
 *
 * weft_xet_recon_parse checks everything a download relies on before any byte is fetched: every
 * hash is 64 hex digits; chunk ranges are non-empty and inside a xorb's chunk limit; a term's
 * unpacked_length fits its chunk count; a fetch entry's byte range fits its chunk count;
 * offset_into_first_range is not past the requested start; every term lies inside some fetch
 * entry of its xorb; and the terms reach the requested end. Each term gets its position in the
 * file (the requested start less offset_into_first_range, plus the lengths of the terms before
 * it) and the index of the first fetch entry that holds it.
 *
 * Errors: WEFT_EINVALID with a message naming what is wrong, WEFT_ENOMEM. On error nothing is
 * left to dispose. Input of any content is safe (fuzzed: tests/fuzz/fuzz_xet_recon.c); time is
 * O(terms × entries) for matching terms to entries, and the caller bounds the body's size. */
#ifndef WEFT_XET_RECON_H
#define WEFT_XET_RECON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "weft/err.h"
#include "weft/xet_hash.h"

/* A term: chunks [a, b) of a xorb, raw_len bytes that start at file_pos in the file. */
typedef struct weft_xet_recon_term {
    weft_hash xorb;
    uint32_t a, b;
    uint64_t raw_len;
    uint64_t file_pos;
    size_t entry; /* the fetch entry that holds it */
} weft_xet_recon_term;

/* A fetch entry: chunks [a, b) of a xorb are the bytes [ua, ub] (inclusive) of `url`. */
typedef struct weft_xet_recon_entry {
    weft_hash xorb;
    uint32_t a, b;
    uint64_t ua, ub;
    const char *url; /* points into the parsed JSON, valid until weft_xet_recon_dispose */
} weft_xet_recon_entry;

typedef struct weft_xet_recon {
    json_t *root;
    uint64_t offset_into_first;
    weft_xet_recon_term *terms;
    size_t n_terms;
    weft_xet_recon_entry *entries;
    size_t n_entries;
} weft_xet_recon;

/* Parses the JSON body text[0..len) of a reconstruction asked for bytes [start, end) of a file. */
WEFT_MUST_USE int weft_xet_recon_parse(weft_xet_recon *out, const char *text, size_t len,
                                       uint64_t start, uint64_t end);

/* Frees what a successful parse holds; zeroes r. */
void weft_xet_recon_dispose(weft_xet_recon *r);

#endif
