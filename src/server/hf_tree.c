/* Tree listing and paths-info (specs/hf-hub-api.md §6): entries with the git oid, the real size,
 * the lfs object of LFS files, the Xet hash when Xet is on, and lastCommit with expand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"
#include "weft/sha256.h"

#define TREE_PAGE 1000
#define TREE_PAGE_EXPAND 50
#define PATHS_INFO_MAX 1000

int hub_xet_hash_of(hub *h, const uint8_t sha256[32], char out[65])
{
    weft_store *s = hub_store(h);
    char hex[65];
    weft_hex_encode(hex, sha256, 32);
    weft_store_file f;
    if (!s || weft_store_lookup(s, hex, &f) < 0)
        return -1;
    weft_xet_hash_to_hex(out, &f.xet_hash);
    return 0;
}

json_t *hub_tree_entry(hub *h, const weft_repo_entry *e)
{
    char oid[41];
    weft_oid_to_hex(oid, &e->oid);
    if (e->is_dir)
        return json_pack("{s:s,s:s,s:i,s:s}", "type", "directory", "oid", oid, "size", 0, "path",
                         e->path);
    json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "type", "file", "oid", oid, "size",
                          (json_int_t)e->size, "path", e->path);
    if (e->is_lfs) {
        char sha[65];
        weft_hex_encode(sha, e->lfs_sha256, 32);
        json_object_set_new(o, "lfs",
                            json_pack("{s:s,s:I,s:I}", "oid", sha, "size", (json_int_t)e->size,
                                      "pointerSize", (json_int_t)e->pointer_size));
        char xet[65];
        if (h->xet && hub_xet_hash_of(h, e->lfs_sha256, xet) == 0)
            json_object_set_new(o, "xetHash", json_string(xet));
    }
    return o;
}

typedef struct commit_json_ctx {
    json_t *out;
} commit_json_ctx;

static int commit_to_json(const weft_repo_commit *c, void *payload)
{
    commit_json_ctx *x = payload;
    char id[41], date[32];
    weft_oid_to_hex(id, &c->id);
    weft_http_format_date(date, c->time * 1000);
    x->out = json_pack("{s:s,s:s,s:s}", "id", id, "title", c->title, "date", date);
    return 0;
}

/* Adds lastCommit to each entry of arr (paths from the entries). */
static void add_last_commits(weft_repo *git, const weft_oid *commit, json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return;
    const char **paths = calloc(n, sizeof *paths);
    weft_oid *ids = calloc(n, sizeof *ids);
    int *found = calloc(n, sizeof *found);
    if (paths && ids && found) {
        for (size_t i = 0; i < n; i++)
            paths[i] = json_string_value(json_object_get(json_array_get(arr, i), "path"));
        if (weft_repo_last_commits(git, commit, paths, n, ids, found) == 0) {
            for (size_t i = 0; i < n; i++) {
                commit_json_ctx x = {NULL};
                if (found[i] && weft_repo_commit_get(git, &ids[i], commit_to_json, &x) == 0 &&
                    x.out)
                    json_object_set_new(json_array_get(arr, i), "lastCommit", x.out);
            }
        }
    }
    free(paths);
    free(ids);
    free(found);
}

typedef struct tree_ctx {
    hub *h;
    json_t *arr;
    size_t skip, limit, seen;
} tree_ctx;

static int tree_one(const weft_repo_entry *e, void *payload)
{
    tree_ctx *c = payload;
    size_t i = c->seen++;
    if (i < c->skip)
        return 0;
    if (i >= c->skip + c->limit)
        return 1; /* one past the page: there is a next page */
    json_array_append_new(c->arr, hub_tree_entry(c->h, e));
    return 0;
}

