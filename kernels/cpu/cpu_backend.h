/* kernels/cpu/cpu_backend.h — private to kernels/: the CPU backend's struct,
 * its KV cache, and the per-op kernels the dispatch layer picks from.
 *
 * Only kernels/ and its own tests (tests/kernels/) include this file; the
 * engine sees the CPU backend through kernels/backend.h alone.
 *
 * Each op exists as a portable plain-C kernel (the reference, and what
 * big-endian hosts such as s390x run) and, on x86-64, as SIMD variants that
 * are chosen once at backend creation from what the CPU supports.
 */
#ifndef VR_KERNELS_CPU_BACKEND_H
#define VR_KERNELS_CPU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/cpu/thread_pool.h"

/* Instruction-set level of the kernels in use. */
typedef enum vr_cpu_isa {
    VR_CPU_ISA_PORTABLE = 0, /* plain C, any host, any endianness */
    VR_CPU_ISA_AVX2 = 1,     /* x86-64 AVX2 + FMA + F16C */
} vr_cpu_isa;

/* The best level this build and this CPU support. */
vr_cpu_isa vr_cpu_isa_detect(void);
const char *vr_cpu_isa_name(vr_cpu_isa isa);

/* Paged KV cache, one K pool and one V pool per layer, elements of
 * desc.dtype (f32, bf16 or f16; native byte order). Layout of each pool:
 *   [num_blocks][num_kv_heads][block_size][head_dim]
 * so the block_size x head_dim tile one kv head reads from one block is
 * contiguous: attention streams it with unit stride. */
typedef struct vr_cpu_kv {
    vr_kv_cache_desc desc;
    size_t esize;       /* bytes per element */
    size_t block_elems; /* elements of one block of one layer (one of K or V) */
    size_t layer_elems; /* num_blocks * block_elems */
    unsigned char *k;   /* [num_layers][layer_elems] */
    unsigned char *v;
} vr_cpu_kv;

/* Address of token `off` of block `block`, kv head `kvh`, in layer `layer`
 * of a pool (kv->k or kv->v). */
static inline const void *vr_cpu_kv_row(const unsigned char *pool, const vr_cpu_kv *kv, int layer,
                                        int block, int kvh, int off) {
    const vr_kv_cache_desc *d = &kv->desc;
    size_t e = (size_t)layer * kv->layer_elems + (size_t)block * kv->block_elems +
               ((size_t)kvh * (size_t)d->block_size + (size_t)off) * (size_t)d->head_dim;
    return pool + e * kv->esize;
}

/* cos/sin of RoPE angles per position, grown on demand (rope_table.c). */
typedef struct vr_rope_table {
    float *inv_freq; /* copy of the key: [half] */
    int half;
    float attn_factor;
    int npos;  /* rows filled */
    float *cs; /* [npos][half][2]: cos, sin (times attn_factor) */
} vr_rope_table;
void vr_rope_table_free(vr_rope_table *t);

typedef struct vr_cpu_backend {
    vr_backend base;
    vr_cpu_isa isa;
    vr_thread_pool *pool; /* NULL when single-threaded */
    float *xpack;         /* matmul scratch: x repacked for the bf16 kernel */
    size_t xpack_cap;     /* floats */
    vr_rope_table rope_table;
} vr_cpu_backend;

/* Create a CPU backend using kernels of exactly `isa` (must be supported:
 * see vr_cpu_isa_detect). Tests use this to compare SIMD with portable. */
vr_backend *vr_cpu_backend_create_isa(int num_threads, vr_cpu_isa isa, char *err, size_t errlen);

/* Read element i of a weight tensor in native byte order as f32. */
static inline float vr_cpu_weight_at(const void *w, vr_dtype dt, size_t i) {
    switch (dt) {
    case VR_F32: return ((const float *)w)[i];
    case VR_F16: return vr_f16_to_f32(((const uint16_t *)w)[i]);
    case VR_BF16: return vr_bf16_to_f32(((const uint16_t *)w)[i]);
    }
    return 0.0f;
}

