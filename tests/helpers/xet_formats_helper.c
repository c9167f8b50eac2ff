/* Test helper for tests/integration/xet_formats.test.mjs: runs Weft's xorb and shard codecs on
 * files so that the node test can compare them with what the official JS client produces.
 *
 *   xet_formats_helper xorb-parse XORB EXPECTED_HEX RAW_OUT
 *       verify a client xorb, write its unpacked bytes to RAW_OUT, print its chunks as JSON;
 *       also rebuilds the footer and checks the stored form reads back from its tail
 *   xet_formats_helper xorb-build SCHEME RAW LENGTHS OUT
 *       build a xorb from RAW cut at the comma-separated LENGTHS with scheme none, lz4,
 *       bg4-lz4 or auto; write the client form (no footer) to OUT; print its hash
 *   xet_formats_helper shard-parse SHARD OUT_NO_FOOTER
 *       parse a shard, apply the upload rules, recompute verification and file hashes from its
 *       xorb listings, print it as JSON; write it re-serialized without footer to OUT_NO_FOOTER
 *   xet_formats_helper shard-dedup XORB OUT
 *       the shard a CAS returns for a global-dedup query: the xorb's chunk listing with HMAC-keyed
 *       chunk hashes and a footer (key 0x5a..5a, created 1, expiry 2^40)
 *
 * Errors print {"error": "<name>", "message": "..."} and exit 1. Not part of the product. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/shard.h"
#include "weft/xorb.h"

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc(n > 0 ? (size_t)n : 1);
    *len = (size_t)n;
    size_t got = n > 0 ? fread(*out, 1, (size_t)n, f) : 0;
    fclose(f);
    return got == (size_t)n ? 0 : -1;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t put = n ? fwrite(p, 1, n, f) : 0;
    return (fclose(f) == 0 && put == n) ? 0 : -1;
}

static json_t *hex(const weft_hash *h)
{
    char s[WEFT_HASH_HEX_LEN + 1];
    weft_xet_hash_to_hex(s, h);
    return json_string(s);
}

static int fail(int rc)
{
    json_t *o = json_pack("{s:s, s:s}", "error", weft_err_name(rc), "message", weft_err_last());
    json_dumpf(o, stdout, 0);
    putchar('\n');
    json_decref(o);
    return 1;
}

static int print(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
    return 0;
}

static int cmd_xorb_parse(const char *path, const char *want_hex, const char *raw_out)
{
    uint8_t *p = NULL;
    size_t len = 0;
    weft_hash want;
    weft_xorb_footer *f = NULL, *g = NULL;
    weft_buf raw, stored;
    weft_buf_init(&raw, (size_t)1 << 30);
    weft_buf_init(&stored, (size_t)1 << 30);
    int rc = read_file(path, &p, &len) == 0 ? 0 : weft_err_set(WEFT_EIO, "cannot read %s", path);
    if (rc == 0)
        rc = weft_xet_hash_from_hex(&want, want_hex, strlen(want_hex));
    if (rc == 0)
        rc = weft_xorb_parse_client(&f, p, len, &want);
    if (rc == 0)
        len = f->phys_off[f->n_chunks]; /* a trailing storage footer is not kept */
    if (rc == 0)
        rc = weft_xorb_chunks_decode(&raw, NULL, p, len);
    /* The stored form: the bytes, then the rebuilt footer; read back from the tail alone. */
    if (rc == 0)
        rc = weft_buf_append(&stored, p, len);
    if (rc == 0)
        rc = weft_xorb_footer_serialize(&stored, f);
    if (rc == 0)
        rc = weft_xorb_footer_parse(&g, stored.data + len, stored.len - len, stored.len);
    if (rc == 0 && write_file(raw_out, raw.data, raw.len) != 0)
        rc = weft_err_set(WEFT_EIO, "cannot write %s", raw_out);
    if (rc < 0) {
        free(p);
        weft_xorb_footer_free(f);
        weft_buf_dispose(&raw);
        weft_buf_dispose(&stored);
        return fail(rc);
    }
    json_t *chunks = json_array();
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        const uint8_t *c = p + f->phys_off[i];
        json_array_append_new(
            chunks, json_pack("{s:o, s:I, s:I, s:i, s:b}", "hash", hex(&f->chunk_hashes[i]),
                              "raw_len", (json_int_t)(f->raw_off[i + 1] - f->raw_off[i]),
                              "phys_len", (json_int_t)(f->phys_off[i + 1] - f->phys_off[i]),
                              "scheme", (int)c[4], "tail_ok",
                              g->phys_off[i + 1] == f->phys_off[i + 1] &&
                                  weft_hash_eq(&g->chunk_hashes[i], &f->chunk_hashes[i])));
    }
    json_t *o =
        json_pack("{s:o, s:o, s:I, s:I}", "hash", hex(&f->hash), "chunks", chunks, "raw_len",
                  (json_int_t)raw.len, "footer_len", (json_int_t)(stored.len - len));
    free(p);
    weft_xorb_footer_free(f);
    weft_xorb_footer_free(g);
    weft_buf_dispose(&raw);
    weft_buf_dispose(&stored);
    return print(o);
}

