/* Local Xet chunk cache: pieces of decompressed chunk ranges per xorb, verified on every read,
 * LRU-bounded (include/weft/chunk_cache.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weft/buf.h"
#include "weft/chunk_cache.h"
#include "weft/fsutil.h"
#include "weft/xet_compress.h"
#include "weft/xorb.h"
#include "weft/sha256.h"

#define CC_MAGIC "WEFTCC01"
#define CC_HEAD_LEN 56u  /* magic, xorb, first, n, data_len */
#define CC_ENTRY_LEN 40u /* raw_len, phys_len, hash */
#define CC_TMP_MAX_AGE 3600
#define CC_MAX_PIECES 4096 /* per xorb directory; more are ignored */

struct weft_chunk_cache {
    char *dir;
    uint64_t max_bytes;
    pthread_mutex_t lock;
    weft_chunk_cache_stats stats;
    uint64_t added_since_evict;
    int added;
    unsigned tmp_seq;
};

typedef struct cc_piece {
    uint32_t first, end;
} cc_piece;

void weft_xet_chunks_clear(weft_xet_chunk *chunks, size_t n)
{
    for (size_t i = 0; chunks && i < n; i++) {
        free(chunks[i].data);
        chunks[i].data = NULL;
    }
}

int weft_chunk_cache_open(weft_chunk_cache **out, const char *dir, uint64_t max_bytes)
{
    *out = NULL;
    int rc = weft_fs_mkdirs(dir);
    if (rc < 0)
        return rc;
    weft_chunk_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    c->max_bytes = max_bytes ? max_bytes : WEFT_CHUNK_CACHE_DEFAULT_MAX;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void weft_chunk_cache_close(weft_chunk_cache *c)
{
    if (!c)
        return;
    if (c->added) {
        /* Best effort: a cache that cannot be trimmed now is trimmed by the next handle. */
        int rc = weft_chunk_cache_evict(c, 0, NULL);
        (void)rc;
    }
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

void weft_chunk_cache_stats_get(weft_chunk_cache *c, weft_chunk_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

static void cc_count(weft_chunk_cache *c, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&c->lock);
    *field += n;
    pthread_mutex_unlock(&c->lock);
}

/* "<dir>/<hex[0..2]>/<hex>" into out. */
static int cc_xorb_dir(char *out, size_t cap, const weft_chunk_cache *c, const weft_hash *xorb)
{
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, xorb);
    int n = snprintf(out, cap, "%s/%.2s/%s", c->dir, hex, hex);
    if (n < 0 || (size_t)n >= cap)
        return weft_err_set(WEFT_EINVALID, "chunk cache: path under %s too long", c->dir);
    return 0;
}

/* Parses a piece name "<first>-<end>" (decimal, first < end ≤ WEFT_XORB_MAX_CHUNKS). */
static int cc_parse_name(cc_piece *out, const char *name)
{
    uint64_t v[2] = {0, 0};
    const char *p = name;
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            v[k] = v[k] * 10 + (uint64_t)(*p - '0');
            if (v[k] > WEFT_XORB_MAX_CHUNKS)
                return -1;
            p++;
        }
        if (k == 0 && *p++ != '-')
            return -1;
    }
    if (*p || v[0] >= v[1])
        return -1;
    out->first = (uint32_t)v[0];
    out->end = (uint32_t)v[1];
    return 0;
}

/* The pieces of a xorb directory (none if it does not exist), longest first. */
static int cc_piece_cmp(const void *a, const void *b)
{
    const cc_piece *x = a, *y = b;
    uint32_t lx = x->end - x->first, ly = y->end - y->first;
    return lx < ly ? 1 : lx > ly ? -1 : (x->first > y->first) - (x->first < y->first);
}

static int cc_list(cc_piece **out, size_t *n_out, const char *xdir)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(xdir);
    if (!d)
        return errno == ENOENT ? 0 : weft_err_sys(WEFT_EIO, errno, "chunk cache: open %s", xdir);
    size_t n = 0, cap = 0;
    cc_piece *v = NULL;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < CC_MAX_PIECES) {
        cc_piece p;
        if (cc_parse_name(&p, e->d_name) < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            cc_piece *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                rc = weft_err_set(WEFT_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        v[n++] = p;
    }
    closedir(d);
    if (rc < 0) {
        free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cc_piece_cmp);
    *out = v;
    *n_out = n;
    return 0;
}

/* Deletes a piece that failed a check. */
static void cc_drop(weft_chunk_cache *c, const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT)
        cc_count(c, &c->stats.n_corrupt, 1);
}

