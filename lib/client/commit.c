/* Preupload and NDJSON commits (include/weft/client_commit.h; specs/hf-hub-api.md §8.2, §8.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "weft/base64.h"
#include "weft/client_commit.h"
#include "weft/fsutil.h"

/* Python's batch size (specs/hf-hub-api.md §8.2). */
#define PREUPLOAD_BATCH 256u
/* A commit body is held in memory; the Hub caps inline content at about 1 GB. */
#define COMMIT_BODY_CAP ((size_t)2 << 30)
/* Largest regular file read from disk into a commit. */
#define COMMIT_FILE_CAP ((size_t)1 << 30)

/* "/api/{T}s/{repo}/{what}/{escaped rev}" plus an optional query into `out` (caller frees). */
static int commit_api_url(char **out, const weft_client_repo *repo, const char *what,
                          const char *revision, int create_pr)
{
    *out = NULL;
    char api[512];
    int rc = weft_client_repo_api_path(api, sizeof api, repo);
    if (rc < 0)
        return rc;
    char *rev = NULL;
    rc = weft_client_url_escape(&rev, revision ? revision : "main", 0);
    if (rc < 0)
        return rc;
    size_t n = strlen(api) + strlen(what) + strlen(rev) + 32;
    char *u = malloc(n);
    if (!u) {
        free(rev);
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    snprintf(u, n, "%s/%s/%s%s", api, what, rev, create_pr ? "?create_pr=1" : "");
    free(rev);
    *out = u;
    return 0;
}

/* ---- preupload ------------------------------------------------------------------------------ */

static int preupload_batch(weft_client *c, const char *url, weft_client_preupload_file *files,
                           size_t n)
{
    int rc = 0;
    json_t *answer = NULL;
    json_t *list = json_array();
    json_t *body = json_pack("{s:o}", "files", list);
    if (!list || !body) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *sample = malloc(weft_base64_encoded_len(files[i].sample_len) + 1);
        if (!sample) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
        weft_base64_encode(sample, files[i].sample, files[i].sample_len);
        json_t *o = json_pack("{s:s,s:I,s:s}", "path", files[i].path, "size",
                              (json_int_t)files[i].size, "sample", sample);
        free(sample);
        if (!o || json_array_append_new(list, o) < 0) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = weft_client_json(c, &answer, "POST", url, body);
    if (rc < 0)
        goto out;
    json_t *got = json_object_get(answer, "files");
    if (!json_is_array(got)) {
        rc = weft_err_set(WEFT_EINVALID, "%s: the answer has no 'files' list", url);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *hit = NULL, *f;
        size_t k;
        json_array_foreach(got, k, f)
        {
            const char *p = json_string_value(json_object_get(f, "path"));
            if (p && strcmp(p, files[i].path) == 0) {
                hit = f;
                break;
            }
        }
        if (!hit) {
            rc = weft_err_set(WEFT_EINVALID, "%s: no answer for '%s'", url, files[i].path);
            goto out;
        }
        const char *mode = json_string_value(json_object_get(hit, "uploadMode"));
        files[i].lfs = mode && strcmp(mode, "lfs") == 0 && files[i].size > 0;
        files[i].should_ignore = json_is_true(json_object_get(hit, "shouldIgnore"));
        const char *oid = json_string_value(json_object_get(hit, "oid"));
        size_t olen = oid ? strlen(oid) : 0;
        files[i].has_oid = olen == 40 || olen == 64;
        files[i].oid[0] = '\0';
        if (files[i].has_oid)
            memcpy(files[i].oid, oid, olen + 1);
    }
out:
    json_decref(answer);
    json_decref(body);
    return rc;
}

int weft_client_preupload(weft_client *c, const weft_client_repo *repo, const char *revision,
                          int create_pr, weft_client_preupload_file *files, size_t n)
{
    char *url = NULL;
    int rc = commit_api_url(&url, repo, "preupload", revision, create_pr);
    for (size_t i = 0; rc == 0 && i < n; i += PREUPLOAD_BATCH)
        rc = preupload_batch(c, url, files + i, n - i < PREUPLOAD_BATCH ? n - i : PREUPLOAD_BATCH);
    free(url);
    return rc;
}

/* ---- commit --------------------------------------------------------------------------------- */

/* Appends `s` as a JSON string (quotes included). */
static int put_json_string(weft_buf *b, const char *s)
{
    json_t *j = json_string(s);
    if (!j)
        return weft_err_set(WEFT_EINVALID, "'%s' is not valid UTF-8", s);
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    int rc = weft_buf_append(b, text, strlen(text));
    free(text);
    return rc;
}

static int put_base64(weft_buf *b, const uint8_t *p, size_t n)
{
    size_t enc = weft_base64_encoded_len(n);
    int rc = weft_buf_reserve(b, enc + 1);
    if (rc < 0)
        return rc;
    weft_base64_encode((char *)b->data + b->len, p, n);
    b->len += enc;
    return 0;
}

static int put_header(weft_buf *b, const weft_client_commit *req)
{
    const char *summary = req->summary && req->summary[0] ? req->summary : NULL;
    char fallback[128];
    if (!summary) {
        int adds = 0, dels = 0;
        for (size_t i = 0; i < req->n_ops; i++) {
            int k = req->ops[i].kind;
            if (k == WEFT_COMMIT_OP_DELETE_FILE || k == WEFT_COMMIT_OP_DELETE_FOLDER)
                dels++;
            else
                adds++;
        }
        snprintf(fallback, sizeof fallback, "%s with weft",
                 adds && dels ? "Upload and delete files"
                 : dels       ? (dels == 1 ? "Delete 1 path" : "Delete paths")
                              : (adds == 1 ? "Upload 1 file" : "Upload files"));
        summary = fallback;
    }
    json_t *v = json_pack("{s:s,s:s}", "summary", summary, "description",
                          req->description ? req->description : "");
    if (!v)
        return weft_err_set(WEFT_EINVALID, "commit message is not valid UTF-8");
    if (req->parent_commit)
        json_object_set_new(v, "parentCommit", json_string(req->parent_commit));
    json_t *line = json_pack("{s:s,s:o}", "key", "header", "value", v);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!text)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    int rc = weft_buf_append(b, text, strlen(text));
    free(text);
    if (rc == 0)
        rc = weft_buf_append(b, "\n", 1);
    return rc;
}

