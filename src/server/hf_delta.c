/* Delta downloads (Weft's extension, docs/http-api.md "Delta downloads"): a fine-tune's
 * safetensors file served as a portable delta (weft/delta_file.h) against a base the client
 * already has, so only the delta crosses the network.
 *
 * Which bases: for a *.safetensors LFS file at a commit, (1) the previous version of the same
 * path (the path at the parent of the commit that last changed it), closest for a later
 * checkpoint; (2) the same path in the repo the README's `base_model:` names, on this hub and
 * readable by the caller, at its default head. Clients take the first they hold. resolve announces
 * them in `X-Weft-Delta-Base: <sha256>[,<sha256>]` (other clients ignore the header); GET
 * /api/{T}/NS/NAME/weft-delta/{rev}/{path}?base=<sha256> answers the delta file for one of them.
 *
 * A delta is made once per (file, base) pair and kept in DATA/deltas/<file>-<base>.weftdelta:
 * both files are reconstructed from the store into DATA/tmp, mapped, coded through
 * weft_delta_stream_write into a temp file, which is fsynced and renamed into place (two
 * requests racing both build it and the last rename wins; either file is right). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "weft/delta_stream.h"
#include "weft/fsutil.h"
#include "weft/log.h"
#include "weft/sha256.h"

#define DELTA_MAX_BASES 2

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- candidate bases ------------------------------------------------------------------------ */

typedef struct bases {
    size_t n;
    uint8_t sha[DELTA_MAX_BASES][32];
} bases;

static void bases_add(bases *b, const uint8_t sha[32], const uint8_t self[32])
{
    if (b->n == DELTA_MAX_BASES || memcmp(sha, self, 32) == 0)
        return;
    for (size_t i = 0; i < b->n; i++)
        if (memcmp(b->sha[i], sha, 32) == 0)
            return;
    memcpy(b->sha[b->n++], sha, 32);
}

/* The base_model: repo of the card at commit ("ns/name", a string or the first of a list). */
static int card_base_model(weft_repo *git, const weft_oid *commit, char ns[WEFT_NAME_MAX + 1],
                           char name[WEFT_NAME_MAX + 1])
{
    json_t *card = hub_card_json(git, commit);
    json_t *bm = json_object_get(card, "base_model");
    if (json_is_array(bm))
        bm = json_array_get(bm, 0);
    const char *s = json_string_value(bm), *slash = s ? strchr(s, '/') : NULL;
    int ok = slash && slash != s && (size_t)(slash - s) <= WEFT_NAME_MAX &&
             strlen(slash + 1) <= WEFT_NAME_MAX && !strchr(slash + 1, '/');
    if (ok) {
        memcpy(ns, s, (size_t)(slash - s));
        ns[slash - s] = 0;
        snprintf(name, WEFT_NAME_MAX + 1, "%s", slash + 1);
    }
    json_decref(card);
    return ok;
}

typedef struct first_commit {
    weft_oid id;
    int found;
} first_commit;

static int take_first(const weft_repo_commit *c, void *payload)
{
    first_commit *f = payload;
    f->id = c->id;
    f->found = 1;
    return 1;
}

/* The LFS file at path as it was before the commit that last changed it (0 if none). */
static int previous_version(const hub_repo *r, const weft_oid *commit, const char *path,
                            uint8_t sha[32])
{
    weft_oid last;
    int found = 0;
    const char *paths[1] = {path};
    first_commit parent = {0};
    weft_repo_entry e;
    if (weft_repo_last_commits(r->git, commit, paths, 1, &last, &found) == 0 && found &&
        weft_repo_log(r->git, &last, 1, 1, take_first, &parent, NULL) >= 0 && parent.found &&
        weft_repo_stat(r->git, &parent.id, path, &e) == 0 && e.is_lfs) {
        memcpy(sha, e.lfs_sha256, 32);
        return 1;
    }
    weft_err_clear();
    return 0;
}

