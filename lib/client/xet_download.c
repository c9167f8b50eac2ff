/* Xet downloads: reconstruction, chunk cache, one ranged fetch per entry for the missing chunks,
 * decode while receiving, pwrite the terms (include/weft/xet_download.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/fsutil.h"
#include "weft/xet_download.h"
#include "weft/xet_recon.h"
#include "weft/xorb.h"

#define XD_DEFAULT_PARALLEL 4
#define XD_MAX_PARALLEL 16
#define XD_RECON_CAP (256u << 20)
#define XD_PENDING_CAP (WEFT_XORB_CHUNK_HEADER_LEN + WEFT_XORB_MAX_COMPRESSED_LEN)

typedef struct xd_job {
    weft_client *c;
    weft_chunk_cache *cache;
    weft_progress_bar *bar;
    sem_t *inflight;
    int fd;
    uint64_t start, end;
    weft_xet_recon recon;
    pthread_mutex_t lock;
    size_t next;
    int rc;
    char msg[512];
    weft_xet_download_stats st;
} xd_job;

/* Per-worker scratch, reused across entries: fresh pages are what costs, not copies. */
typedef struct xd_scratch {
    uint8_t *raw;     /* WEFT_XET_MAX_CHUNK_LEN: one decoded or cached chunk */
    uint8_t *pending; /* XD_PENDING_CAP: one chunk as it arrives */
} xd_scratch;

/* One fetch entry being handled. Chunk j (entry-relative) is chunk e->a + j of the xorb. */
typedef struct xd_run {
    xd_job *j;
    const weft_xet_recon_entry *e;
    size_t idx; /* of e in j->recon.entries */
    xd_scratch *sc;
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_chunk *meta; /* [n]: raw_len, phys_len, hash (data unused) */
    uint8_t *held;        /* [n]: in the cache */
    uint64_t *prefix;     /* [n + 1]: raw offset of chunk j in the entry, valid to `known` */
    uint32_t n, known;
    size_t *tl; /* the terms inside this entry */
    size_t n_tl;
    weft_chunk_cache_writer *w; /* the piece being stored, or NULL */
} xd_run;

/* Receives fetched chunk bytes and hands each chunk on as soon as it is complete. */
typedef struct xd_decoder {
    xd_run *r;
    uint32_t idx, end;     /* entry-relative: next chunk expected, end of the fetched range */
    size_t pend_len, need; /* need: 8 until the header is read, then 8 + payload */
} xd_decoder;

static void xd_count(xd_job *j, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&j->lock);
    *field += n;
    pthread_mutex_unlock(&j->lock);
}

/* pwrite of the part of [pos, pos + len) that lies in [start, end). */
static int xd_write(xd_job *j, const uint8_t *p, uint64_t len, uint64_t pos)
{
    uint64_t lo = pos > j->start ? pos : j->start;
    uint64_t hi = pos + len < j->end ? pos + len : j->end;
    if (lo >= hi)
        return 0;
    uint64_t done = hi - lo;
    int rc = weft_fs_pwrite_full(j->fd, p + (lo - pos), (size_t)done, lo, "the download");
    if (rc < 0)
        return rc;
    xd_count(j, &j->st.written_bytes, done);
    weft_progress_advance(j->bar, done);
    return 0;
}