static int put_op(weft_buf *b, const weft_client_commit_op *op)
{
    static const char *const keys[] = {NULL, "file", "lfsFile", "deletedFile", "deletedFolder"};
    if (op->kind < WEFT_COMMIT_OP_FILE || op->kind > WEFT_COMMIT_OP_DELETE_FOLDER || !op->path)
        return weft_err_set(WEFT_EINVALID, "commit: bad operation");
    int rc = weft_buf_printf(b, "{\"key\":\"%s\",\"value\":{\"path\":", keys[op->kind]);
    if (rc == 0)
        rc = put_json_string(b, op->path);
    if (rc < 0)
        return rc;
    if (op->kind == WEFT_COMMIT_OP_FILE) {
        weft_buf file;
        weft_buf_init(&file, COMMIT_FILE_CAP);
        const uint8_t *p = op->content;
        size_t n = op->content_len;
        if (!p && op->local) {
            rc = weft_fs_read_file(&file, op->local);
            p = file.data;
            n = file.len;
        }
        if (rc == 0)
            rc = weft_buf_append(b, ",\"content\":\"", 12);
        if (rc == 0)
            rc = put_base64(b, p ? p : (const uint8_t *)"", p ? n : 0);
        if (rc == 0)
            rc = weft_buf_append(b, "\",\"encoding\":\"base64\"", 21);
        weft_buf_dispose(&file);
    } else if (op->kind == WEFT_COMMIT_OP_LFS) {
        if (!op->sha256 || strlen(op->sha256) != 64)
            return weft_err_set(WEFT_EINVALID, "commit: '%s' needs a sha256", op->path);
        rc = weft_buf_printf(b, ",\"algo\":\"sha256\",\"oid\":\"%s\",\"size\":%llu", op->sha256,
                             (unsigned long long)op->size);
    }
    if (rc == 0)
        rc = weft_buf_append(b, "}}\n", 3);
    return rc;
}

