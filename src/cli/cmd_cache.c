/* weft cache: the Hugging Face cache on this machine (include/weft/cache_scan.h).
 *   weft cache [--cache-dir DIR] [--repo-type TYPE] ls|rm|prune ...
 * The cache is --cache-dir, else HF_HUB_CACHE, else $HF_HOME/hub (include/weft/client.h), the
 * folder huggingface_hub, @huggingface/hub and `weft download` share. Options may come before or
 * after the subcommand. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "weft/cache_scan.h"
#include "weft/client.h"

static const char cache_help[] =
    "usage: weft cache [--cache-dir DIR] [--repo-type TYPE] <subcommand> [options]\n"
    "\n"
    "The Hugging Face cache on this machine: the folder huggingface_hub, @huggingface/hub and\n"
    "weft download share (models--ns--name/{blobs,snapshots,refs}). DIR is --cache-dir, else\n"
    "$HF_HUB_CACHE, else $HF_HOME/hub (HF_HOME defaults to ~/.cache/huggingface).\n"
    "\n"
    "subcommands:\n"
    "  ls [--json]                 each repo: type, id, size on disk (every blob once), files,\n"
    "                              last used; below it each revision with its refs\n"
    "  rm [--dry-run] REPO[@REV]...\n"
    "                              REPO removes the repo's whole folder; REPO@REV removes that\n"
    "                              revision (REV: a ref like main, a commit or a commit prefix of\n"
    "                              7+ digits), the refs naming it and the blobs no other revision\n"
    "                              uses\n"
    "  prune [--older-than AGE] [--dry-run]\n"
    "                              removes blobs no revision uses, downloads left unfinished for\n"
    "                              an hour, and with --older-than the revisions not used within\n"
    "                              AGE (30d, 12h, 90m, 2w, 45s)\n"
    "\n"
    "options:\n"
    "  --cache-dir DIR    the cache folder\n"
    "  --repo-type TYPE   model, dataset or space: ls lists only that type; rm looks REPO up\n"
    "                     there (without it, REPO must name one repo of any type)\n"
    "  --dry-run          rm, prune: print what would be removed, remove nothing\n"
    "  --json             ls: one JSON object with exact sizes and times (seconds since 1970)\n"
    "\n"
    "examples:\n"
    "  weft cache ls\n"
    "  weft cache rm openai-community/gpt2\n"
    "  weft cache rm --repo-type dataset ns/data@refs/pr/1\n"
    "  weft cache prune --older-than 30d --dry-run\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage or bad input, 3 repo or revision not in the cache,\n"
    "5 i/o error\n";

typedef struct cache_opts {
    const char *cache_dir;
    const char *type;
    const char *older_than;
    int dry_run;
    int json;
    const char *sub;
    char **pos;
    int n_pos;
} cache_opts;

static int cache_parse(cache_opts *o, int argc, char **argv)
{
    enum { OPT_CACHE_DIR = 1000, OPT_REPO_TYPE, OPT_OLDER, OPT_DRY, OPT_JSON };
    static const struct option longopts[] = {
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"repo-type", required_argument, NULL, OPT_REPO_TYPE},
        {"older-than", required_argument, NULL, OPT_OLDER},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CACHE_DIR: o->cache_dir = optarg; break;
        case OPT_REPO_TYPE: o->type = optarg; break;
        case OPT_OLDER: o->older_than = optarg; break;
        case OPT_DRY: o->dry_run = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 'h': fputs(cache_help, stdout); return -1;
        default:
            if (optopt >= OPT_CACHE_DIR && optopt <= OPT_OLDER)
                return cli_usage_error("cache", "%s needs a value", argv[optind - 1]);
            return cli_usage_error("cache", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("cache", "missing subcommand (ls, rm or prune)");
    o->sub = argv[optind];
    o->pos = argv + optind + 1;
    o->n_pos = argc - optind - 1;
    if (o->type != NULL && strcmp(o->type, "model") != 0 && strcmp(o->type, "dataset") != 0 &&
        strcmp(o->type, "space") != 0)
        return cli_usage_error("cache", "--repo-type must be model, dataset or space, not '%s'",
                               o->type);
    return 0;
}

/* AGE like "30d" into seconds; -1 when malformed. */
static int64_t cache_parse_age(const char *s)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    int64_t unit;
    if (strcmp(end, "s") == 0)
        unit = 1;
    else if (strcmp(end, "m") == 0)
        unit = 60;
    else if (strcmp(end, "h") == 0)
        unit = 3600;
    else if (strcmp(end, "d") == 0)
        unit = 86400;
    else if (strcmp(end, "w") == 0)
        unit = 7 * 86400;
    else
        return -1;
    int64_t out;
    if (v > INT64_MAX || __builtin_mul_overflow((int64_t)v, unit, &out))
        return -1;
    return out;
}

