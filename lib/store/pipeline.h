/* Internal to lib/store: the buffers and the SHA-256 thread of an ingest (pipeline.c).
 *
 * Slabs are 8 MiB buffers the input is read into once; the chunker runs over them in place, the
 * SHA-256 thread hashes them in place, and new chunks are written to xorb objects straight from
 * them. A slab is reference-counted (the reader, each SHA-256 job, each xorb plan that points
 * into it) and goes back to the pool when the count drops to zero. The pool holds at most
 * WEFT_STORE_SLAB_MAX slabs, which bounds an ingest's memory; the pool's lock guards every
 * count. The SHA-256 worker consumes (slab, offset, length) jobs in order on its own thread and
 * drops each job's reference when done. */
#ifndef WEFT_STORE_PIPELINE_H
#define WEFT_STORE_PIPELINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/sha256.h"

#define WEFT_STORE_SLAB_LEN (8u << 20)
#define WEFT_STORE_SLAB_MAX 24

typedef struct weft_store_slab {
    uint8_t *p;
    size_t len; /* bytes filled, written by the slab's reader only */
    int refs;   /* under the pool's lock */
} weft_store_slab;

typedef struct weft_store_slab_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    weft_store_slab slabs[WEFT_STORE_SLAB_MAX];
    int n; /* slabs allocated so far */
} weft_store_slab_pool;

void weft_store__pool_init(weft_store_slab_pool *pool);

/* Frees every slab; none may be referenced any more. */
void weft_store__pool_dispose(weft_store_slab_pool *pool);

/* A free slab (refs 1, len 0). With wait, blocks until one is released; without, *out is NULL
 * when all WEFT_STORE_SLAB_MAX are in use. WEFT_ENOMEM if a new slab cannot be allocated. */
int weft_store__pool_acquire(weft_store_slab_pool *pool, int wait, weft_store_slab **out);

void weft_store__slab_ref(weft_store_slab_pool *pool, weft_store_slab *slab);
void weft_store__slab_unref(weft_store_slab_pool *pool, weft_store_slab *slab);

typedef struct weft_store_sha weft_store_sha;

/* Starts the SHA-256 thread. */
int weft_store__sha_start(weft_store_sha **out, weft_store_slab_pool *pool);

/* Queues slab bytes [off, off + len) for hashing, taking a reference to the slab (blocks while
 * the queue is full). */
void weft_store__sha_feed(weft_store_sha *w, weft_store_slab *slab, size_t off, size_t len);

/* Waits for the queue to drain, writes the digest (unless out is NULL) and frees the worker. */
void weft_store__sha_finish(weft_store_sha *w, uint8_t out[WEFT_SHA256_LEN]);

#endif
