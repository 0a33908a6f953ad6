/*
 * report.c: the inventory of a scope (see report.h): resolving the scope
 * through the configuration, loading the figures from inventory.c (the
 * per-month summaries, or the full listing with scan), and turning them
 * into seed 002's cache-status JSON or the table of `r2cache inventory`.
 * Counts, days and sizes are what the listing shows; provisional chunks and
 * gaps are what the manifests say.
 */
#include "r2cache/report.h"
#include "r2cache/summary.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_name[] = {"station", "volcano", "location", "all"};

rc_status rc_report_scope_parse(const char *s, rc_report_scope *out, rc_err *e)
{
    for (int i = 0; i <= RC_REPORT_ALL; i++)
        if (strcmp(s, scope_name[i]) == 0) {
            *out = (rc_report_scope)i;
            return RC_OK;
        }
    if (strcmp(s, "region") == 0) { /* "location" is seed 002's word for it */
        *out = RC_REPORT_LOCATION;
        return RC_OK;
    }
    return rc_err_set(e, RC_EINVAL, "--scope %s: use station, volcano, region (or location) or all",
                      s);
}

const char *rc_report_scope_name(rc_report_scope s)
{
    return (unsigned)s <= RC_REPORT_ALL ? scope_name[s] : "unknown";
}

void rc_report_query_default(rc_report_query *q)
{
    memset(q, 0, sizeof *q);
    q->scope = RC_REPORT_ALL;
    q->from = INT64_MIN / 2;
    q->to = INT64_MAX / 2;
    q->threads = 8;
}

static const char *const span_key[RC_SPAN_COUNT] = {"10min", "1h", "6h", "24h"};

/* Per-channel figures within [from, to). */
typedef struct chan_fig {
    int64_t days, complete_days, chunks[RC_SPAN_COUNT], bytes, provisional;
    int64_t source_empty; /* 10-minute windows confirmed empty at the source */
    int64_t first, last;
} chan_fig;

static int in_range(int64_t day, int64_t from, int64_t to)
{
    return day + 86400 > from && day < to;
}

static int64_t day_chunks(const rc_inv_day *d)
{
    int64_t n = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        n += d->chunks[s];
    return n;
}

static void figures(const rc_inv_chan *ch, int64_t from, int64_t to, rc_span base, chan_fig *f)
{
    memset(f, 0, sizeof *f);
    int64_t per_day = 86400 / rc_span_seconds(base);
    for (size_t i = 0; i < ch->ndays; i++) {
        const rc_inv_day *d = &ch->days[i];
        if (!in_range(d->day, from, to)) continue;
        f->source_empty += d->source_empty;
        /* a day without chunks still stores its manifest (the record of the
         * windows the source had no data for): it costs bytes, it is not cached */
        if (!day_chunks(d)) {
            f->bytes += d->bytes + d->manifest_bytes;
            continue;
        }
        if (!f->days) f->first = d->day;
        f->last = d->day;
        f->days++;
        f->complete_days += d->chunks[base] >= per_day;
        for (int s = 0; s < RC_SPAN_COUNT; s++)
            f->chunks[s] += d->chunks[s];
        f->bytes += d->bytes + d->manifest_bytes;
        f->provisional += d->provisional;
    }
}

static double mb(int64_t bytes)
{
    return round((double)bytes / 1048576.0 * 1000.0) / 1000.0;
}

static void add_chunks(cJSON *o, const int64_t *chunks)
{
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        if (s == RC_SPAN_10M || s == RC_SPAN_6H || chunks[s])
            cJSON_AddNumberToObject(o, span_key[s], (double)chunks[s]);
}

