/*
 * fdsnq.c: FDSN dataselect / availability request parsing (see fdsnq.h).
 * No I/O; every input byte is checked, so the fuzz target can feed it
 * anything.
 */
#include "r2cache/fdsnq.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/timewin.h"

enum {
    P_NET = 1 << 0,
    P_STA = 1 << 1,
    P_LOC = 1 << 2,
    P_CHA = 1 << 3,
    P_START = 1 << 4,
    P_END = 1 << 5,
    P_NODATA = 1 << 6,
    P_FORMAT = 1 << 7,
    P_QUALITY = 1 << 8,
    P_MINLEN = 1 << 9,
    P_LONGEST = 1 << 10,
    P_MERGE = 1 << 11,
    P_MERGEGAPS = 1 << 12,
    P_SHOW = 1 << 13,
    P_LIMIT = 1 << 14,
    P_ORDERBY = 1 << 15,
    P_RESTRICTED = 1 << 16
};

typedef struct pname {
    const char *name;
    unsigned bit;
    const char *canon;
} pname;

static const pname names[] = {{"net", P_NET, "network"},
                              {"network", P_NET, "network"},
                              {"sta", P_STA, "station"},
                              {"station", P_STA, "station"},
                              {"loc", P_LOC, "location"},
                              {"location", P_LOC, "location"},
                              {"cha", P_CHA, "channel"},
                              {"channel", P_CHA, "channel"},
                              {"start", P_START, "starttime"},
                              {"starttime", P_START, "starttime"},
                              {"end", P_END, "endtime"},
                              {"endtime", P_END, "endtime"},
                              {"nodata", P_NODATA, "nodata"},
                              {"format", P_FORMAT, "format"},
                              {"quality", P_QUALITY, "quality"},
                              {"minimumlength", P_MINLEN, "minimumlength"},
                              {"longestonly", P_LONGEST, "longestonly"},
                              {"merge", P_MERGE, "merge"},
                              {"mergegaps", P_MERGEGAPS, "mergegaps"},
                              {"show", P_SHOW, "show"},
                              {"limit", P_LIMIT, "limit"},
                              {"orderby", P_ORDERBY, "orderby"},
                              {"includerestricted", P_RESTRICTED, "includerestricted"},
                              {NULL, 0, NULL}};

static const unsigned P_CODES = P_NET | P_STA | P_LOC | P_CHA;
static const unsigned P_TIMES = P_START | P_END;

static unsigned allowed(rc_fdsnq_service s)
{
    unsigned common = P_CODES | P_TIMES | P_NODATA | P_FORMAT | P_QUALITY;
    if (s == RC_FDSNQ_DATASELECT) return common | P_MINLEN | P_LONGEST;
    unsigned av = common | P_MERGE | P_LIMIT | P_ORDERBY | P_RESTRICTED;
    if (s == RC_FDSNQ_AVAIL_QUERY) av |= P_MERGEGAPS | P_SHOW;
    return av;
}

static const char *service_name(rc_fdsnq_service s)
{
    return s == RC_FDSNQ_DATASELECT    ? "dataselect"
           : s == RC_FDSNQ_AVAIL_QUERY ? "availability query"
                                       : "availability extent";
}

