/* kernels/backend.h — the one seam between the engine and a compute device.
 *
 * A backend is a table of function pointers plus an opaque context. The
 * engine's model forward (engine/model_forward.c) is written once against this
 * table; each device (cpu, cuda, hip, ...) fills it in.
 *
 * Conventions every backend follows:
 *  - "Device pointers": every pointer handed to an op below was obtained from
 *    this backend's alloc() or upload_weight(). On the CPU backend device
 *    memory is host memory, so these are ordinary pointers.
 *  - Activations (hidden states, q/k/v, logits) are float32, row-major.
 *    Weights keep their file dtype (bf16, f16, f32): no float32 copy of a bf16
 *    model is ever made. A backend may keep activations in another precision
 *    internally (e.g. convert to bf16 for a tensor-core GEMM) but the seam
 *    speaks f32.
 *  - Linear layers use the Hugging Face layout: W is [out_features][in_features]
 *    and y = x W^T (+ bias).
 *  - Ops are asynchronous on devices that have queues; sync() waits for all of
 *    them. download() implies a sync of the work before it.
 *  - Ops never fail on valid shapes; argument errors are programming errors
 *    and the engine validates everything that comes from outside before it
 *    reaches a kernel. Functions that can fail for resource reasons (alloc,
 *    create) return NULL / nonzero and write a message into err.
 *
 * The KV cache layout is the backend's business: the engine asks for a cache
 * of num_blocks blocks of block_size tokens per layer and passes the handle
 * back to write_kv() and attention(). Token t of a sequence lives in slot
 * block_table[t / block_size] * block_size + t % block_size.
 */
#ifndef VR_KERNELS_BACKEND_H
#define VR_KERNELS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vr_dtype {
    VR_F32 = 0,
    VR_F16 = 1,
    VR_BF16 = 2,
} vr_dtype;

/* Bytes per element of a dtype. */
size_t vr_dtype_size(vr_dtype dt);
/* "F32", "F16", "BF16". */
const char *vr_dtype_name(vr_dtype dt);

typedef enum vr_activation {
    VR_ACT_SILU = 0,      /* Llama, Mistral, Qwen */
    VR_ACT_GELU_TANH = 1, /* Gemma ("gelu_pytorch_tanh") */
    VR_ACT_GELU = 2,      /* exact erf GELU */
} vr_activation;

/* Flat-batch attention metadata. A step is one list of num_tokens tokens from
 * num_seqs sequences; sequence s owns tokens [query_start[s], query_start[s+1]).
 * Its new tokens are the last (query_start[s+1]-query_start[s]) tokens of its
 * context_len[s] cached tokens (they have already been written by write_kv).
 * The token at flat index i has absolute position positions[i] and attends
 * causally to cached positions [lo, positions[i]] where lo = 0, or
 * positions[i] - sliding_window + 1 when sliding_window > 0.
 * All arrays are device pointers (see upload()). */
typedef struct vr_attn_meta {
    int num_tokens;
    int num_seqs;
    const int32_t *query_start; /* [num_seqs + 1] */
    const int32_t *context_len; /* [num_seqs] */
    const int32_t *positions;   /* [num_tokens] */
    const int32_t *block_table; /* [num_seqs][max_blocks_per_seq] */
    int max_blocks_per_seq;
    int max_context_len;        /* max over context_len[], for kernels that tile */
    int max_query_len;          /* max over query lengths */
    int block_size;
    int sliding_window;         /* 0 = full attention */
} vr_attn_meta;

/* RoPE description. The rotation is the Hugging Face "rotate_half" form on the
 * non-interleaved layout: dims [0, rot/2) pair with [rot/2, rot). inv_freq is
 * a device array of rot/2 floats already adjusted for the scaling variant
 * (llama3, linear, dynamic, yarn); attn_factor multiplies cos/sin (yarn's
 * mscale, 1.0 otherwise). */
typedef struct vr_rope {
    int rotary_dim;           /* <= head_dim */
    const float *inv_freq;    /* [rotary_dim / 2] device array */
    float attn_factor;
} vr_rope;

typedef struct vr_kv_cache_desc {
    int num_layers;
    int num_blocks;
    int block_size;
    int num_kv_heads;
    int head_dim;
    /* Storage dtype of K/V. VR_F32 (0, what an initializer that omits the
     * field gives) keeps them exactly as computed; VR_BF16 / VR_F16 halve the
     * cache's memory and the bandwidth attention needs (like vLLM's
     * kv_cache_dtype "auto", pick the model's dtype). A backend that cannot
     * store a dtype falls back to F32; kv_bytes_per_block always tells the
     * truth. Attention still takes and returns f32. */
    vr_dtype dtype;
} vr_kv_cache_desc;

typedef struct vr_backend vr_backend;

/* One weight of matmul_multi: y[M][N] = x[M][K] * w[N][K]^T + bias[N]. */
#define VR_MATMUL_MULTI_MAX 4
typedef struct vr_matmul_part {
    float *y;
    const void *w;
    vr_dtype wdt;
    const void *bias; /* may be NULL; dtype of w */
    int N;
} vr_matmul_part;

