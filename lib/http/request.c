/* The request: target parsing (path segments decoded after splitting, query pairs), accessors,
 * credentials, and the URL helpers (include/weft/http.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http_internal.h"
#include "weft/base64.h"

#define HTTP_MAX_SEGMENTS 256
#define HTTP_MAX_QUERY 256

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *weft_http_decode(const char *s, size_t n, int plus_space)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[o++] = ' ';
        } else if (c == '\0') {
            free(out);
            return NULL;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

char *weft_http_encode(const char *s, int keep_slash)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hexd[c >> 4];
            out[o++] = hexd[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

void weft_http_format_date(char out[32], int64_t unix_ms)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    snprintf(out, 32, "%.31s", buf);
}

static int parse_path(weft_http_req *req)
{
    const char *p = req->path;
    if (p[0] != '/')
        return weft_err_set(WEFT_EINVALID, "request target does not start with '/'");
    size_t n = 0;
    for (const char *q = p; *q; q++)
        n += *q == '/';
    if (n > HTTP_MAX_SEGMENTS)
        return weft_err_set(WEFT_ELIMIT, "too many path segments");
    req->segments = calloc(n + 1, sizeof *req->segments);
    req->raw_segments = calloc(n + 1, sizeof *req->raw_segments);
    if (!req->segments || !req->raw_segments)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    const char *s = p + 1;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (!(len == 0 && !e && req->n_segments == 0 && p[1] == '\0')) {
            char *raw = strndup(s, len);
            char *dec = weft_http_decode(s, len, 0);
            if (!raw || !dec) {
                free(raw);
                free(dec);
                return weft_err_set(WEFT_EINVALID, "bad percent-encoding in the path");
            }
            req->raw_segments[req->n_segments] = raw;
            req->segments[req->n_segments] = dec;
            req->n_segments++;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static int parse_query(weft_http_req *req)
{
    const char *q = req->query_string;
    if (!*q)
        return 0;
    size_t n = 1;
    for (const char *c = q; *c; c++)
        n += *c == '&';
    if (n > HTTP_MAX_QUERY)
        return weft_err_set(WEFT_ELIMIT, "too many query parameters");
    req->query = calloc(n, sizeof *req->query);
    if (!req->query)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    const char *s = q;
    for (;;) {
        const char *e = strchr(s, '&');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0) {
            const char *eq = memchr(s, '=', len);
            size_t klen = eq ? (size_t)(eq - s) : len;
            char *k = weft_http_decode(s, klen, 1);
            char *v = eq ? weft_http_decode(eq + 1, len - klen - 1, 1) : strdup("");
            if (!k || !v) {
                free(k);
                free(v);
                return weft_err_set(WEFT_EINVALID, "bad percent-encoding in the query");
            }
            size_t kl = strlen(k);
            if (kl > 2 && strcmp(k + kl - 2, "[]") == 0)
                k[kl - 2] = '\0';
            req->query[req->n_query].key = k;
            req->query[req->n_query].value = v;
            req->n_query++;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

int weft_http__parse_target(weft_http_req *req)
{
    char *qm = strchr(req->uri, '?');
    req->path = qm ? strndup(req->uri, (size_t)(qm - req->uri)) : strdup(req->uri);
    if (!req->path)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    req->query_string = qm ? qm + 1 : "";
    int rc = parse_path(req);
    if (rc == 0)
        rc = parse_query(req);
    return rc;
}

void weft_http__req_free(weft_http_req *req)
{
    if (!req)
        return;
    if (req->deferred) /* the connection ended before its answer was queued */
        MHD_destroy_response(req->deferred);
    if (req->state_free)
        req->state_free(req->state);
    for (size_t i = 0; i < req->n_segments; i++) {
        free(req->segments[i]);
        free(req->raw_segments[i]);
    }
    free(req->segments);
    free(req->raw_segments);
    for (size_t i = 0; i < req->n_query; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    free(req->query);
    for (http_header *h = req->headers, *next; h; h = next) {
        next = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    weft_buf_dispose(&req->body);
    free(req->fail_code);
    free(req->fail_message);
    free(req->base_url);
    free(req->credential);
    free(req->path);
    free(req->uri);
    free(req);
}

const char *weft_http_req_method(const weft_http_req *req)
{
    return req->method;
}

int weft_http_req_is(const weft_http_req *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

const char *weft_http_req_path(const weft_http_req *req)
{
    return req->path;
}

size_t weft_http_req_n_segments(const weft_http_req *req)
{
    return req->n_segments;
}

const char *weft_http_req_segment(const weft_http_req *req, size_t i)
{
    return i < req->n_segments ? req->segments[i] : NULL;
}

const char *weft_http_req_raw_segment(const weft_http_req *req, size_t i)
{
    return i < req->n_segments ? req->raw_segments[i] : NULL;
}

const char *weft_http_req_query_string(const weft_http_req *req)
{
    return req->query_string;
}

size_t weft_http_req_query_count(const weft_http_req *req, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_query; i++)
        n += strcmp(req->query[i].key, key) == 0;
    return n;
}

const char *weft_http_req_query_at(const weft_http_req *req, const char *key, size_t idx)
{
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query[i].key, key) == 0 && idx-- == 0)
            return req->query[i].value;
    return NULL;
}

