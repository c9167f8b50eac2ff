/* bench_blake3: keyed BLAKE3 throughput per kernel (ref, avx2, avx512) on one core, beside
 * `b3sum --num-threads 1` on the same bytes. Prints the median of --runs runs in GB/s (10^9
 * bytes per second) for:
 *   - 64 KiB inputs (Xet chunk hashing, the hot path): one weft_blake3_keyed call per 64 KiB
 *     slice of the large buffer, walking all of it, and the same call repeated on one slice
 *     that stays in cache;
 *   - one input of --size bytes (default WEFT_BENCH_SIZE or 1 GiB).
 * b3sum runs in keyed mode on a temp file in /tmp holding the large buffer (page cache), so
 * its figure includes process start and mmap; its hash must equal weft's or the run fails.
 * usage: bench_blake3 [--size BYTES] [--runs N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/blake3_internal.h"
#include "bench_util.h"
#include "weft/blake3.h"

#define BENCH_SMALL (64 * 1024)

/* Every digest is folded in here so the compiler cannot drop a call. */
static volatile uint8_t bench_sink;

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

static void bench_fill(uint8_t *p, size_t n)
{
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
        }
        p[i] = (uint8_t)(s >> (56 - 8 * (i % 8)));
    }
}

static void bench_hex(char *hex, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = 0;
}

/* Bytes hashed per second (GB/s) over 64 KiB slices of p[0..n), median of runs. */
static double bench_small(const uint8_t key[32], const uint8_t *p, size_t n, int runs,
                          size_t repeat_one)
{
    double t[100];
    uint8_t out[32];
    for (int r = 0; r < runs; r++) {
        size_t bytes = 0;
        double t0 = bench_now();
        if (repeat_one > 0) {
            for (size_t i = 0; i < repeat_one; i++) {
                weft_blake3_keyed(out, key, p, BENCH_SMALL);
                bench_sink ^= out[0];
                bytes += BENCH_SMALL;
            }
        } else {
            for (size_t off = 0; off + BENCH_SMALL <= n; off += BENCH_SMALL) {
                weft_blake3_keyed(out, key, p + off, BENCH_SMALL);
                bench_sink ^= out[0];
                bytes += BENCH_SMALL;
            }
        }
        t[r] = (double)bytes / (bench_now() - t0) / 1e9;
    }
    return bench_median(t, runs);
}

static double bench_large(uint8_t out[32], const uint8_t key[32], const uint8_t *p, size_t n,
                          int runs)
{
    double t[100];
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now();
        weft_blake3_keyed(out, key, p, n);
        t[r] = (double)n / (bench_now() - t0) / 1e9;
    }
    return bench_median(t, runs);
}

/* keyed b3sum --num-threads 1 on the file; GB/s median of runs, hash in hex_out. */
static int bench_b3sum(double *gbps, char hex_out[65], const char *file, const char *keyfile,
                       size_t n, int runs)
{
    char cmd[1024];
    double t[100];
    snprintf(cmd, sizeof cmd, "b3sum --keyed --num-threads 1 --no-names '%s' < '%s'", file,
             keyfile);
    for (int r = 0; r < runs; r++) {
        char line[256] = {0};
        double t0 = bench_now();
        FILE *f = popen(cmd, "r");
        if (f == NULL)
            return -1;
        if (fgets(line, sizeof line, f) == NULL) {
            pclose(f);
            return -1;
        }
        if (pclose(f) != 0 || strlen(line) < 64)
            return -1;
        t[r] = (double)n / (bench_now() - t0) / 1e9;
        memcpy(hex_out, line, 64);
        hex_out[64] = 0;
    }
    *gbps = bench_median(t, runs);
    return 0;
}

static int bench_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    if (fclose(f) != 0 || w != n)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *env_size = getenv("WEFT_BENCH_SIZE");
    const char *env_runs = getenv("WEFT_BENCH_RUNS");
    size_t size = env_size != NULL ? (size_t)strtoull(env_size, NULL, 10) : (size_t)1 << 30;
    int runs = env_runs != NULL ? (int)strtol(env_runs, NULL, 10) : 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size") == 0) {
            size = (size_t)strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--runs") == 0) {
            runs = (int)strtol(argv[i + 1], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_blake3 [--size BYTES] [--runs N]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 100)
        runs = 5;
    if (size < BENCH_SMALL)
        size = BENCH_SMALL;

    uint8_t *buf = malloc(size);
    if (buf == NULL) {
        fprintf(stderr, "bench_blake3: cannot allocate %zu bytes\n", size);
        return 1;
    }
    bench_fill(buf, size);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x40 + i);

    char file[] = "/tmp/weft-bench-blake3-XXXXXX";
    int fd = mkstemp(file);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    char keyfile[sizeof file + 4];
    snprintf(keyfile, sizeof keyfile, "%s.key", file);
    if (bench_write(file, buf, size) != 0 || bench_write(keyfile, key, sizeof key) != 0) {
        fprintf(stderr, "bench_blake3: cannot write %s\n", file);
        return 1;
    }

    printf("input: %zu bytes in memory; 64 KiB inputs: %zu slices; median of %d runs; "
           "default kernel %s\n",
           size, size / BENCH_SMALL, runs, weft_blake3_kernel());
    double b3 = 0;
    char b3_hex[65] = {0};
    int b3_rc = bench_b3sum(&b3, b3_hex, file, keyfile, size, runs);
    unlink(file);
    unlink(keyfile);
    if (b3_rc != 0) {
        fprintf(stderr, "bench_blake3: b3sum failed (is it installed?)\n");
        return 1;
    }
    printf("b3sum --keyed --num-threads 1 (file in page cache): %.2f GB/s\n", b3);

    static const char *const kernels[] = {"ref", "avx2", "avx512"};
    size_t in_cache =
        (size_t)256 << 20 < size ? ((size_t)256 << 20) / BENCH_SMALL : size / BENCH_SMALL;
    int status = 0;
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (weft_blake3__set_kernel(kernels[k]) != 0) {
            printf("%-6s  not supported by this cpu\n", kernels[k]);
            continue;
        }
        int kr = strcmp(kernels[k], "ref") == 0 && runs > 3 ? 3 : runs;
        double walk = bench_small(key, buf, size, kr, 0);
        double hot = bench_small(key, buf, size, kr, in_cache);
        uint8_t out[32];
        char hex[65];
        double large = bench_large(out, key, buf, size, kr);
        bench_hex(hex, out, 32);
        int same = strcmp(hex, b3_hex) == 0;
        printf("%-6s  64 KiB: %6.2f GB/s walking, %6.2f GB/s in cache   %zu bytes: %6.2f GB/s"
               "   weft/b3sum %.2fx (64 KiB walking), %.2fx (large)%s\n",
               kernels[k], walk, hot, size, large, walk / b3, large / b3,
               same ? "" : "   HASH DIFFERS FROM b3sum");
        if (!same)
            status = 1;
    }
    weft_blake3__set_kernel(NULL);
    free(buf);
    return status;
}
