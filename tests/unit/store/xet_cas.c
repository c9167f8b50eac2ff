/* The Xet CAS side of the store (include/weft/store.h, "Xet CAS"): xorbs and shards built here the
 * way a client builds them (chunker, xorb builder with LZ4/BG4 chunks, shard codec) go in through
 * weft_store_xorb_put and weft_store_shard_register; every bad input is refused with nothing
 * recorded; reconstructions are checked by reassembling files from their fetch ranges the way a
 * client does; dedup answers are parsed back and their HMACs checked. */
#include "unit/store/store_test.h"
#include "weft/chunker.h"
#include "weft/shard.h"
#include "weft/xorb.h"

/* ---- a client, in small ------------------------------------------------------------------- */

/* A xorb built from all the chunks of src[0..n). */
typedef struct tx_xorb {
    weft_hash hash;
    uint8_t *bytes; /* chunks + footer as built */
    size_t data_len, len;
    uint32_t n;
    weft_hash *hashes;
    uint32_t *lens;
    const uint8_t **data; /* into src */
} tx_xorb;

static void tx_xorb_build(tx_xorb *x, const uint8_t *src, size_t n, int scheme)
{
    memset(x, 0, sizeof *x);
    uint32_t *lens = malloc(8192 * sizeof *lens);
    assert_non_null(lens);
    size_t used = 0;
    size_t k = weft_chunker_split(lens, 8192, src, n, 1, &used);
    assert_int_equal(used, n);
    weft_xorb_builder *b = NULL;
    assert_int_equal(weft_xorb_builder_new(&b, scheme), 0);
    x->n = (uint32_t)k;
    x->lens = lens;
    x->hashes = malloc(k * sizeof *x->hashes);
    x->data = malloc(k * sizeof *x->data);
    assert_non_null(x->hashes);
    assert_non_null(x->data);
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        x->data[i] = src + off;
        weft_xet_chunk_hash(&x->hashes[i], src + off, lens[i]);
        assert_int_equal(weft_xorb_builder_add(b, &x->hashes[i], src + off, lens[i]), 0);
        off += lens[i];
    }
    weft_xorb_built built;
    assert_int_equal(weft_xorb_builder_finish(b, &built), 0);
    x->hash = built.hash;
    x->data_len = built.data_len;
    x->len = built.len;
    x->bytes = malloc(built.len);
    assert_non_null(x->bytes);
    memcpy(x->bytes, built.bytes, built.len);
    weft_xorb_builder_free(b);
}

static void tx_xorb_free(tx_xorb *x)
{
    free(x->bytes);
    free(x->hashes);
    free(x->lens);
    free(x->data);
}

/* One term of a test file: chunks [cs, ce) of x. */
typedef struct tx_term {
    const tx_xorb *x;
    uint32_t cs, ce;
} tx_term;

/* A file made of terms: its bytes, its hashes and a shard entry for it. */
typedef struct tx_file {
    uint8_t *bytes;
    size_t n;
    weft_hash xet;
    uint8_t sha[32];
    weft_shard_term *terms;
    weft_hash *verification;
    uint32_t n_terms;
} tx_file;

static void tx_file_make(tx_file *f, const tx_term *t, uint32_t nt)
{
    memset(f, 0, sizeof *f);
    size_t n = 0, n_nodes = 0;
    for (uint32_t i = 0; i < nt; i++)
        for (uint32_t k = t[i].cs; k < t[i].ce; k++) {
            n += t[i].x->lens[k];
            n_nodes++;
        }
    f->bytes = malloc(n ? n : 1);
    weft_xet_node *nodes = malloc((n_nodes ? n_nodes : 1) * sizeof *nodes);
    f->terms = calloc(nt ? nt : 1, sizeof *f->terms);
    f->verification = calloc(nt ? nt : 1, sizeof *f->verification);
    assert_true(f->bytes && nodes && f->terms && f->verification);
    size_t at = 0, ni = 0;
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t raw = 0;
        for (uint32_t k = t[i].cs; k < t[i].ce; k++) {
            memcpy(f->bytes + at, t[i].x->data[k], t[i].x->lens[k]);
            at += t[i].x->lens[k];
            raw += t[i].x->lens[k];
            nodes[ni].hash = t[i].x->hashes[k];
            nodes[ni].size = t[i].x->lens[k];
            ni++;
        }
        f->terms[i] = (weft_shard_term){.xorb_hash = t[i].x->hash,
                                        .raw_len = raw,
                                        .chunk_start = t[i].cs,
                                        .chunk_end = t[i].ce};
        weft_xet_verification_hash(&f->verification[i], &t[i].x->hashes[t[i].cs],
                                   t[i].ce - t[i].cs);
    }
    f->n = n;
    f->n_terms = nt;
    assert_int_equal(weft_xet_file_hash(&f->xet, nodes, n_nodes), 0);
    assert_int_equal(weft_sha256_oneshot(f->sha, f->bytes, n), 0);
    free(nodes);
}

