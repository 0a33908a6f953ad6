/*
 * timewin.h: UTC time arithmetic and window alignment.
 *
 * Times are int64 seconds since the Unix epoch, UTC, no leap seconds (as
 * FDSN and the key layout use). Calendar conversion is done arithmetically
 * (days-from-civil), never through the process time zone.
 * Windows are half-open [start, end). A window of span S is aligned when
 * start % S == 0 (floor division), which for 10 min, 1 h, 6 h and 24 h gives
 * clock-aligned windows (6 h windows start at 00/06/12/18 h).
 */
#ifndef R2CACHE_TIMEWIN_H
#define R2CACHE_TIMEWIN_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"

typedef struct rc_tm {
    int year;
    int mon;  /* 1..12 */
    int mday; /* 1..31 */
    int hour, min, sec;
    int yday; /* 1..366, day of year (SDS file names) */
} rc_tm;

int64_t rc_days_from_civil(int y, int m, int d);
void rc_civil_from_days(int64_t days, int *y, int *m, int *d);
void rc_time_split(int64_t t, rc_tm *out);
/* Returns RC_EINVAL for out-of-range fields (month 13, Feb 30, hour 24...). */
int rc_time_make(int y, int mon, int mday, int hour, int min, int sec, int64_t *out, rc_err *e);

/* Floor division that is right for negative t as well. */
int64_t rc_floor(int64_t t, int64_t span);
int64_t rc_day_start(int64_t t);

/* Months: the first day (00:00 UTC) of the month holding t, the first day of
 * the month after the one holding t, and the number of days of that month
 * (28..31). */
int64_t rc_month_start(int64_t t);
int64_t rc_month_next(int64_t t);
int rc_month_days(int64_t t);

/*
 * Parse a point in time:
 *   ISO 8601 UTC: "2025-11-04T22:00:00Z", "2025-11-04T22:00Z", "2025-11-04T22:00:00",
 *   "2025-11-04T22:00:00.000Z", "2025-11-04T22:00:00+00:00", "2025-11-04" (midnight);
 *   "now"; or a relative age counted back from now: "7d", "6h", "30m", "90s", "2w".
 * Sub-second parts must be zero (windows are whole seconds). Other offsets
 * than +00:00 are converted. Error message quotes the input and the accepted forms.
 * Times keys cannot hold are refused: before 0001-01-01, or from 9999-12-31 on
 * (keys and manifests write 4-digit years, and a window of the last day would
 * end in the year 10000).
 */
#define RC_TIME_FIRST ((int64_t)-62135596800) /* 0001-01-01T00:00:00Z */
#define RC_TIME_LAST ((int64_t)253402214400)  /* 9999-12-31T00:00:00Z, excluded */
int rc_time_parse(const char *s, int64_t now, int64_t *out, rc_err *e);
/* The same forms with a fractional second of up to 6 digits
 * (2025-11-04T22:00:00.25Z), as microseconds since the epoch: for reading
 * samples back (`get`), never for windows or keys. */
int rc_time_parse_us(const char *s, int64_t now, int64_t *out_us, rc_err *e);

/* Parse a duration: "90s", "2m", "1h", "3d", "1w", or a bare number of seconds. */
/* A number of hours as the command line and the API take it (--max-gap-hours,
 * --minor-hours, max_gap_hours=): a finite decimal >= 0 and at most 1e6
 * (over a century), nothing after it. 0, or -1 when it is not one. */
int rc_hours_parse(const char *s, double *hours);
int rc_duration_parse(const char *s, int64_t *seconds, rc_err *e);

/* Formatting; buffers of RC_TIME_STR_MAX are always enough. */
#define RC_TIME_STR_MAX 32
void rc_time_iso(int64_t t, char *out);   /* 2025-11-04T22:00:00Z */
void rc_time_stamp(int64_t t, char *out); /* 2025-11-04-22-00-00 (keys) */
void rc_time_date(int64_t t, char *out);  /* 2025-11-04 */
void rc_time_hms(int64_t t, char *out);   /* 22:00:00 */
/* Current time with microseconds, ISO: 2025-11-04T22:12:33.123456Z */
void rc_time_now_iso_us(char *out);

/*
 * Windows a cron run at `now` is responsible for: every aligned window of
 * length span whose end lies in (now - delay - lookback, now - delay].
 * At 22:12 with delay 2 min, lookback 1 h and span 10 min: ends 21:20..22:10,
 * i.e. starts 21:10..22:00 (six windows). Starts are written in ascending
 * order into starts[] (at most max); returns how many there are in total.
 */
size_t rc_run_windows(int64_t now, int64_t lookback, int64_t delay, int64_t span, int64_t *starts,
                      size_t max);

/* Aligned windows of length span that lie entirely inside [from, to). */
size_t rc_range_windows(int64_t from, int64_t to, int64_t span, int64_t *starts, size_t max);

#endif
