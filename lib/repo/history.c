/* History: one commit, the log of a revision and the last commit that changed each path
 * (include/weft/repo.h, specs/hf-hub-api.md §6.1 lastCommit and §10.4). */
#include <stdlib.h>

#include "repo_internal.h"

/* Fills c from commit; title and message point into *scratch (caller frees). The title is the
 * first line; the message is the rest after the blank line(s), trailing newlines dropped. */
static int history_fill(weft_repo_commit *c, const git_commit *commit, char **scratch)
{
    const char *raw = git_commit_message(commit);
    if (raw == NULL)
        raw = "";
    size_t n = strlen(raw);
    char *buf = malloc(n + 2);
    if (buf == NULL)
        return weft_err_set(WEFT_ENOMEM, "commit: out of memory");
    const char *nl = strchr(raw, '\n');
    size_t tlen = nl != NULL ? (size_t)(nl - raw) : n;
    if (tlen > 0 && raw[tlen - 1] == '\r')
        tlen--;
    memcpy(buf, raw, tlen);
    buf[tlen] = '\0';
    char *msg = buf + tlen + 1;
    const char *rest = nl != NULL ? nl + 1 : raw + n;
    while (*rest == '\n' || *rest == '\r')
        rest++;
    size_t rlen = strlen(rest);
    while (rlen > 0 && (rest[rlen - 1] == '\n' || rest[rlen - 1] == '\r'))
        rlen--;
    memcpy(msg, rest, rlen);
    msg[rlen] = '\0';

    const git_signature *a = git_commit_author(commit);
    memset(c, 0, sizeof *c);
    weft_repo__oid_from_git(&c->id, git_commit_id(commit));
    weft_repo__oid_from_git(&c->tree, git_commit_tree_id(commit));
    c->title = buf;
    c->message = msg;
    c->author = a != NULL && a->name != NULL ? a->name : "";
    c->email = a != NULL && a->email != NULL ? a->email : "";
    c->time = a != NULL ? (int64_t)a->when.time : 0;
    c->n_parents = git_commit_parentcount(commit);
    *scratch = buf;
    return 0;
}

static int history_emit(weft_repo *r, const git_oid *id,
                        int (*cb)(const weft_repo_commit *c, void *payload), void *payload)
{
    git_commit *commit = NULL;
    char *scratch = NULL;
    weft_repo_commit c;
    int rc = weft_repo__commit_lookup(&commit, r, id);
    if (rc == 0)
        rc = history_fill(&c, commit, &scratch);
    if (rc == 0)
        rc = cb(&c, payload);
    free(scratch);
    git_commit_free(commit);
    return rc;
}

int weft_repo_commit_get(weft_repo *r, const weft_oid *id,
                         int (*cb)(const weft_repo_commit *c, void *payload), void *payload)
{
    git_oid gid;
    weft_repo__oid_to_git(&gid, id);
    return history_emit(r, &gid, cb, payload);
}

int weft_repo_log(weft_repo *r, const weft_oid *start, size_t skip, size_t limit,
                  int (*cb)(const weft_repo_commit *c, void *payload), void *payload,
                  size_t *total_out)
{
    git_revwalk *walk = NULL;
    git_commit *first = NULL;
    git_oid id;
    size_t i = 0;
    weft_repo__oid_to_git(&id, start);
    int rc = weft_repo__commit_lookup(&first, r, &id);
    git_commit_free(first);
    if (rc < 0)
        return rc;
    rc = git_revwalk_new(&walk, r->git);
    if (rc == 0)
        rc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
    if (rc == 0)
        rc = git_revwalk_push(walk, &id);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "log");
        goto out;
    }
    for (;;) {
        rc = git_revwalk_next(&id, walk);
        if (rc == GIT_ITEROVER) {
            rc = 0;
            break;
        }
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "log");
            goto out;
        }
        if (i >= skip && (limit == 0 || i - skip < limit)) {
            /* A NULL cb only counts. */
            rc = cb != NULL ? history_emit(r, &id, cb, payload) : 0;
            if (rc != 0)
                goto out; /* a non-zero cb return stops the walk; *total_out is not set */
        } else if (i >= skip && total_out == NULL) {
            break; /* past the page and nobody wants the count */
        }
        i++;
    }
    if (total_out != NULL)
        *total_out = i;
