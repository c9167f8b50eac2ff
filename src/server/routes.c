/* The router: maps a request's method and path to a handler (server/hub.h).
 *
 * API routes: /api/{models|datasets|spaces}/NS/NAME/KEYWORD/... . Non-API routes carry the type as
 * a prefix (none for models): /[datasets/|spaces/]NS/NAME/{resolve|raw}/REV/PATH, the LFS batch
 * endpoint NS/NAME.git/info/lfs/objects/batch and git smart HTTP under NS/NAME[.git]/.
 * Revisions are one decoded segment ("refs%2Fpr%2F1") or the unencoded special forms
 * refs/pr/N and refs/convert/NAME (specs/hf-hub-api.md §1.2). */
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"
#include "server/xet.h"

#define BODY_JSON_CAP ((size_t)16 << 20)
#define BODY_COMMIT_CAP ((size_t)256 << 20)

static void route_free(void *p)
{
    hub_route *rt = p;
    if (!rt)
        return;
    if (rt->extra_free)
        rt->extra_free(rt->extra);
    free(rt->rev);
    free(rt->path);
    free(rt);
}

/* Joins decoded segments [from, n) with '/'; "" when from >= n. */
static char *join_segments(weft_http_req *req, size_t from)
{
    size_t n = weft_http_req_n_segments(req), len = 1;
    for (size_t i = from; i < n; i++)
        len += strlen(weft_http_req_segment(req, i)) + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = from; i < n; i++) {
        const char *s = weft_http_req_segment(req, i);
        size_t sl = strlen(s);
        if (i > from)
            out[o++] = '/';
        memcpy(out + o, s, sl);
        o += sl;
        out[o] = '\0';
    }
    return out;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Takes a revision starting at segment k; *next gets the first segment after it. */
static char *take_rev(weft_http_req *req, size_t k, size_t *next)
{
    size_t n = weft_http_req_n_segments(req);
    if (k >= n) {
        *next = k;
        return NULL;
    }
    const char *raw = weft_http_req_raw_segment(req, k);
    if (strcmp(raw, "refs") == 0 && k + 2 < n) {
        const char *kind = weft_http_req_segment(req, k + 1);
        const char *id = weft_http_req_segment(req, k + 2);
        if (kind && id &&
            ((strcmp(kind, "pr") == 0 && all_digits(id)) || strcmp(kind, "convert") == 0)) {
            size_t len = strlen(kind) + strlen(id) + 7;
            char *rev = malloc(len);
            if (rev)
                snprintf(rev, len, "refs/%s/%s", kind, id);
            *next = k + 3;
            return rev;
        }
    }
    *next = k + 1;
    return strdup(weft_http_req_segment(req, k));
}

static int set_repo(hub_route *rt, const char *ns, const char *name)
{
    if (strlen(ns) > WEFT_NAME_MAX || strlen(name) > WEFT_NAME_MAX)
        return -1;
    memcpy(rt->ns, ns, strlen(ns) + 1);
    memcpy(rt->name, name, strlen(name) + 1);
    return 0;
}

static void not_found(weft_http_req *req)
{
    weft_http_respond_error(req, 404, NULL, "no route for %s %s", weft_http_req_method(req),
                            weft_http_req_path(req));
}

/* A route's handler, the methods it accepts ("GET HEAD"), and its body: none (0) or buffered up
 * to cap bytes. */
typedef struct route_target {
    weft_http_handler_fn fn;
    const char *methods;
    size_t body_cap;
} route_target;

static int method_in(weft_http_req *req, const char *methods)
{
    const char *m = weft_http_req_method(req);
    size_t ml = strlen(m);
    for (const char *p = methods; (p = strstr(p, m)) != NULL; p += ml)
        if ((p == methods || p[-1] == ' ') && (p[ml] == ' ' || p[ml] == '\0'))
            return 1;
    return 0;
}

static void run_target(weft_http_req *req, const route_target *t)
{
    if (!method_in(req, t->methods)) {
        weft_http_resp_headerf(req, "Allow", "%s", t->methods);
        weft_http_respond_error(req, 405, NULL, "method %s not allowed on %s",
                                weft_http_req_method(req), weft_http_req_path(req));
    } else if (t->body_cap) {
        weft_http_req_buffer_body(req, t->body_cap, t->fn);
    } else {
        t->fn(req);
    }
}

/* How the part of an API repo path after the keyword is read. */
enum { ARG_NONE, ARG_REST, ARG_REV_PATH, ARG_REV_REST };

typedef struct api_keyword {
    const char *word;
    int arg;
    route_target target;
    const char *extra; /* a tag the handler reads from hub_route.extra */
} api_keyword;

