/* Tokens: their format and randomness, checking, revoking by each form, listing, last_used, and
 * that only a hash ever reaches the database file. */
#include <regex.h>
#include <sqlite3.h>
#include <time.h>

#include "unit/meta/meta_test.h"
#include "weft/sha256.h"

static void token_sha_hex(char hex[65], const char *token)
{
    uint8_t d[32];
    assert_int_equal(weft_sha256_oneshot(d, token, strlen(token)), 0);
    weft_hex_encode(hex, d, 32);
}

static void test_meta_tokens_format(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    regex_t re;
    assert_int_equal(regcomp(&re, "^hf_[A-Za-z0-9]{34}$", REG_EXTENDED | REG_NOSUB), 0);
    enum { N = 200 };
    static char tokens[N][WEFT_TOKEN_LEN + 1];
    int seen[256] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(weft_meta_token_create(m, tokens[i], "alice", WEFT_ROLE_READ, NULL, NULL),
                         0);
        assert_int_equal(strlen(tokens[i]), WEFT_TOKEN_LEN);
        assert_int_equal(regexec(&re, tokens[i], 0, NULL, 0), 0);
        for (int k = 3; k < WEFT_TOKEN_LEN; k++)
            seen[(unsigned char)tokens[i][k]]++;
        for (int j = 0; j < i; j++)
            assert_string_not_equal(tokens[i], tokens[j]);
    }
    regfree(&re);
    /* 6,800 draws: every one of the 62 characters shows up, none is far off its share (110).
     * A modulo-biased or hex-only generator fails this. */
    int distinct = 0;
    for (int c = 0; c < 256; c++) {
        if (seen[c] == 0)
            continue;
        distinct++;
        assert_true(seen[c] > 50 && seen[c] < 190);
    }
    assert_int_equal(distinct, 62);
    weft_meta_close(m);
}

static void test_meta_tokens_check(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    char t1[WEFT_TOKEN_LEN + 1], t2[WEFT_TOKEN_LEN + 1];
    weft_token_info made, got;
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(weft_meta_token_create(m, t1, "alice", WEFT_ROLE_WRITE, "laptop", &made), 0);
    assert_int_equal(weft_meta_token_create(m, t2, "bob", WEFT_ROLE_ADMIN, NULL, NULL), 0);
    assert_string_equal(made.user, "alice");
    assert_string_equal(made.name, "laptop");
    assert_int_equal(made.role, WEFT_ROLE_WRITE);
    assert_int_equal(made.last_used, 0);
    assert_true(made.created >= before);
    assert_int_equal(weft_meta_token_check(m, t1, &got), 0);
    assert_int_equal(got.id, made.id);
    assert_string_equal(got.user, "alice");
    assert_string_equal(got.name, "laptop");
    assert_int_equal(got.role, WEFT_ROLE_WRITE);
    assert_int_equal(got.created, made.created);
    assert_int_equal(weft_meta_token_check(m, t2, &got), 0);
    assert_string_equal(got.user, "bob");
    assert_string_equal(got.name, "");
    assert_int_equal(got.role, WEFT_ROLE_ADMIN);
    /* Wrong tokens: one character changed, malformed in every way. */
    char wrong[WEFT_TOKEN_LEN + 1];
    memcpy(wrong, t1, sizeof wrong);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    char longer[WEFT_TOKEN_LEN + 2];
    snprintf(longer, sizeof longer, "%sa", t1);
    char bad_char[WEFT_TOKEN_LEN + 1];
    memcpy(bad_char, t1, sizeof bad_char);
    bad_char[20] = '-';
    char other_prefix[WEFT_TOKEN_LEN + 1];
    memcpy(other_prefix, t1, sizeof other_prefix);
    other_prefix[0] = 'H';
    const char *bad[] = {wrong, longer, t1 + 1, bad_char, other_prefix, "", "hf_", "Bearer x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(weft_meta_token_check(m, bad[i], &got), WEFT_EAUTH);
        /* Messages never carry a token. */
        assert_null(strstr(weft_err_last(), "hf_"));
    }
    assert_int_equal(weft_meta_token_check(m, NULL, &got), WEFT_EAUTH);
    weft_meta_close(m);
}

