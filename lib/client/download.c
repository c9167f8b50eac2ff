/* weft download: plan (commit, listing, filters), then fetch files with a pool of workers
 * (include/weft/download.h). One file's bytes are fetched by download_blob_fetch: the one place
 * that chooses between a Xet fetch and plain HTTP ranges. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "weft/download.h"
#include "weft/download_parts.h"
#include "weft/fsutil.h"
#include "weft/hf_cache.h"
#include "weft/link_header.h"
#include "weft/sha256.h"

#define DL_TRIES 3             /* attempts per range when the connection breaks */
#define DL_HASH_BUF (1u << 20) /* read size when hashing a local-dir file */
#define DL_LIST_MAX 1000000    /* files in one listing */

/* ---- filters ------------------------------------------------------------------------------ */

/* huggingface_hub filter_repo_objects: fnmatch without FNM_PATHNAME ('*' crosses '/'), and a
 * pattern ending in '/' means everything below it. */
static int download_glob_match(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '/') {
        char p[PATH_MAX];
        if (n + 2 > sizeof p)
            return 0;
        memcpy(p, pattern, n);
        p[n] = '*';
        p[n + 1] = '\0';
        return fnmatch(p, path, 0) == 0;
    }
    return fnmatch(pattern, path, 0) == 0;
}

int weft_download_path_wanted(const char *path, const char *const *include, size_t n_include,
                              const char *const *exclude, size_t n_exclude)
{
    int in = n_include == 0;
    for (size_t i = 0; i < n_include && !in; i++)
        in = download_glob_match(include[i], path);
    if (!in)
        return 0;
    for (size_t i = 0; i < n_exclude; i++)
        if (download_glob_match(exclude[i], path))
            return 0;
    return 1;
}

/* ---- state -------------------------------------------------------------------------------- */

typedef struct dl_file {
    char *path;
    int done; /* 1 fetched, 2 already there */
} dl_file;

typedef struct dl_ctx {
    weft_client *c;
    const weft_client_repo *repo;
    const weft_download_opts *o;
    const char *revision;
    char *cache; /* cache mode: the hub cache, repo folder and dir */
    char *repo_folder;
    char *repo_dir;
    char commit[41];
    dl_file *files;
    size_t n_files;
    size_t n_workers;
    atomic_size_t next_file;
    atomic_uint_least64_t bytes;
    uint64_t max_rate; /* WEFT_CLIENT_MAX_RATE bytes/s, 0: unlimited */
    struct timespec t0;
    pthread_mutex_t lock;
    int rc; /* first failure and its message */
    char *err;
} dl_ctx;

static double download_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts received bytes and sleeps when they run ahead of WEFT_CLIENT_MAX_RATE (tests use it to
 * interrupt a download mid-file). */
static void download_account(dl_ctx *ctx, size_t len)
{
    uint64_t total = atomic_fetch_add(&ctx->bytes, len) + len;
    if (!ctx->max_rate)
        return;
    double start = (double)ctx->t0.tv_sec + (double)ctx->t0.tv_nsec / 1e9;
    double due = start + (double)total / (double)ctx->max_rate;
    double wait = due - download_now();
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* Keeps the first failure of any worker (its message is thread-local, so it is copied). */
static void download_fail(dl_ctx *ctx, int rc)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->rc == 0) {
        ctx->rc = rc;
        ctx->err = strdup(weft_err_last());
    }
    pthread_mutex_unlock(&ctx->lock);
}

static int download_asprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int download_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *out = NULL;
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    return 0;
}

/* Repo paths become file paths: no absolute paths, "." or ".." segments, empty segments. */
static int download_path_check(const char *path)
{
    if (!path[0] || path[0] == '/')
        goto bad;
    for (const char *s = path; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            goto bad;
        if (!e)
            break;
        s = e + 1;
        if (!*s)
            goto bad;
    }
    return 0;
bad:
    return weft_err_set(WEFT_EINVALID, "repo path '%s' is not a safe relative path", path);
}

/* mkdir -p of the directory part of `path`. */
static int download_mkparent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = weft_fs_mkdirs(dir);
    }
    free(dir);
    return rc;
}

/* ---- one blob: ranges, resume sidecar, hashing -------------------------------------------- */

/* The bytes of a range collect in a buffer of DL_WRITE_BUF and go to the file in one pwrite
 * (libcurl hands the body over in 16 KiB pieces: one write each was 70,000 system calls per GB).
 * A full buffer that continues the bytes already given to the hasher is then handed to it, so
 * the SHA-256 reads what was just received instead of reading the file again; bytes that arrive
 * ahead of the hasher (later ranges, a resumed file) are read back from the file when it gets to
 * them. At most DL_BUFS buffers per blob exist, which bounds the memory and makes the receivers
 * wait when the hasher falls behind. */
#define DL_WRITE_BUF (1u << 20)
/* One pwrite: the page cache sizes its folios after the write (Linux 6.x, ext4/xfs/tmpfs). Up to
 * 256 KiB they come from memory that was just in use; 512 KiB and 1 MiB folios come from large
 * free blocks, which a VM's balloon has often handed back to the host, and refilling those cost
 * 3-10x more system time per GB on the benchmark VM (dd of 1 GiB after small writes: 16 KiB
 * writes 0.45 s, 256 KiB 0.18 s, 512 KiB 0.7 s, 1 MiB 1.7-2.8 s). */
#define DL_WRITE_PIECE (256u << 10)
#define DL_BUFS_SPARE 3     /* buffers beyond one per receiver */
#define DL_RANGE_THREADS 64 /* receivers of one blob at most */
#define DL_BUFS (DL_RANGE_THREADS + DL_BUFS_SPARE)
#define DL_RUN_MAX 8 /* ranges (128 MiB) fetched with one GET at most */
#define DL_RAMP_SECONDS 0.5
#define DL_RAMP_RATE 200e6 /* bytes/s below which another connection is added */

typedef struct dl_part {
    uint64_t start, len;
    uint64_t done; /* bytes of the range already in the file (from its start); under the lock */
    int complete;
} dl_part;

typedef struct dl_chunk {
    uint8_t *buf;
    size_t len;
} dl_chunk;

