/* weft_upload_run (include/weft/upload.h): scan, preupload, unchanged-file checks, the transfer of
 * large files (lfs_upload.c, xet_upload.c) and the commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload_internal.h"
#include "weft/fsutil.h"
#include "weft/sha256.h"

#define UPLOAD_READ_BLOCK ((size_t)4 << 20)
#define UPLOAD_MAX_FILES 1000000u
#define UPLOAD_DEFAULT_THREADS 4

/* ---- threads -------------------------------------------------------------------------------- */

typedef struct pool {
    int (*fn)(size_t i, void *payload);
    void *payload;
    size_t n;
    _Atomic size_t next;
    _Atomic int failed;
    pthread_mutex_t mu;
    int rc;
    char msg[512];
} pool;

static void *pool_worker(void *arg)
{
    pool *p = arg;
    while (!atomic_load(&p->failed)) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        int rc = p->fn(i, p->payload);
        if (rc < 0) {
            pthread_mutex_lock(&p->mu);
            if (p->rc == 0) {
                p->rc = rc;
                snprintf(p->msg, sizeof p->msg, "%s", weft_err_last());
            }
            pthread_mutex_unlock(&p->mu);
            atomic_store(&p->failed, 1);
        }
    }
    return NULL;
}

int weft_upload__parallel(int threads, size_t n, int (*fn)(size_t i, void *payload), void *payload)
{
    pool p = {.fn = fn, .payload = payload, .n = n};
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.mu, NULL);
    size_t nt = threads < 1 ? 1 : (size_t)threads;
    if (nt > n)
        nt = n;
    pthread_t tids[64];
    if (nt > 64)
        nt = 64;
    size_t started = 0;
    for (size_t t = 1; t < nt; t++) {
        if (pthread_create(&tids[started], NULL, pool_worker, &p) != 0)
            break;
        started++;
    }
    pool_worker(&p); /* the calling thread works too */
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    pthread_mutex_destroy(&p.mu);
    if (p.rc < 0)
        return weft_err_set(p.rc, "%s", p.msg);
    return 0;
}

/* ---- hashing -------------------------------------------------------------------------------- */

int weft_upload__read(weft_upload__file *f, int want_sha,
                      int (*on_block)(const uint8_t *p, size_t len, void *payload), void *payload)
{
    int fd = open(f->local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(WEFT_EIO, errno, "%s", f->local);
    weft_sha256 s = {0};
    uint8_t *block = malloc(UPLOAD_READ_BLOCK);
    int rc = block ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc == 0 && want_sha)
        rc = weft_sha256_init(&s);
    uint64_t total = 0;
    while (rc == 0) {
        ssize_t got = read(fd, block, UPLOAD_READ_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", f->local);
            break;
        }
        if (got == 0)
            break;
        total += (uint64_t)got;
        if (want_sha)
            weft_sha256_update(&s, block, (size_t)got);
        if (on_block)
            rc = on_block(block, (size_t)got, payload);
    }
    if (rc == 0 && total != f->size)
        rc = weft_err_set(WEFT_EIO, "%s changed size while being read", f->local);
    if (rc == 0 && want_sha) {
        weft_sha256_final(&s, f->sha256);
        weft_hex_encode(f->sha256_hex, f->sha256, 32);
        f->have_sha256 = 1;
    }
    if (want_sha)
        weft_sha256_dispose(&s);
    free(block);
    close(fd);
    return rc;
}

static int upload_count_progress(const uint8_t *p, size_t len, void *payload)
{
    (void)p;
    weft_progress_advance(((weft_upload__file *)payload)->bar, (uint64_t)len);
    return 0;
}

int weft_upload__sha256(weft_upload__file *f, int progress_share)
{
    return weft_upload__read(f, 1, progress_share ? upload_count_progress : NULL, f);
}

/* The git blob sha1 of a regular file, to compare with the remote oid. */
static int upload_blob_sha1(char out[41], const weft_upload__file *f)
{
    weft_buf data;
    weft_buf_init(&data, (size_t)f->size + 1);
    int rc = weft_fs_read_file(&data, f->local);
    weft_git_blob_sha1 s;
    if (rc == 0)
        rc = weft_git_blob_sha1_begin(&s, data.len);
    if (rc == 0) {
        weft_git_blob_sha1_update(&s, data.data, data.len);
        weft_git_blob_sha1_end(&s, out);
    }
    weft_buf_dispose(&data);
    return rc;
}

/* ---- scan ----------------------------------------------------------------------------------- */

typedef struct scan {
    weft_upload__file *files;
    size_t n, cap;
    const weft_upload_opts *o;
} scan;

static int glob_match(const char *pat, const char *rel)
{
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '/') { /* "dir/" means everything under dir */
        char buf[1024];
        snprintf(buf, sizeof buf, "%s*", pat);
        return fnmatch(buf, rel, 0) == 0;
    }
    return fnmatch(pat, rel, 0) == 0;
}

