/* Helpers shared by the store unit tests: a temp store per test, putting buffers, reading files
 * back into memory, and poking at the store's files. Header-only (static functions). */
#ifndef WEFT_STORE_TEST_H
#define WEFT_STORE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/sha256.h"
#include "weft/store.h"

#define KIB (1u << 10)
#define MIB (1u << 20)

/* The test's store directory, made by st_setup and removed by st_teardown. */
static char st_dir[64];

static inline int st_setup(void **state)
{
    (void)state;
    snprintf(st_dir, sizeof st_dir, "/tmp/weft-store-unit-XXXXXX");
    return mkdtemp(st_dir) == NULL ? -1 : 0;
}

static inline int st_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", st_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline weft_store *st_open(void)
{
    weft_store *s = NULL;
    assert_int_equal(weft_store_open(&s, st_dir), 0);
    return s;
}

/* Random bytes, deterministic per seed. */
static inline uint8_t *st_random(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    tu_fill_random(p, n, seed);
    return p;
}

/* Ingests p[0..n) through feed() in pieces of `piece` bytes (0 = one call). */
static inline void st_put_pieces(weft_store *s, const uint8_t *p, size_t n, size_t piece,
                                 weft_store_put_result *r)
{
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    if (piece == 0)
        piece = n ? n : 1;
    for (size_t o = 0; o < n;) {
        size_t k = n - o < piece ? n - o : piece;
        assert_int_equal(weft_store_ingest_feed(in, p + o, k), 0);
        o += k;
    }
    assert_int_equal(weft_store_ingest_finish(in, r), 0);
}

static inline void st_put(weft_store *s, const uint8_t *p, size_t n, weft_store_put_result *r)
{
    st_put_pieces(s, p, n, 77777, r);
}

typedef struct st_sink {
    uint8_t *p;
    size_t n, cap;
} st_sink;

static inline int st_sink_write(const uint8_t *p, size_t n, void *payload)
{
    st_sink *k = payload;
    if (k->n + n > k->cap)
        return weft_err_set(WEFT_ELIMIT, "test sink full");
    memcpy(k->p + k->n, p, n);
    k->n += n;
    return 0;
}

/* Reads [off, off + len) of file f and checks it equals the same range of p[0..n). */
static inline void st_check_range(weft_store *s, const weft_hash *f, const uint8_t *p, size_t n,
                                  uint64_t off, uint64_t len, int flags)
{
    st_sink k = {.p = malloc(n + 1), .cap = n + 1};
    assert_non_null(k.p);
    assert_int_equal(weft_store_read(s, f, off, len, flags, st_sink_write, &k), 0);
    uint64_t want = len > n - off ? n - off : len;
    assert_int_equal(k.n, want);
    if (want > 0)
        assert_memory_equal(k.p, p + off, want);
    free(k.p);
}

static inline void st_check_file(weft_store *s, const weft_hash *f, const uint8_t *p, size_t n)
{
    st_check_range(s, f, p, n, 0, UINT64_MAX, 0);
}

/* Runs a shell command built with printf-style arguments; returns its exit status. */
static inline int st_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int st_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Number of regular files under the store's xorbs/ folder. */
static inline int st_count_objects(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find '%s/xorbs' -type f | wc -l", st_dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = -1;
    char line[32];
    if (fgets(line, sizeof line, f) != NULL)
        n = (int)strtol(line, NULL, 10);
    pclose(f);
    return n;
}

/* Path of the object for xorb x. */
static inline void st_object_path(char *out, size_t len, const weft_hash *x)
{
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, x);
    snprintf(out, len, "%s/xorbs/%.2s/%s", st_dir, hex, hex);
}

/* Flips one bit of the byte at `off` of a file. */
static inline void st_flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
    fclose(f);
}

#endif
