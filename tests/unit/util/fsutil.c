/* fsutil: atomic replace, mkdirs, bounded whole-file reads, exact preads; err messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/fsutil.h"

static char tmpdir[256];

static int fs_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-fsutil-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int fs_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_util_fsutil_atomic_write_replaces(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/a/b/c", tmpdir);
    assert_int_equal(weft_fs_mkdirs(path), 0);
    assert_int_equal(weft_fs_mkdirs(path), 0); /* existing is fine */
    snprintf(path, sizeof path, "%s/a/b/c/file", tmpdir);
    assert_int_equal(weft_fs_write_atomic(path, "first", 5), 0);
    assert_int_equal(weft_fs_write_atomic(path, "second!", 7), 0);
    weft_buf b;
    weft_buf_init(&b, 1024);
    assert_int_equal(weft_fs_read_file(&b, path), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "second!", 7);
    weft_buf_dispose(&b);
    /* No temp file left behind. */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_false(weft_fs_exists(tmp));
}

static void test_util_fsutil_read_file_bounded(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/big", tmpdir);
    static uint8_t data[200000];
    memset(data, 'x', sizeof data);
    assert_int_equal(weft_fs_write_atomic(path, data, sizeof data), 0);
    weft_buf b;
    weft_buf_init(&b, 100000);
    assert_int_equal(weft_fs_read_file(&b, path), WEFT_ELIMIT);
    assert_true(b.len <= 100000);
    weft_buf_dispose(&b);
    weft_buf_init(&b, 200000);
    assert_int_equal(weft_fs_read_file(&b, path), 0);
    assert_int_equal(b.len, 200000);
    weft_buf_dispose(&b);

    snprintf(path, sizeof path, "%s/missing", tmpdir);
    weft_buf_init(&b, 10);
    assert_int_equal(weft_fs_read_file(&b, path), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "missing"));
    weft_buf_dispose(&b);
}

static void test_util_fsutil_pread_short_file_is_corrupt(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/short", tmpdir);
    assert_int_equal(weft_fs_write_atomic(path, "0123456789", 10), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    char got[8];
    assert_int_equal(weft_fs_pread_full(fd, got, 4, 3, path), 0);
    assert_memory_equal(got, "3456", 4);
    assert_int_equal(weft_fs_pread_full(fd, got, 8, 5, path), WEFT_ECORRUPT);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_fsutil_atomic_write_replaces),
        cmocka_unit_test(test_util_fsutil_read_file_bounded),
        cmocka_unit_test(test_util_fsutil_pread_short_file_is_corrupt),
    };
    return cmocka_run_group_tests(tests, fs_setup, fs_teardown);
}
