/* Repo routes: create, delete, move, settings, info (with and without revision), listing and
 * validate-yaml (specs/hf-hub-api.md §4, §5, §8.5, §9). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"
#include "weft/fsutil.h"
#include "weft/sha256.h"

#define README_MAX ((size_t)1 << 20)
#define LIST_PAGE_MAX 1000

/* ---- model cards ---------------------------------------------------------------------------- */

json_t *hub_card_json(weft_repo *git, const weft_oid *commit)
{
    weft_repo_entry e;
    if (weft_repo_stat(git, commit, "README.md", &e) < 0 || e.is_dir || e.is_lfs)
        return json_object();
    uint8_t *text = NULL;
    size_t len = 0;
    if (weft_repo_blob_read(git, &e.oid, README_MAX, &text, &len) < 0)
        return json_object();
    char *js = NULL;
    json_t *card = NULL;
    if (weft_card_parse((const char *)text, len, &js) == 0)
        card = json_loads(js, 0, NULL);
    free(js);
    free(text);
    if (!json_is_object(card)) {
        json_decref(card);
        card = json_object();
    }
    return card;
}

/* The Hub's tags: the card's tags plus its library and pipeline. */
static json_t *card_tags(json_t *card)
{
    json_t *tags = json_array();
    json_t *t = json_object_get(card, "tags");
    if (json_is_string(t))
        json_array_append(tags, t);
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v)
    {
        if (json_is_string(v))
            json_array_append(tags, v);
    }
    const char *extra[] = {"library_name", "pipeline_tag", "license"};
    for (size_t k = 0; k < 3; k++) {
        json_t *x = json_object_get(card, extra[k]);
        if (json_is_string(x)) {
            char buf[256];
            if (k == 2)
                snprintf(buf, sizeof buf, "license:%s", json_string_value(x));
            else
                snprintf(buf, sizeof buf, "%s", json_string_value(x));
            json_array_append_new(tags, json_string(buf));
        }
    }
    return tags;
}

/* ---- info ----------------------------------------------------------------------------------- */

typedef struct sibling_ctx {
    json_t *arr;
    int blobs;
} sibling_ctx;

static int add_sibling(const weft_repo_entry *e, void *payload)
{
    sibling_ctx *c = payload;
    if (e->is_dir)
        return 0;
    json_t *s = json_pack("{s:s}", "rfilename", e->path);
    if (c->blobs) {
        char oid[41];
        weft_oid_to_hex(oid, &e->oid);
        json_object_set_new(s, "size", json_integer((json_int_t)e->size));
        json_object_set_new(s, "blobId", json_string(oid));
        if (e->is_lfs) {
            char sha[65];
            weft_hex_encode(sha, e->lfs_sha256, 32);
            json_object_set_new(s, "lfs",
                                json_pack("{s:I,s:s,s:I}", "size", (json_int_t)e->size, "sha256",
                                          sha, "pointerSize", (json_int_t)e->pointer_size));
        }
    }
    json_array_append_new(c->arr, s);
    return 0;
}

/* The repo object of info and listings. git/commit may be NULL (listing without details). */
static json_t *repo_object(const weft_repo_rec *rec, weft_repo *git, const weft_oid *commit,
                           int siblings, int blobs, json_t *card)
{
    char id[2 * WEFT_NAME_MAX + 2], modified[32], created[32];
    snprintf(id, sizeof id, "%s/%s", rec->ns, rec->name);
    weft_http_format_date(modified, rec->modified);
    weft_http_format_date(created, rec->created);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:s,s:s,s:i,s:i}", "_id", rec->uid, "id", id, "author",
                  rec->ns, "private", rec->is_private, "gated", 0, "disabled", 0, "lastModified",
                  modified, "createdAt", created, "downloads", 0, "likes", 0);
    if (rec->type == WEFT_REPO_MODEL)
        json_object_set_new(o, "modelId", json_string(id));
    if (commit) {
        char sha[41];
        weft_oid_to_hex(sha, commit);
        json_object_set_new(o, "sha", json_string(sha));
    }
    if (card) {
        json_object_set_new(o, "tags", card_tags(card));
        const char *keys[] = {"pipeline_tag", "library_name"};
        for (size_t k = 0; k < 2; k++) {
            json_t *v = json_object_get(card, keys[k]);
            if (json_is_string(v) && rec->type == WEFT_REPO_MODEL)
                json_object_set(o, keys[k], v);
        }
        json_t *sdk = json_object_get(card, "sdk");
        if (rec->type == WEFT_REPO_SPACE && json_is_string(sdk))
            json_object_set(o, "sdk", sdk);
        if (json_object_size(card) > 0)
            json_object_set(o, "cardData", card);
    } else {
        json_object_set_new(o, "tags", json_array());
    }
    if (siblings && git && commit) {
        sibling_ctx c = {json_array(), blobs};
        if (weft_repo_list(git, commit, "", 1, add_sibling, &c) < 0) {
            json_decref(c.arr);
            c.arr = json_array();
        }
        json_object_set_new(o, "siblings", c.arr);
    }
    return o;
}

