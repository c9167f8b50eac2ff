/* The local Xet chunk cache: sub-ranges and ranges spanning pieces served, every chunk verified
 * (a flipped byte in data or table drops the piece and never returns wrong bytes), contained
 * pieces replaced, LRU eviction to the bound, several processes putting and reading at once. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/testutil.h"
#include "weft/chunk_cache.h"
#include "weft/xet_compress.h"

#define N_CHUNKS 40

static char dir[64];
static weft_xet_chunk ref[N_CHUNKS]; /* chunk i of the test xorb: varied lengths, random bytes */
static weft_hash xorb;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/weft-cc-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    memset(xorb.b, 0x5c, sizeof xorb.b);
    for (int i = 0; i < N_CHUNKS; i++) {
        uint32_t len = 1000 + (uint32_t)i * 997 % 60000;
        ref[i].data = malloc(len);
        tu_fill_random(ref[i].data, len, 100 + (uint64_t)i);
        ref[i].raw_len = len;
        ref[i].phys_len = 8 + len / 2;
        weft_xet_chunk_hash(&ref[i].hash, ref[i].data, len);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_xet_chunks_clear(ref, N_CHUNKS);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh cache directory under the test dir. */
static weft_chunk_cache *fresh(const char *name, uint64_t max)
{
    char d[128], cmd[160];
    snprintf(d, sizeof d, "%s/%s", dir, name);
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    assert_int_equal(system(cmd), 0);
    weft_chunk_cache *c = NULL;
    assert_int_equal(weft_chunk_cache_open(&c, d, max), 0);
    return c;
}

/* Asserts that the present chunks of got[0..n) equal ref[first..) and returns how many are. */
static uint32_t check_chunks(const weft_xet_chunk *got, uint32_t first, uint32_t n)
{
    uint32_t present = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!got[i].data)
            continue;
        const weft_xet_chunk *r = &ref[first + i];
        assert_int_equal(got[i].raw_len, r->raw_len);
        assert_int_equal(got[i].phys_len, r->phys_len);
        assert_memory_equal(got[i].data, r->data, r->raw_len);
        assert_true(weft_hash_eq(&got[i].hash, &r->hash));
        present++;
    }
    return present;
}

/* The piece files of the test xorb in cache directory `name`. */
static int count_pieces(const char *name, char *last, size_t last_len)
{
    char hex[WEFT_HASH_HEX_LEN + 1], d[256];
    weft_xet_hash_to_hex(hex, &xorb);
    snprintf(d, sizeof d, "%s/%s/%.2s/%s", dir, name, hex, hex);
    DIR *dd = opendir(d);
    if (!dd)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        if (last)
            snprintf(last, last_len, "%s/%s", d, e->d_name);
    }
    closedir(dd);
    return n;
}

static void test_client_chunk_cache_sub_ranges_and_spans(void **state)
{
    (void)state;
    weft_chunk_cache *c = fresh("spans", 0);
    weft_xet_chunk got[N_CHUNKS];
    uint32_t found = 0;
    memset(got, 0, sizeof got);
    /* Nothing cached: a miss, not an error. */
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 0, N_CHUNKS), 0);
    assert_int_equal(found, 0);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 0, ref, 10), 0);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 10, ref + 10, 10), 0);
    /* A sub-range of one piece. */
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 3, 4), 0);
    assert_int_equal(found, 4);
    assert_int_equal(check_chunks(got, 3, 4), 4);
    weft_xet_chunks_clear(got, N_CHUNKS);
    /* A range across both pieces and past them: [5, 25) has 15 cached chunks, 5 absent. */
    found = 0;
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 5, 20), 0);
    assert_int_equal(found, 15);
    assert_int_equal(check_chunks(got, 5, 20), 15);
    for (int i = 15; i < 20; i++)
        assert_null(got[i].data);
    weft_xet_chunks_clear(got, N_CHUNKS);
    /* Another xorb shares nothing. */
    weft_hash other = xorb;
    other.b[0] ^= 1;
    found = 0;
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &other, 0, 20), 0);
    assert_int_equal(found, 0);
    weft_chunk_cache_stats st;
    weft_chunk_cache_stats_get(c, &st);
    uint64_t want = 0;
    for (int i = 3; i < 7; i++)
        want += ref[i].raw_len;
    for (int i = 5; i < 20; i++)
        want += ref[i].raw_len;
    assert_int_equal(st.hit_bytes, want);
    assert_int_equal(st.n_corrupt, 0);
    weft_chunk_cache_close(c);
}

