/* Shared by the bench_* programs: a monotonic clock in seconds, a double comparator for
 * medians, and whole input files read into memory. Header-only. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads a whole file into anonymous memory (huge pages where the kernel gives them), as the
 * store holds chunks and decoded bases in buffers: a mapped file's 4 KiB pages would add TLB
 * misses to every codec alike. Exits with a message on failure; release with munmap. */
static inline uint8_t *bench_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        exit(1);
    }
    *len = (size_t)st.st_size;
    uint8_t *p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "bench: no memory for %s\n", path);
        exit(1);
    }
    (void)madvise(p, *len, MADV_HUGEPAGE);
    for (size_t got = 0; got < *len;) {
        ssize_t r = read(fd, p + got, *len - got);
        if (r <= 0) {
            fprintf(stderr, "bench: cannot read %s\n", path);
            exit(1);
        }
        got += (size_t)r;
    }
    close(fd);
    return p;
}

#endif
