/* Weight codecs over a hub's repos (src/server/optimize.c): which stored file is coded against
 * which base, and the background optimizer of `weft serve`.
 *
 * Bases (docs/internals/store.md "Weight codecs"): every LFS safetensors file of every revision
 * of a model repo is coded against the file of the same path at the default branch of the repo
 * its README card names as `base_model:` (same hub), else against the previous version of the
 * same path (a previous version that is itself a delta hands on its own base: chains stay one
 * deep). `weft store optimize --data` and the background optimizer both go through
 * hub_optimize_repo.
 *
 * The background optimizer: one thread, at the lowest CPU priority (SCHED_IDLE, else nice 19),
 * with its own store handle, working through a FIFO of model repos that commits and pushes of
 * weight files put there (hub_optimizer_enqueue never blocks on the work: it only takes a
 * mutex). The queue is bounded (HUB_OPTIMIZE_QUEUE_MAX repos; past that it becomes one "sweep
 * every repo" entry) and persisted in DATA/optimize-queue, one repo a line ("*" = every repo),
 * rewritten atomically by the thread whenever it changes, the repo being worked on included
 * until it is done: after a crash or a restart the hub takes up where it was. Files whose xorbs
 * are all re-coded already are skipped (weft_store_file_has_plain_xorbs), so a repo's older
 * revisions cost an index query each. hub_optimizer_stop stops the thread between xorbs (what
 * is done stays done, the rest stays queued) and joins it. Errors are logged, never fatal. */
#ifndef WEFT_SERVER_OPTIMIZE_H
#define WEFT_SERVER_OPTIMIZE_H

#include <stdint.h>

#include "weft/repo.h"
#include "weft/store.h"

#define HUB_OPTIMIZE_QUEUE_MAX 256

/* One LFS file of a repo's history, by SHA-256, with the base chosen for it. */
typedef struct hub_file {
    uint8_t sha[32];
    uint8_t base[32];
    int has_base;
    char path[512];
} hub_file;

/* Every LFS file (safetensors only unless all_lfs) of every revision of `r` up to head, each
 * SHA-256 once, oldest first; *files is the caller's to free. */
WEFT_MUST_USE int hub_history_files(weft_repo *r, const weft_oid *head, int all_lfs,
                                    hub_file **files, size_t *n);

/* Opens model repo `name` ("ns/name") of the hub at `data` and resolves its default branch. */
WEFT_MUST_USE int hub_open_model_repo(const char *data, const char *name, weft_repo **r,
                                      weft_oid *head);

/* The repo the README card at head names as base_model: ("" when none). */
void hub_card_base_model(weft_repo *r, const weft_oid *head, char *out, size_t cap);

/* The model repos of the hub at `data` ("ns/name", each malloc'ed, in a malloc'ed array), of
 * namespace ns only when ns is not NULL. */
void hub_list_model_repos(const char *data, const char *ns, char ***out, size_t *n_out);

/* Called for each file hub_optimize_repo looked at: r is NULL when the file was skipped (reason
 * says why), base_hex NULL without a base. */
typedef void (*hub_optimize_file_cb)(const char *repo, const hub_file *f, const char *sha_hex,
                                     const char *base_hex, const weft_store_optimize_result *r,
                                     const char *reason, void *payload);

typedef struct hub_optimize_cfg {
    int only_plain;                       /* skip files with no never-re-coded xorb */
    const weft_store_optimize_opts *opts; /* stop hook etc.; may be NULL */
    hub_optimize_file_cb on_file;         /* may be NULL */
    void *payload;
} hub_optimize_cfg;

/* Optimizes every safetensors file of model repo `name`, all revisions, each against the base
 * the rules above choose. A file that is not valid safetensors is skipped (on_file says so). */
WEFT_MUST_USE int hub_optimize_repo(weft_store *s, const char *data, const char *name,
                                    const hub_optimize_cfg *cfg);

typedef struct hub_optimizer hub_optimizer;

/* Starts the background optimizer of the hub at `data` (its store at store_dir), loading the
 * queue a previous run left. */
WEFT_MUST_USE int hub_optimizer_start(hub_optimizer **out, const char *data, const char *store_dir);

/* Queues model repo ns/name (no-op on NULL o or a repo already queued). Never waits for work. */
void hub_optimizer_enqueue(hub_optimizer *o, const char *ns, const char *name);

/* 1 if path names a weight file the optimizer cares about (.safetensors, .gguf). */
int hub_optimizer_wants(const char *path);

/* Stops the thread between xorbs, persists what is left and frees o (NULL is fine). */
void hub_optimizer_stop(hub_optimizer *o);

#endif
