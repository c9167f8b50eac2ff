/* Command lines of the Hub client commands (login, repo, ls, info, log, branch, tag, rm): one
 * option parser that knows the options every client command shares (--endpoint, --token,
 * --repo-type, --help) beside the command's own, and the small steps each command repeats
 * (open a client for a repo, follow paginated listings, ask for confirmation). Single-threaded;
 * errors are printed here ("weft: <message>") and come back as exit codes (src/cli/cli.h). */
#ifndef WEFT_CLI_CLIENT_ARGS_H
#define WEFT_CLI_CLIENT_ARGS_H

#include <stddef.h>

#include <jansson.h>

#include "weft/client.h"

/* One option of a command: a flag (sets *flag to 1) or an option with a value (sets *value to
 * the argv string, borrowed). `alias` is a short form such as "-R" or NULL. */
typedef struct cli_opt {
    const char *name;
    const char *alias;
    const char **value;
    int *flag;
} cli_opt;

/* The options all client commands take. Strings are borrowed from argv. */
typedef struct cli_client_args {
    const char *endpoint;
    const char *token;
    const char *repo_type;
    const char *pos[1024]; /* positional arguments, in order */
    size_t n_pos;
} cli_client_args;

/* Returned by cli_args_parse when the command should go on. */
#define CLI_ARGS_GO (-1)

/* Parses argv[1..argc) ("--opt value", "--opt=value", "-x value", "--" ends options) into `out`
 * and the command's `opts` (n_opts of them). Positional arguments beyond `max_pos` or fewer than
 * `min_pos`, and unknown options, are usage errors of `verb` (a string such as "repo create").
 * --help/-h prints `help` to stdout. Returns CLI_ARGS_GO, or the exit code to return now. */
int cli_args_parse(cli_client_args *out, const char *verb, int argc, char **argv,
                   const cli_opt *opts, size_t n_opts, size_t min_pos, size_t max_pos,
                   const char *help);

/* A subcommand of a command with several (repo, branch, tag). */
typedef struct cli_sub {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_sub;

/* Runs the subcommand argv[1] names with (argc - 1, argv + 1), or prints `help` for --help.
 * Returns the exit code. */
int cli_sub_run(const char *verb, int argc, char **argv, const cli_sub *subs, size_t n_subs,
                const char *help);

/* Parses `spec` with args->repo_type into `repo` and opens a client from args (see
 * cli_client_open). Returns 0 or the exit code after printing the error. */
int cli_repo_open(weft_client **client, weft_client_repo *repo, const cli_client_args *args,
                  const char *spec);

/* cli_args_parse, then cli_repo_open on the first positional argument: the start of every
 * command on one repo. Returns CLI_ARGS_GO with *client open (the caller's, weft_client_free),
 * or the exit code to return now (*client NULL). */
int cli_repo_args(cli_client_args *out, weft_client **client, weft_client_repo *repo,
                  const char *verb, int argc, char **argv, const cli_opt *opts, size_t n_opts,
                  size_t min_pos, size_t max_pos, const char *help);

/* "<api path of repo><what>[<rev>][/<path>][<query>]" into *out (the caller's, free): rev is
 * percent-encoded whole ("refs/pr/1" -> "refs%2Fpr%2F1", as the clients send it), path keeps its
 * slashes; rev, path and query may be NULL. E.g. ("/tree/", "main", "a b", "?recursive=true")
 * -> /api/models/ns/name/tree/main/a%20b?recursive=true. Returns 0 or a WEFT_E* code. */
int cli_repo_url(char **out, const weft_client_repo *repo, const char *what, const char *rev,
                 const char *path, const char *query);

/* Calls on_item for every element of the JSON arrays a paginated listing returns from `url`
 * and the pages its Link rel="next" headers name, until on_item returns non-zero (then stops
 * and returns 0) or the pages end. Returns 0 or a WEFT_E* code. */
int cli_list_pages(weft_client *c, const char *url, int (*on_item)(json_t *item, void *payload),
                   void *payload);

/* Prints the strings of the array `arr` (with `key`: the string `key` of each object in it)
 * separated by `sep`, or "-" when there are none. */
void cli_print_joined(const json_t *arr, const char *key, const char *sep);

/* Prints `j` as indented JSON and a newline on stdout (the --json output of a command). */
void cli_print_json(const json_t *j);

/* Asks `question` on the terminal and reads a line; 1 if the answer starts with 'y' or 'Y'. */
int cli_confirm(const char *question);

#endif
