/* kernels/cpu/cpu_ops.c — the ops of the CPU backend's table: split each op
 * into tasks for the thread pool and pick the kernel for the backend's ISA.
 *
 * Splitting rules (why):
 *  - matmul splits the output columns (weight rows): every task streams its
 *    own slice of W exactly once for all M rows of x, so a decode step reads
 *    each weight once however many sequences are batched.
 *  - attention splits (sequence, kv head, chunk of query tokens): the GQA
 *    group of query heads shares one pass over its K/V blocks.
 *  - row-wise ops split rows; tiny ops run on the caller (a fork/join costs
 *    more than they do).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/simd.h"

static vr_cpu_backend *cpu(vr_backend *be) { return (vr_cpu_backend *)be; }

/* Tasks for n units of work of roughly `cost` each so that every thread gets
 * a few tasks (load balance) but none is smaller than min_cost. */
static int task_count(vr_cpu_backend *cb, size_t units, double unit_cost, double min_cost) {
    int threads = vr_thread_pool_size(cb->pool);
    if (threads <= 1 || units <= 1) return 1;
    double by_size = (double)units * unit_cost / min_cost;
    int want = threads * 4;
    int n = by_size < want ? (int)by_size : want;
    if (n > (int)units) n = (int)units;
    return n < 1 ? 1 : n;
}

/* ---- matmul ---- */

typedef struct {
    vr_cpu_backend *cb;
    float *y;
    const float *x;
    const float *xp; /* x repacked for the AVX2 bf16 kernel, or NULL */
    const void *w;
    vr_dtype wdt;
    const void *bias;
    int M, N, K;
    int per_task; /* output columns per task (or rows of x when packing) */
    int use_dnnl; /* f32 weights and enough rows: oneDNN's sgemm per task */
} matmul_job;

static void matmul_task(void *ctx, int task, int thread) {
    (void)thread;
    matmul_job *j = ctx;
    int n0 = task * j->per_task;
    int n1 = n0 + j->per_task;
    if (n1 > j->N) n1 = j->N;
    if (n0 >= n1) return;
#ifdef VR_HAVE_DNNL
    if (j->use_dnnl &&
        vr_dnnl_matmul_cols(j->y, j->x, j->w, j->bias, j->M, j->N, j->K, n0, n1) == 0)
        return;
#endif
#ifdef VR_HAVE_X86_SIMD
    if (j->cb->isa == VR_CPU_ISA_AVX2) {
        vr_avx2_matmul_cols(j->y, j->x, j->xp, j->w, j->wdt, j->bias, j->M, j->N, j->K, n0, n1);
        return;
    }
#endif
    vr_ref_matmul_cols(j->y, j->x, j->w, j->wdt, j->bias, j->M, j->N, j->K, n0, n1);
}

#ifdef VR_HAVE_X86_SIMD
static void pack_task(void *ctx, int task, int thread) {
    (void)thread;
    matmul_job *j = ctx;
    int m0 = task * j->per_task, m1 = m0 + j->per_task;
    if (m1 > j->M) m1 = j->M;
    if (m0 < m1) vr_avx2_pack_x_bf16((float *)j->xp, j->x, m0, m1, j->K);
}

/* The repacked copy of x for the bf16 kernel, in scratch that only grows
 * (so steady-state steps allocate nothing). NULL if it cannot grow: the
 * kernel then reads x unpacked. */
static float *xpack_scratch(vr_cpu_backend *cb, size_t floats) {
    if (floats == 0) return NULL;
    if (floats > cb->xpack_cap) {
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p) return NULL;
        free(cb->xpack);
        cb->xpack = p;
        cb->xpack_cap = bytes / sizeof(float);
    }
    return cb->xpack;
}
#endif

/* Repack x once for the AVX2 bf16 kernel (j->xp stays NULL when that kernel
 * is not used or the scratch cannot grow). */