static int scan_wanted(const weft_upload_opts *o, const char *rel)
{
    if (o->n_include > 0) {
        int hit = 0;
        for (size_t i = 0; i < o->n_include && !hit; i++)
            hit = glob_match(o->include[i], rel);
        if (!hit)
            return 0;
    }
    for (size_t i = 0; i < o->n_exclude; i++)
        if (glob_match(o->exclude[i], rel))
            return 0;
    return 1;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, a[0] && b[0] ? "/" : "", b);
    return s;
}

static int scan_add(scan *sc, const char *local, const char *repo_path, uint64_t size)
{
    if (sc->n >= UPLOAD_MAX_FILES)
        return weft_err_set(WEFT_ELIMIT, "more than %u files", UPLOAD_MAX_FILES);
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 64;
        weft_upload__file *f = realloc(sc->files, cap * sizeof *f);
        if (!f)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        sc->files = f;
        sc->cap = cap;
    }
    weft_upload__file *f = &sc->files[sc->n];
    memset(f, 0, sizeof *f);
    f->local = strdup(local);
    f->path = strdup(repo_path);
    f->size = size;
    sc->n++;
    if (!f->local || !f->path)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    return 0;
}

/* Walks dir (local path) whose files get repo paths prefix/rel; rel is relative to the root. */
static int scan_dir(scan *sc, const char *dir, const char *rel, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return weft_err_sys(WEFT_EIO, errno, "%s", dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, ".git") == 0)
            continue;
        char *child = path_join(dir, name);
        char *crel = path_join(rel, name);
        struct stat st;
        if (!child || !crel) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        } else if (stat(child, &st) < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", child);
        } else if (S_ISDIR(st.st_mode)) {
            rc = scan_dir(sc, child, crel, prefix);
        } else if (S_ISREG(st.st_mode) && scan_wanted(sc->o, crel)) {
            char *rp = path_join(prefix, crel);
            rc = rp ? scan_add(sc, child, rp, (uint64_t)st.st_size)
                    : weft_err_set(WEFT_ENOMEM, "out of memory");
            free(rp);
        }
        free(child);
        free(crel);
    }
    closedir(d);
    return rc;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const weft_upload__file *)a)->path, ((const weft_upload__file *)b)->path);
}

static int upload_scan(scan *sc, const weft_upload_opts *o)
{
    struct stat st;
    if (stat(o->local, &st) < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "%s", o->local);
    const char *pir = o->path_in_repo;
    if (pir && (strcmp(pir, ".") == 0 || strcmp(pir, "/") == 0))
        pir = "";
    while (pir && pir[0] == '/')
        pir++;
    int rc;
    if (S_ISDIR(st.st_mode)) {
        char prefix[1024];
        snprintf(prefix, sizeof prefix, "%s", pir ? pir : "");
        size_t pl = strlen(prefix);
        while (pl > 0 && prefix[pl - 1] == '/')
            prefix[--pl] = '\0';
        rc = scan_dir(sc, o->local, "", prefix);
        if (rc == 0 && sc->n == 0)
            rc = weft_err_set(WEFT_EINVALID, "%s: no files to upload (check --include/--exclude)",
                              o->local);
    } else if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(o->local, '/');
        base = base ? base + 1 : o->local;
        rc = scan_add(sc, o->local, pir && pir[0] ? pir : base, (uint64_t)st.st_size);
    } else {
        rc = weft_err_set(WEFT_EINVALID, "%s is neither a file nor a folder", o->local);
    }
    if (rc == 0)
        qsort(sc->files, sc->n, sizeof *sc->files, file_cmp);
    return rc;
}

/* ---- preupload ------------------------------------------------------------------------------ */

static int upload_preupload(weft_upload__ctx *u, size_t *n_ignored)
{
    size_t n = u->n_files;
    weft_client_preupload_file *pf = calloc(n ? n : 1, sizeof *pf);
    uint8_t *samples = malloc((n ? n : 1) * WEFT_CLIENT_PREUPLOAD_SAMPLE);
    int rc = pf && samples ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_upload__file *f = &u->files[i];
        uint8_t *s = samples + i * WEFT_CLIENT_PREUPLOAD_SAMPLE;
        size_t want =
            f->size < WEFT_CLIENT_PREUPLOAD_SAMPLE ? (size_t)f->size : WEFT_CLIENT_PREUPLOAD_SAMPLE;
        int fd = open(f->local, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "%s", f->local);
            break;
        }
        rc = weft_fs_pread_full(fd, s, want, 0, f->local);
        close(fd);
        pf[i] = (weft_client_preupload_file){
            .path = f->path, .size = f->size, .sample = s, .sample_len = want};
    }
    if (rc == 0)
        rc = weft_client_preupload(u->c, u->repo, u->o->revision, u->o->create_pr, pf, n);
    /* Drop ignored files; keep the others in order. */
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_upload__file *f = &u->files[i];
        if (pf[i].should_ignore) {
            free(f->local);
            free(f->path);
            (*n_ignored)++;
            continue;
        }
        f->lfs = pf[i].lfs;
        f->has_oid = pf[i].has_oid;
        memcpy(f->remote_oid, pf[i].oid, sizeof f->remote_oid);
        u->files[k++] = *f;
    }
    if (rc == 0)
        u->n_files = k;
    free(pf);
    free(samples);
    return rc;
}

