/* The metadata database: accounts (users and orgs), org membership, access tokens, the registry
 * of repos, and the server's own secrets.
 *
 * One SQLite file (WAL, synchronous=FULL, busy timeout, versioned schema migrations like the
 * store's index). Names of users and orgs share one namespace: a name is either a user or an org.
 * Names follow the Hub's rules for a repo-id segment: [A-Za-z0-9._-], 1..96 characters, no "--"
 * or "..", not starting or ending with '-' or '.'. Lookups match names exactly (case-sensitive),
 * but a new account's name must also differ from every existing one in more than letter case (as
 * on the Hub: no "Alice" beside "alice"). Repo names are case-sensitive throughout.
 *
 * Tokens are "hf_" followed by 34 random base62 characters (37 in all). Only their SHA-256 is
 * stored; the plain token exists once, in weft_meta_token_create's output. Checking a token costs
 * one indexed lookup.
 *
 * Repos are registered here by (type, namespace, name) with their visibility and an opaque 24-hex
 * "_id"; their content lives in git (weft/repo.h). Card-derived fields (tags, pipeline_tag,
 * library_name) are cached here at each commit so listings can filter without opening git.
 *
 * Ownership and threads: a weft_meta handle is used by one thread at a time; open one per thread.
 * Any number of handles and processes may share one file. Errors: 0 or a negative WEFT_E* with a
 * one-line message: WEFT_EINVALID (bad name, bad role), WEFT_EEXISTS, WEFT_ENOTFOUND, WEFT_EIO.
 * Expected load: a lookup or two per HTTP request; writes are rare (accounts, repo creation,
 * commits). */
#ifndef WEFT_META_H
#define WEFT_META_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_meta weft_meta;

#define WEFT_NAME_MAX 96  /* longest user, org or repo name */
#define WEFT_TOKEN_LEN 37 /* "hf_" + 34 base62 characters */

/* Opens (creating and migrating as needed) the metadata database at path. */
WEFT_MUST_USE int weft_meta_open(weft_meta **out, const char *path);

/* Closes the handle; NULL is fine. */
void weft_meta_close(weft_meta *m);

/* 1 if name is a valid user, org or repo name (rules above), else 0. */
int weft_meta_name_valid(const char *name);

/* ---- accounts ---------------------------------------------------------------------------- */

typedef struct weft_account {
    int64_t id;
    char name[WEFT_NAME_MAX + 1];
    int is_org;
    int is_admin;    /* site administrator (users only) */
    int64_t created; /* unix seconds */
} weft_account;

/* Creates a user. WEFT_EEXISTS if the name is taken by a user or an org. */
WEFT_MUST_USE int weft_meta_user_create(weft_meta *m, const char *name, int is_admin,
                                        weft_account *out);

/* Creates an org whose first member (with the org's admin role) is the user owner. */
WEFT_MUST_USE int weft_meta_org_create(weft_meta *m, const char *name, const char *owner,
                                       weft_account *out);

/* Finds a user or org by name. WEFT_ENOTFOUND if neither. out may be NULL (existence check). */
WEFT_MUST_USE int weft_meta_account_get(weft_meta *m, const char *name, weft_account *out);

/* Adds user to org (idempotent). role_admin: may manage the org's members. */
WEFT_MUST_USE int weft_meta_org_add_member(weft_meta *m, const char *org, const char *user,
                                           int role_admin);

/* Removes user from org. WEFT_ENOTFOUND if not a member. */
WEFT_MUST_USE int weft_meta_org_remove_member(weft_meta *m, const char *org, const char *user);

/* 1 if user is a member of org, 0 if not (or either does not exist), negative on error. */
int weft_meta_is_member(weft_meta *m, const char *org, const char *user);

/* Calls cb with the name of every org user belongs to, by name. A negative return from cb
 * stops and is returned. */
WEFT_MUST_USE int weft_meta_user_orgs(weft_meta *m, const char *user,
                                      int (*cb)(const char *org, void *payload), void *payload);

/* Calls cb with every member of org, by name, and whether they have the org's admin role.
 * WEFT_ENOTFOUND if org is not an org. A negative return from cb stops and is returned. */
WEFT_MUST_USE int weft_meta_org_members(weft_meta *m, const char *org,
                                        int (*cb)(const char *user, int role_admin, void *payload),
                                        void *payload);

/* Calls cb for every account (users and orgs), by name. */
WEFT_MUST_USE int weft_meta_account_list(weft_meta *m,
                                         int (*cb)(const weft_account *a, void *payload),
                                         void *payload);

/* ---- tokens ------------------------------------------------------------------------------ */

typedef enum weft_role {
    WEFT_ROLE_READ = 1,  /* read public repos and the user's own private ones */
    WEFT_ROLE_WRITE = 2, /* also create repos and push to the user's namespaces */
    WEFT_ROLE_ADMIN = 3, /* write, plus site administration when the user is an admin */
} weft_role;

/* "read", "write", "admin" <-> weft_role. parse returns WEFT_EINVALID for anything else. */
const char *weft_role_name(weft_role r);
WEFT_MUST_USE int weft_role_parse(const char *s, weft_role *out);

