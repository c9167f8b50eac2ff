/* Helpers for the lib/tensor unit tests: reading a file of ../shared/data whole, and building
 * a safetensors file from a JSON header text. Header-only. */
#ifndef WEFT_TENSOR_TEST_H
#define WEFT_TENSOR_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"

/* The whole file `rel` under $WEFT_SHARED_DATA (malloc'ed, caller frees), or NULL when the
 * data folder or the file is missing (the caller skips). */
static inline uint8_t *tt_read_shared(const char *rel, size_t *len)
{
    const char *dir = getenv("WEFT_SHARED_DATA");
    char path[4096];
    if (!dir || snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            p = malloc((size_t)n + 1);
            if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
                free(p);
                p = NULL;
            }
            *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

/* u64 N ‖ json ‖ data_len zero bytes (N = strlen(json)) into b (initialized by the caller). */
static inline int tt_st_file(weft_buf *b, const char *json, size_t data_len)
{
    size_t n = strlen(json);
    int rc = weft_buf_put_u64le(b, n);
    if (rc == 0)
        rc = weft_buf_append(b, json, n);
    for (size_t i = 0; i < data_len && rc == 0; i++)
        rc = weft_buf_put_u8(b, 0);
    return rc;
}

#endif
