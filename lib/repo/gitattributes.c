/* The root .gitattributes as commits need it: which paths get filter=lfs, and the pattern to add
 * for a path that does not (specs/hf-hub-api.md §8.4: the server adds rules for lfsFile paths
 * not already tracked).
 *
 * Matching follows gitattributes(5): a pattern without a '/' (other than a trailing one) matches
 * the basename at any depth, one with a '/' matches the whole path from the root (a leading '/'
 * only anchors), "**" spans directories, patterns ending in '/' name directories and so never
 * match a file, negative patterns and [attr] macro lines are ignored, and for each path the last
 * matching line that mentions filter decides. Globs are git's wildmatch, written here from its
 * documented behaviour; its ABORT results keep the match polynomial on hostile patterns. */
#include <ctype.h>
#include <stdlib.h>

#include "repo_internal.h"

/* ---- wildmatch ----------------------------------------------------------------------------- */

enum { WM_MATCH = 0, WM_NOMATCH = 1, WM_ABORT_ALL = -1, WM_ABORT_TO_STARSTAR = -2 };

/* A [:name:] class at p (just past "[:"), ending at ":]". 1/0 for match, -1 if malformed;
 * *end gets the ']' on success. */
static int wm_class(const unsigned char *p, unsigned char c, const unsigned char **end)
{
    const unsigned char *q = p;
    while (*q != '\0' && !(q[0] == ':' && q[1] == ']'))
        q++;
    if (*q == '\0')
        return -1;
    size_t n = (size_t)(q - p);
    *end = q + 1;
#define WM_IS(name) (n == sizeof(name) - 1 && memcmp(p, name, n) == 0)
    if (WM_IS("alnum"))
        return isalnum(c) != 0;
    if (WM_IS("alpha"))
        return isalpha(c) != 0;
    if (WM_IS("blank"))
        return c == ' ' || c == '\t';
    if (WM_IS("cntrl"))
        return iscntrl(c) != 0;
    if (WM_IS("digit"))
        return isdigit(c) != 0;
    if (WM_IS("graph"))
        return isgraph(c) != 0;
    if (WM_IS("lower"))
        return islower(c) != 0;
    if (WM_IS("print"))
        return isprint(c) != 0;
    if (WM_IS("punct"))
        return ispunct(c) != 0;
    if (WM_IS("space"))
        return isspace(c) != 0;
    if (WM_IS("upper"))
        return isupper(c) != 0;
    if (WM_IS("xdigit"))
        return isxdigit(c) != 0;
#undef WM_IS
    return -1;
}

/* A bracket expression starting just past '['. 1/0 for match, -1 if malformed; *pp is left on
 * the closing ']'. */
static int wm_bracket(const unsigned char **pp, unsigned char t)
{
    const unsigned char *p = *pp;
    int negate = 0, matched = 0, first = 1;
    unsigned prev = 0;
    if (*p == '!' || *p == '^') {
        negate = 1;
        p++;
    }
    for (;; p++, first = 0) {
        unsigned char c = *p;
        if (c == '\0')
            return -1;
        if (c == ']' && !first)
            break;
        if (c == '\\') {
            c = *++p;
            if (c == '\0')
                return -1;
            matched |= t == c;
            prev = c;
        } else if (c == '-' && prev != 0 && p[1] != '\0' && p[1] != ']') {
            unsigned char hi = *++p;
            if (hi == '\\') {
                hi = *++p;
                if (hi == '\0')
                    return -1;
            }
            matched |= t >= prev && t <= hi;
            prev = 0;
        } else if (c == '[' && p[1] == ':') {
            const unsigned char *end = NULL;
            int m = wm_class(p + 2, t, &end);
            if (m < 0)
                return -1;
            matched |= m;
            p = end;
            prev = 0;
        } else {
            matched |= t == c;
            prev = c;
        }
    }
    *pp = p;
    return negate ? !matched : matched;
}

static int wm_do(const unsigned char *p, const unsigned char *t, const unsigned char *pstart,
                 int pathname)
{
    for (; *p != '\0'; p++, t++) {
        unsigned char pc = *p, tc = *t;
        if (tc == '\0' && pc != '*')
            return WM_ABORT_ALL;
        switch (pc) {
        case '\\':
            pc = *++p;
            if (pc == '\0' || tc != pc)
                return WM_NOMATCH;
            break;
        case '?':
            if (pathname && tc == '/')
                return WM_NOMATCH;
            break;
        case '[': {
            if (pathname && tc == '/')
                return WM_NOMATCH;
            p++;
            int m = wm_bracket(&p, tc);
            if (m < 0)
                return WM_ABORT_ALL;
            if (m == 0)
                return WM_NOMATCH;
            break;
        }
        case '*': {
            int match_slash = !pathname;
            if (p[1] == '*') {
                const unsigned char *first = p;
                while (p[1] == '*')
                    p++;
                /* "**" is special only as a whole segment: "**", "**" + "/x", "x/" + "**". */
                if ((first == pstart || first[-1] == '/') && (p[1] == '\0' || p[1] == '/')) {
                    /* "**" + "/" may also match no directory at all. */
                    if (p[1] == '/' && wm_do(p + 2, t, pstart, pathname) == WM_MATCH)
                        return WM_MATCH;
                    match_slash = 1;
                }
            }
            p++;
            if (*p == '\0') {
                if (!match_slash && strchr((const char *)t, '/') != NULL)
                    return WM_ABORT_TO_STARSTAR;
                return WM_MATCH;
            }
            for (; *t != '\0'; t++) {
                int m = wm_do(p, t, pstart, pathname);
                if (m != WM_NOMATCH) {
                    if (!match_slash || m != WM_ABORT_TO_STARSTAR)
                        return m;
                } else if (!match_slash && *t == '/') {
                    return WM_ABORT_TO_STARSTAR;
                }
            }
            return WM_ABORT_ALL;
        }
        default:
            if (tc != pc)
                return WM_NOMATCH;
        }
    }
    return *t != '\0' ? WM_NOMATCH : WM_MATCH;
}

