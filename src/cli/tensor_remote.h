/* Tensor-file headers of files on a Hub, read with HTTP Range requests on the file's resolve URL
 * so only header bytes move (what huggingface_hub's get_safetensors_metadata does): a first
 * request for bytes 0-99999, which holds the whole header of most files and tells the file size
 * (Content-Range), then only the missing bytes when the header is longer. Single-threaded;
 * errors are WEFT_E* codes with the message set. */
#ifndef WEFT_CLI_TENSOR_REMOTE_H
#define WEFT_CLI_TENSOR_REMOTE_H

#include "weft/client.h"
#include "weft/tensor_header.h"

/* Bytes asked for by the first request (huggingface_hub asks for bytes=0-100000). */
#define CLI_REMOTE_FIRST_READ 100000u

/* Reads the header of `path` in `repo` at `rev` into *out (weft_tensor_header_dispose);
 * out->bytes_read counts the body bytes received. WEFT_ENOTFOUND for a missing repo, revision
 * or file (the server's message), WEFT_ECORRUPT for a file that is neither format. */
int cli_remote_tensor_header(weft_tensor_header *out, weft_client *c, const weft_client_repo *repo,
                             const char *rev, const char *path);

#endif
