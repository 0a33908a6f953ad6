/*
 * naming.c: the one formatter and parser of object keys, for both layouts.
 *
 * Building validates every field first, so a key never carries a separator
 * or a control byte inside a field. Parsing checks each part separately (so
 * the message can name the part that is wrong) and then rebuilds the key from
 * what it read and insists on byte equality: that last step is what makes
 * "accepts exactly what build produces" true without a second grammar drifting
 * from the first.
 */
#include "r2cache/naming.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/timewin.h"

#define ROOT "data/"
#define MAX_SEGS 16
#define QUOTE_MAX 160

/* Printable copy of untrusted text for messages: control bytes escaped, long input cut. */
static const char *quote(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < n; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
        else
            buf[o++] = (char)*p;
        if (o + 8 >= n && p[1]) {
            snprintf(buf + o, n - o, "...");
            return buf;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* ---- channel codes ---- */

static int is_empty_loc(const char *loc)
{
    return loc[0] == '\0' || strcmp(loc, "--") == 0;
}

static int check_code(const char *what, const char *code, int allow_empty, rc_err *e)
{
    char q[QUOTE_MAX];
    size_t len = strnlen(code, RC_CODE_MAX);
    if (len >= RC_CODE_MAX) {
        char cut[RC_CODE_MAX + 1]; /* the field may lack its NUL: never read past it */
        memcpy(cut, code, RC_CODE_MAX);
        cut[RC_CODE_MAX] = '\0';
        return rc_err_set(e, RC_EINVAL, "%s code '%s...' is longer than %d characters", what,
                          quote(cut, q, sizeof q), RC_CODE_MAX - 1);
    }
    if (len == 0 && !allow_empty) return rc_err_set(e, RC_EINVAL, "%s code is empty", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)code[i];
        if (islower(c))
            return rc_err_set(e, RC_EINVAL,
                              "%s code '%s' has lower-case letters; FDSN codes are upper case, "
                              "write it in capitals",
                              what, quote(code, q, sizeof q));
        if (!(isdigit(c) || (c >= 'A' && c <= 'Z')))
            return rc_err_set(e, RC_EINVAL,
                              "%s code '%s' has a character other than A-Z and 0-9 at position "
                              "%zu",
                              what, quote(code, q, sizeof q), i + 1);
    }
    return RC_OK;
}

int rc_chan_validate(const rc_chan *c, rc_err *e)
{
    if (check_code("network", c->net, 0, e) || check_code("station", c->sta, 0, e) ||
        check_code("channel", c->cha, 0, e))
        return RC_EINVAL;
    if (strnlen(c->loc, RC_CODE_MAX) < RC_CODE_MAX && strcmp(c->loc, "--") == 0) return RC_OK;
    return check_code("location", c->loc, 1, e);
}

int rc_chan_parse(const char *s, rc_chan *out, rc_err *e)
{
    char q[QUOTE_MAX];
    const char *part[4];
    size_t plen[4];
    const char *p = s;
    int n = 0;
    while (n < 4) {
        const char *dot = strchr(p, '.');
        part[n] = p;
        plen[n] = dot ? (size_t)(dot - p) : strlen(p);
        n++;
        if (!dot) break;
        p = dot + 1;
    }
    if (n != 4 || strchr(part[3], '.'))
        return rc_err_set(e, RC_EINVAL,
                          "channel '%s' is not NET.STA.LOC.CHA (exactly three dots; empty "
                          "location as NET.STA..CHA or NET.STA.--.CHA)",
                          quote(s, q, sizeof q));
    static const char *const names[4] = {"network", "station", "location", "channel"};
    rc_chan c;
    char *dst[4] = {c.net, c.sta, c.loc, c.cha};
    for (int i = 0; i < 4; i++) {
        if (plen[i] >= RC_CODE_MAX)
            return rc_err_set(e, RC_EINVAL, "channel '%s': %s code is longer than %d characters",
                              quote(s, q, sizeof q), names[i], RC_CODE_MAX - 1);
        memcpy(dst[i], part[i], plen[i]);
        dst[i][plen[i]] = '\0';
    }
    if (strcmp(c.loc, "--") == 0) c.loc[0] = '\0';
    if (rc_chan_validate(&c, e) != RC_OK)
        return rc_err_wrap(e, "channel '%s'", quote(s, q, sizeof q));
    *out = c;
    return RC_OK;
}

void rc_chan_format(const rc_chan *c, char *out)
{
    snprintf(out, RC_CHAN_STR_MAX, "%s.%s.%s.%s", c->net, c->sta,
             is_empty_loc(c->loc) ? "" : c->loc, c->cha);
}

int rc_chan_equal(const rc_chan *a, const rc_chan *b)
{
    int la = is_empty_loc(a->loc), lb = is_empty_loc(b->loc);
    return strcmp(a->net, b->net) == 0 && strcmp(a->sta, b->sta) == 0 &&
           strcmp(a->cha, b->cha) == 0 && la == lb && (la || strcmp(a->loc, b->loc) == 0);
}

int rc_volcano_validate(const char *name, rc_err *e)
{
    char q[QUOTE_MAX];
    size_t len = strnlen(name, RC_VOLCANO_MAX);
    if (len == 0) return rc_err_set(e, RC_EINVAL, "volcano name is empty");
    if (len >= RC_VOLCANO_MAX) {
        char cut[40];
        memcpy(cut, name, sizeof cut - 1);
        cut[sizeof cut - 1] = '\0';
        return rc_err_set(e, RC_EINVAL, "volcano name '%s...' is longer than %d characters",
                          quote(cut, q, sizeof q), RC_VOLCANO_MAX - 1);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= 'a' && c <= 'z') || isdigit(c) || (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return rc_err_set(e, RC_EINVAL,
                              "volcano name '%s' must be lower-case letters, digits, '_' and '-', "
                              "starting with a letter or digit (as in kilauea, great_sitkin)",
                              quote(name, q, sizeof q));
    }
    return RC_OK;
}

/* ---- layout and spans ---- */

int rc_layout_parse(const char *s, rc_layout *out, rc_err *e)
{
    char q[QUOTE_MAX];
    if (s && strcmp(s, "seed") == 0) {
        *out = RC_LAYOUT_SEED;
        return RC_OK;
    }
    if (s && strcmp(s, "viewer") == 0) {
        *out = RC_LAYOUT_VIEWER;
        return RC_OK;
    }
    return rc_err_set(e, RC_EINVAL, "layout '%s' is unknown; use \"seed\" or \"viewer\"",
                      s ? quote(s, q, sizeof q) : "");
}

const char *rc_layout_name(rc_layout l)
{
    return l == RC_LAYOUT_VIEWER ? "viewer" : "seed";
}

static const int64_t span_secs[RC_SPAN_COUNT] = {600, 3600, 21600, 86400};
static const char *const span_names[RC_SPAN_COUNT] = {"10m", "1h", "6h", "24h"};
static const char *const seed_manifest_keys[RC_SPAN_COUNT] = {"10min", "1h", "6h", "24h"};

static int span_ok(rc_span s)
{
    return (int)s >= 0 && s < RC_SPAN_COUNT;
}

int64_t rc_span_seconds(rc_span s)
{
    return span_ok(s) ? span_secs[s] : 0;
}

const char *rc_span_name(rc_span s)
{
    return span_ok(s) ? span_names[s] : "?";
}

const char *rc_span_manifest_key(rc_layout l, rc_span s)
{
    if (!span_ok(s)) return "?";
    return l == RC_LAYOUT_VIEWER ? span_names[s] : seed_manifest_keys[s];
}

int rc_span_parse(const char *s, rc_span *out, rc_err *e)
{
    char q[QUOTE_MAX];
    for (int i = 0; s && i < RC_SPAN_COUNT; i++) {
        if (strcmp(s, span_names[i]) == 0 || strcmp(s, seed_manifest_keys[i]) == 0) {
            *out = (rc_span)i;
            return RC_OK;
        }
    }
    return rc_err_set(e, RC_EINVAL, "span '%s' is unknown; use 10m, 1h, 6h or 24h",
                      s ? quote(s, q, sizeof q) : "");
}

/* Viewer TYPE token only ("10min" is a seed manifest key, never a TYPE). */
static int span_from_name(const char *s, rc_span *out)
{
    for (int i = 0; i < RC_SPAN_COUNT; i++) {
        if (strcmp(s, span_names[i]) == 0) {
            *out = (rc_span)i;
            return RC_OK;
        }
    }
    return RC_EINVAL;
}

int rc_span_from_seconds(int64_t seconds, rc_span *out)
{
    for (int i = 0; i < RC_SPAN_COUNT; i++) {
        if (span_secs[i] == seconds) {
            *out = (rc_span)i;
            return RC_OK;
        }
    }
    return RC_EINVAL;
}

/* ---- sample rate ---- */

int rc_rate_format(double rate, char *out, rc_err *e)
{
    if (!isfinite(rate) || rate <= 0)
        return rc_err_set(e, RC_EINVAL, "sample rate %g is not a positive finite number", rate);
    /* Shortest %.Ne that reads back to the same double gives the digits; they
     * are then written out positionally because keys never use exponents. */
    char sci[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, rate);
        if (strtod(sci, NULL) == rate) break;
    }
    char digits[24];
    size_t nd = 0;
    const char *p = sci;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp10 = atoi(p + 1); /* value = d0.d1d2... * 10^exp10 */
    char buf[RC_RATE_STR_MAX + 8];
    size_t o = 0;
    if (exp10 < 0) {
        if ((size_t)(-exp10) + 1 + nd >= RC_RATE_STR_MAX) goto too_long;
        buf[o++] = '0';
        buf[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            buf[o++] = '0';
        memcpy(buf + o, digits, nd);
        o += nd;
    } else {
        size_t intlen = (size_t)exp10 + 1;
        if (intlen + 1 + nd >= RC_RATE_STR_MAX) goto too_long;
        for (size_t i = 0; i < intlen; i++)
            buf[o++] = i < nd ? digits[i] : '0';
        if (nd > intlen) {
            buf[o++] = '.';
            memcpy(buf + o, digits + intlen, nd - intlen);
            o += nd - intlen;
        }
    }
    buf[o] = '\0';
    memcpy(out, buf, o + 1);
    return RC_OK;
too_long:
    return rc_err_set(e, RC_EINVAL, "sample rate %.17g Hz is too large or too small for a key",
                      rate);
}

int rc_rate_parse(const char *s, double *out, rc_err *e)
{
    char q[QUOTE_MAX];
    /* Syntax first, so strtod never sees hex, "inf", signs or exponents. */
    const char *p = s;
    int ok = s && isdigit((unsigned char)*p);
    while (ok && isdigit((unsigned char)*p))
        p++;
    if (ok && *p == '.') {
        p++;
        ok = isdigit((unsigned char)*p);
        while (ok && isdigit((unsigned char)*p))
            p++;
    }
    ok = ok && *p == '\0' && strlen(s) < RC_RATE_STR_MAX;
    if (!ok)
        return rc_err_set(e, RC_EINVAL,
                          "sample rate '%s' is not a plain decimal such as 100, 40.96 or 0.001",
                          s ? quote(s, q, sizeof q) : "");
    double v = strtod(s, NULL);
    char canon[RC_RATE_STR_MAX];
    if (rc_rate_format(v, canon, NULL) != RC_OK || strcmp(canon, s) != 0)
        return rc_err_set(e, RC_EINVAL,
                          "sample rate '%s' is not in canonical form (positive, no leading or "
                          "trailing zeros, shortest digits)",
                          quote(s, q, sizeof q));
    *out = v;
    return RC_OK;
}

/* ---- building keys ---- */

/* Location as it appears in keys of layout l. */
static const char *loc_field(rc_layout l, const char *loc)
{
    if (is_empty_loc(loc)) return l == RC_LAYOUT_VIEWER ? "--" : "";
    return loc;
}

/* Start/end years must fit the four-digit fields of a key. */
static int check_time_range(int64_t t, const char *what, rc_err *e)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    if (tm.year < 0 || tm.year > 9999)
        return rc_err_set(e, RC_EINVAL, "%s (%lld s) is outside years 0000-9999", what,
                          (long long)t);
    return RC_OK;
}

