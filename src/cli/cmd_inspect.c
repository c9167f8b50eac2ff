/* weft inspect: the tensors, parameter counts and metadata of a safetensors or GGUF file, from
 * its header bytes alone — a local file (pread of the first 8 + N bytes; GGUF in growing reads)
 * or a file on a Hub (Range requests, src/cli/tensor_remote.c), for one file or every tensor
 * file of a repo revision. The report itself is cli_inspect_render (tensor_file.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"
#include "tensor_file.h"
#include "tensor_remote.h"

static const char inspect_help[] =
    "usage: weft inspect [--json] FILE\n"
    "       weft inspect [--json] [--revision REV] REPO[@REV] [PATH]\n"
    "\n"
    "Shows what a .safetensors or .gguf file holds (the format is told by its first bytes):\n"
    "every tensor with its dtype, shape and size in bytes, the parameter count per dtype and\n"
    "in total, and the metadata (safetensors __metadata__, GGUF key/value pairs; long GGUF\n"
    "arrays are summarized). Only the header is read, so a multi-GB file takes milliseconds.\n"
    "The header is validated fully: a malformed file is reported, not shown.\n"
    "\n"
    "When the first argument is not a local file it names a repo on a Hub (HF_ENDPOINT or\n"
    "--endpoint): PATH in it, or, without PATH, every *.safetensors and *.gguf file of the\n"
    "revision followed by the parameter count of them all. Only header bytes are downloaded\n"
    "(Range requests: about 100 kB per file, more only for longer headers).\n"
    "\n"
    "  --json             one JSON object per file: format, file_size, metadata, tensors\n"
    "                     [{name, dtype, shape, bytes, offset}] (GGUF: type, ne), parameters\n"
    "                     {dtype: count}, total; a repo gives one line per file, then\n"
    "                     {\"files\": N, \"parameters\": {...}, \"total\": T}\n"
    "  --revision REV     branch, tag or commit (default main); REPO@REV is the same\n"
    "  --repo-type TYPE   model (default), dataset or space\n"
    "  --endpoint URL, --token TOKEN   as for every client command (docs/cli.md)\n"
    "\n"
    "examples:\n"
    "  weft inspect model.safetensors\n"
    "  weft inspect --json model.gguf | jq '.parameters'\n"
    "  weft inspect acme/llama-7b                      # every tensor file of main\n"
    "  weft inspect acme/llama-7b@v1.0 model-00001-of-00002.safetensors\n"
    "\n"
    "exit status: 0 shown, 2 usage, 3 no such file, repo or revision, 4 not a valid\n"
    "safetensors/GGUF file, 5 read error, 6 not allowed, 7 network\n";

static int inspect_local(const char *path, int json)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_fail(
            weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path));
    weft_tensor_header h;
    int rc = weft_tensor_header_read_fd(&h, fd, path);
    close(fd);
    if (rc == 0)
        rc = cli_inspect_render(stdout, &h, path, json);
    weft_tensor_header_dispose(&h);
    return rc ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- remote ------------------------------------------------------------------------------- */

typedef struct remote_ctx {
    weft_client *c;
    const weft_client_repo *repo;
    const char *rev;
    int json;
    size_t n_files;
    weft_tensor_param_sum sum;
} remote_ctx;

static int inspect_remote_file(remote_ctx *x, const char *path)
{
    weft_tensor_header h;
    int rc = cli_remote_tensor_header(&h, x->c, x->repo, x->rev, path);
    if (rc == 0) {
        char label[1024];
        snprintf(label, sizeof label, "%s@%s:%s", x->repo->id, x->rev, path);
        if (x->n_files && !x->json)
            putchar('\n');
        rc = cli_inspect_render(stdout, &h, label, x->json);
        weft_tensor_param_sum_add(&x->sum, &h);
        x->n_files++;
    }
    weft_tensor_header_dispose(&h);
    return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int inspect_tree_item(json_t *item, void *payload)
{
    remote_ctx *x = payload;
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *path = json_string_value(json_object_get(item, "path"));
    if (!type || !path || strcmp(type, "file") != 0 ||
        !(has_suffix(path, ".safetensors") || has_suffix(path, ".gguf")))
        return 0;
    return inspect_remote_file(x, path) ? -1 : 0;
}

static void print_repo_total(const remote_ctx *x)
{
    if (x->json) {
        json_t *params = json_object();
        for (size_t i = 0; i < x->sum.n; i++)
            json_object_set_new(params, x->sum.by[i].dtype,
                                json_integer((json_int_t)x->sum.by[i].count));
        json_t *o = json_pack("{s:I,s:o,s:I}", "files", (json_int_t)x->n_files, "parameters",
                              params, "total", (json_int_t)x->sum.total);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
        return;
    }
    printf("\n%s@%s: %zu tensor file%s\nparameters (all files):\n", x->repo->id, x->rev,
           x->n_files, x->n_files == 1 ? "" : "s");
    for (size_t i = 0; i < x->sum.n; i++)
        printf("  %-10s %" PRIu64 "\n", x->sum.by[i].dtype, x->sum.by[i].count);
    printf("  %-10s %" PRIu64 "\n", "total", x->sum.total);
}

static int inspect_remote(const cli_client_args *a, const char *rev_opt, int json)
{
    char spec[512];
    snprintf(spec, sizeof spec, "%s", a->pos[0]);
    char *at = strchr(spec, '@');
    const char *rev = rev_opt ? rev_opt : "main";
    if (at) {
        *at = 0;
        if (rev_opt || !at[1])
            return cli_usage_error("inspect", "give the revision once: REPO@REV or --revision");
        rev = at + 1;
    }
    weft_client *c;
    weft_client_repo repo;
    int st = cli_repo_open(&c, &repo, a, spec);
    if (st)
        return st;
    remote_ctx x = {.c = c, .repo = &repo, .rev = rev, .json = json};
    int rc;
    if (a->n_pos > 1) {
        const char *path = a->pos[1];
        while (*path == '/')
            path++;
        rc = inspect_remote_file(&x, path);
    } else {
        char *url = NULL;
        rc = cli_repo_url(&url, &repo, "/tree/", rev, NULL, "?recursive=true");
        if (rc == 0)
            rc = cli_list_pages(c, url, inspect_tree_item, &x);
        free(url);
        if (rc == 0 && x.n_files == 0)
            rc = weft_err_set(WEFT_ENOTFOUND, "%s@%s has no .safetensors or .gguf file", repo.id,
                              rev);
        if (rc == 0)
            print_repo_total(&x);
    }
    weft_client_free(c);
    return rc ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    const char *rev = NULL;
    const cli_opt opts[] = {{"--json", NULL, NULL, &json}, {"--revision", NULL, &rev, NULL}};
    cli_client_args a;
    int st = cli_args_parse(&a, "inspect", argc, argv, opts, 2, 1, 2, inspect_help);
    if (st != CLI_ARGS_GO)
        return st;
    struct stat sb;
    /* A name that exists here, or looks like a tensor file, is a local file (so a missing
     * model.safetensors is reported as such, not looked up as a repo). */
    int local = a.n_pos == 1 && !rev &&
                (stat(a.pos[0], &sb) == 0 || has_suffix(a.pos[0], ".safetensors") ||
                 has_suffix(a.pos[0], ".gguf"));
    st = local ? inspect_local(a.pos[0], json) : inspect_remote(&a, rev, json);
    if (st == CLI_EXIT_OK && fflush(stdout) != 0)
        st = CLI_EXIT_IO;
    return st;
}
