/*
 * sources.c: the configuration's "sources" list and the source list behind
 * the rc_source interface (sources.h has the rules: match, age, fall-through).
 *
 * Parsing names the JSON path of every error ("FILE: sources[1].max_age:
 * ..."). The list opens one rc_source per entry and, per call of
 * fetch_many, cuts the request lines at the age limits into pieces, gives
 * each piece its first matching entry, and sweeps the entries in order:
 * entry k is asked, in the requests of the caller (one sub-request per
 * caller request), for every piece still at k; what it does not deliver
 * moves on to the next matching entry. Results go to the caller's callback
 * as soon as they are known, so answers are never held back in memory.
 */
#include "source_int.h"

#include "r2cache/mseed.h"
#include "r2cache/sources.h"
#include "r2cache/srcauth.h"
#include "r2cache/timewin.h"
#include "r2cache/url.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmseed.h>

/* --- parsing --------------------------------------------------------------- */

static int perr(rc_err *e, const char *file, size_t i, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int perr(rc_err *e, const char *file, size_t i, const char *field, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rc_err_set(e, RC_EINVAL, "%s: sources[%zu]%s%s: %s", file, i, field ? "." : "",
                      field ? field : "", what);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RC_SOURCES_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_') return 0;
    }
    return 1;
}

static void entry_free(rc_sources_entry *en)
{
    free(en->url);
    for (size_t i = 0; i < en->nnetworks; i++)
        free(en->networks[i]);
    free(en->networks);
    for (size_t i = 0; i < en->nstations; i++)
        free(en->stations[i]);
    free(en->stations);
    cJSON_Delete(en->auth);
    rc_srcauth_free(en->srcauth);
    free(en->srcauth);
    memset(en, 0, sizeof *en);
}

void rc_sources_cfg_free(rc_sources_cfg *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++)
        entry_free(&c->v[i]);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static int get_patterns(const cJSON *o, const char *file, size_t i, const char *field, char ***out,
                        size_t *n, rc_err *e)
{
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) == 0)
        return perr(e, file, i, field, "must be a non-empty list of patterns such as \"%s\"",
                    strcmp(field, "networks") == 0 ? "HV" : "AV.GS*");
    size_t cnt = (size_t)cJSON_GetArraySize(o);
    char **v = calloc(cnt, sizeof *v);
    if (!v) return rc_err_set(e, RC_ENOMEM, "out of memory");
    *out = v;
    size_t k = 0;
    for (const cJSON *it = o->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 64)
            return perr(e, file, i, field, "[%zu] must be a pattern of 1 to 64 characters", k);
        if (strcmp(field, "stations") == 0 && !strchr(it->valuestring, '.'))
            return perr(e, file, i, field,
                        "[%zu] \"%s\" must be NET.STA (for example \"HV.PUHI\" or \"AV.GS*\"); "
                        "a network alone goes in \"networks\"",
                        k, it->valuestring);
        if (!(v[k] = strdup(it->valuestring))) return rc_err_set(e, RC_ENOMEM, "out of memory");
        (*n)++;
    }
    return RC_OK;
}

static int get_age(const cJSON *o, const char *file, size_t i, const char *field, int64_t *out,
                   rc_err *e)
{
    rc_err e2;
    if (!cJSON_IsString(o))
        return perr(e, file, i, field, "must be a duration such as \"48h\" or \"7d\"");
    if (rc_duration_parse(o->valuestring, out, &e2) != RC_OK || *out < 0)
        return perr(e, file, i, field, "\"%s\" is not a duration such as \"48h\" or \"7d\"",
                    o->valuestring);
    return RC_OK;
}

static int get_num(const cJSON *o, const char *file, size_t i, const char *field, double lo,
                   double hi, double *out, rc_err *e)
{
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
        return perr(e, file, i, field, "must be a number");
    if (o->valuedouble < lo || o->valuedouble > hi)
        return perr(e, file, i, field, "%g is out of range [%g, %g]", o->valuedouble, lo, hi);
    *out = o->valuedouble;
    return RC_OK;
}

static int get_whole(const cJSON *o, const char *file, size_t i, const char *field, int lo, int hi,
                     int *out, rc_err *e)
{
    double d = 0;
    int rc = get_num(o, file, i, field, lo, hi, &d, e);
    if (rc) return rc;
    if (d != floor(d)) return perr(e, file, i, field, "must be a whole number");
    *out = (int)d;
    return RC_OK;
}

