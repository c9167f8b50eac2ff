/* Reconstruction: a file or a byte range of it, streamed from its terms (include/weft/store.h).
 *
 * For each term that overlaps the range, the xorb's footer (loaded once per xorb per read and
 * kept in a small cache; with verification on, checked against the xorb's name so its chunk
 * hashes can be trusted) gives every chunk's physical and unpacked offsets, so only the chunks
 * that hold wanted bytes are read from the backend, in windows of up to READ_WINDOW bytes: read
 * amplification is the footer plus the partial chunks at the two ends. Each chunk's header is
 * checked against the footer, the chunk is decoded (raw chunks are used in place) and, when
 * verifying, re-hashed and compared before any of its bytes reach the caller.
 * If a xorb vanishes mid-read (a concurrent gc rewrote it), the read reloads the file's terms and
 * resumes where it stopped: the bytes are the same, only their place changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"
#include "weft/chunker.h"
#include "weft/fsutil.h"

#define READ_WINDOW (8u << 20)
#define READ_SMALL (4u << 20) /* reads shorter than this get an exactly sized window */
#define READ_FOOTER_CACHE 16
#define READ_RETRIES 3
/* One chunk as stored: header + the largest payload a header may declare. */
#define READ_CHUNK_MAX (WEFT_XORB_CHUNK_HEADER_LEN + WEFT_XORB_MAX_COMPRESSED_LEN)

typedef struct read_ctx {
    weft_store *s;
    int verify;
    weft_store_write_cb cb;
    void *payload;
    uint64_t emitted;
    struct {
        weft_hash xorb;
        weft_xorb_footer *f;
        char obj[WEFT_STORE_OBJ_MAX]; /* the object the footer came from */
    } cache[READ_FOOTER_CACHE];
    int no_delta;             /* reading a delta base: a delta chunk here is corrupt */
    weft_store__codec *codec; /* weight-frame decoding, made on first need */
    unsigned cache_next;
    uint8_t *window;
    size_t window_cap;
    int window_big;
    uint8_t *raw; /* one decoded chunk */
    /* The last chunk a read stopped inside, decoded (and verified when verifying): the next
     * read usually starts there (delta bases are read span by span), so it is not decoded and
     * hashed twice. Keyed by xorb hash and index: a xorb's raw bytes never change. */
    uint8_t *tail;
    weft_hash tail_xorb;
    uint32_t tail_k;
    int tail_ok;
} read_ctx;

static int read_footer(read_ctx *c, const weft_hash *xorb, const weft_xorb_footer **out,
                       const char **obj)
{
    for (unsigned i = 0; i < READ_FOOTER_CACHE; i++) {
        if (c->cache[i].f != NULL && weft_hash_eq(&c->cache[i].xorb, xorb)) {
            *out = c->cache[i].f;
            *obj = c->cache[i].obj;
            return 0;
        }
    }
    weft_xorb_footer *f = NULL;
    char name[WEFT_STORE_OBJ_MAX];
    int rc = weft_store__load_footer_obj(c->s, xorb, c->verify, &f, NULL, name, NULL);
    if (rc < 0)
        return rc;
    unsigned k = c->cache_next++ % READ_FOOTER_CACHE;
    weft_xorb_footer_free(c->cache[k].f);
    c->cache[k].xorb = *xorb;
    c->cache[k].f = f;
    memcpy(c->cache[k].obj, name, sizeof name);
    *out = f;
    *obj = c->cache[k].obj;
    return 0;
}

/* The window, sized on first use from the bytes the whole read wants. */
static int read_window(read_ctx *c, uint64_t want)
{
    if (c->window != NULL)
        return 0;
    if (want < READ_SMALL) {
        /* Wanted bytes, their chunk headers, and a partial chunk at each end. */
        c->window_cap = (size_t)want + (size_t)want / 256 + 2 * READ_CHUNK_MAX + 4096;
        c->window = malloc(c->window_cap);
    } else {
        c->window_cap = READ_WINDOW;
        c->window = weft_store__big_alloc(READ_WINDOW);
        c->window_big = 1;
    }
    c->raw = malloc(WEFT_XET_CHUNK_MAX);
    if (c->window == NULL || c->raw == NULL)
        return weft_err_set(WEFT_ENOMEM, "read: out of memory");
    return 0;
}

