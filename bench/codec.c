/* bench_codec: the weight codecs (include/weft/weight_codec.h) on a safetensors file cut into
 * Xet chunks by the real chunker (64 KiB average), one core, beside anchors run on the same
 * chunks in the same run.
 *
 *   bench_codec float FILE [--runs N]
 *       float codec: ratio, encode and decode GB/s; zstd -3, LZ4 (liblz4 default) and Xet
 *       BG4-LZ4 on the same chunks; ratio per BF16 tensor (min / median / max, share of bytes
 *       at >= 1.45x).
 *   bench_codec delta BASE FT [--runs N]
 *       FT as frames against BASE (tensors matched by name, dtype and size): ratio (FT bytes /
 *       frame bytes) and decode GB/s; zstd -3 on FT alone; a BitX-style anchor (XOR with the
 *       base, split into exponent and sign+mantissa streams, zstd -3 each); the ratio over the
 *       tensors that changed, and per changed tensor.
 *
 * Speeds are GB/s (10^9 bytes per second) of the chunk bytes, median of --runs runs (default
 * WEFT_BENCH_RUNS or 5), by the wall clock and by this thread's CPU time (the machine is shared:
 * CPU time is the figure that does not count other processes' turns). Every decoder, Weft's
 * and the anchors', decodes chunk by chunk into one chunk-sized buffer, as the store serves
 * reads; delta bases are read from the mapped base file. */
#include <fcntl.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "bench_util.h"
#include "st_regions.h"
#include "tensor/codec_internal.h"
#include "weft/chunker.h"
#include "weft/cpu.h"
#include "weft/weight_codec.h"
#include "weft/xet_compress.h"

#define MAX_SPANS 4096

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_codec: %s: %s\n", what, weft_err_last());
    exit(1);
}

typedef struct chunks {
    size_t n;
    size_t *off, *len;
} chunks;

static chunks chunk_file(const uint8_t *p, size_t n)
{
    chunks c = {0};
    size_t alloc = n / 8192 + 16;
    c.off = malloc(alloc * sizeof *c.off);
    c.len = malloc(alloc * sizeof *c.len);
    uint32_t lens[1024];
    size_t pos = 0;
    while (pos < n) {
        size_t consumed = 0;
        size_t k = weft_chunker_split(lens, 1024, p + pos, n - pos, 1, &consumed);
        for (size_t i = 0; i < k; i++) {
            c.off[c.n] = pos;
            c.len[c.n++] = lens[i];
            pos += lens[i];
        }
    }
    return c;
}

/* A timed figure: median wall and CPU GB/s over the runs. */
typedef struct timing {
    double wall[64], cpu[64];
    int n;
} timing;

