/* The metadata database: opening, the schema and its migrations, the SQLite helpers the other
 * files of lib/meta share, and the server's secrets (include/weft/meta.h).
 *
 * Schema (one SQLite file, settings and migrations by weft/sqlite_db.h):
 *   accounts(id, name UNIQUE, is_org, is_admin, created)   users and orgs, one namespace
 *   members(org_id, user_id, is_admin, added)              org membership
 *   tokens(id, hash UNIQUE, user_id, name, role, created, last_used)
 *                                                          live tokens; hash = SHA-256 hex
 *   repos(id, type, ns, name, uid UNIQUE, private, created, modified, card_json)
 *                                                          keyed by (type, ns, name)
 *   secrets(name, value)                                   32-byte server keys
 *   schema_migrations(version, applied)
 * The file is created 0600 (SQLite gives its -wal and -shm files the same mode): it holds the
 * server's keys. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "meta_internal.h"
#include "weft/sqlite_db.h"

#define META_LABEL "metadata"
#define META_SECRET_LEN 32

/* Migration k (1-based) brings the schema from version k-1 to k. Append only; never edit one
 * that has shipped. */
static const char *const meta_migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  is_org INTEGER NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    /* No two names that differ only in case (names are ASCII, which NOCASE folds). */
    "CREATE UNIQUE INDEX accounts_name_nocase ON accounts(name COLLATE NOCASE);"
    "CREATE TABLE members(org_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  user_id INTEGER NOT NULL REFERENCES accounts(id), is_admin INTEGER NOT NULL,"
    "  added INTEGER NOT NULL, PRIMARY KEY(org_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX members_by_user ON members(user_id, org_id);"
    /* AUTOINCREMENT: the id of a revoked (deleted) token is never given to a new one. */
    "CREATE TABLE tokens(id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,"
    "  role INTEGER NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX tokens_by_user ON tokens(user_id, name);"
    "CREATE TABLE repos(id INTEGER PRIMARY KEY, type INTEGER NOT NULL, ns TEXT NOT NULL,"
    "  name TEXT NOT NULL, uid TEXT NOT NULL UNIQUE, private INTEGER NOT NULL,"
    "  created INTEGER NOT NULL, modified INTEGER NOT NULL, card_json TEXT,"
    "  UNIQUE(type, ns, name));"
    "CREATE INDEX repos_by_modified ON repos(type, modified);"
    "CREATE TABLE secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL);",
};

static const weft_sqlite_db_schema meta_schema = {
    .label = META_LABEL,
    .migrations = meta_migrations,
    .n_migrations = (int)(sizeof meta_migrations / sizeof meta_migrations[0]),
    .legacy_version_sql = NULL,
};

/* ---- helpers (lib/meta/meta_internal.h) --------------------------------------------------- */

int weft_meta__db_error(weft_meta *m, const char *what)
{
    return weft_sqlite_db_error(m->db, META_LABEL, what);
}

int weft_meta__prepare(weft_meta *m, sqlite3_stmt **out, const char *sql)
{
    if (sqlite3_prepare_v2(m->db, sql, -1, out, NULL) != SQLITE_OK) {
        *out = NULL;
        return weft_meta__db_error(m, "prepare");
    }
    return 0;
}

int weft_meta__is_unique_violation(weft_meta *m)
{
    int code = sqlite3_extended_errcode(m->db);
    return code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY;
}

int weft_meta__begin(weft_meta *m)
{
    return weft_sqlite_db_exec(m->db, "BEGIN IMMEDIATE", META_LABEL, "begin");
}

int weft_meta__commit(weft_meta *m)
{
    return weft_sqlite_db_exec(m->db, "COMMIT", META_LABEL, "commit");
}

void weft_meta__rollback(weft_meta *m)
{
    if (!sqlite3_get_autocommit(m->db))
        sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
}

