/* Trees at a commit: listing order (git's, with a directory right before its contents), recursive
 * and not, entry fields for LFS pointers (the LFS size and SHA-256, the pointer's blob id and
 * size) against plain blobs, stat of directories, files and missing paths, blob reads. */
#include "unit/repo/repo_test.h"

static weft_oid build(weft_repo *r)
{
    weft_repo_op ops[] = {
        rt_file("README.md", "# hello\n"),
        rt_file("a/b/c.txt", "c"),
        rt_file("a/b/d.txt", "dd"),
        rt_lfs("a/x.bin", 0xab, 123456789012ull),
        rt_file("a.txt", "a dot txt"),
        rt_lfs("z.safetensors", 0x01, 42),
        /* Looks like a pointer but uses uppercase hex: a plain file. */
        rt_file("fake.txt",
                "version https://git-lfs.github.com/spec/v1\n"
                "oid sha256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\n"
                "size 5\n"),
    };
    return rt_commit(r, ops, sizeof ops / sizeof ops[0], RT_T0 + 1);
}

static void expect_paths(const rt_entries *x, const char *const *want, size_t n)
{
    if (x->n != n) {
        for (size_t i = 0; i < x->n; i++)
            fprintf(stderr, "  got %s\n", x->e[i].path);
        fail_msg("got %zu entries, want %zu", x->n, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(x->e[i].path, want[i]);
}

static void test_repo_tree_list_order(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c = build(r);
    rt_entries x = {0};
    /* Git order: "a.txt" before the directory "a" (compared as "a/"). */
    static const char *const top[] = {".gitattributes", "README.md",    "a.txt", "a",
                                      "fake.txt",       "z.safetensors"};
    assert_int_equal(weft_repo_list(r, &c, "", 0, rt_collect, &x), 0);
    expect_paths(&x, top, 6);
    assert_true(x.e[3].is_dir);
    assert_int_equal(x.e[3].size, 0);
    rt_entries_free(&x);

    static const char *const all[] = {
        ".gitattributes", "README.md", "a.txt",   "a",        "a/b",
        "a/b/c.txt",      "a/b/d.txt", "a/x.bin", "fake.txt", "z.safetensors"};
    assert_int_equal(weft_repo_list(r, &c, "", 1, rt_collect, &x), 0);
    expect_paths(&x, all, 10);
    rt_entries_free(&x);

    static const char *const sub[] = {"a/b", "a/b/c.txt", "a/b/d.txt", "a/x.bin"};
    assert_int_equal(weft_repo_list(r, &c, "a", 1, rt_collect, &x), 0);
    expect_paths(&x, sub, 4);
    rt_entries_free(&x);
    static const char *const sub1[] = {"a/b", "a/x.bin"};
    assert_int_equal(weft_repo_list(r, &c, "a/", 0, rt_collect, &x), 0);
    expect_paths(&x, sub1, 2);
    rt_entries_free(&x);

    assert_int_equal(weft_repo_list(r, &c, "README.md", 0, rt_collect, &x), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_list(r, &c, "nope", 0, rt_collect, &x), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_list(r, &c, "../a", 0, rt_collect, &x), WEFT_EINVALID);
    assert_int_equal(weft_repo_list(r, &c, "a//b", 0, rt_collect, &x), WEFT_EINVALID);
    assert_int_equal(x.n, 0);
    weft_repo_close(r);
}

static int stop_after_one(const weft_repo_entry *e, void *payload)
{
    (void)e;
    (*(int *)payload)++;
    return -42;
}

static int stop_at_third(const weft_repo_entry *e, void *payload)
{
    (void)e;
    return ++*(int *)payload == 3 ? 1 : 0;
}

static void test_repo_tree_list_stop(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c = build(r);
    int calls = 0;
    assert_int_equal(weft_repo_list(r, &c, "", 1, stop_after_one, &calls), -42);
    assert_int_equal(calls, 1);
    /* A positive return stops too (the HTTP pager's "there is more"). */
    calls = 0;
    assert_int_equal(weft_repo_list(r, &c, "", 1, stop_at_third, &calls), 1);
    assert_int_equal(calls, 3);
    weft_oid bogus;
    memset(&bogus, 0x11, sizeof bogus);
    assert_int_equal(weft_repo_list(r, &bogus, "", 1, stop_after_one, &calls), WEFT_ENOTFOUND);
    weft_repo_close(r);
}

static void test_repo_tree_entry_fields(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    weft_oid c = build(r);
    weft_repo_entry e;

    assert_int_equal(weft_repo_stat(r, &c, "a/x.bin", &e), 0);
    assert_string_equal(e.path, "a/x.bin");
    assert_false(e.is_dir);
    assert_true(e.is_lfs);
    assert_int_equal(e.size, 123456789012ull);
    uint8_t sha[32];
    memset(sha, 0xab, sizeof sha);
    assert_memory_equal(e.lfs_sha256, sha, 32);
    /* The blob is the canonical pointer text: its id and size. */
    char ptr[WEFT_LFS_POINTER_MAX];
    size_t n = weft_lfs_pointer_format(ptr, sha, 123456789012ull);
    assert_int_equal(e.pointer_size, n);
    git_oid want;
    assert_int_equal(git_odb_hash(&want, ptr, n, GIT_OBJECT_BLOB), 0);
    assert_memory_equal(e.oid.id, want.id, 20);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(weft_repo_blob_read(r, &e.oid, 1000, &data, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(data, ptr, n);
    assert_int_equal(data[len], 0);
    free(data);
    assert_int_equal(weft_repo_blob_read(r, &e.oid, n - 1, &data, &len), WEFT_ELIMIT);

    assert_int_equal(weft_repo_stat(r, &c, "a/b/d.txt", &e), 0);
    assert_false(e.is_lfs);
    assert_false(e.is_dir);
    assert_int_equal(e.size, 2);
    assert_int_equal(e.pointer_size, 0);
    assert_int_equal(git_odb_hash(&want, "dd", 2, GIT_OBJECT_BLOB), 0);
    assert_memory_equal(e.oid.id, want.id, 20);

    assert_int_equal(weft_repo_stat(r, &c, "fake.txt", &e), 0);
    assert_false(e.is_lfs);
    assert_int_equal(e.size, 126);

    /* Directories: tree ids, size 0; "" is the root. */
    assert_int_equal(weft_repo_stat(r, &c, "a/b", &e), 0);
    assert_true(e.is_dir);
    assert_int_equal(e.size, 0);
    weft_repo_entry root;
    assert_int_equal(weft_repo_stat(r, &c, "", &root), 0);
    assert_true(root.is_dir);
    rt_entries x = {0};
    assert_int_equal(weft_repo_list(r, &c, "", 0, rt_collect, &x), 0);
    weft_repo_entry a;
    assert_int_equal(weft_repo_stat(r, &c, "a", &a), 0);
    assert_memory_equal(x.e[3].oid.id, a.oid.id, 20);
    rt_entries_free(&x);

    assert_int_equal(weft_repo_stat(r, &c, "a/nope", &e), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_stat(r, &c, "README.md/x", &e), WEFT_ENOTFOUND);
    assert_int_equal(weft_repo_stat(r, &c, "a/", &e), WEFT_EINVALID);
    assert_int_equal(weft_repo_stat(r, &c, ".git/config", &e), WEFT_EINVALID);

    weft_oid missing;
    memset(&missing, 0x22, sizeof missing);
    assert_int_equal(weft_repo_blob_read(r, &missing, 100, &data, &len), WEFT_ENOTFOUND);
    /* A tree id is no blob. */
    assert_int_equal(weft_repo_blob_read(r, &a.oid, 100, &data, &len), WEFT_ENOTFOUND);
    weft_repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_tree_list_order, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_tree_list_stop, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_tree_entry_fields, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