static void timing_add(timing *t, double bytes, double wall, double cpu)
{
    t->wall[t->n] = bytes / wall / 1e9;
    t->cpu[t->n] = bytes / cpu / 1e9;
    t->n++;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

static void timing_print(const char *what, timing *t)
{
    printf("%s %.2f GB/s (cpu time %.2f)", what, median(t->wall, t->n), median(t->cpu, t->n));
}

/* Encodes every chunk of `file` as a frame (with bases when regions carry them); returns the
 * frames' total size and fills frame offsets/lengths for the decode. */
static size_t encode_all(weft_weight_codec *c, uint8_t *frames, size_t *foff, size_t *flen,
                         const uint8_t *file, const chunks *ch, const weft_weight_region *regions,
                         size_t n_regions)
{
    static weft_weight_span spans[MAX_SPANS];
    size_t pos = 0;
    for (size_t i = 0; i < ch->n; i++) {
        size_t n_spans = 0, fl = 0;
        if (weft_weight_layout(spans, MAX_SPANS, &n_spans, regions, n_regions, ch->off[i],
                               ch->len[i]) != 0)
            die("layout");
        size_t cap = weft_weight_frame_bound(ch->len[i], n_spans);
        if (weft_weight_frame_encode(c, frames + pos, cap, &fl, file + ch->off[i], ch->len[i],
                                     spans, n_spans) != 0)
            die("encode");
        foff[i] = pos;
        flen[i] = fl;
        pos += fl;
    }
    return pos;
}

/* Decodes every frame into out (one chunk's room), as the store reads chunks and as the zstd
 * and bitx anchors decode; with `file`, checks each chunk against it. */
static void decode_all(weft_weight_codec *c, uint8_t *out, const uint8_t *frames,
                       const size_t *foff, const size_t *flen, const chunks *ch,
                       const uint8_t *base, const uint8_t *file)
{
    static weft_weight_span_info info[MAX_SPANS];
    static const uint8_t *bases[MAX_SPANS];
    for (size_t i = 0; i < ch->n; i++) {
        size_t rl = 0, ns = 0, ol = 0;
        if (base != NULL) {
            if (weft_weight_frame_parse(&rl, &ns, info, MAX_SPANS, frames + foff[i], flen[i]) != 0)
                die("parse");
            for (size_t k = 0; k < ns && k < MAX_SPANS; k++)
                bases[k] = info[k].needs_base ? base + info[k].base_ref : NULL;
        }
        if (weft_weight_frame_decode(c, out, ch->len[i], &ol, frames + foff[i], flen[i], bases,
                                     ns) != 0)
            die("decode");
        if (file != NULL && (ol != ch->len[i] || memcmp(out, file + ch->off[i], ol) != 0)) {
            fprintf(stderr, "bench_codec: chunk %zu decodes to other bytes than the input\n", i);
            exit(1);
        }
    }
}

/* Runs the weight codec encode and decode `runs` times; checks the round trip. */
static size_t weft_runs(const uint8_t *file, size_t len, const chunks *ch,
                        const weft_weight_region *regions, size_t n_regions, const uint8_t *base,
                        int runs, timing *enc, timing *dec)
{
    weft_weight_codec *c = NULL;
    if (weft_weight_codec_new(&c) != 0)
        die("codec");
    static weft_weight_span spans[MAX_SPANS];
    size_t cap = 0;
    for (size_t i = 0; i < ch->n; i++) {
        size_t n_spans = 0;
        if (weft_weight_layout(spans, MAX_SPANS, &n_spans, regions, n_regions, ch->off[i],
                               ch->len[i]) != 0)
            die("layout");
        cap += weft_weight_frame_bound(ch->len[i], n_spans);
    }
    uint8_t *frames = malloc(cap), *out = malloc(WEFT_XET_MAX_CHUNK_LEN);
    size_t *foff = malloc(ch->n * sizeof *foff), *flen = malloc(ch->n * sizeof *flen);
    if (frames == NULL || out == NULL || foff == NULL || flen == NULL)
        die("memory");
    memset(frames, 0, cap); /* fault the pages in before timing */
    memset(out, 0, WEFT_XET_MAX_CHUNK_LEN);
    size_t total = 0;
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        total = encode_all(c, frames, foff, flen, file, ch, regions, n_regions);
        if (r >= 0)
            timing_add(enc, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up that checks every chunk */
        double w0 = bench_now(), c0 = cpu_now();
        decode_all(c, out, frames, foff, flen, ch, base, r < 0 ? file : NULL);
        if (r >= 0)
            timing_add(dec, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    weft_weight_codec_free(c);
    free(frames);
    free(out);
    free(foff);
    free(flen);
    return total;
}

/* zstd -3 on every chunk; returns the compressed total. */
static size_t zstd_runs(const uint8_t *file, size_t len, const chunks *ch, int runs, timing *enc,
                        timing *dec)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t bound = ZSTD_compressBound(WEFT_XET_MAX_CHUNK_LEN);
    uint8_t *z = malloc(ch->n * bound), *out = malloc(WEFT_XET_MAX_CHUNK_LEN);
    size_t *zl = malloc(ch->n * sizeof *zl), total = 0;
    memset(z, 0, ch->n * bound);
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        total = 0;
        for (size_t i = 0; i < ch->n; i++) {
            zl[i] = ZSTD_compressCCtx(cc, z + i * bound, bound, file + ch->off[i], ch->len[i], 3);
            total += zl[i];
        }
        if (r >= 0)
            timing_add(enc, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t i = 0; i < ch->n; i++)
            if (ZSTD_decompressDCtx(dc, out, WEFT_XET_MAX_CHUNK_LEN, z + i * bound, zl[i]) !=
                ch->len[i])
                die("zstd");
        if (r >= 0)
            timing_add(dec, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    ZSTD_freeCCtx(cc);
    ZSTD_freeDCtx(dc);
    free(z);
    free(out);
    free(zl);
    return total;
}

static size_t lz4_runs(const uint8_t *file, size_t len, const chunks *ch, int runs, timing *enc,
                       timing *dec)
{
    int bound = LZ4_compressBound((int)WEFT_XET_MAX_CHUNK_LEN);
    uint8_t *z = malloc(ch->n * (size_t)bound), *out = malloc(WEFT_XET_MAX_CHUNK_LEN);
    int *zl = malloc(ch->n * sizeof *zl);
    size_t total = 0;
    memset(z, 0, ch->n * (size_t)bound);
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        total = 0;
        for (size_t i = 0; i < ch->n; i++) {
            zl[i] = LZ4_compress_default((const char *)file + ch->off[i],
                                         (char *)z + i * (size_t)bound, (int)ch->len[i], bound);
            total += (size_t)zl[i];
        }
        if (r >= 0)
            timing_add(enc, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t i = 0; i < ch->n; i++)
            if (LZ4_decompress_safe((const char *)z + i * (size_t)bound, (char *)out, zl[i],
                                    (int)WEFT_XET_MAX_CHUNK_LEN) != (int)ch->len[i])
                die("lz4");
        if (r >= 0)
            timing_add(dec, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    free(z);
    free(out);
    free(zl);
    return total;
}

/* Xet BG4-LZ4 (scheme 2) as the project's Xet codec writes it; stored raw when not smaller. */
static size_t bg4_runs(const uint8_t *file, size_t len, const chunks *ch, int runs, timing *enc,
                       timing *dec)
{
    size_t bound = weft_xet_compress_bound(WEFT_XET_MAX_CHUNK_LEN), total = 0;
    uint8_t *out = malloc(WEFT_XET_MAX_CHUNK_LEN);
    weft_buf b;
    weft_buf_init(&b, ch->n * bound + 1);
    size_t *zo = malloc(ch->n * sizeof *zo), *zl = malloc(ch->n * sizeof *zl);
    int *scheme = malloc(ch->n * sizeof *scheme);
    if (weft_buf_reserve(&b, ch->n * bound) != 0)
        die("memory");
    memset(b.data, 0, ch->n * bound);
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        weft_buf_clear(&b);
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t i = 0; i < ch->n; i++) {
            zo[i] = b.len;
            if (weft_xet_compress(&b, &scheme[i], WEFT_XET_SCHEME_BG4_LZ4, file + ch->off[i],
                                  ch->len[i]) != 0)
                die("bg4-lz4");
            zl[i] = b.len - zo[i];
        }
        if (r >= 0)
            timing_add(enc, (double)len, bench_now() - w0, cpu_now() - c0);
        total = b.len;
    }
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t i = 0; i < ch->n; i++)
            if (weft_xet_decompress(out, ch->len[i], scheme[i], b.data + zo[i], zl[i]) != 0)
                die("bg4-lz4 decode");
        if (r >= 0)
            timing_add(dec, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    weft_buf_dispose(&b);
    free(out);
    free(zo);
    free(zl);
    free(scheme);
    return total;
}

static int cmp_ratio(const void *a, const void *b)
{
    return bench_cmp_double(a, b);
}

/* Per tensor: each tensor's bytes coded alone in 64 KiB frames (with its base when it has
 * one). Prints min / median / max and the byte share at or above `good`. Only tensors whose
 * dtype is modelled, and (with a base) only those that differ from it. */
static void per_tensor(const uint8_t *file, const weft_weight_region *rs, size_t n, double good,
                       const char *label)
{
    weft_weight_codec *c = NULL;
    if (weft_weight_codec_new(&c) != 0)
        die("codec");
    double *ratio = malloc((n + 1) * sizeof *ratio);
    size_t *bytes = malloc((n + 1) * sizeof *bytes);
    uint8_t *frame = malloc(weft_weight_frame_bound(65536, 1));
    size_t m = 0, all = 0, good_bytes = 0, raw_sum = 0, coded_sum = 0;
    for (size_t i = 0; i < n; i++) {
        const weft_weight_region *r = &rs[i];
        if (r->dtype == WEFT_WEIGHT_RAW || r->len == 0)
            continue;
        if (r->base != NULL && memcmp(r->base, file + r->offset, r->len) == 0)
            continue;
        size_t coded = 0;
        for (uint64_t o = 0; o < r->len; o += 65536) {
            size_t l = r->len - o < 65536 ? (size_t)(r->len - o) : 65536, fl = 0;
            weft_weight_span sp = {.len = l,
                                   .dtype = r->dtype,
                                   .phase = (unsigned)(o % weft_weight_dtype_size(r->dtype)),
                                   .base = r->base ? r->base + o : NULL};
            if (weft_weight_frame_encode(c, frame, weft_weight_frame_bound(l, 1), &fl,
                                         file + r->offset + o, l, &sp, 1) != 0)
                die("encode");
            coded += fl;
        }
        ratio[m] = (double)r->len / (double)coded;
        bytes[m] = (size_t)r->len;
        all += (size_t)r->len;
        raw_sum += (size_t)r->len;
        coded_sum += coded;
        if (ratio[m] >= good)
            good_bytes += (size_t)r->len;
        m++;
    }
    if (m > 0) {
        double overall = (double)raw_sum / (double)coded_sum;
        qsort(ratio, m, sizeof *ratio, cmp_ratio);
        printf("%s: %zu tensors, %.3fx over them; per tensor min %.3fx, median %.3fx, max %.3fx; "
               "%.1f%% of their bytes at >= %.2fx\n",
               label, m, overall, ratio[0], ratio[m / 2], ratio[m - 1],
               100.0 * (double)good_bytes / (double)all, good);
    }
    free(ratio);
    free(bytes);
    free(frame);
    weft_weight_codec_free(c);
}

static int bench_float(const char *path, int runs)
{
    size_t len = 0;
    uint8_t *file = bench_read_file(path, &len);
    size_t n = 0;
    weft_weight_region *regions = st_regions(file, len, NULL, 0, &n, NULL);
    if (regions == NULL) {
        fprintf(stderr, "bench_codec: %s is not a safetensors file\n", path);
        return 1;
    }
    chunks ch = chunk_file(file, len);
    printf("float codec on %s: %zu bytes, %zu tensors, %zu Xet chunks (avg %.1f KiB), kernel %s\n",
           path, len, n, ch.n, (double)len / (double)ch.n / 1024, weft_cpu_level_name());
    timing we = {0}, wd = {0}, ze = {0}, zd = {0}, le = {0}, ld = {0}, be = {0}, bd = {0};
    size_t w = weft_runs(file, len, &ch, regions, n, NULL, runs, &we, &wd);
    size_t z = zstd_runs(file, len, &ch, runs, &ze, &zd);
    size_t l = lz4_runs(file, len, &ch, runs, &le, &ld);
    size_t b = bg4_runs(file, len, &ch, runs, &be, &bd);
    double rw = (double)len / (double)w, rz = (double)len / (double)z, rl = (double)len / (double)l,
           rb = (double)len / (double)b;
    printf("weft float codec: ratio %.3fx, ", rw);
    timing_print("encode", &we);
    timing_print(", decode", &wd);
    printf("\nzstd -3: ratio %.3fx, ", rz);
    timing_print("encode", &ze);
    timing_print(", decode", &zd);
    printf("\nlz4 (default): ratio %.3fx, ", rl);
    timing_print("encode", &le);
    timing_print(", decode", &ld);
    printf("\nxet bg4-lz4: ratio %.3fx, ", rb);
    timing_print("encode", &be);
    timing_print(", decode", &bd);
    printf("\nratios: weft/zstd-3 size %.3fx, weft/lz4 %.3fx, weft/bg4-lz4 %.3fx; decode speed "
           "weft/zstd-3 %.2fx, weft/bg4-lz4 %.2fx\n",
           rw / rz, rw / rl, rw / rb, median(wd.wall, wd.n) / median(zd.wall, zd.n),
           median(wd.wall, wd.n) / median(bd.wall, bd.n));
    per_tensor(file, regions, n, 1.45, "weft float codec per tensor");
    free(regions);
    free(ch.off);
    free(ch.len);
    munmap(file, len);
    return 0;
}

/* The BitX-style anchor: per chunk, each span that has a base XOR-ed with it and split into an
 * exponent stream and a sign+mantissa stream (the rotation of the float codec), other bytes to
 * the first stream; zstd -3 on each stream. Decode timing: both zstd streams, then one XOR join
 * over the chunk's elements (a cost model of the join: the anchor's output is not checked). */
static size_t bitx_runs(const uint8_t *ft, size_t len, const chunks *ch,
                        const weft_weight_region *regions, size_t n_regions, int runs, timing *dec)
{
    static weft_weight_span spans[MAX_SPANS];
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t bound = ZSTD_compressBound(WEFT_XET_MAX_CHUNK_LEN);
    uint8_t *sa = malloc(WEFT_XET_MAX_CHUNK_LEN), *sb = malloc(WEFT_XET_MAX_CHUNK_LEN),
            *planes = malloc(2 * WEFT_XET_MAX_CHUNK_LEN), *out = malloc(WEFT_XET_MAX_CHUNK_LEN);
    uint8_t *z = malloc(ch->n * 2 * bound);
    size_t *zl = malloc(ch->n * 2 * sizeof *zl), total = 0;
    size_t *na = malloc(ch->n * sizeof *na);
    for (size_t i = 0; i < ch->n; i++) {
        size_t n_spans = 0, a = 0, b = 0, pos = ch->off[i];
        if (weft_weight_layout(spans, MAX_SPANS, &n_spans, regions, n_regions, ch->off[i],
                               ch->len[i]) != 0)
            die("layout");
        for (size_t k = 0; k < n_spans; k++) {
            const weft_weight_span *s = &spans[k];
            size_t es = weft_weight_dtype_size(s->dtype);
            if (s->base == NULL || es == 1) {
                memcpy(sa + a, ft + pos, s->len);
                a += s->len;
            } else {
                size_t head = (es - s->phase) % es, m, tail;
                head = head > s->len ? s->len : head;
                m = (s->len - head) / es;
                tail = (s->len - head) % es;
                memcpy(sa + a, ft + pos, head);
                a += head;
                weft_tensor__xor_split(planes, ft + pos + head, s->base + head, m, es);
                memcpy(sa + a, planes, m); /* exponent plane */
                a += m;
                memcpy(sb + b, planes + m, (es - 1) * m); /* sign + mantissa planes */
                b += (es - 1) * m;
                memcpy(sa + a, ft + pos + head + m * es, tail);
                a += tail;
            }
            pos += s->len;
        }
        na[i] = a;
        zl[2 * i] = ZSTD_compressCCtx(cc, z + 2 * i * bound, bound, sa, a, 3);
        zl[2 * i + 1] = ZSTD_compressCCtx(cc, z + (2 * i + 1) * bound, bound, sb, b, 3);
        total += zl[2 * i] + zl[2 * i + 1];
    }
    /* Decode cost: both streams, then the XOR join of the planes (the base read once). */
    for (int r = -1; r < runs; r++) { /* r = -1: an untimed warm-up */
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t i = 0; i < ch->n; i++) {
            size_t a =
                ZSTD_decompressDCtx(dc, sa, WEFT_XET_MAX_CHUNK_LEN, z + 2 * i * bound, zl[2 * i]);
            size_t b = ZSTD_decompressDCtx(dc, sb, WEFT_XET_MAX_CHUNK_LEN, z + (2 * i + 1) * bound,
                                           zl[2 * i + 1]);
            if (a != na[i] || a + b != ch->len[i])
                die("bitx zstd");
            size_t m = b; /* BF16: one sign+mantissa byte per element */
            const uint8_t *pl[4] = {sa, sb, NULL, NULL};
            if (m > 0 && m * 2 <= ch->len[i])
                weft_tensor__xor_join(out, pl, ft + ch->off[i], m, 2);
        }
        if (r >= 0)
            timing_add(dec, (double)len, bench_now() - w0, cpu_now() - c0);
    }
    ZSTD_freeCCtx(cc);
    ZSTD_freeDCtx(dc);
    free(sa);
    free(sb);
    free(planes);
    free(out);
    free(z);
    free(zl);
    free(na);
    return total;
}

static int bench_delta(const char *base_path, const char *ft_path, int runs)
{
    size_t blen = 0, flen = 0;
    uint8_t *base = bench_read_file(base_path, &blen), *ft = bench_read_file(ft_path, &flen);
    size_t nf = 0, matched = 0;
    weft_weight_region *regions = st_regions(ft, flen, base, blen, &nf, &matched);
    if (regions == NULL) {
        fprintf(stderr, "bench_codec: not safetensors files\n");
        return 1;
    }
    size_t unchanged = 0, unchanged_bytes = 0;
    for (size_t i = 0; i < nf; i++) {
        if (regions[i].base != NULL &&
            memcmp(regions[i].base, ft + regions[i].offset, regions[i].len) == 0) {
            unchanged++;
            unchanged_bytes += regions[i].len;
        }
    }
    chunks ch = chunk_file(ft, flen);
    printf("delta of %s against %s: %zu bytes, %zu tensors (%zu matched, %zu unchanged = %.1f%% "
           "of the bytes), %zu Xet chunks\n",
           ft_path, base_path, flen, nf, matched, unchanged,
           100.0 * (double)unchanged_bytes / (double)flen, ch.n);
    timing we = {0}, wd = {0}, ze = {0}, zd = {0}, xd = {0};
    size_t w = weft_runs(ft, flen, &ch, regions, nf, base, runs, &we, &wd);
    size_t z = zstd_runs(ft, flen, &ch, runs, &ze, &zd);
    size_t x = bitx_runs(ft, flen, &ch, regions, nf, runs, &xd);
    double rw = (double)flen / (double)w, rz = (double)flen / (double)z,
           rx = (double)flen / (double)x;
    printf("weft delta frames: ratio %.3fx, ", rw);
    timing_print("encode", &we);
    timing_print(", decode (base + frame -> fine-tune)", &wd);
    printf("\nzstd -3 on the fine-tune alone: ratio %.3fx, ", rz);
    timing_print("decode", &zd);
    printf("\nbitx-style xor + split + zstd -3: ratio %.3fx, ", rx);
    timing_print("decode", &xd);
    printf("\nratios: weft/zstd-3 size %.3fx, weft/bitx %.3fx; decode speed weft/bitx %.2fx\n",
           rw / rz, rw / rx, median(wd.wall, wd.n) / median(xd.wall, xd.n));
    per_tensor(ft, regions, nf, 0, "weft delta, changed tensors only");
    free(regions);
    free(ch.off);
    free(ch.len);
    munmap(base, blen);
    munmap(ft, flen);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 5;
    const char *env = getenv("WEFT_BENCH_RUNS");
    if (env != NULL)
        runs = (int)strtol(env, NULL, 10);
    const char *args[3] = {NULL, NULL, NULL};
    int n_args = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = (int)strtol(argv[++i], NULL, 10);
        else if (n_args < 3)
            args[n_args++] = argv[i];
    }
    if (runs < 1 || runs > 64)
        runs = 5;
    if (n_args == 2 && strcmp(args[0], "float") == 0)
        return bench_float(args[1], runs);
    if (n_args == 3 && strcmp(args[0], "delta") == 0)
        return bench_delta(args[1], args[2], runs);
    fprintf(stderr, "usage: bench_codec float FILE [--runs N]\n"
                    "       bench_codec delta BASE FT [--runs N]\n");
    return 2;
}
