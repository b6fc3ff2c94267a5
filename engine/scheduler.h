/* engine/scheduler.h — private: sequences, their KV blocks, and the
 * continuous-batching scheduler.
 *
 * A sequence is the unit the scheduler runs: a request with n > 1 becomes n
 * sequences once its prompt is computed (they share the prompt's blocks).
 * Prefill and decode are the same thing here: each step a sequence gets up
 * to (n_tokens - num_computed) tokens of the token budget; when
 * num_computed reaches n_tokens after a step, the engine samples its next
 * token (or pools it, for embeddings).
 *
 * Each step: running sequences first, oldest first; when one needs a block
 * and none is free, the newest running sequence (under the priority policy:
 * the one with the worst priority) is preempted: its blocks are freed and it
 * goes back to the front of the waiting queue to be recomputed. Then, if
 * nothing was preempted, waiting sequences are admitted (FCFS, or by
 * priority), each first reusing every cached full block of its tokens.
 */
#ifndef VR_ENGINE_SCHEDULER_H
#define VR_ENGINE_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/block_pool.h"

struct vr_request;

typedef enum vr_seq_status { VR_SEQ_WAITING = 0, VR_SEQ_RUNNING = 1, VR_SEQ_FINISHED = 2 } vr_seq_status;

typedef struct vr_seq {
    struct vr_request *req; /* owner (opaque to the scheduler) */
    int seq_index;
    int32_t *tokens;        /* prompt followed by the outputs */
    int n_tokens, cap_tokens;
    int n_prompt;
    int num_computed;       /* tokens whose K/V are in the cache */
    int32_t *blocks;        /* block table */
    int n_blocks, cap_blocks;
    uint64_t *hashes;       /* chained hashes of the first n_hashes full blocks */
    int n_hashes, cap_hashes;
    int num_registered;     /* leading blocks offered to the prefix cache */
    int num_cached_tokens;  /* prefix-cache hit tokens at the first admission */
    vr_seq_status status;
    int priority;
    uint64_t arrival;       /* submit order */
    uint64_t extra_key;     /* folded into block hashes (cache_salt) */
    int allow_prefix_hits;  /* 0 for prompt logprobs (every row is needed) and embeddings */
    int allow_register;     /* 0 for embeddings (computed in another forward) */
    int max_chunk;          /* cap on tokens per step, 0 = budget only */
    int fork_n;             /* > 1: admit with room for this many sequences */
    int ever_scheduled;
    int preemptions;
} vr_seq;

/* Make a sequence holding a copy of the prompt. NULL when out of memory. */
vr_seq *vr_seq_create(const int32_t *prompt, int n_prompt);
void vr_seq_destroy(vr_seq *q); /* the caller has released its blocks */
int vr_seq_append(vr_seq *q, int32_t token); /* 0, or -1 out of memory */
/* Child of a sequence whose tokens are all computed: same tokens, same
 * blocks (one more reference each). NULL when out of memory. */
vr_seq *vr_seq_fork(vr_block_pool *pool, const vr_seq *parent, int seq_index);

typedef struct vr_sched_out {
    vr_seq **seqs;   /* scheduled this step, in order */
    int *num_new;    /* tokens each computes this step */
    int n, cap;
    int num_tokens;
    int32_t *cow_src, *cow_dst; /* block copies to do before the forward */
    int n_cow, cap_cow;
    int num_preempted;
} vr_sched_out;

typedef struct vr_scheduler {
    vr_block_pool *pool;
    int max_num_seqs;
    int max_batched_tokens;
    int priority_policy;
    vr_seq **running;
    int n_running, cap_running;
    vr_seq **waiting;
    int n_waiting, cap_waiting;
    int32_t *tmp;    /* [pool->num_blocks] scratch for hits and frees */
    uint64_t preemptions, prefix_queries, prefix_hits;
    vr_sched_out out;
} vr_scheduler;

int vr_sched_init(vr_scheduler *s, vr_block_pool *pool, int max_num_seqs, int max_batched_tokens,
                  int priority_policy, char *err, size_t errlen);
void vr_sched_free(vr_scheduler *s); /* does not destroy sequences */

/* Queue a sequence at the back of the waiting queue. 0 or -1 (memory). */
int vr_sched_add_waiting(vr_scheduler *s, vr_seq *q);
/* Put an already-computed sequence (a fork) at the end of the running list. */
int vr_sched_add_running(vr_scheduler *s, vr_seq *q);
/* Remove a sequence from whichever queue holds it and free its blocks. */
void vr_sched_remove(vr_scheduler *s, vr_seq *q);

/* Pick this step's work into s->out. Returns 0, or -1 when out of memory. */
int vr_sched_schedule(vr_scheduler *s);
/* Account for the step's forward: num_computed += num_new for each
 * scheduled sequence. */
void vr_sched_commit(vr_scheduler *s);

/* Free a sequence's blocks, tail first. */
void vr_seq_release_blocks(vr_block_pool *pool, vr_seq *q);

#endif