static void tx_file_free(tx_file *f)
{
    free(f->bytes);
    free(f->terms);
    free(f->verification);
}

/* Adds f to a shard (sha: the SHA-256 to declare, NULL for none). */
static void tx_shard_add(weft_shard *sh, const tx_file *f, const uint8_t *sha)
{
    assert_int_equal(weft_shard_add_file(sh, &f->xet, f->terms, f->n_terms, f->verification, sha),
                     0);
}

/* Registers f alone; returns the store's answer. */
static int tx_register(weft_store *s, const tx_file *f, weft_store_shard_result *res)
{
    weft_shard *sh = NULL;
    assert_int_equal(weft_shard_new(&sh), 0);
    tx_shard_add(sh, f, f->sha);
    int rc = weft_store_shard_register(s, sh, res);
    weft_shard_free(sh);
    return rc;
}

static uint64_t tx_n_files(weft_store *s)
{
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    return st.n_files;
}

/* Compressible bytes (LZ4 and BG4 shrink them): small floats with noise. */
static uint8_t *tx_floats(size_t n, uint64_t seed)
{
    uint8_t *p = st_random(n, seed);
    for (size_t i = 0; i + 4 <= n; i += 4) {
        p[i + 2] &= 0x0f;
        p[i + 3] = 0x3c;
    }
    return p;
}

/* The fixture: xorb A (random, stored raw), xorb B (compressible, LZ4/BG4 chunks) and a file
 * F = A[0, nA) + B[0, nB) + A[1, 3), so F's terms span two xorbs and point back into the first. */
static uint8_t *src_a, *src_b;
static tx_xorb xa, xb;
static tx_file ff;

static int cas_setup(void **state)
{
    if (st_setup(state) != 0)
        return -1;
    src_a = st_random(2 * MIB + 333, 11);
    src_b = tx_floats(3 * MIB + 5, 12);
    tx_xorb_build(&xa, src_a, 2 * MIB + 333, WEFT_XET_SCHEME_LZ4);
    tx_xorb_build(&xb, src_b, 3 * MIB + 5, WEFT_XET_SCHEME_AUTO);
    tx_term t[3] = {{&xa, 0, xa.n}, {&xb, 0, xb.n}, {&xa, 1, 3}};
    tx_file_make(&ff, t, 3);
    return 0;
}

static int cas_teardown(void **state)
{
    tx_file_free(&ff);
    tx_xorb_free(&xa);
    tx_xorb_free(&xb);
    free(src_a);
    free(src_b);
    return st_teardown(state);
}

