/* Object backends for the chunk store: where xorb objects live.
 *
 * Objects are immutable and named by a string (the xorb hash in Xet hex). put() is durable when
 * it returns (an fs backend writes a temp file, fsyncs it, renames it, fsyncs the directory), so
 * the index may then name the object. get() reads a byte range, which is how range reads stay
 * cheap. The interface is what an S3-compatible backend can also offer (whole-object PUT,
 * ranged GET, HEAD, DELETE, LIST). A backend object is safe to use from several threads.
 * Errors: WEFT_ENOTFOUND for a missing object, WEFT_EIO for the rest, with the object named. */
#ifndef WEFT_BACKEND_H
#define WEFT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_backend weft_backend;

/* Called once per object by list(); a negative return stops the listing and is returned. */
typedef int (*weft_backend_list_cb)(const char *name, int64_t mtime, void *payload);

struct weft_backend {
    int (*put)(weft_backend *b, const char *name, const void *data, size_t len);
    int (*get)(weft_backend *b, const char *name, uint64_t offset, void *dst, size_t len);
    int (*size)(weft_backend *b, const char *name, uint64_t *size_out);
    int (*remove)(weft_backend *b, const char *name);
    int (*list)(weft_backend *b, weft_backend_list_cb cb, void *payload);
    void (*close)(weft_backend *b);
};

/* A backend storing objects as files under dir/<first two characters>/<name>. */
WEFT_MUST_USE int weft_backend_fs_open(weft_backend **out, const char *dir);

/* Closes any backend (NULL is fine). */
void weft_backend_close(weft_backend *b);

#endif