typedef struct dl_blob_job {
    dl_ctx *ctx;
    const weft_download_blob *blob;
    const char *incomplete;
    int fd;
    weft_progress_bar *bar;
    char *parts_path; /* the sidecar (ranged files), NULL for single-range files */
    int parts_fd;
    dl_part *parts;
    size_t n_parts;
    uint64_t part_size;
    size_t next_part; /* next range to hand out */
    size_t run_len;   /* ranges one receiver claims at a time (one GET) */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a buffer queued or freed, bytes written, the receivers done */
    /* the hasher, in file order: bytes [0, fed) are hashed or queued, [0, hashed) hashed */
    EVP_MD_CTX *md;
    uint64_t fed, hashed;
    dl_chunk queue[DL_BUFS]; /* handed over by the receivers, from `fed - queued bytes` */
    size_t q_head, q_len;
    uint8_t *spare[DL_BUFS];          /* free buffers */
    size_t n_spare, n_bufs, max_bufs; /* max_bufs: receivers + DL_BUFS_SPARE */
    int receiving;                    /* 0 once no receiver will write again */
    size_t active;                    /* receivers running */
    pthread_cond_t done_cond;         /* a receiver ended */
    int rc;
    char *err;
    uint64_t resumed_from; /* bytes found in the file at the start */
} dl_blob_job;