static const api_keyword api_keywords[] = {
    {"revision", ARG_REST, {hf_repo_info, "GET HEAD", 0}, NULL},
    {"tree", ARG_REV_PATH, {hf_tree, "GET HEAD", 0}, NULL},
    {"paths-info", ARG_REST, {hf_paths_info, "POST", BODY_JSON_CAP}, NULL},
    {"preupload", ARG_REST, {hf_preupload, "POST", BODY_JSON_CAP}, NULL},
    {"commit", ARG_REST, {hf_commit, "POST", BODY_COMMIT_CAP}, NULL},
    {"refs", ARG_NONE, {hf_refs, "GET HEAD", 0}, NULL},
    {"branch", ARG_REST, {hf_branch, "POST DELETE", BODY_JSON_CAP}, NULL},
    {"tag", ARG_REST, {hf_tag, "POST DELETE", BODY_JSON_CAP}, NULL},
    {"commits", ARG_REV_REST, {hf_commits, "GET HEAD", 0}, NULL},
    {"super-squash", ARG_REST, {hf_super_squash, "POST", BODY_JSON_CAP}, NULL},
    {"settings", ARG_NONE, {hf_repo_settings, "PUT POST", BODY_JSON_CAP}, NULL},
    {"xet-read-token", ARG_REST, {xet_token, "GET", 0}, "read"},
    {"xet-write-token", ARG_REST, {xet_token, "GET", 0}, "write"},
    {"auth-check", ARG_REST, {hf_auth_check, "GET", 0}, NULL},
    {"tensor-diff", ARG_REV_REST, {hf_tensor_diff, "GET HEAD", 0}, NULL},
    {"weft-delta", ARG_REV_PATH, {hf_weft_delta, "GET HEAD", 0}, NULL},
};

/* /api/{T}/NS/NAME[/KEYWORD/...] */
static void api_repo_route(weft_http_req *req, hub_route *rt)
{
    static const route_target info = {hf_repo_info, "GET HEAD", 0};
    size_t n = weft_http_req_n_segments(req);
    if (n == 4) {
        run_target(req, &info);
        return;
    }
    const char *kw = weft_http_req_segment(req, 4);
    for (size_t i = 0; i < sizeof api_keywords / sizeof api_keywords[0]; i++) {
        const api_keyword *k = &api_keywords[i];
        if (strcmp(kw, k->word) != 0)
            continue;
        size_t next = 5;
        switch (k->arg) {
        case ARG_REST: rt->rev = join_segments(req, 5); break;
        case ARG_REV_PATH:
            rt->rev = take_rev(req, 5, &next);
            rt->path = join_segments(req, next);
            break;
        case ARG_REV_REST:
            /* a revision, raw "refs/pr/N" included, with any further segments kept in it */
            rt->rev = join_segments(req, 5);
            break;
        default: break;
        }
        rt->extra = (void *)k->extra;
        if (k->arg != ARG_NONE && !rt->rev) {
            weft_http_respond_error(req, 500, NULL, "out of memory");
            return;
        }
        run_target(req, &k->target);
        return;
    }
    not_found(req);
}

/* NS/NAME[.git]/... outside /api: resolve, raw, LFS batch, git. seg = index of NS. */
static void repo_route(weft_http_req *req, hub_route *rt, size_t seg)
{
    static const route_target resolve = {hf_resolve, "GET HEAD", 0};
    static const route_target batch = {lfs_batch, "POST", BODY_JSON_CAP};
    size_t n = weft_http_req_n_segments(req);
    if (seg + 3 > n) {
        not_found(req);
        return;
    }
    const char *ns = weft_http_req_segment(req, seg);
    const char *nm = weft_http_req_segment(req, seg + 1);
    char name[WEFT_NAME_MAX + 8];
    size_t nl = strlen(nm);
    if (nl >= sizeof name) {
        not_found(req);
        return;
    }
    memcpy(name, nm, nl + 1);
    int dot_git = nl > 4 && strcmp(name + nl - 4, ".git") == 0;
    if (dot_git)
        name[nl - 4] = '\0';
    if (set_repo(rt, ns, name) < 0) {
        not_found(req);
        return;
    }
    const char *kw = weft_http_req_segment(req, seg + 2);
    if (!dot_git && (strcmp(kw, "resolve") == 0 || strcmp(kw, "raw") == 0)) {
        size_t next;
        rt->rev = take_rev(req, seg + 3, &next);
        rt->path = join_segments(req, next);
        rt->extra = (void *)(strcmp(kw, "raw") == 0 ? "raw" : "resolve");
        if (!rt->rev || !rt->path || !rt->path[0])
            not_found(req);
        else
            run_target(req, &resolve);
        return;
    }
    int lfs_batch_path = strcmp(kw, "info") == 0 && seg + 6 == n &&
                         strcmp(weft_http_req_segment(req, seg + 3), "lfs") == 0 &&
                         strcmp(weft_http_req_segment(req, seg + 4), "objects") == 0 &&
                         strcmp(weft_http_req_segment(req, seg + 5), "batch") == 0;
    if (lfs_batch_path) {
        run_target(req, &batch);
        return;
    }
    int git_path = (strcmp(kw, "info") == 0 && seg + 4 == n &&
                    strcmp(weft_http_req_segment(req, seg + 3), "refs") == 0) ||
                   (seg + 3 == n &&
                    (strcmp(kw, "git-upload-pack") == 0 || strcmp(kw, "git-receive-pack") == 0));
    if (git_path) {
        char *sub = join_segments(req, seg + 2);
        git_http_dispatch(req, rt, sub ? sub : "");
        free(sub);
        return;
    }
    not_found(req);
}

