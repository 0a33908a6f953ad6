/*
 * metrics.c: one run's summary as Prometheus text, to a file or a Pushgateway.
 *
 * A cron job is a batch job: Prometheus cannot scrape it, so it leaves its
 * numbers behind. Gauges describe the last run (when it ended, how long it
 * took, how it exited, what failed); the *_total counters count over the
 * process's life, which for a batch job is the run itself (the Pushgateway's
 * convention). Labels are fixed by the command, so the text is a pure
 * function of the summary and the tests can compare it byte for byte.
 */
#include "r2cache/metrics.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { GAUGE, COUNTER } kind;

static const char *kind_name(kind k)
{
    return k == COUNTER ? "counter" : "gauge";
}

/* Label values are ours (command, shard), but escape as the format demands. */
static int put_escaped(rc_buf *b, const char *s)
{
    for (; *s; s++) {
        int rc = *s == '\\'   ? rc_buf_puts(b, "\\\\")
                 : *s == '"'  ? rc_buf_puts(b, "\\\"")
                 : *s == '\n' ? rc_buf_puts(b, "\\n")
                              : rc_buf_append(b, s, 1);
        if (rc) return rc;
    }
    return 0;
}

static int family(rc_buf *b, const char *labels, const char *name, kind k, const char *help,
                  const char *value)
{
    if (rc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %s\n", name, help, name, kind_name(k),
                      name, labels, value))
        return RC_ENOMEM;
    return 0;
}

static int fam_int(rc_buf *b, const char *labels, const char *name, kind k, const char *help,
                   int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    return family(b, labels, name, k, help, num);
}

int rc_metrics_format(const rc_metrics_run *m, rc_buf *out, rc_err *e)
{
    static const rc_engine_stats zero;
    const rc_engine_stats *s = m->stats ? m->stats : &zero;
    if (!m->command || !*m->command)
        return rc_err_set(e, RC_EINVAL, "metrics: no command name to label the series with");
    rc_buf lb = RC_BUF_INIT;
    int rc = rc_metrics_labels(m->command, m->shard_index, m->shard_count, &lb);
    if (rc) {
        rc_buf_free(&lb);
        return rc_err_set(e, RC_ENOMEM, "metrics: out of memory");
    }
    const char *L = lb.data;
    char dur[64];
    snprintf(dur, sizeof dur, "%.3f", m->duration_s);
    rc = fam_int(out, L, "r2cache_last_run_timestamp_seconds", GAUGE,
                 "Unix time at which the last r2cache command of this label finished.",
                 m->finished_at);
    rc = rc ? rc
            : family(out, L, "r2cache_run_duration_seconds", GAUGE,
                     "Wall time of that command, in seconds.", dur);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_exit_status", GAUGE,
                      "Exit status of that command: 0 ok, 1 partial, 2 usage, "
                      "3 store or source unusable.",
                      m->exit_status);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_stations", GAUGE,
                      "Channels selected by the configuration, scope and shard.", m->stations);
    if (m->status_only) goto extra;
    if (!rc && m->stations_failed >= 0)
        rc = fam_int(out, L, "r2cache_stations_failed", GAUGE,
                     "Channels with at least one failed or incomplete window.", m->stations_failed);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_windows", GAUGE,
                      "Windows the last run or fill was responsible for.", s->windows);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_windows_failed", GAUGE,
                      "Windows that failed or stayed incomplete after every retry.",
                      s->failed + s->held);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_windows_no_data", GAUGE,
                      "Windows for which the source had no sample at all.", s->nodata);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_chunks_written_total", COUNTER,
                      "Chunks written (new or replaced).", s->added);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_chunks_provisional_total", COUNTER,
                      "Chunks written provisional, below the completeness threshold.",
                      s->provisional);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_chunks_present", GAUGE,
                      "Windows skipped because their chunk was already cached.", s->present);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_requests_total", COUNTER,
                      "Requests made to the source (HTTP attempts or SDS reads).", s->requests);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_bytes_fetched", GAUGE,
                      "miniSEED bytes received from the source.", s->bytes_fetched);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_bytes_written", GAUGE,
                      "Compressed chunk bytes written to the store.", s->bytes_written);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_gap_samples_filled", GAUGE,
                      "Samples interpolated into gaps of the written chunks.", s->gap_samples);
    rc = rc ? rc
            : fam_int(out, L, "r2cache_manifests_written_total", COUNTER, "Daily manifest writes.",
                      s->manifests);
