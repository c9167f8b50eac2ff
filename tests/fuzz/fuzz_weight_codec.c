/* Fuzz target for weight frames (include/weft/weight_codec.h): parse and decode any input, with
 * a fixed pseudo-random pattern standing in for the base of every span that needs one (bytes
 * i*0x9E3779B1 >> 24: elements of every magnitude, so DIFF_CTX and DIFF_SHIFT spans have
 * several non-empty classes; the corpus seeds of those methods were made against the same
 * pattern). Whatever decodes must agree with the parse (length, spans) and survive a round
 * trip: the decoded bytes re-encoded with the frame's own layout decode to the same bytes. Any
 * violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/weight_codec.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_weight_codec: %s failed at line %d (%s)\n", #cond, __LINE__,     \
                    weft_err_last());                                                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_SPANS 256

static uint8_t pattern[WEFT_WEIGHT_FRAME_MAX];
static uint8_t out[WEFT_WEIGHT_FRAME_MAX], again[WEFT_WEIGHT_FRAME_MAX];
static weft_weight_span_info info[FUZZ_MAX_SPANS];
static weft_weight_span spans[FUZZ_MAX_SPANS];
static const uint8_t *bases[FUZZ_MAX_SPANS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static weft_weight_codec *c;
    if (c == NULL) {
        if (weft_weight_codec_new(&c) != 0)
            return 0;
        for (size_t i = 0; i < sizeof pattern; i++)
            pattern[i] = (uint8_t)((uint32_t)i * 0x9E3779B1u >> 24);
    }
    size_t raw_len = 0, n_spans = 0, olen = 0;
    int prc = weft_weight_frame_parse(&raw_len, &n_spans, info, FUZZ_MAX_SPANS, data, size);
    for (size_t i = 0; i < FUZZ_MAX_SPANS; i++)
        bases[i] = pattern;
    int rc = weft_weight_frame_decode(c, out, sizeof out, &olen, data, size, bases, FUZZ_MAX_SPANS);
    if (rc != 0) {
        CHECK(rc == WEFT_ECORRUPT || rc == WEFT_EINVALID || rc == WEFT_ELIMIT);
        return 0;
    }
    /* A frame that decodes parses, with the same length. */
    CHECK(prc == 0);
    CHECK(olen == raw_len);
    if (n_spans > FUZZ_MAX_SPANS)
        return 0;
    for (size_t i = 0; i < n_spans; i++) {
        spans[i] = (weft_weight_span){.len = info[i].len,
                                      .dtype = info[i].dtype,
                                      .phase = info[i].phase,
                                      .base = info[i].needs_base ? pattern : NULL,
                                      .base_ref = info[i].base_ref};
        CHECK(info[i].offset + info[i].len <= raw_len);
    }
    size_t cap = weft_weight_frame_bound(raw_len, n_spans), flen = 0, alen = 0;
    uint8_t *frame = malloc(cap);
    CHECK(frame != NULL);
    CHECK(weft_weight_frame_encode(c, frame, cap, &flen, out, raw_len, spans, n_spans) == 0);
    CHECK(weft_weight_frame_decode(c, again, sizeof again, &alen, frame, flen, bases,
                                   FUZZ_MAX_SPANS) == 0);
    CHECK(alen == raw_len && memcmp(again, out, raw_len) == 0);
    free(frame);
    return 0;
}
