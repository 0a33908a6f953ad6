/*
 * config.c: loading the JSON configuration (selecting channels is select.c).
 *
 * Two inputs: r2cache's own file (schemas/config.schema.json) and the
 * deployed viewer's stations_config.json. Both become one rc_config. Every
 * error names the file and the JSON path of the offending field, because the
 * person reading it is editing that file. Unknown fields are errors too: a
 * misspelt "max_distance_km" silently ignored would cache the wrong stations.
 */
#include "r2cache/config.h"
#include "r2cache/srcauth.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_config_defaults(rc_config *c)
{
    memset(c, 0, sizeof *c);
    c->layout = RC_LAYOUT_SEED;
    c->spans[RC_SPAN_10M] = 1;
    c->spans[RC_SPAN_6H] = 1;
    c->max_distance_km = -1;
    c->data_types = RC_TYPE_SEISMIC;
    c->lookback_s = 3600;
    c->delay_s = 120;
    c->retry_interval_s = 30;
    c->retry_max_s = 120;
    c->completeness_threshold = 0.95;
    c->zstd_level = 3;
    c->max_connections = 3;
    c->fetch_max_attempts = 5;
    c->fetch_backoff_base_s = 1;
    c->fetch_backoff_cap_s = 30;
    c->fetch_timeout_s = 120;
    c->fetch_stall_timeout_s = 30;
    c->fetch_rate_limit_rps = 0;
    snprintf(c->cache_control_final, sizeof c->cache_control_final,
             "public, max-age=31536000, immutable");
    snprintf(c->cache_control_provisional, sizeof c->cache_control_provisional,
             "public, max-age=60");
    snprintf(c->cache_control_manifest, sizeof c->cache_control_manifest, "public, max-age=60");
    snprintf(c->serve.listen, sizeof c->serve.listen, "127.0.0.1:8080");
    c->serve.max_body_bytes = 65536;
    c->serve.max_connections = 64;
    c->serve.connection_timeout_s = 30;
    c->serve.threads = 4;
    c->serve.jobs_workers = 1;
    c->serve.jobs_max_queued = 16;
    c->serve.cache_ms = 1000;
    static const int64_t ages[] = {3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400};
    c->nrecheck = (int)(sizeof ages / sizeof ages[0]);
    memcpy(c->recheck_ages, ages, sizeof ages);
}

void rc_config_free(rc_config *c)
{
    if (!c) return;
    free(c->path);
    free(c->source_url);
    rc_srcauth_free(c->source_auth);
    free(c->source_auth);
    free(c->store_url);
    free(c->s3_endpoint);
    free(c->s3_region);
    free(c->s3_addressing);
    free(c->ca_bundle);
    for (size_t i = 0; i < c->nvolcanoes; i++)
        free(c->volcanoes[i].stations);
    free(c->volcanoes);
    memset(c, 0, sizeof *c);
}

rc_span rc_config_base_span(const rc_config *c)
{
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        if (c->spans[s]) return (rc_span)s;
    return RC_SPAN_10M;
}

/* --- field helpers: each names the JSON path on error ------------------ */

typedef struct pctx {
    const char *file;
    rc_err *e;
} pctx;

static int bad(pctx *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(pctx *p, const char *path, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rc_err_set(p->e, RC_EINVAL, "%s: %s: %s", p->file, path, what);
}

static int get_string(pctx *p, const cJSON *o, const char *path, char **out)
{
    if (!cJSON_IsString(o)) return bad(p, path, "must be a string");
    char *s = strdup(o->valuestring);
    if (!s) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
    free(*out);
    *out = s;
    return RC_OK;
}

static int get_string_buf(pctx *p, const cJSON *o, const char *path, char *out, size_t n)
{
    if (!cJSON_IsString(o)) return bad(p, path, "must be a string");
    if (strlen(o->valuestring) >= n) return bad(p, path, "is longer than %zu characters", n - 1);
    snprintf(out, n, "%s", o->valuestring);
    return RC_OK;
}

static int get_number(pctx *p, const cJSON *o, const char *path, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble)) return bad(p, path, "must be a number");
    if (o->valuedouble < lo || o->valuedouble > hi)
        return bad(p, path, "%g is out of range [%g, %g]", o->valuedouble, lo, hi);
    *out = o->valuedouble;
    return RC_OK;
}

