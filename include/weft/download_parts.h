/* The `.parts` sidecar of a ranged download (include/weft/download.h): which fixed-size ranges of
 * `<blob>.incomplete` are wholly written, so a re-run fetches only the others.
 *
 * Text format: a header line `weft-parts 1 <file size> <range size>\n`, then one line
 * `<range index>\n` (decimal) per finished range, in the order they finished. The file is only
 * ever appended to, so a crash can leave a last line without its newline: that line is ignored.
 * A sidecar whose header names another size or range size belongs to another file version and
 * counts for nothing.
 *
 * Parsing takes bytes of any content (fuzzed: tests/fuzz/fuzz_download_parts.c), reads only
 * [text, text+len), needs no NUL, and skips every line that is not exactly an index in range:
 * digits only, no sign, no spaces, at most 19 digits. Pure functions, thread-safe. */
#ifndef WEFT_DOWNLOAD_PARTS_H
#define WEFT_DOWNLOAD_PARTS_H

#include <stddef.h>
#include <stdint.h>

/* Room for any header or record line, with its NUL. */
#define WEFT_PARTS_LINE_MAX 64

/* Writes the header line into out (WEFT_PARTS_LINE_MAX bytes); returns its length. */
size_t weft_parts_header(char out[WEFT_PARTS_LINE_MAX], uint64_t size, uint64_t range_size);

/* Writes the line recording range `index` into out; returns its length. */
size_t weft_parts_record(char out[WEFT_PARTS_LINE_MAX], size_t index);

/* Sets done[i] = 1 for every range i < n_ranges the sidecar text[0..len) records, if its header
 * matches (size, range_size); leaves the rest of done as it is. Returns how many lines set a
 * range (a range recorded twice counts twice). */
size_t weft_parts_parse(uint8_t *done, size_t n_ranges, const char *text, size_t len, uint64_t size,
                        uint64_t range_size);

#endif
