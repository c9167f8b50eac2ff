/* Refs: branches (create, EEXISTS, overwrite, bad names, missing targets, delete, the default
 * branch kept), empty branches, lightweight and annotated tags, the sorted listing with peeled
 * targets, and pull-request numbers that only ever grow, across deletions and threads. */
#include <pthread.h>

#include "unit/repo/repo_test.h"

typedef struct refs_seen {
    size_t n;
    weft_ref_kind kind[32];
    char name[32][64], ref[32][80];
    weft_oid target[32];
} refs_seen;

static int collect_refs(weft_ref_kind kind, const char *name, const char *ref,
                        const weft_oid *target, void *payload)
{
    refs_seen *s = payload;
    assert_true(s->n < 32);
    s->kind[s->n] = kind;
    snprintf(s->name[s->n], sizeof s->name[s->n], "%s", name);
    snprintf(s->ref[s->n], sizeof s->ref[s->n], "%s", ref);
    s->target[s->n] = *target;
    s->n++;
    return 0;
}

static void test_repo_refs_branches(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main");
    weft_repo_op op = rt_file("x.txt", "x");
    weft_oid c1 = rt_commit(r, &op, 1, RT_T0 + 1);

    assert_int_equal(weft_repo_branch_create(r, "dev", &c0, 0), 0);
    weft_oid got = rt_resolve(r, "dev");
    assert_true(rt_oid_eq(&got, &c0));
    assert_int_equal(weft_repo_branch_create(r, "dev", &c1, 0), WEFT_EEXISTS);
    got = rt_resolve(r, "dev");
    assert_true(rt_oid_eq(&got, &c0));
    assert_int_equal(weft_repo_branch_create(r, "dev", &c1, 1), 0);
    got = rt_resolve(r, "dev");
    assert_true(rt_oid_eq(&got, &c1));
    assert_int_equal(weft_repo_branch_create(r, "feature/a", &c1, 0), 0);
    /* "dev/x" would need refs/heads/dev to be a directory. */
    assert_int_not_equal(weft_repo_branch_create(r, "dev/x", &c1, 0), 0);

    assert_int_equal(weft_repo_branch_create(r, "refs/pr/5", &c1, 0), WEFT_EINVALID);
    assert_int_equal(weft_repo_branch_create(r, "a..b", &c1, 0), WEFT_EINVALID);
    assert_int_equal(weft_repo_branch_create(r, "HEAD", &c1, 0), WEFT_EINVALID);
    weft_oid bogus;
    memset(&bogus, 0x33, sizeof bogus);
    assert_int_equal(weft_repo_branch_create(r, "ghost", &bogus, 0), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_resolve(r, "ghost", &got, NULL, 0), WEFT_ENOTFOUND);

    assert_int_equal(weft_repo_branch_delete(r, "dev"), 0);
    assert_int_equal(weft_repo_resolve(r, "dev", &got, NULL, 0), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_branch_delete(r, "dev"), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_branch_delete(r, "main"), WEFT_EINVALID);
    assert_int_equal(weft_repo_branch_delete(r, "a..b"), WEFT_EINVALID);
    got = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&got, &c1));
    /* The name is free again. */
    assert_int_equal(weft_repo_branch_create(r, "dev", &c0, 0), 0);

    /* An empty branch: one parentless commit with an empty tree. */
    assert_int_equal(weft_repo_branch_create_empty(r, "blank", "frank", "f@x", RT_T0 + 5), 0);
    weft_oid b = rt_resolve(r, "blank");
    rt_entries x = {0};
    assert_int_equal(weft_repo_list(r, &b, "", 1, rt_collect, &x), 0);
    assert_int_equal(x.n, 0);
    size_t total = 0;
    assert_int_equal(weft_repo_log(r, &b, 0, 0, NULL, NULL, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(weft_repo_branch_create_empty(r, "blank", "frank", "f@x", RT_T0),
                     WEFT_EEXISTS);
    assert_int_equal(weft_repo_branch_create_empty(r, "-bad", "frank", "f@x", RT_T0),
                     WEFT_EINVALID);
    weft_repo_close(r);
}

static void test_repo_refs_tags_and_listing(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main");
    weft_repo_op op = rt_file("x.txt", "x");
    weft_oid c1 = rt_commit(r, &op, 1, RT_T0 + 1);
    assert_int_equal(weft_repo_tag_create(r, "v1", &c0, NULL, NULL, NULL, 0), 0);
    assert_int_equal(weft_repo_tag_create(r, "v2", &c1, "Release 2", "gina", "g@x", RT_T0), 0);
    assert_int_equal(weft_repo_tag_create(r, "v1", &c1, NULL, NULL, NULL, 0), WEFT_EEXISTS);
    assert_int_equal(weft_repo_tag_create(r, "v2", &c0, "again", "gina", "g@x", RT_T0),
                     WEFT_EEXISTS);
    assert_int_equal(weft_repo_tag_create(r, "bad tag", &c0, NULL, NULL, NULL, 0), WEFT_EINVALID);
    weft_oid bogus;
    memset(&bogus, 0x44, sizeof bogus);
    assert_int_equal(weft_repo_tag_create(r, "v9", &bogus, NULL, NULL, NULL, 0), WEFT_ENOTFOUND);

    /* The annotated tag is a real tag object. */
    git_reference *ref = NULL;
    assert_int_equal(git_reference_lookup(&ref, r->git, "refs/tags/v2"), 0);
    git_object *obj = NULL;
    assert_int_equal(git_object_lookup(&obj, r->git, git_reference_target(ref), GIT_OBJECT_ANY), 0);
    assert_int_equal(git_object_type(obj), GIT_OBJECT_TAG);
    assert_string_equal(git_tag_message((git_tag *)obj), "Release 2\n");
    git_object_free(obj);
    git_reference_free(ref);

    assert_int_equal(weft_repo_branch_create(r, "dev", &c0, 0), 0);
    unsigned pr = 0;
    assert_int_equal(weft_repo_pr_create(r, &c0, &pr), 0);
    weft_repo_op conv = rt_file("0000.parquet", "p");
    weft_oid cv;
    weft_repo_commit_req req = {.ref = "refs/convert/parquet",
                                .allow_create = 1,
                                .ops = &conv,
                                .n_ops = 1,
                                .author = "bot",
                                .summary = "convert",
                                .time = RT_T0};
    assert_int_equal(weft_repo_commit_create(r, &req, &cv), 0);

    refs_seen s = {0};
    assert_int_equal(weft_repo_refs(r, collect_refs, &s), 0);
    static const char *const refs[] = {"refs/convert/parquet", "refs/heads/dev",
                                       "refs/heads/main",      "refs/pr/1",
                                       "refs/tags/v1",         "refs/tags/v2"};
    static const char *const names[] = {"parquet", "dev", "main", "1", "v1", "v2"};
    static const weft_ref_kind kinds[] = {WEFT_REF_CONVERT, WEFT_REF_BRANCH, WEFT_REF_BRANCH,
                                          WEFT_REF_PR,      WEFT_REF_TAG,    WEFT_REF_TAG};
    const weft_oid *targets[] = {&cv, &c0, &c1, &c0, &c0, &c1};
    assert_int_equal(s.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(s.ref[i], refs[i]);
        assert_string_equal(s.name[i], names[i]);
        assert_int_equal(s.kind[i], kinds[i]);
        assert_true(rt_oid_eq(&s.target[i], targets[i]));
    }

    assert_int_equal(weft_repo_tag_delete(r, "v2"), 0);
    assert_int_equal(weft_repo_tag_delete(r, "v2"), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_tag_delete(r, "a..b"), WEFT_EINVALID);
    weft_oid got;
    assert_int_equal(weft_repo_resolve(r, "v2", &got, NULL, 0), WEFT_ENOTFOUND);
    weft_repo_close(r);
}

static void test_repo_refs_pr_numbers(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main");
    unsigned n = 0;
    assert_int_equal(weft_repo_pr_create(r, &c0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(weft_repo_pr_create(r, &c0, &n), 0);
    assert_int_equal(n, 2);
    /* Deleting the newest PR ref does not free its number, even for a new handle. */
    git_reference *ref = NULL;
    assert_int_equal(git_reference_lookup(&ref, r->git, "refs/pr/2"), 0);
    assert_int_equal(git_reference_delete(ref), 0);
    git_reference_free(ref);
    weft_repo_close(r);
    r = rt_open();
    assert_int_equal(weft_repo_pr_create(r, &c0, &n), 0);
    assert_int_equal(n, 3);
    /* A PR ref pushed by hand moves the counter past it. */
    git_oid id;
    weft_repo__oid_to_git(&id, &c0);
    assert_int_equal(git_reference_create(&ref, r->git, "refs/pr/10", &id, 0, NULL), 0);
    git_reference_free(ref);
    assert_int_equal(weft_repo_pr_create(r, &c0, &n), 0);
    assert_int_equal(n, 11);
    weft_oid got = rt_resolve(r, "refs/pr/11");
    assert_true(rt_oid_eq(&got, &c0));
    weft_oid bogus;
    memset(&bogus, 0x55, sizeof bogus);
    assert_int_equal(weft_repo_pr_create(r, &bogus, &n), WEFT_ENOTFOUND);
    weft_repo_close(r);
}

typedef struct pr_job {
    weft_oid target;
    unsigned nums[5];
    int rc;
} pr_job;

static void *make_prs(void *arg)
{
    pr_job *j = arg;
    weft_repo *r = NULL;
    j->rc = weft_repo_open(&r, rt_dir);
    for (int i = 0; i < 5 && j->rc == 0; i++)
        j->rc = weft_repo_pr_create(r, &j->target, &j->nums[i]);
    weft_repo_close(r);
    return NULL;
}

static void test_repo_refs_pr_threads(void **state)
{
    (void)state;
    enum { T = 4 };
    weft_repo *r = rt_open();
    pr_job jobs[T];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (pr_job){.target = rt_resolve(r, "main")};
        assert_int_equal(pthread_create(&t[i], NULL, make_prs, &jobs[i]), 0);
    }
    int seen[T * 5 + 1] = {0};
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].rc, 0);
        for (int k = 0; k < 5; k++) {
            assert_true(jobs[i].nums[k] >= 1 && jobs[i].nums[k] <= T * 5);
            assert_int_equal(seen[jobs[i].nums[k]]++, 0);
            if (k > 0)
                assert_true(jobs[i].nums[k] > jobs[i].nums[k - 1]);
        }
    }
    weft_repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_refs_branches, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_refs_tags_and_listing, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_refs_pr_numbers, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_refs_pr_threads, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
