/* kernels/cuda/gpu_backend.cu — the GPU backend: creation, memory, weights,
 * the KV cache, matmul dispatch and the ops table (kernels/backend.h).
 *
 * Built twice from the same source: as "cuda" (nvcc, cuBLAS for matmuls) and
 * as "hip" (hipcc through kernels/hip/hip_map.h, our tiled GEMM for matmuls).
 *
 * Threads: the engine may create the backend on one thread and run steps on
 * another; the runtime's current device is per thread, so every entry point
 * binds the backend's device first (cheap when it already is current).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/gpu_backend.h"
#include "kernels/cuda/gpu_hooks.h"

namespace VR_GPU_NS {

/* Share of the device's total memory the engine may fill (weights, KV
 * cache, activations): the --gpu-memory-utilization default. */
constexpr double kMemoryUtilization = 0.9;

static gpu_backend *gb(vr_backend *be) { return reinterpret_cast<gpu_backend *>(be); }

int check(gpu_backend *g, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return 0;
    if (!g->err[0]) {
        snprintf(g->err, sizeof g->err, "%s: %s", what, cudaGetErrorString(e));
        fprintf(stderr, "vireo %s backend: %s\n", VR_GPU_NAME, g->err);
    }
    return 1;
}

static void bind(gpu_backend *g) { (void)cudaSetDevice(g->device); }

/* ---- memory ---- */

static void *gpu_alloc(vr_backend *be, size_t bytes) {
    gpu_backend *g = gb(be);
    bind(g);
    void *p = nullptr;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        (void)cudaGetLastError(); /* out of memory is the caller's to report */
        return nullptr;
    }
    return p;
}

static void gpu_free(vr_backend *be, void *p) {
    gpu_backend *g = gb(be);
    if (!p) return;
    bind(g);
    check(g, cudaFree(p), "free");
}

static void gpu_upload(vr_backend *be, void *dst, const void *src, size_t bytes) {
    gpu_backend *g = gb(be);
    if (!bytes) return;
    bind(g);
    /* from pageable memory the call returns once src has been staged, so the
     * caller may reuse its buffer right away */
    check(g, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g->stream), "upload");
}

static void gpu_download(vr_backend *be, void *dst, const void *src, size_t bytes) {
    gpu_backend *g = gb(be);
    bind(g);
    if (bytes)
        check(g, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g->stream), "download");
    check(g, cudaStreamSynchronize(g->stream), "download (sync)");
}

static void gpu_sync(vr_backend *be) {
    gpu_backend *g = gb(be);
    bind(g);
    check(g, cudaStreamSynchronize(g->stream), "sync");
}

/* Weights keep their dtype: a device copy of the file bytes (little-endian,
 * which every supported GPU host is). */
static void *gpu_upload_weight(vr_backend *be, const void *host, size_t nelem, vr_dtype dt) {
    gpu_backend *g = gb(be);
    size_t es = dt == VR_F32 ? 4 : 2; /* (vr_dtype_size lives in vireo_kernels, which links us) */
    if (nelem > SIZE_MAX / es) return nullptr;
    void *dev = gpu_alloc(be, nelem * es);
    if (!dev) return nullptr;
    if (nelem &&
        (cudaMemcpyAsync(dev, host, nelem * es, cudaMemcpyHostToDevice, g->stream) != cudaSuccess ||
         cudaStreamSynchronize(g->stream) != cudaSuccess)) {
        (void)cudaGetLastError();
        (void)cudaFree(dev);
        return nullptr;
    }
    return dev;
}

static void gpu_free_weight(vr_backend *be, void *dev, const void *host) {
    (void)host;
    gpu_free(be, dev);
}

/* What may still be filled: utilization x total minus what is already in
 * use (weights, cuBLAS workspace, other processes). The engine sizes the KV
 * cache from this; its activations come out of the remaining 10%. */
static size_t gpu_memory_available(vr_backend *be) {
    gpu_backend *g = gb(be);
    bind(g);
    size_t free_b = 0, total = 0;
    if (check(g, cudaMemGetInfo(&free_b, &total), "memory info")) return 0;
    size_t reserve = (size_t)((1.0 - kMemoryUtilization) * (double)total);
    return free_b > reserve ? free_b - reserve : 0;
}

/* ---- KV cache ---- */

static size_t kv_esize(vr_dtype dt) { return dt == VR_BF16 || dt == VR_F16 ? 2 : 4; }

static size_t gpu_kv_bytes_per_block(vr_backend *be, const vr_kv_cache_desc *d) {
    (void)be;
    return 2 * (size_t)d->num_layers * (size_t)d->block_size * (size_t)d->num_kv_heads *
           (size_t)d->head_dim * kv_esize(d->dtype);
}

