/* weft delta create|apply|info: portable delta files of safetensors fine-tunes against their
 * base (format and coding in lib/tensor/delta_file.c). Files are mmap'ed; the delta or the
 * rebuilt file is written piece by piece to a temp file next to -o, fsync'ed and renamed into
 * place only when complete and verified (apply: the base's and the result's SHA-256), so a
 * failure leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"
#include "weft/delta_file.h"
#include "weft/delta_stream.h"
#include "weft/fsutil.h"
#include "weft/progress.h"
#include "weft/sha256.h"

/* Files at least this large get a progress bar on a terminal. */
#define DELTA_PROGRESS_MIN (64ull << 20)

static const char delta_help[] =
    "usage: weft delta create BASE FT -o FILE [--lossy int8|int4|1bit] [--quiet]\n"
    "       weft delta apply BASE FILE -o FT [--quiet]\n"
    "       weft delta info FILE\n"
    "\n"
    "A delta file holds a safetensors fine-tune FT as its difference from its base model BASE\n"
    "(tensors matched by name, shape and dtype, whatever the order or header size of the two\n"
    "files). 'apply' rebuilds FT bit-exactly from BASE and the delta: it checks that BASE is\n"
    "the file the delta was made against (SHA-256) and the SHA-256 of the result before moving\n"
    "it into place.\n"
    "\n"
    "  -o, --output PATH  the file to write (a temp file beside it until verified)\n"
    "  --lossy KIND       create only: quantize each changed tensor's delta (ft - base):\n"
    "                     int8, int4 (symmetric, one scale per tensor: max |delta| / 127 or / 7)\n"
    "                     or 1bit (sign bits, one scale per tensor: mean |delta|, as BitDelta).\n"
    "                     Prints the error it introduced per tensor and overall; apply then\n"
    "                     rebuilds that approximation (its SHA-256 is in the file), not FT\n"
    "  -q, --quiet        no progress bar and no summary line\n"
    "\n"
    "examples:\n"
    "  weft delta create base/model.safetensors ft/model.safetensors -o ft.weftdelta\n"
    "  weft delta apply base/model.safetensors ft.weftdelta -o model.safetensors\n"
    "  weft delta create --lossy int8 base.safetensors ft.safetensors -o ft-int8.weftdelta\n"
    "  weft delta info ft.weftdelta\n"
    "\n"
    "exit status: 0 done, 1 BASE is not the base the delta was made against (or another\n"
    "error), 2 usage or an input that is not a safetensors file, 3 no such file, 4 a corrupt\n"
    "delta file or a result whose SHA-256 does not match, 5 read or write error\n";

