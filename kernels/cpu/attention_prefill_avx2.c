/* kernels/cpu/attention_prefill_avx2.c — paged attention for units with
 * several query tokens (prompt chunks), AVX2 + FMA.
 *
 * The per-token kernel (attention_avx2.c) streams each K/V run once per
 * query token, with a horizontal sum per score: fine for decode, where the
 * cache comes from DRAM anyway, but a prompt of 512 tokens then spends more
 * time in attention than in its matmuls. Here all query rows of the unit
 * (tokens x the GQA group's heads, up to PF_ROWS) share each run of cached
 * tokens (inside one block, up to PF_RUN), as two small matrix products:
 *   S = Q K^T : K's run is transposed once into Kt[d][i], so each score
 *               vector is 8 tokens wide and needs no horizontal sum
 *               (4 query rows x 16 tokens of accumulators);
 *   O += P V  : 2 query rows x 32 dims of accumulators, V rows read once
 *               for both.
 * Causality and the sliding window mask scores per row (a run can hold
 * tokens some rows may see and others not). The online softmax is the same
 * as everywhere else: running max and sum per row, O rescaled when the max
 * grows.
 */
#include "kernels/cpu/simd.h"

#ifdef VR_HAVE_X86_SIMD

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu/simd_math_avx2.h"

#define VR_TARGET __attribute__((target("avx2,fma,f16c")))
#define VR_INLINE __attribute__((always_inline)) inline

#define PF_ROWS 128 /* query rows (tokens x heads) per unit */
#define PF_RUN 32   /* cached tokens per run (multiple of 16) */
#define PF_DMAX 256 /* head_dim handled here (multiple of 8) */

VR_TARGET static VR_INLINE __m256 load8(const void *p, size_t i, vr_dtype dt) {
    if (dt == VR_F32) return _mm256_loadu_ps((const float *)p + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    if (dt == VR_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

typedef struct {
    const float *q[PF_ROWS + 3]; /* +3: padding rows for 4-row tiles */
    float *o[PF_ROWS];
    int lo[PF_ROWS], hi[PF_ROWS];
    float m[PF_ROWS], l[PF_ROWS];
    float s[PF_ROWS + 3][PF_RUN];
    float kt[PF_DMAX][PF_RUN];
} pf_scratch;

/* Kt[d][i] = K[i][d] for the run's n rows; columns n..n16 zero. */
VR_TARGET static VR_INLINE void transpose_run(pf_scratch *w, const void *k, vr_dtype dt, int n,
                                              int n16, int D) {
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d += 8) {
            float tmp[8];
            _mm256_storeu_ps(tmp, load8(k, (size_t)i * D + (size_t)d, dt));
            for (int e = 0; e < 8; e++) w->kt[d + e][i] = tmp[e];
        }
    for (int d = 0; d < D; d++)
        for (int i = n; i < n16; i++) w->kt[d][i] = 0.0f;
}

/* S[r..r+4][c..c+16] = Q[r..r+4] . Kt[:, c..c+16] */
VR_TARGET static VR_INLINE void scores_4x16(pf_scratch *w, int r, int c, int D) {
    __m256 acc[4][2];
    for (int a = 0; a < 4; a++) acc[a][0] = acc[a][1] = _mm256_setzero_ps();
    for (int d = 0; d < D; d++) {
        __m256 k0 = _mm256_loadu_ps(&w->kt[d][c]), k1 = _mm256_loadu_ps(&w->kt[d][c + 8]);
        for (int a = 0; a < 4; a++) {
            __m256 b = _mm256_broadcast_ss(w->q[r + a] + d);
            acc[a][0] = _mm256_fmadd_ps(b, k0, acc[a][0]);
            acc[a][1] = _mm256_fmadd_ps(b, k1, acc[a][1]);
        }
    }
    for (int a = 0; a < 4; a++) {
        _mm256_storeu_ps(&w->s[r + a][c], acc[a][0]);
        _mm256_storeu_ps(&w->s[r + a][c + 8], acc[a][1]);
    }
}

/* O[r..r+RR] += P[r..r+RR][0..n) V[0..n) over dims [d, d + 32) */
VR_TARGET static VR_INLINE void pv_rows(pf_scratch *w, int r, int RR, const void *v, vr_dtype dt,
                                        int n, int d, int D) {
    __m256 acc[2][4];
    for (int a = 0; a < RR; a++)
        for (int e = 0; e < 4; e++) acc[a][e] = _mm256_loadu_ps(w->o[r + a] + d + 8 * e);
    for (int i = 0; i < n; i++) {
        __m256 vv[4];
        for (int e = 0; e < 4; e++) vv[e] = load8(v, (size_t)i * D + (size_t)d + 8 * (size_t)e, dt);
        for (int a = 0; a < RR; a++) {
            __m256 b = _mm256_broadcast_ss(&w->s[r + a][i]);
            for (int e = 0; e < 4; e++) acc[a][e] = _mm256_fmadd_ps(b, vv[e], acc[a][e]);
        }
    }
    for (int a = 0; a < RR; a++)
        for (int e = 0; e < 4; e++) _mm256_storeu_ps(w->o[r + a] + d + 8 * e, acc[a][e]);
}

/* Same over 8 dims, for head_dim % 32 tails. */
VR_TARGET static VR_INLINE void pv_row8(pf_scratch *w, int r, const void *v, vr_dtype dt, int n,
                                        int d, int D) {
    __m256 acc = _mm256_loadu_ps(w->o[r] + d);
    for (int i = 0; i < n; i++)
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&w->s[r][i]), load8(v, (size_t)i * D + (size_t)d, dt),
                              acc);
    _mm256_storeu_ps(w->o[r] + d, acc);
}

