/* The Xet CAS API and the token routes (server/xet.h, specs/xet-storage.md §1.5).
 *
 * Routes (all JSON unless said; errors carry {"error": ...}):
 *   GET  /api/{T}/NS/NAME/xet-{read,write}-token/REV  a token for the repo (xet_token)
 *   POST /v1/xorbs/{prefix}/{xorb}       body: the xorb's chunks (footer optional)
 *                                        -> {"was_inserted": bool}
 *   POST /v1/shards (also /v2/shards)    body: a shard -> {"result": 1 (files recorded) | 0}
 *   GET  /v1/reconstructions/{file}      [Range: bytes=A-B] -> terms + fetch_info (one signed URL
 *                                        per merged chunk range)
 *   GET  /v2/reconstructions/{file}      [Range] -> terms + xorbs (one signed URL per xorb for
 *                                        up to 64 ranges, fetched as one multi-range request)
 *   POST /v1/reconstructions             {"file_ids": [...]} -> files + fetch_info (whole files)
 *   GET  /v1/chunks/{prefix}/{chunk}     global dedup: 200 + a shard, or 404
 *   GET  /v1/fetch/{xorb}?r=A-B[,C-D...]&exp=E&sig=S   Range: bytes of the signed ranges ->
 *                                        206, multipart/byteranges for several ranges
 * Statuses as the spec lists them: 400 malformed or mismatched input, 401 missing, bad or expired
 * token, 403 a read token on an upload route or a bad fetch signature, 404 unknown, 416 a range
 * outside the file. Uploads are idempotent by content address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/rand.h>

#include "server/xet.h"
#include "weft/sha256.h"
#include "weft/shard.h"
#include "weft/xet_token.h"
#include "weft/xorb.h"

#define XET_TOKEN_TTL 3600      /* seconds a token lives; clients refresh before the end */
#define XET_FETCH_TTL 3600      /* seconds a fetch URL lives */
#define XET_DEDUP_KEY_TTL 86400 /* key expiry written in dedup answers */
#define XET_FETCH_TAG "weft xet fetch\n"
#define XET_RANGES_PER_URL 64    /* v2: ranges signed into one fetch URL */
#define XET_FETCH_MAX_RANGES 128 /* ranges one fetch request may ask for */
#define XET_FETCH_WINDOW ((size_t)4 << 20)
#define XET_BATCH_MAX_FILES 1000
#define XET_FILEINFO_TYPE "application/vnd.xet-fileinfo+json"

static int64_t now_s(void)
{
    return hub_now_ms() / 1000;
}

/* "models/NS/NAME": the repo a token is bound to. */
static void repo_key(char *out, size_t cap, weft_repo_type type, const char *ns, const char *name)
{
    snprintf(out, cap, "%s/%s/%s", weft_repo_type_plural(type), ns, name);
}

/* {base}/api/{T}/NS/NAME/xet-{mode}-token/{rev, encoded}. */
static void token_route_url(weft_http_req *req, char *out, size_t cap, weft_repo_type type,
                            const char *ns, const char *name, const char *mode, const char *rev)
{
    char *enc = weft_http_encode(rev ? rev : "main", 0);
    snprintf(out, cap, "%s/api/%s/%s/%s/xet-%s-token/%s", weft_http_req_base_url(req),
             weft_repo_type_plural(type), ns, name, mode, enc ? enc : "main");
    free(enc);
}

/* Signs a token for the repo; 0 or < 0 (message set). */
static int token_make(hub *h, char out[WEFT_XET_TOKEN_MAX + 1], int mode, weft_repo_type type,
                      const char *ns, const char *name, int64_t *exp_out)
{
    weft_xet_token t = {.mode = mode, .exp = now_s() + XET_TOKEN_TTL};
    repo_key(t.repo, sizeof t.repo, type, ns, name);
    *exp_out = t.exp;
    return weft_xet_token_sign(out, WEFT_XET_TOKEN_MAX + 1, &t, h->xet_key);
}

/* ---- token routes ------------------------------------------------------------------------- */

void xet_token(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    int write = rt->extra && strcmp(rt->extra, "write") == 0;
    rt->extra = NULL;
    if (!rt->h->xet) {
        weft_http_respond_error(req, 404, NULL, "Xet not supported");
        return;
    }
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, write ? HUB_WRITE : HUB_READ, &r) < 0)
        return;
    hub_repo_close(&r);
    char token[WEFT_XET_TOKEN_MAX + 1];
    int64_t exp = 0;
    int rc = token_make(rt->h, token, write ? WEFT_XET_TOKEN_WRITE : WEFT_XET_TOKEN_READ, rt->type,
                        rt->ns, rt->name, &exp);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    const char *cas = weft_http_req_base_url(req);
    /* huggingface_hub reads the headers, @huggingface/hub and xet-core the JSON. */
    weft_http_resp_header(req, "X-Xet-Cas-Url", cas);
    weft_http_resp_header(req, "X-Xet-Access-Token", token);
    weft_http_resp_headerf(req, "X-Xet-Token-Expiration", "%lld", (long long)exp);
    weft_http_respond_json(
        req, 200, json_pack("{s:s,s:s,s:I}", "accessToken", token, "casUrl", cas, "exp", exp));
}

