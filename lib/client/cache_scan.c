/* Scanning and cleaning a Hugging Face cache folder (include/weft/cache_scan.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/cache_scan.h"
#include "weft/hf_cache.h"

#define SCAN_MAX_DEPTH 64 /* folders inside a snapshot or refs/; deeper is skipped */

static const struct {
    const char *prefix, *type;
} scan_types[] = {{"models--", "model"}, {"datasets--", "dataset"}, {"spaces--", "space"}};

static int scan_oom(void)
{
    return weft_err_set(WEFT_ENOMEM, "cache scan: out of memory");
}

/* Grows *arr (of elements `size`) so index *n is valid; 0 or WEFT_ENOMEM. */
static int scan_grow(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*(void **)arr, c * size);
    if (p == NULL)
        return scan_oom();
    *(void **)arr = p;
    *cap = c;
    return 0;
}

static int64_t scan_used_time(const struct stat *st)
{
    return (int64_t)(st->st_atime > st->st_mtime ? st->st_atime : st->st_mtime);
}

static int scan_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return weft_err_set(WEFT_ELIMIT, "cache scan: path too long: %.200s/%.200s", a, b);
    return 0;
}

static int scan_blob_cmp(const void *a, const void *b)
{
    return strcmp(((const weft_cache_blob *)a)->name, ((const weft_cache_blob *)b)->name);
}

static long scan_blob_find(const weft_cache_repo *r, const char *name)
{
    weft_cache_blob key = {.name = (char *)name};
    const weft_cache_blob *b = bsearch(&key, r->blobs, r->n_blobs, sizeof *r->blobs, scan_blob_cmp);
    return b != NULL ? (long)(b - r->blobs) : -1;
}

static int scan_blobs(weft_cache_repo *r)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int rc = scan_join(dir, sizeof dir, r->dir, "blobs");
    if (rc < 0)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : weft_err_sys(WEFT_EIO, errno, "cache scan: open %s", dir);
    size_t cap = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || scan_join(path, sizeof path, dir, e->d_name) < 0 ||
            lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = scan_grow(&r->blobs, &cap, r->n_blobs, sizeof *r->blobs);
        if (rc < 0)
            break;
        weft_cache_blob *b = &r->blobs[r->n_blobs];
        b->name = strdup(e->d_name);
        if (b->name == NULL) {
            rc = scan_oom();
            break;
        }
        size_t len = strlen(b->name);
        b->incomplete = len > 11 && strcmp(b->name + len - 11, ".incomplete") == 0;
        b->size = (uint64_t)st.st_size;
        b->atime = (int64_t)st.st_atime;
        b->mtime = (int64_t)st.st_mtime;
        r->n_blobs++;
        r->size += b->size;
        r->n_files += !b->incomplete;
        int64_t used = scan_used_time(&st);
        r->last_used = used > r->last_used ? used : r->last_used;
    }
    closedir(d);
    if (r->n_blobs > 1)
        qsort(r->blobs, r->n_blobs, sizeof *r->blobs, scan_blob_cmp);
    return rc;
}

typedef struct scan_rev_ctx {
    weft_cache_repo *repo;
    weft_cache_revision *rev;
    size_t cap_blobs;
    unsigned char *seen; /* per repo blob: already counted for this revision */
} scan_rev_ctx;

/* A snapshot entry: a link into ../blobs/<name> counts that blob once; a plain file (copy mode,
 * no symlinks) counts its own size. */
static int scan_snapshot_file(scan_rev_ctx *c, const char *path, const struct stat *st)
{
    weft_cache_revision *rev = c->rev;
    rev->n_files++;
    if (S_ISREG(st->st_mode)) {
        rev->size += (uint64_t)st->st_size;
        int64_t used = scan_used_time(st);
        rev->last_used = used > rev->last_used ? used : rev->last_used;
        return 0;
    }
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    char *base = strrchr(target, '/');
    if (base == NULL || base - target < 5 || strncmp(base - 5, "blobs", 5) != 0)
        return 0;
    long i = scan_blob_find(c->repo, base + 1);
    if (i < 0 || c->seen[i])
        return 0;
    c->seen[i] = 1;
    int rc = scan_grow(&rev->blobs, &c->cap_blobs, rev->n_blobs, sizeof *rev->blobs);
    if (rc < 0)
        return rc;
    rev->blobs[rev->n_blobs++] = (size_t)i;
    const weft_cache_blob *b = &c->repo->blobs[i];
    rev->size += b->size;
    int64_t used = b->atime > b->mtime ? b->atime : b->mtime;
    rev->last_used = used > rev->last_used ? used : rev->last_used;
    return 0;
}