static void test_meta_tokens_create_errors(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    char t[WEFT_TOKEN_LEN + 1];
    assert_int_equal(weft_meta_token_create(m, t, "nobody", WEFT_ROLE_READ, NULL, NULL),
                     WEFT_ENOTFOUND);
    assert_int_equal(t[0], '\0');
    assert_int_equal(weft_meta_token_create(m, t, "acme", WEFT_ROLE_READ, NULL, NULL),
                     WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_token_create(m, t, "alice", (weft_role)0, NULL, NULL),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_token_create(m, t, "alice", (weft_role)4, NULL, NULL),
                     WEFT_EINVALID);
    char long_name[WEFT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[WEFT_NAME_MAX + 1] = '\0';
    assert_int_equal(weft_meta_token_create(m, t, "alice", WEFT_ROLE_READ, long_name, NULL),
                     WEFT_EINVALID);
    assert_int_equal(weft_meta_token_create(m, t, "alice", WEFT_ROLE_READ, "two\nlines", NULL),
                     WEFT_EINVALID);
    long_name[WEFT_NAME_MAX] = '\0';
    weft_token_info info;
    assert_int_equal(weft_meta_token_create(m, t, "alice", WEFT_ROLE_READ, long_name, &info), 0);
    assert_int_equal(strlen(info.name), WEFT_NAME_MAX);
    assert_int_equal(
        weft_meta_token_create(m, t, "alice", WEFT_ROLE_READ, "ci / nightly 'x'", &info), 0);
    assert_string_equal(info.name, "ci / nightly 'x'");
    weft_meta_close(m);
}

static int count_tokens(const weft_token_info *t, void *payload)
{
    (void)t;
    ++*(int *)payload;
    return 0;
}

static int list_count(weft_meta *m, const char *user)
{
    int n = 0;
    assert_int_equal(weft_meta_token_list(m, user, count_tokens, &n), 0);
    return n;
}

static void test_meta_tokens_revoke(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    char plain[WEFT_TOKEN_LEN + 1], ci1[WEFT_TOKEN_LEN + 1], ci2[WEFT_TOKEN_LEN + 1],
        by_id[WEFT_TOKEN_LEN + 1], bobs[WEFT_TOKEN_LEN + 1], slash[WEFT_TOKEN_LEN + 1];
    weft_token_info id_info;
    assert_int_equal(weft_meta_token_create(m, plain, "alice", WEFT_ROLE_WRITE, "a", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, ci1, "alice", WEFT_ROLE_READ, "ci", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, ci2, "alice", WEFT_ROLE_READ, "ci", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, by_id, "alice", WEFT_ROLE_READ, "b", &id_info), 0);
    assert_int_equal(weft_meta_token_create(m, bobs, "bob", WEFT_ROLE_READ, "ci", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, slash, "bob", WEFT_ROLE_READ, "x/y", NULL), 0);
    assert_int_equal(list_count(m, NULL), 6);
    assert_int_equal(list_count(m, "alice"), 4);

    /* The plain token. */
    assert_int_equal(weft_meta_token_revoke(m, plain), 0);
    assert_int_equal(weft_meta_token_check(m, plain, NULL), WEFT_EAUTH);
    assert_int_equal(weft_meta_token_revoke(m, plain), WEFT_ENOTFOUND);
    assert_null(strstr(weft_err_last(), plain));
    /* USER/NAME: both of alice's "ci", not bob's. */
    assert_int_equal(weft_meta_token_revoke(m, "alice/ci"), 0);
    assert_int_equal(weft_meta_token_check(m, ci1, NULL), WEFT_EAUTH);
    assert_int_equal(weft_meta_token_check(m, ci2, NULL), WEFT_EAUTH);
    assert_int_equal(weft_meta_token_check(m, bobs, NULL), 0);
    assert_int_equal(weft_meta_token_revoke(m, "alice/ci"), WEFT_ENOTFOUND);
    /* A display name with a slash. */
    assert_int_equal(weft_meta_token_revoke(m, "bob/x/y"), 0);
    assert_int_equal(weft_meta_token_check(m, slash, NULL), WEFT_EAUTH);
    /* The id. */
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)id_info.id);
    assert_int_equal(weft_meta_token_revoke(m, id), 0);
    assert_int_equal(weft_meta_token_check(m, by_id, NULL), WEFT_EAUTH);
    assert_int_equal(weft_meta_token_revoke(m, id), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_token_revoke(m, "999999"), WEFT_ENOTFOUND);
    /* Nothing else matched. */
    assert_int_equal(weft_meta_token_revoke(m, "nobody/ci"), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_token_revoke(m, "/ci"), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_token_revoke(m, "hf_short"), WEFT_EINVALID);
    assert_int_equal(weft_meta_token_revoke(m, "12ab"), WEFT_EINVALID);
    assert_int_equal(weft_meta_token_revoke(m, ""), WEFT_EINVALID);
    assert_int_equal(weft_meta_token_revoke(m, "99999999999999999999999"), WEFT_EINVALID);
    assert_int_equal(list_count(m, NULL), 1);
    assert_int_equal(list_count(m, "alice"), 0);
    assert_int_equal(list_count(m, "bob"), 1);
    weft_meta_close(m);
}

typedef struct listed {
    weft_token_info t[8];
    int n;
} listed;

static int collect_token(const weft_token_info *t, void *payload)
{
    listed *l = payload;
    l->t[l->n++] = *t;
    return 0;
}

