/* History: log order (newest first), skip, limit and total; a callback stopping the walk; one
 * commit's fields; the last commit that changed each path (files, directories, the root, paths
 * that are absent, paths deleted and added again). */
#include "unit/repo/repo_test.h"

typedef struct seen {
    size_t n;
    weft_oid id[64];
    char title[64][32];
} seen;

static int collect(const weft_repo_commit *c, void *payload)
{
    seen *s = payload;
    assert_true(s->n < 64);
    s->id[s->n] = c->id;
    snprintf(s->title[s->n], sizeof s->title[s->n], "%s", c->title);
    s->n++;
    return 0;
}

static int stop(const weft_repo_commit *c, void *payload)
{
    (void)c;
    (*(int *)payload)++;
    return -7;
}

static void commit_titled(weft_repo *r, const char *title, const weft_repo_op *ops, size_t n,
                          int64_t t, weft_oid *out)
{
    weft_repo_commit_req req = {.ref = "refs/heads/main",
                                .ops = ops,
                                .n_ops = n,
                                .author = "erin",
                                .email = "e@x",
                                .summary = title,
                                .time = t};
    assert_int_equal(weft_repo_commit_create(r, &req, out), 0);
}

static void test_repo_history_log(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid ids[6];
    ids[0] = rt_resolve(r, "main");
    for (int i = 1; i < 6; i++) {
        char title[16], path[16];
        snprintf(title, sizeof title, "c%d", i);
        snprintf(path, sizeof path, "f%d", i);
        weft_repo_op op = rt_file(path, title);
        commit_titled(r, title, &op, 1, RT_T0 + 100 * i, &ids[i]);
    }
    seen s = {0};
    size_t total = 0;
    assert_int_equal(weft_repo_log(r, &ids[5], 0, 0, collect, &s, &total), 0);
    assert_int_equal(total, 6);
    assert_int_equal(s.n, 6);
    for (int i = 0; i < 6; i++)
        assert_true(rt_oid_eq(&s.id[i], &ids[5 - i]));
    assert_string_equal(s.title[0], "c5");
    assert_string_equal(s.title[5], "initial commit");

    memset(&s, 0, sizeof s);
    assert_int_equal(weft_repo_log(r, &ids[5], 1, 2, collect, &s, &total), 0);
    assert_int_equal(total, 6);
    assert_int_equal(s.n, 2);
    assert_true(rt_oid_eq(&s.id[0], &ids[4]));
    assert_true(rt_oid_eq(&s.id[1], &ids[3]));

    memset(&s, 0, sizeof s);
    assert_int_equal(weft_repo_log(r, &ids[5], 4, 10, collect, &s, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_true(rt_oid_eq(&s.id[1], &ids[0]));
    memset(&s, 0, sizeof s);
    assert_int_equal(weft_repo_log(r, &ids[5], 6, 0, collect, &s, &total), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(total, 6);
    /* From an older commit: only its ancestors. */
    memset(&s, 0, sizeof s);
    assert_int_equal(weft_repo_log(r, &ids[2], 0, 0, collect, &s, &total), 0);
    assert_int_equal(total, 3);

    int calls = 0;
    assert_int_equal(weft_repo_log(r, &ids[5], 0, 0, stop, &calls, &total), -7);
    assert_int_equal(calls, 1);
    weft_oid bogus;
    memset(&bogus, 0x5a, sizeof bogus);
    assert_int_equal(weft_repo_log(r, &bogus, 0, 0, collect, &s, &total), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_commit_get(r, &bogus, collect, &s), WEFT_ENOTFOUND);
    weft_repo_close(r);
}

static void test_repo_history_last_commits(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main"), c1, c2, c3, c4, c5, c6;
    weft_repo_op o1[] = {rt_file("a.txt", "1"), rt_file("b/c.txt", "1"), rt_file("b/d.txt", "1"),
                         rt_file("gone.txt", "1")};
    commit_titled(r, "c1", o1, 4, RT_T0 + 1, &c1);
    weft_repo_op o2 = rt_file("a.txt", "2");
    commit_titled(r, "c2", &o2, 1, RT_T0 + 2, &c2);
    weft_repo_op o3[] = {rt_file("e.txt", "3"), rt_del("gone.txt", 0)};
    commit_titled(r, "c3", o3, 2, RT_T0 + 3, &c3);
    weft_repo_op o4 = rt_file("b/c.txt", "4");
    commit_titled(r, "c4", &o4, 1, RT_T0 + 4, &c4);
    /* Same content again: no change to b/d.txt. */
    weft_repo_op o5 = rt_file("b/d.txt", "1");
    commit_titled(r, "c5", &o5, 1, RT_T0 + 5, &c5);
    weft_repo_op o6 = rt_file("gone.txt", "1");
    commit_titled(r, "c6", &o6, 1, RT_T0 + 6, &c6);

    const char *const paths[] = {"a.txt",          "b/c.txt", "b/d.txt", "b",        "e.txt",
                                 ".gitattributes", "missing", "",        "gone.txt", "b/c.txt/x"};
    enum { N = sizeof paths / sizeof paths[0] };
    weft_oid out[N];
    int found[N];
    assert_int_equal(weft_repo_last_commits(r, &c6, paths, N, out, found), 0);
    const weft_oid *want[N] = {&c2, &c4, &c1, &c4, &c3, &c0, NULL, &c6, &c6, NULL};
    for (size_t i = 0; i < N; i++) {
        if (want[i] == NULL) {
            assert_int_equal(found[i], 0);
            continue;
        }
        if (!found[i] || !rt_oid_eq(&out[i], want[i]))
            fail_msg("last commit of '%s' is wrong", paths[i]);
    }
    /* At an older commit, history after it does not count. */
    assert_int_equal(weft_repo_last_commits(r, &c3, paths, N, out, found), 0);
    assert_true(found[1] && rt_oid_eq(&out[1], &c1));
    assert_true(found[7] && rt_oid_eq(&out[7], &c3));
    assert_false(found[8]);
    const char *bad[] = {"../x"};
    assert_int_equal(weft_repo_last_commits(r, &c6, bad, 1, out, found), WEFT_EINVALID);
    weft_repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_history_log, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_history_last_commits, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