/* --- times -------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int rc_fdsnq_time_parse(const char *s, int64_t *us, rc_err *e)
{
    static const char want[] = "use YYYY-MM-DDTHH:MM:SS[.ffffff][Z] or YYYY-MM-DD (UTC)";
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t len = strlen(s);
    if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return rc_err_set(e, RC_EINVAL, "'%.40s' is not a time: %s", s, want);
    const char *p = s + 10;
    int64_t frac = 0;
    if (*p == 'T') {
        if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) ||
            p[6] != ':' || digits(p + 7, 2, &sec))
            return rc_err_set(e, RC_EINVAL, "'%.40s' is not a time: %s", s, want);
        p += 9;
        if (*p == '.') {
            p++;
            int nd = 0;
            while (isdigit((unsigned char)*p)) {
                if (++nd > 6)
                    return rc_err_set(e, RC_EINVAL,
                                      "'%.40s': at most 6 fractional digits (microseconds)", s);
                frac = frac * 10 + (*p - '0');
                p++;
            }
            if (nd == 0) return rc_err_set(e, RC_EINVAL, "'%.40s' is not a time: %s", s, want);
            for (; nd < 6; nd++)
                frac *= 10;
        }
        if (*p == 'Z') p++;
    }
    if (*p) return rc_err_set(e, RC_EINVAL, "'%.40s' is not a time: %s", s, want);
    if (y < 1900 || y > 2500)
        return rc_err_set(e, RC_EINVAL, "'%.40s': the year must be within 1900..2500", s);
    int64_t t;
    rc_err te;
    if (rc_time_make(y, mo, d, h, mi, sec, &t, &te) != RC_OK)
        return rc_err_set(e, RC_EINVAL, "'%.40s' is not a valid date and time: %s", s, te.msg);
    *us = t * 1000000 + frac;
    return RC_OK;
}

void rc_fdsnq_time_format(int64_t us, char *out)
{
    int64_t s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t f = us - s * 1000000;
    rc_tm tm;
    rc_time_split(s, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec, (long long)f);
}

/* --- patterns ------------------------------------------------------------ */

static int glob(const char *p, size_t pn, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    const char *pe = p + pn;
    while (*s) {
        if (p < pe && (*p == '?' || *p == *s)) {
            p++;
            s++;
        } else if (p < pe && *p == '*') {
            star_p = ++p;
            star_s = s;
        } else if (star_p) {
            p = star_p;
            s = ++star_s;
        } else
            return 0;
    }
    while (p < pe && *p == '*')
        p++;
    return p == pe;
}

int rc_fdsnq_match(const char *list, const char *code)
{
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 2 && p[0] == '-' && p[1] == '-') {
            if (!*code) return 1;
        } else if (glob(p, n, code))
            return 1;
        if (!c) return 0;
        p = c + 1;
    }
}

/* Check and upcase a code list into dst (appending after a comma when dst
 * already holds a list). */
static int set_codes(const char *canon, int is_loc, const char *v, char *dst, rc_err *e)
{
    char tmp[RC_FDSNQ_LIST_MAX];
    size_t vn = strlen(v);
    if (is_loc && vn == 0) v = "--", vn = 2;
    if (vn == 0)
        return rc_err_set(e, RC_EINVAL,
                          "%s: empty value (leave the parameter out to match every "
                          "code)",
                          canon);
    if (vn >= sizeof tmp)
        return rc_err_set(e, RC_EINVAL, "%s: list too long (at most %zu characters)", canon,
                          sizeof tmp - 1);
    size_t item = 0;
    for (size_t i = 0; i <= vn; i++) {
        char ch = v[i];
        if (ch == ',' || ch == '\0') {
            const char *it = tmp + i - item;
            int dashes = item == 2 && it[0] == '-' && it[1] == '-';
            if (item == 0)
                return rc_err_set(e, RC_EINVAL, "%s: empty item in the list '%.60s'", canon, v);
            if (item > 8)
                return rc_err_set(e, RC_EINVAL, "%s: '%.*s' is longer than 8 characters", canon,
                                  (int)item, it);
            if (!is_loc) {
                for (size_t k = 0; k < item; k++)
                    if (it[k] == '-')
                        return rc_err_set(e, RC_EINVAL,
                                          "%s: '%.*s': only letters, digits, ? "
                                          "and * are allowed",
                                          canon, (int)item, it);
            } else if (!dashes) {
                for (size_t k = 0; k < item; k++)
                    if (it[k] == '-')
                        return rc_err_set(e, RC_EINVAL,
                                          "%s: '%.*s': use -- for the empty "
                                          "location",
                                          canon, (int)item, it);
            }
            tmp[i] = ch;
            item = 0;
            continue;
        }
        if (!(isalnum((unsigned char)ch) || ch == '?' || ch == '*' || ch == '-'))
            return rc_err_set(e, RC_EINVAL,
                              "%s: '%.60s': only letters, digits, ? and * are allowed", canon, v);
        tmp[i] = (char)toupper((unsigned char)ch);
        item++;
    }
    size_t dn = strlen(dst);
    if (dn && strcmp(dst, "*") != 0) {
        if (dn + 1 + vn >= RC_FDSNQ_LIST_MAX)
            return rc_err_set(e, RC_EINVAL, "%s: list too long (at most %d characters)", canon,
                              RC_FDSNQ_LIST_MAX - 1);
        dst[dn] = ',';
        memcpy(dst + dn + 1, tmp, vn + 1);
    } else
        memcpy(dst, tmp, vn + 1);
    return RC_OK;
}

