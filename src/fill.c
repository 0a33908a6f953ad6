/*
 * fill.c: the backfill (see fill.h), shared by `r2cache fill` and the
 * server.
 *
 * The engine coalesces each channel's missing windows into spans of up to a
 * day and packs channels into bulk requests, so a station-day costs a
 * handful of requests, not 144. The range is worked through in batches of
 * days to keep memory flat; progress lives in the store itself (blobs, then
 * manifest entries), so a fill stopped at any point and started again only
 * does what is left.
 */
#include "r2cache/fill.h"
#include "r2cache/timewin.h"
#include "r2cache/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rc_fill_opts_default(rc_fill_opts *o)
{
    memset(o, 0, sizeof *o);
    o->settle_s = 3 * 86400;
    o->max_gap_s = 6 * 3600;
    o->max_range_s = 366 * 86400;
}

rc_status rc_fill_check(const rc_fill_opts *o, size_t ntargets, rc_err *e)
{
    if (o->force + o->upgrade + o->autofill > 1)
        return rc_err_set(e, RC_EINVAL, "--force, --upgrade and --auto exclude each other");
    if (o->to <= o->from) {
        char f[RC_TIME_STR_MAX], t[RC_TIME_STR_MAX];
        rc_time_iso(o->from, f);
        rc_time_iso(o->to, t);
        return rc_err_set(e, RC_EINVAL, "--to (%s) is not after --from (%s)", t, f);
    }
    if (o->to - o->from > o->max_range_s)
        return rc_err_set(e, RC_EINVAL,
                          "the range is %.1f days, longer than the limit of %.1f days; "
                          "split it or raise --max-range",
                          (double)(o->to - o->from) / 86400, (double)o->max_range_s / 86400);
    if (ntargets == 0)
        return rc_err_set(e, RC_EINVAL, "no station selected by the configuration and scope");
    return RC_OK;
}

static void add_stats(rc_engine_stats *t, const rc_engine_stats *s)
{
    t->windows += s->windows;
    t->requested += s->requested;
    t->added += s->added;
    t->present += s->present;
    t->reindexed += s->reindexed;
    t->nodata += s->nodata;
    t->failed += s->failed + s->held;
    t->provisional += s->provisional;
    t->kept += s->kept;
    t->not_due += s->not_due;
    t->source_empty += s->source_empty;
    t->requests += s->requests;
    t->bytes_fetched += s->bytes_fetched;
    t->bytes_written += s->bytes_written;
    t->samples += s->samples;
    t->gap_samples += s->gap_samples;
    t->manifests += s->manifests;
}

/* The state shared with the engine's progress callback. */
typedef struct run_state {
    const rc_fill_opts *o;
    rc_fill_result *res;
    int64_t days_done, batch;
    int64_t win_before, win_batch, win_total; /* whole-job window counts (progress) */
} run_state;

/* Windows of every configured span starting in [from, to), for every target. */
static int64_t range_windows(const rc_config *cfg, size_t ntargets, int64_t from, int64_t to)
{
    int64_t n = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        if (cfg->spans[s])
            n += (int64_t)rc_range_windows(from, to, rc_span_seconds((rc_span)s), NULL, 0);
    return n * (int64_t)ntargets;
}

static void report(run_state *rs, const rc_engine_stats *s, size_t done, size_t total, int end)
{
    const rc_fill_opts *o = rs->o;
    const rc_engine_stats *t = &rs->res->stats;
    rc_fill_progress p;
    memset(&p, 0, sizeof p);
    p.days_done = rs->days_done > rs->res->days ? rs->res->days : rs->days_done;
    p.days_total = rs->res->days;
    p.batch_days = rs->batch;
    p.requests_done = done;
    p.requests_total = total;
    p.windows = t->windows + (s ? s->windows : 0);
    p.added = t->added + (s ? s->added : 0);
    p.requests = t->requests + (s ? s->requests : 0);
    p.bytes_fetched = t->bytes_fetched + (s ? s->bytes_fetched : 0);
    p.bytes_written = t->bytes_written + (s ? s->bytes_written : 0);
    p.windows_total = rs->win_total;
    p.windows_done = rs->win_before;
    if (!end && total)
        p.windows_done += rs->win_batch * (int64_t)(done < total ? done : total) / (int64_t)total;
    p.batch_end = end;
    o->progress(o->progress_ud, &p);
}

static void on_progress(void *ud, const rc_engine_stats *s, size_t done, size_t total)
{
    run_state *rs = ud;
    if (rs->o->progress) report(rs, s, done, total, 0);
}