json_t *xet_lfs_upload_action(weft_http_req *req, hub *h, weft_repo_type type, const char *ns,
                              const char *name, const char *ref)
{
    char token[WEFT_XET_TOKEN_MAX + 1], href[1024];
    int64_t exp = 0;
    if (token_make(h, token, WEFT_XET_TOKEN_WRITE, type, ns, name, &exp) < 0)
        return NULL;
    token_route_url(req, href, sizeof href, type, ns, name, "write", ref);
    char exp_text[24];
    snprintf(exp_text, sizeof exp_text, "%lld", (long long)exp);
    return json_pack("{s:s,s:{s:s,s:s,s:s,s:s},s:i}", "href", href, "header", "X-Xet-Cas-Url",
                     weft_http_req_base_url(req), "X-Xet-Access-Token", token,
                     "X-Xet-Token-Expiration", exp_text, "X-Xet-Session-Id", weft_http_req_id(req),
                     "expires_in", XET_TOKEN_TTL);
}

/* ---- resolve ------------------------------------------------------------------------------ */

/* The refresh (read-token) route and reconstruction URL of a resolve request, or 0 when the
 * request is not a repo route (an LFS download URL). */
static int resolve_links(weft_http_req *req, const weft_store_file *f, char *refresh, size_t rcap,
                         char *recon, size_t ccap, char hex[WEFT_HASH_HEX_LEN + 1])
{
    hub_route *rt = hub_route_of(req);
    if (!rt || !rt->ns[0] || !rt->rev)
        return 0;
    weft_xet_hash_to_hex(hex, &f->xet_hash);
    token_route_url(req, refresh, rcap, rt->type, rt->ns, rt->name, "read", rt->rev);
    snprintf(recon, ccap, "%s/v1/reconstructions/%s", weft_http_req_base_url(req), hex);
    return 1;
}

void xet_resolve_headers(weft_http_req *req, hub *h, const weft_store_file *f)
{
    char refresh[1024], recon[512], hex[WEFT_HASH_HEX_LEN + 1];
    (void)h;
    if (!resolve_links(req, f, refresh, sizeof refresh, recon, sizeof recon, hex))
        return;
    weft_http_resp_header(req, "X-Xet-Hash", hex);
    weft_http_resp_header(req, "X-Xet-Refresh-Route", refresh);
    weft_http_resp_headerf(req, "Link",
                           "<%s>; rel=\"xet-auth\", <%s>; rel=\"xet-reconstruction-info\"", refresh,
                           recon);
}

int xet_respond_fileinfo(weft_http_req *req, hub *h, const weft_store_file *f)
{
    char refresh[1024], recon[512], hex[WEFT_HASH_HEX_LEN + 1], sha[65];
    const char *accept = weft_http_req_header(req, "Accept");
    (void)h;
    if (!accept || !strstr(accept, XET_FILEINFO_TYPE) ||
        !resolve_links(req, f, refresh, sizeof refresh, recon, sizeof recon, hex))
        return 0;
    weft_hex_encode(sha, f->sha256, 32);
    json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:s}", "hash", hex, "etag", sha, "size",
                          (json_int_t)f->size, "refreshUrl", refresh, "reconstructionUrl", recon);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return 1;
    }
    weft_http_respond_owned(req, 200, XET_FILEINFO_TYPE, text, strlen(text));
    return 1;
}

/* ---- CAS helpers -------------------------------------------------------------------------- */

/* Checks the request's token; answers 401 or 403 itself and returns < 0 when it fails. */
static int cas_auth(weft_http_req *req, hub *h, int need_write)
{
    const char *cred = weft_http_req_credential(req);
    weft_xet_token t;
    if (!cred) {
        weft_http_respond_error(req, 401, NULL,
                                "a Xet token is required (Authorization: Bearer <accessToken> "
                                "from the xet-read-token or xet-write-token route)");
        return WEFT_EAUTH;
    }
    if (weft_xet_token_verify(&t, cred, strlen(cred), h->xet_key, now_s()) < 0) {
        weft_http_respond_error(req, 401, NULL, "%s", weft_err_last());
        return WEFT_EAUTH;
    }
    if (need_write && t.mode != WEFT_XET_TOKEN_WRITE) {
        weft_http_respond_error(req, 403, NULL,
                                "this Xet token is read-only; uploads need one from "
                                "xet-write-token");
        return WEFT_EAUTH;
    }
    return 0;
}

