/*
 * cmd_fill.c: `r2cache fill`, the backfill.
 *
 * Diffs what the store holds against every window of every configured span
 * inside the range and fetches only what is missing (or everything with
 * --force, or settled provisional chunks with --upgrade, or only gaps longer
 * than --max-gap-hours with --auto). The engine coalesces each channel's
 * missing windows into spans of up to a day and packs channels into bulk
 * requests, so a station-day costs a handful of requests, not 144.
 *
 * Progress lives in the store itself (blobs, then manifest entries), so a
 * fill killed at any point and started again only does what is left; the
 * range is worked through in batches of days to keep memory flat.
 */
#include "r2cache/cli.h"
#include "r2cache/engine.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_FORCE = 1, O_UPGRADE, O_SETTLE, O_AUTO, O_MAXGAP, O_DRYRUN, O_MAXRANGE, O_BATCH };

static const rc_cli_opt fill_opts[] = {
    {"force", NULL, "refetch and rewrite every window in the range", O_FORCE},
    {"upgrade", NULL, "refetch provisional chunks older than the settle time; replace each only "
                      "when the new one is at least as complete", O_UPGRADE},
    {"settle", "DURATION", "with --upgrade: how old a provisional chunk must be (default 3d)", O_SETTLE},
    {"auto", NULL, "fill only gaps longer than --max-gap-hours (the 2-hourly recovery job)", O_AUTO},
    {"max-gap-hours", "H", "with --auto: the gap length that triggers a fill (default 6)", O_MAXGAP},
    {"dry-run", NULL, "print the plan (windows, requests, estimated bytes) and change nothing", O_DRYRUN},
    {"max-range", "DURATION", "refuse ranges longer than this (default 366d)", O_MAXRANGE},
    {"batch-days", "N", "days worked on at once (default: enough for the connection limit)", O_BATCH},
    {NULL, NULL, NULL, 0}};

typedef struct fill_args {
    int force, upgrade, autofill, dry_run;
    const char *settle, *max_gap, *max_range, *batch;
} fill_args;

static int on_opt(void *ud, int id, const char *val)
{
    fill_args *a = ud;
    switch (id) {
    case O_FORCE: a->force = 1; break;
    case O_UPGRADE: a->upgrade = 1; break;
    case O_SETTLE: a->settle = val; break;
    case O_AUTO: a->autofill = 1; break;
    case O_MAXGAP: a->max_gap = val; break;
    case O_DRYRUN: a->dry_run = 1; break;
    case O_MAXRANGE: a->max_range = val; break;
    case O_BATCH: a->batch = val; break;
    }
    return 0;
}

typedef struct totals {
    rc_engine_stats s;
    int64_t days_done, days_total;
    int tty;
    const rc_log *log;
    double last_print;
} totals;

/* Progress interval when stderr is not a terminal (logs, cron mail). */
#define PROGRESS_LINE_S 10.0

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
    t->requests += s->requests;
    t->bytes_fetched += s->bytes_fetched;
    t->bytes_written += s->bytes_written;
    t->samples += s->samples;
    t->gap_samples += s->gap_samples;
    t->manifests += s->manifests;
}

static void progress(void *ud, const rc_engine_stats *s, size_t done, size_t total)
{
    totals *t = ud;
    if (!t->tty) {
        double now = rc_retry_monotonic_s();
        if (now - t->last_print < PROGRESS_LINE_S)
            return;
        t->last_print = now;
        rc_log_info(t->log, "progress",
                    "days %lld/%lld, requests %zu/%zu of this batch: %lld chunks added so far",
                    (long long)t->days_done, (long long)t->days_total, done, total,
                    (long long)(t->s.added + s->added));
        return;
    }
    fprintf(stderr, "\r  days %lld/%lld  requests %zu/%zu  chunks +%lld  ",
            (long long)t->days_done, (long long)t->days_total, done, total,
            (long long)(t->s.added + s->added));
    fflush(stderr);
}

