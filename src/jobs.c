/*
 * jobs.c: bounded job queue with worker threads (see jobs.h).
 *
 * One mutex guards everything; a condition variable wakes workers when a
 * job is queued or the queue shuts down. Jobs live in one array ordered by
 * id (oldest first); finished ones beyond RC_JOBS_KEEP are dropped oldest
 * first. Waiters (suspended HTTP requests) are called by the worker after
 * the job's final state is set, without the mutex held.
 */
#include "r2cache/jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/timewin.h"

#define MAX_WAITERS 8

typedef struct waiter {
    void (*fn)(void *ud);
    void *ud;
} waiter;

struct rc_job {
    rc_jobs *owner;
    int64_t id;
    char kind[32];
    char *key;
    cJSON *params;
    rc_job_fn fn;
    void *arg;
    void (*arg_free)(void *);
    rc_job_state state;
    volatile sig_atomic_t stop;
    int cancel_requested;
    rc_job_progress progress;
    int64_t created, started, ended;
    cJSON *result;
    char error[RC_ERR_MSG_MAX];
    waiter waiters[MAX_WAITERS];
    int nwaiters;
};

struct rc_jobs {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t *threads;
    int nthreads;
    int max_queued;
    int closing, joined;
    int64_t next_id;
    rc_job **v; /* by id, oldest first */
    size_t n, cap;
    double avg_run_s; /* for Retry-After */
};

static const char *const state_names[RC_JOB_STATE_COUNT] = {"queued",  "running", "complete",
                                                            "partial", "failed",  "cancelled"};

const char *rc_job_state_name(rc_job_state s)
{
    return s >= 0 && s < RC_JOB_STATE_COUNT ? state_names[s] : "unknown";
}

static int finished(rc_job_state s)
{
    return s >= RC_JOB_COMPLETE;
}

static void job_free(rc_job *job)
{
    if (!job) return;
    if (job->arg && job->arg_free) job->arg_free(job->arg);
    free(job->key);
    cJSON_Delete(job->params);
    cJSON_Delete(job->result);
    free(job);
}

static rc_job *find(rc_jobs *j, int64_t id)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->v[i]->id == id) return j->v[i];
    return NULL;
}

/* Drop the oldest finished jobs beyond the number kept. */
static void trim(rc_jobs *j)
{
    size_t nfin = 0;
    for (size_t i = 0; i < j->n; i++)
        nfin += finished(j->v[i]->state);
    size_t i = 0;
    while (nfin > RC_JOBS_KEEP && i < j->n) {
        if (finished(j->v[i]->state) && j->v[i]->nwaiters == 0) {
            job_free(j->v[i]);
            memmove(&j->v[i], &j->v[i + 1], (j->n - i - 1) * sizeof *j->v);
            j->n--;
            nfin--;
        } else {
            i++;
        }
    }
}

static void fire_waiters(rc_job *job, waiter *w, int n)
{
    (void)job;
    for (int i = 0; i < n; i++)
        w[i].fn(w[i].ud);
}

