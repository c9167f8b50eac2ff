/* Xorbs: chunk headers, footer, client-xorb verification and the builder (include/weft/xorb.h,
 * specs/xet-storage.md §1.3; byte layout from xet-core xorb_object/xorb_chunk_format.rs and
 * xorb_object_format.rs, XorbObjectInfoV1). */
#include <stdlib.h>
#include <string.h>

#include "weft/xorb.h"
#include "xet/cursor.h"

#define FOOTER_VERSION 1u
#define HASHES_VERSION 0u
#define BOUNDARIES_VERSION 1u
#define INFO_FIXED_LEN 92u /* info bytes of a footer with no chunks */

static const char IDENT_XORB[7] = {'X', 'E', 'T', 'B', 'L', 'O', 'B'};
static const char IDENT_HASHES[7] = {'X', 'B', 'L', 'B', 'H', 'S', 'H'};
static const char IDENT_BOUNDS[7] = {'X', 'B', 'L', 'B', 'B', 'N', 'D'};

static uint32_t xorb_load_u24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static void xorb_store_u24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
}

/* ---- chunk headers ----------------------------------------------------------------------- */

/* specs/xet-storage.md §1.3: chunk header */
int weft_xorb_chunk_header_parse(weft_xorb_chunk_header *out, const uint8_t *p, size_t len)
{
    if (len < WEFT_XORB_CHUNK_HEADER_LEN)
        return weft_err_set(WEFT_ECORRUPT, "chunk header truncated: %zu of 8 bytes", len);
    weft_xorb_chunk_header h = {
        .version = p[0],
        .compressed_len = xorb_load_u24(p + 1),
        .scheme = p[4],
        .raw_len = xorb_load_u24(p + 5),
    };
    if (h.version != 0)
        return weft_err_set(WEFT_ECORRUPT, "chunk header version %u, expected 0", h.version);
    if (!weft_xet_scheme_is_stored(h.scheme))
        return weft_err_set(WEFT_ECORRUPT, "chunk header has unknown compression scheme %u",
                            h.scheme);
    if (h.raw_len > WEFT_XET_MAX_CHUNK_LEN)
        return weft_err_set(WEFT_ECORRUPT, "chunk header uncompressed length %u is over %u",
                            h.raw_len, WEFT_XET_MAX_CHUNK_LEN);
    if (h.compressed_len > WEFT_XORB_MAX_COMPRESSED_LEN)
        return weft_err_set(WEFT_ECORRUPT, "chunk header compressed length %u is over %u",
                            h.compressed_len, WEFT_XORB_MAX_COMPRESSED_LEN);
    if (h.scheme == WEFT_XET_SCHEME_NONE && h.compressed_len != h.raw_len)
        return weft_err_set(WEFT_ECORRUPT,
                            "uncompressed chunk header with lengths %u and %u that differ",
                            h.compressed_len, h.raw_len);
    *out = h;
    return 0;
}

void weft_xorb_chunk_header_write(uint8_t out[WEFT_XORB_CHUNK_HEADER_LEN],
                                  const weft_xorb_chunk_header *h)
{
    out[0] = h->version;
    xorb_store_u24(out + 1, h->compressed_len);
    out[4] = h->scheme;
    xorb_store_u24(out + 5, h->raw_len);
}

int weft_xorb_chunk_decode(uint8_t *out, size_t out_cap, size_t *raw_len_out, const uint8_t *chunk,
                           size_t chunk_len)
{
    weft_xorb_chunk_header h;
    int rc = weft_xorb_chunk_header_parse(&h, chunk, chunk_len);
    if (rc < 0)
        return rc;
    if (chunk_len - WEFT_XORB_CHUNK_HEADER_LEN != h.compressed_len)
        return weft_err_set(WEFT_ECORRUPT, "chunk of %zu bytes but its header says 8 + %u",
                            chunk_len, h.compressed_len);
    if (h.raw_len > out_cap)
        return weft_err_set(WEFT_EINVALID, "chunk decode: %u bytes do not fit in %zu", h.raw_len,
                            out_cap);
    rc = weft_xet_decompress(out, h.raw_len, h.scheme, chunk + WEFT_XORB_CHUNK_HEADER_LEN,
                             h.compressed_len);
    if (rc < 0)
        return rc;
    *raw_len_out = h.raw_len;
    return 0;
}

