/* The repo registry: create, get, list, move, delete, visibility, commits (touch), the key
 * (type, ns, name) and its rules, the random uid; and the names of repo types and roles. */
#include <time.h>

#include "unit/meta/meta_test.h"
#include "weft/sha256.h"

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static weft_meta *open_with_accounts(void)
{
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    return m;
}

static void test_meta_repos_create_get(void **state)
{
    (void)state;
    weft_meta *m = open_with_accounts();
    weft_repo_rec a, b, got;
    int64_t before = now_ms();
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "bert", 0, &a), 0);
    int64_t after = now_ms();
    assert_int_equal(a.type, WEFT_REPO_MODEL);
    assert_string_equal(a.ns, "alice");
    assert_string_equal(a.name, "bert");
    assert_true(weft_hex_is_lower(a.uid, 24));
    assert_false(a.is_private);
    assert_true(a.created >= before && a.created <= after);
    assert_int_equal(a.modified, a.created);
    assert_null(a.card_json);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "acme", "gpt", 1, &b), 0);
    assert_true(weft_hex_is_lower(b.uid, 24));
    assert_string_not_equal(a.uid, b.uid);
    assert_true(b.is_private);

    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", &got), 0);
    assert_int_equal(got.id, a.id);
    assert_string_equal(got.uid, a.uid);
    assert_int_equal(got.created, a.created);
    assert_int_equal(got.modified, a.modified);
    assert_false(got.is_private);
    assert_null(got.card_json);
    weft_repo_rec_dispose(&got);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "acme", "gpt", NULL), 0);
    /* The key is (type, ns, name), case-sensitive. */
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_DATASET, "alice", "bert", &got),
                     WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "alice/bert"));
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "Bert", NULL), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "bob", "bert", NULL), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_DATASET, "alice", "bert", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_SPACE, "alice", "bert", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "Bert", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "bert", 1, NULL),
                     WEFT_EEXISTS);
    assert_non_null(strstr(weft_err_last(), "alice/bert"));
    /* The failed create changed nothing. */
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", &got), 0);
    assert_false(got.is_private);
    assert_string_equal(got.uid, a.uid);
    weft_repo_rec_dispose(&got);
    weft_meta_close(m);
}

static void test_meta_repos_create_errors(void **state)
{
    (void)state;
    weft_meta *m = open_with_accounts();
    char too_long[WEFT_NAME_MAX + 2];
    memset(too_long, 'r', sizeof too_long - 1);
    too_long[WEFT_NAME_MAX + 1] = '\0';
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "nobody", "x", 0, NULL),
                     WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "nobody"));
    const char *bad[] = {"a/b", "..", "--", "-x", "x.", "", "a b", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", bad[i], 0, NULL),
                         WEFT_EINVALID);
    assert_int_equal(weft_meta_repo_create(m, (weft_repo_type)3, "alice", "x", 0, NULL),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, NULL, "x", 0, NULL), WEFT_EINVALID);
    too_long[WEFT_NAME_MAX] = '\0';
    weft_repo_rec r;
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", too_long, 0, &r), 0);
    assert_string_equal(r.name, too_long);
    weft_meta_close(m);
}

static void test_meta_repos_uids_differ(void **state)
{
    (void)state;
    weft_meta *m = open_with_accounts();
    enum { N = 64 };
    static char uids[N][25];
    for (int i = 0; i < N; i++) {
        char name[16];
        weft_repo_rec r;
        snprintf(name, sizeof name, "r%d", i);
        assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "bob", name, 0, &r), 0);
        assert_true(weft_hex_is_lower(r.uid, 24));
        memcpy(uids[i], r.uid, 25);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(uids[i], uids[j]);
    }
    weft_meta_close(m);
}

typedef struct listed {
    char names[16][2 * WEFT_NAME_MAX + 2];
    int n, stop_after;
} listed;

static int collect_repo(const weft_repo_rec *r, void *payload)
{
    listed *l = payload;
    if (l->stop_after && l->n == l->stop_after)
        return WEFT_ELIMIT;
    snprintf(l->names[l->n++], sizeof l->names[0], "%s/%s", r->ns, r->name);
    return 0;
}

static void test_meta_repos_touch_and_list(void **state)
{
    (void)state;
    weft_meta *m = open_with_accounts();
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "one", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "acme", "two", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "three", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_DATASET, "alice", "data", 0, NULL), 0);
    int64_t t = now_ms() + 10000;
    /* Commits: "one" newest, then "two"; "three" untouched. */
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "acme", "two", t,
                                          "{\"tags\":[\"a\"],\"pipeline_tag\":\"fill-mask\"}"),
                     0);
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "alice", "one", t + 5, NULL), 0);
    weft_repo_rec r;
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "acme", "two", &r), 0);
    assert_int_equal(r.modified, t);
    assert_true(r.created < t);
    assert_string_equal(r.card_json, "{\"tags\":[\"a\"],\"pipeline_tag\":\"fill-mask\"}");
    weft_repo_rec_dispose(&r);
    assert_null(r.card_json);
    /* NULL keeps the card fields. */
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "acme", "two", t + 1, NULL), 0);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "acme", "two", &r), 0);
    assert_int_equal(r.modified, t + 1);
    assert_non_null(r.card_json);
    assert_non_null(strstr(r.card_json, "fill-mask"));
    weft_repo_rec_dispose(&r);
    /* Card fields must be a JSON object. */
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "acme", "two", t, "[1]"),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "acme", "two", t, "{bad"),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_repo_touch(m, WEFT_REPO_MODEL, "acme", "nope", t, NULL),
                     WEFT_ENOTFOUND);

    listed all = {0};
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_MODEL, NULL, collect_repo, &all), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[0], "alice/one");
    assert_string_equal(all.names[1], "acme/two");
    assert_string_equal(all.names[2], "alice/three");
    listed alice = {0};
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_MODEL, "alice", collect_repo, &alice), 0);
    assert_int_equal(alice.n, 2);
    assert_string_equal(alice.names[0], "alice/one");
    listed data = {0};
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_DATASET, NULL, collect_repo, &data), 0);
    assert_int_equal(data.n, 1);
    assert_string_equal(data.names[0], "alice/data");
    listed none = {0};
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_SPACE, NULL, collect_repo, &none), 0);
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_MODEL, "bob", collect_repo, &none), 0);
    assert_int_equal(none.n, 0);
    listed stop = {.stop_after = 1};
    assert_int_equal(weft_meta_repo_list(m, WEFT_REPO_MODEL, NULL, collect_repo, &stop),
                     WEFT_ELIMIT);
    weft_meta_close(m);
}

