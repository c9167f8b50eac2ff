/* weft store: the chunk store on a local directory (include/weft/store.h).
 *   weft store [--store DIR] put|get|ls|rm|stats|fsck|gc ...
 * The store directory is --store DIR, else $WEFT_HOME, else ./weft-data. --store may also come
 * after the subcommand. Every subcommand has its own --help. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store_optimize.h"
#include "weft/fsutil.h"
#include "weft/sha256.h"
#include "weft/store.h"

#define STORE_MAX_JOBS 16

/* ---- help ------------------------------------------------------------------------------- */

static const char store_help[] =
    "usage: weft store [--store DIR] <subcommand> [options]\n"
    "\n"
    "The chunk store: files kept as Xet chunks (content-defined, deduplicated across files,\n"
    "packed into xorbs) with an SQLite index, exactly as Hugging Face's Xet storage keeps them.\n"
    "DIR is --store, else $WEFT_HOME, else ./weft-data (created on first use). A hub's data\n"
    "directory (the one 'weft serve --data' uses) is accepted too: its store/ is used.\n"
    "\n"
    "subcommands:\n"
    "  put FILE...          store files ('-' = standard input); prints SHA-256, Xet hash, size,\n"
    "                       and the bytes stored anew vs deduplicated\n"
    "  get HASH [-o OUT]    write a file, or a byte range of it (--range A-B), by either hash\n"
    "  ls                   list the files: SHA-256, Xet hash, size, when stored\n"
    "  rm HASH...           forget files (their chunks go at the next gc)\n"
    "  stats [--json]       files, logical and physical bytes, dedup ratio, chunks, xorbs\n"
    "  fsck                 re-verify every chunk; name damaged xorbs and the files they hurt\n"
    "  gc [--grace SECONDS] delete what no file uses any more\n"
    "\n"
    "Run 'weft store <subcommand> --help' for its options and examples.\n"
    "\n"
    "examples:\n"
    "  weft store put model.safetensors\n"
    "  weft store get 3f0c...e1 -o model.safetensors\n"
    "  weft store --store /srv/weft stats --json\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage or bad input, 3 not found, 4 corrupt data, 5 i/o error\n";

static const char put_help[] =
    "usage: weft store put [-j N] [--compress] FILE...\n"
    "\n"
    "Stores each FILE ('-' reads standard input): chunks it with Xet's content-defined\n"
    "chunker, keeps only the chunks the store does not have yet, and records the file under\n"
    "its SHA-256 (the Git LFS oid) and its Xet file hash. For each file it prints:\n"
    "\n"
    "  FILE\n"
    "    sha256    <64 hex digits>\n"
    "    xet hash  <64 hex digits>\n"
    "    size      <bytes> (<human>)\n"
    "    new       <bytes stored anew> in <n> chunks (<bytes written to xorbs>)\n"
    "    dedup     <bytes already in the store> in <n> chunks\n"
    "\n"
    "A progress bar goes to standard error when it is a terminal. A put is all or nothing:\n"
    "interrupted, it leaves no file behind (gc removes its partial xorbs later).\n"
    "\n"
    "options:\n"
    "  -j, --jobs N   store up to N files at once, on N threads (default 1, max 16)\n"
    "  --compress     compress new chunks with Xet's LZ4 / BG4-LZ4 choice (slower; about 1.2x\n"
    "                 smaller for model weights)\n"
    "\n"
    "examples:\n"
    "  weft store put model.safetensors\n"
    "  weft store put -j 2 model-0001.safetensors model-0002.safetensors\n"
    "  curl -sL https://example.com/big.bin | weft store put -\n";

static const char get_help[] =
    "usage: weft store get HASH [-o OUT] [--range A-B] [--no-verify]\n"
    "\n"
    "Writes the file named by HASH, its SHA-256 or its Xet file hash (64 hex digits either way),\n"
    "to OUT, or to standard output without -o or with '-o -'. Every chunk is re-hashed before\n"
    "its bytes are written; if one fails, get stops with exit code 4 and an error naming the\n"
    "damaged xorb, having written nothing past the last good byte. With -o, OUT is written\n"
    "under a temporary name and appears only once complete.\n"
    "\n"
    "options:\n"
    "  -o OUT         where to write ('-' = standard output)\n"
    "  --range A-B    only bytes A to B, inclusive, counted from 0, as in an HTTP Range header;\n"
    "                 'A-' means from A to the end, '-N' the last N bytes. B past the end is\n"
    "                 cut to the end; A past the end is an error.\n"
    "  --no-verify    skip re-hashing the chunks (faster; the footers are still checked)\n"
    "\n"
    "examples:\n"
    "  weft store get 71487aaca73fc2634f683d8310c2bd4f018b896e51220ba7a13d5a0c27a54663 -o m.bin\n"
    "  weft store get $XET_HASH --range 0-1023 | xxd | head\n";