static void put_fixture_xorbs(weft_store *s)
{
    weft_store_xorb_put_result r;
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, xa.bytes, xa.data_len, &r), 0);
    assert_int_equal(weft_store_xorb_put(s, &xb.hash, xb.bytes, xb.data_len, NULL), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_store_xet_cas_upload_register_read(void **state)
{
    (void)state;
    weft_store *s = st_open();
    /* B really has compressed chunks, so the stored bytes differ from the raw ones. */
    assert_true(xb.data_len < 3 * MIB);
    weft_store_xorb_put_result r;
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, xa.bytes, xa.data_len, &r), 0);
    assert_int_equal(r.was_inserted, 1);
    assert_int_equal(r.n_chunks, xa.n);
    assert_int_equal(r.raw_bytes, 2 * MIB + 333);
    assert_int_equal(r.stored_bytes, xa.len);
    /* Again, this time with the footer the builder wrote: same xorb, not inserted. */
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, xa.bytes, xa.len, &r), 0);
    assert_int_equal(r.was_inserted, 0);
    assert_int_equal(weft_store_xorb_put(s, &xb.hash, xb.bytes, xb.data_len, &r), 0);
    assert_int_equal(r.was_inserted, 1);
    assert_int_equal(st_count_objects(), 2);

    weft_store_shard_result res;
    assert_int_equal(tx_register(s, &ff, &res), 0);
    assert_int_equal(res.n_files, 1);
    assert_int_equal(res.new_files, 1);
    assert_int_equal(res.new_bytes, ff.n);
    st_check_file(s, &ff.xet, ff.bytes, ff.n);
    char sha_hex[65];
    weft_hex_encode(sha_hex, ff.sha, 32);
    weft_store_file info;
    assert_int_equal(weft_store_lookup(s, sha_hex, &info), 0);
    assert_true(weft_hash_eq(&info.xet_hash, &ff.xet));
    assert_int_equal(info.size, ff.n);
    /* Registering again records nothing new. */
    assert_int_equal(tx_register(s, &ff, &res), 0);
    assert_int_equal(res.new_files, 0);
    assert_int_equal(tx_n_files(s), 1);

    /* The server-side chunker cuts A's bytes where the client did: an LFS put of a file that is
     * all of A finds every chunk and names the file as the client's shard did. */
    tx_file g;
    tx_term tg = {&xa, 0, xa.n};
    tx_file_make(&g, &tg, 1);
    assert_int_equal(tx_register(s, &g, &res), 0);
    assert_int_equal(res.new_files, 1);
    weft_store_put_result pr;
    st_put(s, g.bytes, g.n, &pr);
    assert_int_equal(pr.existed, 1);
    assert_int_equal(pr.new_bytes, 0);
    assert_true(weft_hash_eq(&pr.file.xet_hash, &g.xet));
    tx_file_free(&g);

    weft_store_fsck_result fr;
    assert_int_equal(weft_store_fsck(s, NULL, NULL, &fr), 0);
    assert_int_equal(fr.problems, 0);
    assert_int_equal(fr.files_checked, 2);
    /* gc keeps what the file uses. */
    weft_store_gc_result gr;
    assert_int_equal(weft_store_gc(s, 0, &gr), 0);
    assert_int_equal(gr.xorbs_deleted, 0);
    st_check_file(s, &ff.xet, ff.bytes, ff.n);
    weft_store_close(s);
}

static void test_store_xet_cas_xorb_rejects(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t *bad = malloc(xa.len);
    assert_non_null(bad);
    /* Named after another xorb. */
    assert_int_equal(weft_store_xorb_put(s, &xb.hash, xa.bytes, xa.data_len, NULL), WEFT_EINVALID);
    /* One flipped payload byte (A's chunks are raw): the hashes no longer match the name. */
    memcpy(bad, xa.bytes, xa.len);
    bad[WEFT_XORB_CHUNK_HEADER_LEN + 1000] ^= 1;
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, bad, xa.data_len, NULL), WEFT_EINVALID);
    /* Cut inside a chunk. */
    assert_true(weft_store_xorb_put(s, &xa.hash, xa.bytes, xa.data_len - 5, NULL) < 0);
    /* A bad chunk header. */
    memcpy(bad, xa.bytes, xa.len);
    bad[0] = 7;
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, bad, xa.data_len, NULL), WEFT_ECORRUPT);
    /* Empty. */
    assert_true(weft_store_xorb_put(s, &xa.hash, xa.bytes, 0, NULL) < 0);
    /* Over the limit, before anything is parsed. */
    size_t huge = (size_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN + 1;
    uint8_t *big = calloc(1, huge);
    assert_non_null(big);
    assert_int_equal(weft_store_xorb_put(s, &xa.hash, big, huge, NULL), WEFT_ELIMIT);
    free(big);
    free(bad);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_xorbs, 0);
    assert_int_equal(st.n_chunks, 0);
    assert_int_equal(st_count_objects(), 0);
    weft_store_close(s);
}