/* /api/repos/{create,delete,move} */
static const struct {
    const char *op;
    route_target target;
} repo_ops[] = {
    {"create", {hf_repo_create, "POST", BODY_JSON_CAP}},
    {"delete", {hf_repo_delete, "DELETE", BODY_JSON_CAP}},
    {"move", {hf_repo_move, "POST", BODY_JSON_CAP}},
};

static void api_route(weft_http_req *req, hub_route *rt)
{
    static const route_target whoami = {hf_whoami, "GET", 0};
    static const route_target validate = {hf_validate_yaml, "POST", BODY_JSON_CAP};
    static const route_target list = {hf_repo_list, "GET", 0};
    size_t n = weft_http_req_n_segments(req);
    const char *s1 = weft_http_req_segment(req, 1);
    if (n == 2 && strcmp(s1, "whoami-v2") == 0) {
        run_target(req, &whoami);
        return;
    }
    if (n == 2 && strcmp(s1, "validate-yaml") == 0) {
        run_target(req, &validate);
        return;
    }
    if (n == 3 && strcmp(s1, "repos") == 0) {
        const char *op = weft_http_req_segment(req, 2);
        for (size_t i = 0; i < sizeof repo_ops / sizeof repo_ops[0]; i++) {
            if (strcmp(op, repo_ops[i].op) == 0) {
                run_target(req, &repo_ops[i].target);
                return;
            }
        }
        not_found(req);
        return;
    }
    if (strcmp(s1, "lfs") == 0) {
        lfs_upload_dispatch(req, rt->h);
        return;
    }
    weft_repo_type t;
    if (weft_repo_type_parse(s1, &t) == 0 && strcmp(s1, weft_repo_type_plural(t)) == 0) {
        rt->type = t;
        if (n == 2)
            run_target(req, &list);
        else if (n >= 4 &&
                 set_repo(rt, weft_http_req_segment(req, 2), weft_http_req_segment(req, 3)) == 0)
            api_repo_route(req, rt);
        else
            weft_http_respond_error(req, 404, "RepoNotFound", "Repository Not Found");
        return;
    }
    not_found(req);
}

void hub_dispatch(weft_http_req *req, void *app)
{
    hub *h = app;
    hub_route *rt = calloc(1, sizeof *rt);
    if (!rt) {
        weft_http_respond_error(req, 500, NULL, "out of memory");
        return;
    }
    rt->h = h;
    weft_http_req_set_state(req, rt, route_free);
    if (weft_http_req_is(req, "OPTIONS")) {
        /* CORS preflight for browsers running the JS client */
        weft_http_resp_header(req, "Access-Control-Allow-Methods",
                              "GET, HEAD, POST, PUT, DELETE, OPTIONS");
        const char *want = weft_http_req_header(req, "Access-Control-Request-Headers");
        weft_http_resp_header(req, "Access-Control-Allow-Headers", want ? want : "*");
        weft_http_resp_header(req, "Access-Control-Max-Age", "86400");
        weft_http_respond_empty(req, 204);
        return;
    }
    size_t n = weft_http_req_n_segments(req);
    const char *s0 = n > 0 ? weft_http_req_segment(req, 0) : "";
    if (strcmp(s0, "api") == 0 && n >= 2) {
        api_route(req, rt);
    } else if ((strcmp(s0, "v1") == 0 || strcmp(s0, "v2") == 0) && h->xet) {
        xet_cas_dispatch(req, h);
    } else if (strcmp(s0, "datasets") == 0 || strcmp(s0, "spaces") == 0) {
        rt->type = s0[0] == 'd' ? WEFT_REPO_DATASET : WEFT_REPO_SPACE;
        repo_route(req, rt, 1);
    } else if (strcmp(s0, "api") != 0 && n >= 3) {
        rt->type = WEFT_REPO_MODEL;
        repo_route(req, rt, 0);
    } else if (n == 0 || (n == 1 && s0[0] == '\0')) {
        static const char page[] =
            "weft: a self-hosted Hugging Face Hub. Point HF_ENDPOINT here.\n";
        weft_http_respond_data(req, 200, "text/plain; charset=utf-8", page, sizeof page - 1);
    } else {
        not_found(req);
    }
}
