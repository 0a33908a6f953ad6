/*
 * manifest_json.c: the JSON form of a manifest.
 *
 * Parsing keeps everything it does not understand (unknown top-level fields,
 * unknown entry fields, unknown chunk lists) as cJSON and writes it back, so
 * a newer writer's extensions survive an older one's update. Serialization
 * is our own 2-space printer over a cJSON tree built in a fixed field order,
 * with numbers in their shortest exact form (100, 40.96), so the same
 * manifest is always the same bytes and diffs stay readable.
 */
#include "manifest_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/timewin.h"

#define DAY_SECONDS RC_MANIFEST_DAY

/* ---- parsing ----------------------------------------------------------- */

typedef struct pctx {
    rc_err *e;
    char field[160]; /* path of the field being read, for messages */
} pctx;

static int perr(pctx *p, const char *fmt, const char *detail)
{
    return rc_err_set(p->e, RC_EFORMAT, "manifest field \"%s\": %s%s", p->field, fmt,
                      detail ? detail : "");
}

static int get_int(pctx *p, const cJSON *it, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(it)) return perr(p, "expected a number", NULL);
    double v = it->valuedouble;
    if (v != floor(v) || v < lo || v > hi) return perr(p, "expected a whole number in range", NULL);
    *out = (int64_t)v;
    return RC_OK;
}

static int get_num(pctx *p, const cJSON *it, double *out)
{
    if (!cJSON_IsNumber(it)) return perr(p, "expected a number", NULL);
    if (!isfinite(it->valuedouble)) return perr(p, "expected a finite number", NULL);
    *out = it->valuedouble;
    return RC_OK;
}

/* Every number in the document must be finite: cJSON reads 1e309 as
 * infinity, which we could never write back (JSON has no infinity), so a
 * manifest holding one would block every later update of its day. */
static int check_finite(const cJSON *it, char *path, size_t cap, rc_err *e)
{
    size_t base = strlen(path);
    if (cJSON_IsNumber(it) && !isfinite(it->valuedouble))
        return rc_err_set(e, RC_EFORMAT,
                          "manifest field \"%s\": not a finite number (run `r2cache reindex` "
                          "to rebuild the manifest from the blobs)",
                          base ? path : "(top)");
    int i = 0;
    for (const cJSON *c = it->child; c; c = c->next, i++) {
        if (c->string)
            snprintf(path + base, cap - base, "%s%s", base ? "." : "", c->string);
        else
            snprintf(path + base, cap - base, "[%d]", i);
        int rc = check_finite(c, path, cap, e);
        if (rc) return rc;
        path[base] = '\0';
    }
    return RC_OK;
}

static int get_str(pctx *p, const cJSON *it, char *out, size_t n)
{
    if (!cJSON_IsString(it)) return perr(p, "expected a string", NULL);
    if (strlen(it->valuestring) >= n) return perr(p, "string too long", NULL);
    memcpy(out, it->valuestring, strlen(it->valuestring) + 1);
    return RC_OK;
}

static int get_bool(pctx *p, const cJSON *it, int *out)
{
    if (!cJSON_IsBool(it)) return perr(p, "expected true or false", NULL);
    *out = cJSON_IsTrue(it) ? 1 : 0;
    return RC_OK;
}

