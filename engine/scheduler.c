/* engine/scheduler.c — block tables, prefix-cache hits, budgeted scheduling,
 * preemption by recompute. */
#include "engine/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 8;
    while (c < need) c *= 2;
    void *n = realloc(*p, (size_t)c * elem);
    if (!n) return -1;
    *p = n;
    *cap = c;
    return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

vr_seq *vr_seq_create(const int32_t *prompt, int n_prompt) {
    vr_seq *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    if (GROW(q->tokens, q->cap_tokens, n_prompt + 16)) {
        free(q);
        return NULL;
    }
    memcpy(q->tokens, prompt, (size_t)n_prompt * sizeof *prompt);
    q->n_tokens = q->n_prompt = n_prompt;
    q->allow_prefix_hits = q->allow_register = 1;
    return q;
}

void vr_seq_destroy(vr_seq *q) {
    if (!q) return;
    free(q->tokens);
    free(q->blocks);
    free(q->hashes);
    free(q);
}

int vr_seq_append(vr_seq *q, int32_t token) {
    if (GROW(q->tokens, q->cap_tokens, q->n_tokens + 1)) return -1;
    q->tokens[q->n_tokens++] = token;
    return 0;
}

vr_seq *vr_seq_fork(vr_block_pool *pool, const vr_seq *parent, int seq_index) {
    vr_seq *c = vr_seq_create(parent->tokens, parent->n_tokens);
    if (!c) return NULL;
    c->n_prompt = parent->n_prompt;
    if (GROW(c->blocks, c->cap_blocks, parent->n_blocks) ||
        GROW(c->hashes, c->cap_hashes, parent->n_hashes)) {
        vr_seq_destroy(c);
        return NULL;
    }
    memcpy(c->blocks, parent->blocks, (size_t)parent->n_blocks * sizeof *c->blocks);
    c->n_blocks = parent->n_blocks;
    if (parent->n_hashes) memcpy(c->hashes, parent->hashes, (size_t)parent->n_hashes * sizeof *c->hashes);
    c->n_hashes = parent->n_hashes;
    vr_block_pool_ref(pool, c->blocks, c->n_blocks);
    c->req = parent->req;
    c->seq_index = seq_index;
    c->num_computed = parent->num_computed;
    c->num_registered = parent->num_registered;
    c->num_cached_tokens = parent->num_cached_tokens;
    c->status = VR_SEQ_RUNNING;
    c->priority = parent->priority;
    c->arrival = parent->arrival;
    c->extra_key = parent->extra_key;
    c->allow_prefix_hits = parent->allow_prefix_hits;
    c->allow_register = parent->allow_register;
    c->max_chunk = parent->max_chunk;
    c->ever_scheduled = 1;
    return c;
}

void vr_seq_release_blocks(vr_block_pool *pool, vr_seq *q) {
    /* tail first, so the tail is evicted before the shareable prefix */
    for (int i = q->n_blocks - 1; i >= 0; i--) vr_block_pool_unref(pool, &q->blocks[i], 1);
    q->n_blocks = 0;
    q->num_computed = 0;
    q->num_registered = 0;
}

int vr_sched_init(vr_scheduler *s, vr_block_pool *pool, int max_num_seqs, int max_batched_tokens,
                  int priority_policy, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->pool = pool;
    s->max_num_seqs = max_num_seqs;
    s->max_batched_tokens = max_batched_tokens;
    s->priority_policy = priority_policy;
    s->tmp = malloc((size_t)pool->num_blocks * sizeof *s->tmp);
    if (!s->tmp) {
        snprintf(err, errlen, "scheduler: out of memory");
        return -1;
    }
    return 0;
}

void vr_sched_free(vr_scheduler *s) {
    free(s->running);
    free(s->waiting);
    free(s->tmp);
    free(s->out.seqs);
    free(s->out.num_new);
    free(s->out.cow_src);
    free(s->out.cow_dst);
    memset(s, 0, sizeof *s);
}

int vr_sched_add_waiting(vr_scheduler *s, vr_seq *q) {
    if (GROW(s->waiting, s->cap_waiting, s->n_waiting + 1)) return -1;
    s->waiting[s->n_waiting++] = q;
    q->status = VR_SEQ_WAITING;
    return 0;
}

static int push_waiting_front(vr_scheduler *s, vr_seq *q) {
    if (GROW(s->waiting, s->cap_waiting, s->n_waiting + 1)) return -1;
    memmove(s->waiting + 1, s->waiting, (size_t)s->n_waiting * sizeof *s->waiting);
    s->waiting[0] = q;
    s->n_waiting++;
    q->status = VR_SEQ_WAITING;
    return 0;
}

int vr_sched_add_running(vr_scheduler *s, vr_seq *q) {
    if (GROW(s->running, s->cap_running, s->n_running + 1)) return -1;
    s->running[s->n_running++] = q;
    q->status = VR_SEQ_RUNNING;
    return 0;
}

