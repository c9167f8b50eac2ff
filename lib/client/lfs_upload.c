/* LFS uploads of large files (specs/hf-hub-api.md §8.3): the batch request, then basic PUTs or
 * multipart part PUTs streamed from the file (every part of every file is one job on the thread
 * pool), then the multipart completions and verify calls. Objects the batch answers without
 * actions are already on the server and are not sent again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "upload_internal.h"

#define LFS_BATCH_MAX 256u /* objects per batch request, as Python */
#define LFS_MAX_PARTS 100000u

static const char *const lfs_headers[] = {"Accept: application/vnd.git-lfs+json", NULL};

/* One PUT: a whole file (part 0) or part `part` (1-based) of a multipart upload. */
typedef struct lfs_job {
    size_t file;     /* index into u->files */
    size_t obj;      /* index into the object list */
    unsigned part;   /* 0: basic */
    const char *url; /* borrowed from the batch answer */
    uint64_t off, len;
    char *etag;        /* multipart: the part's ETag */
    uint64_t reported; /* bytes reported to the progress bar */
} lfs_job;

typedef struct lfs_obj {
    size_t file;
    json_t *actions;  /* borrowed from the answer */
    size_t first_job; /* its jobs are [first_job, first_job + n_jobs) */
    size_t n_jobs;
    int multipart;
} lfs_obj;

typedef struct lfs_run {
    weft_upload__ctx *u;
    lfs_job *jobs;
    size_t n_jobs;
    lfs_obj *objs;
    size_t n_objs;
} lfs_run;

typedef struct lfs_sent {
    lfs_job *job;
    weft_progress_bar *bar;
} lfs_sent;

static void lfs_sent_cb(uint64_t sent, void *payload)
{
    lfs_sent *s = payload;
    if (sent > s->job->reported) {
        weft_progress_advance(s->bar, sent - s->job->reported);
        s->job->reported = sent;
    }
}

static int lfs_put(size_t i, void *payload)
{
    lfs_run *r = payload;
    lfs_job *j = &r->jobs[i];
    weft_upload__file *f = &r->u->files[j->file];
    int fd = open(f->local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", f->local);
    lfs_sent sent = {.job = j, .bar = f->bar};
    weft_client_req req;
    weft_client_req_init(&req, "PUT", j->url);
    req.body_fd = fd;
    req.body_fd_offset = j->off;
    req.body_len = (size_t)j->len;
    req.content_type = "application/octet-stream";
    req.on_sent = lfs_sent_cb;
    req.sent_payload = &sent;
    weft_client_resp resp;
    int rc = weft_client_send(r->u->c, &resp, &req);
    close(fd);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, f->path);
    if (rc == 0 && j->part > 0) {
        const char *etag = weft_client_resp_header(&resp, "ETag");
        if (!etag || !etag[0])
            rc = weft_err_set(WEFT_EINVALID, "%s: part %u: the server sent no ETag", f->path,
                              j->part);
        else if (!(j->etag = strdup(etag)))
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        atomic_fetch_add(&r->u->bytes_sent, j->len);
        if (j->len > j->reported)
            weft_progress_advance(f->bar, j->len - j->reported);
        j->reported = j->len;
    }
    weft_client_resp_dispose(&resp);
    return rc;
}

