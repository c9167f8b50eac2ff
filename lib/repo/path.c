/* Repo path and ref-name validation (include/weft/repo.h). Pure functions. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "repo_internal.h"

/* 1 if p[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). The tree
 * and paths-info answers are JSON, which cannot carry other bytes. */
static int path_utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* ".git" in any case, with trailing dots or spaces (what Windows ignores), "git~1" (its 8.3
 * short name) and ".git:stream": the names git and libgit2 refuse in trees. */
static int path_segment_is_dotgit(const char *s, size_t n)
{
    char low[8];
    while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
        n--;
    if (n >= 5 && s[0] == '.' && strncasecmp(s + 1, "git:", 4) == 0)
        return 1;
    if (n != 4 && n != 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    return (n == 4 && memcmp(low, ".git", 4) == 0) || (n == 5 && memcmp(low, "git~1", 5) == 0);
}

int weft_repo_path_valid(const char *path)
{
    if (path == NULL)
        return 0;
    size_t n = strnlen(path, WEFT_REPO__PATH_MAX + 1);
    if (n == 0 || n > WEFT_REPO__PATH_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    if (!path_utf8_valid((const unsigned char *)path, n))
        return 0;
    const char *seg = path;
    for (;;) {
        const char *slash = memchr(seg, '/', n - (size_t)(seg - path));
        size_t len = slash != NULL ? (size_t)(slash - seg) : n - (size_t)(seg - path);
        if (len == 0)
            return 0; /* leading '/', "//" or trailing '/' */
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (path_segment_is_dotgit(seg, len))
            return 0;
        if (slash == NULL)
            return 1;
        seg = slash + 1;
    }
}

static int ref_is_40hex(const char *s, size_t n)
{
    if (n != 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* git check-ref-format rules for "refs/heads/<name>", plus what would make resolve ambiguous
 * ("HEAD", a full commit id) or a command line unhappy (a leading '-'). */
int weft_repo_ref_name_valid(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, WEFT_REPO__REF_NAME_MAX + 1);
    if (n == 0 || n > WEFT_REPO__REF_NAME_MAX)
        return 0;
    if (strncmp(name, "refs/", 5) == 0 || strcmp(name, "refs") == 0 || strcmp(name, "HEAD") == 0 ||
        strcmp(name, "@") == 0 || name[0] == '-' || ref_is_40hex(name, n))
        return 0;
    if (name[n - 1] == '.' || name[n - 1] == '/' || name[0] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c) != NULL)
            return 0;
        if (c == '.' && name[i + 1] == '.')
            return 0;
        if (c == '@' && name[i + 1] == '{')
            return 0;
        if (c == '/' && name[i + 1] == '/')
            return 0;
    }
    if (!path_utf8_valid((const unsigned char *)name, n))
        return 0;
    /* Per component: no leading '.', no ".lock" ending. */
    const char *seg = name;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
        if (seg[0] == '.')
            return 0;
        if (len >= 5 && memcmp(seg + len - 5, ".lock", 5) == 0)
            return 0;
        if (slash == NULL)
            return 1;
        seg = slash + 1;
    }
}
