/* Ingest: byte stream -> chunks -> dedup -> xorbs -> file record (include/weft/store.h).
 *
 * Every chunk is looked up in the index; chunks the store lacks go into the current xorb
 * builder (and a small table, so a chunk repeated before its xorb is flushed is stored once).
 * A full xorb is written durably to the backend, then its rows are committed. The file's row
 * and terms are committed last, in one transaction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha_worker.h"
#include "store_internal.h"
#include "weft/chunker.h"
#include "weft/sha256.h"

#define INGEST_READ_BLOCK (1u << 20)
#define PENDING_SLOTS 16384 /* > 2 x WEFT_XORB_MAX_CHUNKS, power of two */

/* Where one chunk of the file lives: xorb slot (index into `xorbs`) and chunk index. */
typedef struct ingest_ref {
    uint32_t xorb_slot;
    uint32_t idx;
    uint32_t size;
} ingest_ref;

struct weft_store_ingest {
    weft_store *s;
    weft_chunker *chunker;
    weft_xorb_builder *builder;
    sha_worker *sha;
    sqlite3_stmt *find_chunk;
    weft_hash *xorbs; /* slots; the last is the pending xorb's until it is flushed */
    size_t n_xorbs, xorbs_alloc;
    uint32_t pending_slot;
    ingest_ref *refs;
    weft_xet_node *nodes; /* every chunk of the file, for the file hash */
    size_t n_refs, refs_alloc;
    /* open addressing: chunk hash -> index in the pending builder (+1; 0 = empty) */
    uint32_t pending_idx[PENDING_SLOTS];
    weft_hash pending_hash[PENDING_SLOTS];
    size_t pending_raw;
    weft_store_put_result result;
};

