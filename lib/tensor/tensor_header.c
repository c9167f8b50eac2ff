/* Reading tensor-file headers through a callback, and their parameter counts
 * (include/weft/tensor_header.h). */
#include "weft/tensor_header.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "weft/dtype.h"
#include "weft/fsutil.h"

/* First read: enough for the size word and, for most files, the whole header. */
#define TENSOR_FIRST_READ (64u * 1024u)

/* Grows buf to hold the first `want` bytes of the file (reading only what is missing). */
static int read_prefix(uint8_t **buf, size_t *have, uint64_t want, weft_tensor_header *out,
                       weft_tensor_read_fn read, void *payload)
{
    if (want <= *have)
        return 0;
    if (want > SIZE_MAX)
        return weft_err_set(WEFT_ELIMIT, "header of %" PRIu64 " bytes", want);
    uint8_t *p = realloc(*buf, (size_t)want);
    if (!p)
        return weft_err_set(WEFT_ENOMEM, "out of memory reading a %" PRIu64 "-byte header", want);
    *buf = p;
    int rc = read(p + *have, (size_t)want - *have, *have, payload);
    if (rc)
        return rc;
    out->bytes_read += want - *have;
    *have = (size_t)want;
    return 0;
}

int weft_tensor_header_read(weft_tensor_header *out, uint64_t file_size, const char *label,
                           weft_tensor_read_fn read, void *payload)
{
    uint8_t *buf = NULL;
    size_t have = 0;
    uint64_t need = 0;
    int rc;
    memset(out, 0, sizeof *out);
    out->file_size = file_size;
    rc = read_prefix(&buf, &have, file_size < 8 ? file_size : 8, out, read, payload);
    if (rc)
        goto out;
    if (have >= 4 && memcmp(buf, WEFT_GGUF_MAGIC, 4) == 0) {
        uint64_t want = file_size < TENSOR_FIRST_READ ? file_size : TENSOR_FIRST_READ;
        for (;;) {
            rc = read_prefix(&buf, &have, want, out, read, payload);
            if (rc == 0)
                rc = weft_gguf_header_need(&need, buf, have);
            if (rc || need <= have)
                break;
            if (need > file_size) {
                rc = weft_err_set(WEFT_ECORRUPT,
                                  "gguf: header truncated: %" PRIu64 " bytes, at least %" PRIu64
                                  " needed",
                                  file_size, need);
                break;
            }
            /* at least double, so a header of n bytes takes O(log n) reads */
            want = need > 2 * (uint64_t)have ? need : 2 * (uint64_t)have;
            if (want > file_size)
                want = file_size;
        }
        if (rc == 0)
            rc = weft_gguf_parse(&out->gguf, buf, have, file_size);
    } else {
        if (have < 8) {
            rc = weft_err_set(WEFT_ECORRUPT, "not a safetensors or GGUF file (%" PRIu64 " bytes)",
                              file_size);
            goto out;
        }
        rc = weft_st_header_need(&need, buf, have);
        if (rc == 0 && need > file_size)
            rc = weft_err_set(WEFT_ECORRUPT,
                              "safetensors: header of %" PRIu64
                              " bytes is longer than the file (%" PRIu64 " bytes)",
                              need - 8, file_size);
        if (rc == 0)
            rc = read_prefix(&buf, &have, need, out, read, payload);
        if (rc == 0)
            rc = weft_st_parse(&out->st, buf, have, file_size);
    }
out:
    free(buf);
    if (rc) {
        weft_tensor_header_dispose(out);
        weft_err_wrap(rc, "%s", label);
    }
    return rc;
}

int weft_tensor_fd_read(void *dst, size_t len, uint64_t offset, void *payload)
{
    weft_tensor_fd *f = payload;
    return weft_fs_pread_full(f->fd, dst, len, offset, f->path);
}

int weft_tensor_header_read_fd(weft_tensor_header *out, int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return weft_err_sys(WEFT_EIO, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return weft_err_set(WEFT_EINVALID, "%s: not a regular file", path);
    weft_tensor_fd f = {fd, path};
    return weft_tensor_header_read(out, (uint64_t)st.st_size, path, weft_tensor_fd_read, &f);
}

void weft_tensor_header_dispose(weft_tensor_header *h)
{
    weft_st_header_free(h->st);
    weft_gguf_free(h->gguf);
    h->st = NULL;
    h->gguf = NULL;
}

size_t weft_tensor_header_params(const weft_tensor_header *h,
                                 weft_tensor_param_count out[WEFT_TENSOR_MAX_DTYPES],
                                 uint64_t *total)
{
    uint64_t counts[WEFT_TENSOR_MAX_DTYPES] = {0};
    const char *names[WEFT_TENSOR_MAX_DTYPES] = {0};
    *total = 0;
    if (h->st) {
        uint64_t by[WEFT_DTYPE_COUNT] = {0};
        *total = weft_st_count_params(h->st, by);
        for (int d = 0; d < WEFT_DTYPE_COUNT && d < WEFT_TENSOR_MAX_DTYPES; d++) {
            counts[d] = by[d];
            names[d] = weft_dtype_name((weft_dtype)d);
        }
    } else if (h->gguf) {
        for (size_t i = 0; i < h->gguf->n_tensors; i++) {
            const weft_gguf_tensor *t = &h->gguf->tensors[i];
            const char *name = weft_gguf_type_name(t->type);
            if (!name || t->type >= WEFT_TENSOR_MAX_DTYPES)
                continue; /* the parser rejects unknown types; keep the bound explicit */
            counts[t->type] += t->numel;
            names[t->type] = name;
            *total += t->numel;
        }
    }
    size_t n = 0;
    for (size_t k = 0; k < WEFT_TENSOR_MAX_DTYPES; k++)
        if (counts[k] && names[k])
            out[n++] = (weft_tensor_param_count){names[k], counts[k]};
    return n;
}

void weft_tensor_param_sum_add(weft_tensor_param_sum *s, const weft_tensor_header *h)
{
    weft_tensor_param_count got[WEFT_TENSOR_MAX_DTYPES];
    uint64_t total;
    size_t n = weft_tensor_header_params(h, got, &total);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < s->n && strcmp(s->by[k].dtype, got[i].dtype) != 0)
            k++;
        if (k == s->n) /* at most WEFT_TENSOR_MAX_DTYPES names exist, so there is room */
            s->by[s->n++] = (weft_tensor_param_count){got[i].dtype, 0};
        s->by[k].count += got[i].count;
    }
    s->total += total;
}
