/*
 * bench_upload.c: r2cache's upload path alone. Every regular file under DIR
 * (dot-files, the local store's sidecars, skipped) is read and queued with
 * rc_store_put_async on the store at URL under its relative path, the way
 * src/engine.c writes chunks (bounded-concurrency curl multi on S3), then
 * rc_store_wait. Prints files, bytes, failures and wall seconds.
 *
 *   bench_upload DIR URL [--connections N]
 *
 * Credentials and endpoint come from the environment (AWS_*), as for r2cache.
 */
#include <fts.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"
#include "r2cache/store.h"

typedef struct up {
    rc_store *store;
    size_t root_len;
    int64_t files, bytes, failed;
    rc_buf body;
} up;

static void done(void *ud, const char *key, int status, const rc_err *e)
{
    up *u = ud;
    if (status != RC_OK) {
        u->failed++;
        fprintf(stderr, "bench_upload: %s: %s\n", key, e ? e->msg : "failed");
    }
}

static int visit(up *u, const FTSENT *f)
{
    const char *path = f->fts_path;
    if (f->fts_info != FTS_F || f->fts_name[0] == '.') return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 1;
    rc_buf_reset(&u->body);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        rc_buf_append(&u->body, tmp, n);
    fclose(fp);
    rc_err e;
    const char *key = path + u->root_len + 1;
    if (rc_store_put_async(u->store, key, u->body.data, u->body.len, NULL, done, u, &e) != RC_OK) {
        fprintf(stderr, "bench_upload: %s: %s\n", key, e.msg);
        u->failed++;
    }
    u->files++;
    u->bytes += (int64_t)u->body.len;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_upload DIR URL [--connections N]\n");
        return 2;
    }
    rc_store_opts o;
    rc_store_opts_default(&o);
    if (argc == 5 && !strcmp(argv[3], "--connections")) o.max_connections = atoi(argv[4]);
    rc_err e;
    up u = {NULL, strlen(argv[1]), 0, 0, 0, RC_BUF_INIT};
    if (rc_store_open(argv[2], &o, &u.store, &e) != RC_OK) {
        fprintf(stderr, "bench_upload: %s\n", e.msg);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *roots[] = {argv[1], NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
    int rc = fts ? 0 : 1;
    FTSENT *f;
    while (fts && !rc && (f = fts_read(fts)) != NULL)
        rc = visit(&u, f);
    if (fts) fts_close(fts);
    if (rc_store_wait(u.store, &e) != RC_OK) {
        fprintf(stderr, "bench_upload: %s\n", e.msg);
        rc = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("files=%lld bytes=%lld failed=%lld connections=%d seconds=%.3f\n", (long long)u.files,
           (long long)u.bytes, (long long)u.failed, o.max_connections,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rc_buf_free(&u.body);
    rc_store_close(u.store);
    return rc || u.failed ? 1 : 0;
}
