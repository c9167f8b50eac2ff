/* Trees and blobs at a commit: stat, list, blob reads (include/weft/repo.h, specs/hf-hub-api.md
 * §6). A blob small enough to be an LFS pointer is read and parsed, so entries report the real
 * file size and the LFS oid (§12: `oid` is the pointer blob's id, `lfs.oid` the content's
 * SHA-256). Gitlinks (submodule entries a pushed repo may hold) are not files: listing skips them
 * and stat reports them absent. */
#include <stdlib.h>

#include "repo_internal.h"

int weft_repo__entry_fill(weft_repo *r, weft_repo_entry *out, const char *path,
                          const git_tree_entry *te)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    weft_repo__oid_from_git(&out->oid, git_tree_entry_id(te));
    if (git_tree_entry_type(te) == GIT_OBJECT_TREE) {
        out->is_dir = 1;
        return 0;
    }
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    int rc = git_odb_read_header(&size, &type, r->odb, git_tree_entry_id(te));
    if (rc < 0)
        return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "repo: blob of %s", path);
    out->size = size;
    if (size > WEFT_LFS_POINTER_MAX)
        return 0;
    git_odb_object *obj = NULL;
    rc = git_odb_read(&obj, r->odb, git_tree_entry_id(te));
    if (rc < 0)
        return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "repo: blob of %s", path);
    uint64_t lfs_size = 0;
    if (weft_lfs_pointer_parse(git_odb_object_data(obj), git_odb_object_size(obj), out->lfs_sha256,
                               &lfs_size) == 0) {
        out->is_lfs = 1;
        out->size = lfs_size;
        out->pointer_size = (uint32_t)size;
    }
    git_odb_object_free(obj);
    return 0;
}

/* The root tree of commit. */
static int tree_root(git_tree **out, weft_repo *r, const weft_oid *commit)
{
    git_oid id;
    git_commit *c = NULL;
    weft_repo__oid_to_git(&id, commit);
    int rc = weft_repo__commit_lookup(&c, r, &id);
    if (rc < 0)
        return rc;
    rc = git_commit_tree(out, c);
    git_commit_free(c);
    if (rc < 0)
        return weft_repo__git_error(rc, "repo: tree of a commit");
    return 0;
}

int weft_repo_stat(weft_repo *r, const weft_oid *commit, const char *path, weft_repo_entry *out)
{
    git_tree *root = NULL;
    git_tree_entry *te = NULL;
    if (path == NULL || (path[0] != '\0' && !weft_repo_path_valid(path)))
        return weft_err_set(WEFT_EINVALID, "path %.200s: not a valid repo path",
                            path != NULL ? path : "(null)");
    int rc = tree_root(&root, r, commit);
    if (rc < 0)
        return rc;
    if (path[0] == '\0') {
        memset(out, 0, sizeof *out);
        out->path = path;
        out->is_dir = 1;
        weft_repo__oid_from_git(&out->oid, git_tree_id(root));
        goto out;
    }
    rc = git_tree_entry_bypath(&te, root, path);
    if (rc == GIT_ENOTFOUND || (rc == 0 && git_tree_entry_type(te) == GIT_OBJECT_COMMIT)) {
        rc = weft_err_set(WEFT_ENOTFOUND, "path %.200s: no such file or directory", path);
        goto out;
    }
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "path %.200s", path);
        goto out;
    }
    rc = weft_repo__entry_fill(r, out, path, te);
out:
    git_tree_entry_free(te);
    git_tree_free(root);
    return rc;
}

typedef struct tree_walk {
    weft_repo *r;
    int recursive;
    int (*cb)(const weft_repo_entry *e, void *payload);
    void *payload;
    char path[WEFT_REPO__PATH_MAX + 1];
} tree_walk;

/* Lists tree, whose path is w->path[0..len); depth first, each directory before its contents.
 * Recursion depth is bounded by the path cap (one level needs at least two bytes). */
