/*
 * cmd_inventory.c: `r2cache inventory`: what is cached, per station, volcano,
 * location or all, in the JSON shapes of seed 002's /api/cache-status
 * (field for field; extensions are additive), a table by default, or an
 * HTML availability grid.
 *
 * The numbers come from inventory.c: the per-month summaries by default
 * (seconds for a year of data), or the full data listing with --scan (also
 * refreshes the summaries). Counts, days and sizes are what the listing
 * shows; provisional chunks and gaps are what the manifests say. Scope is
 * resolved through the configuration (volcano -> location) and the keys.
 */
#include "r2cache/cli.h"
#include "r2cache/inventory.h"
#include "r2cache/summary.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_SCOPE = 1, O_NETWORK, O_CHANNEL, O_HTML, O_SCAN, O_THREADS };

static const rc_cli_opt inv_opts[] = {
    {"scope", "station|volcano|location|all", "what to report on (default all)", O_SCOPE},
    {"network", "NET", "with --scope station and a bare --station STA: the network", O_NETWORK},
    {"channel", "CHA", "with --scope station and a bare --station STA: the channel", O_CHANNEL},
    {"html", "FILE", "also write a self-contained HTML availability grid to FILE", O_HTML},
    {"scan", NULL, "list every data key instead of reading the summaries (slow, exact; "
                   "rewrites the summaries it finds stale)", O_SCAN},
    {"threads", "N", "parallel readers of manifests and summaries (default 8)", O_THREADS},
    {NULL, NULL, NULL, 0}};

typedef struct inv_args {
    const char *scope, *network, *channel, *html;
    int scan, threads;
} inv_args;

static int on_opt(void *ud, int id, const char *val)
{
    inv_args *a = ud;
    switch (id) {
    case O_SCOPE: a->scope = val; break;
    case O_NETWORK: a->network = val; break;
    case O_CHANNEL: a->channel = val; break;
    case O_HTML: a->html = val; break;
    case O_SCAN: a->scan = 1; break;
    case O_THREADS:
        a->threads = atoi(val);
        if (a->threads < 1 || a->threads > 64) {
            fprintf(stderr, "r2cache inventory: --threads %s: give 1 to 64\n", val);
            return 1;
        }
        break;
    }
    return 0;
}

static const char *const span_key[RC_SPAN_COUNT] = {"10min", "1h", "6h", "24h"};

/* Per-channel figures within [from, to). */
typedef struct chan_fig {
    int64_t days, complete_days, chunks[RC_SPAN_COUNT], bytes, provisional;
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
        if (!in_range(d->day, from, to) || !day_chunks(d))
            continue;
        if (!f->days)
            f->first = d->day;
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
    cJSON_AddStringToObject(o, "location", ch->location);
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
        if (!in_range(d->day, from, to) || !day_chunks(d))
            continue;
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
        cJSON_AddNumberToObject(dj, "provisional_chunks", (double)d->provisional);
        cJSON_AddNumberToObject(dj, "gap_count", (double)d->gap_count);
        cJSON_AddNumberToObject(dj, "gap_samples_filled", (double)d->gap_samples_filled);
        cJSON_AddBoolToObject(dj, "manifest", d->has_manifest);
        cJSON_AddNumberToObject(dj, "size_bytes", (double)(d->bytes + d->manifest_bytes));
    }
    cJSON_AddNumberToObject(o, "complete_days", (double)f.complete_days);
    cJSON_AddNumberToObject(o, "provisional_chunks", (double)f.provisional);
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
    if (!f->days)
        return;
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
        if (strcmp(ns->v[i], s) == 0)
            return;
    if (ns->n < 512)
        ns->v[ns->n++] = s;
}