/* Writes chunk j (its prefix known) wherever the entry's terms use it. */
static int xd_emit(xd_run *r, uint32_t j, const uint8_t *data, uint32_t len)
{
    uint32_t i = r->e->a + j;
    for (size_t k = 0; k < r->n_tl; k++) {
        const weft_xet_recon_term *t = &r->j->recon.terms[r->tl[k]];
        if (i < t->a || i >= t->b)
            continue;
        uint64_t in = r->prefix[j] - r->prefix[t->a - r->e->a];
        if (in + len > t->raw_len)
            return weft_err_set(WEFT_ECORRUPT,
                                "xorb %s chunks [%u, %u): more than the %llu bytes the "
                                "reconstruction says",
                                r->hex, t->a, t->b, (unsigned long long)t->raw_len);
        int rc = xd_write(r->j, data, len, t->file_pos + in);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A chunk decoded from the CAS: record it, write it, store it. */
static int xd_got_chunk(xd_run *r, uint32_t j, const uint8_t *data, uint32_t raw, uint32_t phys)
{
    if (j == r->known) {
        r->prefix[j + 1] = r->prefix[j] + raw;
        r->known++;
    } else if (j > r->known || r->prefix[j + 1] - r->prefix[j] != raw) {
        return weft_err_set(
            WEFT_ECORRUPT, "xorb %s chunk %u: %u bytes, %llu before", r->hex, r->e->a + j, raw,
            (unsigned long long)(j < r->known ? r->prefix[j + 1] - r->prefix[j] : 0));
    }
    weft_xet_chunk *m = &r->meta[j];
    m->raw_len = raw;
    m->phys_len = phys;
    weft_xet_chunk_hash(&m->hash, data, raw);
    int rc = xd_emit(r, j, data, raw);
    if (rc < 0)
        return rc;
    if (r->w) {
        weft_xet_chunk c = *m;
        c.data = (uint8_t *)data;
        if (weft_chunk_cache_writer_add(r->w, &c) < 0) {
            /* best effort: the download goes on without storing this piece */
            if (weft_chunk_cache_writer_close(r->w) < 0)
                weft_err_clear();
            r->w = NULL;
            weft_err_clear();
        }
    }
    return 0;
}

static int xd_sink(const uint8_t *data, size_t len, void *payload)
{
    xd_decoder *d = payload;
    xd_run *r = d->r;
    uint8_t *pend = r->sc->pending;
    while (len > 0) {
        size_t take = d->need - d->pend_len;
        if (take > len)
            take = len;
        memcpy(pend + d->pend_len, data, take);
        d->pend_len += take;
        data += take;
        len -= take;
        if (d->pend_len < d->need)
            break;
        weft_xorb_chunk_header h;
        int rc = weft_xorb_chunk_header_parse(&h, pend, d->pend_len);
        if (rc < 0)
            return weft_err_wrap(rc, "xorb %s chunk %u", r->hex, r->e->a + d->idx);
        if (d->need == WEFT_XORB_CHUNK_HEADER_LEN) {
            d->need = WEFT_XORB_CHUNK_HEADER_LEN + h.compressed_len;
            if (d->pend_len < d->need)
                continue;
        }
        if (d->idx >= d->end)
            return weft_err_set(WEFT_ECORRUPT, "xorb %s: the CAS sent bytes past chunk %u", r->hex,
                                r->e->a + d->end);
        size_t raw_len = 0;
        rc =
            weft_xorb_chunk_decode(r->sc->raw, WEFT_XET_MAX_CHUNK_LEN, &raw_len, pend, d->pend_len);
        if (rc < 0)
            return weft_err_wrap(rc, "xorb %s chunk %u", r->hex, r->e->a + d->idx);
        rc = xd_got_chunk(r, d->idx, r->sc->raw, (uint32_t)raw_len, (uint32_t)d->pend_len);
        if (rc < 0)
            return rc;
        d->idx++;
        d->pend_len = 0;
        d->need = WEFT_XORB_CHUNK_HEADER_LEN;
    }
    return 0;
}

/* Fetches entry chunks [m0, m1) as one byte range (offsets from the stored lengths of the
 * chunks around it), writing and storing each chunk as it arrives. */
static int xd_fetch(xd_run *r, uint32_t m0, uint32_t m1)
{
    const weft_xet_recon_entry *e = r->e;
    uint64_t bs = e->ua, be = e->ub;
    for (uint32_t i = 0; i < m0; i++)
        bs += r->meta[i].phys_len;
    for (uint32_t i = m1; i < r->n; i++)
        be -= r->meta[i].phys_len;
    if (bs > be || be > e->ub)
        return weft_err_set(WEFT_ECORRUPT,
                            "xorb %s: cached chunk lengths disagree with the fetch range", r->hex);
    xd_decoder d = {.r = r, .idx = m0, .end = m1, .need = WEFT_XORB_CHUNK_HEADER_LEN};
    if (r->j->cache &&
        weft_chunk_cache_writer_open(&r->w, r->j->cache, &e->xorb, e->a + m0, m1 - m0) < 0) {
        r->w = NULL; /* best effort */
        weft_err_clear();
    }
    weft_client_resp resp;
    weft_client_req req;
    weft_client_req_init(&req, "GET", e->url);
    int whole = bs == e->ua && be == e->ub;
    if (!whole) {
        req.has_range = 1;
        req.range_start = bs;
        req.range_end = be;
    }
    req.sink = xd_sink;
    req.sink_payload = &d;
    int rc = weft_client_send(r->j->c, &resp, &req);
    xd_count(r->j, &r->j->st.n_fetches, 1);
    xd_count(r->j, &r->j->st.cas_bytes, resp.bytes_received);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, "xet fetch");
    if (rc < 0)
        goto out;
    if (!whole && resp.status != 206) {
        rc = weft_err_set(WEFT_EINVALID, "xet fetch of xorb %s: asked for bytes %llu-%llu, got %ld",
                          r->hex, (unsigned long long)bs, (unsigned long long)be, resp.status);
        goto out;
    }
    if (resp.bytes_received != be - bs + 1 || d.idx != m1 || d.pend_len != 0) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "xet fetch of xorb %s: %llu bytes for chunks [%u, %u) end at chunk %u "
                          "(expected %llu bytes ending on a chunk boundary)",
                          r->hex, (unsigned long long)resp.bytes_received, e->a + m0, e->a + m1,
                          e->a + d.idx, (unsigned long long)(be - bs + 1));
        goto out;
    }
