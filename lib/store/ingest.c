/* Ingest: byte stream -> Xet chunks -> dedup -> xorbs -> file record (include/weft/store.h).
 *
 * The input is read (or copied, for feed()) once into 8 MiB slabs (pipeline.h); for a regular
 * file a source thread does the read() calls, so the chunking thread only chunks. The chunking
 * thread chunks each slab in place and hashes every chunk while it is in cache; the SHA-256
 * thread hashes the same slab bytes; new chunks are not copied but recorded as pointers into the
 * slabs, and a xorb object is written with writev() as header, chunk, header, chunk, ..., footer
 * straight from them. So with compression off (the default) the only copies of the data are the
 * kernel's, read and write. A slab stays pinned while a xorb plan points into it; when the reader
 * is done with a slab of which the current plan uses less than half, those chunks are copied to
 * the plan's own arena so the slab can be reused (dedup-heavy input would otherwise pin one slab
 * per new chunk).
 *
 * Per chunk: the session's hash set (every chunk seen in this upload), then the index
 * (`chunks`), then new -> the current plan. A full plan goes to the writer thread, which writes
 * the object durably and then commits its xorbs and chunks rows on its own SQLite connection,
 * while the reader fills the other plan. The file's row and terms are committed last, in one
 * transaction, after every xorb it uses is durable and re-checked in that transaction (a
 * concurrent gc may have removed a xorb this upload deduplicated against; its chunks are then
 * looked up again, and if they are gone the upload fails with WEFT_ECONFLICT). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline.h"
#include "store_internal.h"
#include "weft/chunker.h"

#define PLAN_MAX WEFT_XORB_MAX_CHUNKS
#define INGEST_COMPACT_BELOW (WEFT_STORE_SLAB_LEN / 2)
#define INGEST_PROGRESS_EVERY (8u << 20)
#define SLOT_NONE UINT32_MAX

/* ---- xorb plans --------------------------------------------------------------------------- */

/* A xorb being assembled: chunk hashes, offsets and where each chunk's bytes are. With
 * compression on, a builder holds copies instead (it compresses as chunks arrive). */
typedef struct xorb_plan {
    uint32_t n;
    uint32_t slot;        /* the ingest's xorb slot this plan fills */
    weft_hash *hashes;    /* [PLAN_MAX] */
    uint32_t *phys_off;   /* [PLAN_MAX + 1], headers included */
    uint32_t *raw_off;    /* [PLAN_MAX + 1] */
    const uint8_t **data; /* [PLAN_MAX] chunk bytes: in a slab or the arena */
    uint8_t (*hdr)[WEFT_XORB_CHUNK_HEADER_LEN];
    weft_xet_node *nodes;     /* [PLAN_MAX], for the xorb hash */
    weft_backend_part *parts; /* [2 * PLAN_MAX + 1] */
    weft_buf footer;
    uint8_t *arena; /* WEFT_XORB_MAX_BYTES, allocated on first compaction */
    size_t arena_len;
    weft_store_slab *slabs[WEFT_STORE_SLAB_MAX];
    uint32_t n_slabs;
    weft_store_slab *run_slab; /* chunks [run_start, n) point into run_slab */
    uint32_t run_start;
    weft_xorb_builder *builder; /* compression on */
} xorb_plan;

static void plan_free(xorb_plan *p)
{
    if (p == NULL)
        return;
    free(p->hashes);
    free(p->phys_off);
    free(p->raw_off);
    free(p->data);
    free(p->hdr);
    free(p->nodes);
    free(p->parts);
    weft_buf_dispose(&p->footer);
    weft_store__big_free(p->arena, WEFT_XORB_MAX_BYTES);
    weft_xorb_builder_free(p->builder);
    free(p);
}

