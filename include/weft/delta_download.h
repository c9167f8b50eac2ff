/* Delta downloads (Weft's extension, docs/http-api.md "Delta downloads"): when a Hub announces
 * on resolve that a file can be had as a delta against bases (`X-Weft-Delta-Base: <sha256>,...`)
 * and one of those bases is already a blob in the local Hugging Face cache (any repo's
 * blobs/<sha256>), the fetcher downloads the portable delta (weft/delta_file.h) instead of the
 * file and rebuilds the file from the cached base, checking the base's identity and the SHA-256
 * of the result; weft_download_run then verifies the file like any other download.
 *
 * The fetcher plugs into weft_download_opts as `delta_fetch` (the same shape as the Xet
 * fetcher). Anything that goes wrong on the delta path (no cached base, the server has no delta
 * after all, a network error, a delta that does not rebuild the announced file) falls back to the
 * ordinary download: the fetch returns WEFT_ENOTFOUND with the file emptied, after a warning for
 * real failures. Thread-safe: downloads of several files may run through one fetcher at once. */
#ifndef WEFT_DELTA_DOWNLOAD_H
#define WEFT_DELTA_DOWNLOAD_H

#include <stdint.h>

#include "weft/client.h"
#include "weft/download.h"
#include "weft/progress.h"

typedef struct weft_delta_fetcher weft_delta_fetcher;

typedef struct weft_delta_fetch_stats {
    uint64_t files;          /* files rebuilt from a delta */
    uint64_t delta_bytes;    /* bytes of delta files received */
    uint64_t rebuilt_bytes;  /* bytes of the files they rebuilt */
    uint64_t fallbacks;      /* deltas tried and given up (the whole file was fetched instead) */
} weft_delta_fetch_stats;

/* A fetcher for files of `repo` (copied) that looks for bases in the cache `hub_cache`. */
WEFT_MUST_USE int weft_delta_fetcher_new(weft_delta_fetcher **out, const char *hub_cache,
                                         const weft_client_repo *repo);
void weft_delta_fetcher_free(weft_delta_fetcher *f);

/* weft_download_xet_fn-shaped: fills fd with blob->size bytes rebuilt from a delta, or returns
 * WEFT_ENOTFOUND (fd emptied) to let the next way run. payload is the fetcher. */
WEFT_MUST_USE int weft_delta_fetcher_fetch(weft_client *c, const weft_download_blob *blob, int fd,
                                           weft_progress_bar *bar, void *payload);

void weft_delta_fetcher_stats(weft_delta_fetcher *f, weft_delta_fetch_stats *out);

#endif