extra:
    if (!rc && m->extra) rc = rc_buf_puts(out, m->extra);
    rc_buf_free(&lb);
    if (rc) return rc_err_set(e, RC_ENOMEM, "metrics: out of memory");
    return RC_OK;
}

int rc_metrics_labels(const char *command, int shard_index, int shard_count, rc_buf *out)
{
    int rc = rc_buf_puts(out, "command=\"");
    rc = rc ? rc : put_escaped(out, command);
    rc = rc ? rc : rc_buf_puts(out, "\"");
    if (!rc && shard_count > 1)
        rc = rc_buf_printf(out, ",shard=\"%d/%d\"", shard_index, shard_count);
    return rc ? RC_ENOMEM : 0;
}

int rc_metrics_gauge_head(rc_buf *out, const char *name, const char *help)
{
    return rc_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) ? RC_ENOMEM : 0;
}

static int put_label(rc_buf *b, const char *k, const char *v)
{
    int rc = rc_buf_printf(b, ",%s=\"", k);
    rc = rc ? rc : put_escaped(b, v);
    return rc ? rc : rc_buf_puts(b, "\"");
}

int rc_metrics_chan_sample(rc_buf *out, const char *name, const char *labels, const rc_chan *c,
                           const char *more, double value)
{
    char num[64];
    if (isinf(value))
        snprintf(num, sizeof num, "%s", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 9e15)
        snprintf(num, sizeof num, "%lld", (long long)value);
    else
        snprintf(num, sizeof num, "%.6g", value);
    int rc = rc_buf_printf(out, "%s{%s", name, labels);
    rc = rc ? rc : put_label(out, "network", c->net);
    rc = rc ? rc : put_label(out, "station", c->sta);
    rc = rc ? rc : put_label(out, "location", c->loc);
    rc = rc ? rc : put_label(out, "channel", c->cha);
    if (!rc && more) rc = rc_buf_puts(out, more);
    rc = rc ? rc : rc_buf_printf(out, "} %s\n", num);
    return rc ? RC_ENOMEM : 0;
}

int rc_metrics_channels(const rc_metrics_chan *v, size_t n, const char *labels, rc_buf *out)
{
    int rc = rc_metrics_gauge_head(out, "r2cache_channel_freshness_seconds",
                                   "Age of the newest cached sample of the channel, in seconds "
                                   "(+Inf: nothing cached in the last 7 days).");
    for (size_t i = 0; i < n && !rc; i++)
        rc = rc_metrics_chan_sample(out, "r2cache_channel_freshness_seconds", labels, v[i].chan,
                                    NULL, v[i].freshness_s);
    rc = rc ? rc
            : rc_metrics_gauge_head(out, "r2cache_channel_completeness_ratio",
                                    "Completeness of the channel's last day of base windows "
                                    "(0..1; the 24 h ending at the newest window due).");
    for (size_t i = 0; i < n && !rc; i++)
        rc = rc_metrics_chan_sample(out, "r2cache_channel_completeness_ratio", labels, v[i].chan,
                                    NULL, v[i].completeness);
    return rc;
}

const char *rc_metrics_gap_family(int seconds)
{
    return seconds ? "r2cache_channel_gap_seconds" : "r2cache_channel_gaps";
}

