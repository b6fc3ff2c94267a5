/* kernels/cpu/ops_avx2.c — AVX2 + FMA versions of the row-wise ops:
 * rmsnorm, the gated activation, and the residual add. Same results as the
 * portable kernels up to f32 rounding (tests/kernels compares them). */
#include "kernels/cpu/simd.h"

#ifdef VR_HAVE_X86_SIMD

#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/simd_math_avx2.h"

#define VR_TARGET __attribute__((target("avx2,fma,f16c")))

VR_TARGET static inline __m256 load8w(const void *w, vr_dtype dt, int i) {
    if (dt == VR_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == VR_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

VR_TARGET static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

VR_TARGET void vr_avx2_rmsnorm_rows(float *out, const float *x, const void *w, vr_dtype wdt,
                                    int r0, int r1, int dim, float eps, float weight_offset) {
    const int d8 = dim & ~7;
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= d8; i += 16) {
            __m256 v0 = _mm256_loadu_ps(xr + i), v1 = _mm256_loadu_ps(xr + i + 8);
            a0 = _mm256_fmadd_ps(v0, v0, a0);
            a1 = _mm256_fmadd_ps(v1, v1, a1);
        }
        for (; i < d8; i += 8) {
            __m256 v = _mm256_loadu_ps(xr + i);
            a0 = _mm256_fmadd_ps(v, v, a0);
        }
        double ss = hsum8(_mm256_add_ps(a0, a1));
        for (; i < dim; i++) ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / dim + eps));
        __m256 vinv = _mm256_set1_ps(inv), voff = _mm256_set1_ps(weight_offset);
        for (i = 0; i < d8; i += 8) {
            __m256 g = _mm256_add_ps(voff, load8w(w, wdt, i));
            _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv), g));
        }
        for (; i < dim; i++) o[i] = xr[i] * inv * (weight_offset + vr_cpu_weight_at(w, wdt, (size_t)i));
    }
}

/* act(g) * u for 8 lanes. */
VR_TARGET static inline __m256 act8(__m256 g, __m256 u, vr_activation act) {
    const __m256 one = _mm256_set1_ps(1.0f);
    if (act == VR_ACT_SILU) {
        __m256 e = vr_avx2_exp(_mm256_sub_ps(_mm256_setzero_ps(), g)); /* exp(-g) */
        return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u);
    }
    /* gelu_tanh: 0.5 g (1 + tanh(z)) = g * sigmoid(2z) = g / (1 + exp(-2z)),
     * which avoids the cancellation in 1 + tanh(z) for negative g. */
    __m256 g3 = _mm256_mul_ps(_mm256_mul_ps(g, g), g);
    __m256 z = _mm256_mul_ps(_mm256_set1_ps(-2.0f * 0.7978845608028654f),
                             _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), g3, g));
    __m256 e = vr_avx2_exp(z); /* exp(-2z) */
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u);
}

VR_TARGET void vr_avx2_act_mul(float *out, const float *gate_up, int t0, int t1, int inter,
                               vr_activation act) {
    if (act == VR_ACT_GELU) { /* exact erf GELU: rare, keep the scalar erff */
        vr_ref_act_mul(out, gate_up, t0, t1, inter, act);
        return;
    }
    const int i8 = inter & ~7;
    for (int t = t0; t < t1; t++) {
        const float *g = gate_up + (size_t)t * 2 * inter;
        float *o = out + (size_t)t * inter;
        int i = 0;
        for (; i < i8; i += 8)
            _mm256_storeu_ps(o + i, act8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(g + inter + i), act));
        if (i < inter) { /* tail through a padded lane buffer, same math */
            float gb[8] = {0}, ub[8] = {0}, ob[8];
            for (int j = 0; i + j < inter; j++) {
                gb[j] = g[i + j];
                ub[j] = g[inter + i + j];
            }
            _mm256_storeu_ps(ob, act8(_mm256_loadu_ps(gb), _mm256_loadu_ps(ub), act));
            for (int j = 0; i + j < inter; j++) o[i + j] = ob[j];
        }
    }
}

VR_TARGET void vr_avx2_add(float *x, const float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) x[i] += y[i];
}

#endif