static void *worker(void *ud)
{
    rc_jobs *j = ud;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        rc_job *job = NULL;
        for (size_t i = 0; i < j->n && !job; i++)
            if (j->v[i]->state == RC_JOB_QUEUED) job = j->v[i];
        if (!job) {
            if (j->closing) break;
            pthread_cond_wait(&j->cond, &j->lock);
            continue;
        }
        job->state = RC_JOB_RUNNING;
        job->started = (int64_t)time(NULL);
        pthread_mutex_unlock(&j->lock);

        cJSON *result = NULL;
        rc_err e;
        rc_err_clear(&e);
        rc_job_state st = job->fn(job->arg, job, &job->stop, &result, &e);

        pthread_mutex_lock(&j->lock);
        if (job->cancel_requested && st != RC_JOB_COMPLETE) st = RC_JOB_CANCELLED;
        if (st < RC_JOB_COMPLETE || st >= RC_JOB_STATE_COUNT) st = RC_JOB_FAILED;
        job->state = st;
        job->result = result;
        job->ended = (int64_t)time(NULL);
        double run = (double)(job->ended - job->started);
        j->avg_run_s = j->avg_run_s > 0 ? 0.8 * j->avg_run_s + 0.2 * run : run;
        if (e.code != RC_OK) snprintf(job->error, sizeof job->error, "%s", e.msg);
        if (job->arg && job->arg_free) job->arg_free(job->arg);
        job->arg = NULL;
        waiter w[MAX_WAITERS];
        int nw = job->nwaiters;
        memcpy(w, job->waiters, sizeof w);
        job->nwaiters = 0;
        trim(j);
        pthread_mutex_unlock(&j->lock);
        fire_waiters(job, w, nw);
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int rc_jobs_new(int workers, int max_queued, rc_jobs **out, rc_err *e)
{
    rc_jobs *j = calloc(1, sizeof *j);
    if (!j) return rc_err_set(e, RC_ENOMEM, "out of memory");
    j->nthreads = workers > 0 ? workers : 1;
    j->max_queued = max_queued > 0 ? max_queued : 16;
    j->next_id = 1;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    j->threads = calloc((size_t)j->nthreads, sizeof *j->threads);
    if (!j->threads) {
        free(j);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    for (int i = 0; i < j->nthreads; i++)
        if (pthread_create(&j->threads[i], NULL, worker, j) != 0) {
            j->nthreads = i;
            rc_jobs_free(j);
            return rc_err_set(e, RC_ENOMEM, "cannot start job worker threads");
        }
    *out = j;
    return RC_OK;
}

void rc_jobs_shutdown(rc_jobs *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    if (j->joined) {
        pthread_mutex_unlock(&j->lock);
        return;
    }
    j->closing = 1;
    /* the waiters of queued jobs, called without the lock held */
    size_t cap = 0;
    for (size_t i = 0; i < j->n; i++)
        if (j->v[i]->state == RC_JOB_QUEUED) cap += (size_t)j->v[i]->nwaiters;
    waiter *w = cap ? malloc(cap * sizeof *w) : NULL;
    size_t nw = 0;
    for (size_t i = 0; i < j->n; i++) {
        rc_job *job = j->v[i];
        if (job->state == RC_JOB_QUEUED) {
            job->state = RC_JOB_CANCELLED;
            job->cancel_requested = 1;
            job->ended = (int64_t)time(NULL);
            snprintf(job->error, sizeof job->error, "the server stopped before the job started");
            if (w) {
                for (int k = 0; k < job->nwaiters; k++)
                    w[nw++] = job->waiters[k];
                job->nwaiters = 0;
            }
        } else if (job->state == RC_JOB_RUNNING) {
            job->stop = 1;
            job->cancel_requested = 1;
        }
    }
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    for (size_t i = 0; i < nw; i++)
        w[i].fn(w[i].ud);
    free(w);
    if (cap && !w) {
        /* out of memory for the list: call them one job at a time */
        pthread_mutex_lock(&j->lock);
        for (size_t i = 0; i < j->n; i++) {
            rc_job *job = j->v[i];
            while (job->state == RC_JOB_CANCELLED && job->nwaiters > 0) {
                waiter one = job->waiters[--job->nwaiters];
                pthread_mutex_unlock(&j->lock);
                one.fn(one.ud);
                pthread_mutex_lock(&j->lock);
            }
        }
        pthread_mutex_unlock(&j->lock);
    }
    for (int i = 0; i < j->nthreads; i++)
        pthread_join(j->threads[i], NULL);
    pthread_mutex_lock(&j->lock);
    j->joined = 1;
    pthread_mutex_unlock(&j->lock);
}

void rc_jobs_free(rc_jobs *j)
{
    if (!j) return;
    rc_jobs_shutdown(j);
    for (size_t i = 0; i < j->n; i++)
        job_free(j->v[i]);
    free(j->v);
    free(j->threads);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

int rc_jobs_submit(rc_jobs *j, const char *kind, const char *key, cJSON *params, rc_job_fn fn,
                   void *arg, void (*arg_free)(void *), int64_t *id)
{
    int rc = RC_JOBS_NEW;
    rc_job *job = NULL;
    pthread_mutex_lock(&j->lock);
    if (j->closing) {
        rc = RC_JOBS_CLOSED;
        goto refuse;
    }
    size_t queued = 0;
    for (size_t i = 0; i < j->n; i++) {
        rc_job *x = j->v[i];
        if (x->state == RC_JOB_QUEUED) queued++;
        if (!finished(x->state) && !x->cancel_requested && strcmp(x->kind, kind) == 0 &&
            strcmp(x->key, key) == 0) {
            *id = x->id;
            rc = RC_JOBS_EXISTING;
            goto refuse;
        }
    }
    if (queued >= (size_t)j->max_queued) {
        rc = RC_JOBS_FULL;
        goto refuse;
    }
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 32;
        rc_job **nv = realloc(j->v, nc * sizeof *nv);
        if (!nv) {
            rc = RC_JOBS_FULL;
            goto refuse;
        }
        j->v = nv;
        j->cap = nc;
    }
    job = calloc(1, sizeof *job);
    if (!job || !(job->key = strdup(key))) {
        free(job);
        rc = RC_JOBS_FULL;
        goto refuse;
    }
    job->owner = j;
    job->id = j->next_id++;
    snprintf(job->kind, sizeof job->kind, "%s", kind);
    job->params = params;
    job->fn = fn;
    job->arg = arg;
    job->arg_free = arg_free;
    job->state = RC_JOB_QUEUED;
    job->created = (int64_t)time(NULL);
    j->v[j->n++] = job;
    *id = job->id;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    return RC_JOBS_NEW;
refuse:
    pthread_mutex_unlock(&j->lock);
    cJSON_Delete(params);
    if (arg && arg_free) arg_free(arg);
    return rc;
}

void rc_jobs_progress(rc_job *job, const rc_job_progress *p)
{
    rc_jobs *j = job->owner;
    pthread_mutex_lock(&j->lock);
    job->progress = *p;
    pthread_mutex_unlock(&j->lock);
}

static void add_time(cJSON *o, const char *name, int64_t t)
{
    if (!t) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    char s[RC_TIME_STR_MAX];
    rc_time_iso(t, s);
    cJSON_AddStringToObject(o, name, s);
}

/* Caller holds the lock. */
static cJSON *job_json(const rc_job *job, int with_result)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "job", (double)job->id);
    cJSON_AddStringToObject(o, "kind", job->kind);
    cJSON_AddStringToObject(o, "status", rc_job_state_name(job->state));
    char self[64];
    snprintf(self, sizeof self, "/api/jobs/%lld", (long long)job->id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "links"), "self", self);
    if (job->params) cJSON_AddItemToObject(o, "params", cJSON_Duplicate(job->params, 1));
    cJSON *p = cJSON_AddObjectToObject(o, "progress");
    cJSON_AddNumberToObject(p, "windows_done", (double)job->progress.windows_done);
    cJSON_AddNumberToObject(p, "windows_total", (double)job->progress.windows_total);
    cJSON_AddNumberToObject(p, "requests", (double)job->progress.requests);
    cJSON_AddNumberToObject(p, "bytes", (double)job->progress.bytes);
    add_time(o, "created", job->created);
    add_time(o, "started", job->started);
    add_time(o, "ended", job->ended);
    if (job->cancel_requested && !finished(job->state)) cJSON_AddBoolToObject(o, "cancelling", 1);
    if (job->error[0]) cJSON_AddStringToObject(o, "error", job->error);
    if (with_result) {
        if (job->result)
            cJSON_AddItemToObject(o, "result", cJSON_Duplicate(job->result, 1));
        else
            cJSON_AddNullToObject(o, "result");
    }
    return o;
}

