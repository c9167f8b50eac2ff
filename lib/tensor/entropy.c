/* Order-0 canonical Huffman coder for byte streams (contract and block layout in
 * include/weft/entropy.h).
 *
 * Encoder: one pass builds a histogram per quarter of the input (the four bit streams), the code
 * lengths come from a two-queue Huffman construction, limited to WEFT_ENTROPY_MAX_BITS by moving
 * over-long leaves up and splitting shorter ones (Kraft sum kept at exactly 1), and the exact
 * coded size is known before any bit is written, so the mode choice costs nothing.
 * Decoder: a 2^11-entry table maps the next 11 bits to (symbol, length); four independent
 * streams are decoded in one loop so their table loads overlap, with 64-bit bit buffers
 * refilled by one unaligned load (bits above the count are the true next bits, so OR-ing the
 * same bytes again is harmless). The last few symbols of each stream go through a careful path
 * that reads byte by byte and checks every length. */
#include "weft/entropy.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/codec_internal.h"

#define EB WEFT_ENTROPY_MAX_BITS
#define ETABLE (1u << EB)

/* A code: bit-reversed canonical code (LSB-first) and its length; len 0 = no code. */
typedef struct entropy_code {
    uint16_t code[256];
    uint8_t len[256];
} entropy_code;

static size_t entropy_quarter(size_t n)
{
    return (n + 3) / 4;
}

/* Start and length of stream k's symbols. */
static void entropy_segment(size_t n, unsigned k, size_t *start, size_t *len)
{
    size_t q = entropy_quarter(n);
    size_t s = q * k < n ? q * k : n;
    size_t e = q * (k + 1) < n ? q * (k + 1) : n;
    *start = s;
    *len = e - s;
}

/* Four histograms, one per stream segment, computed in one interleaved pass. */
static void entropy_histogram4(uint32_t counts[4][256], const uint8_t *in, size_t n)
{
    memset(counts, 0, 4 * 256 * sizeof(uint32_t));
    size_t q = entropy_quarter(n);
    size_t last = n - (n >= 3 * q ? 3 * q : n);
    if (n >= 3 * q) {
        const uint8_t *a = in, *b = in + q, *c = in + 2 * q, *d = in + 3 * q;
        size_t i = 0;
        for (; i < last; i++) {
            counts[0][a[i]]++;
            counts[1][b[i]]++;
            counts[2][c[i]]++;
            counts[3][d[i]]++;
        }
        for (; i < q; i++) {
            counts[0][a[i]]++;
            counts[1][b[i]]++;
            counts[2][c[i]]++;
        }
    } else {
        for (unsigned k = 0; k < 4; k++) {
            size_t s, l;
            entropy_segment(n, k, &s, &l);
            for (size_t i = 0; i < l; i++)
                counts[k][in[s + i]]++;
        }
    }
}

void weft_entropy_histogram(uint32_t counts[256], const uint8_t *in, size_t n)
{
    uint32_t c4[4][256];
    entropy_histogram4(c4, in, n);
    for (int s = 0; s < 256; s++)
        counts[s] = c4[0][s] + c4[1][s] + c4[2][s] + c4[3][s];
}

typedef struct entropy_leaf {
    uint32_t count;
    uint8_t sym;
} entropy_leaf;

/* Sorts leaves by count, ties by symbol: a stable LSD radix sort on the count bytes of leaves
 * given in symbol order (qsort was a quarter of the encoder's time). */
static void entropy_sort_leaves(entropy_leaf *leaves, unsigned m)
{
    entropy_leaf tmp[256];
    uint32_t maxc = 0;
    for (unsigned i = 0; i < m; i++)
        maxc |= leaves[i].count;
    entropy_leaf *src = leaves, *dst = tmp;
    for (unsigned shift = 0; shift < 32 && (maxc >> shift) != 0; shift += 8) {
        unsigned pos[256] = {0};
        for (unsigned i = 0; i < m; i++)
            pos[(src[i].count >> shift) & 0xff]++;
        unsigned sum = 0;
        for (unsigned d = 0; d < 256; d++) {
            unsigned c = pos[d];
            pos[d] = sum;
            sum += c;
        }
        for (unsigned i = 0; i < m; i++)
            dst[pos[(src[i].count >> shift) & 0xff]++] = src[i];
        entropy_leaf *t = src;
        src = dst;
        dst = t;
    }
    if (src != leaves)
        memcpy(leaves, src, m * sizeof leaves[0]);
}

