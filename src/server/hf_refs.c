/* Refs and history: list refs, create/delete branches and tags, list commits, super-squash
 * (specs/hf-hub-api.md §10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"

#define COMMITS_PAGE 100
#define COMMITS_PAGE_MAX 1000

typedef struct refs_ctx {
    json_t *branches, *tags, *converts, *prs;
} refs_ctx;

static int add_ref(weft_ref_kind kind, const char *name, const char *ref, const weft_oid *target,
                   void *payload)
{
    refs_ctx *c = payload;
    char oid[41];
    weft_oid_to_hex(oid, target);
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", name, "ref", ref, "targetCommit", oid);
    json_t *dst = kind == WEFT_REF_BRANCH ? c->branches
                  : kind == WEFT_REF_TAG  ? c->tags
                  : kind == WEFT_REF_PR   ? c->prs
                                          : c->converts;
    json_array_append_new(dst, o);
    return 0;
}

void hf_refs(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    refs_ctx c = {json_array(), json_array(), json_array(), json_array()};
    int rc = weft_repo_refs(r.git, add_ref, &c);
    hub_repo_close(&r);
    if (rc < 0) {
        json_decref(c.branches);
        json_decref(c.tags);
        json_decref(c.converts);
        json_decref(c.prs);
        hub_respond_rc(req, rc);
        return;
    }
    json_t *o =
        json_pack("{s:o,s:o,s:o}", "branches", c.branches, "tags", c.tags, "converts", c.converts);
    if (weft_http_req_query_bool(req, "include_prs", 0))
        json_object_set_new(o, "pullRequests", c.prs);
    else
        json_decref(c.prs);
    weft_http_respond_json(req, 200, o);
}

static int name_check(weft_http_req *req, const char *what, const char *name)
{
    if (!name || !*name || !weft_repo_ref_name_valid(name)) {
        weft_http_respond_error(req, 400, NULL, "invalid %s name '%s'", what, name ? name : "");
        return -1;
    }
    return 0;
}

void hf_branch(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    const char *branch = rt->rev;
    hub_repo r;
    if (name_check(req, "branch", branch) < 0)
        return;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0)
        return;
    int rc;
    if (weft_http_req_is(req, "DELETE")) {
        rc = weft_repo_branch_delete(r.git, branch);
        if (rc == WEFT_ENOTFOUND)
            weft_http_respond_error(req, 404, "RevisionNotFound", "branch '%s' not found", branch);
        else if (rc < 0)
            hub_respond_rc(req, rc);
        else
            weft_http_respond_json(req, 200, json_object());
        hub_repo_close(&r);
        return;
    }
    size_t len = 0;
    weft_http_req_body(req, &len);
    json_t *body = len ? hub_json_body(req) : json_object();
    if (!body) {
        hub_repo_close(&r);
        return;
    }
    const char *start = json_string_value(json_object_get(body, "startingPoint"));
    int overwrite = json_is_true(json_object_get(body, "overwrite"));
    if (json_is_true(json_object_get(body, "emptyBranch"))) {
        char email[WEFT_NAME_MAX + 32];
        snprintf(email, sizeof email, "%s@users.weft", r.caller.token.user);
        rc = weft_repo_branch_create_empty(r.git, branch, r.caller.token.user, email,
                                           hub_now_ms() / 1000);
    } else {
        weft_oid target;
        if (hub_resolve_rev(req, &r, start ? start : "HEAD", &target, NULL, 0) < 0) {
            json_decref(body);
            hub_repo_close(&r);
            return;
        }
        rc = weft_repo_branch_create(r.git, branch, &target, overwrite);
    }
    json_decref(body);
    if (rc == WEFT_EEXISTS)
        weft_http_respond_error(req, 409, NULL, "Reference already exists: refs/heads/%s", branch);
    else if (rc < 0)
        hub_respond_rc(req, rc);
    else
        weft_http_respond_json(req, 200, json_object());
    hub_repo_close(&r);
}

void hf_tag(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0)
        return;
    int rc;
    if (weft_http_req_is(req, "DELETE")) {
        /* the path names the tag */
        rc = weft_repo_tag_delete(r.git, rt->rev ? rt->rev : "");
        if (rc == WEFT_ENOTFOUND)
            weft_http_respond_error(req, 404, "RevisionNotFound", "tag '%s' not found", rt->rev);
        else if (rc < 0)
            hub_respond_rc(req, rc);
        else
            weft_http_respond_json(req, 200, json_object());
        hub_repo_close(&r);
        return;
    }
    /* POST: the path names the target revision, the body the tag */
    json_t *body = hub_json_body(req);
    if (!body) {
        hub_repo_close(&r);
        return;
    }
    const char *tag = json_string_value(json_object_get(body, "tag"));
    const char *msg = json_string_value(json_object_get(body, "message"));
    weft_oid target;
    if (name_check(req, "tag", tag) < 0 ||
        hub_resolve_rev(req, &r, rt->rev && rt->rev[0] ? rt->rev : "HEAD", &target, NULL, 0) < 0) {
        json_decref(body);
        hub_repo_close(&r);
        return;
    }
    char email[WEFT_NAME_MAX + 32];
    snprintf(email, sizeof email, "%s@users.weft", r.caller.token.user);
    rc = weft_repo_tag_create(r.git, tag, &target, msg ? msg : "", r.caller.token.user, email,
                              hub_now_ms() / 1000);
    if (rc == WEFT_EEXISTS)
        weft_http_respond_error(req, 409, NULL, "Tag already exists: %s", tag);
    else if (rc < 0)
        hub_respond_rc(req, rc);
    else
        weft_http_respond_json(req, 200, json_object());
    json_decref(body);
    hub_repo_close(&r);
}

