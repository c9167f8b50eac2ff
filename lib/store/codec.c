/* Weight codecs in the store (include/weft/store.h "weight codecs", docs/internals/store.md).
 *
 * A re-coded chunk is stored in its xorb under the Weft-private chunk scheme
 * WEFT_STORE_SCHEME_WEIGHT: the 8-byte Xet chunk header (version 0, payload length, scheme,
 * raw length) followed by one weight frame (weft/weight_codec.h). Hashes are of raw bytes, so
 * the chunk hash, the xorb hash and every file hash stay what they were; only the object's
 * bytes and its footer's physical offsets change. The re-coded object is written under a new
 * name, "<xorb hex>.w<generation>.<8 random hex>", recorded in xorbs.object.
 *
 * Delta spans carry base_ref = (base number << 40) | byte offset in the base file, the base
 * number being a row of `bases` (never deleted, so numbers are never reused). Decoding reads
 * those bytes through the store from the base file (weft_store__file_reader), which must not be
 * delta-coded itself: optimize never codes a xorb a base file uses as a delta, and never takes
 * as a base a file that uses a delta-coded xorb, so chains are one deep and a base read that
 * meets a delta is corruption.
 *
 * Optimize of one file, crash-safe like gc's rewrites: for every xorb the file uses, the chunks
 * it uses that are not coded yet are encoded (a frame is kept only when smaller, and only after
 * it decoded back to the same bytes); the new object is made durable; then one transaction
 * switches xorbs.object (only if it is still the object that was read), records the bases the
 * xorb now needs (xorb_bases) and its per-codec counts; then the old object is deleted. A crash
 * leaves at most an object no row names, which gc removes and fsck counts as an orphan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <pthread.h>

#include "store_internal.h"
#include "weft/chunker.h"
#include "weft/safetensors.h"
#include "weft/tensor_match.h"
#include "weft/weight_codec.h"

#define BASE_REF_SHIFT 40
#define BASE_OFF_MASK ((1ull << BASE_REF_SHIFT) - 1)
#define CODEC_BASES 4

struct weft_store__codec {
    weft_weight_codec *wc;
    struct {
        int64_t id;
        weft_store__file_reader *r;
    } base[CODEC_BASES];
    unsigned next;
    uint8_t *base_buf; /* base bytes of one chunk, at the chunk's positions */
    weft_weight_span_info *spans;
    const uint8_t **ptrs;
    size_t spans_cap;
    size_t n_spans; /* spans of the frame codec_of looked at last */
};

void weft_store__codec_free(weft_store__codec *c)
{
    if (c == NULL)
        return;
    weft_weight_codec_free(c->wc);
    for (unsigned i = 0; i < CODEC_BASES; i++)
        weft_store__file_reader_free(c->base[i].r);
    free(c->base_buf);
    free(c->spans);
    free(c->ptrs);
    free(c);
}

