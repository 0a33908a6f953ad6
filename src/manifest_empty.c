/*
 * manifest_empty.c: the manifest's record of windows the source was asked
 * for and had no sample in ("source_empty", see manifest.h and
 * docs/formats.md), and the recheck rule that decides when such a window
 * is asked again.
 *
 * The list is a set of disjoint, sorted ranges; a change is made on the
 * elementary segments between every range boundary and the changed span,
 * then neighbours with equal history are joined again. A day holds at most
 * 144 base windows, so the quadratic work is a few thousand steps at most.
 */
#include "r2cache/manifest.h"
#include "r2cache/timewin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const rc_srcempty *rc_manifest_empty_at(const rc_manifest *m, int64_t t)
{
    for (size_t i = 0; i < m->nempty; i++)
        if (m->empty[i].start <= t && t < m->empty[i].end) return &m->empty[i];
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int same_history(const rc_srcempty *a, const rc_srcempty *b)
{
    return a->first_checked == b->first_checked && a->last_checked == b->last_checked &&
           a->checks == b->checks;
}

static int same_list(const rc_srcempty *a, size_t na, const rc_srcempty *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].end != b[i].end || !same_history(&a[i], &b[i]))
            return 0;
    return 1;
}

/* Rebuild m's list with [start, end) marked (mark = 1: checked at t) or
 * cleared (mark = 0). 1 changed, 0 not, -1 out of memory. */
static int apply(rc_manifest *m, int64_t start, int64_t end, int mark, int64_t t)
{
    if (end <= start) return 0;
    size_t nb = 2 * m->nempty + 2;
    int64_t *b = malloc(nb * sizeof *b);
    rc_srcempty *out = malloc((nb ? nb : 1) * sizeof *out);
    if (!b || !out) {
        free(b);
        free(out);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->nempty; i++) {
        b[k++] = m->empty[i].start;
        b[k++] = m->empty[i].end;
    }
    b[k++] = start;
    b[k++] = end;
    qsort(b, k, sizeof *b, cmp_i64);
    size_t n = 0;
    for (size_t i = 0; i + 1 < k; i++) {
        int64_t s = b[i], e = b[i + 1];
        if (s == e) continue;
        const rc_srcempty *old = rc_manifest_empty_at(m, s);
        int inside = s >= start && e <= end;
        rc_srcempty seg;
        if (inside && !mark) continue;
        if (inside) {
            seg = (rc_srcempty){s, e, t, t, 1};
            if (old) {
                seg.first_checked = old->first_checked;
                seg.checks = old->checks + 1;
                seg.last_checked = t > old->last_checked ? t : old->last_checked;
                if (t == old->last_checked) seg.checks = old->checks; /* the same check again */
            }
        } else if (old) {
            seg = *old;
            seg.start = s;
            seg.end = e;
        } else {
            continue;
        }
        if (n && out[n - 1].end == seg.start && same_history(&out[n - 1], &seg))
            out[n - 1].end = seg.end;
        else
            out[n++] = seg;
    }
    free(b);
    int changed = !same_list(out, n, m->empty, m->nempty);
    free(m->empty);
    m->empty = n ? out : NULL;
    if (!n) free(out);
    m->nempty = n;
    return changed;
}

int rc_manifest_mark_empty(rc_manifest *m, int64_t start, int64_t end, int64_t checked_at)
{
    return apply(m, start, end, 1, checked_at);
}

int rc_manifest_clear_empty(rc_manifest *m, int64_t start, int64_t end)
{
    return apply(m, start, end, 0, 0);
}

int64_t rc_recheck_next(const int64_t *ages, int nages, int64_t end, int64_t last_checked)
{
    for (int i = 0; i < nages; i++)
        if (ages[i] > last_checked - end) return end + ages[i];
    return INT64_MAX;
}

cJSON *rc_manifest_empty_json(const rc_manifest *m)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < m->nempty; i++) {
        const rc_srcempty *r = &m->empty[i];
        char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX], f[RC_TIME_STR_MAX], l[RC_TIME_STR_MAX];
        rc_time_iso(r->start, a);
        rc_time_iso(r->end, b);
        rc_time_iso(r->first_checked, f);
        rc_time_iso(r->last_checked, l);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "start", a) ||
            !cJSON_AddStringToObject(o, "end", b) ||
            !cJSON_AddStringToObject(o, "first_checked", f) ||
            !cJSON_AddStringToObject(o, "last_checked", l) ||
            !cJSON_AddNumberToObject(o, "checks", r->checks)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static int field_time(const cJSON *o, const char *name, size_t i, int64_t *out, rc_err *e)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    rc_err e2;
    if (!cJSON_IsString(it) || rc_time_parse(it->valuestring, 0, out, &e2) != RC_OK)
        return rc_err_set(e, RC_EFORMAT,
                          "manifest field \"source_empty[%zu].%s\": expected a UTC time such as "
                          "\"2025-11-04T06:00:00Z\"",
                          i, name);
    return RC_OK;
}

int rc_manifest_empty_parse(const cJSON *arr, int64_t day, rc_manifest *m, rc_err *e)
{
    if (!cJSON_IsArray(arr))
        return rc_err_set(e, RC_EFORMAT, "manifest field \"source_empty\": expected an array");
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        if (!cJSON_IsObject(o))
            return rc_err_set(e, RC_EFORMAT,
                              "manifest field \"source_empty[%zu]\": expected an object", i);
        rc_srcempty r = {0};
        int rc;
        if ((rc = field_time(o, "start", i, &r.start, e)) ||
            (rc = field_time(o, "end", i, &r.end, e)) ||
            (rc = field_time(o, "first_checked", i, &r.first_checked, e)) ||
            (rc = field_time(o, "last_checked", i, &r.last_checked, e)))
            return rc;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "checks");
        if (!cJSON_IsNumber(c) || c->valuedouble < 1 || c->valuedouble > 1e9 ||
            c->valuedouble != (double)(int)c->valuedouble)
            return rc_err_set(e, RC_EFORMAT,
                              "manifest field \"source_empty[%zu].checks\": expected a whole "
                              "number of at least 1",
                              i);
        r.checks = (int)c->valuedouble;
        if (r.end <= r.start || r.start < day || r.end > day + 86400 ||
            r.last_checked < r.first_checked)
            return rc_err_set(e, RC_EFORMAT,
                              "manifest field \"source_empty[%zu]\": the range must lie within "
                              "the day, end after start, last_checked not before first_checked",
                              i);
        /* merge through the same path as a check, keeping this history */
        if (apply(m, r.start, r.end, 0, 0) < 0) return rc_err_set(e, RC_ENOMEM, "out of memory");
        rc_srcempty *nv = realloc(m->empty, (m->nempty + 1) * sizeof *nv);
        if (!nv) return rc_err_set(e, RC_ENOMEM, "out of memory");
        m->empty = nv;
        size_t at = 0;
        while (at < m->nempty && m->empty[at].start < r.start)
            at++;
        memmove(&m->empty[at + 1], &m->empty[at], (m->nempty - at) * sizeof *m->empty);
        m->empty[at] = r;
        m->nempty++;
        i++;
    }
    return RC_OK;
}