static int scan_snapshot_dir(scan_rev_ctx *c, const char *dir, int depth)
{
    if (depth > SCAN_MAX_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int rc = 0;
    struct dirent *e;
    char path[PATH_MAX];
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            scan_join(path, sizeof path, dir, e->d_name) < 0 || lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = scan_snapshot_dir(c, path, depth + 1);
        else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
            rc = scan_snapshot_file(c, path, &st);
    }
    closedir(d);
    return rc;
}

static int scan_revisions(weft_cache_repo *r)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int rc = scan_join(dir, sizeof dir, r->dir, "snapshots");
    if (rc < 0)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : weft_err_sys(WEFT_EIO, errno, "cache scan: open %s", dir);
    unsigned char *seen = malloc(r->n_blobs + 1);
    if (seen == NULL) {
        closedir(d);
        return scan_oom();
    }
    size_t cap = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || scan_join(path, sizeof path, dir, e->d_name) < 0 ||
            lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        rc = scan_grow(&r->revs, &cap, r->n_revs, sizeof *r->revs);
        if (rc < 0)
            break;
        weft_cache_revision *rev = &r->revs[r->n_revs];
        memset(rev, 0, sizeof *rev);
        rev->commit = strdup(e->d_name);
        if (rev->commit == NULL) {
            rc = scan_oom();
            break;
        }
        r->n_revs++;
        memset(seen, 0, r->n_blobs + 1);
        scan_rev_ctx c = {.repo = r, .rev = rev, .seen = seen};
        rc = scan_snapshot_dir(&c, path, 0);
        if (rev->last_used == 0)
            rev->last_used = (int64_t)st.st_mtime; /* an empty snapshot: when it was made */
    }
    closedir(d);
    free(seen);
    return rc;
}

static weft_cache_revision *scan_rev_by_commit(weft_cache_repo *r, const char *commit)
{
    for (size_t i = 0; i < r->n_revs; i++)
        if (strcmp(r->revs[i].commit, commit) == 0)
            return &r->revs[i];
    return NULL;
}

/* refs/<name> (nested for names with '/'): attaches each name to the revision it holds. */
static int scan_refs_dir(weft_cache_repo *r, const char *dir, const char *prefix, int depth)
{
    if (depth > SCAN_MAX_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int rc = 0;
    struct dirent *e;
    char path[PATH_MAX], name[PATH_MAX];
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            scan_join(path, sizeof path, dir, e->d_name) < 0 || lstat(path, &st) != 0)
            continue;
        int n = prefix[0] != '\0' ? snprintf(name, sizeof name, "%s/%s", prefix, e->d_name)
                                  : snprintf(name, sizeof name, "%s", e->d_name);
        if (n < 0 || (size_t)n >= sizeof name)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = scan_refs_dir(r, path, name, depth + 1);
            continue;
        }
        char commit[41];
        weft_cache_revision *rev = NULL;
        if (!S_ISREG(st.st_mode) || weft_hf_cache_ref_read(commit, r->dir, name) != 0 ||
            (rev = scan_rev_by_commit(r, commit)) == NULL)
            continue; /* a dangling or unreadable ref names nothing we can list */
        char **refs = realloc(rev->refs, (rev->n_refs + 1) * sizeof *refs);
        if (refs == NULL)
            rc = scan_oom();
        else if ((refs[rev->n_refs] = strdup(name)) == NULL) {
            rev->refs = refs;
            rc = scan_oom();
        } else {
            rev->refs = refs;
            rev->n_refs++;
        }
    }
    closedir(d);
    weft_err_clear();
    return rc;
}

static int scan_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_rev_cmp(const void *a, const void *b)
{
    const weft_cache_revision *x = a, *y = b;
    if (x->last_used != y->last_used)
        return x->last_used > y->last_used ? -1 : 1;
    return strcmp(x->commit, y->commit);
}

static int scan_repo_cmp(const void *a, const void *b)
{
    const weft_cache_repo *x = a, *y = b;
    int c = strcmp(x->type, y->type);
    return c != 0 ? c : strcmp(x->id, y->id);
}