/* Code lengths for the symbols of `counts` (at least two present), at most EB bits, with a
 * Kraft sum of exactly 1. Returns the number of symbols coded. */
static unsigned entropy_lengths(uint8_t len[256], const uint32_t counts[256])
{
    entropy_leaf leaves[256];
    unsigned m = 0;
    memset(len, 0, 256);
    for (int s = 0; s < 256; s++)
        if (counts[s] > 0)
            leaves[m++] = (entropy_leaf){counts[s], (uint8_t)s};
    entropy_sort_leaves(leaves, m);

    /* Two-queue Huffman: leaves 0..m-1 in ascending weight, internal nodes m..2m-2 are made in
     * ascending weight too, so the two smallest are always at the queue fronts. */
    uint64_t w[511];
    uint16_t parent[511];
    for (unsigned i = 0; i < m; i++)
        w[i] = leaves[i].count;
    unsigned li = 0, ii = m;
    for (unsigned k = m; k < 2 * m - 1; k++) {
        unsigned pick[2];
        for (int t = 0; t < 2; t++) {
            if (li < m && (ii >= k || w[li] <= w[ii]))
                pick[t] = li++;
            else
                pick[t] = ii++;
        }
        w[k] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)k;
    }
    uint8_t depth[511];
    depth[2 * m - 2] = 0;
    for (int k = (int)(2 * m) - 3; k >= 0; k--)
        depth[k] = (uint8_t)(depth[parent[k]] + 1 > 63 ? 63 : depth[parent[k]] + 1);

    unsigned bl[64] = {0}, maxd = 0;
    for (unsigned i = 0; i < m; i++) {
        bl[depth[i]]++;
        if (depth[i] > maxd)
            maxd = depth[i];
    }
    if (maxd > EB) {
        /* Clamp, then restore Kraft = 1: each step drops one leaf from depth EB and splits a
         * shallower leaf into two one level deeper (the leaf count stays m). */
        for (unsigned d = EB + 1; d <= maxd; d++) {
            bl[EB] += bl[d];
            bl[d] = 0;
        }
        uint32_t total = 0;
        for (unsigned d = 1; d <= EB; d++)
            total += bl[d] << (EB - d);
        while (total > ETABLE) {
            bl[EB]--;
            for (unsigned d = EB - 1; d > 0; d--) {
                if (bl[d] > 0) {
                    bl[d]--;
                    bl[d + 1] += 2;
                    break;
                }
            }
            total--;
        }
        /* Least frequent leaves get the longest codes. */
        unsigned i = 0;
        for (unsigned d = EB; d > 0; d--)
            for (unsigned c = 0; c < bl[d]; c++)
                depth[i++] = (uint8_t)d;
    }
    for (unsigned i = 0; i < m; i++)
        len[leaves[i].sym] = depth[i];
    return m;
}

static uint16_t entropy_reverse(uint16_t code, unsigned bits)
{
    uint16_t r = 0;
    for (unsigned i = 0; i < bits; i++)
        r = (uint16_t)(r << 1 | ((code >> i) & 1));
    return r;
}

/* Canonical codes from lengths: shorter codes first, then by symbol. Returns 0 if the lengths
 * form a complete code (Kraft sum exactly 1) of at least two symbols, else -1. */
static int entropy_assign(entropy_code *c, const uint8_t len[256])
{
    unsigned bl[EB + 1] = {0};
    for (int s = 0; s < 256; s++) {
        c->len[s] = len[s];
        bl[len[s]]++;
    }
    uint32_t kraft = 0;
    for (unsigned d = 1; d <= EB; d++)
        kraft += bl[d] << (EB - d);
    if (kraft != ETABLE || 256 - bl[0] < 2)
        return -1;
    uint16_t next[EB + 2];
    uint16_t code = 0;
    bl[0] = 0;
    for (unsigned d = 1; d <= EB; d++) {
        code = (uint16_t)((code + bl[d - 1]) << 1);
        next[d] = code;
    }
    for (int s = 0; s < 256; s++)
        c->code[s] = len[s] ? entropy_reverse(next[len[s]]++, len[s]) : 0;
    return 0;
}

