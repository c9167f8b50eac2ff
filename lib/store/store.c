/* The store handle, footer loading and big buffers (include/weft/store.h,
 * lib/store/store_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store_internal.h"
#include "weft/fsutil.h"

/* A footer of up to ~1,600 chunks fits the first read; larger ones take a second. */
#define STORE_FOOTER_FIRST_READ (64u * 1024u)

int weft_store_open(weft_store **out, const char *dir)
{
    char path[PATH_MAX];
    int rc = 0;
    weft_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory");
    s->xorb_limit = WEFT_XORB_MAX_BYTES;
    s->ingest_scheme = WEFT_XET_SCHEME_NONE;
    s->owns_backend = 1;
    int n = snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (n < 0 || (size_t)n + 16 >= sizeof s->dir) {
        rc = weft_err_set(WEFT_EINVALID, "store: path too long: %.100s", dir);
        goto out;
    }
    rc = weft_fs_mkdirs(dir);
    if (rc < 0)
        goto out;
    snprintf(path, sizeof path, "%s/xorbs", dir);
    rc = weft_backend_fs_open(&s->backend, path);
    if (rc < 0)
        goto out;
    snprintf(path, sizeof path, "%s/index.db", dir);
    rc = weft_store__index_open(&s->db, path, 1);
out:
    if (rc < 0) {
        weft_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int weft_store__peer_open(weft_store *parent, weft_store **out)
{
    char path[PATH_MAX + 16];
    weft_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory");
    memcpy(s->dir, parent->dir, sizeof s->dir);
    s->backend = parent->backend;
    s->owns_backend = 0;
    s->xorb_limit = parent->xorb_limit;
    s->ingest_scheme = parent->ingest_scheme;
    snprintf(path, sizeof path, "%s/index.db", parent->dir);
    int rc = weft_store__index_open(&s->db, path, 0);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void weft_store_close(weft_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    if (s->owns_backend)
        weft_backend_close(s->backend);
    free(s);
}

void weft_store_set_xorb_limit(weft_store *s, size_t max_bytes)
{
    s->xorb_limit =
        max_bytes == 0 || max_bytes > WEFT_XORB_MAX_BYTES ? WEFT_XORB_MAX_BYTES : max_bytes;
}

void weft_store_set_compression(weft_store *s, int compress)
{
    s->ingest_scheme = compress ? WEFT_XET_SCHEME_AUTO : WEFT_XET_SCHEME_NONE;
}

/* The footer's chunk hashes and sizes must hash to the xorb's name (its Merkle root): then a
 * chunk that matches its footer hash is the chunk the name promises. */
static int store_footer_check_name(const weft_xorb_footer *f, const weft_hash *xorb)
{
    weft_hash root;
    weft_xet_node *nodes = malloc((size_t)f->n_chunks * sizeof *nodes);
    if (nodes == NULL)
        return weft_err_set(WEFT_ENOMEM, "store: out of memory checking a footer");
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        nodes[i].hash = f->chunk_hashes[i];
        nodes[i].size = f->raw_off[i + 1] - f->raw_off[i];
    }
    int rc = weft_xet_merkle_root(&root, nodes, f->n_chunks);
    free(nodes);
    if (rc == 0 && (!weft_hash_eq(&root, xorb) || !weft_hash_eq(&f->hash, xorb)))
        rc = weft_err_set(WEFT_ECORRUPT, "its footer's chunk hashes do not hash to its name");
    return rc;
}

int weft_store__load_footer(weft_store *s, const weft_hash *xorb, int verify,
                            weft_xorb_footer **out, uint64_t *object_len)
{
    return weft_store__load_footer_obj(s, xorb, verify, out, object_len, NULL, NULL);
}

int weft_store__load_footer_obj(weft_store *s, const weft_hash *xorb, int verify,
                                weft_xorb_footer **out, uint64_t *object_len, char *name_out,
                                int *coded_out)
{
    char name[WEFT_STORE_OBJ_MAX];
    uint64_t size = 0;
    size_t tail_len = 0, footer_len = 0;
    uint8_t *tail = NULL;
    weft_xorb_footer *f = NULL;
    int coded = 0;
    int rc = weft_store__xorb_object(s, xorb, name, &coded);
    if (rc < 0)
        return rc;
    if (name_out != NULL)
        memcpy(name_out, name, strlen(name) + 1);
    if (coded_out != NULL)
        *coded_out = coded;
    rc = s->backend->size(s->backend, name, &size);
    if (rc < 0)
        goto out;
    if (size > (uint64_t)WEFT_XORB_MAX_BYTES + WEFT_XORB_FOOTER_MAX_LEN) {
        rc = weft_err_set(WEFT_ECORRUPT, "object is %llu bytes, over the xorb limit",
                          (unsigned long long)size);
        goto out;
    }
    tail_len = size < STORE_FOOTER_FIRST_READ ? (size_t)size : STORE_FOOTER_FIRST_READ;
    tail = malloc(tail_len ? tail_len : 1);
    if (tail == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    rc = s->backend->get(s->backend, name, size - tail_len, tail, tail_len);
    if (rc == 0)
        rc = weft_xorb_footer_len(&footer_len, NULL, tail, tail_len, size);
    if (rc == 0 && footer_len > tail_len) {
        /* footer_len is bounded by weft_xorb_footer_len (≤ the 8,192-chunk footer). */
        uint8_t *more = realloc(tail, footer_len);
        if (more == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
        tail = more;
        tail_len = footer_len;
        rc = s->backend->get(s->backend, name, size - tail_len, tail, tail_len);
    }
    if (rc == 0)
        rc = weft_xorb_footer_parse(&f, tail, tail_len, size);
    if (rc == 0 && verify)
        rc = store_footer_check_name(f, xorb);
out:
    free(tail);
    if (rc < 0) {
        weft_xorb_footer_free(f);
        if (rc == WEFT_ENOTFOUND)
            return weft_err_set(rc, "xorb %s is missing from the backend", name);
        if (rc == WEFT_ENOMEM || rc == WEFT_EIO)
            return weft_err_wrap(rc, "xorb %s", name);
        /* Anything else wrong with the object is damage. */
        return weft_err_wrap(WEFT_ECORRUPT, "xorb %s is damaged", name);
    }
    *out = f;
    if (object_len != NULL)
        *object_len = size;
    return 0;
}

void *weft_store__big_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* a hint; 4 KiB pages still work */
#endif
    return p;
}

void weft_store__big_free(void *p, size_t len)
{
    if (p != NULL)
        munmap(p, len);
}