int weft_store__chunk_check(const weft_xorb_footer *f, uint32_t k, const uint8_t *chunk,
                            uint8_t *scratch, int verify, const uint8_t **raw_out)
{
    size_t plen = f->phys_off[k + 1] - f->phys_off[k];
    size_t raw_len = f->raw_off[k + 1] - f->raw_off[k];
    weft_xorb_chunk_header h;
    int rc = weft_xorb_chunk_header_parse(&h, chunk, plen);
    if (rc < 0)
        goto out;
    if (h.raw_len != raw_len || (size_t)h.compressed_len + WEFT_XORB_CHUNK_HEADER_LEN != plen) {
        rc = weft_err_set(WEFT_ECORRUPT, "chunk %u: header disagrees with the footer", k);
        goto out;
    }
    if (h.scheme == WEFT_XET_SCHEME_NONE) {
        *raw_out = chunk + WEFT_XORB_CHUNK_HEADER_LEN;
    } else {
        size_t got = 0;
        rc = weft_xorb_chunk_decode(scratch, WEFT_XET_CHUNK_MAX, &got, chunk, plen);
        if (rc < 0)
            goto out;
        *raw_out = scratch;
    }
    if (verify) {
        weft_hash hash;
        weft_xet_chunk_hash(&hash, *raw_out, raw_len);
        if (!weft_hash_eq(&hash, &f->chunk_hashes[k]))
            rc = weft_err_set(WEFT_ECORRUPT, "chunk %u does not match its hash", k);
    }
out:
    return rc;
}

/* Emits bytes [skip, skip + want) of a term. */
static int read_term(read_ctx *c, const weft_store_term *t, const weft_xorb_footer *f,
                     const char *obj, uint64_t skip, uint64_t want)
{
    char name[WEFT_HASH_HEX_LEN + 1];
    int rc = 0;
    weft_xet_hash_to_hex(name, &t->xorb);
    if (t->end > f->n_chunks || f->raw_off[t->end] - f->raw_off[t->start] != t->raw) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "xorb %s is damaged: its footer disagrees with the index (term "
                          "[%u, %u), %u chunks)",
                          name, t->start, t->end, f->n_chunks);
        goto out;
    }
    uint64_t pos = f->raw_off[t->start] + skip, stop = pos + want;
    uint32_t i = weft_xorb_footer_chunk_at(f, pos);
    if (c->tail_ok && c->tail_k == i && weft_hash_eq(&c->tail_xorb, &t->xorb)) {
        uint64_t from = pos - f->raw_off[i], avail = f->raw_off[i + 1] - pos;
        uint64_t n = avail < stop - pos ? avail : stop - pos;
        rc = c->cb(c->tail + from, (size_t)n, c->payload);
        if (rc < 0)
            goto out;
        pos += n;
        c->emitted += n;
        i++;
    }
    while (pos < stop) {
        /* One backend read covering as many needed chunks as fit the window. */
        uint32_t j = i + 1;
        while (j < t->end && f->raw_off[j] < stop &&
               f->phys_off[j + 1] - f->phys_off[i] <= c->window_cap)
            j++;
        rc = c->s->backend->get(c->s->backend, obj, f->phys_off[i], c->window,
                                f->phys_off[j] - f->phys_off[i]);
        if (rc < 0)
            goto out;
        for (uint32_t k = i; k < j && pos < stop; k++) {
            const uint8_t *raw = NULL;
            rc = weft_store__chunk_decode(c->s, &c->codec, !c->no_delta, f, k,
                                          c->window + (f->phys_off[k] - f->phys_off[i]), c->raw,
                                          c->verify, &raw);
            if (rc < 0) {
                rc = weft_err_wrap(WEFT_ECORRUPT, "xorb %s is damaged", name);
                goto out;
            }
            uint64_t from = pos - f->raw_off[k], avail = f->raw_off[k + 1] - pos;
            uint64_t n = avail < stop - pos ? avail : stop - pos;
            if (n < avail && c->tail != NULL) {
                /* The read ends inside this chunk: keep it for the next read. */
                memcpy(c->tail, raw, f->raw_off[k + 1] - f->raw_off[k]);
                c->tail_xorb = t->xorb;
                c->tail_k = k;
                c->tail_ok = 1;
            }
            rc = c->cb(raw + from, (size_t)n, c->payload);
            if (rc < 0)
                goto out;
            pos += n;
            c->emitted += n;
        }
        i = j;
    }