int rc_metrics_gap_head(rc_buf *out, int seconds)
{
    return rc_metrics_gauge_head(
        out, rc_metrics_gap_family(seconds),
        seconds ? "Seconds of the channel's gaps of that span, severity and kind over the range "
                  "of the last r2cache gaps."
                : "Gaps (runs of missing windows) of the channel and span over the range of the "
                  "last r2cache gaps, by severity and kind.");
}

int rc_metrics_write_file(const char *path, const char *text, size_t len, rc_err *e)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return rc_err_set(e, RC_ENOMEM, "metrics file %s: out of memory", path);
    /* node_exporter reads only *.prom, so the temp name must not end in it */
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return rc_err_set(e, RC_EIO,
                          "metrics file %s: cannot create %s.tmp.*: %s; check that the directory "
                          "exists and is writable",
                          path, path, strerror(err));
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc_err_set(e, RC_EIO, "metrics file %s: write failed: %s", path, strerror(err));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        free(tmp);
        return rc_err_set(e, RC_EIO, "metrics file %s: cannot replace it: %s", path, strerror(err));
    }
    free(tmp);
    return RC_OK;
}

static int safe_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int put_segment(rc_buf *b, const char *s)
{
    if (!*s) return rc_buf_puts(b, "_");
    for (; *s; s++) {
        char c = safe_char(*s) ? *s : '_';
        if (rc_buf_append(b, &c, 1)) return RC_ENOMEM;
    }
    return 0;
}

int rc_metrics_push_url(const char *base, const char *instance, const char *command, rc_buf *out,
                        rc_err *e)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (n == 0 || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0))
        return rc_err_set(e, RC_EINVAL,
                          "--metrics-push %s: give the Pushgateway's base URL, for example "
                          "http://pushgateway:9091",
                          base);
    int rc = rc_buf_append(out, base, n);
    rc = rc ? rc : rc_buf_puts(out, "/metrics/job/r2cache/instance/");
    rc = rc ? rc : put_segment(out, instance);
    rc = rc ? rc : rc_buf_puts(out, "/command/");
    rc = rc ? rc : put_segment(out, command);
    return rc ? rc_err_set(e, RC_ENOMEM, "metrics: out of memory") : RC_OK;
}

void rc_metrics_instance(char *out, size_t cap)
{
    const char *v = getenv("R2CACHE_METRICS_INSTANCE");
    if (v && *v) {
        snprintf(out, cap, "%s", v);
        return;
    }
    if (gethostname(out, cap) != 0) snprintf(out, cap, "unknown");
    out[cap - 1] = '\0';
}

typedef struct answer {
    char text[256];
    size_t len;
} answer;

static size_t keep_start(char *p, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    size_t room = sizeof a->text - 1 - a->len;
    size_t k = n < room ? n : room;
    memcpy(a->text + a->len, p, k);
    a->len += k;
    a->text[a->len] = '\0';
    return n;
}

int rc_metrics_push(const char *url, const char *text, size_t len, long timeout_s, rc_err *e)
{
    CURL *c = curl_easy_init();
    if (!c) return rc_err_set(e, RC_ENOMEM, "metrics push to %s: cannot create a curl handle", url);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    if (!h2) {
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return rc_err_set(e, RC_ENOMEM, "metrics push to %s: out of memory", url);
    }
    h = h2;
    answer a = {{0}, 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "r2cache-metrics");
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        return rc_err_set(e, RC_EIO,
                          "metrics push to %s failed: %s; check the --metrics-push URL and that "
                          "the Pushgateway is reachable",
                          url, cerr[0] ? cerr : curl_easy_strerror(cc));
    if (status < 200 || status > 299) {
        for (size_t i = 0; i < a.len; i++)
            if (a.text[i] == '\n' || a.text[i] == '\r') a.text[i] = ' ';
        return rc_err_set(e, RC_EIO, "metrics push to %s: HTTP %ld%s%s", url, status,
                          a.len ? ": " : "", a.text);
    }
    return RC_OK;
}
