/* HTTP server glue over libmicrohttpd: a thread pool, requests with their raw path split into
 * segments, query parameters, headers and body, and responses (JSON, bytes, streams).
 *
 * Flow of one request: once its headers are in, the server calls the application's dispatch
 * function on a pool thread. Dispatch either responds at once (weft_http_respond_*), or says how
 * to take the body: buffered up to a cap (weft_http_req_buffer_body) or streamed piece by piece
 * (weft_http_req_stream_body); the route's handler then runs when the body is complete and must
 * respond. A body piece callback that fails makes the server discard the rest of the body and
 * answer with the error it set (weft_http_req_fail). The server never reads an unbounded body into
 * memory: a buffered body over its cap is answered with 413.
 *
 * Paths are split on literal '/' before each segment is percent-decoded (specs/hf-hub-api.md
 * §1.2), so "%2F" inside a segment stays inside it. Query keys "k[]" are read as "k". Values are
 * decoded ('+' is a space).
 *
 * Every response carries X-Request-Id and the CORS headers the Hub clients need; errors carry
 * X-Error-Code (when given), X-Error-Message and a JSON body {"error": "..."}. One log line per
 * request goes to stderr when it ends: time, peer, method, target, status, body bytes received and
 * sent, milliseconds, request id.
 *
 * Threads: handlers run on the pool's threads, one request at a time per thread, and may block
 * (disk, SQLite, git); the pool size bounds concurrent requests. Everything borrowed from a
 * request is valid until the request ends. Errors of the start/stop API: WEFT_EIO (bind failed),
 * WEFT_EINVALID (bad listen address). */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "weft/err.h"

typedef struct weft_http_server weft_http_server;
typedef struct weft_http_req weft_http_req;

/* Called once per request when its headers are in. */
typedef void (*weft_http_dispatch_fn)(weft_http_req *req, void *app);

/* A route's handler, run when the body (if any) is complete. Must respond. */
typedef void (*weft_http_handler_fn)(weft_http_req *req);

/* Receives each piece of a streamed body. Returns 0, or a negative WEFT_E* after
 * weft_http_req_fail() to stop taking the body. */
typedef int (*weft_http_body_fn)(weft_http_req *req, const uint8_t *p, size_t n);

typedef struct weft_http_config {
    const char *listen;     /* "HOST:PORT"; port 0 picks a free one */
    unsigned threads;       /* pool size (0 = 8) */
    const char *public_url; /* base URL clients use, e.g. "https://hub.example" (NULL = from the
                               Host header, over http) */
    int quiet;              /* no per-request log lines */
    weft_http_dispatch_fn dispatch;
    void *app; /* passed to dispatch */
} weft_http_config;

/* Binds and starts serving. The config's strings are copied. */
WEFT_MUST_USE int weft_http_server_start(weft_http_server **out, const weft_http_config *cfg);

/* The port actually bound. */
uint16_t weft_http_server_port(const weft_http_server *s);

/* Stops accepting, waits for requests in flight, frees. NULL is fine. */
void weft_http_server_stop(weft_http_server *s);

/* ---- the request ------------------------------------------------------------------------ */

const char *weft_http_req_method(const weft_http_req *req);
/* 1 if the method is m ("GET", "HEAD", ...). */
int weft_http_req_is(const weft_http_req *req, const char *m);
/* The raw path, without the query ("/api/models/a%2Fb"). */
const char *weft_http_req_path(const weft_http_req *req);
/* Path segments, decoded; the leading '/' yields no segment, a trailing '/' an empty last one. */
size_t weft_http_req_n_segments(const weft_http_req *req);
const char *weft_http_req_segment(const weft_http_req *req, size_t i);
/* The same segment before decoding. */
const char *weft_http_req_raw_segment(const weft_http_req *req, size_t i);
/* The raw query string without '?' ("" if none). */
const char *weft_http_req_query_string(const weft_http_req *req);
/* First value of a query key (NULL if absent). */
const char *weft_http_req_query(const weft_http_req *req, const char *key);
/* Number of values of key, and the i-th. */
size_t weft_http_req_query_count(const weft_http_req *req, const char *key);
const char *weft_http_req_query_at(const weft_http_req *req, const char *key, size_t i);
/* 1 if key is "true", "True" or "1", else 0 (absent: dflt). */
int weft_http_req_query_bool(const weft_http_req *req, const char *key, int dflt);
/* A request header (case-insensitive name), NULL if absent. */
const char *weft_http_req_header(const weft_http_req *req, const char *name);
/* The credential of the Authorization header: a Bearer token, or the password of Basic
 * credentials (git sends the token that way). NULL if none. */
