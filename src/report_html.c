/*
 * report_html.c: the inventory as one self-contained HTML page: an inline
 * SVG availability grid, one row per channel (grouped by location, then
 * volcano), one cell per day coloured by completeness of the base span.
 * Provisional days get a purple outline, days with filled gaps a dark dot,
 * and every cell a native tooltip (<title>) with the numbers, plus data-*
 * attributes so a test can read the grid from the DOM. No script, no
 * external request: the page can be mailed or served from the bucket.
 */
#include "r2cache/inventory.h"
#include "r2cache/report.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL_W 12
#define CELL_H 14
#define LABEL_W 170
#define HEAD_H 40
#define GROUP_H 20
#define MAX_DAYS 3700 /* ten years of columns at most */

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
    if (d && !any && d->source_empty) {
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

int rc_report_html(const rc_inventory *inv, int64_t from, int64_t to, rc_span base,
                   const char *title, rc_buf *out, rc_err *e)
{
    const rc_inv_chan **rows = calloc(inv->n + 1, sizeof *rows);
    if (!rows) return rc_err_set(e, RC_ENOMEM, "out of memory");
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
    int64_t per_day = 86400 / rc_span_seconds(base);
    const char *bname = rc_span_name(base);

    /* groups: a header row per new location / volcano */
    size_t ngroups = 0;
    for (size_t r = 0; r < nr; r++)
        if (r == 0 || strcmp(rows[r]->location, rows[r - 1]->location) ||
            strcmp(rows[r]->volcano, rows[r - 1]->volcano))
            ngroups++;
    long width = LABEL_W + (long)ndays * CELL_W + 10;
    long height = HEAD_H + (long)ngroups * GROUP_H + (long)nr * CELL_H + 10;
    int rc = 0;
    rc |= rc_buf_puts(out,
                      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    rc |= esc(out, title);
    rc |=
        rc_buf_puts(out, "</title>\n<style>\n"
                         "body{font-family:sans-serif;margin:16px;color:#212121;background:#fff}\n"
                         "h1{font-size:18px} .legend span{display:inline-block;margin-right:14px}\n"
                         ".sw{display:inline-block;width:12px;height:12px;vertical-align:middle;"
                         "margin-right:4px;border:1px solid #999}\n"
                         "svg text{font-size:11px;font-family:monospace}\n"
                         "svg .grp{font-weight:bold;font-family:sans-serif}\n"
                         "rect.cell:hover{stroke:#000;stroke-width:1}\n"
                         "</style></head><body>\n<h1>");
    rc |= esc(out, title);
    rc |= rc_buf_puts(out, "</h1>\n");
    char d0[RC_TIME_STR_MAX] = "-", d1[RC_TIME_STR_MAX] = "-";
    if (ndays) {
        rc_time_date(first, d0);
        rc_time_date(last, d1);
    }
    rc |= rc_buf_printf(out,
                        "<p id=\"summary\">%zu channels, %lld days (%s to %s); cell colour = "
                        "share of the day's %lld %s chunks present.</p>\n",
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
    if (inv->unparsed)
        rc |= rc_buf_printf(out, "<p id=\"unparsed\">%lld keys do not parse (e.g. ",
                            (long long)inv->unparsed),
            rc |= esc(out, inv->examples[0]), rc |= rc_buf_puts(out, ")</p>\n");
    rc |= rc_buf_printf(out,
                        "<svg id=\"grid\" width=\"%ld\" "
                        "height=\"%ld\" viewBox=\"0 0 %ld %ld\">\n",
                        width, height, width, height);
    /* month ticks along the top */
    for (int64_t i = 0; i < ndays; i++) {
        rc_tm tm;
        rc_time_split(first + i * 86400, &tm);
        if (tm.mday == 1 || i == 0)
            rc |= rc_buf_printf(out, "<text x=\"%lld\" y=\"%d\">%04d-%02d</text>\n",
                                (long long)(LABEL_W + i * CELL_W), HEAD_H - 22, tm.year, tm.mon);
        if (tm.mday == 1 || tm.mday == 15 || i == 0)
            rc |= rc_buf_printf(out, "<text x=\"%lld\" y=\"%d\">%d</text>\n",
                                (long long)(LABEL_W + i * CELL_W), HEAD_H - 6, tm.mday);
    }
    long y = HEAD_H;
    for (size_t r = 0; r < nr && !rc; r++) {
        const rc_inv_chan *ch = rows[r];
        if (r == 0 || strcmp(ch->location, rows[r - 1]->location) ||
            strcmp(ch->volcano, rows[r - 1]->volcano)) {
            rc |= rc_buf_printf(out, "<text class=\"grp\" x=\"2\" y=\"%ld\">", y + 14);
            rc |= esc(out, ch->location[0] ? ch->location : "unknown location");
            rc |= rc_buf_puts(out, " / ");
            rc |= esc(out, ch->volcano);
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
                "data-gaps=\"%lld\">",
                cls, prov ? " provisional" : "", x, y + 1, CELL_W - 1, CELL_H - 2, fill,
                prov ? " stroke=\"#6a1b9a\" stroke-width=\"2\"" : "", ds, (long long)have,
                (long long)(d ? d->chunks[RC_SPAN_6H] : 0),
                (long long)(per_day - have > 0 ? per_day - have : 0),
                (long long)(d ? d->source_empty : 0), (long long)(d ? d->provisional : 0),
                (long long)(d ? d->gap_count : 0));
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
    rc |= rc_buf_puts(out, "</svg>\n</body></html>\n");
    free(rows);
    return rc ? rc_err_set(e, RC_ENOMEM, "out of memory building the HTML report") : RC_OK;
}

rc_status rc_report_page(const rc_report *r, rc_buf *out, rc_err *e)
{
    const char *what = r->q.volcano ? r->q.volcano : r->q.location;
    char title[256];
    snprintf(title, sizeof title, "r2cache inventory: %s%s%s", rc_report_scope_name(r->q.scope),
             what ? " " : "", what ? what : "");
    return rc_report_html(&r->inv, r->q.from, r->q.to, r->base, title, out, e);
}