out:
    weft_client_resp_dispose(&resp);
    if (r->w) {
        /* published only when every chunk arrived; discarded otherwise */
        if (weft_chunk_cache_writer_close(r->w) < 0 && rc == 0)
            weft_err_clear();
        r->w = NULL;
    }
    return rc;
}

static void xd_run_dispose(xd_run *r)
{
    free(r->meta);
    free(r->held);
    free(r->prefix);
    free(r->tl);
}

static int xd_entry_run(xd_job *j, size_t idx, xd_scratch *sc)
{
    const weft_xet_recon_entry *e = &j->recon.entries[idx];
    xd_run r = {.j = j, .e = e, .idx = idx, .sc = sc, .n = e->b - e->a};
    weft_chunk_cache_view *view = NULL;
    weft_xet_hash_to_hex(r.hex, &e->xorb);
    r.meta = calloc(r.n, sizeof *r.meta);
    r.held = calloc(r.n, 1);
    r.prefix = calloc((size_t)r.n + 1, sizeof *r.prefix);
    r.tl = calloc(j->recon.n_terms ? j->recon.n_terms : 1, sizeof *r.tl);
    int rc = 0;
    if (!r.meta || !r.held || !r.prefix || !r.tl) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t t = 0; t < j->recon.n_terms; t++)
        if (j->recon.terms[t].entry == idx)
            r.tl[r.n_tl++] = t;
    if (j->cache) {
        if (weft_chunk_cache_view_open(&view, j->cache, r.meta, r.held, &e->xorb, e->a, r.n) < 0)
            weft_err_clear(); /* a cache that cannot be read is a miss */
    }
    uint32_t m0 = 0, m1 = r.n; /* the missing chunks lie in [m0, m1) */
    while (m0 < r.n && r.held[m0])
        m0++;
    while (m1 > m0 && r.held[m1 - 1])
        m1--;
    for (uint32_t i = 0; i < m0; i++)
        r.prefix[i + 1] = r.prefix[i] + r.meta[i].raw_len;
    r.known = m0;
    if (m0 < m1) {
        rc = xd_fetch(&r, m0, m1);
        if (rc < 0)
            goto out;
    }
    for (uint32_t i = m1; i < r.n; i++)
        r.prefix[i + 1] = r.prefix[i] + r.meta[i].raw_len;
    r.known = r.n;
    /* The cached chunks, each re-hashed as it is read. */
    uint64_t cached = 0;
    uint32_t b0 = r.n, b1 = 0;
    for (uint32_t i = 0; i < r.n; i++) {
        if (!r.held[i] || (i >= m0 && i < m1))
            continue;
        if (weft_chunk_cache_view_read(view, e->a + i, sc->raw) < 0) {
            weft_err_clear();
            continue;
        }
        rc = xd_emit(&r, i, sc->raw, r.meta[i].raw_len);
        if (rc < 0)
            goto out;
        cached += r.meta[i].raw_len;
    }
    /* Chunks of a damaged piece (deleted now): fetch them again, which also stores them anew. */
    for (uint32_t i = 0; view && i < r.n; i++) {
        if ((i < m0 || i >= m1) && weft_chunk_cache_view_dropped(view, e->a + i)) {
            b0 = i < b0 ? i : b0;
            b1 = i + 1;
        }
    }
    if (b0 < b1) {
        rc = xd_fetch(&r, b0, b1);
        if (rc < 0)
            goto out;
    }
    xd_count(j, &j->st.cache_bytes, cached);
    for (size_t k = 0; k < r.n_tl; k++) {
        const weft_xet_recon_term *t = &j->recon.terms[r.tl[k]];
        uint64_t sum = r.prefix[t->b - e->a] - r.prefix[t->a - e->a];
        if (sum != t->raw_len) {
            rc = weft_err_set(
                WEFT_ECORRUPT, "xorb %s chunks [%u, %u): %llu bytes, the reconstruction says %llu",
                r.hex, t->a, t->b, (unsigned long long)sum, (unsigned long long)t->raw_len);
            goto out;
        }
    }