static int get_int(pctx *p, const cJSON *o, const char *path, int lo, int hi, int *out)
{
    /* range before the cast: converting inf or 1e309 to an integer is undefined */
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
        return bad(p, path, "must be a whole number");
    if (o->valuedouble < lo || o->valuedouble > hi)
        return bad(p, path, "%g is out of range [%d, %d]", o->valuedouble, lo, hi);
    if (o->valuedouble != (double)(long long)o->valuedouble)
        return bad(p, path, "must be a whole number");
    *out = (int)o->valuedouble;
    return RC_OK;
}

static int get_duration(pctx *p, const cJSON *o, const char *path, int64_t *out)
{
    if (!cJSON_IsString(o))
        return bad(p, path, "must be a duration string such as \"90s\", \"2m\", \"1h\"");
    rc_err e2;
    if (rc_duration_parse(o->valuestring, out, &e2) != RC_OK) return bad(p, path, "%s", e2.msg);
    return RC_OK;
}

static int check_keys(pctx *p, const cJSON *obj, const char *path, const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, it->string) == 0) ok = 1;
        if (!ok) {
            char full[300];
            snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", it->string);
            char list[400] = "";
            for (const char *const *a = allowed; *a; a++) {
                if (strcmp(*a, "$schema") == 0) continue;
                strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, *a, sizeof list - strlen(list) - 1);
            }
            return bad(p, full, "unknown field (allowed here: %s)", list);
        }
    }
    return RC_OK;
}

static int type_from_name(pctx *p, const cJSON *o, const char *path, rc_data_type *out)
{
    if (!cJSON_IsString(o)) return bad(p, path, "must be \"seismic\" or \"infrasound\"");
    if (strcmp(o->valuestring, "seismic") == 0)
        *out = RC_TYPE_SEISMIC;
    else if (strcmp(o->valuestring, "infrasound") == 0)
        *out = RC_TYPE_INFRASOUND;
    else
        return bad(p, path, "\"%s\" is not a data type (seismic, infrasound)", o->valuestring);
    return RC_OK;
}

static int parse_data_types(pctx *p, const cJSON *o, const char *path, unsigned *mask)
{
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) == 0)
        return bad(p, path, "must be a non-empty array of \"seismic\" / \"infrasound\"");
    *mask = 0;
    int i = 0;
    for (const cJSON *it = o->child; it; it = it->next, i++) {
        char ip[200];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        rc_data_type t = RC_TYPE_SEISMIC;
        if (type_from_name(p, it, ip, &t)) return p->e->code;
        *mask |= (unsigned)t;
    }
    return RC_OK;
}

/* SEED instrument code 'D' (second letter of the channel) is pressure:
 * infrasound. Used where the input has no explicit type. */
static rc_data_type type_from_channel(const char *cha)
{
    return (strlen(cha) >= 2 && cha[1] == 'D') ? RC_TYPE_INFRASOUND : RC_TYPE_SEISMIC;
}

static int parse_codes(pctx *p, const cJSON *st, const char *path, rc_chan *c, int dash_empty)
{
    static const char *names[4] = {"network", "station", "location", "channel"};
    char *fields[4] = {c->net, c->sta, c->loc, c->cha};
    memset(c, 0, sizeof *c);
    for (int k = 0; k < 4; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, names[k]);
        char fp[256];
        snprintf(fp, sizeof fp, "%s.%s", path, names[k]);
        if (!v) {
            if (k == 2) continue;
            return bad(p, fp, "is required");
        }
        if (!cJSON_IsString(v)) return bad(p, fp, "must be a string");
        const char *s = v->valuestring;
        if (k == 2 && dash_empty && strcmp(s, "--") == 0) s = "";
        if (strlen(s) >= RC_CODE_MAX) return bad(p, fp, "\"%s\" is longer than 8 characters", s);
        snprintf(fields[k], RC_CODE_MAX, "%s", s);
    }
    if (strcmp(c->loc, "--") == 0) c->loc[0] = '\0';
    rc_err e2;
    if (rc_chan_validate(c, &e2) != RC_OK) return bad(p, path, "%s", e2.msg);
    return RC_OK;
}

static int add_station(rc_volcano *v, const rc_station *s)
{
    rc_station *n = realloc(v->stations, (v->nstations + 1) * sizeof *n);
    if (!n) return RC_ENOMEM;
    v->stations = n;
    v->stations[v->nstations++] = *s;
    return RC_OK;
}

static rc_volcano *add_volcano(rc_config *c)
{
    rc_volcano *n = realloc(c->volcanoes, (c->nvolcanoes + 1) * sizeof *n);
    if (!n) return NULL;
    c->volcanoes = n;
    rc_volcano *v = &c->volcanoes[c->nvolcanoes++];
    memset(v, 0, sizeof *v);
    return v;
}

