/* Server secrets: 32 random bytes made on first use, the same ever after (across handles and
 * reopening), different for each name. */
#include "unit/meta/meta_test.h"

static void test_meta_secrets_stable(void **state)
{
    (void)state;
    uint8_t a1[32], a2[32], a3[32], b[32], zero[32] = {0};
    weft_meta *m = mt_open();
    assert_int_equal(weft_meta_secret(m, "upload-url", a1), 0);
    assert_memory_not_equal(a1, zero, 32);
    assert_int_equal(weft_meta_secret(m, "upload-url", a2), 0);
    assert_memory_equal(a1, a2, 32);
    assert_int_equal(weft_meta_secret(m, "xet-token", b), 0);
    assert_memory_not_equal(a1, b, 32);
    /* A second handle, then a reopen, see the same keys. */
    weft_meta *m2 = mt_open();
    assert_int_equal(weft_meta_secret(m2, "upload-url", a3), 0);
    assert_memory_equal(a1, a3, 32);
    weft_meta_close(m2);
    weft_meta_close(m);
    m = mt_open();
    assert_int_equal(weft_meta_secret(m, "upload-url", a3), 0);
    assert_memory_equal(a1, a3, 32);
    assert_int_equal(weft_meta_secret(m, "xet-token", a3), 0);
    assert_memory_equal(b, a3, 32);
    weft_meta_close(m);
}

static void test_meta_secrets_fresh_per_database(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    weft_meta *m = mt_open();
    assert_int_equal(weft_meta_secret(m, "k", a), 0);
    weft_meta_close(m);
    /* A new database gets a new key: it comes from the random source, not from the name. */
    assert_int_equal(mt_teardown(NULL), 0);
    assert_int_equal(mt_setup(NULL), 0);
    m = mt_open();
    assert_int_equal(weft_meta_secret(m, "k", b), 0);
    assert_memory_not_equal(a, b, 32);
    weft_meta_close(m);
}

static void test_meta_secrets_bad_name(void **state)
{
    (void)state;
    uint8_t k[32];
    char long_name[WEFT_NAME_MAX + 2];
    memset(long_name, 'k', sizeof long_name - 1);
    long_name[WEFT_NAME_MAX + 1] = '\0';
    weft_meta *m = mt_open();
    assert_int_equal(weft_meta_secret(m, "", k), WEFT_EINVALID);
    assert_int_equal(weft_meta_secret(m, NULL, k), WEFT_EINVALID);
    assert_int_equal(weft_meta_secret(m, long_name, k), WEFT_EINVALID);
    weft_meta_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_secrets_stable, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_secrets_fresh_per_database, mt_setup,
                                        mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_secrets_bad_name, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
