/* Chunker: the fast path equals the reference rule, any split of the input gives the same
 * chunks, and chunk sizes respect Xet's bounds. (Conformance with the reference
 * implementation is tests/integration/xet_conformance.test.mjs.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/chunker.h"
#include "xet/chunker_internal.h"

#define MIB (1024u * 1024u)

typedef struct collected {
    size_t n;
    uint32_t lens[4096];
    weft_hash hashes[4096];
    uint64_t total;
} collected;

static int collect(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    collected *c = payload;
    weft_hash check;
    weft_xet_chunk_hash(&check, data, len);
    if (!weft_hash_eq(&check, hash) || c->n == 4096)
        return -100;
    c->lens[c->n] = (uint32_t)len;
    c->hashes[c->n] = *hash;
    c->n++;
    c->total += len;
    return 0;
}

/* Inputs of several kinds: random, zero runs, periodic, sparse. */
static uint8_t *make_input(int kind, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    switch (kind) {
    case 0: tu_fill_random(p, n, 42); break;
    case 1:
        tu_fill_random(p, n, 43);
        memset(p + n / 4, 0, n / 3);
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(i % 3 == 0 ? 7 : i % 3 == 1 ? 0 : 200);
        break;
    case 3:
        memset(p, 0, n);
        for (size_t i = 0; i < n; i += 997)
            p[i] = 1;
        break;
    default:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)((i * 2654435761u) >> 13);
        break;
    }
    return p;
}

/* The reference rule, written plainly: hash every byte from chunk start + skip. */
static size_t naive_chunk_end(const uint8_t *p, size_t n, size_t s)
{
    uint64_t h = 0;
    for (size_t i = s + WEFT_XET_CHUNK_MIN - 65; i < n && i - s < WEFT_XET_CHUNK_MAX; i++) {
        h = (h << 1) + WEFT_XET_GEAR_TABLE[p[i]];
        if ((h & WEFT_XET_GEAR_MASK) == 0)
            return i + 1;
    }
    return n - s < WEFT_XET_CHUNK_MAX ? n : s + WEFT_XET_CHUNK_MAX;
}

/* The fast Gear scan equals the reference from every start offset modulo its unroll, for every
 * limit near the start, and over long runs with many boundaries (each scan restarts after the
 * previous hit, so hits land at every position of the unrolled loop). */
static void test_xet_chunker_gear_fast_matches_ref(void **state)
{
    (void)state;
    size_t n = 8 * MIB + 5;
    for (int kind = 0; kind < 5; kind++) {
        uint8_t *p = make_input(kind, n);
        for (size_t s = 0; s < 40; s++) {
            for (size_t len = 0; len < 80; len++)
                assert_int_equal(weft_chunker__gear_fast(p, s, s + len),
                                 weft_chunker__gear_ref(p, s, s + len));
        }
        size_t hits = 0;
        for (size_t start = 0; start < 16; start++) {
            size_t i = start;
            while (i < n) {
                size_t want = weft_chunker__gear_ref(p, i, n);
                assert_int_equal(weft_chunker__gear_fast(p, i, n), want);
                if (want == 0)
                    break;
                /* The same hit with the limit just at, and just before, it. */
                assert_int_equal(weft_chunker__gear_fast(p, i, want), want);
                assert_int_equal(weft_chunker__gear_fast(p, i, want - 1),
                                 weft_chunker__gear_ref(p, i, want - 1));
                hits++;
                i = want;
            }
        }
        if (kind == 0)
            assert_true(hits > 1000);
        free(p);
    }
}

static void test_xet_chunker_split_matches_rule(void **state)
{
    (void)state;
    static uint32_t a[4096];
    size_t sizes[] = {0, 1, 8126, 8127, 8128, 8190, 8191, 8192, 131071, 131072, 131073,
                      300000, 3 * MIB + 17};
    for (int kind = 0; kind < 5; kind++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t n = sizes[si];
            uint8_t *p = make_input(kind, n);
            size_t used = 0, k = weft_chunker_split(a, 4096, p, n, 1, &used);
            assert_int_equal(used, n);
            size_t s = 0;
            for (size_t i = 0; i < k; i++) {
                size_t end = naive_chunk_end(p, n, s);
                assert_int_equal(a[i], end - s);
                s = end;
            }
            assert_int_equal(s, n);
            /* Not final: the same chunks except an unfinished tail shorter than MAX. */
            size_t used2 = 0, k2 = weft_chunker_split(a, 4096, p, n, 0, &used2);
            assert_true(k2 == k || k2 + 1 == k);
            assert_true(n - used2 < WEFT_XET_CHUNK_MAX);
            free(p);
        }
    }
}

