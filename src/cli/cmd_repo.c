/* weft repo create|delete|move|settings: repos on a Hub (specs/hf-hub-api.md §9). Each
 * subcommand is one JSON request through weft_client_json; the repo spec is "ns/name" (or
 * "datasets/ns/name", "spaces/ns/name") with --repo-type for the type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"

static const char repo_help[] =
    "usage: weft repo <subcommand> [options]\n"
    "\n"
    "Repos on a Hub (Weft or huggingface.co): the endpoint is --endpoint, else $HF_ENDPOINT; the\n"
    "token --token, else $HF_TOKEN, else the file 'weft login' writes. A repo is ns/name with\n"
    "--repo-type model (default), dataset or space, or written as datasets/ns/name.\n"
    "\n"
    "subcommands:\n"
    "  create REPO [--private] [--exist-ok]   create a repo\n"
    "  delete REPO [--yes]                    delete a repo and all its files\n"
    "  move FROM TO                           rename a repo or move it to another namespace\n"
    "  settings REPO --private|--public       change the visibility\n"
    "\n"
    "Run 'weft repo <subcommand> --help' for its options and examples.\n"
    "\n"
    "examples:\n"
    "  weft repo create alice/tiny-bert --private\n"
    "  weft repo move alice/tiny-bert acme/tiny-bert\n"
    "  weft repo delete datasets/alice/scratch --yes\n"
    "\n"
    "exit codes: 0 ok, 1 error (e.g. the repo exists), 2 usage, 3 repo not found,\n"
    "6 token missing or not allowed, 7 network failure\n";

static const char create_help[] =
    "usage: weft repo create REPO [--repo-type T] [--private] [--exist-ok]\n"
    "\n"
    "Creates REPO (ns/name; a bare name goes to the token's own namespace). The new repo has\n"
    "one commit with a .gitattributes, so its main branch exists right away. Prints the URL.\n"
    "\n"
    "options:\n"
    "  --private        only the namespace's members can see it (default: public)\n"
    "  --exist-ok       an existing repo is not an error (exit 0)\n"
    "  --repo-type T    model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft repo create alice/tiny-bert\n"
    "  weft repo create acme/corpus --repo-type dataset --private\n"
    "\n"
    "exit codes: 0 ok, 1 the repo exists, 2 usage or invalid name, 6 not allowed, 7 network\n";

static const char delete_help[] =
    "usage: weft repo delete REPO [--repo-type T] [--yes]\n"
    "\n"
    "Deletes REPO with all its files, branches and history. Asks for confirmation on a terminal;\n"
    "without a terminal (scripts) --yes is required.\n"
    "\n"
    "options:\n"
    "  --yes, -y        do not ask\n"
    "  --repo-type T    model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "example:\n"
    "  weft repo delete alice/old-model --yes\n"
    "\n"
    "exit codes: 0 ok, 1 not confirmed, 2 usage (no --yes without a terminal), 3 not found,\n"
    "6 not allowed, 7 network\n";

static const char move_help[] =
    "usage: weft repo move FROM TO [--repo-type T]\n"
    "\n"
    "Renames the repo FROM to TO (both ns/name, same type), also across namespaces you can\n"
    "write to. Old URLs stop working on Weft (huggingface.co redirects them).\n"
    "\n"
    "options:\n"
    "  --repo-type T    model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "example:\n"
    "  weft repo move alice/tiny-bert acme/tiny-bert\n"
    "\n"
    "exit codes: 0 ok, 1 TO exists, 2 usage, 3 FROM not found, 6 not allowed, 7 network\n";

static const char settings_help[] =
    "usage: weft repo settings REPO --private|--public [--repo-type T]\n"
    "\n"
    "Changes the visibility of REPO: --private hides it from everyone outside its namespace,\n"
    "--public shows it to all.\n"
    "\n"
    "options:\n"
    "  --private, --public\n"
    "  --repo-type T    model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN\n"
    "\n"
    "example:\n"
    "  weft repo settings alice/tiny-bert --public\n"
    "\n"
    "exit codes: 0 ok, 2 usage, 3 not found, 6 not allowed, 7 network\n";

/* {"name", "organization", "type"} of create and delete (specs/hf-hub-api.md §9.1, §9.2). */
static json_t *repo_body(const weft_client_repo *r)
{
    const char *slash = strchr(r->id, '/');
    json_t *b = json_object();
    if (!b)
        return NULL;
    if (slash) {
        json_object_set_new(b, "name", json_string(slash + 1));
        json_object_set_new(b, "organization", json_stringn(r->id, (size_t)(slash - r->id)));
    } else {
        json_object_set_new(b, "name", json_string(r->id));
        json_object_set_new(b, "organization", json_null());
    }
    json_object_set_new(b, "type", json_string(r->type));
    return b;
}

