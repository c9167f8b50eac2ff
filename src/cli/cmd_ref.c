/* weft branch, weft tag: the refs of a repo on a Hub (specs/hf-hub-api.md §10.1–10.3). create and
 * delete are one request each; ls reads GET .../refs and prints one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client_args.h"

static const char branch_help[] =
    "usage: weft branch <subcommand> [options]\n"
    "\n"
    "Branches of a repo on a Hub (endpoint and token as for every client command).\n"
    "\n"
    "subcommands:\n"
    "  create REPO NAME [--from REV]   a new branch at REV (default: the main branch's head)\n"
    "  delete REPO NAME                delete a branch (its commits stay reachable from others)\n"
    "  ls REPO                         the branches and the commit each points at\n"
    "\n"
    "options (all subcommands): --repo-type T, --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft branch create alice/tiny-bert dev --from v1.0\n"
    "  weft branch ls alice/tiny-bert\n"
    "  weft branch delete alice/tiny-bert dev\n"
    "\n"
    "exit codes: 0 ok, 1 the branch exists, 2 usage or invalid name, 3 repo, branch or REV not\n"
    "found, 6 not allowed, 7 network failure\n";

static const char tag_help[] =
    "usage: weft tag <subcommand> [options]\n"
    "\n"
    "Tags of a repo on a Hub (endpoint and token as for every client command).\n"
    "\n"
    "subcommands:\n"
    "  create REPO NAME [--revision REV] [-m MESSAGE]   tag REV (default main); with a message\n"
    "                                                   the tag is annotated\n"
    "  delete REPO NAME                                 delete a tag\n"
    "  ls REPO                                          the tags and their commits\n"
    "\n"
    "options (all subcommands): --repo-type T, --endpoint URL, --token TOKEN\n"
    "\n"
    "examples:\n"
    "  weft tag create alice/tiny-bert v1.0 -m 'first release'\n"
    "  weft tag ls alice/tiny-bert\n"
    "  weft tag delete alice/tiny-bert v1.0\n"
    "\n"
    "exit codes: 0 ok, 1 the tag exists, 2 usage or invalid name, 3 repo, tag or REV not found,\n"
    "6 not allowed, 7 network failure\n";

/* Which kind of ref a subcommand works on: the API word and the key of GET .../refs. */
typedef struct ref_kind {
    const char *verb;  /* "branch" or "tag" */
    const char *route; /* "/branch/" or "/tag/" */
    const char *key;   /* "branches" or "tags" */
    const char *help;
} ref_kind;

static const ref_kind ref_branch = {"branch", "/branch/", "branches", branch_help};
static const ref_kind ref_tag = {"tag", "/tag/", "tags", tag_help};

/* Sends method to <repo api><route><target> with body (may be NULL; taken) for the ref `name`;
 * frees c. Returns the exit code. */
static int ref_call(const ref_kind *k, weft_client *c, const weft_client_repo *r,
                    const char *method, const char *name, const char *target, json_t *body)
{
    char *url = NULL;
    int rc = cli_repo_url(&url, r, k->route, target, NULL, NULL);
    if (rc == 0)
        rc = weft_client_json(c, NULL, method, url, body);
    if (rc == WEFT_EEXISTS)
        weft_err_set(WEFT_EEXISTS, "%s '%s' exists already in %s", k->verb, name, r->id);
    if (rc == 0)
        printf("%s %s %s in %s\n", strcmp(method, "DELETE") == 0 ? "deleted" : "created", k->verb,
               name, r->id);
    free(url);
    json_decref(body);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* "<branch|tag> delete REPO NAME" (n_pos 2) or "<branch|tag> ls REPO" (n_pos 1). */
static int ref_delete_or_ls(const ref_kind *k, int argc, char **argv, size_t n_pos)
{
    char verb[32];
    snprintf(verb, sizeof verb, "%s %s", k->verb, n_pos == 2 ? "delete" : "ls");
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, verb, argc, argv, NULL, 0, n_pos, n_pos, k->help);
    if (st != CLI_ARGS_GO)
        return st;
    if (n_pos == 2)
        return ref_call(k, c, &r, "DELETE", a.pos[1], a.pos[1], NULL);
    char *url = NULL;
    json_t *refs = NULL;
    int rc = cli_repo_url(&url, &r, "/refs", NULL, NULL, NULL);
    if (rc == 0)
        rc = weft_client_json(c, &refs, "GET", url, NULL);
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(refs, k->key), i, ref)
    {
        const char *name = json_string_value(json_object_get(ref, "name"));
        const char *target = json_string_value(json_object_get(ref, "targetCommit"));
        if (name)
            printf("%-40s  %s\n", target ? target : "-", name);
    }
    json_decref(refs);
    free(url);
    weft_client_free(c);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int branch_create(int argc, char **argv)
{
    const char *from = NULL;
    const cli_opt opts[] = {{"--from", NULL, &from, NULL}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "branch create", argc, argv, opts, 1, 2, 2, branch_help);
    if (st != CLI_ARGS_GO)
        return st;
    json_t *body = from ? json_pack("{s:s}", "startingPoint", from) : json_object();
    return ref_call(&ref_branch, c, &r, "POST", a.pos[1], a.pos[1], body);
}

static int branch_delete(int argc, char **argv)
{
    return ref_delete_or_ls(&ref_branch, argc, argv, 2);
}

static int branch_ls(int argc, char **argv)
{
    return ref_delete_or_ls(&ref_branch, argc, argv, 1);
}

int cmd_branch(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"create", branch_create}, {"delete", branch_delete}, {"ls", branch_ls}};
    return cli_sub_run("branch", argc, argv, subs, sizeof subs / sizeof subs[0], branch_help);
}

static int tag_create(int argc, char **argv)
{
    const char *rev = "main", *message = NULL;
    const cli_opt opts[] = {{"--revision", NULL, &rev, NULL}, {"--message", "-m", &message, NULL}};
    cli_client_args a;
    weft_client *c;
    weft_client_repo r;
    int st = cli_repo_args(&a, &c, &r, "tag create", argc, argv, opts, 2, 2, 2, tag_help);
    if (st != CLI_ARGS_GO)
        return st;
    /* POST .../tag/{target revision} with {"tag": name}: the path names what is tagged. */
    json_t *body = json_pack("{s:s}", "tag", a.pos[1]);
    if (body && message)
        json_object_set_new(body, "message", json_string(message));
    return ref_call(&ref_tag, c, &r, "POST", a.pos[1], rev, body);
}

static int tag_delete(int argc, char **argv)
{
    return ref_delete_or_ls(&ref_tag, argc, argv, 2);
}

static int tag_ls(int argc, char **argv)
{
    return ref_delete_or_ls(&ref_tag, argc, argv, 1);
}

int cmd_tag(int argc, char **argv)
{
    static const cli_sub subs[] = {{"create", tag_create}, {"delete", tag_delete}, {"ls", tag_ls}};
    return cli_sub_run("tag", argc, argv, subs, sizeof subs / sizeof subs[0], tag_help);
}
