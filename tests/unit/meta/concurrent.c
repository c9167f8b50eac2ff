/* Several handles in several threads on one fresh file at once: opening (the first migration),
 * creating users and tokens, racing for the same names (exactly one wins each), checking tokens
 * while others write, and agreeing on a secret made by whoever came first. */
#include <pthread.h>

#include "unit/meta/meta_test.h"

enum { N_THREADS = 4, N_USERS = 25, N_SHARED = 20 };

typedef struct worker {
    int id;
    pthread_barrier_t *start;
    int failures; /* unexpected results */
    int shared_won;
    uint8_t secret[32];
    char err[256];
} worker;

static void worker_fail(worker *w, const char *what, int rc)
{
    if (w->failures++ == 0)
        snprintf(w->err, sizeof w->err, "%s: %d %s", what, rc, weft_err_last());
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    weft_meta *m = NULL;
    pthread_barrier_wait(w->start);
    int rc = weft_meta_open(&m, mt_path);
    if (rc < 0) {
        worker_fail(w, "open", rc);
        return NULL;
    }
    rc = weft_meta_secret(m, "shared", w->secret);
    if (rc < 0)
        worker_fail(w, "secret", rc);
    for (int i = 0; i < N_USERS; i++) {
        char name[32], token[WEFT_TOKEN_LEN + 1];
        weft_token_info info;
        snprintf(name, sizeof name, "t%d-u%d", w->id, i);
        rc = weft_meta_user_create(m, name, 0, NULL);
        if (rc < 0) {
            worker_fail(w, "user", rc);
            continue;
        }
        rc = weft_meta_token_create(m, token, name, WEFT_ROLE_WRITE, "t", NULL);
        if (rc < 0) {
            worker_fail(w, "token", rc);
            continue;
        }
        rc = weft_meta_token_check(m, token, &info);
        if (rc < 0 || strcmp(info.user, name) != 0)
            worker_fail(w, "check", rc);
        /* Everyone races for the same names. */
        snprintf(name, sizeof name, "shared%d", i % N_SHARED);
        rc = weft_meta_user_create(m, name, 0, NULL);
        if (rc == 0)
            w->shared_won++;
        else if (rc != WEFT_EEXISTS)
            worker_fail(w, "shared user", rc);
    }
    weft_meta_close(m);
    return NULL;
}

static int count_account(const weft_account *a, void *payload)
{
    (void)a;
    ++*(int *)payload;
    return 0;
}

static int count_token(const weft_token_info *t, void *payload)
{
    (void)t;
    ++*(int *)payload;
    return 0;
}

static void test_meta_concurrent_writers(void **state)
{
    (void)state;
    pthread_barrier_t start;
    pthread_t threads[N_THREADS];
    worker w[N_THREADS];
    pthread_barrier_init(&start, NULL, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.id = i, .start = &start};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &w[i]), 0);
    }
    int won = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (w[i].failures)
            print_error("thread %d: %d failures, first %s\n", i, w[i].failures, w[i].err);
        assert_int_equal(w[i].failures, 0);
        assert_memory_equal(w[i].secret, w[0].secret, 32);
        won += w[i].shared_won;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(won, N_SHARED);
    weft_meta *m = mt_open();
    int accounts = 0, tokens = 0;
    assert_int_equal(weft_meta_account_list(m, count_account, &accounts), 0);
    assert_int_equal(accounts, N_THREADS * N_USERS + N_SHARED);
    assert_int_equal(weft_meta_token_list(m, NULL, count_token, &tokens), 0);
    assert_int_equal(tokens, N_THREADS * N_USERS);
    uint8_t k[32];
    assert_int_equal(weft_meta_secret(m, "shared", k), 0);
    assert_memory_equal(k, w[0].secret, 32);
    weft_meta_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_concurrent_writers, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
