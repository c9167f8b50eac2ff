/* SHA-256 on a second thread (lib/store/sha_worker.h): SHA-256 is sequential within a file and
 * about as slow as chunking + BLAKE3, so ingest overlaps them. Bytes are copied into a ring of
 * fixed slots; the producer waits when all slots are full, so memory stays bounded. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sha_worker.h"

#define SHA_SLOT_LEN (1u << 20)
#define SHA_SLOTS 4

struct sha_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    weft_sha256 sha;
    uint8_t *slots[SHA_SLOTS];
    size_t lens[SHA_SLOTS];
    size_t head, tail; /* filled slots are [head, tail) modulo SHA_SLOTS, counted */
    int done;
};

static void *sha_worker_main(void *arg)
{
    sha_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == w->tail && !w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == w->tail)
            break;
        size_t i = w->head % SHA_SLOTS;
        pthread_mutex_unlock(&w->mu);
        weft_sha256_update(&w->sha, w->slots[i], w->lens[i]);
        pthread_mutex_lock(&w->mu);
        w->head++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sha_worker_start(sha_worker **out)
{
    sha_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return weft_err_set(WEFT_ENOMEM, "sha256 worker: out of memory");
    int rc = weft_sha256_init(&w->sha);
    for (int i = 0; rc == 0 && i < SHA_SLOTS; i++) {
        w->slots[i] = malloc(SHA_SLOT_LEN);
        if (w->slots[i] == NULL)
            rc = weft_err_set(WEFT_ENOMEM, "sha256 worker: out of memory");
    }
    if (rc == 0) {
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->thread, NULL, sha_worker_main, w) != 0) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
            rc = weft_err_set(WEFT_ENOMEM, "sha256 worker: cannot start a thread");
        }
    }
    if (rc < 0) {
        for (int i = 0; i < SHA_SLOTS; i++)
            free(w->slots[i]);
        if (w->sha.ctx != NULL)
            weft_sha256_dispose(&w->sha);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void sha_worker_feed(sha_worker *w, const void *p, size_t n)
{
    const uint8_t *src = p;
    while (n > 0) {
        size_t take = n < SHA_SLOT_LEN ? n : SHA_SLOT_LEN;
        pthread_mutex_lock(&w->mu);
        while (w->tail - w->head == SHA_SLOTS)
            pthread_cond_wait(&w->cv, &w->mu);
        size_t i = w->tail % SHA_SLOTS;
        pthread_mutex_unlock(&w->mu);
        /* Slot i is the producer's until tail moves past it. */
        memcpy(w->slots[i], src, take);
        w->lens[i] = take;
        pthread_mutex_lock(&w->mu);
        w->tail++;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        src += take;
        n -= take;
    }
}

void sha_worker_finish(sha_worker *w, uint8_t out[WEFT_SHA256_LEN])
{
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (out != NULL)
        weft_sha256_final(&w->sha, out);
    weft_sha256_dispose(&w->sha);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    for (int i = 0; i < SHA_SLOTS; i++)
        free(w->slots[i]);
    free(w);
}
