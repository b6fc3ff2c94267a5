/* kernels/cpu/matmul_avx2.c — y = x W^T + b with AVX2 + FMA (+ F16C).
 *
 * The hot loop of the whole engine. Every output is a dot product along K of
 * a row of x with a row of W, both contiguous, so the micro-kernel keeps an
 * R x C block of 8-lane f32 accumulators (R weight rows x C rows of x) and
 * walks K once; the R*C partial vectors are summed horizontally at the end.
 *
 * Loop order (see vr_avx2_matmul_cols): the caller gives a slice of weight
 * rows [n0, n1). For each block of x rows small enough to stay in L2, each
 * R-row tile of W (a few KiB, stays in L1) is multiplied with every C-row
 * tile of the block. With M <= the block height (every decode step) each
 * weight is read from memory exactly once for the whole batch, which is what
 * makes batched decode cost about one weight read per step.
 *
 * bf16 weights, the common case, use a cheaper conversion than widening each
 * 8 values: one 256-bit load holds 16 bf16 values as 8 pairs; shifting each
 * 32-bit lane left by 16 gives the even elements as f32, masking off the low
 * half gives the odd ones. x is repacked once per call to match (each chunk
 * of 16 floats stored as its 8 even then its 8 odd elements), so the inner
 * loop needs one load and two integer ops per 16 weights. When the scratch
 * for the repacked x cannot be allocated, an ordered kernel (widen + shift)
 * does the same work without it.
 *
 * Prefetch (why): the hardware prefetcher alone left a DRAM-streamed bf16
 * matmul at 44-51 GFLOP/s per core where the same tile reaches 81 with W in
 * L2; touching the next tile's rows one cache line ahead of the loads gave
 * +17% at M=1 and +20-40% at M=8..16 (benchmarks/NOTES.md, 2026-11-25).
 * Prefetches never fault, so running past the end of W is harmless.
 */
#include "kernels/cpu/simd.h"

#ifdef VR_HAVE_X86_SIMD

#include <immintrin.h>
#include <string.h>

#define VR_TARGET __attribute__((target("avx2,fma,f16c")))
#define VR_INLINE __attribute__((always_inline)) inline

/* Micro-tiles of up to 4 weight rows x 6 rows of x are instantiated; the
 * tile used for most of the work is VR_AVX2_MM_R x VR_AVX2_MM_C (simd.h),
 * chosen with benchmarks/kernels (see kernels/README.md). */
#define TR 4 /* largest R instantiated */
#define TC 6 /* largest C instantiated */
#define MM_R VR_AVX2_MM_R
#define MM_C VR_AVX2_MM_C
#if MM_R > TR || MM_C > TC
#error "matmul tile larger than the instantiated ones"
#endif

/* Cache blocking (why): a C-row tile of x over one K block stays in L1
 * (C * KBLOCK floats = 16 KiB) while a panel of W rows (about 256 KiB of
 * weights) stays in L2; each weight row then meets every x tile from L2,
 * and every weight leaves DRAM once per call. */
#define MM_L1_X_BYTES (16 * 1024)
#define MM_L2_W_BYTES (256 * 1024)

