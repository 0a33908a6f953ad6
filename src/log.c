/*
 * log.c: one line per event, text for people, JSON lines for collectors.
 * The logger is passed explicitly; nothing here is global. rc_log_kv adds
 * facts as JSON fields beside the message (text lines stay the message).
 */
#include "r2cache/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void rc_log_init(rc_log *lg, FILE *out, rc_log_level level, rc_log_format format)
{
    lg->out = out ? out : stderr;
    lg->level = level;
    lg->tty = isatty(fileno(lg->out));
    if (format == RC_LOG_AUTO) format = lg->tty ? RC_LOG_TEXT : RC_LOG_JSON;
    lg->format = format;
}

int rc_log_level_parse(const char *s, rc_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (rc_log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *out = RC_LOG_WARN;
        return 0;
    }
    return -1;
}

int rc_log_format_parse(const char *s, rc_log_format *out)
{
    if (strcmp(s, "auto") == 0)
        *out = RC_LOG_AUTO;
    else if (strcmp(s, "text") == 0)
        *out = RC_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = RC_LOG_JSON;
    else
        return -1;
    return 0;
}

static const char *level_name(rc_log_level l)
{
    switch (l) {
    case RC_LOG_DEBUG:
        return "debug";
    case RC_LOG_INFO:
        return "info";
    case RC_LOG_WARN:
        return "warn";
    case RC_LOG_ERROR:
        return "error";
    default:
        return "off";
    }
}

static int reserved(const char *k)
{
    return !k || !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "event") ||
           !strcmp(k, "msg");
}

static void emit(const rc_log *lg, rc_log_level level, const char *event, const rc_log_field *f,
                 size_t nf, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[96];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    /* a progress meter's line (progress.h) gives way to the log line */
    if (lg->tty) fputs("\r\033[K", lg->out);
    if (lg->format == RC_LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        if (!o) return;
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", level_name(level));
        cJSON_AddStringToObject(o, "event", event ? event : "");
        for (size_t i = 0; i < nf; i++) {
            if (reserved(f[i].key) || cJSON_HasObjectItem(o, f[i].key)) continue;
            if (!f[i].is_num)
                cJSON_AddStringToObject(o, f[i].key, f[i].str ? f[i].str : "");
            else if (isfinite(f[i].num))
                cJSON_AddNumberToObject(o, f[i].key, f[i].num);
            else
                cJSON_AddNullToObject(o, f[i].key);
        }
        cJSON_AddStringToObject(o, "msg", msg);
        char *s = cJSON_PrintUnformatted(o);
        if (s) {
            fprintf(lg->out, "%s\n", s);
            free(s);
        }
        cJSON_Delete(o);
    } else {
        fprintf(lg->out, "%s %-5s %s\n", ts, level_name(level), msg);
    }
    fflush(lg->out);
}

void rc_log_msg(const rc_log *lg, rc_log_level level, const char *event, const char *fmt, ...)
{
    if (!lg || level < lg->level || lg->level == RC_LOG_OFF) return;
    va_list ap;
    va_start(ap, fmt);
    emit(lg, level, event, NULL, 0, fmt, ap);
    va_end(ap);
}

void rc_log_kv(const rc_log *lg, rc_log_level level, const char *event, const rc_log_field *fields,
               size_t nfields, const char *fmt, ...)
{
    if (!lg || level < lg->level || lg->level == RC_LOG_OFF) return;
    va_list ap;
    va_start(ap, fmt);
    emit(lg, level, event, fields, nfields, fmt, ap);
    va_end(ap);
}
