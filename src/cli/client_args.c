/* Option parsing and shared steps of the Hub client commands (src/cli/client_args.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client_args.h"
#include "weft/link_header.h"

/* The option of `opts` (or a common one) that `arg` names, with "=value" split off. */
static const cli_opt *args_find(const cli_opt *opts, size_t n_opts, const cli_opt *common,
                                size_t n_common, const char *arg, size_t name_len)
{
    for (size_t i = 0; i < n_opts + n_common; i++) {
        const cli_opt *o = i < n_opts ? &opts[i] : &common[i - n_opts];
        if ((strlen(o->name) == name_len && strncmp(arg, o->name, name_len) == 0) ||
            (o->alias && strlen(o->alias) == name_len && strncmp(arg, o->alias, name_len) == 0))
            return o;
    }
    return NULL;
}

int cli_args_parse(cli_client_args *out, const char *verb, int argc, char **argv,
                   const cli_opt *opts, size_t n_opts, size_t min_pos, size_t max_pos,
                   const char *help)
{
    memset(out, 0, sizeof *out);
    if (max_pos > sizeof out->pos / sizeof out->pos[0])
        max_pos = sizeof out->pos / sizeof out->pos[0];
    const cli_opt common[] = {
        {"--endpoint", NULL, &out->endpoint, NULL},
        {"--token", NULL, &out->token, NULL},
        {"--repo-type", NULL, &out->repo_type, NULL},
    };
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (out->n_pos >= max_pos)
                return cli_usage_error(verb, "unexpected argument '%s'", a);
            out->pos[out->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            return CLI_EXIT_OK;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o =
            args_find(opts, n_opts, common, sizeof common / sizeof common[0], a, name_len);
        if (!o)
            return cli_usage_error(verb, "unknown option '%.*s'", (int)name_len, a);
        if (o->flag) {
            if (a[name_len] == '=')
                return cli_usage_error(verb, "option '%s' takes no value", o->name);
            *o->flag = 1;
            continue;
        }
        if (a[name_len] == '=') {
            *o->value = a + name_len + 1;
        } else {
            if (i + 1 >= argc)
                return cli_usage_error(verb, "option '%s' needs a value", o->name);
            *o->value = argv[++i];
        }
    }
    if (out->n_pos < min_pos)
        return cli_usage_error(verb, "missing argument");
    return CLI_ARGS_GO;
}

int cli_sub_run(const char *verb, int argc, char **argv, const cli_sub *subs, size_t n_subs,
                const char *help)
{
    if (argc < 2) {
        fputs(help, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n_subs; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    return cli_usage_error(verb, "unknown subcommand '%s'", argv[1]);
}

int cli_repo_open(weft_client **client, weft_client_repo *repo, const cli_client_args *args,
                  const char *spec)
{
    *client = NULL;
    int rc = weft_client_repo_parse(repo, spec, args->repo_type);
    if (rc < 0)
        return cli_fail(rc);
    return cli_client_open(client, args->endpoint, args->token);
}

int cli_repo_args(cli_client_args *out, weft_client **client, weft_client_repo *repo,
                  const char *verb, int argc, char **argv, const cli_opt *opts, size_t n_opts,
                  size_t min_pos, size_t max_pos, const char *help)
{
    *client = NULL;
    int st = cli_args_parse(out, verb, argc, argv, opts, n_opts, min_pos, max_pos, help);
    if (st != CLI_ARGS_GO)
        return st;
    st = cli_repo_open(client, repo, out, out->pos[0]);
    return st ? st : CLI_ARGS_GO;
}

int cli_repo_url(char **out, const weft_client_repo *repo, const char *what, const char *rev,
                 const char *path, const char *query)
{
    *out = NULL;
    char api[512];
    char *erev = NULL, *epath = NULL;
    int rc = weft_client_repo_api_path(api, sizeof api, repo);
    if (rc == 0 && rev)
        rc = weft_client_url_escape(&erev, rev, 0);
    if (rc == 0 && path)
        rc = weft_client_url_escape(&epath, path, 1);
    if (rc < 0)
        goto out;
    size_t n = strlen(api) + strlen(what) + (erev ? strlen(erev) : 0) +
               (epath ? strlen(epath) + 1 : 0) + (query ? strlen(query) : 0) + 1;
    *out = malloc(n);
    if (!*out) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(*out, n, "%s%s%s%s%s%s", api, what, erev ? erev : "", epath ? "/" : "",
             epath ? epath : "", query ? query : "");
out:
    free(erev);
    free(epath);
    return rc;
}

int cli_list_pages(weft_client *c, const char *url, int (*on_item)(json_t *item, void *payload),
                   void *payload)
{
    char *next = strdup(url);
    if (!next)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    int rc = 0;
    static const char *const accept[] = {"Accept: application/json", NULL};
    /* A server whose links never end would loop forever; 100,000 pages is far beyond any repo. */
    for (unsigned page = 0; next && rc == 0; page++) {
        if (page >= 100000) {
            rc = weft_err_set(WEFT_ELIMIT, "%s: more than 100000 pages", url);
            break;
        }
        weft_client_req req;
        weft_client_req_init(&req, "GET", next);
        req.headers = accept;
        weft_client_resp resp;
        rc = weft_client_send(c, &resp, &req);
        if (rc == 0)
            rc = weft_client_resp_check(&resp, next);
        json_t *items = NULL;
        if (rc == 0) {
            json_error_t err;
            items = json_loadb((const char *)resp.body.data, resp.body.len, 0, &err);
            if (!json_is_array(items))
                rc = weft_err_set(WEFT_EINVALID, "%s: expected a JSON array", next);
        }
        free(next);
        next = NULL;
        if (rc == 0)
            rc = weft_link_find(&next, weft_client_resp_header(&resp, "Link"), "next");
        weft_client_resp_dispose(&resp);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            if (rc == 0 && on_item(item, payload)) {
                free(next);
                next = NULL;
                break;
            }
        }
        json_decref(items);
    }
    free(next);
    return rc;
}

void cli_print_joined(const json_t *arr, const char *key, const char *sep)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(key ? json_object_get(v, key) : v);
        if (s)
            printf("%s%s", n++ ? sep : "", s);
    }
    if (n == 0)
        fputs("-", stdout);
}

void cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s)
        puts(s);
    free(s);
}

int cli_confirm(const char *question)
{
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    return line[0] == 'y' || line[0] == 'Y';
}