static int plan_new(xorb_plan **out, int scheme)
{
    int rc = 0;
    xorb_plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
    p->slot = SLOT_NONE;
    weft_buf_init(&p->footer, WEFT_XORB_FOOTER_MAX_LEN);
    if (scheme != WEFT_XET_SCHEME_NONE) {
        p->parts = malloc(sizeof *p->parts);
        rc = p->parts ? weft_xorb_builder_new(&p->builder, scheme)
                      : weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
        goto out;
    }
    p->hashes = malloc(PLAN_MAX * sizeof *p->hashes);
    p->phys_off = calloc(PLAN_MAX + 1, sizeof *p->phys_off);
    p->raw_off = calloc(PLAN_MAX + 1, sizeof *p->raw_off);
    p->data = malloc(PLAN_MAX * sizeof *p->data);
    p->hdr = malloc(PLAN_MAX * sizeof *p->hdr);
    p->nodes = malloc(PLAN_MAX * sizeof *p->nodes);
    p->parts = malloc((2 * PLAN_MAX + 1) * sizeof *p->parts);
    if (!p->hashes || !p->phys_off || !p->raw_off || !p->data || !p->hdr || !p->nodes || !p->parts)
        rc = weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
out:
    if (rc < 0) {
        plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static uint32_t plan_n(const xorb_plan *p)
{
    return p->builder ? weft_xorb_builder_n_chunks(p->builder) : p->n;
}

/* 1 if a chunk of len raw bytes fits: Xet's limits, and the store's raw-bytes cap. */
static int plan_fits(const xorb_plan *p, size_t len, size_t raw_cap, uint64_t builder_raw)
{
    if (p->builder)
        return weft_xorb_builder_can_add(p->builder, len) && builder_raw + len <= raw_cap;
    if (p->n >= PLAN_MAX || p->raw_off[p->n] + len > raw_cap)
        return 0;
    uint64_t total = (uint64_t)p->phys_off[p->n] + WEFT_XORB_CHUNK_HEADER_LEN + len +
                     WEFT_XORB_FOOTER_LEN(p->n + 1);
    return total <= WEFT_XORB_MAX_BYTES;
}

/* Drops the plan's slab references (its chunk bytes are no longer needed once written). */
static void plan_release_slabs(xorb_plan *p, weft_store_slab_pool *pool)
{
    for (uint32_t i = 0; i < p->n_slabs; i++)
        weft_store__slab_unref(pool, p->slabs[i]);
    p->n_slabs = 0;
    p->run_slab = NULL;
}

/* Drops the plan's slab references and empties it. */
static void plan_reset(xorb_plan *p, weft_store_slab_pool *pool)
{
    plan_release_slabs(p, pool);
    p->n = 0;
    p->run_slab = NULL;
    p->run_start = 0;
    p->arena_len = 0;
    p->slot = SLOT_NONE;
    if (p->builder)
        weft_xorb_builder_reset(p->builder);
}

/* Adds a new chunk whose bytes are data[0..len) inside `slab`. */
static int plan_add(xorb_plan *p, weft_store_slab_pool *pool, weft_store_slab *slab,
                    const uint8_t *data, size_t len, const weft_hash *hash)
{
    if (p->builder)
        return weft_xorb_builder_add(p->builder, hash, data, len);
    uint32_t i = p->n;
    if (slab != p->run_slab) {
        weft_store__slab_ref(pool, slab);
        p->slabs[p->n_slabs++] = slab;
        p->run_slab = slab;
        p->run_start = i;
    }
    p->hashes[i] = *hash;
    p->data[i] = data;
    weft_xorb_chunk_header h = {.version = 0,
                                .scheme = WEFT_XET_SCHEME_NONE,
                                .compressed_len = (uint32_t)len,
                                .raw_len = (uint32_t)len};
    weft_xorb_chunk_header_write(p->hdr[i], &h);
    p->phys_off[i + 1] = p->phys_off[i] + WEFT_XORB_CHUNK_HEADER_LEN + (uint32_t)len;
    p->raw_off[i + 1] = p->raw_off[i] + (uint32_t)len;
    p->n = i + 1;
    return 0;
}

/* The reader is done with `slab`: if this plan uses little of it, copy those chunks to the
 * plan's arena and let the slab go. */
static int plan_retire_slab(xorb_plan *p, weft_store_slab_pool *pool, weft_store_slab *slab)
{
    if (p->builder || p->run_slab != slab)
        return 0;
    p->run_slab = NULL;
    uint32_t used = p->raw_off[p->n] - p->raw_off[p->run_start];
    if (used >= INGEST_COMPACT_BELOW)
        return 0;
    if (p->arena == NULL) {
        p->arena = weft_store__big_alloc(WEFT_XORB_MAX_BYTES);
        if (p->arena == NULL)
            return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
    }
    /* The arena holds at most the plan's raw bytes, which plan_fits keeps under its size. */
    for (uint32_t i = p->run_start; i < p->n; i++) {
        uint32_t len = p->raw_off[i + 1] - p->raw_off[i];
        memcpy(p->arena + p->arena_len, p->data[i], len);
        p->data[i] = p->arena + p->arena_len;
        p->arena_len += len;
    }
    p->n_slabs--; /* slab is the last one referenced */
    weft_store__slab_unref(pool, slab);
    return 0;
}

/* Makes the object: xorb hash, footer and the parts to write. *footer_out is borrowed from the
 * plan (or its builder). */
static int plan_finish(xorb_plan *p, const weft_xorb_footer **footer_out,
                       const weft_backend_part **parts_out, size_t *n_parts_out,
                       weft_xorb_footer *scratch, size_t *len_out)
{
    int rc = 0;
    if (p->builder) {
        weft_xorb_built built;
        rc = weft_xorb_builder_finish(p->builder, &built);
        if (rc < 0)
            goto out;
        p->parts[0] = (weft_backend_part){.p = built.bytes, .len = built.len};
        *footer_out = built.footer;
        *n_parts_out = 1;
        *len_out = built.len;
        goto out;
    }
    uint32_t n = p->n;
    for (uint32_t i = 0; i < n; i++) {
        p->nodes[i].hash = p->hashes[i];
        p->nodes[i].size = p->raw_off[i + 1] - p->raw_off[i];
    }
    memset(scratch, 0, sizeof *scratch);
    scratch->n_chunks = n;
    scratch->chunk_hashes = p->hashes;
    scratch->phys_off = p->phys_off;
    scratch->raw_off = p->raw_off;
    rc = weft_xet_merkle_root(&scratch->hash, p->nodes, n);
    if (rc < 0)
        goto out;
    weft_buf_clear(&p->footer);
    rc = weft_xorb_footer_serialize(&p->footer, scratch);
    if (rc < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        p->parts[2 * i] = (weft_backend_part){.p = p->hdr[i], .len = WEFT_XORB_CHUNK_HEADER_LEN};
        p->parts[2 * i + 1] =
            (weft_backend_part){.p = p->data[i], .len = p->raw_off[i + 1] - p->raw_off[i]};
    }
    p->parts[2 * n] = (weft_backend_part){.p = p->footer.data, .len = p->footer.len};
    *footer_out = scratch;
    *n_parts_out = 2 * (size_t)n + 1;
    *len_out = p->phys_off[n] + p->footer.len;
out:
    *parts_out = p->parts;
    return rc;
}

/* Writes a plan's xorb durably, then commits its rows (runs on the writer thread, or on the
 * reader for the last xorb). */
static int plan_write(weft_store *s, xorb_plan *p, weft_hash *hash_out, size_t *len_out)
{
    const weft_xorb_footer *f = NULL;
    const weft_backend_part *parts = NULL;
    weft_xorb_footer scratch;
    size_t n_parts = 0, len = 0;
    char name[WEFT_HASH_HEX_LEN + 1];
    uint64_t size = 0;
    int rc = plan_finish(p, &f, &parts, &n_parts, &scratch, &len);
    if (rc < 0)
        goto out;
    weft_xet_hash_to_hex(name, &f->hash);
    rc = s->backend->put(s->backend, name, parts, n_parts);
    if (rc < 0)
        goto out;
    /* The object is durable: now the index may name it. gc deletes unnamed objects inside its
     * own write transaction, so checking the object inside ours closes the race where it went
     * between our put and this commit; then it is simply put again. */
    rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    rc = s->backend->size(s->backend, name, &size);
    if (rc == WEFT_ENOTFOUND || (rc == 0 && size != len))
        rc = s->backend->put(s->backend, name, parts, n_parts);
    if (rc == 0)
        rc = weft_store__xorb_insert(s, f, len, 0);
    if (rc == 0)
        rc = weft_store__commit(s);
    if (rc < 0) {
        weft_store__rollback(s);
        goto out;
    }
    *hash_out = f->hash;
    *len_out = len;
out:
    if (rc < 0)
        rc = weft_err_wrap(rc, "writing a xorb");
    return rc;
}

/* ---- the session's chunk set -------------------------------------------------------------- */

/* Chunk hash -> (xorb slot, chunk index) for every chunk this upload has seen. Open addressing,
 * at most half full. */
typedef struct session_entry {
    weft_hash hash;
    uint32_t slot; /* SLOT_NONE = empty */
    uint32_t idx;
} session_entry;

typedef struct session_set {
    session_entry *e;
    size_t cap, n;
} session_set;

static session_entry *session_probe(const session_set *t, const weft_hash *h)
{
    size_t mask = t->cap - 1, i = (size_t)weft_xet_hash_tail_u64(h) & mask;
    while (t->e[i].slot != SLOT_NONE && !weft_hash_eq(&t->e[i].hash, h))
        i = (i + 1) & mask;
    return &t->e[i];
}

static int session_init(session_set *t, size_t cap)
{
    t->e = malloc(cap * sizeof *t->e);
    if (t->e == NULL)
        return weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
    for (size_t i = 0; i < cap; i++)
        t->e[i].slot = SLOT_NONE;
    t->cap = cap;
    t->n = 0;
    return 0;
}

static int session_insert(session_set *t, const weft_hash *h, uint32_t slot, uint32_t idx)
{
    if (2 * (t->n + 1) > t->cap) {
        session_set bigger;
        int rc = session_init(&bigger, t->cap * 2);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < t->cap; i++)
            if (t->e[i].slot != SLOT_NONE)
                *session_probe(&bigger, &t->e[i].hash) = t->e[i];
        bigger.n = t->n;
        free(t->e);
        *t = bigger;
    }
    session_entry *e = session_probe(t, h);
    if (e->slot == SLOT_NONE)
        t->n++;
    *e = (session_entry){.hash = *h, .slot = slot, .idx = idx};
    return 0;
}

/* ---- the writer thread -------------------------------------------------------------------- */

typedef struct xorb_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, busy, quit;
    weft_store *s; /* a peer handle: the writer's own SQLite connection */
    weft_store_slab_pool *pool;
    xorb_plan *job; /* the plan being written while busy */
    int rc;         /* result of the last job */
    char msg[512];
    weft_hash hash;
    size_t len;
} xorb_writer;

