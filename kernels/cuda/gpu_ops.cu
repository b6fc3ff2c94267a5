/* kernels/cuda/gpu_ops.cu — the element-wise and row-wise ops of the GPU
 * backend, with the semantics of kernels/cpu/ref_ops.c:
 * rmsnorm, add, bias add, embedding, rope, act_mul, write_kv, gather_rows,
 * and the f32 -> bf16/f16 conversion the cuBLAS matmul path needs.
 *
 * Launch shapes are plain: one block per row for row-wise ops, a grid-stride
 * loop for element-wise ones. These ops move a few MB per step; the GEMMs
 * and attention are where the time goes.
 */
#include <math.h>

#include "kernels/cuda/gpu_backend.h"

namespace VR_GPU_NS {

static unsigned grid_for(size_t n, unsigned threads) {
    size_t b = (n + threads - 1) / threads;
    if (b > 65535u * 8u) b = 65535u * 8u; /* the loops stride over the rest */
    return b ? (unsigned)b : 1u;
}

static void after_launch(gpu_backend *g, const char *what) { check(g, cudaGetLastError(), what); }

/* ---- rmsnorm: one block per row; out may alias x (each thread rewrites
 * only the elements it read). ---- */
__global__ void rmsnorm_kernel(float *out, const float *x, const void *w, vr_dtype wdt, int dim,
                               float eps, float weight_offset) {
    __shared__ float partial[1024 / VR_WARP];
    const float *xr = x + (size_t)blockIdx.x * dim;
    float *o = out + (size_t)blockIdx.x * dim;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
    ss = warp_sum(ss);
    int warp = threadIdx.x / VR_WARP, lane = threadIdx.x % VR_WARP;
    if (lane == 0) partial[warp] = ss;
    __syncthreads();
    int nwarps = (blockDim.x + VR_WARP - 1) / VR_WARP;
    float tot = 0.0f;
    for (int i = 0; i < nwarps; i++) tot += partial[i];
    float inv = rsqrtf(tot / (float)dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        o[i] = xr[i] * inv * (weight_offset + load_w(w, wdt, (size_t)i));
}

void launch_rmsnorm(gpu_backend *g, float *out, const float *x, const void *w, vr_dtype wdt,
                    int rows, int dim, float eps, float weight_offset) {
    if (rows <= 0) return;
    int threads = dim >= 1024 ? 1024 : (dim + VR_WARP - 1) / VR_WARP * VR_WARP;
    if (threads < VR_WARP) threads = VR_WARP;
    rmsnorm_kernel<<<rows, threads, 0, g->stream>>>(out, x, w, wdt, dim, eps, weight_offset);
    after_launch(g, "rmsnorm");
}

/* ---- add / bias ---- */
__global__ void add_kernel(float *x, const float *y, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

void launch_add(gpu_backend *g, float *x, const float *y, size_t n) {
    if (!n) return;
    add_kernel<<<grid_for(n, 256), 256, 0, g->stream>>>(x, y, n);
    after_launch(g, "add");
}

__global__ void add_bias_kernel(float *y, const void *bias, vr_dtype dt, size_t total, int N) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += load_w(bias, dt, i % (size_t)N);
}

void launch_add_bias(gpu_backend *g, float *y, const void *bias, vr_dtype dt, int M, int N) {
    size_t total = (size_t)M * (size_t)N;
    if (!total) return;
    add_bias_kernel<<<grid_for(total, 256), 256, 0, g->stream>>>(y, bias, dt, total, N);
    after_launch(g, "bias add");
}

/* ---- embedding: one block per token ---- */
__global__ void embedding_kernel(float *out, const void *table, vr_dtype dt, const int32_t *ids,
                                 int dim, float scale) {
    size_t base = (size_t)ids[blockIdx.x] * (size_t)dim;
    float *o = out + (size_t)blockIdx.x * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) o[d] = load_w(table, dt, base + d) * scale;
}

void launch_embedding(gpu_backend *g, float *out, const void *table, vr_dtype dt,
                      const int32_t *ids, int ntok, int dim, float scale) {
    if (ntok <= 0) return;
    embedding_kernel<<<ntok, 256, 0, g->stream>>>(out, table, dt, ids, dim, scale);
    after_launch(g, "embedding");
}

/* ---- rope: one block per token, one thread per rotated pair index i; the
 * angle is formed and its cos/sin taken in double, as the CPU reference does
 * (an f32 pos * inv_freq loses the phase at long positions), once per (t, i)
 * and applied to every head. ---- */
__global__ void rope_kernel(float *x, int nheads, int head_dim, const int32_t *pos,
                            const float *inv_freq, int half, float attn_factor) {
    int t = blockIdx.x;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        double ang = (double)pos[t] * (double)inv_freq[i];
        float c = (float)cos(ang) * attn_factor;
        float s = (float)sin(ang) * attn_factor;
        for (int h = 0; h < nheads; h++) {
            float *xh = x + ((size_t)t * nheads + h) * head_dim;
            float a = xh[i], b = xh[i + half];
            xh[i] = a * c - b * s;
            xh[i + half] = b * c + a * s;
        }
    }
}