const char *weft_http_req_query(const weft_http_req *req, const char *key)
{
    return weft_http_req_query_at(req, key, 0);
}

int weft_http_req_query_bool(const weft_http_req *req, const char *key, int dflt)
{
    const char *v = weft_http_req_query(req, key);
    if (!v)
        return dflt;
    return strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0;
}

const char *weft_http_req_header(const weft_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *weft_http_req_credential(const weft_http_req *req)
{
    weft_http_req *r = (weft_http_req *)req; /* cached on first use */
    if (r->credential)
        return r->credential[0] ? r->credential : NULL;
    const char *h = weft_http_req_header(req, "Authorization");
    char *cred = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        cred = strdup(t);
    } else if (h && strncasecmp(h, "Basic ", 6) == 0) {
        const char *b = h + 6;
        while (*b == ' ')
            b++;
        size_t n = strlen(b);
        if (n <= 4096) {
            uint8_t *dec = malloc(weft_base64_decoded_max(n) + 1);
            size_t len = 0;
            if (dec && weft_base64_decode(dec, weft_base64_decoded_max(n), &len, b, n) == 0) {
                dec[len] = '\0';
                char *colon = memchr(dec, ':', len);
                if (colon && strlen(colon + 1) == len - (size_t)(colon + 1 - (char *)dec))
                    cred = strdup(colon + 1);
            }
            free(dec);
        }
    }
    r->credential = cred ? cred : strdup("");
    return r->credential && r->credential[0] ? r->credential : NULL;
}

const char *weft_http_req_base_url(const weft_http_req *req)
{
    weft_http_req *r = (weft_http_req *)req;
    if (r->base_url)
        return r->base_url;
    const char *pub = req->server->public_url;
    if (pub) {
        r->base_url = strdup(pub);
    } else {
        const char *host = weft_http_req_header(req, "Host");
        char fallback[64];
        if (!host || !*host || strpbrk(host, "/\\ \"<>")) {
            snprintf(fallback, sizeof fallback, "127.0.0.1:%u", req->server->port);
            host = fallback;
        }
        size_t n = strlen(host) + 8;
        r->base_url = malloc(n);
        if (r->base_url)
            snprintf(r->base_url, n, "http://%s", host);
    }
    return r->base_url ? r->base_url : "";
}

const char *weft_http_req_id(const weft_http_req *req)
{
    return req->id;
}

const char *weft_http_req_peer(const weft_http_req *req)
{
    return req->peer;
}

void weft_http_req_set_state(weft_http_req *req, void *state, void (*free_fn)(void *))
{
    if (req->state_free && req->state != state)
        req->state_free(req->state);
    req->state = state;
    req->state_free = free_fn;
}

void *weft_http_req_state(const weft_http_req *req)
{
    return req->state;
}

void weft_http_req_buffer_body(weft_http_req *req, size_t cap, weft_http_handler_fn handler)
{
    req->body_mode = BODY_BUFFER;
    req->body_cap = cap;
    weft_buf_init(&req->body, cap + 1);
    req->handler = handler;
}

void weft_http_req_stream_body(weft_http_req *req, weft_http_body_fn on_body,
                               weft_http_handler_fn handler)
{
    req->body_mode = BODY_STREAM;
    req->on_body = on_body;
    req->handler = handler;
}

const uint8_t *weft_http_req_body(const weft_http_req *req, size_t *len_out)
{
    *len_out = req->body.len;
    return req->body.data ? req->body.data : (const uint8_t *)"";
}

uint64_t weft_http_req_body_received(const weft_http_req *req)
{
    return req->body_received;
}

int weft_http_req_fail(weft_http_req *req, int rc, int status, const char *error_code,
                       const char *fmt, ...)
{
    if (req->failed)
        return rc;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    req->failed = 1;
    req->fail_status = (unsigned)status;
    req->fail_code = error_code ? strdup(error_code) : NULL;
    req->fail_message = strdup(msg);
    return rc;
}