static const char *cache_when(char buf[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || localtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, 32, "-");
    return buf;
}

static int cache_ls_json(const weft_cache_scan *s)
{
    json_t *repos = json_array();
    for (size_t i = 0; i < s->n_repos; i++) {
        const weft_cache_repo *r = &s->repos[i];
        json_t *revs = json_array();
        for (size_t k = 0; k < r->n_revs; k++) {
            const weft_cache_revision *v = &r->revs[k];
            json_t *refs = json_array();
            for (size_t j = 0; j < v->n_refs; j++)
                json_array_append_new(refs, json_string(v->refs[j]));
            json_array_append_new(revs, json_pack("{s:s, s:o, s:I, s:I, s:I}", "commit", v->commit,
                                                  "refs", refs, "size", (json_int_t)v->size,
                                                  "files", (json_int_t)v->n_files, "last_used",
                                                  (json_int_t)v->last_used));
        }
        json_array_append_new(repos,
                              json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "type", r->type,
                                        "id", r->id, "path", r->dir, "size", (json_int_t)r->size,
                                        "files", (json_int_t)r->n_files, "last_used",
                                        (json_int_t)r->last_used, "revisions", revs));
    }
    json_t *root = json_pack("{s:s, s:I, s:o}", "cache_dir", s->cache_dir, "size",
                             (json_int_t)s->size, "repos", repos);
    char *text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (text == NULL)
        return cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
    puts(text);
    free(text);
    return CLI_EXIT_OK;
}

static int cache_ls(const cache_opts *o, const weft_cache_scan *s)
{
    if (o->n_pos > 0)
        return cli_usage_error("cache", "ls takes no arguments ('%s')", o->pos[0]);
    if (o->json)
        return cache_ls_json(s);
    char size[32], when[32];
    if (s->n_repos == 0) {
        printf("no repos in %s\n", s->cache_dir);
        return CLI_EXIT_OK;
    }
    size_t w = 4;
    for (size_t i = 0; i < s->n_repos; i++)
        w = strlen(s->repos[i].id) > w ? strlen(s->repos[i].id) : w;
    printf("%-8s %-*s %11s %6s  %-16s  %s\n", "TYPE", (int)w, "REPO", "SIZE", "FILES", "LAST USED",
           "REVISIONS");
    for (size_t i = 0; i < s->n_repos; i++) {
        const weft_cache_repo *r = &s->repos[i];
        printf("%-8s %-*s %11s %6zu  %-16s  %zu\n", r->type, (int)w, r->id,
               cli_human_bytes(size, sizeof size, r->size), r->n_files,
               cache_when(when, r->last_used), r->n_revs);
        for (size_t k = 0; k < r->n_revs; k++) {
            const weft_cache_revision *v = &r->revs[k];
            printf("    %s %11s %6zu  %-16s ", v->commit,
                   cli_human_bytes(size, sizeof size, v->size), v->n_files,
                   cache_when(when, v->last_used));
            for (size_t j = 0; j < v->n_refs; j++)
                printf(" %s", v->refs[j]);
            if (v->n_refs == 0)
                printf(" (no ref)");
            putchar('\n');
        }
    }
    printf("%zu repo%s, %s in %s\n", s->n_repos, s->n_repos == 1 ? "" : "s",
           cli_human_bytes(size, sizeof size, s->size), s->cache_dir);
    return CLI_EXIT_OK;
}

