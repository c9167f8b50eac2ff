/* Fuzz target for Git LFS pointers (include/weft/repo.h): whatever parses must be the canonical
 * text, so formatting the parsed (sha256, size) gives back the input byte for byte; and every
 * input (or its first bytes taken as a digest and size) formats to a pointer that parses back.
 * Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/repo.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sha[32], sha2[32];
    uint64_t n = 0, n2 = 0;
    char out[WEFT_LFS_POINTER_MAX];
    if (weft_lfs_pointer_parse(data, size, sha, &n) == 0) {
        size_t len = weft_lfs_pointer_format(out, sha, n);
        CHECK(len == size && memcmp(out, data, size) == 0);
    }
    /* The other way: any digest and size round-trip. */
    memset(sha, 0, sizeof sha);
    memcpy(sha, data, size < 32 ? size : 32);
    n = 0;
    for (size_t i = 32; i < size && i < 40; i++)
        n = n << 8 | data[i];
    size_t len = weft_lfs_pointer_format(out, sha, n);
    CHECK(len > 0 && len < WEFT_LFS_POINTER_MAX);
    CHECK(weft_lfs_pointer_parse((const uint8_t *)out, len, sha2, &n2) == 0);
    CHECK(memcmp(sha, sha2, 32) == 0 && n == n2);
    return 0;
}