void launch_rope(gpu_backend *g, float *x, int ntok, int nheads, int head_dim,
                 const int32_t *pos, const vr_rope *rope) {
    int half = rope->rotary_dim / 2;
    if (ntok <= 0 || half <= 0) return;
    int threads = half >= 256 ? 256 : (half + VR_WARP - 1) / VR_WARP * VR_WARP;
    rope_kernel<<<ntok, threads, 0, g->stream>>>(x, nheads, head_dim, pos, rope->inv_freq, half,
                                                 rope->attn_factor);
    after_launch(g, "rope");
}

/* ---- act_mul ---- */
__device__ __forceinline__ float activate(float gv, vr_activation act) {
    switch (act) {
    case VR_ACT_SILU: return gv / (1.0f + expf(-gv));
    case VR_ACT_GELU_TANH: {
        /* 0.5 g (1 + tanh(z)) as g * sigmoid(2z), like the CPU reference */
        const float k = 0.7978845608028654f;
        return gv / (1.0f + expf(-2.0f * k * (gv + 0.044715f * gv * gv * gv)));
    }
    case VR_ACT_GELU: return 0.5f * gv * (1.0f + erff(gv * 0.7071067811865476f));
    }
    return gv;
}

__global__ void act_mul_kernel(float *out, const float *gate_up, size_t total, int inter,
                               vr_activation act) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / (size_t)inter, c = i % (size_t)inter;
        const float *gr = gate_up + t * 2 * (size_t)inter;
        out[i] = activate(gr[c], act) * gr[inter + c];
    }
}

void launch_act_mul(gpu_backend *g, float *out, const float *gate_up, int ntok, int inter,
                    vr_activation act) {
    size_t total = (size_t)ntok * (size_t)inter;
    if (!total) return;
    act_mul_kernel<<<grid_for(total, 256), 256, 0, g->stream>>>(out, gate_up, total, inter, act);
    after_launch(g, "act_mul");
}

/* ---- write_kv: one block per token; slot < 0 skips the token ---- */
template <vr_dtype KDT>
__global__ void write_kv_kernel(typename kv_store<KDT>::type *kpool,
                                typename kv_store<KDT>::type *vpool, const float *k,
                                const float *v, const int32_t *slots, int kv_heads,
                                int block_size, int head_dim, size_t block_elems) {
    int t = blockIdx.x;
    int slot = slots[t];
    if (slot < 0) return;
    int block = slot / block_size, off = slot % block_size;
    int row = kv_heads * head_dim;
    for (int i = threadIdx.x; i < row; i += blockDim.x) {
        int h = i / head_dim, d = i % head_dim;
        size_t dst = (size_t)block * block_elems +
                     ((size_t)h * block_size + off) * (size_t)head_dim + d;
        kpool[dst] = kv_pack<KDT>(k[(size_t)t * row + i]);
        vpool[dst] = kv_pack<KDT>(v[(size_t)t * row + i]);
    }
}

