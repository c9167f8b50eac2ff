/* Accounts: users, orgs and org membership (include/weft/meta.h). Users and orgs are rows of one
 * table, so a name is taken by at most one of them; a unique NOCASE index keeps names that differ
 * only in case apart. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meta_internal.h"

static void account_from_row(weft_account *a, sqlite3_stmt *st)
{
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    weft_meta__copy_name(a->name, st, 1);
    a->is_org = sqlite3_column_int(st, 2) != 0;
    a->is_admin = sqlite3_column_int(st, 3) != 0;
    a->created = sqlite3_column_int64(st, 4);
}

#define ACCOUNT_COLUMNS "id, name, is_org, is_admin, created"

int weft_meta__account_find(weft_meta *m, const char *name, int kind, weft_account *out)
{
    static const char *const kinds[] = {"user or org", "user", "org"};
    sqlite3_stmt *st = NULL;
    char q[WEFT_META_QUOTE_LEN];
    weft_account a;
    int rc = weft_meta__prepare(m, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE name = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        account_from_row(&a, st);
        if (kind == META_KIND_USER && a.is_org)
            rc = weft_err_set(WEFT_ENOTFOUND, "'%s' is an org, not a user", a.name);
        else if (kind == META_KIND_ORG && !a.is_org)
            rc = weft_err_set(WEFT_ENOTFOUND, "'%s' is a user, not an org", a.name);
        else if (out != NULL)
            *out = a;
    } else if (step == SQLITE_DONE) {
        rc = weft_err_set(WEFT_ENOTFOUND, "no %s named '%s'", kinds[kind],
                          weft_meta__quote(q, name));
    } else {
        rc = weft_meta__db_error(m, "find account");
    }
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_account_get(weft_meta *m, const char *name, weft_account *out)
{
    if (name == NULL)
        return weft_err_set(WEFT_EINVALID, "no account name given");
    return weft_meta__account_find(m, name, META_KIND_ANY, out);
}

/* The message for a name taken by another account (the same or another case). */
static int account_taken(weft_meta *m, const char *name)
{
    sqlite3_stmt *st = NULL;
    char q[WEFT_META_QUOTE_LEN];
    int rc = weft_meta__prepare(
        m, &st, "SELECT name, is_org FROM accounts WHERE name = ?1 COLLATE NOCASE LIMIT 1");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *other = (const char *)sqlite3_column_text(st, 0);
        const char *kind = sqlite3_column_int(st, 1) ? "org" : "user";
        if (other != NULL && strcmp(other, name) == 0)
            rc = weft_err_set(WEFT_EEXISTS, "the name '%s' is taken by a %s", name, kind);
        else
            rc = weft_err_set(WEFT_EEXISTS, "the name '%s' is taken by the %s '%s'", name, kind,
                              weft_meta__quote(q, other ? other : ""));
    } else {
        rc = weft_err_set(WEFT_EEXISTS, "the name '%s' is taken", name);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Inserts an account row; the name has been checked. */
static int account_insert(weft_meta *m, const char *name, int is_org, int is_admin,
                          weft_account *out)
{
    sqlite3_stmt *st = NULL;
    int64_t now = (int64_t)time(NULL);
    int rc = weft_meta__prepare(
        m, &st, "INSERT INTO accounts(name, is_org, is_admin, created) VALUES(?1, ?2, ?3, ?4)");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, is_org != 0);
    sqlite3_bind_int(st, 3, is_admin != 0);
    sqlite3_bind_int64(st, 4, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_meta__is_unique_violation(m) ? account_taken(m, name)
                                               : weft_meta__db_error(m, "create account");
        goto out;
    }
    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_last_insert_rowid(m->db);
        snprintf(out->name, sizeof out->name, "%s", name);
        out->is_org = is_org != 0;
        out->is_admin = is_admin != 0;
        out->created = now;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_user_create(weft_meta *m, const char *name, int is_admin, weft_account *out)
{
    int rc = weft_meta__name_check("user", name);
    if (rc < 0)
        return rc;
    return account_insert(m, name, 0, is_admin, out);
}

/* Inserts or updates a membership row. */
static int account_member_put(weft_meta *m, int64_t org_id, int64_t user_id, int role_admin)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_meta__prepare(m, &st,
                                "INSERT INTO members(org_id, user_id, is_admin, added)"
                                " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(org_id, user_id)"
                                " DO UPDATE SET is_admin = excluded.is_admin");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, org_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int(st, 3, role_admin != 0);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_meta__db_error(m, "add member");
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_org_create(weft_meta *m, const char *name, const char *owner, weft_account *out)
{
    weft_account user, org;
    int rc = weft_meta__name_check("org", name);
    if (rc < 0)
        return rc;
    if (owner == NULL)
        return weft_err_set(WEFT_EINVALID, "org %s: no owner given", name);
    rc = weft_meta__begin(m);
    if (rc < 0)
        return rc;
    rc = weft_meta__account_find(m, owner, META_KIND_USER, &user);
    if (rc == 0)
        rc = account_insert(m, name, 1, 0, &org);
    if (rc == 0)
        rc = account_member_put(m, org.id, user.id, 1);
    if (rc == 0)
        rc = weft_meta__commit(m);
    if (rc < 0) {
        weft_meta__rollback(m);
        return rc;
    }
    if (out != NULL)
        *out = org;
    return 0;
}

int weft_meta_org_add_member(weft_meta *m, const char *org, const char *user, int role_admin)
{
    weft_account o, u;
    if (org == NULL || user == NULL)
        return weft_err_set(WEFT_EINVALID, "add member: org and user are needed");
    int rc = weft_meta__begin(m);
    if (rc < 0)
        return rc;
    rc = weft_meta__account_find(m, org, META_KIND_ORG, &o);
    if (rc == 0)
        rc = weft_meta__account_find(m, user, META_KIND_USER, &u);
    if (rc == 0)
        rc = account_member_put(m, o.id, u.id, role_admin);
    if (rc == 0)
        rc = weft_meta__commit(m);
    if (rc < 0)
        weft_meta__rollback(m);
    return rc;
}

int weft_meta_org_remove_member(weft_meta *m, const char *org, const char *user)
{
    weft_account o, u;
    sqlite3_stmt *st = NULL;
    if (org == NULL || user == NULL)
        return weft_err_set(WEFT_EINVALID, "remove member: org and user are needed");
    int rc = weft_meta__account_find(m, org, META_KIND_ORG, &o);
    if (rc == 0)
        rc = weft_meta__account_find(m, user, META_KIND_USER, &u);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st, "DELETE FROM members WHERE org_id = ?1 AND user_id = ?2");
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(st, 1, o.id);
    sqlite3_bind_int64(st, 2, u.id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = weft_meta__db_error(m, "remove member");
    else if (sqlite3_changes(m->db) == 0)
        rc = weft_err_set(WEFT_ENOTFOUND, "'%s' is not a member of '%s'", u.name, o.name);
out:
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_is_member(weft_meta *m, const char *org, const char *user)
{
    sqlite3_stmt *st = NULL;
    if (org == NULL || user == NULL)
        return 0;
    int rc = weft_meta__prepare(m, &st,
                                "SELECT 1 FROM members JOIN accounts o ON o.id = members.org_id"
                                " JOIN accounts u ON u.id = members.user_id"
                                " WHERE o.name = ?1 AND u.name = ?2");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : weft_meta__db_error(m, "membership");
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_user_orgs(weft_meta *m, const char *user, int (*cb)(const char *org, void *payload),
                        void *payload)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    if (user == NULL)
        return weft_err_set(WEFT_EINVALID, "orgs of a user: no user given");
    int rc =
        weft_meta__prepare(m, &st,
                           "SELECT o.name FROM members JOIN accounts o ON o.id = members.org_id"
                           " JOIN accounts u ON u.id = members.user_id"
                           " WHERE u.name = ?1 ORDER BY o.name");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char org[WEFT_NAME_MAX + 1];
        weft_meta__copy_name(org, st, 0);
        rc = cb(org, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_meta__db_error(m, "orgs of a user");
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_org_members(weft_meta *m, const char *org,
                          int (*cb)(const char *user, int role_admin, void *payload), void *payload)
{
    sqlite3_stmt *st = NULL;
    weft_account o;
    int step = SQLITE_DONE;
    if (org == NULL)
        return weft_err_set(WEFT_EINVALID, "members of an org: no org given");
    int rc = weft_meta__account_find(m, org, META_KIND_ORG, &o);
    if (rc == 0)
        rc = weft_meta__prepare(m, &st,
                                "SELECT u.name, members.is_admin FROM members"
                                " JOIN accounts u ON u.id = members.user_id"
                                " WHERE members.org_id = ?1 ORDER BY u.name");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, o.id);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char user[WEFT_NAME_MAX + 1];
        weft_meta__copy_name(user, st, 0);
        rc = cb(user, sqlite3_column_int(st, 1) != 0, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_meta__db_error(m, "members of an org");
    sqlite3_finalize(st);
    return rc;
}

int weft_meta_account_list(weft_meta *m, int (*cb)(const weft_account *a, void *payload),
                           void *payload)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    int rc = weft_meta__prepare(m, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts ORDER BY name");
    if (rc < 0)
        return rc;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_account a;
        account_from_row(&a, st);
        rc = cb(&a, payload);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_meta__db_error(m, "list accounts");
    sqlite3_finalize(st);
    return rc;
}