/* A store error about something the client sent: its own fault (400), limits (413), else the
 * usual mapping. */
static void cas_respond_input_rc(weft_http_req *req, int rc)
{
    unsigned status = rc == WEFT_EINVALID || rc == WEFT_ECORRUPT ? 400
                      : rc == WEFT_ELIMIT                        ? 413
                                                                 : weft_http_status_for(rc);
    weft_http_respond_error(req, status, NULL, "%s", weft_err_last());
}

static int parse_hash(weft_http_req *req, const char *text, const char *what, weft_hash *out)
{
    if (!text || weft_xet_hash_from_hex(out, text, strlen(text)) < 0) {
        weft_http_respond_error(req, 400, NULL, "bad %s hash '%.80s': expected 64 hex digits", what,
                                text ? text : "");
        return -1;
    }
    return 0;
}

static weft_store *cas_store(weft_http_req *req, hub *h)
{
    weft_store *st = hub_store(h);
    if (!st)
        hub_respond_rc(req, WEFT_EIO);
    return st;
}

/* A xorb upload in flight: its name and its body. The body buffer is sized from Content-Length
 * up front and mapped with transparent huge pages requested: on a VM, first-touch page faults of
 * 64 MiB in 4 KiB pages cost about as much as verifying and storing the xorb. Without a length
 * (chunked upload) it grows, bounded by the same cap. */
typedef struct xorb_upload {
    weft_hash hash;
    uint8_t *data;
    size_t len, cap, mapped; /* mapped: bytes of an mmap()ed buffer, 0 for malloc */
} xorb_upload;

#define XORB_BODY_CAP ((size_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN)

static void xorb_upload_free(void *p)
{
    xorb_upload *u = p;
    if (!u)
        return;
    if (u->mapped)
        munmap(u->data, u->mapped);
    else
        free(u->data);
    free(u);
}

/* Room for `want` bytes in all (≤ XORB_BODY_CAP). */
static int xorb_reserve(xorb_upload *u, size_t want)
{
    if (want <= u->cap)
        return 0;
    if (!u->data && want >= ((size_t)1 << 20)) {
        void *m = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return WEFT_ENOMEM;
#ifdef MADV_HUGEPAGE
        (void)madvise(m, want, MADV_HUGEPAGE); /* a hint */
#endif
        u->data = m;
        u->cap = u->mapped = want;
        return 0;
    }
    size_t cap = u->cap ? u->cap : 65536;
    while (cap < want)
        cap = cap > XORB_BODY_CAP / 2 ? XORB_BODY_CAP : cap * 2;
    uint8_t *d = u->mapped ? malloc(cap) : realloc(u->data, cap);
    if (!d)
        return WEFT_ENOMEM;
    if (u->mapped) {
        memcpy(d, u->data, u->len);
        munmap(u->data, u->mapped);
        u->mapped = 0;
    }
    u->data = d;
    u->cap = cap;
    return 0;
}

static int xorb_body(weft_http_req *req, const uint8_t *p, size_t n)
{
    xorb_upload *u = hub_route_of(req)->extra;
    if (n > XORB_BODY_CAP - u->len)
        return weft_http_req_fail(req, WEFT_ELIMIT, 413, NULL, "a xorb is at most %zu bytes",
                                  XORB_BODY_CAP);
    if (xorb_reserve(u, u->len + n) < 0)
        return weft_http_req_fail(req, WEFT_ENOMEM, 500, NULL, "out of memory for a xorb");
    memcpy(u->data + u->len, p, n);
    u->len += n;
    return 0;
}

static void xorb_done(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    xorb_upload *u = rt->extra;
    weft_store *st = cas_store(req, rt->h);
    if (!st)
        return;
    weft_store_xorb_put_result res;
    int rc = weft_store_xorb_put(st, &u->hash, u->data, u->len, &res);
    if (rc < 0) {
        cas_respond_input_rc(req, rc);
        return;
    }
    weft_http_respond_json(req, 200, json_pack("{s:b}", "was_inserted", res.was_inserted));
}

