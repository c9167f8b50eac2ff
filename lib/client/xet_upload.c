/* Xet uploads of large files (docs/http-api.md "Xet CAS", specs/xet-storage.md §1.3–1.6).
 *
 * Each file is read once on one worker thread: its SHA-256 and its chunks (weft_chunker). A chunk
 * is either referenced where it already is — in a xorb this upload packed (the session map), or
 * in a xorb a global dedup answer listed (asked for every key chunk: the file's first chunk and
 * chunks whose hash is ≡ 0 mod 1024) — or added to the worker's xorb builder, which is POSTed
 * when full and at the end of the file (sent by a helper thread while the next one fills). Xorbs
 * the server accepted are recorded with their chunk hashes in a file under the chunk cache keyed
 * by the CAS URL, so a re-run after an interruption references their chunks instead of sending
 * them again; if the server refuses the shard because it lost such a xorb, the record is dropped
 * and everything is sent once more. When every worker is done,
 * the files' reconstructions (terms merged over consecutive chunks of one xorb, verification
 * hashes, SHA-256 metadata extension) go to the server in shards. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload_internal.h"
#include "weft/chunker.h"
#include "weft/fsutil.h"
#include "weft/log.h"
#include "weft/sha256.h"
#include "weft/xorb.h"

#define XET_KEY_CHUNK_MOD 1024u /* specs/xet-storage.md §1.6: global dedup eligibility */
#define XET_SHARD_FILES 20000u  /* files per shard: far below the 64 MiB shard bound */
#define XET_MAX_ANSWERS 4096u

/* ---- a hash map of chunk hash → place ------------------------------------------------------- */

typedef struct chunk_place {
    weft_hash key; /* chunk hash (HMAC-ed in dedup answers) */
    int32_t slot;  /* ≥ 0: xorb slot of this upload; -1: `xorb` */
    uint32_t idx;  /* chunk index in the xorb */
    weft_hash xorb;
    int used;
} chunk_place;

typedef struct chunk_map {
    chunk_place *e;
    size_t cap, n; /* cap a power of two */
} chunk_map;

static size_t map_home(const chunk_map *m, const weft_hash *h)
{
    uint64_t v;
    memcpy(&v, h->b, sizeof v);
    return (size_t)(v * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
}

static const chunk_place *map_get(const chunk_map *m, const weft_hash *h)
{
    if (m->n == 0)
        return NULL;
    for (size_t i = map_home(m, h);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].used)
            return NULL;
        if (weft_hash_eq(&m->e[i].key, h))
            return &m->e[i];
    }
}

static int map_put(chunk_map *m, const chunk_place *p)
{
    if ((m->n + 1) * 2 > m->cap) {
        chunk_map g = {.cap = m->cap ? m->cap * 2 : 1024};
        g.e = calloc(g.cap, sizeof *g.e);
        if (!g.e)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].used)
                (void)map_put(&g, &m->e[i]);
        free(m->e);
        *m = g;
    }
    size_t i = map_home(m, &p->key);
    while (m->e[i].used) {
        if (weft_hash_eq(&m->e[i].key, &p->key))
            return 0; /* first place wins */
        i = (i + 1) & (m->cap - 1);
    }
    m->e[i] = *p;
    m->e[i].used = 1;
    m->n++;
    return 0;
}

/* ---- the run's shared state ----------------------------------------------------------------- */

typedef struct dedup_answer {
    uint8_t key[32];
    chunk_map map;
} dedup_answer;

typedef struct xet_run {
    weft_upload__ctx *u;
    weft_xet_session *s;
    const size_t *idx;
    pthread_mutex_t mu; /* guards everything below */
    chunk_map session;  /* chunks packed by this upload */
    chunk_map queried;  /* key chunks already asked about */
    dedup_answer *answers;
    size_t n_answers;
    weft_hash *slots; /* xorb hashes by slot (known once finished) */
    size_t n_slots, cap_slots;
    chunk_map accepted; /* xorbs the server already accepted (local record), by hash */
    chunk_map known;    /* their chunks: chunk hash → (xorb, index) */
    char *record_path;  /* NULL: no record */
    FILE *record;
    _Atomic size_t n_skipped; /* chunks and xorbs not sent because the record names them */
} xet_run;

/* One chunk of a file, in order. */
typedef struct chunk_ref {
    weft_hash hash;
    uint32_t len;
    int32_t slot; /* ≥ 0: xorb slot; -1: xorb */
    uint32_t idx;
    weft_hash xorb;
} chunk_ref;

