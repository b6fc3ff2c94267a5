/* kernels/cuda/gpu_hooks.h — the few GPU-backend facts a test or benchmark
 * needs beyond kernels/backend.h (C linkage; private to kernels/, tests/gpu/
 * and benchmarks/gpu/). The engine never includes this.
 *
 * The vr_cuda_* / vr_hip_* hooks are always linkable (kernels/
 * backend_select.c); `be` must come from the matching constructor. */
#ifndef VR_KERNELS_CUDA_GPU_HOOKS_H
#define VR_KERNELS_CUDA_GPU_HOOKS_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the module boundary ----
 * Each GPU backend is built as a loadable module (libvireo_cuda.so,
 * libvireo_hip.so) so that a CPU-only run of vireo never maps the GPU
 * runtime and its math libraries (hundreds of MB, a third of a second).
 * A module exports exactly one symbol, VR_GPU_MODULE_CUDA_ENTRY or
 * VR_GPU_MODULE_HIP_ENTRY, a function returning this table;
 * kernels/backend_select.c dlopens the module on first use and implements
 * vr_backend_cuda_create / vr_backend_hip_create and the hooks below on top
 * of it. abi and ops_size let the loader refuse a module built from other
 * sources instead of calling through a mismatched table. */
#define VR_GPU_MODULE_ABI 1
#define VR_GPU_MODULE_CUDA_ENTRY "vr_gpu_module_cuda"
#define VR_GPU_MODULE_HIP_ENTRY "vr_gpu_module_hip"

typedef struct vr_gpu_module {
    int abi;         /* VR_GPU_MODULE_ABI the module was built with */
    size_t ops_size; /* sizeof(vr_backend_ops) the module was built with */
    vr_backend *(*create)(int device_index, char *err, size_t errlen);
    void (*set_tiled_gemm)(vr_backend *be, int on);
    const char *(*error)(vr_backend *be);
    const char *(*device_name)(vr_backend *be);
    void (*argmax_rows)(vr_backend *be, int32_t *out, const float *x, int rows, int dim);
} vr_gpu_module;

typedef const vr_gpu_module *(*vr_gpu_module_entry)(void);

/* ---- hooks (in vireo_kernels; they reach the loaded module). `be` must
 * come from the matching constructor, so the module is loaded. ---- */

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
