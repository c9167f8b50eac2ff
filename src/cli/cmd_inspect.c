/* weft inspect FILE: the tensors, parameter counts and metadata of a local safetensors or GGUF
 * file, from its header bytes alone (pread of the first 8 + N bytes; GGUF in growing reads).
 * The report itself is cli_inspect_render (tensor_file.c), shared with remote inspection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "client_args.h"
#include "tensor_file.h"

static const char inspect_help[] =
    "usage: weft inspect [--json] FILE\n"
    "\n"
    "Shows what a .safetensors or .gguf file holds (the format is told by its first bytes):\n"
    "every tensor with its dtype, shape and size in bytes, the parameter count per dtype and\n"
    "in total, and the metadata (safetensors __metadata__, GGUF key/value pairs; long GGUF\n"
    "arrays are summarized). Only the header is read, so a multi-GB file takes milliseconds.\n"
    "The header is validated fully: a malformed file is reported, not shown.\n"
    "\n"
    "  --json   one JSON object: format, file_size, metadata, tensors [{name, dtype, shape,\n"
    "           bytes, offset}] (GGUF: type, ne), parameters {dtype: count}, total\n"
    "\n"
    "examples:\n"
    "  weft inspect model.safetensors\n"
    "  weft inspect --json model.gguf | jq '.parameters'\n"
    "\n"
    "exit status: 0 shown, 2 usage, 3 no such file, 4 not a valid safetensors/GGUF file,\n"
    "5 read error\n";

int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    const cli_opt opts[] = {{"--json", NULL, NULL, &json}};
    cli_client_args a;
    int st = cli_args_parse(&a, "inspect", argc, argv, opts, 1, 1, 1, inspect_help);
    if (st != CLI_ARGS_GO)
        return st;
    const char *path = a.pos[0];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_fail(
            weft_err_sys(errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, errno, "open %s", path));
    weft_tensor_header h;
    int rc = weft_tensor_header_read_fd(&h, fd, path);
    close(fd);
    if (rc)
        return cli_fail(rc);
    rc = cli_inspect_render(stdout, &h, path, json);
    weft_tensor_header_dispose(&h);
    if (rc)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}
