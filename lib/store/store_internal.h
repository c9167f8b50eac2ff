/* Internals shared by the files of lib/store: the store handle, the SQLite index helpers
 * (index.c), footer loading and big buffers (store.c), reading a term list (reconstruct.c). */
#ifndef WEFT_STORE_INTERNAL_H
#define WEFT_STORE_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>

#include "weft/backend.h"
#include "weft/store.h"
#include "weft/xorb.h"

struct weft_store {
    char dir[PATH_MAX];
    sqlite3 *db;
    weft_backend *backend;
    int owns_backend;  /* 0 for a peer handle, which borrows its parent's */
    size_t xorb_limit; /* raw chunk bytes per xorb */
    int ingest_scheme; /* WEFT_XET_SCHEME_* for new chunks */
};

/* One term of a file: chunks [start, end) of a xorb, raw bytes in all. */
typedef struct weft_store_term {
    weft_hash xorb;
    uint32_t start, end;
    uint64_t raw;
} weft_store_term;

/* ---- index.c ---- */

/* Opens an SQLite connection on the index at path with the store's settings (busy timeout, WAL,
 * synchronous=FULL). With migrate, brings the schema up to date first. */
int weft_store__index_open(sqlite3 **out, const char *path, int migrate);

/* A second handle on the same store for another thread: its own SQLite connection, the parent's
 * backend and settings (borrowed: close the peer before the parent). */
int weft_store__peer_open(weft_store *parent, weft_store **out);

/* Maps the connection's last SQLite failure to a WEFT_E* with a message naming `what`. */
int weft_store__db_error(weft_store *s, const char *what);

/* Runs SQL with no result rows. */
int weft_store__exec(weft_store *s, const char *sql);

/* Prepares a statement. */
int weft_store__prepare(weft_store *s, sqlite3_stmt **out, const char *sql);

/* BEGIN IMMEDIATE (the write lock, waiting up to the busy timeout) / COMMIT / ROLLBACK. Rollback
 * is for error paths and keeps the error message already set. */
int weft_store__begin(weft_store *s);
int weft_store__commit(weft_store *s);
void weft_store__rollback(weft_store *s);

/* Inserts the rows of a durable xorb: its xorbs row and a chunks row for every chunk the index
 * does not already place elsewhere (or every chunk, moving them, with `move_chunks`). Call inside
 * a transaction. */
int weft_store__xorb_insert(weft_store *s, const weft_xorb_footer *f, uint64_t stored_bytes,
                            int move_chunks);

/* Longest backend object name of a xorb: "<64 hex>.w<generation>.<random>". */
#define WEFT_STORE_OBJ_MAX 96

/* The backend object holding xorb x: its Xet hex name, or the name of its re-coded object
 * (*coded = 1) when the index records one. A xorb without a row gets its hex name. */
int weft_store__xorb_object(weft_store *s, const weft_hash *x, char name[WEFT_STORE_OBJ_MAX],
                            int *coded);

/* *indexed = 1 if backend object `name` is the object the index names for its xorb; st is
 * "SELECT object FROM xorbs WHERE hash = ?1", prepared by the caller (gc and fsck orphans). */
int weft_store__object_indexed(weft_store *s, sqlite3_stmt *st, const char *name, int *indexed);

/* *known = 1 if the index has a xorbs row for x. */
int weft_store__xorb_known(weft_store *s, const weft_hash *x, int *known);

/* Runs `sql` with the hash bound to ?1 (no result rows). */
int weft_store__exec_hash(weft_store *s, const char *sql, const weft_hash *h);

/* A file's terms in order (array to free). */
int weft_store__terms_load(weft_store *s, const weft_hash *file, weft_store_term **out,
                           size_t *n_out);

/* The files whose terms use a xorb (array to free), oldest first. */
int weft_store__files_using(weft_store *s, const weft_hash *xorb, weft_store_file **out,
                            size_t *n_out);

/* Fills a weft_store_file from columns (xet_hash, sha256, size, created) starting at col. */
void weft_store__file_from_row(weft_store_file *f, sqlite3_stmt *st, int col);

/* Copies a 32-byte blob column into h; WEFT_ECORRUPT if the column is not 32 bytes. */
int weft_store__hash_col(weft_hash *h, sqlite3_stmt *st, int col);

/* ---- store.c ---- */

/* Loads and parses a stored xorb's footer: object size, a 64 KiB tail read (more if the footer is
 * longer). With verify, also checks that the footer's chunk hashes and sizes hash to the xorb's
 * name, so every chunk hash read from it can be trusted. *object_len (may be NULL) gets the size.
 */
