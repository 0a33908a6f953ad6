/*
 * cmd_gaps.c: `r2cache gaps`, where the holes are.
 *
 * Every configured span of every selected channel has one expected window
 * per span length in the range; the engine's read-only plan says for each
 * whether the store holds it, judged on the manifests AND the listing, so a
 * blob whose manifest entry was lost counts as present (and is listed as
 * unindexed) and an entry whose blob is gone counts as missing. Consecutive
 * missing windows of one channel and span form a gap, classified by length
 * (seed 001: minor <= 2 h, moderate <= 12 h, critical beyond; configurable).
 * Provisional chunks are listed too: they are the work of `fill --upgrade`.
 *
 * The range is read in batches of days so a year of many channels stays
 * small in memory; a gap open at a batch's end carries over to the next.
 * Exit 1 when a critical gap exists, so a cron job or a monitor can alert
 * on the status alone.
 */
#include "r2cache/cli.h"
#include "r2cache/engine.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_MINOR = 1, O_CRITICAL };

static const rc_cli_opt gaps_opts[] = {
    {"minor-hours", "H", "gaps up to H hours are minor (default 2)", O_MINOR},
    {"critical-hours", "H", "gaps longer than H hours are critical (default 12); between the "
                            "two they are moderate", O_CRITICAL},
    {NULL, NULL, NULL, 0}};

typedef struct gaps_args {
    const char *minor, *critical;
} gaps_args;

static int on_opt(void *ud, int id, const char *val)
{
    gaps_args *a = ud;
    if (id == O_MINOR)
        a->minor = val;
    else if (id == O_CRITICAL)
        a->critical = val;
    return 0;
}

typedef enum severity { SEV_MINOR = 0, SEV_MODERATE, SEV_CRITICAL } severity;
static const char *const sev_name[] = {"minor", "moderate", "critical"};

typedef struct gap {
    size_t target;
    rc_span span;
    int64_t start, end;
    int64_t windows;
    int64_t entry_only; /* of which the manifest named a blob that is gone */
} gap;

typedef struct note {
    size_t target;
    rc_span span;
    int64_t start;
    double completeness;
    char written_at[32];
} note;

/* Growable arrays of the three things reported. */
typedef struct report {
    gap *gaps;
    size_t ngaps, capgaps;
    note *prov;
    size_t nprov, capprov;
    note *unidx;
    size_t nunidx, capunidx;
    gap *open; /* per target x span: the gap being extended (windows == 0: none) */
    int64_t expected, present, missing, unindexed, unreadable;
} report;

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 32;
    void *p = realloc(*v, nc * size);
    if (!p)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

static int close_gap(report *r, gap *g)
{
    if (!g->windows)
        return 0;
    if (grow((void **)&r->gaps, &r->capgaps, r->ngaps, sizeof *r->gaps))
        return -1;
    r->gaps[r->ngaps++] = *g;
    g->windows = 0;
    return 0;
}

static int add_note(note **v, size_t *n, size_t *cap, const rc_window_info *w)
{
    if (grow((void **)v, cap, *n, sizeof **v))
        return -1;
    note *x = &(*v)[(*n)++];
    x->target = w->target;
    x->span = w->span;
    x->start = w->start;
    x->completeness = w->completeness;
    snprintf(x->written_at, sizeof x->written_at, "%s", w->written_at);
    return 0;
}

static int take(report *r, const rc_window_info *w)
{
    gap *g = &r->open[w->target * RC_SPAN_COUNT + (size_t)w->span];
    int64_t sp = rc_span_seconds(w->span);
    if (w->state == RC_WIN_NOT_DUE)
        return 0; /* still within the delay after its end: not expected yet */
    r->expected++;
    int missing = w->state == RC_WIN_MISSING || w->state == RC_WIN_ENTRY_ONLY;
    if (w->state == RC_WIN_OTHER) {
        r->unreadable++; /* the engine logged which manifest */
        return close_gap(r, g);
    }
    if (!missing) {
        r->present++;
        if (w->state == RC_WIN_BLOB_ONLY) {
            r->unindexed++;
            if (add_note(&r->unidx, &r->nunidx, &r->capunidx, w))
                return -1;
        } else if (w->provisional &&
                   add_note(&r->prov, &r->nprov, &r->capprov, w)) {
            return -1;
        }
        return close_gap(r, g);
    }
    r->missing++;
    if (g->windows && g->end != w->start && close_gap(r, g))
        return -1;
    if (!g->windows) {
        g->target = w->target;
        g->span = w->span;
        g->start = w->start;
        g->entry_only = 0;
    }
    g->end = w->start + sp;
    g->windows++;
    g->entry_only += w->state == RC_WIN_ENTRY_ONLY;
    return 0;
}

