/*
 * report_html.c: the inventory as one self-contained HTML page: an inline
 * SVG availability grid, one row per channel (grouped by location, then
 * volcano), one cell per day coloured by completeness of the base span.
 * Provisional days get a purple outline, days with filled gaps a dark dot,
 * and every cell a native tooltip (<title>) with the numbers, plus data-*
 * attributes so a test can read the grid from the DOM. Each cell also
 * carries the day's two 144-window bitmaps (data-present10, data-empty10,
 * 18 bytes as hex, bit k of byte k/8 = window k x 10 min); a small inline
 * script draws them as a detail strip when a day is hovered or clicked
 * (#day=CHAN@DATE opens one directly). Per row and per volcano group the
 * share of expected 10-minute windows present, and of what the source has
 * (windows it never recorded left out); per row the newest cached window and
 * its age at generation; the generating store (credentials redacted) and
 * time. No external request: the page can be mailed or served from the
 * bucket.
 */
#include "r2cache/inventory.h"
#include "r2cache/report.h"
#include "r2cache/timewin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL_W 12
#define CELL_H 14
#define LABEL_W 170
#define HEAD_H 40
#define GROUP_H 20
#define MAX_DAYS 3700 /* ten years of columns at most */
#define PCT_W 290     /* right of the grid: availability column */
#define FRESH_W 330   /* then the freshness column */

static int esc(rc_buf *b, const char *s)
{
    for (; *s; s++) {
        int rc;
        switch (*s) {
        case '&':
            rc = rc_buf_puts(b, "&amp;");
            break;
        case '<':
            rc = rc_buf_puts(b, "&lt;");
            break;
        case '>':
            rc = rc_buf_puts(b, "&gt;");
            break;
        case '"':
            rc = rc_buf_puts(b, "&quot;");
            break;
        default:
            rc = rc_buf_append(b, s, 1);
        }
        if (rc) return rc;
    }
    return 0;
}

/* Colour and status word of a day. */
static const char *day_class(const rc_inv_day *d, int64_t per_day, rc_span base, const char **fill)
{
    int64_t have = d ? d->chunks[base] : 0;
    int64_t any = 0;
    for (int s = 0; d && s < RC_SPAN_COUNT; s++)
        any += d->chunks[s];
    /* never recorded: the source was asked for every window and had none
     * (a day only partly asked stays "nothing cached") */
    int asked_all = d && d->source_empty >= RC_INV_DAY_WINDOWS;
    for (int k = 0; d && !asked_all && k <= RC_INV_DAY_WINDOWS; k++)
        if (k == RC_INV_DAY_WINDOWS)
            asked_all = 1;
        else if (!rc_inv_bit(d->empty10, k))
            break;
    if (d && !any && asked_all) {
        *fill = "#b0bec5"; /* never recorded at the source: not a hole of the cache */
        return "source-empty";
    }
    if (!d || !any) {
        *fill = "#e0e0e0";
        return "empty";
    }
    double f = (double)have / (double)per_day;
    if (have >= per_day) {
        *fill = "#2e7d32";
        return "complete";
    }
    if (f >= 0.9) {
        *fill = "#9ccc65";
        return "partial-high";
    }
    if (f >= 0.5) {
        *fill = "#fdd835";
        return "partial-mid";
    }
    *fill = "#ef6c00";
    return "partial-low";
}

static const rc_inv_day *find_day(const rc_inv_chan *ch, int64_t day)
{
    size_t lo = 0, hi = ch->ndays;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ch->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ch->ndays && ch->days[lo].day == day ? &ch->days[lo] : NULL;
}

static int cmp_chan(const void *a, const void *b)
{
    const rc_inv_chan *x = *(const rc_inv_chan *const *)a, *y = *(const rc_inv_chan *const *)b;
    int c = strcmp(x->location, y->location);
    if (!c) c = strcmp(x->volcano, y->volcano);
    if (!c) {
        char p[RC_CHAN_STR_MAX], q[RC_CHAN_STR_MAX];
        rc_chan_format(&x->chan, p);
        rc_chan_format(&y->chan, q);
        c = strcmp(p, q);
    }
    return c;
}

