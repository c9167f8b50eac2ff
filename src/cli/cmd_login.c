/* weft login, logout, whoami, env: the token and configuration of the Hub client
 * (include/weft/client.h). login checks a token with GET /api/whoami-v2 (specs/hf-hub-api.md §3)
 * before it writes the token file `hf auth login` also uses ($HF_HOME/token, or HF_TOKEN_PATH), so
 * one login serves both tools. env never prints the token, only where it came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "client_args.h"

static const char login_help[] =
    "usage: weft login [--token TOKEN] [--endpoint URL]\n"
    "\n"
    "Checks an access token with the Hub (GET /api/whoami-v2) and saves it in the token file\n"
    "($HF_TOKEN_PATH, else $HF_HOME/token: the file 'hf auth login' writes, so one login serves\n"
    "both tools), readable only by you (mode 0600). Without --token the token is read from\n"
    "standard input: typed at a prompt that does not echo on a terminal, else the first line.\n"
    "HF_TOKEN (and HUGGING_FACE_HUB_TOKEN, HUGGINGFACE_API_KEY) still win over the file.\n"
    "\n"
    "options:\n"
    "  --token TOKEN   the token (visible in the process list: prefer stdin)\n"
    "  --endpoint URL  the Hub to check the token with (else $HF_ENDPOINT, else huggingface.co)\n"
    "\n"
    "examples:\n"
    "  weft login\n"
    "  echo \"$MY_TOKEN\" | weft login --endpoint http://hub.local:8080\n"
    "\n"
    "exit codes: 0 ok, 2 usage (no token given), 5 cannot write the file, 6 token rejected,\n"
    "7 network failure\n";

static const char logout_help[] =
    "usage: weft logout\n"
    "\n"
    "Removes the token file ($HF_TOKEN_PATH, else $HF_HOME/token). Tokens in HF_TOKEN and the\n"
    "other token variables are not affected (a note says so when one is set).\n"
    "\n"
    "example:\n"
    "  weft logout\n";

static const char whoami_help[] =
    "usage: weft whoami [--json] [--endpoint URL] [--token TOKEN]\n"
    "\n"
    "Shows who the token belongs to: the user name, their orgs, the token's name and role\n"
    "(read, write, admin) and where the token came from. --json prints the server's answer.\n"
    "\n"
    "examples:\n"
    "  weft whoami\n"
    "  HF_ENDPOINT=http://hub.local:8080 weft whoami --json\n"
    "\n"
    "exit codes: 0 ok, 6 no token or a token the Hub rejects, 7 network failure\n";

static const char env_help[] =
    "usage: weft env [--endpoint URL] [--token TOKEN]\n"
    "\n"
    "Prints the client configuration: the endpoint, where the token comes from (never the token\n"
    "itself), HF_HOME, the hub cache, the token file, the chunk cache and the versions of weft\n"
    "and libcurl. Paste it into bug reports.\n"
    "\n"
    "example:\n"
    "  weft env\n";

/* Reads a token from stdin into buf: without echo on a terminal, else the first line; empty
 * when none was given. */
static void login_read_token(char *buf, size_t len)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    int restore = 0;
    if (tty) {
        fputs("Token (input hidden): ", stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            restore = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
        }
    }
    buf[0] = '\0';
    char *got = fgets(buf, (int)len, stdin);
    if (restore)
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
    if (tty)
        fputc('\n', stderr);
    if (!got)
        buf[0] = '\0';
    /* Trim the newline and surrounding blanks that pasting adds. */
    size_t n = strlen(buf);
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    size_t skip = strspn(buf, " \t");
    memmove(buf, buf + skip, n - skip + 1);
}

/* GET /api/whoami-v2 with cfg's endpoint and token: *out is the caller's answer. */
static int login_whoami(json_t **out, const weft_client_config *cfg)
{
    weft_client *c = NULL;
    int rc = weft_client_new(&c, cfg);
    if (rc == 0)
        rc = weft_client_json(c, out, "GET", "/api/whoami-v2", NULL);
    weft_client_free(c);
    if (rc == 0 && !json_is_string(json_object_get(*out, "name")))
        rc = weft_err_set(WEFT_EINVALID, "%s/api/whoami-v2: the answer has no name", cfg->endpoint);
    return rc;
}

static const char *login_role(const json_t *who)
{
    const char *r = json_string_value(
        json_object_get(json_object_get(json_object_get(who, "auth"), "accessToken"), "role"));
    return r ? r : "unknown";
}

/* The first token variable that is set, or NULL: it overrides the token file. */
static const char *login_env_token(void)
{
    static const char *const names[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                                        "HUGGINGFACE_API_KEY"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && v[0])
            return names[i];
    }
    return NULL;
}