static void gpu_kv_destroy(vr_backend *be, void *p) {
    gpu_kv *kv = static_cast<gpu_kv *>(p);
    if (!kv) return;
    gpu_free(be, kv->k);
    gpu_free(be, kv->v);
    free(kv);
}

static void *gpu_kv_create(vr_backend *be, const vr_kv_cache_desc *d, char *err, size_t errlen) {
    gpu_backend *g = gb(be);
    if (d->num_layers <= 0 || d->num_blocks <= 0 || d->block_size <= 0 || d->num_kv_heads <= 0 ||
        d->head_dim <= 0 || d->head_dim > kMaxHeadDim ||
        (d->dtype != VR_F32 && d->dtype != VR_BF16 && d->dtype != VR_F16)) {
        snprintf(err, errlen,
                 "kv cache: unsupported shape on %s (layers %d, blocks %d, block size %d, kv heads "
                 "%d, head dim %d, dtype %d; head dim at most %d)",
                 VR_GPU_NAME, d->num_layers, d->num_blocks, d->block_size, d->num_kv_heads,
                 d->head_dim, (int)d->dtype, kMaxHeadDim);
        return nullptr;
    }
    gpu_kv *kv = static_cast<gpu_kv *>(calloc(1, sizeof *kv));
    if (!kv) {
        snprintf(err, errlen, "kv cache: out of memory");
        return nullptr;
    }
    kv->desc = *d;
    kv->esize = kv_esize(d->dtype);
    kv->block_elems = (size_t)d->num_kv_heads * (size_t)d->block_size * (size_t)d->head_dim;
    kv->layer_elems = kv->block_elems * (size_t)d->num_blocks;
    size_t total = kv->layer_elems * (size_t)d->num_layers;
    if (total / (size_t)d->num_layers != kv->layer_elems || total > SIZE_MAX / kv->esize) {
        snprintf(err, errlen, "kv cache: size overflows");
        free(kv);
        return nullptr;
    }
    const size_t bytes = total * kv->esize;
    kv->k = gpu_alloc(be, bytes);
    kv->v = gpu_alloc(be, bytes);
    if (!kv->k || !kv->v) {
        snprintf(err, errlen, "kv cache: cannot allocate 2 x %zu MiB of %s memory for %d blocks",
                 bytes >> 20, VR_GPU_LABEL, d->num_blocks);
        gpu_kv_destroy(be, kv);
        return nullptr;
    }
    /* zeros, so a stray read of an unwritten slot is a number, never NaN */
    if (check(g, cudaMemsetAsync(kv->k, 0, bytes, g->stream), "kv clear") ||
        check(g, cudaMemsetAsync(kv->v, 0, bytes, g->stream), "kv clear")) {
        snprintf(err, errlen, "kv cache: %s", g->err);
        gpu_kv_destroy(be, kv);
        return nullptr;
    }
    return kv;
}

static void gpu_kv_copy_blocks(vr_backend *be, void *p, const int32_t *src, const int32_t *dst,
                               int n) {
    gpu_backend *g = gb(be);
    gpu_kv *kv = static_cast<gpu_kv *>(p);
    bind(g);
    const size_t bytes = kv->block_elems * kv->esize, layer = kv->layer_elems * kv->esize;
    for (int l = 0; l < kv->desc.num_layers; l++) {
        char *kl = static_cast<char *>(kv->k) + (size_t)l * layer;
        char *vl = static_cast<char *>(kv->v) + (size_t)l * layer;
        for (int i = 0; i < n; i++) {
            if (src[i] == dst[i]) continue;
            check(g,
                  cudaMemcpyAsync(kl + (size_t)dst[i] * bytes, kl + (size_t)src[i] * bytes, bytes,
                                  cudaMemcpyDeviceToDevice, g->stream),
                  "kv copy");
            check(g,
                  cudaMemcpyAsync(vl + (size_t)dst[i] * bytes, vl + (size_t)src[i] * bytes, bytes,
                                  cudaMemcpyDeviceToDevice, g->stream),
                  "kv copy");
        }
    }
}

/* ---- matmul ---- */

#ifdef VR_GPU_HAVE_CUBLAS
/* Scratch for x in 16 bits; grows only (so steady-state steps allocate
 * nothing). 0 when it cannot grow: the caller takes the tiled path. */