static void test_meta_tokens_list(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    mt_user(m, "bob");
    assert_int_equal(weft_meta_org_create(m, "acme", "alice", NULL), 0);
    char t[WEFT_TOKEN_LEN + 1];
    assert_int_equal(weft_meta_token_create(m, t, "bob", WEFT_ROLE_READ, "one", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, t, "alice", WEFT_ROLE_ADMIN, "two", NULL), 0);
    assert_int_equal(weft_meta_token_create(m, t, "bob", WEFT_ROLE_WRITE, "three", NULL), 0);
    listed all = {0}, bob = {0};
    assert_int_equal(weft_meta_token_list(m, NULL, collect_token, &all), 0);
    assert_int_equal(all.n, 3);
    assert_true(all.t[0].id < all.t[1].id && all.t[1].id < all.t[2].id);
    assert_string_equal(all.t[1].user, "alice");
    assert_string_equal(all.t[1].name, "two");
    assert_int_equal(all.t[1].role, WEFT_ROLE_ADMIN);
    assert_int_equal(weft_meta_token_list(m, "bob", collect_token, &bob), 0);
    assert_int_equal(bob.n, 2);
    assert_string_equal(bob.t[0].name, "one");
    assert_string_equal(bob.t[1].name, "three");
    listed none = {0};
    assert_int_equal(weft_meta_token_list(m, "nobody", collect_token, &none), WEFT_ENOTFOUND);
    assert_int_equal(weft_meta_token_list(m, "acme", collect_token, &none), WEFT_ENOTFOUND);
    assert_int_equal(none.n, 0);
    weft_meta_close(m);
}

/* Sets last_used of every token straight in the database. */
static void set_last_used(int64_t v)
{
    sqlite3 *db = NULL;
    char sql[96];
    assert_int_equal(sqlite3_open(mt_path, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE tokens SET last_used = %lld", (long long)v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_meta_tokens_last_used(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    char t[WEFT_TOKEN_LEN + 1];
    weft_token_info info;
    listed l = {0};
    assert_int_equal(weft_meta_token_create(m, t, "alice", WEFT_ROLE_READ, NULL, NULL), 0);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(weft_meta_token_check(m, t, &info), 0);
    assert_true(info.last_used >= now && info.last_used <= now + 2);
    assert_int_equal(weft_meta_token_list(m, "alice", collect_token, &l), 0);
    assert_int_equal(l.t[0].last_used, info.last_used);
    /* Used 30 s ago: not rewritten. */
    set_last_used(now - 30);
    assert_int_equal(weft_meta_token_check(m, t, &info), 0);
    assert_int_equal(info.last_used, now - 30);
    /* Two minutes ago: rewritten. */
    set_last_used(now - 120);
    assert_int_equal(weft_meta_token_check(m, t, &info), 0);
    assert_true(info.last_used >= now);
    l.n = 0;
    assert_int_equal(weft_meta_token_list(m, "alice", collect_token, &l), 0);
    assert_int_equal(l.t[0].last_used, info.last_used);
    weft_meta_close(m);
}

static void test_meta_tokens_stored_hashed(void **state)
{
    (void)state;
    weft_meta *m = mt_open();
    mt_user(m, "alice");
    enum { N = 20 };
    char tokens[N][WEFT_TOKEN_LEN + 1];
    for (int i = 0; i < N; i++) {
        assert_int_equal(weft_meta_token_create(m, tokens[i], "alice", WEFT_ROLE_WRITE, "t", NULL),
                         0);
        assert_int_equal(weft_meta_token_check(m, tokens[i], NULL), 0);
    }
    char wal[128], shm[128];
    snprintf(wal, sizeof wal, "%s-wal", mt_path);
    snprintf(shm, sizeof shm, "%s-shm", mt_path);
    /* While open, the rows are in the write-ahead log: the hash is there (so the search below
     * looks at real content), the token is not. */
    char hex[65];
    token_sha_hex(hex, tokens[N - 1]);
    assert_true(mt_file_contains(wal, hex) || mt_file_contains(mt_path, hex));
    /* Neither the token nor its random part, in the database, its log or its shared memory,
     * while open and after close. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            assert_false(mt_file_contains(mt_path, tokens[i]));
            assert_false(mt_file_contains(mt_path, tokens[i] + 3));
            assert_false(mt_file_contains(wal, tokens[i] + 3));
            assert_false(mt_file_contains(shm, tokens[i] + 3));
        }
        if (pass == 0)
            weft_meta_close(m);
    }
    /* What is stored is the SHA-256. */
    token_sha_hex(hex, tokens[0]);
    assert_true(mt_file_contains(mt_path, hex));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_tokens_format, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_check, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_create_errors, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_revoke, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_list, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_last_used, mt_setup, mt_teardown),
        cmocka_unit_test_setup_teardown(test_meta_tokens_stored_hashed, mt_setup, mt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
