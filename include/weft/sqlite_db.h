/* SQLite databases the way Weft keeps them: the connection settings and versioned schema
 * migrations shared by the store's index (lib/store/index.c) and the metadata database
 * (lib/meta).
 *
 * weft_sqlite_db_open() opens (creating) a file with a 60 s busy timeout, WAL (readers never block
 * the writer) and synchronous=FULL (a commit survives power loss), retrying the switch to WAL,
 * whose exclusive lock SQLite's busy handler does not wait for, so several processes may open one
 * fresh file at once. weft_sqlite_db_migrate() brings a schema up to date in one BEGIN IMMEDIATE
 * transaction: migration k (1-based) takes the schema from version k-1 to k and is recorded in
 * schema_migrations(version, applied); a database newer than the caller knows is refused. Running
 * it again is a no-op, and concurrent openers agree (the second one finds the work done).
 *
 * Ownership and threads: the caller owns the sqlite3 handle (sqlite3_close) and uses it from one
 * thread at a time. Errors: 0 or a negative WEFT_E* with a one-line message naming the database's
 * label ("store index", "metadata") and what failed: WEFT_EIO (cannot open, disk), WEFT_ECONFLICT
 * (busy past the timeout, a constraint), WEFT_ECORRUPT (not a database), WEFT_ENOMEM,
 * WEFT_EINVALID (a schema from a newer weft). Expected load: one open per handle; migrations run
 * once per upgrade. */
#ifndef WEFT_SQLITE_DB_H
#define WEFT_SQLITE_DB_H

#include <sqlite3.h>

#include "weft/err.h"

#define WEFT_SQLITE_DB_BUSY_TIMEOUT_MS 60000

typedef struct weft_sqlite_db_schema {
    const char *label;              /* for messages: "store index", "metadata" */
    const char *const *migrations;  /* SQL scripts, [k-1] takes version k-1 to k; append only */
    int n_migrations;               /* the newest version */
    const char *legacy_version_sql; /* one-row query giving the version of a database made
                                     * before schema_migrations existed, or NULL */
} weft_sqlite_db_schema;

/* Opens the database file at path (created if absent) with the settings above; cache_kib sets
 * the page cache (0 = SQLite's default). label names it in messages. *out is the caller's. */
WEFT_MUST_USE int weft_sqlite_db_open(sqlite3 **out, const char *path, const char *label,
                                      int cache_kib);

/* Applies the migrations the database has not had yet. path is for messages. */
WEFT_MUST_USE int weft_sqlite_db_migrate(sqlite3 *db, const char *path,
                                         const weft_sqlite_db_schema *schema);

/* Maps db's last failure to a WEFT_E* and records "<label>: <what>: <sqlite message>". */
int weft_sqlite_db_error(sqlite3 *db, const char *label, const char *what);

/* Runs SQL that returns no rows; on failure, weft_sqlite_db_error(db, label, what). */
WEFT_MUST_USE int weft_sqlite_db_exec(sqlite3 *db, const char *sql, const char *label,
                                      const char *what);

#endif
