/* Error model for all of Weft.
 *
 * Fallible functions return int: 0 on success or a negative WEFT_E* code. The human message
 * for the last failure is kept per thread; weft_err_set() records it and returns the code so a
 * failure is one line: `return weft_err_set(WEFT_ECORRUPT, "xorb %s: bad header", name);`.
 * Messages are one line, lower case, naming the object and the reason. weft_err_last() returns
 * a pointer to the calling thread's buffer, valid until that thread's next weft_err_set().
 * Thread-safe (thread-local state); never allocates. */
#ifndef WEFT_ERR_H
#define WEFT_ERR_H

#include <stdarg.h>

#define WEFT_MUST_USE __attribute__((warn_unused_result))

enum {
    WEFT_OK = 0,
    WEFT_ENOTFOUND = -1, /* the named object does not exist */
    WEFT_EEXISTS = -2,   /* it exists already */
    WEFT_EINVALID = -3,  /* bad input from a caller, a user or the network */
    WEFT_ECORRUPT = -4,  /* stored or received data fails its own checks */
    WEFT_EIO = -5,       /* the operating system said no */
    WEFT_ENOMEM = -6,    /* out of memory */
    WEFT_ELIMIT = -7,    /* a size or count is over a fixed bound */
    WEFT_ECONFLICT = -8, /* concurrent change, stale precondition */
    WEFT_EAUTH = -9,     /* not allowed */
    WEFT_ENETWORK = -10, /* a remote server could not be reached, or broke off */
};

/* Records a formatted message for this thread and returns `code` unchanged. */
int weft_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like weft_err_set, appending ": strerror(errno_value)". */
int weft_err_sys(int code, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the current message with "context: " (for callers adding what they were doing). */
int weft_err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message ("" if none). Borrowed until the next weft_err_*. */
const char *weft_err_last(void);

/* Short symbolic name of a code ("not found", "corrupt", ...). Static string. */
const char *weft_err_name(int code);

/* Forgets the current message. */
void weft_err_clear(void);

#endif