static int tree_walk_dir(tree_walk *w, const git_tree *tree, size_t len)
{
    size_t count = git_tree_entrycount(tree);
    for (size_t i = 0; i < count; i++) {
        const git_tree_entry *te = git_tree_entry_byindex(tree, i);
        git_object_t type = git_tree_entry_type(te);
        if (type != GIT_OBJECT_TREE && type != GIT_OBJECT_BLOB)
            continue;
        const char *name = git_tree_entry_name(te);
        size_t nlen = strlen(name), sep = len > 0 ? 1 : 0;
        if (len + sep + nlen > WEFT_REPO__PATH_MAX)
            return weft_err_set(WEFT_ELIMIT, "path %.100s/%.100s...: longer than %d bytes", w->path,
                                name, WEFT_REPO__PATH_MAX);
        if (sep)
            w->path[len] = '/';
        memcpy(w->path + len + sep, name, nlen + 1);
        weft_repo_entry e;
        int rc = weft_repo__entry_fill(w->r, &e, w->path, te);
        if (rc < 0)
            return rc;
        rc = w->cb(&e, w->payload);
        if (rc != 0)
            return rc; /* any non-zero return stops the walk (the tree pager uses 1) */
        if (type == GIT_OBJECT_TREE && w->recursive) {
            git_tree *sub = NULL;
            rc = git_tree_lookup(&sub, git_tree_owner(tree), git_tree_entry_id(te));
            if (rc < 0)
                return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "tree %.200s", w->path);
            rc = tree_walk_dir(w, sub, len + sep + nlen);
            git_tree_free(sub);
            if (rc != 0)
                return rc;
        }
        w->path[len] = '\0';
    }
    return 0;
}

int weft_repo_list(weft_repo *r, const weft_oid *commit, const char *path, int recursive,
                   int (*cb)(const weft_repo_entry *e, void *payload), void *payload)
{
    git_tree *root = NULL, *dir = NULL;
    git_tree_entry *te = NULL;
    tree_walk *w = NULL;
    size_t n = path != NULL ? strnlen(path, WEFT_REPO__PATH_MAX + 2) : 0;
    /* "dir/" is the directory "dir". */
    if (n > 0 && path[n - 1] == '/')
        n--;
    if (path == NULL || n > WEFT_REPO__PATH_MAX)
        return weft_err_set(WEFT_EINVALID, "path: not a valid repo path");
    w = malloc(sizeof *w);
    if (w == NULL)
        return weft_err_set(WEFT_ENOMEM, "repo: out of memory");
    memcpy(w->path, path, n);
    w->path[n] = '\0';
    w->r = r;
    w->recursive = recursive;
    w->cb = cb;
    w->payload = payload;
    int rc = 0;
    if (n > 0 && !weft_repo_path_valid(w->path)) {
        rc = weft_err_set(WEFT_EINVALID, "path %.200s: not a valid repo path", w->path);
        goto out;
    }
    rc = tree_root(&root, r, commit);
    if (rc < 0)
        goto out;
    if (n > 0) {
        rc = git_tree_entry_bypath(&te, root, w->path);
        if (rc == GIT_ENOTFOUND || (rc == 0 && git_tree_entry_type(te) != GIT_OBJECT_TREE)) {
            rc = weft_err_set(WEFT_ENOTFOUND, "path %.200s: no such directory", w->path);
            goto out;
        }
        if (rc == 0)
            rc = git_tree_lookup(&dir, r->git, git_tree_entry_id(te));
        if (rc < 0) {
            rc = weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "path %.200s", w->path);
            goto out;
        }
    }
    rc = tree_walk_dir(w, dir != NULL ? dir : root, n);
out:
    git_tree_free(dir);
    git_tree_entry_free(te);
    git_tree_free(root);
    free(w);
    return rc;
}

int weft_repo_blob_read(weft_repo *r, const weft_oid *blob, size_t max_len, uint8_t **data_out,
                        size_t *len_out)
{
    git_oid id;
    char hex[41];
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    git_odb_object *obj = NULL;
    weft_repo__oid_to_git(&id, blob);
    weft_oid_to_hex(hex, blob);
    int rc = git_odb_read_header(&size, &type, r->odb, &id);
    if (rc == GIT_ENOTFOUND || (rc == 0 && type != GIT_OBJECT_BLOB))
        return weft_err_set(WEFT_ENOTFOUND, "blob %s: not found", hex);
    if (rc < 0)
        return weft_repo__git_error(rc, "blob %s", hex);
    if (size > max_len)
        return weft_err_set(WEFT_ELIMIT, "blob %s: %zu bytes, over the limit of %zu", hex, size,
                            max_len);
    rc = git_odb_read(&obj, r->odb, &id);
    if (rc < 0)
        return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "blob %s", hex);
    size = git_odb_object_size(obj);
    uint8_t *p = malloc(size + 1);
    if (p == NULL) {
        git_odb_object_free(obj);
        return weft_err_set(WEFT_ENOMEM, "blob %s: cannot allocate %zu bytes", hex, size);
    }
    memcpy(p, git_odb_object_data(obj), size);
    p[size] = '\0';
    git_odb_object_free(obj);
    *data_out = p;
    *len_out = size;
    return 0;
}