/* What one batch did for each channel that wrote or failed something: one
 * line each, the facts as JSON fields (channel, window, chunks_written,
 * samples, bytes, failed, status, error) for log queries. Lines without a
 * failure are info in JSON logs and debug in text ones. */
static void log_channels(const rc_log *log, const rc_engine *en, const rc_target *targets,
                         size_t ntargets, int64_t from, int64_t to)
{
    char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX], win[2 * RC_TIME_STR_MAX + 2];
    rc_time_iso(from, a);
    rc_time_iso(to, b);
    snprintf(win, sizeof win, "%s/%s", a, b);
    for (size_t i = 0; i < ntargets; i++) {
        const rc_target_result *r = rc_engine_target_result(en, i);
        if (!r->added && !r->failed) continue;
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(&targets[i].st->chan, id);
        const char *status = !r->failed ? "ok" : r->added ? "partial" : "failed";
        rc_log_field f[] = {
            RC_LOG_STR("channel", id),
            RC_LOG_STR("window", win),
            RC_LOG_NUM("chunks_written", r->added),
            RC_LOG_NUM("provisional", r->provisional),
            RC_LOG_NUM("samples", r->samples),
            RC_LOG_NUM("bytes", r->bytes),
            RC_LOG_NUM("failed", r->failed),
            RC_LOG_STR("status", status),
            RC_LOG_STR("error", r->error),
        };
        size_t nf = sizeof f / sizeof *f - (r->error[0] ? 0 : 1);
        if (r->failed)
            rc_log_kv(log, RC_LOG_ERROR, "channel", f, nf,
                      "%s %s .. %s: %lld windows failed, %lld chunks written: %s", id, a, b,
                      (long long)r->failed, (long long)r->added,
                      r->error[0] ? r->error : "see the lines above");
        else /* for collectors; a person at a terminal has the meter (debug shows them) */
            rc_log_kv(log, log->format == RC_LOG_JSON ? RC_LOG_INFO : RC_LOG_DEBUG, "channel", f,
                      nf,
                      "%s %s .. %s: %lld chunks written (%lld provisional), %lld samples, "
                      "%lld bytes",
                      id, a, b, (long long)r->added, (long long)r->provisional,
                      (long long)r->samples, (long long)r->bytes);
    }
}

/* autofill: the missing base windows that belong to a run of consecutive
 * missing windows longer than max_gap seconds, judged over the whole range,
 * plus the long windows such a run touches. */
typedef struct pick {
    size_t target;
    rc_span span;
    int64_t start;
} pick;

/* Missing, or confirmed empty at the source with a recheck due (or asked
 * for): a recheck belongs to the gap it is in. */
static int win_missing(const rc_window_info *w, int recheck)
{
    return w->state == RC_WIN_MISSING || w->state == RC_WIN_ENTRY_ONLY ||
           (w->state == RC_WIN_SOURCE_EMPTY && (w->empty_due || recheck));
}

static int auto_select(const rc_config *cfg, const rc_target *targets, size_t ntargets,
                       const rc_engine_opts *eo, int64_t from, int64_t to, int64_t max_gap,
                       pick **out, size_t *nout, rc_err *e)
{
    rc_engine *probe = NULL;
    int rc = rc_engine_new(eo, targets, ntargets, &probe, e);
    if (rc) return rc;
    rc_span base = rc_config_base_span(cfg);
    int64_t bs = rc_span_seconds(base);
    for (size_t i = 0; i < ntargets && rc == RC_OK; i++)
        for (int64_t t = from; t + bs <= to && rc == RC_OK; t += bs)
            rc = rc_engine_add(probe, i, base, t, e);
    rc_window_info *w = NULL;
    size_t n = 0;
    if (rc == RC_OK) rc = rc_engine_windows(probe, &w, &n, e);
    rc_engine_free(probe);
    if (rc) return rc;
    size_t cap = 64, np = 0;
    pick *p = malloc(cap * sizeof *p);
    size_t i = 0;
    while (p && i < n) {
        if (!win_missing(&w[i], eo->recheck)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && w[j].target == w[i].target && win_missing(&w[j], eo->recheck) &&
               w[j].start == w[j - 1].start + bs)
            j++;
        int64_t end = w[j - 1].start + bs;
        if (end - w[i].start > max_gap) {
            for (int s = 0; s < RC_SPAN_COUNT && p; s++) {
                if (!cfg->spans[s]) continue;
                int64_t sp = rc_span_seconds((rc_span)s);
                for (int64_t t = rc_floor(w[i].start, sp); t < end && p; t += sp) {
                    if (t < from || t + sp > to) continue;
                    if (np == cap) {
                        cap *= 2;
                        pick *q = realloc(p, cap * sizeof *p);
                        if (!q) {
                            free(p);
                            p = NULL;
                            break;
                        }
                        p = q;
                    }
                    p[np++] = (pick){w[i].target, (rc_span)s, t};
                }
            }
        }
        i = j;
    }
    free(w);
    if (!p) return rc_err_set(e, RC_ENOMEM, "out of memory");
    *out = p;
    *nout = np;
    return RC_OK;
}