int cmd_login(int argc, char **argv)
{
    cli_client_args a;
    int st = cli_args_parse(&a, "login", argc, argv, NULL, 0, 0, 0, login_help);
    if (st != CLI_ARGS_GO)
        return st;
    char typed[512];
    const char *token = a.token;
    if (!token) {
        login_read_token(typed, sizeof typed);
        token = typed;
    }
    if (!token[0])
        return cli_usage_error("login", "no token given (use --token or type it on stdin)");
    weft_client_config cfg;
    int rc = weft_client_config_load(&cfg, a.endpoint, token);
    json_t *who = NULL;
    if (rc == 0)
        rc = login_whoami(&who, &cfg);
    if (rc == WEFT_EAUTH)
        weft_err_set(WEFT_EAUTH, "%s rejected the token: %s", cfg.endpoint, weft_err_last());
    if (rc == 0)
        rc = weft_client_token_save(&cfg, token);
    if (rc == 0) {
        printf("logged in to %s as %s (token role %s); token saved to %s\n", cfg.endpoint,
               json_string_value(json_object_get(who, "name")), login_role(who), cfg.token_path);
        const char *env = login_env_token();
        if (env)
            fprintf(stderr, "weft: note: %s is set and takes precedence over the token file\n",
                    env);
    }
    json_decref(who);
    weft_client_config_dispose(&cfg);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* Parses the command line of logout, whoami, env and loads the configuration into cfg. Returns
 * CLI_ARGS_GO, or the exit code to return now. */
static int login_start(weft_client_config *cfg, const char *verb, int argc, char **argv,
                       const cli_opt *opts, size_t n_opts, const char *help)
{
    cli_client_args a;
    int st = cli_args_parse(&a, verb, argc, argv, opts, n_opts, 0, 0, help);
    if (st != CLI_ARGS_GO)
        return st;
    int rc = weft_client_config_load(cfg, a.endpoint, a.token);
    return rc < 0 ? cli_fail(rc) : CLI_ARGS_GO;
}

int cmd_logout(int argc, char **argv)
{
    weft_client_config cfg;
    int st = login_start(&cfg, "logout", argc, argv, NULL, 0, logout_help);
    if (st != CLI_ARGS_GO)
        return st;
    int had = access(cfg.token_path, F_OK) == 0;
    int rc = weft_client_token_delete(&cfg);
    if (rc == 0) {
        if (had)
            printf("logged out: removed %s\n", cfg.token_path);
        else
            printf("not logged in: no token file at %s\n", cfg.token_path);
        const char *env = login_env_token();
        if (env)
            fprintf(stderr, "weft: note: %s is still set and gives a token\n", env);
    }
    weft_client_config_dispose(&cfg);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_whoami(int argc, char **argv)
{
    int as_json = 0;
    const cli_opt opts[] = {{"--json", NULL, NULL, &as_json}};
    weft_client_config cfg;
    int st = login_start(&cfg, "whoami", argc, argv, opts, 1, whoami_help);
    if (st != CLI_ARGS_GO)
        return st;
    int rc;
    json_t *who = NULL;
    if (!cfg.token)
        rc = weft_err_set(WEFT_EAUTH, "not logged in: no token (set HF_TOKEN or run 'weft login')");
    else
        rc = login_whoami(&who, &cfg);
    if (rc == 0 && as_json) {
        cli_print_json(who);
    } else if (rc == 0) {
        printf("user      %s\n", json_string_value(json_object_get(who, "name")));
        printf("orgs      ");
        cli_print_joined(json_object_get(who, "orgs"), "name", ", ");
        putchar('\n');
        const json_t *tok = json_object_get(json_object_get(who, "auth"), "accessToken");
        const char *dn = json_string_value(json_object_get(tok, "displayName"));
        printf("token     %s, role %s, from %s\n", dn && dn[0] ? dn : "(unnamed)", login_role(who),
               cfg.token_source ? cfg.token_source : "?");
        printf("endpoint  %s\n", cfg.endpoint);
    }
    json_decref(who);
    weft_client_config_dispose(&cfg);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_env(int argc, char **argv)
{
    weft_client_config cfg;
    int st = login_start(&cfg, "env", argc, argv, NULL, 0, env_help);
    if (st != CLI_ARGS_GO)
        return st;
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    printf("endpoint      %s\n", cfg.endpoint);
    printf("token         %s\n", cfg.token ? cfg.token_source : "none");
    printf("HF_HOME       %s\n", cfg.hf_home);
    printf("hub cache     %s\n", cfg.hub_cache);
    printf("token file    %s%s\n", cfg.token_path,
           access(cfg.token_path, F_OK) == 0 ? "" : " (absent)");
    printf("chunk cache   %s\n", cfg.chunk_cache);
    printf("weft          %s\n", WEFT_VERSION);
    printf("libcurl       %s\n", v && v->version ? v->version : "?");
    weft_client_config_dispose(&cfg);
    return CLI_EXIT_OK;
}
