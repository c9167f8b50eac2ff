/* weft user, weft org, weft token: accounts and access tokens in the metadata database
 * (include/weft/meta.h), for the operator of a hub.
 *   weft user  [--data DIR] create NAME [--admin] | ls [--json]
 *   weft org   [--data DIR] create NAME --owner USER | add ORG USER [--admin] | rm ORG USER | ls
 *   weft token [--data DIR] create USER [--role R] [--name N] | revoke WHICH | ls [USER] [--json]
 * DIR is the server's data directory: --data, else $WEFT_HOME, else ./weft-data; the database is
 * DIR/meta.db (both created on first use). --data may come before or after the subcommand, as
 * --data DIR or --data=DIR. Every subcommand has its own --help. The database is opened only once
 * the command line has been checked, so a usage error changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "weft/fsutil.h"
#include "weft/meta.h"

/* ---- help ------------------------------------------------------------------------------- */

static const char user_help[] =
    "usage: weft user [--data DIR] <subcommand> [options]\n"
    "\n"
    "User accounts of the hub. A user owns a namespace (USER/repo) and signs in with access\n"
    "tokens ('weft token'). Users and orgs share one set of names. DIR is the server's data\n"
    "directory: --data, else $WEFT_HOME, else ./weft-data (the accounts live in DIR/meta.db).\n"
    "\n"
    "subcommands:\n"
    "  create NAME [--admin]   create a user; --admin makes a site administrator\n"
    "  ls [--json]             list the users, whether admin, when created, their orgs\n"
    "\n"
    "Run 'weft user <subcommand> --help' for its options and examples.\n"
    "\n"
    "examples:\n"
    "  weft user create alice\n"
    "  weft token create alice --name laptop\n"
    "  weft user --data /srv/weft ls --json\n"
    "\n"
    "exit codes: 0 ok, 1 error (e.g. name taken), 2 usage or invalid name, 3 not found,\n"
    "5 i/o error\n";

static const char user_create_help[] =
    "usage: weft user create NAME [--admin]\n"
    "\n"
    "Creates the user NAME. Names are 1 to 96 characters of letters, digits, '.', '_' and '-',\n"
    "without '--' or '..', not starting or ending with '-' or '.', and must differ from every\n"
    "user and org in more than letter case. A site administrator (--admin) can see and manage\n"
    "every repo with a token of role admin. The user has no token yet: make one with\n"
    "'weft token create NAME'.\n"
    "\n"
    "options:\n"
    "  --admin   make the user a site administrator\n"
    "\n"
    "examples:\n"
    "  weft user create alice\n"
    "  weft user create ops --admin\n";

static const char user_ls_help[] =
    "usage: weft user ls [--json]\n"
    "\n"
    "Lists the users by name: name, 'admin' for site administrators, when created (UTC) and the\n"
    "orgs they belong to. --json prints one object per line instead:\n"
    "{\"name\":..,\"admin\":true|false,\"created\":\"2024-05-01T10:00:00Z\",\"orgs\":[..]}\n"
    "\n"
    "example:\n"
    "  weft user ls --json | jq -r 'select(.admin) | .name'\n";

static const char org_help[] =
    "usage: weft org [--data DIR] <subcommand> [options]\n"
    "\n"
    "Organizations: shared namespaces (ORG/repo) whose members may read and write the org's\n"
    "repos. An org admin may also manage its members. DIR is the server's data directory:\n"
    "--data, else $WEFT_HOME, else ./weft-data.\n"
    "\n"
    "subcommands:\n"
    "  create NAME --owner USER   create an org with USER as its first (admin) member\n"
    "  add ORG USER [--admin]     add a member, or change a member's role\n"
    "  rm ORG USER                remove a member\n"
    "  ls [--json]                list the orgs and their members\n"
    "\n"
    "Run 'weft org <subcommand> --help' for its options and examples.\n"
    "\n"
    "examples:\n"
    "  weft org create acme --owner alice\n"
    "  weft org add acme bob\n"
    "\n"
    "exit codes: 0 ok, 1 error (e.g. name taken), 2 usage or invalid name, 3 not found,\n"
    "5 i/o error\n";

static const char org_create_help[] =
    "usage: weft org create NAME --owner USER\n"
    "\n"
    "Creates the org NAME (same naming rules as users; users and orgs share one set of names)\n"
    "with the existing user USER as its first member, with the org's admin role.\n"
    "\n"
    "options:\n"
    "  --owner USER   the first member and admin of the org (required)\n"
    "\n"
    "example:\n"
    "  weft org create acme --owner alice\n";

