/* MDB shards v2 (specs/xet-storage.md §1.4): file reconstructions and xorb chunk listings,
 * bit-exact with xet-core (metadata_shard/shard_format.rs, file_structs.rs, xorb_structs.rs).
 *
 * Layout (all integers little-endian, every record 48 bytes):
 *   header   32-byte tag "HFRepoMetaData\0" + 17 fixed bytes | u64 version = 2 | u64 footer size
 *   files    per file: header (file hash, u32 flags, u32 n_terms, u64 0), n_terms term entries
 *            (xorb hash, u32 xorb flags, u32 unpacked bytes, u32 chunk start, u32 chunk end
 *            exclusive), n_terms verification entries if flags bit 31 (range hash + 16 zero
 *            bytes), one metadata ext if flags bit 30 (SHA-256, 8-byte words reversed, + 16
 *            zero bytes)
 *            then a bookend: 32 x 0xFF + 16 x 0
 *   xorbs    per xorb: header (xorb hash, u32 flags, u32 n_chunks, u32 unpacked bytes, u32
 *            serialized bytes), n_chunks entries (chunk hash, u32 unpacked start within the xorb,
 *            u32 unpacked length, u32 flags (bit 31 global-dedup eligible), u32 0)
 *            then a bookend
 *   lookups  optional sorted tables (u64 key = first 8 hash bytes LE): files (key, u32 entry
 *            index), xorbs (key, u32 entry index), chunks (key, u32 xorb entry index, u32 chunk)
 *   footer   optional, 200 bytes: u64 version 1, u64 file-info offset, u64 xorb-info offset,
 *            3 x (u64 lookup offset, u64 count), 32-byte chunk HMAC key, u64 creation time,
 *            u64 key expiry, 48 reserved, u64 stored bytes on disk, u64 materialized bytes,
 *            u64 stored bytes, u64 footer offset
 * The header's footer size is 0 when the footer is omitted (xet-core's upload format) and 200
 * when present (what @huggingface/hub uploads, and what servers return).
 *
 * In memory a weft_shard owns all its arrays (one object, freed by weft_shard_free). Parsing is
 * bounded: every count is checked against the bytes left before anything is allocated, every
 * offset against the input, and trailing bytes are an error. Lookup tables are checked for
 * bounds only; serialization with a footer regenerates them. Pure code, thread-safe on distinct
 * objects. Errors: WEFT_ECORRUPT (malformed bytes), WEFT_EINVALID (well formed but breaking the
 * upload rules of weft_shard_check_upload, or bad arguments), WEFT_ELIMIT (over 64 MiB, or a
 * count past a bound), WEFT_ENOMEM. Messages name the file/xorb index and the field. */
#ifndef WEFT_SHARD_H
#define WEFT_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"
#include "weft/xet_hash.h"

#define WEFT_SHARD_HEADER_LEN 48u
#define WEFT_SHARD_FOOTER_LEN 200u
#define WEFT_SHARD_ENTRY_LEN 48u
#define WEFT_SHARD_VERSION 2u
#define WEFT_SHARD_FOOTER_VERSION 1u
#define WEFT_SHARD_MAX_BYTES (64u * 1024u * 1024u)

#define WEFT_SHARD_FILE_FLAG_VERIFICATION 0x80000000u
#define WEFT_SHARD_FILE_FLAG_METADATA_EXT 0x40000000u
#define WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP 0x80000000u

extern const uint8_t WEFT_SHARD_TAG[32];

/* One term of a file reconstruction: chunks [chunk_start, chunk_end) of a xorb. */
typedef struct weft_shard_term {
    weft_hash xorb_hash;
    uint32_t xorb_flags; /* 0 in practice */
    uint32_t raw_len;    /* unpacked bytes of the term */
    uint32_t chunk_start;
    uint32_t chunk_end; /* exclusive */
} weft_shard_term;

typedef struct weft_shard_file {
    weft_hash hash; /* Xet file hash */
    uint32_t flags; /* WEFT_SHARD_FILE_FLAG_*: kept in step with the two fields below */
    uint32_t n_terms;
    weft_shard_term *terms;  /* [n_terms] */
    weft_hash *verification; /* [n_terms] range hashes, or NULL when absent */
    int has_sha256;          /* metadata ext present */
    uint8_t sha256[32];      /* the file's plain SHA-256 digest; on the wire each 8-byte word is
                              * byte-reversed (xet-core Sha256::from_be_bytes), so the stored
                              * hash's Xet hex form is the usual hex digest */
} weft_shard_file;

