/* git smart HTTP (specs/hf-hub-api.md §12): clone, fetch and push of NS/NAME[.git] through git's
 * own CGI program, `git http-backend`, run on the repo's bare repository.
 *
 * Reads need read access to the repo; pushes (git-receive-pack) need write access. Credentials
 * come as HTTP Basic with the token as the password; answers to anonymous callers carry
 * WWW-Authenticate so git asks its credential helper. The request body is spooled to a temporary
 * file first and the program's output streamed back as it comes, so neither side can block the
 * other and memory stays bounded whatever the pack size. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/hub.h"
#include "server/optimize.h"

#define CGI_HEADER_MAX 8192

extern char **environ;

typedef struct git_cgi {
    hub *h;
    int spool_fd; /* request body */
    char spool_path[1024];
    int out_fd; /* the program's stdout */
    pid_t pid;
    char service_path[256]; /* "info/refs", "git-upload-pack", "git-receive-pack" */
    int push;
    hub_repo repo;
    int repo_open;
    uint8_t *pending; /* body bytes read along with the CGI headers */
    size_t pending_len, pending_off;
} git_cgi;

static void cgi_free(void *p)
{
    git_cgi *g = p;
    if (!g)
        return;
    if (g->spool_fd >= 0)
        close(g->spool_fd);
    if (g->spool_path[0])
        unlink(g->spool_path);
    if (g->out_fd >= 0)
        close(g->out_fd);
    if (g->pid > 0) {
        int st;
        while (waitpid(g->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (g->push && g->repo_open) {
        /* a push moved refs: refresh what listings cache */
        weft_oid head;
        json_t *card = NULL;
        if (weft_repo_resolve(g->repo.git, "HEAD", &head, NULL, 0) == 0)
            card = hub_card_json(g->repo.git, &head);
        char *cj = card ? json_dumps(card, JSON_COMPACT) : NULL;
        weft_meta *m = hub_meta(g->h);
        if (m)
            hub_warn_rc(weft_meta_repo_touch(m, g->repo.rec.type, g->repo.rec.ns, g->repo.rec.name,
                                             hub_now_ms(), cj),
                        "caching the model card");
        free(cj);
        json_decref(card);
        /* A push may bring weight files: the background optimizer looks (cheap when none). */
        if (g->repo.rec.type == WEFT_REPO_MODEL)
            hub_optimizer_enqueue(g->h->optimizer, g->repo.rec.ns, g->repo.rec.name);
    }
    if (g->repo_open)
        hub_repo_close(&g->repo);
    free(g->pending);
    free(g);
}

static int spool_body(weft_http_req *req, const uint8_t *p, size_t n)
{
    git_cgi *g = hub_route_of(req)->extra;
    while (n > 0) {
        ssize_t w = write(g->spool_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return weft_http_req_fail(req, WEFT_EIO, 507, NULL, "spooling the request: %s",
                                      strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int64_t cgi_read(void *payload, uint64_t pos, uint8_t *buf, size_t max)
{
    git_cgi *g = payload;
    (void)pos;
    if (g->pending_off < g->pending_len) {
        size_t n = g->pending_len - g->pending_off < max ? g->pending_len - g->pending_off : max;
        memcpy(buf, g->pending + g->pending_off, n);
        g->pending_off += n;
        return (int64_t)n;
    }
    for (;;) {
        ssize_t r = read(g->out_fd, buf, max);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return WEFT_EIO;
        return r;
    }
}

static int env_add(char **env, size_t *n, size_t cap, const char *key, const char *value)
{
    if (*n + 1 >= cap || !value)
        return 0;
    size_t len = strlen(key) + strlen(value) + 2;
    char *e = malloc(len);
    if (!e)
        return -1;
    snprintf(e, len, "%s=%s", key, value);
    env[(*n)++] = e;
    env[*n] = NULL;
    return 0;
}

/* Runs git http-backend and answers with its output. */
static void run_cgi(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    git_cgi *g = rt->extra;
    char root[1024], path_info[512], user[WEFT_NAME_MAX + 1] = "";
    snprintf(root, sizeof root, "%s/%s/%s", g->h->repos_dir, weft_repo_type_plural(rt->type),
             rt->ns);
    snprintf(path_info, sizeof path_info, "/%s.git/%s", rt->name, g->service_path);
    if (!g->repo.caller.anonymous)
        snprintf(user, sizeof user, "%s", g->repo.caller.token.user);
    char *env[32];
    size_t n = 0;
    env[0] = NULL;
    int bad = 0;
    bad |= env_add(env, &n, 32, "PATH", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    bad |= env_add(env, &n, 32, "GIT_PROJECT_ROOT", root);
    bad |= env_add(env, &n, 32, "GIT_HTTP_EXPORT_ALL", "1");
    bad |= env_add(env, &n, 32, "PATH_INFO", path_info);
    bad |= env_add(env, &n, 32, "REQUEST_METHOD", weft_http_req_method(req));
    bad |= env_add(env, &n, 32, "QUERY_STRING", weft_http_req_query_string(req));
    bad |= env_add(env, &n, 32, "CONTENT_TYPE", weft_http_req_header(req, "Content-Type"));
    bad |= env_add(env, &n, 32, "HTTP_CONTENT_ENCODING",
                   weft_http_req_header(req, "Content-Encoding"));
    bad |= env_add(env, &n, 32, "GIT_PROTOCOL", weft_http_req_header(req, "Git-Protocol"));
    bad |= env_add(env, &n, 32, "REMOTE_ADDR", weft_http_req_peer(req));
    if (user[0])
        bad |= env_add(env, &n, 32, "REMOTE_USER", user);
    /* keep the backend away from the user's and the system's git configuration */
    bad |= env_add(env, &n, 32, "GIT_CONFIG_NOSYSTEM", "1");
    bad |= env_add(env, &n, 32, "HOME", g->h->data_dir);
    char len_text[32];
    snprintf(len_text, sizeof len_text, "%llu",
             (unsigned long long)weft_http_req_body_received(req));
    if (weft_http_req_is(req, "POST"))
        bad |= env_add(env, &n, 32, "CONTENT_LENGTH", len_text);
    int out_pipe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int spawned = -1;
    if (!bad && pipe2(out_pipe, O_CLOEXEC) == 0 && lseek(g->spool_fd, 0, SEEK_SET) == 0) {
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, g->spool_fd, 0);
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
        char *argv[] = {"git", "http-backend", NULL};
        spawned = posix_spawnp(&g->pid, "git", &fa, NULL, argv, env);
        posix_spawn_file_actions_destroy(&fa);
    }
    for (size_t i = 0; i < n; i++)
        free(env[i]);
    if (out_pipe[1] >= 0)
        close(out_pipe[1]);
    if (spawned != 0) {
        if (out_pipe[0] >= 0)
            close(out_pipe[0]);
        g->pid = 0;
        weft_http_respond_error(req, 500, NULL, "cannot run git http-backend");
        return;
    }
    g->out_fd = out_pipe[0];
    /* The CGI header block, up to the blank line. */
    g->pending = malloc(CGI_HEADER_MAX);
    if (!g->pending) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    size_t have = 0;
    char *end = NULL;
    while (have < CGI_HEADER_MAX) {
        ssize_t r = read(g->out_fd, g->pending + have, CGI_HEADER_MAX - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        g->pending[have < CGI_HEADER_MAX ? have : CGI_HEADER_MAX - 1] = '\0';
        end = memmem(g->pending, have, "\r\n\r\n", 4);
        if (!end)
            end = memmem(g->pending, have, "\n\n", 2);
        if (end)
            break;
    }
    if (!end) {
        weft_http_respond_error(req, 500, NULL, "git http-backend gave no answer");
        return;
    }
    size_t sep = end[0] == '\r' ? 4 : 2;
    size_t head_len = (size_t)(end - (char *)g->pending);
    unsigned status = 200;
    const char *ctype = "application/octet-stream";
    char ctype_buf[256];
    for (char *line = (char *)g->pending; line < end;) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        size_t ll = (size_t)(eol - line);
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        char hdr[1024];
        if (ll < sizeof hdr) {
            memcpy(hdr, line, ll);
            hdr[ll] = '\0';
            char *colon = strchr(hdr, ':');
            if (colon) {
                *colon = '\0';
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                if (strcasecmp(hdr, "Status") == 0) {
                    status = (unsigned)strtoul(v, NULL, 10);
                } else if (strcasecmp(hdr, "Content-Type") == 0) {
                    snprintf(ctype_buf, sizeof ctype_buf, "%s", v);
                    ctype = ctype_buf;
                } else {
                    weft_http_resp_header(req, hdr, v);
                }
            }
        }
        line = eol + 1;
    }
    g->pending_off = head_len + sep;
    g->pending_len = have;
    if (status < 200 || status > 599)
        status = 500;
    rt->extra = NULL; /* the stream owns it now */
    rt->extra_free = NULL;
    weft_http_respond_stream(req, status, ctype, UINT64_MAX, cgi_read, g, cgi_free);
}

void git_http_dispatch(weft_http_req *req, hub_route *rt, const char *service_path)
{
    const char *service = weft_http_req_query(req, "service");
    int push = strcmp(service_path, "git-receive-pack") == 0 ||
               (service && strcmp(service, "git-receive-pack") == 0);
    int is_post = weft_http_req_is(req, "POST");
    if ((strcmp(service_path, "info/refs") == 0 && !weft_http_req_is(req, "GET")) ||
        (strcmp(service_path, "info/refs") != 0 && !is_post)) {
        weft_http_respond_error(req, 405, NULL, "method not allowed");
        return;
    }
    git_cgi *g = calloc(1, sizeof *g);
    if (!g) {
        hub_respond_rc(req, WEFT_ENOMEM);
        return;
    }
    g->h = rt->h;
    g->spool_fd = -1;
    g->out_fd = -1;
    g->push = push;
    snprintf(g->service_path, sizeof g->service_path, "%s", service_path);
    rt->extra = g;
    rt->extra_free = cgi_free;
    weft_http_resp_header(req, "WWW-Authenticate", "Basic realm=\"weft\"");
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, push ? HUB_WRITE : HUB_READ,
                      &g->repo) < 0)
        return;
    g->repo_open = 1;
    g->push = push && strcmp(service_path, "git-receive-pack") == 0;
    snprintf(g->spool_path, sizeof g->spool_path, "%s/git-XXXXXX", rt->h->lfs_tmp_dir);
    g->spool_fd = mkostemp(g->spool_path, O_CLOEXEC);
    if (g->spool_fd < 0) {
        g->spool_path[0] = '\0';
        weft_http_respond_error(req, 500, NULL, "cannot create a spool file: %s", strerror(errno));
        return;
    }
    if (is_post) {
        weft_http_req_stream_body(req, spool_body, run_cgi);
        return;
    }
    run_cgi(req);
}