int weft_meta__random(uint8_t *out, size_t n)
{
    if (n > INT32_MAX || RAND_bytes(out, (int)n) != 1)
        return weft_err_set(WEFT_EIO, "metadata: the random number generator failed");
    return 0;
}

void weft_meta__copy_name(char dst[WEFT_NAME_MAX + 1], sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n > WEFT_NAME_MAX)
        n = WEFT_NAME_MAX;
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

int64_t weft_meta__now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- open and close ----------------------------------------------------------------------- */

/* Creates the file with mode 0600 unless it exists, so the keys in it are the owner's alone.
 * An existing file is never opened here: closing a descriptor of a database file drops every
 * POSIX lock this process holds on it, including those of SQLite connections on other threads
 * (the server opens one connection per thread), which breaks SQLite's locking. */
static int meta_create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return 0;
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "metadata: cannot create %s", path);
    close(fd);
    return 0;
}

int weft_meta_open(weft_meta **out, const char *path)
{
    weft_meta *m = NULL;
    *out = NULL;
    int rc = meta_create_private(path);
    if (rc < 0)
        goto out;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "metadata: out of memory");
        goto out;
    }
    rc = weft_sqlite_db_open(&m->db, path, META_LABEL, 0);
    if (rc == 0)
        rc = weft_sqlite_db_exec(m->db, "PRAGMA foreign_keys=ON", META_LABEL, "settings");
    if (rc == 0)
        rc = weft_sqlite_db_migrate(m->db, path, &meta_schema);
out:
    if (rc < 0) {
        weft_meta_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void weft_meta_close(weft_meta *m)
{
    if (m == NULL)
        return;
    sqlite3_close(m->db);
    free(m);
}

/* ---- secrets ------------------------------------------------------------------------------ */

/* Reads the secret called name into out: 1 if found, 0 if absent, negative on error. */
static int meta_secret_read(weft_meta *m, const char *name, uint8_t out[META_SECRET_LEN])
{
    sqlite3_stmt *st = NULL;
    int rc = weft_meta__prepare(m, &st, "SELECT value FROM secrets WHERE name = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != META_SECRET_LEN) {
            rc = weft_err_set(WEFT_ECORRUPT, "metadata: secret '%s' is not %d bytes", name,
                              META_SECRET_LEN);
        } else {
            memcpy(out, sqlite3_column_blob(st, 0), META_SECRET_LEN);
            rc = 1;
        }
    } else if (step != SQLITE_DONE) {
        rc = weft_meta__db_error(m, "read secret");
    }
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_secret(weft_meta *m, const char *name, uint8_t out[32])
{
    sqlite3_stmt *st = NULL;
    uint8_t fresh[META_SECRET_LEN];
    char q[WEFT_META_QUOTE_LEN];
    int rc = 0;
    if (name == NULL || name[0] == '\0' || strnlen(name, WEFT_NAME_MAX + 1) > WEFT_NAME_MAX) {
        rc = weft_err_set(WEFT_EINVALID, "metadata: bad secret name '%s'",
                          weft_meta__quote(q, name ? name : ""));
        goto out;
    }
    rc = meta_secret_read(m, name, out);
    if (rc != 0)
        goto out;
    /* First use: whoever inserts first wins, and everyone reads the winner's value. */
    rc = weft_meta__random(fresh, sizeof fresh);
    if (rc < 0)
        goto out;
    rc = weft_meta__prepare(m, &st, "INSERT OR IGNORE INTO secrets(name, value) VALUES(?1, ?2)");
    if (rc < 0)
        goto out;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, fresh, sizeof fresh, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_meta__db_error(m, "create secret");
        goto out;
    }
    rc = meta_secret_read(m, name, out);
    if (rc == 0)
        rc = weft_err_set(WEFT_EIO, "metadata: secret '%s' vanished after its creation",
                          weft_meta__quote(q, name));
out:
    sqlite3_finalize(st);
    OPENSSL_cleanse(fresh, sizeof fresh);
    return rc < 0 ? rc : 0;
}
