/* What the server reads from tensor files: the `safetensors` and `gguf` fields of model info, and
 * the tensor diff of two revisions (Weft's own endpoint, docs/http-api.md).
 *
 * Model info (specs/hf-hub-api.md §4.2): parameter counts from the headers of the revision's
 * tensor files.
 * Which files count is what the official clients count (@huggingface/hub's
 * parseSafetensorsMetadata): the root `model.safetensors`, else the shards that the root
 * `model.safetensors.index.json` names in its weight_map; other .safetensors files (variants such
 * as model.bf16.safetensors, adapters) do not add to the model's size. `safetensors` is
 * {parameters: {dtype: n}, total}; `gguf` is {total, architecture, context_length} of the first
 * *.gguf file in tree order. Headers are read through weft_tensor_header_read: only their bytes,
 * straight from the chunk store for LFS files (a range read, chunk hashes checked) or from git
 * for ordinary blobs. A file that cannot be read leaves its field out rather than sending a
 * partial shape (the clients require both keys when the field is present), and is logged. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "weft/log.h"
#include "weft/sha256.h"
#include "weft/tensor_diff.h"
#include "weft/tensor_header.h"

#define SUMMARY_MAX_SHARDS 4096         /* shards an index may name */
#define SUMMARY_MAX_BLOB (64ull << 20)  /* a tensor file kept as an ordinary git blob */

/* ---- reading a header from the store or from a blob --------------------------------------- */

typedef struct copy_ctx {
    uint8_t *dst;
    size_t done, cap;
} copy_ctx;

static int copy_cb(const uint8_t *p, size_t n, void *payload)
{
    copy_ctx *c = payload;
    if (n > c->cap - c->done)
        n = c->cap - c->done;
    memcpy(c->dst + c->done, p, n);
    c->done += n;
    return 0;
}

typedef struct store_src {
    weft_store *st;
    weft_hash file;
} store_src;

static int store_read(void *dst, size_t len, uint64_t offset, void *payload)
{
    store_src *s = payload;
    copy_ctx c = {dst, 0, len};
    int rc = weft_store_read(s->st, &s->file, offset, len, 0, copy_cb, &c);
    if (rc == 0 && c.done != len)
        rc = weft_err_set(WEFT_ECORRUPT, "short read of a stored file");
    return rc;
}

typedef struct blob_src {
    const uint8_t *p;
    size_t len;
} blob_src;

static int blob_read(void *dst, size_t len, uint64_t offset, void *payload)
{
    blob_src *b = payload;
    if (offset > b->len || len > b->len - offset)
        return weft_err_set(WEFT_ECORRUPT, "read past the end of a blob");
    memcpy(dst, b->p + offset, len);
    return 0;
}

/* The bytes of one repo file, wherever they are: the chunk store (LFS files) or a git blob read
 * into memory (ordinary files, up to SUMMARY_MAX_BLOB). */
typedef struct file_src {
    store_src store;
    blob_src blob;
    uint8_t *blob_data;
    uint64_t size;
    weft_tensor_read_fn read;
    void *payload;
} file_src;

static int file_src_open(file_src *fs, hub *h, weft_repo *git, const weft_repo_entry *e)
{
    memset(fs, 0, sizeof *fs);
    if (e->is_lfs) {
        weft_store *st = hub_store(h);
        if (!st)
            return WEFT_EIO;
        char hex[65];
        weft_hex_encode(hex, e->lfs_sha256, 32);
        weft_store_file f;
        int rc = weft_store_lookup(st, hex, &f);
        if (rc)
            return rc;
        fs->store = (store_src){st, f.xet_hash};
        fs->size = f.size;
        fs->read = store_read;
        fs->payload = &fs->store;
        return 0;
    }
    size_t len = 0;
    int rc = weft_repo_blob_read(git, &e->oid, SUMMARY_MAX_BLOB, &fs->blob_data, &len);
    if (rc)
        return rc;
    fs->blob = (blob_src){fs->blob_data, len};
    fs->size = len;
    fs->read = blob_read;
    fs->payload = &fs->blob;
    return 0;
}