static int cmp_gap(const void *a, const void *b)
{
    const gap *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->span != y->span)
        return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

static int cmp_note(const void *a, const void *b)
{
    const note *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->span != y->span)
        return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

static severity classify(int64_t seconds, double minor_h, double critical_h)
{
    double h = (double)seconds / 3600.0;
    if (h <= minor_h + 1e-9)
        return SEV_MINOR;
    if (h <= critical_h + 1e-9)
        return SEV_MODERATE;
    return SEV_CRITICAL;
}

static int parse_hours(const char *opt, const char *val, double *out)
{
    char *end = NULL;
    double h = strtod(val, &end);
    if (!end || end == val || *end || !(h >= 0)) {
        fprintf(stderr, "r2cache gaps: --%s %s: give a number of hours (for example 2 or 0.5)\n",
                opt, val);
        return -1;
    }
    *out = h;
    return 0;
}

static cJSON *note_json(const rc_cli *cli, const note *n, int with_quality)
{
    char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
    const rc_target *t = &cli->targets[n->target];
    rc_chan_format(&t->st->chan, id);
    rc_time_iso(n->start, a);
    rc_time_iso(n->start + rc_span_seconds(n->span), b);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "channel", id);
    cJSON_AddStringToObject(o, "volcano", t->volc->name);
    cJSON_AddStringToObject(o, "span", rc_span_name(n->span));
    cJSON_AddStringToObject(o, "start", a);
    cJSON_AddStringToObject(o, "end", b);
    if (with_quality) {
        cJSON_AddNumberToObject(o, "completeness", n->completeness);
        cJSON_AddStringToObject(o, "written_at", n->written_at);
    }
    return o;
}

