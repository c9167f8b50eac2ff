/* MDB shard v2 codec (include/weft/shard.h, specs/xet-storage.md §1.4; byte layout from
 * xet-core metadata_shard/shard_format.rs, file_structs.rs, xorb_structs.rs). */
#include <stdlib.h>
#include <string.h>

#include "weft/shard.h"
#include "weft/xet_compress.h"
#include "weft/xorb.h"
#include "xet/cursor.h"

const uint8_t WEFT_SHARD_TAG[32] = {'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D',
                                    'a', 't', 'a', 0,   85,  105, 103, 69,  106, 123, 129,
                                    87,  131, 165, 189, 217, 92,  205, 209, 74,  169};

typedef struct shard_priv {
    uint32_t cap_files;
    uint32_t cap_xorbs;
} shard_priv;

/* ---- in-memory building ------------------------------------------------------------------ */

int weft_shard_new(weft_shard **out)
{
    weft_shard *s = calloc(1, sizeof *s);
    shard_priv *priv = calloc(1, sizeof *priv);
    if (s == NULL || priv == NULL) {
        free(s);
        free(priv);
        return weft_err_set(WEFT_ENOMEM, "shard: no memory");
    }
    s->priv_ = priv;
    s->footer.key_expiry = UINT64_MAX; /* xet-core's default: no expiry */
    *out = s;
    return 0;
}

static void shard_file_dispose(weft_shard_file *f)
{
    free(f->terms);
    free(f->verification);
}

void weft_shard_free(weft_shard *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->n_files; i++)
        shard_file_dispose(&s->files[i]);
    for (uint32_t i = 0; i < s->n_xorbs; i++)
        free(s->xorbs[i].chunks);
    free(s->files);
    free(s->xorbs);
    free(s->priv_);
    free(s);
}

/* Makes room for one more element in *arr (count n, capacity *cap). */
static int shard_grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    if (n >= UINT32_MAX / 2)
        return weft_err_set(WEFT_ELIMIT, "shard: too many entries");
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for %u entries", ncap);
    *arr = p;
    *cap = ncap;
    return 0;
}

static void *shard_dup(const void *src, size_t n, size_t elem)
{
    void *p = malloc(n ? n * elem : 1);
    if (p != NULL && n > 0)
        memcpy(p, src, n * elem);
    return p;
}

int weft_shard_add_file(weft_shard *s, const weft_hash *file_hash, const weft_shard_term *terms,
                        uint32_t n_terms, const weft_hash *verification, const uint8_t *sha256)
{
    shard_priv *priv = s->priv_;
    int rc = shard_grow((void **)&s->files, &priv->cap_files, s->n_files, sizeof *s->files);
    if (rc < 0)
        return rc;
    weft_shard_file f;
    memset(&f, 0, sizeof f);
    f.hash = *file_hash;
    f.n_terms = n_terms;
    f.terms = shard_dup(terms, n_terms, sizeof *terms);
    if (verification != NULL)
        f.verification = shard_dup(verification, n_terms, sizeof *verification);
    if (f.terms == NULL || (verification != NULL && f.verification == NULL)) {
        shard_file_dispose(&f);
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for %u terms", n_terms);
    }
    if (verification != NULL)
        f.flags |= WEFT_SHARD_FILE_FLAG_VERIFICATION;
    if (sha256 != NULL) {
        f.has_sha256 = 1;
        memcpy(f.sha256, sha256, 32);
        f.flags |= WEFT_SHARD_FILE_FLAG_METADATA_EXT;
    }
    s->files[s->n_files++] = f;
    return 0;
}

