/* Server-side commits (include/weft/repo.h, specs/hf-hub-api.md §8.4 and §10.5): operations
 * applied to an overlay on the parent's tree, .gitattributes upkeep for LFS paths, then blobs,
 * trees and the commit are written and the ref is moved with compare-and-swap.
 *
 * The overlay: each directory a commit touches is a node holding its original git tree (if any)
 * and a sorted array of the names changed in it (a file set, a subdirectory node, or a deletion).
 * Untouched subtrees are never read. Every operation is checked before anything is written, so a
 * bad path or a conflict leaves the object database as it was; only the final ref update can
 * still lose a race (WEFT_ECONFLICT, with unreferenced objects left for git gc). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "repo_internal.h"

/* ---- shared helpers -------------------------------------------------------------------------- */

int weft_repo__signature(git_signature **out, const char *name, const char *email, int64_t time)
{
    if (email == NULL || email[0] == '\0')
        email = "noreply@weft.local";
    if (name == NULL || name[0] == '\0')
        return weft_err_set(WEFT_EINVALID, "signature: empty author name");
    int rc = git_signature_new(out, name, email, (git_time_t)time, 0);
    if (rc < 0)
        return weft_repo__git_error(GIT_EINVALID, "signature %.100s <%.100s>", name, email);
    return 0;
}

int weft_repo__message(char **out, const char *summary, const char *description)
{
    size_t s = strlen(summary), d = description != NULL ? strlen(description) : 0;
    char *m = malloc(s + d + 4);
    if (m == NULL)
        return weft_err_set(WEFT_ENOMEM, "commit: out of memory");
    size_t n = 0;
    memcpy(m, summary, s);
    n = s;
    if (d > 0) {
        memcpy(m + n, "\n\n", 2);
        memcpy(m + n + 2, description, d);
        n += 2 + d;
    }
    if (n == 0 || m[n - 1] != '\n')
        m[n++] = '\n';
    m[n] = '\0';
    *out = m;
    return 0;
}

