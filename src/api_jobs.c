/*
 * api_jobs.c: the routes of `r2cache serve` that start fills as jobs
 * (POST /api/backfill, /gaps/backfill, /gaps/backfill/auto,
 * /gaps/backfill/range) and list or cancel them (/api/jobs). A job is
 * fill.h's rc_fill_run on a worker of jobs.h: the same planning, the same
 * result JSON as `r2cache fill --json`. Bodies and parameters are checked
 * before a job is queued; an identical job already queued or running is
 * returned, not duplicated.
 */
#include "api_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/fill.h"
#include "r2cache/gaps.h"
#include "r2cache/sources.h"
#include "r2cache/timewin.h"

/* ---- fills as jobs --------------------------------------------------------- */

typedef struct fill_job {
    rc_api *a;
    rc_fill_opts fo;
    rc_target *targets;
    size_t ntargets;
    int64_t windows_total;
    rc_job *job;
    int64_t last_requests;
} fill_job;

static void fill_job_free(void *p)
{
    fill_job *f = p;
    if (!f) return;
    free(f->targets);
    free(f);
}

static void fill_progress(void *ud, const rc_fill_progress *p)
{
    fill_job *f = ud;
    rc_job_progress jp = {p->windows, f->windows_total, p->requests,
                          p->bytes_fetched + p->bytes_written};
    rc_jobs_progress(f->job, &jp);
}

static rc_job_state run_fill(void *arg, rc_job *job, volatile sig_atomic_t *stop, cJSON **result,
                             rc_err *e)
{
    fill_job *f = arg;
    rc_api *a = f->a;
    f->job = job;
    rc_store *st = NULL;
    rc_source *src = NULL;
    int rc = api_open_store(a, &st, e);
    if (rc == RC_OK && !f->fo.dry_run) {
        rc_source_opts so = a->source_opts;
        so.stop = stop;
        if (a->cfg->sources) { /* "sources": the list (sources.h), ages from the job's now */
            rc = rc_sources_open(a->cfg->sources, &so, (int64_t)time(NULL),
                                 rc_span_seconds(rc_config_base_span(a->cfg)), &src, e);
        } else if (!a->source_url) {
            rc = rc_err_set(e, RC_EINVAL,
                            "no source: give --source URL or \"source\" in the "
                            "configuration of r2cache serve");
        } else {
            rc = rc_source_open(a->source_url, &so, &src, e);
        }
    }
    if (rc != RC_OK) {
        if (st) rc_store_close(st);
        return RC_JOB_FAILED;
    }
    rc_fill_opts fo = f->fo;
    fo.log = a->log;
    fo.stop = stop;
    fo.now = (int64_t)time(NULL);
    fo.progress = fill_progress;
    fo.progress_ud = f;
    rc_fill_result res;
    rc = rc_fill_run(&fo, a->cfg, f->targets, f->ntargets, st, src, &res, e);
    if (!fo.dry_run) rc_fill_log_summary(a->log, &res, a->cfg);
    *result = rc_fill_result_json(&res);
    const char *outcome = rc_fill_outcome(&res);
    rc_fill_result_free(&res);
    if (!fo.dry_run) api_cache_clear(a);
    if (src) rc_source_close(src);
    rc_store_close(st);
    if (rc == RC_OK) rc_err_clear(e);
    if (!strcmp(outcome, "complete")) return RC_JOB_COMPLETE;
    if (!strcmp(outcome, "partial")) return RC_JOB_PARTIAL;
    return RC_JOB_FAILED;
}

/* What a fill request asks: scope, range and flags (from a body or the query). */
typedef struct fill_req {
    char station[RC_CHAN_STR_MAX * 2];
    const char *volcano, *region;
    int all;
    int64_t from, to;
    int force, upgrade, autofill, dry_run;
    int64_t max_gap_s;
} fill_req;

static void wake_req(void *ud)
{
    rc_server_wake(ud);
}

typedef struct wait_state {
    int64_t id;
} wait_state;

