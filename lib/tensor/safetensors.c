/* Safetensors headers (include/weft/safetensors.h, specs/model-formats.md §8): validation on
 * parse, the reference writer's layout and JSON on serialize. JSON is parsed with jansson
 * (duplicate keys rejected, UTF-8 checked, key order kept); it is written by hand so the bytes
 * match the reference writer exactly. */
#include "weft/safetensors.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"

typedef struct st_impl {
    weft_st_header pub; /* first: the public pointer is the impl pointer */
    tensor_arena arena;
    size_t cap_tensors, cap_meta;
    size_t *by_name; /* tensor indexes sorted by name; NULL while building */
} st_impl;

static st_impl *st_of(weft_st_header *h)
{
    return (st_impl *)h;
}

int weft_st_header_need(uint64_t *need, const uint8_t *p, size_t len)
{
    if (len < 8) {
        *need = 8;
        return 0;
    }
    uint64_t n = weft_load_u64le(p);
    if (n > WEFT_ST_MAX_HEADER_LEN)
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: header size %" PRIu64 " is over the limit of %llu bytes",
                            n, WEFT_ST_MAX_HEADER_LEN);
    *need = 8 + n;
    return 0;
}

static int st_new(st_impl **out)
{
    st_impl *s = calloc(1, sizeof *s);
    if (!s)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    *out = s;
    return 0;
}

void weft_st_header_free(weft_st_header *h)
{
    if (!h)
        return;
    st_impl *s = st_of(h);
    tensor_arena_dispose(&s->arena);
    free(s->by_name);
    free(s);
}

int weft_st_header_new(weft_st_header **out)
{
    st_impl *s = NULL;
    int rc = st_new(&s);
    if (rc == 0)
        *out = &s->pub;
    return rc;
}

/* Grows an arena array of `elem` byte items to hold at least want items. */
static int st_grow(st_impl *s, void **arr, size_t *cap, size_t have, size_t want, size_t elem)
{
    if (want <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < want)
        ncap *= 2;
    void *n = tensor_arena_alloc(&s->arena, ncap * elem);
    if (!n)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    if (have)
        memcpy(n, *arr, have * elem);
    *arr = n;
    *cap = ncap;
    return 0;
}

/* Sorts tensor indexes by name (merge sort: qsort has no context argument in C11). */
static void sort_by_name(const weft_st_header *h, size_t *idx, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t mid = n / 2;
    sort_by_name(h, idx, tmp, mid);
    sort_by_name(h, idx + mid, tmp, n - mid);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n) {
        const weft_st_tensor *a = &h->tensors[idx[i]], *b = &h->tensors[idx[j]];
        if (tensor_bytes_cmp(a->name, a->name_len, b->name, b->name_len) <= 0)
            tmp[k++] = idx[i++];
        else
            tmp[k++] = idx[j++];
    }
    while (i < mid)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

static int st_index(st_impl *s)
{
    size_t n = s->pub.n_tensors;
    free(s->by_name);
    s->by_name = NULL;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!idx || !tmp) {
        free(idx);
        free(tmp);
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_by_name(&s->pub, idx, tmp, n);
    free(tmp);
    s->by_name = idx;
    return 0;
}

const weft_st_tensor *weft_st_find(const weft_st_header *h, const char *name, size_t name_len)
{
    const st_impl *s = (const st_impl *)h;
    if (!s->by_name) {
        for (size_t i = 0; i < h->n_tensors; i++)
            if (tensor_bytes_cmp(h->tensors[i].name, h->tensors[i].name_len, name, name_len) == 0)
                return &h->tensors[i];
        return NULL;
    }
    size_t lo = 0, hi = h->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const weft_st_tensor *t = &h->tensors[s->by_name[mid]];
        int c = tensor_bytes_cmp(t->name, t->name_len, name, name_len);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* numel and byte size of a shape, checked. */
static int st_shape_size(uint64_t *numel, uint64_t *nbytes, weft_dtype dt, uint32_t rank,
                         const uint64_t *shape, const char *name)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < rank; d++)
        if (__builtin_mul_overflow(n, shape[d], &n))
            return weft_err_set(WEFT_ECORRUPT, "safetensors: tensor %s: shape overflows 64 bits",
                                name);
    int rc = weft_dtype_nbytes(nbytes, dt, n);
    if (rc)
        return weft_err_wrap(rc == WEFT_ELIMIT ? WEFT_ECORRUPT : rc, "safetensors: tensor %s",
                             name);
    *numel = n;
    return 0;
}

