/* Names: the Hub's rules for users, orgs and repos, and the names of roles and repo types
 * (include/weft/meta.h). */
#include <string.h>

#include "meta_internal.h"

/* NULL if name is valid, else why not. */
static const char *names_problem(const char *name)
{
    size_t n = strnlen(name, WEFT_NAME_MAX + 1);
    if (n == 0)
        return "it is empty";
    if (n > WEFT_NAME_MAX)
        return "it is longer than 96 characters";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return "only letters, digits, '.', '_' and '-' are allowed";
    }
    if (strstr(name, "--") != NULL || strstr(name, "..") != NULL)
        return "'--' and '..' are not allowed";
    if (name[0] == '-' || name[0] == '.' || name[n - 1] == '-' || name[n - 1] == '.')
        return "it may not start or end with '-' or '.'";
    return NULL;
}

int weft_meta_name_valid(const char *name)
{
    return name != NULL && names_problem(name) == NULL;
}

int weft_meta__name_check(const char *what, const char *name)
{
    char q[WEFT_META_QUOTE_LEN];
    const char *why = name ? names_problem(name) : "it is missing";
    if (why == NULL)
        return 0;
    return weft_err_set(WEFT_EINVALID, "invalid %s name '%s': %s", what,
                        weft_meta__quote(q, name ? name : ""), why);
}

const char *weft_meta__quote(char out[WEFT_META_QUOTE_LEN], const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (s[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* ---- roles -------------------------------------------------------------------------------- */

const char *weft_role_name(weft_role r)
{
    switch (r) {
    case WEFT_ROLE_READ: return "read";
    case WEFT_ROLE_WRITE: return "write";
    case WEFT_ROLE_ADMIN: return "admin";
    }
    return "unknown";
}

int weft_role_parse(const char *s, weft_role *out)
{
    static const weft_role roles[] = {WEFT_ROLE_READ, WEFT_ROLE_WRITE, WEFT_ROLE_ADMIN};
    char q[WEFT_META_QUOTE_LEN];
    for (size_t i = 0; s != NULL && i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(s, weft_role_name(roles[i])) == 0) {
            *out = roles[i];
            return 0;
        }
    }
    return weft_err_set(WEFT_EINVALID, "invalid role '%s': expected read, write or admin",
                        weft_meta__quote(q, s ? s : ""));
}

/* ---- repo types --------------------------------------------------------------------------- */

static const char *const names_type[] = {"model", "dataset", "space"};
static const char *const names_type_plural[] = {"models", "datasets", "spaces"};
#define NAMES_N_TYPES (sizeof names_type / sizeof names_type[0])

const char *weft_repo_type_name(weft_repo_type t)
{
    return (unsigned)t < NAMES_N_TYPES ? names_type[t] : "unknown";
}

const char *weft_repo_type_plural(weft_repo_type t)
{
    return (unsigned)t < NAMES_N_TYPES ? names_type_plural[t] : "unknown";
}

int weft_repo_type_parse(const char *s, weft_repo_type *out)
{
    char q[WEFT_META_QUOTE_LEN];
    for (size_t i = 0; s != NULL && i < NAMES_N_TYPES; i++) {
        if (strcmp(s, names_type[i]) == 0 || strcmp(s, names_type_plural[i]) == 0) {
            *out = (weft_repo_type)i;
            return 0;
        }
    }
    return weft_err_set(WEFT_EINVALID, "invalid repo type '%s': expected model, dataset or space",
                        weft_meta__quote(q, s ? s : ""));
}