/* Header bytes of a Huffman block for these lengths and stream byte lengths. */
static size_t entropy_header_len(const uint8_t len[256], const size_t stream_len[4],
                                 unsigned *first, unsigned *last)
{
    unsigned f = 0, l = 255;
    while (len[f] == 0)
        f++;
    while (len[l] == 0)
        l--;
    *first = f;
    *last = l;
    size_t h = 3 + (l - f + 2) / 2;
    for (int k = 0; k < 4; k++)
        h += weft_tensor__varint_len(stream_len[k]);
    return h;
}

/* Plans a Huffman block: lengths, codes, stream sizes, total. 0 if Huffman is impossible
 * (fewer than two symbols). */
static size_t entropy_plan(entropy_code *c, size_t stream_len[4], unsigned *first,
                           unsigned *last, uint32_t c4[4][256])
{
    uint32_t counts[256];
    unsigned present = 0;
    for (int s = 0; s < 256; s++) {
        counts[s] = c4[0][s] + c4[1][s] + c4[2][s] + c4[3][s];
        present += counts[s] > 0;
    }
    if (present < 2)
        return 0;
    uint8_t len[256];
    entropy_lengths(len, counts);
    if (entropy_assign(c, len) != 0)
        return 0; /* cannot happen: entropy_lengths makes complete codes */
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        uint64_t bits = 0;
        for (int s = 0; s < 256; s++)
            bits += (uint64_t)c4[k][s] * len[s];
        stream_len[k] = (size_t)((bits + 7) / 8);
        total += stream_len[k];
    }
    return total + entropy_header_len(len, stream_len, first, last);
}

size_t weft_entropy_estimate(const uint32_t counts[256], size_t n)
{
    unsigned present = 0;
    for (int s = 0; s < 256; s++)
        present += counts[s] > 0;
    if (present < 2)
        return n == 0 ? 1 : 2;
    uint8_t len[256];
    entropy_lengths(len, counts);
    uint64_t bits = 0;
    for (int s = 0; s < 256; s++)
        bits += (uint64_t)counts[s] * len[s];
    /* Streams: ceil per quarter, approximated by the whole (at most 3 bytes apart). */
    size_t streams = (size_t)((bits + 7) / 8);
    size_t sl[4] = {streams / 4, streams / 4, streams / 4, streams / 4};
    unsigned f, l;
    size_t h = streams + entropy_header_len(len, sl, &f, &l);
    return h < n + 1 ? h : n + 1;
}

/* Writes the symbols in[0..n) as one LSB-first bit stream at p; out_end bounds the 8-byte
 * stores (bytes past the stream's own end are zero and get overwritten by what follows). */
static void entropy_put_stream(uint8_t *p, const uint8_t *out_end, const entropy_code *c,
                               const uint8_t *in, size_t n)
{
    uint64_t acc = 0;
    unsigned nb = 0;
    size_t i = 0;
    while (i + 4 <= n && p + 8 <= out_end) {
        for (int t = 0; t < 4; t++) {
            uint8_t s = in[i + t];
            acc |= (uint64_t)c->code[s] << nb;
            nb += c->len[s];
        }
        i += 4;
        memcpy(p, &acc, 8);
        p += nb >> 3;
        acc >>= nb & ~7u; /* nb ≤ 7 + 4 × 11 < 64 */
        nb &= 7;
    }
    for (; i < n; i++) {
        uint8_t s = in[i];
        acc |= (uint64_t)c->code[s] << nb;
        nb += c->len[s];
        while (nb >= 8) {
            *p++ = (uint8_t)acc;
            acc >>= 8;
            nb -= 8;
        }
    }
    if (nb > 0)
        *p = (uint8_t)acc;
}