static int check_duplicate(pctx *p, const rc_config *c, const rc_chan *ch, const char *path)
{
    for (size_t i = 0; i < c->nvolcanoes; i++)
        for (size_t j = 0; j < c->volcanoes[i].nstations; j++)
            if (rc_chan_equal(&c->volcanoes[i].stations[j].chan, ch)) {
                char id[RC_CHAN_STR_MAX];
                rc_chan_format(ch, id);
                return bad(p, path, "channel %s is listed twice (also under volcano \"%s\")", id,
                           c->volcanoes[i].name);
            }
    return RC_OK;
}

/* --- r2cache's own format ------------------------------------------------ */

static int parse_station(pctx *p, rc_config *c, rc_volcano *v, const cJSON *st, const char *path)
{
    static const char *const keys[] = {"network",  "station",     "location",        "channel",
                                       "type",     "distance_km", "instrument_type", "sample_rate",
                                       "latitude", "longitude",   "elevation_m",     "active",
                                       NULL};
    if (!cJSON_IsObject(st)) return bad(p, path, "must be an object");
    if (check_keys(p, st, path, keys)) return p->e->code;
    rc_station s;
    memset(&s, 0, sizeof s);
    s.distance_km = -1;
    s.active = 1;
    if (parse_codes(p, st, path, &s.chan, 1)) return p->e->code;
    char fp[256];
    const cJSON *o;
    s.type = type_from_channel(s.chan.cha);
    if ((o = cJSON_GetObjectItemCaseSensitive(st, "type"))) {
        snprintf(fp, sizeof fp, "%s.type", path);
        if (type_from_name(p, o, fp, &s.type)) return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(st, "distance_km"))) {
        snprintf(fp, sizeof fp, "%s.distance_km", path);
        if (get_number(p, o, fp, 0, 40075, &s.distance_km)) return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(st, "instrument_type"))) {
        snprintf(fp, sizeof fp, "%s.instrument_type", path);
        if (get_string_buf(p, o, fp, s.instrument_type, sizeof s.instrument_type))
            return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(st, "sample_rate"))) {
        snprintf(fp, sizeof fp, "%s.sample_rate", path);
        if (get_number(p, o, fp, 1e-6, 1e6, &s.sample_rate)) return p->e->code;
    }
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(st, "latitude");
    const cJSON *lon = cJSON_GetObjectItemCaseSensitive(st, "longitude");
    const cJSON *elev = cJSON_GetObjectItemCaseSensitive(st, "elevation_m");
    if ((lat != NULL) != (lon != NULL))
        return bad(p, path, "latitude and longitude must be given together");
    if (lat) {
        snprintf(fp, sizeof fp, "%s.latitude", path);
        if (get_number(p, lat, fp, -90, 90, &s.latitude)) return p->e->code;
        snprintf(fp, sizeof fp, "%s.longitude", path);
        if (get_number(p, lon, fp, -180, 180, &s.longitude)) return p->e->code;
        s.has_coords = 1;
    }
    if (elev) {
        snprintf(fp, sizeof fp, "%s.elevation_m", path);
        if (get_number(p, elev, fp, -12000, 9000, &s.elevation_m)) return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(st, "active"))) {
        if (!cJSON_IsBool(o)) {
            snprintf(fp, sizeof fp, "%s.active", path);
            return bad(p, fp, "must be true or false");
        }
        s.active = cJSON_IsTrue(o);
    }
    if (check_duplicate(p, c, &s.chan, path)) return p->e->code;
    if (add_station(v, &s)) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
    return RC_OK;
}