static int put(size_t n, rc_err *e, int len)
{
    if (len < 0 || (size_t)len >= n)
        return rc_err_set(e, RC_EINVAL, "key needs %d bytes, buffer has %zu", len + 1, n);
    return RC_OK;
}

/* "data/YYYY/MM/" (seed) or "data/YYYY/MM/DD/" (viewer), then NET/VOLC/STA/LOC/CHA/. */
static int channel_dir(rc_layout l, const rc_chan *c, const char *volcano, int64_t day, char *out,
                       size_t n, rc_err *e)
{
    if (rc_chan_validate(c, e) != RC_OK || rc_volcano_validate(volcano, e) != RC_OK ||
        check_time_range(day, "date", e) != RC_OK)
        return RC_EINVAL;
    rc_tm tm;
    rc_time_split(day, &tm);
    int len;
    if (l == RC_LAYOUT_VIEWER)
        len = snprintf(out, n, ROOT "%04d/%02d/%02d/%s/%s/%s/%s/%s/", tm.year, tm.mon, tm.mday,
                       c->net, volcano, c->sta, loc_field(l, c->loc), c->cha);
    else
        len = snprintf(out, n, ROOT "%04d/%02d/%s/%s/%s/%s/%s/", tm.year, tm.mon, c->net, volcano,
                       c->sta, loc_field(l, c->loc), c->cha);
    return put(n, e, len);
}

