/* Fuzz target for the MDB shard codec (include/weft/shard.h): parse, upload rules, and on every
 * input that parses, serialize → parse → serialize must be a fixed point, with and without the
 * footer, and the parsed contents must survive unchanged. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/shard.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const weft_shard *a, const weft_shard *b)
{
    CHECK(a->n_files == b->n_files && a->n_xorbs == b->n_xorbs);
    for (uint32_t i = 0; i < a->n_files; i++) {
        const weft_shard_file *x = &a->files[i], *y = &b->files[i];
        CHECK(weft_hash_eq(&x->hash, &y->hash) && x->flags == y->flags &&
              x->n_terms == y->n_terms && x->has_sha256 == y->has_sha256);
        CHECK((x->verification == NULL) == (y->verification == NULL));
        CHECK(x->n_terms == 0 || memcmp(x->terms, y->terms, x->n_terms * sizeof *x->terms) == 0);
        CHECK(x->verification == NULL || x->n_terms == 0 ||
              memcmp(x->verification, y->verification, x->n_terms * sizeof(weft_hash)) == 0);
        CHECK(!x->has_sha256 || memcmp(x->sha256, y->sha256, 32) == 0);
    }
    for (uint32_t i = 0; i < a->n_xorbs; i++) {
        const weft_shard_xorb *x = &a->xorbs[i], *y = &b->xorbs[i];
        CHECK(weft_hash_eq(&x->hash, &y->hash) && x->flags == y->flags &&
              x->n_chunks == y->n_chunks && x->raw_len == y->raw_len &&
              x->stored_len == y->stored_len);
        CHECK(x->n_chunks == 0 ||
              memcmp(x->chunks, y->chunks, x->n_chunks * sizeof *x->chunks) == 0);
    }
}

static void roundtrip(const weft_shard *s, int with_footer)
{
    weft_buf a, b;
    weft_buf_init(&a, WEFT_SHARD_MAX_BYTES);
    weft_buf_init(&b, WEFT_SHARD_MAX_BYTES);
    if (weft_shard_serialize(&a, s, with_footer) == 0) {
        weft_shard *p = NULL;
        CHECK(weft_shard_parse(&p, a.data, a.len) == 0);
        CHECK(p->has_footer == with_footer);
        check_same(s, p);
        CHECK(weft_shard_serialize(&b, p, with_footer) == 0);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        CHECK((weft_shard_check_upload(s) == 0) == (weft_shard_check_upload(p) == 0));
        weft_shard_free(p);
    }
    weft_buf_dispose(&a);
    weft_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_shard *s = NULL;
    if (weft_shard_parse(&s, data, size) != 0)
        return 0;
    int upload_ok = weft_shard_check_upload(s) == 0;
    (void)upload_ok;
    for (uint32_t i = 0; i < s->n_files; i++)
        (void)weft_shard_file_size(&s->files[i]);
    roundtrip(s, 0);
    roundtrip(s, 1);
    weft_shard_free(s);
    return 0;
}
