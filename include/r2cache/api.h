/*
 * api.h: the endpoints of `r2cache serve`: seed 002's /api (cache-status,
 * backfill, jobs), seed 001's /gaps, /metrics, /healthz, /readyz, the
 * availability page at /, and /fdsnws/ handed to fdsnws.h.
 *
 * Every answer comes from the modules the command line uses (report.h for
 * inventory, gaps.h for gaps, fill.h for fills run as jobs), so a question
 * asked over HTTP gets the CLI's JSON. Query parameters and bodies are
 * checked by the same functions the CLI uses (rc_time_parse,
 * rc_config_select, rc_report_prepare, rc_fill_check, rc_gaps_check); a
 * refusal is 400 naming the parameter. Unknown parameters are refused too.
 *
 * Store handles are never shared between threads: every request and every
 * job opens its own.
 */
#ifndef R2CACHE_API_H
#define R2CACHE_API_H

#include "r2cache/config.h"
#include "r2cache/err.h"
#include "r2cache/jobs.h"
#include "r2cache/log.h"
#include "r2cache/server.h"
#include "r2cache/source.h"
#include "r2cache/store.h"

typedef struct rc_api rc_api;

typedef struct rc_api_opts {
    const rc_config *cfg;              /* loaded, overrides applied; outlives the api */
    const char *store_url;             /* store of every request and job */
    const rc_store_opts *store_opts;   /* copied */
    const char *source_url;            /* NULL: fills are refused (409) */
    const rc_source_opts *source_opts; /* copied; each job sets its own stop flag */
    const rc_log *log;
    rc_jobs *jobs;
} rc_api_opts;

int rc_api_new(const rc_api_opts *o, rc_api **out, rc_err *e);
void rc_api_free(rc_api *a);

/* The route table (terminated by a NULL method); handlers take the rc_api
 * as their ud. */
const rc_server_route *rc_api_routes(void);

/* Record one finished request for /metrics (rc_server_opts.observe). */
void rc_api_observe(void *ud, const char *route, int status, double seconds);

/* Is the store reachable? One small listing through a fresh handle. */
int rc_api_probe(rc_api *a, rc_err *e);

#endif
