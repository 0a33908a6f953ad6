/*
 * store.c: the backend-neutral half of the store interface.
 *
 * rc_store_open picks the backend from the URL scheme through the backend
 * table below (s3://, file://, or a plain path for the local store); the
 * backend interface is store_int.h. The rc_store_* wrappers
 * check arguments once so backends can trust them. Backends without an
 * upload queue get put_async for free as a synchronous put whose completion
 * is reported before rc_store_put_async returns, which keeps callers on one
 * code path whatever the backend.
 */
#include "store_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RC_STORE_DEFAULT_ROOT "./r2cache-data"

/* The backends by URL scheme ("SCHEME://..."), with the form messages
 * suggest. A new backend is one file and one row here. */
typedef struct rc_store_backend {
    const char *scheme;
    const char *form;
    rc_store_open_fn open;
} rc_store_backend;

static const rc_store_backend store_backends[] = {
    {"s3", "s3://BUCKET[/PREFIX]", rc_store_s3_open},
    {"file", "file:///abs/path", rc_store_file_open},
};
#define STORE_PLAIN_PATH "file" /* the backend of a URL without "://" */
#define STORE_NBACKENDS (sizeof store_backends / sizeof store_backends[0])

static const rc_store_backend *store_backend(const char *scheme, size_t n)
{
    for (size_t i = 0; i < STORE_NBACKENDS; i++)
        if (strlen(store_backends[i].scheme) == n &&
            strncmp(scheme, store_backends[i].scheme, n) == 0)
            return &store_backends[i];
    return NULL;
}

static int unknown_scheme(const char *url, rc_err *e)
{
    char forms[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < STORE_NBACKENDS && len < sizeof forms; i++)
        len += (size_t)snprintf(forms + len, sizeof forms - len, "%s, ", store_backends[i].form);
    if (len >= 2 && len < sizeof forms) forms[len - 2] = '\0';
    return rc_err_set(e, RC_EINVAL,
                      "store URL %s: unknown scheme; use %s or a plain directory path", url, forms);
}

static void digest_hex(const void *data, size_t len, const EVP_MD *md, char *out, size_t outn)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    out[0] = '\0';
    if (!EVP_Digest(data, len, d, &dl, md, NULL) || 2 * (size_t)dl + 1 > outn) return;
    for (unsigned int i = 0; i < dl; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void rc_store_body_hash(const rc_store *s, const void *data, size_t len, rc_body_hash *h)
{
    digest_hex(data ? data : "", len, EVP_sha256(), h->sha256, sizeof h->sha256);
    h->md5[0] = '\0';
    if (s && s->ops->body_md5) digest_hex(data ? data : "", len, EVP_md5(), h->md5, sizeof h->md5);
}

int rc_obj_meta_set(rc_obj_meta *m, const char *name, const char *value)
{
    if (!m || !name || !value || !*name) return RC_EINVAL;
    size_t nl = strlen(name), vl = strlen(value);
    if (nl >= RC_META_KEY_MAX || vl >= RC_META_VAL_MAX) return RC_EINVAL;
    /* Names travel as HTTP header names (x-amz-meta-NAME), which S3 lower-cases. */
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return RC_EINVAL;
    }
    /* Values become header values: no control bytes (no header injection). */
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) return RC_EINVAL;
    for (int i = 0; i < m->n; i++) {
        if (strcmp(m->name[i], name) == 0) {
            memcpy(m->value[i], value, vl + 1);
            return RC_OK;
        }
    }
    if (m->n < 0 || m->n >= RC_META_MAX) return RC_EINVAL;
    memcpy(m->name[m->n], name, nl + 1);
    memcpy(m->value[m->n], value, vl + 1);
    m->n++;
    return RC_OK;
}

const char *rc_obj_meta_get(const rc_obj_meta *m, const char *name)
{
    if (!m || !name) return NULL;
    for (int i = 0; i < m->n && i < RC_META_MAX; i++)
        if (strcmp(m->name[i], name) == 0) return m->value[i];
    return NULL;
}

void rc_store_opts_default(rc_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->region = "auto";
    o->addressing = 0;
    o->max_connections = 8;
    o->max_attempts = 6;
    o->backoff_base_s = 0.2;
    o->backoff_cap_s = 10.0;
    o->stall_timeout_s = 30.0;
}

int rc_store_open(const char *url, const rc_store_opts *opts, rc_store **out, rc_err *e)
{
    *out = NULL;
    if (!url || !*url) url = RC_STORE_DEFAULT_ROOT;
    rc_store *s = calloc(1, sizeof *s);
    if (!s) return rc_err_set(e, RC_ENOMEM, "out of memory opening store %s", url);
    s->url = strdup(url);
    if (!s->url) {
        free(s);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening store %s", url);
    }
    if (opts)
        s->opts = *opts;
    else
        rc_store_opts_default(&s->opts);

    int rc;
    const char *sep = strstr(url, "://");
    const rc_store_backend *b = sep ? store_backend(url, (size_t)(sep - url))
                                    : store_backend(STORE_PLAIN_PATH, strlen(STORE_PLAIN_PATH));
    if (b)
        rc = b->open(s, url, e);
    else
        rc = unknown_scheme(url, e);
    if (rc != RC_OK) {
        free(s->url);
        free(s);
        return rc;
    }
    *out = s;
    return RC_OK;
}