/* "HH:MM:SS" -> seconds of day. */
static int get_hms(pctx *p, const cJSON *it, int64_t *out)
{
    if (!cJSON_IsString(it)) return perr(p, "expected a time \"HH:MM:SS\"", NULL);
    const char *s = it->valuestring;
    int h, mi, se, n = 0;
    if (strlen(s) != 8 || sscanf(s, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3 || n != 8 ||
        s[2] != ':' || s[5] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
        return perr(p, "expected a time \"HH:MM:SS\", got ", s);
    *out = (int64_t)h * 3600 + mi * 60 + se;
    return RC_OK;
}

static int keep_extra(cJSON **extra, const cJSON *it)
{
    if (!*extra && !(*extra = cJSON_CreateObject())) return RC_ENOMEM;
    cJSON *d = cJSON_Duplicate(it, 1);
    if (!d) return RC_ENOMEM;
    cJSON_AddItemToObject(*extra, it->string, d);
    return RC_OK;
}

/* phase_steps: [{"start": "HH:MM:SS", "offset_s": x}, ...], ascending. The
 * entry's own start and end are checked by the caller once both are known. */
static int parse_steps(pctx *p, const cJSON *arr, int64_t day, rc_mentry *en)
{
    if (!cJSON_IsArray(arr)) return perr(p, "expected an array", NULL);
    int n = cJSON_GetArraySize(arr);
    if (n <= 0) return RC_OK;
    en->steps = calloc((size_t)n, sizeof *en->steps);
    if (!en->steps) return rc_err_set(p->e, RC_ENOMEM, "out of memory");
    size_t base = strlen(p->field);
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        snprintf(p->field + base, sizeof p->field - base, "[%d]", i);
        if (!cJSON_IsObject(it)) return perr(p, "expected an object", NULL);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "start");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "offset_s");
        int64_t sec = 0;
        double off = 0;
        size_t b2 = strlen(p->field);
        snprintf(p->field + b2, sizeof p->field - b2, ".start");
        int rc = get_hms(p, st, &sec);
        if (!rc) {
            snprintf(p->field + b2, sizeof p->field - b2, ".offset_s");
            rc = get_num(p, of, &off);
            if (!rc && !(off >= 0 && off < 1e6)) rc = perr(p, "expected 0 <= offset_s", NULL);
        }
        if (rc) return rc;
        p->field[b2] = '\0';
        if (i > 0 && day + sec <= en->steps[i - 1].start)
            return perr(p, "phase steps must be in ascending order of start", NULL);
        en->steps[i].start = day + sec;
        en->steps[i].offset_s = off;
        en->nsteps = ++i;
    }
    p->field[base] = '\0';
    return RC_OK;
}