static const char org_add_help[] =
    "usage: weft org add ORG USER [--admin]\n"
    "\n"
    "Makes USER a member of ORG, with the org's admin role with --admin. Adding a member again\n"
    "sets their role to the one given (so 'add' without --admin demotes an org admin).\n"
    "\n"
    "options:\n"
    "  --admin   the member may manage the org's members\n"
    "\n"
    "examples:\n"
    "  weft org add acme bob\n"
    "  weft org add acme carol --admin\n";

static const char org_rm_help[] =
    "usage: weft org rm ORG USER\n"
    "\n"
    "Removes USER from ORG. Their tokens stay valid for their own namespace but no longer reach\n"
    "the org's private repos. Exit code 3 if USER is not a member.\n"
    "\n"
    "example:\n"
    "  weft org rm acme bob\n";

static const char org_ls_help[] =
    "usage: weft org ls [--json]\n"
    "\n"
    "Lists the orgs by name: name, when created (UTC) and the members ('*' marks org admins).\n"
    "--json prints one object per line instead:\n"
    "{\"name\":..,\"created\":..,\"members\":[{\"name\":..,\"admin\":true|false}]}\n"
    "\n"
    "example:\n"
    "  weft org ls\n";

static const char token_help[] =
    "usage: weft token [--data DIR] <subcommand> [options]\n"
    "\n"
    "Access tokens: 'hf_' and 34 random letters and digits, sent by Hub clients as\n"
    "'Authorization: Bearer hf_...' (HF_TOKEN). Only a hash of each token is stored, so a token\n"
    "is shown once, when created. DIR is the server's data directory: --data, else $WEFT_HOME,\n"
    "else ./weft-data.\n"
    "\n"
    "subcommands:\n"
    "  create USER [--role R] [--name N]   make a token for USER and print it, once\n"
    "  revoke TOKEN|USER/NAME|ID           revoke tokens, named any of these ways\n"
    "  ls [USER] [--json]                  list tokens (never the tokens themselves)\n"
    "\n"
    "Run 'weft token <subcommand> --help' for its options and examples.\n"
    "\n"
    "examples:\n"
    "  export HF_TOKEN=$(weft token create alice --name laptop)\n"
    "  weft token revoke alice/laptop\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage, 3 not found (unknown user or token), 5 i/o error\n";

static const char token_create_help[] =
    "usage: weft token create USER [--role read|write|admin] [--name N]\n"
    "\n"
    "Creates a token for the user USER and prints it alone on standard output; a note on\n"
    "standard error says it will not be shown again. Roles:\n"
    "  read    download public repos and the user's own and their orgs' private ones\n"
    "  write   also create repos and push to the user's and their orgs' namespaces (default)\n"
    "  admin   write, plus site administration if the user is a site administrator\n"
    "\n"
    "options:\n"
    "  --role R   read, write or admin (default write)\n"
    "  --name N   a label to recognize and revoke the token by (up to 96 bytes)\n"
    "\n"
    "examples:\n"
    "  weft token create alice --name laptop\n"
    "  HF_TOKEN=$(weft token create ci-bot --role read --name ci) hf download acme/model\n";

static const char token_revoke_help[] =
    "usage: weft token revoke TOKEN|USER/NAME|ID\n"
    "\n"
    "Revokes a token at once: given as the token itself (hf_...), as USER/NAME (every token of\n"
    "USER labelled NAME), or by the id 'weft token ls' shows. Exit code 3 if none matched.\n"
    "\n"
    "examples:\n"
    "  weft token revoke alice/laptop\n"
    "  weft token revoke 12\n";

static const char token_ls_help[] =
    "usage: weft token ls [USER] [--json]\n"
    "\n"
    "Lists the live tokens, of USER or of everyone, oldest first: id, user, role, when created\n"
    "and last used (UTC, to the minute; 'never' if unused) and the name. The tokens themselves\n"
    "are never shown: only their hash is stored. --json prints one object per line:\n"
    "{\"id\":..,\"user\":..,\"name\":..,\"role\":..,\"created\":..,\"last_used\":..|null}\n"
    "\n"
    "examples:\n"
    "  weft token ls alice\n"
    "  weft token ls --json | jq -r 'select(.last_used == null) | .id'\n";

