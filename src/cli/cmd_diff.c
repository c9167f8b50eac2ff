/* weft diff A B: tensor-by-tensor comparison of two local safetensors files. Headers come from
 * tensor_file.c, the comparison from lib/tensor/tensor_diff.c; here the tensors' bytes are read
 * with pread in fixed pieces, so memory stays at two buffers whatever the file sizes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"
#include "tensor_file.h"
#include "weft/fsutil.h"
#include "weft/tensor_diff.h"

/* Bytes per read: a multiple of 24, so every piece holds whole elements of every dtype. */
#define DIFF_PIECE ((4u << 20) - (4u << 20) % 24)

static const char diff_help[] =
    "usage: weft diff [--json] A B\n"
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
    "  --json   one JSON object: a, b, tensors [{name, status, dtype, shape, elements,\n"
    "           changed_elements, changed_share, max_abs_diff, rel_l2}], summary {status: n}\n"
    "\n"
    "examples:\n"
    "  weft diff base/model.safetensors finetune/model.safetensors\n"
    "  weft diff --json a.safetensors b.safetensors | jq '.summary'\n"
    "\n"
    "exit status: 0 compared (whether or not they differ), 2 usage or not safetensors files,\n"
    "3 no such file, 4 a malformed file, 5 read error\n";

typedef struct diff_side {
    const char *path;
    int fd;
    cli_tensor_header h;
} diff_side;

static int diff_open(diff_side *s, const char *path)
{
    s->path = path;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path);
    int rc = cli_tensor_header_read_fd(&s->h, s->fd, path);
    if (rc == 0 && !s->h.st)
        rc = weft_err_set(WEFT_EINVALID, "%s: diff compares safetensors files, this is GGUF", path);
    return rc;
}

/* Feeds one tensor pair to the comparison, piece by piece. */
static int diff_tensor(weft_tdiff *d, weft_tdiff_entry *e, diff_side *a, diff_side *b, uint8_t *ba,
                       uint8_t *bb)
{
    uint64_t len = e->a->end - e->a->begin;
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off < DIFF_PIECE ? (size_t)(len - off) : DIFF_PIECE;
        int rc = weft_fs_pread_full(a->fd, ba, n, e->a->abs_begin + off, a->path);
        if (rc == 0)
            rc = weft_fs_pread_full(b->fd, bb, n, e->b->abs_begin + off, b->path);
        if (rc == 0)
            rc = weft_tdiff_update(e, ba, bb, n);
        if (rc)
            return rc;
        off += n;
    }
    return weft_tdiff_finish(d, e);
}

static void shape_str(char *buf, size_t len, const weft_st_tensor *t)
{
    size_t used = 0;
    int n = snprintf(buf, len, "[");
    used = n > 0 ? (size_t)n : 0;
    for (uint32_t d = 0; d < t->rank && used < len; d++) {
        n = snprintf(buf + used, len - used, d ? ", %" PRIu64 : "%" PRIu64, t->shape[d]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

static void print_text(const weft_tdiff *d, const char *pa, const char *pb)
{
    printf("a: %s\nb: %s\n", pa, pb);
    printf("%-10s %-48s %-6s %-18s %10s %10s %8s\n", "status", "tensor", "dtype", "shape",
           "max_abs", "rel_l2", "changed");
    for (size_t i = 0; i < d->n; i++) {
        const weft_tdiff_entry *e = &d->entries[i];
        const weft_st_tensor *t = e->b ? e->b : e->a;
        char sa[64], sb[64];
        shape_str(sb, sizeof sb, t);
        printf("%-10s %-48s ", weft_tdiff_kind_name(e->kind), e->name);
        if (e->kind == WEFT_TDIFF_RESHAPED || e->kind == WEFT_TDIFF_RETYPED) {
            shape_str(sa, sizeof sa, e->a);
            printf("%s %s -> %s %s\n", weft_dtype_name(e->a->dtype), sa,
                   weft_dtype_name(e->b->dtype), sb);
            continue;
        }
        if (e->kind != WEFT_TDIFF_CHANGED) {
            printf("%-6s %s\n", weft_dtype_name(t->dtype), sb);
            continue;
        }
        const weft_tdiff_stats *s = &e->stats;
        printf("%-6s %-18s %10.3e %10.3e %7.2f%%", weft_dtype_name(t->dtype), sb, s->max_abs,
               weft_tdiff_rel_l2(s), 100.0 * (double)s->n_changed / (double)s->n_elems);
        if (s->n_nonfinite)
            printf(" (%" PRIu64 " NaN/inf)", s->n_nonfinite);
        putchar('\n');
    }
    printf("summary: %zu tensors: %zu identical, %zu changed, %zu added, %zu removed, "
           "%zu reshaped, %zu retyped\n",
           d->n, d->count[WEFT_TDIFF_IDENTICAL], d->count[WEFT_TDIFF_CHANGED],
           d->count[WEFT_TDIFF_ADDED], d->count[WEFT_TDIFF_REMOVED], d->count[WEFT_TDIFF_RESHAPED],
           d->count[WEFT_TDIFF_RETYPED]);
}

int cmd_diff(int argc, char **argv)
{
    int json = 0;
    const cli_opt opts[] = {{"--json", NULL, NULL, &json}};
    cli_client_args args;
    int st = cli_args_parse(&args, "diff", argc, argv, opts, 1, 2, 2, diff_help);
    if (st != CLI_ARGS_GO)
        return st;
    diff_side a = {.fd = -1}, b = {.fd = -1};
    weft_tdiff *d = NULL;
    json_t *j = NULL;
    uint8_t *ba = NULL, *bb = NULL;
    int rc = diff_open(&a, args.pos[0]);
    if (rc == 0)
        rc = diff_open(&b, args.pos[1]);
    if (rc == 0)
        rc = weft_tdiff_plan(&d, a.h.st, b.h.st);
    if (rc)
        goto out;
    ba = malloc(DIFF_PIECE);
    bb = malloc(DIFF_PIECE);
    if (!ba || !bb) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->n && rc == 0; i++)
        if (weft_tdiff_needs_data(&d->entries[i]))
            rc = diff_tensor(d, &d->entries[i], &a, &b, ba, bb);
    if (rc)
        goto out;
    if (json) {
        rc = weft_tdiff_to_json(&j, d);
        if (rc == 0 && (json_object_set_new(j, "a", json_string(a.path)) != 0 ||
                        json_object_set_new(j, "b", json_string(b.path)) != 0))
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        if (rc == 0)
            cli_print_json(j);
    } else {
        print_text(d, a.path, b.path);
    }
out:
    json_decref(j);
    free(ba);
    free(bb);
    weft_tdiff_free(d);
    cli_tensor_header_dispose(&a.h);
    cli_tensor_header_dispose(&b.h);
    if (a.fd >= 0)
        close(a.fd);
    if (b.fd >= 0)
        close(b.fd);
    if (rc)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}