static int codec_new(weft_store__codec **out)
{
    weft_store__codec *c = calloc(1, sizeof *c);
    if (c == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory");
    c->base_buf = malloc(WEFT_XET_CHUNK_MAX);
    int rc = c->base_buf ? weft_weight_codec_new(&c->wc)
                         : weft_err_set(WEFT_ENOMEM, "store: out of memory");
    if (rc < 0) {
        weft_store__codec_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int codec_spans(weft_store__codec *c, size_t n)
{
    if (n <= c->spans_cap)
        return 0;
    weft_weight_span_info *s = realloc(c->spans, n * sizeof *s);
    if (s != NULL)
        c->spans = s;
    const uint8_t **p = realloc(c->ptrs, n * sizeof *p);
    if (p != NULL)
        c->ptrs = p;
    if (s == NULL || p == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory");
    c->spans_cap = n;
    return 0;
}

/* The file a base number names. */
static int base_file(weft_store *s, int64_t id, weft_hash *out)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st, "SELECT file FROM bases WHERE id = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = weft_store__hash_col(out, st, 0);
    else if (step == SQLITE_DONE)
        rc = weft_err_set(WEFT_ECORRUPT, "store index: no delta base numbered %lld", (long long)id);
    else
        rc = weft_store__db_error(s, "find delta base");
    sqlite3_finalize(st);
    return rc;
}

/* Base bytes [off, off + len) of base `id` into dst. */
static int codec_base_read(weft_store *s, weft_store__codec *c, int64_t id, uint64_t off,
                           uint8_t *dst, size_t len)
{
    weft_store__file_reader *r = NULL;
    for (unsigned i = 0; i < CODEC_BASES; i++)
        if (c->base[i].r != NULL && c->base[i].id == id)
            r = c->base[i].r;
    if (r == NULL) {
        weft_hash file;
        int rc = base_file(s, id, &file);
        if (rc == 0)
            rc = weft_store__file_reader_open(s, &file, 0, 1, &r);
        if (rc < 0)
            return rc;
        unsigned k = c->next++ % CODEC_BASES;
        weft_store__file_reader_free(c->base[k].r);
        c->base[k].id = id;
        c->base[k].r = r;
    }
    return weft_store__file_reader_read(r, off, dst, len);
}

static uint32_t u24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* Parses a weight frame's spans into c->spans; *n_out spans. */
static int codec_parse(weft_store__codec *c, const uint8_t *frame, size_t len, size_t raw_len,
                       size_t *n_out)
{
    size_t got = 0, n = 0;
    int rc = weft_weight_frame_parse(&got, &n, NULL, 0, frame, len);
    if (rc == 0)
        rc = codec_spans(c, n);
    if (rc == 0)
        rc = weft_weight_frame_parse(&got, &n, c->spans, n, frame, len);
    if (rc == 0 && got != raw_len)
        rc = weft_err_set(WEFT_ECORRUPT, "weight frame holds %zu bytes, the footer says %zu", got,
                          raw_len);
    *n_out = n;
    return rc;
}

int weft_store__chunk_decode(weft_store *s, weft_store__codec **codec, int allow_delta,
                             const weft_xorb_footer *f, uint32_t k, const uint8_t *chunk,
                             uint8_t *scratch, int verify, const uint8_t **raw_out)
{
    size_t plen = f->phys_off[k + 1] - f->phys_off[k];
    size_t raw_len = f->raw_off[k + 1] - f->raw_off[k];
    if (plen < WEFT_XORB_CHUNK_HEADER_LEN || chunk[4] != WEFT_STORE_SCHEME_WEIGHT)
        return weft_store__chunk_check(f, k, chunk, scratch, verify, raw_out);
    if (chunk[0] != 0 || u24(chunk + 5) != raw_len ||
        u24(chunk + 1) + WEFT_XORB_CHUNK_HEADER_LEN != plen)
        return weft_err_set(WEFT_ECORRUPT, "chunk %u: header disagrees with the footer", k);
    int rc = *codec ? 0 : codec_new(codec);
    if (rc < 0)
        return rc;
    weft_store__codec *c = *codec;
    const uint8_t *frame = chunk + WEFT_XORB_CHUNK_HEADER_LEN;
    size_t frame_len = plen - WEFT_XORB_CHUNK_HEADER_LEN, n = 0, got = 0;
    rc = codec_parse(c, frame, frame_len, raw_len, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const weft_weight_span_info *sp = &c->spans[i];
        c->ptrs[i] = NULL;
        if (!sp->needs_base)
            continue;
        if (!allow_delta) {
            rc = weft_err_set(WEFT_ECORRUPT,
                              "chunk %u is a delta inside a delta base (chains are one deep)", k);
            break;
        }
        uint8_t *dst = c->base_buf + sp->offset;
        rc = codec_base_read(s, c, (int64_t)(sp->base_ref >> BASE_REF_SHIFT),
                             sp->base_ref & BASE_OFF_MASK, dst, sp->len);
        if (rc < 0)
            rc = weft_err_wrap(rc == WEFT_ENOMEM ? rc : WEFT_ECORRUPT,
                               "chunk %u: reading its delta base", k);
        c->ptrs[i] = dst;
    }
    if (rc == 0)
        rc = weft_weight_frame_decode(c->wc, scratch, WEFT_XET_CHUNK_MAX, &got, frame, frame_len,
                                      c->ptrs, n);
    if (rc == 0 && got != raw_len)
        rc = weft_err_set(WEFT_ECORRUPT, "chunk %u: its frame decodes to %zu bytes, not %zu", k,
                          got, raw_len);
    if (rc < 0)
        return rc == WEFT_ENOMEM ? rc : weft_err_wrap(WEFT_ECORRUPT, "chunk %u", k);
    if (verify) {
        weft_hash hash;
        weft_xet_chunk_hash(&hash, scratch, raw_len);
        if (!weft_hash_eq(&hash, &f->chunk_hashes[k]))
            return weft_err_set(WEFT_ECORRUPT, "chunk %u does not match its hash", k);
    }
    *raw_out = scratch;
    return 0;
}

void weft_store__served_view(weft_xorb_footer *f)
{
    for (uint32_t i = 0; i <= f->n_chunks; i++)
        f->phys_off[i] = f->raw_off[i] + WEFT_XORB_CHUNK_HEADER_LEN * i;
}

/* ---- codecs by name ------------------------------------------------------------------------- */

const char *weft_store_codec_name(int codec)
{
    static const char *const names[WEFT_STORE_N_CODECS] = {
        "none",          "lz4",          "bg4-lz4",       "weft-stored",
        "weft-entropy",  "weft-float",   "weft-diff",     "weft-xor",
        "weft-diff-esc", "weft-diff-ctx", "weft-diff-shift"};
    return codec >= 0 && codec < WEFT_STORE_N_CODECS ? names[codec] : NULL;
}

/* The codec of a stored chunk: its Xet scheme, or for a weight frame the method of its largest
 * span. -1 for an unknown scheme. */
static int codec_of(weft_store__codec *c, const uint8_t *chunk, size_t plen, size_t raw_len)
{
    if (plen < WEFT_XORB_CHUNK_HEADER_LEN)
        return -1;
    if (chunk[4] != WEFT_STORE_SCHEME_WEIGHT)
        return weft_xet_scheme_is_stored(chunk[4]) ? chunk[4] : -1;
    size_t n = 0, best = 0;
    int method = 0;
    if (codec_parse(c, chunk + WEFT_XORB_CHUNK_HEADER_LEN, plen - WEFT_XORB_CHUNK_HEADER_LEN,
                    raw_len, &n) < 0)
        return -1;
    c->n_spans = n;
    for (size_t i = 0; i < n; i++)
        if (c->spans[i].len > best) {
            best = c->spans[i].len;
            method = c->spans[i].method;
        }
    /* A method newer than this table is not counted (never an index out of range). */
    return method >= 0 && method < WEFT_STORE_N_CODECS - WEFT_STORE_CODEC_WEIGHT
               ? WEFT_STORE_CODEC_WEIGHT + method
               : -1;
}

/* ---- removing a base ------------------------------------------------------------------------ */

int weft_store__base_release(weft_store *s, const weft_hash *file)
{
    sqlite3_stmt *st = NULL;
    char list[512];
    size_t used = 0;
    int n = 0, step = SQLITE_DONE;
    list[0] = '\0';
    int rc = weft_store__prepare(
        s, &st,
        "SELECT DISTINCT t.file FROM bases b JOIN xorb_bases xb ON xb.base = b.id "
        "JOIN terms t ON t.xorb = xb.xorb WHERE b.file = ?1 AND t.file != ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        weft_hash h;
        char hex[WEFT_HASH_HEX_LEN + 1];
        if (weft_store__hash_col(&h, st, 0) < 0)
            continue;
        weft_xet_hash_to_hex(hex, &h);
        if (n < 4) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", hex);
            used += w > 0 && (size_t)w < sizeof list - used ? (size_t)w : 0;
        }
        n++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return weft_store__db_error(s, "find delta dependants");
    if (n > 0) {
        char hex[WEFT_HASH_HEX_LEN + 1];
        weft_xet_hash_to_hex(hex, file);
        return weft_err_set(WEFT_ECONFLICT,
                            "file %s is the delta base of %d stored file%s (%s%s); remove %s "
                            "first, or re-code %s without a base (weft store optimize "
                            "--no-delta)",
                            hex, n, n == 1 ? "" : "s", list, n > 4 ? ", ..." : "",
                            n == 1 ? "it" : "them", n == 1 ? "it" : "them");
    }
    /* Xorbs coded against it that no live file uses: their rows go now, their objects with gc. */
    static const char *const drop[] = {
        "DELETE FROM chunks WHERE xorb IN (SELECT xb.xorb FROM xorb_bases xb JOIN bases b ON "
        "b.id = xb.base WHERE b.file = ?1)",
        "DELETE FROM xorb_codecs WHERE xorb IN (SELECT xb.xorb FROM xorb_bases xb JOIN bases b "
        "ON b.id = xb.base WHERE b.file = ?1)",
        "DELETE FROM xorbs WHERE hash IN (SELECT xb.xorb FROM xorb_bases xb JOIN bases b ON "
        "b.id = xb.base WHERE b.file = ?1)",
        "DELETE FROM xorb_bases WHERE base IN (SELECT id FROM bases WHERE file = ?1)",
    };
    for (size_t i = 0; rc == 0 && i < sizeof drop / sizeof drop[0]; i++)
        rc = weft_store__exec_hash(s, drop[i], file);
    return rc;
}

/* ---- stats by codec ------------------------------------------------------------------------- */

int weft_store_stats_by_codec(weft_store *s, weft_store_codec_stats out[WEFT_STORE_N_CODECS + 1])
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    memset(out, 0, sizeof *out * (WEFT_STORE_N_CODECS + 1));
    for (int i = 0; i < WEFT_STORE_N_CODECS; i++)
        out[i].codec = weft_store_codec_name(i);
    out[WEFT_STORE_N_CODECS].codec = "xet";
    int rc = weft_store__prepare(s, &st,
                                 "SELECT codec, sum(chunks), sum(raw_bytes), sum(stored_bytes) "
                                 "FROM xorb_codecs GROUP BY codec "
                                 "UNION ALL SELECT 'xet', coalesce(sum(n_chunks), 0), "
                                 "coalesce(sum(raw_bytes), 0), coalesce(sum(stored_bytes), 0) "
                                 "FROM xorbs WHERE object IS NULL");
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; name != NULL && i <= WEFT_STORE_N_CODECS; i++) {
            if (strcmp(out[i].codec, name) != 0)
                continue;
            out[i].chunks += (uint64_t)sqlite3_column_int64(st, 1);
            out[i].raw_bytes += (uint64_t)sqlite3_column_int64(st, 2);
            out[i].stored_bytes += (uint64_t)sqlite3_column_int64(st, 3);
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "stats by codec");
    sqlite3_finalize(st);
    return rc;
}

/* ---- usage of a set of files ------------------------------------------------------------------
 */

typedef struct usage_xorb {
    weft_hash xorb;
    uint8_t used[WEFT_XORB_MAX_CHUNKS / 8];
} usage_xorb;

static int usage_cmp(const void *a, const void *b)
{
    return memcmp(a, b, WEFT_HASH_LEN);
}

int weft_store_files_usage(weft_store *s, const weft_hash *files, size_t n, uint64_t *logical,
                           uint64_t *physical)
{
    usage_xorb *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = 0;
    *logical = *physical = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_store_file f;
        weft_store_term *terms = NULL;
        size_t nt = 0;
        rc = weft_store_stat(s, &files[i], &f);
        if (rc == 0)
            rc = weft_store__terms_load(s, &files[i], &terms, &nt);
        if (rc == 0)
            *logical += f.size;
        for (size_t t = 0; rc == 0 && t < nt; t++) {
            usage_xorb *u = NULL;
            for (size_t j = 0; j < nv && u == NULL; j++)
                if (weft_hash_eq(&v[j].xorb, &terms[t].xorb))
                    u = &v[j];
            if (u == NULL) {
                if (nv == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    usage_xorb *p = realloc(v, nc * sizeof *p);
                    if (p == NULL) {
                        rc = weft_err_set(WEFT_ENOMEM, "stats: out of memory");
                        break;
                    }
                    v = p;
                    cap = nc;
                }
                u = &v[nv++];
                memset(u, 0, sizeof *u);
                u->xorb = terms[t].xorb;
            }
            for (uint32_t k = terms[t].start; k < terms[t].end && k < WEFT_XORB_MAX_CHUNKS; k++)
                u->used[k / 8] |= (uint8_t)(1u << (k % 8));
        }
        free(terms);
    }
    if (nv > 1)
        qsort(v, nv, sizeof *v, usage_cmp);
    for (size_t j = 0; rc == 0 && j < nv; j++) {
        weft_xorb_footer *f = NULL;
        rc = weft_store__load_footer(s, &v[j].xorb, 0, &f, NULL);
        for (uint32_t k = 0; rc == 0 && k < f->n_chunks; k++)
            if (v[j].used[k / 8] & (1u << (k % 8)))
                *physical += f->phys_off[k + 1] - f->phys_off[k];
        weft_xorb_footer_free(f);
    }
    free(v);
    return rc;
}