static void *writer_main(void *arg)
{
    xorb_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->busy && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->busy)
            break;
        xorb_plan *job = w->job;
        pthread_mutex_unlock(&w->mu);
        weft_hash h;
        size_t len = 0;
        int rc = plan_write(w->s, job, &h, &len);
        /* Free the slabs now rather than at the reader's next flush: fewer slabs in use at
         * once means fewer fresh pages, and first touches are costly (store.c, big_alloc). */
        plan_release_slabs(job, w->pool);
        pthread_mutex_lock(&w->mu);
        w->rc = rc;
        if (rc < 0)
            snprintf(w->msg, sizeof w->msg, "%s", weft_err_last());
        w->hash = h;
        w->len = len;
        w->busy = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the ingest --------------------------------------------------------------------------- */

/* Where one chunk of the file lives. */
typedef struct ingest_ref {
    uint32_t slot, idx;
} ingest_ref;

struct weft_store_ingest {
    weft_store *s;
    weft_store_slab_pool pool;
    weft_store_slab *cur;   /* the slab being filled (feed) or chunked (put_fd) */
    size_t cur_start;       /* cur's bytes not yet chunked start here */
    size_t carry;           /* bytes at the front of cur carried over from the previous slab */
    weft_store_sha *sha;    /* feed: started with the second slab; small files hash inline */
    weft_store_source *src; /* put_fd: the input thread, which also hashes */
    xorb_plan *plan;        /* being filled */
    xorb_plan *spare;       /* being written by the writer, or idle */
    xorb_writer writer;
    session_set seen;
    sqlite3_stmt *find_chunk;
    weft_hash *xorbs; /* slots; a plan's slot is zero until its xorb is written */
    size_t n_xorbs, xorbs_alloc;
    uint32_t last_index_slot; /* slot of the last xorb found in the index */
    ingest_ref *refs;         /* one per chunk of the file */
    weft_xet_node *nodes;     /* one per chunk of the file, for the file hash */
    size_t n_refs, refs_alloc;
    uint64_t builder_raw; /* raw bytes in plan's builder (compression on) */
    int failed;
    weft_store_put_result result;
};