static int parse_entry(const cJSON *o, const char *file, size_t i, rc_sources_entry *en, rc_err *e)
{
    static const char *const keys[] = {"url",
                                       "name",
                                       "networks",
                                       "stations",
                                       "min_age",
                                       "max_age",
                                       "max_connections",
                                       "rate_limit_rps",
                                       "max_attempts",
                                       "backoff_base_s",
                                       "backoff_cap_s",
                                       "timeout_s",
                                       "stall_timeout_s",
                                       "auth",
                                       NULL};
    en->rate_limit_rps = en->backoff_base_s = en->backoff_cap_s = -1;
    en->timeout_s = en->stall_timeout_s = -1;
    if (!cJSON_IsObject(o))
        return perr(e, file, i, NULL, "must be an object with at least \"url\"");
    for (const cJSON *it = o->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *k = keys; *k; k++)
            ok |= strcmp(*k, it->string) == 0;
        if (!ok) {
            char list[400] = "";
            for (const char *const *k = keys; *k; k++) {
                strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, *k, sizeof list - strlen(list) - 1);
            }
            return perr(e, file, i, it->string, "unknown field (allowed here: %s)", list);
        }
    }
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "url");
    if (!x) return perr(e, file, i, "url", "is required (an FDSN base URL or sds:///path)");
    if (!cJSON_IsString(x) || !x->valuestring[0])
        return perr(e, file, i, "url", "must be a non-empty string");
    if (!(en->url = strdup(x->valuestring))) return rc_err_set(e, RC_ENOMEM, "out of memory");
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "name"))) {
        if (!cJSON_IsString(x) || !name_ok(x->valuestring))
            return perr(e, file, i, "name",
                        "must be 1 to %d characters of letters, digits, '.', '-' and '_'",
                        RC_SOURCES_NAME_MAX - 1);
        snprintf(en->name, sizeof en->name, "%s", x->valuestring);
    } else {
        rc_source_default_name(en->url, en->name);
    }
    int rc = RC_OK;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "networks")))
        rc = get_patterns(x, file, i, "networks", &en->networks, &en->nnetworks, e);
    if (!rc && (x = cJSON_GetObjectItemCaseSensitive(o, "stations")))
        rc = get_patterns(x, file, i, "stations", &en->stations, &en->nstations, e);
    if (!rc && (x = cJSON_GetObjectItemCaseSensitive(o, "min_age"))) {
        rc = get_age(x, file, i, "min_age", &en->min_age_s, e);
        en->has_min_age = 1;
    }
    if (!rc && (x = cJSON_GetObjectItemCaseSensitive(o, "max_age"))) {
        rc = get_age(x, file, i, "max_age", &en->max_age_s, e);
        en->has_max_age = 1;
    }
    if (rc) return rc;
    if (en->has_min_age && en->has_max_age && en->min_age_s >= en->max_age_s)
        return perr(e, file, i, "max_age", "must be longer than min_age (%lld s >= %lld s)",
                    (long long)en->min_age_s, (long long)en->max_age_s);
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_connections")) &&
        get_whole(x, file, i, "max_connections", 1, RC_SOURCE_MAX_CONNECTIONS, &en->max_connections,
                  e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "max_attempts")) &&
        get_whole(x, file, i, "max_attempts", 1, 20, &en->max_attempts, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "rate_limit_rps")) &&
        get_num(x, file, i, "rate_limit_rps", 0, 1000, &en->rate_limit_rps, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "backoff_base_s")) &&
        get_num(x, file, i, "backoff_base_s", 0, 600, &en->backoff_base_s, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "backoff_cap_s")) &&
        get_num(x, file, i, "backoff_cap_s", 0, 3600, &en->backoff_cap_s, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "timeout_s")) &&
        get_num(x, file, i, "timeout_s", 1, 86400, &en->timeout_s, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "stall_timeout_s")) &&
        get_num(x, file, i, "stall_timeout_s", 1, 3600, &en->stall_timeout_s, e))
        return e->code;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "auth"))) {
        if (!cJSON_IsObject(x)) return perr(e, file, i, "auth", "must be an object");
        if (!(en->auth = cJSON_Duplicate(x, 1))) return rc_err_set(e, RC_ENOMEM, "out of memory");
        char path[48];
        snprintf(path, sizeof path, "sources[%zu].auth", i);
        rc_err e2;
        if (!(en->srcauth = calloc(1, sizeof *en->srcauth)))
            return rc_err_set(e, RC_ENOMEM, "out of memory");
        if (rc_srcauth_parse(x, path, en->srcauth, &e2))
            return rc_err_set(e, e2.code, "%s: %s", file, e2.msg);
    }
    return RC_OK;
}

