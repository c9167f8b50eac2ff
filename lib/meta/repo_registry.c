/* The repo registry (include/weft/meta.h): one row per repo keyed by (type, ns, name),
 * case-sensitive, with a random 24-hex uid fixed at creation, visibility, times in unix
 * milliseconds and the cached card fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meta_internal.h"
#include "weft/sha256.h"

#define REPO_UID_BYTES 12
/* Cached card fields are a few tags and names; anything bigger is a bug upstream. */
#define REPO_CARD_MAX (1u << 20)

#define REPO_COLUMNS "id, type, ns, name, uid, private, created, modified, card_json"

void weft_repo_rec_dispose(weft_repo_rec *r)
{
    if (r == NULL)
        return;
    free(r->card_json);
    r->card_json = NULL;
}

static int repo_type_check(weft_repo_type type)
{
    if (type != WEFT_REPO_MODEL && type != WEFT_REPO_DATASET && type != WEFT_REPO_SPACE)
        return weft_err_set(WEFT_EINVALID, "invalid repo type %d", (int)type);
    return 0;
}

/* "no model named ns/name" with both parts made safe to print. */
static int repo_not_found(weft_repo_type type, const char *ns, const char *name)
{
    char a[WEFT_META_QUOTE_LEN], b[WEFT_META_QUOTE_LEN];
    return weft_err_set(WEFT_ENOTFOUND, "no %s named %s/%s", weft_repo_type_name(type),
                        weft_meta__quote(a, ns), weft_meta__quote(b, name));
}

static int repo_from_row(weft_repo_rec *r, sqlite3_stmt *st)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->type = (weft_repo_type)sqlite3_column_int(st, 1);
    weft_meta__copy_name(r->ns, st, 2);
    weft_meta__copy_name(r->name, st, 3);
    const unsigned char *uid = sqlite3_column_text(st, 4);
    if (uid != NULL && sqlite3_column_bytes(st, 4) == 2 * REPO_UID_BYTES)
        memcpy(r->uid, uid, 2 * REPO_UID_BYTES);
    r->is_private = sqlite3_column_int(st, 5) != 0;
    r->created = sqlite3_column_int64(st, 6);
    r->modified = sqlite3_column_int64(st, 7);
    const unsigned char *card = sqlite3_column_text(st, 8);
    if (card != NULL) {
        r->card_json = strdup((const char *)card);
        if (r->card_json == NULL)
            return weft_err_set(WEFT_ENOMEM, "metadata: out of memory reading a repo");
    }
    return 0;
}

int weft_meta_repo_create(weft_meta *m, weft_repo_type type, const char *ns, const char *name,
                          int is_private, weft_repo_rec *out)
{
    sqlite3_stmt *st = NULL;
    uint8_t raw[REPO_UID_BYTES];
    char uid[2 * REPO_UID_BYTES + 1];
    int64_t now = weft_meta__now_ms();
    int rc = repo_type_check(type);
    if (rc == 0)
        rc = weft_meta__name_check("repo", name);
    if (rc == 0 && ns == NULL)
        rc = weft_err_set(WEFT_EINVALID, "create repo %s: no namespace given", name);
    if (rc == 0)
        rc = weft_meta__random(raw, sizeof raw);
    if (rc < 0)
        return rc;
    weft_hex_encode(uid, raw, sizeof raw);
    /* One statement: the namespace check and the insert cannot be split by a writer. */
    rc = weft_meta__prepare(
        m, &st,
        "INSERT INTO repos(type, ns, name, uid, private, created, modified)"
        " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6 WHERE EXISTS (SELECT 1 FROM accounts WHERE name = ?2)");
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)type);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, is_private != 0);
    sqlite3_bind_int64(st, 6, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        char q[WEFT_META_QUOTE_LEN];
        rc = weft_meta__is_unique_violation(m)
                 ? weft_err_set(WEFT_EEXISTS, "%s %s/%s exists", weft_repo_type_name(type),
                                weft_meta__quote(q, ns), name)
                 : weft_meta__db_error(m, "create repo");
        goto out;
    }
    if (sqlite3_changes(m->db) == 0) {
        rc = weft_meta__account_find(m, ns, META_KIND_ANY, NULL);
        if (rc == 0) /* created since the insert looked: report it as a race */
            rc = weft_err_set(WEFT_ECONFLICT, "namespace '%s' changed; try again", ns);
        goto out;
    }
    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_last_insert_rowid(m->db);
        out->type = type;
        snprintf(out->ns, sizeof out->ns, "%s", ns);
        snprintf(out->name, sizeof out->name, "%s", name);
        memcpy(out->uid, uid, sizeof uid);
        out->is_private = is_private != 0;
        out->created = out->modified = now;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_repo_get(weft_meta *m, weft_repo_type type, const char *ns, const char *name,
                       weft_repo_rec *out)
{
    sqlite3_stmt *st = NULL;
    if (out != NULL)
        memset(out, 0, sizeof *out);
    int rc = repo_type_check(type);
    if (rc < 0)
        return rc;
    if (ns == NULL || name == NULL)
        return weft_err_set(WEFT_EINVALID, "find repo: namespace and name are needed");
    rc = weft_meta__prepare(
        m, &st, "SELECT " REPO_COLUMNS " FROM repos WHERE type = ?1 AND ns = ?2 AND name = ?3");
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)type);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = out != NULL ? repo_from_row(out, st) : 0;
    else if (step == SQLITE_DONE)
        rc = repo_not_found(type, ns, name);
    else
        rc = weft_meta__db_error(m, "find repo");
    sqlite3_finalize(st);
    return rc;
}

