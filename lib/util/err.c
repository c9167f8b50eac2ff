/* Thread-local error messages (include/weft/err.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "weft/err.h"

#define ERR_MSG_MAX 512

static _Thread_local char err_msg[ERR_MSG_MAX];

int weft_err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return code;
}

int weft_err_sys(int code, int errno_value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err_msg)
        snprintf(err_msg + n, sizeof err_msg - (size_t)n, ": %s", strerror(errno_value));
    return code;
}

int weft_err_wrap(int code, const char *fmt, ...)
{
    char prev[ERR_MSG_MAX];
    memcpy(prev, err_msg, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err_msg && prev[0] != '\0')
        snprintf(err_msg + n, sizeof err_msg - (size_t)n, ": %s", prev);
    return code;
}

const char *weft_err_last(void)
{
    return err_msg;
}

void weft_err_clear(void)
{
    err_msg[0] = '\0';
}

const char *weft_err_name(int code)
{
    switch (code) {
    case WEFT_OK: return "ok";
    case WEFT_ENOTFOUND: return "not found";
    case WEFT_EEXISTS: return "already exists";
    case WEFT_EINVALID: return "invalid";
    case WEFT_ECORRUPT: return "corrupt";
    case WEFT_EIO: return "i/o error";
    case WEFT_ENOMEM: return "out of memory";
    case WEFT_ELIMIT: return "over limit";
    case WEFT_ECONFLICT: return "conflict";
    case WEFT_EAUTH: return "not allowed";
    case WEFT_ENETWORK: return "network failure";
    default: return "unknown error";
    }
}
