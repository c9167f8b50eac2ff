/* weft store optimize: re-code a stored safetensors file with the weight codecs, optionally as
 * a delta against a base file (include/weft/store.h "weight codecs"); and the per-codec table of
 * weft store stats --by codec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "server/optimize.h"
#include "store_optimize.h"
#include "weft/fsutil.h"
#include "weft/repo.h"
#include "weft/sha256.h"

const char store_optimize_help[] =
    "usage: weft store optimize FILE_HASH [--base BASE_HASH] [--no-delta] [--json]\n"
    "       weft store optimize --data DIR [REPO] [--json]\n"
    "\n"
    "Re-codes the stored chunks of a safetensors file with Weft's lossless weight codecs:\n"
    "BF16/F16/F32 tensors by byte planes with an entropy coder, and with --base, every tensor\n"
    "the base file also has (same name, dtype and shape; found through both headers, so header\n"
    "sizes and tensor orders may differ) as a delta against the base tensor's bytes. A chunk is\n"
    "re-coded only when that makes it smaller; hashes do not change, every read stays\n"
    "bit-exact, and Xet clients are still served standard Xet chunks. Safe to interrupt at any\n"
    "moment (kill -9 included): nothing is lost, and what is left over goes at the next gc.\n"
    "\n"
    "A base must not itself be stored as a delta (chains are one deep), and a base cannot be\n"
    "removed (weft store rm) while a file coded against it is stored: remove or re-code that\n"
    "file first (--no-delta re-codes a file's plain chunks without any base; chunks already\n"
    "coded as deltas stay until gc rewrites their xorb).\n"
    "\n"
    "FILE_HASH and BASE_HASH are either name of a stored file (SHA-256 or Xet hash).\n"
    "\n"
    "With --data DIR (a hub's data directory, as 'weft serve --data' uses), every safetensors\n"
    "file of model repo REPO (namespace/name; default: every model repo, bases first) in every\n"
    "revision is optimized, its base found automatically: the file of the same path in the repo\n"
    "its README card names as base_model: on the same hub, else the previous revision of the\n"
    "same path (a revision that is itself a delta passes on its own base).\n"
    "\n"
    "options:\n"
    "  --base HASH   code tensors as deltas against this stored file\n"
    "  --no-delta    ignore --base\n"
    "  --json        print the result as one JSON object\n"
    "\n"
    "Prints one summary line: the file's stored bytes before and after, and per codec the\n"
    "chunks and bytes. Progress goes to standard error when it is a terminal.\n"
    "\n"
    "examples:\n"
    "  weft store optimize 3f0c...e1\n"
    "  weft store --store /srv/weft/store optimize 9a41...07 --base 3f0c...e1\n"
    "  weft store optimize --data /srv/weft alice/llama-ft\n"
    "\n"
    "exit codes: 0 ok, 1 error (a concurrent change: run again), 2 usage or a base that is\n"
    "itself a delta, 3 no such file, 4 corrupt data or not a safetensors file (the rule is "
    "named)\n";

static void optimize_progress(uint64_t done, void *payload)
{
    const weft_store_file *f = payload;
    fprintf(stderr, "\roptimize: %3.0f%%", f->size ? 100.0 * (double)done / (double)f->size : 100);
    fflush(stderr);
}

int store_optimize(weft_store *s, int argc, char **argv)
{
    const char *file_hex = NULL, *base_hex = NULL;
    int json = 0;
    weft_store_optimize_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--base") == 0 && i + 1 < argc)
            base_hex = argv[++i];
        else if (strcmp(argv[i], "--no-delta") == 0)
            opts.no_delta = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("store optimize", "unknown option '%s'", argv[i]);
        else if (file_hex == NULL)
            file_hex = argv[i];
        else
            return cli_usage_error("store optimize", "one FILE_HASH at a time");
    }
    if (file_hex == NULL)
        return cli_usage_error("store optimize", "optimize needs FILE_HASH");
    weft_store_file f, b;
    int rc = weft_store_lookup(s, file_hex, &f);
    if (rc == 0 && base_hex != NULL)
        rc = weft_store_lookup(s, base_hex, &b);
    if (rc < 0)
        return cli_fail(rc);
    if (isatty(2) && !json) {
        opts.progress = optimize_progress;
        opts.payload = &f;
    }
    weft_store_optimize_result r;
    rc = weft_store_optimize_file(s, &f.xet_hash, base_hex ? &b.xet_hash : NULL, &opts, &r);
    if (opts.progress != NULL)
        fputs("\r\033[K", stderr);
    if (rc < 0)
        return cli_fail(rc);
    char hex[65], a[32], c[32], d[32];
    weft_xet_hash_to_hex(hex, &f.xet_hash);
    double ratio = r.after_bytes ? (double)r.before_bytes / (double)r.after_bytes : 0;
    if (json) {
        printf("{\"file\":\"%s\",\"size\":%llu,\"chunks\":%u,\"chunks_coded\":%u,"
               "\"xorbs_rewritten\":%u,\"delta\":%s,\"before_bytes\":%llu,\"after_bytes\":%llu,"
               "\"codecs\":{",
               hex, (unsigned long long)r.file_bytes, r.chunks, r.chunks_coded, r.xorbs_rewritten,
               r.used_base ? "true" : "false", (unsigned long long)r.before_bytes,
               (unsigned long long)r.after_bytes);
        for (int i = 0, n = 0; i < WEFT_STORE_N_CODECS; i++) {
            if (r.codecs[i].chunks == 0)
                continue;
            printf("%s\"%s\":{\"chunks\":%llu,\"raw_bytes\":%llu,\"stored_bytes\":%llu}",
                   n++ ? "," : "", r.codecs[i].codec, (unsigned long long)r.codecs[i].chunks,
                   (unsigned long long)r.codecs[i].raw_bytes,
                   (unsigned long long)r.codecs[i].stored_bytes);
        }
        printf("}}\n");
        return CLI_EXIT_OK;
    }
    printf("optimize: %s (%s): stored %s -> %s (%.2fx), %u of %u chunks re-coded%s\n", hex,
           cli_human_bytes(a, sizeof a, r.file_bytes), cli_human_bytes(c, sizeof c, r.before_bytes),
           cli_human_bytes(d, sizeof d, r.after_bytes), ratio, r.chunks_coded, r.chunks,
           r.used_base ? " (deltas against the base)" : "");
    for (int i = 0; i < WEFT_STORE_N_CODECS; i++) {
        if (r.codecs[i].chunks == 0)
            continue;
        printf("  %-13s %6llu chunks  %s -> %s\n", r.codecs[i].codec,
               (unsigned long long)r.codecs[i].chunks,
               cli_human_bytes(a, sizeof a, r.codecs[i].raw_bytes),
               cli_human_bytes(c, sizeof c, r.codecs[i].stored_bytes));
    }
    return CLI_EXIT_OK;
}

int store_stats_codecs(weft_store *s, int json)
{
    weft_store_codec_stats st[WEFT_STORE_N_CODECS + 1];
    int rc = weft_store_stats_by_codec(s, st);
    if (rc < 0)
        return cli_fail(rc);
    if (json)
        printf("{");
    else
        printf("%-13s %10s %14s %14s %8s\n", "codec", "chunks", "logical", "physical", "ratio");
    for (int i = 0, n = 0; i <= WEFT_STORE_N_CODECS; i++) {
        if (st[i].chunks == 0)
            continue;
        double ratio =
            st[i].stored_bytes ? (double)st[i].raw_bytes / (double)st[i].stored_bytes : 0;
        if (json) {
            printf("%s\"%s\":{\"chunks\":%llu,\"logical_bytes\":%llu,\"physical_bytes\":%llu}",
                   n++ ? "," : "", st[i].codec, (unsigned long long)st[i].chunks,
                   (unsigned long long)st[i].raw_bytes, (unsigned long long)st[i].stored_bytes);
        } else {
            char a[32], b[32];
            printf("%-13s %10llu %14s %14s %7.2fx\n", st[i].codec, (unsigned long long)st[i].chunks,
                   cli_human_bytes(a, sizeof a, st[i].raw_bytes),
                   cli_human_bytes(b, sizeof b, st[i].stored_bytes), ratio);
        }
    }
    if (json)
        printf("}\n");
    return CLI_EXIT_OK;
}

/* ---- a hub's data directory: bases found from the repos (server/optimize.c) ----------------- */

