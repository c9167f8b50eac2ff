/* Xet reconstruction answers (include/weft/xet_recon.h): jansson parses the text, then the fetch
 * entries are read (they are what terms point at), then the terms, with every bound checked. */
#include "weft/xet_recon.h"

#include <stdlib.h>
#include <string.h>

#include "weft/xet_compress.h"
#include "weft/xorb.h"

static int recon_u64(uint64_t *out, json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* {"start": a, "end": b} of a chunk range [a, b) (or of a byte range [a, b]). */
static int recon_range(uint64_t *a, uint64_t *b, json_t *r)
{
    return recon_u64(a, json_object_get(r, "start")) < 0 ||
                   recon_u64(b, json_object_get(r, "end")) < 0
               ? -1
               : 0;
}

static int recon_hash(weft_hash *out, const char *hex)
{
    return hex != NULL && weft_xet_hash_from_hex(out, hex, strlen(hex)) == 0 ? 0 : -1;
}

/* fetch_info: {xorb hex: [{"url", "range": chunks, "url_range": bytes}, ...], ...}. */
static int recon_entries(weft_xet_recon *r, json_t *info)
{
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(info, key, v)
    {
        if (!json_is_array(v))
            return weft_err_set(WEFT_EINVALID, "xet reconstruction: fetch_info.%.80s is no array",
                                key);
        n += json_array_size(v);
    }
    r->entries = calloc(n ? n : 1, sizeof *r->entries);
    if (r->entries == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    json_object_foreach(info, key, v)
    {
        weft_hash xorb;
        if (recon_hash(&xorb, key) < 0)
            return weft_err_set(WEFT_EINVALID, "xet reconstruction: bad xorb '%.80s'", key);
        size_t i;
        json_t *f;
        json_array_foreach(v, i, f)
        {
            weft_xet_recon_entry *e = &r->entries[r->n_entries];
            uint64_t a, b, ua, ub;
            e->url = json_string_value(json_object_get(f, "url"));
            if (recon_range(&a, &b, json_object_get(f, "range")) < 0 ||
                recon_range(&ua, &ub, json_object_get(f, "url_range")) < 0 || e->url == NULL ||
                a >= b || b > WEFT_XORB_MAX_CHUNKS || ua > ub ||
                ub - ua >=
                    (b - a) * (uint64_t)(WEFT_XORB_CHUNK_HEADER_LEN + WEFT_XORB_MAX_COMPRESSED_LEN))
                return weft_err_set(WEFT_EINVALID,
                                    "xet reconstruction: bad fetch entry %zu of %.80s", i, key);
            e->xorb = xorb;
            e->a = (uint32_t)a;
            e->b = (uint32_t)b;
            e->ua = ua;
            e->ub = ub;
            r->n_entries++;
        }
    }
    return 0;
}

/* terms: [{"hash", "range": chunks, "unpacked_length"}, ...], laid out from `pos` on. */
static int recon_terms(weft_xet_recon *r, json_t *terms, uint64_t pos, uint64_t end)
{
    r->n_terms = json_array_size(terms);
    r->terms = calloc(r->n_terms ? r->n_terms : 1, sizeof *r->terms);
    if (r->terms == NULL)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(terms, i, v)
    {
        weft_xet_recon_term *t = &r->terms[i];
        uint64_t a, b, raw;
        if (recon_hash(&t->xorb, json_string_value(json_object_get(v, "hash"))) < 0 ||
            recon_range(&a, &b, json_object_get(v, "range")) < 0 ||
            recon_u64(&raw, json_object_get(v, "unpacked_length")) < 0 || a >= b ||
            b > WEFT_XORB_MAX_CHUNKS || raw > (b - a) * (uint64_t)WEFT_XET_MAX_CHUNK_LEN)
            return weft_err_set(WEFT_EINVALID, "xet reconstruction: bad term %zu", i);
        t->a = (uint32_t)a;
        t->b = (uint32_t)b;
        t->raw_len = raw;
        t->file_pos = pos;
        pos += raw; /* no overflow: at most 1 GiB per term, and the body is bounded */
        t->entry = r->n_entries;
        for (size_t k = 0; k < r->n_entries && t->entry == r->n_entries; k++) {
            const weft_xet_recon_entry *e = &r->entries[k];
            if (weft_hash_eq(&e->xorb, &t->xorb) && e->a <= t->a && t->b <= e->b)
                t->entry = k;
        }
        if (t->entry == r->n_entries)
            return weft_err_set(WEFT_EINVALID, "xet reconstruction: no fetch entry holds term %zu",
                                i);
    }
    if (pos < end)
        return weft_err_set(WEFT_EINVALID,
                            "xet reconstruction: its terms end at byte %llu, before %llu",
                            (unsigned long long)pos, (unsigned long long)end);
    return 0;
}

int weft_xet_recon_parse(weft_xet_recon *out, const char *text, size_t len, uint64_t start,
                         uint64_t end)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    out->root = json_loadb(text, len, 0, &jerr);
    if (out->root == NULL)
        return weft_err_set(WEFT_EINVALID, "xet reconstruction: bad JSON: %s", jerr.text);
    json_t *terms = json_object_get(out->root, "terms");
    json_t *info = json_object_get(out->root, "fetch_info");
    int rc = 0;
    if (recon_u64(&out->offset_into_first, json_object_get(out->root, "offset_into_first_range")) <
            0 ||
        !json_is_array(terms) || !json_is_object(info))
        rc = weft_err_set(WEFT_EINVALID, "xet reconstruction: expected offset_into_first_range, "
                                         "terms and fetch_info");
    else if (out->offset_into_first > start)
        rc = weft_err_set(WEFT_EINVALID,
                          "xet reconstruction: offset_into_first_range %llu is past the requested "
                          "start",
                          (unsigned long long)out->offset_into_first);
    if (rc == 0)
        rc = recon_entries(out, info);
    if (rc == 0)
        rc = recon_terms(out, terms, start - out->offset_into_first, end);
    if (rc < 0)
        weft_xet_recon_dispose(out);
    return rc;
}

void weft_xet_recon_dispose(weft_xet_recon *r)
{
    json_decref(r->root);
    free(r->terms);
    free(r->entries);
    memset(r, 0, sizeof *r);
}
