/* Garbage collection: mark and sweep from the live files (include/weft/store.h).
 *
 * The roots are the rows of `files`; a chunk is live when a term of a live file covers it. Three
 * sweeps, each crash-safe because index rows change in one transaction before any object is
 * deleted, and a new object is durable before any row names it:
 *  1. dead xorbs (no term uses them): their rows go in one transaction, then their objects.
 *  2. sparse xorbs (live raw bytes under half): the live chunks are read, verified and written to
 *     a new xorb (durable first); then, in one transaction that re-derives the live chunks from
 *     the terms as they are *now*, chunk rows and terms move to the new xorb and the old row
 *     goes; then the old object. If an upload started using a chunk that was dead when the copy
 *     was made, the rewrite is abandoned (the copy lacks that chunk) and retried by a later gc.
 *  3. orphan objects (no xorbs row: leftovers of crashed or killed uploads, temp files): deleted
 *     inside a write transaction after re-checking the index, so an upload that has just put an
 *     object and is about to commit its row either commits first (and the object stays) or
 *     finds its object gone inside its own transaction and puts it again (ingest.c).
 * Only xorbs and objects older than the grace window are touched, which is what keeps uploads
 * in flight safe: their xorbs have rows but no terms until the file commits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "weft/chunker.h"
#include "weft/log.h"

typedef struct gc_names {
    weft_hash *h;
    size_t n, alloc;
    char (*obj)[WEFT_STORE_OBJ_MAX]; /* object names, for dead xorbs */
} gc_names;

static int gc_names_push(gc_names *v, const weft_hash *h)
{
    if (v->n == v->alloc) {
        size_t n = v->alloc ? v->alloc * 2 : 64;
        weft_hash *p = realloc(v->h, n * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "gc: out of memory");
        v->h = p;
        v->alloc = n;
    }
    v->h[v->n++] = *h;
    return 0;
}

static void gc_remove_object(weft_store *s, const char *name, weft_store_gc_result *res, int *rc)
{
    uint64_t size = 0;
    if (s->backend->size(s->backend, name, &size) == 0)
        res->bytes_freed += size;
    int r = s->backend->remove(s->backend, name);
    if (r < 0 && *rc == 0)
        *rc = r;
}

/* The rows of a xorb that goes: chunks, codec counts, the bases it needed, the xorb. */
static int gc_drop_rows(weft_store *s, const weft_hash *x)
{
    int rc = weft_store__exec_hash(s, "DELETE FROM chunks WHERE xorb = ?1", x);
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM xorb_codecs WHERE xorb = ?1", x);
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM xorb_bases WHERE xorb = ?1", x);
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM xorbs WHERE hash = ?1", x);
    return rc;
}

/* Sweep 1: xorbs no term uses. */
static int gc_drop_dead(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_names dead = {0};
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    int rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    rc = weft_store__prepare(s, &st,
                             "SELECT hash FROM xorbs WHERE created <= ?1 AND NOT EXISTS "
                             "(SELECT 1 FROM terms WHERE terms.xorb = xorbs.hash)");
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(st, 1, before);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_hash h;
        rc = weft_store__hash_col(&h, st, 0);
        if (rc == 0)
            rc = gc_names_push(&dead, &h);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "gc: find dead xorbs");
    if (rc == 0 && dead.n > 0) {
        dead.obj = calloc(dead.n, sizeof *dead.obj);
        if (dead.obj == NULL)
            rc = weft_err_set(WEFT_ENOMEM, "gc: out of memory");
    }
    for (size_t i = 0; rc == 0 && i < dead.n; i++) {
        int coded = 0;
        rc = weft_store__xorb_object(s, &dead.h[i], dead.obj[i], &coded);
        if (rc == 0)
            rc = gc_drop_rows(s, &dead.h[i]);
    }
    if (rc == 0)
        rc = weft_store__commit(s);
    if (rc < 0)
        goto out;
    /* The rows are gone for good: a crash from here on leaves orphans, which sweep 3 removes. */
    for (size_t i = 0; i < dead.n; i++) {
        gc_remove_object(s, dead.obj[i], res, &rc);
        res->xorbs_deleted++;
    }
out:
    sqlite3_finalize(st);
    if (rc < 0)
        weft_store__rollback(s);
    free(dead.h);
    free(dead.obj);
    return rc;
}