static void test_store_xet_cas_shard_rejects(void **state)
{
    (void)state;
    weft_store *s = st_open();
    put_fixture_xorbs(s);
    tx_file f;
    uint8_t *src_c = st_random(300 * KIB, 13);
    tx_xorb xc; /* built, never uploaded */
    tx_xorb_build(&xc, src_c, 300 * KIB, WEFT_XET_SCHEME_NONE);

    /* A term naming a xorb the store lacks. */
    tx_term t1[2] = {{&xa, 0, 2}, {&xc, 0, xc.n}};
    tx_file_make(&f, t1, 2);
    assert_int_equal(tx_register(s, &f, NULL), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "is not stored"));
    tx_file_free(&f);

    tx_term t2[2] = {{&xa, 0, 4}, {&xb, 2, 9}};
    tx_file_make(&f, t2, 2);
    /* A wrong verification hash. */
    f.verification[1].b[5] ^= 1;
    assert_int_equal(tx_register(s, &f, NULL), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "verification hash"));
    f.verification[1].b[5] ^= 1;
    /* A wrong file hash. */
    f.xet.b[0] ^= 1;
    assert_int_equal(tx_register(s, &f, NULL), WEFT_EINVALID);
    f.xet.b[0] ^= 1;
    /* A wrong byte count. */
    f.terms[0].raw_len += 1;
    assert_int_equal(tx_register(s, &f, NULL), WEFT_EINVALID);
    f.terms[0].raw_len -= 1;
    /* Chunks past the end of the xorb. */
    f.terms[1].chunk_end = xb.n + 1;
    assert_int_equal(tx_register(s, &f, NULL), WEFT_EINVALID);
    f.terms[1].chunk_end = 9;
    /* No SHA-256, and a wrong one. */
    weft_shard *sh = NULL;
    assert_int_equal(weft_shard_new(&sh), 0);
    tx_shard_add(sh, &f, NULL);
    assert_int_equal(weft_store_shard_register(s, sh, NULL), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "SHA-256"));
    weft_shard_free(sh);
    uint8_t wrong[32];
    memcpy(wrong, f.sha, 32);
    wrong[31] ^= 1;
    assert_int_equal(weft_shard_new(&sh), 0);
    tx_shard_add(sh, &f, wrong);
    assert_int_equal(weft_store_shard_register(s, sh, NULL), WEFT_EINVALID);
    weft_shard_free(sh);
    /* One good file and one bad one in the same shard: neither is recorded. */
    assert_int_equal(weft_shard_new(&sh), 0);
    tx_shard_add(sh, &ff, ff.sha);
    tx_shard_add(sh, &f, wrong);
    assert_int_equal(weft_store_shard_register(s, sh, NULL), WEFT_EINVALID);
    weft_shard_free(sh);
    assert_int_equal(tx_n_files(s), 0);

    /* Both, right: two new files in one transaction. */
    weft_store_shard_result res;
    assert_int_equal(weft_shard_new(&sh), 0);
    tx_shard_add(sh, &ff, ff.sha);
    tx_shard_add(sh, &f, f.sha);
    assert_int_equal(weft_store_shard_register(s, sh, &res), 0);
    weft_shard_free(sh);
    assert_int_equal(res.new_files, 2);
    st_check_file(s, &f.xet, f.bytes, f.n);
    st_check_file(s, &ff.xet, ff.bytes, ff.n);
    tx_file_free(&f);

    /* The empty file: no terms, SHA-256 of nothing. */
    tx_file_make(&f, NULL, 0);
    assert_true(weft_hash_is_zero(&f.xet));
    assert_int_equal(tx_register(s, &f, &res), 0);
    assert_int_equal(res.new_files, 1);
    st_check_file(s, &f.xet, f.bytes, 0);
    tx_file_free(&f);
    tx_xorb_free(&xc);
    free(src_c);
    weft_store_close(s);
}

/* Reassembles [off, off + len) of a file from its reconstruction the way a client does: fetch
 * each range, decode its chunks, concatenate the terms, skip offset_into_first_range. */