/* The answer to a request that waited for its job. */
static int reply_waited(rc_api *a, int64_t id, rc_server_reply *out)
{
    rc_job_state state;
    cJSON *res = NULL;
    if (!rc_jobs_result(a->jobs, id, &state, &res)) {
        rc_server_reply_error(out, 500, "job %lld is no longer known", (long long)id);
        return RC_SERVER_DONE;
    }
    if (!res) {
        cJSON *st = rc_jobs_status(a->jobs, id);
        cJSON *err = st ? cJSON_GetObjectItemCaseSensitive(st, "error") : NULL;
        rc_server_reply_error(out, state == RC_JOB_CANCELLED ? 409 : 500, "job %lld %s%s%s",
                              (long long)id, rc_job_state_name(state),
                              cJSON_IsString(err) ? ": " : "",
                              cJSON_IsString(err) ? err->valuestring : "");
        cJSON_Delete(st);
        return RC_SERVER_DONE;
    }
    rc_server_reply_json(out, 200, res);
    return RC_SERVER_DONE;
}

/* Validate, queue (or find the identical job), answer 202 or wait. */
static int start_fill(rc_api *a, rc_server_req *req, const fill_req *fr, cJSON *params,
                      rc_server_reply *out)
{
    int wait = 0;
    if (api_flag_param(req, "wait", &wait, out)) {
        cJSON_Delete(params);
        return RC_SERVER_DONE;
    }
    rc_err e;
    rc_err_clear(&e);
    const char *st = fr->station[0] ? fr->station : NULL;
    rc_scope sc = {st ? &st : NULL, st ? 1u : 0u, fr->volcano, fr->region, fr->all, 0, 0};
    rc_target *targets = NULL;
    size_t n = 0;
    if (rc_config_select(a->cfg, &sc, &targets, &n, &e) != RC_OK) {
        cJSON_Delete(params);
        rc_server_reply_error(out, 400, "%s: %s",
                              st            ? "station"
                              : fr->volcano ? "volcano"
                              : fr->region  ? "region"
                                            : "scope",
                              e.msg);
        return RC_SERVER_DONE;
    }
    fill_job *f = calloc(1, sizeof *f);
    if (!f) {
        free(targets);
        cJSON_Delete(params);
        rc_server_reply_error(out, 500, "out of memory");
        return RC_SERVER_DONE;
    }
    f->a = a;
    f->targets = targets;
    f->ntargets = n;
    rc_fill_opts_default(&f->fo);
    f->fo.from = fr->from;
    f->fo.to = fr->to;
    f->fo.force = fr->force;
    f->fo.upgrade = fr->upgrade;
    f->fo.autofill = fr->autofill;
    f->fo.dry_run = fr->dry_run;
    if (fr->max_gap_s >= 0) f->fo.max_gap_s = fr->max_gap_s;
    f->fo.log = a->log;
    if (rc_fill_check(&f->fo, n, &e) != RC_OK) {
        fill_job_free(f);
        cJSON_Delete(params);
        rc_server_reply_error(out, 400, "%s", e.msg);
        return RC_SERVER_DONE;
    }
    if (!fr->dry_run && !a->source_url && !a->cfg->sources) {
        fill_job_free(f);
        cJSON_Delete(params);
        rc_server_reply_error(out, 409,
                              "no source configured: start r2cache serve with --source "
                              "URL or \"source\" in the configuration");
        return RC_SERVER_DONE;
    }
    /* every window of every configured span of every channel in the range */
    rc_span base = rc_config_base_span(a->cfg);
    int64_t bs = rc_span_seconds(base);
    int64_t from = rc_floor(fr->from, bs), to = rc_floor(fr->to + bs - 1, bs);
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        if (a->cfg->spans[s]) {
            int64_t sp = rc_span_seconds((rc_span)s);
            f->windows_total +=
                (int64_t)n * ((rc_floor(to, sp) - rc_floor(from + sp - 1, sp)) / sp);
        }
    /* identical = same channels, same range, same flags */
    rc_buf key = RC_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(&targets[i].st->chan, id);
        rc_buf_printf(&key, "%s/%s,", id, targets[i].volc->name);
    }
    rc_buf_printf(&key, "|%lld|%lld|f%d|u%d|a%d:%lld|d%d", (long long)fr->from, (long long)fr->to,
                  fr->force, fr->upgrade, fr->autofill, (long long)f->fo.max_gap_s, fr->dry_run);
    int64_t id = 0;
    int sub = rc_jobs_submit(a->jobs, "fill", key.data ? key.data : "", params, run_fill, f,
                             fill_job_free, &id);
    rc_buf_free(&key);
    if (sub == RC_JOBS_FULL) {
        rc_server_reply_error(out, 429, "the job queue is full: try again later");
        snprintf(out->retry_after, sizeof out->retry_after, "%d", rc_jobs_retry_after(a->jobs));
        return RC_SERVER_DONE;
    }
    if (sub == RC_JOBS_CLOSED) {
        rc_server_reply_error(out, 503, "the server is stopping");
        return RC_SERVER_DONE;
    }
    if (wait) {
        int w = rc_jobs_on_done(a->jobs, id, wake_req, req);
        if (w == 0) {
            wait_state *ws = malloc(sizeof *ws);
            if (!ws) {
                rc_server_reply_error(out, 500, "out of memory");
                return RC_SERVER_DONE;
            }
            ws->id = id;
            rc_server_req_set_state(req, ws, free);
            return RC_SERVER_SUSPEND;
        }
        if (w == 1) return reply_waited(a, id, out);
        /* no room to wait: answer as without wait */
    }
    cJSON *s = rc_jobs_status(a->jobs, id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "job", (double)id);
    cJSON *stv = s ? cJSON_GetObjectItemCaseSensitive(s, "status") : NULL;
    cJSON_AddStringToObject(o, "status", cJSON_IsString(stv) ? stv->valuestring : "queued");
    char self[64];
    snprintf(self, sizeof self, "/api/jobs/%lld", (long long)id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "links"), "self", self);
    if (sub == RC_JOBS_EXISTING) cJSON_AddBoolToObject(o, "existing", 1);
    cJSON_Delete(s);
    snprintf(out->location, sizeof out->location, "%s", self);
    rc_server_reply_json(out, 202, o);
    return RC_SERVER_DONE;
}

