/* The hub's shared machinery: per-thread handles, the caller, access rules, opening the repo a
 * route names, and small answer helpers (server/hub.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/hub.h"
#include "weft/log.h"

typedef struct thread_handles {
    weft_meta *meta;
    weft_store *store;
} thread_handles;

static pthread_key_t handles_key;
static pthread_once_t handles_once = PTHREAD_ONCE_INIT;

static void handles_free(void *p)
{
    thread_handles *t = p;
    weft_meta_close(t->meta);
    weft_store_close(t->store);
    free(t);
}

static void handles_init(void)
{
    pthread_key_create(&handles_key, handles_free);
}

static thread_handles *handles(void)
{
    pthread_once(&handles_once, handles_init);
    thread_handles *t = pthread_getspecific(handles_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t)
            pthread_setspecific(handles_key, t);
    }
    return t;
}

weft_meta *hub_meta(hub *h)
{
    thread_handles *t = handles();
    if (!t) {
        weft_err_set(WEFT_ENOMEM, "out of memory");
        return NULL;
    }
    if (!t->meta && weft_meta_open(&t->meta, h->meta_path) < 0)
        return NULL;
    return t->meta;
}

weft_store *hub_store(hub *h)
{
    thread_handles *t = handles();
    if (!t) {
        weft_err_set(WEFT_ENOMEM, "out of memory");
        return NULL;
    }
    if (!t->store && weft_store_open(&t->store, h->store_dir) < 0)
        return NULL;
    return t->store;
}

int64_t hub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hub_respond_rc(weft_http_req *req, int rc)
{
    const char *msg = weft_err_last();
    weft_http_respond_error(req, weft_http_status_for(rc), NULL, "%s",
                            msg[0] ? msg : weft_err_name(rc));
}

int hub_caller_get(hub *h, weft_http_req *req, hub_caller *out)
{
    memset(out, 0, sizeof *out);
    const char *cred = weft_http_req_credential(req);
    if (!cred) {
        out->anonymous = 1;
        return 0;
    }
    weft_meta *m = hub_meta(h);
    if (!m) {
        hub_respond_rc(req, WEFT_EIO);
        return WEFT_EIO;
    }
    int rc = weft_meta_token_check(m, cred, &out->token);
    if (rc == WEFT_EAUTH) {
        weft_http_respond_error(req, 401, NULL, "Invalid credentials in Authorization header");
        return rc;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return rc;
    }
    if (out->token.role == WEFT_ROLE_ADMIN) {
        weft_account a;
        if (weft_meta_account_get(m, out->token.user, &a) == 0)
            out->is_admin = a.is_admin;
    }
    return 0;
}

int hub_can_read_ns(hub *h, const hub_caller *c, const char *ns)
{
    if (c->anonymous)
        return 0;
    if (c->is_admin || strcmp(c->token.user, ns) == 0)
        return 1;
    weft_meta *m = hub_meta(h);
    return m && weft_meta_is_member(m, ns, c->token.user) == 1;
}

int hub_can_write_ns(hub *h, const hub_caller *c, const char *ns)
{
    if (c->anonymous || c->token.role < WEFT_ROLE_WRITE)
        return 0;
    return hub_can_read_ns(h, c, ns);
}

const char *hub_type_prefix(weft_repo_type t)
{
    switch (t) {
    case WEFT_REPO_DATASET: return "/datasets";
    case WEFT_REPO_SPACE: return "/spaces";
    default: return "";
    }
}

void hub_repo_url(weft_http_req *req, char *out, size_t cap, weft_repo_type type, const char *ns,
                  const char *name)
{
    snprintf(out, cap, "%s%s/%s/%s", weft_http_req_base_url(req), hub_type_prefix(type), ns, name);
}

void hub_repo_dir(hub *h, char *out, size_t cap, weft_repo_type type, const char *ns,
                  const char *name)
{
    snprintf(out, cap, "%s/%s/%s/%s.git", h->repos_dir, weft_repo_type_plural(type), ns, name);
}

static void respond_repo_not_found(weft_http_req *req, const hub_caller *c, weft_repo_type type,
                                   const char *ns, const char *name)
{
    weft_http_respond_error(req, c->anonymous ? 401 : 404, "RepoNotFound",
                            "Repository Not Found for url: %s%s. Please make sure you specified "
                            "the correct `repo_id` and `repo_type` (%s %s/%s).",
                            weft_http_req_base_url(req), weft_http_req_path(req),
                            weft_repo_type_name(type), ns, name);
}

int hub_repo_open(hub *h, weft_http_req *req, weft_repo_type type, const char *ns, const char *name,
                  int access, hub_repo *out)
{
    memset(out, 0, sizeof *out);
    int rc = hub_caller_get(h, req, &out->caller);
    if (rc < 0)
        return rc;
    weft_meta *m = hub_meta(h);
    if (!m) {
        hub_respond_rc(req, WEFT_EIO);
        return WEFT_EIO;
    }
    rc = weft_meta_repo_get(m, type, ns, name, &out->rec);
    if (rc == WEFT_ENOTFOUND ||
        (rc == 0 && out->rec.is_private && !hub_can_read_ns(h, &out->caller, ns))) {
        weft_repo_rec_dispose(&out->rec);
        respond_repo_not_found(req, &out->caller, type, ns, name);
        return WEFT_ENOTFOUND;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return rc;
    }
    out->can_write = hub_can_write_ns(h, &out->caller, ns);
    if (access == HUB_WRITE && !out->can_write) {
        weft_repo_rec_dispose(&out->rec);
        if (out->caller.anonymous)
            weft_http_respond_error(req, 401, NULL, "You must be authenticated to write to %s/%s",
                                    ns, name);
        else
            weft_http_respond_error(req, 403, NULL,
                                    "You don't have the rights to write to %s/%s (token role %s)",
                                    ns, name, weft_role_name(out->caller.token.role));
        return WEFT_EAUTH;
    }
    hub_repo_dir(h, out->dir, sizeof out->dir, type, ns, name);
    rc = weft_repo_open(&out->git, out->dir);
    if (rc < 0) {
        weft_repo_rec_dispose(&out->rec);
        hub_respond_rc(req, rc == WEFT_ENOTFOUND ? WEFT_EIO : rc);
        return rc;
    }
    return 0;
}

void hub_repo_close(hub_repo *r)
{
    weft_repo_close(r->git);
    r->git = NULL;
    weft_repo_rec_dispose(&r->rec);
}

int hub_resolve_rev(weft_http_req *req, hub_repo *r, const char *rev, weft_oid *commit_out,
                    char *ref_out, size_t ref_cap)
{
    int rc = weft_repo_resolve(r->git, rev, commit_out, ref_out, ref_cap);
    if (rc == WEFT_ENOTFOUND || rc == WEFT_EINVALID) {
        weft_http_respond_error(req, 404, "RevisionNotFound", "Invalid rev id: %s", rev);
        return WEFT_ENOTFOUND;
    }
    if (rc < 0)
        hub_respond_rc(req, rc);
    return rc;
}

json_t *hub_json_body(weft_http_req *req)
{
    size_t len = 0;
    const uint8_t *body = weft_http_req_body(req, &len);
    json_error_t err;
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        weft_http_respond_error(req, 400, NULL, "bad JSON body: %s (line %d)", err.text, err.line);
        return NULL;
    }
    return j;
}

hub_route *hub_route_of(weft_http_req *req)
{
    return weft_http_req_state(req);
}

void hub_warn_rc(int rc, const char *what)
{
    if (rc < 0)
        weft_log_warn("%s: %s", what, weft_err_last());
}

void hub_page_link(weft_http_req *req, size_t next)
{
    const char *qs = weft_http_req_query_string(req);
    size_t cap = strlen(qs) + strlen(weft_http_req_path(req)) + 512;
    char *url = malloc(cap);
    if (!url)
        return;
    int o = snprintf(url, cap, "%s%s?", weft_http_req_base_url(req), weft_http_req_path(req));
    const char *p = qs;
    while (*p) {
        const char *e = strchr(p, '&');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && strncmp(p, "cursor=", 7) != 0)
            o += snprintf(url + o, cap - (size_t)o, "%.*s&", (int)len, p);
        p = e ? e + 1 : p + len;
    }
    snprintf(url + o, cap - (size_t)o, "cursor=%zu", next);
    weft_http_resp_headerf(req, "Link", "<%s>; rel=\"next\"", url);
    free(url);
}

/* Parses cursor/limit query values shared by the paginated routes. */
void hub_page_params(weft_http_req *req, size_t dflt, size_t *offset, size_t *limit)
{
    *offset = 0;
    *limit = dflt;
    const char *cur = weft_http_req_query(req, "cursor");
    if (cur) {
        char *end = NULL;
        unsigned long long v = strtoull(cur, &end, 10);
        if (*end == '\0')
            *offset = (size_t)v;
    }
    const char *lim = weft_http_req_query(req, "limit");
    if (lim) {
        char *end = NULL;
        unsigned long long v = strtoull(lim, &end, 10);
        if (*end == '\0' && v > 0)
            *limit = v < dflt ? (size_t)v : dflt;
    }
}