/* Reads the chunk at c into a header and payload pointer; the cursor moves past it. */
static int xorb_next_chunk(weft_xorb_chunk_header *h, const uint8_t **payload, xet_cursor *c,
                           uint32_t index)
{
    size_t at = xet_cursor_pos(c);
    int rc = weft_xorb_chunk_header_parse(h, c->p, xet_cursor_left(c));
    if (rc < 0)
        return weft_err_wrap(rc, "xorb chunk %u at byte %zu", index, at);
    c->p += WEFT_XORB_CHUNK_HEADER_LEN;
    *payload = xet_cursor_take(c, h->compressed_len);
    if (*payload == NULL)
        return weft_err_set(WEFT_ECORRUPT,
                            "xorb chunk %u at byte %zu: payload of %u bytes runs past the end "
                            "(%zu left)",
                            index, at, h->compressed_len, xet_cursor_left(c));
    return 0;
}

int weft_xorb_chunks_decode(weft_buf *out, uint32_t *n_out, const uint8_t *p, size_t len)
{
    xet_cursor c;
    size_t start_len = out->len;
    uint32_t n = 0;
    int rc = 0;
    xet_cursor_init(&c, p, len);
    while (xet_cursor_left(&c) > 0) {
        weft_xorb_chunk_header h;
        const uint8_t *payload;
        rc = xorb_next_chunk(&h, &payload, &c, n);
        if (rc < 0)
            goto out;
        rc = weft_buf_reserve(out, h.raw_len);
        if (rc < 0)
            goto out;
        rc = weft_xet_decompress(out->data + out->len, h.raw_len, h.scheme, payload,
                                 h.compressed_len);
        if (rc < 0) {
            rc = weft_err_wrap(rc, "xorb chunk %u", n);
            goto out;
        }
        out->len += h.raw_len;
        n++;
    }
    if (n_out != NULL)
        *n_out = n;
out:
    if (rc < 0)
        out->len = start_len;
    return rc;
}

/* ---- footer ------------------------------------------------------------------------------ */

/* One allocation: the struct, then hashes[n], phys_off[n + 1], raw_off[n + 1]. */
static weft_xorb_footer *xorb_footer_alloc(uint32_t n)
{
    size_t size = sizeof(weft_xorb_footer) + (size_t)n * sizeof(weft_hash) +
                  2 * ((size_t)n + 1) * sizeof(uint32_t);
    weft_xorb_footer *f = calloc(1, size);
    if (f == NULL)
        return NULL;
    f->n_chunks = n;
    f->chunk_hashes = (weft_hash *)(f + 1);
    f->phys_off = (uint32_t *)(f->chunk_hashes + n);
    f->raw_off = f->phys_off + n + 1;
    return f;
}

void weft_xorb_footer_free(weft_xorb_footer *f)
{
    free(f);
}

static uint32_t footer_bounds_from_end(uint32_t n)
{
    return 7 + 1 + 4 + 8 * n + 4 + 4 + 4 + 16;
}

static uint32_t footer_hashes_from_end(uint32_t n)
{
    return 7 + 1 + 4 + 32 * n + footer_bounds_from_end(n);
}

