/* benchmarks/gpu/bench_gpu.c — GPU kernel timings against the roofline
 * measured in the same run.
 *
 *   roofline: device-to-device copy bandwidth (cudaMemcpy, read + write
 *             bytes / time) and the cuBLAS bf16 GEMM rate (8192^3, f32
 *             accumulation).
 *   attention: paged decode attention, batch 64 x 4k context, Qwen3-0.6B
 *             heads (16 q, 8 kv, head_dim 128, block 16), f32 and bf16 KV:
 *             K/V bytes read per call / time, as % of the copy bandwidth
 *             (goal >= 80%).
 *   decode step: one batch-1 decode step of a Qwen3-0.6B-shaped model (28
 *             layers, hidden 1024, inter 3072, vocab 151936, bf16 random
 *             weights) through the backend's ops, against the time to read
 *             its weights once at copy bandwidth (goal <= 1.3x).
 *
 * Without a GPU it prints why and exits 0 (it is a benchmark, not a test).
 * usage: bench_gpu [iterations]
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/backend.h"
#include "kernels/cuda/gpu_hooks.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CK(call)                                                                   \
    do {                                                                           \
        cudaError_t e_ = (call);                                                   \
        if (e_ != cudaSuccess) {                                                   \
            fprintf(stderr, "bench_gpu: %s: %s\n", #call, cudaGetErrorString(e_)); \
            return -1;                                                             \
        }                                                                          \
    } while (0)

/* bytes/s of a device-to-device copy (read + write counted) */
static double copy_bandwidth(void) {
    size_t bytes = (size_t)1 << 30;
    void *a, *b;
    CK(cudaMalloc(&a, bytes));
    CK(cudaMalloc(&b, bytes));
    CK(cudaMemset(a, 1, bytes));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    CK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice)); /* warm up */
    const int reps = 10;
    CK(cudaEventRecord(e0, 0));
    for (int i = 0; i < reps; i++) CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));
    CK(cudaEventRecord(e1, 0));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(b);
    return 2.0 * (double)bytes * reps / (ms * 1e-3);
}

/* FLOP/s of a bf16 GEMM with f32 accumulation */
static double gemm_rate(void) {
    const int n = 8192;
    void *a, *b, *c;
    size_t e16 = (size_t)n * n * 2;
    CK(cudaMalloc(&a, e16));
    CK(cudaMalloc(&b, e16));
    CK(cudaMalloc(&c, (size_t)n * n * 4));
    CK(cudaMemset(a, 0, e16));
    CK(cudaMemset(b, 0, e16));
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return -1;
    const float one = 1, zero = 0;
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    double rate = -1;
    for (int pass = 0; pass < 2; pass++) { /* first pass warms up */
        const int reps = pass ? 10 : 1;
        CK(cudaEventRecord(e0, 0));
        for (int i = 0; i < reps; i++)
            if (cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF, n, b,
                             CUDA_R_16BF, n, &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
                return -1;
        CK(cudaEventRecord(e1, 0));
        CK(cudaEventSynchronize(e1));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        rate = 2.0 * n * (double)n * n * reps / (ms * 1e-3);
    }
    cublasDestroy(h);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    return rate;
}

static void *dev_random(vr_backend *be, size_t n, vr_dtype dt, unsigned seed) {
    size_t es = vr_dtype_size(dt);
    unsigned char *h = malloc(n * es);
    if (!h) return NULL;
    uint32_t r = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        float v = ((float)(r >> 8) / 16777216.0f - 0.5f) * 0.1f;
        if (dt == VR_F32) {
            memcpy(h + i * 4, &v, 4);
        } else {
            uint16_t b = dt == VR_BF16 ? vr_f32_to_bf16(v) : vr_f32_to_f16(v);
            memcpy(h + i * 2, &b, 2);
        }
    }
    void *d = be->ops->upload_weight(be, h, n, dt);
    free(h);
    return d;
}

static void *dev_ints(vr_backend *be, const int32_t *h, size_t n) {
    void *d = be->ops->alloc(be, n * sizeof(int32_t));
    if (d) be->ops->upload(be, d, h, n * sizeof(int32_t));
    return d;
}