/* ---- optimize -------------------------------------------------------------------------------- */

typedef struct opt_ctx {
    weft_store *s;
    const weft_store_optimize_opts *opts;
    weft_store_optimize_result *res;
    weft_store__codec *codec; /* decoding (chunks being re-coded, verification) */
    weft_weight_codec *enc;
    weft_store__file_reader *file_r;
    weft_store__file_reader *base_r; /* NULL without a base */
    weft_st_header *h, *bh;
    int64_t base_id;
    weft_weight_region *regions; /* the file's tensors, matched to the base's when there is one */
    size_t n_regions;
    weft_weight_span *spans;
    size_t spans_cap;
    uint8_t *base_buf; /* base bytes of the chunk being coded */
    uint8_t *frame;    /* one encoded chunk: header + frame */
    uint8_t *check;    /* the frame decoded again */
    size_t frame_cap;
    uint8_t *obj; /* the xorb as stored */
    size_t obj_cap;
} opt_ctx;

/* The layout of file bytes [pos, pos + len) from the file's tensor regions (weft_weight_layout
 * over weft_tensor_match_regions): the header raw, each tensor by its dtype, and, when delta
 * coding is allowed, the base tensor's bytes at the same positions read from the base file. */
static int opt_layout(opt_ctx *o, uint64_t pos, size_t len, int delta, size_t *n_out)
{
    size_t n = 0;
    int rc = weft_weight_layout(o->spans, o->spans_cap, &n, o->regions, o->n_regions, pos, len);
    for (size_t i = 0, at = 0; rc == 0 && i < n; at += o->spans[i].len, i++) {
        weft_weight_span *sp = &o->spans[i];
        uint64_t boff = sp->base_ref;
        sp->base = NULL;
        sp->base_ref = 0;
        if (!delta || boff == WEFT_TENSOR_NO_BASE || sp->dtype == WEFT_WEIGHT_RAW ||
            boff > BASE_OFF_MASK)
            continue;
        rc = weft_store__file_reader_read(o->base_r, boff, o->base_buf + at, sp->len);
        sp->base = o->base_buf + at;
        sp->base_ref = (uint64_t)o->base_id << BASE_REF_SHIFT | boff;
    }
    *n_out = n;
    return rc;
}

