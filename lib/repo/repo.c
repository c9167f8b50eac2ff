/* Repository handles: libgit2 setup, error mapping, object ids, init/open/close/destroy and the
 * default branch (include/weft/repo.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo_internal.h"
#include "weft/fsutil.h"

/* specs/hf-hub-api.md §9.1: a new repo is never empty; its initial commit adds the usual Hub
 * LFS patterns. */
static const char repo_default_gitattributes[] =
    "*.7z filter=lfs diff=lfs merge=lfs -text\n"
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.bz2 filter=lfs diff=lfs merge=lfs -text\n"
    "*.ckpt filter=lfs diff=lfs merge=lfs -text\n"
    "*.ftz filter=lfs diff=lfs merge=lfs -text\n"
    "*.gz filter=lfs diff=lfs merge=lfs -text\n"
    "*.h5 filter=lfs diff=lfs merge=lfs -text\n"
    "*.joblib filter=lfs diff=lfs merge=lfs -text\n"
    "*.lfs filter=lfs diff=lfs merge=lfs -text\n"
    "*.mlmodel filter=lfs diff=lfs merge=lfs -text\n"
    "*.model filter=lfs diff=lfs merge=lfs -text\n"
    "*.msgpack filter=lfs diff=lfs merge=lfs -text\n"
    "*.npy filter=lfs diff=lfs merge=lfs -text\n"
    "*.npz filter=lfs diff=lfs merge=lfs -text\n"
    "*.onnx filter=lfs diff=lfs merge=lfs -text\n"
    "*.ot filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.pb filter=lfs diff=lfs merge=lfs -text\n"
    "*.pickle filter=lfs diff=lfs merge=lfs -text\n"
    "*.pkl filter=lfs diff=lfs merge=lfs -text\n"
    "*.pt filter=lfs diff=lfs merge=lfs -text\n"
    "*.pth filter=lfs diff=lfs merge=lfs -text\n"
    "*.rar filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tar.* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tflite filter=lfs diff=lfs merge=lfs -text\n"
    "*.tgz filter=lfs diff=lfs merge=lfs -text\n"
    "*.wasm filter=lfs diff=lfs merge=lfs -text\n"
    "*.xz filter=lfs diff=lfs merge=lfs -text\n"
    "*.zip filter=lfs diff=lfs merge=lfs -text\n"
    "*.zst filter=lfs diff=lfs merge=lfs -text\n"
    "*tfevents* filter=lfs diff=lfs merge=lfs -text\n"
    "*.gguf filter=lfs diff=lfs merge=lfs -text\n";

static pthread_once_t repo_once = PTHREAD_ONCE_INIT;
static int repo_init_rc;

static void repo_lib_init_once(void)
{
    /* Durability comes from weft_repo__sync (one syncfs per update), not from libgit2's
     * per-object fsync, which is left off. */
    repo_init_rc = git_libgit2_init();
}

int weft_repo__lib_init(void)
{
    pthread_once(&repo_once, repo_lib_init_once);
    if (repo_init_rc < 0)
        return weft_repo__git_error(repo_init_rc, "libgit2 init");
    return 0;
}

int weft_repo__git_error(int gerr, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    const git_error *e = git_error_last();
    const char *msg = e != NULL && e->message != NULL ? e->message : "libgit2 error";
    int code;
    switch (gerr) {
    case GIT_ENOTFOUND:
    case GIT_EAMBIGUOUS:
    case GIT_EUNBORNBRANCH: code = WEFT_ENOTFOUND; break;
    case GIT_EEXISTS: code = WEFT_EEXISTS; break;
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID: code = WEFT_EINVALID; break;
    case GIT_EMODIFIED:
    case GIT_ELOCKED: code = WEFT_ECONFLICT; break;
    case GIT_EBUFS: code = WEFT_ELIMIT; break;
    default:
        if (e != NULL && e->klass == GIT_ERROR_NOMEMORY)
            code = WEFT_ENOMEM;
        else if (e != NULL && (e->klass == GIT_ERROR_ZLIB || e->klass == GIT_ERROR_SHA))
            code = WEFT_ECORRUPT;
        else
            code = WEFT_EIO;
    }
    return weft_err_set(code, "%s: %s", ctx, msg);
}

static int repo_syncfs(int fd, const char *what)
{
    if (syncfs(fd) != 0)
        return weft_err_sys(WEFT_EIO, errno, "repo %s: syncfs", what);
    return 0;
}

int weft_repo__sync(weft_repo *r)
{
    return repo_syncfs(r->dir_fd, git_repository_path(r->git));
}

int weft_repo__commit_lookup(git_commit **out, weft_repo *r, const git_oid *id)
{
    char hex[GIT_OID_HEXSZ + 1];
    int rc = git_commit_lookup(out, r->git, id);
    if (rc < 0) {
        git_oid_tostr(hex, sizeof hex, id);
        if (rc == GIT_ENOTFOUND)
            return weft_err_set(WEFT_ENOTFOUND, "revision %s: no such commit", hex);
        return weft_repo__git_error(rc, "commit %s", hex);
    }
    return 0;
}

