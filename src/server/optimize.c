/* Weight codecs over a hub's repos and the background optimizer (server/optimize.h). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/optimize.h"
#include "weft/buf.h"
#include "weft/fsutil.h"
#include "weft/log.h"
#include "weft/sha256.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- which file against which base ---------------------------------------------------------- */

typedef struct history_scan {
    weft_repo *repo;
    hub_file *files;
    size_t n, cap;
    int all_lfs;
} history_scan;

/* The log is walked newest first and files are prepended, so a path's versions end up in
 * history order. */
static int scan_entry(const weft_repo_entry *e, void *payload)
{
    history_scan *sc = payload;
    if (e->is_dir || !e->is_lfs || (!sc->all_lfs && !ends_with(e->path, ".safetensors")))
        return 0;
    for (size_t i = 0; i < sc->n; i++)
        if (memcmp(sc->files[i].sha, e->lfs_sha256, 32) == 0)
            return 0;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 16;
        hub_file *p = realloc(sc->files, cap * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        sc->files = p;
        sc->cap = cap;
    }
    memmove(sc->files + 1, sc->files, sc->n * sizeof *sc->files);
    hub_file *f = &sc->files[0];
    memset(f, 0, sizeof *f);
    memcpy(f->sha, e->lfs_sha256, 32);
    snprintf(f->path, sizeof f->path, "%s", e->path);
    sc->n++;
    return 0;
}

static int scan_commit(const weft_repo_commit *c, void *payload)
{
    history_scan *sc = payload;
    return weft_repo_list(sc->repo, &c->id, "", 1, scan_entry, sc);
}

int hub_history_files(weft_repo *r, const weft_oid *head, int all_lfs, hub_file **files, size_t *n)
{
    history_scan sc = {.repo = r, .all_lfs = all_lfs};
    int rc = weft_repo_log(r, head, 0, 0, scan_commit, &sc, NULL);
    if (rc < 0) {
        free(sc.files);
        sc.files = NULL;
        sc.n = 0;
    }
    *files = sc.files;
    *n = sc.n;
    return rc < 0 ? rc : 0;
}

void hub_card_base_model(weft_repo *r, const weft_oid *head, char *out, size_t cap)
{
    weft_repo_entry e;
    uint8_t *text = NULL;
    size_t len = 0;
    char *json = NULL;
    out[0] = '\0';
    if (weft_repo_stat(r, head, "README.md", &e) < 0 || e.is_lfs ||
        weft_repo_blob_read(r, &e.oid, 1 << 20, &text, &len) < 0 ||
        weft_card_parse((const char *)text, len, &json) < 0) {
        weft_err_clear();
        goto out;
    }
    json_t *root = json_loads(json, 0, NULL), *bm = json_object_get(root, "base_model");
    if (json_is_array(bm))
        bm = json_array_get(bm, 0);
    if (json_is_string(bm))
        snprintf(out, cap, "%s", json_string_value(bm));
    json_decref(root);
out:
    free(text);
    free(json);
}

int hub_open_model_repo(const char *data, const char *name, weft_repo **r, weft_oid *head)
{
    char dir[4096], branch[256];
    if (strchr(name, '/') == NULL || strstr(name, "..") != NULL)
        return weft_err_set(WEFT_EINVALID, "'%s' is not a model repo name (namespace/name)", name);
    snprintf(dir, sizeof dir, "%s/repos/models/%s.git", data, name);
    int rc = weft_repo_open(r, dir);
    if (rc == 0)
        rc = weft_repo_default_branch(*r, branch, sizeof branch);
    if (rc == 0)
        rc = weft_repo_resolve(*r, branch, head, NULL, 0);
    if (rc < 0) {
        weft_repo_close(*r);
        *r = NULL;
        return weft_err_wrap(rc, "repo %s", name);
    }
    return 0;
}

