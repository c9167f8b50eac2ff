/* Portable delta files: encoder and reader (contract in include/weft/delta_file.h, byte layout
 * in docs/internals/codecs.md "Portable delta files").
 *
 * Lossless files are weight frames over the fine-tune's data cut every 1 MiB, laid out by
 * weft_weight_layout over the tensors matched to the base. Lossy files replace each matched
 * float tensor whose delta is finite and not all zero by one QUANT segment; the other tensors
 * stay frames. The reader walks the segments with one cursor over (p, end) and checks every
 * length, offset and count against the delta, the base and the result before use. */
#include "weft/delta_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"
#include "weft/entropy.h"
#include "weft/safetensors.h"
#include "weft/tensor_match.h"
#include "weft/weight_codec.h"

static const uint8_t DELTA_MAGIC[8] = {'W', 'E', 'F', 'T', 'D', 'L', 'T', 'A'};

/* Segment headers: FRAME kind + u32 frame length; QUANT kind + u8 qkind, u8 dtype, u16 0,
 * u64 numel, u64 base_ref, f32 scale; each quant block is u32 length + entropy block. */
#define SEG_FRAME_HDR 5u
#define SEG_QUANT_HDR 25u
#define QBLOCK_HDR 4u

const char *weft_delta_kind_name(int kind)
{
    static const char *const names[] = {"lossless", "int8", "int4", "1bit"};
    return kind >= 0 && kind <= WEFT_DELTA_1BIT ? names[kind] : NULL;
}

int weft_delta_kind_from_name(const char *name)
{
    for (int k = 0; k <= WEFT_DELTA_1BIT; k++)
        if (strcmp(name, weft_delta_kind_name(k)) == 0)
            return k;
    return -1;
}

void weft_delta_prologue_encode(uint8_t out[WEFT_DELTA_PROLOGUE_LEN], const weft_delta_info *info)
{
    memset(out, 0, WEFT_DELTA_PROLOGUE_LEN);
    memcpy(out, DELTA_MAGIC, 8);
    out[8] = WEFT_DELTA_VERSION & 0xff;
    out[9] = WEFT_DELTA_VERSION >> 8;
    out[10] = (uint8_t)info->kind;
    weft_store_u64le(out + 16, info->base_size);
    memcpy(out + 24, info->base_sha256, 32);
    weft_store_u64le(out + 56, info->result_size);
    memcpy(out + 64, info->result_sha256, 32);
    memcpy(out + 96, info->source_sha256, 32);
    weft_store_u64le(out + 128, info->header_len);
}

/* ---- element values and rounding (the lossy tier) ---------------------------------------- */

static double elem_load(int dtype, const uint8_t *p)
{
    if (dtype == WEFT_WEIGHT_F32) {
        float f;
        uint32_t u = weft_load_u32le(p);
        memcpy(&f, &u, 4);
        return f;
    }
    uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    return dtype == WEFT_WEIGHT_BF16 ? weft_bf16_to_double(h) : weft_f16_to_double(h);
}

static uint16_t round_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40);
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

static uint16_t round_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u)
        return sign | (a > 0x7f800000u ? 0x7e00 : 0x7c00);
    if (a >= 0x477ff000u) /* 65520 and up round to infinity */
        return sign | 0x7c00;
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half, units of 2^-24 (exact scaling) */
        float m;
        memcpy(&m, &a, 4);
        return sign | (uint16_t)lrintf(m * 16777216.0f);
    }
    a = a + 0xfffu + (a >> 13 & 1) - 0x38000000u;
    return sign | (uint16_t)(a >> 13);
}