/* Multipart completion and verify, per object. */
static int lfs_finish_obj(size_t i, void *payload)
{
    lfs_run *r = payload;
    lfs_obj *o = &r->objs[i];
    weft_upload__file *f = &r->u->files[o->file];
    int rc = 0;
    json_t *upload = json_object_get(o->actions, "upload");
    if (o->multipart) {
        json_t *parts = json_array();
        json_t *body = json_pack("{s:s,s:o}", "oid", f->sha256_hex, "parts", parts);
        for (size_t k = 0; body && k < o->n_jobs; k++) {
            lfs_job *j = &r->jobs[o->first_job + k];
            json_array_append_new(
                parts, json_pack("{s:I,s:s}", "partNumber", (json_int_t)j->part, "etag", j->etag));
        }
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!text)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        weft_client_req req;
        weft_client_req_init(&req, "POST", json_string_value(json_object_get(upload, "href")));
        req.headers = lfs_headers;
        req.content_type = "application/vnd.git-lfs+json";
        req.body = text;
        req.body_len = strlen(text);
        weft_client_resp resp;
        rc = weft_client_send(r->u->c, &resp, &req);
        if (rc == 0)
            rc = weft_client_resp_check(&resp, f->path);
        weft_client_resp_dispose(&resp);
        free(text);
    }
    json_t *verify = json_object_get(o->actions, "verify");
    const char *vhref = json_string_value(json_object_get(verify, "href"));
    if (rc == 0 && vhref) {
        json_t *body = json_pack("{s:s,s:I}", "oid", f->sha256_hex, "size", (json_int_t)f->size);
        rc = body ? weft_client_json(r->u->c, NULL, "POST", vhref, body)
                  : weft_err_set(WEFT_ENOMEM, "out of memory");
        json_decref(body);
    }
    weft_progress_finish(f->bar, rc == 0 ? NULL : "failed");
    return rc;
}

/* Adds the jobs of one object of the answer. */
static int lfs_plan(lfs_run *r, size_t file, json_t *actions)
{
    weft_upload__file *f = &r->u->files[file];
    json_t *upload = json_object_get(actions, "upload");
    const char *href = json_string_value(json_object_get(upload, "href"));
    if (!href)
        return weft_err_set(WEFT_EINVALID, "%s: the LFS batch answer has no upload href", f->path);
    json_t *hdr = json_object_get(upload, "header");
    const char *cs = json_string_value(json_object_get(hdr, "chunk_size"));
    lfs_obj *o = &r->objs[r->n_objs++];
    o->file = file;
    o->actions = actions;
    o->first_job = r->n_jobs;
    o->multipart = cs != NULL;
    if (!cs) {
        r->jobs[r->n_jobs++] = (lfs_job){.file = file, .url = href, .off = 0, .len = f->size};
        o->n_jobs = 1;
        return 0;
    }
    char *end = NULL;
    unsigned long long chunk = strtoull(cs, &end, 10);
    if (!end || *end || chunk == 0)
        return weft_err_set(WEFT_EINVALID, "%s: bad chunk_size '%s'", f->path, cs);
    uint64_t n_parts = (f->size + chunk - 1) / chunk;
    if (n_parts == 0 || n_parts > LFS_MAX_PARTS || json_object_size(hdr) < n_parts + 1)
        return weft_err_set(WEFT_EINVALID, "%s: the LFS answer lists too few parts", f->path);
    lfs_job *grown = realloc(r->jobs, (r->n_jobs + n_parts + r->u->n_files) * sizeof *grown);
    if (!grown)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    r->jobs = grown;
    for (uint64_t p = 1; p <= n_parts; p++) {
        char key[16];
        snprintf(key, sizeof key, "%05llu", (unsigned long long)p);
        const char *url = json_string_value(json_object_get(hdr, key));
        if (!url)
            return weft_err_set(WEFT_EINVALID, "%s: the LFS answer lacks part %s", f->path, key);
        uint64_t off = (p - 1) * chunk;
        uint64_t len = f->size - off < chunk ? f->size - off : chunk;
        r->jobs[r->n_jobs++] =
            (lfs_job){.file = file, .part = (unsigned)p, .url = url, .off = off, .len = len};
    }
    o->n_jobs = (size_t)n_parts;
    return 0;
}

static int lfs_sha(size_t i, void *payload)
{
    lfs_run *r = payload;
    return weft_upload__sha256(&r->u->files[r->objs[i].file], 0);
}