/* dry run: add the plan of one batch to the result */
static int plan_add(rc_fill_result *r, rc_engine *en, size_t *cap, rc_err *e)
{
    rc_plan_info pi;
    int rc = rc_engine_plan_info(en, &pi, e);
    if (rc != RC_OK) return rc;
    r->plan_windows += pi.windows;
    r->plan_missing += pi.missing;
    r->plan_present += pi.present;
    r->plan_reindex += pi.reindex;
    r->plan_requests += pi.requests;
    r->plan_estimated_bytes += pi.estimated_bytes;
    if (r->plan_nlines + pi.nlines > *cap) {
        size_t nc = *cap ? *cap : 64;
        while (nc < r->plan_nlines + pi.nlines)
            nc *= 2;
        rc_plan_line *q = realloc(r->lines, nc * sizeof *q);
        if (!q) return rc_err_set(e, RC_ENOMEM, "out of memory");
        r->lines = q;
        *cap = nc;
    }
    if (pi.nlines) memcpy(r->lines + r->plan_nlines, pi.lines, pi.nlines * sizeof *pi.lines);
    r->plan_nlines += pi.nlines;
    return RC_OK;
}

rc_status rc_fill_run(const rc_fill_opts *o, const rc_config *cfg, const rc_target *targets,
                      size_t ntargets, rc_store *store, rc_source *source, rc_fill_result *out,
                      rc_err *e)
{
    memset(out, 0, sizeof *out);
    out->dry_run = o->dry_run;
    out->targets = targets;
    rc_span base = rc_config_base_span(cfg);
    int64_t bs = rc_span_seconds(base);
    int64_t from = rc_floor(o->from, bs);
    int64_t to = rc_floor(o->to + bs - 1, bs);
    int64_t first_day = rc_day_start(from), last_day = rc_day_start(to - 1);
    int64_t ndays = (last_day - first_day) / 86400 + 1;
    out->from = from;
    out->to = to;
    out->days = ndays;
    if (ntargets == 0)
        return out->status =
                   rc_err_set(e, RC_EINVAL, "no station selected by the configuration and scope");
    int64_t batch = (2 * (int64_t)cfg->max_connections + (int64_t)ntargets - 1) / (int64_t)ntargets;
    if (batch < 1) batch = 1;
    if (batch > 7) batch = 7;
    if (o->batch_days > 0) batch = o->batch_days;

    run_state rs = {o, out, 0, batch, 0, 0, 0};
    if (!o->autofill) rs.win_total = range_windows(cfg, ntargets, from, to);
    double t_start = rc_retry_monotonic_s();
    size_t cap = 0;
    int rc = RC_OK;
    pick *picks = NULL;
    size_t npicks = 0;
    if (!o->dry_run) {
        char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
        rc_time_iso(from, f_iso);
        rc_time_iso(to, t_iso);
        rc_log_info(o->log, "start", "fill %s .. %s: %zu channels, %lld days, store %s", f_iso,
                    t_iso, ntargets, (long long)ndays, rc_store_describe(store));
    }
    for (int64_t d0 = first_day; d0 <= last_day && rc == RC_OK; d0 += batch * 86400) {
        int64_t b_from = d0 > from ? d0 : from;
        int64_t b_to = d0 + batch * 86400 < to ? d0 + batch * 86400 : to;
        rc_engine_opts eo = {0};
        eo.cfg = cfg;
        eo.store = store;
        eo.source = source;
        eo.log = o->log;
        eo.stop = o->stop;
        eo.now = o->now;
        eo.force = o->force;
        eo.upgrade = o->upgrade;
        eo.recheck = o->recheck;
        eo.upgrade_settle_s = o->settle_s;
        eo.dry_run = o->dry_run;
        eo.availability = cfg->source_availability;
        rc_engine *en = NULL;
        if ((rc = rc_engine_new(&eo, targets, ntargets, &en, e)) != RC_OK) break;
        if (o->autofill) {
            if (!picks && (rc = auto_select(cfg, targets, ntargets, &eo, from, to, o->max_gap_s,
                                            &picks, &npicks, e))) {
                rc_engine_free(en);
                break;
            }
            rs.win_total = (int64_t)npicks;
            rs.win_batch = 0;
            for (size_t k = 0; k < npicks && rc == RC_OK; k++)
                if (picks[k].start >= b_from && picks[k].start < b_to) {
                    rs.win_batch++;
                    rc = rc_engine_add(en, picks[k].target, picks[k].span, picks[k].start, e);
                }
        } else {
            rs.win_batch = range_windows(cfg, ntargets, b_from, b_to);
            rc = rc_engine_add_range(en, b_from, b_to, e);
        }
        if (rc == RC_OK) {
            if (o->dry_run) {
                rc = plan_add(out, en, &cap, e);
            } else {
                rc_engine_set_progress(en, on_progress, &rs);
                rc = rc_engine_pass(en, 1, e);
                log_channels(o->log, en, targets, ntargets, b_from, b_to);
            }
        }
        add_stats(&out->stats, rc_engine_stats_get(en));
        rc_engine_free(en);
        rs.days_done += (b_to - d0 + 86399) / 86400;
        if (rc == RC_OK) rs.win_before += rs.win_batch;
        rs.win_batch = 0;
        if (!o->dry_run && o->progress) report(&rs, NULL, 0, 0, 1);
    }
    free(picks);
    out->stats.seconds = rc_retry_monotonic_s() - t_start;
    out->status = (rc_status)rc;
    return rc;
}

