/* Tensor diff: pairing by name into added/removed/reshaped/retyped, and the statistics of a
 * changed tensor (max |b-a|, relative L2, changed share) against values worked out by hand,
 * fed in one piece and in several. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "weft/tensor_diff.h"

static weft_st_header *hdr(const char *names[], const weft_dtype dts[], const uint64_t dims[],
                           size_t n)
{
    weft_st_header *h = NULL;
    assert_int_equal(weft_st_header_new(&h), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(weft_st_add_tensor(h, names[i], dts[i], 1, &dims[i]), 0);
    assert_int_equal(weft_st_layout(h), 0);
    return h;
}

static const weft_tdiff_entry *entry(const weft_tdiff *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->entries[i].name, name) == 0)
            return &d->entries[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void test_tensor_diff_plan(void **state)
{
    (void)state;
    const char *na[] = {"x", "y", "z", "w"};
    const weft_dtype da[] = {WEFT_DTYPE_F32, WEFT_DTYPE_F32, WEFT_DTYPE_F16, WEFT_DTYPE_I8};
    const uint64_t sa[] = {2, 3, 2, 1};
    const char *nb[] = {"v", "x", "y", "z"};
    const weft_dtype db[] = {WEFT_DTYPE_U8, WEFT_DTYPE_F32, WEFT_DTYPE_F32, WEFT_DTYPE_F32};
    const uint64_t sb[] = {1, 2, 4, 2};
    weft_st_header *a = hdr(na, da, sa, 4), *b = hdr(nb, db, sb, 4);
    weft_tdiff *d = NULL;
    assert_int_equal(weft_tdiff_plan(&d, a, b), 0);
    assert_int_equal(d->n, 5);
    assert_int_equal(entry(d, "x")->kind, WEFT_TDIFF_COMPARE);
    assert_int_equal(entry(d, "y")->kind, WEFT_TDIFF_RESHAPED);
    assert_int_equal(entry(d, "z")->kind, WEFT_TDIFF_RETYPED);
    assert_int_equal(entry(d, "w")->kind, WEFT_TDIFF_REMOVED);
    assert_int_equal(entry(d, "v")->kind, WEFT_TDIFF_ADDED);
    assert_null(entry(d, "v")->a);
    assert_null(entry(d, "w")->b);
    assert_string_equal(d->entries[4].name, "v"); /* added ones come last */
    assert_int_equal(d->count[WEFT_TDIFF_COMPARE], 1);
    weft_tdiff_entry *x = (weft_tdiff_entry *)entry(d, "x");
    float fa[2] = {1, 2}, fb[2] = {1, 2};
    /* pieces must be whole elements and must not run past the tensor */
    assert_int_equal(weft_tdiff_update(x, (uint8_t *)fa, (uint8_t *)fb, 3), WEFT_EINVALID);
    assert_int_equal(weft_tdiff_update(x, (uint8_t *)fa, (uint8_t *)fb, 4), 0);
    assert_int_equal(weft_tdiff_finish(d, x), WEFT_EINVALID); /* half done */
    assert_int_equal(weft_tdiff_update(x, (uint8_t *)fa + 4, (uint8_t *)fb + 4, 8), WEFT_EINVALID);
    assert_int_equal(weft_tdiff_update(x, (uint8_t *)fa + 4, (uint8_t *)fb + 4, 4), 0);
    assert_int_equal(weft_tdiff_finish(d, x), 0);
    assert_int_equal(x->kind, WEFT_TDIFF_IDENTICAL);
    assert_int_equal(d->count[WEFT_TDIFF_IDENTICAL], 1);
    assert_int_equal(d->count[WEFT_TDIFF_COMPARE], 0);
    assert_true(weft_tdiff_rel_l2(&x->stats) == 0);
    assert_int_equal(
        weft_tdiff_update((weft_tdiff_entry *)entry(d, "y"), (uint8_t *)fa, (uint8_t *)fb, 4),
        WEFT_EINVALID);

    json_t *j = NULL;
    assert_int_equal(weft_tdiff_to_json(&j, d), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "retyped")),
                     1);
    json_t *t0 = json_array_get(json_object_get(j, "tensors"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "status")), "identical");
    json_t *tz = json_array_get(json_object_get(j, "tensors"), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(tz, "a"), "dtype")),
                        "F16");
    json_decref(j);
    weft_tdiff_free(d);
    weft_st_header_free(a);
    weft_st_header_free(b);
}

/* Stats of one F32 tensor of `n` elements fed in pieces of `piece` elements. */
static weft_tdiff_stats run_f32(const float *a, const float *b, size_t n, size_t piece,
                                weft_tdiff_kind *kind)
{
    const char *name[] = {"t"};
    const weft_dtype dt[] = {WEFT_DTYPE_F32};
    const uint64_t dims[] = {n};
    weft_st_header *h = hdr(name, dt, dims, 1);
    weft_tdiff *d = NULL;
    assert_int_equal(weft_tdiff_plan(&d, h, h), 0);
    weft_tdiff_entry *e = &d->entries[0];
    for (size_t i = 0; i < n; i += piece) {
        size_t k = n - i < piece ? n - i : piece;
        assert_int_equal(
            weft_tdiff_update(e, (const uint8_t *)(a + i), (const uint8_t *)(b + i), k * 4), 0);
    }
    assert_int_equal(weft_tdiff_finish(d, e), 0);
    weft_tdiff_stats s = e->stats;
    *kind = e->kind;
    weft_tdiff_free(d);
    weft_st_header_free(h);
    return s;
}

