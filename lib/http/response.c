/* Responses: pending headers, JSON/bytes/stream bodies, errors and the WEFT_E* -> status map
 * (include/weft/http.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

/* specs/hf-hub-api.md §1.6: what a browser client must be able to read. */
static const char cors_expose[] =
    "X-Repo-Commit, X-Request-Id, X-Error-Code, X-Error-Message, X-Total-Count, ETag, Link, "
    "Accept-Ranges, Content-Range, X-Linked-Size, X-Linked-ETag, X-Xet-Hash, X-Xet-Refresh-Route, "
    "X-Xet-Cas-Url, X-Xet-Access-Token, X-Xet-Token-Expiration, X-Xet-Session-Id";

void weft_http_resp_header(weft_http_req *req, const char *name, const char *value)
{
    http_header *h = calloc(1, sizeof *h);
    if (!h)
        return;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        free(h);
        return;
    }
    http_header **tail = &req->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

void weft_http_resp_headerf(weft_http_req *req, const char *name, const char *fmt, ...)
{
    char v[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    weft_http_resp_header(req, name, v);
}

static int has_header(const weft_http_req *req, const char *name)
{
    for (const http_header *h = req->headers; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return 1;
    return 0;
}

void weft_http__queue(weft_http_req *req, unsigned status, struct MHD_Response *resp)
{
    if (req->responded) {
        MHD_destroy_response(resp);
        return;
    }
    for (const http_header *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    const char *origin = weft_http_req_header(req, "Origin");
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
    }
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", cors_expose);
    req->responded = 1;
    req->status = status;
    if (req->defer_queue) {
        req->deferred = resp;
        req->deferred_status = status;
        return;
    }
    MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
}

void weft_http_respond_owned(weft_http_req *req, unsigned status, const char *content_type,
                             void *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (void *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return;
    }
    if (content_type && !has_header(req, "Content-Type"))
        MHD_add_response_header(resp, "Content-Type", content_type);
    if (!weft_http_req_is(req, "HEAD"))
        req->bytes_out = len;
    weft_http__queue(req, status, resp);
}

void weft_http_respond_data(weft_http_req *req, unsigned status, const char *content_type,
                            const void *data, size_t len)
{
    void *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (!copy) {
            weft_http_respond_error(req, 500, NULL, "out of memory");
            return;
        }
        memcpy(copy, data, len);
    }
    weft_http_respond_owned(req, status, content_type, copy, len);
}

void weft_http_respond_empty(weft_http_req *req, unsigned status)
{
    weft_http_respond_owned(req, status, NULL, NULL, 0);
}

void weft_http_respond_json(weft_http_req *req, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!text) {
        weft_http_respond_error(req, 500, NULL, "out of memory");
        return;
    }
    weft_http_respond_owned(req, status, "application/json; charset=utf-8", text, strlen(text));
}

typedef struct stream_ctx {
    weft_http_reader_fn reader;
    void *payload;
    void (*free_fn)(void *);
    weft_http_req *req;
} stream_ctx;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_ctx *c = cls;
    int64_t n = c->reader(c->payload, pos, (uint8_t *)buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    c->req->bytes_out += (uint64_t)n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_ctx *c = cls;
    if (c->free_fn)
        c->free_fn(c->payload);
    free(c);
}

void weft_http_respond_stream(weft_http_req *req, unsigned status, const char *content_type,
                              uint64_t size, weft_http_reader_fn reader, void *payload,
                              void (*free_fn)(void *))
{
    stream_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        if (free_fn)
            free_fn(payload);
        weft_http_respond_error(req, 500, NULL, "out of memory");
        return;
    }
    c->reader = reader;
    c->payload = payload;
    c->free_fn = free_fn;
    c->req = req;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        size == UINT64_MAX ? MHD_SIZE_UNKNOWN : size, 1024 * 1024, stream_read, c, stream_free);
    if (!resp) {
        stream_free(c);
        weft_http_respond_error(req, 500, NULL, "out of memory");
        return;
    }
    if (content_type && !has_header(req, "Content-Type"))
        MHD_add_response_header(resp, "Content-Type", content_type);
    weft_http__queue(req, status, resp);
}

void weft_http_respond_error(weft_http_req *req, unsigned status, const char *error_code,
                             const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* header values cannot hold line breaks */
    char hmsg[1024];
    size_t i = 0;
    for (; msg[i] && i + 1 < sizeof hmsg; i++)
        hmsg[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    hmsg[i] = '\0';
    if (error_code)
        weft_http_resp_header(req, "X-Error-Code", error_code);
    weft_http_resp_header(req, "X-Error-Message", hmsg);
    json_t *body = json_pack("{s:s}", "error", msg);
    weft_http_respond_json(req, status, body);
}

unsigned weft_http_status_for(int rc)
{
    switch (rc) {
    case WEFT_ENOTFOUND: return 404;
    case WEFT_EEXISTS: return 409;
    case WEFT_EINVALID: return 400;
    case WEFT_ECORRUPT: return 500;
    case WEFT_ELIMIT: return 413;
    case WEFT_ECONFLICT: return 412;
    case WEFT_EAUTH: return 403;
    default: return 500;
    }
}

int weft_http_req_responded(const weft_http_req *req)
{
    return req->responded;
}
