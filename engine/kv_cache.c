/* engine/kv_cache.c — the model's paged KV cache, a thin owner of the
 * backend's cache handle. The layout inside is the backend's business; here
 * we only size it from the model's shape and check arguments. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/model_internal.h"

static vr_kv_cache_desc desc_for(const vr_model *m, int num_blocks, int block_size) {
    vr_kv_cache_desc d = {
        .num_layers = m->cfg.num_layers,
        .num_blocks = num_blocks,
        .block_size = block_size,
        .num_kv_heads = m->cfg.num_kv_heads,
        .head_dim = m->cfg.head_dim,
        .dtype = m->kv_dtype,
    };
    return d;
}

size_t vr_kv_cache_bytes_per_block(const vr_model *m, int block_size) {
    if (!m || block_size < 1)
        return 0;
    vr_kv_cache_desc d = desc_for(m, 1, block_size);
    return m->be->ops->kv_bytes_per_block(m->be, &d);
}

int vr_kv_cache_create(vr_model *m, int num_blocks, int block_size, vr_kv_cache **out, char *err,
                       size_t errlen) {
    *out = NULL;
    if (num_blocks < 1 || block_size < 1 || block_size > 4096) {
        snprintf(err, errlen, "KV cache: need num_blocks >= 1 and 1 <= block_size <= 4096 (got %d, %d)",
                 num_blocks, block_size);
        return -1;
    }
    if ((int64_t)num_blocks * block_size > INT32_MAX) {
        snprintf(err, errlen, "KV cache: %d blocks of %d tokens overflow 32-bit slot numbers",
                 num_blocks, block_size);
        return -1;
    }
    vr_kv_cache *kv = calloc(1, sizeof *kv);
    if (!kv) {
        snprintf(err, errlen, "KV cache: out of memory");
        return -1;
    }
    kv->m = m;
    kv->desc = desc_for(m, num_blocks, block_size);
    kv->handle = m->be->ops->kv_create(m->be, &kv->desc, err, errlen);
    if (!kv->handle) {
        free(kv);
        return -1;
    }
    *out = kv;
    return 0;
}

void vr_kv_cache_free(vr_kv_cache *kv) {
    if (!kv)
        return;
    if (kv->handle)
        kv->m->be->ops->kv_destroy(kv->m->be, kv->handle);
    free(kv);
}

int vr_kv_cache_num_blocks(const vr_kv_cache *kv) { return kv->desc.num_blocks; }

int vr_kv_cache_block_size(const vr_kv_cache *kv) { return kv->desc.block_size; }

/* Block ids come from the engine's block manager; an out-of-range pair is a
 * bug there, skipped here rather than letting the backend write outside the
 * pool. */
void vr_kv_cache_copy_blocks(vr_kv_cache *kv, const int32_t *src, const int32_t *dst, int n) {
    if (!kv || n <= 0 || !src || !dst)
        return;
    for (int i = 0; i < n; i++)
        if (src[i] < 0 || src[i] >= kv->desc.num_blocks || dst[i] < 0 ||
            dst[i] >= kv->desc.num_blocks)
            return;
    kv->m->be->ops->kv_copy_blocks(kv->m->be, kv->handle, src, dst, n);
}

vr_dtype vr_kv_cache_dtype(const vr_kv_cache *kv) { return kv->desc.dtype; }
