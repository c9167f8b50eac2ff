/* weft upload REPO PATH [PATH_IN_REPO]: uploads a file or a folder to a repo on any
 * Hub-compatible server as one commit (include/weft/upload.h does the work). This file parses the
 * command line, checks the repo and the branch first (so a typo fails before anything is read or
 * sent), creates the repo when asked (--create, --private), and prints the commit URL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "weft/client.h"
#include "weft/upload.h"

static const char upload_help[] =
    "usage: weft upload REPO PATH [PATH_IN_REPO] [options]\n"
    "\n"
    "examples:\n"
    "  weft upload alice/tiny-bert ./model.safetensors\n"
    "  weft upload alice/tiny-bert ./checkpoint                 # a folder, into the repo root\n"
    "  weft upload alice/tiny-bert ./checkpoint weights --include '*.safetensors' --exclude "
    "'tmp/*'\n"
    "  weft upload alice/squad ./data --repo-type dataset --commit-message 'Add splits'\n"
    "  weft upload alice/tiny-bert ./config.json --create-pr     # prints the pull request URL\n"
    "  weft upload alice/new-model ./out --private              # creates the repo, private\n"
    "  weft upload alice/tiny-bert big.bin --no-xet --endpoint http://hub.local:8080\n"
    "\n"
    "Uploads PATH, a file or a folder (recursively; '.git' folders are skipped), to REPO as one\n"
    "commit, on a Weft hub or any Hugging Face Hub-compatible server. A file goes to\n"
    "PATH_IN_REPO (default: its name); a folder's files go under PATH_IN_REPO (default: the repo\n"
    "root). The server decides which files are large (10 MiB or more, binary, or an LFS rule in\n"
    ".gitattributes): those travel through Xet when the server offers it, sending only the chunks\n"
    "it lacks, else through LFS; small text files go inside the commit. Files the repo's\n"
    ".gitignore ignores are left out, files whose content equals the remote file are skipped, and\n"
    "when nothing is left no commit is made. An interrupted upload can be run again: it sends "
    "only\n"
    "what the server does not have yet. Prints the commit URL (the pull request URL with\n"
    "--create-pr).\n"
    "\n"
    "options:\n"
    "  --repo-type TYPE        model (default), dataset or space\n"
    "  --revision BRANCH       the branch to commit to (default main); it must exist\n"
    "  --commit-message TEXT   the commit title (default 'Upload ... with weft')\n"
    "  --commit-description T  the commit description\n"
    "  --include GLOB          upload only files whose path under the folder matches (repeatable;\n"
    "                          '*' also matches '/', 'dir/' means everything under dir)\n"
    "  --exclude GLOB          leave out files whose path matches (repeatable; wins over include)\n"
    "  --create-pr             commit to a new pull request (refs/pr/N) instead of the branch\n"
    "  --create                create REPO if it does not exist (public)\n"
    "  --private               create REPO if it does not exist, as a private repo\n"
    "  --no-xet                send large files through LFS even when the server offers Xet\n"
    "  -j, --jobs N            files (and LFS parts) sent at once (default 4)\n"
    "  --quiet                 no progress, print only the URL\n"
    "  --endpoint URL          the hub (default $HF_ENDPOINT, else https://huggingface.co)\n"
    "  --token TOKEN           a write token (default $HF_TOKEN, else the token file)\n"
    "\n"
    "A missing repo is an error unless --create or --private is given (the Python 'hf upload'\n"
    "creates it silently; weft asks, so a typo does not create a repo). A missing branch is an\n"
    "error: create it first (huggingface_hub's upload does not create branches either).\n"
    "\n"
    "exit codes: 0 ok (also when nothing changed), 1 error, 2 usage or bad input, 3 repo, branch\n"
    "or local path not found, 5 local i/o error, 6 token missing or read-only, 7 network failure\n";

#define UPLOAD_MAX_GLOBS 64

typedef struct upload_args {
    const char *repo, *local, *path_in_repo;
    const char *type, *revision, *message, *description, *endpoint, *token;
    const char *include[UPLOAD_MAX_GLOBS], *exclude[UPLOAD_MAX_GLOBS];
    size_t n_include, n_exclude;
    int create_pr, create, private_, no_xet, quiet, jobs;
} upload_args;

/* "--name VALUE" or "--name=VALUE": 1 and *val set when argv[*i] is that option. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val, int *bad)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *bad = 1;
        return 1;
    }
    *val = argv[++*i];
    return 1;
}

static int upload_parse(upload_args *a, int argc, char **argv)
{
    const char *pos[3];
    int n_pos = 0, bad = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (n_pos == 3)
                return cli_usage_error("upload", "too many arguments ('%s')", arg);
            pos[n_pos++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            only_pos = 1;
        } else if (strcmp(arg, "--create-pr") == 0) {
            a->create_pr = 1;
        } else if (strcmp(arg, "--create") == 0) {
            a->create = 1;
        } else if (strcmp(arg, "--private") == 0) {
            a->private_ = 1;
        } else if (strcmp(arg, "--no-xet") == 0) {
            a->no_xet = 1;
        } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            a->quiet = 1;
        } else if (opt_value(argc, argv, &i, "--repo-type", &a->type, &bad) ||
                   opt_value(argc, argv, &i, "--revision", &a->revision, &bad) ||
                   opt_value(argc, argv, &i, "--commit-message", &a->message, &bad) ||
                   opt_value(argc, argv, &i, "--commit-description", &a->description, &bad) ||
                   opt_value(argc, argv, &i, "--endpoint", &a->endpoint, &bad) ||
                   opt_value(argc, argv, &i, "--token", &a->token, &bad)) {
            if (bad)
                return cli_usage_error("upload", "%s needs a value", arg);
        } else if (opt_value(argc, argv, &i, "--include", &v, &bad) ||
                   opt_value(argc, argv, &i, "--exclude", &v, &bad)) {
            if (bad)
                return cli_usage_error("upload", "%s needs a value", arg);
            int inc = strncmp(arg, "--include", 9) == 0;
            size_t *n = inc ? &a->n_include : &a->n_exclude;
            if (*n == UPLOAD_MAX_GLOBS)
                return cli_usage_error("upload", "more than %d %s patterns", UPLOAD_MAX_GLOBS,
                                       inc ? "--include" : "--exclude");
            (inc ? a->include : a->exclude)[(*n)++] = v;
        } else if (opt_value(argc, argv, &i, "--jobs", &v, &bad) ||
                   opt_value(argc, argv, &i, "-j", &v, &bad)) {
            char *end = NULL;
            long j = bad ? 0 : strtol(v, &end, 10);
            if (bad || !end || *end || j < 1 || j > 64)
                return cli_usage_error("upload", "--jobs wants a number from 1 to 64");
            a->jobs = (int)j;
        } else {
            return cli_usage_error("upload", "unknown option '%s'", arg);
        }
    }
    if (n_pos < 2)
        return cli_usage_error("upload", n_pos == 0 ? "missing REPO and PATH" : "missing PATH");
    a->repo = pos[0];
    a->local = pos[1];
    a->path_in_repo = n_pos == 3 ? pos[2] : NULL;
    if (a->revision && strncmp(a->revision, "refs/pr/", 8) != 0 && strchr(a->revision, ' '))
        return cli_usage_error("upload", "bad --revision '%s'", a->revision);
    return 0;
}

/* Checks that the repo and branch exist; creates the repo when asked. Returns an exit code. */
static int upload_check_repo(weft_client *c, const weft_client_repo *repo, const upload_args *a)
{
    char api[512], url[1024];
    char *rev = NULL;
    if (weft_client_repo_api_path(api, sizeof api, repo) < 0 ||
        weft_client_url_escape(&rev, a->revision ? a->revision : "main", 0) < 0)
        return cli_fail(WEFT_EINVALID);
    snprintf(url, sizeof url, "%s/revision/%s", api, rev);
    free(rev);
    for (int attempt = 0; attempt < 2; attempt++) {
        weft_client_req req;
        weft_client_req_init(&req, "GET", url);
        weft_client_resp resp;
        int rc = weft_client_send(c, &resp, &req);
        const char *code = rc == 0 ? weft_client_resp_header(&resp, "X-Error-Code") : NULL;
        int repo_missing = rc == 0 && resp.status == 404 && code && !strcmp(code, "RepoNotFound");
        int rev_missing =
            rc == 0 && resp.status == 404 && code && !strcmp(code, "RevisionNotFound");
        if (rc == 0 && !repo_missing && !rev_missing)
            rc = weft_client_resp_check(&resp, repo->id);
        weft_client_resp_dispose(&resp);
        if (rc < 0)
            return cli_fail(rc);
        if (rev_missing) {
            fprintf(stderr,
                    "weft: %s has no branch '%s'; create it first (upload does not create "
                    "branches)\n",
                    repo->id, a->revision ? a->revision : "main");
            return CLI_EXIT_NOTFOUND;
        }
        if (!repo_missing)
            return 0;
        if (attempt > 0 || (!a->create && !a->private_)) {
            fprintf(stderr,
                    "weft: %s %s not found (or not visible to this token); pass --create or "
                    "--private to create it\n",
                    repo->type, repo->id);
            return CLI_EXIT_NOTFOUND;
        }
        const char *slash = strchr(repo->id, '/');
        char ns[256] = "";
        if (slash)
            snprintf(ns, sizeof ns, "%.*s", (int)(slash - repo->id), repo->id);
        json_t *body = json_pack("{s:s,s:s,s:b}", "name", slash ? slash + 1 : repo->id, "type",
                                 repo->type, "private", a->private_);
        if (body && slash)
            json_object_set_new(body, "organization", json_string(ns));
        rc = body ? weft_client_json(c, NULL, "POST", "/api/repos/create", body) : WEFT_ENOMEM;
        json_decref(body);
        if (rc < 0)
            return cli_fail(rc);
        if (!a->quiet)
            fprintf(stderr, "weft: created %s%s %s\n", a->private_ ? "private " : "", repo->type,
                    repo->id);
    }
    return 0;
}

