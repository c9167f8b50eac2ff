/* Git LFS pointers (include/weft/repo.h; git-lfs spec v1, specs/hf-hub-api.md §12): exactly the
 * canonical text git-lfs writes, nothing looser, so a blob is an LFS file if and only if it
 * round-trips through weft_lfs_pointer_format. */
#include <stdio.h>

#include "repo_internal.h"

static const char lfs_version[] = "version https://git-lfs.github.com/spec/v1\n";
static const char lfs_oid[] = "oid sha256:";
static const char lfs_size[] = "size ";

static int lfs_hex_lower(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int weft_lfs_pointer_parse(const uint8_t *data, size_t len, uint8_t sha256[32], uint64_t *size)
{
    if (data == NULL || len > WEFT_LFS_POINTER_MAX)
        return weft_err_set(WEFT_EINVALID, "lfs pointer: %s",
                            data == NULL ? "no data" : "too long");
    const char *p = (const char *)data, *end = p + len;
    if ((size_t)(end - p) < sizeof lfs_version - 1 ||
        memcmp(p, lfs_version, sizeof lfs_version - 1) != 0)
        return weft_err_set(WEFT_EINVALID, "lfs pointer: bad version line");
    p += sizeof lfs_version - 1;
    if ((size_t)(end - p) < sizeof lfs_oid - 1 + 64 + 1 ||
        memcmp(p, lfs_oid, sizeof lfs_oid - 1) != 0)
        return weft_err_set(WEFT_EINVALID, "lfs pointer: bad oid line");
    p += sizeof lfs_oid - 1;
    uint8_t digest[32];
    for (size_t i = 0; i < 32; i++) {
        int hi = lfs_hex_lower(p[2 * i]), lo = lfs_hex_lower(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return weft_err_set(WEFT_EINVALID, "lfs pointer: oid is not 64 lowercase hex digits");
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    p += 64;
    if (*p++ != '\n')
        return weft_err_set(WEFT_EINVALID, "lfs pointer: bad oid line");
    if ((size_t)(end - p) < sizeof lfs_size - 1 + 2 ||
        memcmp(p, lfs_size, sizeof lfs_size - 1) != 0)
        return weft_err_set(WEFT_EINVALID, "lfs pointer: bad size line");
    p += sizeof lfs_size - 1;
    const char *digits = p;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return weft_err_set(WEFT_EINVALID, "lfs pointer: size overflows 64 bits");
        p++;
    }
    size_t nd = (size_t)(p - digits);
    if (nd == 0 || (nd > 1 && digits[0] == '0'))
        return weft_err_set(WEFT_EINVALID, "lfs pointer: bad size");
    if (p == end || *p != '\n' || p + 1 != end)
        return weft_err_set(WEFT_EINVALID, "lfs pointer: extra text after the size line");
    memcpy(sha256, digest, sizeof digest);
    *size = v;
    return 0;
}

size_t weft_lfs_pointer_format(char out[WEFT_LFS_POINTER_MAX], const uint8_t sha256[32],
                               uint64_t size)
{
    static const char digits[] = "0123456789abcdef";
    char hex[65];
    for (size_t i = 0; i < 32; i++) {
        hex[2 * i] = digits[sha256[i] >> 4];
        hex[2 * i + 1] = digits[sha256[i] & 15];
    }
    hex[64] = '\0';
    int n = snprintf(out, WEFT_LFS_POINTER_MAX, "%soid sha256:%s\nsize %llu\n", lfs_version, hex,
                     (unsigned long long)size);
    /* At most 43 + 76 + 26 = 145 bytes. */
    return n > 0 ? (size_t)n : 0;
}