static void download_job_fail(dl_blob_job *job, int rc)
{
    pthread_mutex_lock(&job->lock);
    if (job->rc == 0) {
        job->rc = rc;
        job->err = strdup(weft_err_last());
    }
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

/* A free buffer, allocated while fewer than max_bufs exist, else waited for (the hasher frees
 * them). Called with the lock held; NULL when out of memory or once the job failed (the hasher
 * may have stopped). */
static uint8_t *download_buf_take(dl_blob_job *job)
{
    for (;;) {
        if (job->rc != 0)
            return NULL;
        if (job->n_spare > 0)
            return job->spare[--job->n_spare];
        if (job->n_bufs < job->max_bufs) {
            uint64_t size = job->blob->size < DL_WRITE_BUF ? job->blob->size : DL_WRITE_BUF;
            uint8_t *b = malloc(size ? (size_t)size : 1);
            if (b)
                job->n_bufs++;
            return b;
        }
        pthread_cond_wait(&job->cond, &job->lock);
    }
}

/* Called with the lock held. */
static void download_buf_give(dl_blob_job *job, uint8_t *buf)
{
    job->spare[job->n_spare++] = buf;
    pthread_cond_broadcast(&job->cond);
}

/* Bytes of the file from `off` on that are written: what the range holding `off` has done. */
static uint64_t download_written_from(const dl_blob_job *job, uint64_t off)
{
    if (job->n_parts == 0)
        return 0;
    size_t i = (size_t)(off / job->part_size);
    if (i >= job->n_parts)
        return 0;
    const dl_part *p = &job->parts[i];
    return p->start + p->done > off ? p->start + p->done - off : 0;
}

/* The hasher thread: SHA-256 (or git's SHA-1) of the blob in file order, from the buffers the
 * receivers hand over, else from the file for bytes written ahead of it. Ends when every byte is
 * hashed, or when the receivers stopped and nothing more can come. */
static void *download_hasher(void *arg)
{
    dl_blob_job *job = arg;
    uint64_t size = job->blob->size;
    uint8_t *own = NULL; /* for reads from the file */
    pthread_mutex_lock(&job->lock);
    while (job->hashed < size && job->rc == 0) {
        if (job->q_len > 0) {
            dl_chunk c = job->queue[job->q_head];
            job->q_head = (job->q_head + 1) % DL_BUFS;
            job->q_len--;
            pthread_mutex_unlock(&job->lock);
            int ok = EVP_DigestUpdate(job->md, c.buf, c.len) == 1;
            pthread_mutex_lock(&job->lock);
            job->hashed += c.len;
            download_buf_give(job, c.buf);
            if (!ok) {
                pthread_mutex_unlock(&job->lock);
                download_job_fail(job, weft_err_set(WEFT_ENOMEM, "hash update failed"));
                pthread_mutex_lock(&job->lock);
            }
            continue;
        }
        uint64_t avail = job->fed < size ? download_written_from(job, job->fed) : 0;
        if (avail == 0) {
            if (!job->receiving)
                break;
            pthread_cond_wait(&job->cond, &job->lock);
            continue;
        }
        /* bytes already in the file: claim them (receivers continuing after them queue) */
        uint64_t off = job->fed;
        size_t n = avail < DL_WRITE_BUF ? (size_t)avail : DL_WRITE_BUF;
        job->fed += n;
        pthread_mutex_unlock(&job->lock);
        int rc = 0;
        if (!own)
            own = malloc(DL_WRITE_BUF);
        if (!own)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        if (rc == 0)
            rc = weft_fs_pread_full(job->fd, own, n, off, job->incomplete);
        if (rc == 0 && EVP_DigestUpdate(job->md, own, n) != 1)
            rc = weft_err_set(WEFT_ENOMEM, "hash update failed");
        if (rc < 0)
            download_job_fail(job, rc);
        pthread_mutex_lock(&job->lock);
        job->hashed += n;
    }
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    free(own);
    return NULL;
}

/* Records a finished range in the sidecar ("<index>\n" lines after a header line). */
static int download_part_record(dl_blob_job *job, size_t index)
{
    if (job->parts_fd < 0)
        return 0;
    char line[WEFT_PARTS_LINE_MAX];
    return weft_fs_write_full(job->parts_fd, line, weft_parts_record(line, index), job->parts_path);
}

/* A receiver's state over a run of consecutive ranges [part, end) fetched with one GET. */
typedef struct dl_part_sink {
    dl_blob_job *job;
    dl_part *part; /* the range the next bytes belong to */
    dl_part *end;
    uint8_t *buf; /* DL_WRITE_BUF (or the blob's size), bytes after the range's `done` */
    size_t len;
    uint64_t got; /* bytes of the current answer */
} dl_part_sink;

/* Writes the buffered bytes after the range's done bytes, then hands the buffer to the hasher
 * when they are the next bytes it needs (taking a free one in exchange). */
static int download_sink_flush(dl_part_sink *s)
{
    dl_blob_job *job = s->job;
    dl_part *p = s->part;
    if (s->len == 0)
        return 0;
    uint64_t at = p->start + p->done; /* only this receiver changes p->done */
    int rc = 0;
    for (size_t off = 0; off < s->len && rc == 0; off += DL_WRITE_PIECE) {
        size_t n = s->len - off < DL_WRITE_PIECE ? s->len - off : DL_WRITE_PIECE;
        rc = weft_fs_pwrite_full(job->fd, s->buf + off, n, at + off, job->incomplete);
    }
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&job->lock);
    p->done += s->len;
    if (at == job->fed && job->q_len < DL_BUFS) {
        job->queue[(job->q_head + job->q_len) % DL_BUFS] = (dl_chunk){s->buf, s->len};
        job->q_len++;
        job->fed += s->len;
        s->buf = download_buf_take(job);
        if (!s->buf)
            rc = job->rc ? job->rc : weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    s->len = 0;
    return rc;
}

/* Flushes a range whose bytes all arrived, records it as finished, moves to the next one. */
static int download_sink_next_part(dl_part_sink *s)
{
    int rc = download_sink_flush(s);
    if (rc < 0)
        return rc;
    dl_blob_job *job = s->job;
    pthread_mutex_lock(&job->lock);
    s->part->complete = 1;
    rc = download_part_record(job, (size_t)(s->part - job->parts));
    pthread_mutex_unlock(&job->lock);
    s->part++;
    return rc;
}

static int download_part_sink(const uint8_t *data, size_t len, void *payload)
{
    dl_part_sink *s = payload;
    size_t cap = s->job->blob->size < DL_WRITE_BUF ? (size_t)s->job->blob->size : DL_WRITE_BUF;
    weft_progress_advance(s->job->bar, len);
    download_account(s->job->ctx, len);
    s->got += len;
    while (len > 0) {
        if (s->part == s->end)
            return weft_err_set(WEFT_ECORRUPT, "%s: the server sent more bytes than asked for",
                                s->job->blob->path);
        dl_part *p = s->part;
        uint64_t left = p->len - p->done - s->len;
        size_t n = cap - s->len < len ? cap - s->len : len;
        if (n > left)
            n = (size_t)left;
        memcpy(s->buf + s->len, data, n);
        s->len += n;
        data += n;
        len -= n;
        int rc = 0;
        if (p->done + s->len == p->len)
            rc = download_sink_next_part(s);
        else if (s->len == cap)
            rc = download_sink_flush(s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* GETs what is missing of the run [s->part, s->end) as one range, retrying broken connections
 * from where they stopped. */
static int download_run_fetch(dl_blob_job *job, dl_part_sink *s)
{
    int rc = 0;
    for (int attempt = 0; attempt < DL_TRIES && s->part < s->end; attempt++) {
        const dl_part *last = s->end - 1;
        weft_client_req req;
        weft_client_req_init(&req, "GET", job->blob->url);
        req.follow_redirects = 1;
        req.sink = download_part_sink;
        req.sink_payload = s;
        uint64_t from = s->part->start + s->part->done, to = last->start + last->len;
        int whole = from == 0 && to == job->blob->size;
        if (!whole) {
            req.has_range = 1;
            req.range_start = from;
            req.range_end = to - 1;
        }
        weft_client_resp resp;
        s->got = 0;
        rc = weft_client_send(job->ctx->c, &resp, &req);
        /* what arrived is kept even when the connection broke: a retry continues after it */
        int frc = download_sink_flush(s);
        if (rc == 0 || rc == WEFT_ENETWORK)
            rc = frc < 0 ? frc : rc;
        if (rc == WEFT_ENETWORK)
            weft_err_wrap(rc, "%s", job->blob->path);
        else if (rc == 0)
            rc = weft_client_resp_check(&resp, job->blob->path);
        if (rc == 0 && !whole && resp.status != 206 && s->got > 0)
            rc = weft_err_set(WEFT_EINVALID, "%s: the server ignored the Range header",
                              job->blob->path);
        weft_client_resp_dispose(&resp);
        if (rc == WEFT_ENETWORK && attempt + 1 < DL_TRIES) {
            /* try again from where the bytes stopped, after a short pause */
            if (s->got == 0) {
                struct timespec pause = {attempt, 500000000L}; /* 0.5 s, then 1.5 s */
                nanosleep(&pause, NULL);
            }
            continue;
        }
        if (rc < 0)
            return rc;
        if (s->part < s->end)
            rc = weft_err_set(WEFT_ENETWORK, "%s: the connection ended after %llu of %llu bytes",
                              job->blob->path, (unsigned long long)(s->part->start + s->part->done),
                              (unsigned long long)to);
    }
    return rc;
}

/* A receiver: claims runs of up to run_len unfinished ranges, each fetched with one GET. */
static void *download_part_worker(void *arg)
{
    dl_blob_job *job = arg;
    dl_part_sink sink = {.job = job};
    pthread_mutex_lock(&job->lock);
    sink.buf = download_buf_take(job);
    pthread_mutex_unlock(&job->lock);
    if (!sink.buf) {
        if (job->rc == 0)
            download_job_fail(job, weft_err_set(WEFT_ENOMEM, "out of memory"));
        pthread_mutex_lock(&job->lock);
        job->active--;
        pthread_cond_signal(&job->done_cond);
        pthread_mutex_unlock(&job->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&job->lock);
        while (job->next_part < job->n_parts && job->parts[job->next_part].complete)
            job->next_part++;
        if (job->rc != 0 || job->next_part >= job->n_parts) {
            pthread_mutex_unlock(&job->lock);
            break;
        }
        size_t i = job->next_part, j = i + 1;
        while (j < job->n_parts && j - i < job->run_len && !job->parts[j].complete)
            j++;
        job->next_part = j;
        pthread_mutex_unlock(&job->lock);
        sink.part = &job->parts[i];
        sink.end = &job->parts[j];
        int rc = download_run_fetch(job, &sink);
        if (rc < 0) {
            download_job_fail(job, rc);
            break;
        }
    }
    pthread_mutex_lock(&job->lock);
    if (sink.buf)
        download_buf_give(job, sink.buf);
    job->active--;
    pthread_cond_signal(&job->done_cond);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* Reads the sidecar of a ranged download: the header must name the same size and range size,
 * then one finished range index per line (a torn last line is ignored). */
static void download_parts_load(dl_blob_job *job)
{
    weft_buf b;
    weft_buf_init(&b, 1u << 20);
    uint8_t *done = calloc(job->n_parts ? job->n_parts : 1, 1);
    if (done == NULL || weft_fs_read_file(&b, job->parts_path) < 0) {
        weft_err_clear(); /* no sidecar to trust: every range is fetched again */
    } else {
        weft_parts_parse(done, job->n_parts, (const char *)b.data, b.len, job->blob->size,
                         WEFT_DOWNLOAD_PART_SIZE);
        for (size_t i = 0; i < job->n_parts; i++)
            if (done[i]) {
                job->parts[i].complete = 1;
                job->parts[i].done = job->parts[i].len;
            }
    }
    free(done);
    weft_buf_dispose(&b);
}

/* Splits the blob into ranges and marks what the .incomplete already holds: with a sidecar the
 * ranges it lists; without one (a single-range file, or a file huggingface_hub left) the bytes
 * before the file's length, which are written in order. */
static int download_plan_parts(dl_blob_job *job)
{
    uint64_t size = job->blob->size;
    int ranged = size >= WEFT_DOWNLOAD_RANGED_MIN;
    uint64_t part = ranged ? WEFT_DOWNLOAD_PART_SIZE : (size ? size : 1);
    job->n_parts = size ? (size_t)((size + part - 1) / part) : 0;
    job->part_size = part;
    job->parts = calloc(job->n_parts ? job->n_parts : 1, sizeof *job->parts);
    if (!job->parts)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    for (size_t i = 0; i < job->n_parts; i++) {
        job->parts[i].start = (uint64_t)i * part;
        job->parts[i].len = size - job->parts[i].start < part ? size - job->parts[i].start : part;
    }
    struct stat st;
    if (fstat(job->fd, &st) < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", job->incomplete);
    uint64_t have = (uint64_t)st.st_size;
    int rc = 0;
    if (ranged) {
        rc = download_asprintf(&job->parts_path, "%s.parts", job->incomplete);
        if (rc < 0)
            return rc;
        int had_sidecar = weft_fs_exists(job->parts_path);
        if (had_sidecar && have > 0)
            download_parts_load(job);
        job->parts_fd = open(job->parts_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (job->parts_fd < 0)
            return weft_err_sys(WEFT_EIO, errno, "%s", job->parts_path);
        if (!had_sidecar || have == 0) {
            if (ftruncate(job->parts_fd, 0) < 0)
                return weft_err_sys(WEFT_EIO, errno, "%s", job->parts_path);
            char header[WEFT_PARTS_LINE_MAX];
            rc = weft_fs_write_full(job->parts_fd, header,
                                    weft_parts_header(header, size, WEFT_DOWNLOAD_PART_SIZE),
                                    job->parts_path);
            if (rc < 0)
                return rc;
            if (!had_sidecar && have > 0 && have <= size) { /* a prefix another tool wrote */
                for (size_t i = 0; i < job->n_parts && rc == 0; i++) {
                    dl_part *p = &job->parts[i];
                    p->done = have >= p->start + p->len ? p->len
                              : have > p->start         ? have - p->start
                                                        : 0;
                    if (p->done == p->len)
                        rc = download_part_record(job, i);
                }
                if (rc < 0)
                    return rc;
            }
        }
    } else if (have > 0 && have <= size && job->n_parts == 1) {
        job->parts[0].done = have;
    }
    if (have > size && ftruncate(job->fd, 0) < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", job->incomplete);
    uint64_t done = 0;
    for (size_t i = 0; i < job->n_parts; i++) {
        if (job->parts[i].done > job->parts[i].len)
            job->parts[i].done = 0;
        job->parts[i].complete = job->parts[i].done == job->parts[i].len;
        done += job->parts[i].done;
    }
    job->resumed_from = done;
    return 0;
}

/* Starts the digest the etag names: sha256 of the bytes (64 hex) or sha1 of "blob <len>\0" and
 * the bytes, git's blob id (40 hex). */
static int download_hash_init(dl_blob_job *job)
{
    job->md = EVP_MD_CTX_new();
    if (!job->md)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    int git = strlen(job->blob->etag) == 40;
    if (EVP_DigestInit_ex(job->md, git ? EVP_sha1() : EVP_sha256(), NULL) != 1)
        return weft_err_set(WEFT_ENOMEM, "digest init failed");
    if (git) {
        char head[48];
        int n = snprintf(head, sizeof head, "blob %llu", (unsigned long long)job->blob->size);
        if (EVP_DigestUpdate(job->md, head, (size_t)n + 1) != 1)
            return weft_err_set(WEFT_ENOMEM, "digest update failed");
    }
    return 0;
}

/* Runs the ranges with up to max_workers threads (this one included). */
static int download_http_ranges(dl_blob_job *job)
{
    size_t todo = 0;
    for (size_t i = 0; i < job->n_parts; i++)
        todo += !job->parts[i].complete;
    int ramp = job->ctx->o->max_workers <= 0;
    size_t n_threads = ramp ? WEFT_DOWNLOAD_RANGE_WORKERS : (size_t)job->ctx->o->max_workers;
    if (n_threads > todo)
        n_threads = todo;
    if (n_threads > DL_RANGE_THREADS)
        n_threads = DL_RANGE_THREADS;
    if (n_threads == 0)
        return job->rc;
    /* each receiver's share in one GET, at most DL_RUN_MAX ranges so receivers that finish
     * early (or start later) take over the rest */
    size_t run = (todo + n_threads - 1) / n_threads;
    if (run > DL_RUN_MAX)
        run = DL_RUN_MAX;
    pthread_t tids[DL_RANGE_THREADS];
    size_t started = 0, first = ramp ? 1 : n_threads;
    pthread_mutex_lock(&job->lock);
    job->max_bufs = n_threads + DL_BUFS_SPARE;
    job->run_len = run;
    if (n_threads == 1) { /* one receiver (small files): this thread */
        job->active = 1;
        pthread_mutex_unlock(&job->lock);
        download_part_worker(job);
        return job->rc;
    }
    uint64_t seen = atomic_load(&job->ctx->bytes);
    double t_seen = download_now();
    for (;;) {
        while (started < first && job->rc == 0) {
            job->active++;
            if (pthread_create(&tids[started], NULL, download_part_worker, job) != 0) {
                job->active--;
                first = started; /* fewer receivers still finish the blob */
                break;
            }
            started++;
        }
        if (job->active == 0)
            break;
        /* Default: one connection, and one more (up to n_threads) each DL_RAMP_SECONDS in
         * which the blob came slower than DL_RAMP_RATE; on a fast link (loopback, LAN) one
         * stream hashed from memory costs the least CPU, on a slow one parallel ranges pay. */
        double wait = t_seen + DL_RAMP_SECONDS - download_now();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)wait;
            ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&job->done_cond, &job->lock, &ts);
            continue;
        }
        uint64_t now_bytes = atomic_load(&job->ctx->bytes);
        double now = download_now();
        int slow = (double)(now_bytes - seen) < DL_RAMP_RATE * (now - t_seen);
        size_t next = job->next_part;
        while (next < job->n_parts && job->parts[next].complete)
            next++;
        if (ramp && slow && first < n_threads && next < job->n_parts)
            first++;
        seen = now_bytes;
        t_seen = now;
    }
    pthread_mutex_unlock(&job->lock);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return job->rc;
}

/* Fetches the bytes of `blob` into the open file `fd` (named `incomplete`), resuming what is
 * there, and verifies them against the etag. This is where Xet is chosen over plain HTTP. */
static int download_blob_fetch(dl_ctx *ctx, const weft_download_blob *blob, const char *incomplete,
                               int fd, weft_progress_bar *bar, int *resumed)
{
    dl_blob_job job = {
        .ctx = ctx, .blob = blob, .incomplete = incomplete, .fd = fd, .bar = bar, .parts_fd = -1};
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.cond, NULL);
    pthread_cond_init(&job.done_cond, NULL);
    pthread_t hasher;
    int hasher_started = 0;
    int rc = download_hash_init(&job), xet_done = 0;
    if (rc < 0)
        goto out;
    /* Other ways to the bytes, in order: a delta against a cached base, then Xet. Each fills the
     * whole file (from a delta and a cached base; from reconstructions and its chunk cache), or
     * answers WEFT_ENOTFOUND to let the next way — at last the plain HTTP fetch below — run. */
    const weft_download_xet_fn ways[2] = {blob->delta_bases ? ctx->o->delta_fetch : NULL,
                                          blob->xet_hash ? ctx->o->xet_fetch : NULL};
    void *const payloads[2] = {ctx->o->delta_payload, ctx->o->xet_payload};
    for (int w = 0; w < 2 && !xet_done; w++) {
        if (!ways[w])
            continue;
        char parts[PATH_MAX];
        snprintf(parts, sizeof parts, "%s.parts", incomplete);
        unlink(parts);
        if (ftruncate(fd, 0) < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", incomplete);
            goto out;
        }
        rc = ways[w](ctx->c, blob, fd, bar, payloads[w]);
        if (rc < 0 && rc != WEFT_ENOTFOUND)
            goto out;
        if (rc == WEFT_ENOTFOUND)
            weft_err_clear();
        else if (ftruncate(fd, (off_t)blob->size) < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", incomplete);
            goto out;
        }
        xet_done = rc == 0; /* the file is whole: nothing was resumed */
    }
    rc = download_plan_parts(&job);
    if (rc < 0)
        goto out;
    *resumed = job.resumed_from > 0 && !xet_done;
    if (!xet_done) /* a Xet fetch advanced the bar itself; resetting it would zero the rate */
        weft_progress_set(bar, job.resumed_from);
    if (job.parts_fd >= 0 && blob->size > job.resumed_from) {
        int e = posix_fallocate(fd, 0, (off_t)blob->size);
        if (e == ENOSPC) {
            rc = weft_err_sys(WEFT_EIO, e, "writing %s", incomplete);
            goto out;
        }
    }
    job.receiving = 1;
    job.max_bufs = DL_BUFS_SPARE;
    if (pthread_create(&hasher, NULL, download_hasher, &job) != 0) {
        rc = weft_err_set(WEFT_ENOMEM, "%s: cannot start the hashing thread", blob->path);
        goto out;
    }
    hasher_started = 1;
    download_http_ranges(&job);
    pthread_mutex_lock(&job.lock);
    job.receiving = 0;
    pthread_cond_broadcast(&job.cond);
    pthread_mutex_unlock(&job.lock);
    pthread_join(hasher, NULL);
    hasher_started = 0;
    rc = job.rc;
    if (rc < 0)
        goto out;
    if (job.hashed != blob->size) {
        rc = weft_err_set(WEFT_EIO, "%s: not every byte was hashed", blob->path);
        goto out;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (EVP_DigestFinal_ex(job.md, md, &md_len) != 1) {
        rc = weft_err_set(WEFT_ENOMEM, "digest final failed");
        goto out;
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(hex, blob->etag) != 0) {
        /* the bytes are wrong: start over next time */
        if (ftruncate(fd, 0) < 0)
            weft_err_clear();
        if (job.parts_path)
            unlink(job.parts_path);
        rc = weft_err_set(WEFT_ECORRUPT, "%s: the bytes received hash to %s, not %s (etag)",
                          blob->path, hex, blob->etag);
        goto out;
    }
    /* No fsync, as huggingface_hub and curl: a killed process loses nothing (the page cache
     * keeps the bytes), and syncing would bound every download by the disk's durable write speed
     * (about half of what the network delivers here, bench/RESULTS.md). */
    if (job.parts_path)
        unlink(job.parts_path);
out:
    if (rc == 0 && job.rc < 0)
        rc = job.rc;
    if (rc < 0 && job.err && job.rc == rc)
        weft_err_set(rc, "%s", job.err);
    if (hasher_started) {
        pthread_mutex_lock(&job.lock);
        job.receiving = 0;
        pthread_cond_broadcast(&job.cond);
        pthread_mutex_unlock(&job.lock);
        pthread_join(hasher, NULL);
    }
    for (size_t i = 0; i < job.q_len; i++)
        free(job.queue[(job.q_head + i) % DL_BUFS].buf);
    for (size_t i = 0; i < job.n_spare; i++)
        free(job.spare[i]);
    if (job.parts_fd >= 0)
        close(job.parts_fd);
    free(job.parts_path);
    free(job.parts);
    free(job.err);
    EVP_MD_CTX_free(job.md);
    pthread_cond_destroy(&job.cond);
    pthread_cond_destroy(&job.done_cond);
    pthread_mutex_destroy(&job.lock);
    return rc;
}

/* ---- one file ----------------------------------------------------------------------------- */

/* Strips W/ and quotes from an etag header value into out (at most 64 characters + NUL). */
static void download_etag_clean(char out[65], const char *v)
{
    out[0] = '\0';
    if (!v)
        return;
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    if (*v == '"')
        v++;
    size_t n = strcspn(v, "\"");
    if (n > 64)
        n = 64;
    memcpy(out, v, n);
    out[n] = '\0';
}

typedef struct dl_head {
    weft_download_blob blob;
    char *url;
    char *xet_hash;
    char *xet_refresh;
    char *delta_bases;
} dl_head;

static void download_head_dispose(dl_head *h)
{
    free(h->url);
    free(h->xet_hash);
    free(h->xet_refresh);
    free(h->delta_bases);
    memset(h, 0, sizeof *h);
}

/* specs/hf-hub-api.md §7.2: HEAD the resolve URL without following redirects (relative ones,
 * repo renames, are repeated) and read commit, etag, size, the download URL and Xet headers. A
 * 404 EntryNotFound with X-Repo-Commit is recorded in .no_exist as huggingface_hub does. */
static int download_head(dl_ctx *ctx, dl_head *h, const char *path)
{
    memset(h, 0, sizeof *h);
    char *rev = NULL, *epath = NULL, *url = NULL;
    weft_client_resp resp = {0};
    int rc = weft_client_url_escape(&rev, ctx->commit, 0);
    if (rc == 0)
        rc = weft_client_url_escape(&epath, path, 1);
    if (rc == 0)
        rc = download_asprintf(&url, "/%s%s/resolve/%s/%s", weft_client_repo_prefix(ctx->repo),
                               ctx->repo->id, rev, epath);
    for (int hops = 0; rc == 0; hops++) {
        static const char *const hdrs[] = {"Accept-Encoding: identity", NULL};
        weft_client_req req;
        weft_client_req_init(&req, "HEAD", url);
        req.headers = hdrs;
        req.timeout_seconds = 60;
        weft_client_resp_dispose(&resp);
        rc = weft_client_send(ctx->c, &resp, &req);
        if (rc < 0)
            break;
        const char *loc = weft_client_resp_header(&resp, "Location");
        if (resp.status >= 300 && resp.status < 400 && loc && loc[0] == '/' && hops < 5) {
            free(url);
            url = strdup(loc);
            if (!url)
                rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            continue;
        }
        break;
    }
    if (rc < 0)
        goto out;
    const char *commit = weft_client_resp_header(&resp, "X-Repo-Commit");
    if (resp.status == 404) {
        const char *code = weft_client_resp_header(&resp, "X-Error-Code");
        if (ctx->repo_dir && commit && weft_hex_is_lower(commit, 40) && code &&
            strcmp(code, "EntryNotFound") == 0 &&
            weft_hf_cache_mark_absent(ctx->repo_dir, commit, path) < 0)
            weft_err_clear();
        rc = weft_client_resp_check(&resp, path);
        goto out;
    }
    int redirect = resp.status >= 300 && resp.status < 400;
    if (!redirect && (rc = weft_client_resp_check(&resp, path)) < 0)
        goto out;
    if (!commit || !weft_hex_is_lower(commit, 40)) {
        rc = weft_err_set(WEFT_EINVALID, "%s: the server sent no X-Repo-Commit (not a Hub?)", path);
        goto out;
    }
    memcpy(h->blob.commit, commit, 41);
    const char *etag = weft_client_resp_header(&resp, "X-Linked-Etag");
    download_etag_clean(h->blob.etag, etag ? etag : weft_client_resp_header(&resp, "ETag"));
    if (!weft_hex_is_lower(h->blob.etag, 64) && !weft_hex_is_lower(h->blob.etag, 40)) {
        rc = weft_err_set(WEFT_EINVALID,
                          "%s: the server's etag '%s' is neither a sha256 nor a git blob id", path,
                          h->blob.etag);
        goto out;
    }
    const char *size = weft_client_resp_header(&resp, "X-Linked-Size");
    if (!size && !redirect)
        size = weft_client_resp_header(&resp, "Content-Length");
    char *end = NULL;
    errno = 0;
    unsigned long long sz = size ? strtoull(size, &end, 10) : 0;
    if (!size || errno || end == size || (*end && *end != '\r' && *end != ' ')) {
        rc = weft_err_set(WEFT_EINVALID, "%s: the server sent no file size", path);
        goto out;
    }
    h->blob.size = sz;
    const char *loc = weft_client_resp_header(&resp, "Location");
    h->url = strdup(redirect && loc ? loc : url);
    const char *xh = weft_client_resp_header(&resp, "X-Xet-Hash");
    if (xh && xh[0]) {
        h->xet_hash = strdup(xh);
        const char *route = weft_client_resp_header(&resp, "X-Xet-Refresh-Route");
        if (route)
            h->xet_refresh = strdup(route);
        else if ((rc = weft_link_find(&h->xet_refresh, weft_client_resp_header(&resp, "Link"),
                                      "xet-auth")) < 0)
            goto out;
    }
    const char *db = weft_client_resp_header(&resp, "X-Weft-Delta-Base");
    if (db && db[0])
        h->delta_bases = strdup(db);
    if (!h->url || (xh && xh[0] && !h->xet_hash) || (db && db[0] && !h->delta_bases)) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    h->blob.path = path;
    h->blob.url = h->url;
    h->blob.xet_hash = h->xet_hash;
    h->blob.xet_refresh_url = h->xet_refresh;
    h->blob.delta_bases = h->delta_bases;
out:
    weft_client_resp_dispose(&resp);
    free(rev);
    free(epath);
    free(url);
    if (rc < 0)
        download_head_dispose(h);
    return rc;
}

/* Fails early when the disk holding `dir` has not `need` bytes free. */
static int download_space_check(const char *dir, uint64_t need)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0)
        return 0;
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (need > avail)
        return weft_err_set(WEFT_EIO,
                            "not enough disk space in %s: %llu bytes needed, %llu free (disk "
                            "full)",
                            dir, (unsigned long long)need, (unsigned long long)avail);
    return 0;
}

/* Opens (creating) the .incomplete, checks the space the rest needs, fetches and verifies. */
static int download_into(dl_ctx *ctx, const weft_download_blob *blob, const char *incomplete,
                         weft_progress_bar *bar, int *resumed)
{
    int rc = download_mkparent(incomplete);
    if (rc < 0)
        return rc;
    int fd = open(incomplete, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", incomplete);
    struct stat st;
    uint64_t have = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    char *dir = strdup(incomplete);
    if (!dir) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    *strrchr(dir, '/') = '\0';
    rc = download_space_check(dir, blob->size > have ? blob->size - have : 0);
    free(dir);
    if (rc == 0)
        rc = download_blob_fetch(ctx, blob, incomplete, fd, bar, resumed);
out:
    close(fd);
    return rc;
}

/* Cache mode: blobs/<etag> (fetched unless present) linked from snapshots/<commit>/<path>. */
static int download_file_cache(dl_ctx *ctx, dl_file *f, const dl_head *h, weft_progress_bar *bar)
{
    char *blob = NULL, *incomplete = NULL;
    int lock = -1, resumed = 0;
    int rc = weft_hf_cache_blob_path(&blob, ctx->repo_dir, h->blob.etag);
    if (rc < 0)
        goto out;
    struct stat st;
    if (stat(blob, &st) == 0 && (uint64_t)st.st_size == h->blob.size) {
        f->done = 2;
        goto link;
    }
    rc = weft_hf_cache_lock(&lock, ctx->cache, ctx->repo_folder, h->blob.etag);
    if (rc < 0)
        goto out;
    if (stat(blob, &st) == 0 && (uint64_t)st.st_size == h->blob.size) {
        f->done = 2; /* another process finished it while we waited */
        goto link;
    }
    rc = download_asprintf(&incomplete, "%s.incomplete", blob);
    if (rc == 0)
        rc = download_into(ctx, &h->blob, incomplete, bar, &resumed);
    if (rc < 0)
        goto out;
    if (rename(incomplete, blob) < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "rename %s", incomplete);
        goto out;
    }
    f->done = 1;
link:
    rc = weft_hf_cache_link(ctx->repo_dir, h->blob.commit, f->path, h->blob.etag);
out:
    if (lock >= 0)
        weft_hf_cache_unlock(lock);
    if (rc == 0)
        weft_progress_finish(bar, f->done == 2 ? "cached" : resumed ? "resumed" : NULL);
    free(blob);
    free(incomplete);
    return rc;
}

/* huggingface_hub's local-dir metadata: "<commit>\n<etag>\n<unix time>\n". */
static int download_meta_write(const char *meta, const char *commit, const char *etag)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char text[160];
    int n = snprintf(text, sizeof text, "%s\n%s\n%lld.%03ld\n", commit, etag, (long long)ts.tv_sec,
                     ts.tv_nsec / 1000000);
    return weft_fs_write_atomic(meta, text, (size_t)n);
}

/* 1 when the metadata says `file` holds `etag` and the file was not touched since. */
static int download_meta_fresh(const char *meta, const char *file, const char *etag)
{
    weft_buf b;
    weft_buf_init(&b, 4096);
    int fresh = 0;
    struct stat st;
    if (weft_fs_read_file(&b, meta) < 0 || weft_buf_append(&b, "", 1) < 0 || stat(file, &st) < 0) {
        weft_err_clear();
        goto out;
    }
    const char *s = (const char *)b.data;
    const char *l2 = strchr(s, '\n');
    const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    if (!l3 || (size_t)(l3 - l2 - 1) != strlen(etag) || strncmp(l2 + 1, etag, strlen(etag)) != 0)
        goto out;
    char *end;
    double t = strtod(l3 + 1, &end);
    fresh = end != l3 + 1 && (double)st.st_mtime - 1 <= t;
out:
    weft_buf_dispose(&b);
    return fresh;
}

/* sha256 of a whole file into hex (65 bytes). */
static int download_file_sha256(char hex[65], const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(DL_HASH_BUF);
    int rc = 0;
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, DL_HASH_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", path);
            goto out;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    uint8_t d[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
out:
    free(buf);
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}

/* Local-dir mode: DIR/<path>, with DIR/.cache/huggingface/download/<path>.{metadata,lock} and
 * the download in <path>.<etag>.incomplete beside them, as huggingface_hub lays them out. */
static int download_file_local(dl_ctx *ctx, dl_file *f, const dl_head *h, weft_progress_bar *bar)
{
    const char *dir = ctx->o->local_dir;
    char *file = NULL, *meta = NULL, *lockp = NULL, *incomplete = NULL;
    int lock = -1, resumed = 0;
    int rc = download_asprintf(&file, "%s/%s", dir, f->path);
    if (rc == 0)
        rc = download_asprintf(&meta, "%s/.cache/huggingface/download/%s.metadata", dir, f->path);
    if (rc == 0)
        rc = download_asprintf(&lockp, "%s/.cache/huggingface/download/%s.lock", dir, f->path);
    if (rc == 0)
        rc = download_asprintf(&incomplete, "%s/.cache/huggingface/download/%s.%s.incomplete", dir,
                               f->path, h->blob.etag);
    if (rc == 0)
        rc = download_mkparent(lockp);
    if (rc < 0)
        goto out;
    lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "lock %s", lockp);
        goto out;
    }
    if (download_meta_fresh(meta, file, h->blob.etag)) {
        f->done = 2;
        goto meta;
    }
    char hex[65];
    if (strlen(h->blob.etag) == 64 && weft_fs_exists(file) &&
        download_file_sha256(hex, file) == 0 && strcmp(hex, h->blob.etag) == 0) {
        f->done = 2; /* same bytes, no metadata yet (huggingface_hub checks the same way) */
        goto meta;
    }
    weft_err_clear();
    rc = download_into(ctx, &h->blob, incomplete, bar, &resumed);
    if (rc == 0)
        rc = download_mkparent(file);
    if (rc < 0)
        goto out;
    if (rename(incomplete, file) < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "rename %s", incomplete);
        goto out;
    }
    f->done = 1;
meta:
    rc = download_meta_write(meta, h->blob.commit, h->blob.etag);
out:
    if (lock >= 0)
        close(lock);
    if (rc == 0)
        weft_progress_finish(bar, f->done == 2 ? "up to date" : resumed ? "resumed" : NULL);
    free(file);
    free(meta);
    free(lockp);
    free(incomplete);
    return rc;
}

