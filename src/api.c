/*
 * api.c: the routes of `r2cache serve` (see api.h).
 *
 * Each handler translates HTTP into the question the command line asks and
 * calls the same module: report.h (inventory --json, --html), gaps.h
 * (gaps --json), fill.h (fill --json, run as a job in jobs.h). Nothing here
 * plans windows, reads manifests or formats inventory figures: the JSON is
 * the module's, printed the way the CLI prints it.
 *
 * Parameters are checked before anything is opened, with the functions the
 * CLI uses (rc_time_parse for times, rc_config_select for scopes,
 * rc_report_prepare, rc_fill_check, rc_gaps_check); each route lists the
 * parameters it takes and refuses others, so a misspelt parameter is a 400,
 * never silently ignored.
 */
#include "api_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/fdsnws.h"
#include "r2cache/fill.h"
#include "r2cache/gaps.h"
#include "r2cache/report.h"
#include "r2cache/timewin.h"
#include "r2cache/retry.h"

static const double buckets[N_BUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,   1,    2.5,   5,    10};

/* ---- lifecycle ------------------------------------------------------------ */

int rc_api_new(const rc_api_opts *o, rc_api **out, rc_err *e)
{
    rc_api *a = calloc(1, sizeof *a);
    if (!a) return rc_err_set(e, RC_ENOMEM, "out of memory");
    a->cfg = o->cfg;
    a->store_url = strdup(o->store_url ? o->store_url : "./r2cache-data");
    a->store_opts = *o->store_opts;
    if (o->source_url || (o->cfg && o->cfg->sources)) { /* sources: a->cfg->sources */
        a->source_url = o->source_url ? strdup(o->source_url) : NULL;
        if (o->source_opts)
            a->source_opts = *o->source_opts;
        else
            rc_source_opts_default(&a->source_opts);
    }
    a->log = o->log;
    a->jobs = o->jobs;
    pthread_mutex_init(&a->lock, NULL);
    if (!a->store_url || (o->source_url && !a->source_url)) {
        rc_api_free(a);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    *out = a;
    return RC_OK;
}

void rc_api_free(rc_api *a)
{
    if (!a) return;
    free(a->store_url);
    free(a->source_url);
    free(a->age_text);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(a->cache[i].key);
        free(a->cache[i].body);
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int api_open_store(rc_api *a, rc_store **st, rc_err *e)
{
    return rc_store_open(a->store_url, &a->store_opts, st, e);
}

int rc_api_probe(rc_api *a, rc_err *e)
{
    /* one attempt: a probe answers now (readyz), and a stop signal never
     * waits behind a store's backoff */
    rc_store_opts so = a->store_opts;
    so.max_attempts = 1;
    rc_store *st = NULL;
    int rc = rc_store_open(a->store_url, &so, &st, e);
    if (rc == RC_OK) rc = rc_store_head(st, "index/.probe", NULL, e);
    if (rc == RC_ENOTFOUND) {
        rc_err_clear(e);
        rc = RC_OK; /* the store answered */
    }
    if (st) rc_store_close(st);
    return rc;
}

/* ---- metrics ---------------------------------------------------------------- */

void rc_api_observe(void *ud, const char *route, int status, double seconds)
{
    rc_api *a = ud;
    pthread_mutex_lock(&a->lock);
    int k = 0;
    while (k < a->ncounters &&
           !(a->counters[k].status == status && strcmp(a->counters[k].route, route) == 0))
        k++;
    if (k == a->ncounters && k < MAX_COUNTERS)
        a->counters[a->ncounters++] = (counter){route, status, 0};
    if (k < a->ncounters) a->counters[k].n++;
    int b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    a->hist[b]++;
    a->hist_sum += seconds;
    a->hist_count++;
    pthread_mutex_unlock(&a->lock);
}

/* ---- helpers -------------------------------------------------------------- */

static int reply_status_for(int rc)
{
    return rc == RC_EINVAL ? 400 : rc == RC_EAUTH || rc == RC_EUNUSABLE ? 503 : 500;
}

typedef struct allowed_ctx {
    const char *const *names;
    const char *bad;
    int twice; /* bad was given more than once */
    unsigned seen;
} allowed_ctx;

static int allowed_iter(void *ud, const char *k, const char *v)
{
    (void)v;
    allowed_ctx *c = ud;
    int i = 0;
    for (const char *const *n = c->names; *n; n++, i++)
        if (strcmp(*n, k) == 0) {
            if (c->seen & (1u << i)) {
                c->bad = k;
                c->twice = 1;
                return 1;
            }
            c->seen |= 1u << i;
            return 0;
        }
    c->bad = k;
    return 1;
}

/* Refuse parameters the route does not take, and any given twice (which
 * one would count is a guess). */
int api_check_params(rc_server_req *req, const char *const *names, rc_server_reply *out)
{
    allowed_ctx c = {names, NULL, 0, 0};
    if (!rc_server_req_args(req, allowed_iter, &c)) return 0;
    if (c.twice) {
        rc_server_reply_error(out, 400, "%s: given more than once", c.bad);
        return -1;
    }
    char list[512] = "";
    for (const char *const *n = names; *n; n++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", *n);
    }
    rc_server_reply_error(out, 400, "%s: unknown parameter (this endpoint takes: %s)", c.bad,
                          list[0] ? list : "none");
    return -1;
}

/* "true"/"false" (and 1/0) for a flag parameter. */
int api_flag_param(rc_server_req *req, const char *name, int *val, rc_server_reply *out)
{
    const char *v = rc_server_req_arg(req, name);
    *val = 0;
    if (!v) return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "")) {
        *val = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) return 0;
    rc_server_reply_error(out, 400, "%s=%s: use true or false", name, v);
    return -1;
}