static int check_layout(rc_layout l, rc_err *e)
{
    if (l != RC_LAYOUT_SEED && l != RC_LAYOUT_VIEWER)
        return rc_err_set(e, RC_EINVAL, "layout %d is unknown", (int)l);
    return RC_OK;
}

int rc_key_chunk(rc_layout l, const rc_chunk_id *id, char *out, size_t n, rc_err *e)
{
    char chan[RC_CHAN_STR_MAX];
    if (check_layout(l, e) != RC_OK) return RC_EINVAL;
    if (!span_ok(id->span))
        return rc_err_set(e, RC_EINVAL, "chunk span %d is unknown", (int)id->span);
    int64_t span = span_secs[id->span];
    int64_t end = id->start + span;
    char dir[RC_KEY_MAX];
    if (check_time_range(end, "chunk end", e) != RC_OK ||
        channel_dir(l, &id->chan, id->volcano, id->start, dir, sizeof dir, e) != RC_OK)
        return rc_err_wrap(e, "cannot name chunk");
    rc_chan_format(&id->chan, chan);
    if (rc_floor(id->start, span) != id->start) {
        char st[RC_TIME_STR_MAX];
        rc_time_iso(id->start, st);
        return rc_err_set(e, RC_EINVAL,
                          "cannot name %s chunk of %s: start %s is not aligned to the span",
                          span_names[id->span], chan, st);
    }
    char rate[RC_RATE_STR_MAX];
    if (l == RC_LAYOUT_SEED && rc_rate_format(id->rate, rate, e) != RC_OK)
        return rc_err_wrap(e, "cannot name chunk of %s", chan);
    char st[RC_TIME_STR_MAX], en[RC_TIME_STR_MAX];
    rc_time_stamp(id->start, st);
    rc_time_stamp(end, en);
    const rc_chan *c = &id->chan;
    const char *loc = loc_field(l, c->loc);
    int len;
    if (l == RC_LAYOUT_VIEWER)
        len = snprintf(out, n, "%s%s/%s_%s_%s_%s_%s_%s_to_%s.bin.zst", dir, span_names[id->span],
                       c->net, c->sta, loc, c->cha, span_names[id->span], st, en);
    else
        len = snprintf(out, n, "%s%s_%s_%s_%s_%sHz_%s_to_%s.bin.zst", dir, c->net, c->sta, loc,
                       c->cha, rate, st, en);
    if (put(n, e, len) != RC_OK) return rc_err_wrap(e, "cannot name chunk of %s", chan);
    return RC_OK;
}