static void file_src_close(file_src *fs)
{
    free(fs->blob_data);
    fs->blob_data = NULL;
}

/* Reads the header of one repo file, wherever its bytes are. */
static int entry_header(hub *h, weft_repo *git, const weft_repo_entry *e, weft_tensor_header *out)
{
    file_src fs;
    int rc = file_src_open(&fs, h, git, e);
    if (rc == 0)
        rc = weft_tensor_header_read(out, fs.size, e->path, fs.read, fs.payload);
    file_src_close(&fs);
    return rc;
}

/* ---- the fields --------------------------------------------------------------------------- */

/* Adds the parameter counts of the safetensors file at `path`; < 0 if it cannot be read. */
static int count_file(hub *h, weft_repo *git, const weft_oid *commit, const char *path,
                      weft_tensor_param_sum *c)
{
    weft_repo_entry e;
    int rc = weft_repo_stat(git, commit, path, &e);
    if (rc == 0 && e.is_dir)
        rc = weft_err_set(WEFT_ENOTFOUND, "%s is a directory", path);
    weft_tensor_header th = {0};
    if (rc == 0)
        rc = entry_header(h, git, &e, &th);
    if (rc == 0 && !th.st)
        rc = weft_err_set(WEFT_ECORRUPT, "%s is not a safetensors file", path);
    if (rc == 0)
        weft_tensor_param_sum_add(c, &th);
    weft_tensor_header_dispose(&th);
    return rc;
}

/* The shards the index names (each once), counted. */
static int count_index(hub *h, weft_repo *git, const weft_oid *commit, const weft_repo_entry *e,
                       weft_tensor_param_sum *c)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = e->is_lfs ? weft_err_set(WEFT_EINVALID, "%s is an LFS file", e->path)
                       : weft_repo_blob_read(git, &e->oid, SUMMARY_MAX_BLOB, &data, &len);
    json_t *idx = rc == 0 ? json_loadb((const char *)data, len, 0, NULL) : NULL;
    free(data);
    json_t *map = json_object_get(idx, "weight_map");
    if (rc == 0 && !json_is_object(map))
        rc = weft_err_set(WEFT_ECORRUPT, "%s has no weight_map object", e->path);
    json_t *seen = json_object();
    const char *tensor;
    json_t *shard;
    json_object_foreach(map, tensor, shard)
    {
        const char *name = json_string_value(shard);
        if (rc || !name)
            break;
        if (json_object_get(seen, name))
            continue;
        if (json_object_size(seen) >= SUMMARY_MAX_SHARDS || strstr(name, "..")) {
            rc = weft_err_set(WEFT_ECORRUPT, "%s: bad or too many shards", e->path);
            break;
        }
        json_object_set_new(seen, name, json_true());
        rc = count_file(h, git, commit, name, c);
    }
    json_decref(seen);
    json_decref(idx);
    return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

typedef struct gguf_find {
    weft_repo_entry e;
    char path[1024];
    int found;
} gguf_find;

static int find_gguf(const weft_repo_entry *e, void *payload)
{
    gguf_find *g = payload;
    if (e->is_dir || !has_suffix(e->path, ".gguf") || strlen(e->path) >= sizeof g->path)
        return 0;
    g->e = *e;
    snprintf(g->path, sizeof g->path, "%s", e->path);
    g->e.path = g->path;
    g->found = 1;
    return 1; /* the first one */
}

/* {total, architecture, context_length} of a GGUF header (the last two when present). */
static json_t *gguf_json(const weft_tensor_header *th)
{
    weft_tensor_param_count got[WEFT_TENSOR_MAX_DTYPES];
    uint64_t total;
    (void)weft_tensor_header_params(th, got, &total);
    json_t *o = json_pack("{s:I}", "total", (json_int_t)total);
    const weft_gguf_value *arch = weft_gguf_find(th->gguf, "general.architecture");
    if (o && arch && arch->type == WEFT_GGUF_STRING && arch->v.str.len < 64) {
        json_object_set_new(o, "architecture",
                            json_stringn(arch->v.str.p, (size_t)arch->v.str.len));
        char key[96];
        snprintf(key, sizeof key, "%s.context_length", arch->v.str.p);
        const weft_gguf_value *ctx = weft_gguf_find(th->gguf, key);
        if (ctx && (ctx->type == WEFT_GGUF_UINT32 || ctx->type == WEFT_GGUF_UINT64) &&
            ctx->v.u <= (uint64_t)INT64_MAX)
            json_object_set_new(o, "context_length", json_integer((json_int_t)ctx->v.u));
    }
    return o;
}

