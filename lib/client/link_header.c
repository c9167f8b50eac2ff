/* Link header values (include/weft/link_header.h): one left-to-right scan with a cursor. */
#include "weft/link_header.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* RFC 9110 tchar. */
static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The end of the text of a quoted string whose opening quote is at p: its closing quote, or the
 * NUL if it is not closed. */
static const char *quoted_end(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return p;
}

/* Skips a quoted string starting at the opening quote. */
static const char *skip_quoted(const char *p)
{
    p = quoted_end(p);
    return *p ? p + 1 : p;
}

/* Skips to the next ',' outside quotes (or the NUL): the rest of a link value that did not parse.
 */
static const char *skip_to_comma(const char *p)
{
    while (*p && *p != ',')
        p = *p == '"' ? skip_quoted(p) : p + 1;
    return p;
}

/* Whether the relation types in v[0..len) (space separated) include `rel`, compared without
 * case. Relation types are tokens or URIs, so an escaped character (a backslash in a quoted
 * string) is compared as written: such a type matches nothing the Hub sends. */
static bool rel_lists(const char *v, size_t len, const char *rel)
{
    size_t want = strlen(rel);
    for (size_t i = 0; i < len;) {
        while (i < len && v[i] == ' ')
            i++;
        size_t j = i;
        while (j < len && v[j] != ' ')
            j++;
        if (j - i == want && want > 0 && strncasecmp(v + i, rel, want) == 0)
            return true;
        i = j;
    }
    return false;
}

/* A param's value at p, a token or a quoted string: *v and *len get its text (inside the quotes).
 * Returns the position after the value. */
static const char *param_value(const char *p, const char **v, size_t *len)
{
    if (*p == '"') {
        const char *end = quoted_end(p);
        *v = p + 1;
        *len = (size_t)(end - *v);
        return *end ? end + 1 : end;
    }
    *v = p;
    while (is_tchar(*p))
        p++;
    *len = (size_t)(p - *v);
    return p;
}

int weft_link_find(char **out, const char *value, const char *rel)
{
    *out = NULL;
    if (value == NULL)
        return 0;
    const char *p = value;
    while (*p) {
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '<') {
            p = skip_to_comma(p);
            continue;
        }
        const char *uri = p + 1, *gt = strchr(uri, '>');
        if (gt == NULL)
            return 0;
        p = gt + 1;
        bool match = false;
        for (;;) {
            p = skip_ows(p);
            if (*p != ';')
                break;
            p = skip_ows(p + 1);
            const char *name = p;
            while (is_tchar(*p))
                p++;
            size_t name_len = (size_t)(p - name);
            p = skip_ows(p);
            if (*p != '=')
                continue;
            p = skip_ows(p + 1);
            const char *v;
            size_t len;
            p = param_value(p, &v, &len);
            if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && rel_lists(v, len, rel))
                match = true;
        }
        if (*p && *p != ',') { /* junk after the params: this link value is malformed */
            p = skip_to_comma(p);
            continue;
        }
        if (match) {
            *out = strndup(uri, (size_t)(gt - uri));
            return *out ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
        }
    }
    return 0;
}
