/*
 * timewin.c: UTC calendar arithmetic and window alignment.
 *
 * Calendar conversion uses Howard Hinnant's days-from-civil algorithms, which
 * are exact for the proleptic Gregorian calendar and never consult the process
 * time zone (timegm/mktime would, and TZ is whatever the cron host has).
 * Every division that can see a negative operand goes through rc_floor so
 * that pre-1970 times align the same way as later ones.
 */
#include "r2cache/timewin.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_SECONDS 86400

/* Years a key can carry (four digits). */
#define YEAR_MIN 0
#define YEAR_MAX 9999

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

int64_t rc_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = floor_div(yy, 400);
    int64_t yoe = yy - era * 400;                                          /* [0, 399] */
    int64_t doy = (153 * (int64_t)(m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                   /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void rc_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

void rc_time_split(int64_t t, rc_tm *out)
{
    int64_t days = floor_div(t, DAY_SECONDS);
    int64_t sod = t - days * DAY_SECONDS;
    rc_civil_from_days(days, &out->year, &out->mon, &out->mday);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    out->yday = (int)(days - rc_days_from_civil(out->year, 1, 1)) + 1;
}

int rc_time_make(int y, int mon, int mday, int hour, int min, int sec, int64_t *out, rc_err *e)
{
    if (y < YEAR_MIN || y > YEAR_MAX)
        return rc_err_set(e, RC_EINVAL, "year %d is out of range (%d-%d)", y, YEAR_MIN, YEAR_MAX);
    if (mon < 1 || mon > 12)
        return rc_err_set(e, RC_EINVAL, "month %d is out of range (01-12)", mon);
    if (mday < 1 || mday > days_in_month(y, mon))
        return rc_err_set(e, RC_EINVAL, "day %d does not exist in %04d-%02d (1-%d)", mday, y, mon,
                          days_in_month(y, mon));
    if (hour < 0 || hour > 23)
        return rc_err_set(e, RC_EINVAL, "hour %d is out of range (00-23)", hour);
    if (min < 0 || min > 59)
        return rc_err_set(e, RC_EINVAL, "minute %d is out of range (00-59)", min);
    if (sec < 0 || sec > 59)
        return rc_err_set(e, RC_EINVAL, "second %d is out of range (00-59; no leap seconds)", sec);
    *out = rc_days_from_civil(y, mon, mday) * DAY_SECONDS + (int64_t)hour * 3600 + min * 60 + sec;
    return RC_OK;
}

int64_t rc_floor(int64_t t, int64_t span)
{
    if (span <= 0) return t;
    return floor_div(t, span) * span;
}

int64_t rc_day_start(int64_t t)
{
    return rc_floor(t, DAY_SECONDS);
}

int64_t rc_month_start(int64_t t)
{
    int y, m, d;
    rc_civil_from_days(floor_div(t, DAY_SECONDS), &y, &m, &d);
    return rc_days_from_civil(y, m, 1) * DAY_SECONDS;
}

int64_t rc_month_next(int64_t t)
{
    int y, m, d;
    rc_civil_from_days(floor_div(t, DAY_SECONDS), &y, &m, &d);
    if (++m > 12) {
        m = 1;
        y++;
    }
    return rc_days_from_civil(y, m, 1) * DAY_SECONDS;
}

int rc_month_days(int64_t t)
{
    return (int)((rc_month_next(t) - rc_month_start(t)) / DAY_SECONDS);
}

/* ---- parsing ---- */

/* Exactly n decimal digits at *p; advances *p. */
static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

static int take_char(const char **p, char c)
{
    if (**p != c) return 0;
    (*p)++;
    return 1;
}

/* "<digits><unit>" with unit in s/m/h/d/w; bare digits only when bare_ok. */
static int parse_count_unit(const char *s, int bare_ok, int64_t *out)
{
    const char *p = s;
    int64_t v = 0;
    if (!isdigit((unsigned char)*p)) return 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (*p - '0');
    }
    int64_t mul;
    switch (*p) {
    case '\0':
        if (!bare_ok) return 0;
        *out = v;
        return 1;
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = DAY_SECONDS;
        break;
    case 'w':
        mul = 7 * DAY_SECONDS;
        break;
    default:
        return 0;
    }
    if (p[1] != '\0') return 0;
    /* A century is already far beyond any cache; the cap keeps t - v safe. */
    if (v > (int64_t)100 * 366 * DAY_SECONDS / mul) return 0;
    *out = v * mul;
    return 1;
}

#define TIME_FORMS                                                                                 \
    "accepted: 2025-11-04T22:00:00Z, 2025-11-04T22:00Z, 2025-11-04T22:00:00, "                     \
    "2025-11-04T22:00:00.000Z, 2025-11-04T22:00:00+00:00, 2025-11-04, now, "                       \
    "or an age such as 7d, 6h, 30m, 90s, 2w"

/* ISO 8601 forms of rc_time_parse; the message says which part failed.
 * frac_us NULL: a fractional second must be zero; otherwise it receives the
 * microseconds (up to 6 digits). */
static int parse_iso(const char *s, int64_t *out, int64_t *frac_us, rc_err *e)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!take_digits(&p, 4, &y) || !take_char(&p, '-') || !take_digits(&p, 2, &mo) ||
        !take_char(&p, '-') || !take_digits(&p, 2, &d))
        return rc_err_set(e, RC_EINVAL, "time '%s' is not understood; " TIME_FORMS, s);
    int64_t offset = 0;
    if (*p != '\0') {
        if (!take_char(&p, 'T') || !take_digits(&p, 2, &h) || !take_char(&p, ':') ||
            !take_digits(&p, 2, &mi))
            return rc_err_set(e, RC_EINVAL, "time '%s' is not understood; " TIME_FORMS, s);
        if (take_char(&p, ':')) {
            if (!take_digits(&p, 2, &sec))
                return rc_err_set(e, RC_EINVAL, "time '%s' is not understood; " TIME_FORMS, s);
            if (take_char(&p, '.')) {
                if (!isdigit((unsigned char)*p))
                    return rc_err_set(e, RC_EINVAL, "time '%s' is not understood; " TIME_FORMS, s);
                int64_t us = 0;
                for (int k = 0; isdigit((unsigned char)*p); p++, k++) {
                    if (*p != '0' && !frac_us)
                        return rc_err_set(e, RC_EINVAL,
                                          "time '%s' has a fractional second; windows are whole "
                                          "seconds, give e.g. 2025-11-04T22:00:00Z",
                                          s);
                    if (*p != '0' && k >= 6)
                        return rc_err_set(e, RC_EINVAL,
                                          "time '%s': at most 6 fractional digits (microseconds)",
                                          s);
                    if (k < 6) us = us * 10 + (*p - '0');
                    if (k < 6 && !isdigit((unsigned char)p[1]))
                        for (int r = k + 1; r < 6; r++)
                            us *= 10;
                }
                if (frac_us) *frac_us = us;
            }
        }
        if (take_char(&p, 'Z')) {
            /* UTC */
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (!take_digits(&p, 2, &oh) || !take_char(&p, ':') || !take_digits(&p, 2, &om) ||
                oh > 23 || om > 59)
                return rc_err_set(e, RC_EINVAL,
                                  "time '%s' has a malformed UTC offset (use +HH:MM); " TIME_FORMS,
                                  s);
            offset = sign * ((int64_t)oh * 3600 + om * 60);
        }
        if (*p != '\0')
            return rc_err_set(e, RC_EINVAL, "time '%s' has trailing characters; " TIME_FORMS, s);
    }
    int64_t t;
    if (rc_time_make(y, mo, d, h, mi, sec, &t, e) != RC_OK) return rc_err_wrap(e, "time '%s'", s);
    *out = t - offset;
    return RC_OK;
}