static int repo_create(int argc, char **argv)
{
    int priv = 0, exist_ok = 0;
    const cli_opt opts[] = {{"--private", NULL, NULL, &priv},
                            {"--exist-ok", NULL, NULL, &exist_ok}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "repo create", argc, argv, opts, 2, 1, 1, create_help);
    if (st != CLI_ARGS_GO)
        return st;
    json_t *body = repo_body(&r), *ans = NULL;
    if (priv)
        json_object_set_new(body, "visibility", json_string("private"));
    int rc = body ? weft_client_json(c, &ans, "POST", "/api/repos/create", body)
                  : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == WEFT_EEXISTS && exist_ok) {
        printf("%s %s exists already\n", r.type, r.id);
        rc = 0;
    } else if (rc == WEFT_EEXISTS) {
        weft_err_set(WEFT_EEXISTS, "%s %s exists already (--exist-ok accepts that)", r.type, r.id);
    } else if (rc == 0) {
        const char *url = json_string_value(json_object_get(ans, "url"));
        printf("created %s%s %s\n", priv ? "private " : "", r.type, url ? url : r.id);
    }
    json_decref(body);
    json_decref(ans);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int repo_delete(int argc, char **argv)
{
    int yes = 0;
    const cli_opt opts[] = {{"--yes", "-y", NULL, &yes}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "repo delete", argc, argv, opts, 1, 1, 1, delete_help);
    if (st != CLI_ARGS_GO)
        return st;
    char q[400];
    snprintf(q, sizeof q, "delete %s %s with all its files and history?", r.type, r.id);
    json_t *body = NULL;
    int rc = 0;
    if (!yes && !isatty(STDIN_FILENO)) {
        st = cli_usage_error("repo delete",
                             "refusing to delete %s without --yes (stdin is not a terminal)", r.id);
    } else if (!yes && !cli_confirm(q)) {
        fprintf(stderr, "weft: not deleted\n");
        st = CLI_EXIT_ERROR;
    } else {
        body = repo_body(&r);
        rc = body ? weft_client_json(c, NULL, "DELETE", "/api/repos/delete", body)
                  : weft_err_set(WEFT_ENOMEM, "out of memory");
        if (rc == 0)
            printf("deleted %s %s\n", r.type, r.id);
        st = rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
    }
    json_decref(body);
    weft_client_free(c);
    return st;
}

static int repo_move(int argc, char **argv)
{
    cli_client_args a;
    weft_client *c;
    weft_client_repo from, to;
    int st = cli_repo_args(&a, &c, &from, "repo move", argc, argv, NULL, 0, 2, 2, move_help);
    if (st != CLI_ARGS_GO)
        return st;
    json_t *body = NULL;
    int rc = weft_client_repo_parse(&to, a.pos[1], a.repo_type);
    if (rc == 0 && strcmp(from.type, to.type) != 0)
        rc = weft_err_set(WEFT_EINVALID, "cannot move a %s to a %s", from.type, to.type);
    if (rc == 0 && (!strchr(from.id, '/') || !strchr(to.id, '/')))
        rc = weft_err_set(WEFT_EINVALID, "repo move needs ns/name on both sides");
    if (rc == 0 && !(body = json_pack("{s:s,s:s,s:s}", "fromRepo", from.id, "toRepo", to.id, "type",
                                      from.type)))
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = weft_client_json(c, NULL, "POST", "/api/repos/move", body);
    if (rc == WEFT_EEXISTS)
        weft_err_set(WEFT_EEXISTS, "%s %s exists already", to.type, to.id);
    if (rc == 0)
        printf("moved %s %s to %s\n", from.type, from.id, to.id);
    json_decref(body);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int repo_settings(int argc, char **argv)
{
    int priv = 0, pub = 0;
    const cli_opt opts[] = {{"--private", NULL, NULL, &priv}, {"--public", NULL, NULL, &pub}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "repo settings", argc, argv, opts, 2, 1, 1, settings_help);
    if (st != CLI_ARGS_GO)
        return st;
    char *url = NULL;
    json_t *body = NULL;
    int rc = 0;
    if (priv + pub != 1) {
        weft_client_free(c);
        return cli_usage_error("repo settings", "give one of --private or --public");
    }
    body = json_pack("{s:s}", "visibility", priv ? "private" : "public");
    rc = body ? cli_repo_url(&url, &r, "/settings", NULL, NULL, NULL)
              : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = weft_client_json(c, NULL, "PUT", url, body);
    if (rc == 0)
        printf("%s %s is now %s\n", r.type, r.id, priv ? "private" : "public");
    free(url);
    json_decref(body);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_repo(int argc, char **argv)
{
    static const cli_sub subs[] = {{"create", repo_create},
                                   {"delete", repo_delete},
                                   {"move", repo_move},
                                   {"settings", repo_settings}};
    return cli_sub_run("repo", argc, argv, subs, sizeof subs / sizeof subs[0], repo_help);
}