static const char ls_help[] =
    "usage: weft store ls [--json]\n"
    "\n"
    "Lists every file in the store, oldest first: SHA-256, Xet file hash, size in bytes and when\n"
    "it was stored (UTC). --json prints one JSON object per line instead.\n"
    "\n"
    "example:\n"
    "  weft store ls | sort -k3 -n | tail\n";

static const char rm_help[] =
    "usage: weft store rm HASH...\n"
    "\n"
    "Forgets each file named by its SHA-256 or Xet file hash. The chunks it used stay (other\n"
    "files may share them) until 'weft store gc' finds them unused.\n"
    "\n"
    "example:\n"
    "  weft store rm 71487aaca73fc2634f683d8310c2bd4f018b896e51220ba7a13d5a0c27a54663\n";

static const char stats_help[] =
    "usage: weft store stats [--json] [--by codec | --repo REPO_OR_NAMESPACE]\n"
    "\n"
    "  files           files in the store\n"
    "  logical bytes   the sum of their sizes\n"
    "  unique bytes    raw bytes of the chunks kept in xorbs (after dedup, before compression)\n"
    "  physical bytes  bytes of the xorb objects on disk (headers and footers included)\n"
    "  dedup ratio     logical / physical\n"
    "  chunks, xorbs   how many\n"
    "\n"
    "--json prints {\"files\":..,\"logical_bytes\":..,\"unique_bytes\":..,\"physical_bytes\":..,\n"
    "\"dedup_ratio\":..,\"chunks\":..,\"xorbs\":..} on one line.\n"
    "\n"
    "--by codec prints, per codec chunks are stored in, their chunks, logical bytes and\n"
    "physical bytes (chunk headers included): none, lz4, bg4-lz4 for chunks of re-coded xorbs\n"
    "kept in a Xet scheme, weft-* for weight frames by their main method (weft store\n"
    "optimize), and xet for whole xorbs never re-coded (physical = their objects). With --json,\n"
    "one object {codec: {chunks, logical_bytes, physical_bytes}}.\n"
    "\n"
    "--repo R (DIR must be a hub's data directory) prints the files of model repo R in all its\n"
    "revisions: their logical bytes and the physical bytes of the distinct chunks they use (a\n"
    "chunk shared with other repos counts in full). R without a '/' is a namespace (user or\n"
    "org): one line per repo, then one for all of them together (shared chunks counted once).\n"
    "\n"
    "example:\n"
    "  weft store stats --json | jq .dedup_ratio\n";

static const char fsck_help[] =
    "usage: weft store fsck\n"
    "\n"
    "Reads every xorb whole and re-verifies it (chunk headers, decoding, every chunk hash, the\n"
    "xorb hash, the footer), checks the index against it, and checks every file's terms and Xet\n"
    "hash. Each problem is printed as 'damaged xorb <hash>: <reason>' (or 'bad index entry:')\n"
    "followed by 'affects file sha256 <hash> (xet <hash>, <n> bytes)' for every file that\n"
    "depends on it. Exit code 0 when everything is intact, 4 when anything is damaged.\n"
    "Objects no index row names (left by interrupted puts) are counted, not errors: gc removes\n"
    "them.\n"
    "\n"
    "example:\n"
    "  weft store fsck || echo 'restore the damaged files from a backup'\n";

static const char gc_help[] =
    "usage: weft store gc [--grace SECONDS]\n"
    "\n"
    "Mark and sweep from the stored files: deletes xorbs no file uses, rewrites xorbs of which\n"
    "less than half the bytes are still used (the used chunks move to a new, compressed xorb),\n"
    "and deletes leftovers of interrupted puts. Xorbs and leftovers younger than the grace\n"
    "window (default 3600 s) are kept: they may belong to a put still running. --grace 0 is\n"
    "for a store nobody is writing to. Safe to interrupt at any point.\n"
    "\n"
    "examples:\n"
    "  weft store rm $OLD_OID && weft store gc\n"
    "  weft store gc --grace 0\n";