static int ingest_new_slot(weft_store_ingest *in, const weft_hash *h, uint32_t *slot)
{
    if (in->n_xorbs > 0 && h != NULL && in->n_xorbs - 1 != in->pending_slot &&
        weft_hash_eq(&in->xorbs[in->n_xorbs - 1], h)) {
        *slot = (uint32_t)(in->n_xorbs - 1);
        return 0;
    }
    if (in->n_xorbs == in->xorbs_alloc) {
        size_t n = in->xorbs_alloc ? in->xorbs_alloc * 2 : 64;
        weft_hash *p = realloc(in->xorbs, n * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
        in->xorbs = p;
        in->xorbs_alloc = n;
    }
    if (h != NULL)
        in->xorbs[in->n_xorbs] = *h;
    else
        memset(&in->xorbs[in->n_xorbs], 0, sizeof *h);
    *slot = (uint32_t)in->n_xorbs++;
    return 0;
}

static int ingest_add_ref(weft_store_ingest *in, uint32_t slot, uint32_t idx, const weft_hash *h,
                          size_t size)
{
    if (in->n_refs == in->refs_alloc) {
        size_t n = in->refs_alloc ? in->refs_alloc * 2 : 1024;
        ingest_ref *r = realloc(in->refs, n * sizeof *r);
        if (r != NULL)
            in->refs = r;
        weft_xet_node *d = r ? realloc(in->nodes, n * sizeof *d) : NULL;
        if (d == NULL)
            return weft_err_set(WEFT_ENOMEM, "ingest: out of memory after %zu chunks", in->n_refs);
        in->nodes = d;
        in->refs_alloc = n;
    }
    in->refs[in->n_refs] = (ingest_ref){.xorb_slot = slot, .idx = idx, .size = (uint32_t)size};
    in->nodes[in->n_refs].hash = *h;
    in->nodes[in->n_refs].size = size;
    in->n_refs++;
    return 0;
}

/* Writes the pending xorb durably, then commits its rows. */
static int ingest_flush_xorb(weft_store_ingest *in)
{
    weft_store *s = in->s;
    if (weft_xorb_builder_n_chunks(in->builder) == 0)
        return 0;
    weft_xorb_built built;
    sqlite3_stmt *st = NULL;
    char name[WEFT_HASH_HEX_LEN + 1];
    int rc = weft_xorb_builder_finish(in->builder, &built);
    if (rc < 0)
        return rc;
    weft_xet_hash_to_hex(name, &built.hash);
    rc = s->backend->put(s->backend, name, built.bytes, built.len);
    if (rc < 0)
        return rc;
    /* The object is durable: now the index may name it. */
    rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = weft_store__prepare(s, &st, "INSERT OR IGNORE INTO xorbs(hash, n_chunks, raw_bytes, "
                                     "stored_bytes, created) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (rc == 0) {
        sqlite3_bind_blob(st, 1, built.hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, built.footer->n_chunks);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)built.raw_len);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)built.len);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "insert xorb");
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "INSERT OR IGNORE INTO chunks(hash, xorb, idx, size) "
                                         "VALUES(?1, ?2, ?3, ?4)");
    for (uint32_t i = 0; rc == 0 && i < built.footer->n_chunks; i++) {
        sqlite3_bind_blob(st, 1, built.footer->chunk_hashes[i].b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, built.hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, i);
        sqlite3_bind_int64(st, 4, built.footer->raw_off[i + 1] - built.footer->raw_off[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "insert chunk");
        sqlite3_reset(st);
    }
    if (st != NULL)
        sqlite3_finalize(st);
    if (rc == 0)
        rc = weft_store__exec(s, "COMMIT");
    if (rc < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    in->xorbs[in->pending_slot] = built.hash;
    in->result.stored_bytes += built.len;
    in->result.new_xorbs++;
    weft_xorb_builder_reset(in->builder);
    memset(in->pending_idx, 0, sizeof in->pending_idx);
    in->pending_raw = 0;
    return ingest_new_slot(in, NULL, &in->pending_slot);
}

static size_t pending_probe(const weft_store_ingest *in, const weft_hash *h)
{
    size_t i = (size_t)weft_xet_hash_tail_u64(h) & (PENDING_SLOTS - 1);
    while (in->pending_idx[i] != 0 && !weft_hash_eq(&in->pending_hash[i], h))
        i = (i + 1) & (PENDING_SLOTS - 1);
    return i;
}

static int ingest_chunk(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    weft_store_ingest *in = payload;
    /* Already in the pending xorb? */
    size_t slot = pending_probe(in, hash);
    if (in->pending_idx[slot] != 0) {
        in->result.dedup_bytes += len;
        in->result.dedup_chunks++;
        return ingest_add_ref(in, in->pending_slot, in->pending_idx[slot] - 1, hash, len);
    }
    /* Already in the store? */
    sqlite3_bind_blob(in->find_chunk, 1, hash->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(in->find_chunk);
    if (step == SQLITE_ROW && sqlite3_column_bytes(in->find_chunk, 0) == WEFT_HASH_LEN) {
        weft_hash xorb;
        memcpy(xorb.b, sqlite3_column_blob(in->find_chunk, 0), WEFT_HASH_LEN);
        uint32_t idx = (uint32_t)sqlite3_column_int64(in->find_chunk, 1);
        sqlite3_reset(in->find_chunk);
        uint32_t xslot;
        int rc = ingest_new_slot(in, &xorb, &xslot);
        if (rc < 0)
            return rc;
        in->result.dedup_bytes += len;
        in->result.dedup_chunks++;
        return ingest_add_ref(in, xslot, idx, hash, len);
    }
    sqlite3_reset(in->find_chunk);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return weft_store__db_error(in->s, "chunk lookup");
    /* New: into the pending xorb, flushing it first if this chunk would not fit. */
    if (!weft_xorb_builder_can_add(in->builder, len) || in->pending_raw + len > in->s->xorb_limit) {
        int rc = ingest_flush_xorb(in);
        if (rc < 0)
            return rc;
        slot = pending_probe(in, hash);
    }
    uint32_t idx = weft_xorb_builder_n_chunks(in->builder);
    int rc = weft_xorb_builder_add(in->builder, hash, data, len);
    if (rc < 0)
        return rc;
    in->pending_idx[slot] = idx + 1;
    in->pending_hash[slot] = *hash;
    in->pending_raw += len;
    in->result.new_bytes += len;
    in->result.new_chunks++;
    return ingest_add_ref(in, in->pending_slot, idx, hash, len);
}

void weft_store_ingest_abort(weft_store_ingest *in)
{
    if (in == NULL)
        return;
    sqlite3_finalize(in->find_chunk);
    weft_chunker_free(in->chunker);
    weft_xorb_builder_free(in->builder);
    if (in->sha != NULL)
        sha_worker_finish(in->sha, NULL);
    free(in->xorbs);
    free(in->refs);
    free(in->nodes);
    free(in);
}

int weft_store_ingest_begin(weft_store *s, weft_store_ingest **out)
{
    weft_store_ingest *in = calloc(1, sizeof *in);
    if (in == NULL)
        return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
    in->s = s;
    int rc = weft_chunker_new(&in->chunker);
    if (rc == 0)
        rc = weft_xorb_builder_new(&in->builder, s->ingest_scheme);
    if (rc == 0)
        rc = sha_worker_start(&in->sha);
    if (rc == 0)
        rc = weft_store__prepare(s, &in->find_chunk, "SELECT xorb, idx FROM chunks WHERE hash = ?1");
    if (rc == 0)
        rc = ingest_new_slot(in, NULL, &in->pending_slot);
    if (rc < 0) {
        weft_store_ingest_abort(in);
        return rc;
    }
    weft_xorb_builder_file_start(in->builder);
    *out = in;
    return 0;
}

int weft_store_ingest_feed(weft_store_ingest *in, const void *p, size_t n)
{
    sha_worker_feed(in->sha, p, n);
    in->result.file.size += n;
    return weft_chunker_feed(in->chunker, p, n, ingest_chunk, in);
}

/* The file's row and its terms (maximal runs of consecutive chunks of one xorb), in one
 * transaction. An identical file already present is left as it is. */
static int ingest_commit_file(weft_store_ingest *in)
{
    weft_store *s = in->s;
    weft_store_file *f = &in->result.file;
    sqlite3_stmt *st = NULL;
    int rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = weft_store__prepare(s, &st, "INSERT OR IGNORE INTO files(xet_hash, sha256, size, "
                                     "created) VALUES(?1, ?2, ?3, ?4)");
    int inserted = 0;
    if (rc == 0) {
        sqlite3_bind_blob(st, 1, f->xet_hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, f->sha256, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)f->size);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)f->created);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "insert file");
        inserted = sqlite3_changes(s->db) > 0;
        sqlite3_finalize(st);
        st = NULL;
    }
    /* gc may have removed a xorb this upload deduplicated against; then nothing is written. */
    if (rc == 0 && inserted)
        rc = weft_store__prepare(s, &st, "SELECT 1 FROM xorbs WHERE hash = ?1");
    for (size_t i = 0; rc == 0 && inserted && i < in->n_xorbs; i++) {
        if (weft_hash_is_zero(&in->xorbs[i]))
            continue; /* the empty pending slot */
        sqlite3_bind_blob(st, 1, in->xorbs[i].b, WEFT_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            rc = weft_err_set(WEFT_ECONFLICT, "a xorb this file uses was garbage-collected "
                                              "during the upload; put the file again");
        sqlite3_reset(st);
    }
    if (st != NULL) {
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == 0 && inserted)
        rc = weft_store__prepare(s, &st, "INSERT INTO terms(file, seq, xorb, chunk_start, "
                                         "chunk_end, raw_bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    size_t seq = 0;
    for (size_t i = 0; rc == 0 && inserted && i < in->n_refs;) {
        size_t j = i + 1;
        uint64_t raw = in->refs[i].size;
        const weft_hash *x = &in->xorbs[in->refs[i].xorb_slot];
        while (j < in->n_refs && weft_hash_eq(&in->xorbs[in->refs[j].xorb_slot], x) &&
               in->refs[j].idx == in->refs[j - 1].idx + 1) {
            raw += in->refs[j].size;
            j++;
        }
        sqlite3_bind_blob(st, 1, f->xet_hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq++);
        sqlite3_bind_blob(st, 3, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, in->refs[i].idx);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)in->refs[j - 1].idx + 1);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)raw);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "insert term");
        sqlite3_reset(st);
        i = j;
    }
    if (st != NULL)
        sqlite3_finalize(st);
    if (rc == 0)
        return weft_store__exec(s, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int weft_store_ingest_finish(weft_store_ingest *in, weft_store_put_result *out)
{
    int rc = weft_chunker_finish(in->chunker, ingest_chunk, in);
    if (rc == 0)
        rc = ingest_flush_xorb(in);
    if (rc == 0) {
        sha_worker_finish(in->sha, in->result.file.sha256);
        in->sha = NULL;
        in->result.file.created = (int64_t)time(NULL);
        rc = weft_xet_file_hash(&in->result.file.xet_hash, in->nodes, in->n_refs);
    }
    if (rc == 0)
        rc = ingest_commit_file(in);
    if (rc == 0 && out != NULL)
        *out = in->result;
    weft_store_ingest_abort(in);
    return rc;
}

int weft_store_put_fd(weft_store *s, int fd, weft_store_put_result *out,
                      void (*progress)(uint64_t done, void *payload), void *payload)
{
    weft_store_ingest *in = NULL;
    uint8_t *block = malloc(INGEST_READ_BLOCK);
    if (block == NULL)
        return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
    int rc = weft_store_ingest_begin(s, &in);
    uint64_t done = 0, next_report = 0;
    while (rc == 0) {
        ssize_t r = read(fd, block, INGEST_READ_BLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "read input");
            break;
        }
        if (r == 0)
            break;
        rc = weft_store_ingest_feed(in, block, (size_t)r);
        done += (uint64_t)r;
        if (progress != NULL && done >= next_report) {
            progress(done, payload);
            next_report = done + (8u << 20);
        }
    }
    free(block);
    if (rc < 0) {
        weft_store_ingest_abort(in);
        return rc;
    }
    return weft_store_ingest_finish(in, out);
}
