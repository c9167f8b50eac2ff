/* Order-0 canonical Huffman coder for byte streams (contract and block layout in
 * include/weft/entropy.h).
 *
 * Encoder: one pass builds a histogram per quarter of the input (the four bit streams), the code
 * lengths come from a two-queue Huffman construction, limited to WEFT_ENTROPY_MAX_BITS by moving
 * over-long leaves up and splitting shorter ones (Kraft sum kept at exactly 1), and the exact
 * coded size is known before any bit is written, so the mode choice costs nothing. The four
 * streams are written two at a time, interleaved, 64-bit accumulators, one store per four codes.
 * Decoder: a 2^11-entry table maps the next 11 bits to every whole code they hold (up to six
 * symbols, their count and their bits), so one lookup emits three or four exponent symbols;
 * the table is built width by width from narrower ones (one load and four operations per
 * entry). Four independent streams are decoded in one loop so their lookups overlap, with
 * 64-bit bit buffers refilled by one unaligned load (bits above the count are the true next
 * bits, so OR-ing the same bytes again is harmless); the loop runs in batches that cannot reach
 * a segment's or a stream's end, so it has no checks. The last few symbols of each stream go
 * through a careful path that reads byte by byte and checks every length. Blocks under 4096
 * symbols use one-symbol entries (cheaper to build) in the same loop. */
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