typedef struct store_sub {
    const char *name;
    const char *help;
} store_sub;

static const store_sub store_subs[] = {
    {"put", put_help},     {"get", get_help},   {"ls", ls_help}, {"rm", rm_help},
    {"stats", stats_help}, {"fsck", fsck_help}, {"gc", gc_help}, {"optimize", store_optimize_help},
};

/* ---- put -------------------------------------------------------------------------------- */

typedef struct put_job {
    const char *path;
    uint64_t size; /* from fstat, 0 if unknown */
    int rc;
    char err[512];
    weft_store_put_result r;
} put_job;

typedef struct put_batch {
    const char *dir;
    int compress;
    put_job *jobs;
    int n_jobs;
    atomic_int next;
    /* progress */
    int tty;
    uint64_t total;
    atomic_uint_least64_t done; /* bytes of finished files */
    atomic_uint_least64_t cur[STORE_MAX_JOBS];
    pthread_mutex_t print_mu;
    double started, last_print;
} put_batch;

typedef struct put_worker {
    put_batch *b;
    int id;
    pthread_t thread;
} put_worker;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void put_progress_draw(put_batch *b, int force)
{
    if (!b->tty || pthread_mutex_trylock(&b->print_mu) != 0)
        return;
    double t = now_seconds();
    if (force || t - b->last_print >= 0.1) {
        uint64_t done = atomic_load(&b->done);
        for (int i = 0; i < STORE_MAX_JOBS; i++)
            done += atomic_load(&b->cur[i]);
        char a[32], c[32];
        double secs = t - b->started;
        double rate = secs > 0 ? (double)done / secs / 1e9 : 0;
        if (b->total > 0) {
            int width = 30, filled = (int)((double)done / (double)b->total * width);
            filled = filled > width ? width : filled;
            fputs("\r[", stderr);
            for (int i = 0; i < width; i++)
                fputc(i < filled ? '#' : ' ', stderr);
            fprintf(stderr, "] %3d%%  %s / %s  %.2f GB/s ",
                    (int)(100.0 * (double)done / (double)b->total),
                    cli_human_bytes(a, sizeof a, done), cli_human_bytes(c, sizeof c, b->total),
                    rate);
        } else {
            fprintf(stderr, "\r%s  %.2f GB/s ", cli_human_bytes(a, sizeof a, done), rate);
        }
        fflush(stderr);
        b->last_print = t;
    }
    pthread_mutex_unlock(&b->print_mu);
}

typedef struct put_progress_arg {
    put_batch *b;
    int id;
} put_progress_arg;

static void put_progress(uint64_t done, void *payload)
{
    put_progress_arg *p = payload;
    atomic_store(&p->b->cur[p->id], done);
    put_progress_draw(p->b, 0);
}

static void put_one(put_batch *b, weft_store *s, int id, put_job *job)
{
    int fd = strcmp(job->path, "-") == 0 ? STDIN_FILENO : open(job->path, O_RDONLY | O_CLOEXEC);
    put_progress_arg arg = {.b = b, .id = id};
    if (fd < 0) {
        job->rc =
            weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", job->path);
    } else {
        job->rc = weft_store_put_fd(s, fd, &job->r, put_progress, &arg);
        if (job->rc < 0)
            weft_err_wrap(job->rc, "put %s", job->path);
        if (fd != STDIN_FILENO)
            close(fd);
    }
    if (job->rc < 0)
        snprintf(job->err, sizeof job->err, "%s", weft_err_last());
    atomic_fetch_add(&b->done, job->rc == 0 ? job->r.file.size : job->size);
    atomic_store(&b->cur[id], 0);
}

static void *put_worker_main(void *arg)
{
    put_worker *w = arg;
    put_batch *b = w->b;
    weft_store *s = NULL;
    int rc = weft_store_open(&s, b->dir);
    if (rc == 0)
        weft_store_set_compression(s, b->compress);
    for (;;) {
        int i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n_jobs)
            break;
        put_job *job = &b->jobs[i];
        if (rc < 0) {
            job->rc = rc;
            snprintf(job->err, sizeof job->err, "%s", weft_err_last());
            continue;
        }
        put_one(b, s, w->id, job);
    }
    weft_store_close(s);
    return NULL;
}