/* Encodes one chunk (raw bytes at file offset pos) into o->frame (header included); *out_len 0
 * when the frame would not be smaller than `stored_len`. *used_base = 1 if it has delta spans. */
static int opt_code_chunk(opt_ctx *o, const weft_xorb_footer *f, uint32_t k, const uint8_t *raw,
                          uint64_t pos, size_t stored_len, int delta, size_t *out_len,
                          int *used_base)
{
    size_t raw_len = f->raw_off[k + 1] - f->raw_off[k], n = 0, flen = 0, got = 0;
    *out_len = 0;
    *used_base = 0;
    int rc = opt_layout(o, pos, raw_len, delta, &n);
    if (rc < 0)
        return rc;
    size_t need = weft_weight_frame_bound(raw_len, n) + WEFT_XORB_CHUNK_HEADER_LEN;
    if (need > o->frame_cap) {
        uint8_t *p = realloc(o->frame, need);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "optimize: out of memory");
        o->frame = p;
        o->frame_cap = need;
    }
    rc = weft_weight_frame_encode(o->enc, o->frame + WEFT_XORB_CHUNK_HEADER_LEN,
                                  o->frame_cap - WEFT_XORB_CHUNK_HEADER_LEN, &flen, raw, raw_len,
                                  o->spans, n);
    if (rc < 0)
        return rc;
    if (flen + WEFT_XORB_CHUNK_HEADER_LEN >= stored_len || flen > WEFT_XORB_MAX_COMPRESSED_LEN)
        return 0;
    /* Decode it again before trusting it: the bytes must come back exactly. */
    size_t ns = 0;
    rc = codec_parse(o->codec, o->frame + WEFT_XORB_CHUNK_HEADER_LEN, flen, raw_len, &ns);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < ns; i++) {
        o->codec->ptrs[i] =
            o->codec->spans[i].needs_base ? o->base_buf + o->codec->spans[i].offset : NULL;
        *used_base |= o->codec->spans[i].needs_base;
    }
    rc = weft_weight_frame_decode(o->codec->wc, o->check, WEFT_XET_CHUNK_MAX, &got,
                                  o->frame + WEFT_XORB_CHUNK_HEADER_LEN, flen, o->codec->ptrs, ns);
    if (rc < 0 || got != raw_len || memcmp(o->check, raw, raw_len) != 0)
        return weft_err_set(WEFT_ECORRUPT,
                            "optimize: chunk %u did not decode back to its bytes; nothing "
                            "written for it",
                            k);
    uint8_t *hd = o->frame;
    hd[0] = 0;
    hd[1] = (uint8_t)flen;
    hd[2] = (uint8_t)(flen >> 8);
    hd[3] = (uint8_t)(flen >> 16);
    hd[4] = WEFT_STORE_SCHEME_WEIGHT;
    hd[5] = (uint8_t)raw_len;
    hd[6] = (uint8_t)(raw_len >> 8);
    hd[7] = (uint8_t)(raw_len >> 16);
    *out_len = flen + WEFT_XORB_CHUNK_HEADER_LEN;
    return 0;
}

/* 1 if xorb x must stay plain: the base being coded against (number base_id) uses it, or a file
 * that is the base of some delta does. Asking for base_id too keeps this right while the first
 * delta against it is still on its way to the index (optimize pipelines its xorbs). */
static int opt_xorb_feeds_base(weft_store *s, const weft_hash *x, int64_t base_id, int *yes)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st,
                                 "SELECT 1 FROM terms t JOIN bases b ON b.file = t.file WHERE "
                                 "t.xorb = ?1 AND (b.id = ?2 OR EXISTS (SELECT 1 FROM xorb_bases "
                                 "xb WHERE xb.base = b.id)) LIMIT 1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, base_id);
    int step = sqlite3_step(st);
    *yes = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "optimize: find base files");
    sqlite3_finalize(st);
    return rc;
}

/* Switches xorb x from object `old` to `name` (stored_bytes `size`) and records its bases and
 * codec counts, in one transaction. *lost = 1 if the row changed meanwhile (nothing done). */
