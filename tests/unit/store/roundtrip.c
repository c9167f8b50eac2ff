/* Store round trips: ingest, then reads of whole files and of ranges at every kind of edge
 * (chunk, term and xorb boundaries, first and last byte), with small xorbs so files span
 * several of them, plus dedup accounting and the empty and one-byte files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/chunker.h"
#include "weft/sha256.h"
#include "weft/store.h"

#define MIB (1u << 20)

static char dir[64];

typedef struct sink {
    uint8_t *p;
    size_t n, cap;
} sink;

static int sink_write(const uint8_t *p, size_t n, void *payload)
{
    sink *s = payload;
    if (s->n + n > s->cap)
        return -1;
    memcpy(s->p + s->n, p, n);
    s->n += n;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/weft-store-unit-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(weft_store *s, const uint8_t *p, size_t n, weft_store_put_result *r)
{
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    /* Odd-sized feeds. */
    for (size_t o = 0; o < n;) {
        size_t k = n - o < 77777 ? n - o : 77777;
        assert_int_equal(weft_store_ingest_feed(in, p + o, k), 0);
        o += k;
    }
    assert_int_equal(weft_store_ingest_finish(in, r), 0);
}

static void check_range(weft_store *s, const weft_hash *f, const uint8_t *p, size_t n,
                        uint64_t off, uint64_t len)
{
    sink k = {.p = malloc(n + 1), .cap = n + 1};
    assert_non_null(k.p);
    assert_int_equal(weft_store_read(s, f, off, len, 1, sink_write, &k), 0);
    uint64_t want = off + len > n ? n - off : len;
    assert_int_equal(k.n, want);
    assert_memory_equal(k.p, p + off, want);
    free(k.p);
}

static void test_store_roundtrip_ranges_across_xorbs(void **state)
{
    (void)state;
    weft_store *s = NULL;
    assert_int_equal(weft_store_open(&s, dir), 0);
    weft_store_set_xorb_limit(s, MIB);
    size_t n = 5 * MIB + 12345;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    tu_fill_random(p, n, 7);
    /* A repeated stretch, so the file has dedup terms pointing back into earlier xorbs. */
    memcpy(p + 3 * MIB, p + 100000, MIB);
    weft_store_put_result r;
    put(s, p, n, &r);
    assert_int_equal(r.file.size, n);
    assert_true(r.new_xorbs >= 4);
    assert_true(r.dedup_bytes > MIB / 2);
    assert_int_equal(r.new_bytes + r.dedup_bytes, n);
    uint8_t sha[32];
    assert_int_equal(weft_sha256_oneshot(sha, p, n), 0);
    assert_memory_equal(r.file.sha256, sha, 32);

    check_range(s, &r.file.xet_hash, p, n, 0, UINT64_MAX);
    /* Every chunk boundary +-1, and the xorb boundaries among them. */
    static uint32_t lens[1024];
    size_t used = 0, k = weft_chunker_split(lens, 1024, p, n, 1, &used);
    uint64_t at = 0;
    for (size_t i = 0; i < k; i++) {
        at += lens[i];
        if (at >= n)
            break;
        check_range(s, &r.file.xet_hash, p, n, at - 1, 2);
        check_range(s, &r.file.xet_hash, p, n, at, 1);
        check_range(s, &r.file.xet_hash, p, n, at - 1, 300000);
    }
    check_range(s, &r.file.xet_hash, p, n, n - 1, 1);
    check_range(s, &r.file.xet_hash, p, n, n, 10); /* empty at the end */
    sink z = {.p = malloc(16), .cap = 16};
    assert_int_equal(weft_store_read(s, &r.file.xet_hash, n + 1, 1, 1, sink_write, &z),
                     WEFT_EINVALID);
    free(z.p);

    /* The same file again: all dedup, nothing new. */
    weft_store_put_result r2;
    put(s, p, n, &r2);
    assert_int_equal(r2.new_bytes, 0);
    assert_int_equal(r2.new_xorbs, 0);
    assert_memory_equal(r2.file.xet_hash.b, r.file.xet_hash.b, 32);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 1);
    free(p);
    weft_store_close(s);
}

static void test_store_roundtrip_tiny_files(void **state)
{
    (void)state;
    weft_store *s = NULL;
    assert_int_equal(weft_store_open(&s, dir), 0);
    weft_store_put_result r;
    put(s, NULL, 0, &r);
    assert_int_equal(r.file.size, 0);
    assert_true(weft_hash_is_zero(&r.file.xet_hash));
    check_range(s, &r.file.xet_hash, (const uint8_t *)"", 0, 0, UINT64_MAX);
    weft_store_file f;
    assert_int_equal(weft_store_lookup(s, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &f), 0);
    assert_int_equal(f.size, 0);

    uint8_t one = 0x5a;
    put(s, &one, 1, &r);
    check_range(s, &r.file.xet_hash, &one, 1, 0, 1);
    char hex[65];
    weft_xet_hash_to_hex(hex, &r.file.xet_hash);
    assert_int_equal(weft_store_lookup(s, hex, &f), 0);
    assert_int_equal(f.size, 1);
    assert_int_equal(weft_store_remove(s, &f.xet_hash), 0);
    assert_int_equal(weft_store_lookup(s, hex, &f), WEFT_ENOTFOUND);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_roundtrip_ranges_across_xorbs),
        cmocka_unit_test(test_store_roundtrip_tiny_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
