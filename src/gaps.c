/*
 * gaps.c: gap detection over the engine's read-only plan (see gaps.h).
 *
 * The range is read in batches of days so a year of many channels stays
 * small in memory; a gap open at a batch's end carries over to the next.
 */
#include "r2cache/gaps.h"
#include "r2cache/engine.h"
#include "r2cache/source_avail.h"
#include "r2cache/metrics.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sev_name[RC_GAP_SEVERITIES] = {"minor", "moderate", "critical"};

const char *rc_gap_kind_name(rc_gap_kind k)
{
    return k == RC_GAP_SOURCE_EMPTY ? "source-empty" : "missing";
}

const char *rc_gap_severity_name(rc_gap_severity s)
{
    return (unsigned)s < RC_GAP_SEVERITIES ? sev_name[s] : "unknown";
}

rc_gap_severity rc_gaps_classify(int64_t seconds, double minor_h, double critical_h)
{
    double h = (double)seconds / 3600.0;
    if (h <= minor_h + 1e-9) return RC_GAP_MINOR;
    if (h <= critical_h + 1e-9) return RC_GAP_MODERATE;
    return RC_GAP_CRITICAL;
}

void rc_gaps_opts_default(rc_gaps_opts *o)
{
    memset(o, 0, sizeof *o);
    o->minor_hours = 2;
    o->critical_hours = 12;
}

rc_status rc_gaps_check(const rc_gaps_opts *o, size_t ntargets, rc_err *e)
{
    if (o->critical_hours < o->minor_hours)
        return rc_err_set(e, RC_EINVAL, "--critical-hours (%g) is below --minor-hours (%g)",
                          o->critical_hours, o->minor_hours);
    if (o->to <= o->from) {
        char f[RC_TIME_STR_MAX], t[RC_TIME_STR_MAX];
        rc_time_iso(o->from, f);
        rc_time_iso(o->to, t);
        return rc_err_set(e, RC_EINVAL, "--to (%s) is not after --from (%s)", t, f);
    }
    if (ntargets == 0)
        return rc_err_set(e, RC_EINVAL, "no station selected by the configuration and scope");
    return RC_OK;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 32;
    void *p = realloc(*v, nc * size);
    if (!p) return -1;
    *v = p;
    *cap = nc;
    return 0;
}

static int close_gap(rc_gaps_report *r, rc_gap *g)
{
    if (!g->windows) return 0;
    g->source_listed_s = -1;
    if (grow((void **)&r->gaps, &r->capgaps, r->ngaps, sizeof *r->gaps)) return -1;
    r->gaps[r->ngaps++] = *g;
    g->windows = 0;
    return 0;
}

static int add_note(rc_gap_note **v, size_t *n, size_t *cap, const rc_window_info *w)
{
    if (grow((void **)v, cap, *n, sizeof **v)) return -1;
    rc_gap_note *x = &(*v)[(*n)++];
    x->target = w->target;
    x->span = w->span;
    x->start = w->start;
    x->completeness = w->completeness;
    snprintf(x->written_at, sizeof x->written_at, "%s", w->written_at);
    return 0;
}

