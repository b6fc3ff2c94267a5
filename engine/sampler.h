/* engine/sampler.h — private: turn one row of logits into one token.
 *
 * Order (vLLM's): the engine's logits processor (if any) -> the request's
 * (vr_sampling_params.logits_processor) -> allowed-token
 * mask, min_tokens mask, logit_bias -> repetition / frequency / presence
 * penalties -> greedy (temperature < 1e-5) or temperature -> min_p -> top_k
 * -> top_p -> draw.
 *
 * The draw uses a counter-based generator keyed by (seed, sequence index,
 * token index): the n-th token of a sequence sees the same random number
 * whatever else is in the batch, so seeded outputs do not depend on batch
 * composition. Ties are broken towards the lower token id everywhere.
 */
#ifndef VR_ENGINE_SAMPLER_H
#define VR_ENGINE_SAMPLER_H

#include <stdint.h>

#include "engine/engine.h"

/* Counter-based random numbers. */
uint64_t vr_rng_u64(uint64_t seed, uint64_t stream, uint64_t counter);
double vr_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter); /* [0, 1) */

/* Everything about a sequence the sampler looks at. */
typedef struct vr_sample_ctx {
    const vr_sampling_params *p;
    const int32_t *prompt;
    int n_prompt;
    const int32_t *output;
    int n_output;
    const int32_t *eos_ids; /* masked while n_output < min_tokens (unless ignore_eos) */
    int n_eos;
    uint64_t seed;          /* the request's seed (or one the engine chose) */
    int seq_index;
    /* the engine's logits processor (engine.h), run first; NULL = none */
    vr_logits_processor_fn proc;
    void *proc_user;
    const vr_engine *engine;
    const char *request_id;
} vr_sample_ctx;

/* Scratch memory for one vocabulary size; reused across calls (one per
 * engine thread). */
typedef struct vr_sampler_scratch {
    int vocab;
    float *probs;      /* [vocab] */
    int32_t *idx;      /* [vocab] */
    uint32_t *count;   /* [vocab], kept all-zero between calls */
    double *bsum;      /* [vocab / 256 + 1] block sums of the draw weights */
} vr_sampler_scratch;

int vr_sampler_scratch_init(vr_sampler_scratch *s, int vocab);
void vr_sampler_scratch_free(vr_sampler_scratch *s);

/* True when the parameters reduce to taking the argmax. */
int vr_sampler_is_greedy(const vr_sampling_params *p);

/* Steps up to and including penalties, in place on logits[vocab]. */
void vr_sampler_apply_logit_processors(const vr_sample_ctx *c, float *logits, int vocab,
                                       vr_sampler_scratch *s);
/* The distribution the draw is made from (after every step), written to
 * probs[vocab], summing to 1; for greedy parameters a one-hot vector.
 * logits are modified in place. */
void vr_sampler_distribution(const vr_sample_ctx *c, float *logits, int vocab,
                             vr_sampler_scratch *s, float *probs);
/* Sample one token (logits modified in place). */
int32_t vr_sampler_sample(const vr_sample_ctx *c, float *logits, int vocab, vr_sampler_scratch *s);

/* Raw log-softmax facts of one logits row: the logprob of `token` and the
 * top k (id, logprob) pairs, best first (ties: lower id first). */
void vr_sampler_logprobs(const float *logits, int vocab, int32_t token, int k, float *token_lp,
                         int32_t *top_ids, float *top_lps);

#endif