static void put_print(const put_job *job)
{
    const weft_store_put_result *r = &job->r;
    char sha[65], xet[65], a[32], b[32], c[32], d[32];
    weft_hex_encode(sha, r->file.sha256, 32);
    weft_xet_hash_to_hex(xet, &r->file.xet_hash);
    printf("%s%s\n  sha256    %s\n  xet hash  %s\n  size      %llu (%s)\n"
           "  new       %s in %u chunks (%s written)\n  dedup     %s in %u chunks\n",
           job->path, r->existed ? " (already stored)" : "", sha, xet,
           (unsigned long long)r->file.size, cli_human_bytes(a, sizeof a, r->file.size),
           cli_human_bytes(b, sizeof b, r->new_bytes), r->new_chunks,
           cli_human_bytes(c, sizeof c, r->stored_bytes),
           cli_human_bytes(d, sizeof d, r->dedup_bytes), r->dedup_chunks);
}

static int store_put(const char *dir, int argc, char **argv)
{
    put_batch b = {.dir = dir};
    int n_threads = 1, status = CLI_EXIT_OK, opts = 1, n_stdin = 0;
    put_worker workers[STORE_MAX_JOBS];
    for (int i = 1; i < argc; i++) {
        if (opts && strcmp(argv[i], "--") == 0) {
            opts = 0;
        } else if (opts && (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--jobs") == 0)) {
            char *end = NULL;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || *end != '\0' || v < 1 || v > STORE_MAX_JOBS)
                return cli_usage_error("store put", "-j needs a number of jobs from 1 to %d",
                                       STORE_MAX_JOBS);
            n_threads = (int)v;
            i++;
        } else if (opts && strcmp(argv[i], "--compress") == 0) {
            b.compress = 1;
        } else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("store put", "unknown option '%s'", argv[i]);
        } else {
            argv[1 + b.n_jobs++] = argv[i]; /* compact the file list in place */
        }
    }
    if (b.n_jobs == 0)
        return cli_usage_error("store put", "put needs at least one FILE ('-' for standard input)");
    b.jobs = calloc((size_t)b.n_jobs, sizeof *b.jobs);
    if (b.jobs == NULL)
        return cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
    for (int i = 0; i < b.n_jobs; i++) {
        struct stat st;
        b.jobs[i].path = argv[1 + i];
        n_stdin += strcmp(b.jobs[i].path, "-") == 0;
        if (stat(b.jobs[i].path, &st) == 0 && S_ISREG(st.st_mode))
            b.jobs[i].size = (uint64_t)st.st_size;
        b.total += b.jobs[i].size;
    }
    if (n_stdin > 1) {
        free(b.jobs);
        return cli_usage_error("store put", "'-' (standard input) may be given once");
    }
    if (n_threads > b.n_jobs)
        n_threads = b.n_jobs;
    b.tty = isatty(STDERR_FILENO);
    b.started = now_seconds();
    pthread_mutex_init(&b.print_mu, NULL);
    int started = 0;
    for (int t = 0; t < n_threads; t++) {
        workers[t] = (put_worker){.b = &b, .id = t};
        if (t == 0 || pthread_create(&workers[t].thread, NULL, put_worker_main, &workers[t]) == 0)
            started = t + 1;
        else
            break;
    }
    /* Worker 0 is this thread. */
    put_worker_main(&workers[0]);
    for (int t = 1; t < started; t++)
        pthread_join(workers[t].thread, NULL);
    if (b.tty) {
        put_progress_draw(&b, 1);
        fputs("\r\033[K", stderr);
    }
    int first = -1;
    for (int i = 0; i < b.n_jobs; i++) {
        if (b.jobs[i].rc == 0)
            put_print(&b.jobs[i]);
        else if (first < 0)
            first = i;
        else
            fprintf(stderr, "weft: %s\n", b.jobs[i].err);
    }
    fflush(stdout);
    if (first >= 0) /* the exit code is the first failure's */
        status = cli_fail(weft_err_set(b.jobs[first].rc, "%s", b.jobs[first].err));
    pthread_mutex_destroy(&b.print_mu);
    free(b.jobs);
    return status;
}

