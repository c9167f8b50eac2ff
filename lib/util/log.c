/* Line logging to stderr (include/weft/log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/log.h"

static int log_level = -1;

static int log_level_from_env(void)
{
    const char *v = getenv("WEFT_LOG");
    if (v == NULL)
        return WEFT_LOG_WARN;
    if (strcmp(v, "error") == 0)
        return WEFT_LOG_ERROR;
    if (strcmp(v, "info") == 0)
        return WEFT_LOG_INFO;
    if (strcmp(v, "debug") == 0)
        return WEFT_LOG_DEBUG;
    return WEFT_LOG_WARN;
}

void weft_log_set_level(int level)
{
    log_level = level;
}

void weft_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (log_level < 0)
        log_level = log_level_from_env();
    if (level > log_level || level < 0 || level > WEFT_LOG_DEBUG)
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "weft: %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
