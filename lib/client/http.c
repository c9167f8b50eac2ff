/* HTTP requests over libcurl with a pool of kept-alive handles (include/weft/client.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "weft/client.h"

#define CLIENT_VERSION "0.1.0"
#define CLIENT_DEFAULT_BODY_CAP (64u << 20)
#define CLIENT_POOL_MAX 64

struct weft_client {
    weft_client_config cfg;
    pthread_mutex_t lock;
    CURL *pool[CLIENT_POOL_MAX];
    size_t n_pool;
    char user_agent[128];
};

static pthread_once_t client_curl_once = PTHREAD_ONCE_INIT;
static CURLcode client_curl_init_rc;

static void client_curl_init(void)
{
    client_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int client_dup_config(weft_client_config *dst, const weft_client_config *src)
{
    memset(dst, 0, sizeof *dst);
    const char *in[] = {src->endpoint, src->token, src->hf_home, src->hub_cache,
                        src->token_path, src->chunk_cache};
    char **outp[] = {&dst->endpoint, &dst->token, &dst->hf_home, &dst->hub_cache,
                     &dst->token_path, &dst->chunk_cache};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        if (!in[i])
            continue;
        *outp[i] = strdup(in[i]);
        if (!*outp[i]) {
            weft_client_config_dispose(dst);
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        }
    }
    dst->token_source = src->token_source;
    return 0;
}

int weft_client_new(weft_client **out, const weft_client_config *cfg)
{
    *out = NULL;
    pthread_once(&client_curl_once, client_curl_init);
    if (client_curl_init_rc != CURLE_OK)
        return weft_err_set(WEFT_EIO, "libcurl failed to initialize: %s",
                            curl_easy_strerror(client_curl_init_rc));
    if (!cfg->endpoint)
        return weft_err_set(WEFT_EINVALID, "client without an endpoint");
    weft_client *c = calloc(1, sizeof *c);
    if (!c)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    int rc = client_dup_config(&c->cfg, cfg);
    if (rc < 0) {
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    snprintf(c->user_agent, sizeof c->user_agent, "weft/%s; libcurl/%s", CLIENT_VERSION,
             v && v->version ? v->version : "?");
    *out = c;
    return 0;
}

void weft_client_free(weft_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->lock);
    weft_client_config_dispose(&c->cfg);
    free(c);
}

const weft_client_config *weft_client_config_get(const weft_client *c)
{
    return &c->cfg;
}

static CURL *client_handle_take(weft_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_pool > 0)
        h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void client_handle_give(weft_client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_pool < CLIENT_POOL_MAX) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_cleanup(h);
}

void weft_client_req_init(weft_client_req *req, const char *method, const char *url)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->url = url;
    req->body_fd = -1;
}

/* One transfer's state, shared with curl's callbacks. */
typedef struct client_xfer {
    CURL *h;
    const weft_client_req *req;
    weft_client_resp *resp;
    int sink_rc;       /* what the sink returned, when it stopped the transfer */
    int header_failed; /* out of memory while keeping headers */
    uint64_t body_sent;
} client_xfer;

static void client_headers_clear(weft_client_resp *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->n_headers = 0;
}

static size_t client_on_header(char *data, size_t size, size_t nmemb, void *payload)
{
    client_xfer *x = payload;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new answer (after a redirect or a 100 Continue): only the last one's headers count. */
        client_headers_clear(x->resp);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    weft_client_header *grown =
        realloc(x->resp->headers, (x->resp->n_headers + 1) * sizeof *grown);
    if (!grown) {
        x->header_failed = 1;
        return 0;
    }
    x->resp->headers = grown;
    weft_client_header *hd = &grown[x->resp->n_headers];
    hd->name = strndup(data, name_len);
    hd->value = strndup(v, (size_t)(end - v));
    if (!hd->name || !hd->value) {
        free(hd->name);
        free(hd->value);
        x->header_failed = 1;
        return 0;
    }
    x->resp->n_headers++;
    return n;
}

