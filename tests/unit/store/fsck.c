/* fsck: a clean store is clean; a flipped byte in chunk data or in a footer, a missing object
 * and index rows that disagree with the data are each reported, naming the xorb and exactly the
 * files that depend on it; leftovers are counted but are not damage. Reads of a damaged file
 * fail with WEFT_ECORRUPT naming the xorb, without passing on a byte of the bad chunk. */
#include <sqlite3.h>
#include <sys/stat.h>

#include "unit/store/store_test.h"

typedef struct seen {
    int n;
    char xorb[8][65];
    char reason[8][600];
    size_t n_files[8];
    weft_hash files[8][4];
} seen;

static void on_problem(const weft_store_fsck_problem *p, void *payload)
{
    seen *s = payload;
    if (s->n >= 8)
        return;
    snprintf(s->xorb[s->n], sizeof s->xorb[0], "%s", p->xorb_hex);
    snprintf(s->reason[s->n], sizeof s->reason[0], "%s", p->reason);
    s->n_files[s->n] = p->n_files;
    for (size_t i = 0; i < p->n_files && i < 4; i++)
        s->files[s->n][i] = p->files[i].xet_hash;
    s->n++;
}

static int has_file(const seen *s, int k, const weft_hash *f)
{
    for (size_t i = 0; i < s->n_files[k] && i < 4; i++)
        if (weft_hash_eq(&s->files[k][i], f))
            return 1;
    return 0;
}

/* Three files: a and b share a's xorb (b is a's first MiB), c has its own. */
typedef struct fixture {
    weft_store *s;
    uint8_t *a, *c;
    weft_store_put_result ra, rb, rc;
    char a_xorb[WEFT_HASH_HEX_LEN + 1], path[256];
} fixture;

static void fixture_make(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->s = st_open();
    fx->a = st_random(3 * MIB, 1);
    fx->c = st_random(2 * MIB, 2);
    st_put(fx->s, fx->a, 3 * MIB, &fx->ra);
    st_put(fx->s, fx->a, MIB, &fx->rb);
    st_put(fx->s, fx->c, 2 * MIB, &fx->rc);
    /* a's xorb: the only object holding more than 2.5 MiB. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find '%s/xorbs' -type f -size +2500k", st_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(fx->path, sizeof fx->path, p));
    pclose(p);
    fx->path[strcspn(fx->path, "\n")] = '\0';
    snprintf(fx->a_xorb, sizeof fx->a_xorb, "%s", strrchr(fx->path, '/') + 1);
}

static void fixture_free(fixture *fx)
{
    free(fx->a);
    free(fx->c);
    weft_store_close(fx->s);
}

static void test_store_fsck_clean(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    seen sn = {0};
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 0);
    assert_int_equal(sn.n, 0);
    assert_int_equal(r.files_checked, 3);
    assert_int_equal(r.xorbs_checked, 3); /* a, c, and b's last chunk (cut short by its end) */
    assert_int_equal(r.orphans, 0);
    assert_true(r.bytes_checked > 4 * MIB);
    fixture_free(&fx);
}

static void test_store_fsck_flipped_chunk_byte(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    long off = 2 * MIB + 100; /* inside a chunk of a that b does not use */
    st_flip_byte(fx.path, off);
    seen sn = {0};
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 1);
    assert_int_equal(r.files_affected, 2);
    assert_string_equal(sn.xorb[0], fx.a_xorb);
    assert_true(has_file(&sn, 0, &fx.ra.file.xet_hash));
    assert_true(has_file(&sn, 0, &fx.rb.file.xet_hash));
    assert_false(has_file(&sn, 0, &fx.rc.file.xet_hash));

    /* Reading a stops at the damaged chunk, having passed on only good bytes before it. */
    st_sink k = {.p = malloc(3 * MIB), .cap = 3 * MIB};
    assert_int_equal(
        weft_store_read(fx.s, &fx.ra.file.xet_hash, 0, UINT64_MAX, 0, st_sink_write, &k),
        WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), fx.a_xorb));
    assert_non_null(strstr(weft_err_last(), "is damaged"));
    assert_true(k.n < (size_t)off - 8);
    assert_memory_equal(k.p, fx.a, k.n);
    /* Without verification the flipped byte would come through: the footer check alone does not
     * catch data damage, which is why verification is the default. */
    k.n = 0;
    assert_int_equal(weft_store_read(fx.s, &fx.ra.file.xet_hash, 0, UINT64_MAX,
                                     WEFT_STORE_READ_NO_VERIFY, st_sink_write, &k),
                     0);
    assert_memory_not_equal(k.p, fx.a, 3 * MIB);
    /* b and c do not touch the damage. */
    st_check_file(fx.s, &fx.rb.file.xet_hash, fx.a, MIB);
    st_check_file(fx.s, &fx.rc.file.xet_hash, fx.c, 2 * MIB);
    free(k.p);
    fixture_free(&fx);
}

