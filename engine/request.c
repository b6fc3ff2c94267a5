/* engine/request.c — validating and copying a submission, stop rules, text
 * hold-back and output deltas of one request. */
#include "engine/request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#define MAX_N 256
#define MAX_STOP_STRINGS 64
#define MAX_STOP_LEN 1024
#define MAX_ID_LIST 65536

static int ids_in_vocab(const int32_t *ids, int n, int vocab, const char *what, char *err,
                        size_t errlen) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) {
            snprintf(err, errlen, "%s: token id %d at index %d is outside the vocabulary [0, %d)",
                     what, (int)ids[i], i, vocab);
            return -1;
        }
    return 0;
}

int vr_request_validate(const vr_engine_info *info, vr_request_kind kind, const int32_t *prompt,
                        int n_prompt, const vr_sampling_params *p, char *err, size_t errlen) {
    int V = info->vocab_size, L = info->max_model_len;
    if (kind != VR_REQ_GENERATE && kind != VR_REQ_EMBED) {
        snprintf(err, errlen, "unknown request kind %d", (int)kind);
        return -1;
    }
    if (!prompt || n_prompt <= 0) {
        snprintf(err, errlen, "prompt: must contain at least one token");
        return -1;
    }
    if (ids_in_vocab(prompt, n_prompt, V, "prompt", err, errlen)) return -1;
    if (kind == VR_REQ_EMBED) {
        if (n_prompt > L) {
            snprintf(err, errlen,
                     "This model's maximum context length is %d tokens. However, you requested "
                     "%d tokens in the input for embedding generation. Please reduce the length "
                     "of the input.", L, n_prompt);
            return -1;
        }
        if (p && p->n > 1) {
            snprintf(err, errlen, "n: embeddings take n = 1");
            return -1;
        }
        return 0;
    }
    if (!p) {
        snprintf(err, errlen, "sampling parameters missing");
        return -1;
    }
    if (n_prompt >= L) {
        snprintf(err, errlen,
                 "This model's maximum context length is %d tokens. However, your request has %d "
                 "input tokens, which leaves no room for output. Please reduce the length of the "
                 "input.", L, n_prompt);
        return -1;
    }
#define BAD(field, ...) do { snprintf(err, errlen, field ": " __VA_ARGS__); return -1; } while (0)
    if (!isfinite(p->temperature) || p->temperature < 0) BAD("temperature", "must be >= 0, got %g", p->temperature);
    if (!(p->top_p > 0 && p->top_p <= 1)) BAD("top_p", "must be in (0, 1], got %g", p->top_p);
    if (p->top_k < -1) BAD("top_k", "must be -1 (off), 0 (off) or at least 1, got %d", p->top_k);
    if (!(p->min_p >= 0 && p->min_p <= 1)) BAD("min_p", "must be in [0, 1], got %g", p->min_p);
    if (!(p->presence_penalty >= -2 && p->presence_penalty <= 2))
        BAD("presence_penalty", "must be in [-2, 2], got %g", p->presence_penalty);
    if (!(p->frequency_penalty >= -2 && p->frequency_penalty <= 2))
        BAD("frequency_penalty", "must be in [-2, 2], got %g", p->frequency_penalty);
    if (!(p->repetition_penalty > 0 && p->repetition_penalty <= 100))
        BAD("repetition_penalty", "must be in (0, 100], got %g", p->repetition_penalty);
    if (p->max_tokens == 0 || p->max_tokens < -1) BAD("max_tokens", "must be at least 1, got %d", p->max_tokens);
    if (p->max_tokens > 0 && (long)n_prompt + p->max_tokens > L) {
        snprintf(err, errlen,
                 "This model's maximum context length is %d tokens. However, you requested %ld "
                 "tokens (%d in the messages, %d in the completion). Please reduce the length of "
                 "the messages or completion.", L, (long)n_prompt + p->max_tokens, n_prompt, p->max_tokens);
        return -1;
    }
    if (p->min_tokens < 0) BAD("min_tokens", "must be >= 0, got %d", p->min_tokens);
    if (p->max_tokens > 0 && p->min_tokens > p->max_tokens)
        BAD("min_tokens", "must be <= max_tokens (%d), got %d", p->max_tokens, p->min_tokens);
    if (p->logprobs < -1 || p->logprobs > info->max_logprobs)
        BAD("logprobs", "must be at most %d (--max-logprobs), got %d", info->max_logprobs, p->logprobs);
    if (p->prompt_logprobs < -1 || p->prompt_logprobs > info->max_logprobs)
        BAD("prompt_logprobs", "must be at most %d (--max-logprobs), got %d", info->max_logprobs, p->prompt_logprobs);
    if (p->n < 1 || p->n > MAX_N) BAD("n", "must be in [1, %d], got %d", MAX_N, p->n);
    if (p->n > info->max_num_seqs)
        BAD("n", "%d is more than --max-num-seqs (%d)", p->n, info->max_num_seqs);
    if (p->n_stop < 0 || p->n_stop > MAX_STOP_STRINGS || (p->n_stop && !p->stop))
        BAD("stop", "at most %d stop strings", MAX_STOP_STRINGS);
    for (int i = 0; i < p->n_stop; i++) {
        if (!p->stop[i]) BAD("stop", "entry %d is null", i);
        if (strlen(p->stop[i]) > MAX_STOP_LEN) BAD("stop", "entry %d is longer than %d bytes", i, MAX_STOP_LEN);
    }
    if (p->n_stop && !info->has_tokenizer) BAD("stop", "stop strings need a tokenizer; this model has none");
    if (p->n_stop_token_ids < 0 || p->n_stop_token_ids > MAX_ID_LIST || (p->n_stop_token_ids && !p->stop_token_ids))
        BAD("stop_token_ids", "bad list");
    if (ids_in_vocab(p->stop_token_ids, p->n_stop_token_ids, V, "stop_token_ids", err, errlen)) return -1;
    if (p->n_allowed_token_ids < 0 || p->n_allowed_token_ids > MAX_ID_LIST ||
        (p->n_allowed_token_ids && !p->allowed_token_ids))
        BAD("allowed_token_ids", "bad list");
    if (ids_in_vocab(p->allowed_token_ids, p->n_allowed_token_ids, V, "allowed_token_ids", err, errlen)) return -1;
    if (p->n_logit_bias < 0 || p->n_logit_bias > MAX_ID_LIST ||
        (p->n_logit_bias && (!p->logit_bias_ids || !p->logit_bias_vals)))
        BAD("logit_bias", "bad list");
    if (ids_in_vocab(p->logit_bias_ids, p->n_logit_bias, V, "logit_bias", err, errlen)) return -1;
    for (int i = 0; i < p->n_logit_bias; i++)
        if (!isfinite(p->logit_bias_vals[i])) BAD("logit_bias", "value for token %d is not a number", (int)p->logit_bias_ids[i]);
#undef BAD
    return 0;
}

