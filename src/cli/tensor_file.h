/* The inspect report of a tensor-file header (weft/tensor_header.h reads it: locally with pread,
 * remotely with Range requests), so local and remote inspection print the same thing.
 * Single-threaded; errors are WEFT_E* codes with the message set (the caller prints it with
 * cli_fail). */
#ifndef WEFT_CLI_TENSOR_FILE_H
#define WEFT_CLI_TENSOR_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "weft/tensor_header.h"

/* Prints the inspect report of a parsed header on `out`: text, or one JSON object with json. */
int cli_inspect_render(FILE *out, const weft_tensor_header *h, const char *label, int json);

#endif