static int parse_volcano(pctx *p, rc_config *c, const cJSON *vo, const char *path)
{
    static const char *const keys[] = {"name",      "location", "latitude",
                                       "longitude", "stations", NULL};
    if (!cJSON_IsObject(vo)) return bad(p, path, "must be an object");
    if (check_keys(p, vo, path, keys)) return p->e->code;
    char fp[256];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(vo, "name");
    snprintf(fp, sizeof fp, "%s.name", path);
    if (!name) return bad(p, fp, "is required");
    char nm[RC_VOLCANO_MAX];
    if (get_string_buf(p, name, fp, nm, sizeof nm)) return p->e->code;
    rc_err e2;
    if (rc_volcano_validate(nm, &e2)) return bad(p, fp, "%s", e2.msg);
    for (size_t i = 0; i < c->nvolcanoes; i++)
        if (strcmp(c->volcanoes[i].name, nm) == 0)
            return bad(p, fp, "volcano \"%s\" is listed twice", nm);
    rc_volcano *v = add_volcano(c);
    if (!v) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
    snprintf(v->name, sizeof v->name, "%s", nm);
    const cJSON *o;
    if ((o = cJSON_GetObjectItemCaseSensitive(vo, "location"))) {
        snprintf(fp, sizeof fp, "%s.location", path);
        if (get_string_buf(p, o, fp, v->location, sizeof v->location)) return p->e->code;
        if (rc_volcano_validate(v->location, &e2)) return bad(p, fp, "%s", e2.msg);
    }
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(vo, "latitude");
    const cJSON *lon = cJSON_GetObjectItemCaseSensitive(vo, "longitude");
    if ((lat != NULL) != (lon != NULL))
        return bad(p, path, "latitude and longitude must be given together");
    if (lat) {
        snprintf(fp, sizeof fp, "%s.latitude", path);
        if (get_number(p, lat, fp, -90, 90, &v->latitude)) return p->e->code;
        snprintf(fp, sizeof fp, "%s.longitude", path);
        if (get_number(p, lon, fp, -180, 180, &v->longitude)) return p->e->code;
        v->has_coords = 1;
    }
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(vo, "stations");
    snprintf(fp, sizeof fp, "%s.stations", path);
    if (!sts) return bad(p, fp, "is required");
    if (!cJSON_IsArray(sts)) return bad(p, fp, "must be an array");
    int i = 0;
    for (const cJSON *st = sts->child; st; st = st->next, i++) {
        char sp[256];
        snprintf(sp, sizeof sp, "%s.stations[%d]", path, i);
        if (parse_station(p, c, v, st, sp)) return p->e->code;
    }
    return RC_OK;
}

/* The "serve" block (r2cache serve). */
static int parse_serve(pctx *p, rc_config *c, const cJSON *o)
{
    static const char *const sk[] = {"listen",
                                     "cors_origins",
                                     "max_body_bytes",
                                     "max_connections",
                                     "connection_timeout_s",
                                     "threads",
                                     "read_requires_token",
                                     "cache_ms",
                                     "jobs",
                                     NULL};
    static const char *const jk[] = {"workers", "max_queued", NULL};
    rc_serve_config *s = &c->serve;
    if (!cJSON_IsObject(o)) return bad(p, "serve", "must be an object");
    if (check_keys(p, o, "serve", sk)) return p->e->code;
    const cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "listen")) &&
        get_string_buf(p, x, "serve.listen", s->listen, sizeof s->listen))
        return p->e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "cors_origins"))) {
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) > RC_SERVE_MAX_ORIGINS)
            return bad(p, "serve.cors_origins", "must be an array of at most %d origins",
                       RC_SERVE_MAX_ORIGINS);
        int i = 0;
        s->ncors_origins = 0;
        for (const cJSON *it = x->child; it; it = it->next, i++) {
            char path[64];
            snprintf(path, sizeof path, "serve.cors_origins[%d]", i);
            if (get_string_buf(p, it, path, s->cors_origins[i], sizeof s->cors_origins[i]))
                return p->e->code;
            if (!s->cors_origins[i][0])
                return bad(p, path, "must not be empty (use \"*\" for any origin)");
            s->ncors_origins++;
        }
    }
    int v = 0;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_body_bytes"))) {
        if (get_int(p, x, "serve.max_body_bytes", 1, 65536, &v)) return p->e->code;
        s->max_body_bytes = (size_t)v;
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_connections")) &&
        get_int(p, x, "serve.max_connections", 1, 10000, &s->max_connections))
        return p->e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "connection_timeout_s")) &&
        get_int(p, x, "serve.connection_timeout_s", 1, 3600, &s->connection_timeout_s))
        return p->e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "threads")) &&
        get_int(p, x, "serve.threads", 1, 64, &s->threads))
        return p->e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "read_requires_token"))) {
        if (!cJSON_IsBool(x)) return bad(p, "serve.read_requires_token", "must be true or false");
        s->read_requires_token = cJSON_IsTrue(x);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "cache_ms")) &&
        get_int(p, x, "serve.cache_ms", 0, 60000, &s->cache_ms))
        return p->e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "jobs"))) {
        if (!cJSON_IsObject(x)) return bad(p, "serve.jobs", "must be an object");
        if (check_keys(p, x, "serve.jobs", jk)) return p->e->code;
        const cJSON *y;
        if ((y = cJSON_GetObjectItemCaseSensitive(x, "workers")) &&
            get_int(p, y, "serve.jobs.workers", 1, 16, &s->jobs_workers))
            return p->e->code;
        if ((y = cJSON_GetObjectItemCaseSensitive(x, "max_queued")) &&
            get_int(p, y, "serve.jobs.max_queued", 1, 1000, &s->jobs_max_queued))
            return p->e->code;
    }
    return RC_OK;
}

