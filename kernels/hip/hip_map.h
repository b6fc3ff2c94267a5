/* kernels/hip/hip_map.h — the CUDA runtime names used by the shared kernel
 * sources in kernels/cuda/ mapped onto HIP, so hipcc builds those sources
 * unchanged for AMD GPUs. Included by kernels/cuda/gpu_rt.h when VR_GPU_HIP
 * is defined; nothing else includes it.
 *
 * Only names the sources actually use are mapped: adding a CUDA call to a
 * shared source means adding its HIP name here (the HIP build fails loudly
 * otherwise, which is the point).
 */
#ifndef VR_KERNELS_HIP_HIP_MAP_H
#define VR_KERNELS_HIP_HIP_MAP_H

#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

/* Wavefront width of the chips we build for (gfx90a: MI200, gfx940: MI300):
 * 64 lanes. Kernels read it through VR_WARP only. */
#define VR_WARP 64

/* Warp-wide butterfly exchange (all 64 lanes take part). */
#define vr_shfl_xor(v, lane_mask) __shfl_xor((v), (lane_mask), VR_WARP)

/* ---- types and constants ---- */
#define cudaError_t hipError_t
#define cudaSuccess hipSuccess
#define cudaErrorInvalidValue hipErrorInvalidValue
#define cudaStream_t hipStream_t
#define cudaStreamNonBlocking hipStreamNonBlocking
#define cudaDeviceProp hipDeviceProp_t
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice

/* ---- runtime calls ---- */
#define cudaGetErrorString hipGetErrorString
#define cudaGetLastError hipGetLastError
#define cudaGetDeviceCount hipGetDeviceCount
#define cudaGetDeviceProperties hipGetDeviceProperties
#define cudaSetDevice hipSetDevice
#define cudaMalloc hipMalloc
#define cudaFree hipFree
#define cudaMemGetInfo hipMemGetInfo
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaMemsetAsync hipMemsetAsync
#define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#define cudaStreamSynchronize hipStreamSynchronize
#define cudaStreamDestroy hipStreamDestroy

#endif