static void scan_repo_dispose(weft_cache_repo *r)
{
    for (size_t i = 0; i < r->n_blobs; i++)
        free(r->blobs[i].name);
    for (size_t i = 0; i < r->n_revs; i++) {
        for (size_t k = 0; k < r->revs[i].n_refs; k++)
            free(r->revs[i].refs[k]);
        free(r->revs[i].refs);
        free(r->revs[i].blobs);
        free(r->revs[i].commit);
    }
    free(r->blobs);
    free(r->revs);
    free(r->id);
    free(r->folder);
    free(r->dir);
}

/* Fills a repo from its folder name; 1 when the name is a repo folder, 0 to skip it. */
static int scan_repo_name(weft_cache_repo *r, const char *name, const char *type)
{
    for (size_t t = 0; t < sizeof scan_types / sizeof scan_types[0]; t++) {
        size_t pl = strlen(scan_types[t].prefix);
        if (strncmp(name, scan_types[t].prefix, pl) != 0)
            continue;
        if (type != NULL && strcmp(type, scan_types[t].type) != 0)
            return 0;
        /* "ns--name" -> "ns/name"; the name must map back to this exact folder. */
        char id[256];
        const char *rest = name + pl, *sep = strstr(rest, "--");
        int n = sep != NULL ? snprintf(id, sizeof id, "%.*s/%s", (int)(sep - rest), rest, sep + 2)
                            : snprintf(id, sizeof id, "%s", rest);
        char *back = NULL;
        if (n < 0 || (size_t)n >= sizeof id ||
            weft_hf_cache_repo_folder(&back, scan_types[t].type, id) != 0) {
            weft_err_clear();
            return 0;
        }
        int same = strcmp(back, name) == 0;
        free(back);
        if (!same)
            return 0;
        snprintf(r->type, sizeof r->type, "%s", scan_types[t].type);
        r->id = strdup(id);
        return 1;
    }
    return 0;
}

int weft_cache_scan_dir(weft_cache_scan **out, const char *cache_dir, const char *type)
{
    *out = NULL;
    weft_cache_scan *s = calloc(1, sizeof *s);
    if (s == NULL || (s->cache_dir = strdup(cache_dir)) == NULL) {
        free(s);
        return scan_oom();
    }
    int rc = 0;
    size_t cap = 0;
    DIR *d = opendir(cache_dir);
    if (d == NULL && errno != ENOENT) {
        rc = weft_err_sys(WEFT_EIO, errno, "cache: open %s", cache_dir);
        goto out;
    }
    struct dirent *e;
    while (d != NULL && rc == 0 && (e = readdir(d)) != NULL) {
        weft_cache_repo r;
        memset(&r, 0, sizeof r);
        char path[PATH_MAX];
        struct stat st;
        if (scan_join(path, sizeof path, cache_dir, e->d_name) < 0 || lstat(path, &st) != 0 ||
            !S_ISDIR(st.st_mode) || !scan_repo_name(&r, e->d_name, type)) {
            weft_err_clear();
            continue;
        }
        r.folder = strdup(e->d_name);
        r.dir = strdup(path);
        if (r.id == NULL || r.folder == NULL || r.dir == NULL)
            rc = scan_oom();
        if (rc == 0)
            rc = scan_blobs(&r);
        if (rc == 0)
            rc = scan_revisions(&r);
        if (rc == 0 && scan_join(path, sizeof path, r.dir, "refs") == 0)
            rc = scan_refs_dir(&r, path, "", 0);
        if (rc == 0)
            rc = scan_grow(&s->repos, &cap, s->n_repos, sizeof *s->repos);
        if (rc < 0) {
            scan_repo_dispose(&r);
            break;
        }
        for (size_t i = 0; i < r.n_revs; i++)
            if (r.revs[i].n_refs > 1)
                qsort(r.revs[i].refs, r.revs[i].n_refs, sizeof(char *), scan_str_cmp);
        if (r.n_revs > 1)
            qsort(r.revs, r.n_revs, sizeof *r.revs, scan_rev_cmp);
        s->size += r.size;
        s->repos[s->n_repos++] = r;
    }
    if (s->n_repos > 1)
        qsort(s->repos, s->n_repos, sizeof *s->repos, scan_repo_cmp);
out:
    if (d != NULL)
        closedir(d);
    if (rc < 0)
        weft_cache_scan_free(s);
    else
        *out = s;
    return rc;
}