/* Runs an UPDATE or DELETE of one repo: (type, ns, name) go to ?1..?3, a and text to ?4 and ?5
 * where the statement has them. WEFT_ENOTFOUND if no row changed. */
static int repo_change(weft_meta *m, const char *sql, weft_repo_type type, const char *ns,
                       const char *name, int64_t a, const char *text, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = repo_type_check(type);
    if (rc == 0 && (ns == NULL || name == NULL))
        rc = weft_err_set(WEFT_EINVALID, "%s: namespace and name are needed", what);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st, sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)type);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int n_params = sqlite3_bind_parameter_count(st);
    if (n_params >= 4)
        sqlite3_bind_int64(st, 4, a);
    if (n_params >= 5 && text != NULL)
        sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_meta__db_error(m, what);
    else if (sqlite3_changes(m->db) == 0)
        rc = repo_not_found(type, ns, name);
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_repo_delete(weft_meta *m, weft_repo_type type, const char *ns, const char *name)
{
    return repo_change(m, "DELETE FROM repos WHERE type = ?1 AND ns = ?2 AND name = ?3", type, ns,
                       name, 0, NULL, "delete repo");
}

int weft_meta_repo_set_private(weft_meta *m, weft_repo_type type, const char *ns, const char *name,
                               int is_private)
{
    return repo_change(m, "UPDATE repos SET private = ?4 WHERE type = ?1 AND ns = ?2 AND name = ?3",
                       type, ns, name, is_private != 0, NULL, "set repo visibility");
}

int weft_meta_repo_touch(weft_meta *m, weft_repo_type type, const char *ns, const char *name,
                         int64_t now_ms, const char *card_json)
{
    if (card_json != NULL) {
        /* Listings hand the text to JSON parsers as an object: keep that promise here. */
        json_error_t jerr;
        size_t len = strnlen(card_json, REPO_CARD_MAX + 1);
        char a[WEFT_META_QUOTE_LEN], b[WEFT_META_QUOTE_LEN];
        if (len > REPO_CARD_MAX)
            return weft_err_set(WEFT_ELIMIT, "card fields of %s/%s are over %u bytes",
                                weft_meta__quote(a, ns ? ns : ""),
                                weft_meta__quote(b, name ? name : ""), REPO_CARD_MAX);
        json_t *j = json_loadb(card_json, len, 0, &jerr);
        int is_object = json_is_object(j);
        json_decref(j);
        if (!is_object)
            return weft_err_set(WEFT_EINVALID, "card fields of a repo are not a json object");
    }
    return repo_change(m,
                       "UPDATE repos SET modified = ?4, card_json = coalesce(?5, card_json)"
                       " WHERE type = ?1 AND ns = ?2 AND name = ?3",
                       type, ns, name, now_ms, card_json, "record a commit");
}

int weft_meta_repo_move(weft_meta *m, weft_repo_type type, const char *from_ns,
                        const char *from_name, const char *to_ns, const char *to_name)
{
    sqlite3_stmt *st = NULL;
    int rc = repo_type_check(type);
    if (rc == 0 && (from_ns == NULL || from_name == NULL || to_ns == NULL))
        rc = weft_err_set(WEFT_EINVALID, "move repo: namespaces and names are needed");
    if (rc == 0)
        rc = weft_meta__name_check("repo", to_name);
    if (rc < 0)
        return rc;
    rc = weft_meta__begin(m);
    if (rc < 0)
        return rc;
    rc = weft_meta__account_find(m, to_ns, META_KIND_ANY, NULL);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st,
                                "UPDATE repos SET ns = ?4, name = ?5"
                                " WHERE type = ?1 AND ns = ?2 AND name = ?3");
    if (rc < 0)
        goto out;
    sqlite3_bind_int(st, 1, (int)type);
    sqlite3_bind_text(st, 2, from_ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, from_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, to_ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, to_name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_meta__is_unique_violation(m)
                 ? weft_err_set(WEFT_EEXISTS, "%s %s/%s exists", weft_repo_type_name(type), to_ns,
                                to_name)
                 : weft_meta__db_error(m, "move repo");
        goto out;
    }
    if (sqlite3_changes(m->db) == 0) {
        rc = repo_not_found(type, from_ns, from_name);
        goto out;
    }
    rc = weft_meta__commit(m);
out:
    sqlite3_finalize(st);
    if (rc < 0)
        weft_meta__rollback(m);
    return rc;
}

int weft_meta_repo_list(weft_meta *m, weft_repo_type type, const char *ns,
                        int (*cb)(const weft_repo_rec *r, void *payload), void *payload)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    int rc = repo_type_check(type);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st,
                                "SELECT " REPO_COLUMNS " FROM repos WHERE type = ?1"
                                " AND (?2 IS NULL OR ns = ?2) ORDER BY modified DESC, id DESC");
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)type);
    if (ns != NULL)
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_repo_rec r;
        rc = repo_from_row(&r, st);
        if (rc == 0)
            rc = cb(&r, payload);
        weft_repo_rec_dispose(&r);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_meta__db_error(m, "list repos");
    sqlite3_finalize(st);
    return rc;
}