int rc_sources_parse(const cJSON *arr, const char *file, rc_sources_cfg *out, rc_err *e)
{
    memset(out, 0, sizeof *out);
    if (!file) file = "(configuration)";
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return rc_err_set(e, RC_EINVAL,
                          "%s: sources: must be a non-empty list of sources (objects with "
                          "\"url\")",
                          file);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > RC_SOURCES_MAX)
        return rc_err_set(e, RC_EINVAL, "%s: sources: %zu entries; at most %d", file, n,
                          RC_SOURCES_MAX);
    out->v = calloc(n, sizeof *out->v);
    if (!out->v) return rc_err_set(e, RC_ENOMEM, "out of memory");
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        out->n = i + 1;
        int rc = parse_entry(it, file, i, &out->v[i], e);
        for (size_t j = 0; !rc && j < i; j++)
            if (strcmp(out->v[j].name, out->v[i].name) == 0)
                rc = perr(e, file, i, "name",
                          "\"%s\" is already the name of sources[%zu]: give each source its own "
                          "\"name\"",
                          out->v[i].name, j);
        if (rc) {
            rc_sources_cfg_free(out);
            return rc;
        }
    }
    return RC_OK;
}

/* --- the list -------------------------------------------------------------- */

typedef struct lentry {
    rc_sources_entry rule; /* url and auth not kept (NULL) */
    rc_source *src;
    rc_sources_stat st;
    int down;        /* unusable: not asked again by this list */
    rc_err down_err; /* why */
} lentry;

typedef struct list_impl {
    lentry *v;
    size_t n;
    int64_t now, base_s;
} list_impl;

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g != 0 && t < 0) q--;
    return q * g;
}

/* B(d): where an age limit of d cuts the data. */
static int64_t age_cut(const list_impl *L, int64_t d)
{
    return floor_to(L->now - d, L->base_s);
}

static int entry_matches(const list_impl *L, const lentry *le, const rc_fetch_line *p, int64_t ws)
{
    const rc_sources_entry *r = &le->rule;
    if (r->has_max_age && ws < age_cut(L, r->max_age_s)) return 0;
    if (r->has_min_age && p->end > age_cut(L, r->min_age_s)) return 0;
    if (r->nnetworks == 0 && r->nstations == 0) return 1;
    for (size_t i = 0; i < r->nnetworks; i++)
        if (fnmatch(r->networks[i], p->chan.net, 0) == 0) return 1;
    char ns[2 * RC_CODE_MAX + 2];
    snprintf(ns, sizeof ns, "%s.%s", p->chan.net, p->chan.sta);
    for (size_t i = 0; i < r->nstations; i++)
        if (fnmatch(r->stations[i], ns, 0) == 0) return 1;
    return 0;
}

/* First entry at or after k that matches p (data from ws); L->n when none. */
static size_t next_match(const list_impl *L, size_t k, const rc_fetch_line *p, int64_t ws)
{
    for (; k < L->n; k++)
        if (entry_matches(L, &L->v[k], p, ws)) return k;
    return L->n;
}

typedef enum pbest { P_NONE = 0, P_FAILED, P_NODATA } pbest;

typedef struct piece {
    size_t req, line;
    rc_fetch_line fl; /* as asked: a cut piece keeps its line's margin before its start */
    int64_t ws;       /* where its data starts (fl.start + the margin): matching and overlap */
    size_t at;        /* entry it is at (L->n: none left) */
    pbest best;
    int fail_rc;
    rc_err fail;
    int done;
    int touched; /* answered in the current sweep step */
} piece;

