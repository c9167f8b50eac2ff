/* The Hub server's shared pieces: the application object behind `weft serve`, per-thread
 * database handles, request context (the caller's identity and the repo a route names), access
 * rules, and the route handlers of each API area (one file each: hf_repos.c, hf_tree.c,
 * hf_resolve.c, hf_commit.c, hf_refs.c, lfs.c, git_http.c, ...).
 *
 * A data directory holds meta.db (accounts, tokens, repo registry; weft/meta.h), store/ (the chunk
 * store; weft/store.h) and repos/{models,datasets,spaces}/NS/NAME.git (bare git repos;
 * weft/repo.h). Handlers run on the HTTP pool's threads; each thread opens its own meta and store
 * handles on first use (hub_meta, hub_store) and keeps them until it exits.
 *
 * Access (DESIGN.md §5): a repo is readable by anyone when public; when private only by its
 * namespace's user, the members of its org, and site admins. Writing needs a write (or admin)
 * token of such a user. What the caller cannot read answers exactly like a missing repo: 401 +
 * RepoNotFound for anonymous callers, 404 + RepoNotFound for authenticated ones. */
#ifndef WEFT_SERVER_HUB_H
#define WEFT_SERVER_HUB_H

#include <stdint.h>

#include "weft/http.h"
#include "weft/meta.h"
#include "weft/repo.h"
#include "weft/store.h"

typedef struct hub {
    char *data_dir;
    char *meta_path;        /* DATA/meta.db */
    char *store_dir;        /* DATA/store */
    char *repos_dir;        /* DATA/repos */
    char *lfs_tmp_dir;      /* DATA/tmp: multipart parts in flight */
    int regular_only;       /* preupload answers "regular" for every file (for Xet-only clients) */
    int xet;                /* advertise and serve the Xet CAS protocol */
    uint8_t upload_key[32]; /* HMAC key of signed upload URLs */
    uint8_t xet_key[32];    /* HMAC key of Xet CAS tokens */
    struct hub_optimizer *optimizer; /* background weight coding (server/optimize.h), or NULL */
} hub;

/* This thread's handles (opened on first use; NULL after an error, with the message set). */
weft_meta *hub_meta(hub *h);
weft_store *hub_store(hub *h);

/* The caller, from the request's credential. */
typedef struct hub_caller {
    int anonymous;         /* no credential */
    weft_token_info token; /* valid when !anonymous */
    int is_admin;          /* site admin with an admin-role token */
} hub_caller;

/* Identifies the caller; answers 401 itself for a bad token and returns < 0. */
int hub_caller_get(hub *h, weft_http_req *req, hub_caller *out);

/* A repo a route names, opened for reading or writing. */
typedef struct hub_repo {
    weft_repo_rec rec;
    weft_repo *git;
    char dir[1024];
    hub_caller caller;
    int can_write;
} hub_repo;

enum { HUB_READ = 0, HUB_WRITE = 1 };

/* Opens type/ns/name for the caller with the given access and answers the error itself when it
 * cannot (RepoNotFound 401/404, 403 for read-only access to a write route, 500); returns < 0
 * then. On success, free with hub_repo_close. */
int hub_repo_open(hub *h, weft_http_req *req, weft_repo_type type, const char *ns, const char *name,
                  int access, hub_repo *out);
void hub_repo_close(hub_repo *r);

/* The directory of a repo's git repository, into out. */
void hub_repo_dir(hub *h, char *out, size_t cap, weft_repo_type type, const char *ns,
                  const char *name);

/* Whether the caller may read / write in namespace ns (as its user, an org member or admin). */
int hub_can_read_ns(hub *h, const hub_caller *c, const char *ns);
int hub_can_write_ns(hub *h, const hub_caller *c, const char *ns);

/* Resolves rev in r and answers 404 RevisionNotFound itself when it does not exist. */
int hub_resolve_rev(weft_http_req *req, hub_repo *r, const char *rev, weft_oid *commit_out,
                    char *ref_out, size_t ref_cap);

/* Answers a WEFT_E* error from a library call with its status and the current message. */
void hub_respond_rc(weft_http_req *req, int rc);

/* "/datasets", "/spaces" or "" (models): the URL prefix of non-API routes. */
const char *hub_type_prefix(weft_repo_type t);

/* The web URL of a repo: BASE[/datasets|/spaces]/NS/NAME, into out. */
void hub_repo_url(weft_http_req *req, char *out, size_t cap, weft_repo_type type, const char *ns,
                  const char *name);

