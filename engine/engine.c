/* engine/engine.c — engine lifetime, the inbox, submit/abort, the engine
 * thread, stats snapshots and health. One step lives in engine_step.c. */
#include "engine/engine_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/tokenizer.h"

double vr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void vr_engine_options_default(vr_engine_options *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->dtype = "auto";
    o->kv_cache_dtype = "auto";
    o->enable_prefix_caching = 1;
    o->max_logprobs = 20;
    o->generation_config = "auto";
    o->log_stats = 1;
}

void vr_sampling_params_default(vr_sampling_params *p, const vr_engine *e) {
    memset(p, 0, sizeof *p);
    p->temperature = 1.0f;
    p->top_p = 1.0f;
    p->top_k = 0;
    p->repetition_penalty = 1.0f;
    p->max_tokens = -1;
    p->logprobs = -1;
    p->prompt_logprobs = -1;
    p->n = 1;
    p->skip_special_tokens = 1;
    p->spaces_between_special_tokens = 1;
    if (!e) return;
    const vr_engine_info *i = &e->info;
    if (i->has_temperature) p->temperature = i->gen_temperature;
    if (i->has_top_p) p->top_p = i->gen_top_p;
    if (i->has_top_k) p->top_k = i->gen_top_k;
    if (i->has_repetition_penalty) p->repetition_penalty = i->gen_repetition_penalty;
}

/* ---- live ids (chained hash set, guarded by e->mu) ---- */

static uint32_t str_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int ids_find(const vr_id_set *set, const char *k) {
    if (!set->cap) return -1;
    for (uint32_t i = str_hash(k) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (!set->keys[i]) return -1;
        if (set->keys[i] != (char *)set && !strcmp(set->keys[i], k)) return (int)i;
    }
}

/* Tombstones are the set pointer itself. The table is rebuilt (tombstones
 * dropped) when live ids plus tombstones reach half of it: counting only
 * live ids let a long run of submit/finish cycles fill every slot with
 * tombstones, and a lookup of an absent id then never met an empty slot. */
static int ids_insert(vr_id_set *set, char *k) {
    if ((set->n + set->n_tomb + 1) * 2 > set->cap) {
        /* Sized by the live ids alone (at most a quarter full), so that a
         * rebuild caused by tombstones does not grow the table. */
        uint32_t cap = 64;
        while ((set->n + 1) * 4 > cap) cap *= 2;
        char **keys = calloc(cap, sizeof *keys);
        if (!keys) return -1;
        for (uint32_t i = 0; i < set->cap; i++) {
            char *s = set->keys[i];
            if (!s || s == (char *)set) continue;
            uint32_t j = str_hash(s) & (cap - 1);
            while (keys[j]) j = (j + 1) & (cap - 1);
            keys[j] = s;
        }
        free(set->keys);
        set->keys = keys;
        set->cap = cap;
        set->n_tomb = 0;
    }
    uint32_t j = str_hash(k) & (set->cap - 1);
    while (set->keys[j] && set->keys[j] != (char *)set) j = (j + 1) & (set->cap - 1);
    if (set->keys[j]) set->n_tomb--;
    set->keys[j] = k;
    set->n++;
    return 0;
}

static void ids_remove(vr_id_set *set, const char *k) {
    int i = ids_find(set, k);
    if (i < 0) return;
    set->keys[i] = (char *)set;
    set->n--;
    set->n_tomb++;
}

/* ---- creation ---- */

static void *engine_thread(void *arg);

