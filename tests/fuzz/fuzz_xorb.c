/* Fuzz target for the xorb codec (include/weft/xorb.h): client-xorb verification, footer parse
 * from the tail, single-chunk and range decoding, and the payload decoders. On every input that
 * verifies, the round trips must hold: the rebuilt footer reads back from the tail of the stored
 * form, the stored form verifies, each chunk decodes alone to its declared length and hash, and
 * the builder re-encoding the unpacked chunks gives the same xorb hash. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/xorb.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One decode buffer for the whole run: a fresh 128 KiB allocation per input is most of the
 * time under ASan. */
static uint8_t scratch[WEFT_XET_MAX_CHUNK_LEN];

static void roundtrip_client(const uint8_t *data, size_t size, const weft_xorb_footer *f)
{
    weft_buf stored, raw;
    weft_buf_init(&stored, size + WEFT_XORB_FOOTER_MAX_LEN);
    weft_buf_init(&raw, (size_t)WEFT_XORB_MAX_CHUNKS * WEFT_XET_MAX_CHUNK_LEN);
    /* A trailing storage footer is ignored by the parse: keep the chunk bytes only. */
    CHECK(f->phys_off[f->n_chunks] <= size);
    size = f->phys_off[f->n_chunks];
    CHECK(weft_buf_append(&stored, data, size) == 0);
    CHECK(weft_xorb_footer_serialize(&stored, f) == 0);
    CHECK(stored.len == size + WEFT_XORB_FOOTER_LEN(f->n_chunks));

    /* Footer from the tail: first the fixed 32 bytes, then exactly the footer. */
    size_t flen = 0;
    uint32_t n = 0;
    CHECK(weft_xorb_footer_len(&flen, &n, stored.data + stored.len - WEFT_XORB_FOOTER_TAIL_LEN,
                               WEFT_XORB_FOOTER_TAIL_LEN, stored.len) == 0);
    CHECK(flen == stored.len - size && n == f->n_chunks);
    weft_xorb_footer *g = NULL;
    CHECK(weft_xorb_footer_parse(&g, stored.data + size, flen, stored.len) == 0);
    CHECK(weft_hash_eq(&g->hash, &f->hash));
    CHECK(memcmp(g->phys_off, f->phys_off, (f->n_chunks + 1) * sizeof(uint32_t)) == 0);
    CHECK(memcmp(g->raw_off, f->raw_off, (f->n_chunks + 1) * sizeof(uint32_t)) == 0);
    CHECK(memcmp(g->chunk_hashes, f->chunk_hashes, f->n_chunks * sizeof(weft_hash)) == 0);
    weft_xorb_footer_free(g);
    g = NULL;
    CHECK(weft_xorb_parse_stored(&g, stored.data, stored.len, &f->hash) == 0);
    weft_xorb_footer_free(g);

    /* Each chunk alone, and all of them as one range. */
    static uint8_t out[WEFT_XET_MAX_CHUNK_LEN];
    weft_xorb_builder *b = NULL;
    CHECK(weft_xorb_builder_new(&b, (int)(data[0] % 3)) == 0);
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        size_t got = 0;
        CHECK(weft_xorb_chunk_decode(out, WEFT_XET_MAX_CHUNK_LEN, &got, data + f->phys_off[i],
                                     f->phys_off[i + 1] - f->phys_off[i]) == 0);
        CHECK(got == f->raw_off[i + 1] - f->raw_off[i]);
        weft_hash h;
        weft_xet_chunk_hash(&h, out, got);
        CHECK(weft_hash_eq(&h, &f->chunk_hashes[i]));
        if (weft_xorb_builder_can_add(b, got))
            CHECK(weft_xorb_builder_add(b, NULL, out, got) == 0);
    }
    uint32_t n_dec = 0;
    CHECK(weft_xorb_chunks_decode(&raw, &n_dec, data, size) == 0);
    CHECK(n_dec == f->n_chunks && raw.len == f->raw_off[f->n_chunks]);

    /* Re-encoded by the builder (forced scheme from the first byte): same hash, verifies. */
    if (weft_xorb_builder_n_chunks(b) == f->n_chunks) {
        weft_xorb_built x;
        CHECK(weft_xorb_builder_finish(b, &x) == 0);
        CHECK(weft_hash_eq(&x.hash, &f->hash));
        weft_xorb_footer *h2 = NULL;
        CHECK(weft_xorb_parse_client(&h2, x.bytes, x.data_len, &f->hash) == 0);
        weft_xorb_footer_free(h2);
    }
    weft_xorb_builder_free(b);
    weft_buf_dispose(&raw);
    weft_buf_dispose(&stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_xorb_footer *f = NULL;
    if (size == 0)
        return 0;

    /* The input as an uploaded client xorb. */
    if (weft_xorb_parse_client(&f, data, size, NULL) == 0) {
        roundtrip_client(data, size, f);
        weft_xorb_footer_free(f);
        f = NULL;
    }

    /* The input as a stored object: footer from its tail, then every chunk it points at. The
     * footer is read without the chunks, so a chunk may disagree with it (the full verification
     * below catches that); decoding must still stay in bounds. */
    if (weft_xorb_footer_parse(&f, data, size, size) == 0) {
        int all_agree = 1;
        for (uint32_t i = 0; i < f->n_chunks; i++) {
            CHECK(f->phys_off[i] < f->phys_off[i + 1] && f->phys_off[i + 1] <= size);
            size_t got = 0;
            if (weft_xorb_chunk_decode(scratch, WEFT_XET_MAX_CHUNK_LEN, &got, data + f->phys_off[i],
                                       f->phys_off[i + 1] - f->phys_off[i]) != 0 ||
                got != f->raw_off[i + 1] - f->raw_off[i])
                all_agree = 0;
        }
        weft_xorb_footer_free(f);
        f = NULL;
        if (weft_xorb_parse_stored(&f, data, size, NULL) == 0) {
            CHECK(all_agree);
            weft_xorb_footer_free(f);
        }
    }

    /* The input as one chunk, and as a payload under each scheme with a length from its head. */
    uint8_t *out = scratch;
    size_t got = 0;
    if (weft_xorb_chunk_decode(out, WEFT_XET_MAX_CHUNK_LEN, &got, data, size) == 0)
        CHECK(got <= WEFT_XET_MAX_CHUNK_LEN);
    if (size >= 4) {
        size_t raw_len =
            (data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16) % (WEFT_XET_MAX_CHUNK_LEN + 1);
        int scheme = data[0] % 3;
        if (weft_xet_decompress(out, raw_len, scheme, data + 4, size - 4) == 0 && raw_len <= 4096) {
            /* What decodes re-encodes and decodes to the same bytes. */
            weft_buf enc;
            weft_buf_init(&enc, WEFT_XET_MAX_CHUNK_LEN);
            int used = -1;
            CHECK(weft_xet_compress(&enc, &used, scheme, out, raw_len) == 0);
            uint8_t *back = malloc(raw_len + 1);
            CHECK(weft_xet_decompress(back, raw_len, used, enc.data, enc.len) == 0);
            CHECK(memcmp(back, out, raw_len) == 0);
            free(back);
            weft_buf_dispose(&enc);
        }
    }
    return 0;
}
