/* gc: dead xorbs go, live data stays bit-exact, sparse xorbs are rewritten, leftovers of
 * interrupted uploads are removed only after the grace window, and an upload racing a gc either
 * commits a correct file or fails cleanly; fsck is clean after every step. */
#include <sys/stat.h>

#include "unit/store/store_test.h"
#include "weft/chunker.h"

static void expect_clean(weft_store *s)
{
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(s, NULL, NULL, &r), 0);
    assert_int_equal(r.problems, 0);
}

static void test_store_gc_dead_and_live(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, 2 * MIB);
    uint8_t *a = st_random(6 * MIB, 1), *b = st_random(3 * MIB, 2);
    weft_store_put_result ra, rb;
    st_put(s, a, 6 * MIB, &ra);
    st_put(s, b, 3 * MIB, &rb);
    int objects = st_count_objects();
    assert_int_equal(objects, (int)(ra.new_xorbs + rb.new_xorbs));

    /* Within the grace window nothing goes, even what no file uses. */
    assert_int_equal(weft_store_remove(s, &ra.file.xet_hash), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 3600, &g), 0);
    assert_int_equal(g.xorbs_deleted + g.xorbs_rewritten + g.orphans_deleted, 0);
    assert_int_equal(st_count_objects(), objects);

    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(g.xorbs_deleted, ra.new_xorbs);
    assert_true(g.bytes_freed >= 6 * MIB);
    assert_int_equal(st_count_objects(), (int)rb.new_xorbs);
    st_check_file(s, &rb.file.xet_hash, b, 3 * MIB);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.unique_bytes, 3 * MIB);
    expect_clean(s);
    /* Nothing left to do. */
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(g.xorbs_deleted + g.xorbs_rewritten + g.orphans_deleted, 0);
    /* The removed file can be stored again. */
    st_put(s, a, 6 * MIB, &ra);
    st_check_file(s, &ra.file.xet_hash, a, 6 * MIB);
    expect_clean(s);
    free(a);
    free(b);
    weft_store_close(s);
}

/* A xorb a quarter of which is still used is rewritten down to that quarter. */
static void test_store_gc_rewrites_sparse(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t *a = st_random(8 * MIB, 3);
    weft_store_put_result ra, rh;
    st_put(s, a, 8 * MIB, &ra);
    assert_int_equal(ra.new_xorbs, 1);
    st_put(s, a, 2 * MIB, &rh); /* shares all but its last chunk with a */
    assert_int_equal(weft_store_remove(s, &ra.file.xet_hash), 0);
    weft_store_stats before, after;
    assert_int_equal(weft_store_get_stats(s, &before), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(g.xorbs_rewritten, 1);
    assert_int_equal(g.xorbs_deleted, 0);
    assert_int_equal(weft_store_get_stats(s, &after), 0);
    assert_true(after.physical_bytes < 3 * MIB);
    assert_true(after.unique_bytes <= 2 * MIB);
    assert_int_equal(after.n_xorbs, before.n_xorbs);
    assert_int_equal(st_count_objects(), (int)after.n_xorbs);
    st_check_file(s, &rh.file.xet_hash, a, 2 * MIB);
    expect_clean(s);
    /* The moved chunks still dedup. */
    weft_store_put_result again;
    st_put(s, a, MIB, &again);
    assert_true(again.new_bytes <= WEFT_XET_CHUNK_MAX);
    st_check_file(s, &again.file.xet_hash, a, MIB);
    free(a);
    weft_store_close(s);
}

/* Leftovers: xorbs of an aborted upload (rows, no file) and objects without rows. */
static void test_store_gc_leftovers(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, MIB);
    uint8_t *p = st_random(12 * MIB, 4);
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    assert_int_equal(weft_store_ingest_feed(in, p, 12 * MIB), 0);
    weft_store_ingest_abort(in);
    int left = st_count_objects();
    assert_true(left >= 2);
    /* An object no row names and a temp file from a killed put, both old. */
    assert_int_equal(st_sh("mkdir -p '%s/xorbs/ab' && head -c 1000 /dev/urandom > '%s/xorbs/ab/"
                           "ab00000000000000000000000000000000000000000000000000000000000000' "
                           "&& echo x > '%s/xorbs/ab/ab01.tmp.123.4' && touch -d '2 hours ago' "
                           "'%s'/xorbs/ab/*",
                           st_dir, st_dir, st_dir, st_dir),
                     0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s, 3600, &g), 0);
    assert_int_equal(g.orphans_deleted, 2);
    assert_int_equal(g.xorbs_deleted, 0);
    assert_int_equal(st_count_objects(), left);
    assert_int_equal(weft_store_gc(s, 0, &g), 0);
    assert_int_equal(g.xorbs_deleted, left);
    assert_int_equal(st_count_objects(), 0);
    expect_clean(s);
    free(p);
    weft_store_close(s);
}