int weft_shard_add_xorb(weft_shard *s, const weft_hash *xorb_hash, const weft_shard_chunk *chunks,
                        uint32_t n_chunks, uint32_t stored_len)
{
    shard_priv *priv = s->priv_;
    int rc = shard_grow((void **)&s->xorbs, &priv->cap_xorbs, s->n_xorbs, sizeof *s->xorbs);
    if (rc < 0)
        return rc;
    weft_shard_xorb x;
    memset(&x, 0, sizeof x);
    x.hash = *xorb_hash;
    x.n_chunks = n_chunks;
    x.stored_len = stored_len;
    uint64_t raw = 0;
    for (uint32_t i = 0; i < n_chunks; i++)
        raw += chunks[i].raw_len;
    if (raw > UINT32_MAX)
        return weft_err_set(WEFT_ELIMIT, "shard: xorb of %llu bytes does not fit the format",
                            (unsigned long long)raw);
    x.raw_len = (uint32_t)raw;
    x.chunks = shard_dup(chunks, n_chunks, sizeof *chunks);
    if (x.chunks == NULL)
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for %u chunks", n_chunks);
    s->xorbs[s->n_xorbs++] = x;
    return 0;
}

uint64_t weft_shard_file_size(const weft_shard_file *f)
{
    uint64_t size = 0;
    for (uint32_t i = 0; i < f->n_terms; i++)
        size += f->terms[i].raw_len;
    return size;
}