void hf_repo_info(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid commit;
    if (hub_resolve_rev(req, &r, rt->rev && rt->rev[0] ? rt->rev : "HEAD", &commit, NULL, 0) == 0) {
        json_t *card = hub_card_json(r.git, &commit);
        json_t *o =
            repo_object(&r.rec, r.git, &commit, 1, weft_http_req_query_bool(req, "blobs", 0), card);
        json_decref(card);
        if (o && r.rec.type == WEFT_REPO_MODEL)
            hf_model_summary(rt->h, r.git, &commit, o);
        char sha[41];
        weft_oid_to_hex(sha, &commit);
        weft_http_resp_header(req, "X-Repo-Commit", sha);
        weft_http_respond_json(req, 200, o);
    }
    hub_repo_close(&r);
}

/* ---- listing -------------------------------------------------------------------------------- */

typedef struct list_ctx {
    hub *h;
    weft_http_req *req;
    hub_caller caller;
    json_t *items; /* every match, as {rec fields, card} pairs before paging */
} list_ctx;

static int tag_match(json_t *card, const char *want)
{
    json_t *tags = card_tags(card);
    size_t i;
    json_t *v;
    int hit = 0;
    json_array_foreach(tags, i, v)
    {
        if (strcmp(json_string_value(v), want) == 0)
            hit = 1;
    }
    json_decref(tags);
    return hit;
}

static int list_one(const weft_repo_rec *rec, void *payload)
{
    list_ctx *c = payload;
    if (rec->is_private && !hub_can_read_ns(c->h, &c->caller, rec->ns))
        return 0;
    char id[2 * WEFT_NAME_MAX + 2];
    snprintf(id, sizeof id, "%s/%s", rec->ns, rec->name);
    size_t n = weft_http_req_query_count(c->req, "search");
    for (size_t i = 0; i < n; i++)
        if (!strcasestr(id, weft_http_req_query_at(c->req, "search", i)))
            return 0;
    json_t *card = rec->card_json ? json_loads(rec->card_json, 0, NULL) : NULL;
    if (!json_is_object(card)) {
        json_decref(card);
        card = json_object();
    }
    n = weft_http_req_query_count(c->req, "filter");
    for (size_t i = 0; i < n; i++) {
        if (!tag_match(card, weft_http_req_query_at(c->req, "filter", i))) {
            json_decref(card);
            return 0;
        }
    }
    json_t *item = repo_object(rec, NULL, NULL, 0, 0, card);
    json_decref(card);
    json_object_set_new(item, "_created_ms", json_integer(rec->created));
    json_object_set_new(item, "_modified_ms", json_integer(rec->modified));
    json_array_append_new(c->items, item);
    return 0;
}

static const char *sort_key;
static int sort_desc;

static int compare_items(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r;
    if (strcmp(sort_key, "id") == 0) {
        r = strcmp(json_string_value(json_object_get(x, "id")),
                   json_string_value(json_object_get(y, "id")));
    } else {
        const char *k = strcmp(sort_key, "createdAt") == 0 ? "_created_ms" : "_modified_ms";
        json_int_t p = json_integer_value(json_object_get(x, k));
        json_int_t q = json_integer_value(json_object_get(y, k));
        r = p < q ? -1 : p > q;
    }
    return sort_desc ? -r : r;
}

