/* kernels/cpu/simd_math_avx2.h — private to kernels/cpu: vector exp for the
 * AVX2 kernels (softmax, SiLU, GELU). Include only from files whose
 * functions are compiled with target("avx2,fma").
 *
 * exp(x) = 2^n * e^y with n = round(x / ln 2) and y = x - n ln 2 (ln 2 split
 * in a high part exact in f32 and a low correction, so y is exact enough),
 * |y| <= ln2 / 2; e^y by its Taylor series to degree 7, whose truncation
 * error (< 6e-9 relative) is below f32 rounding. 2^n is built in the
 * exponent bits. Inputs below -87 give exactly 0, above 88 saturate at
 * e^88 (finite, so 1 / (1 + e^x) never makes a NaN). */
#ifndef VR_KERNELS_CPU_SIMD_MATH_AVX2_H
#define VR_KERNELS_CPU_SIMD_MATH_AVX2_H

#include <immintrin.h>

__attribute__((target("avx2,fma"), always_inline)) static inline __m256 vr_avx2_exp(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
    __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 y = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);   /* ln2 high part */
    y = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), y);        /* ln2 low part */
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

#endif