void hub_list_model_repos(const char *data, const char *ns, char ***out, size_t *n_out)
{
    char path[4096], sub[4500];
    char **names = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/repos/models", data);
    DIR *d1 = opendir(path);
    struct dirent *a;
    while (d1 != NULL && (a = readdir(d1)) != NULL) {
        if (a->d_name[0] == '.' || (ns != NULL && strcmp(a->d_name, ns) != 0))
            continue;
        if (snprintf(sub, sizeof sub, "%s/%s", path, a->d_name) >= (int)sizeof sub)
            continue;
        DIR *d2 = opendir(sub);
        struct dirent *b;
        while (d2 != NULL && (b = readdir(d2)) != NULL) {
            if (!ends_with(b->d_name, ".git"))
                continue;
            char **p = realloc(names, (n + 1) * sizeof *names);
            if (p == NULL)
                break;
            names = p;
            size_t len = strlen(b->d_name) - 4;
            char full[600];
            snprintf(full, sizeof full, "%s/%.*s", a->d_name, (int)len, b->d_name);
            names[n++] = strdup(full);
        }
        if (d2 != NULL)
            closedir(d2);
    }
    if (d1 != NULL)
        closedir(d1);
    *out = names;
    *n_out = n;
}

/* The base of files[i]: the same path in the base_model repo, else the previous version of the
 * path; a base that is itself a delta hands on its own base (chains are one deep). */
static void choose_base(hub_file *files, size_t i, weft_repo *base_repo, const weft_oid *base_head)
{
    hub_file *f = &files[i];
    weft_repo_entry e;
    if (base_repo != NULL && weft_repo_stat(base_repo, base_head, f->path, &e) == 0 && e.is_lfs &&
        memcmp(e.lfs_sha256, f->sha, 32) != 0) {
        memcpy(f->base, e.lfs_sha256, 32);
        f->has_base = 1;
    }
    for (size_t j = i; !f->has_base && j-- > 0;) {
        if (strcmp(files[j].path, f->path) != 0)
            continue;
        memcpy(f->base, files[j].has_base ? files[j].base : files[j].sha, 32);
        f->has_base = memcmp(f->base, f->sha, 32) != 0;
        break;
    }
    weft_err_clear();
}

int hub_optimize_repo(weft_store *s, const char *data, const char *name,
                      const hub_optimize_cfg *cfg)
{
    weft_repo *repo = NULL, *base_repo = NULL;
    weft_oid head, base_head;
    hub_file *files = NULL;
    size_t n = 0;
    char bm[256];
    int rc = hub_open_model_repo(data, name, &repo, &head);
    if (rc < 0)
        return rc;
    hub_card_base_model(repo, &head, bm, sizeof bm);
    if (bm[0] != '\0' && strcmp(bm, name) != 0 &&
        hub_open_model_repo(data, bm, &base_repo, &base_head) < 0) {
        weft_log_warn("%s: base_model %s is not on this hub (%s); using earlier revisions as "
                      "bases",
                      name, bm, weft_err_last());
        weft_err_clear();
    }
    rc = hub_history_files(repo, &head, 0, &files, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        hub_file *f = &files[i];
        choose_base(files, i, base_repo, &base_head);
        char hex[65], bhex[65];
        weft_store_file sf, bf;
        weft_hex_encode(hex, f->sha, 32);
        weft_hex_encode(bhex, f->base, 32);
        rc = weft_store_lookup(s, hex, &sf);
        if (rc == 0 && f->has_base && weft_store_lookup(s, bhex, &bf) < 0)
            f->has_base = 0;
        int plain = 1;
        if (rc == 0 && cfg->only_plain)
            rc = weft_store_file_has_plain_xorbs(s, &sf.xet_hash, &plain);
        if (rc == 0 && !plain) {
            if (cfg->on_file != NULL)
                cfg->on_file(name, f, hex, NULL, NULL, "already coded", cfg->payload);
            continue;
        }
        weft_store_optimize_result r;
        if (rc == 0)
            rc = weft_store_optimize_file(s, &sf.xet_hash, f->has_base ? &bf.xet_hash : NULL,
                                          cfg->opts, &r);
        if (rc == WEFT_EINVALID && f->has_base) {
            /* The base is a delta already (an earlier run chose differently): code plainly. */
            f->has_base = 0;
            rc = weft_store_optimize_file(s, &sf.xet_hash, NULL, cfg->opts, &r);
        }
        if (rc == WEFT_ECORRUPT && strstr(weft_err_last(), "not a valid safetensors") != NULL) {
            if (cfg->on_file != NULL)
                cfg->on_file(name, f, hex, NULL, NULL, weft_err_last(), cfg->payload);
            rc = 0;
            continue;
        }
        if (rc == 0 && cfg->on_file != NULL)
            cfg->on_file(name, f, hex, r.used_base ? bhex : NULL, &r, NULL, cfg->payload);
    }
    weft_repo_close(repo);
    weft_repo_close(base_repo);
    free(files);
    return rc < 0 ? weft_err_wrap(rc, "%s", name) : 0;
}

