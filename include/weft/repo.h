/* Repos and revisions: each repo is a bare git repository (libgit2, SHA-1 object format), so
 * revisions are real 40-hex commit ids and git clients can clone it.
 *
 * Large files are Git LFS pointer blobs (the standard three-line text) whose oid is the file's
 * SHA-256; the bytes live in the chunk store. Small files are ordinary blobs. A new repo gets the
 * Hub's "initial commit" (author "system") adding the default .gitattributes with the usual LFS
 * patterns, on branch main, which HEAD names.
 *
 * Revisions accepted everywhere (weft_repo_resolve): "HEAD" (the default branch), a branch name,
 * a tag name, "refs/heads/X", "refs/tags/X", "refs/pr/N", "refs/convert/X", a full 40-hex commit
 * id, or an abbreviation of at least 5 hex digits that names exactly one commit.
 *
 * Commits are built server-side from a list of operations and moved onto their ref with
 * compare-and-swap: if the ref moved since the expected parent was read, nothing is written and
 * WEFT_ECONFLICT comes back (the Hub's 412).
 *
 * Paths are repo-relative, '/'-separated, checked by weft_repo_path_valid: no empty segment, no
 * "." or "..", no leading '/', no ".git" segment, no NUL or control characters, at most 4096
 * bytes.
 *
 * Ownership and threads: a weft_repo handle is used by one thread at a time; any number of
 * handles and processes may use one repository (ref updates are atomic in libgit2). Callbacks get
 * borrowed data valid for the call only. Errors: 0 or a negative WEFT_E*: WEFT_ENOTFOUND
 * (revision, path or ref absent; the message says which), WEFT_EINVALID (bad path, bad revision
 * text, bad op), WEFT_EEXISTS (branch or tag exists), WEFT_ECONFLICT (stale parent), WEFT_EIO.
 * Expected load: every HTTP request on a repo opens it, resolves a revision and reads a tree or
 * a blob; commits are rarer. */
#ifndef WEFT_REPO_H
#define WEFT_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

typedef struct weft_repo weft_repo;

/* A git object id (SHA-1). */
typedef struct weft_oid {
    uint8_t id[20];
} weft_oid;

/* 40 lowercase hex + NUL. */
void weft_oid_to_hex(char out[41], const weft_oid *oid);
/* Exactly 40 hex digits (either case). WEFT_EINVALID otherwise. */
WEFT_MUST_USE int weft_oid_from_hex(weft_oid *out, const char *hex);

/* 1 if path is a valid repo path (rules above), else 0. */
int weft_repo_path_valid(const char *path);

/* Creates a bare repository at dir (which must not exist) with HEAD -> refs/heads/main and the
 * initial commit holding the default .gitattributes, dated now_s. */
WEFT_MUST_USE int weft_repo_init(const char *dir, int64_t now_s);

/* Opens the bare repository at dir. WEFT_ENOTFOUND if there is none. */
WEFT_MUST_USE int weft_repo_open(weft_repo **out, const char *dir);

/* Closes; NULL is fine. */
void weft_repo_close(weft_repo *r);

/* Deletes the repository directory recursively. */
WEFT_MUST_USE int weft_repo_destroy(const char *dir);

/* ---- revisions --------------------------------------------------------------------------- */

/* Resolves rev (forms above) to a commit id. ref_out (may be NULL, capacity ref_cap) gets the full
 * ref name when rev named a ref ("refs/heads/main"), else "". WEFT_ENOTFOUND if nothing matches. */
WEFT_MUST_USE int weft_repo_resolve(weft_repo *r, const char *rev, weft_oid *commit_out,
                                    char *ref_out, size_t ref_cap);

/* The default branch's short name ("main"), into out (capacity cap). */
WEFT_MUST_USE int weft_repo_default_branch(weft_repo *r, char *out, size_t cap);

/* ---- trees and blobs --------------------------------------------------------------------- */

typedef struct weft_repo_entry {
    const char *path; /* full repo-relative path */
    int is_dir;
    weft_oid oid;  /* blob id (of the pointer, for LFS files) or tree id */
    uint64_t size; /* the real file size: the LFS size for LFS files, 0 for dirs */
    int is_lfs;
    uint8_t lfs_sha256[32];
    uint32_t pointer_size; /* size of the pointer blob, for LFS files */
} weft_repo_entry;