/* live[i] = 1 for every chunk of xorb x some term covers. Returns via *n_live the count. */
static int gc_mark(weft_store *s, const weft_hash *x, uint32_t n_chunks, uint8_t *live,
                   uint32_t *n_live)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    memset(live, 0, n_chunks);
    *n_live = 0;
    int rc =
        weft_store__prepare(s, &st, "SELECT chunk_start, chunk_end FROM terms WHERE xorb = ?1");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 cs = sqlite3_column_int64(st, 0), ce = sqlite3_column_int64(st, 1);
        if (cs < 0 || ce > n_chunks || cs >= ce) {
            rc = weft_err_set(WEFT_ECORRUPT, "gc: a term is out of range for its xorb; run fsck");
            goto out;
        }
        for (sqlite3_int64 i = cs; i < ce; i++) {
            *n_live += !live[i];
            live[i] = 1;
        }
    }
    if (step != SQLITE_DONE)
        rc = weft_store__db_error(s, "gc: mark");
out:
    sqlite3_finalize(st);
    return rc;
}

/* Moves the index from xorb `old` to its rewrite (footer nf, object of nf_len bytes). map[i] is
 * the new index of old chunk i, for the chunks in `copied`. Inside a transaction. *abandon = 1
 * (nothing changed) if the live chunks are no longer a subset of those copied. */
static int gc_move_index(weft_store *s, const weft_hash *old, const weft_xorb_footer *f,
                         const uint8_t *copied, const uint32_t *map, const weft_xorb_footer *nf,
                         uint64_t nf_len, int *abandon)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    uint8_t *live = malloc(f->n_chunks);
    uint32_t n_live = 0;
    int known = 0, step = SQLITE_DONE;
    *abandon = 0;
    int rc = live ? weft_store__xorb_known(s, old, &known)
                  : weft_err_set(WEFT_ENOMEM, "gc: out of memory");
    if (rc < 0)
        goto out;
    if (!known) { /* another gc got there first */
        *abandon = 1;
        goto out;
    }
    rc = gc_mark(s, old, f->n_chunks, live, &n_live);
    if (rc < 0)
        goto out;
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        if (live[i] && !copied[i]) {
            *abandon = 1;
            goto out;
        }
    }
    rc = weft_store__xorb_insert(s, nf, nf_len, 1);
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM chunks WHERE xorb = ?1", old);
    if (rc == 0)
        rc = weft_store__prepare(s, &st,
                                 "SELECT file, seq, chunk_start, chunk_end FROM terms "
                                 "WHERE xorb = ?1");
    if (rc == 0)
        rc = weft_store__prepare(s, &up,
                                 "UPDATE terms SET xorb = ?1, chunk_start = ?2, "
                                 "chunk_end = ?3 WHERE file = ?4 AND seq = ?5");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, old->b, WEFT_HASH_LEN, SQLITE_STATIC);
    /* Live chunks keep their order in the new xorb, so a term's range stays contiguous. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t cs = (uint32_t)sqlite3_column_int64(st, 2);
        uint32_t ce = (uint32_t)sqlite3_column_int64(st, 3); /* bounded by gc_mark */
        sqlite3_bind_blob(up, 1, nf->hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, map[cs]);
        sqlite3_bind_int64(up, 3, (sqlite3_int64)map[ce - 1] + 1);
        sqlite3_bind_value(up, 4, sqlite3_column_value(st, 0));
        sqlite3_bind_int64(up, 5, sqlite3_column_int64(st, 1));
        if (sqlite3_step(up) != SQLITE_DONE) {
            rc = weft_store__db_error(s, "gc: move a term");
            goto out;
        }
        sqlite3_reset(up);
    }
    if (step != SQLITE_DONE) {
        rc = weft_store__db_error(s, "gc: terms of a xorb");
        goto out;
    }
    rc = gc_drop_rows(s, old);
out:
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    free(live);
    return rc;
}