typedef struct sweep {
    list_impl *L;
    rc_source *self;
    piece *p;
    size_t np;
    size_t *remaining; /* per caller request: pieces not yet delivered */
    int *attempts;     /* per caller request: attempts not yet reported */
    rc_fetch_cb cb;
    void *ud;
    /* the step: entry k, its sub-requests */
    size_t k;
    size_t *sub_req;   /* caller request of each sub-request */
    size_t *sub_first; /* first of its pieces in order[] */
    size_t *sub_n;
    size_t *order; /* piece indices grouped by sub-request */
    int abandon;   /* entry k found down: the rest of its requests are dropped */
    int stopped;   /* the caller asked to stop */
} sweep;

static int fatal_rc(int rc)
{
    return rc == RC_EUNUSABLE || rc == RC_EAUTH;
}

/* Deliver pieces idx[0..n) of caller request req with status/data of res
 * (res may be a local result). Returns the callback's answer. */
static int deliver(sweep *w, size_t req, const size_t *idx, size_t n, rc_fetch_result *res,
                   int with_source)
{
    if (n == 0) return 0;
    rc_fetch_line *fl = malloc(n * sizeof *fl);
    size_t *pl = malloc(n * sizeof *pl);
    if (!fl || !pl) {
        free(fl);
        free(pl);
        w->stopped = 1;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        piece *p = &w->p[idx[i]];
        fl[i] = p->fl;
        pl[i] = p->line;
        p->done = 1;
    }
    w->remaining[req] -= n;
    res->pieces = fl;
    res->piece_line = pl;
    res->npieces = n;
    res->more = w->remaining[req] > 0;
    res->attempts = w->attempts[req];
    w->attempts[req] = 0;
    if (with_source) {
        res->source_index = (int)w->k;
        res->source_name = w->L->v[w->k].st.name;
        res->source_shown = w->L->v[w->k].st.shown;
    } else {
        res->source_index = -1;
        res->source_name = res->source_shown = NULL;
    }
    int stop = w->cb(w->ud, req, res);
    res->pieces = NULL;
    res->piece_line = NULL;
    res->npieces = 0;
    free(fl);
    free(pl);
    if (stop) w->stopped = 1;
    return stop;
}

/* Pieces idx[0..n) got no data (status RC_ENODATA) or failed (status, err)
 * at entry w->k: remember it, move each on, and deliver those with no entry
 * left. */
static int pass_on(sweep *w, size_t req, const size_t *idx, size_t n, int status, const rc_err *err)
{
    lentry *le = &w->L->v[w->k];
    size_t *fin_nodata = malloc((n ? n : 1) * sizeof *fin_nodata);
    if (!fin_nodata) {
        w->stopped = 1;
        return 1;
    }
    size_t nn = 0;
    int stop = 0;
    for (size_t i = 0; i < n; i++) {
        piece *p = &w->p[idx[i]];
        p->touched = 1;
        if (status == RC_ENODATA) {
            le->st.lines_no_data++;
            p->best = P_NODATA;
        } else {
            le->st.lines_failed++;
            /* the first failure that lets the run go on wins over one that
             * stops it */
            if (p->best == P_NONE) {
                p->best = P_FAILED;
                p->fail_rc = status;
                p->fail = *err;
            } else if (p->best == P_FAILED && fatal_rc(p->fail_rc) && !fatal_rc(status)) {
                p->fail_rc = status;
                p->fail = *err;
            }
        }
        p->at = next_match(w->L, w->k + 1, &p->fl, p->ws);
        if (p->at < w->L->n) {
            le->st.fell_through++;
            continue;
        }
        if (p->best == P_NODATA) {
            fin_nodata[nn++] = idx[i];
        } else if (!stop) {
            rc_fetch_result r;
            memset(&r, 0, sizeof r);
            r.status = p->fail_rc;
            r.err = p->fail;
            stop = deliver(w, req, &idx[i], 1, &r, 0);
        }
    }
    if (!stop && nn) {
        rc_fetch_result r;
        memset(&r, 0, sizeof r);
        r.status = RC_ENODATA;
        stop = deliver(w, req, fin_nodata, nn, &r, 1);
    }
    free(fin_nodata);
    return stop;
}

static int code_eq(const char *rec, const char *want)
{
    return strcmp(rec, want) == 0;
}

/* Mark in has[i] whether the answer holds a record of piece idx[i]'s
 * channel overlapping its span (whole records, as the sources deliver:
 * mseed.h judged them before). */