int weft_repo__wildmatch(const char *pattern, const char *text, int pathname)
{
    const unsigned char *p = (const unsigned char *)pattern;
    return wm_do(p, (const unsigned char *)text, p, pathname) == WM_MATCH;
}

/* ---- .gitattributes ------------------------------------------------------------------------ */

/* Patterns longer than this are ignored (git's own limit is 4096 per path). */
#define ATTR_PATTERN_MAX 4096

enum { ATTR_LFS = 1, ATTR_NOT_LFS = 2 };

typedef struct attr_rule {
    char *pattern;
    int full_path; /* match the whole path, else the basename */
    int state;     /* ATTR_LFS or ATTR_NOT_LFS */
} attr_rule;

struct weft_repo_attrs {
    attr_rule *rules;
    size_t n, cap;
};

void weft_repo__attrs_free(weft_repo_attrs *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->rules[i].pattern);
    free(a->rules);
    free(a);
}

static int attr_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The filter state a line's attribute list sets: 0 if it does not mention filter. */
static int attr_line_state(const char *p, const char *end)
{
    int state = 0;
    while (p < end) {
        while (p < end && attr_blank(*p))
            p++;
        const char *tok = p;
        while (p < end && !attr_blank(*p))
            p++;
        size_t n = (size_t)(p - tok);
        if (n == 0)
            break;
        if (n == 10 && memcmp(tok, "filter=lfs", 10) == 0)
            state = ATTR_LFS;
        else if ((n >= 7 && memcmp(tok, "filter=", 7) == 0) ||
                 (n == 6 && memcmp(tok, "filter", 6) == 0) ||
                 (n == 7 && (memcmp(tok, "-filter", 7) == 0 || memcmp(tok, "!filter", 7) == 0)))
            state = ATTR_NOT_LFS;
    }
    return state;
}

static int attr_add(weft_repo_attrs *a, const char *pat, size_t n, int full_path, int state)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        attr_rule *r = realloc(a->rules, cap * sizeof *r);
        if (r == NULL)
            return weft_err_set(WEFT_ENOMEM, "gitattributes: out of memory");
        a->rules = r;
        a->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return weft_err_set(WEFT_ENOMEM, "gitattributes: out of memory");
    memcpy(copy, pat, n);
    copy[n] = '\0';
    a->rules[a->n++] = (attr_rule){.pattern = copy, .full_path = full_path, .state = state};
    return 0;
}

int weft_repo__attrs_parse(weft_repo_attrs **out, const char *text, size_t len)
{
    weft_repo_attrs *a = calloc(1, sizeof *a);
    if (a == NULL)
        return weft_err_set(WEFT_ENOMEM, "gitattributes: out of memory");
    if (text == NULL)
        len = 0;
    const char *p = text, *end = text != NULL ? text + len : NULL;
    int rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *q = p;
        p = nl != NULL ? nl + 1 : end;
        while (q < eol && attr_blank(*q))
            q++;
        if (q == eol || *q == '#' || *q == '!' || *q == '"')
            continue; /* blank, comment, negative (forbidden), quoted (not supported) */
        const char *pat = q;
        while (q < eol && !attr_blank(*q))
            q++;
        size_t n = (size_t)(q - pat);
        if (n >= 6 && memcmp(pat, "[attr]", 6) == 0)
            continue;
        if (n == 0 || n > ATTR_PATTERN_MAX || pat[n - 1] == '/' || memchr(pat, '\0', n) != NULL)
            continue; /* directory patterns never match a file */
        int state = attr_line_state(q, eol);
        if (state == 0)
            continue;
        int full_path = memchr(pat, '/', n) != NULL;
        if (pat[0] == '/') {
            pat++;
            n--;
        }
        rc = attr_add(a, pat, n, full_path, state);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        weft_repo__attrs_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int weft_repo__attrs_is_lfs(const weft_repo_attrs *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    int state = 0;
    /* The last matching rule decides: scan from the end. */
    for (size_t i = a->n; i-- > 0;) {
        const attr_rule *rule = &a->rules[i];
        if (weft_repo__wildmatch(rule->pattern, rule->full_path ? path : base, 1)) {
            state = rule->state;
            break;
        }
    }
    return state == ATTR_LFS;
}

size_t weft_repo__attrs_pattern(char *out, size_t cap, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; path[i] != '\0'; i++) {
        char c = path[i];
        const char *rep = NULL;
        char esc[3] = {'\\', c, '\0'};
        if (c == ' ')
            rep = "[[:space:]]";
        else if (c == '*' || c == '?' || c == '[' || c == '\\' ||
                 (i == 0 && (c == '#' || c == '!' || c == '"')))
            rep = esc;
        size_t k = rep != NULL ? strlen(rep) : 1;
        if (n + k + 1 > cap)
            return 0;
        if (rep != NULL)
            memcpy(out + n, rep, k);
        else
            out[n] = c;
        n += k;
    }
    if (n + 1 > cap)
        return 0;
    out[n] = '\0';
    return n;
}
