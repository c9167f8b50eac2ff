/* GGUF v3 headers (include/weft/gguf.h, specs/model-formats.md §1.1). One parser serves both
 * weft_gguf_header_need (stops at the first missing byte and says how many are needed) and
 * weft_gguf_parse (every byte present). Counts are checked against the bytes left before any
 * allocation, so a hostile count costs at most a few times the input size. */
#include "weft/gguf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"

/* Internal: the buffer ends before the header does (need mode stops here). */
#define GGUF_TRUNC 1

static const struct {
    const char *name;
    uint32_t block_elems, block_bytes;
} ggml_types[] = {
    [0] = {"F32", 1, 4},         [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},      [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},      [9] = {"Q8_1", 32, 36},      [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},   [12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},   [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74},  [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},   [21] = {"IQ3_S", 256, 110},  [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},         [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},        [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},   [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},   [39] = {"MXFP4", 32, 17},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *weft_gguf_type_name(uint32_t t)
{
    return t < N_GGML_TYPES ? ggml_types[t].name : NULL;
}

int weft_gguf_type_block(uint32_t t, uint32_t *block_elems, uint32_t *block_bytes)
{
    if (!weft_gguf_type_name(t))
        return weft_err_set(WEFT_EINVALID, "gguf: unknown ggml type %" PRIu32, t);
    *block_elems = ggml_types[t].block_elems;
    *block_bytes = ggml_types[t].block_bytes;
    return 0;
}

static const char *const value_type_names[WEFT_GGUF_TYPE_COUNT] = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64",
};
/* Bytes of one scalar value; strings and arrays give their minimum. */
static const uint8_t value_min_len[WEFT_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};

const char *weft_gguf_value_type_name(weft_gguf_type t)
{
    return (unsigned)t < WEFT_GGUF_TYPE_COUNT ? value_type_names[t] : "?";
}

uint64_t weft_gguf_padded_size(const weft_gguf *g, uint64_t size)
{
    uint64_t a = g->alignment ? g->alignment : WEFT_GGUF_DEFAULT_ALIGNMENT;
    return size + (a - size % a) % a;
}

typedef struct gguf_impl {
    weft_gguf pub; /* first */
    tensor_arena arena;
} gguf_impl;

typedef struct gguf_cur {
    const uint8_t *base, *p, *end;
    uint64_t need; /* on GGUF_TRUNC: bytes of input needed (a lower bound) */
    gguf_impl *g;
} gguf_cur;

static uint64_t cur_pos(const gguf_cur *c)
{
    return (uint64_t)(c->p - c->base);
}

/* Marks that `n` more bytes from here are needed. */
static int cur_trunc(gguf_cur *c, uint64_t n)
{
    uint64_t need;
    if (__builtin_add_overflow(cur_pos(c), n, &need))
        need = UINT64_MAX;
    c->need = need;
    if (need > WEFT_GGUF_MAX_HEADER_LEN)
        return weft_err_set(WEFT_ELIMIT,
                            "gguf: header needs %" PRIu64 " bytes, over the limit of %llu", need,
                            WEFT_GGUF_MAX_HEADER_LEN);
    return GGUF_TRUNC;
}

static int cur_take(gguf_cur *c, const uint8_t **out, uint64_t n)
{
    if ((uint64_t)(c->end - c->p) < n)
        return cur_trunc(c, n);
    *out = c->p;
    c->p += n;
    return 0;
}

static int cur_u32(gguf_cur *c, uint32_t *v)
{
    const uint8_t *q = NULL;
    int rc = cur_take(c, &q, 4);
    if (rc == 0)
        *v = weft_load_u32le(q);
    return rc;
}

static int cur_u64(gguf_cur *c, uint64_t *v)
{
    const uint8_t *q = NULL;
    int rc = cur_take(c, &q, 8);
    if (rc == 0)
        *v = weft_load_u64le(q);
    return rc;
}

