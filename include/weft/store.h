/* The chunk store: every large file the hub holds, as Xet chunks packed into xorbs.
 *
 * A store is a directory: xorbs/ (the fs backend's objects, named by xorb hash) and index.db
 * (SQLite, WAL) mapping chunk hash -> (xorb, chunk index), xorb -> sizes, and each file (named by
 * its Xet file hash and by its SHA-256) -> its terms, runs of consecutive chunks of one xorb.
 * Ingest chunks a byte stream with the Xet chunker, deduplicates every chunk against the index and
 * the chunks already seen in the same upload, packs new chunks into xorbs (<= 64 MiB, <= 8,192
 * chunks) and records the file. Reads resolve the terms and read only the chunk bytes a range
 * needs (a xorb's footer gives every chunk's offsets), checking each chunk's hash unless told not
 * to; a chunk that fails is reported as WEFT_ECORRUPT naming the xorb before any of its bytes
 * reach the caller.
 *
 * Crash safety: a xorb object is durable on the backend before the index rows naming it are
 * committed, and a file's row and terms are committed in one transaction after every xorb they use
 * is durable and still indexed. A crash (kill -9 included) therefore leaves at most objects no row
 * names, which gc deletes after a grace window, never a dangling reference.
 *
 * Ownership and threads: a weft_store handle (and an ingest begun on it) is used by one thread at
 * a time; open one handle per thread. Any number of handles, threads and processes may use one
 * store at once: SQLite transactions (with a busy timeout) serialize the short writes, and a chunk
 * stored concurrently by two uploads only costs a missed dedup. Ingest runs SHA-256 and xorb
 * writing on two helper threads of its own.
 *
 * Errors: functions return 0 or a negative WEFT_E* code with a one-line message in
 * weft_err_last(): WEFT_ENOTFOUND (no such file), WEFT_EINVALID (bad hash text, bad range),
 * WEFT_ECORRUPT (stored data failed a check), WEFT_EIO, WEFT_ENOMEM, WEFT_ECONFLICT (a concurrent
 * gc removed what an upload relied on; put again). Expected load: uploads and downloads of
 * multi-GB files at memory speed, many small range reads, gc and fsck run by an operator. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/buf.h"
#include "weft/err.h"
#include "weft/shard.h"
#include "weft/xet_hash.h"

typedef struct weft_store weft_store;

typedef struct weft_store_file {
    weft_hash xet_hash; /* Xet file hash */
    uint8_t sha256[32]; /* the Git LFS oid */
    uint64_t size;      /* bytes */
    int64_t created;    /* unix seconds */
} weft_store_file;

typedef struct weft_store_put_result {
    weft_store_file file;
    uint64_t new_bytes;    /* raw bytes of chunks stored anew by this put */
    uint64_t dedup_bytes;  /* raw bytes of chunks the store (or this upload) already had */
    uint64_t stored_bytes; /* bytes written to xorb objects (headers and footers included) */
    uint32_t new_chunks, dedup_chunks, new_xorbs;
    int existed; /* the store already had this file; nothing was recorded */
} weft_store_put_result;

typedef struct weft_store_stats {
    uint64_t n_files;
    uint64_t logical_bytes;  /* sum of file sizes */
    uint64_t unique_bytes;   /* raw bytes of the chunks in xorbs */
    uint64_t physical_bytes; /* bytes of xorb objects */
    uint64_t n_chunks, n_xorbs;
} weft_store_stats;

/* Opens the store in dir, creating the directory and index if needed and migrating an index
 * written by an older weft. WEFT_EINVALID for an index from a newer weft. */
WEFT_MUST_USE int weft_store_open(weft_store **out, const char *dir);

/* Closes the handle (NULL is fine). No ingest begun on it may still be open. */
void weft_store_close(weft_store *s);

/* Caps xorbs at max_bytes of raw chunk data (0 = the Xet limit, 64 MiB): a test hook to get
 * many xorbs from small files. */
void weft_store_set_xorb_limit(weft_store *s, size_t max_bytes);