void hf_model_summary(hub *h, weft_repo *git, const weft_oid *commit, json_t *info)
{
    weft_tensor_param_sum c = {0};
    weft_repo_entry idx;
    int rc = count_file(h, git, commit, "model.safetensors", &c);
    if (rc == WEFT_ENOTFOUND &&
        weft_repo_stat(git, commit, "model.safetensors.index.json", &idx) == 0 && !idx.is_dir)
        rc = count_index(h, git, commit, &idx, &c);
    if (rc == 0) {
        json_t *params = json_object();
        for (size_t i = 0; i < c.n; i++)
            json_object_set_new(params, c.by[i].dtype, json_integer((json_int_t)c.by[i].count));
        json_object_set_new(info, "safetensors", json_pack("{s:o,s:I}", "parameters", params,
                                                           "total", (json_int_t)c.total));
    } else if (rc != WEFT_ENOTFOUND) {
        weft_log_warn("model info: safetensors: %s", weft_err_last());
    }
    gguf_find g = {0};
    if (weft_repo_list(git, commit, "", 1, find_gguf, &g) < 0 || !g.found)
        return;
    weft_tensor_header th = {0};
    if (entry_header(h, git, &g.e, &th) == 0 && th.gguf)
        json_object_set_new(info, "gguf", gguf_json(&th));
    else
        weft_log_warn("model info: gguf: %s", weft_err_last());
    weft_tensor_header_dispose(&th);
}

/* ---- tensor diff of two revisions ----------------------------------------------------------- */

typedef struct tree_map {
    json_t *files; /* path -> blob id (hex) */
    const char *only; /* NULL, or the one path wanted */
} tree_map;

static int map_entry(const weft_repo_entry *e, void *payload)
{
    tree_map *m = payload;
    if (e->is_dir || (m->only && strcmp(m->only, e->path) != 0))
        return 0;
    char oid[41];
    weft_oid_to_hex(oid, &e->oid);
    return json_object_set_new(m->files, e->path, json_string(oid)) ? WEFT_ENOMEM : 0;
}

/* The tensor diff of one safetensors file present at both commits, as weft_tdiff_to_json gives
 * it; a file that cannot be compared gets {"error": message} instead. */
static json_t *file_tensor_diff(hub *h, weft_repo *git, const weft_oid *ca, const weft_oid *cb,
                                const char *path)
{
    weft_repo_entry ea, eb;
    file_src sa = {0}, sb = {0};
    weft_tensor_header ha = {0}, hb = {0};
    weft_tdiff *d = NULL;
    json_t *out = NULL;
    int rc = weft_repo_stat(git, ca, path, &ea);
    if (rc == 0)
        rc = weft_repo_stat(git, cb, path, &eb);
    if (rc == 0)
        rc = file_src_open(&sa, h, git, &ea);
    if (rc == 0)
        rc = file_src_open(&sb, h, git, &eb);
    if (rc == 0)
        rc = weft_tensor_header_read(&ha, sa.size, path, sa.read, sa.payload);
    if (rc == 0)
        rc = weft_tensor_header_read(&hb, sb.size, path, sb.read, sb.payload);
    if (rc == 0 && (!ha.st || !hb.st))
        rc = weft_err_set(WEFT_EINVALID, "%s: not a safetensors file at both revisions", path);
    if (rc == 0)
        rc = weft_tdiff_plan(&d, ha.st, hb.st);
    if (rc == 0)
        rc = weft_tdiff_run(d, sa.read, sa.payload, sb.read, sb.payload);
    if (rc == 0)
        rc = weft_tdiff_to_json(&out, d);
    if (rc)
        out = json_pack("{s:s}", "error", weft_err_last());
    weft_tdiff_free(d);
    weft_tensor_header_dispose(&ha);
    weft_tensor_header_dispose(&hb);
    file_src_close(&sa);
    file_src_close(&sb);
    return out;
}