static cJSON *station_json(const rc_inv_chan *ch, int64_t from, int64_t to, rc_span base)
{
    chan_fig f;
    figures(ch, from, to, base, &f);
    char tmp[RC_TIME_STR_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scope", "station");
    cJSON_AddStringToObject(o, "network", ch->chan.net);
    cJSON_AddStringToObject(o, "station", ch->chan.sta);
    cJSON_AddStringToObject(o, "channel", ch->chan.cha);
    cJSON_AddStringToObject(o, "location_code", ch->chan.loc);
    cJSON_AddStringToObject(o, "volcano", ch->volcano);
    cJSON_AddStringToObject(o, "region", ch->location);
    cJSON_AddStringToObject(o, "location", ch->location); /* seed 002's name for the region */
    cJSON_AddNumberToObject(o, "days_cached", (double)f.days);
    cJSON *dr = cJSON_AddObjectToObject(o, "date_range");
    if (f.days) {
        rc_time_date(f.first, tmp);
        cJSON_AddStringToObject(dr, "earliest", tmp);
        rc_time_date(f.last, tmp);
        cJSON_AddStringToObject(dr, "latest", tmp);
    } else {
        cJSON_AddNullToObject(dr, "earliest");
        cJSON_AddNullToObject(dr, "latest");
    }
    add_chunks(cJSON_AddObjectToObject(o, "total_chunks"), f.chunks);
    cJSON *comp = cJSON_AddObjectToObject(o, "completeness");
    int64_t bs = rc_span_seconds(base), per_day = 86400 / bs;
    for (size_t i = 0; i < ch->ndays; i++) {
        const rc_inv_day *d = &ch->days[i];
        if (!in_range(d->day, from, to) || (!day_chunks(d) && !d->source_empty)) continue;
        /* windows of the base span expected in this day within the range */
        int64_t lo = d->day > from ? d->day : rc_floor(from + bs - 1, bs);
        int64_t hi = d->day + 86400 < to ? d->day + 86400 : rc_floor(to, bs);
        int64_t expected = hi > lo ? (hi - lo) / bs : 0;
        int64_t missing = expected - d->chunks[base];
        rc_time_date(d->day, tmp);
        cJSON *dj = cJSON_AddObjectToObject(comp, tmp);
        cJSON_AddBoolToObject(dj, "complete_day", d->chunks[base] >= per_day);
        for (int s = 0; s < RC_SPAN_COUNT; s++)
            if (s == RC_SPAN_10M || s == RC_SPAN_6H || d->chunks[s]) {
                char k[32];
                snprintf(k, sizeof k, "chunks_%s", span_key[s]);
                cJSON_AddNumberToObject(dj, k, (double)d->chunks[s]);
            }
        cJSON_AddNumberToObject(dj, "missing_chunks", (double)(missing > 0 ? missing : 0));
        /* of which the source was asked and has no data (never recorded there) */
        cJSON_AddNumberToObject(dj, "source_empty_windows", (double)d->source_empty);
        cJSON_AddNumberToObject(dj, "provisional_chunks", (double)d->provisional);
        cJSON_AddNumberToObject(dj, "gap_count", (double)d->gap_count);
        cJSON_AddNumberToObject(dj, "gap_samples_filled", (double)d->gap_samples_filled);
        cJSON_AddBoolToObject(dj, "manifest", d->has_manifest);
        cJSON_AddNumberToObject(dj, "size_bytes", (double)(d->bytes + d->manifest_bytes));
    }
    cJSON_AddNumberToObject(o, "complete_days", (double)f.complete_days);
    cJSON_AddNumberToObject(o, "provisional_chunks", (double)f.provisional);
    cJSON_AddNumberToObject(o, "windows_source_empty", (double)f.source_empty);
    cJSON_AddNumberToObject(o, "total_size_mb", mb(f.bytes));
    cJSON_AddNumberToObject(o, "total_bytes", (double)f.bytes);
    return o;
}

/* Roll-up of a set of channels (a volcano or a location). */
typedef struct roll {
    int64_t stations, days, chunks[RC_SPAN_COUNT], bytes, complete_days;
} roll;

static void roll_add(roll *r, const chan_fig *f)
{
    if (!f->days) return;
    r->stations++;
    r->days += f->days;
    r->complete_days += f->complete_days;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        r->chunks[s] += f->chunks[s];
    r->bytes += f->bytes;
}

static const char *loc_name(const rc_inv_chan *ch)
{
    return ch->location[0] ? ch->location : "unknown";
}

/* Distinct names in order of first appearance. */
typedef struct names {
    const char *v[512];
    size_t n;
} names;

static void names_add(names *ns, const char *s)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0) return;
    if (ns->n < 512) ns->v[ns->n++] = s;
}

