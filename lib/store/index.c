/* The store's index in SQLite: schema and migrations (applied, with the connection settings, by
 * weft/sqlite_db.h), and the queries on files (include/weft/store.h, lib/store/store_internal.h).
 *
 * Schema (docs/internals/store.md has the full story):
 *   xorbs(hash, n_chunks, raw_bytes, stored_bytes, created)   objects the index vouches for
 *   chunks(hash, xorb, idx, size)                             where one copy of a chunk lives
 *   files(xet_hash, sha256 UNIQUE, size, created)             the live files (gc's roots)
 *   terms(file, seq, xorb, chunk_start, chunk_end, raw_bytes) each file's reconstruction
 *   schema_migrations(version, applied)                       which migrations ran
 *   xorbs.object, bases, xorb_bases, xorb_codecs              weight codecs (codec.c)
 * Hashes are 32-byte blobs of the raw hash bytes. Invariants every writer keeps, each in one
 * transaction: a chunks row's xorb has a xorbs row; a terms row's xorb has a xorbs row and its
 * chunk range lies inside it; a xorbs row's object is durable on the backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "weft/sha256.h"
#include "weft/sqlite_db.h"

#define INDEX_CACHE_KIB 32768

/* Migration k (1-based) brings the schema from version k-1 to k. Append only; never edit one
 * that has shipped. Version 1 is also what stores made before schema_migrations recorded in
 * meta.schema_version. */
static const char *const index_migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS xorbs(hash BLOB PRIMARY KEY, n_chunks INTEGER NOT NULL,"
    "  raw_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS chunks(hash BLOB PRIMARY KEY, xorb BLOB NOT NULL,"
    "  idx INTEGER NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS chunks_by_xorb ON chunks(xorb);"
    "CREATE TABLE IF NOT EXISTS files(xet_hash BLOB PRIMARY KEY, sha256 BLOB NOT NULL,"
    "  size INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS files_by_sha256 ON files(sha256);"
    "CREATE TABLE IF NOT EXISTS terms(file BLOB NOT NULL, seq INTEGER NOT NULL,"
    "  xorb BLOB NOT NULL, chunk_start INTEGER NOT NULL, chunk_end INTEGER NOT NULL,"
    "  raw_bytes INTEGER NOT NULL, PRIMARY KEY(file, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS terms_by_xorb ON terms(xorb);",
    /* 2: one file per SHA-256 (the LFS oid names a file as surely as the Xet hash does); gc's
     * "xorbs older than" scan. */
    "DROP INDEX IF EXISTS files_by_sha256;"
    "CREATE UNIQUE INDEX files_sha256 ON files(sha256);"
    "CREATE INDEX xorbs_by_created ON xorbs(created);",
    /* 3: weight codecs (lib/store/codec.c). xorbs.object names the backend object of a xorb
     * whose chunks were re-coded (NULL: the object is named by the xorb hash); bases numbers the
     * files delta-coded chunks were coded against (the number is part of each frame's base_ref);
     * xorb_bases says which bases a xorb's chunks need, so gc and remove know; xorb_codecs
     * counts a re-coded xorb's chunks by codec for `weft store stats --by codec`. */
    "ALTER TABLE xorbs ADD COLUMN object TEXT;"
    "CREATE TABLE bases(id INTEGER PRIMARY KEY, file BLOB NOT NULL UNIQUE);"
    "CREATE TABLE xorb_bases(xorb BLOB NOT NULL, base INTEGER NOT NULL,"
    "  PRIMARY KEY(xorb, base)) WITHOUT ROWID;"
    "CREATE INDEX xorb_bases_by_base ON xorb_bases(base);"
    "CREATE TABLE xorb_codecs(xorb BLOB NOT NULL, codec TEXT NOT NULL, chunks INTEGER NOT NULL,"
    "  raw_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL,"
    "  PRIMARY KEY(xorb, codec)) WITHOUT ROWID;",
};
#define INDEX_VERSION ((int)(sizeof index_migrations / sizeof index_migrations[0]))

static const weft_sqlite_db_schema index_schema = {
    .label = "store index",
    .migrations = index_migrations,
    .n_migrations = INDEX_VERSION,
    .legacy_version_sql = "SELECT value FROM meta WHERE key = 'schema_version'",
};