/* Compression of new chunks at ingest: off by default (chunks stored raw, Xet scheme 0), so ingest
 * runs at hashing speed and writes chunk bytes straight from the input buffers; on = Xet's auto
 * choice of LZ4 / BG4-LZ4 per chunk (about 1.2 s of CPU per GB of BF16 weights for a ~1.2x
 * smaller store). */
void weft_store_set_compression(weft_store *s, int compress);

/* ---- ingest ---------------------------------------------------------------------------- */

typedef struct weft_store_ingest weft_store_ingest;

/* Starts an upload into s. The ingest borrows s until finish or abort. */
WEFT_MUST_USE int weft_store_ingest_begin(weft_store *s, weft_store_ingest **out);

/* Feeds the next n bytes of the file (any split; copied, so p is only borrowed). */
WEFT_MUST_USE int weft_store_ingest_feed(weft_store_ingest *in, const void *p, size_t n);

/* Ends the input, writes the last xorb and commits the file. *out (may be NULL) gets the result.
 * Frees `in` whatever the outcome. */
WEFT_MUST_USE int weft_store_ingest_finish(weft_store_ingest *in, weft_store_put_result *out);

/* Gives up: nothing is committed for the file (xorbs already written stay for dedup or gc).
 * Frees `in`; NULL is fine. */
void weft_store_ingest_abort(weft_store_ingest *in);

/* Progress callback: bytes consumed so far. */
typedef void (*weft_store_progress_cb)(uint64_t done, void *payload);

/* Ingests everything readable from fd (a file, pipe or socket), reading straight into the
 * ingest's buffers. progress (may be NULL) is called about every 8 MiB and once at the end. */
WEFT_MUST_USE int weft_store_put_fd(weft_store *s, int fd, weft_store_put_result *out,
                                    weft_store_progress_cb progress, void *payload);

/* ---- files ----------------------------------------------------------------------------- */

/* Finds a file by either name, given as text: the SHA-256 (plain hex) or the Xet file hash (Xet
 * hex), 64 hex digits either way. WEFT_EINVALID for anything else, WEFT_ENOTFOUND if the store
 * has neither. */
WEFT_MUST_USE int weft_store_lookup(weft_store *s, const char *hex, weft_store_file *out);

/* Finds a file by its Xet file hash. */
WEFT_MUST_USE int weft_store_stat(weft_store *s, const weft_hash *file, weft_store_file *out);

/* Receives reconstructed bytes in order; p is borrowed for the call. A negative return stops the
 * read and is returned by it. */
typedef int (*weft_store_write_cb)(const uint8_t *p, size_t n, void *payload);

enum {
    WEFT_STORE_READ_NO_VERIFY = 1, /* skip re-hashing chunks (footers are still bounds-checked) */
};

/* Streams bytes [offset, offset + len) of a file to cb. len is clamped to the file's end
 * (UINT64_MAX = to the end); an offset past the end is WEFT_EINVALID. Unless
 * WEFT_STORE_READ_NO_VERIFY is in flags, every chunk read is re-hashed and each xorb's footer is
 * checked against the xorb's name before any byte of it is passed on. */
WEFT_MUST_USE int weft_store_read(weft_store *s, const weft_hash *file, uint64_t offset,
                                  uint64_t len, int flags, weft_store_write_cb cb, void *payload);

/* A read that continues across calls, for callers that pull bytes (an HTTP response): the
 * window buffer and the footers already checked are kept between calls, so reading a file in
 * pieces costs what one weft_store_read of it costs. Same checks and errors as weft_store_read.
 * Used by one thread at a time; its store handle must outlive it. */
typedef struct weft_store_reader weft_store_reader;

/* Starts reading [offset, offset + len) (len clamped to the end; an offset past it is
 * WEFT_EINVALID). */
WEFT_MUST_USE int weft_store_reader_open(weft_store *s, const weft_hash *file, uint64_t offset,
                                         uint64_t len, int flags, weft_store_reader **out);

/* Passes the next min(max, left) bytes to cb (nothing at the end). */
WEFT_MUST_USE int weft_store_reader_next(weft_store_reader *r, uint64_t max, weft_store_write_cb cb,
                                         void *payload);