/* --- values --------------------------------------------------------------- */

static int parse_bool(const char *canon, const char *v, int *out, rc_err *e)
{
    if (!strcasecmp(v, "true"))
        *out = 1;
    else if (!strcasecmp(v, "false"))
        *out = 0;
    else
        return rc_err_set(e, RC_EINVAL, "%s: '%.40s': use true or false", canon, v);
    return RC_OK;
}

static int parse_seconds(const char *canon, const char *v, double *out, rc_err *e)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || *end || !isfinite(d) || d < 0 || d > 1e9 || isspace((unsigned char)*v))
        return rc_err_set(e, RC_EINVAL, "%s: '%.40s' is not a number of seconds >= 0", canon, v);
    *out = d;
    return RC_OK;
}

static void init(rc_fdsnq *q, rc_fdsnq_service svc)
{
    memset(q, 0, sizeof *q);
    q->service = svc;
    q->nodata = 204;
    snprintf(q->format, sizeof q->format, "%s", svc == RC_FDSNQ_DATASELECT ? "miniseed" : "text");
    snprintf(q->quality, sizeof q->quality, "*");
}

static void sel_init(rc_fdsnq_sel *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->net, "*");
    strcpy(s->sta, "*");
    strcpy(s->loc, "*");
    strcpy(s->cha, "*");
}