VR_TARGET static VR_INLINE void prefill_unit(const vr_attn_args *a, int s, int kvh, int t0, int t1,
                                             vr_dtype dt, pf_scratch *w) {
    const vr_attn_meta *mt = a->meta;
    const vr_cpu_kv *kv = a->kv;
    const int D = a->head_dim, group = a->heads / a->kv_heads, bs = mt->block_size;
    const int32_t *bt = mt->block_table + (size_t)s * mt->max_blocks_per_seq;
    const int ctx = mt->context_len[s];
    const int R = (t1 - t0) * group;
    const int R4 = (R + 3) & ~3;
    int jlo = 1 << 30, jhi = -1;
    for (int t = t0; t < t1; t++) {
        int pos = mt->positions[t];
        int hi = pos < ctx - 1 ? pos : ctx - 1, lo = 0;
        if (mt->sliding_window > 0 && pos - mt->sliding_window + 1 > 0) lo = pos - mt->sliding_window + 1;
        for (int g = 0; g < group; g++) {
            int r = (t - t0) * group + g, h = kvh * group + g;
            w->q[r] = a->q + ((size_t)t * a->heads + h) * D;
            w->o[r] = a->out + ((size_t)t * a->heads + h) * D;
            memset(w->o[r], 0, (size_t)D * sizeof(float));
            w->lo[r] = lo;
            w->hi[r] = hi;
            w->m[r] = -INFINITY;
            w->l[r] = 0.0f;
        }
        if (lo < jlo) jlo = lo;
        if (hi > jhi) jhi = hi;
    }
    for (int r = R; r < R4; r++) w->q[r] = w->q[0]; /* padding rows: scores unused */

    for (int j = jlo; j <= jhi;) {
        int off = j % bs, n = bs - off;
        if (n > jhi - j + 1) n = jhi - j + 1;
        if (n > PF_RUN) n = PF_RUN;
        int n16 = (n + 15) & ~15;
        int block = bt[j / bs];
        transpose_run(w, vr_cpu_kv_row(kv->k, kv, a->layer, block, kvh, off), dt, n, n16, D);
        for (int r = 0; r < R4; r += 4)
            for (int c = 0; c < n16; c += 16) scores_4x16(w, r, c, D);
        /* mask, scale, softmax update; s[r][i] becomes p (0 where masked) */
        for (int r = 0; r < R; r++) {
            float *sr = w->s[r], mx = -INFINITY;
            for (int i = 0; i < n16; i++) {
                int jj = j + i;
                float v = -INFINITY;
                if (i < n && jj >= w->lo[r] && jj <= w->hi[r]) {
                    v = sr[i] * a->scale;
                    if (a->softcap > 0.0f) v = a->softcap * tanhf(v / a->softcap);
                    if (v > mx) mx = v;
                }
                sr[i] = v;
            }
            if (mx == -INFINITY) { /* nothing visible to this row in the run */
                memset(sr, 0, (size_t)n16 * sizeof(float));
                continue;
            }
            if (mx > w->m[r]) {
                float rs = expf(w->m[r] - mx);
                w->l[r] *= rs;
                __m256 vr = _mm256_set1_ps(rs);
                for (int d = 0; d < D; d += 8)
                    _mm256_storeu_ps(w->o[r] + d, _mm256_mul_ps(_mm256_loadu_ps(w->o[r] + d), vr));
                w->m[r] = mx;
            }
            __m256 vm = _mm256_set1_ps(w->m[r]), sum = _mm256_setzero_ps();
            for (int i = 0; i < n16; i += 8) {
                __m256 p = vr_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(sr + i), vm));
                _mm256_storeu_ps(sr + i, p);
                sum = _mm256_add_ps(sum, p);
            }
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            w->l[r] += _mm_cvtss_f32(h);
        }
        const void *vrun = vr_cpu_kv_row(kv->v, kv, a->layer, block, kvh, off);
        int d = 0;
        for (; d + 32 <= D; d += 32) {
            int r = 0;
            for (; r + 2 <= R; r += 2) pv_rows(w, r, 2, vrun, dt, n, d, D);
            if (r < R) pv_rows(w, r, 1, vrun, dt, n, d, D);
        }
        for (; d < D; d += 8)
            for (int r = 0; r < R; r++) pv_row8(w, r, vrun, dt, n, d, D);
        j += n;
    }
    for (int r = 0; r < R; r++) {
        float inv = w->l[r] > 0.0f ? 1.0f / w->l[r] : 0.0f;
        __m256 vi = _mm256_set1_ps(inv);
        for (int d = 0; d < D; d += 8)
            _mm256_storeu_ps(w->o[r] + d, _mm256_mul_ps(_mm256_loadu_ps(w->o[r] + d), vi));
    }
}

