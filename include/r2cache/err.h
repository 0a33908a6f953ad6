/*
 * err.h: status codes, exit codes and the error record every fallible
 * function fills.
 *
 * Functions return an rc_status (0 = RC_OK). When they fail they also write a
 * sentence into the caller's rc_err that names what failed (key, channel, URL,
 * config field) and what the operator can do about it. Secrets never go in.
 * A process exit code is a different type (rc_exit): only the front ends
 * turn a status into one, through rc_exit_for.
 */
#ifndef R2CACHE_ERR_H
#define R2CACHE_ERR_H

#include <stddef.h>

typedef enum rc_status {
    RC_OK = 0,
    RC_EINVAL = 1,    /* bad input: usage, config, malformed key or time */
    RC_ENOTFOUND = 2, /* object or file does not exist */
    RC_ENODATA = 3,   /* the source has no data for the request */
    RC_ECONFLICT = 4, /* conditional write lost (412/409 or local ETag mismatch) */
    RC_EIO = 5,       /* transient I/O failure that survived every retry */
    RC_EAUTH = 6,     /* credentials, signature, clock skew, permissions: fatal */
    RC_ENOMEM = 7,    /* allocation failed */
    RC_EFORMAT = 8,   /* unreadable data: bad miniSEED, bad JSON, bad zstd */
    RC_EINTR = 9,     /* stopped by SIGTERM/SIGINT */
    RC_EUNUSABLE = 10 /* store or source unusable (bucket missing, unreachable) */
} rc_status;

/* The exit status of the r2cache process (README, docs/r2cache.1). */
typedef enum rc_exit {
    RC_EXIT_OK = 0,      /* everything asked for was done */
    RC_EXIT_PARTIAL = 1, /* some channels or windows failed, or interrupted */
    RC_EXIT_USAGE = 2,   /* usage or configuration error: nothing was done */
    RC_EXIT_UNUSABLE = 3 /* store or source unusable (auth, unreachable, missing bucket) */
} rc_exit;

/* The exit code for a status: OK 0, EINVAL 2 (usage), EAUTH and EUNUSABLE 3,
 * anything else 1. */
rc_exit rc_exit_for(rc_status s);

#define RC_ERR_MSG_MAX 1024

typedef struct rc_err {
    rc_status code;
    char msg[RC_ERR_MSG_MAX];
} rc_err;

/* Record code and a printf-style message in e (e may be NULL); returns code. */
int rc_err_set(rc_err *e, rc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in e with more context: "ctx: old message". */
int rc_err_wrap(rc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void rc_err_clear(rc_err *e);

/* Short stable name of a status ("ok", "not-found", ...), for JSON output. */
const char *rc_status_name(rc_status s);

#endif
