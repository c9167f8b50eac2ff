/* Model cards: the YAML front matter of a README as JSON (include/weft/repo.h; the Hub's
 * cardData, specs/hf-hub-api.md §4.2).
 *
 * The block is found the way huggingface_hub finds it (optional leading whitespace, "---", line
 * breaks, the text, line breaks, "---" ending its line or the file). libyaml's event parser
 * drives a stack of jansson containers. Scalars follow the YAML 1.2 core schema: plain null,
 * booleans, ints and finite floats become JSON literals; quoted and block scalars, !!str, and
 * everything else stay strings (".inf" and ".nan" too: JSON has no such numbers).
 *
 * Bounds against hostile READMEs: the block is at most 1 MiB, nesting at most 64 deep, and at most
 * 100,000 nodes counting each alias as the full size of what it names (so "billion laughs" stops
 * at the limit instead of expanding), with the same rule for scalar bytes (16 MiB). Aliases share
 * the anchored JSON value rather than copying it; an alias to an anchor not yet complete (a cycle)
 * is an unknown alias. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <yaml.h>

#include "repo_internal.h"

#define CARD_INPUT_MAX (1u << 20)
#define CARD_DEPTH_MAX 64
#define CARD_NODES_MAX 100000u
#define CARD_BYTES_MAX (16u << 20)

typedef struct card_anchor {
    char *name;
    json_t *value;
    size_t nodes, bytes;
    char *text; /* scalars: the text, for use as a mapping key */
    size_t text_len;
} card_anchor;

typedef struct card_frame {
    json_t *node; /* object or array */
    char *key;    /* objects: the key waiting for its value */
    size_t key_len;
    int have_key;
    char *anchor;
    size_t nodes_at, bytes_at;
    yaml_mark_t mark; /* where the collection starts */
} card_frame;

typedef struct card_ctx {
    card_frame stack[CARD_DEPTH_MAX];
    size_t depth;
    card_anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes, bytes;
    size_t line_offset;
    json_t *root;
    yaml_mark_t root_mark;
} card_ctx;