static int parse_any(const char *s, int64_t now, int64_t *out, int64_t *frac_us, rc_err *e)
{
    if (!s || !*s) return rc_err_set(e, RC_EINVAL, "time is empty; " TIME_FORMS);
    if (strcmp(s, "now") == 0) {
        *out = now;
        return RC_OK;
    }
    int64_t age;
    if (parse_count_unit(s, 0, &age)) {
        if (age > now - RC_TIME_FIRST)
            return rc_err_set(e, RC_EINVAL, "time '%s' reaches back before the year 1", s);
        *out = now - age;
        return RC_OK;
    }
    if (strlen(s) >= 10 && s[4] == '-') return parse_iso(s, out, frac_us, e);
    return rc_err_set(e, RC_EINVAL, "time '%s' is not understood; " TIME_FORMS, s);
}

static int check_range(const char *s, int64_t t, rc_err *e)
{
    if (t < RC_TIME_FIRST || t >= RC_TIME_LAST)
        return rc_err_set(e, RC_EINVAL,
                          "time '%s' is outside 0001-01-01 .. 9999-12-30: keys and manifests "
                          "hold 4-digit years, and a window of 9999-12-31 would end in the year "
                          "10000",
                          s);
    return RC_OK;
}

int rc_time_parse_us(const char *s, int64_t now, int64_t *out_us, rc_err *e)
{
    int64_t t = 0, frac = 0;
    int rc = parse_any(s, now, &t, &frac, e);
    if (rc == RC_OK) rc = check_range(s, t, e);
    if (rc != RC_OK) return rc;
    *out_us = t * 1000000 + frac;
    return RC_OK;
}

