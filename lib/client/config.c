/* Client configuration from arguments and the environment, as huggingface_hub reads it
 * (include/weft/client.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/client.h"
#include "weft/fsutil.h"

/* The first non-empty of the environment variables `names`, or NULL. */
static const char *config_env_first(const char *const *names, const char **which)
{
    for (size_t i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && v[0]) {
            if (which)
                *which = names[i];
            return v;
        }
    }
    return NULL;
}

static int config_join(char **out, const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    if (!*out)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    snprintf(*out, n, "%s/%s", dir, name);
    return 0;
}

static int config_dup(char **out, const char *s)
{
    *out = strdup(s);
    return *out ? 0 : weft_err_set(WEFT_ENOMEM, "out of memory");
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
static int config_hf_home(char **out)
{
    const char *v = getenv("HF_HOME");
    if (v && v[0])
        return config_dup(out, v);
    v = getenv("XDG_CACHE_HOME");
    if (v && v[0])
        return config_join(out, v, "huggingface");
    const char *home = getenv("HOME");
    if (!home || !home[0])
        return weft_err_set(WEFT_EINVALID, "neither HF_HOME nor HOME is set");
    return config_join(out, home, ".cache/huggingface");
}

/* Reads the token file: the first line, surrounding whitespace dropped. *out NULL when the file
 * is missing or empty. */
static int config_read_token_file(char **out, const char *path)
{
    *out = NULL;
    weft_buf b;
    weft_buf_init(&b, 64 * 1024);
    int rc = weft_fs_read_file(&b, path);
    if (rc < 0) {
        weft_buf_dispose(&b);
        if (rc == WEFT_ENOTFOUND || !weft_fs_exists(path)) {
            weft_err_clear();
            return 0;
        }
        return rc;
    }
    size_t start = 0, end = b.len;
    while (start < end && (b.data[start] == ' ' || b.data[start] == '\t' || b.data[start] == '\r' ||
                           b.data[start] == '\n'))
        start++;
    for (size_t i = start; i < end; i++)
        if (b.data[i] == '\n' || b.data[i] == '\r' || b.data[i] == ' ' || b.data[i] == '\t') {
            end = i;
            break;
        }
    if (end > start) {
        *out = strndup((const char *)b.data + start, end - start);
        if (!*out)
            rc = weft_err_set(WEFT_ENOMEM, "out of memory");
    }
    weft_buf_dispose(&b);
    return rc;
}

int weft_client_config_load(weft_client_config *out, const char *endpoint, const char *token)
{
    memset(out, 0, sizeof *out);
    int rc;
    const char *ep = endpoint && endpoint[0] ? endpoint : getenv("HF_ENDPOINT");
    if (!ep || !ep[0])
        ep = WEFT_CLIENT_DEFAULT_ENDPOINT;
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
        rc = weft_err_set(WEFT_EINVALID, "endpoint '%s' is not an http:// or https:// URL", ep);
        goto out;
    }
    rc = config_dup(&out->endpoint, ep);
    if (rc < 0)
        goto out;
    size_t n = strlen(out->endpoint);
    while (n > 0 && out->endpoint[n - 1] == '/')
        out->endpoint[--n] = '\0';

    rc = config_hf_home(&out->hf_home);
    if (rc < 0)
        goto out;
    const char *v = getenv("HF_HUB_CACHE");
    rc = v && v[0] ? config_dup(&out->hub_cache, v) : config_join(&out->hub_cache, out->hf_home, "hub");
    if (rc < 0)
        goto out;
    v = getenv("HF_TOKEN_PATH");
    rc = v && v[0] ? config_dup(&out->token_path, v)
                   : config_join(&out->token_path, out->hf_home, "token");
    if (rc < 0)
        goto out;
    v = getenv("WEFT_CHUNK_CACHE");
    rc = v && v[0] ? config_dup(&out->chunk_cache, v)
                   : config_join(&out->chunk_cache, out->hf_home, "weft/chunks");
    if (rc < 0)
        goto out;

    static const char *const token_vars[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                                             "HUGGINGFACE_API_KEY", NULL};
    const char *which = NULL;
    if (token && token[0]) {
        rc = config_dup(&out->token, token);
        out->token_source = "--token";
    } else if ((v = config_env_first(token_vars, &which)) != NULL) {
        rc = config_dup(&out->token, v);
        out->token_source = which;
    } else {
        rc = config_read_token_file(&out->token, out->token_path);
        if (out->token)
            out->token_source = "token file";
    }
out:
    if (rc < 0)
        weft_client_config_dispose(out);
    return rc;
}

void weft_client_config_dispose(weft_client_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->endpoint);
    free(cfg->token);
    free(cfg->hf_home);
    free(cfg->hub_cache);
    free(cfg->token_path);
    free(cfg->chunk_cache);
    memset(cfg, 0, sizeof *cfg);
}

int weft_client_token_save(const weft_client_config *cfg, const char *token)
{
    char *dir = strdup(cfg->token_path);
    if (!dir)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = weft_fs_mkdirs(dir);
    }
    free(dir);
    if (rc < 0)
        return rc;
    /* Written 0600 from the start: the temp file of weft_fs_write_atomic would be 0644 for an
     * instant, so the token goes through our own temp file. */
    size_t n = strlen(cfg->token_path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return weft_err_set(WEFT_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp%ld", cfg->token_path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = weft_err_sys(WEFT_EIO, errno, "cannot write the token file %s", tmp);
        free(tmp);
        return rc;
    }
    rc = weft_fs_write_full(fd, token, strlen(token), cfg->token_path);
    if (rc == 0 && fsync(fd) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "fsync %s", tmp);
    close(fd);
    if (rc == 0 && rename(tmp, cfg->token_path) != 0)
        rc = weft_err_sys(WEFT_EIO, errno, "cannot write the token file %s", cfg->token_path);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int weft_client_token_delete(const weft_client_config *cfg)
{
    if (unlink(cfg->token_path) != 0 && errno != ENOENT)
        return weft_err_sys(WEFT_EIO, errno, "cannot remove the token file %s", cfg->token_path);
    return 0;
}
