/* Tensor-file headers for the CLI (weft inspect, weft diff): read only the header bytes of a
 * safetensors or GGUF file through a read callback (pread for local files; a remote reader
 * passes a Range-request callback), and render the inspect report from the parsed header, so
 * local and remote inspection print the same thing. Single-threaded; errors are WEFT_E* codes
 * with the message set (the caller prints it with cli_fail). */
#ifndef WEFT_CLI_TENSOR_FILE_H
#define WEFT_CLI_TENSOR_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "weft/gguf.h"
#include "weft/safetensors.h"

/* A parsed header: exactly one of st and gguf is set after a successful read. */
typedef struct cli_tensor_header {
    weft_st_header *st;
    weft_gguf *gguf;
    uint64_t file_size;
    uint64_t bytes_read; /* header bytes fetched through the callback (for remote readers) */
} cli_tensor_header;

/* Reads len bytes at offset into dst; 0 or a WEFT_E* code. */
typedef int (*cli_tensor_read_fn)(void *dst, size_t len, uint64_t offset, void *payload);

/* Reads and parses the header of a file of `file_size` bytes, telling the format by its magic
 * ("GGUF", else safetensors). Messages name `label`. Fills *out (cli_tensor_header_dispose). */
int cli_tensor_header_read(cli_tensor_header *out, uint64_t file_size, const char *label,
                           cli_tensor_read_fn read, void *payload);

/* The same on an open local file (pread). */
int cli_tensor_header_read_fd(cli_tensor_header *out, int fd, const char *path);

/* Frees what the header owns. */
void cli_tensor_header_dispose(cli_tensor_header *h);

/* Prints the inspect report of a parsed header on `out`: text, or one JSON object with json. */
int cli_inspect_render(FILE *out, const cli_tensor_header *h, const char *label, int json);

#endif