/* ---- the background optimizer ---------------------------------------------------------------- */

#define ALL_REPOS "*"

struct hub_optimizer {
    char *data;
    char *store_dir;
    char *queue_path; /* DATA/optimize-queue */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *queue[HUB_OPTIMIZE_QUEUE_MAX]; /* FIFO of "ns/name" or "*" */
    size_t n;
    char *current; /* being optimized (still in the queue file) */
    int dirty;     /* the queue file is behind */
    int stopping;
    int started; /* thread is running */
};

/* Under o->mu: 1 if `name` is queued or being worked on from the start. */
static int queue_has(hub_optimizer *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->queue[i], name) == 0 || strcmp(o->queue[i], ALL_REPOS) == 0)
            return 1;
    return 0;
}

/* Under o->mu: appends name; a full queue collapses into one sweep of every repo. */
static void queue_push(hub_optimizer *o, const char *name)
{
    if (queue_has(o, name))
        return;
    if (o->n == HUB_OPTIMIZE_QUEUE_MAX) {
        for (size_t i = 0; i < o->n; i++)
            free(o->queue[i]);
        o->n = 0;
        weft_log_warn("optimize: more than %d repos queued; sweeping every repo instead",
                      HUB_OPTIMIZE_QUEUE_MAX);
        name = ALL_REPOS;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return;
    o->queue[o->n++] = copy;
    o->dirty = 1;
}

/* Called with o->mu held; drops it while writing. The file names the repo being worked on too. */
static void queue_persist(hub_optimizer *o)
{
    if (!o->dirty)
        return;
    weft_buf b;
    weft_buf_init(&b, 1 << 20);
    int rc = 0;
    if (o->current != NULL)
        rc = weft_buf_printf(&b, "%s\n", o->current);
    for (size_t i = 0; rc == 0 && i < o->n; i++)
        rc = weft_buf_printf(&b, "%s\n", o->queue[i]);
    o->dirty = 0;
    pthread_mutex_unlock(&o->mu);
    if (rc == 0)
        rc = weft_fs_write_atomic(o->queue_path, b.data, b.len);
    if (rc < 0)
        weft_log_warn("optimize: saving the queue: %s", weft_err_last());
    weft_buf_dispose(&b);
    pthread_mutex_lock(&o->mu);
}

/* The queue a previous run left (a line per repo; anything unreadable is dropped). */
static void queue_load(hub_optimizer *o)
{
    weft_buf b;
    weft_buf_init(&b, 1 << 20);
    if (weft_fs_read_file(&b, o->queue_path) < 0) {
        weft_err_clear();
        weft_buf_dispose(&b);
        return;
    }
    const char *p = (const char *)b.data, *end = p + b.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[600];
        if (len > 0 && len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            if (strcmp(line, ALL_REPOS) == 0 ||
                (strchr(line, '/') != NULL && strstr(line, "..") == NULL))
                queue_push(o, line);
        }
        p += len + 1;
    }
    o->dirty = 0;
    weft_buf_dispose(&b);
}

static int optimizer_should_stop(void *payload)
{
    hub_optimizer *o = payload;
    pthread_mutex_lock(&o->mu);
    int stop = o->stopping;
    pthread_mutex_unlock(&o->mu);
    return stop;
}

static void optimizer_log_file(const char *repo, const hub_file *f, const char *sha_hex,
                               const char *base_hex, const weft_store_optimize_result *r,
                               const char *reason, void *payload)
{
    (void)payload;
    if (r == NULL) {
        if (strcmp(reason, "already coded") != 0)
            weft_log_info("optimize: %s %s: skipped: %s", repo, f->path, reason);
        return;
    }
    weft_log_info("optimize: %s %s (sha256 %.12s): %llu -> %llu bytes, %u chunks re-coded%s%.12s",
                  repo, f->path, sha_hex, (unsigned long long)r->before_bytes,
                  (unsigned long long)r->after_bytes, r->chunks_coded,
                  base_hex ? ", delta against sha256 " : "", base_hex ? base_hex : "");
}

