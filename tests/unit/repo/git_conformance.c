/* Conformance with the real git: repositories weft writes pass `git fsck --strict`, git sees the
 * same history (log), the same trees in the same order (ls-tree), the LFS rules and pointers
 * (show, cat-file), annotated tags peel the same way, the repository clones, and git's own
 * check-attr agrees with the .gitattributes matcher commits use. Skipped without a git binary. */
#include "unit/repo/repo_test.h"

#define GIT "env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git"

static int have_git(void)
{
    int st = -1;
    free(rt_sh(&st, "git --version >/dev/null 2>&1"));
    return st == 0;
}

typedef struct hexes {
    char text[8192];
    size_t len;
} hexes;

static int log_hex(const weft_repo_commit *c, void *payload)
{
    hexes *h = payload;
    char hex[41];
    weft_oid_to_hex(hex, &c->id);
    h->len += (size_t)snprintf(h->text + h->len, sizeof h->text - h->len, "%s\n", hex);
    return 0;
}

static int list_files(const weft_repo_entry *e, void *payload)
{
    hexes *h = payload;
    if (!e->is_dir)
        h->len += (size_t)snprintf(h->text + h->len, sizeof h->text - h->len, "%s\n", e->path);
    return 0;
}

static void build_history(weft_repo *r)
{
    weft_repo_op o1[] = {rt_file("README.md", "---\nlicense: mit\n---\n# Tiny\n"),
                         rt_file("config.json", "{\"a\": 1}\n"),
                         rt_lfs("model.safetensors", 0x11, 1000000),
                         rt_lfs("weights/w.custom", 0x22, 2000),
                         rt_lfs("with space/x y.dat", 0x33, 3000),
                         rt_file("a/b/c/deep.txt", "deep\n"),
                         rt_file("a.txt", "sorts before the directory a\n")};
    rt_commit(r, o1, sizeof o1 / sizeof o1[0], RT_T0 + 10);
    weft_repo_op o2[] = {rt_file("config.json", "{\"a\": 2}\n"), rt_del("a/b", 1)};
    rt_commit(r, o2, 2, RT_T0 + 20);
    weft_oid head = rt_resolve(r, "main");
    assert_int_equal(weft_repo_tag_create(r, "v1", &head, "first release", "t", "t@x", RT_T0), 0);
    assert_int_equal(weft_repo_branch_create(r, "dev", &head, 0), 0);
    weft_repo_op o3 = rt_file("dev.txt", "dev\n");
    weft_oid out;
    assert_int_equal(rt_try_commit_on(r, "refs/heads/dev", NULL, &o3, 1, RT_T0 + 30, &out), 0);
    weft_repo_op o4[] = {rt_file("e.txt", "e\n"), rt_del("README.md", 0)};
    rt_commit(r, o4, 2, RT_T0 + 40);
    unsigned pr;
    assert_int_equal(weft_repo_pr_create(r, &head, &pr), 0);
}

static void test_repo_git_conformance(void **state)
{
    (void)state;
    if (!have_git())
        skip();
    weft_repo *r = rt_open();
    build_history(r);
    weft_oid head = rt_resolve(r, "main");
    int st = -1;

    /* History. */
    hexes ours = {0};
    size_t total = 0;
    assert_int_equal(weft_repo_log(r, &head, 0, 0, log_hex, &ours, &total), 0);
    assert_int_equal(total, 4);
    char *theirs = rt_sh(&st, GIT " --git-dir='%s' log --format=%%H main", rt_dir);
    assert_int_equal(st, 0);
    assert_string_equal(theirs, ours.text);
    free(theirs);

    /* Integrity. */
    char *fsck = rt_sh(&st, GIT " --git-dir='%s' fsck --strict --no-dangling 2>&1", rt_dir);
    if (st != 0)
        fail_msg("git fsck: %s", fsck);
    free(fsck);

    /* Trees in git's order. */
    hexes files = {0};
    assert_int_equal(weft_repo_list(r, &head, "", 1, list_files, &files), 0);
    theirs = rt_sh(&st, GIT " --git-dir='%s' ls-tree -r --name-only main", rt_dir);
    assert_int_equal(st, 0);
    assert_string_equal(theirs, files.text);
    free(theirs);

    /* The .gitattributes git reads has the default rules plus the added ones, and git-lfs's
     * pointer text. */
    theirs = rt_sh(&st, GIT " --git-dir='%s' show main:.gitattributes", rt_dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(theirs, "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"));
    assert_non_null(strstr(theirs, "\nweights/w.custom filter=lfs diff=lfs merge=lfs -text\n"));
    assert_non_null(strstr(theirs,
                           "\nwith[[:space:]]space/x[[:space:]]y.dat filter=lfs diff=lfs merge=lfs "
                           "-text\n"));
    char *ours_attr = rt_read(r, "main", ".gitattributes");
    assert_string_equal(theirs, ours_attr);
    free(ours_attr);
    free(theirs);
    theirs = rt_sh(&st, GIT " --git-dir='%s' cat-file -p 'main:weights/w.custom'", rt_dir);
    assert_int_equal(st, 0);
    uint8_t sha[32];
    memset(sha, 0x22, sizeof sha);
    char ptr[WEFT_LFS_POINTER_MAX];
    weft_lfs_pointer_format(ptr, sha, 2000);
    assert_string_equal(theirs, ptr);
    free(theirs);

    /* Refs: the annotated tag peels to main's old head; dev and the PR ref exist. */
    weft_oid v1 = rt_resolve(r, "v1");
    char hex[41], want[48];
    weft_oid_to_hex(hex, &v1);
    snprintf(want, sizeof want, "%s\n", hex);
    theirs = rt_sh(&st, GIT " --git-dir='%s' rev-parse 'v1^{commit}'", rt_dir);
    assert_string_equal(theirs, want);
    free(theirs);
    theirs = rt_sh(&st, GIT " --git-dir='%s' cat-file -t v1", rt_dir);
    assert_string_equal(theirs, "tag\n");
    free(theirs);
    theirs = rt_sh(&st, GIT " --git-dir='%s' for-each-ref --format='%%(refname)'", rt_dir);
    assert_string_equal(theirs, "refs/heads/dev\nrefs/heads/main\nrefs/pr/1\nrefs/tags/v1\n");
    free(theirs);
    theirs = rt_sh(&st, GIT " --git-dir='%s' symbolic-ref HEAD", rt_dir);
    assert_string_equal(theirs, "refs/heads/main\n");
    free(theirs);

    /* A plain clone works and checks out what weft committed (LFS files stay pointers). */
    free(rt_sh(&st,
               "cd '%s' && GIT_LFS_SKIP_SMUDGE=1 " GIT
               " -c filter.lfs.smudge= -c filter.lfs.process= -c filter.lfs.required=false"
               " clone -q '%s' clone 2>&1",
               rt_tmp, rt_dir));
    assert_int_equal(st, 0);
    theirs = rt_sh(&st, "cat '%s/clone/config.json'", rt_tmp);
    assert_string_equal(theirs, "{\"a\": 2}\n");
    free(theirs);
    weft_repo_close(r);
}