template <vr_dtype KDT>
static void write_kv_as(gpu_backend *g, gpu_kv *kv, int layer, const float *k, const float *v,
                        const int32_t *slots, int ntok) {
    typedef typename kv_store<KDT>::type T;
    const vr_kv_cache_desc *d = &kv->desc;
    T *kp = static_cast<T *>(kv->k) + (size_t)layer * kv->layer_elems;
    T *vp = static_cast<T *>(kv->v) + (size_t)layer * kv->layer_elems;
    write_kv_kernel<KDT><<<ntok, 256, 0, g->stream>>>(kp, vp, k, v, slots, d->num_kv_heads,
                                                      d->block_size, d->head_dim,
                                                      kv->block_elems);
}

void launch_write_kv(gpu_backend *g, gpu_kv *kv, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok) {
    if (ntok <= 0) return;
    switch (kv->desc.dtype) {
    case VR_F32: write_kv_as<VR_F32>(g, kv, layer, k, v, slots, ntok); break;
    case VR_BF16: write_kv_as<VR_BF16>(g, kv, layer, k, v, slots, ntok); break;
    case VR_F16: write_kv_as<VR_F16>(g, kv, layer, k, v, slots, ntok); break;
    }
    after_launch(g, "write_kv");
}

/* ---- gather_rows: one block per output row (src and dst must not overlap) ---- */
__global__ void gather_rows_kernel(float *dst, const float *src, const int32_t *rows, int dim) {
    const float *s = src + (size_t)rows[blockIdx.x] * dim;
    float *o = dst + (size_t)blockIdx.x * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) o[d] = s[d];
}

void launch_gather_rows(gpu_backend *g, float *dst, const float *src, const int32_t *rows,
                        int n, int dim) {
    if (n <= 0) return;
    gather_rows_kernel<<<n, 256, 0, g->stream>>>(dst, src, rows, dim);
    after_launch(g, "gather_rows");
}

/* ---- f32 -> 16-bit activations for the tensor-core GEMM ---- */
__device__ __forceinline__ uint16_t f32_to_f16_bits(float f) {
    return __half_as_ushort(__float2half_rn(f)); /* round to nearest even */
}

__global__ void convert_x_kernel(uint16_t *dst, const float *x, size_t n, int to_bf16) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = to_bf16 ? f32_to_bf16(x[i]) : f32_to_f16_bits(x[i]);
}

void launch_convert_x(gpu_backend *g, uint16_t *dst, const float *x, size_t n, int to_bf16) {
    if (!n) return;
    convert_x_kernel<<<grid_for(n, 256), 256, 0, g->stream>>>(dst, x, n, to_bf16);
    after_launch(g, "convert x");
}

/* ---- argmax per row (greedy sampling on the device: 4 bytes per request
 * cross back instead of the vocabulary's logits). Ties go to the lowest
 * index, like the engine's sampler. ---- */
__device__ __forceinline__ void better_of(float &v, int &i, float v2, int i2) {
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

__global__ void argmax_rows_kernel(int32_t *out, const float *x, int dim) {
    __shared__ float sv[1024 / VR_WARP];
    __shared__ int si[1024 / VR_WARP];
    const float *xr = x + (size_t)blockIdx.x * dim;
    float v = -INFINITY;
    int i = dim; /* loses every tie against a real index */
    for (int k = threadIdx.x; k < dim; k += blockDim.x) better_of(v, i, xr[k], k);
    for (int o = VR_WARP / 2; o > 0; o >>= 1) {
        float v2 = vr_shfl_xor(v, o);
        int i2 = vr_shfl_xor(i, o);
        better_of(v, i, v2, i2);
    }
    int warp = threadIdx.x / VR_WARP, lane = threadIdx.x % VR_WARP;
    if (lane == 0) {
        sv[warp] = v;
        si[warp] = i;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int nwarps = (blockDim.x + VR_WARP - 1) / VR_WARP;
        for (int w = 1; w < nwarps; w++) better_of(v, i, sv[w], si[w]);
        out[blockIdx.x] = i < dim ? i : 0; /* all -inf / NaN: index 0, as on the host */
    }
}

void launch_argmax_rows(gpu_backend *g, int32_t *out, const float *x, int rows, int dim) {
    if (rows <= 0 || dim <= 0) return;
    argmax_rows_kernel<<<rows, 1024, 0, g->stream>>>(out, x, dim);
    after_launch(g, "argmax");
}

} /* namespace VR_GPU_NS */