static cJSON *volcano_roll_json(const rc_inventory *inv, const char *volc, int64_t from,
                                int64_t to, rc_span base, roll *out)
{
    roll r;
    memset(&r, 0, sizeof r);
    const char *loc = NULL;
    for (size_t i = 0; i < inv->n; i++) {
        const rc_inv_chan *ch = &inv->ch[i];
        if (!ch->selected || strcmp(ch->volcano, volc) != 0)
            continue;
        chan_fig f;
        figures(ch, from, to, base, &f);
        roll_add(&r, &f);
        loc = loc_name(ch);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "location", loc ? loc : "unknown");
    cJSON_AddNumberToObject(o, "stations", (double)r.stations);
    cJSON_AddNumberToObject(o, "days_cached", (double)r.days);
    cJSON_AddNumberToObject(o, "total_chunks_10min", (double)r.chunks[RC_SPAN_10M]);
    cJSON_AddNumberToObject(o, "total_chunks_6h", (double)r.chunks[RC_SPAN_6H]);
    cJSON_AddNumberToObject(o, "size_mb", mb(r.bytes));
    if (out)
        *out = r;
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

static cJSON *build_json(const rc_inventory *inv, const char *scope, const char *volcano,
                         const char *location, int64_t from, int64_t to, rc_span base)
{
    cJSON *o = NULL;
    if (strcmp(scope, "station") == 0) {
        for (size_t i = 0; i < inv->n && !o; i++)
            if (inv->ch[i].selected)
                o = station_json(&inv->ch[i], from, to, base);
    } else if (strcmp(scope, "volcano") == 0) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "volcano");
        cJSON_AddStringToObject(o, "volcano", volcano);
        cJSON *arr = cJSON_AddArrayToObject(o, "stations");
        int64_t bytes = 0;
        for (size_t i = 0; i < inv->n; i++) {
            const rc_inv_chan *ch = &inv->ch[i];
            if (!ch->selected)
                continue;
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
        cJSON_AddNumberToObject(o, "total_size_mb", mb(bytes));
    } else if (strcmp(scope, "location") == 0) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", "location");
        cJSON_AddStringToObject(o, "location", location);
        names vs = {{0}, 0};
        for (size_t i = 0; i < inv->n; i++)
            if (inv->ch[i].selected)
                names_add(&vs, inv->ch[i].volcano);
        cJSON *va = cJSON_AddArrayToObject(o, "volcanoes");
        for (size_t i = 0; i < vs.n; i++)
            cJSON_AddItemToArray(va, cJSON_CreateString(vs.v[i]));
        roll tot;
        memset(&tot, 0, sizeof tot);
        cJSON *bv = cJSON_CreateObject();
        for (size_t i = 0; i < vs.n; i++) {
            roll r;
            cJSON *vj = volcano_roll_json(inv, vs.v[i], from, to, base, &r);
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
                if (!ch->selected || strcmp(loc_name(ch), ls.v[l]) != 0)
                    continue;
                chan_fig f;
                figures(ch, from, to, base, &f);
                roll_add(&r, &f);
                if (f.days)
                    names_add(&lv, ch->volcano);
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
        cJSON_AddItemToObject(o, "by_location", bl);
        cJSON_AddItemToObject(o, "by_volcano", bv);
    }
    if (o)
        add_unparsed(o, inv);
    return o;
}

static void print_table(const rc_inventory *inv, const char *scope, int64_t from, int64_t to,
                        rc_span base)
{
    printf("%-18s %-14s %-10s %6s %8s %8s %6s %6s %10s  %-10s %-10s\n", "CHANNEL", "VOLCANO",
           "LOCATION", "DAYS", "COMPLETE", "10MIN", "6H", "PROV", "SIZE_MB", "FIRST", "LAST");
    for (size_t i = 0; i < inv->n; i++) {
        const rc_inv_chan *ch = &inv->ch[i];
        if (!ch->selected)
            continue;
        chan_fig f;
        figures(ch, from, to, base, &f);
        char cs[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX] = "-", b[RC_TIME_STR_MAX] = "-";
        rc_chan_format(&ch->chan, cs);
        if (f.days) {
            rc_time_date(f.first, a);
            rc_time_date(f.last, b);
        }
        printf("%-18s %-14s %-10s %6lld %8lld %8lld %6lld %6lld %10.3f  %-10s %-10s\n", cs,
               ch->volcano, loc_name(ch), (long long)f.days, (long long)f.complete_days,
               (long long)f.chunks[RC_SPAN_10M], (long long)f.chunks[RC_SPAN_6H],
               (long long)f.provisional, mb(f.bytes), a, b);
        if (strcmp(scope, "station") == 0) {
            int64_t per_day = 86400 / rc_span_seconds(base);
            for (size_t k = 0; k < ch->ndays; k++) {
                const rc_inv_day *d = &ch->days[k];
                if (!in_range(d->day, from, to) || !day_chunks(d))
                    continue;
                char ds[RC_TIME_STR_MAX];
                rc_time_date(d->day, ds);
                printf("  %s  %s  %s=%lld 6h=%lld provisional=%lld gaps=%lld%s\n", ds,
                       d->chunks[base] >= per_day ? "complete  " : "incomplete",
                       span_key[base], (long long)d->chunks[base],
                       (long long)d->chunks[RC_SPAN_6H], (long long)d->provisional,
                       (long long)d->gap_count, d->has_manifest ? "" : " (no manifest)");
            }
        }
    }
}

/* Does the configured target list name this channel (and volcano)? */
static const rc_target *find_target(const rc_cli *cli, const rc_chan *c, const char *volc)
{
    for (size_t i = 0; i < cli->ntargets; i++)
        if (rc_chan_equal(&cli->targets[i].st->chan, c) &&
            strcmp(cli->targets[i].volc->name, volc) == 0)
            return &cli->targets[i];
    return NULL;
}

