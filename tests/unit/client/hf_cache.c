/* hf_cache: folder names, path validation, relative links that resolve to the blob, refs, the
 * flock that huggingface_hub's filelock also takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/fsutil.h"
#include "weft/hf_cache.h"

static char tmpdir[256];
static const char *commit1 = "0123456789abcdef0123456789abcdef01234567";
static const char *sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *gitsha = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

static int hc_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-hfcache-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int hc_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect_folder(const char *type, const char *id, const char *want)
{
    char *out = NULL;
    assert_int_equal(weft_hf_cache_repo_folder(&out, type, id), 0);
    assert_string_equal(out, want);
    free(out);
}

static void expect_folder_invalid(const char *type, const char *id)
{
    char *out = (char *)1;
    assert_int_equal(weft_hf_cache_repo_folder(&out, type, id), WEFT_EINVALID);
    assert_null(out);
}

static void test_client_hf_cache_folder_names(void **state)
{
    (void)state;
    expect_folder("model", "ns/name", "models--ns--name");
    expect_folder("dataset", "ns/name", "datasets--ns--name");
    expect_folder("space", "ns/name", "spaces--ns--name");
    expect_folder("model", "gpt2", "models--gpt2");
    expect_folder("model", "Org_1/my-model.v2", "models--Org_1--my-model.v2");
    expect_folder_invalid("models", "ns/name");
    expect_folder_invalid("model", "");
    expect_folder_invalid("model", "a/b/c");
    expect_folder_invalid("model", "../x");
    expect_folder_invalid("model", "ns/..");
    expect_folder_invalid("model", "ns/a--b");
    expect_folder_invalid("model", "/name");
    expect_folder_invalid("model", "ns/");
    expect_folder_invalid("model", "ns/na me");

    char *dir = NULL;
    assert_int_equal(weft_hf_cache_repo_dir(&dir, "/c", "dataset", "a/b"), 0);
    assert_string_equal(dir, "/c/datasets--a--b");
    free(dir);
}

static void test_client_hf_cache_paths_validated(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(weft_hf_cache_blob_path(&out, "/r", sha256), 0);
    assert_string_equal(
        out, "/r/blobs/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(out);
    assert_int_equal(weft_hf_cache_blob_path(&out, "/r", gitsha), 0);
    free(out);
    assert_int_equal(
        weft_hf_cache_blob_path(&out, "/r", "E69DE29BB2D1D6434B8B29AE775AD8C2E48C5391"),
        WEFT_EINVALID);
    assert_int_equal(weft_hf_cache_blob_path(&out, "/r", "../../etc/passwd"), WEFT_EINVALID);
    assert_int_equal(weft_hf_cache_blob_path(&out, "/r", "abc"), WEFT_EINVALID);

    assert_int_equal(weft_hf_cache_snapshot_path(&out, "/r", commit1, "a/b.txt"), 0);
    assert_string_equal(out, "/r/snapshots/0123456789abcdef0123456789abcdef01234567/a/b.txt");
    free(out);
    const char *bad[] = {"../x", "a/../b", "/etc/passwd", "", "a//b", "a/", "..", "a/./b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = NULL;
        assert_int_equal(weft_hf_cache_snapshot_path(&out, "/r", commit1, bad[i]), WEFT_EINVALID);
        assert_null(out);
        assert_int_equal(weft_hf_cache_link(tmpdir, commit1, bad[i], sha256), WEFT_EINVALID);
        assert_int_equal(weft_hf_cache_mark_absent(tmpdir, commit1, bad[i]), WEFT_EINVALID);
    }
    assert_int_equal(weft_hf_cache_snapshot_path(&out, "/r", "main", "a"), WEFT_EINVALID);
    assert_int_equal(weft_hf_cache_ref_write(tmpdir, "../escape", commit1), WEFT_EINVALID);
    assert_int_equal(weft_hf_cache_ref_write(tmpdir, "main", "nothex"), WEFT_EINVALID);
}

/* The link must be relative (the cache can move) and resolve to the blob at every depth. */
static void check_link(const char *repo, const char *path, const char *etag, const char *want)
{
    assert_int_equal(weft_hf_cache_link(repo, commit1, path, etag), 0);
    char *snap = NULL, *blob = NULL;
    assert_int_equal(weft_hf_cache_snapshot_path(&snap, repo, commit1, path), 0);
    assert_int_equal(weft_hf_cache_blob_path(&blob, repo, etag), 0);
    char target[PATH_MAX];
    ssize_t n = readlink(snap, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, want);
    char real_snap[PATH_MAX], real_blob[PATH_MAX];
    assert_non_null(realpath(snap, real_snap));
    assert_non_null(realpath(blob, real_blob));
    assert_string_equal(real_snap, real_blob);
    free(snap);
    free(blob);
}

