/* File downloads: HEAD/GET /[T/]NS/NAME/{resolve|raw}/REV/PATH (specs/hf-hub-api.md §7).
 *
 * resolve serves a file's content: a git blob as is, an LFS file reconstructed from the chunk
 * store as a stream (no temporary copy). raw serves the git blob, i.e. the pointer of an LFS file.
 * Every answer after the revision resolved carries X-Repo-Commit (also 404 EntryNotFound, so
 * Python caches the absence), ETag (SHA-256 for LFS files, git blob id otherwise), X-Linked-Size,
 * X-Linked-ETag and Accept-Ranges. One range (bytes=A-B, A- or -N) gives 206 + Content-Range;
 * a start past the end gives 416 + Content-Range: bytes * /SIZE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"
#include "server/xet.h"
#include "weft/sha256.h"

#define BLOB_SERVE_MAX ((size_t)1 << 30)

typedef struct byte_range {
    int present; /* a usable single range was asked for */
    uint64_t start, len;
} byte_range;

/* Parses a Range header against size. Returns 0, or -1 when unsatisfiable (416). A header that
 * is not one bytes range is ignored (the whole file is served, as RFC 9110 allows). */
static int parse_range(const char *h, uint64_t size, byte_range *out)
{
    memset(out, 0, sizeof *out);
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    char *end = NULL;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end)
            return 0;
        if (n == 0)
            return -1;
        out->present = 1;
        out->len = n > size ? size : n;
        out->start = size - out->len;
        return size == 0 ? -1 : 0;
    }
    if (*p < '0' || *p > '9')
        return 0;
    unsigned long long a = strtoull(p, &end, 10);
    if (*end != '-')
        return 0;
    const char *q = end + 1;
    unsigned long long b = UINT64_MAX;
    if (*q) {
        b = strtoull(q, &end, 10);
        if (end == q || *end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    out->present = 1;
    out->start = a;
    out->len = b - a + 1;
    return 0;
}

typedef struct store_stream {
    hub *h;
    weft_hash file;
    uint64_t base; /* file offset of stream position 0 */
    uint64_t len;
    weft_store_reader *reader; /* opened on the first read, on the thread that serves it */
    uint64_t next_pos;         /* stream position the reader continues at */
} store_stream;

typedef struct fill_ctx {
    uint8_t *dst;
    size_t n;
} fill_ctx;

static int fill_cb(const uint8_t *p, size_t n, void *payload)
{
    fill_ctx *f = payload;
    memcpy(f->dst + f->n, p, n);
    f->n += n;
    return 0;
}

/* Reconstructs straight into the server's send buffer: one copy of each byte from the xorb
 * window to the socket's buffer (bench/RESULTS.md: a second copy through a buffer of our own
 * was a fifth of the server's CPU time per download). */
static int64_t store_stream_read(void *payload, uint64_t pos, uint8_t *buf, size_t max)
{
    store_stream *s = payload;
    if (pos >= s->len)
        return 0;
    if (!s->reader || pos != s->next_pos) {
        /* first read, or a jump (MHD reads in order; this is for safety) */
        weft_store *st = hub_store(s->h);
        weft_store_reader_close(s->reader);
        s->reader = NULL;
        int rc =
            st ? weft_store_reader_open(st, &s->file, s->base + pos, s->len - pos, 0, &s->reader)
               : WEFT_EIO;
        if (rc < 0)
            return rc;
    }
    fill_ctx f = {buf, 0};
    int rc = weft_store_reader_next(s->reader, max, fill_cb, &f);
    if (rc < 0 || f.n == 0)
        return rc < 0 ? rc : WEFT_ECORRUPT;
    s->next_pos = pos + f.n;
    return (int64_t)f.n;
}

static void store_stream_free(void *payload)
{
    store_stream *s = payload;
    if (s)
        weft_store_reader_close(s->reader);
    free(s);
}

static void set_common_headers(weft_http_req *req, const char *etag, uint64_t size)
{
    weft_http_resp_headerf(req, "ETag", "\"%s\"", etag);
    weft_http_resp_headerf(req, "X-Linked-Etag", "\"%s\"", etag);
    weft_http_resp_headerf(req, "X-Linked-Size", "%llu", (unsigned long long)size);
    weft_http_resp_header(req, "Accept-Ranges", "bytes");
}

/* Applies the Range header: sets status and Content-Range; returns -1 after answering 416. */
static int apply_range(weft_http_req *req, uint64_t size, byte_range *r, unsigned *status)
{
    *status = 200;
    if (parse_range(weft_http_req_header(req, "Range"), size, r) < 0) {
        if (size == 0) {
            /* specs/hf-hub-api.md §7.4: an empty file probed with bytes=0-0 */
            weft_http_resp_header(req, "Content-Range", "bytes */0");
            r->present = 0;
            return 0;
        }
        weft_http_resp_headerf(req, "Content-Range", "bytes */%llu", (unsigned long long)size);
        weft_http_respond_error(req, 416, NULL, "range not satisfiable for %llu bytes",
                                (unsigned long long)size);
        return -1;
    }
    if (r->present) {
        *status = 206;
        weft_http_resp_headerf(
            req, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)r->start,
            (unsigned long long)(r->start + r->len - 1), (unsigned long long)size);
    } else {
        r->start = 0;
        r->len = size;
    }
    return 0;
}

