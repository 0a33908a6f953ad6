/*
 * test_timewin.c: calendar arithmetic, time parsing and the window sets a
 * cron run and a fill are responsible for. Epoch constants were computed
 * independently (Python calendar.timegm) and are written here as literals.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "r2cache/timewin.h"

#define M 60
#define H 3600
#define DAY 86400
#define T20251104 1762214400LL /* 2025-11-04T00:00:00Z */
#define T20251105 1762300800LL /* 2025-11-05T00:00:00Z */
#define T20251231 1767139200LL /* 2025-12-31T00:00:00Z */
#define T20260101 1767225600LL /* 2026-01-01T00:00:00Z */
#define T20240229 1709164800LL /* 2024-02-29T00:00:00Z */
#define T20000229 951782400LL  /* 2000-02-29T00:00:00Z */
#define T21000301 4107542400LL /* 2100-03-01T00:00:00Z */
#define T19000101 (-2208988800LL)

/* ---- calendar ---- */

Test(calendar, days_from_civil_known_days)
{
    cr_assert_eq(rc_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(rc_days_from_civil(1969, 12, 31), -1);
    cr_assert_eq(rc_days_from_civil(2025, 11, 4), T20251104 / DAY);
    cr_assert_eq(rc_days_from_civil(2024, 2, 29), T20240229 / DAY);
    cr_assert_eq(rc_days_from_civil(2000, 2, 29), T20000229 / DAY);
    cr_assert_eq(rc_days_from_civil(2100, 3, 1), T21000301 / DAY);
    cr_assert_eq(rc_days_from_civil(1900, 1, 1), T19000101 / DAY);
}

static int month_len(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return n[m - 1];
}

/* Walk every day from 1600 to 2400 and check each step advances the date. */
Test(calendar, civil_from_days_walks_every_day)
{
    int64_t d0 = rc_days_from_civil(1600, 1, 1);
    int py = 1600, pm = 1, pd = 1;
    for (int64_t d = d0 + 1; d < d0 + 800 * 366; d++) {
        int y, m, dd;
        rc_civil_from_days(d, &y, &m, &dd);
        if (pd < month_len(py, pm)) {
            pd++;
        } else if (pm < 12) {
            pm++;
            pd = 1;
        } else {
            py++;
            pm = 1;
            pd = 1;
        }
        if (y != py || m != pm || dd != pd)
            cr_assert_fail("day %lld: got %d-%d-%d want %d-%d-%d", (long long)d, y, m, dd, py, pm,
                           pd);
        if (rc_days_from_civil(y, m, dd) != d)
            cr_assert_fail("days_from_civil(%d-%d-%d) != %lld", y, m, dd, (long long)d);
    }
}

Test(calendar, leap_years)
{
    int64_t t;
    rc_err e = {0};
    cr_assert_eq(rc_time_make(2024, 2, 29, 0, 0, 0, &t, &e), RC_OK);
    cr_assert_eq(t, T20240229);
    cr_assert_eq(rc_time_make(2000, 2, 29, 0, 0, 0, &t, &e), RC_OK);
    cr_assert_eq(t, T20000229);
    cr_assert_eq(rc_time_make(2100, 2, 29, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "day 29 does not exist in 2100-02") != NULL, "%s", e.msg);
    cr_assert_eq(rc_time_make(2025, 2, 29, 0, 0, 0, &t, &e), RC_EINVAL);
    /* 2100-02-28 is followed by 2100-03-01. */
    cr_assert_eq(rc_time_make(2100, 2, 28, 0, 0, 0, &t, &e), RC_OK);
    cr_assert_eq(t + DAY, T21000301);
}

Test(calendar, time_make_rejects_out_of_range)
{
    int64_t t = 42;
    rc_err e = {0};
    cr_assert_eq(rc_time_make(2025, 13, 1, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "month 13 is out of range (01-12)");
    cr_assert_eq(rc_time_make(2025, 2, 30, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "day 30 does not exist in 2025-02 (1-28)");
    cr_assert_eq(rc_time_make(2025, 4, 31, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_make(2025, 1, 0, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_make(2025, 1, 1, 24, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "hour 24 is out of range (00-23)");
    cr_assert_eq(rc_time_make(2025, 1, 1, 0, 60, 0, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_make(2025, 1, 1, 0, 0, 60, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_make(-1, 1, 1, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_make(10000, 1, 1, 0, 0, 0, &t, &e), RC_EINVAL);
    cr_assert_eq(t, 42, "output untouched on failure");
    cr_assert_eq(rc_time_make(2025, 11, 4, 22, 12, 33, &t, &e), RC_OK);
    cr_assert_eq(t, T20251104 + 22 * H + 12 * M + 33);
}

Test(calendar, split)
{
    rc_tm tm;
    rc_time_split(T20251104 + 22 * H + 12 * M + 33, &tm);
    cr_assert_eq(tm.year, 2025);
    cr_assert_eq(tm.mon, 11);
    cr_assert_eq(tm.mday, 4);
    cr_assert_eq(tm.hour, 22);
    cr_assert_eq(tm.min, 12);
    cr_assert_eq(tm.sec, 33);
    cr_assert_eq(tm.yday, 308);
    rc_time_split(-1, &tm);
    cr_assert_eq(tm.year, 1969);
    cr_assert_eq(tm.mon, 12);
    cr_assert_eq(tm.mday, 31);
    cr_assert_eq(tm.hour, 23);
    cr_assert_eq(tm.min, 59);
    cr_assert_eq(tm.sec, 59);
    cr_assert_eq(tm.yday, 365);
    rc_time_split(T20240229 + DAY - 1, &tm);
    cr_assert_eq(tm.yday, 60);
    cr_assert_eq(tm.mday, 29);
    rc_time_split(T20260101 - 1, &tm); /* 2025-12-31T23:59:59 */
    cr_assert_eq(tm.yday, 365);
    rc_time_split(1735603200LL, &tm); /* 2024-12-31 */
    cr_assert_eq(tm.yday, 366);
}

Test(calendar, floor_and_day_start)
{
    cr_assert_eq(rc_floor(599, 600), 0);
    cr_assert_eq(rc_floor(600, 600), 600);
    cr_assert_eq(rc_floor(-1, 600), -600);
    cr_assert_eq(rc_floor(-600, 600), -600);
    cr_assert_eq(rc_floor(-601, 600), -1200);
    cr_assert_eq(rc_floor(T20251104 + 23 * H + 59 * M, 6 * H), T20251104 + 18 * H);
    cr_assert_eq(rc_day_start(T20251104 + 22 * H + 12 * M), T20251104);
    cr_assert_eq(rc_day_start(-1), -DAY);
    cr_assert_eq(rc_day_start(T19000101 + 5), T19000101);
}

/* ---- parsing ---- */

static int64_t parse_ok(const char *s, int64_t now)
{
    int64_t t = 0;
    rc_err e = {0};
    int rc = rc_time_parse(s, now, &t, &e);
    cr_assert_eq(rc, RC_OK, "rc_time_parse(\"%s\"): %s", s, e.msg);
    return t;
}

Test(time_parse, every_accepted_form)
{
    const int64_t now = T20251104 + 22 * H + 12 * M + 33;
    const int64_t t22 = T20251104 + 22 * H;
    cr_assert_eq(parse_ok("2025-11-04T22:00:00Z", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00Z", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00.000Z", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00.0", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00+00:00", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00-00:00", now), t22);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00+02:00", now), T20251104 + 20 * H);
    cr_assert_eq(parse_ok("2025-11-04T22:00:00-05:30", now), T20251105 + 3 * H + 30 * M);
    cr_assert_eq(parse_ok("2025-11-04", now), T20251104);
    cr_assert_eq(parse_ok("2024-02-29", now), T20240229);
    cr_assert_eq(parse_ok("2025-12-31T23:59:59Z", now), T20260101 - 1);
    cr_assert_eq(parse_ok("now", now), now);
    cr_assert_eq(parse_ok("7d", now), now - 7 * DAY);
    cr_assert_eq(parse_ok("6h", now), now - 6 * H);
    cr_assert_eq(parse_ok("30m", now), now - 30 * M);
    cr_assert_eq(parse_ok("90s", now), now - 90);
    cr_assert_eq(parse_ok("2w", now), now - 14 * DAY);
    cr_assert_eq(parse_ok("0d", now), now);
}

Test(time_parse, rejections_quote_the_input)
{
    static const char *const bad[] = {
        "2025-02-30",
        "2025-11-04T24:00:00Z",
        "garbage",
        "",
        "2025-11-04T22:00:00.5Z",
        "2025-11-04T22:00:00.000001Z",
        "2025-11-4",
        "2025-11-04T22",
        "2025-11-04T22:00:00Zjunk",
        "2025-11-04 22:00:00",
        "-7d",
        "7",
        "7x",
        "7dd",
        "d",
        "2025-13-01",
        "2025-11-04T22:00:60Z",
        "2025-11-04T22:60Z",
        "2025-11-04T22:00:00+0200",
        "2025-11-04T22:00:00+24:00",
        "2025-11-04T22:00:00.Z",
        "NOW",
        "2025-11-04Z",
        "2100-02-29",
        " 2025-11-04",
        "99999999999999999999d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        rc_err e = {0};
        int rc = rc_time_parse(bad[i], 1000, &t, &e);
        cr_assert_eq(rc, RC_EINVAL, "\"%s\" accepted as %lld", bad[i], (long long)t);
        cr_assert_eq(t, 42, "\"%s\" changed the output", bad[i]);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        if (bad[i][0])
            cr_assert(strstr(e.msg, quoted) != NULL, "message for %s: %s", bad[i], e.msg);
    }
}

Test(time_parse, messages)
{
    int64_t t;
    rc_err e = {0};
    rc_time_parse("garbage", 0, &t, &e);
    cr_assert_str_eq(e.msg, "time 'garbage' is not understood; accepted: 2025-11-04T22:00:00Z, "
                            "2025-11-04T22:00Z, 2025-11-04T22:00:00, 2025-11-04T22:00:00.000Z, "
                            "2025-11-04T22:00:00+00:00, 2025-11-04, now, or an age such as 7d, "
                            "6h, 30m, 90s, 2w");
    rc_time_parse("2025-11-04T22:00:00.5Z", 0, &t, &e);
    cr_assert_str_eq(e.msg, "time '2025-11-04T22:00:00.5Z' has a fractional second; windows are "
                            "whole seconds, give e.g. 2025-11-04T22:00:00Z");
    rc_time_parse("2025-02-30", 0, &t, &e);
    cr_assert_str_eq(e.msg, "time '2025-02-30': day 30 does not exist in 2025-02 (1-28)");
    rc_time_parse("2025-11-04T24:00:00Z", 0, &t, &e);
    cr_assert_str_eq(e.msg, "time '2025-11-04T24:00:00Z': hour 24 is out of range (00-23)");
}

/* rc_time_parse_us (get): the same forms plus up to 6 fractional digits. */
Test(time_parse, fractional_seconds_to_the_microsecond)
{
    const int64_t t22 = 1762293600; /* 2025-11-04T22:00:00Z */
    static const struct {
        const char *in;
        int64_t us;
    } ok[] = {{"2025-11-04T22:00:00.25Z", 250000},
              {"2025-11-04T22:00:00.5", 500000},
              {"2025-11-04T22:00:00.000001Z", 1},
              {"2025-11-04T22:00:00.999999Z", 999999},
              {"2025-11-04T22:00:00.1234560Z", 123456}, /* zeros beyond microseconds */
              {"2025-11-04T22:00:00.000Z", 0},
              {"2025-11-04T23:00:00.75+01:00", 750000},
              {"2025-11-04T22:00:00Z", 0},
              {"2025-11-04T22:00Z", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t us = -1;
        rc_err e = {0};
        cr_assert_eq(rc_time_parse_us(ok[i].in, 0, &us, &e), RC_OK, "%s: %s", ok[i].in, e.msg);
        cr_assert_eq(us, t22 * 1000000 + ok[i].us, "%s gave %lld", ok[i].in, (long long)us);
    }
    int64_t us;
    rc_err e = {0};
    cr_assert_eq(rc_time_parse_us("now", t22, &us, &e), RC_OK);
    cr_assert_eq(us, t22 * 1000000);
    cr_assert_eq(rc_time_parse_us("1h", t22, &us, &e), RC_OK);
    cr_assert_eq(us, (t22 - 3600) * 1000000);
    cr_assert_eq(rc_time_parse_us("2025-11-04T22:00:00.1234567Z", 0, &us, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "time '2025-11-04T22:00:00.1234567Z': at most 6 fractional digits "
                            "(microseconds)");
    cr_assert_eq(rc_time_parse_us("2025-11-04T22:00:00.Z", 0, &us, &e), RC_EINVAL);
    cr_assert_eq(rc_time_parse_us("2025-11-04T22:00:00.5x", 0, &us, &e), RC_EINVAL);
    cr_assert_eq(rc_time_parse_us("9999-12-31T00:00:00.5Z", 0, &us, &e), RC_EINVAL);
    /* where windows are meant, a fraction is still refused */
    int64_t t;
    cr_assert_eq(rc_time_parse("2025-11-04T22:00:00.25Z", 0, &t, &e), RC_EINVAL);
}

Test(duration, accepted_and_rejected)
{
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"90s", 90}, {"2m", 120}, {"1h", 3600}, {"3d", 259200}, {"1w", 604800}, {"600", 600},
              {"0", 0},    {"0s", 0},   {"10m", 600}, {"6h", 21600},  {"24h", 86400}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        rc_err e = {0};
        cr_assert_eq(rc_duration_parse(ok[i].s, &v, &e), RC_OK, "%s: %s", ok[i].s, e.msg);
        cr_assert_eq(v, ok[i].v, "%s", ok[i].s);
    }
    static const char *const bad[] = {"",    "1.5h", "-5", "h",  "5 m",
                                      "5mm", "1y",   "+5", "5M", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = -1;
        rc_err e = {0};
        cr_assert_eq(rc_duration_parse(bad[i], &v, &e), RC_EINVAL, "%s accepted", bad[i]);
        cr_assert_eq(v, -1);
        cr_assert(strstr(e.msg, "90s, 2m, 1h, 3d, 1w") != NULL, "%s", e.msg);
    }
    int64_t v;
    rc_err e = {0};
    rc_duration_parse("1y", &v, &e);
    cr_assert_str_eq(e.msg, "duration '1y' is not understood; give a whole number with a unit: "
                            "90s, 2m, 1h, 3d, 1w, or a bare number of seconds");
}

/* ---- formatting ---- */

Test(format, all_helpers)
{
    char b[RC_TIME_STR_MAX];
    const int64_t t = T20251104 + 22 * H + 12 * M + 33;
    rc_time_iso(t, b);
    cr_assert_str_eq(b, "2025-11-04T22:12:33Z");
    rc_time_stamp(t, b);
    cr_assert_str_eq(b, "2025-11-04-22-12-33");
    rc_time_date(t, b);
    cr_assert_str_eq(b, "2025-11-04");
    rc_time_hms(t, b);
    cr_assert_str_eq(b, "22:12:33");
    rc_time_iso(-1, b);
    cr_assert_str_eq(b, "1969-12-31T23:59:59Z");
    rc_time_stamp(T20260101, b);
    cr_assert_str_eq(b, "2026-01-01-00-00-00");
    rc_time_date(T20240229 + DAY - 1, b);
    cr_assert_str_eq(b, "2024-02-29");
    rc_time_iso(T19000101, b);
    cr_assert_str_eq(b, "1900-01-01T00:00:00Z");
}

Test(format, now_with_microseconds)
{
    char b[RC_TIME_STR_MAX];
    rc_time_now_iso_us(b);
    cr_assert_eq(strlen(b), 27, "%s", b);
    cr_assert_eq(b[4], '-');
    cr_assert_eq(b[10], 'T');
    cr_assert_eq(b[19], '.');
    cr_assert_eq(b[26], 'Z');
    cr_assert(strncmp(b, "20", 2) == 0, "%s", b);
}

/* ---- windows ---- */

static void assert_starts(const int64_t *got, size_t n, const int64_t *want, size_t nwant)
{
    cr_assert_eq(n, nwant, "window count %zu, expected %zu", n, nwant);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "window %zu: %lld, expected %lld", i, (long long)got[i],
                     (long long)want[i]);
}

Test(run_windows, ten_minutes_at_22_12)
{
    int64_t s[16];
    size_t n = rc_run_windows(T20251104 + 22 * H + 12 * M, H, 2 * M, 10 * M, s, 16);
    const int64_t want[] = {T20251104 + 21 * H + 10 * M, T20251104 + 21 * H + 20 * M,
                            T20251104 + 21 * H + 30 * M, T20251104 + 21 * H + 40 * M,
                            T20251104 + 21 * H + 50 * M, T20251104 + 22 * H};
    assert_starts(s, n, want, 6);
    /* Seconds past the run minute change nothing. */
    n = rc_run_windows(T20251104 + 22 * H + 12 * M + 59, H, 2 * M, 10 * M, s, 16);
    assert_starts(s, n, want, 6);
}

Test(run_windows, six_hours_at_06_02_only_midnight)
{
    int64_t s[8];
    const int64_t want[] = {T20251104};
    size_t n = rc_run_windows(T20251104 + 6 * H + 2 * M, H, 2 * M, 6 * H, s, 8);
    assert_starts(s, n, want, 1);
    n = rc_run_windows(T20251104 + 6 * H + 2 * M, 6 * H, 2 * M, 6 * H, s, 8);
    assert_starts(s, n, want, 1);
    /* 06:01 with delay 2 min: the 00:00-06:00 window is not due yet. */
    n = rc_run_windows(T20251104 + 6 * H + 1 * M, H, 2 * M, 6 * H, s, 8);
    cr_assert_eq(n, 0);
    /* 05:52: nothing of span 6 h ends in (04:50, 05:50]. */
    n = rc_run_windows(T20251104 + 5 * H + 52 * M, H, 2 * M, 6 * H, s, 8);
    cr_assert_eq(n, 0);
}

Test(run_windows, new_year)
{
    int64_t s[8];
    const int64_t run = T20260101 + 2 * M;
    const int64_t want6[] = {T20251231 + 18 * H};
    size_t n = rc_run_windows(run, H, 2 * M, 6 * H, s, 8);
    assert_starts(s, n, want6, 1);
    const int64_t want10[] = {T20251231 + 23 * H + 50 * M};
    n = rc_run_windows(run, 10 * M, 2 * M, 10 * M, s, 8);
    assert_starts(s, n, want10, 1);
    n = rc_run_windows(run, H, 2 * M, 10 * M, s, 8);
    cr_assert_eq(n, 6);
    cr_assert_eq(s[0], T20251231 + 23 * H);
    cr_assert_eq(s[5], T20251231 + 23 * H + 50 * M);
}

Test(run_windows, boundaries)
{
    int64_t s[8];
    const int64_t at2210 = T20251104 + 22 * H + 10 * M;
    const int64_t w2200[] = {T20251104 + 22 * H};
    size_t n = rc_run_windows(at2210, 10 * M, 0, 10 * M, s, 8);
    assert_starts(s, n, w2200, 1);
    /* One second earlier the 22:00 window has not ended. */
    const int64_t w2150[] = {T20251104 + 21 * H + 50 * M};
    n = rc_run_windows(at2210 - 1, 10 * M, 0, 10 * M, s, 8);
    assert_starts(s, n, w2150, 1);
    /* The lookback edge is exclusive: ends in (21:50, 22:10] are 22:00 and 22:10. */
    const int64_t w2[] = {T20251104 + 21 * H + 50 * M, T20251104 + 22 * H};
    n = rc_run_windows(at2210, 20 * M, 0, 10 * M, s, 8);
    assert_starts(s, n, w2, 2);
    /* max smaller than the count: total returned, only max written. */
    int64_t small[3] = {0, 0, -7};
    n = rc_run_windows(T20251104 + 22 * H + 12 * M, H, 2 * M, 10 * M, small, 2);
    cr_assert_eq(n, 6);
    cr_assert_eq(small[0], T20251104 + 21 * H + 10 * M);
    cr_assert_eq(small[1], T20251104 + 21 * H + 20 * M);
    cr_assert_eq(small[2], -7);
    cr_assert_eq(rc_run_windows(at2210, H, 0, 0, s, 8), 0);
    cr_assert_eq(rc_run_windows(at2210, 0, 0, 10 * M, s, 8), 0);
    /* Before 1970 as well. */
    const int64_t wneg[] = {-600};
    n = rc_run_windows(0, 10 * M, 0, 10 * M, s, 8);
    assert_starts(s, n, wneg, 1);
}

Test(range_windows, inside_from_to)
{
    int64_t s[200];
    const int64_t want[] = {T20251104 + 21 * H + 10 * M, T20251104 + 21 * H + 20 * M,
                            T20251104 + 21 * H + 30 * M, T20251104 + 21 * H + 40 * M,
                            T20251104 + 21 * H + 50 * M};
    size_t n = rc_range_windows(T20251104 + 21 * H + 5 * M, T20251104 + 22 * H, 10 * M, s, 200);
    assert_starts(s, n, want, 5);
    /* A partial window at the end is not included. */
    n = rc_range_windows(T20251104 + 21 * H + 5 * M, T20251104 + 22 * H + 9 * M, 10 * M, s, 200);
    assert_starts(s, n, want, 5);
    const int64_t w6[] = {T20251104, T20251104 + 6 * H, T20251104 + 12 * H, T20251104 + 18 * H};
    n = rc_range_windows(T20251104, T20251105, 6 * H, s, 200);
    assert_starts(s, n, w6, 4);
    n = rc_range_windows(T20251104, T20251105 - 1, 6 * H, s, 200);
    assert_starts(s, n, w6, 3);
    cr_assert_eq(rc_range_windows(T20251104, T20251105, 10 * M, s, 200), 144);
    cr_assert_eq(s[143], T20251105 - 10 * M);
    cr_assert_eq(rc_range_windows(T20251105, T20251104, 10 * M, s, 200), 0);
    cr_assert_eq(rc_range_windows(T20251104, T20251104, 10 * M, s, 200), 0);
    /* Leap day: 2024-02-29 has 24 one-hour windows and 2024-02-28 23:00 is outside. */
    cr_assert_eq(rc_range_windows(T20240229, T20240229 + DAY, H, s, 200), 24);
    cr_assert_eq(s[0], T20240229);
}

/* ---- months ---- */

#define T20251101 1761955200LL /* 2025-11-01T00:00:00Z */
#define T20251201 1764547200LL /* 2025-12-01T00:00:00Z */
#define T20240201 1706745600LL /* 2024-02-01T00:00:00Z */
#define T20240301 1709251200LL /* 2024-03-01T00:00:00Z */
#define T21000201 4105123200LL /* 2100-02-01T00:00:00Z */
#define T19691201 (-2678400LL) /* 1969-12-01T00:00:00Z */

Test(month, start_of_any_time_in_it)
{
    cr_assert_eq(rc_month_start(T20251104), T20251101);
    cr_assert_eq(rc_month_start(T20251101), T20251101);
    cr_assert_eq(rc_month_start(T20251201 - 1), T20251101);
    cr_assert_eq(rc_month_start(T20251231 + 23 * H + 59 * M + 59), T20251201);
    cr_assert_eq(rc_month_start(T20260101), T20260101);
    cr_assert_eq(rc_month_start(T20240229 + 12 * H), T20240201);
    cr_assert_eq(rc_month_start(-1), T19691201);
    cr_assert_eq(rc_month_start(0), 0);
}

Test(month, next_crosses_years_and_february)
{
    cr_assert_eq(rc_month_next(T20251101), T20251201);
    cr_assert_eq(rc_month_next(T20251104 + 5 * H), T20251201);
    cr_assert_eq(rc_month_next(T20251231), T20260101);
    cr_assert_eq(rc_month_next(T20240229), T20240301);
    cr_assert_eq(rc_month_next(T21000201), T21000301);
    cr_assert_eq(rc_month_next(-1), 0);
}

Test(month, days_in_month)
{
    cr_assert_eq(rc_month_days(T20251104), 30);
    cr_assert_eq(rc_month_days(T20251231), 31);
    cr_assert_eq(rc_month_days(T20240229), 29); /* leap year */
    cr_assert_eq(rc_month_days(T21000201), 28); /* 2100 is not one */
    cr_assert_eq(rc_month_days(T20000229), 29); /* 2000 is */
    cr_assert_eq(rc_month_days(T20240301), 31);
    cr_assert_eq(rc_month_days(-1), 31);
}

Test(time_parse, times_keys_cannot_hold_are_refused)
{
    int64_t t;
    rc_err e;
    cr_assert_eq(rc_time_parse("9999-12-30T23:59:59Z", 0, &t, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(t, RC_TIME_LAST - 1);
    cr_assert_eq(rc_time_parse("9999-12-31T00:00:00Z", 0, &t, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "time '9999-12-31T00:00:00Z' is outside 0001-01-01 .. 9999-12-30: "
                            "keys and manifests hold 4-digit years, and a window of 9999-12-31 "
                            "would end in the year 10000");
    cr_assert_eq(rc_time_parse("0000-12-31", 0, &t, &e), RC_EINVAL);
    cr_assert_eq(rc_time_parse("0001-01-01", 0, &t, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(t, RC_TIME_FIRST);
    cr_assert_eq(rc_time_parse("2d", RC_TIME_FIRST + 86400, &t, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "time '2d' reaches back before the year 1");
}

Test(hours_parse, finite_non_negative_decimals_only)
{
    double h = -1;
    cr_assert_eq(rc_hours_parse("2", &h), 0);
    cr_assert_float_eq(h, 2.0, 1e-12);
    cr_assert_eq(rc_hours_parse("0.5", &h), 0);
    cr_assert_float_eq(h, 0.5, 1e-12);
    const char *bad[] = {"",    " 2",  "nan",  "inf", "-1",    "+1", "2h",
                         "1e7", "1e3", "0x10", ".",   "1e6.1", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(rc_hours_parse(bad[i], &h), -1, "'%s' accepted", bad[i]);
}
