/* The store side of the Xet CAS API (include/weft/store.h, "Xet CAS"): client xorbs in, files
 * registered from shards, reconstructions and raw xorb ranges out, global dedup answers.
 *
 * Trust: a client's bytes are checked before the store relies on them. A xorb is decoded and
 * hashed whole (weft_xorb_parse_client) before it is written. A shard's file entries are checked
 * against the stored xorbs' footers, which are themselves checked against the xorbs' names (their
 * Merkle roots), so verification hashes, byte counts and the file hash are recomputed from data
 * the store vouches for; the SHA-256 a file will be known by (its Git LFS oid) is recomputed from
 * the bytes, since a false one would let an upload answer for someone else's file.
 *
 * Order of effects, as in ingest.c: object durable, then its rows (in a transaction that checks
 * the object is still there, closing the race with gc's orphan sweep); a file's row and terms in
 * one transaction that re-checks every xorb they name (gc may have removed a dead xorb between the
 * checks and the commit; then the registration fails with WEFT_ECONFLICT and nothing is recorded).
 * A xorb uploaded but not yet named by a shard is protected by gc's grace window, which a repeated
 * upload of the same xorb restarts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "weft/chunker.h"
#include "weft/sha256.h"

#define CAS_FOOTER_CACHE 16
#define CAS_DEDUP_KEY_MOD 1024 /* specs/xet-storage.md §1.6: key chunks, hash ≡ 0 mod 1024 */
#define CAS_DEDUP_FILES 8      /* files whose xorbs a dedup answer draws neighbours from */

/* ---- a small footer cache (one call's worth) ------------------------------------------------ */

typedef struct footer_cache {
    struct {
        weft_hash xorb;
        weft_xorb_footer *f;
    } e[CAS_FOOTER_CACHE];
    unsigned next;
    int verify;
} footer_cache;

static int cache_get(weft_store *s, footer_cache *c, const weft_hash *xorb,
                     const weft_xorb_footer **out)
{
    for (unsigned i = 0; i < CAS_FOOTER_CACHE; i++) {
        if (c->e[i].f != NULL && weft_hash_eq(&c->e[i].xorb, xorb)) {
            *out = c->e[i].f;
            return 0;
        }
    }
    weft_xorb_footer *f = NULL;
    int coded = 0;
    int rc = weft_store__load_footer_obj(s, xorb, c->verify, &f, NULL, NULL, &coded);
    if (rc < 0)
        return rc;
    /* Xet clients see a re-coded xorb as scheme-0 chunks (weft_store_xorb_read serves that). */
    if (coded)
        weft_store__served_view(f);
    unsigned k = c->next++ % CAS_FOOTER_CACHE;
    weft_xorb_footer_free(c->e[k].f);
    c->e[k].xorb = *xorb;
    c->e[k].f = f;
    *out = f;
    return 0;
}

static void cache_dispose(footer_cache *c)
{
    for (unsigned i = 0; i < CAS_FOOTER_CACHE; i++)
        weft_xorb_footer_free(c->e[i].f);
}

/* ---- xorbs in ------------------------------------------------------------------------------- */

