/* Xet CAS access tokens and signed fetch URLs (specs/xet-storage.md §1.5): the credentials `weft
 * serve` hands out from its xet-{read,write}-token routes and checks on every CAS call.
 *
 * A token is a short text that binds a mode (read, or write which includes read), a repository
 * ("models/NS/NAME") and an expiry (unix seconds), signed with a server key:
 *   wxt1.<r|w>.<exp>.<repo>.<mac>
 * where <mac> is 64 hex digits of keyed BLAKE3 (the server's 32-byte key) over the domain tag
 * "weft xet token\n" and everything before the last '.'. The text only uses characters allowed
 * in an HTTP bearer token. Nothing is stored server-side: a token is valid until it expires, and
 * changing the key revokes them all. weft_xet_mac_hex signs other strings the same way (the
 * reconstruction fetch URLs), each under its own domain tag so one kind cannot pass as another.
 *
 * Pure functions on caller memory, thread-safe, no allocation. Errors: WEFT_EAUTH (malformed,
 * bad signature or expired: the message says which), WEFT_ELIMIT (output buffer too small or a
 * field too long). */
#ifndef WEFT_XET_TOKEN_H
#define WEFT_XET_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "weft/err.h"

#define WEFT_XET_TOKEN_REPO_MAX 256 /* bytes of the repo field */
#define WEFT_XET_TOKEN_MAX 360      /* longest token text, NUL excluded */
#define WEFT_XET_KEY_LEN 32

enum { WEFT_XET_TOKEN_READ = 0, WEFT_XET_TOKEN_WRITE = 1 };

typedef struct weft_xet_token {
    int mode;                               /* WEFT_XET_TOKEN_READ or _WRITE */
    int64_t exp;                            /* unix seconds; the token is refused after it */
    char repo[WEFT_XET_TOKEN_REPO_MAX + 1]; /* "models/NS/NAME", no '\0' inside, not empty */
} weft_xet_token;

/* Writes the signed token text for t into out (cap bytes, NUL-terminated). WEFT_ELIMIT if out is
 * too small, WEFT_EINVALID for an empty repo, a bad mode or a negative expiry. */
WEFT_MUST_USE int weft_xet_token_sign(char *out, size_t cap, const weft_xet_token *t,
                                      const uint8_t key[WEFT_XET_KEY_LEN]);

/* Checks text[0..len) (untrusted) against key and now (unix seconds) and fills *out. WEFT_EAUTH
 * for anything malformed, a signature that does not match, or exp < now. *out is only written
 * on success. */
WEFT_MUST_USE int weft_xet_token_verify(weft_xet_token *out, const char *text, size_t len,
                                        const uint8_t key[WEFT_XET_KEY_LEN], int64_t now);

/* 64 lower-case hex digits (+ NUL) of keyed BLAKE3 over tag || msg[0..len). tag is a short
 * domain label ("weft xet fetch\n"), so a MAC made for one purpose is useless for another. */
void weft_xet_mac_hex(char out[65], const uint8_t key[WEFT_XET_KEY_LEN], const char *tag,
                      const void *msg, size_t len);

/* 1 if a and b (n bytes each) are equal, in time that does not depend on where they differ. */
int weft_xet_mac_equal(const char *a, const char *b, size_t n);

#endif