static int ensure_xconv(gpu_backend *g, size_t bytes) {
    if (bytes <= g->xconv_cap) return 1;
    if (g->xconv) check(g, cudaFree(g->xconv), "matmul scratch free");
    g->xconv = nullptr;
    g->xconv_cap = 0;
    if (cudaMalloc(&g->xconv, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        g->xconv = nullptr;
        return 0;
    }
    g->xconv_cap = bytes;
    return 1;
}

/* y^T = W x^T in cuBLAS's column-major terms: W [N][K] row-major is a K x N
 * column-major matrix (op T), x [M][K] is K x M (op N), y [M][N] is N x M. */
static int blas_matmul(gpu_backend *g, float *y, const float *x, const void *w, vr_dtype wdt,
                       int M, int N, int K) {
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t st;
    if (wdt == VR_F32) {
        st = cublasSgemm(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one,
                         static_cast<const float *>(w), K, x, K, &zero, y, N);
    } else {
        /* tensor cores take 16-bit inputs: x is rounded to the weight's type,
         * products accumulate in f32 and y is written in f32 */
        if (!ensure_xconv(g, (size_t)M * (size_t)K * sizeof(uint16_t))) return 0;
        launch_convert_x(g, static_cast<uint16_t *>(g->xconv), x, (size_t)M * K, wdt == VR_BF16);
        cudaDataType t = wdt == VR_BF16 ? CUDA_R_16BF : CUDA_R_16F;
        st = cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, w, t, K, g->xconv, t,
                          K, &zero, y, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    if (st != CUBLAS_STATUS_SUCCESS) {
        if (!g->err[0])
            fprintf(stderr, "vireo cuda backend: cuBLAS status %d for %dx%dx%d; using tiled GEMM\n",
                    (int)st, M, N, K);
        return 0;
    }
    return 1;
}
#endif

static void gpu_matmul(vr_backend *be, float *y, const float *x, const void *w, vr_dtype wdt,
                       const void *bias, int M, int N, int K) {
    gpu_backend *g = gb(be);
    if (M <= 0 || N <= 0) return;
    bind(g);
#ifdef VR_GPU_HAVE_CUBLAS
    if (g->blas && !g->tiled_gemm && K > 0 && blas_matmul(g, y, x, w, wdt, M, N, K)) {
        if (bias) launch_add_bias(g, y, bias, wdt, M, N);
        return;
    }
#endif
    launch_gemm_tiled(g, y, x, w, wdt, bias, M, N, K);
}

/* ---- the other ops: bind the device, launch ---- */

static void gpu_rmsnorm(vr_backend *be, float *out, const float *x, const void *w, vr_dtype wdt,
                        int rows, int dim, float eps, float weight_offset) {
    bind(gb(be));
    launch_rmsnorm(gb(be), out, x, w, wdt, rows, dim, eps, weight_offset);
}

static void gpu_add(vr_backend *be, float *x, const float *y, size_t n) {
    bind(gb(be));
    launch_add(gb(be), x, y, n);
}

static void gpu_embedding(vr_backend *be, float *out, const void *table, vr_dtype dt,
                          const int32_t *ids, int ntok, int dim, float scale) {
    bind(gb(be));
    launch_embedding(gb(be), out, table, dt, ids, ntok, dim, scale);
}

static void gpu_rope(vr_backend *be, float *x, int ntok, int nheads, int head_dim,
                     const int32_t *pos, const vr_rope *rope) {
    bind(gb(be));
    launch_rope(gb(be), x, ntok, nheads, head_dim, pos, rope);
}

static void gpu_act_mul(vr_backend *be, float *out, const float *gate_up, int ntok, int inter,
                        vr_activation act) {
    bind(gb(be));
    launch_act_mul(gb(be), out, gate_up, ntok, inter, act);
}

static void gpu_write_kv(vr_backend *be, void *kv, int layer, const float *k, const float *v,
                         const int32_t *slots, int ntok) {
    bind(gb(be));
    launch_write_kv(gb(be), static_cast<gpu_kv *>(kv), layer, k, v, slots, ntok);
}

static void gpu_attention(vr_backend *be, float *out, const float *q, const void *kv, int layer,
                          const vr_attn_meta *meta, int heads, int kv_heads, int head_dim,
                          float scale, float softcap) {
    bind(gb(be));
    launch_attention(gb(be), out, q, static_cast<const gpu_kv *>(kv), layer, meta, heads,
                     kv_heads, head_dim, scale, softcap);
}

static void gpu_gather_rows(vr_backend *be, float *dst, const float *src, const int32_t *rows,
                            int n, int dim) {
    bind(gb(be));
    launch_gather_rows(gb(be), dst, src, rows, n, dim);
}

/* ---- lifetime ---- */

static void gpu_destroy(vr_backend *be) {
    gpu_backend *g = gb(be);
    if (!g) return;
    bind(g);
    if (g->stream) (void)cudaStreamSynchronize(g->stream);
#ifdef VR_GPU_HAVE_CUBLAS
    if (g->blas) cublasDestroy(g->blas);
#endif
    if (g->xconv) (void)cudaFree(g->xconv);
    if (g->attn_part) (void)cudaFree(g->attn_part);
    if (g->stream) (void)cudaStreamDestroy(g->stream);
    free(g);
}

static const vr_backend_ops gpu_ops = {
    VR_GPU_NAME,
    gpu_destroy,
    gpu_alloc,
    gpu_free,
    gpu_upload,
    gpu_download,
    gpu_sync,
    gpu_upload_weight,
    gpu_free_weight,
    gpu_memory_available,
    gpu_kv_create,
    gpu_kv_destroy,
    gpu_kv_bytes_per_block,
    gpu_kv_copy_blocks,
    gpu_matmul,
    gpu_rmsnorm,
    gpu_add,
    gpu_embedding,
    gpu_rope,
    gpu_act_mul,
    gpu_write_kv,
    gpu_attention,
    gpu_gather_rows,
    nullptr, /* matmul_multi: the engine issues one matmul per weight */
};

static vr_backend *create(int device_index, char *err, size_t errlen) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(err, errlen, "no %s device (%sGetDeviceCount: %s)", VR_GPU_LABEL, VR_GPU_RT,
                 cudaGetErrorString(e));
        return nullptr;
    }
    if (n <= 0) {
        snprintf(err, errlen, "no %s device (%sGetDeviceCount: 0 devices)", VR_GPU_LABEL,
                 VR_GPU_RT);
        return nullptr;
    }
    if (device_index < 0 || device_index >= n) {
        snprintf(err, errlen, "%s device %d does not exist (%d found)", VR_GPU_LABEL,
                 device_index, n);
        return nullptr;
    }
    gpu_backend *g = static_cast<gpu_backend *>(calloc(1, sizeof *g));
    if (!g) {
        snprintf(err, errlen, "%s backend: out of memory", VR_GPU_NAME);
        return nullptr;
    }
    g->base.ops = &gpu_ops;
    g->base.num_threads = 1;
    g->device = device_index;
    cudaDeviceProp prop;
    if ((e = cudaSetDevice(device_index)) != cudaSuccess ||
        (e = cudaGetDeviceProperties(&prop, device_index)) != cudaSuccess ||
        (e = cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(err, errlen, "%s device %d: %s", VR_GPU_LABEL, device_index,
                 cudaGetErrorString(e));
        free(g);
        return nullptr;
    }
    snprintf(g->device_name, sizeof g->device_name, "%s", prop.name);
    g->sm_count = prop.multiProcessorCount;
#ifdef VR_GPU_HAVE_CUBLAS
    cublasStatus_t st = cublasCreate(&g->blas);
    if (st != CUBLAS_STATUS_SUCCESS || cublasSetStream(g->blas, g->stream) != CUBLAS_STATUS_SUCCESS ||
        /* f32 weights stay f32: no TF32 rounding behind the caller's back */
        cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "vireo cuda backend: cuBLAS unavailable (status %d); using tiled GEMM\n",
                (int)st);
        if (st == CUBLAS_STATUS_SUCCESS) cublasDestroy(g->blas);
        g->blas = nullptr;
    }
#endif
    return &g->base;
}

static void set_tiled(vr_backend *be, int on) { gb(be)->tiled_gemm = on ? 1 : 0; }

static const char *error_of(vr_backend *be) { return gb(be)->err[0] ? gb(be)->err : nullptr; }

static const char *device_name(vr_backend *be) { return gb(be)->device_name; }

static void argmax_rows(vr_backend *be, int32_t *out, const float *x, int rows, int dim) {
    bind(gb(be));
    launch_argmax_rows(gb(be), out, x, rows, dim);
}

static const vr_gpu_module module_table = {
    VR_GPU_MODULE_ABI, sizeof(vr_backend_ops), create, set_tiled, error_of, device_name,
    argmax_rows,
};

} /* namespace VR_GPU_NS */

/* The module's only exported symbol (the build hides everything else, see
 * kernels/cuda/CMakeLists.txt): kernels/backend_select.c finds it with
 * dlsym after dlopen. */
extern "C" __attribute__((visibility("default"))) const vr_gpu_module *VR_GPU_MODULE_FN(void) {
    return &VR_GPU_NS::module_table;
}