static int ingest_slot(weft_store_ingest *in, const weft_hash *h, uint32_t *slot)
{
    if (h != NULL && in->last_index_slot != SLOT_NONE &&
        weft_hash_eq(&in->xorbs[in->last_index_slot], h)) {
        *slot = in->last_index_slot;
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
    if (h != NULL)
        in->last_index_slot = *slot;
    return 0;
}

static int ingest_add_ref(weft_store_ingest *in, uint32_t slot, uint32_t idx, const weft_hash *h,
                          size_t size)
{
    if (in->n_refs == in->refs_alloc) {
        size_t n = in->refs_alloc ? in->refs_alloc * 2 : 1024;
        ingest_ref *r = realloc(in->refs, n * sizeof *r);
        if (r == NULL)
            return weft_err_set(WEFT_ENOMEM, "ingest: out of memory after %zu chunks", in->n_refs);
        in->refs = r;
        weft_xet_node *d = realloc(in->nodes, n * sizeof *d);
        if (d == NULL)
            return weft_err_set(WEFT_ENOMEM, "ingest: out of memory after %zu chunks", in->n_refs);
        in->nodes = d;
        in->refs_alloc = n;
    }
    in->refs[in->n_refs] = (ingest_ref){.slot = slot, .idx = idx};
    in->nodes[in->n_refs].hash = *h;
    in->nodes[in->n_refs].size = size;
    in->n_refs++;
    return 0;
}

/* Waits for the writer's job, if any, and takes its result. */
static int ingest_writer_wait(weft_store_ingest *in)
{
    xorb_writer *w = &in->writer;
    int rc = 0;
    if (!w->started)
        return 0;
    pthread_mutex_lock(&w->mu);
    while (w->busy)
        pthread_cond_wait(&w->cv, &w->mu);
    xorb_plan *job = w->job;
    w->job = NULL;
    rc = w->rc;
    w->rc = 0;
    pthread_mutex_unlock(&w->mu);
    if (job == NULL)
        return 0;
    if (rc == 0) {
        in->xorbs[job->slot] = w->hash;
        in->result.stored_bytes += w->len;
        in->result.new_xorbs++;
    }
    plan_reset(job, &in->pool);
    if (rc < 0)
        return weft_err_set(rc, "%s", w->msg);
    return 0;
}

static int ingest_writer_start(weft_store_ingest *in)
{
    xorb_writer *w = &in->writer;
    int rc = weft_store__peer_open(in->s, &w->s);
    if (rc < 0)
        return rc;
    w->pool = &in->pool;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        weft_store_close(w->s);
        w->s = NULL;
        return weft_err_set(WEFT_ENOMEM, "ingest: cannot start the xorb writer thread");
    }
    w->started = 1;
    return 0;
}

