/* weft store: the chunk store on a local directory (include/weft/store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "weft/sha256.h"
#include "weft/store.h"

static const char store_help[] =
    "usage: weft store [--store DIR] <subcommand> [options]\n"
    "\n"
    "The chunk store: files kept as Xet chunks (content-defined, deduplicated, packed into\n"
    "xorbs), with an SQLite index. DIR is --store, else $WEFT_HOME, else ./weft-data.\n"
    "\n"
    "subcommands:\n"
    "  put FILE...                    store files ('-' reads standard input); prints each\n"
    "                                 file's SHA-256, Xet file hash, size and the bytes stored\n"
    "                                 anew vs deduplicated (progress on a terminal)\n"
    "  get HASH [-o OUT] [--range A-B] [--no-verify]\n"
    "                                 write a file (or bytes A..B inclusive, like HTTP; A- means\n"
    "                                 to the end) to OUT or standard output. HASH is the SHA-256\n"
    "                                 or the Xet file hash. Chunk hashes are checked unless\n"
    "                                 --no-verify.\n"
    "  ls                             every file: SHA-256, Xet hash, size, when stored\n"
    "  rm HASH...                     forget files (their chunks go at the next gc)\n"
    "  stats [--json]                 files, logical and physical bytes, dedup ratio, chunks,\n"
    "                                 xorbs\n"
    "  fsck                           re-hash every chunk; names each damaged xorb and the\n"
    "                                 files that depend on it (exit 4 if anything is damaged)\n"
    "  gc [--grace SECONDS]           delete unused xorbs, rewrite mostly-unused ones, remove\n"
    "                                 leftovers of interrupted puts older than the grace\n"
    "                                 window (default 3600)\n"
    "\n"
    "examples:\n"
    "  weft store put model.safetensors\n"
    "  weft store get 3f0c...e1 -o model.safetensors\n"
    "  weft store get 3f0c...e1 --range 0-1023 | xxd | head\n"
    "  weft store --store /srv/weft stats --json\n";

typedef struct store_progress {
    const char *name;
    uint64_t total;
    int tty;
} store_progress;

static void store_progress_show(uint64_t done, void *payload)
{
    store_progress *p = payload;
    if (!p->tty || p->total == 0)
        return;
    int width = 30, filled = (int)((double)done / (double)p->total * width);
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r%-24.24s [", p->name);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", (int)(100.0 * (double)done / (double)p->total));
    fflush(stderr);
}

static int store_put(weft_store *s, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("store", "store put needs at least one FILE");
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i];
        int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail(weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno,
                                         "open %s", path));
        struct stat st;
        store_progress prog = {.name = path, .tty = isatty(STDERR_FILENO)};
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            prog.total = (uint64_t)st.st_size;
        weft_store_put_result r;
        int rc = weft_store_put_fd(s, fd, &r, store_progress_show, &prog);
        if (fd != STDIN_FILENO)
            close(fd);
        if (prog.tty && prog.total)
            fprintf(stderr, "\r%*s\r", 70, "");
        if (rc < 0)
            return cli_fail(weft_err_wrap(rc, "put %s", path));
        char sha[65], xet[65], a[32], b[32], c[32], d[32];
        weft_hex_encode(sha, r.file.sha256, 32);
        weft_xet_hash_to_hex(xet, &r.file.xet_hash);
        printf("%s\n  sha256    %s\n  xet hash  %s\n  size      %llu (%s)\n"
               "  new       %s in %u chunks (%s written)\n  dedup     %s in %u chunks\n",
               path, sha, xet, (unsigned long long)r.file.size,
               cli_human_bytes(a, sizeof a, r.file.size), cli_human_bytes(b, sizeof b, r.new_bytes),
               r.new_chunks, cli_human_bytes(c, sizeof c, r.stored_bytes),
               cli_human_bytes(d, sizeof d, r.dedup_bytes), r.dedup_chunks);
    }
    return CLI_EXIT_OK;
}

static int store_write_fd(const uint8_t *p, size_t n, void *payload)
{
    int fd = *(int *)payload;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return weft_err_sys(WEFT_EIO, errno, "write output");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int store_parse_range(const char *s, uint64_t *from, uint64_t *len)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long a = strtoull(s, &end, 10);
    if (*end != '-')
        return -1;
    if (end[1] == '\0') {
        *from = a;
        *len = UINT64_MAX;
        return 0;
    }
    if (end[1] < '0' || end[1] > '9')
        return -1;
    unsigned long long b = strtoull(end + 1, &end, 10);
    if (*end != '\0' || b < a)
        return -1;
    *from = a;
    *len = b - a + 1;
    return 0;
}

static int store_get(weft_store *s, int argc, char **argv)
{
    const char *hash = NULL, *out = NULL;
    uint64_t from = 0, len = UINT64_MAX;
    int verify = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--range") == 0 && i + 1 < argc) {
            if (store_parse_range(argv[++i], &from, &len) < 0)
                return cli_usage_error("store", "bad range '%s': expected A-B or A-", argv[i]);
        } else if (strcmp(argv[i], "--no-verify") == 0)
            verify = 0;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("store", "unknown option '%s' for get", argv[i]);
        else if (hash == NULL)
            hash = argv[i];
        else
            return cli_usage_error("store", "get takes one HASH");
    }
    if (hash == NULL)
        return cli_usage_error("store", "get needs a HASH (SHA-256 or Xet file hash)");
    weft_store_file f;
    int rc = weft_store_lookup(s, hash, &f);
    if (rc < 0)
        return cli_fail(rc);
    if (from > f.size || (from == f.size && f.size > 0 && len != UINT64_MAX))
        return cli_fail(weft_err_set(WEFT_EINVALID, "range starts at %llu but the file has %llu "
                                                    "bytes", (unsigned long long)from,
                                     (unsigned long long)f.size));
    /* Written to a temp file and renamed, so a failed read leaves no partial OUT behind. */
    char tmp[4096] = "";
    int fd = STDOUT_FILENO;
    if (out != NULL && strcmp(out, "-") != 0) {
        struct stat st;
        if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
            fd = open(out, O_WRONLY | O_CLOEXEC);
        } else {
            snprintf(tmp, sizeof tmp, "%s.weft-partial", out);
            fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        }
        if (fd < 0)
            return cli_fail(weft_err_sys(WEFT_EIO, errno, "create %s", tmp[0] ? tmp : out));
    }
    rc = weft_store_read(s, &f.xet_hash, from, len, verify, store_write_fd, &fd);
    if (fd != STDOUT_FILENO && close(fd) != 0 && rc == 0)
        rc = weft_err_sys(WEFT_EIO, errno, "close %s", out);
    if (tmp[0] != '\0') {
        if (rc == 0 && rename(tmp, out) != 0)
            rc = weft_err_sys(WEFT_EIO, errno, "rename to %s", out);
        if (rc < 0)
            unlink(tmp);
    }
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int store_ls_one(const weft_store_file *f, void *payload)
{
    (void)payload;
    char sha[65], xet[65], when[32];
    weft_hex_encode(sha, f->sha256, 32);
    weft_xet_hash_to_hex(xet, &f->xet_hash);
    time_t t = (time_t)f->created;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
    printf("%s  %s  %12llu  %s\n", sha, xet, (unsigned long long)f->size, when);
    return 0;
}

