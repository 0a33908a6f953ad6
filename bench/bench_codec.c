/*
 * bench_codec.c: chunk codecs on real recordings (bench/bench_codec.sh).
 *
 *   bench_codec [--reps N] FILE...
 *
 * For each miniSEED 2 file: every int32 trace segment libmseed reads from it
 * (ms_readtraces, default tolerances) is encoded as one chunk body with
 * int32-zstd (zstd -3, today's default) and lms-rice, decoded again and
 * compared sample by sample (exit 1 on any difference), and packed as
 * Steim2 in 4096-byte records by libmseed (msr_pack, DE_STEIM2, one record
 * series per segment). Encode and decode times are the best of N runs
 * (CPU time of the process, CLOCK_PROCESS_CPUTIME_ID, so a loaded machine
 * distorts them less), in MB/s of int32 samples (4 bytes a sample).
 * Prints one line per file: name|key=value ..., and a last line TOTAL|...
 */
#include <libmseed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void no_rec(char *r, int l, void *u)
{
    (void)r;
    (void)l;
    (void)u;
}

static size_t steim2_size(const int32_t *x, size_t n)
{
    MSRecord *msr = msr_init(NULL);
    strcpy(msr->network, "XX");
    strcpy(msr->station, "BENCH");
    strcpy(msr->channel, "HHZ");
    msr->reclen = 4096;
    msr->encoding = DE_STEIM2;
    msr->byteorder = 1;
    msr->samprate = 100;
    msr->sampletype = 'i';
    int32_t *c = malloc(n * 4 + 4);
    memcpy(c, x, n * 4);
    msr->datasamples = c;
    msr->numsamples = (int64_t)n;
    msr->samplecnt = (int64_t)n;
    int64_t packed = 0;
    int nrec = msr_pack(msr, no_rec, NULL, &packed, 1, 0);
    msr->datasamples = NULL;
    free(c);
    msr_free(&msr);
    if (nrec < 0 || packed != (int64_t)n) {
        fprintf(stderr, "bench_codec: msr_pack failed\n");
        exit(1);
    }
    return (size_t)nrec * 4096;
}

typedef struct tot {
    double n, st2, fsize, z, lr, zenc, zdec, lenc, ldec;
} tot;

/* one codec on one segment: size, best encode and decode seconds */
static void run_codec(rc_codec *c, rc_codec_id id, const int32_t *x, size_t n, int reps,
                      double *size, double *enc, double *dec)
{
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    double be = 1e30, bd = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (rc_codec_encode_id(c, id, x, n, &b, &e) != RC_OK) {
            fprintf(stderr, "bench_codec: encode: %s\n", e.msg);
            exit(1);
        }
        double t1 = now();
        int32_t *y = NULL;
        size_t ny = 0;
        if (rc_codec_decode_named(c, rc_codec_id_name(id), b.data, b.len, 0, &y, &ny, &e) !=
            RC_OK) {
            fprintf(stderr, "bench_codec: decode: %s\n", e.msg);
            exit(1);
        }
        double t2 = now();
        if (ny != n || (n && memcmp(x, y, n * 4) != 0)) {
            fprintf(stderr, "bench_codec: %s does not round-trip\n", rc_codec_id_name(id));
            exit(1);
        }
        free(y);
        be = t1 - t0 < be ? t1 - t0 : be;
        bd = t2 - t1 < bd ? t2 - t1 : bd;
    }
    *size += (double)b.len;
    *enc += be;
    *dec += bd;
    rc_buf_free(&b);
}

static void line(const char *name, const char *enc, const tot *t)
{
    double mb = t->n * 4 / 1e6;
    printf("%s|samples=%.0f encoding=%s file=%.0f steim2=%.0f int32zstd=%.0f lmsrice=%.0f "
           "zenc=%.1f zdec=%.1f lenc=%.1f ldec=%.1f\n",
           name, t->n, enc, t->fsize, t->st2, t->z, t->lr, mb / t->zenc, mb / t->zdec, mb / t->lenc,
           mb / t->ldec);
}

int main(int argc, char **argv)
{
    int reps = 5, a = 1;
    if (argc > 2 && strcmp(argv[1], "--reps") == 0) {
        reps = atoi(argv[2]);
        a = 3;
    }
    if (reps < 1 || a >= argc) {
        fprintf(stderr, "usage: bench_codec [--reps N] FILE...\n");
        return 2;
    }
    rc_codec *c = NULL;
    rc_err e;
    if (rc_codec_new(3, &c, &e) != RC_OK) {
        fprintf(stderr, "bench_codec: %s\n", e.msg);
        return 1;
    }
    ms_loginit(NULL, NULL, NULL, NULL);
    tot all;
    memset(&all, 0, sizeof all);
    for (; a < argc; a++) {
        MSTraceGroup *g = NULL;
        if (ms_readtraces(&g, argv[a], 0, -1.0, -1.0, 0, 1, 1, 0) != MS_NOERROR || !g) {
            fprintf(stderr, "bench_codec: %s: libmseed cannot read it, skipped\n", argv[a]);
            mst_freegroup(&g);
            continue;
        }
        /* the file's own encoding, from its first record */
        const char *fenc = "?";
        MSRecord *msr = NULL;
        if (ms_readmsr(&msr, argv[a], 0, NULL, NULL, 1, 0, 0) == MS_NOERROR && msr)
            fenc = msr->encoding == DE_STEIM2   ? "Steim2"
                   : msr->encoding == DE_STEIM1 ? "Steim1"
                   : msr->encoding == DE_INT32  ? "int32"
                                                : "other";
        ms_readmsr(&msr, NULL, 0, NULL, NULL, 0, 0, 0);
        struct stat sb;
        tot t;
        memset(&t, 0, sizeof t);
        t.fsize = stat(argv[a], &sb) == 0 ? (double)sb.st_size : 0;
        for (MSTrace *tr = g->traces; tr; tr = tr->next) {
            if (tr->sampletype != 'i' || tr->numsamples <= 0) continue;
            const int32_t *x = tr->datasamples;
            size_t n = (size_t)tr->numsamples;
            t.n += (double)n;
            t.st2 += (double)steim2_size(x, n);
            run_codec(c, RC_CODEC_INT32_ZSTD, x, n, reps, &t.z, &t.zenc, &t.zdec);
            run_codec(c, RC_CODEC_LMS_RICE, x, n, reps, &t.lr, &t.lenc, &t.ldec);
        }
        mst_freegroup(&g);
        if (t.n == 0) continue;
        const char *base = strrchr(argv[a], '/');
        line(base ? base + 1 : argv[a], fenc, &t);
        all.n += t.n;
        all.st2 += t.st2;
        all.fsize += t.fsize;
        all.z += t.z;
        all.lr += t.lr;
        all.zenc += t.zenc;
        all.zdec += t.zdec;
        all.lenc += t.lenc;
        all.ldec += t.ldec;
    }
    if (all.n > 0) line("TOTAL", "-", &all);
    rc_codec_free(c);
    return 0;
}