static void shard_done(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    size_t len = 0;
    const uint8_t *body = weft_http_req_body(req, &len);
    weft_shard *sh = NULL;
    int rc = weft_shard_parse(&sh, body, len);
    if (rc < 0) {
        cas_respond_input_rc(req, rc);
        return;
    }
    weft_store *st = cas_store(req, rt->h);
    weft_store_shard_result res;
    rc = st ? weft_store_shard_register(st, sh, &res) : WEFT_EIO;
    weft_shard_free(sh);
    if (!st)
        return;
    if (rc == WEFT_EINVALID) {
        weft_http_respond_error(req, 400, NULL, "%s", weft_err_last());
        return;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    /* xet-core's UploadShardResponseType: 0 = everything existed, 1 = recorded. */
    weft_http_respond_json(req, 200, json_pack("{s:i}", "result", res.new_files > 0 ? 1 : 0));
}

/* ---- reconstructions ---------------------------------------------------------------------- */

/* The signed fetch URL for ranges (inclusive byte ranges "A-B,C-D"): the MAC covers the xorb,
 * the expiry and the ranges, exactly as fetch() rebuilds them from the URL. NULL if out of
 * memory. */
static char *fetch_url(weft_http_req *req, hub *h, const char *xorb_hex, const char *ranges,
                       int64_t exp)
{
    char sig[65];
    size_t mlen = strlen(ranges) + WEFT_HASH_HEX_LEN + 32;
    char *msg = malloc(mlen);
    if (!msg)
        return NULL;
    int n = snprintf(msg, mlen, "%s\n%lld\n%s", xorb_hex, (long long)exp, ranges);
    weft_xet_mac_hex(sig, h->xet_key, XET_FETCH_TAG, msg, (size_t)n);
    free(msg);
    const char *base = weft_http_req_base_url(req);
    size_t cap = strlen(base) + strlen(ranges) + 256;
    char *url = malloc(cap);
    if (url)
        snprintf(url, cap, "%s/v1/fetch/%s?r=%s&exp=%lld&sig=%s", base, xorb_hex, ranges,
                 (long long)exp, sig);
    return url;
}

static json_t *range_json(uint64_t start, uint64_t end)
{
    return json_pack("{s:I,s:I}", "start", (json_int_t)start, "end", (json_int_t)end);
}

static json_t *recon_terms_json(const weft_store_recon *r)
{
    json_t *terms = json_array();
    for (size_t i = 0; terms && i < r->n_terms; i++) {
        const weft_store_recon_term *t = &r->terms[i];
        char hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(hex, &t->xorb);
        json_array_append_new(terms, json_pack("{s:s,s:I,s:o}", "hash", hex, "unpacked_length",
                                               (json_int_t)t->raw_len, "range",
                                               range_json(t->chunk_start, t->chunk_end)));
    }
    return terms;
}

/* Adds r's fetches to `into` (an object keyed by xorb hex): v1 entries {range, url, url_range},
 * one per fetch, or v2 entries {url, ranges: [{chunks, bytes}]}, one per xorb and up to
 * XET_RANGES_PER_URL ranges. Byte ranges in answers are inclusive, as in HTTP. */
static int recon_fetch_json(weft_http_req *req, hub *h, const weft_store_recon *r, int v2,
                            json_t *into)
{
    int64_t exp = now_s() + XET_FETCH_TTL;
    for (size_t i = 0; i < r->n_fetches;) {
        const weft_store_recon_fetch *fe = &r->fetches[i];
        char hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(hex, &fe->xorb);
        size_t j = i + 1;
        if (v2)
            while (j < r->n_fetches && j - i < XET_RANGES_PER_URL &&
                   weft_hash_eq(&r->fetches[j].xorb, &fe->xorb))
                j++;
        /* "A-B,C-D": at most 41 characters per range. */
        char *ranges = malloc((j - i) * 44 + 1);
        json_t *list = json_array();
        if (!ranges || !list) {
            free(ranges);
            json_decref(list);
            return WEFT_ENOMEM;
        }
        size_t o = 0;
        for (size_t k = i; k < j; k++) {
            const weft_store_recon_fetch *x = &r->fetches[k];
            o += (size_t)snprintf(ranges + o, 44, "%s%llu-%llu", k > i ? "," : "",
                                  (unsigned long long)x->byte_start,
                                  (unsigned long long)(x->byte_end - 1));
            if (v2)
                json_array_append_new(
                    list, json_pack("{s:o,s:o}", "chunks", range_json(x->chunk_start, x->chunk_end),
                                    "bytes", range_json(x->byte_start, x->byte_end - 1)));
        }
        char *url = fetch_url(req, h, hex, ranges, exp);
        free(ranges);
        if (!url) {
            json_decref(list);
            return WEFT_ENOMEM;
        }
        json_t *entry =
            v2 ? json_pack("{s:s,s:o}", "url", url, "ranges", list)
               : json_pack("{s:o,s:s,s:o}", "range", range_json(fe->chunk_start, fe->chunk_end),
                           "url", url, "url_range", range_json(fe->byte_start, fe->byte_end - 1));
        if (!v2)
            json_decref(list);
        free(url);
        json_t *arr = json_object_get(into, hex);
        if (!arr) {
            arr = json_array();
            json_object_set_new(into, hex, arr);
        }
        json_array_append_new(arr, entry);
        i = j;
    }
    return 0;
}

/* Parses "bytes=A-B" or "bytes=A-" (the Range of a reconstruction request). 0 = no usable range
 * (whole file), 1 = a range, -1 = malformed. */
static int parse_single_range(const char *h, uint64_t *start, uint64_t *len)
{
    if (!h)
        return 0;
    if (strncmp(h, "bytes=", 6) != 0)
        return -1;
    const char *p = h + 6;
    char *end = NULL;
    if (*p < '0' || *p > '9')
        return -1;
    unsigned long long a = strtoull(p, &end, 10);
    if (*end != '-')
        return -1;
    const char *q = end + 1;
    if (*q == '\0') {
        *start = a;
        *len = UINT64_MAX;
        return 1;
    }
    if (*q < '0' || *q > '9')
        return -1;
    unsigned long long b = strtoull(q, &end, 10);
    if (*end || b < a)
        return -1;
    *start = a;
    *len = b - a + 1;
    return 1;
}

static void reconstruction(weft_http_req *req, hub *h, int v2, const char *file_hex)
{
    weft_hash file;
    if (parse_hash(req, file_hex, "file", &file) < 0)
        return;
    uint64_t offset = 0, len = UINT64_MAX;
    int ranged = parse_single_range(weft_http_req_header(req, "Range"), &offset, &len);
    if (ranged < 0) {
        weft_http_respond_error(req, 416, NULL, "expected Range: bytes=START-END");
        return;
    }
    weft_store *st = cas_store(req, h);
    if (!st)
        return;
    weft_store_recon *r = NULL;
    int rc = weft_store_recon_get(st, &file, offset, len, &r);
    if (rc == WEFT_EINVALID) {
        weft_http_respond_error(req, 416, NULL, "%s", weft_err_last());
        return;
    }
    if (rc == 0 && ranged && offset >= r->file.size) {
        /* RFC 9110: a range starting at or past the end is unsatisfiable. */
        weft_http_resp_headerf(req, "Content-Range", "bytes */%llu",
                               (unsigned long long)r->file.size);
        weft_http_respond_error(req, 416, NULL, "range starts at byte %llu of a %llu-byte file",
                                (unsigned long long)offset, (unsigned long long)r->file.size);
        weft_store_recon_free(r);
        return;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    json_t *fetch = json_object();
    json_t *body = json_pack("{s:I,s:o}", "offset_into_first_range",
                             (json_int_t)r->offset_into_first_range, "terms", recon_terms_json(r));
    rc = body && fetch ? recon_fetch_json(req, h, r, v2, fetch) : WEFT_ENOMEM;
    weft_store_recon_free(r);
    if (rc < 0) {
        json_decref(fetch);
        json_decref(body);
        hub_respond_rc(req, rc);
        return;
    }
    json_object_set_new(body, v2 ? "xorbs" : "fetch_info", fetch);
    weft_http_respond_json(req, 200, body);
}

/* POST /v1/reconstructions: {"file_ids": [...]} -> {"files": {id: terms}, "fetch_info": {...}}. */
static void batch_done(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    json_t *in = hub_json_body(req);
    if (!in)
        return;
    json_t *ids = json_object_get(in, "file_ids");
    if (!json_is_array(ids) || json_array_size(ids) > XET_BATCH_MAX_FILES) {
        json_decref(in);
        weft_http_respond_error(req, 400, NULL,
                                "expected {\"file_ids\": [...]} with at most %d ids",
                                XET_BATCH_MAX_FILES);
        return;
    }
    weft_store *st = cas_store(req, rt->h);
    json_t *files = json_object(), *fetch = json_object();
    int rc = st ? 0 : WEFT_EIO;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        weft_hash file;
        const char *hex = json_string_value(v);
        if (rc < 0)
            break;
        if (!hex || weft_xet_hash_from_hex(&file, hex, strlen(hex)) < 0) {
            rc = weft_err_set(WEFT_EINVALID, "bad file id '%.80s'", hex ? hex : "");
            break;
        }
        weft_store_recon *r = NULL;
        rc = weft_store_recon_get(st, &file, 0, UINT64_MAX, &r);
        if (rc == 0) {
            char key[WEFT_HASH_HEX_LEN + 1];
            weft_xet_hash_to_hex(key, &file);
            json_object_set_new(files, key, recon_terms_json(r));
            rc = recon_fetch_json(req, rt->h, r, 0, fetch);
        }
        weft_store_recon_free(r);
    }
    json_decref(in);
    if (rc < 0) {
        json_decref(files);
        json_decref(fetch);
        if (st)
            hub_respond_rc(req, rc);
        return;
    }
    weft_http_respond_json(req, 200, json_pack("{s:o,s:o}", "files", files, "fetch_info", fetch));
}

/* ---- global dedup ------------------------------------------------------------------------- */

static void dedup_query(weft_http_req *req, hub *h, const char *chunk_hex)
{
    weft_hash chunk;
    if (parse_hash(req, chunk_hex, "chunk", &chunk) < 0)
        return;
    weft_store *st = cas_store(req, h);
    if (!st)
        return;
    uint8_t key[32];
    if (RAND_bytes(key, sizeof key) != 1) {
        weft_http_respond_error(req, 500, NULL, "no randomness for the dedup key");
        return;
    }
    weft_buf out;
    weft_buf_init(&out, WEFT_SHARD_MAX_BYTES);
    int rc = weft_store_dedup_query(st, &chunk, key, (uint64_t)(now_s() + XET_DEDUP_KEY_TTL), &out);
    if (rc < 0) {
        weft_buf_dispose(&out);
        hub_respond_rc(req, rc);
        return;
    }
    weft_http_respond_owned(req, 200, "application/octet-stream", out.data, out.len);
}

/* ---- fetch URLs --------------------------------------------------------------------------- */

typedef struct fetch_range {
    uint64_t a, b; /* inclusive */
} fetch_range;

/* Parses "A-B,C-D,..." (inclusive, A <= B) into out (at most max); count or -1. */
static int parse_ranges(const char *s, fetch_range *out, int max)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end = NULL;
        while (*p == ' ')
            p++;
        if (n >= max || *p < '0' || *p > '9')
            return -1;
        unsigned long long a = strtoull(p, &end, 10);
        if (*end != '-' || end[1] < '0' || end[1] > '9')
            return -1;
        unsigned long long b = strtoull(end + 1, &end, 10);
        if (b < a)
            return -1;
        out[n].a = a;
        out[n].b = b;
        n++;
        while (*end == ' ')
            end++;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return n;
}