typedef struct hub_print {
    int json;
    weft_store_optimize_result *total;
} hub_print;

static void hub_print_file(const char *repo, const hub_file *f, const char *hex, const char *bhex,
                           const weft_store_optimize_result *r, const char *reason, void *payload)
{
    hub_print *pr = payload;
    if (r == NULL) {
        fprintf(stderr, "weft: %s/%s: skipped: %s\n", repo, f->path, reason);
        return;
    }
    weft_store_optimize_result *total = pr->total;
    total->file_bytes += r->file_bytes;
    total->before_bytes += r->before_bytes;
    total->after_bytes += r->after_bytes;
    total->chunks_coded += r->chunks_coded;
    total->chunks += r->chunks;
    for (int k = 0; k < WEFT_STORE_N_CODECS; k++) {
        total->codecs[k].chunks += r->codecs[k].chunks;
        total->codecs[k].raw_bytes += r->codecs[k].raw_bytes;
        total->codecs[k].stored_bytes += r->codecs[k].stored_bytes;
    }
    if (!pr->json) {
        char a[32], b[32];
        printf("%s %s (sha256 %.12s): stored %s -> %s%s%.12s%s\n", repo, f->path, hex,
               cli_human_bytes(a, sizeof a, r->before_bytes),
               cli_human_bytes(b, sizeof b, r->after_bytes), bhex ? " (delta against sha256 " : "",
               bhex ? bhex : "", bhex ? ")" : "");
    }
}