static int take(rc_gaps_report *r, const rc_window_info *w)
{
    rc_gap *g = &r->open[w->target * RC_SPAN_COUNT + (size_t)w->span];
    int64_t sp = rc_span_seconds(w->span);
    if (w->state == RC_WIN_NOT_DUE)
        return 0; /* still within the delay after its end: not expected yet */
    r->expected++;
    r->span_mask |= 1u << w->span;
    int missing = w->state == RC_WIN_MISSING || w->state == RC_WIN_ENTRY_ONLY ||
                  w->state == RC_WIN_SOURCE_EMPTY;
    if (w->state == RC_WIN_OTHER) {
        r->unreadable++; /* the engine logged which manifest */
        return close_gap(r, g);
    }
    if (!missing) {
        r->present++;
        if (w->state == RC_WIN_BLOB_ONLY) {
            r->unindexed++;
            if (add_note(&r->unidx, &r->nunidx, &r->capunidx, w)) return -1;
        } else if (w->provisional && add_note(&r->prov, &r->nprov, &r->capprov, w)) {
            return -1;
        }
        return close_gap(r, g);
    }
    rc_gap_kind kind = w->state == RC_WIN_SOURCE_EMPTY ? RC_GAP_SOURCE_EMPTY : RC_GAP_MISSING;
    if (kind == RC_GAP_SOURCE_EMPTY)
        r->source_empty++;
    else
        r->missing++;
    if (g->windows && (g->end != w->start || g->kind != kind) && close_gap(r, g)) return -1;
    if (!g->windows) {
        g->target = w->target;
        g->span = w->span;
        g->kind = kind;
        g->start = w->start;
        g->entry_only = 0;
        g->last_checked = 0;
        g->next_check = INT64_MAX;
        g->checks = INT32_MAX;
        g->due = 0;
    }
    g->end = w->start + sp;
    g->windows++;
    g->entry_only += w->state == RC_WIN_ENTRY_ONLY;
    if (kind == RC_GAP_SOURCE_EMPTY) {
        if (w->empty_last_checked > g->last_checked) g->last_checked = w->empty_last_checked;
        if (w->empty_next_check < g->next_check) g->next_check = w->empty_next_check;
        if (w->empty_checks < g->checks) g->checks = w->empty_checks;
        g->due |= w->empty_due;
    }
    return 0;
}