void rc_store_close(rc_store *s)
{
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    free(s->url);
    free(s);
}

const char *rc_store_describe(const rc_store *s)
{
    return s && s->url ? s->url : "(no store)";
}

const rc_store_opts *rc_store_options(const rc_store *s)
{
    return &s->opts;
}

static int check_key(const rc_store *s, const char *key, rc_err *e)
{
    if (!key || !*key)
        return rc_err_set(e, RC_EINVAL, "store %s: empty object key", rc_store_describe(s));
    return RC_OK;
}

int rc_store_put(rc_store *s, const char *key, const void *data, size_t len, const rc_put_opts *o,
                 char *etag_out, rc_err *e)
{
    int rc = check_key(s, key, e);
    if (rc) return rc;
    if (!data && len) return rc_err_set(e, RC_EINVAL, "store %s: put %s without data", s->url, key);
    return s->ops->put(s, key, data ? data : "", len, o, etag_out, e);
}

int rc_store_get(rc_store *s, const char *key, rc_buf *out, rc_obj_info *info, rc_err *e)
{
    int rc = check_key(s, key, e);
    if (rc) return rc;
    return s->ops->get(s, key, out, info, e);
}

int rc_store_head(rc_store *s, const char *key, rc_obj_info *info, rc_err *e)
{
    int rc = check_key(s, key, e);
    if (rc) return rc;
    rc_obj_info tmp;
    return s->ops->head(s, key, info ? info : &tmp, e);
}

int rc_store_delete(rc_store *s, const char *key, rc_err *e)
{
    int rc = check_key(s, key, e);
    if (rc) return rc;
    return s->ops->del(s, key, e);
}

int rc_store_list(rc_store *s, const char *prefix, rc_list_cb cb, void *ud, rc_err *e)
{
    if (!cb) return rc_err_set(e, RC_EINVAL, "store %s: list without a callback", s->url);
    return s->ops->list(s, prefix ? prefix : "", cb, ud, e);
}

int rc_store_put_async(rc_store *s, const char *key, const void *data, size_t len,
                       const rc_obj_meta *meta, rc_put_done_cb cb, void *ud, rc_err *e)
{
    int rc = check_key(s, key, e);
    if (rc) return rc;
    if (s->ops->put_async) return s->ops->put_async(s, key, data, len, meta, cb, ud, e);
    /* Synchronous fallback: the outcome goes to cb like a queued put's would,
     * so the return value only says whether the put could be queued. Without
     * a callback the caller has no other way to learn it: return it. */
    rc_put_opts po = {meta, NULL, 0};
    rc_err pe;
    rc_err_clear(&pe);
    rc = rc_store_put(s, key, data, len, &po, NULL, &pe);
    if (!cb) {
        if (rc && e) *e = pe;
        return rc;
    }
    cb(ud, key, rc, &pe);
    return RC_OK;
}

int rc_store_wait(rc_store *s, rc_err *e)
{
    if (s->ops->wait) return s->ops->wait(s, e);
    return RC_OK;
}

/* ---- parallel runs over per-thread handles ---------------------------- */

typedef struct par_ctx {
    rc_store *base;
    size_t n;
    size_t next; /* taken with atomic fetch-add */
    rc_store_par_fn fn;
    void *ud;
} par_ctx;

static void *par_worker(void *arg)
{
    par_ctx *p = arg;
    rc_store *own = NULL;
    rc_err e;
    if (rc_store_open(p->base->url, &p->base->opts, &own, &e) != RC_OK)
        return NULL; /* the indices left are run by the caller's thread */
    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n) break;
        p->fn(own, i, p->ud);
    }
    rc_store_close(own);
    return NULL;
}

void rc_store_par_run(rc_store *s, int threads, size_t n, rc_store_par_fn fn, void *ud)
{
    par_ctx p = {s, n, 0, fn, ud};
    if (threads > 1 && n > 8) {
        size_t nt = (size_t)threads < n / 4 ? (size_t)threads : n / 4;
        if (nt < 2) nt = 2;
        pthread_t *tid = calloc(nt, sizeof *tid);
        size_t started = 0;
        for (size_t t = 0; tid && t < nt; t++)
            if (pthread_create(&tid[t], NULL, par_worker, &p) == 0)
                started++;
            else
                break;
        for (size_t t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
        free(tid);
    }
    for (;;) {
        size_t i = __atomic_fetch_add(&p.next, 1, __ATOMIC_RELAXED);
        if (i >= n) break;
        fn(s, i, ud);
    }
}