static int index_db_error(sqlite3 *db, const char *what)
{
    return weft_sqlite_db_error(db, "store index", what);
}

static int index_exec(sqlite3 *db, const char *sql, const char *what)
{
    return weft_sqlite_db_exec(db, sql, "store index", what);
}

int weft_store__index_open(sqlite3 **out, const char *path, int migrate)
{
    sqlite3 *db = NULL;
    int rc = weft_sqlite_db_open(&db, path, "store index", INDEX_CACHE_KIB);
    if (rc == 0 && migrate)
        rc = weft_sqlite_db_migrate(db, path, &index_schema);
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

int weft_store__db_error(weft_store *s, const char *what)
{
    return index_db_error(s->db, what);
}

int weft_store__exec(weft_store *s, const char *sql)
{
    return index_exec(s->db, sql, "exec");
}

int weft_store__prepare(weft_store *s, sqlite3_stmt **out, const char *sql)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
        return weft_store__db_error(s, "prepare");
    return 0;
}

int weft_store__begin(weft_store *s)
{
    return index_exec(s->db, "BEGIN IMMEDIATE", "begin");
}

int weft_store__commit(weft_store *s)
{
    return index_exec(s->db, "COMMIT", "commit");
}

void weft_store__rollback(weft_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int weft_store__hash_col(weft_hash *h, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_bytes(st, col) != WEFT_HASH_LEN)
        return weft_err_set(WEFT_ECORRUPT, "store index: a hash column is not 32 bytes");
    memcpy(h->b, sqlite3_column_blob(st, col), WEFT_HASH_LEN);
    return 0;
}

int weft_store__exec_hash(weft_store *s, const char *sql, const weft_hash *h)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, h->b, WEFT_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_store__db_error(s, "update");
    sqlite3_finalize(st);
    return rc;
}

int weft_store__xorb_insert(weft_store *s, const weft_xorb_footer *f, uint64_t stored_bytes,
                            int move_chunks)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st,
                                 "INSERT OR REPLACE INTO xorbs(hash, n_chunks, raw_bytes, "
                                 "stored_bytes, created) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, f->hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->n_chunks);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)f->raw_off[f->n_chunks]);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)stored_bytes);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_store__db_error(s, "insert xorb");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* A replaced row names the plain object again: its codec counts no longer apply. */
    rc = weft_store__exec_hash(s, "DELETE FROM xorb_codecs WHERE xorb = ?1", &f->hash);
    if (rc < 0)
        goto out;
    /* A chunk already placed in another xorb keeps that place unless moving: two uploads that
     * stored it concurrently just missed a dedup. */
    rc = weft_store__prepare(s, &st,
                             move_chunks ? "INSERT OR REPLACE INTO chunks(hash, xorb, idx, size) "
                                           "VALUES(?1, ?2, ?3, ?4)"
                                         : "INSERT OR IGNORE INTO chunks(hash, xorb, idx, size) "
                                           "VALUES(?1, ?2, ?3, ?4)");
    for (uint32_t i = 0; rc == 0 && i < f->n_chunks; i++) {
        sqlite3_bind_blob(st, 1, f->chunk_hashes[i].b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, f->hash.b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, i);
        sqlite3_bind_int64(st, 4, f->raw_off[i + 1] - f->raw_off[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "insert chunk");
        sqlite3_reset(st);
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int weft_store__xorb_object(weft_store *s, const weft_hash *x, char name[WEFT_STORE_OBJ_MAX],
                            int *coded)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, "SELECT object FROM xorbs WHERE hash = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    weft_xet_hash_to_hex(name, x);
    *coded = 0;
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        const char *o = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n <= WEFT_HASH_HEX_LEN || n >= WEFT_STORE_OBJ_MAX ||
            memcmp(o, name, WEFT_HASH_HEX_LEN) != 0) {
            rc = weft_err_set(WEFT_ECORRUPT, "store index: xorb %s names object '%.80s'", name, o);
        } else {
            memcpy(name, o, n + 1);
            *coded = 1;
        }
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = weft_store__db_error(s, "find xorb object");
    }
    sqlite3_finalize(st);
    return rc;
}

