/* Progress reports for long transfers: one bar per file and a total line on a terminal, plain
 * lines (one per finished file, then the total) when stderr is not a terminal, nothing when quiet.
 *
 * A weft_progress owns its bars; bars are borrowed until weft_progress_free. weft_progress_add,
 * weft_progress_advance and weft_progress_finish are thread-safe (transfer threads call them);
 * on a terminal a render thread redraws at most 10 times a second, so advancing is cheap (one
 * atomic add). Output goes to stderr. Every function accepts a NULL progress or bar and then does
 * nothing, so callers need not check for --quiet. */
#ifndef WEFT_PROGRESS_H
#define WEFT_PROGRESS_H

#include <stdint.h>

#include "weft/err.h"

enum {
    WEFT_PROGRESS_AUTO = 0, /* bars when stderr is a terminal, else plain lines */
    WEFT_PROGRESS_BARS,
    WEFT_PROGRESS_PLAIN,
    WEFT_PROGRESS_QUIET,
};

typedef struct weft_progress weft_progress;
typedef struct weft_progress_bar weft_progress_bar;

/* A reporter in `mode`; `verb` ("download", "upload") starts the total line. */
WEFT_MUST_USE int weft_progress_new(weft_progress **out, int mode, const char *verb);

/* Prints the final total line (files, bytes, time, rate) and frees every bar. */
void weft_progress_free(weft_progress *p);

/* A new bar named `label` (copied) of `total` bytes (0: unknown); NULL when p is NULL or out of
 * memory (progress is best effort). */
weft_progress_bar *weft_progress_add(weft_progress *p, const char *label, uint64_t total);

/* Adds `n` bytes done (may be called from any thread). */
void weft_progress_advance(weft_progress_bar *b, uint64_t n);

/* Sets the bytes done (a resumed transfer starts past 0). */
void weft_progress_set(weft_progress_bar *b, uint64_t done);

/* Ends a bar: `note` (may be NULL) is printed beside it, e.g. "cached", "resumed at 40%",
 * "failed: ..."; in plain mode this prints the file's one line. */
void weft_progress_finish(weft_progress_bar *b, const char *note);

#endif