/* A whole number of days 1..max for days_back; def when absent. */
int api_days_param(rc_server_req *req, const char *name, int64_t def, int64_t *out,
                   rc_server_reply *rep)
{
    const char *v = rc_server_req_arg(req, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    long long d = strtoll(v, &end, 10);
    if (!v[0] || !end || *end || d < 1 || d > 3660) {
        rc_server_reply_error(rep, 400, "%s=%s: give a whole number of days (1 or more)", name, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* Hours as the CLI's --max-gap-hours and --minor-hours take them. */
int api_hours_param(rc_server_req *req, const char *name, double def, double *out,
                    rc_server_reply *rep)
{
    const char *v = rc_server_req_arg(req, name);
    if (!v) {
        *out = def;
        return 0;
    }
    double h;
    if (rc_hours_parse(v, &h) != 0) {
        rc_server_reply_error(rep, 400, "%s=%s: give a number of hours (for example 2 or 0.5)",
                              name, v);
        return -1;
    }
    *out = h;
    return 0;
}

int api_time_value(const char *name, const char *v, int64_t now, int64_t *out, rc_server_reply *rep)
{
    rc_err e;
    rc_err_clear(&e);
    if (rc_time_parse(v, now, out, &e) != RC_OK) {
        rc_server_reply_error(rep, 400, "%s: %s", name, e.msg);
        return -1;
    }
    return 0;
}

/* ---- /healthz /readyz ------------------------------------------------------ */

static int h_healthz(void *ud, rc_server_req *req, rc_server_reply *out)
{
    (void)ud;
    static const char *const none[] = {NULL};
    if (api_check_params(req, none, out)) return RC_SERVER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    rc_server_reply_json(out, 200, o);
    return RC_SERVER_DONE;
}

static int h_readyz(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const none[] = {NULL};
    if (api_check_params(req, none, out)) return RC_SERVER_DONE;
    rc_err e;
    rc_err_clear(&e);
    if (rc_api_probe(a, &e) != RC_OK) {
        rc_server_reply_error(out, 503, "store not reachable: %s", e.msg);
        snprintf(out->retry_after, sizeof out->retry_after, "5");
        return RC_SERVER_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ready");
    rc_server_reply_json(out, 200, o);
    return RC_SERVER_DONE;
}

/* ---- /api/cache-status and / ---------------------------------------------- */

static const char *const status_params[] = {"scope",   "network", "station",  "location_code",
                                            "channel", "volcano", "location", "region",
                                            "from",    "to",      NULL};

/* Build the report question from the query; 0 or -1 with out filled. */
static int report_query(rc_server_req *req, rc_report_query *q, char *chan, size_t chann,
                        rc_server_reply *out)
{
    rc_report_query_default(q);
    rc_err e;
    rc_err_clear(&e);
    const char *scope = rc_server_req_arg(req, "scope");
    if (scope && rc_report_scope_parse(scope, &q->scope, &e) != RC_OK) {
        rc_server_reply_error(out, 400, "scope: %s", e.msg);
        return -1;
    }
    const char *sta = rc_server_req_arg(req, "station");
    const char *net = rc_server_req_arg(req, "network");
    const char *cha = rc_server_req_arg(req, "channel");
    const char *loc = rc_server_req_arg(req, "location_code");
    if (sta && !strchr(sta, '.') && net && cha && loc) {
        /* every code given: the full channel id, location code included */
        snprintf(chan, chann, "%s.%s.%s.%s", net, sta, strcmp(loc, "--") ? loc : "", cha);
        q->station = chan;
    } else {
        q->station = sta;
        q->network = net;
        q->channel = cha;
    }
    q->volcano = rc_server_req_arg(req, "volcano");
    q->location = rc_server_req_arg(req, "region"); /* "location" is seed 002's name */
    if (!q->location) q->location = rc_server_req_arg(req, "location");
    int64_t now = (int64_t)time(NULL);
    const char *from = rc_server_req_arg(req, "from"), *to = rc_server_req_arg(req, "to");
    if (from && api_time_value("from", from, now, &q->from, out)) return -1;
    if (to && api_time_value("to", to, now, &q->to, out)) return -1;
    return 0;
}

/* Prepare and load a report; 0, or -1 with out filled. */
static int load_report(rc_api *a, const rc_report_query *q, rc_report *r, rc_server_reply *out)
{
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_report_prepare(r, q, a->cfg, &e);
    if (rc != RC_OK) {
        rc_server_reply_error(out, reply_status_for(rc), "%s", e.msg);
        return -1;
    }
    rc_store *st = NULL;
    rc = api_open_store(a, &st, &e);
    if (rc == RC_OK) rc = rc_report_load(r, st, a->log, &e);
    if (st) rc_store_close(st);
    if (rc != RC_OK) {
        rc_log_error(a->log, "inventory", "%s", e.msg);
        rc_server_reply_error(out, rc == RC_EINVAL ? 500 : reply_status_for(rc), "%s", e.msg);
        return -1;
    }
    return 0;
}

/* ---- reuse of inventory answers -------------------------------------------- */

/* The answer kept for key, copied into out; 0 when there is none (or it
 * is older than serve.cache_ms). */
static int cache_get(rc_api *a, const char *key, rc_server_reply *out)
{
    if (a->cfg->serve.cache_ms <= 0) return 0;
    double now = rc_retry_monotonic_s();
    int hit = 0;
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < CACHE_SLOTS && !hit; i++) {
        struct cached *c = &a->cache[i];
        if (c->key && c->until > now && strcmp(c->key, key) == 0) {
            rc_buf_reset(&out->body);
            hit = rc_buf_append(&out->body, c->body, c->len) == 0;
            out->status = 200;
            out->content_type = c->ctype;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return hit;
}

static void cache_put(rc_api *a, const char *key, const rc_server_reply *rep)
{
    if (a->cfg->serve.cache_ms <= 0 || rep->status != 200 || !rep->body.data ||
        rep->body.len > CACHE_ENTRY_MAX)
        return;
    char *k = strdup(key), *b = malloc(rep->body.len ? rep->body.len : 1);
    if (!k || !b) {
        free(k);
        free(b);
        return; /* not kept: the next request computes it again */
    }
    memcpy(b, rep->body.data, rep->body.len);
    double now = rc_retry_monotonic_s();
    pthread_mutex_lock(&a->lock);
    int slot = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (!a->cache[i].key || (a->cache[i].key && strcmp(a->cache[i].key, key) == 0)) {
            slot = i;
            break;
        }
        if (a->cache[i].until < a->cache[slot].until) slot = i;
    }
    struct cached *c = &a->cache[slot];
    free(c->key);
    free(c->body);
    c->key = k;
    c->body = b;
    c->len = rep->body.len;
    c->ctype = rep->content_type;
    c->until = now + a->cfg->serve.cache_ms / 1000.0;
    pthread_mutex_unlock(&a->lock);
}

/* A fill of ours ended: what the store holds has changed. */
void api_cache_clear(rc_api *a)
{
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(a->cache[i].key);
        free(a->cache[i].body);
        a->cache[i].key = a->cache[i].body = NULL;
    }
    pthread_mutex_unlock(&a->lock);
}

/* Cache key of a report request: route and query as given. */
static void cache_key(rc_server_req *req, char *out, size_t n)
{
    snprintf(out, n, "%s?%s", rc_server_req_path(req), rc_server_req_query(req));
}

/* The inventory of the request's scope, the same for the JSON and the page:
 * 0 with *r loaded and the cache key in key; 1 when out already holds the
 * answer (a cached one, or an error). */
static int scoped_report(rc_api *a, rc_server_req *req, rc_server_reply *out, char *key,
                         size_t keysz, rc_report *r)
{
    memset(r, 0, sizeof *r);
    if (api_check_params(req, status_params, out)) return 1;
    cache_key(req, key, keysz);
    if (cache_get(a, key, out)) return 1;
    rc_report_query q;
    char chan[RC_CHAN_STR_MAX * 2];
    if (report_query(req, &q, chan, sizeof chan, out)) return 1;
    return load_report(a, &q, r, out) == 0 ? 0 : 1;
}

static int h_cache_status(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    char key[2048];
    rc_report r;
    if (scoped_report(a, req, out, key, sizeof key, &r) == 0) {
        cJSON *o = rc_report_json(&r);
        if (o)
            rc_server_reply_json(out, 200, o);
        else
            rc_server_reply_error(out, 500, "out of memory");
        cache_put(a, key, out);
    }
    rc_report_free(&r);
    return RC_SERVER_DONE;
}

static int h_page(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    char key[2048];
    rc_report r;
    if (scoped_report(a, req, out, key, sizeof key, &r) == 0) {
        rc_err e;
        rc_err_clear(&e);
        rc_buf_reset(&out->body);
        if (rc_report_page(&r, a->store_url, (int64_t)time(NULL), &out->body, &e) != RC_OK) {
            rc_server_reply_error(out, 500, "%s", e.msg);
        } else {
            out->status = 200;
            out->content_type = "text/html; charset=utf-8";
            cache_put(a, key, out);
        }
    }
    rc_report_free(&r);
    return RC_SERVER_DONE;
}

/* ---- /gaps/detect and /gaps/summary ------------------------------------------ */

static int find_gaps(rc_api *a, int64_t days, double minor_h, double critical_h,
                     rc_target **targets, size_t *n, rc_gaps_report *r, rc_err *e)
{
    rc_scope sc = {NULL, 0, NULL, NULL, 1, 0, 0};
    memset(r, 0, sizeof *r);
    int rc = rc_config_select(a->cfg, &sc, targets, n, e);
    if (rc != RC_OK) return rc;
    rc_gaps_opts go;
    rc_gaps_opts_default(&go);
    go.minor_hours = minor_h;
    go.critical_hours = critical_h;
    go.now = (int64_t)time(NULL);
    go.from = go.now - days * 86400;
    go.to = go.now;
    go.log = a->log;
    if ((rc = rc_gaps_check(&go, *n, e)) != RC_OK) return rc;
    rc_store *st = NULL;
    rc = api_open_store(a, &st, e);
    if (rc == RC_OK) rc = rc_gaps_find(&go, a->cfg, *targets, *n, st, r, e);
    if (st) rc_store_close(st);
    return rc;
}

static int h_gaps_detect(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const qp[] = {"days_back", "minor_hours", "critical_hours", NULL};
    int64_t days;
    double minor_h, critical_h;
    if (api_check_params(req, qp, out) || api_days_param(req, "days_back", 7, &days, out) ||
        api_hours_param(req, "minor_hours", 2, &minor_h, out) ||
        api_hours_param(req, "critical_hours", 12, &critical_h, out))
        return RC_SERVER_DONE;
    rc_target *targets = NULL;
    size_t n = 0;
    rc_gaps_report r;
    rc_err e;
    rc_err_clear(&e);
    int rc = find_gaps(a, days, minor_h, critical_h, &targets, &n, &r, &e);
    if (rc != RC_OK) {
        rc_server_reply_error(out, reply_status_for(rc), "%s", e.msg);
    } else {
        cJSON *o = rc_gaps_json(&r);
        if (o) cJSON_AddStringToObject(o, "recommendation", rc_gaps_recommendation(&r));
        rc_server_reply_json(out, o ? 200 : 500, o);
    }
    rc_gaps_report_free(&r);
    free(targets);
    return RC_SERVER_DONE;
}

/* Per channel: when the base span's last gap reaches the end of the range
 * (the last window due), the newest cached sample ends at its start (or is
 * older than the range). */
typedef struct chan_age {
    int64_t newest; /* 0 = nothing in the range */
    const rc_gap *trailing;
} chan_age;

static void channel_ages(const rc_gaps_report *r, rc_span base, int64_t delay_s, chan_age *ages)
{
    /* windows ending within the delay before now are not expected yet, so a
     * gap that reaches the last expected window is the trailing one */
    int64_t last_end = rc_floor(r->to - delay_s, rc_span_seconds(base));
    for (size_t i = 0; i < r->ntargets; i++) {
        ages[i].newest = r->to;
        ages[i].trailing = NULL;
    }
    for (size_t k = 0; k < r->ngaps; k++) {
        const rc_gap *g = &r->gaps[k];
        if (g->span != base || g->end < last_end) continue;
        ages[g->target].trailing = g;
        ages[g->target].newest = g->start > r->from ? g->start : 0;
    }
}

static int h_gaps_summary(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const qp[] = {"days_back", NULL};
    int64_t days;
    if (api_check_params(req, qp, out) ||
        api_days_param(req, "days_back", SUMMARY_DAYS, &days, out))
        return RC_SERVER_DONE;
    rc_target *targets = NULL;
    size_t n = 0;
    rc_gaps_report r;
    rc_err e;
    rc_err_clear(&e);
    int rc = find_gaps(a, days, 2, 12, &targets, &n, &r, &e);
    chan_age *ages = rc == RC_OK ? calloc(n ? n : 1, sizeof *ages) : NULL;
    if (rc != RC_OK) {
        rc_server_reply_error(out, reply_status_for(rc), "%s", e.msg);
    } else if (!ages) {
        rc_server_reply_error(out, 500, "out of memory");
    } else {
        rc_span base = rc_config_base_span(a->cfg);
        channel_ages(&r, base, a->cfg->delay_s, ages);
        int64_t now = (int64_t)time(NULL);
        cJSON *o = cJSON_CreateObject();
        char s1[RC_TIME_STR_MAX], s2[RC_TIME_STR_MAX];
        rc_time_iso(r.from, s1);
        rc_time_iso(r.to, s2);
        cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
        cJSON_AddStringToObject(tr, "start", s1);
        cJSON_AddStringToObject(tr, "end", s2);
        cJSON *ch = cJSON_AddObjectToObject(o, "channels");
        int64_t worst = -1;
        for (size_t i = 0; i < n; i++) {
            char id[RC_CHAN_STR_MAX];
            rc_chan_format(&targets[i].st->chan, id);
            cJSON *c = cJSON_AddObjectToObject(ch, id);
            cJSON_AddStringToObject(c, "volcano", targets[i].volc->name);
            const char *status = "ok";
            if (ages[i].trailing) {
                rc_gap_severity sv =
                    rc_gaps_classify(ages[i].trailing->end - ages[i].trailing->start, r.minor_hours,
                                     r.critical_hours);
                status = rc_gap_severity_name(sv);
                worst = (int64_t)sv > worst ? (int64_t)sv : worst;
            }
            cJSON_AddStringToObject(c, "status", status);
            if (ages[i].newest) {
                rc_time_iso(ages[i].newest, s1);
                cJSON_AddStringToObject(c, "newest", s1);
                cJSON_AddNumberToObject(c, "gap_hours",
                                        round((double)(now - ages[i].newest) / 36.0) / 100.0);
            } else {
                cJSON_AddNullToObject(c, "newest");
                cJSON_AddNumberToObject(c, "gap_hours",
                                        round((double)(now - r.from) / 36.0) / 100.0);
                cJSON_AddBoolToObject(c, "nothing_in_range", 1);
            }
        }
        cJSON_AddStringToObject(o, "status",
                                worst < 0 ? "ok" : rc_gap_severity_name((rc_gap_severity)worst));
        rc_server_reply_json(out, 200, o);
    }
    free(ages);
    rc_gaps_report_free(&r);
    free(targets);
    return RC_SERVER_DONE;
}

/* ---- /metrics ---------------------------------------------------------------- */

/* Prometheus label value: backslash, quote and newline escaped. */
static void label(rc_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            rc_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            rc_buf_puts(b, "\\n");
        else
            rc_buf_append(b, s, 1);
    }
}

/* "r2cache_channel_newest_sample_age_seconds" lines, cached briefly. */
static void age_lines(rc_api *a, rc_buf *out)
{
    double t = rc_retry_monotonic_s();
    pthread_mutex_lock(&a->lock);
    if (a->age_text && t - a->age_at < AGE_CACHE_S) {
        rc_buf_puts(out, a->age_text);
        pthread_mutex_unlock(&a->lock);
        return;
    }
    pthread_mutex_unlock(&a->lock);
    rc_target *targets = NULL;
    size_t n = 0;
    rc_gaps_report r;
    rc_err e;
    rc_err_clear(&e);
    rc_buf b = RC_BUF_INIT;
    int rc = find_gaps(a, SUMMARY_DAYS, 2, 12, &targets, &n, &r, &e);
    chan_age *ages = rc == RC_OK ? calloc(n ? n : 1, sizeof *ages) : NULL;
    rc_buf_puts(&b, "# HELP r2cache_channel_newest_sample_age_seconds seconds since the end of "
                    "the newest cached base-span chunk (NaN: none in the last 7 days)\n"
                    "# TYPE r2cache_channel_newest_sample_age_seconds gauge\n");
    if (ages) {
        channel_ages(&r, rc_config_base_span(a->cfg), a->cfg->delay_s, ages);
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; i < n; i++) {
            char id[RC_CHAN_STR_MAX];
            rc_chan_format(&targets[i].st->chan, id);
            rc_buf_puts(&b, "r2cache_channel_newest_sample_age_seconds{channel=\"");
            label(&b, id);
            rc_buf_puts(&b, "\",volcano=\"");
            label(&b, targets[i].volc->name);
            if (ages[i].newest)
                rc_buf_printf(&b, "\"} %lld\n", (long long)(now - ages[i].newest));
            else
                rc_buf_puts(&b, "\"} NaN\n");
        }
    } else {
        rc_log_warn(a->log, "metrics", "channel ages: %s", e.msg);
    }
    free(ages);
    rc_gaps_report_free(&r);
    free(targets);
    if (b.data) rc_buf_puts(out, b.data);
    pthread_mutex_lock(&a->lock);
    free(a->age_text);
    a->age_text = rc == RC_OK ? rc_buf_steal(&b, NULL) : NULL;
    a->age_at = t;
    pthread_mutex_unlock(&a->lock);
    rc_buf_free(&b);
}

static int h_metrics(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const none[] = {NULL};
    if (api_check_params(req, none, out)) return RC_SERVER_DONE;
    rc_buf *b = &out->body;
    rc_buf_reset(b);
    rc_buf_puts(b, "# HELP r2cache_http_requests_total HTTP requests answered, by endpoint and "
                   "status\n# TYPE r2cache_http_requests_total counter\n");
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < a->ncounters; i++) {
        rc_buf_puts(b, "r2cache_http_requests_total{endpoint=\"");
        label(b, a->counters[i].route);
        rc_buf_printf(b, "\",status=\"%d\"} %lld\n", a->counters[i].status,
                      (long long)a->counters[i].n);
    }
    rc_buf_puts(b, "# HELP r2cache_http_request_duration_seconds time to answer a request\n"
                   "# TYPE r2cache_http_request_duration_seconds histogram\n");
    int64_t cum = 0;
    for (int k = 0; k < N_BUCKETS; k++) {
        cum += a->hist[k];
        rc_buf_printf(b, "r2cache_http_request_duration_seconds_bucket{le=\"%g\"} %lld\n",
                      buckets[k], (long long)cum);
    }
    cum += a->hist[N_BUCKETS];
    rc_buf_printf(b, "r2cache_http_request_duration_seconds_bucket{le=\"+Inf\"} %lld\n",
                  (long long)cum);
    rc_buf_printf(b, "r2cache_http_request_duration_seconds_sum %.6f\n", a->hist_sum);
    rc_buf_printf(b, "r2cache_http_request_duration_seconds_count %lld\n",
                  (long long)a->hist_count);
    pthread_mutex_unlock(&a->lock);
    int64_t counts[RC_JOB_STATE_COUNT];
    rc_jobs_counts(a->jobs, counts);
    rc_buf_puts(b, "# HELP r2cache_jobs fill jobs known to the server, by state\n"
                   "# TYPE r2cache_jobs gauge\n");
    for (int s = 0; s < RC_JOB_STATE_COUNT; s++)
        rc_buf_printf(b, "r2cache_jobs{state=\"%s\"} %lld\n", rc_job_state_name((rc_job_state)s),
                      (long long)counts[s]);
    age_lines(a, b);
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return RC_SERVER_DONE;
}

/* ---- /fdsnws/ ------------------------------------------------------------------ */

static int h_fdsnws(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    /* dataselect GETs are reused like cache-status (serve.cache_ms): a viewer
     * polling the same window costs one read of the store per period */
    int cacheable = strcmp(rc_server_req_method(req), "GET") == 0 &&
                    strcmp(rc_server_req_path(req), "/fdsnws/dataselect/1/query") == 0;
    char key[2048];
    if (cacheable) {
        cache_key(req, key, sizeof key);
        if (cache_get(a, key, out)) return RC_SERVER_DONE;
    }
    rc_fdsnws_ctx ctx = {a->cfg, a->store_url, &a->store_opts, (int)a->cfg->layout};
    rc_fdsnws_reply fr;
    memset(&fr, 0, sizeof fr);
    size_t blen = 0;
    const char *body = rc_server_req_body(req, &blen);
    const char *q = rc_server_req_query(req);
    if (rc_fdsnws_handle(&ctx, rc_server_req_method(req), rc_server_req_path(req), q[0] ? q : NULL,
                         body, blen, &fr) != 0) {
        rc_fdsnws_reply_free(&fr);
        rc_server_reply_error(out, 500, "the FDSN service gave no answer");
        return RC_SERVER_DONE;
    }
    out->status = fr.status;
    out->content_type = fr.content_type;
    rc_buf_reset(&out->body);
    if (fr.body.len) rc_buf_append(&out->body, fr.body.data, fr.body.len);
    snprintf(out->retry_after, sizeof out->retry_after, "%s", fr.retry_after);
    rc_fdsnws_reply_free(&fr);
    if (cacheable) cache_put(a, key, out);
    return RC_SERVER_DONE;
}

/* ---- the table ----------------------------------------------------------------- */

static const rc_server_route routes[] = {
    {"GET", "/healthz", 0, h_healthz, 1, 0},
    {"GET", "/readyz", 0, h_readyz, 1, 0},
    {"GET", "/metrics", 0, h_metrics, 1, 0},
    {"GET", "/", 0, h_page, 0, 0},
    {"GET", "/api/cache-status", 0, h_cache_status, 0, 0},
    {"POST", "/api/backfill", 0, api_h_backfill, 0, 0},
    {"GET", "/api/jobs", 0, api_h_jobs, 1, 0},
    {"GET", "/api/jobs/", 1, api_h_job_get, 1, 0},
    {"DELETE", "/api/jobs/", 1, api_h_job_delete, 1, 0},
    {"GET", "/gaps/summary", 0, h_gaps_summary, 0, 0},
    {"GET", "/gaps/detect", 0, h_gaps_detect, 0, 0},
    {"POST", "/gaps/backfill", 0, api_h_gaps_backfill, 0, 0},
    {"POST", "/gaps/backfill/auto", 0, api_h_gaps_backfill_auto, 0, 0},
    {"POST", "/gaps/backfill/range", 0, api_h_gaps_backfill_range, 0, 0},
    {"GET", "/fdsnws/", 1, h_fdsnws, 0, 0},
    {"POST", "/fdsnws/", 1, h_fdsnws, 0, 1}, /* FDSN POST is a read (bulk query) */
    {NULL, NULL, 0, NULL, 0, 0}};

const rc_server_route *rc_api_routes(void)
{
    return routes;
}
