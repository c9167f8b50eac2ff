/* Fuzz target for the HTTP request-target parser (lib/http/request.c): path splitting and
 * percent-decoding per segment, query pairs, and the decoding and base64 helpers the routes use
 * on client input. Checks invariants: a decoded segment holds '/' only where it was escaped,
 * decode(encode(x)) == x, and base64 that decodes re-encodes to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"
#include "weft/base64.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = malloc(size + 1);
    if (!uri)
        return 0;
    memcpy(uri, data, size);
    uri[size] = '\0';
    weft_http_req *req = calloc(1, sizeof *req);
    if (!req) {
        free(uri);
        return 0;
    }
    req->uri = uri;
    if (weft_http__parse_target(req) == 0) {
        for (size_t i = 0; i < req->n_segments; i++) {
            CHECK(req->segments[i] && req->raw_segments[i]);
            CHECK(strchr(req->raw_segments[i], '/') == NULL);
            if (strchr(req->segments[i], '/'))
                CHECK(strstr(req->raw_segments[i], "%2F") || strstr(req->raw_segments[i], "%2f"));
        }
        for (size_t i = 0; i < req->n_query; i++)
            CHECK(req->query[i].key && req->query[i].value);
    }
    weft_http__req_free(req);

    char *dec = weft_http_decode((const char *)data, size, 1);
    if (dec) {
        char *enc = weft_http_encode(dec, 0);
        CHECK(enc != NULL);
        char *back = weft_http_decode(enc, strlen(enc), 0);
        CHECK(back && strcmp(back, dec) == 0);
        free(back);
        free(enc);
        free(dec);
    }
    size_t cap = weft_base64_decoded_max(size);
    uint8_t *out = malloc(cap + 1);
    size_t n = 0;
    if (out && weft_base64_decode(out, cap, &n, (const char *)data, size) == 0) {
        char *again = malloc(weft_base64_encoded_len(n) + 1);
        CHECK(again != NULL);
        weft_base64_encode(again, out, n);
        CHECK(strlen(again) == size && memcmp(again, data, size) == 0);
        free(again);
    }
    free(out);
    return 0;
}