/* Stats one path at a commit ("" = the root tree). WEFT_ENOTFOUND if absent. out->path is
 * borrowed from the caller's path. */
WEFT_MUST_USE int weft_repo_stat(weft_repo *r, const weft_oid *commit, const char *path,
                                 weft_repo_entry *out);

/* Lists the directory path ("" = root) at commit in git tree order, depth first when recursive
 * (a directory comes right before its contents). WEFT_ENOTFOUND if path is not a directory. A
 * negative return from cb stops and is returned (so does a positive one, e.g. a pager's 1; the
 * same holds for every callback in this header). */
WEFT_MUST_USE int weft_repo_list(weft_repo *r, const weft_oid *commit, const char *path,
                                 int recursive, int (*cb)(const weft_repo_entry *e, void *payload),
                                 void *payload);

/* Reads a whole blob into a malloc'ed buffer (*data_out, caller frees; NUL-terminated for
 * convenience, not counted in *len_out). WEFT_ELIMIT if it is larger than max_len. */
WEFT_MUST_USE int weft_repo_blob_read(weft_repo *r, const weft_oid *blob, size_t max_len,
                                      uint8_t **data_out, size_t *len_out);

/* For each of n paths at commit, the most recent commit (reachable from commit, first-parent
 * history) that changed it; found[i] = 0 where a path does not exist. out[i] gets the id. */
WEFT_MUST_USE int weft_repo_last_commits(weft_repo *r, const weft_oid *commit,
                                         const char *const *paths, size_t n, weft_oid *out,
                                         int *found);

/* ---- history ----------------------------------------------------------------------------- */

typedef struct weft_repo_commit {
    weft_oid id;
    const char *title;   /* first line of the message */
    const char *message; /* the rest, after the blank line ("" if none) */
    const char *author;  /* author name */
    const char *email;
    int64_t time; /* author time, unix seconds */
    weft_oid tree;
    size_t n_parents;
} weft_repo_commit;

/* Reads one commit. */
WEFT_MUST_USE int weft_repo_commit_get(weft_repo *r, const weft_oid *id,
                                       int (*cb)(const weft_repo_commit *c, void *payload),
                                       void *payload);

/* Walks history from start, newest first (topological + time order), skipping skip commits and
 * passing at most limit (0 = no limit) to cb. *total_out (may be NULL) gets the number of commits
 * reachable from start. */
WEFT_MUST_USE int weft_repo_log(weft_repo *r, const weft_oid *start, size_t skip, size_t limit,
                                int (*cb)(const weft_repo_commit *c, void *payload), void *payload,
                                size_t *total_out);

/* ---- commits ----------------------------------------------------------------------------- */

typedef enum weft_repo_op_kind {
    WEFT_REPO_OP_FILE = 1,    /* write data/len as an ordinary blob at path */
    WEFT_REPO_OP_LFS,         /* write an LFS pointer for sha256/size at path */
    WEFT_REPO_OP_DELETE_FILE, /* remove the file at path (WEFT_ENOTFOUND if absent) */
    WEFT_REPO_OP_DELETE_DIR,  /* remove the directory at path, trailing '/' allowed
                                 (WEFT_ENOTFOUND if absent) */
} weft_repo_op_kind;

typedef struct weft_repo_op {
    weft_repo_op_kind kind;
    const char *path;
    const uint8_t *data; /* FILE: the content (borrowed) */
    size_t len;
    uint8_t sha256[32]; /* LFS */
    uint64_t size;      /* LFS */
} weft_repo_op;

typedef struct weft_repo_commit_req {
    const char *ref;        /* full ref to move: "refs/heads/main", "refs/pr/3" */
    const weft_oid *parent; /* expected current head of ref, or NULL = whatever it is now;
                               the ref must exist unless allow_create */
    int allow_create;       /* the ref may be created (new PR refs) */
    const weft_repo_op *ops;
    size_t n_ops;
    const char *author, *email; /* author and committer */
    const char *summary;        /* non-empty */
    const char *description;    /* may be NULL or "" */
    int64_t time;               /* unix seconds */
} weft_repo_commit_req;

/* Applies ops in order on top of the parent's tree, adds .gitattributes rules
 * ("<path> filter=lfs diff=lfs merge=lfs -text") for LFS paths the existing patterns do not
 * cover, writes the commit and moves the ref with compare-and-swap. WEFT_ECONFLICT if the ref is
 * not at parent (or moved meanwhile); nothing is written then. A path that is a file in one op
 * and a directory in another is WEFT_EINVALID. */