static void find_overlaps(const sweep *w, const rc_buf *data, const size_t *idx, size_t n,
                          unsigned char *has)
{
    memset(has, 0, n);
    MSRecord *msr = NULL;
    size_t off = 0;
    while (off < data->len) {
        size_t reclen = rc_mseed_record_len(data->data + off, data->len - off);
        if (!reclen || msr_parse(data->data + off, (int)reclen, &msr, (int)reclen, 0, 0) != 0)
            break;
        hptime_t rs = msr->starttime;
        hptime_t re = rs;
        if (msr->samprate > 0 && msr->samplecnt > 0)
            re = rs + (hptime_t)((double)msr->samplecnt / msr->samprate * HPTMODULUS);
        for (size_t i = 0; i < n; i++) {
            const rc_fetch_line *fl = &w->p[idx[i]].fl;
            if (!has[i] && code_eq(msr->network, fl->chan.net) &&
                code_eq(msr->station, fl->chan.sta) && code_eq(msr->location, fl->chan.loc) &&
                code_eq(msr->channel, fl->chan.cha) && rs < (hptime_t)fl->end * HPTMODULUS &&
                re > (hptime_t)w->p[idx[i]].ws * HPTMODULUS)
                has[i] = 1;
        }
        off += reclen;
    }
    msr_free(&msr);
}

static int sweep_cb(void *ud, size_t si, rc_fetch_result *res)
{
    sweep *w = ud;
    lentry *le = &w->L->v[w->k];
    size_t req = w->sub_req[si];
    const size_t *idx = w->order + w->sub_first[si];
    size_t n = w->sub_n[si];
    int att = res->attempts > 0 ? res->attempts : 1;
    le->st.requests += att;
    w->attempts[req] += att;
    le->st.lines += (int64_t)n;
    for (size_t i = 0; i < n; i++)
        w->p[idx[i]].touched = 1;
    if (res->status == RC_OK) {
        unsigned char *has = malloc(n);
        size_t *give = malloc(n * sizeof *give), *empty = malloc(n * sizeof *empty);
        if (!has || !give || !empty) {
            free(has);
            free(give);
            free(empty);
            w->stopped = 1;
            return 1;
        }
        find_overlaps(w, &res->data, idx, n, has);
        size_t ng = 0, ne = 0;
        for (size_t i = 0; i < n; i++) {
            piece *p = &w->p[idx[i]];
            if (has[i]) {
                give[ng++] = idx[i];
                le->st.lines_data++;
            } else if (next_match(w->L, w->k + 1, &p->fl, p->ws) == w->L->n) {
                /* nothing left to ask: the answer goes with it, and the
                 * engine judges it (no data, or records nobody asked for) */
                give[ng++] = idx[i];
                le->st.lines_no_data++;
            } else {
                empty[ne++] = idx[i];
            }
        }
        int stop = 0;
        if (ne) stop = pass_on(w, req, empty, ne, RC_ENODATA, NULL);
        if (!stop && ng) stop = deliver(w, req, give, ng, res, 1);
        free(has);
        free(give);
        free(empty);
        return stop;
    }
    if (res->status == RC_ENODATA) return pass_on(w, req, idx, n, RC_ENODATA, NULL);
    if (fatal_rc(res->status)) {
        le->st.down = 1;
        snprintf(le->st.down_msg, sizeof le->st.down_msg, "%s", res->err.msg);
        if (!le->down) {
            le->down = 1;
            le->down_err = res->err;
            le->down_err.code = res->status;
        }
    }
    int stop = pass_on(w, req, idx, n, res->status, &res->err);
    if (!stop && le->down) {
        /* not asked again: the rest of its requests are dropped, and
         * list_fetch_many passes their pieces on (fail_untouched) */
        w->abandon = 1;
        return 1;
    }
    return stop;
}

/* Pieces still at entry k that its sweep step did not answer (it was found
 * down, or it is known down): failed there with its error, passed on. */
static int fail_untouched(sweep *w, size_t nsub, const rc_err *err)
{
    for (size_t s = 0; s < nsub; s++) {
        size_t *idx = w->order + w->sub_first[s];
        size_t n = w->sub_n[s], m = 0;
        size_t *left = malloc((n ? n : 1) * sizeof *left);
        if (!left) return 1;
        for (size_t i = 0; i < n; i++)
            if (!w->p[idx[i]].touched) left[m++] = idx[i];
        int stop = m ? pass_on(w, w->sub_req[s], left, m, err->code, err) : 0;
        free(left);
        if (stop) return 1;
    }
    return 0;
}

