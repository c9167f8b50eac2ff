/* bench_delta BASE FT [--runs N] [--kind lossless|int8|int4|1bit]: the delta file library alone
 * (include/weft/delta_file.h), files in memory, one core: delta size and ratio (FT bytes /
 * delta bytes), create and apply speed in GB/s of FT bytes (medians of N runs), and a check
 * that apply rebuilds what create promised. No hashing and no file writes (bench/delta.sh runs
 * the CLI, which adds both). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"

/* CPU seconds of this thread: on a loaded machine wall time measures the scheduler, not us. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double wall_sum; /* wall seconds of the timed calls, for the report */
#include "weft/buf.h"
#include "weft/delta_file.h"

static void die(int rc)
{
    fprintf(stderr, "bench_delta: %s (%d)\n", weft_err_last(), rc);
    exit(1);
}

/* One create: the whole delta into d (cleared first). Checks the result pieces against ft when
 * lossless. */
static double create_once(weft_buf *d, const uint8_t *b, uint64_t bl, const uint8_t *f, uint64_t fl,
                          int kind)
{
    weft_delta_encoder *e = NULL;
    weft_buf_clear(d);
    double t0 = cpu_now(), w0 = bench_now();
    int rc = weft_delta_encoder_new(&e, b, bl, f, fl, kind);
    if (rc < 0)
        die(rc);
    weft_delta_info info = *weft_delta_encoder_info(e);
    uint8_t pro[WEFT_DELTA_PROLOGUE_LEN];
    weft_delta_prologue_encode(pro, &info);
    if (weft_buf_append(d, pro, sizeof pro) < 0 ||
        weft_buf_append(d, info.header, (size_t)info.header_len) < 0)
        die(WEFT_ENOMEM);
    for (;;) {
        weft_delta_piece p;
        rc = weft_delta_encoder_next(e, &p);
        if (rc < 0)
            die(rc);
        if (p.coded_len == 0)
            break;
        if (weft_buf_append(d, p.coded, p.coded_len) < 0)
            die(WEFT_ENOMEM);
    }
    double t = cpu_now() - t0;
    wall_sum += bench_now() - w0;
    weft_delta_encoder_free(e);
    return t;
}

static double apply_once(const weft_buf *d, const uint8_t *b, uint64_t bl, const uint8_t *check,
                         uint64_t check_len, uint8_t *piece)
{
    weft_delta_reader *r = NULL;
    uint64_t pos = 0;
    double t0 = cpu_now(), w0 = bench_now();
    int rc = weft_delta_reader_open(&r, d->data, d->len, b, bl);
    while (rc == 0) {
        size_t n = 0;
        rc = weft_delta_reader_next(r, piece, WEFT_DELTA_PIECE_MAX, &n);
        if (rc < 0 || n == 0)
            break;
        if (check != NULL && (pos + n > check_len || memcmp(piece, check + pos, n) != 0)) {
            fprintf(stderr, "bench_delta: apply differs from the fine-tune at %llu\n",
                    (unsigned long long)pos);
            exit(1);
        }
        pos += n;
    }
    double t = cpu_now() - t0;
    wall_sum += bench_now() - w0;
    if (rc < 0)
        die(rc);
    weft_delta_reader_free(r);
    return t;
}

int main(int argc, char **argv)
{
    int runs = 3, kind = WEFT_DELTA_LOSSLESS;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_delta BASE FT [--runs N] [--kind KIND]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0)
            runs = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--kind") == 0)
            kind = weft_delta_kind_from_name(argv[i + 1]);
    }
    if (runs < 1 || runs > 99 || kind < 0) {
        fprintf(stderr, "bench_delta: bad --runs or --kind\n");
        return 2;
    }
    size_t bl = 0, fl = 0;
    uint8_t *b = bench_read_file(argv[1], &bl), *f = bench_read_file(argv[2], &fl);
    uint8_t *piece = malloc(WEFT_DELTA_PIECE_MAX);
    weft_buf d;
    weft_buf_init(&d, (size_t)fl * 2 + (64u << 20));
    double tc[99], ta[99];
    for (int i = 0; i < runs; i++)
        tc[i] = create_once(&d, b, bl, f, fl, kind);
    double wc = wall_sum / runs;
    /* the first apply checks every byte (lossless); the timed ones do not */
    apply_once(&d, b, bl, kind == WEFT_DELTA_LOSSLESS ? f : NULL, fl, piece);
    for (int i = 0; i < runs; i++)
        ta[i] = apply_once(&d, b, bl, NULL, 0, piece);
    wall_sum = 0;
    for (int i = 0; i < runs; i++)
        apply_once(&d, b, bl, NULL, 0, piece);
    double wa = wall_sum / runs;
    qsort(tc, (size_t)runs, sizeof tc[0], bench_cmp_double);
    qsort(ta, (size_t)runs, sizeof ta[0], bench_cmp_double);
    double c = tc[runs / 2], a = ta[runs / 2];
    printf("weft delta (%s, library, one core): %llu -> %zu bytes, ratio %.2fx, create %.2f GB/s, "
           "apply %.2f GB/s (CPU time, medians); wall time: create %.2f GB/s, apply %.2f GB/s\n",
           weft_delta_kind_name(kind), (unsigned long long)fl, d.len, (double)fl / (double)d.len,
           (double)fl / c / 1e9, (double)fl / a / 1e9, (double)fl / wc / 1e9,
           (double)fl / wa / 1e9);
    weft_buf_dispose(&d);
    free(piece);
    munmap(b, (size_t)bl);
    munmap(f, (size_t)fl);
    return 0;
}