static void test_store_fsck_flipped_footer_byte(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    struct stat st;
    assert_int_equal(stat(fx.path, &st), 0);
    st_flip_byte(fx.path, (long)st.st_size - 200); /* a boundary entry in the footer */
    seen sn = {0};
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 1);
    assert_string_equal(sn.xorb[0], fx.a_xorb);
    st_sink k = {.p = malloc(3 * MIB), .cap = 3 * MIB};
    assert_int_equal(
        weft_store_read(fx.s, &fx.ra.file.xet_hash, 0, UINT64_MAX, 0, st_sink_write, &k),
        WEFT_ECORRUPT);
    assert_memory_equal(k.p, fx.a, k.n);
    free(k.p);
    fixture_free(&fx);
}

static void test_store_fsck_missing_object(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(unlink(fx.path), 0);
    seen sn = {0};
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 1);
    assert_int_equal(r.files_affected, 2);
    assert_non_null(strstr(sn.reason[0], "missing"));
    st_sink k = {.p = malloc(16), .cap = 16};
    assert_int_equal(weft_store_read(fx.s, &fx.rb.file.xet_hash, 0, 1, 0, st_sink_write, &k),
                     WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), fx.a_xorb));
    free(k.p);
    fixture_free(&fx);
}

static void exec_sql(const char *sql)
{
    char path[128];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/index.db", st_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_store_fsck_index_disagrees(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    /* c's term claims one byte more than its xorb holds. */
    exec_sql("UPDATE terms SET raw_bytes = raw_bytes + 1 WHERE file = (SELECT xet_hash FROM files "
             "WHERE size = 2097152)");
    seen sn = {0};
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 1);
    assert_int_equal(r.files_affected, 1);
    assert_true(has_file(&sn, 0, &fx.rc.file.xet_hash));
    /* A chunk row pointing at the wrong index. */
    exec_sql("UPDATE terms SET raw_bytes = raw_bytes - 1 WHERE file = (SELECT xet_hash FROM files "
             "WHERE size = 2097152)");
    exec_sql("UPDATE chunks SET idx = idx + 1 WHERE hash = (SELECT hash FROM chunks LIMIT 1)");
    memset(&sn, 0, sizeof sn);
    assert_int_equal(weft_store_fsck(fx.s, on_problem, &sn, &r), 0);
    assert_int_equal(r.problems, 1);
    assert_non_null(strstr(sn.reason[0], "places a chunk"));
    fixture_free(&fx);
}

static void test_store_fsck_orphans_are_not_damage(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(
        st_sh("mkdir -p '%s/xorbs/cd' && echo x > '%s/xorbs/cd/cd00.tmp.1.2'", st_dir, st_dir), 0);
    weft_store_fsck_result r;
    assert_int_equal(weft_store_fsck(fx.s, NULL, NULL, &r), 0);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.orphans, 1);
    fixture_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_fsck_clean, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_fsck_flipped_chunk_byte, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_fsck_flipped_footer_byte, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_fsck_missing_object, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_fsck_index_disagrees, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_fsck_orphans_are_not_damage, st_setup,
                                        st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