static void test_xet_chunker_sizes_within_bounds(void **state)
{
    (void)state;
    static uint32_t lens[4096];
    for (int kind = 0; kind < 5; kind++) {
        size_t n = 5 * MIB + 3, used = 0;
        uint8_t *p = make_input(kind, n);
        size_t k = weft_chunker_split(lens, 4096, p, n, 1, &used);
        assert_true(k > 1);
        uint64_t total = 0;
        for (size_t i = 0; i < k; i++) {
            assert_true(lens[i] <= WEFT_XET_CHUNK_MAX);
            /* Skip-ahead: no cut is tested before MIN - 64 bytes (the last chunk may be short). */
            if (i + 1 < k)
                assert_true(lens[i] >= WEFT_XET_CHUNK_MIN - 64);
            total += lens[i];
        }
        assert_int_equal(total, n);
        free(p);
    }
}

static void test_xet_chunker_any_split_same_chunks(void **state)
{
    (void)state;
    size_t n = 4 * MIB + 4321;
    uint8_t *p = make_input(1, n);
    collected *whole = calloc(1, sizeof *whole), *pieces = calloc(1, sizeof *pieces);
    assert_non_null(whole);
    assert_non_null(pieces);
    assert_int_equal(weft_chunker_run(p, n, collect, whole), 0);
    assert_int_equal(whole->total, n);

    size_t splits[][3] = {{1, 1, 1}, {7, 65537, 3}, {131071, 1, 1048577}, {MIB, MIB, MIB}};
    weft_chunker *c = NULL;
    assert_int_equal(weft_chunker_new(&c), 0);
    for (size_t si = 0; si < sizeof splits / sizeof splits[0]; si++) {
        memset(pieces, 0, sizeof *pieces);
        /* Single-byte feeds over the whole input would be slow; do them for the first 300 KB. */
        size_t o = 0, k = 0;
        while (o < n) {
            size_t len = splits[si][k++ % 3];
            if (si == 0 && o > 300000)
                len = 99991;
            if (len > n - o)
                len = n - o;
            assert_int_equal(weft_chunker_feed(c, p + o, len, collect, pieces), 0);
            o += len;
        }
        assert_int_equal(weft_chunker_finish(c, collect, pieces), 0);
        assert_int_equal(pieces->n, whole->n);
        assert_memory_equal(pieces->lens, whole->lens, whole->n * sizeof whole->lens[0]);
        assert_memory_equal(pieces->hashes, whole->hashes, whole->n * sizeof whole->hashes[0]);
    }
    weft_chunker_free(c);
    free(whole);
    free(pieces);
    free(p);
}

static int stop_after_two(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    (void)data;
    (void)len;
    (void)hash;
    int *count = payload;
    return ++*count > 2 ? -42 : 0;
}

static void test_xet_chunker_callback_error_stops(void **state)
{
    (void)state;
    size_t n = 2 * MIB;
    uint8_t *p = make_input(0, n);
    int count = 0;
    assert_int_equal(weft_chunker_run(p, n, stop_after_two, &count), -42);
    assert_int_equal(count, 3);
    free(p);
}

static void test_xet_chunker_empty_input_no_chunks(void **state)
{
    (void)state;
    int count = 0;
    weft_chunker *c = NULL;
    assert_int_equal(weft_chunker_new(&c), 0);
    assert_int_equal(weft_chunker_finish(c, stop_after_two, &count), 0);
    assert_int_equal(count, 0);
    weft_chunker_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xet_chunker_gear_fast_matches_ref),
        cmocka_unit_test(test_xet_chunker_split_matches_rule),
        cmocka_unit_test(test_xet_chunker_sizes_within_bounds),
        cmocka_unit_test(test_xet_chunker_any_split_same_chunks),
        cmocka_unit_test(test_xet_chunker_callback_error_stops),
        cmocka_unit_test(test_xet_chunker_empty_input_no_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