/* Reads and checks the table of piece p (open as fd): *head_out (the caller's, free) holds the
 * header and the n entries; *data_start_out is where chunk bytes begin. 1 if the piece is
 * damaged (or torn), 0 if good, negative WEFT_E* when out of memory. */
static int cc_read_table(uint8_t **head_out, uint64_t *data_start_out, int fd, const cc_piece *p,
                         const weft_hash *xorb)
{
    *head_out = NULL;
    uint32_t pn = p->end - p->first;
    size_t table_len = (size_t)CC_HEAD_LEN + (size_t)pn * CC_ENTRY_LEN;
    uint8_t *head = malloc(table_len + WEFT_HASH_LEN);
    if (!head)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < table_len + WEFT_HASH_LEN ||
        pread(fd, head, table_len + WEFT_HASH_LEN, 0) != (ssize_t)(table_len + WEFT_HASH_LEN))
        goto bad;
    weft_hash check;
    weft_xet_chunk_hash(&check, head, table_len);
    if (memcmp(head, CC_MAGIC, 8) != 0 || memcmp(head + 8, xorb->b, WEFT_HASH_LEN) != 0 ||
        weft_load_u32le(head + 40) != p->first || weft_load_u32le(head + 44) != pn ||
        memcmp(check.b, head + table_len, WEFT_HASH_LEN) != 0)
        goto bad;
    uint64_t off = 0;
    for (uint32_t i = 0; i < pn; i++) {
        uint32_t raw = weft_load_u32le(head + CC_HEAD_LEN + (size_t)i * CC_ENTRY_LEN);
        if (raw > WEFT_XET_MAX_CHUNK_LEN)
            goto bad;
        off += raw;
    }
    if (off != weft_load_u64le(head + 48) ||
        (uint64_t)st.st_size != table_len + WEFT_HASH_LEN + off)
        goto bad;
    *head_out = head;
    *data_start_out = table_len + WEFT_HASH_LEN;
    return 0;
bad:
    free(head);
    return 1;
}

/* ---- views: cached chunks located once, read one at a time -------------------------------- */

typedef struct cc_vpiece {
    int fd;
    int dropped;
    char path[PATH_MAX + 32];
} cc_vpiece;

struct weft_chunk_cache_view {
    weft_chunk_cache *c;
    uint32_t first, n;
    cc_vpiece *pieces;
    size_t n_pieces;
    int32_t *piece_of;     /* [n]: index into pieces, -1 when not held */
    uint64_t *off;         /* [n]: byte offset of the chunk in its piece file */
    uint32_t *raw;         /* [n] */
    weft_hash *hash;       /* [n] */
    uint32_t n_bad_tables; /* pieces dropped while opening */
};

void weft_chunk_cache_view_close(weft_chunk_cache_view *v)
{
    if (!v)
        return;
    for (size_t k = 0; k < v->n_pieces; k++)
        if (v->pieces[k].fd >= 0)
            close(v->pieces[k].fd);
    free(v->pieces);
    free(v->piece_of);
    free(v->off);
    free(v->raw);
    free(v->hash);
    free(v);
}

/* Adds piece p (named path) to the view: takes the chunks no earlier piece holds. */
static int cc_view_add(weft_chunk_cache_view *v, const cc_piece *p, const char *path,
                       const weft_hash *xorb, weft_xet_chunk *meta, uint8_t *held)
{
    uint32_t lo = p->first > v->first ? p->first : v->first;
    uint32_t hi = p->end < v->first + v->n ? p->end : v->first + v->n;
    uint32_t wanted = 0;
    for (uint32_t i = lo; i < hi; i++)
        wanted += v->piece_of[i - v->first] < 0;
    if (!wanted)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* deleted or replaced meanwhile: a miss */
    uint8_t *head = NULL;
    uint64_t at = 0;
    int rc = cc_read_table(&head, &at, fd, p, xorb);
    if (rc != 0) {
        close(fd);
        if (rc > 0) {
            cc_drop(v->c, path);
            v->n_bad_tables++;
        }
        return rc > 0 ? 0 : rc;
    }
    size_t k = v->n_pieces++;
    v->pieces[k].fd = fd;
    v->pieces[k].dropped = 0;
    snprintf(v->pieces[k].path, sizeof v->pieces[k].path, "%s", path);
    for (uint32_t i = p->first; i < hi; i++) {
        const uint8_t *e = head + CC_HEAD_LEN + (size_t)(i - p->first) * CC_ENTRY_LEN;
        uint32_t raw = weft_load_u32le(e);
        if (i >= lo && v->piece_of[i - v->first] < 0) {
            uint32_t j = i - v->first;
            v->piece_of[j] = (int32_t)k;
            v->off[j] = at;
            v->raw[j] = raw;
            memcpy(v->hash[j].b, e + 8, WEFT_HASH_LEN);
            meta[j].raw_len = raw;
            meta[j].phys_len = weft_load_u32le(e + 4);
            meta[j].hash = v->hash[j];
            held[j] = 1;
        }
        at += raw;
    }
    free(head);
    /* Recently used: eviction goes by mtime. */
    if (futimens(fd, NULL) != 0) {
        /* another user's cache file; still readable, just not refreshed */
    }
    return 0;
}