int cmd_upload(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(upload_help, stdout);
            return CLI_EXIT_OK;
        }
    upload_args a = {0};
    int ec = upload_parse(&a, argc, argv);
    if (ec)
        return ec;
    weft_client_repo repo;
    if (weft_client_repo_parse(&repo, a.repo, a.type) < 0)
        return cli_usage_error("upload", "%s", weft_err_last());
    weft_client *c = NULL;
    ec = cli_client_open(&c, a.endpoint, a.token);
    if (ec)
        return ec;
    weft_progress *prog = NULL;
    weft_upload_result res;
    memset(&res, 0, sizeof res);
    ec = upload_check_repo(c, &repo, &a);
    if (ec)
        goto out;
    int rc = weft_progress_new(&prog, a.quiet ? WEFT_PROGRESS_QUIET : WEFT_PROGRESS_AUTO, "upload");
    if (rc < 0) {
        ec = cli_fail(rc);
        goto out;
    }
    weft_upload_opts o = {.local = a.local,
                          .path_in_repo = a.path_in_repo,
                          .include = a.include,
                          .n_include = a.n_include,
                          .exclude = a.exclude,
                          .n_exclude = a.n_exclude,
                          .revision = a.revision,
                          .summary = a.message,
                          .description = a.description,
                          .create_pr = a.create_pr,
                          .no_xet = a.no_xet,
                          .threads = a.jobs,
                          .progress = prog};
    rc = weft_upload_run(&res, c, &repo, &o);
    weft_progress_free(prog);
    prog = NULL;
    if (rc < 0) {
        ec = cli_fail(rc);
        goto out;
    }
    if (!a.quiet) {
        char sent[32], dedup[32];
        fprintf(stderr,
                "weft: %zu file%s: %zu inline, %zu %s, %zu unchanged, %zu ignored; sent %s of "
                "large-file data (%s already on the server)\n",
                res.n_files, res.n_files == 1 ? "" : "s", res.n_regular, res.n_large,
                res.used_xet ? "via Xet" : "via LFS", res.n_unchanged, res.n_ignored,
                cli_human_bytes(sent, sizeof sent, res.bytes_sent),
                cli_human_bytes(dedup, sizeof dedup, res.bytes_deduped));
    }
    if (!res.committed) {
        fprintf(stderr, "weft: nothing to commit: every file is unchanged or ignored\n");
    } else {
        printf("%s\n", res.commit.pr_url ? res.commit.pr_url : res.commit.url);
    }
out:
    weft_progress_free(prog);
    weft_upload_result_dispose(&res);
    weft_client_free(c);
    return ec;
}