void hf_repo_list(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    list_ctx c = {.h = rt->h, .req = req};
    if (hub_caller_get(rt->h, req, &c.caller) < 0)
        return;
    weft_meta *m = hub_meta(rt->h);
    if (!m) {
        hub_respond_rc(req, WEFT_EIO);
        return;
    }
    c.items = json_array();
    int rc = weft_meta_repo_list(m, rt->type, weft_http_req_query(req, "author"), list_one, &c);
    if (rc < 0) {
        json_decref(c.items);
        hub_respond_rc(req, rc);
        return;
    }
    size_t n = json_array_size(c.items);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        json_decref(c.items);
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(c.items, i);
    const char *sort = weft_http_req_query(req, "sort");
    sort_key =
        sort && (strcmp(sort, "createdAt") == 0 || strcmp(sort, "id") == 0) ? sort : "lastModified";
    const char *dir = weft_http_req_query(req, "direction");
    sort_desc = !(dir && strcmp(dir, "1") == 0) && strcmp(sort_key, "id") != 0;
    qsort(v, n, sizeof *v, compare_items);
    size_t offset, limit;
    hub_page_params(req, LIST_PAGE_MAX, &offset, &limit);
    int full =
        weft_http_req_query_bool(req, "full", 0) || weft_http_req_query_bool(req, "cardData", 0);
    json_t *page = json_array();
    for (size_t i = offset; i < n && i < offset + limit; i++) {
        json_t *it = v[i];
        json_object_del(it, "_created_ms");
        json_object_del(it, "_modified_ms");
        if (full) {
            /* full objects: the default branch's sha and files */
            const char *id = json_string_value(json_object_get(it, "id"));
            const char *slash = strchr(id, '/');
            char ns[WEFT_NAME_MAX + 1], name[WEFT_NAME_MAX + 1], dirp[1024];
            snprintf(ns, sizeof ns, "%.*s", (int)(slash - id), id);
            snprintf(name, sizeof name, "%s", slash + 1);
            hub_repo_dir(rt->h, dirp, sizeof dirp, rt->type, ns, name);
            weft_repo *git = NULL;
            weft_oid commit;
            if (weft_repo_open(&git, dirp) == 0 &&
                weft_repo_resolve(git, "HEAD", &commit, NULL, 0) == 0) {
                char sha[41];
                weft_oid_to_hex(sha, &commit);
                json_object_set_new(it, "sha", json_string(sha));
                sibling_ctx sc = {json_array(), 0};
                if (weft_repo_list(git, &commit, "", 1, add_sibling, &sc) == 0)
                    json_object_set_new(it, "siblings", sc.arr);
                else
                    json_decref(sc.arr);
            }
            weft_repo_close(git);
        }
        json_array_append(page, it);
    }
    if (offset + limit < n)
        hub_page_link(req, offset + limit);
    free(v);
    json_decref(c.items);
    weft_http_respond_json(req, 200, page);
}

/* ---- create / delete / move / settings ------------------------------------------------------ */

/* Reads {name, organization, type} of create/delete: name may also be "ns/name". */
static int body_repo_id(weft_http_req *req, json_t *body, const hub_caller *c, weft_repo_type *type,
                        char *ns, char *name)
{
    const char *t = json_string_value(json_object_get(body, "type"));
    *type = WEFT_REPO_MODEL;
    if (t && weft_repo_type_parse(t, type) < 0) {
        weft_http_respond_error(req, 400, NULL, "unknown repo type '%s'", t);
        return -1;
    }
    const char *nm = json_string_value(json_object_get(body, "name"));
    const char *org = json_string_value(json_object_get(body, "organization"));
    if (!nm || !*nm) {
        weft_http_respond_error(req, 400, NULL, "'name' is required");
        return -1;
    }
    const char *slash = strchr(nm, '/');
    if (slash) {
        if ((size_t)(slash - nm) > WEFT_NAME_MAX) {
            weft_http_respond_error(req, 400, NULL, "invalid repo id '%s'", nm);
            return -1;
        }
        snprintf(ns, WEFT_NAME_MAX + 1, "%.*s", (int)(slash - nm), nm);
        nm = slash + 1;
    } else if (org && *org) {
        snprintf(ns, WEFT_NAME_MAX + 1, "%s", org);
    } else if (!c->anonymous) {
        snprintf(ns, WEFT_NAME_MAX + 1, "%s", c->token.user);
    } else {
        weft_http_respond_error(req, 401, NULL, "You must be authenticated");
        return -1;
    }
    if (strlen(nm) > WEFT_NAME_MAX || !weft_meta_name_valid(nm) || !weft_meta_name_valid(ns)) {
        weft_http_respond_error(req, 400, NULL,
                                "invalid repo id '%s/%s': use letters, digits, '-', '_' and '.', "
                                "at most 96 characters, no '--' or '..'",
                                ns, nm);
        return -1;
    }
    snprintf(name, WEFT_NAME_MAX + 1, "%s", nm);
    return 0;
}

