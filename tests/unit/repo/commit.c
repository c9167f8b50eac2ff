/* Server-side commits: nested adds, overwrites, deletes of files and directories, .gitattributes
 * rules for LFS paths only where no pattern covers them, bad paths and file/directory clashes
 * rejected with nothing written, compare-and-swap on the ref (stale parent, two threads racing),
 * new refs, and squash. */
#include <pthread.h>

#include "unit/repo/repo_test.h"

static size_t count_files(weft_repo *r, const weft_oid *c)
{
    rt_entries x = {0};
    assert_int_equal(weft_repo_list(r, c, "", 1, rt_collect, &x), 0);
    size_t n = 0;
    for (size_t i = 0; i < x.n; i++)
        n += !x.e[i].is_dir;
    rt_entries_free(&x);
    return n;
}

static int has_path(weft_repo *r, const weft_oid *c, const char *path)
{
    weft_repo_entry e;
    int rc = weft_repo_stat(r, c, path, &e);
    assert_true(rc == 0 || rc == WEFT_ENOTFOUND);
    return rc == 0;
}

static int one_parent(const weft_repo_commit *c, void *payload)
{
    (void)payload;
    assert_int_equal(c->n_parents, 1);
    return 0;
}

static void test_repo_commit_add_overwrite(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main");
    weft_repo_op ops[] = {rt_file("a/b/c.txt", "hello"), rt_file("a/d.txt", "d"),
                          rt_file("top.json", "{}"), rt_file("empty.txt", "")};
    weft_oid c1 = rt_commit(r, ops, 4, RT_T0 + 1);
    assert_false(rt_oid_eq(&c0, &c1));
    weft_oid head = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&head, &c1));
    assert_int_equal(count_files(r, &c1), 5);
    char *s = rt_read(r, "main", "a/b/c.txt");
    assert_string_equal(s, "hello");
    free(s);
    s = rt_read(r, "main", "empty.txt");
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(weft_repo_commit_get(r, &c1, one_parent, NULL), 0);

    /* Overwrite; the same path twice in one commit: the last one wins. */
    weft_repo_op ow[] = {rt_file("a/b/c.txt", "first"), rt_file("a/b/c.txt", "second")};
    weft_oid c2 = rt_commit(r, ow, 2, RT_T0 + 2);
    s = rt_read(r, "main", "a/b/c.txt");
    assert_string_equal(s, "second");
    free(s);
    assert_int_equal(count_files(r, &c2), 5);
    /* The old commit still has the old content. */
    char hex[41];
    weft_oid_to_hex(hex, &c1);
    s = rt_read(r, hex, "a/b/c.txt");
    assert_string_equal(s, "hello");
    free(s);

    /* No operations: an empty commit with the same tree. */
    weft_oid c3 = rt_commit(r, NULL, 0, RT_T0 + 3);
    weft_repo_entry t2, t3;
    assert_int_equal(weft_repo_stat(r, &c2, "", &t2), 0);
    assert_int_equal(weft_repo_stat(r, &c3, "", &t3), 0);
    assert_true(rt_oid_eq(&t2.oid, &t3.oid));
    assert_false(rt_oid_eq(&c2, &c3));
    weft_repo_close(r);
}

static char *gitattributes(weft_repo *r)
{
    return rt_read(r, "main", ".gitattributes");
}

static void test_repo_commit_lfs_gitattributes(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    char *before = gitattributes(r);
    /* Covered by the *.safetensors, saved_model and *.tar.* rules: nothing added. */
    weft_repo_op covered[] = {
        rt_lfs("model.safetensors", 1, 100), rt_lfs("sub/dir/w.safetensors", 2, 200),
        rt_lfs("saved_model/variables/v.data", 3, 300), rt_lfs("x.tar.gz", 4, 400)};
    rt_commit(r, covered, 4, RT_T0 + 1);
    char *after = gitattributes(r);
    assert_string_equal(before, after);
    free(after);

    /* Not covered: one rule each, the same path twice counted once, spaces escaped. */
    weft_repo_op fresh[] = {rt_lfs("weights/data.custom", 5, 500), rt_lfs("notes.dat", 6, 600),
                            rt_lfs("weights/data.custom", 7, 700),
                            rt_lfs("with space.dat", 8, 800)};
    weft_oid c2 = rt_commit(r, fresh, 4, RT_T0 + 2);
    after = gitattributes(r);
    size_t bl = strlen(before);
    assert_int_equal(strncmp(after, before, bl), 0);
    assert_string_equal(after + bl,
                        "notes.dat filter=lfs diff=lfs merge=lfs -text\n"
                        "weights/data.custom filter=lfs diff=lfs merge=lfs -text\n"
                        "with[[:space:]]space.dat filter=lfs diff=lfs merge=lfs -text\n");
    weft_repo_entry e;
    assert_int_equal(weft_repo_stat(r, &c2, "weights/data.custom", &e), 0);
    assert_true(e.is_lfs);
    assert_int_equal(e.size, 700);
    /* Again: now covered, nothing added. */
    rt_commit(r, fresh, 4, RT_T0 + 3);
    char *again = gitattributes(r);
    assert_string_equal(after, again);
    free(again);
    free(after);
    free(before);

    /* A .gitattributes written in the same commit is the one extended (and gets its missing
     * final newline). */
    weft_repo_op own[] = {rt_file(".gitattributes", "*.txt text"), rt_lfs("big.bin", 9, 900)};
    rt_commit(r, own, 2, RT_T0 + 4);
    after = gitattributes(r);
    assert_string_equal(after, "*.txt text\nbig.bin filter=lfs diff=lfs merge=lfs -text\n");
    free(after);
    /* Deleted in the same commit: made anew with just the rule. */
    weft_repo_op gone[] = {rt_del(".gitattributes", 0), rt_lfs("b2.bin", 9, 900)};
    rt_commit(r, gone, 2, RT_T0 + 5);
    after = gitattributes(r);
    assert_string_equal(after, "b2.bin filter=lfs diff=lfs merge=lfs -text\n");
    free(after);
    weft_repo_close(r);
}