int rc_key_manifest(rc_layout l, const rc_manifest_id *id, char *out, size_t n, rc_err *e)
{
    char chan[RC_CHAN_STR_MAX];
    if (check_layout(l, e) != RC_OK) return RC_EINVAL;
    char dir[RC_KEY_MAX];
    if (channel_dir(l, &id->chan, id->volcano, id->day, dir, sizeof dir, e) != RC_OK)
        return rc_err_wrap(e, "cannot name manifest");
    rc_chan_format(&id->chan, chan);
    if (rc_day_start(id->day) != id->day) {
        char st[RC_TIME_STR_MAX];
        rc_time_iso(id->day, st);
        return rc_err_set(e, RC_EINVAL, "cannot name manifest of %s: day %s is not 00:00 UTC", chan,
                          st);
    }
    char rate[RC_RATE_STR_MAX];
    if (l == RC_LAYOUT_SEED && rc_rate_format(id->rate, rate, e) != RC_OK)
        return rc_err_wrap(e, "cannot name manifest of %s", chan);
    char date[RC_TIME_STR_MAX];
    rc_time_date(id->day, date);
    const rc_chan *c = &id->chan;
    const char *loc = loc_field(l, c->loc);
    int len;
    if (l == RC_LAYOUT_VIEWER)
        len = snprintf(out, n, "%s%s_%s_%s_%s_%s.json", dir, c->net, c->sta, loc, c->cha, date);
    else
        len = snprintf(out, n, "%s%s_%s_%s_%s_%sHz_%s.json", dir, c->net, c->sta, loc, c->cha, rate,
                       date);
    if (put(n, e, len) != RC_OK) return rc_err_wrap(e, "cannot name manifest of %s", chan);
    return RC_OK;
}

const char *rc_key_root(void)
{
    return ROOT;
}

int rc_key_prefix_channel_day(rc_layout l, const rc_chan *c, const char *volcano, int64_t day,
                              char *out, size_t n, rc_err *e)
{
    if (check_layout(l, e) != RC_OK) return RC_EINVAL;
    if (channel_dir(l, c, volcano, rc_day_start(day), out, n, e) != RC_OK)
        return rc_err_wrap(e, "cannot name channel-day prefix");
    return RC_OK;
}

/* ---- parsing keys ---- */

typedef struct seg {
    const char *p;
    size_t len;
} seg;

/* Split s on sep into at most max pieces (empty pieces kept); -1 if more. */
static int split(const char *s, size_t len, char sep, seg *out, int max)
{
    int n = 0;
    const char *p = s, *end = s + len;
    for (;;) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (n == max) return -1;
        out[n].p = p;
        out[n].len = q ? (size_t)(q - p) : (size_t)(end - p);
        n++;
        if (!q) return n;
        p = q + 1;
    }
}

