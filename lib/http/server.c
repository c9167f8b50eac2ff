/* The libmicrohttpd daemon and the life of a request in it (include/weft/http.h).
 *
 * MHD calls on_access repeatedly for one request: first with the headers, then with each piece of
 * the body, then once more with no data. The request object is created by the URI log callback,
 * which is the only place MHD shows the raw request target (the access callback gets it decoded,
 * which would lose the difference between '/' and "%2F"). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/rand.h>

#include "http/http_internal.h"

int64_t weft_http__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    weft_http_server *s = cls;
    weft_http_req *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->server = s;
    req->conn = conn;
    req->uri = strdup(uri ? uri : "/");
    req->start_us = weft_http__now_us();
    uint8_t rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0, sizeof rnd);
    for (int i = 0; i < 8; i++)
        snprintf(req->id + 2 * i, 3, "%02x", rnd[i]);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        socklen_t len =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (getnameinfo(sa, len, req->peer, sizeof req->peer, NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(req->peer, sizeof req->peer, "?");
    }
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    weft_http_server *s = cls;
    (void)conn;
    weft_http_req *req = *con_cls;
    if (!req)
        return;
    if (!s->cfg.quiet && req->method) {
        double ms = (double)(weft_http__now_us() - req->start_us) / 1000.0;
        char when[32];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        weft_http_format_date(when, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        /* one write per line, so lines from several threads never interleave */
        dprintf(2, "%s %s %s %s %u in=%llu out=%llu %.1fms %s%s\n", when, req->peer, req->method,
                req->uri, req->status, (unsigned long long)req->body_received,
                (unsigned long long)req->bytes_out, ms, req->id,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (cut)");
    }
    weft_http__req_free(req);
    *con_cls = NULL;
}

static enum MHD_Result take_body(weft_http_req *req, const char *data, size_t n)
{
    req->body_received += n;
    if (req->failed)
        return MHD_YES; /* discarding the rest after an error */
    switch (req->body_mode) {
    case BODY_BUFFER:
        if (req->body.len + n > req->body_cap) {
            weft_http_req_fail(req, WEFT_ELIMIT, 413, NULL, "request body over %zu bytes",
                               req->body_cap);
            weft_buf_dispose(&req->body);
            break;
        }
        if (weft_buf_append(&req->body, data, n) != 0)
            weft_http_req_fail(req, WEFT_ENOMEM, 500, NULL, "out of memory for the body");
        break;
    case BODY_STREAM: {
        int rc = req->on_body(req, (const uint8_t *)data, n);
        if (rc < 0 && !req->failed)
            weft_http_req_fail(req, rc, (int)weft_http_status_for(rc), NULL, "%s", weft_err_last());
        break;
    }
    default:
        /* a body nobody asked for: ignore it */
        break;
    }
    return MHD_YES;
}

/* 1 when the request announces no body (no Content-Length above 0, no chunked transfer). */
static int request_has_no_body(const weft_http_req *req)
{
    const char *te = weft_http_req_header(req, "Transfer-Encoding");
    const char *cl = weft_http_req_header(req, "Content-Length");
    return !te && (!cl || strcmp(cl, "0") == 0);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    weft_http_server *s = cls;
    weft_http_req *req = *con_cls;
    (void)url;
    (void)version;
    (void)conn;
    if (!req)
        return MHD_NO;
    if (!req->started) {
        req->started = 1;
        req->method = method;
        if (!req->uri) {
            weft_http_respond_error(req, 500, NULL, "out of memory");
            return MHD_YES;
        }
        int rc = weft_http__parse_target(req);
        if (rc < 0) {
            weft_http_respond_error(req, rc == WEFT_ELIMIT ? 414 : 400, NULL, "%s",
                                    weft_err_last());
            return MHD_YES;
        }
        req->defer_queue = request_has_no_body(req);
        s->cfg.dispatch(req, s->cfg.app);
        req->defer_queue = 0;
        return MHD_YES;
    }
    if (req->deferred) {
        MHD_queue_response(req->conn, req->deferred_status, req->deferred);
        MHD_destroy_response(req->deferred);
        req->deferred = NULL;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        enum MHD_Result r =
            req->responded ? MHD_YES : take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r;
    }
    if (req->responded)
        return MHD_YES;
    if (req->failed) {
        weft_http_respond_error(req, req->fail_status, req->fail_code, "%s", req->fail_message);
        return MHD_YES;
    }
    if (req->body_mode == BODY_BUFFER && req->body.data)
        req->body.data[req->body.len] = '\0';
    if (req->handler)
        req->handler(req);
    if (!req->responded)
        weft_http_respond_error(req, 500, NULL, "the handler gave no answer");
    return MHD_YES;
}

static int parse_listen(const char *listen, struct sockaddr_in *sin)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return weft_err_set(WEFT_EINVALID, "listen address '%s': expected HOST:PORT", listen);
    char host[256];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host)
        return weft_err_set(WEFT_EINVALID, "listen address '%s': host too long", listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!*(colon + 1) || *end || port < 0 || port > 65535)
        return weft_err_set(WEFT_EINVALID, "listen address '%s': bad port", listen);
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (hl == 0 || strcmp(host, "*") == 0) {
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strcmp(host, "localhost") == 0) {
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        return weft_err_set(WEFT_EINVALID, "listen address '%s': not an IPv4 address", listen);
    }
    return 0;
}

int weft_http_server_start(weft_http_server **out, const weft_http_config *cfg)
{
    *out = NULL;
    struct sockaddr_in sin;
    int rc = parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &sin);
    if (rc < 0)
        return rc;
    weft_http_server *s = calloc(1, sizeof *s);
    if (!s)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->listen = strdup(cfg->listen ? cfg->listen : "127.0.0.1:8080");
    if (cfg->public_url) {
        s->public_url = strdup(cfg->public_url);
        size_t n = strlen(s->public_url);
        while (n > 0 && s->public_url[n - 1] == '/')
            s->public_url[--n] = '\0';
    }
    s->cfg.listen = s->listen;
    s->cfg.public_url = s->public_url;
    unsigned threads = cfg->threads ? cfg->threads : 8;
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024, MHD_OPTION_CONNECTION_TIMEOUT,
        600u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!s->daemon) {
        weft_http_server_stop(s);
        return weft_err_set(WEFT_EIO, "cannot listen on %s (in use, or not an address here)",
                            cfg->listen ? cfg->listen : "127.0.0.1:8080");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : ntohs(sin.sin_port);
    *out = s;
    return 0;
}

uint16_t weft_http_server_port(const weft_http_server *s)
{
    return s->port;
}

void weft_http_server_stop(weft_http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s->listen);
    free(s->public_url);
    free(s);
}