/* seconds per call of paged decode attention, batch B x ctx C */
static double bench_attention(vr_backend *be, int B, int C, int iters, vr_dtype kvdt,
                              double *bytes) {
    const int H = 16, KV = 8, D = 128, bs = 16, nb = C / bs;
    vr_kv_cache_desc desc = {.num_layers = 1, .num_blocks = B * nb, .block_size = bs,
                             .num_kv_heads = KV, .head_dim = D, .dtype = kvdt};
    char err[256];
    void *kv = be->ops->kv_create(be, &desc, err, sizeof err);
    if (!kv) {
        fprintf(stderr, "bench_gpu: %s\n", err);
        return -1;
    }
    int32_t *qs = malloc((size_t)(B + 1) * 4), *ctx = malloc((size_t)B * 4);
    int32_t *pos = malloc((size_t)B * 4), *table = malloc((size_t)B * nb * 4);
    for (int s = 0; s <= B; s++) qs[s] = s;
    for (int s = 0; s < B; s++) {
        ctx[s] = C;
        pos[s] = C - 1;
    }
    for (int i = 0; i < B * nb; i++) table[i] = (int32_t)(((long)i * 7919) % (B * nb));
    float *q = dev_random(be, (size_t)B * H * D, VR_F32, 3);
    float *out = be->ops->alloc(be, (size_t)B * H * D * 4);
    vr_attn_meta m = {B, B, dev_ints(be, qs, B + 1), dev_ints(be, ctx, B), dev_ints(be, pos, B),
                      dev_ints(be, table, (size_t)B * nb), nb, C, 1, bs, 0};
    be->ops->attention(be, out, q, kv, 0, &m, H, KV, D, 0.088f, 0); /* warm up */
    be->ops->sync(be);
    double t0 = now();
    for (int i = 0; i < iters; i++) be->ops->attention(be, out, q, kv, 0, &m, H, KV, D, 0.088f, 0);
    be->ops->sync(be);
    double t = (now() - t0) / iters;
    *bytes = 2.0 * B * (double)C * KV * D * (double)vr_dtype_size(kvdt);
    be->ops->kv_destroy(be, kv);
    be->ops->free(be, q);
    be->ops->free(be, out);
    be->ops->free(be, (void *)m.query_start);
    be->ops->free(be, (void *)m.context_len);
    be->ops->free(be, (void *)m.positions);
    be->ops->free(be, (void *)m.block_table);
    free(qs);
    free(ctx);
    free(pos);
    free(table);
    return t;
}

/* one batch-1 decode step of a Qwen3-0.6B-shaped model, seconds; *wbytes =
 * bytes of weights it reads */
static double bench_decode_step(vr_backend *be, int iters, double *wbytes) {
    const int L = 28, h = 1024, H = 16, KV = 8, D = 128, inter = 3072, vocab = 151936;
    const int ctx = 512, bs = 16;
    const vr_dtype dt = VR_BF16;
    const vr_backend_ops *op = be->ops;
    void *wq[28], *wk[28], *wv[28], *wo[28], *wgu[28], *wd[28], *n1[28], *n2[28], *qn[28], *kn[28];
    for (int l = 0; l < L; l++) {
        wq[l] = dev_random(be, (size_t)H * D * h, dt, 10 * l + 1);
        wk[l] = dev_random(be, (size_t)KV * D * h, dt, 10 * l + 2);
        wv[l] = dev_random(be, (size_t)KV * D * h, dt, 10 * l + 3);
        wo[l] = dev_random(be, (size_t)h * H * D, dt, 10 * l + 4);
        wgu[l] = dev_random(be, (size_t)2 * inter * h, dt, 10 * l + 5);
        wd[l] = dev_random(be, (size_t)h * inter, dt, 10 * l + 6);
        n1[l] = dev_random(be, (size_t)h, dt, 10 * l + 7);
        n2[l] = dev_random(be, (size_t)h, dt, 10 * l + 8);
        qn[l] = dev_random(be, (size_t)D, dt, 10 * l + 9);
        kn[l] = dev_random(be, (size_t)D, dt, 10 * l + 10);
        if (!wq[l] || !wk[l] || !wv[l] || !wo[l] || !wgu[l] || !wd[l]) return -1;
    }
    void *emb = dev_random(be, (size_t)vocab * h, dt, 999), *fnorm = dev_random(be, h, dt, 998);
    *wbytes = 2.0 * ((double)L * (h * (double)(H * D + 2 * KV * D) + (double)h * H * D +
                                  3.0 * inter * h) +
                     (double)vocab * h);
    vr_kv_cache_desc desc = {.num_layers = L, .num_blocks = ctx / bs + 1, .block_size = bs,
                             .num_kv_heads = KV, .head_dim = D, .dtype = VR_F32};
    char err[256];
    void *kv = op->kv_create(be, &desc, err, sizeof err);
    if (!kv || !emb) return -1;
    float *x = op->alloc(be, h * 4), *xn = op->alloc(be, h * 4), *q = op->alloc(be, H * D * 4);
    float *k = op->alloc(be, KV * D * 4), *v = op->alloc(be, KV * D * 4);
    float *att = op->alloc(be, H * D * 4), *proj = op->alloc(be, h * 4);
    float *gu = op->alloc(be, 2 * inter * 4), *act = op->alloc(be, inter * 4);
    float *logits = op->alloc(be, (size_t)vocab * 4);
    int32_t table[33], qs[2] = {0, 1}, cl[1] = {ctx}, pos[1] = {ctx - 1}, id[1] = {42};
    for (int i = 0; i < 33; i++) table[i] = i;
    int32_t slot[1] = {ctx - 1};
    float invf[64];
    for (int i = 0; i < 64; i++) invf[i] = (float)pow(1000000.0, -2.0 * i / 128);
    vr_rope rope = {128, op->alloc(be, sizeof invf), 1.0f};
    op->upload(be, (void *)rope.inv_freq, invf, sizeof invf);
    int32_t *dqs = dev_ints(be, qs, 2), *dcl = dev_ints(be, cl, 1), *dpos = dev_ints(be, pos, 1);
    int32_t *dtab = dev_ints(be, table, 33), *dslot = dev_ints(be, slot, 1), *did = dev_ints(be, id, 1);
    vr_attn_meta m = {1, 1, dqs, dcl, dpos, dtab, 33, ctx, 1, bs, 0};
    double t = 0;
    for (int it = -1; it < iters; it++) { /* it = -1 warms up */
        op->sync(be);
        double t0 = now();
        op->embedding(be, x, emb, dt, did, 1, h, 1.0f);
        for (int l = 0; l < L; l++) {
            op->rmsnorm(be, xn, x, n1[l], dt, 1, h, 1e-6f, 0);
            op->matmul(be, q, xn, wq[l], dt, NULL, 1, H * D, h);
            op->matmul(be, k, xn, wk[l], dt, NULL, 1, KV * D, h);
            op->matmul(be, v, xn, wv[l], dt, NULL, 1, KV * D, h);
            op->rmsnorm(be, q, q, qn[l], dt, H, D, 1e-6f, 0);
            op->rmsnorm(be, k, k, kn[l], dt, KV, D, 1e-6f, 0);
            op->rope(be, q, 1, H, D, dpos, &rope);
            op->rope(be, k, 1, KV, D, dpos, &rope);
            op->write_kv(be, kv, l, k, v, dslot, 1);
            op->attention(be, att, q, kv, l, &m, H, KV, D, 0.088f, 0);
            op->matmul(be, proj, att, wo[l], dt, NULL, 1, h, H * D);
            op->add(be, x, proj, h);
            op->rmsnorm(be, xn, x, n2[l], dt, 1, h, 1e-6f, 0);
            op->matmul(be, gu, xn, wgu[l], dt, NULL, 1, 2 * inter, h);
            op->act_mul(be, act, gu, 1, inter, VR_ACT_SILU);
            op->matmul(be, proj, act, wd[l], dt, NULL, 1, h, inter);
            op->add(be, x, proj, h);
        }
        op->rmsnorm(be, xn, x, fnorm, dt, 1, h, 1e-6f, 0);
        op->matmul(be, logits, xn, emb, dt, NULL, 1, vocab, h);
        op->sync(be);
        if (it >= 0) t += now() - t0;
    }
    return t / iters; /* its device memory is returned at exit */
}