int weft_repo__ref_cas(weft_repo *r, const char *ref, const git_oid *new_id,
                       const git_oid *expected, const char *log_message)
{
    git_oid zero;
    git_reference *out = NULL;
    memset(&zero, 0, sizeof zero);
    /* An all-zero expected id means "must not exist" to libgit2. */
    const git_oid *want = expected != NULL ? expected : &zero;
    int rc = weft_repo__sync(r);
    if (rc < 0)
        return rc;
    rc = GIT_ELOCKED;
    /* Another writer holds ref.lock for a few milliseconds at most; wait up to ~1 s for it. */
    for (int attempt = 0; attempt < 200 && rc == GIT_ELOCKED; attempt++) {
        if (attempt > 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        rc = git_reference_create_matching(&out, r->git, ref, new_id, 1, want, log_message);
    }
    git_reference_free(out);
    if (rc == GIT_EMODIFIED || (rc == GIT_ENOTFOUND && expected != NULL))
        return weft_err_set(WEFT_ECONFLICT, "%s: moved since it was read", ref);
    if (rc < 0)
        return weft_repo__git_error(rc, "%s: update", ref);
    return weft_repo__sync(r);
}

/* ---- a small arena for names and generated contents ---------------------------------------- */

typedef struct ov_block {
    struct ov_block *next;
    size_t used, cap;
    char data[];
} ov_block;

typedef struct ov_arena {
    ov_block *head;
} ov_arena;

static void *ov_alloc(ov_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (a->head == NULL || a->head->cap - a->head->used < n) {
        size_t cap = n > 60000 ? n : 60000;
        ov_block *b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void ov_arena_free(ov_arena *a)
{
    while (a->head != NULL) {
        ov_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- the overlay ----------------------------------------------------------------------------- */

enum { OV_DEL = 1, OV_FILE, OV_DIR };

typedef struct ov_node ov_node;

typedef struct ov_child {
    const char *name; /* arena */
    int kind;
    const uint8_t *data; /* OV_FILE: content to write (borrowed from the op, or arena) */
    size_t len;
    ov_node *dir; /* OV_DIR */
} ov_child;

struct ov_node {
    ov_node *parent;
    git_tree *orig; /* the tree this directory had, NULL if new */
    ov_child *kids; /* sorted by name */
    size_t n_kids, cap;
    size_t n_live; /* entries it would have: files and non-empty subdirectories */
};

typedef struct ov_ctx {
    weft_repo *r;
    ov_arena arena;
    ov_node *root;
    ov_node **nodes; /* every node, for freeing */
    size_t n_nodes, cap_nodes;
    char path[WEFT_REPO__PATH_MAX + 1]; /* scratch: the op's path, cut into segments */
} ov_ctx;

static int ov_oom(void)
{
    return weft_err_set(WEFT_ENOMEM, "commit: out of memory");
}

static int ov_node_new(ov_ctx *c, ov_node *parent, const git_oid *tree, ov_node **out)
{
    if (c->n_nodes == c->cap_nodes) {
        size_t cap = c->cap_nodes ? 2 * c->cap_nodes : 16;
        ov_node **nodes = realloc(c->nodes, cap * sizeof *nodes);
        if (nodes == NULL)
            return ov_oom();
        c->nodes = nodes;
        c->cap_nodes = cap;
    }
    ov_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return ov_oom();
    c->nodes[c->n_nodes++] = n;
    n->parent = parent;
    if (tree != NULL) {
        int rc = git_tree_lookup(&n->orig, c->r->git, tree);
        if (rc < 0)
            return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "commit: reading a tree");
        n->n_live = git_tree_entrycount(n->orig);
    }
    *out = n;
    return 0;
}

static void ov_ctx_dispose(ov_ctx *c)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        git_tree_free(c->nodes[i]->orig);
        free(c->nodes[i]->kids);
        free(c->nodes[i]);
    }
    free(c->nodes);
    ov_arena_free(&c->arena);
}

/* Index of name in n->kids, or -(insertion point) - 1. */
static ptrdiff_t ov_find(const ov_node *n, const char *name)
{
    size_t lo = 0, hi = n->n_kids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(n->kids[mid].name, name);
        if (cmp == 0)
            return (ptrdiff_t)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(ptrdiff_t)lo - 1;
}

static int ov_insert(ov_ctx *c, ov_node *n, size_t at, const char *name, ov_child **out)
{
    if (n->n_kids == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 8;
        ov_child *k = realloc(n->kids, cap * sizeof *k);
        if (k == NULL)
            return ov_oom();
        n->kids = k;
        n->cap = cap;
    }
    size_t len = strlen(name);
    char *copy = ov_alloc(&c->arena, len + 1);
    if (copy == NULL)
        return ov_oom();
    memcpy(copy, name, len + 1);
    memmove(n->kids + at + 1, n->kids + at, (n->n_kids - at) * sizeof *n->kids);
    n->n_kids++;
    memset(&n->kids[at], 0, sizeof n->kids[at]);
    n->kids[at].name = copy;
    *out = &n->kids[at];
    return 0;
}

/* n->n_live += delta, carried up while a directory turns empty or non-empty. */
static void ov_live(ov_node *n, int delta)
{
    while (n != NULL && delta != 0) {
        size_t before = n->n_live;
        n->n_live = delta > 0 ? n->n_live + 1 : n->n_live - 1;
        int was = before > 0, is = n->n_live > 0;
        if (was == is)
            break;
        delta = is ? 1 : -1;
        n = n->parent;
    }
}

/* What name is in n: OV_FILE, OV_DIR or 0 (absent), with the overlay child or the original tree
 * entry that says so. An empty overlay directory counts as absent. */
static int ov_kind(const ov_node *n, const char *name, ov_child **kid, const git_tree_entry **te)
{
    *kid = NULL;
    *te = NULL;
    ptrdiff_t i = ov_find(n, name);
    if (i >= 0) {
        *kid = &n->kids[i];
        if ((*kid)->kind == OV_FILE)
            return OV_FILE;
        if ((*kid)->kind == OV_DIR && (*kid)->dir->n_live > 0)
            return OV_DIR;
        return 0;
    }
    if (n->orig == NULL)
        return 0;
    *te = git_tree_entry_byname(n->orig, name);
    if (*te == NULL)
        return 0;
    return git_tree_entry_type(*te) == GIT_OBJECT_TREE ? OV_DIR : OV_FILE;
}

/* The child directory name of n as a node. With create, makes it when absent (EINVALID when a
 * file is in the way); without, WEFT_ENOTFOUND when absent or a file. */
static int ov_subdir(ov_ctx *c, ov_node *n, const char *name, int create, const char *path,
                     ov_node **out)
{
    ov_child *kid = NULL;
    const git_tree_entry *te = NULL;
    int kind = ov_kind(n, name, &kid, &te);
    if (kind == OV_FILE) {
        if (create)
            return weft_err_set(WEFT_EINVALID, "path %.200s: '%s' is a file, not a directory", path,
                                name);
        return weft_err_set(WEFT_ENOTFOUND, "path %.200s: '%s' is a file", path, name);
    }
    if (kind == 0 && !create)
        return weft_err_set(WEFT_ENOTFOUND, "path %.200s: no directory '%s'", path, name);
    if (kid != NULL && kid->kind == OV_DIR) {
        *out = kid->dir;
        return 0;
    }
    if (kid == NULL) {
        ptrdiff_t at = ov_find(n, name);
        int rc = ov_insert(c, n, (size_t)(-at - 1), name, &kid);
        if (rc < 0)
            return rc;
    }
    /* kid is new or a deletion: a directory from the original tree, or a new empty one. */
    int rc = ov_node_new(c, n, te != NULL ? git_tree_entry_id(te) : NULL, &kid->dir);
    if (rc < 0)
        return rc;
    kid->kind = OV_DIR;
    /* An original tree that is empty was counted live in its parent; it is not. */
    if (te != NULL && kid->dir->n_live == 0)
        ov_live(n, -1);
    *out = kid->dir;
    return 0;
}

/* Splits c->path (a copy of path) into parent segments and walks them; *leaf gets the last
 * segment. */
static int ov_walk(ov_ctx *c, const char *path, int create, ov_node **dir, const char **leaf)
{
    size_t n = strlen(path);
    memcpy(c->path, path, n + 1);
    ov_node *cur = c->root;
    char *seg = c->path;
    for (;;) {
        char *slash = strchr(seg, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
        int rc = ov_subdir(c, cur, seg, create, path, &cur);
        if (rc < 0)
            return rc;
        seg = slash + 1;
    }
    *dir = cur;
    *leaf = seg;
    return 0;
}

static int ov_set_file(ov_ctx *c, const char *path, const uint8_t *data, size_t len)
{
    ov_node *dir = NULL;
    const char *name = NULL;
    ov_child *kid = NULL;
    const git_tree_entry *te = NULL;
    int rc = ov_walk(c, path, 1, &dir, &name);
    if (rc < 0)
        return rc;
    int kind = ov_kind(dir, name, &kid, &te);
    if (kind == OV_DIR)
        return weft_err_set(WEFT_EINVALID, "path %.200s: is a directory", path);
    if (kid == NULL) {
        ptrdiff_t at = ov_find(dir, name);
        rc = ov_insert(c, dir, (size_t)(-at - 1), name, &kid);
        if (rc < 0)
            return rc;
    }
    kid->kind = OV_FILE;
    kid->data = data;
    kid->len = len;
    kid->dir = NULL;
    if (kind == 0)
        ov_live(dir, +1);
    return 0;
}

static int ov_delete(ov_ctx *c, const char *path, int want_dir)
{
    ov_node *dir = NULL;
    const char *name = NULL;
    ov_child *kid = NULL;
    const git_tree_entry *te = NULL;
    int rc = ov_walk(c, path, 0, &dir, &name);
    if (rc < 0)
        return rc;
    int kind = ov_kind(dir, name, &kid, &te);
    if (kind != (want_dir ? OV_DIR : OV_FILE)) {
        /* The HTTP layer adds the Hub's "A file with this name doesn't exist" (§8.4). */
        if (!want_dir)
            return weft_err_set(WEFT_ENOTFOUND, "path %.200s: no such file", path);
        return weft_err_set(WEFT_ENOTFOUND, "path %.200s: no such directory", path);
    }
    if (kid == NULL) {
        ptrdiff_t at = ov_find(dir, name);
        rc = ov_insert(c, dir, (size_t)(-at - 1), name, &kid);
        if (rc < 0)
            return rc;
    }
    kid->kind = OV_DEL;
    kid->data = NULL;
    kid->dir = NULL;
    ov_live(dir, -1);
    return 0;
}

/* Writes node n (pending blobs first, then subtrees, then itself). *empty is set when the tree
 * has no entries; an empty tree is only written for the root. */
static int ov_write(ov_ctx *c, ov_node *n, git_oid *out, int *empty)
{
    git_treebuilder *bld = NULL;
    const char *what = "a tree";
    int rc = git_treebuilder_new(&bld, c->r->git, n->orig);
    if (rc < 0)
        goto git_failed;
    for (size_t i = 0; i < n->n_kids; i++) {
        ov_child *k = &n->kids[i];
        git_oid id;
        what = k->name;
        if (k->kind == OV_FILE) {
            rc = git_blob_create_from_buffer(&id, c->r->git, k->data, k->len);
            if (rc == 0)
                rc = git_treebuilder_insert(NULL, bld, k->name, &id, GIT_FILEMODE_BLOB);
        } else if (k->kind == OV_DIR) {
            int sub_empty = 0;
            rc = ov_write(c, k->dir, &id, &sub_empty);
            if (rc < 0)
                goto out; /* already a WEFT_E* */
            if (sub_empty)
                rc = git_treebuilder_remove(bld, k->name);
            else
                rc = git_treebuilder_insert(NULL, bld, k->name, &id, GIT_FILEMODE_TREE);
        } else {
            rc = git_treebuilder_remove(bld, k->name);
        }
        if (rc == GIT_ENOTFOUND && k->kind != OV_FILE)
            rc = 0; /* removing what was never there */
        if (rc < 0)
            goto git_failed;
    }
    *empty = git_treebuilder_entrycount(bld) == 0;
    what = "a tree";
    if (!*empty || n == c->root)
        rc = git_treebuilder_write(out, bld);
    if (rc == 0)
        goto out;
git_failed:
    rc = weft_repo__git_error(rc, "commit: writing %s", what);
out:
    git_treebuilder_free(bld);
    return rc;
}

/* ---- .gitattributes upkeep ------------------------------------------------------------------- */

/* The root .gitattributes as the ops left it: *data NULL if there is none. */
static int ov_read_gitattributes(ov_ctx *c, const uint8_t **data, size_t *len, git_blob **blob)
{
    ov_child *kid = NULL;
    const git_tree_entry *te = NULL;
    *data = NULL;
    *len = 0;
    *blob = NULL;
    int kind = ov_kind(c->root, ".gitattributes", &kid, &te);
    if (kind != OV_FILE)
        return 0;
    if (kid != NULL) {
        *data = kid->data;
        *len = kid->len;
        return 0;
    }
    if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
        return 0;
    int rc = git_blob_lookup(blob, c->r->git, git_tree_entry_id(te));
    if (rc < 0)
        return weft_repo__git_error(rc == GIT_ENOTFOUND ? -1 : rc, "commit: .gitattributes");
    *data = git_blob_rawcontent(*blob);
    *len = (size_t)git_blob_rawsize(*blob);
    return 0;
}

static int ov_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds "<pattern> filter=lfs diff=lfs merge=lfs -text" for each LFS path the .gitattributes
 * does not already send through LFS. */
static int ov_track_lfs(ov_ctx *c, const weft_repo_commit_req *req)
{
    static const char suffix[] = " filter=lfs diff=lfs merge=lfs -text\n";
    const uint8_t *old = NULL;
    size_t old_len = 0, n_new = 0, extra = 0;
    git_blob *blob = NULL;
    weft_repo_attrs *attrs = NULL;
    const char **todo = NULL;
    int rc = ov_read_gitattributes(c, &old, &old_len, &blob);
    if (rc < 0)
        return rc;
    if (old_len > WEFT_REPO__GITATTRIBUTES_MAX) {
        rc = weft_err_set(WEFT_ELIMIT, "commit: .gitattributes is over %u bytes",
                          WEFT_REPO__GITATTRIBUTES_MAX);
        goto out;
    }
    rc = weft_repo__attrs_parse(&attrs, (const char *)old, old_len);
    if (rc < 0)
        goto out;
    todo = malloc((req->n_ops ? req->n_ops : 1) * sizeof *todo);
    if (todo == NULL) {
        rc = ov_oom();
        goto out;
    }
    for (size_t i = 0; i < req->n_ops; i++) {
        if (req->ops[i].kind == WEFT_REPO_OP_LFS &&
            !weft_repo__attrs_is_lfs(attrs, req->ops[i].path))
            todo[n_new++] = req->ops[i].path;
    }
    if (n_new == 0)
        goto out;
    /* Each path once, in path order. */
    qsort(todo, n_new, sizeof *todo, ov_cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n_new; i++) {
        if (u == 0 || strcmp(todo[u - 1], todo[i]) != 0)
            todo[u++] = todo[i];
    }
    n_new = u;
    /* An escaped pattern is at most 11 bytes per path byte ("[[:space:]]"). */
    for (size_t i = 0; i < n_new; i++)
        extra += 11 * strlen(todo[i]) + sizeof suffix;
    char *text = ov_alloc(&c->arena, old_len + 1 + extra + 1);
    if (text == NULL) {
        rc = ov_oom();
        goto out;
    }
    size_t len = old_len;
    if (old_len > 0)
        memcpy(text, old, old_len);
    if (len > 0 && text[len - 1] != '\n')
        text[len++] = '\n';
    for (size_t i = 0; i < n_new; i++) {
        size_t k = weft_repo__attrs_pattern(text + len, extra + old_len + 2 - len, todo[i]);
        if (k == 0) {
            rc = weft_err_set(WEFT_ELIMIT, "commit: gitattributes pattern for %.200s", todo[i]);
            goto out;
        }
        len += k;
        memcpy(text + len, suffix, sizeof suffix - 1);
        len += sizeof suffix - 1;
    }
    rc = ov_set_file(c, ".gitattributes", (const uint8_t *)text, len);
out:
    free(todo);
    weft_repo__attrs_free(attrs);
    git_blob_free(blob);
    return rc;
}

/* ---- commit_create --------------------------------------------------------------------------- */

static int commit_ref_allowed(const char *ref)
{
    int valid = 0;
    if (ref == NULL || git_reference_name_is_valid(&valid, ref) < 0 || !valid)
        return 0;
    if (strncmp(ref, "refs/heads/", 11) == 0 || strncmp(ref, "refs/convert/", 13) == 0)
        return 1;
    if (strncmp(ref, "refs/pr/", 8) != 0 || ref[8] == '\0')
        return 0;
    for (const char *p = ref + 8; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

/* The op's path with DELETE_DIR's trailing '/' dropped, into buf. */
static int commit_op_path(char *buf, const weft_repo_op *op, size_t i)
{
    size_t n = op->path != NULL ? strnlen(op->path, WEFT_REPO__PATH_MAX + 2) : 0;
    if (op->kind == WEFT_REPO_OP_DELETE_DIR && n > 1 && op->path[n - 1] == '/')
        n--;
    if (op->path == NULL || n > WEFT_REPO__PATH_MAX)
        return weft_err_set(WEFT_EINVALID, "commit: operation %zu: bad path", i);
    memcpy(buf, op->path, n);
    buf[n] = '\0';
    if (!weft_repo_path_valid(buf))
        return weft_err_set(WEFT_EINVALID, "commit: operation %zu: bad path %.200s", i, buf);
    return 0;
}

static int commit_check(const weft_repo_commit_req *req)
{
    char path[WEFT_REPO__PATH_MAX + 1];
    if (!commit_ref_allowed(req->ref))
        return weft_err_set(WEFT_EINVALID, "commit: cannot commit to %.200s (not a branch)",
                            req->ref != NULL ? req->ref : "(null)");
    if (req->summary == NULL || req->summary[0] == '\0')
        return weft_err_set(WEFT_EINVALID, "commit: empty summary");
    if (req->n_ops > 0 && req->ops == NULL)
        return weft_err_set(WEFT_EINVALID, "commit: missing operations");
    for (size_t i = 0; i < req->n_ops; i++) {
        const weft_repo_op *op = &req->ops[i];
        if (op->kind < WEFT_REPO_OP_FILE || op->kind > WEFT_REPO_OP_DELETE_DIR)
            return weft_err_set(WEFT_EINVALID, "commit: operation %zu: unknown kind %d", i,
                                (int)op->kind);
        if (op->kind == WEFT_REPO_OP_FILE && op->data == NULL && op->len > 0)
            return weft_err_set(WEFT_EINVALID, "commit: operation %zu: no content", i);
        int rc = commit_op_path(path, op, i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int commit_apply(ov_ctx *c, const weft_repo_commit_req *req)
{
    char path[WEFT_REPO__PATH_MAX + 1];
    for (size_t i = 0; i < req->n_ops; i++) {
        const weft_repo_op *op = &req->ops[i];
        int rc = commit_op_path(path, op, i);
        if (rc < 0)
            return rc;
        switch (op->kind) {
        case WEFT_REPO_OP_FILE:
            rc = ov_set_file(c, path, op->len > 0 ? op->data : (const uint8_t *)"", op->len);
            break;
        case WEFT_REPO_OP_LFS: {
            char *ptr = ov_alloc(&c->arena, WEFT_LFS_POINTER_MAX);
            if (ptr == NULL)
                return ov_oom();
            size_t n = weft_lfs_pointer_format(ptr, op->sha256, op->size);
            rc = ov_set_file(c, path, (const uint8_t *)ptr, n);
            break;
        }
        case WEFT_REPO_OP_DELETE_FILE: rc = ov_delete(c, path, 0); break;
        case WEFT_REPO_OP_DELETE_DIR: rc = ov_delete(c, path, 1); break;
        }
        if (rc < 0)
            return rc;
    }
    return ov_track_lfs(c, req);
}

int weft_repo_commit_create(weft_repo *r, const weft_repo_commit_req *req, weft_oid *commit_out)
{
    ov_ctx c;
    git_reference *ref = NULL;
    git_object *head_obj = NULL;
    git_commit *base = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    char *message = NULL;
    git_oid cur, parent, root_id, new_id;
    int have_cur = 0, have_base = 0, empty = 0;
    memset(&c, 0, sizeof c);
    c.r = r;

    int rc = commit_check(req);
    if (rc < 0)
        return rc;
    rc = git_reference_lookup(&ref, r->git, req->ref);
    if (rc == 0) {
        rc = git_reference_peel(&head_obj, ref, GIT_OBJECT_COMMIT);
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "commit: %s", req->ref);
            goto out;
        }
        git_oid_cpy(&cur, git_object_id(head_obj));
        have_cur = 1;
    } else if (rc != GIT_ENOTFOUND) {
        rc = weft_repo__git_error(rc, "commit: %s", req->ref);
        goto out;
    } else if (!req->allow_create) {
        rc = weft_err_set(WEFT_ENOTFOUND, "commit: %s: no such branch", req->ref);
        goto out;
    }
    rc = 0;
    if (req->parent != NULL) {
        weft_repo__oid_to_git(&parent, req->parent);
        if (have_cur && !git_oid_equal(&parent, &cur)) {
            char want[41], at[41];
            git_oid_tostr(want, sizeof want, &parent);
            git_oid_tostr(at, sizeof at, &cur);
            rc = weft_err_set(WEFT_ECONFLICT, "commit: %s is at %s, not at the parent %s", req->ref,
                              at, want);
            goto out;
        }
        have_base = 1;
    } else if (have_cur) {
        git_oid_cpy(&parent, &cur);
        have_base = 1;
    }
    if (have_base) {
        rc = weft_repo__commit_lookup(&base, r, &parent);
        if (rc == 0 && (rc = git_commit_tree(&tree, base)) < 0)
            rc = weft_repo__git_error(rc, "commit: tree of the parent");
        if (rc < 0)
            goto out;
    }
    rc = ov_node_new(&c, NULL, tree != NULL ? git_tree_id(tree) : NULL, &c.root);
    if (rc == 0)
        rc = commit_apply(&c, req);
    if (rc == 0)
        rc = weft_repo__signature(&sig, req->author, req->email, req->time);
    if (rc == 0)
        rc = weft_repo__message(&message, req->summary, req->description);
    if (rc < 0)
        goto out;

    /* Everything checked: now write. */
    rc = ov_write(&c, c.root, &root_id, &empty);
    if (rc < 0)
        goto out;
    git_tree_free(tree);
    tree = NULL;
    rc = git_tree_lookup(&tree, r->git, &root_id);
    if (rc == 0) {
        const git_commit *parents[1] = {base};
        rc = git_commit_create(&new_id, r->git, NULL, sig, sig, NULL, message, tree,
                               have_base ? 1 : 0, parents);
    }
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "commit: writing the commit");
        goto out;
    }
    rc = weft_repo__ref_cas(r, req->ref, &new_id, have_cur ? &cur : NULL, "commit");
    if (rc == 0)
        weft_repo__oid_from_git(commit_out, &new_id);
out:
    free(message);
    git_signature_free(sig);
    git_tree_free(tree);
    git_commit_free(base);
    git_object_free(head_obj);
    git_reference_free(ref);
    ov_ctx_dispose(&c);
    return rc;
}

int weft_repo_squash(weft_repo *r, const char *branch, const char *message, const char *author,
                     const char *email, int64_t time, weft_oid *commit_out)
{
    char ref_name[WEFT_REPO__REF_NAME_MAX + 16];
    char fallback[WEFT_REPO__REF_NAME_MAX + 32];
    git_reference *ref = NULL;
    git_object *head = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    char *msg = NULL;
    git_oid head_id, new_id;
    int valid = 0;
    if (branch == NULL || strlen(branch) > WEFT_REPO__REF_NAME_MAX)
        return weft_err_set(WEFT_EINVALID, "squash: bad branch name");
    snprintf(ref_name, sizeof ref_name, "refs/heads/%s", branch);
    if (git_reference_name_is_valid(&valid, ref_name) < 0 || !valid)
        return weft_err_set(WEFT_EINVALID, "squash: bad branch name %.100s", branch);
    int rc = git_reference_lookup(&ref, r->git, ref_name);
    if (rc == GIT_ENOTFOUND) {
        rc = weft_err_set(WEFT_ENOTFOUND, "squash: no branch %.100s", branch);
        goto out;
    }
    if (rc == 0)
        rc = git_reference_peel(&head, ref, GIT_OBJECT_COMMIT);
    if (rc == 0)
        rc = git_commit_tree(&tree, (git_commit *)head);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "squash %.100s", branch);
        goto out;
    }
    git_oid_cpy(&head_id, git_object_id(head));
    if (message == NULL || message[0] == '\0') {
        snprintf(fallback, sizeof fallback, "Super-squash branch '%s'", branch);
        message = fallback;
    }
    rc = weft_repo__signature(&sig, author, email, time);
    if (rc == 0)
        rc = weft_repo__message(&msg, message, NULL);
    if (rc < 0)
        goto out;
    rc = git_commit_create(&new_id, r->git, NULL, sig, sig, NULL, msg, tree, 0, NULL);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "squash: writing the commit");
        goto out;
    }
    rc = weft_repo__ref_cas(r, ref_name, &new_id, &head_id, "squash");
    if (rc == 0)
        weft_repo__oid_from_git(commit_out, &new_id);
out:
    free(msg);
    git_signature_free(sig);
    git_tree_free(tree);
    git_object_free(head);
    git_reference_free(ref);
    return rc;
}
