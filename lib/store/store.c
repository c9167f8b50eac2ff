/* Store handle, index schema and file queries (include/weft/store.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "weft/fsutil.h"
#include "weft/sha256.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 60000
#define STORE_FOOTER_FIRST_READ (64u * 1024u)

static const char *const store_schema =
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
    "CREATE INDEX IF NOT EXISTS terms_by_xorb ON terms(xorb);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');";

int weft_store__db_error(weft_store *s, const char *what)
{
    int code = sqlite3_errcode(s->db);
    int rc = code == SQLITE_BUSY || code == SQLITE_LOCKED ? WEFT_ECONFLICT
             : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? WEFT_ECORRUPT
             : code == SQLITE_NOMEM                           ? WEFT_ENOMEM
                                                              : WEFT_EIO;
    return weft_err_set(rc, "store index: %s: %s", what, sqlite3_errmsg(s->db));
}

int weft_store__exec(weft_store *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return weft_store__db_error(s, "exec");
    return 0;
}

int weft_store__prepare(weft_store *s, sqlite3_stmt **out, const char *sql)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
        return weft_store__db_error(s, "prepare");
    return 0;
}

int weft_store_open(weft_store **out, const char *dir)
{
    char path[PATH_MAX];
    weft_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory");
    s->xorb_limit = WEFT_XORB_MAX_BYTES;
    s->ingest_scheme = WEFT_XET_SCHEME_NONE;
    int rc = weft_fs_mkdirs(dir);
    if (rc < 0)
        goto out;
    snprintf(path, sizeof path, "%s/xorbs", dir);
    rc = weft_backend_fs_open(&s->backend, path);
    if (rc < 0)
        goto out;
    snprintf(path, sizeof path, "%s/index.db", dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = weft_err_set(WEFT_EIO, "store: cannot open %s: %s", path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* WAL for concurrent readers; synchronous=FULL so a committed row survives power loss. */
    rc = weft_store__exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    if (rc == 0)
        rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc == 0) {
        rc = weft_store__exec(s, store_schema);
        rc = rc == 0 ? weft_store__exec(s, "COMMIT") : (weft_store__exec(s, "ROLLBACK"), rc);
    }
    if (rc == 0) {
        sqlite3_stmt *st = NULL;
        rc = weft_store__prepare(s, &st, "SELECT value FROM meta WHERE key='schema_version'");
        if (rc == 0 && sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_int(st, 0) > STORE_SCHEMA_VERSION)
            rc = weft_err_set(WEFT_EINVALID, "store %s: made by a newer weft (schema %d)", dir,
                              sqlite3_column_int(st, 0));
        sqlite3_finalize(st);
    }
