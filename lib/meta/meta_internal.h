/* Internals shared by the files of lib/meta: the handle, SQLite helpers and transactions
 * (meta.c), name checks and safe quoting for messages (names.c), account lookups (account.c). */
#ifndef WEFT_META_INTERNAL_H
#define WEFT_META_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/meta.h"

struct weft_meta {
    sqlite3 *db;
};

/* ---- meta.c ---- */

/* Maps the connection's last SQLite failure to a WEFT_E* with a message naming `what`. */
int weft_meta__db_error(weft_meta *m, const char *what);

/* Prepares a statement (the caller finalizes it). */
int weft_meta__prepare(weft_meta *m, sqlite3_stmt **out, const char *sql);

/* 1 if the last step failed on a UNIQUE or PRIMARY KEY constraint. */
int weft_meta__is_unique_violation(weft_meta *m);

/* BEGIN IMMEDIATE (the write lock, waiting up to the busy timeout) / COMMIT / ROLLBACK. Rollback
 * is for error paths: it keeps the message already set and is a no-op outside a transaction. */
int weft_meta__begin(weft_meta *m);
int weft_meta__commit(weft_meta *m);
void weft_meta__rollback(weft_meta *m);

/* n bytes from OpenSSL's CSPRNG (seeded by the OS). WEFT_EIO if it fails. */
int weft_meta__random(uint8_t *out, size_t n);

/* Copies a text column into a WEFT_NAME_MAX + 1 buffer ("" for NULL, cut if longer). */
void weft_meta__copy_name(char dst[WEFT_NAME_MAX + 1], sqlite3_stmt *st, int col);

/* Current time in unix milliseconds. */
int64_t weft_meta__now_ms(void);

/* ---- names.c ---- */

/* 0 if name is valid, else WEFT_EINVALID with "invalid <what> name '<name>': <reason>". */
int weft_meta__name_check(const char *what, const char *name);

/* Writes a quotable rendering of untrusted text s into out: at most 64 characters, non-printable
 * bytes as '?', "..." when cut. Returns out, for messages. */
#define WEFT_META_QUOTE_LEN 72
const char *weft_meta__quote(char out[WEFT_META_QUOTE_LEN], const char *s);

/* ---- account.c ---- */

/* Looks an account up by exact name. kind: META_KIND_ANY, _USER or _ORG; an account of the
 * other kind is WEFT_ENOTFOUND with a message saying what it is. out may be NULL. */
enum { META_KIND_ANY = 0, META_KIND_USER = 1, META_KIND_ORG = 2 };
int weft_meta__account_find(weft_meta *m, const char *name, int kind, weft_account *out);

#endif
