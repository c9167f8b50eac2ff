/* The Hugging Face cache layout (specs/hf-hub-api.md §7.3), shared with huggingface_hub and
 * @huggingface/hub, so files one tool downloaded are used by the others without a refetch:
 *
 *   {cache}/models--ns--name/blobs/<etag>                 sha256 (LFS) or git blob id (regular)
 *   {cache}/models--ns--name/snapshots/<commit>/<path>    relative symlink to ../../blobs/<etag>
 *   {cache}/models--ns--name/refs/<revision>              the commit hash, when revision != commit
 *   {cache}/models--ns--name/.no_exist/<commit>/<path>    empty: the file is known to be absent
 *   {cache}/.locks/models--ns--name/<etag>.lock           flock()ed while a blob is written
 *
 * A blob being downloaded is `blobs/<etag>.incomplete` (the name huggingface_hub resumes from) and
 * is renamed into place only after its bytes are verified. Paths are built, never trusted: repo
 * paths with "..", absolute paths, empty segments or NUL are WEFT_EINVALID. All functions are
 * thread-safe (they keep no state) and return 0 or a negative WEFT_E* naming the path. Strings
 * returned through char **out are the caller's (free). */
#ifndef WEFT_HF_CACHE_H
#define WEFT_HF_CACHE_H

#include "weft/err.h"

/* "models--ns--name" for type "model" and id "ns/name" (types: model, dataset, space). */
WEFT_MUST_USE int weft_hf_cache_repo_folder(char **out, const char *type, const char *repo_id);

/* "{cache}/{repo folder}". */
WEFT_MUST_USE int weft_hf_cache_repo_dir(char **out, const char *cache, const char *type,
                                         const char *repo_id);

/* "{repo_dir}/blobs/{etag}"; the etag must be 40 or 64 lowercase hex (others are WEFT_EINVALID). */
WEFT_MUST_USE int weft_hf_cache_blob_path(char **out, const char *repo_dir, const char *etag);

/* "{repo_dir}/snapshots/{commit}/{path}"; commit 40 lowercase hex, path checked as above. */
WEFT_MUST_USE int weft_hf_cache_snapshot_path(char **out, const char *repo_dir, const char *commit,
                                              const char *path);

/* Reads refs/{revision} into commit_out (40 hex + NUL); WEFT_ENOTFOUND when absent. A revision
 * that is itself a 40-hex commit is returned as is when snapshots/{commit} exists. */
WEFT_MUST_USE int weft_hf_cache_ref_read(char commit_out[41], const char *repo_dir,
                                         const char *revision);

/* Writes refs/{revision} = commit (atomically; nothing for a revision equal to the commit). */
WEFT_MUST_USE int weft_hf_cache_ref_write(const char *repo_dir, const char *revision,
                                          const char *commit);

/* Points snapshots/{commit}/{path} at blobs/{etag} with a relative symlink (replacing what was
 * there); parents are created. */
WEFT_MUST_USE int weft_hf_cache_link(const char *repo_dir, const char *commit, const char *path,
                                     const char *etag);

/* Creates the empty marker .no_exist/{commit}/{path}. */
WEFT_MUST_USE int weft_hf_cache_mark_absent(const char *repo_dir, const char *commit,
                                            const char *path);

/* Opens and flock()s {cache}/.locks/{repo folder}/{etag}.lock (blocking); *fd_out is released
 * with weft_hf_cache_unlock. huggingface_hub's filelock takes the same lock. */
WEFT_MUST_USE int weft_hf_cache_lock(int *fd_out, const char *cache, const char *repo_folder,
                                     const char *etag);
void weft_hf_cache_unlock(int fd);

#endif