typedef struct cache_report_state {
    int dry_run;
} cache_report_state;

static void cache_report(const char *what, const char *path, uint64_t size, void *payload)
{
    const cache_report_state *st = payload;
    char human[32];
    if (size > 0)
        printf("%s %s %s (%s)\n", st->dry_run ? "would remove" : "removed", what, path,
               cli_human_bytes(human, sizeof human, size));
    else
        printf("%s %s %s\n", st->dry_run ? "would remove" : "removed", what, path);
}

/* The repo REPO names: in --repo-type, else the one repo of any type with that id. */
static int cache_find_repo(const weft_cache_repo **out, const cache_opts *o,
                           const weft_cache_scan *s, const char *id)
{
    *out = NULL;
    static const char *const types[] = {"model", "dataset", "space"};
    int n = 0;
    for (size_t t = 0; t < 3; t++) {
        if (o->type != NULL && strcmp(o->type, types[t]) != 0)
            continue;
        const weft_cache_repo *r = weft_cache_scan_find(s, types[t], id);
        if (r != NULL) {
            *out = r;
            n++;
        }
    }
    if (n > 1)
        return cli_usage_error("cache", "%s is cached as more than one repo type: add --repo-type",
                               id);
    if (n == 0) {
        weft_err_set(WEFT_ENOTFOUND, "%s%s%s is not in the cache %s", o->type ? o->type : "",
                     o->type ? " " : "", id, s->cache_dir);
        return cli_fail(WEFT_ENOTFOUND);
    }
    return 0;
}

static int cache_rm(const cache_opts *o, const weft_cache_scan *s)
{
    if (o->n_pos == 0)
        return cli_usage_error("cache", "rm needs REPO or REPO@REV");
    /* Everything is looked up before anything is removed: a typo removes nothing. */
    const weft_cache_repo **repos = calloc((size_t)o->n_pos, sizeof *repos);
    const weft_cache_revision **revs = calloc((size_t)o->n_pos, sizeof *revs);
    int status = repos == NULL || revs == NULL
                     ? cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"))
                     : CLI_EXIT_OK;
    for (int i = 0; status == 0 && i < o->n_pos; i++) {
        char id[256];
        const char *arg = o->pos[i], *at = strchr(arg, '@');
        size_t len = at != NULL ? (size_t)(at - arg) : strlen(arg);
        if (len == 0 || len >= sizeof id || (at != NULL && at[1] == '\0')) {
            status = cli_usage_error("cache", "bad repo '%s' (want REPO or REPO@REV)", arg);
            break;
        }
        memcpy(id, arg, len);
        id[len] = '\0';
        status = cache_find_repo(&repos[i], o, s, id);
        if (status == 0 && at != NULL) {
            int rc = weft_cache_find_revision(&revs[i], repos[i], at + 1);
            if (rc < 0)
                status = cli_fail(rc);
        }
    }
    cache_report_state st = {o->dry_run};
    uint64_t total = 0;
    for (int i = 0; status == 0 && i < o->n_pos; i++) {
        const weft_cache_repo *r = repos[i];
        int *doomed = calloc(r->n_revs + 1, sizeof *doomed);
        if (doomed == NULL) {
            status = cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
            break;
        }
        /* Several targets in one repo are removed together, at its first mention. */
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= repos[j] != r;
        for (int j = i; first && j < o->n_pos; j++)
            for (size_t k = 0; repos[j] == r && k < r->n_revs; k++)
                doomed[k] |= revs[j] == NULL || revs[j] == &r->revs[k];
        if (!first) {
            free(doomed);
            continue;
        }
        uint64_t freed = 0;
        int rc = weft_cache_remove(&freed, s, r, doomed, 0, o->dry_run, cache_report, &st);
        free(doomed);
        if (rc < 0)
            status = cli_fail(rc);
        total += freed;
    }
    if (status == 0) {
        char human[32];
        printf("%s %s\n", o->dry_run ? "would free" : "freed",
               cli_human_bytes(human, sizeof human, total));
    }
    free(repos);
    free(revs);
    return status;
}