/* One piece of a fetch answer: literal text (part headers) or bytes of the xorb. */
typedef struct fetch_seg {
    uint64_t pos, len; /* place in the answer */
    const char *text;  /* NULL: xorb bytes from xoff */
    uint64_t xoff;
} fetch_seg;

typedef struct fetch_stream {
    hub *h;
    weft_hash xorb;
    fetch_seg *segs;
    size_t n_segs, cur;
    char *texts; /* every part header, NUL-separated */
    uint8_t *win;
    size_t win_cap;   /* XET_FETCH_WINDOW, or the longest range when shorter */
    uint64_t win_off; /* xorb offset of win[0] */
    size_t win_len;
} fetch_stream;

static void fetch_stream_free(void *p)
{
    fetch_stream *s = p;
    if (!s)
        return;
    free(s->segs);
    free(s->texts);
    free(s->win);
    free(s);
}

/* Makes the window hold xorb bytes from xoff (up to win_cap, not past seg's end). */
static int fetch_fill(fetch_stream *s, const fetch_seg *seg, uint64_t xoff)
{
    if (xoff >= s->win_off && xoff < s->win_off + s->win_len)
        return 0;
    weft_store *st = hub_store(s->h);
    if (!st)
        return WEFT_EIO;
    uint64_t left = seg->xoff + seg->len - xoff;
    size_t want = left < s->win_cap ? (size_t)left : s->win_cap;
    s->win_len = 0;
    int rc = weft_store_xorb_read(st, &s->xorb, xoff, s->win, want, 0);
    if (rc < 0)
        return rc;
    s->win_off = xoff;
    s->win_len = want;
    return 0;
}