int weft_st_add_meta(weft_st_header *h, const char *key, const char *value)
{
    st_impl *s = st_of(h);
    size_t klen = strlen(key), vlen = strlen(value);
    for (size_t i = 0; i < h->n_meta; i++)
        if (tensor_bytes_cmp(h->meta[i].key, h->meta[i].key_len, key, klen) == 0)
            return weft_err_set(WEFT_EINVALID, "safetensors: duplicate metadata key %s", key);
    int rc = st_grow(s, (void **)&h->meta, &s->cap_meta, h->n_meta, h->n_meta + 1, sizeof *h->meta);
    if (rc)
        return rc;
    weft_st_meta *m = &h->meta[h->n_meta];
    m->key = tensor_arena_strndup(&s->arena, key, klen);
    m->value = tensor_arena_strndup(&s->arena, value, vlen);
    if (!m->key || !m->value)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    m->key_len = klen;
    m->value_len = vlen;
    h->n_meta++;
    h->has_metadata = 1;
    return 0;
}

/* Appends a tensor without checking for a duplicate name (parse relies on jansson for that). */
static int st_push_tensor(st_impl *s, const char *name, size_t name_len, weft_dtype dtype,
                          uint32_t rank, const uint64_t *shape, weft_st_tensor **out)
{
    weft_st_header *h = &s->pub;
    if (rank > WEFT_ST_MAX_RANK)
        return weft_err_set(WEFT_ELIMIT, "safetensors: tensor %.*s has %u dimensions (limit %d)",
                            (int)(name_len > 200 ? 200 : name_len), name, rank, WEFT_ST_MAX_RANK);
    if (memchr(name, 0, name_len))
        return weft_err_set(WEFT_ECORRUPT, "safetensors: a tensor name contains a NUL byte");
    int rc = st_grow(s, (void **)&h->tensors, &s->cap_tensors, h->n_tensors, h->n_tensors + 1,
                     sizeof *h->tensors);
    if (rc)
        return rc;
    weft_st_tensor *t = &h->tensors[h->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = tensor_arena_strndup(&s->arena, name, name_len);
    uint64_t *sh = tensor_arena_alloc(&s->arena, (rank ? rank : 1) * sizeof *sh);
    if (!t->name || !sh)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    if (rank)
        memcpy(sh, shape, rank * sizeof *sh);
    t->name_len = name_len;
    t->dtype = dtype;
    t->rank = rank;
    t->shape = sh;
    t->header_index = h->n_tensors;
    uint64_t nbytes = 0;
    rc = st_shape_size(&t->numel, &nbytes, dtype, rank, sh, t->name);
    if (rc)
        return rc;
    t->end = nbytes; /* begin 0 until laid out or parsed */
    h->n_tensors++;
    *out = t;
    return 0;
}

int weft_st_add_tensor(weft_st_header *h, const char *name, weft_dtype dtype, uint32_t rank,
                       const uint64_t *shape)
{
    st_impl *s = st_of(h);
    size_t len = strlen(name);
    if ((unsigned)dtype >= WEFT_DTYPE_COUNT)
        return weft_err_set(WEFT_EINVALID, "safetensors: tensor %s: dtype %d out of range", name,
                            (int)dtype);
    if (len == 12 && memcmp(name, "__metadata__", 12) == 0)
        return weft_err_set(WEFT_EINVALID, "safetensors: __metadata__ is not a tensor name");
    free(s->by_name);
    s->by_name = NULL;
    if (weft_st_find(h, name, len))
        return weft_err_set(WEFT_EINVALID, "safetensors: duplicate tensor %s", name);
    weft_st_tensor *t = NULL;
    int rc = st_push_tensor(s, name, len, dtype, rank, shape, &t);
    if (rc == WEFT_ECORRUPT)
        rc = WEFT_EINVALID; /* from a caller, not from a file */
    return rc;
}

static int cmp_layout(const weft_st_tensor *a, const weft_st_tensor *b)
{
    if (a->dtype != b->dtype)
        return a->dtype > b->dtype ? -1 : 1;
    return tensor_bytes_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Stable insertion-free merge sort of the tensor array by a comparison. */
static int st_sort(weft_st_tensor *t, size_t n,
                   int (*cmp)(const weft_st_tensor *, const weft_st_tensor *))
{
    if (n < 2)
        return 0;
    weft_st_tensor *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(&t[j], &t[i]) < 0 ? t[j++] : t[i++];
            while (i < mid)
                tmp[k++] = t[i++];
            while (j < hi)
                tmp[k++] = t[j++];
        }
        memcpy(t, tmp, n * sizeof *t);
    }
    free(tmp);
    return 0;
}