static void test_repo_commit_delete(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_repo_op ops[] = {rt_file("a/b/c.txt", "c"), rt_file("a/b/d.txt", "d"),
                          rt_file("a/e.txt", "e"),   rt_file("f/g.txt", "g"),
                          rt_file("h/i/j.txt", "j"), rt_file("k.txt", "k")};
    rt_commit(r, ops, 6, RT_T0 + 1);

    weft_repo_op d1 = rt_del("a/b/c.txt", 0);
    weft_oid c = rt_commit(r, &d1, 1, RT_T0 + 2);
    assert_false(has_path(r, &c, "a/b/c.txt"));
    assert_true(has_path(r, &c, "a/b/d.txt"));

    /* The last file of a directory: the directory goes too, up the chain. */
    weft_repo_op d2 = rt_del("h/i/j.txt", 0);
    c = rt_commit(r, &d2, 1, RT_T0 + 3);
    assert_false(has_path(r, &c, "h/i"));
    assert_false(has_path(r, &c, "h"));

    weft_repo_op d3 = rt_del("a/b", 1);
    c = rt_commit(r, &d3, 1, RT_T0 + 4);
    assert_false(has_path(r, &c, "a/b"));
    assert_true(has_path(r, &c, "a/e.txt"));
    weft_repo_op d4 = rt_del("f/", 1);
    c = rt_commit(r, &d4, 1, RT_T0 + 5);
    assert_false(has_path(r, &c, "f"));
    assert_int_equal(count_files(r, &c), 3); /* .gitattributes, a/e.txt, k.txt */

    /* Absent things, and the wrong kind, are not found; the head does not move. */
    weft_oid head = rt_resolve(r, "main"), out;
    weft_repo_op missing[] = {rt_del("nope.txt", 0), rt_del("a/nope/x", 0), rt_del("nope", 1),
                              rt_del("a", 0),        rt_del("k.txt", 1),    rt_del("k.txt/x", 0),
                              rt_del("a/b/c.txt", 0)};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        int rc = rt_try_commit_on(r, "refs/heads/main", NULL, &missing[i], 1, RT_T0 + 6, &out);
        if (rc != WEFT_ENOTFOUND)
            fail_msg("delete %s: %d %s", missing[i].path, rc, weft_err_last());
    }
    weft_repo_op twice[] = {rt_del("k.txt", 0), rt_del("k.txt", 0)};
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, twice, 2, RT_T0 + 6, &out),
                     WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "k.txt: no such file"));
    weft_oid still = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&head, &still));

    /* A directory replaced by a file (and back) within one commit. */
    weft_repo_op swap[] = {rt_del("a", 1), rt_file("a", "now a file")};
    c = rt_commit(r, swap, 2, RT_T0 + 7);
    weft_repo_entry e;
    assert_int_equal(weft_repo_stat(r, &c, "a", &e), 0);
    assert_false(e.is_dir);
    weft_repo_op back[] = {rt_del("a", 0), rt_file("a/z.txt", "z")};
    c = rt_commit(r, back, 2, RT_T0 + 8);
    assert_int_equal(weft_repo_stat(r, &c, "a", &e), 0);
    assert_true(e.is_dir);
    weft_repo_close(r);
}