static int engine_init(vr_engine *e, const vr_engine_options *o, int num_blocks, char *err,
                       size_t errlen) {
    vr_engine_info *in = &e->info;
    in->block_size = o->block_size > 0 ? o->block_size : 16;
    in->max_num_seqs = o->max_num_seqs > 0 ? o->max_num_seqs : 256;
    in->max_num_batched_tokens = o->max_num_batched_tokens > 0 ? o->max_num_batched_tokens : 2048;
    in->max_logprobs = o->max_logprobs >= 0 ? o->max_logprobs : 20;
    in->num_kv_blocks = num_blocks;
    in->kv_tokens = (long)num_blocks * in->block_size;
    in->has_tokenizer = e->tok != NULL;
    in->n_eos = e->n_eos;
    for (int i = 0; i < e->n_eos; i++) in->eos_ids[i] = e->eos[i];
    e->opt.max_num_queued_requests = o->max_num_queued_requests > 0 ? o->max_num_queued_requests : 4096;
    long need = (in->max_model_len + in->block_size - 1) / in->block_size;
    if (num_blocks < need) {
        snprintf(err, errlen,
                 "KV cache holds %ld tokens (%d blocks of %d) but one request of max_model_len %d "
                 "needs %ld blocks; raise --kv-cache-memory-bytes or lower --max-model-len",
                 in->kv_tokens, num_blocks, in->block_size, in->max_model_len, need);
        return VR_E_LOAD;
    }
    if (vr_block_pool_init(&e->pool, num_blocks, in->block_size, o->enable_prefix_caching, err, errlen) ||
        vr_sched_init(&e->sched, &e->pool, in->max_num_seqs, in->max_num_batched_tokens,
                      o->scheduling_policy_priority, err, errlen))
        return VR_E_NOMEM;
    if (vr_sampler_scratch_init(&e->scratch, in->vocab_size)) {
        snprintf(err, errlen, "out of memory for the sampler");
        return VR_E_NOMEM;
    }
    e->row_copy = malloc((size_t)in->vocab_size * sizeof *e->row_copy);
    if (!e->row_copy) {
        snprintf(err, errlen, "out of memory for the sampler");
        return VR_E_NOMEM;
    }
    e->acc.interval_s = 5.0;
    e->stats.num_blocks = e->stats.free_blocks = num_blocks;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_mutex_init(&e->stats_mu, NULL);
    e->sync_init = 1;
    e->last_step_end = vr_now();
    if (!o->quiet)
        fprintf(stderr, "vireo: KV cache: %ld tokens, %d blocks, max concurrency %.2fx at max_model_len %d (%s)\n",
                in->kv_tokens, num_blocks, (double)in->kv_tokens / in->max_model_len, in->max_model_len,
                in->kv_cache_dtype);
    if (!o->no_thread) {
        e->thread_alive = 1;
        if (pthread_create(&e->thread, NULL, engine_thread, e)) {
            e->thread_alive = 0;
            snprintf(err, errlen, "cannot start the engine thread");
            return VR_E_NOMEM;
        }
        e->thread_started = 1;
    }
    return 0;
}

static vr_engine *engine_alloc(const vr_engine_options *o) {
    vr_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->opt = *o;
    e->model_path = o->model_path ? strdup(o->model_path) : strdup("");
    e->opt.model_path = e->model_path;
    e->info.model_path = e->model_path;
    return e;
}

static void engine_free_parts(vr_engine *e);