/* The store as the page shows it: no user:password@ and no ?query (where a
 * URL could carry a credential). */
static void redact_store(const char *url, char *out, size_t cap)
{
    if (!url) url = "(unknown store)";
    const char *sch = strstr(url, "://");
    const char *host = sch ? sch + 3 : url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    size_t pre = (size_t)(host - url);
    if (at && (!slash || at < slash)) {
        snprintf(out, cap, "%.*s%s", (int)pre, url, at + 1);
    } else {
        snprintf(out, cap, "%s", url);
    }
    char *q = strchr(out, '?');
    if (q) *q = '\0';
}

static int popcount(const uint8_t *bits)
{
    int n = 0;
    for (int k = 0; k < RC_INV_DAY_WINDOWS; k++)
        n += rc_inv_bit(bits, k);
    return n;
}

/* Windows of a row (or a group) in the drawn range. */
typedef struct row_stat {
    int64_t present, source_empty, expected;
    int64_t newest; /* end of the newest cached 10-minute window; INT64_MIN none */
} row_stat;

static void row_stats(const rc_inv_chan *ch, int64_t first, int64_t ndays, row_stat *st)
{
    st->present = st->source_empty = 0;
    st->expected = ndays * RC_INV_DAY_WINDOWS;
    st->newest = INT64_MIN;
    int64_t end = first + ndays * 86400;
    for (size_t k = 0; k < ch->ndays; k++) {
        const rc_inv_day *d = &ch->days[k];
        for (int w = RC_INV_DAY_WINDOWS - 1; w >= 0; w--)
            if (rc_inv_bit(d->present10, w)) {
                int64_t t = d->day + (int64_t)(w + 1) * 600;
                if (t > st->newest) st->newest = t;
                break;
            }
        if (d->day < first || d->day >= end) continue;
        int p = popcount(d->present10), se = 0;
        /* a summary written before the window bitmaps: the count, not where */
        if (!p && d->chunks[RC_SPAN_10M] > 0)
            p = d->chunks[RC_SPAN_10M] < RC_INV_DAY_WINDOWS ? (int)d->chunks[RC_SPAN_10M]
                                                            : RC_INV_DAY_WINDOWS;
        for (int w = 0; w < RC_INV_DAY_WINDOWS; w++)
            se += !rc_inv_bit(d->present10, w) && rc_inv_bit(d->empty10, w);
        st->present += p;
        st->source_empty += se;
    }
}

/* "83.1 %" and, when the source lacks windows, "(97.2 % of what the source has)". */
static int pct_text(rc_buf *b, const row_stat *st)
{
    if (st->expected <= 0) return rc_buf_puts(b, "-");
    int rc = rc_buf_printf(b, "%.1f %%", 100.0 * (double)st->present / (double)st->expected);
    int64_t has = st->expected - st->source_empty;
    if (st->source_empty > 0)
        rc |= has > 0 ? rc_buf_printf(b, " (%.1f %% of what the source has)",
                                      100.0 * (double)st->present / (double)has)
                      : rc_buf_puts(b, " (the source has nothing)");
    return rc;
}

/* Age as an operator reads it: "45 min", "7.5 h", "392.2 d". */
static int age_text(rc_buf *b, int64_t age)
{
    if (age < 0) return rc_buf_puts(b, "in the future");
    if (age < 3600) return rc_buf_printf(b, "%lld min", (long long)(age / 60));
    if (age < 2 * 86400) return rc_buf_printf(b, "%.1f h", (double)age / 3600.0);
    return rc_buf_printf(b, "%.1f d", (double)age / 86400.0);
}

static int hex_bits(rc_buf *b, const uint8_t *bits)
{
    int rc = 0;
    for (int i = 0; i < RC_INV_DAY_BYTES; i++)
        rc |= rc_buf_printf(b, "%02x", bits ? bits[i] : 0);
    return rc;
}

