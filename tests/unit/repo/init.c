/* Repository lifecycle: init makes main with the Hub's initial commit and .gitattributes, HEAD
 * names main; init refuses an existing directory and leaves no temp dirs; open, destroy; object
 * id text. */
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#include "unit/repo/repo_test.h"

static int count_commits(const weft_repo_commit *c, void *payload)
{
    (void)c;
    (*(int *)payload)++;
    return 0;
}

static int check_initial(const weft_repo_commit *c, void *payload)
{
    (void)payload;
    assert_string_equal(c->title, "initial commit");
    assert_string_equal(c->message, "");
    assert_string_equal(c->author, "system");
    assert_string_equal(c->email, "system@weft.local");
    assert_int_equal(c->time, RT_T0);
    assert_int_equal(c->n_parents, 0);
    return 0;
}

static void test_repo_init_creates_main(void **state)
{
    (void)state;
    weft_repo *r = rt_open();
    char name[64];
    assert_int_equal(weft_repo_default_branch(r, name, sizeof name), 0);
    assert_string_equal(name, "main");
    assert_int_equal(weft_repo_default_branch(r, name, 4), WEFT_ELIMIT);

    weft_oid head, main_id;
    char ref[64];
    assert_int_equal(weft_repo_resolve(r, "HEAD", &head, ref, sizeof ref), 0);
    assert_string_equal(ref, "refs/heads/main");
    main_id = rt_resolve(r, "main");
    assert_true(rt_oid_eq(&head, &main_id));

    assert_int_equal(weft_repo_commit_get(r, &head, check_initial, NULL), 0);
    size_t total = 0;
    int calls = 0;
    assert_int_equal(weft_repo_log(r, &head, 0, 0, count_commits, &calls, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(calls, 1);

    /* The tree holds .gitattributes alone, with the usual Hub LFS patterns. */
    rt_entries x = {0};
    assert_int_equal(weft_repo_list(r, &head, "", 1, rt_collect, &x), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.e[0].path, ".gitattributes");
    assert_false(x.e[0].is_lfs);
    rt_entries_free(&x);
    char *text = rt_read(r, "main", ".gitattributes");
    static const char *const patterns[] = {"*.7z",          "*.arrow",
                                           "*.bin",         "*.bz2",
                                           "*.ckpt",        "*.ftz",
                                           "*.gz",          "*.h5",
                                           "*.joblib",      "*.lfs",
                                           "*.mlmodel",     "*.model",
                                           "*.msgpack",     "*.npy",
                                           "*.npz",         "*.onnx",
                                           "*.ot",          "*.parquet",
                                           "*.pb",          "*.pickle",
                                           "*.pkl",         "*.pt",
                                           "*.pth",         "*.rar",
                                           "*.safetensors", "saved_model/**/*",
                                           "*.tar.*",       "*.tflite",
                                           "*.tgz",         "*.wasm",
                                           "*.xz",          "*.zip",
                                           "*.zst",         "*tfevents*",
                                           "*.gguf"};
    char want[4096];
    size_t off = 0;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        off += (size_t)snprintf(want + off, sizeof want - off,
                                "%s filter=lfs diff=lfs merge=lfs -text\n", patterns[i]);
    assert_string_equal(text, want);
    free(text);
    weft_repo_close(r);
}

static void test_repo_init_refuses_existing(void **state)
{
    (void)state;
    assert_int_equal(weft_repo_init(rt_dir, RT_T0), WEFT_EEXISTS);
    /* The failed init left nothing behind: only the repo itself. */
    DIR *d = opendir(rt_tmp);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_string_equal(e->d_name, "repo");
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);
    /* Parents are made as needed. */
    char nested[256];
    snprintf(nested, sizeof nested, "%s/models/acme/tiny", rt_tmp);
    assert_int_equal(weft_repo_init(nested, RT_T0), 0);
    weft_repo *r = NULL;
    assert_int_equal(weft_repo_open(&r, nested), 0);
    weft_repo_close(r);
}

static void test_repo_open_missing(void **state)
{
    (void)state;
    weft_repo *r = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/nope", rt_tmp);
    assert_int_equal(weft_repo_open(&r, path), WEFT_ENOTFOUND);
    assert_null(r);
    /* A plain directory is no repository either. */
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(weft_repo_open(&r, path), WEFT_ENOTFOUND);
    weft_repo_close(NULL);
}

static void test_repo_destroy(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/plain", rt_tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    /* Not a repository: refused, and left alone. */
    assert_int_equal(weft_repo_destroy(path), WEFT_EINVALID);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(weft_repo_destroy(rt_dir), 0);
    assert_int_not_equal(stat(rt_dir, &st), 0);
    assert_int_equal(weft_repo_destroy(rt_dir), WEFT_ENOTFOUND);
    weft_repo *r = NULL;
    assert_int_equal(weft_repo_open(&r, rt_dir), WEFT_ENOTFOUND);
    /* The name is free again. */
    assert_int_equal(weft_repo_init(rt_dir, RT_T0), 0);
}

static void test_repo_oid_hex(void **state)
{
    (void)state;
    weft_oid a, b;
    char hex[41];
    for (int i = 0; i < 20; i++)
        a.id[i] = (uint8_t)(i * 13 + 7);
    weft_oid_to_hex(hex, &a);
    assert_int_equal(strlen(hex), 40);
    assert_int_equal(weft_oid_from_hex(&b, hex), 0);
    assert_true(rt_oid_eq(&a, &b));
    for (int i = 0; i < 40; i++)
        hex[i] = (char)toupper((unsigned char)hex[i]);
    assert_int_equal(weft_oid_from_hex(&b, hex), 0);
    assert_true(rt_oid_eq(&a, &b));
    assert_int_equal(weft_oid_from_hex(&b, "abc"), WEFT_EINVALID);
    assert_int_equal(weft_oid_from_hex(&b, "0123456789012345678901234567890123456789a"),
                     WEFT_EINVALID);
    assert_int_equal(weft_oid_from_hex(&b, "012345678901234567890123456789012345678g"),
                     WEFT_EINVALID);
    assert_int_equal(weft_oid_from_hex(&b, NULL), WEFT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_init_creates_main, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_init_refuses_existing, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_open_missing, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_destroy, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_oid_hex, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
