/* Fuzz target for the Xet CAS token codec (include/weft/xet_token.h), the parser every CAS request
 * of `weft serve` runs on its Authorization header. Checks, on any input:
 *  - verify never reads past the input and accepts nothing but what sign produces: an accepted
 *    token re-signed from its parsed fields is byte-identical to the input;
 *  - the same input under another key, or past its expiry, is refused;
 *  - tokens signed from fields taken from the input verify back to the same fields.
 * Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/xet_token.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key the seed corpus was signed with: bytes 0, 1, ..., 31. */
static void fuzz_key(uint8_t key[32], uint8_t bias)
{
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i + bias);
}

#define FUZZ_NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[32], other[32];
    fuzz_key(key, 0);
    fuzz_key(other, 1);
    /* Exactly the input bytes, no terminator: verify must stay inside them. */
    char *text = calloc(1, size ? size : 1);
    if (text == NULL)
        return 0;
    if (size)
        memcpy(text, data, size);
    weft_xet_token t;
    if (weft_xet_token_verify(&t, text, size, key, FUZZ_NOW) == 0) {
        char again[WEFT_XET_TOKEN_MAX + 1];
        CHECK(t.mode == WEFT_XET_TOKEN_READ || t.mode == WEFT_XET_TOKEN_WRITE);
        CHECK(t.exp >= FUZZ_NOW && strlen(t.repo) > 0);
        CHECK(weft_xet_token_sign(again, sizeof again, &t, key) == 0);
        CHECK(strlen(again) == size && memcmp(again, text, size) == 0);
        weft_xet_token u;
        CHECK(weft_xet_token_verify(&u, text, size, other, FUZZ_NOW) == WEFT_EAUTH);
        CHECK(weft_xet_token_verify(&u, text, size, key, t.exp + 1) == WEFT_EAUTH);
    }
    free(text);

    /* Fields from the input: mode, expiry, and a repo name of its bytes (sign rejects some). */
    if (size >= 9) {
        uint64_t exp = 0;
        for (int i = 1; i < 9; i++)
            exp = (exp << 8) | data[i];
        weft_xet_token in = {.mode = data[0] & 1, .exp = (int64_t)(exp & 0x0000ffffffffffffULL)};
        size_t n = size - 9 < WEFT_XET_TOKEN_REPO_MAX ? size - 9 : WEFT_XET_TOKEN_REPO_MAX;
        memcpy(in.repo, data + 9, n);
        in.repo[n] = '\0';
        char tok[WEFT_XET_TOKEN_MAX + 1];
        if (weft_xet_token_sign(tok, sizeof tok, &in, key) == 0) {
            weft_xet_token out;
            CHECK(weft_xet_token_verify(&out, tok, strlen(tok), key, in.exp) == 0);
            CHECK(out.mode == in.mode && out.exp == in.exp && strcmp(out.repo, in.repo) == 0);
        }
    }
    return 0;
}