static int cache_prune(const cache_opts *o, const weft_cache_scan *s)
{
    if (o->n_pos > 0)
        return cli_usage_error("cache", "prune takes no arguments ('%s')", o->pos[0]);
    int64_t age = -1;
    if (o->older_than != NULL) {
        age = cache_parse_age(o->older_than);
        if (age < 0)
            return cli_usage_error("cache",
                                   "bad --older-than '%s' (want a number and s, m, h, d "
                                   "or w, like 30d)",
                                   o->older_than);
    }
    int64_t now = (int64_t)time(NULL);
    cache_report_state st = {o->dry_run};
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_repos; i++) {
        const weft_cache_repo *r = &s->repos[i];
        int *doomed = NULL;
        for (size_t k = 0; age >= 0 && k < r->n_revs; k++) {
            if (r->revs[k].last_used >= now - age)
                continue;
            if (doomed == NULL && (doomed = calloc(r->n_revs, sizeof *doomed)) == NULL)
                return cli_fail(weft_err_set(WEFT_ENOMEM, "out of memory"));
            doomed[k] = 1;
        }
        uint64_t freed = 0;
        int rc = weft_cache_remove(&freed, s, r, doomed, now - 3600, o->dry_run, cache_report, &st);
        free(doomed);
        if (rc < 0)
            return cli_fail(rc);
        total += freed;
    }
    char human[32];
    printf("%s %s\n", o->dry_run ? "would free" : "freed",
           cli_human_bytes(human, sizeof human, total));
    return CLI_EXIT_OK;
}

/* The cache folder: --cache-dir, else the one huggingface_hub would use. */
static int cache_dir_resolve(char **out, const cache_opts *o)
{
    if (o->cache_dir != NULL) {
        *out = strdup(o->cache_dir);
        return *out != NULL ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    weft_client_config cfg;
    int rc = weft_client_config_load(&cfg, NULL, NULL);
    if (rc < 0)
        return rc;
    *out = cfg.hub_cache;
    cfg.hub_cache = NULL;
    weft_client_config_dispose(&cfg);
    return 0;
}

int cmd_cache(int argc, char **argv)
{
    cache_opts o;
    int status = cache_parse(&o, argc, argv);
    if (status != 0)
        return status < 0 ? CLI_EXIT_OK : status;
    int is_ls = strcmp(o.sub, "ls") == 0, is_rm = strcmp(o.sub, "rm") == 0;
    int is_prune = strcmp(o.sub, "prune") == 0;
    if (!is_ls && !is_rm && !is_prune)
        return cli_usage_error("cache", "unknown subcommand '%s' (ls, rm or prune)", o.sub);
    if (o.json && !is_ls)
        return cli_usage_error("cache", "--json is for ls");
    if (o.dry_run && is_ls)
        return cli_usage_error("cache", "--dry-run is for rm and prune");
    if (o.older_than != NULL && !is_prune)
        return cli_usage_error("cache", "--older-than is for prune");
    char *dir = NULL;
    weft_cache_scan *s = NULL;
    int rc = cache_dir_resolve(&dir, &o);
    if (rc == 0)
        rc = weft_cache_scan_dir(&s, dir, is_ls ? o.type : NULL);
    free(dir);
    if (rc < 0)
        return cli_fail(rc);
    status = is_ls ? cache_ls(&o, s) : is_rm ? cache_rm(&o, s) : cache_prune(&o, s);
    weft_cache_scan_free(s);
    return status;
}
