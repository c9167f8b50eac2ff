/* Schema migrations of the metadata database (and of weft/sqlite_db.h, which the store's index
 * shares): a fresh file gets every migration recorded once, reopening is a no-op, a newer schema
 * is refused, an older one is brought up to date step by step, and the file is private. */
#include <sqlite3.h>
#include <sys/stat.h>

#include "unit/meta/meta_test.h"
#include "weft/sqlite_db.h"

static sqlite3 *raw_open(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mt_path, &db), SQLITE_OK);
    return db;
}

static sqlite3_int64 query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_meta_migrations_fresh_and_reopen(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    weft_meta_close(m);
    struct stat st;
    assert_int_equal(stat(mt_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sqlite3 *db = raw_open();
    sqlite3_int64 version = query_int(db, "SELECT max(version) FROM schema_migrations");
    assert_true(version >= 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), version);
    /* Mark the rows, to see that reopening does not rewrite them. */
    assert_int_equal(
        sqlite3_exec(db, "UPDATE schema_migrations SET applied = 42", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *jm = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &jm, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(jm), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(jm, 0), "wal");
    sqlite3_finalize(jm);
    sqlite3_close(db);
    for (int i = 0; i < 3; i++) {
        m = mt_open();
        assert_int_equal(weft_meta_account_get(m, "alice", NULL), 0);
        weft_meta_close(m);
    }
    db = raw_open();
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations WHERE applied = 42"),
                     version);
    assert_int_equal(query_int(db, "SELECT count(*) FROM accounts"), 1);
    sqlite3_close(db);
}

static void test_meta_migrations_refuses_newer(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    weft_meta_close(m);
    sqlite3 *db = raw_open();
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(999, 0)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    m = NULL;
    assert_int_equal(weft_meta_open(&m, mt_path), WEFT_EINVALID);
    assert_null(m);
    assert_non_null(strstr(weft_err_last(), "schema version 999"));
}

static void test_meta_migrations_bad_files(void **state)
{
    (void)state;
    weft_meta *m = NULL;
    FILE *f = fopen(mt_path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("this is not a database ", f);
    fclose(f);
    assert_int_equal(weft_meta_open(&m, mt_path), WEFT_ECORRUPT);
    assert_null(m);
    assert_non_null(strstr(weft_err_last(), "metadata"));
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir/meta.db", mt_dir);
    assert_int_equal(weft_meta_open(&m, missing), WEFT_EIO);
    assert_null(m);
    assert_non_null(strstr(weft_err_last(), "no/such/dir"));
}

/* weft_sqlite_db_migrate on its own: version 2 of a schema over a database at version 1, then
 * the same again, then a database from before schema_migrations (legacy version query). */
static const char *const two_steps[] = {
    "CREATE TABLE t(a INTEGER);",
    "ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7; INSERT INTO t(a) VALUES(1);",
};

static void test_meta_migrations_steps(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    weft_sqlite_db_schema v1 = {.label = "test", .migrations = two_steps, .n_migrations = 1};
    weft_sqlite_db_schema v2 = {.label = "test", .migrations = two_steps, .n_migrations = 2};
    assert_int_equal(weft_sqlite_db_open(&db, mt_path, "test", 0), 0);
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &v1), 0);
    assert_int_equal(query_int(db, "SELECT max(version) FROM schema_migrations"), 1);
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &v2), 0);
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &v2), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), 2);
    /* Migration 2 ran exactly once. */
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
    assert_int_equal(query_int(db, "SELECT b FROM t"), 7);
    /* An older weft refuses it. */
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &v1), WEFT_EINVALID);
    assert_non_null(strstr(weft_err_last(), "schema version 2"));
    sqlite3_close(db);
    /* Legacy: version 1 recorded the old way; only migration 2 runs. */
    assert_int_equal(mt_teardown(NULL), 0);
    assert_int_equal(mt_setup(NULL), 0);
    assert_int_equal(weft_sqlite_db_open(&db, mt_path, "test", 1024), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t(a INTEGER); CREATE TABLE v(n INTEGER);"
                                  "INSERT INTO v VALUES(1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    weft_sqlite_db_schema legacy = v2;
    legacy.legacy_version_sql = "SELECT n FROM v";
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &legacy), 0);
    assert_int_equal(query_int(db, "SELECT min(version) FROM schema_migrations"), 2);
    assert_int_equal(query_int(db, "SELECT b FROM t"), 7);
    /* A failing migration rolls back whole and says which. */
    static const char *const broken[] = {"CREATE TABLE t(a INTEGER);", "CREATE TABLE t(x);",
                                         "CREATE TABLE t(y);"};
    weft_sqlite_db_schema bad = {.label = "test", .migrations = broken, .n_migrations = 3};
    assert_int_equal(weft_sqlite_db_migrate(db, mt_path, &bad), WEFT_EIO);
    assert_non_null(strstr(weft_err_last(), "migration 3"));
    assert_int_equal(query_int(db, "SELECT max(version) FROM schema_migrations"), 2);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_migrations_fresh_and_reopen, mt_setup,
                                        mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_migrations_refuses_newer, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_migrations_bad_files, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_migrations_steps, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