static size_t client_on_body(char *data, size_t size, size_t nmemb, void *payload)
{
    client_xfer *x = payload;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    x->resp->bytes_received += n;
    if (x->req->sink && status >= 200 && status < 300) {
        int rc = x->req->sink((const uint8_t *)data, n, x->req->sink_payload);
        if (rc != 0) {
            x->sink_rc = rc < 0 ? rc : WEFT_EIO;
            if (rc > 0)
                weft_err_set(WEFT_EIO, "%s: the receiver stopped the transfer", x->req->url);
            return 0;
        }
        return n;
    }
    if (weft_buf_append(&x->resp->body, data, n) < 0) {
        x->sink_rc = weft_err_set(WEFT_ELIMIT, "%s: answer larger than %zu bytes", x->req->url,
                                  x->resp->body.cap);
        return 0;
    }
    return n;
}

static size_t client_on_read(char *dst, size_t size, size_t nmemb, void *payload)
{
    client_xfer *x = payload;
    const weft_client_req *req = x->req;
    size_t want = size * nmemb;
    uint64_t left = req->body_len - x->body_sent;
    if (want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (req->body) {
        memcpy(dst, (const uint8_t *)req->body + x->body_sent, want);
    } else {
        ssize_t got;
        do
            got = pread(req->body_fd, dst, want, (off_t)(req->body_fd_offset + x->body_sent));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            x->sink_rc = weft_err_sys(WEFT_EIO, got < 0 ? errno : EIO,
                                      "reading the body of %s", req->url);
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    }
    x->body_sent += want;
    return want;
}

static int client_on_progress(void *payload, curl_off_t dltotal, curl_off_t dlnow,
                              curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    client_xfer *x = payload;
    x->req->on_sent((uint64_t)ulnow, x->req->sent_payload);
    return 0;
}

/* 1 if `url` lies under the endpoint (same scheme, host and port, path below it). */
static int client_is_endpoint_url(const weft_client *c, const char *url)
{
    size_t n = strlen(c->cfg.endpoint);
    return strncmp(url, c->cfg.endpoint, n) == 0 && (url[n] == '\0' || url[n] == '/' ||
                                                      url[n] == '?');
}

static int client_has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

static int client_slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    *list = l;
    return 0;
}

/* Builds the request's header list. */
static int client_build_headers(struct curl_slist **out, const weft_client *c,
                                const weft_client_req *req, const char *url)
{
    char line[512];
    int rc = 0;
    for (size_t i = 0; req->headers && req->headers[i] && rc == 0; i++)
        rc = client_slist_add(out, req->headers[i]);
    if (rc == 0 && c->cfg.token && client_is_endpoint_url(c, url) &&
        !client_has_header(req->headers, "Authorization")) {
        size_t n = strlen(c->cfg.token) + 32;
        char *auth = malloc(n);
        if (!auth)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        snprintf(auth, n, "Authorization: Bearer %s", c->cfg.token);
        rc = client_slist_add(out, auth);
        free(auth);
    }
    if (rc == 0 && req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        rc = client_slist_add(out, line);
    }
    if (rc == 0 && req->has_range) {
        if (req->range_end == UINT64_MAX)
            snprintf(line, sizeof line, "Range: bytes=%llu-", (unsigned long long)req->range_start);
        else
            snprintf(line, sizeof line, "Range: bytes=%llu-%llu",
                     (unsigned long long)req->range_start, (unsigned long long)req->range_end);
        rc = client_slist_add(out, line);
    }
    /* No 100-continue round trip before bodies; bytes as they are (sizes must be the real ones). */
    if (rc == 0)
        rc = client_slist_add(out, "Expect:");
    if (rc == 0 && !client_has_header(req->headers, "Accept-Encoding"))
        rc = client_slist_add(out, "Accept-Encoding: identity");
    return rc;
}

static int client_set_method(CURL *h, const weft_client_req *req, const char *method, int has_body)
{
    if (has_body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, client_on_read);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        return 0;
    }
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        if (strcmp(method, "PUT") == 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "DELETE") == 0 || strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else {
        return weft_err_set(WEFT_EINVALID, "unsupported HTTP method '%s'", method);
    }
    return 0;
}

