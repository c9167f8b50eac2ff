/* cache_scan: a cache built with the hf_cache layout functions is scanned (blobs once, revisions,
 * nested refs, odd entries skipped), revisions are found by ref, commit and prefix, and removal
 * keeps what a surviving revision links to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/cache_scan.h"
#include "weft/fsutil.h"
#include "weft/hf_cache.h"

static char tmpdir[256];
static char repo[400];
static const char *c_old = "1111111111111111111111111111111111111111";
static const char *c_new = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *b_shared = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *b_old = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char *b_new = "cccccccccccccccccccccccccccccccccccccccc";
static const char *b_orphan = "dddddddddddddddddddddddddddddddddddddddd";

static void put_blob(const char *etag, size_t size)
{
    char *path = NULL;
    assert_int_equal(weft_hf_cache_blob_path(&path, repo, etag), 0);
    char *data = calloc(1, size + 1);
    assert_non_null(data);
    assert_int_equal(weft_fs_write_atomic(path, data, size), 0);
    free(data);
    free(path);
}

static int cs_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-cachescan-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(repo, sizeof repo, "%s/models--ns--m", tmpdir);
    char path[500];
    snprintf(path, sizeof path, "%s/blobs", repo);
    if (weft_fs_mkdirs(path) != 0)
        return -1;
    put_blob(b_shared, 1000);
    put_blob(b_old, 10);
    put_blob(b_new, 20);
    put_blob(b_orphan, 5);
    if (weft_hf_cache_link(repo, c_old, "w/shared.bin", b_shared) != 0 ||
        weft_hf_cache_link(repo, c_old, "config.json", b_old) != 0 ||
        weft_hf_cache_link(repo, c_old, "again.bin", b_shared) != 0 ||
        weft_hf_cache_link(repo, c_new, "w/shared.bin", b_shared) != 0 ||
        weft_hf_cache_link(repo, c_new, "config.json", b_new) != 0 ||
        weft_hf_cache_ref_write(repo, "main", c_new) != 0 ||
        weft_hf_cache_ref_write(repo, "refs/pr/1", c_old) != 0 ||
        weft_hf_cache_ref_write(repo, "v1", c_old) != 0 ||
        weft_hf_cache_mark_absent(repo, c_old, "missing.txt") != 0)
        return -1;
    /* Things that are not repos, or not what they claim, are skipped. */
    snprintf(path, sizeof path, "%s/.locks/models--ns--m", tmpdir);
    if (weft_fs_mkdirs(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/models--a--b--c/blobs", tmpdir);
    if (weft_fs_mkdirs(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/datasets--ns--d/snapshots/%s", tmpdir, c_old);
    if (weft_fs_mkdirs(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/version.txt", tmpdir);
    return weft_fs_write_atomic(path, "1", 1) == 0 ? 0 : -1;
}

static int cs_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const weft_cache_revision *rev_of(const weft_cache_repo *r, const char *commit)
{
    for (size_t i = 0; i < r->n_revs; i++)
        if (strcmp(r->revs[i].commit, commit) == 0)
            return &r->revs[i];
    return NULL;
}

static void test_client_cache_scan_counts(void **state)
{
    (void)state;
    weft_cache_scan *s = NULL;
    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, NULL), 0);
    assert_int_equal(s->n_repos, 2);
    assert_string_equal(s->repos[0].type, "dataset");
    assert_string_equal(s->repos[0].id, "ns/d");
    const weft_cache_repo *r = weft_cache_scan_find(s, "model", "ns/m");
    assert_non_null(r);
    assert_null(weft_cache_scan_find(s, "dataset", "ns/m"));
    assert_int_equal(r->size, 1035);
    assert_int_equal(r->n_files, 4);
    assert_int_equal(r->n_revs, 2);
    const weft_cache_revision *o = rev_of(r, c_old), *n = rev_of(r, c_new);
    assert_non_null(o);
    assert_non_null(n);
    assert_int_equal(o->n_files, 3);
    assert_int_equal(o->size, 1010); /* shared.bin linked twice, counted once */
    assert_int_equal(o->n_refs, 2);
    assert_string_equal(o->refs[0], "refs/pr/1");
    assert_string_equal(o->refs[1], "v1");
    assert_int_equal(n->size, 1020);
    assert_int_equal(n->n_refs, 1);
    assert_string_equal(n->refs[0], "main");
    assert_int_equal(s->size, 1035);
    weft_cache_scan_free(s);

    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "dataset"), 0);
    assert_int_equal(s->n_repos, 1);
    weft_cache_scan_free(s);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope", tmpdir);
    assert_int_equal(weft_cache_scan_dir(&s, missing, NULL), 0);
    assert_int_equal(s->n_repos, 0);
    weft_cache_scan_free(s);
}

static void test_client_cache_scan_find_revision(void **state)
{
    (void)state;
    weft_cache_scan *s = NULL;
    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "model"), 0);
    const weft_cache_repo *r = weft_cache_scan_find(s, "model", "ns/m");
    const weft_cache_revision *v = NULL;
    assert_int_equal(weft_cache_find_revision(&v, r, "main"), 0);
    assert_string_equal(v->commit, c_new);
    assert_int_equal(weft_cache_find_revision(&v, r, "refs/pr/1"), 0);
    assert_string_equal(v->commit, c_old);
    assert_int_equal(weft_cache_find_revision(&v, r, c_old), 0);
    assert_string_equal(v->commit, c_old);
    assert_int_equal(weft_cache_find_revision(&v, r, "1111111a"), 0);
    assert_string_equal(v->commit, c_new);
    assert_int_equal(weft_cache_find_revision(&v, r, "1111111"), WEFT_EINVALID); /* both */
    assert_int_equal(weft_cache_find_revision(&v, r, "111111"), WEFT_ENOTFOUND); /* too short */
    assert_int_equal(weft_cache_find_revision(&v, r, "dev"), WEFT_ENOTFOUND);
    assert_null(v);
    weft_cache_scan_free(s);
}