static void flip_byte(const char *path, long from_end)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    off_t at = from_end >= 0 ? st.st_size - 1 - from_end : -from_end;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void test_client_chunk_cache_corruption_detected(void **state)
{
    (void)state;
    /* A flipped byte in the data (last chunk) and, in another cache, in the table (a length). */
    for (int where = 0; where < 2; where++) {
        const char *name = where ? "corrupt_table" : "corrupt_data";
        weft_chunk_cache *c = fresh(name, 0);
        assert_int_equal(weft_chunk_cache_put(c, &xorb, 0, ref, 8), 0);
        char path[512];
        assert_int_equal(count_pieces(name, path, sizeof path), 1);
        flip_byte(path, where ? -(56 + 40 * 3 + 1) : 10);
        weft_xet_chunk got[8];
        uint32_t found = 0;
        memset(got, 0, sizeof got);
        assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 0, 8), 0);
        /* Never wrong bytes: the chunks returned are exact, the damaged one is absent. */
        assert_int_equal(check_chunks(got, 0, 8), found);
        assert_true(found < 8);
        assert_null(got[7].data);
        weft_chunk_cache_stats st;
        weft_chunk_cache_stats_get(c, &st);
        assert_int_equal(st.n_corrupt, 1);
        /* The piece is gone, so a refetch can store a good one. */
        assert_int_equal(count_pieces(name, NULL, 0), 0);
        weft_xet_chunks_clear(got, 8);
        assert_int_equal(weft_chunk_cache_put(c, &xorb, 0, ref, 8), 0);
        found = 0;
        assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 0, 8), 0);
        assert_int_equal(found, 8);
        assert_int_equal(check_chunks(got, 0, 8), 8);
        weft_xet_chunks_clear(got, 8);
        weft_chunk_cache_close(c);
    }
}

static void test_client_chunk_cache_writer_and_view(void **state)
{
    (void)state;
    weft_chunk_cache *c = fresh("view", 0);
    weft_chunk_cache_writer *w = NULL;
    /* A piece left incomplete is never published. */
    assert_int_equal(weft_chunk_cache_writer_open(&w, c, &xorb, 0, 4), 0);
    assert_int_equal(weft_chunk_cache_writer_add(w, &ref[0]), 0);
    assert_int_equal(weft_chunk_cache_writer_add(w, &ref[1]), 0);
    assert_int_equal(weft_chunk_cache_writer_close(w), WEFT_EINVALID);
    assert_int_equal(count_pieces("view", NULL, 0), 0);
    assert_int_equal(weft_chunk_cache_writer_open(&w, c, &xorb, 10, 4), 0);
    for (int i = 10; i < 14; i++)
        assert_int_equal(weft_chunk_cache_writer_add(w, &ref[i]), 0);
    assert_int_equal(weft_chunk_cache_writer_add(w, &ref[14]), WEFT_EINVALID); /* one too many */
    assert_int_equal(weft_chunk_cache_writer_close(w), 0);
    char path[512];
    assert_int_equal(count_pieces("view", path, sizeof path), 1);
    /* A view of [8, 16): chunks 10..13 held, with their lengths and hashes, nothing read yet. */
    weft_xet_chunk meta[8];
    uint8_t held[8];
    memset(meta, 0, sizeof meta);
    weft_chunk_cache_view *v = NULL;
    assert_int_equal(weft_chunk_cache_view_open(&v, c, meta, held, &xorb, 8, 8), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(held[i], i >= 2 && i < 6);
        if (held[i]) {
            assert_int_equal(meta[i].raw_len, ref[8 + i].raw_len);
            assert_int_equal(meta[i].phys_len, ref[8 + i].phys_len);
            assert_true(weft_hash_eq(&meta[i].hash, &ref[8 + i].hash));
            assert_null(meta[i].data);
        }
    }
    uint8_t *buf = malloc(WEFT_XET_MAX_CHUNK_LEN);
    assert_int_equal(weft_chunk_cache_view_read(v, 10, buf), 0);
    assert_memory_equal(buf, ref[10].data, ref[10].raw_len);
    assert_int_equal(weft_chunk_cache_view_read(v, 9, buf), WEFT_ENOTFOUND);
    /* Damage chunk 12 under the open view: its read fails, the piece goes, every chunk it held
     * counts as dropped. */
    flip_byte(path, (long)ref[13].raw_len + 5);
    assert_int_equal(weft_chunk_cache_view_read(v, 12, buf), WEFT_ECORRUPT);
    assert_int_equal(weft_chunk_cache_view_read(v, 13, buf), WEFT_ECORRUPT);
    assert_int_equal(weft_chunk_cache_view_dropped(v, 10), 1);
    assert_int_equal(weft_chunk_cache_view_dropped(v, 9), 0);
    assert_int_equal(weft_chunk_cache_view_n_dropped(v), 1);
    assert_int_equal(count_pieces("view", NULL, 0), 0);
    weft_chunk_cache_view_close(v);
    free(buf);
    weft_chunk_cache_close(c);
}