static int64_t fetch_stream_read(void *payload, uint64_t pos, uint8_t *buf, size_t max)
{
    fetch_stream *s = payload;
    while (s->cur < s->n_segs && pos >= s->segs[s->cur].pos + s->segs[s->cur].len)
        s->cur++;
    while (s->cur > 0 && pos < s->segs[s->cur].pos)
        s->cur--;
    if (s->cur >= s->n_segs)
        return 0;
    const fetch_seg *seg = &s->segs[s->cur];
    uint64_t in = pos - seg->pos, left = seg->len - in;
    size_t n = left < max ? (size_t)left : max;
    if (seg->text) {
        memcpy(buf, seg->text + in, n);
        return (int64_t)n;
    }
    uint64_t xoff = seg->xoff + in;
    int rc = fetch_fill(s, seg, xoff);
    if (rc < 0)
        return rc;
    size_t avail = (size_t)(s->win_off + s->win_len - xoff);
    if (n > avail)
        n = avail;
    memcpy(buf, s->win + (xoff - s->win_off), n);
    return (int64_t)n;
}

static void fetch(weft_http_req *req, hub *h, const char *xorb_hex)
{
    weft_hash xorb;
    const char *r = weft_http_req_query(req, "r");
    const char *exp_s = weft_http_req_query(req, "exp");
    const char *sig = weft_http_req_query(req, "sig");
    if (parse_hash(req, xorb_hex, "xorb", &xorb) < 0)
        return;
    if (!r || !exp_s || !sig || strlen(sig) != 64 || strlen(r) > 64 * 1024) {
        weft_http_respond_error(req, 403, NULL, "this fetch URL is incomplete");
        return;
    }
    /* The signature covers the xorb as named in the URL, the expiry and the ranges. */
    size_t n = strlen(xorb_hex) + strlen(exp_s) + strlen(r) + 3;
    char *msg = malloc(n);
    if (!msg) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    int k = snprintf(msg, n, "%s\n%s\n%s", xorb_hex, exp_s, r);
    char want[65];
    weft_xet_mac_hex(want, h->xet_key, XET_FETCH_TAG, msg, (size_t)k);
    free(msg);
    if (!weft_xet_mac_equal(want, sig, 64)) {
        weft_http_respond_error(req, 403, NULL, "this fetch URL's signature does not match");
        return;
    }
    if (strtoll(exp_s, NULL, 10) < now_s()) {
        weft_http_respond_error(req, 403, NULL,
                                "this fetch URL has expired; ask for the reconstruction again");
        return;
    }
    fetch_range signed_r[XET_FETCH_MAX_RANGES], want_r[XET_FETCH_MAX_RANGES];
    int n_signed = parse_ranges(r, signed_r, XET_FETCH_MAX_RANGES);
    if (n_signed <= 0) {
        weft_http_respond_error(req, 403, NULL, "this fetch URL's ranges are malformed");
        return;
    }
    const char *range = weft_http_req_header(req, "Range");
    int n_want;
    if (!range) {
        n_want = n_signed;
        memcpy(want_r, signed_r, (size_t)n_signed * sizeof *want_r);
    } else if (strncmp(range, "bytes=", 6) != 0 ||
               (n_want = parse_ranges(range + 6, want_r, XET_FETCH_MAX_RANGES)) <= 0) {
        weft_http_respond_error(req, 416, NULL, "expected Range: bytes=A-B[,C-D...]");
        return;
    }
    for (int i = 0; i < n_want; i++) {
        int ok = 0;
        for (int j = 0; j < n_signed && !ok; j++)
            ok = want_r[i].a >= signed_r[j].a && want_r[i].b <= signed_r[j].b;
        if (!ok) {
            weft_http_respond_error(
                req, 403, NULL, "bytes %llu-%llu are not among the ranges this URL signs",
                (unsigned long long)want_r[i].a, (unsigned long long)want_r[i].b);
            return;
        }
    }
    fetch_stream *s = calloc(1, sizeof *s);
    if (!s) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    s->h = h;
    s->xorb = xorb;
    int multi = n_want > 1;
    char boundary[40];
    uint8_t rnd[12];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0x5a, sizeof rnd);
    snprintf(boundary, sizeof boundary, "weft-");
    weft_hex_encode(boundary + 5, rnd, sizeof rnd);
    /* Each part: CRLF (not before the first), "--B", CRLF, Content-Type and Content-Range
     * ("bytes A-B/" then "*": the xorb's size is not needed), a blank line, the bytes; then the
     * closing CRLF "--B--" CRLF. */
    size_t text_cap = multi ? (size_t)(n_want + 1) * 160 : 1;
    s->segs = calloc((size_t)n_want * 2 + 1, sizeof *s->segs);
    s->texts = malloc(text_cap);
    uint64_t longest = 0;
    for (int i = 0; i < n_want; i++)
        if (want_r[i].b - want_r[i].a + 1 > longest)
            longest = want_r[i].b - want_r[i].a + 1;
    s->win_cap = longest < XET_FETCH_WINDOW ? (size_t)longest : XET_FETCH_WINDOW;
    s->win = malloc(s->win_cap);
    if (!s->segs || !s->texts || !s->win) {
        fetch_stream_free(s);
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    uint64_t pos = 0;
    size_t to = 0;
    for (int i = 0; i < n_want; i++) {
        if (multi) {
            char *t = s->texts + to;
            int tl = snprintf(t, text_cap - to,
                              "%s--%s\r\nContent-Type: application/octet-stream\r\n"
                              "Content-Range: bytes %llu-%llu/*\r\n\r\n",
                              i ? "\r\n" : "", boundary, (unsigned long long)want_r[i].a,
                              (unsigned long long)want_r[i].b);
            s->segs[s->n_segs++] = (fetch_seg){.pos = pos, .len = (uint64_t)tl, .text = t};
            pos += (uint64_t)tl;
            to += (size_t)tl + 1;
        }
        uint64_t len = want_r[i].b - want_r[i].a + 1;
        s->segs[s->n_segs++] = (fetch_seg){.pos = pos, .len = len, .xoff = want_r[i].a};
        pos += len;
    }
    if (multi) {
        char *t = s->texts + to;
        int tl = snprintf(t, text_cap - to, "\r\n--%s--\r\n", boundary);
        s->segs[s->n_segs++] = (fetch_seg){.pos = pos, .len = (uint64_t)tl, .text = t};
        pos += (uint64_t)tl;
    }
    /* Read the first bytes now, so a missing or damaged xorb is an error status, not a cut. */
    const fetch_seg *first = &s->segs[multi ? 1 : 0];
    int rc = fetch_fill(s, first, first->xoff);
    if (rc < 0) {
        fetch_stream_free(s);
        if (rc == WEFT_EINVALID)
            weft_http_respond_error(req, 416, NULL, "%s", weft_err_last());
        else
            hub_respond_rc(req, rc);
        return;
    }
    if (multi) {
        char type[80];
        snprintf(type, sizeof type, "multipart/byteranges; boundary=%s", boundary);
        weft_http_respond_stream(req, 206, type, pos, fetch_stream_read, s, fetch_stream_free);
        return;
    }
    weft_http_resp_headerf(req, "Content-Range", "bytes %llu-%llu/*",
                           (unsigned long long)want_r[0].a, (unsigned long long)want_r[0].b);
    weft_http_respond_stream(req, range ? 206 : 200, "application/octet-stream", pos,
                             fetch_stream_read, s, fetch_stream_free);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

void xet_cas_dispatch(weft_http_req *req, hub *h)
{
    hub_route *rt = hub_route_of(req);
    size_t n = weft_http_req_n_segments(req);
    const char *v = weft_http_req_segment(req, 0);
    const char *what = n > 1 ? weft_http_req_segment(req, 1) : "";
    int v1 = strcmp(v, "v1") == 0;
    int get = weft_http_req_is(req, "GET"), post = weft_http_req_is(req, "POST");
    if (v1 && n == 3 && strcmp(what, "fetch") == 0 && get) {
        fetch(req, h, weft_http_req_segment(req, 2));
        return;
    }
    if (v1 && n == 4 && strcmp(what, "xorbs") == 0 && post) {
        xorb_upload *u = calloc(1, sizeof *u);
        if (!u) {
            hub_respond_rc(req, WEFT_ENOMEM);
            return;
        }
        rt->extra = u;
        rt->extra_free = xorb_upload_free;
        if (parse_hash(req, weft_http_req_segment(req, 3), "xorb", &u->hash) < 0 ||
            cas_auth(req, h, 1) < 0)
            return;
        const char *cl = weft_http_req_header(req, "Content-Length");
        unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
        if (announced > XORB_BODY_CAP) {
            weft_http_respond_error(req, 413, NULL, "a xorb is at most %zu bytes, not %llu",
                                    XORB_BODY_CAP, announced);
            return;
        }
        if (announced > 0 && xorb_reserve(u, (size_t)announced) < 0) {
            hub_respond_rc(req, WEFT_ENOMEM);
            return;
        }
        weft_http_req_stream_body(req, xorb_body, xorb_done);
        return;
    }
    if (n == 2 && strcmp(what, "shards") == 0 && post) {
        if (cas_auth(req, h, 1) < 0)
            return;
        weft_http_req_buffer_body(req, WEFT_SHARD_MAX_BYTES, shard_done);
        return;
    }
    if (n == 3 && strcmp(what, "reconstructions") == 0 && get) {
        if (cas_auth(req, h, 0) == 0)
            reconstruction(req, h, !v1, weft_http_req_segment(req, 2));
        return;
    }
    if (v1 && n == 2 && strcmp(what, "reconstructions") == 0 && post) {
        if (cas_auth(req, h, 0) == 0)
            weft_http_req_buffer_body(req, (size_t)1 << 20, batch_done);
        return;
    }
    if (v1 && n == 4 && strcmp(what, "chunks") == 0 && get) {
        if (cas_auth(req, h, 0) == 0)
            dedup_query(req, h, weft_http_req_segment(req, 3));
        return;
    }
    weft_http_respond_error(req, 404, NULL, "no CAS route for %s %s", weft_http_req_method(req),
                            weft_http_req_path(req));
}