VR_TARGET static VR_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 8 consecutive weights as f32, in order. */
VR_TARGET static VR_INLINE __m256 load8(const void *w, size_t i, vr_dtype dt) {
    if (dt == VR_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == VR_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Ask for the cache line holding element k of rows n .. n+R-1 of the next
 * tile (rows n+R ..) while this one computes; called once per 64 bytes. */
VR_TARGET static VR_INLINE void prefetch_next_rows(const void *w, size_t esize, size_t n, int R,
                                                   size_t K, int k) {
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        _mm_prefetch((const char *)w + ((n + (size_t)(R + r)) * K + (size_t)k) * esize,
                     _MM_HINT_T0);
}

/* Scalar part of one dot product over k in [k0, k1). */
static VR_INLINE float tail_dot(const float *x, const void *w, vr_dtype dt, size_t row, int k0,
                                int k1) {
    float s = 0.0f;
    for (int k = k0; k < k1; k++) s += x[k] * vr_cpu_weight_at(w, dt, row + (size_t)k);
    return s;
}

/* Arguments of one micro-tile: W rows n.. (row length K), x rows (row
 * length K; packed copy row length K & ~15), over k in [k0, k1). */
typedef struct {
    const void *w;
    size_t n;
    const float *x, *xp;
    int K, k0, k1;
    int pf; /* prefetch the next tile's rows: the first x tile of a pass over W */
} tile_args;

/* ---- ordered kernel: any dtype, x as given ---- */

VR_TARGET static VR_INLINE void tile_ordered(const tile_args *t, vr_dtype dt, int R, int C,
                                             float out[TR][TC]) {
    const size_t K = (size_t)t->K;
    __m256 acc[TR][TC];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    int k = t->k0;
    const size_t esize = vr_dtype_size(dt);
    for (; k + 8 <= t->k1; k += 8) {
        if (t->pf && !(((size_t)k * esize) & 63)) prefetch_next_rows(t->w, esize, t->n, R, K, k);
        __m256 wv[TR];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) wv[r] = load8(t->w, (t->n + (size_t)r) * K + (size_t)k, dt);
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            __m256 xv = _mm256_loadu_ps(t->x + (size_t)c * K + k);
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            out[r][c] = hsum8(acc[r][c]) +
                        tail_dot(t->x + (size_t)c * K, t->w, dt, (t->n + (size_t)r) * K, k, t->k1);
}

/* ---- bf16 kernel over even/odd-packed x ---- */

VR_TARGET static VR_INLINE void tile_bf16_packed(const tile_args *t, int R, int C,
                                                 float out[TR][TC]) {
    const size_t K = (size_t)t->K;
    const size_t K16 = K & ~(size_t)15;
    const int kend = t->k1 < (int)K16 ? t->k1 : (int)K16;
    const uint16_t *w = t->w;
    const __m256i hi_mask = _mm256_set1_epi32((int)0xffff0000u);
    __m256 acc[TR][TC];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    int k = t->k0;
    for (; k < kend; k += 16) {
        if (t->pf && !(k & 31)) prefetch_next_rows(w, 2, t->n, R, K, k);
        __m256i raw[TR];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            raw[r] = _mm256_loadu_si256((const __m256i *)(w + (t->n + (size_t)r) * K + k));
        {
            __m256 we[TR];
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) we[r] = _mm256_castsi256_ps(_mm256_slli_epi32(raw[r], 16));
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                __m256 xv = _mm256_loadu_ps(t->xp + (size_t)c * K16 + k);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(we[r], xv, acc[r][c]);
            }
        }
        {
            __m256 wo[TR];
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) wo[r] = _mm256_castsi256_ps(_mm256_and_si256(raw[r], hi_mask));
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                __m256 xv = _mm256_loadu_ps(t->xp + (size_t)c * K16 + k + 8);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wo[r], xv, acc[r][c]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            out[r][c] = hsum8(acc[r][c]) + tail_dot(t->x + (size_t)c * K, w, VR_BF16,
                                                    (t->n + (size_t)r) * K, k, t->k1);
}

/* One instantiation per (R, C) so every loop above is fully unrolled with
 * the accumulators in registers. */
typedef void (*tile_fn)(const tile_args *t, float out[TR][TC]);

#define DEF_TILE(R, C)                                                                          \
    VR_TARGET static void tile_f32_##R##_##C(const tile_args *t, float out[TR][TC]) {           \
        tile_ordered(t, VR_F32, R, C, out);                                                     \
    }                                                                                           \
    VR_TARGET static void tile_f16_##R##_##C(const tile_args *t, float out[TR][TC]) {           \
        tile_ordered(t, VR_F16, R, C, out);                                                     \
    }                                                                                           \
    VR_TARGET static void tile_bf16o_##R##_##C(const tile_args *t, float out[TR][TC]) {         \
        tile_ordered(t, VR_BF16, R, C, out);                                                    \
    }                                                                                           \
    VR_TARGET static void tile_bf16p_##R##_##C(const tile_args *t, float out[TR][TC]) {         \
        tile_bf16_packed(t, R, C, out);                                                         \
    }

#define DEF_ROW(R) DEF_TILE(R, 1) DEF_TILE(R, 2) DEF_TILE(R, 3) DEF_TILE(R, 4) DEF_TILE(R, 5) DEF_TILE(R, 6)
DEF_ROW(1)
DEF_ROW(2)
DEF_ROW(3)
DEF_ROW(4)

