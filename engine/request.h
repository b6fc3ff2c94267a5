/* engine/request.h — private: one submitted request and what it has
 * produced so far (per sequence: output text, stop state, pending delta). */
#ifndef VR_ENGINE_REQUEST_H
#define VR_ENGINE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/scheduler.h"
#include "engine/stop.h"

struct vr_detok;
struct vr_tokenizer;

typedef struct vr_seq_out {
    vr_seq *seq;            /* NULL before the fork creates it and once finished */
    int finished;
    int final_sent;         /* the finished delta went out */
    const char *finish_reason;
    int stop_str;           /* index into the stop strings, -1 */
    int32_t stop_token;     /* -1 */
    struct vr_detok *detok; /* NULL without a tokenizer */
    char *text;             /* output text so far (truncated at a stop string) */
    size_t len, cap, emitted;
    int n_output;
    /* this step's token, for the delta */
    int has_new;
    int32_t new_id;
    float new_lp;
    int32_t *top_ids;       /* [logprobs] */
    float *top_lps;
} vr_seq_out;

typedef struct vr_request {
    char *id;
    vr_request_kind kind;
    vr_sampling_params p;   /* its arrays point at the copies below */
    int32_t *stop_ids, *allowed, *bias_ids;
    float *bias_vals;
    char *cache_salt;
    vr_stop_strings stops;
    int32_t *prompt;
    int n_prompt;
    int max_tokens;         /* resolved against max_model_len */
    uint64_t seed;
    int priority;
    vr_output_fn fn;
    void *user;
    double t_submit, t_sched, t_first_token;
    int n;
    int forked;
    vr_seq_out *outs;       /* [n] */
    int n_finished;
    int cached_tokens;
    /* prompt logprobs ([n_prompt], [n_prompt][k]) */
    float *plp;
    int32_t *ptop_ids;
    float *ptop_lps;
    int plp_sent;
    /* embeddings: running sum (mean) or the last row */
    float *emb;
    int emb_dim;
    int emb_next;           /* next prompt position to pool */
    struct vr_request *next; /* inbox link */
    int queued;             /* still counted as queued */
    int touched;            /* on the engine's list of requests with news */
} vr_request;

/* Check a submission against the model's limits; message names the field. */
int vr_request_validate(const vr_engine_info *info, vr_request_kind kind, const int32_t *prompt,
                        int n_prompt, const vr_sampling_params *p, char *err, size_t errlen);

/* Frees p's per-request logits processor state (engine.h), if any. */
void vr_sampling_params_drop_processor(const vr_sampling_params *p);

/* Copy everything a validated submission needs. NULL when out of memory.
 * Owns p's logits processor state from here on, even when it fails. */
vr_request *vr_request_create(const char *id, vr_request_kind kind, const int32_t *prompt,
                              int n_prompt, const vr_sampling_params *p, int priority,
                              vr_output_fn fn, void *user, const vr_engine_info *info,
                              const struct vr_tokenizer *tok, uint64_t default_seed);
void vr_request_destroy(vr_request *r);

/* A sequence sampled `token` (its seq->tokens already hold it). Applies the
 * stop rules, extends the text, marks the output finished when it is.
 * max_model_len bounds prompt + output. */
void vr_request_on_token(vr_request *r, int seq_index, int32_t token, const int *eos, int n_eos,
                         int n_tokens_total, int max_model_len);
/* Finish a sequence for a reason decided outside (abort, error). */
void vr_request_finish_seq(vr_request *r, int seq_index, const char *reason);
/* Call the callback for one sequence if it has anything to say.
 * last_call marks the request's final callback. */
void vr_request_emit(vr_request *r, int seq_index, int last_call, const char *error, double now);
/* Embedding: the final delta carrying the pooled vector. */
void vr_request_emit_embedding(vr_request *r, const float *v, int dim, double now);

#endif