/* ---- shared pieces ---------------------------------------------------------------------- */

typedef struct account_ctx {
    const char *dir;
    const char *verb; /* "user create", for usage errors */
    weft_meta *m;
} account_ctx;

/* Opens DIR/meta.db, creating DIR if needed. */
static int account_open(account_ctx *c)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/meta.db", c->dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return weft_err_set(WEFT_EINVALID, "data directory path is too long");
    int rc = weft_fs_mkdirs(c->dir);
    if (rc == 0)
        rc = weft_meta_open(&c->m, path);
    return rc;
}

/* "2024-05-01 10:00:00" or, for json, "2024-05-01T10:00:00Z". */
static const char *account_time(char *buf, size_t len, int64_t unix_s, int json)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, len, json ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "?");
    return buf;
}

/* Prints a JSON value on one line and drops it. */
static int account_json_line(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (s == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    puts(s);
    free(s);
    return 0;
}

typedef struct account_args {
    const char *pos[4];
    int n_pos;
} account_args;

/* Splits argv[1..] into up to max_pos positionals and the options a subcommand knows: flags
 * (NULL-terminated) take no value and set flag_set[k]; valued ones take one (as "--opt V" or
 * "--opt=V") into values[k]. After "--" everything is positional. Returns 0, or the exit code of
 * a usage error it printed. */
static int account_parse(account_ctx *c, int argc, char **argv, const char *const *flags,
                         int *flag_set, const char *const *valued, const char **values, int max_pos,
                         account_args *a)
{
    int opts = 1;
    a->n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int known = 0;
        if (opts && strcmp(arg, "--") == 0) {
            opts = 0;
            continue;
        }
        for (int k = 0; opts && flags != NULL && flags[k] != NULL && !known; k++) {
            if (strcmp(arg, flags[k]) == 0) {
                flag_set[k] = 1;
                known = 1;
            }
        }
        for (int k = 0; opts && valued != NULL && valued[k] != NULL && !known; k++) {
            size_t len = strlen(valued[k]);
            if (strcmp(arg, valued[k]) == 0) {
                if (i + 1 >= argc)
                    return cli_usage_error(c->verb, "%s needs a value", valued[k]);
                values[k] = argv[++i];
                known = 1;
            } else if (strncmp(arg, valued[k], len) == 0 && arg[len] == '=') {
                values[k] = arg + len + 1;
                known = 1;
            }
        }
        if (known)
            continue;
        if (opts && arg[0] == '-' && arg[1] != '\0')
            return cli_usage_error(c->verb, "unknown option '%s'", arg);
        if (a->n_pos >= max_pos)
            return cli_usage_error(c->verb, "too many arguments ('%s')", arg);
        a->pos[a->n_pos++] = arg;
    }
    return 0;
}

/* ---- weft user -------------------------------------------------------------------------- */

static int user_create(account_ctx *c, int argc, char **argv)
{
    static const char *const flags[] = {"--admin", NULL};
    int set[1] = {0};
    account_args a;
    int status = account_parse(c, argc, argv, flags, set, NULL, NULL, 1, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 1)
        return cli_usage_error(c->verb, "user create needs a NAME");
    weft_account acct;
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_user_create(c->m, a.pos[0], set[0], &acct);
    if (rc < 0)
        return cli_fail(rc);
    printf("created user %s%s\n", acct.name, acct.is_admin ? " (site admin)" : "");
    return CLI_EXIT_OK;
}

typedef struct user_ls_state {
    weft_meta *m;
    int json;
    json_t *orgs; /* the current user's orgs, for json */
    char text[1024];
    size_t text_len;
} user_ls_state;

static int user_ls_org(const char *org, void *payload)
{
    user_ls_state *s = payload;
    if (s->json)
        return json_array_append_new(s->orgs, json_string(org)) == 0
                   ? 0
                   : weft_err_set(WEFT_ENOMEM, "out of memory");
    int n = snprintf(s->text + s->text_len, sizeof s->text - s->text_len, "%s%s",
                     s->text_len ? "," : "", org);
    if (n > 0 && s->text_len + (size_t)n < sizeof s->text)
        s->text_len += (size_t)n;
    return 0;
}

