/* weft rm: one commit that deletes files and folders of a repo on a Hub. The paths are first
 * looked up with paths-info (specs/hf-hub-api.md §6.2) so that a missing path is reported by name
 * and a folder is deleted only with -r; then the commit goes out through the NDJSON commit
 * builder (include/weft/client_commit.h) as deletedFile / deletedFolder lines (§8.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client_args.h"
#include "weft/client_commit.h"

/* Paths per paths-info request: the Hub answers 413 above 1000. */
#define RM_PATHS_PER_REQUEST 500

static const char rm_help[] =
    "usage: weft rm REPO PATH... [-r] [--revision BRANCH] [--commit-message MSG] [--repo-type T]\n"
    "\n"
    "Deletes files (and with -r folders with everything in them) from REPO in one commit on\n"
    "BRANCH (default main). Every PATH must exist; nothing is deleted when one does not.\n"
    "Prints the new commit.\n"
    "\n"
    "options:\n"
    "  -r, --recursive           also delete folders\n"
    "  --revision BRANCH         the branch to commit to (default main)\n"
    "  --commit-message MSG, -m  the commit title (default 'Delete PATH' or 'Delete paths')\n"
    "  --repo-type T             model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft rm alice/tiny-bert old.bin\n"
    "  weft rm datasets/acme/corpus raw/ -r --commit-message 'drop the raw dump'\n"
    "\n"
    "exit codes: 0 ok, 2 usage (a folder without -r), 3 repo, branch or path not found,\n"
    "6 not allowed (read-only token), 7 network failure\n";

/* Looks up paths[0..n) at rev and sets kinds[i] to the commit operation deleting paths[i]. */
static int rm_classify(weft_client *c, const weft_client_repo *r, const char *rev,
                       const char *const *paths, int *kinds, size_t n)
{
    char *url = NULL;
    int rc = cli_repo_url(&url, r, "/paths-info/", rev, NULL, NULL);
    for (size_t start = 0; rc == 0 && start < n; start += RM_PATHS_PER_REQUEST) {
        size_t end = n - start > RM_PATHS_PER_REQUEST ? start + RM_PATHS_PER_REQUEST : n;
        json_t *list = json_array(), *ans = NULL;
        for (size_t i = start; i < end; i++)
            json_array_append_new(list, json_string(paths[i]));
        json_t *body = json_pack("{s:o,s:b}", "paths", list, "expand", 0);
        rc = body ? weft_client_json(c, &ans, "POST", url, body)
                  : weft_err_set(WEFT_ENOMEM, "out of memory");
        json_decref(body);
        size_t j;
        json_t *e;
        json_array_foreach(ans, j, e)
        {
            const char *p = json_string_value(json_object_get(e, "path"));
            const char *type = json_string_value(json_object_get(e, "type"));
            for (size_t i = start; p && i < end; i++)
                if (strcmp(paths[i], p) == 0)
                    kinds[i] = type && strcmp(type, "directory") == 0 ? WEFT_COMMIT_OP_DELETE_FOLDER
                                                                      : WEFT_COMMIT_OP_DELETE_FILE;
        }
        json_decref(ans);
    }
    free(url);
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    int recursive = 0;
    const char *rev = "main", *message = NULL;
    const cli_opt opts[] = {{"--recursive", "-r", NULL, &recursive},
                            {"--revision", NULL, &rev, NULL},
                            {"--commit-message", "-m", &message, NULL}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    size_t max_pos = sizeof a.pos / sizeof a.pos[0];
    int st = cli_repo_args(&a, &c, &r, "rm", argc, argv, opts, 3, 2, max_pos, rm_help);
    if (st != CLI_ARGS_GO)
        return st;
    size_t n = a.n_pos - 1;
    const char **paths = &a.pos[1];
    /* Paths in the repo have no leading or trailing '/' ("raw/" is the folder raw). */
    char **own = calloc(n, sizeof *own);
    int *kinds = calloc(n, sizeof *kinds);
    weft_client_commit_op *ops = calloc(n, sizeof *ops);
    int rc = own && kinds && ops ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *p = paths[i];
        while (*p == '/')
            p++;
        size_t len = strlen(p);
        while (len > 0 && p[len - 1] == '/')
            len--;
        own[i] = strndup(p, len);
        if (!own[i])
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        else if (len == 0)
            rc = weft_err_set(WEFT_EINVALID, "'%s' is the repo root: name files or folders",
                              paths[i]);
    }
    if (rc == 0)
        rc = rm_classify(c, &r, rev, (const char *const *)own, kinds, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (kinds[i] == 0)
            rc = weft_err_set(WEFT_ENOTFOUND, "%s: no such file or folder in %s at %s", own[i],
                              r.id, rev);
        else if (kinds[i] == WEFT_COMMIT_OP_DELETE_FOLDER && !recursive)
            rc = weft_err_set(WEFT_EINVALID, "%s is a folder: add -r to delete it", own[i]);
        ops[i].kind = kinds[i];
        ops[i].path = own[i];
    }
    char title[300] = "";
    if (rc == 0 && !message && n == 1)
        snprintf(title, sizeof title, "Delete %s", own[0]);
    weft_client_commit req = {
        .revision = rev,
        .summary = message ? message : (n == 1 ? title : "Delete paths"),
        .ops = ops,
        .n_ops = n,
    };
    weft_client_commit_result res;
    memset(&res, 0, sizeof res);
    if (rc == 0)
        rc = weft_client_commit_create(&res, c, &r, &req);
    if (rc == 0)
        printf("deleted %zu path%s from %s on %s: commit %s\n", n, n == 1 ? "" : "s", r.id, rev,
               res.oid);
    weft_client_commit_result_dispose(&res);
    st = rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
    for (size_t i = 0; own && i < n; i++)
        free(own[i]);
    free(own);
    free(kinds);
    free(ops);
    weft_client_free(c);
    return st;
}