static int seg_eq(seg s, const char *str)
{
    return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static int seg_copy(seg s, char *out, size_t n)
{
    if (s.len >= n) return 0;
    memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return 1;
}

/* Fixed-width digits of a key field (no signs, no spaces). */
static int num(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* "YYYY-MM-DD-HH-MM-SS" (stamp) or "YYYY-MM-DD" (date). */
static int parse_stamp(seg s, int with_time, int64_t *out, rc_err *e)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t want = with_time ? 19 : 10;
    const char *p = s.p;
    int ok = s.len == want && num(p, 4, &y) && p[4] == '-' && num(p + 5, 2, &mo) && p[7] == '-' &&
             num(p + 8, 2, &d);
    if (ok && with_time)
        ok = p[10] == '-' && num(p + 11, 2, &h) && p[13] == '-' && num(p + 14, 2, &mi) &&
             p[16] == '-' && num(p + 17, 2, &sec);
    if (!ok)
        return rc_err_set(e, RC_EINVAL, "'%.*s' is not a %s", (int)(s.len > 40 ? 40 : s.len), s.p,
                          with_time ? "YYYY-MM-DD-HH-MM-SS time" : "YYYY-MM-DD date");
    if (rc_time_make(y, mo, d, h, mi, sec, out, e) != RC_OK)
        return rc_err_wrap(e, "'%.*s'", (int)s.len, s.p);
    return RC_OK;
}

/* Location from a key field: seed writes empty as "", viewer as "--". */
static int key_loc(rc_layout l, seg s, char *out, rc_err *e)
{
    if (l == RC_LAYOUT_VIEWER) {
        if (s.len == 0)
            return rc_err_set(e, RC_EINVAL,
                              "empty location field; the viewer layout writes an empty location "
                              "as '--'");
        if (seg_eq(s, "--")) {
            out[0] = '\0';
            return RC_OK;
        }
    } else if (seg_eq(s, "--")) {
        return rc_err_set(e, RC_EINVAL,
                          "location field '--'; the seed layout writes an empty location as an "
                          "empty field");
    }
    if (!seg_copy(s, out, RC_CODE_MAX))
        return rc_err_set(e, RC_EINVAL, "location field '%.*s' is longer than %d characters",
                          (int)(s.len > 40 ? 40 : s.len), s.p, RC_CODE_MAX - 1);
    return check_code("location", out, 1, e);
}

static int code_field(const char *what, seg s, char *out, rc_err *e)
{
    if (!seg_copy(s, out, RC_CODE_MAX))
        return rc_err_set(e, RC_EINVAL, "%s field '%.*s' is longer than %d characters", what,
                          (int)(s.len > 40 ? 40 : s.len), s.p, RC_CODE_MAX - 1);
    return check_code(what, out, 0, e);
}

static int parse_key(rc_layout l, const char *key, rc_key_info *out, rc_err *e)
{
    size_t klen = strnlen(key, RC_KEY_MAX);
    if (klen >= RC_KEY_MAX)
        return rc_err_set(e, RC_EINVAL, "key is longer than %d bytes", RC_KEY_MAX - 1);
    for (size_t i = 0; i < klen; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] >= 0x7f)
            return rc_err_set(e, RC_EINVAL, "key has a control or non-ASCII byte at offset %zu", i);
    if (strncmp(key, ROOT, strlen(ROOT)) != 0)
        return rc_err_set(e, RC_EINVAL, "key does not start with '%s'", ROOT);

    seg sg[MAX_SEGS];
    int ns = split(key, klen, '/', sg, MAX_SEGS);
    if (ns < 0)
        return rc_err_set(e, RC_EINVAL, "key has more than %d '/'-separated parts", MAX_SEGS);
    seg file = sg[ns - 1];
    rc_key_kind kind;
    size_t stem_len;
    if (file.len > 8 && memcmp(file.p + file.len - 8, ".bin.zst", 8) == 0) {
        kind = RC_KEY_CHUNK;
        stem_len = file.len - 8;
    } else if (file.len > 5 && memcmp(file.p + file.len - 5, ".json", 5) == 0) {
        kind = RC_KEY_MANIFEST;
        stem_len = file.len - 5;
    } else {
        return rc_err_set(e, RC_EINVAL, "file name does not end in .bin.zst or .json");
    }
    int viewer = l == RC_LAYOUT_VIEWER;
    int want = viewer ? (kind == RC_KEY_CHUNK ? 11 : 10) : 9;
    if (ns != want)
        return rc_err_set(e, RC_EINVAL,
                          "%s key of the %s layout has %d '/'-separated parts, expected %d",
                          kind == RC_KEY_CHUNK ? "chunk" : "manifest", rc_layout_name(l), ns, want);

    /* File name fields: NET STA LOC CHA [RATEHz|TYPE] (START to END | DATE). */
    seg f[10];
    int fixed = viewer ? 4 : 5; /* fields before the times */
    int nf_want = fixed + (kind == RC_KEY_CHUNK ? 3 : 1) + (viewer && kind == RC_KEY_CHUNK);
    int nf = split(file.p, stem_len, '_', f, 10);
    if (nf != nf_want)
        return rc_err_set(e, RC_EINVAL, "file name has %d '_'-separated fields, expected %d (%s)",
                          nf < 0 ? 11 : nf, nf_want,
                          viewer ? (kind == RC_KEY_CHUNK ? "NET_STA_LOC_CHA_TYPE_START_to_END"
                                                         : "NET_STA_LOC_CHA_DATE")
                                 : (kind == RC_KEY_CHUNK ? "NET_STA_LOC_CHA_RATEHz_START_to_END"
                                                         : "NET_STA_LOC_CHA_RATEHz_DATE"));

    rc_chan c;
    if (code_field("network", f[0], c.net, e) || code_field("station", f[1], c.sta, e) ||
        key_loc(l, f[2], c.loc, e) || code_field("channel", f[3], c.cha, e))
        return rc_err_wrap(e, "file name");

    /* Folder fields after data/YYYY/MM[/DD]: NET VOLC STA LOC CHA [TYPE]. */
    int b = viewer ? 4 : 3;
    static const char *const fnames[4] = {"network", "station", "location", "channel"};
    const int fidx[4] = {b, b + 2, b + 3, b + 4};
    for (int i = 0; i < 4; i++) {
        if (sg[fidx[i]].len != f[i].len || memcmp(sg[fidx[i]].p, f[i].p, f[i].len) != 0)
            return rc_err_set(e, RC_EINVAL, "%s folder '%.*s' differs from '%.*s' in the file name",
                              fnames[i], (int)(sg[fidx[i]].len > 40 ? 40 : sg[fidx[i]].len),
                              sg[fidx[i]].p, (int)f[i].len, f[i].p);
    }
    char volcano[RC_VOLCANO_MAX];
    if (!seg_copy(sg[b + 1], volcano, sizeof volcano))
        return rc_err_set(e, RC_EINVAL, "volcano folder is longer than %d characters",
                          RC_VOLCANO_MAX - 1);
    if (rc_volcano_validate(volcano, e) != RC_OK) return rc_err_wrap(e, "volcano folder");

    double rate = 0;
    int tf = fixed; /* index of the first time field */
    rc_span type_span = RC_SPAN_COUNT;
    if (!viewer) {
        char rs[RC_RATE_STR_MAX];
        seg r = f[4];
        if (r.len < 3 || memcmp(r.p + r.len - 2, "Hz", 2) != 0 ||
            !seg_copy((seg){r.p, r.len - 2}, rs, sizeof rs))
            return rc_err_set(e, RC_EINVAL, "rate field '%.*s' is not <RATE>Hz",
                              (int)(r.len > 40 ? 40 : r.len), r.p);
        if (rc_rate_parse(rs, &rate, e) != RC_OK) return rc_err_wrap(e, "rate field");
    } else if (kind == RC_KEY_CHUNK) {
        char ts[8];
        if (!seg_copy(f[4], ts, sizeof ts) || span_from_name(ts, &type_span) != RC_OK)
            return rc_err_set(e, RC_EINVAL, "type field '%.*s' is not 10m, 1h, 6h or 24h",
                              (int)(f[4].len > 40 ? 40 : f[4].len), f[4].p);
        if (!seg_eq(sg[9], ts))
            return rc_err_set(e, RC_EINVAL, "type folder '%.*s' differs from '%s' in the file name",
                              (int)(sg[9].len > 40 ? 40 : sg[9].len), sg[9].p, ts);
        tf = 5;
    }

    int64_t start;
    if (kind == RC_KEY_CHUNK) {
        int64_t end;
        if (parse_stamp(f[tf], 1, &start, e) != RC_OK) return rc_err_wrap(e, "start");
        if (!seg_eq(f[tf + 1], "to"))
            return rc_err_set(e, RC_EINVAL, "expected '_to_' between start and end");
        if (parse_stamp(f[tf + 2], 1, &end, e) != RC_OK) return rc_err_wrap(e, "end");
        rc_span span;
        if (rc_span_from_seconds(end - start, &span) != RC_OK)
            return rc_err_set(e, RC_EINVAL,
                              "end - start is %lld s, not a chunk span (600, 3600, 21600 or "
                              "86400 s)",
                              (long long)(end - start));
        if (viewer && span != type_span)
            return rc_err_set(e, RC_EINVAL, "type %s does not match end - start = %lld s",
                              span_names[type_span], (long long)(end - start));
        if (rc_floor(start, span_secs[span]) != start)
            return rc_err_set(e, RC_EINVAL, "start %.*s is not aligned to the %s span",
                              (int)f[tf].len, f[tf].p, span_names[span]);
        out->kind = RC_KEY_CHUNK;
        memset(&out->chunk, 0, sizeof out->chunk);
        out->chunk.chan = c;
        memcpy(out->chunk.volcano, volcano, sizeof volcano);
        out->chunk.rate = rate;
        out->chunk.span = span;
        out->chunk.start = start;
    } else {
        if (parse_stamp(f[tf], 0, &start, e) != RC_OK) return rc_err_wrap(e, "date");
        out->kind = RC_KEY_MANIFEST;
        memset(&out->manifest, 0, sizeof out->manifest);
        out->manifest.chan = c;
        memcpy(out->manifest.volcano, volcano, sizeof volcano);
        out->manifest.rate = rate;
        out->manifest.day = start;
    }

    rc_tm tm;
    rc_time_split(start, &tm);
    int y, mo, d = tm.mday;
    if (!(sg[1].len == 4 && num(sg[1].p, 4, &y) && sg[2].len == 2 && num(sg[2].p, 2, &mo) &&
          (!viewer || (sg[3].len == 2 && num(sg[3].p, 2, &d)))) ||
        y != tm.year || mo != tm.mon || d != tm.mday) {
        char date[RC_TIME_STR_MAX];
        rc_time_date(start, date);
        return rc_err_set(e, RC_EINVAL, "date folders %.*s do not match the start date %s",
                          (int)(sg[viewer ? 3 : 2].p + sg[viewer ? 3 : 2].len - sg[1].p), sg[1].p,
                          date);
    }

    /* Anything the checks above let through but build would write differently. */
    char again[RC_KEY_MAX];
    int rc = kind == RC_KEY_CHUNK ? rc_key_chunk(l, &out->chunk, again, sizeof again, e)
                                  : rc_key_manifest(l, &out->manifest, again, sizeof again, e);
    if (rc != RC_OK) return rc;
    if (strcmp(again, key) != 0)
        return rc_err_set(e, RC_EINVAL, "key is not in canonical form; expected '%s'", again);
    return RC_OK;
}