typedef struct log_ctx {
    json_t *arr;
    int formatted;
} log_ctx;

static int add_commit(const weft_repo_commit *c, void *payload)
{
    log_ctx *x = payload;
    char id[41], date[32];
    weft_oid_to_hex(id, &c->id);
    weft_http_format_date(date, c->time * 1000);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "id", id, "title", c->title, "message",
                          c->message, "date", date, "authors", "user", c->author, "avatar", "");
    if (x->formatted)
        json_object_set_new(o, "formatted",
                            json_pack("{s:s,s:s}", "title", c->title, "message", c->message));
    json_array_append_new(x->arr, o);
    return 0;
}

void hf_commits(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid start;
    if (hub_resolve_rev(req, &r, rt->rev && rt->rev[0] ? rt->rev : "HEAD", &start, NULL, 0) < 0) {
        hub_repo_close(&r);
        return;
    }
    size_t offset, limit, total = 0;
    hub_page_params(req, COMMITS_PAGE_MAX, &offset, &limit);
    if (!weft_http_req_query(req, "limit"))
        limit = COMMITS_PAGE;
    const char *p = weft_http_req_query(req, "p");
    if (p && !weft_http_req_query(req, "cursor"))
        offset = (size_t)strtoull(p, NULL, 10) * limit;
    log_ctx x = {json_array(), 0};
    size_t ne = weft_http_req_query_count(req, "expand");
    for (size_t i = 0; i < ne; i++)
        if (strcmp(weft_http_req_query_at(req, "expand", i), "formatted") == 0)
            x.formatted = 1;
    int rc = weft_repo_log(r.git, &start, offset, limit, add_commit, &x, &total);
    hub_repo_close(&r);
    if (rc < 0) {
        json_decref(x.arr);
        hub_respond_rc(req, rc);
        return;
    }
    weft_http_resp_headerf(req, "X-Total-Count", "%zu", total);
    if (offset + limit < total)
        hub_page_link(req, offset + limit);
    weft_http_respond_json(req, 200, x.arr);
}

void hf_super_squash(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    size_t len = 0;
    weft_http_req_body(req, &len);
    json_t *body = len ? hub_json_body(req) : json_object();
    if (!body)
        return;
    const char *msg = json_string_value(json_object_get(body, "message"));
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0) {
        json_decref(body);
        return;
    }
    char branch[256];
    if (rt->rev && rt->rev[0])
        snprintf(branch, sizeof branch, "%s", rt->rev);
    else if (weft_repo_default_branch(r.git, branch, sizeof branch) < 0)
        snprintf(branch, sizeof branch, "main");
    char email[WEFT_NAME_MAX + 32];
    snprintf(email, sizeof email, "%s@users.weft", r.caller.token.user);
    weft_oid out;
    int rc = weft_repo_squash(r.git, branch, msg && *msg ? msg : "Super-squash branch",
                              r.caller.token.user, email, hub_now_ms() / 1000, &out);
    if (rc == WEFT_ENOTFOUND)
        weft_http_respond_error(req, 404, "RevisionNotFound", "branch '%s' not found", branch);
    else if (rc < 0)
        hub_respond_rc(req, rc);
    else {
        char oid[41];
        weft_oid_to_hex(oid, &out);
        weft_http_respond_json(req, 200, json_pack("{s:s}", "commitId", oid));
    }
    json_decref(body);
    hub_repo_close(&r);
}
