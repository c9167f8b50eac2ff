/* weft xet: Xet formats applied to local files, without a store.
 *   weft xet chunks FILE   every chunk (offset, length, hash), then xorb and file hash
 *   weft xet hash FILE...  Xet file hash, SHA-256 and size of each file */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "weft/chunker.h"
#include "weft/sha256.h"
#include "weft/xet_hash.h"

#define XET_READ_BLOCK (1u << 20)

static void xet_help(FILE *out)
{
    fputs("usage: weft xet chunks [--json] FILE\n"
          "       weft xet hash FILE...\n"
          "\n"
          "Applies Xet's content-defined chunking and hashes to local files, exactly as\n"
          "huggingface.co's Xet storage does (use '-' for standard input).\n"
          "\n"
          "  chunks   one line per chunk: offset, length, chunk hash; then the hash of a xorb\n"
          "           holding all the chunks and the file's Xet hash. --json prints one JSON\n"
          "           object {chunks:[{hash,length}], xorb_hash, file_hash, size}.\n"
          "  hash     the Xet file hash, the SHA-256 (the Git LFS oid) and the size.\n"
          "\n"
          "examples:\n"
          "  weft xet hash model.safetensors\n"
          "  weft xet chunks --json data.bin | jq '.chunks | length'\n",
          out);
}

typedef struct xet_file_scan {
    weft_xet_node *chunks;
    size_t n_chunks, alloc;
    weft_sha256 sha;
    uint64_t size;
} xet_file_scan;

static int xet_collect(const uint8_t *data, size_t len, const weft_hash *hash, void *payload)
{
    (void)data;
    xet_file_scan *s = payload;
    if (s->n_chunks == s->alloc) {
        size_t n = s->alloc ? s->alloc * 2 : 1024;
        weft_xet_node *p = realloc(s->chunks, n * sizeof *p);
        if (p == NULL)
            return weft_err_set(WEFT_ENOMEM, "out of memory after %zu chunks", s->n_chunks);
        s->chunks = p;
        s->alloc = n;
    }
    s->chunks[s->n_chunks].hash = *hash;
    s->chunks[s->n_chunks].size = len;
    s->n_chunks++;
    return 0;
}

/* Chunks and hashes one file (or stdin for "-") into s. */
static int xet_scan_file(xet_file_scan *s, const char *path)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path);
    weft_chunker *c = NULL;
    uint8_t *block = malloc(XET_READ_BLOCK);
    int rc = weft_sha256_init(&s->sha);
    if (rc < 0)
        goto out_nosha;
    rc = weft_chunker_new(&c);
    if (rc == 0 && block == NULL)
        rc = weft_err_set(WEFT_ENOMEM, "cannot allocate a read buffer");
    while (rc == 0) {
        ssize_t r = read(fd, block, XET_READ_BLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = weft_err_sys(WEFT_EIO, errno, "read %s", path);
            break;
        }
        if (r == 0) {
            rc = weft_chunker_finish(c, xet_collect, s);
            break;
        }
        weft_sha256_update(&s->sha, block, (size_t)r);
        s->size += (uint64_t)r;
        rc = weft_chunker_feed(c, block, (size_t)r, xet_collect, s);
    }
    weft_chunker_free(c);
out_nosha:
    free(block);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

static int xet_chunks(const char *path, int json)
{
    xet_file_scan s = {0};
    weft_hash xorb, file;
    uint8_t sha[WEFT_SHA256_LEN];
    int rc = xet_scan_file(&s, path);
    if (rc < 0)
        goto out;
    weft_sha256_final(&s.sha, sha);
    rc = weft_xet_merkle_root(&xorb, s.chunks, s.n_chunks);
    if (rc == 0)
        rc = weft_xet_file_hash(&file, s.chunks, s.n_chunks);
    if (rc < 0)
        goto out;
    char hex[WEFT_HASH_HEX_LEN + 1], shahex[2 * WEFT_SHA256_LEN + 1];
    weft_hex_encode(shahex, sha, WEFT_SHA256_LEN);
    uint64_t off = 0;
    if (json)
        printf("{\"size\":%llu,\"chunks\":[", (unsigned long long)s.size);
    for (size_t i = 0; i < s.n_chunks; i++) {
        weft_xet_hash_to_hex(hex, &s.chunks[i].hash);
        if (json)
            printf("%s{\"hash\":\"%s\",\"length\":%llu}", i ? "," : "", hex,
                   (unsigned long long)s.chunks[i].size);
        else
            printf("%12llu %6llu %s\n", (unsigned long long)off,
                   (unsigned long long)s.chunks[i].size, hex);
        off += s.chunks[i].size;
    }
    weft_xet_hash_to_hex(hex, &xorb);
    if (json)
        printf("],\"xorb_hash\":\"%s\",", hex);
    else
        printf("xorb hash: %s\n", hex);
    weft_xet_hash_to_hex(hex, &file);
    if (json)
        printf("\"file_hash\":\"%s\",\"sha256\":\"%s\"}\n", hex, shahex);
    else
        printf("file hash: %s\nsha256:    %s\nchunks:    %zu\n", hex, shahex, s.n_chunks);
out:
    if (s.sha.ctx != NULL)
        weft_sha256_dispose(&s.sha);
    free(s.chunks);
    return rc;
}

static int xet_hash_one(const char *path)
{
    xet_file_scan s = {0};
    weft_hash file;
    uint8_t sha[WEFT_SHA256_LEN];
    int rc = xet_scan_file(&s, path);
    if (rc < 0)
        goto out;
    weft_sha256_final(&s.sha, sha);
    rc = weft_xet_file_hash(&file, s.chunks, s.n_chunks);
    if (rc < 0)
        goto out;
    char hex[WEFT_HASH_HEX_LEN + 1], shahex[2 * WEFT_SHA256_LEN + 1];
    weft_xet_hash_to_hex(hex, &file);
    weft_hex_encode(shahex, sha, WEFT_SHA256_LEN);
    printf("%s  %s  %llu  %s\n", hex, shahex, (unsigned long long)s.size, path);
out:
    if (s.sha.ctx != NULL)
        weft_sha256_dispose(&s.sha);
    free(s.chunks);
    return rc;
}

int cmd_xet(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        xet_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "chunks") == 0) {
        int json = 0, i = 2;
        if (i < argc && strcmp(argv[i], "--json") == 0) {
            json = 1;
            i++;
        }
        if (i != argc - 1)
            return cli_usage_error("xet", "xet chunks takes exactly one FILE");
        int rc = xet_chunks(argv[i], json);
        return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "hash") == 0) {
        if (argc < 3)
            return cli_usage_error("xet", "xet hash needs at least one FILE");
        for (int i = 2; i < argc; i++) {
            int rc = xet_hash_one(argv[i]);
            if (rc < 0)
                return cli_fail(rc);
        }
        return CLI_EXIT_OK;
    }
    return cli_usage_error("xet", "unknown xet subcommand '%s'", argv[1]);
}