static void prepare_x(vr_cpu_backend *cb, matmul_job *j) {
#ifdef VR_HAVE_X86_SIMD
    const int M = j->M, K = j->K;
    if (cb->isa == VR_CPU_ISA_AVX2 && j->wdt == VR_BF16 && K >= 16) {
        float *xp = xpack_scratch(cb, (size_t)M * (size_t)(K & ~15));
        if (xp) {
            j->xp = xp;
            int tasks = task_count(cb, (size_t)M, (double)K, 65536.0);
            j->per_task = (M + tasks - 1) / tasks;
            vr_thread_pool_run(cb->pool, (M + j->per_task - 1) / j->per_task, pack_task, j);
        }
    }
#else
    (void)cb;
    (void)j;
#endif
}

/* Sets j->per_task and returns the number of column tasks: ~64k
 * multiply-adds minimum per task; columns in whole micro-tiles. */
static int split_cols(vr_cpu_backend *cb, matmul_job *j) {
    const int N = j->N;
    int tasks = task_count(cb, (size_t)N, (double)j->M * j->K, 65536.0);
    j->per_task = N;
    if (tasks > 1) {
        const int tile = 16 * VR_AVX2_MM_R; /* whole tiles for every kernel */
        int per = (N + tasks - 1) / tasks;
        per = (per + tile - 1) / tile * tile;
        j->per_task = per;
        tasks = (N + per - 1) / per;
    }
    return tasks;
}

static matmul_job make_job(vr_cpu_backend *cb, float *y, const float *x, const void *w,
                           vr_dtype wdt, const void *bias, int M, int N, int K) {
    matmul_job j = {cb, y, x, NULL, w, wdt, bias, M, N, K, N, 0};
#ifdef VR_HAVE_DNNL
    j.use_dnnl = cb->isa != VR_CPU_ISA_PORTABLE && wdt == VR_F32 && M >= VR_DNNL_MIN_M;
#endif
    return j;
}

void vr_cpu_matmul(vr_backend *be, float *y, const float *x, const void *w, vr_dtype wdt,
                   const void *bias, int M, int N, int K) {
    vr_cpu_backend *cb = cpu(be);
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* empty sum: y = bias (the SIMD kernels assume K > 0) */
        vr_ref_matmul_cols(y, x, w, wdt, bias, M, N, 0, 0, N);
        return;
    }
    matmul_job j = make_job(cb, y, x, w, wdt, bias, M, N, K);
    prepare_x(cb, &j);
    int tasks = split_cols(cb, &j);
    vr_thread_pool_run(cb->pool, tasks, matmul_task, &j);
}

/* Several weights over one x: every part keeps the column split it would get
 * alone, and the tasks of all parts form one job, so the pool forks and
 * joins once and a thread that finishes one part's slice goes straight on to
 * the next part's instead of waiting at a barrier (in decode a layer's q/k/v
 * and gate/up are 2 joins instead of 5). */
#define VR_MULTI_MAX_ROWS 32

typedef struct {
    matmul_job part[VR_MATMUL_MULTI_MAX];
    int first[VR_MATMUL_MULTI_MAX + 1]; /* part p owns tasks [first[p], first[p+1]) */
    int nparts;
} multi_job;

static void multi_task(void *ctx, int task, int thread) {
    multi_job *mj = ctx;
    int p = 0;
    while (task >= mj->first[p + 1]) p++;
    matmul_task(&mj->part[p], task - mj->first[p], thread);
}

