/* Weight frames on the real stories260K pair in ../shared/data (base and its full fine-tune on
 * WikiText, BF16 and F32 files, and an F32 training checkpoint against the final model): every
 * Xet chunk of the fine-tune (the real chunker's boundaries, and odd fixed cuts) round-trips
 * bit-exactly through the float codec alone and as a delta against the base, with the base
 * bytes found from the frame's base references. Skips when the data is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../bench/st_regions.h"
#include "weft/chunker.h"
#include "weft/weight_codec.h"

static uint8_t *read_file(const char *dir, const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

typedef struct totals {
    size_t raw, floatc, delta;
} totals;

/* Encodes ft[start..start+len) with and without the base, decodes both, adds the sizes. */
static void one_chunk(weft_weight_codec *c, totals *t, const uint8_t *ft, const uint8_t *base,
                      const weft_weight_region *with, const weft_weight_region *without,
                      size_t n_regions, size_t start, size_t len)
{
    static weft_weight_span spans[4096];
    static weft_weight_span_info info[4096];
    static const uint8_t *bases[4096];
    size_t cap = weft_weight_frame_bound(len, 4096);
    uint8_t *frame = malloc(cap), *out = malloc(len);
    assert_non_null(frame);
    assert_non_null(out);
    for (int delta = 0; delta < 2; delta++) {
        size_t n_spans = 0, flen = 0, olen = 0, rl = 0, ns = 0;
        assert_int_equal(weft_weight_layout(spans, 4096, &n_spans, delta ? with : without,
                                            n_regions, start, len),
                         0);
        assert_int_equal(
            weft_weight_frame_encode(c, frame, cap, &flen, ft + start, len, spans, n_spans), 0);
        assert_int_equal(weft_weight_frame_parse(&rl, &ns, info, 4096, frame, flen), 0);
        assert_int_equal(rl, len);
        for (size_t i = 0; i < ns; i++)
            bases[i] = info[i].needs_base ? base + info[i].base_ref : NULL;
        assert_int_equal(weft_weight_frame_decode(c, out, len, &olen, frame, flen, bases, ns), 0);
        assert_int_equal(olen, len);
        assert_memory_equal(out, ft + start, len);
        if (delta)
            t->delta += flen;
        else
            t->floatc += flen;
    }
    t->raw += len;
    free(frame);
    free(out);
}

static void pair_roundtrip(const char *base_rel, const char *ft_rel, double min_delta_gain)
{
    const char *dir = getenv("WEFT_SHARED_DATA");
    size_t blen = 0, flen = 0;
    uint8_t *base = dir ? read_file(dir, base_rel, &blen) : NULL;
    uint8_t *ft = dir ? read_file(dir, ft_rel, &flen) : NULL;
    if (base == NULL || ft == NULL) {
        free(base);
        free(ft);
        print_message("skip: %s or %s not found under WEFT_SHARED_DATA\n", base_rel, ft_rel);
        skip();
    }
    size_t nf = 0, nw = 0, matched = 0;
    weft_weight_region *without = st_regions(ft, flen, NULL, 0, &nf, NULL);
    weft_weight_region *with = st_regions(ft, flen, base, blen, &nw, &matched);
    assert_non_null(without);
    assert_non_null(with);
    assert_int_equal(nf, 47);
    assert_int_equal(nw, 47);
    assert_int_equal(matched, 47);
    weft_weight_codec *c = NULL;
    assert_int_equal(weft_weight_codec_new(&c), 0);
    /* The real chunker's boundaries. */
    totals t = {0};
    uint32_t lens[256];
    size_t consumed = 0;
    size_t n_chunks = weft_chunker_split(lens, 256, ft, flen, 1, &consumed);
    assert_int_equal(consumed, flen);
    size_t off = 0;
    for (size_t i = 0; i < n_chunks; i++) {
        one_chunk(c, &t, ft, base, with, without, nf, off, lens[i]);
        off += lens[i];
    }
    print_message("%s vs %s: %zu chunks, float codec %.3fx, delta %.3fx\n", ft_rel, base_rel,
                  n_chunks, (double)t.raw / (double)t.floatc, (double)t.raw / (double)t.delta);
    assert_true(t.floatc < t.raw);
    assert_true((double)t.floatc / (double)t.delta > min_delta_gain);
    /* Odd fixed cuts: every chunk starts and ends inside elements. */
    totals odd = {0};
    for (size_t s = 0; s < flen; s += 40961)
        one_chunk(c, &odd, ft, base, with, without, nf, s, flen - s < 40961 ? flen - s : 40961);
    assert_int_equal(odd.raw, flen);
    weft_weight_codec_free(c);
    free(with);
    free(without);
    free(base);
    free(ft);
}

static void test_tensor_weight_real_bf16_pair(void **state)
{
    (void)state;
    pair_roundtrip("stories260K-hf/model.bf16.safetensors",
                   "stories260K-wiki-ft/model.bf16.safetensors", 1.4);
}

static void test_tensor_weight_real_f32_pair(void **state)
{
    (void)state;
    pair_roundtrip("stories260K-hf/model.safetensors", "stories260K-wiki-ft/model.safetensors",
                   1.05);
}

static void test_tensor_weight_real_checkpoint(void **state)
{
    (void)state;
    pair_roundtrip("stories260K-wiki-ft/checkpoints/step-0750.safetensors",
                   "stories260K-wiki-ft/model.safetensors", 1.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_weight_real_bf16_pair),
        cmocka_unit_test(test_tensor_weight_real_f32_pair),
        cmocka_unit_test(test_tensor_weight_real_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
