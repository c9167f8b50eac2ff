/* Uploads, the git side: preupload (which files go to LFS) and the NDJSON commit
 * (specs/hf-hub-api.md §8.2, §8.4). LFS contents reach the store through lfs.c (or Xet) before
 * the commit names them; a commit naming an oid the store lacks is refused. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/hub.h"
#include "server/optimize.h"
#include "weft/base64.h"
#include "weft/commit_request.h"
#include "weft/sha256.h"

#define LFS_THRESHOLD ((uint64_t)10 << 20)
#define GITATTR_MAX ((size_t)1 << 20)

/* ---- .gitattributes / .gitignore matching -----------------------------------------------------
 */

/* git-style pattern test: a pattern without '/' matches the basename anywhere; with one, the
 * whole path from the root ('*' may cross '/', which covers rules like saved_model/ with a double
 * star). */
static int pattern_match(const char *pat, const char *path)
{
    while (*pat == '/')
        pat++;
    if (!strchr(pat, '/')) {
        const char *base = strrchr(path, '/');
        return fnmatch(pat, base ? base + 1 : path, 0) == 0;
    }
    return fnmatch(pat, path, 0) == 0;
}

/* The next blank-separated word of *p (NUL-terminated in place), or NULL. */
static char *next_word(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    if (!*s)
        return NULL;
    char *w = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '\r')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}

/* 1 if a line of attrs (".gitattributes" text) gives path filter=lfs (last match wins). */
static int attrs_say_lfs(const char *attrs, const char *path)
{
    int lfs = 0;
    const char *p = attrs;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[1024];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            char *cur = line;
            char *pat = next_word(&cur);
            if (pat && pat[0] != '#' && pattern_match(pat, path)) {
                for (char *a = next_word(&cur); a; a = next_word(&cur)) {
                    if (strcmp(a, "filter=lfs") == 0)
                        lfs = 1;
                    else if (strcmp(a, "-filter") == 0 || strcmp(a, "!filter") == 0)
                        lfs = 0;
                }
            }
        }
        p = e ? e + 1 : NULL;
    }
    return lfs;
}

static int ignored(const char *gitignore, const char *path)
{
    int ign = 0;
    const char *p = gitignore;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[1024];
        if (len > 0 && len < sizeof line && p[0] != '#') {
            memcpy(line, p, len);
            line[len] = '\0';
            while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
                line[--len] = '\0';
            int neg = line[0] == '!';
            if (len > (size_t)neg && pattern_match(line + neg, path))
                ign = !neg;
        }
        p = e ? e + 1 : NULL;
    }
    return ign;
}

static char *read_text_file(weft_repo *git, const weft_oid *commit, const char *path)
{
    weft_repo_entry e;
    uint8_t *data = NULL;
    size_t len = 0;
    if (weft_repo_stat(git, commit, path, &e) < 0 || e.is_dir || e.is_lfs ||
        weft_repo_blob_read(git, &e.oid, GITATTR_MAX, &data, &len) < 0)
        return NULL;
    return (char *)data;
}

/* ---- preupload ------------------------------------------------------------------------------- */

static int sample_is_binary(const char *b64)
{
    if (!b64)
        return 0;
    size_t n = strlen(b64);
    if (n > 4096)
        n = 4096 & ~(size_t)3;
    uint8_t buf[4096];
    size_t len = 0;
    if (weft_base64_decode(buf, sizeof buf, &len, b64, n - n % 4) < 0)
        return 0;
    return memchr(buf, 0, len) != NULL;
}