static int require_writer(hub *h, weft_http_req *req, hub_caller *c, const char *ns)
{
    if (hub_caller_get(h, req, c) < 0)
        return -1;
    if (c->anonymous) {
        weft_http_respond_error(req, 401, NULL, "You must be authenticated");
        return -1;
    }
    if (!hub_can_write_ns(h, c, ns)) {
        weft_http_respond_error(req, 403, NULL, "You don't have the rights to write to '%s'", ns);
        return -1;
    }
    return 0;
}

static int parse_visibility(weft_http_req *req, json_t *body, int *is_private, int *given)
{
    *given = 0;
    json_t *vis = json_object_get(body, "visibility");
    json_t *priv = json_object_get(body, "private");
    if (json_is_string(vis)) {
        const char *v = json_string_value(vis);
        *given = 1;
        if (strcmp(v, "public") == 0) {
            *is_private = 0;
        } else if (strcmp(v, "private") == 0 || strcmp(v, "protected") == 0) {
            *is_private = 1;
        } else {
            weft_http_respond_error(req, 400, NULL, "unknown visibility '%s'", v);
            return -1;
        }
    } else if (json_is_boolean(priv)) {
        *given = 1;
        *is_private = json_is_true(priv);
    } else if (priv && !json_is_null(priv)) {
        weft_http_respond_error(req, 400, NULL, "'private' must be a boolean");
        return -1;
    }
    return 0;
}

void hf_repo_create(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub *h = rt->h;
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    hub_caller c;
    weft_repo_type type;
    char ns[WEFT_NAME_MAX + 1], name[WEFT_NAME_MAX + 1];
    int is_private = 0, given = 0;
    if (hub_caller_get(h, req, &c) < 0 || body_repo_id(req, body, &c, &type, ns, name) < 0 ||
        parse_visibility(req, body, &is_private, &given) < 0 ||
        require_writer(h, req, &c, ns) < 0) {
        json_decref(body);
        return;
    }
    weft_meta *m = hub_meta(h);
    weft_repo_rec rec = {0};
    int rc = m ? weft_meta_repo_create(m, type, ns, name, is_private, &rec) : WEFT_EIO;
    if (rc == WEFT_EEXISTS) {
        weft_http_respond_error(req, 409, NULL, "You already created this %s repo: %s/%s",
                                weft_repo_type_name(type), ns, name);
        json_decref(body);
        return;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        json_decref(body);
        return;
    }
    char dir[1024];
    hub_repo_dir(h, dir, sizeof dir, type, ns, name);
    if (weft_fs_exists(dir))
        hub_warn_rc(
            weft_repo_destroy(dir),
            "removing a stale repo directory"); /* left by a crash between unregister and delete */
    rc = weft_repo_init(dir, hub_now_ms() / 1000);
    if (rc < 0) {
        int keep = rc;
        hub_warn_rc(weft_meta_repo_delete(m, type, ns, name), "unregistering a repo");
        weft_repo_rec_dispose(&rec);
        json_decref(body);
        hub_respond_rc(req, keep);
        return;
    }
    char url[1024], id[2 * WEFT_NAME_MAX + 2];
    hub_repo_url(req, url, sizeof url, type, ns, name);
    snprintf(id, sizeof id, "%s/%s", ns, name);
    weft_http_respond_json(req, 200,
                           json_pack("{s:s,s:s,s:s}", "url", url, "name", id, "id", rec.uid));
    weft_repo_rec_dispose(&rec);
    json_decref(body);
}

void hf_repo_delete(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub *h = rt->h;
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    hub_caller c;
    weft_repo_type type;
    char ns[WEFT_NAME_MAX + 1], name[WEFT_NAME_MAX + 1];
    if (hub_caller_get(h, req, &c) < 0 || body_repo_id(req, body, &c, &type, ns, name) < 0) {
        json_decref(body);
        return;
    }
    json_decref(body);
    hub_repo r;
    if (hub_repo_open(h, req, type, ns, name, HUB_WRITE, &r) < 0)
        return;
    hub_repo_close(&r);
    weft_meta *m = hub_meta(h);
    int rc = weft_meta_repo_delete(m, type, ns, name);
    if (rc == 0)
        rc = weft_repo_destroy(r.dir);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    weft_http_respond_json(req, 200, json_object());
}

