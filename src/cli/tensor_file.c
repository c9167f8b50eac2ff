/* Reading and rendering tensor-file headers for weft inspect and weft diff
 * (src/cli/tensor_file.h). */
#include "tensor_file.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "weft/fsutil.h"

/* ---- rendering ---- */

/* Arrays longer than this are summarized (type and count) instead of listed. */
#define INSPECT_ARRAY_SHOWN 16

static void print_shape(FILE *out, const uint64_t *dims, uint32_t n)
{
    fputc('[', out);
    for (uint32_t d = 0; d < n; d++)
        fprintf(out, d ? ", %" PRIu64 : "%" PRIu64, dims[d]);
    fputc(']', out);
}

/* "[d0, d1, ...]" into buf (cut to fit). */
static void shape_text(char *buf, size_t len, const uint64_t *dims, uint32_t n)
{
    FILE *mem = fmemopen(buf, len, "w");
    buf[0] = 0;
    if (mem) {
        print_shape(mem, dims, n);
        fclose(mem);
        buf[len - 1] = 0;
    }
}

static void print_escaped(FILE *out, const char *s, uint64_t len, uint64_t max)
{
    for (uint64_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    if (len > max)
        fputs("...", out);
}

static double f32_of(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double f64_of(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void print_gguf_value(FILE *out, const weft_gguf_value *v)
{
    switch (v->type) {
    case WEFT_GGUF_UINT8:
    case WEFT_GGUF_UINT16:
    case WEFT_GGUF_UINT32:
    case WEFT_GGUF_UINT64: fprintf(out, "%" PRIu64, v->v.u); break;
    case WEFT_GGUF_INT8:
    case WEFT_GGUF_INT16:
    case WEFT_GGUF_INT32:
    case WEFT_GGUF_INT64: fprintf(out, "%" PRId64, v->v.i); break;
    case WEFT_GGUF_FLOAT32: fprintf(out, "%g", f32_of(v->v.f32_bits)); break;
    case WEFT_GGUF_FLOAT64: fprintf(out, "%g", f64_of(v->v.f64_bits)); break;
    case WEFT_GGUF_BOOL: fputs(v->v.u ? "true" : "false", out); break;
    case WEFT_GGUF_STRING:
        fputc('"', out);
        print_escaped(out, v->v.str.p, v->v.str.len, 200);
        fputc('"', out);
        break;
    case WEFT_GGUF_ARRAY:
        fprintf(out, "[%s × %" PRIu64 "]", weft_gguf_value_type_name(v->v.arr.elem_type),
                v->v.arr.n);
        if (v->v.arr.n) {
            fputs(" ", out);
            for (uint64_t i = 0; i < v->v.arr.n && i < 4; i++) {
                if (i)
                    fputs(", ", out);
                print_gguf_value(out, &v->v.arr.items[i]);
            }
            if (v->v.arr.n > 4)
                fputs(", ...", out);
        }
        break;
    default: fputs("?", out);
    }
}

static json_t *gguf_value_json(const weft_gguf_value *v)
{
    switch (v->type) {
    case WEFT_GGUF_UINT8:
    case WEFT_GGUF_UINT16:
    case WEFT_GGUF_UINT32:
    case WEFT_GGUF_UINT64:
        return v->v.u > INT64_MAX ? json_real((double)v->v.u) : json_integer((json_int_t)v->v.u);
    case WEFT_GGUF_INT8:
    case WEFT_GGUF_INT16:
    case WEFT_GGUF_INT32:
    case WEFT_GGUF_INT64: return json_integer(v->v.i);
    case WEFT_GGUF_FLOAT32: return json_real(f32_of(v->v.f32_bits));
    case WEFT_GGUF_FLOAT64: return json_real(f64_of(v->v.f64_bits));
    case WEFT_GGUF_BOOL: return json_boolean(v->v.u);
    case WEFT_GGUF_STRING: return json_stringn_nocheck(v->v.str.p, (size_t)v->v.str.len);
    case WEFT_GGUF_ARRAY: {
        if (v->v.arr.n > INSPECT_ARRAY_SHOWN)
            return json_pack("{s:s, s:I}", "array", weft_gguf_value_type_name(v->v.arr.elem_type),
                             "count", (json_int_t)v->v.arr.n);
        json_t *a = json_array();
        for (uint64_t i = 0; a && i < v->v.arr.n; i++)
            json_array_append_new(a, gguf_value_json(&v->v.arr.items[i]));
        return a;
    }
    default: return json_null();
    }
}

static json_t *dims_json(const uint64_t *dims, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t d = 0; a && d < n; d++)
        json_array_append_new(a, json_integer((json_int_t)dims[d]));
    return a;
}

static void print_count(FILE *out, const char *what, uint64_t n)
{
    fprintf(out, "  %-10s %15" PRIu64 "\n", what, n);
}

/* The --json output: indented like every command's (cli_print_json), on `out`. */
static void print_json(FILE *out, json_t *root)
{
    json_dumpf(root, out, JSON_INDENT(2));
    fputc('\n', out);
}

/* The end of a report: with root (JSON), metadata, tensors, parameters and total are added and
 * the object printed (and freed); without, the text lines of parameters per dtype and the total. */
static void render_params(FILE *out, const weft_tensor_header *th, json_t *root, json_t *meta,
                          json_t *tensors)
{
    weft_tensor_param_count by[WEFT_TENSOR_MAX_DTYPES];
    uint64_t total;
    size_t n = weft_tensor_header_params(th, by, &total);
    if (!root) {
        fputs("parameters:\n", out);
        for (size_t k = 0; k < n; k++)
            print_count(out, by[k].dtype, by[k].count);
        print_count(out, "total", total);
        return;
    }
    json_t *params = json_object();
    for (size_t k = 0; k < n; k++)
        json_object_set_new(params, by[k].dtype, json_integer((json_int_t)by[k].count));
    json_object_set_new(root, "metadata", meta);
    json_object_set_new(root, "tensors", tensors);
    json_object_set_new(root, "parameters", params);
    json_object_set_new(root, "total", json_integer((json_int_t)total));
    print_json(out, root);
    json_decref(root);
}

static int render_st(FILE *out, const weft_tensor_header *th, const char *label, int json)
{
    const weft_st_header *h = th->st;
    uint64_t file_size = th->file_size;
    if (json) {
        json_t *root =
            json_pack("{s:s, s:s, s:I, s:I}", "file", label, "format", "safetensors", "file_size",
                      (json_int_t)file_size, "header_len", (json_int_t)h->header_len);
        json_t *meta = json_object(), *tensors = json_array();
        if (!root || !meta || !tensors) {
            json_decref(root);
            json_decref(meta);
            json_decref(tensors);
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < h->n_meta; i++)
            json_object_setn_new_nocheck(
                meta, h->meta[i].key, h->meta[i].key_len,
                json_stringn_nocheck(h->meta[i].value, h->meta[i].value_len));
        for (size_t i = 0; i < h->n_tensors; i++) {
            const weft_st_tensor *t = &h->tensors[i];
            json_array_append_new(
                tensors,
                json_pack("{s:s%, s:s, s:o, s:I, s:I}", "name", t->name, t->name_len, "dtype",
                          weft_dtype_name(t->dtype), "shape", dims_json(t->shape, t->rank), "bytes",
                          (json_int_t)(t->end - t->begin), "offset", (json_int_t)t->abs_begin));
        }
        render_params(out, th, root, meta, tensors);
        return 0;
    }
    char human[32];
    fprintf(out, "%s: safetensors, %s, header %" PRIu64 " bytes, %zu tensors\n", label,
            cli_human_bytes(human, sizeof human, file_size), h->header_len, h->n_tensors);
    if (h->n_meta) {
        fputs("metadata:\n", out);
        for (size_t i = 0; i < h->n_meta; i++) {
            fputs("  ", out);
            print_escaped(out, h->meta[i].key, h->meta[i].key_len, 200);
            fputs(": ", out);
            print_escaped(out, h->meta[i].value, h->meta[i].value_len, 200);
            fputc('\n', out);
        }
    }
    if (h->n_tensors)
        fprintf(out, "tensors:\n  %-48s %-6s %-20s %12s\n", "name", "dtype", "shape", "bytes");
    for (size_t i = 0; i < h->n_tensors; i++) {
        const weft_st_tensor *t = &h->tensors[i];
        fprintf(out, "  %-48s %-6s ", t->name, weft_dtype_name(t->dtype));
        char shape[64];
        shape_text(shape, sizeof shape, t->shape, t->rank);
        fprintf(out, "%-20s %12" PRIu64 "\n", shape, t->end - t->begin);
    }
    render_params(out, th, NULL, NULL, NULL);
    return 0;
}

static int render_gguf(FILE *out, const weft_tensor_header *th, const char *label, int json)
{
    const weft_gguf *g = th->gguf;
    uint64_t file_size = th->file_size;
    if (json) {
        json_t *root =
            json_pack("{s:s, s:s, s:I, s:i, s:i, s:I}", "file", label, "format", "gguf",
                      "file_size", (json_int_t)file_size, "version", (int)g->version, "alignment",
                      (int)g->alignment, "data_offset", (json_int_t)g->data_offset);
        json_t *meta = json_object(), *tensors = json_array();
        if (!root || !meta || !tensors) {
            json_decref(root);
            json_decref(meta);
            json_decref(tensors);
            return weft_err_set(WEFT_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < g->n_kv; i++)
            json_object_setn_new_nocheck(meta, g->kv[i].key, (size_t)g->kv[i].key_len,
                                         gguf_value_json(&g->kv[i].value));
        for (size_t i = 0; i < g->n_tensors; i++) {
            const weft_gguf_tensor *t = &g->tensors[i];
            json_array_append_new(tensors, json_pack("{s:s, s:s, s:o, s:I, s:I}", "name", t->name,
                                                     "type", weft_gguf_type_name(t->type), "ne",
                                                     dims_json(t->ne, t->n_dims), "bytes",
                                                     (json_int_t)t->size, "offset",
                                                     (json_int_t)t->abs_offset));
        }
        render_params(out, th, root, meta, tensors);
        return 0;
    }
    char human[32];
    fprintf(out,
            "%s: GGUF v%" PRIu32 ", %s, alignment %" PRIu32 ", data at byte %" PRIu64
            ", %zu tensors\n",
            label, g->version, cli_human_bytes(human, sizeof human, file_size), g->alignment,
            g->data_offset, g->n_tensors);
    if (g->n_kv)
        fputs("metadata:\n", out);
    for (size_t i = 0; i < g->n_kv; i++) {
        fprintf(out, "  %s = ", g->kv[i].key);
        print_gguf_value(out, &g->kv[i].value);
        fputc('\n', out);
    }
    if (g->n_tensors)
        fprintf(out, "tensors (ne: innermost dimension first):\n  %-48s %-7s %-20s %12s\n", "name",
                "type", "ne", "bytes");
    for (size_t i = 0; i < g->n_tensors; i++) {
        const weft_gguf_tensor *t = &g->tensors[i];
        char shape[64];
        shape_text(shape, sizeof shape, t->ne, t->n_dims);
        fprintf(out, "  %-48s %-7s %-20s %12" PRIu64 "\n", t->name, weft_gguf_type_name(t->type),
                shape, t->size);
    }
    render_params(out, th, NULL, NULL, NULL);
    return 0;
}

int cli_inspect_render(FILE *out, const weft_tensor_header *h, const char *label, int json)
{
    if (h->st)
        return render_st(out, h, label, json);
    if (h->gguf)
        return render_gguf(out, h, label, json);
    return weft_err_set(WEFT_EINVALID, "%s: no header to show", label);
}