int rc_cmd_inventory(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] =
        "r2cache inventory --config FILE [--scope station|volcano|location|all] "
        "[--station NET.STA.LOC.CHA | --network NET --station STA --channel CHA] "
        "[--volcano NAME] [--location NAME] [--from T] [--to T] [--json] [--html FILE] [--scan]";
    static const char desc[] =
        "Report what is cached: days, chunks per span, per-day completeness, provisional\n"
        "chunks and sizes, per station, volcano, location or for everything, as a table, as\n"
        "the JSON of seed 002's cache-status API (--json) or as an HTML grid (--html).\n"
        "Reads the per-month summaries under index/ (rebuilding stale ones from the data);\n"
        "--scan lists every key instead. Keys that do not parse are counted and shown.";
    inv_args a = {"all", NULL, NULL, NULL, 0, 8};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_JSON;
    int code = rc_cli_parse(cli, argc, argv, inv_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    const char *scope = a.scope;
    if (strcmp(scope, "station") && strcmp(scope, "volcano") && strcmp(scope, "location") &&
        strcmp(scope, "all")) {
        fprintf(stderr, "r2cache inventory: --scope %s: use station, volcano, location or all\n",
                scope);
        return RC_EXIT_USAGE;
    }
    if (!strcmp(scope, "station") && cli->nstations != 1) {
        fprintf(stderr, "r2cache inventory: --scope station needs one --station NET.STA.LOC.CHA "
                        "(or --network NET --station STA --channel CHA)\n");
        return RC_EXIT_USAGE;
    }
    if (!strcmp(scope, "volcano") && !cli->volcano) {
        fprintf(stderr, "r2cache inventory: --scope volcano needs --volcano NAME\n");
        return RC_EXIT_USAGE;
    }
    if (!strcmp(scope, "location") && !cli->location) {
        fprintf(stderr, "r2cache inventory: --scope location needs --location NAME\n");
        return RC_EXIT_USAGE;
    }
    /* Select through the configuration ourselves, after the bare-station
     * form is resolved against it. */
    const char *user_station = cli->nstations ? cli->stations[0] : NULL;
    const char *user_volcano = cli->volcano, *user_location = cli->location;
    cli->nstations = 0;
    cli->volcano = cli->location = NULL;
    cli->all = 1;
    if ((code = rc_cli_setup(cli)))
        return code;
    int64_t from = cli->from_s ? cli->from : INT64_MIN / 2;
    int64_t to = cli->to_s ? cli->to : INT64_MAX / 2;
    char chanbuf[RC_CHAN_STR_MAX] = "";
    rc_err e;
    rc_err_clear(&e);
    if (!strcmp(scope, "station")) {
        if (!strchr(user_station, '.')) {
            if (!a.network || !a.channel) {
                fprintf(stderr, "r2cache inventory: --station %s is a bare station code: give "
                                "--network and --channel too, or NET.STA.LOC.CHA\n",
                        user_station);
                return RC_EXIT_USAGE;
            }
            for (size_t i = 0; i < cli->ntargets && !chanbuf[0]; i++) {
                const rc_chan *c = &cli->targets[i].st->chan;
                if (!strcmp(c->net, a.network) && !strcmp(c->sta, user_station) &&
                    !strcmp(c->cha, a.channel))
                    rc_chan_format(c, chanbuf);
            }
            if (!chanbuf[0]) {
                fprintf(stderr, "r2cache inventory: no channel %s.%s.*.%s in %s\n", a.network,
                        user_station, a.channel, cli->config_path);
                return RC_EXIT_USAGE;
            }
            user_station = chanbuf;
        }
    }
    rc_scope sc = {user_station ? &user_station : NULL, user_station ? 1 : 0, user_volcano,
                   user_location, !strcmp(scope, "all"), 0, 0};
    rc_target *targets = NULL;
    size_t ntargets = 0;
    if (rc_config_select(&cli->cfg, &sc, &targets, &ntargets, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, 0))) {
        free(targets);
        return code;
    }
    rc_inventory inv;
    rc_inventory_init(&inv, cli->cfg.layout);
    inv.threads = a.threads;
    int rc;
    if (a.scan) {
        cJSON *stored = NULL, *markers = NULL;
        rc = rc_summary_read_all(cli->store, &stored, &markers, &e);
        if (rc == RC_OK)
            rc = rc_inventory_scan(cli->store, &inv, rc_key_root(), &e);
        if (rc == RC_OK) {
            for (size_t i = 0; i < inv.n; i++)
                inv.ch[i].selected = 1;
            rc = rc_inventory_read_manifests(cli->store, &inv, 1, &e);
        }
        if (rc == RC_OK)
            rc = rc_summary_write(cli->store, &inv, 0, stored, markers, &e);
        cJSON_Delete(stored);
        cJSON_Delete(markers);
    } else {
        const char *vols[512];
        size_t nv = 0;
        if (strcmp(scope, "all") != 0)
            for (size_t i = 0; i < ntargets && nv < 512; i++) {
                size_t k = 0;
                while (k < nv && strcmp(vols[k], targets[i].volc->name) != 0)
                    k++;
                if (k == nv)
                    vols[nv++] = targets[i].volc->name;
            }
        rc = rc_summary_load(cli->store, &inv, vols, nv, &e);
    }
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "inventory", "%s", e.msg);
        rc_inventory_free(&inv);
        free(targets);
        return rc_cli_exit_for(rc);
    }
    /* Scope: configured targets (present or not), plus, for --scope all and
     * --scope volcano, channels found in the store that the configuration
     * does not name. */
    for (size_t i = 0; i < inv.n; i++)
        inv.ch[i].selected = 0;
    for (size_t i = 0; i < ntargets; i++) {
        rc_inv_chan *ch = rc_inventory_chan(&inv, &targets[i].st->chan, targets[i].volc->name);
        if (!ch)
            continue;
        ch->selected = 1;
        ch->configured = 1;
        snprintf(ch->location, sizeof ch->location, "%s", targets[i].volc->location);
    }
    for (size_t i = 0; i < inv.n; i++) {
        rc_inv_chan *ch = &inv.ch[i];
        if (ch->configured)
            continue;
        const rc_target *t = find_target(cli, &ch->chan, ch->volcano);
        if (t) {
            snprintf(ch->location, sizeof ch->location, "%s", t->volc->location);
            ch->configured = 1;
        } else {
            for (size_t v = 0; v < cli->cfg.nvolcanoes; v++)
                if (!strcmp(cli->cfg.volcanoes[v].name, ch->volcano))
                    snprintf(ch->location, sizeof ch->location, "%s",
                             cli->cfg.volcanoes[v].location);
        }
        if (!strcmp(scope, "all") || (!strcmp(scope, "volcano") && !strcmp(ch->volcano, user_volcano)))
            ch->selected = 1;
    }
    rc_span base = rc_config_base_span(&cli->cfg);
    code = RC_EXIT_OK;
    if (inv.unparsed) {
        rc_log_warn(&cli->log, "unparsed",
                    "%lld keys under %s do not parse as %s-layout keys (first: %s); check "
                    "--layout, or remove objects that are not r2cache's",
                    (long long)inv.unparsed, rc_key_root(), rc_layout_name(inv.layout),
                    inv.examples[0]);
    }
    if (a.html) {
        rc_buf html = RC_BUF_INIT;
        char title[256];
        snprintf(title, sizeof title, "r2cache inventory: %s%s%s", scope,
                 user_volcano ? " " : user_location ? " " : "",
                 user_volcano ? user_volcano : user_location ? user_location : "");
        rc = rc_report_html(&inv, from, to, base, title, &html, &e);
        FILE *f = rc == RC_OK ? fopen(a.html, "w") : NULL;
        if (!f || fwrite(html.data, 1, html.len, f) != html.len) {
            fprintf(stderr, "r2cache inventory: cannot write %s: %s\n", a.html,
                    rc == RC_OK ? "write failed" : e.msg);
            code = RC_EXIT_PARTIAL;
        }
        if (f && fclose(f) != 0)
            code = RC_EXIT_PARTIAL;
        rc_buf_free(&html);
    }
    if (cli->json) {
        cJSON *o = build_json(&inv, scope, user_volcano, user_location, from, to, base);
        cJSON *st = cJSON_AddObjectToObject(o, "inventory_stats");
        cJSON_AddStringToObject(st, "method", a.scan ? "scan" : "summaries");
        cJSON_AddNumberToObject(st, "keys_listed", (double)inv.listed);
        cJSON_AddNumberToObject(st, "summaries_read", (double)inv.summaries_read);
        cJSON_AddNumberToObject(st, "summaries_written", (double)inv.months_rebuilt);
        cJSON_AddNumberToObject(st, "manifests_read", (double)inv.manifests_read);
        char *s = cJSON_Print(o);
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (!a.html) {
        print_table(&inv, scope, from, to, base);
        if (inv.unparsed)
            printf("%lld keys do not parse (e.g. %s)\n", (long long)inv.unparsed,
                   inv.examples[0]);
    }
    rc_log_info(&cli->log, "inventory",
                "%s: %lld keys listed, %lld summaries read, %lld written, %lld manifests read",
                a.scan ? "scan" : "summaries", (long long)inv.listed,
                (long long)inv.summaries_read, (long long)inv.months_rebuilt,
                (long long)inv.manifests_read);
    rc_inventory_free(&inv);
    free(targets);
    return code;
}
