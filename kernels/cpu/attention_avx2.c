/* kernels/cpu/attention_avx2.c — paged attention with AVX2 + FMA.
 *
 * Same contract and the same online softmax as ref_attention.c, organised
 * for bandwidth: a unit is (sequence, kv head, a few query tokens), and the
 * GQA group of query heads that share the kv head consume each K and V row
 * together, so the cache is streamed once per group instead of once per
 * query head. The cache is walked in runs of consecutive tokens inside one
 * block (contiguous in the [block][kv_head][token][dim] layout):
 *   1. scores of the run for every head of the group (dot products, q kept
 *      in L1, K rows read once),
 *   2. one softmax update per head per run: new maximum, rescale of the
 *      accumulated output if it grew, exp of the run's scores (vector exp),
 *   3. out += p * V over the run, V rows read once for the group.
 * K/V of a bf16 or f16 cache are widened to f32 in registers as they are
 * read; each cache dtype gets its own instantiation of the loops.
 */
#include "kernels/cpu/simd.h"

#ifdef VR_HAVE_X86_SIMD

#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/simd_math_avx2.h"

#define VR_TARGET __attribute__((target("avx2,fma,f16c")))
#define VR_INLINE __attribute__((always_inline)) inline

/* Heads handled together and tokens per run: their product bounds the
 * on-stack score buffer. */
#define HEADS_MAX 8
#define RUN_MAX 64

VR_TARGET static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 8 cache elements from element index i as f32. */
VR_TARGET static VR_INLINE __m256 load8(const void *p, size_t i, vr_dtype dt) {
    if (dt == VR_F32) return _mm256_loadu_ps((const float *)p + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    if (dt == VR_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Rows of K per pass of run_scores: enough independent accumulator chains
 * (rows x heads) to cover the FMA latency, few enough to stay in the 16
 * ymm registers with the G query vectors. */
#define SCORE_ROWS(G) ((G) <= 2 ? 4 : (G) <= 4 ? 2 : 1)

/* score[g][i] = dot(q[g], k row i) for G heads and n rows of dim D. G is a
 * compile-time constant in every instantiation (see group_pass), so the
 * accumulators live in registers. */
VR_TARGET static VR_INLINE void run_scores(float score[HEADS_MAX][RUN_MAX], const float *const *qg,
                                           const int G, const void *k, vr_dtype dt, int n, int D) {
    const int D8 = D & ~7;
    const int RB = SCORE_ROWS(G);
    int i = 0;
    for (; i + RB <= n; i += RB) {
        __m256 acc[4][HEADS_MAX];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) acc[r][g] = _mm256_setzero_ps();
        for (int d = 0; d < D8; d += 8) {
            __m256 qv[HEADS_MAX];
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) qv[g] = _mm256_loadu_ps(qg[g] + d);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++) {
                __m256 kv = load8(k, (size_t)(i + r) * D + (size_t)d, dt);
#pragma GCC unroll 8
                for (int g = 0; g < G; g++) acc[r][g] = _mm256_fmadd_ps(qv[g], kv, acc[r][g]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) {
                float s = hsum8(acc[r][g]);
                for (int d = D8; d < D; d++)
                    s += qg[g][d] * vr_cpu_weight_at(k, dt, (size_t)(i + r) * D + (size_t)d);
                score[g][i + r] = s;
            }
    }
    for (; i < n; i++) {
        size_t row = (size_t)i * D;
        __m256 acc[HEADS_MAX];
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
        for (int d = 0; d < D8; d += 8) {
            __m256 kv = load8(k, row + (size_t)d, dt);
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(qg[g] + d), kv, acc[g]);
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) {
            float s = hsum8(acc[g]);
            for (int d = D8; d < D; d++) s += qg[g][d] * vr_cpu_weight_at(k, dt, row + (size_t)d);
            score[g][i] = s;
        }
    }
}

/* Turn score[g][0..n) into probabilities relative to the running maximum
 * m[g], rescaling o[g] and l[g] when the maximum grows. */
VR_TARGET static VR_INLINE void run_softmax(float score[HEADS_MAX][RUN_MAX], int G, int n, float scale,
                                  float softcap, float *m, float *l, float *const *og, int D) {
    for (int g = 0; g < G; g++) {
        float *sc = score[g];
        float mx = -INFINITY;
        for (int i = 0; i < n; i++) {
            float s = sc[i] * scale;
            if (softcap > 0.0f) s = softcap * tanhf(s / softcap);
            sc[i] = s;
            if (s > mx) mx = s;
        }
        if (mx > m[g]) {
            float r = expf(m[g] - mx); /* 0 when m was -inf */
            l[g] *= r;
            __m256 vr = _mm256_set1_ps(r);
            int d = 0;
            for (; d + 8 <= D; d += 8) _mm256_storeu_ps(og[g] + d, _mm256_mul_ps(_mm256_loadu_ps(og[g] + d), vr));
            for (; d < D; d++) og[g][d] *= r;
            m[g] = mx;
        }
        __m256 vm = _mm256_set1_ps(m[g]), sum = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 p = vr_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(sc + i), vm));
            _mm256_storeu_ps(sc + i, p);
            sum = _mm256_add_ps(sum, p);
        }
        float s = hsum8(sum);
        if (i < n) { /* tail through padded lanes, same exp */
            float buf[8];
            int j = 0;
            for (; i + j < n; j++) buf[j] = sc[i + j] - m[g];
            for (; j < 8; j++) buf[j] = -INFINITY;
            __m256 p = vr_avx2_exp(_mm256_loadu_ps(buf));
            _mm256_storeu_ps(buf, p);
            for (j = 0; i + j < n; j++) {
                sc[i + j] = buf[j];
                s += buf[j];
            }
        }
        l[g] += s;
    }
}

