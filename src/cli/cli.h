/* Shared pieces of the weft command-line program: the command table entries, the mapping of
 * WEFT_E* codes to exit codes, and small option helpers. Every command is a function
 * `int cmd_<verb>(int argc, char **argv)` in src/cli/cmd_<verb>.c that returns the process
 * exit status; argv[0] is the verb itself. Errors are printed as "weft: <message>" on stderr. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stdint.h>

#define WEFT_VERSION "0.1.0"

/* Exit codes, documented in README.md and docs/cli.md. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,    /* anything not listed below */
    CLI_EXIT_USAGE = 2,    /* bad command line */
    CLI_EXIT_NOTFOUND = 3, /* the named file, hash or object does not exist */
    CLI_EXIT_CORRUPT = 4,  /* data failed its integrity checks */
    CLI_EXIT_IO = 5,       /* the operating system refused (disk full, permissions) */
    CLI_EXIT_AUTH = 6,     /* the server wants a token, or a better one (401, 403) */
    CLI_EXIT_NETWORK = 7,  /* the server could not be reached or broke off (client commands) */
};

/* Prints "weft: <weft_err_last()>" and returns the exit code for WEFT_E* `rc`. */
int cli_fail(int rc);

/* Prints "weft: <message>" plus a hint to run --help, returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct weft_client;

/* Opens a Hub client from --endpoint / --token values (NULL: from the environment, see
 * include/weft/client.h). On failure prints the error and returns its exit code (else 0). */
int cli_client_open(struct weft_client **out, const char *endpoint, const char *token);

/* Parses a size like "4096", "64KiB", "1MiB", "2GiB", "1G"; 0 on success. */
int cli_parse_size(const char *s, uint64_t *out);

/* Formats a byte count for humans ("1.50 GiB") into buf. Returns buf. */
const char *cli_human_bytes(char *buf, unsigned long buflen, uint64_t n);

/* The commands. */
int cmd_store(int argc, char **argv);
int cmd_xet(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_org(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_repo(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_branch(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_delta(int argc, char **argv);

#endif