static int opt_switch(opt_ctx *o, const weft_hash *x, const char *old, int old_coded,
                      const char *name, uint64_t size, int used_base, int any_delta,
                      const weft_store_codec_stats *counts, int *lost)
{
    weft_store *s = o->s;
    sqlite3_stmt *st = NULL;
    *lost = 0;
    int rc = weft_store__begin(s);
    if (rc < 0)
        return rc;
    rc = weft_store__prepare(s, &st,
                             "UPDATE xorbs SET object = ?2, stored_bytes = ?3 WHERE hash = ?1 "
                             "AND object IS ?4");
    if (rc < 0)
        goto out;
    sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
    if (old_coded)
        sqlite3_bind_text(st, 4, old, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = weft_store__db_error(s, "optimize: switch xorb");
        goto out;
    }
    if (sqlite3_changes(s->db) != 1) {
        *lost = 1;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* No delta chunk left in the object: it needs no base any more. */
    if (!any_delta)
        rc = weft_store__exec_hash(s, "DELETE FROM xorb_bases WHERE xorb = ?1", x);
    if (rc < 0)
        goto out;
    if (used_base) {
        /* The base must still be stored: a remove that ran meanwhile did not see this xorb. */
        rc = weft_store__prepare(s, &st,
                                 "SELECT 1 FROM files WHERE xet_hash = "
                                 "(SELECT file FROM bases WHERE id = ?1)");
        if (rc < 0)
            goto out;
        sqlite3_bind_int64(st, 1, o->base_id);
        int step = sqlite3_step(st);
        sqlite3_finalize(st);
        st = NULL;
        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE
                     ? weft_err_set(WEFT_ECONFLICT, "optimize: the base was removed meanwhile")
                     : weft_store__db_error(s, "optimize: find the base");
            goto out;
        }
        rc = weft_store__prepare(s, &st,
                                 "INSERT OR IGNORE INTO xorb_bases(xorb, base) VALUES(?1, ?2)");
        if (rc < 0)
            goto out;
        sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, o->base_id);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = weft_store__db_error(s, "optimize: record base");
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    rc = weft_store__exec_hash(s, "DELETE FROM xorb_codecs WHERE xorb = ?1", x);
    if (rc == 0)
        rc = weft_store__prepare(s, &st,
                                 "INSERT INTO xorb_codecs(xorb, codec, chunks, raw_bytes, "
                                 "stored_bytes) VALUES(?1, ?2, ?3, ?4, ?5)");
    for (int i = 0; rc == 0 && i < WEFT_STORE_N_CODECS; i++) {
        if (counts[i].chunks == 0)
            continue;
        sqlite3_bind_blob(st, 1, x->b, WEFT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, counts[i].codec, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)counts[i].chunks);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)counts[i].raw_bytes);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)counts[i].stored_bytes);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = weft_store__db_error(s, "optimize: record codecs");
        sqlite3_reset(st);
    }
out:
    sqlite3_finalize(st);
    if (rc == 0 && !*lost)
        return weft_store__commit(s);
    weft_store__rollback(s);
    return rc;
}

/* One re-coded xorb on its way to the backend: opt_encode fills it, a writer thread puts the
 * object (opt_put_thread) while the next xorb is encoded, then opt_finish switches the index. */
typedef struct opt_job {
    uint8_t *out;       /* the re-coded chunks, then (at obj_cap - CHUNK_MAX) a scratch chunk */
    uint32_t *phys_off; /* the new footer's physical offsets */
    size_t w;           /* bytes of out used */
    weft_buf footer;
    weft_hash xorb;
    char old[WEFT_STORE_OBJ_MAX], name[WEFT_STORE_OBJ_MAX];
    int old_coded, changed, used_base, any_delta;
    weft_store_codec_stats counts[WEFT_STORE_N_CODECS];
    /* the put, run on the writer thread */
    weft_backend *backend;
    pthread_t thread;
    int running, put_rc;
    char put_msg[512];
} opt_job;

/* Re-codes the chunks of xorb x (object `old`) that the file uses at file offsets used[k]
 * (UINT64_MAX: not) into job j; j->changed = 0 when nothing was re-coded. */
