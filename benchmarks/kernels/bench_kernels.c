/* benchmarks/kernels/bench_kernels.c — what the CPU kernels achieve on this
 * machine, beside what the machine can do, measured in the same run:
 *   (a) memory read bandwidth (all threads summing a 1 GiB buffer),
 *   (b) the bf16 matmul at Qwen3-0.6B layer shapes for decode batches
 *       M = 1, 8, 16, 32 and a prefill of M = 512: GFLOP/s, GB/s of weights
 *       and the ratio of those GB/s to (a),
 *   (c) paged attention for a decode batch of 16 sequences at context 256
 *       and 1024 (16 query heads, 8 kv heads, head_dim 128).
 * Weights rotate over copies larger than the last-level cache, as the 28
 * layers of a real model do, so decode figures are DRAM figures. Each figure
 * is the fastest of repeated calls (bandwidth: of 5 passes), since the
 * machine may be shared with other work.
 *
 * usage: bench_kernels [--threads N] [--isa portable|avx2] [--quick]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/thread_pool.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xalloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* ---- (a) memory read bandwidth ---- */

typedef struct {
    const uint64_t *buf;
    size_t words, per_task;
    uint64_t sums[64];
} bw_job;

static void bw_task(void *ctx, int task, int thread) {
    bw_job *j = ctx;
    size_t a = (size_t)task * j->per_task, b = a + j->per_task;
    if (b > j->words) b = j->words;
    uint64_t s = 0;
    for (size_t i = a; i < b; i++) s += j->buf[i]; /* integer: the compiler vectorises */
    j->sums[thread & 63] += s;
}

