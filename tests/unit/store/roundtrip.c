/* Store round trips: ingest then read back, for the sizes that are edges for the chunker, the
 * ingest's 8 MiB input slabs and the xorb limit; every way of feeding bytes in; compression on.
 * Each file's names are checked against independent computations (OpenSSL SHA-256, the chunker
 * run over the whole buffer plus weft_xet_file_hash). */
#include <fcntl.h>
#include <sys/wait.h>

#include "unit/store/store_test.h"
#include "weft/chunker.h"

typedef struct collect {
    weft_xet_node *v;
    size_t n, cap;
} collect;

static int collect_chunk(const uint8_t *data, size_t len, const weft_hash *h, void *payload)
{
    (void)data;
    collect *c = payload;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    c->v[c->n].hash = *h;
    c->v[c->n++].size = len;
    return 0;
}

/* The names the store must give p[0..n). */
static void expect_names(const weft_store_put_result *r, const uint8_t *p, size_t n)
{
    uint8_t sha[32];
    weft_hash xet;
    collect c = {0};
    assert_int_equal(weft_sha256_oneshot(sha, p, n), 0);
    assert_memory_equal(r->file.sha256, sha, 32);
    assert_int_equal(weft_chunker_run(p, n, collect_chunk, &c), 0);
    assert_int_equal(weft_xet_file_hash(&xet, c.v, c.n), 0);
    assert_memory_equal(r->file.xet_hash.b, xet.b, 32);
    assert_int_equal(r->file.size, n);
    assert_int_equal(r->new_bytes + r->dedup_bytes, n);
    assert_int_equal(r->new_chunks + r->dedup_chunks, c.n);
    free(c.v);
}

static void roundtrip(weft_store *s, const uint8_t *p, size_t n, size_t piece)
{
    weft_store_put_result r;
    st_put_pieces(s, p, n, piece, &r);
    expect_names(&r, p, n);
    st_check_file(s, &r.file.xet_hash, p, n);
    st_check_range(s, &r.file.xet_hash, p, n, 0, UINT64_MAX, WEFT_STORE_READ_NO_VERIFY);
}

static void test_store_roundtrip_empty_file(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_put_result r;
    st_put(s, NULL, 0, &r);
    expect_names(&r, (const uint8_t *)"", 0);
    assert_true(weft_hash_is_zero(&r.file.xet_hash));
    assert_int_equal(r.new_xorbs, 0);
    st_check_file(s, &r.file.xet_hash, (const uint8_t *)"", 0);
    weft_store_file f;
    assert_int_equal(weft_store_lookup(
                         s, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &f),
                     0);
    assert_int_equal(f.size, 0);
    st_sink k = {.p = malloc(1), .cap = 1};
    assert_int_equal(weft_store_read(s, &f.xet_hash, 1, 1, 0, st_sink_write, &k), WEFT_EINVALID);
    free(k.p);
    weft_store_close(s);
}

static void test_store_roundtrip_one_byte(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t one = 0x5a;
    roundtrip(s, &one, 1, 0);
    weft_store_close(s);
}

static void test_store_roundtrip_chunk_sized(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t *p = st_random(4 * MIB, 11);
    /* Exactly the first chunk of random data, exactly the 8 KiB minimum, one byte more and less
     * than a chunk, and exactly one maximal chunk. */
    uint32_t first = 0;
    size_t used = 0;
    assert_int_equal(weft_chunker_split(&first, 1, p, 4 * MIB, 0, &used), 1);
    size_t sizes[] = {first,
                      first - 1,
                      first + 1,
                      WEFT_XET_CHUNK_MIN,
                      WEFT_XET_CHUNK_MIN - 1,
                      WEFT_XET_CHUNK_MAX,
                      WEFT_XET_CHUNK_MAX + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        roundtrip(s, p + i, sizes[i], 0);
    /* Zeros never hit the mask: maximal chunks, all the same, so the file dedups into itself. */
    uint8_t *z = calloc(1, 3 * WEFT_XET_CHUNK_MAX);
    assert_non_null(z);
    weft_store_put_result r;
    st_put(s, z, 3 * WEFT_XET_CHUNK_MAX, &r);
    expect_names(&r, z, 3 * WEFT_XET_CHUNK_MAX);
    assert_int_equal(r.new_chunks, 1);
    assert_int_equal(r.dedup_chunks, 2);
    st_check_file(s, &r.file.xet_hash, z, 3 * WEFT_XET_CHUNK_MAX);
    free(z);
    free(p);
    weft_store_close(s);
}

/* Sizes around the ingest's 8 MiB slabs, fed in pieces that straddle them differently. */
static void test_store_roundtrip_slab_edges(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 17 * MIB + 4321;
    uint8_t *p = st_random(n, 12);
    size_t sizes[] = {8 * MIB - 1, 8 * MIB, 8 * MIB + 1, 16 * MIB, n};
    size_t pieces[] = {0, 1 * MIB, 8 * MIB, 8 * MIB + 1, 65537};
    weft_hash first;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* Shift so every size is a different file. */
        roundtrip(s, p + i, sizes[i] - i, pieces[i]);
    }
    /* The same bytes fed one byte at a time give the same file. */
    weft_store_put_result a, b;
    st_put_pieces(s, p, 300000, 1, &a);
    st_put_pieces(s, p, 300000, 0, &b);
    first = a.file.xet_hash;
    assert_memory_equal(first.b, b.file.xet_hash.b, 32);
    assert_int_equal(b.existed, 1);
    free(p);
    weft_store_close(s);
}

