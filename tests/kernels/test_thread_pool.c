/* tests/kernels/test_thread_pool.c — every task runs exactly once per run,
 * thread indices stay in range and unique among concurrent tasks, thousands
 * of back-to-back runs (the decode pattern) neither lose nor repeat work,
 * and runs after the workers went to sleep still wake them. */
#include <stdatomic.h>
#include <time.h>

#include "kt.h"
#include "kernels/cpu/thread_pool.h"

typedef struct {
    atomic_int *hits;
    atomic_int busy[8];
    atomic_int bad_thread;
    int nthreads;
} job;

static void task(void *ctx, int i, int thread) {
    job *j = ctx;
    if (thread < 0 || thread >= j->nthreads) {
        atomic_fetch_add(&j->bad_thread, 1);
        return;
    }
    if (atomic_fetch_add(&j->busy[thread], 1) != 0) atomic_fetch_add(&j->bad_thread, 1);
    atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_sub(&j->busy[thread], 1);
}

int main(void) {
    char err[256];
    for (int nthreads = 1; nthreads <= 4; nthreads++) {
        vr_thread_pool *p = vr_thread_pool_create(nthreads, err, sizeof err);
        KT_CHECK(p != NULL, "create %d: %s", nthreads, err);
        if (!p) continue;
        KT_CHECK(vr_thread_pool_size(p) == nthreads, "size");
        atomic_int hits[300];
        job j = {.hits = hits, .nthreads = nthreads};
        for (int run = 0; run < 3000; run++) {
            int ntasks = run % 300;
            for (int i = 0; i < 300; i++) atomic_init(&hits[i], 0);
            vr_thread_pool_run(p, ntasks, task, &j);
            int wrong = 0;
            for (int i = 0; i < 300; i++) wrong += atomic_load(&hits[i]) != (i < ntasks);
            KT_CHECK(wrong == 0, "threads %d run %d: %d tasks ran a wrong number of times", nthreads,
                     run, wrong);
            if (run == 1000 || run == 2000) { /* let the workers fall asleep */
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        KT_CHECK(atomic_load(&j.bad_thread) == 0, "thread index out of range or shared");
        vr_thread_pool_destroy(p);
    }
    /* NULL pool runs on the caller */
    atomic_int hits[5];
    for (int i = 0; i < 5; i++) atomic_init(&hits[i], 0);
    job j = {.hits = hits, .nthreads = 1};
    vr_thread_pool_run(NULL, 5, task, &j);
    for (int i = 0; i < 5; i++) KT_CHECK(atomic_load(&hits[i]) == 1, "NULL pool task %d", i);
    KT_CHECK(vr_cpu_count() >= 1, "cpu count");
    return kt_finish("test_thread_pool");
}