void hf_tree(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid commit;
    if (hub_resolve_rev(req, &r, rt->rev && rt->rev[0] ? rt->rev : "HEAD", &commit, NULL, 0) < 0) {
        hub_repo_close(&r);
        return;
    }
    char sha[41];
    weft_oid_to_hex(sha, &commit);
    weft_http_resp_header(req, "X-Repo-Commit", sha);
    int expand = weft_http_req_query_bool(req, "expand", 0);
    tree_ctx c = {.h = rt->h, .arr = json_array()};
    hub_page_params(req, expand ? TREE_PAGE_EXPAND : TREE_PAGE, &c.skip, &c.limit);
    char *path = rt->path ? rt->path : (char *)"";
    while (*path == '/')
        path++;
    for (size_t pl = strlen(path); pl > 0 && path[pl - 1] == '/'; pl--)
        path[pl - 1] = '\0';
    int rc = weft_repo_list(r.git, &commit, path, weft_http_req_query_bool(req, "recursive", 0),
                            tree_one, &c);
    if (rc == WEFT_ENOTFOUND) {
        json_decref(c.arr);
        weft_http_respond_error(req, 404, "EntryNotFound", "%s does not exist at %s",
                                path[0] ? path : "/", sha);
    } else if (rc < 0) {
        json_decref(c.arr);
        hub_respond_rc(req, rc);
    } else {
        if (expand)
            add_last_commits(r.git, &commit, c.arr);
        if (rc == 1)
            hub_page_link(req, c.skip + c.limit);
        weft_http_respond_json(req, 200, c.arr);
    }
    hub_repo_close(&r);
}

/* paths-info: the paths come form-encoded (Python) or as JSON (JS). */
void hf_paths_info(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    size_t len = 0;
    const uint8_t *body = weft_http_req_body(req, &len);
    json_t *paths = json_array();
    int expand = 0;
    const char *ct = weft_http_req_header(req, "Content-Type");
    if (ct && strstr(ct, "json")) {
        json_t *j = hub_json_body(req);
        if (!j) {
            json_decref(paths);
            return;
        }
        json_t *p = json_object_get(j, "paths");
        size_t i;
        json_t *v;
        json_array_foreach(p, i, v)
        {
            if (json_is_string(v))
                json_array_append(paths, v);
        }
        if (json_is_string(p))
            json_array_append(paths, p);
        json_t *ex = json_object_get(j, "expand");
        expand =
            json_is_true(ex) || (json_is_string(ex) && strcmp(json_string_value(ex), "true") == 0);
        json_decref(j);
    } else {
        const char *s = (const char *)body;
        const char *end = s + len;
        while (s < end) {
            const char *e = memchr(s, '&', (size_t)(end - s));
            if (!e)
                e = end;
            const char *eq = memchr(s, '=', (size_t)(e - s));
            if (eq) {
                char *k = weft_http_decode(s, (size_t)(eq - s), 1);
                char *v = weft_http_decode(eq + 1, (size_t)(e - eq - 1), 1);
                if (k && v) {
                    size_t kl = strlen(k);
                    if (kl > 2 && strcmp(k + kl - 2, "[]") == 0)
                        k[kl - 2] = '\0';
                    if (strcmp(k, "paths") == 0)
                        json_array_append_new(paths, json_string(v));
                    else if (strcmp(k, "expand") == 0)
                        expand =
                            strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "True") == 0;
                }
                free(k);
                free(v);
            }
            s = e + 1;
        }
    }
    if (json_array_size(paths) > PATHS_INFO_MAX) {
        json_decref(paths);
        weft_http_respond_error(req, 413, NULL, "too many paths (at most %d per call)",
                                PATHS_INFO_MAX);
        return;
    }
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0) {
        json_decref(paths);
        return;
    }
    weft_oid commit;
    if (hub_resolve_rev(req, &r, rt->rev && rt->rev[0] ? rt->rev : "HEAD", &commit, NULL, 0) < 0) {
        json_decref(paths);
        hub_repo_close(&r);
        return;
    }
    char sha[41];
    weft_oid_to_hex(sha, &commit);
    weft_http_resp_header(req, "X-Repo-Commit", sha);
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(paths, i, v)
    {
        const char *p = json_string_value(v);
        while (*p == '/')
            p++;
        weft_repo_entry e;
        if (*p && weft_repo_stat(r.git, &commit, p, &e) == 0)
            json_array_append_new(out, hub_tree_entry(rt->h, &e));
    }
    if (expand)
        add_last_commits(r.git, &commit, out);
    json_decref(paths);
    hub_repo_close(&r);
    weft_http_respond_json(req, 200, out);
}
