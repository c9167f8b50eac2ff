/* Access tokens (include/weft/meta.h): "hf_" + 34 base62 characters drawn from OpenSSL's CSPRNG
 * without modulo bias, stored only as the SHA-256 hex of the whole token, so a copy of meta.db
 * gives no usable token. A check is one lookup on the unique hash index; no message ever quotes
 * a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "meta_internal.h"
#include "weft/sha256.h"

#define TOKEN_PREFIX "hf_"
#define TOKEN_PREFIX_LEN 3
#define TOKEN_RANDOM_LEN (WEFT_TOKEN_LEN - TOKEN_PREFIX_LEN) /* 34 */
/* Bytes at or above 248 = 4 * 62 are dropped, so byte % 62 is uniform over the alphabet. */
#define TOKEN_BYTE_LIMIT 248
/* last_used is rewritten at most this often, so checks stay reads nearly always. */
#define TOKEN_LAST_USED_SECONDS 60

static const char token_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

_Static_assert(sizeof token_alphabet - 1 == 62, "base62");
_Static_assert(TOKEN_BYTE_LIMIT % 62 == 0 && TOKEN_BYTE_LIMIT <= 256, "rejection bound");

static int token_generate(char out[WEFT_TOKEN_LEN + 1])
{
    uint8_t pool[64];
    size_t n = 0;
    int rc = 0;
    memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
    while (n < TOKEN_RANDOM_LEN) {
        rc = weft_meta__random(pool, sizeof pool);
        if (rc < 0)
            goto out;
        for (size_t i = 0; i < sizeof pool && n < TOKEN_RANDOM_LEN; i++)
            if (pool[i] < TOKEN_BYTE_LIMIT)
                out[TOKEN_PREFIX_LEN + n++] = token_alphabet[pool[i] % 62];
    }
    out[WEFT_TOKEN_LEN] = '\0';
out:
    OPENSSL_cleanse(pool, sizeof pool);
    return rc;
}

/* 1 if t has the shape of a token: "hf_" and 34 base62 characters, nothing more. */
static int token_well_formed(const char *t)
{
    if (strnlen(t, WEFT_TOKEN_LEN + 1) != WEFT_TOKEN_LEN ||
        memcmp(t, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return 0;
    for (size_t i = TOKEN_PREFIX_LEN; i < WEFT_TOKEN_LEN; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int token_hash(char hex[65], const char *token)
{
    uint8_t d[WEFT_SHA256_LEN];
    int rc = weft_sha256_oneshot(d, token, WEFT_TOKEN_LEN);
    if (rc == 0)
        weft_hex_encode(hex, d, sizeof d);
    return rc;
}

static void token_from_row(weft_token_info *t, sqlite3_stmt *st)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    weft_meta__copy_name(t->user, st, 1);
    weft_meta__copy_name(t->name, st, 2);
    t->role = (weft_role)sqlite3_column_int(st, 3);
    t->created = sqlite3_column_int64(st, 4);
    t->last_used = sqlite3_column_int64(st, 5);
}

#define TOKEN_SELECT                                                                               \
    "SELECT t.id, a.name, t.name, t.role, t.created, t.last_used FROM tokens t"                    \
    " JOIN accounts a ON a.id = t.user_id"

int weft_meta_token_create(weft_meta *m, char token_out[WEFT_TOKEN_LEN + 1], const char *user,
                           weft_role role, const char *name, weft_token_info *info_out)
{
    sqlite3_stmt *st = NULL;
    weft_account u;
    char hex[65];
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    token_out[0] = '\0';
    if (name == NULL)
        name = "";
    if (role != WEFT_ROLE_READ && role != WEFT_ROLE_WRITE && role != WEFT_ROLE_ADMIN) {
        rc = weft_err_set(WEFT_EINVALID, "invalid token role %d", (int)role);
        goto out;
    }
    size_t name_len = strnlen(name, WEFT_NAME_MAX + 1);
    if (name_len > WEFT_NAME_MAX) {
        rc = weft_err_set(WEFT_EINVALID, "token name is longer than %d bytes", WEFT_NAME_MAX);
        goto out;
    }
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            rc = weft_err_set(WEFT_EINVALID, "token name has a control character");
            goto out;
        }
    }
    if (user == NULL) {
        rc = weft_err_set(WEFT_EINVALID, "create token: no user given");
        goto out;
    }
    rc = weft_meta__account_find(m, user, META_KIND_USER, &u);
    if (rc == 0)
        rc = token_generate(token_out);
    if (rc == 0)
        rc = token_hash(hex, token_out);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st,
                                "INSERT INTO tokens(hash, user_id, name, role, created)"
                                " VALUES(?1, ?2, ?3, ?4, ?5)");
    if (rc < 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, 64, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, u.id);
    sqlite3_bind_text(st, 3, name, (int)name_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)role);
    sqlite3_bind_int64(st, 5, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_meta__db_error(m, "create token");
        goto out;
    }
    if (info_out != NULL) {
        memset(info_out, 0, sizeof *info_out);
        info_out->id = sqlite3_last_insert_rowid(m->db);
        memcpy(info_out->user, u.name, sizeof u.name);
        memcpy(info_out->name, name, name_len);
        info_out->role = role;
        info_out->created = now;
    }
out:
    sqlite3_finalize(st);
    if (rc < 0)
        OPENSSL_cleanse(token_out, WEFT_TOKEN_LEN + 1);
    return rc;
}