/* A resumed request: its job has finished. */
static int resumed_fill(rc_api *a, rc_server_req *req, rc_server_reply *out)
{
    wait_state *ws = rc_server_req_state(req);
    return reply_waited(a, ws->id, out);
}

static int body_json(rc_server_req *req, cJSON **out, rc_server_reply *rep)
{
    size_t len = 0;
    const char *b = rc_server_req_body(req, &len);
    *out = NULL;
    if (!len) return 0;
    cJSON *o = cJSON_ParseWithLength(b, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        rc_server_reply_error(rep, 400, "body: not a JSON object");
        return -1;
    }
    *out = o;
    return 0;
}

/* Body fields: strings, booleans, numbers, each checked by name. */
static int body_check_keys(const cJSON *o, const char *const *names, rc_server_reply *out)
{
    for (const cJSON *it = o ? o->child : NULL; it; it = it->next) {
        const char *const *n = names;
        while (*n && strcmp(*n, it->string))
            n++;
        if (!*n) {
            char list[512] = "";
            for (n = names; *n; n++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", *n);
            }
            rc_server_reply_error(out, 400, "%s: unknown field (the body takes: %s)", it->string,
                                  list);
            return -1;
        }
    }
    return 0;
}

static int body_str(const cJSON *o, const char *name, const char **val, rc_server_reply *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    *val = NULL;
    if (!x || cJSON_IsNull(x)) return 0;
    if (!cJSON_IsString(x)) {
        rc_server_reply_error(out, 400, "%s: must be a string", name);
        return -1;
    }
    *val = x->valuestring;
    return 0;
}

static int body_bool(const cJSON *o, const char *name, int *val, rc_server_reply *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!x || cJSON_IsNull(x)) return 0;
    if (!cJSON_IsBool(x)) {
        rc_server_reply_error(out, 400, "%s: must be true or false", name);
        return -1;
    }
    *val = cJSON_IsTrue(x);
    return 0;
}

/* Scope fields of a body: network/station/location/channel (seed 002:
 * "location" is the location code), or volcano, or region; none = all. */
static int body_scope(const cJSON *o, fill_req *fr, rc_server_reply *out)
{
    const char *net, *sta, *loc, *cha;
    if (body_str(o, "network", &net, out) || body_str(o, "station", &sta, out) ||
        body_str(o, "location", &loc, out) || body_str(o, "channel", &cha, out) ||
        body_str(o, "volcano", &fr->volcano, out) || body_str(o, "region", &fr->region, out))
        return -1;
    if (net || sta || cha) {
        if (!net || !sta || !cha) {
            rc_server_reply_error(out, 400,
                                  "%s: network, station and channel go together "
                                  "(location is the location code, \"\" when empty)",
                                  !net   ? "network"
                                  : !sta ? "station"
                                         : "channel");
            return -1;
        }
        snprintf(fr->station, sizeof fr->station, "%s.%s.%s.%s", net, sta,
                 loc && strcmp(loc, "--") ? loc : "", cha);
    } else if (loc) {
        rc_server_reply_error(out, 400,
                              "location: the location code needs network, station and "
                              "channel (use \"region\" for hawaii, alaska)");
        return -1;
    }
    fr->all = !fr->station[0] && !fr->volcano && !fr->region;
    return 0;
}

