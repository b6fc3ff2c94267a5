/* engine/model_internal.h — private to the model layer (config.c,
 * model_load.c, model_forward.c, kv_cache.c): the model struct and the
 * helpers these files share. Nothing outside engine/ includes this.
 *
 * Adding a Llama-family architecture is a matter of flags, not code paths:
 *   1. config.c: map its "architectures" name (and model_type) to a vr_arch,
 *      set the HF defaults of its config class, and turn what differs into
 *      vr_model_config fields (biases, qk_norm, window, norm offset, ...).
 *   2. model_load.c: load_layer() names the extra tensors it needs (and
 *      their shapes) behind those flags.
 *   3. model_forward.c: layer_forward() applies them in textbook order.
 *   4. tests/reference/ref_forward.py learns the same semantics
 *      independently, tools/gen_fixture.py gets a tiny preset, and
 *      tests/engine/CMakeLists.txt an oracle test for it.
 * The forward is not reentrant: one vr_model_forward at a time per model
 * (its scratch buffers belong to the model). */
#ifndef VR_ENGINE_MODEL_INTERNAL_H
#define VR_ENGINE_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/model.h"
#include "engine/safetensors.h"

/* Facts from config.json that the forward needs but vr_model_config does not
 * carry (kept here so model.h stays the agreed interface). */
typedef struct vr_config_extra {
    float rope_attn_factor; /* yarn's cos/sin multiplier; 1 otherwise */
    int rope_mscale_set;    /* yarn: "attention_factor" given explicitly */
    float rope_mscale, rope_mscale_all_dim; /* yarn (DeepSeek style), 0 = absent */
    int rope_yarn_truncate; /* yarn: round the correction range to integers (default) */
    int o_proj_bias;        /* o_proj has a bias (Llama/Qwen3 attention_bias) */
} vr_config_extra;

/* Parse dir/config.json and (when present) dir/generation_config.json.
 * Validates every field; errors start with the file name. */
int vr_config_load(const char *dir, vr_model_config *cfg, vr_config_extra *extra, char *err,
                   size_t errlen);
/* Same from in-memory texts (gen_text may be NULL): used by tests. */
int vr_config_parse(const char *cfg_text, size_t cfg_len, const char *gen_text, size_t gen_len,
                    vr_model_config *cfg, vr_config_extra *extra, char *err, size_t errlen);

/* rotary_dim of a validated config (head_dim * partial_rotary_factor, even). */
int vr_config_rotary_dim(const vr_model_config *cfg);
/* Host inverse frequencies for RoPE, rotary_dim/2 values, with the scaling
 * variant applied the way Hugging Face's rope init functions do; also the
 * cos/sin multiplier (yarn), 1 otherwise. */
void vr_rope_inv_freq(const vr_model_config *cfg, const vr_config_extra *extra, float *inv_freq,
                      float *attn_factor);

/* A weight as the backend sees it. */
typedef struct vr_weight {
    const void *dev;  /* from upload_weight; NULL when the tensor is absent */
    vr_dtype dt;
    const void *host; /* what was handed to upload_weight (mmap or owned copy) */
    void *owned;      /* converted host copy when dtype conversion was asked for */
} vr_weight;

typedef struct vr_layer_weights {
    vr_weight attn_norm, q, k, v, o, q_bias, k_bias, v_bias, o_bias, q_norm, k_norm;
    vr_weight ffn_norm, gate, up, down;
} vr_layer_weights;

/* Per-batch device buffers, grown when a bigger batch arrives. */
typedef struct vr_scratch {
    int cap_tokens;                           /* per-token buffers */
    int cap_qs, cap_ctx, cap_table, cap_rows; /* int32 metadata buffers */
    int cap_outputs;                          /* out_rows and logits */
    float *x, *xn, *q, *k, *v, *attn, *proj; /* [tokens][...] activations */
    float *gate_up;   /* [tokens][2 * inter], what act_mul reads */
    float *gu_split;  /* [2][tokens][inter]: gate rows then up rows (prefill) */
    float *act;       /* [tokens][inter] */
    float *out_rows;  /* [outputs][hidden] */
    float *logits;    /* [outputs][vocab] */
    int32_t *ids, *pos, *slots, *interleave; /* [tokens], interleave [2 * tokens] */
    int32_t *query_start, *context_len;      /* [seqs + 1], [seqs] */
    int32_t *block_table;                    /* [table entries] */
    int32_t *rows;                           /* [outputs] */
    int32_t *host_interleave;                /* host copy of the interleave map */
} vr_scratch;

struct vr_model {
    vr_model_config cfg;
    vr_config_extra extra;
    vr_backend *be;
    vr_safetensors *st;
    vr_weight embed, final_norm, lm_head; /* lm_head aliases embed when tied */
    vr_layer_weights *layers;
    float *inv_freq; /* device [rotary_dim / 2] */
    vr_rope rope;
    vr_scratch s;
    vr_dtype kv_dtype; /* asked-for KV cache storage dtype (see vr_model_load_opts) */
};

struct vr_kv_cache {
    vr_model *m;
    void *handle; /* the backend's cache */
    vr_kv_cache_desc desc;
};

/* Release the forward's scratch buffers (model_forward.c). */
void vr_model_scratch_free(vr_model *m);

#endif
