/*
 * source_int.h: the source backend interface, private to source*.c.
 *
 * A backend is one file that fills an rc_source_ops and exports one
 * constructor; source.c names it in its backend table (one row per URL
 * scheme) and nowhere else. The constructor finds s->url, s->shown and
 * s->opts set (options clamped, see source.h) and fills s->impl and s->ops,
 * or returns an error having freed what it allocated. source.c checks
 * requests before fetch_many sees them: every line has start < end, nreq > 0.
 */
#ifndef R2CACHE_SOURCE_INT_H
#define R2CACHE_SOURCE_INT_H

#include "r2cache/source.h"

typedef struct rc_source_ops {
    const char *scheme;
    int (*fetch_many)(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb, void *ud,
                      rc_err *e);
    void (*close)(rc_source *s);
} rc_source_ops;

struct rc_source {
    const rc_source_ops *ops;
    char *url;   /* as given, credentials included: for the backend's requests only */
    char *shown; /* url through rc_url_redact: for every message */
    char *name;  /* rc_source_name: default name of a single source, NULL for a list */
    /* rc_source_credit, set by the source list (sources.c) only */
    void (*credit)(rc_source *s, int source_index, int64_t windows);
    rc_source_opts opts;
    void *impl;
};

/* Backend constructors, named only by source.c's backend table. */
typedef int (*rc_source_open_fn)(rc_source *s, rc_err *e);
int rc_source_fdsn_open(rc_source *s, rc_err *e); /* source_fdsn.c */
int rc_source_sds_open(rc_source *s, rc_err *e);  /* source_sds.c */

/* A source not opened from a URL (the list of sources.c): shown is what
 * messages name, opts its options (clamped like rc_source_open's), ops and
 * impl its behaviour; ops->close frees impl. On error nothing is kept and
 * impl is not freed. */
int rc_source_wrap(const char *shown, const rc_source_opts *opts, const rc_source_ops *ops,
                   void *impl, rc_source **out, rc_err *e);

#endif
