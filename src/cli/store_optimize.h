/* weft store optimize and weft store stats --by codec (src/cli/store_optimize.c), called by
 * cmd_store.c's dispatch. */
#ifndef WEFT_CLI_STORE_OPTIMIZE_H
#define WEFT_CLI_STORE_OPTIMIZE_H

#include "weft/store.h"

extern const char store_optimize_help[];

/* weft store optimize FILE_HASH [--base HASH] [--no-delta] [--json], on an open store.
 * argv[0] is "optimize". Returns a CLI_EXIT_* code. */
int store_optimize(weft_store *s, int argc, char **argv);

/* weft store optimize --data DIR [REPO] [--json]: argv[0] is "optimize", --data DIR already
 * taken out. Opens DIR/store itself. */
int store_optimize_hub(const char *data, int argc, char **argv);

/* weft store stats --repo R on a hub data directory: logical and physical bytes of the files of
 * model repo R (all revisions), or of each repo of namespace R and of all of them together. */
int store_stats_repo(const char *data, const char *repo, int json);

/* Prints the per-codec table of weft store stats --by codec (JSON with json). */
int store_stats_codecs(weft_store *s, int json);

#endif
