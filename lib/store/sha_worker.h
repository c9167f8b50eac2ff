/* Internal to lib/store: a SHA-256 computed on its own thread while the caller chunks.
 * start -> feed (copies; blocks while 4 MiB are queued) -> finish (joins, frees, writes the
 * digest unless out is NULL). One producer thread. */
#ifndef WEFT_STORE_SHA_WORKER_H
#define WEFT_STORE_SHA_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "weft/sha256.h"

typedef struct sha_worker sha_worker;

int sha_worker_start(sha_worker **out);
void sha_worker_feed(sha_worker *w, const void *p, size_t n);
void sha_worker_finish(sha_worker *w, uint8_t out[WEFT_SHA256_LEN]);

#endif