static void test_client_chunk_cache_contained_pieces_replaced(void **state)
{
    (void)state;
    weft_chunk_cache *c = fresh("replace", 0);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 2, ref + 2, 2), 0);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 5, ref + 5, 3), 0);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 30, ref + 30, 3), 0);
    assert_int_equal(count_pieces("replace", NULL, 0), 3);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 0, ref, 10), 0);
    assert_int_equal(count_pieces("replace", NULL, 0), 2); /* [0,10) and [30,33) */
    weft_xet_chunk got[N_CHUNKS];
    uint32_t found = 0;
    memset(got, 0, sizeof got);
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &xorb, 0, N_CHUNKS), 0);
    assert_int_equal(found, 13);
    assert_int_equal(check_chunks(got, 0, N_CHUNKS), 13);
    weft_xet_chunks_clear(got, N_CHUNKS);
    /* Bad arguments are errors, not crashes. */
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 0, got, 1), WEFT_EINVALID);
    assert_int_equal(weft_chunk_cache_put(c, &xorb, 8190, ref, 5), WEFT_EINVALID);
    weft_chunk_cache_close(c);
}

static void test_client_chunk_cache_lru_eviction(void **state)
{
    (void)state;
    weft_chunk_cache *c = fresh("lru", 0);
    weft_hash x[6];
    for (int k = 0; k < 6; k++) {
        x[k] = xorb;
        x[k].b[1] = (uint8_t)k;
        assert_int_equal(weft_chunk_cache_put(c, &x[k], 0, ref + 4 * k, 4), 0);
        /* Distinct mtimes, oldest first. */
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Reading the oldest makes it the most recently used. */
    weft_xet_chunk got[4];
    uint32_t found = 0;
    memset(got, 0, sizeof got);
    assert_int_equal(weft_chunk_cache_get(c, &found, got, &x[0], 0, 4), 0);
    assert_int_equal(found, 4);
    weft_xet_chunks_clear(got, 4);
    uint64_t total = 0;
    assert_int_equal(weft_chunk_cache_evict(c, UINT64_MAX, &total), 0);
    uint64_t size[6], per = 0;
    for (int k = 0; k < 6; k++) {
        size[k] = 56 + 40 * 4 + 32;
        for (int i = 0; i < 4; i++)
            size[k] += ref[4 * k + i].raw_len;
        per = size[k] > per ? size[k] : per;
    }
    assert_int_equal(total, size[0] + size[1] + size[2] + size[3] + size[4] + size[5]);
    /* Room for all but x[1] and a part of x[2]. */
    uint64_t bound = total - size[1] - size[2] / 2;
    assert_int_equal(weft_chunk_cache_evict(c, bound, &total), 0);
    assert_true(total <= bound);
    /* x[1] and x[2] (least recently used) went; x[0] and the newer ones stayed. */
    int want_present[6] = {1, 0, 0, 1, 1, 1};
    for (int k = 0; k < 6; k++) {
        found = 0;
        assert_int_equal(weft_chunk_cache_get(c, &found, got, &x[k], 0, 4), 0);
        assert_int_equal(found, want_present[k] ? 4 : 0);
        if (found)
            assert_int_equal(check_chunks(got, 4 * (uint32_t)k, 4), 4);
        weft_xet_chunks_clear(got, 4);
    }
    weft_chunk_cache_stats st;
    weft_chunk_cache_stats_get(c, &st);
    assert_int_equal(st.evicted_bytes, size[1] + size[2]);
    weft_chunk_cache_close(c);
    /* A handle with a small bound trims on close. */
    char d[128];
    snprintf(d, sizeof d, "%s/lru", dir);
    assert_int_equal(weft_chunk_cache_open(&c, d, per + 1), 0);
    assert_int_equal(weft_chunk_cache_put(c, &x[1], 0, ref + 4, 4), 0);
    weft_chunk_cache_close(c);
    assert_int_equal(weft_chunk_cache_open(&c, d, 0), 0);
    assert_int_equal(weft_chunk_cache_evict(c, 0, &total), 0);
    assert_true(total <= per + 1);
    weft_chunk_cache_close(c);
}

static void test_client_chunk_cache_processes_share(void **state)
{
    (void)state;
    char d[128];
    snprintf(d, sizeof d, "%s/shared", dir);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            weft_chunk_cache *c = NULL;
            int bad = weft_chunk_cache_open(&c, d, 0) != 0;
            for (int round = 0; round < 30 && !bad; round++) {
                uint32_t a = (uint32_t)((round * 7 + k * 3) % 30), n = 1 + (uint32_t)(round % 10);
                bad |= weft_chunk_cache_put(c, &xorb, a, ref + a, n) != 0;
                weft_xet_chunk got[N_CHUNKS];
                memset(got, 0, sizeof got);
                uint32_t found = 0;
                bad |= weft_chunk_cache_get(c, &found, got, &xorb, 0, N_CHUNKS) != 0;
                for (int i = 0; i < N_CHUNKS; i++)
                    if (got[i].data && (got[i].raw_len != ref[i].raw_len ||
                                        memcmp(got[i].data, ref[i].data, ref[i].raw_len) != 0))
                        bad = 1;
                weft_xet_chunks_clear(got, N_CHUNKS);
                weft_chunk_cache_stats st;
                weft_chunk_cache_stats_get(c, &st);
                bad |= st.n_corrupt != 0; /* a half-written piece was never visible */
            }
            weft_chunk_cache_close(c);
            _exit(bad);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status = 0;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void test_client_chunk_cache_parse_size(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(weft_chunk_cache_parse_size(&v, "10G"), 0);
    assert_int_equal(v, 10ull << 30);
    assert_int_equal(weft_chunk_cache_parse_size(&v, "512MiB"), 0);
    assert_int_equal(v, 512ull << 20);
    assert_int_equal(weft_chunk_cache_parse_size(&v, "4096"), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(weft_chunk_cache_parse_size(&v, "1X"), WEFT_EINVALID);
    assert_int_equal(weft_chunk_cache_parse_size(&v, "-1"), WEFT_EINVALID);
    assert_int_equal(weft_chunk_cache_parse_size(&v, "99999999999T"), WEFT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_chunk_cache_sub_ranges_and_spans),
        cmocka_unit_test(test_client_chunk_cache_corruption_detected),
        cmocka_unit_test(test_client_chunk_cache_writer_and_view),
        cmocka_unit_test(test_client_chunk_cache_contained_pieces_replaced),
        cmocka_unit_test(test_client_chunk_cache_lru_eviction),
        cmocka_unit_test(test_client_chunk_cache_processes_share),
        cmocka_unit_test(test_client_chunk_cache_parse_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
