/* Internals shared by the files of lib/repo: the handle, libgit2 error mapping, oid conversion,
 * tree-entry description (tree.c), signatures and CAS ref updates (commit.c), and the
 * .gitattributes matcher (gitattributes.c). */
#ifndef WEFT_REPO_INTERNAL_H
#define WEFT_REPO_INTERNAL_H

#include <string.h>

#include <git2.h>

#include "weft/repo.h"

#define WEFT_REPO__PATH_MAX 4096
/* Longest revision text resolve looks at; longer is WEFT_EINVALID. */
#define WEFT_REPO__REV_MAX 1024
/* Branch and tag names (short form). */
#define WEFT_REPO__REF_NAME_MAX 255
/* The .gitattributes a commit reads and rewrites. */
#define WEFT_REPO__GITATTRIBUTES_MAX (1u << 20)

struct weft_repo {
    git_repository *git;
    git_odb *odb; /* owned reference on the repository's object database */
    int dir_fd;   /* the git dir, for syncfs */
};

_Static_assert(sizeof(git_oid) == sizeof(weft_oid), "libgit2 built for SHA-1 object ids");

static inline void weft_repo__oid_to_git(git_oid *out, const weft_oid *in)
{
    memcpy(out->id, in->id, sizeof in->id);
}

static inline void weft_repo__oid_from_git(weft_oid *out, const git_oid *in)
{
    memcpy(out->id, in->id, sizeof out->id);
}

/* ---- repo.c ---- */

/* Initializes libgit2 once per process. */
int weft_repo__lib_init(void);

/* Maps a negative libgit2 return code (and git_error_last()) to a WEFT_E* with the message
 * "<context>: <libgit2's message>". */
int weft_repo__git_error(int gerr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes everything written so far durable: one syncfs() on the repository's file system. Used
 * instead of libgit2's per-object fsync, which costs two fsyncs per object (13 s for a commit of
 * 20,000 LFS files on the reference VM). */
int weft_repo__sync(weft_repo *r);

/* Looks up a commit by id: WEFT_ENOTFOUND naming it if absent or not a commit. */
int weft_repo__commit_lookup(git_commit **out, weft_repo *r, const git_oid *id);

/* ---- tree.c ---- */

/* Describes the tree entry te (whose full path is path, borrowed): for blobs reads the header
 * and, for small blobs, the content to recognise LFS pointers. */
int weft_repo__entry_fill(weft_repo *r, weft_repo_entry *out, const char *path,
                          const git_tree_entry *te);

/* ---- commit.c ---- */

/* A signature for author/committer/tagger: WEFT_EINVALID for names git refuses (angle
 * brackets, empty name). An empty or NULL email becomes "noreply@weft.local". */
int weft_repo__signature(git_signature **out, const char *name, const char *email, int64_t time);

/* Moves ref to new_id if it is at expected (NULL expected: the ref must not exist). Retries
 * briefly while another writer holds the ref's lock; WEFT_ECONFLICT if the ref is elsewhere.
 * Syncs before (the objects the ref will name) and after (the ref itself). */
int weft_repo__ref_cas(weft_repo *r, const char *ref, const git_oid *new_id,
                       const git_oid *expected, const char *log_message);

/* The message git stores for summary + description: "summary\n\ndescription\n". malloc'ed. */
int weft_repo__message(char **out, const char *summary, const char *description);

/* ---- gitattributes.c ---- */

typedef struct weft_repo_attrs weft_repo_attrs;

/* Parses .gitattributes text (any bytes; lines git would ignore are ignored). */
int weft_repo__attrs_parse(weft_repo_attrs **out, const char *text, size_t len);
void weft_repo__attrs_free(weft_repo_attrs *a);

/* 1 if the root .gitattributes a gives path (repo-relative) the attribute filter=lfs. */
int weft_repo__attrs_is_lfs(const weft_repo_attrs *a, const char *path);

/* Appends to out (capacity cap) the gitattributes pattern that matches exactly path: glob
 * characters escaped, spaces as [[:space:]]. Returns the length, or 0 if it does not fit. */
size_t weft_repo__attrs_pattern(char *out, size_t cap, const char *path);

/* git's wildmatch: 1 if text matches the glob pattern. With pathname, '*' and '?' do not match
 * '/', and "**" between slashes matches any number of directories. Polynomial time. */
int weft_repo__wildmatch(const char *pattern, const char *text, int pathname);

#endif
