/* The header of a tensor file — safetensors or GGUF, told apart by the first bytes — read
 * through a caller's read callback, so a local file (pread), a file in the store (a store range
 * read) and a remote file (HTTP Range requests) are all read the same way and only their header
 * bytes move: 8 bytes then 8 + N for safetensors; for GGUF growing reads (each at least double
 * the last) until weft_gguf_header_need() is satisfied.
 *
 * Also the parameter counts of a header, by dtype name (safetensors names such as "BF16"; GGUF
 * ggml type names such as "Q4_K"), as the Hub's model info reports them.
 *
 * Ownership: a weft_tensor_header owns its parsed header (weft_tensor_header_dispose). No
 * globals; the read callback is called on the caller's thread only. Errors: WEFT_ECORRUPT (not a
 * safetensors or GGUF file, or a header that breaks a rule; the message names `label`),
 * WEFT_ELIMIT, WEFT_ENOMEM, and whatever the callback returns. Expected load: one read per file
 * inspected or summarized; headers up to a few MB. */
#ifndef WEFT_TENSOR_HEADER_H
#define WEFT_TENSOR_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"
#include "weft/gguf.h"
#include "weft/safetensors.h"

/* A parsed header: exactly one of st and gguf is set after a successful read. */
typedef struct weft_tensor_header {
    weft_st_header *st;
    weft_gguf *gguf;
    uint64_t file_size;
    uint64_t bytes_read; /* header bytes requested through the callback */
} weft_tensor_header;

/* Reads len bytes at offset into dst (all of them); 0 or a WEFT_E* code with the message set. */
typedef int (*weft_tensor_read_fn)(void *dst, size_t len, uint64_t offset, void *payload);

/* Reads and parses the header of a file of `file_size` bytes ("GGUF" magic: GGUF, anything else
 * is tried as safetensors). Fills *out (weft_tensor_header_dispose), also on error (empty). */
WEFT_MUST_USE int weft_tensor_header_read(weft_tensor_header *out, uint64_t file_size,
                                          const char *label, weft_tensor_read_fn read,
                                          void *payload);

/* A local file as a source for weft_tensor_read_fn callbacks: pass weft_tensor_fd_read with a
 * weft_tensor_fd as payload (pread, all bytes or an error naming the path). */
typedef struct weft_tensor_fd {
    int fd;
    const char *path;
} weft_tensor_fd;
WEFT_MUST_USE int weft_tensor_fd_read(void *dst, size_t len, uint64_t offset, void *payload);

/* The same on an open local file (pread); `path` names it in messages. */
WEFT_MUST_USE int weft_tensor_header_read_fd(weft_tensor_header *out, int fd, const char *path);

/* Frees what the header owns; the struct may be reused. */
void weft_tensor_header_dispose(weft_tensor_header *h);

/* Parameter count of one dtype. */
typedef struct weft_tensor_param_count {
    const char *dtype; /* static name: "BF16", "F32", "Q4_K", ... */
    uint64_t count;    /* elements of tensors of that dtype */
} weft_tensor_param_count;

/* Most distinct dtype names a header can report (safetensors and ggml types together). */
#define WEFT_TENSOR_MAX_DTYPES 64

/* Parameter counts of h by dtype, in dtype order, only dtypes present: fills out (room for
 * WEFT_TENSOR_MAX_DTYPES) and returns how many; *total gets the sum. */
size_t weft_tensor_header_params(const weft_tensor_header *h,
                                 weft_tensor_param_count out[WEFT_TENSOR_MAX_DTYPES],
                                 uint64_t *total);

/* Parameter counts summed over several headers (every tensor file of a repo). Zero-initialize. */
typedef struct weft_tensor_param_sum {
    size_t n;
    weft_tensor_param_count by[WEFT_TENSOR_MAX_DTYPES]; /* in order of first appearance */
    uint64_t total;
} weft_tensor_param_sum;

/* Adds h's parameter counts to s. */
void weft_tensor_param_sum_add(weft_tensor_param_sum *s, const weft_tensor_header *h);

#endif
