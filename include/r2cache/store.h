/*
 * store.h: where chunks and manifests live. Knows nothing of seismology.
 *
 * One interface, one backend per file (the backend interface itself is
 * private: src/store_int.h):
 *   file  (store_file.c): "file:///abs/path", or a plain directory path;
 *         default "./r2cache-data".
 *   s3    (store_s3.c):   "s3://BUCKET[/PREFIX]" (AWS S3, Cloudflare R2, any
 *         S3-compatible server), signed with our own SigV4 (sigv4.c).
 *
 * Keys are the naming module's ("data/2025/11/..."); a store with a prefix
 * puts them under it. ETags are opaque strings without quotes (the local
 * store uses the hex MD5 of the body, like S3 for single-part uploads).
 *
 * Conditional put: if_none_match ("create only") fails with RC_ECONFLICT when
 * the key exists; if_match fails with RC_ECONFLICT when the current ETag
 * differs (or the key is gone). Callers re-read, re-merge and retry.
 *
 * An rc_store is not thread-safe: open one per thread.
 */
#ifndef R2CACHE_STORE_H
#define R2CACHE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"

#define RC_ETAG_MAX 80
#define RC_META_MAX 28
#define RC_META_KEY_MAX 48
#define RC_META_VAL_MAX 160

/* Hashes of a body that its writer already has (lower-case hex, "" = not
 * known), of exactly the bytes it puts: the stores use them instead of
 * hashing the body again on the putting thread (the S3 payload hash and
 * Content-MD5, the local store's ETag). */
typedef struct rc_body_hash {
    char sha256[65];
    char md5[33];
} rc_body_hash;

typedef struct rc_store rc_store;

/* The hashes store s uses for a put of data, made on the caller's thread
 * (e.g. a pool worker): SHA-256 always (the manifest's `sha256`, the S3
 * payload hash, the local ETag), MD5 only for a store that sends it
 * (S3's Content-MD5); the other is left "". */
void rc_store_body_hash(const rc_store *s, const void *data, size_t len, rc_body_hash *h);

/* HTTP-ish object metadata: sent as headers on S3 (x-amz-meta-NAME for
 * user entries), recorded in a sidecar by the local store so a static file
 * server can send them. User names are lower case [a-z0-9-]. `hash` is
 * only read by puts and never stored or returned. */
typedef struct rc_obj_meta {
    char content_type[64];   /* "" = application/octet-stream */
    char cache_control[128]; /* "" = none */
    rc_body_hash hash;       /* of the body being put, when known */
    int n;
    char name[RC_META_MAX][RC_META_KEY_MAX];
    char value[RC_META_MAX][RC_META_VAL_MAX];
} rc_obj_meta;

int rc_obj_meta_set(rc_obj_meta *m, const char *name, const char *value);
const char *rc_obj_meta_get(const rc_obj_meta *m, const char *name);

typedef struct rc_obj_info {
    char key[512];
    int64_t size;
    char etag[RC_ETAG_MAX];
    int64_t mtime;    /* seconds since epoch */
    rc_obj_meta meta; /* filled by head (and get when asked), not by list */
} rc_obj_info;

typedef struct rc_put_opts {
    const rc_obj_meta *meta; /* may be NULL */
    const char *if_match;    /* ETag the current object must have, or NULL */
    int if_none_match;       /* 1 = create only */
} rc_put_opts;

/* Return nonzero to stop the listing (rc_store_list then returns RC_OK). */
typedef int (*rc_list_cb)(void *ud, const rc_obj_info *obj);
/* Completion of an asynchronous put: status RC_OK or the failure. */
typedef void (*rc_put_done_cb)(void *ud, const char *key, int status, const rc_err *e);