/* Checks that n items of at least `min` bytes each can still be in the input. */
static int cur_room(gguf_cur *c, uint64_t n, uint64_t min)
{
    uint64_t bytes;
    if (__builtin_mul_overflow(n, min, &bytes))
        bytes = UINT64_MAX;
    if ((uint64_t)(c->end - c->p) < bytes)
        return cur_trunc(c, bytes);
    return 0;
}

static int cur_str(gguf_cur *c, const char **s, uint64_t *len)
{
    uint64_t n;
    const uint8_t *q = NULL;
    int rc = cur_u64(c, &n);
    if (rc == 0)
        rc = cur_take(c, &q, n);
    if (rc)
        return rc;
    char *copy = tensor_arena_strndup(&c->g->arena, q, (size_t)n);
    if (!copy)
        return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
    *s = copy;
    *len = n;
    return 0;
}

static int read_value(gguf_cur *c, weft_gguf_value *v, uint32_t type, int depth, const char *key)
{
    const uint8_t *q = NULL;
    int rc = 0;
    if (type >= WEFT_GGUF_TYPE_COUNT)
        return weft_err_set(WEFT_ECORRUPT, "gguf: key %.200s: unknown value type %" PRIu32, key,
                            type);
    v->type = (weft_gguf_type)type;
    switch (v->type) {
    case WEFT_GGUF_UINT8:
    case WEFT_GGUF_BOOL:
        rc = cur_take(c, &q, 1);
        if (rc == 0)
            v->v.u = q[0];
        if (rc == 0 && v->type == WEFT_GGUF_BOOL && q[0] > 1)
            return weft_err_set(WEFT_ECORRUPT, "gguf: key %.200s: bool value %u is not 0 or 1", key,
                                q[0]);
        return rc;
    case WEFT_GGUF_INT8:
        rc = cur_take(c, &q, 1);
        if (rc == 0)
            v->v.i = (int8_t)q[0];
        return rc;
    case WEFT_GGUF_UINT16:
        rc = cur_take(c, &q, 2);
        if (rc == 0)
            v->v.u = (uint16_t)(q[0] | q[1] << 8);
        return rc;
    case WEFT_GGUF_INT16:
        rc = cur_take(c, &q, 2);
        if (rc == 0)
            v->v.i = (int16_t)(uint16_t)(q[0] | q[1] << 8);
        return rc;
    case WEFT_GGUF_UINT32:
        rc = cur_take(c, &q, 4);
        if (rc == 0)
            v->v.u = weft_load_u32le(q);
        return rc;
    case WEFT_GGUF_INT32:
        rc = cur_take(c, &q, 4);
        if (rc == 0)
            v->v.i = (int32_t)weft_load_u32le(q);
        return rc;
    case WEFT_GGUF_FLOAT32:
        rc = cur_take(c, &q, 4);
        if (rc == 0)
            v->v.f32_bits = weft_load_u32le(q);
        return rc;
    case WEFT_GGUF_UINT64:
    case WEFT_GGUF_FLOAT64:
        rc = cur_take(c, &q, 8);
        if (rc == 0)
            v->v.u = weft_load_u64le(q); /* f64_bits shares the storage */
        return rc;
    case WEFT_GGUF_INT64:
        rc = cur_take(c, &q, 8);
        if (rc == 0)
            v->v.i = (int64_t)weft_load_u64le(q);
        return rc;
    case WEFT_GGUF_STRING: return cur_str(c, &v->v.str.p, &v->v.str.len);
    case WEFT_GGUF_ARRAY: {
        uint32_t et;
        uint64_t n;
        rc = cur_u32(c, &et);
        if (rc == 0)
            rc = cur_u64(c, &n);
        if (rc)
            return rc;
        if (et >= WEFT_GGUF_TYPE_COUNT)
            return weft_err_set(WEFT_ECORRUPT,
                                "gguf: key %.200s: unknown array element type %" PRIu32, key, et);
        if (et == WEFT_GGUF_ARRAY && depth + 1 >= WEFT_GGUF_MAX_DEPTH)
            return weft_err_set(WEFT_ELIMIT, "gguf: key %.200s: arrays nested deeper than %d", key,
                                WEFT_GGUF_MAX_DEPTH);
        rc = cur_room(c, n, value_min_len[et]);
        if (rc)
            return rc;
        v->v.arr.elem_type = (weft_gguf_type)et;
        v->v.arr.n = n;
        v->v.arr.items = NULL;
        if (n) {
            v->v.arr.items = tensor_arena_alloc(&c->g->arena, (size_t)n * sizeof *v->v.arr.items);
            if (!v->v.arr.items)
                return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
        }
        for (uint64_t i = 0; i < n; i++) {
            rc = read_value(c, &v->v.arr.items[i], et, depth + 1, key);
            if (rc)
                return rc;
        }
        return 0;
    }
    default: return weft_err_set(WEFT_ECORRUPT, "gguf: key %.200s: unknown value type", key);
    }
}

