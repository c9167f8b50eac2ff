/* Git LFS: the batch API and the signed transfer URLs it hands out (specs/hf-hub-api.md §8.3).
 *
 * Clients PUT LFS bodies without any Authorization header, so every transfer URL carries its own
 * credential: /api/lfs/ACTION/OID?size=S&repo=T/NS/NAME&exp=E[&part=N&chunk=C]&sig=HMAC, the
 * HMAC-SHA256 (key: the server's "upload-url" secret) of everything before it, valid for an hour.
 * Actions: upload (basic PUT, or the multipart completion POST), part (one multipart part),
 * verify (POST, Python only) and download (GET, for git-lfs pulls).
 *
 * A basic upload streams straight through the chunker into the store and is accepted only if
 * its SHA-256 and size are the ones signed. Multipart parts are written at their offsets into
 * DATA/tmp/OID-SIZE.part; the completion streams that file into the store, checks it the same
 * way and deletes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "server/hub.h"
#include "server/xet.h"
#include "weft/sha256.h"

#define LFS_URL_TTL 3600
#define MULTIPART_THRESHOLD ((uint64_t)64 << 20)
#define MULTIPART_CHUNK ((uint64_t)16 << 20)
#define MULTIPART_MAX_PARTS 10000
#define LFS_MAX_OBJECTS 1000

/* ---- signing ----------------------------------------------------------------------------------
 */

typedef struct lfs_grant {
    char action[16];
    char oid[65];
    uint64_t size;
    char repo[2 * WEFT_NAME_MAX + 16];
    int64_t exp;
    unsigned part;
    uint64_t chunk;
} lfs_grant;

static void grant_sig(const hub *h, const lfs_grant *g, char out[65])
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s\n%s\n%llu\n%s\n%lld\n%u\n%llu", g->action, g->oid,
                     (unsigned long long)g->size, g->repo, (long long)g->exp, g->part,
                     (unsigned long long)g->chunk);
    uint8_t mac[32];
    unsigned mac_len = 0;
    HMAC(EVP_sha256(), h->upload_key, sizeof h->upload_key, (const uint8_t *)msg, (size_t)n, mac,
         &mac_len);
    weft_hex_encode(out, mac, 32);
}

static void grant_url(weft_http_req *req, const hub *h, const lfs_grant *g, char *out, size_t cap)
{
    char sig[65];
    grant_sig(h, g, sig);
    char *repo = weft_http_encode(g->repo, 1);
    int n = snprintf(out, cap, "%s/api/lfs/%s/%s?size=%llu&repo=%s&exp=%lld",
                     weft_http_req_base_url(req), g->action, g->oid, (unsigned long long)g->size,
                     repo ? repo : "", (long long)g->exp);
    free(repo);
    if (g->part)
        n += snprintf(out + n, cap - (size_t)n, "&part=%u&chunk=%llu", g->part,
                      (unsigned long long)g->chunk);
    snprintf(out + n, cap - (size_t)n, "&sig=%s", sig);
}

/* Reads and checks the grant of a signed request; answers 403 itself when it does not hold. */
static int grant_check(weft_http_req *req, const hub *h, const char *action, lfs_grant *g)
{
    memset(g, 0, sizeof *g);
    const char *oid = weft_http_req_segment(req, 3);
    const char *size = weft_http_req_query(req, "size");
    const char *repo = weft_http_req_query(req, "repo");
    const char *exp = weft_http_req_query(req, "exp");
    const char *sig = weft_http_req_query(req, "sig");
    const char *part = weft_http_req_query(req, "part");
    const char *chunk = weft_http_req_query(req, "chunk");
    if (!oid || strlen(oid) != 64 || !size || !repo || !exp || !sig || strlen(sig) != 64 ||
        strlen(repo) >= sizeof g->repo) {
        weft_http_respond_error(req, 403, NULL, "this transfer URL is incomplete");
        return -1;
    }
    snprintf(g->action, sizeof g->action, "%s", action);
    memcpy(g->oid, oid, 65);
    g->size = strtoull(size, NULL, 10);
    snprintf(g->repo, sizeof g->repo, "%s", repo);
    g->exp = strtoll(exp, NULL, 10);
    g->part = part ? (unsigned)strtoul(part, NULL, 10) : 0;
    g->chunk = chunk ? strtoull(chunk, NULL, 10) : 0;
    char want[65];
    grant_sig(h, g, want);
    if (CRYPTO_memcmp(want, sig, 64) != 0) {
        weft_http_respond_error(req, 403, NULL, "this transfer URL's signature does not match");
        return -1;
    }
    if (g->exp < hub_now_ms() / 1000) {
        weft_http_respond_error(req, 403, NULL,
                                "this transfer URL has expired; ask the batch API "
                                "again");
        return -1;
    }
    return 0;
}