out:
    git_revwalk_free(walk);
    return rc;
}

/* What a path is at one tree: its id and mode, or absent. */
typedef struct history_at {
    git_oid id;
    uint32_t mode;
    int present;
} history_at;

static int history_lookup(history_at *out, const git_tree *root, const char *path)
{
    git_tree_entry *te = NULL;
    memset(out, 0, sizeof *out);
    if (path[0] == '\0') {
        git_oid_cpy(&out->id, git_tree_id(root));
        out->mode = GIT_FILEMODE_TREE;
        out->present = 1;
        return 0;
    }
    int rc = git_tree_entry_bypath(&te, root, path);
    if (rc == GIT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return weft_repo__git_error(rc, "path %.200s", path);
    if (git_tree_entry_type(te) != GIT_OBJECT_COMMIT) {
        git_oid_cpy(&out->id, git_tree_entry_id(te));
        out->mode = (uint32_t)git_tree_entry_filemode(te);
        out->present = 1;
    }
    git_tree_entry_free(te);
    return 0;
}

/* Walks first parents from commit; a path's last commit is the newest one whose first parent
 * has something else (or nothing) at that path. Directories compare by tree id, so a directory's
 * last commit is the newest that changed anything under it. */
int weft_repo_last_commits(weft_repo *r, const weft_oid *commit, const char *const *paths, size_t n,
                           weft_oid *out, int *found)
{
    git_commit *cur = NULL, *parent = NULL;
    git_tree *tree = NULL, *ptree = NULL;
    history_at *at = NULL;
    git_oid id;
    size_t pending = 0;
    weft_repo__oid_to_git(&id, commit);
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        if (paths[i] == NULL || (paths[i][0] != '\0' && !weft_repo_path_valid(paths[i])))
            return weft_err_set(WEFT_EINVALID, "path %.200s: not a valid repo path",
                                paths[i] != NULL ? paths[i] : "(null)");
    }
    int rc = weft_repo__commit_lookup(&cur, r, &id);
    if (rc < 0)
        return rc;
    at = calloc(n ? n : 1, sizeof *at);
    if (at == NULL) {
        rc = weft_err_set(WEFT_ENOMEM, "last commits: out of memory");
        goto out;
    }
    rc = git_commit_tree(&tree, cur);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "last commits: tree of a commit");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = history_lookup(&at[i], tree, paths[i]);
        if (rc < 0)
            goto out;
        pending += (size_t)at[i].present;
    }
    while (pending > 0) {
        if (git_commit_parentcount(cur) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (at[i].present && !found[i]) {
                    weft_repo__oid_from_git(&out[i], git_commit_id(cur));
                    found[i] = 1;
                }
            }
            break;
        }
        rc = git_commit_parent(&parent, cur, 0);
        if (rc == 0)
            rc = git_commit_tree(&ptree, parent);
        if (rc < 0) {
            rc = weft_repo__git_error(rc, "last commits: parent of a commit");
            goto out;
        }
        if (!git_oid_equal(git_tree_id(ptree), git_tree_id(tree))) {
            for (size_t i = 0; i < n; i++) {
                if (!at[i].present || found[i])
                    continue;
                history_at p;
                rc = history_lookup(&p, ptree, paths[i]);
                if (rc < 0)
                    goto out;
                if (!p.present || p.mode != at[i].mode || !git_oid_equal(&p.id, &at[i].id)) {
                    weft_repo__oid_from_git(&out[i], git_commit_id(cur));
                    found[i] = 1;
                    pending--;
                }
            }
        }
        git_tree_free(tree);
        git_commit_free(cur);
        tree = ptree;
        cur = parent;
        ptree = NULL;
        parent = NULL;
    }
out:
    git_tree_free(ptree);
    git_tree_free(tree);
    git_commit_free(parent);
    git_commit_free(cur);
    free(at);
    return rc;
}