int rc_key_parse(rc_layout l, const char *key, rc_key_info *out, rc_err *e)
{
    char q[QUOTE_MAX + RC_KEY_MAX];
    if (check_layout(l, e) != RC_OK) return RC_EINVAL;
    rc_key_info info;
    memset(&info, 0, sizeof info);
    if (parse_key(l, key, &info, e) != RC_OK)
        return rc_err_wrap(e, "%s key '%s'", rc_layout_name(l), quote(key, q, sizeof q));
    *out = info;
    return RC_OK;
}

/* ---- the folder of a key that does not parse ---- */

static int code_copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= RC_CODE_MAX) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int rc_chan_set(rc_chan *c, const char *net, const char *sta, const char *loc, const char *cha)
{
    memset(c, 0, sizeof *c);
    if (code_copy(c->net, net) || code_copy(c->sta, sta) || code_copy(c->loc, loc) ||
        code_copy(c->cha, cha)) {
        memset(c, 0, sizeof *c);
        return RC_EINVAL;
    }
    return RC_OK;
}

int rc_key_folder(rc_layout l, const char *key, rc_chan *c, char *volcano, int64_t *day)
{
    char seg[10][RC_VOLCANO_MAX];
    int n = 0;
    const char *p = key;
    while (n < 10) {
        const char *sl = strchr(p, '/');
        if (!sl) break;
        size_t len = (size_t)(sl - p);
        if (len >= RC_VOLCANO_MAX) return RC_EINVAL;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p = sl + 1;
    }
    int viewer = l == RC_LAYOUT_VIEWER;
    int need = viewer ? 9 : 8; /* data YYYY MM [DD] NET VOLC STA LOC CHA */
    if (n < need || strcmp(seg[0], "data") != 0) return RC_EINVAL;
    int y = atoi(seg[1]), m = atoi(seg[2]), d = viewer ? atoi(seg[3]) : 1;
    rc_err e;
    if (rc_time_make(y, m, d, 0, 0, 0, day, &e) != RC_OK) return RC_EINVAL;
    int o = viewer ? 4 : 3;
    const char *loc = strcmp(seg[o + 3], "--") == 0 ? "" : seg[o + 3];
    if (rc_chan_set(c, seg[o], seg[o + 2], loc, seg[o + 4]) != RC_OK) return RC_EINVAL;
    if (rc_chan_validate(c, &e) != RC_OK || rc_volcano_validate(seg[o + 1], &e) != RC_OK)
        return RC_EINVAL;
    snprintf(volcano, RC_VOLCANO_MAX, "%s", seg[o + 1]);
    return RC_OK;
}