/* Parses a JSON body; answers 400 itself on bad JSON (returns NULL). */
json_t *hub_json_body(weft_http_req *req);

/* The README's front matter at commit as a JSON object (empty when absent or invalid). */
json_t *hub_card_json(weft_repo *git, const weft_oid *commit);

/* Pagination: offset from ?cursor=, page size from ?limit= (at most dflt). */
void hub_page_params(weft_http_req *req, size_t dflt, size_t *offset, size_t *limit);
/* Sets Link: <this URL with cursor=next>; rel="next". */
void hub_page_link(weft_http_req *req, size_t next);

/* A tree / paths-info entry as JSON (hf_tree.c). */
json_t *hub_tree_entry(hub *h, const weft_repo_entry *e);
/* The Xet file hash (hex) of the stored file with this SHA-256; -1 if the store lacks it. */
int hub_xet_hash_of(hub *h, const uint8_t sha256[32], char out[65]);

/* Streams the stored file with this SHA-256 (ETag, sizes, Range; 404 EntryNotFound if the store
 * lacks it). hf_resolve.c. */
void hub_serve_lfs_object(weft_http_req *req, hub *h, const uint8_t sha256[32]);

/* Logs a failure that the answer does not depend on (best-effort cleanups, caches). */
void hub_warn_rc(int rc, const char *what);

/* Current time in unix milliseconds. */
int64_t hub_now_ms(void);

/* ---- route handlers ------------------------------------------------------------------------
 * Each takes the request and what the router parsed from its path. rev and path are decoded. */

typedef struct hub_route {
    hub *h;
    weft_repo_type type;
    char ns[WEFT_NAME_MAX + 1];
    char name[WEFT_NAME_MAX + 1];
    char *rev;   /* malloc'ed or NULL */
    char *path;  /* malloc'ed or NULL */
    void *extra; /* a handler's own state, freed with extra_free */
    void (*extra_free)(void *);
} hub_route;

/* The router (routes.c): the weft_http dispatch function for a hub. */
void hub_dispatch(weft_http_req *req, void *app);

/* hf_account.c */
void hf_whoami(weft_http_req *req);
/* hf_repos.c */
void hf_repo_create(weft_http_req *req);
void hf_repo_delete(weft_http_req *req);
void hf_repo_move(weft_http_req *req);
void hf_repo_settings(weft_http_req *req);
void hf_repo_info(weft_http_req *req);
/* Adds `safetensors` and `gguf` to a model's info object from its tensor files' headers
 * (hf_tensors.c); leaves a field out when a file cannot be read. */
void hf_model_summary(hub *h, weft_repo *git, const weft_oid *commit, json_t *info);
/* Adds X-Weft-Delta-Base (the bases a delta of this LFS file can be asked against) to a resolve
 * answer, when there are any (hf_delta.c). */
void hub_delta_announce(weft_http_req *req, hub *h, const hub_repo *r, const weft_oid *commit,
                        const weft_repo_entry *e);
/* GET .../weft-delta/{rev}/{path}?base=<sha256>: the file as a portable delta (hf_delta.c). */
void hf_weft_delta(weft_http_req *req);
/* GET .../tensor-diff/{a}...{b}[?path=P]: files added/removed/changed between two revisions, and
 * the tensor-by-tensor diff of every changed safetensors file (hf_tensors.c). */
void hf_tensor_diff(weft_http_req *req);
void hf_repo_list(weft_http_req *req);
void hf_auth_check(weft_http_req *req);
void hf_validate_yaml(weft_http_req *req);
/* hf_tree.c */
void hf_tree(weft_http_req *req);
void hf_paths_info(weft_http_req *req);
/* hf_resolve.c */
void hf_resolve(weft_http_req *req); /* resolve and raw (route extra says which) */
/* hf_commit.c */
void hf_preupload(weft_http_req *req);
void hf_commit(weft_http_req *req);
/* hf_refs.c */
void hf_refs(weft_http_req *req);
void hf_branch(weft_http_req *req);
void hf_tag(weft_http_req *req);
void hf_commits(weft_http_req *req);
void hf_super_squash(weft_http_req *req);
/* lfs.c */
void lfs_batch(weft_http_req *req);
void lfs_upload_dispatch(weft_http_req *req, hub *h); /* signed PUT/POST routes under /lfs/ */
/* git_http.c */
void git_http_dispatch(weft_http_req *req, hub_route *rt, const char *service_path);

/* The route of the current request (set by the router as the request's state). */
hub_route *hub_route_of(weft_http_req *req);

#endif