static int remove_from(vr_seq **arr, int *n, const vr_seq *q) {
    for (int i = 0; i < *n; i++)
        if (arr[i] == q) {
            memmove(arr + i, arr + i + 1, (size_t)(*n - i - 1) * sizeof *arr);
            (*n)--;
            return 1;
        }
    return 0;
}

void vr_sched_remove(vr_scheduler *s, vr_seq *q) {
    if (!remove_from(s->running, &s->n_running, q)) remove_from(s->waiting, &s->n_waiting, q);
    vr_seq_release_blocks(s->pool, q);
    q->status = VR_SEQ_FINISHED;
}

/* Hash of full block j of q's tokens, computed once and remembered. */
static int seq_hash(vr_seq *q, int bs, int j, uint64_t *out) {
    while (q->n_hashes <= j) {
        int k = q->n_hashes;
        if (GROW(q->hashes, q->cap_hashes, k + 1)) return -1;
        uint64_t parent = k ? q->hashes[k - 1] : vr_block_hash_root(q->extra_key);
        q->hashes[k] = vr_block_hash(parent, q->tokens + (size_t)k * bs, bs, q->extra_key);
        q->n_hashes++;
    }
    *out = q->hashes[j];
    return 0;
}

static uint64_t parent_of(const vr_seq *q, int j) {
    return j ? q->hashes[j - 1] : vr_block_hash_root(q->extra_key);
}

/* Cached blocks covering q's leading full blocks (never the block holding
 * its last token, which must be recomputed to give logits). */
static int find_hits(vr_scheduler *s, vr_seq *q, int32_t *hits) {
    const vr_block_pool *pool = s->pool;
    int bs = pool->block_size;
    if (!pool->enable_caching || !q->allow_prefix_hits) return 0;
    int max_blocks = (q->n_tokens - 1) / bs;
    int n = 0;
    for (int j = 0; j < max_blocks; j++) {
        uint64_t h;
        if (seq_hash(q, bs, j, &h)) break;
        int32_t b = vr_block_pool_lookup(pool, h, parent_of(q, j), q->tokens + (size_t)j * bs);
        if (b < 0) break;
        hits[n++] = b;
    }
    s->prefix_queries += (uint64_t)q->n_tokens;
    s->prefix_hits += (uint64_t)n * bs;
    return n;
}

static int push_cow(vr_sched_out *o, int32_t src, int32_t dst) {
    if (GROW(o->cow_src, o->cap_cow, o->n_cow + 1)) return -1;
    int cap = o->cap_cow - 1; /* cow_dst grows in step with cow_src */
    (void)cap;
    int32_t *d = realloc(o->cow_dst, (size_t)o->cap_cow * sizeof *d);
    if (!d) return -1;
    o->cow_dst = d;
    o->cow_src[o->n_cow] = src;
    o->cow_dst[o->n_cow] = dst;
    o->n_cow++;
    return 0;
}

/* Give q the blocks for num_new more tokens (after reusing n_hits cached
 * blocks). Returns 1 on success, 0 when not enough blocks are free (nothing
 * changed), -1 out of memory. */
static int allocate(vr_scheduler *s, vr_seq *q, const int32_t *hits, int n_hits, int num_new) {
    vr_block_pool *pool = s->pool;
    int bs = pool->block_size;
    int computed = q->num_computed + n_hits * bs;
    int total = (computed + num_new + bs - 1) / bs;
    int have = q->n_blocks + n_hits;
    int need = total > have ? total - have : 0;
    /* a partial last block shared with a fork is copied before we write it */
    int cow = q->n_blocks > 0 && computed % bs != 0 && pool->ref[q->blocks[q->n_blocks - 1]] > 1;
    int hits_free = 0;
    for (int i = 0; i < n_hits; i++) hits_free += pool->ref[hits[i]] == 0;
    if (need + cow > pool->num_free - hits_free) return 0;
    if (GROW(q->blocks, q->cap_blocks, have + need)) return -1;
    if (cow) {
        int32_t old = q->blocks[q->n_blocks - 1], nb;
        if (vr_block_pool_alloc(pool, 1, &nb)) return 0;
        if (push_cow(&s->out, old, nb)) {
            vr_block_pool_unref(pool, &nb, 1);
            return -1;
        }
        vr_block_pool_unref(pool, &old, 1);
        q->blocks[q->n_blocks - 1] = nb;
    }
    if (n_hits) {
        vr_block_pool_ref(pool, hits, n_hits);
        memcpy(q->blocks + q->n_blocks, hits, (size_t)n_hits * sizeof *hits);
        q->n_blocks += n_hits;
        q->num_registered = q->n_blocks; /* they are registered already */
    }
    if (need) {
        vr_block_pool_alloc(pool, need, q->blocks + q->n_blocks);
        q->n_blocks += need;
    }
    q->num_computed = computed;
    /* offer the blocks this step fills to the prefix cache; their K/V are
     * written by this step's forward before any other sequence reads them */
    if (pool->enable_caching && q->allow_register) {
        int full = (computed + num_new) / bs;
        for (int j = q->num_registered; j < full; j++) {
            uint64_t h;
            if (seq_hash(q, bs, j, &h)) break;
            vr_block_pool_register(pool, q->blocks[j], h, parent_of(q, j), q->tokens + (size_t)j * bs);
            q->num_registered = j + 1;
        }
    }
    return 1;
}

