/* Hub client: HTTP to any Hugging Face Hub-compatible server (Weft or huggingface.co) over
 * libcurl, configured the way the Hugging Face tools configure themselves.
 *
 * Configuration (weft_client_config_load) follows huggingface_hub: the endpoint from the caller,
 * else HF_ENDPOINT, else https://huggingface.co; the token from the caller, else HF_TOKEN,
 * HUGGING_FACE_HUB_TOKEN, HUGGINGFACE_API_KEY (in that order), else the token file (HF_TOKEN_PATH,
 * else $HF_HOME/token), the file `hf auth login` and `weft login` both write; HF_HOME defaults to
 * $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface; the hub cache is HF_HUB_CACHE, else
 * $HF_HOME/hub. Weft's own client-side chunk cache (Xet downloads) is WEFT_CHUNK_CACHE, else
 * $HF_HOME/weft/chunks.
 *
 * A weft_client owns a copy of its configuration and a pool of curl handles that keep their
 * connections alive. It is thread-safe: any number of threads may call weft_client_send at once
 * (each call borrows one handle from the pool). Requests to URLs under the endpoint carry the
 * token (Authorization: Bearer) unless the request brings its own Authorization header (Xet CAS
 * calls); other URLs (signed transfer URLs) never do.
 *
 * weft_client_send returns 0 whenever an HTTP answer arrived, whatever its status; only a
 * network failure (no connection, reset, timeout) is an error: WEFT_ENETWORK, message naming the
 * URL. weft_client_resp_check turns a non-2xx answer into the WEFT_E* code and one-line message
 * the CLI prints (401/403 WEFT_EAUTH, 404 WEFT_ENOTFOUND with the server's X-Error-Code, 409
 * WEFT_EEXISTS, 412 WEFT_ECONFLICT, 413 WEFT_ELIMIT, 416 and other 4xx WEFT_EINVALID, 502/503/504
 * WEFT_ENETWORK, other 5xx WEFT_EIO). */
#ifndef WEFT_CLIENT_H
#define WEFT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "weft/buf.h"
#include "weft/err.h"

#define WEFT_CLIENT_DEFAULT_ENDPOINT "https://huggingface.co"

typedef struct weft_client_config {
    char *endpoint;           /* no trailing '/' */
    char *token;              /* NULL when there is none */
    const char *token_source; /* "--token", "HF_TOKEN", ..., "token file" or NULL; static */
    char *hf_home;
    char *hub_cache;
    char *token_path;
    char *chunk_cache;
} weft_client_config;

/* Fills `out` from the arguments and the environment (see above). `endpoint` and `token` may be
 * NULL (then the environment decides). Free with weft_client_config_dispose. */
WEFT_MUST_USE int weft_client_config_load(weft_client_config *out, const char *endpoint,
                                          const char *token);
void weft_client_config_dispose(weft_client_config *cfg);

/* Writes `token` to cfg->token_path (mode 0600, parents created, atomically). */
WEFT_MUST_USE int weft_client_token_save(const weft_client_config *cfg, const char *token);

/* Removes the token file; a missing file is fine. */
WEFT_MUST_USE int weft_client_token_delete(const weft_client_config *cfg);

typedef struct weft_client weft_client;

/* A client for cfg's endpoint and token (copied). */
WEFT_MUST_USE int weft_client_new(weft_client **out, const weft_client_config *cfg);
void weft_client_free(weft_client *c);

/* The client's configuration; borrowed until weft_client_free. */
const weft_client_config *weft_client_config_get(const weft_client *c);

/* Receives response body bytes as they arrive (only for 2xx answers; error bodies are always
 * collected into resp->body). Return 0 to go on, anything else to abort the transfer (then
 * weft_client_send fails with WEFT_EIO unless the sink set its own error first: the sink's
 * weft_err message and code are kept when it returns a negative WEFT_E* code; any other value
 * gives WEFT_EIO). */
typedef int (*weft_client_sink_fn)(const uint8_t *data, size_t len, void *payload);

/* Reports request body bytes sent so far (uploads), from the transfer thread. */
typedef void (*weft_client_sent_fn)(uint64_t sent, void *payload);