const char *weft_http_req_credential(const weft_http_req *req);
/* The base URL for links in responses, without a trailing '/' ("http://127.0.0.1:8080"). */
const char *weft_http_req_base_url(const weft_http_req *req);
/* This request's id (also sent as X-Request-Id). */
const char *weft_http_req_id(const weft_http_req *req);
/* The peer's address as text. */
const char *weft_http_req_peer(const weft_http_req *req);

/* Handler state: any pointer, freed with free_fn (may be NULL) when the request ends. */
void weft_http_req_set_state(weft_http_req *req, void *state, void (*free_fn)(void *));
void *weft_http_req_state(const weft_http_req *req);

/* From dispatch: collect the body (at most cap bytes, else 413) and then run handler. */
void weft_http_req_buffer_body(weft_http_req *req, size_t cap, weft_http_handler_fn handler);
/* From dispatch: pass the body to on_body piece by piece, then run handler. */
void weft_http_req_stream_body(weft_http_req *req, weft_http_body_fn on_body,
                               weft_http_handler_fn handler);
/* The buffered body (NUL-terminated; the NUL is not counted). */
const uint8_t *weft_http_req_body(const weft_http_req *req, size_t *len_out);
/* Bytes of body received so far. */
uint64_t weft_http_req_body_received(const weft_http_req *req);

/* Records the error a failing body callback answers with; returns rc. */
int weft_http_req_fail(weft_http_req *req, int rc, int status, const char *error_code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- responding ------------------------------------------------------------------------- */

/* Adds a header to the response about to be sent (copied). */
void weft_http_resp_header(weft_http_req *req, const char *name, const char *value);
void weft_http_resp_headerf(weft_http_req *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* JSON body; takes the reference to body. */
void weft_http_respond_json(weft_http_req *req, unsigned status, json_t *body);
/* Bytes (copied). */
void weft_http_respond_data(weft_http_req *req, unsigned status, const char *content_type,
                            const void *data, size_t len);
/* Bytes handed over: free()d when sent. */
void weft_http_respond_owned(weft_http_req *req, unsigned status, const char *content_type,
                             void *data, size_t len);
/* No body (Content-Length: 0). */
void weft_http_respond_empty(weft_http_req *req, unsigned status);

/* Reads up to max bytes at stream position pos into buf; returns the count, 0 at the end, or a
 * negative WEFT_E* (the connection is then cut: the client sees a short body). */
typedef int64_t (*weft_http_reader_fn)(void *payload, uint64_t pos, uint8_t *buf, size_t max);

/* A streamed body of size bytes (UINT64_MAX = unknown, sent chunked). free_fn(payload) runs when
 * the response is done (also for HEAD, where reader is never called). */
void weft_http_respond_stream(weft_http_req *req, unsigned status, const char *content_type,
                              uint64_t size, weft_http_reader_fn reader, void *payload,
                              void (*free_fn)(void *));

/* An error: status, X-Error-Code (NULL = none), X-Error-Message and {"error": message}. */
void weft_http_respond_error(weft_http_req *req, unsigned status, const char *error_code,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The HTTP status for a WEFT_E* code (404, 409, 400, 413, 401/403, 500...). */
unsigned weft_http_status_for(int rc);

/* 1 once a response is queued. */
int weft_http_req_responded(const weft_http_req *req);

/* ---- helpers ---------------------------------------------------------------------------- */

/* Percent-decodes s[0..n) into a new malloc'ed string; plus_space maps '+' to ' '. NULL on a
 * bad escape or an embedded NUL. */
char *weft_http_decode(const char *s, size_t n, int plus_space);
/* Percent-encodes s for a URL path segment (keep_slash: leave '/' alone), malloc'ed. */
char *weft_http_encode(const char *s, int keep_slash);
/* "2025-06-01T10:00:00.000Z" for unix milliseconds. */
void weft_http_format_date(char out[32], int64_t unix_ms);

#endif
