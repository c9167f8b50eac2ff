/* SQLite connection settings and versioned schema migrations (include/weft/sqlite_db.h). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "weft/sqlite_db.h"

/* How long openers of one fresh file keep retrying the switch to WAL: 400 x 25 ms. */
#define SQLITE_DB_WAL_ATTEMPTS 400
#define SQLITE_DB_WAL_SLEEP_US 25000

int weft_sqlite_db_error(sqlite3 *db, const char *label, const char *what)
{
    int code = sqlite3_errcode(db);
    int rc = code == SQLITE_BUSY || code == SQLITE_LOCKED      ? WEFT_ECONFLICT
             : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? WEFT_ECORRUPT
             : code == SQLITE_NOMEM                            ? WEFT_ENOMEM
             : code == SQLITE_CONSTRAINT                       ? WEFT_ECONFLICT
                                                               : WEFT_EIO;
    return weft_err_set(rc, "%s: %s: %s", label, what, sqlite3_errmsg(db));
}

int weft_sqlite_db_exec(sqlite3 *db, const char *sql, const char *label, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return weft_sqlite_db_error(db, label, what);
    return 0;
}

int weft_sqlite_db_open(sqlite3 **out, const char *path, const char *label, int cache_kib)
{
    sqlite3 *db = NULL;
    int rc = 0;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = weft_err_set(WEFT_EIO, "%s: cannot open %s: %s", label, path,
                          db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(db, WEFT_SQLITE_DB_BUSY_TIMEOUT_MS);
    char pragmas[160];
    if (cache_kib > 0)
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-%d;",
                 cache_kib);
    else
        snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    /* Switching a new database to WAL takes an exclusive lock that SQLite's busy handler does
     * not wait for, so several processes opening one fresh file at once must retry. */
    for (int attempt = 0;; attempt++) {
        rc = weft_sqlite_db_exec(db, pragmas, label, "settings");
        int code = sqlite3_errcode(db);
        if (rc == 0 || attempt >= SQLITE_DB_WAL_ATTEMPTS ||
            (code != SQLITE_BUSY && code != SQLITE_LOCKED))
            break;
        usleep(SQLITE_DB_WAL_SLEEP_US);
    }
out:
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* The schema version: the newest applied migration, else what legacy_version_sql says, else 0
 * (an empty database). Call inside the migration's transaction. */
static int sqlite_db_version(sqlite3 *db, const weft_sqlite_db_schema *schema, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    *version = 0;
    /* schema_migrations may not exist yet: an empty database, or one from before it. */
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) ==
        SQLITE_OK) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *version = sqlite3_column_int(st, 0);
            goto out;
        }
        if (step != SQLITE_ROW) {
            rc = weft_sqlite_db_error(db, schema->label, "read schema version");
            goto out;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    /* A legacy query that does not prepare (its table is missing) means an empty database. */
    if (schema->legacy_version_sql != NULL &&
        sqlite3_prepare_v2(db, schema->legacy_version_sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_db_record(sqlite3 *db, const char *label, int version)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations(version, applied) VALUES(?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = weft_sqlite_db_error(db, label, "record migration");
        goto out;
    }
    sqlite3_bind_int(st, 1, version);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_sqlite_db_error(db, label, "record migration");
out:
    sqlite3_finalize(st);
    return rc;
}

int weft_sqlite_db_migrate(sqlite3 *db, const char *path, const weft_sqlite_db_schema *schema)
{
    const char *label = schema->label;
    int version = 0, newest = schema->n_migrations;
    int rc = weft_sqlite_db_exec(db, "BEGIN IMMEDIATE", label, "begin migration");
    if (rc < 0)
        return rc;
    rc = sqlite_db_version(db, schema, &version);
    if (rc == 0 && version > newest)
        rc = weft_err_set(WEFT_EINVALID,
                          "%s %s has schema version %d; this weft knows up to %d (upgrade weft)",
                          label, path, version, newest);
    if (rc == 0 && version < newest)
        rc = weft_sqlite_db_exec(db,
                                 "CREATE TABLE IF NOT EXISTS schema_migrations("
                                 "version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
                                 label, "create schema_migrations");
    for (int v = version; rc == 0 && v < newest; v++) {
        rc = weft_sqlite_db_exec(db, schema->migrations[v], label, "migrate");
        if (rc < 0) {
            rc = weft_err_wrap(rc, "%s %s: migration %d", label, path, v + 1);
            break;
        }
        rc = sqlite_db_record(db, label, v + 1);
    }
    if (rc == 0)
        return weft_sqlite_db_exec(db, "COMMIT", label, "commit migration");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