/* The caller asks from a little before a line's first window (the engine's
 * fetch margin, shape.h): the distance from its start up to the base grid.
 * A piece cut from the line keeps that margin before its own start. */
static int64_t line_margin(const list_impl *L, const rc_fetch_line *l)
{
    int64_t r = l->start - floor_to(l->start, L->base_s);
    int64_t m = r ? L->base_s - r : 0;
    return m < l->end - l->start ? m : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                           void *ud, rc_err *e)
{
    list_impl *L = s->impl;
    int rc = RC_OK;
    /* the age limits, as cut points */
    int64_t cuts[2 * RC_SOURCES_MAX];
    size_t ncut = 0;
    for (size_t k = 0; k < L->n; k++) {
        if (L->v[k].rule.has_min_age) cuts[ncut++] = age_cut(L, L->v[k].rule.min_age_s);
        if (L->v[k].rule.has_max_age) cuts[ncut++] = age_cut(L, L->v[k].rule.max_age_s);
    }
    qsort(cuts, ncut, sizeof *cuts, cmp_i64);
    size_t np = 0;
    for (size_t i = 0; i < nreq; i++)
        for (size_t j = 0; j < reqs[i].n; j++) {
            const rc_fetch_line *l = &reqs[i].lines[j];
            int64_t a0 = l->start + line_margin(L, l);
            np++;
            for (size_t c = 0; c < ncut; c++)
                np += cuts[c] > a0 && cuts[c] < l->end;
        }
    sweep w;
    memset(&w, 0, sizeof w);
    w.L = L;
    w.self = s;
    w.cb = cb;
    w.ud = ud;
    w.p = calloc(np ? np : 1, sizeof *w.p);
    w.remaining = calloc(nreq, sizeof *w.remaining);
    w.attempts = calloc(nreq, sizeof *w.attempts);
    w.order = malloc((np ? np : 1) * sizeof *w.order);
    w.sub_req = malloc(nreq * sizeof *w.sub_req);
    w.sub_first = malloc(nreq * sizeof *w.sub_first);
    w.sub_n = malloc(nreq * sizeof *w.sub_n);
    rc_fetch_req *sub = malloc(nreq * sizeof *sub);
    rc_fetch_line *sl = malloc((np ? np : 1) * sizeof *sl);
    if (!w.p || !w.remaining || !w.attempts || !w.order || !w.sub_req || !w.sub_first || !w.sub_n ||
        !sub || !sl) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory routing %zu requests", nreq);
        goto out;
    }
    /* pieces, and where each goes first */
    for (size_t i = 0; i < nreq; i++)
        for (size_t j = 0; j < reqs[i].n; j++) {
            const rc_fetch_line *l = &reqs[i].lines[j];
            int64_t m = line_margin(L, l);
            int64_t a = l->start + m;
            for (size_t c = 0; c <= ncut && a < l->end; c++) {
                int64_t b = c < ncut ? cuts[c] : l->end;
                if (b <= a) continue;
                if (b > l->end) b = l->end;
                piece *p = &w.p[w.np++];
                p->req = i;
                p->line = j;
                p->fl = *l;
                p->fl.start = a - m;
                p->fl.end = b;
                p->ws = a;
                p->at = next_match(L, 0, &p->fl, p->ws);
                w.remaining[i]++;
                a = b;
            }
        }
    /* pieces no entry takes fail now, naming why */
    for (size_t x = 0; x < w.np && !w.stopped; x++) {
        piece *p = &w.p[x];
        if (p->at < L->n) continue;
        char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
        rc_chan_format(&p->fl.chan, id);
        rc_time_iso(p->ws, a);
        rc_time_iso(p->fl.end, b);
        rc_fetch_result r;
        memset(&r, 0, sizeof r);
        r.status = RC_EINVAL;
        rc_err_set(&r.err, RC_EINVAL,
                   "no entry of \"sources\" takes %s from %s to %s (check its networks, "
                   "stations, min_age and max_age)",
                   id, a, b);
        w.k = 0;
        deliver(&w, p->req, &x, 1, &r, 0);
    }
    for (size_t k = 0; k < L->n && !w.stopped; k++) {
        w.k = k;
        w.abandon = 0;
        size_t nsub = 0, no = 0, nl = 0;
        for (size_t i = 0; i < nreq; i++) {
            size_t first = no;
            for (size_t x = 0; x < w.np; x++) {
                piece *p = &w.p[x];
                if (p->req != i || p->done || p->at != k) continue;
                p->touched = 0;
                w.order[no++] = x;
            }
            if (no == first) continue;
            w.sub_req[nsub] = i;
            w.sub_first[nsub] = first;
            w.sub_n[nsub] = no - first;
            sub[nsub].lines = sl + nl;
            sub[nsub].n = no - first;
            for (size_t q = first; q < no; q++)
                sl[nl++] = w.p[w.order[q]].fl;
            nsub++;
        }
        if (nsub == 0) continue;
        lentry *le = &L->v[k];
        if (le->down) {
            if (fail_untouched(&w, nsub, &le->down_err)) w.stopped = 1;
            continue;
        }
        rc_err se;
        rc_err_clear(&se);
        int frc = rc_source_fetch_many(le->src, sub, nsub, sweep_cb, &w, &se);
        if (frc == RC_EINTR && w.abandon && !w.stopped) {
            if (fail_untouched(&w, nsub, &le->down_err)) w.stopped = 1;
        } else if (frc == RC_EINTR) {
            w.stopped = 1;
        } else if (frc != RC_OK) {
            rc = frc;
            *e = se;
            goto out;
        }
    }
    if (w.stopped) rc = rc_err_set(e, RC_EINTR, "stopped");