int api_h_backfill(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    if (rc_server_req_resumed(req)) return resumed_fill(a, req, out);
    static const char *const qp[] = {"wait", NULL};
    static const char *const fields[] = {
        "network",  "station",        "location", "channel", "volcano", "region", "start_time",
        "end_time", "duration_hours", "force",    "upgrade", "dry_run", NULL};
    if (api_check_params(req, qp, out)) return RC_SERVER_DONE;
    cJSON *b = NULL;
    if (body_json(req, &b, out)) return RC_SERVER_DONE;
    fill_req fr;
    memset(&fr, 0, sizeof fr);
    fr.max_gap_s = -1;
    int64_t now = (int64_t)time(NULL);
    const char *start = NULL, *end = NULL;
    const cJSON *dur = b ? cJSON_GetObjectItemCaseSensitive(b, "duration_hours") : NULL;
    if (!b) {
        rc_server_reply_error(out, 400,
                              "body: give a JSON object with start_time and "
                              "duration_hours (or end_time)");
        goto done;
    }
    if (body_check_keys(b, fields, out) || body_scope(b, &fr, out) ||
        body_str(b, "start_time", &start, out) || body_str(b, "end_time", &end, out) ||
        body_bool(b, "force", &fr.force, out) || body_bool(b, "upgrade", &fr.upgrade, out) ||
        body_bool(b, "dry_run", &fr.dry_run, out))
        goto done;
    if (!start) {
        rc_server_reply_error(out, 400, "start_time: is required (ISO 8601 UTC)");
        goto done;
    }
    if (api_time_value("start_time", start, now, &fr.from, out)) goto done;
    if (end && dur) {
        rc_server_reply_error(out, 400, "end_time: give end_time or duration_hours, not both");
        goto done;
    }
    if (end) {
        if (api_time_value("end_time", end, now, &fr.to, out)) goto done;
    } else if (dur) {
        if (!cJSON_IsNumber(dur) || !isfinite(dur->valuedouble) || dur->valuedouble <= 0 ||
            dur->valuedouble > 366 * 24) {
            rc_server_reply_error(out, 400,
                                  "duration_hours: give a number of hours above 0 "
                                  "(at most 8784)");
            goto done;
        }
        fr.to = fr.from + (int64_t)llround(dur->valuedouble * 3600.0);
    } else {
        rc_server_reply_error(out, 400, "duration_hours: give duration_hours or end_time");
        goto done;
    }
    cJSON *params = b;
    b = NULL;
    return start_fill(a, req, &fr, params, out);
done:
    cJSON_Delete(b);
    return RC_SERVER_DONE;
}

/* POST /gaps/backfill?days_back=N and /gaps/backfill/auto?max_gap_hours=H. */
static int gaps_fill(rc_api *a, rc_server_req *req, rc_server_reply *out, int autofill)
{
    if (rc_server_req_resumed(req)) return resumed_fill(a, req, out);
    static const char *const qp_manual[] = {"days_back", "dry_run", "wait", NULL};
    static const char *const qp_auto[] = {"days_back", "max_gap_hours", "dry_run", "wait", NULL};
    if (api_check_params(req, autofill ? qp_auto : qp_manual, out)) return RC_SERVER_DONE;
    fill_req fr;
    memset(&fr, 0, sizeof fr);
    fr.all = 1;
    fr.max_gap_s = -1;
    int64_t days = 0;
    double h = 6;
    if (api_days_param(req, "days_back", 10, &days, out) ||
        (autofill && api_hours_param(req, "max_gap_hours", 6, &h, out)) ||
        api_flag_param(req, "dry_run", &fr.dry_run, out))
        return RC_SERVER_DONE;
    int64_t now = (int64_t)time(NULL);
    fr.from = now - days * 86400;
    fr.to = now;
    fr.autofill = autofill;
    if (autofill) fr.max_gap_s = (int64_t)(h * 3600);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddNumberToObject(params, "days_back", (double)days);
    if (autofill) cJSON_AddNumberToObject(params, "max_gap_hours", h);
    cJSON_AddBoolToObject(params, "dry_run", fr.dry_run);
    return start_fill(a, req, &fr, params, out);
}

int api_h_gaps_backfill(void *ud, rc_server_req *req, rc_server_reply *out)
{
    return gaps_fill(ud, req, out, 0);
}

