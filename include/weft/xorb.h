/* Xorbs (specs/xet-storage.md §1.3): Xet's container of compressed chunks, bit-exact with
 * xet-core (xorb_object/xorb_chunk_format.rs, xorb_object_format.rs).
 *
 * Layout of a stored xorb object:
 *   chunk 0 | chunk 1 | ... | chunk n-1 | footer info | u32 info_len
 * Each chunk is an 8-byte header (version u8 = 0, compressed length u24 LE, scheme u8,
 * uncompressed length u24 LE) followed by its payload. A client uploads the chunks only (no
 * footer); the server verifies them and appends the footer it rebuilds. Footer info (v1, all
 * integers LE; the trailing u32 info_len is not counted in info_len):
 *   "XETBLOB" u8 1 | xorb hash (32)
 *   "XBLBHSH" u8 0 | u32 n | n chunk hashes (32 each)
 *   "XBLBBND" u8 1 | u32 n | n u32 physical chunk ends | n u32 unpacked chunk ends
 *   u32 n | u32 hashes_offset_from_end | u32 boundaries_offset_from_end | 16-byte buffer
 * (the buffer carries a 4-byte upload nonce, excluded from the hash; 12 bytes stay zero).
 * "offset from end" counts from a section's first byte to the end of the info (before info_len).
 * info_len = 92 + 40 n, so the whole footer is WEFT_XORB_FOOTER_LEN(n) = 96 + 40 n bytes.
 *
 * Reading a stored xorb without loading it: read the last WEFT_XORB_FOOTER_TAIL_LEN (32) bytes
 * (or the whole object if smaller), call weft_xorb_footer_len() to learn the full footer length,
 * read that many tail bytes, call weft_xorb_footer_parse(). Chunk i then lives at
 * [phys_off[i], phys_off[i+1]) and decodes alone with weft_xorb_chunk_decode(); its bytes in
 * the unpacked xorb are [raw_off[i], raw_off[i+1]). Reading a 64 KiB tail up front usually
 * gets the whole footer in one read (1,024 chunks → 41,056 bytes).
 *
 * Ownership: weft_xorb_footer and weft_xorb_builder are library-allocated (free with their
 * _free, which accept NULL). Pointers in weft_xorb_built are borrowed from the builder until its
 * next reset/free. Nothing here does I/O; functions are thread-safe on distinct objects.
 *
 * Errors (message via weft_err_last(), naming the chunk index and the reason):
 *   WEFT_ECORRUPT  bytes that fail the format's own checks (bad header, idents, versions,
 *                  offsets, payload that does not decode to its declared length, trailing bytes,
 *                  a footer whose hashes or offsets disagree with the chunks)
 *   WEFT_EINVALID  a well-formed xorb whose hash differs from the expected one, or bad arguments
 *   WEFT_ELIMIT    over a fixed bound: > 8,192 chunks, > 64 MiB of chunk bytes, a chunk over
 *                  128 KiB, a builder that is full (the chunk was not added)
 *   WEFT_ENOMEM    allocation failed
 * Expected load: one builder per upload stream; footer parse on every range read (cache it). */
#ifndef WEFT_XORB_H
#define WEFT_XORB_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"
#include "weft/xet_compress.h"
#include "weft/xet_hash.h"

#define WEFT_XORB_CHUNK_HEADER_LEN 8u
#define WEFT_XORB_MAX_CHUNKS 8192u                /* xet-core MAX_XORB_CHUNKS */
#define WEFT_XORB_MAX_BYTES (64u * 1024u * 1024u) /* chunk bytes, footer excluded */
#define WEFT_XORB_MAX_COMPRESSED_LEN (2u * WEFT_XET_MAX_CHUNK_LEN) /* header bound */
/* The fixed end of every footer: n, the two section offsets, the buffer, info_len. */
#define WEFT_XORB_FOOTER_TAIL_LEN 32u
#define WEFT_XORB_FOOTER_LEN(n) (96u + 40u * (uint32_t)(n))
#define WEFT_XORB_FOOTER_MAX_LEN WEFT_XORB_FOOTER_LEN(WEFT_XORB_MAX_CHUNKS)
#define WEFT_XORB_NONCE_LEN 4u

/* ---- chunk headers and single chunks ---------------------------------------------------- */