static cJSON *volcano_roll_json(const rc_inventory *inv, const char *volc, int64_t from, int64_t to,
                                rc_span base, roll *out)
{
    roll r;
    memset(&r, 0, sizeof r);
    const char *loc = NULL;
    for (size_t i = 0; i < inv->n; i++) {
        const rc_inv_chan *ch = &inv->ch[i];
        if (!ch->selected || strcmp(ch->volcano, volc) != 0) continue;
        chan_fig f;
        figures(ch, from, to, base, &f);
        roll_add(&r, &f);
        loc = loc_name(ch);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "region", loc ? loc : "unknown");
    cJSON_AddStringToObject(o, "location", loc ? loc : "unknown"); /* seed 002's name */
    cJSON_AddNumberToObject(o, "stations", (double)r.stations);
    cJSON_AddNumberToObject(o, "days_cached", (double)r.days);
    cJSON_AddNumberToObject(o, "total_chunks_10min", (double)r.chunks[RC_SPAN_10M]);
    cJSON_AddNumberToObject(o, "total_chunks_6h", (double)r.chunks[RC_SPAN_6H]);
    cJSON_AddNumberToObject(o, "size_mb", mb(r.bytes));
    if (out) *out = r;
    return o;
}

static void add_unparsed(cJSON *o, const rc_inventory *inv)
{
    cJSON *u = cJSON_AddObjectToObject(o, "unparsed_keys");
    cJSON_AddNumberToObject(u, "count", (double)inv->unparsed);
    cJSON *ex = cJSON_AddArrayToObject(u, "examples");
    for (int i = 0; i < inv->nexamples; i++)
        cJSON_AddItemToArray(ex, cJSON_CreateString(inv->examples[i]));
}

