/* engine/engine.h — the one public header of the engine library.
 *
 * An engine owns one loaded model, its tokenizer, a paged KV cache and a
 * thread that runs the continuous-batching loop:
 *
 *   submit() -> inbox -> scheduler picks this step's tokens -> KV blocks
 *   (prefix-cache hits reused) -> flat batch -> model forward -> sampler ->
 *   stop checks -> output callback per request.
 *
 * Threading
 *   vr_engine_submit / vr_engine_abort / vr_engine_get_stats /
 *   vr_engine_healthy / vr_engine_get_info may be called from any thread.
 *   The output callback runs on the engine thread: it must copy what it keeps
 *   and return quickly (typically: append to a queue, uv_async_send()).
 *   After the delta with request_finished = 1 the callback is never called
 *   again for that request, so `user` may be released then.
 *
 * Errors
 *   Functions that can fail return a nonzero VR_E_* code (or NULL) and write
 *   a one-line message into err[0..errlen).
 */
#ifndef VR_ENGINE_H
#define VR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vr_tokenizer;

/* Error codes (what an HTTP front end maps them to). */
enum {
    VR_E_OK = 0,
    VR_E_INVALID = 1,    /* bad request parameters -> 400 */
    VR_E_QUEUE_FULL = 2, /* waiting queue at --max-num-queued-requests -> 429 */
    VR_E_DUPLICATE = 3,  /* a live request already has this id -> 400 */
    VR_E_SHUTDOWN = 4,   /* engine stopped or its thread died -> 503 */
    VR_E_NOMEM = 5,      /* out of host memory -> 500 */
    VR_E_LOAD = 6,       /* model / tokenizer / KV cache could not be set up */
};

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

typedef struct vr_engine vr_engine;

/* Logits processor: an optional hook that sees (and may change) every row of
 * logits the engine samples from, one call per sequence per generated token,
 * on the engine thread, before anything of the sampler's own order (allowed
 * tokens, min_tokens and logit_bias masks, penalties, temperature, ...), like
 * a vLLM logits processor. Returned logprobs stay those of the raw model.
 *
 * What it may rely on: `logits` is this sequence's own copy (each of n > 1
 * sequences gets its own call); what it is given depends only on the request
 * and the sequence's tokens so far, never on the rest of the batch, chunked
 * prefill or preemption, so a deterministic processor keeps outputs
 * deterministic. It must be quick, must not block, and may only read the
 * engine (vr_engine_get_info, vr_engine_tokenizer). Setting every logit to
 * -INFINITY except one forces that token. NULL (the default) costs nothing.
 * The tests' vireo_scripted (tests/scripted/) is one user. */
typedef struct vr_logits_info {
    const vr_engine *engine;
    const char *request_id;
    int seq_index;           /* in [0, n) */
    const int32_t *prompt;   /* the request's prompt ids */
    int n_prompt;
    const int32_t *output;   /* what this sequence generated so far */
    int n_output;            /* = index of the token about to be sampled */
} vr_logits_info;

typedef void (*vr_logits_processor_fn)(void *user, const vr_logits_info *info, float *logits,
                                       int vocab_size);

typedef struct vr_engine_options {
    const char *model_path;         /* Hugging Face model folder (required) */
    const char *tokenizer_path;     /* NULL = model_path; the engine runs on ids
                                       only (empty text) when no tokenizer.json */
    const char *device;             /* "auto" (default), "cpu", "cuda", "hip" */
    const char *dtype;              /* "auto" (default), "bfloat16", "float16", "float32" */
    const char *kv_cache_dtype;     /* K/V storage: "auto" (default: the weights' dtype,
                                       as vLLM), "bfloat16", "float16", "float32" */
    int num_threads;                /* CPU threads, 0 = one per core */
    int max_model_len;              /* 0 = max_position_embeddings of the model */
    int max_num_seqs;               /* running sequences cap, 0 = 256 */
    int max_num_batched_tokens;     /* token budget per step, 0 = 2048 */
    int block_size;                 /* tokens per KV block, 0 = 16 */
    size_t kv_cache_memory_bytes;   /* 0 = the backend's share of free memory, at most
                                       what max_num_seqs full-length requests need */
    int enable_prefix_caching;      /* default 1 */
    int max_num_queued_requests;    /* waiting requests cap, 0 = 4096 */
    int max_logprobs;               /* cap on logprobs / prompt_logprobs, default 20 */
    uint64_t seed;                  /* base seed of requests that bring none */
    const char *generation_config;  /* "auto" (default: the model folder's),
                                       "vllm" (ignore it), or a folder */
    int scheduling_policy_priority; /* 0 = FCFS, 1 = by priority (lower first) */
    int log_stats;                  /* stats line on stderr every 5 s while busy */
    int quiet;                      /* no startup log lines */
    const char *pooling;            /* embeddings: NULL/"auto", "last", "mean" */
    int no_thread;                  /* no engine thread: the caller drives
                                       vr_engine_step() (tests, benchmarks) */
    vr_logits_processor_fn logits_processor; /* NULL = none (see above) */
    void *logits_processor_user;
} vr_engine_options;