/* ---- object ids ---------------------------------------------------------------------------- */

void weft_oid_to_hex(char out[41], const weft_oid *oid)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof oid->id; i++) {
        out[2 * i] = digits[oid->id[i] >> 4];
        out[2 * i + 1] = digits[oid->id[i] & 15];
    }
    out[40] = '\0';
}

static int repo_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int weft_oid_from_hex(weft_oid *out, const char *hex)
{
    if (hex == NULL)
        return weft_err_set(WEFT_EINVALID, "object id: missing");
    for (size_t i = 0; i < 40; i++) {
        if (repo_hex_digit(hex[i]) < 0)
            return weft_err_set(WEFT_EINVALID, "object id %.48s: expected 40 hex digits", hex);
    }
    if (hex[40] != '\0')
        return weft_err_set(WEFT_EINVALID, "object id %.48s: expected 40 hex digits", hex);
    for (size_t i = 0; i < 20; i++)
        out->id[i] = (uint8_t)(repo_hex_digit(hex[2 * i]) << 4 | repo_hex_digit(hex[2 * i + 1]));
    return 0;
}

/* ---- init / open / close / destroy ---------------------------------------------------------- */

/* The initial commit: .gitattributes alone, by "system", on refs/heads/main. */
static int repo_write_initial(git_repository *git, int64_t now_s)
{
    git_oid blob, tree_id, commit;
    git_treebuilder *bld = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_oid zero;
    memset(&zero, 0, sizeof zero);
    int rc = git_blob_create_from_buffer(&blob, git, repo_default_gitattributes,
                                         sizeof repo_default_gitattributes - 1);
    if (rc == 0)
        rc = git_treebuilder_new(&bld, git, NULL);
    if (rc == 0)
        rc = git_treebuilder_insert(NULL, bld, ".gitattributes", &blob, GIT_FILEMODE_BLOB);
    if (rc == 0)
        rc = git_treebuilder_write(&tree_id, bld);
    if (rc == 0)
        rc = git_tree_lookup(&tree, git, &tree_id);
    if (rc == 0)
        rc = git_signature_new(&sig, "system", "system@weft.local", (git_time_t)now_s, 0);
    if (rc == 0)
        rc = git_commit_create(&commit, git, NULL, sig, sig, NULL, "initial commit\n", tree, 0,
                               NULL);
    if (rc == 0)
        rc = git_reference_create_matching(&ref, git, "refs/heads/main", &commit, 1, &zero,
                                           "initial commit");
    if (rc < 0)
        rc = weft_repo__git_error(rc, "repo init: initial commit");
    git_reference_free(ref);
    git_signature_free(sig);
    git_tree_free(tree);
    git_treebuilder_free(bld);
    return rc;
}

static int repo_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        return errno ? errno : EIO;
    return 0;
}

/* rm -rf dir (no symlinks followed). */
static int repo_rmtree(const char *dir)
{
    int e = nftw(dir, repo_rm_entry, 32, FTW_DEPTH | FTW_PHYS);
    if (e != 0) {
        int err = e > 0 ? e : errno;
        if (err == ENOENT)
            return 0;
        return weft_err_sys(WEFT_EIO, err, "repo: removing %s", dir);
    }
    return 0;
}

/* dirname of path into out ("." when path has no '/'). */
static int repo_parent_dir(char *out, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, cap, ".");
        return 0;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n + 1 > cap)
        return weft_err_set(WEFT_EINVALID, "repo: path too long: %.100s", path);
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