/* The detail strip: drawn by the page itself from a cell's bitmaps. */
static const char SCRIPT[] =
    "<script>\n"
    "(function(){\n"
    "var W=144,LBL={'present':'cached','missing':'not cached',"
    "'source-empty':'never recorded at the source'};\n"
    "function bit(h,k){return h?(parseInt(h.substr((k>>3)*2,2),16)>>(k&7))&1:0;}\n"
    "function hm(m){var h=Math.floor(m/60),i=m%60;return(h<10?'0':'')+h+':'+(i<10?'0':'')+i;}\n"
    "function show(c){\n"
    " var ch=c.parentNode.getAttribute('data-chan'),d=c.getAttribute('data-date');\n"
    " var p=c.getAttribute('data-present10'),e=c.getAttribute('data-empty10');\n"
    " var s=document.getElementById('strip'),n={'present':0,'missing':0,'source-empty':0};\n"
    " var dt=document.getElementById('detail');\n"
    " s.textContent='';dt.setAttribute('data-chan',ch);dt.setAttribute('data-date',d);\n"
    " if(c.getAttribute('data-windows-unknown')){dt.style.display='block';\n"
    "  document.getElementById('detail-title').textContent=ch+' '+d+': '+\n"
    "  c.getAttribute('data-chunks')+' chunks cached; this summary does not say which '+\n"
    "  'windows (r2cache inventory --scan does)';return;}\n"
    " for(var k=0;k<W;k++){var t=bit(p,k)?'present':(bit(e,k)?'source-empty':'missing');n[t]++;\n"
    "  var el=document.createElement('span');el.className='w '+t;el.setAttribute('data-k',k);\n"
    "  el.title=d+' '+hm(k*10)+'\\u2013'+hm(k*10+10)+' UTC: '+LBL[t];s.appendChild(el);}\n"
    " dt.setAttribute('data-present',n['present']);\n"
    " dt.setAttribute('data-missing',n['missing']);\n"
    " dt.setAttribute('data-source-empty',n['source-empty']);\n"
    " document.getElementById('detail-title').textContent=ch+' '+d+': '+n['present']+\n"
    "  ' of 144 ten-minute windows cached, '+n['missing']+' not cached, '+n['source-empty']+\n"
    "  ' never recorded at the source';\n"
    " dt.style.display='block';}\n"
    "function cell(t){return t&&t.classList&&t.classList.contains('cell')?t:null;}\n"
    "var g=document.getElementById('grid');\n"
    "g.addEventListener('mouseover',function(ev){var c=cell(ev.target);if(c)show(c);});\n"
    "g.addEventListener('click',function(ev){var c=cell(ev.target);if(!c)return;show(c);\n"
    " history.replaceState(null,'','#day='+c.parentNode.getAttribute('data-chan')+'@'+\n"
    " c.getAttribute('data-date'));});\n"
    "var m=/^#day=([^@]+)@(.+)$/.exec(decodeURIComponent(location.hash));\n"
    "if(m){var rs=g.querySelectorAll('g.row');for(var i=0;i<rs.length;i++)\n"
    " if(rs[i].getAttribute('data-chan')===m[1]){var cs=rs[i].querySelectorAll('rect.cell');\n"
    "  for(var j=0;j<cs.length;j++)if(cs[j].getAttribute('data-date')===m[2])show(cs[j]);}}\n"
    "var tk=g.querySelectorAll('text.tick'),ov=0;\n"
    "for(var a=0;a<tk.length;a++)for(var b=a+1;b<tk.length;b++){\n"
    " var x=tk[a].getBBox(),y=tk[b].getBBox();\n"
    " if(x.x<y.x+y.width&&y.x<x.x+x.width&&x.y<y.y+y.height&&y.y<x.y+x.height)ov++;}\n"
    "g.setAttribute('data-tick-overlaps',ov);\n"
    "})();\n"
    "</script>\n";