static void test_meta_repos_move_delete_private(void **state)
{
    (void)state;
    weft_meta *m = open_with_accounts();
    weft_repo_rec a, got;
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "alice", "bert", 0, &a), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "acme", "taken", 0, NULL), 0);
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_DATASET, "acme", "bert2", 0, NULL), 0);

    assert_int_equal(weft_meta_repo_set_private(m, WEFT_REPO_MODEL, "alice", "bert", 1), 0);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", &got), 0);
    assert_true(got.is_private);
    assert_int_equal(weft_meta_repo_set_private(m, WEFT_REPO_MODEL, "alice", "bert", 0), 0);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", &got), 0);
    assert_false(got.is_private);
    assert_int_equal(weft_meta_repo_set_private(m, WEFT_REPO_MODEL, "alice", "nope", 1),
                     WEFT_ENOTFOUND);

    /* Moves: to a taken name, an unknown namespace, a bad name, from nothing. */
    assert_int_equal(weft_meta_repo_move(m, WEFT_REPO_MODEL, "alice", "bert", "acme", "taken"),
                     WEFT_EEXISTS);
    assert_int_equal(weft_meta_repo_move(m, WEFT_REPO_MODEL, "alice", "bert", "nobody", "bert"),
                     WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "nobody"));
    assert_int_equal(weft_meta_repo_move(m, WEFT_REPO_MODEL, "alice", "bert", "acme", "a/b"),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_repo_move(m, WEFT_REPO_MODEL, "alice", "nope", "acme", "x"),
                     WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", NULL), 0);
    /* The dataset acme/bert2 does not block a model of that name. */
    assert_int_equal(weft_meta_repo_move(m, WEFT_REPO_MODEL, "alice", "bert", "acme", "bert2"), 0);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "alice", "bert", NULL), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "acme", "bert2", &got), 0);
    assert_int_equal(got.id, a.id);
    assert_string_equal(got.uid, a.uid);
    assert_int_equal(got.created, a.created);
    weft_repo_rec_dispose(&got);

    assert_int_equal(weft_meta_repo_delete(m, WEFT_REPO_MODEL, "acme", "bert2"), 0);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_MODEL, "acme", "bert2", NULL), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_delete(m, WEFT_REPO_MODEL, "acme", "bert2"), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_repo_get(m, WEFT_REPO_DATASET, "acme", "bert2", NULL), 0);
    /* A deleted name can be created again, with a new uid. */
    weft_repo_rec again;
    assert_int_equal(weft_meta_repo_create(m, WEFT_REPO_MODEL, "acme", "bert2", 0, &again), 0);
    assert_string_not_equal(again.uid, a.uid);
    weft_meta_close(m);
}

static void test_meta_repos_type_and_role_names(void **state)
{
    (void)state;
    weft_repo_type t;
    const char *forms[][2] = {{"model", "models"}, {"dataset", "datasets"}, {"space", "spaces"}};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(weft_repo_type_name((weft_repo_type)i), forms[i][0]);
        assert_string_equal(weft_repo_type_plural((weft_repo_type)i), forms[i][1]);
        t = (weft_repo_type)-1;
        assert_int_equal(weft_repo_type_parse(forms[i][0], &t), 0);
        assert_int_equal(t, i);
        t = (weft_repo_type)-1;
        assert_int_equal(weft_repo_type_parse(forms[i][1], &t), 0);
        assert_int_equal(t, i);
    }
    assert_int_equal(weft_repo_type_parse("Model", &t), WEFT_EINVALID);
    assert_int_equal(weft_repo_type_parse("", &t), WEFT_EINVALID);
    assert_int_equal(weft_repo_type_parse(NULL, &t), WEFT_EINVALID);
    weft_role r;
    assert_int_equal(weft_role_parse("read", &r), 0);
    assert_int_equal(r, WEFT_ROLE_READ);
    assert_int_equal(weft_role_parse("write", &r), 0);
    assert_int_equal(r, WEFT_ROLE_WRITE);
    assert_int_equal(weft_role_parse("admin", &r), 0);
    assert_int_equal(r, WEFT_ROLE_ADMIN);
    assert_string_equal(weft_role_name(WEFT_ROLE_WRITE), "write");
    assert_int_equal(weft_role_parse("owner", &r), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "owner"));
    assert_int_equal(weft_role_parse("", &r), WEFT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_repos_create_get, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_repos_create_errors, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_repos_uids_differ, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_repos_touch_and_list, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_repos_move_delete_private, mt_setup, mt_teardown),
        cmocka_unit_test(test_meta_repos_type_and_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