out:
    xd_count(j, &j->st.n_corrupt, weft_chunk_cache_view_n_dropped(view));
    weft_chunk_cache_view_close(view);
    xd_run_dispose(&r);
    return rc;
}

static void xd_fail(xd_job *j, int rc)
{
    pthread_mutex_lock(&j->lock);
    if (j->rc == 0) {
        j->rc = rc;
        snprintf(j->msg, sizeof j->msg, "%s", weft_err_last());
    }
    pthread_mutex_unlock(&j->lock);
}

static void *xd_worker(void *arg)
{
    xd_job *j = arg;
    xd_scratch sc = {malloc(WEFT_XET_MAX_CHUNK_LEN), malloc(XD_PENDING_CAP)};
    if (!sc.raw || !sc.pending) {
        xd_fail(j, weft_err_set(WEFT_ENOMEM, "out of memory"));
        goto out;
    }
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t k = j->rc < 0 ? j->recon.n_entries : j->next++;
        pthread_mutex_unlock(&j->lock);
        if (k >= j->recon.n_entries)
            break;
        if (j->inflight)
            while (sem_wait(j->inflight) != 0) {
                /* EINTR: wait again */
            }
        int rc = xd_entry_run(j, k, &sc);
        if (j->inflight)
            sem_post(j->inflight);
        if (rc < 0) {
            xd_fail(j, rc);
            break;
        }
    }
out:
    free(sc.raw);
    free(sc.pending);
    return NULL;
}

