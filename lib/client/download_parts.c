/* The .parts sidecar of ranged downloads (include/weft/download_parts.h). */
#include "weft/download_parts.h"

#include <stdio.h>
#include <string.h>

size_t weft_parts_header(char out[WEFT_PARTS_LINE_MAX], uint64_t size, uint64_t range_size)
{
    int n = snprintf(out, WEFT_PARTS_LINE_MAX, "weft-parts 1 %llu %llu\n", (unsigned long long)size,
                     (unsigned long long)range_size);
    return (size_t)n;
}

size_t weft_parts_record(char out[WEFT_PARTS_LINE_MAX], size_t index)
{
    return (size_t)snprintf(out, WEFT_PARTS_LINE_MAX, "%zu\n", index);
}

/* The decimal number that is all of line[0..len), or -1: digits only, 1 to 19 of them. */
static int parts_index(uint64_t *out, const char *line, size_t len)
{
    if (len == 0 || len > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] < '0' || line[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(line[i] - '0');
    }
    *out = v;
    return 0;
}

size_t weft_parts_parse(uint8_t *done, size_t n_ranges, const char *text, size_t len, uint64_t size,
                        uint64_t range_size)
{
    char header[WEFT_PARTS_LINE_MAX];
    size_t hlen = weft_parts_header(header, size, range_size);
    if (len < hlen || memcmp(text, header, hlen) != 0)
        return 0;
    size_t marked = 0;
    const char *p = text + hlen, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break; /* a last line cut short by a crash */
        uint64_t i;
        if (parts_index(&i, p, (size_t)(nl - p)) == 0 && i < n_ranges) {
            done[i] = 1;
            marked++;
        }
        p = nl + 1;
    }
    return marked;
}