#define ROW_FNS(kind, R)                                                                          \
    {tile_##kind##_##R##_1, tile_##kind##_##R##_2, tile_##kind##_##R##_3, tile_##kind##_##R##_4, \
     tile_##kind##_##R##_5, tile_##kind##_##R##_6}
#define KIND_FNS(kind) {ROW_FNS(kind, 1), ROW_FNS(kind, 2), ROW_FNS(kind, 3), ROW_FNS(kind, 4)}

enum { KIND_F32, KIND_F16, KIND_BF16_ORDERED, KIND_BF16_PACKED, KIND_COUNT };
static const tile_fn kTiles[KIND_COUNT][TR][TC] = {KIND_FNS(f32), KIND_FNS(f16), KIND_FNS(bf16o),
                                                    KIND_FNS(bf16p)};

void vr_avx2_pack_x_bf16(float *xp, const float *x, int m0, int m1, int K) {
    const int K16 = K & ~15;
    for (int m = m0; m < m1; m++) {
        const float *xr = x + (size_t)m * K;
        float *pr = xp + (size_t)m * K16;
        for (int k = 0; k < K16; k += 16)
            for (int i = 0; i < 8; i++) {
                pr[k + i] = xr[k + 2 * i];
                pr[k + 8 + i] = xr[k + 2 * i + 1];
            }
    }
}

VR_TARGET void vr_avx2_matmul_cols(float *y, const float *x, const float *xp, const void *w,
                                   vr_dtype wdt, const void *bias, int M, int N, int K, int n0,
                                   int n1) {
    int kind = wdt == VR_F32 ? KIND_F32
             : wdt == VR_F16 ? KIND_F16
             : xp            ? KIND_BF16_PACKED
                             : KIND_BF16_ORDERED;
    /* One row of x (a single decode): taller tiles, since x is reused
     * only across weight rows. */
    const int RT = M == 1 ? TR : MM_R, CT = MM_C;
    const size_t K16 = (size_t)K & ~(size_t)15;
    int kblock = MM_L1_X_BYTES / (CT * 4);
    kblock = kblock < 16 ? 16 : kblock & ~15;
    if (kblock >= K) kblock = K;
    int panel = MM_L2_W_BYTES / (kblock * (int)vr_dtype_size(wdt));
    panel = panel < RT ? RT : panel / RT * RT;
    /* A decode batch whose x fits in L2 with all of K in one block: one W
     * tile at a time against every x tile, so W streams from DRAM in one
     * sequential run (the prefetch above stays one tile ahead of it) and
     * x is what is re-read, from L2. */
    if (kblock == K && (size_t)M * (size_t)K * sizeof(float) <= MM_L2_W_BYTES) panel = RT;
    float out[TR][TC];
    tile_args t = {w, 0, NULL, NULL, K, 0, 0, 0};
    for (int np = n0; np < n1; np += panel) {
        int ne = np + panel < n1 ? np + panel : n1;
        for (int k0 = 0; k0 < K; k0 += kblock) {
            t.k0 = k0;
            t.k1 = k0 + kblock < K ? k0 + kblock : K;
            for (int m = 0; m < M; m += CT) {
                int C = M - m < CT ? M - m : CT;
                t.x = x + (size_t)m * K;
                t.xp = xp ? xp + (size_t)m * K16 : NULL;
                t.pf = m == 0; /* later x tiles find W in cache */
                for (int n = np; n < ne; n += RT) {
                    int R = ne - n < RT ? ne - n : RT;
                    t.n = (size_t)n;
                    kTiles[kind][R - 1][C - 1](&t, out);
                    for (int r = 0; r < R; r++) {
                        float *yc = y + (size_t)m * N + n + r;
                        if (k0 == 0) {
                            float b = bias ? vr_cpu_weight_at(bias, wdt, (size_t)(n + r)) : 0.0f;
                            for (int c = 0; c < C; c++) yc[(size_t)c * N] = out[r][c] + b;
                        } else {
                            for (int c = 0; c < C; c++) yc[(size_t)c * N] += out[r][c];
                        }
                    }
                }
            }
        }
    }
}

#endif