static int push_out(vr_sched_out *o, vr_seq *q, int num_new) {
    if (GROW(o->seqs, o->cap, o->n + 1)) return -1;
    int cap = o->cap;
    int *nn = realloc(o->num_new, (size_t)cap * sizeof *nn);
    if (!nn) return -1;
    o->num_new = nn;
    o->seqs[o->n] = q;
    o->num_new[o->n] = num_new;
    o->n++;
    o->num_tokens += num_new;
    return 0;
}

/* later arrival / worse priority = better preemption victim */
static int worse(const vr_scheduler *s, const vr_seq *a, const vr_seq *b) {
    if (s->priority_policy && a->priority != b->priority) return a->priority > b->priority;
    return a->arrival > b->arrival || (a->arrival == b->arrival && a->seq_index > b->seq_index);
}

static void preempt(vr_scheduler *s, int idx) {
    vr_seq *q = s->running[idx];
    memmove(s->running + idx, s->running + idx + 1, (size_t)(s->n_running - idx - 1) * sizeof *s->running);
    s->n_running--;
    vr_seq_release_blocks(s->pool, q);
    q->preemptions++;
    s->preemptions++;
    s->out.num_preempted++;
    push_waiting_front(s, q); /* capacity exists: the queue held it before */
}

static int next_waiting(const vr_scheduler *s) {
    if (!s->n_waiting) return -1;
    if (!s->priority_policy) return 0;
    int best = 0;
    for (int i = 1; i < s->n_waiting; i++) {
        const vr_seq *a = s->waiting[i], *b = s->waiting[best];
        if (a->priority < b->priority || (a->priority == b->priority && a->arrival < b->arrival))
            best = i;
    }
    return best;
}

int vr_sched_schedule(vr_scheduler *s) {
    vr_sched_out *o = &s->out;
    o->n = o->num_tokens = o->n_cow = o->num_preempted = 0;
    int budget = s->max_batched_tokens;

    for (int i = 0; i < s->n_running && budget > 0;) {
        vr_seq *q = s->running[i];
        int num_new = q->n_tokens - q->num_computed;
        if (num_new > budget) num_new = budget;
        if (q->max_chunk > 0 && num_new > q->max_chunk) num_new = q->max_chunk;
        if (num_new <= 0) { i++; continue; }
        int r;
        int self_preempted = 0;
        while ((r = allocate(s, q, NULL, 0, num_new)) == 0) {
            int victim = i;
            for (int j = i + 1; j < s->n_running; j++)
                if (worse(s, s->running[j], s->running[victim])) victim = j;
            preempt(s, victim);
            if (victim == i) { self_preempted = 1; break; }
        }
        if (r < 0) return -1;
        if (self_preempted) continue; /* running[i] is now the next sequence */
        if (push_out(o, q, num_new)) return -1;
        budget -= num_new;
        i++;
    }

    if (o->num_preempted) return 0;
    while (budget > 0) {
        int w = next_waiting(s);
        if (w < 0) break;
        vr_seq *q = s->waiting[w];
        int slots = q->fork_n > 1 ? q->fork_n : 1;
        if (s->n_running + slots > s->max_num_seqs) break;
        int n_hits = q->num_computed == 0 && q->n_blocks == 0 ? find_hits(s, q, s->tmp) : 0;
        int num_new = q->n_tokens - q->num_computed - n_hits * s->pool->block_size;
        if (num_new > budget) num_new = budget;
        if (q->max_chunk > 0 && num_new > q->max_chunk) num_new = q->max_chunk;
        int r = allocate(s, q, s->tmp, n_hits, num_new);
        if (r < 0) return -1;
        if (r == 0) {
            /* not admitted: the lookup did not count */
            if (n_hits || (s->pool->enable_caching && q->allow_prefix_hits)) {
                s->prefix_queries -= (uint64_t)q->n_tokens;
                s->prefix_hits -= (uint64_t)n_hits * s->pool->block_size;
            }
            break;
        }
        if (!q->ever_scheduled) q->num_cached_tokens = n_hits * s->pool->block_size;
        q->ever_scheduled = 1;
        memmove(s->waiting + w, s->waiting + w + 1, (size_t)(s->n_waiting - w - 1) * sizeof *s->waiting);
        s->n_waiting--;
        if (vr_sched_add_running(s, q)) return -1;
        if (push_out(o, q, num_new)) return -1;
        budget -= num_new;
    }
    return 0;
}

void vr_sched_commit(vr_scheduler *s) {
    for (int i = 0; i < s->out.n; i++) s->out.seqs[i]->num_computed += s->out.num_new[i];
}
