/* Xet chunk compression (include/weft/xet_compress.h, specs/xet-storage.md §1.3).
 *
 * LZ4 frames are written the way xet-core's lz4_flex FrameEncoder writes them for one chunk:
 * magic, FLG 0x60 (version 01, independent blocks, no checksums, no content size), BD with the
 * block-size code lz4_flex picks from the length of the first write (≤ 64 KiB → code 4, else
 * code 5: a chunk is written in one call, so it is always one block), the descriptor checksum,
 * one block (stored uncompressed, high bit set, when LZ4 does not shrink it), the end mark.
 * Block payloads come from liblz4; they are valid LZ4 but not byte-identical to lz4_flex's or
 * lz4js's (neither are those two to each other); chunk and xorb hashes cover raw bytes only.
 *
 * The frame reader is ours rather than LZ4F_decompress so that every length is checked against
 * the declared chunk size before use and no block buffer is sized from the (untrusted) BD byte.
 * It accepts what the other writers produce: linked blocks (lz4js sets no independence flag),
 * any block-size code 4..7, block and content checksums, content size, concatenated frames. */
#include <lz4.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weft/buf.h"
#include "weft/xet_compress.h"

#define LZ4F_MAGIC 0x184D2204u
#define LZ4F_FLG_VERSION 0x40u
#define LZ4F_FLG_INDEPENDENT 0x20u
#define LZ4F_FLG_BLOCK_CHECKSUM 0x10u
#define LZ4F_FLG_CONTENT_SIZE 0x08u
#define LZ4F_FLG_CONTENT_CHECKSUM 0x04u
#define LZ4F_FLG_RESERVED 0x02u
#define LZ4F_FLG_DICT_ID 0x01u
#define LZ4F_BLOCK_UNCOMPRESSED 0x80000000u
#define LZ4F_HEADER_LEN 7u /* magic + FLG + BD + HC, as we write it */
#define LZ4F_OVERHEAD 15u  /* header + block size + end mark */
#define LZ4_WINDOW (64u * 1024u)

/* ---- xxHash32 (frame descriptor and optional checksums) ---------------------------------- */

#define XXH_P1 2654435761u
#define XXH_P2 2246822519u
#define XXH_P3 3266489917u
#define XXH_P4 668265263u
#define XXH_P5 374761393u

static uint32_t xxh_rotl(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t xxh_round(uint32_t acc, uint32_t lane)
{
    acc += lane * XXH_P2;
    return xxh_rotl(acc, 13) * XXH_P1;
}

static uint32_t compress_xxh32(const uint8_t *p, size_t len, uint32_t seed)
{
    const uint8_t *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        while ((size_t)(end - p) >= 16) {
            v1 = xxh_round(v1, weft_load_u32le(p));
            v2 = xxh_round(v2, weft_load_u32le(p + 4));
            v3 = xxh_round(v3, weft_load_u32le(p + 8));
            v4 = xxh_round(v4, weft_load_u32le(p + 12));
            p += 16;
        }
        h = xxh_rotl(v1, 1) + xxh_rotl(v2, 7) + xxh_rotl(v3, 12) + xxh_rotl(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)len;
    while ((size_t)(end - p) >= 4) {
        h += weft_load_u32le(p) * XXH_P3;
        h = xxh_rotl(h, 17) * XXH_P4;
        p += 4;
    }
    while (p < end) {
        h += (uint32_t)*p * XXH_P5;
        h = xxh_rotl(h, 11) * XXH_P1;
        p++;
    }
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/* ---- names ------------------------------------------------------------------------------- */

const char *weft_xet_scheme_name(int scheme)
{
    switch (scheme) {
    case WEFT_XET_SCHEME_NONE:
        return "none";
    case WEFT_XET_SCHEME_LZ4:
        return "lz4";
    case WEFT_XET_SCHEME_BG4_LZ4:
        return "bg4-lz4";
    case WEFT_XET_SCHEME_AUTO:
        return "auto";
    default:
        return NULL;
    }
}

int weft_xet_scheme_from_name(const char *name)
{
    static const int all[] = {WEFT_XET_SCHEME_NONE, WEFT_XET_SCHEME_LZ4, WEFT_XET_SCHEME_BG4_LZ4,
                              WEFT_XET_SCHEME_AUTO};
    if (name == NULL)
        return -1;
    if (name[0] == '\0')
        return WEFT_XET_SCHEME_AUTO;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, weft_xet_scheme_name(all[i])) == 0)
            return all[i];
    return -1;
}