int weft_entropy_encode(uint8_t *out, size_t cap, size_t *out_len, const uint8_t *in, size_t n)
{
    if (n > WEFT_ENTROPY_MAX_N)
        return weft_err_set(WEFT_ELIMIT, "entropy: block of %zu bytes over the limit", n);
    if (cap < WEFT_ENTROPY_BOUND(n))
        return weft_err_set(WEFT_ELIMIT, "entropy: output room %zu below the bound %zu", cap,
                            WEFT_ENTROPY_BOUND(n));
    uint32_t c4[4][256];
    entropy_histogram4(c4, in, n);
    entropy_code code;
    size_t stream_len[4];
    unsigned first = 0, last = 0;
    size_t huff = entropy_plan(&code, stream_len, &first, &last, c4);
    if (n > 0 && huff == 0) { /* one symbol only */
        out[0] = WEFT_ENTROPY_CONSTANT;
        out[1] = in[0];
        *out_len = 2;
        return 0;
    }
    if (huff == 0 || huff >= n + 1) {
        out[0] = WEFT_ENTROPY_STORED;
        if (n > 0)
            memcpy(out + 1, in, n);
        *out_len = n + 1;
        return 0;
    }
    uint8_t *p = out;
    *p++ = WEFT_ENTROPY_HUFFMAN;
    *p++ = (uint8_t)first;
    *p++ = (uint8_t)last;
    for (unsigned s = first; s <= last; s += 2) {
        unsigned lo = code.len[s], hi = s + 1 <= last ? code.len[s + 1] : 0;
        *p++ = (uint8_t)(lo | hi << 4);
    }
    for (int k = 0; k < 4; k++)
        p += weft_tensor__put_varint(p, stream_len[k]);
    const uint8_t *end = out + cap;
    for (unsigned k = 0; k < 4; k++) {
        size_t s, l;
        entropy_segment(n, k, &s, &l);
        entropy_put_stream(p, end, &code, in + s, l);
        p += stream_len[k];
    }
    *out_len = (size_t)(p - out);
    return 0;
}

/* Decoding. The single-symbol table maps the next EB bits to symbol | length << 8; the pair
 * table maps them to up to two symbols: s0 | s1 << 8 | count << 16 | bits << 24, where the
 * second symbol is present when its code fits in the bits the first one left. */
typedef struct entropy_reader {
    const uint8_t *p, *end, *start;
    uint64_t bits;
    unsigned nb;
} entropy_reader;

/* Careful decode of n symbols: byte-wise refill, every length checked. -1 if the stream ends
 * before the codes do. */
static int entropy_decode_tail(uint8_t *out, size_t n, entropy_reader *r, const uint16_t *table)
{
    for (size_t i = 0; i < n; i++) {
        while (r->nb <= 56 && r->p < r->end) {
            r->bits |= (uint64_t)*r->p++ << r->nb;
            r->nb += 8;
        }
        uint16_t e = table[r->bits & (ETABLE - 1)];
        unsigned l = e >> 8;
        if (l > r->nb)
            return -1;
        out[i] = (uint8_t)e;
        r->bits >>= l;
        r->nb -= l;
    }
    return 0;
}

static void entropy_pair_table(uint32_t *pair, const uint16_t *table)
{
    for (unsigned i = 0; i < ETABLE; i++) {
        unsigned e1 = table[i], l1 = e1 >> 8;
        unsigned e2 = table[i >> l1], l2 = e2 >> 8;
        if (l1 + l2 <= EB)
            pair[i] = (e1 & 0xff) | (e2 & 0xff) << 8 | 2u << 16 | (l1 + l2) << 24;
        else
            pair[i] = (e1 & 0xff) | 1u << 16 | l1 << 24;
    }
}

/* One refill of stream k from 8 readable bytes: afterwards 56 ≤ nb ≤ 63; the bits above nb are
 * the true next bits, so the next refill may OR the same bytes in again. */
