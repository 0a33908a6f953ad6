/*
 * pool.h: a bounded pool of worker threads whose results are committed in
 * order on the caller's thread.
 *
 * rc_pool_run runs work(wctx[w], i, ud) for every item i in 0..n-1 on
 * `workers` threads (worker w passes its own context wctx[w], e.g. one zstd
 * context and one store handle), and commit(i, ud) on the caller's thread in
 * ascending i, each as soon as item i is worked and every item before it is
 * committed. At most `window` items are worked and not yet committed at any
 * time, so a caller that keeps each item's result in slot i % window holds
 * at most `window` results: memory is bounded by the window, not by n.
 * Item i never starts before item i - window is committed, so slot i % window
 * is free when work(i) runs.
 *
 * workers <= 1 runs work and commit alternately on the caller's thread with
 * wctx[0] (no thread is started). The outcome of an item must depend on the
 * item alone, never on which worker ran it or when: then the committed
 * results are the same whatever the worker count.
 */
#ifndef R2CACHE_POOL_H
#define R2CACHE_POOL_H

#include <stddef.h>

typedef void (*rc_pool_work_fn)(void *wctx, size_t i, void *ud);
typedef void (*rc_pool_commit_fn)(size_t i, void *ud);

/* window >= 1 (raised to 1). If a thread cannot be started, the items run
 * on the threads that did start (on the caller's alone if none did). */
void rc_pool_run(int workers, size_t window, size_t n, void *const *wctx, rc_pool_work_fn work,
                 rc_pool_commit_fn commit, void *ud);

/* The default worker count: the cores this process may use, at most max
 * (at least 1). */
int rc_pool_default_workers(int max);

#endif