static void check_recon(weft_store *s, const tx_file *f, uint64_t off, uint64_t len)
{
    weft_store_recon *r = NULL;
    assert_int_equal(weft_store_recon_get(s, &f->xet, off, len, &r), 0);
    uint64_t want = len > f->n - off ? f->n - off : len;
    assert_int_equal(r->len, want);
    uint8_t *out = malloc(f->n + 1);
    uint8_t *raw = malloc(WEFT_XET_CHUNK_MAX);
    assert_true(out && raw);
    size_t got = 0;
    uint64_t skip = r->offset_into_first_range;
    for (size_t i = 0; i < r->n_terms; i++) {
        const weft_store_recon_term *t = &r->terms[i];
        const weft_store_recon_fetch *fe = NULL;
        for (size_t k = 0; k < r->n_fetches; k++)
            if (weft_hash_eq(&r->fetches[k].xorb, &t->xorb) &&
                r->fetches[k].chunk_start <= t->chunk_start &&
                r->fetches[k].chunk_end >= t->chunk_end)
                fe = &r->fetches[k];
        assert_non_null(fe);
        size_t blen = (size_t)(fe->byte_end - fe->byte_start);
        uint8_t *buf = malloc(blen);
        assert_non_null(buf);
        assert_int_equal(weft_store_xorb_read(s, &fe->xorb, fe->byte_start, buf, blen, 0), 0);
        size_t pos = 0;
        uint32_t term_raw = 0;
        for (uint32_t c = fe->chunk_start; c < fe->chunk_end; c++) {
            weft_xorb_chunk_header h;
            assert_int_equal(weft_xorb_chunk_header_parse(&h, buf + pos, blen - pos), 0);
            size_t clen = WEFT_XORB_CHUNK_HEADER_LEN + h.compressed_len, n = 0;
            assert_int_equal(weft_xorb_chunk_decode(raw, WEFT_XET_CHUNK_MAX, &n, buf + pos, clen),
                             0);
            if (c >= t->chunk_start && c < t->chunk_end) {
                term_raw += (uint32_t)n;
                size_t from = skip < n ? (size_t)skip : n;
                skip -= from;
                size_t take = n - from;
                if (take > want - got)
                    take = (size_t)(want - got);
                memcpy(out + got, raw + from, take);
                got += take;
            }
            pos += clen;
        }
        assert_int_equal(pos, blen);
        assert_int_equal(term_raw, t->raw_len);
        free(buf);
    }
    assert_int_equal(got, want);
    if (want > 0)
        assert_memory_equal(out, f->bytes + off, want);
    free(out);
    free(raw);
    weft_store_recon_free(r);
}

static void test_store_xet_cas_reconstruction(void **state)
{
    (void)state;
    weft_store *s = st_open();
    put_fixture_xorbs(s);
    assert_int_equal(tx_register(s, &ff, NULL), 0);

    /* The whole file: three terms, and A's two ranges merge into one fetch. */
    weft_store_recon *r = NULL;
    assert_int_equal(weft_store_recon_get(s, &ff.xet, 0, UINT64_MAX, &r), 0);
    assert_int_equal(r->n_terms, 3);
    assert_int_equal(r->n_fetches, 2);
    assert_int_equal(r->offset_into_first_range, 0);
    assert_int_equal(r->file.size, ff.n);
    for (size_t k = 0; k < r->n_fetches; k++) {
        const tx_xorb *x = weft_hash_eq(&r->fetches[k].xorb, &xa.hash) ? &xa : &xb;
        assert_int_equal(r->fetches[k].chunk_start, 0);
        assert_int_equal(r->fetches[k].chunk_end, x->n);
        assert_int_equal(r->fetches[k].byte_start, 0);
        assert_int_equal(r->fetches[k].byte_end, x->data_len);
    }
    weft_store_recon_free(r);

    check_recon(s, &ff, 0, UINT64_MAX);
    check_recon(s, &ff, 0, 1);
    check_recon(s, &ff, ff.n - 1, 1);
    check_recon(s, &ff, ff.n - 1, UINT64_MAX);
    check_recon(s, &ff, 100000, 1);
    /* Across the A -> B and B -> A term edges, and inside B only (one term, trimmed both ends). */
    check_recon(s, &ff, 2 * MIB + 300, 100);
    check_recon(s, &ff, ff.n - xa.lens[1] - xa.lens[2] - 10, 20);
    check_recon(s, &ff, 2 * MIB + 500000, 700000);
    uint64_t seed = 5;
    for (int i = 0; i < 40; i++) {
        uint64_t a = tu_next(&seed) % ff.n, l = 1 + tu_next(&seed) % (2 * MIB);
        check_recon(s, &ff, a, l);
    }
    /* offset == size: nothing to fetch; past it: refused. */
    assert_int_equal(weft_store_recon_get(s, &ff.xet, ff.n, 10, &r), 0);
    assert_int_equal(r->n_terms, 0);
    assert_int_equal(r->n_fetches, 0);
    weft_store_recon_free(r);
    r = NULL;
    assert_int_equal(weft_store_recon_get(s, &ff.xet, ff.n + 1, 10, &r), WEFT_EINVALID);
    assert_null(r);
    weft_hash unknown;
    memset(&unknown, 7, sizeof unknown);
    assert_int_equal(weft_store_recon_get(s, &unknown, 0, 10, &r), WEFT_ENOTFOUND);
    weft_store_close(s);
}

