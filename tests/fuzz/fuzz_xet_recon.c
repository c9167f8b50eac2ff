/* Fuzz target for Xet reconstruction answers (include/weft/xet_recon.h). The first 8 bytes give
 * the requested range (start and length, 32 bits each), the rest is the JSON body. Whatever
 * parses must keep the promises a download relies on: terms laid out back to back from
 * start - offset_into_first_range and reaching the end, each inside the fetch entry it names,
 * chunk ranges non-empty and within a xorb. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/xet_compress.h"
#include "weft/xet_recon.h"
#include "weft/xorb.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint32_t start, len;
    memcpy(&start, data, 4);
    memcpy(&len, data + 4, 4);
    weft_xet_recon r;
    if (weft_xet_recon_parse(&r, (const char *)data + 8, size - 8, start, (uint64_t)start + len) <
        0) {
        CHECK(r.root == NULL && r.terms == NULL && r.entries == NULL);
        return 0;
    }
    CHECK(r.offset_into_first <= start);
    uint64_t pos = start - r.offset_into_first;
    for (size_t i = 0; i < r.n_terms; i++) {
        const weft_xet_recon_term *t = &r.terms[i];
        CHECK(t->file_pos == pos);
        CHECK(t->a < t->b && t->b <= WEFT_XORB_MAX_CHUNKS);
        CHECK(t->raw_len <= (uint64_t)(t->b - t->a) * WEFT_XET_MAX_CHUNK_LEN);
        CHECK(t->entry < r.n_entries);
        const weft_xet_recon_entry *e = &r.entries[t->entry];
        CHECK(weft_hash_eq(&e->xorb, &t->xorb) && e->a <= t->a && t->b <= e->b);
        pos += t->raw_len;
    }
    CHECK(pos >= (uint64_t)start + len);
    for (size_t k = 0; k < r.n_entries; k++) {
        const weft_xet_recon_entry *e = &r.entries[k];
        CHECK(e->url != NULL && e->a < e->b && e->ua <= e->ub);
    }
    weft_xet_recon_dispose(&r);
    return 0;
}