/* 8-float column chunks of V per pass of run_values: chunks x heads
 * independent accumulator chains, as for SCORE_ROWS. */
#define VALUE_CHUNKS(G) ((G) <= 2 ? 4 : (G) <= 4 ? 2 : 1)

/* og[g] += sum_i p[g][i] * v row i. */
VR_TARGET static VR_INLINE void run_values(float score[HEADS_MAX][RUN_MAX], const int G,
                                           const void *v, vr_dtype dt, int n, float *const *og,
                                           int D) {
    const int D8 = D & ~7;
    const int CB = VALUE_CHUNKS(G);
    int d = 0;
    for (; d + 8 * CB <= D8; d += 8 * CB) {
        __m256 acc[4][HEADS_MAX];
#pragma GCC unroll 4
        for (int c = 0; c < CB; c++)
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) acc[c][g] = _mm256_loadu_ps(og[g] + d + 8 * c);
        for (int i = 0; i < n; i++) {
            __m256 p[HEADS_MAX];
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) p[g] = _mm256_broadcast_ss(&score[g][i]);
#pragma GCC unroll 4
            for (int c = 0; c < CB; c++) {
                __m256 vv = load8(v, (size_t)i * D + (size_t)(d + 8 * c), dt);
#pragma GCC unroll 8
                for (int g = 0; g < G; g++) acc[c][g] = _mm256_fmadd_ps(p[g], vv, acc[c][g]);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < CB; c++)
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) _mm256_storeu_ps(og[g] + d + 8 * c, acc[c][g]);
    }
    for (; d < D8; d += 8) {
        __m256 acc[HEADS_MAX];
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) acc[g] = _mm256_loadu_ps(og[g] + d);
        for (int i = 0; i < n; i++) {
            __m256 vv = load8(v, (size_t)i * D + (size_t)d, dt);
#pragma GCC unroll 8
            for (int g = 0; g < G; g++)
                acc[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(&score[g][i]), vv, acc[g]);
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) _mm256_storeu_ps(og[g] + d, acc[g]);
    }
    for (d = D8; d < D; d++)
        for (int g = 0; g < G; g++) {
            float s = og[g][d];
            for (int i = 0; i < n; i++) s += score[g][i] * vr_cpu_weight_at(v, dt, (size_t)i * D + (size_t)d);
            og[g][d] = s;
        }
}

/* Prefetch n rows of K and V from (block, kvh, off) into L2. */
VR_TARGET static VR_INLINE void prefetch_run(const vr_cpu_kv *kv, int layer, int block, int kvh,
                                             int off, int n, int D) {
    size_t bytes = (size_t)n * (size_t)D * kv->esize;
    const char *k = vr_cpu_kv_row(kv->k, kv, layer, block, kvh, off);
    const char *v = vr_cpu_kv_row(kv->v, kv, layer, block, kvh, off);
    for (size_t b = 0; b < bytes; b += 64) {
        _mm_prefetch(k + b, _MM_HINT_T1);
        _mm_prefetch(v + b, _MM_HINT_T1);
    }
}

/* Query token t against cache rows [lo, hi] for the G query heads
 * g0 .. g0+G-1 of kv head kvh. */