int main(int argc, char **argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 20;
    if (iters < 1) iters = 1;
    char err[512];
    /* libvireo_cuda.so is in the build directory, not next to this program
     * (kernels/backend_select.c); a directory the caller set wins. */
    setenv("VIREO_BACKEND_DIR", BENCH_GPU_BACKEND_DIR, 0);
    vr_backend *be = vr_backend_cuda_create(0, err, sizeof err);
    if (!be) {
        printf("bench_gpu: skipped: %s\n", err);
        return 0;
    }
    printf("device: %s\n", vr_cuda_device_name(be));
    double bw = copy_bandwidth(), gr = gemm_rate();
    printf("roofline: copy bandwidth %.1f GB/s, cuBLAS bf16 GEMM %.1f TFLOP/s\n", bw * 1e-9,
           gr * 1e-12);
    const vr_dtype kvdts[] = {VR_F32, VR_BF16};
    for (int d = 0; d < 2; d++) {
        double bytes = 0;
        double ta = bench_attention(be, 64, 4096, iters, kvdts[d], &bytes);
        if (ta > 0)
            printf("paged decode attention, batch 64 x 4k ctx (%s KV, %.2f GB): %.3f ms, %.1f "
                   "GB/s = %.0f%% of copy bandwidth (goal >= 80%%)\n",
                   vr_dtype_name(kvdts[d]), bytes * 1e-9, ta * 1e3, bytes / ta * 1e-9,
                   100.0 * bytes / ta / bw);
    }
    double wbytes = 0;
    double td = bench_decode_step(be, iters, &wbytes);
    if (td > 0)
        printf("decode step, Qwen3-0.6B shape, batch 1, ctx 512: %.3f ms; weights %.2f GB read "
               "at copy bandwidth %.3f ms; ratio %.2fx (goal <= 1.3x)\n",
               td * 1e3, wbytes * 1e-9, wbytes / bw * 1e3, td / (wbytes / bw));
    const char *e = vr_cuda_error(be);
    if (e) printf("backend error: %s\n", e);
    vr_backend_destroy(be);
    return e ? 1 : 0;
}