int weft_xorb_footer_serialize(weft_buf *out, const weft_xorb_footer *f)
{
    uint32_t n = f->n_chunks;
    if (n == 0 || n > WEFT_XORB_MAX_CHUNKS)
        return weft_err_set(WEFT_EINVALID, "xorb footer: %u chunks (1..%u allowed)", n,
                            WEFT_XORB_MAX_CHUNKS);
    size_t total = WEFT_XORB_FOOTER_LEN(n);
    int rc = weft_buf_reserve(out, total);
    if (rc < 0)
        return rc;
    uint8_t *p = out->data + out->len;
    memcpy(p, IDENT_XORB, 7);
    p[7] = FOOTER_VERSION;
    memcpy(p + 8, f->hash.b, 32);
    p += 40;
    memcpy(p, IDENT_HASHES, 7);
    p[7] = HASHES_VERSION;
    weft_store_u32le(p + 8, n);
    p += 12;
    for (uint32_t i = 0; i < n; i++, p += 32)
        memcpy(p, f->chunk_hashes[i].b, 32);
    memcpy(p, IDENT_BOUNDS, 7);
    p[7] = BOUNDARIES_VERSION;
    weft_store_u32le(p + 8, n);
    p += 12;
    for (uint32_t i = 1; i <= n; i++, p += 4)
        weft_store_u32le(p, f->phys_off[i]);
    for (uint32_t i = 1; i <= n; i++, p += 4)
        weft_store_u32le(p, f->raw_off[i]);
    weft_store_u32le(p, n);
    weft_store_u32le(p + 4, footer_hashes_from_end(n));
    weft_store_u32le(p + 8, footer_bounds_from_end(n));
    memcpy(p + 12, f->buffer, 16);
    weft_store_u32le(p + 28, (uint32_t)(total - 4));
    out->len += total;
    return 0;
}

int weft_xorb_footer_len(size_t *footer_len_out, uint32_t *n_chunks_out, const uint8_t *tail,
                         size_t tail_len, uint64_t object_len)
{
    size_t want =
        object_len < WEFT_XORB_FOOTER_TAIL_LEN ? (size_t)object_len : WEFT_XORB_FOOTER_TAIL_LEN;
    if (tail_len > object_len)
        return weft_err_set(WEFT_EINVALID, "xorb footer: tail of %zu bytes from an object of %llu",
                            tail_len, (unsigned long long)object_len);
    if (tail_len < want)
        return weft_err_set(WEFT_EINVALID, "xorb footer: need the last %zu bytes, got %zu", want,
                            tail_len);
    if (object_len < WEFT_XORB_FOOTER_LEN(1) + WEFT_XORB_CHUNK_HEADER_LEN)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: object of %llu bytes is too short",
                            (unsigned long long)object_len);
    const uint8_t *end = tail + tail_len;
    uint32_t info_len = weft_load_u32le(end - 4);
    if (info_len < INFO_FIXED_LEN + 40 || (info_len - INFO_FIXED_LEN) % 40 != 0)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: bad info length %u", info_len);
    uint32_t n = (info_len - INFO_FIXED_LEN) / 40;
    if (n > WEFT_XORB_MAX_CHUNKS)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: %u chunks is over %u", n,
                            WEFT_XORB_MAX_CHUNKS);
    size_t flen = (size_t)info_len + 4;
    if (flen > object_len)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: %zu bytes in an object of %llu", flen,
                            (unsigned long long)object_len);
    if (weft_load_u32le(end - WEFT_XORB_FOOTER_TAIL_LEN) != n)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: chunk count %u disagrees with length %u",
                            weft_load_u32le(end - WEFT_XORB_FOOTER_TAIL_LEN), info_len);
    *footer_len_out = flen;
    if (n_chunks_out != NULL)
        *n_chunks_out = n;
    return 0;
}

/* Checks the physical and unpacked ends of f (already filled) and the data length. */
static int xorb_footer_check_offsets(const weft_xorb_footer *f)
{
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        uint32_t a = f->phys_off[i], b = f->phys_off[i + 1];
        if (b < a || b - a < WEFT_XORB_CHUNK_HEADER_LEN ||
            b - a - WEFT_XORB_CHUNK_HEADER_LEN > WEFT_XORB_MAX_COMPRESSED_LEN)
            return weft_err_set(WEFT_ECORRUPT, "xorb footer: chunk %u spans bytes %u..%u", i, a, b);
        uint32_t ra = f->raw_off[i], rb = f->raw_off[i + 1];
        if (rb < ra || rb - ra > WEFT_XET_MAX_CHUNK_LEN)
            return weft_err_set(WEFT_ECORRUPT, "xorb footer: chunk %u unpacks to bytes %u..%u", i,
                                ra, rb);
    }
    if (f->phys_off[f->n_chunks] > WEFT_XORB_MAX_BYTES)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: %u chunk bytes is over %u",
                            f->phys_off[f->n_chunks], WEFT_XORB_MAX_BYTES);
    return 0;
}

