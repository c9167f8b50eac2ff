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

/* Fills the absent chunks of [first, first + n) that piece p at `path` holds. Returns the number
 * filled, or a negative WEFT_E* for I/O failures; a piece that fails a check is dropped (0). */
static int cc_read_piece(weft_chunk_cache *c, const char *path, const cc_piece *p,
                         const weft_hash *xorb, weft_xet_chunk *chunks, uint32_t first, uint32_t n)
{
    uint32_t lo = p->first > first ? p->first : first;
    uint32_t hi = p->end < first + n ? p->end : first + n;
    uint32_t a = lo, b = hi; /* narrow to the absent chunks */
    while (a < b && chunks[a - first].data)
        a++;
    while (b > a && chunks[b - 1 - first].data)
        b--;
    if (a >= b)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* deleted or replaced meanwhile: a miss */
    uint32_t pn = p->end - p->first;
    size_t table_len = (size_t)CC_HEAD_LEN + (size_t)pn * CC_ENTRY_LEN;
    uint8_t *head = malloc(table_len + WEFT_HASH_LEN);
    int filled = 0, bad = 0;
    uint64_t hit = 0;
    if (!head) {
        filled = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < table_len + WEFT_HASH_LEN ||
        pread(fd, head, table_len + WEFT_HASH_LEN, 0) != (ssize_t)(table_len + WEFT_HASH_LEN)) {
        bad = 1;
        goto out;
    }
    weft_hash check;
    weft_xet_chunk_hash(&check, head, table_len);
    if (memcmp(head, CC_MAGIC, 8) != 0 || memcmp(head + 8, xorb->b, WEFT_HASH_LEN) != 0 ||
        weft_load_u32le(head + 40) != p->first || weft_load_u32le(head + 44) != pn ||
        memcmp(check.b, head + table_len, WEFT_HASH_LEN) != 0) {
        bad = 1;
        goto out;
    }
    uint64_t data_len = weft_load_u64le(head + 48), off = 0;
    for (uint32_t i = 0; i < pn; i++) {
        uint32_t raw = weft_load_u32le(head + CC_HEAD_LEN + (size_t)i * CC_ENTRY_LEN);
        if (raw > WEFT_XET_MAX_CHUNK_LEN) {
            bad = 1;
            goto out;
        }
        off += raw;
    }
    uint64_t data_start = table_len + WEFT_HASH_LEN;
    if (off != data_len || (uint64_t)st.st_size != data_start + data_len) {
        bad = 1;
        goto out;
    }
    /* Each chunk is read straight into its own buffer (no staging copy: fresh pages are what
     * costs here) and checked alone, so one damaged chunk costs only itself. */
    off = data_start;
    for (uint32_t i = p->first; i < b; i++) {
        const uint8_t *e = head + CC_HEAD_LEN + (size_t)(i - p->first) * CC_ENTRY_LEN;
        uint32_t raw = weft_load_u32le(e);
        weft_xet_chunk *ch = i >= a ? &chunks[i - first] : NULL;
        if (ch && !ch->data) {
            uint8_t *d = malloc(raw ? raw : 1);
            if (!d) {
                filled = weft_err_set(WEFT_ENOMEM, "out of memory");
                goto out;
            }
            weft_hash h;
            if (pread(fd, d, raw, (off_t)off) != (ssize_t)raw) {
                free(d);
                bad = 1;
                goto out;
            }
            weft_xet_chunk_hash(&h, d, raw);
            if (memcmp(h.b, e + 8, WEFT_HASH_LEN) != 0) {
                free(d);
                bad = 1; /* the piece goes; the chunks that matched their hashes are kept */
            } else {
                ch->data = d;
                ch->raw_len = raw;
                ch->phys_len = weft_load_u32le(e + 4);
                ch->hash = h;
                filled++;
                hit += raw;
            }
        }
        off += raw;
    }
    /* Recently used: eviction goes by mtime. */
    if (futimens(fd, NULL) != 0) {
        /* another user's cache file; still readable, just not refreshed */
    }
out:
    if (hit)
        cc_count(c, &c->stats.hit_bytes, hit);
    free(head);
    close(fd);
    if (bad)
        cc_drop(c, path);
    return filled;
}

int weft_chunk_cache_get(weft_chunk_cache *c, uint32_t *n_found, weft_xet_chunk *chunks,
                         const weft_hash *xorb, uint32_t first, uint32_t n)
{
    char xdir[PATH_MAX], path[PATH_MAX + 32];
    cc_piece *pieces = NULL;
    size_t n_pieces = 0;
    uint32_t found = 0;
    int rc = cc_xorb_dir(xdir, sizeof xdir, c, xorb);
    if (rc < 0)
        goto out;
    if (n == 0 || first > WEFT_XORB_MAX_CHUNKS || n > WEFT_XORB_MAX_CHUNKS - first)
        goto out;
    rc = cc_list(&pieces, &n_pieces, xdir);
    if (rc < 0)
        goto out;
    for (size_t k = 0; k < n_pieces; k++) {
        const cc_piece *p = &pieces[k];
        if (p->end <= first || p->first >= first + n)
            continue;
        snprintf(path, sizeof path, "%s/%u-%u", xdir, p->first, p->end);
        int got = cc_read_piece(c, path, p, xorb, chunks, first, n);
        if (got < 0) {
            rc = got;
            goto out;
        }
        found += (uint32_t)got;
    }
out:
    free(pieces);
    if (n_found)
        *n_found += found;
    return rc;
}