static int opt_encode(opt_ctx *o, opt_job *j, const weft_hash *x, const weft_xorb_footer *f,
                      const char *old, int old_coded, const uint64_t *used, int delta)
{
    weft_store *s = o->s;
    uint64_t size = 0;
    j->xorb = *x;
    snprintf(j->old, sizeof j->old, "%s", old);
    j->old_coded = old_coded;
    j->changed = j->used_base = j->any_delta = 0;
    j->w = 0;
    memset(j->counts, 0, sizeof j->counts);
    for (int i = 0; i < WEFT_STORE_N_CODECS; i++)
        j->counts[i].codec = weft_store_codec_name(i);
    weft_buf_clear(&j->footer);
    int rc = s->backend->size(s->backend, old, &size);
    if (rc == 0 && size > o->obj_cap)
        rc = weft_err_set(WEFT_ECORRUPT, "xorb object %s is over the xorb limit", old);
    if (rc == 0)
        rc = s->backend->get(s->backend, old, 0, o->obj, (size_t)size);
    if (rc < 0)
        goto out;
    size_t w = 0;
    j->phys_off[0] = 0;
    for (uint32_t k = 0; k < f->n_chunks; k++) {
        const uint8_t *chunk = o->obj + f->phys_off[k];
        size_t plen = f->phys_off[k + 1] - f->phys_off[k];
        size_t raw_len = f->raw_off[k + 1] - f->raw_off[k], flen = 0;
        int ub = 0;
        int recode = used[k] != UINT64_MAX && chunk[4] != WEFT_STORE_SCHEME_WEIGHT;
        int no_delta = o->opts != NULL && o->opts->no_delta, has_delta = 0;
        if (used[k] != UINT64_MAX && !recode && (no_delta || delta)) {
            /* A frame with delta spans is coded again without them under --no-delta; one
             * without is tried as a delta when there is a base. */
            size_t ns = 0;
            rc = codec_parse(o->codec, chunk + WEFT_XORB_CHUNK_HEADER_LEN,
                             plen - WEFT_XORB_CHUNK_HEADER_LEN, raw_len, &ns);
            if (rc < 0) {
                rc = weft_err_wrap(WEFT_ECORRUPT, "optimize: xorb %s is damaged; run fsck", old);
                goto out;
            }
            for (size_t i = 0; i < ns; i++)
                has_delta |= o->codec->spans[i].needs_base;
            recode = no_delta ? has_delta : !has_delta;
        }
        if (recode) {
            const uint8_t *raw = NULL;
            rc = weft_store__chunk_decode(s, &o->codec, 1, f, k, chunk, o->check, 1, &raw);
            if (rc < 0) {
                rc = weft_err_wrap(WEFT_ECORRUPT, "optimize: xorb %s is damaged; run fsck", old);
                goto out;
            }
            /* raw may be o->check, which coding reuses: then keep a copy in the output area
             * (a plain chunk is used in place: o->obj is not written). */
            const uint8_t *copy = raw;
            if (raw == o->check) {
                uint8_t *tail = j->out + o->obj_cap - WEFT_XET_CHUNK_MAX;
                memcpy(tail, raw, raw_len);
                copy = tail;
            }
            /* Undoing a delta keeps the plain frame even when larger (at worst the raw bytes). */
            size_t limit = no_delta && has_delta ? SIZE_MAX : plen;
            rc = opt_code_chunk(o, f, k, copy, used[k], limit, delta, &flen, &ub);
            if (rc < 0)
                goto out;
            if (flen == 0 && limit == SIZE_MAX) {
                weft_xorb_chunk_header h = {.scheme = WEFT_XET_SCHEME_NONE,
                                            .compressed_len = (uint32_t)raw_len,
                                            .raw_len = (uint32_t)raw_len};
                weft_xorb_chunk_header_write(o->frame, &h);
                memcpy(o->frame + WEFT_XORB_CHUNK_HEADER_LEN, copy, raw_len);
                flen = raw_len + WEFT_XORB_CHUNK_HEADER_LEN;
            }
        }
        if (flen > 0) {
            memcpy(j->out + w, o->frame, flen);
            j->changed = 1;
            j->used_base |= ub;
            o->res->chunks_coded++;
        } else {
            memmove(j->out + w, chunk, plen);
            flen = plen;
        }
        if (used[k] != UINT64_MAX) {
            o->res->before_bytes += plen;
            o->res->after_bytes += flen;
        }
        int cdc = codec_of(o->codec, j->out + w, flen, raw_len);
        for (size_t i = 0; cdc >= WEFT_STORE_CODEC_WEIGHT && i < o->codec->n_spans; i++)
            j->any_delta |= o->codec->spans[i].needs_base;
        if (cdc >= 0) {
            j->counts[cdc].chunks++;
            j->counts[cdc].raw_bytes += raw_len;
            j->counts[cdc].stored_bytes += flen;
            if (used[k] != UINT64_MAX) {
                o->res->codecs[cdc].chunks++;
                o->res->codecs[cdc].raw_bytes += raw_len;
                o->res->codecs[cdc].stored_bytes += flen;
            }
        }
        w += flen;
        j->phys_off[k + 1] = (uint32_t)w;
    }
    j->w = w;
    if (!j->changed)
        goto out;
    weft_xorb_footer nf = *f;
    nf.phys_off = j->phys_off;
    rc = weft_xorb_footer_serialize(&j->footer, &nf);
    if (rc < 0)
        goto out;
    /* The next generation's name: <hex>.w<n>. */
    long gen = 1;
    const char *dot = strstr(old, ".w");
    if (old_coded && dot != NULL) {
        char *end = NULL;
        gen = strtol(dot + 2, &end, 10) + 1;
    }
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(hex, x);
    /* A random tail keeps concurrent optimizers of one xorb from ever writing the same name
     * (the loser deletes its own object, never the winner's). */
    uint8_t tag[4];
    if (RAND_bytes(tag, sizeof tag) != 1) {
        rc = weft_err_set(WEFT_EIO, "optimize: no random bytes for an object name");
        goto out;
    }
    snprintf(j->name, sizeof j->name, "%s.w%ld.%02x%02x%02x%02x", hex, gen, tag[0], tag[1], tag[2],
             tag[3]);
out:
    return rc;
}

/* The writer thread: makes job's object durable (the backend's put may run beside the owner's
 * reads; weft/backend.h). */
static void *opt_put_thread(void *arg)
{
    opt_job *j = arg;
    weft_backend_part parts[2] = {{.p = j->out, .len = j->w},
                                  {.p = j->footer.data, .len = j->footer.len}};
    j->put_rc = j->backend->put(j->backend, j->name, parts, 2);
    if (j->put_rc < 0)
        snprintf(j->put_msg, sizeof j->put_msg, "%s", weft_err_last());
    return NULL;
}

static int opt_put_start(opt_ctx *o, opt_job *j)
{
    j->backend = o->s->backend;
    j->put_rc = 0;
    j->put_msg[0] = '\0';
    if (pthread_create(&j->thread, NULL, opt_put_thread, j) != 0) {
        opt_put_thread(j); /* no thread to be had: put it here */
        return j->put_rc;
    }
    j->running = 1;
    return 0;
}

/* Waits for job's put; its result (the writer's message carried over to this thread). */
static int opt_put_wait(opt_job *j)
{
    if (j->running) {
        pthread_join(j->thread, NULL);
        j->running = 0;
    }
    if (j->put_rc < 0)
        return weft_err_set(j->put_rc, "%s", j->put_msg);
    return 0;
}