/* The LFS file at path at the default head of model repo ns/name (0 if none). */
static int head_version(hub *h, const char *ns, const char *name, const char *path, uint8_t sha[32])
{
    char dir[1024];
    weft_repo *git = NULL;
    weft_oid head;
    weft_repo_entry e;
    int found = 0;
    hub_repo_dir(h, dir, sizeof dir, WEFT_REPO_MODEL, ns, name);
    if (weft_repo_open(&git, dir) == 0 && weft_repo_resolve(git, "HEAD", &head, NULL, 0) == 0 &&
        weft_repo_stat(git, &head, path, &e) == 0 && e.is_lfs) {
        memcpy(sha, e.lfs_sha256, 32);
        found = 1;
    }
    weft_repo_close(git);
    weft_err_clear();
    return found;
}

/* What resolve works out for a (repo, commit, path), kept in memory because every GET and HEAD
 * of a fine-tune's safetensors file asks (a path-history walk, the card, the base repo's head).
 * A commit never changes, so the previous version and the card's base_model: are kept until the
 * slot is reused; the base repo's head moves, so its file is looked up again after
 * DELTA_MEMO_TTL_MS. Who may read the base repo is asked on every request (one meta query). */
#define DELTA_MEMO_SLOTS 512
#define DELTA_MEMO_TTL_MS 5000

typedef struct delta_memo {
    char *key; /* "type:ns/name:path", malloc'ed; NULL = empty slot */
    weft_oid commit;
    int has_prev;
    uint8_t prev[32];
    int has_bm; /* the card names a base_model: repo */
    char bm_ns[WEFT_NAME_MAX + 1], bm_name[WEFT_NAME_MAX + 1];
    int bm_found; /* its head has the path (as of bm_ms) */
    uint8_t bm_sha[32];
    int64_t bm_ms;
} delta_memo;

static delta_memo memo[DELTA_MEMO_SLOTS];
static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t memo_slot(const char *key, const weft_oid *commit)
{
    uint64_t x = 1469598103934665603ull;
    for (const char *p = key; *p; p++)
        x = (x ^ (uint8_t)*p) * 1099511628211ull;
    for (size_t i = 0; i < sizeof commit->id; i++)
        x = (x ^ commit->id[i]) * 1099511628211ull;
    return (size_t)(x % DELTA_MEMO_SLOTS);
}

/* Copies the memo of (key, commit) into *out; 1 on a hit. */
static int memo_get(const char *key, const weft_oid *commit, delta_memo *out)
{
    size_t i = memo_slot(key, commit);
    pthread_mutex_lock(&memo_mu);
    int hit = memo[i].key != NULL && strcmp(memo[i].key, key) == 0 &&
              memcmp(memo[i].commit.id, commit->id, sizeof commit->id) == 0;
    if (hit) {
        *out = memo[i];
        out->key = NULL;
    }
    pthread_mutex_unlock(&memo_mu);
    return hit;
}

static void memo_put(const char *key, const weft_oid *commit, const delta_memo *m)
{
    size_t i = memo_slot(key, commit);
    char *k = strdup(key);
    if (k == NULL)
        return;
    pthread_mutex_lock(&memo_mu);
    free(memo[i].key);
    memo[i] = *m;
    memo[i].key = k;
    memo[i].commit = *commit;
    pthread_mutex_unlock(&memo_mu);
}