typedef struct weft_xorb_chunk_header {
    uint8_t version;         /* always 0 */
    uint8_t scheme;          /* WEFT_XET_SCHEME_NONE, _LZ4 or _BG4_LZ4 */
    uint32_t compressed_len; /* payload bytes after the header */
    uint32_t raw_len;        /* bytes after decoding, ≤ WEFT_XET_MAX_CHUNK_LEN */
} weft_xorb_chunk_header;

/* Parses and validates the 8 bytes at p (len ≥ 8): version 0, known scheme, raw_len ≤ 128 KiB,
 * compressed_len ≤ 256 KiB, and compressed_len == raw_len for scheme NONE. WEFT_ECORRUPT if not. */
WEFT_MUST_USE int weft_xorb_chunk_header_parse(weft_xorb_chunk_header *out, const uint8_t *p,
                                               size_t len);

/* Writes the 8-byte header (fields must be in range: lengths < 2^24). */
void weft_xorb_chunk_header_write(uint8_t out[WEFT_XORB_CHUNK_HEADER_LEN],
                                  const weft_xorb_chunk_header *h);

/* Decodes one chunk: `chunk` is exactly header + payload (chunk_len == 8 + compressed_len, i.e.
 * [phys_off[i], phys_off[i+1]) of a stored xorb). Writes raw_len bytes to out (out_cap must be
 * ≥ raw_len; WEFT_XET_MAX_CHUNK_LEN always suffices) and raw_len to *raw_len_out. A footer read
 * with weft_xorb_footer_parse is not checked against the chunk headers, so a caller serving from
 * it should compare *raw_len_out with raw_off[i+1] - raw_off[i] (WEFT_ECORRUPT if they differ). */
WEFT_MUST_USE int weft_xorb_chunk_decode(uint8_t *out, size_t out_cap, size_t *raw_len_out,
                                         const uint8_t *chunk, size_t chunk_len);

/* Decodes every chunk of p[0..len), which must hold whole consecutive chunks and nothing else,
 * appending the raw bytes to `out` (cap-bounded) and the chunk count to *n_out (may be NULL).
 * For serving chunk ranges [i, j) from [phys_off[i], phys_off[j]). */
WEFT_MUST_USE int weft_xorb_chunks_decode(weft_buf *out, uint32_t *n_out, const uint8_t *p,
                                          size_t len);

/* ---- footer ------------------------------------------------------------------------------ */

typedef struct weft_xorb_footer {
    weft_hash hash;          /* the xorb hash */
    uint32_t n_chunks;       /* 1 ..= WEFT_XORB_MAX_CHUNKS */
    weft_hash *chunk_hashes; /* [n_chunks] */
    uint32_t *phys_off;      /* [n_chunks + 1]; phys_off[0] = 0, chunk i at [off[i], off[i+1]) */
    uint32_t *raw_off;       /* [n_chunks + 1]; raw_off[0] = 0, unpacked positions likewise */
    uint8_t buffer[16];      /* trailing buffer: nonce in [0, 4), reserved zeros after */
} weft_xorb_footer;

/* Frees a footer from any function below. NULL is fine. */
void weft_xorb_footer_free(weft_xorb_footer *f);

/* From the last tail_len bytes of a stored object of object_len bytes (tail_len ≥ 32, or the
 * whole object when shorter): the full footer length, and the chunk count (may be NULL).
 * Checks that the length is well formed (96 + 40 n, n ≥ 1, ≤ 8192) and fits in the object. */
WEFT_MUST_USE int weft_xorb_footer_len(size_t *footer_len_out, uint32_t *n_chunks_out,
                                       const uint8_t *tail, size_t tail_len, uint64_t object_len);

/* Parses the footer at the end of `tail` (the last tail_len bytes of an object of object_len
 * bytes; tail_len must be ≥ the footer length, which is checked). Validates idents, versions,
 * repeated counts, section offsets, that physical ends increase by 8 + a valid compressed
 * length, unpacked ends by ≤ 128 KiB, and that the chunks end exactly where the footer begins.
 * Chunk hashes are taken as stored (verify with weft_xorb_parse_stored when needed). */
WEFT_MUST_USE int weft_xorb_footer_parse(weft_xorb_footer **out, const uint8_t *tail,
                                         size_t tail_len, uint64_t object_len);

/* Appends the serialized footer (info + u32 info_len) to out. */
WEFT_MUST_USE int weft_xorb_footer_serialize(weft_buf *out, const weft_xorb_footer *f);

