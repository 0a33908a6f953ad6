/*
 * source_sds.c: miniSEED from a local SeisComP Data Structure archive.
 *
 * Layout: ROOT/YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY, one file per
 * channel-day. A record is filed under the day its first sample falls in, so
 * a record that starts at 23:59:58 holds samples of the next day: for every
 * line we therefore also read the day before the span's first day. Records
 * are returned whole (as FDSN servers do) when their time coverage, first
 * sample to one sample period past the last, overlaps [start, end); the
 * shape module trims. Day files are read whole: they are tens of MB at most,
 * and one read beats a seek per record. Each file is walked once (mseed.h's
 * rc_mseed_walk): the same pass judges it and picks the records.
 */
#include "source_int.h"

#include "r2cache/mseed.h"
#include "r2cache/timewin.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmseed.h>

#define DAY_S 86400

typedef struct sds_impl {
    char *root; /* absolute path, no trailing slash */
} sds_impl;

/* End of a record's time coverage in microseconds (exclusive). A record
 * without samples or rate covers one microsecond, so it still matches a span
 * that contains its start. tests/fdsn_server.py computes the same. */
static hptime_t record_end(hptime_t start, int64_t nsamp, double rate)
{
    if (nsamp <= 0 || !(rate > 0)) return start + 1;
    hptime_t len = (hptime_t)floor((double)nsamp * 1000000.0 / rate + 0.5);
    return start + (len > 0 ? len : 1);
}

/* Read the file at path into out (reset first; its allocation is reused
 * from file to file, so a fetch of many channels does not map and fault in
 * a fresh day-sized buffer for each). */
static int read_file(const char *path, rc_buf *out, int *missing, rc_err *e)
{
    *missing = 0;
    rc_buf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = 1;
            return RC_OK;
        }
        return rc_err_set(e, RC_EIO, "cannot open SDS file %s: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = RC_OK;
    size_t want = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    /* rc_buf keeps a byte past len for a NUL: read at most cap - len - 1;
     * room for more only if the file grew while it was read */
    for (;;) {
        if ((out->cap - out->len <= 1 || want) && rc_buf_reserve(out, want ? want : 65536)) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory reading SDS file %s", path);
            break;
        }
        want = 0;
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = rc_err_set(e, RC_EIO, "read error on SDS file %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        out->len += (size_t)n;
    }
    close(fd);
    return rc;
}

static int code_eq(const char *rec, const char *want)
{
    return strcmp(rec, want) == 0;
}

/* What scan_day's walk keeps: the records of one line that overlap it. */
typedef struct sds_scan {
    const rc_fetch_line *line;
    hptime_t want_start, want_end;
    size_t max_bytes;
    rc_buf *out;
    const char *path;
    rc_err *e;
} sds_scan;

static int scan_record(void *ud, const struct MSRecord_s *msr, const void *rec, size_t off,
                       size_t reclen)
{
    (void)off;
    sds_scan *sc = ud;
    const rc_chan *c = &sc->line->chan;
    hptime_t rs = msr->starttime;
    hptime_t re = record_end(rs, msr->samplecnt, msr->samprate);
    if (!code_eq(msr->network, c->net) || !code_eq(msr->station, c->sta) ||
        !code_eq(msr->location, c->loc) || !code_eq(msr->channel, c->cha) || rs >= sc->want_end ||
        re <= sc->want_start)
        return RC_OK;
    if (sc->out->len + reclen > sc->max_bytes)
        return rc_err_set(sc->e, RC_EIO,
                          "SDS answer for %s exceeds the %zu-byte answer limit "
                          "(max_body_bytes, set by fetch.max_body_mib): ask for shorter "
                          "spans or raise fetch.max_body_mib",
                          sc->path, sc->max_bytes);
    if (rc_buf_append(sc->out, rec, reclen))
        return rc_err_set(sc->e, RC_ENOMEM, "out of memory collecting records of %s", sc->path);
    return RC_OK;
}

/* Append the records of one day file that belong to line and overlap it.
 * The file is judged whole (mseed.h) in the same walk that picks the
 * records: a damaged file or one in miniSEED 3 is an error naming the file
 * and the byte offset, never a silent "no data" for the records after the
 * damage, and what was picked from it is dropped. */