static int parse_entry(pctx *p, const cJSON *obj, int64_t day, rc_span span, rc_mentry *en)
{
    memset(en, 0, sizeof *en);
    if (!cJSON_IsObject(obj)) return perr(p, "expected an object", NULL);
    size_t base = strlen(p->field);
    int have_start = 0, have_end = 0, have_min = 0, have_max = 0, have_samples = 0;
    int64_t start_s = 0, end_s = 0;
    int rc = RC_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *k = it->string;
        int64_t iv = 0;
        snprintf(p->field + base, sizeof p->field - base, ".%s", k);
        if (!strcmp(k, "start")) {
            rc = get_hms(p, it, &start_s);
            have_start = 1;
        } else if (!strcmp(k, "end")) {
            rc = get_hms(p, it, &end_s);
            have_end = 1;
        } else if (!strcmp(k, "min")) {
            rc = get_int(p, it, INT32_MIN, INT32_MAX, &iv);
            en->min = (int32_t)iv;
            have_min = 1;
        } else if (!strcmp(k, "max")) {
            rc = get_int(p, it, INT32_MIN, INT32_MAX, &iv);
            en->max = (int32_t)iv;
            have_max = 1;
        } else if (!strcmp(k, "samples")) {
            rc = get_int(p, it, 0, 9007199254740992.0, &en->samples);
            have_samples = 1;
        } else if (!strcmp(k, "gap_count")) {
            rc = get_int(p, it, 0, INT32_MAX, &iv);
            en->gap_count = (int)iv;
        } else if (!strcmp(k, "gap_duration_seconds")) {
            rc = get_num(p, it, &en->gap_duration_seconds);
        } else if (!strcmp(k, "gap_samples_filled")) {
            rc = get_int(p, it, 0, 9007199254740992.0, &en->gap_samples_filled);
        } else if (!strcmp(k, "completeness")) {
            rc = get_num(p, it, &en->completeness);
        } else if (!strcmp(k, "provisional")) {
            rc = get_bool(p, it, &en->provisional);
        } else if (!strcmp(k, "bytes")) {
            rc = get_int(p, it, 0, 9007199254740992.0, &en->bytes);
        } else if (!strcmp(k, "sha256")) {
            rc = get_str(p, it, en->sha256, sizeof en->sha256);
        } else if (!strcmp(k, "codec")) { /* absent = int32-zstd, kept as "" */
            rc = get_str(p, it, en->codec, sizeof en->codec);
            if (rc == RC_OK && !strcmp(en->codec, "int32-zstd")) en->codec[0] = '\0';
        } else if (!strcmp(k, "offset_s")) {
            rc = get_num(p, it, &en->offset_s);
        } else if (!strcmp(k, "gap_head")) {
            rc = get_int(p, it, 0, 9007199254740992.0, &en->gap_head);
        } else if (!strcmp(k, "gap_tail")) {
            rc = get_int(p, it, 0, 9007199254740992.0, &en->gap_tail);
        } else if (!strcmp(k, "written_at")) {
            rc = get_str(p, it, en->written_at, sizeof en->written_at);
        } else if (!strcmp(k, "source")) {
            rc = get_str(p, it, en->source, sizeof en->source);
        } else if (!strcmp(k, "revision")) {
            rc = get_int(p, it, 0, INT32_MAX, &iv);
            en->revision = (int)iv;
        } else if (!strcmp(k, "phase_steps")) {
            rc = parse_steps(p, it, day, en);
        } else if (!strcmp(k, "history")) {
            if (!cJSON_IsArray(it))
                rc = perr(p, "expected an array", NULL);
            else if (!(en->history = cJSON_Duplicate(it, 1)))
                rc = rc_err_set(p->e, RC_ENOMEM, "out of memory");
        } else if (keep_extra(&en->extra, it)) {
            rc = rc_err_set(p->e, RC_ENOMEM, "out of memory");
        }
        if (rc) break;
    }
    const char *missing = NULL;
    if (rc == RC_OK) {
        if (!have_start)
            missing = "start";
        else if (!have_min)
            missing = "min";
        else if (!have_max)
            missing = "max";
        else if (!have_samples)
            missing = "samples";
        if (missing) {
            snprintf(p->field + base, sizeof p->field - base, ".%s", missing);
            rc = perr(p, "missing", NULL);
        }
    }
    if (rc) {
        rc_mentry_free(en);
        return rc;
    }
    p->field[base] = '\0';
    en->start = day + start_s;
    if (have_end) {
        /* An end at or before the start is on the next day: "18:00:00" -> "00:00:00". */
        en->end = day + end_s;
        if (en->end <= en->start) en->end += DAY_SECONDS;
    } else {
        en->end = en->start + rc_span_seconds(span);
    }
    if (en->nsteps > 0 &&
        (en->steps[0].start <= en->start || en->steps[en->nsteps - 1].start >= en->end)) {
        snprintf(p->field + base, sizeof p->field - base, ".phase_steps");
        rc = perr(p, "every step must start after the chunk's start and before its end", NULL);
        rc_mentry_free(en);
        return rc;
    }
    return RC_OK;
}

static int parse_list(pctx *p, const cJSON *arr, int64_t day, rc_span span, rc_mlist *l)
{
    if (!cJSON_IsArray(arr)) return perr(p, "expected an array", NULL);
    size_t base = strlen(p->field);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        snprintf(p->field + base, sizeof p->field - base, "[%d]", i++);
        rc_mentry en;
        int rc = parse_entry(p, it, day, span, &en);
        if (rc) return rc;
        if (rc_manifest_mlist_put(l, &en)) { /* duplicated start: the later one wins */
            rc_mentry_free(&en);
            return rc_err_set(p->e, RC_ENOMEM, "out of memory");
        }
    }
    p->field[base] = '\0';
    return RC_OK;
}

