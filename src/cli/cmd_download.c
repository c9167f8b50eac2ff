/* weft download: files of a Hub repo into the Hugging Face cache or a local folder
 * (include/weft/download.h). Prints the snapshot folder (or the local dir, or the one file
 * named) on stdout at the end, as `hf download` does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "weft/client.h"
#include "weft/download.h"
#include "weft/progress.h"
#include "weft/delta_download.h"
#include "weft/xet_download.h"

static const char download_help[] =
    "usage: weft download REPO [FILE...] [options]\n"
    "\n"
    "examples:\n"
    "  weft download acme/tiny-bert                       # the whole repo at main, into the "
    "cache\n"
    "  weft download acme/tiny-bert config.json           # one file; prints its cached path\n"
    "  weft download acme/tiny-bert --include '*.safetensors' --include '*.json'\n"
    "  weft download acme/tiny-bert --exclude 'onnx/' --revision v1.0\n"
    "  weft download datasets/acme/wiki --local-dir ./wiki\n"
    "  HF_ENDPOINT=http://127.0.0.1:8080 weft download acme/tiny-bert --quiet\n"
    "\n"
    "Downloads files of REPO (ns/name, or datasets/ns/name, spaces/ns/name) at a revision from\n"
    "a Hugging Face Hub-compatible server (Weft or huggingface.co). Files go into the Hugging\n"
    "Face cache (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) in the exact\n"
    "layout huggingface_hub, transformers and @huggingface/hub use: blobs/<etag>,\n"
    "snapshots/<commit>/<path> relative links, refs/<revision>. Files already there (from\n"
    "weft or another tool) are not fetched again. Files are fetched in parallel, files of\n"
    "64 MiB and more in 16 MiB ranges in parallel; an interrupted download resumes where it\n"
    "stopped; every file is verified (SHA-256, or the git blob id for small files) before it\n"
    "enters the cache. The snapshot folder (or the local dir, or the file when exactly one is\n"
    "named) is printed on stdout at the end.\n"
    "\n"
    "options:\n"
    "  FILE...               only these files (no listing; --include/--exclude are ignored)\n"
    "  --repo-type TYPE      model (default), dataset or space\n"
    "  --revision REV        branch, tag or commit (default main)\n"
    "  --include GLOB        only paths matching GLOB (fnmatch, '*' crosses '/'; a GLOB\n"
    "                        ending in '/' means the folder); repeatable\n"
    "  --exclude GLOB        skip paths matching GLOB; repeatable\n"
    "  --local-dir DIR       write plain files at DIR/<path> instead of the cache (with\n"
    "                        huggingface_hub's DIR/.cache/huggingface/download metadata)\n"
    "  --cache-dir DIR       the cache to use instead of HF_HUB_CACHE\n"
    "  --max-workers N       files fetched at once (default 8), and connections for one\n"
    "                        large file (default 1, up to 4 while slower than 200 MB/s)\n"
    "  --quiet               no progress output; only the path on stdout\n"
    "  --endpoint URL        the Hub (default HF_ENDPOINT, else https://huggingface.co)\n"
    "  --token TOKEN         access token (default HF_TOKEN, else the 'weft login' token file)\n"
    "  --no-xet              plain HTTP GETs even when the server offers Xet (also\n"
    "                        HF_HUB_DISABLE_XET=1)\n"
    "  --no-delta            never rebuild a file from a delta (below)\n"
    "  --stats               print the Xet and delta byte counts even with --quiet\n"
    "\n"
    "Deltas (a weft serve extension): when the server offers a fine-tune's .safetensors file\n"
    "as a delta against a base whose file is already in the cache (the repo its README names\n"
    "as base_model, or the previous version of the file), only the delta is fetched and the\n"
    "file is rebuilt from it and the cached base, then verified by its SHA-256 like any\n"
    "download. If anything goes wrong on that path the whole file is fetched instead.\n"
    "\n"
    "Xet: when the server offers Xet for a file, only the chunks not already in the local\n"
    "chunk cache (WEFT_CHUNK_CACHE, else $HF_HOME/weft/chunks; bounded by\n"
    "WEFT_CHUNK_CACHE_SIZE, default 10G) are fetched, so a new revision of a large file moves\n"
    "only what changed.\n"
    "\n"
    "Progress: a bar per file and a total on a terminal, one line per file otherwise.\n"
    "WEFT_CLIENT_MAX_RATE=BYTES limits the transfer rate (bytes per second).\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage, 3 repo, revision or file not found, 4 bytes failed\n"
    "verification, 5 disk full or other i/o error, 6 token missing or not allowed (a private\n"
    "repo looks like a missing one without a token), 7 network failure\n";

/* Xet: the fetcher with the chunk cache (without one when it cannot be opened). */
static void download_xet_setup(weft_xet_fetcher **out, weft_client *c, weft_download_opts *o)
{
    const char *dir = weft_client_config_get(c)->chunk_cache,
               *size = getenv("WEFT_CHUNK_CACHE_SIZE");
    uint64_t max = 0;
    if (size && size[0] && weft_chunk_cache_parse_size(&max, size) < 0)
        fprintf(stderr, "weft: WEFT_CHUNK_CACHE_SIZE: %s; using 10G\n", weft_err_last());
    if (weft_xet_fetcher_new(out, dir, max) < 0) {
        fprintf(stderr, "weft: chunk cache %s: %s; going on without it\n", dir, weft_err_last());
        if (weft_xet_fetcher_new(out, NULL, 0) < 0)
            return;
    }
    o->xet_fetch = weft_xet_fetcher_fetch;
    o->xet_payload = *out;
}

