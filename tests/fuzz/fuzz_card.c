/* Fuzz target for model-card front matter (weft_card_parse, include/weft/repo.h): any input
 * either fails with a message (EINVALID with "line L, column C", or ELIMIT) or yields JSON that
 * jansson reads back as an object. The input is used as a README as is, and also behind a
 * "---\n" header so the YAML parser sees every input. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weft/repo.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const char *text, size_t len)
{
    char *json = NULL;
    int rc = weft_card_parse(text, len, &json);
    if (rc == 0) {
        CHECK(json != NULL);
        json_error_t err;
        json_t *v = json_loads(json, JSON_ALLOW_NUL, &err);
        CHECK(v != NULL);
        CHECK(json_is_object(v));
        json_decref(v);
        free(json);
        return;
    }
    CHECK(json == NULL);
    CHECK(rc == WEFT_EINVALID || rc == WEFT_ELIMIT || rc == WEFT_ENOMEM);
    if (rc == WEFT_EINVALID)
        CHECK(strncmp(weft_err_last(), "line ", 5) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (2u << 20))
        return 0;
    check_one((const char *)data, size);
    char *framed = malloc(size + 10);
    if (framed == NULL)
        return 0;
    memcpy(framed, "---\n", 4);
    memcpy(framed + 4, data, size);
    memcpy(framed + 4 + size, "\n---\n", 5);
    check_one(framed, size + 9);
    free(framed);
    return 0;
}