int weft_xet_scheme_is_stored(int scheme)
{
    return scheme == WEFT_XET_SCHEME_NONE || scheme == WEFT_XET_SCHEME_LZ4 ||
           scheme == WEFT_XET_SCHEME_BG4_LZ4;
}

/* ---- BG4 --------------------------------------------------------------------------------- */

/* Lane k holds n/4 bytes plus one of the n % 4 tail bytes when k < n % 4. */
static void bg4_lane_starts(size_t start[4], size_t n)
{
    size_t q = n / 4, r = n % 4;
    start[0] = 0;
    for (size_t k = 1; k < 4; k++)
        start[k] = start[k - 1] + q + (k - 1 < r ? 1 : 0);
}

void weft_xet_bg4_split(uint8_t *out, const uint8_t *in, size_t n)
{
    size_t start[4];
    bg4_lane_starts(start, n);
    size_t q = n / 4;
    for (size_t i = 0; i < q; i++) {
        out[start[0] + i] = in[4 * i];
        out[start[1] + i] = in[4 * i + 1];
        out[start[2] + i] = in[4 * i + 2];
        out[start[3] + i] = in[4 * i + 3];
    }
    for (size_t k = 0; k < n % 4; k++)
        out[start[k] + q] = in[4 * q + k];
}

void weft_xet_bg4_regroup(uint8_t *out, const uint8_t *in, size_t n)
{
    size_t start[4];
    bg4_lane_starts(start, n);
    size_t q = n / 4;
    for (size_t i = 0; i < q; i++) {
        out[4 * i] = in[start[0] + i];
        out[4 * i + 1] = in[start[1] + i];
        out[4 * i + 2] = in[start[2] + i];
        out[4 * i + 3] = in[start[3] + i];
    }
    for (size_t k = 0; k < n % 4; k++)
        out[4 * q + k] = in[start[k] + q];
}

/* ---- BG4 predictor (xet-core bg4_prediction.rs) ------------------------------------------ */

void weft_xet_bg4_predictor_init(weft_xet_bg4_predictor *p)
{
    memset(p, 0, sizeof *p);
}

void weft_xet_bg4_predictor_add(weft_xet_bg4_predictor *p, size_t offset, const void *data,
                                size_t n)
{
    const uint8_t *b = data;
    size_t lane = offset % 4;
    for (size_t i = 0; i < n; i++) {
        p->hist[lane][__builtin_popcount(b[i])]++;
        lane = (lane + 1) & 3;
    }
}

int weft_xet_bg4_predictor_recommends(const weft_xet_bg4_predictor *p)
{
    /* Pooled bins start at 1 so q is never zero; the pooled total does not count those ones
     * (as in xet-core). An empty lane bin gives p = 0 and 0 * ln(0) = NaN, and an empty lane
     * 0 / 0 = NaN: such a lane's divergence is NaN, and like Rust's f64::max the comparison
     * below skips it. This is the reference behaviour, kept on purpose. */
    uint32_t base[9], totals[4] = {0, 0, 0, 0};
    for (int j = 0; j < 9; j++)
        base[j] = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 9; j++) {
            base[j] += p->hist[i][j];
            totals[i] += p->hist[i][j];
        }
    uint32_t base_total = totals[0] + totals[1] + totals[2] + totals[3];
    double max_kl = 0.0;
    for (int i = 0; i < 4; i++) {
        double kl = 0.0;
        for (int j = 0; j < 9; j++) {
            double pi = (double)p->hist[i][j] / (double)totals[i];
            double qj = (double)base[j] / (double)base_total;
            kl += pi * log(pi / qj);
        }
        if (kl > max_kl)
            max_kl = kl;
    }
    return max_kl > WEFT_XET_BG4_KL_THRESHOLD;
}