static void test_store_xet_cas_xorb_read(void **state)
{
    (void)state;
    weft_store *s = st_open();
    put_fixture_xorbs(s);
    uint8_t *buf = malloc(xb.data_len);
    assert_non_null(buf);
    /* The stored chunk bytes are the client's bytes: any range, aligned or not. */
    uint64_t seed = 9;
    for (int i = 0; i < 30; i++) {
        uint64_t a = tu_next(&seed) % xb.data_len;
        size_t l = (size_t)(1 + tu_next(&seed) % (xb.data_len - a));
        assert_int_equal(weft_store_xorb_read(s, &xb.hash, a, buf, l, 0), 0);
        assert_memory_equal(buf, xb.bytes + a, l);
    }
    assert_int_equal(weft_store_xorb_read(s, &xb.hash, 0, buf, xb.data_len, 0), 0);
    assert_memory_equal(buf, xb.bytes, xb.data_len);
    /* Not the footer, nor past it. */
    assert_int_equal(weft_store_xorb_read(s, &xb.hash, xb.data_len - 4, buf, 5, 0), WEFT_EINVALID);
    assert_int_equal(weft_store_xorb_read(s, &xb.hash, xb.data_len + 1, buf, 0, 0), WEFT_EINVALID);
    weft_hash unknown;
    memset(&unknown, 3, sizeof unknown);
    assert_int_equal(weft_store_xorb_read(s, &unknown, 0, buf, 1, 0), WEFT_ENOTFOUND);
    /* Damage in A's chunk 2: reads touching it fail, others and unverified reads go through. */
    char path[512];
    st_object_path(path, sizeof path, &xa.hash);
    uint64_t c2 = WEFT_XORB_CHUNK_HEADER_LEN * 2 + xa.lens[0] + xa.lens[1];
    st_flip_byte(path, (long)(c2 + WEFT_XORB_CHUNK_HEADER_LEN + 10));
    assert_int_equal(weft_store_xorb_read(s, &xa.hash, c2 + 20, buf, 10, 0), WEFT_ECORRUPT);
    assert_non_null(strstr(weft_err_last(), "damaged"));
    assert_int_equal(weft_store_xorb_read(s, &xa.hash, 0, buf, 100, 0), 0);
    assert_int_equal(weft_store_xorb_read(s, &xa.hash, c2, buf, 100, WEFT_STORE_READ_NO_VERIFY), 0);
    free(buf);
    weft_store_close(s);
}

/* 1 if the listing of x in a dedup answer holds the HMAC of h under key. */
static int listed(const weft_shard_xorb *x, const weft_hash *h, const uint8_t key[32])
{
    weft_hash m;
    weft_xet_hmac(&m, h, key);
    for (uint32_t i = 0; i < x->n_chunks; i++)
        if (weft_hash_eq(&x->chunks[i].hash, &m))
            return 1;
    return 0;
}