int weft_store__load_footer(weft_store *s, const weft_hash *xorb, int verify,
                            weft_xorb_footer **out, uint64_t *object_len);

/* weft_store__load_footer that also gives the object it read (name, WEFT_STORE_OBJ_MAX bytes,
 * may be NULL) and whether it is a re-coded object (coded, may be NULL): later reads of the
 * chunks must use that object, whose offsets the footer gives. */
int weft_store__load_footer_obj(weft_store *s, const weft_hash *xorb, int verify,
                                weft_xorb_footer **out, uint64_t *object_len, char *name,
                                int *coded);

/* Large buffers (MiBs, long-lived within a call) from anonymous memory with transparent huge pages
 * requested: first-touch page faults dominate otherwise (about 3 ms per MiB on a VM). */
void *weft_store__big_alloc(size_t len);
void weft_store__big_free(void *p, size_t len);

/* ---- reconstruct.c ---- */

/* Streams all bytes of terms[0..n_terms) in order to cb, checked as weft_store_read checks them
 * (flags: WEFT_STORE_READ_NO_VERIFY). For terms not yet recorded as a file: xet_cas.c reads an
 * uploaded file back through it to check its SHA-256 before registering it. */
int weft_store__read_terms(weft_store *s, const weft_store_term *terms, size_t n_terms, int flags,
                           weft_store_write_cb cb, void *payload);

/* Checks chunk k of a xorb, whose stored bytes (header + payload, [phys_off[k], phys_off[k+1]))
 * are at `chunk`, against footer f and decodes it: *raw_out points at its raw bytes (inside
 * `chunk` for raw chunks, else in scratch, WEFT_XET_CHUNK_MAX bytes). With verify, the raw bytes
 * are re-hashed and compared with the footer's hash. WEFT_ECORRUPT naming the chunk. */
int weft_store__chunk_check(const weft_xorb_footer *f, uint32_t k, const uint8_t *chunk,
                            uint8_t *scratch, int verify, const uint8_t **raw_out);

/* Whole-file random access for delta bases and optimize: the file's terms are loaded once and
 * footers cached, so many small reads cost little. With no_delta, a delta-coded chunk met on
 * the way is WEFT_ECORRUPT (a base is never itself a delta: chains are one deep). */
typedef struct weft_store__file_reader weft_store__file_reader;
int weft_store__file_reader_open(weft_store *s, const weft_hash *file, int flags, int no_delta,
                                 weft_store__file_reader **out);
uint64_t weft_store__file_reader_size(const weft_store__file_reader *r);
/* Bytes [offset, offset + len) of the file into dst (WEFT_ECORRUPT past its end). */
int weft_store__file_reader_read(weft_store__file_reader *r, uint64_t offset, uint8_t *dst,
                                 size_t len);
void weft_store__file_reader_free(weft_store__file_reader *r);

/* ---- codec.c ---- */

/* The chunk scheme byte of a chunk holding a weight frame (weft/weight_codec.h). Weft-private:
 * Xet clients never see it (xorb reads serve such xorbs re-encoded, see xet_cas.c). */
#define WEFT_STORE_SCHEME_WEIGHT 0x57

/* Decoding state for weight frames: a weight codec and open readers of delta bases. */
typedef struct weft_store__codec weft_store__codec;
void weft_store__codec_free(weft_store__codec *c);

/* weft_store__chunk_check for any stored chunk, weight frames included: *codec (created on
 * first need, freed by the caller with weft_store__codec_free) fetches the base bytes of delta
 * spans through the store; with allow_delta 0 a delta span is WEFT_ECORRUPT. */
int weft_store__chunk_decode(weft_store *s, weft_store__codec **codec, int allow_delta,
                             const weft_xorb_footer *f, uint32_t k, const uint8_t *chunk,
                             uint8_t *scratch, int verify, const uint8_t **raw_out);

/* Inside remove's transaction: WEFT_ECONFLICT naming the live files whose delta chunks need
 * `file` as their base; else drops the rows of dead xorbs coded against it. */
int weft_store__base_release(weft_store *s, const weft_hash *file);

/* Rewrites a re-coded xorb's physical offsets to its served view: every chunk as Xet scheme 0
 * (8-byte header + raw bytes), which is what Xet clients are given. */
void weft_store__served_view(weft_xorb_footer *f);

#endif
