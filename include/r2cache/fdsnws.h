/*
 * fdsnws.h: FDSN web services over the cache, for `r2cache serve`:
 * dataselect 1 (miniSEED 2 built from the cached chunks, through
 * readback.c) and availability 1 (from the manifests). The HTTP server
 * (serve) hands every request under /fdsnws/ to rc_fdsnws_handle; the reply
 * (status, type, body, Retry-After) is complete. What is returned exactly
 * is in docs/operations.md, "FDSN web services".
 */
#ifndef R2CACHE_FDSNWS_H
#define R2CACHE_FDSNWS_H

#include <stddef.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/store.h"

typedef struct rc_fdsnws_reply {
    int status;
    const char *content_type; /* static string */
    rc_buf body;
    char retry_after[16]; /* "" = no Retry-After header */
} rc_fdsnws_reply;

typedef struct rc_fdsnws_ctx {
    const rc_config *cfg;            /* stations, base span, store settings */
    const char *store_url;           /* NULL = cfg->store_url, else ./r2cache-data */
    const rc_store_opts *store_opts; /* NULL = defaults */
    int layout;                      /* rc_layout; < 0 = cfg->layout */
} rc_fdsnws_ctx; /* the handler opens its own store handle per call; rc_store handles are not
                    shared across threads */

/* path starts with /fdsnws/; query = raw query string without '?', may be
 * NULL; returns 0 when out is filled (including error replies), -1 only
 * when out of memory before anything could be filled. */
int rc_fdsnws_handle(const rc_fdsnws_ctx *ctx, const char *method, const char *path,
                     const char *query, const char *body, size_t body_len, rc_fdsnws_reply *out);
void rc_fdsnws_reply_free(rc_fdsnws_reply *r);

#endif