/* One pass: the reconstruction, then every entry on the workers. */
static int xd_pass(xd_job *j, weft_xet_session *s, const char *file_hash_hex, uint64_t file_size,
                   int n_parallel)
{
    weft_client_resp resp;
    char path[128];
    snprintf(path, sizeof path, "/v1/reconstructions/%s", file_hash_hex);
    weft_client_req req;
    weft_client_req_init(&req, "GET", path);
    if (j->start > 0 || j->end < file_size) {
        req.has_range = 1;
        req.range_start = j->start;
        req.range_end = j->end - 1;
    }
    req.body_cap = XD_RECON_CAP;
    int rc = weft_xet_session_send(s, &resp, &req);
    j->st.meta_bytes += resp.bytes_received;
    if (rc == 0)
        rc = weft_client_resp_check(&resp, "xet reconstruction");
    if (rc < 0)
        goto out;
    rc = weft_xet_recon_parse(&j->recon, (const char *)resp.body.data, resp.body.len, j->start,
                              j->end);
    if (rc < 0)
        goto out;
    int n = n_parallel > 0 ? n_parallel : XD_DEFAULT_PARALLEL;
    if (n > XD_MAX_PARALLEL)
        n = XD_MAX_PARALLEL;
    if ((size_t)n > j->recon.n_entries)
        n = (int)j->recon.n_entries;
    pthread_t th[XD_MAX_PARALLEL];
    int started = 0;
    for (int i = 1; i < n; i++) {
        if (pthread_create(&th[started], NULL, xd_worker, j) != 0)
            break; /* fewer workers still finish the job */
        started++;
    }
    xd_worker(j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (j->rc < 0)
        rc = weft_err_set(j->rc, "%s", j->msg);
out:
    weft_client_resp_dispose(&resp);
    weft_xet_recon_dispose(&j->recon); /* after the workers: the entries' URLs point into it */
    return rc;
}

int weft_xet_download(weft_xet_download_stats *stats, weft_client *c, weft_xet_session *s,
                      const char *file_hash_hex, uint64_t file_size, int fd,
                      const weft_xet_download_opts *opts)
{
    weft_xet_download_opts defaults = {0};
    const weft_xet_download_opts *o = opts ? opts : &defaults;
    xd_job j = {.c = c,
                .cache = o->cache,
                .bar = o->bar,
                .inflight = o->inflight,
                .fd = fd,
                .start = o->range_start};
    j.end = o->range_end ? o->range_end : file_size;
    pthread_mutex_init(&j.lock, NULL);
    int rc = 0;
    weft_hash fh;
    if (weft_xet_hash_from_hex(&fh, file_hash_hex, strlen(file_hash_hex)) < 0) {
        rc = weft_err_set(WEFT_EINVALID, "bad xet file hash '%.80s'", file_hash_hex);
        goto out;
    }
    if (j.end > file_size || j.start > j.end) {
        rc = weft_err_set(WEFT_EINVALID, "bytes %llu-%llu are outside the %llu-byte file",
                          (unsigned long long)j.start, (unsigned long long)j.end,
                          (unsigned long long)file_size);
        goto out;
    }
    if (j.start == j.end)
        goto out;
    rc = xd_pass(&j, s, file_hash_hex, file_size, o->n_parallel);
    if (rc == WEFT_EAUTH && j.st.n_fetches > 0) {
        /* A fetch URL expired (they live an hour): a fresh reconstruction signs new ones, and
         * what arrived before is in the chunk cache. */
        j.rc = 0;
        j.next = 0;
        weft_progress_set(j.bar, 0);
        rc = xd_pass(&j, s, file_hash_hex, file_size, o->n_parallel);
    }
out:
    pthread_mutex_destroy(&j.lock);
    if (stats)
        *stats = j.st;
    return rc;
}

/* ---- the fetcher of `weft download` ---------------------------------------------------------- */

#define XF_MAX_SESSIONS 16
#define XF_INFLIGHT 6 /* entries in flight across the files of one run */

struct weft_xet_fetcher {
    weft_chunk_cache *cache;
    sem_t inflight;
    pthread_mutex_t lock;
    char *urls[XF_MAX_SESSIONS];
    weft_xet_session *sessions[XF_MAX_SESSIONS];
    size_t n_sessions;
    weft_xet_download_stats st;
    uint64_t n_files;
};

int weft_xet_fetcher_new(weft_xet_fetcher **out, const char *cache_dir, uint64_t cache_max)
{
    *out = NULL;
    weft_xet_fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    if (cache_dir) {
        int rc = weft_chunk_cache_open(&f->cache, cache_dir, cache_max);
        if (rc < 0) {
            free(f);
            return rc;
        }
    }
    pthread_mutex_init(&f->lock, NULL);
    sem_init(&f->inflight, 0, XF_INFLIGHT);
    *out = f;
    return 0;
}

void weft_xet_fetcher_free(weft_xet_fetcher *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_sessions; i++) {
        weft_xet_session_free(f->sessions[i]);
        free(f->urls[i]);
    }
    weft_chunk_cache_close(f->cache);
    pthread_mutex_destroy(&f->lock);
    sem_destroy(&f->inflight);
    free(f);
}

