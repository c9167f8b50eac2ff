/* SHA-256 through OpenSSL's EVP interface (include/weft/sha256.h). */
#include <string.h>

#include <openssl/evp.h>

#include "weft/sha256.h"

int weft_sha256_init(weft_sha256 *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return weft_err_set(WEFT_ENOMEM, "sha256: cannot allocate a context");
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return weft_err_set(WEFT_ENOMEM, "sha256: init failed");
    }
    s->ctx = ctx;
    return 0;
}

void weft_sha256_update(weft_sha256 *s, const void *p, size_t n)
{
    EVP_DigestUpdate(s->ctx, p, n);
}

void weft_sha256_final(weft_sha256 *s, uint8_t out[WEFT_SHA256_LEN])
{
    unsigned len = WEFT_SHA256_LEN;
    EVP_DigestFinal_ex(s->ctx, out, &len);
}

void weft_sha256_dispose(weft_sha256 *s)
{
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
}

int weft_sha256_oneshot(uint8_t out[WEFT_SHA256_LEN], const void *p, size_t n)
{
    weft_sha256 s;
    int rc = weft_sha256_init(&s);
    if (rc < 0)
        return rc;
    weft_sha256_update(&s, p, n);
    weft_sha256_final(&s, out);
    weft_sha256_dispose(&s);
    return 0;
}

int weft_hex_is_lower(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void weft_hex_encode(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int weft_hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_len)
{
    if (hex_len != 2 * n)
        return weft_err_set(WEFT_EINVALID, "hex: expected %zu digits, got %zu", 2 * n, hex_len);
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return weft_err_set(WEFT_EINVALID, "hex: bad digit near position %zu", 2 * i);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