/* A xorb being POSTed by its own thread while the worker fills the other builder. */
typedef struct xorb_send {
    xet_run *r;
    weft_xorb_built built;
    pthread_t tid;
    int running;
    int rc;
    char msg[512];
} xorb_send;

/* A worker's state while it reads one file: two builders, one filling while the other's xorb is
 * being sent, so chunking overlaps the transfer and the server's checks. */
typedef struct xet_file {
    xet_run *r;
    weft_upload__file *f;
    weft_xorb_builder *bs[2];
    weft_xorb_builder *b; /* bs[cur] */
    int cur;
    xorb_send send;
    int32_t slot; /* slot of the builder's xorb; -1 while empty */
    chunk_ref *refs;
    size_t n_refs, cap_refs;
} xet_file;

/* ---- local record of accepted xorbs --------------------------------------------------------- */

/* The record is binary and append-only: per xorb the server accepted, its hash, a u32 LE chunk
 * count and the chunk hashes. A re-run loads it into r->known, so chunks of those xorbs are
 * referenced where they are instead of being packed and sent again. A torn last entry (the
 * process was killed mid-write) is ignored; a record over RECORD_MAX starts afresh. */
#define RECORD_MAX ((size_t)64 << 20)

static void record_load(xet_run *r, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= WEFT_HASH_LEN + 4) {
        weft_hash xorb;
        memcpy(xorb.b, p + off, WEFT_HASH_LEN);
        uint32_t n = weft_load_u32le(p + off + WEFT_HASH_LEN);
        off += WEFT_HASH_LEN + 4;
        if (n == 0 || n > WEFT_XORB_MAX_CHUNKS || (len - off) / WEFT_HASH_LEN < n)
            return;
        chunk_place x = {.key = xorb, .slot = -1};
        if (map_put(&r->accepted, &x) < 0)
            return;
        for (uint32_t k = 0; k < n; k++, off += WEFT_HASH_LEN) {
            chunk_place c = {.slot = -1, .idx = k, .xorb = xorb};
            memcpy(c.key.b, p + off, WEFT_HASH_LEN);
            if (map_put(&r->known, &c) < 0)
                return;
        }
    }
}

/* Opens the record of xorbs accepted by this CAS; `reset` empties it first. Best effort: without
 * a record an interrupted upload just sends more when run again. */
static void record_open(xet_run *r, int reset)
{
    const weft_client_config *cfg = weft_client_config_get(r->u->c);
    if (!cfg || !cfg->chunk_cache)
        return;
    const char *cas = weft_xet_session_cas_url(r->s);
    uint8_t d[32];
    char hex[65];
    if (weft_sha256_oneshot(d, cas, strlen(cas)) < 0)
        return;
    weft_hex_encode(hex, d, 16);
    size_t n = strlen(cfg->chunk_cache) + 64;
    char *dir = malloc(n), *path = malloc(n + 40);
    if (!dir || !path || snprintf(dir, n, "%s/uploaded", cfg->chunk_cache) < 0 ||
        weft_fs_mkdirs(dir) < 0) {
        free(dir);
        free(path);
        return;
    }
    snprintf(path, n + 40, "%s/%s.xorbs", dir, hex);
    free(dir);
    weft_buf old;
    weft_buf_init(&old, RECORD_MAX);
    int fresh = reset || weft_fs_read_file(&old, path) < 0;
    if (!fresh)
        record_load(r, old.data, old.len);
    weft_buf_dispose(&old);
    r->record = fopen(path, fresh ? "w" : "a");
    r->record_path = path;
}

