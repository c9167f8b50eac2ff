/* Logging to stderr, one line per event: "weft: LEVEL: message".
 *
 * The threshold comes from WEFT_LOG (error, warn, info, debug; default warn) or
 * weft_log_set_level(). Thread-safe: each line is written with one write(2). */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

enum { WEFT_LOG_ERROR = 0, WEFT_LOG_WARN = 1, WEFT_LOG_INFO = 2, WEFT_LOG_DEBUG = 3 };

void weft_log_set_level(int level);
void weft_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define weft_log_error(...) weft_log(WEFT_LOG_ERROR, __VA_ARGS__)
#define weft_log_warn(...) weft_log(WEFT_LOG_WARN, __VA_ARGS__)
#define weft_log_info(...) weft_log(WEFT_LOG_INFO, __VA_ARGS__)
#define weft_log_debug(...) weft_log(WEFT_LOG_DEBUG, __VA_ARGS__)

#endif