typedef struct weft_token_info {
    int64_t id;
    char user[WEFT_NAME_MAX + 1];
    char name[WEFT_NAME_MAX + 1]; /* display name given at creation ("" if none) */
    weft_role role;
    int64_t created;   /* unix seconds */
    int64_t last_used; /* unix seconds, 0 if never (updated at most once a minute) */
} weft_token_info;

/* Creates a token for an existing user (WEFT_ENOTFOUND otherwise; orgs have no tokens) and
 * writes the plain token, NUL-terminated, to token_out. name (NULL = "") is free text of at most
 * WEFT_NAME_MAX bytes without control characters (WEFT_EINVALID otherwise). info_out may be NULL.
 */
WEFT_MUST_USE int weft_meta_token_create(weft_meta *m, char token_out[WEFT_TOKEN_LEN + 1],
                                         const char *user, weft_role role, const char *name,
                                         weft_token_info *info_out);

/* Looks a plain token up. WEFT_EAUTH if it is malformed, unknown or revoked. */
WEFT_MUST_USE int weft_meta_token_check(weft_meta *m, const char *token, weft_token_info *out);

/* Revokes a token given as the plain token, or as "USER/NAME" (every token of USER with that
 * display name), or by id in decimal. WEFT_ENOTFOUND if nothing matched, WEFT_EINVALID if which
 * is none of the three forms. Revoked tokens are deleted: they fail weft_meta_token_check and
 * leave weft_meta_token_list. */
WEFT_MUST_USE int weft_meta_token_revoke(weft_meta *m, const char *which);

/* Calls cb for every live token of user (all users if user is NULL). */
WEFT_MUST_USE int weft_meta_token_list(weft_meta *m, const char *user,
                                       int (*cb)(const weft_token_info *t, void *payload),
                                       void *payload);

/* ---- repo registry ----------------------------------------------------------------------- */

typedef enum weft_repo_type {
    WEFT_REPO_MODEL = 0,
    WEFT_REPO_DATASET = 1,
    WEFT_REPO_SPACE = 2,
} weft_repo_type;

/* "model"/"dataset"/"space" and the plural API forms "models"/"datasets"/"spaces". */
const char *weft_repo_type_name(weft_repo_type t);
const char *weft_repo_type_plural(weft_repo_type t);
/* Accepts the singular or the plural form. WEFT_EINVALID otherwise. */
WEFT_MUST_USE int weft_repo_type_parse(const char *s, weft_repo_type *out);

typedef struct weft_repo_rec {
    int64_t id;
    weft_repo_type type;
    char ns[WEFT_NAME_MAX + 1];
    char name[WEFT_NAME_MAX + 1];
    char uid[25]; /* the Hub's "_id": 24 lowercase hex, random, fixed at creation */
    int is_private;
    int64_t created, modified; /* unix milliseconds */
    char *card_json;           /* cached card fields as a JSON object text, malloc'ed, or NULL */
} weft_repo_rec;

/* Frees what a weft_repo_rec owns (card_json), not the struct. */
void weft_repo_rec_dispose(weft_repo_rec *r);

/* Registers a repo. The namespace must be an existing account (WEFT_ENOTFOUND), the name valid
 * (WEFT_EINVALID); WEFT_EEXISTS if (type, ns, name) is taken. out may be NULL. */
WEFT_MUST_USE int weft_meta_repo_create(weft_meta *m, weft_repo_type type, const char *ns,
                                        const char *name, int is_private, weft_repo_rec *out);

/* Finds a repo. WEFT_ENOTFOUND if absent. out may be NULL. */
WEFT_MUST_USE int weft_meta_repo_get(weft_meta *m, weft_repo_type type, const char *ns,
                                     const char *name, weft_repo_rec *out);

/* Unregisters a repo. WEFT_ENOTFOUND if absent. */
WEFT_MUST_USE int weft_meta_repo_delete(weft_meta *m, weft_repo_type type, const char *ns,
                                        const char *name);

/* Renames (type stays). WEFT_ENOTFOUND if from is absent, WEFT_EEXISTS if to is taken. */
WEFT_MUST_USE int weft_meta_repo_move(weft_meta *m, weft_repo_type type, const char *from_ns,
                                      const char *from_name, const char *to_ns,
                                      const char *to_name);

WEFT_MUST_USE int weft_meta_repo_set_private(weft_meta *m, weft_repo_type type, const char *ns,
                                             const char *name, int is_private);

/* Records a commit: modified = now_ms, and the card fields (JSON object text, or NULL to keep). */
WEFT_MUST_USE int weft_meta_repo_touch(weft_meta *m, weft_repo_type type, const char *ns,
                                       const char *name, int64_t now_ms, const char *card_json);

/* Calls cb for every repo of type (ns NULL = every namespace), newest modified first. The record
 * is borrowed for the call. */
WEFT_MUST_USE int weft_meta_repo_list(weft_meta *m, weft_repo_type type, const char *ns,
                                      int (*cb)(const weft_repo_rec *r, void *payload),
                                      void *payload);

/* ---- secrets ----------------------------------------------------------------------------- */

/* The 32-byte server secret called name, created from the OS's random source on first use and
 * the same ever after (HMAC keys for signed upload URLs and Xet tokens). */
WEFT_MUST_USE int weft_meta_secret(weft_meta *m, const char *name, uint8_t out[32]);

#endif
