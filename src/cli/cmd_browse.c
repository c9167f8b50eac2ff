/* weft ls, info, log: reading a repo on a Hub without downloading it. ls walks the tree API
 * (specs/hf-hub-api.md §6.1), info the repo info (§4), log the commits API (§10.4); the listings
 * follow Link rel="next" pages (cli_list_pages), so any repo size works. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client_args.h"

#define BROWSE_DEFAULT_REV "main"

static const char ls_help[] =
    "usage: weft ls REPO [PATH] [-R] [--revision REV] [--repo-type T]\n"
    "\n"
    "Lists the files and folders of REPO at REV (default main) under PATH (default the root):\n"
    "the size in bytes (the real size, also for LFS and Xet files; '-' for folders), 'lfs' or\n"
    "'xet' for files stored that way, and the path in the repo (folders end with '/').\n"
    "\n"
    "options:\n"
    "  -R, --recursive   everything below PATH, not just its direct entries\n"
    "  --revision REV    a branch, tag or commit id (default main)\n"
    "  --repo-type T     model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft ls openai-community/gpt2\n"
    "  weft ls datasets/acme/corpus data -R --revision v1.0\n"
    "\n"
    "exit codes: 0 ok, 2 usage, 3 repo, revision or path not found, 6 not allowed (private),\n"
    "7 network failure\n";

static const char info_help[] =
    "usage: weft info REPO [--revision REV] [--json] [--repo-type T]\n"
    "\n"
    "Shows a repo: its id, the commit of REV (default: the main branch), private or public,\n"
    "when last modified, the number of files, tags, pipeline and library, and its model card\n"
    "metadata. --json prints the server's whole answer instead.\n"
    "\n"
    "options:\n"
    "  --revision REV   a branch, tag or commit id\n"
    "  --json           the raw repo info as JSON\n"
    "  --repo-type T    model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft info alice/tiny-bert\n"
    "  weft info alice/tiny-bert --json | jq -r .sha\n"
    "\n"
    "exit codes: 0 ok, 2 usage, 3 repo or revision not found, 6 not allowed, 7 network\n";

static const char log_help[] =
    "usage: weft log REPO [--revision REV] [-n N] [--repo-type T]\n"
    "\n"
    "Lists the commits reachable from REV (default main), newest first: the commit id, the date\n"
    "(UTC), the author(s) and the title.\n"
    "\n"
    "options:\n"
    "  -n N, --max-count N   at most N commits\n"
    "  --revision REV        a branch, tag or commit id (default main)\n"
    "  --repo-type T         model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft log alice/tiny-bert -n 5\n"
    "  weft log alice/tiny-bert --revision v1.0\n"
    "\n"
    "exit codes: 0 ok, 2 usage, 3 repo or revision not found, 6 not allowed, 7 network\n";

/* ---- ls ----------------------------------------------------------------------------------- */

static int ls_print(json_t *e, void *payload)
{
    (void)payload;
    const char *path = json_string_value(json_object_get(e, "path"));
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!path)
        return 0;
    if (type && strcmp(type, "directory") == 0) {
        printf("%12s  %-3s  %s/\n", "-", "", path);
        return 0;
    }
    const char *kind = json_object_get(e, "xetHash") ? "xet"
                       : json_object_get(e, "lfs")   ? "lfs"
                                                     : "";
    printf("%12" PRIu64 "  %-3s  %s\n", (uint64_t)json_integer_value(json_object_get(e, "size")),
           kind, path);
    return 0;
}

