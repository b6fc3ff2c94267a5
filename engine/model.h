/* engine/model.h — private to engine/: a loaded model and its forward pass.
 *
 * The model layer knows nothing of requests, scheduling or sampling. It loads
 * a Hugging Face folder (config.json, generation_config.json, *.safetensors)
 * onto a backend and runs one flat batch of tokens over the paged KV cache,
 * returning logits (or final hidden states) for the rows the caller asks for.
 * The engine core (scheduler, block manager, sampler) is built on this.
 */
#ifndef VR_ENGINE_MODEL_H
#define VR_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

#define VR_MAX_EOS_IDS 8

typedef enum vr_arch {
    VR_ARCH_LLAMA = 0,   /* LlamaForCausalLM */
    VR_ARCH_MISTRAL = 1, /* MistralForCausalLM */
    VR_ARCH_QWEN2 = 2,   /* Qwen2ForCausalLM */
    VR_ARCH_QWEN3 = 3,   /* Qwen3ForCausalLM */
    VR_ARCH_GEMMA = 4,   /* GemmaForCausalLM / Gemma2 / Gemma3 text (optional) */
} vr_arch;

typedef enum vr_rope_scaling {
    VR_ROPE_NONE = 0,
    VR_ROPE_LINEAR,
    VR_ROPE_DYNAMIC,
    VR_ROPE_LLAMA3,
    VR_ROPE_YARN,
} vr_rope_scaling;

/* Everything the forward pass and the engine need from config.json and
 * generation_config.json, already validated. */
typedef struct vr_model_config {
    char architecture[64];  /* as written in config.json */
    vr_arch arch;
    vr_dtype dtype;         /* dtype of the weights as loaded */
    int vocab_size;
    int hidden_size;
    int intermediate_size;
    int num_layers;
    int num_heads;
    int num_kv_heads;
    int head_dim;
    int max_position_embeddings;
    float rms_norm_eps;
    float rope_theta;
    vr_rope_scaling rope_scaling;
    float rope_factor;      /* scaling factor (linear/dynamic/llama3/yarn) */
    float rope_low_freq_factor, rope_high_freq_factor; /* llama3 */
    int rope_original_max_pos;                         /* llama3/yarn */
    float rope_beta_fast, rope_beta_slow;               /* yarn */
    float partial_rotary_factor;                        /* 1.0 = whole head */
    int sliding_window;     /* 0 = none */
    int tie_word_embeddings;
    int attention_bias;     /* q/k/v projections have bias (Qwen2) */
    int qk_norm;            /* per-head RMSNorm on q and k before RoPE (Qwen3) */
    vr_activation hidden_act;
    float embed_scale;      /* 1, or sqrt(hidden) for Gemma */
    float norm_weight_offset; /* 0, or 1 for Gemma's (1 + w) norms */
    float attn_softcap, final_logit_softcap; /* 0 = off */
    float query_pre_attn_scalar; /* 0 = use head_dim */

    /* token ids */
    int bos_token_id;       /* -1 when absent */
    int pad_token_id;       /* -1 when absent */
    int eos_token_ids[VR_MAX_EOS_IDS]; /* union of config + generation_config */
    int num_eos_token_ids;

    /* generation_config.json defaults (has_* = 0 when absent) */
    int has_temperature, has_top_p, has_top_k, has_repetition_penalty, has_max_new_tokens;
    float gen_temperature, gen_top_p, gen_repetition_penalty;
    int gen_top_k, gen_max_new_tokens;
} vr_model_config;

typedef struct vr_model vr_model;

typedef struct vr_model_load_opts {
    vr_dtype dtype;      /* requested compute/storage dtype; only used when force_dtype */
    int force_dtype;     /* 0 = "auto": keep the file's dtype */
    vr_dtype kv_dtype;   /* KV cache storage dtype; only used when force_kv_dtype */
    int force_kv_dtype;  /* 0 = "auto": the weights' dtype as loaded (as vLLM's
                            kv_cache_dtype "auto"): a bf16 model keeps K/V in bf16 */
} vr_model_load_opts;

/* Load the model folder `dir` onto `be`. On failure returns nonzero and writes
 * one line naming the file and the problem into err. */
int vr_model_load(const char *dir, const vr_model_load_opts *opts, vr_backend *be,
                  vr_model **out, char *err, size_t errlen);
void vr_model_free(vr_model *m);
const vr_model_config *vr_model_get_config(const vr_model *m);
vr_backend *vr_model_backend(const vr_model *m);

/* Paged KV cache for this model on its backend. */
typedef struct vr_kv_cache vr_kv_cache;
size_t vr_kv_cache_bytes_per_block(const vr_model *m, int block_size);
int vr_kv_cache_create(vr_model *m, int num_blocks, int block_size, vr_kv_cache **out,
                       char *err, size_t errlen);
void vr_kv_cache_free(vr_kv_cache *kv);
/* Storage dtype of K/V (every backend stores f32, bf16 and f16). */
vr_dtype vr_kv_cache_dtype(const vr_kv_cache *kv);
int vr_kv_cache_num_blocks(const vr_kv_cache *kv);
int vr_kv_cache_block_size(const vr_kv_cache *kv);
void vr_kv_cache_copy_blocks(vr_kv_cache *kv, const int32_t *src, const int32_t *dst, int n);

typedef enum vr_output_kind {
    VR_OUTPUT_LOGITS = 0, /* [num_outputs][vocab_size] */
    VR_OUTPUT_HIDDEN = 1, /* [num_outputs][hidden_size], after the final norm */
} vr_output_kind;

/* One flat batch, in host memory. Sequence s contributes tokens
 * [query_start[s], query_start[s+1]); they are its positions
 * context_len[s] - q_len .. context_len[s] - 1, and the cache blocks of the
 * sequence are block_table[s * max_blocks_per_seq + i]. slot[t] is where
 * token t's K/V is written (block * block_size + offset). output_rows lists
 * the flat token indices whose logits / hidden states are wanted (typically
 * the last token of each sequence whose prefill is complete). */
typedef struct vr_batch {
    int num_tokens;
    const int32_t *token_ids;   /* [num_tokens] */
    const int32_t *positions;   /* [num_tokens] */
    const int32_t *slot;        /* [num_tokens] */
    int num_seqs;
    const int32_t *query_start; /* [num_seqs + 1] */
    const int32_t *context_len; /* [num_seqs] */
    const int32_t *block_table; /* [num_seqs * max_blocks_per_seq] */
    int max_blocks_per_seq;
    int num_outputs;
    const int32_t *output_rows; /* [num_outputs] */
    vr_output_kind output_kind;
} vr_batch;

/* Run the batch; writes num_outputs rows into out (host memory, f32).
 * Returns nonzero with a message when the batch is malformed (ids out of
 * range, positions beyond max_position_embeddings, slots outside the cache). */
int vr_model_forward(vr_model *m, vr_kv_cache *kv, const vr_batch *b, float *out,
                     char *err, size_t errlen);

#endif