static cJSON *build_json(const rc_inventory *inv, rc_report_scope scope, const char *volcano,
                         const char *location, int64_t from, int64_t to, rc_span base)
{
    cJSON *o = NULL;
    if (scope == RC_REPORT_STATION) {
        for (size_t i = 0; i < inv->n && !o; i++)
            if (inv->ch[i].selected) o = station_json(&inv->ch[i], from, to, base);
    } else if (scope == RC_REPORT_VOLCANO && !volcano) {
        /* no --volcano: every volcano of the scope, each as scope volcano shows one */
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "volcano");
        names vs = {{0}, 0};
        for (size_t i = 0; i < inv->n; i++)
            if (inv->ch[i].selected) names_add(&vs, inv->ch[i].volcano);
        cJSON *arr = cJSON_AddArrayToObject(o, "volcanoes");
        double total = 0;
        for (size_t i = 0; i < vs.n; i++) {
            cJSON *vj = build_json(inv, scope, vs.v[i], location, from, to, base);
            cJSON_DeleteItemFromObject(vj, "scope");
            cJSON_DeleteItemFromObject(vj, "unparsed_keys"); /* once, at the top */
            total += cJSON_GetObjectItemCaseSensitive(vj, "total_bytes")->valuedouble;
            cJSON_AddItemToArray(arr, vj);
        }
        cJSON_AddNumberToObject(o, "total_size_mb", mb((int64_t)total));
        cJSON_AddNumberToObject(o, "total_bytes", total);
    } else if (scope == RC_REPORT_VOLCANO) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "volcano");
        cJSON_AddStringToObject(o, "volcano", volcano);
        const char *region = NULL;
        cJSON *arr = cJSON_AddArrayToObject(o, "stations");
        int64_t bytes = 0;
        for (size_t i = 0; i < inv->n; i++) {
            const rc_inv_chan *ch = &inv->ch[i];
            if (!ch->selected || strcmp(ch->volcano, volcano) != 0) continue;
            region = loc_name(ch);
            chan_fig f;
            figures(ch, from, to, base, &f);
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "network", ch->chan.net);
            cJSON_AddStringToObject(s, "station", ch->chan.sta);
            cJSON_AddStringToObject(s, "channel", ch->chan.cha);
            cJSON_AddStringToObject(s, "location_code", ch->chan.loc);
            cJSON_AddNumberToObject(s, "days_cached", (double)f.days);
            cJSON_AddNumberToObject(s, "total_chunks_10min", (double)f.chunks[RC_SPAN_10M]);
            cJSON_AddNumberToObject(s, "total_chunks_6h", (double)f.chunks[RC_SPAN_6H]);
            cJSON_AddNumberToObject(s, "complete_days", (double)f.complete_days);
            cJSON_AddNumberToObject(s, "provisional_chunks", (double)f.provisional);
            cJSON_AddNumberToObject(s, "size_mb", mb(f.bytes));
            cJSON_AddItemToArray(arr, s);
            bytes += f.bytes;
        }
        cJSON_AddStringToObject(o, "region", region ? region : "unknown");
        cJSON_AddNumberToObject(o, "total_size_mb", mb(bytes));
        cJSON_AddNumberToObject(o, "total_bytes", (double)bytes);
    } else if (scope == RC_REPORT_LOCATION) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "location");
        cJSON_AddStringToObject(o, "region", location);
        cJSON_AddStringToObject(o, "location", location); /* seed 002's name for the region */
        names vs = {{0}, 0};
        for (size_t i = 0; i < inv->n; i++)
            if (inv->ch[i].selected) names_add(&vs, inv->ch[i].volcano);
        cJSON *va = cJSON_AddArrayToObject(o, "volcanoes");
        for (size_t i = 0; i < vs.n; i++)
            cJSON_AddItemToArray(va, cJSON_CreateString(vs.v[i]));
        roll tot;
        memset(&tot, 0, sizeof tot);
        cJSON *bv = cJSON_CreateObject();
        for (size_t i = 0; i < vs.n; i++) {
            roll r;
            cJSON *vj = volcano_roll_json(inv, vs.v[i], from, to, base, &r);
            cJSON_DeleteItemFromObject(vj, "region");
            cJSON_DeleteItemFromObject(vj, "location");
            cJSON_AddItemToObject(bv, vs.v[i], vj);
            tot.stations += r.stations;
            tot.days += r.days;
            tot.bytes += r.bytes;
        }
        cJSON_AddNumberToObject(o, "total_stations", (double)tot.stations);
        cJSON_AddNumberToObject(o, "total_days_cached", (double)tot.days);
        cJSON_AddNumberToObject(o, "total_size_mb", mb(tot.bytes));
        cJSON_AddItemToObject(o, "by_volcano", bv);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "all");
        names vs = {{0}, 0}, ls = {{0}, 0};
        for (size_t i = 0; i < inv->n; i++)
            if (inv->ch[i].selected) {
                names_add(&vs, inv->ch[i].volcano);
                names_add(&ls, loc_name(&inv->ch[i]));
            }
        roll tot;
        memset(&tot, 0, sizeof tot);
        int64_t nvolc = 0;
        cJSON *bv = cJSON_CreateObject();
        for (size_t i = 0; i < vs.n; i++) {
            roll r;
            cJSON_AddItemToObject(bv, vs.v[i], volcano_roll_json(inv, vs.v[i], from, to, base, &r));
            tot.stations += r.stations;
            tot.days += r.days;
            tot.bytes += r.bytes;
            for (int s = 0; s < RC_SPAN_COUNT; s++)
                tot.chunks[s] += r.chunks[s];
            nvolc += r.stations > 0;
        }
        cJSON *bl = cJSON_CreateObject();
        for (size_t l = 0; l < ls.n; l++) {
            roll r;
            memset(&r, 0, sizeof r);
            names lv = {{0}, 0};
            for (size_t i = 0; i < inv->n; i++) {
                const rc_inv_chan *ch = &inv->ch[i];
                if (!ch->selected || strcmp(loc_name(ch), ls.v[l]) != 0) continue;
                chan_fig f;
                figures(ch, from, to, base, &f);
                roll_add(&r, &f);
                if (f.days) names_add(&lv, ch->volcano);
            }
            cJSON *lj = cJSON_CreateObject();
            cJSON_AddNumberToObject(lj, "volcanoes", (double)lv.n);
            cJSON_AddNumberToObject(lj, "stations", (double)r.stations);
            cJSON_AddNumberToObject(lj, "days_cached", (double)r.days);
            cJSON_AddNumberToObject(lj, "size_mb", mb(r.bytes));
            cJSON_AddItemToObject(bl, ls.v[l], lj);
        }
        cJSON *sum = cJSON_AddObjectToObject(o, "summary");
        cJSON_AddNumberToObject(sum, "total_volcanoes", (double)nvolc);
        cJSON_AddNumberToObject(sum, "total_stations", (double)tot.stations);
        cJSON_AddNumberToObject(sum, "total_days_cached", (double)tot.days);
        cJSON_AddNumberToObject(sum, "total_chunks_10min", (double)tot.chunks[RC_SPAN_10M]);
        cJSON_AddNumberToObject(sum, "total_chunks_6h", (double)tot.chunks[RC_SPAN_6H]);
        cJSON_AddNumberToObject(sum, "total_size_mb", mb(tot.bytes));
        cJSON_AddNumberToObject(sum, "total_bytes", (double)tot.bytes);
        cJSON_AddItemToObject(o, "by_region", bl);
        cJSON_AddItemToObject(o, "by_location", cJSON_Duplicate(bl, 1)); /* seed 002's name */
        cJSON_AddItemToObject(o, "by_volcano", bv);
    }
    if (o) add_unparsed(o, inv);
    return o;
}