void hf_preupload(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    json_t *body = hub_json_body(req);
    if (!body)
        return;
    json_t *files = json_object_get(body, "files");
    if (!json_is_array(files)) {
        json_decref(body);
        weft_http_respond_error(req, 400, NULL, "'files' must be an array");
        return;
    }
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0) {
        json_decref(body);
        return;
    }
    weft_oid commit;
    int have_rev = weft_repo_resolve(r.git, rt->rev ? rt->rev : "HEAD", &commit, NULL, 0) == 0;
    if (!have_rev && weft_repo_resolve(r.git, "HEAD", &commit, NULL, 0) < 0) {
        json_decref(body);
        hub_repo_close(&r);
        hub_respond_rc(req, WEFT_EIO);
        return;
    }
    const char *attrs_body = json_string_value(json_object_get(body, "gitAttributes"));
    char *attrs_repo = attrs_body ? NULL : read_text_file(r.git, &commit, ".gitattributes");
    const char *attrs = attrs_body ? attrs_body : attrs_repo;
    const char *gitignore = json_string_value(json_object_get(body, "gitIgnore"));
    char *ignore_repo = gitignore ? NULL : read_text_file(r.git, &commit, ".gitignore");
    if (!gitignore)
        gitignore = ignore_repo;
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "path"));
        json_t *sz = json_object_get(f, "size");
        if (!path || !weft_repo_path_valid(path)) {
            json_decref(out);
            out = NULL;
            weft_http_respond_error(req, 400, NULL, "invalid path '%s'", path ? path : "(none)");
            break;
        }
        uint64_t size = json_is_integer(sz) ? (uint64_t)json_integer_value(sz) : 0;
        int lfs = !rt->h->regular_only && size > 0 &&
                  (size >= LFS_THRESHOLD ||
                   sample_is_binary(json_string_value(json_object_get(f, "sample"))) ||
                   (attrs && attrs_say_lfs(attrs, path)));
        json_t *o = json_pack("{s:s,s:s,s:b}", "path", path, "uploadMode", lfs ? "lfs" : "regular",
                              "shouldIgnore", gitignore && ignored(gitignore, path));
        weft_repo_entry e;
        if (have_rev && weft_repo_stat(r.git, &commit, path, &e) == 0 && !e.is_dir) {
            char oid[65];
            if (e.is_lfs)
                weft_hex_encode(oid, e.lfs_sha256, 32);
            else
                weft_oid_to_hex(oid, &e.oid);
            if ((e.is_lfs != 0) == (lfs != 0))
                json_object_set_new(o, "oid", json_string(oid));
        }
        json_array_append_new(out, o);
    }
    free(attrs_repo);
    free(ignore_repo);
    hub_repo_close(&r);
    json_decref(body);
    if (out)
        weft_http_respond_json(req, 200, json_pack("{s:o}", "files", out));
}

/* ---- commit ---------------------------------------------------------------------------------- */

/* Parses the NDJSON body and checks every lfsFile against the store; answers the error itself and
 * returns -1 on bad input. */
static int parse_commit(weft_http_req *req, hub *h, weft_commit_request *p)
{
    size_t len = 0;
    const char *body = (const char *)weft_http_req_body(req, &len);
    int rc = weft_commit_request_parse(p, body, len);
    if (rc < 0) {
        weft_http_respond_error(req,
                                rc == WEFT_ELIMIT     ? 413
                                : rc == WEFT_EINVALID ? 400
                                                      : 500,
                                NULL, "%s", weft_err_last());
        return -1;
    }
    weft_store *st = NULL;
    for (size_t i = 0; i < p->n_ops; i++) {
        weft_repo_op *op = &p->ops[i];
        if (op->kind != WEFT_REPO_OP_LFS)
            continue;
        if (!st && !(st = hub_store(h))) {
            hub_respond_rc(req, WEFT_EIO);
            return -1;
        }
        char oid[65];
        weft_hex_encode(oid, op->sha256, 32);
        weft_store_file f;
        if (weft_store_lookup(st, oid, &f) < 0) {
            weft_http_respond_error(req, 422, NULL,
                                    "%s: LFS object %s was not uploaded (upload it through the "
                                    "LFS batch API or Xet before committing)",
                                    op->path, oid);
            return -1;
        }
        if (p->lfs_size_given[i] && op->size != f.size) {
            weft_http_respond_error(
                req, 422, NULL, "%s: size %llu does not match the uploaded object (%llu)", op->path,
                (unsigned long long)op->size, (unsigned long long)f.size);
            return -1;
        }
        op->size = f.size; /* Python's copies send no size: the store knows it */
    }
    return 0;
}

/* The branch or PR ref a commit goes to; answers the error itself. */
static int commit_target(weft_http_req *req, hub_repo *r, const char *rev, weft_oid *head,
                         char *ref, size_t cap)
{
    if (hub_resolve_rev(req, r, rev, head, ref, cap) < 0)
        return -1;
    if (strncmp(ref, "refs/heads/", 11) != 0 && strncmp(ref, "refs/pr/", 8) != 0) {
        weft_http_respond_error(req, 400, NULL,
                                "can only commit to a branch or a pull request, not '%s'", rev);
        return -1;
    }
    return 0;
}

