/* kernels/cpu/thread_pool.h — private to kernels/: a fork/join pool for the
 * CPU kernels.
 *
 * A decode step runs a couple of hundred small ops, each split across the
 * cores, so the fork/join must cost microseconds, not a futex round trip:
 * idle workers spin for a short while on a generation counter before they
 * fall asleep on a condition variable. The calling thread works too, so a
 * pool of n threads starts n - 1 workers.
 */
#ifndef VR_KERNELS_CPU_THREAD_POOL_H
#define VR_KERNELS_CPU_THREAD_POOL_H

#include <stddef.h>

typedef struct vr_thread_pool vr_thread_pool;

/* fn(ctx, task, thread) is called once for every task in [0, ntasks);
 * `thread` is in [0, pool size) and unique among concurrent calls, so it can
 * index per-thread scratch. */
typedef void (*vr_pool_fn)(void *ctx, int task, int thread);

/* nthreads counts the caller; 1 makes a pool that starts no thread. */
vr_thread_pool *vr_thread_pool_create(int nthreads, char *err, size_t errlen);
void vr_thread_pool_destroy(vr_thread_pool *pool);
int vr_thread_pool_size(const vr_thread_pool *pool);

/* Run ntasks tasks over the pool and return when all are done. Tasks are
 * handed out in order, one at a time, so uneven tasks balance themselves.
 * pool may be NULL (runs everything on the caller). Not reentrant: only one
 * thread may call run on a pool at a time, and fn must not call run. */
void vr_thread_pool_run(vr_thread_pool *pool, int ntasks, vr_pool_fn fn, void *ctx);

/* Number of CPUs this process may run on (at least 1). */
int vr_cpu_count(void);

#endif