WEFT_MUST_USE int weft_repo_commit_create(weft_repo *r, const weft_repo_commit_req *req,
                                          weft_oid *commit_out);

/* Replaces the history of branch by one parentless commit with the head's tree (CAS on the head).
 */
WEFT_MUST_USE int weft_repo_squash(weft_repo *r, const char *branch, const char *message,
                                   const char *author, const char *email, int64_t time,
                                   weft_oid *commit_out);

/* ---- refs -------------------------------------------------------------------------------- */

typedef enum weft_ref_kind {
    WEFT_REF_BRANCH = 1, /* refs/heads/ */
    WEFT_REF_TAG,        /* refs/tags/ (annotated tags peeled to their commit) */
    WEFT_REF_PR,         /* refs/pr/ */
    WEFT_REF_CONVERT,    /* refs/convert/ */
} weft_ref_kind;

/* Calls cb for every branch, tag, PR and convert ref, sorted by full name; name is the short
 * name ("main", "v1", "3"), ref the full one. */
WEFT_MUST_USE int weft_repo_refs(weft_repo *r,
                                 int (*cb)(weft_ref_kind kind, const char *name, const char *ref,
                                           const weft_oid *target, void *payload),
                                 void *payload);

/* 1 if name is a valid new branch or tag name (git's ref-name rules, and not "refs/..."). */
int weft_repo_ref_name_valid(const char *name);

/* Creates (or, with overwrite, moves) branch name at target. WEFT_EEXISTS if it exists and
 * !overwrite; WEFT_EINVALID for a bad name. */
WEFT_MUST_USE int weft_repo_branch_create(weft_repo *r, const char *name, const weft_oid *target,
                                          int overwrite);

/* Creates a branch whose first commit has an empty tree, authored as given. */
WEFT_MUST_USE int weft_repo_branch_create_empty(weft_repo *r, const char *name, const char *author,
                                                const char *email, int64_t time);

/* Deletes a branch. WEFT_ENOTFOUND if absent; WEFT_EINVALID for the default branch. */
WEFT_MUST_USE int weft_repo_branch_delete(weft_repo *r, const char *name);

/* Creates tag name at target: annotated (tagger author/email, time) when message is non-empty,
 * lightweight otherwise. WEFT_EEXISTS if it exists. */
WEFT_MUST_USE int weft_repo_tag_create(weft_repo *r, const char *name, const weft_oid *target,
                                       const char *message, const char *author, const char *email,
                                       int64_t time);

/* Deletes a tag. WEFT_ENOTFOUND if absent. */
WEFT_MUST_USE int weft_repo_tag_delete(weft_repo *r, const char *name);

/* Reserves the next pull-request number (1 + the highest refs/pr/N, counting numbers reserved
 * before even if never used) and creates refs/pr/N at target. */
WEFT_MUST_USE int weft_repo_pr_create(weft_repo *r, const weft_oid *target, unsigned *num_out);

/* ---- LFS pointers and model cards -------------------------------------------------------- */

#define WEFT_LFS_POINTER_MAX 200

/* Parses a Git LFS pointer (spec v1: version line, oid sha256:<64 hex>, size <decimal>; keys
 * sorted, LF line ends). WEFT_EINVALID if data is not exactly such a pointer. */
WEFT_MUST_USE int weft_lfs_pointer_parse(const uint8_t *data, size_t len, uint8_t sha256[32],
                                         uint64_t *size);

/* Writes the canonical pointer text for (sha256, size) into out; returns its length. */
size_t weft_lfs_pointer_format(char out[WEFT_LFS_POINTER_MAX], const uint8_t sha256[32],
                               uint64_t size);

/* Model cards: parses the YAML front matter of a README ("---\n...\n---") into JSON text
 * (*json_out, malloc'ed, caller frees): mappings become objects, sequences arrays, plain scalars
 * strings except that YAML 1.2 core-schema ints, floats, true/false and null become JSON
 * numbers, booleans and null. A README without front matter yields "{}". On a YAML error returns
 * WEFT_EINVALID with "line L, column C: reason" as the message. Bounded: at most 1 MiB of input,
 * depth 64, 100,000 nodes. */
WEFT_MUST_USE int weft_card_parse(const char *readme, size_t len, char **json_out);

#endif