static int download_file(dl_ctx *ctx, dl_file *f)
{
    dl_head h;
    int rc = download_path_check(f->path);
    if (rc < 0)
        return rc;
    rc = download_head(ctx, &h, f->path);
    if (rc < 0)
        return rc;
    weft_progress_bar *bar = weft_progress_add(ctx->o->progress, f->path, h.blob.size);
    rc = ctx->o->local_dir ? download_file_local(ctx, f, &h, bar)
                           : download_file_cache(ctx, f, &h, bar);
    if (rc < 0) {
        char note[300];
        snprintf(note, sizeof note, "failed: %s", weft_err_last());
        weft_progress_finish(bar, note);
    }
    download_head_dispose(&h);
    return rc;
}

static void *download_file_worker(void *arg)
{
    dl_ctx *ctx = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&ctx->next_file, 1);
        if (i >= ctx->n_files)
            break;
        int rc = download_file(ctx, &ctx->files[i]);
        if (rc < 0)
            download_fail(ctx, rc);
    }
    return NULL;
}

/* ---- plan: commit and listing ------------------------------------------------------------ */

static int download_get_json(dl_ctx *ctx, json_t **out, const char *url, const char *what,
                             char **next)
{
    weft_client_req req;
    weft_client_req_init(&req, "GET", url);
    req.timeout_seconds = 120;
    weft_client_resp resp;
    *out = NULL;
    if (next)
        *next = NULL;
    int rc = weft_client_send(ctx->c, &resp, &req);
    if (rc == 0)
        rc = weft_client_resp_check(&resp, what);
    if (rc == 0) {
        json_error_t je;
        *out = json_loadb((const char *)resp.body.data, resp.body.len, 0, &je);
        if (!*out)
            rc = weft_err_set(WEFT_EINVALID, "%s: the server sent bad JSON: %s", what, je.text);
    }
    if (rc == 0 && next &&
        (rc = weft_link_find(next, weft_client_resp_header(&resp, "Link"), "next")) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    weft_client_resp_dispose(&resp);
    return rc;
}

/* Repo info at the revision: its commit ("sha"). */
static int download_resolve_commit(dl_ctx *ctx)
{
    char api[320], what[400];
    char *rev = NULL, *url = NULL;
    json_t *info = NULL;
    int rc = weft_client_repo_api_path(api, sizeof api, ctx->repo);
    if (rc == 0)
        rc = weft_client_url_escape(&rev, ctx->revision, 0);
    if (rc == 0)
        rc = download_asprintf(&url, "%s/revision/%s", api, rev);
    if (rc < 0)
        goto out;
    snprintf(what, sizeof what, "%s %s at revision '%s'", ctx->repo->type, ctx->repo->id,
             ctx->revision);
    rc = download_get_json(ctx, &info, url, what, NULL);
    if (rc < 0)
        goto out;
    const char *sha = json_string_value(json_object_get(info, "sha"));
    if (!sha || !weft_hex_is_lower(sha, 40)) {
        rc = weft_err_set(WEFT_EINVALID, "%s: the server's answer has no commit sha", what);
        goto out;
    }
    memcpy(ctx->commit, sha, 41);
out:
    json_decref(info);
    free(rev);
    free(url);
    return rc;
}

static int download_add_file(dl_ctx *ctx, size_t *cap, const char *path)
{
    if (ctx->n_files == *cap) {
        if (*cap >= DL_LIST_MAX)
            return weft_err_set(WEFT_ELIMIT, "more than %d files", DL_LIST_MAX);
        size_t ncap = *cap ? *cap * 2 : 64;
        dl_file *nf = realloc(ctx->files, ncap * sizeof *nf);
        if (!nf)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        ctx->files = nf;
        *cap = ncap;
    }
    char *p = strdup(path);
    if (!p)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    ctx->files[ctx->n_files++] = (dl_file){.path = p};
    return 0;
}

/* The files of the commit: the recursive tree, every page, filtered. */
static int download_list(dl_ctx *ctx)
{
    char api[320], what[400];
    char *url = NULL;
    size_t cap = 0;
    int rc = weft_client_repo_api_path(api, sizeof api, ctx->repo);
    if (rc == 0)
        rc = download_asprintf(&url, "%s/tree/%s?recursive=true", api, ctx->commit);
    snprintf(what, sizeof what, "listing %s %s", ctx->repo->type, ctx->repo->id);
    while (rc == 0 && url) {
        json_t *page = NULL;
        char *next = NULL;
        rc = download_get_json(ctx, &page, url, what, &next);
        free(url);
        url = next;
        if (rc == 0 && !json_is_array(page))
            rc = weft_err_set(WEFT_EINVALID, "%s: the server's answer is not a list", what);
        size_t i;
        json_t *e;
        json_array_foreach(page, i, e)
        {
            if (rc < 0)
                break;
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *path = json_string_value(json_object_get(e, "path"));
            if (!type || strcmp(type, "file") != 0 || !path)
                continue;
            const weft_download_opts *o = ctx->o;
            if (weft_download_path_wanted(path, o->include, o->n_include, o->exclude, o->n_exclude))
                rc = download_add_file(ctx, &cap, path);
        }
        json_decref(page);
    }
    free(url);
    return rc;
}

/* ---- run ---------------------------------------------------------------------------------- */

void weft_download_result_dispose(weft_download_result *r)
{
    if (!r)
        return;
    free(r->path);
    memset(r, 0, sizeof *r);
}

int weft_download_run(weft_download_result *out, weft_client *c, const weft_client_repo *repo,
                      const weft_download_opts *o)
{
    memset(out, 0, sizeof *out);
    dl_ctx ctx = {.c = c, .repo = repo, .o = o, .revision = o->revision ? o->revision : "main"};
    pthread_mutex_init(&ctx.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &ctx.t0);
    const char *rate = getenv("WEFT_CLIENT_MAX_RATE");
    if (rate && rate[0])
        ctx.max_rate = strtoull(rate, NULL, 10);
    pthread_t tids[256];
    size_t started = 0;
    int rc = 0;
    if (!ctx.revision[0]) {
        rc = weft_err_set(WEFT_EINVALID, "empty revision");
        goto out;
    }
    if (!o->local_dir) {
        const char *cache = o->cache_dir ? o->cache_dir : weft_client_config_get(c)->hub_cache;
        ctx.cache = strdup(cache);
        if (!ctx.cache) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            goto out;
        }
        rc = weft_hf_cache_repo_folder(&ctx.repo_folder, repo->type, repo->id);
        if (rc == 0)
            rc = weft_hf_cache_repo_dir(&ctx.repo_dir, cache, repo->type, repo->id);
        if (rc < 0)
            goto out;
    }
    rc = download_resolve_commit(&ctx);
    if (rc < 0)
        goto out;
    memcpy(out->commit, ctx.commit, 41);
    if (o->n_files > 0) {
        size_t cap = 0;
        for (size_t i = 0; i < o->n_files && rc == 0; i++)
            rc = download_add_file(&ctx, &cap, o->files[i]);
    } else {
        rc = download_list(&ctx);
    }
    if (rc < 0)
        goto out;
    if (ctx.repo_dir) {
        rc = weft_fs_mkdirs(ctx.repo_dir);
        if (rc == 0)
            rc = weft_hf_cache_ref_write(ctx.repo_dir, ctx.revision, ctx.commit);
    } else {
        rc = weft_fs_mkdirs(o->local_dir);
        char *gi = NULL;
        if (rc == 0)
            rc = download_asprintf(&gi, "%s/.cache/huggingface/.gitignore", o->local_dir);
        if (rc == 0 && !weft_fs_exists(gi)) {
            rc = download_mkparent(gi);
            if (rc == 0)
                rc = weft_fs_write_atomic(gi, "*", 1);
        }
        free(gi);
    }
    if (rc < 0)
        goto out;
    size_t n = o->max_workers > 0 ? (size_t)o->max_workers : WEFT_DOWNLOAD_DEFAULT_WORKERS;
    if (n > ctx.n_files)
        n = ctx.n_files;
    if (n > sizeof tids / sizeof tids[0])
        n = sizeof tids / sizeof tids[0];
    for (size_t i = 1; i < n; i++) {
        if (pthread_create(&tids[started], NULL, download_file_worker, &ctx) != 0)
            break;
        started++;
    }
    download_file_worker(&ctx);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    started = 0;
    rc = ctx.rc;
    if (rc < 0) {
        weft_err_set(rc, "%s", ctx.err ? ctx.err : "download failed");
        goto out;
    }
    out->n_files = ctx.n_files;
    for (size_t i = 0; i < ctx.n_files; i++) {
        out->n_fetched += ctx.files[i].done == 1;
        out->n_cached += ctx.files[i].done == 2;
    }
    out->bytes_received = atomic_load(&ctx.bytes);
    const char *one = o->n_files == 1 ? o->files[0] : NULL;
    if (o->local_dir)
        rc = one ? download_asprintf(&out->path, "%s/%s", o->local_dir, one)
                 : download_asprintf(&out->path, "%s", o->local_dir);
    else if (one)
        rc = weft_hf_cache_snapshot_path(&out->path, ctx.repo_dir, ctx.commit, one);
    else
        rc = download_asprintf(&out->path, "%s/snapshots/%s", ctx.repo_dir, ctx.commit);
out:
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    for (size_t i = 0; i < ctx.n_files; i++)
        free(ctx.files[i].path);
    free(ctx.files);
    free(ctx.cache);
    free(ctx.repo_folder);
    free(ctx.repo_dir);
    free(ctx.err);
    pthread_mutex_destroy(&ctx.lock);
    return rc;
}