static int card_err(const card_ctx *c, int code, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int card_err(const card_ctx *c, int code, yaml_mark_t mark, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return weft_err_set(code, "line %zu, column %zu: %s", mark.line + 1 + c->line_offset,
                        mark.column + 1, reason);
}

static int card_oom(void)
{
    return weft_err_set(WEFT_ENOMEM, "model card: out of memory");
}

static char *card_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        if (n > 0)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- core schema ----------------------------------------------------------------------------- */

static int card_is_one_of(const char *s, size_t n, const char *const *words)
{
    for (; *words != NULL; words++) {
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return 1;
    }
    return 0;
}

static size_t card_digits(const char *s, size_t n, int (*ok)(int))
{
    size_t i = 0;
    while (i < n && ok((unsigned char)s[i]))
        i++;
    return i;
}

static int card_isdigit(int c)
{
    return c >= '0' && c <= '9';
}

static int card_isoct(int c)
{
    return c >= '0' && c <= '7';
}

static int card_ishex(int c)
{
    return card_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int card_is_float(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    size_t int_digits = card_digits(s + i, n - i, card_isdigit);
    i += int_digits;
    if (i < n && s[i] == '.') {
        i++;
        size_t frac = card_digits(s + i, n - i, card_isdigit);
        if (int_digits == 0 && frac == 0)
            return 0;
        i += frac;
    } else if (int_digits == 0) {
        return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp = card_digits(s + i, n - i, card_isdigit);
        if (exp == 0)
            return 0;
        i += exp;
    }
    return i == n;
}

/* A plain scalar resolved by the core schema. s is NUL-terminated at n (libyaml does that). */
static json_t *card_plain(const char *s, size_t n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (card_is_one_of(s, n, nulls))
        return json_null();
    if (card_is_one_of(s, n, trues))
        return json_true();
    if (card_is_one_of(s, n, falses))
        return json_false();
    size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');
    if (n > sign && card_digits(s + sign, n - sign, card_isdigit) == n - sign) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer(v);
        double d = strtod(s, NULL); /* beyond 64 bits: the nearest double, if there is one */
        return isfinite(d) ? json_real(d) : json_stringn(s, n);
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        int hex = s[1] == 'x';
        if (card_digits(s + 2, n - 2, hex ? card_ishex : card_isoct) == n - 2) {
            errno = 0;
            unsigned long long v = strtoull(s + 2, NULL, hex ? 16 : 8);
            if (errno == 0 && v <= (unsigned long long)INT64_MAX)
                return json_integer((json_int_t)v);
            return json_stringn(s, n);
        }
    }
    if (card_is_float(s, n)) {
        double d = strtod(s, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    return json_stringn(s, n);
}

/* ---- the event stack ------------------------------------------------------------------------- */

static int card_count(card_ctx *c, size_t nodes, size_t bytes, yaml_mark_t mark)
{
    if (__builtin_add_overflow(c->nodes, nodes, &c->nodes) || c->nodes > CARD_NODES_MAX)
        return card_err(c, WEFT_ELIMIT, mark, "more than %u nodes (aliases count in full)",
                        CARD_NODES_MAX);
    if (__builtin_add_overflow(c->bytes, bytes, &c->bytes) || c->bytes > CARD_BYTES_MAX)
        return card_err(c, WEFT_ELIMIT, mark, "more than %u bytes of text (aliases count in full)",
                        CARD_BYTES_MAX);
    return 0;
}

static int card_anchor_add(card_ctx *c, const char *name, json_t *v, size_t nodes, size_t bytes,
                           const char *text, size_t text_len)
{
    if (c->n_anchors == c->cap_anchors) {
        size_t cap = c->cap_anchors ? 2 * c->cap_anchors : 16;
        card_anchor *a = realloc(c->anchors, cap * sizeof *a);
        if (a == NULL)
            return card_oom();
        c->anchors = a;
        c->cap_anchors = cap;
    }
    card_anchor *a = &c->anchors[c->n_anchors];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    a->text = text != NULL ? card_strndup(text, text_len) : NULL;
    if (a->name == NULL || (text != NULL && a->text == NULL)) {
        free(a->name);
        free(a->text);
        return card_oom();
    }
    a->text_len = text_len;
    a->value = json_incref(v);
    a->nodes = nodes;
    a->bytes = bytes;
    c->n_anchors++;
    return 0;
}

/* Places a finished value v (reference taken over) into the open container, or as the root.
 * text is the scalar's text (NULL for collections), needed when v is a mapping key. */
static int card_place(card_ctx *c, json_t *v, const char *text, size_t text_len, yaml_mark_t mark)
{
    if (c->depth == 0) {
        if (c->root != NULL) {
            json_decref(v);
            return card_err(c, WEFT_EINVALID, mark, "more than one root node");
        }
        c->root = v;
        c->root_mark = mark;
        return 0;
    }
    card_frame *f = &c->stack[c->depth - 1];
    if (json_is_array(f->node)) {
        if (json_array_append_new(f->node, v) != 0)
            return card_oom();
        return 0;
    }
    if (!f->have_key) {
        json_decref(v);
        if (text == NULL)
            return card_err(c, WEFT_EINVALID, mark, "mapping keys must be scalars");
        f->key = card_strndup(text, text_len);
        if (f->key == NULL)
            return card_oom();
        f->key_len = text_len;
        f->have_key = 1;
        return 0;
    }
    int rc = json_object_setn_new(f->node, f->key, f->key_len, v);
    free(f->key);
    f->key = NULL;
    f->have_key = 0;
    if (rc != 0)
        return card_err(c, WEFT_EINVALID, mark, "mapping key is not valid text");
    return 0;
}

static int card_scalar(card_ctx *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int rc = card_count(c, 1, n, ev->start_mark);
    if (rc < 0)
        return rc;
    int as_string = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                    (tag != NULL && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0));
    json_t *v = as_string ? json_stringn(s, n) : card_plain(s, n);
    if (v == NULL)
        return card_err(c, WEFT_EINVALID, ev->start_mark, "scalar is not valid text");
    if (ev->data.scalar.anchor != NULL) {
        rc = card_anchor_add(c, (const char *)ev->data.scalar.anchor, v, 1, n, s, n);
        if (rc < 0) {
            json_decref(v);
            return rc;
        }
    }
    return card_place(c, v, s, n, ev->start_mark);
}

static int card_alias(card_ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (size_t i = c->n_anchors; i-- > 0;) {
        card_anchor *a = &c->anchors[i];
        if (strcmp(a->name, name) != 0)
            continue;
        int rc = card_count(c, a->nodes, a->bytes, ev->start_mark);
        if (rc < 0)
            return rc;
        return card_place(c, json_incref(a->value), a->text, a->text_len, ev->start_mark);
    }
    return card_err(c, WEFT_EINVALID, ev->start_mark, "unknown alias *%.100s", name);
}

static int card_open(card_ctx *c, const yaml_event_t *ev, int mapping)
{
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    size_t nodes_at = c->nodes, bytes_at = c->bytes;
    int rc = card_count(c, 1, 0, ev->start_mark);
    if (rc < 0)
        return rc;
    if (c->depth == CARD_DEPTH_MAX)
        return card_err(c, WEFT_ELIMIT, ev->start_mark, "nested deeper than %d", CARD_DEPTH_MAX);
    card_frame *f = &c->stack[c->depth];
    memset(f, 0, sizeof *f);
    f->node = mapping ? json_object() : json_array();
    f->anchor = anchor != NULL ? strdup((const char *)anchor) : NULL;
    f->nodes_at = nodes_at;
    f->bytes_at = bytes_at;
    f->mark = ev->start_mark;
    if (f->node == NULL || (anchor != NULL && f->anchor == NULL)) {
        json_decref(f->node);
        free(f->anchor);
        return card_oom();
    }
    c->depth++;
    return 0;
}

static int card_close(card_ctx *c)
{
    card_frame f = c->stack[--c->depth];
    int rc = 0;
    free(f.key); /* a key without a value cannot happen in libyaml's events, but be safe */
    if (f.anchor != NULL)
        rc = card_anchor_add(c, f.anchor, f.node, c->nodes - f.nodes_at, c->bytes - f.bytes_at,
                             NULL, 0);
    free(f.anchor);
    if (rc < 0) {
        json_decref(f.node);
        return rc;
    }
    return card_place(c, f.node, NULL, 0, f.mark);
}

static void card_ctx_dispose(card_ctx *c)
{
    while (c->depth > 0) {
        card_frame *f = &c->stack[--c->depth];
        json_decref(f->node);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < c->n_anchors; i++) {
        free(c->anchors[i].name);
        free(c->anchors[i].text);
        json_decref(c->anchors[i].value);
    }
    free(c->anchors);
    json_decref(c->root);
}

static int card_parser_error(const card_ctx *c, const yaml_parser_t *p, const char *yaml)
{
    yaml_mark_t mark = p->problem_mark;
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return card_oom();
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors (bad UTF-8) carry an offset, not a mark. */
        memset(&mark, 0, sizeof mark);
        for (size_t i = 0; i < p->problem_offset && yaml[i] != '\0'; i++) {
            if (yaml[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else {
                mark.column++;
            }
        }
    }
    if (p->context != NULL)
        return card_err(c, WEFT_EINVALID, mark, "%s (%s)", problem, p->context);
    return card_err(c, WEFT_EINVALID, mark, "%s", problem);
}

/* Parses yaml[0..len) (NUL-terminated at len) into c->root. */
static int card_parse_yaml(card_ctx *c, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0, docs = 0, done = 0;
    if (!yaml_parser_initialize(&parser))
        return card_oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = card_parser_error(c, &parser, yaml);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++ > 0)
                rc = card_err(c, WEFT_EINVALID, ev.start_mark, "expected a single document");
            break;
        case YAML_SCALAR_EVENT: rc = card_scalar(c, &ev); break;
        case YAML_ALIAS_EVENT: rc = card_alias(c, &ev); break;
        case YAML_SEQUENCE_START_EVENT: rc = card_open(c, &ev, 0); break;
        case YAML_MAPPING_START_EVENT: rc = card_open(c, &ev, 1); break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: rc = card_close(c); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- front matter ---------------------------------------------------------------------------- */

static int card_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Finds the front matter: 1 with [*start, *end) and the line number of *start, 0 if none. */
static int card_find(const char *s, size_t len, size_t *start, size_t *end, size_t *line,
                     int *too_long)
{
    size_t i = 0;
    *too_long = 0;
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && card_space(s[i]))
        i++;
    if (len - i < 4 || memcmp(s + i, "---", 3) != 0 || (s[i + 3] != '\n' && s[i + 3] != '\r'))
        return 0;
    i += 3;
    while (i < len && (s[i] == '\n' || s[i] == '\r'))
        i++;
    size_t body = i, limit = len - body > CARD_INPUT_MAX ? body + CARD_INPUT_MAX : len;
    for (size_t e = body; e < limit; e++) {
        if (s[e] != '\n' && s[e] != '\r')
            continue;
        size_t j = e;
        while (j < len && (s[j] == '\n' || s[j] == '\r'))
            j++;
        if (len - j >= 3 && memcmp(s + j, "---", 3) == 0 &&
            (j + 3 == len || s[j + 3] == '\n' ||
             (s[j + 3] == '\r' && j + 4 < len && s[j + 4] == '\n'))) {
            *start = body;
            *end = e;
            *line = 0;
            for (size_t k = 0; k < body; k++)
                *line += s[k] == '\n';
            return 1;
        }
        e = j - 1;
    }
    *too_long = limit < len;
    return 0;
}

int weft_card_parse(const char *readme, size_t len, char **json_out)
{
    card_ctx c;
    size_t start = 0, end = 0;
    int too_long = 0;
    memset(&c, 0, sizeof c);
    *json_out = NULL;
    if (readme == NULL && len > 0)
        return weft_err_set(WEFT_EINVALID, "model card: no text");
    if (len == 0 || !card_find(readme, len, &start, &end, &c.line_offset, &too_long)) {
        if (too_long)
            return weft_err_set(WEFT_ELIMIT, "model card: front matter longer than %u bytes",
                                CARD_INPUT_MAX);
        *json_out = strdup("{}");
        return *json_out != NULL ? 0 : card_oom();
    }
    /* libyaml wants the block on its own; scalars come back NUL-terminated. */
    char *yaml = card_strndup(readme + start, end - start);
    if (yaml == NULL)
        return card_oom();
    int rc = card_parse_yaml(&c, yaml, end - start);
    if (rc == 0 && c.root != NULL && !json_is_null(c.root) && !json_is_object(c.root))
        rc = card_err(&c, WEFT_EINVALID, c.root_mark, "front matter is not a mapping");
    if (rc == 0) {
        if (c.root == NULL || json_is_null(c.root))
            *json_out = strdup("{}");
        else
            *json_out = json_dumps(c.root, JSON_COMPACT | JSON_ENCODE_ANY);
        if (*json_out == NULL)
            rc = card_oom();
    }
    card_ctx_dispose(&c);
    free(yaml);
    return rc;
}