static void test_client_hf_cache_link_resolves(void **state)
{
    (void)state;
    char repo[400], blob[500];
    snprintf(repo, sizeof repo, "%s/models--ns--name", tmpdir);
    snprintf(blob, sizeof blob, "%s/blobs", repo);
    assert_int_equal(weft_fs_mkdirs(blob), 0);
    snprintf(blob, sizeof blob, "%s/blobs/%s", repo, sha256);
    assert_int_equal(weft_fs_write_atomic(blob, "lfs", 3), 0);
    snprintf(blob, sizeof blob, "%s/blobs/%s", repo, gitsha);
    assert_int_equal(weft_fs_write_atomic(blob, "git", 3), 0);

    char want[200];
    snprintf(want, sizeof want, "../../blobs/%s", sha256);
    check_link(repo, "model.safetensors", sha256, want);
    snprintf(want, sizeof want, "../../../blobs/%s", gitsha);
    check_link(repo, "sub/config.json", gitsha, want);
    snprintf(want, sizeof want, "../../../../../blobs/%s", sha256);
    check_link(repo, "a/b/c/deep.bin", sha256, want);
    /* Relinking replaces the old target. */
    snprintf(want, sizeof want, "../../blobs/%s", gitsha);
    check_link(repo, "model.safetensors", gitsha, want);

    char marker[600];
    assert_int_equal(weft_hf_cache_mark_absent(repo, commit1, "x/missing.txt"), 0);
    snprintf(marker, sizeof marker, "%s/.no_exist/%s/x/missing.txt", repo, commit1);
    struct stat st;
    assert_int_equal(stat(marker, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 0);
}

static void test_client_hf_cache_ref_round_trip(void **state)
{
    (void)state;
    char repo[400], commit[41];
    snprintf(repo, sizeof repo, "%s/datasets--ns--refs", tmpdir);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "main"), WEFT_ENOTFOUND);
    assert_int_equal(weft_hf_cache_ref_write(repo, "main", commit1), 0);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "main"), 0);
    assert_string_equal(commit, commit1);

    /* Revisions with '/' are nested files, as huggingface_hub writes them. */
    const char *commit2 = "89abcdef0123456789abcdef0123456789abcdef";
    assert_int_equal(weft_hf_cache_ref_write(repo, "refs/pr/1", commit2), 0);
    char file[600];
    snprintf(file, sizeof file, "%s/refs/refs/pr/1", repo);
    weft_buf b;
    weft_buf_init(&b, 100);
    assert_int_equal(weft_fs_read_file(&b, file), 0);
    assert_int_equal(b.len, 40);
    assert_memory_equal(b.data, commit2, 40);
    weft_buf_dispose(&b);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "refs/pr/1"), 0);
    assert_string_equal(commit, commit2);

    /* Overwrite; a trailing newline (hand-edited file) is accepted. */
    assert_int_equal(weft_hf_cache_ref_write(repo, "main", commit2), 0);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "main"), 0);
    assert_string_equal(commit, commit2);
    snprintf(file, sizeof file, "%s/refs/v1", repo);
    char content[42];
    snprintf(content, sizeof content, "%s\n", commit1);
    assert_int_equal(weft_fs_write_atomic(file, content, 41), 0);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "v1"), 0);
    assert_string_equal(commit, commit1);
    assert_int_equal(weft_fs_write_atomic(file, "garbage", 7), 0);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, "v1"), WEFT_ECORRUPT);

    /* A commit as revision: no ref file, found through its snapshot folder. */
    assert_int_equal(weft_hf_cache_ref_write(repo, commit1, commit1), 0);
    snprintf(file, sizeof file, "%s/refs/%s", repo, commit1);
    assert_false(weft_fs_exists(file));
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, commit1), WEFT_ENOTFOUND);
    snprintf(file, sizeof file, "%s/snapshots/%s", repo, commit1);
    assert_int_equal(weft_fs_mkdirs(file), 0);
    assert_int_equal(weft_hf_cache_ref_read(commit, repo, commit1), 0);
    assert_string_equal(commit, commit1);
}

static void test_client_hf_cache_lock_excludes(void **state)
{
    (void)state;
    int fd = -1;
    assert_int_equal(weft_hf_cache_lock(&fd, tmpdir, "models--ns--name", sha256), 0);
    assert_true(fd >= 0);
    char file[600];
    snprintf(file, sizeof file, "%s/.locks/models--ns--name/%s.lock", tmpdir, sha256);

    /* A second open file description (what another process gets) cannot take it. */
    int other = open(file, O_RDWR);
    assert_true(other >= 0);
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);

    /* A child blocks in weft_hf_cache_lock until we unlock. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        int cfd = -1;
        if (weft_hf_cache_lock(&cfd, tmpdir, "models--ns--name", sha256) != 0)
            _exit(2);
        if (write(pipefd[1], "L", 1) != 1)
            _exit(3);
        weft_hf_cache_unlock(cfd);
        _exit(0);
    }
    close(pipefd[1]);
    int fl = fcntl(pipefd[0], F_GETFL);
    assert_int_equal(fcntl(pipefd[0], F_SETFL, fl | O_NONBLOCK), 0);
    usleep(200 * 1000);
    char c;
    assert_int_equal(read(pipefd[0], &c, 1), -1); /* still waiting for the lock */
    weft_hf_cache_unlock(fd);
    assert_int_equal(fcntl(pipefd[0], F_SETFL, fl), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(pipefd[0]);

    /* Free again: the second descriptor takes it now. */
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
    close(other);
    weft_hf_cache_unlock(-1);
    assert_int_equal(weft_hf_cache_lock(&fd, tmpdir, "../x", sha256), WEFT_EINVALID);
    assert_int_equal(fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_hf_cache_folder_names),
        cmocka_unit_test(test_client_hf_cache_paths_validated),
        cmocka_unit_test(test_client_hf_cache_link_resolves),
        cmocka_unit_test(test_client_hf_cache_ref_round_trip),
        cmocka_unit_test(test_client_hf_cache_lock_excludes),
    };
    return cmocka_run_group_tests(tests, hc_setup, hc_teardown);
}