static int scan_day(const char *path, const rc_fetch_line *line, size_t max_bytes, rc_buf *out,
                    rc_buf *file_buf, rc_err *e)
{
    rc_buf *file = file_buf;
    int missing = 0;
    int rc = read_file(path, file, &missing, e);
    if (rc || missing) return rc;
    size_t had = out->len;
    sds_scan sc = {line,
                   (hptime_t)line->start * HPTMODULUS,
                   (hptime_t)line->end * HPTMODULUS,
                   max_bytes,
                   out,
                   path,
                   e};
    rc_mseed_report rep;
    rc = rc_mseed_walk(file->data, file->len, scan_record, &sc, &rep);
    if (rc != RC_OK && rep.status != RC_OK) {
        if (rep.kind == RC_MSEED_V3)
            rc = rc_err_set(e, RC_EFORMAT,
                            "SDS file %s holds miniSEED 3 (record at byte offset %zu); libmseed 2 "
                            "reads miniSEED 2 only: convert the archive to miniSEED 2 or use an "
                            "FDSN source that serves miniSEED 2",
                            path, rep.offset);
        else
            rc = rc_err_set(e, RC_EFORMAT,
                            "SDS file %s: %s; the file is damaged or not miniSEED 2 (byte offset "
                            "%zu of %zu)",
                            path, rep.message, rep.offset, file->len);
    }
    if (rc != RC_OK) out->len = had;
    return rc;
}

static int fetch_line(const sds_impl *sds, const rc_fetch_line *line, size_t max_bytes, rc_buf *out,
                      rc_buf *file_buf, rc_err *e)
{
    /* Codes become path components: validation keeps "/" and ".." out. */
    int rc = rc_chan_validate(&line->chan, e);
    if (rc) return rc;
    int64_t first = rc_day_start(line->start) - DAY_S;
    int64_t last = rc_day_start(line->end - 1);
    const rc_chan *c = &line->chan;
    for (int64_t d = first; d <= last; d += DAY_S) {
        rc_tm tm;
        rc_time_split(d, &tm);
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%04d/%s/%s/%s.D/%s.%s.%s.%s.D.%04d.%03d", sds->root,
                         tm.year, c->net, c->sta, c->cha, c->net, c->sta, c->loc, c->cha, tm.year,
                         tm.yday);
        if (n < 0 || (size_t)n >= sizeof path)
            return rc_err_set(e, RC_EINVAL, "SDS path too long under %s", sds->root);
        rc = scan_day(path, line, max_bytes, out, file_buf, e);
        if (rc) return rc;
    }
    return RC_OK;
}

static int sds_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                          void *ud, rc_err *e)
{
    const sds_impl *sds = s->impl;
    rc_buf file_buf = RC_BUF_INIT; /* the day file being read, reused */
    int ret = RC_OK;
    for (size_t i = 0; i < nreq && ret == RC_OK; i++) {
        rc_fetch_result res;
        memset(&res, 0, sizeof res);
        rc_buf_init(&res.data);
        int rc = RC_OK;
        for (size_t j = 0; j < reqs[i].n && rc == RC_OK; j++)
            rc = fetch_line(sds, &reqs[i].lines[j], s->opts.max_body_bytes, &res.data, &file_buf,
                            &res.err);
        if (rc != RC_OK) {
            rc_buf_free(&res.data);
            res.status = rc;
        } else {
            res.status = res.data.len ? RC_OK : RC_ENODATA;
        }
        int stop = cb(ud, i, &res);
        rc_buf_free(&res.data);
        if (stop)
            ret = rc_err_set(e, RC_EINTR, "fetch from %s stopped after request %zu", s->shown, i);
    }
    rc_buf_free(&file_buf);
    return ret;
}

static void sds_close(rc_source *s)
{
    sds_impl *sds = s->impl;
    if (sds) {
        free(sds->root);
        free(sds);
    }
    s->impl = NULL;
}

static const rc_source_ops sds_ops = {"sds", sds_fetch_many, sds_close};

int rc_source_sds_open(rc_source *s, rc_err *e)
{
    const char *path = s->url + strlen("sds://");
    if (path[0] != '/')
        return rc_err_set(e, RC_EINVAL,
                          "SDS source URL '%s' needs an absolute path: sds:///abs/path/to/archive",
                          s->shown);
    struct stat st;
    if (stat(path, &st) != 0)
        return rc_err_set(e, RC_EINVAL,
                          "SDS archive %s (from source URL '%s') cannot be used: %s; check the "
                          "path and that the archive is mounted",
                          path, s->shown, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return rc_err_set(e, RC_EINVAL,
                          "SDS archive %s (from source URL '%s') is not a directory: give the "
                          "archive root (the folder holding the YEAR folders)",
                          path, s->shown);
    sds_impl *sds = calloc(1, sizeof *sds);
    if (!sds || !(sds->root = strdup(path))) {
        free(sds);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    }
    size_t n = strlen(sds->root);
    while (n > 1 && sds->root[n - 1] == '/')
        sds->root[--n] = '\0';
    s->impl = sds;
    s->ops = &sds_ops;
    return RC_OK;
}