int weft_chunk_cache_view_open(weft_chunk_cache_view **out, weft_chunk_cache *c,
                               weft_xet_chunk *meta, uint8_t *held, const weft_hash *xorb,
                               uint32_t first, uint32_t n)
{
    char xdir[PATH_MAX], path[PATH_MAX + 32];
    cc_piece *pieces = NULL;
    size_t n_pieces = 0;
    *out = NULL;
    memset(held, 0, n);
    if (n == 0 || first > WEFT_XORB_MAX_CHUNKS || n > WEFT_XORB_MAX_CHUNKS - first)
        return weft_err_set(WEFT_EINVALID, "chunk cache: bad chunk range [%u, +%u)", first, n);
    weft_chunk_cache_view *v = calloc(1, sizeof *v);
    int rc = v ? cc_xorb_dir(xdir, sizeof xdir, c, xorb) : WEFT_ENOMEM;
    if (rc == 0)
        rc = cc_list(&pieces, &n_pieces, xdir);
    if (rc < 0)
        goto out;
    v->c = c;
    v->first = first;
    v->n = n;
    v->pieces = calloc(n_pieces ? n_pieces : 1, sizeof *v->pieces);
    v->piece_of = malloc((size_t)n * sizeof *v->piece_of);
    v->off = malloc((size_t)n * sizeof *v->off);
    v->raw = malloc((size_t)n * sizeof *v->raw);
    v->hash = malloc((size_t)n * sizeof *v->hash);
    if (!v->pieces || !v->piece_of || !v->off || !v->raw || !v->hash) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        v->piece_of[i] = -1;
    for (size_t k = 0; k < n_pieces && rc == 0; k++) {
        const cc_piece *p = &pieces[k];
        if (p->end <= first || p->first >= first + n)
            continue;
        snprintf(path, sizeof path, "%s/%u-%u", xdir, p->first, p->end);
        rc = cc_view_add(v, p, path, xorb, meta, held);
    }
out:
    free(pieces);
    if (rc < 0) {
        if (!v)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        weft_chunk_cache_view_close(v);
        memset(held, 0, n);
        return rc;
    }
    *out = v;
    return 0;
}

int weft_chunk_cache_view_read(weft_chunk_cache_view *v, uint32_t i, uint8_t *buf)
{
    uint32_t j = i - v->first;
    if (i < v->first || j >= v->n || v->piece_of[j] < 0)
        return weft_err_set(WEFT_ENOTFOUND, "chunk cache: chunk %u is not held", i);
    cc_vpiece *p = &v->pieces[v->piece_of[j]];
    weft_hash h;
    if (!p->dropped) {
        if (pread(p->fd, buf, v->raw[j], (off_t)v->off[j]) == (ssize_t)v->raw[j]) {
            weft_xet_chunk_hash(&h, buf, v->raw[j]);
            if (weft_hash_eq(&h, &v->hash[j])) {
                cc_count(v->c, &v->c->stats.hit_bytes, v->raw[j]);
                return 0;
            }
        }
        p->dropped = 1;
        cc_drop(v->c, p->path);
    }
    return weft_err_set(WEFT_ECORRUPT, "chunk cache: %s is damaged (chunk %u)", p->path, i);
}

int weft_chunk_cache_view_dropped(const weft_chunk_cache_view *v, uint32_t i)
{
    uint32_t j = i - v->first;
    return i >= v->first && j < v->n && v->piece_of[j] >= 0 && v->pieces[v->piece_of[j]].dropped;
}