int weft_st_layout(weft_st_header *h)
{
    st_impl *s = st_of(h);
    int rc = st_sort(h->tensors, h->n_tensors, cmp_layout);
    if (rc)
        return rc;
    uint64_t off = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        weft_st_tensor *t = &h->tensors[i];
        uint64_t nbytes = t->end - t->begin;
        t->begin = off;
        if (__builtin_add_overflow(off, nbytes, &off))
            return weft_err_set(WEFT_ELIMIT, "safetensors: data over 2^64 bytes");
        t->end = off;
        t->header_index = i;
    }
    h->data_len = off;
    return st_index(s);
}

uint64_t weft_st_count_params(const weft_st_header *h, uint64_t counts[WEFT_DTYPE_COUNT])
{
    uint64_t total = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        counts[h->tensors[i].dtype] += h->tensors[i].numel;
        total += h->tensors[i].numel;
    }
    return total;
}

/* ---- parse ---- */

static int cmp_offsets(const weft_st_tensor *a, const weft_st_tensor *b)
{
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return a->header_index < b->header_index ? -1 : a->header_index > b->header_index;
}

static int st_u64(uint64_t *out, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Keys of an object in order, checked against a list: 1 if they are exactly `want`. */
static int keys_in_order(const json_t *obj, const char *const *want, size_t n_want)
{
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        if (k >= n_want || strcmp(key, want[k]) != 0)
            return 0;
        k++;
    }
    return k == n_want;
}

static int keys_sorted(const json_t *obj)
{
    const char *prev = NULL;
    size_t prev_len = 0;
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        if (prev && tensor_bytes_cmp(prev, prev_len, key, len) > 0)
            return 0;
        prev = key;
        prev_len = len;
    }
    return 1;
}

static const char *const fields_sorted[] = {"data_offsets", "dtype", "shape"};