typedef struct seen {
    char what[8][16];
    int n;
} seen;

static void record(const char *what, const char *path, uint64_t size, void *payload)
{
    (void)path;
    (void)size;
    seen *sn = payload;
    if (sn->n < 8)
        snprintf(sn->what[sn->n++], sizeof sn->what[0], "%s", what);
}

static void test_client_cache_scan_remove_revision(void **state)
{
    (void)state;
    weft_cache_scan *s = NULL;
    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "model"), 0);
    const weft_cache_repo *r = weft_cache_scan_find(s, "model", "ns/m");
    int doomed[2] = {0, 0};
    doomed[rev_of(r, c_old) - r->revs] = 1;
    uint64_t freed = 0;
    seen sn = {.n = 0};
    /* Dry run: reports the two refs, the snapshot, the old-only and the orphan blob. */
    assert_int_equal(weft_cache_remove(&freed, s, r, doomed, 0, 1, record, &sn), 0);
    assert_int_equal(freed, 15);
    assert_int_equal(sn.n, 5);
    char path[600];
    snprintf(path, sizeof path, "%s/snapshots/%s", repo, c_old);
    assert_true(weft_fs_exists(path));

    assert_int_equal(weft_cache_remove(&freed, s, r, doomed, 0, 0, NULL, NULL), 0);
    assert_int_equal(freed, 15);
    weft_cache_scan_free(s);
    assert_false(weft_fs_exists(path));
    snprintf(path, sizeof path, "%s/refs/refs", repo); /* nested ref folders go too */
    assert_false(weft_fs_exists(path));
    snprintf(path, sizeof path, "%s/.no_exist/%s", repo, c_old);
    assert_false(weft_fs_exists(path));
    snprintf(path, sizeof path, "%s/blobs/%s", repo, b_shared);
    assert_true(weft_fs_exists(path));
    snprintf(path, sizeof path, "%s/blobs/%s", repo, b_old);
    assert_false(weft_fs_exists(path));

    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "model"), 0);
    r = weft_cache_scan_find(s, "model", "ns/m");
    assert_int_equal(r->n_revs, 1);
    assert_int_equal(r->size, 1020);
    char commit[41];
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "main"), 0);
    assert_string_equal(commit, c_new);

    /* A prune dooming the last revision while a download is under way keeps the folder. */
    doomed[0] = 1;
    char part[600];
    snprintf(part, sizeof part, "%s/blobs/%s.incomplete", repo, b_orphan);
    assert_int_equal(weft_fs_write_atomic(part, "x", 1), 0);
    weft_cache_scan_free(s);
    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "model"), 0);
    r = weft_cache_scan_find(s, "model", "ns/m");
    assert_int_equal(weft_cache_remove(&freed, s, r, doomed, 1, 1, NULL, NULL), 0);
    assert_int_equal(freed, 1020); /* its blobs, not the folder: the download stays */
    assert_true(weft_fs_exists(part));
    assert_int_equal(unlink(part), 0);
    weft_cache_scan_free(s);
    assert_int_equal(weft_cache_scan_dir(&s, tmpdir, "model"), 0);
    r = weft_cache_scan_find(s, "model", "ns/m");

    /* The last revision: the folder and its locks go. */
    assert_int_equal(weft_cache_remove(&freed, s, r, doomed, 0, 0, NULL, NULL), 0);
    assert_int_equal(freed, 1020);
    weft_cache_scan_free(s);
    assert_false(weft_fs_exists(repo));
    snprintf(path, sizeof path, "%s/.locks/models--ns--m", tmpdir);
    assert_false(weft_fs_exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_cache_scan_counts),
        cmocka_unit_test(test_client_cache_scan_find_revision),
        cmocka_unit_test(test_client_cache_scan_remove_revision),
    };
    return cmocka_run_group_tests(tests, cs_setup, cs_teardown);
}