static int footer_expect(xet_cursor *c, const char ident[7], uint8_t version, const char *what)
{
    const uint8_t *p = xet_cursor_take(c, 8);
    if (p == NULL)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: truncated %s section", what);
    if (memcmp(p, ident, 7) != 0)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: bad %s ident", what);
    if (p[7] != version)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: %s version %u, expected %u", what, p[7],
                            version);
    return 0;
}

static int footer_expect_u32(xet_cursor *c, uint32_t want, const char *what)
{
    const uint8_t *p = xet_cursor_take(c, 4);
    if (p == NULL)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: truncated at %s", what);
    if (weft_load_u32le(p) != want)
        return weft_err_set(WEFT_ECORRUPT, "xorb footer: %s is %u, expected %u", what,
                            weft_load_u32le(p), want);
    return 0;
}

int weft_xorb_footer_parse(weft_xorb_footer **out, const uint8_t *tail, size_t tail_len,
                           uint64_t object_len)
{
    size_t flen;
    uint32_t n;
    weft_xorb_footer *f = NULL;
    xet_cursor c;
    int rc = weft_xorb_footer_len(&flen, &n, tail, tail_len, object_len);
    if (rc < 0)
        return rc;
    if (tail_len < flen)
        return weft_err_set(WEFT_EINVALID, "xorb footer: need the last %zu bytes, got %zu", flen,
                            tail_len);
    f = xorb_footer_alloc(n);
    if (f == NULL)
        return weft_err_set(WEFT_ENOMEM, "xorb footer: no memory for %u chunks", n);
    xet_cursor_init(&c, tail + tail_len - flen, flen);

    const uint8_t *p = c.p;
    if (memcmp(p, IDENT_XORB, 7) != 0) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb footer: bad ident");
        goto out;
    }
    if (p[7] != FOOTER_VERSION) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb footer: version %u, expected %u", p[7],
                          FOOTER_VERSION);
        goto out;
    }
    memcpy(f->hash.b, p + 8, 32);
    c.p += 40;
    /* flen is exactly the layout's length for n chunks, so the fixed-size reads below stay
     * inside it; the cursor still checks every step. */
    rc = footer_expect(&c, IDENT_HASHES, HASHES_VERSION, "hash");
    if (rc == 0)
        rc = footer_expect_u32(&c, n, "hash section chunk count");
    if (rc < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++)
        memcpy(f->chunk_hashes[i].b, c.p + 32 * (size_t)i, 32);
    c.p += 32 * (size_t)n;
    rc = footer_expect(&c, IDENT_BOUNDS, BOUNDARIES_VERSION, "boundary");
    if (rc == 0)
        rc = footer_expect_u32(&c, n, "boundary section chunk count");
    if (rc < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        f->phys_off[i + 1] = weft_load_u32le(c.p + 4 * (size_t)i);
        f->raw_off[i + 1] = weft_load_u32le(c.p + 4 * ((size_t)n + i));
    }
    c.p += 8 * (size_t)n;
    rc = footer_expect_u32(&c, n, "chunk count");
    if (rc == 0)
        rc = footer_expect_u32(&c, footer_hashes_from_end(n), "hash section offset");
    if (rc == 0)
        rc = footer_expect_u32(&c, footer_bounds_from_end(n), "boundary section offset");
    if (rc < 0)
        goto out;
    if (xet_cursor_left(&c) != 16 + 4) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb footer: layout length mismatch");
        goto out;
    }
    memcpy(f->buffer, c.p, 16);
    rc = xorb_footer_check_offsets(f);
    if (rc < 0)
        goto out;
    if ((uint64_t)f->phys_off[n] + flen != object_len) {
        rc = weft_err_set(WEFT_ECORRUPT,
                          "xorb footer: chunks end at %u but the footer starts at %llu",
                          f->phys_off[n], (unsigned long long)(object_len - flen));
        goto out;
    }
    if (weft_hash_is_zero(&f->hash)) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb footer: xorb hash is zero");
        goto out;
    }
    *out = f;
    f = NULL;
out:
    weft_xorb_footer_free(f);
    return rc;
}

