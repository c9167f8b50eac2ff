/* Concurrency inside one process: several threads, each with its own handle, ingest files that
 * share most of their chunks into one store at once (and two of them the very same file); all
 * succeed, every file reads back, and fsck is clean. Separate processes are covered by
 * tests/integration/store_concurrent.sh. */
#include <pthread.h>

#include "unit/store/store_test.h"

#define THREADS 4

static uint8_t *shared;
static size_t n_shared = 12 * MIB;

typedef struct job {
    int id;
    uint8_t *data;
    size_t n;
    int rc;
    weft_store_put_result r;
} job;

static void *run(void *arg)
{
    job *j = arg;
    weft_store *s = NULL;
    j->rc = weft_store_open(&s, st_dir);
    if (j->rc < 0)
        return NULL;
    weft_store_set_xorb_limit(s, 2 * MIB); /* many xorb commits racing each other */
    weft_store_ingest *in = NULL;
    j->rc = weft_store_ingest_begin(s, &in);
    for (size_t o = 0; j->rc == 0 && o < j->n; o += MIB) {
        size_t k = j->n - o < MIB ? j->n - o : MIB;
        j->rc = weft_store_ingest_feed(in, j->data + o, k);
    }
    if (j->rc == 0)
        j->rc = weft_store_ingest_finish(in, &j->r);
    else
        weft_store_ingest_abort(in);
    weft_store_close(s);
    return NULL;
}

static void test_store_concurrent_threads(void **state)
{
    (void)state;
    shared = st_random(n_shared, 1);
    job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        /* A different head on the shared body; threads 2 and 3 put the very same file. */
        size_t head = (size_t)(i == 3 ? 2 : i) * MIB + 1;
        jobs[i] = (job){.id = i, .n = head + n_shared};
        jobs[i].data = malloc(jobs[i].n);
        assert_non_null(jobs[i].data);
        tu_fill_random(jobs[i].data, head, 100 + (uint64_t)(i == 3 ? 2 : i));
        memcpy(jobs[i].data + head, shared, n_shared);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run, &jobs[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    weft_store *s = st_open();
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(jobs[i].rc, 0);
        st_check_file(s, &jobs[i].r.file.xet_hash, jobs[i].data, jobs[i].n);
    }
    assert_memory_equal(jobs[2].r.file.xet_hash.b, jobs[3].r.file.xet_hash.b, 32);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 3);
    /* Racing uploads may each store a shared chunk once, never more: at most 4 copies. */
    assert_true(st.unique_bytes <= 4 * n_shared + 8 * MIB);
    weft_store_fsck_result fr;
    assert_int_equal(weft_store_fsck(s, NULL, NULL, &fr), 0);
    assert_int_equal(fr.problems, 0);
    weft_store_close(s);
    for (int i = 0; i < THREADS; i++)
        free(jobs[i].data);
    free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_concurrent_threads, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