/* An upload that deduplicated against a xorb gc then rewrote: its commit finds the chunks in
 * their new xorb. (Feeds longer than the ingest's 8 MiB slab, so the first slab is chunked and
 * looked up before the gc runs.) */
static void test_store_gc_upload_relocates(void **state)
{
    (void)state;
    weft_store *s = st_open(), *s2 = st_open();
    size_t n = 32 * MIB, head = 10 * MIB;
    uint8_t *a = st_random(n, 5), *q = malloc(head + MIB);
    assert_non_null(q);
    weft_store_put_result ra, rh, rq;
    st_put(s, a, n, &ra);
    assert_int_equal(ra.new_xorbs, 1);
    st_put(s, a, head, &rh);
    memcpy(q, a, head);
    tu_fill_random(q + head, MIB, 55);
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    assert_int_equal(weft_store_ingest_feed(in, q, head + MIB), 0);
    /* Meanwhile: a goes, and gc rewrites its xorb down to the head's chunks. */
    assert_int_equal(weft_store_remove(s2, &ra.file.xet_hash), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s2, 0, &g), 0);
    assert_int_equal(g.xorbs_rewritten, 1);
    assert_int_equal(weft_store_ingest_finish(in, &rq), 0);
    assert_true(rq.dedup_bytes >= 8 * MIB);
    st_check_file(s, &rq.file.xet_hash, q, head + MIB);
    st_check_file(s, &rh.file.xet_hash, a, head);
    expect_clean(s);
    free(a);
    free(q);
    weft_store_close(s2);
    weft_store_close(s);
}

/* An upload that deduplicated against a xorb gc then deleted fails with WEFT_ECONFLICT and
 * leaves no file behind; putting it again works. */
static void test_store_gc_upload_conflict(void **state)
{
    (void)state;
    weft_store *s = st_open(), *s2 = st_open();
    size_t n = 20 * MIB;
    uint8_t *a = st_random(n, 6);
    weft_store_put_result ra, rq;
    st_put(s, a, n, &ra);
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    assert_int_equal(weft_store_ingest_feed(in, a, 12 * MIB), 0);
    assert_int_equal(weft_store_remove(s2, &ra.file.xet_hash), 0);
    weft_store_gc_result g;
    assert_int_equal(weft_store_gc(s2, 0, &g), 0);
    assert_int_equal(g.xorbs_deleted, 1);
    assert_int_equal(weft_store_ingest_finish(in, &rq), WEFT_ECONFLICT);
    assert_non_null(strstr(weft_err_last(), "put the file again"));
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 0);
    expect_clean(s);
    st_put(s, a, 12 * MIB, &rq);
    st_check_file(s, &rq.file.xet_hash, a, 12 * MIB);
    free(a);
    weft_store_close(s2);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_gc_dead_and_live, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_gc_rewrites_sparse, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_gc_leftovers, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_gc_upload_relocates, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_gc_upload_conflict, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
