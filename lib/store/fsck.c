/* fsck: re-verify every xorb and check the index against the backend (include/weft/store.h).
 *
 * Pass 1, per xorb named by a xorbs row or by a term: read the object whole and verify it with
 * weft_xorb_parse_stored (headers, decoding, every chunk hash, the xorb hash against its name,
 * the footer's offsets), then its index rows: the xorbs row's counts and sizes, and every chunks
 * row that places a chunk in it. A bad xorb is reported once, with every file whose terms use it.
 * Pass 2, per file: its terms against the (now trusted) footers: ranges inside the xorb, byte
 * counts, the sum against the file's size, and the Xet file hash recomputed from the chunk hashes
 * and sizes the terms cover. Files are only checked against xorbs that passed pass 1.
 * Pass 3: objects no row names are counted as orphans (gc's business, not damage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "weft/chunker.h"

#define FSCK_FOOTER_CACHE 64

typedef struct fsck_ctx {
    weft_store *s;
    weft_store_fsck_cb cb;
    void *payload;
    weft_store_fsck_result *res;
    weft_hash *bad; /* xorbs already reported, sorted after pass 1 */
    size_t n_bad, bad_alloc;
    weft_hash *affected; /* files named in problems (duplicates allowed until the end) */
    size_t n_affected, affected_alloc;
    uint8_t *obj;
    size_t obj_cap;
} fsck_ctx;

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, WEFT_HASH_LEN);
}

static int fsck_push(weft_hash **v, size_t *n, size_t *alloc, const weft_hash *h)
{
    if (*n == *alloc) {
        size_t k = *alloc ? *alloc * 2 : 16;
        weft_hash *p = realloc(*v, k * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "fsck: out of memory");
        *v = p;
        *alloc = k;
    }
    (*v)[(*n)++] = *h;
    return 0;
}

/* Reports one problem with the given files. */
static int fsck_report(fsck_ctx *c, const char *xorb_hex, const char *reason,
                       const weft_store_file *files, size_t n_files)
{
    int rc = 0;
    c->res->problems++;
    for (size_t i = 0; rc == 0 && i < n_files; i++)
        rc = fsck_push(&c->affected, &c->n_affected, &c->affected_alloc, &files[i].xet_hash);
    if (c->cb != NULL) {
        weft_store_fsck_problem p = {
            .xorb_hex = xorb_hex, .reason = reason, .files = files, .n_files = n_files};
        c->cb(&p, c->payload);
    }
    return rc;
}

/* Reports a xorb problem with every file that uses the xorb, and remembers the xorb as bad. */
static int fsck_report_xorb(fsck_ctx *c, const weft_hash *xorb, const char *reason)
{
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_store_file *files = NULL;
    size_t n = 0;
    weft_xet_hash_to_hex(hex, xorb);
    int rc = weft_store__files_using(c->s, xorb, &files, &n);
    if (rc == 0)
        rc = fsck_report(c, hex, reason, files, n);
    if (rc == 0)
        rc = fsck_push(&c->bad, &c->n_bad, &c->bad_alloc, xorb);
    free(files);
    return rc;
}

/* The xorbs row (if any) and chunks rows of a verified xorb against its footer. Writes a reason
 * to `why` (empty if all agree). */