static int store_stats(weft_store *s, int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > 1 + json)
        return cli_usage_error("store", "stats takes only --json");
    weft_store_stats st;
    int rc = weft_store_get_stats(s, &st);
    if (rc < 0)
        return cli_fail(rc);
    double ratio = st.physical_bytes ? (double)st.logical_bytes / (double)st.physical_bytes : 0;
    if (json) {
        printf("{\"files\":%llu,\"logical_bytes\":%llu,\"unique_bytes\":%llu,"
               "\"physical_bytes\":%llu,\"dedup_ratio\":%.4f,\"chunks\":%llu,\"xorbs\":%llu}\n",
               (unsigned long long)st.n_files, (unsigned long long)st.logical_bytes,
               (unsigned long long)st.unique_bytes, (unsigned long long)st.physical_bytes, ratio,
               (unsigned long long)st.n_chunks, (unsigned long long)st.n_xorbs);
        return CLI_EXIT_OK;
    }
    char a[32], b[32], c[32];
    printf("files           %llu\n"
           "logical bytes   %llu (%s)\n"
           "unique bytes    %llu (%s, distinct chunks before compression)\n"
           "physical bytes  %llu (%s, xorb objects)\n"
           "dedup ratio     %.2fx (logical / physical)\n"
           "chunks          %llu\n"
           "xorbs           %llu\n",
           (unsigned long long)st.n_files, (unsigned long long)st.logical_bytes,
           cli_human_bytes(a, sizeof a, st.logical_bytes), (unsigned long long)st.unique_bytes,
           cli_human_bytes(b, sizeof b, st.unique_bytes), (unsigned long long)st.physical_bytes,
           cli_human_bytes(c, sizeof c, st.physical_bytes), ratio,
           (unsigned long long)st.n_chunks, (unsigned long long)st.n_xorbs);
    return CLI_EXIT_OK;
}