/* git check-attr and the commit-time matcher agree on filter=lfs for many paths. */
static void test_repo_git_check_attr(void **state)
{
    (void)state;
    if (!have_git())
        skip();
    static const char attrs[] = "*.bin filter=lfs diff=lfs merge=lfs -text\n"
                                "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
                                "*.tar.* filter=lfs diff=lfs merge=lfs -text\n"
                                "*tfevents* filter=lfs diff=lfs merge=lfs -text\n"
                                "docs/*.bin -filter\n"
                                "/top.dat filter=lfs\n"
                                "deep/ filter=lfs\n"
                                "a/**/b.dat filter=lfs\n"
                                "**/logs/*.txt filter=lfs\n"
                                "x?.y filter=lfs\n"
                                "[ab]*.z filter=lfs\n"
                                "sp[[:space:]]ace.dat filter=lfs\n"
                                "lit\\*star.dat filter=lfs\n"
                                "other.bin filter=other\n"
                                "  indented.q filter=lfs\r\n";
    static const char *const paths[] = {"m.bin",           "d/m.bin",       "docs/m.bin",
                                        "docs/sub/m.bin",  "saved_model/v", "saved_model/a/b/c",
                                        "x/saved_model/v", "f.tar.gz",      "f.tar",
                                        "e.tfevents.1",    "top.dat",       "d/top.dat",
                                        "deep/f",          "deep/g/h",      "a/b.dat",
                                        "a/x/y/b.dat",     "logs/t.txt",    "p/q/logs/t.txt",
                                        "logs/q/t.txt",    "x1.y",          "x12.y",
                                        "d/x1.y",          "a1.z",          "c1.z",
                                        "sp ace.dat",      "lit*star.dat",  "litXstar.dat",
                                        "other.bin",       "indented.q",    "plain.txt"};
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/attrs", rt_tmp);
    int st = -1;
    free(rt_sh(&st, GIT " init -q '%s'", dir));
    assert_int_equal(st, 0);
    snprintf(path, sizeof path, "%s/.gitattributes", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(attrs, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/paths", rt_tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        fprintf(f, "%s\n", paths[i]);
    fclose(f);
    char *out = rt_sh(&st, "cd '%s' && " GIT " check-attr filter --stdin < '%s'", dir, path);
    assert_int_equal(st, 0);
    weft_repo_attrs *a = NULL;
    assert_int_equal(weft_repo__attrs_parse(&a, attrs, sizeof attrs - 1), 0);
    const char *line = out;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        char expect_lfs[400];
        snprintf(expect_lfs, sizeof expect_lfs, "%s: filter: lfs", paths[i]);
        int git_lfs = (size_t)(nl - line) == strlen(expect_lfs) &&
                      memcmp(line, expect_lfs, strlen(expect_lfs)) == 0;
        if (git_lfs != weft_repo__attrs_is_lfs(a, paths[i]))
            fail_msg("%s: git says %.*s", paths[i], (int)(nl - line), line);
        line = nl + 1;
    }
    weft_repo__attrs_free(a);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repo_git_conformance, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_repo_git_check_attr, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