uint32_t weft_chunk_cache_view_n_dropped(const weft_chunk_cache_view *v)
{
    uint32_t n = v ? v->n_bad_tables : 0;
    for (size_t k = 0; v && k < v->n_pieces; k++)
        n += (uint32_t)v->pieces[k].dropped;
    return n;
}

int weft_chunk_cache_get(weft_chunk_cache *c, uint32_t *n_found, weft_xet_chunk *chunks,
                         const weft_hash *xorb, uint32_t first, uint32_t n)
{
    weft_chunk_cache_view *v = NULL;
    weft_xet_chunk *meta = calloc(n ? n : 1, sizeof *meta);
    uint8_t *held = calloc(n ? n : 1, 1);
    uint32_t found = 0;
    int rc = meta && held ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0 && n > 0 && first <= WEFT_XORB_MAX_CHUNKS && n <= WEFT_XORB_MAX_CHUNKS - first)
        rc = weft_chunk_cache_view_open(&v, c, meta, held, xorb, first, n);
    for (uint32_t j = 0; rc == 0 && v && j < n; j++) {
        if (!held[j] || chunks[j].data)
            continue;
        uint8_t *d = malloc(meta[j].raw_len ? meta[j].raw_len : 1);
        if (!d) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            break;
        }
        if (weft_chunk_cache_view_read(v, first + j, d) < 0) {
            free(d); /* damaged: absent */
            weft_err_clear();
            continue;
        }
        chunks[j] = meta[j];
        chunks[j].data = d;
        found++;
    }
    weft_chunk_cache_view_close(v);
    free(meta);
    free(held);
    if (n_found)
        *n_found += found;
    return rc;
}

/* ---- writers: a piece streamed to a temp file, published by a rename -------------------- */

struct weft_chunk_cache_writer {
    weft_chunk_cache *c;
    weft_hash xorb;
    uint32_t first, n, added;
    int fd;
    uint8_t *head; /* header + table + check */
    size_t head_len;
    uint64_t data_len;
    char xdir[PATH_MAX];
    char tmp[PATH_MAX + 64];
};

int weft_chunk_cache_writer_open(weft_chunk_cache_writer **out, weft_chunk_cache *c,
                                 const weft_hash *xorb, uint32_t first, uint32_t n)
{
    *out = NULL;
    if (n == 0 || first > WEFT_XORB_MAX_CHUNKS || n > WEFT_XORB_MAX_CHUNKS - first)
        return weft_err_set(WEFT_EINVALID, "chunk cache: bad chunk range [%u, +%u)", first, n);
    weft_chunk_cache_writer *w = calloc(1, sizeof *w);
    if (!w)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    w->c = c;
    w->xorb = *xorb;
    w->first = first;
    w->n = n;
    w->fd = -1;
    w->head_len = (size_t)CC_HEAD_LEN + (size_t)n * CC_ENTRY_LEN + WEFT_HASH_LEN;
    w->head = calloc(1, w->head_len);
    int rc = w->head ? cc_xorb_dir(w->xdir, sizeof w->xdir, c, xorb)
                     : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = weft_fs_mkdirs(w->xdir);
    if (rc < 0)
        goto fail;
    pthread_mutex_lock(&c->lock);
    unsigned seq = c->tmp_seq++;
    pthread_mutex_unlock(&c->lock);
    snprintf(w->tmp, sizeof w->tmp, "%s/.tmp-%ld-%u", w->xdir, (long)getpid(), seq);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: create %s", w->tmp);
        w->tmp[0] = '\0';
        goto fail;
    }
    *out = w;
    return 0;
fail:
    free(w->head);
    free(w);
    return rc;
}

int weft_chunk_cache_writer_add(weft_chunk_cache_writer *w, const weft_xet_chunk *ch)
{
    if (w->added == w->n || !ch->data || ch->raw_len > WEFT_XET_MAX_CHUNK_LEN)
        return weft_err_set(WEFT_EINVALID, "chunk cache: chunk %u is extra, absent or too long",
                            w->first + w->added);
    uint8_t *e = w->head + CC_HEAD_LEN + (size_t)w->added * CC_ENTRY_LEN;
    weft_store_u32le(e, ch->raw_len);
    weft_store_u32le(e + 4, ch->phys_len);
    memcpy(e + 8, ch->hash.b, WEFT_HASH_LEN);
    ssize_t wr = pwrite(w->fd, ch->data, ch->raw_len, (off_t)(w->head_len + w->data_len));
    if (wr != (ssize_t)ch->raw_len)
        return weft_err_sys(WEFT_EIO, wr < 0 ? errno : ENOSPC, "chunk cache: write %s", w->tmp);
    w->data_len += ch->raw_len;
    w->added++;
    return 0;
}