/* The low `bits` bits of code, reversed (codes are written LSB-first). */
static uint16_t entropy_reverse(uint16_t code, unsigned bits)
{
    static const uint8_t rev4[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    unsigned r = (unsigned)rev4[code & 15] << 8 | (unsigned)rev4[(code >> 4) & 15] << 4 |
                 rev4[(code >> 8) & 15];
    return (uint16_t)(r >> (12 - bits));
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

/* The block size of the streams with histograms c4 in code lengths len: stream sizes, symbol
 * range, total. 0 if len has no code for a symbol that occurs. */
static size_t entropy_size(const uint8_t len[256], size_t stream_len[4], unsigned *first,
                           unsigned *last, uint32_t c4[4][256])
{
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        uint64_t bits = 0;
        for (int s = 0; s < 256; s++) {
            if (c4[k][s] != 0 && len[s] == 0)
                return 0;
            bits += (uint64_t)c4[k][s] * len[s];
        }
        stream_len[k] = (size_t)((bits + 7) / 8);
        total += stream_len[k];
    }
    return total + entropy_header_len(len, stream_len, first, last);
}

/* Sum of a histogram. */
static uint64_t n_total(const uint32_t counts[256])
{
    uint64_t n = 0;
    for (int s = 0; s < 256; s++)
        n += counts[s];
    return n;
}

/* Symbols after a present one that a memo's encoder gives a code (see entropy_plan). */
#define ENTROPY_FILL 8

/* Plans a Huffman block: lengths, codes, stream sizes, total. 0 if Huffman is impossible
 * (fewer than two symbols). With fill, every absent symbol up to ENTROPY_FILL after a present
 * one gets a code as if it were a rare symbol. */
static size_t entropy_plan(entropy_code *c, size_t stream_len[4], unsigned *first, unsigned *last,
                           uint32_t c4[4][256], int fill)
{
    uint32_t counts[256];
    unsigned present = 0;
    for (int s = 0; s < 256; s++) {
        counts[s] = c4[0][s] + c4[1][s] + c4[2][s] + c4[3][s];
        present += counts[s] > 0;
    }
    if (present < 2)
        return 0;
    /* For a memo, absent symbols just above present ones get a code too: the next block's
     * rare symbols then mostly have a code, so its code can be this one. Their count, one per
     * 2048 symbols, gives them about the longest code by itself; count 1 would put them deeper,
     * and the length limit would then take the room from frequent symbols (1% more bytes). */
    uint32_t rare = fill ? 1 + (uint32_t)(n_total(counts) >> EB) : 0;
    for (unsigned s = 0, near = 0; fill && s < 256; s++) {
        if (counts[s] != 0) {
            near = ENTROPY_FILL;
        } else if (near > 0) {
            counts[s] = rare;
            near--;
        }
    }
    uint8_t len[256];
    entropy_lengths(len, counts);
    if (entropy_assign(c, len) != 0)
        return 0; /* cannot happen: entropy_lengths makes complete codes */
    return entropy_size(len, stream_len, first, last, c4);
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

/* A bit writer: pending bits in acc (nb < 8 between groups), next byte at p. */
typedef struct entropy_writer {
    uint8_t *p;
    uint64_t acc;
    unsigned nb;
} entropy_writer;

/* Four codes into a writer's accumulator (locals acc, nb, p, in) and one 8-byte store: at most
 * 7 + 4 × 11 < 64 bits pending; moves p by at most 6 bytes, writes 8 bytes at the old p (those
 * past the new bits are zero). Unrolled by hand: the compiler keeps the loop otherwise. */
#define ENTROPY_PUT1(k, t) acc##k |= (uint64_t)code[in##k[t]] << nb##k, nb##k += len[in##k[t]]
#define ENTROPY_PUT4(k)                                                                            \
    do {                                                                                           \
        ENTROPY_PUT1(k, 0);                                                                        \
        ENTROPY_PUT1(k, 1);                                                                        \
        ENTROPY_PUT1(k, 2);                                                                        \
        ENTROPY_PUT1(k, 3);                                                                        \
        in##k += 4;                                                                                \
        memcpy(p##k, &acc##k, 8);                                                                  \
        p##k += nb##k >> 3;                                                                        \
        acc##k >>= nb##k & ~7u;                                                                    \
        nb##k &= 7;                                                                                \
    } while (0)

/* Writes in[0..n) to w byte by byte (the last few codes of a stream, where an 8-byte store
 * would pass its end) and flushes the last partial byte. */
static void entropy_put_rest(entropy_writer *w, const entropy_code *c, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        uint8_t s = in[i];
        w->acc |= (uint64_t)c->code[s] << w->nb;
        w->nb += c->len[s];
        while (w->nb >= 8) {
            *w->p++ = (uint8_t)w->acc;
            w->acc >>= 8;
            w->nb -= 8;
        }
    }
    if (w->nb > 0)
        *w->p = (uint8_t)w->acc;
}

/* Writes two streams interleaved (two dependency chains, which fit the registers): their first
 * symbols (at most n each) go in groups of four while both writers' 8-byte stores stay below
 * their limits; returns how many symbols each has done. */
static size_t entropy_put2(entropy_writer *w0, entropy_writer *w1, const uint8_t *limit0,
                           const uint8_t *limit1, const entropy_code *c, const uint8_t *in0,
                           const uint8_t *in1, size_t n)
{
    const uint16_t *code = c->code;
    const uint8_t *len = c->len;
    uint8_t *p0 = w0->p, *p1 = w1->p;
    uint64_t acc0 = w0->acc, acc1 = w1->acc;
    unsigned nb0 = w0->nb, nb1 = w1->nb;
    size_t done = 0;
    for (;;) {
        size_t g = (n - done) / 4;
        size_t r0 = (size_t)(limit0 - p0), r1 = (size_t)(limit1 - p1);
        r0 = r0 < 8 ? 0 : (r0 - 8) / 6 + 1;
        r1 = r1 < 8 ? 0 : (r1 - 8) / 6 + 1;
        g = g < r0 ? g : r0;
        g = g < r1 ? g : r1;
        if (g == 0)
            break;
        for (size_t i = 0; i < g; i++) {
            ENTROPY_PUT4(0);
            ENTROPY_PUT4(1);
        }
        done += 4 * g;
    }
    *w0 = (entropy_writer){.p = p0, .acc = acc0, .nb = nb0};
    *w1 = (entropy_writer){.p = p1, .acc = acc1, .nb = nb1};
    return done;
}

/* Writes the four streams at p (stream k's bytes at p + the lengths before it, exactly
 * stream_len[k] of them), two at a time interleaved so their dependency chains overlap; out_end
 * bounds the last stream's stores. Each writer's 8-byte stores stay below the next stream's
 * start, so a neighbour's bytes are never clobbered. */
static void entropy_put_streams(uint8_t *p, const uint8_t *out_end, const entropy_code *c,
                                const uint8_t *in, size_t n, const size_t stream_len[4])
{
    entropy_writer w[4];
    const uint8_t *limit[4], *src[4];
    size_t left[4];
    for (unsigned k = 0; k < 4; k++) {
        size_t s, l;
        entropy_segment(n, k, &s, &l);
        w[k] = (entropy_writer){.p = p, .acc = 0, .nb = 0};
        p += stream_len[k];
        limit[k] = k < 3 ? p : out_end;
        src[k] = in + s;
        left[k] = l;
    }
    for (unsigned k = 0; k < 4; k += 2) {
        /* Stream k + 1 is never longer than stream k. */
        size_t done = entropy_put2(&w[k], &w[k + 1], limit[k], limit[k + 1], c, src[k], src[k + 1],
                                   left[k + 1]);
        entropy_put_rest(&w[k], c, src[k] + done, left[k] - done);
        entropy_put_rest(&w[k + 1], c, src[k + 1] + done, left[k + 1] - done);
    }
}

/* Recent codes (contract in entropy.h). The encoder's list is most recent first; the
 * decoder's tables are replaced round-robin. Only blocks decoded through the multi-symbol
 * table take part: small blocks build their table cheaply. */
#define MEMO_SLOTS 8
#define MEMO_KEY_MAX (2 + 128) /* first, last and the length nibbles of a Huffman header */
struct weft_entropy_memo {
    uint8_t enc_len[MEMO_SLOTS][256];
    unsigned enc_n;
    uint8_t key[MEMO_SLOTS][MEMO_KEY_MAX];
    size_t key_len[MEMO_SLOTS];
    unsigned dec_n, dec_next;
    uint64_t table[MEMO_SLOTS][ETABLE];
};

/* Blocks from this many symbols on use the multi-symbol table: its build (about 3000 entries)
 * costs about as much as decoding 4000 symbols one per lookup. */
#define ENTROPY_MULTI_MIN_N 4096

int weft_entropy_memo_new(weft_entropy_memo **out)
{
    *out = calloc(1, sizeof **out);
    return *out == NULL ? weft_err_set(WEFT_ENOMEM, "entropy: out of memory for the code memo")
                        : 0;
}

void weft_entropy_memo_free(weft_entropy_memo *m)
{
    free(m);
}

/* The encoder's choice among the recent codes: the smallest block within 1/256 of the
 * block's own code (size own) and under n_max + 1 bytes, or none. Moves the code used to the
 * front of the list. */
static void memo_choose(weft_entropy_memo *m, entropy_code *code, size_t stream_len[4],
                        unsigned *first, unsigned *last, size_t own, size_t n_max,
                        uint32_t c4[4][256])
{
    size_t best = own + own / 256 + 1, sl[4];
    if (best > n_max + 1)
        best = n_max + 1; /* never past the stored mode's size */
    unsigned pick = MEMO_SLOTS, f, l;
    for (unsigned i = 0; i < m->enc_n; i++) {
        size_t size = entropy_size(m->enc_len[i], sl, &f, &l, c4);
        if (size != 0 && size < best) {
            best = size;
            pick = i;
        }
    }
    uint8_t used[256];
    if (pick < MEMO_SLOTS) {
        memcpy(used, m->enc_len[pick], 256);
        (void)entropy_assign(code, used); /* complete: it was a code of an earlier block */
        (void)entropy_size(used, stream_len, first, last, c4);
    } else {
        memcpy(used, code->len, 256);
        pick = m->enc_n < MEMO_SLOTS ? m->enc_n++ : MEMO_SLOTS - 1;
    }
    memmove(m->enc_len[1], m->enc_len[0], pick * sizeof m->enc_len[0]);
    memcpy(m->enc_len[0], used, 256);
}

int weft_entropy_encode(uint8_t *out, size_t cap, size_t *out_len, const uint8_t *in, size_t n)
{
    return weft_entropy_encode_memo(NULL, out, cap, out_len, in, n);
}

int weft_entropy_encode_memo(weft_entropy_memo *m, uint8_t *out, size_t cap, size_t *out_len,
                             const uint8_t *in, size_t n)
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
    int memo = m != NULL && n >= ENTROPY_MULTI_MIN_N;
    size_t huff = entropy_plan(&code, stream_len, &first, &last, c4, memo);
    if (memo && huff != 0 && huff < n + 1)
        memo_choose(m, &code, stream_len, &first, &last, huff, n, c4);
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
    entropy_put_streams(p, out + cap, &code, in, n, stream_len);
    p += stream_len[0] + stream_len[1] + stream_len[2] + stream_len[3];
    *out_len = (size_t)(p - out);
    return 0;
}

/* Decoding. The single-symbol table maps the next EB bits to symbol | length << 8. The
 * multi-symbol table maps them to every whole code that fits, up to EMULTI symbols: byte 0 holds
 * the bits they take, byte 1 their count and bytes 2..7 the symbols in order (the bit count in
 * the low byte lets the shift of the bit buffer use the entry as it is, which shortens the
 * chain from one lookup to the next). One lookup emits
 * about three or four exponent symbols of a BF16 plane (2.6 bits each). */
typedef struct entropy_reader {
    const uint8_t *p, *end, *start;
    uint64_t bits;
    unsigned nb;
} entropy_reader;

#define EMULTI 6

/* Careful decode of n symbols: byte-wise refill, every length checked. -1 if the stream ends
 * before the codes do. A table entry is taken whole when its symbols fit in what is left and
 * its bits are all there; otherwise only its first symbol, whose length is len[]. */
static int entropy_decode_tail(uint8_t *out, size_t n, entropy_reader *r, const uint64_t *table,
                               const uint8_t *len)
{
    size_t i = 0;
    while (i < n) {
        while (r->nb <= 56 && r->p < r->end) {
            r->bits |= (uint64_t)*r->p++ << r->nb;
            r->nb += 8;
        }
        uint64_t e = table[r->bits & (ETABLE - 1)];
        unsigned cnt = (unsigned)(e >> 8) & 0xff, bits = (unsigned)e & 0xff;
        if (cnt <= n - i && bits <= r->nb) {
            for (unsigned k = 0; k < cnt; k++)
                out[i + k] = (uint8_t)(e >> (16 + 8 * k));
            i += cnt;
            r->bits >>= bits;
            r->nb -= bits;
            continue;
        }
        uint8_t s = (uint8_t)(e >> 16);
        unsigned l = len[s];
        if (l > r->nb)
            return -1;
        out[i++] = s;
        r->bits >>= l;
        r->nb -= l;
    }
    return 0;
}

#define ENTROPY_SYMS 0xffffffffff000000ull /* symbol bytes 3..7 */
#define ENTROPY_META 0x000000000000ffffull /* bits and count */

/* One-symbol entries (count 1): the table for small blocks, where building the multi-symbol
 * one would cost more than it saves. */
static void entropy_single_table(uint64_t *t, const entropy_code *c, const uint8_t *syms,
                                 unsigned n_syms)
{
    for (unsigned k = 0; k < n_syms; k++) {
        unsigned s = syms[k], l = c->len[s];
        uint64_t e = l | 1u << 8 | s << 16;
        for (unsigned i = c->code[s]; i < ETABLE; i += 1u << l)
            t[i] = e;
    }
}

/* Builds the multi-symbol tables of every width w = 0..EB at m + (1 << w) (2 * ETABLE entries;
 * the width-EB table is m + ETABLE). Entry i of width w decodes the low w bits of i: the code
 * of symbol s that they start with, if it fits (l ≤ w bits), followed by the entry of width
 * w - l for the bits after it; so each width is made from narrower ones, symbol by symbol, with
 * one load, three logic operations and one add per entry. An entry whose first code does not
 * fit is empty (those are exactly the w-bit prefixes of longer codes). With no code shorter than
 * two bits at most five symbols fit in EB bits; else an entry that would get EMULTI + 1 symbols
 * drops its last one with that symbol's length. */
static void entropy_multi_table(uint64_t *m, const entropy_code *c, const uint8_t *syms,
                                unsigned n_syms, unsigned min_len)
{
    /* Only the widths that width EB reaches (EB minus sums of code lengths) are needed: with
     * no 1-bit code, width EB - 1 is never looked at, which saves a quarter of the work. */
    unsigned lens = 0, reach = 1u << EB;
    for (unsigned k = 0; k < n_syms; k++)
        lens |= 1u << c->len[syms[k]];
    for (unsigned w = EB; w > 0; w--)
        if (reach & (1u << w))
            for (unsigned l = 1; l <= w; l++)
                if (lens & (1u << l))
                    reach |= 1u << (w - l);
    m[1] = 0;
    for (unsigned w = 1; w <= EB; w++) {
        if (!(reach & (1u << w)))
            continue;
        uint64_t *mw = m + (1u << w);
        for (unsigned k = 0; k < n_syms; k++) {
            unsigned s = syms[k], l = c->len[s], rc = c->code[s];
            if (l > w) {
                mw[rc & ((1u << w) - 1)] = 0;
                continue;
            }
            const uint64_t *src = m + (1u << (w - l));
            uint64_t add = l | 1u << 8 | s << 16;
            unsigned nj = 1u << (w - l);
            if (min_len >= 2) {
                uint64_t *d = mw + rc;
                size_t stride = (size_t)1 << l;
                unsigned j = 0;
                for (; j + 2 <= nj; j += 2, d += 2 * stride) {
                    uint64_t s0 = src[j], s1 = src[j + 1];
                    d[0] = (((s0 << 8) & ENTROPY_SYMS) | (s0 & ENTROPY_META)) + add;
                    d[stride] = (((s1 << 8) & ENTROPY_SYMS) | (s1 & ENTROPY_META)) + add;
                }
                if (j < nj)
                    d[0] = (((src[j] << 8) & ENTROPY_SYMS) | (src[j] & ENTROPY_META)) + add;
                continue;
            }
            for (unsigned j = 0; j < nj; j++) {
                uint64_t sub = src[j];
                if (((sub >> 8) & 0xff) == EMULTI)
                    sub -= 1u << 8 | c->len[sub >> 56];
                mw[rc + (j << l)] = (((sub << 8) & ENTROPY_SYMS) | (sub & ENTROPY_META)) + add;
            }
        }
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

/* One multi-symbol step of stream k: the whole entry is stored (8 bytes), the pointer moves by
 * its count; the bytes past the count are overwritten by the next step or the tail. */
#define ENTROPY_STEP(k)                                                                            \
    do {                                                                                           \
        uint64_t e_ = multi[b##k & (ETABLE - 1)];                                                  \
        uint64_t s_ = e_ >> 16;                                                                    \
        b##k >>= e_ & 63;                                                                          \
        n##k -= (unsigned)e_ & 0xff;                                                               \
        memcpy(o##k, &s_, 8);                                                                      \
        o##k += (e_ >> 8) & 0xff;                                                                  \
    } while (0)

/* Finishes stream k after `done` symbols of its segment: the careful path, then the check that
 * the stream ends in its last byte. */
static int entropy_finish(uint8_t *seg, size_t cnt, size_t done, entropy_reader *r,
                          const uint64_t *table, const uint8_t *len, unsigned k)
{
    if (entropy_decode_tail(seg + done, cnt - done, r, table, len) != 0)
        return weft_err_set(WEFT_ECORRUPT, "entropy: bit stream %u ends inside a code", k);
    size_t used_bits = (size_t)(r->p - r->start) * 8 - r->nb;
    if ((used_bits + 7) / 8 != (size_t)(r->end - r->start))
        return weft_err_set(WEFT_ECORRUPT, "entropy: bit stream %u has %zu unused bytes", k,
                            (size_t)(r->end - r->start) - (used_bits + 7) / 8);
    return 0;
}

/* Steps per refill: 56 bits hold ENTROPY_STEPS codes of at most EB bits. An iteration moves an
 * output pointer by at most ENTROPY_STEPS * EMULTI symbols, writes at most ENTROPY_OUT_ROOM
 * bytes past it, and moves an input pointer by at most 7 bytes. */
#define ENTROPY_STEPS 5
#define ENTROPY_OUT_ADV (ENTROPY_STEPS * EMULTI)
#define ENTROPY_OUT_ROOM (ENTROPY_OUT_ADV - EMULTI + 8)

/* Iterations of the fast loop that stay inside a segment with `room` symbols left and a stream
 * with `avail` readable bytes left. */
static size_t entropy_safe_iters(size_t room, size_t avail)
{
    if (room < ENTROPY_OUT_ROOM || avail < 8)
        return 0;
    size_t a = (room - ENTROPY_OUT_ROOM) / ENTROPY_OUT_ADV + 1, b = (avail - 8) / 7 + 1;
    return a < b ? a : b;
}

/* The fast loop for one stream alone, from o up to at most seg_end; returns the new o. */
static uint8_t *entropy_decode1(uint8_t *o0, uint8_t *e0, entropy_reader *r, const uint64_t *multi)
{
    const uint8_t *p0 = r->p;
    uint64_t b0 = r->bits;
    unsigned n0 = r->nb;
    for (;;) {
        size_t it = entropy_safe_iters((size_t)(e0 - o0), (size_t)(r->end - p0));
        if (it == 0)
            break;
        for (; it > 0; it--) {
            ENTROPY_REFILL(0);
            for (int t = 0; t < ENTROPY_STEPS; t++)
                ENTROPY_STEP(0);
        }
    }
    r->p = p0;
    r->bits = b0;
    r->nb = n0;
    return o0;
}

/* Decodes the four streams; segment k has cnt[k] symbols. */
static int entropy_decode4(uint8_t *out, size_t n, entropy_reader rd[4], const uint64_t *multi,
                           const uint8_t *len)
{
    size_t cnt[4], start[4];
    for (unsigned k = 0; k < 4; k++)
        entropy_segment(n, k, &start[k], &cnt[k]);
    uint8_t *o0 = out + start[0], *o1 = out + start[1], *o2 = out + start[2], *o3 = out + start[3];
    uint8_t *e0 = o0 + cnt[0], *e1 = o1 + cnt[1], *e2 = o2 + cnt[2], *e3 = o3 + cnt[3];
    const uint8_t *p0 = rd[0].p, *p1 = rd[1].p, *p2 = rd[2].p, *p3 = rd[3].p;
    uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    unsigned n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    /* Fast loop in batches: a batch runs as many iterations as every stream can surely take
     * without writing past its segment or reading past its bytes, so the loop has no checks. */
    for (;;) {
        size_t it = entropy_safe_iters((size_t)(e0 - o0), (size_t)(rd[0].end - p0));
        size_t t1 = entropy_safe_iters((size_t)(e1 - o1), (size_t)(rd[1].end - p1));
        size_t t2 = entropy_safe_iters((size_t)(e2 - o2), (size_t)(rd[2].end - p2));
        size_t t3 = entropy_safe_iters((size_t)(e3 - o3), (size_t)(rd[3].end - p3));
        it = it < t1 ? it : t1;
        it = it < t2 ? it : t2;
        it = it < t3 ? it : t3;
        if (it == 0)
            break;
        for (; it > 0; it--) {
            ENTROPY_REFILL(0);
            ENTROPY_REFILL(1);
            ENTROPY_REFILL(2);
            ENTROPY_REFILL(3);
            for (int t = 0; t < ENTROPY_STEPS; t++) {
                ENTROPY_STEP(0);
                ENTROPY_STEP(1);
                ENTROPY_STEP(2);
                ENTROPY_STEP(3);
            }
        }
    }
    uint8_t *o[4] = {o0, o1, o2, o3}, *e[4] = {e0, e1, e2, e3};
    const uint8_t *p[4] = {p0, p1, p2, p3};
    uint64_t b[4] = {b0, b1, b2, b3};
    unsigned nb[4] = {n0, n1, n2, n3};
    for (unsigned k = 0; k < 4; k++) {
        rd[k].p = p[k];
        rd[k].bits = b[k];
        rd[k].nb = nb[k];
        /* A stream the others held back (its codes shorter or longer than theirs) goes on
         * alone at full speed before the careful path. */
        o[k] = entropy_decode1(o[k], e[k], &rd[k], multi);
        int rc = entropy_finish(out + start[k], cnt[k], (size_t)(o[k] - (out + start[k])), &rd[k],
                                multi, len, k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int weft_entropy_decode(uint8_t *out, size_t n, const uint8_t *in, size_t in_len, size_t *consumed)
{
    return weft_entropy_decode_memo(NULL, out, n, in, in_len, consumed);
}

/* The slot of m whose table was built for the header bytes key[0..len), or -1. */
static int memo_find(const weft_entropy_memo *m, const uint8_t *key, size_t len)
{
    for (unsigned i = 0; i < m->dec_n; i++)
        if (m->key_len[i] == len && memcmp(m->key[i], key, len) == 0)
            return (int)i;
    return -1;
}

int weft_entropy_decode_memo(weft_entropy_memo *m, uint8_t *out, size_t n, const uint8_t *in,
                             size_t in_len, size_t *consumed)
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
    /* A code the memo holds a table for was checked when that table was built. */
    const uint8_t *key = in + 1;
    size_t key_len = 2 + nib;
    int slot = m != NULL && n >= ENTROPY_MULTI_MIN_N ? memo_find(m, key, key_len) : -1;
    entropy_code code;
    if (slot < 0 && entropy_assign(&code, len) != 0)
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
    uint8_t syms[256];
    unsigned n_syms = 0, min_len = EB;
    for (unsigned s = first; s <= last; s++) {
        if (len[s] == 0)
            continue;
        syms[n_syms++] = (uint8_t)s;
        if (len[s] < min_len)
            min_len = len[s];
    }
    entropy_reader rd[4];
    const uint8_t *q = p;
    for (int k = 0; k < 4; k++) {
        rd[k] = (entropy_reader){.p = q, .end = q + sl[k], .start = q, .bits = 0, .nb = 0};
        q += sl[k];
    }
    /* The table is used from the stack, where the build leaves it in L1: a remembered one is
     * copied there (far cheaper than a build), not read in place. */
    uint64_t table[2 * ETABLE];
    const uint64_t *t = table + ETABLE;
    if (slot >= 0) {
        memcpy(table + ETABLE, m->table[slot], sizeof m->table[0]);
    } else if (n >= ENTROPY_MULTI_MIN_N) {
        entropy_multi_table(table, &code, syms, n_syms, min_len);
        if (m != NULL) {
            unsigned i = m->dec_next;
            m->dec_next = (i + 1) % MEMO_SLOTS;
            m->dec_n = m->dec_n < MEMO_SLOTS ? m->dec_n + 1 : MEMO_SLOTS;
            memcpy(m->key[i], key, key_len);
            m->key_len[i] = key_len;
            memcpy(m->table[i], table + ETABLE, sizeof m->table[0]);
        }
    } else {
        entropy_single_table(table + ETABLE, &code, syms, n_syms);
    }
    int rc = entropy_decode4(out, n, rd, t, len);
    if (rc != 0)
        return rc;
    *consumed = (size_t)(q - in);
    return 0;
}
