/* Fuzz target for Link header values (include/weft/link_header.h): any bytes, as a C string, for
 * each of the relations the client asks for. A found URI must be text of the input that stands
 * between '<' and '>' and holds no '>'. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/link_header.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);
    if (value == NULL)
        return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    static const char *const rels[] = {"next", "xet-auth", "prev", ""};
    for (size_t r = 0; r < sizeof rels / sizeof rels[0]; r++) {
        char *uri = NULL;
        CHECK(weft_link_find(&uri, value, rels[r]) == 0);
        if (uri == NULL)
            continue;
        CHECK(rels[r][0] != '\0');
        CHECK(strchr(uri, '>') == NULL);
        size_t len = strlen(uri);
        int found = 0;
        for (const char *p = value; (p = strchr(p, '<')) != NULL && !found; p++)
            found = strncmp(p + 1, uri, len) == 0 && p[1 + len] == '>';
        CHECK(found);
        free(uri);
    }
    free(value);
    return 0;
}