int weft_store__object_indexed(weft_store *s, sqlite3_stmt *st, const char *name, int *indexed)
{
    weft_hash h;
    size_t n = strlen(name);
    *indexed = 0;
    /* "<hex>" or "<hex>.w<generation>"; anything else (temp files) is nobody's. */
    if (n < WEFT_HASH_HEX_LEN || weft_xet_hash_from_hex(&h, name, WEFT_HASH_HEX_LEN) < 0 ||
        (n > WEFT_HASH_HEX_LEN && name[WEFT_HASH_HEX_LEN] != '.')) {
        weft_err_clear();
        return 0;
    }
    sqlite3_bind_blob(st, 1, h.b, WEFT_HASH_LEN, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *obj = (const char *)sqlite3_column_text(st, 0);
        *indexed = obj == NULL ? n == WEFT_HASH_HEX_LEN : strcmp(obj, name) == 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return weft_store__db_error(s, "find xorb");
    return 0;
}

int weft_store__xorb_known(weft_store *s, const weft_hash *x, int *known)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, "SELECT 1 FROM xorbs WHERE hash = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *known = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "find xorb");
    sqlite3_finalize(st);
    return rc;
}

int weft_store__terms_load(weft_store *s, const weft_hash *file, weft_store_term **out,
                           size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    weft_store_term *v = NULL;
    size_t n = 0, alloc = 0;
    int step = SQLITE_DONE;
    int rc = weft_store__prepare(s, &st,
                                 "SELECT xorb, chunk_start, chunk_end, raw_bytes FROM terms "
                                 "WHERE file = ?1 ORDER BY seq");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            weft_store_term *p = realloc(v, alloc * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "store: out of memory loading terms");
                goto out;
            }
            v = p;
        }
        weft_store_term *t = &v[n];
        rc = weft_store__hash_col(&t->xorb, st, 0);
        if (rc < 0)
            goto out;
        sqlite3_int64 cs = sqlite3_column_int64(st, 1), ce = sqlite3_column_int64(st, 2);
        sqlite3_int64 raw = sqlite3_column_int64(st, 3);
        /* Bounded here so every later use can trust them. */
        if (cs < 0 || ce <= cs || ce > WEFT_XORB_MAX_CHUNKS || raw <= 0 ||
            raw > (sqlite3_int64)(ce - cs) * WEFT_XET_MAX_CHUNK_LEN) {
            rc = weft_err_set(WEFT_ECORRUPT, "store index: term %zu of a file is out of range", n);
            goto out;
        }
        t->start = (uint32_t)cs;
        t->end = (uint32_t)ce;
        t->raw = (uint64_t)raw;
        n++;
    }
    if (step != SQLITE_DONE)
        rc = weft_store__db_error(s, "load terms");
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        v = NULL;
        n = 0;
    }
    *out = v;
    *n_out = n;
    return rc;
}

void weft_store__file_from_row(weft_store_file *f, sqlite3_stmt *st, int col)
{
    memset(f, 0, sizeof *f);
    if (sqlite3_column_bytes(st, col) == WEFT_HASH_LEN)
        memcpy(f->xet_hash.b, sqlite3_column_blob(st, col), WEFT_HASH_LEN);
    if (sqlite3_column_bytes(st, col + 1) == 32)
        memcpy(f->sha256, sqlite3_column_blob(st, col + 1), 32);
    f->size = (uint64_t)sqlite3_column_int64(st, col + 2);
    f->created = sqlite3_column_int64(st, col + 3);
}

int weft_store__files_using(weft_store *s, const weft_hash *xorb, weft_store_file **out,
                            size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    weft_store_file *v = NULL;
    size_t n = 0, alloc = 0;
    int step = SQLITE_DONE;
    int rc = weft_store__prepare(
        s, &st,
        "SELECT xet_hash, sha256, size, created FROM files WHERE xet_hash IN "
        "(SELECT DISTINCT file FROM terms WHERE xorb = ?1) ORDER BY created, xet_hash");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, xorb->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            weft_store_file *p = realloc(v, alloc * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "store: out of memory");
                goto out;
            }
            v = p;
        }
        weft_store__file_from_row(&v[n++], st, 0);
    }
    if (step != SQLITE_DONE)
        rc = weft_store__db_error(s, "files using a xorb");
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        v = NULL;
        n = 0;
    }
    *out = v;
    *n_out = n;
    return rc;
}