static void *dup_mem(const void *src, size_t n) {
    if (!n) return NULL;
    void *d = malloc(n);
    if (d) memcpy(d, src, n);
    return d;
}

static char *dup_str(const char *s) { return s ? dup_mem(s, strlen(s) + 1) : NULL; }

void vr_sampling_params_drop_processor(const vr_sampling_params *p) {
    if (p && p->logits_processor_free && p->logits_processor_user)
        p->logits_processor_free(p->logits_processor_user);
}

vr_request *vr_request_create(const char *id, vr_request_kind kind, const int32_t *prompt,
                              int n_prompt, const vr_sampling_params *p, int priority,
                              vr_output_fn fn, void *user, const vr_engine_info *info,
                              const struct vr_tokenizer *tok, uint64_t default_seed) {
    vr_request *r = calloc(1, sizeof *r);
    if (!r) {
        vr_sampling_params_drop_processor(p);
        return NULL;
    }
    r->id = dup_str(id ? id : "");
    r->kind = kind;
    if (p) r->p = *p;
    else vr_sampling_params_default(&r->p, NULL);
    if (kind == VR_REQ_EMBED) {
        vr_sampling_params_drop_processor(&r->p); /* embeddings sample nothing */
        vr_sampling_params_default(&r->p, NULL);
        r->p.n = 1;
    }
    r->prompt = dup_mem(prompt, (size_t)n_prompt * sizeof *prompt);
    r->n_prompt = n_prompt;
    r->priority = priority;
    r->fn = fn;
    r->user = user;
    r->n = r->p.n;
    r->seed = r->p.has_seed ? r->p.seed : default_seed;
    r->max_tokens = r->p.max_tokens > 0 ? r->p.max_tokens : info->max_model_len - n_prompt;
    if (r->p.top_k < 0) r->p.top_k = 0;
    /* own copies of every list */
    r->stop_ids = dup_mem(r->p.stop_token_ids, (size_t)r->p.n_stop_token_ids * sizeof(int32_t));
    r->allowed = dup_mem(r->p.allowed_token_ids, (size_t)r->p.n_allowed_token_ids * sizeof(int32_t));
    r->bias_ids = dup_mem(r->p.logit_bias_ids, (size_t)r->p.n_logit_bias * sizeof(int32_t));
    r->bias_vals = dup_mem(r->p.logit_bias_vals, (size_t)r->p.n_logit_bias * sizeof(float));
    r->cache_salt = dup_str(r->p.cache_salt);
    int bad = !r->id || !r->prompt || (r->p.n_stop_token_ids && !r->stop_ids) ||
              (r->p.n_allowed_token_ids && !r->allowed) ||
              (r->p.n_logit_bias && (!r->bias_ids || !r->bias_vals)) || (r->p.cache_salt && !r->cache_salt);
    for (int i = 0; !bad && i < r->p.n_logit_bias; i++)
        r->bias_vals[i] = r->bias_vals[i] < -100 ? -100 : r->bias_vals[i] > 100 ? 100 : r->bias_vals[i];
    r->p.stop_token_ids = r->stop_ids;
    r->p.allowed_token_ids = r->allowed;
    r->p.logit_bias_ids = r->bias_ids;
    r->p.logit_bias_vals = r->bias_vals;
    r->p.cache_salt = r->cache_salt;
    if (!bad && vr_stop_init(&r->stops, r->p.stop, r->p.n_stop)) bad = 1;
    r->p.stop = NULL; /* the caller's array is not ours; r->stops holds copies */
    r->outs = calloc((size_t)r->n, sizeof *r->outs);
    if (!r->outs) bad = 1;
    int k = r->p.logprobs > 0 ? r->p.logprobs : 0;
    for (int i = 0; !bad && i < r->n; i++) {
        vr_seq_out *o = &r->outs[i];
        o->stop_str = -1;
        o->stop_token = -1;
        if (tok && kind == VR_REQ_GENERATE) {
            o->detok = vr_detok_create(tok, r->p.skip_special_tokens);
            if (!o->detok) bad = 1;
        }
        if (k) {
            o->top_ids = malloc((size_t)k * sizeof *o->top_ids);
            o->top_lps = malloc((size_t)k * sizeof *o->top_lps);
            if (!o->top_ids || !o->top_lps) bad = 1;
        }
    }
    if (!bad && kind == VR_REQ_GENERATE && r->p.prompt_logprobs >= 0) {
        int pk = r->p.prompt_logprobs;
        r->plp = malloc((size_t)n_prompt * sizeof *r->plp);
        r->ptop_ids = calloc((size_t)n_prompt * (pk ? pk : 1), sizeof *r->ptop_ids);
        r->ptop_lps = calloc((size_t)n_prompt * (pk ? pk : 1), sizeof *r->ptop_lps);
        if (!r->plp || !r->ptop_ids || !r->ptop_lps) bad = 1;
        else
            for (int i = 0; i < n_prompt; i++) r->plp[i] = NAN;
    }
    if (!bad && kind == VR_REQ_EMBED) {
        r->emb_dim = info->hidden_size;
        r->emb = calloc((size_t)info->hidden_size, sizeof *r->emb);
        if (!r->emb) bad = 1;
    }
    if (bad) {
        vr_request_destroy(r);
        return NULL;
    }
    return r;
}