/* After job's object is durable: switches the index to it, then deletes the old object. When
 * the switch does not happen, the new object is nobody's and goes. */
static int opt_finish(opt_ctx *o, opt_job *j)
{
    weft_store *s = o->s;
    int lost = 0;
    int rc = opt_put_wait(j);
    if (rc < 0) {
        int r = s->backend->remove(s->backend, j->name);
        (void)r;
        return rc;
    }
    rc = opt_switch(o, &j->xorb, j->old, j->old_coded, j->name, j->w + j->footer.len, j->used_base,
                    j->any_delta, j->counts, &lost);
    if (rc < 0 || lost) {
        int r = s->backend->remove(s->backend, j->name);
        (void)r;
        if (rc == 0) {
            char hex[WEFT_HASH_HEX_LEN + 1];
            weft_xet_hash_to_hex(hex, &j->xorb);
            rc = weft_err_set(WEFT_ECONFLICT,
                              "optimize: xorb %s changed while it was re-coded; run again", hex);
        }
        return rc;
    }
    o->res->xorbs_rewritten++;
    o->res->used_base |= j->used_base;
    /* The index names the new object: the old one is garbage now. */
    return s->backend->remove(s->backend, j->old);
}

/* Reads and parses a stored file's safetensors header. */
static int opt_header(weft_store__file_reader *r, const char *what, weft_st_header **out)
{
    uint8_t head[8];
    uint64_t size = weft_store__file_reader_size(r), need = 0;
    uint8_t *p = NULL;
    int rc = size < 8 ? weft_err_set(WEFT_ECORRUPT, "%llu bytes, too short for a header",
                                     (unsigned long long)size)
                      : weft_store__file_reader_read(r, 0, head, 8);
    if (rc == 0)
        rc = weft_st_header_need(&need, head, 8);
    if (rc == 0 && need > size)
        rc = weft_err_set(WEFT_ECORRUPT, "its header length (%llu bytes) is past the end (%llu)",
                          (unsigned long long)need, (unsigned long long)size);
    if (rc == 0) {
        p = malloc((size_t)need);
        rc = p ? weft_store__file_reader_read(r, 0, p, (size_t)need)
               : weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = weft_st_parse(out, p, (size_t)need, size);
    free(p);
    if (rc < 0 && rc != WEFT_ENOMEM && rc != WEFT_EIO)
        return weft_err_wrap(WEFT_ECORRUPT, "%s is not a valid safetensors file", what);
    return rc;
}

static int opt_base_id(weft_store *s, const weft_hash *base, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__exec_hash(s, "INSERT OR IGNORE INTO bases(file) VALUES(?1)", base);
    if (rc == 0)
        rc = weft_store__prepare(s, &st, "SELECT id FROM bases WHERE file = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, base->b, WEFT_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else
        rc = weft_store__db_error(s, "optimize: base number");
    sqlite3_finalize(st);
    if (rc == 0 && (*id <= 0 || *id >= (1ll << (64 - BASE_REF_SHIFT))))
        rc = weft_err_set(WEFT_ELIMIT, "optimize: too many delta bases");
    return rc;
}

/* 1 if some xorb the file uses holds delta chunks (it cannot be a base then). */
static int opt_file_has_deltas(weft_store *s, const weft_hash *file, int *yes)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st,
                                 "SELECT 1 FROM terms t JOIN xorb_bases xb ON xb.xorb = t.xorb "
                                 "WHERE t.file = ?1 LIMIT 1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *yes = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "optimize: find deltas");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_file_has_plain_xorbs(weft_store *s, const weft_hash *file, int *yes)
{
    sqlite3_stmt *st = NULL;
    int rc = weft_store__prepare(s, &st,
                                 "SELECT 1 FROM terms t JOIN xorbs x ON x.hash = t.xorb "
                                 "WHERE t.file = ?1 AND x.object IS NULL LIMIT 1");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *yes = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "optimize: find plain xorbs");
    sqlite3_finalize(st);
    return rc;
}

int weft_store_optimize_file(weft_store *s, const weft_hash *file, const weft_hash *base,
                             const weft_store_optimize_opts *opts, weft_store_optimize_result *out)
{
    weft_store_optimize_result res;
    opt_ctx o = {.s = s, .opts = opts, .res = &res};
    weft_store_term *terms = NULL;
    weft_hash *done = NULL;
    uint64_t *used = NULL;
    opt_job jobs[2];
    opt_job *pending = NULL; /* the job whose object is being put */
    unsigned cur = 0;
    size_t n_terms = 0, n_done = 0;
    char fhex[WEFT_HASH_HEX_LEN + 1], bhex[WEFT_HASH_HEX_LEN + 1];
    memset(&res, 0, sizeof res);
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 2; i++)
        weft_buf_init(&jobs[i].footer, WEFT_XORB_FOOTER_MAX_LEN);
    for (int i = 0; i < WEFT_STORE_N_CODECS; i++)
        res.codecs[i].codec = weft_store_codec_name(i);
    weft_xet_hash_to_hex(fhex, file);
    if (base != NULL && opts != NULL && opts->no_delta)
        base = NULL;
    int rc = weft_store__file_reader_open(s, file, 0, 0, &o.file_r);
    if (rc == 0)
        rc = opt_header(o.file_r, fhex, &o.h);
    if (rc < 0)
        goto out;
    res.file_bytes = weft_store__file_reader_size(o.file_r);
    if (base != NULL) {
        int deltas = 0;
        weft_xet_hash_to_hex(bhex, base);
        if (weft_hash_eq(base, file)) {
            rc = weft_err_set(WEFT_EINVALID, "optimize: a file cannot be its own base");
            goto out;
        }
        rc = opt_file_has_deltas(s, base, &deltas);
        if (rc == 0 && deltas)
            rc = weft_err_set(WEFT_EINVALID,
                              "optimize: base %s is itself stored as a delta (chains are one "
                              "deep); pick its base instead",
                              bhex);
        if (rc == 0)
            rc = weft_store__file_reader_open(s, base, 0, 1, &o.base_r);
        if (rc == 0)
            rc = opt_header(o.base_r, bhex, &o.bh);
        if (rc == 0)
            rc = opt_base_id(s, base, &o.base_id);
        if (rc < 0)
            goto out;
    }
    rc = weft_tensor_match_regions(&o.regions, &o.n_regions, NULL, o.h, o.bh, NULL,
                                   o.base_r ? weft_store__file_reader_size(o.base_r) : 0);
    if (rc < 0)
        goto out;
    /* a chunk meets at most every region and the raw bytes between them */
    o.spans_cap =
        2 * o.n_regions + 2 < WEFT_WEIGHT_MAX_SPANS ? 2 * o.n_regions + 2 : WEFT_WEIGHT_MAX_SPANS;
    o.spans = malloc(o.spans_cap * sizeof *o.spans);
    if (!o.spans) {
        rc = weft_err_set(WEFT_ENOMEM, "optimize: out of memory");
        goto out;
    }
    o.obj_cap = (size_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN + WEFT_XET_CHUNK_MAX;
    o.obj = weft_store__big_alloc(o.obj_cap);
    for (int i = 0; i < 2; i++) {
        jobs[i].out = weft_store__big_alloc(o.obj_cap);
        jobs[i].phys_off = malloc((WEFT_XORB_MAX_CHUNKS + 1) * sizeof *jobs[i].phys_off);
    }
    o.base_buf = malloc(WEFT_XET_CHUNK_MAX);
    o.check = malloc(WEFT_XET_CHUNK_MAX);
    used = malloc(WEFT_XORB_MAX_CHUNKS * sizeof *used);
    rc = o.obj && jobs[0].out && jobs[1].out && jobs[0].phys_off && jobs[1].phys_off &&
                 o.base_buf && o.check && used
             ? weft_weight_codec_new(&o.enc)
             : weft_err_set(WEFT_ENOMEM, "optimize: out of memory");
    if (rc == 0)
        rc = codec_new(&o.codec);
    if (rc == 0)
        rc = weft_store__terms_load(s, file, &terms, &n_terms);
    if (rc < 0)
        goto out;
    done = calloc(n_terms ? n_terms : 1, sizeof *done);
    if (done == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "optimize: out of memory");
        goto out;
    }
    uint64_t at = 0;
    for (size_t i = 0; i < n_terms; at += terms[i].raw, i++) {
        const weft_hash *x = &terms[i].xorb;
        int seen = 0, coded = 0, feeds = 0;
        for (size_t j = 0; j < n_done && !seen; j++)
            seen = weft_hash_eq(&done[j], x);
        if (seen)
            continue;
        done[n_done++] = *x;
        weft_xorb_footer *f = NULL;
        char obj[WEFT_STORE_OBJ_MAX];
        rc = weft_store__load_footer_obj(s, x, 1, &f, NULL, obj, &coded);
        if (rc < 0)
            goto out;
        /* The file offset of every chunk of x the file uses (its first use). */
        for (uint32_t k = 0; k < f->n_chunks; k++)
            used[k] = UINT64_MAX;
        uint64_t a = at;
        for (size_t j = i; j < n_terms; a += terms[j].raw, j++) {
            if (!weft_hash_eq(&terms[j].xorb, x))
                continue;
            for (uint32_t k = terms[j].start; k < terms[j].end && k < f->n_chunks; k++)
                if (used[k] == UINT64_MAX)
                    used[k] = a + (f->raw_off[k] - f->raw_off[terms[j].start]);
        }
        for (uint32_t k = 0; k < f->n_chunks; k++)
            if (used[k] != UINT64_MAX)
                res.chunks++;
        rc = base ? opt_xorb_feeds_base(s, x, o.base_id, &feeds) : 0;
        /* Encode this xorb while the writer thread puts the previous one. */
        opt_job *j = &jobs[cur];
        if (rc == 0)
            rc = opt_encode(&o, j, x, f, obj, coded, used, base != NULL && !feeds);
        weft_xorb_footer_free(f);
        if (rc == 0 && pending != NULL) {
            rc = opt_finish(&o, pending);
            pending = NULL;
        }
        if (rc == 0 && j->changed) {
            rc = opt_put_start(&o, j);
            if (rc == 0) {
                pending = j;
                cur ^= 1;
            }
        }
        if (rc < 0)
            goto out;
        if (opts != NULL && opts->progress != NULL)
            opts->progress(at + terms[i].raw, opts->payload);
        if (opts != NULL && opts->stop != NULL && opts->stop(opts->payload)) {
            rc = weft_err_set(WEFT_ECONFLICT, "optimize: stopped");
            goto out;
        }
    }
    if (pending != NULL) {
        rc = opt_finish(&o, pending);
        pending = NULL;
    }
out:
    if (pending != NULL) {
        /* Failed with a put under way: wait for it, and its object is nobody's. */
        if (pending->running)
            pthread_join(pending->thread, NULL);
        if (pending->put_rc == 0) {
            int r = s->backend->remove(s->backend, pending->name);
            (void)r;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (jobs[i].out != NULL)
            weft_store__big_free(jobs[i].out, o.obj_cap);
        free(jobs[i].phys_off);
        weft_buf_dispose(&jobs[i].footer);
    }
    weft_store__file_reader_free(o.file_r);
    weft_store__file_reader_free(o.base_r);
    weft_st_header_free(o.h);
    weft_st_header_free(o.bh);
    weft_store__codec_free(o.codec);
    weft_weight_codec_free(o.enc);
    if (o.obj != NULL)
        weft_store__big_free(o.obj, o.obj_cap);
    free(o.base_buf);
    free(o.check);
    free(o.frame);
    free(o.spans);
    free(o.regions);
    free(used);
    free(done);
    free(terms);
    if (out != NULL)
        *out = res;
    return rc;
}