/* Sweep 2 for one xorb: copy its live chunks (live[i]) into a new xorb and move the index. */
static int gc_rewrite(weft_store *s, const weft_hash *old, const weft_xorb_footer *f,
                      const char *name, const uint8_t *live, weft_store_gc_result *res)
{
    char new_name[WEFT_HASH_HEX_LEN + 1];
    weft_store__codec *codec = NULL;
    weft_xorb_builder *b = NULL;
    weft_xorb_built built;
    uint32_t *map = calloc(f->n_chunks, sizeof *map);
    uint8_t *chunk = malloc(WEFT_XORB_CHUNK_HEADER_LEN + WEFT_XORB_MAX_COMPRESSED_LEN);
    uint8_t *raw = malloc(WEFT_XET_CHUNK_MAX);
    int abandon = 0, in_txn = 0;
    int rc = map && chunk && raw ? weft_xorb_builder_new(&b, WEFT_XET_SCHEME_AUTO)
                                 : weft_err_set(WEFT_ENOMEM, "gc: out of memory");
    for (uint32_t i = 0, k = 0; rc == 0 && i < f->n_chunks; i++) {
        if (!live[i])
            continue;
        size_t plen = f->phys_off[i + 1] - f->phys_off[i]; /* footer-bounded */
        size_t raw_len = f->raw_off[i + 1] - f->raw_off[i];
        const uint8_t *dec = NULL;
        rc = s->backend->get(s->backend, name, f->phys_off[i], chunk, plen);
        /* Decoded (weight frames included) and checked against the footer's hash; the copy is
         * stored in a Xet scheme (a re-coded chunk loses its coding, never its bytes). */
        if (rc == 0)
            rc = weft_store__chunk_decode(s, &codec, 1, f, i, chunk, raw, 1, &dec);
        if (rc < 0) {
            rc = weft_err_wrap(WEFT_ECORRUPT, "gc: xorb %s is damaged; run fsck", name);
            goto out;
        }
        rc = weft_xorb_builder_add(b, &f->chunk_hashes[i], dec, raw_len);
        map[i] = k++;
    }
    if (rc == 0)
        rc = weft_xorb_builder_finish(b, &built);
    if (rc < 0)
        goto out;
    weft_xet_hash_to_hex(new_name, &built.hash);
    rc = weft_backend_put_buf(s->backend, new_name, built.bytes, built.len);
    if (rc == 0)
        rc = weft_store__begin(s);
    if (rc < 0)
        goto out;
    in_txn = 1;
    rc = gc_move_index(s, old, f, live, map, built.footer, built.len, &abandon);
    if (rc < 0)
        goto out;
    if (abandon) {
        /* Drop the copy unless the index names it (another gc's identical rewrite). */
        int known = 0;
        rc = weft_store__xorb_known(s, &built.hash, &known);
        if (rc == 0 && !known)
            rc = s->backend->remove(s->backend, new_name);
        weft_store__rollback(s);
        in_txn = 0;
        res->rewrites_skipped++;
        goto out;
    }
    rc = weft_store__commit(s);
    in_txn = 0;
    if (rc < 0)
        goto out;
    uint64_t old_len = (uint64_t)f->phys_off[f->n_chunks] + WEFT_XORB_FOOTER_LEN(f->n_chunks);
    res->bytes_freed += old_len > built.len ? old_len - built.len : 0;
    res->xorbs_rewritten++;
    rc = s->backend->remove(s->backend, name);
out:
    if (in_txn)
        weft_store__rollback(s);
    weft_xorb_builder_free(b);
    weft_store__codec_free(codec);
    free(map);
    free(chunk);
    free(raw);
    return rc;
}

/* Xorbs (older than `before`) with at least one chunk no term covers: the candidates for a
 * rewrite, found from the terms alone so fully used xorbs cost no footer read. */
static int gc_partly_dead(weft_store *s, int64_t before, gc_names *out)
{
    sqlite3_stmt *st = NULL;
    weft_hash cur;
    uint32_t n_chunks = 0, covered = 0, reach = 0;
    int have = 0, step = SQLITE_DONE;
    int rc = weft_store__prepare(s, &st,
                                 "SELECT x.hash, x.n_chunks, t.chunk_start, t.chunk_end FROM "
                                 "xorbs x JOIN terms t ON t.xorb = x.hash WHERE x.created <= ?1 "
                                 "ORDER BY x.hash, t.chunk_start");
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(st, 1, before);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_hash h;
        rc = weft_store__hash_col(&h, st, 0);
        if (rc < 0)
            goto out;
        if (!have || !weft_hash_eq(&h, &cur)) {
            if (have && covered < n_chunks)
                rc = gc_names_push(out, &cur);
            if (rc < 0)
                goto out;
            cur = h;
            have = 1;
            n_chunks = (uint32_t)sqlite3_column_int64(st, 1);
            covered = reach = 0;
        }
        /* Ranges arrive sorted by start: count the union's size. */
        sqlite3_int64 cs = sqlite3_column_int64(st, 2), ce = sqlite3_column_int64(st, 3);
        if (ce > (sqlite3_int64)reach) {
            covered += (uint32_t)(ce - (cs > (sqlite3_int64)reach ? cs : (sqlite3_int64)reach));
            reach = (uint32_t)ce;
        }
    }
    if (step != SQLITE_DONE) {
        rc = weft_store__db_error(s, "gc: scan terms");
        goto out;
    }
    if (have && covered < n_chunks)
        rc = gc_names_push(out, &cur);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Sweep 2: rewrite the xorbs whose live share is low. */