static int parse_date(pctx *p, const cJSON *it, int64_t *day)
{
    if (!cJSON_IsString(it)) return perr(p, "expected a date \"YYYY-MM-DD\"", NULL);
    int y, mo, d, n = 0;
    const char *s = it->valuestring;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return perr(p, "expected a date \"YYYY-MM-DD\", got ", s);
    if (rc_time_make(y, mo, d, 0, 0, 0, day, NULL) != RC_OK)
        return perr(p, "not a calendar date: ", s);
    return RC_OK;
}

static cJSON *extra_chunks(cJSON **extra)
{
    if (!*extra && !(*extra = cJSON_CreateObject())) return NULL;
    cJSON *x = cJSON_GetObjectItemCaseSensitive(*extra, "chunks");
    return x ? x : cJSON_AddObjectToObject(*extra, "chunks");
}

static const char *const top_known[] = {
    "date",        "network",         "volcano",     "station",  "location",
    "channel",     "instrument_type", "sample_rate", "latitude", "longitude",
    "elevation_m", "created_at",      "updated_at",  "layout",   "complete_day",
    "chunks",      "source_empty",    NULL};

static int is_top_known(const char *k)
{
    for (int i = 0; top_known[i]; i++)
        if (!strcmp(k, top_known[i])) return 1;
    return 0;
}