void rc_fill_result_free(rc_fill_result *r)
{
    free(r->lines);
    r->lines = NULL;
    r->plan_nlines = 0;
}

const char *rc_fill_outcome(const rc_fill_result *r)
{
    if (r->status == RC_EAUTH || r->status == RC_EUNUSABLE) return "failed";
    if (r->status != RC_OK || r->stats.failed != 0) return "partial";
    return "complete";
}

/* The plan's request lines, dry run only. */
static int add_plan(cJSON *o, const rc_fill_result *r)
{
    cJSON_AddNumberToObject(o, "missing", (double)r->plan_missing);
    cJSON_AddNumberToObject(o, "present", (double)r->plan_present);
    cJSON_AddNumberToObject(o, "reindex", (double)r->plan_reindex);
    cJSON_AddNumberToObject(o, "lines", (double)r->plan_nlines);
    cJSON_AddNumberToObject(o, "estimated_bytes", (double)(int64_t)r->plan_estimated_bytes);
    cJSON *lines = cJSON_AddArrayToObject(o, "lines_detail");
    for (size_t k = 0; k < r->plan_nlines && lines; k++) {
        char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[r->lines[k].target].st->chan, id);
        rc_time_iso(r->lines[k].start, a);
        rc_time_iso(r->lines[k].end, b);
        cJSON *l = cJSON_CreateObject();
        if (!l) return -1;
        cJSON_AddStringToObject(l, "channel", id);
        cJSON_AddStringToObject(l, "start", a);
        cJSON_AddStringToObject(l, "end", b);
        cJSON_AddItemToArray(lines, l);
    }
    return lines ? 0 : -1;
}

/*
 * A fill and its dry run answer with the same fields; the dry run's are the
 * counts the fill would produce (windows planned, chunks it would fetch and
 * write, requests, the estimated miniSEED bytes as bytes_fetched) and
 * nothing it could only know by doing it (no-data and failed windows, bytes
 * and manifests written: 0). The plan's own figures follow.
 */