int weft_xet_scheme_choose(const void *data, size_t n)
{
    weft_xet_bg4_predictor p;
    weft_xet_bg4_predictor_init(&p);
    weft_xet_bg4_predictor_add(&p, 0, data, n);
    return weft_xet_bg4_predictor_recommends(&p) ? WEFT_XET_SCHEME_BG4_LZ4 : WEFT_XET_SCHEME_LZ4;
}

/* ---- encoding ---------------------------------------------------------------------------- */

size_t weft_xet_compress_bound(size_t n)
{
    /* Never more than the raw bytes: a chunk that does not shrink is stored raw. */
    return n;
}

/* Writes one lz4_flex-style frame of src[0..n) to dst (room for LZ4F_OVERHEAD +
 * LZ4_compressBound(n)); returns its length. */
static size_t lz4_frame_write(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint8_t *p = dst;
    weft_store_u32le(p, LZ4F_MAGIC);
    p[4] = LZ4F_FLG_VERSION | LZ4F_FLG_INDEPENDENT;
    p[5] = (uint8_t)((n <= 64u * 1024u ? 4u : 5u) << 4);
    p[6] = (uint8_t)(compress_xxh32(p + 4, 2, 0) >> 8);
    p += LZ4F_HEADER_LEN;
    if (n > 0) {
        int c = LZ4_compress_default((const char *)src, (char *)p + 4, (int)n,
                                     LZ4_compressBound((int)n));
        if (c > 0 && (size_t)c < n) {
            weft_store_u32le(p, (uint32_t)c);
            p += 4 + (size_t)c;
        } else {
            weft_store_u32le(p, LZ4F_BLOCK_UNCOMPRESSED | (uint32_t)n);
            memcpy(p + 4, src, n);
            p += 4 + n;
        }
    }
    weft_store_u32le(p, 0);
    p += 4;
    return (size_t)(p - dst);
}

int weft_xet_compress(weft_buf *out, int *scheme_out, int scheme, const void *data, size_t n)
{
    int rc = 0;
    uint8_t *scratch = NULL;
    if (n > WEFT_XET_MAX_CHUNK_LEN)
        return weft_err_set(WEFT_ELIMIT, "xet compress: chunk of %zu bytes is over %u", n,
                            WEFT_XET_MAX_CHUNK_LEN);
    if (scheme == WEFT_XET_SCHEME_AUTO)
        scheme = weft_xet_scheme_choose(data, n);
    if (!weft_xet_scheme_is_stored(scheme))
        return weft_err_set(WEFT_EINVALID, "xet compress: unknown scheme %d", scheme);

    if (scheme != WEFT_XET_SCHEME_NONE && n > 0) {
        size_t frame_cap = LZ4F_OVERHEAD + (size_t)LZ4_compressBound((int)n);
        size_t scratch_len = frame_cap + (scheme == WEFT_XET_SCHEME_BG4_LZ4 ? n : 0);
        scratch = malloc(scratch_len);
        if (scratch == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "xet compress: no memory for %zu bytes", scratch_len);
            goto out;
        }
        const uint8_t *src = data;
        if (scheme == WEFT_XET_SCHEME_BG4_LZ4) {
            weft_xet_bg4_split(scratch + frame_cap, data, n);
            src = scratch + frame_cap;
        }
        size_t flen = lz4_frame_write(scratch, src, n);
        /* xet-core serialize_chunk: keep the compressed form only if strictly shorter. */
        if (flen < n) {
            rc = weft_buf_append(out, scratch, flen);
            if (rc == 0)
                *scheme_out = scheme;
            goto out;
        }
    }
    rc = weft_buf_append(out, data, n);
    if (rc == 0)
        *scheme_out = WEFT_XET_SCHEME_NONE;