int weft_client_send(weft_client *c, weft_client_resp *resp, const weft_client_req *req)
{
    memset(resp, 0, sizeof *resp);
    weft_buf_init(&resp->body, req->body_cap ? req->body_cap : CLIENT_DEFAULT_BODY_CAP);
    const char *method = req->method ? req->method : "GET";
    if (!req->url || !req->url[0])
        return weft_err_set(WEFT_EINVALID, "request without a URL");
    char *url = NULL;
    if (req->url[0] == '/') {
        size_t n = strlen(c->cfg.endpoint) + strlen(req->url) + 1;
        url = malloc(n);
        if (!url)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        snprintf(url, n, "%s%s", c->cfg.endpoint, req->url);
    } else {
        url = strdup(req->url);
        if (!url)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    int has_body = req->body != NULL || (req->body_fd > 0 && req->body_len > 0);
    struct curl_slist *headers = NULL;
    CURL *h = NULL;
    int rc = client_build_headers(&headers, c, req, url);
    if (rc < 0)
        goto out;
    h = client_handle_take(c);
    if (!h) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory (curl handle)");
        goto out;
    }
    client_xfer x = {.h = h, .req = req, .resp = resp};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, client_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_READDATA, &x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->timeout_seconds > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_seconds);
    if (req->follow_redirects) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    }
    if (req->on_sent) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, client_on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    }
    rc = client_set_method(h, req, method, has_body);
    if (rc < 0)
        goto out;
    CURLcode cr = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    const char *final_url = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &final_url);
    resp->url = strdup(final_url ? final_url : url);
    if (!resp->url) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    if (x.header_failed) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory (response headers)");
        goto out;
    }
    if (x.sink_rc < 0) {
        rc = x.sink_rc;
        goto out;
    }
    if (cr != CURLE_OK)
        rc = weft_err_set(WEFT_ENETWORK, "%s %s: %s", method, url, curl_easy_strerror(cr));
out:
    if (h)
        client_handle_give(c, h);
    curl_slist_free_all(headers);
    free(url);
    return rc;
}

void weft_client_resp_dispose(weft_client_resp *resp)
{
    if (!resp)
        return;
    client_headers_clear(resp);
    weft_buf_dispose(&resp->body);
    free(resp->url);
    memset(resp, 0, sizeof *resp);
}

const char *weft_client_resp_header(const weft_client_resp *resp, const char *name)
{
    for (size_t i = resp->n_headers; i > 0; i--)
        if (strcasecmp(resp->headers[i - 1].name, name) == 0)
            return resp->headers[i - 1].value;
    return NULL;
}

/* The server's message for an error answer: X-Error-Message, else the body's "error" string,
 * else a short printable body; written into buf. */
static const char *client_error_message(char *buf, size_t len, const weft_client_resp *resp)
{
    const char *m = weft_client_resp_header(resp, "X-Error-Message");
    if (m && m[0]) {
        snprintf(buf, len, "%s", m);
        return buf;
    }
    buf[0] = '\0';
    if (resp->body.len == 0)
        return buf;
    json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    if (e) {
        snprintf(buf, len, "%s", e);
    } else if (!j) {
        size_t n = resp->body.len < 200 ? resp->body.len : 200, k = 0;
        for (size_t i = 0; i < n && k + 1 < len; i++) {
            unsigned char ch = resp->body.data[i];
            buf[k++] = (ch >= 32 && ch < 127) ? (char)ch : ' ';
        }
        buf[k] = '\0';
    }
    json_decref(j);
    return buf;
}

int weft_client_resp_check(const weft_client_resp *resp, const char *what)
{
    long s = resp->status;
    if (s >= 200 && s < 300)
        return 0;
    int code;
    if (s == 401 || s == 403)
        code = WEFT_EAUTH;
    else if (s == 404)
        code = WEFT_ENOTFOUND;
    else if (s == 409)
        code = WEFT_EEXISTS;
    else if (s == 412)
        code = WEFT_ECONFLICT;
    else if (s == 413)
        code = WEFT_ELIMIT;
    else if (s >= 400 && s < 500)
        code = WEFT_EINVALID;
    else if (s == 502 || s == 503 || s == 504)
        code = WEFT_ENETWORK;
    else
        code = WEFT_EIO;
    char msg[512];
    client_error_message(msg, sizeof msg, resp);
    const char *ecode = weft_client_resp_header(resp, "X-Error-Code");
    const char *hint = s == 401 ? " (no valid token: set HF_TOKEN or run 'weft login')" : "";
    if (ecode && ecode[0])
        return weft_err_set(code, "%s: %ld %s: %s%s", what, s, ecode, msg, hint);
    return weft_err_set(code, "%s: %ld %s%s", what, s, msg[0] ? msg : "error", hint);
}