static void delta_bases(hub *h, const hub_repo *r, const weft_oid *commit, const weft_repo_entry *e,
                        bases *out)
{
    out->n = 0;
    if (!e->is_lfs || !ends_with(e->path, ".safetensors") || r->rec.type != WEFT_REPO_MODEL)
        return;
    char key[2 * WEFT_NAME_MAX + 1200];
    if (snprintf(key, sizeof key, "%d:%s/%s:%s", (int)r->rec.type, r->rec.ns, r->rec.name,
                 e->path) >= (int)sizeof key)
        return;
    delta_memo m;
    int64_t now = hub_now_ms();
    int hit = memo_get(key, commit, &m);
    if (!hit) {
        memset(&m, 0, sizeof m);
        m.has_prev = previous_version(r, commit, e->path, m.prev);
        m.has_bm = card_base_model(r->git, commit, m.bm_ns, m.bm_name);
    }
    /* the base_model repo, if the caller may read it (asked every time: privacy can change) */
    int readable = 0;
    weft_meta *meta = m.has_bm ? hub_meta(h) : NULL;
    weft_repo_rec rec;
    if (meta && weft_meta_repo_get(meta, WEFT_REPO_MODEL, m.bm_ns, m.bm_name, &rec) == 0) {
        readable = !rec.is_private || hub_can_read_ns(h, &r->caller, m.bm_ns);
        weft_repo_rec_dispose(&rec);
    }
    weft_err_clear();
    int stale = m.has_bm && (!hit || now - m.bm_ms > DELTA_MEMO_TTL_MS);
    if (readable && stale) {
        m.bm_found = head_version(h, m.bm_ns, m.bm_name, e->path, m.bm_sha);
        m.bm_ms = now;
    }
    if (!hit || (readable && stale))
        memo_put(key, commit, &m);
    /* the previous version first: a later checkpoint is closest to the one before it */
    if (m.has_prev)
        bases_add(out, m.prev, e->lfs_sha256);
    if (readable && m.bm_found)
        bases_add(out, m.bm_sha, e->lfs_sha256);
}

void hub_delta_announce(weft_http_req *req, hub *h, const hub_repo *r, const weft_oid *commit,
                        const weft_repo_entry *e)
{
    bases b;
    delta_bases(h, r, commit, e, &b);
    if (b.n == 0)
        return;
    char v[DELTA_MAX_BASES * 65 + 1] = "";
    for (size_t i = 0; i < b.n; i++) {
        char hex[65];
        weft_hex_encode(hex, b.sha[i], 32);
        snprintf(v + strlen(v), sizeof v - strlen(v), "%s%s", i ? "," : "", hex);
    }
    weft_http_resp_header(req, "X-Weft-Delta-Base", v);
}

/* ---- making a delta ------------------------------------------------------------------------- */

typedef struct mapped {
    char path[1100];
    int fd;
    uint8_t *p;
    uint64_t len;
} mapped;

/* Reconstructs a stored file into a temp file under DATA/tmp and maps it. */
static int mapped_from_store(mapped *m, hub *h, const uint8_t sha[32])
{
    m->fd = -1;
    m->p = NULL;
    char hex[65];
    weft_hex_encode(hex, sha, 32);
    weft_store *st = hub_store(h);
    weft_store_file f;
    int rc = st ? weft_store_lookup(st, hex, &f) : WEFT_EIO;
    if (rc)
        return rc;
    snprintf(m->path, sizeof m->path, "%s/delta-in-XXXXXX", h->lfs_tmp_dir);
    m->fd = mkstemp(m->path);
    if (m->fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "create %s", m->path);
    unlink(m->path); /* nothing to clean up after a crash */
    rc = weft_store_read_fd(st, &f.xet_hash, 0, UINT64_MAX, 0, m->fd);
    m->len = f.size;
    if (rc == 0 && m->len > 0) {
        m->p = mmap(NULL, (size_t)m->len, PROT_READ, MAP_SHARED, m->fd, 0);
        if (m->p == MAP_FAILED) {
            m->p = NULL;
            rc = weft_err_sys(WEFT_EIO, errno, "map a reconstructed file");
        }
    }
    return rc;
}

static void mapped_close(mapped *m)
{
    if (m->p)
        munmap(m->p, (size_t)m->len);
    if (m->fd >= 0)
        close(m->fd);
    m->p = NULL;
    m->fd = -1;
}

static int pwrite_sink(const void *data, size_t len, uint64_t off, uint64_t done, void *payload)
{
    (void)done;
    return weft_fs_pwrite_full(*(int *)payload, data, len, off, "a delta file");
}