int rc_time_parse(const char *s, int64_t now, int64_t *out, rc_err *e)
{
    int64_t t = 0;
    int rc = parse_any(s, now, &t, NULL, e);
    if (rc == RC_OK) rc = check_range(s, t, e);
    if (rc != RC_OK) return rc;
    *out = t;
    return RC_OK;
}

int rc_hours_parse(const char *s, double *hours)
{
    if (!s || !*s) return -1;
    for (const char *p = s; *p; p++) /* plain decimals: no sign, exponent, hex, inf, nan */
        if (!isdigit((unsigned char)*p) && *p != '.') return -1;
    char *end = NULL;
    double h = strtod(s, &end);
    if (!end || end == s || *end || !isfinite(h) || !(h >= 0) || h > 1e6) return -1;
    *hours = h;
    return 0;
}

int rc_duration_parse(const char *s, int64_t *seconds, rc_err *e)
{
    if (s && parse_count_unit(s, 1, seconds)) return RC_OK;
    return rc_err_set(e, RC_EINVAL,
                      "duration '%s' is not understood; give a whole number with a unit: 90s, 2m, "
                      "1h, 3d, 1w, or a bare number of seconds",
                      s ? s : "");
}

/* ---- formatting ---- */

/* Fields of absurd times would overflow RC_TIME_STR_MAX: format wide, then cut. */
static void emit(char *out, const char *wide)
{
    size_t n = strnlen(wide, RC_TIME_STR_MAX - 1);
    memcpy(out, wide, n);
    out[n] = '\0';
}

void rc_time_iso(int64_t t, char *out)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    char w[128];
    snprintf(w, sizeof w, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec);
    emit(out, w);
}

void rc_time_stamp(int64_t t, char *out)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    char w[128];
    snprintf(w, sizeof w, "%04d-%02d-%02d-%02d-%02d-%02d", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec);
    emit(out, w);
}

void rc_time_date(int64_t t, char *out)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    char w[128];
    snprintf(w, sizeof w, "%04d-%02d-%02d", tm.year, tm.mon, tm.mday);
    emit(out, w);
}

void rc_time_hms(int64_t t, char *out)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    char w[128];
    snprintf(w, sizeof w, "%02d:%02d:%02d", tm.hour, tm.min, tm.sec);
    emit(out, w);
}

void rc_time_now_iso_us(char *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc_tm tm;
    rc_time_split((int64_t)ts.tv_sec, &tm);
    char w[128];
    snprintf(w, sizeof w, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec, (long)(ts.tv_nsec / 1000));
    emit(out, w);
}

/* ---- windows ---- */

size_t rc_run_windows(int64_t now, int64_t lookback, int64_t delay, int64_t span, int64_t *starts,
                      size_t max)
{
    if (span <= 0 || lookback <= 0 || delay < 0) return 0;
    int64_t hi = now - delay;
    int64_t last_end = rc_floor(hi, span);
    int64_t first_end = rc_floor(hi - lookback, span) + span; /* first aligned end > lo */
    if (last_end < first_end) return 0;
    size_t n = (size_t)((last_end - first_end) / span) + 1;
    for (size_t i = 0; i < n && i < max; i++)
        starts[i] = first_end - span + (int64_t)i * span;
    return n;
}

size_t rc_range_windows(int64_t from, int64_t to, int64_t span, int64_t *starts, size_t max)
{
    if (span <= 0 || to <= from) return 0;
    int64_t first = rc_floor(from, span);
    if (first < from) first += span;
    int64_t last = rc_floor(to, span) - span; /* last start whose end <= to */
    if (last < first) return 0;
    size_t n = (size_t)((last - first) / span) + 1;
    for (size_t i = 0; i < n && i < max; i++)
        starts[i] = first + (int64_t)i * span;
    return n;
}
