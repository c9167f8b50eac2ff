/* Xet CAS sessions: the CAS token of a repo and revision, refreshed before it expires
 * (include/weft/xet_client.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/xet_client.h"

#define XET_REFRESH_MARGIN_SECONDS 30

struct weft_xet_session {
    weft_client *client;
    char *token_url; /* the Hub route that hands out CAS tokens */
    pthread_mutex_t lock;
    char *cas_url;
    char *access_token;
    long long exp;
};

/* Asks the Hub for a fresh token; called with the lock held (or before the session is shared). */
static int xet_session_fetch_token(weft_xet_session *s)
{
    json_t *j = NULL;
    int rc = weft_client_json(s->client, &j, "GET", s->token_url, NULL);
    if (rc < 0)
        return rc;
    const char *tok = json_string_value(json_object_get(j, "accessToken"));
    const char *cas = json_string_value(json_object_get(j, "casUrl"));
    json_t *exp = json_object_get(j, "exp");
    if (!tok || !tok[0] || !cas || strncmp(cas, "http", 4) != 0 || !json_is_integer(exp)) {
        rc = weft_err_set(WEFT_EINVALID, "%s: the answer lacks accessToken, casUrl or exp",
                          s->token_url);
        goto out;
    }
    char *t = strdup(tok), *u = strdup(cas);
    if (!t || !u) {
        free(t);
        free(u);
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    free(s->access_token);
    free(s->cas_url);
    s->access_token = t;
    s->cas_url = u;
    s->exp = (long long)json_integer_value(exp);
out:
    json_decref(j);
    return rc;
}

int weft_xet_session_open(weft_xet_session **out, weft_client *c, const weft_client_repo *repo,
                          const char *revision, int write, const char *refresh_url)
{
    *out = NULL;
    weft_xet_session *s = calloc(1, sizeof *s);
    if (!s)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    s->client = c;
    pthread_mutex_init(&s->lock, NULL);
    int rc = 0;
    if (refresh_url) {
        s->token_url = strdup(refresh_url);
    } else {
        char api[320], *rev = NULL;
        rc = weft_client_repo_api_path(api, sizeof api, repo);
        if (rc == 0)
            rc = weft_client_url_escape(&rev, revision ? revision : "main", 0);
        if (rc < 0)
            goto out;
        size_t n = strlen(api) + strlen(rev) + 32;
        s->token_url = malloc(n);
        if (s->token_url)
            snprintf(s->token_url, n, "%s/xet-%s-token/%s", api, write ? "write" : "read", rev);
        free(rev);
    }
    if (!s->token_url) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    rc = xet_session_fetch_token(s);
out:
    if (rc < 0)
        weft_xet_session_free(s);
    else
        *out = s;
    return rc;
}

void weft_xet_session_free(weft_xet_session *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->token_url);
    free(s->cas_url);
    free(s->access_token);
    free(s);
}

const char *weft_xet_session_cas_url(const weft_xet_session *s)
{
    return s->cas_url;
}

/* Copies the current token and CAS URL for one request, refreshing first when the token is
 * stale or `force` asks for it. */
static int xet_session_snapshot(weft_xet_session *s, int force, char **token, char **cas)
{
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (force || (long long)time(NULL) + XET_REFRESH_MARGIN_SECONDS >= s->exp)
        rc = xet_session_fetch_token(s);
    if (rc == 0) {
        *token = strdup(s->access_token);
        *cas = strdup(s->cas_url);
        if (!*token || !*cas)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* One attempt of weft_xet_session_send with a given token. */
static int xet_session_send_once(weft_xet_session *s, weft_client_resp *resp,
                                 const weft_client_req *req, int force_refresh)
{
    char *token = NULL, *cas = NULL, *auth = NULL, *url = NULL;
    const char **headers = NULL;
    int rc = xet_session_snapshot(s, force_refresh, &token, &cas);
    if (rc < 0) {
        memset(resp, 0, sizeof *resp);
        goto out;
    }
    size_t n_headers = 0;
    while (req->headers && req->headers[n_headers])
        n_headers++;
    headers = calloc(n_headers + 2, sizeof *headers);
    size_t auth_len = strlen(token) + 32;
    auth = malloc(auth_len);
    if (req->url[0] == '/') {
        size_t n = strlen(cas) + strlen(req->url) + 1;
        url = malloc(n);
        if (url)
            snprintf(url, n, "%s%s", cas, req->url);
    } else {
        url = strdup(req->url);
    }
    if (!headers || !auth || !url) {
        memset(resp, 0, sizeof *resp);
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(auth, auth_len, "Authorization: Bearer %s", token);
    for (size_t i = 0; i < n_headers; i++)
        headers[i] = req->headers[i];
    headers[n_headers] = auth;
    weft_client_req r = *req;
    r.url = url;
    r.headers = headers;
    rc = weft_client_send(s->client, resp, &r);
out:
    free(token);
    free(cas);
    free(auth);
    free(url);
    free(headers);
    return rc;
}

int weft_xet_session_send(weft_xet_session *s, weft_client_resp *resp, const weft_client_req *req)
{
    int rc = xet_session_send_once(s, resp, req, 0);
    if (rc == 0 && resp->status == 401) {
        weft_client_resp_dispose(resp);
        rc = xet_session_send_once(s, resp, req, 1);
    }
    return rc;
}