VR_TARGET static void unit_f32(const vr_attn_args *a, int s, int kvh, int t0, int t1, pf_scratch *w) {
    prefill_unit(a, s, kvh, t0, t1, VR_F32, w);
}
VR_TARGET static void unit_bf16(const vr_attn_args *a, int s, int kvh, int t0, int t1, pf_scratch *w) {
    prefill_unit(a, s, kvh, t0, t1, VR_BF16, w);
}
VR_TARGET static void unit_f16(const vr_attn_args *a, int s, int kvh, int t0, int t1, pf_scratch *w) {
    prefill_unit(a, s, kvh, t0, t1, VR_F16, w);
}

int vr_avx2_attention_prefill(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    int group = a->heads / a->kv_heads;
    if (a->head_dim % 8 != 0 || a->head_dim > PF_DMAX || (t1 - t0) * group > PF_ROWS) return -1;
    pf_scratch w; /* ~50 KiB on the calling thread's stack */
    switch (a->kv->desc.dtype) {
    case VR_F32: unit_f32(a, s, kvh, t0, t1, &w); return 0;
    case VR_BF16: unit_bf16(a, s, kvh, t0, t1, &w); return 0;
    case VR_F16: unit_f16(a, s, kvh, t0, t1, &w); return 0;
    }
    return -1;
}

#endif
