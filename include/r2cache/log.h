/*
 * log.h: operator-facing logging. Text on a terminal, JSON lines otherwise
 * (or as chosen). A logger is a value passed down explicitly; no globals.
 * Never log secrets: callers pass URLs and keys, never credentials.
 */
#ifndef R2CACHE_LOG_H
#define R2CACHE_LOG_H

#include <stddef.h>
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
    int tty;              /* out is a terminal (set at init): every line first erases the
                             line the cursor is on, where a progress meter may stand */
} rc_log;

void rc_log_init(rc_log *lg, FILE *out, rc_log_level level, rc_log_format format);
int rc_log_level_parse(const char *s, rc_log_level *out);
int rc_log_format_parse(const char *s, rc_log_format *out);

/* One line: event is a short machine name ("station", "summary", "retry"),
 * the message is free text. In JSON mode: {"ts":..,"level":..,"event":..,"msg":..}. */
void rc_log_msg(const rc_log *lg, rc_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A fact of a log line, emitted as its own JSON field beside "msg" so log
 * collectors (Loki, Elasticsearch) can query it: a string or a number.
 * Field names in use: channel, window, chunks_written, samples, bytes,
 * status, error, and the progress figures (progress.h). */
typedef struct rc_log_field {
    const char *key;
    const char *str; /* the value of a string field (NULL: "") */
    double num;      /* the value of a number field (NaN, infinity: null) */
    int is_num;
} rc_log_field;

#define RC_LOG_STR(k, v) ((rc_log_field){(k), (v), 0, 0})
#define RC_LOG_NUM(k, v) ((rc_log_field){(k), NULL, (double)(v), 1})

/* rc_log_msg with fields: in JSON mode every field is a member of the line
 * (after ts, level, event, before msg; a field named like one of those is
 * left out); in text mode the line is the message alone, as rc_log_msg. */
void rc_log_kv(const rc_log *lg, rc_log_level level, const char *event, const rc_log_field *fields,
               size_t nfields, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define rc_log_debug(lg, ev, ...) rc_log_msg((lg), RC_LOG_DEBUG, (ev), __VA_ARGS__)
#define rc_log_info(lg, ev, ...) rc_log_msg((lg), RC_LOG_INFO, (ev), __VA_ARGS__)
#define rc_log_warn(lg, ev, ...) rc_log_msg((lg), RC_LOG_WARN, (ev), __VA_ARGS__)
#define rc_log_error(lg, ev, ...) rc_log_msg((lg), RC_LOG_ERROR, (ev), __VA_ARGS__)

#endif