static void test_store_xet_cas_dedup_query(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    weft_buf out;
    weft_buf_init(&out, 64 * MIB);
    /* Nothing stored yet. */
    assert_int_equal(weft_store_dedup_query(s, &xa.hashes[0], key, 123, &out), WEFT_ENOTFOUND);
    /* Uploaded but no file yet: A's first chunk is not a first chunk of any file. */
    put_fixture_xorbs(s);
    int key_tail = weft_xet_hash_tail_u64(&xa.hashes[0]) % 1024 == 0;
    if (!key_tail)
        assert_int_equal(weft_store_dedup_query(s, &xa.hashes[0], key, 123, &out), WEFT_ENOTFOUND);
    assert_int_equal(tx_register(s, &ff, NULL), 0);
    /* F's first chunk: A's listing, then B's (the rest of F). */
    weft_buf_clear(&out);
    assert_int_equal(weft_store_dedup_query(s, &xa.hashes[0], key, 123, &out), 0);
    weft_shard *sh = NULL;
    assert_int_equal(weft_shard_parse(&sh, out.data, out.len), 0);
    assert_true(sh->has_footer);
    assert_memory_equal(sh->footer.hmac_key, key, 32);
    assert_int_equal(sh->footer.key_expiry, 123);
    assert_int_equal(sh->n_files, 0);
    assert_int_equal(sh->n_xorbs, 2);
    assert_true(weft_hash_eq(&sh->xorbs[0].hash, &xa.hash));
    assert_true(weft_hash_eq(&sh->xorbs[1].hash, &xb.hash));
    assert_int_equal(sh->xorbs[0].n_chunks, xa.n);
    assert_int_equal(sh->xorbs[0].stored_len, xa.data_len);
    assert_int_equal(sh->xorbs[1].stored_len, xb.data_len);
    for (uint32_t i = 0; i < xa.n; i++) {
        assert_true(listed(&sh->xorbs[0], &xa.hashes[i], key));
        assert_int_equal(sh->xorbs[0].chunks[i].raw_len, xa.lens[i]);
        /* Plain hashes never appear. */
        assert_false(weft_hash_eq(&sh->xorbs[0].chunks[i].hash, &xa.hashes[i]));
    }
    assert_true(listed(&sh->xorbs[1], &xb.hashes[xb.n - 1], key));
    weft_shard_free(sh);
    /* A middle chunk that is not a key chunk, and a hash nobody has. */
    for (uint32_t i = 1; i < xb.n; i++) {
        if (weft_xet_hash_tail_u64(&xb.hashes[i]) % 1024 != 0) {
            assert_int_equal(weft_store_dedup_query(s, &xb.hashes[i], key, 123, &out),
                             WEFT_ENOTFOUND);
            break;
        }
    }
    weft_hash unknown;
    memset(&unknown, 0, sizeof unknown); /* tail 0: a key chunk by hash, but not stored */
    assert_int_equal(weft_store_dedup_query(s, &unknown, key, 123, &out), WEFT_ENOTFOUND);
    /* A file that came in through ingest is found by its first chunk too. */
    size_t n = 700 * KIB;
    uint8_t *p = st_random(n, 77);
    weft_store_put_result pr;
    st_put(s, p, n, &pr);
    uint32_t first = 0;
    size_t used = 0;
    assert_int_equal(weft_chunker_split(&first, 1, p, n, 1, &used), 1);
    weft_hash h0;
    weft_xet_chunk_hash(&h0, p, first);
    weft_buf_clear(&out);
    assert_int_equal(weft_store_dedup_query(s, &h0, key, 123, &out), 0);
    assert_int_equal(weft_shard_parse(&sh, out.data, out.len), 0);
    assert_true(listed(&sh->xorbs[0], &h0, key));
    weft_shard_free(sh);
    free(p);
    weft_buf_dispose(&out);
    weft_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_xet_cas_upload_register_read, cas_setup,
                                        cas_teardown),
        cmocka_unit_test_setup_teardown(test_store_xet_cas_xorb_rejects, cas_setup, cas_teardown),
        cmocka_unit_test_setup_teardown(test_store_xet_cas_shard_rejects, cas_setup, cas_teardown),
        cmocka_unit_test_setup_teardown(test_store_xet_cas_reconstruction, cas_setup, cas_teardown),
        cmocka_unit_test_setup_teardown(test_store_xet_cas_xorb_read, cas_setup, cas_teardown),
        cmocka_unit_test_setup_teardown(test_store_xet_cas_dedup_query, cas_setup, cas_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