static int cmp_gap(const void *a, const void *b)
{
    const rc_gap *x = a, *y = b;
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    if (x->span != y->span) return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

static int cmp_note(const void *a, const void *b)
{
    const rc_gap_note *x = a, *y = b;
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    if (x->span != y->span) return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

rc_status rc_gaps_find(const rc_gaps_opts *o, const rc_config *cfg, const rc_target *targets,
                       size_t ntargets, rc_store *store, rc_gaps_report *r, rc_err *e)
{
    memset(r, 0, sizeof *r);
    r->targets = targets;
    r->ntargets = ntargets;
    r->minor_hours = o->minor_hours;
    r->critical_hours = o->critical_hours;
    r->include_source_empty = o->include_source_empty;
    rc_span base = rc_config_base_span(cfg);
    int64_t bs = rc_span_seconds(base);
    /* the same outward rounding as fill, so `gaps` reports what `fill` would fetch */
    int64_t from = rc_floor(o->from, bs);
    int64_t to = rc_floor(o->to + bs - 1, bs);
    if (to > rc_floor(o->now, bs)) to = rc_floor(o->now, bs);
    r->from = from;
    r->to = to > from ? to : from;
    if (ntargets == 0)
        return rc_err_set(e, RC_EINVAL, "no station selected by the configuration and scope");

    r->open = calloc(ntargets * RC_SPAN_COUNT, sizeof *r->open);
    int rc = r->open ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory");
    /* about 150 windows per channel-day: keep a batch near 100k windows */
    int64_t batch = 100000 / (150 * (int64_t)ntargets);
    batch = batch < 1 ? 1 : batch > 31 ? 31 : batch;
    for (int64_t d0 = rc_day_start(from); d0 < to && rc == RC_OK; d0 += batch * 86400) {
        int64_t b_from = d0 > from ? d0 : from;
        int64_t b_to = d0 + batch * 86400 < to ? d0 + batch * 86400 : to;
        rc_engine_opts eo = {0};
        eo.cfg = cfg;
        eo.store = store;
        eo.log = o->log;
        eo.stop = o->stop;
        eo.now = o->now;
        eo.dry_run = 1;
        rc_engine *en = NULL;
        if ((rc = rc_engine_new(&eo, targets, ntargets, &en, e)) != RC_OK) break;
        rc = rc_engine_add_range(en, b_from, b_to, e);
        rc_window_info *w = NULL;
        size_t n = 0;
        if (rc == RC_OK) rc = rc_engine_windows(en, &w, &n, e);
        for (size_t k = 0; k < n && rc == RC_OK; k++)
            if (take(r, &w[k])) rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        free(w);
        rc_engine_free(en);
        if (rc == RC_OK && o->stop && *o->stop) rc = rc_err_set(e, RC_EINTR, "stopped by signal");
    }
    for (size_t i = 0; r->open && i < ntargets * RC_SPAN_COUNT && rc == RC_OK; i++)
        if (close_gap(r, &r->open[i])) rc = rc_err_set(e, RC_ENOMEM, "out of memory");
    if (rc != RC_OK) return rc;
    if (r->ngaps) qsort(r->gaps, r->ngaps, sizeof *r->gaps, cmp_gap);
    if (r->nprov) qsort(r->prov, r->nprov, sizeof *r->prov, cmp_note);
    if (r->nunidx) qsort(r->unidx, r->nunidx, sizeof *r->unidx, cmp_note);
    for (size_t k = 0; k < r->ngaps; k++) {
        const rc_gap *g = &r->gaps[k];
        rc_gap_severity sv = rc_gaps_classify(g->end - g->start, r->minor_hours, r->critical_hours);
        if (g->kind == RC_GAP_SOURCE_EMPTY) {
            r->nempty_gaps++;
            r->empty_counts[sv]++;
            if (!r->include_source_empty) continue;
        }
        r->counts[sv]++;
    }
    return RC_OK;
}

void rc_gaps_report_free(rc_gaps_report *r)
{
    free(r->gaps);
    free(r->prov);
    free(r->unidx);
    free(r->open);
    r->gaps = NULL;
    r->prov = r->unidx = NULL;
    r->open = NULL;
    r->ngaps = r->nprov = r->nunidx = 0;
}

int rc_gaps_alarm(const rc_gaps_report *r)
{
    return r->counts[RC_GAP_CRITICAL] > 0 || r->unreadable > 0;
}

const char *rc_gaps_recommendation(const rc_gaps_report *r)
{
    if (r->counts[RC_GAP_CRITICAL])
        return "Execute backfill immediately: critical gaps exist (r2cache fill over the range)";
    if (r->unreadable)
        return "Repair the store: some manifests could not be read (r2cache verify --repair)";
    if (r->counts[RC_GAP_MODERATE])
        return "Backfill soon: moderate gaps exist (r2cache fill, or the auto-recovery fill)";
    if (r->counts[RC_GAP_MINOR])
        return "Minor gaps only: the next run or auto-recovery fill covers them";
    if (r->nempty_gaps && r->nempty_gaps == r->ngaps)
        return "Nothing to fetch: the remaining gaps are confirmed empty at the source (they are "
               "asked again when their recheck is due; r2cache fill --recheck asks now)";
    if (r->nunidx)
        return "No gaps; re-index the unindexed chunks (r2cache fill re-indexes without "
               "refetching)";
    if (r->nprov)
        return "No gaps; provisional chunks remain (r2cache fill --upgrade replaces them once "
               "settled)";
    return "No gaps: nothing to do";
}

static cJSON *note_json(const rc_gaps_report *r, const rc_gap_note *n, int with_quality)
{
    char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
    const rc_target *t = &r->targets[n->target];
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

rc_status rc_gaps_compare_source(rc_gaps_report *r, struct rc_source *src, rc_err *e)
{
    rc_fetch_line *lines = malloc((r->ngaps ? r->ngaps : 1) * sizeof *lines);
    if (!lines) return rc_err_set(e, RC_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t k = 0; k < r->ngaps; k++) {
        const rc_gap *g = &r->gaps[k];
        if (g->kind != RC_GAP_MISSING) continue;
        lines[n++] = (rc_fetch_line){r->targets[g->target].st->chan, g->start, g->end};
    }
    rc_avail av;
    memset(&av, 0, sizeof av);
    int rc = n ? rc_source_availability(src, lines, n, &av, e) : RC_OK;
    free(lines);
    if (rc != RC_OK) return rc;
    for (size_t k = 0; k < r->ngaps; k++) {
        rc_gap *g = &r->gaps[k];
        if (g->kind != RC_GAP_MISSING) continue;
        int64_t us = rc_avail_covered(&av, &r->targets[g->target].st->chan, g->start * 1000000,
                                      g->end * 1000000);
        g->source_listed_s = us / 1000000;
    }
    rc_avail_free(&av);
    r->compared = 1;
    return RC_OK;
}

cJSON *rc_gaps_json(const rc_gaps_report *r)
{
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(r->from, f_iso);
    rc_time_iso(r->to, t_iso);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
    cJSON_AddStringToObject(tr, "start", f_iso);
    cJSON_AddStringToObject(tr, "end", t_iso);
    cJSON *th = cJSON_AddObjectToObject(o, "thresholds");
    cJSON_AddNumberToObject(th, "minor_hours", r->minor_hours);
    cJSON_AddNumberToObject(th, "critical_hours", r->critical_hours);
    cJSON_AddNumberToObject(o, "channels", (double)r->ntargets);
    cJSON_AddNumberToObject(o, "windows_expected", (double)r->expected);
    cJSON_AddNumberToObject(o, "windows_present", (double)r->present);
    cJSON_AddNumberToObject(o, "windows_missing", (double)r->missing);
    cJSON_AddNumberToObject(o, "windows_unindexed", (double)r->unindexed);
    cJSON_AddNumberToObject(o, "windows_unreadable", (double)r->unreadable);
    cJSON_AddNumberToObject(o, "windows_source_empty", (double)r->source_empty);
    cJSON *cnt = cJSON_AddObjectToObject(o, "counts");
    for (int k = 0; k < RC_GAP_SEVERITIES; k++)
        cJSON_AddNumberToObject(cnt, sev_name[k], (double)r->counts[k]);
    cJSON *ecnt = cJSON_AddObjectToObject(o, "counts_source_empty");
    for (int k = 0; k < RC_GAP_SEVERITIES; k++)
        cJSON_AddNumberToObject(ecnt, sev_name[k], (double)r->empty_counts[k]);
    cJSON_AddBoolToObject(o, "include_source_empty", r->include_source_empty);
    cJSON_AddBoolToObject(o, "critical", r->counts[RC_GAP_CRITICAL] > 0);
    cJSON *ga = cJSON_AddArrayToObject(o, "gaps");
    for (size_t k = 0; k < r->ngaps; k++) {
        const rc_gap *g = &r->gaps[k];
        char id[RC_CHAN_STR_MAX], ga_s[RC_TIME_STR_MAX], ge_s[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[g->target].st->chan, id);
        rc_time_iso(g->start, ga_s);
        rc_time_iso(g->end, ge_s);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "channel", id);
        cJSON_AddStringToObject(x, "volcano", r->targets[g->target].volc->name);
        cJSON_AddStringToObject(x, "span", rc_span_name(g->span));
        cJSON_AddStringToObject(x, "start", ga_s);
        cJSON_AddStringToObject(x, "end", ge_s);
        cJSON_AddNumberToObject(x, "windows", (double)g->windows);
        cJSON_AddNumberToObject(x, "hours", (double)(g->end - g->start) / 3600.0);
        cJSON_AddStringToObject(
            x, "severity",
            sev_name[rc_gaps_classify(g->end - g->start, r->minor_hours, r->critical_hours)]);
        cJSON_AddNumberToObject(x, "entries_without_blob", (double)g->entry_only);
        cJSON_AddStringToObject(x, "kind", rc_gap_kind_name(g->kind));
        if (r->compared && g->source_listed_s >= 0)
            cJSON_AddNumberToObject(x, "source_listed_seconds", (double)g->source_listed_s);
        if (g->kind == RC_GAP_SOURCE_EMPTY) {
            char lc[RC_TIME_STR_MAX], nc[RC_TIME_STR_MAX];
            rc_time_iso(g->last_checked, lc);
            cJSON_AddStringToObject(x, "last_checked", lc);
            cJSON_AddNumberToObject(x, "checks", g->checks);
            if (g->next_check == INT64_MAX) {
                cJSON_AddNullToObject(x, "next_check");
            } else {
                rc_time_iso(g->next_check, nc);
                cJSON_AddStringToObject(x, "next_check", nc);
            }
            cJSON_AddBoolToObject(x, "due", g->due);
        }
        cJSON_AddItemToArray(ga, x);
    }
    cJSON *pa = cJSON_AddArrayToObject(o, "provisional");
    for (size_t k = 0; k < r->nprov; k++)
        cJSON_AddItemToArray(pa, note_json(r, &r->prov[k], 1));
    cJSON *ua = cJSON_AddArrayToObject(o, "unindexed");
    for (size_t k = 0; k < r->nunidx; k++)
        cJSON_AddItemToArray(ua, note_json(r, &r->unidx[k], 0));
    return o;
}

rc_status rc_gaps_text(const rc_gaps_report *r, rc_buf *out)
{
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(r->from, f_iso);
    rc_time_iso(r->to, t_iso);
    double minor_h = r->minor_hours, critical_h = r->critical_hours;
    int rc = rc_buf_printf(
        out, "gaps %s .. %s, %zu channels (minor <= %g h, moderate <= %g h, critical > %g h)\n",
        f_iso, t_iso, r->ntargets, minor_h, critical_h, critical_h);
    if (r->ngaps && rc == RC_OK)
        rc = rc_buf_printf(out, "%-20s %-4s %-21s %-21s %7s %7s  %s\n", "CHANNEL", "SPAN", "START",
                           "END", "HOURS", "WINDOWS", "SEVERITY");
    for (size_t k = 0; k < r->ngaps && rc == RC_OK; k++) {
        const rc_gap *g = &r->gaps[k];
        char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX], s2[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[g->target].st->chan, id);
        rc_time_iso(g->start, s1);
        rc_time_iso(g->end, s2);
        char note[160] = "";
        if (g->kind == RC_GAP_SOURCE_EMPTY) {
            char lc[RC_TIME_STR_MAX], nc[RC_TIME_STR_MAX] = "never (only --recheck)";
            rc_time_iso(g->last_checked, lc);
            if (g->next_check != INT64_MAX) rc_time_iso(g->next_check, nc);
            snprintf(note, sizeof note, " source-empty: asked %d time%s, last %s, next %s%s",
                     g->checks, g->checks == 1 ? "" : "s", lc, nc, g->due ? " (due)" : "");
        } else if (g->entry_only) {
            snprintf(note, sizeof note, " (manifest names blobs that are gone)");
        }
        if (r->compared && g->source_listed_s == 0) {
            size_t l = strlen(note);
            snprintf(note + l, sizeof note - l, " the source lists no data there");
        } else if (r->compared && g->source_listed_s > 0) {
            size_t l = strlen(note);
            snprintf(note + l, sizeof note - l, " the source lists %.2f h of it",
                     (double)g->source_listed_s / 3600.0);
        }
        rc = rc_buf_printf(
            out, "%-20s %-4s %-21s %-21s %7.2f %7lld  %s%s\n", id, rc_span_name(g->span), s1, s2,
            (double)(g->end - g->start) / 3600.0, (long long)g->windows,
            sev_name[rc_gaps_classify(g->end - g->start, minor_h, critical_h)], note);
    }
    if (r->nprov && rc == RC_OK)
        rc = rc_buf_printf(out, "provisional chunks (written while data was missing; "
                                "`r2cache fill --upgrade` replaces them):\n");
    for (size_t k = 0; k < r->nprov && rc == RC_OK; k++) {
        char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[r->prov[k].target].st->chan, id);
        rc_time_iso(r->prov[k].start, s1);
        rc = rc_buf_printf(out, "  %-20s %-4s %-21s completeness %.3f  written %s\n", id,
                           rc_span_name(r->prov[k].span), s1, r->prov[k].completeness,
                           r->prov[k].written_at[0] ? r->prov[k].written_at : "?");
    }
    if (r->nunidx && rc == RC_OK)
        rc = rc_buf_printf(out, "unindexed chunks (blob without manifest entry; "
                                "`r2cache fill` re-indexes them without refetching):\n");
    for (size_t k = 0; k < r->nunidx && rc == RC_OK; k++) {
        char id[RC_CHAN_STR_MAX], s1[RC_TIME_STR_MAX];
        rc_chan_format(&r->targets[r->unidx[k].target].st->chan, id);
        rc_time_iso(r->unidx[k].start, s1);
        rc = rc_buf_printf(out, "  %-20s %-4s %s\n", id, rc_span_name(r->unidx[k].span), s1);
    }
    if (rc == RC_OK)
        rc = rc_buf_printf(out,
                           "summary: %zu gaps (%lld minor, %lld moderate, %lld critical); %lld "
                           "of %lld windows missing, %lld unindexed, %zu provisional",
                           r->ngaps - (r->include_source_empty ? 0 : r->nempty_gaps),
                           (long long)r->counts[0], (long long)r->counts[1],
                           (long long)r->counts[2], (long long)r->missing, (long long)r->expected,
                           (long long)r->unindexed, r->nprov);
    if (r->nempty_gaps && rc == RC_OK)
        rc = rc_buf_printf(
            out, "; %zu source-empty gap%s (%lld windows the source has no data for%s)",
            r->nempty_gaps, r->nempty_gaps == 1 ? "" : "s", (long long)r->source_empty,
            r->include_source_empty ? ", counted above" : ", not counted above");
    if (r->unreadable && rc == RC_OK)
        rc = rc_buf_printf(out, ", %lld unreadable (see the errors above)",
                           (long long)r->unreadable);
    if (rc == RC_OK) rc = rc_buf_printf(out, "\n");
    return rc;
}