static void store_fsck_damage(const char *xorb_hex, const char *reason,
                              const weft_store_file *files, size_t n_files, void *payload)
{
    (void)payload;
    printf("damaged xorb %s: %s\n", xorb_hex, reason);
    for (size_t i = 0; i < n_files; i++) {
        char sha[65], xet[65];
        weft_hex_encode(sha, files[i].sha256, 32);
        weft_xet_hash_to_hex(xet, &files[i].xet_hash);
        printf("  affects file sha256 %s (xet %s, %llu bytes)\n", sha, xet,
               (unsigned long long)files[i].size);
    }
}

int cmd_store(int argc, char **argv)
{
    const char *dir = getenv("WEFT_HOME");
    int i = 1;
    if (dir == NULL || dir[0] == '\0')
        dir = "./weft-data";
    if (i < argc && strcmp(argv[i], "--store") == 0) {
        if (i + 1 >= argc)
            return cli_usage_error("store", "--store needs a directory");
        dir = argv[i + 1];
        i += 2;
    }
    if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        fputs(store_help, i >= argc ? stderr : stdout);
        return i >= argc ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[i];
    static const char *const subs[] = {"put", "get", "ls", "rm", "stats", "fsck", "gc"};
    int known = 0;
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++)
        known |= strcmp(sub, subs[k]) == 0;
    if (!known)
        return cli_usage_error("store", "unknown store subcommand '%s'", sub);
    for (int k = i + 1; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0) {
            fputs(store_help, stdout);
            return CLI_EXIT_OK;
        }
    weft_store *s = NULL;
    int rc = weft_store_open(&s, dir);
    if (rc < 0)
        return cli_fail(rc);
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    int status = CLI_EXIT_OK;
    if (strcmp(sub, "put") == 0) {
        status = store_put(s, sub_argc, sub_argv);
    } else if (strcmp(sub, "get") == 0) {
        status = store_get(s, sub_argc, sub_argv);
    } else if (strcmp(sub, "ls") == 0) {
        rc = weft_store_list(s, store_ls_one, NULL);
        status = rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
    } else if (strcmp(sub, "rm") == 0) {
        if (sub_argc < 2)
            status = cli_usage_error("store", "rm needs at least one HASH");
        for (int k = 1; k < sub_argc && status == CLI_EXIT_OK; k++) {
            weft_store_file f;
            rc = weft_store_lookup(s, sub_argv[k], &f);
            if (rc == 0)
                rc = weft_store_remove(s, &f.xet_hash);
            status = rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
        }
    } else if (strcmp(sub, "stats") == 0) {
        status = store_stats(s, sub_argc, sub_argv);
    } else if (strcmp(sub, "fsck") == 0) {
        uint32_t damaged = 0;
        rc = weft_store_fsck(s, store_fsck_damage, NULL, &damaged);
        if (rc < 0)
            status = cli_fail(rc);
        else if (damaged > 0) {
            fprintf(stderr, "weft: fsck: %u damaged xorb(s)\n", damaged);
            status = CLI_EXIT_CORRUPT;
        } else
            printf("fsck: clean\n");
    } else {
        int64_t grace = 3600;
        if (sub_argc == 3 && strcmp(sub_argv[1], "--grace") == 0) {
            char *end = NULL;
            grace = strtoll(sub_argv[2], &end, 10);
            if (*end != '\0' || grace < 0)
                status = cli_usage_error("store", "bad --grace '%s'", sub_argv[2]);
        } else if (sub_argc != 1) {
            status = cli_usage_error("store", "gc takes only --grace SECONDS");
        }
        weft_store_gc_result r;
        if (status == CLI_EXIT_OK) {
            rc = weft_store_gc(s, grace, &r);
            char a[32];
            if (rc < 0)
                status = cli_fail(rc);
            else
                printf("gc: %u xorbs deleted, %u rewritten, %u leftover objects removed, %s "
                       "freed\n",
                       r.xorbs_deleted, r.xorbs_rewritten, r.orphans_deleted,
                       cli_human_bytes(a, sizeof a, r.bytes_freed));
        }
    }
    weft_store_close(s);
    return status;
}
