/* Tensor-by-tensor comparison (include/weft/tensor_diff.h). The per-element loop has fast paths
 * for the dtypes models are made of (F32, BF16, F16); every other dtype goes through
 * weft_dtype_value(), the readable reference. */
#include "weft/tensor_diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[WEFT_TDIFF_KIND_COUNT] = {
    "pending", "identical", "changed", "added", "removed", "reshaped", "retyped",
};

const char *weft_tdiff_kind_name(weft_tdiff_kind k)
{
    return (unsigned)k < WEFT_TDIFF_KIND_COUNT ? kind_names[k] : "?";
}

static int same_shape(const weft_st_tensor *a, const weft_st_tensor *b)
{
    if (a->rank != b->rank)
        return 0;
    for (uint32_t d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

int weft_tdiff_plan(weft_tdiff **out, const weft_st_header *a, const weft_st_header *b)
{
    weft_tdiff *d = calloc(1, sizeof *d);
    size_t cap = a->n_tensors + b->n_tensors;
    if (d)
        d->entries = calloc(cap ? cap : 1, sizeof *d->entries);
    if (!d || !d->entries) {
        weft_tdiff_free(d);
        return weft_err_set(WEFT_ENOMEM, "diff: out of memory");
    }
    for (size_t i = 0; i < a->n_tensors; i++) {
        weft_tdiff_entry *e = &d->entries[d->n++];
        const weft_st_tensor *ta = &a->tensors[i];
        const weft_st_tensor *tb = weft_st_find(b, ta->name, ta->name_len);
        e->name = ta->name;
        e->a = ta;
        e->b = tb;
        if (!tb)
            e->kind = WEFT_TDIFF_REMOVED;
        else if (ta->dtype != tb->dtype)
            e->kind = WEFT_TDIFF_RETYPED;
        else if (!same_shape(ta, tb))
            e->kind = WEFT_TDIFF_RESHAPED;
        else
            e->kind = WEFT_TDIFF_COMPARE;
        d->count[e->kind]++;
    }
    for (size_t i = 0; i < b->n_tensors; i++) {
        const weft_st_tensor *tb = &b->tensors[i];
        if (weft_st_find(a, tb->name, tb->name_len))
            continue;
        weft_tdiff_entry *e = &d->entries[d->n++];
        e->name = tb->name;
        e->b = tb;
        e->kind = WEFT_TDIFF_ADDED;
        d->count[e->kind]++;
    }
    *out = d;
    return 0;
}

void weft_tdiff_free(weft_tdiff *d)
{
    if (!d)
        return;
    free(d->entries);
    free(d);
}

int weft_tdiff_needs_data(const weft_tdiff_entry *e)
{
    return e->kind == WEFT_TDIFF_COMPARE;
}

/* One pair of values: a changed pair goes into max and L2 when both are finite. */
static inline void pair(weft_tdiff_stats *s, double va, double vb, int differ)
{
    if (isfinite(va))
        s->sum_sq_a += va * va;
    if (!differ)
        return;
    s->n_changed++;
    if (!isfinite(va) || !isfinite(vb)) {
        s->n_nonfinite++;
        return;
    }
    double dd = vb - va;
    s->sum_sq_d += dd * dd;
    if (fabs(dd) > s->max_abs)
        s->max_abs = fabs(dd);
}

/* The fast paths: F32 and BF16 (whose bits are F32's top half) tell finite values by their
 * exponent bits and keep the sums in locals; same results as pair() element by element. */
#define ACC_FLOAT_LOOP(LOAD, EXP_MASK, TO_FLOAT)                                                   \
    do {                                                                                           \
        double sa = 0, sd = 0, mx = s->max_abs;                                                    \
        uint64_t changed = 0, nonfinite = 0;                                                       \
        for (size_t i = 0; i < n; i++) {                                                           \
            uint32_t ba = LOAD(pa, i);                                                             \
            int fin_a = (ba & (EXP_MASK)) != (EXP_MASK);                                           \
            double va = TO_FLOAT(ba);                                                              \
            if (fin_a)                                                                             \
                sa += va * va;                                                                     \
            if (same)                                                                              \
                continue;                                                                          \
            uint32_t bb = LOAD(pb, i);                                                             \
            if (ba == bb)                                                                          \
                continue;                                                                          \
            changed++;                                                                             \
            if (!fin_a || (bb & (EXP_MASK)) == (EXP_MASK)) {                                       \
                nonfinite++;                                                                       \
                continue;                                                                          \
            }                                                                                      \
            double dd = TO_FLOAT(bb) - va;                                                         \
            sd += dd * dd;                                                                         \
            if (fabs(dd) > mx)                                                                     \
                mx = fabs(dd);                                                                     \
        }                                                                                          \
        s->sum_sq_a += sa;                                                                         \
        s->sum_sq_d += sd;                                                                         \
        s->max_abs = mx;                                                                           \
        s->n_changed += changed;                                                                   \
        s->n_nonfinite += nonfinite;                                                               \
    } while (0)

static inline uint32_t load32(const uint8_t *p, size_t i)
{
    uint32_t v;
    memcpy(&v, p + 4 * i, 4); /* safetensors is little-endian, as every target we build for */
    return v;
}

static inline uint32_t load16(const uint8_t *p, size_t i)
{
    return (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
}

static inline double f32_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline double bf16_bits(uint32_t b)
{
    return f32_bits(b << 16);
}

static void acc_f32(weft_tdiff_stats *s, const uint8_t *pa, const uint8_t *pb, size_t n, int same)
{
    ACC_FLOAT_LOOP(load32, 0x7f800000u, f32_bits);
}

static void acc_bf16(weft_tdiff_stats *s, const uint8_t *pa, const uint8_t *pb, size_t n, int same)
{
    ACC_FLOAT_LOOP(load16, 0x7f80u, bf16_bits);
}

static void acc_f16(weft_tdiff_stats *s, const uint8_t *pa, const uint8_t *pb, size_t n, int same)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t ha = (uint16_t)load16(pa, i);
        double va = weft_f16_to_double(ha);
        if (same) {
            if (isfinite(va))
                s->sum_sq_a += va * va;
            continue;
        }
        uint16_t hb = (uint16_t)load16(pb, i);
        pair(s, va, weft_f16_to_double(hb), ha != hb);
    }
}

/* 6-bit field i of a little-endian bit stream. */
static unsigned f6_field(const uint8_t *p, uint64_t i)
{
    uint64_t bit = i * 6;
    unsigned v = p[bit / 8] >> (bit % 8);
    if (bit % 8 > 2)
        v |= (unsigned)p[bit / 8 + 1] << (8 - bit % 8);
    return v & 0x3f;
}

static void acc_generic(weft_tdiff_stats *s, weft_dtype dt, const uint8_t *pa, const uint8_t *pb,
                        uint64_t n, int same)
{
    unsigned bits = weft_dtype_bits(dt);
    uint64_t ns = weft_dtype_n_scalars(dt, n);
    unsigned per = (unsigned)(ns / (n ? n : 1)); /* scalars per element: 2 for C64 */
    for (uint64_t i = 0; i < n; i++) {
        int differ = 0;
        if (!same) {
            if (bits == 4)
                differ = ((pa[i / 2] ^ pb[i / 2]) >> (4 * (i % 2)) & 0xf) != 0;
            else if (bits == 6)
                differ = f6_field(pa, i) != f6_field(pb, i);
            else
                differ = memcmp(pa + i * (bits / 8), pb + i * (bits / 8), bits / 8) != 0;
        }
        if (bits == 6) {
            s->n_changed += (uint64_t)differ; /* no agreed value: changed share only */
            continue;
        }
        int counted = 0;
        for (unsigned k = 0; k < per; k++) {
            double va = weft_dtype_value(dt, pa, i * per + k);
            if (same) {
                if (isfinite(va))
                    s->sum_sq_a += va * va;
                continue;
            }
            double vb = weft_dtype_value(dt, pb, i * per + k);
            /* the element counts once as changed; each scalar adds to max and L2 */
            weft_tdiff_stats one = {0};
            pair(&one, va, vb, differ);
            s->sum_sq_a += one.sum_sq_a;
            s->sum_sq_d += one.sum_sq_d;
            if (one.max_abs > s->max_abs)
                s->max_abs = one.max_abs;
            if (one.n_nonfinite && !counted)
                s->n_nonfinite++;
            counted |= differ;
        }
        s->n_changed += (uint64_t)differ;
    }
}

int weft_tdiff_update(weft_tdiff_entry *e, const uint8_t *pa, const uint8_t *pb, size_t len)
{
    if (e->kind != WEFT_TDIFF_COMPARE)
        return weft_err_set(WEFT_EINVALID, "diff: tensor %s has no bytes to compare", e->name);
    weft_dtype dt = e->a->dtype;
    unsigned bits = weft_dtype_bits(dt);
    uint64_t total = e->a->end - e->a->begin;
    uint64_t bitlen = (uint64_t)len * 8;
    if (len > total - e->stats.bytes_done || bitlen % bits != 0)
        return weft_err_set(WEFT_EINVALID,
                            "diff: tensor %s: a piece of %zu bytes does not fit (%s, %llu of "
                            "%llu bytes done)",
                            e->name, len, weft_dtype_name(dt),
                            (unsigned long long)e->stats.bytes_done, (unsigned long long)total);
    uint64_t n = bitlen / bits;
    int same = memcmp(pa, pb, len) == 0;
    weft_tdiff_stats *s = &e->stats;
    if (dt == WEFT_DTYPE_F32)
        acc_f32(s, pa, pb, (size_t)n, same);
    else if (dt == WEFT_DTYPE_BF16)
        acc_bf16(s, pa, pb, (size_t)n, same);
    else if (dt == WEFT_DTYPE_F16)
        acc_f16(s, pa, pb, (size_t)n, same);
    else
        acc_generic(s, dt, pa, pb, n, same);
    s->n_elems += n;
    s->bytes_done += len;
    return 0;
}

int weft_tdiff_finish(weft_tdiff *d, weft_tdiff_entry *e)
{
    if (e->kind != WEFT_TDIFF_COMPARE)
        return 0;
    if (e->stats.bytes_done != e->a->end - e->a->begin)
        return weft_err_set(WEFT_EINVALID, "diff: tensor %s: %llu of %llu bytes compared", e->name,
                            (unsigned long long)e->stats.bytes_done,
                            (unsigned long long)(e->a->end - e->a->begin));
    d->count[WEFT_TDIFF_COMPARE]--;
    e->kind = e->stats.n_changed ? WEFT_TDIFF_CHANGED : WEFT_TDIFF_IDENTICAL;
    d->count[e->kind]++;
    return 0;
}

double weft_tdiff_rel_l2(const weft_tdiff_stats *s)
{
    if (s->sum_sq_d == 0)
        return 0;
    if (s->sum_sq_a == 0)
        return INFINITY;
    return sqrt(s->sum_sq_d / s->sum_sq_a);
}

static json_t *shape_json(const weft_st_tensor *t)
{
    json_t *arr = json_array();
    for (uint32_t d = 0; arr && d < t->rank; d++)
        json_array_append_new(arr, json_integer((json_int_t)t->shape[d]));
    return arr;
}

static json_t *side_json(const weft_st_tensor *t)
{
    return json_pack("{s:s, s:o}", "dtype", weft_dtype_name(t->dtype), "shape", shape_json(t));
}

/* A double as JSON: null when not finite (JSON has no infinity). */
static json_t *num_json(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int weft_tdiff_to_json(json_t **out, const weft_tdiff *d)
{
    json_t *root = json_object(), *list = json_array(), *sum = json_object();
    int ok = root && list && sum;
    for (size_t i = 0; ok && i < d->n; i++) {
        const weft_tdiff_entry *e = &d->entries[i];
        const weft_st_tensor *t = e->b ? e->b : e->a;
        json_t *o =
            json_pack("{s:s, s:s}", "name", e->name, "status", weft_tdiff_kind_name(e->kind));
        ok = o != NULL;
        if (ok && (e->kind == WEFT_TDIFF_RESHAPED || e->kind == WEFT_TDIFF_RETYPED)) {
            ok = json_object_set_new(o, "a", side_json(e->a)) == 0 &&
                 json_object_set_new(o, "b", side_json(e->b)) == 0;
        } else if (ok) {
            ok = json_object_set_new(o, "dtype", json_string(weft_dtype_name(t->dtype))) == 0 &&
                 json_object_set_new(o, "shape", shape_json(t)) == 0;
        }
        if (ok && (e->kind == WEFT_TDIFF_CHANGED || e->kind == WEFT_TDIFF_IDENTICAL)) {
            const weft_tdiff_stats *s = &e->stats;
            double share = s->n_elems ? (double)s->n_changed / (double)s->n_elems : 0;
            ok = json_object_set_new(o, "elements", json_integer((json_int_t)s->n_elems)) == 0 &&
                 json_object_set_new(o, "changed_elements",
                                     json_integer((json_int_t)s->n_changed)) == 0 &&
                 json_object_set_new(o, "changed_share", json_real(share)) == 0 &&
                 json_object_set_new(o, "max_abs_diff", num_json(s->max_abs)) == 0 &&
                 json_object_set_new(o, "rel_l2", num_json(weft_tdiff_rel_l2(s))) == 0;
            if (ok && s->n_nonfinite)
                ok = json_object_set_new(o, "nonfinite_changed",
                                         json_integer((json_int_t)s->n_nonfinite)) == 0;
        }
        if (!ok) {
            json_decref(o);
            break;
        }
        ok = json_array_append_new(list, o) == 0;
    }
    for (int k = WEFT_TDIFF_IDENTICAL; ok && k < WEFT_TDIFF_KIND_COUNT; k++)
        ok = json_object_set_new(sum, kind_names[k], json_integer((json_int_t)d->count[k])) == 0;
    if (ok) {
        ok = json_object_set_new(root, "tensors", list) == 0;
        list = NULL;
    }
    if (ok) {
        ok = json_object_set_new(root, "summary", sum) == 0;
        sum = NULL;
    }
    json_decref(list);
    json_decref(sum);
    if (!ok) {
        json_decref(root);
        return weft_err_set(WEFT_ENOMEM, "diff: out of memory building JSON");
    }
    *out = root;
    return 0;
}