/* --auto: the missing base windows that belong to a run of consecutive
 * missing windows longer than max_gap seconds, judged over the whole range,
 * plus the long windows such a run touches. */
typedef struct pick {
    size_t target;
    rc_span span;
    int64_t start;
} pick;

static int win_missing(const rc_window_info *w)
{
    return w->state == RC_WIN_MISSING || w->state == RC_WIN_ENTRY_ONLY;
}

static int auto_select(rc_cli *cli, const rc_engine_opts *eo, int64_t from, int64_t to,
                       int64_t max_gap, pick **out, size_t *nout, rc_err *e)
{
    rc_engine *probe = NULL;
    int rc = rc_engine_new(eo, cli->targets, cli->ntargets, &probe, e);
    if (rc)
        return rc;
    rc_span base = rc_config_base_span(&cli->cfg);
    int64_t bs = rc_span_seconds(base);
    for (size_t i = 0; i < cli->ntargets && rc == RC_OK; i++)
        for (int64_t t = from; t + bs <= to && rc == RC_OK; t += bs)
            rc = rc_engine_add(probe, i, base, t, e);
    rc_window_info *w = NULL;
    size_t n = 0;
    if (rc == RC_OK)
        rc = rc_engine_windows(probe, &w, &n, e);
    rc_engine_free(probe);
    if (rc)
        return rc;
    size_t cap = 64, np = 0;
    pick *p = malloc(cap * sizeof *p);
    size_t i = 0;
    while (p && i < n) {
        if (!win_missing(&w[i])) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && w[j].target == w[i].target && win_missing(&w[j]) &&
               w[j].start == w[j - 1].start + bs)
            j++;
        int64_t end = w[j - 1].start + bs;
        if (end - w[i].start > max_gap) {
            for (int s = 0; s < RC_SPAN_COUNT && p; s++) {
                if (!cli->cfg.spans[s])
                    continue;
                int64_t sp = rc_span_seconds((rc_span)s);
                for (int64_t t = rc_floor(w[i].start, sp); t < end && p; t += sp) {
                    if (t < from || t + sp > to)
                        continue;
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
    if (!p)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    *out = p;
    *nout = np;
    return RC_OK;
}

/* --dry-run: the plans of every batch, added up into one. */
typedef struct plan_acc {
    int64_t windows, missing, present, reindex;
    size_t requests, nlines;
    double est;
    rc_buf text;  /* "  fetch ..." lines */
    cJSON *lines; /* with --json */
} plan_acc;

static int plan_add(plan_acc *pa, rc_engine *en, const rc_cli *cli, rc_err *e)
{
    rc_plan_info pi;
    int rc = rc_engine_plan_info(en, &pi, e);
    if (rc != RC_OK)
        return rc;
    pa->windows += pi.windows;
    pa->missing += pi.missing;
    pa->present += pi.present;
    pa->reindex += pi.reindex;
    pa->requests += pi.requests;
    pa->nlines += pi.nlines;
    pa->est += pi.estimated_bytes;
    for (size_t k = 0; k < pi.nlines; k++) {
        char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
        rc_chan_format(&cli->targets[pi.lines[k].target].st->chan, id);
        rc_time_iso(pi.lines[k].start, a);
        rc_time_iso(pi.lines[k].end, b);
        if (pa->lines) {
            cJSON *l = cJSON_CreateObject();
            if (!l)
                return rc_err_set(e, RC_ENOMEM, "out of memory");
            cJSON_AddStringToObject(l, "channel", id);
            cJSON_AddStringToObject(l, "start", a);
            cJSON_AddStringToObject(l, "end", b);
            cJSON_AddItemToArray(pa->lines, l);
        } else {
            rc_buf_printf(&pa->text, "  fetch %-18s %s .. %s\n", id, a, b);
        }
    }
    return RC_OK;
}

static void plan_print(plan_acc *pa, int json, const char *f_iso, const char *t_iso)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "dry_run", 1);
        cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
        cJSON_AddStringToObject(tr, "start", f_iso);
        cJSON_AddStringToObject(tr, "end", t_iso);
        cJSON_AddNumberToObject(o, "windows", (double)pa->windows);
        cJSON_AddNumberToObject(o, "missing", (double)pa->missing);
        cJSON_AddNumberToObject(o, "present", (double)pa->present);
        cJSON_AddNumberToObject(o, "reindex", (double)pa->reindex);
        cJSON_AddNumberToObject(o, "requests", (double)pa->requests);
        cJSON_AddNumberToObject(o, "lines", (double)pa->nlines);
        cJSON_AddNumberToObject(o, "estimated_bytes", (double)(int64_t)pa->est);
        cJSON_AddItemToObject(o, "lines_detail", pa->lines);
        pa->lines = NULL;
        char *txt = cJSON_Print(o);
        if (txt)
            printf("%s\n", txt);
        free(txt);
        cJSON_Delete(o);
    } else {
        printf("plan %s .. %s: %lld windows, %lld to fetch, %lld present, %lld to re-index "
               "from blobs; %zu requests (%zu lines), about %.1f MB of miniSEED\n",
               f_iso, t_iso, (long long)pa->windows, (long long)pa->missing,
               (long long)pa->present, (long long)pa->reindex, pa->requests, pa->nlines,
               pa->est / 1e6);
        fputs(pa->text.data ? pa->text.data : "", stdout);
    }
    rc_buf_free(&pa->text);
    cJSON_Delete(pa->lines);
    pa->lines = NULL;
}