/* Hands the current plan to the writer (the previous job must be done first) and starts the
 * next plan. With `inline_write` (the last xorb), writes it on this thread instead. */
static int ingest_flush(weft_store_ingest *in, int inline_write)
{
    xorb_plan *full = in->plan;
    int rc = 0;
    if (plan_n(full) == 0)
        return 0;
    rc = ingest_writer_wait(in);
    if (rc < 0)
        return rc;
    in->builder_raw = 0;
    if (inline_write) {
        weft_hash h;
        size_t len = 0;
        rc = plan_write(in->s, full, &h, &len);
        if (rc == 0) {
            in->xorbs[full->slot] = h;
            in->result.stored_bytes += len;
            in->result.new_xorbs++;
        }
        plan_reset(full, &in->pool);
        return rc;
    }
    if (!in->writer.started) {
        rc = ingest_writer_start(in);
        if (rc < 0)
            return rc;
    }
    in->plan = in->spare;
    in->spare = full;
    xorb_writer *w = &in->writer;
    pthread_mutex_lock(&w->mu);
    w->job = full;
    w->busy = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* One chunk from the chunker: dedup or add to the plan. */
static int ingest_chunk(weft_store_ingest *in, weft_store_slab *slab, const uint8_t *data,
                        size_t len, const weft_hash *hash)
{
    int rc = 0;
    session_entry *e = session_probe(&in->seen, hash);
    if (e->slot != SLOT_NONE) {
        in->result.dedup_bytes += len;
        in->result.dedup_chunks++;
        return ingest_add_ref(in, e->slot, e->idx, hash, len);
    }
    /* Already in the store? */
    sqlite3_stmt *st = in->find_chunk;
    sqlite3_bind_blob(st, 1, hash->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == WEFT_HASH_LEN &&
        sqlite3_column_int64(st, 2) == (sqlite3_int64)len) {
        weft_hash xorb;
        sqlite3_int64 at = sqlite3_column_int64(st, 1);
        if (at < 0 || at >= WEFT_XORB_MAX_CHUNKS) {
            sqlite3_reset(st);
            return weft_err_set(WEFT_ECORRUPT, "store index: a chunk row is out of range; "
                                               "run weft store fsck");
        }
        uint32_t slot = 0, idx = (uint32_t)at;
        memcpy(xorb.b, sqlite3_column_blob(st, 0), WEFT_HASH_LEN);
        sqlite3_reset(st);
        rc = ingest_slot(in, &xorb, &slot);
        if (rc == 0)
            rc = session_insert(&in->seen, hash, slot, idx);
        if (rc == 0)
            rc = ingest_add_ref(in, slot, idx, hash, len);
        in->result.dedup_bytes += len;
        in->result.dedup_chunks++;
        return rc;
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return weft_store__db_error(in->s, "chunk lookup");
    /* New. */
    if (!plan_fits(in->plan, len, in->s->xorb_limit, in->builder_raw)) {
        rc = ingest_flush(in, 0);
        if (rc < 0)
            return rc;
    }
    xorb_plan *p = in->plan;
    if (p->slot == SLOT_NONE) {
        rc = ingest_slot(in, NULL, &p->slot);
        if (rc < 0)
            return rc;
    }
    uint32_t idx = plan_n(p);
    rc = plan_add(p, &in->pool, slab, data, len, hash);
    if (rc == 0)
        rc = session_insert(&in->seen, hash, p->slot, idx);
    if (rc == 0)
        rc = ingest_add_ref(in, p->slot, idx, hash, len);
    in->builder_raw += len;
    in->result.new_bytes += len;
    in->result.new_chunks++;
    return rc;
}

/* A free slab for the reader. When the pool is exhausted, the current plan is what pins the
 * slabs, so it is flushed before waiting (smaller xorbs, but progress). */
static int ingest_acquire(weft_store_ingest *in, weft_store_slab **out)
{
    int rc = weft_store__pool_acquire(&in->pool, 0, out);
    if (rc < 0 || *out != NULL)
        return rc;
    rc = ingest_flush(in, 0);
    if (rc == 0)
        rc = ingest_writer_wait(in);
    if (rc == 0)
        rc = weft_store__pool_acquire(&in->pool, 1, out);
    return rc;
}

/* Chunks slab bytes [*pos, len) (all of them if final, else up to the unfinished last chunk,
 * where *pos is left), hashing and deduplicating each chunk. */
static int ingest_split(weft_store_ingest *in, weft_store_slab *sl, size_t *pos, int final)
{
    /* One read transaction for the slab's chunk lookups instead of one per chunk: each
     * autocommit SELECT takes and drops WAL read locks (fcntl calls, ~1.5 per chunk, costly
     * system calls in a VM). Commits made meanwhile by other connections (our writer's
     * included) are seen from the next slab on; this upload's own chunks are in `seen`. */
    int rc = weft_store__exec(in->s, "BEGIN");
    if (rc < 0)
        return rc;
    while (*pos < sl->len) {
        uint32_t clen = 0;
        size_t used = 0;
        const uint8_t *p = sl->p + *pos;
        if (weft_chunker_split(&clen, 1, p, sl->len - *pos, final, &used) == 0)
            break;
        weft_hash h;
        weft_xet_chunk_hash(&h, p, clen);
        rc = ingest_chunk(in, sl, p, clen, &h);
        if (rc < 0)
            break;
        *pos += clen;
    }
    if (rc == 0)
        rc = weft_store__commit(in->s);
    if (rc < 0)
        weft_store__rollback(in->s);
    return rc;
}

/* Processes the current slab: SHA-256 of its new bytes (feed), chunks, dedup; then carries the
 * unfinished tail into a fresh slab (unless final). */
static int ingest_process(weft_store_ingest *in, int final)
{
    weft_store_slab *sl = in->cur, *next = NULL;
    size_t pos = in->cur_start;
    int rc = 0;
    if (!final && in->sha == NULL && in->src == NULL) {
        rc = weft_store__sha_start(&in->sha, &in->pool);
        if (rc < 0)
            goto out;
    }
    if (in->sha != NULL)
        weft_store__sha_feed(in->sha, sl, in->carry, sl->len - in->carry);
    rc = ingest_split(in, sl, &pos, final);
    if (rc < 0 || final)
        goto out;
    rc = plan_retire_slab(in->plan, &in->pool, sl);
    if (rc == 0)
        rc = ingest_acquire(in, &next);
    if (rc < 0)
        goto out;
    /* The tail is shorter than one maximal chunk. */
    memcpy(next->p, sl->p + pos, sl->len - pos);
    next->len = sl->len - pos;
    in->carry = next->len;
    weft_store__slab_unref(&in->pool, sl);
    in->cur = next;
out:
    if (rc < 0)
        in->failed = 1;
    return rc;
}

void weft_store_ingest_abort(weft_store_ingest *in)
{
    if (in == NULL)
        return;
    xorb_writer *w = &in->writer;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->quit = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL); /* finishes a job in flight first */
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        weft_store_close(w->s);
    }
    weft_store__sha_finish(in->sha, NULL);
    weft_store__source_finish(in->src, NULL);
    if (in->plan != NULL)
        plan_reset(in->plan, &in->pool);
    if (in->spare != NULL)
        plan_reset(in->spare, &in->pool);
    plan_free(in->plan);
    plan_free(in->spare);
    sqlite3_finalize(in->find_chunk);
    weft_store__pool_dispose(&in->pool);
    free(in->seen.e);
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
    in->last_index_slot = SLOT_NONE;
    weft_store__pool_init(&in->pool);
    int rc = plan_new(&in->plan, s->ingest_scheme);
    if (rc == 0)
        rc = plan_new(&in->spare, s->ingest_scheme);
    if (rc == 0)
        rc = session_init(&in->seen, 4096);
    if (rc == 0)
        rc = weft_store__prepare(s, &in->find_chunk,
                                 "SELECT xorb, idx, size FROM chunks WHERE hash = ?1");
    if (rc == 0)
        rc = weft_store__pool_acquire(&in->pool, 0, &in->cur);
    if (rc < 0) {
        weft_store_ingest_abort(in);
        return rc;
    }
    *out = in;
    return 0;
}