/* base + delta, in double, rounded to float32 and then to the dtype. */
static void elem_store(int dtype, uint8_t *p, double v)
{
    float f = (float)v;
    if (dtype == WEFT_WEIGHT_F32) {
        uint32_t u;
        memcpy(&u, &f, 4);
        weft_store_u32le(p, u);
        return;
    }
    uint16_t h = dtype == WEFT_WEIGHT_BF16 ? round_bf16(f) : round_f16(f);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

static size_t qcode_bytes(int kind, size_t n)
{
    return kind == WEFT_DELTA_INT8 ? n : kind == WEFT_DELTA_INT4 ? (n + 1) / 2 : (n + 7) / 8;
}

/* The code of element i, as a signed level (1bit: -1 or +1). */
static int qcode_get(int kind, const uint8_t *codes, size_t i)
{
    if (kind == WEFT_DELTA_INT8)
        return (int8_t)codes[i];
    if (kind == WEFT_DELTA_INT4) {
        int v = codes[i / 2] >> (4 * (i & 1)) & 0xf;
        return v >= 8 ? v - 16 : v;
    }
    return codes[i / 8] >> (i & 7) & 1 ? 1 : -1;
}

/* One rebuilt element from its base bytes and code. */
static void qcode_apply(int dtype, uint8_t *dst, const uint8_t *base, int q, float scale)
{
    size_t es = weft_weight_dtype_size(dtype);
    if (q == 0) {
        memcpy(dst, base, es);
        return;
    }
    elem_store(dtype, dst, elem_load(dtype, base) + (double)q * (double)scale);
}

/* ---- encoder ------------------------------------------------------------------------------ */

typedef struct qplan {
    int quant; /* 1: this tensor is a QUANT segment */
    float scale;
    size_t region; /* its entry in regions */
} qplan;

struct weft_delta_encoder {
    const uint8_t *base, *ft;
    uint64_t base_len, ft_len;
    weft_st_header *fh, *bh;
    weft_delta_info info;
    weft_weight_region *regions;
    size_t n_regions, n_matched;
    qplan *plan; /* per tensor of fh (lossy) */
    weft_delta_tensor_error *errs;
    weft_weight_codec *codec;
    weft_weight_span *spans;
    uint8_t *out, *result, *codes;
    size_t out_cap;
    uint64_t pos;    /* next result byte to code */
    size_t ti;       /* tensor at or after pos */
    uint64_t q_done; /* elements of tensor ti done, while in a QUANT segment */
};

#define SPANS_MAX 65536u

static int enc_finite_delta(int dtype, const uint8_t *ft, const uint8_t *base, uint64_t n,
                            double *maxabs, double *meanabs)
{
    size_t es = weft_weight_dtype_size(dtype);
    double mx = 0, sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = elem_load(dtype, ft + i * es) - elem_load(dtype, base + i * es);
        if (!isfinite(d))
            return 0;
        double a = fabs(d);
        mx = a > mx ? a : mx;
        sum += a;
    }
    *maxabs = mx;
    *meanabs = n ? sum / (double)n : 0;
    return 1;
}

/* Chooses which tensors are quantized and their scales. */
static int enc_plan(weft_delta_encoder *e, int kind)
{
    e->plan = calloc(e->fh->n_tensors + 1, sizeof *e->plan);
    e->errs = calloc(e->fh->n_tensors + 1, sizeof *e->errs);
    if (e->plan == NULL || e->errs == NULL)
        return weft_err_set(WEFT_ENOMEM, "delta: out of memory");
    size_t ri = 0;
    for (size_t i = 0; i < e->fh->n_tensors; i++) {
        const weft_st_tensor *t = &e->fh->tensors[i];
        e->errs[i].name = t->name;
        e->errs[i].numel = t->numel;
        if (t->abs_end == t->abs_begin)
            continue;
        const weft_weight_region *r = &e->regions[ri++];
        if (kind == WEFT_DELTA_LOSSLESS || r->base == NULL || r->dtype == WEFT_WEIGHT_RAW)
            continue;
        uint64_t n = r->len / weft_weight_dtype_size(r->dtype);
        double mx = 0, mean = 0;
        if (!enc_finite_delta(r->dtype, e->ft + r->offset, r->base, n, &mx, &mean) || mx == 0)
            continue;
        double s = kind == WEFT_DELTA_INT8 ? mx / 127 : kind == WEFT_DELTA_INT4 ? mx / 7 : mean;
        float sf = (float)s;
        if (!(sf > 0) || !isfinite(sf))
            continue;
        e->plan[i].quant = 1;
        e->plan[i].scale = sf;
        e->plan[i].region = ri - 1;
        e->errs[i].quantized = 1;
    }
    return 0;
}