/* Bytes not read yet. */
uint64_t weft_store_reader_left(const weft_store_reader *r);

/* Frees the reader; NULL is fine. */
void weft_store_reader_close(weft_store_reader *r);

/* weft_store_read writing to a file descriptor. */
WEFT_MUST_USE int weft_store_read_fd(weft_store *s, const weft_hash *file, uint64_t offset,
                                     uint64_t len, int flags, int fd);

/* Calls cb for every file, oldest first; a negative return stops the listing and is returned. */
WEFT_MUST_USE int weft_store_list(weft_store *s, int (*cb)(const weft_store_file *f, void *payload),
                                  void *payload);

/* Forgets a file (its chunks stay until gc finds them unreferenced). WEFT_ENOTFOUND if absent. */
WEFT_MUST_USE int weft_store_remove(weft_store *s, const weft_hash *file);

WEFT_MUST_USE int weft_store_get_stats(weft_store *s, weft_store_stats *out);

/* ---- maintenance ----------------------------------------------------------------------- */

#define WEFT_STORE_GC_GRACE_DEFAULT 3600

typedef struct weft_store_gc_result {
    uint32_t xorbs_deleted;    /* no live chunk left */
    uint32_t xorbs_rewritten;  /* live share under half: live chunks copied to a new xorb */
    uint32_t orphans_deleted;  /* backend objects no index row names (crash leftovers) */
    uint32_t rewrites_skipped; /* a concurrent upload started using a xorb being rewritten */
    uint32_t xorbs_skipped;    /* damaged or missing: left for fsck to report */
    uint64_t bytes_freed;
} weft_store_gc_result;

/* Mark and sweep from the live files (every file row): deletes xorbs no file uses, rewrites xorbs
 * of which less than half the raw bytes are live, and deletes backend objects the index does not
 * name. Xorbs and objects younger than grace_seconds are left alone, which is what protects
 * uploads in flight; grace 0 is for a store nobody is writing to. Safe to run beside readers and
 * writers: index changes are transactions that precede object deletions, and a concurrent upload
 * that loses a xorb it deduplicated against fails with WEFT_ECONFLICT instead of committing a
 * dangling reference. A reader in the middle of a file whose xorb is rewritten may fail with
 * WEFT_ENOTFOUND; reading again succeeds. */
WEFT_MUST_USE int weft_store_gc(weft_store *s, int64_t grace_seconds, weft_store_gc_result *out);

/* One problem fsck found: a damaged or missing xorb (xorb_hex set), or an index entry that
 * disagrees with the data (xorb_hex set when a xorb is involved, else ""), with every file that
 * depends on it. Everything is borrowed for the duration of the callback. */
typedef struct weft_store_fsck_problem {
    const char *xorb_hex;
    const char *reason;
    const weft_store_file *files;
    size_t n_files;
} weft_store_fsck_problem;

typedef void (*weft_store_fsck_cb)(const weft_store_fsck_problem *p, void *payload);

typedef struct weft_store_fsck_result {
    uint32_t xorbs_checked;
    uint32_t files_checked;
    uint32_t problems;       /* damaged or missing xorbs plus inconsistent index entries */
    uint32_t files_affected; /* distinct files named in problems */
    uint32_t orphans;        /* objects no row names: not damage, gc removes them */
    uint64_t bytes_checked;
} weft_store_fsck_result;

/* Reads every xorb the index or a term names and re-verifies it whole (headers, decoding, every
 * chunk hash, the xorb hash, the footer), checks its index rows (xorb sizes, chunk rows) and every
 * file's terms against the footers (bounds, byte counts, the Xet file hash recomputed from the
 * chunk hashes). cb (may be NULL) gets each problem. Returns 0 when the check ran, whatever it
 * found (see out->problems); an error only when it could not run. */
WEFT_MUST_USE int weft_store_fsck(weft_store *s, weft_store_fsck_cb cb, void *payload,
                                  weft_store_fsck_result *out);

