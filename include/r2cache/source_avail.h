/*
 * source_avail.h: what the data centre says it holds, from its FDSN
 * availability service (fdsnws-availability 1, as EarthScope offers it).
 *
 * rc_source_availability POSTs one "NET STA LOC CHA START END" line per
 * channel (the dataselect bulk format) to
 * {base}/fdsnws/availability/1/query with format=text,
 * merge=samplerate,quality,overlap and nodata=204, and reads the text
 * answer: a header "#Network Station Location Channel ... Earliest Latest"
 * (columns found by name; Quality and SampleRate may be there or not) and
 * one row per time span, "--" for an empty location. The spans come back
 * sorted by channel and start and merged where they touch or overlap.
 *
 * What an answer means:
 *   200 with the documented text        RC_OK, the spans
 *   204, or a 404 that is an FDSN error RC_OK, no span (nothing available)
 *     document ("Error 404: ...")
 *   a 404 that is a web server's page,  RC_EUNUSABLE: the service is absent
 *     405, 501, or nothing answers        there (the caller remembers it)
 *     (refused, unresolved; after retries)
 *   200 that is not the text (an HTML   RC_EFORMAT (never "no data")
 *     page, a row that does not read)
 *   401/403                             RC_EAUTH
 *   408/429/5xx, resets, timeouts       RC_EIO after the source's retries
 *   an sds:// source                    RC_EINVAL (no such service)
 * Messages name the URL through rc_url_redact.
 */
#ifndef R2CACHE_SOURCE_AVAIL_H
#define R2CACHE_SOURCE_AVAIL_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"
#include "r2cache/naming.h"
#include "r2cache/source.h"

typedef struct rc_avail_span {
    rc_chan chan;
    int64_t start_us, end_us; /* microseconds, as the service gave them */
} rc_avail_span;

typedef struct rc_avail {
    rc_avail_span *spans; /* sorted by channel, then start; merged */
    size_t n;
} rc_avail;

/* Ask the availability service of FDSN source s for lines (one per channel
 * and time range; the source's timeouts, CA bundle and retry limits).
 * *out is filled on RC_OK (free with rc_avail_free). */
int rc_source_availability(rc_source *s, const rc_fetch_line *lines, size_t n, rc_avail *out,
                           rc_err *e);
/* Parse a text answer (exposed for tests); what says where it came from. */
int rc_avail_parse_text(const char *body, size_t len, const char *what, rc_avail *out, rc_err *e);
void rc_avail_free(rc_avail *a);
/* Microseconds of [start_us, end_us) that a's spans of channel c cover. */
int64_t rc_avail_covered(const rc_avail *a, const rc_chan *c, int64_t start_us, int64_t end_us);
/* "host[:port]" of FDSN source s, lower case, without credentials (out:
 * n bytes); RC_EINVAL for an sds:// source or a host naming cannot take. */
int rc_source_host(const rc_source *s, char *out, size_t n, rc_err *e);

#endif
