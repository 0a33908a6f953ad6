/*
 * log.h: operator-facing logging. Text on a terminal, JSON lines otherwise
 * (or as chosen). A logger is a value passed down explicitly; no globals.
 * Never log secrets: callers pass URLs and keys, never credentials.
 */
#ifndef R2CACHE_LOG_H
#define R2CACHE_LOG_H

#include <stdio.h>

typedef enum rc_log_level {
    RC_LOG_DEBUG = 0,
    RC_LOG_INFO,
    RC_LOG_WARN,
    RC_LOG_ERROR,
    RC_LOG_OFF
} rc_log_level;
typedef enum rc_log_format { RC_LOG_AUTO = 0, RC_LOG_TEXT, RC_LOG_JSON } rc_log_format;

typedef struct rc_log {
    FILE *out; /* stderr by default */
    rc_log_level level;
    rc_log_format format; /* AUTO resolved at init: TEXT when out is a tty */
} rc_log;

void rc_log_init(rc_log *lg, FILE *out, rc_log_level level, rc_log_format format);
int rc_log_level_parse(const char *s, rc_log_level *out);
int rc_log_format_parse(const char *s, rc_log_format *out);

/* One line: event is a short machine name ("station", "summary", "retry"),
 * the message is free text. In JSON mode: {"ts":..,"level":..,"event":..,"msg":..}. */
void rc_log_msg(const rc_log *lg, rc_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define rc_log_debug(lg, ev, ...) rc_log_msg((lg), RC_LOG_DEBUG, (ev), __VA_ARGS__)
#define rc_log_info(lg, ev, ...) rc_log_msg((lg), RC_LOG_INFO, (ev), __VA_ARGS__)
#define rc_log_warn(lg, ev, ...) rc_log_msg((lg), RC_LOG_WARN, (ev), __VA_ARGS__)
#define rc_log_error(lg, ev, ...) rc_log_msg((lg), RC_LOG_ERROR, (ev), __VA_ARGS__)

#endif