static int split_id(const char *id, char *ns, char *name)
{
    const char *slash = id ? strchr(id, '/') : NULL;
    if (!slash || strchr(slash + 1, '/') || (size_t)(slash - id) > WEFT_NAME_MAX ||
        strlen(slash + 1) > WEFT_NAME_MAX)
        return -1;
    snprintf(ns, WEFT_NAME_MAX + 1, "%.*s", (int)(slash - id), id);
    snprintf(name, WEFT_NAME_MAX + 1, "%s", slash + 1);
    return weft_meta_name_valid(ns) && weft_meta_name_valid(name) ? 0 : -1;
}

void hf_repo_move(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub *h = rt->h;
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    char fns[WEFT_NAME_MAX + 1], fname[WEFT_NAME_MAX + 1];
    char tns[WEFT_NAME_MAX + 1], tname[WEFT_NAME_MAX + 1];
    const char *t = json_string_value(json_object_get(body, "type"));
    weft_repo_type type = WEFT_REPO_MODEL;
    if ((t && weft_repo_type_parse(t, &type) < 0) ||
        split_id(json_string_value(json_object_get(body, "fromRepo")), fns, fname) < 0 ||
        split_id(json_string_value(json_object_get(body, "toRepo")), tns, tname) < 0) {
        json_decref(body);
        weft_http_respond_error(req, 400, NULL,
                                "expected {\"fromRepo\": \"ns/a\", \"toRepo\": \"ns/b\", "
                                "\"type\": \"model|dataset|space\"}");
        return;
    }
    json_decref(body);
    hub_repo r;
    if (hub_repo_open(h, req, type, fns, fname, HUB_WRITE, &r) < 0)
        return;
    hub_caller c = r.caller;
    hub_repo_close(&r);
    if (!hub_can_write_ns(h, &c, tns)) {
        weft_http_respond_error(req, 403, NULL, "You don't have the rights to write to '%s'", tns);
        return;
    }
    char to_dir[1024], parent[1024];
    hub_repo_dir(h, to_dir, sizeof to_dir, type, tns, tname);
    snprintf(parent, sizeof parent, "%s/%s/%s", h->repos_dir, weft_repo_type_plural(type), tns);
    weft_meta *m = hub_meta(h);
    int rc = weft_fs_mkdirs(parent);
    if (rc == 0)
        rc = weft_meta_repo_move(m, type, fns, fname, tns, tname);
    if (rc == WEFT_EEXISTS) {
        weft_http_respond_error(req, 409, NULL, "%s/%s already exists", tns, tname);
        return;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    if (rename(r.dir, to_dir) != 0) {
        int e = weft_err_sys(WEFT_EIO, errno, "moving %s", r.dir);
        hub_warn_rc(weft_meta_repo_move(m, type, tns, tname, fns, fname), "undoing a move");
        hub_respond_rc(req, e);
        return;
    }
    weft_http_respond_json(req, 200, json_object());
}

void hf_repo_settings(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    int is_private = 0, given = 0;
    json_t *gated = json_object_get(body, "gated");
    if (parse_visibility(req, body, &is_private, &given) < 0) {
        json_decref(body);
        return;
    }
    if (gated && !json_is_false(gated)) {
        json_decref(body);
        weft_http_respond_error(req, 400, NULL,
                                "gated repos are not supported: only "
                                "\"gated\": false");
        return;
    }
    json_decref(body);
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0)
        return;
    int rc = 0;
    if (given)
        rc = weft_meta_repo_set_private(hub_meta(rt->h), rt->type, rt->ns, rt->name, is_private);
    hub_repo_close(&r);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    weft_http_respond_json(req, 200, json_object());
}

/* ---- validate-yaml -------------------------------------------------------------------------- */

void hf_validate_yaml(weft_http_req *req)
{
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    const char *content = json_string_value(json_object_get(body, "content"));
    if (!content) {
        json_decref(body);
        weft_http_respond_error(req, 400, NULL, "'content' (string) is required");
        return;
    }
    char *js = NULL;
    int rc = weft_card_parse(content, json_string_length(json_object_get(body, "content")), &js);
    free(js);
    json_decref(body);
    if (rc < 0) {
        json_t *errs = json_pack("[{s:s}]", "message", weft_err_last());
        weft_http_resp_headerf(req, "X-Error-Message", "invalid YAML: %s", weft_err_last());
        weft_http_respond_json(req, 400, json_pack("{s:o,s:[]}", "errors", errs, "warnings"));
        return;
    }
    weft_http_respond_json(req, 200, json_pack("{s:[],s:[]}", "errors", "warnings"));
}
