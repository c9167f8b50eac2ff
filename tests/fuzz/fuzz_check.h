/* CHECK for the fuzz targets: a broken invariant prints the condition, the file and line and the
 * library's last error message, then aborts, so libFuzzer (or the corpus replay in make test)
 * records the input as a finding. */
#ifndef WEFT_FUZZ_CHECK_H
#define WEFT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "weft/err.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s failed (last error: %s)\n", __FILE__, __LINE__, #cond,      \
                    weft_err_last());                                                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