void weft_cache_scan_free(weft_cache_scan *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_repos; i++)
        scan_repo_dispose(&s->repos[i]);
    free(s->repos);
    free(s->cache_dir);
    free(s);
}

const weft_cache_repo *weft_cache_scan_find(const weft_cache_scan *s, const char *type,
                                            const char *id)
{
    for (size_t i = 0; i < s->n_repos; i++)
        if (strcmp(s->repos[i].type, type) == 0 && strcmp(s->repos[i].id, id) == 0)
            return &s->repos[i];
    return NULL;
}

int weft_cache_find_revision(const weft_cache_revision **out, const weft_cache_repo *repo,
                             const char *rev)
{
    *out = NULL;
    for (size_t i = 0; i < repo->n_revs; i++)
        for (size_t k = 0; k < repo->revs[i].n_refs; k++)
            if (strcmp(repo->revs[i].refs[k], rev) == 0) {
                *out = &repo->revs[i];
                return 0;
            }
    size_t n = strlen(rev), hex = strspn(rev, "0123456789abcdef");
    if (n >= 7 && hex == n) {
        for (size_t i = 0; i < repo->n_revs; i++) {
            if (strncmp(repo->revs[i].commit, rev, n) != 0)
                continue;
            if (*out != NULL)
                return weft_err_set(WEFT_EINVALID, "cache: revision %s of %s is ambiguous", rev,
                                    repo->id);
            *out = &repo->revs[i];
        }
    }
    if (*out == NULL)
        return weft_err_set(WEFT_ENOTFOUND, "cache: %s %s has no cached revision %.100s",
                            repo->type, repo->id, rev);
    return 0;
}

/* ---- removal ---------------------------------------------------------------------------- */

static int rm_tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r != 0 && errno != ENOENT ? errno : 0;
}

/* rm -rf that never follows links. */
static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : weft_err_sys(WEFT_EIO, errno, "cache: stat %s", path);
    int e = nftw(path, rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (e != 0)
        return weft_err_sys(WEFT_EIO, e > 0 ? e : errno, "cache: remove %s", path);
    return 0;
}

/* 1 when another process holds the download lock of blob `etag` (the .lock file's flock). */
static int rm_blob_locked(const weft_cache_scan *s, const weft_cache_repo *r, const char *etag)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/.locks/%s/%s.lock", s->cache_dir, r->folder, etag);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Removes refs/<name>, then the folders of a nested name that are empty now. */
static int rm_ref(const weft_cache_repo *r, const char *name)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/refs/%s", r->dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return weft_err_set(WEFT_ELIMIT, "cache: ref path too long");
    if (unlink(path) != 0 && errno != ENOENT)
        return weft_err_sys(WEFT_EIO, errno, "cache: remove %s", path);
    size_t root = strlen(r->dir) + strlen("/refs");
    for (char *slash = strrchr(path, '/'); slash != NULL && (size_t)(slash - path) > root;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0)
            break;
    }
    return 0;
}

typedef struct rm_ctx {
    const weft_cache_scan *scan;
    const weft_cache_repo *repo;
    int dry_run;
    weft_cache_report_fn report;
    void *payload;
    uint64_t freed;
} rm_ctx;

static void rm_report(rm_ctx *c, const char *what, const char *path, uint64_t size)
{
    c->freed += size;
    if (c->report != NULL)
        c->report(what, path, size, c->payload);
}

static int rm_revision(rm_ctx *c, const weft_cache_revision *rev)
{
    const weft_cache_repo *r = c->repo;
    char path[PATH_MAX];
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < rev->n_refs; k++) {
        int n = snprintf(path, sizeof path, "%s/refs/%s", r->dir, rev->refs[k]);
        if (n < 0 || (size_t)n >= sizeof path)
            return weft_err_set(WEFT_ELIMIT, "cache: ref path too long");
        rm_report(c, "ref", path, 0);
        if (!c->dry_run)
            rc = rm_ref(r, rev->refs[k]);
    }
    int n = snprintf(path, sizeof path, "%s/.no_exist/%s", r->dir, rev->commit);
    if (rc == 0 && n > 0 && (size_t)n < sizeof path && !c->dry_run)
        rc = rm_tree(path);
    n = snprintf(path, sizeof path, "%s/snapshots/%s", r->dir, rev->commit);
    if (rc == 0 && (n < 0 || (size_t)n >= sizeof path))
        rc = weft_err_set(WEFT_ELIMIT, "cache: snapshot path too long");
    if (rc == 0) {
        rm_report(c, "revision", path, 0);
        if (!c->dry_run)
            rc = rm_tree(path);
    }
    return rc;
}

