/* weft: the command table and the helpers every command shares (src/cli/cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "weft/err.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

/* A NULL run starts a group heading in --help. */
static const cli_command commands[] = {
    {"the hub (this machine)", NULL, NULL},
    {"serve", cmd_serve, "the Hugging Face Hub-compatible server (API, LFS, Xet, git)"},
    {"user", cmd_user, "user accounts of the hub: create, ls"},
    {"org", cmd_org, "organizations and their members: create, add, rm, ls"},
    {"token", cmd_token, "access tokens: create, revoke, ls"},
    {"store", cmd_store, "the chunk store: put, get, ls, rm, stats, fsck, gc"},
    {"xet", cmd_xet, "Xet formats on local files: chunk boundaries and hashes"},
    {"inspect", cmd_inspect, "tensors, parameter counts and metadata of a safetensors/GGUF file"},
    {"diff", cmd_diff, "compare two safetensors files tensor by tensor"},
    {"delta", cmd_delta, "portable deltas of a fine-tune against its base: create, apply"},
    {"client (any Hub-compatible server, HF_ENDPOINT)", NULL, NULL},
    {"login", cmd_login, "check a Hub token and save it for weft and the hf tools"},
    {"logout", cmd_logout, "remove the saved token"},
    {"whoami", cmd_whoami, "who the token belongs to: user, orgs, role"},
    {"env", cmd_env, "the client configuration: endpoint, token source, cache paths"},
    {"download", cmd_download, "files of a Hub repo into the HF cache or a folder"},
    {"upload", cmd_upload, "a file or folder into a repo on a Hub, as one commit"},
    {"repo", cmd_repo, "repos on a Hub: create, delete, move, settings"},
    {"ls", cmd_ls, "the files of a repo on a Hub"},
    {"info", cmd_info, "a repo's info: commit, visibility, files, tags, card data"},
    {"log", cmd_log, "the commits of a repo on a Hub"},
    {"branch", cmd_branch, "branches of a repo on a Hub: create, delete, ls"},
    {"tag", cmd_tag, "tags of a repo on a Hub: create, delete, ls"},
    {"rm", cmd_rm, "delete files or folders of a repo on a Hub, as one commit"},
    {"cache", cmd_cache, "the local Hugging Face cache: ls, rm, prune"},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "weft %s: a self-hosted model hub that stores files as Xet chunks.\n"
            "\n"
            "usage: weft <command> [options]\n"
            "\n"
            "commands:",
            WEFT_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].run)
            fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
        else
            fprintf(out, "\n %s:\n", commands[i].name);
    }
    fprintf(out,
            "\n"
            "Run 'weft <command> --help' for a command's options and examples.\n"
            "\n"
            "environment:\n"
            "  WEFT_HOME    the data directory of serve, user, org, token (--data) and of store\n"
            "               (--store) when not given (default ./weft-data)\n"
            "  WEFT_LOG     log level: error, warn (default), info, debug\n"
            "  WEFT_KERNEL  'ref' forces the portable reference kernels (no SIMD)\n"
            "  HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_TOKEN_PATH, WEFT_CHUNK_CACHE:\n"
            "               the client's server, token and caches, as the Hugging Face tools read\n"
            "               them ('weft env' shows what is in effect)\n"
            "\n"
            "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 corrupt data, 5 i/o error,\n"
            "            6 not allowed (token missing or too weak), 7 network failure\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("weft %s\n", WEFT_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].run && strcmp(verb, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "weft: unknown command '%s'; run 'weft --help' for the list\n", verb);
    return CLI_EXIT_USAGE;
}

int cli_fail(int rc)
{
    const char *msg = weft_err_last();
    fprintf(stderr, "weft: %s\n", msg[0] ? msg : weft_err_name(rc));
    switch (rc) {
    case WEFT_ENOTFOUND: return CLI_EXIT_NOTFOUND;
    case WEFT_ECORRUPT: return CLI_EXIT_CORRUPT;
    case WEFT_EIO: return CLI_EXIT_IO;
    case WEFT_EAUTH: return CLI_EXIT_AUTH;
    case WEFT_ENETWORK: return CLI_EXIT_NETWORK;
    case WEFT_EINVALID: return CLI_EXIT_USAGE;
    default: return CLI_EXIT_ERROR;
    }
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fputs("weft: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nrun 'weft %s --help' for usage\n", verb);
    return CLI_EXIT_USAGE;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mult = 1;
    if (*end == '\0' || strcmp(end, "B") == 0)
        mult = 1;
    else if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0 || strcmp(end, "k") == 0)
        mult = 1ull << 10;
    else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
        mult = 1ull << 20;
    else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)
        mult = 1ull << 30;
    else if (strcmp(end, "KB") == 0)
        mult = 1000;
    else if (strcmp(end, "MB") == 0)
        mult = 1000000;
    else if (strcmp(end, "GB") == 0)
        mult = 1000000000;
    else
        return -1;
    if (__builtin_mul_overflow((uint64_t)v, mult, out))
        return -1;
    return 0;
}

const char *cli_human_bytes(char *buf, unsigned long buflen, uint64_t n)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, buflen, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, buflen, "%.2f %s", v, units[u]);
    return buf;
}