/* Many xorbs (1 MiB each) in one file, a repeated stretch pointing back into earlier xorbs. */
static void test_store_roundtrip_multi_xorb(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, MIB);
    size_t n = 20 * MIB + 12345;
    uint8_t *p = st_random(n, 7);
    memcpy(p + 12 * MIB, p + 100000, 2 * MIB);
    weft_store_put_result r;
    st_put(s, p, n, &r);
    expect_names(&r, p, n);
    assert_true(r.new_xorbs >= 18);
    assert_true(r.dedup_bytes > MIB);
    assert_true(r.stored_bytes > r.new_bytes); /* headers and footers */
    st_check_file(s, &r.file.xet_hash, p, n);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_xorbs, r.new_xorbs);
    assert_int_equal(st.unique_bytes, r.new_bytes);
    assert_int_equal(st.physical_bytes, r.stored_bytes);
    free(p);
    weft_store_close(s);
}

/* Input that dedups almost everywhere: a few new chunks per slab, so xorb plans must let go of
 * the slabs (copying their chunks) rather than pin 24 of them. */
static void test_store_roundtrip_sparse_new_chunks(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 40 * MIB;
    uint8_t *p = st_random(n, 21);
    weft_store_put_result r;
    st_put_pieces(s, p, n, 0, &r);
    /* Change 16 bytes every 2 MiB: each change makes one or two new chunks. */
    for (size_t o = MIB; o < n; o += 2 * MIB)
        memset(p + o, 0xab, 16);
    st_put_pieces(s, p, n, 3 * MIB, &r);
    expect_names(&r, p, n);
    assert_true(r.new_bytes < 40 * 3 * WEFT_XET_CHUNK_MAX);
    assert_true(r.new_xorbs == 1);
    st_check_file(s, &r.file.xet_hash, p, n);
    free(p);
    weft_store_close(s);
}

static void test_store_roundtrip_put_fd(void **state)
{
    (void)state;
    weft_store *s = st_open();
    size_t n = 10 * MIB + 3;
    uint8_t *p = st_random(n, 31);
    char path[128];
    snprintf(path, sizeof path, "%s/input.bin", st_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    weft_store_put_result r;
    assert_int_equal(weft_store_put_fd(s, fd, &r, NULL, NULL), 0);
    close(fd);
    expect_names(&r, p, n);
    /* From a pipe, written in odd pieces by a child. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        for (size_t o = 0; o < n;) {
            size_t k = n - o < 12345 ? n - o : 12345;
            if (write(pipefd[1], p + o, k) != (ssize_t)k)
                _exit(1);
            o += k;
        }
        _exit(0);
    }
    close(pipefd[1]);
    weft_store_put_result r2;
    assert_int_equal(weft_store_put_fd(s, pipefd[0], &r2, NULL, NULL), 0);
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
    assert_memory_equal(r2.file.xet_hash.b, r.file.xet_hash.b, 32);
    assert_int_equal(r2.existed, 1);
    st_check_file(s, &r.file.xet_hash, p, n);
    free(p);
    weft_store_close(s);
}

static void test_store_roundtrip_compressed(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_compression(s, 1);
    weft_store_set_xorb_limit(s, 2 * MIB);
    /* Low-entropy bytes, like the exponents of BF16 weights: they compress. */
    size_t n = 6 * MIB + 99;
    uint8_t *p = st_random(n, 41);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(0x3c + (p[i] & 3));
    weft_store_put_result r;
    st_put(s, p, n, &r);
    expect_names(&r, p, n);
    assert_true(r.stored_bytes < r.new_bytes);
    assert_true(r.new_xorbs >= 3);
    st_check_file(s, &r.file.xet_hash, p, n);
    st_check_range(s, &r.file.xet_hash, p, n, 3 * MIB - 5, MIB + 10, 0);
    weft_store_fsck_result fr;
    assert_int_equal(weft_store_fsck(s, NULL, NULL, &fr), 0);
    assert_int_equal(fr.problems, 0);
    free(p);
    weft_store_close(s);
}

/* An ingest given up half-way records no file, and a failed ingest refuses more input. */
static void test_store_roundtrip_abort(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_set_xorb_limit(s, MIB);
    uint8_t *p = st_random(12 * MIB, 51);
    weft_store_ingest *in = NULL;
    assert_int_equal(weft_store_ingest_begin(s, &in), 0);
    /* Past the first 8 MiB slab, so xorbs are being written when it is given up. */
    assert_int_equal(weft_store_ingest_feed(in, p, 12 * MIB), 0);
    weft_store_ingest_abort(in);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 0);
    weft_store_ingest_abort(NULL);
    free(p);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_roundtrip_empty_file, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_one_byte, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_chunk_sized, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_slab_edges, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_multi_xorb, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_sparse_new_chunks, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_put_fd, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_compressed, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_roundtrip_abort, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
