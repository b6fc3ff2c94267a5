/* kernels/cuda/gpu_gemm.cu — our own tiled GEMM, y = x W^T + bias.
 *
 * Why it exists: the HIP build has no BLAS to call (Debian ships no
 * hipBLAS/rocBLAS), and on CUDA it is the fallback when cuBLAS cannot be
 * used. It reads x in f32 and W in its own dtype (bf16/f16/f32), converts W
 * to f32 in shared memory and accumulates in f32: the same arithmetic as the
 * CPU reference, so its results sit close to it.
 *
 * Tiling: a block of 256 threads computes a 64 x 64 tile of y, walking K in
 * steps of 16. Each step stages x[64][16] and W[64][16] (both transposed to
 * k-major so the inner loop reads consecutive floats) and every thread
 * accumulates a 4 x 4 sub-tile in registers. Plain CUDA C++, no tensor
 * cores: correct everywhere, a fraction of cuBLAS's speed.
 */
#include "kernels/cuda/gpu_backend.h"

namespace VR_GPU_NS {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

template <vr_dtype WDT>
__device__ __forceinline__ float wload(const void *w, size_t i) {
    if (WDT == VR_F32) return ((const float *)w)[i];
    if (WDT == VR_BF16) return bf16_to_f32(((const uint16_t *)w)[i]);
    return f16_to_f32(((const uint16_t *)w)[i]);
}

template <vr_dtype WDT>
__global__ void __launch_bounds__(kThreads)
gemm_tiled_kernel(float *y, const float *x, const void *w, const void *bias, int M, int N, int K) {
    __shared__ float xs[kBK][kBM + 4]; /* +4: spread the transposed stores over banks */
    __shared__ float ws[kBK][kBN + 4];
    const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
    const int tid = threadIdx.x;
    const int tm = (tid / 16) * 4, tn = (tid % 16) * 4; /* this thread's 4x4 sub-tile */
    float acc[4][4] = {};

    for (int k0 = 0; k0 < K; k0 += kBK) {
        /* stage: 64 rows x 16 k of each operand = 4 elements per thread,
         * consecutive threads read consecutive k of a row (coalesced). */
        for (int e = tid; e < kBM * kBK; e += kThreads) {
            int r = e / kBK, kk = e % kBK;
            int gm = m0 + r, gn = n0 + r, gk = k0 + kk;
            xs[kk][r] = (gm < M && gk < K) ? x[(size_t)gm * K + gk] : 0.0f;
            ws[kk][r] = (gn < N && gk < K) ? wload<WDT>(w, (size_t)gn * K + gk) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kBK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = xs[kk][tm + i];
                b[i] = ws[kk][tn + i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int gm = m0 + tm + i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int gn = n0 + tn + j;
            if (gn >= N) continue;
            float b = bias ? wload<WDT>(bias, (size_t)gn) : 0.0f;
            y[(size_t)gm * N + gn] = acc[i][j] + b;
        }
    }
}

void launch_gemm_tiled(gpu_backend *g, float *y, const float *x, const void *w, vr_dtype wdt,
                       const void *bias, int M, int N, int K) {
    if (M <= 0 || N <= 0) return;
    dim3 grid((unsigned)((N + kBN - 1) / kBN), (unsigned)((M + kBM - 1) / kBM));
    switch (wdt) {
    case VR_F32:
        gemm_tiled_kernel<VR_F32><<<grid, kThreads, 0, g->stream>>>(y, x, w, bias, M, N, K);
        break;
    case VR_BF16:
        gemm_tiled_kernel<VR_BF16><<<grid, kThreads, 0, g->stream>>>(y, x, w, bias, M, N, K);
        break;
    case VR_F16:
        gemm_tiled_kernel<VR_F16><<<grid, kThreads, 0, g->stream>>>(y, x, w, bias, M, N, K);
        break;
    }
    check(g, cudaGetLastError(), "tiled gemm");
}

} /* namespace VR_GPU_NS */
