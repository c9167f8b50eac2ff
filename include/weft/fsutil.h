/* File-system helpers with the durability rules the store depends on.
 *
 * weft_fs_write_atomic() writes a temp file in the same directory, fsyncs it, renames it over
 * the target and fsyncs the directory: after it returns the new content survives a crash, and
 * a crash at any moment leaves either the old or the new content, never a mix. All functions
 * return 0 or a negative WEFT_E* with a message naming the path. Thread-safe. */
#ifndef WEFT_FSUTIL_H
#define WEFT_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"

/* Creates `path` and missing parents (mode 0755). Existing directories are fine. */
WEFT_MUST_USE int weft_fs_mkdirs(const char *path);

/* Durably replaces `path` with `len` bytes from `data`. */
WEFT_MUST_USE int weft_fs_write_atomic(const char *path, const void *data, size_t len);

/* fsyncs the directory `path` (makes renames and creations in it durable). */
WEFT_MUST_USE int weft_fs_fsync_dir(const char *path);

/* Appends the whole file to `out`; files larger than out's cap fail with WEFT_ELIMIT. */
WEFT_MUST_USE int weft_fs_read_file(weft_buf *out, const char *path);

/* Reads exactly `len` bytes at `offset` from fd; a short file is WEFT_ECORRUPT. */
WEFT_MUST_USE int weft_fs_pread_full(int fd, void *dst, size_t len, uint64_t offset,
                                     const char *what);

/* Writes all `len` bytes at `offset` of fd (retrying short writes and EINTR); a write that
 * makes no progress is WEFT_EIO (ENOSPC). */
WEFT_MUST_USE int weft_fs_pwrite_full(int fd, const void *src, size_t len, uint64_t offset,
                                      const char *what);

/* Writes all `len` bytes to fd (retrying short writes and EINTR). */
WEFT_MUST_USE int weft_fs_write_full(int fd, const void *src, size_t len, const char *what);

/* 1 if `path` exists, 0 if not. */
int weft_fs_exists(const char *path);

#endif