static json_t *file_json(const char *path, const char *status, json_t *tensors)
{
    json_t *o = json_pack("{s:s,s:s}", "path", path, "status", status);
    if (o && tensors)
        json_object_update(o, tensors);
    json_decref(tensors);
    return o;
}

/* GET /api/{T}/NS/NAME/tensor-diff/{A}...{B}[?path=P] */
void hf_tensor_diff(weft_http_req *req)
{
    hub_route *rt = hub_route_of(req);
    char *sep = rt->rev ? strstr(rt->rev, "...") : NULL;
    if (!sep || sep == rt->rev || !sep[3]) {
        weft_http_respond_error(req, 400, NULL, "give two revisions: tensor-diff/{a}...{b}");
        return;
    }
    *sep = '\0';
    const char *rev_a = rt->rev, *rev_b = sep + 3;
    const char *only = weft_http_req_query(req, "path");
    hub_repo r;
    if (hub_repo_open(rt->h, req, rt->type, rt->ns, rt->name, HUB_READ, &r) < 0)
        return;
    weft_oid ca, cb;
    if (hub_resolve_rev(req, &r, rev_a, &ca, NULL, 0) < 0 ||
        hub_resolve_rev(req, &r, rev_b, &cb, NULL, 0) < 0) {
        hub_repo_close(&r);
        return;
    }
    tree_map ma = {json_object(), only}, mb = {json_object(), only};
    int rc = weft_repo_list(r.git, &ca, "", 1, map_entry, &ma);
    if (rc >= 0)
        rc = weft_repo_list(r.git, &cb, "", 1, map_entry, &mb);
    if (rc >= 0 && only && !json_object_get(ma.files, only) && !json_object_get(mb.files, only))
        rc = weft_err_set(WEFT_ENOTFOUND, "%s is at neither revision", only);
    json_t *files = json_array();
    size_t count[4] = {0}; /* added, removed, changed, identical */
    const char *path;
    json_t *oid;
    json_object_foreach(rc >= 0 ? ma.files : NULL, path, oid)
    {
        json_t *other = json_object_get(mb.files, path);
        int same = other && strcmp(json_string_value(oid), json_string_value(other)) == 0;
        size_t n = strlen(path);
        int tensors = other && n > 12 && strcmp(path + n - 12, ".safetensors") == 0;
        count[!other ? 1 : same ? 3 : 2]++;
        if (same && !only)
            continue;
        json_array_append_new(files, file_json(path, !other ? "removed"
                                                     : same ? "identical"
                                                            : "changed",
                                               tensors ? file_tensor_diff(rt->h, r.git, &ca, &cb,
                                                                          path)
                                                       : NULL));
    }
    json_object_foreach(rc >= 0 ? mb.files : NULL, path, oid)
    {
        if (json_object_get(ma.files, path))
            continue;
        count[0]++;
        json_array_append_new(files, file_json(path, "added", NULL));
    }
    if (rc < 0) {
        weft_http_respond_error(req, rc == WEFT_ENOTFOUND ? 404 : 500,
                                rc == WEFT_ENOTFOUND ? "EntryNotFound" : NULL, "%s",
                                weft_err_last());
    } else {
        char sa[41], sb[41];
        weft_oid_to_hex(sa, &ca);
        weft_oid_to_hex(sb, &cb);
        json_t *o = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:O,s:{s:I,s:I,s:I,s:I}}", "a", "revision",
                              rev_a, "sha", sa, "b", "revision", rev_b, "sha", sb, "files", files,
                              "summary", "added", (json_int_t)count[0], "removed",
                              (json_int_t)count[1], "changed", (json_int_t)count[2], "identical",
                              (json_int_t)count[3]);
        weft_http_respond_json(req, 200, o);
    }
    json_decref(files);
    json_decref(ma.files);
    json_decref(mb.files);
    hub_repo_close(&r);
}