/* "recheck_no_data": ["1h", "6h", ...], ascending data ages; [] = never. */
static int parse_recheck(pctx *p, const cJSON *o, rc_config *c)
{
    if (!cJSON_IsArray(o))
        return bad(p, "recheck_no_data",
                   "must be an array of ascending durations such as [\"1h\", \"1d\", \"7d\"]");
    int n = cJSON_GetArraySize(o);
    if (n > RC_RECHECK_MAX)
        return bad(p, "recheck_no_data", "holds %d ages; at most %d are allowed", n,
                   RC_RECHECK_MAX);
    int i = 0;
    for (const cJSON *it = o->child; it; it = it->next, i++) {
        char fp[64];
        snprintf(fp, sizeof fp, "recheck_no_data[%d]", i);
        if (get_duration(p, it, fp, &c->recheck_ages[i])) return p->e->code;
        if (c->recheck_ages[i] <= 0) return bad(p, fp, "must be longer than 0");
        if (i > 0 && c->recheck_ages[i] <= c->recheck_ages[i - 1])
            return bad(p, fp, "must be longer than the age before it (the list is ascending)");
    }
    c->nrecheck = n;
    return RC_OK;
}

static int parse_own(pctx *p, rc_config *c, const cJSON *root)
{
    static const char *const keys[] = {"$schema",
                                       "source",
                                       "source_auth",
                                       "store",
                                       "layout",
                                       "spans",
                                       "selection",
                                       "run",
                                       "compression_level",
                                       "workers",
                                       "codec",
                                       "max_connections",
                                       "fetch",
                                       "cache_control",
                                       "s3",
                                       "serve",
                                       "recheck_no_data",
                                       "volcanoes",
                                       "source_availability",
                                       NULL};
    if (check_keys(p, root, "", keys)) return p->e->code;
    const cJSON *o;
    rc_err e2;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "source")) &&
        get_string(p, o, "source", &c->source_url))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "source_auth"))) {
        if (!(c->source_auth = calloc(1, sizeof *c->source_auth)))
            return rc_err_set(p->e, RC_ENOMEM, "out of memory");
        if (rc_srcauth_parse(o, "source_auth", c->source_auth, &e2))
            return rc_err_set(p->e, e2.code, "%s: %s", p->file, e2.msg);
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "source_availability"))) {
        if (!cJSON_IsBool(o)) return bad(p, "source_availability", "must be true or false");
        c->source_availability = cJSON_IsTrue(o);
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "store")) &&
        get_string(p, o, "store", &c->store_url))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "layout"))) {
        if (!cJSON_IsString(o) || rc_layout_parse(o->valuestring, &c->layout, &e2))
            return bad(p, "layout", "must be \"seed\" or \"viewer\"");
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "spans"))) {
        if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) == 0)
            return bad(p, "spans", "must be a non-empty array of \"10m\", \"1h\", \"6h\", \"24h\"");
        memset(c->spans, 0, sizeof c->spans);
        int i = 0;
        for (const cJSON *it = o->child; it; it = it->next, i++) {
            char fp[64];
            snprintf(fp, sizeof fp, "spans[%d]", i);
            rc_span sp;
            if (!cJSON_IsString(it) || rc_span_parse(it->valuestring, &sp, &e2))
                return bad(p, fp, "must be one of \"10m\", \"1h\", \"6h\", \"24h\"");
            c->spans[sp] = 1;
        }
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "selection"))) {
        static const char *const sk[] = {"max_distance_km", "data_types",
                                         "max_stations_per_volcano", NULL};
        if (!cJSON_IsObject(o)) return bad(p, "selection", "must be an object");
        if (check_keys(p, o, "selection", sk)) return p->e->code;
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_distance_km")) &&
            get_number(p, x, "selection.max_distance_km", 0, 40075, &c->max_distance_km))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "data_types")) &&
            parse_data_types(p, x, "selection.data_types", &c->data_types))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_stations_per_volcano")) &&
            get_int(p, x, "selection.max_stations_per_volcano", 0, 100000,
                    &c->max_stations_per_volcano))
            return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "run"))) {
        static const char *const rk[] = {
            "lookback", "delay", "retry_interval", "retry_max", "completeness_threshold", NULL};
        if (!cJSON_IsObject(o)) return bad(p, "run", "must be an object");
        if (check_keys(p, o, "run", rk)) return p->e->code;
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "lookback")) &&
            get_duration(p, x, "run.lookback", &c->lookback_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "delay")) &&
            get_duration(p, x, "run.delay", &c->delay_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "retry_interval")) &&
            get_duration(p, x, "run.retry_interval", &c->retry_interval_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "retry_max")) &&
            get_duration(p, x, "run.retry_max", &c->retry_max_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "completeness_threshold")) &&
            get_number(p, x, "run.completeness_threshold", 0, 1, &c->completeness_threshold))
            return p->e->code;
        if (c->lookback_s <= 0) return bad(p, "run.lookback", "must be longer than 0");
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "recheck_no_data")) && parse_recheck(p, o, c))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "compression_level")) &&
        get_int(p, o, "compression_level", 1, 19, &c->zstd_level))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "workers")) &&
        get_int(p, o, "workers", 0, 64, &c->workers))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "codec"))) {
        if (!cJSON_IsString(o) || rc_codec_id_parse(o->valuestring, &c->codec, &e2))
            return bad(p, "codec", "must be \"int32-zstd\" (the default) or \"lms-rice\"");
        if (rc_config_check_codec(c, &e2))
            return rc_err_set(p->e, RC_EINVAL, "%s: %s", p->file, e2.msg);
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "max_connections")) &&
        get_int(p, o, "max_connections", 1, 5, &c->max_connections))
        return p->e->code;
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "fetch"))) {
        static const char *const fk[] = {"max_attempts",
                                         "backoff_base_s",
                                         "backoff_cap_s",
                                         "timeout_s",
                                         "stall_timeout_s",
                                         "rate_limit_rps",
                                         NULL};
        if (!cJSON_IsObject(o)) return bad(p, "fetch", "must be an object");
        if (check_keys(p, o, "fetch", fk)) return p->e->code;
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_attempts")) &&
            get_int(p, x, "fetch.max_attempts", 1, 20, &c->fetch_max_attempts))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "backoff_base_s")) &&
            get_number(p, x, "fetch.backoff_base_s", 0, 600, &c->fetch_backoff_base_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "backoff_cap_s")) &&
            get_number(p, x, "fetch.backoff_cap_s", 0, 3600, &c->fetch_backoff_cap_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "timeout_s")) &&
            get_number(p, x, "fetch.timeout_s", 1, 86400, &c->fetch_timeout_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "stall_timeout_s")) &&
            get_number(p, x, "fetch.stall_timeout_s", 1, 3600, &c->fetch_stall_timeout_s))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "rate_limit_rps")) &&
            get_number(p, x, "fetch.rate_limit_rps", 0, 1000, &c->fetch_rate_limit_rps))
            return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "cache_control"))) {
        static const char *const ck[] = {"final", "provisional", "manifest", NULL};
        if (!cJSON_IsObject(o)) return bad(p, "cache_control", "must be an object");
        if (check_keys(p, o, "cache_control", ck)) return p->e->code;
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "final")) &&
            get_string_buf(p, x, "cache_control.final", c->cache_control_final,
                           sizeof c->cache_control_final))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "provisional")) &&
            get_string_buf(p, x, "cache_control.provisional", c->cache_control_provisional,
                           sizeof c->cache_control_provisional))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "manifest")) &&
            get_string_buf(p, x, "cache_control.manifest", c->cache_control_manifest,
                           sizeof c->cache_control_manifest))
            return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "s3"))) {
        static const char *const s3k[] = {"endpoint",  "region",          "addressing",
                                          "ca_bundle", "stall_timeout_s", NULL};
        if (!cJSON_IsObject(o)) return bad(p, "s3", "must be an object");
        if (check_keys(p, o, "s3", s3k)) return p->e->code;
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "endpoint")) &&
            get_string(p, x, "s3.endpoint", &c->s3_endpoint))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "region")) &&
            get_string(p, x, "s3.region", &c->s3_region))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "addressing"))) {
            if (!cJSON_IsString(x) ||
                (strcmp(x->valuestring, "auto") && strcmp(x->valuestring, "path") &&
                 strcmp(x->valuestring, "virtual")))
                return bad(p, "s3.addressing", "must be \"auto\", \"path\" or \"virtual\"");
            if (get_string(p, x, "s3.addressing", &c->s3_addressing)) return p->e->code;
        }
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "ca_bundle")) &&
            get_string(p, x, "s3.ca_bundle", &c->ca_bundle))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(o, "stall_timeout_s")) &&
            get_number(p, x, "s3.stall_timeout_s", 1, 3600, &c->s3_stall_timeout_s))
            return p->e->code;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(root, "serve")) && parse_serve(p, c, o))
        return p->e->code;
    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(root, "volcanoes");
    if (!vols) return bad(p, "volcanoes", "is required (a list of volcanoes with their stations)");
    if (!cJSON_IsArray(vols) || cJSON_GetArraySize(vols) == 0)
        return bad(p, "volcanoes", "must be a non-empty array");
    int i = 0;
    for (const cJSON *vo = vols->child; vo; vo = vo->next, i++) {
        char vp[64];
        snprintf(vp, sizeof vp, "volcanoes[%d]", i);
        if (parse_volcano(p, c, vo, vp)) return p->e->code;
    }
    return RC_OK;
}

