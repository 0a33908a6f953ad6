/*
 * bench_processing.c: CPU cost of r2cache's processing path (miniSEED decode
 * -> shape -> zstd) against the two references it is built from, in one
 * process, on the same bytes:
 *
 *   libmseed  msr_parse (with data) over every record of the file;
 *   zstd -3   the command-line tool compressing the decoded samples as
 *             little-endian int32 (written to a temp file), run as a child
 *             whose CPU time comes from wait4();
 *   r2cache   rc_traces_add + rc_shape per block + per-window statistics +
 *             rc_codec_encode per chunk, the way src/engine.c does it: each
 *             block is shaped once and every 10-minute window (and, with
 *             --long, the block itself as the long chunk) is cut from it.
 *
 *   bench_processing FILE [--block SECONDS] [--long] [--reps N] [--zstd PATH]
 *
 * --block: length of the shaped blocks (default 21600 = the 6-hour chunk),
 * aligned to the grid; blocks cover the file's extent. --long: also encode
 * each whole block as a chunk (the 6-hour chunk). Each phase runs --reps
 * times (default 3) and the minimum CPU time is kept, which is the least
 * noisy figure on a shared machine. Prints one line of key=value pairs.
 */
#include <errno.h>
#include <libmseed.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r2cache/buf.h"
#include "r2cache/codec.h"
#include "r2cache/err.h"
#include "r2cache/shape.h"

extern char **environ;

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    rc_buf b = RC_BUF_INIT;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (rc_buf_append(&b, tmp, n) != 0) {
            fclose(f);
            rc_buf_free(&b);
            return -1;
        }
    fclose(f);
    *data = rc_buf_steal(&b, len);
    return *data ? 0 : -1;
}

/* libmseed reference: parse and decode every record; optionally keep the samples. */
static int ref_decode(char *data, size_t len, rc_buf *samples, int64_t *nsamples)
{
    MSRecord *msr = NULL;
    size_t off = 0;
    int64_t total = 0;
    while (off + 128 <= len) {
        int rc = msr_parse(data + off, (int)(len - off), &msr, -1, 1, 0);
        if (rc != 0 || !msr) {
            fprintf(stderr, "bench_processing: libmseed cannot parse the record at byte %zu (%d)\n",
                    off, rc);
            msr_free(&msr);
            return -1;
        }
        if (msr->sampletype != 'i') {
            fprintf(stderr, "bench_processing: record at byte %zu is not integer data\n", off);
            msr_free(&msr);
            return -1;
        }
        total += msr->numsamples;
        if (samples && msr->numsamples > 0)
            rc_buf_append(samples, msr->datasamples, (size_t)msr->numsamples * 4);
        off += (size_t)msr->reclen;
    }
    msr_free(&msr);
    *nsamples = total;
    return 0;
}

/* Run `zstd -3 -q -f IN -o OUT` as a child; its CPU time from wait4(). */
static int ref_zstd(const char *zstd, const char *in, const char *out, double *cpu)
{
    char *argv[] = {(char *)zstd, "-3", "-q", "-f", (char *)in, "-o", (char *)out, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, zstd, NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "bench_processing: cannot start %s: %s\n", zstd, strerror(errno));
        return -1;
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_processing: %s failed\n", zstd);
        return -1;
    }
    *cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    return 0;
}

typedef struct r2_result {
    int64_t chunks, slots, bytes;
} r2_result;

/* a rounded down to a multiple of b */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b * b : -((-a + b - 1) / b) * b;
}