/* ---- get -------------------------------------------------------------------------------- */

/* "A-B", "A-" or "-N" -> kind 0, 1, 2 with the numbers. */
static int store_parse_range(const char *s, int *kind, uint64_t *a, uint64_t *b)
{
    char *end = NULL;
    if (s[0] == '-') {
        if (s[1] < '0' || s[1] > '9')
            return -1;
        errno = 0;
        *b = strtoull(s + 1, &end, 10);
        *kind = 2;
        return *end == '\0' && errno == 0 ? 0 : -1;
    }
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    *a = strtoull(s, &end, 10);
    if (*end != '-' || errno != 0)
        return -1;
    if (end[1] == '\0') {
        *kind = 1;
        return 0;
    }
    if (end[1] < '0' || end[1] > '9')
        return -1;
    *b = strtoull(end + 1, &end, 10);
    *kind = 0;
    return *end == '\0' && errno == 0 && *b >= *a ? 0 : -1;
}

static int store_get(weft_store *s, int argc, char **argv)
{
    const char *hash = NULL, *out = NULL, *range = NULL;
    int flags = 0, kind = 1, fd = STDOUT_FILENO, rc = 0;
    uint64_t a = 0, b = 0, from = 0, len = UINT64_MAX;
    char tmp[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("store get", "-o needs a file name ('-' for stdout)");
            out = argv[++i];
        } else if (strcmp(argv[i], "--range") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("store get", "--range needs A-B");
            range = argv[++i];
        } else if (strcmp(argv[i], "--no-verify") == 0) {
            flags |= WEFT_STORE_READ_NO_VERIFY;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("store get", "unknown option '%s'", argv[i]);
        } else if (hash == NULL) {
            hash = argv[i];
        } else {
            return cli_usage_error("store get", "get takes one HASH");
        }
    }
    if (hash == NULL)
        return cli_usage_error("store get", "get needs a HASH (SHA-256 or Xet file hash)");
    if (range != NULL && store_parse_range(range, &kind, &a, &b) < 0)
        return cli_usage_error("store get",
                               "bad range '%s': expected A-B (inclusive, A <= B), A- or -N", range);
    weft_store_file f;
    rc = weft_store_lookup(s, hash, &f);
    if (rc < 0)
        return cli_fail(rc);
    if (range != NULL) {
        /* HTTP semantics (RFC 9110 §14.1.2): A at or past the end is unsatisfiable; B past the
         * end is cut; -N is the last N bytes. */
        if (kind == 2) {
            if (b == 0)
                return cli_fail(weft_err_set(WEFT_EINVALID, "range -0 selects no bytes"));
            from = b >= f.size ? 0 : f.size - b;
        } else {
            if (a >= f.size && !(a == 0 && f.size == 0))
                return cli_fail(weft_err_set(WEFT_EINVALID,
                                             "range starts at %llu but the file has %llu bytes",
                                             (unsigned long long)a, (unsigned long long)f.size));
            from = a;
            len = kind == 0 ? b - a + 1 : UINT64_MAX;
        }
    }
    if (out != NULL && strcmp(out, "-") != 0) {
        struct stat st;
        if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
            fd = open(out, O_WRONLY | O_CLOEXEC); /* a device or fifo: write in place */
        } else {
            /* A temp name renamed into place on success: a failed get leaves no partial OUT. */
            snprintf(tmp, sizeof tmp, "%s.weft-partial.%ld", out, (long)getpid());
            fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        }
        if (fd < 0)
            return cli_fail(weft_err_sys(WEFT_EIO, errno, "create %s", tmp[0] ? tmp : out));
    }
    rc = weft_store_read_fd(s, &f.xet_hash, from, len, flags, fd);
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

/* ---- ls, rm, stats, fsck, gc ------------------------------------------------------------ */

static int store_ls_one(const weft_store_file *f, void *payload)
{
    int json = *(const int *)payload;
    char sha[65], xet[65], when[32];
    weft_hex_encode(sha, f->sha256, 32);
    weft_xet_hash_to_hex(xet, &f->xet_hash);
    time_t t = (time_t)f->created;
    struct tm tm;
    strftime(when, sizeof when, json ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S",
             gmtime_r(&t, &tm));
    if (json)
        printf("{\"sha256\":\"%s\",\"xet_hash\":\"%s\",\"size\":%llu,\"created\":\"%s\"}\n", sha,
               xet, (unsigned long long)f->size, when);
    else
        printf("%s  %s  %12llu  %s\n", sha, xet, (unsigned long long)f->size, when);
    return 0;
}