out:
    free(w.p);
    free(w.remaining);
    free(w.attempts);
    free(w.order);
    free(w.sub_req);
    free(w.sub_first);
    free(w.sub_n);
    free(sub);
    free(sl);
    return rc;
}

static void list_close(rc_source *s)
{
    list_impl *L = s->impl;
    if (!L) return;
    for (size_t k = 0; k < L->n; k++) {
        rc_source_close(L->v[k].src);
        entry_free(&L->v[k].rule);
    }
    free(L->v);
    free(L);
    s->impl = NULL;
}

static void list_credit(rc_source *s, int k, int64_t windows)
{
    list_impl *L = s->impl;
    if (L && k >= 0 && (size_t)k < L->n) L->v[k].st.windows += windows;
}

static const rc_source_ops list_ops = {"sources", list_fetch_many, list_close};

static int copy_patterns(char **from, size_t n, char ***to, size_t *nto)
{
    if (n == 0) return RC_OK;
    *to = calloc(n, sizeof **to);
    if (!*to) return RC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!((*to)[i] = strdup(from[i]))) return RC_ENOMEM;
        (*nto)++;
    }
    return RC_OK;
}

int rc_sources_open(const rc_sources_cfg *cfg, const rc_source_opts *global, int64_t now,
                    int64_t base_s, rc_source **out, rc_err *e)
{
    *out = NULL;
    if (!cfg || cfg->n == 0) return rc_err_set(e, RC_EINVAL, "no sources configured");
    list_impl *L = calloc(1, sizeof *L);
    if (!L) return rc_err_set(e, RC_ENOMEM, "out of memory opening the sources");
    L->now = now;
    L->base_s = base_s > 0 ? base_s : 600;
    L->v = calloc(cfg->n, sizeof *L->v);
    rc_source_opts dflt;
    rc_source_opts_default(&dflt);
    if (!global) global = &dflt;
    char shown[1024] = "";
    size_t len = 0;
    int rc = L->v ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory opening the sources");
    for (size_t k = 0; rc == RC_OK && k < cfg->n; k++) {
        const rc_sources_entry *c = &cfg->v[k];
        lentry *le = &L->v[k];
        L->n = k + 1;
        le->rule = *c;
        le->rule.url = NULL;
        le->rule.auth = NULL;
        le->rule.srcauth = NULL;
        le->rule.networks = le->rule.stations = NULL;
        le->rule.nnetworks = le->rule.nstations = 0;
        if (copy_patterns(c->networks, c->nnetworks, &le->rule.networks, &le->rule.nnetworks) ||
            copy_patterns(c->stations, c->nstations, &le->rule.stations, &le->rule.nstations)) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory opening the sources");
            break;
        }
        rc_source_opts o = *global;
        if (c->max_connections > 0) o.max_connections = c->max_connections;
        if (c->max_attempts > 0) o.max_attempts = c->max_attempts;
        if (c->rate_limit_rps >= 0) o.rate_limit_rps = c->rate_limit_rps;
        if (c->backoff_base_s >= 0) o.backoff_base_s = c->backoff_base_s;
        if (c->backoff_cap_s >= 0) o.backoff_cap_s = c->backoff_cap_s;
        if (c->timeout_s > 0) o.timeout_s = c->timeout_s;
        if (c->stall_timeout_s > 0) o.stall_timeout_s = c->stall_timeout_s;
        o.auth = c->srcauth; /* its own credentials only, never another entry's */
        rc = rc_source_open(c->url, &o, &le->src, e);
        if (rc != RC_OK) {
            char msg[RC_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e->msg);
            rc_err_set(e, rc, "source \"%s\": %s", c->name, msg);
            break;
        }
        snprintf(le->rule.name, sizeof le->rule.name, "%s", c->name);
        le->st.name = le->rule.name;
        le->st.shown = rc_source_describe(le->src);
        if (len < sizeof shown)
            len += (size_t)snprintf(shown + len, sizeof shown - len, "%s%s (%s)", k ? ", " : "",
                                    le->rule.name, le->st.shown);
    }
    if (rc == RC_OK) rc = rc_source_wrap(shown, global, &list_ops, L, out, e);
    if (rc == RC_OK) (*out)->credit = list_credit;
    if (rc != RC_OK) {
        rc_source fake;
        memset(&fake, 0, sizeof fake);
        fake.impl = L;
        list_close(&fake);
        return rc;
    }
    return RC_OK;
}

