/* kernels/cuda/gpu_hooks.h — the few GPU-backend facts a test or benchmark
 * needs beyond kernels/backend.h (C linkage; private to kernels/, tests/gpu/
 * and benchmarks/gpu/). The engine never includes this.
 *
 * The vr_cuda_* functions exist when the build has the CUDA backend, the
 * vr_hip_* ones when it has the HIP backend. `be` must come from the
 * matching constructor. */
#ifndef VR_KERNELS_CUDA_GPU_HOOKS_H
#define VR_KERNELS_CUDA_GPU_HOOKS_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1: every matmul goes through our own tiled kernel (the HIP path, and the
 * CUDA fallback) instead of cuBLAS; 0: cuBLAS where it applies (default). */
void vr_cuda_set_tiled_gemm(vr_backend *be, int on);
void vr_hip_set_tiled_gemm(vr_backend *be, int on);

/* The first runtime error any op met (ops cannot return one), or NULL. */
const char *vr_cuda_error(vr_backend *be);
const char *vr_hip_error(vr_backend *be);

/* The device's name as the runtime reports it ("NVIDIA H100 80GB HBM3"). */
const char *vr_cuda_device_name(vr_backend *be);
const char *vr_hip_device_name(vr_backend *be);

/* Greedy sampling on the device: out[r] = argmax of x[r][0..dim) (lowest
 * index on ties, like the engine's sampler), for rows r < rows. out and x
 * are device pointers. A candidate for a backend.h op (see
 * kernels/cuda/README.md). */
void vr_cuda_argmax_rows(vr_backend *be, int32_t *out, const float *x, int rows, int dim);
void vr_hip_argmax_rows(vr_backend *be, int32_t *out, const float *x, int rows, int dim);

#ifdef __cplusplus
}
#endif
#endif