static void test_repo_commit_bad_paths(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_repo_op base = rt_file("dir/file.txt", "x");
    rt_commit(r, &base, 1, RT_T0 + 1);
    weft_oid head = rt_resolve(r, "main"), out;
    int objects = rt_count_objects();
    static const char *const bad[] = {
        "../x", "/x", "a//b",  ".git/config", "a/.git/b", "a\x01b", "a\nb",    "x/",
        "",     ".",  "a/./b", ".GIT/HEAD",   "git~1/x",  "a/..",   "\xff.bin"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* The bad op comes last: the good ones before it must not be written either. */
        weft_repo_op ops[] = {rt_file("good.txt", "fresh content"), rt_lfs("g.bin", 7, 7),
                              rt_file(bad[i], "bad")};
        int rc = rt_try_commit_on(r, "refs/heads/main", NULL, ops, 3, RT_T0 + 2, &out);
        if (rc != WEFT_EINVALID)
            fail_msg("path %s: %d %s", bad[i], rc, weft_err_last());
        ops[2] = rt_del(bad[i], 0);
        assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, ops, 3, RT_T0 + 2, &out),
                         WEFT_EINVALID);
        ops[2] = (weft_repo_op){.kind = WEFT_REPO_OP_LFS, .path = bad[i]};
        assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, ops, 3, RT_T0 + 2, &out),
                         WEFT_EINVALID);
    }
    /* A file where a directory is, or the other way round: rejected before writing. */
    weft_repo_op clash1[] = {rt_file("new.txt", "n1"), rt_file("dir", "x")};
    weft_repo_op clash2[] = {rt_file("new.txt", "n2"), rt_file("dir/file.txt/y", "x")};
    weft_repo_op clash3[] = {rt_file("p", "x"), rt_file("p/q", "y")};
    weft_repo_op clash4[] = {rt_file("p/q", "y"), rt_file("p", "x")};
    weft_repo_op unknown[] = {{.kind = 99, .path = "k"}};
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, clash1, 2, RT_T0, &out),
                     WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, clash2, 2, RT_T0, &out),
                     WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, clash3, 2, RT_T0, &out),
                     WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, clash4, 2, RT_T0, &out),
                     WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", NULL, unknown, 1, RT_T0, &out),
                     WEFT_EINVALID);
    /* Requests that are wrong as a whole. */
    weft_repo_op ok = rt_file("ok.txt", "ok");
    assert_int_equal(rt_try_commit_on(r, "refs/tags/v1", NULL, &ok, 1, RT_T0, &out), WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "main", NULL, &ok, 1, RT_T0, &out), WEFT_EINVALID);
    assert_int_equal(rt_try_commit_on(r, "refs/pr/x", NULL, &ok, 1, RT_T0, &out), WEFT_EINVALID);
    weft_repo_commit_req req = {.ref = "refs/heads/main",
                                .ops = &ok,
                                .n_ops = 1,
                                .author = "a",
                                .summary = "",
                                .time = RT_T0};
    assert_int_equal(weft_repo_commit_create(r, &req, &out), WEFT_EINVALID);
    req.summary = "s";
    req.author = "a<b>";
    assert_int_equal(weft_repo_commit_create(r, &req, &out), WEFT_EINVALID);

    assert_int_equal(rt_count_objects(), objects);
    weft_oid still = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&head, &still));
    weft_repo_close(r);
}

static int check_message(const weft_repo_commit *c, void *payload)
{
    (void)payload;
    assert_string_equal(c->title, "Add weights");
    assert_string_equal(c->message, "Converted from the original checkpoint.\n\nSecond paragraph.");
    assert_string_equal(c->author, "carol");
    assert_string_equal(c->email, "noreply@weft.local");
    assert_int_equal(c->time, RT_T0 + 77);
    return 0;
}

