/*
 * support.h: small helpers shared by the Criterion tests: where the real
 * miniSEED data is, scratch directories, running the built binary, and
 * starting/stopping the helper servers by their own process ids.
 */
#ifndef R2CACHE_TEST_SUPPORT_H
#define R2CACHE_TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "r2cache/buf.h"

/* ../shared/data/mseed beside the repo (or $RC_MSEED_DIR); NULL when absent. */
const char *rc_test_mseed_dir(void);
/* Skip the current test, visibly, when the real data is absent. */
#define RC_REQUIRE_MSEED()                                                                         \
    do {                                                                                           \
        if (!rc_test_mseed_dir())                                                                  \
            cr_skip_test("SKIPPED: ../shared/data/mseed is absent, real-data test not run");       \
    } while (0)

/* Full path of a file in the real-data folder (static buffer per call site is
 * not used: result is malloc'd, caller frees). */
char *rc_test_mseed_path(const char *name);

/* New empty directory under the build tree; malloc'd path. */
char *rc_test_tmpdir(const char *tag);
/* rm -rf a test directory (only under the build tree). */
void rc_test_rmtree(const char *path);

int rc_test_read_file(const char *path, rc_buf *out);
int rc_test_write_file(const char *path, const void *data, size_t len);

/* Path of a built program (r2cache, r2cache-synth). */
const char *rc_test_bin(const char *name);
/* Run a shell command, capture stdout (and stderr when err != NULL).
 * Returns the exit status (or -1). */
int rc_test_sh(const char *cmd, rc_buf *out, rc_buf *err);

/*
 * Start a helper server: runs argv, waits until "READY <port>" appears on its
 * stdout (at most timeout_s), returns its pid and port. Stop it with
 * rc_test_server_stop (SIGTERM, then SIGKILL, by that pid only).
 */
pid_t rc_test_server_start(char *const argv[], int timeout_s, int *port);
void rc_test_server_stop(pid_t pid);

/* tests/fdsn_server.py serving the SDS archive sds on a free port (extra:
 * more arguments, NULL-terminated, or NULL). Its pid, or -1. */
pid_t rc_test_fdsn_start(const char *sds, const char *const *extra, int *port);

/*
 * Start the built `r2cache serve` with args (a shell fragment, --listen
 * 127.0.0.1:0 is added) and env (shell assignments "A=1 B=2", or ""), its
 * log (stderr) appended to logpath. Waits (at most timeout_s) for the line
 * "listening on http://ADDR:PORT" and returns its pid and that port, or -1
 * (the process is stopped then). Stop it with rc_test_serve_stop.
 */
pid_t rc_test_serve_start(const char *args, const char *env, const char *logpath, int timeout_s,
                          int *port);
/* SIGTERM to that pid only; waits at most timeout_s for it to exit (then
 * SIGKILL). Returns its exit status, 128+signal, or -1. */
int rc_test_serve_stop(pid_t pid, int timeout_s);

/* Run the built r2cache with args (a shell fragment); as rc_test_sh. */
int rc_test_r2cache(const char *args, rc_buf *out, rc_buf *err);

/*
 * Load the RGW test server's environment (RC_BINARY_DIR/rgw/env, written by
 * tests/rgw.sh through the CTest fixture "rgw") into this process: endpoint,
 * keys, region, bucket. Returns 0, or -1 when the file is absent.
 */
int rc_test_rgw_env(char *bucket, size_t nb, char *endpoint, size_t ne);

#endif
