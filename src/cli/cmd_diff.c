/* weft diff: tensor-by-tensor comparison of two safetensors files — two local files (headers from
 * weft/tensor_header.h, bytes read with pread in fixed pieces by weft_tdiff_run, so memory stays
 * at two buffers whatever the sizes) or two revisions of a repo on a Hub (the server's
 * tensor-diff endpoint compares them where the bytes are; only the report moves). Both print
 * from the same JSON report, so they look the same. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"
#include "weft/tensor_diff.h"
#include "weft/tensor_header.h"

static const char diff_help[] =
    "usage: weft diff [--json] A B\n"
    "       weft diff [--json] REPO@REV_A REPO@REV_B [PATH]\n"
    "\n"
    "Compares two .safetensors files tensor by tensor (matched by name):\n"
    "  identical  same dtype, shape and bytes\n"
    "  changed    same dtype and shape, other bytes: the largest absolute difference, the\n"
    "             relative L2 change ||B-A|| / ||A|| and the share of elements that differ\n"
    "  added      only in B          removed   only in A\n"
    "  reshaped   same dtype, other shape     retyped   other dtype\n"
    "NaN and infinite values count as changed when their bytes differ, but stay out of the\n"
    "max and L2 figures. The files are read one piece at a time, so their size does not matter;\n"
    "tensors whose bytes are equal are recognized without converting them.\n"
    "\n"
    "With two revisions of one repo on a Hub (HF_ENDPOINT or --endpoint; the Hub must be a\n"
    "weft serve: this is its tensor-diff endpoint), the server lists the files added, removed\n"
    "and changed between them and compares every changed .safetensors file (or only PATH)\n"
    "where the bytes are stored: nothing but the report is downloaded.\n"
    "\n"
    "  --json   one JSON object: a, b, tensors [{name, status, dtype, shape, elements,\n"
    "           changed_elements, changed_share, max_abs_diff, rel_l2}], summary {status: n};\n"
    "           for revisions: a, b {revision, sha}, files [{path, status, tensors, summary}],\n"
    "           summary {added, removed, changed, identical} (docs/http-api.md)\n"
    "  --repo-type TYPE, --endpoint URL, --token TOKEN   for revisions, as for every client\n"
    "           command (docs/cli.md)\n"
    "\n"
    "examples:\n"
    "  weft diff base/model.safetensors finetune/model.safetensors\n"
    "  weft diff --json a.safetensors b.safetensors | jq '.summary'\n"
    "  weft diff acme/llama@v1 acme/llama@main model.safetensors\n"
    "\n"
    "exit status: 0 compared (whether or not they differ), 2 usage or not safetensors files,\n"
    "3 no such file, repo or revision, 4 a malformed file, 5 read error, 6 not allowed,\n"
    "7 network\n";

/* ---- printing the report ------------------------------------------------------------------ */

static void shape_text(char *buf, size_t len, const json_t *shape)
{
    size_t used = 0, i;
    json_t *v;
    buf[0] = 0;
    used += (size_t)snprintf(buf, len, "[");
    json_array_foreach(shape, i, v)
    {
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, i ? ", %" JSON_INTEGER_FORMAT
                                                               : "%" JSON_INTEGER_FORMAT,
                                     json_integer_value(v));
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : INFINITY; /* null: not finite */
}