int weft_repo_init(const char *dir, int64_t now_s)
{
    char tmp[PATH_MAX], parent[PATH_MAX];
    git_repository *git = NULL;
    int made_tmp = 0;
    int rc = weft_repo__lib_init();
    if (rc < 0)
        return rc;
    size_t n = dir != NULL ? strlen(dir) : 0;
    if (n == 0 || n + 16 >= sizeof tmp)
        return weft_err_set(WEFT_EINVALID, "repo init: bad directory name");
    /* Trailing slashes would put the temp dir inside the target. */
    while (n > 1 && dir[n - 1] == '/')
        n--;
    char target[PATH_MAX];
    memcpy(target, dir, n);
    target[n] = '\0';
    if (weft_fs_exists(target))
        return weft_err_set(WEFT_EEXISTS, "repo %s: already exists", target);
    rc = repo_parent_dir(parent, sizeof parent, target);
    if (rc == 0)
        rc = weft_fs_mkdirs(parent);
    if (rc < 0)
        return rc;

    /* Built in a sibling temp dir and renamed into place: no one ever opens a half-made repo,
     * and two concurrent inits of one name cannot both win. */
    memcpy(tmp, target, n);
    memcpy(tmp + n, ".init-XXXXXX", sizeof ".init-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return weft_err_sys(WEFT_EIO, errno, "repo init: creating a temp dir beside %s", target);
    made_tmp = 1;
    git_repository_init_options opts;
    rc = git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    if (rc == 0) {
        opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT;
        opts.initial_head = "main";
        rc = git_repository_init_ext(&git, tmp, &opts);
    }
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "repo init %s", target);
        goto out;
    }
    rc = repo_write_initial(git, now_s);
    if (rc < 0)
        goto out;
    git_repository_free(git);
    git = NULL;
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "repo init: opening %s", tmp);
        goto out;
    }
    rc = repo_syncfs(fd, target);
    close(fd);
    if (rc < 0)
        goto out;
    if (rename(tmp, target) != 0) {
        int e = errno;
        if (e == EEXIST || e == ENOTEMPTY)
            rc = weft_err_set(WEFT_EEXISTS, "repo %s: already exists", target);
        else
            rc = weft_err_sys(WEFT_EIO, e, "repo init: renaming into %s", target);
        goto out;
    }
    made_tmp = 0;
    rc = weft_fs_fsync_dir(parent);
out:
    git_repository_free(git);
    if (made_tmp) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", weft_err_last());
        if (repo_rmtree(tmp) == 0)
            weft_err_set(rc, "%s", msg);
    }
    return rc;
}

int weft_repo_open(weft_repo **out, const char *dir)
{
    int rc = weft_repo__lib_init();
    if (rc < 0)
        return rc;
    weft_repo *r = calloc(1, sizeof *r);
    if (r == NULL)
        return weft_err_set(WEFT_ENOMEM, "repo: out of memory");
    r->dir_fd = -1;
    rc = git_repository_open_ext(&r->git, dir,
                                 GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL);
    if (rc == GIT_ENOTFOUND) {
        rc = weft_err_set(WEFT_ENOTFOUND, "repo %s: no repository there", dir);
        goto out;
    }
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "repo %s", dir);
        goto out;
    }
    rc = git_repository_odb(&r->odb, r->git);
    if (rc < 0) {
        rc = weft_repo__git_error(rc, "repo %s: object database", dir);
        goto out;
    }
    r->dir_fd = open(git_repository_path(r->git), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->dir_fd < 0)
        rc = weft_err_sys(WEFT_EIO, errno, "repo %s: opening", dir);
out:
    if (rc < 0) {
        weft_repo_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void weft_repo_close(weft_repo *r)
{
    if (r == NULL)
        return;
    if (r->dir_fd >= 0)
        close(r->dir_fd);
    git_odb_free(r->odb);
    git_repository_free(r->git);
    free(r);
}

int weft_repo_destroy(const char *dir)
{
    char path[PATH_MAX], dead[PATH_MAX];
    struct stat st;
    if (dir == NULL || stat(dir, &st) != 0)
        return weft_err_set(WEFT_ENOTFOUND, "repo %s: no such directory",
                            dir != NULL ? dir : "(null)");
    /* A guard against deleting something that is not a bare repository. */
    snprintf(path, sizeof path, "%s/HEAD", dir);
    int looks_git = S_ISDIR(st.st_mode) && weft_fs_exists(path);
    snprintf(path, sizeof path, "%s/objects", dir);
    looks_git = looks_git && weft_fs_exists(path);
    if (!looks_git)
        return weft_err_set(WEFT_EINVALID, "repo %s: not a repository, not deleting", dir);
    /* Out of sight in one step first, so readers see the repo or nothing. */
    static unsigned counter;
    unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    int n = snprintf(dead, sizeof dead, "%s.deleted-%ld-%u", dir, (long)getpid(), k);
    if (n > 0 && (size_t)n < sizeof dead && rename(dir, dead) == 0)
        return repo_rmtree(dead);
    return repo_rmtree(dir);
}

/* ---- default branch ------------------------------------------------------------------------ */

int weft_repo_default_branch(weft_repo *r, char *out, size_t cap)
{
    git_reference *head = NULL;
    int rc = git_reference_lookup(&head, r->git, "HEAD");
    if (rc < 0)
        return weft_repo__git_error(rc, "repo: reading HEAD");
    const char *target = git_reference_symbolic_target(head);
    if (target == NULL || strncmp(target, "refs/heads/", 11) != 0) {
        rc = weft_err_set(WEFT_ECORRUPT, "repo: HEAD does not name a branch");
        goto out;
    }
    if (strlen(target + 11) + 1 > cap) {
        rc = weft_err_set(WEFT_ELIMIT, "repo: default branch name longer than %zu", cap);
        goto out;
    }
    memcpy(out, target + 11, strlen(target + 11) + 1);
out:
    git_reference_free(head);
    return rc;
}