/* ---- index keys ---- */

#define INDEX_ROOT "index/"

static const char *index_ext(rc_index_kind kind)
{
    return kind == RC_INDEX_SUMMARY ? "json" : kind == RC_INDEX_MARKER ? "dirty" : NULL;
}

void rc_key_index_prefix(const char *volcano, char *out, size_t n)
{
    if (volcano && volcano[0])
        snprintf(out, n, INDEX_ROOT "%s/", volcano);
    else
        snprintf(out, n, INDEX_ROOT);
}

int rc_key_index(const rc_chan *c, const char *volcano, int64_t month, rc_index_kind kind,
                 char *out, size_t n, rc_err *e)
{
    const char *ext = index_ext(kind);
    if (!ext) return rc_err_set(e, RC_EINVAL, "unknown index key kind %d", (int)kind);
    int rc = rc_chan_validate(c, e);
    if (rc) return rc;
    if ((rc = rc_volcano_validate(volcano, e))) return rc;
    char cs[RC_CHAN_STR_MAX];
    rc_chan_format(c, cs);
    rc_tm tm;
    rc_time_split(month, &tm);
    int w = snprintf(out, n, INDEX_ROOT "%s/%s/%04d-%02d.%s", volcano, cs, tm.year, tm.mon, ext);
    if (w < 0 || (size_t)w >= n)
        return rc_err_set(e, RC_EINVAL, "summary key for %s is too long", cs);
    return RC_OK;
}