/* ---- weight codecs (lib/store/codec.c) -------------------------------------------------------
 * Tensor-aware re-coding of stored chunks (docs/internals/store.md "Weight codecs"): a chunk of a
 * safetensors file may be stored as a weight frame (weft/weight_codec.h) instead of a Xet
 * scheme, optionally as a delta against the bytes of the same tensor in a base file of the same
 * store. Hashes are of raw bytes and do not change; every read path decodes frames bit-exactly
 * (reading delta bases through the store); Xet clients are served such xorbs re-encoded as
 * scheme 0. A base is a live file: weft_store_remove refuses (WEFT_ECONFLICT, naming the
 * dependants) while a live file's chunks are coded against it, so gc never frees one. */

/* Codecs a stored chunk can be in: its Xet scheme, or a weight frame by its main method. */
enum {
    WEFT_STORE_CODEC_NONE = 0,
    WEFT_STORE_CODEC_LZ4 = 1,
    WEFT_STORE_CODEC_BG4_LZ4 = 2,
    WEFT_STORE_CODEC_WEIGHT = 3, /* + WEFT_WEIGHT_STORED .. WEFT_WEIGHT_DIFF_SHIFT */
    WEFT_STORE_N_CODECS = 11,
};

/* "none", "lz4", "bg4-lz4", "weft-stored", "weft-entropy", "weft-float", "weft-diff",
 * "weft-xor", "weft-diff-esc", "weft-diff-ctx", "weft-diff-shift"; NULL for other values. */
const char *weft_store_codec_name(int codec);

typedef struct weft_store_codec_stats {
    const char *codec; /* static */
    uint64_t chunks;
    uint64_t raw_bytes;    /* logical bytes of those chunks */
    uint64_t stored_bytes; /* bytes they take in xorbs (chunk headers included) */
} weft_store_codec_stats;

typedef struct weft_store_optimize_opts {
    int no_delta;                    /* never code against the base (re-codes as plain) */
    weft_store_progress_cb progress; /* bytes of the file done, per xorb; may be NULL */
    void *payload;
    /* Asked between xorbs (may be NULL): nonzero stops the call, which returns WEFT_ECONFLICT
     * ("optimize: stopped"); the xorbs done so far stay done. Called with `payload`. */
    int (*stop)(void *payload);
} weft_store_optimize_opts;

typedef struct weft_store_optimize_result {
    uint64_t file_bytes;
    uint32_t chunks;          /* distinct stored chunks the file uses */
    uint32_t chunks_coded;    /* re-coded by this call */
    uint32_t xorbs_rewritten; /* objects replaced */
    int used_base;            /* some chunk was coded as a delta */
    uint64_t before_bytes;    /* stored bytes of the file's chunks before the call */
    uint64_t after_bytes;     /* and after */
    weft_store_codec_stats codecs[WEFT_STORE_N_CODECS]; /* the file's chunks after the call */
} weft_store_optimize_result;

/* Re-codes the stored chunks of `file`, which must be a safetensors file (WEFT_ECORRUPT naming
 * the rule otherwise; nothing changes): the header bytes as raw bytes, each BF16/F16/F32 tensor
 * with the float codec, and, given a base (another safetensors file of the store, or NULL),
 * each tensor that the base has under the same name, dtype and shape as a delta against the
 * base tensor's bytes at the same position (whatever the two headers' sizes or tensor orders).
 * A chunk is re-coded only if not coded yet and only when its frame is smaller and decodes back
 * to the same bytes. Chains stay one deep: a base that is itself delta-coded is WEFT_EINVALID,
 * and xorbs a base file uses are never delta-coded. Crash-safe (a new object is durable before
 * the index names it; the old one is deleted after). WEFT_ECONFLICT if a concurrent optimize
 * or gc changed a xorb meanwhile (run again). out (may be NULL) gets the result either way. */
WEFT_MUST_USE int weft_store_optimize_file(weft_store *s, const weft_hash *file,
                                           const weft_hash *base,
                                           const weft_store_optimize_opts *opts,
                                           weft_store_optimize_result *out);

/* *yes = 1 when some xorb `file` uses was never re-coded by optimize (its object is the one
 * ingest wrote): a cheap test, from the index alone, for work an optimize of the file would
 * surely do. 0 does not promise the opposite (a re-coded xorb may still hold chunks of this file
 * that an earlier optimize of another file did not use). */