static int cmd_xorb_build(const char *scheme_name, const char *raw_path, const char *lengths,
                          const char *out_path)
{
    uint8_t *p = NULL;
    size_t len = 0, at = 0;
    weft_xorb_builder *b = NULL;
    weft_xorb_built x;
    int scheme = weft_xet_scheme_from_name(scheme_name);
    int rc =
        read_file(raw_path, &p, &len) == 0 ? 0 : weft_err_set(WEFT_EIO, "cannot read %s", raw_path);
    if (rc == 0)
        rc = weft_xorb_builder_new(&b, scheme);
    for (const char *s = lengths; rc == 0 && *s != '\0';) {
        char *end;
        unsigned long n = strtoul(s, &end, 10);
        if (end == s || n > len - at) {
            rc = weft_err_set(WEFT_EINVALID, "bad length list at '%s'", s);
            break;
        }
        rc = weft_xorb_builder_add(b, NULL, p + at, n);
        at += n;
        s = *end == ',' ? end + 1 : end;
    }
    if (rc == 0)
        rc = weft_xorb_builder_finish(b, &x);
    if (rc == 0 && write_file(out_path, x.bytes, x.data_len) != 0)
        rc = weft_err_set(WEFT_EIO, "cannot write %s", out_path);
    free(p);
    if (rc < 0) {
        weft_xorb_builder_free(b);
        return fail(rc);
    }
    json_t *o = json_pack("{s:o, s:I}", "hash", hex(&x.hash), "len", (json_int_t)x.data_len);
    weft_xorb_builder_free(b);
    return print(o);
}

/* Chunk hashes of a term, from this shard's own listing of its xorb (NULL if not listed). */
static const weft_shard_xorb *find_xorb(const weft_shard *s, const weft_hash *h)
{
    for (uint32_t i = 0; i < s->n_xorbs; i++)
        if (weft_hash_eq(&s->xorbs[i].hash, h))
            return &s->xorbs[i];
    return NULL;
}