static int st_parse_tensor(st_impl *s, const char *name, size_t name_len, const json_t *info,
                           int *sorted_fields)
{
    char shown[208];
    size_t show = name_len > 200 ? 200 : name_len;
    memcpy(shown, name, show);
    shown[show] = 0;
    if (!json_is_object(info))
        return weft_err_set(WEFT_ECORRUPT, "safetensors: tensor %s: entry is not an object", shown);
    const json_t *jd = json_object_get(info, "dtype");
    const json_t *js = json_object_get(info, "shape");
    const json_t *jo = json_object_get(info, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo))
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: tensor %s: needs \"dtype\" (string), \"shape\" and "
                            "\"data_offsets\" (arrays)",
                            shown);
    weft_dtype dt;
    if (weft_dtype_from_name(&dt, json_string_value(jd), json_string_length(jd)) != 0)
        return weft_err_set(WEFT_ECORRUPT, "safetensors: tensor %s: unknown dtype \"%.32s\"", shown,
                            json_string_value(jd));
    size_t rank = json_array_size(js);
    if (rank > WEFT_ST_MAX_RANK)
        return weft_err_set(WEFT_ELIMIT, "safetensors: tensor %s has %zu dimensions (limit %d)",
                            shown, rank, WEFT_ST_MAX_RANK);
    uint64_t shape[WEFT_ST_MAX_RANK];
    for (size_t d = 0; d < rank; d++)
        if (st_u64(&shape[d], json_array_get(js, d)) != 0)
            return weft_err_set(WEFT_ECORRUPT,
                                "safetensors: tensor %s: shape[%zu] is not a non-negative integer",
                                shown, d);
    uint64_t begin, end;
    if (json_array_size(jo) != 2 || st_u64(&begin, json_array_get(jo, 0)) != 0 ||
        st_u64(&end, json_array_get(jo, 1)) != 0)
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: tensor %s: data_offsets must be two non-negative "
                            "integers [begin, end]",
                            shown);
    if (begin > end)
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: tensor %s: data_offsets begin %" PRIu64
                            " is after end %" PRIu64,
                            shown, begin, end);
    weft_st_tensor *t = NULL;
    int rc = st_push_tensor(s, name, name_len, dt, (uint32_t)rank, shape, &t);
    if (rc)
        return rc;
    if (end - begin != t->end)
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: tensor %s: %s shape of %" PRIu64
                            " elements needs %" PRIu64 " bytes, data_offsets give %" PRIu64,
                            shown, weft_dtype_name(dt), t->numel, t->end, end - begin);
    t->begin = begin;
    t->end = end;
    if (!keys_in_order(info, fields_sorted, 3))
        *sorted_fields = 0;
    return 0;
}

