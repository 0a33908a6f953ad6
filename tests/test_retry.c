/*
 * test_retry.c: the backoff ceiling, Retry-After, which network results are
 * transient, the monotonic clock and the stoppable sleep.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "r2cache/retry.h"

Test(retry, full_jitter_stays_under_a_doubling_ceiling_and_the_cap)
{
    rc_retry r;
    rc_retry_init(&r, 0.5, 3.0, 42);
    const double ceil_s[] = {0.5, 1.0, 2.0, 3.0, 3.0, 3.0};
    for (int attempt = 1; attempt <= 6; attempt++) {
        double lo = 1e9, hi = -1;
        for (int i = 0; i < 2000; i++) {
            double d = rc_retry_backoff(&r, attempt);
            cr_assert(d >= 0 && d < ceil_s[attempt - 1], "attempt %d: %f", attempt, d);
            if (d < lo) lo = d;
            if (d > hi) hi = d;
        }
        /* full jitter spreads over the whole range, not just its top */
        cr_assert_lt(lo, 0.05 * ceil_s[attempt - 1]);
        cr_assert_gt(hi, 0.95 * ceil_s[attempt - 1]);
    }
    rc_retry z;
    rc_retry_init(&z, 0.2, 0, 1);
    cr_assert_eq(rc_retry_backoff(&z, 3), 0.0); /* cap 0: never waits */
}

Test(retry, retry_after_takes_delta_seconds_only)
{
    cr_assert_eq(rc_retry_after_parse("1", 1), 1.0);
    cr_assert_eq(rc_retry_after_parse(" 30", 3), 30.0);
    cr_assert_eq(rc_retry_after_parse(" 30\r\n", 5), 30.0);
    cr_assert_eq(rc_retry_after_parse("2.5", 3), 2.5);
    cr_assert_eq(rc_retry_after_parse("99999999999", 11), 1e6);
    cr_assert_eq(rc_retry_after_parse("", 0), -1.0);
    cr_assert_eq(rc_retry_after_parse(" ", 1), -1.0);
    cr_assert_eq(rc_retry_after_parse("-3", 2), -1.0);
    const char *date = "Wed, 21 Oct 2015 07:28:00 GMT";
    cr_assert_eq(rc_retry_after_parse(date, strlen(date)), -1.0);
    cr_assert_eq(rc_retry_after_parse("12", 1), 1.0); /* n bounds the value */
}

Test(retry, transient_http_statuses)
{
    const long yes[] = {408, 429, 500, 502, 503, 504};
    const long no[] = {200, 204, 301, 400, 401, 403, 404, 409, 412, 413, 501, 505};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(rc_retry_http_status(yes[i]), "%ld", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert(!rc_retry_http_status(no[i]), "%ld", no[i]);
}

Test(retry, curl_results_by_what_another_attempt_can_change)
{
    cr_assert_eq(rc_retry_curl(CURLE_RECV_ERROR, 1), RC_RETRY_TRANSIENT);
    cr_assert_eq(rc_retry_curl(CURLE_PARTIAL_FILE, 1), RC_RETRY_TRANSIENT);
    cr_assert_eq(rc_retry_curl(CURLE_GOT_NOTHING, 1), RC_RETRY_TRANSIENT);
    cr_assert_eq(rc_retry_curl(CURLE_OPERATION_TIMEDOUT, 1), RC_RETRY_TRANSIENT);
    cr_assert_eq(rc_retry_curl(CURLE_OPERATION_TIMEDOUT, 0), RC_RETRY_UNREACHED);
    cr_assert_eq(rc_retry_curl(CURLE_COULDNT_CONNECT, 0), RC_RETRY_UNREACHED);
    cr_assert_eq(rc_retry_curl(CURLE_COULDNT_RESOLVE_HOST, 0), RC_RETRY_UNREACHED);
    cr_assert_eq(rc_retry_curl(CURLE_PEER_FAILED_VERIFICATION, 1), RC_RETRY_NEVER);
    cr_assert_eq(rc_retry_curl(CURLE_URL_MALFORMAT, 0), RC_RETRY_NEVER);
    cr_assert_eq(rc_retry_curl(CURLE_TOO_MANY_REDIRECTS, 1), RC_RETRY_NEVER);
    cr_assert_eq(rc_retry_curl(CURLE_WRITE_ERROR, 1), RC_RETRY_NO);
    cr_assert_eq(rc_retry_curl(CURLE_OK, 1), RC_RETRY_NO);
}

Test(retry, sleep_runs_on_the_monotonic_clock_and_stops_when_asked)
{
    double t0 = rc_retry_monotonic_s();
    rc_retry_sleep(0.15, NULL);
    double t1 = rc_retry_monotonic_s();
    cr_assert_geq(t1 - t0, 0.15);
    cr_assert_lt(t1 - t0, 1.0);
    volatile sig_atomic_t stop = 1;
    rc_retry_sleep(30, &stop); /* already stopped: returns at once */
    cr_assert_lt(rc_retry_monotonic_s() - t1, 0.5);
    rc_retry_sleep(-1, NULL);
}