/* Width in px of a label of n characters at the ticks' 11px monospace. */
#define TICK_CH_W 7

int rc_report_html(const rc_inventory *inv, int64_t from, int64_t to, rc_span base,
                   const char *title, const char *store, int64_t generated, rc_buf *out, rc_err *e)
{
    const rc_inv_chan **rows = calloc(inv->n + 1, sizeof *rows);
    row_stat *stats = calloc(inv->n + 1, sizeof *stats);
    if (!rows || !stats) {
        free(rows);
        free(stats);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    size_t nr = 0;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < inv->n; i++) {
        const rc_inv_chan *ch = &inv->ch[i];
        if (!ch->selected) continue;
        rows[nr++] = ch;
        for (size_t k = 0; k < ch->ndays; k++) {
            int64_t d = ch->days[k].day;
            if (d + 86400 <= from || d >= to) continue;
            first = d < first ? d : first;
            last = d > last ? d : last;
        }
    }
    qsort(rows, nr, sizeof *rows, cmp_chan);
    /* An explicit range is drawn whole, holes at its ends included. */
    if (from > INT64_MIN / 4) first = rc_day_start(from);
    if (to < INT64_MAX / 4) last = rc_day_start(to - 1);
    int64_t ndays = first <= last ? (last - first) / 86400 + 1 : 0;
    if (ndays > MAX_DAYS) {
        first = last - (MAX_DAYS - 1) * 86400LL;
        ndays = MAX_DAYS;
    }
    for (size_t r = 0; r < nr; r++)
        row_stats(rows[r], first, ndays, &stats[r]);
    int64_t per_day = 86400 / rc_span_seconds(base);
    const char *bname = rc_span_name(base);

    /* groups: a header row per new location / volcano */
    size_t ngroups = 0;
    for (size_t r = 0; r < nr; r++)
        if (r == 0 || strcmp(rows[r]->location, rows[r - 1]->location) ||
            strcmp(rows[r]->volcano, rows[r - 1]->volcano))
            ngroups++;
    long gridr = LABEL_W + (long)ndays * CELL_W;
    long width = gridr + 10 + PCT_W + FRESH_W;
    long height = HEAD_H + (long)ngroups * GROUP_H + (long)nr * CELL_H + 10;
    int rc = 0;
    rc |= rc_buf_puts(out,
                      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    rc |= esc(out, title);
    rc |= rc_buf_puts(
        out, "</title>\n<style>\n"
             "body{font-family:sans-serif;margin:16px;color:#212121;background:#fff}\n"
             "h1{font-size:18px} .legend span{display:inline-block;margin-right:14px}\n"
             ".sw{display:inline-block;width:12px;height:12px;vertical-align:middle;"
             "margin-right:4px;border:1px solid #999}\n"
             "svg text{font-size:11px;font-family:monospace}\n"
             "svg .grp{font-weight:bold;font-family:sans-serif}\n"
             "svg .head{font-weight:bold}\n"
             "rect.cell{cursor:pointer} rect.cell:hover{stroke:#000;stroke-width:1}\n"
             "#detail{display:none;margin:8px 0 12px 0;padding:6px;border:1px solid #bbb;"
             "width:max-content}\n"
             "#strip{display:flex;height:26px} #strip .w{width:6px;height:26px;margin-right:1px}\n"
             "#hours{display:flex;font:10px monospace} #hours span{width:42px}\n"
             ".w.present{background:#2e7d32} .w.missing{background:#e53935}\n"
             ".w.source-empty{background:#90a4ae}\n"
             "</style></head><body>\n<h1>");
    rc |= esc(out, title);
    rc |= rc_buf_puts(out, "</h1>\n");
    char gen[RC_TIME_STR_MAX], sdesc[1024];
    rc_time_iso(generated, gen);
    redact_store(store, sdesc, sizeof sdesc);
    rc |= rc_buf_printf(out, "<p id=\"generated\" data-generated=\"%lld\">Generated %s from ",
                        (long long)generated, gen);
    rc |= esc(out, sdesc);
    rc |= rc_buf_puts(out, "</p>\n");
    char d0[RC_TIME_STR_MAX] = "-", d1[RC_TIME_STR_MAX] = "-";
    if (ndays) {
        rc_time_date(first, d0);
        rc_time_date(last, d1);
    }
    rc |= rc_buf_printf(out,
                        "<p id=\"summary\">%zu channels, %lld days (%s to %s); cell colour = "
                        "share of the day's %lld %s chunks present. Hover or click a day for "
                        "its 144 ten-minute windows.</p>\n",
                        nr, (long long)ndays, d0, d1, (long long)per_day, bname);
    rc |= rc_buf_puts(
        out, "<p class=\"legend\">"
             "<span><i class=\"sw\" style=\"background:#2e7d32\"></i>complete</span>"
             "<span><i class=\"sw\" style=\"background:#9ccc65\"></i>&ge;90%</span>"
             "<span><i class=\"sw\" style=\"background:#fdd835\"></i>&ge;50%</span>"
             "<span><i class=\"sw\" style=\"background:#ef6c00\"></i>&lt;50%</span>"
             "<span><i class=\"sw\" style=\"background:#e0e0e0\"></i>nothing cached</span>"
             "<span><i class=\"sw\" style=\"background:#b0bec5\"></i>never recorded at the "
             "source</span>"
             "<span><i class=\"sw\" style=\"background:#fff;border:2px solid #6a1b9a\"></i>"
             "provisional chunks</span>"
             "<span>&#9679; gaps filled</span></p>\n");
    rc |= rc_buf_puts(out,
                      "<div id=\"detail\"><div id=\"detail-title\"></div><div id=\"strip\"></div>"
                      "<div id=\"hours\">");
    for (int h = 0; h < 24; h++)
        rc |= rc_buf_printf(out, "<span>%02d</span>", h);
    rc |= rc_buf_puts(
        out, "</div><p class=\"legend\">"
             "<span><i class=\"sw\" style=\"background:#2e7d32\"></i>cached</span>"
             "<span><i class=\"sw\" style=\"background:#e53935\"></i>not cached</span>"
             "<span><i class=\"sw\" style=\"background:#90a4ae\"></i>never recorded at the "
             "source</span></p></div>\n");
    if (inv->unparsed)
        rc |= rc_buf_printf(out, "<p id=\"unparsed\">%lld keys do not parse (e.g. ",
                            (long long)inv->unparsed),
            rc |= esc(out, inv->examples[0]), rc |= rc_buf_puts(out, ")</p>\n");
    rc |= rc_buf_printf(out,
                        "<svg id=\"grid\" width=\"%ld\" "
                        "height=\"%ld\" viewBox=\"0 0 %ld %ld\">\n",
                        width, height, width, height);
    /* Ticks along the top: a month label where a month starts (and at the
     * left edge), day numbers wherever they fit; none overlaps another. */
    long month_free = 0, day_free = 0;
    for (int64_t i = 0; i < ndays; i++) {
        rc_tm tm;
        rc_time_split(first + i * 86400, &tm);
        long x = LABEL_W + (long)i * CELL_W;
        if ((tm.mday == 1 || i == 0) && x >= month_free) {
            rc |= rc_buf_printf(out,
                                "<text class=\"tick month\" x=\"%ld\" y=\"%d\">%04d-%02d</text>\n",
                                x, HEAD_H - 22, tm.year, tm.mon);
            month_free = x + 7 * TICK_CH_W + 4;
        }
        long w = (tm.mday >= 10 ? 2 : 1) * TICK_CH_W;
        /* the next month's first day keeps its place */
        int64_t to_first = 0;
        for (int64_t j = i + 1; j < ndays && !to_first; j++) {
            rc_tm t2;
            rc_time_split(first + j * 86400, &t2);
            if (t2.mday == 1) to_first = j;
            if (j - i > 3) break;
        }
        int fits = x >= day_free && (!to_first || x + w + 3 <= LABEL_W + (long)to_first * CELL_W);
        if (tm.mday == 1 || fits) {
            rc |= rc_buf_printf(out, "<text class=\"tick day\" x=\"%ld\" y=\"%d\">%d</text>\n", x,
                                HEAD_H - 6, tm.mday);
            day_free = x + w + 4;
        }
    }
    rc |=
        rc_buf_printf(out,
                      "<text class=\"head\" x=\"%ld\" y=\"%d\">windows cached</text>\n"
                      "<text class=\"head\" x=\"%ld\" y=\"%d\">newest cached window (age)</text>\n",
                      gridr + 10, HEAD_H - 6, gridr + 10 + PCT_W, HEAD_H - 6);
    long y = HEAD_H;
    for (size_t r = 0; r < nr && !rc; r++) {
        const rc_inv_chan *ch = rows[r];
        if (r == 0 || strcmp(ch->location, rows[r - 1]->location) ||
            strcmp(ch->volcano, rows[r - 1]->volcano)) {
            row_stat gs = {0, 0, 0, INT64_MIN};
            for (size_t q = r; q < nr && !strcmp(rows[q]->location, ch->location) &&
                               !strcmp(rows[q]->volcano, ch->volcano);
                 q++) {
                gs.present += stats[q].present;
                gs.source_empty += stats[q].source_empty;
                gs.expected += stats[q].expected;
            }
            rc |= rc_buf_printf(out, "<text class=\"grp\" x=\"2\" y=\"%ld\">", y + 14);
            rc |= esc(out, ch->location[0] ? ch->location : "unknown location");
            rc |= rc_buf_puts(out, " / ");
            rc |= esc(out, ch->volcano);
            rc |= rc_buf_printf(out,
                                "</text>\n<text class=\"grp grp-pct\" x=\"%ld\" y=\"%ld\" "
                                "data-group=\"",
                                gridr + 10, y + 14);
            rc |= esc(out, ch->location[0] ? ch->location : "unknown location");
            rc |= rc_buf_puts(out, " / ");
            rc |= esc(out, ch->volcano);
            rc |= rc_buf_puts(out, "\">");
            rc |= pct_text(out, &gs);
            rc |= rc_buf_puts(out, "</text>\n");
            y += GROUP_H;
        }
        char cs[RC_CHAN_STR_MAX];
        rc_chan_format(&ch->chan, cs);
        rc |= rc_buf_printf(out,
                            "<g class=\"row\" data-chan=\"%s\" data-volcano=\"%s\" "
                            "data-location=\"",
                            cs, ch->volcano);
        rc |= esc(out, ch->location);
        rc |= rc_buf_printf(out, "\">\n<text x=\"8\" y=\"%ld\">%s</text>\n", y + CELL_H - 3, cs);
        const row_stat *st = &stats[r];
        rc |= rc_buf_printf(out,
                            "<text class=\"pct\" x=\"%ld\" y=\"%ld\" data-present=\"%lld\" "
                            "data-source-empty=\"%lld\" data-expected=\"%lld\">",
                            gridr + 10, y + CELL_H - 3, (long long)st->present,
                            (long long)st->source_empty, (long long)st->expected);
        rc |= pct_text(out, st);
        rc |= rc_buf_printf(out, "</text>\n<text class=\"fresh\" x=\"%ld\" y=\"%ld\"",
                            gridr + 10 + PCT_W, y + CELL_H - 3);
        if (st->newest == INT64_MIN) {
            rc |= rc_buf_puts(out, ">nothing cached</text>\n");
        } else {
            char nw[RC_TIME_STR_MAX];
            rc_time_iso(st->newest, nw);
            rc |= rc_buf_printf(out, " data-newest=\"%lld\">%s (", (long long)st->newest, nw);
            rc |= age_text(out, generated - st->newest);
            rc |= rc_buf_puts(out, " old)</text>\n");
        }
        for (int64_t i = 0; i < ndays; i++) {
            int64_t day = first + i * 86400;
            const rc_inv_day *d = find_day(ch, day);
            const char *fill;
            const char *cls = day_class(d, per_day, base, &fill);
            char ds[RC_TIME_STR_MAX];
            rc_time_date(day, ds);
            long x = LABEL_W + (long)i * CELL_W;
            int prov = d && d->provisional > 0;
            int64_t have = d ? d->chunks[base] : 0;
            rc |= rc_buf_printf(
                out,
                "<rect class=\"cell %s%s\" x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" "
                "fill=\"%s\"%s data-date=\"%s\" data-chunks=\"%lld\" data-chunks-6h=\"%lld\" "
                "data-missing=\"%lld\" data-source-empty=\"%lld\" data-provisional=\"%lld\" "
                "data-gaps=\"%lld\" data-present10=\"",
                cls, prov ? " provisional" : "", x, y + 1, CELL_W - 1, CELL_H - 2, fill,
                prov ? " stroke=\"#6a1b9a\" stroke-width=\"2\"" : "", ds, (long long)have,
                (long long)(d ? d->chunks[RC_SPAN_6H] : 0),
                (long long)(per_day - have > 0 ? per_day - have : 0),
                (long long)(d ? d->source_empty : 0), (long long)(d ? d->provisional : 0),
                (long long)(d ? d->gap_count : 0));
            rc |= hex_bits(out, d ? d->present10 : NULL);
            rc |= rc_buf_puts(out, "\" data-empty10=\"");
            rc |= hex_bits(out, d ? d->empty10 : NULL);
            /* chunks listed but no window bitmap (a summary older than them) */
            int unknown = d && d->chunks[RC_SPAN_10M] > 0 && !popcount(d->present10);
            rc |= rc_buf_puts(out, unknown ? "\" data-windows-unknown=\"1\">" : "\">");
            if (d)
                rc |= rc_buf_printf(out,
                                    "<title>%s %s: %lld/%lld %s chunks, %lld 6h chunks, %lld "
                                    "provisional, %lld gaps (%lld samples filled), %lld "
                                    "windows never recorded at the source, %.3f MB%s"
                                    "</title></rect>",
                                    cs, ds, (long long)have, (long long)per_day, bname,
                                    (long long)d->chunks[RC_SPAN_6H], (long long)d->provisional,
                                    (long long)d->gap_count, (long long)d->gap_samples_filled,
                                    (long long)d->source_empty,
                                    (double)(d->bytes + d->manifest_bytes) / 1048576.0,
                                    d->has_manifest ? "" : ", no manifest");
            else
                rc |= rc_buf_printf(out, "<title>%s %s: nothing cached</title></rect>", cs, ds);
            if (d && d->gap_count > 0)
                rc |= rc_buf_printf(out,
                                    "<circle class=\"gap\" cx=\"%ld\" cy=\"%ld\" r=\"2\" "
                                    "fill=\"#212121\" data-date=\"%s\"/>",
                                    x + CELL_W / 2, y + CELL_H / 2, ds);
            rc |= rc_buf_puts(out, "\n");
        }
        rc |= rc_buf_puts(out, "</g>\n");
        y += CELL_H;
    }
    rc |= rc_buf_puts(out, "</svg>\n");
    rc |= rc_buf_puts(out, SCRIPT);
    rc |= rc_buf_puts(out, "</body></html>\n");
    free(rows);
    free(stats);
    return rc ? rc_err_set(e, RC_ENOMEM, "out of memory building the HTML report") : RC_OK;
}

rc_status rc_report_page(const rc_report *r, const char *store, int64_t generated, rc_buf *out,
                         rc_err *e)
{
    const char *what = r->q.volcano ? r->q.volcano : r->q.location;
    char title[256];
    snprintf(title, sizeof title, "r2cache inventory: %s%s%s", rc_report_scope_name(r->q.scope),
             what ? " " : "", what ? what : "");
    return rc_report_html(&r->inv, r->q.from, r->q.to, r->base, title, store, generated, out, e);
}
