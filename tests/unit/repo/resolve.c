/* Revision resolution in every form the Hub accepts: HEAD, branch and tag names (lightweight and
 * annotated, peeled to the commit), full ref names, refs/pr/N, full ids in either case and
 * abbreviations of 5+ digits; ambiguous, unknown and malformed revisions. */
#include <ctype.h>

#include "unit/repo/repo_test.h"

typedef struct fixture {
    weft_oid c0, c1, c2; /* initial, then two commits on main */
    weft_oid dev;        /* a commit on dev only */
} fixture;

static fixture fx;

static void make_fixture(weft_repo *r)
{
    fx.c0 = rt_resolve(r, "main");
    weft_repo_op a = rt_file("a.txt", "one");
    fx.c1 = rt_commit(r, &a, 1, RT_T0 + 10);
    a = rt_file("a.txt", "two");
    fx.c2 = rt_commit(r, &a, 1, RT_T0 + 20);
    assert_int_equal(weft_repo_branch_create(r, "dev", &fx.c1, 0), 0);
    a = rt_file("dev.txt", "dev");
    assert_int_equal(rt_try_commit_on(r, "refs/heads/dev", NULL, &a, 1, RT_T0 + 30, &fx.dev), 0);
    assert_int_equal(weft_repo_tag_create(r, "v1", &fx.c1, NULL, NULL, NULL, 0), 0);
    assert_int_equal(weft_repo_tag_create(r, "v2", &fx.c0, "release two", "bob", "b@x", RT_T0), 0);
    unsigned pr = 0;
    assert_int_equal(weft_repo_pr_create(r, &fx.c1, &pr), 0);
    assert_int_equal(pr, 1);
}

static void expect(weft_repo *r, const char *rev, const weft_oid *want, const char *want_ref)
{
    weft_oid got;
    char ref[128];
    int rc = weft_repo_resolve(r, rev, &got, ref, sizeof ref);
    if (rc != 0)
        fail_msg("resolve %s: %d %s", rev, rc, weft_err_last());
    if (!rt_oid_eq(&got, want))
        fail_msg("resolve %s: wrong commit", rev);
    assert_string_equal(ref, want_ref);
}

static void expect_rc(weft_repo *r, const char *rev, int want)
{
    weft_oid got;
    int rc = weft_repo_resolve(r, rev, &got, NULL, 0);
    if (rc != want)
        fail_msg("resolve %s: got %d (%s), want %d", rev, rc, weft_err_last(), want);
}

static void test_repo_resolve_names(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    make_fixture(r);
    expect(r, "HEAD", &fx.c2, "refs/heads/main");
    expect(r, "main", &fx.c2, "refs/heads/main");
    expect(r, "refs/heads/main", &fx.c2, "refs/heads/main");
    expect(r, "dev", &fx.dev, "refs/heads/dev");
    expect(r, "refs/heads/dev", &fx.dev, "refs/heads/dev");
    expect(r, "v1", &fx.c1, "refs/tags/v1");
    expect(r, "refs/tags/v1", &fx.c1, "refs/tags/v1");
    /* Annotated: the commit, not the tag object. */
    expect(r, "v2", &fx.c0, "refs/tags/v2");
    expect(r, "refs/tags/v2", &fx.c0, "refs/tags/v2");
    expect(r, "refs/pr/1", &fx.c1, "refs/pr/1");
    /* A branch and a tag of one name: the branch. */
    assert_int_equal(weft_repo_branch_create(r, "both", &fx.c1, 0), 0);
    assert_int_equal(weft_repo_tag_create(r, "both", &fx.c0, NULL, NULL, NULL, 0), 0);
    expect(r, "both", &fx.c1, "refs/heads/both");
    expect(r, "refs/tags/both", &fx.c0, "refs/tags/both");
    /* ref_out may be NULL, and too small is an error, not a truncation. */
    weft_oid got;
    assert_int_equal(weft_repo_resolve(r, "main", &got, NULL, 0), 0);
    char tiny[8];
    assert_int_equal(weft_repo_resolve(r, "main", &got, tiny, sizeof tiny), WEFT_ELIMIT);
    weft_repo_close(r);
}

static void test_repo_resolve_ids(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    make_fixture(r);
    char hex[41], rev[41];
    weft_oid_to_hex(hex, &fx.c1);
    expect(r, hex, &fx.c1, "");
    for (int i = 0; i < 40; i++)
        rev[i] = (char)toupper((unsigned char)hex[i]);
    rev[40] = '\0';
    expect(r, rev, &fx.c1, "");
    snprintf(rev, sizeof rev, "%.7s", hex);
    expect(r, rev, &fx.c1, "");
    snprintf(rev, sizeof rev, "%.5s", hex);
    expect(r, rev, &fx.c1, "");
    /* 4 digits are not enough. */
    snprintf(rev, sizeof rev, "%.4s", hex);
    expect_rc(r, rev, WEFT_ENOTFOUND);
    /* The id of a tree or a blob is no revision. */
    weft_repo_entry e;
    assert_int_equal(weft_repo_stat(r, &fx.c1, "a.txt", &e), 0);
    weft_oid_to_hex(hex, &e.oid);
    expect_rc(r, hex, WEFT_ENOTFOUND);
    snprintf(rev, sizeof rev, "%.8s", hex);
    expect_rc(r, rev, WEFT_ENOTFOUND);
    expect_rc(r, "0000000000000000000000000000000000000000", WEFT_ENOTFOUND);
    weft_repo_close(r);
}