/* Builds DATA/deltas/<ft>-<base>.weftdelta (path in `out`). */
static int delta_build(hub *h, const uint8_t ft_sha[32], const uint8_t base_sha[32],
                       const char *out)
{
    mapped base = {.fd = -1}, ft = {.fd = -1};
    weft_delta_encoder *enc = NULL;
    char tmp[1400];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", out);
    int fd = -1;
    int rc = mapped_from_store(&base, h, base_sha);
    if (rc == 0)
        rc = mapped_from_store(&ft, h, ft_sha);
    if (rc == 0)
        rc = weft_delta_encoder_new(&enc, base.p, base.len, ft.p, ft.len, WEFT_DELTA_LOSSLESS);
    if (rc == 0 && (fd = mkstemp(tmp)) < 0)
        rc = weft_err_sys(WEFT_EIO, errno, "create %s", tmp);
    if (rc == 0)
        rc = weft_delta_stream_write(enc, base_sha, ft_sha, pwrite_sink, &fd, NULL, NULL);
    if (rc == 0 && fsync(fd) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "fsync %s", tmp);
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, out) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "rename %s", tmp);
    if (rc && fd >= 0)
        unlink(tmp);
    weft_delta_encoder_free(enc);
    mapped_close(&base);
    mapped_close(&ft);
    return rc;
}

/* ---- serving ----------------------------------------------------------------------------------
 */

static int64_t file_read(void *payload, uint64_t pos, uint8_t *buf, size_t max)
{
    int fd = (int)(intptr_t)payload;
    ssize_t n = pread(fd, buf, max, (off_t)pos);
    return n < 0 ? weft_err_sys(WEFT_EIO, errno, "read a delta file") : n;
}

static void file_close(void *payload)
{
    close((int)(intptr_t)payload);
}

static int parse_sha(const char *hex, uint8_t out[32])
{
    return hex && strlen(hex) == 64 && weft_hex_is_lower(hex, 64) &&
                   weft_hex_decode(out, 32, hex, 64) == 0
               ? 0
               : -1;
}

/* GET /api/{T}/NS/NAME/weft-delta/{rev}/{path}?base=<sha256> */
void hf_weft_delta(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    uint8_t base_sha[32];
    if (parse_sha(weft_http_req_query(req, "base"), base_sha) < 0) {
        weft_http_respond_error(req, 400, NULL, "base=<sha256 of the base file> is required");
        return;
    }
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid commit;
    weft_repo_entry e;
    if (hub_resolve_rev(req, &r, rt->rev, &commit, NULL, 0) < 0) {
        hub_repo_close(&r);
        return;
    }
    int rc = rt->path && weft_repo_path_valid(rt->path)
                 ? weft_repo_stat(r.git, &commit, rt->path, &e)
                 : WEFT_ENOTFOUND;
    bases b = {0};
    if (rc == 0)
        delta_bases(rt->h, &r, &commit, &e, &b);
    int offered = 0;
    for (size_t i = 0; i < b.n; i++)
        offered |= memcmp(b.sha[i], base_sha, 32) == 0;
    if (rc == 0 && !offered)
        rc = weft_err_set(WEFT_ENOTFOUND, "no delta of %s from that base", rt->path);
    char dir[1100], file[1300], fh[65], bh[65];
    snprintf(dir, sizeof dir, "%s/deltas", rt->h->data_dir);
    if (rc == 0) {
        weft_hex_encode(fh, e.lfs_sha256, 32);
        weft_hex_encode(bh, base_sha, 32);
        snprintf(file, sizeof file, "%s/%s-%s.weftdelta", dir, fh, bh);
        if (!weft_fs_exists(file)) {
            rc = weft_fs_mkdirs(dir);
            if (rc == 0)
                rc = delta_build(rt->h, e.lfs_sha256, base_sha, file);
        }
    }
    int fd = rc == 0 ? open(file, O_RDONLY | O_CLOEXEC) : -1;
    struct stat sb;
    if (rc == 0 && (fd < 0 || fstat(fd, &sb) != 0))
        rc = weft_err_sys(WEFT_EIO, errno, "open %s", file);
    if (rc == WEFT_ENOTFOUND) {
        weft_http_respond_error(req, 404, "EntryNotFound", "%s", weft_err_last());
    } else if (rc) {
        weft_log_warn("weft-delta: %s", weft_err_last());
        hub_respond_rc(req, rc);
    } else {
        weft_http_resp_headerf(req, "X-Weft-Delta-Of", "%s", fh);
        weft_http_respond_stream(req, 200, "application/vnd.weft-delta", (uint64_t)sb.st_size,
                                 file_read, (void *)(intptr_t)fd, file_close);
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    hub_repo_close(&r);
}
