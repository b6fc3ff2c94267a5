/* kernels/cpu/matmul_dnnl.c — f32-weight matmuls with many rows through
 * oneDNN's sgemm, where it beats our own f32 kernel (measured with
 * benchmarks/kernels: about 85 vs 54 GFLOP/s per core at M = 512 on an
 * AVX2 machine). bf16 weights stay on our kernel: oneDNN's bf16 path needs
 * AVX-512, and converting panels to f32 for its sgemm gained < 10%.
 *
 * Threading: the Debian oneDNN runs on OpenMP. Our pool already splits the
 * output columns across the cores, so every call here is made from one pool
 * thread with that thread's OpenMP team size set to 1: no second set of
 * spinning threads competing with the pool for the same cores.
 */
#include "kernels/cpu/cpu_backend.h"

#ifdef VR_HAVE_DNNL

#include <dnnl.h>
#include <omp.h>

int vr_dnnl_matmul_cols(float *y, const float *x, const float *w, const float *bias, int M, int N,
                        int K, int n0, int n1) {
    omp_set_num_threads(1); /* this thread's ICV only */
    dnnl_status_t st = dnnl_sgemm('N', 'T', M, n1 - n0, K, 1.0f, x, K, w + (size_t)n0 * K, K, 0.0f,
                                  y + n0, N);
    if (st != dnnl_success) return -1;
    if (bias)
        for (int m = 0; m < M; m++) {
            float *yr = y + (size_t)m * N;
            for (int n = n0; n < n1; n++) yr[n] += bias[n];
        }
    return 0;
}

#else

typedef int vr_no_dnnl_in_this_build;

#endif
