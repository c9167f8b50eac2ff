/* weft serve: the Hugging Face Hub–compatible server over a data directory (src/server). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "server/hub.h"
#include "server/optimize.h"
#include "weft/fsutil.h"
#include "weft/http.h"
#include "weft/meta.h"

static const char serve_help[] =
    "usage: weft serve [--data DIR] [--listen HOST:PORT] [options]\n"
    "\n"
    "Serves the Hugging Face Hub HTTP API (repos, revisions, files, commits, branches, tags,\n"
    "tokens, private repos), Git LFS, the Xet CAS protocol and git clone/push over HTTP from\n"
    "DIR, so huggingface_hub, @huggingface/hub, transformers, git and git-lfs work against it\n"
    "with HF_ENDPOINT set to its URL. Large files go to the chunk store (deduplicated Xet\n"
    "chunks): Xet clients upload and download chunks themselves and send only chunks the\n"
    "store lacks; other clients use LFS and the server chunks for them.\n"
    "\n"
    "DIR (--data, else $WEFT_HOME, else ./weft-data) holds meta.db (accounts, tokens, repos),\n"
    "store/ (the chunk store) and repos/ (bare git repositories). On the first start with no\n"
    "accounts, weft creates the user 'admin' (site admin) and prints an admin token once.\n"
    "\n"
    "options:\n"
    "  --data DIR          data directory\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 = any free port)\n"
    "  --public-url URL    base URL clients reach the server at, used in links and upload URLs\n"
    "                      (default: http:// + the request's Host header)\n"
    "  --threads N         request threads (default 8)\n"
    "  --port-file FILE    write the bound port to FILE once listening (for scripts)\n"
    "  --regular-only      answer 'regular' to every preupload, so clients that would only\n"
    "                      upload through Xet send file contents inside the commit instead\n"
    "  --no-xet            do not advertise or serve the Xet CAS protocol (token routes,\n"
    "                      /v1 and /v2, Xet headers on downloads, \"xet\" in LFS batch\n"
    "                      answers): every client then uses LFS\n"
    "  --optimize MODE     background (default): after a commit or push that adds weight\n"
    "                      files (.safetensors, .gguf) to a model repo, a low-priority thread\n"
    "                      re-codes them with the weight codecs, as 'weft store optimize\n"
    "                      --data' would (bases found the same way); the commit does not\n"
    "                      wait. off: never (run 'weft store optimize' yourself)\n"
    "  --no-optimize       the same as --optimize off\n"
    "  --quiet             no per-request log lines\n"
    "\n"
    "Stop with SIGTERM or Ctrl-C: requests in flight finish first.\n"
    "\n"
    "examples:\n"
    "  weft serve --data /srv/weft --listen 0.0.0.0:8080 --public-url https://hub.example\n"
    "  weft serve --data /srv/weft --optimize off\n"
    "  HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=hf_... hf download admin/my-model\n";

static int count_account(const weft_account *a, void *payload)
{
    (void)a;
    (*(int *)payload)++;
    return 0;
}

/* On an empty database, creates the first administrator and prints its token once. */
static int first_start(hub *h)
{
    weft_meta *m = hub_meta(h);
    if (!m)
        return WEFT_EIO;
    int n = 0;
    int rc = weft_meta_account_list(m, count_account, &n);
    if (rc < 0 || n > 0)
        return rc;
    weft_account a;
    rc = weft_meta_user_create(m, "admin", 1, &a);
    if (rc < 0)
        return rc;
    char token[WEFT_TOKEN_LEN + 1];
    rc = weft_meta_token_create(m, token, "admin", WEFT_ROLE_ADMIN, "initial admin token", NULL);
    if (rc < 0)
        return rc;
    printf("weft: created user 'admin' (site admin) with token %s\n"
           "weft: this token is shown only once; make more with 'weft token create'\n",
           token);
    fflush(stdout);
    return 0;
}