uint32_t weft_xorb_footer_chunk_at(const weft_xorb_footer *f, uint64_t raw_pos)
{
    uint32_t lo = 0, hi = f->n_chunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->raw_off[mid + 1] <= raw_pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- whole xorbs ------------------------------------------------------------------------- */

int weft_xorb_parse_client(weft_xorb_footer **out, const uint8_t *p, size_t len,
                           const weft_hash *expected)
{
    weft_xorb_footer *f = NULL;
    weft_xet_node *nodes = NULL;
    uint8_t *scratch = NULL;
    xet_cursor c;
    uint32_t n = 0;
    int rc = 0;

    if (len > WEFT_XORB_MAX_BYTES)
        return weft_err_set(WEFT_ELIMIT, "xorb: %zu bytes is over %u", len, WEFT_XORB_MAX_BYTES);

    /* First pass: headers only, to count chunks before allocating. Like xet-core's
     * reconstruct_xorb_with_footer, a storage footer after the last chunk ends the chunks and is
     * ignored (its ident cannot start a chunk header: version would be 'X'). */
    xet_cursor_init(&c, p, len);
    while (xet_cursor_left(&c) > 0) {
        weft_xorb_chunk_header h;
        const uint8_t *payload;
        if (xet_cursor_left(&c) >= WEFT_XORB_CHUNK_HEADER_LEN &&
            memcmp(c.p, IDENT_XORB, sizeof IDENT_XORB) == 0)
            break;
        if (n == WEFT_XORB_MAX_CHUNKS)
            return weft_err_set(WEFT_ELIMIT, "xorb: more than %u chunks", WEFT_XORB_MAX_CHUNKS);
        rc = xorb_next_chunk(&h, &payload, &c, n);
        if (rc < 0)
            return rc;
        n++;
    }

    if (n == 0)
        return weft_err_set(WEFT_ECORRUPT, "xorb: no chunks");
    f = xorb_footer_alloc(n);
    nodes = malloc((size_t)n * sizeof *nodes);
    scratch = malloc(WEFT_XET_MAX_CHUNK_LEN);
    if (f == NULL || nodes == NULL || scratch == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "xorb: no memory for %u chunks", n);
        goto out;
    }
    xet_cursor_init(&c, p, len);
    for (uint32_t i = 0; i < n; i++) {
        weft_xorb_chunk_header h;
        const uint8_t *payload;
        rc = xorb_next_chunk(&h, &payload, &c, i);
        if (rc < 0)
            goto out;
        rc = weft_xet_decompress(scratch, h.raw_len, h.scheme, payload, h.compressed_len);
        if (rc < 0) {
            rc = weft_err_wrap(rc, "xorb chunk %u", i);
            goto out;
        }
        weft_xet_chunk_hash(&f->chunk_hashes[i], scratch, h.raw_len);
        nodes[i].hash = f->chunk_hashes[i];
        nodes[i].size = h.raw_len;
        f->phys_off[i + 1] = (uint32_t)xet_cursor_pos(&c);
        f->raw_off[i + 1] = f->raw_off[i] + h.raw_len; /* ≤ 8192 × 128 KiB: no overflow */
    }
    rc = weft_xet_merkle_root(&f->hash, nodes, n);
    if (rc < 0)
        goto out;
    if (expected != NULL && !weft_hash_eq(expected, &f->hash)) {
        char got_hex[WEFT_HASH_HEX_LEN + 1], want_hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(got_hex, &f->hash);
        weft_xet_hash_to_hex(want_hex, expected);
        rc = weft_err_set(WEFT_EINVALID, "xorb %s: its %u chunks hash to %s", want_hex, n, got_hex);
        goto out;
    }
    *out = f;
    f = NULL;
out:
    weft_xorb_footer_free(f);
    free(nodes);
    free(scratch);
    return rc;
}

