/*
 * err.c: filling rc_err. The message is the operator's only clue, so
 * wrapping keeps the innermost reason and adds context in front of it.
 */
#include "r2cache/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int rc_err_set(rc_err *e, rc_status code, const char *fmt, ...)
{
    if (!e) return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int rc_err_wrap(rc_err *e, const char *fmt, ...)
{
    if (!e) return RC_OK;
    char ctx[RC_ERR_MSG_MAX];
    char old[RC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Build in a buffer large enough for both parts, then cut to size: the
     * innermost reason is at the end, so a cut loses the least useful part
     * only when the context itself is huge. */
    char both[2 * RC_ERR_MSG_MAX + 4];
    if (old[0])
        snprintf(both, sizeof both, "%s: %s", ctx, old);
    else
        snprintf(both, sizeof both, "%s", ctx);
    memcpy(e->msg, both, sizeof e->msg - 1);
    e->msg[sizeof e->msg - 1] = '\0';
    return e->code;
}

void rc_err_clear(rc_err *e)
{
    if (e) {
        e->code = RC_OK;
        e->msg[0] = '\0';
    }
}

const char *rc_status_name(rc_status s)
{
    switch (s) {
    case RC_OK:
        return "ok";
    case RC_EINVAL:
        return "invalid";
    case RC_ENOTFOUND:
        return "not-found";
    case RC_ENODATA:
        return "no-data";
    case RC_ECONFLICT:
        return "conflict";
    case RC_EIO:
        return "io";
    case RC_EAUTH:
        return "auth";
    case RC_ENOMEM:
        return "no-memory";
    case RC_EFORMAT:
        return "format";
    case RC_EINTR:
        return "interrupted";
    case RC_EUNUSABLE:
        return "unusable";
    }
    return "unknown";
}

rc_exit rc_exit_for(rc_status s)
{
    switch (s) {
    case RC_OK:
        return RC_EXIT_OK;
    case RC_EINVAL:
        return RC_EXIT_USAGE;
    case RC_EAUTH:
    case RC_EUNUSABLE:
        return RC_EXIT_UNUSABLE;
    default:
        return RC_EXIT_PARTIAL;
    }
}