static int hub_setup(hub *h, const char *data)
{
    size_t n = strlen(data) + 32;
    h->data_dir = strdup(data);
    h->meta_path = malloc(n);
    h->store_dir = malloc(n);
    h->repos_dir = malloc(n);
    h->lfs_tmp_dir = malloc(n);
    if (!h->data_dir || !h->meta_path || !h->store_dir || !h->repos_dir || !h->lfs_tmp_dir)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    snprintf(h->meta_path, n, "%s/meta.db", data);
    snprintf(h->store_dir, n, "%s/store", data);
    snprintf(h->repos_dir, n, "%s/repos", data);
    snprintf(h->lfs_tmp_dir, n, "%s/tmp", data);
    int rc = weft_fs_mkdirs(h->repos_dir);
    if (rc == 0)
        rc = weft_fs_mkdirs(h->lfs_tmp_dir);
    if (rc < 0)
        return rc;
    weft_meta *m = hub_meta(h);
    if (!m)
        return WEFT_EIO;
    rc = weft_meta_secret(m, "upload-url", h->upload_key);
    if (rc == 0)
        rc = weft_meta_secret(m, "xet-token", h->xet_key);
    if (rc == 0 && !hub_store(h))
        rc = WEFT_EIO;
    return rc;
}

static void hub_dispose(hub *h)
{
    /* After the server stopped: no request can queue work any more. */
    hub_optimizer_stop(h->optimizer);
    h->optimizer = NULL;
    free(h->data_dir);
    free(h->meta_path);
    free(h->store_dir);
    free(h->repos_dir);
    free(h->lfs_tmp_dir);
}

int cmd_serve(int argc, char **argv)
{
    const char *data = getenv("WEFT_HOME");
    if (!data || !*data)
        data = "./weft-data";
    weft_http_config cfg = {.listen = "127.0.0.1:8080"};
    const char *port_file = NULL;
    hub h = {.xet = 1};
    int optimize = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(serve_help, stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--data") == 0 && has_val) {
            data = argv[++i];
        } else if (strcmp(a, "--listen") == 0 && has_val) {
            cfg.listen = argv[++i];
        } else if (strcmp(a, "--public-url") == 0 && has_val) {
            cfg.public_url = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && has_val) {
            char *end = NULL;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024)
                return cli_usage_error("serve", "--threads wants 1..1024, not '%s'", argv[i]);
            cfg.threads = (unsigned)t;
        } else if (strcmp(a, "--port-file") == 0 && has_val) {
            port_file = argv[++i];
        } else if (strcmp(a, "--regular-only") == 0) {
            h.regular_only = 1;
        } else if (strcmp(a, "--no-xet") == 0) {
            h.xet = 0;
        } else if (strcmp(a, "--no-optimize") == 0) {
            optimize = 0;
        } else if ((strcmp(a, "--optimize") == 0 && has_val) ||
                   strncmp(a, "--optimize=", 11) == 0) {
            const char *mode = a[10] == '=' ? a + 11 : argv[++i];
            if (strcmp(mode, "off") == 0)
                optimize = 0;
            else if (strcmp(mode, "background") == 0)
                optimize = 1;
            else
                return cli_usage_error("serve", "--optimize wants off or background, not '%s'",
                                       mode);
        } else if (strcmp(a, "--quiet") == 0) {
            cfg.quiet = 1;
        } else {
            return cli_usage_error("serve", "unknown option '%s'", a);
        }
    }
    int rc = hub_setup(&h, data);
    if (rc == 0)
        rc = first_start(&h);
    if (rc == 0 && optimize)
        rc = hub_optimizer_start(&h.optimizer, h.data_dir, h.store_dir);
    if (rc < 0) {
        hub_dispose(&h);
        return cli_fail(rc);
    }
    /* Block the stop signals in every thread; the main thread waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    cfg.dispatch = hub_dispatch;
    cfg.app = &h;
    weft_http_server *srv = NULL;
    rc = weft_http_server_start(&srv, &cfg);
    if (rc < 0) {
        hub_dispose(&h);
        return cli_fail(rc);
    }
    uint16_t port = weft_http_server_port(srv);
    if (port_file) {
        char text[16];
        int len = snprintf(text, sizeof text, "%u\n", port);
        rc = weft_fs_write_atomic(port_file, text, (size_t)len);
        if (rc < 0) {
            weft_http_server_stop(srv);
            hub_dispose(&h);
            return cli_fail(rc);
        }
    }
    const char *colon = strrchr(cfg.listen, ':');
    printf("weft: serving %s on http://%.*s:%u\n", data, (int)(colon - cfg.listen), cfg.listen,
           port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "weft: %s received, finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    weft_http_server_stop(srv);
    hub_dispose(&h);
    return CLI_EXIT_OK;
}