int rc_config_check_codec(const rc_config *c, rc_err *e)
{
    if (c->layout == RC_LAYOUT_VIEWER && c->codec != RC_CODEC_INT32_ZSTD)
        return rc_err_set(e, RC_EINVAL,
                          "codec \"%s\" cannot be used with layout \"viewer\": the browser "
                          "viewer decodes int32-zstd chunks only; use codec \"int32-zstd\" or "
                          "layout \"seed\"",
                          rc_codec_id_name(c->codec));
    return RC_OK;
}

/* --- the viewer's stations_config.json ----------------------------------- */

static int parse_viewer(pctx *p, rc_config *c, const cJSON *root)
{
    static const char *const keys[] = {"config", "networks", NULL};
    if (check_keys(p, root, "", keys)) return p->e->code;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (cfg) {
        if (!cJSON_IsObject(cfg)) return bad(p, "config", "must be an object");
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(cfg, "max_distance_km")) &&
            get_number(p, x, "config.max_distance_km", 0, 40075, &c->max_distance_km))
            return p->e->code;
        if ((x = cJSON_GetObjectItemCaseSensitive(cfg, "data_types")) &&
            parse_data_types(p, x, "config.data_types", &c->data_types))
            return p->e->code;
    }
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(root, "networks");
    if (!cJSON_IsObject(nets))
        return bad(p, "networks", "must be an object of NETWORK: {volcano: [stations]}");
    static const char *const sk[] = {
        "station", "location",        "channel",  "distance_km", "sample_rate", "active", "network",
        "type",    "instrument_type", "latitude", "longitude",   "elevation_m", NULL};
    for (const cJSON *net = nets->child; net; net = net->next) {
        char np[128];
        snprintf(np, sizeof np, "networks.%s", net->string);
        if (!cJSON_IsObject(net)) return bad(p, np, "must be an object of volcano: [stations]");
        for (const cJSON *vo = net->child; vo; vo = vo->next) {
            char vp[200];
            snprintf(vp, sizeof vp, "%s.%s", np, vo->string);
            rc_err e2;
            if (rc_volcano_validate(vo->string, &e2)) return bad(p, vp, "%s", e2.msg);
            if (!cJSON_IsArray(vo)) return bad(p, vp, "must be an array of stations");
            rc_volcano *v = NULL;
            for (size_t i = 0; i < c->nvolcanoes; i++)
                if (strcmp(c->volcanoes[i].name, vo->string) == 0) v = &c->volcanoes[i];
            if (!v) {
                v = add_volcano(c);
                if (!v) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
                snprintf(v->name, sizeof v->name, "%s", vo->string);
            }
            int i = 0;
            for (const cJSON *st = vo->child; st; st = st->next, i++) {
                char sp[256];
                snprintf(sp, sizeof sp, "%s[%d]", vp, i);
                if (!cJSON_IsObject(st)) return bad(p, sp, "must be an object");
                if (check_keys(p, st, sp, sk)) return p->e->code;
                /* The network comes from the enclosing key. */
                cJSON *copy = cJSON_Duplicate(st, 1);
                if (!copy) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
                cJSON_DeleteItemFromObjectCaseSensitive(copy, "network");
                cJSON_AddStringToObject(copy, "network", net->string);
                int rc = parse_station(p, c, v, copy, sp);
                cJSON_Delete(copy);
                if (rc) return rc;
            }
        }
    }
    if (c->nvolcanoes == 0) return bad(p, "networks", "lists no volcano");
    return RC_OK;
}

