/* Account routes: GET /api/whoami-v2 (specs/hf-hub-api.md §3) and the auth-check probe. */
#include <stdio.h>
#include <string.h>

#include "server/hub.h"

static int add_org(const char *org, void *payload)
{
    json_array_append_new(payload,
                          json_pack("{s:s,s:s,s:s}", "type", "org", "name", org, "fullname", org));
    return 0;
}

void hf_whoami(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub_caller c;
    if (hub_caller_get(rt->h, req, &c) < 0)
        return;
    if (c.anonymous) {
        weft_http_respond_error(req, 401, NULL, "You must be authenticated (send a token)");
        return;
    }
    weft_meta *m = hub_meta(rt->h);
    json_t *orgs = json_array();
    if (!m || weft_meta_user_orgs(m, c.token.user, add_org, orgs) < 0) {
        json_decref(orgs);
        hub_respond_rc(req, WEFT_EIO);
        return;
    }
    char created[32];
    weft_http_format_date(created, c.token.created * 1000);
    char id[32];
    snprintf(id, sizeof id, "u%lld", (long long)c.token.id);
    const char *role = c.token.role == WEFT_ROLE_READ ? "read" : "write";
    if (c.token.role == WEFT_ROLE_ADMIN)
        role = "admin";
    json_t *body =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:b,s:{s:s,s:{s:s,s:s,s:s}}}", "type", "user", "id", id,
                  "name", c.token.user, "fullname", c.token.user, "orgs", orgs, "isPro", 0,
                  "emailVerified", 0, "auth", "type", "access_token", "accessToken", "displayName",
                  c.token.name[0] ? c.token.name : "token", "role", role, "createdAt", created);
    weft_http_respond_json(req, 200, body);
}

void hf_auth_check(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    int write = strcmp(rt->extra, "write") == 0;
    rt->extra = NULL;
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, write ? HUB_WRITE : HUB_READ, &r) < 0)
        return;
    hub_repo_close(&r);
    weft_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}
