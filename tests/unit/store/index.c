/* The index: schema creation and migrations (from an empty database, from the first stores that
 * recorded their version in meta, refusing a newer one), file lookups by either name, listing,
 * removal and stats. */
#include <sqlite3.h>

#include "unit/store/store_test.h"

static sqlite3 *open_db(void)
{
    char path[128];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/index.db", st_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
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

static void test_store_index_schema_created(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_close(s);
    sqlite3 *db = open_db();
    sqlite3_int64 version = query_int(db, "SELECT max(version) FROM schema_migrations");
    assert_true(version >= 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
                                   "'files_sha256'"),
                     1);
    sqlite3_close(db);
    /* Opening again changes nothing. */
    s = st_open();
    weft_store_close(s);
    db = open_db();
    assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), version);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A store written before schema_migrations existed: version 1 in meta, no unique index. */
static void test_store_index_migrates_first_schema(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                     "CREATE TABLE xorbs(hash BLOB PRIMARY KEY, n_chunks INTEGER NOT NULL,"
                     "  raw_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL,"
                     "  created INTEGER NOT NULL);"
                     "CREATE TABLE chunks(hash BLOB PRIMARY KEY, xorb BLOB NOT NULL,"
                     "  idx INTEGER NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID;"
                     "CREATE INDEX chunks_by_xorb ON chunks(xorb);"
                     "CREATE TABLE files(xet_hash BLOB PRIMARY KEY, sha256 BLOB NOT NULL,"
                     "  size INTEGER NOT NULL, created INTEGER NOT NULL);"
                     "CREATE INDEX files_by_sha256 ON files(sha256);"
                     "CREATE TABLE terms(file BLOB NOT NULL, seq INTEGER NOT NULL,"
                     "  xorb BLOB NOT NULL, chunk_start INTEGER NOT NULL,"
                     "  chunk_end INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
                     "  PRIMARY KEY(file, seq)) WITHOUT ROWID;"
                     "CREATE INDEX terms_by_xorb ON terms(xorb);"
                     "INSERT INTO meta VALUES('schema_version', '1');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    weft_store *s = st_open();
    uint8_t *p = st_random(100000, 1);
    weft_store_put_result r;
    st_put(s, p, 100000, &r);
    st_check_file(s, &r.file.xet_hash, p, 100000);
    weft_store_close(s);
    db = open_db();
    assert_int_equal(query_int(db, "SELECT min(version) FROM schema_migrations"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
                                   "'files_by_sha256'"),
                     0);
    sqlite3_close(db);
    free(p);
}

static void test_store_index_refuses_newer(void **state)
{
    (void)state;
    weft_store *s = st_open();
    weft_store_close(s);
    sqlite3 *db = open_db();
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(999, 0)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    s = NULL;
    assert_int_equal(weft_store_open(&s, st_dir), WEFT_EINVALID);
    assert_null(s);
    assert_non_null(strstr(weft_err_last(), "schema version 999"));
}

static int count_file(const weft_store_file *f, void *payload)
{
    (void)f;
    ++*(int *)payload;
    return 0;
}

static void test_store_index_lookup_list_remove(void **state)
{
    (void)state;
    weft_store *s = st_open();
    uint8_t *p = st_random(300000, 2);
    weft_store_put_result r1, r2;
    st_put(s, p, 300000, &r1);
    st_put(s, p, 1000, &r2);
    char sha[65], xet[65], upper[65];
    weft_hex_encode(sha, r1.file.sha256, 32);
    weft_xet_hash_to_hex(xet, &r1.file.xet_hash);
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(sha[i] >= 'a' && sha[i] <= 'f' ? sha[i] - 32 : sha[i]);
    weft_store_file f;
    assert_int_equal(weft_store_lookup(s, sha, &f), 0);
    assert_memory_equal(f.xet_hash.b, r1.file.xet_hash.b, 32);
    assert_int_equal(f.size, 300000);
    assert_int_equal(weft_store_lookup(s, xet, &f), 0);
    assert_memory_equal(f.sha256, r1.file.sha256, 32);
    assert_int_equal(weft_store_lookup(s, upper, &f), 0);
    assert_int_equal(weft_store_stat(s, &r2.file.xet_hash, &f), 0);
    assert_int_equal(f.size, 1000);
    /* Malformed: short, long, not hex, empty. */
    const char *bad[] = {"abc", "",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
                         "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(weft_store_lookup(s, bad[i], &f), WEFT_EINVALID);
        assert_non_null(strstr(weft_err_last(), "not a hash"));
    }
    assert_int_equal(weft_store_lookup(
                         s, "0000000000000000000000000000000000000000000000000000000000000001", &f),
                     WEFT_ENOTFOUND);
    int n = 0;
    assert_int_equal(weft_store_list(s, count_file, &n), 0);
    assert_int_equal(n, 2);
    weft_store_stats st;
    assert_int_equal(weft_store_get_stats(s, &st), 0);
    assert_int_equal(st.n_files, 2);
    assert_int_equal(st.logical_bytes, 301000);
    assert_true(st.n_chunks >= 5);
    assert_int_equal(weft_store_remove(s, &r1.file.xet_hash), 0);
    assert_int_equal(weft_store_remove(s, &r1.file.xet_hash), WEFT_ENOTFOUND);
    assert_int_equal(weft_store_lookup(s, sha, &f), WEFT_ENOTFOUND);
    n = 0;
    assert_int_equal(weft_store_list(s, count_file, &n), 0);
    assert_int_equal(n, 1);
    st_check_file(s, &r2.file.xet_hash, p, 1000);
    weft_store_close(s);
    sqlite3 *db = open_db();
    assert_int_equal(query_int(db, "SELECT count(DISTINCT file) FROM terms"), 1);
    sqlite3_close(db);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_index_schema_created, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_index_migrates_first_schema, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_store_index_refuses_newer, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_store_index_lookup_list_remove, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