WEFT_MUST_USE int weft_store_file_has_plain_xorbs(weft_store *s, const weft_hash *file, int *yes);

/* Stored chunks by codec: entries [0, WEFT_STORE_N_CODECS) for chunks of re-coded xorbs, entry
 * WEFT_STORE_N_CODECS ("xet") for whole xorbs never re-coded (stored_bytes = their objects). */
WEFT_MUST_USE int weft_store_stats_by_codec(weft_store *s,
                                            weft_store_codec_stats out[WEFT_STORE_N_CODECS + 1]);

/* Logical bytes (the sum of the files' sizes) and physical bytes (the stored bytes, chunk
 * headers included, of the distinct chunks they use; a chunk shared with files outside the set
 * counts in full) of a set of files, for per-repo statistics. Reads each xorb's footer once. */
WEFT_MUST_USE int weft_store_files_usage(weft_store *s, const weft_hash *files, size_t n,
                                         uint64_t *logical, uint64_t *physical);

/* ---- Xet CAS (lib/store/xet_cas.c) ----------------------------------------------------------
 * What the Xet CAS API of `weft serve` needs (specs/xet-storage.md §1.3–1.6): clients chunk and
 * pack files themselves, upload xorbs, then a shard naming each file's terms; downloads ask for a
 * file's terms and fetch byte ranges of the stored xorbs; uploads ask which chunks the store
 * already holds. Everything a client sends is verified before the store records it, and the
 * same crash-safety order holds as for ingest: an object is durable before rows name it, a
 * file's rows are committed in one transaction after the xorbs they name are checked in it. */

typedef struct weft_store_xorb_put_result {
    int was_inserted; /* 0: the store already had this xorb (its bytes were still checked) */
    uint32_t n_chunks;
    uint64_t raw_bytes;    /* sum of the uncompressed chunk sizes */
    uint64_t stored_bytes; /* object size, footer included */
} weft_store_xorb_put_result;

/* Stores a xorb a client uploaded. p[0..len) holds its chunks as the client serialized them,
 * optionally followed by a server footer (ignored: the footer is rebuilt). Every chunk header is
 * bounded, every payload decoded and hashed, and the xorb hash must equal *hash, all before
 * anything is written: WEFT_EINVALID for a hash mismatch, WEFT_ECORRUPT for malformed bytes,
 * WEFT_ELIMIT over 64 MiB of chunks or 8,192 chunks; nothing changes then. A new xorb is written
 * durably through the backend (the chunk bytes exactly as sent, so physical offsets are the
 * client's) and its chunks are indexed for dedup. A xorb already stored is not rewritten (its
 * object is put back if missing) and its gc grace window starts again, since a shard naming it
 * is about to follow. out may be NULL. */
WEFT_MUST_USE int weft_store_xorb_put(weft_store *s, const weft_hash *hash, const void *p,
                                      size_t len, weft_store_xorb_put_result *out);

typedef struct weft_store_shard_result {
    uint32_t n_files;   /* file entries in the shard */
    uint32_t new_files; /* recorded by this call; the others were stored already */
    uint64_t new_bytes; /* sum of the sizes of the new files */
} weft_store_shard_result;

/* Records the files of an uploaded shard (parsed with weft_shard_parse; its CAS-info section is
 * not needed, the stored xorbs are the truth). Checked for every file, before anything is
 * recorded: the shard's upload rules (weft_shard_check_upload); every term's xorb is stored, its
 * chunk range lies inside it and its byte count and verification hash match the xorb's chunks;
 * the Xet file hash recomputed from the chunk hashes and sizes equals the declared one; a SHA-256
 * metadata extension is present (Git LFS pointers name files by it) and equals the SHA-256 of the
 * reconstructed bytes, which are read back for it (about a second per GB). Then all new files
 * are recorded in one transaction. Any failure is WEFT_EINVALID naming the file (Xet hex) and the
 * term, and records nothing. Files the store already has are left as they are. out may be NULL. */
WEFT_MUST_USE int weft_store_shard_register(weft_store *s, const weft_shard *shard,
                                            weft_store_shard_result *out);