/* ---- batch ------------------------------------------------------------------------------------
 */

static int valid_oid(const char *oid)
{
    if (!oid || strlen(oid) != 64)
        return 0;
    for (const char *p = oid; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int offered(json_t *transfers, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(transfers, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

static void respond_lfs(weft_http_req *req, unsigned status, json_t *body)
{
    weft_http_resp_header(req, "Content-Type", "application/vnd.git-lfs+json");
    weft_http_respond_json(req, status, body);
}

void lfs_batch(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub *h = rt->h;
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    const char *op = json_string_value(json_object_get(body, "operation"));
    json_t *objects = json_object_get(body, "objects");
    const char *algo = json_string_value(json_object_get(body, "hash_algo"));
    json_t *transfers = json_object_get(body, "transfers");
    int upload = op && strcmp(op, "upload") == 0;
    if (!op || (!upload && strcmp(op, "download") != 0) || !json_is_array(objects) ||
        (algo && strcmp(algo, "sha256") != 0 && strcmp(algo, "sha_256") != 0)) {
        json_decref(body);
        respond_lfs(req, 422,
                    json_pack("{s:s}", "message",
                              "expected operation upload|download, objects[] "
                              "and hash_algo sha256"));
        return;
    }
    if (json_array_size(objects) > LFS_MAX_OBJECTS) {
        json_decref(body);
        respond_lfs(req, 413, json_pack("{s:s}", "message", "too many objects"));
        return;
    }
    hub_repo r;
    if (hub_repo_open(h, req, rt->type, rt->ns, rt->name, upload ? HUB_WRITE : HUB_READ, &r) < 0) {
        json_decref(body);
        return;
    }
    hub_repo_close(&r);
    weft_store *st = hub_store(h);
    if (!st) {
        json_decref(body);
        hub_respond_rc(req, WEFT_EIO);
        return;
    }
    /* Xet first when both sides speak it (specs/hf-hub-api.md §8.6): objects are then uploaded
     * to the CAS, and the LFS actions are not used. */
    int xet = upload && h->xet && offered(transfers, "xet");
    const char *ref = json_string_value(json_object_get(json_object_get(body, "ref"), "name"));
    int multipart = 0;
    if (upload && !xet && offered(transfers, "multipart")) {
        size_t i;
        json_t *o;
        json_array_foreach(objects, i, o)
        {
            json_t *sz = json_object_get(o, "size");
            if (json_is_integer(sz) && (uint64_t)json_integer_value(sz) >= MULTIPART_THRESHOLD)
                multipart = 1;
        }
    }
    char repo[2 * WEFT_NAME_MAX + 16];
    snprintf(repo, sizeof repo, "%s/%s/%s", weft_repo_type_plural(rt->type), rt->ns, rt->name);
    int64_t exp = hub_now_ms() / 1000 + LFS_URL_TTL;
    json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o)
    {
        const char *oid = json_string_value(json_object_get(o, "oid"));
        json_t *szj = json_object_get(o, "size");
        json_int_t size = json_is_integer(szj) ? json_integer_value(szj) : -1;
        json_t *item = json_pack("{s:s,s:I}", "oid", oid ? oid : "", "size", size < 0 ? 0 : size);
        if (!valid_oid(oid) || size < 0) {
            json_object_set_new(item, "error",
                                json_pack("{s:i,s:s}", "code", 422, "message",
                                          "oid must be 64 lowercase hex digits "
                                          "and size a non-negative integer"));
            json_array_append_new(out, item);
            continue;
        }
        weft_store_file f;
        int have = weft_store_lookup(st, oid, &f) == 0 && f.size == (uint64_t)size;
        lfs_grant g = {.size = (uint64_t)size, .exp = exp};
        memcpy(g.oid, oid, 65);
        snprintf(g.repo, sizeof g.repo, "%s", repo);
        char url[2048];
        if (upload && !have && xet) {
            json_t *action = xet_lfs_upload_action(req, h, rt->type, rt->ns, rt->name, ref);
            json_object_set_new(item, "authenticated", json_true());
            json_object_set_new(item, "actions", json_pack("{s:o*}", "upload", action));
        } else if (upload && !have) {
            json_object_set_new(item, "authenticated", json_true());
            json_t *actions = json_object();
            json_t *header = json_object();
            snprintf(g.action, sizeof g.action, "upload");
            grant_url(req, h, &g, url, sizeof url);
            if (multipart) {
                uint64_t parts = ((uint64_t)size + MULTIPART_CHUNK - 1) / MULTIPART_CHUNK;
                if (parts == 0)
                    parts = 1;
                if (parts > MULTIPART_MAX_PARTS) {
                    json_decref(header);
                    json_decref(actions);
                    json_object_set_new(
                        item, "error",
                        json_pack("{s:i,s:s}", "code", 422, "message", "object too large"));
                    json_array_append_new(out, item);
                    continue;
                }
                char chunk[32];
                snprintf(chunk, sizeof chunk, "%llu", (unsigned long long)MULTIPART_CHUNK);
                json_object_set_new(header, "chunk_size", json_string(chunk));
                for (uint64_t p = 1; p <= parts; p++) {
                    lfs_grant pg = g;
                    snprintf(pg.action, sizeof pg.action, "part");
                    pg.part = (unsigned)p;
                    pg.chunk = MULTIPART_CHUNK;
                    char purl[2048], key[16];
                    grant_url(req, h, &pg, purl, sizeof purl);
                    snprintf(key, sizeof key, "%05llu", (unsigned long long)p);
                    json_object_set_new(header, key, json_string(purl));
                }
            }
            json_object_set_new(actions, "upload",
                                json_pack("{s:s,s:o,s:i}", "href", url, "header", header,
                                          "expires_in", LFS_URL_TTL));
            snprintf(g.action, sizeof g.action, "verify");
            grant_url(req, h, &g, url, sizeof url);
            json_object_set_new(
                actions, "verify",
                json_pack("{s:s,s:{},s:i}", "href", url, "header", "expires_in", LFS_URL_TTL));
            json_object_set_new(item, "actions", actions);
        } else if (!upload) {
            if (!have) {
                json_object_set_new(
                    item, "error",
                    json_pack("{s:i,s:s}", "code", 404, "message", "Object does not exist"));
            } else {
                snprintf(g.action, sizeof g.action, "download");
                grant_url(req, h, &g, url, sizeof url);
                json_object_set_new(item, "authenticated", json_true());
                json_object_set_new(item, "actions",
                                    json_pack("{s:{s:s,s:{},s:i}}", "download", "href", url,
                                              "header", "expires_in", LFS_URL_TTL));
            }
        }
        json_array_append_new(out, item);
    }
    json_decref(body);
    json_t *resp = json_pack("{s:o,s:s}", "objects", out, "hash_algo", "sha256");
    if (upload)
        json_object_set_new(resp, "transfer",
                            json_string(xet         ? "xet"
                                        : multipart ? "multipart"
                                                    : "basic"));
    else
        json_object_set_new(resp, "transfer", json_string("basic"));
    respond_lfs(req, 200, resp);
}

/* ---- transfers ---------------------------------------------------------------------------------
 */

typedef struct lfs_upload {
    hub *h;
    lfs_grant g;
    weft_store_ingest *in;
    int fd;         /* multipart part: the assembly file */
    uint64_t off;   /* next write offset in it */
    uint64_t limit; /* end of this part */
} lfs_upload;

static void upload_free(void *p)
{
    lfs_upload *u = p;
    if (!u)
        return;
    weft_store_ingest_abort(u->in);
    if (u->fd >= 0)
        close(u->fd);
    free(u);
}

static int upload_body(weft_http_req *req, const uint8_t *p, size_t n)
{
    lfs_upload *u = hub_route_of(req)->extra;
    if (weft_http_req_body_received(req) > u->g.size)
        return weft_http_req_fail(req, WEFT_EINVALID, 400, NULL,
                                  "body is longer than the %llu bytes announced",
                                  (unsigned long long)u->g.size);
    int rc = weft_store_ingest_feed(u->in, p, n);
    if (rc < 0)
        return weft_http_req_fail(req, rc, 500, NULL, "%s", weft_err_last());
    return 0;
}

/* Checks a finished put against the grant; forgets a wrong file the put added. */
static int put_matches(weft_http_req *req, hub *h, const lfs_grant *g,
                       const weft_store_put_result *res)
{
    char got[65];
    weft_hex_encode(got, res->file.sha256, 32);
    if (strcmp(got, g->oid) == 0 && res->file.size == g->size)
        return 1;
    if (!res->existed)
        hub_warn_rc(weft_store_remove(hub_store(h), &res->file.xet_hash),
                    "forgetting a bad upload");
    weft_http_respond_error(req, 400, NULL,
                            "uploaded content has sha256 %s and %llu bytes, not the announced "
                            "%s and %llu bytes",
                            got, (unsigned long long)res->file.size, g->oid,
                            (unsigned long long)g->size);
    return 0;
}

static void upload_done(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    lfs_upload *u = rt->extra;
    weft_store_put_result res;
    weft_store_ingest *in = u->in;
    u->in = NULL;
    int rc = weft_store_ingest_finish(in, &res);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    if (put_matches(req, u->h, &u->g, &res))
        weft_http_respond_empty(req, 200);
}

static void part_path(const hub *h, const lfs_grant *g, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s-%llu.part", h->lfs_tmp_dir, g->oid, (unsigned long long)g->size);
}

static int part_body(weft_http_req *req, const uint8_t *p, size_t n)
{
    lfs_upload *u = hub_route_of(req)->extra;
    if (u->off + n > u->limit)
        return weft_http_req_fail(req, WEFT_EINVALID, 400, NULL,
                                  "part %u is longer than its %llu bytes", u->g.part,
                                  (unsigned long long)u->g.chunk);
    while (n > 0) {
        ssize_t w = pwrite(u->fd, p, n, (off_t)u->off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return weft_http_req_fail(req, WEFT_EIO, 507, NULL, "writing part %u: %s", u->g.part,
                                      strerror(errno));
        p += w;
        n -= (size_t)w;
        u->off += (uint64_t)w;
    }
    return 0;
}

static void part_done(weft_http_req *req)
{
    lfs_upload *u = hub_route_of(req)->extra;
    uint64_t start = (uint64_t)(u->g.part - 1) * u->g.chunk;
    uint64_t want = u->limit - start;
    if (u->off - start != want) {
        weft_http_respond_error(req, 400, NULL, "part %u has %llu bytes, expected %llu", u->g.part,
                                (unsigned long long)(u->off - start), (unsigned long long)want);
        return;
    }
    if (fsync(u->fd) != 0) {
        weft_http_respond_error(req, 507, NULL, "fsync of part %u failed", u->g.part);
        return;
    }
    weft_http_resp_headerf(req, "ETag", "\"part-%u-%llu\"", u->g.part, (unsigned long long)want);
    weft_http_respond_empty(req, 200);
}

static void complete_done(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    lfs_upload *u = rt->extra;
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    json_t *parts = json_object_get(body, "parts");
    uint64_t n_parts = (u->g.size + MULTIPART_CHUNK - 1) / MULTIPART_CHUNK;
    if (n_parts == 0)
        n_parts = 1;
    if (!json_is_array(parts) || json_array_size(parts) != n_parts) {
        json_decref(body);
        weft_http_respond_error(req, 400, NULL, "expected %llu parts in the completion",
                                (unsigned long long)n_parts);
        return;
    }
    json_decref(body);
    char path[1024];
    part_path(u->h, &u->g, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        weft_http_respond_error(req, 400, NULL, "no parts were uploaded for %s", u->g.oid);
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != u->g.size) {
        close(fd);
        weft_http_respond_error(req, 400, NULL,
                                "the uploaded parts hold %lld of %llu "
                                "bytes",
                                (long long)sb.st_size, (unsigned long long)u->g.size);
        return;
    }
    weft_store_put_result res;
    int rc = weft_store_put_fd(hub_store(u->h), fd, &res, NULL, NULL);
    close(fd);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    if (put_matches(req, u->h, &u->g, &res)) {
        unlink(path);
        weft_http_respond_empty(req, 200);
    }
}

static void verify_done(weft_http_req *req)
{
    lfs_upload *u = hub_route_of(req)->extra;
    weft_store_file f;
    weft_store *st = hub_store(u->h);
    if (st && weft_store_lookup(st, u->g.oid, &f) == 0 && f.size == u->g.size) {
        weft_http_respond_json(req, 200,
                               json_pack("{s:s,s:I}", "oid", u->g.oid, "size", (json_int_t)f.size));
        return;
    }
    weft_http_respond_error(req, 404, NULL, "object %s was not uploaded", u->g.oid);
}

void lfs_upload_dispatch(weft_http_req *req, hub *h)
{
    hub_route *rt = hub_route_of(req);
    if (weft_http_req_n_segments(req) != 4) {
        weft_http_respond_error(req, 404, NULL, "no such transfer URL");
        return;
    }
    const char *action = weft_http_req_segment(req, 2);
    lfs_upload *u = calloc(1, sizeof *u);
    if (!u) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    u->h = h;
    u->fd = -1;
    rt->extra = u;
    rt->extra_free = upload_free;
    if (grant_check(req, h, action, &u->g) < 0)
        return;
    weft_store *st = hub_store(h);
    if (!st) {
        hub_respond_rc(req, WEFT_EIO);
        return;
    }
    if (strcmp(action, "upload") == 0 && weft_http_req_is(req, "PUT")) {
        int rc = weft_store_ingest_begin(st, &u->in);
        if (rc < 0) {
            hub_respond_rc(req, rc);
            return;
        }
        weft_http_req_stream_body(req, upload_body, upload_done);
        return;
    }
    if (strcmp(action, "upload") == 0 && weft_http_req_is(req, "POST")) {
        weft_http_req_buffer_body(req, (size_t)1 << 22, complete_done);
        return;
    }
    if (strcmp(action, "part") == 0 && weft_http_req_is(req, "PUT")) {
        if (u->g.part == 0 || u->g.chunk == 0 ||
            (uint64_t)(u->g.part - 1) * u->g.chunk >= (u->g.size ? u->g.size : 1)) {
            weft_http_respond_error(req, 400, NULL, "bad part number");
            return;
        }
        char path[1024];
        part_path(h, &u->g, path, sizeof path);
        u->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (u->fd < 0) {
            weft_http_respond_error(req, 507, NULL, "cannot open the part file: %s",
                                    strerror(errno));
            return;
        }
        u->off = (uint64_t)(u->g.part - 1) * u->g.chunk;
        u->limit = u->off + u->g.chunk < u->g.size ? u->off + u->g.chunk : u->g.size;
        if (ftruncate(u->fd, (off_t)u->g.size) != 0) {
            weft_http_respond_error(req, 507, NULL, "cannot size the part file: %s",
                                    strerror(errno));
            return;
        }
        weft_http_req_stream_body(req, part_body, part_done);
        return;
    }
    if (strcmp(action, "verify") == 0 && weft_http_req_is(req, "POST")) {
        weft_http_req_buffer_body(req, (size_t)1 << 16, verify_done);
        return;
    }
    if (strcmp(action, "download") == 0 &&
        (weft_http_req_is(req, "GET") || weft_http_req_is(req, "HEAD"))) {
        uint8_t sha[32];
        if (weft_hex_decode(sha, 32, u->g.oid, 64) < 0) {
            weft_http_respond_error(req, 400, NULL, "bad oid");
            return;
        }
        hub_serve_lfs_object(req, h, sha);
        return;
    }
    weft_http_respond_error(req, 405, NULL, "method %s not allowed here",
                            weft_http_req_method(req));
}