static int store_ls(weft_store *s, int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > 1 + json)
        return cli_usage_error("store ls", "ls takes only --json");
    int rc = weft_store_list(s, store_ls_one, &json);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int store_rm(weft_store *s, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("store rm", "rm needs at least one HASH");
    /* All names are checked before anything is removed. */
    weft_store_file *files = calloc((size_t)argc, sizeof *files);
    int rc = files ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    for (int k = 1; rc == 0 && k < argc; k++)
        rc = weft_store_lookup(s, argv[k], &files[k]);
    for (int k = 1; rc == 0 && k < argc; k++) {
        rc = weft_store_remove(s, &files[k].xet_hash);
        if (rc == WEFT_ENOTFOUND && k > 1) /* the same file named twice */
            rc = 0;
    }
    free(files);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int store_stats(weft_store *s, int argc, char **argv)
{
    int json = 0, by_codec = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc && strcmp(argv[i + 1], "codec") == 0)
            by_codec = ++i;
        else
            return cli_usage_error("store stats", "stats takes only --json and --by codec");
    }
    if (by_codec)
        return store_stats_codecs(s, json);
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
           cli_human_bytes(c, sizeof c, st.physical_bytes), ratio, (unsigned long long)st.n_chunks,
           (unsigned long long)st.n_xorbs);
    return CLI_EXIT_OK;
}

static void store_fsck_problem(const weft_store_fsck_problem *p, void *payload)
{
    (void)payload;
    if (p->xorb_hex[0] != '\0')
        printf("damaged xorb %s: %s\n", p->xorb_hex, p->reason);
    else
        printf("bad index entry: %s\n", p->reason);
    for (size_t i = 0; i < p->n_files; i++) {
        char sha[65], xet[65];
        weft_hex_encode(sha, p->files[i].sha256, 32);
        weft_xet_hash_to_hex(xet, &p->files[i].xet_hash);
        printf("  affects file sha256 %s (xet %s, %llu bytes)\n", sha, xet,
               (unsigned long long)p->files[i].size);
    }
    fflush(stdout);
}

static int store_fsck(weft_store *s, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage_error("store fsck", "fsck takes no arguments");
    weft_store_fsck_result r;
    char a[32];
    int rc = weft_store_fsck(s, store_fsck_problem, NULL, &r);
    if (rc < 0)
        return cli_fail(rc);
    printf("fsck: %u xorbs (%s) and %u files checked; %u problem(s), %u file(s) affected; "
           "%u unreferenced object(s)%s\n",
           r.xorbs_checked, cli_human_bytes(a, sizeof a, r.bytes_checked), r.files_checked,
           r.problems, r.files_affected, r.orphans, r.orphans ? " (gc removes them)" : "");
    if (r.problems == 0) {
        printf("fsck: clean\n");
        return CLI_EXIT_OK;
    }
    fflush(stdout);
    fprintf(stderr, "weft: fsck: %u problem(s) found; %u file(s) damaged\n", r.problems,
            r.files_affected);
    return CLI_EXIT_CORRUPT;
}

static int store_gc(weft_store *s, int argc, char **argv)
{
    int64_t grace = WEFT_STORE_GC_GRACE_DEFAULT;
    if (argc == 3 && strcmp(argv[1], "--grace") == 0) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(argv[2], &end, 10);
        if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' || errno != 0)
            return cli_usage_error("store gc", "bad --grace '%s': expected seconds (0 or more)",
                                   argv[2]);
        grace = (int64_t)v;
    } else if (argc != 1) {
        return cli_usage_error("store gc", "gc takes only --grace SECONDS");
    }
    weft_store_gc_result r;
    char a[32];
    int rc = weft_store_gc(s, grace, &r);
    if (rc < 0)
        return cli_fail(rc);
    printf("gc: %u xorbs deleted, %u rewritten, %u leftover objects removed, %s freed\n",
           r.xorbs_deleted, r.xorbs_rewritten, r.orphans_deleted,
           cli_human_bytes(a, sizeof a, r.bytes_freed));
    if (r.rewrites_skipped > 0)
        printf("gc: %u rewrite(s) skipped: an upload started using them; run gc again later\n",
               r.rewrites_skipped);
    if (r.xorbs_skipped > 0)
        printf("gc: %u damaged or missing xorb(s) left alone; run weft store fsck\n",
               r.xorbs_skipped);
    return CLI_EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------------------------- */