int api_h_gaps_backfill_auto(void *ud, rc_server_req *req, rc_server_reply *out)
{
    return gaps_fill(ud, req, out, 1);
}

/* A bare date as end_date covers that whole day. */
static int is_bare_date(const char *s)
{
    return strlen(s) == 10 && s[4] == '-' && s[7] == '-';
}

int api_h_gaps_backfill_range(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    if (rc_server_req_resumed(req)) return resumed_fill(a, req, out);
    static const char *const qp[] = {"wait", NULL};
    static const char *const fields[] = {"start_date", "end_date", "network", "station",
                                         "location",   "channel",  "volcano", "region",
                                         "force",      "upgrade",  "dry_run", NULL};
    if (api_check_params(req, qp, out)) return RC_SERVER_DONE;
    cJSON *b = NULL;
    if (body_json(req, &b, out)) return RC_SERVER_DONE;
    fill_req fr;
    memset(&fr, 0, sizeof fr);
    fr.max_gap_s = -1;
    const char *sd = NULL, *ed = NULL;
    int64_t now = (int64_t)time(NULL);
    if (!b) {
        rc_server_reply_error(out, 400, "body: give a JSON object with start_date and end_date");
        goto done;
    }
    if (body_check_keys(b, fields, out) || body_scope(b, &fr, out) ||
        body_str(b, "start_date", &sd, out) || body_str(b, "end_date", &ed, out) ||
        body_bool(b, "force", &fr.force, out) || body_bool(b, "upgrade", &fr.upgrade, out) ||
        body_bool(b, "dry_run", &fr.dry_run, out))
        goto done;
    if (!sd || !ed) {
        rc_server_reply_error(out, 400, "%s: is required (YYYY-MM-DD or ISO 8601 UTC)",
                              !sd ? "start_date" : "end_date");
        goto done;
    }
    if (api_time_value("start_date", sd, now, &fr.from, out) ||
        api_time_value("end_date", ed, now, &fr.to, out))
        goto done;
    if (is_bare_date(ed)) fr.to += 86400;
    cJSON *params = b;
    b = NULL;
    return start_fill(a, req, &fr, params, out);
done:
    cJSON_Delete(b);
    return RC_SERVER_DONE;
}

/* ---- /api/jobs ------------------------------------------------------------- */

int api_h_jobs(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const none[] = {NULL};
    if (api_check_params(req, none, out)) return RC_SERVER_DONE;
    cJSON *o = rc_jobs_list(a->jobs);
    if (!o)
        rc_server_reply_error(out, 500, "out of memory");
    else
        rc_server_reply_json(out, 200, o);
    return RC_SERVER_DONE;
}

static int job_id(rc_server_req *req, int64_t *id, rc_server_reply *out)
{
    const char *p = rc_server_req_path(req) + strlen("/api/jobs/");
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    if (!p[0] || p[0] < '0' || p[0] > '9' || !end || *end || v < 1) {
        rc_server_reply_error(out, 404, "no such job: %s", p);
        return -1;
    }
    *id = v;
    return 0;
}

int api_h_job_get(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const none[] = {NULL};
    int64_t id;
    if (api_check_params(req, none, out) || job_id(req, &id, out)) return RC_SERVER_DONE;
    cJSON *o = rc_jobs_status(a->jobs, id);
    if (!o)
        rc_server_reply_error(out, 404, "no such job: %lld", (long long)id);
    else
        rc_server_reply_json(out, 200, o);
    return RC_SERVER_DONE;
}

int api_h_job_delete(void *ud, rc_server_req *req, rc_server_reply *out)
{
    rc_api *a = ud;
    static const char *const none[] = {NULL};
    int64_t id;
    if (api_check_params(req, none, out) || job_id(req, &id, out)) return RC_SERVER_DONE;
    rc_job_state before;
    if (!rc_jobs_result(a->jobs, id, &before, NULL) || before < RC_JOB_COMPLETE) {
        rc_job_state after;
        if (rc_jobs_cancel(a->jobs, id, &after) != RC_OK) {
            rc_server_reply_error(out, 404, "no such job: %lld", (long long)id);
            return RC_SERVER_DONE;
        }
        cJSON *o = rc_jobs_status(a->jobs, id);
        rc_server_reply_json(out, after == RC_JOB_CANCELLED ? 200 : 202, o);
        return RC_SERVER_DONE;
    }
    rc_server_reply_error(out, 409, "job %lld has already ended (%s)", (long long)id,
                          rc_job_state_name(before));
    return RC_SERVER_DONE;
}