/* Deletes the pieces of the xorb that [first, end) contains (they are redundant now). */
static void cc_remove_contained(const char *xdir, uint32_t first, uint32_t end)
{
    cc_piece *pieces = NULL;
    size_t n_pieces = 0;
    if (cc_list(&pieces, &n_pieces, xdir) < 0) {
        weft_err_clear();
        return;
    }
    for (size_t k = 0; k < n_pieces; k++) {
        const cc_piece *p = &pieces[k];
        if (p->first >= first && p->end <= end && !(p->first == first && p->end == end)) {
            char old[PATH_MAX + 32];
            snprintf(old, sizeof old, "%s/%u-%u", xdir, p->first, p->end);
            if (unlink(old) != 0) {
                /* another process removed it first */
            }
        }
    }
    free(pieces);
}

int weft_chunk_cache_writer_close(weft_chunk_cache_writer *w)
{
    if (!w)
        return 0;
    weft_chunk_cache *c = w->c;
    int rc = 0;
    if (w->added != w->n) {
        rc = weft_err_set(WEFT_EINVALID, "chunk cache: piece closed after %u of %u chunks",
                          w->added, w->n);
        goto out;
    }
    memcpy(w->head, CC_MAGIC, 8);
    memcpy(w->head + 8, w->xorb.b, WEFT_HASH_LEN);
    weft_store_u32le(w->head + 40, w->first);
    weft_store_u32le(w->head + 44, w->n);
    weft_store_u64le(w->head + 48, w->data_len);
    weft_hash check;
    weft_xet_chunk_hash(&check, w->head, w->head_len - WEFT_HASH_LEN);
    memcpy(w->head + w->head_len - WEFT_HASH_LEN, check.b, WEFT_HASH_LEN);
    if (pwrite(w->fd, w->head, w->head_len, 0) != (ssize_t)w->head_len) {
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: write %s", w->tmp);
        goto out;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: close %s", w->tmp);
        goto out;
    }
    w->fd = -1;
    /* No fsync: a piece torn by a crash fails its checks and is dropped on the next read. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%u-%u", w->xdir, w->first, w->first + w->n);
    if (rename(w->tmp, path) != 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: rename %s", w->tmp);
        goto out;
    }
    w->tmp[0] = '\0';
    uint64_t bytes = w->head_len + w->data_len;
    pthread_mutex_lock(&c->lock);
    c->stats.put_bytes += bytes;
    c->added_since_evict += bytes;
    c->added = 1;
    int trim = c->added_since_evict > c->max_bytes / 8;
    if (trim)
        c->added_since_evict = 0;
    pthread_mutex_unlock(&c->lock);
    cc_remove_contained(w->xdir, w->first, w->first + w->n);
    if (trim)
        rc = weft_chunk_cache_evict(c, 0, NULL);
out:
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp[0])
        unlink(w->tmp);
    free(w->head);
    free(w);
    return rc;
}

int weft_chunk_cache_put(weft_chunk_cache *c, const weft_hash *xorb, uint32_t first,
                         const weft_xet_chunk *chunks, uint32_t n)
{
    weft_chunk_cache_writer *w = NULL;
    for (uint32_t i = 0; i < n; i++)
        if (!chunks[i].data || chunks[i].raw_len > WEFT_XET_MAX_CHUNK_LEN)
            return weft_err_set(WEFT_EINVALID, "chunk cache: chunk %u is absent or too long",
                                first + i);
    int rc = weft_chunk_cache_writer_open(&w, c, xorb, first, n);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = weft_chunk_cache_writer_add(w, &chunks[i]);
    if (rc < 0) {
        int keep = rc;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", weft_err_last());
        if (weft_chunk_cache_writer_close(w) < 0) {
            /* discarded, as intended */
        }
        return weft_err_set(keep, "%s", msg);
    }
    return weft_chunk_cache_writer_close(w);
}

/* ---- eviction ----------------------------------------------------------------------------- */

typedef struct cc_file {
    char *path;
    uint64_t size;
    struct timespec mtime;
} cc_file;

typedef struct cc_scan {
    cc_file *v;
    size_t n, cap;
    uint64_t total;
} cc_scan;

