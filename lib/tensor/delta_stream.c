/* Whole delta files through a byte sink (include/weft/delta_stream.h). */
#include "weft/delta_stream.h"

#include <stdlib.h>
#include <string.h>

#include "weft/sha256.h"

int weft_delta_stream_write(weft_delta_encoder *e, const uint8_t base_sha256[32],
                            const uint8_t source_sha256[32], weft_delta_sink_fn sink,
                            void *payload, uint64_t *coded_len, uint8_t result_sha256[32])
{
    weft_delta_info info = *weft_delta_encoder_info(e);
    memcpy(info.base_sha256, base_sha256, 32);
    memcpy(info.source_sha256, source_sha256, 32);
    weft_sha256 rs;
    int rc = weft_sha256_init(&rs);
    if (rc)
        return rc;
    uint8_t pro[WEFT_DELTA_PROLOGUE_LEN] = {0};
    uint64_t off = 0;
    rc = sink(pro, sizeof pro, off, 0, payload);
    off += sizeof pro;
    if (rc == 0)
        rc = sink(info.header, (size_t)info.header_len, off, info.header_len, payload);
    off += info.header_len;
    weft_sha256_update(&rs, info.header, (size_t)info.header_len);
    while (rc == 0) {
        weft_delta_piece piece;
        rc = weft_delta_encoder_next(e, &piece);
        if (rc || piece.coded_len == 0)
            break;
        weft_sha256_update(&rs, piece.result, piece.result_len);
        rc = sink(piece.coded, piece.coded_len, off, piece.result_offset + piece.result_len,
                  payload);
        off += piece.coded_len;
    }
    weft_sha256_final(&rs, info.result_sha256);
    weft_sha256_dispose(&rs);
    if (rc == 0 && info.kind == WEFT_DELTA_LOSSLESS &&
        memcmp(info.result_sha256, info.source_sha256, 32) != 0)
        rc = weft_err_set(WEFT_EIO, "delta: the fine-tune changed while it was being read");
    if (rc == 0) {
        weft_delta_prologue_encode(pro, &info);
        rc = sink(pro, sizeof pro, 0, info.result_size, payload);
    }
    if (rc == 0 && coded_len)
        *coded_len = off;
    if (rc == 0 && result_sha256)
        memcpy(result_sha256, info.result_sha256, 32);
    return rc;
}

int weft_delta_stream_apply(weft_delta_reader *r, weft_delta_sink_fn sink, void *payload,
                            uint8_t sha256[32])
{
    uint8_t *buf = malloc(WEFT_DELTA_PIECE_MAX);
    weft_sha256 s;
    int rc = buf ? weft_sha256_init(&s) : weft_err_set(WEFT_ENOMEM, "out of memory");
    if (rc) {
        free(buf);
        return rc;
    }
    uint64_t off = 0;
    for (;;) {
        size_t n = 0;
        rc = weft_delta_reader_next(r, buf, WEFT_DELTA_PIECE_MAX, &n);
        if (rc || n == 0)
            break;
        weft_sha256_update(&s, buf, n);
        rc = sink(buf, n, off, off + n, payload);
        if (rc)
            break;
        off += n;
    }
    weft_sha256_final(&s, sha256);
    weft_sha256_dispose(&s);
    free(buf);
    return rc;
}
