/* Object backends for the chunk store: where xorb objects live.
 *
 * Objects are immutable and named by a short string (the xorb hash in Xet hex). put() takes the
 * object as a list of parts (so a xorb can be written straight from the bytes it was chunked
 * from, headers in between, without assembling a copy) and is durable when it returns: the fs
 * backend writes a uniquely named temp file, fsyncs it, renames it into place and fsyncs the
 * directory, so the index may then name the object and a crash never leaves a half-written object
 * under its real name. get() reads a byte range, which is what keeps range reads cheap. The
 * interface is what an S3-compatible backend also offers (whole-object PUT, ranged GET, HEAD,
 * DELETE, LIST with LastModified); an S3 backend would stream the parts as one request body.
 * A backend object is safe to use from several threads at once. Putting an object that exists
 * replaces it with the same bytes (names are content hashes), which also repairs a damaged copy.
 * Errors: WEFT_ENOTFOUND for a missing object, WEFT_EINVALID for a bad name, WEFT_EIO for the
 * rest, each with the object named in weft_err_last(). */
#ifndef WEFT_BACKEND_H
#define WEFT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_backend weft_backend;

/* One piece of an object being put: `len` bytes at `p`, borrowed for the duration of put(). */
typedef struct weft_backend_part {
    const void *p;
    size_t len;
} weft_backend_part;

/* Called once per object by list(), with the object's name and last-modified time (unix
 * seconds). Leftovers of interrupted puts are listed too, under names that are not hashes. A
 * negative return stops the listing and is returned by list(). */
typedef int (*weft_backend_list_cb)(const char *name, int64_t mtime, void *payload);

struct weft_backend {
    /* Stores the concatenation of parts[0..n_parts) as object `name`, durably. */
    int (*put)(weft_backend *b, const char *name, const weft_backend_part *parts, size_t n_parts);
    /* Reads bytes [offset, offset + len) of the object into dst; WEFT_ECORRUPT if it is shorter. */
    int (*get)(weft_backend *b, const char *name, uint64_t offset, void *dst, size_t len);
    /* The object's size in bytes (WEFT_ENOTFOUND if it does not exist). */
    int (*size)(weft_backend *b, const char *name, uint64_t *size_out);
    /* Deletes the object; deleting a missing object is not an error. */
    int (*remove)(weft_backend *b, const char *name);
    /* Calls cb for every object, in no particular order. */
    int (*list)(weft_backend *b, weft_backend_list_cb cb, void *payload);
    void (*close)(weft_backend *b);
};

/* A backend storing objects as files dir/<first two characters of the name>/<name>; dir is
 * created if needed. */
WEFT_MUST_USE int weft_backend_fs_open(weft_backend **out, const char *dir);

/* Puts one contiguous buffer (a put() with a single part). */
WEFT_MUST_USE int weft_backend_put_buf(weft_backend *b, const char *name, const void *data,
                                       size_t len);

/* Closes any backend (NULL is fine). */
void weft_backend_close(weft_backend *b);

#endif