void vr_engine_options_default(vr_engine_options *o);

/* Loads model + tokenizer, sizes the KV cache (fails clearly when one
 * max_model_len request cannot fit), starts the engine thread. */
int vr_engine_create(const vr_engine_options *o, vr_engine **out, char *err, size_t errlen);
/* Aborts every request (their callbacks get a final "abort" delta), joins the
 * thread, frees everything. NULL is fine. */
void vr_engine_destroy(vr_engine *e);

#define VR_ENGINE_MAX_EOS 8

typedef struct vr_engine_info {
    const char *model_path;
    const char *architecture; /* as in config.json */
    const char *dtype;        /* "F32", "BF16", "F16" */
    const char *kv_cache_dtype; /* K/V storage dtype, same names */
    const char *device;       /* backend name */
    const char *pooling;      /* "last" or "mean" */
    int vocab_size;
    int hidden_size;
    int max_model_len;
    int max_num_seqs;
    int max_num_batched_tokens;
    int max_logprobs;
    int block_size;
    int num_kv_blocks;
    long kv_tokens;            /* num_kv_blocks * block_size */
    int bos_id;                /* -1 when none */
    int eos_ids[VR_ENGINE_MAX_EOS];
    int n_eos;
    int has_tokenizer;
    /* generation_config.json defaults (has_* = 0 when absent or ignored) */
    int has_temperature, has_top_p, has_top_k, has_repetition_penalty, has_max_new_tokens;
    float gen_temperature, gen_top_p, gen_repetition_penalty;
    int gen_top_k, gen_max_new_tokens;
} vr_engine_info;

const vr_engine_info *vr_engine_get_info(const vr_engine *e);
/* NULL when the model folder has no tokenizer. */
const struct vr_tokenizer *vr_engine_tokenizer(const vr_engine *e);

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

typedef enum vr_request_kind {
    VR_REQ_GENERATE = 0,
    VR_REQ_EMBED = 1, /* prefill only; one delta with the pooled, L2-normalized
                         hidden state */
} vr_request_kind;

typedef struct vr_sampling_params {
    float temperature;        /* < 1e-5 = greedy */
    float top_p;              /* (0, 1] */
    int top_k;                /* 0 or -1 = off */
    float min_p;              /* [0, 1] */
    float presence_penalty;   /* [-2, 2] */
    float frequency_penalty;  /* [-2, 2] */
    float repetition_penalty; /* > 0, 1 = off */
    int has_seed;
    uint64_t seed;
    int max_tokens;           /* -1 = up to max_model_len */
    int min_tokens;           /* EOS / stop tokens / stop strings ignored before */
    int ignore_eos;
    int logprobs;             /* -1 = off; k >= 0: sampled token's logprob + top k */
    int prompt_logprobs;      /* -1 = off; k >= 0 likewise for prompt tokens */
    int n;                    /* sequences per request, >= 1 */
    int skip_special_tokens;  /* default 1 */
    int spaces_between_special_tokens; /* default 1 (accepted; detokenizer decides) */
    int include_stop_str_in_output;
    const char *const *stop;  /* stop strings (copied) */
    int n_stop;
    const int32_t *stop_token_ids;
    int n_stop_token_ids;
    const int32_t *allowed_token_ids; /* NULL = all */
    int n_allowed_token_ids;
    const int32_t *logit_bias_ids;    /* added to the logits, clamped to [-100, 100] */
    const float *logit_bias_vals;
    int n_logit_bias;
    const char *cache_salt;   /* prefix cache isolation key, NULL = none */
    /* Per-request logits processor: the same contract as the engine's
     * (vr_logits_info above), run right after it, for each sequence of this
     * request only (guided decoding). The user state is per request: the
     * processor keys any per-sequence state by seq_index and advances it by
     * the output tokens new since its last call (n_output may also go back:
     * then it starts over). vr_engine_submit takes ownership of
     * logits_processor_user whatever it returns: logits_processor_free (if
     * set) is called on it exactly once, when the request ends for any
     * reason or is refused. */
    vr_logits_processor_fn logits_processor; /* NULL = none */
    void *logits_processor_user;
    void (*logits_processor_free)(void *user);
} vr_sampling_params;

/* vLLM defaults, overridden by the model's generation_config.json values
 * (temperature, top_p, top_k, repetition_penalty) unless the engine was
 * created with generation_config "vllm". e may be NULL (vLLM defaults). */
void vr_sampling_params_default(vr_sampling_params *p, const vr_engine *e);

/* What one callback tells about one sequence (seq_index in [0, n)). Pointers
 * are valid only during the callback. */