int weft_st_parse(weft_st_header **out, const uint8_t *p, size_t len, uint64_t file_size)
{
    st_impl *s = NULL;
    json_t *root = NULL;
    uint64_t need = 0;
    int rc = weft_st_header_need(&need, p, len);
    if (rc)
        return rc;
    if (len < need)
        return weft_err_set(WEFT_EINVALID,
                            "safetensors: %zu header bytes given, %" PRIu64 " needed", len, need);
    uint64_t n = need - 8;
    if (file_size != WEFT_ST_SIZE_UNKNOWN && file_size < need)
        return weft_err_set(WEFT_ECORRUPT,
                            "safetensors: header of %" PRIu64
                            " bytes is longer than the file (%" PRIu64 " bytes)",
                            n, file_size);
    if (n == 0)
        return weft_err_set(WEFT_ECORRUPT, "safetensors: empty header");
    json_error_t jerr;
    root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = weft_err_set(WEFT_ECORRUPT, "safetensors: header is not valid JSON: %s (byte %d)",
                          jerr.text, jerr.position);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = weft_err_set(WEFT_ECORRUPT, "safetensors: header is not a JSON object");
        goto out;
    }
    rc = st_new(&s);
    if (rc)
        goto out;
    weft_st_header *h = &s->pub;
    h->header_len = n;
    h->data_start = need;
    int sorted = keys_sorted(root);
    void *it;
    for (it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
        const char *key = json_object_iter_key(it);
        size_t key_len = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        if (key_len == 12 && memcmp(key, "__metadata__", 12) == 0) {
            if (!json_is_object(v)) {
                rc = weft_err_set(WEFT_ECORRUPT, "safetensors: __metadata__ is not an object");
                goto out;
            }
            if (!keys_sorted(v))
                sorted = 0;
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                if (!json_is_string(mv)) {
                    rc = weft_err_set(WEFT_ECORRUPT,
                                      "safetensors: __metadata__ value of \"%.200s\" is not a "
                                      "string",
                                      mk);
                    goto out;
                }
                rc = st_grow(s, (void **)&h->meta, &s->cap_meta, h->n_meta, h->n_meta + 1,
                             sizeof *h->meta);
                if (rc)
                    goto out;
                weft_st_meta *m = &h->meta[h->n_meta];
                m->key_len = strlen(mk);
                m->value_len = json_string_length(mv);
                m->key = tensor_arena_strndup(&s->arena, mk, m->key_len);
                m->value = tensor_arena_strndup(&s->arena, json_string_value(mv), m->value_len);
                if (!m->key || !m->value) {
                    rc = weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
                    goto out;
                }
                h->n_meta++;
            }
            h->has_metadata = 1;
            continue;
        }
        int sorted_fields = 1;
        rc = st_parse_tensor(s, key, key_len, v, &sorted_fields);
        if (rc)
            goto out;
        if (!sorted_fields)
            sorted = 0;
    }
    h->flags = sorted ? WEFT_ST_KEYS_SORTED : 0;

    /* The tensors sorted by offset must tile the data exactly. */
    rc = st_sort(h->tensors, h->n_tensors, cmp_offsets);
    if (rc)
        goto out;
    uint64_t expect = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        weft_st_tensor *t = &h->tensors[i];
        if (t->begin != expect) {
            rc = weft_err_set(WEFT_ECORRUPT,
                              "safetensors: tensor %.200s: data starts at %" PRIu64
                              ", expected %" PRIu64 " (%s)",
                              t->name, t->begin, expect,
                              t->begin > expect ? "a gap before it" : "it overlaps another");
            goto out;
        }
        expect = t->end;
        t->abs_begin = need + t->begin;
        t->abs_end = need + t->end;
        if (t->abs_end < t->end) {
            rc = weft_err_set(WEFT_ECORRUPT, "safetensors: tensor %.200s: offsets overflow",
                              t->name);
            goto out;
        }
    }
    h->data_len = expect;
    if (file_size != WEFT_ST_SIZE_UNKNOWN && file_size - need != expect) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "safetensors: the tensors end at byte %" PRIu64
                          " of the data but the file has %" PRIu64 " data bytes",
                          expect, file_size - need);
        goto out;
    }
    rc = st_index(s);
    if (rc)
        goto out;
    *out = h;
    s = NULL;
out:
    if (s)
        weft_st_header_free(&s->pub);
    json_decref(root);
    return rc;
}

/* ---- serialize ---- */

/* A JSON string as serde_json writes it. */
static int json_put_str(weft_buf *b, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int rc = weft_buf_put_u8(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = NULL;
        char u[6];
        size_t elen = 2;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                esc = u;
                elen = 6;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        rc = weft_buf_append(b, p + i - run, run);
        if (rc == 0)
            rc = weft_buf_append(b, esc, elen);
        run = 0;
    }
    if (rc == 0)
        rc = weft_buf_append(b, p + len - run, run);
    if (rc == 0)
        rc = weft_buf_put_u8(b, '"');
    return rc;
}

