/*
 * retry.c: backoff, Retry-After, the classification of transient network
 * results, the monotonic clock and a stoppable sleep (see retry.h).
 */
#include "r2cache/retry.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void rc_retry_init(rc_retry *r, double base_s, double cap_s, uintptr_t salt)
{
    r->base_s = base_s;
    r->cap_s = cap_s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
             (uint64_t)salt;
    if (!r->rng) r->rng = 0x9E3779B97F4A7C15ULL;
}

double rc_retry_rand01(rc_retry *r)
{
    uint64_t x = r->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

double rc_retry_backoff(rc_retry *r, int attempt)
{
    double ceil_s = r->base_s;
    for (int i = 1; i < attempt && ceil_s < r->cap_s; i++)
        ceil_s *= 2;
    if (ceil_s > r->cap_s) ceil_s = r->cap_s;
    return rc_retry_rand01(r) * ceil_s;
}

double rc_retry_after_parse(const char *value, size_t n)
{
    size_t i = 0;
    while (i < n && (value[i] == ' ' || value[i] == '\t'))
        i++;
    if (i >= n || !isdigit((unsigned char)value[i])) return -1; /* absent, or an HTTP-date */
    double secs = 0;
    for (; i < n && isdigit((unsigned char)value[i]) && secs < 1e6; i++)
        secs = secs * 10 + (value[i] - '0');
    if (i < n && value[i] == '.') {
        double scale = 0.1;
        for (i++; i < n && isdigit((unsigned char)value[i]); i++, scale /= 10)
            secs += (value[i] - '0') * scale;
    }
    return secs > 1e6 ? 1e6 : secs;
}

int rc_retry_http_status(long st)
{
    return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

rc_retry_class rc_retry_curl(CURLcode c, int connected)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
        return RC_RETRY_UNREACHED;
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? RC_RETRY_TRANSIENT : RC_RETRY_UNREACHED;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return RC_RETRY_TRANSIENT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_TOO_MANY_REDIRECTS:
        return RC_RETRY_NEVER;
    default:
        return RC_RETRY_NO;
    }
}

double rc_retry_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rc_retry_sleep(double s, volatile sig_atomic_t *stop)
{
    while (s > 0 && !(stop && *stop)) {
        double step = stop && s > 0.1 ? 0.1 : s;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !(stop && *stop))
            ;
        s -= step;
    }
}