/* The tensors and summary of one file's comparison (weft_tdiff_to_json's shape). */
static void print_tensors(const json_t *report)
{
    const json_t *tensors = json_object_get(report, "tensors");
    size_t i;
    json_t *t;
    printf("%-10s %-48s %-6s %-18s %10s %10s %8s\n", "status", "tensor", "dtype", "shape",
           "max_abs", "rel_l2", "changed");
    json_array_foreach(tensors, i, t)
    {
        const char *status = json_string_value(json_object_get(t, "status"));
        const char *name = json_string_value(json_object_get(t, "name"));
        printf("%-10s %-48s ", status ? status : "?", name ? name : "?");
        const json_t *a = json_object_get(t, "a"), *b = json_object_get(t, "b");
        char sa[64], sb[64];
        if (a && b) { /* reshaped or retyped */
            shape_text(sa, sizeof sa, json_object_get(a, "shape"));
            shape_text(sb, sizeof sb, json_object_get(b, "shape"));
            printf("%s %s -> %s %s\n", json_string_value(json_object_get(a, "dtype")), sa,
                   json_string_value(json_object_get(b, "dtype")), sb);
            continue;
        }
        shape_text(sb, sizeof sb, json_object_get(t, "shape"));
        const char *dtype = json_string_value(json_object_get(t, "dtype"));
        if (!status || strcmp(status, "changed") != 0) { /* no trailing blanks */
            printf("%-6s %s\n", dtype ? dtype : "?", sb);
            continue;
        }
        printf("%-6s %-18s %10.3e %10.3e %7.2f%%", dtype ? dtype : "?", sb,
               num(t, "max_abs_diff"), num(t, "rel_l2"), 100.0 * num(t, "changed_share"));
        json_int_t nf = json_integer_value(json_object_get(t, "nonfinite_changed"));
        if (nf)
            printf(" (%" JSON_INTEGER_FORMAT " NaN/inf)", nf);
        putchar('\n');
    }
    const json_t *s = json_object_get(report, "summary");
    printf("summary: %zu tensors", json_array_size(tensors));
    const char *kinds[] = {"identical", "changed", "added", "removed", "reshaped", "retyped"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        printf("%s %" JSON_INTEGER_FORMAT " %s", k ? "," : ":",
               json_integer_value(json_object_get(s, kinds[k])), kinds[k]);
    putchar('\n');
}

/* A comparison of two revisions (the tensor-diff endpoint's shape). */
static void print_revisions(const json_t *r)
{
    const json_t *a = json_object_get(r, "a"), *b = json_object_get(r, "b");
    printf("a: %s (%s)\nb: %s (%s)\n", json_string_value(json_object_get(a, "revision")),
           json_string_value(json_object_get(a, "sha")),
           json_string_value(json_object_get(b, "revision")),
           json_string_value(json_object_get(b, "sha")));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "files"), i, f)
    {
        printf("\n%-10s %s\n", json_string_value(json_object_get(f, "status")),
               json_string_value(json_object_get(f, "path")));
        const char *err = json_string_value(json_object_get(f, "error"));
        if (err)
            printf("  not compared: %s\n", err);
        else if (json_object_get(f, "tensors"))
            print_tensors(f);
    }
    const json_t *s = json_object_get(r, "summary");
    printf("\nfiles: %" JSON_INTEGER_FORMAT " added, %" JSON_INTEGER_FORMAT
           " removed, %" JSON_INTEGER_FORMAT " changed, %" JSON_INTEGER_FORMAT " identical\n",
           json_integer_value(json_object_get(s, "added")),
           json_integer_value(json_object_get(s, "removed")),
           json_integer_value(json_object_get(s, "changed")),
           json_integer_value(json_object_get(s, "identical")));
}

/* ---- two local files ---------------------------------------------------------------------- */

typedef struct diff_side {
    weft_tensor_fd src;
    weft_tensor_header h;
} diff_side;

static int diff_open(diff_side *s, const char *path)
{
    s->src.path = path;
    s->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->src.fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path);
    int rc = weft_tensor_header_read_fd(&s->h, s->src.fd, path);
    if (rc == 0 && !s->h.st)
        rc = weft_err_set(WEFT_EINVALID, "%s: diff compares safetensors files, this is GGUF", path);
    return rc;
}

static int diff_local(const char *pa, const char *pb, json_t **report)
{
    diff_side a = {.src.fd = -1}, b = {.src.fd = -1};
    weft_tdiff *d = NULL;
    int rc = diff_open(&a, pa);
    if (rc == 0)
        rc = diff_open(&b, pb);
    if (rc == 0)
        rc = weft_tdiff_plan(&d, a.h.st, b.h.st);
    if (rc == 0)
        rc = weft_tdiff_run(d, weft_tensor_fd_read, &a.src, weft_tensor_fd_read, &b.src);
    if (rc == 0)
        rc = weft_tdiff_to_json(report, d);
    if (rc == 0 && (json_object_set_new(*report, "a", json_string(pa)) != 0 ||
                    json_object_set_new(*report, "b", json_string(pb)) != 0))
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    weft_tdiff_free(d);
    weft_tensor_header_dispose(&a.h);
    weft_tensor_header_dispose(&b.h);
    if (a.src.fd >= 0)
        close(a.src.fd);
    if (b.src.fd >= 0)
        close(b.src.fd);
    return rc;
}