/* Two commits whose ids share their first 5 hex digits: found by hashing commit texts in memory
 * (a birthday search, about a thousand tries), then both written. */
static void test_repo_resolve_ambiguous(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid head = rt_resolve(r, "main");
    git_oid head_id, ids[4096];
    git_buf bufs[4096];
    git_commit *c = NULL;
    weft_repo__oid_to_git(&head_id, &head);
    assert_int_equal(git_commit_lookup(&c, r->git, &head_id), 0);
    git_tree *tree = NULL;
    assert_int_equal(git_commit_tree(&tree, c), 0);
    git_signature *sig = NULL;
    assert_int_equal(git_signature_new(&sig, "a", "a@x", RT_T0, 0), 0);
    int found = -1, other = -1;
    for (int i = 0; i < 4096 && found < 0; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "try %d\n", i);
        memset(&bufs[i], 0, sizeof bufs[i]);
        assert_int_equal(
            git_commit_create_buffer(&bufs[i], r->git, sig, sig, NULL, msg, tree, 0, NULL), 0);
        assert_int_equal(git_odb_hash(&ids[i], bufs[i].ptr, bufs[i].size, GIT_OBJECT_COMMIT), 0);
        for (int j = 0; j < i; j++) {
            /* 5 hex digits = 2.5 bytes */
            if (memcmp(ids[i].id, ids[j].id, 2) == 0 &&
                (ids[i].id[2] >> 4) == (ids[j].id[2] >> 4)) {
                found = i;
                other = j;
                break;
            }
        }
    }
    assert_true(found >= 0);
    git_oid w;
    assert_int_equal(
        git_odb_write(&w, r->odb, bufs[found].ptr, bufs[found].size, GIT_OBJECT_COMMIT), 0);
    char hex[41], rev[16];
    git_oid_tostr(hex, sizeof hex, &w);
    snprintf(rev, sizeof rev, "%.5s", hex);
    /* Alone it resolves; with its twin written, the 5-digit form is ambiguous. */
    weft_oid got;
    assert_int_equal(weft_repo_resolve(r, rev, &got, NULL, 0), 0);
    assert_int_equal(
        git_odb_write(&w, r->odb, bufs[other].ptr, bufs[other].size, GIT_OBJECT_COMMIT), 0);
    expect_rc(r, rev, WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "ambiguous"));
    /* A longer prefix tells them apart again (unless they share it too). */
    if (memcmp(ids[found].id, ids[other].id, 4) != 0) {
        snprintf(rev, sizeof rev, "%.8s", hex);
        assert_int_equal(weft_repo_resolve(r, rev, &got, NULL, 0), 0);
    }
    for (int i = 0; i <= found; i++)
        git_buf_dispose(&bufs[i]);
    git_signature_free(sig);
    git_tree_free(tree);
    git_commit_free(c);
    weft_repo_close(r);
}

static void test_repo_resolve_unknown(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    make_fixture(r);
    static const char *const notfound[] = {"nope",
                                           "refs/heads/nope",
                                           "refs/tags/nope",
                                           "refs/pr/2",
                                           "refs/pr/abc",
                                           "refs/foo/bar",
                                           "refs/convert/x",
                                           "refs/heads/../x",
                                           "main..dev",
                                           "main~1",
                                           "main^",
                                           "~^:",
                                           "deadbeef0",
                                           "abcd",
                                           "refs/remotes/x",
                                           "a b",
                                           "HEAD:x",
                                           "v1^{tree}",
                                           "@",
                                           "refs/"};
    for (size_t i = 0; i < sizeof notfound / sizeof notfound[0]; i++)
        expect_rc(r, notfound[i], WEFT_ENOTFOUND);
    expect_rc(r, "", WEFT_EINVALID);
    expect_rc(r, NULL, WEFT_EINVALID);
    expect_rc(r, "a\nb", WEFT_EINVALID);
    expect_rc(r, "main\x7f", WEFT_EINVALID);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_rc(r, big, WEFT_EINVALID);
    /* A tag of a blob names no commit. */
    weft_repo_entry e;
    assert_int_equal(weft_repo_stat(r, &fx.c1, "a.txt", &e), 0);
    git_oid blob;
    git_reference *ref = NULL;
    weft_repo__oid_to_git(&blob, &e.oid);
    assert_int_equal(git_reference_create(&ref, r->git, "refs/tags/blobtag", &blob, 0, NULL), 0);
    git_reference_free(ref);
    expect_rc(r, "blobtag", WEFT_ENOTFOUND);
    expect_rc(r, "refs/tags/blobtag", WEFT_ENOTFOUND);
    weft_repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_resolve_names, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_resolve_ids, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_resolve_ambiguous, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_resolve_unknown, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