/* ---- the run -------------------------------------------------------------------------------- */

static int regular_check(size_t i, void *payload)
{
    weft_upload__ctx *u = payload;
    weft_upload__file *f = &u->files[i];
    if (f->lfs || !f->has_oid || strlen(f->remote_oid) != 40)
        return 0;
    char oid[41];
    int rc = upload_blob_sha1(oid, f);
    if (rc == 0 && strcmp(oid, f->remote_oid) == 0)
        f->unchanged = 1;
    return rc;
}

void weft_upload_result_dispose(weft_upload_result *r)
{
    weft_client_commit_result_dispose(&r->commit);
    memset(r, 0, sizeof *r);
}

static void upload_files_free(weft_upload__file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(files[i].local);
        free(files[i].path);
        free(files[i].terms);
        free(files[i].verification);
        free(files[i].xet_refs);
    }
    free(files);
}

int weft_upload_run(weft_upload_result *out, weft_client *c, const weft_client_repo *repo,
                    const weft_upload_opts *o)
{
    memset(out, 0, sizeof *out);
    scan sc = {.o = o};
    weft_upload__ctx u = {.c = c, .repo = repo, .o = o};
    atomic_init(&u.bytes_sent, 0);
    atomic_init(&u.bytes_deduped, 0);
    u.threads = o->threads > 0 ? o->threads : UPLOAD_DEFAULT_THREADS;
    weft_xet_session *xs = NULL;
    size_t *idx = NULL;
    weft_client_commit_op *ops = NULL;
    int rc = upload_scan(&sc, o);
    u.files = sc.files;
    u.n_files = sc.n;
    out->n_files = sc.n;
    if (rc < 0)
        goto out;
    rc = upload_preupload(&u, &out->n_ignored);
    if (rc < 0)
        goto out;

    rc = weft_upload__parallel(u.threads, u.n_files, regular_check, &u);
    if (rc < 0)
        goto out;
    idx = malloc((u.n_files ? u.n_files : 1) * sizeof *idx);
    if (!idx) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    size_t n_large = 0;
    for (size_t i = 0; i < u.n_files; i++) {
        if (!u.files[i].lfs)
            continue;
        idx[n_large++] = i;
        u.files[i].bar = weft_progress_add(o->progress, u.files[i].path, u.files[i].size);
    }
    if (n_large > 0 && !o->no_xet) {
        rc = weft_xet_session_open(&xs, c, repo, o->revision ? o->revision : "main", 1, NULL);
        if (rc == WEFT_ENOTFOUND)
            rc = 0; /* no Xet on this server: LFS */
        else if (rc < 0)
            goto out;
    }
    if (n_large > 0) {
        out->used_xet = xs != NULL;
        rc = xs ? weft_upload__xet(&u, xs, idx, n_large) : weft_upload__lfs(&u, idx, n_large);
        if (rc < 0)
            goto out;
    }

    ops = calloc(u.n_files ? u.n_files : 1, sizeof *ops);
    if (!ops) {
        rc = weft_err_set(WEFT_ENOMEM, "out of memory");
        goto out;
    }
    size_t n_ops = 0;
    for (size_t i = 0; i < u.n_files; i++) {
        weft_upload__file *f = &u.files[i];
        if (f->unchanged) {
            out->n_unchanged++;
            continue;
        }
        if (f->lfs) {
            ops[n_ops++] = (weft_client_commit_op){.kind = WEFT_COMMIT_OP_LFS,
                                                   .path = f->path,
                                                   .sha256 = f->sha256_hex,
                                                   .size = f->size};
            out->n_large++;
        } else {
            ops[n_ops++] = (weft_client_commit_op){
                .kind = WEFT_COMMIT_OP_FILE, .path = f->path, .local = f->local};
            out->n_regular++;
        }
    }
    out->bytes_sent = atomic_load(&u.bytes_sent);
    out->bytes_deduped = atomic_load(&u.bytes_deduped);
    if (n_ops == 0)
        goto out;
    weft_client_commit req = {.revision = o->revision,
                              .summary = o->summary,
                              .description = o->description,
                              .create_pr = o->create_pr,
                              .ops = ops,
                              .n_ops = n_ops};
    rc = weft_client_commit_create(&out->commit, c, repo, &req);
    if (rc == 0)
        out->committed = 1;
out:
    weft_xet_session_free(xs);
    free(ops);
    free(idx);
    upload_files_free(u.files, u.n_files);
    return rc;
}