static int json_put_tensor(weft_buf *b, const weft_st_tensor *t, unsigned flags)
{
    int rc = json_put_str(b, t->name, t->name_len);
    if (rc == 0 && (flags & WEFT_ST_KEYS_SORTED))
        rc = weft_buf_printf(b,
                             ":{\"data_offsets\":[%" PRIu64 ",%" PRIu64 "],\"dtype\":\"%s\","
                             "\"shape\":[",
                             t->begin, t->end, weft_dtype_name(t->dtype));
    else if (rc == 0)
        rc = weft_buf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", weft_dtype_name(t->dtype));
    for (uint32_t d = 0; d < t->rank && rc == 0; d++)
        rc = weft_buf_printf(b, d ? ",%" PRIu64 : "%" PRIu64, t->shape[d]);
    if (rc == 0 && (flags & WEFT_ST_KEYS_SORTED))
        rc = weft_buf_append(b, "]}", 2);
    else if (rc == 0)
        rc = weft_buf_printf(b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", t->begin, t->end);
    return rc;
}

static int json_put_meta(weft_buf *b, const weft_st_header *h, unsigned flags)
{
    int rc = weft_buf_append(b, "\"__metadata__\":{", 16);
    size_t *order = malloc((h->n_meta ? h->n_meta : 1) * sizeof *order);
    if (!order)
        return weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
    for (size_t i = 0; i < h->n_meta; i++) {
        size_t j = i;
        /* insertion sort: metadata maps are small */
        while ((flags & WEFT_ST_KEYS_SORTED) && j > 0 &&
               tensor_bytes_cmp(h->meta[order[j - 1]].key, h->meta[order[j - 1]].key_len,
                                h->meta[i].key, h->meta[i].key_len) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < h->n_meta && rc == 0; i++) {
        const weft_st_meta *m = &h->meta[order[i]];
        if (i)
            rc = weft_buf_put_u8(b, ',');
        if (rc == 0)
            rc = json_put_str(b, m->key, m->key_len);
        if (rc == 0)
            rc = weft_buf_put_u8(b, ':');
        if (rc == 0)
            rc = json_put_str(b, m->value, m->value_len);
    }
    free(order);
    if (rc == 0)
        rc = weft_buf_put_u8(b, '}');
    return rc;
}

static int cmp_name(const weft_st_tensor *a, const weft_st_tensor *b)
{
    return tensor_bytes_cmp(a->name, a->name_len, b->name, b->name_len);
}

int weft_st_serialize(weft_buf *out, weft_st_header *h, unsigned flags)
{
    weft_buf js;
    weft_buf_init(&js, WEFT_ST_MAX_HEADER_LEN);
    weft_st_tensor *sorted = NULL;
    const weft_st_tensor *order = h->tensors;
    int rc = 0;
    if (flags & WEFT_ST_KEYS_SORTED) {
        sorted = malloc((h->n_tensors ? h->n_tensors : 1) * sizeof *sorted);
        if (!sorted) {
            rc = weft_err_set(WEFT_ENOMEM, "safetensors: out of memory");
            goto out;
        }
        if (h->n_tensors)
            memcpy(sorted, h->tensors, h->n_tensors * sizeof *sorted);
        rc = st_sort(sorted, h->n_tensors, cmp_name);
        if (rc)
            goto out;
        order = sorted;
    }
    rc = weft_buf_put_u8(&js, '{');
    int meta_done = !h->has_metadata, first = 1;
    for (size_t i = 0; i <= h->n_tensors && rc == 0; i++) {
        /* In sorted mode __metadata__ takes its place among the names; otherwise first. */
        if (!meta_done &&
            (i == h->n_tensors || !(flags & WEFT_ST_KEYS_SORTED) ||
             tensor_bytes_cmp("__metadata__", 12, order[i].name, order[i].name_len) < 0)) {
            rc = json_put_meta(&js, h, flags);
            meta_done = 1;
            first = 0;
            if (rc)
                break;
        }
        if (i == h->n_tensors)
            break;
        if (!first)
            rc = weft_buf_put_u8(&js, ',');
        if (rc == 0)
            rc = json_put_tensor(&js, &order[i], flags);
        first = 0;
    }
    if (rc == 0)
        rc = weft_buf_put_u8(&js, '}');
    while (rc == 0 && js.len % 8 != 0)
        rc = weft_buf_put_u8(&js, ' ');
    if (rc == 0)
        rc = weft_buf_put_u64le(out, js.len);
    if (rc == 0)
        rc = weft_buf_append(out, js.data, js.len);
    if (rc)
        goto out;
    h->header_len = js.len;
    h->data_start = 8 + js.len;
    h->data_len = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        h->tensors[i].abs_begin = h->data_start + h->tensors[i].begin;
        h->tensors[i].abs_end = h->data_start + h->tensors[i].end;
        if (h->tensors[i].end > h->data_len)
            h->data_len = h->tensors[i].end;
    }
out:
    free(sorted);
    weft_buf_dispose(&js);
    return rc;
}