static void serve_blob(weft_http_req *req, hub_repo *r, const weft_repo_entry *e)
{
    char etag[41];
    weft_oid_to_hex(etag, &e->oid);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = weft_repo_blob_read(r->git, &e->oid, BLOB_SERVE_MAX, &data, &len);
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    set_common_headers(req, etag, len);
    byte_range br;
    unsigned status;
    if (apply_range(req, len, &br, &status) < 0) {
        free(data);
        return;
    }
    if (br.start > 0 || br.len < len)
        memmove(data, data + br.start, (size_t)br.len);
    weft_http_respond_owned(req, status, "application/octet-stream", data, (size_t)br.len);
}

void hub_serve_lfs_object(weft_http_req *req, hub *h, const uint8_t sha256[32])
{
    char sha[65];
    weft_hex_encode(sha, sha256, 32);
    weft_store *st = hub_store(h);
    weft_store_file f;
    int rc = st ? weft_store_lookup(st, sha, &f) : WEFT_EIO;
    if (rc == WEFT_ENOTFOUND) {
        weft_http_respond_error(req, 404, "EntryNotFound",
                                "the content of this LFS file (%s) was never uploaded", sha);
        return;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        return;
    }
    set_common_headers(req, sha, f.size);
    if (h->xet) {
        xet_resolve_headers(req, h, &f);
        if (xet_respond_fileinfo(req, h, &f))
            return;
    }
    byte_range br;
    unsigned status;
    if (apply_range(req, f.size, &br, &status) < 0)
        return;
    store_stream *s = calloc(1, sizeof *s);
    if (!s) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    s->h = h;
    s->file = f.xet_hash;
    s->base = br.start;
    s->len = br.len;
    weft_http_respond_stream(req, status, "application/octet-stream", br.len, store_stream_read, s,
                             store_stream_free);
}

void hf_resolve(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    int raw = strcmp(rt->extra, "raw") == 0;
    rt->extra = NULL;
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid commit;
    if (hub_resolve_rev(req, &r, rt->rev, &commit, NULL, 0) < 0) {
        hub_repo_close(&r);
        return;
    }
    char sha[41];
    weft_oid_to_hex(sha, &commit);
    weft_http_resp_header(req, "X-Repo-Commit", sha);
    weft_repo_entry e;
    int rc = weft_repo_path_valid(rt->path) ? weft_repo_stat(r.git, &commit, rt->path, &e)
                                            : WEFT_ENOTFOUND;
    if (rc == WEFT_ENOTFOUND || (rc == 0 && e.is_dir)) {
        weft_http_respond_error(req, 404, "EntryNotFound",
                                "Entry not found: %s does not exist "
                                "at %s",
                                rt->path, sha);
    } else if (rc < 0) {
        hub_respond_rc(req, rc);
    } else if (e.is_lfs && !raw) {
        hub_delta_announce(req, rt->h, &r, &commit, &e);
        hub_serve_lfs_object(req, rt->h, e.lfs_sha256);
    } else {
        serve_blob(req, &r, &e);
    }
    hub_repo_close(&r);
}
