/* Helpers shared by the repo unit tests: a fresh repository per test, commit shorthands, entry
 * collection and shell commands. Header-only (static functions). */
#ifndef WEFT_REPO_TEST_H
#define WEFT_REPO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "repo/repo_internal.h"
#include "unit/testutil.h"
#include "weft/repo.h"

#define RT_T0 1700000000 /* a fixed "now" for commit times */

/* The test's temp dir and the repository inside it, made by rt_setup, removed by rt_teardown. */
static char rt_tmp[64];
static char rt_dir[128];

static inline int rt_setup(void **state)
{
    (void)state;
    snprintf(rt_tmp, sizeof rt_tmp, "/tmp/weft-repo-unit-XXXXXX");
    if (mkdtemp(rt_tmp) == NULL)
        return -1;
    snprintf(rt_dir, sizeof rt_dir, "%s/repo", rt_tmp);
    return weft_repo_init(rt_dir, RT_T0) == 0 ? 0 : -1;
}

static inline int rt_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rt_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static inline weft_repo *rt_open(void)
{
    weft_repo *r = NULL;
    assert_int_equal(weft_repo_open(&r, rt_dir), 0);
    return r;
}

static inline weft_oid rt_resolve(weft_repo *r, const char *rev)
{
    weft_oid id;
    int rc = weft_repo_resolve(r, rev, &id, NULL, 0);
    if (rc != 0)
        fprintf(stderr, "resolve %s: %s\n", rev, weft_err_last());
    assert_int_equal(rc, 0);
    return id;
}

static inline int rt_oid_eq(const weft_oid *a, const weft_oid *b)
{
    return memcmp(a->id, b->id, sizeof a->id) == 0;
}

static inline weft_repo_op rt_file(const char *path, const char *text)
{
    return (weft_repo_op){.kind = WEFT_REPO_OP_FILE,
                          .path = path,
                          .data = (const uint8_t *)text,
                          .len = strlen(text)};
}

/* An LFS op whose sha256 is seed repeated and size is size. */
static inline weft_repo_op rt_lfs(const char *path, uint8_t seed, uint64_t size)
{
    weft_repo_op op = {.kind = WEFT_REPO_OP_LFS, .path = path, .size = size};
    memset(op.sha256, seed, sizeof op.sha256);
    return op;
}

static inline weft_repo_op rt_del(const char *path, int dir)
{
    return (weft_repo_op){.kind = dir ? WEFT_REPO_OP_DELETE_DIR : WEFT_REPO_OP_DELETE_FILE,
                          .path = path};
}

/* Commits ops onto refs/heads/main (parent: its current head); returns the rc. */
static inline int rt_try_commit_on(weft_repo *r, const char *ref, const weft_oid *parent,
                                   const weft_repo_op *ops, size_t n, int64_t t, weft_oid *out)
{
    weft_repo_commit_req req = {.ref = ref,
                                .parent = parent,
                                .ops = ops,
                                .n_ops = n,
                                .author = "alice",
                                .email = "alice@example.com",
                                .summary = "change files",
                                .description = "",
                                .time = t};
    return weft_repo_commit_create(r, &req, out);
}

static inline weft_oid rt_commit(weft_repo *r, const weft_repo_op *ops, size_t n, int64_t t)
{
    weft_oid id;
    int rc = rt_try_commit_on(r, "refs/heads/main", NULL, ops, n, t, &id);
    if (rc != 0)
        fprintf(stderr, "commit: %s\n", weft_err_last());
    assert_int_equal(rc, 0);
    return id;
}

/* Collected list entries. */
typedef struct rt_entries {
    size_t n;
    char *path[256];
    weft_repo_entry e[256];
} rt_entries;

static inline int rt_collect(const weft_repo_entry *e, void *payload)
{
    rt_entries *x = payload;
    if (x->n == 256)
        return -100;
    x->e[x->n] = *e;
    x->path[x->n] = strdup(e->path);
    x->e[x->n].path = x->path[x->n];
    x->n++;
    return 0;
}

static inline void rt_entries_free(rt_entries *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->path[i]);
    x->n = 0;
}

/* Reads the file at path of rev into a malloc'ed NUL-terminated string. */
static inline char *rt_read(weft_repo *r, const char *rev, const char *path)
{
    weft_oid c = rt_resolve(r, rev);
    weft_repo_entry e;
    assert_int_equal(weft_repo_stat(r, &c, path, &e), 0);
    assert_false(e.is_dir);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(weft_repo_blob_read(r, &e.oid, 1 << 20, &data, &len), 0);
    return (char *)data;
}

/* Runs a shell command and returns its whole stdout (malloc'ed); *status gets the exit code. */
static inline char *rt_sh(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline char *rt_sh(int *status, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t k;
    while ((k = fread(out + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[n] = '\0';
    int st = pclose(f);
    if (status != NULL)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* Number of files under the repository's objects/ folder (loose objects and packs). */
static inline int rt_count_objects(void)
{
    char *out = rt_sh(NULL, "find '%s/objects' -type f | wc -l", rt_dir);
    int n = (int)strtol(out, NULL, 10);
    free(out);
    return n;
}

#endif
