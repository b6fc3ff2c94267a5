/* kernels/cuda/gpu_rt.h — what every GPU source of kernels/cuda/ includes
 * first: the runtime API, the warp width, and small device helpers.
 *
 * The same .cu files build two backends:
 *  - CUDA (nvcc): the CUDA runtime, 32-lane warps, exported as "cuda";
 *  - HIP (hipcc, VR_GPU_HIP defined): kernels/hip/hip_map.h renames the CUDA
 *    runtime names used here to HIP ones, wavefronts are 64 lanes, exported
 *    as "hip".
 * Everything private lives in namespace VR_GPU_NS (vr_cuda / vr_hip) so both
 * backends can be linked into one binary.
 *
 * Kernels never assume a warp width: they use VR_WARP, and warp-wide
 * reductions go through vr_warp_sum / vr_warp_max.
 */
#ifndef VR_KERNELS_CUDA_GPU_RT_H
#define VR_KERNELS_CUDA_GPU_RT_H

#include <stddef.h>
#include <stdint.h>

#if defined(VR_GPU_HIP)
#include "kernels/hip/hip_map.h" /* defines VR_WARP, vr_shfl_xor, CUDA -> HIP names */
#define VR_GPU_NS vr_hip
#define VR_GPU_NAME "hip"
#define VR_GPU_LABEL "HIP"
#define VR_GPU_RT "hip"
#define VR_GPU_MODULE_FN vr_gpu_module_hip /* = VR_GPU_MODULE_HIP_ENTRY */
#else
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define VR_WARP 32
#define VR_GPU_NS vr_cuda
#define VR_GPU_NAME "cuda"
#define VR_GPU_LABEL "CUDA"
#define VR_GPU_RT "cuda"
#define VR_GPU_MODULE_FN vr_gpu_module_cuda /* = VR_GPU_MODULE_CUDA_ENTRY */
#define VR_GPU_HAVE_CUBLAS 1
#define vr_shfl_xor(v, lane_mask) __shfl_xor_sync(0xffffffffu, (v), (lane_mask))
#endif

#include "kernels/backend.h"

namespace VR_GPU_NS {

/* Largest head_dim the attention kernels take (Gemma 2/3 use 256). */
constexpr int kMaxHeadDim = 256;

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = VR_WARP / 2; o > 0; o >>= 1) v += vr_shfl_xor(v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = VR_WARP / 2; o > 0; o >>= 1) v = fmaxf(v, vr_shfl_xor(v, o));
    return v;
}

/* bf16 is the top half of an f32. */
__device__ __forceinline__ float bf16_to_f32(uint16_t h) {
    return __uint_as_float((uint32_t)h << 16);
}

/* IEEE half -> f32 by hand (normals, subnormals, inf/nan), so no half-type
 * header differences between CUDA and HIP reach the kernels. */
__device__ __forceinline__ float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return __uint_as_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        float f = (float)man * (1.0f / 16777216.0f); /* man * 2^-24 */
        return sign ? -f : f;
    }
    return __uint_as_float(sign | ((exp + 112u) << 23) | (man << 13));
}

/* f32 -> bf16, round to nearest even (NaN stays NaN). */
__device__ __forceinline__ uint16_t f32_to_bf16(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Element i of a weight tensor of dtype dt, as f32. */
__device__ __forceinline__ float load_w(const void *w, vr_dtype dt, size_t i) {
    switch (dt) {
    case VR_F32: return ((const float *)w)[i];
    case VR_F16: return f16_to_f32(((const uint16_t *)w)[i]);
    case VR_BF16: return bf16_to_f32(((const uint16_t *)w)[i]);
    }
    return 0.0f;
}

} /* namespace VR_GPU_NS */

#endif