void vr_request_destroy(vr_request *r) {
    if (!r) return;
    vr_sampling_params_drop_processor(&r->p);
    for (int i = 0; r->outs && i < r->n; i++) {
        vr_seq_out *o = &r->outs[i];
        if (o->detok) vr_detok_free(o->detok);
        free(o->text);
        free(o->top_ids);
        free(o->top_lps);
    }
    free(r->outs);
    vr_stop_free(&r->stops);
    free(r->id);
    free(r->prompt);
    free(r->stop_ids);
    free(r->allowed);
    free(r->bias_ids);
    free(r->bias_vals);
    free(r->cache_salt);
    free(r->plp);
    free(r->ptop_ids);
    free(r->ptop_lps);
    free(r->emb);
    free(r);
}

static void append_text(vr_seq_out *o, const char *s, size_t n) {
    if (!n) return;
    if (o->len + n + 1 > o->cap) {
        size_t c = o->cap ? o->cap : 64;
        while (c < o->len + n + 1) c *= 2;
        char *t = realloc(o->text, c);
        if (!t) return; /* text is best effort under memory pressure; ids stay exact */
        o->text = t;
        o->cap = c;
    }
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = 0;
}

static void push_detok(vr_seq_out *o, int32_t token) {
    if (!o->detok) return;
    const char *t;
    size_t n;
    if (vr_detok_push(o->detok, token, &t, &n) == 0) append_text(o, t, n);
}

