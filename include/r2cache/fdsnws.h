/*
 * fdsnws.h: FDSN web services (dataselect 1, availability 1) over the cache,
 * as `r2cache serve` answers them. The server hands every request whose
 * path starts with /fdsnws/ to rc_fdsnws_handle and sends back the reply.
 */
#ifndef R2CACHE_FDSNWS_H
#define R2CACHE_FDSNWS_H

#include <stddef.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/store.h"

typedef struct rc_fdsnws_reply {
    int status;
    const char *content_type;
    rc_buf body;
    char retry_after[16];
} rc_fdsnws_reply;

typedef struct rc_fdsnws_ctx {
    const rc_config *cfg;
    const char *store_url;
    const rc_store_opts *store_opts;
    int layout;
} rc_fdsnws_ctx; /* the handler opens its own store handle per call */

/* path starts with /fdsnws/; query = raw query string without '?', may be
 * NULL; returns 0 when out is filled */
int rc_fdsnws_handle(const rc_fdsnws_ctx *ctx, const char *method, const char *path,
                     const char *query, const char *body, size_t body_len,
                     rc_fdsnws_reply *out);
void rc_fdsnws_reply_free(rc_fdsnws_reply *r);

#endif
