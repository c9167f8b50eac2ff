/* Fuzz target for portable delta files (include/weft/delta_file.h): any input is opened and
 * applied against the fixed base of tests/fuzz/delta_fixture.h (the corpus holds deltas made
 * against it by tests/unit/tensor/delta_file.c). Pieces never exceed their bound, the output
 * never exceeds the size the file announces, and a file that applies without error produced
 * exactly that size. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_fixture.h"
#include "weft/delta_file.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_delta_file: %s failed at line %d (%s)\n", #cond, __LINE__,       \
                    weft_err_last());                                                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static weft_buf base;
static uint8_t *piece;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (piece == NULL) {
        weft_buf_init(&base, 1u << 24);
        CHECK(dfx_build(&base, DFX_SMALL, sizeof DFX_SMALL / sizeof DFX_SMALL[0], 0, 0, 7) == 0);
        piece = malloc(WEFT_DELTA_PIECE_MAX);
        CHECK(piece != NULL);
    }
    weft_delta_info info;
    int irc = weft_delta_info_parse(&info, data, size);
    weft_delta_reader *r = NULL;
    int rc = weft_delta_reader_open(&r, data, size, base.data, base.len);
    CHECK(rc == 0 || rc == WEFT_ECORRUPT || rc == WEFT_EINVALID);
    CHECK(rc != 0 || irc == 0);
    uint64_t total = 0;
    while (rc == 0) {
        size_t n = 0;
        rc = weft_delta_reader_next(r, piece, WEFT_DELTA_PIECE_MAX, &n);
        CHECK(rc == 0 || rc == WEFT_ECORRUPT || rc == WEFT_EINVALID);
        if (rc != 0 || n == 0)
            break;
        CHECK(n <= WEFT_DELTA_PIECE_MAX);
        total += n;
        CHECK(total <= info.result_size);
    }
    if (r != NULL && rc == 0)
        CHECK(total == info.result_size);
    weft_delta_reader_free(r);
    return 0;
}