/* Look for a stop string ending in text appended after old_len. */
static int check_stop_strings(vr_request *r, vr_seq_out *o, size_t old_len) {
    if (!r->stops.n) return 0;
    size_t pos;
    int w = vr_stop_find(&r->stops, o->text ? o->text : "", o->len, old_len, &pos);
    if (w < 0) return 0;
    o->len = r->p.include_stop_str_in_output ? pos + r->stops.len[w] : pos;
    if (o->text) o->text[o->len] = 0;
    if (o->emitted > o->len) o->emitted = o->len;
    o->stop_str = w;
    o->finished = 1;
    o->finish_reason = "stop";
    return 1;
}

void vr_request_on_token(vr_request *r, int seq_index, int32_t token, const int *eos, int n_eos,
                         int n_tokens_total, int max_model_len) {
    vr_seq_out *o = &r->outs[seq_index];
    const vr_sampling_params *p = &r->p;
    o->n_output++;
    o->has_new = 1;
    o->new_id = token;
    int can_stop = o->n_output >= p->min_tokens;
    int is_eos = 0, is_stop_id = 0;
    if (can_stop && !p->ignore_eos)
        for (int i = 0; i < n_eos; i++) is_eos |= eos[i] == token;
    if (can_stop && !is_eos)
        for (int i = 0; i < p->n_stop_token_ids; i++) is_stop_id |= p->stop_token_ids[i] == token;
    size_t old_len = o->len;
    if (is_eos) {
        o->finished = 1;
        o->finish_reason = "stop";
    } else if (is_stop_id) {
        o->finished = 1;
        o->finish_reason = "stop";
        o->stop_token = token;
        if (p->include_stop_str_in_output) push_detok(o, token);
    } else {
        push_detok(o, token);
        if (can_stop) check_stop_strings(r, o, old_len);
    }
    if (!o->finished && (o->n_output >= r->max_tokens || n_tokens_total >= max_model_len)) {
        o->finished = 1;
        o->finish_reason = "length";
    }
    if (o->finished && o->stop_str < 0 && o->detok) {
        /* what the detokenizer still holds belongs to the output */
        const char *t;
        size_t n;
        size_t before = o->len;
        if (vr_detok_flush(o->detok, &t, &n) == 0) append_text(o, t, n);
        if (can_stop && !is_eos && !is_stop_id) check_stop_strings(r, o, before);
    }
}