int rc_manifest_parse(rc_layout l, const char *json, size_t len, rc_manifest *m, rc_err *e)
{
    memset(m, 0, sizeof *m);
    m->layout = l;
    pctx p = {e, ""};
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return rc_err_set(e, RC_EFORMAT, "manifest is not valid JSON");
    int rc = RC_OK;
    if (!cJSON_IsObject(root)) {
        rc = rc_err_set(e, RC_EFORMAT, "manifest is not a JSON object");
        goto fail;
    }
    char fpath[256] = "";
    if ((rc = check_finite(root, fpath, sizeof fpath, e))) goto fail;
    static const char *const required[] = {"date",    "network",     "station", "location",
                                           "channel", "sample_rate", "chunks",  NULL};
    for (int i = 0; required[i]; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(root, required[i])) {
            rc = rc_err_set(e, RC_EFORMAT, "manifest field \"%s\": missing", required[i]);
            goto fail;
        }
    }
    /* The date first: entry times are relative to it. */
    snprintf(p.field, sizeof p.field, "date");
    rc = parse_date(&p, cJSON_GetObjectItemCaseSensitive(root, "date"), &m->day);
    if (rc) goto fail;

    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(root, "latitude");
    const cJSON *lon = cJSON_GetObjectItemCaseSensitive(root, "longitude");
    const cJSON *elv = cJSON_GetObjectItemCaseSensitive(root, "elevation_m");
    /* Coordinates count only as a complete set of numbers; anything else
     * (nulls, a lone latitude) is kept verbatim as an unknown field. */
    m->has_coords = cJSON_IsNumber(lat) && cJSON_IsNumber(lon) && cJSON_IsNumber(elv);

    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        const char *k = it->string;
        snprintf(p.field, sizeof p.field, "%s", k);
        if (!strcmp(k, "date")) {
            continue;
        } else if (!strcmp(k, "network")) {
            rc = get_str(&p, it, m->chan.net, sizeof m->chan.net);
        } else if (!strcmp(k, "station")) {
            rc = get_str(&p, it, m->chan.sta, sizeof m->chan.sta);
        } else if (!strcmp(k, "location")) {
            rc = get_str(&p, it, m->chan.loc, sizeof m->chan.loc);
            if (!rc && !strcmp(m->chan.loc, "--")) m->chan.loc[0] = '\0';
        } else if (!strcmp(k, "channel")) {
            rc = get_str(&p, it, m->chan.cha, sizeof m->chan.cha);
        } else if (!strcmp(k, "volcano")) {
            rc = get_str(&p, it, m->volcano, sizeof m->volcano);
        } else if (cJSON_IsNull(it) && (!strcmp(k, "instrument_type") || !strcmp(k, "latitude") ||
                                        !strcmp(k, "longitude") || !strcmp(k, "elevation_m"))) {
            continue; /* "unknown", as the seed layout writes it: absent */
        } else if (!strcmp(k, "instrument_type")) {
            rc = get_str(&p, it, m->instrument_type, sizeof m->instrument_type);
        } else if (!strcmp(k, "sample_rate")) {
            rc = get_num(&p, it, &m->sample_rate);
            if (!rc && !(m->sample_rate > 0)) rc = perr(&p, "must be greater than 0", NULL);
        } else if (m->has_coords && !strcmp(k, "latitude")) {
            m->latitude = it->valuedouble;
        } else if (m->has_coords && !strcmp(k, "longitude")) {
            m->longitude = it->valuedouble;
        } else if (m->has_coords && !strcmp(k, "elevation_m")) {
            m->elevation_m = it->valuedouble;
        } else if (!strcmp(k, "created_at")) {
            rc = get_str(&p, it, m->created_at, sizeof m->created_at);
        } else if (!strcmp(k, "updated_at")) {
            rc = get_str(&p, it, m->updated_at, sizeof m->updated_at);
        } else if (!strcmp(k, "layout")) {
            if (!cJSON_IsString(it) || strcmp(it->valuestring, rc_layout_name(l)) != 0)
                rc = rc_err_set(e, RC_EFORMAT,
                                "manifest field \"layout\": this manifest is not of the %s layout "
                                "the store is configured for",
                                rc_layout_name(l));
        } else if (!strcmp(k, "complete_day")) {
            rc = get_bool(&p, it, &m->complete_day);
        } else if (!strcmp(k, "source_empty")) {
            rc = rc_manifest_empty_parse(it, m->day, m, e);
        } else if (!strcmp(k, "chunks")) {
            if (!cJSON_IsObject(it)) {
                rc = perr(&p, "expected an object", NULL);
                break;
            }
            const cJSON *ch;
            cJSON_ArrayForEach(ch, it)
            {
                int s;
                for (s = 0; s < RC_SPAN_COUNT; s++)
                    if (!strcmp(ch->string, rc_span_manifest_key(l, (rc_span)s))) break;
                if (s == RC_SPAN_COUNT) {
                    /* Unknown list: kept under extra.chunks, written back in "chunks". */
                    cJSON *x = extra_chunks(&m->extra);
                    if (!x || keep_extra(&x, ch)) {
                        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
                        break;
                    }
                    continue;
                }
                snprintf(p.field, sizeof p.field, "chunks.%s", ch->string);
                rc = parse_list(&p, ch, m->day, (rc_span)s, &m->chunks[s]);
                if (rc) break;
            }
        } else if (keep_extra(&m->extra, it)) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        }
        if (rc) break;
    }
    if (rc) goto fail;
    rc_err tmp;
    if (rc_chan_validate(&m->chan, &tmp) != RC_OK) {
        rc = rc_err_set(e, RC_EFORMAT, "manifest fields network/station/location/channel: %s",
                        tmp.msg);
        goto fail;
    }
    cJSON_Delete(root);
    return RC_OK;
fail:
    cJSON_Delete(root);
    rc_manifest_free(m);
    return rc;
}

/* ---- serialization ----------------------------------------------------- */