static int cmp_kv(const void *x, const void *y)
{
    const weft_gguf_kv *a = *(const weft_gguf_kv *const *)x, *b = *(const weft_gguf_kv *const *)y;
    return tensor_bytes_cmp(a->key, (size_t)a->key_len, b->key, (size_t)b->key_len);
}

static int cmp_tensor(const void *x, const void *y)
{
    const weft_gguf_tensor *a = *(const weft_gguf_tensor *const *)x;
    const weft_gguf_tensor *b = *(const weft_gguf_tensor *const *)y;
    return tensor_bytes_cmp(a->name, (size_t)a->name_len, b->name, (size_t)b->name_len);
}

/* Duplicate keys and tensor names: sort pointers, compare neighbours. */
static int check_unique(weft_gguf *g)
{
    size_t n = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    const void **ptrs = malloc((n ? n : 1) * sizeof *ptrs);
    int rc = 0;
    if (!ptrs)
        return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
    for (size_t i = 0; i < g->n_kv; i++)
        ptrs[i] = &g->kv[i];
    qsort(ptrs, g->n_kv, sizeof *ptrs, cmp_kv);
    for (size_t i = 1; i < g->n_kv && rc == 0; i++)
        if (cmp_kv(&ptrs[i - 1], &ptrs[i]) == 0)
            rc = weft_err_set(WEFT_ECORRUPT, "gguf: duplicate key %.200s",
                              ((const weft_gguf_kv *)ptrs[i])->key);
    for (size_t i = 0; i < g->n_tensors && rc == 0; i++)
        ptrs[i] = &g->tensors[i];
    if (rc == 0)
        qsort(ptrs, g->n_tensors, sizeof *ptrs, cmp_tensor);
    for (size_t i = 1; i < g->n_tensors && rc == 0; i++)
        if (cmp_tensor(&ptrs[i - 1], &ptrs[i]) == 0)
            rc = weft_err_set(WEFT_ECORRUPT, "gguf: duplicate tensor %s",
                              ((const weft_gguf_tensor *)ptrs[i])->name);
    free(ptrs);
    return rc;
}