out:
    return rc;
}

/* Emits bytes [offset, offset + len) of the concatenation of terms (offset + len within it). */
static int read_terms(read_ctx *c, const weft_store_term *terms, size_t n_terms, uint64_t offset,
                      uint64_t len)
{
    uint64_t at = 0;
    int rc = 0;
    if (len > 0) {
        rc = read_window(c, len);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n_terms && len > 0; i++) {
        const weft_store_term *t = &terms[i];
        if (at + t->raw <= offset) {
            at += t->raw;
            continue;
        }
        const weft_xorb_footer *footer = NULL;
        const char *obj = NULL;
        rc = read_footer(c, &t->xorb, &footer, &obj);
        if (rc < 0)
            return rc;
        uint64_t skip = offset > at ? offset - at : 0;
        uint64_t want = t->raw - skip < len ? t->raw - skip : len;
        rc = read_term(c, t, footer, obj, skip, want);
        if (rc < 0)
            return rc;
        len -= want;
        offset += want;
        at += t->raw;
    }
    return 0;
}

/* One attempt: bytes [offset, offset + len) from the file's current terms. */
static int read_range(read_ctx *c, const weft_hash *file, uint64_t offset, uint64_t len, int first)
{
    weft_store_term *terms = NULL;
    size_t n_terms = 0;
    uint64_t total = 0;
    weft_store_file info;
    /* The file row and its terms from one snapshot (a read transaction never blocks writers). */
    int rc = weft_store__exec(c->s, "BEGIN");
    if (rc < 0)
        goto out;
    rc = weft_store_stat(c->s, file, &info);
    if (rc == 0)
        rc = weft_store__terms_load(c->s, file, &terms, &n_terms);
    weft_store__rollback(c->s);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n_terms; i++)
        total += terms[i].raw; /* each bounded by terms_load: no overflow */
    if (total != info.size) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "store index: the file's terms hold %llu bytes but it has %llu; run "
                          "weft store fsck",
                          (unsigned long long)total, (unsigned long long)info.size);
        goto out;
    }
    if (first && offset > total) {
        rc = weft_err_set(WEFT_EINVALID,
                          "range starts at byte %llu, past the end of the file (%llu bytes)",
                          (unsigned long long)offset, (unsigned long long)total);
        goto out;
    }
    if (offset > total)
        offset = total;
    if (len > total - offset)
        len = total - offset;
    rc = read_terms(c, terms, n_terms, offset, len);
out:
    free(terms);
    return rc;
}

static void read_ctx_dispose(read_ctx *c)
{
    for (unsigned i = 0; i < READ_FOOTER_CACHE; i++)
        weft_xorb_footer_free(c->cache[i].f);
    if (c->window_big)
        weft_store__big_free(c->window, c->window_cap);
    else
        free(c->window);
    free(c->raw);
    free(c->tail);
    weft_store__codec_free(c->codec);
}

/* Bytes [offset, offset + len) through c, reloading the terms when a xorb vanished under the read
 * (a concurrent gc moved them) and resuming after the bytes already passed on. */