/* Room in the current slab, processing it first if full. */
static int ingest_room(weft_store_ingest *in, uint8_t **p, size_t *room)
{
    if (in->failed)
        return weft_err_set(WEFT_EINVALID, "ingest: already failed; abort it");
    if (in->cur->len == WEFT_STORE_SLAB_LEN) {
        int rc = ingest_process(in, 0);
        if (rc < 0)
            return rc;
    }
    *p = in->cur->p + in->cur->len;
    *room = WEFT_STORE_SLAB_LEN - in->cur->len;
    return 0;
}

int weft_store_ingest_feed(weft_store_ingest *in, const void *p, size_t n)
{
    const uint8_t *src = p;
    while (n > 0) {
        uint8_t *dst = NULL;
        size_t room = 0;
        int rc = ingest_room(in, &dst, &room);
        if (rc < 0)
            return rc;
        size_t take = n < room ? n : room;
        memcpy(dst, src, take);
        in->cur->len += take;
        in->result.file.size += take;
        src += take;
        n -= take;
    }
    return 0;
}

/* Re-finds the chunks of refs in slots whose xorb a concurrent gc removed (inside the file's
 * transaction, so what is found stays). */
static int ingest_relocate(weft_store_ingest *in, const uint8_t *gone)
{
    int rc = 0;
    size_t n_slots = in->n_xorbs;
    in->last_index_slot = SLOT_NONE;
    for (size_t i = 0; i < in->n_refs; i++) {
        ingest_ref *r = &in->refs[i];
        if (r->slot >= n_slots || !gone[r->slot])
            continue;
        sqlite3_stmt *st = in->find_chunk;
        sqlite3_bind_blob(st, 1, in->nodes[i].hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != WEFT_HASH_LEN ||
            sqlite3_column_int64(st, 2) != (sqlite3_int64)in->nodes[i].size) {
            sqlite3_reset(st);
            rc = weft_err_set(WEFT_ECONFLICT, "a xorb this upload used was garbage-collected "
                                              "during the upload; put the file again");
            goto out;
        }
        weft_hash xorb;
        memcpy(xorb.b, sqlite3_column_blob(st, 0), WEFT_HASH_LEN);
        sqlite3_int64 at = sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        if (at < 0 || at >= WEFT_XORB_MAX_CHUNKS) {
            rc = weft_err_set(WEFT_ECORRUPT, "store index: a chunk row is out of range");
            goto out;
        }
        uint32_t idx = (uint32_t)at;
        uint32_t slot = 0;
        rc = ingest_slot(in, &xorb, &slot);
        if (rc < 0)
            goto out;
        r->slot = slot;
        r->idx = idx;
    }
out:
    return rc;
}