rc_status rc_gaps_metrics(const rc_gaps_report *r, const char *labels, rc_buf *out)
{
    /* cells: target x span x kind x severity */
    enum { KINDS = 2 };
    size_t cells = r->ntargets * RC_SPAN_COUNT * KINDS * RC_GAP_SEVERITIES;
    int64_t *count = calloc(cells ? cells : 1, sizeof *count);
    int64_t *secs = calloc(cells ? cells : 1, sizeof *secs);
    int rc = count && secs ? RC_OK : RC_ENOMEM;
#define CELL(t, sp, k, sv)                                                                         \
    ((((t)*RC_SPAN_COUNT + (size_t)(sp)) * KINDS + (size_t)(k)) * RC_GAP_SEVERITIES + (size_t)(sv))
    unsigned spans = r->span_mask; /* the spans the report covered */
    for (size_t k = 0; k < r->ngaps && rc == RC_OK; k++) {
        const rc_gap *g = &r->gaps[k];
        rc_gap_severity sv = rc_gaps_classify(g->end - g->start, r->minor_hours, r->critical_hours);
        size_t c = CELL(g->target, g->span, g->kind, sv);
        count[c]++;
        secs[c] += g->end - g->start;
        spans |= 1u << g->span;
    }
    for (int f = 0; f < 2 && rc == RC_OK; f++) {
        const char *fam = rc_metrics_gap_family(f);
        rc = rc_metrics_gap_head(out, f);
        for (size_t i = 0; i < r->ntargets && rc == RC_OK; i++)
            for (int sp = 0; sp < RC_SPAN_COUNT && rc == RC_OK; sp++) {
                if (!((spans >> sp) & 1)) continue;
                for (int k = 0; k < KINDS && rc == RC_OK; k++)
                    for (int sv = 0; sv < RC_GAP_SEVERITIES && rc == RC_OK; sv++) {
                        size_t c = CELL(i, sp, k, sv);
                        char more[96];
                        snprintf(more, sizeof more, ",span=\"%s\",kind=\"%s\",severity=\"%s\"",
                                 rc_span_name((rc_span)sp), rc_gap_kind_name((rc_gap_kind)k),
                                 sev_name[sv]);
                        rc = rc_metrics_chan_sample(out, fam, labels, &r->targets[i].st->chan, more,
                                                    (double)(f ? secs[c] : count[c]));
                    }
            }
    }
#undef CELL
    free(count);
    free(secs);
    return rc;
}