rc_status rc_report_check(const rc_report_query *q, rc_err *e)
{
    if (q->scope == RC_REPORT_STATION && !q->station)
        return rc_err_set(e, RC_EINVAL,
                          "--scope station needs one --station NET.STA.LOC.CHA (or --network "
                          "NET --station STA --channel CHA)");
    if (q->scope == RC_REPORT_LOCATION && !q->location)
        return rc_err_set(e, RC_EINVAL,
                          "--scope region needs --region NAME (location= in the API)");
    if (q->threads < 0 || q->threads > 64)
        return rc_err_set(e, RC_EINVAL, "threads %d: give 1 to 64", q->threads);
    return RC_OK;
}

rc_status rc_report_prepare(rc_report *r, const rc_report_query *q, const rc_config *cfg, rc_err *e)
{
    memset(r, 0, sizeof *r);
    r->q = *q;
    r->cfg = cfg;
    r->base = rc_config_base_span(cfg);
    rc_inventory_init(&r->inv, cfg->layout);
    int rc = rc_report_check(q, e);
    if (rc != RC_OK) return rc;
    rc_scope all = {NULL, 0, NULL, NULL, 1, 0, 0};
    if ((rc = rc_config_select(cfg, &all, &r->all, &r->nall, e)) != RC_OK) return rc;
    const char *station = q->station;
    if (q->scope == RC_REPORT_STATION && !strchr(station, '.')) {
        if (!q->network || !q->channel)
            return rc_err_set(e, RC_EINVAL,
                              "--station %s is a bare station code: give --network and "
                              "--channel too, or NET.STA.LOC.CHA",
                              station);
        for (size_t i = 0; i < r->nall && !r->station[0]; i++) {
            const rc_chan *c = &r->all[i].st->chan;
            if (!strcmp(c->net, q->network) && !strcmp(c->sta, station) &&
                !strcmp(c->cha, q->channel))
                rc_chan_format(c, r->station);
        }
        if (!r->station[0])
            return rc_err_set(e, RC_EINVAL, "no channel %s.%s.*.%s in %s", q->network, station,
                              q->channel, cfg->path ? cfg->path : "the configuration");
        station = r->station;
    } else if (station) {
        snprintf(r->station, sizeof r->station, "%s", station);
    }
    rc_scope sc = {station ? &station : NULL,
                   station ? 1 : 0,
                   q->volcano,
                   q->location,
                   q->scope == RC_REPORT_ALL || !q->volcano,
                   0,
                   0};
    return rc_config_select(cfg, &sc, &r->targets, &r->ntargets, e);
}