static int cc_scan_add(cc_scan *s, const char *path, const struct stat *st)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        cc_file *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = cap;
    }
    char *p = strdup(path);
    if (!p)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    s->v[s->n++] = (cc_file){p, (uint64_t)st->st_size, st->st_mtim};
    s->total += (uint64_t)st->st_size;
    return 0;
}

/* Collects the pieces under one xorb directory; deletes stale temp files. */
static int cc_scan_xorb(cc_scan *s, const char *xdir, time_t now)
{
    DIR *d = opendir(xdir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        cc_piece p;
        int is_tmp = strncmp(e->d_name, ".tmp-", 5) == 0;
        if (!is_tmp && cc_parse_name(&p, e->d_name) < 0)
            continue;
        int n = snprintf(path, sizeof path, "%s/%s", xdir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (is_tmp) {
            if (now - st.st_mtime > CC_TMP_MAX_AGE && unlink(path) != 0) {
                /* raced with its writer's rename or another cleaner */
            }
            continue;
        }
        rc = cc_scan_add(s, path, &st);
    }
    closedir(d);
    return rc;
}

static int cc_mtime_cmp(const void *a, const void *b)
{
    const cc_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

int weft_chunk_cache_evict(weft_chunk_cache *c, uint64_t max_bytes, uint64_t *total_out)
{
    cc_scan s = {0};
    int rc = 0;
    time_t now = time(NULL);
    if (!max_bytes)
        max_bytes = c->max_bytes;
    DIR *top = opendir(c->dir);
    if (!top)
        return weft_err_sys(WEFT_EIO, errno, "chunk cache: open %s", c->dir);
    struct dirent *e;
    while (rc == 0 && (e = readdir(top)) != NULL) {
        if (!weft_hex_is_lower(e->d_name, 2))
            continue;
        char fan[PATH_MAX];
        snprintf(fan, sizeof fan, "%s/%s", c->dir, e->d_name);
        DIR *d = opendir(fan);
        if (!d)
            continue;
        struct dirent *x;
        while (rc == 0 && (x = readdir(d)) != NULL) {
            if (!weft_hex_is_lower(x->d_name, WEFT_HASH_HEX_LEN))
                continue;
            char xdir[PATH_MAX];
            int n = snprintf(xdir, sizeof xdir, "%s/%s", fan, x->d_name);
            if (n > 0 && (size_t)n < sizeof xdir)
                rc = cc_scan_xorb(&s, xdir, now);
        }
        closedir(d);
    }
    closedir(top);
    if (rc < 0)
        goto out;
    if (s.total > max_bytes) {
        qsort(s.v, s.n, sizeof *s.v, cc_mtime_cmp);
        uint64_t evicted = 0;
        for (size_t i = 0; i < s.n && s.total > max_bytes; i++) {
            if (unlink(s.v[i].path) != 0 && errno != ENOENT)
                continue;
            s.total -= s.v[i].size;
            evicted += s.v[i].size;
            char *slash = strrchr(s.v[i].path, '/');
            *slash = '\0';
            if (rmdir(s.v[i].path) != 0) {
                /* other pieces of the xorb remain */
            }
        }
        cc_count(c, &c->stats.evicted_bytes, evicted);
    }
    if (total_out)
        *total_out = s.total;
out:
    for (size_t i = 0; i < s.n; i++)
        free(s.v[i].path);
    free(s.v);
    return rc;
}

int weft_chunk_cache_parse_size(uint64_t *out, const char *s)
{
    uint64_t v = 0;
    const char *p = s;
    if (!p || *p < '0' || *p > '9')
        return weft_err_set(WEFT_EINVALID, "bad size '%s' (expected e.g. 10G, 512M)", s ? s : "");
    while (*p >= '0' && *p <= '9') {
        if (v > UINT64_MAX / 10)
            return weft_err_set(WEFT_EINVALID, "size '%s' is too large", s);
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    unsigned shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        p++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        p++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        p++;
        break;
    case 't':
    case 'T':
        shift = 40;
        p++;
        break;
    default: break;
    }
    if (shift && (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0))
        p += strlen(p);
    else if (!shift && strcmp(p, "B") == 0)
        p++;
    if (*p)
        return weft_err_set(WEFT_EINVALID, "bad size '%s' (expected e.g. 10G, 512M)", s);
    if (shift && v > (UINT64_MAX >> shift))
        return weft_err_set(WEFT_EINVALID, "size '%s' is too large", s);
    *out = v << shift;
    return 0;
}