/* The file's row and its terms (maximal runs of consecutive chunks of one xorb), in one
 * transaction. A file the store already has is left as it is. */
static int ingest_commit_file(weft_store_ingest *in)
{
    weft_store *s = in->s;
    weft_store_file *f = &in->result.file;
    sqlite3_stmt *st = NULL;
    uint8_t *gone = NULL;
    int any_gone = 0;
    int rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    rc = weft_store__prepare(s, &st,
                             "INSERT OR IGNORE INTO files(xet_hash, sha256, size, "
                             "created) VALUES(?1, ?2, ?3, ?4)");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, f->xet_hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, f->sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)f->size);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)f->created);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_store__db_error(s, "insert file");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        in->result.existed = 1;
        rc = weft_store__commit(s);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Every xorb used must still be indexed. */
    gone = calloc(in->n_xorbs ? in->n_xorbs : 1, 1);
    if (gone == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "ingest: out of memory");
        goto out;
    }
    for (size_t i = 0; i < in->n_xorbs; i++) {
        int known = 0;
        if (weft_hash_is_zero(&in->xorbs[i]))
            continue; /* a plan slot that never got a chunk */
        rc = weft_store__xorb_known(s, &in->xorbs[i], &known);
        if (rc < 0)
            goto out;
        gone[i] = !known;
        any_gone |= !known;
    }
    if (any_gone) {
        rc = ingest_relocate(in, gone);
        if (rc < 0)
            goto out;
    }
    rc = weft_store__prepare(s, &st,
                             "INSERT INTO terms(file, seq, xorb, chunk_start, "
                             "chunk_end, raw_bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (rc < 0)
        goto out;
    size_t seq = 0;
    for (size_t i = 0; i < in->n_refs;) {
        size_t j = i + 1;
        uint64_t raw = in->nodes[i].size;
        const weft_hash *x = &in->xorbs[in->refs[i].slot];
        while (j < in->n_refs && in->refs[j].idx == in->refs[j - 1].idx + 1 &&
               (in->refs[j].slot == in->refs[i].slot ||
                weft_hash_eq(&in->xorbs[in->refs[j].slot], x))) {
            raw += in->nodes[j].size;
            j++;
        }
        sqlite3_bind_blob(st, 1, f->xet_hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq++);
        sqlite3_bind_blob(st, 3, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, in->refs[i].idx);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)in->refs[j - 1].idx + 1);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)raw);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = weft_store__db_error(s, "insert term");
            goto out;
        }
        sqlite3_reset(st);
        i = j;
    }
    rc = weft_store__commit(s);
out:
    sqlite3_finalize(st);
    free(gone);
    if (rc < 0)
        weft_store__rollback(s);
    return rc;
}