out:
    free(scratch);
    return rc;
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* Decodes LZ4 frames in[0..in_len) into out[0..cap); *produced gets the byte count. */
static int lz4_frames_read(uint8_t *out, size_t cap, size_t *produced, const uint8_t *in,
                           size_t in_len)
{
    size_t pos = 0, done = 0;
    /* An empty payload is an empty stream (lz4_flex's FrameDecoder reads it as 0 bytes); the
     * caller's length check then decides. */
    while (pos < in_len) {
        size_t left = in_len - pos;
        const uint8_t *h = in + pos;
        if (left < LZ4F_HEADER_LEN)
            return weft_err_set(WEFT_ECORRUPT, "lz4: truncated frame header at %zu", pos);
        if (weft_load_u32le(h) != LZ4F_MAGIC)
            return weft_err_set(WEFT_ECORRUPT, "lz4: bad frame magic at %zu", pos);
        uint8_t flg = h[4], bd = h[5];
        if ((flg & 0xC0u) != LZ4F_FLG_VERSION || (flg & LZ4F_FLG_RESERVED) != 0)
            return weft_err_set(WEFT_ECORRUPT, "lz4: unsupported frame flags 0x%02x", flg);
        if ((bd & 0x8Fu) != 0 || (bd >> 4) < 4)
            return weft_err_set(WEFT_ECORRUPT, "lz4: bad block descriptor 0x%02x", bd);
        if (flg & LZ4F_FLG_DICT_ID)
            return weft_err_set(WEFT_ECORRUPT, "lz4: dictionary frames are not supported");
        size_t block_max = (size_t)1 << (8 + 2 * (bd >> 4)); /* 4 → 64 KiB ... 7 → 4 MiB */
        size_t hlen = 6 + ((flg & LZ4F_FLG_CONTENT_SIZE) ? 8 : 0) + 1;
        if (left < hlen)
            return weft_err_set(WEFT_ECORRUPT, "lz4: truncated frame header at %zu", pos);
        if ((uint8_t)(compress_xxh32(h + 4, hlen - 5, 0) >> 8) != h[hlen - 1])
            return weft_err_set(WEFT_ECORRUPT, "lz4: frame header checksum mismatch");
        uint64_t content_size = (flg & LZ4F_FLG_CONTENT_SIZE) ? weft_load_u64le(h + 6) : 0;
        pos += hlen;

        size_t frame_start = done;
        for (;;) {
            if (in_len - pos < 4)
                return weft_err_set(WEFT_ECORRUPT, "lz4: truncated block header at %zu", pos);
            uint32_t word = weft_load_u32le(in + pos);
            pos += 4;
            if (word == 0)
                break;
            size_t size = word & ~LZ4F_BLOCK_UNCOMPRESSED;
            size_t need = size + ((flg & LZ4F_FLG_BLOCK_CHECKSUM) ? 4 : 0);
            if (size > block_max)
                return weft_err_set(WEFT_ECORRUPT, "lz4: block of %zu bytes over its max %zu", size,
                                    block_max);
            if (in_len - pos < need)
                return weft_err_set(WEFT_ECORRUPT, "lz4: truncated block at %zu", pos);
            const uint8_t *blk = in + pos;
            if ((flg & LZ4F_FLG_BLOCK_CHECKSUM) &&
                compress_xxh32(blk, size, 0) != weft_load_u32le(blk + size))
                return weft_err_set(WEFT_ECORRUPT, "lz4: block checksum mismatch at %zu", pos);
            size_t room = cap - done;
            if (room > block_max)
                room = block_max;
            if (word & LZ4F_BLOCK_UNCOMPRESSED) {
                if (size > room)
                    return weft_err_set(WEFT_ECORRUPT, "lz4: data runs past the declared length");
                if (size > 0)
                    memcpy(out + done, blk, size);
                done += size;
            } else {
                int r;
                size_t prefix = done - frame_start;
                if (prefix > LZ4_WINDOW)
                    prefix = LZ4_WINDOW;
                if (size > (size_t)INT32_MAX)
                    return weft_err_set(WEFT_ECORRUPT, "lz4: block too large");
                if ((flg & LZ4F_FLG_INDEPENDENT) || prefix == 0)
                    r = LZ4_decompress_safe((const char *)blk, (char *)out + done, (int)size,
                                            (int)room);
                else
                    r = LZ4_decompress_safe_usingDict(
                        (const char *)blk, (char *)out + done, (int)size, (int)room,
                        (const char *)out + done - prefix, (int)prefix);
                if (r < 0)
                    return weft_err_set(WEFT_ECORRUPT,
                                        "lz4: block at %zu is malformed or runs past the "
                                        "declared length",
                                        pos);
                done += (size_t)r;
            }
            pos += need;
        }
        if (flg & LZ4F_FLG_CONTENT_CHECKSUM) {
            if (in_len - pos < 4)
                return weft_err_set(WEFT_ECORRUPT, "lz4: truncated content checksum");
            if (compress_xxh32(out + frame_start, done - frame_start, 0) !=
                weft_load_u32le(in + pos))
                return weft_err_set(WEFT_ECORRUPT, "lz4: content checksum mismatch");
            pos += 4;
        }
        if ((flg & LZ4F_FLG_CONTENT_SIZE) && content_size != done - frame_start)
            return weft_err_set(WEFT_ECORRUPT, "lz4: frame content size %llu but %zu decoded",
                                (unsigned long long)content_size, done - frame_start);
    }
    *produced = done;
    return 0;
}

