/* Internal to lib/store: the buffers and the SHA-256 thread of an ingest (pipeline.c).
 *
 * Slabs are 8 MiB buffers the input is read into once; the chunker runs over them in place, the
 * SHA-256 thread hashes them in place, and new chunks are written to xorb objects straight from
 * them. A slab is reference-counted (the reader, each SHA-256 job, each xorb plan that points
 * into it) and goes back to the pool when the count drops to zero. The pool holds at most
 * WEFT_STORE_SLAB_MAX slabs, which bounds an ingest's memory; the pool's lock guards every
 * count. The SHA-256 worker consumes (slab, offset, length) jobs in order on its own thread and
 * drops each job's reference when done.
 *
 * For a regular file (weft_store_put_fd) a source worker does the reading: one thread that
 * read()s the input into slabs, feeds each to its own SHA-256 worker and queues it for the
 * chunking thread. That takes the kernel's read copy off the chunking thread, which was the one
 * that bounded ingest on two cores. The data of a source slab starts at WEFT_STORE_SLAB_HEAD,
 * leaving room in front for the unfinished chunk carried over from the previous slab. */
#ifndef WEFT_STORE_PIPELINE_H
#define WEFT_STORE_PIPELINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/chunker.h"
#include "weft/sha256.h"

#define WEFT_STORE_SLAB_LEN (8u << 20)
#define WEFT_STORE_SLAB_MAX 24
#define WEFT_STORE_SLAB_HEAD WEFT_XET_CHUNK_MAX /* room for a carried-over chunk tail */

typedef struct weft_store_slab {
    uint8_t *p;
    size_t len; /* bytes filled, written by the slab's reader only */
    int refs;   /* under the pool's lock */
} weft_store_slab;

typedef struct weft_store_slab_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    weft_store_slab slabs[WEFT_STORE_SLAB_MAX];
    int n;       /* slabs allocated so far */
    int stopped; /* weft_store__pool_stop: waiting acquires return with no slab */
} weft_store_slab_pool;

void weft_store__pool_init(weft_store_slab_pool *pool);

/* Frees every slab; none may be referenced any more. */
void weft_store__pool_dispose(weft_store_slab_pool *pool);

/* A free slab (refs 1, len 0). With wait, blocks until one is released; without, *out is NULL
 * when all WEFT_STORE_SLAB_MAX are in use. WEFT_ENOMEM if a new slab cannot be allocated. */
int weft_store__pool_acquire(weft_store_slab_pool *pool, int wait, weft_store_slab **out);

/* Wakes every acquire waiting for a slab and makes later waits return at once with *out NULL
 * (an ingest being aborted). */
void weft_store__pool_stop(weft_store_slab_pool *pool);

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

typedef struct weft_store_source weft_store_source;

/* Starts the source thread reading fd (borrowed, until weft_store__source_finish) into slabs of
 * pool. */
WEFT_MUST_USE int weft_store__source_start(weft_store_source **out, weft_store_slab_pool *pool,
                                           int fd);

/* The next filled slab, in input order: its data is [WEFT_STORE_SLAB_HEAD, len), one reference
 * is the caller's. *out is NULL at the end of the input. Without wait_starved, also returns with
 * *out NULL and *starved 1 when the source is waiting for a free slab: the caller must release
 * some (flush its xorb plans) and call again with wait_starved. A read error is returned here,
 * with its message. */
WEFT_MUST_USE int weft_store__source_next(weft_store_source *src, int wait_starved,
                                          weft_store_slab **out, int *starved);

/* Stops the thread (if still reading), drops the slabs still queued and frees the source. With
 * out non-NULL, which requires the end of the input to have been returned by
 * weft_store__source_next, writes the SHA-256 of all the input. NULL is fine. */
void weft_store__source_finish(weft_store_source *src, uint8_t out[WEFT_SHA256_LEN]);

#endif
