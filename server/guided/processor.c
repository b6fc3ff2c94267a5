/* server/guided/processor.c — the per-request logits processor.
 *
 * One automaton per sequence, advanced by the tokens generated since the
 * last call (the engine passes the whole output each time, so chunked
 * prefill and preemption need nothing special; an output that got shorter
 * is read again from the start). It depends only on the sequence's own
 * tokens, so outputs stay independent of the batch. Runs on the engine
 * thread; calls for one request never overlap, so one mask buffer serves
 * all its sequences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"

typedef struct {
    vr_jpda a;
    int n_fed; /* output tokens already fed to a */
    int dead;  /* a token the automaton refused (not from the mask): end it */
} seq_state;

struct vr_guided_proc {
    vr_jshape *shape;
    const vr_guided_vocab *vocab;
    int n_seqs;
    seq_state *seqs;
    int eos[VR_ENGINE_MAX_EOS];
    int n_eos;
    uint8_t *allowed; /* [vocab size] */
};

vr_guided_proc *vr_guided_proc_new(vr_jshape *shape, const vr_guided_vocab *vocab, int n_seqs,
                                   const int *eos_ids, int n_eos) {
    if (!shape || !vocab || n_seqs < 1) return NULL;
    vr_guided_proc *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->shape = shape;
    p->vocab = vocab;
    p->n_seqs = n_seqs;
    p->seqs = calloc((size_t)n_seqs, sizeof *p->seqs);
    p->allowed = malloc((size_t)vr_guided_vocab_size(vocab) + 1);
    if (!p->seqs || !p->allowed) {
        p->shape = NULL; /* the caller keeps it on failure */
        vr_guided_proc_free(p);
        return NULL;
    }
    for (int i = 0; i < n_seqs; i++) vr_jpda_init(&p->seqs[i].a, shape);
    for (int i = 0; i < n_eos && p->n_eos < VR_ENGINE_MAX_EOS; i++) p->eos[p->n_eos++] = eos_ids[i];
    return p;
}

void vr_guided_proc_free(void *user) {
    vr_guided_proc *p = user;
    if (!p) return;
    vr_jshape_free(p->shape);
    free(p->seqs);
    free(p->allowed);
    free(p);
}

static void only_eos(const vr_guided_proc *p, float *logits, int vocab_size) {
    float keep[VR_ENGINE_MAX_EOS];
    for (int i = 0; i < p->n_eos; i++)
        keep[i] = p->eos[i] >= 0 && p->eos[i] < vocab_size ? logits[p->eos[i]] : -INFINITY;
    for (int v = 0; v < vocab_size; v++) logits[v] = -INFINITY;
    for (int i = 0; i < p->n_eos; i++)
        if (p->eos[i] >= 0 && p->eos[i] < vocab_size) logits[p->eos[i]] = keep[i];
}

void vr_guided_logits(void *user, const vr_logits_info *info, float *logits, int vocab_size) {
    vr_guided_proc *p = user;
    if (!p || info->seq_index < 0 || info->seq_index >= p->n_seqs) return;
    seq_state *q = &p->seqs[info->seq_index];
    if (info->n_output < q->n_fed) { /* the output went back: read it again */
        vr_jpda_init(&q->a, p->shape);
        q->n_fed = 0;
        q->dead = 0;
    }
    for (; q->n_fed < info->n_output; q->n_fed++) {
        if (q->dead) continue;
        size_t len;
        const char *b = vr_guided_vocab_token(p->vocab, info->output[q->n_fed], &len);
        if (!b || vr_jpda_feed_all(&q->a, b, len)) q->dead = 1;
    }
    if (q->dead || vr_jpda_done(&q->a)) {
        only_eos(p, logits, vocab_size);
        return;
    }
    int nv = vr_guided_vocab_size(p->vocab);
    if (vr_guided_mask(p->vocab, &q->a, p->allowed) == 0) {
        /* no token can go on (a vocabulary without single bytes): stop
         * rather than emit something outside the shape */
        only_eos(p, logits, vocab_size);
        return;
    }
    for (int v = 0; v < vocab_size; v++)
        if (v >= nv || !p->allowed[v]) logits[v] = -INFINITY;
    /* an EOS the tokenizer does not mark special has bytes, and may have
     * passed the mask: the value is not complete, so it may not end */
    for (int i = 0; i < p->n_eos; i++)
        if (p->eos[i] >= 0 && p->eos[i] < vocab_size) logits[p->eos[i]] = -INFINITY;
}