typedef struct weft_client_req {
    const char *method;          /* "GET" (default when NULL), "HEAD", "POST", "PUT", "DELETE" */
    const char *url;             /* absolute URL, or a path ("/api/...") under the endpoint */
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated; may be NULL */
    const char *content_type;    /* of the body; NULL: none sent */
    const void *body;            /* request body in memory ... */
    size_t body_len;
    int body_fd;                 /* ... or from a file when body is NULL and body_fd > 0: */
    uint64_t body_fd_offset;     /*     body_len bytes from this offset */
    int has_range;               /* sends Range: bytes=range_start-range_end (inclusive end; */
    uint64_t range_start;        /*     range_end UINT64_MAX means "to the end") */
    uint64_t range_end;
    int follow_redirects;        /* 1: follow 3xx (the token is dropped when the host changes) */
    long timeout_seconds;        /* whole transfer; 0: none (a stall of 60 s still fails) */
    weft_client_sink_fn sink;    /* NULL: the body goes into resp->body */
    void *sink_payload;
    weft_client_sent_fn on_sent;
    void *sent_payload;
    size_t body_cap;             /* cap of resp->body; 0: 64 MiB */
} weft_client_req;

typedef struct weft_client_header {
    char *name;
    char *value;
} weft_client_header;

typedef struct weft_client_resp {
    long status;
    weft_buf body;               /* the body when the request had no sink (or on errors) */
    weft_client_header *headers; /* of the final answer (after redirects) */
    size_t n_headers;
    char *url;                   /* the final URL */
    uint64_t bytes_received;     /* body bytes received, whoever consumed them */
} weft_client_resp;

/* Starts an empty request (GET, no body, body_fd -1). */
void weft_client_req_init(weft_client_req *req, const char *method, const char *url);

/* Sends one request and waits for its answer. `resp` is initialized here; dispose it with
 * weft_client_resp_dispose whether or not this succeeds. */
WEFT_MUST_USE int weft_client_send(weft_client *c, weft_client_resp *resp,
                                   const weft_client_req *req);
void weft_client_resp_dispose(weft_client_resp *resp);

/* The value of header `name` (case-insensitive) of the final answer, or NULL; borrowed from resp. */
const char *weft_client_resp_header(const weft_client_resp *resp, const char *name);

/* 0 for a 2xx answer; else the WEFT_E* code for its status with the message
 * "<what>: <status> <X-Error-Code>: <server message>" (see the contract above). */
WEFT_MUST_USE int weft_client_resp_check(const weft_client_resp *resp, const char *what);

/* Sends `body` (may be NULL: no body) as JSON with `method` to `url` and parses a JSON answer into
 * *out (the caller's, json_decref; NULL for an empty body). Non-2xx answers are errors
 * (weft_client_resp_check with `url` as what). `out` may be NULL when the answer is not needed. */
WEFT_MUST_USE int weft_client_json(weft_client *c, json_t **out, const char *method,
                                   const char *url, const json_t *body);

/* Percent-encodes `s` for a URL path (RFC 3986 unreserved kept; '/' kept when keep_slash).
 * *out is the caller's (free). */
WEFT_MUST_USE int weft_client_url_escape(char **out, const char *s, int keep_slash);

/* A repo on a Hub: type "model", "dataset" or "space" and id "ns/name" (or "name"). */
typedef struct weft_client_repo {
    char type[8];
    char id[256];
} weft_client_repo;

/* Parses "ns/name" with `type` ("model" when NULL; "models"/"datasets"/"spaces" accepted too);
 * a spec of the form "datasets/ns/name" or "spaces/ns/name" sets the type itself. */
WEFT_MUST_USE int weft_client_repo_parse(weft_client_repo *out, const char *spec,
                                         const char *type);

/* "/api/models/ns/name" etc. into out (a path under the endpoint). */
WEFT_MUST_USE int weft_client_repo_api_path(char *out, size_t out_len,
                                            const weft_client_repo *repo);

/* The non-API URL prefix: "" for models, "datasets/" or "spaces/". Static string. */
const char *weft_client_repo_prefix(const weft_client_repo *repo);

#endif