/* --- figures --------------------------------------------------------------- */

static const list_impl *list_of(const rc_source *s)
{
    return s && s->ops == &list_ops ? s->impl : NULL;
}

size_t rc_sources_count(const rc_source *s)
{
    const list_impl *L = list_of(s);
    return L ? L->n : 0;
}

const rc_sources_stat *rc_sources_stat_get(const rc_source *s, size_t i)
{
    const list_impl *L = list_of(s);
    return L && i < L->n ? &L->v[i].st : NULL;
}

cJSON *rc_sources_json(const rc_source *s)
{
    const list_impl *L = list_of(s);
    if (!L) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < L->n; k++) {
        const rc_sources_stat *st = &L->v[k].st;
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddItemToArray(a, o);
        cJSON_AddStringToObject(o, "name", st->name);
        cJSON_AddStringToObject(o, "url", st->shown);
        cJSON_AddNumberToObject(o, "requests", (double)st->requests);
        cJSON_AddNumberToObject(o, "lines", (double)st->lines);
        cJSON_AddNumberToObject(o, "lines_data", (double)st->lines_data);
        cJSON_AddNumberToObject(o, "lines_no_data", (double)st->lines_no_data);
        cJSON_AddNumberToObject(o, "lines_failed", (double)st->lines_failed);
        cJSON_AddNumberToObject(o, "fell_through", (double)st->fell_through);
        cJSON_AddNumberToObject(o, "windows", (double)st->windows);
        cJSON_AddBoolToObject(o, "down", st->down);
        if (st->down) cJSON_AddStringToObject(o, "error", st->down_msg);
    }
    return a;
}

void rc_sources_log_summary(const rc_source *s, const rc_log *log)
{
    const list_impl *L = list_of(s);
    if (!L) return;
    for (size_t k = 0; k < L->n; k++) {
        const rc_sources_stat *st = &L->v[k].st;
        rc_log_info(log, "source",
                    "%s (%s): %lld requests, %lld windows delivered; lines: %lld with data, %lld "
                    "no data, %lld failed, %lld passed on to the next source",
                    st->name, st->shown, (long long)st->requests, (long long)st->windows,
                    (long long)st->lines_data, (long long)st->lines_no_data,
                    (long long)st->lines_failed, (long long)st->fell_through);
        if (st->down)
            rc_log_warn(log, "source",
                        "source %s (%s) was down: %lld lines fell through to the next source "
                        "(%s)",
                        st->name, st->shown, (long long)st->fell_through, st->down_msg);
    }
}
