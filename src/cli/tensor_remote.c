/* Remote tensor-file headers over Range requests (src/cli/tensor_remote.h). */
#include "tensor_remote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prefix of a remote file read so far: bytes [0, len) of it. */
typedef struct remote_file {
    weft_client *c;
    char *url;
    weft_buf prefix;
    uint64_t size;
    uint64_t received; /* body bytes received over the network */
} remote_file;

/* The total size from "bytes A-B/SIZE"; 0 when absent or malformed. */
static int content_range_size(const char *v, uint64_t *size)
{
    const char *slash = v ? strrchr(v, '/') : NULL;
    if (!slash || !slash[1] || slash[1] == '*')
        return 0;
    uint64_t n = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *size = n;
    return 1;
}

/* Appends bytes [f->prefix.len, end) of the file to the prefix. The first call (empty prefix)
 * also learns the size: from Content-Range on a 206, from the body on a 200 (a server that
 * ignores Range sends the whole file, which is then all there is to read). */
static int remote_fetch(remote_file *f, uint64_t end)
{
    uint64_t start = f->prefix.len;
    weft_client_req req;
    weft_client_req_init(&req, "GET", f->url);
    req.has_range = 1;
    req.range_start = start;
    req.range_end = end - 1;
    req.follow_redirects = 1;
    req.timeout_seconds = 120;
    req.body_cap = (size_t)(end - start) + 1;
    weft_client_resp resp;
    int rc = weft_client_send(f->c, &resp, &req);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, f->url);
    if (rc == 0) {
        f->received += resp.bytes_received;
        if (resp.status == 206) {
            uint64_t size;
            if (start == 0 && !content_range_size(weft_client_resp_header(&resp, "Content-Range"),
                                                  &size))
                rc = weft_err_set(WEFT_ENETWORK, "%s: a 206 answer without Content-Range", f->url);
            else if (start == 0)
                f->size = size;
            if (rc == 0 && resp.body.len != end - start && start + resp.body.len != f->size)
                rc = weft_err_set(WEFT_ENETWORK, "%s: asked for %" PRIu64 " bytes, got %zu",
                                  f->url, end - start, resp.body.len);
            if (rc == 0)
                rc = weft_buf_append(&f->prefix, resp.body.data, resp.body.len);
        } else if (start == 0) {
            f->size = resp.body.len; /* Range ignored: the whole file came */
            rc = weft_buf_append(&f->prefix, resp.body.data, resp.body.len);
        } else {
            rc = weft_err_set(WEFT_ENETWORK, "%s: Range not honoured (status %ld)", f->url,
                              resp.status);
        }
    }
    weft_client_resp_dispose(&resp);
    return rc;
}

static int remote_read(void *dst, size_t len, uint64_t offset, void *payload)
{
    remote_file *f = payload;
    if (offset > f->size || len > f->size - offset)
        return weft_err_set(WEFT_ECORRUPT, "read past the end of the file");
    if (offset + len > f->prefix.len) {
        int rc = remote_fetch(f, offset + len);
        if (rc)
            return rc;
        if (offset + len > f->prefix.len)
            return weft_err_set(WEFT_ENETWORK, "%s: the file is shorter than announced", f->url);
    }
    memcpy(dst, f->prefix.data + offset, len);
    return 0;
}

int cli_remote_tensor_header(weft_tensor_header *out, weft_client *c, const weft_client_repo *repo,
                             const char *rev, const char *path)
{
    memset(out, 0, sizeof *out);
    remote_file f = {.c = c};
    /* bound: the longest header either parser accepts (GGUF's is the larger) */
    weft_buf_init(&f.prefix, (size_t)WEFT_GGUF_MAX_HEADER_LEN + 8);
    char *erev = NULL, *epath = NULL;
    int rc = weft_client_url_escape(&erev, rev, 0);
    if (rc == 0)
        rc = weft_client_url_escape(&epath, path, 1);
    if (rc == 0) {
        size_t cap = strlen(repo->id) + strlen(erev) + strlen(epath) + 32;
        f.url = malloc(cap);
        if (!f.url)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        else
            snprintf(f.url, cap, "/%s%s/resolve/%s/%s", weft_client_repo_prefix(repo), repo->id,
                     erev, epath);
    }
    if (rc == 0)
        rc = remote_fetch(&f, CLI_REMOTE_FIRST_READ);
    if (rc == 0)
        rc = weft_tensor_header_read(out, f.size, path, remote_read, &f);
    out->bytes_read = f.received;
    free(erev);
    free(epath);
    free(f.url);
    weft_buf_dispose(&f.prefix);
    return rc;
}
