/*
 * progress.h: where a long job (fill, migrate) is, over the whole job.
 *
 * A meter is told the job's total units (windows for fill, channel-days for
 * migrate) and, as work is done, how many are done and how many bytes moved.
 * On a terminal it keeps one line redrawn in place, like rclone's -P:
 *
 *   fill  43.0%  432/1008 windows  12.3 windows/s  1.2 MB  elapsed 35s  ETA 47s
 *
 * Without a terminal it writes the same figures through the logger every
 * interval_s seconds (event "progress"; in JSON mode as the fields percent,
 * done, total, unit, per_second, bytes, elapsed_s, eta_s), and once more at
 * the end (no line at all when interval_s <= 0). Durations are measured on the monotonic clock
 * (retry.h). A meter is a value owned by its caller; nothing here is global.
 */
#ifndef R2CACHE_PROGRESS_H
#define R2CACHE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "r2cache/log.h"

typedef struct rc_progress_opts {
    const char *command; /* "fill", "migrate": first word of every line */
    const char *unit;    /* "windows", "channel-days" */
    FILE *tty;           /* the terminal to redraw the line on, or NULL: no terminal */
    const rc_log *log;   /* non-terminal lines (NULL: none) */
    double interval_s;   /* seconds between non-terminal lines; <= 0: only the last one */
} rc_progress_opts;

typedef struct rc_progress {
    rc_progress_opts o;
    double t0;   /* monotonic start */
    double last; /* monotonic time of the last line */
    int64_t done, total, bytes;
    size_t width; /* characters of the line on the terminal now */
    int finished;
} rc_progress;

/* The figures of a line at a time (seconds since the start). eta_s < 0:
 * not known yet (nothing done). */
typedef struct rc_progress_figures {
    double percent, per_second, elapsed_s, eta_s;
    int64_t done, total, bytes;
} rc_progress_figures;

/* Seconds between non-terminal lines, default 30 */
#define RC_PROGRESS_INTERVAL_DEFAULT 30.0

/* Parse --progress-interval: seconds, a number >= 0 (0: no line but on a
 * terminal). -1 when it is not such a number. */
int rc_progress_interval_parse(const char *s, double *out);

/* Start a meter now over total units (0 when not known yet). */
void rc_progress_init(rc_progress *p, const rc_progress_opts *o, int64_t total);

/* The total once it is known (or when it grows). */
void rc_progress_set_total(rc_progress *p, int64_t total);

/* The job has done `done` units (never fewer than before: a smaller value is
 * ignored) and moved `bytes` bytes in all. Draws the line when due: on a
 * terminal at most every 0.2 s, otherwise every interval_s. */
void rc_progress_update(rc_progress *p, int64_t done, int64_t bytes);

/* On a terminal: draw the line now (after other output, such as log lines,
 * took its place). Does nothing without a terminal. */
void rc_progress_show(rc_progress *p);

/* The last line (on a terminal: redrawn and ended with a newline; without
 * one: logged, when interval_s > 0). Once; later calls do nothing. */
void rc_progress_finish(rc_progress *p);

/* The figures at elapsed seconds. */
void rc_progress_figures_at(const rc_progress *p, double elapsed_s, rc_progress_figures *f);

/* The text of a line ("fill  43.0%  432/1008 windows ..."), NUL-terminated,
 * truncated to n. Returns the length it needed. */
size_t rc_progress_format(const rc_progress *p, const rc_progress_figures *f, char *buf, size_t n);

#endif