VR_TARGET static VR_INLINE void group_pass(const vr_attn_args *a, int s, int kvh, int t, int lo,
                                           int hi, int g0, const int G, vr_dtype dt) {
    const vr_attn_meta *mt = a->meta;
    const vr_cpu_kv *kv = a->kv;
    const int D = a->head_dim;
    const int group = a->heads / a->kv_heads;
    const int bs = mt->block_size;
    const int32_t *bt = mt->block_table + (size_t)s * mt->max_blocks_per_seq;
    float score[HEADS_MAX][RUN_MAX];
    const float *qg[HEADS_MAX];
    float *og[HEADS_MAX];
    float m[HEADS_MAX], l[HEADS_MAX];
    for (int g = 0; g < G; g++) {
        int h = kvh * group + g0 + g;
        qg[g] = a->q + ((size_t)t * a->heads + h) * D;
        og[g] = a->out + ((size_t)t * a->heads + h) * D;
        for (int d = 0; d < D; d++) og[g][d] = 0.0f;
        m[g] = -INFINITY;
        l[g] = 0.0f;
    }
    for (int j = lo; j <= hi;) {
        int off = j % bs;
        int n = bs - off;
        if (n > hi - j + 1) n = hi - j + 1;
        if (n > RUN_MAX) n = RUN_MAX;
        int block = bt[j / bs];
        const void *kr = vr_cpu_kv_row(kv->k, kv, a->layer, block, kvh, off);
        const void *vr = vr_cpu_kv_row(kv->v, kv, a->layer, block, kvh, off);
        int jn = j + n;
        if (jn <= hi) /* the next run sits in another block, where no hardware
                         prefetcher will look: ask for it while this one computes */
            prefetch_run(kv, a->layer, bt[jn / bs], kvh, jn % bs,
                         hi - jn + 1 < bs - jn % bs ? hi - jn + 1 : bs - jn % bs, D);
        run_scores(score, qg, G, kr, dt, n, D);
        run_softmax(score, G, n, a->scale, a->softcap, m, l, og, D);
        run_values(score, G, vr, dt, n, og, D);
        j += n;
    }
    for (int g = 0; g < G; g++) {
        float inv = l[g] > 0.0f ? 1.0f / l[g] : 0.0f;
        for (int d = 0; d < D; d++) og[g][d] *= inv;
    }
}

VR_TARGET static VR_INLINE void attention_unit(const vr_attn_args *a, int s, int kvh, int t0,
                                               int t1, vr_dtype dt) {
    const vr_attn_meta *mt = a->meta;
    const int group = a->heads / a->kv_heads;
    const int ctx = mt->context_len[s];
    for (int t = t0; t < t1; t++) {
        int pos = mt->positions[t];
        int hi = pos < ctx - 1 ? pos : ctx - 1;
        int lo = 0;
        if (mt->sliding_window > 0 && pos - mt->sliding_window + 1 > 0)
            lo = pos - mt->sliding_window + 1;
        for (int g0 = 0; g0 < group; g0 += HEADS_MAX) {
            int G = group - g0 < HEADS_MAX ? group - g0 : HEADS_MAX;
            /* One constant-G copy per group size, so the accumulators of
             * run_scores/run_values are registers, not stack arrays. */
            switch (G) {
            case 1: group_pass(a, s, kvh, t, lo, hi, g0, 1, dt); break;
            case 2: group_pass(a, s, kvh, t, lo, hi, g0, 2, dt); break;
            case 3: group_pass(a, s, kvh, t, lo, hi, g0, 3, dt); break;
            case 4: group_pass(a, s, kvh, t, lo, hi, g0, 4, dt); break;
            case 5: group_pass(a, s, kvh, t, lo, hi, g0, 5, dt); break;
            case 6: group_pass(a, s, kvh, t, lo, hi, g0, 6, dt); break;
            case 7: group_pass(a, s, kvh, t, lo, hi, g0, 7, dt); break;
            default: group_pass(a, s, kvh, t, lo, hi, g0, 8, dt); break;
            }
        }
    }
}

VR_TARGET static void unit_f32(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    attention_unit(a, s, kvh, t0, t1, VR_F32);
}
VR_TARGET static void unit_bf16(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    attention_unit(a, s, kvh, t0, t1, VR_BF16);
}
VR_TARGET static void unit_f16(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    attention_unit(a, s, kvh, t0, t1, VR_F16);
}

void vr_avx2_attention_unit(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    switch (a->kv->desc.dtype) {
    case VR_F32: unit_f32(a, s, kvh, t0, t1); return;
    case VR_BF16: unit_bf16(a, s, kvh, t0, t1); return;
    case VR_F16: unit_f16(a, s, kvh, t0, t1); return;
    }
}

#endif