int weft_xet_decompress(uint8_t *out, size_t raw_len, int scheme, const uint8_t *in, size_t in_len)
{
    int rc = 0;
    uint8_t *tmp = NULL;
    size_t got = 0;
    if (raw_len > WEFT_XET_MAX_CHUNK_LEN)
        return weft_err_set(WEFT_ELIMIT, "xet decompress: declared length %zu is over %u", raw_len,
                            WEFT_XET_MAX_CHUNK_LEN);
    switch (scheme) {
    case WEFT_XET_SCHEME_NONE:
        if (in_len != raw_len)
            return weft_err_set(WEFT_ECORRUPT,
                                "xet decompress: uncompressed payload of %zu bytes, declared %zu",
                                in_len, raw_len);
        if (raw_len > 0)
            memcpy(out, in, raw_len);
        return 0;
    case WEFT_XET_SCHEME_LZ4:
        rc = lz4_frames_read(out, raw_len, &got, in, in_len);
        break;
    case WEFT_XET_SCHEME_BG4_LZ4:
        tmp = malloc(raw_len ? raw_len : 1);
        if (tmp == NULL)
            return weft_err_set(WEFT_ENOMEM, "xet decompress: no memory for %zu bytes", raw_len);
        rc = lz4_frames_read(tmp, raw_len, &got, in, in_len);
        if (rc == 0 && got == raw_len)
            weft_xet_bg4_regroup(out, tmp, raw_len);
        break;
    default:
        return weft_err_set(WEFT_ECORRUPT, "xet decompress: unknown scheme %d", scheme);
    }
    if (rc == 0 && got != raw_len)
        rc = weft_err_set(WEFT_ECORRUPT,
                          "xet decompress: %s payload decodes to %zu bytes, "
                          "declared %zu",
                          weft_xet_scheme_name(scheme), got, raw_len);
    free(tmp);
    return rc;
}
