/* Fuzz target for the client's chunk cache pieces (include/weft/chunk_cache.h): the input is
 * written as piece 0-16 of one xorb in a private cache directory, then looked up and read
 * through weft_chunk_cache_view_* and weft_chunk_cache_get. A piece is data from disk that other
 * processes (or damage) may have changed: whatever it holds, lookups must not crash, must not
 * read out of bounds, and may only return chunks whose bytes hash to their stored hash. Any
 * violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/chunk_cache.h"
#include "weft/fsutil.h"
#include "weft/xorb.h"

#include "fuzz_check.h"

#define FUZZ_N 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cache_dir[64];
static char piece_path[256];

static void fuzz_setup(void)
{
    if (cache_dir[0])
        return;
    snprintf(cache_dir, sizeof cache_dir, "/tmp/weft-fuzz-cc.%ld", (long)getpid());
    weft_hash zero;
    memset(&zero, 0, sizeof zero);
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, &zero);
    char dir[192];
    snprintf(dir, sizeof dir, "%s/%.2s/%s", cache_dir, hex, hex);
    CHECK(weft_fs_mkdirs(dir) == 0);
    snprintf(piece_path, sizeof piece_path, "%s/0-%d", dir, FUZZ_N);
}

static void fuzz_check_chunk(const weft_xet_chunk *ch, const uint8_t *bytes)
{
    weft_hash h;
    weft_xet_chunk_hash(&h, bytes, ch->raw_len);
    CHECK(weft_hash_eq(&h, &ch->hash));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    FILE *f = fopen(piece_path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, size, f) == size);
    CHECK(fclose(f) == 0);

    weft_chunk_cache *c = NULL;
    CHECK(weft_chunk_cache_open(&c, cache_dir, 1ull << 30) == 0);
    weft_hash xorb;
    memset(&xorb, 0, sizeof xorb);

    weft_xet_chunk meta[FUZZ_N];
    uint8_t held[FUZZ_N];
    memset(meta, 0, sizeof meta);
    weft_chunk_cache_view *v = NULL;
    if (weft_chunk_cache_view_open(&v, c, meta, held, &xorb, 0, FUZZ_N) == 0) {
        for (uint32_t i = 0; i < FUZZ_N; i++) {
            if (!held[i] || weft_chunk_cache_view_dropped(v, i))
                continue;
            CHECK(meta[i].raw_len <= WEFT_XORB_MAX_BYTES);
            uint8_t *buf = malloc(meta[i].raw_len ? meta[i].raw_len : 1);
            CHECK(buf != NULL);
            if (weft_chunk_cache_view_read(v, i, buf) == 0)
                fuzz_check_chunk(&meta[i], buf);
            free(buf);
        }
        weft_chunk_cache_view_close(v);
    }

    /* The same piece through the whole-chunk API (a damaged piece was deleted above: rewrite). */
    f = fopen(piece_path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, size, f) == size);
    CHECK(fclose(f) == 0);
    weft_xet_chunk chunks[FUZZ_N];
    memset(chunks, 0, sizeof chunks);
    uint32_t found = 0;
    if (weft_chunk_cache_get(c, &found, chunks, &xorb, 0, FUZZ_N) == 0) {
        CHECK(found <= FUZZ_N);
        for (uint32_t i = 0; i < FUZZ_N; i++)
            if (chunks[i].data)
                fuzz_check_chunk(&chunks[i], chunks[i].data);
    }
    weft_xet_chunks_clear(chunks, FUZZ_N);
    weft_chunk_cache_close(c);
    return 0;
}