static int read_with_retries(read_ctx *c, const weft_hash *file, uint64_t offset, uint64_t len,
                             int first)
{
    uint64_t start = c->emitted;
    int rc = 0;
    for (int attempt = 0; attempt <= READ_RETRIES; attempt++) {
        uint64_t done = c->emitted - start;
        rc = read_range(c, file, offset + done, len == UINT64_MAX ? len : len - done,
                        first && attempt == 0);
        if (rc != WEFT_ENOTFOUND || attempt == READ_RETRIES)
            break;
        /* A xorb is gone: if the file still exists, its terms moved (gc); read them again. */
        char msg[512];
        weft_store_file f;
        snprintf(msg, sizeof msg, "%s", weft_err_last());
        if (weft_store_stat(c->s, file, &f) < 0) {
            rc = weft_err_set(WEFT_ENOTFOUND, "%s", msg);
            break;
        }
        for (unsigned i = 0; i < READ_FOOTER_CACHE; i++) {
            weft_xorb_footer_free(c->cache[i].f);
            c->cache[i].f = NULL;
        }
    }
    return rc;
}

int weft_store_read(weft_store *s, const weft_hash *file, uint64_t offset, uint64_t len, int flags,
                    weft_store_write_cb cb, void *payload)
{
    read_ctx c = {
        .s = s, .verify = !(flags & WEFT_STORE_READ_NO_VERIFY), .cb = cb, .payload = payload};
    int rc = read_with_retries(&c, file, offset, len, 1);
    read_ctx_dispose(&c);
    return rc;
}

struct weft_store_reader {
    read_ctx c;
    weft_hash file;
    uint64_t pos, end;
};

int weft_store_reader_open(weft_store *s, const weft_hash *file, uint64_t offset, uint64_t len,
                           int flags, weft_store_reader **out)
{
    *out = NULL;
    weft_store_file info;
    int rc = weft_store_stat(s, file, &info);
    if (rc < 0)
        return rc;
    if (offset > info.size)
        return weft_err_set(WEFT_EINVALID,
                            "range starts at byte %llu, past the end of the file (%llu bytes)",
                            (unsigned long long)offset, (unsigned long long)info.size);
    weft_store_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return weft_err_set(WEFT_ENOMEM, "read: out of memory");
    r->c.s = s;
    r->c.verify = !(flags & WEFT_STORE_READ_NO_VERIFY);
    r->file = *file;
    r->pos = offset;
    r->end = len > info.size - offset ? info.size : offset + len;
    *out = r;
    return 0;
}

int weft_store_reader_next(weft_store_reader *r, uint64_t max, weft_store_write_cb cb,
                           void *payload)
{
    if (r->pos >= r->end || max == 0)
        return 0;
    uint64_t n = r->end - r->pos < max ? r->end - r->pos : max;
    r->c.cb = cb;
    r->c.payload = payload;
    uint64_t before = r->c.emitted;
    int rc = read_with_retries(&r->c, &r->file, r->pos, n, 0);
    r->pos += r->c.emitted - before;
    return rc;
}

uint64_t weft_store_reader_left(const weft_store_reader *r)
{
    return r->end - r->pos;
}

void weft_store_reader_close(weft_store_reader *r)
{
    if (r == NULL)
        return;
    read_ctx_dispose(&r->c);
    free(r);
}

int weft_store__read_terms(weft_store *s, const weft_store_term *terms, size_t n_terms, int flags,
                           weft_store_write_cb cb, void *payload)
{
    read_ctx c = {
        .s = s, .verify = !(flags & WEFT_STORE_READ_NO_VERIFY), .cb = cb, .payload = payload};
    uint64_t total = 0;
    for (size_t i = 0; i < n_terms; i++)
        total += terms[i].raw; /* each ≤ 8,192 × 128 KiB: callers bound n_terms */
    int rc = read_terms(&c, terms, n_terms, 0, total);
    read_ctx_dispose(&c);
    return rc;
}

