/* Revision resolution (include/weft/repo.h, specs/hf-hub-api.md §1.2 and §12): HEAD, branch and
 * tag names, full ref names, full and abbreviated commit ids.
 *
 * Order, as git's for full ids and otherwise branch-first: "HEAD"; a full ref name; 40 hex
 * digits as a commit id; refs/heads/<rev>; refs/tags/<rev>; 5 to 39 hex digits as an
 * abbreviation. Text that cannot be a revision at all (empty, over 1 KiB, control characters) is
 * WEFT_EINVALID; well-formed text that names nothing is WEFT_ENOTFOUND, so the HTTP layer answers
 * RevisionNotFound as the Hub does. */
#include <ctype.h>
#include <stdio.h>

#include "repo_internal.h"

static int rev_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int rev_is_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

/* The ref namespaces a revision may name in full. */
static int rev_ref_allowed(const char *name)
{
    if (strncmp(name, "refs/heads/", 11) == 0 || strncmp(name, "refs/tags/", 10) == 0 ||
        strncmp(name, "refs/convert/", 13) == 0)
        return 1;
    return strncmp(name, "refs/pr/", 8) == 0 && rev_is_digits(name + 8);
}

static int rev_set_ref(char *ref_out, size_t ref_cap, const char *name)
{
    if (ref_out == NULL || ref_cap == 0)
        return 0;
    size_t n = strlen(name);
    if (n + 1 > ref_cap)
        return weft_err_set(WEFT_ELIMIT, "revision: ref name %.100s longer than %zu", name,
                            ref_cap);
    memcpy(ref_out, name, n + 1);
    return 0;
}

/* Looks up ref name and peels it to a commit. 1 if found, 0 if absent, < 0 on error. */
static int rev_try_ref(weft_repo *r, const char *name, const char *rev, git_oid *out)
{
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int valid = 0;
    if (git_reference_name_is_valid(&valid, name) < 0 || !valid)
        return 0;
    int rc = git_reference_lookup(&ref, r->git, name);
    if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
        return 0;
    if (rc < 0)
        return weft_repo__git_error(rc, "revision %s", rev);
    rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    if (rc < 0) {
        /* A tag of a tree or a blob, or a ref to a missing object: not a revision. */
        rc = rc == GIT_ENOTFOUND || rc == GIT_EPEEL || rc == GIT_EINVALIDSPEC
                 ? weft_err_set(WEFT_ENOTFOUND, "revision %s: %s does not point to a commit", rev,
                                name)
                 : weft_repo__git_error(rc, "revision %s", rev);
        goto out;
    }
    git_oid_cpy(out, git_object_id(obj));
    rc = 1;
out:
    git_object_free(obj);
    git_reference_free(ref);
    return rc;
}

int weft_repo_resolve(weft_repo *r, const char *rev, weft_oid *commit_out, char *ref_out,
                      size_t ref_cap)
{
    char full[WEFT_REPO__REV_MAX + 16];
    git_oid id;
    int rc;
    if (ref_out != NULL && ref_cap > 0)
        ref_out[0] = '\0';
    if (rev == NULL || rev[0] == '\0')
        return weft_err_set(WEFT_EINVALID, "revision: empty");
    size_t n = strnlen(rev, WEFT_REPO__REV_MAX + 1);
    if (n > WEFT_REPO__REV_MAX)
        return weft_err_set(WEFT_EINVALID, "revision: longer than %d bytes", WEFT_REPO__REV_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)rev[i];
        if (c < 0x20 || c == 0x7f)
            return weft_err_set(WEFT_EINVALID, "revision: control character at byte %zu", i);
    }

    if (strcmp(rev, "HEAD") == 0) {
        git_reference *head = NULL;
        rc = git_reference_lookup(&head, r->git, "HEAD");
        const char *target = rc == 0 ? git_reference_symbolic_target(head) : NULL;
        if (rc == 0 && target != NULL) {
            snprintf(full, sizeof full, "%s", target);
            rc = rev_try_ref(r, full, rev, &id);
        } else if (rc == 0) {
            rc = rev_try_ref(r, "HEAD", rev, &id);
            full[0] = '\0'; /* a detached HEAD names no branch */
        } else {
            rc = weft_repo__git_error(rc, "revision HEAD");
        }
        git_reference_free(head);
        if (rc == 0)
            return weft_err_set(WEFT_ENOTFOUND, "revision HEAD: the default branch has no commit");
        goto found;
    }

    if (strncmp(rev, "refs/", 5) == 0) {
        rc = rev_ref_allowed(rev) ? rev_try_ref(r, rev, rev, &id) : 0;
        if (rc == 0)
            return weft_err_set(WEFT_ENOTFOUND, "revision %s: no such ref", rev);
        snprintf(full, sizeof full, "%s", rev);
        goto found;
    }

    if (n == 40 && rev_is_hex(rev, n)) {
        git_commit *c = NULL;
        if (git_oid_fromstr(&id, rev) < 0)
            return weft_err_set(WEFT_EINVALID, "revision %s: bad object id", rev);
        rc = weft_repo__commit_lookup(&c, r, &id);
        git_commit_free(c);
        if (rc < 0)
            return rc;
        full[0] = '\0';
        rc = 1;
        goto found;
    }

    snprintf(full, sizeof full, "refs/heads/%s", rev);
    rc = rev_try_ref(r, full, rev, &id);
    if (rc == 0) {
        snprintf(full, sizeof full, "refs/tags/%s", rev);
        rc = rev_try_ref(r, full, rev, &id);
    }
    if (rc != 0)
        goto found;

    if (n >= 5 && n < 40 && rev_is_hex(rev, n)) {
        git_object *obj = NULL;
        if (git_oid_fromstrn(&id, rev, n) < 0)
            return weft_err_set(WEFT_EINVALID, "revision %s: bad object id", rev);
        rc = git_object_lookup_prefix(&obj, r->git, &id, n, GIT_OBJECT_COMMIT);
        if (rc == GIT_EAMBIGUOUS)
            return weft_err_set(WEFT_ENOTFOUND, "revision %s: ambiguous abbreviation", rev);
        if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
            return weft_err_set(WEFT_ENOTFOUND, "revision %s: no such commit", rev);
        if (rc < 0)
            return weft_repo__git_error(rc, "revision %s", rev);
        git_oid_cpy(&id, git_object_id(obj));
        git_object_free(obj);
        full[0] = '\0';
        rc = 1;
        goto found;
    }
    return weft_err_set(WEFT_ENOTFOUND, "revision %s: no branch, tag or commit by that name", rev);

found:
    if (rc < 0)
        return rc;
    weft_repo__oid_from_git(commit_out, &id);
    return rev_set_ref(ref_out, ref_cap, full);
}