rc_status rc_report_load(rc_report *r, rc_store *store, const rc_log *log, rc_err *e)
{
    rc_inventory *inv = &r->inv;
    const rc_config *cfg = r->cfg;
    inv->threads = r->q.threads ? r->q.threads : 8;
    int rc;
    if (r->q.scan) {
        cJSON *stored = NULL, *markers = NULL;
        rc = rc_summary_read_all(store, &stored, &markers, e);
        if (rc == RC_OK) rc = rc_inventory_scan(store, inv, rc_key_root(), e);
        if (rc == RC_OK) {
            for (size_t i = 0; i < inv->n; i++)
                inv->ch[i].selected = 1;
            rc = rc_inventory_read_manifests(store, inv, 1, e);
        }
        if (rc == RC_OK) rc = rc_summary_write(store, inv, 0, stored, markers, e);
        cJSON_Delete(stored);
        cJSON_Delete(markers);
    } else {
        const char *vols[512];
        size_t nv = 0;
        if (r->q.scope != RC_REPORT_ALL)
            for (size_t i = 0; i < r->ntargets && nv < 512; i++) {
                size_t k = 0;
                while (k < nv && strcmp(vols[k], r->targets[i].volc->name) != 0)
                    k++;
                if (k == nv) vols[nv++] = r->targets[i].volc->name;
            }
        rc = rc_summary_load(store, inv, vols, nv, e);
    }
    if (rc != RC_OK) return rc;
    /* Scope: configured targets (present or not), plus, for scope all and
     * volcano, channels found in the store that the configuration does not
     * name. */
    for (size_t i = 0; i < inv->n; i++)
        inv->ch[i].selected = 0;
    for (size_t i = 0; i < r->ntargets; i++) {
        rc_inv_chan *ch = rc_inventory_chan(inv, &r->targets[i].st->chan, r->targets[i].volc->name);
        if (!ch) continue;
        ch->selected = 1;
        ch->configured = 1;
        snprintf(ch->location, sizeof ch->location, "%s", r->targets[i].volc->location);
    }
    for (size_t i = 0; i < inv->n; i++) {
        rc_inv_chan *ch = &inv->ch[i];
        if (ch->configured) continue;
        const rc_target *t = rc_target_find(r->all, r->nall, &ch->chan, ch->volcano);
        if (t) {
            snprintf(ch->location, sizeof ch->location, "%s", t->volc->location);
            ch->configured = 1;
        } else {
            for (size_t v = 0; v < cfg->nvolcanoes; v++)
                if (!strcmp(cfg->volcanoes[v].name, ch->volcano))
                    snprintf(ch->location, sizeof ch->location, "%s", cfg->volcanoes[v].location);
        }
        if (r->q.scope == RC_REPORT_ALL || (r->q.scope == RC_REPORT_VOLCANO &&
                                            (!r->q.volcano || !strcmp(ch->volcano, r->q.volcano))))
            ch->selected = 1;
    }
    r->loaded = 1;
    if (inv->unparsed)
        rc_log_warn(log, "unparsed",
                    "%lld keys under %s do not parse as %s-layout keys (first: %s); check "
                    "--layout, or remove objects that are not r2cache's",
                    (long long)inv->unparsed, rc_key_root(), rc_layout_name(inv->layout),
                    inv->examples[0]);
    return RC_OK;
}

