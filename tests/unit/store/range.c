/* Range reads at every kind of edge: chunk boundaries, term boundaries (a repeated stretch makes
 * terms that point back into earlier xorbs), xorb boundaries (1 MiB xorbs), the first and last
 * byte, empty ranges, ranges past the end, and ranges longer than the 8 MiB read window. Each
 * read is compared with the original bytes. */
#include "unit/store/store_test.h"
#include "weft/chunker.h"

static uint8_t *data;
static size_t n_data;
static weft_store_put_result put_result;

static int range_setup(void **state)
{
    if (st_setup(state) != 0)
        return -1;
    weft_store *s = NULL;
    if (weft_store_open(&s, st_dir) != 0)
        return -1;
    weft_store_set_xorb_limit(s, MIB);
    n_data = 11 * MIB + 777;
    data = st_random(n_data, 3);
    memcpy(data + 6 * MIB, data + 200000, MIB + 5000);
    st_put(s, data, n_data, &put_result);
    weft_store_close(s);
    return 0;
}

static int range_teardown(void **state)
{
    free(data);
    return st_teardown(state);
}

static void test_store_range_chunk_edges(void **state)
{
    (void)state;
    weft_store *s = st_open();
    const weft_hash *f = &put_result.file.xet_hash;
    static uint32_t lens[4096];
    size_t used = 0, k = weft_chunker_split(lens, 4096, data, n_data, 1, &used);
    assert_int_equal(used, n_data);
    uint64_t at = 0;
    for (size_t i = 0; i + 1 < k; i++) {
        at += lens[i];
        st_check_range(s, f, data, n_data, at - 1, 1, 0);      /* last byte of a chunk */
        st_check_range(s, f, data, n_data, at, 1, 0);          /* first byte of the next */
        st_check_range(s, f, data, n_data, at - 1, 2, 0);      /* across the boundary */
        st_check_range(s, f, data, n_data, at - 7, 300000, 0); /* several chunks on */
    }
    weft_store_close(s);
}

static void test_store_range_file_edges(void **state)
{
    (void)state;
    weft_store *s = st_open();
    const weft_hash *f = &put_result.file.xet_hash;
    st_check_range(s, f, data, n_data, 0, 1, 0);
    st_check_range(s, f, data, n_data, 0, 0, 0);
    st_check_range(s, f, data, n_data, n_data - 1, 1, 0);
    st_check_range(s, f, data, n_data, n_data - 1, UINT64_MAX, 0);
    st_check_range(s, f, data, n_data, n_data, 10, 0); /* empty, at the very end */
    st_check_range(s, f, data, n_data, 1, n_data - 2, 0);
    st_check_range(s, f, data, n_data, 12345, UINT64_MAX, WEFT_STORE_READ_NO_VERIFY);
    /* Longer than the read window, starting mid-chunk. */
    st_check_range(s, f, data, n_data, 99999, 9 * MIB + 1, 0);
    st_sink k = {.p = malloc(16), .cap = 16};
    assert_int_equal(weft_store_read(s, f, n_data + 1, 1, 0, st_sink_write, &k), WEFT_EINVALID);
    assert_int_equal(k.n, 0);
    free(k.p);
    weft_store_close(s);
}

/* Every term boundary and every xorb boundary, found from the reads themselves: a 1-byte read
 * at each MiB-ish offset plus the stretch copied from earlier in the file. */
static void test_store_range_term_and_xorb_edges(void **state)
{
    (void)state;
    weft_store *s = st_open();
    const weft_hash *f = &put_result.file.xet_hash;
    /* The repeated stretch [6 MiB, 7 MiB + 5000) dedups against the chunks near 200000, so
     * its terms point back into the first xorbs; probe around both of its ends. */
    for (int64_t d = -70000; d <= 70000; d += 4999) {
        st_check_range(s, f, data, n_data, (uint64_t)(6 * MIB + d), 3, 0);
        st_check_range(s, f, data, n_data, (uint64_t)(7 * MIB + 5000 + d), 3, 0);
    }
    for (uint64_t o = MIB - 70000; o < n_data; o += MIB)
        st_check_range(s, f, data, n_data, o, 140000, 0);
    weft_store_close(s);
}

/* A callback that stops the read gets its error back, and nothing more is written. */
static int stop_after_one(const uint8_t *p, size_t n, void *payload)
{
    (void)p;
    (void)n;
    int *calls = payload;
    return ++*calls == 1 ? 0 : weft_err_set(WEFT_EIO, "sink closed");
}

static void test_store_range_callback_stops(void **state)
{
    (void)state;
    weft_store *s = st_open();
    int calls = 0;
    assert_int_equal(
        weft_store_read(s, &put_result.file.xet_hash, 0, UINT64_MAX, 0, stop_after_one, &calls),
        WEFT_EIO);
    assert_int_equal(calls, 2);
    weft_hash unknown;
    memset(unknown.b, 0x42, sizeof unknown.b);
    assert_int_equal(weft_store_read(s, &unknown, 0, 1, 0, stop_after_one, &calls), WEFT_ENOTFOUND);
    weft_store_close(s);
}

typedef struct collect_ctx {
    uint8_t *dst;
    size_t n;
} collect_ctx;

static int collect(const uint8_t *p, size_t n, void *payload)
{
    collect_ctx *c = payload;
    memcpy(c->dst + c->n, p, n);
    c->n += n;
    return 0;
}

/* A reader pulled in pieces of many sizes (1 byte to past the 8 MiB window) gives the same bytes
 * as the file, from any start; a start past the end is refused. */
static void test_store_range_reader_pieces(void **state)
{
    (void)state;
    weft_store *s = st_open();
    const weft_hash *f = &put_result.file.xet_hash;
    uint8_t *got = malloc(n_data);
    assert_non_null(got);
    const uint64_t starts[] = {0, 1, 65535, 6 * MIB + 17};
    const uint64_t pieces[] = {1, 4095, 65536, 1000003, 9 * MIB};
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < 5; j++) {
            /* tiny pieces over a short stretch only: each call is a read of its own */
            uint64_t len = pieces[j] < 1000 ? 3000 : UINT64_MAX;
            uint64_t want = len < n_data - starts[i] ? len : n_data - starts[i];
            weft_store_reader *r = NULL;
            assert_int_equal(weft_store_reader_open(s, f, starts[i], len, 0, &r), 0);
            collect_ctx c = {got, 0};
            while (weft_store_reader_left(r) > 0) {
                size_t before = c.n;
                assert_int_equal(weft_store_reader_next(r, pieces[j], collect, &c), 0);
                assert_true(c.n > before && c.n - before <= pieces[j]);
            }
            assert_int_equal(c.n, want);
            assert_memory_equal(got, data + starts[i], c.n);
            weft_store_reader_close(r);
        }
    }
    weft_store_reader *r = NULL;
    assert_int_equal(weft_store_reader_open(s, f, n_data + 1, 10, 0, &r), WEFT_EINVALID);
    assert_null(r);
    free(got);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_range_chunk_edges),
        cmocka_unit_test(test_store_range_file_edges),
        cmocka_unit_test(test_store_range_term_and_xorb_edges),
        cmocka_unit_test(test_store_range_callback_stops),
        cmocka_unit_test(test_store_range_reader_pieces),
    };
    return cmocka_run_group_tests(tests, range_setup, range_teardown);
}
