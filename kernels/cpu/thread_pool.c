/* kernels/cpu/thread_pool.c — fork/join pool: spin briefly, then sleep.
 *
 * Protocol. run() publishes the job (fn, ctx, ntasks, next = 0,
 * pending = workers) and then bumps `gen`. Workers watch `gen`; a worker that
 * sees it change takes tasks from `next` until they run out and decrements
 * `pending`. run() works on tasks too and returns when `pending` is 0, so no
 * worker can still be inside a job when the next one is published.
 *
 * Sleeping without lost wake-ups: a worker increments `sleepers` and re-reads
 * `gen` while holding the mutex; run() bumps `gen` before it reads
 * `sleepers` (both sequentially consistent), so either the worker sees the
 * new generation or run() sees the sleeper and broadcasts under the mutex.
 */
#include "kernels/cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VR_CPU_RELAX() _mm_pause()
#else
#define VR_CPU_RELAX() ((void)0)
#endif

/* How long an idle worker spins before it sleeps. Long enough to bridge the
 * gaps between the ops of one forward pass, short enough not to burn a core
 * while the engine waits for requests. */
#define VR_POOL_SPIN_NS 200000LL

typedef struct vr_worker {
    struct vr_thread_pool *pool;
    int index;
    pthread_t tid;
} vr_worker;

struct vr_thread_pool {
    int nthreads; /* including the caller */
    vr_worker *workers;
    int nworkers;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;
    atomic_int sleepers;
    atomic_int stop;

    /* the current job */
    vr_pool_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;
    atomic_int pending;
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void take_tasks(vr_thread_pool *p, int thread) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->ntasks) break;
        p->fn(p->ctx, i, thread);
    }
}

/* Wait until gen differs from seen (or stop); returns the new generation. */
static unsigned wait_for_job(vr_thread_pool *p, unsigned seen) {
    long long start = now_ns();
    for (int spins = 0;; spins++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen || atomic_load(&p->stop)) return g;
        VR_CPU_RELAX();
        if ((spins & 255) == 255 && now_ns() - start > VR_POOL_SPIN_NS) break;
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg) {
    vr_worker *w = arg;
    vr_thread_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        take_tasks(p, w->index);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

int vr_cpu_count(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

vr_thread_pool *vr_thread_pool_create(int nthreads, char *err, size_t errlen) {
    if (nthreads < 1) nthreads = 1;
    vr_thread_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "thread pool: out of memory");
        return NULL;
    }
    p->nthreads = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->pending, 0);
    if (nthreads > 1) {
        p->workers = calloc((size_t)nthreads - 1, sizeof *p->workers);
        if (!p->workers) {
            snprintf(err, errlen, "thread pool: out of memory");
            vr_thread_pool_destroy(p);
            return NULL;
        }
        for (int i = 0; i < nthreads - 1; i++) {
            vr_worker *w = &p->workers[i];
            w->pool = p;
            w->index = i + 1; /* the caller is thread 0 */
            int rc = pthread_create(&w->tid, NULL, worker_main, w);
            if (rc != 0) {
                snprintf(err, errlen, "thread pool: cannot start thread %d of %d: %s", i + 2,
                         nthreads, strerror(rc));
                vr_thread_pool_destroy(p);
                return NULL;
            }
            p->nworkers++;
        }
    }
    return p;
}

void vr_thread_pool_destroy(vr_thread_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) pthread_join(p->workers[i].tid, NULL);
    free(p->workers);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int vr_thread_pool_size(const vr_thread_pool *p) { return p ? p->nthreads : 1; }

void vr_thread_pool_run(vr_thread_pool *p, int ntasks, vr_pool_fn fn, void *ctx) {
    if (ntasks <= 0) return;
    if (!p || p->nworkers == 0 || ntasks == 1) {
        for (int i = 0; i < ntasks; i++) fn(ctx, i, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->nworkers, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    take_tasks(p, 0);
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        VR_CPU_RELAX();
        if (spins > 4096) sched_yield();
    }
}