int store_optimize_hub(const char *data, int argc, char **argv)
{
    const char *repo = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("store optimize", "unknown option '%s' with --data", argv[i]);
        else if (repo == NULL)
            repo = argv[i];
        else
            return cli_usage_error("store optimize", "one REPO at a time");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.db", data);
    if (!weft_fs_exists(path))
        return cli_fail(
            weft_err_set(WEFT_EINVALID, "%s is not a hub data directory (no meta.db)", data));
    snprintf(path, sizeof path, "%s/store", data);
    weft_store *s = NULL;
    int rc = weft_store_open(&s, path);
    if (rc < 0)
        return cli_fail(rc);
    weft_store_optimize_result total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < WEFT_STORE_N_CODECS; i++)
        total.codecs[i].codec = weft_store_codec_name(i);
    /* Bases first: repos without a base_model before those with one (a base's own coding must
     * not be a delta, and coding it first keeps it plain). */
    char **names = NULL;
    size_t n = 0;
    if (repo != NULL) {
        names = malloc(sizeof *names);
        if (names != NULL)
            names[n++] = strdup(repo);
    } else {
        hub_list_model_repos(data, NULL, &names, &n);
    }
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        for (size_t i = 0; rc == 0 && i < n; i++) {
            weft_repo *r = NULL;
            weft_oid head;
            char bm[256] = "";
            if (names[i] == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "out of memory");
                break;
            }
            rc = hub_open_model_repo(data, names[i], &r, &head);
            if (rc < 0)
                break;
            hub_card_base_model(r, &head, bm, sizeof bm);
            weft_repo_close(r);
            /* One repo: in the first pass. All: bases in the first, fine-tunes in the second. */
            if (repo != NULL ? pass == 1 : (bm[0] != '\0') != pass)
                continue;
            hub_print pr = {.json = json, .total = &total};
            hub_optimize_cfg cfg = {.on_file = hub_print_file, .payload = &pr};
            rc = hub_optimize_repo(s, data, names[i], &cfg);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    weft_store_close(s);
    if (rc < 0)
        return cli_fail(rc);
    char a[32], b[32];
    double ratio = total.after_bytes ? (double)total.before_bytes / (double)total.after_bytes : 0;
    if (json)
        printf("{\"size\":%llu,\"before_bytes\":%llu,\"after_bytes\":%llu,\"chunks_coded\":%u}\n",
               (unsigned long long)total.file_bytes, (unsigned long long)total.before_bytes,
               (unsigned long long)total.after_bytes, total.chunks_coded);
    else
        printf("optimize: stored %s -> %s (%.2fx), %u chunks re-coded\n",
               cli_human_bytes(a, sizeof a, total.before_bytes),
               cli_human_bytes(b, sizeof b, total.after_bytes), ratio, total.chunks_coded);
    return CLI_EXIT_OK;
}

