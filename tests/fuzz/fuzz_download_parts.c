/* Fuzz target for `.parts` sidecars (include/weft/download_parts.h): the first 2 bytes give the
 * number of ranges (the header names 16 MiB ranges of a file that many ranges long), the rest is
 * the sidecar. The parse must read only its input, mark only ranges that exist, set no more
 * ranges than the text has lines, and mark nothing when the header is not the expected one.
 * Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/download_parts.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8;
    const uint64_t range = 16u << 20;
    uint64_t file_size = (uint64_t)n * range;
    uint8_t *done = calloc(n + 1, 1);
    char *text = malloc(size - 2 + 1); /* an exact copy: any read past it is caught */
    if (done == NULL || text == NULL) {
        free(done);
        free(text);
        return 0;
    }
    memcpy(text, data + 2, size - 2);
    done[n] = 0xee;
    size_t marked = weft_parts_parse(done, n, text, size - 2, file_size, range);
    size_t lines = 0;
    for (size_t i = 2; i < size; i++)
        lines += data[i] == '\n';
    CHECK(marked <= lines);
    CHECK(done[n] == 0xee);
    size_t set = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(done[i] <= 1);
        set += done[i];
    }
    CHECK(set <= marked);
    char header[WEFT_PARTS_LINE_MAX];
    size_t hlen = weft_parts_header(header, file_size, range);
    if (size - 2 < hlen || memcmp(text, header, hlen) != 0)
        CHECK(marked == 0);
    free(done);
    free(text);
    return 0;
}