int weft_delta_encoder_new(weft_delta_encoder **out, const uint8_t *base, uint64_t base_len,
                           const uint8_t *ft, uint64_t ft_len, int kind)
{
    *out = NULL;
    if (weft_delta_kind_name(kind) == NULL)
        return weft_err_set(WEFT_EINVALID, "delta: unknown kind %d", kind);
    weft_delta_encoder *e = calloc(1, sizeof *e);
    if (e == NULL)
        return weft_err_set(WEFT_ENOMEM, "delta: out of memory");
    e->base = base;
    e->base_len = base_len;
    e->ft = ft;
    e->ft_len = ft_len;
    int rc = weft_st_parse(&e->bh, base, (size_t)base_len, base_len);
    if (rc < 0) {
        rc = weft_err_wrap(WEFT_EINVALID, "base");
        goto out;
    }
    rc = weft_st_parse(&e->fh, ft, (size_t)ft_len, ft_len);
    if (rc < 0) {
        rc = weft_err_wrap(WEFT_EINVALID, "fine-tune");
        goto out;
    }
    rc = weft_tensor_match_regions(&e->regions, &e->n_regions, &e->n_matched, e->fh, e->bh, base,
                                   base_len);
    if (rc == 0)
        rc = weft_weight_codec_new(&e->codec);
    if (rc == 0 && kind != WEFT_DELTA_LOSSLESS)
        rc = enc_plan(e, kind);
    if (rc < 0)
        goto out;
    e->out_cap = SEG_FRAME_HDR + weft_weight_frame_bound(WEFT_DELTA_PIECE_MAX, SPANS_MAX);
    e->out = malloc(e->out_cap);
    e->spans = malloc(SPANS_MAX * sizeof *e->spans);
    e->result = malloc(WEFT_DELTA_PIECE_MAX);
    e->codes = malloc(WEFT_DELTA_QBLOCK);
    if (!e->out || !e->spans || !e->result || !e->codes) {
        rc = weft_err_set(WEFT_ENOMEM, "delta: out of memory");
        goto out;
    }
    e->info.version = WEFT_DELTA_VERSION;
    e->info.kind = kind;
    e->info.base_size = base_len;
    e->info.result_size = ft_len;
    e->info.header_len = e->fh->data_start;
    e->info.header = ft;
    e->pos = e->fh->data_start;
out:
    if (rc < 0) {
        weft_delta_encoder_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void weft_delta_encoder_free(weft_delta_encoder *e)
{
    if (e == NULL)
        return;
    weft_st_header_free(e->fh);
    weft_st_header_free(e->bh);
    free(e->regions);
    free(e->plan);
    free(e->errs);
    weft_weight_codec_free(e->codec);
    free(e->spans);
    free(e->out);
    free(e->result);
    free(e->codes);
    free(e);
}

const weft_delta_info *weft_delta_encoder_info(const weft_delta_encoder *e)
{
    return &e->info;
}

void weft_delta_encoder_counts(const weft_delta_encoder *e, size_t *matched, size_t *tensors)
{
    *matched = e->n_matched;
    *tensors = e->n_regions;
}

const weft_delta_tensor_error *weft_delta_encoder_errors(const weft_delta_encoder *e, size_t *n)
{
    *n = e->errs != NULL ? e->fh->n_tensors : 0;
    return e->errs;
}

static int enc_quant(const weft_delta_encoder *e, size_t i)
{
    return e->plan != NULL && e->plan[i].quant;
}

/* A FRAME segment of ft bytes [pos, pos + len). */
static int enc_frame(weft_delta_encoder *e, weft_delta_piece *piece, size_t len)
{
    size_t n_spans = 0, flen = 0;
    int rc =
        weft_weight_layout(e->spans, SPANS_MAX, &n_spans, e->regions, e->n_regions, e->pos, len);
    if (rc == 0)
        rc = weft_weight_frame_encode(e->codec, e->out + SEG_FRAME_HDR, e->out_cap - SEG_FRAME_HDR,
                                      &flen, e->ft + e->pos, len, e->spans, n_spans);
    if (rc < 0)
        return rc;
    e->out[0] = WEFT_DELTA_SEG_FRAME;
    weft_store_u32le(e->out + 1, (uint32_t)flen);
    *piece = (weft_delta_piece){.coded = e->out,
                                .coded_len = SEG_FRAME_HDR + flen,
                                .result = e->ft + e->pos,
                                .result_len = len,
                                .result_offset = e->pos};
    e->pos += len;
    return 0;
}

/* The next block of the QUANT segment of tensor ti (with the segment header first). */
static int enc_qblock(weft_delta_encoder *e, weft_delta_piece *piece)
{
    const weft_st_tensor *t = &e->fh->tensors[e->ti];
    const weft_weight_region *r = &e->regions[e->plan[e->ti].region];
    int kind = e->info.kind, dt = r->dtype;
    size_t es = weft_weight_dtype_size(dt);
    float scale = e->plan[e->ti].scale;
    weft_delta_tensor_error *err = &e->errs[e->ti];
    uint8_t *o = e->out;
    if (e->q_done == 0) {
        o[0] = WEFT_DELTA_SEG_QUANT;
        o[1] = (uint8_t)kind;
        o[2] = (uint8_t)dt;
        o[3] = o[4] = 0;
        weft_store_u64le(o + 5, t->numel);
        weft_store_u64le(o + 13, r->base_ref);
        uint32_t sb;
        memcpy(&sb, &scale, 4);
        weft_store_u32le(o + 21, sb);
        o += SEG_QUANT_HDR;
    }
    uint64_t first = e->q_done;
    size_t n =
        t->numel - first < WEFT_DELTA_QBLOCK ? (size_t)(t->numel - first) : WEFT_DELTA_QBLOCK;
    size_t nb = qcode_bytes(kind, n);
    memset(e->codes, 0, nb);
    const uint8_t *fp = e->ft + t->abs_begin + first * es, *bp = r->base + first * es;
    double lim = kind == WEFT_DELTA_INT8 ? 127 : 7;
    for (size_t i = 0; i < n; i++) {
        double fv = elem_load(dt, fp + i * es), bv = elem_load(dt, bp + i * es), d = fv - bv;
        int q;
        if (kind == WEFT_DELTA_1BIT) {
            q = d > 0 ? 1 : -1;
            if (q > 0)
                e->codes[i / 8] |= (uint8_t)(1u << (i & 7));
        } else {
            double v = nearbyint(d / (double)scale);
            v = v > lim ? lim : v < -lim ? -lim : v;
            q = (int)v;
            if (kind == WEFT_DELTA_INT8)
                e->codes[i] = (uint8_t)(int8_t)q;
            else
                e->codes[i / 2] |= (uint8_t)((q & 0xf) << (4 * (i & 1)));
        }
        uint8_t *rp = e->result + i * es;
        qcode_apply(dt, rp, bp + i * es, q, scale);
        double rv = elem_load(dt, rp), ev = rv - fv;
        err->err_sq += ev * ev;
        err->delta_sq += d * d;
        err->ft_sq += fv * fv;
        if (fabs(ev) > err->max_abs || isnan(ev))
            err->max_abs = fabs(ev);
    }
    size_t blen = 0;
    int rc = weft_entropy_encode(o + QBLOCK_HDR, e->out_cap - (size_t)(o - e->out) - QBLOCK_HDR,
                                 &blen, e->codes, nb);
    if (rc < 0)
        return rc;
    weft_store_u32le(o, (uint32_t)blen);
    o += QBLOCK_HDR + blen;
    *piece = (weft_delta_piece){.coded = e->out,
                                .coded_len = (size_t)(o - e->out),
                                .result = e->result,
                                .result_len = n * es,
                                .result_offset = e->pos};
    e->pos += n * es;
    e->q_done += n;
    if (e->q_done == t->numel) {
        e->q_done = 0;
        e->ti++;
    }
    return 0;
}

int weft_delta_encoder_next(weft_delta_encoder *e, weft_delta_piece *piece)
{
    memset(piece, 0, sizeof *piece);
    if (e->pos >= e->ft_len)
        return 0;
    if (e->plan == NULL) /* lossless: frames cut every PIECE_MAX bytes */
        return enc_frame(e, piece,
                         e->ft_len - e->pos < WEFT_DELTA_PIECE_MAX ? (size_t)(e->ft_len - e->pos)
                                                                   : WEFT_DELTA_PIECE_MAX);
    /* Lossy: skip the tensors behind pos, then a QUANT block or a frame up to the next
     * quantized tensor. */
    if (e->q_done != 0) /* inside a quantized tensor */
        return enc_qblock(e, piece);
    while (e->ti < e->fh->n_tensors && e->fh->tensors[e->ti].abs_end <= e->pos)
        e->ti++;
    if (e->ti < e->fh->n_tensors && enc_quant(e, e->ti) &&
        e->fh->tensors[e->ti].abs_begin == e->pos)
        return enc_qblock(e, piece);
    uint64_t stop = e->ft_len;
    for (size_t i = e->ti; i < e->fh->n_tensors; i++)
        if (enc_quant(e, i) && e->fh->tensors[i].abs_begin >= e->pos) {
            stop = e->fh->tensors[i].abs_begin;
            break;
        }
    uint64_t len = stop - e->pos < WEFT_DELTA_PIECE_MAX ? stop - e->pos : WEFT_DELTA_PIECE_MAX;
    return enc_frame(e, piece, (size_t)len);
}

/* ---- reader ------------------------------------------------------------------------------- */

struct weft_delta_reader {
    const uint8_t *p, *end; /* the segments not read yet */
    const uint8_t *base;
    uint64_t base_len;
    weft_delta_info info;
    weft_st_header *fh;
    uint64_t pos; /* result bytes produced */
    weft_weight_codec *codec;
    weft_weight_span_info *spans;
    const uint8_t **bases;
    uint8_t *codes;
    /* the QUANT segment being decoded (q_numel 0: none) */
    uint64_t q_numel, q_done, q_base_ref;
    int q_dtype;
    float q_scale;
};

int weft_delta_info_parse(weft_delta_info *out, const uint8_t *d, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len < WEFT_DELTA_PROLOGUE_LEN || memcmp(d, DELTA_MAGIC, 8) != 0)
        return weft_err_set(WEFT_ECORRUPT, "not a weft delta file (bad magic or too short)");
    out->version = (unsigned)(d[8] | d[9] << 8);
    if (out->version != WEFT_DELTA_VERSION)
        return weft_err_set(WEFT_ECORRUPT, "delta file version %u is not supported (only %u)",
                            out->version, WEFT_DELTA_VERSION);
    out->kind = d[10];
    if (weft_delta_kind_name(out->kind) == NULL || d[11] != 0 || weft_load_u32le(d + 12) != 0)
        return weft_err_set(WEFT_ECORRUPT, "delta file: bad kind or reserved bytes");
    out->base_size = weft_load_u64le(d + 16);
    memcpy(out->base_sha256, d + 24, 32);
    out->result_size = weft_load_u64le(d + 56);
    memcpy(out->result_sha256, d + 64, 32);
    memcpy(out->source_sha256, d + 96, 32);
    out->header_len = weft_load_u64le(d + 128);
    if (out->kind == WEFT_DELTA_LOSSLESS && memcmp(out->result_sha256, out->source_sha256, 32))
        return weft_err_set(WEFT_ECORRUPT, "delta file: lossless but two different hashes");
    if (out->header_len < 8 || out->header_len > out->result_size ||
        out->header_len > len - WEFT_DELTA_PROLOGUE_LEN)
        return weft_err_set(WEFT_ECORRUPT,
                            "delta file: header length %llu out of bounds (result %llu bytes, "
                            "file %zu bytes)",
                            (unsigned long long)out->header_len,
                            (unsigned long long)out->result_size, len);
    out->header = d + WEFT_DELTA_PROLOGUE_LEN;
    return 0;
}

int weft_delta_reader_open(weft_delta_reader **out, const uint8_t *delta, size_t len,
                           const uint8_t *base, uint64_t base_len)
{
    *out = NULL;
    weft_delta_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return weft_err_set(WEFT_ENOMEM, "delta: out of memory");
    int rc = weft_delta_info_parse(&r->info, delta, len);
    if (rc < 0)
        goto out;
    if (r->info.base_size != base_len) {
        rc = weft_err_set(WEFT_EINVALID,
                          "wrong base: the delta was made against a base of %llu bytes, this "
                          "one has %llu",
                          (unsigned long long)r->info.base_size, (unsigned long long)base_len);
        goto out;
    }
    rc = weft_st_parse(&r->fh, r->info.header, (size_t)r->info.header_len, r->info.result_size);
    if (rc < 0) {
        rc = weft_err_wrap(WEFT_ECORRUPT, "delta file: fine-tune header");
        goto out;
    }
    if (r->fh->data_start != r->info.header_len) {
        rc = weft_err_set(WEFT_ECORRUPT, "delta file: header length disagrees with the header");
        goto out;
    }
    rc = weft_weight_codec_new(&r->codec);
    if (rc < 0)
        goto out;
    r->spans = malloc(SPANS_MAX * sizeof *r->spans);
    r->bases = malloc(SPANS_MAX * sizeof *r->bases);
    r->codes = malloc(WEFT_DELTA_QBLOCK);
    if (!r->spans || !r->bases || !r->codes) {
        rc = weft_err_set(WEFT_ENOMEM, "delta: out of memory");
        goto out;
    }
    r->p = r->info.header + r->info.header_len;
    r->end = delta + len;
    r->base = base;
    r->base_len = base_len;
out:
    if (rc < 0) {
        weft_delta_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void weft_delta_reader_free(weft_delta_reader *r)
{
    if (r == NULL)
        return;
    weft_st_header_free(r->fh);
    weft_weight_codec_free(r->codec);
    free(r->spans);
    free(r->bases);
    free(r->codes);
    free(r);
}

const weft_delta_info *weft_delta_reader_info(const weft_delta_reader *r)
{
    return &r->info;
}

static int rd_corrupt(const weft_delta_reader *r, const char *what)
{
    return weft_err_set(WEFT_ECORRUPT, "delta file: %s (result offset %llu)", what,
                        (unsigned long long)r->pos);
}

static int rd_frame(weft_delta_reader *r, uint8_t *out, size_t cap, size_t *out_len)
{
    if (r->end - r->p < 4)
        return rd_corrupt(r, "truncated frame header");
    size_t flen = weft_load_u32le(r->p);
    r->p += 4;
    if (flen > (size_t)(r->end - r->p))
        return rd_corrupt(r, "frame runs past the end of the file");
    size_t raw_len = 0, n_spans = 0;
    int rc = weft_weight_frame_parse(&raw_len, &n_spans, r->spans, SPANS_MAX, r->p, flen);
    if (rc < 0)
        return weft_err_wrap(WEFT_ECORRUPT, "delta file at result offset %llu",
                             (unsigned long long)r->pos);
    if (n_spans > SPANS_MAX || raw_len == 0 || raw_len > cap ||
        raw_len > r->info.result_size - r->pos)
        return rd_corrupt(r, "frame size out of bounds");
    for (size_t i = 0; i < n_spans; i++) {
        r->bases[i] = NULL;
        if (!r->spans[i].needs_base)
            continue;
        uint64_t e;
        if (__builtin_add_overflow(r->spans[i].base_ref, (uint64_t)r->spans[i].len, &e) ||
            e > r->base_len)
            return rd_corrupt(r, "frame refers to bytes past the end of the base");
        r->bases[i] = r->base + r->spans[i].base_ref;
    }
    size_t got = 0;
    rc = weft_weight_frame_decode(r->codec, out, cap, &got, r->p, flen, r->bases, n_spans);
    if (rc < 0)
        return weft_err_wrap(WEFT_ECORRUPT, "delta file at result offset %llu",
                             (unsigned long long)r->pos);
    if (got != raw_len)
        return rd_corrupt(r, "frame decoded to the wrong size");
    r->p += flen;
    r->pos += got;
    *out_len = got;
    return 0;
}

/* Starts a QUANT segment: header checked against the fine-tune's header and the base. */
static int rd_quant_start(weft_delta_reader *r)
{
    if ((size_t)(r->end - r->p) < SEG_QUANT_HDR - 1)
        return rd_corrupt(r, "truncated quantized segment");
    const uint8_t *h = r->p;
    int kind = h[0], dt = h[1];
    uint64_t numel = weft_load_u64le(h + 4), base_ref = weft_load_u64le(h + 12);
    uint32_t sb = weft_load_u32le(h + 20);
    float scale;
    memcpy(&scale, &sb, 4);
    if (r->info.kind == WEFT_DELTA_LOSSLESS || kind != r->info.kind || h[2] || h[3])
        return rd_corrupt(r, "quantized segment in a file of another kind");
    if (dt != WEFT_WEIGHT_BF16 && dt != WEFT_WEIGHT_F16 && dt != WEFT_WEIGHT_F32)
        return rd_corrupt(r, "quantized segment of a dtype that is not a float");
    if (!isfinite(scale) || !(scale > 0))
        return rd_corrupt(r, "quantized segment with a bad scale");
    /* It must be exactly the fine-tune's tensor starting here. */
    const weft_st_tensor *t = NULL;
    size_t lo = 0, hi = r->fh->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->fh->tensors[mid].abs_end <= r->pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->fh->n_tensors)
        t = &r->fh->tensors[lo];
    if (t == NULL || t->abs_begin != r->pos || weft_tensor_weight_dtype(t->dtype) != dt ||
        t->numel != numel || numel == 0)
        return rd_corrupt(r, "quantized segment does not match the tensor at its offset");
    uint64_t nbytes = t->abs_end - t->abs_begin, e;
    if (__builtin_add_overflow(base_ref, nbytes, &e) || e > r->base_len)
        return rd_corrupt(r, "quantized segment refers to bytes past the end of the base");
    r->p += SEG_QUANT_HDR - 1;
    r->q_numel = numel;
    r->q_done = 0;
    r->q_base_ref = base_ref;
    r->q_dtype = dt;
    r->q_scale = scale;
    return 0;
}

static int rd_qblock(weft_delta_reader *r, uint8_t *out, size_t cap, size_t *out_len)
{
    int kind = r->info.kind, dt = r->q_dtype;
    size_t es = weft_weight_dtype_size(dt);
    size_t n = r->q_numel - r->q_done < WEFT_DELTA_QBLOCK ? (size_t)(r->q_numel - r->q_done)
                                                          : WEFT_DELTA_QBLOCK;
    size_t nb = qcode_bytes(kind, n);
    if (n * es > cap)
        return rd_corrupt(r, "quantized block larger than the output");
    if (r->end - r->p < QBLOCK_HDR)
        return rd_corrupt(r, "truncated quantized block");
    size_t blen = weft_load_u32le(r->p), used = 0;
    r->p += QBLOCK_HDR;
    if (blen > (size_t)(r->end - r->p))
        return rd_corrupt(r, "quantized block runs past the end of the file");
    int rc = weft_entropy_decode(r->codes, nb, r->p, blen, &used);
    if (rc < 0)
        return weft_err_wrap(WEFT_ECORRUPT, "delta file at result offset %llu",
                             (unsigned long long)r->pos);
    if (used != blen)
        return rd_corrupt(r, "quantized block length disagrees with its contents");
    if (kind == WEFT_DELTA_INT4 && (n & 1) && (r->codes[nb - 1] >> 4) != 0)
        return rd_corrupt(r, "quantized block padding is not zero");
    const uint8_t *bp = r->base + r->q_base_ref + r->q_done * es;
    for (size_t i = 0; i < n; i++) {
        int q = qcode_get(kind, r->codes, i);
        if (q < -127 || (kind == WEFT_DELTA_INT4 && q < -7))
            return rd_corrupt(r, "quantized code out of range");
        qcode_apply(dt, out + i * es, bp + i * es, q, r->q_scale);
    }
    r->p += blen;
    r->q_done += n;
    r->pos += n * es;
    if (r->q_done == r->q_numel)
        r->q_numel = 0;
    *out_len = n * es;
    return 0;
}

int weft_delta_reader_next(weft_delta_reader *r, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (cap < WEFT_DELTA_PIECE_MAX)
        return weft_err_set(WEFT_EINVALID, "delta: output buffer under %u bytes",
                            WEFT_DELTA_PIECE_MAX);
    if (r->pos < r->info.header_len) {
        uint64_t left = r->info.header_len - r->pos;
        size_t n = left < WEFT_DELTA_PIECE_MAX ? (size_t)left : WEFT_DELTA_PIECE_MAX;
        memcpy(out, r->info.header + r->pos, n);
        r->pos += n;
        *out_len = n;
        return 0;
    }
    if (r->q_numel != 0)
        return rd_qblock(r, out, cap, out_len);
    if (r->pos == r->info.result_size) {
        if (r->p != r->end)
            return rd_corrupt(r, "bytes after the last segment");
        return 0;
    }
    if (r->p == r->end)
        return rd_corrupt(r, "file ends before the result is complete");
    int kind = *r->p++;
    if (kind == WEFT_DELTA_SEG_FRAME)
        return rd_frame(r, out, cap, out_len);
    if (kind == WEFT_DELTA_SEG_QUANT) {
        int rc = rd_quant_start(r);
        return rc < 0 ? rc : rd_qblock(r, out, cap, out_len);
    }
    return rd_corrupt(r, "unknown segment kind");
}