void weft_shard_apply_hmac(weft_shard *s, const uint8_t key[32])
{
    for (uint32_t i = 0; i < s->n_xorbs; i++)
        for (uint32_t j = 0; j < s->xorbs[i].n_chunks; j++) {
            weft_hash h = s->xorbs[i].chunks[j].hash;
            weft_xet_hmac(&s->xorbs[i].chunks[j].hash, &h, key);
        }
    memcpy(s->footer.hmac_key, key, 32);
    s->has_footer = 1;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* SHA-256 in the metadata ext: each 8-byte word byte-reversed (its own inverse). */
static void shard_sha_swap(uint8_t out[32], const uint8_t in[32])
{
    for (int w = 0; w < 4; w++)
        for (int k = 0; k < 8; k++)
            out[8 * w + k] = in[8 * w + 7 - k];
}

static int shard_is_bookend(const uint8_t *e)
{
    for (int i = 0; i < 32; i++)
        if (e[i] != 0xFF)
            return 0;
    return 1;
}

/* Checks that `count` records of `size` bytes fit in what is left of c. */
static int shard_fits(const xet_cursor *c, uint64_t count, uint64_t size, const char *what,
                      uint32_t index)
{
    uint64_t need;
    if (__builtin_mul_overflow(count, size, &need) || need > xet_cursor_left(c))
        return weft_err_set(WEFT_ECORRUPT,
                            "shard: %s %u declares %llu entries, more than the %zu bytes left",
                            what, index, (unsigned long long)count, xet_cursor_left(c));
    return 0;
}

static int shard_parse_file(weft_shard_file *f, xet_cursor *c, const uint8_t *hdr, uint32_t index)
{
    memcpy(f->hash.b, hdr, 32);
    f->flags = weft_load_u32le(hdr + 32);
    f->n_terms = weft_load_u32le(hdr + 36);
    int has_ver = (f->flags & WEFT_SHARD_FILE_FLAG_VERIFICATION) != 0;
    int has_ext = (f->flags & WEFT_SHARD_FILE_FLAG_METADATA_EXT) != 0;
    uint64_t entries = (uint64_t)f->n_terms * (has_ver ? 2 : 1) + (has_ext ? 1 : 0);
    int rc = shard_fits(c, entries, WEFT_SHARD_ENTRY_LEN, "file", index);
    if (rc < 0)
        return rc;
    f->terms = malloc(f->n_terms ? (size_t)f->n_terms * sizeof *f->terms : 1);
    if (has_ver)
        f->verification = malloc(f->n_terms ? (size_t)f->n_terms * sizeof(weft_hash) : 1);
    if (f->terms == NULL || (has_ver && f->verification == NULL))
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for file %u", index);
    for (uint32_t i = 0; i < f->n_terms; i++) {
        const uint8_t *e = xet_cursor_take(c, WEFT_SHARD_ENTRY_LEN);
        weft_shard_term *t = &f->terms[i];
        memcpy(t->xorb_hash.b, e, 32);
        t->xorb_flags = weft_load_u32le(e + 32);
        t->raw_len = weft_load_u32le(e + 36);
        t->chunk_start = weft_load_u32le(e + 40);
        t->chunk_end = weft_load_u32le(e + 44);
    }
    for (uint32_t i = 0; has_ver && i < f->n_terms; i++)
        memcpy(f->verification[i].b, xet_cursor_take(c, WEFT_SHARD_ENTRY_LEN), 32);
    if (has_ext) {
        f->has_sha256 = 1;
        shard_sha_swap(f->sha256, xet_cursor_take(c, WEFT_SHARD_ENTRY_LEN));
    }
    return 0;
}

static int shard_parse_xorb(weft_shard_xorb *x, xet_cursor *c, const uint8_t *hdr, uint32_t index)
{
    memcpy(x->hash.b, hdr, 32);
    x->flags = weft_load_u32le(hdr + 32);
    x->n_chunks = weft_load_u32le(hdr + 36);
    x->raw_len = weft_load_u32le(hdr + 40);
    x->stored_len = weft_load_u32le(hdr + 44);
    int rc = shard_fits(c, x->n_chunks, WEFT_SHARD_ENTRY_LEN, "xorb", index);
    if (rc < 0)
        return rc;
    x->chunks = malloc(x->n_chunks ? (size_t)x->n_chunks * sizeof *x->chunks : 1);
    if (x->chunks == NULL)
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for xorb %u", index);
    for (uint32_t i = 0; i < x->n_chunks; i++) {
        const uint8_t *e = xet_cursor_take(c, WEFT_SHARD_ENTRY_LEN);
        weft_shard_chunk *k = &x->chunks[i];
        memcpy(k->hash.b, e, 32);
        k->raw_off = weft_load_u32le(e + 32);
        k->raw_len = weft_load_u32le(e + 36);
        k->flags = weft_load_u32le(e + 40);
    }
    return 0;
}

/* A lookup table of n entries of `size` bytes at off must sit in [lo, hi). */
static int shard_check_lookup(uint64_t off, uint64_t n, uint64_t size, uint64_t lo, uint64_t hi,
                              const char *what)
{
    uint64_t bytes, end;
    if (n == 0)
        return 0;
    if (__builtin_mul_overflow(n, size, &bytes) || __builtin_add_overflow(off, bytes, &end) ||
        off < lo || end > hi)
        return weft_err_set(WEFT_ECORRUPT,
                            "shard footer: %s lookup table (%llu entries at %llu) "
                            "is outside %llu..%llu",
                            what, (unsigned long long)n, (unsigned long long)off,
                            (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}

static int shard_parse_footer(weft_shard_footer *ft, const uint8_t *p, uint64_t len,
                              uint64_t xorb_info_offset, uint64_t tables_start)
{
    const uint8_t *f = p + len - WEFT_SHARD_FOOTER_LEN;
    uint64_t version = weft_load_u64le(f);
    if (version != WEFT_SHARD_FOOTER_VERSION)
        return weft_err_set(WEFT_ECORRUPT, "shard footer: version %llu, expected 1",
                            (unsigned long long)version);
    ft->file_info_offset = weft_load_u64le(f + 8);
    ft->xorb_info_offset = weft_load_u64le(f + 16);
    ft->file_lookup_offset = weft_load_u64le(f + 24);
    ft->file_lookup_n = weft_load_u64le(f + 32);
    ft->xorb_lookup_offset = weft_load_u64le(f + 40);
    ft->xorb_lookup_n = weft_load_u64le(f + 48);
    ft->chunk_lookup_offset = weft_load_u64le(f + 56);
    ft->chunk_lookup_n = weft_load_u64le(f + 64);
    memcpy(ft->hmac_key, f + 72, 32);
    ft->created = weft_load_u64le(f + 104);
    ft->key_expiry = weft_load_u64le(f + 112);
    /* f + 120: 48 reserved bytes */
    ft->stored_bytes_on_disk = weft_load_u64le(f + 168);
    ft->materialized_bytes = weft_load_u64le(f + 176);
    ft->stored_bytes = weft_load_u64le(f + 184);
    ft->footer_offset = weft_load_u64le(f + 192);
    uint64_t footer_at = len - WEFT_SHARD_FOOTER_LEN;
    if (ft->footer_offset != footer_at)
        return weft_err_set(WEFT_ECORRUPT, "shard footer: footer offset %llu, it is at %llu",
                            (unsigned long long)ft->footer_offset, (unsigned long long)footer_at);
    if (ft->file_info_offset != WEFT_SHARD_HEADER_LEN)
        return weft_err_set(WEFT_ECORRUPT, "shard footer: file info offset %llu, expected 48",
                            (unsigned long long)ft->file_info_offset);
    if (ft->xorb_info_offset != xorb_info_offset)
        return weft_err_set(WEFT_ECORRUPT, "shard footer: xorb info offset %llu, expected %llu",
                            (unsigned long long)ft->xorb_info_offset,
                            (unsigned long long)xorb_info_offset);
    int rc = shard_check_lookup(ft->file_lookup_offset, ft->file_lookup_n, 12, tables_start,
                                footer_at, "file");
    if (rc == 0)
        rc = shard_check_lookup(ft->xorb_lookup_offset, ft->xorb_lookup_n, 12, tables_start,
                                footer_at, "xorb");
    if (rc == 0)
        rc = shard_check_lookup(ft->chunk_lookup_offset, ft->chunk_lookup_n, 16, tables_start,
                                footer_at, "chunk");
    return rc;
}

int weft_shard_parse(weft_shard **out, const uint8_t *p, size_t len)
{
    weft_shard *s = NULL;
    xet_cursor c;
    int rc;
    if (len > WEFT_SHARD_MAX_BYTES)
        return weft_err_set(WEFT_ELIMIT, "shard: %zu bytes is over %u", len, WEFT_SHARD_MAX_BYTES);
    if (len < WEFT_SHARD_HEADER_LEN + 2 * WEFT_SHARD_ENTRY_LEN)
        return weft_err_set(WEFT_ECORRUPT, "shard: %zu bytes is too short", len);
    if (memcmp(p, WEFT_SHARD_TAG, 32) != 0)
        return weft_err_set(WEFT_ECORRUPT, "shard: bad magic tag");
    uint64_t version = weft_load_u64le(p + 32), footer_size = weft_load_u64le(p + 40);
    if (version != WEFT_SHARD_VERSION)
        return weft_err_set(WEFT_ECORRUPT, "shard: version %llu, expected 2",
                            (unsigned long long)version);
    if (footer_size != 0 && footer_size != WEFT_SHARD_FOOTER_LEN)
        return weft_err_set(WEFT_ECORRUPT, "shard: footer size %llu, expected 0 or 200",
                            (unsigned long long)footer_size);
    if (len < WEFT_SHARD_HEADER_LEN + 2 * WEFT_SHARD_ENTRY_LEN + footer_size)
        return weft_err_set(WEFT_ECORRUPT, "shard: %zu bytes is too short for its footer", len);
    rc = weft_shard_new(&s);
    if (rc < 0)
        return rc;
    shard_priv *priv = s->priv_;
    xet_cursor_init(&c, p, len - (size_t)footer_size);
    c.p += WEFT_SHARD_HEADER_LEN;

    for (;;) {
        const uint8_t *hdr = xet_cursor_take(&c, WEFT_SHARD_ENTRY_LEN);
        if (hdr == NULL) {
            rc = weft_err_set(WEFT_ECORRUPT, "shard: file section has no bookend");
            goto out;
        }
        if (shard_is_bookend(hdr))
            break;
        rc = shard_grow((void **)&s->files, &priv->cap_files, s->n_files, sizeof *s->files);
        if (rc < 0)
            goto out;
        weft_shard_file *f = &s->files[s->n_files++];
        memset(f, 0, sizeof *f);
        rc = shard_parse_file(f, &c, hdr, s->n_files - 1);
        if (rc < 0)
            goto out;
    }
    uint64_t xorb_info_offset = xet_cursor_pos(&c);
    for (;;) {
        const uint8_t *hdr = xet_cursor_take(&c, WEFT_SHARD_ENTRY_LEN);
        if (hdr == NULL) {
            rc = weft_err_set(WEFT_ECORRUPT, "shard: xorb section has no bookend");
            goto out;
        }
        if (shard_is_bookend(hdr))
            break;
        rc = shard_grow((void **)&s->xorbs, &priv->cap_xorbs, s->n_xorbs, sizeof *s->xorbs);
        if (rc < 0)
            goto out;
        weft_shard_xorb *x = &s->xorbs[s->n_xorbs++];
        memset(x, 0, sizeof *x);
        rc = shard_parse_xorb(x, &c, hdr, s->n_xorbs - 1);
        if (rc < 0)
            goto out;
    }
    if (footer_size == 0) {
        if (xet_cursor_left(&c) != 0) {
            rc = weft_err_set(WEFT_ECORRUPT, "shard: %zu bytes after the xorb section",
                              xet_cursor_left(&c));
            goto out;
        }
    } else {
        s->has_footer = 1;
        rc = shard_parse_footer(&s->footer, p, len, xorb_info_offset, xet_cursor_pos(&c));
        if (rc < 0)
            goto out;
    }
    *out = s;
    s = NULL;
out:
    weft_shard_free(s);
    return rc;
}

/* ---- serialization ----------------------------------------------------------------------- */

static uint8_t *shard_put_entry(uint8_t *p, const weft_hash *h, uint32_t a, uint32_t b, uint32_t c,
                                uint32_t d)
{
    memcpy(p, h->b, 32);
    weft_store_u32le(p + 32, a);
    weft_store_u32le(p + 36, b);
    weft_store_u32le(p + 40, c);
    weft_store_u32le(p + 44, d);
    return p + WEFT_SHARD_ENTRY_LEN;
}

static uint8_t *shard_put_bookend(uint8_t *p)
{
    memset(p, 0xFF, 32);
    memset(p + 32, 0, 16);
    return p + WEFT_SHARD_ENTRY_LEN;
}

typedef struct shard_lookup {
    uint64_t key;
    uint32_t a, b;
} shard_lookup;

static int shard_lookup_cmp(const void *x, const void *y)
{
    const shard_lookup *l = x, *r = y;
    if (l->key != r->key)
        return l->key < r->key ? -1 : 1;
    if (l->a != r->a)
        return l->a < r->a ? -1 : 1;
    if (l->b != r->b)
        return l->b < r->b ? -1 : 1;
    return 0;
}

static uint64_t shard_file_entries(const weft_shard_file *f)
{
    return 1 + (uint64_t)f->n_terms * (f->verification != NULL ? 2 : 1) + (f->has_sha256 ? 1 : 0);
}

int weft_shard_serialize(weft_buf *out, const weft_shard *s, int with_footer)
{
    uint64_t file_entries = 0, xorb_entries = 0, n_chunks = 0;
    shard_lookup *lk = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < s->n_files; i++)
        file_entries += shard_file_entries(&s->files[i]);
    for (uint32_t i = 0; i < s->n_xorbs; i++) {
        xorb_entries += 1 + (uint64_t)s->xorbs[i].n_chunks;
        n_chunks += s->xorbs[i].n_chunks;
    }
    uint64_t n_lookups = s->n_files + s->n_xorbs + n_chunks;
    uint64_t total =
        WEFT_SHARD_HEADER_LEN + (file_entries + xorb_entries + 2) * WEFT_SHARD_ENTRY_LEN;
    if (with_footer)
        total += 12 * (uint64_t)(s->n_files + s->n_xorbs) + 16 * n_chunks + WEFT_SHARD_FOOTER_LEN;
    if (total > WEFT_SHARD_MAX_BYTES)
        return weft_err_set(WEFT_ELIMIT, "shard: %llu bytes is over %u", (unsigned long long)total,
                            WEFT_SHARD_MAX_BYTES);
    rc = weft_buf_reserve(out, (size_t)total);
    if (rc < 0)
        return rc;
    uint8_t *base = out->data + out->len, *p = base;

    memcpy(p, WEFT_SHARD_TAG, 32);
    weft_store_u64le(p + 32, WEFT_SHARD_VERSION);
    weft_store_u64le(p + 40, with_footer ? WEFT_SHARD_FOOTER_LEN : 0);
    p += WEFT_SHARD_HEADER_LEN;

    uint64_t materialized = 0;
    for (uint32_t i = 0; i < s->n_files; i++) {
        const weft_shard_file *f = &s->files[i];
        uint32_t flags =
            f->flags & ~(WEFT_SHARD_FILE_FLAG_VERIFICATION | WEFT_SHARD_FILE_FLAG_METADATA_EXT);
        if (f->verification != NULL)
            flags |= WEFT_SHARD_FILE_FLAG_VERIFICATION;
        if (f->has_sha256)
            flags |= WEFT_SHARD_FILE_FLAG_METADATA_EXT;
        p = shard_put_entry(p, &f->hash, flags, f->n_terms, 0, 0);
        for (uint32_t j = 0; j < f->n_terms; j++) {
            const weft_shard_term *t = &f->terms[j];
            p = shard_put_entry(p, &t->xorb_hash, t->xorb_flags, t->raw_len, t->chunk_start,
                                t->chunk_end);
            materialized += t->raw_len;
        }
        for (uint32_t j = 0; f->verification != NULL && j < f->n_terms; j++)
            p = shard_put_entry(p, &f->verification[j], 0, 0, 0, 0);
        if (f->has_sha256) {
            weft_hash sha;
            shard_sha_swap(sha.b, f->sha256);
            p = shard_put_entry(p, &sha, 0, 0, 0, 0);
        }
    }
    p = shard_put_bookend(p);
    uint64_t xorb_info_offset = (uint64_t)(p - base);

    uint64_t on_disk = 0, stored = 0;
    for (uint32_t i = 0; i < s->n_xorbs; i++) {
        const weft_shard_xorb *x = &s->xorbs[i];
        p = shard_put_entry(p, &x->hash, x->flags, x->n_chunks, x->raw_len, x->stored_len);
        for (uint32_t j = 0; j < x->n_chunks; j++) {
            const weft_shard_chunk *k = &x->chunks[j];
            p = shard_put_entry(p, &k->hash, k->raw_off, k->raw_len, k->flags, 0);
        }
        on_disk += x->stored_len;
        stored += x->raw_len;
    }
    p = shard_put_bookend(p);

    if (with_footer) {
        lk = malloc(n_lookups ? (size_t)n_lookups * sizeof *lk : 1);
        if (lk == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "shard: no memory for %llu lookup entries",
                              (unsigned long long)n_lookups);
            goto out;
        }
        /* Keys are the first 8 hash bytes as a little-endian u64 (xet-core truncate_hash). */
        shard_lookup *fl = lk, *xl = lk + s->n_files, *cl = xl + s->n_xorbs;
        uint32_t idx = 0;
        for (uint32_t i = 0; i < s->n_files; i++) {
            fl[i] = (shard_lookup){weft_load_u64le(s->files[i].hash.b), idx, 0};
            idx += (uint32_t)shard_file_entries(&s->files[i]);
        }
        idx = 0;
        size_t nc = 0;
        for (uint32_t i = 0; i < s->n_xorbs; i++) {
            xl[i] = (shard_lookup){weft_load_u64le(s->xorbs[i].hash.b), idx, 0};
            for (uint32_t j = 0; j < s->xorbs[i].n_chunks; j++)
                cl[nc++] = (shard_lookup){weft_load_u64le(s->xorbs[i].chunks[j].hash.b), idx, j};
            idx += 1 + s->xorbs[i].n_chunks;
        }
        qsort(fl, s->n_files, sizeof *fl, shard_lookup_cmp);
        qsort(xl, s->n_xorbs, sizeof *xl, shard_lookup_cmp);
        qsort(cl, nc, sizeof *cl, shard_lookup_cmp);

        uint64_t file_lookup_offset = (uint64_t)(p - base);
        for (uint32_t i = 0; i < s->n_files; i++, p += 12) {
            weft_store_u64le(p, fl[i].key);
            weft_store_u32le(p + 8, fl[i].a);
        }
        uint64_t xorb_lookup_offset = (uint64_t)(p - base);
        for (uint32_t i = 0; i < s->n_xorbs; i++, p += 12) {
            weft_store_u64le(p, xl[i].key);
            weft_store_u32le(p + 8, xl[i].a);
        }
        uint64_t chunk_lookup_offset = (uint64_t)(p - base);
        for (size_t i = 0; i < nc; i++, p += 16) {
            weft_store_u64le(p, cl[i].key);
            weft_store_u32le(p + 8, cl[i].a);
            weft_store_u32le(p + 12, cl[i].b);
        }
        uint64_t footer_offset = (uint64_t)(p - base);
        memset(p, 0, WEFT_SHARD_FOOTER_LEN);
        weft_store_u64le(p, WEFT_SHARD_FOOTER_VERSION);
        weft_store_u64le(p + 8, WEFT_SHARD_HEADER_LEN);
        weft_store_u64le(p + 16, xorb_info_offset);
        weft_store_u64le(p + 24, file_lookup_offset);
        weft_store_u64le(p + 32, s->n_files);
        weft_store_u64le(p + 40, xorb_lookup_offset);
        weft_store_u64le(p + 48, s->n_xorbs);
        weft_store_u64le(p + 56, chunk_lookup_offset);
        weft_store_u64le(p + 64, nc);
        memcpy(p + 72, s->footer.hmac_key, 32);
        weft_store_u64le(p + 104, s->footer.created);
        weft_store_u64le(p + 112, s->footer.key_expiry);
        weft_store_u64le(p + 168, on_disk);
        weft_store_u64le(p + 176, materialized);
        weft_store_u64le(p + 184, stored);
        weft_store_u64le(p + 192, footer_offset);
        p += WEFT_SHARD_FOOTER_LEN;
    }
    out->len += (size_t)(p - base);
out:
    free(lk);
    return rc;
}

/* ---- upload rules ------------------------------------------------------------------------ */

static int shard_xorb_ptr_cmp(const void *a, const void *b)
{
    const weft_shard_xorb *x = *(const weft_shard_xorb *const *)a;
    const weft_shard_xorb *y = *(const weft_shard_xorb *const *)b;
    return memcmp(x->hash.b, y->hash.b, WEFT_HASH_LEN);
}

/* The listing of xorb h in the sorted index, or NULL. */
static const weft_shard_xorb *shard_find_xorb(const weft_shard_xorb *const *index, uint32_t n,
                                              const weft_hash *h)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(index[mid]->hash.b, h->b, WEFT_HASH_LEN);
        if (c == 0)
            return index[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int shard_check_xorb(const weft_shard_xorb *x, uint32_t i)
{
    if (x->n_chunks == 0 || x->n_chunks > WEFT_XORB_MAX_CHUNKS)
        return weft_err_set(WEFT_EINVALID, "shard: xorb %u lists %u chunks (1..%u allowed)", i,
                            x->n_chunks, WEFT_XORB_MAX_CHUNKS);
    uint64_t off = 0;
    for (uint32_t j = 0; j < x->n_chunks; j++) {
        const weft_shard_chunk *k = &x->chunks[j];
        if (k->raw_off != off)
            return weft_err_set(WEFT_EINVALID,
                                "shard: xorb %u chunk %u starts at %u, expected %llu", i, j,
                                k->raw_off, (unsigned long long)off);
        if (k->raw_len > WEFT_XET_MAX_CHUNK_LEN)
            return weft_err_set(WEFT_EINVALID, "shard: xorb %u chunk %u is %u bytes", i, j,
                                k->raw_len);
        off += k->raw_len;
    }
    if (off != x->raw_len)
        return weft_err_set(WEFT_EINVALID,
                            "shard: xorb %u says %u bytes, its chunks add up to %llu", i,
                            x->raw_len, (unsigned long long)off);
    return 0;
}

static int shard_check_file(const weft_shard_file *f, uint32_t i,
                            const weft_shard_xorb *const *index, uint32_t n_index)
{
    if (f->n_terms == 0 && !weft_hash_is_zero(&f->hash))
        return weft_err_set(WEFT_EINVALID, "shard: file %u has no terms", i);
    if (f->verification == NULL && f->n_terms > 0)
        return weft_err_set(WEFT_EINVALID, "shard: file %u has no verification entries", i);
    for (uint32_t j = 0; j < f->n_terms; j++) {
        const weft_shard_term *t = &f->terms[j];
        if (t->chunk_start >= t->chunk_end || t->raw_len == 0)
            return weft_err_set(WEFT_EINVALID,
                                "shard: file %u term %u has chunks %u..%u and %u bytes", i, j,
                                t->chunk_start, t->chunk_end, t->raw_len);
        const weft_shard_xorb *x = shard_find_xorb(index, n_index, &t->xorb_hash);
        if (x == NULL)
            continue;
        if (t->chunk_end > x->n_chunks)
            return weft_err_set(WEFT_EINVALID,
                                "shard: file %u term %u ends at chunk %u of a %u-chunk xorb", i, j,
                                t->chunk_end, x->n_chunks);
        uint64_t sum = x->chunks[t->chunk_end - 1].raw_off +
                       (uint64_t)x->chunks[t->chunk_end - 1].raw_len -
                       x->chunks[t->chunk_start].raw_off;
        if (sum != t->raw_len)
            return weft_err_set(WEFT_EINVALID,
                                "shard: file %u term %u says %u bytes, its chunks hold %llu", i, j,
                                t->raw_len, (unsigned long long)sum);
    }
    return 0;
}

int weft_shard_check_upload(const weft_shard *s)
{
    const weft_shard_xorb **index = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < s->n_xorbs; i++) {
        rc = shard_check_xorb(&s->xorbs[i], i);
        if (rc < 0)
            return rc;
    }
    index = malloc(s->n_xorbs ? (size_t)s->n_xorbs * sizeof *index : 1);
    if (index == NULL)
        return weft_err_set(WEFT_ENOMEM, "shard: no memory for %u xorbs", s->n_xorbs);
    for (uint32_t i = 0; i < s->n_xorbs; i++)
        index[i] = &s->xorbs[i];
    qsort(index, s->n_xorbs, sizeof *index, shard_xorb_ptr_cmp);
    for (uint32_t i = 0; i < s->n_files && rc == 0; i++)
        rc = shard_check_file(&s->files[i], i, index, s->n_xorbs);
    free(index);
    return rc;
}