cJSON *rc_jobs_status(rc_jobs *j, int64_t id)
{
    pthread_mutex_lock(&j->lock);
    rc_job *job = find(j, id);
    cJSON *o = job ? job_json(job, 1) : NULL;
    pthread_mutex_unlock(&j->lock);
    return o;
}

cJSON *rc_jobs_list(rc_jobs *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = o ? cJSON_AddArrayToObject(o, "jobs") : NULL;
    if (!a) {
        cJSON_Delete(o);
        return NULL;
    }
    pthread_mutex_lock(&j->lock);
    for (size_t i = j->n; i-- > 0;)
        cJSON_AddItemToArray(a, job_json(j->v[i], 0));
    pthread_mutex_unlock(&j->lock);
    return o;
}

int rc_jobs_result(rc_jobs *j, int64_t id, rc_job_state *state, cJSON **result)
{
    pthread_mutex_lock(&j->lock);
    rc_job *job = find(j, id);
    int done = job && finished(job->state);
    if (job && state) *state = job->state;
    if (result) *result = done && job->result ? cJSON_Duplicate(job->result, 1) : NULL;
    pthread_mutex_unlock(&j->lock);
    return done;
}

int rc_jobs_cancel(rc_jobs *j, int64_t id, rc_job_state *state_after)
{
    waiter w[MAX_WAITERS];
    int nw = 0;
    pthread_mutex_lock(&j->lock);
    rc_job *job = find(j, id);
    if (!job) {
        pthread_mutex_unlock(&j->lock);
        return RC_ENOTFOUND;
    }
    if (job->state == RC_JOB_QUEUED) {
        job->state = RC_JOB_CANCELLED;
        job->cancel_requested = 1;
        job->ended = (int64_t)time(NULL);
        nw = job->nwaiters;
        memcpy(w, job->waiters, sizeof w);
        job->nwaiters = 0;
    } else if (job->state == RC_JOB_RUNNING) {
        job->cancel_requested = 1;
        job->stop = 1;
    }
    if (state_after) *state_after = job->state;
    pthread_mutex_unlock(&j->lock);
    for (int i = 0; i < nw; i++)
        w[i].fn(w[i].ud);
    return RC_OK;
}

int rc_jobs_on_done(rc_jobs *j, int64_t id, void (*fn)(void *ud), void *ud)
{
    int rc;
    pthread_mutex_lock(&j->lock);
    rc_job *job = find(j, id);
    if (!job)
        rc = -1;
    else if (finished(job->state))
        rc = 1;
    else if (job->nwaiters >= MAX_WAITERS)
        rc = -1;
    else {
        job->waiters[job->nwaiters++] = (waiter){fn, ud};
        rc = 0;
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void rc_jobs_counts(rc_jobs *j, int64_t counts[RC_JOB_STATE_COUNT])
{
    memset(counts, 0, sizeof(int64_t) * RC_JOB_STATE_COUNT);
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->n; i++)
        counts[j->v[i]->state]++;
    pthread_mutex_unlock(&j->lock);
}

int rc_jobs_retry_after(rc_jobs *j)
{
    pthread_mutex_lock(&j->lock);
    double a = j->avg_run_s;
    pthread_mutex_unlock(&j->lock);
    int s = (int)(a + 0.5);
    return s < 5 ? 5 : s > 600 ? 600 : s;
}