static int read_tensor(gguf_cur *c, weft_gguf *g, weft_gguf_tensor *t, uint64_t *expect)
{
    uint32_t be = 1, bb = 0;
    int rc = cur_str(c, &t->name, &t->name_len);
    if (rc == 0)
        rc = cur_u32(c, &t->n_dims);
    if (rc)
        return rc;
    if (t->name_len == 0 || t->name_len >= WEFT_GGUF_MAX_NAME)
        return weft_err_set(WEFT_ECORRUPT,
                            "gguf: tensor name of %" PRIu64 " bytes (must be 1 to %d)", t->name_len,
                            WEFT_GGUF_MAX_NAME - 1);
    if (t->n_dims == 0 || t->n_dims > WEFT_GGUF_MAX_DIMS)
        return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: %" PRIu32 " dimensions (1 to %d)",
                            t->name, t->n_dims, WEFT_GGUF_MAX_DIMS);
    t->numel = 1;
    for (uint32_t d = 0; d < WEFT_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims) {
            rc = cur_u64(c, &t->ne[d]);
            if (rc)
                return rc;
        }
        if (t->ne[d] > INT64_MAX || __builtin_mul_overflow(t->numel, t->ne[d], &t->numel) ||
            t->numel > INT64_MAX)
            return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: dimensions overflow", t->name);
    }
    rc = cur_u32(c, &t->type);
    if (rc == 0)
        rc = cur_u64(c, &t->offset);
    if (rc)
        return rc;
    if (weft_gguf_type_block(t->type, &be, &bb) != 0)
        return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: unknown ggml type %" PRIu32, t->name,
                            t->type);
    if (t->ne[0] % be != 0)
        return weft_err_set(WEFT_ECORRUPT,
                            "gguf: tensor %s: row length %" PRIu64
                            " is not a multiple of the %s block size %" PRIu32,
                            t->name, t->ne[0], ggml_types[t->type].name, be);
    if (__builtin_mul_overflow(t->numel / be, (uint64_t)bb, &t->size))
        return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: size overflows", t->name);
    if (t->offset != *expect)
        return weft_err_set(WEFT_ECORRUPT,
                            "gguf: tensor %s: data offset %" PRIu64 ", expected %" PRIu64
                            " (offsets must be sequential and aligned to %" PRIu32 ")",
                            t->name, t->offset, *expect, g->alignment);
    uint64_t padded = weft_gguf_padded_size(g, t->size);
    if (padded < t->size || __builtin_add_overflow(*expect, padded, expect))
        return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: offsets overflow", t->name);
    return 0;
}

/* The one parser. Returns 0 (complete), GGUF_TRUNC (c->need set) or a WEFT_E* code. */
static int gguf_read(gguf_cur *c, uint64_t file_size)
{
    weft_gguf *g = &c->g->pub;
    const uint8_t *q = NULL;
    uint64_t n_tensors, n_kv;
    int rc = cur_take(c, &q, 4);
    if (rc)
        return rc;
    if (memcmp(q, WEFT_GGUF_MAGIC, 4) != 0)
        return weft_err_set(WEFT_ECORRUPT, "gguf: bad magic (not a GGUF file)");
    rc = cur_u32(c, &g->version);
    if (rc)
        return rc;
    if (g->version == 1)
        return weft_err_set(WEFT_ECORRUPT, "gguf: version 1 is no longer supported");
    if (g->version != 2 && g->version != 3)
        return weft_err_set(WEFT_ECORRUPT, "gguf: unsupported version %" PRIu32 "%s", g->version,
                            (g->version & 0xffff) == 0 ? " (big-endian file?)" : "");
    rc = cur_u64(c, &n_tensors);
    if (rc == 0)
        rc = cur_u64(c, &n_kv);
    if (rc == 0)
        rc = cur_room(c, n_kv, 8 + 4 + 1);
    if (rc)
        return rc;
    g->alignment = WEFT_GGUF_DEFAULT_ALIGNMENT;
    if (n_kv) {
        g->kv = tensor_arena_alloc(&c->g->arena, (size_t)n_kv * sizeof *g->kv);
        if (!g->kv)
            return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        weft_gguf_kv *kv = &g->kv[i];
        uint32_t type;
        rc = cur_str(c, &kv->key, &kv->key_len);
        if (rc == 0)
            rc = cur_u32(c, &type);
        if (rc)
            return rc;
        if (kv->key_len == 0 || kv->key_len > 65535)
            return weft_err_set(WEFT_ECORRUPT,
                                "gguf: key %" PRIu64 " has length %" PRIu64 " (must be 1 to 65535)",
                                i, kv->key_len);
        rc = read_value(c, &kv->value, type, 0, kv->key);
        if (rc)
            return rc;
        g->n_kv++;
        if (strcmp(kv->key, "general.alignment") == 0 && kv->key_len == 17) {
            uint64_t a = kv->value.v.u;
            if (kv->value.type != WEFT_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0)
                return weft_err_set(WEFT_ECORRUPT,
                                    "gguf: general.alignment must be a uint32 power of two");
            g->alignment = (uint32_t)a;
        }
    }
    rc = cur_room(c, n_tensors, 8 + 4 + 8 + 4 + 8);
    if (rc)
        return rc;
    if (n_tensors) {
        g->tensors = tensor_arena_alloc(&c->g->arena, (size_t)n_tensors * sizeof *g->tensors);
        if (!g->tensors)
            return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
    }
    uint64_t expect = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        rc = read_tensor(c, g, &g->tensors[i], &expect);
        if (rc)
            return rc;
        g->n_tensors++;
    }
    g->info_end = cur_pos(c);
    g->data_offset = weft_gguf_padded_size(g, g->info_end);
    g->data_len = expect;
    if (g->data_offset > WEFT_GGUF_MAX_HEADER_LEN)
        return weft_err_set(WEFT_ELIMIT,
                            "gguf: header of %" PRIu64 " bytes is over the limit of %llu",
                            g->data_offset, WEFT_GGUF_MAX_HEADER_LEN);
    if (g->data_offset > (uint64_t)(c->end - c->base)) {
        rc = cur_trunc(c, g->data_offset - cur_pos(c));
        if (rc)
            return rc;
    }
    rc = check_unique(g);
    if (rc)
        return rc;
    uint64_t end = g->data_offset;
    for (size_t i = 0; i < g->n_tensors; i++) {
        weft_gguf_tensor *t = &g->tensors[i];
        if (__builtin_add_overflow(g->data_offset, t->offset, &t->abs_offset) ||
            __builtin_add_overflow(t->abs_offset, t->size, &end))
            return weft_err_set(WEFT_ECORRUPT, "gguf: tensor %s: offsets overflow", t->name);
    }
    if (file_size != WEFT_GGUF_SIZE_UNKNOWN && end > file_size)
        return weft_err_set(WEFT_ECORRUPT,
                            "gguf: the tensors end at byte %" PRIu64 " but the file has %" PRIu64
                            " bytes",
                            end, file_size);
    return 0;
}

