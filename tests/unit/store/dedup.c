/* Dedup: the same file twice, an insertion in the middle of a file, files sharing a prefix, and a
 * file repeating itself. The store's accounting (put results and stats) must show exactly what
 * was stored anew. */
#include "unit/store/store_test.h"
#include "weft/chunker.h"

static void test_store_dedup_same_file(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 3 * MIB + 17;
    uint8_t *p = st_random(n, 1);
    weft_store_put_result a, b;
    st_put(s, p, n, &a);
    assert_int_equal(a.existed, 0);
    st_put(s, p, n, &b);
    assert_int_equal(b.existed, 1);
    assert_int_equal(b.new_bytes, 0);
    assert_int_equal(b.new_xorbs, 0);
    assert_int_equal(b.dedup_bytes, n);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 1);
    assert_int_equal(st.unique_bytes, n);
    free(p);
    weft_store_close(s);
}

/* The acceptance case in small: 1 MiB inserted in the middle costs at most 1 MiB plus the
 * chunks around the two edits (3 x 128 KiB). */
static void test_store_dedup_insert_in_middle(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 24 * MIB, ins = MIB;
    uint8_t *a = st_random(n, 2), *extra = st_random(ins, 99);
    uint8_t *b = malloc(n + ins);
    assert_non_null(b);
    memcpy(b, a, n / 2);
    memcpy(b + n / 2, extra, ins);
    memcpy(b + n / 2 + ins, a + n / 2, n / 2);
    weft_store_put_result ra, rb;
    st_put(s, a, n, &ra);
    weft_store_stats s1, s2;
    assert_int_equal(weft_store_get_stats(s, &s1), 0);
    st_put(s, b, n + ins, &rb);
    assert_int_equal(weft_store_get_stats(s, &s2), 0);
    uint64_t added = s2.unique_bytes - s1.unique_bytes;
    assert_int_equal(added, rb.new_bytes);
    assert_true(added >= ins);
    assert_true(added <= ins + 3 * WEFT_XET_CHUNK_MAX);
    st_check_file(s, &ra.file.xet_hash, a, n);
    st_check_file(s, &rb.file.xet_hash, b, n + ins);
    free(a);
    free(b);
    free(extra);
    weft_store_close(s);
}

static void test_store_dedup_shared_prefix_and_self(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, MIB);
    size_t n = 4 * MIB;
    uint8_t *p = st_random(n, 5);
    weft_store_put_result full, head, twice;
    st_put(s, p, n, &full);
    st_put(s, p, MIB, &head);
    /* All of the head's chunks but its last (cut short by the end of file) are old. */
    assert_true(head.new_chunks <= 1);
    assert_true(head.new_bytes <= WEFT_XET_CHUNK_MAX);
    st_check_file(s, &head.file.xet_hash, p, MIB);
    /* A file that is two copies of a fresh 2 MiB: the second copy dedups inside the upload. */
    uint8_t *q = malloc(4 * MIB);
    assert_non_null(q);
    tu_fill_random(q, 2 * MIB, 6);
    memcpy(q + 2 * MIB, q, 2 * MIB);
    st_put(s, q, 4 * MIB, &twice);
    assert_true(twice.dedup_bytes >= 2 * MIB - 2 * WEFT_XET_CHUNK_MAX);
    assert_true(twice.new_bytes <= 2 * MIB + 2 * WEFT_XET_CHUNK_MAX);
    st_check_file(s, &twice.file.xet_hash, q, 4 * MIB);
    st_check_file(s, &full.file.xet_hash, p, n);
    free(p);
    free(q);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_dedup_same_file, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_dedup_insert_in_middle, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_dedup_shared_prefix_and_self, st_setup,
                                        st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