#define ENTROPY_REFILL(k)                                                                          \
    do {                                                                                           \
        uint64_t v_;                                                                               \
        memcpy(&v_, p##k, 8);                                                                      \
        b##k |= v_ << n##k;                                                                        \
        p##k += (63 - n##k) >> 3;                                                                  \
        n##k |= 56;                                                                                \
    } while (0)

/* One pair step of stream k: one or two symbols, stored as two bytes (the second is
 * overwritten by the next step when only one was decoded). */
#define ENTROPY_PAIR(k)                                                                            \
    do {                                                                                           \
        uint32_t e_ = pair[b##k & (ETABLE - 1)];                                                   \
        uint16_t s_ = (uint16_t)e_;                                                                \
        memcpy(o##k, &s_, 2);                                                                      \
        o##k += (e_ >> 16) & 3;                                                                    \
        b##k >>= e_ >> 24;                                                                         \
        n##k -= e_ >> 24;                                                                          \
    } while (0)

/* Finishes stream k after `done` symbols of its segment: the careful path, then the check that
 * the stream ends in its last byte. */
static int entropy_finish(uint8_t *seg, size_t cnt, size_t done, entropy_reader *r,
                          const uint16_t *table, unsigned k)
{
    if (entropy_decode_tail(seg + done, cnt - done, r, table) != 0)
        return weft_err_set(WEFT_ECORRUPT, "entropy: bit stream %u ends inside a code", k);
    size_t used_bits = (size_t)(r->p - r->start) * 8 - r->nb;
    if ((used_bits + 7) / 8 != (size_t)(r->end - r->start))
        return weft_err_set(WEFT_ECORRUPT, "entropy: bit stream %u has %zu unused bytes", k,
                            (size_t)(r->end - r->start) - (used_bits + 7) / 8);
    return 0;
}

static int entropy_decode_small(uint8_t *out, size_t n, entropy_reader rd[4],
                                const uint16_t *table)
{
    for (unsigned k = 0; k < 4; k++) {
        size_t start, cnt;
        entropy_segment(n, k, &start, &cnt);
        int rc = entropy_finish(out + start, cnt, 0, &rd[k], table, k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Decodes the four streams; segment k has cnt[k] symbols. */
static int entropy_decode4(uint8_t *out, size_t n, entropy_reader rd[4], const uint16_t *table,
                           const uint32_t *pair)
{
    size_t cnt[4], start[4];
    for (unsigned k = 0; k < 4; k++)
        entropy_segment(n, k, &start[k], &cnt[k]);
    uint8_t *o0 = out + start[0], *o1 = out + start[1], *o2 = out + start[2], *o3 = out + start[3];
    const uint8_t *p0 = rd[0].p, *p1 = rd[1].p, *p2 = rd[2].p, *p3 = rd[3].p;
    uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    unsigned n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    /* Fast loop: 5 pair steps per stream per refill (56 bits ≥ 5 × 11) while every stream has 8
     * readable bytes and more than 10 symbols left (so no step writes past its segment).
     * Segment 3 is never longer than the others. */
    uint8_t *stop3 = cnt[3] > 10 ? o3 + cnt[3] - 10 : o3;
    while (o3 < stop3 && (size_t)(o0 - out) + 10 < start[0] + cnt[0] &&
           (size_t)(o1 - out) + 10 < start[1] + cnt[1] &&
           (size_t)(o2 - out) + 10 < start[2] + cnt[2] && p0 + 8 <= rd[0].end &&
           p1 + 8 <= rd[1].end && p2 + 8 <= rd[2].end && p3 + 8 <= rd[3].end) {
        ENTROPY_REFILL(0);
        ENTROPY_REFILL(1);
        ENTROPY_REFILL(2);
        ENTROPY_REFILL(3);
        for (int t = 0; t < 5; t++) {
            ENTROPY_PAIR(0);
            ENTROPY_PAIR(1);
            ENTROPY_PAIR(2);
            ENTROPY_PAIR(3);
        }
    }
    uint8_t *o[4] = {o0, o1, o2, o3};
    const uint8_t *p[4] = {p0, p1, p2, p3};
    uint64_t b[4] = {b0, b1, b2, b3};
    unsigned nb[4] = {n0, n1, n2, n3};
    for (unsigned k = 0; k < 4; k++) {
        rd[k].p = p[k];
        rd[k].bits = b[k];
        rd[k].nb = nb[k];
        int rc = entropy_finish(out + start[k], cnt[k], (size_t)(o[k] - (out + start[k])), &rd[k],
                                table, k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int weft_entropy_decode(uint8_t *out, size_t n, const uint8_t *in, size_t in_len, size_t *consumed)
{
    const uint8_t *p = in, *end = in + in_len;
    if (n > WEFT_ENTROPY_MAX_N)
        return weft_err_set(WEFT_ELIMIT, "entropy: block of %zu bytes over the limit", n);
    if (in_len < 1)
        return weft_err_set(WEFT_ECORRUPT, "entropy: empty block");
    int mode = *p++;
    if (mode == WEFT_ENTROPY_STORED) {
        if ((size_t)(end - p) < n)
            return weft_err_set(WEFT_ECORRUPT, "entropy: stored block truncated");
        if (n > 0)
            memcpy(out, p, n);
        *consumed = n + 1;
        return 0;
    }
    if (mode == WEFT_ENTROPY_CONSTANT) {
        if (end - p < 1)
            return weft_err_set(WEFT_ECORRUPT, "entropy: constant block truncated");
        memset(out, *p, n);
        *consumed = 2;
        return 0;
    }
    if (mode != WEFT_ENTROPY_HUFFMAN)
        return weft_err_set(WEFT_ECORRUPT, "entropy: unknown block mode %d", mode);
    if (end - p < 2)
        return weft_err_set(WEFT_ECORRUPT, "entropy: huffman header truncated");
    unsigned first = p[0], last = p[1];
    p += 2;
    if (first > last)
        return weft_err_set(WEFT_ECORRUPT, "entropy: symbol range %u..%u", first, last);
    size_t nib = (last - first + 2) / 2;
    if ((size_t)(end - p) < nib)
        return weft_err_set(WEFT_ECORRUPT, "entropy: code lengths truncated");
    uint8_t len[256] = {0};
    for (unsigned s = first; s <= last; s++) {
        unsigned v = p[(s - first) / 2];
        len[s] = (uint8_t)(((s - first) & 1) ? v >> 4 : v & 15);
        if (len[s] > EB)
            return weft_err_set(WEFT_ECORRUPT, "entropy: code length %u over %u", len[s], EB);
    }
    if ((last - first) % 2 == 0 && (p[nib - 1] >> 4) != 0)
        return weft_err_set(WEFT_ECORRUPT, "entropy: padding nibble not zero");
    p += nib;
    entropy_code code;
    if (entropy_assign(&code, len) != 0)
        return weft_err_set(WEFT_ECORRUPT, "entropy: code lengths do not form a complete code");
    size_t sl[4];
    for (int k = 0; k < 4; k++) {
        uint64_t v;
        size_t used = weft_tensor__get_varint(&v, p, end, 5);
        if (used == 0 || v > (uint64_t)(end - p - (ptrdiff_t)used))
            return weft_err_set(WEFT_ECORRUPT, "entropy: stream %d length bad or truncated", k);
        sl[k] = (size_t)v;
        p += used;
    }
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        if (sl[k] > (size_t)(end - p) - total)
            return weft_err_set(WEFT_ECORRUPT, "entropy: bit streams truncated");
        total += sl[k];
    }
    uint16_t table[ETABLE];
    for (unsigned s = 0; s < 256; s++) {
        unsigned l = code.len[s];
        if (l == 0)
            continue;
        uint16_t e = (uint16_t)(s | l << 8);
        for (unsigned i = code.code[s]; i < ETABLE; i += 1u << l)
            table[i] = e;
    }
    entropy_reader rd[4];
    const uint8_t *q = p;
    for (int k = 0; k < 4; k++) {
        rd[k] = (entropy_reader){.p = q, .end = q + sl[k], .start = q, .bits = 0, .nb = 0};
        q += sl[k];
    }
    int rc;
    if (n >= 4 * ETABLE) {
        uint32_t pair[ETABLE];
        entropy_pair_table(pair, table);
        rc = entropy_decode4(out, n, rd, table, pair);
    } else {
        /* Small blocks: building the pair table would cost more than it saves. */
        rc = entropy_decode_small(out, n, rd, table);
    }
    if (rc != 0)
        return rc;
    *consumed = (size_t)(q - in);
    return 0;
}