int cmd_store(int argc, char **argv)
{
    const char *dir = getenv("WEFT_HOME");
    const store_sub *sub = NULL;
    int n = 0, status = CLI_EXIT_OK;
    if (dir == NULL || dir[0] == '\0')
        dir = "./weft-data";
    /* --store DIR anywhere before a "--" is taken out; the rest keeps its order. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL)
        return cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
    for (int i = 1, opts = 1; i < argc; i++) {
        if (opts && strcmp(argv[i], "--") == 0)
            opts = 0;
        if (opts && strcmp(argv[i], "--store") == 0) {
            if (i + 1 >= argc) {
                free(rest);
                return cli_usage_error("store", "--store needs a directory");
            }
            dir = argv[++i];
        } else if (opts && strncmp(argv[i], "--store=", 8) == 0) {
            dir = argv[i] + 8;
        } else {
            rest[n++] = argv[i];
        }
    }
    /* A hub's data directory (weft serve) keeps its store in store/: accept it as well. */
    char hub_store_dir[4096];
    const char *hub_data = dir;
    snprintf(hub_store_dir, sizeof hub_store_dir, "%s/meta.db", dir);
    if (weft_fs_exists(hub_store_dir)) {
        snprintf(hub_store_dir, sizeof hub_store_dir, "%s/store", dir);
        dir = hub_store_dir;
    }
    if (n == 0 || strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
        strcmp(rest[0], "help") == 0) {
        fputs(store_help, n == 0 ? stderr : stdout);
        free(rest);
        return n == 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t k = 0; k < sizeof store_subs / sizeof store_subs[0]; k++)
        if (strcmp(rest[0], store_subs[k].name) == 0)
            sub = &store_subs[k];
    if (sub == NULL) {
        status = cli_usage_error("store", "unknown store subcommand '%s'", rest[0]);
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
    if (strcmp(sub->name, "stats") == 0) {
        /* --repo R: per repo (and per namespace) on a hub's data directory. */
        for (int k = 1; k + 1 < n; k++) {
            if (strcmp(rest[k], "--repo") != 0)
                continue;
            int json = 0;
            for (int j = 1; j < n; j++)
                json |= strcmp(rest[j], "--json") == 0;
            status = store_stats_repo(hub_data, rest[k + 1], json);
            free(rest);
            return status;
        }
    }
    if (strcmp(sub->name, "optimize") == 0) {
        /* --data DIR: a hub's data directory, bases found from its repos. */
        for (int k = 1; k + 1 < n; k++) {
            if (strcmp(rest[k], "--data") != 0)
                continue;
            const char *data = rest[k + 1];
            memmove(rest + k, rest + k + 2, (size_t)(n - k - 2) * sizeof *rest);
            status = store_optimize_hub(data, n - 2, rest);
            free(rest);
            return status;
        }
    }
    if (strcmp(sub->name, "put") == 0) {
        /* put opens one handle per worker thread. */
        status = store_put(dir, n, rest);
        free(rest);
        return status;
    }
    weft_store *s = NULL;
    int rc = weft_store_open(&s, dir);
    if (rc < 0) {
        free(rest);
        return cli_fail(rc);
    }
    if (strcmp(sub->name, "get") == 0)
        status = store_get(s, n, rest);
    else if (strcmp(sub->name, "ls") == 0)
        status = store_ls(s, n, rest);
    else if (strcmp(sub->name, "rm") == 0)
        status = store_rm(s, n, rest);
    else if (strcmp(sub->name, "stats") == 0)
        status = store_stats(s, n, rest);
    else if (strcmp(sub->name, "fsck") == 0)
        status = store_fsck(s, n, rest);
    else if (strcmp(sub->name, "optimize") == 0)
        status = store_optimize(s, n, rest);
    else
        status = store_gc(s, n, rest);
    weft_store_close(s);
    free(rest);
    return status;
}