/* "delta: N files rebuilt ..." on stderr. */
static void download_delta_report(weft_delta_fetcher *d, int always)
{
    weft_delta_fetch_stats st;
    weft_delta_fetcher_stats(d, &st);
    if (!st.files && !st.fallbacks && !always)
        return;
    fprintf(stderr,
            "delta: %llu file%s rebuilt (%llu bytes) from %llu bytes of deltas; %llu fell back "
            "to a whole download\n",
            (unsigned long long)st.files, st.files == 1 ? "" : "s",
            (unsigned long long)st.rebuilt_bytes, (unsigned long long)st.delta_bytes,
            (unsigned long long)st.fallbacks);
}

/* "xet: N bytes from the CAS, M bytes from the chunk cache ..." on stderr. */
static void download_xet_report(weft_xet_fetcher *xet, int always)
{
    weft_xet_download_stats st;
    uint64_t n_files = 0;
    weft_xet_fetcher_stats(xet, &st, &n_files);
    if (!n_files && !always)
        return;
    fprintf(stderr,
            "xet: %llu bytes from the CAS, %llu bytes from the chunk cache, %llu file%s, %llu "
            "fetch%s",
            (unsigned long long)st.cas_bytes, (unsigned long long)st.cache_bytes,
            (unsigned long long)n_files, n_files == 1 ? "" : "s", (unsigned long long)st.n_fetches,
            st.n_fetches == 1 ? "" : "es");
    if (st.n_corrupt)
        fprintf(stderr, ", %llu damaged cache piece%s refetched", (unsigned long long)st.n_corrupt,
                st.n_corrupt == 1 ? "" : "s");
    fputc('\n', stderr);
}

