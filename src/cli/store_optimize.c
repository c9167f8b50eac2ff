/* weft store optimize: re-code a stored safetensors file with the weight codecs, optionally as
 * a delta against a base file (include/weft/store.h "weight codecs"); and the per-codec table of
 * weft store stats --by codec. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store_optimize.h"

const char store_optimize_help[] =
    "usage: weft store optimize FILE_HASH [--base BASE_HASH] [--no-delta] [--json]\n"
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
    "\n"
    "exit codes: 0 ok, 1 error (a concurrent change: run again), 2 usage or not a safetensors\n"
    "file's bad base, 3 no such file, 4 corrupt data (a bad safetensors header names the rule)\n";

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
               hex, (unsigned long long)r.file_bytes, r.chunks, r.chunks_coded,
               r.xorbs_rewritten, r.used_base ? "true" : "false",
               (unsigned long long)r.before_bytes, (unsigned long long)r.after_bytes);
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
        double ratio = st[i].stored_bytes ? (double)st[i].raw_bytes / (double)st[i].stored_bytes : 0;
        if (json) {
            printf("%s\"%s\":{\"chunks\":%llu,\"logical_bytes\":%llu,\"physical_bytes\":%llu}",
                   n++ ? "," : "", st[i].codec, (unsigned long long)st[i].chunks,
                   (unsigned long long)st[i].raw_bytes, (unsigned long long)st[i].stored_bytes);
        } else {
            char a[32], b[32];
            printf("%-13s %10llu %14s %14s %7.2fx\n", st[i].codec,
                   (unsigned long long)st[i].chunks, cli_human_bytes(a, sizeof a, st[i].raw_bytes),
                   cli_human_bytes(b, sizeof b, st[i].stored_bytes), ratio);
        }
    }
    if (json)
        printf("}\n");
    return CLI_EXIT_OK;
}
