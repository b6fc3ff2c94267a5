/* engine/engine_internal.h — private to the engine core (engine.c,
 * engine_step.c, request.c, runner_model.c) and its tests.
 *
 * The engine reaches the model through a small runner seam so its tests can
 * put a fake model behind the same scheduler, block pool and sampler. */
#ifndef VR_ENGINE_INTERNAL_H
#define VR_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "engine/block_pool.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "engine/request.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/stats.h"

/* What the engine needs from a model: run a flat batch, copy KV blocks. */
typedef struct vr_runner {
    void *ctx;
    int (*forward)(void *ctx, const vr_batch *b, float *out, char *err, size_t errlen);
    void (*copy_blocks)(void *ctx, const int32_t *src, const int32_t *dst, int n);
    void (*destroy)(void *ctx);
} vr_runner;

/* Growable host buffers for one flat batch. */
typedef struct vr_batch_buf {
    int32_t *tokens, *positions, *slot, *query_start, *context_len, *block_table, *rows;
    int cap_tokens, cap_seqs, cap_table, cap_rows; /* element counts */
    float *out[2];       /* per request kind: logits / hidden rows */
    size_t cap_out[2];
    /* per scheduled sequence: its first output row and how many */
    int *row_first, *row_count;
    int cap_sched;
} vr_batch_buf;

/* Live ids, for duplicate detection from submitting threads. */
typedef struct vr_id_set {
    char **keys;
    uint32_t cap, n;
    uint32_t n_tomb; /* removed slots: they still end no probe, so they count towards the load */
} vr_id_set;

struct vr_engine {
    vr_engine_options opt;
    char *model_path, *device_name, *pooling_name;
    vr_engine_info info;
    int eos[VR_ENGINE_MAX_EOS];
    int n_eos;
    int pool_mean; /* embeddings: mean pooling instead of last token */

    vr_backend *be;
    vr_model *model;
    vr_kv_cache *kv;
    struct vr_tokenizer *tok;
    vr_runner runner;

    /* engine-thread state */
    vr_block_pool pool;
    vr_scheduler sched;
    vr_sampler_scratch scratch;
    vr_batch_buf bb;
    float *row_copy;     /* [vocab] raw logits kept for forks */
    vr_request **touched; /* requests with news this step */
    int n_touched, cap_touched;
    vr_request **live;   /* admitted requests */
    int n_live, cap_live;
    uint64_t arrivals;   /* submissions (seeds requests without one) */
    uint64_t admitted;   /* admission order of sequences */
    vr_stats_acc acc;

    /* inbox, shared with submitting threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vr_request *inbox_head, *inbox_tail;
    char **aborts;
    int n_aborts, cap_aborts;
    vr_id_set ids;
    int n_queued;        /* submitted, not yet scheduled once */
    int n_unfinished;    /* submitted, not yet finished */
    int stopping;
    int sync_init;       /* mutexes initialised */
    int thread_started, thread_alive;
    pthread_t thread;

    /* stats snapshot, shared */
    pthread_mutex_t stats_mu;
    vr_engine_stats stats;
    double last_step_end;
    int has_work;
};

/* Build an engine around a runner (the real model or a test's fake).
 * info must carry vocab_size, hidden_size, max_model_len, eos ids; the
 * options give the rest. Takes ownership of runner and tok (on failure too). */
int vr_engine_create_with_runner(const vr_engine_options *o, const vr_engine_info *info,
                                 vr_runner runner, int num_blocks, struct vr_tokenizer *tok,
                                 vr_engine **out, char *err, size_t errlen);

/* engine_step.c: one step on the engine thread (inbox, schedule, forward,
 * sample, deltas). Returns tokens computed, 0 idle, -1 on a failed forward
 * (its requests are aborted with the error). */
int vr_engine_run_step(vr_engine *e, char *err, size_t errlen);
/* Finish every live and queued request with `reason` (destroy, errors). */
void vr_engine_abort_all(vr_engine *e, const char *reason, const char *error);
/* engine.c: release a finished request's id and queue counts. */
void vr_engine_forget_id(vr_engine *e, vr_request *r, int was_queued);
/* engine.c: a queued request was scheduled for the first time. */
void vr_engine_leave_queue(vr_engine *e);

/* runner_model.c: load the model folder and size the KV cache. */
int vr_engine_load_model(vr_engine *e, const vr_engine_options *o, vr_engine_info *info,
                         int *num_blocks, char *err, size_t errlen);

double vr_now(void); /* monotonic seconds */

#endif