void vr_cpu_matmul_multi(vr_backend *be, const vr_matmul_part *parts, int nparts, const float *x,
                         int M, int K) {
    vr_cpu_backend *cb = cpu(be);
    if (M <= 0 || nparts <= 0) return;
    /* Fused only for few rows of x (decode, small batches): there each
     * matmul is short and the joins are a real share of it. With many rows
     * each matmul runs for milliseconds, a join costs nothing beside it, and
     * measured pp512 was ~8% slower fused, so those run one at a time. */
    if (K <= 0 || nparts > VR_MATMUL_MULTI_MAX || M > VR_MULTI_MAX_ROWS) {
        for (int i = 0; i < nparts; i++)
            vr_cpu_matmul(be, parts[i].y, x, parts[i].w, parts[i].wdt, parts[i].bias, M,
                          parts[i].N, K);
        return;
    }
    multi_job mj;
    mj.nparts = nparts;
    mj.first[0] = 0;
    const float *xp = NULL;
    int packed = 0;
    for (int i = 0; i < nparts; i++) {
        matmul_job *j = &mj.part[i];
        *j = make_job(cb, parts[i].y, x, parts[i].w, parts[i].wdt, parts[i].bias, M,
                      parts[i].N, K);
        /* The repacked x depends only on x, so bf16 parts share one packing. */
        if (!packed) {
            prepare_x(cb, j);
            xp = j->xp;
            packed = xp != NULL;
        } else if (j->wdt == VR_BF16) {
            j->xp = xp;
        }
        int tasks = parts[i].N > 0 ? split_cols(cb, j) : 0;
        mj.first[i + 1] = mj.first[i] + tasks;
    }
    vr_thread_pool_run(cb->pool, mj.first[nparts], multi_task, &mj);
}

/* ---- row-wise ops ---- */

typedef struct {
    vr_cpu_backend *cb;
    float *out;
    const float *x;
    const void *w;
    vr_dtype wdt;
    int rows, dim, rows_per_task;
    float eps, offset;
    vr_activation act;
} rows_job;

static void rmsnorm_task(void *ctx, int task, int thread) {
    (void)thread;
    rows_job *j = ctx;
    int r0 = task * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
#ifdef VR_HAVE_X86_SIMD
    if (j->cb->isa == VR_CPU_ISA_AVX2) {
        vr_avx2_rmsnorm_rows(j->out, j->x, j->w, j->wdt, r0, r1, j->dim, j->eps, j->offset);
        return;
    }
#endif
    vr_ref_rmsnorm_rows(j->out, j->x, j->w, j->wdt, r0, r1, j->dim, j->eps, j->offset);
}

static int split_rows(vr_cpu_backend *cb, rows_job *j, double cost_per_row) {
    int tasks = task_count(cb, (size_t)j->rows, cost_per_row, 16384.0);
    j->rows_per_task = (j->rows + tasks - 1) / tasks;
    return (j->rows + j->rows_per_task - 1) / j->rows_per_task;
}

void vr_cpu_rmsnorm(vr_backend *be, float *out, const float *x, const void *w, vr_dtype wdt,
                    int rows, int dim, float eps, float weight_offset) {
    vr_cpu_backend *cb = cpu(be);
    if (rows <= 0) return;
    rows_job j = {.cb = cb, .out = out, .x = x, .w = w, .wdt = wdt, .rows = rows, .dim = dim,
                  .eps = eps, .offset = weight_offset};
    int tasks = split_rows(cb, &j, (double)dim);
    vr_thread_pool_run(cb->pool, tasks, rmsnorm_task, &j);
}

static void act_task(void *ctx, int task, int thread) {
    (void)thread;
    rows_job *j = ctx;
    int r0 = task * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
#ifdef VR_HAVE_X86_SIMD
    if (j->cb->isa == VR_CPU_ISA_AVX2) {
        vr_avx2_act_mul(j->out, j->x, r0, r1, j->dim, j->act);
        return;
    }
#endif
    vr_ref_act_mul(j->out, j->x, r0, r1, j->dim, j->act);
}

void vr_cpu_act_mul(vr_backend *be, float *out, const float *gate_up, int ntok, int inter,
                    vr_activation act) {
    vr_cpu_backend *cb = cpu(be);
    if (ntok <= 0) return;
    rows_job j = {.cb = cb, .out = out, .x = gate_up, .rows = ntok, .dim = inter, .act = act};
    /* Written in place (out inside gate_up), rows must go in order: row t
     * writes where rows < t were read. */
    const char *o = (const char *)out, *g = (const char *)gate_up;
    size_t gbytes = (size_t)ntok * 2 * (size_t)inter * sizeof(float);
    int overlap = o < g + gbytes && g < o + gbytes / 2;
    int tasks = overlap ? 1 : split_rows(cb, &j, 8.0 * inter);
    if (overlap) j.rows_per_task = ntok;
    vr_thread_pool_run(cb->pool, tasks, act_task, &j);
}

