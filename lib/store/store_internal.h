/* Internals shared by the files of lib/store: the store handle and the SQLite index helpers. */
#ifndef WEFT_STORE_INTERNAL_H
#define WEFT_STORE_INTERNAL_H

#include <sqlite3.h>

#include "weft/backend.h"
#include "weft/store.h"
#include "weft/xorb.h"

struct weft_store {
    sqlite3 *db;
    weft_backend *backend;
    size_t xorb_limit; /* chunk bytes per xorb */
    int ingest_scheme; /* WEFT_XET_SCHEME_* for new chunks */
};

/* Runs SQL with no result rows. */
int weft_store__exec(weft_store *s, const char *sql);

/* Prepares a statement; errors name the SQL's purpose. */
int weft_store__prepare(weft_store *s, sqlite3_stmt **out, const char *sql);

/* Maps the last SQLite failure to a WEFT_E* with a message. */
int weft_store__db_error(weft_store *s, const char *what);

/* Loads and parses a stored xorb's footer (object size, then tail). */
int weft_store__load_footer(weft_store *s, const weft_hash *xorb, weft_xorb_footer **out,
                            uint64_t *object_len);

/* The files whose terms use a xorb (array to free). */
int weft_store__files_using(weft_store *s, const weft_hash *xorb, weft_store_file **out,
                            size_t *n_out);

/* Fills a weft_store_file from columns (xet_hash, sha256, size, created) starting at col. */
void weft_store__file_from_row(weft_store_file *f, sqlite3_stmt *st, int col);

#endif