int rc_cmd_fill(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] = "r2cache fill --config FILE scope --from TIME --to TIME "
                                "[--force|--upgrade|--auto --max-gap-hours H] [--dry-run] [--json]";
    static const char desc[] =
        "Backfill a range: fetch only the windows the store lacks, coalesced into day-long bulk\n"
        "requests. Safe to interrupt and rerun: it resumes where it stopped.";
    fill_args a = {0};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_NOW | RC_OPT_JSON |
                  RC_OPT_SHARD | RC_OPT_METRICS;
    int code = rc_cli_parse(cli, argc, argv, fill_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache fill: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    if (a.force + a.upgrade + a.autofill > 1) {
        fprintf(stderr, "r2cache fill: --force, --upgrade and --auto exclude each other\n");
        return RC_EXIT_USAGE;
    }
    rc_err e;
    rc_err_clear(&e);
    int64_t settle = 3 * 86400, max_range = 366 * 86400, max_gap = 6 * 3600;
    if (a.settle && rc_duration_parse(a.settle, &settle, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --settle %s: %s\n", a.settle, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a.max_range && rc_duration_parse(a.max_range, &max_range, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --max-range %s: %s\n", a.max_range, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a.max_gap) {
        char *end = NULL;
        double h = strtod(a.max_gap, &end);
        if (!end || *end || h < 0) {
            fprintf(stderr, "r2cache fill: --max-gap-hours %s: give a number of hours\n",
                    a.max_gap);
            return RC_EXIT_USAGE;
        }
        max_gap = (int64_t)(h * 3600);
    }
    if ((code = rc_cli_setup(cli)))
        return code;
    if (cli->to <= cli->from) {
        char f[RC_TIME_STR_MAX], t[RC_TIME_STR_MAX];
        rc_time_iso(cli->from, f);
        rc_time_iso(cli->to, t);
        fprintf(stderr, "r2cache fill: --to (%s) is not after --from (%s)\n", t, f);
        return RC_EXIT_USAGE;
    }
    if (cli->to - cli->from > max_range) {
        fprintf(stderr,
                "r2cache fill: the range is %.1f days, longer than the limit of %.1f days; "
                "split it or raise --max-range\n",
                (double)(cli->to - cli->from) / 86400, (double)max_range / 86400);
        return RC_EXIT_USAGE;
    }
    if (cli->ntargets == 0) {
        fprintf(stderr, "r2cache fill: no station selected by the configuration and scope\n");
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, !a.dry_run)))
        return code;

    rc_config *cfg = &cli->cfg;
    rc_span base = rc_config_base_span(cfg);
    int64_t bs = rc_span_seconds(base);
    int64_t from = rc_floor(cli->from, bs);
    int64_t to = rc_floor(cli->to + bs - 1, bs);
    int64_t first_day = rc_day_start(from), last_day = rc_day_start(to - 1);
    int64_t ndays = (last_day - first_day) / 86400 + 1;
    int64_t batch = (2 * (int64_t)cfg->max_connections + (int64_t)cli->ntargets - 1) /
                    (int64_t)cli->ntargets;
    if (batch < 1)
        batch = 1;
    if (batch > 7)
        batch = 7;
    if (a.batch)
        batch = atoi(a.batch) > 0 ? atoi(a.batch) : batch;

    totals tot;
    memset(&tot, 0, sizeof tot);
    tot.days_total = ndays;
    tot.tty = isatty(2) && !cli->json;
    tot.log = &cli->log;
    tot.last_print = rc_retry_monotonic_s();
    double t_start = rc_retry_monotonic_s();
    plan_acc pa;
    memset(&pa, 0, sizeof pa);
    if (a.dry_run && cli->json && !(pa.lines = cJSON_CreateArray())) {
        fprintf(stderr, "r2cache fill: out of memory\n");
        return RC_EXIT_PARTIAL;
    }
    int rc = RC_OK;
    pick *picks = NULL;
    size_t npicks = 0;
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(from, f_iso);
    rc_time_iso(to, t_iso);
    if (!a.dry_run)
        rc_log_info(&cli->log, "start", "fill %s .. %s: %zu channels, %lld days, store %s", f_iso,
                    t_iso, cli->ntargets, (long long)ndays, rc_store_describe(cli->store));
    for (int64_t d0 = first_day; d0 <= last_day && rc == RC_OK; d0 += batch * 86400) {
        int64_t b_from = d0 > from ? d0 : from;
        int64_t b_to = d0 + batch * 86400 < to ? d0 + batch * 86400 : to;
        rc_engine_opts eo = {0};
        eo.cfg = cfg;
        eo.store = cli->store;
        eo.source = cli->source;
        eo.log = &cli->log;
        eo.stop = cli->stop;
        eo.now = cli->now;
        eo.force = a.force;
        eo.upgrade = a.upgrade;
        eo.upgrade_settle_s = settle;
        eo.dry_run = a.dry_run;
        rc_engine *en = NULL;
        if ((rc = rc_engine_new(&eo, cli->targets, cli->ntargets, &en, &e)) != RC_OK)
            break;
        if (a.autofill) {
            if (!picks && (rc = auto_select(cli, &eo, from, to, max_gap, &picks, &npicks, &e))) {
                rc_engine_free(en);
                break;
            }
            for (size_t k = 0; k < npicks && rc == RC_OK; k++)
                if (picks[k].start >= b_from && picks[k].start < b_to)
                    rc = rc_engine_add(en, picks[k].target, picks[k].span, picks[k].start, &e);
        } else {
            int64_t starts[1024];
            for (size_t i = 0; i < cli->ntargets && rc == RC_OK; i++)
                for (int s = 0; s < RC_SPAN_COUNT && rc == RC_OK; s++) {
                    if (!cfg->spans[s])
                        continue;
                    int64_t sp = rc_span_seconds((rc_span)s);
                    for (int64_t w0 = b_from; w0 < b_to && rc == RC_OK; w0 += 1024 * sp) {
                        int64_t w1 = w0 + 1024 * sp < b_to ? w0 + 1024 * sp : b_to;
                        size_t n = rc_range_windows(w0, w1, sp, starts, 1024);
                        for (size_t k = 0; k < n && k < 1024 && rc == RC_OK; k++)
                            rc = rc_engine_add(en, i, (rc_span)s, starts[k], &e);
                    }
                }
        }
        if (rc == RC_OK) {
            if (a.dry_run) {
                rc = plan_add(&pa, en, cli, &e);
            } else {
                rc_engine_set_progress(en, progress, &tot);
                rc = rc_engine_pass(en, 1, &e);
            }
        }
        add_stats(&tot.s, rc_engine_stats_get(en));
        rc_engine_free(en);
        tot.days_done += (b_to - d0 + 86399) / 86400;
        if (!tot.tty && !a.dry_run && ndays > batch)
            rc_log_info(&cli->log, "progress", "days %lld/%lld: %lld chunks added so far",
                        (long long)(tot.days_done > ndays ? ndays : tot.days_done),
                        (long long)ndays, (long long)tot.s.added);
    }
    free(picks);
    if (tot.tty)
        fprintf(stderr, "\n");
    tot.s.seconds = rc_retry_monotonic_s() - t_start;
    if (a.dry_run) {
        plan_print(&pa, cli->json, f_iso, t_iso);
        if (rc != RC_OK) {
            rc_log_error(&cli->log, "error", "%s", e.msg);
            return rc_cli_exit_for(rc);
        }
        return RC_EXIT_OK;
    }
    int status = rc_cli_engine_status(cli, rc, &e, tot.s.failed != 0,
                                      "; run the same fill again to finish");
    const rc_engine_stats *s = &tot.s;
    rc_log_info(&cli->log, "summary",
                "fill %s .. %s: %lld windows, %lld requested, %lld added (%lld provisional), "
                "%lld skipped as present, %lld re-indexed, %lld no data, %lld failed, "
                "%lld kept (the stored chunk was more complete), %lld not due yet; "
                "%lld requests, %lld bytes fetched, %lld bytes written",
                f_iso, t_iso, (long long)s->windows, (long long)s->requested,
                (long long)s->added, (long long)s->provisional, (long long)s->present,
                (long long)s->reindexed, (long long)s->nodata, (long long)s->failed,
                (long long)s->kept, (long long)s->not_due, (long long)s->requests,
                (long long)s->bytes_fetched, (long long)s->bytes_written);
    if (s->not_due)
        rc_log_info(&cli->log, "not-due",
                    "%lld windows end after %s minus the %llds delay: they are not written "
                    "yet (final means final); the cron job or a later fill caches them",
                    (long long)s->not_due, "now", (long long)cfg->delay_s);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", status == RC_EXIT_OK        ? "complete"
                                             : status == RC_EXIT_PARTIAL ? "partial"
                                                                         : "failed");
        cJSON_AddNumberToObject(o, "chunks_requested", (double)s->requested);
        cJSON_AddNumberToObject(o, "chunks_added", (double)s->added);
        cJSON_AddNumberToObject(o, "chunks_failed", (double)s->failed);
        cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
        cJSON_AddStringToObject(tr, "start", f_iso);
        cJSON_AddStringToObject(tr, "end", t_iso);
        cJSON_AddBoolToObject(o, "metadata_updated", s->manifests > 0);
        cJSON_AddNumberToObject(o, "windows", (double)s->windows);
        cJSON_AddNumberToObject(o, "chunks_skipped_present", (double)s->present);
        cJSON_AddNumberToObject(o, "chunks_reindexed", (double)s->reindexed);
        cJSON_AddNumberToObject(o, "chunks_provisional", (double)s->provisional);
        cJSON_AddNumberToObject(o, "chunks_kept", (double)s->kept);
        cJSON_AddNumberToObject(o, "windows_no_data", (double)s->nodata);
        cJSON_AddNumberToObject(o, "windows_not_due", (double)s->not_due);
        cJSON_AddNumberToObject(o, "requests", (double)s->requests);
        cJSON_AddNumberToObject(o, "bytes_fetched", (double)s->bytes_fetched);
        cJSON_AddNumberToObject(o, "bytes_written", (double)s->bytes_written);
        cJSON_AddNumberToObject(o, "manifests_written", (double)s->manifests);
        cJSON_AddNumberToObject(o, "seconds", s->seconds);
        char *txt = cJSON_Print(o);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(o);
    }
    rc_cli_metrics(cli, "fill", s, status, -1);
    return status;
}