/* Index of the chunk containing unpacked byte `raw_pos` (< raw_off[n_chunks]), by bisection.
 * Returns n_chunks if raw_pos is past the end. */
uint32_t weft_xorb_footer_chunk_at(const weft_xorb_footer *f, uint64_t raw_pos);

/* ---- whole xorbs ------------------------------------------------------------------------- */

/* Verifies an uploaded client xorb p[0..len) (chunks, no footer): walks every header
 * (bounded), decodes every payload, hashes every chunk, computes the xorb hash and, if
 * `expected` is not NULL, compares it. On success *out is the footer the server stores after
 * the chunk bytes (nonce zero): the stored object is p[0 .. (*out)->phys_off[n_chunks]) followed
 * by weft_xorb_footer_serialize(*out). As in xet-core (reconstruct_xorb_with_footer), a storage
 * footer after the last chunk (bytes starting "XETBLOB") ends the chunks and is ignored, so
 * phys_off[n_chunks] may be less than len; store only the chunk bytes. */
WEFT_MUST_USE int weft_xorb_parse_client(weft_xorb_footer **out, const uint8_t *p, size_t len,
                                         const weft_hash *expected);

/* Verifies a whole stored object (chunks + footer): parses the footer, re-verifies the chunks as
 * weft_xorb_parse_client does, and checks that the footer's hash, chunk hashes and offsets match
 * the chunks. `expected` may be NULL. On success *out is the parsed footer. For fsck. */
WEFT_MUST_USE int weft_xorb_parse_stored(weft_xorb_footer **out, const uint8_t *p, size_t len,
                                         const weft_hash *expected);

/* ---- builder ----------------------------------------------------------------------------- */

typedef struct weft_xorb_builder weft_xorb_builder;

/* Result of weft_xorb_builder_finish. Everything is borrowed from the builder until its next
 * reset or free. */
typedef struct weft_xorb_built {
    weft_hash hash;                 /* xorb hash: Merkle root over (chunk hash, raw size) */
    const uint8_t *bytes;           /* chunks followed by the footer */
    size_t len;                     /* total bytes, footer included */
    size_t data_len;                /* chunk bytes only: what a client uploads */
    uint64_t raw_len;               /* sum of uncompressed chunk sizes */
    const weft_xorb_footer *footer; /* hashes and offsets */
} weft_xorb_built;

/* A new empty builder. `scheme` is WEFT_XET_SCHEME_AUTO (xet-core's choice: the predictor runs
 * on the first chunk of each file segment and every 32 chunks after, its answer reused in
 * between) or a forced NONE/LZ4/BG4_LZ4 (still stored raw where compression does not shrink). */
WEFT_MUST_USE int weft_xorb_builder_new(weft_xorb_builder **out, int scheme);

/* Frees the builder and everything it lent. NULL is fine. */
void weft_xorb_builder_free(weft_xorb_builder *b);

/* Empties the builder for the next xorb (keeps its allocations and scheme). */
void weft_xorb_builder_reset(weft_xorb_builder *b);

/* Tells the builder that the next chunk starts a new file segment (auto scheme re-chooses). */
void weft_xorb_builder_file_start(weft_xorb_builder *b);

/* 1 if a chunk of raw_len bytes is sure to fit: fewer than 8,192 chunks so far, and even stored
 * raw, the chunk bytes plus the footer stay ≤ 64 MiB. */
int weft_xorb_builder_can_add(const weft_xorb_builder *b, size_t raw_len);

/* 1 when a maximal (128 KiB) chunk may no longer fit: finish and start a new xorb. */
int weft_xorb_builder_full(const weft_xorb_builder *b);

/* Number of chunks added since new/reset. */
uint32_t weft_xorb_builder_n_chunks(const weft_xorb_builder *b);

/* Compresses and appends one chunk (len ≤ 128 KiB; data is copied). `hash` is its chunk hash as
 * the chunker computed it, or NULL to compute it here. WEFT_ELIMIT with the builder unchanged
 * when it does not fit: finish this xorb and add the chunk to the next one. */
WEFT_MUST_USE int weft_xorb_builder_add(weft_xorb_builder *b, const weft_hash *hash,
                                        const void *data, size_t len);

/* Computes the xorb hash and appends the footer. WEFT_EINVALID if no chunk was added. The
 * builder accepts no more chunks until reset. */
WEFT_MUST_USE int weft_xorb_builder_finish(weft_xorb_builder *b, weft_xorb_built *out);

#endif