void rc_gaps_health_of(const rc_gaps_report *r, rc_span base, int64_t now, int64_t delay_s,
                       rc_gaps_health *out)
{
    int64_t bs = rc_span_seconds(base);
    /* the newest window due: it ended at least delay_s before now */
    int64_t last_end = rc_floor(now - delay_s, bs);
    if (last_end > r->to) last_end = r->to;
    int64_t day_from = last_end - 86400 > r->from ? last_end - 86400 : r->from;
    int64_t expected = last_end > day_from ? (last_end - day_from) / bs : 0;
    int64_t *missing = calloc(r->ntargets ? r->ntargets : 1, sizeof *missing);
    for (size_t i = 0; i < r->ntargets; i++)
        out[i].newest = last_end > r->from ? last_end : 0;
    for (size_t k = 0; k < r->ngaps; k++) {
        const rc_gap *g = &r->gaps[k];
        if (g->span != base) continue;
        /* the gap that reaches the last window due: the newest cached one ends where it starts */
        if (g->end >= last_end) out[g->target].newest = g->start > r->from ? g->start : 0;
        int64_t a = g->start > day_from ? g->start : day_from;
        int64_t b = g->end < last_end ? g->end : last_end;
        if (missing && b > a) missing[g->target] += (b - a) / bs;
    }
    for (size_t i = 0; i < r->ntargets; i++)
        out[i].completeness =
            expected && missing ? (double)(expected - missing[i]) / (double)expected : 0;
    free(missing);
}