/* ---- two revisions on a Hub --------------------------------------------------------------- */

/* Splits "REPO@REV" at the '@' into repo and rev (copies); 0 when there is none. */
static int split_at(const char *spec, char *repo, size_t cap, const char **rev)
{
    const char *at = strchr(spec, '@');
    if (!at || at == spec || !at[1] || (size_t)(at - spec) >= cap)
        return 0;
    memcpy(repo, spec, (size_t)(at - spec));
    repo[at - spec] = 0;
    *rev = at + 1;
    return 1;
}

static int diff_remote(const cli_client_args *args, const char *repo_a, const char *rev_a,
                       const char *rev_b, json_t **report)
{
    weft_client *c;
    weft_client_repo repo;
    int st = cli_repo_open(&c, &repo, args, repo_a);
    if (st)
        return st;
    size_t qlen = 3 * strlen(rev_a) + 3 * strlen(rev_b) + 8;
    char *revs = malloc(qlen), *url = NULL, *epath = NULL;
    int rc = revs ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    char query[1100] = "";
    if (rc == 0 && args->n_pos > 2) {
        rc = weft_client_url_escape(&epath, args->pos[2], 1);
        if (rc == 0 && strlen(epath) + 8 >= sizeof query)
            rc = weft_err_set(WEFT_EINVALID, "path too long");
        if (rc == 0)
            snprintf(query, sizeof query, "?path=%s", epath);
    }
    /* the revisions go as one path segment each side of "...", escaped like any revision */
    char *ea = NULL, *eb = NULL;
    if (rc == 0)
        rc = weft_client_url_escape(&ea, rev_a, 0);
    if (rc == 0)
        rc = weft_client_url_escape(&eb, rev_b, 0);
    if (rc == 0) {
        snprintf(revs, qlen, "%s...%s", ea, eb);
        char api[512];
        rc = weft_client_repo_api_path(api, sizeof api, &repo);
        size_t len = strlen(api) + strlen(revs) + strlen(query) + 32;
        if (rc == 0 && !(url = malloc(len)))
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        if (rc == 0)
            snprintf(url, len, "%s/tensor-diff/%s%s", api, revs, query);
    }
    if (rc == 0)
        rc = weft_client_json(c, report, "GET", url, NULL);
    free(ea);
    free(eb);
    free(revs);
    free(url);
    free(epath);
    weft_client_free(c);
    return rc ? cli_fail(rc) : 0;
}

int cmd_diff(int argc, char **argv)
{
    int json = 0;
    const cli_opt opts[] = {{"--json", NULL, NULL, &json}};
    cli_client_args args;
    int st = cli_args_parse(&args, "diff", argc, argv, opts, 1, 2, 3, diff_help);
    if (st != CLI_ARGS_GO)
        return st;
    char repo_a[512], repo_b[512];
    const char *rev_a, *rev_b;
    struct stat sb;
    int remote = stat(args.pos[0], &sb) != 0 && stat(args.pos[1], &sb) != 0 &&
                 split_at(args.pos[0], repo_a, sizeof repo_a, &rev_a) &&
                 split_at(args.pos[1], repo_b, sizeof repo_b, &rev_b);
    if (remote && strcmp(repo_a, repo_b) != 0)
        return cli_usage_error("diff", "compare two revisions of one repo (got %s and %s)",
                               repo_a, repo_b);
    if (!remote && args.n_pos > 2)
        return cli_usage_error("diff", "PATH goes with two revisions, REPO@A REPO@B PATH");
    json_t *report = NULL;
    if (remote) {
        st = diff_remote(&args, repo_a, rev_a, rev_b, &report);
        if (st)
            return st;
    } else {
        int rc = diff_local(args.pos[0], args.pos[1], &report);
        if (rc)
            return cli_fail(rc);
    }
    if (json)
        cli_print_json(report);
    else if (remote)
        print_revisions(report);
    else {
        printf("a: %s\nb: %s\n", args.pos[0], args.pos[1]);
        print_tensors(report);
    }
    json_decref(report);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}