int weft_chunk_cache_put(weft_chunk_cache *c, const weft_hash *xorb, uint32_t first,
                         const weft_xet_chunk *chunks, uint32_t n)
{
    char xdir[PATH_MAX], path[PATH_MAX + 32], tmp[PATH_MAX + 64];
    weft_buf head;
    int fd = -1;
    cc_piece *pieces = NULL;
    size_t n_pieces = 0;
    weft_buf_init(&head, (size_t)CC_HEAD_LEN + (size_t)n * CC_ENTRY_LEN + WEFT_HASH_LEN);
    tmp[0] = '\0';
    int rc = cc_xorb_dir(xdir, sizeof xdir, c, xorb);
    if (rc < 0)
        goto out;
    if (n == 0 || first > WEFT_XORB_MAX_CHUNKS || n > WEFT_XORB_MAX_CHUNKS - first) {
        rc = weft_err_set(WEFT_EINVALID, "chunk cache: bad chunk range [%u, +%u)", first, n);
        goto out;
    }
    uint64_t data_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!chunks[i].data || chunks[i].raw_len > WEFT_XET_MAX_CHUNK_LEN) {
            rc = weft_err_set(WEFT_EINVALID, "chunk cache: chunk %u is absent or too long",
                              first + i);
            goto out;
        }
        data_len += chunks[i].raw_len;
    }
    rc = weft_buf_append(&head, CC_MAGIC, 8);
    if (rc == 0)
        rc = weft_buf_append(&head, xorb->b, WEFT_HASH_LEN);
    if (rc == 0)
        rc = weft_buf_put_u32le(&head, first);
    if (rc == 0)
        rc = weft_buf_put_u32le(&head, n);
    if (rc == 0)
        rc = weft_buf_put_u64le(&head, data_len);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        rc = weft_buf_put_u32le(&head, chunks[i].raw_len);
        if (rc == 0)
            rc = weft_buf_put_u32le(&head, chunks[i].phys_len);
        if (rc == 0)
            rc = weft_buf_append(&head, chunks[i].hash.b, WEFT_HASH_LEN);
    }
    if (rc < 0)
        goto out;
    weft_hash check;
    weft_xet_chunk_hash(&check, head.data, head.len);
    rc = weft_buf_append(&head, check.b, WEFT_HASH_LEN);
    if (rc == 0)
        rc = weft_fs_mkdirs(xdir);
    if (rc < 0)
        goto out;
    pthread_mutex_lock(&c->lock);
    unsigned seq = c->tmp_seq++;
    pthread_mutex_unlock(&c->lock);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%u", xdir, (long)getpid(), seq);
    snprintf(path, sizeof path, "%s/%u-%u", xdir, first, first + n);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: create %s", tmp);
        tmp[0] = '\0';
        goto out;
    }
    rc = weft_fs_write_full(fd, head.data, head.len, tmp);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = weft_fs_write_full(fd, chunks[i].data, chunks[i].raw_len, tmp);
    if (close(fd) != 0 && rc == 0)
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: close %s", tmp);
    fd = -1;
    if (rc < 0)
        goto out;
    /* No fsync: a piece torn by a crash fails its checks and is dropped on the next read. */
    if (rename(tmp, path) != 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "chunk cache: rename %s", tmp);
        goto out;
    }
    tmp[0] = '\0';
    uint64_t bytes = head.len + data_len;
    pthread_mutex_lock(&c->lock);
    c->stats.put_bytes += bytes;
    c->added_since_evict += bytes;
    c->added = 1;
    int trim = c->added_since_evict > c->max_bytes / 8;
    if (trim)
        c->added_since_evict = 0;
    pthread_mutex_unlock(&c->lock);
    /* Older pieces this one contains are redundant now. */
    if (cc_list(&pieces, &n_pieces, xdir) == 0) {
        for (size_t k = 0; k < n_pieces; k++) {
            const cc_piece *p = &pieces[k];
            if (p->first >= first && p->end <= first + n &&
                !(p->first == first && p->end == first + n)) {
                char old[PATH_MAX + 32];
                snprintf(old, sizeof old, "%s/%u-%u", xdir, p->first, p->end);
                if (unlink(old) != 0) {
                    /* another process removed it first */
                }
            }
        }
    }
    if (trim)
        rc = weft_chunk_cache_evict(c, 0, NULL);
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    free(pieces);
    weft_buf_dispose(&head);
    return rc;
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

/* Keeps only two-hex-digit fan-out names and 64-hex xorb names. */
static int cc_is_hex_name(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
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
        if (!cc_is_hex_name(e->d_name, 2))
            continue;
        char fan[PATH_MAX];
        snprintf(fan, sizeof fan, "%s/%s", c->dir, e->d_name);
        DIR *d = opendir(fan);
        if (!d)
            continue;
        struct dirent *x;
        while (rc == 0 && (x = readdir(d)) != NULL) {
            if (!cc_is_hex_name(x->d_name, WEFT_HASH_HEX_LEN))
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
