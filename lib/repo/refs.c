/* Refs: listing, branches, tags and pull-request refs (include/weft/repo.h, specs/hf-hub-api.md
 * §10.1-10.3 and §8.4 create_pr).
 *
 * PR numbers: the highest number ever handed out is kept in the repository's config as
 * weft.lastpr, so deleting refs/pr/N never lets N come back. Reservations are serialized across
 * threads and processes by an flock on <gitdir>/weft-pr.lock; the counter is written before the
 * ref, so a crash in between burns a number rather than reusing one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "repo_internal.h"

typedef struct refs_item {
    weft_ref_kind kind;
    char *ref;
    size_t prefix_len;
    git_oid target;
} refs_item;

static int refs_cmp(const void *a, const void *b)
{
    return strcmp(((const refs_item *)a)->ref, ((const refs_item *)b)->ref);
}

static int refs_kind(const char *name, weft_ref_kind *kind, size_t *prefix_len)
{
    static const struct {
        const char *prefix;
        weft_ref_kind kind;
    } kinds[] = {{"refs/heads/", WEFT_REF_BRANCH},
                 {"refs/tags/", WEFT_REF_TAG},
                 {"refs/pr/", WEFT_REF_PR},
                 {"refs/convert/", WEFT_REF_CONVERT}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(name, kinds[i].prefix, n) == 0 && name[n] != '\0') {
            *kind = kinds[i].kind;
            *prefix_len = n;
            return 1;
        }
    }
    return 0;
}

int weft_repo_refs(weft_repo *r,
                   int (*cb)(weft_ref_kind kind, const char *name, const char *ref,
                             const weft_oid *target, void *payload),
                   void *payload)
{
    git_reference_iterator *it = NULL;
    refs_item *items = NULL;
    size_t n = 0, cap = 0;
    int rc = git_reference_iterator_new(&it, r->git);
    if (rc < 0)
        return weft_repo__git_error(rc, "refs");
    for (;;) {
        git_reference *ref = NULL;
        git_object *obj = NULL;
        rc = git_reference_next(&ref, it);
        if (rc == GIT_ITEROVER) {
            rc = 0;
            break;
        }
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "refs");
            goto out;
        }
        weft_ref_kind kind;
        size_t prefix_len;
        const char *name = git_reference_name(ref);
        /* Refs that do not peel to a commit (a tag of a blob) are no revision: left out. */
        if (!refs_kind(name, &kind, &prefix_len) ||
            git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
            git_reference_free(ref);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            refs_item *more = realloc(items, ncap * sizeof *more);
            if (more == NULL) {
                git_object_free(obj);
                git_reference_free(ref);
                rc = weft_err_set(WEFT_ENOMEM, "refs: out of memory");
                goto out;
            }
            items = more;
            cap = ncap;
        }
        items[n].kind = kind;
        items[n].prefix_len = prefix_len;
        items[n].ref = strdup(name);
        git_oid_cpy(&items[n].target, git_object_id(obj));
        git_object_free(obj);
        git_reference_free(ref);
        if (items[n].ref == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "refs: out of memory");
            goto out;
        }
        n++;
    }
    if (n > 0)
        qsort(items, n, sizeof *items, refs_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        weft_oid target;
        weft_repo__oid_from_git(&target, &items[i].target);
        rc = cb(items[i].kind, items[i].ref + items[i].prefix_len, items[i].ref, &target, payload);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(items[i].ref);
    free(items);
    git_reference_iterator_free(it);
    return rc;
}

/* The commit target must exist and be a commit. */
static int refs_target(git_commit **out, weft_repo *r, const weft_oid *target, git_oid *id)
{
    weft_repo__oid_to_git(id, target);
    return weft_repo__commit_lookup(out, r, id);
}

static int refs_full_name(char *out, size_t cap, const char *prefix, const char *name,
                          const char *what)
{
    if (!weft_repo_ref_name_valid(name))
        return weft_err_set(WEFT_EINVALID, "%s name %.100s: not valid", what,
                            name != NULL ? name : "(null)");
    snprintf(out, cap, "%s%s", prefix, name);
    return 0;
}

int weft_repo_branch_create(weft_repo *r, const char *name, const weft_oid *target, int overwrite)
{
    char full[WEFT_REPO__REF_NAME_MAX + 16];
    git_commit *c = NULL;
    git_reference *ref = NULL;
    git_oid id;
    int rc = refs_full_name(full, sizeof full, "refs/heads/", name, "branch");
    if (rc == 0)
        rc = refs_target(&c, r, target, &id);
    git_commit_free(c);
    if (rc < 0)
        return rc;
    if (!overwrite) {
        /* Compare-and-swap against "absent": two creators cannot both win. */
        rc = weft_repo__ref_cas(r, full, &id, NULL, "branch: created");
        if (rc == WEFT_ECONFLICT)
            rc = weft_err_set(WEFT_EEXISTS, "branch %s: already exists", name);
        return rc;
    }
    rc = git_reference_create(&ref, r->git, full, &id, 1, "branch: moved");
    git_reference_free(ref);
    if (rc < 0)
        return weft_repo__git_error(rc, "branch %s", name);
    return weft_repo__sync(r);
}

