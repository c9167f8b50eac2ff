/* The NDJSON commit payload (include/weft/commit_request.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weft/base64.h"
#include "weft/commit_request.h"
#include "weft/sha256.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int is_hex(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return 0;
    return 1;
}

/* Fills op from one non-header line; line_no for messages. */
static int parse_op(weft_commit_request *r, const char *key, json_t *val, size_t line_no)
{
    const char *path = json_string_value(json_object_get(val, "path"));
    if (!path)
        return weft_err_set(WEFT_EINVALID, "commit line %zu: 'path' is required", line_no);
    weft_repo_op *op = &r->ops[r->n_ops];
    int dir_delete = strcmp(key, "deletedFolder") == 0;
    if (dir_delete) {
        size_t pl = strlen(path);
        char *trimmed = strdup(path);
        if (!trimmed)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        while (pl > 0 && trimmed[pl - 1] == '/')
            trimmed[--pl] = '\0';
        int ok = pl > 0 && weft_repo_path_valid(trimmed);
        free(trimmed);
        if (!ok)
            return weft_err_set(WEFT_EINVALID, "commit line %zu: invalid folder path '%s'", line_no,
                                path);
    } else if (!weft_repo_path_valid(path)) {
        return weft_err_set(WEFT_EINVALID, "commit line %zu: invalid path '%s'", line_no, path);
    }
    if (strcmp(key, "file") == 0) {
        json_t *content = json_object_get(val, "content");
        const char *enc = json_string_value(json_object_get(val, "encoding"));
        if (!json_is_string(content) || (enc && strcmp(enc, "base64") != 0))
            return weft_err_set(WEFT_EINVALID, "commit line %zu: %s: content must be base64",
                                line_no, path);
        size_t cl = json_string_length(content);
        size_t cap = weft_base64_decoded_max(cl);
        uint8_t *data = malloc(cap + 1);
        if (!data)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        size_t dl = 0;
        if (weft_base64_decode(data, cap, &dl, json_string_value(content), cl) < 0) {
            free(data);
            return weft_err_set(WEFT_EINVALID, "commit line %zu: %s: bad base64 content", line_no,
                                path);
        }
        op->kind = WEFT_REPO_OP_FILE;
        op->data = data;
        op->len = dl;
    } else if (strcmp(key, "lfsFile") == 0) {
        const char *oid = json_string_value(json_object_get(val, "oid"));
        const char *algo = json_string_value(json_object_get(val, "algo"));
        json_t *size = json_object_get(val, "size");
        if (!oid || strlen(oid) != 64 || (algo && strcmp(algo, "sha256") != 0) ||
            weft_hex_decode(op->sha256, 32, oid, 64) < 0)
            return weft_err_set(WEFT_EINVALID,
                                "commit line %zu: %s: lfsFile needs a sha256 oid of 64 hex digits",
                                line_no, path);
        if (size && (!json_is_integer(size) || json_integer_value(size) < 0))
            return weft_err_set(WEFT_EINVALID,
                                "commit line %zu: %s: size must be a non-negative integer", line_no,
                                path);
        op->kind = WEFT_REPO_OP_LFS;
        op->size = size ? (uint64_t)json_integer_value(size) : 0;
        r->lfs_size_given[r->n_ops] = size != NULL;
    } else if (strcmp(key, "deletedFile") == 0) {
        op->kind = WEFT_REPO_OP_DELETE_FILE;
    } else if (dir_delete) {
        op->kind = WEFT_REPO_OP_DELETE_DIR;
    } else {
        return weft_err_set(WEFT_EINVALID, "commit line %zu: unknown key '%s'", line_no, key);
    }
    op->path = strdup(path);
    if (!op->path) {
        if (op->kind == WEFT_REPO_OP_FILE)
            free((void *)op->data);
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    r->n_ops++;
    return 0;
}

static int parse_header(weft_commit_request *r, json_t *val, size_t line_no)
{
    json_t *summary = json_object_get(val, "summary");
    json_t *desc = json_object_get(val, "description");
    json_t *parent = json_object_get(val, "parentCommit");
    if ((summary && !json_is_string(summary)) ||
        (desc && !json_is_string(desc) && !json_is_null(desc)))
        return weft_err_set(WEFT_EINVALID, "commit line %zu: summary and description are strings",
                            line_no);
    if (parent && !json_is_null(parent)) {
        const char *p = json_string_value(parent);
        if (!p || strlen(p) < 5 || strlen(p) > 40 || !is_hex(p))
            return weft_err_set(
                WEFT_EINVALID, "commit line %zu: parentCommit must be 5 to 40 hex digits", line_no);
        r->parent = strdup(p);
        if (!r->parent)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    r->summary = dup_or_null(json_string_value(summary));
    r->description = dup_or_null(json_string_value(desc));
    return 0;
}

int weft_commit_request_parse(weft_commit_request *out, const char *body, size_t len)
{
    memset(out, 0, sizeof *out);
    weft_commit_request r = {0};
    size_t cap = 16, line_no = 0;
    int rc = 0, have_header = 0;
    const char *end = body + len;
    r.ops = calloc(cap, sizeof *r.ops);
    r.lfs_size_given = calloc(cap, sizeof *r.lfs_size_given);
    if (!r.ops || !r.lfs_size_given) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    const char *s = body;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            e = end;
        size_t ll = (size_t)(e - s);
        line_no++;
        if (ll > 0 && s[ll - 1] == '\r')
            ll--;
        if (ll == 0) {
            s = e < end ? e + 1 : end;
            continue;
        }
        json_error_t jerr;
        json_t *v = json_loadb(s, ll, JSON_REJECT_DUPLICATES, &jerr);
        const char *key = json_string_value(json_object_get(v, "key"));
        json_t *val = json_object_get(v, "value");
        if (!json_is_object(v) || !key || !json_is_object(val)) {
            rc = weft_err_set(WEFT_EINVALID, "commit line %zu: expected {\"key\", \"value\"}%s%s",
                              line_no, v ? "" : ": ", v ? "" : jerr.text);
        } else if (strcmp(key, "header") == 0) {
            rc = r.n_ops > 0 || have_header
                     ? weft_err_set(WEFT_EINVALID,
                                    "commit line %zu: one header only, before any operation",
                                    line_no)
                     : parse_header(&r, val, line_no);
            have_header = 1;
        } else if (r.n_ops >= WEFT_COMMIT_MAX_OPS) {
            rc = weft_err_set(WEFT_ELIMIT, "more than %d operations in one commit",
                              WEFT_COMMIT_MAX_OPS);
        } else {
            if (r.n_ops == cap) {
                size_t ncap = cap * 2;
                weft_repo_op *ops = realloc(r.ops, ncap * sizeof *ops);
                if (ops)
                    r.ops = ops;
                int *given = realloc(r.lfs_size_given, ncap * sizeof *given);
                if (given)
                    r.lfs_size_given = given;
                if (!ops || !given) {
                    json_decref(v);
                    rc = weft_err_set(WEFT_ENOMEM, "out of memory");
                    goto out;
                }
                memset(r.ops + cap, 0, (ncap - cap) * sizeof *r.ops);
                memset(r.lfs_size_given + cap, 0, (ncap - cap) * sizeof *r.lfs_size_given);
                cap = ncap;
            }
            rc = parse_op(&r, key, val, line_no);
        }
        json_decref(v);
        if (rc < 0)
            goto out;
        s = e < end ? e + 1 : end;
    }
    *out = r;
    return 0;
out:
    weft_commit_request_dispose(&r);
    return rc;
}

void weft_commit_request_dispose(weft_commit_request *r)
{
    for (size_t i = 0; i < r->n_ops; i++) {
        free((void *)r->ops[i].path);
        if (r->ops[i].kind == WEFT_REPO_OP_FILE)
            free((void *)r->ops[i].data);
    }
    free(r->ops);
    free(r->lfs_size_given);
    free(r->summary);
    free(r->description);
    free(r->parent);
    memset(r, 0, sizeof *r);
}