int rc_key_index_parse(const char *key, rc_index_id *out, rc_err *e)
{
    size_t rl = strlen(INDEX_ROOT);
    memset(out, 0, sizeof *out);
    if (strncmp(key, INDEX_ROOT, rl) != 0)
        return rc_err_set(e, RC_EINVAL, "%s is not under " INDEX_ROOT, key);
    const char *v = key + rl;
    const char *s1 = strchr(v, '/');
    if (!s1 || s1 == v || (size_t)(s1 - v) >= RC_VOLCANO_MAX)
        return rc_err_set(e, RC_EINVAL, "index key %s: no volcano folder", key);
    const char *s2 = strchr(s1 + 1, '/');
    if (!s2 || (size_t)(s2 - s1 - 1) >= RC_CHAN_STR_MAX)
        return rc_err_set(e, RC_EINVAL, "index key %s: no channel folder", key);
    char cs[RC_CHAN_STR_MAX];
    memcpy(cs, s1 + 1, (size_t)(s2 - s1 - 1));
    cs[s2 - s1 - 1] = '\0';
    rc_err ce;
    if (rc_chan_parse(cs, &out->chan, &ce) != RC_OK)
        return rc_err_set(e, RC_EINVAL, "index key %s: %s", key, ce.msg);
    memcpy(out->volcano, v, (size_t)(s1 - v));
    out->volcano[s1 - v] = '\0';
    int y, m, used = 0;
    if (sscanf(s2 + 1, "%4d-%2d.%n", &y, &m, &used) != 2 || used != 8 || m < 1 || m > 12)
        return rc_err_set(e, RC_EINVAL, "index key %s: the file name is not YYYY-MM.EXT", key);
    const char *ext = s2 + 1 + used;
    if (strcmp(ext, "json") == 0)
        out->kind = RC_INDEX_SUMMARY;
    else if (strcmp(ext, "dirty") == 0)
        out->kind = RC_INDEX_MARKER;
    else
        return rc_err_set(e, RC_EINVAL, "index key %s: extension is neither .json nor .dirty", key);
    out->month = rc_days_from_civil(y, m, 1) * 86400;
    return RC_OK;
}

/* ---- source state keys ---- */

#define SOURCE_STATE_ROOT "state/sources/"

/* host[:port] (sep ':') or its key form host[_port] (sep '_'): [a-z0-9.-],
 * then at most one sep and a port of 1-5 digits. */
static int host_ok(const char *h, size_t len, char sep)
{
    if (len == 0 || len > 253 || h[0] == '.' || h[0] == '-') return 0;
    int seps = 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == sep) {
            if (seps++ || i + 1 == len || len - i - 1 > 5) return 0;
        } else if (seps) {
            if (c < '0' || c > '9') return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

int rc_key_source_state(const char *host, char *out, size_t n, rc_err *e)
{
    size_t hl = host ? strlen(host) : 0;
    if (!host || !host_ok(host, hl, ':'))
        return rc_err_set(e, RC_EINVAL,
                          "source host \"%s\" cannot name a state key (lower-case letters, "
                          "digits, '.', '-', and \":PORT\")",
                          host ? host : "");
    size_t rl = strlen(SOURCE_STATE_ROOT);
    if (rl + hl + 6 > n)
        return rc_err_set(e, RC_EINVAL, "state key for source host %s is too long", host);
    memcpy(out, SOURCE_STATE_ROOT, rl);
    for (size_t i = 0; i < hl; i++)
        out[rl + i] = host[i] == ':' ? '_' : host[i];
    memcpy(out + rl + hl, ".json", 6);
    return RC_OK;
}

int rc_key_source_state_parse(const char *key, char *host, size_t n, rc_err *e)
{
    size_t rl = strlen(SOURCE_STATE_ROOT), kl = strlen(key);
    if (strncmp(key, SOURCE_STATE_ROOT, rl) != 0 || kl < rl + 6 ||
        strcmp(key + kl - 5, ".json") != 0)
        return rc_err_set(e, RC_EINVAL, "%s is not a " SOURCE_STATE_ROOT "HOST.json key", key);
    size_t hl = kl - rl - 5;
    if (!host_ok(key + rl, hl, '_') || hl >= n)
        return rc_err_set(e, RC_EINVAL, "source state key %s: not a host name", key);
    for (size_t i = 0; i < hl; i++)
        host[i] = key[rl + i] == '_' ? ':' : key[rl + i];
    host[hl] = '\0';
    return RC_OK;
}
