/* Garbage collection: mark and sweep from the live files (include/weft/store.h).
 *
 * Mark: the chunk ranges of every term. Sweep, each step crash-safe because index rows change
 * in one transaction before any object is deleted, and a new object is durable before rows
 * name it:
 *  1. xorbs that no term uses are dropped from the index, then their objects deleted;
 *  2. xorbs of which less than half the raw bytes are live are rewritten: live chunks are
 *     copied into a new xorb, then terms and chunk rows move to it, then the old object goes;
 *  3. backend objects the index does not name (left by crashes) are deleted.
 * Only xorbs and objects older than the grace window are touched, so uploads in flight keep
 * theirs; an upload that deduplicated against a xorb removed meanwhile fails at commit
 * (ingest.c re-checks its xorbs) instead of committing a dangling reference. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "weft/chunker.h"

#define GC_LIVE_SHARE_MIN 0.5

typedef struct gc_names {
    weft_hash *h;
    size_t n, alloc;
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

static int gc_collect(weft_store *s, const char *sql, int64_t bind, gc_names *out)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, bind);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        weft_hash h;
        if (sqlite3_column_bytes(st, 0) != WEFT_HASH_LEN)
            continue;
        memcpy(h.b, sqlite3_column_blob(st, 0), WEFT_HASH_LEN);
        rc = gc_names_push(out, &h);
    }
    sqlite3_finalize(st);
    return rc;
}

static int gc_exec_hash(weft_store *s, const char *sql, const weft_hash *h)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, h->b, WEFT_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_store__db_error(s, "gc");
    sqlite3_finalize(st);
    return rc;
}

/* Step 1: xorbs no term uses. */
static int gc_drop_dead(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_names dead = {0};
    int rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = gc_collect(s, "SELECT hash FROM xorbs WHERE created <= ?1 AND hash NOT IN "
                       "(SELECT DISTINCT xorb FROM terms)", before, &dead);
    for (size_t i = 0; rc == 0 && i < dead.n; i++) {
        rc = gc_exec_hash(s, "DELETE FROM chunks WHERE xorb = ?1", &dead.h[i]);
        if (rc == 0)
            rc = gc_exec_hash(s, "DELETE FROM xorbs WHERE hash = ?1", &dead.h[i]);
    }
    rc = rc == 0 ? weft_store__exec(s, "COMMIT")
                 : (sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL), rc);
    for (size_t i = 0; rc == 0 && i < dead.n; i++) {
        char name[WEFT_HASH_HEX_LEN + 1];
        uint64_t size = 0;
        weft_xet_hash_to_hex(name, &dead.h[i]);
        if (s->backend->size(s->backend, name, &size) == 0)
            res->bytes_freed += size;
        rc = s->backend->remove(s->backend, name);
        res->xorbs_deleted++;
    }
    free(dead.h);
    return rc;
}

/* Step 2 for one xorb: copy its live chunks (live[i] != 0) into a new xorb and move the index. */
static int gc_rewrite(weft_store *s, const weft_hash *old, const weft_xorb_footer *f,
                      const uint8_t *live, weft_store_gc_result *res)
{
    char name[WEFT_HASH_HEX_LEN + 1], new_name[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(name, old);
    weft_xorb_builder *b = NULL;
    uint32_t *map = calloc(f->n_chunks + 1, sizeof *map);
    uint8_t *chunk = malloc(2 * WEFT_XET_CHUNK_MAX + 64), *raw = malloc(WEFT_XET_CHUNK_MAX);
    sqlite3_stmt *st = NULL, *up = NULL;
    weft_xorb_built built;
    int rc = map && chunk && raw ? weft_xorb_builder_new(&b, WEFT_XET_SCHEME_AUTO)
                                 : weft_err_set(WEFT_ENOMEM, "gc: out of memory");
    for (uint32_t i = 0, k = 0; rc == 0 && i < f->n_chunks; i++) {
        if (!live[i])
            continue;
        size_t plen = f->phys_off[i + 1] - f->phys_off[i], raw_len = 0;
        rc = s->backend->get(s->backend, name, f->phys_off[i], chunk, plen);
        if (rc == 0)
            rc = weft_xorb_chunk_decode(raw, WEFT_XET_CHUNK_MAX, &raw_len, chunk, plen);
        weft_hash h;
        if (rc == 0) {
            weft_xet_chunk_hash(&h, raw, raw_len);
            if (!weft_hash_eq(&h, &f->chunk_hashes[i]))
                rc = weft_err_set(WEFT_ECORRUPT, "xorb %s: chunk %u does not match its hash; "
                                                 "run fsck", name, i);
        }
        if (rc == 0)
            rc = weft_xorb_builder_add(b, &h, raw, raw_len);
        map[i] = k++;
    }
    if (rc == 0)
        rc = weft_xorb_builder_finish(b, &built);
    if (rc == 0) {
        weft_xet_hash_to_hex(new_name, &built.hash);
        rc = s->backend->put(s->backend, new_name, built.bytes, built.len);
    }
    if (rc == 0)
        rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        goto out;
    rc = gc_exec_hash(s, "DELETE FROM chunks WHERE xorb = ?1", old);
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "INSERT OR REPLACE INTO xorbs(hash, n_chunks, raw_bytes, "
                                         "stored_bytes, created) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (rc == 0) {
        sqlite3_bind_blob(st, 1, built.hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, built.footer->n_chunks);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)built.raw_len);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)built.len);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "gc insert xorb");
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "INSERT OR REPLACE INTO chunks(hash, xorb, idx, size) "
                                         "VALUES(?1, ?2, ?3, ?4)");
    for (uint32_t i = 0; rc == 0 && i < built.footer->n_chunks; i++) {
        sqlite3_bind_blob(st, 1, built.footer->chunk_hashes[i].b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, built.hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, i);
        sqlite3_bind_int64(st, 4, built.footer->raw_off[i + 1] - built.footer->raw_off[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "gc insert chunk");
        sqlite3_reset(st);
    }
    if (st != NULL)
        sqlite3_finalize(st);
    st = NULL;
    /* Terms: live ranges stay contiguous because live chunks keep their order. */
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "SELECT file, seq, chunk_start, chunk_end FROM terms "
                                         "WHERE xorb = ?1");
    if (rc == 0)
        rc = weft_store__prepare(s, &up, "UPDATE terms SET xorb = ?1, chunk_start = ?2, "
                                         "chunk_end = ?3 WHERE file = ?4 AND seq = ?5");
    if (rc == 0)
        sqlite3_bind_blob(st, 1, old->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        uint32_t cs = (uint32_t)sqlite3_column_int64(st, 2), ce = (uint32_t)sqlite3_column_int64(st, 3);
        if (ce == 0 || ce > f->n_chunks || cs >= ce) {
            rc = weft_err_set(WEFT_ECORRUPT, "gc: term out of range for xorb %s", name);
            break;
        }
        sqlite3_bind_blob(up, 1, built.hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, map[cs]);
        sqlite3_bind_int64(up, 3, (sqlite3_int64)map[ce - 1] + 1);
        sqlite3_bind_value(up, 4, sqlite3_column_value(st, 0));
        sqlite3_bind_int64(up, 5, sqlite3_column_int64(st, 1));
        if (sqlite3_step(up) != SQLITE_DONE)
            rc = weft_store__db_error(s, "gc update term");
        sqlite3_reset(up);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    if (rc == 0 && !weft_hash_eq(old, &built.hash))
        rc = gc_exec_hash(s, "DELETE FROM xorbs WHERE hash = ?1", old);
    rc = rc == 0 ? weft_store__exec(s, "COMMIT")
                 : (sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL), rc);
    if (rc == 0 && !weft_hash_eq(old, &built.hash)) {
        rc = s->backend->remove(s->backend, name);
        res->xorbs_rewritten++;
        res->bytes_freed += f->phys_off[f->n_chunks] > built.data_len
                                ? f->phys_off[f->n_chunks] - built.data_len
                                : 0;
    }