static int fsck_rows(fsck_ctx *c, const weft_hash *x, const weft_xorb_footer *f, uint64_t size,
                     char *why, size_t why_len)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    why[0] = '\0';
    int rc = weft_store__prepare(c->s, &st,
                                 "SELECT n_chunks, raw_bytes, stored_bytes FROM xorbs "
                                 "WHERE hash = ?1");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        snprintf(why, why_len, "terms name it but the index has no row for it");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = weft_store__db_error(c->s, "fsck: xorb row");
        goto out;
    }
    if (sqlite3_column_int64(st, 0) != f->n_chunks ||
        sqlite3_column_int64(st, 1) != (sqlite3_int64)f->raw_off[f->n_chunks] ||
        sqlite3_column_int64(st, 2) != (sqlite3_int64)size) {
        snprintf(why, why_len,
                 "index row says %lld chunks, %lld raw bytes, %lld stored; the object has %u, "
                 "%u, %llu",
                 (long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1),
                 (long long)sqlite3_column_int64(st, 2), f->n_chunks, f->raw_off[f->n_chunks],
                 (unsigned long long)size);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = weft_store__prepare(c->s, &st, "SELECT hash, idx, size FROM chunks WHERE xorb = ?1");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 idx = sqlite3_column_int64(st, 1), csize = sqlite3_column_int64(st, 2);
        if (sqlite3_column_bytes(st, 0) != WEFT_HASH_LEN || idx < 0 || idx >= f->n_chunks ||
            memcmp(sqlite3_column_blob(st, 0), f->chunk_hashes[idx].b, WEFT_HASH_LEN) != 0 ||
            csize != (sqlite3_int64)(f->raw_off[idx + 1] - f->raw_off[idx])) {
            snprintf(why, why_len, "the index places a chunk at index %lld, which holds another",
                     (long long)idx);
            goto out;
        }
    }
    if (step != SQLITE_DONE)
        rc = weft_store__db_error(c->s, "fsck: chunk rows");
out:
    sqlite3_finalize(st);
    return rc;
}

/* weft_xorb_parse_stored for a re-coded object in c->obj: the footer (checked against the
 * xorb's name) and every chunk decoded, weight frames through their bases, and re-hashed. */