/* For a prune (incomplete_before != 0): 1 when a download may be under way in the repo (a fresh
 * *.incomplete or a held lock), so the folder must stay even if no revision does. */
static int rm_repo_busy(const weft_cache_scan *s, const weft_cache_repo *r,
                        int64_t incomplete_before)
{
    if (incomplete_before == 0)
        return 0;
    for (size_t i = 0; i < r->n_blobs; i++) {
        const weft_cache_blob *b = &r->blobs[i];
        char etag[PATH_MAX];
        int n = snprintf(etag, sizeof etag, "%.*s",
                         (int)(strlen(b->name) - (b->incomplete ? 11 : 0)), b->name);
        if ((b->incomplete && b->mtime >= incomplete_before) ||
            (n > 0 && rm_blob_locked(s, r, etag)))
            return 1;
    }
    return 0;
}

int weft_cache_remove(uint64_t *freed_out, const weft_cache_scan *scan, const weft_cache_repo *repo,
                      const int *doomed, int64_t incomplete_before, int dry_run,
                      weft_cache_report_fn report, void *payload)
{
    if (freed_out != NULL)
        *freed_out = 0;
    rm_ctx c = {
        .scan = scan, .repo = repo, .dry_run = dry_run, .report = report, .payload = payload};
    int rc = 0;
    size_t n_doomed = 0;
    for (size_t i = 0; doomed != NULL && i < repo->n_revs; i++)
        n_doomed += doomed[i] != 0;
    unsigned char *alive = NULL;
    if (doomed != NULL && n_doomed == repo->n_revs &&
        !rm_repo_busy(scan, repo, incomplete_before)) {
        /* Nothing survives: the whole folder goes, with its locks. */
        rm_report(&c, "repo", repo->dir, repo->size);
        if (!dry_run) {
            char locks[PATH_MAX];
            int n = snprintf(locks, sizeof locks, "%s/.locks/%s", scan->cache_dir, repo->folder);
            rc = rm_tree(repo->dir);
            if (rc == 0 && n > 0 && (size_t)n < sizeof locks)
                rc = rm_tree(locks);
        }
        goto out;
    }
    for (size_t i = 0; rc == 0 && doomed != NULL && i < repo->n_revs; i++)
        if (doomed[i])
            rc = rm_revision(&c, &repo->revs[i]);
    if (rc < 0)
        goto out;
    alive = calloc(repo->n_blobs + 1, 1);
    if (alive == NULL) {
        rc = scan_oom();
        goto out;
    }
    for (size_t i = 0; i < repo->n_revs; i++)
        for (size_t k = 0; (doomed == NULL || !doomed[i]) && k < repo->revs[i].n_blobs; k++)
            alive[repo->revs[i].blobs[k]] = 1;
    char path[PATH_MAX], etag[PATH_MAX];
    for (size_t i = 0; rc == 0 && i < repo->n_blobs; i++) {
        const weft_cache_blob *b = &repo->blobs[i];
        if (alive[i] ||
            (b->incomplete && (incomplete_before == 0 || b->mtime >= incomplete_before)))
            continue;
        int n = snprintf(etag, sizeof etag, "%.*s",
                         (int)(strlen(b->name) - (b->incomplete ? 11 : 0)), b->name);
        if (n < 0 || rm_blob_locked(scan, repo, etag))
            continue; /* a download holds it */
        n = snprintf(path, sizeof path, "%s/blobs/%s", repo->dir, b->name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        rm_report(&c, b->incomplete ? "incomplete" : "blob", path, b->size);
        if (!dry_run && unlink(path) != 0 && errno != ENOENT)
            rc = weft_err_sys(WEFT_EIO, errno, "cache: remove %s", path);
    }
out:
    free(alive);
    if (freed_out != NULL)
        *freed_out = c.freed;
    return rc;
}