void hf_commit(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    hub *h = rt->h;
    hub_repo r;
    if (hub_repo_open(h, req, rt->type, rt->ns, rt->name, HUB_WRITE, &r) < 0)
        return;
    weft_commit_request p = {0};
    weft_oid head, parent, out;
    char ref[256] = "";
    int create_pr = weft_http_req_query_bool(req, "create_pr", 0);
    unsigned pr_num = 0;
    if (parse_commit(req, h, &p) < 0 ||
        commit_target(req, &r, rt->rev ? rt->rev : "HEAD", &head, ref, sizeof ref) < 0)
        goto out;
    parent = head;
    if (p.parent) {
        if (weft_repo_resolve(r.git, p.parent, &parent, NULL, 0) < 0) {
            weft_http_respond_error(req, 400, NULL, "parentCommit '%s' is not a commit here",
                                    p.parent);
            goto out;
        }
    }
    if (create_pr) {
        int rc = weft_repo_pr_create(r.git, &parent, &pr_num);
        if (rc < 0) {
            hub_respond_rc(req, rc);
            goto out;
        }
        snprintf(ref, sizeof ref, "refs/pr/%u", pr_num);
    }
    weft_repo_commit_req cr = {
        .ref = ref,
        .parent = &parent,
        .ops = p.ops,
        .n_ops = p.n_ops,
        .author = r.caller.token.user,
        .email = "",
        .summary = p.summary && *p.summary ? p.summary : "Upload files with weft",
        .description = p.description,
        .time = hub_now_ms() / 1000,
    };
    char email[WEFT_NAME_MAX + 32];
    snprintf(email, sizeof email, "%s@users.weft", r.caller.token.user);
    cr.email = email;
    int rc = weft_repo_commit_create(r.git, &cr, &out);
    /* Without a parentCommit the client asked for "on top of whatever is there": a concurrent
     * commit that moved the branch is not a conflict, so build again on the new head. */
    for (int tries = 0; rc == WEFT_ECONFLICT && !p.parent && !create_pr && tries < 50; tries++) {
        if (weft_repo_resolve(r.git, ref, &parent, NULL, 0) < 0)
            break;
        rc = weft_repo_commit_create(r.git, &cr, &out);
    }
    if (rc == WEFT_ECONFLICT) {
        weft_http_respond_error(req, 412, NULL,
                                "A commit has happened since. Please refresh and try again.");
        goto out;
    }
    if (rc == WEFT_ENOTFOUND) {
        weft_http_respond_error(req, 404, "EntryNotFound",
                                "%s (A file with this name doesn't exist)", weft_err_last());
        goto out;
    }
    if (rc < 0) {
        hub_respond_rc(req, rc);
        goto out;
    }
    char def[256];
    if (weft_repo_default_branch(r.git, def, sizeof def) == 0 &&
        strncmp(ref, "refs/heads/", 11) == 0 && strcmp(ref + 11, def) == 0) {
        json_t *card = hub_card_json(r.git, &out);
        char *cj = json_dumps(card, JSON_COMPACT);
        hub_warn_rc(weft_meta_repo_touch(hub_meta(h), rt->type, rt->ns, rt->name, hub_now_ms(), cj),
                    "caching the model card");
        free(cj);
        json_decref(card);
    } else {
        hub_warn_rc(
            weft_meta_repo_touch(hub_meta(h), rt->type, rt->ns, rt->name, hub_now_ms(), NULL),
            "caching the model card");
    }
    /* New weight files: the background optimizer codes them later (never waited for here). */
    for (size_t i = 0; rt->type == WEFT_REPO_MODEL && i < p.n_ops; i++) {
        if (p.ops[i].kind == WEFT_REPO_OP_LFS && hub_optimizer_wants(p.ops[i].path)) {
            hub_optimizer_enqueue(h->optimizer, rt->ns, rt->name);
            break;
        }
    }
    char oid[41], url[1200], base[1024];
    weft_oid_to_hex(oid, &out);
    hub_repo_url(req, base, sizeof base, rt->type, rt->ns, rt->name);
    snprintf(url, sizeof url, "%s/commit/%s", base, oid);
    json_t *resp = json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "commitOid", oid, "commitUrl", url,
                             "hookOutput", "");
    if (create_pr) {
        char pr[1200];
        snprintf(pr, sizeof pr, "%s/discussions/%u", base, pr_num);
        json_object_set_new(resp, "pullRequestUrl", json_string(pr));
    }
    weft_http_respond_json(req, 200, resp);
out:
    weft_commit_request_dispose(&p);
    hub_repo_close(&r);
}
