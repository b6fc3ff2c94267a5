/* kernels/cpu/rope_table.c — RoPE with a cache of cos/sin per position.
 *
 * The angle pos * inv_freq[i] is formed and its cos/sin taken in double
 * (ref_ops.c says why); that costs more than the rotation itself, and every
 * layer rotates q and k at the same positions. So the backend keeps a table
 * of (float)cos, (float)sin (times attn_factor) for positions [0, npos),
 * grown on demand, keyed by the inv_freq values themselves (not the pointer,
 * which a later model may reuse). Results are bit-identical to
 * vr_ref_rope; when the table cannot grow (huge position, no memory) the
 * op computes directly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"

/* Positions beyond this are computed directly rather than tabled. */
#define ROPE_TABLE_MAX_POS (1 << 20)

void vr_rope_table_free(vr_rope_table *t) {
    free(t->cs);
    free(t->inv_freq);
    memset(t, 0, sizeof *t);
}

static int same_key(const vr_rope_table *t, const vr_rope *rope) {
    return t->cs && t->half == rope->rotary_dim / 2 && t->attn_factor == rope->attn_factor &&
           memcmp(t->inv_freq, rope->inv_freq, (size_t)t->half * sizeof(float)) == 0;
}

/* Make rows [0, need) valid for this rope; 0 on success. */
static int table_reserve(vr_rope_table *t, const vr_rope *rope, int need) {
    int half = rope->rotary_dim / 2;
    if (!same_key(t, rope)) {
        vr_rope_table_free(t);
        t->inv_freq = malloc((size_t)(half > 0 ? half : 1) * sizeof(float));
        if (!t->inv_freq) return -1;
        memcpy(t->inv_freq, rope->inv_freq, (size_t)half * sizeof(float));
        t->half = half;
        t->attn_factor = rope->attn_factor;
    }
    if (need <= t->npos) return 0;
    int cap = t->npos ? t->npos : 1024;
    while (cap < need) cap *= 2;
    float *cs = realloc(t->cs, (size_t)cap * (size_t)half * 2 * sizeof(float));
    if (!cs) return -1;
    t->cs = cs;
    for (int p = t->npos; p < cap; p++)
        for (int i = 0; i < half; i++) {
            double ang = (double)p * (double)t->inv_freq[i];
            cs[((size_t)p * half + i) * 2] = (float)cos(ang) * t->attn_factor;
            cs[((size_t)p * half + i) * 2 + 1] = (float)sin(ang) * t->attn_factor;
        }
    t->npos = cap;
    return 0;
}

void vr_cpu_rope(vr_backend *be, float *x, int ntok, int nheads, int head_dim, const int32_t *pos,
                 const vr_rope *rope) {
    vr_rope_table *t = &((vr_cpu_backend *)be)->rope_table;
    int maxpos = -1;
    for (int i = 0; i < ntok; i++) {
        if (pos[i] < 0 || pos[i] >= ROPE_TABLE_MAX_POS) maxpos = ROPE_TABLE_MAX_POS;
        if (pos[i] > maxpos) maxpos = pos[i];
    }
    if (ntok <= 0 || rope->rotary_dim < 2 || maxpos >= ROPE_TABLE_MAX_POS ||
        table_reserve(t, rope, maxpos + 1) != 0) {
        vr_ref_rope(x, ntok, nheads, head_dim, pos, rope);
        return;
    }
    const int half = t->half;
    for (int tk = 0; tk < ntok; tk++) {
        const float *cs = t->cs + (size_t)pos[tk] * half * 2;
        for (int h = 0; h < nheads; h++) {
            float *xh = x + ((size_t)tk * nheads + h) * head_dim;
            for (int i = 0; i < half; i++) {
                float c = cs[2 * i], s = cs[2 * i + 1];
                float a = xh[i], b = xh[i + half];
                xh[i] = a * c - b * s;
                xh[i + half] = b * c + a * s;
            }
        }
    }
}