cJSON *rc_fill_result_json(const rc_fill_result *r)
{
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(r->from, f_iso);
    rc_time_iso(r->to, t_iso);
    rc_engine_stats s = r->stats;
    if (r->dry_run) {
        rc_engine_stats p = {0};
        p.windows = r->plan_windows;
        p.requested = p.added = r->plan_missing;
        p.present = r->plan_present;
        p.reindexed = r->plan_reindex;
        p.not_due = s.not_due;
        p.source_empty = s.source_empty;
        p.requests = (int64_t)r->plan_requests;
        p.bytes_fetched = (int64_t)r->plan_estimated_bytes;
        p.seconds = s.seconds;
        s = p;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "status", rc_fill_outcome(r));
    cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
    cJSON_AddNumberToObject(o, "chunks_requested", (double)s.requested);
    cJSON_AddNumberToObject(o, "chunks_added", (double)s.added);
    cJSON_AddNumberToObject(o, "chunks_failed", (double)s.failed);
    cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
    cJSON_AddStringToObject(tr, "start", f_iso);
    cJSON_AddStringToObject(tr, "end", t_iso);
    cJSON_AddBoolToObject(o, "metadata_updated", s.manifests > 0);
    cJSON_AddNumberToObject(o, "windows", (double)s.windows);
    cJSON_AddNumberToObject(o, "chunks_skipped_present", (double)s.present);
    cJSON_AddNumberToObject(o, "chunks_reindexed", (double)s.reindexed);
    cJSON_AddNumberToObject(o, "chunks_provisional", (double)s.provisional);
    cJSON_AddNumberToObject(o, "chunks_kept", (double)s.kept);
    cJSON_AddNumberToObject(o, "windows_no_data", (double)s.nodata);
    cJSON_AddNumberToObject(o, "windows_not_due", (double)s.not_due);
    cJSON_AddNumberToObject(o, "windows_source_empty", (double)s.source_empty);
    cJSON_AddNumberToObject(o, "requests", (double)s.requests);
    cJSON_AddNumberToObject(o, "bytes_fetched", (double)s.bytes_fetched);
    cJSON_AddNumberToObject(o, "bytes_written", (double)s.bytes_written);
    cJSON_AddNumberToObject(o, "manifests_written", (double)s.manifests);
    cJSON_AddNumberToObject(o, "seconds", s.seconds);
    if (r->dry_run && add_plan(o, r)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

rc_status rc_fill_plan_text(const rc_fill_result *r, rc_buf *out)
{
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(r->from, f_iso);
    rc_time_iso(r->to, t_iso);
    int rc = rc_buf_printf(out,
                           "plan %s .. %s: %lld windows, %lld to fetch, %lld present, %lld to "
                           "re-index from blobs; %zu requests (%zu lines), about %.1f MB of "
                           "miniSEED\n",
                           f_iso, t_iso, (long long)r->plan_windows, (long long)r->plan_missing,
                           (long long)r->plan_present, (long long)r->plan_reindex, r->plan_requests,
                           r->plan_nlines, r->plan_estimated_bytes / 1e6);
    for (size_t k = 0; k < r->plan_nlines && rc == RC_OK; k++) {
        char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[r->lines[k].target].st->chan, id);
        rc_time_iso(r->lines[k].start, a);
        rc_time_iso(r->lines[k].end, b);
        rc = rc_buf_printf(out, "  fetch %-18s %s .. %s\n", id, a, b);
    }
    return rc;
}

void rc_fill_log_summary(const rc_log *log, const rc_fill_result *r, const rc_config *cfg)
{
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(r->from, f_iso);
    rc_time_iso(r->to, t_iso);
    const rc_engine_stats *s = &r->stats;
    char win[2 * RC_TIME_STR_MAX + 2];
    snprintf(win, sizeof win, "%s/%s", f_iso, t_iso);
    rc_log_field f[] = {
        RC_LOG_STR("command", "fill"),
        RC_LOG_STR("window", win),
        RC_LOG_STR("status", rc_fill_outcome(r)),
        RC_LOG_NUM("windows", s->windows),
        RC_LOG_NUM("chunks_written", s->added),
        RC_LOG_NUM("provisional", s->provisional),
        RC_LOG_NUM("present", s->present),
        RC_LOG_NUM("failed", s->failed),
        RC_LOG_NUM("samples", s->samples),
        RC_LOG_NUM("requests", s->requests),
        RC_LOG_NUM("bytes_fetched", s->bytes_fetched),
        RC_LOG_NUM("bytes", s->bytes_written),
        RC_LOG_NUM("seconds", (double)(int64_t)(s->seconds * 1000) / 1000),
    };
    rc_log_kv(log, RC_LOG_INFO, "summary", f, sizeof f / sizeof *f,
              "fill %s .. %s: %lld windows, %lld requested, %lld added (%lld provisional), "
              "%lld skipped as present, %lld re-indexed, %lld no data, %lld failed, "
              "%lld kept (the stored chunk was more complete), %lld not due yet; "
              "%lld requests, %lld bytes fetched, %lld bytes written",
              f_iso, t_iso, (long long)s->windows, (long long)s->requested, (long long)s->added,
              (long long)s->provisional, (long long)s->present, (long long)s->reindexed,
              (long long)s->nodata, (long long)s->failed, (long long)s->kept, (long long)s->not_due,
              (long long)s->requests, (long long)s->bytes_fetched, (long long)s->bytes_written);
    if (s->source_empty)
        rc_log_info(log, "source-empty",
                    "%lld windows not asked: the source confirmed them empty before and no "
                    "recheck is due (recheck_no_data; `fill --recheck` asks now)",
                    (long long)s->source_empty);
    if (s->not_due)
        rc_log_info(log, "not-due",
                    "%lld windows end after %s minus the %llds delay: they are not written "
                    "yet (final means final); the cron job or a later fill caches them",
                    (long long)s->not_due, "now", (long long)cfg->delay_s);
}