int vr_engine_create_with_runner(const vr_engine_options *o, const vr_engine_info *info,
                                 vr_runner runner, int num_blocks, struct vr_tokenizer *tok,
                                 vr_engine **out, char *err, size_t errlen) {
    *out = NULL;
    vr_engine *e = engine_alloc(o);
    if (!e) {
        if (runner.destroy) runner.destroy(runner.ctx);
        if (tok) vr_tokenizer_free(tok);
        snprintf(err, errlen, "out of memory");
        return VR_E_NOMEM;
    }
    e->runner = runner;
    e->tok = tok;
    const char *mp = e->info.model_path;
    e->info = *info;
    e->info.model_path = mp;
    if (!e->info.architecture) e->info.architecture = "test";
    if (!e->info.dtype) e->info.dtype = "F32";
    if (!e->info.device) e->info.device = "test";
    e->pool_mean = o->pooling && !strcmp(o->pooling, "mean");
    e->info.pooling = e->pool_mean ? "mean" : "last";
    e->n_eos = info->n_eos < VR_ENGINE_MAX_EOS ? info->n_eos : VR_ENGINE_MAX_EOS;
    for (int i = 0; i < e->n_eos; i++) e->eos[i] = info->eos_ids[i];
    int rc = engine_init(e, o, num_blocks, err, errlen);
    if (rc) {
        vr_engine_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

int vr_engine_create(const vr_engine_options *o, vr_engine **out, char *err, size_t errlen) {
    *out = NULL;
    if (!o || !o->model_path || !*o->model_path) {
        snprintf(err, errlen, "no model path given");
        return VR_E_INVALID;
    }
    vr_engine *e = engine_alloc(o);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return VR_E_NOMEM;
    }
    int num_blocks = 0;
    int rc = vr_engine_load_model(e, o, &e->info, &num_blocks, err, errlen);
    if (!rc) rc = engine_init(e, o, num_blocks, err, errlen);
    if (rc) {
        vr_engine_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* ---- requests leaving the engine ---- */

void vr_engine_destroy(vr_engine *e) {
    if (!e) return;
    if (e->thread_started) {
        pthread_mutex_lock(&e->mu);
        e->stopping = 1;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
        e->thread_started = 0;
    }
    if (e->sync_init) vr_engine_abort_all(e, "abort", NULL);
    engine_free_parts(e);
}

static void engine_free_parts(vr_engine *e) {
    vr_sched_free(&e->sched);
    vr_block_pool_free(&e->pool);
    vr_sampler_scratch_free(&e->scratch);
    free(e->row_copy);
    vr_batch_buf *b = &e->bb;
    free(b->tokens); free(b->positions); free(b->slot); free(b->query_start);
    free(b->context_len); free(b->block_table); free(b->rows); free(b->out[0]); free(b->out[1]);
    free(b->row_first); free(b->row_count);
    free(e->live);
    free(e->touched);
    for (int i = 0; i < e->n_aborts; i++) free(e->aborts[i]);
    free(e->aborts);
    free(e->ids.keys);
    if (e->runner.destroy) e->runner.destroy(e->runner.ctx);
    if (e->tok) vr_tokenizer_free(e->tok);
    if (e->sync_init) {
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->cv);
        pthread_mutex_destroy(&e->stats_mu);
    }
    free(e->model_path);
    free(e->device_name);
    free(e->pooling_name);
    free(e);
}

const vr_engine_info *vr_engine_get_info(const vr_engine *e) { return &e->info; }
const struct vr_tokenizer *vr_engine_tokenizer(const vr_engine *e) { return e->tok; }

/* ---- submit / abort ---- */

int vr_engine_submit(vr_engine *e, const char *request_id, vr_request_kind kind,
                     const int32_t *prompt, int n_prompt, const vr_sampling_params *p, int priority,
                     vr_output_fn fn, void *user, char *err, size_t errlen) {
    if (!e || !request_id) {
        snprintf(err, errlen, "request_id: missing");
        vr_sampling_params_drop_processor(p); /* ours whatever happens */
        return VR_E_INVALID;
    }
    if (vr_request_validate(&e->info, kind, prompt, n_prompt, p, err, errlen)) {
        vr_sampling_params_drop_processor(p);
        return VR_E_INVALID;
    }
    pthread_mutex_lock(&e->mu);
    uint64_t seed = vr_rng_u64(e->opt.seed, 0x5eed, e->arrivals++);
    pthread_mutex_unlock(&e->mu);
    vr_request *r = vr_request_create(request_id, kind, prompt, n_prompt, p, priority, fn, user,
                                      &e->info, e->tok, seed);
    if (!r) {
        snprintf(err, errlen, "out of memory for the request");
        return VR_E_NOMEM;
    }
    r->t_submit = vr_now();
    pthread_mutex_lock(&e->mu);
    int rc = 0;
    if (e->stopping || (e->thread_started && !e->thread_alive)) {
        snprintf(err, errlen, "the engine is not running");
        rc = VR_E_SHUTDOWN;
    } else if (ids_find(&e->ids, r->id) >= 0) {
        snprintf(err, errlen, "request_id: '%s' is already in use", r->id);
        rc = VR_E_DUPLICATE;
    } else if (e->n_queued >= e->opt.max_num_queued_requests) {
        snprintf(err, errlen, "the waiting queue is full (%d requests, --max-num-queued-requests)",
                 e->n_queued);
        rc = VR_E_QUEUE_FULL;
    } else if (ids_insert(&e->ids, r->id)) {
        snprintf(err, errlen, "out of memory for the request");
        rc = VR_E_NOMEM;
    } else {
        r->queued = 1;
        e->n_queued++;
        e->n_unfinished++;
        if (e->inbox_tail) e->inbox_tail->next = r;
        else e->inbox_head = r;
        e->inbox_tail = r;
        pthread_cond_signal(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    if (rc) vr_request_destroy(r);
    return rc;
}

void vr_engine_abort(vr_engine *e, const char *request_id) {
    if (!e || !request_id) return;
    char *c = strdup(request_id);
    if (!c) return;
    pthread_mutex_lock(&e->mu);
    if (e->n_aborts == e->cap_aborts) {
        int cap = e->cap_aborts ? e->cap_aborts * 2 : 16;
        char **a = realloc(e->aborts, (size_t)cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&e->mu);
            free(c);
            return;
        }
        e->aborts = a;
        e->cap_aborts = cap;
    }
    e->aborts[e->n_aborts++] = c;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Called on the engine thread when a request is done and its last delta
 * has gone out (the id is released first so the id may be reused at once). */
void vr_engine_forget_id(vr_engine *e, vr_request *r, int was_queued) {
    pthread_mutex_lock(&e->mu);
    ids_remove(&e->ids, r->id);
    if (was_queued) e->n_queued--;
    e->n_unfinished--;
    pthread_mutex_unlock(&e->mu);
}

void vr_engine_leave_queue(vr_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->n_queued--;
    pthread_mutex_unlock(&e->mu);
}

int vr_engine_num_unfinished(const vr_engine *e) {
    pthread_mutex_lock((pthread_mutex_t *)&e->mu);
    int n = e->n_unfinished;
    pthread_mutex_unlock((pthread_mutex_t *)&e->mu);
    return n;
}

/* ---- the thread ---- */

static void *engine_thread(void *arg) {
    vr_engine *e = arg;
    char err[512];
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stopping && !e->inbox_head && !e->n_aborts &&
               !(e->sched.n_running + e->sched.n_waiting)) {
            if (e->opt.log_stats) {
                /* wake up now and then so an idle engine still closes its stats window */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 5;
                pthread_cond_timedwait(&e->cv, &e->mu, &ts);
                break;
            }
            pthread_cond_wait(&e->cv, &e->mu);
        }
        int stop = e->stopping;
        pthread_mutex_unlock(&e->mu);
        if (stop) break;
        if (vr_engine_run_step(e, err, sizeof err) < 0)
            fprintf(stderr, "vireo: engine step failed: %s\n", err);
    }
    pthread_mutex_lock(&e->mu);
    e->thread_alive = 0;
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int vr_engine_step(vr_engine *e, char *err, size_t errlen) {
    if (!e->opt.no_thread) {
        snprintf(err, errlen, "vr_engine_step: this engine has its own thread");
        return -1;
    }
    return vr_engine_run_step(e, err, errlen);
}

void vr_engine_get_stats(const vr_engine *e, vr_engine_stats *s) {
    pthread_mutex_lock((pthread_mutex_t *)&e->stats_mu);
    *s = e->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&e->stats_mu);
}

int vr_engine_healthy(const vr_engine *e) {
    pthread_mutex_lock((pthread_mutex_t *)&e->mu);
    int alive = e->opt.no_thread || e->thread_alive;
    pthread_mutex_unlock((pthread_mutex_t *)&e->mu);
    pthread_mutex_lock((pthread_mutex_t *)&e->stats_mu);
    int stuck = e->has_work && vr_now() - e->last_step_end > 60.0;
    pthread_mutex_unlock((pthread_mutex_t *)&e->stats_mu);
    return alive && !stuck;
}