/* One name=value. post = in a POST body (selection parameters refused). */
static int set_param(rc_fdsnq *q, rc_fdsnq_sel *sel, unsigned *seen, const char *name,
                     const char *v, int post, rc_err *e)
{
    const pname *pn = NULL;
    for (const pname *p = names; p->name; p++)
        if (!strcasecmp(p->name, name)) {
            pn = p;
            break;
        }
    if (!pn || !(allowed(q->service) & pn->bit))
        return rc_err_set(e, RC_EINVAL, "%.40s: unknown parameter for %s", name,
                          service_name(q->service));
    const char *canon = pn->canon;
    if (post && (pn->bit & (P_CODES | P_TIMES)))
        return rc_err_set(e, RC_EINVAL,
                          "%s: in a POST body give channels and times on the selection lines "
                          "(NET STA LOC CHA START END)",
                          canon);
    if ((*seen & pn->bit) && !(pn->bit & P_CODES))
        return rc_err_set(e, RC_EINVAL, "%s: given more than once", canon);
    *seen |= pn->bit;
    switch (pn->bit) {
    case P_NET:
        return set_codes(canon, 0, v, sel->net, e);
    case P_STA:
        return set_codes(canon, 0, v, sel->sta, e);
    case P_LOC:
        return set_codes(canon, 1, v, sel->loc, e);
    case P_CHA:
        return set_codes(canon, 0, v, sel->cha, e);
    case P_START:
    case P_END: {
        rc_err te;
        int64_t t;
        if (rc_fdsnq_time_parse(v, &t, &te) != RC_OK)
            return rc_err_set(e, RC_EINVAL, "%s: %s", canon, te.msg);
        if (pn->bit == P_START)
            sel->start_us = t, sel->has_start = 1;
        else
            sel->end_us = t, sel->has_end = 1;
        return RC_OK;
    }
    case P_NODATA:
        if (!strcmp(v, "204"))
            q->nodata = 204;
        else if (!strcmp(v, "404"))
            q->nodata = 404;
        else
            return rc_err_set(e, RC_EINVAL, "nodata: '%.40s': use 204 or 404", v);
        return RC_OK;
    case P_FORMAT:
        if (q->service == RC_FDSNQ_DATASELECT) {
            if (strcasecmp(v, "miniseed") && strcasecmp(v, "mseed"))
                return rc_err_set(e, RC_EINVAL,
                                  "format: '%.40s': this service answers miniseed "
                                  "only",
                                  v);
            snprintf(q->format, sizeof q->format, "miniseed");
        } else {
            if (strcasecmp(v, "text") && strcasecmp(v, "geocsv") && strcasecmp(v, "json") &&
                strcasecmp(v, "request"))
                return rc_err_set(e, RC_EINVAL,
                                  "format: '%.40s': use text, geocsv, json or "
                                  "request",
                                  v);
            snprintf(q->format, sizeof q->format, "%s", v);
            for (char *c = q->format; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        }
        return RC_OK;
    case P_QUALITY: {
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof q->quality)
            return rc_err_set(e, RC_EINVAL, "quality: '%.40s': use D, R, Q, M, B or *", v);
        for (size_t i = 0; i < n; i++) {
            char c = (char)toupper((unsigned char)v[i]);
            int sep = c == ',';
            if (!sep && !strchr("DRQMB*?", c))
                return rc_err_set(e, RC_EINVAL, "quality: '%.40s': use D, R, Q, M, B or *", v);
            if (sep && (i == 0 || i + 1 == n || v[i + 1] == ','))
                return rc_err_set(e, RC_EINVAL, "quality: '%.40s': empty item in the list", v);
            q->quality[i] = c;
        }
        q->quality[n] = '\0';
        /* B (best) is the one quality the cache holds */
        for (char *c = q->quality; *c; c++)
            if (*c == 'B') *c = '*';
        return RC_OK;
    }
    case P_MINLEN:
        return parse_seconds(canon, v, &q->minimumlength, e);
    case P_LONGEST:
        return parse_bool(canon, v, &q->longestonly, e);
    case P_MERGEGAPS:
        return parse_seconds(canon, v, &q->mergegaps, e);
    case P_RESTRICTED:
        return parse_bool(canon, v, &q->includerestricted, e);
    case P_SHOW:
        if (strcasecmp(v, "latestupdate"))
            return rc_err_set(e, RC_EINVAL, "show: '%.40s': use latestupdate", v);
        q->show_latestupdate = 1;
        return RC_OK;
    case P_LIMIT: {
        char *end = NULL;
        long long l = strtoll(v, &end, 10);
        if (!*v || *end || l < 1 || !isdigit((unsigned char)*v))
            return rc_err_set(e, RC_EINVAL, "limit: '%.40s' is not a whole number >= 1", v);
        q->limit = l;
        return RC_OK;
    }
    case P_ORDERBY: {
        static const struct {
            const char *n;
            rc_fdsnq_order o;
            int extent_only;
        } ob[] = {{"nslc_time_quality_samplerate", RC_FDSNQ_ORDER_NSLC, 0},
                  {"latestupdate", RC_FDSNQ_ORDER_UPDATE, 0},
                  {"latestupdate_desc", RC_FDSNQ_ORDER_UPDATE_DESC, 0},
                  {"timespancount", RC_FDSNQ_ORDER_COUNT, 1},
                  {"timespancount_desc", RC_FDSNQ_ORDER_COUNT_DESC, 1}};
        for (size_t i = 0; i < sizeof ob / sizeof ob[0]; i++)
            if (!strcasecmp(v, ob[i].n) &&
                (!ob[i].extent_only || q->service == RC_FDSNQ_AVAIL_EXTENT)) {
                q->orderby = ob[i].o;
                return RC_OK;
            }
        return rc_err_set(
            e, RC_EINVAL,
            "orderby: '%.40s': use nslc_time_quality_samplerate, "
            "latestupdate or latestupdate_desc%s",
            v, q->service == RC_FDSNQ_AVAIL_EXTENT ? ", timespancount or timespancount_desc" : "");
    }
    case P_MERGE: {
        const char *p = v;
        if (!*p)
            return rc_err_set(e, RC_EINVAL,
                              "merge: empty value: use samplerate, quality, "
                              "overlap");
        for (;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n == 10 && !strncasecmp(p, "samplerate", 10))
                q->merge_samplerate = 1;
            else if (n == 7 && !strncasecmp(p, "quality", 7))
                q->merge_quality = 1;
            else if (n == 7 && !strncasecmp(p, "overlap", 7))
                q->merge_overlap = 1;
            else
                return rc_err_set(e, RC_EINVAL,
                                  "merge: '%.*s': use samplerate, quality, "
                                  "overlap (comma list)",
                                  (int)(n > 40 ? 40 : n), p);
            if (!c) break;
            p = c + 1;
        }
        return RC_OK;
    }
    }
    return rc_err_set(e, RC_EINVAL, "%s: not handled", canon);
}