static int read_write_fd(const uint8_t *p, size_t n, void *payload)
{
    return weft_fs_write_full(*(const int *)payload, p, n, "output");
}

int weft_store_read_fd(weft_store *s, const weft_hash *file, uint64_t offset, uint64_t len,
                       int flags, int fd)
{
    return weft_store_read(s, file, offset, len, flags, read_write_fd, &fd);
}

/* ---- whole-file readers for delta bases ---------------------------------------------------- */

struct weft_store__file_reader {
    read_ctx c;
    weft_hash file;
    weft_store_term *terms;
    size_t n_terms;
    uint64_t size;
    uint8_t *dst; /* where the current read writes */
};

static int file_reader_put(const uint8_t *p, size_t n, void *payload)
{
    weft_store__file_reader *r = payload;
    memcpy(r->dst, p, n);
    r->dst += n;
    return 0;
}

int weft_store__file_reader_open(weft_store *s, const weft_hash *file, int flags, int no_delta,
                                 weft_store__file_reader **out)
{
    weft_store_file info;
    weft_store__file_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return weft_err_set(WEFT_ENOMEM, "read: out of memory");
    r->c.s = s;
    r->c.verify = !(flags & WEFT_STORE_READ_NO_VERIFY);
    r->c.no_delta = no_delta;
    r->c.cb = file_reader_put;
    r->c.payload = r;
    r->c.tail = malloc(WEFT_XET_CHUNK_MAX);
    r->file = *file;
    int rc = r->c.tail ? weft_store_stat(s, file, &info)
                       : weft_err_set(WEFT_ENOMEM, "read: out of memory");
    if (rc == 0)
        rc = weft_store__terms_load(s, file, &r->terms, &r->n_terms);
    for (size_t i = 0; rc == 0 && i < r->n_terms; i++)
        r->size += r->terms[i].raw;
    if (rc == 0 && r->size != info.size)
        rc = weft_err_set(WEFT_ECORRUPT, "store index: the file's terms disagree with its size");
    if (rc < 0) {
        weft_store__file_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

uint64_t weft_store__file_reader_size(const weft_store__file_reader *r)
{
    return r->size;
}

int weft_store__file_reader_read(weft_store__file_reader *r, uint64_t offset, uint8_t *dst,
                                 size_t len)
{
    if (offset > r->size || len > r->size - offset)
        return weft_err_set(WEFT_ECORRUPT, "read: bytes [%llu, +%zu) are past the end of the file",
                            (unsigned long long)offset, len);
    r->dst = dst;
    int rc = read_terms(&r->c, r->terms, r->n_terms, offset, len);
    for (int attempt = 0; rc == WEFT_ENOTFOUND && attempt < READ_RETRIES; attempt++) {
        /* A xorb's object changed under the reader (optimize re-coded it, gc moved it): forget
         * the footers and read again from the current terms. The raw bytes are the same, so the
         * kept chunk stays valid. */
        for (unsigned i = 0; i < READ_FOOTER_CACHE; i++) {
            weft_xorb_footer_free(r->c.cache[i].f);
            r->c.cache[i].f = NULL;
        }
        free(r->terms);
        r->terms = NULL;
        r->n_terms = 0;
        uint64_t size = 0;
        rc = weft_store__terms_load(r->c.s, &r->file, &r->terms, &r->n_terms);
        for (size_t i = 0; rc == 0 && i < r->n_terms; i++)
            size += r->terms[i].raw;
        if (rc == 0 && size != r->size)
            rc = weft_err_set(WEFT_ECORRUPT, "store index: the file's terms changed size");
        if (rc == 0) {
            r->dst = dst;
            rc = read_terms(&r->c, r->terms, r->n_terms, offset, len);
        }
    }
    return rc;
}

void weft_store__file_reader_free(weft_store__file_reader *r)
{
    if (r == NULL)
        return;
    read_ctx_dispose(&r->c);
    free(r->terms);
    free(r);
}