/* Records a use, at most once a minute per token (the condition holds across handles too). */
static void token_touch(weft_meta *m, weft_token_info *t, int64_t now)
{
    sqlite3_stmt *st = NULL;
    if (now - t->last_used < TOKEN_LAST_USED_SECONDS)
        return;
    if (sqlite3_prepare_v2(m->db,
                           "UPDATE tokens SET last_used = ?1 WHERE id = ?2 AND last_used <= ?3", -1,
                           &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, t->id);
    sqlite3_bind_int64(st, 3, now - TOKEN_LAST_USED_SECONDS);
    /* Best effort: a failed bookkeeping write does not fail the request it came with. */
    if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(m->db) > 0)
        t->last_used = now;
out:
    sqlite3_finalize(st);
}

int weft_meta_token_check(weft_meta *m, const char *token, weft_token_info *out)
{
    sqlite3_stmt *st = NULL;
    weft_token_info t;
    char hex[65];
    int rc = 0;
    if (token == NULL || !token_well_formed(token))
        return weft_err_set(WEFT_EAUTH, "token is malformed");
    rc = token_hash(hex, token);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st, TOKEN_SELECT " WHERE t.hash = ?1");
    if (rc < 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, 64, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = weft_err_set(WEFT_EAUTH, "token is unknown or revoked");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = weft_meta__db_error(m, "check token");
        goto out;
    }
    token_from_row(&t, st);
    sqlite3_finalize(st);
    st = NULL;
    if (t.role < WEFT_ROLE_READ || t.role > WEFT_ROLE_ADMIN) {
        rc = weft_err_set(WEFT_ECORRUPT, "metadata: token %lld has an unknown role",
                          (long long)t.id);
        goto out;
    }
    token_touch(m, &t, (int64_t)time(NULL));
    if (out != NULL)
        *out = t;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Steps a prepared DELETE on tokens and finalizes it; *n gets how many rows went. */
static int token_delete(weft_meta *m, sqlite3_stmt *st, int *n)
{
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_meta__db_error(m, "revoke token");
    else
        *n = sqlite3_changes(m->db);
    sqlite3_finalize(st);
    return rc;
}

/* USER/NAME: every token of USER with display name NAME. User names have no '/'; display names
 * may. */
static int token_revoke_named(weft_meta *m, const char *which, const char *slash)
{
    sqlite3_stmt *st = NULL;
    weft_account u;
    char user[WEFT_NAME_MAX + 1], q[WEFT_META_QUOTE_LEN];
    size_t user_len = (size_t)(slash - which);
    int n = 0;
    if (user_len > WEFT_NAME_MAX) /* too long to be anyone's */
        return weft_err_set(WEFT_ENOTFOUND, "no user named '%s'", weft_meta__quote(q, which));
    memcpy(user, which, user_len);
    user[user_len] = '\0';
    int rc = weft_meta__account_find(m, user, META_KIND_USER, &u);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st, "DELETE FROM tokens WHERE user_id = ?1 AND name = ?2");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, u.id);
    sqlite3_bind_text(st, 2, slash + 1, -1, SQLITE_STATIC);
    rc = token_delete(m, st, &n);
    if (rc == 0 && n == 0)
        rc = weft_err_set(WEFT_ENOTFOUND, "user '%s' has no token named '%s'", u.name,
                          weft_meta__quote(q, slash + 1));
    return rc;
}

int weft_meta_token_revoke(weft_meta *m, const char *which)
{
    sqlite3_stmt *st = NULL;
    char q[WEFT_META_QUOTE_LEN], hex[65];
    int n = 0, rc = 0;
    if (which == NULL || which[0] == '\0')
        return weft_err_set(WEFT_EINVALID, "revoke: no token given");
    const char *slash = strchr(which, '/');
    if (slash != NULL)
        return token_revoke_named(m, which, slash);
    if (strncmp(which, TOKEN_PREFIX, TOKEN_PREFIX_LEN) == 0) {
        /* The plain token: never quoted back. */
        if (!token_well_formed(which))
            return weft_err_set(WEFT_EINVALID, "revoke: the token given is malformed");
        rc = token_hash(hex, which);
        if (rc == 0)
            rc = weft_meta__prepare(m, &st, "DELETE FROM tokens WHERE hash = ?1");
        if (rc < 0)
            return rc;
        sqlite3_bind_text(st, 1, hex, 64, SQLITE_STATIC);
        rc = token_delete(m, st, &n);
        if (rc == 0 && n == 0)
            rc = weft_err_set(WEFT_ENOTFOUND, "revoke: the token given is unknown or revoked");
        return rc;
    }
    size_t len = strnlen(which, 20);
    if (len > 18 || strspn(which, "0123456789") != len)
        return weft_err_set(WEFT_EINVALID, "revoke: '%s' is not a token, USER/NAME or a token id",
                            weft_meta__quote(q, which));
    int64_t id = strtoll(which, NULL, 10);
    rc = weft_meta__prepare(m, &st, "DELETE FROM tokens WHERE id = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = token_delete(m, st, &n);
    if (rc == 0 && n == 0)
        rc = weft_err_set(WEFT_ENOTFOUND, "no token with id %lld", (long long)id);
    return rc;
}

int weft_meta_token_list(weft_meta *m, const char *user,
                         int (*cb)(const weft_token_info *t, void *payload), void *payload)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE, rc = 0;
    if (user != NULL)
        rc = weft_meta__account_find(m, user, META_KIND_USER, NULL);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st,
                                TOKEN_SELECT " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY t.id");
    if (rc < 0)
        return rc;
    if (user != NULL)
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_token_info t;
        token_from_row(&t, st);
        rc = cb(&t, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_meta__db_error(m, "list tokens");
    sqlite3_finalize(st);
    return rc;
}
