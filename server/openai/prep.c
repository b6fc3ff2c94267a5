/* server/openai/prep.c — render the chat template and tokenize, on libuv's
 * work pool when the input is large so one long prompt never stalls the
 * event loop (the tokenizer and compiled templates are thread-safe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

/* Below this much input the work is cheaper than the thread hop. */
#define VR_PREP_INLINE_BYTES 8192

vr_prep *vr_prep_new(vr_server *s) {
    vr_prep *p = calloc(1, sizeof *p);
    if (p) p->s = s;
    return p;
}

void vr_prep_free(vr_prep *p) {
    if (!p) return;
    free(p->ctx);
    free(p->final_content);
    free(p->texts);
    free(p->text_lens);
    for (int i = 0; i < p->n_out; i++) free(p->ids ? p->ids[i] : NULL);
    free(p->ids);
    free(p->n_ids);
    free(p->rendered);
    free(p);
}

static void fail(vr_prep *p, int status, const char *msg) {
    p->failed = 1;
    p->status = status;
    snprintf(p->err, sizeof p->err, "%.590s", msg);
}

/* continue_final_message: cut the rendered prompt right after the final
 * message's text, so generation continues it instead of starting a turn. */
static void cut_after_final(vr_prep *p) {
    if (!p->final_content || !*p->final_content) return;
    size_t fl = strlen(p->final_content);
    char *last = NULL;
    for (char *q = p->rendered; (q = strstr(q, p->final_content)) != NULL; q++) last = q;
    if (last) {
        p->rendered_len = (size_t)(last - p->rendered) + fl;
        p->rendered[p->rendered_len] = 0;
    }
}

static void work(uv_work_t *w) {
    vr_prep *p = w->data;
    const vr_tokenizer *tok = p->s->tok;
    char err[512];
    if (p->ctx) {
        if (!p->s->tmpl) {
            fail(p, 400, p->s->tmpl_error);
            return;
        }
        if (vr_template_render(p->s->tmpl, p->ctx, p->ctx_len, NULL, &p->rendered, &p->rendered_len, err, sizeof err)) {
            char m[600];
            snprintf(m, sizeof m, "chat template error: %s", err);
            fail(p, 400, m);
            return;
        }
        if (p->continue_final) cut_after_final(p);
    }
    p->n_out = p->ctx ? 1 : p->n_texts;
    p->ids = calloc((size_t)p->n_out + 1, sizeof *p->ids);
    p->n_ids = calloc((size_t)p->n_out + 1, sizeof *p->n_ids);
    if (!p->ids || !p->n_ids) {
        p->n_out = 0;
        fail(p, 500, "out of memory");
        return;
    }
    for (int i = 0; i < p->n_out; i++) {
        const char *t = p->ctx ? p->rendered : p->texts[i];
        size_t len = p->ctx ? p->rendered_len : p->text_lens[i];
        if (vr_tokenizer_encode(tok, t, len, p->add_special, &p->ids[i], &p->n_ids[i], err, sizeof err)) {
            char m[600];
            snprintf(m, sizeof m, "cannot tokenize the prompt: %s", err);
            fail(p, 400, m);
            return;
        }
    }
}

static void after(uv_work_t *w, int status) {
    vr_prep *p = w->data;
    if (status != 0 && !p->failed) fail(p, 500, "preparation was cancelled");
    p->done(p);
}

void vr_prep_start(vr_prep *p) {
    size_t bytes = p->ctx_len;
    for (int i = 0; i < p->n_texts; i++) bytes += p->text_lens[i];
    p->work.data = p;
    if (bytes < VR_PREP_INLINE_BYTES || uv_queue_work(&p->s->loop, &p->work, work, after) != 0) {
        work(&p->work);
        after(&p->work, 0);
    }
}