static void test_repo_commit_cas(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c0 = rt_resolve(r, "main"), out;
    weft_repo_op a = rt_file("a.txt", "a");
    weft_oid c1;
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", &c0, &a, 1, RT_T0 + 1, &c1), 0);
    /* c0 is stale now. */
    int objects = rt_count_objects();
    weft_repo_op b = rt_file("b.txt", "b");
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", &c0, &b, 1, RT_T0 + 2, &out),
                     WEFT_ECONFLICT);
    assert_int_equal(rt_count_objects(), objects);
    weft_oid head = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&head, &c1));
    assert_int_equal(rt_try_commit_on(r, "refs/heads/main", &c1, &b, 1, RT_T0 + 2, &out), 0);

    /* Absent refs: not found unless creation is allowed; then from the given parent. */
    assert_int_equal(rt_try_commit_on(r, "refs/heads/nope", NULL, &b, 1, RT_T0, &out),
                     WEFT_ENOTFOUND);
    weft_repo_commit_req req = {.ref = "refs/pr/7",
                                .parent = &c0,
                                .allow_create = 1,
                                .ops = &b,
                                .n_ops = 1,
                                .author = "carol",
                                .email = "",
                                .summary = "Add weights",
                                .description = "Converted from the original checkpoint.\n\n"
                                               "Second paragraph.\n",
                                .time = RT_T0 + 77};
    weft_oid pr;
    assert_int_equal(weft_repo_commit_create(r, &req, &pr), 0);
    assert_int_equal(weft_repo_commit_get(r, &pr, check_message, NULL), 0);
    weft_oid got = rt_resolve(r, "refs/pr/7");
    assert_true(rt_oid_eq(&got, &pr));
    assert_false(has_path(r, &pr, "a.txt"));
    assert_true(has_path(r, &pr, "b.txt"));
    /* Created with a parent that says "absent": a second creation is a conflict. */
    assert_int_equal(weft_repo_commit_create(r, &req, &out), WEFT_ECONFLICT);
    /* Allowed to create, but it exists: an ordinary CAS on it. */
    req.parent = &pr;
    assert_int_equal(weft_repo_commit_create(r, &req, &out), 0);
    /* A new orphan ref with no parent. */
    req.ref = "refs/convert/parquet";
    req.parent = NULL;
    assert_int_equal(weft_repo_commit_create(r, &req, &out), 0);
    assert_int_equal(count_files(r, &out), 1); /* b.txt alone: no parent, no .gitattributes */
    weft_repo_close(r);
}

typedef struct racer {
    weft_oid parent, out;
    int id, rc;
    pthread_barrier_t *go;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    weft_repo *r = NULL;
    x->rc = weft_repo_open(&r, rt_dir);
    if (x->rc != 0)
        return NULL;
    char path[32], text[32];
    snprintf(path, sizeof path, "racer-%d.txt", x->id);
    snprintf(text, sizeof text, "%d", x->id);
    weft_repo_op op = rt_file(path, text);
    pthread_barrier_wait(x->go);
    x->rc = rt_try_commit_on(r, "refs/heads/main", &x->parent, &op, 1, RT_T0 + x->id, &x->out);
    weft_repo_close(r);
    return NULL;
}

static void test_repo_commit_race(void **state)
{
    (void)state;
    enum { N = 6 };
    for (int round = 0; round < 5; round++) {
        weft_repo *r = rt_open();
        weft_oid parent = rt_resolve(r, "main");
        racer xs[N];
        pthread_t t[N];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        for (int i = 0; i < N; i++) {
            xs[i] = (racer){.parent = parent, .id = round * N + i, .go = &go};
            assert_int_equal(pthread_create(&t[i], NULL, race, &xs[i]), 0);
        }
        int winners = 0, winner = -1;
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (xs[i].rc == 0) {
                winners++;
                winner = i;
            } else {
                assert_int_equal(xs[i].rc, WEFT_ECONFLICT);
            }
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(winners, 1);
        weft_oid head = rt_resolve(r, "main");
        assert_true(rt_oid_eq(&head, &xs[winner].out));
        weft_repo_close(r);
    }
}

static int count_log(const weft_repo_commit *c, void *payload)
{
    (void)c;
    (*(int *)payload)++;
    return 0;
}

static void test_repo_commit_squash(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    for (int i = 0; i < 4; i++) {
        char path[16];
        snprintf(path, sizeof path, "f%d.txt", i);
        weft_repo_op op = rt_file(path, path);
        rt_commit(r, &op, 1, RT_T0 + i);
    }
    weft_oid head = rt_resolve(r, "main"), sq;
    size_t total = 0;
    int n = 0;
    assert_int_equal(weft_repo_log(r, &head, 0, 0, count_log, &n, &total), 0);
    assert_int_equal(total, 5);
    assert_int_equal(weft_repo_squash(r, "main", "Squashed", "dave", "d@x", RT_T0 + 99, &sq), 0);
    weft_oid now = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&now, &sq));
    assert_int_equal(weft_repo_log(r, &sq, 0, 0, count_log, &n, &total), 0);
    assert_int_equal(total, 1);
    weft_repo_entry t_old, t_new;
    assert_int_equal(weft_repo_stat(r, &head, "", &t_old), 0);
    assert_int_equal(weft_repo_stat(r, &sq, "", &t_new), 0);
    assert_true(rt_oid_eq(&t_old.oid, &t_new.oid));
    assert_int_equal(weft_repo_squash(r, "nope", "m", "dave", "d@x", RT_T0, &sq), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_squash(r, "a..b", "m", "dave", "d@x", RT_T0, &sq), WEFT_EINVALID);
    /* No message: a default one. */
    assert_int_equal(weft_repo_squash(r, "main", NULL, "dave", "d@x", RT_T0, &sq), 0);
    weft_repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_commit_add_overwrite, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_lfs_gitattributes, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_delete, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_bad_paths, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_cas, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_race, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_commit_squash, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