typedef struct delta_map {
    const char *path;
    int fd;
    uint8_t *p;
    uint64_t len;
} delta_map;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int map_open(delta_map *m, const char *path)
{
    struct stat st;
    m->path = path;
    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path);
    if (fstat(m->fd, &st) != 0)
        return weft_err_sys(WEFT_EIO, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return weft_err_set(WEFT_EINVALID, "%s: not a regular file", path);
    m->len = (uint64_t)st.st_size;
    if (m->len == 0)
        return 0;
    void *p = mmap(NULL, (size_t)m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
    if (p == MAP_FAILED)
        return weft_err_sys(WEFT_EIO, errno, "mmap %s", path);
    m->p = p;
    madvise(p, (size_t)m->len, MADV_SEQUENTIAL);
    return 0;
}

static void map_close(delta_map *m)
{
    if (m->p != NULL)
        munmap(m->p, (size_t)m->len);
    if (m->fd >= 0)
        close(m->fd);
}

static int sha_of(uint8_t out[32], const delta_map *m)
{
    weft_sha256 s;
    int rc = weft_sha256_init(&s);
    if (rc < 0)
        return rc;
    for (uint64_t off = 0; off < m->len; off += 64u << 20) {
        uint64_t n = m->len - off < (64u << 20) ? m->len - off : (64u << 20);
        weft_sha256_update(&s, m->p + off, (size_t)n);
    }
    weft_sha256_final(&s, out);
    weft_sha256_dispose(&s);
    return 0;
}

/* A temp file next to `path`, renamed over it by out_commit, removed by out_abort. */
typedef struct delta_out {
    const char *path;
    char *tmp;
    int fd;
} delta_out;

static int out_open(delta_out *o, const char *path)
{
    o->path = path;
    size_t n = strlen(path) + 16;
    o->tmp = malloc(n);
    if (o->tmp == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
    o->fd = mkstemp(o->tmp);
    if (o->fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return weft_err_sys(e == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, e, "create %s.tmp", path);
    }
    return 0;
}

static int out_commit(delta_out *o)
{
    if (fsync(o->fd) != 0)
        return weft_err_sys(WEFT_EIO, errno, "fsync %s", o->tmp);
    if (fchmod(o->fd, 0644) != 0 || close(o->fd) != 0) {
        o->fd = -1;
        return weft_err_sys(WEFT_EIO, errno, "close %s", o->tmp);
    }
    o->fd = -1;
    if (rename(o->tmp, o->path) != 0)
        return weft_err_sys(WEFT_EIO, errno, "rename %s to %s", o->tmp, o->path);
    free(o->tmp);
    o->tmp = NULL;
    char *dir = strdup(o->path);
    if (dir == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = weft_fs_fsync_dir(slash == NULL ? "." : slash == dir ? "/" : (*slash = 0, dir));
    free(dir);
    return rc;
}

static void out_abort(delta_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp != NULL)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
}

static weft_progress *progress_start(weft_progress_bar **bar, const char *verb, const char *label,
                                     uint64_t total, int quiet)
{
    weft_progress *p = NULL;
    *bar = NULL;
    if (quiet || !isatty(STDERR_FILENO) || total < DELTA_PROGRESS_MIN)
        return NULL;
    if (weft_progress_new(&p, WEFT_PROGRESS_BARS, verb) < 0)
        return NULL;
    *bar = weft_progress_add(p, label, total);
    return p;
}

static void hex32(char out[65], const uint8_t h[32])
{
    weft_hex_encode(out, h, 32);
}

/* The lossy report: one line per quantized tensor, then the overall figures. */
static void print_errors(const weft_delta_encoder *e)
{
    size_t n = 0;
    const weft_delta_tensor_error *errs = weft_delta_encoder_errors(e, &n);
    double err = 0, dl = 0, ft = 0, mx = 0;
    size_t nq = 0;
    printf("%-48s %12s %12s %12s\n", "tensor", "err/delta", "err/ft", "max_abs");
    for (size_t i = 0; i < n; i++) {
        const weft_delta_tensor_error *t = &errs[i];
        if (!t->quantized)
            continue;
        nq++;
        err += t->err_sq;
        dl += t->delta_sq;
        ft += t->ft_sq;
        mx = t->max_abs > mx ? t->max_abs : mx;
        printf("%-48s %12.4e %12.4e %12.4e\n", t->name,
               t->delta_sq > 0 ? sqrt(t->err_sq / t->delta_sq) : 0,
               t->ft_sq > 0 ? sqrt(t->err_sq / t->ft_sq) : 0, t->max_abs);
    }
    printf("overall: %zu tensors quantized, rel_l2 vs delta %.4e, rel_l2 vs ft %.4e, "
           "max_abs %.4e\n",
           nq, dl > 0 ? sqrt(err / dl) : 0, ft > 0 ? sqrt(err / ft) : 0, mx);
}

/* weft_delta_stream_* sink: the temp output file, with the progress bar following the result. */
typedef struct out_sink {
    delta_out *out;
    weft_progress_bar *bar;
} out_sink;

static int out_sink_write(const void *data, size_t len, uint64_t off, uint64_t done, void *payload)
{
    out_sink *o = payload;
    int rc = weft_fs_pwrite_full(o->out->fd, data, len, off, o->out->tmp);
    if (rc == 0)
        weft_progress_set(o->bar, done);
    return rc;
}

static int delta_create(int argc, char **argv)
{
    const char *output = NULL, *lossy = NULL;
    int quiet = 0;
    const cli_opt opts[] = {{"--output", "-o", &output, NULL},
                            {"--lossy", NULL, &lossy, NULL},
                            {"--quiet", "-q", NULL, &quiet}};
    cli_client_args args;
    int st = cli_args_parse(&args, "delta create", argc, argv, opts, 3, 2, 2, delta_help);
    if (st != CLI_ARGS_GO)
        return st;
    if (output == NULL)
        return cli_usage_error("delta create", "-o FILE is required");
    int kind = WEFT_DELTA_LOSSLESS;
    if (lossy != NULL) {
        kind = weft_delta_kind_from_name(lossy);
        if (kind <= WEFT_DELTA_LOSSLESS)
            return cli_usage_error("delta create", "--lossy takes int8, int4 or 1bit, not '%s'",
                                   lossy);
    }
    delta_map base = {.fd = -1}, ft = {.fd = -1};
    delta_out out = {.fd = -1};
    weft_delta_encoder *enc = NULL;
    weft_progress *prog = NULL;
    weft_progress_bar *bar = NULL;
    uint64_t coded = 0;
    double t0 = now_sec();
    int rc = map_open(&base, args.pos[0]);
    if (rc == 0)
        rc = map_open(&ft, args.pos[1]);
    if (rc == 0)
        rc = weft_delta_encoder_new(&enc, base.p, base.len, ft.p, ft.len, kind);
    if (rc < 0)
        goto out;
    weft_delta_info info = *weft_delta_encoder_info(enc);
    rc = sha_of(info.base_sha256, &base);
    if (rc == 0)
        rc = sha_of(info.source_sha256, &ft);
    if (rc == 0)
        rc = out_open(&out, output);
    if (rc < 0)
        goto out;
    prog = progress_start(&bar, "delta", args.pos[1], ft.len, quiet);
    out_sink sink = {&out, bar};
    rc = weft_delta_stream_write(enc, info.base_sha256, info.source_sha256, out_sink_write, &sink,
                                 &coded, info.result_sha256);
    if (rc < 0)
        goto out;
    rc = out_commit(&out);
    if (rc < 0)
        goto out;
    weft_progress_finish(bar, NULL);
    weft_progress_free(prog);
    prog = NULL;
    if (!quiet) {
        double dt = now_sec() - t0;
        size_t matched = 0, tensors = 0;
        weft_delta_encoder_counts(enc, &matched, &tensors);
        char a[32], b[32], h[65];
        if (kind != WEFT_DELTA_LOSSLESS)
            print_errors(enc);
        hex32(h, info.result_sha256);
        printf("%s: %s %s -> %s (ratio %.2fx), %zu/%zu tensors matched to the base, %.2f s "
               "(%.2f GB/s)%s%s\n",
               output, weft_delta_kind_name(kind), cli_human_bytes(a, sizeof a, ft.len),
               cli_human_bytes(b, sizeof b, coded), coded ? (double)ft.len / (double)coded : 0,
               matched, tensors, dt, dt > 0 ? (double)ft.len / dt / 1e9 : 0,
               kind != WEFT_DELTA_LOSSLESS ? ", lossy result sha256 " : "",
               kind != WEFT_DELTA_LOSSLESS ? h : "");
    }
out:
    weft_progress_free(prog);
    out_abort(&out);
    weft_delta_encoder_free(enc);
    map_close(&base);
    map_close(&ft);
    if (rc < 0)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}

static int delta_apply(int argc, char **argv)
{
    const char *output = NULL;
    int quiet = 0;
    const cli_opt opts[] = {{"--output", "-o", &output, NULL}, {"--quiet", "-q", NULL, &quiet}};
    cli_client_args args;
    int st = cli_args_parse(&args, "delta apply", argc, argv, opts, 2, 2, 2, delta_help);
    if (st != CLI_ARGS_GO)
        return st;
    if (output == NULL)
        return cli_usage_error("delta apply", "-o FT is required");
    delta_map base = {.fd = -1}, dm = {.fd = -1};
    delta_out out = {.fd = -1};
    weft_delta_reader *r = NULL;
    weft_progress *prog = NULL;
    weft_progress_bar *bar = NULL;
    double t0 = now_sec();
    weft_delta_info info;
    uint8_t got[32];
    char h1[65], h2[65];
    int rc = map_open(&base, args.pos[0]);
    if (rc == 0)
        rc = map_open(&dm, args.pos[1]);
    if (rc == 0)
        rc = weft_delta_info_parse(&info, dm.p, (size_t)dm.len);
    if (rc < 0) {
        if (rc == WEFT_ECORRUPT)
            rc = weft_err_wrap(rc, "%s", dm.path);
        goto out;
    }
    if (base.len != info.base_size) {
        rc = weft_err_set(WEFT_ECONFLICT,
                          "wrong base: %s has %" PRIu64 " bytes, the delta was made against a "
                          "base of %" PRIu64 " bytes",
                          base.path, base.len, info.base_size);
        goto out;
    }
    rc = sha_of(got, &base);
    if (rc < 0)
        goto out;
    if (memcmp(got, info.base_sha256, 32) != 0) {
        hex32(h1, got);
        hex32(h2, info.base_sha256);
        rc = weft_err_set(WEFT_ECONFLICT,
                          "wrong base: %s has sha256 %s, the delta was made against %s", base.path,
                          h1, h2);
        goto out;
    }
    rc = weft_delta_reader_open(&r, dm.p, (size_t)dm.len, base.p, base.len);
    if (rc == 0)
        rc = out_open(&out, output);
    if (rc < 0)
        goto out;
    prog = progress_start(&bar, "apply", output, info.result_size, quiet);
    out_sink sink = {&out, bar};
    rc = weft_delta_stream_apply(r, out_sink_write, &sink, got);
    if (rc < 0)
        goto out;
    if (memcmp(got, info.result_sha256, 32) != 0) {
        hex32(h1, got);
        hex32(h2, info.result_sha256);
        rc = weft_err_set(WEFT_ECORRUPT,
                          "%s: the rebuilt file has sha256 %s, the delta promises %s; nothing "
                          "written",
                          dm.path, h1, h2);
        goto out;
    }
    rc = out_commit(&out);
    if (rc < 0)
        goto out;
    weft_progress_finish(bar, NULL);
    weft_progress_free(prog);
    prog = NULL;
    if (!quiet) {
        double dt = now_sec() - t0;
        char a[32], b[32];
        hex32(h1, got);
        printf("%s: %s %s -> %s (ratio %.2fx), %.2f s (%.2f GB/s), sha256 %s ok\n", output,
               weft_delta_kind_name(info.kind), cli_human_bytes(a, sizeof a, dm.len),
               cli_human_bytes(b, sizeof b, info.result_size),
               dm.len ? (double)info.result_size / (double)dm.len : 0, dt,
               dt > 0 ? (double)info.result_size / dt / 1e9 : 0, h1);
    }
out:
    weft_progress_free(prog);
    out_abort(&out);
    weft_delta_reader_free(r);
    map_close(&base);
    map_close(&dm);
    if (rc < 0)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}

static int delta_info(int argc, char **argv)
{
    cli_client_args args;
    int st = cli_args_parse(&args, "delta info", argc, argv, NULL, 0, 1, 1, delta_help);
    if (st != CLI_ARGS_GO)
        return st;
    delta_map dm = {.fd = -1};
    weft_delta_info info;
    int rc = map_open(&dm, args.pos[0]);
    if (rc == 0)
        rc = weft_delta_info_parse(&info, dm.p, (size_t)dm.len);
    if (rc == 0) {
        char h[65];
        printf("file: %s\nkind: %s\nversion: %u\n", dm.path, weft_delta_kind_name(info.kind),
               info.version);
        hex32(h, info.base_sha256);
        printf("base: %" PRIu64 " bytes, sha256 %s\n", info.base_size, h);
        hex32(h, info.result_sha256);
        printf("result: %" PRIu64 " bytes, sha256 %s\n", info.result_size, h);
        hex32(h, info.source_sha256);
        printf("made from: sha256 %s\n", h);
        printf("delta: %" PRIu64 " bytes (ratio %.2fx)\n", dm.len,
               dm.len ? (double)info.result_size / (double)dm.len : 0);
    }
    map_close(&dm);
    if (rc < 0)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}

int cmd_delta(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"create", delta_create}, {"apply", delta_apply}, {"info", delta_info}};
    return cli_sub_run("delta", argc, argv, subs, sizeof subs / sizeof subs[0], delta_help);
}
