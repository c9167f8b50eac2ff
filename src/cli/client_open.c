/* cli_client_open: a Hub client from --endpoint / --token and the environment (src/cli/cli.h). */
#include "cli.h"
#include "weft/client.h"

int cli_client_open(struct weft_client **out, const char *endpoint, const char *token)
{
    *out = NULL;
    weft_client_config cfg;
    int rc = weft_client_config_load(&cfg, endpoint, token);
    if (rc < 0)
        return cli_fail(rc);
    rc = weft_client_new(out, &cfg);
    weft_client_config_dispose(&cfg);
    return rc < 0 ? cli_fail(rc) : 0;
}
