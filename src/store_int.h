/*
 * store_int.h: the store backend interface, private to store*.c (and the
 * files a backend is split into: s3_*.c, file_path.c).
 *
 * A backend is one file that fills an rc_store_ops and exports one
 * constructor; store.c names it in its backend table (one row: scheme and
 * constructor) and nowhere else. The constructor receives the URL as given
 * ("s3://bucket/prefix", "file:///abs/path" or a plain directory path for
 * the table's first row) with s->url and s->opts already set, and fills
 * s->impl and s->ops, or returns an error having freed what it allocated.
 *
 * store.c checks arguments before calling an operation: keys are non-empty,
 * data is non-NULL when len > 0, info is non-NULL for head, prefix is
 * non-NULL for list.
 */
#ifndef R2CACHE_STORE_INT_H
#define R2CACHE_STORE_INT_H

#include "r2cache/store.h"

/* The handle: the backend's ops and state, the URL as given (for messages;
 * never holds secrets), the options it was opened with. */
struct rc_store {
    const struct rc_store_ops *ops;
    char *url;
    rc_store_opts opts;
    void *impl;
};

typedef struct rc_store_ops {
    const char *scheme;
    int body_md5; /* puts send the body's MD5 (rc_store_body_hash makes it) */
    int (*put)(rc_store *s, const char *key, const void *data, size_t len, const rc_put_opts *o,
               char *etag_out, rc_err *e);
    int (*get)(rc_store *s, const char *key, rc_buf *out, rc_obj_info *info, rc_err *e);
    int (*head)(rc_store *s, const char *key, rc_obj_info *info, rc_err *e);
    int (*del)(rc_store *s, const char *key, rc_err *e);
    int (*list)(rc_store *s, const char *prefix, rc_list_cb cb, void *ud, rc_err *e);
    /* Optional (NULL = rc_store_put_async falls back to a synchronous put). */
    int (*put_async)(rc_store *s, const char *key, const void *data, size_t len,
                     const rc_obj_meta *meta, rc_put_done_cb cb, void *ud, rc_err *e);
    int (*wait)(rc_store *s, rc_err *e); /* optional */
    void (*close)(rc_store *s);
} rc_store_ops;

/* Backend constructors (fill s->impl and s->ops), named only by store.c's
 * backend table. */
typedef int (*rc_store_open_fn)(rc_store *s, const char *url, rc_err *e);
int rc_store_file_open(rc_store *s, const char *url, rc_err *e); /* store_file.c */
int rc_store_s3_open(rc_store *s, const char *url, rc_err *e);   /* store_s3.c */

#endif