void weft_client_commit_result_dispose(weft_client_commit_result *r)
{
    free(r->url);
    free(r->pr_url);
    memset(r, 0, sizeof *r);
}

static unsigned pr_number(const char *url)
{
    const char *slash = url ? strrchr(url, '/') : NULL;
    if (!slash || !slash[1])
        return 0;
    char *end = NULL;
    unsigned long v = strtoul(slash + 1, &end, 10);
    return end && *end == '\0' && v < 1000000000ul ? (unsigned)v : 0;
}

int weft_client_commit_create(weft_client_commit_result *out, weft_client *c,
                              const weft_client_repo *repo, const weft_client_commit *req)
{
    memset(out, 0, sizeof *out);
    char *url = NULL;
    json_t *answer = NULL;
    weft_buf body;
    weft_buf_init(&body, COMMIT_BODY_CAP);
    weft_client_resp resp;
    memset(&resp, 0, sizeof resp);
    int rc = commit_api_url(&url, repo, "commit", req->revision, req->create_pr);
    if (rc == 0)
        rc = put_header(&body, req);
    for (size_t i = 0; rc == 0 && i < req->n_ops; i++)
        rc = put_op(&body, &req->ops[i]);
    if (rc < 0)
        goto out;
    weft_client_req r;
    weft_client_req_init(&r, "POST", url);
    static const char *const accept[] = {"Accept: application/json", NULL};
    r.headers = accept;
    r.content_type = "application/x-ndjson";
    r.body = body.data;
    r.body_len = body.len;
    rc = weft_client_send(c, &resp, &r);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, "commit");
    if (rc < 0)
        goto out;
    json_error_t jerr;
    answer = json_loadb((const char *)resp.body.data, resp.body.len, 0, &jerr);
    const char *oid = json_string_value(json_object_get(answer, "commitOid"));
    const char *curl_ = json_string_value(json_object_get(answer, "commitUrl"));
    const char *pr = json_string_value(json_object_get(answer, "pullRequestUrl"));
    if (!oid || strlen(oid) != 40) {
        rc = weft_err_set(WEFT_EINVALID, "commit: the answer has no commitOid");
        goto out;
    }
    memcpy(out->oid, oid, 41);
    out->url = strdup(curl_ ? curl_ : "");
    out->pr_url = pr ? strdup(pr) : NULL;
    out->pr_num = pr_number(pr);
    if (!out->url || (pr && !out->pr_url))
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
out:
    json_decref(answer);
    weft_client_resp_dispose(&resp);
    weft_buf_dispose(&body);
    free(url);
    return rc;
}

/* ---- git blob ids --------------------------------------------------------------------------- */

int weft_git_blob_sha1_begin(weft_git_blob_sha1 *s, uint64_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        s->ctx = NULL;
        return weft_err_set(WEFT_ENOMEM, "sha1: cannot start a digest");
    }
    char head[32];
    int n = snprintf(head, sizeof head, "blob %llu", (unsigned long long)len);
    EVP_DigestUpdate(ctx, head, (size_t)n + 1); /* the NUL belongs to the header */
    s->ctx = ctx;
    return 0;
}

void weft_git_blob_sha1_update(weft_git_blob_sha1 *s, const void *p, size_t n)
{
    if (s->ctx && n)
        EVP_DigestUpdate(s->ctx, p, n);
}

void weft_git_blob_sha1_end(weft_git_blob_sha1 *s, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[20];
    unsigned int len = 0;
    out[0] = '\0';
    if (!s->ctx)
        return;
    EVP_DigestFinal_ex(s->ctx, md, &len);
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
    for (unsigned i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}