/* ---- files (include/weft/store.h) ---- */

static int index_find_file(weft_store *s, const char *sql, const void *a, const void *b,
                           const char *name, weft_store_file *out)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, a, WEFT_HASH_LEN, SQLITE_STATIC);
    if (b != NULL)
        sqlite3_bind_blob(st, 2, b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        weft_store__file_from_row(out, st, 0);
    else if (step == SQLITE_DONE)
        rc = weft_err_set(WEFT_ENOTFOUND, "no file with hash %s in the store", name);
    else
        rc = weft_store__db_error(s, "find file");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_lookup(weft_store *s, const char *hex, weft_store_file *out)
{
    size_t len = strlen(hex);
    uint8_t sha[32];
    weft_hash xet;
    /* Both readings of the same 64 digits: a SHA-256 and a Xet hash can't be told apart. */
    if (len != 64 || weft_hex_decode(sha, 32, hex, len) < 0 ||
        weft_xet_hash_from_hex(&xet, hex, len) < 0)
        return weft_err_set(WEFT_EINVALID,
                            "'%.80s' is not a hash: expected 64 hex digits (a SHA-256 or a Xet "
                            "file hash)",
                            hex);
    return index_find_file(s,
                           "SELECT xet_hash, sha256, size, created FROM files "
                           "WHERE sha256 = ?1 OR xet_hash = ?2 LIMIT 1",
                           sha, xet.b, hex, out);
}

int weft_store_stat(weft_store *s, const weft_hash *file, weft_store_file *out)
{
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, file);
    return index_find_file(s,
                           "SELECT xet_hash, sha256, size, created FROM files WHERE xet_hash = ?1",
                           file->b, NULL, hex, out);
}

int weft_store_list(weft_store *s, int (*cb)(const weft_store_file *f, void *payload),
                    void *payload)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    int rc = weft_store__prepare(
        s, &st, "SELECT xet_hash, sha256, size, created FROM files ORDER BY created, rowid");
    if (rc < 0)
        return rc;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_file f;
        weft_store__file_from_row(&f, st, 0);
        rc = cb(&f, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "list files");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_remove(weft_store *s, const weft_hash *file)
{
    int rc = weft_store__begin(s);
    if (rc < 0)
        return rc;
    /* A delta base stays while a live file needs it; xorbs coded against it that no file uses
     * any more go with it (their objects become orphans for gc). */
    rc = weft_store__base_release(s, file);
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM files WHERE xet_hash = ?1", file);
    if (rc == 0 && sqlite3_changes(s->db) == 0) {
        char hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(hex, file);
        rc = weft_err_set(WEFT_ENOTFOUND, "no file with hash %s in the store", hex);
    }
    if (rc == 0)
        rc = weft_store__exec_hash(s, "DELETE FROM terms WHERE file = ?1", file);
    if (rc == 0)
        rc = weft_store__commit(s);
    if (rc < 0)
        weft_store__rollback(s);
    return rc;
}

int weft_store_get_stats(weft_store *s, weft_store_stats *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    /* One statement, so the figures come from one snapshot. */
    int rc = weft_store__prepare(
        s, &st,
        "SELECT (SELECT count(*) FROM files), (SELECT coalesce(sum(size), 0) FROM files),"
        " count(*), coalesce(sum(stored_bytes), 0), coalesce(sum(raw_bytes), 0),"
        " coalesce(sum(n_chunks), 0) FROM xorbs");
    if (rc < 0)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->n_files = (uint64_t)sqlite3_column_int64(st, 0);
        out->logical_bytes = (uint64_t)sqlite3_column_int64(st, 1);
        out->n_xorbs = (uint64_t)sqlite3_column_int64(st, 2);
        out->physical_bytes = (uint64_t)sqlite3_column_int64(st, 3);
        out->unique_bytes = (uint64_t)sqlite3_column_int64(st, 4);
        out->n_chunks = (uint64_t)sqlite3_column_int64(st, 5);
    } else {
        rc = weft_store__db_error(s, "stats");
    }
    sqlite3_finalize(st);
    return rc;
}