typedef struct vr_output_delta {
    const char *request_id;
    int seq_index;

    const int32_t *new_ids;   /* tokens sampled since the last delta */
    int n_new;
    const char *text;         /* new text, safe against stop strings and
                                 never ending inside a UTF-8 character */
    size_t text_len;

    /* logprobs (when requested): per new token its raw logprob, and n_top
     * (id, logprob) pairs, [n_new][n_top], best first. */
    const float *logprobs;
    const int32_t *top_ids;
    const float *top_logprobs;
    int n_top;

    /* prompt logprobs (when requested), once, in the first delta of
     * seq_index 0: [n_prompt] logprob of each prompt token given the ones
     * before (entry 0 is NaN: nothing predicts it), and n_prompt_top pairs
     * per token ([n_prompt][n_prompt_top], entry 0's pairs unused). */
    const float *prompt_logprobs;
    const int32_t *prompt_top_ids;
    const float *prompt_top_logprobs;
    int n_prompt;
    int n_prompt_top;

    /* pooled embedding (VR_REQ_EMBED), in the one and final delta */
    const float *embedding;
    int embedding_dim;

    int finished;              /* this sequence is done */
    int request_finished;      /* every sequence of the request is done: last call */
    const char *finish_reason; /* "stop", "length", "abort" when finished, else NULL */
    const char *stop_str;      /* matched stop string, or NULL */
    int32_t stop_token;        /* matched stop_token_ids entry, or -1 (EOS: -1) */
    const char *error;         /* non-NULL when aborted by an internal error */

    /* usage */
    int prompt_tokens;
    int completion_tokens;     /* of this sequence so far */
    int cached_tokens;         /* prompt tokens served from the prefix cache */

    /* timings, seconds (valid when finished) */
    double queue_time_s;       /* submit -> first scheduled */
    double first_token_time_s; /* submit -> first token */
    double e2e_time_s;         /* submit -> finish */
} vr_output_delta;

typedef void (*vr_output_fn)(void *user, const vr_output_delta *d);

/* Queue a request. prompt / params are copied. Returns VR_E_OK, or
 * VR_E_INVALID (message names the parameter and the numbers, e.g. prompt +
 * max_tokens beyond max_model_len), VR_E_DUPLICATE, VR_E_QUEUE_FULL,
 * VR_E_SHUTDOWN, VR_E_NOMEM. priority: lower runs first under the priority
 * policy, ignored under FCFS. */
int vr_engine_submit(vr_engine *e, const char *request_id, vr_request_kind kind,
                     const int32_t *prompt, int n_prompt, const vr_sampling_params *p, int priority,
                     vr_output_fn fn, void *user, char *err, size_t errlen);

/* Thread-safe; unknown or finished ids are ignored. The callback still gets a
 * final delta per unfinished sequence with finish_reason "abort", and the
 * request's KV blocks return to the pool at the next step. */
void vr_engine_abort(vr_engine *e, const char *request_id);

/* no_thread engines only: run one step (or just deliver pending aborts).
 * Returns the number of tokens computed (0 when idle), or -1 with err set
 * when the step failed. */
int vr_engine_step(vr_engine *e, char *err, size_t errlen);
/* Requests not yet finished (queued, waiting or running). */
int vr_engine_num_unfinished(const vr_engine *e);

/* ------------------------------------------------------------------------ */
/* Stats (for logs and /metrics)                                             */

#define VR_ITER_TOKEN_BUCKETS 13 /* le: 1 8 16 32 64 128 256 512 1024 2048 4096 8192 16384 */

typedef struct vr_engine_stats {
    int running;                  /* sequences running */
    int waiting;                  /* sequences waiting (queued or preempted) */
    double kv_usage;              /* fraction of KV blocks in use, 0..1 */
    int num_blocks, free_blocks;  /* free = not referenced (cached ones included) */
    uint64_t prompt_tokens_total;     /* prompt tokens of admitted requests */
    uint64_t computed_prompt_tokens_total; /* prompt tokens actually run through the model */
    uint64_t generation_tokens_total;
    uint64_t preemptions_total;
    uint64_t prefix_cache_queries;    /* tokens looked up */
    uint64_t prefix_cache_hits;       /* tokens found */
    uint64_t requests_finished_stop, requests_finished_length, requests_finished_abort;
    uint64_t steps_total;
    double step_time_total_s;         /* wall time inside steps */
    double schedule_time_total_s;     /* of which: scheduling + batch building */
    double forward_time_total_s;      /* of which: model forward */
    double sample_time_total_s;       /* of which: sampling + stop checks + callbacks */
    double last_step_time_s;
    uint64_t iteration_tokens_buckets[VR_ITER_TOKEN_BUCKETS]; /* cumulative (le) */
    uint64_t iteration_tokens_count, iteration_tokens_sum;
} vr_engine_stats;

void vr_engine_get_stats(const vr_engine *e, vr_engine_stats *s);

/* 1 when the engine thread is alive and has stepped within the last 60 s
 * whenever it had work; 0 otherwise (an HTTP front end answers 503). */
int vr_engine_healthy(const vr_engine *e);

#ifdef __cplusplus
}
#endif

#endif