void vr_request_finish_seq(vr_request *r, int seq_index, const char *reason) {
    vr_seq_out *o = &r->outs[seq_index];
    if (o->finished) return;
    o->finished = 1;
    o->finish_reason = reason;
}

static void fill_common(vr_request *r, int seq_index, vr_output_delta *d, double now) {
    vr_seq_out *o = &r->outs[seq_index];
    d->request_id = r->id;
    d->seq_index = seq_index;
    d->stop_token = o->stop_token;
    d->prompt_tokens = r->n_prompt;
    d->completion_tokens = o->n_output;
    d->cached_tokens = r->cached_tokens;
    d->queue_time_s = r->t_sched > 0 ? r->t_sched - r->t_submit : now - r->t_submit;
    d->first_token_time_s = r->t_first_token > 0 ? r->t_first_token - r->t_submit : 0;
    d->e2e_time_s = now - r->t_submit;
}

void vr_request_emit(vr_request *r, int seq_index, int last_call, const char *error, double now) {
    vr_seq_out *o = &r->outs[seq_index];
    vr_output_delta d;
    memset(&d, 0, sizeof d);
    size_t upto = o->len;
    if (!o->finished && r->stops.n) upto = o->len - vr_stop_holdback(&r->stops, o->text ? o->text : "", o->len);
    if (upto < o->emitted) upto = o->emitted;
    int send_final = o->finished && !o->final_sent;
    int send_plp = seq_index == 0 && r->plp && !r->plp_sent && (o->has_new || send_final);
    if (!o->has_new && upto == o->emitted && !send_final && !last_call) return;
    fill_common(r, seq_index, &d, now);
    if (o->has_new) {
        d.new_ids = &o->new_id;
        d.n_new = 1;
        if (r->p.logprobs >= 0) {
            d.logprobs = &o->new_lp;
            d.n_top = r->p.logprobs;
            d.top_ids = o->top_ids;
            d.top_logprobs = o->top_lps;
        }
    }
    d.text = o->text ? o->text + o->emitted : "";
    d.text_len = upto - o->emitted;
    o->emitted = upto;
    if (send_plp) {
        d.prompt_logprobs = r->plp;
        d.prompt_top_ids = r->ptop_ids;
        d.prompt_top_logprobs = r->ptop_lps;
        d.n_prompt = r->n_prompt;
        d.n_prompt_top = r->p.prompt_logprobs;
        r->plp_sent = 1;
    }
    if (o->finished) {
        d.finished = 1;
        d.finish_reason = o->finish_reason;
        d.stop_str = o->stop_str >= 0 ? r->stops.s[o->stop_str] : NULL;
        o->final_sent = 1;
    }
    d.request_finished = last_call;
    d.error = error;
    o->has_new = 0;
    if (r->fn) r->fn(r->user, &d);
}

void vr_request_emit_embedding(vr_request *r, const float *v, int dim, double now) {
    vr_output_delta d;
    memset(&d, 0, sizeof d);
    fill_common(r, 0, &d, now);
    d.embedding = v;
    d.embedding_dim = dim;
    d.finished = 1;
    d.request_finished = 1;
    d.finish_reason = "stop";
    d.stop_token = -1;
    r->outs[0].final_sent = 1;
    if (r->fn) r->fn(r->user, &d);
}