void weft_gguf_free(weft_gguf *g)
{
    if (!g)
        return;
    gguf_impl *s = (gguf_impl *)g;
    tensor_arena_dispose(&s->arena);
    free(s);
}

static int gguf_run(gguf_impl **out, uint64_t *need, const uint8_t *p, size_t len,
                    uint64_t file_size)
{
    gguf_impl *s = calloc(1, sizeof *s);
    if (!s)
        return weft_err_set(WEFT_ENOMEM, "gguf: out of memory");
    gguf_cur c = {.base = p, .p = p, .end = p + len, .need = 0, .g = s};
    int rc = gguf_read(&c, file_size);
    *need = rc == 0 ? s->pub.data_offset : c.need;
    if (rc) {
        weft_gguf_free(&s->pub);
        return rc;
    }
    *out = s;
    return 0;
}

int weft_gguf_header_need(uint64_t *need, const uint8_t *p, size_t len)
{
    gguf_impl *s = NULL;
    int rc = gguf_run(&s, need, p, len, WEFT_GGUF_SIZE_UNKNOWN);
    weft_gguf_free(s ? &s->pub : NULL);
    return rc == GGUF_TRUNC ? 0 : rc;
}

int weft_gguf_parse(weft_gguf **out, const uint8_t *p, size_t len, uint64_t file_size)
{
    gguf_impl *s = NULL;
    uint64_t need = 0;
    int rc = gguf_run(&s, &need, p, len, file_size);
    if (rc == GGUF_TRUNC)
        return weft_err_set(file_size == len ? WEFT_ECORRUPT : WEFT_EINVALID,
                            "gguf: header truncated: %zu bytes, at least %" PRIu64 " needed", len,
                            need);
    if (rc)
        return rc;
    *out = &s->pub;
    return 0;
}