/* One queue entry: a repo, or every repo (bases, i.e. repos without base_model:, first). */
static int optimizer_run(hub_optimizer *o, weft_store *s, const char *entry)
{
    weft_store_optimize_opts opts = {.stop = optimizer_should_stop, .payload = o};
    hub_optimize_cfg cfg = {.only_plain = 1, .opts = &opts, .on_file = optimizer_log_file};
    if (strcmp(entry, ALL_REPOS) != 0)
        return hub_optimize_repo(s, o->data, entry, &cfg);
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    hub_list_model_repos(o->data, NULL, &names, &n);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n && !optimizer_should_stop(o); i++) {
            weft_repo *r = NULL;
            weft_oid head;
            char bm[256] = "";
            if (names[i] == NULL || hub_open_model_repo(o->data, names[i], &r, &head) < 0)
                continue;
            hub_card_base_model(r, &head, bm, sizeof bm);
            weft_repo_close(r);
            if ((bm[0] != '\0') != pass)
                continue;
            int one = hub_optimize_repo(s, o->data, names[i], &cfg);
            if (one < 0 && !optimizer_should_stop(o))
                weft_log_warn("optimize: %s", weft_err_last());
            if (one < 0)
                rc = one;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Lowest priority for this thread only: SCHED_IDLE, else nice 19 (Linux: per thread). */
static void optimizer_lower_priority(void)
{
#ifdef SCHED_IDLE
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
        return;
#endif
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) != 0)
        weft_log_warn("optimize: cannot lower the background thread's priority");
}

static void *optimizer_main(void *arg)
{
    hub_optimizer *o = arg;
    weft_store *s = NULL;
    optimizer_lower_priority();
    pthread_mutex_lock(&o->mu);
    for (;;) {
        queue_persist(o);
        while (o->n == 0 && !o->stopping && !o->dirty)
            pthread_cond_wait(&o->cv, &o->mu);
        if (o->stopping)
            break;
        if (o->n == 0)
            continue;
        o->current = o->queue[0];
        memmove(o->queue, o->queue + 1, (o->n - 1) * sizeof *o->queue);
        o->n--;
        pthread_mutex_unlock(&o->mu);
        int rc = s != NULL ? 0 : weft_store_open(&s, o->store_dir);
        if (rc == 0)
            rc = optimizer_run(o, s, o->current);
        pthread_mutex_lock(&o->mu);
        if (rc < 0 && o->stopping) {
            /* Stopped midway: it stays first in the queue file for the next start. */
            break;
        }
        if (rc < 0)
            weft_log_warn("optimize: %s", weft_err_last());
        free(o->current);
        o->current = NULL;
        o->dirty = 1;
    }
    o->dirty = 1;
    queue_persist(o);
    pthread_mutex_unlock(&o->mu);
    weft_store_close(s);
    return NULL;
}

int hub_optimizer_wants(const char *path)
{
    return ends_with(path, ".safetensors") || ends_with(path, ".gguf");
}

int hub_optimizer_start(hub_optimizer **out, const char *data, const char *store_dir)
{
    *out = NULL;
    hub_optimizer *o = calloc(1, sizeof *o);
    if (o == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    size_t qn = strlen(data) + sizeof "/optimize-queue";
    o->data = strdup(data);
    o->store_dir = strdup(store_dir);
    o->queue_path = malloc(qn);
    if (o->data == NULL || o->store_dir == NULL || o->queue_path == NULL) {
        free(o->data);
        free(o->store_dir);
        free(o->queue_path);
        free(o);
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    snprintf(o->queue_path, qn, "%s/optimize-queue", data);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    queue_load(o);
    if (pthread_create(&o->thread, NULL, optimizer_main, o) != 0) {
        hub_optimizer_stop(o);
        return weft_err_set(WEFT_EIO, "optimize: cannot start the background thread");
    }
    o->started = 1;
    *out = o;
    return 0;
}

void hub_optimizer_enqueue(hub_optimizer *o, const char *ns, const char *name)
{
    if (o == NULL)
        return;
    char full[600];
    snprintf(full, sizeof full, "%s/%s", ns, name);
    pthread_mutex_lock(&o->mu);
    queue_push(o, full);
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void hub_optimizer_stop(hub_optimizer *o)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    o->stopping = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (o->started)
        pthread_join(o->thread, NULL);
    for (size_t i = 0; i < o->n; i++)
        free(o->queue[i]);
    free(o->current);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o->data);
    free(o->store_dir);
    free(o->queue_path);
    free(o);
}
