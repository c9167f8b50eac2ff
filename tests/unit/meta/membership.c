/* Org membership: the owner is the first admin member, adding is idempotent and sets the role,
 * removing, membership checks, a user's orgs and an org's members. */
#include "unit/meta/meta_test.h"

typedef struct members {
    char names[8][WEFT_NAME_MAX + 1];
    int admin[8];
    int n;
} members;

static int collect_member(const char *user, int role_admin, void *payload)
{
    members *c = payload;
    snprintf(c->names[c->n], sizeof c->names[c->n], "%s", user);
    c->admin[c->n++] = role_admin;
    return 0;
}

static int collect_org(const char *org, void *payload)
{
    members *c = payload;
    snprintf(c->names[c->n++], sizeof c->names[0], "%s", org);
    return 0;
}

static members org_members(weft_meta *m, const char *org)
{
    members c = {0};
    assert_int_equal(weft_meta_org_members(m, org, collect_member, &c), 0);
    return c;
}

static void test_meta_membership_add_remove(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    mt_user(m, "carol");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    members c = org_members(m, "acme");
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "alice");
    assert_true(c.admin[0]);
    assert_int_equal(weft_meta_is_member(m, "acme", "alice"), 1);
    assert_int_equal(weft_meta_is_member(m, "acme", "bob"), 0);

    assert_int_equal(weft_meta_org_add_member(m, "acme", "bob", 0), 0);
    assert_int_equal(weft_meta_is_member(m, "acme", "bob"), 1);
    /* Idempotent; adding again sets the role. */
    assert_int_equal(weft_meta_org_add_member(m, "acme", "bob", 0), 0);
    c = org_members(m, "acme");
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[1], "bob");
    assert_false(c.admin[1]);
    assert_int_equal(weft_meta_org_add_member(m, "acme", "bob", 1), 0);
    c = org_members(m, "acme");
    assert_int_equal(c.n, 2);
    assert_true(c.admin[1]);

    assert_int_equal(weft_meta_org_remove_member(m, "acme", "bob"), 0);
    assert_int_equal(weft_meta_is_member(m, "acme", "bob"), 0);
    assert_int_equal(weft_meta_org_remove_member(m, "acme", "bob"), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "not a member"));
    assert_int_equal(weft_meta_org_remove_member(m, "acme", "carol"), WEFT_ENOTFOUND);
    c = org_members(m, "acme");
    assert_int_equal(c.n, 1);
    weft_meta_close(m);
}

static void test_meta_membership_wrong_kinds(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    assert_int_equal(weft_meta_org_create(m, "other", "alice", NULL), 0);
    /* A user is not an org; an org cannot be a member; unknown names. */
    assert_int_equal(weft_meta_org_add_member(m, "bob", "alice", 0), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "not an org"));
    assert_int_equal(weft_meta_org_add_member(m, "acme", "other", 0), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "not a user"));
    assert_int_equal(weft_meta_org_add_member(m, "nope", "bob", 0), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_org_add_member(m, "acme", "nope", 0), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_org_remove_member(m, "nope", "bob"), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_is_member(m, "nope", "bob"), 0);
    assert_int_equal(weft_meta_is_member(m, "acme", "nope"), 0);
    assert_int_equal(weft_meta_is_member(m, "alice", "alice"), 0);
    members c = {0};
    assert_int_equal(weft_meta_org_members(m, "alice", collect_member, &c), WEFT_ENOTFOUND);
    assert_int_equal(c.n, 0);
    weft_meta_close(m);
}

static void test_meta_membership_user_orgs(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    assert_int_equal(weft_meta_org_create(m, "zeta", "alice", NULL), 0);
    assert_int_equal(weft_meta_org_create(m, "acme", "bob", NULL), 0);
    assert_int_equal(weft_meta_org_create(m, "mid", "bob", NULL), 0);
    assert_int_equal(weft_meta_org_add_member(m, "zeta", "bob", 0), 0);
    members c = {0};
    assert_int_equal(weft_meta_user_orgs(m, "bob", collect_org, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "acme");
    assert_string_equal(c.names[1], "mid");
    assert_string_equal(c.names[2], "zeta");
    members a = {0};
    assert_int_equal(weft_meta_user_orgs(m, "alice", collect_org, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.names[0], "zeta");
    members none = {0};
    assert_int_equal(weft_meta_user_orgs(m, "nobody", collect_org, &none), 0);
    assert_int_equal(none.n, 0);
    weft_meta_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_membership_add_remove, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_membership_wrong_kinds, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_membership_user_orgs, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