static int xorb_accepted(xet_run *r, const weft_hash *h)
{
    pthread_mutex_lock(&r->mu);
    int yes = map_get(&r->accepted, h) != NULL;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

static void xorb_record(xet_run *r, const weft_xorb_built *x)
{
    uint8_t head[WEFT_HASH_LEN + 4];
    memcpy(head, x->hash.b, WEFT_HASH_LEN);
    weft_store_u32le(head + WEFT_HASH_LEN, x->footer->n_chunks);
    pthread_mutex_lock(&r->mu);
    if (r->record) {
        fwrite(head, 1, sizeof head, r->record);
        fwrite(x->footer->chunk_hashes, WEFT_HASH_LEN, x->footer->n_chunks, r->record);
        fflush(r->record);
    }
    chunk_place p = {.key = x->hash, .slot = -1};
    (void)map_put(&r->accepted, &p);
    pthread_mutex_unlock(&r->mu);
}

/* ---- xorbs ---------------------------------------------------------------------------------- */

static int xorb_post(xet_run *r, const weft_xorb_built *x)
{
    if (xorb_accepted(r, &x->hash)) {
        atomic_fetch_add(&r->n_skipped, 1);
        atomic_fetch_add(&r->u->bytes_deduped, x->raw_len);
        return 0;
    }
    char hex[WEFT_HASH_HEX_LEN + 1], url[128];
    weft_xet_hash_to_hex(hex, &x->hash);
    snprintf(url, sizeof url, "/v1/xorbs/default/%s", hex);
    weft_client_req req;
    weft_client_req_init(&req, "POST", url);
    req.body = x->bytes;
    req.body_len = x->data_len;
    req.content_type = "application/octet-stream";
    weft_client_resp resp;
    int rc = weft_xet_session_send(r->s, &resp, &req);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, "xorb upload");
    weft_client_resp_dispose(&resp);
    if (rc < 0)
        return rc;
    atomic_fetch_add(&r->u->bytes_sent, x->data_len);
    xorb_record(r, x);
    return 0;
}

static void *xorb_send_main(void *arg)
{
    xorb_send *x = arg;
    x->rc = xorb_post(x->r, &x->built);
    if (x->rc < 0)
        snprintf(x->msg, sizeof x->msg, "%s", weft_err_last());
    return NULL;
}

/* Waits for the xorb in flight, if any; its error becomes ours. */
static int xfile_join(xet_file *xf)
{
    if (!xf->send.running)
        return 0;
    pthread_join(xf->send.tid, NULL);
    xf->send.running = 0;
    weft_xorb_builder_reset(xf->bs[1 - xf->cur]);
    weft_xorb_builder_file_start(xf->bs[1 - xf->cur]);
    if (xf->send.rc < 0)
        return weft_err_set(xf->send.rc, "%s", xf->send.msg);
    return 0;
}

/* Finishes the worker's xorb, if it has chunks, and starts sending it; the worker goes on with
 * the other builder once the xorb sent before this one is through. */
static int xfile_flush(xet_file *xf)
{
    if (xf->slot < 0)
        return 0;
    weft_xorb_built built;
    int rc = weft_xorb_builder_finish(xf->b, &built);
    if (rc == 0) {
        pthread_mutex_lock(&xf->r->mu);
        xf->r->slots[xf->slot] = built.hash;
        pthread_mutex_unlock(&xf->r->mu);
    }
    int jrc = xfile_join(xf);
    if (rc == 0)
        rc = jrc;
    xf->slot = -1;
    if (rc < 0)
        return rc;
    xf->send = (xorb_send){.r = xf->r, .built = built};
    if (pthread_create(&xf->send.tid, NULL, xorb_send_main, &xf->send) == 0) {
        xf->send.running = 1;
    } else { /* no thread: send it here */
        rc = xorb_post(xf->r, &built);
        weft_xorb_builder_reset(xf->b);
        weft_xorb_builder_file_start(xf->b);
        return rc;
    }
    xf->cur = 1 - xf->cur;
    xf->b = xf->bs[xf->cur];
    return 0;
}