out:
    if (rc < 0) {
        weft_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void weft_store_close(weft_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    weft_backend_close(s->backend);
    free(s);
}

void weft_store_set_xorb_limit(weft_store *s, size_t max_bytes)
{
    s->xorb_limit = max_bytes == 0 || max_bytes > WEFT_XORB_MAX_BYTES ? WEFT_XORB_MAX_BYTES
                                                                      : max_bytes;
}

void weft_store_set_compression(weft_store *s, int compress)
{
    s->ingest_scheme = compress ? WEFT_XET_SCHEME_AUTO : WEFT_XET_SCHEME_NONE;
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

int weft_store_lookup(weft_store *s, const char *hex, weft_store_file *out)
{
    size_t len = strlen(hex);
    uint8_t sha[32];
    weft_hash xet;
    if (weft_hex_decode(sha, 32, hex, len) < 0 || weft_xet_hash_from_hex(&xet, hex, len) < 0)
        return weft_err_set(WEFT_EINVALID, "'%s' is not a hash: expected 64 hex digits", hex);
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, "SELECT xet_hash, sha256, size, created FROM files "
                                         "WHERE sha256 = ?1 OR xet_hash = ?2 LIMIT 1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, xet.b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        weft_store__file_from_row(out, st, 0);
    else if (step == SQLITE_DONE)
        rc = weft_err_set(WEFT_ENOTFOUND, "no file with hash %s in the store", hex);
    else
        rc = weft_store__db_error(s, "lookup");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_list(weft_store *s, int (*cb)(const weft_store_file *f, void *payload),
                    void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(
        s, &st, "SELECT xet_hash, sha256, size, created FROM files ORDER BY created, rowid");
    if (rc < 0)
        return rc;
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_file f;
        weft_store__file_from_row(&f, st, 0);
        rc = cb(&f, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "list");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_remove(weft_store *s, const weft_hash *file)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = weft_store__prepare(s, &st, "DELETE FROM files WHERE xet_hash = ?1");
    if (rc == 0) {
        sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "remove file");
        else if (sqlite3_changes(s->db) == 0)
            rc = weft_err_set(WEFT_ENOTFOUND, "no such file in the store");
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "DELETE FROM terms WHERE file = ?1");
    if (rc == 0) {
        sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "remove terms");
        sqlite3_finalize(st);
    }
    if (rc == 0)
        return weft_store__exec(s, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int store_query_u64(weft_store *s, const char *sql, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, sql);
    if (rc < 0)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = weft_store__db_error(s, "stats");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_get_stats(weft_store *s, weft_store_stats *out)
{
    memset(out, 0, sizeof *out);
    int rc = store_query_u64(s, "SELECT count(*) FROM files", &out->n_files);
    if (rc == 0)
        rc = store_query_u64(s, "SELECT coalesce(sum(size), 0) FROM files", &out->logical_bytes);
    if (rc == 0)
        rc = store_query_u64(s, "SELECT count(*) FROM xorbs", &out->n_xorbs);
    if (rc == 0)
        rc = store_query_u64(s, "SELECT coalesce(sum(stored_bytes), 0) FROM xorbs",
                             &out->physical_bytes);
    if (rc == 0)
        rc = store_query_u64(s, "SELECT coalesce(sum(raw_bytes), 0) FROM xorbs",
                             &out->unique_bytes);
    if (rc == 0)
        rc = store_query_u64(s, "SELECT coalesce(sum(n_chunks), 0) FROM xorbs", &out->n_chunks);
    return rc;
}

int weft_store__load_footer(weft_store *s, const weft_hash *xorb, weft_xorb_footer **out,
                            uint64_t *object_len)
{
    char name[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(name, xorb);
    uint64_t size = 0;
    int rc = s->backend->size(s->backend, name, &size);
    if (rc < 0)
        return rc;
    size_t tail_len = size < STORE_FOOTER_FIRST_READ ? (size_t)size : STORE_FOOTER_FIRST_READ;
    size_t footer_len = 0;
    uint8_t *tail = malloc(tail_len ? tail_len : 1);
    if (tail == NULL)
        return weft_err_set(WEFT_ENOMEM, "xorb %s: out of memory", name);
    rc = s->backend->get(s->backend, name, size - tail_len, tail, tail_len);
    if (rc == 0)
        rc = weft_xorb_footer_len(&footer_len, NULL, tail, tail_len, size);
    if (rc == 0 && footer_len > tail_len) {
        uint8_t *more = realloc(tail, footer_len);
        if (more == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "xorb %s: out of memory", name);
        } else {
            tail = more;
            tail_len = footer_len;
            rc = s->backend->get(s->backend, name, size - tail_len, tail, tail_len);
        }
    }
    if (rc == 0)
        rc = weft_xorb_footer_parse(out, tail, tail_len, size);
    free(tail);
    if (rc < 0)
        return weft_err_wrap(rc, "xorb %s", name);
    if (object_len != NULL)
        *object_len = size;
    return 0;
}

int weft_store__files_using(weft_store *s, const weft_hash *xorb, weft_store_file **out,
                            size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n_out = 0;
    int rc = weft_store__prepare(
        s, &st, "SELECT xet_hash, sha256, size, created FROM files WHERE xet_hash IN "
                "(SELECT DISTINCT file FROM terms WHERE xorb = ?1) ORDER BY created");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, xorb->b, WEFT_HASH_LEN, SQLITE_STATIC);
    size_t alloc = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n_out == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            weft_store_file *p = realloc(*out, alloc * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "store: out of memory");
                break;
            }
            *out = p;
        }
        weft_store__file_from_row(&(*out)[(*n_out)++], st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}
