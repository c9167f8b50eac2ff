/* bench_chunk: Xet chunking + keyed-BLAKE3 chunk hashing of a file held in memory, on one
 * core. Prints the median throughput of --runs runs (GB/s, 10^9 bytes per second), the
 * number of chunks and the file hash so the run can be checked against the reference.
 * usage: bench_chunk FILE [--runs N] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "weft/blake3.h"
#include "weft/chunker.h"
#include "weft/fsutil.h"

typedef struct bench_chunks {
    weft_xet_node *nodes;
    size_t n, alloc;
} bench_chunks;

static int bench_collect(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    (void)data;
    bench_chunks *b = payload;
    if (b->n == b->alloc)
        return -1;
    b->nodes[b->n].hash = *hash;
    b->nodes[b->n].size = len;
    b->n++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_chunk FILE [--runs N]\n");
        return 2;
    }
    int runs = 5;
    if (argc == 4 && strcmp(argv[2], "--runs") == 0)
        runs = (int)strtol(argv[3], NULL, 10);
    if (runs < 1 || runs > 100)
        runs = 5;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL || weft_fs_pread_full(fd, p, n, 0, argv[1]) != 0) {
        fprintf(stderr, "bench_chunk: cannot read %s\n", argv[1]);
        return 1;
    }
    close(fd);
    bench_chunks b = {.alloc = n / 4096 + 16};
    b.nodes = malloc(b.alloc * sizeof *b.nodes);
    double *t = calloc((size_t)runs, sizeof *t);
    if (b.nodes == NULL || t == NULL)
        return 1;
    for (int r = 0; r < runs; r++) {
        b.n = 0;
        double t0 = bench_now();
        if (weft_chunker_run(p, n, bench_collect, &b) != 0)
            return 1;
        t[r] = (double)n / (bench_now() - t0) / 1e9;
    }
    qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
    weft_hash fh;
    char hex[65];
    if (weft_xet_file_hash(&fh, b.nodes, b.n) != 0)
        return 1;
    weft_xet_hash_to_hex(hex, &fh);
    printf("weft chunk+hash: %.2f GB/s median of %d (min %.2f, max %.2f), %zu chunks, "
           "blake3 kernel %s, file hash %s\n",
           t[runs / 2], runs, t[0], t[runs - 1], b.n, weft_blake3_kernel(), hex);
    free(t);
    free(b.nodes);
    free(p);
    return 0;
}
