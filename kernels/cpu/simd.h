/* kernels/cpu/simd.h — private to kernels/cpu: the SIMD kernels and the
 * run-time ISA detection. Each SIMD function is compiled for its ISA with a
 * target attribute, so the rest of the library stays baseline x86-64 and
 * runs anywhere; the backend only calls a kernel after checking the CPU. */
#ifndef VR_KERNELS_CPU_SIMD_H
#define VR_KERNELS_CPU_SIMD_H

#include "kernels/cpu/cpu_backend.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__) && !defined(VR_NO_SIMD)
#define VR_HAVE_X86_SIMD 1
#endif

/* Matmul micro-tile of the AVX2 kernel: weight rows x rows of x
 * (overridable at build time for tuning runs). */
#ifndef VR_AVX2_MM_R
#define VR_AVX2_MM_R 4
#endif
#ifndef VR_AVX2_MM_C
#define VR_AVX2_MM_C 2
#endif

#ifdef VR_HAVE_X86_SIMD
/* Repack rows [m0, m1) of x[M][K] for the bf16 kernel: every chunk of 16
 * floats becomes its 8 even then its 8 odd elements; the K % 16 tail is not
 * stored (the kernel reads it from x). xp is [M][K & ~15]. */
void vr_avx2_pack_x_bf16(float *xp, const float *x, int m0, int m1, int K);
/* Output columns [n0, n1) of y = x W^T + bias. xp: x packed as above when
 * wdt is bf16, or NULL (then an ordered kernel reads x directly). */
void vr_avx2_matmul_cols(float *y, const float *x, const float *xp, const void *w, vr_dtype wdt,
                         const void *bias, int M, int N, int K, int n0, int n1);
void vr_avx2_rmsnorm_rows(float *out, const float *x, const void *w, vr_dtype wdt, int r0, int r1,
                          int dim, float eps, float weight_offset);
void vr_avx2_act_mul(float *out, const float *gate_up, int t0, int t1, int inter,
                     vr_activation act);
void vr_avx2_add(float *x, const float *y, size_t n);
void vr_avx2_attention_unit(const vr_attn_args *a, int s, int kvh, int t0, int t1);
/* Units with several query tokens as small matrix products; nonzero when
 * the shape is outside what it handles (then use vr_avx2_attention_unit). */
int vr_avx2_attention_prefill(const vr_attn_args *a, int s, int kvh, int t0, int t1);
#endif

#endif