/* r2cache's path over the whole file. */
static int r2_process(const char *data, size_t len, int64_t block, int with_long, rc_codec *codec,
                      r2_result *res)
{
    rc_err e;
    rc_traces *t = NULL;
    rc_buf body = RC_BUF_INIT;
    int ret = -1;
    memset(res, 0, sizeof *res);
    if (rc_traces_new(&t, &e) != RC_OK || rc_traces_add(t, data, len, &e) != RC_OK) {
        fprintf(stderr, "bench_processing: %s\n", e.msg);
        goto out;
    }
    for (size_t c = 0; c < rc_traces_nchan(t); c++) {
        const rc_chan *ch = rc_traces_chan(t, c);
        int64_t first_us, last_us;
        if (rc_traces_extent(t, ch, &first_us, &last_us) != RC_OK) goto out;
        /* the 10-minute grid around the data, cut at the block grid */
        int64_t from = floor_div(first_us / 1000000, 600);
        int64_t to = floor_div(last_us / 1000000 + 600, 600);
        for (int64_t b0 = floor_div(from, block); b0 < to; b0 += block) {
            int64_t bs = b0 < from ? from : b0;
            int64_t be = b0 + block < to ? b0 + block : to;
            rc_window w;
            int rc = rc_shape(t, ch, 0, bs, be - bs, 600, &w, &e);
            if (rc == RC_ENODATA) continue;
            if (rc != RC_OK) {
                fprintf(stderr, "bench_processing: %s\n", e.msg);
                goto out;
            }
            int64_t per = rc_slots(w.rate, 600);
            for (int64_t off = 0; off + per <= w.nslots; off += per) {
                rc_window_stats st;
                rc_window_stats_range(&w, off, per, &st);
                if (st.present == 0) continue;
                if (rc_codec_encode(codec, w.samples + off, (size_t)per, &body, &e) != RC_OK) {
                    rc_window_free(&w);
                    goto out;
                }
                res->chunks++;
                res->slots += per;
                res->bytes += (int64_t)body.len;
            }
            if (with_long) {
                rc_window_stats st;
                rc_window_stats_range(&w, 0, w.nslots, &st);
                if (rc_codec_encode(codec, w.samples, (size_t)w.nslots, &body, &e) != RC_OK) {
                    rc_window_free(&w);
                    goto out;
                }
                res->chunks++;
                res->slots += w.nslots;
                res->bytes += (int64_t)body.len;
            }
            rc_window_free(&w);
        }
    }
    ret = 0;
out:
    rc_buf_free(&body);
    rc_traces_free(t);
    return ret;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *zstd = "zstd";
    int64_t block = 21600;
    int with_long = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--block") && i + 1 < argc)
            block = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--long"))
            with_long = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--zstd") && i + 1 < argc)
            zstd = argv[++i];
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr,
                    "usage: bench_processing FILE [--block S] [--long] [--reps N] [--zstd PATH]\n");
            return 2;
        }
    }
    if (!path || block < 600 || block % 600 != 0 || reps < 1) {
        fprintf(stderr,
                "usage: bench_processing FILE [--block S] [--long] [--reps N] [--zstd PATH]\n");
        return 2;
    }
    char *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "bench_processing: cannot read %s\n", path);
        return 1;
    }

    /* samples for zstd, written once */
    rc_buf samples = RC_BUF_INIT;
    int64_t nsamples = 0;
    if (ref_decode(data, len, &samples, &nsamples) != 0) return 1;
    char in[] = "/tmp/bench_processing.XXXXXX";
    int fd = mkstemp(in);
    if (fd < 0 || write(fd, samples.data, samples.len) != (ssize_t)samples.len) {
        fprintf(stderr, "bench_processing: cannot write the temp file: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    char out[sizeof in + 8];
    snprintf(out, sizeof out, "%s.zst", in);

    double best_dec = 1e9, best_zstd = 1e9, best_r2 = 1e9;
    rc_err e;
    rc_codec *codec = NULL;
    if (rc_codec_new(3, &codec, &e) != RC_OK) {
        fprintf(stderr, "bench_processing: %s\n", e.msg);
        return 1;
    }
    r2_result res = {0, 0, 0};
    int64_t zbytes = 0;
    for (int r = 0; r < reps; r++) {
        int64_t n;
        double t0 = cpu_self();
        if (ref_decode(data, len, NULL, &n) != 0) return 1;
        double t1 = cpu_self();
        if (t1 - t0 < best_dec) best_dec = t1 - t0;

        double z;
        if (ref_zstd(zstd, in, out, &z) != 0) return 1;
        if (z < best_zstd) best_zstd = z;

        t0 = cpu_self();
        if (r2_process(data, len, block, with_long, codec, &res) != 0) return 1;
        t1 = cpu_self();
        if (t1 - t0 < best_r2) best_r2 = t1 - t0;
    }
    FILE *zf = fopen(out, "rb");
    if (zf) {
        fseek(zf, 0, SEEK_END);
        zbytes = ftell(zf);
        fclose(zf);
    }
    unlink(in);
    unlink(out);
    printf("file=%s bytes=%zu samples=%lld libmseed_cpu=%.4f zstd_cpu=%.4f zstd_bytes=%lld "
           "r2cache_cpu=%.4f r2cache_chunks=%lld r2cache_slots=%lld r2cache_bytes=%lld reps=%d "
           "ratio=%.3f\n",
           path, len, (long long)nsamples, best_dec, best_zstd, (long long)zbytes, best_r2,
           (long long)res.chunks, (long long)res.slots, (long long)res.bytes, reps,
           best_r2 / (best_dec + best_zstd));
    rc_codec_free(codec);
    rc_buf_free(&samples);
    free(data);
    return 0;
}