/* Shortest text that reads back as the same double; integers without ".0". */
void rc_manifest_fmt_num(double v, char *out, size_t n)
{
    if (!isfinite(v)) {
        snprintf(out, n, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, n, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int put_str(rc_buf *b, const char *s)
{
    int rc = rc_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        switch (*p) {
        case '"':
            rc = rc_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = rc_buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = rc_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = rc_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = rc_buf_puts(b, "\\t");
            break;
        case '\b':
            rc = rc_buf_puts(b, "\\b");
            break;
        case '\f':
            rc = rc_buf_puts(b, "\\f");
            break;
        default:
            if (*p < 0x20)
                rc = rc_buf_printf(b, "\\u%04x", *p);
            else
                rc = rc_buf_append(b, p, 1);
        }
    }
    return rc ? rc : rc_buf_puts(b, "\"");
}

static int indent(rc_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        if (rc_buf_puts(b, "  ")) return RC_ENOMEM;
    return RC_OK;
}

static int jprint(rc_buf *b, const cJSON *it, int depth)
{
    char num[64];
    if (cJSON_IsNull(it)) return rc_buf_puts(b, "null");
    if (cJSON_IsFalse(it)) return rc_buf_puts(b, "false");
    if (cJSON_IsTrue(it)) return rc_buf_puts(b, "true");
    if (cJSON_IsNumber(it)) {
        rc_manifest_fmt_num(it->valuedouble, num, sizeof num);
        return rc_buf_puts(b, num);
    }
    if (cJSON_IsString(it)) return put_str(b, it->valuestring);
    if (cJSON_IsRaw(it)) return rc_buf_puts(b, it->valuestring);
    int obj = cJSON_IsObject(it);
    if (!obj && !cJSON_IsArray(it)) return rc_buf_puts(b, "null");
    if (!it->child) return rc_buf_puts(b, obj ? "{}" : "[]");
    int rc = rc_buf_puts(b, obj ? "{\n" : "[\n");
    for (const cJSON *c = it->child; !rc && c; c = c->next) {
        rc = indent(b, depth + 1);
        if (!rc && obj) {
            rc = put_str(b, c->string ? c->string : "");
            if (!rc) rc = rc_buf_puts(b, ": ");
        }
        if (!rc) rc = jprint(b, c, depth + 1);
        if (!rc) rc = rc_buf_puts(b, c->next ? ",\n" : "\n");
    }
    if (!rc) rc = indent(b, depth);
    return rc ? rc : rc_buf_puts(b, obj ? "}" : "]");
}

static int add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) ? RC_OK : RC_ENOMEM;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) ? RC_OK : RC_ENOMEM;
}

/* Append the unknown fields of extra that are not already in o. */
static int add_extra(cJSON *o, const cJSON *extra, const char *skip)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, extra)
    {
        if (!it->string || cJSON_GetObjectItemCaseSensitive(o, it->string) ||
            (skip && !strcmp(it->string, skip)))
            continue;
        cJSON *d = cJSON_Duplicate(it, 1);
        if (!d) return RC_ENOMEM;
        cJSON_AddItemToObject(o, it->string, d);
    }
    return RC_OK;
}

/* Entry as JSON; history is left out when with_history is 0 (history
 * snapshots do not nest). */
