/* Accounts: creating users and orgs, one namespace for both (names taken in any letter case),
 * the naming rules, lookups and the listing. */
#include <time.h>

#include "unit/meta/meta_test.h"

static void test_meta_accounts_create_and_get(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    weft_account a, b, got;
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(weft_meta_user_create(m, "alice", 0, &a), 0);
    assert_int_equal(weft_meta_user_create(m, "bob", 1, &b), 0);
    assert_string_equal(a.name, "alice");
    assert_false(a.is_org);
    assert_false(a.is_admin);
    assert_true(b.is_admin);
    assert_true(a.id != b.id);
    assert_true(a.created >= before && a.created <= (int64_t)time(NULL));
    assert_int_equal(weft_meta_account_get(m, "bob", &got), 0);
    assert_int_equal(got.id, b.id);
    assert_string_equal(got.name, "bob");
    assert_true(got.is_admin);
    assert_false(got.is_org);
    assert_int_equal(got.created, b.created);
    assert_int_equal(weft_meta_account_get(m, "alice", NULL), 0);
    assert_int_equal(weft_meta_account_get(m, "carol", &got), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "carol"));
    /* Lookups are exact. */
    assert_int_equal(weft_meta_account_get(m, "Alice", NULL), WEFT_ENOTFOUND);
    weft_account org;
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", &org), 0);
    assert_true(org.is_org);
    assert_false(org.is_admin);
    assert_int_equal(weft_meta_account_get(m, "acme", &got), 0);
    assert_true(got.is_org);
    weft_meta_close(m);
    /* Durable: another handle sees them. */
    m = mt_open();
    assert_int_equal(weft_meta_account_get(m, "alice", &got), 0);
    assert_int_equal(got.id, a.id);
    weft_meta_close(m);
}

static void test_meta_accounts_duplicates(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    assert_int_equal(weft_meta_user_create(m, "alice", 0, NULL), WEFT_EEXISTS);
    assert_non_null(strstr(weft_err_last(), "alice"));
    /* Users and orgs share the names, in every letter case. */
    assert_int_equal(weft_meta_org_create(m, "alice", "alice", NULL), WEFT_EEXISTS);
    assert_int_equal(weft_meta_user_create(m, "acme", 0, NULL), WEFT_EEXISTS);
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), WEFT_EEXISTS);
    assert_int_equal(weft_meta_user_create(m, "ALICE", 0, NULL), WEFT_EEXISTS);
    assert_non_null(strstr(weft_err_last(), "'alice'"));
    assert_int_equal(weft_meta_org_create(m, "Acme", "alice", NULL), WEFT_EEXISTS);
    assert_int_equal(weft_meta_account_get(m, "ALICE", NULL), WEFT_ENOTFOUND);
    weft_meta_close(m);
}

static void test_meta_accounts_names(void **state)
{
    (void)state;
    char long_ok[WEFT_NAME_MAX + 1], too_long[WEFT_NAME_MAX + 2];
    memset(long_ok, 'a', WEFT_NAME_MAX);
    long_ok[WEFT_NAME_MAX] = '\0';
    memset(too_long, 'b', WEFT_NAME_MAX + 1);
    too_long[WEFT_NAME_MAX + 1] = '\0';
    const char *bad[] = {"",     "--",   "..",  "-a",   "a-",    ".a",          "a.",
                         "a--b", "a..b", "a/b", "a b",  "a\n",   "caf\xc3\xa9", "a:b",
                         "a@b",  "-",    ".",   "a\\b", too_long};
    const char *good[] = {"a", "0", "A.b_c-d", "_x_", "Qwen2.5-7B", "a-b.c_d", long_ok};
    weft_meta *m = mt_open();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(weft_meta_name_valid(bad[i]));
        assert_int_equal(weft_meta_user_create(m, bad[i], 0, NULL), WEFT_EINVALID);
        assert_non_null(strstr(weft_err_last(), "invalid user name"));
        /* One line, whatever the input. */
        assert_null(strchr(weft_err_last(), '\n'));
        assert_int_equal(weft_meta_org_create(m, bad[i], "nobody", NULL), WEFT_EINVALID);
    }
    assert_false(weft_meta_name_valid(NULL));
    assert_int_equal(weft_meta_user_create(m, NULL, 0, NULL), WEFT_EINVALID);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(weft_meta_name_valid(good[i]));
        mt_user(m, good[i]);
    }
    weft_account a;
    assert_int_equal(weft_meta_account_get(m, long_ok, &a), 0);
    assert_int_equal(strlen(a.name), WEFT_NAME_MAX);
    /* Nothing of the bad ones was stored. */
    assert_int_equal(weft_meta_account_get(m, "--", NULL), WEFT_ENOTFOUND);
    weft_meta_close(m);
}

static void test_meta_accounts_org_owner(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    assert_int_equal(weft_meta_org_create(m, "acme", "nobody", NULL), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "nobody"));
    /* The failed create left nothing behind. */
    assert_int_equal(weft_meta_account_get(m, "acme", NULL), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    /* An org cannot own an org. */
    assert_int_equal(weft_meta_org_create(m, "sub", "acme", NULL), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "org"));
    assert_int_equal(weft_meta_account_get(m, "sub", NULL), WEFT_ENOTFOUND);
    weft_meta_close(m);
}

typedef struct collect {
    char names[16][WEFT_NAME_MAX + 1];
    int is_org[16];
    int n, stop_after;
} collect;

static int collect_account(const weft_account *a, void *payload)
{
    collect *c = payload;
    if (c->stop_after && c->n == c->stop_after)
        return WEFT_ELIMIT;
    snprintf(c->names[c->n], sizeof c->names[c->n], "%s", a->name);
    c->is_org[c->n++] = a->is_org;
    return 0;
}

static void test_meta_accounts_list(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    collect c = {0};
    assert_int_equal(weft_meta_account_list(m, collect_account, &c), 0);
    assert_int_equal(c.n, 0);
    mt_user(m, "zed");
    mt_user(m, "bob");
    assert_int_equal(weft_meta_org_create(m, "middle", "zed", NULL), 0);
    mt_user(m, "alice");
    assert_int_equal(weft_meta_account_list(m, collect_account, &c), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.names[0], "alice");
    assert_string_equal(c.names[1], "bob");
    assert_string_equal(c.names[2], "middle");
    assert_true(c.is_org[2]);
    assert_false(c.is_org[3]);
    assert_string_equal(c.names[3], "zed");
    /* A callback's error stops the walk and comes back. */
    collect stop = {.stop_after = 2};
    assert_int_equal(weft_meta_account_list(m, collect_account, &stop), WEFT_ELIMIT);
    assert_int_equal(stop.n, 2);
    weft_meta_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_accounts_create_and_get, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_accounts_duplicates, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_accounts_names, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_accounts_org_owner, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_accounts_list, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
