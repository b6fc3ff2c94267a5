/* kernels/cuda/gpu_backend.h — private to kernels/cuda/ (and kernels/hip/,
 * which builds the same sources): the GPU backend's struct, its KV cache and
 * the kernel launchers each .cu file provides.
 *
 * One backend = one device and one stream. Every op is enqueued on that
 * stream; download() and sync() wait for it. Ops cannot return errors (see
 * kernels/backend.h), so the first runtime error is kept in `err` (sticky),
 * printed once, and readable through vr_cuda_error() / vr_hip_error().
 */
#ifndef VR_KERNELS_CUDA_GPU_BACKEND_H
#define VR_KERNELS_CUDA_GPU_BACKEND_H

#include "kernels/cuda/gpu_rt.h"

#ifdef VR_GPU_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

namespace VR_GPU_NS {

/* Paged KV cache, one K and one V pool per layer, each laid out
 *   [num_blocks][num_kv_heads][block_size][head_dim]  of desc.dtype
 * (the same as the CPU backend): the block_size x head_dim tile that one kv
 * head reads from one block is contiguous, so attention streams it. f32
 * keeps K/V exactly; bf16 / f16 (rounded to nearest even on write) halve
 * the memory and the bandwidth decode attention is bound by. */
struct gpu_kv {
    vr_kv_cache_desc desc;
    size_t esize;        /* bytes per element of desc.dtype */
    size_t block_elems;  /* one block of one layer, K or V */
    size_t layer_elems;  /* num_blocks * block_elems */
    void *k;             /* [num_layers][layer_elems] */
    void *v;
};

/* Storage type of a KV dtype, and conversions to and from f32. */
template <vr_dtype DT> struct kv_store { typedef uint16_t type; };
template <> struct kv_store<VR_F32> { typedef float type; };

template <vr_dtype DT>
__device__ __forceinline__ float kv_load(const typename kv_store<DT>::type *p, size_t i);
template <> __device__ __forceinline__ float kv_load<VR_F32>(const float *p, size_t i) { return p[i]; }
template <> __device__ __forceinline__ float kv_load<VR_BF16>(const uint16_t *p, size_t i) {
    return bf16_to_f32(p[i]);
}
template <> __device__ __forceinline__ float kv_load<VR_F16>(const uint16_t *p, size_t i) {
    return f16_to_f32(p[i]);
}

template <vr_dtype DT> __device__ __forceinline__ typename kv_store<DT>::type kv_pack(float f);
template <> __device__ __forceinline__ float kv_pack<VR_F32>(float f) { return f; }
template <> __device__ __forceinline__ uint16_t kv_pack<VR_BF16>(float f) { return f32_to_bf16(f); }
template <> __device__ __forceinline__ uint16_t kv_pack<VR_F16>(float f) {
    return __half_as_ushort(__float2half_rn(f)); /* round to nearest even */
}

struct gpu_backend {
    vr_backend base;
    int device;
    int sm_count;
    char device_name[256];
    cudaStream_t stream;
#ifdef VR_GPU_HAVE_CUBLAS
    cublasHandle_t blas; /* NULL: every matmul uses the tiled kernel */
#endif
    int tiled_gemm;    /* 1: matmul always through our own tiled kernel */
    void *xconv;       /* matmul scratch: x converted to the weight's 16-bit type */
    size_t xconv_cap;  /* bytes */
    float *attn_part;  /* attention scratch: per-split partial results */
    size_t attn_part_cap; /* bytes */
    char err[256];     /* first runtime error (sticky), "" when none */
};

/* Record a runtime error (first one wins); returns nonzero when e failed. */
int check(gpu_backend *g, cudaError_t e, const char *what);

/* ---- launchers (all enqueue on g->stream; pointers are device pointers) ---- */

/* gpu_ops.cu */
void launch_rmsnorm(gpu_backend *g, float *out, const float *x, const void *w, vr_dtype wdt,
                    int rows, int dim, float eps, float weight_offset);
void launch_add(gpu_backend *g, float *x, const float *y, size_t n);
void launch_add_bias(gpu_backend *g, float *y, const void *bias, vr_dtype dt, int M, int N);
void launch_embedding(gpu_backend *g, float *out, const void *table, vr_dtype dt,
                      const int32_t *ids, int ntok, int dim, float scale);
void launch_rope(gpu_backend *g, float *x, int ntok, int nheads, int head_dim,
                 const int32_t *pos, const vr_rope *rope);
void launch_act_mul(gpu_backend *g, float *out, const float *gate_up, int ntok, int inter,
                    vr_activation act);
void launch_write_kv(gpu_backend *g, gpu_kv *kv, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok);
void launch_gather_rows(gpu_backend *g, float *dst, const float *src, const int32_t *rows,
                        int n, int dim);
/* out[r] = index of the largest x[r][:] (lowest index on ties). */
void launch_argmax_rows(gpu_backend *g, int32_t *out, const float *x, int rows, int dim);
/* dst[i] = x[i] rounded to bf16 (to_bf16) or f16 bits, n elements. */
void launch_convert_x(gpu_backend *g, uint16_t *dst, const float *x, size_t n, int to_bf16);

/* gpu_gemm.cu: y[M][N] = x[M][K] W[N][K]^T + bias, f32 accumulation. */
void launch_gemm_tiled(gpu_backend *g, float *y, const float *x, const void *w, vr_dtype wdt,
                       const void *bias, int M, int N, int K);

/* gpu_attention.cu */
void launch_attention(gpu_backend *g, float *out, const float *q, const gpu_kv *kv, int layer,
                      const vr_attn_meta *meta, int heads, int kv_heads, int head_dim,
                      float scale, float softcap);

} /* namespace VR_GPU_NS */

#endif