int weft_repo_branch_create_empty(weft_repo *r, const char *name, const char *author,
                                  const char *email, int64_t time)
{
    char full[WEFT_REPO__REF_NAME_MAX + 16];
    git_treebuilder *bld = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_reference *existing = NULL;
    git_oid tree_id, id;
    int rc = refs_full_name(full, sizeof full, "refs/heads/", name, "branch");
    if (rc < 0)
        return rc;
    /* Checked first so an existing name writes nothing; the CAS below settles races. */
    if (git_reference_lookup(&existing, r->git, full) == 0) {
        git_reference_free(existing);
        return weft_err_set(WEFT_EEXISTS, "branch %s: already exists", name);
    }
    rc = weft_repo__signature(&sig, author, email, time);
    if (rc < 0)
        return rc;
    rc = git_treebuilder_new(&bld, r->git, NULL);
    if (rc == 0)
        rc = git_treebuilder_write(&tree_id, bld);
    if (rc == 0)
        rc = git_tree_lookup(&tree, r->git, &tree_id);
    if (rc == 0)
        rc = git_commit_create(&id, r->git, NULL, sig, sig, NULL, "empty branch\n", tree, 0, NULL);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "branch %s: writing the empty commit", name);
        goto out;
    }
    rc = weft_repo__ref_cas(r, full, &id, NULL, "branch: created empty");
    if (rc == WEFT_ECONFLICT)
        rc = weft_err_set(WEFT_EEXISTS, "branch %s: already exists", name);
out:
    git_tree_free(tree);
    git_treebuilder_free(bld);
    git_signature_free(sig);
    return rc;
}

int weft_repo_branch_delete(weft_repo *r, const char *name)
{
    char full[WEFT_REPO__REF_NAME_MAX + 16], def[WEFT_REPO__REF_NAME_MAX + 1];
    git_reference *ref = NULL;
    int valid = 0;
    /* Not weft_repo_ref_name_valid: a branch pushed with a name we would not create may still
     * be deleted. */
    if (name == NULL || name[0] == '\0' || strlen(name) > WEFT_REPO__REF_NAME_MAX)
        return weft_err_set(WEFT_EINVALID, "branch: bad name");
    snprintf(full, sizeof full, "refs/heads/%s", name);
    if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
        return weft_err_set(WEFT_EINVALID, "branch name %.100s: not valid", name);
    int rc = weft_repo_default_branch(r, def, sizeof def);
    if (rc < 0)
        return rc;
    if (strcmp(def, name) == 0)
        return weft_err_set(WEFT_EINVALID, "branch %s: the default branch cannot be deleted", name);
    rc = git_reference_lookup(&ref, r->git, full);
    if (rc == GIT_ENOTFOUND)
        return weft_err_set(WEFT_ENOTFOUND, "branch %s: no such branch", name);
    if (rc == 0)
        rc = git_reference_delete(ref);
    git_reference_free(ref);
    if (rc == GIT_ENOTFOUND)
        return weft_err_set(WEFT_ENOTFOUND, "branch %s: no such branch", name);
    if (rc < 0)
        return weft_repo__git_error(rc, "branch %s: delete", name);
    return weft_repo__sync(r);
}

int weft_repo_tag_create(weft_repo *r, const char *name, const weft_oid *target,
                         const char *message, const char *author, const char *email, int64_t time)
{
    char full[WEFT_REPO__REF_NAME_MAX + 16];
    git_commit *c = NULL;
    git_signature *sig = NULL;
    git_reference *existing = NULL;
    char *msg = NULL;
    git_oid id, tag_id;
    int rc = refs_full_name(full, sizeof full, "refs/tags/", name, "tag");
    if (rc == 0)
        rc = refs_target(&c, r, target, &id);
    if (rc < 0)
        goto out;
    if (git_reference_lookup(&existing, r->git, full) == 0) {
        rc = weft_err_set(WEFT_EEXISTS, "tag %s: already exists", name);
        goto out;
    }
    if (message != NULL && message[0] != '\0') {
        rc = weft_repo__signature(&sig, author, email, time);
        if (rc == 0)
            rc = weft_repo__message(&msg, message, NULL);
        if (rc < 0)
            goto out;
        /* The tag object first, then the ref by CAS against "absent". */
        rc = git_tag_annotation_create(&tag_id, r->git, name, (const git_object *)c, sig, msg);
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "tag %s", name);
            goto out;
        }
    } else {
        git_oid_cpy(&tag_id, &id);
    }
    rc = weft_repo__ref_cas(r, full, &tag_id, NULL, "tag: created");
    if (rc == WEFT_ECONFLICT)
        rc = weft_err_set(WEFT_EEXISTS, "tag %s: already exists", name);
