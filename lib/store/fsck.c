/* fsck: re-hash every chunk of every xorb and check the index against the backend
 * (include/weft/store.h). A damaged or missing xorb is reported with every file that uses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static int fsck_report(weft_store *s, const weft_hash *xorb, const char *reason,
                       weft_store_fsck_cb cb, void *payload)
{
    char hex[WEFT_HASH_HEX_LEN + 1];
    weft_store_file *files = NULL;
    size_t n = 0;
    weft_xet_hash_to_hex(hex, xorb);
    int rc = weft_store__files_using(s, xorb, &files, &n);
    if (rc == 0 && cb != NULL)
        cb(hex, reason, files, n, payload);
    free(files);
    return rc;
}

int weft_store_fsck(weft_store *s, weft_store_fsck_cb cb, void *payload, uint32_t *n_damaged)
{
    sqlite3_stmt *st = NULL;
    uint8_t *obj = NULL;
    size_t obj_alloc = 0;
    *n_damaged = 0;
    /* Xorbs named by the index, plus any that terms name but the index lost. */
    int rc = weft_store__prepare(s, &st, "SELECT hash FROM xorbs UNION "
                                         "SELECT DISTINCT xorb FROM terms ORDER BY 1");
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        weft_hash h;
        char hex[WEFT_HASH_HEX_LEN + 1], reason[600];
        if (sqlite3_column_bytes(st, 0) != WEFT_HASH_LEN)
            continue;
        memcpy(h.b, sqlite3_column_blob(st, 0), WEFT_HASH_LEN);
        weft_xet_hash_to_hex(hex, &h);
        uint64_t size = 0;
        int r = s->backend->size(s->backend, hex, &size);
        if (r == 0 && size > WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN)
            r = weft_err_set(WEFT_ECORRUPT, "object is %llu bytes, over the xorb limit",
                             (unsigned long long)size);
        if (r == 0 && size > obj_alloc) {
            uint8_t *p = realloc(obj, size);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "fsck: out of memory");
                break;
            }
            obj = p;
            obj_alloc = size;
        }
        if (r == 0)
            r = s->backend->get(s->backend, hex, 0, obj, size);
        weft_xorb_footer *f = NULL;
        if (r == 0)
            r = weft_xorb_parse_stored(&f, obj, size, &h);
        weft_xorb_footer_free(f);
        if (r == 0)
            continue;
        if (r == WEFT_ENOMEM || r == WEFT_EIO) {
            rc = r;
            break;
        }
        snprintf(reason, sizeof reason, "%s", r == WEFT_ENOTFOUND ? "missing" : weft_err_last());
        (*n_damaged)++;
        rc = fsck_report(s, &h, reason, cb, payload);
    }
    sqlite3_finalize(st);
    free(obj);
    return rc;
}