int weft_store_xorb_put(weft_store *s, const weft_hash *hash, const void *p, size_t len,
                        weft_store_xorb_put_result *out)
{
    char name[WEFT_HASH_HEX_LEN + 1];
    weft_xorb_footer *f = NULL;
    weft_buf footer;
    int known = 0, in_tx = 0;
    uint64_t size = 0;
    weft_buf_init(&footer, WEFT_XORB_FOOTER_MAX_LEN);
    weft_xet_hash_to_hex(name, hash);
    int rc = 0;
    if (len > (size_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN) {
        rc = weft_err_set(WEFT_ELIMIT, "xorb %s: %zu bytes, over the 64 MiB limit", name, len);
        goto out;
    }
    rc = weft_xorb_parse_client(&f, p, len, hash);
    if (rc < 0) {
        rc = weft_err_wrap(rc, "xorb %s", name);
        goto out;
    }
    rc = weft_xorb_footer_serialize(&footer, f);
    if (rc < 0)
        goto out;
    /* What the client sent, up to the end of its chunks, then the footer rebuilt here. */
    uint64_t data_len = f->phys_off[f->n_chunks];
    weft_backend_part parts[2] = {{.p = p, .len = (size_t)data_len},
                                  {.p = footer.data, .len = footer.len}};
    uint64_t total = data_len + footer.len;
    rc = weft_store__xorb_known(s, hash, &known);
    if (rc < 0)
        goto out;
    /* An object the index names is never replaced: a reader may be using its footer's offsets,
     * and another upload of the same xorb may have compressed its chunks differently. */
    if (!known) {
        rc = s->backend->put(s->backend, name, parts, 2);
        if (rc < 0)
            goto out;
    }
    rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    in_tx = 1;
    /* A re-coded xorb lives under its own object name (codec.c). */
    char obj[WEFT_STORE_OBJ_MAX];
    int coded = 0;
    rc = weft_store__xorb_object(s, hash, obj, &coded);
    if (rc == 0)
        rc = s->backend->size(s->backend, obj, &size);
    if (rc == WEFT_ENOTFOUND) {
        /* gc's orphan sweep removed it since the put, or the index named a lost object: the
         * client's bytes take its place under the plain name. */
        rc = s->backend->put(s->backend, name, parts, 2);
        size = total;
        if (rc == 0 && coded)
            rc = weft_store__exec_hash(s, "UPDATE xorbs SET object = NULL WHERE hash = ?1", hash);
        if (rc == 0 && coded)
            rc = weft_store__exec_hash(s, "DELETE FROM xorb_codecs WHERE xorb = ?1", hash);
    }
    if (rc < 0)
        goto out;
    int indexed = 0;
    rc = weft_store__xorb_known(s, hash, &indexed);
    if (rc < 0)
        goto out;
    if (!indexed) {
        rc = weft_store__xorb_insert(s, f, size, 0);
    } else {
        /* Restart the grace window: a shard naming this xorb is about to follow. */
        sqlite3_stmt *st = NULL;
        rc = weft_store__prepare(
            s, &st, "UPDATE xorbs SET created = ?2, stored_bytes = ?3 WHERE hash = ?1");
        if (rc == 0) {
            sqlite3_bind_blob(st, 1, hash->b, WEFT_HASH_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
            sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = weft_store__db_error(s, "touch xorb");
        }
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = weft_store__commit(s);
    if (rc == 0)
        in_tx = 0;
    if (rc == 0 && out != NULL) {
        out->was_inserted = !known;
        out->n_chunks = f->n_chunks;
        out->raw_bytes = f->raw_off[f->n_chunks];
        out->stored_bytes = size;
    }
out:
    if (in_tx)
        weft_store__rollback(s);
    weft_xorb_footer_free(f);
    weft_buf_dispose(&footer);
    return rc;
}

/* ---- files from shards ------------------------------------------------------------------------
 */

/* A file that passed every check, waiting for the transaction. */
typedef struct pending_file {
    const weft_shard_file *sf;
    weft_store_term *terms;
    size_t n_terms;
    uint64_t size;
} pending_file;

static int sha_cb(const uint8_t *p, size_t n, void *payload)
{
    weft_sha256_update(payload, p, n);
    return 0;
}

/* Checks one file entry against the stored xorbs; on success *pf owns its terms. */
static int shard_check_file(weft_store *s, footer_cache *fc, const weft_shard_file *sf,
                            pending_file *pf)
{
    char file_hex[WEFT_HASH_HEX_LEN + 1], xorb_hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_node *nodes = NULL;
    size_t n_nodes = 0, cap_nodes = 0;
    weft_store_term *terms = NULL;
    uint64_t size = 0;
    weft_sha256 sha = {0};
    int rc = 0;
    weft_xet_hash_to_hex(file_hex, &sf->hash);
    memset(pf, 0, sizeof *pf);
    if (!sf->has_sha256) {
        rc = weft_err_set(WEFT_EINVALID,
                          "file %s has no SHA-256 metadata extension (a Git LFS pointer needs it)",
                          file_hex);
        goto out;
    }
    terms = calloc(sf->n_terms ? sf->n_terms : 1, sizeof *terms);
    if (terms == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory checking file %s", file_hex);
        goto out;
    }
    for (uint32_t i = 0; i < sf->n_terms; i++) {
        const weft_shard_term *t = &sf->terms[i];
        const weft_xorb_footer *f = NULL;
        int known = 0;
        weft_xet_hash_to_hex(xorb_hex, &t->xorb_hash);
        rc = weft_store__xorb_known(s, &t->xorb_hash, &known);
        if (rc < 0)
            goto out;
        if (!known) {
            rc = weft_err_set(WEFT_EINVALID,
                              "file %s term %u: xorb %s is not stored (upload it "
                              "before the shard)",
                              file_hex, i, xorb_hex);
            goto out;
        }
        rc = cache_get(s, fc, &t->xorb_hash, &f);
        if (rc < 0)
            goto out;
        if (t->chunk_start >= t->chunk_end || t->chunk_end > f->n_chunks) {
            rc = weft_err_set(WEFT_EINVALID,
                              "file %s term %u: chunks [%u, %u) are outside xorb %s (%u chunks)",
                              file_hex, i, t->chunk_start, t->chunk_end, xorb_hex, f->n_chunks);
            goto out;
        }
        uint32_t raw = f->raw_off[t->chunk_end] - f->raw_off[t->chunk_start];
        if (raw != t->raw_len) {
            rc = weft_err_set(WEFT_EINVALID,
                              "file %s term %u: says %u bytes but chunks [%u, %u) of xorb %s hold "
                              "%u",
                              file_hex, i, t->raw_len, t->chunk_start, t->chunk_end, xorb_hex, raw);
            goto out;
        }
        uint32_t n = t->chunk_end - t->chunk_start;
        weft_hash vh;
        weft_xet_verification_hash(&vh, &f->chunk_hashes[t->chunk_start], n);
        if (!weft_hash_eq(&vh, &sf->verification[i])) {
            rc = weft_err_set(WEFT_EINVALID,
                              "file %s term %u: verification hash does not match chunks [%u, %u) "
                              "of xorb %s",
                              file_hex, i, t->chunk_start, t->chunk_end, xorb_hex);
            goto out;
        }
        if (n_nodes + n > cap_nodes) {
            size_t want = cap_nodes ? cap_nodes : 1024;
            while (want < n_nodes + n)
                want *= 2;
            weft_xet_node *more = realloc(nodes, want * sizeof *nodes);
            if (more == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "out of memory checking file %s", file_hex);
                goto out;
            }
            nodes = more;
            cap_nodes = want;
        }
        for (uint32_t k = t->chunk_start; k < t->chunk_end; k++) {
            nodes[n_nodes].hash = f->chunk_hashes[k];
            nodes[n_nodes].size = f->raw_off[k + 1] - f->raw_off[k];
            n_nodes++;
        }
        terms[i] = (weft_store_term){
            .xorb = t->xorb_hash, .start = t->chunk_start, .end = t->chunk_end, .raw = raw};
        size += raw;
    }
    weft_hash fh;
    rc = weft_xet_file_hash(&fh, nodes, n_nodes);
    if (rc < 0)
        goto out;
    if (!weft_hash_eq(&fh, &sf->hash)) {
        char got[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(got, &fh);
        rc = weft_err_set(WEFT_EINVALID, "file %s: its terms' chunks hash to file hash %s",
                          file_hex, got);
        goto out;
    }
    /* The bytes were verified chunk by chunk when their xorbs came in; a damaged chunk now would
     * show as a SHA-256 mismatch, so the read needs no second hashing. */
    uint8_t digest[32];
    rc = weft_sha256_init(&sha);
    if (rc == 0)
        rc = weft_store__read_terms(s, terms, sf->n_terms, WEFT_STORE_READ_NO_VERIFY, sha_cb, &sha);
    if (rc < 0)
        goto out;
    weft_sha256_final(&sha, digest);
    if (memcmp(digest, sf->sha256, 32) != 0) {
        char want[65], got[65];
        weft_hex_encode(want, sf->sha256, 32);
        weft_hex_encode(got, digest, 32);
        rc = weft_err_set(WEFT_EINVALID,
                          "file %s: its SHA-256 metadata says %s but its bytes hash "
                          "to %s",
                          file_hex, want, got);
        goto out;
    }
    pf->sf = sf;
    pf->terms = terms;
    pf->n_terms = sf->n_terms;
    pf->size = size;
    terms = NULL;
out:
    weft_sha256_dispose(&sha);
    free(nodes);
    free(terms);
    return rc;
}

/* Records the checked files (inside the transaction). */
static int shard_commit_files(weft_store *s, pending_file *pf, size_t n,
                              weft_store_shard_result *res)
{
    sqlite3_stmt *file_st = NULL, *term_st = NULL;
    int64_t now = (int64_t)time(NULL);
    int rc = weft_store__prepare(s, &file_st,
                                 "INSERT OR IGNORE INTO files(xet_hash, sha256, size, created) "
                                 "VALUES(?1, ?2, ?3, ?4)");
    if (rc == 0)
        rc = weft_store__prepare(s, &term_st,
                                 "INSERT INTO terms(file, seq, xorb, chunk_start, chunk_end, "
                                 "raw_bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const weft_shard_file *sf = pf[i].sf;
        /* gc may have removed a dead xorb since the checks: then nothing is recorded. */
        for (size_t k = 0; rc == 0 && k < pf[i].n_terms; k++) {
            int known = 0;
            if (k > 0 && weft_hash_eq(&pf[i].terms[k].xorb, &pf[i].terms[k - 1].xorb))
                continue;
            rc = weft_store__xorb_known(s, &pf[i].terms[k].xorb, &known);
            if (rc == 0 && !known) {
                char x[WEFT_HASH_HEX_LEN + 1];
                weft_xet_hash_to_hex(x, &pf[i].terms[k].xorb);
                rc = weft_err_set(WEFT_ECONFLICT,
                                  "xorb %s was garbage-collected during the upload; upload it "
                                  "and the shard again",
                                  x);
            }
        }
        if (rc < 0)
            break;
        sqlite3_bind_blob(file_st, 1, sf->hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(file_st, 2, sf->sha256, 32, SQLITE_STATIC);
        sqlite3_bind_int64(file_st, 3, (sqlite3_int64)pf[i].size);
        sqlite3_bind_int64(file_st, 4, now);
        if (sqlite3_step(file_st) != SQLITE_DONE) {
            rc = weft_store__db_error(s, "insert file");
            break;
        }
        sqlite3_reset(file_st);
        /* 0 changes: this shard listed it twice, or the same bytes are stored under another Xet
         * hash (same SHA-256): the stored file stays. */
        if (sqlite3_changes(s->db) == 0)
            continue;
        res->new_files++;
        res->new_bytes += pf[i].size;
        for (size_t k = 0; k < pf[i].n_terms; k++) {
            const weft_store_term *t = &pf[i].terms[k];
            sqlite3_bind_blob(term_st, 1, sf->hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(term_st, 2, (sqlite3_int64)k);
            sqlite3_bind_blob(term_st, 3, t->xorb.b, WEFT_HASH_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(term_st, 4, t->start);
            sqlite3_bind_int64(term_st, 5, t->end);
            sqlite3_bind_int64(term_st, 6, (sqlite3_int64)t->raw);
            if (sqlite3_step(term_st) != SQLITE_DONE) {
                rc = weft_store__db_error(s, "insert term");
                break;
            }
            sqlite3_reset(term_st);
        }
    }
    sqlite3_finalize(file_st);
    sqlite3_finalize(term_st);
    return rc;
}

int weft_store_shard_register(weft_store *s, const weft_shard *shard, weft_store_shard_result *out)
{
    footer_cache fc = {.verify = 1};
    pending_file *pf = NULL;
    size_t n_pf = 0;
    weft_store_shard_result res = {.n_files = shard->n_files};
    int in_tx = 0;
    int rc = weft_shard_check_upload(shard);
    if (rc < 0)
        goto out;
    pf = calloc(shard->n_files ? shard->n_files : 1, sizeof *pf);
    if (pf == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory registering a shard");
        goto out;
    }
    /* Every check (and every read) before the write lock is taken. */
    for (uint32_t i = 0; i < shard->n_files; i++) {
        weft_store_file have;
        rc = weft_store_stat(s, &shard->files[i].hash, &have);
        if (rc == 0)
            continue;
        if (rc != WEFT_ENOTFOUND)
            goto out;
        rc = shard_check_file(s, &fc, &shard->files[i], &pf[n_pf]);
        if (rc < 0)
            goto out;
        n_pf++;
    }
    rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    in_tx = 1;
    rc = shard_commit_files(s, pf, n_pf, &res);
    if (rc == 0)
        rc = weft_store__commit(s);
    if (rc == 0)
        in_tx = 0;
    if (rc == 0 && out != NULL)
        *out = res;
out:
    if (in_tx)
        weft_store__rollback(s);
    for (size_t i = 0; i < n_pf; i++)
        free(pf[i].terms);
    free(pf);
    cache_dispose(&fc);
    return rc;
}

/* ---- reconstructions ---------------------------------------------------------------------- */

void weft_store_recon_free(weft_store_recon *r)
{
    if (r == NULL)
        return;
    free(r->terms);
    free(r->fetches);
    free(r);
}

static int fetch_cmp(const void *a, const void *b)
{
    const weft_store_recon_fetch *x = a, *y = b;
    int c = memcmp(x->xorb.b, y->xorb.b, WEFT_HASH_LEN);
    if (c != 0)
        return c;
    return x->chunk_start < y->chunk_start ? -1 : x->chunk_start > y->chunk_start;
}

/* Sorts the fetches and merges those of one xorb that overlap or touch. */
static void recon_merge_fetches(weft_store_recon *r)
{
    if (r->n_fetches == 0)
        return;
    qsort(r->fetches, r->n_fetches, sizeof *r->fetches, fetch_cmp);
    size_t w = 0;
    for (size_t i = 1; i < r->n_fetches; i++) {
        weft_store_recon_fetch *cur = &r->fetches[w];
        const weft_store_recon_fetch *nx = &r->fetches[i];
        if (weft_hash_eq(&cur->xorb, &nx->xorb) && nx->chunk_start <= cur->chunk_end) {
            if (nx->chunk_end > cur->chunk_end) {
                cur->chunk_end = nx->chunk_end;
                cur->byte_end = nx->byte_end;
            }
            continue;
        }
        r->fetches[++w] = *nx;
    }
    r->n_fetches = w + 1;
}

int weft_store_recon_get(weft_store *s, const weft_hash *file, uint64_t offset, uint64_t len,
                         weft_store_recon **out)
{
    weft_store_term *terms = NULL;
    size_t n_terms = 0;
    footer_cache fc = {.verify = 0};
    weft_store_recon *r = calloc(1, sizeof *r);
    uint64_t total = 0;
    int rc = r ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc < 0)
        goto out;
    /* The file row and its terms from one snapshot. */
    rc = weft_store__exec(s, "BEGIN");
    if (rc < 0)
        goto out;
    rc = weft_store_stat(s, file, &r->file);
    if (rc == 0)
        rc = weft_store__terms_load(s, file, &terms, &n_terms);
    weft_store__rollback(s);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n_terms; i++)
        total += terms[i].raw; /* each bounded by terms_load */
    if (total != r->file.size) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "store index: the file's terms hold %llu bytes but it has %llu; run "
                          "weft store fsck",
                          (unsigned long long)total, (unsigned long long)r->file.size);
        goto out;
    }
    if (offset > total) {
        rc = weft_err_set(WEFT_EINVALID,
                          "range starts at byte %llu, past the end of the file (%llu bytes)",
                          (unsigned long long)offset, (unsigned long long)total);
        goto out;
    }
    if (len > total - offset)
        len = total - offset;
    r->offset = offset;
    r->len = len;
    r->terms = calloc(n_terms ? n_terms : 1, sizeof *r->terms);
    r->fetches = calloc(n_terms ? n_terms : 1, sizeof *r->fetches);
    if (r->terms == NULL || r->fetches == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    uint64_t at = 0, stop = offset + len;
    for (size_t i = 0; i < n_terms && len > 0 && at < stop; i++) {
        const weft_store_term *t = &terms[i];
        uint64_t t_end = at + t->raw;
        if (t_end <= offset) {
            at = t_end;
            continue;
        }
        const weft_xorb_footer *f = NULL;
        rc = cache_get(s, &fc, &t->xorb, &f);
        if (rc < 0)
            goto out;
        if (t->end > f->n_chunks || f->raw_off[t->end] - f->raw_off[t->start] != t->raw) {
            char x[WEFT_HASH_HEX_LEN + 1];
            weft_xet_hash_to_hex(x, &t->xorb);
            rc = weft_err_set(WEFT_ECORRUPT,
                              "xorb %s is damaged: its footer disagrees with the index (term "
                              "[%u, %u), %u chunks)",
                              x, t->start, t->end, f->n_chunks);
            goto out;
        }
        uint32_t cs = t->start, ce = t->end;
        if (offset > at) {
            /* The first term starts at the chunk holding `offset`. */
            uint64_t pos = f->raw_off[t->start] + (offset - at);
            cs = weft_xorb_footer_chunk_at(f, pos);
            r->offset_into_first_range = pos - f->raw_off[cs];
        }
        if (stop < t_end) {
            /* The last ends after the chunk holding byte stop - 1. */
            uint64_t pos = f->raw_off[t->start] + (stop - 1 - at);
            ce = weft_xorb_footer_chunk_at(f, pos) + 1;
        }
        weft_store_recon_term *rt = &r->terms[r->n_terms++];
        rt->xorb = t->xorb;
        rt->chunk_start = cs;
        rt->chunk_end = ce;
        rt->raw_len = f->raw_off[ce] - f->raw_off[cs];
        weft_store_recon_fetch *fe = &r->fetches[r->n_fetches++];
        fe->xorb = t->xorb;
        fe->chunk_start = cs;
        fe->chunk_end = ce;
        fe->byte_start = f->phys_off[cs];
        fe->byte_end = f->phys_off[ce];
        at = t_end;
    }
    recon_merge_fetches(r);
out:
    free(terms);
    cache_dispose(&fc);
    if (rc < 0) {
        weft_store_recon_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- raw xorb ranges ------------------------------------------------------------------------ */

/* The chunk whose stored bytes hold physical byte pos (< phys_off[n_chunks]). */
static uint32_t phys_chunk_at(const weft_xorb_footer *f, uint64_t pos)
{
    uint32_t lo = 0, hi = f->n_chunks;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->phys_off[mid] <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Serves [offset, offset + len) of a re-coded xorb's served view (every chunk as Xet scheme 0;
 * sf holds the served offsets, f the stored ones): the chunks are read from the stored object,
 * decoded (weight frames through their bases) and checked, then framed as scheme 0. */
static int xorb_read_served(weft_store *s, const char *name, const weft_xorb_footer *f,
                            const weft_xorb_footer *sf, uint64_t offset, uint8_t *dst, size_t len)
{
    weft_store__codec *codec = NULL;
    uint32_t first = phys_chunk_at(sf, offset), last = phys_chunk_at(sf, offset + len - 1);
    uint64_t from = f->phys_off[first], to = f->phys_off[last + 1];
    uint8_t *span = malloc((size_t)(to - from));
    uint8_t *scratch = malloc(WEFT_XET_CHUNK_MAX);
    int rc = span && scratch ? s->backend->get(s->backend, name, from, span, (size_t)(to - from))
                             : weft_err_set(WEFT_ENOMEM, "out of memory reading xorb %s", name);
    for (uint32_t k = first; rc == 0 && k <= last; k++) {
        const uint8_t *raw = NULL;
        rc = weft_store__chunk_decode(s, &codec, 1, f, k, span + (f->phys_off[k] - from), scratch,
                                      1, &raw);
        if (rc < 0) {
            rc = weft_err_wrap(WEFT_ECORRUPT, "xorb %s is damaged", name);
            break;
        }
        uint32_t raw_len = f->raw_off[k + 1] - f->raw_off[k];
        uint8_t hd[WEFT_XORB_CHUNK_HEADER_LEN];
        weft_xorb_chunk_header h = {.version = 0,
                                    .scheme = WEFT_XET_SCHEME_NONE,
                                    .compressed_len = raw_len,
                                    .raw_len = raw_len};
        weft_xorb_chunk_header_write(hd, &h);
        /* Copy the part of [header | raw] that falls inside the wanted range. */
        for (int part = 0; part < 2; part++) {
            uint64_t at = sf->phys_off[k] + (part ? WEFT_XORB_CHUNK_HEADER_LEN : 0);
            const uint8_t *p = part ? raw : hd;
            uint64_t n = part ? raw_len : WEFT_XORB_CHUNK_HEADER_LEN;
            uint64_t lo = at > offset ? at : offset,
                     hi = at + n < offset + len ? at + n : offset + len;
            if (lo < hi)
                memcpy(dst + (lo - offset), p + (lo - at), (size_t)(hi - lo));
        }
    }
    free(span);
    free(scratch);
    weft_store__codec_free(codec);
    return rc;
}

int weft_store_xorb_read(weft_store *s, const weft_hash *xorb, uint64_t offset, void *dst,
                         size_t len, int flags)
{
    char name[WEFT_STORE_OBJ_MAX];
    weft_xorb_footer *f = NULL;
    uint8_t *span = NULL, *scratch = NULL;
    int verify = !(flags & WEFT_STORE_READ_NO_VERIFY), coded = 0;
    int rc = weft_store__load_footer_obj(s, xorb, verify, &f, NULL, name, &coded);
    if (rc < 0)
        goto out;
    if (coded) {
        /* What clients see: the served view's offsets. */
        uint64_t served =
            f->raw_off[f->n_chunks] + (uint64_t)WEFT_XORB_CHUNK_HEADER_LEN * f->n_chunks;
        if (offset > served || len > served - offset) {
            rc = weft_err_set(WEFT_EINVALID,
                              "xorb %s: bytes [%llu, %llu) are outside its %llu chunk bytes", name,
                              (unsigned long long)offset, (unsigned long long)(offset + len),
                              (unsigned long long)served);
            goto out;
        }
        if (len == 0)
            goto out;
        weft_xorb_footer view = *f;
        view.phys_off = malloc(((size_t)f->n_chunks + 1) * sizeof *view.phys_off);
        if (view.phys_off == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
        weft_store__served_view(&view);
        rc = xorb_read_served(s, name, f, &view, offset, dst, len);
        free(view.phys_off);
        goto out;
    }
    uint64_t chunk_bytes = f->phys_off[f->n_chunks];
    if (offset > chunk_bytes || len > chunk_bytes - offset) {
        rc = weft_err_set(WEFT_EINVALID,
                          "xorb %s: bytes [%llu, %llu) are outside its %llu chunk bytes", name,
                          (unsigned long long)offset, (unsigned long long)(offset + len),
                          (unsigned long long)chunk_bytes);
        goto out;
    }
    if (len == 0)
        goto out;
    if (!verify) {
        rc = s->backend->get(s->backend, name, offset, dst, len);
        goto out;
    }
    /* Whole chunks are read so each can be checked; straight into dst when the range is exactly
     * whole chunks (what reconstruction fetches ask for). */
    uint32_t first = phys_chunk_at(f, offset), last = phys_chunk_at(f, offset + len - 1);
    uint64_t from = f->phys_off[first], to = f->phys_off[last + 1];
    int direct = from == offset && to == offset + len;
    span = direct ? dst : malloc((size_t)(to - from));
    scratch = malloc(WEFT_XET_CHUNK_MAX);
    if (span == NULL || scratch == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory reading xorb %s", name);
        goto out;
    }
    rc = s->backend->get(s->backend, name, from, span, (size_t)(to - from));
    for (uint32_t k = first; rc == 0 && k <= last; k++) {
        const uint8_t *raw = NULL;
        rc = weft_store__chunk_check(f, k, span + (f->phys_off[k] - from), scratch, 1, &raw);
        if (rc < 0)
            rc = weft_err_wrap(WEFT_ECORRUPT, "xorb %s is damaged", name);
    }
    if (rc == 0 && !direct)
        memcpy(dst, span + (offset - from), len);
out:
    if (span != dst)
        free(span);
    free(scratch);
    weft_xorb_footer_free(f);
    return rc;
}

/* ---- global dedup --------------------------------------------------------------------------- */

/* Adds xorb x's chunk listing to the answer. */
static int dedup_add_xorb(weft_store *s, weft_shard *sh, const weft_hash *x)
{
    weft_xorb_footer *f = NULL;
    weft_shard_chunk *chunks = NULL;
    int coded = 0;
    int rc = weft_store__load_footer_obj(s, x, 1, &f, NULL, NULL, &coded);
    if (rc < 0)
        goto out;
    if (coded)
        weft_store__served_view(f);
    chunks = malloc((size_t)f->n_chunks * sizeof *chunks);
    if (chunks == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        chunks[i].hash = f->chunk_hashes[i];
        chunks[i].raw_off = f->raw_off[i];
        chunks[i].raw_len = f->raw_off[i + 1] - f->raw_off[i];
        chunks[i].flags = weft_xet_hash_tail_u64(&f->chunk_hashes[i]) % CAS_DEDUP_KEY_MOD == 0
                              ? WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP
                              : 0;
    }
    rc = weft_shard_add_xorb(sh, &f->hash, chunks, f->n_chunks, f->phys_off[f->n_chunks]);
out:
    free(chunks);
    weft_xorb_footer_free(f);
    return rc;
}

int weft_store_dedup_query(weft_store *s, const weft_hash *chunk, const uint8_t key[32],
                           uint64_t key_expiry, weft_buf *out)
{
    sqlite3_stmt *st = NULL;
    weft_shard *sh = NULL;
    weft_hash holder;
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, chunk);
    int rc = weft_store__prepare(s, &st, "SELECT xorb, idx FROM chunks WHERE hash = ?1");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, chunk->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = weft_err_set(WEFT_ENOTFOUND, "chunk %s is not in the store", hex);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = weft_store__db_error(s, "find chunk");
        goto out;
    }
    rc = weft_store__hash_col(&holder, st, 0);
    sqlite3_int64 idx = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (rc < 0)
        goto out;
    int key_chunk = weft_xet_hash_tail_u64(chunk) % CAS_DEDUP_KEY_MOD == 0;
    if (!key_chunk) {
        /* The first chunk of a stored file, where its first term starts. */
        rc = weft_store__prepare(s, &st,
                                 "SELECT 1 FROM terms WHERE xorb = ?1 AND chunk_start = ?2 AND "
                                 "seq = 0 LIMIT 1");
        if (rc < 0)
            goto out;
        sqlite3_bind_blob(st, 1, holder.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, idx);
        step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = weft_store__db_error(s, "find first chunk");
            goto out;
        }
        key_chunk = step == SQLITE_ROW;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!key_chunk) {
        rc = weft_err_set(WEFT_ENOTFOUND, "chunk %s is not a global-dedup key chunk", hex);
        goto out;
    }
    rc = weft_shard_new(&sh);
    if (rc == 0)
        rc = dedup_add_xorb(s, sh, &holder);
    if (rc < 0)
        goto out;
    /* Neighbours: the other xorbs of files that use this one, roughly in file order. */
    rc = weft_store__prepare(s, &st,
                             "SELECT xorb FROM terms WHERE file IN (SELECT DISTINCT file FROM "
                             "terms WHERE xorb = ?1 LIMIT ?2) GROUP BY xorb ORDER BY min(seq) "
                             "LIMIT ?3");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, holder.b, WEFT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, CAS_DEDUP_FILES);
    sqlite3_bind_int(st, 3, WEFT_STORE_DEDUP_MAX_XORBS);
    while (sh->n_xorbs < WEFT_STORE_DEDUP_MAX_XORBS && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_hash x;
        if (weft_store__hash_col(&x, st, 0) < 0 || weft_hash_eq(&x, &holder))
            continue;
        /* A damaged or vanished neighbour only costs a missed dedup. */
        int added = dedup_add_xorb(s, sh, &x);
        if (added == WEFT_ENOMEM) {
            rc = added;
            goto out;
        }
    }
    weft_shard_apply_hmac(sh, key);
    sh->footer.created = (uint64_t)time(NULL);
    sh->footer.key_expiry = key_expiry;
    rc = weft_shard_serialize(out, sh, 1);
out:
    sqlite3_finalize(st);
    weft_shard_free(sh);
    return rc;
}
