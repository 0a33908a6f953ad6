/*
 * retry.h: when a network request is tried again, and how long to wait.
 *
 * One policy for every network path (source_fdsn.c, store_s3.c, and the
 * manifest and inventory write loops):
 *   - full-jitter exponential backoff (AWS, "Exponential Backoff and
 *     Jitter"): before attempt n+1, sleep uniform(0, min(cap, base * 2^(n-1)));
 *   - a server's Retry-After (delta-seconds) is honoured up to the cap;
 *   - which curl results and HTTP statuses are transient (worth another
 *     attempt), which mean nothing answers at that address, and which can
 *     only be fixed by the operator;
 *   - the monotonic clock every deadline and duration is measured on, and a
 *     sleep that a SIGTERM/SIGINT flag cuts short.
 * The jitter generator is xorshift64*: spread, not secrecy.
 */
#ifndef R2CACHE_RETRY_H
#define R2CACHE_RETRY_H

#include <signal.h>
#include <stdint.h>

#include <curl/curl.h>

typedef struct rc_retry {
    double base_s; /* the first ceiling */
    double cap_s;  /* no wait is longer */
    uint64_t rng;
} rc_retry;

/* Seeds the jitter from the clock, the process and salt (e.g. the owner's
 * address), so handles started together do not retry in step. */
void rc_retry_init(rc_retry *r, double base_s, double cap_s, uintptr_t salt);
/* Uniform in [0, 1). */
double rc_retry_rand01(rc_retry *r);
/* Full jitter after failed attempt `attempt` (1 = the first):
 * uniform(0, min(cap, base * 2^(attempt-1))). */
double rc_retry_backoff(rc_retry *r, int attempt);
/* Retry-After as sent (value without the header name, n bytes): seconds
 * (delta-seconds, fraction allowed, at most 1e6), or -1 when absent or an
 * HTTP-date (callers fall back to the jitter). */
double rc_retry_after_parse(const char *value, size_t n);

/* HTTP statuses worth another attempt: 408, 429, 500, 502, 503, 504. */
int rc_retry_http_status(long status);

typedef enum rc_retry_class {
    RC_RETRY_NO = 0,    /* not a transient failure (the caller decides) */
    RC_RETRY_TRANSIENT, /* once connected: reset, timeout, cut answer */
    RC_RETRY_UNREACHED, /* nothing answered: resolve, connect, TLS handshake, or a
                         * timeout before any connection; retry, then unusable */
    RC_RETRY_NEVER,     /* wrong URL, certificate or redirects: retrying cannot help */
} rc_retry_class;

/* Classify a curl result. connected: the transfer reached the server (a
 * response code, bytes sent, or pretransfer time); a timeout counts as
 * unreached only without a connection. */
rc_retry_class rc_retry_curl(CURLcode c, int connected);

/* Seconds on CLOCK_MONOTONIC. */
double rc_retry_monotonic_s(void);
/* Sleep s seconds; with stop, in steps of at most 0.1 s, returning as soon
 * as *stop is set. Signals do not shorten the sleep otherwise. */
void rc_retry_sleep(double s, volatile sig_atomic_t *stop);

#endif
