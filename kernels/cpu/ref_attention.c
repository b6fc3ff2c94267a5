/* kernels/cpu/ref_attention.c — portable paged attention over the flat batch.
 *
 * One call handles the query tokens [t0, t1) of sequence s for every query
 * head that reads kv head kvh (GQA group). Each (token, head) pair runs a
 * one-pass "online" softmax: a running maximum m, a running denominator l and
 * the unnormalised output accumulated in place in out[t][h]; when a score
 * raises the maximum, what was accumulated so far is scaled by exp(m_old -
 * m_new). No scratch memory, and no overflow for any finite score.
 */
#include <math.h>

#include "kernels/cpu/cpu_backend.h"

void vr_ref_attention_unit(const vr_attn_args *a, int s, int kvh, int t0, int t1) {
    const vr_attn_meta *mt = a->meta;
    const vr_cpu_kv *kv = a->kv;
    const int D = a->head_dim;
    const int group = a->heads / a->kv_heads;
    const int bs = mt->block_size;
    const int32_t *bt = mt->block_table + (size_t)s * mt->max_blocks_per_seq;
    const int ctx = mt->context_len[s];
    const vr_dtype dt = kv->desc.dtype;

    for (int t = t0; t < t1; t++) {
        int pos = mt->positions[t];
        int hi = pos < ctx - 1 ? pos : ctx - 1; /* causal, and never past the cache */
        int lo = 0;
        if (mt->sliding_window > 0 && pos - mt->sliding_window + 1 > 0)
            lo = pos - mt->sliding_window + 1;
        for (int g = 0; g < group; g++) {
            int h = kvh * group + g;
            const float *qh = a->q + ((size_t)t * a->heads + h) * D;
            float *o = a->out + ((size_t)t * a->heads + h) * D;
            for (int d = 0; d < D; d++) o[d] = 0.0f;
            float m = -INFINITY, l = 0.0f;
            for (int j = lo; j <= hi; j++) {
                int block = bt[j / bs], off = j % bs;
                const void *kr = vr_cpu_kv_row(kv->k, kv, a->layer, block, kvh, off);
                const void *vr = vr_cpu_kv_row(kv->v, kv, a->layer, block, kvh, off);
                float sc = 0.0f;
                for (int d = 0; d < D; d++) sc += qh[d] * vr_cpu_weight_at(kr, dt, (size_t)d);
                sc *= a->scale;
                if (a->softcap > 0.0f) sc = a->softcap * tanhf(sc / a->softcap);
                if (sc > m) {
                    float r = expf(m - sc); /* 0 on the first token (m = -inf) */
                    l *= r;
                    for (int d = 0; d < D; d++) o[d] *= r;
                    m = sc;
                }
                float p = expf(sc - m);
                l += p;
                for (int d = 0; d < D; d++) o[d] += p * vr_cpu_weight_at(vr, dt, (size_t)d);
            }
            float inv = l > 0.0f ? 1.0f / l : 0.0f; /* empty range: zeros */
            for (int d = 0; d < D; d++) o[d] *= inv;
        }
    }
}