rc_status rc_gaps_health_metrics(const rc_config *cfg, const rc_target *targets, size_t n,
                                 rc_store *store, int64_t now, const rc_log *log,
                                 const char *labels, rc_buf *out, rc_err *e)
{
    rc_gaps_opts go;
    rc_gaps_opts_default(&go);
    go.now = now;
    go.to = now;
    go.from = now - RC_GAPS_HEALTH_DAYS * 86400;
    go.log = log;
    rc_gaps_report r;
    int rc = rc_gaps_find(&go, cfg, targets, n, store, &r, e);
    rc_gaps_health *h = rc == RC_OK ? calloc(n ? n : 1, sizeof *h) : NULL;
    rc_metrics_chan *m = h ? calloc(n ? n : 1, sizeof *m) : NULL;
    if (rc == RC_OK && !m) rc = rc_err_set(e, RC_ENOMEM, "out of memory");
    if (rc == RC_OK) {
        rc_gaps_health_of(&r, rc_config_base_span(cfg), now, cfg->delay_s, h);
        for (size_t i = 0; i < n; i++) {
            m[i].chan = &targets[i].st->chan;
            m[i].freshness_s = h[i].newest ? (double)(now - h[i].newest) : INFINITY;
            m[i].completeness = h[i].completeness;
        }
        if (rc_metrics_channels(m, n, labels, out)) rc = rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    free(m);
    free(h);
    rc_gaps_report_free(&r);
    return rc;
}
