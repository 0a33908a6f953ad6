/*
 * jobs.h: the bounded job queue of `r2cache serve` (fills started over HTTP).
 *
 * A job is a function run on one of a fixed number of worker threads. The
 * queue is bounded (max_queued waiting; a full queue refuses, the API answers
 * 429). A job submitted while an identical one (same key: scope, range and
 * flags, built by the caller) is queued or running is not duplicated: the
 * existing job is returned. Cancelling sets the job's stop flag, which the
 * engine reads between chunks, so a running fill stops after the chunk in
 * hand (fills resume: nothing is lost). A queued job that is cancelled never
 * starts.
 *
 * States: queued -> running -> complete | partial | failed | cancelled.
 * Progress (windows done/total, requests, bytes) is reported by the job
 * function through rc_jobs_progress; the result JSON is what the function
 * returns. Finished jobs are kept (the newest RC_JOBS_KEEP) for GET.
 */
#ifndef R2CACHE_JOBS_H
#define R2CACHE_JOBS_H

#include <signal.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/err.h"

#define RC_JOBS_KEEP 256

typedef enum rc_job_state {
    RC_JOB_QUEUED = 0,
    RC_JOB_RUNNING,
    RC_JOB_COMPLETE,
    RC_JOB_PARTIAL,
    RC_JOB_FAILED,
    RC_JOB_CANCELLED,
    RC_JOB_STATE_COUNT
} rc_job_state;

const char *rc_job_state_name(rc_job_state s);

typedef struct rc_jobs rc_jobs;
typedef struct rc_job rc_job; /* handed to the job function */

/*
 * The work of a job. stop is the job's stop flag (pass it to the engine).
 * Sets *result (the job owns it afterwards) and returns the final state:
 * RC_JOB_COMPLETE, RC_JOB_PARTIAL or RC_JOB_FAILED (the queue turns a run
 * ended by its stop flag into RC_JOB_CANCELLED when the job was cancelled).
 * On failure e says why (shown as the job's "error").
 */
typedef rc_job_state (*rc_job_fn)(void *arg, rc_job *job, volatile sig_atomic_t *stop,
                                  cJSON **result, rc_err *e);

typedef struct rc_job_progress {
    int64_t windows_done, windows_total, requests, bytes;
} rc_job_progress;

/* Called by the job function whenever it has news (thread-safe). */
void rc_jobs_progress(rc_job *job, const rc_job_progress *p);

int rc_jobs_new(int workers, int max_queued, rc_jobs **out, rc_err *e);
/* Cancel everything queued and running, wait for the workers, free. */
void rc_jobs_free(rc_jobs *j);
/* Cancel everything and wait until no job runs (workers exit). Waiters of
 * every job are called. Idempotent; rc_jobs_free calls it. */
void rc_jobs_shutdown(rc_jobs *j);

enum { RC_JOBS_NEW = 0, RC_JOBS_EXISTING = 1, RC_JOBS_FULL = 2, RC_JOBS_CLOSED = 3 };

/*
 * Queue a job. kind ("fill") and key identify it for de-duplication; params
 * (JSON, owned by the job on success) is shown in its status. arg_free frees
 * arg when the job is done with it (also on RC_JOBS_EXISTING/FULL/CLOSED,
 * where the job is not created and params is deleted). *id receives the job
 * id (the existing one for RC_JOBS_EXISTING).
 */
int rc_jobs_submit(rc_jobs *j, const char *kind, const char *key, cJSON *params, rc_job_fn fn,
                   void *arg, void (*arg_free)(void *), int64_t *id);

/* Status object of one job (NULL when unknown); caller deletes. */
cJSON *rc_jobs_status(rc_jobs *j, int64_t id);
/* {"jobs": [...]} newest first; caller deletes. */
cJSON *rc_jobs_list(rc_jobs *j);
/* The result of a finished job (a copy; NULL when unknown or not finished)
 * and its state. Returns 1 when the job has finished. */
int rc_jobs_result(rc_jobs *j, int64_t id, rc_job_state *state, cJSON **result);
/* Cancel: RC_OK, RC_ENOTFOUND. A finished job stays as it is. */
int rc_jobs_cancel(rc_jobs *j, int64_t id, rc_job_state *state_after);

/*
 * Call fn(ud) once when the job finishes (from the worker's thread). Returns
 * 1 without registering when it has already finished, 0 when registered,
 * -1 when the job is unknown or no room is left for waiters.
 */
int rc_jobs_on_done(rc_jobs *j, int64_t id, void (*fn)(void *ud), void *ud);

/* Jobs per state (for /metrics). */
void rc_jobs_counts(rc_jobs *j, int64_t counts[RC_JOB_STATE_COUNT]);

/* Seconds a client should wait before retrying a refused submission. */
int rc_jobs_retry_after(rc_jobs *j);

#endif