/* The session of token route `url`, opened on first use; borrowed until the fetcher is freed. */
static int xf_session(weft_xet_session **out, weft_xet_fetcher *f, weft_client *c, const char *url)
{
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_sessions && !*out; i++)
        if (strcmp(f->urls[i], url) == 0)
            *out = f->sessions[i];
    if (*out)
        goto out;
    weft_xet_session *s = NULL;
    rc = weft_xet_session_open(&s, c, NULL, NULL, 0, url);
    if (rc < 0)
        goto out;
    char *u = f->n_sessions < XF_MAX_SESSIONS ? strdup(url) : NULL;
    if (!u) {
        weft_xet_session_free(s);
        rc = f->n_sessions < XF_MAX_SESSIONS
                 ? weft_err_set(WEFT_ENOMEM, "out of memory")
                 : weft_err_set(WEFT_ELIMIT, "more than %d Xet token routes in one run",
                                XF_MAX_SESSIONS);
        goto out;
    }
    f->urls[f->n_sessions] = u;
    f->sessions[f->n_sessions++] = s;
    *out = s;
out:
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int weft_xet_fetcher_fetch(weft_client *c, const weft_download_blob *blob, int fd,
                           weft_progress_bar *bar, void *payload)
{
    weft_xet_fetcher *f = payload;
    if (!blob->xet_hash || !blob->xet_refresh_url)
        return weft_err_set(WEFT_ENOTFOUND, "%s: no Xet token route", blob->path);
    weft_xet_session *s = NULL;
    int rc = xf_session(&s, f, c, blob->xet_refresh_url);
    if (rc == WEFT_EAUTH || rc == WEFT_ELIMIT)
        rc = WEFT_ENOTFOUND; /* plain HTTP may still be allowed */
    if (rc < 0)
        return rc;
    weft_xet_download_opts o = {.cache = f->cache, .bar = bar, .inflight = &f->inflight};
    weft_xet_download_stats st;
    rc = weft_xet_download(&st, c, s, blob->xet_hash, blob->size, fd, &o);
    pthread_mutex_lock(&f->lock);
    f->st.cas_bytes += st.cas_bytes;
    f->st.cache_bytes += st.cache_bytes;
    f->st.meta_bytes += st.meta_bytes;
    f->st.written_bytes += st.written_bytes;
    f->st.n_fetches += st.n_fetches;
    f->st.n_corrupt += st.n_corrupt;
    f->n_files += rc == 0;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

void weft_xet_fetcher_stats(weft_xet_fetcher *f, weft_xet_download_stats *out, uint64_t *n_files)
{
    pthread_mutex_lock(&f->lock);
    *out = f->st;
    if (n_files)
        *n_files = f->n_files;
    pthread_mutex_unlock(&f->lock);
}