int weft_client_json(weft_client *c, json_t **out, const char *method, const char *url,
                     const json_t *body)
{
    if (out)
        *out = NULL;
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    weft_client_req req;
    weft_client_req_init(&req, method, url);
    static const char *const accept[] = {"Accept: application/json", NULL};
    req.headers = accept;
    if (text) {
        req.body = text;
        req.body_len = strlen(text);
        req.content_type = "application/json";
    }
    weft_client_resp resp;
    int rc = weft_client_send(c, &resp, &req);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, url);
    if (rc == 0 && out && resp.body.len > 0) {
        json_error_t err;
        *out = json_loadb((const char *)resp.body.data, resp.body.len, 0, &err);
        if (!*out)
            rc = weft_err_set(WEFT_EINVALID, "%s: the answer is not JSON (%s)", url, err.text);
    }
    weft_client_resp_dispose(&resp);
    free(text);
    return rc;
}

int weft_client_url_escape(char **out, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(n * 3 + 1);
    if (!o)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
                    (keep_slash && ch == '/');
        if (plain) {
            o[k++] = (char)ch;
        } else {
            o[k++] = '%';
            o[k++] = hex[ch >> 4];
            o[k++] = hex[ch & 15];
        }
    }
    o[k] = '\0';
    *out = o;
    return 0;
}

/* specs/hf-hub-api.md §1.1: repo types and their plural API names. */
static const char *client_repo_type_of(const char *word, size_t len)
{
    static const char *const types[][2] = {
        {"model", "models"}, {"dataset", "datasets"}, {"space", "spaces"}};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 2; j++)
            if (strlen(types[i][j]) == len && strncmp(word, types[i][j], len) == 0)
                return types[i][0];
    return NULL;
}

int weft_client_repo_parse(weft_client_repo *out, const char *spec, const char *type)
{
    memset(out, 0, sizeof *out);
    const char *t = "model";
    if (type && type[0]) {
        t = client_repo_type_of(type, strlen(type));
        if (!t)
            return weft_err_set(WEFT_EINVALID,
                                "repo type '%s' is not one of model, dataset, space", type);
    }
    const char *id = spec;
    const char *slash = strchr(spec, '/');
    if (slash && strchr(slash + 1, '/')) {
        const char *prefix_type = client_repo_type_of(spec, (size_t)(slash - spec));
        if (!prefix_type || strcmp(prefix_type, "model") == 0)
            return weft_err_set(WEFT_EINVALID,
                                "repo '%s': expected ns/name, datasets/ns/name or spaces/ns/name",
                                spec);
        t = prefix_type;
        id = slash + 1;
    }
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof out->id || id[0] == '/' || id[n - 1] == '/' ||
        strstr(id, "..") || strstr(id, "//"))
        return weft_err_set(WEFT_EINVALID, "repo '%s': expected ns/name", spec);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '/';
        if (!ok)
            return weft_err_set(WEFT_EINVALID, "repo '%s': character '%c' is not allowed", spec,
                                ch >= 32 && ch < 127 ? ch : '?');
    }
    memcpy(out->type, t, strlen(t) + 1);
    memcpy(out->id, id, n + 1);
    return 0;
}

int weft_client_repo_api_path(char *out, size_t out_len, const weft_client_repo *repo)
{
    int n = snprintf(out, out_len, "/api/%ss/%s", repo->type, repo->id);
    if (n < 0 || (size_t)n >= out_len)
        return weft_err_set(WEFT_ELIMIT, "repo path too long");
    return 0;
}

const char *weft_client_repo_prefix(const weft_client_repo *repo)
{
    if (strcmp(repo->type, "dataset") == 0)
        return "datasets/";
    if (strcmp(repo->type, "space") == 0)
        return "spaces/";
    return "";
}