int cmd_ls(int argc, char **argv)
{
    int recursive = 0;
    const char *rev = BROWSE_DEFAULT_REV;
    const cli_opt opts[] = {{"--recursive", "-R", NULL, &recursive},
                            {"--revision", NULL, &rev, NULL}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "ls", argc, argv, opts, 2, 1, 2, ls_help);
    if (st != CLI_ARGS_GO)
        return st;
    const char *path = a.n_pos > 1 ? a.pos[1] : NULL;
    while (path && *path == '/')
        path++;
    char *url = NULL;
    int rc = cli_repo_url(&url, &r, "/tree/", rev, path && *path ? path : NULL,
                          recursive ? "?recursive=true" : NULL);
    if (rc == 0)
        rc = cli_list_pages(c, url, ls_print, NULL);
    free(url);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- info --------------------------------------------------------------------------------- */

static void info_line(const char *key, const char *value)
{
    printf("%-14s %s\n", key, value && value[0] ? value : "-");
}

/* A list of strings as "a, b, c". */
static void info_list(const char *key, const json_t *arr)
{
    printf("%-14s ", key);
    cli_print_joined(arr, NULL, ", ");
    putchar('\n');
}

int cmd_info(int argc, char **argv)
{
    int as_json = 0;
    const char *rev = NULL;
    const cli_opt opts[] = {{"--revision", NULL, &rev, NULL}, {"--json", NULL, NULL, &as_json}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "info", argc, argv, opts, 2, 1, 1, info_help);
    if (st != CLI_ARGS_GO)
        return st;
    char *url = NULL;
    json_t *info = NULL;
    int rc = cli_repo_url(&url, &r, rev ? "/revision/" : "", rev, NULL, NULL);
    if (rc == 0)
        rc = weft_client_json(c, &info, "GET", url, NULL);
    if (rc == 0 && !json_is_object(info))
        rc = weft_err_set(WEFT_EINVALID, "%s: the answer is not a JSON object", url);
    if (rc == 0 && as_json) {
        cli_print_json(info);
    } else if (rc == 0) {
        const json_t *priv = json_object_get(info, "private");
        info_line("id", json_string_value(json_object_get(info, "id")));
        info_line("type", r.type);
        info_line("sha", json_string_value(json_object_get(info, "sha")));
        info_line("private", json_is_boolean(priv) ? (json_is_true(priv) ? "yes" : "no") : NULL);
        info_line("last modified", json_string_value(json_object_get(info, "lastModified")));
        info_line("created", json_string_value(json_object_get(info, "createdAt")));
        char n[32];
        snprintf(n, sizeof n, "%zu", json_array_size(json_object_get(info, "siblings")));
        info_line("files", n);
        info_list("tags", json_object_get(info, "tags"));
        info_line("pipeline", json_string_value(json_object_get(info, "pipeline_tag")));
        info_line("library", json_string_value(json_object_get(info, "library_name")));
        const json_t *card = json_object_get(info, "cardData");
        char *cs = json_object_size(card) ? json_dumps(card, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        info_line("card data", cs);
        free(cs);
    }
    json_decref(info);
    free(url);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- log ---------------------------------------------------------------------------------- */

typedef struct log_state {
    uint64_t left; /* commits still to print; UINT64_MAX: all */
} log_state;

static int log_print(json_t *commit, void *payload)
{
    log_state *ls = payload;
    if (ls->left == 0)
        return 1;
    ls->left--;
    const char *id = json_string_value(json_object_get(commit, "id"));
    const char *date = json_string_value(json_object_get(commit, "date"));
    const char *title = json_string_value(json_object_get(commit, "title"));
    printf("%s  %s  ", id ? id : "-", date ? date : "-");
    cli_print_joined(json_object_get(commit, "authors"), "user", ",");
    printf("  %s\n", title && title[0] ? title : "(no title)");
    return ls->left == 0;
}

int cmd_log(int argc, char **argv)
{
    const char *rev = BROWSE_DEFAULT_REV, *count = NULL;
    const cli_opt opts[] = {{"--revision", NULL, &rev, NULL}, {"--max-count", "-n", &count, NULL}};
    cli_client_args a;
    int st = cli_args_parse(&a, "log", argc, argv, opts, 2, 1, 1, log_help);
    if (st != CLI_ARGS_GO)
        return st;
    log_state ls = {UINT64_MAX};
    char query[32] = "";
    if (count) {
        char *end = NULL;
        unsigned long long n = strtoull(count, &end, 10);
        if (count[0] < '0' || count[0] > '9' || *end || n == 0)
            return cli_usage_error("log", "-n wants a positive number, not '%s'", count);
        ls.left = n;
        /* Pages of at most 100, as the JS client asks for them. */
        snprintf(query, sizeof query, "?limit=%llu", n < 100 ? n : 100);
    }
    weft_client *c;
    weft_client_repo r;
    st = cli_repo_open(&c, &r, &a, a.pos[0]);
    if (st)
        return st;
    char *url = NULL;
    int rc = cli_repo_url(&url, &r, "/commits/", rev, NULL, query[0] ? query : NULL);
    if (rc == 0)
        rc = cli_list_pages(c, url, log_print, &ls);
    free(url);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}