static void test_tensor_diff_stats(void **state)
{
    (void)state;
    const float a[] = {1, 2, 3, 4}, b[] = {1, 2.5f, 3, 0};
    for (size_t piece = 1; piece <= 4; piece++) {
        weft_tdiff_kind k;
        weft_tdiff_stats s = run_f32(a, b, 4, piece, &k);
        assert_int_equal(k, WEFT_TDIFF_CHANGED);
        assert_int_equal(s.n_elems, 4);
        assert_int_equal(s.n_changed, 2);
        assert_true(s.max_abs == 4.0);
        assert_true(fabs(weft_tdiff_rel_l2(&s) - sqrt(16.25 / 30.0)) < 1e-12);
    }
    /* NaN with another payload: changed, but out of max and L2; all-zero a: infinite L2 */
    const float z[] = {0, 0};
    float nan1, nan2, one[] = {0, 1};
    uint32_t b1 = 0x7fc00000, b2 = 0x7fc00001;
    memcpy(&nan1, &b1, 4);
    memcpy(&nan2, &b2, 4);
    const float na[] = {nan1, 0}, nb[] = {nan2, 0};
    weft_tdiff_kind k;
    weft_tdiff_stats s = run_f32(na, nb, 2, 2, &k);
    assert_int_equal(k, WEFT_TDIFF_CHANGED);
    assert_int_equal(s.n_changed, 1);
    assert_int_equal(s.n_nonfinite, 1);
    assert_true(s.max_abs == 0);
    s = run_f32(z, one, 2, 1, &k);
    assert_true(isinf(weft_tdiff_rel_l2(&s)));
    /* +0 and -0 differ in bytes: changed, with difference 0 */
    const float pz[] = {0.0f}, mz[] = {-0.0f};
    s = run_f32(pz, mz, 1, 1, &k);
    assert_int_equal(k, WEFT_TDIFF_CHANGED);
    assert_true(s.max_abs == 0);
}

/* The BF16, F16 and generic (I16, F4, C64) paths on hand-made values. */
static void test_tensor_diff_dtypes(void **state)
{
    (void)state;
    static const struct {
        weft_dtype dt;
        uint64_t numel;
        uint8_t a[8], b[8];
        size_t len;
        uint64_t changed;
        double max_abs;
    } cases[] = {
        {WEFT_DTYPE_BF16, 2, {0x80, 0x3f, 0x80, 0x3f}, {0xc0, 0x3f, 0x80, 0x3f}, 4, 1, 0.5},
        /* +inf to -inf: changed, out of max */
        {WEFT_DTYPE_BF16, 2, {0x80, 0x3f, 0x80, 0x7f}, {0x80, 0x3f, 0x80, 0xff}, 4, 1, 0.0},
        {WEFT_DTYPE_F16, 2, {0x00, 0x3c, 0x00, 0x40}, {0x00, 0x3c, 0x00, 0xc0}, 4, 1, 4.0},
        {WEFT_DTYPE_I16, 2, {0xff, 0xff, 1, 0}, {1, 0, 1, 0}, 4, 1, 2.0},
        {WEFT_DTYPE_F4, 4, {0x72, 0x11}, {0x7f, 0x11}, 2, 1, 7.0},
        {WEFT_DTYPE_C64,
         1,
         {0, 0, 0x80, 0x3f, 0, 0, 0, 0},
         {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40},
         8,
         1,
         2.0},
        {WEFT_DTYPE_F6_E2M3, 4, {1, 2, 3}, {1, 2, 0x83}, 3, 1, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name[] = {"t"};
        weft_st_header *h = hdr(name, &cases[i].dt, &cases[i].numel, 1);
        weft_tdiff *d = NULL;
        assert_int_equal(weft_tdiff_plan(&d, h, h), 0);
        weft_tdiff_entry *e = &d->entries[0];
        assert_int_equal(weft_tdiff_update(e, cases[i].a, cases[i].b, cases[i].len), 0);
        assert_int_equal(weft_tdiff_finish(d, e), 0);
        if (e->stats.n_changed != cases[i].changed || e->stats.max_abs != cases[i].max_abs)
            print_message("case %zu (%s): changed %llu max %g\n", i, weft_dtype_name(cases[i].dt),
                          (unsigned long long)e->stats.n_changed, e->stats.max_abs);
        assert_int_equal(e->stats.n_elems, cases[i].numel);
        assert_int_equal(e->stats.n_changed, cases[i].changed);
        assert_true(e->stats.max_abs == cases[i].max_abs);
        weft_tdiff_free(d);
        weft_st_header_free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_diff_plan),
        cmocka_unit_test(test_tensor_diff_stats),
        cmocka_unit_test(test_tensor_diff_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