int weft_upload__lfs(weft_upload__ctx *u, const size_t *idx, size_t n)
{
    lfs_run r = {.u = u};
    json_t *answers = json_array();
    r.objs = calloc(n ? n : 1, sizeof *r.objs);
    r.jobs = calloc(n ? n : 1, sizeof *r.jobs);
    int rc = r.objs && r.jobs && answers ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc < 0)
        goto out;
    /* SHA-256 of every file first (the batch names objects by it), reusing objs for indices. */
    for (size_t i = 0; i < n; i++)
        r.objs[i].file = idx[i];
    r.n_objs = n;
    rc = weft_upload__parallel(u->threads, n, lfs_sha, &r);
    if (rc < 0)
        goto out;
    r.n_objs = 0;
    for (size_t i = 0; i < n; i++) {
        weft_upload__file *f = &u->files[idx[i]];
        if (f->has_oid && strcmp(f->remote_oid, f->sha256_hex) == 0) {
            f->unchanged = 1;
            weft_progress_finish(f->bar, "unchanged");
        }
    }

    char url[600];
    snprintf(url, sizeof url, "/%s%s.git/info/lfs/objects/batch", weft_client_repo_prefix(u->repo),
             u->repo->id);
    for (size_t start = 0; start < n; start += LFS_BATCH_MAX) {
        size_t end = start + LFS_BATCH_MAX < n ? start + LFS_BATCH_MAX : n;
        json_t *objects = json_array();
        json_t *body = json_pack("{s:s,s:[s,s],s:s,s:o}", "operation", "upload", "transfers",
                                 "basic", "multipart", "hash_algo", "sha256", "objects", objects);
        if (!body) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
        if (!u->o->create_pr)
            json_object_set_new(
                body, "ref", json_pack("{s:s}", "name", u->o->revision ? u->o->revision : "main"));
        size_t asked = 0;
        for (size_t i = start; i < end; i++) {
            weft_upload__file *f = &u->files[idx[i]];
            if (f->unchanged)
                continue;
            json_array_append_new(
                objects, json_pack("{s:s,s:I}", "oid", f->sha256_hex, "size", (json_int_t)f->size));
            asked++;
        }
        json_t *answer = NULL;
        char *text = asked ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!asked)
            continue;
        weft_client_req req;
        weft_client_req_init(&req, "POST", url);
        req.headers = lfs_headers;
        req.content_type = "application/vnd.git-lfs+json";
        req.body = text;
        req.body_len = text ? strlen(text) : 0;
        weft_client_resp resp;
        rc = text ? weft_client_send(u->c, &resp, &req) : weft_err_set(WEFT_ENOMEM, "oom");
        if (text && rc == 0)
            rc = weft_client_resp_check(&resp, "LFS batch");
        if (text && rc == 0) {
            json_error_t jerr;
            answer = json_loadb((const char *)resp.body.data, resp.body.len, 0, &jerr);
            if (!answer)
                rc = weft_err_set(WEFT_EINVALID, "LFS batch: the answer is not JSON");
        }
        if (text)
            weft_client_resp_dispose(&resp);
        free(text);
        if (rc < 0)
            goto out;
        json_array_append_new(answers, answer);
        json_t *objs = json_object_get(answer, "objects");
        for (size_t i = start; i < end; i++) {
            weft_upload__file *f = &u->files[idx[i]];
            if (f->unchanged)
                continue;
            json_t *o, *hit = NULL;
            size_t k;
            json_array_foreach(objs, k, o)
            {
                const char *oid = json_string_value(json_object_get(o, "oid"));
                if (oid && strcmp(oid, f->sha256_hex) == 0) {
                    hit = o;
                    break;
                }
            }
            json_t *err = json_object_get(hit, "error");
            if (!hit || err) {
                rc = weft_err_set(WEFT_EINVALID, "%s: LFS batch: %s", f->path,
                                  err ? json_string_value(json_object_get(err, "message"))
                                      : "no answer for the object");
                goto out;
            }
            json_t *actions = json_object_get(hit, "actions");
            if (!json_object_get(actions, "upload")) {
                weft_progress_set(f->bar, f->size);
                weft_progress_finish(f->bar, "already on the server");
                continue;
            }
            rc = lfs_plan(&r, idx[i], actions);
            if (rc < 0)
                goto out;
        }
    }
    rc = weft_upload__parallel(u->threads, r.n_jobs, lfs_put, &r);
    if (rc == 0)
        rc = weft_upload__parallel(u->threads, r.n_objs, lfs_finish_obj, &r);
out:
    for (size_t i = 0; r.jobs && i < r.n_jobs; i++)
        free(r.jobs[i].etag);
    free(r.jobs);
    free(r.objs);
    json_decref(answers);
    return rc;
}