/* JSON allows a name twice in an object; cJSON keeps both and we would read
 * the first where Python and jq take the last. Refuse it, naming the path. */
static int no_duplicate_names(pctx *p, const cJSON *o, char *path, size_t len, size_t cap)
{
    if (!cJSON_IsObject(o) && !cJSON_IsArray(o)) return RC_OK;
    size_t i = 0;
    for (const cJSON *a = o->child; a; a = a->next, i++) {
        if (cJSON_IsObject(o) && a->string)
            for (const cJSON *b = o->child; b != a; b = b->next)
                if (b->string && strcmp(a->string, b->string) == 0)
                    return bad(p, len ? path : "(top level)",
                               "\"%s\" is given twice; keep one (the other would be ignored)",
                               a->string);
        int n = cJSON_IsObject(o) ? snprintf(path + len, cap - len, "%s%s", len ? "." : "",
                                             a->string ? a->string : "")
                                  : snprintf(path + len, cap - len, "[%zu]", i);
        size_t nl = n > 0 && (size_t)n < cap - len ? len + (size_t)n : len;
        int rc = no_duplicate_names(p, a, path, nl, cap);
        path[len] = '\0';
        if (rc) return rc;
    }
    return RC_OK;
}

int rc_config_parse(const char *json, size_t len, const char *name, rc_config *c, rc_err *e)
{
    rc_config_defaults(c);
    c->path = strdup(name);
    pctx p = {name, e};
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = (at && at >= json && at <= json + len) ? (size_t)(at - json) : 0;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            col++;
            if (json[i] == '\n') line++, col = 1;
        }
        /* the cause, from what stands before the place cJSON stopped at */
        size_t b = off;
        while (b > 0 && strchr(" \t\r\n", json[b - 1]))
            b--;
        char prev = b > 0 ? json[b - 1] : '\0', here = off < len ? json[off] : '\0';
        /* cJSON puts an error at the end of the input on its last byte */
        size_t last = len;
        while (last > 0 && strchr(" \t\r\n", json[last - 1]))
            last--;
        int at_end = off + 1 >= last && here != '}' && here != ']';
        char cause[96];
        if (prev == ',' && (here == '}' || here == ']'))
            snprintf(cause, sizeof cause, "a trailing comma before '%c' (JSON allows none)", here);
        else if (prev == ':' || prev == ',' || prev == '[')
            snprintf(cause, sizeof cause, "a missing value after '%c'", prev);
        else if (at_end || off >= len || here == '\0')
            snprintf(cause, sizeof cause, "the file ends inside an object, array or string");
        else if ((unsigned char)here < 0x20 || (unsigned char)here > 0x7e)
            snprintf(cause, sizeof cause, "an unexpected byte 0x%02x", (unsigned char)here);
        else
            snprintf(cause, sizeof cause, "an unexpected '%c' (a missing comma, quote or bracket?)",
                     here);
        rc_config_free(c);
        return rc_err_set(e, RC_EINVAL, "%s: not valid JSON at line %zu, column %zu: %s", name,
                          line, col, cause);
    }
    int rc;
    char jpath[512] = "";
    if (!cJSON_IsObject(root))
        rc = bad(&p, "(top level)", "must be a JSON object");
    else if (no_duplicate_names(&p, root, jpath, 0, sizeof jpath) != RC_OK)
        rc = e->code;
    else if (cJSON_GetObjectItemCaseSensitive(root, "networks") &&
             !cJSON_GetObjectItemCaseSensitive(root, "volcanoes"))
        rc = parse_viewer(&p, c, root);
    else
        rc = parse_own(&p, c, root);
    cJSON_Delete(root);
    if (rc) {
        rc_config_free(c);
        return rc;
    }
    return RC_OK;
}

int rc_config_load(const char *path, rc_config *c, rc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return rc_err_set(e, RC_EINVAL, "%s: cannot read the configuration file (%m)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + n > RC_CONFIG_MAX_BYTES) {
            free(buf);
            fclose(f);
            return rc_err_set(e, RC_EINVAL,
                              "%s: larger than %d MiB; that is not an r2cache configuration "
                              "(or stations_config.json): check --config",
                              path, RC_CONFIG_MAX_BYTES >> 20);
        }
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
        }
        memcpy(buf + len, tmp, n);
        len += n;
    }
    fclose(f);
    int rc = rc_config_parse(buf ? buf : "", len, path, c, e);
    free(buf);
    return rc;
}