static int user_ls_one(const weft_account *acct, void *payload)
{
    user_ls_state *s = payload;
    char when[32];
    if (acct->is_org)
        return 0;
    s->text[0] = '\0';
    s->text_len = 0;
    s->orgs = s->json ? json_array() : NULL;
    int rc = weft_meta_user_orgs(s->m, acct->name, user_ls_org, s);
    if (rc < 0) {
        json_decref(s->orgs);
        return rc;
    }
    if (s->json)
        return account_json_line(
            json_pack("{s:s,s:b,s:s,s:o}", "name", acct->name, "admin", acct->is_admin, "created",
                      account_time(when, sizeof when, acct->created, 1), "orgs", s->orgs));
    printf("%-20s %-5s  %s  %s\n", acct->name, acct->is_admin ? "admin" : "-",
           account_time(when, sizeof when, acct->created, 0), s->text_len ? s->text : "-");
    return 0;
}

static int user_ls(account_ctx *c, int argc, char **argv)
{
    static const char *const flags[] = {"--json", NULL};
    int set[1] = {0};
    account_args a;
    int status = account_parse(c, argc, argv, flags, set, NULL, NULL, 0, &a);
    if (status != 0)
        return status;
    int rc = account_open(c);
    if (rc < 0)
        return cli_fail(rc);
    user_ls_state s = {.m = c->m, .json = set[0]};
    if (!s.json)
        printf("%-20s %-5s  %-19s  %s\n", "NAME", "ADMIN", "CREATED (UTC)", "ORGS");
    rc = weft_meta_account_list(c->m, user_ls_one, &s);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- weft org --------------------------------------------------------------------------- */

static int org_create(account_ctx *c, int argc, char **argv)
{
    static const char *const valued[] = {"--owner", NULL};
    const char *values[1] = {NULL};
    account_args a;
    int status = account_parse(c, argc, argv, NULL, NULL, valued, values, 1, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 1)
        return cli_usage_error(c->verb, "org create needs a NAME");
    if (values[0] == NULL)
        return cli_usage_error(c->verb, "org create needs --owner USER");
    weft_account org;
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_org_create(c->m, a.pos[0], values[0], &org);
    if (rc < 0)
        return cli_fail(rc);
    printf("created org %s with %s as its admin\n", org.name, values[0]);
    return CLI_EXIT_OK;
}

static int org_add(account_ctx *c, int argc, char **argv)
{
    static const char *const flags[] = {"--admin", NULL};
    int set[1] = {0};
    account_args a;
    int status = account_parse(c, argc, argv, flags, set, NULL, NULL, 2, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 2)
        return cli_usage_error(c->verb, "org add needs ORG and USER");
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_org_add_member(c->m, a.pos[0], a.pos[1], set[0]);
    if (rc < 0)
        return cli_fail(rc);
    printf("%s is a member of %s%s\n", a.pos[1], a.pos[0], set[0] ? " (admin)" : "");
    return CLI_EXIT_OK;
}

static int org_rm(account_ctx *c, int argc, char **argv)
{
    account_args a;
    int status = account_parse(c, argc, argv, NULL, NULL, NULL, NULL, 2, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 2)
        return cli_usage_error(c->verb, "org rm needs ORG and USER");
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_org_remove_member(c->m, a.pos[0], a.pos[1]);
    if (rc < 0)
        return cli_fail(rc);
    printf("removed %s from %s\n", a.pos[1], a.pos[0]);
    return CLI_EXIT_OK;
}

typedef struct org_ls_state {
    weft_meta *m;
    int json;
    json_t *members;
    char text[2048];
    size_t text_len;
} org_ls_state;

static int org_ls_member(const char *user, int role_admin, void *payload)
{
    org_ls_state *s = payload;
    if (s->json)
        return json_array_append_new(s->members,
                                     json_pack("{s:s,s:b}", "name", user, "admin", role_admin)) == 0
                   ? 0
                   : weft_err_set(WEFT_ENOMEM, "out of memory");
    int n = snprintf(s->text + s->text_len, sizeof s->text - s->text_len, "%s%s%s",
                     s->text_len ? "," : "", user, role_admin ? "*" : "");
    if (n > 0 && s->text_len + (size_t)n < sizeof s->text)
        s->text_len += (size_t)n;
    return 0;
}

static int org_ls_one(const weft_account *acct, void *payload)
{
    org_ls_state *s = payload;
    char when[32];
    if (!acct->is_org)
        return 0;
    s->text[0] = '\0';
    s->text_len = 0;
    s->members = s->json ? json_array() : NULL;
    int rc = weft_meta_org_members(s->m, acct->name, org_ls_member, s);
    if (rc < 0) {
        json_decref(s->members);
        return rc;
    }
    if (s->json)
        return account_json_line(json_pack("{s:s,s:s,s:o}", "name", acct->name, "created",
                                           account_time(when, sizeof when, acct->created, 1),
                                           "members", s->members));
    printf("%-20s %s  %s\n", acct->name, account_time(when, sizeof when, acct->created, 0),
           s->text_len ? s->text : "-");
    return 0;
}

static int org_ls(account_ctx *c, int argc, char **argv)
{
    static const char *const flags[] = {"--json", NULL};
    int set[1] = {0};
    account_args a;
    int status = account_parse(c, argc, argv, flags, set, NULL, NULL, 0, &a);
    if (status != 0)
        return status;
    int rc = account_open(c);
    if (rc < 0)
        return cli_fail(rc);
    org_ls_state s = {.m = c->m, .json = set[0]};
    if (!s.json)
        printf("%-20s %-19s  %s\n", "NAME", "CREATED (UTC)", "MEMBERS (* = admin)");
    rc = weft_meta_account_list(c->m, org_ls_one, &s);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- weft token ------------------------------------------------------------------------- */

static int token_create(account_ctx *c, int argc, char **argv)
{
    static const char *const valued[] = {"--role", "--name", NULL};
    const char *values[2] = {NULL, NULL};
    account_args a;
    weft_role role = WEFT_ROLE_WRITE;
    int status = account_parse(c, argc, argv, NULL, NULL, valued, values, 1, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 1)
        return cli_usage_error(c->verb, "token create needs a USER");
    if (values[0] != NULL && weft_role_parse(values[0], &role) < 0)
        return cli_usage_error(c->verb, "%s", weft_err_last());
    char token[WEFT_TOKEN_LEN + 1];
    weft_token_info info;
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_token_create(c->m, token, a.pos[0], role, values[1], &info);
    if (rc < 0)
        return cli_fail(rc);
    printf("%s\n", token);
    fflush(stdout);
    char label[WEFT_NAME_MAX + 16] = "";
    if (info.name[0] != '\0')
        snprintf(label, sizeof label, ", name '%s'", info.name);
    fprintf(stderr,
            "note: this token (id %lld, user %s, role %s%s) will not be shown again; store it "
            "now\n",
            (long long)info.id, info.user, weft_role_name(info.role), label);
    return CLI_EXIT_OK;
}

static int token_revoke(account_ctx *c, int argc, char **argv)
{
    account_args a;
    int status = account_parse(c, argc, argv, NULL, NULL, NULL, NULL, 1, &a);
    if (status != 0)
        return status;
    if (a.n_pos != 1)
        return cli_usage_error(c->verb, "token revoke needs a TOKEN, USER/NAME or ID");
    int rc = account_open(c);
    if (rc == 0)
        rc = weft_meta_token_revoke(c->m, a.pos[0]);
    if (rc < 0)
        return cli_fail(rc);
    /* A plain token is not echoed back (terminal scrollback, logs). */
    if (strncmp(a.pos[0], "hf_", 3) == 0)
        printf("revoked the token\n");
    else if (strchr(a.pos[0], '/') != NULL)
        printf("revoked the tokens named %s\n", a.pos[0]);
    else
        printf("revoked token %s\n", a.pos[0]);
    return CLI_EXIT_OK;
}

typedef struct token_ls_state {
    int json;
    int header_done;
} token_ls_state;

static void token_ls_header(token_ls_state *s)
{
    if (!s->json && !s->header_done)
        printf("%-6s %-20s %-5s  %-19s  %-19s  %s\n", "ID", "USER", "ROLE", "CREATED (UTC)",
               "LAST USED (UTC)", "NAME");
    s->header_done = 1;
}

static int token_ls_one(const weft_token_info *t, void *payload)
{
    token_ls_state *s = payload;
    char created[32], used[32];
    account_time(created, sizeof created, t->created, s->json);
    if (t->last_used != 0)
        account_time(used, sizeof used, t->last_used, s->json);
    if (s->json)
        return account_json_line(json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?}", "id", (json_int_t)t->id,
                                           "user", t->user, "name", t->name, "role",
                                           weft_role_name(t->role), "created", created, "last_used",
                                           t->last_used ? used : NULL));
    token_ls_header(s);
    printf("%-6lld %-20s %-5s  %s  %-19s  %s\n", (long long)t->id, t->user, weft_role_name(t->role),
           created, t->last_used ? used : "never", t->name);
    return 0;
}

