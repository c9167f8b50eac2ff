/* Xet CAS access tokens and signed strings (include/weft/xet_token.h). */
#include <stdio.h>
#include <string.h>

#include "weft/blake3.h"
#include "weft/xet_token.h"

#define TOKEN_PREFIX "wxt1."
#define TOKEN_PREFIX_LEN 5
#define TOKEN_TAG "weft xet token\n"
#define TOKEN_MAC_HEX 64
#define TOKEN_EXP_DIGITS_MAX 18 /* < 10^18: no overflow, and far past any real expiry */

void weft_xet_mac_hex(char out[65], const uint8_t key[WEFT_XET_KEY_LEN], const char *tag,
                      const void *msg, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t mac[WEFT_BLAKE3_OUT_LEN];
    weft_blake3 h;
    weft_blake3_init_keyed(&h, key);
    weft_blake3_update(&h, tag, strlen(tag));
    weft_blake3_update(&h, msg, len);
    weft_blake3_final(&h, mac, sizeof mac);
    for (size_t i = 0; i < sizeof mac; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 15];
    }
    out[64] = '\0';
}

int weft_xet_mac_equal(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* 1 if c may appear in the repo field: printable ASCII that a bearer token allows. */
static int token_repo_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int weft_xet_token_sign(char *out, size_t cap, const weft_xet_token *t,
                        const uint8_t key[WEFT_XET_KEY_LEN])
{
    size_t repo_len = strnlen(t->repo, sizeof t->repo);
    if (repo_len == 0 || repo_len > WEFT_XET_TOKEN_REPO_MAX || t->exp < 0 ||
        (t->mode != WEFT_XET_TOKEN_READ && t->mode != WEFT_XET_TOKEN_WRITE))
        return weft_err_set(WEFT_EINVALID, "xet token: bad fields");
    for (size_t i = 0; i < repo_len; i++)
        if (!token_repo_char(t->repo[i]))
            return weft_err_set(WEFT_EINVALID, "xet token: repo '%.80s' has a bad character",
                                t->repo);
    int n = snprintf(out, cap, TOKEN_PREFIX "%c.%lld.%s.",
                     t->mode == WEFT_XET_TOKEN_WRITE ? 'w' : 'r', (long long)t->exp, t->repo);
    if (n < 0 || (size_t)n + TOKEN_MAC_HEX + 1 > cap)
        return weft_err_set(WEFT_ELIMIT, "xet token: output buffer too small");
    char mac[TOKEN_MAC_HEX + 1];
    /* The MAC covers everything before its own '.'. */
    weft_xet_mac_hex(mac, key, TOKEN_TAG, out, (size_t)n - 1);
    memcpy(out + n, mac, TOKEN_MAC_HEX + 1);
    return 0;
}

int weft_xet_token_verify(weft_xet_token *out, const char *text, size_t len,
                          const uint8_t key[WEFT_XET_KEY_LEN], int64_t now)
{
    if (text == NULL || len > WEFT_XET_TOKEN_MAX || len < TOKEN_PREFIX_LEN + TOKEN_MAC_HEX + 6 ||
        memcmp(text, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return weft_err_set(WEFT_EAUTH, "not a weft xet token");
    const char *p = text + TOKEN_PREFIX_LEN, *end = text + len;
    const char *mac = end - TOKEN_MAC_HEX;
    if (mac[-1] != '.')
        return weft_err_set(WEFT_EAUTH, "malformed xet token");
    /* Fields: mode '.' exp '.' repo, all before the MAC's '.'. */
    const char *fields_end = mac - 1;
    int mode = *p == 'w' ? WEFT_XET_TOKEN_WRITE : *p == 'r' ? WEFT_XET_TOKEN_READ : -1;
    if (mode < 0 || p + 1 >= fields_end || p[1] != '.')
        return weft_err_set(WEFT_EAUTH, "malformed xet token");
    p += 2;
    int64_t exp = 0;
    size_t digits = 0;
    while (p < fields_end && *p >= '0' && *p <= '9' && digits < TOKEN_EXP_DIGITS_MAX) {
        exp = exp * 10 + (*p - '0');
        p++;
        digits++;
    }
    /* One spelling per token: no leading zeros. */
    if (digits == 0 || p >= fields_end || *p != '.' || (digits > 1 && p[-(long)digits] == '0'))
        return weft_err_set(WEFT_EAUTH, "malformed xet token");
    p++;
    size_t repo_len = (size_t)(fields_end - p);
    if (repo_len == 0 || repo_len > WEFT_XET_TOKEN_REPO_MAX)
        return weft_err_set(WEFT_EAUTH, "malformed xet token");
    for (size_t i = 0; i < repo_len; i++)
        if (!token_repo_char(p[i]))
            return weft_err_set(WEFT_EAUTH, "malformed xet token");
    char want[TOKEN_MAC_HEX + 1];
    weft_xet_mac_hex(want, key, TOKEN_TAG, text, (size_t)(fields_end - text));
    if (!weft_xet_mac_equal(want, mac, TOKEN_MAC_HEX))
        return weft_err_set(WEFT_EAUTH, "xet token signature does not match");
    if (exp < now)
        return weft_err_set(WEFT_EAUTH, "xet token expired at %lld (now %lld); get a new one",
                            (long long)exp, (long long)now);
    out->mode = mode;
    out->exp = exp;
    memcpy(out->repo, p, repo_len);
    out->repo[repo_len] = '\0';
    return 0;
}
