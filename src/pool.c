/*
 * pool.c: bounded worker pool with in-order commits (see pool.h).
 *
 * One mutex guards the counters: next (the next item to start), committed
 * (items committed so far) and done[] (one flag per window slot: item
 * i % window is worked and not yet committed). Workers wait on `space` while
 * next - committed == window; the caller waits on `ready` for the flag of
 * the item it commits next.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t space, ready;
    size_t n, window, next, committed;
    unsigned char *done;
    rc_pool_work_fn work;
    void *ud;
} pool;

typedef struct wk {
    pool *p;
    void *ctx;
} wk;

static void *worker(void *arg)
{
    wk *w = arg;
    pool *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->next < p->n && p->next - p->committed >= p->window)
            pthread_cond_wait(&p->space, &p->mu);
        if (p->next >= p->n) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        size_t i = p->next++;
        pthread_mutex_unlock(&p->mu);
        p->work(w->ctx, i, p->ud);
        pthread_mutex_lock(&p->mu);
        p->done[i % p->window] = 1;
        pthread_cond_signal(&p->ready);
        pthread_mutex_unlock(&p->mu);
    }
}

static void run_serial(size_t n, void *ctx, rc_pool_work_fn work, rc_pool_commit_fn commit,
                       void *ud)
{
    for (size_t i = 0; i < n; i++) {
        work(ctx, i, ud);
        commit(i, ud);
    }
}

void rc_pool_run(int workers, size_t window, size_t n, void *const *wctx, rc_pool_work_fn work,
                 rc_pool_commit_fn commit, void *ud)
{
    if (window < 1) window = 1;
    if ((size_t)workers > n) workers = (int)n;
    if (workers <= 1) {
        run_serial(n, wctx[0], work, commit, ud);
        return;
    }
    pool p = {.n = n, .window = window, .work = work, .ud = ud};
    p.done = calloc(window, 1);
    pthread_t *tid = calloc((size_t)workers, sizeof *tid);
    wk *w = calloc((size_t)workers, sizeof *w);
    if (!p.done || !tid || !w || pthread_mutex_init(&p.mu, NULL)) {
        free(p.done);
        free(tid);
        free(w);
        run_serial(n, wctx[0], work, commit, ud);
        return;
    }
    pthread_cond_init(&p.space, NULL);
    pthread_cond_init(&p.ready, NULL);
    int started = 0;
    for (int k = 0; k < workers; k++) {
        w[k].p = &p;
        w[k].ctx = wctx[k];
        if (pthread_create(&tid[k], NULL, worker, &w[k]) != 0) break;
        started++;
    }
    if (started == 0) {
        run_serial(n, wctx[0], work, commit, ud);
    } else {
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&p.mu);
            while (!p.done[i % window])
                pthread_cond_wait(&p.ready, &p.mu);
            p.done[i % window] = 0;
            pthread_mutex_unlock(&p.mu);
            commit(i, ud);
            pthread_mutex_lock(&p.mu);
            p.committed = i + 1;
            pthread_cond_broadcast(&p.space);
            pthread_mutex_unlock(&p.mu);
        }
        for (int k = 0; k < started; k++)
            pthread_join(tid[k], NULL);
    }
    pthread_cond_destroy(&p.space);
    pthread_cond_destroy(&p.ready);
    pthread_mutex_destroy(&p.mu);
    free(p.done);
    free(tid);
    free(w);
}

int rc_pool_default_workers(int max)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (max > 0 && n > max) n = max;
    return n < 1 ? 1 : n;
}
