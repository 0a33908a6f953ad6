/*
 * select.c: which configured channels a command works on (config.h,
 * "What a command works on"): the selection rule of the configuration
 * (data types, active, max_distance_km, the closest max_stations_per_volcano
 * per volcano), then the scope: --station (exact channels, which override
 * the rule, or wildcard patterns, which choose among the channels the rule
 * keeps), --volcano, --region and --shard I/N.
 *
 * A pattern is NET.STA.LOC.CHA with `*` (any run of characters, none
 * included) and `?` (one character) in any component, as FDSN web services
 * and ObsPy take them; an empty location matches only the empty code, and
 * "--" is the empty location as FDSN users write it. Matching is per
 * component (fdsnq.c's matcher), so `*` never crosses a dot.
 */
#include "r2cache/config.h"
#include "r2cache/fdsnq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rc_shard_of(const rc_chan *c, int count)
{
    if (count <= 1) return 0;
    char id[RC_CHAN_STR_MAX];
    rc_chan_format(c, id);
    uint32_t h = 2166136261u;
    for (const char *s = id; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return (int)(h % (uint32_t)count);
}

/* --- patterns ------------------------------------------------------------ */

int rc_select_is_pattern(const char *s)
{
    return strpbrk(s, "*?") != NULL;
}

int rc_select_pattern_parse(const char *s, rc_select_pattern *p, rc_err *e)
{
    static const char *const names[4] = {"network", "station", "location", "channel"};
    memset(p, 0, sizeof *p);
    const char *c = s;
    for (int k = 0; k < 4; k++) {
        const char *dot = strchr(c, '.');
        size_t n = dot ? (size_t)(dot - c) : strlen(c);
        if ((k < 3 && !dot) || (k == 3 && dot))
            return rc_err_set(e, RC_EINVAL,
                              "--station %s is not NET.STA.LOC.CHA (exactly three dots; `*` and "
                              "`?` match within one code, NET.STA..CHA for an empty location)",
                              s);
        if (n >= sizeof p->part[k])
            return rc_err_set(e, RC_EINVAL, "--station %s: the %s pattern is too long", s,
                              names[k]);
        for (size_t i = 0; i < n; i++) {
            char ch = c[i];
            if (ch >= 'a' && ch <= 'z')
                return rc_err_set(e, RC_EINVAL,
                                  "--station %s: %s has lower-case letters; FDSN codes are upper "
                                  "case, write it in capitals",
                                  s, names[k]);
            int dash = k == 2 && n == 2 && ch == '-';
            if (!dash &&
                !(ch == '*' || ch == '?' || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z')))
                return rc_err_set(e, RC_EINVAL,
                                  "--station %s: the %s pattern has '%c'; use A-Z, 0-9, `*` "
                                  "and `?` (and -- for an empty location)",
                                  s, names[k], ch);
        }
        if (n == 0 && k != 2)
            return rc_err_set(e, RC_EINVAL, "--station %s: the %s code is empty (use `*`)", s,
                              names[k]);
        memcpy(p->part[k], c, n);
        p->part[k][n] = '\0';
        c = dot ? dot + 1 : c + n;
    }
    /* "--" and "" are both the empty location: rc_fdsnq_match takes "--" */
    if (!p->part[2][0]) snprintf(p->part[2], sizeof p->part[2], "--");
    return RC_OK;
}

int rc_select_pattern_match(const rc_select_pattern *p, const rc_chan *c)
{
    return rc_fdsnq_match(p->part[0], c->net) && rc_fdsnq_match(p->part[1], c->sta) &&
           rc_fdsnq_match(p->part[2], c->loc) && rc_fdsnq_match(p->part[3], c->cha);
}

/* --- the rule -------------------------------------------------------------- */

static int passes_rule(const rc_config *c, const rc_station *s)
{
    if (!(c->data_types & (unsigned)s->type)) return 0;
    if (!s->active && !c->include_inactive) return 0;
    if (c->max_distance_km >= 0 && s->distance_km >= 0 && s->distance_km > c->max_distance_km)
        return 0;
    return 1;
}

typedef struct cand {
    size_t vi, si;
    double dist;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    double dx = x->dist < 0 ? 1e30 : x->dist, dy = y->dist < 0 ? 1e30 : y->dist;
    if (dx < dy) return -1;
    if (dx > dy) return 1;
    return (x->si > y->si) - (x->si < y->si); /* stable: config order */
}

const rc_target *rc_target_find(const rc_target *t, size_t n, const rc_chan *c, const char *volc)
{
    for (size_t i = 0; i < n; i++)
        if (rc_chan_equal(&t[i].st->chan, c) && strcmp(t[i].volc->name, volc) == 0) return &t[i];
    return NULL;
}

/* --- the scope ------------------------------------------------------------- */

static int check_names(const rc_config *c, const rc_scope *scope, rc_err *e)
{
    const char *path = c->path ? c->path : "";
    if (scope->volcano) {
        int found = 0;
        for (size_t i = 0; i < c->nvolcanoes; i++)
            found |= strcmp(c->volcanoes[i].name, scope->volcano) == 0;
        if (!found)
            return rc_err_set(e, RC_EINVAL, "volcano \"%s\" is not in the configuration %s",
                              scope->volcano, path);
    }
    if (scope->region) {
        int found = 0;
        for (size_t i = 0; i < c->nvolcanoes; i++)
            found |= strcmp(c->volcanoes[i].location, scope->region) == 0;
        if (!found)
            return rc_err_set(e, RC_EINVAL, "region \"%s\" is not in the configuration %s",
                              scope->region, path);
    }
    return RC_OK;
}

/* One --station value: exact channels replace the rule's choice (ruled[]
 * says what the rule chose), patterns pick among the rule's channels. */
static int select_station(const rc_config *c, const char *s, const unsigned char *ruled,
                          unsigned char *chosen, rc_err *e)
{
    const char *path = c->path ? c->path : "";
    int found = 0;
    size_t base = 0;
    if (!rc_select_is_pattern(s)) {
        rc_chan want;
        if (rc_chan_parse(s, &want, e) != RC_OK) return rc_err_wrap(e, "--station %s", s);
        for (size_t vi = 0; vi < c->nvolcanoes; vi++) {
            for (size_t si = 0; si < c->volcanoes[vi].nstations; si++)
                if (rc_chan_equal(&c->volcanoes[vi].stations[si].chan, &want)) {
                    chosen[base + si] = 1;
                    found = 1;
                }
            base += c->volcanoes[vi].nstations;
        }
        if (!found)
            return rc_err_set(e, RC_EINVAL,
                              "station %s is not in the configuration %s (use NET.STA.LOC.CHA, "
                              "NET.STA..CHA for an empty location)",
                              s, path);
        return RC_OK;
    }
    rc_select_pattern p;
    if (rc_select_pattern_parse(s, &p, e) != RC_OK) return RC_EINVAL;
    size_t left_out = 0;
    for (size_t vi = 0; vi < c->nvolcanoes; vi++) {
        for (size_t si = 0; si < c->volcanoes[vi].nstations; si++) {
            if (!rc_select_pattern_match(&p, &c->volcanoes[vi].stations[si].chan)) continue;
            if (ruled[base + si]) {
                chosen[base + si] = 1;
                found = 1;
            } else {
                left_out++;
            }
        }
        base += c->volcanoes[vi].nstations;
    }
    if (found) return RC_OK;
    if (left_out)
        return rc_err_set(e, RC_EINVAL,
                          "--station %s matches %zu configured channel%s of %s, but the selection "
                          "rule leaves %s out (inactive, data_types, max_distance_km or "
                          "max_stations_per_volcano); name a channel exactly, or give "
                          "--include-inactive",
                          s, left_out, left_out == 1 ? "" : "s", path,
                          left_out == 1 ? "it" : "them all");
    return rc_err_set(e, RC_EINVAL,
                      "--station %s matches no channel of the configuration %s (`*` and `?` "
                      "match within one code; NET.STA..CHA for an empty location)",
                      s, path);
}

int rc_config_select(const rc_config *c, const rc_scope *scope, rc_target **out, size_t *n,
                     rc_err *e)
{
    *out = NULL;
    *n = 0;
    size_t total = 0;
    for (size_t i = 0; i < c->nvolcanoes; i++)
        total += c->volcanoes[i].nstations;
    rc_target *res = calloc(total ? total : 1, sizeof *res);
    unsigned char *chosen = calloc(total ? total : 1, 1);
    unsigned char *ruled = calloc(total ? total : 1, 1);
    cand *cs = calloc(total ? total : 1, sizeof *cs);
    int rc = RC_OK;
    if (!res || !chosen || !ruled || !cs) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        goto done;
    }
    if (scope && (rc = check_names(c, scope, e)) != RC_OK) goto done;
    /* Rule first (per volcano, closest N), flattened with a global index. */
    size_t base = 0;
    for (size_t vi = 0; vi < c->nvolcanoes; vi++) {
        const rc_volcano *v = &c->volcanoes[vi];
        size_t nc = 0;
        for (size_t si = 0; si < v->nstations; si++)
            if (passes_rule(c, &v->stations[si]))
                cs[nc++] = (cand){vi, si, v->stations[si].distance_km};
        qsort(cs, nc, sizeof *cs, cand_cmp);
        size_t keep = nc;
        if (c->max_stations_per_volcano > 0 && keep > (size_t)c->max_stations_per_volcano)
            keep = (size_t)c->max_stations_per_volcano;
        for (size_t k = 0; k < keep; k++)
            ruled[base + cs[k].si] = 1;
        base += v->nstations;
    }
    if (scope && scope->nstations) {
        for (size_t k = 0; k < scope->nstations; k++)
            if ((rc = select_station(c, scope->stations[k], ruled, chosen, e)) != RC_OK) goto done;
    } else {
        memcpy(chosen, ruled, total);
    }
    base = 0;
    for (size_t vi = 0; vi < c->nvolcanoes; vi++) {
        const rc_volcano *v = &c->volcanoes[vi];
        for (size_t si = 0; si < v->nstations; si++) {
            if (!chosen[base + si]) continue;
            if (scope && scope->volcano && strcmp(v->name, scope->volcano) != 0) continue;
            if (scope && scope->region && strcmp(v->location, scope->region) != 0) continue;
            if (scope && scope->shard_count > 1 &&
                rc_shard_of(&v->stations[si].chan, scope->shard_count) != scope->shard_index)
                continue;
            res[(*n)++] = (rc_target){&v->stations[si], v};
        }
        base += v->nstations;
    }
done:
    free(chosen);
    free(ruled);
    free(cs);
    if (rc != RC_OK) {
        free(res);
        *n = 0;
        return rc;
    }
    *out = res;
    return RC_OK;
}