void rc_report_free(rc_report *r)
{
    rc_inventory_free(&r->inv);
    free(r->targets);
    free(r->all);
    r->targets = r->all = NULL;
    r->ntargets = r->nall = 0;
}

cJSON *rc_report_json(const rc_report *r)
{
    const rc_inventory *inv = &r->inv;
    cJSON *o =
        build_json(inv, r->q.scope, r->q.volcano, r->q.location, r->q.from, r->q.to, r->base);
    if (!o) return NULL;
    cJSON *st = cJSON_AddObjectToObject(o, "inventory_stats");
    cJSON_AddStringToObject(st, "method", r->q.scan ? "scan" : "summaries");
    cJSON_AddNumberToObject(st, "keys_listed", (double)inv->listed);
    cJSON_AddNumberToObject(st, "summaries_read", (double)inv->summaries_read);
    cJSON_AddNumberToObject(st, "summaries_written", (double)inv->months_rebuilt);
    cJSON_AddNumberToObject(st, "manifests_read", (double)inv->manifests_read);
    return o;
}

rc_status rc_report_table(const rc_report *r, rc_buf *out)
{
    const rc_inventory *inv = &r->inv;
    int64_t from = r->q.from, to = r->q.to;
    rc_span base = r->base;
    int rc = rc_buf_printf(out, "%-18s %-14s %-10s %6s %8s %8s %6s %6s %10s  %-10s %-10s\n",
                           "CHANNEL", "VOLCANO", "REGION", "DAYS", "COMPLETE", "10MIN", "6H",
                           "PROV", "SIZE_MB", "FIRST", "LAST");
    for (size_t i = 0; i < inv->n && rc == RC_OK; i++) {
        const rc_inv_chan *ch = &inv->ch[i];
        if (!ch->selected) continue;
        chan_fig f;
        figures(ch, from, to, base, &f);
        char cs[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX] = "-", b[RC_TIME_STR_MAX] = "-";
        rc_chan_format(&ch->chan, cs);
        if (f.days) {
            rc_time_date(f.first, a);
            rc_time_date(f.last, b);
        }
        rc = rc_buf_printf(
            out, "%-18s %-14s %-10s %6lld %8lld %8lld %6lld %6lld %10.3f  %-10s %-10s\n", cs,
            ch->volcano, loc_name(ch), (long long)f.days, (long long)f.complete_days,
            (long long)f.chunks[RC_SPAN_10M], (long long)f.chunks[RC_SPAN_6H],
            (long long)f.provisional, mb(f.bytes), a, b);
        if (r->q.scope == RC_REPORT_STATION) {
            int64_t per_day = 86400 / rc_span_seconds(base);
            for (size_t k = 0; k < ch->ndays && rc == RC_OK; k++) {
                const rc_inv_day *d = &ch->days[k];
                if (!in_range(d->day, from, to) || !day_chunks(d)) continue;
                char ds[RC_TIME_STR_MAX];
                rc_time_date(d->day, ds);
                rc =
                    rc_buf_printf(out, "  %s  %s  %s=%lld 6h=%lld provisional=%lld gaps=%lld%s\n",
                                  ds, d->chunks[base] >= per_day ? "complete  " : "incomplete",
                                  span_key[base], (long long)d->chunks[base],
                                  (long long)d->chunks[RC_SPAN_6H], (long long)d->provisional,
                                  (long long)d->gap_count, d->has_manifest ? "" : " (no manifest)");
            }
        }
    }
    if (inv->unparsed && rc == RC_OK)
        rc = rc_buf_printf(out, "%lld keys do not parse (e.g. %s)\n", (long long)inv->unparsed,
                           inv->examples[0]);
    return rc;
}