/* The Xet hashes of every LFS file of a repo's history that the store has (appended). */
static int hub_repo_files(weft_store *s, const char *data, const char *name, weft_hash **v,
                          size_t *n)
{
    weft_repo *repo = NULL;
    hub_file *files = NULL;
    size_t nf = 0;
    weft_oid head;
    int rc = hub_open_model_repo(data, name, &repo, &head);
    if (rc == 0)
        rc = hub_history_files(repo, &head, 1, &files, &nf);
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        char hex[65];
        weft_store_file f;
        weft_hex_encode(hex, files[i].sha, 32);
        if (weft_store_lookup(s, hex, &f) < 0) {
            weft_err_clear();
            continue;
        }
        weft_hash *p = realloc(*v, (*n + 1) * sizeof *p);
        if (p == NULL) {
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
            break;
        }
        *v = p;
        (*v)[(*n)++] = f.xet_hash;
    }
    weft_repo_close(repo);
    free(files);
    return rc;
}

static int hub_print_usage(weft_store *s, const char *label, const weft_hash *v, size_t n, int json,
                           int first)
{
    uint64_t logical = 0, physical = 0;
    int rc = weft_store_files_usage(s, v, n, &logical, &physical);
    if (rc < 0)
        return rc;
    double ratio = physical ? (double)logical / (double)physical : 0;
    if (json) {
        printf("%s\"%s\":{\"files\":%zu,\"logical_bytes\":%llu,\"physical_bytes\":%llu}",
               first ? "" : ",", label, n, (unsigned long long)logical,
               (unsigned long long)physical);
    } else {
        char a[32], b[32];
        printf("%-40s %6zu %14s %14s %7.2fx\n", label, n, cli_human_bytes(a, sizeof a, logical),
               cli_human_bytes(b, sizeof b, physical), ratio);
    }
    return 0;
}

int store_stats_repo(const char *data, const char *repo, int json)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.db", data);
    if (!weft_fs_exists(path))
        return cli_fail(weft_err_set(
            WEFT_EINVALID, "--repo needs a hub data directory (--store DIR with meta.db)"));
    snprintf(path, sizeof path, "%s/store", data);
    weft_store *s = NULL;
    char **names = NULL;
    size_t n = 0, n_all = 0;
    weft_hash *all = NULL;
    int rc = weft_store_open(&s, path);
    if (rc < 0)
        return cli_fail(rc);
    int org = strchr(repo, '/') == NULL;
    if (org) {
        hub_list_model_repos(data, repo, &names, &n);
        if (n == 0)
            rc = weft_err_set(WEFT_ENOTFOUND, "no model repos under '%s'", repo);
    } else {
        names = malloc(sizeof *names);
        if (names != NULL && (names[0] = strdup(repo)) != NULL)
            n = 1;
        else
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    if (rc == 0 && json)
        printf("{");
    else if (rc == 0)
        printf("%-40s %6s %14s %14s %8s\n", "repo", "files", "logical", "physical", "ratio");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_hash *v = NULL;
        size_t nv = 0;
        rc = hub_repo_files(s, data, names[i], &v, &nv);
        if (rc == 0)
            rc = hub_print_usage(s, names[i], v, nv, json, i == 0);
        for (size_t k = 0; rc == 0 && k < nv; k++) {
            weft_hash *p = realloc(all, (n_all + 1) * sizeof *p);
            if (p == NULL) {
                rc = weft_err_set(WEFT_ENOMEM, "out of memory");
                break;
            }
            all = p;
            all[n_all++] = v[k];
        }
        free(v);
    }
    /* The org's line: chunks shared between its repos count once. */
    if (rc == 0 && org) {
        char label[300];
        snprintf(label, sizeof label, "%s (all repos)", repo);
        rc = hub_print_usage(s, label, all, n_all, json, 0);
    }
    if (rc == 0 && json)
        printf("}\n");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(all);
    weft_store_close(s);
    return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}
