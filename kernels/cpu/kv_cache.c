/* kernels/cpu/kv_cache.c — the CPU backend's paged KV cache (f32).
 *
 * Layout per layer and per K/V pool: [num_blocks][num_kv_heads][block_size]
 * [head_dim] (see cpu_backend.h). The pools come from calloc, which for
 * sizes like these maps fresh zero pages lazily: creating a cache for
 * millions of tokens costs nothing until the blocks are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"

size_t vr_cpu_kv_bytes_per_block(vr_backend *be, const vr_kv_cache_desc *d) {
    (void)be;
    return 2 * (size_t)d->num_layers * (size_t)d->block_size * (size_t)d->num_kv_heads *
           (size_t)d->head_dim * sizeof(float);
}

void *vr_cpu_kv_create(vr_backend *be, const vr_kv_cache_desc *d, char *err, size_t errlen) {
    (void)be;
    if (d->num_layers <= 0 || d->num_blocks <= 0 || d->block_size <= 0 || d->num_kv_heads <= 0 ||
        d->head_dim <= 0) {
        snprintf(err, errlen,
                 "kv cache: invalid shape (layers %d, blocks %d, block size %d, kv heads %d, "
                 "head dim %d)",
                 d->num_layers, d->num_blocks, d->block_size, d->num_kv_heads, d->head_dim);
        return NULL;
    }
    vr_cpu_kv *kv = calloc(1, sizeof *kv);
    if (!kv) {
        snprintf(err, errlen, "kv cache: out of memory");
        return NULL;
    }
    kv->desc = *d;
    kv->block_floats = (size_t)d->num_kv_heads * (size_t)d->block_size * (size_t)d->head_dim;
    kv->layer_floats = kv->block_floats * (size_t)d->num_blocks;
    size_t total = kv->layer_floats * (size_t)d->num_layers;
    if (total / (size_t)d->num_layers != kv->layer_floats ||
        kv->layer_floats / (size_t)d->num_blocks != kv->block_floats) {
        snprintf(err, errlen, "kv cache: size overflows");
        free(kv);
        return NULL;
    }
    kv->k = calloc(total, sizeof(float));
    kv->v = calloc(total, sizeof(float));
    if (!kv->k || !kv->v) {
        snprintf(err, errlen, "kv cache: cannot allocate 2 x %zu MiB for %d blocks", total * 4 >> 20,
                 d->num_blocks);
        vr_cpu_kv_destroy(be, kv);
        return NULL;
    }
    return kv;
}

void vr_cpu_kv_destroy(vr_backend *be, void *p) {
    (void)be;
    vr_cpu_kv *kv = p;
    if (!kv) return;
    free(kv->k);
    free(kv->v);
    free(kv);
}

void vr_cpu_kv_copy_blocks(vr_backend *be, void *p, const int32_t *src, const int32_t *dst, int n) {
    (void)be;
    vr_cpu_kv *kv = p;
    size_t bytes = kv->block_floats * sizeof(float);
    for (int l = 0; l < kv->desc.num_layers; l++) {
        float *kl = kv->k + (size_t)l * kv->layer_floats;
        float *vl = kv->v + (size_t)l * kv->layer_floats;
        for (int i = 0; i < n; i++) {
            if (src[i] == dst[i]) continue;
            memcpy(kl + (size_t)dst[i] * kv->block_floats, kl + (size_t)src[i] * kv->block_floats,
                   bytes);
            memcpy(vl + (size_t)dst[i] * kv->block_floats, vl + (size_t)src[i] * kv->block_floats,
                   bytes);
        }
    }
}

void vr_cpu_write_kv(vr_backend *be, void *p, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok) {
    (void)be;
    vr_cpu_kv *kv = p;
    const vr_kv_cache_desc *d = &kv->desc;
    size_t row = (size_t)d->head_dim * sizeof(float);
    float *kpool = kv->k + (size_t)layer * kv->layer_floats;
    float *vpool = kv->v + (size_t)layer * kv->layer_floats;
    for (int t = 0; t < ntok; t++) {
        int slot = slots[t];
        if (slot < 0) continue;
        int block = slot / d->block_size, off = slot % d->block_size;
        for (int h = 0; h < d->num_kv_heads; h++) {
            size_t src = ((size_t)t * d->num_kv_heads + h) * (size_t)d->head_dim;
            memcpy(vr_cpu_kv_row(kpool, kv, block, h, off), k + src, row);
            memcpy(vr_cpu_kv_row(vpool, kv, block, h, off), v + src, row);
        }
    }
}