static int token_ls(account_ctx *c, int argc, char **argv)
{
    static const char *const flags[] = {"--json", NULL};
    int set[1] = {0};
    account_args a;
    int status = account_parse(c, argc, argv, flags, set, NULL, NULL, 1, &a);
    if (status != 0)
        return status;
    int rc = account_open(c);
    if (rc < 0)
        return cli_fail(rc);
    /* The header comes with the first row, so an unknown USER prints nothing on stdout. */
    token_ls_state s = {.json = set[0]};
    rc = weft_meta_token_list(c->m, a.n_pos ? a.pos[0] : NULL, token_ls_one, &s);
    if (rc < 0)
        return cli_fail(rc);
    token_ls_header(&s);
    return CLI_EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------------------------- */

typedef struct account_sub {
    const char *name;
    const char *help;
    int (*run)(account_ctx *c, int argc, char **argv);
} account_sub;

typedef struct account_cmd {
    const char *verb;
    const char *help;
    const account_sub *subs;
    size_t n_subs;
} account_cmd;

static const account_sub user_subs[] = {
    {"create", user_create_help, user_create},
    {"ls", user_ls_help, user_ls},
};

static const account_sub org_subs[] = {
    {"create", org_create_help, org_create},
    {"add", org_add_help, org_add},
    {"rm", org_rm_help, org_rm},
    {"ls", org_ls_help, org_ls},
};

static const account_sub token_subs[] = {
    {"create", token_create_help, token_create},
    {"revoke", token_revoke_help, token_revoke},
    {"ls", token_ls_help, token_ls},
};

static int account_run(const account_cmd *cmd, int argc, char **argv)
{
    account_ctx c = {.dir = getenv("WEFT_HOME")};
    const account_sub *sub = NULL;
    char verb[32];
    int n = 0, status = CLI_EXIT_OK;
    if (c.dir == NULL || c.dir[0] == '\0')
        c.dir = "./weft-data";
    /* --data DIR anywhere before a "--" is taken out; the rest keeps its order. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL)
        return cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
    for (int i = 1, opts = 1; i < argc; i++) {
        if (opts && strcmp(argv[i], "--") == 0)
            opts = 0;
        if (opts && strcmp(argv[i], "--data") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                free(rest);
                return cli_usage_error(cmd->verb, "--data needs a directory");
            }
            c.dir = argv[++i];
        } else if (opts && strncmp(argv[i], "--data=", 7) == 0 && argv[i][7] != '\0') {
            c.dir = argv[i] + 7;
        } else {
            rest[n++] = argv[i];
        }
    }
    if (n == 0 || strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
        strcmp(rest[0], "help") == 0) {
        fputs(cmd->help, n == 0 ? stderr : stdout);
        free(rest);
        return n == 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t k = 0; k < cmd->n_subs; k++)
        if (strcmp(rest[0], cmd->subs[k].name) == 0)
            sub = &cmd->subs[k];
    if (sub == NULL) {
        status = cli_usage_error(cmd->verb, "unknown %s subcommand '%s'", cmd->verb, rest[0]);
        free(rest);
        return status;
    }
    for (int k = 1; k < n && strcmp(rest[k], "--") != 0; k++) {
        if (strcmp(rest[k], "--help") == 0 || strcmp(rest[k], "-h") == 0) {
            fputs(sub->help, stdout);
            free(rest);
            return CLI_EXIT_OK;
        }
    }
    snprintf(verb, sizeof verb, "%s %s", cmd->verb, sub->name);
    c.verb = verb;
    status = sub->run(&c, n, rest);
    weft_meta_close(c.m);
    free(rest);
    return status;
}

int cmd_user(int argc, char **argv)
{
    static const account_cmd cmd = {"user", user_help, user_subs,
                                    sizeof user_subs / sizeof user_subs[0]};
    return account_run(&cmd, argc, argv);
}

int cmd_org(int argc, char **argv)
{
    static const account_cmd cmd = {"org", org_help, org_subs,
                                    sizeof org_subs / sizeof org_subs[0]};
    return account_run(&cmd, argc, argv);
}

int cmd_token(int argc, char **argv)
{
    static const account_cmd cmd = {"token", token_help, token_subs,
                                    sizeof token_subs / sizeof token_subs[0]};
    return account_run(&cmd, argc, argv);
}