const weft_gguf_value *weft_gguf_find(const weft_gguf *g, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key_len == len && memcmp(g->kv[i].key, key, len) == 0)
            return &g->kv[i].value;
    return NULL;
}

/* ---- serialize ---- */

static int put_str(weft_buf *b, const char *s, uint64_t len)
{
    int rc = weft_buf_put_u64le(b, len);
    if (rc == 0)
        rc = weft_buf_append(b, s, (size_t)len);
    return rc;
}

static int put_value(weft_buf *b, const weft_gguf_value *v)
{
    switch (v->type) {
    case WEFT_GGUF_UINT8:
    case WEFT_GGUF_BOOL: return weft_buf_put_u8(b, (uint8_t)v->v.u);
    case WEFT_GGUF_INT8: return weft_buf_put_u8(b, (uint8_t)v->v.i);
    case WEFT_GGUF_UINT16:
    case WEFT_GGUF_INT16: {
        uint16_t x = v->type == WEFT_GGUF_UINT16 ? (uint16_t)v->v.u : (uint16_t)v->v.i;
        int rc = weft_buf_put_u8(b, (uint8_t)x);
        return rc ? rc : weft_buf_put_u8(b, (uint8_t)(x >> 8));
    }
    case WEFT_GGUF_UINT32: return weft_buf_put_u32le(b, (uint32_t)v->v.u);
    case WEFT_GGUF_INT32: return weft_buf_put_u32le(b, (uint32_t)v->v.i);
    case WEFT_GGUF_FLOAT32: return weft_buf_put_u32le(b, v->v.f32_bits);
    case WEFT_GGUF_UINT64:
    case WEFT_GGUF_FLOAT64: return weft_buf_put_u64le(b, v->v.u);
    case WEFT_GGUF_INT64: return weft_buf_put_u64le(b, (uint64_t)v->v.i);
    case WEFT_GGUF_STRING: return put_str(b, v->v.str.p, v->v.str.len);
    case WEFT_GGUF_ARRAY: {
        int rc = weft_buf_put_u32le(b, (uint32_t)v->v.arr.elem_type);
        if (rc == 0)
            rc = weft_buf_put_u64le(b, v->v.arr.n);
        for (uint64_t i = 0; i < v->v.arr.n && rc == 0; i++)
            rc = put_value(b, &v->v.arr.items[i]);
        return rc;
    }
    default: return weft_err_set(WEFT_EINVALID, "gguf: value type %d out of range", (int)v->type);
    }
}

int weft_gguf_serialize(weft_buf *out, const weft_gguf *g)
{
    size_t start = out->len;
    int rc = weft_buf_append(out, WEFT_GGUF_MAGIC, 4);
    if (rc == 0)
        rc = weft_buf_put_u32le(out, g->version);
    if (rc == 0)
        rc = weft_buf_put_u64le(out, g->n_tensors);
    if (rc == 0)
        rc = weft_buf_put_u64le(out, g->n_kv);
    for (size_t i = 0; i < g->n_kv && rc == 0; i++) {
        rc = put_str(out, g->kv[i].key, g->kv[i].key_len);
        if (rc == 0)
            rc = weft_buf_put_u32le(out, (uint32_t)g->kv[i].value.type);
        if (rc == 0)
            rc = put_value(out, &g->kv[i].value);
    }
    for (size_t i = 0; i < g->n_tensors && rc == 0; i++) {
        const weft_gguf_tensor *t = &g->tensors[i];
        rc = put_str(out, t->name, t->name_len);
        if (rc == 0)
            rc = weft_buf_put_u32le(out, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && d < WEFT_GGUF_MAX_DIMS && rc == 0; d++)
            rc = weft_buf_put_u64le(out, t->ne[d]);
        if (rc == 0)
            rc = weft_buf_put_u32le(out, t->type);
        if (rc == 0)
            rc = weft_buf_put_u64le(out, t->offset);
    }
    while (rc == 0 && weft_gguf_padded_size(g, out->len - start) != out->len - start)
        rc = weft_buf_put_u8(out, 0);
    return rc;
}
