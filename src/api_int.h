/*
 * api_int.h: what api.c (the routes that read: status, page, gaps, metrics,
 * health, FDSN hand-off, the route table) and api_jobs.c (the routes that
 * start, list and cancel fill jobs) share. Private to those two files.
 */
#ifndef R2CACHE_API_INT_H
#define R2CACHE_API_INT_H

#include <pthread.h>
#include <stdint.h>

#include "r2cache/api.h"

#define N_BUCKETS 12

#define MAX_COUNTERS 128
#define CACHE_SLOTS 32
/* Larger answers are computed each time, so the cache holds at most
 * CACHE_SLOTS x 1 MiB whatever the requests. */
#define CACHE_ENTRY_MAX ((size_t)1 << 20)

typedef struct counter {
    const char *route; /* static string from the route table, or "other" */
    int status;
    int64_t n;
} counter;

struct rc_api {
    const rc_config *cfg;
    char *store_url;
    rc_store_opts store_opts;
    char *source_url;
    rc_source_opts source_opts;
    const rc_log *log;
    rc_jobs *jobs;
    pthread_mutex_t lock; /* metrics and the age cache */
    counter counters[MAX_COUNTERS];
    int ncounters;
    int64_t hist[N_BUCKETS + 1];
    double hist_sum;
    int64_t hist_count;
    /* the newest cached sample per channel, for /metrics (refreshed at most
     * every AGE_CACHE_S) */
    double age_at;
    char *age_text;
    /* answers of cache-status and / reused for cfg->serve.cache_ms */
    struct cached {
        char *key;
        char *body;
        size_t len;
        const char *ctype;
        double until;
    } cache[CACHE_SLOTS];
};

#define AGE_CACHE_S 30.0
#define SUMMARY_DAYS 7

/* ---- shared helpers (api.c) ---- */
int api_open_store(rc_api *a, rc_store **st, rc_err *e);
int api_check_params(rc_server_req *req, const char *const *names, rc_server_reply *out);
int api_flag_param(rc_server_req *req, const char *name, int *val, rc_server_reply *out);
int api_days_param(rc_server_req *req, const char *name, int64_t def, int64_t *out,
                   rc_server_reply *rep);
int api_hours_param(rc_server_req *req, const char *name, double def, double *out,
                    rc_server_reply *rep);
int api_time_value(const char *name, const char *v, int64_t now, int64_t *out,
                   rc_server_reply *rep);
void api_cache_clear(rc_api *a);

/* ---- the job routes (api_jobs.c) ---- */
int api_h_backfill(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_gaps_backfill(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_gaps_backfill_auto(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_gaps_backfill_range(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_jobs(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_job_get(void *ud, rc_server_req *req, rc_server_reply *out);
int api_h_job_delete(void *ud, rc_server_req *req, rc_server_reply *out);

#endif
