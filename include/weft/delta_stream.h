/* Whole delta files through a byte sink: the one loop that turns an encoder into a delta file
 * and a reader into the rebuilt file, with the SHA-256 of the result computed on the way, shared
 * by `weft delta`, the server's delta endpoint and `weft download`'s delta path (the sink is
 * theirs: a file, a temp file, a buffer). No I/O of its own.
 *
 * A sink gets consecutive bytes (data, len at `offset`) and may be told to write at an earlier
 * offset once: weft_delta_stream_write() writes a zero prologue first and the real one (whose
 * hash of the result is known only at the end) last, at offset 0 — so the sink must be
 * seekable (pwrite). weft_delta_stream_apply() writes strictly in order.
 *
 * Errors: what the encoder/reader or the sink returns; WEFT_EIO when a lossless encoder's result
 * does not hash to the fine-tune's SHA-256 the caller gave (the input changed while read). One
 * thread per call. */
#ifndef WEFT_DELTA_STREAM_H
#define WEFT_DELTA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "weft/delta_file.h"
#include "weft/err.h"

/* Writes len bytes at offset; result_done = bytes of the result (fine-tune) covered so far, for
 * progress. 0 or a WEFT_E* code (which stops the stream). */
typedef int (*weft_delta_sink_fn)(const void *data, size_t len, uint64_t offset,
                                  uint64_t result_done, void *payload);

/* Writes the whole delta file of `e` (fresh from weft_delta_encoder_new) through sink: prologue,
 * the fine-tune's header, every segment, then the prologue again at offset 0 with base_sha256
 * and source_sha256 (the caller's hashes of the two inputs) and the result's SHA-256, which is
 * also put in result_sha256 (may be NULL). *coded_len gets the delta file's size (may be NULL). */
WEFT_MUST_USE int weft_delta_stream_write(weft_delta_encoder *e, const uint8_t base_sha256[32],
                                          const uint8_t source_sha256[32], weft_delta_sink_fn sink,
                                          void *payload, uint64_t *coded_len,
                                          uint8_t result_sha256[32]);

/* Decodes every piece of `r` (fresh from weft_delta_reader_open) through sink, in order, and
 * puts the SHA-256 of the bytes written in sha256 (compare it with the info's result_sha256). */
WEFT_MUST_USE int weft_delta_stream_apply(weft_delta_reader *r, weft_delta_sink_fn sink,
                                          void *payload, uint8_t sha256[32]);

#endif