static json_t *file_json(const weft_shard *s, const weft_shard_file *f)
{
    json_t *terms = json_array(), *ver = json_array();
    int ver_ok = f->verification != NULL;
    size_t n_nodes = 0;
    weft_xet_node *nodes = NULL;
    for (uint32_t j = 0; j < f->n_terms; j++) {
        const weft_shard_term *t = &f->terms[j];
        json_array_append_new(terms,
                              json_pack("{s:o, s:I, s:I, s:I}", "xorb", hex(&t->xorb_hash), "start",
                                        (json_int_t)t->chunk_start, "end", (json_int_t)t->chunk_end,
                                        "raw_len", (json_int_t)t->raw_len));
        if (f->verification != NULL)
            json_array_append_new(ver, hex(&f->verification[j]));
        const weft_shard_xorb *x = find_xorb(s, &t->xorb_hash);
        if (x == NULL || t->chunk_end > x->n_chunks || t->chunk_start >= t->chunk_end) {
            ver_ok = 0;
            continue;
        }
        uint32_t k = t->chunk_end - t->chunk_start;
        weft_hash *hs = malloc(k * sizeof *hs);
        nodes = realloc(nodes, (n_nodes + k) * sizeof *nodes);
        for (uint32_t c = 0; c < k; c++) {
            hs[c] = x->chunks[t->chunk_start + c].hash;
            nodes[n_nodes].hash = hs[c];
            nodes[n_nodes++].size = x->chunks[t->chunk_start + c].raw_len;
        }
        weft_hash v;
        weft_xet_verification_hash(&v, hs, k);
        if (f->verification != NULL && !weft_hash_eq(&v, &f->verification[j]))
            ver_ok = 0;
        free(hs);
    }
    weft_hash fh;
    json_t *computed = json_null();
    if (weft_xet_file_hash(&fh, nodes, n_nodes) == 0)
        computed = hex(&fh);
    free(nodes);
    char sha[65] = "";
    for (int i = 0; f->has_sha256 && i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", f->sha256[i]);
    return json_pack("{s:o, s:I, s:o, s:o, s:s?, s:b, s:o}", "hash", hex(&f->hash), "flags",
                     (json_int_t)f->flags, "terms", terms, "verification", ver, "sha256",
                     f->has_sha256 ? sha : NULL, "verification_ok", ver_ok, "computed_hash",
                     computed);
}

static int cmd_shard_parse(const char *path, const char *out_path)
{
    uint8_t *p = NULL;
    size_t len = 0;
    weft_shard *s = NULL;
    weft_buf out;
    weft_buf_init(&out, (size_t)1 << 30);
    int rc = read_file(path, &p, &len) == 0 ? 0 : weft_err_set(WEFT_EIO, "cannot read %s", path);
    if (rc == 0)
        rc = weft_shard_parse(&s, p, len);
    if (rc == 0)
        rc = weft_shard_check_upload(s);
    if (rc == 0)
        rc = weft_shard_serialize(&out, s, 0);
    if (rc == 0 && write_file(out_path, out.data, out.len) != 0)
        rc = weft_err_set(WEFT_EIO, "cannot write %s", out_path);
    free(p);
    weft_buf_dispose(&out);
    if (rc < 0) {
        weft_shard_free(s);
        return fail(rc);
    }
    json_t *files = json_array(), *xorbs = json_array();
    for (uint32_t i = 0; i < s->n_files; i++)
        json_array_append_new(files, file_json(s, &s->files[i]));
    for (uint32_t i = 0; i < s->n_xorbs; i++) {
        const weft_shard_xorb *x = &s->xorbs[i];
        json_t *chunks = json_array();
        for (uint32_t j = 0; j < x->n_chunks; j++)
            json_array_append_new(chunks,
                                  json_pack("{s:o, s:I, s:I, s:I}", "hash", hex(&x->chunks[j].hash),
                                            "raw_off", (json_int_t)x->chunks[j].raw_off, "raw_len",
                                            (json_int_t)x->chunks[j].raw_len, "flags",
                                            (json_int_t)x->chunks[j].flags));
        json_array_append_new(xorbs, json_pack("{s:o, s:I, s:I, s:I, s:o}", "hash", hex(&x->hash),
                                               "n_chunks", (json_int_t)x->n_chunks, "raw_len",
                                               (json_int_t)x->raw_len, "stored_len",
                                               (json_int_t)x->stored_len, "chunks", chunks));
    }
    json_t *o = json_pack("{s:o, s:o, s:b, s:I, s:I}", "files", files, "xorbs", xorbs, "has_footer",
                          s->has_footer, "created", (json_int_t)s->footer.created,
                          "stored_bytes_on_disk", (json_int_t)s->footer.stored_bytes_on_disk);
    weft_shard_free(s);
    return print(o);
}

static int cmd_shard_dedup(const char *xorb_path, const char *out_path)
{
    uint8_t *p = NULL;
    size_t len = 0;
    weft_xorb_footer *f = NULL;
    weft_shard *s = NULL;
    weft_shard_chunk *chunks = NULL;
    weft_buf out;
    weft_buf_init(&out, (size_t)1 << 30);
    int rc = read_file(xorb_path, &p, &len) == 0
                 ? 0
                 : weft_err_set(WEFT_EIO, "cannot read %s", xorb_path);
    if (rc == 0)
        rc = weft_xorb_parse_client(&f, p, len, NULL);
    if (rc == 0)
        rc = weft_shard_new(&s);
    if (rc == 0) {
        chunks = calloc(f->n_chunks, sizeof *chunks);
        for (uint32_t i = 0; i < f->n_chunks; i++)
            chunks[i] = (weft_shard_chunk){f->chunk_hashes[i], f->raw_off[i],
                                           f->raw_off[i + 1] - f->raw_off[i],
                                           i == 0 ? WEFT_SHARD_CHUNK_FLAG_GLOBAL_DEDUP : 0};
        rc = weft_shard_add_xorb(s, &f->hash, chunks, f->n_chunks, (uint32_t)len);
    }
    if (rc == 0) {
        uint8_t key[32];
        memset(key, 0x5a, sizeof key);
        s->footer.created = 1;
        s->footer.key_expiry = (uint64_t)1 << 40;
        weft_shard_apply_hmac(s, key);
        rc = weft_shard_serialize(&out, s, 1);
    }
    if (rc == 0 && write_file(out_path, out.data, out.len) != 0)
        rc = weft_err_set(WEFT_EIO, "cannot write %s", out_path);
    json_t *o =
        rc == 0 ? json_pack("{s:o, s:I}", "xorb", hex(&f->hash), "len", (json_int_t)out.len) : NULL;
    free(p);
    free(chunks);
    weft_xorb_footer_free(f);
    weft_shard_free(s);
    weft_buf_dispose(&out);
    return rc < 0 ? fail(rc) : print(o);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "xorb-parse") == 0)
        return cmd_xorb_parse(argv[2], argv[3], argv[4]);
    if (argc == 6 && strcmp(argv[1], "xorb-build") == 0)
        return cmd_xorb_build(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 4 && strcmp(argv[1], "shard-parse") == 0)
        return cmd_shard_parse(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "shard-dedup") == 0)
        return cmd_shard_dedup(argv[2], argv[3]);
    fprintf(stderr,
            "usage: xet_formats_helper xorb-parse|xorb-build|shard-parse|shard-dedup ...\n");
    return 2;
}
