/* kernels/cpu/ref_ops.c — portable plain-C kernels for the element-wise and
 * row-wise ops: the reference the SIMD paths are tested against, and what
 * hosts without SIMD paths (s390x, aarch64 for now) run.
 *
 * Weights are in native byte order here (upload_weight swaps them on
 * big-endian hosts), so reading them is a plain array access.
 */
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"

/* Dot product of an f32 row with row n of W, in f32 with four partial sums
 * (the same order of additions on every host, so results are reproducible). */
static float dot_row(const float *x, const void *w, vr_dtype wdt, size_t row_off, int K) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    switch (wdt) {
    case VR_F32: {
        const float *wr = (const float *)w + row_off;
        for (; k + 4 <= K; k += 4) {
            s0 += x[k] * wr[k];
            s1 += x[k + 1] * wr[k + 1];
            s2 += x[k + 2] * wr[k + 2];
            s3 += x[k + 3] * wr[k + 3];
        }
        for (; k < K; k++) s0 += x[k] * wr[k];
        break;
    }
    case VR_BF16: {
        const uint16_t *wr = (const uint16_t *)w + row_off;
        for (; k + 4 <= K; k += 4) {
            s0 += x[k] * vr_bf16_to_f32(wr[k]);
            s1 += x[k + 1] * vr_bf16_to_f32(wr[k + 1]);
            s2 += x[k + 2] * vr_bf16_to_f32(wr[k + 2]);
            s3 += x[k + 3] * vr_bf16_to_f32(wr[k + 3]);
        }
        for (; k < K; k++) s0 += x[k] * vr_bf16_to_f32(wr[k]);
        break;
    }
    case VR_F16: {
        const uint16_t *wr = (const uint16_t *)w + row_off;
        for (; k + 4 <= K; k += 4) {
            s0 += x[k] * vr_f16_to_f32(wr[k]);
            s1 += x[k + 1] * vr_f16_to_f32(wr[k + 1]);
            s2 += x[k + 2] * vr_f16_to_f32(wr[k + 2]);
            s3 += x[k + 3] * vr_f16_to_f32(wr[k + 3]);
        }
        for (; k < K; k++) s0 += x[k] * vr_f16_to_f32(wr[k]);
        break;
    }
    }
    return (s0 + s1) + (s2 + s3);
}

void vr_ref_matmul_cols(float *y, const float *x, const void *w, vr_dtype wdt, const void *bias,
                        int M, int N, int K, int n0, int n1) {
    for (int n = n0; n < n1; n++) {
        float b = bias ? vr_cpu_weight_at(bias, wdt, (size_t)n) : 0.0f;
        for (int m = 0; m < M; m++)
            y[(size_t)m * N + n] = dot_row(x + (size_t)m * K, w, wdt, (size_t)n * K, K) + b;
    }
}

void vr_ref_rmsnorm_rows(float *out, const float *x, const void *w, vr_dtype wdt, int r0, int r1,
                         int dim, float eps, float weight_offset) {
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++)
            o[i] = xr[i] * inv * (weight_offset + vr_cpu_weight_at(w, wdt, (size_t)i));
    }
}

void vr_ref_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

void vr_ref_embedding(float *out, const void *table, vr_dtype dt, const int32_t *ids, int ntok,
                      int dim, float scale) {
    for (int t = 0; t < ntok; t++) {
        size_t base = (size_t)ids[t] * (size_t)dim;
        float *o = out + (size_t)t * dim;
        for (int d = 0; d < dim; d++) o[d] = vr_cpu_weight_at(table, dt, base + (size_t)d) * scale;
    }
}

/* The angle pos * inv_freq is formed in double: at positions in the tens of
 * thousands an f32 product has already lost the low bits of the phase. */
void vr_ref_rope(float *x, int ntok, int nheads, int head_dim, const int32_t *pos,
                 const vr_rope *rope) {
    int half = rope->rotary_dim / 2;
    for (int t = 0; t < ntok; t++) {
        for (int i = 0; i < half; i++) {
            double ang = (double)pos[t] * (double)rope->inv_freq[i];
            float c = (float)cos(ang) * rope->attn_factor;
            float s = (float)sin(ang) * rope->attn_factor;
            for (int h = 0; h < nheads; h++) {
                float *xh = x + ((size_t)t * nheads + h) * head_dim;
                float a = xh[i], b = xh[i + half];
                xh[i] = a * c - b * s;
                xh[i + half] = b * c + a * s;
            }
        }
    }
}

static float activate(float g, vr_activation act) {
    switch (act) {
    case VR_ACT_SILU: return g / (1.0f + expf(-g));
    case VR_ACT_GELU_TANH: {
        /* 0.5 g (1 + tanh(z)) written as g * sigmoid(2z): no cancellation
         * in 1 + tanh(z) when g is negative. */
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
        return g / (1.0f + expf(-2.0f * k * (g + 0.044715f * g * g * g)));
    }
    case VR_ACT_GELU: return 0.5f * g * (1.0f + erff(g * 0.7071067811865476f));
    }
    return g;
}

void vr_ref_act_mul(float *out, const float *gate_up, int t0, int t1, int inter,
                    vr_activation act) {
    for (int t = t0; t < t1; t++) {
        const float *g = gate_up + (size_t)t * 2 * inter;
        float *o = out + (size_t)t * inter;
        for (int i = 0; i < inter; i++) o[i] = activate(g[i], act) * g[inter + i];
    }
}

void vr_ref_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int dim) {
    for (int i = 0; i < n; i++)
        memmove(dst + (size_t)i * dim, src + (size_t)rows[i] * dim, (size_t)dim * sizeof(float));
}