int cmd_download(int argc, char **argv)
{
    const char *endpoint = NULL, *token = NULL, *type = NULL, *spec = NULL;
    weft_download_opts o = {0};
    int quiet = 0, no_xet = 0, no_delta = 0, stats = 0;
    weft_xet_fetcher *xet = NULL;
    weft_delta_fetcher *delta = NULL;
    const char **files = calloc((size_t)argc, sizeof *files);
    const char **inc = calloc((size_t)argc, sizeof *inc);
    const char **exc = calloc((size_t)argc, sizeof *exc);
    weft_client *c = NULL;
    weft_progress *progress = NULL;
    weft_download_result res = {0};
    int code = CLI_EXIT_OK;
    if (!files || !inc || !exc) {
        fputs("weft: out of memory\n", stderr);
        code = CLI_EXIT_ERROR;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(download_help, stdout);
            goto out;
        } else if (strcmp(a, "--repo-type") == 0 && has_val) {
            type = argv[++i];
        } else if (strcmp(a, "--revision") == 0 && has_val) {
            o.revision = argv[++i];
        } else if (strcmp(a, "--include") == 0 && has_val) {
            inc[o.n_include++] = argv[++i];
        } else if (strcmp(a, "--exclude") == 0 && has_val) {
            exc[o.n_exclude++] = argv[++i];
        } else if (strcmp(a, "--local-dir") == 0 && has_val) {
            o.local_dir = argv[++i];
        } else if (strcmp(a, "--cache-dir") == 0 && has_val) {
            o.cache_dir = argv[++i];
        } else if (strcmp(a, "--max-workers") == 0 && has_val) {
            char *end = NULL;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 64) {
                code = cli_usage_error("download", "--max-workers wants 1..64, not '%s'", argv[i]);
                goto out;
            }
            o.max_workers = (int)n;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--no-xet") == 0) {
            no_xet = 1;
        } else if (strcmp(a, "--no-delta") == 0) {
            no_delta = 1;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--endpoint") == 0 && has_val) {
            endpoint = argv[++i];
        } else if (strcmp(a, "--token") == 0 && has_val) {
            token = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            code = cli_usage_error("download", "unknown option '%s'", a);
            goto out;
        } else if (!spec) {
            spec = a;
        } else {
            files[o.n_files++] = a;
        }
    }
    if (!spec) {
        code = cli_usage_error("download", "which repo? (weft download REPO [FILE...])");
        goto out;
    }
    o.files = files;
    o.include = inc;
    o.exclude = exc;
    if (o.n_files > 0 && (o.n_include || o.n_exclude))
        fputs("weft: files are named: --include and --exclude are ignored\n", stderr);
    weft_client_repo repo;
    int rc = weft_client_repo_parse(&repo, spec, type);
    if (rc < 0) {
        code = cli_fail(rc);
        goto out;
    }
    code = cli_client_open(&c, endpoint, token);
    if (code != 0)
        goto out;
    rc = weft_progress_new(&progress, quiet ? WEFT_PROGRESS_QUIET : WEFT_PROGRESS_AUTO, "download");
    if (rc < 0) {
        code = cli_fail(rc);
        goto out;
    }
    o.progress = progress;
    const char *disable = getenv("HF_HUB_DISABLE_XET"); /* huggingface_hub's switch */
    if (!no_xet && !(disable && (strcmp(disable, "1") == 0 || strcmp(disable, "true") == 0)))
        download_xet_setup(&xet, c, &o);
    if (!no_delta &&
        weft_delta_fetcher_new(&delta, o.cache_dir ? o.cache_dir : weft_client_config_get(c)->hub_cache,
                               &repo) == 0) {
        o.delta_fetch = weft_delta_fetcher_fetch;
        o.delta_payload = delta;
    }
    rc = weft_download_run(&res, c, &repo, &o);
    weft_progress_free(progress);
    progress = NULL;
    if (rc < 0) {
        code = cli_fail(rc);
        goto out;
    }
    printf("%s\n", res.path);
    if (xet && (stats || !quiet))
        download_xet_report(xet, stats);
    if (delta && (stats || !quiet))
        download_delta_report(delta, stats);
out:
    weft_xet_fetcher_free(xet);
    weft_delta_fetcher_free(delta);
    weft_download_result_dispose(&res);
    weft_progress_free(progress);
    weft_client_free(c);
    free(files);
    free(inc);
    free(exc);
    return code;
}