static int gc_rewrite_sparse(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_names cand = {0};
    int rc = gc_partly_dead(s, before, &cand);
    for (size_t x = 0; rc == 0 && x < cand.n; x++) {
        weft_xorb_footer *f = NULL;
        uint8_t *live = NULL;
        uint32_t n_live = 0;
        char obj[WEFT_STORE_OBJ_MAX];
        rc = weft_store__load_footer_obj(s, &cand.h[x], 1, &f, NULL, obj, NULL);
        if (rc == WEFT_ENOTFOUND || rc == WEFT_ECORRUPT) {
            /* Damage is fsck's business: leave the xorb as it is and go on. */
            weft_log_warn("gc: skipping a xorb: %s (run weft store fsck)", weft_err_last());
            res->xorbs_skipped++;
            rc = 0;
            continue;
        }
        if (rc == 0) {
            live = malloc(f->n_chunks);
            rc = live ? gc_mark(s, &cand.h[x], f->n_chunks, live, &n_live)
                      : weft_err_set(WEFT_ENOMEM, "gc: out of memory");
        }
        uint64_t live_raw = 0;
        for (uint32_t i = 0; rc == 0 && i < f->n_chunks; i++)
            if (live[i])
                live_raw += f->raw_off[i + 1] - f->raw_off[i];
        /* Fewer than half the raw bytes live (dead xorbs went in sweep 1). */
        if (rc == 0 && n_live > 0 && 2 * live_raw < f->raw_off[f->n_chunks])
            rc = gc_rewrite(s, &cand.h[x], f, obj, live, res);
        if (rc == WEFT_ECORRUPT) {
            weft_log_warn("gc: skipping a xorb: %s", weft_err_last());
            res->xorbs_skipped++;
            rc = 0;
        }
        free(live);
        weft_xorb_footer_free(f);
    }
    free(cand.h);
    return rc;
}

typedef struct gc_orphans {
    weft_store *s;
    int64_t before;
    sqlite3_stmt *known;
    char **names;
    size_t n, alloc;
} gc_orphans;

/* 1 if the index has a row for object `name` (a temp file or stray name never does). */
static int gc_indexed(gc_orphans *o, const char *name, int *indexed)
{
    return weft_store__object_indexed(o->s, o->known, name, indexed);
}

static int gc_orphan_seen(const char *name, int64_t mtime, void *payload)
{
    gc_orphans *o = payload;
    int indexed = 0;
    if (mtime > o->before)
        return 0;
    int rc = gc_indexed(o, name, &indexed);
    if (rc < 0 || indexed)
        return rc;
    if (o->n == o->alloc) {
        size_t n = o->alloc ? o->alloc * 2 : 16;
        char **p = realloc(o->names, n * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "gc: out of memory");
        o->names = p;
        o->alloc = n;
    }
    o->names[o->n] = strdup(name);
    if (o->names[o->n] == NULL)
        return weft_err_set(WEFT_ENOMEM, "gc: out of memory");
    o->n++;
    return 0;
}

/* Sweep 3: objects the index does not name. */
static int gc_drop_orphans(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_orphans o = {.s = s, .before = before};
    int in_txn = 0;
    int rc = weft_store__prepare(s, &o.known, "SELECT object FROM xorbs WHERE hash = ?1");
    if (rc == 0)
        rc = s->backend->list(s->backend, gc_orphan_seen, &o);
    if (rc < 0 || o.n == 0)
        goto out;
    /* Re-checked under the write lock, where no upload can commit a row for one of them. */
    rc = weft_store__begin(s);
    in_txn = rc == 0;
    for (size_t i = 0; rc == 0 && i < o.n; i++) {
        int indexed = 0;
        rc = gc_indexed(&o, o.names[i], &indexed);
        if (rc < 0 || indexed)
            continue;
        uint64_t size = 0;
        if (s->backend->size(s->backend, o.names[i], &size) == 0)
            res->bytes_freed += size;
        rc = s->backend->remove(s->backend, o.names[i]);
        res->orphans_deleted++;
    }
    if (rc == 0)
        rc = weft_store__commit(s);
    in_txn = 0;
out:
    if (in_txn)
        weft_store__rollback(s);
    sqlite3_finalize(o.known);
    for (size_t i = 0; i < o.n; i++)
        free(o.names[i]);
    free(o.names);
    return rc;
}

int weft_store_gc(weft_store *s, int64_t grace_seconds, weft_store_gc_result *out)
{
    weft_store_gc_result res = {0};
    int64_t before = (int64_t)time(NULL) - (grace_seconds < 0 ? 0 : grace_seconds);
    int rc = gc_drop_dead(s, before, &res);
    if (rc == 0)
        rc = gc_rewrite_sparse(s, before, &res);
    if (rc == 0)
        rc = gc_drop_orphans(s, before, &res);
    if (out != NULL)
        *out = res;
    return rc;
}
