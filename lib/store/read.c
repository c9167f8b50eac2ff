/* Reconstruction: a file or a byte range of it, streamed from its terms (include/weft/store.h).
 *
 * For each term that overlaps the range, the xorb's footer gives the physical and unpacked
 * offsets of every chunk, so only the chunks holding wanted bytes are read from the backend
 * (in windows of at most READ_WINDOW bytes), decoded one by one and, when verifying, re-hashed
 * and compared with the footer before any of their bytes reach the caller. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "weft/chunker.h"

#define READ_WINDOW (8u << 20)

typedef struct read_term {
    weft_hash xorb;
    uint32_t start, end;
    uint64_t raw;
} read_term;

static int read_load_terms(weft_store *s, const weft_hash *file, read_term **out, size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    size_t alloc = 0;
    *out = NULL;
    *n_out = 0;
    int rc = weft_store__prepare(s, &st, "SELECT xorb, chunk_start, chunk_end, raw_bytes FROM "
                                         "terms WHERE file = ?1 ORDER BY seq");
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, file->b, WEFT_HASH_LEN, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n_out == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            read_term *p = realloc(*out, alloc * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "read: out of memory");
                break;
            }
            *out = p;
        }
        read_term *t = &(*out)[(*n_out)++];
        if (sqlite3_column_bytes(st, 0) != WEFT_HASH_LEN) {
            rc = weft_err_set(WEFT_ECORRUPT, "store index: bad xorb hash in a term");
            break;
        }
        memcpy(t->xorb.b, sqlite3_column_blob(st, 0), WEFT_HASH_LEN);
        t->start = (uint32_t)sqlite3_column_int64(st, 1);
        t->end = (uint32_t)sqlite3_column_int64(st, 2);
        t->raw = (uint64_t)sqlite3_column_int64(st, 3);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = weft_store__db_error(s, "load terms");
    sqlite3_finalize(st);
    return rc;
}

/* Emits the part [skip, skip + want) of a term's bytes. */
static int read_term_range(weft_store *s, const read_term *t, const weft_xorb_footer *f,
                           uint64_t skip, uint64_t want, int verify, uint8_t *window,
                           uint8_t *raw, weft_store_write_cb cb, void *payload)
{
    char name[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(name, &t->xorb);
    if (t->end > f->n_chunks || t->start >= t->end ||
        f->raw_off[t->end] - f->raw_off[t->start] != t->raw)
        return weft_err_set(WEFT_ECORRUPT, "xorb %s: footer disagrees with the index", name);
    uint64_t pos = f->raw_off[t->start] + skip, stop = pos + want;
    uint32_t i = weft_xorb_footer_chunk_at(f, pos);
    while (pos < stop) {
        /* One backend read covering as many needed chunks as fit the window. */
        uint32_t j = i + 1;
        while (j < t->end && f->raw_off[j] < stop && f->phys_off[j + 1] - f->phys_off[i] <= READ_WINDOW)
            j++;
        int rc = s->backend->get(s->backend, name, f->phys_off[i], window,
                                 f->phys_off[j] - f->phys_off[i]);
        if (rc < 0)
            return rc;
        for (uint32_t k = i; k < j && pos < stop; k++) {
            size_t raw_len = 0;
            const uint8_t *chunk = window + (f->phys_off[k] - f->phys_off[i]);
            rc = weft_xorb_chunk_decode(raw, WEFT_XET_CHUNK_MAX, &raw_len, chunk,
                                        f->phys_off[k + 1] - f->phys_off[k]);
            if (rc == 0 && raw_len != f->raw_off[k + 1] - f->raw_off[k])
                rc = weft_err_set(WEFT_ECORRUPT, "chunk %u has the wrong length", k);
            if (rc == 0 && verify) {
                weft_hash h;
                weft_xet_chunk_hash(&h, raw, raw_len);
                if (!weft_hash_eq(&h, &f->chunk_hashes[k]))
                    rc = weft_err_set(WEFT_ECORRUPT, "chunk %u does not match its hash", k);
            }
            if (rc < 0)
                return weft_err_wrap(WEFT_ECORRUPT, "xorb %s is damaged", name);
            uint64_t from = pos - f->raw_off[k];
            uint64_t n = raw_len - from < stop - pos ? raw_len - from : stop - pos;
            rc = cb(raw + from, (size_t)n, payload);
            if (rc < 0)
                return rc;
            pos += n;
        }
        i = j;
    }
    return 0;
}

int weft_store_read(weft_store *s, const weft_hash *file, uint64_t offset, uint64_t len,
                    int verify, weft_store_write_cb cb, void *payload)
{
    read_term *terms = NULL;
    size_t n_terms = 0;
    weft_xorb_footer *footer = NULL;
    weft_hash footer_of;
    uint8_t *window = malloc(READ_WINDOW), *raw = malloc(WEFT_XET_CHUNK_MAX);
    int rc = window && raw ? read_load_terms(s, file, &terms, &n_terms)
                           : weft_err_set(WEFT_ENOMEM, "read: out of memory");
    uint64_t total = 0;
    for (size_t i = 0; rc == 0 && i < n_terms; i++)
        total += terms[i].raw;
    if (rc == 0 && offset > total)
        rc = weft_err_set(WEFT_EINVALID, "range starts at %llu, past the end of the file (%llu bytes)",
                          (unsigned long long)offset, (unsigned long long)total);
    if (rc == 0 && len > total - offset)
        len = total - offset;
    uint64_t at = 0;
    for (size_t i = 0; rc == 0 && i < n_terms && len > 0; i++) {
        read_term *t = &terms[i];
        if (at + t->raw <= offset) {
            at += t->raw;
            continue;
        }
        if (footer == NULL || !weft_hash_eq(&footer_of, &t->xorb)) {
            weft_xorb_footer_free(footer);
            footer = NULL;
            rc = weft_store__load_footer(s, &t->xorb, &footer, NULL);
            if (rc < 0)
                break;
            footer_of = t->xorb;
        }
        uint64_t skip = offset > at ? offset - at : 0;
        uint64_t want = t->raw - skip < len ? t->raw - skip : len;
        rc = read_term_range(s, t, footer, skip, want, verify, window, raw, cb, payload);
        len -= want;
        offset += want;
        at += t->raw;
    }
    weft_xorb_footer_free(footer);
    free(terms);
    free(window);
    free(raw);
    return rc;
}
