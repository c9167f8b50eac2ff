/* progress: plain lines per finished file and a total; bars mode redraws at most 10 times a second
 * and sums concurrent advances exactly; quiet prints nothing. stderr is captured with dup2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/buf.h"
#include "weft/fsutil.h"
#include "weft/progress.h"

static char capture_path[64];
static int saved_stderr = -1;

static void capture_begin(void)
{
    snprintf(capture_path, sizeof capture_path, "/tmp/weft-progress-XXXXXX");
    int fd = mkstemp(capture_path);
    assert_true(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* Restores stderr; returns what was written (NUL-terminated, caller frees). */
static char *capture_end(void)
{
    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
    close(saved_stderr);
    weft_buf b;
    weft_buf_init(&b, 1 << 24);
    assert_int_equal(weft_fs_read_file(&b, capture_path), 0);
    unlink(capture_path);
    char *s = malloc(b.len + 1);
    assert_non_null(s);
    if (b.len > 0)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    weft_buf_dispose(&b);
    return s;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_client_progress_plain_lines(void **state)
{
    (void)state;
    capture_begin();
    weft_progress *p = NULL;
    assert_int_equal(weft_progress_new(&p, WEFT_PROGRESS_PLAIN, "download"), 0);
    weft_progress_bar *a = weft_progress_add(p, "model.safetensors", 2000);
    weft_progress_bar *b = weft_progress_add(p, "sub/config.json", 0);
    assert_non_null(a);
    assert_non_null(b);
    weft_progress_advance(a, 1500);
    weft_progress_advance(b, 10);
    weft_progress_advance(a, 500);
    weft_progress_finish(b, NULL);
    weft_progress_finish(a, "cached");
    weft_progress_finish(a, "twice"); /* a second finish prints nothing */
    weft_progress_bar *c = weft_progress_add(p, "resumed.bin", 1000);
    weft_progress_set(c, 400);
    weft_progress_advance(c, 600);
    weft_progress_finish(c, "resumed at 40%");
    /* NULL everywhere is accepted. */
    weft_progress_advance(NULL, 1);
    weft_progress_set(NULL, 1);
    weft_progress_finish(NULL, "x");
    assert_null(weft_progress_add(NULL, "x", 1));
    weft_progress_free(p);
    weft_progress_free(NULL);
    char *out = capture_end();

    char *line1 = out, *line2 = strchr(line1, '\n');
    assert_non_null(line2);
    *line2++ = '\0';
    char *line3 = strchr(line2, '\n');
    assert_non_null(line3);
    *line3++ = '\0';
    char *line4 = strchr(line3, '\n');
    assert_non_null(line4);
    *line4++ = '\0';
    char *rest = strchr(line4, '\n');
    assert_non_null(rest);
    *rest++ = '\0';
    assert_string_equal(rest, "");

    assert_true(strncmp(line1, "sub/config.json: 10 bytes in ", 29) == 0);
    assert_non_null(strstr(line1, " s ("));
    assert_non_null(strstr(line1, " MB/s)"));
    assert_null(strchr(line1, '['));
    assert_true(strncmp(line2, "model.safetensors: 2000 bytes in ", 33) == 0);
    assert_non_null(strstr(line2, " MB/s) [cached]"));
    assert_true(strncmp(line3, "resumed.bin: 1000 bytes in ", 27) == 0);
    assert_non_null(strstr(line3, "[resumed at 40%]"));
    assert_true(strncmp(line4, "download: 3 files, 3010 bytes in ", 33) == 0);
    assert_null(strstr(out, "twice"));
    free(out);
}

static void test_client_progress_quiet_prints_nothing(void **state)
{
    (void)state;
    capture_begin();
    weft_progress *p = NULL;
    assert_int_equal(weft_progress_new(&p, WEFT_PROGRESS_QUIET, "upload"), 0);
    weft_progress_bar *a = weft_progress_add(p, "a", 10);
    weft_progress_advance(a, 10);
    weft_progress_finish(a, "done");
    weft_progress_free(p);
    char *out = capture_end();
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(weft_progress_new(&p, 99, "x"), WEFT_EINVALID);
    assert_null(p);
}

#define N_THREADS 8
#define N_ADVANCES 200000

static weft_progress_bar *shared_bar;

static void *advance_main(void *arg)
{
    weft_progress_bar *own = arg;
    for (int i = 0; i < N_ADVANCES; i++) {
        weft_progress_advance(shared_bar, 1);
        weft_progress_advance(own, 3);
    }
    weft_progress_finish(own, NULL);
    return NULL;
}

static void test_client_progress_bars_threads_add_up(void **state)
{
    (void)state;
    capture_begin();
    weft_progress *p = NULL;
    assert_int_equal(weft_progress_new(&p, WEFT_PROGRESS_BARS, "download"), 0);
    shared_bar = weft_progress_add(p, "a/very/long/folder/name/that/needs/cutting/shared.bin",
                                   (uint64_t)N_THREADS * N_ADVANCES);
    assert_non_null(shared_bar);
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        char label[32];
        snprintf(label, sizeof label, "part-%d", i);
        weft_progress_bar *own = weft_progress_add(p, label, 3u * N_ADVANCES);
        assert_non_null(own);
        assert_int_equal(pthread_create(&th[i], NULL, advance_main, own), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    /* Half a second with a running bar: at most 10 frames a second, so 3 to 7 redraws. */
    weft_progress_bar *slow = weft_progress_add(p, "slow", 100);
    weft_progress_advance(slow, 50);
    usleep(520 * 1000);
    weft_progress_finish(shared_bar, "all threads");
    weft_progress_free(p); /* joins the render thread */
    char *out = capture_end();

    char want[128];
    snprintf(want, sizeof want, "shared.bin: %d bytes in ", N_THREADS * N_ADVANCES);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "[all threads]"));
    for (int i = 0; i < N_THREADS; i++) {
        snprintf(want, sizeof want, "part-%d: %d bytes in ", i, 3 * N_ADVANCES);
        assert_non_null(strstr(out, want));
    }
    /* The unfinished bar is reported as such; the total adds everything up. */
    assert_non_null(strstr(out, "slow: 50 bytes in "));
    assert_non_null(strstr(out, "[not finished]"));
    snprintf(want, sizeof want, "download: 10 files, %d bytes in ",
             4 * N_THREADS * N_ADVANCES + 50);
    assert_non_null(strstr(out, want));
    /* Live frames: the long label was cut keeping its end, the running bar shows 50%. */
    assert_non_null(strstr(out, "..."));
    assert_non_null(strstr(out, " 50% "));
    assert_non_null(strstr(out, "slow"));
    size_t redraws = count_of(out, "A\r");
    assert_true(redraws >= 3);
    assert_true(redraws <= 8);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_progress_plain_lines),
        cmocka_unit_test(test_client_progress_quiet_prints_nothing),
        cmocka_unit_test(test_client_progress_bars_threads_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