int weft_xorb_parse_stored(weft_xorb_footer **out, const uint8_t *p, size_t len,
                           const weft_hash *expected)
{
    weft_xorb_footer *f = NULL, *g = NULL;
    int rc = weft_xorb_footer_parse(&f, p, len, len);
    if (rc < 0)
        return rc;
    rc = weft_xorb_parse_client(&g, p, f->phys_off[f->n_chunks], NULL);
    if (rc < 0)
        goto out;
    if (g->n_chunks != f->n_chunks) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb: footer lists %u chunks, the data has %u",
                          f->n_chunks, g->n_chunks);
        goto out;
    }
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        if (!weft_hash_eq(&f->chunk_hashes[i], &g->chunk_hashes[i]) ||
            f->phys_off[i + 1] != g->phys_off[i + 1] || f->raw_off[i + 1] != g->raw_off[i + 1]) {
            rc = weft_err_set(WEFT_ECORRUPT,
                              "xorb: footer entry for chunk %u disagrees with "
                              "the chunk",
                              i);
            goto out;
        }
    }
    if (!weft_hash_eq(&f->hash, &g->hash)) {
        rc = weft_err_set(WEFT_ECORRUPT, "xorb: footer hash disagrees with the chunks");
        goto out;
    }
    if (expected != NULL && !weft_hash_eq(expected, &f->hash)) {
        char got_hex[WEFT_HASH_HEX_LEN + 1], want_hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(got_hex, &f->hash);
        weft_xet_hash_to_hex(want_hex, expected);
        rc = weft_err_set(WEFT_EINVALID, "xorb %s: stored object hashes to %s", want_hex, got_hex);
        goto out;
    }
    *out = f;
    f = NULL;
out:
    weft_xorb_footer_free(f);
    weft_xorb_footer_free(g);
    return rc;
}

/* ---- builder ----------------------------------------------------------------------------- */

struct weft_xorb_builder {
    int scheme;         /* as asked: AUTO or a stored scheme */
    int auto_scheme;    /* current choice when AUTO */
    uint32_t auto_left; /* chunks the current choice still covers */
    int finished;
    weft_buf data;            /* chunks, then the footer once finished */
    weft_xorb_footer *footer; /* sized for WEFT_XORB_MAX_CHUNKS; n_chunks = chunks so far */
};

int weft_xorb_builder_new(weft_xorb_builder **out, int scheme)
{
    if (scheme != WEFT_XET_SCHEME_AUTO && !weft_xet_scheme_is_stored(scheme))
        return weft_err_set(WEFT_EINVALID, "xorb builder: unknown scheme %d", scheme);
    weft_xorb_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return weft_err_set(WEFT_ENOMEM, "xorb builder: no memory");
    b->footer = xorb_footer_alloc(WEFT_XORB_MAX_CHUNKS);
    if (b->footer == NULL) {
        free(b);
        return weft_err_set(WEFT_ENOMEM, "xorb builder: no memory");
    }
    b->scheme = scheme;
    weft_buf_init(&b->data, WEFT_XORB_MAX_BYTES);
    weft_xorb_builder_reset(b);
    *out = b;
    return 0;
}

void weft_xorb_builder_free(weft_xorb_builder *b)
{
    if (b == NULL)
        return;
    weft_buf_dispose(&b->data);
    weft_xorb_footer_free(b->footer);
    free(b);
}

void weft_xorb_builder_reset(weft_xorb_builder *b)
{
    weft_buf_clear(&b->data);
    b->footer->n_chunks = 0;
    b->footer->phys_off[0] = 0;
    b->footer->raw_off[0] = 0;
    memset(&b->footer->hash, 0, sizeof b->footer->hash);
    memset(b->footer->buffer, 0, sizeof b->footer->buffer);
    b->auto_left = 0;
    b->finished = 0;
}

void weft_xorb_builder_file_start(weft_xorb_builder *b)
{
    b->auto_left = 0;
}

int weft_xorb_builder_can_add(const weft_xorb_builder *b, size_t raw_len)
{
    uint32_t n = b->footer->n_chunks;
    if (b->finished || n >= WEFT_XORB_MAX_CHUNKS || raw_len > WEFT_XET_MAX_CHUNK_LEN)
        return 0;
    /* Worst case: stored raw. Chunk bytes plus the footer stay within the xorb limit. */
    uint64_t worst =
        (uint64_t)b->data.len + WEFT_XORB_CHUNK_HEADER_LEN + raw_len + WEFT_XORB_FOOTER_LEN(n + 1);
    return worst <= WEFT_XORB_MAX_BYTES;
}

int weft_xorb_builder_full(const weft_xorb_builder *b)
{
    return !weft_xorb_builder_can_add(b, WEFT_XET_MAX_CHUNK_LEN);
}