static int fsck_coded(fsck_ctx *c, const weft_hash *x, size_t size, weft_xorb_footer **out)
{
    weft_xorb_footer *f = NULL;
    weft_store__codec *codec = NULL;
    uint8_t *scratch = malloc(WEFT_XET_CHUNK_MAX);
    int rc = scratch ? weft_store__load_footer(c->s, x, 1, &f, NULL)
                     : weft_err_set(WEFT_ENOMEM, "fsck: out of memory");
    if (rc == 0 && (uint64_t)f->phys_off[f->n_chunks] + WEFT_XORB_FOOTER_LEN(f->n_chunks) != size)
        rc = weft_err_set(WEFT_ECORRUPT, "its footer does not end the object");
    for (uint32_t k = 0; rc == 0 && k < f->n_chunks; k++) {
        const uint8_t *raw = NULL;
        rc = weft_store__chunk_decode(c->s, &codec, 1, f, k, c->obj + f->phys_off[k], scratch, 1,
                                      &raw);
    }
    free(scratch);
    weft_store__codec_free(codec);
    if (rc < 0) {
        weft_xorb_footer_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* Pass 1 for one xorb. */
static int fsck_xorb(fsck_ctx *c, const weft_hash *x)
{
    char hex[WEFT_STORE_OBJ_MAX], why[600];
    weft_xorb_footer *f = NULL;
    uint64_t size = 0;
    int coded = 0;
    c->res->xorbs_checked++;
    int r = weft_store__xorb_object(c->s, x, hex, &coded);
    if (r < 0)
        return r;
    r = c->s->backend->size(c->s->backend, hex, &size);
    if (r == 0 && size > (uint64_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN)
        r = weft_err_set(WEFT_ECORRUPT, "object is %llu bytes, over the xorb limit",
                         (unsigned long long)size);
    if (r == 0 && size > c->obj_cap) {
        weft_store__big_free(c->obj, c->obj_cap);
        c->obj_cap = (size_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN;
        c->obj = weft_store__big_alloc(c->obj_cap);
        if (c->obj == NULL) {
            c->obj_cap = 0;
            return weft_err_set(WEFT_ENOMEM, "fsck: out of memory");
        }
    }
    if (r == 0)
        r = c->s->backend->get(c->s->backend, hex, 0, c->obj, (size_t)size);
    if (r == 0)
        r = coded ? fsck_coded(c, x, (size_t)size, &f)
                  : weft_xorb_parse_stored(&f, c->obj, (size_t)size, x);
    if (r == WEFT_ENOMEM || r == WEFT_EIO) {
        weft_xorb_footer_free(f);
        return weft_err_wrap(r, "fsck: xorb %s", hex);
    }
    if (r < 0) {
        snprintf(why, sizeof why, "%s",
                 r == WEFT_ENOTFOUND ? "missing from the backend" : weft_err_last());
        return fsck_report_xorb(c, x, why);
    }
    c->res->bytes_checked += size;
    int rc = fsck_rows(c, x, f, size, why, sizeof why);
    weft_xorb_footer_free(f);
    if (rc == 0 && why[0] != '\0')
        rc = fsck_report_xorb(c, x, why);
    return rc;
}

typedef struct fsck_footers {
    weft_hash xorb[FSCK_FOOTER_CACHE];
    weft_xorb_footer *f[FSCK_FOOTER_CACHE];
    unsigned next;
} fsck_footers;

/* Pass 2 for one file: *why gets the first disagreement (empty if none). */
static int fsck_file(fsck_ctx *c, fsck_footers *cache, const weft_store_file *file, char *why,
                     size_t why_len, char *xorb_hex)
{
    weft_store_term *terms = NULL;
    weft_xet_node *nodes = NULL;
    size_t n_terms = 0, n_nodes = 0, nodes_alloc = 0;
    uint64_t total = 0;
    why[0] = xorb_hex[0] = '\0';
    int rc = weft_store__terms_load(c->s, &file->xet_hash, &terms, &n_terms);
    if (rc == WEFT_ECORRUPT) {
        snprintf(why, why_len, "%s", weft_err_last());
        rc = 0;
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < n_terms; i++) {
        const weft_store_term *t = &terms[i];
        if (c->n_bad > 0 && bsearch(&t->xorb, c->bad, c->n_bad, sizeof *c->bad, hash_cmp))
            goto out; /* reported with its xorb */
        weft_xorb_footer *f = NULL;
        for (unsigned k = 0; k < FSCK_FOOTER_CACHE; k++)
            if (cache->f[k] != NULL && weft_hash_eq(&cache->xorb[k], &t->xorb))
                f = cache->f[k];
        if (f == NULL) {
            rc = weft_store__load_footer(c->s, &t->xorb, 1, &f, NULL);
            if (rc < 0) {
                /* Changed since pass 1 (a concurrent gc): not damage in itself. */
                weft_xet_hash_to_hex(xorb_hex, &t->xorb);
                snprintf(why, why_len, "%s", weft_err_last());
                rc = 0;
                goto out;
            }
            unsigned k = cache->next++ % FSCK_FOOTER_CACHE;
            weft_xorb_footer_free(cache->f[k]);
            cache->f[k] = f;
            cache->xorb[k] = t->xorb;
        }
        if (t->end > f->n_chunks || f->raw_off[t->end] - f->raw_off[t->start] != t->raw) {
            weft_xet_hash_to_hex(xorb_hex, &t->xorb);
            snprintf(why, why_len,
                     "term %zu ([%u, %u), %llu bytes) does not fit the xorb's %u "
                     "chunks",
                     i, t->start, t->end, (unsigned long long)t->raw, f->n_chunks);
            goto out;
        }
        total += t->raw;
        if (n_nodes + (t->end - t->start) > nodes_alloc) {
            size_t k = nodes_alloc ? nodes_alloc : 1024;
            while (k < n_nodes + (t->end - t->start))
                k *= 2;
            weft_xet_node *p = realloc(nodes, k * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "fsck: out of memory");
                goto out;
            }
            nodes = p;
            nodes_alloc = k;
        }
        for (uint32_t k = t->start; k < t->end; k++) {
            nodes[n_nodes].hash = f->chunk_hashes[k];
            nodes[n_nodes++].size = f->raw_off[k + 1] - f->raw_off[k];
        }
    }
    if (rc < 0)
        goto out;
    if (total != file->size) {
        snprintf(why, why_len, "its terms hold %llu bytes, the file has %llu",
                 (unsigned long long)total, (unsigned long long)file->size);
        goto out;
    }
    weft_hash h;
    rc = weft_xet_file_hash(&h, nodes, n_nodes);
    if (rc == 0 && !weft_hash_eq(&h, &file->xet_hash))
        snprintf(why, why_len, "its chunks do not hash to its Xet file hash");
out:
    free(terms);
    free(nodes);
    return rc;
}

static int fsck_files(fsck_ctx *c)
{
    fsck_footers cache;
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    memset(&cache, 0, sizeof cache);
    int rc = weft_store__prepare(c->s, &st,
                                 "SELECT xet_hash, sha256, size, created FROM files "
                                 "ORDER BY created, xet_hash");
    if (rc < 0)
        goto out;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_file f;
        char why[600], xorb_hex[WEFT_HASH_HEX_LEN + 1];
        weft_store__file_from_row(&f, st, 0);
        c->res->files_checked++;
        rc = fsck_file(c, &cache, &f, why, sizeof why, xorb_hex);
        if (rc == 0 && why[0] != '\0')
            rc = fsck_report(c, xorb_hex, why, &f, 1);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(c->s, "fsck: files");
out:
    sqlite3_finalize(st);
    for (unsigned k = 0; k < FSCK_FOOTER_CACHE; k++)
        weft_xorb_footer_free(cache.f[k]);
    return rc;
}

typedef struct fsck_orphans {
    fsck_ctx *c;
    sqlite3_stmt *known;
} fsck_orphans;

static int fsck_orphan_seen(const char *name, int64_t mtime, void *payload)
{
    fsck_orphans *o = payload;
    int indexed = 0;
    (void)mtime;
    int rc = weft_store__object_indexed(o->c->s, o->known, name, &indexed);
    if (rc == 0 && !indexed)
        o->c->res->orphans++;
    return rc;
}

int weft_store_fsck(weft_store *s, weft_store_fsck_cb cb, void *payload,
                    weft_store_fsck_result *out)
{
    fsck_ctx c = {.s = s, .cb = cb, .payload = payload, .res = out};
    fsck_orphans o = {.c = &c};
    sqlite3_stmt *st = NULL;
    weft_hash *xorbs = NULL;
    size_t n_xorbs = 0, xorbs_alloc = 0;
    int step = SQLITE_DONE;
    memset(out, 0, sizeof *out);
    /* The list first, so the checks run without holding a read transaction open. */
    int rc = weft_store__prepare(s, &st,
                                 "SELECT hash FROM xorbs UNION "
                                 "SELECT DISTINCT xorb FROM terms ORDER BY 1");
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_hash h;
        rc = weft_store__hash_col(&h, st, 0);
        if (rc == 0)
            rc = fsck_push(&xorbs, &n_xorbs, &xorbs_alloc, &h);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "fsck: list xorbs");
    sqlite3_finalize(st);
    st = NULL;
    for (size_t i = 0; rc == 0 && i < n_xorbs; i++)
        rc = fsck_xorb(&c, &xorbs[i]);
    if (rc < 0)
        goto out;
    if (c.n_bad > 1)
        qsort(c.bad, c.n_bad, sizeof *c.bad, hash_cmp);
    rc = fsck_files(&c);
    if (rc == 0)
        rc = weft_store__prepare(s, &o.known, "SELECT object FROM xorbs WHERE hash = ?1");
    if (rc == 0)
        rc = s->backend->list(s->backend, fsck_orphan_seen, &o);
    if (rc < 0)
        goto out;
    if (c.n_affected > 1)
        qsort(c.affected, c.n_affected, sizeof *c.affected, hash_cmp);
    for (size_t i = 0; i < c.n_affected; i++)
        out->files_affected += i == 0 || !weft_hash_eq(&c.affected[i], &c.affected[i - 1]);
out:
    sqlite3_finalize(o.known);
    weft_store__big_free(c.obj, c.obj_cap);
    free(xorbs);
    free(c.bad);
    free(c.affected);
    return rc;
}
