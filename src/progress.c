/*
 * progress.c: the progress line of a long job (see progress.h). The figures
 * are worked out from the whole job's done and total units and the
 * monotonic clock, so a job worked through in batches shows one percentage
 * that only grows and ends at 100 %.
 */
#include "r2cache/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/retry.h"

/* Terminal redraws at most this often (a redraw per answered request would
 * flood a slow terminal). */
#define TTY_REDRAW_S 0.2

int rc_progress_interval_parse(const char *s, double *out)
{
    char *end = NULL;
    double v = s && *s ? strtod(s, &end) : -1;
    if (!end || *end || !(v >= 0) || v > 1e7) return -1;
    *out = v;
    return 0;
}

void rc_progress_init(rc_progress *p, const rc_progress_opts *o, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->o = *o;
    if (!p->o.command) p->o.command = "";
    if (!p->o.unit) p->o.unit = "units";
    p->total = total > 0 ? total : 0;
    p->t0 = rc_retry_monotonic_s();
    p->last = p->t0;
}

void rc_progress_set_total(rc_progress *p, int64_t total)
{
    if (total > 0) p->total = total;
}

void rc_progress_figures_at(const rc_progress *p, double elapsed_s, rc_progress_figures *f)
{
    memset(f, 0, sizeof *f);
    f->done = p->done;
    f->total = p->total > p->done ? p->total : p->done;
    f->bytes = p->bytes;
    f->elapsed_s = elapsed_s > 0 ? elapsed_s : 0;
    /* rounded down to 0.1 %: 100.0 only when everything is done */
    f->percent = f->total ? floor(1000.0 * (double)f->done / (double)f->total) / 10
                          : (p->finished ? 100 : 0);
    f->per_second = f->elapsed_s > 0 ? (double)f->done / f->elapsed_s : 0;
    f->eta_s = f->done > 0 ? f->elapsed_s * (double)(f->total - f->done) / (double)f->done : -1;
}

/* 1.2 MB, 345 kB, 12 B: decimal units, as the summary lines count bytes. */
static void human_bytes(int64_t b, char *out, size_t n)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1000 && u < 5) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%lld B", (long long)b);
    else
        snprintf(out, n, "%.1f %s", v, units[u]);
}

/* 47s, 3m05s, 2h03m */
static void human_secs(double s, char *out, size_t n)
{
    if (s < 0) {
        snprintf(out, n, "-");
        return;
    }
    long long t = (long long)llround(s);
    if (t < 60)
        snprintf(out, n, "%llds", t);
    else if (t < 3600)
        snprintf(out, n, "%lldm%02llds", t / 60, t % 60);
    else
        snprintf(out, n, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
}

size_t rc_progress_format(const rc_progress *p, const rc_progress_figures *f, char *buf, size_t n)
{
    char by[32], el[32], eta[32];
    human_bytes(f->bytes, by, sizeof by);
    human_secs(f->elapsed_s, el, sizeof el);
    human_secs(f->eta_s, eta, sizeof eta);
    int r = snprintf(buf, n, "%s %5.1f%%  %lld/%lld %s  %.1f %s/s  %s  elapsed %s  ETA %s",
                     p->o.command, f->percent, (long long)f->done, (long long)f->total, p->o.unit,
                     f->per_second, p->o.unit, by, el, eta);
    return r < 0 ? 0 : (size_t)r;
}

static void draw(rc_progress *p, double now)
{
    rc_progress_figures f;
    rc_progress_figures_at(p, now - p->t0, &f);
    char line[256];
    size_t len = rc_progress_format(p, &f, line, sizeof line);
    if (len >= sizeof line) len = sizeof line - 1;
    p->last = now;
    if (p->o.tty) {
        /* carriage return, the line, then clear what a longer line left */
        fprintf(p->o.tty, "\r%s\033[K", line);
        if (p->finished) fputc('\n', p->o.tty);
        fflush(p->o.tty);
        p->width = len;
        return;
    }
    if (!p->o.log) return;
    rc_log_field fl[] = {
        RC_LOG_STR("command", p->o.command),
        RC_LOG_STR("unit", p->o.unit),
        RC_LOG_NUM("percent", f.percent),
        RC_LOG_NUM("done", f.done),
        RC_LOG_NUM("total", f.total),
        RC_LOG_NUM("per_second", round(f.per_second * 100) / 100),
        RC_LOG_NUM("bytes", f.bytes),
        RC_LOG_NUM("elapsed_s", round(f.elapsed_s * 10) / 10),
        /* not known yet: null in JSON */
        RC_LOG_NUM("eta_s", f.eta_s < 0 ? NAN : round(f.eta_s * 10) / 10),
    };
    rc_log_kv(p->o.log, RC_LOG_INFO, "progress", fl, sizeof fl / sizeof *fl, "%s", line);
}

void rc_progress_update(rc_progress *p, int64_t done, int64_t bytes)
{
    if (p->finished) return;
    if (done > p->done) p->done = done;
    if (bytes > p->bytes) p->bytes = bytes;
    double now = rc_retry_monotonic_s();
    double every = p->o.tty ? TTY_REDRAW_S : p->o.interval_s;
    if (every <= 0 && !p->o.tty) return;
    if (now - p->last >= every || (p->o.tty && p->width == 0)) draw(p, now);
}

void rc_progress_show(rc_progress *p)
{
    if (p->o.tty && !p->finished) draw(p, rc_retry_monotonic_s());
}

void rc_progress_finish(rc_progress *p)
{
    if (p->finished) return;
    p->finished = 1;
    if (p->o.tty || p->o.interval_s > 0) draw(p, rc_retry_monotonic_s());
}
