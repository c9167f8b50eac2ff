/* Internals shared by lib/http's files: the request object and the server. */
#ifndef WEFT_HTTP_INTERNAL_H
#define WEFT_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "weft/buf.h"
#include "weft/http.h"

typedef struct http_kv {
    char *key, *value;
} http_kv;

typedef struct http_header {
    char *name, *value;
    struct http_header *next;
} http_header;

struct weft_http_server {
    struct MHD_Daemon *daemon;
    uint16_t port;
    weft_http_config cfg;
    char *listen, *public_url;
};

enum { BODY_NONE = 0, BODY_BUFFER, BODY_STREAM };

struct weft_http_req {
    weft_http_server *server;
    struct MHD_Connection *conn;
    char *uri;  /* raw request target, as received */
    char *path; /* raw, without query */
    const char *query_string;
    const char *method;
    char **segments, **raw_segments;
    size_t n_segments;
    http_kv *query;
    size_t n_query;
    char id[17];
    char peer[64];
    char *base_url;
    char *credential;
    int started;

    int body_mode;
    size_t body_cap;
    weft_buf body;
    uint64_t body_received;
    weft_http_body_fn on_body;
    weft_http_handler_fn handler;

    /* an error met while taking the body, answered at its end */
    int failed;
    unsigned fail_status;
    char *fail_code;
    char *fail_message;

    void *state;
    void (*state_free)(void *);

    http_header *headers; /* pending response headers */
    /* A response made while the first call of a body-less request runs waits for the next call:
     * libmicrohttpd closes the connection after a response queued that early (no keep-alive). */
    int defer_queue;
    struct MHD_Response *deferred;
    unsigned deferred_status;
    int responded;
    unsigned status;
    uint64_t bytes_out;
    int64_t start_us;
};

/* Parses req->uri into path, segments and query. WEFT_EINVALID on a malformed target. */
int weft_http__parse_target(weft_http_req *req);

/* Frees everything the request owns, and the request. */
void weft_http__req_free(weft_http_req *req);

/* Queues resp with the pending headers, the request id and CORS headers; destroys resp. */
void weft_http__queue(weft_http_req *req, unsigned status, struct MHD_Response *resp);

int64_t weft_http__now_us(void);

#endif