static int check_window(const rc_fdsnq_sel *s, rc_err *e)
{
    if (s->has_start && s->has_end && s->end_us <= s->start_us)
        return rc_err_set(e, RC_EINVAL, "endtime: must be after starttime");
    return RC_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent-decode [p, p+n) into out (size outn). */
static int decode(const char *p, size_t n, char *out, size_t outn, rc_err *e)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                return rc_err_set(e, RC_EINVAL,
                                  "query: a %% that is not followed by two hex "
                                  "digits");
            int a = hexval(p[i + 1]), b = hexval(p[i + 2]);
            if (a < 0 || b < 0)
                return rc_err_set(e, RC_EINVAL,
                                  "query: a %% that is not followed by two hex "
                                  "digits");
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0') return rc_err_set(e, RC_EINVAL, "query: a NUL byte (%%00) is not allowed");
        if (o + 1 >= outn)
            return rc_err_set(e, RC_EINVAL, "query: a parameter longer than %zu bytes", outn - 1);
        out[o++] = c;
    }
    out[o] = '\0';
    return RC_OK;
}

static int add_sel(rc_fdsnq *q, const rc_fdsnq_sel *s, rc_err *e)
{
    if (q->nsel >= RC_FDSNQ_MAX_SEL)
        return rc_err_set(e, RC_EINVAL, "request: more than %d selection lines", RC_FDSNQ_MAX_SEL);
    rc_fdsnq_sel *n = realloc(q->sel, (q->nsel + 1) * sizeof *n);
    if (!n) return rc_err_set(e, RC_ENOMEM, "out of memory parsing the request");
    q->sel = n;
    q->sel[q->nsel++] = *s;
    return RC_OK;
}

int rc_fdsnq_parse_query(rc_fdsnq_service svc, const char *query, rc_fdsnq *out, rc_err *e)
{
    init(out, svc);
    rc_fdsnq_sel sel;
    sel_init(&sel);
    unsigned seen = 0;
    const char *p = query ? query : "";
    int rc = RC_OK;
    while (*p && rc == RC_OK) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            char name[64], val[1024];
            if (!eq) {
                if (decode(p, n, name, sizeof name, e) != RC_OK)
                    rc = RC_EINVAL;
                else
                    rc = rc_err_set(e, RC_EINVAL, "%.40s: needs a value (name=value)", name);
                break;
            }
            if ((rc = decode(p, (size_t)(eq - p), name, sizeof name, e)) != RC_OK ||
                (rc = decode(eq + 1, n - (size_t)(eq - p) - 1, val, sizeof val, e)) != RC_OK)
                break;
            rc = set_param(out, &sel, &seen, name, val, 0, e);
        }
        p += n + (amp ? 1 : 0);
    }
    if (rc == RC_OK && svc == RC_FDSNQ_DATASELECT && !sel.has_start)
        rc = rc_err_set(e, RC_EINVAL, "starttime: required (YYYY-MM-DDTHH:MM:SS)");
    if (rc == RC_OK) rc = check_window(&sel, e);
    if (rc == RC_OK) rc = add_sel(out, &sel, e);
    if (rc != RC_OK) rc_fdsnq_free(out);
    return rc;
}

