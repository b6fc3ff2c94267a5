/* kernels/cpu/kv_cache.c — the CPU backend's paged KV cache.
 *
 * Layout per layer and per K/V pool: [num_blocks][num_kv_heads][block_size]
 * [head_dim] of desc.dtype (see cpu_backend.h). f32 keeps K/V exactly;
 * bf16 / f16 halve the memory and the bandwidth attention spends (writes
 * round to nearest even). The pools come from calloc, which for sizes like
 * these maps fresh zero pages lazily: creating a cache for millions of
 * tokens costs nothing until the blocks are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"

size_t vr_cpu_kv_bytes_per_block(vr_backend *be, const vr_kv_cache_desc *d) {
    (void)be;
    size_t es = vr_dtype_size(d->dtype);
    if (es == 0) es = sizeof(float); /* kv_create refuses it anyway */
    return 2 * (size_t)d->num_layers * (size_t)d->block_size * (size_t)d->num_kv_heads *
           (size_t)d->head_dim * es;
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
    if (d->dtype != VR_F32 && d->dtype != VR_BF16 && d->dtype != VR_F16) {
        snprintf(err, errlen, "kv cache: unsupported dtype %d", (int)d->dtype);
        return NULL;
    }
    vr_cpu_kv *kv = calloc(1, sizeof *kv);
    if (!kv) {
        snprintf(err, errlen, "kv cache: out of memory");
        return NULL;
    }
    kv->desc = *d;
    kv->esize = vr_dtype_size(d->dtype);
    kv->block_elems = (size_t)d->num_kv_heads * (size_t)d->block_size * (size_t)d->head_dim;
    kv->layer_elems = kv->block_elems * (size_t)d->num_blocks;
    size_t total = kv->layer_elems * (size_t)d->num_layers;
    if (total / (size_t)d->num_layers != kv->layer_elems ||
        kv->layer_elems / (size_t)d->num_blocks != kv->block_elems || total > SIZE_MAX / 8) {
        snprintf(err, errlen, "kv cache: size overflows");
        free(kv);
        return NULL;
    }
    kv->k = calloc(total, kv->esize);
    kv->v = calloc(total, kv->esize);
    if (!kv->k || !kv->v) {
        snprintf(err, errlen, "kv cache: cannot allocate 2 x %zu MiB for %d blocks",
                 total * kv->esize >> 20, d->num_blocks);
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
    size_t bytes = kv->block_elems * kv->esize;
    for (int l = 0; l < kv->desc.num_layers; l++)
        for (int i = 0; i < n; i++) {
            if (src[i] == dst[i]) continue;
            memcpy((void *)vr_cpu_kv_row(kv->k, kv, l, dst[i], 0, 0),
                   vr_cpu_kv_row(kv->k, kv, l, src[i], 0, 0), bytes);
            memcpy((void *)vr_cpu_kv_row(kv->v, kv, l, dst[i], 0, 0),
                   vr_cpu_kv_row(kv->v, kv, l, src[i], 0, 0), bytes);
        }
}

/* One head's row of head_dim values into the cache's dtype. */
static void store_row(void *dst, const float *src, int n, vr_dtype dt) {
    if (dt == VR_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (dt == VR_BF16) {
        uint16_t *o = dst;
        for (int i = 0; i < n; i++) o[i] = vr_f32_to_bf16(src[i]);
    } else {
        uint16_t *o = dst;
        for (int i = 0; i < n; i++) o[i] = vr_f32_to_f16(src[i]);
    }
}

void vr_cpu_write_kv(vr_backend *be, void *p, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok) {
    (void)be;
    vr_cpu_kv *kv = p;
    const vr_kv_cache_desc *d = &kv->desc;
    for (int t = 0; t < ntok; t++) {
        int slot = slots[t];
        if (slot < 0) continue;
        int block = slot / d->block_size, off = slot % d->block_size;
        for (int h = 0; h < d->num_kv_heads; h++) {
            size_t src = ((size_t)t * d->num_kv_heads + h) * (size_t)d->head_dim;
            store_row((void *)vr_cpu_kv_row(kv->k, kv, layer, block, h, off), k + src, d->head_dim,
                      d->dtype);
            store_row((void *)vr_cpu_kv_row(kv->v, kv, layer, block, h, off), v + src, d->head_dim,
                      d->dtype);
        }
    }
}