typedef struct rc_store_opts {
    /* S3 settings that may come from the config file; environment variables
     * (AWS_*, R2_*) fill what is NULL here. */
    const char *endpoint;   /* https://ACCOUNT.r2.cloudflarestorage.com, http://127.0.0.1:7480 */
    const char *region;     /* default "auto" */
    int addressing;         /* 0 = auto, 1 = path-style, 2 = virtual-host */
    const char *ca_bundle;  /* extra CA file; verification is never turned off */
    int max_connections;    /* concurrent uploads (default 8) */
    int max_attempts;       /* per request (default 6) */
    double backoff_base_s;  /* default 0.2 */
    double backoff_cap_s;   /* default 10 */
    double stall_timeout_s; /* abort a transfer with no byte moved this long (default 30;
                             * R2CACHE_S3_STALL_TIMEOUT overrides) */
    void *log;              /* const rc_log * for debug lines, may be NULL */
    void *s3_credentials;   /* set by the S3 backend in its handle's options: the rc_awscred
                             * that handles opened from those options share (one STS refresh
                             * for all), held until the last of them closes; NULL elsewhere */
} rc_store_opts;

void rc_store_opts_default(rc_store_opts *o);

/* The handle (rc_store, declared above): its members belong to store*.c
 * (src/store_int.h); everyone else uses rc_store_describe and
 * rc_store_options. */

/* Open by URL. Errors: RC_EINVAL for a bad URL, RC_EAUTH / RC_EUNUSABLE when
 * the backend can already tell (missing credentials, unreadable root). */
int rc_store_open(const char *url, const rc_store_opts *opts, rc_store **out, rc_err *e);
void rc_store_close(rc_store *s);
const char *rc_store_describe(const rc_store *s);
/* The options the store was opened with (for opening more handles alike,
 * or sizing work by max_connections). */
const rc_store_opts *rc_store_options(const rc_store *s);

/* etag_out (RC_ETAG_MAX, may be NULL) receives the new object's ETag. */
int rc_store_put(rc_store *s, const char *key, const void *data, size_t len, const rc_put_opts *o,
                 char *etag_out, rc_err *e);
/* RC_ENOTFOUND when absent. info may be NULL; when given, etag/size (and
 * meta when the backend has it at no extra cost) are filled. */
int rc_store_get(rc_store *s, const char *key, rc_buf *out, rc_obj_info *info, rc_err *e);
int rc_store_head(rc_store *s, const char *key, rc_obj_info *info, rc_err *e);
/* Deleting an absent key is RC_OK. Only explicit commands delete. */
int rc_store_delete(rc_store *s, const char *key, rc_err *e);
/* Every key under prefix, ascending byte order. meta is not filled. */
int rc_store_list(rc_store *s, const char *prefix, rc_list_cb cb, void *ud, rc_err *e);
/* Queue an unconditional put (data is copied). Completion is reported to cb
 * from within rc_store_put_async or rc_store_wait, in the calling thread.
 * Call rc_store_wait before writing anything that refers to these objects.
 * The return value only says whether the put was queued; its outcome goes to
 * cb (backends without a queue put synchronously and call cb before
 * returning; with cb NULL they return the put's status instead). */
int rc_store_put_async(rc_store *s, const char *key, const void *data, size_t len,
                       const rc_obj_meta *meta, rc_put_done_cb cb, void *ud, rc_err *e);
int rc_store_wait(rc_store *s, rc_err *e);

/*
 * Run fn(handle, i, ud) for every i in 0..n-1 on up to threads threads. Each
 * worker opens its own handle on the same store (s's URL and options: store
 * handles are never shared between threads) and takes the next index until
 * none is left; whatever no worker took runs on the caller's thread with s.
 * Small batches (n <= 8) or threads <= 1 run on the caller's thread alone.
 * fn must leave no asynchronous put pending and touch shared state only in
 * its own slot i.
 */
typedef void (*rc_store_par_fn)(rc_store *st, size_t i, void *ud);
void rc_store_par_run(rc_store *s, int threads, size_t n, rc_store_par_fn fn, void *ud);

/* Local store mapping of one key segment to a path segment (exposed for
 * tests): "" <-> "%", "%" <-> "%25", a leading "." <-> "%2E" (dot-files are
 * the store's own: temporary files, ".NAME.meta.json" sidecars, ".lock");
 * "." and ".." are refused. */
int rc_store_file_segment_encode(const char *seg, size_t len, rc_buf *out, rc_err *e);

#endif