/* One term of a reconstruction: chunks [chunk_start, chunk_end) of a xorb. */
typedef struct weft_store_recon_term {
    weft_hash xorb;
    uint32_t chunk_start, chunk_end;
    uint32_t raw_len; /* uncompressed bytes of those chunks */
} weft_store_recon_term;

/* A byte range to fetch from a stored xorb: chunks [chunk_start, chunk_end) are the physical
 * bytes [byte_start, byte_end) of the object (headers included, as served by
 * weft_store_xorb_read). */
typedef struct weft_store_recon_fetch {
    weft_hash xorb;
    uint32_t chunk_start, chunk_end;
    uint64_t byte_start, byte_end;
} weft_store_recon_fetch;

typedef struct weft_store_recon {
    weft_store_file file;
    uint64_t offset;                  /* first byte of the file the answer covers */
    uint64_t len;                     /* bytes it covers (after clamping to the file's end) */
    uint64_t offset_into_first_range; /* bytes of the first term's chunks before `offset` */
    size_t n_terms;
    weft_store_recon_term *terms; /* in file order; the first and last trimmed to the range */
    size_t n_fetches;
    weft_store_recon_fetch *fetches; /* sorted by xorb hash bytes, then chunk_start; the ranges of
                                      * one xorb are disjoint and not adjacent (merged), and each
                                      * term lies inside one of them */
} weft_store_recon;

/* The reconstruction of bytes [offset, offset + len) of a file (len clamped to the file's end;
 * UINT64_MAX = to the end): the terms that cover it and, per xorb, the physical byte ranges to
 * fetch. An offset past the end is WEFT_EINVALID (offset == size gives no terms). Reads each
 * xorb's footer once (bounds-checked, not re-hashed: weft_store_xorb_read checks the chunks when
 * they are fetched). *out is the caller's, freed with weft_store_recon_free. */
WEFT_MUST_USE int weft_store_recon_get(weft_store *s, const weft_hash *file, uint64_t offset,
                                       uint64_t len, weft_store_recon **out);

/* Frees a reconstruction; NULL is fine. */
void weft_store_recon_free(weft_store_recon *r);

/* Reads bytes [offset, offset + len) of a stored xorb object into dst: a range of the chunk bytes
 * (the footer is not served), as the fetches of weft_store_recon_get name them. Unless flags has
 * WEFT_STORE_READ_NO_VERIFY, the footer is checked against the xorb's name and every chunk the
 * range touches is decoded and re-hashed before this returns (WEFT_ECORRUPT naming the xorb and
 * chunk; dst is then undefined). WEFT_ENOTFOUND for a xorb the store lacks, WEFT_EINVALID for a
 * range outside the chunk bytes. For ranges up to a few MiB: call again for more. */
WEFT_MUST_USE int weft_store_xorb_read(weft_store *s, const weft_hash *xorb, uint64_t offset,
                                       void *dst, size_t len, int flags);

/* At most this many xorbs in a dedup answer (the one holding the chunk, then its neighbours). */
#define WEFT_STORE_DEDUP_MAX_XORBS 32

/* Global dedup query (specs/xet-storage.md §1.6). If `chunk` is a key chunk the store holds (the
 * first chunk of a stored file, or a chunk hash whose last 8 bytes read as a little-endian u64 are
 * ≡ 0 mod 1024), appends to out a shard with a footer and no file entries listing the xorb that
 * holds it, then xorbs used by files that use that xorb, in file order (up to
 * WEFT_STORE_DEDUP_MAX_XORBS in all: where the client's next chunks probably are), every chunk
 * hash replaced by its HMAC under key (weft_xet_hmac), with key and key_expiry (unix seconds) in
 * the footer: a client learns where a chunk is only if it already has the chunk. WEFT_ENOTFOUND
 * if the chunk is unknown or not a key chunk. key should be fresh for every answer. */
WEFT_MUST_USE int weft_store_dedup_query(weft_store *s, const weft_hash *chunk,
                                         const uint8_t key[32], uint64_t key_expiry, weft_buf *out);

#endif