int weft_store_ingest_finish(weft_store_ingest *in, weft_store_put_result *out)
{
    int rc = in->failed ? weft_err_set(WEFT_EINVALID, "ingest: already failed; abort it") : 0;
    if (rc == 0)
        rc = ingest_process(in, 1);
    if (rc == 0)
        rc = ingest_writer_wait(in);
    if (rc == 0)
        rc = ingest_flush(in, 1);
    if (rc < 0)
        goto out;
    if (in->src != NULL) {
        weft_store__source_finish(in->src, in->result.file.sha256);
        in->src = NULL;
    } else if (in->sha != NULL) {
        weft_store__sha_finish(in->sha, in->result.file.sha256);
        in->sha = NULL;
    } else {
        /* Everything fit in one slab: hash it here. */
        rc = weft_sha256_oneshot(in->result.file.sha256, in->cur->p, in->cur->len);
        if (rc < 0)
            goto out;
    }
    in->result.file.created = (int64_t)time(NULL);
    rc = weft_xet_file_hash(&in->result.file.xet_hash, in->nodes, in->n_refs);
    if (rc == 0)
        rc = ingest_commit_file(in);
    if (rc == 0 && out != NULL)
        *out = in->result;
out:
    weft_store_ingest_abort(in);
    return rc;
}

/* put_fd's loop: takes the source thread's slabs (read and SHA-256 hashed there), moves the
 * unfinished chunk at the end of the previous slab into the room in front of the new one, and
 * chunks. ingest_finish() chunks the last tail. */
static int ingest_from_source(weft_store_ingest *in, weft_store_progress_cb progress, void *payload)
{
    uint64_t next_report = INGEST_PROGRESS_EVERY;
    int rc = 0;
    for (;;) {
        weft_store_slab *sl = NULL;
        int starved = 0;
        rc = weft_store__source_next(in->src, 0, &sl, &starved);
        if (rc == 0 && starved) {
            /* Every free slab is pinned by xorb plans: write them out, then wait. */
            rc = ingest_flush(in, 0);
            if (rc == 0)
                rc = ingest_writer_wait(in);
            if (rc == 0)
                rc = weft_store__source_next(in->src, 1, &sl, &starved);
        }
        if (rc < 0 || sl == NULL)
            break;
        /* The tail is shorter than one maximal chunk, which is the room in front. */
        size_t tail = in->cur->len - in->cur_start;
        memcpy(sl->p + WEFT_STORE_SLAB_HEAD - tail, in->cur->p + in->cur_start, tail);
        weft_store__slab_unref(&in->pool, in->cur);
        in->cur = sl;
        in->cur_start = WEFT_STORE_SLAB_HEAD - tail;
        in->result.file.size += sl->len - WEFT_STORE_SLAB_HEAD;
        rc = ingest_split(in, sl, &in->cur_start, 0);
        if (rc == 0)
            rc = plan_retire_slab(in->plan, &in->pool, sl);
        if (rc < 0)
            break;
        if (progress != NULL && in->result.file.size >= next_report) {
            progress(in->result.file.size, payload);
            next_report = in->result.file.size + INGEST_PROGRESS_EVERY;
        }
    }
    if (rc < 0)
        in->failed = 1;
    return rc;
}

/* put_fd's loop for a pipe or socket: read() on this thread, straight into the slab being filled
 * (a source thread blocked in read() could not be stopped if the ingest fails). */
static int ingest_from_reads(weft_store_ingest *in, int fd, weft_store_progress_cb progress,
                             void *payload)
{
    uint64_t next_report = INGEST_PROGRESS_EVERY;
    int rc = 0;
    for (;;) {
        uint8_t *dst = NULL;
        size_t room = 0;
        rc = ingest_room(in, &dst, &room);
        if (rc < 0)
            break;
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "read input");
            break;
        }
        if (r == 0)
            break;
        in->cur->len += (size_t)r;
        in->result.file.size += (uint64_t)r;
        if (progress != NULL && in->result.file.size >= next_report) {
            progress(in->result.file.size, payload);
            next_report = in->result.file.size + INGEST_PROGRESS_EVERY;
        }
    }
    return rc;
}

int weft_store_put_fd(weft_store *s, int fd, weft_store_put_result *out,
                      weft_store_progress_cb progress, void *payload)
{
    weft_store_ingest *in = NULL;
    struct stat st;
    int rc = weft_store_ingest_begin(s, &in);
    if (rc < 0)
        return rc;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        rc = weft_store__source_start(&in->src, &in->pool, fd);
        if (rc == 0)
            rc = ingest_from_source(in, progress, payload);
    } else {
        rc = ingest_from_reads(in, fd, progress, payload);
    }
    if (rc < 0) {
        weft_store_ingest_abort(in);
        return rc;
    }
    uint64_t total = in->result.file.size;
    rc = weft_store_ingest_finish(in, out);
    if (rc == 0 && progress != NULL)
        progress(total, payload);
    return rc;
}