void vr_cpu_add(vr_backend *be, float *x, const float *y, size_t n) {
    (void)be;
#ifdef VR_HAVE_X86_SIMD
    if (cpu(be)->isa == VR_CPU_ISA_AVX2) {
        vr_avx2_add(x, y, n);
        return;
    }
#endif
    vr_ref_add(x, y, n);
}

void vr_cpu_embedding(vr_backend *be, float *out, const void *table, vr_dtype dt,
                      const int32_t *ids, int ntok, int dim, float scale) {
    (void)be;
    vr_ref_embedding(out, table, dt, ids, ntok, dim, scale);
}

void vr_cpu_gather_rows(vr_backend *be, float *dst, const float *src, const int32_t *rows, int n,
                        int dim) {
    (void)be;
    vr_ref_gather_rows(dst, src, rows, n, dim);
}

/* ---- attention ---- */

/* Query tokens per task: long prefill chunks are cut so both cores share
 * one sequence's prompt. */
#define VR_ATTN_TOKENS_PER_TASK 16

typedef struct {
    vr_cpu_backend *cb;
    vr_attn_args a;
    int tasks_per_seq_head_max;
} attn_job;

typedef struct {
    int s, kvh, t0, t1;
} attn_unit;

static void attn_unit_run(attn_job *j, const attn_unit *u) {
#ifdef VR_HAVE_X86_SIMD
    if (j->cb->isa == VR_CPU_ISA_AVX2) {
        if (u->t1 - u->t0 > 1 && vr_avx2_attention_prefill(&j->a, u->s, u->kvh, u->t0, u->t1) == 0)
            return;
        vr_avx2_attention_unit(&j->a, u->s, u->kvh, u->t0, u->t1);
        return;
    }
#endif
    vr_ref_attention_unit(&j->a, u->s, u->kvh, u->t0, u->t1);
}

/* Task index -> unit, by walking sequences: task = ((s, chunk), kvh) in
 * order. Walking costs O(num_seqs) per task, negligible beside the work. */
static void attn_task(void *ctx, int task, int thread) {
    (void)thread;
    attn_job *j = ctx;
    const vr_attn_meta *mt = j->a.meta;
    int kvh = task % j->a.kv_heads;
    int rest = task / j->a.kv_heads;
    for (int s = 0; s < mt->num_seqs; s++) {
        int q0 = mt->query_start[s], q1 = mt->query_start[s + 1];
        int chunks = (q1 - q0 + VR_ATTN_TOKENS_PER_TASK - 1) / VR_ATTN_TOKENS_PER_TASK;
        if (rest < chunks) {
            attn_unit u = {s, kvh, q0 + rest * VR_ATTN_TOKENS_PER_TASK, 0};
            u.t1 = u.t0 + VR_ATTN_TOKENS_PER_TASK < q1 ? u.t0 + VR_ATTN_TOKENS_PER_TASK : q1;
            attn_unit_run(j, &u);
            return;
        }
        rest -= chunks;
    }
}

void vr_cpu_attention(vr_backend *be, float *out, const float *q, const void *kv, int layer,
                      const vr_attn_meta *meta, int heads, int kv_heads, int head_dim, float scale,
                      float softcap) {
    vr_cpu_backend *cb = cpu(be);
    attn_job j = {.cb = cb,
                  .a = {out, q, (const vr_cpu_kv *)kv, layer, meta, heads, kv_heads, head_dim,
                        scale, softcap}};
    int chunks = 0;
    for (int s = 0; s < meta->num_seqs; s++) {
        int ql = meta->query_start[s + 1] - meta->query_start[s];
        chunks += (ql + VR_ATTN_TOKENS_PER_TASK - 1) / VR_ATTN_TOKENS_PER_TASK;
    }
    vr_thread_pool_run(cb->pool, chunks * kv_heads, attn_task, &j);
}