static int slot_new(xet_run *r, int32_t *out)
{
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    if (r->n_slots == r->cap_slots) {
        size_t cap = r->cap_slots ? r->cap_slots * 2 : 64;
        weft_hash *s = realloc(r->slots, cap * sizeof *s);
        if (!s)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        else {
            r->slots = s;
            r->cap_slots = cap;
        }
    }
    if (rc == 0) {
        memset(&r->slots[r->n_slots], 0, sizeof r->slots[0]);
        *out = (int32_t)r->n_slots++;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* ---- global dedup --------------------------------------------------------------------------- */

/* Asks the server about a key chunk once per run; a 200 answer's xorbs join the answers. */
static int dedup_ask(xet_run *r, const weft_hash *h)
{
    chunk_place q = {.key = *h, .slot = -1};
    pthread_mutex_lock(&r->mu);
    int asked = map_get(&r->queried, h) != NULL || r->n_answers >= XET_MAX_ANSWERS;
    int rc = asked ? 0 : map_put(&r->queried, &q);
    pthread_mutex_unlock(&r->mu);
    if (asked || rc < 0)
        return rc;
    char hex[WEFT_HASH_HEX_LEN + 1], url[128];
    weft_xet_hash_to_hex(hex, h);
    snprintf(url, sizeof url, "/v1/chunks/default/%s", hex);
    weft_client_req req;
    weft_client_req_init(&req, "GET", url);
    weft_client_resp resp;
    rc = weft_xet_session_send(r->s, &resp, &req);
    if (rc == 0 && resp.status == 404) {
        weft_client_resp_dispose(&resp);
        return 0;
    }
    if (rc == 0)
        rc = weft_client_resp_check(&resp, "dedup query");
    weft_shard *sh = NULL;
    if (rc == 0)
        rc = weft_shard_parse(&sh, resp.body.data, resp.body.len);
    weft_client_resp_dispose(&resp);
    if (rc < 0) {
        weft_shard_free(sh);
        return rc;
    }
    dedup_answer a = {0};
    memcpy(a.key, sh->footer.hmac_key, 32);
    for (uint32_t x = 0; rc == 0 && x < sh->n_xorbs; x++)
        for (uint32_t k = 0; rc == 0 && k < sh->xorbs[x].n_chunks; k++) {
            chunk_place p = {.key = sh->xorbs[x].chunks[k].hash,
                             .slot = -1,
                             .idx = k,
                             .xorb = sh->xorbs[x].hash};
            rc = map_put(&a.map, &p);
        }
    weft_shard_free(sh);
    pthread_mutex_lock(&r->mu);
    dedup_answer *grown = rc == 0 ? realloc(r->answers, (r->n_answers + 1) * sizeof *grown) : NULL;
    if (grown) {
        r->answers = grown;
        r->answers[r->n_answers++] = a;
    }
    pthread_mutex_unlock(&r->mu);
    if (!grown) {
        free(a.map.e);
        return rc < 0 ? rc : weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    return 0;
}

/* Where chunk h already is, if anywhere: the session map, the record, then the dedup answers. */
static int dedup_find(xet_run *r, const weft_hash *h, chunk_place *out)
{
    int found = 0;
    pthread_mutex_lock(&r->mu);
    const chunk_place *p = map_get(&r->session, h);
    if (!p) {
        p = map_get(&r->known, h);
        if (p)
            atomic_fetch_add(&r->n_skipped, 1);
    }
    if (p) {
        *out = *p;
        found = 1;
    }
    for (size_t i = 0; !found && i < r->n_answers; i++) {
        weft_hash k = *h;
        int zero = 1;
        for (int j = 0; j < 32 && zero; j++)
            zero = r->answers[i].key[j] == 0;
        if (!zero)
            weft_xet_hmac(&k, h, r->answers[i].key);
        p = map_get(&r->answers[i].map, &k);
        if (p) {
            *out = *p;
            found = 1;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* ---- one file ------------------------------------------------------------------------------- */

static int xfile_chunk(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    xet_file *xf = payload;
    xet_run *r = xf->r;
    int rc = 0;
    if (xf->n_refs == xf->cap_refs) {
        size_t cap = xf->cap_refs ? xf->cap_refs * 2 : 256;
        chunk_ref *g = realloc(xf->refs, cap * sizeof *g);
        if (!g)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        xf->refs = g;
        xf->cap_refs = cap;
    }
    if (xf->n_refs == 0 || weft_xet_hash_tail_u64(hash) % XET_KEY_CHUNK_MOD == 0) {
        rc = dedup_ask(r, hash);
        if (rc < 0)
            return rc;
    }
    chunk_ref *ref = &xf->refs[xf->n_refs];
    memset(ref, 0, sizeof *ref);
    ref->hash = *hash;
    ref->len = (uint32_t)len;
    chunk_place p;
    if (dedup_find(r, hash, &p)) {
        ref->slot = p.slot;
        ref->idx = p.idx;
        ref->xorb = p.xorb;
        atomic_fetch_add(&r->u->bytes_deduped, len);
    } else {
        if (xf->slot >= 0 && !weft_xorb_builder_can_add(xf->b, len))
            rc = xfile_flush(xf);
        if (rc == 0 && xf->slot < 0)
            rc = slot_new(r, &xf->slot);
        uint32_t idx = weft_xorb_builder_n_chunks(xf->b);
        if (rc == 0)
            rc = weft_xorb_builder_add(xf->b, hash, data, len);
        if (rc < 0)
            return rc;
        ref->slot = xf->slot;
        ref->idx = idx;
        chunk_place np = {.key = *hash, .slot = xf->slot, .idx = idx};
        pthread_mutex_lock(&r->mu);
        rc = map_put(&r->session, &np);
        pthread_mutex_unlock(&r->mu);
    }
    xf->n_refs++;
    weft_progress_advance(xf->f->bar, len);
    return rc;
}

typedef struct xfile_reading {
    xet_file *xf;
    weft_chunker *ch;
} xfile_reading;

static int xfile_feed(const uint8_t *p, size_t len, void *payload)
{
    xfile_reading *rd = payload;
    return weft_chunker_feed(rd->ch, p, len, xfile_chunk, rd->xf);
}

/* Reads the file once: chunks (and its SHA-256 unless known already). */
static int xfile_read(xet_file *xf, int want_sha)
{
    xfile_reading rd = {.xf = xf};
    int rc = weft_chunker_new(&rd.ch);
    if (rc == 0)
        rc = weft_upload__read(xf->f, want_sha, xfile_feed, &rd);
    if (rc == 0)
        rc = weft_chunker_finish(rd.ch, xfile_chunk, xf);
    if (rc == 0)
        rc = xfile_flush(xf);
    int jrc = xfile_join(xf);
    if (rc == 0)
        rc = jrc;
    weft_chunker_free(rd.ch);
    return rc;
}

static int xet_file_run(size_t i, void *payload)
{
    xet_run *r = payload;
    weft_upload__file *f = &r->u->files[r->idx[i]];
    /* When the path exists remotely, hash first: an unchanged file is then not chunked at all. */
    int sha_first = f->has_oid && strlen(f->remote_oid) == 64;
    if (sha_first) {
        int rc = weft_upload__sha256(f, 0);
        if (rc < 0)
            return rc;
        if (strcmp(f->sha256_hex, f->remote_oid) == 0) {
            f->unchanged = 1;
            weft_progress_finish(f->bar, "unchanged");
            return 0;
        }
    }
    xet_file xf = {.r = r, .f = f, .slot = -1};
    int rc = weft_xorb_builder_new(&xf.bs[0], WEFT_XET_SCHEME_AUTO);
    if (rc == 0)
        rc = weft_xorb_builder_new(&xf.bs[1], WEFT_XET_SCHEME_AUTO);
    xf.b = xf.bs[0];
    if (rc == 0)
        rc = xfile_read(&xf, !sha_first);
    weft_xorb_builder_free(xf.bs[0]);
    weft_xorb_builder_free(xf.bs[1]);
    /* Keep the refs for the shard (terms are resolved once every xorb has its hash). */
    f->xet_refs = xf.refs;
    f->n_xet_refs = xf.n_refs;
    if (rc < 0)
        return rc;
    weft_progress_finish(f->bar, NULL);
    return 0;
}

/* Turns a file's chunk refs into merged terms, verification hashes and its Xet file hash. */
static int xet_terms(xet_run *r, weft_upload__file *f)
{
    chunk_ref *refs = f->xet_refs;
    size_t n = f->n_xet_refs;
    f->xet_refs = NULL;
    f->n_xet_refs = 0;
    weft_shard_term *terms = calloc(n ? n : 1, sizeof *terms);
    weft_hash *ver = calloc(n ? n : 1, sizeof *ver);
    weft_hash *hashes = calloc(n ? n : 1, sizeof *hashes);
    weft_xet_node *nodes = calloc(n ? n : 1, sizeof *nodes);
    int rc = terms && ver && hashes && nodes ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    uint32_t nt = 0;
    size_t term_first = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_hash xorb = refs[i].slot >= 0 ? r->slots[refs[i].slot] : refs[i].xorb;
        hashes[i] = refs[i].hash;
        nodes[i] = (weft_xet_node){.hash = refs[i].hash, .size = refs[i].len};
        weft_shard_term *t = nt ? &terms[nt - 1] : NULL;
        if (t && weft_hash_eq(&t->xorb_hash, &xorb) && t->chunk_end == refs[i].idx &&
            (uint64_t)t->raw_len + refs[i].len <= UINT32_MAX) {
            t->chunk_end++;
            t->raw_len += refs[i].len;
        } else {
            if (t)
                weft_xet_verification_hash(&ver[nt - 1], hashes + term_first, i - term_first);
            term_first = i;
            terms[nt++] = (weft_shard_term){.xorb_hash = xorb,
                                            .raw_len = refs[i].len,
                                            .chunk_start = refs[i].idx,
                                            .chunk_end = refs[i].idx + 1};
        }
    }
    if (rc == 0 && nt)
        weft_xet_verification_hash(&ver[nt - 1], hashes + term_first, n - term_first);
    if (rc == 0)
        rc = weft_xet_file_hash(&f->xet_hash, nodes, n);
    free(refs);
    free(hashes);
    free(nodes);
    if (rc < 0) {
        free(terms);
        free(ver);
        return rc;
    }
    f->terms = terms;
    f->verification = ver;
    f->n_terms = nt;
    return 0;
}

static int shard_post(xet_run *r, const weft_shard *sh)
{
    weft_buf body;
    weft_buf_init(&body, WEFT_SHARD_MAX_BYTES);
    int rc = weft_shard_serialize(&body, sh, 0);
    if (rc == 0) {
        weft_client_req req;
        weft_client_req_init(&req, "POST", "/v1/shards");
        req.body = body.data;
        req.body_len = body.len;
        req.content_type = "application/octet-stream";
        weft_client_resp resp;
        rc = weft_xet_session_send(r->s, &resp, &req);
        if (rc == 0)
            rc = weft_client_resp_check(&resp, "shard upload");
        weft_client_resp_dispose(&resp);
    }
    weft_buf_dispose(&body);
    return rc;
}

/* One pass over the files: chunks and xorbs, then the shards. *n_skipped gets the xorbs the local
 * record let us skip. */
static int xet_attempt(weft_upload__ctx *u, weft_xet_session *s, const size_t *idx, size_t n,
                       int reset_record, size_t *n_skipped)
{
    xet_run r = {.u = u, .s = s, .idx = idx};
    atomic_init(&r.n_skipped, 0);
    pthread_mutex_init(&r.mu, NULL);
    record_open(&r, reset_record);
    int rc = weft_upload__parallel(u->threads, n, xet_file_run, &r);
    for (size_t i = 0; i < n; i++) {
        weft_upload__file *f = &u->files[idx[i]];
        if (rc == 0 && !f->unchanged && f->xet_refs)
            rc = xet_terms(&r, f);
    }
    for (size_t start = 0; rc == 0 && start < n; start += XET_SHARD_FILES) {
        weft_shard *sh = NULL;
        rc = weft_shard_new(&sh);
        size_t files = 0;
        for (size_t i = start; rc == 0 && i < n && i < start + XET_SHARD_FILES; i++) {
            weft_upload__file *f = &u->files[idx[i]];
            if (f->unchanged)
                continue;
            rc = weft_shard_add_file(sh, &f->xet_hash, f->terms, f->n_terms, f->verification,
                                     f->sha256);
            files++;
        }
        if (rc == 0 && files)
            rc = shard_post(&r, sh);
        weft_shard_free(sh);
    }
    *n_skipped = atomic_load(&r.n_skipped);
    if (r.record)
        fclose(r.record);
    free(r.record_path);
    free(r.session.e);
    free(r.queried.e);
    free(r.accepted.e);
    free(r.known.e);
    for (size_t i = 0; i < r.n_answers; i++)
        free(r.answers[i].map.e);
    free(r.answers);
    free(r.slots);
    pthread_mutex_destroy(&r.mu);
    return rc;
}

int weft_upload__xet(weft_upload__ctx *u, weft_xet_session *s, const size_t *idx, size_t n)
{
    size_t skipped = 0;
    int rc = xet_attempt(u, s, idx, n, 0, &skipped);
    if (rc != WEFT_EINVALID || skipped == 0)
        return rc;
    /* The server refused a shard while we trusted the record (its store was reset, or collected
     * the xorbs): forget the record and send everything once more. */
    weft_log_warn("xet: the server lacks xorbs recorded as uploaded (%s); sending them again",
                  weft_err_last());
    for (size_t i = 0; i < n; i++) {
        weft_upload__file *f = &u->files[idx[i]];
        free(f->terms);
        free(f->verification);
        free(f->xet_refs);
        f->terms = NULL;
        f->verification = NULL;
        f->xet_refs = NULL;
        f->n_terms = 0;
        f->n_xet_refs = 0;
        f->unchanged = 0;
    }
    return xet_attempt(u, s, idx, n, 1, &skipped);
}