typedef struct vr_backend_ops {
    const char *name; /* "cpu", "cuda", "hip" */

    void (*destroy)(vr_backend *be);

    /* ---- memory ---- */
    void *(*alloc)(vr_backend *be, size_t bytes);          /* NULL on failure */
    void (*free)(vr_backend *be, void *dev);
    void (*upload)(vr_backend *be, void *dev_dst, const void *host_src, size_t bytes);
    void (*download)(vr_backend *be, void *host_dst, const void *dev_src, size_t bytes);
    void (*sync)(vr_backend *be);
    /* Make a weight tensor available on the device. host points at
     * little-endian file data (an mmap). The CPU backend on a little-endian
     * host returns host itself (zero copy); on big-endian it returns a
     * byte-swapped copy; GPUs copy to device memory. Free with free_weight. */
    void *(*upload_weight)(vr_backend *be, const void *host, size_t nelem, vr_dtype dt);
    void (*free_weight)(vr_backend *be, void *dev, const void *host);
    /* Bytes of device memory free for the KV cache (CPU: a share of RAM). */
    size_t (*memory_available)(vr_backend *be);

    /* ---- KV cache ---- */
    /* Allocate the paged K/V cache for all layers. Returns an opaque handle. */
    void *(*kv_create)(vr_backend *be, const vr_kv_cache_desc *desc, char *err, size_t errlen);
    void (*kv_destroy)(vr_backend *be, void *kv);
    size_t (*kv_bytes_per_block)(vr_backend *be, const vr_kv_cache_desc *desc); /* all layers */
    /* Copy whole blocks (used when a forked sequence must own a partial
     * block). src/dst are block ids; n pairs. Host arrays. */
    void (*kv_copy_blocks)(vr_backend *be, void *kv, const int32_t *src, const int32_t *dst, int n);

    /* ---- ops (all pointers are device pointers) ---- */
    /* y[M][N] = x[M][K] * W[N][K]^T + bias[N] (bias may be NULL, dtype of W). */
    void (*matmul)(vr_backend *be, float *y, const float *x, const void *w, vr_dtype wdt,
                   const void *bias, int M, int N, int K);
    /* out[r] = x[r] / rms(x[r]) * (weight_offset + w), per row of dim, in f32.
     * Gemma uses weight_offset 1. out may alias x. */
    void (*rmsnorm)(vr_backend *be, float *out, const float *x, const void *w, vr_dtype wdt,
                    int rows, int dim, float eps, float weight_offset);
    /* x[i] += y[i] */
    void (*add)(vr_backend *be, float *x, const float *y, size_t n);
    /* out[t][d] = table[ids[t]][d] * scale */
    void (*embedding)(vr_backend *be, float *out, const void *table, vr_dtype dt,
                      const int32_t *ids, int ntok, int dim, float scale);
    /* In place on x[ntok][nheads][head_dim] at positions pos[ntok]. */
    void (*rope)(vr_backend *be, float *x, int ntok, int nheads, int head_dim,
                 const int32_t *pos, const vr_rope *rope);
    /* out[t][i] = act(gate_up[t][i]) * gate_up[t][inter + i]; gate_up is the
     * concatenated [ntok][2*inter] output of the fused gate/up projection. */
    void (*act_mul)(vr_backend *be, float *out, const float *gate_up, int ntok, int inter,
                    vr_activation act);
    /* Write this step's k/v rows [ntok][kv_heads][head_dim] into layer's cache
     * at slots[ntok] (slot = block * block_size + offset; -1 = skip). */
    void (*write_kv)(vr_backend *be, void *kv, int layer, const float *k, const float *v,
                     const int32_t *slots, int ntok);
    /* out[t][heads][head_dim] = softmax(q k^T * scale [+ softcap]) v over the
     * paged cache of `layer`, causal per meta. GQA: head h uses kv head
     * h / (heads / kv_heads). softcap 0 = off. */
    void (*attention)(vr_backend *be, float *out, const float *q, const void *kv, int layer,
                      const vr_attn_meta *meta, int heads, int kv_heads, int head_dim,
                      float scale, float softcap);
    /* dst[i][:] = src[rows[i]][:] for n rows of dim floats (gathers the rows
     * whose logits/hidden states are wanted). rows is a device array. */
    void (*gather_rows)(vr_backend *be, float *dst, const float *src, const int32_t *rows,
                        int n, int dim);
    /* Optional (NULL: the caller runs matmul once per part). The matmuls of
     * several weights that read the same x[M][K] (q/k/v, gate/up) in one
     * call, each part as matmul would compute it, so that a backend can run
     * them as one parallel region (one fork/join instead of one per weight)
     * and convert x once. At most VR_MATMUL_MULTI_MAX parts. */
    void (*matmul_multi)(vr_backend *be, const vr_matmul_part *parts, int nparts,
                         const float *x, int M, int K);
} vr_backend_ops;

/* Every backend struct begins with this header so the engine can reach its
 * ops and common facts. */
struct vr_backend {
    const vr_backend_ops *ops;
    int num_threads; /* CPU worker threads (informational on GPUs) */
};

typedef struct vr_backend_options {
    const char *device; /* "auto", "cpu", "cuda", "hip" */
    int num_threads;    /* 0 = one per core */
    int device_index;   /* GPU ordinal */
} vr_backend_options;

/* Create the backend named by opts->device. "auto" picks a working GPU when
 * the build has one and the machine has one, else the CPU. Returns NULL and
 * writes err when the named device cannot be used (never aborts). */
vr_backend *vr_backend_create(const vr_backend_options *opts, char *err, size_t errlen);
void vr_backend_destroy(vr_backend *be);

/* Individual constructors (NULL + err when unavailable in this build or on
 * this machine). */
vr_backend *vr_backend_cpu_create(int num_threads, char *err, size_t errlen);
vr_backend *vr_backend_cuda_create(int device_index, char *err, size_t errlen);
vr_backend *vr_backend_hip_create(int device_index, char *err, size_t errlen);

/* bf16/f16 <-> f32 conversions shared by all host code (round to nearest even). */
float vr_bf16_to_f32(uint16_t h);
uint16_t vr_f32_to_bf16(float f);
float vr_f16_to_f32(uint16_t h);
uint16_t vr_f32_to_f16(float f);

#ifdef __cplusplus
}
#endif
#endif