int rc_cmd_gaps(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] = "r2cache gaps --config FILE scope --from TIME --to TIME "
                                "[--minor-hours H --critical-hours H] [--json]";
    static const char desc[] =
        "Report the holes in the cache: every expected window of every configured span\n"
        "(10-minute, 6-hour ...) that the store lacks, judged on the manifests and the\n"
        "listing, grouped into gaps per channel and span and classified minor (<= 2 h),\n"
        "moderate (<= 12 h) or critical (> 12 h). Also lists provisional chunks (for\n"
        "`r2cache fill --upgrade`) and blobs whose manifest entry is lost (unindexed).\n"
        "Windows ending after --to or after now are not expected yet.\n"
        "Reads only; writes nothing.\n\n"
        "exit status of gaps: 0 no critical gap, 1 critical gaps exist (or a manifest\n"
        "could not be read), 2 usage or configuration error, 3 store unusable";
    gaps_args a = {0};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_NOW | RC_OPT_JSON |
                  RC_OPT_SHARD;
    int code = rc_cli_parse(cli, argc, argv, gaps_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache gaps: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    double minor_h = 2, critical_h = 12;
    if ((a.minor && parse_hours("minor-hours", a.minor, &minor_h)) ||
        (a.critical && parse_hours("critical-hours", a.critical, &critical_h)))
        return RC_EXIT_USAGE;
    if (critical_h < minor_h) {
        fprintf(stderr, "r2cache gaps: --critical-hours (%g) is below --minor-hours (%g)\n",
                critical_h, minor_h);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_setup(cli)))
        return code;
    if (cli->to <= cli->from) {
        char f[RC_TIME_STR_MAX], t[RC_TIME_STR_MAX];
        rc_time_iso(cli->from, f);
        rc_time_iso(cli->to, t);
        fprintf(stderr, "r2cache gaps: --to (%s) is not after --from (%s)\n", t, f);
        return RC_EXIT_USAGE;
    }
    if (cli->ntargets == 0) {
        fprintf(stderr, "r2cache gaps: no station selected by the configuration and scope\n");
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, 0)))
        return code;

    const rc_config *cfg = &cli->cfg;
    rc_span base = rc_config_base_span(cfg);
    int64_t bs = rc_span_seconds(base);
    /* the same outward rounding as fill, so `gaps` reports what `fill` would fetch */
    int64_t from = rc_floor(cli->from, bs);
    int64_t to = rc_floor(cli->to + bs - 1, bs);
    if (to > rc_floor(cli->now, bs))
        to = rc_floor(cli->now, bs);
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(from, f_iso);
    rc_time_iso(to > from ? to : from, t_iso);

    report r;
    memset(&r, 0, sizeof r);
    r.open = calloc(cli->ntargets * RC_SPAN_COUNT, sizeof *r.open);
    rc_err e;
    rc_err_clear(&e);
    int rc = r.open ? RC_OK : rc_err_set(&e, RC_ENOMEM, "out of memory");
    /* about 150 windows per channel-day: keep a batch near 100k windows */
    int64_t batch = 100000 / (150 * (int64_t)cli->ntargets);
    batch = batch < 1 ? 1 : batch > 31 ? 31 : batch;
    for (int64_t d0 = rc_day_start(from); d0 < to && rc == RC_OK; d0 += batch * 86400) {
        int64_t b_from = d0 > from ? d0 : from;
        int64_t b_to = d0 + batch * 86400 < to ? d0 + batch * 86400 : to;
        rc_engine_opts eo = {0};
        eo.cfg = cfg;
        eo.store = cli->store;
        eo.log = &cli->log;
        eo.stop = cli->stop;
        eo.now = cli->now;
        eo.dry_run = 1;
        rc_engine *en = NULL;
        if ((rc = rc_engine_new(&eo, cli->targets, cli->ntargets, &en, &e)) != RC_OK)
            break;
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
        rc_window_info *w = NULL;
        size_t n = 0;
        if (rc == RC_OK)
            rc = rc_engine_windows(en, &w, &n, &e);
        for (size_t k = 0; k < n && rc == RC_OK; k++)
            if (take(&r, &w[k]))
                rc = rc_err_set(&e, RC_ENOMEM, "out of memory");
        free(w);
        rc_engine_free(en);
        if (rc == RC_OK && cli->stop && *cli->stop)
            rc = rc_err_set(&e, RC_EINTR, "stopped by signal");
    }
    for (size_t i = 0; r.open && i < cli->ntargets * RC_SPAN_COUNT && rc == RC_OK; i++)
        if (close_gap(&r, &r.open[i]))
            rc = rc_err_set(&e, RC_ENOMEM, "out of memory");

    int status = RC_EXIT_OK;
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e.msg);
        status = rc_cli_exit_for(rc);
        if (status == RC_EXIT_USAGE) /* nothing here is a usage error any more */
            status = RC_EXIT_PARTIAL;
    } else {
        if (r.ngaps)
            qsort(r.gaps, r.ngaps, sizeof *r.gaps, cmp_gap);
        if (r.nprov)
            qsort(r.prov, r.nprov, sizeof *r.prov, cmp_note);
        if (r.nunidx)
            qsort(r.unidx, r.nunidx, sizeof *r.unidx, cmp_note);
        int64_t count[3] = {0, 0, 0};
        for (size_t k = 0; k < r.ngaps; k++)
            count[classify(r.gaps[k].end - r.gaps[k].start, minor_h, critical_h)]++;
        if (count[SEV_CRITICAL] || r.unreadable)
            status = RC_EXIT_PARTIAL;
        if (cli->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
            cJSON_AddStringToObject(tr, "start", f_iso);
            cJSON_AddStringToObject(tr, "end", t_iso);
            cJSON *th = cJSON_AddObjectToObject(o, "thresholds");
            cJSON_AddNumberToObject(th, "minor_hours", minor_h);
            cJSON_AddNumberToObject(th, "critical_hours", critical_h);
            cJSON_AddNumberToObject(o, "channels", (double)cli->ntargets);
            cJSON_AddNumberToObject(o, "windows_expected", (double)r.expected);
            cJSON_AddNumberToObject(o, "windows_present", (double)r.present);
            cJSON_AddNumberToObject(o, "windows_missing", (double)r.missing);
            cJSON_AddNumberToObject(o, "windows_unindexed", (double)r.unindexed);
            cJSON_AddNumberToObject(o, "windows_unreadable", (double)r.unreadable);
            cJSON *cnt = cJSON_AddObjectToObject(o, "counts");
            for (int k = 0; k < 3; k++)
                cJSON_AddNumberToObject(cnt, sev_name[k], (double)count[k]);
            cJSON_AddBoolToObject(o, "critical", count[SEV_CRITICAL] > 0);
            cJSON *ga = cJSON_AddArrayToObject(o, "gaps");
            for (size_t k = 0; k < r.ngaps; k++) {
                const gap *g = &r.gaps[k];
                char id[RC_CHAN_STR_MAX], ga_s[RC_TIME_STR_MAX], ge_s[RC_TIME_STR_MAX];
                rc_chan_format(&cli->targets[g->target].st->chan, id);
                rc_time_iso(g->start, ga_s);
                rc_time_iso(g->end, ge_s);
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "channel", id);
                cJSON_AddStringToObject(x, "volcano", cli->targets[g->target].volc->name);
                cJSON_AddStringToObject(x, "span", rc_span_name(g->span));
                cJSON_AddStringToObject(x, "start", ga_s);
                cJSON_AddStringToObject(x, "end", ge_s);
                cJSON_AddNumberToObject(x, "windows", (double)g->windows);
                cJSON_AddNumberToObject(x, "hours", (double)(g->end - g->start) / 3600.0);
                cJSON_AddStringToObject(
                    x, "severity", sev_name[classify(g->end - g->start, minor_h, critical_h)]);
                cJSON_AddNumberToObject(x, "entries_without_blob", (double)g->entry_only);
                cJSON_AddItemToArray(ga, x);
            }
            cJSON *pa = cJSON_AddArrayToObject(o, "provisional");
            for (size_t k = 0; k < r.nprov; k++)
                cJSON_AddItemToArray(pa, note_json(cli, &r.prov[k], 1));
            cJSON *ua = cJSON_AddArrayToObject(o, "unindexed");
            for (size_t k = 0; k < r.nunidx; k++)
                cJSON_AddItemToArray(ua, note_json(cli, &r.unidx[k], 0));
            char *txt = cJSON_Print(o);
            if (txt)
                printf("%s\n", txt);
            free(txt);
            cJSON_Delete(o);
        } else {
            printf("gaps %s .. %s, %zu channels (minor <= %g h, moderate <= %g h, critical > %g h)\n",
                   f_iso, t_iso, cli->ntargets, minor_h, critical_h, critical_h);
            if (r.ngaps)
                printf("%-20s %-4s %-21s %-21s %7s %7s  %s\n", "CHANNEL", "SPAN", "START", "END",
                       "HOURS", "WINDOWS", "SEVERITY");
            for (size_t k = 0; k < r.ngaps; k++) {
                const gap *g = &r.gaps[k];
                char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX], s2[RC_TIME_STR_MAX];
                rc_chan_format(&cli->targets[g->target].st->chan, id);
                rc_time_iso(g->start, s1);
                rc_time_iso(g->end, s2);
                printf("%-20s %-4s %-21s %-21s %7.2f %7lld  %s%s\n", id, rc_span_name(g->span), s1,
                       s2, (double)(g->end - g->start) / 3600.0, (long long)g->windows,
                       sev_name[classify(g->end - g->start, minor_h, critical_h)],
                       g->entry_only ? " (manifest names blobs that are gone)" : "");
            }
            if (r.nprov)
                printf("provisional chunks (written while data was missing; "
                       "`r2cache fill --upgrade` replaces them):\n");
            for (size_t k = 0; k < r.nprov; k++) {
                char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX];
                rc_chan_format(&cli->targets[r.prov[k].target].st->chan, id);
                rc_time_iso(r.prov[k].start, s1);
                printf("  %-20s %-4s %-21s completeness %.3f  written %s\n", id,
                       rc_span_name(r.prov[k].span), s1, r.prov[k].completeness,
                       r.prov[k].written_at[0] ? r.prov[k].written_at : "?");
            }
            if (r.nunidx)
                printf("unindexed chunks (blob without manifest entry; "
                       "`r2cache fill` re-indexes them without refetching):\n");
            for (size_t k = 0; k < r.nunidx; k++) {
                char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX];
                rc_chan_format(&cli->targets[r.unidx[k].target].st->chan, id);
                rc_time_iso(r.unidx[k].start, s1);
                printf("  %-20s %-4s %s\n", id, rc_span_name(r.unidx[k].span), s1);
            }
            printf("summary: %zu gaps (%lld minor, %lld moderate, %lld critical); %lld of %lld "
                   "windows missing, %lld unindexed, %zu provisional",
                   r.ngaps, (long long)count[0], (long long)count[1], (long long)count[2],
                   (long long)r.missing, (long long)r.expected, (long long)r.unindexed, r.nprov);
            if (r.unreadable)
                printf(", %lld unreadable (see the errors above)", (long long)r.unreadable);
            printf("\n");
        }
    }
    free(r.gaps);
    free(r.prov);
    free(r.unidx);
    free(r.open);
    return status;
}