int rc_fdsnq_parse_post(rc_fdsnq_service svc, const char *body, size_t len, rc_fdsnq *out,
                        rc_err *e)
{
    init(out, svc);
    unsigned seen = 0;
    int rc = RC_OK;
    size_t pos = 0;
    int lineno = 0, in_sel = 0;
    while (pos < len && rc == RC_OK) {
        size_t end = pos;
        while (end < len && body[end] != '\n')
            end++;
        lineno++;
        char line[1024];
        size_t n = end - pos;
        if (n && body[pos + n - 1] == '\r') n--;
        if (n >= sizeof line) {
            rc = rc_err_set(e, RC_EINVAL, "line %d: longer than %zu characters", lineno,
                            sizeof line - 1);
            break;
        }
        memcpy(line, body + pos, n);
        line[n] = '\0';
        pos = end + 1;
        if (memchr(line, '\0', n)) {
            rc = rc_err_set(e, RC_EINVAL, "line %d: a NUL byte", lineno);
            break;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t sl = strlen(s);
        while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
            s[--sl] = '\0';
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (eq && !strpbrk(s, " \t")) {
            if (in_sel) {
                rc = rc_err_set(e, RC_EINVAL,
                                "line %d: name=value lines must come before the "
                                "selection lines",
                                lineno);
                break;
            }
            *eq = '\0';
            rc = set_param(out, NULL, &seen, s, eq + 1, 1, e);
            continue;
        }
        in_sel = 1;
        char *f[7];
        int nf = 0;
        for (char *tok = strtok(s, " \t"); tok; tok = strtok(NULL, " \t")) {
            if (nf == 7) break;
            f[nf++] = tok;
        }
        if (nf != 6) {
            rc = rc_err_set(e, RC_EINVAL,
                            "line %d: a selection line is NET STA LOC CHA START "
                            "END (6 fields, -- for an empty location), not %d fields",
                            lineno, nf);
            break;
        }
        rc_fdsnq_sel sel;
        sel_init(&sel);
        sel.net[0] = sel.sta[0] = sel.loc[0] = sel.cha[0] = '\0';
        rc_err fe;
        static const char *const what[] = {"network", "station", "location", "channel"};
        char *dst[] = {sel.net, sel.sta, sel.loc, sel.cha};
        for (int i = 0; i < 4 && rc == RC_OK; i++)
            if (set_codes(what[i], i == 2, f[i], dst[i], &fe) != RC_OK)
                rc = rc_err_set(e, RC_EINVAL, "line %d: %s", lineno, fe.msg);
        for (int i = 0; i < 2 && rc == RC_OK; i++) {
            int64_t t;
            if (rc_fdsnq_time_parse(f[4 + i], &t, &fe) != RC_OK)
                rc = rc_err_set(e, RC_EINVAL, "line %d: %s: %s", lineno,
                                i ? "endtime" : "starttime", fe.msg);
            else if (i)
                sel.end_us = t, sel.has_end = 1;
            else
                sel.start_us = t, sel.has_start = 1;
        }
        if (rc == RC_OK && check_window(&sel, &fe) != RC_OK)
            rc = rc_err_set(e, RC_EINVAL, "line %d: %s", lineno, fe.msg);
        if (rc == RC_OK) rc = add_sel(out, &sel, e);
    }
    if (rc == RC_OK && out->nsel == 0)
        rc = rc_err_set(e, RC_EINVAL, "request: no selection lines (NET STA LOC CHA START END)");
    if (rc != RC_OK) rc_fdsnq_free(out);
    return rc;
}

void rc_fdsnq_free(rc_fdsnq *q)
{
    free(q->sel);
    q->sel = NULL;
    q->nsel = 0;
}