out:
    weft_xorb_builder_free(b);
    free(map);
    free(chunk);
    free(raw);
    return rc;
}

/* Step 2: find xorbs whose live share is low. */
static int gc_rewrite_sparse(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_names all = {0};
    int rc = gc_collect(s, "SELECT hash FROM xorbs WHERE created <= ?1", before, &all);
    for (size_t x = 0; rc == 0 && x < all.n; x++) {
        weft_xorb_footer *f = NULL;
        sqlite3_stmt *st = NULL;
        rc = weft_store__load_footer(s, &all.h[x], &f, NULL);
        uint8_t *live = rc == 0 ? calloc(f->n_chunks, 1) : NULL;
        if (rc == 0 && live == NULL)
            rc = weft_err_set(WEFT_ENOMEM, "gc: out of memory");
        if (rc == 0)
            rc = weft_store__prepare(s, &st, "SELECT chunk_start, chunk_end FROM terms WHERE xorb = ?1");
        if (rc == 0) {
            sqlite3_bind_blob(st, 1, all.h[x].b, WEFT_HASH_LEN, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t cs = sqlite3_column_int64(st, 0), ce = sqlite3_column_int64(st, 1);
                for (int64_t i = cs < 0 ? 0 : cs; i < ce && i < f->n_chunks; i++)
                    live[i] = 1;
            }
            sqlite3_finalize(st);
        }
        uint64_t live_raw = 0;
        for (uint32_t i = 0; rc == 0 && i < f->n_chunks; i++)
            if (live[i])
                live_raw += f->raw_off[i + 1] - f->raw_off[i];
        if (rc == 0 && live_raw > 0 &&
            (double)live_raw < GC_LIVE_SHARE_MIN * (double)f->raw_off[f->n_chunks])
            rc = gc_rewrite(s, &all.h[x], f, live, res);
        free(live);
        weft_xorb_footer_free(f);
    }
    free(all.h);
    return rc;
}

typedef struct gc_orphans {
    weft_store *s;
    int64_t before;
    char **names;
    size_t n, alloc;
} gc_orphans;

static int gc_orphan_seen(const char *name, int64_t mtime, void *payload)
{
    gc_orphans *o = payload;
    if (mtime > o->before)
        return 0;
    weft_hash h;
    int known = 0;
    if (weft_xet_hash_from_hex(&h, name, strlen(name)) == 0) {
        sqlite3_stmt *st = NULL;
        int rc = weft_store__prepare(o->s, &st, "SELECT 1 FROM xorbs WHERE hash = ?1");
        if (rc < 0)
            return rc;
        sqlite3_bind_blob(st, 1, h.b, WEFT_HASH_LEN, SQLITE_STATIC);
        known = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    weft_err_clear();
    if (known)
        return 0;
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

/* Step 3: objects the index does not know (also temp files of interrupted puts). */
static int gc_drop_orphans(weft_store *s, int64_t before, weft_store_gc_result *res)
{
    gc_orphans o = {.s = s, .before = before};
    int rc = s->backend->list(s->backend, gc_orphan_seen, &o);
    for (size_t i = 0; i < o.n; i++) {
        if (rc == 0) {
            rc = s->backend->remove(s->backend, o.names[i]);
            res->orphans_deleted++;
        }
        free(o.names[i]);
    }
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