typedef struct weft_shard_chunk {
    weft_hash hash;   /* chunk hash (HMAC-keyed when the footer has a key) */
    uint32_t raw_off; /* unpacked start of the chunk within its xorb */
    uint32_t raw_len; /* unpacked length */
    uint32_t flags;   /* WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP */
} weft_shard_chunk;

typedef struct weft_shard_xorb {
    weft_hash hash;
    uint32_t flags; /* 0 in practice */
    uint32_t n_chunks;
    uint32_t raw_len;         /* unpacked bytes of the whole xorb */
    uint32_t stored_len;      /* serialized xorb bytes (as uploaded, without footer) */
    weft_shard_chunk *chunks; /* [n_chunks] */
} weft_shard_xorb;

/* Footer fields. On parse: as stored. On serialize: hmac_key, created and key_expiry are written
 * as given; offsets, counts and byte totals are computed. */
typedef struct weft_shard_footer {
    uint64_t file_info_offset, xorb_info_offset;
    uint64_t file_lookup_offset, file_lookup_n;
    uint64_t xorb_lookup_offset, xorb_lookup_n;
    uint64_t chunk_lookup_offset, chunk_lookup_n;
    uint8_t hmac_key[32]; /* all zero: chunk hashes are plain */
    uint64_t created;     /* seconds since the epoch */
    uint64_t key_expiry;  /* seconds since the epoch */
    uint64_t stored_bytes_on_disk, materialized_bytes, stored_bytes;
    uint64_t footer_offset;
} weft_shard_footer;

typedef struct weft_shard {
    uint32_t n_files;
    weft_shard_file *files;
    uint32_t n_xorbs;
    weft_shard_xorb *xorbs;
    int has_footer;
    weft_shard_footer footer;
    void *priv_; /* allocation bookkeeping; not for callers */
} weft_shard;

/* A new empty shard (no files, no xorbs, no footer). */
WEFT_MUST_USE int weft_shard_new(weft_shard **out);

/* Frees the shard and everything in it. NULL is fine. */
void weft_shard_free(weft_shard *s);

/* Appends a file. terms[n_terms] are copied; verification may be NULL (else n_terms hashes,
 * copied) and sha256 may be NULL (else the 32-byte plain digest, copied). Flags are set from what
 * is present. */
WEFT_MUST_USE int weft_shard_add_file(weft_shard *s, const weft_hash *file_hash,
                                      const weft_shard_term *terms, uint32_t n_terms,
                                      const weft_hash *verification, const uint8_t *sha256);

/* Appends a xorb listing; chunks[n_chunks] are copied. raw_len is computed from the chunks. */
WEFT_MUST_USE int weft_shard_add_xorb(weft_shard *s, const weft_hash *xorb_hash,
                                      const weft_shard_chunk *chunks, uint32_t n_chunks,
                                      uint32_t stored_len);

/* Parses p[0..len) (with or without footer, as the header says). *out owns everything. */
WEFT_MUST_USE int weft_shard_parse(weft_shard **out, const uint8_t *p, size_t len);

/* Appends the serialized shard to out. Without footer: header says footer size 0 and the bytes
 * end after the xorb bookend (the upload form). With footer: sorted lookup tables and the
 * 200-byte footer follow, using s->footer's hmac_key, created and key_expiry. Entries are written
 * in the order of s->files and s->xorbs, so parse → serialize reproduces an upload byte for byte
 * when its reserved fields are zero. */
WEFT_MUST_USE int weft_shard_serialize(weft_buf *out, const weft_shard *s, int with_footer);

/* Upload rules the CAS enforces before trusting a client shard (no I/O: xorbs named by a term
 * but absent from this shard must be checked by the caller against the store):
 *  - every file has one verification entry per term, and at least one term unless its hash is
 *    the empty file's (all zero);
 *  - every term has chunk_start < chunk_end and raw_len > 0; when its xorb is listed in this
 *    shard, chunk_end ≤ n_chunks and raw_len equals the sum of those chunks' lengths;
 *  - every xorb listing has 1..8192 chunks of ≤ 128 KiB each, contiguous raw_off from 0, and
 *    raw_len equal to their sum.
 * Returns 0 or WEFT_EINVALID naming the first violation. */
WEFT_MUST_USE int weft_shard_check_upload(const weft_shard *s);

/* Sum of a file's term lengths (its size in bytes). */
uint64_t weft_shard_file_size(const weft_shard_file *f);

/* Replaces every chunk hash h by weft_xet_hmac(h, key), stores key in the footer and sets
 * has_footer (what a global-dedup response carries). */
void weft_shard_apply_hmac(weft_shard *s, const uint8_t key[32]);

#endif