out:
    free(msg);
    git_reference_free(existing);
    git_signature_free(sig);
    git_commit_free(c);
    return rc;
}

int weft_repo_tag_delete(weft_repo *r, const char *name)
{
    char full[WEFT_REPO__REF_NAME_MAX + 16];
    git_reference *ref = NULL;
    int valid = 0;
    if (name == NULL || name[0] == '\0' || strlen(name) > WEFT_REPO__REF_NAME_MAX)
        return weft_err_set(WEFT_EINVALID, "tag: bad name");
    snprintf(full, sizeof full, "refs/tags/%s", name);
    if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
        return weft_err_set(WEFT_EINVALID, "tag name %.100s: not valid", name);
    int rc = git_reference_lookup(&ref, r->git, full);
    if (rc == 0)
        rc = git_reference_delete(ref);
    git_reference_free(ref);
    if (rc == GIT_ENOTFOUND)
        return weft_err_set(WEFT_ENOTFOUND, "tag %s: no such tag", name);
    if (rc < 0)
        return weft_repo__git_error(rc, "tag %s: delete", name);
    return weft_repo__sync(r);
}

/* ---- pull-request refs ----------------------------------------------------------------------- */

/* Highest N among refs/pr/N. */
static int refs_pr_highest(weft_repo *r, uint64_t *out)
{
    git_reference_iterator *it = NULL;
    const char *name = NULL;
    *out = 0;
    int rc = git_reference_iterator_glob_new(&it, r->git, "refs/pr/*");
    if (rc < 0)
        return weft_repo__git_error(rc, "pull requests");
    while ((rc = git_reference_next_name(&name, it)) == 0) {
        const char *p = name + 8;
        uint64_t v = 0;
        int ok = *p != '\0';
        for (; *p != '\0' && ok; p++) {
            ok = *p >= '0' && *p <= '9' && v < UINT32_MAX;
            v = v * 10 + (uint64_t)(*p - '0');
        }
        if (ok && v <= UINT32_MAX && v > *out)
            *out = v;
    }
    git_reference_iterator_free(it);
    if (rc != GIT_ITEROVER)
        return weft_repo__git_error(rc, "pull requests");
    return 0;
}

static int refs_pr_reserve(weft_repo *r, const git_oid *id, unsigned *num_out)
{
    char path[4096];
    git_config *cfg = NULL;
    int64_t last = 0;
    uint64_t highest = 0;
    snprintf(path, sizeof path, "%sconfig", git_repository_path(r->git));
    int rc = git_config_open_ondisk(&cfg, path);
    if (rc < 0)
        return weft_repo__git_error(rc, "pull requests: %s", path);
    rc = git_config_get_int64(&last, cfg, "weft.lastpr");
    if (rc == GIT_ENOTFOUND) {
        last = 0;
        rc = 0;
    }
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "pull requests: weft.lastpr");
        goto out;
    }
    rc = refs_pr_highest(r, &highest);
    if (rc < 0)
        goto out;
    uint64_t next = (last > 0 ? (uint64_t)last : 0);
    next = (highest > next ? highest : next) + 1;
    /* A refs/pr/N someone pushed by hand is skipped, not overwritten. */
    for (int attempt = 0; attempt < 1000; attempt++, next++) {
        if (next > UINT32_MAX) {
            rc = weft_err_set(WEFT_ELIMIT, "pull requests: numbers exhausted");
            goto out;
        }
        rc = git_config_set_int64(cfg, "weft.lastpr", (int64_t)next);
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "pull requests: saving weft.lastpr");
            goto out;
        }
        char ref[32];
        snprintf(ref, sizeof ref, "refs/pr/%llu", (unsigned long long)next);
        rc = weft_repo__ref_cas(r, ref, id, NULL, "pull request: created");
        if (rc == WEFT_ECONFLICT || rc == WEFT_EEXISTS)
            continue;
        if (rc == 0)
            *num_out = (unsigned)next;
        goto out;
    }
    rc = weft_err_set(WEFT_ECONFLICT, "pull requests: no free number found");
out:
    git_config_free(cfg);
    return rc;
}

int weft_repo_pr_create(weft_repo *r, const weft_oid *target, unsigned *num_out)
{
    char path[4096];
    git_commit *c = NULL;
    git_oid id;
    int rc = refs_target(&c, r, target, &id);
    git_commit_free(c);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof path, "%sweft-pr.lock", git_repository_path(r->git));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "pull requests: %s", path);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = weft_err_sys(WEFT_EIO, errno, "pull requests: locking %s", path);
            close(fd);
            return rc;
        }
    }
    rc = refs_pr_reserve(r, &id, num_out);
    close(fd); /* releases the lock */
    return rc;
}