int rc_manifest_entry_json(const rc_mentry *en, int64_t day, int with_history, cJSON **out,
                           rc_err *e)
{
    char hms[RC_TIME_STR_MAX], iso[RC_TIME_STR_MAX];
    if (en->start < day || en->start >= day + DAY_SECONDS || en->end <= en->start ||
        en->end > day + DAY_SECONDS) {
        rc_time_iso(en->start, iso);
        return rc_err_set(e, RC_EINVAL,
                          "manifest entry starting %s does not fit its day (a manifest holds "
                          "chunks that start on its date and end by the next midnight)",
                          iso);
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return rc_err_set(e, RC_ENOMEM, "out of memory");
    int rc = RC_OK;
    rc_time_hms(en->start, hms);
    rc |= add_str(o, "start", hms);
    rc_time_hms(en->end, hms);
    rc |= add_str(o, "end", hms);
    rc |= add_num(o, "min", en->min);
    rc |= add_num(o, "max", en->max);
    rc |= add_num(o, "samples", (double)en->samples);
    rc |= add_num(o, "gap_count", en->gap_count);
    rc |= add_num(o, "gap_duration_seconds", en->gap_duration_seconds);
    rc |= add_num(o, "gap_samples_filled", (double)en->gap_samples_filled);
    if (en->bytes > 0) rc |= add_num(o, "bytes", (double)en->bytes);
    if (en->sha256[0]) rc |= add_str(o, "sha256", en->sha256);
    if (en->codec[0]) rc |= add_str(o, "codec", en->codec);
    if (en->completeness != 0) rc |= add_num(o, "completeness", en->completeness);
    if (en->provisional) rc |= cJSON_AddTrueToObject(o, "provisional") ? RC_OK : RC_ENOMEM;
    if (en->offset_s != 0) rc |= add_num(o, "offset_s", en->offset_s);
    if (en->nsteps > 0) {
        cJSON *arr = cJSON_AddArrayToObject(o, "phase_steps");
        rc |= arr ? RC_OK : RC_ENOMEM;
        for (int i = 0; arr && i < en->nsteps; i++) {
            cJSON *st = cJSON_CreateObject();
            if (!st) {
                rc |= RC_ENOMEM;
                break;
            }
            cJSON_AddItemToArray(arr, st);
            rc_time_hms(en->steps[i].start, hms);
            rc |= add_str(st, "start", hms);
            rc |= add_num(st, "offset_s", en->steps[i].offset_s);
        }
    }
    if (en->gap_head > 0) rc |= add_num(o, "gap_head", (double)en->gap_head);
    if (en->gap_tail > 0) rc |= add_num(o, "gap_tail", (double)en->gap_tail);
    if (en->written_at[0]) rc |= add_str(o, "written_at", en->written_at);
    if (en->revision > 0) rc |= add_num(o, "revision", en->revision);
    if (en->source[0]) rc |= add_str(o, "source", en->source);
    if (with_history && en->history && cJSON_GetArraySize(en->history) > 0) {
        cJSON *h = cJSON_Duplicate(en->history, 1);
        if (h)
            cJSON_AddItemToObject(o, "history", h);
        else
            rc |= RC_ENOMEM;
    }
    if (!rc) rc = add_extra(o, en->extra, with_history ? NULL : "history");
    if (rc) {
        cJSON_Delete(o);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    *out = o;
    return RC_OK;
}

static int add_null_unless_extra(cJSON *o, const cJSON *extra, const char *name)
{
    const cJSON *kept = extra ? cJSON_GetObjectItemCaseSensitive(extra, name) : NULL;
    if (kept) { /* the stored value goes back as it came, in its place */
        cJSON *d = cJSON_Duplicate(kept, 1);
        if (!d) return RC_ENOMEM;
        cJSON_AddItemToObject(o, name, d);
        return RC_OK;
    }
    return cJSON_AddNullToObject(o, name) ? RC_OK : RC_ENOMEM;
}

static cJSON *manifest_json(const rc_manifest *m, rc_err *e)
{
    char tmp[RC_TIME_STR_MAX];
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        rc_err_set(e, RC_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = RC_OK;
    rc_time_date(m->day, tmp);
    rc |= add_str(o, "date", tmp);
    rc |= add_str(o, "network", m->chan.net);
    rc |= add_str(o, "volcano", m->volcano);
    rc |= add_str(o, "station", m->chan.sta);
    rc |= add_str(o, "location", m->chan.loc);
    rc |= add_str(o, "channel", m->chan.cha);
    /* The seed layout's binding fields are always present, null when the
     * configuration does not know them, so readers can index them blindly. */
    int seed = m->layout == RC_LAYOUT_SEED;
    if (m->instrument_type[0])
        rc |= add_str(o, "instrument_type", m->instrument_type);
    else if (seed)
        rc |= add_null_unless_extra(o, m->extra, "instrument_type");
    rc |= add_num(o, "sample_rate", m->sample_rate);
    if (m->has_coords) {
        rc |= add_num(o, "latitude", m->latitude);
        rc |= add_num(o, "longitude", m->longitude);
        rc |= add_num(o, "elevation_m", m->elevation_m);
    } else if (seed) {
        rc |= add_null_unless_extra(o, m->extra, "latitude");
        rc |= add_null_unless_extra(o, m->extra, "longitude");
        rc |= add_null_unless_extra(o, m->extra, "elevation_m");
    }
    rc |= add_str(o, "created_at", m->created_at);
    if (m->updated_at[0]) rc |= add_str(o, "updated_at", m->updated_at);
    rc |= add_str(o, "layout", rc_layout_name(m->layout));
    rc |= cJSON_AddBoolToObject(o, "complete_day", m->complete_day) ? RC_OK : RC_ENOMEM;
    cJSON *chunks = cJSON_AddObjectToObject(o, "chunks");
    if (rc || !chunks) goto oom;
    if (m->nempty) {
        cJSON *se = rc_manifest_empty_json(m);
        if (!se) goto oom;
        cJSON_AddItemToObject(o, "source_empty", se);
    }
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        const rc_mlist *l = &m->chunks[s];
        /* The lists each layout's readers index unconditionally are always
         * written; the others only when they hold something. */
        int always = m->layout == RC_LAYOUT_VIEWER ? s != RC_SPAN_24H
                                                   : (s == RC_SPAN_10M || s == RC_SPAN_6H);
        if (!l->n && !always) continue;
        cJSON *arr = cJSON_AddArrayToObject(chunks, rc_span_manifest_key(m->layout, (rc_span)s));
        if (!arr) goto oom;
        for (size_t i = 0; i < l->n; i++) {
            cJSON *en;
            if (rc_manifest_entry_json(&l->v[i], m->day, 1, &en, e)) {
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToArray(arr, en);
        }
    }
    if (m->extra) {
        const cJSON *xc = cJSON_GetObjectItemCaseSensitive(m->extra, "chunks");
        if (cJSON_IsObject(xc) && add_extra(chunks, xc, NULL)) goto oom;
        const cJSON *it;
        cJSON_ArrayForEach(it, m->extra)
        {
            if (!it->string || is_top_known(it->string) ||
                cJSON_GetObjectItemCaseSensitive(o, it->string))
                continue;
            cJSON *d = cJSON_Duplicate(it, 1);
            if (!d) goto oom;
            cJSON_AddItemToObject(o, it->string, d);
        }
        /* Unknown values of known names (a null latitude) go back as they came. */
        cJSON_ArrayForEach(it, m->extra)
        {
            if (!it->string || !strcmp(it->string, "chunks") || !is_top_known(it->string) ||
                cJSON_GetObjectItemCaseSensitive(o, it->string))
                continue;
            cJSON *d = cJSON_Duplicate(it, 1);
            if (!d) goto oom;
            cJSON_AddItemToObject(o, it->string, d);
        }
    }
    return o;
oom:
    cJSON_Delete(o);
    rc_err_set(e, RC_ENOMEM, "out of memory");
    return NULL;
}

int rc_manifest_serialize(const rc_manifest *m, rc_buf *out, rc_err *e)
{
    char cs[RC_CHAN_STR_MAX], d[RC_TIME_STR_MAX];
    cJSON *o = manifest_json(m, e);
    if (!o) {
        rc_chan_format(&m->chan, cs);
        rc_time_date(m->day, d);
        return rc_err_wrap(e, "manifest %s %s", cs, d);
    }
    int rc = jprint(out, o, 0);
    if (!rc) rc = rc_buf_puts(out, "\n");
    cJSON_Delete(o);
    return rc ? rc_err_set(e, RC_ENOMEM, "out of memory serializing a manifest") : RC_OK;
}