static double bandwidth_gbs(vr_thread_pool *pool, size_t bytes) {
    bw_job j = {0};
    uint64_t *buf = xalloc(bytes);
    memset(buf, 1, bytes); /* fault the pages in */
    j.buf = buf;
    j.words = bytes / 8;
    int tasks = vr_thread_pool_size(pool) * 8;
    j.per_task = (j.words + (size_t)tasks - 1) / (size_t)tasks;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        vr_thread_pool_run(pool, tasks, bw_task, &j);
        double gbs = (double)bytes / (now_s() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    uint64_t total = 0;
    for (int i = 0; i < 64; i++) total += j.sums[i];
    free(buf);
    if (total == 42) printf("(unlikely)\n"); /* keep the sums alive */
    return best;
}

/* ---- (b) matmul ---- */

typedef struct {
    const char *name;
    int N, K;
} shape;

static double bench_matmul(vr_backend *be, vr_dtype dt, int M, int N, int K, double min_time,
                           double *gbs_out) {
    size_t wbytes = (size_t)N * K * vr_dtype_size(dt);
    int copies = (int)((256u << 20) / wbytes) + 1; /* > 256 MiB in rotation */
    if (copies > 64) copies = 64;
    if (M >= 128) copies = 1; /* prefill is compute-bound; one copy */
    unsigned char *w = xalloc(wbytes * (size_t)copies);
    for (size_t i = 0; i < wbytes * (size_t)copies / 2; i++)
        ((uint16_t *)w)[i] = (uint16_t)(0x3c00 + (i * 2654435761u >> 22) % 512); /* ~0.01..2 */
    float *x = xalloc((size_t)M * K * sizeof(float));
    float *y = xalloc((size_t)M * N * sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)((i * 7 % 13) - 6) * 0.1f;
    be->ops->matmul(be, y, x, w, dt, NULL, M, N, K); /* warm */
    int iters = 0;
    double t0 = now_s(), per = 1e30;
    do { /* fastest call: this machine may be shared, the minimum is the kernel's own speed */
        double c0 = now_s();
        be->ops->matmul(be, y, x, w + (size_t)(iters % copies) * wbytes, dt, NULL, M, N, K);
        double c = now_s() - c0;
        if (c < per) per = c;
        iters++;
    } while (now_s() - t0 < min_time || iters < 3);
    *gbs_out = (double)wbytes / per / 1e9;
    free(w);
    free(x);
    free(y);
    return 2.0 * M * N * K / per / 1e9;
}

/* ---- (c) attention ---- */

static double bench_attention(vr_backend *be, vr_dtype kvdt, int nseq, int ctx, double min_time,
                              double *gbs_out) {
    const int H = 16, KVH = 8, D = 128, bs = 16;
    int blocks_per_seq = (ctx + bs - 1) / bs;
    vr_kv_cache_desc desc = {.num_layers = 1, .num_blocks = nseq * blocks_per_seq, .block_size = bs,
                             .num_kv_heads = KVH, .head_dim = D, .dtype = kvdt};
    char err[256];
    void *kv = be->ops->kv_create(be, &desc, err, sizeof err);
    if (!kv) {
        fprintf(stderr, "kv_create: %s\n", err);
        exit(1);
    }
    int32_t *bt = malloc((size_t)nseq * blocks_per_seq * sizeof(int32_t));
    int32_t qs[65], cl[64], pos[64], slots[64];
    for (int i = 0; i < nseq * blocks_per_seq; i++) bt[i] = i; /* contiguous: best case for prefetch */
    /* fill the cache through write_kv, token by token position */
    float *krow = xalloc((size_t)nseq * KVH * D * sizeof(float));
    float *vrow = xalloc((size_t)nseq * KVH * D * sizeof(float));
    for (size_t i = 0; i < (size_t)nseq * KVH * D; i++) {
        krow[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
        vrow[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
    }
    for (int p = 0; p < ctx; p++) {
        for (int s = 0; s < nseq; s++) slots[s] = bt[s * blocks_per_seq + p / bs] * bs + p % bs;
        be->ops->write_kv(be, kv, 0, krow, vrow, slots, nseq);
    }
    for (int s = 0; s < nseq; s++) {
        qs[s] = s;
        cl[s] = ctx;
        pos[s] = ctx - 1;
    }
    qs[nseq] = nseq;
    vr_attn_meta meta = {nseq, nseq, qs, cl, pos, bt, blocks_per_seq, ctx, 1, bs, 0};
    float *q = xalloc((size_t)nseq * H * D * sizeof(float));
    float *out = xalloc((size_t)nseq * H * D * sizeof(float));
    for (size_t i = 0; i < (size_t)nseq * H * D; i++) q[i] = (float)((i * 11) % 17) / 17.0f - 0.5f;
    float scale = 1.0f / sqrtf((float)D);
    be->ops->attention(be, out, q, kv, 0, &meta, H, KVH, D, scale, 0.0f);
    int iters = 0;
    double t0 = now_s(), per = 1e30;
    do {
        double c0 = now_s();
        be->ops->attention(be, out, q, kv, 0, &meta, H, KVH, D, scale, 0.0f);
        double c = now_s() - c0;
        if (c < per) per = c;
        iters++;
    } while (now_s() - t0 < min_time || iters < 3);
    *gbs_out = 2.0 * nseq * ctx * KVH * D * (double)vr_dtype_size(kvdt) / per / 1e9;
    be->ops->kv_destroy(be, kv);
    free(bt);
    free(krow);
    free(vrow);
    free(q);
    free(out);
    return per;
}

int main(int argc, char **argv) {
    int threads = 0, quick = 0;
    vr_cpu_isa isa = vr_cpu_isa_detect();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            const char *s = argv[++i];
            isa = strcmp(s, "portable") == 0 ? VR_CPU_ISA_PORTABLE : VR_CPU_ISA_AVX2;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else {
            fprintf(stderr, "usage: %s [--threads N] [--isa portable|avx2] [--quick]\n", argv[0]);
            return 2;
        }
    }
    char err[256];
    vr_backend *be = vr_cpu_backend_create_isa(threads, isa, err, sizeof err);
    if (!be) {
        fprintf(stderr, "bench_kernels: %s\n", err);
        return 1;
    }
    vr_thread_pool *pool = ((vr_cpu_backend *)be)->pool;
    double min_time = quick ? 0.1 : 0.4;
    printf("cpu backend: %d threads, %s kernels\n", be->num_threads, vr_cpu_isa_name(isa));

    double bw = bandwidth_gbs(pool, quick ? (256u << 20) : (1u << 30));
    printf("(a) memory read bandwidth: %.1f GB/s (%d threads summing %s)\n\n", bw,
           vr_thread_pool_size(pool), quick ? "256 MiB" : "1 GiB");

    static const shape shapes[] = {{"qkv    K=1024 N=2048+1024+1024", 4096, 1024},
                                   {"o_proj K=2048 N=1024", 1024, 2048},
                                   {"gate_up K=1024 N=6144", 6144, 1024},
                                   {"down   K=3072 N=1024", 1024, 3072},
                                   {"lm_head K=1024 N=151936", 151936, 1024}};
    static const int Ms[] = {1, 8, 16, 32, 512};
    printf("(b) bf16 matmul y[M][N] = x[M][K] W[N][K]^T\n");
    printf("%-32s %5s %10s %9s %9s %8s\n", "shape", "M", "time(ms)", "GFLOP/s", "W GB/s", "of bw");
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++) {
            int M = Ms[mi];
            if (shapes[si].N > 100000 && M > 32) continue; /* lm_head runs on sampled rows only */
            double gbs, gf = bench_matmul(be, VR_BF16, M, shapes[si].N, shapes[si].K, min_time, &gbs);
            double ms = 2.0 * M * shapes[si].N * shapes[si].K / gf / 1e6;
            printf("%-32s %5d %10.3f %9.1f %9.1f %7.0f%%\n", shapes[si].name, M, ms, gf, gbs,
                   100.0 * gbs / bw);
        }

    printf("\n(c) paged attention decode, one layer (16 heads, 8 kv heads, head_dim 128, block 16)\n");
    printf("%-6s %-8s %8s %10s %12s %8s\n", "KV", "batch", "context", "time(ms)", "KV GB/s", "of bw");
    static const int ctxs[] = {256, 1024};
    static const vr_dtype kvdts[] = {VR_F32, VR_BF16};
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2; c++) {
            double gbs, per = bench_attention(be, kvdts[d], 16, ctxs[c], min_time, &gbs);
            printf("%-6s %-8d %8d %10.3f %12.1f %7.0f%%\n", vr_dtype_name(kvdts[d]), 16, ctxs[c],
                   per * 1e3, gbs, 100.0 * gbs / bw);
        }
    vr_backend_destroy(be);
    return 0;
}