/* ---- portable kernels (kernels/cpu/ref_*.c) ---- */

/* Rows [n0, n1) of y = x W^T + bias over all M rows of x. */
void vr_ref_matmul_cols(float *y, const float *x, const void *w, vr_dtype wdt, const void *bias,
                        int M, int N, int K, int n0, int n1);
void vr_ref_rmsnorm_rows(float *out, const float *x, const void *w, vr_dtype wdt, int r0, int r1,
                         int dim, float eps, float weight_offset);
void vr_ref_add(float *x, const float *y, size_t n);
void vr_ref_embedding(float *out, const void *table, vr_dtype dt, const int32_t *ids, int ntok,
                      int dim, float scale);
void vr_ref_rope(float *x, int ntok, int nheads, int head_dim, const int32_t *pos,
                 const vr_rope *rope);
void vr_ref_act_mul(float *out, const float *gate_up, int t0, int t1, int inter,
                    vr_activation act);
void vr_ref_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int dim);

/* One unit of attention work: the query tokens [t0, t1) of sequence s, all
 * query heads that share kv head kvh. */
typedef struct vr_attn_args {
    float *out;
    const float *q;
    const vr_cpu_kv *kv;
    int layer;
    const vr_attn_meta *meta;
    int heads, kv_heads, head_dim;
    float scale, softcap;
} vr_attn_args;

void vr_ref_attention_unit(const vr_attn_args *a, int s, int kvh, int t0, int t1);

#ifdef VR_HAVE_DNNL
/* Columns [n0, n1) of y = x W^T + bias for f32 W through oneDNN on the
 * calling thread only. Nonzero if oneDNN refused (caller falls back). */
int vr_dnnl_matmul_cols(float *y, const float *x, const float *w, const float *bias, int M, int N,
                        int K, int n0, int n1);
/* Rows of x from which f32 matmuls go to oneDNN. */
#define VR_DNNL_MIN_M 64
#endif

/* ---- KV cache (kernels/cpu/kv_cache.c) ---- */
void *vr_cpu_kv_create(vr_backend *be, const vr_kv_cache_desc *desc, char *err, size_t errlen);
void vr_cpu_kv_destroy(vr_backend *be, void *kv);
size_t vr_cpu_kv_bytes_per_block(vr_backend *be, const vr_kv_cache_desc *desc);
void vr_cpu_kv_copy_blocks(vr_backend *be, void *kv, const int32_t *src, const int32_t *dst, int n);
void vr_cpu_write_kv(vr_backend *be, void *kv, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok);

/* ---- ops as installed in the table (kernels/cpu/cpu_ops.c) ---- */
void vr_cpu_matmul(vr_backend *be, float *y, const float *x, const void *w, vr_dtype wdt,
                   const void *bias, int M, int N, int K);
void vr_cpu_matmul_multi(vr_backend *be, const vr_matmul_part *parts, int nparts, const float *x,
                         int M, int K);
void vr_cpu_rmsnorm(vr_backend *be, float *out, const float *x, const void *w, vr_dtype wdt,
                    int rows, int dim, float eps, float weight_offset);
void vr_cpu_add(vr_backend *be, float *x, const float *y, size_t n);
void vr_cpu_embedding(vr_backend *be, float *out, const void *table, vr_dtype dt,
                      const int32_t *ids, int ntok, int dim, float scale);
void vr_cpu_rope(vr_backend *be, float *x, int ntok, int nheads, int head_dim, const int32_t *pos,
                 const vr_rope *rope);
void vr_cpu_act_mul(vr_backend *be, float *out, const float *gate_up, int ntok, int inter,
                    vr_activation act);
void vr_cpu_attention(vr_backend *be, float *out, const float *q, const void *kv, int layer,
                      const vr_attn_meta *meta, int heads, int kv_heads, int head_dim, float scale,
                      float softcap);
void vr_cpu_gather_rows(vr_backend *be, float *dst, const float *src, const int32_t *rows, int n,
                        int dim);

#endif