uint32_t weft_xorb_builder_n_chunks(const weft_xorb_builder *b)
{
    return b->footer->n_chunks;
}

int weft_xorb_builder_add(weft_xorb_builder *b, const weft_hash *hash, const void *data, size_t len)
{
    weft_xorb_footer *f = b->footer;
    uint32_t n = f->n_chunks;
    if (b->finished)
        return weft_err_set(WEFT_EINVALID, "xorb builder: finished; reset before adding");
    if (len > WEFT_XET_MAX_CHUNK_LEN)
        return weft_err_set(WEFT_ELIMIT, "xorb builder: chunk of %zu bytes is over %u", len,
                            WEFT_XET_MAX_CHUNK_LEN);
    if (!weft_xorb_builder_can_add(b, len))
        return weft_err_set(WEFT_ELIMIT, "xorb builder: full at %u chunks, %zu bytes", n,
                            b->data.len);

    /* xet-core SerializedXorbObject::from_xorb_with_compression: under "auto" the predictor
     * runs on the first chunk of each file segment and of every retest interval after it. */
    int scheme = b->scheme;
    int new_auto = b->auto_scheme;
    uint32_t new_left = b->auto_left;
    if (scheme == WEFT_XET_SCHEME_AUTO) {
        if (new_left == 0) {
            new_auto = weft_xet_scheme_choose(data, len);
            new_left = WEFT_XET_SCHEME_RETEST_INTERVAL;
        }
        scheme = new_auto;
        new_left--;
    }

    size_t at = b->data.len;
    static const uint8_t zeros[WEFT_XORB_CHUNK_HEADER_LEN];
    int used = 0;
    int rc = weft_buf_append(&b->data, zeros, sizeof zeros);
    if (rc == 0)
        rc = weft_xet_compress(&b->data, &used, scheme, data, len);
    if (rc < 0) {
        b->data.len = at;
        return weft_err_wrap(rc, "xorb builder: chunk %u", n);
    }
    weft_xorb_chunk_header h = {
        .version = 0,
        .scheme = (uint8_t)used,
        .compressed_len = (uint32_t)(b->data.len - at - WEFT_XORB_CHUNK_HEADER_LEN),
        .raw_len = (uint32_t)len,
    };
    weft_xorb_chunk_header_write(b->data.data + at, &h);
    if (hash != NULL)
        f->chunk_hashes[n] = *hash;
    else
        weft_xet_chunk_hash(&f->chunk_hashes[n], data, len);
    f->phys_off[n + 1] = (uint32_t)b->data.len;
    f->raw_off[n + 1] = f->raw_off[n] + (uint32_t)len;
    f->n_chunks = n + 1;
    b->auto_scheme = new_auto;
    b->auto_left = new_left;
    return 0;
}

int weft_xorb_builder_finish(weft_xorb_builder *b, weft_xorb_built *out)
{
    weft_xorb_footer *f = b->footer;
    uint32_t n = f->n_chunks;
    weft_xet_node *nodes = NULL;
    int rc = 0;
    if (b->finished)
        return weft_err_set(WEFT_EINVALID, "xorb builder: already finished");
    if (n == 0)
        return weft_err_set(WEFT_EINVALID, "xorb builder: no chunks to finish");
    nodes = malloc((size_t)n * sizeof *nodes);
    if (nodes == NULL)
        return weft_err_set(WEFT_ENOMEM, "xorb builder: no memory for %u nodes", n);
    for (uint32_t i = 0; i < n; i++) {
        nodes[i].hash = f->chunk_hashes[i];
        nodes[i].size = f->raw_off[i + 1] - f->raw_off[i];
    }
    rc = weft_xet_merkle_root(&f->hash, nodes, n);
    if (rc < 0)
        goto out;
    size_t data_len = b->data.len;
    rc = weft_xorb_footer_serialize(&b->data, f);
    if (rc < 0)
        goto out;
    b->finished = 1;
    out->hash = f->hash;
    out->bytes = b->data.data;
    out->len = b->data.len;
    out->data_len = data_len;
    out->raw_len = f->raw_off[n];
    out->footer = f;
out:
    free(nodes);
    return rc;
}
