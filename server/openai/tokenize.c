/* server/openai/tokenize.c — POST /tokenize (text or chat messages) and
 * POST /detokenize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

typedef struct tok_job {
    vr_http_conn *c;
    vr_jdoc *doc;
    int return_token_strs;
} tok_job;

static void tokenize_done(vr_prep *p) {
    tok_job *j = p->ud;
    vr_server *s = p->s;
    if (p->failed) {
        vr_send_error(j->c, p->status, p->status == 400 ? (p->ctx ? "messages" : "prompt") : NULL, "%s", p->err);
    } else {
        vr_sbuf b = {0};
        vr_jw w;
        vr_jw_init(&w, &b);
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "count");
        vr_jw_int(&w, (int64_t)p->n_ids[0]);
        vr_jw_key(&w, "max_model_len");
        vr_jw_int(&w, s->info->max_model_len);
        vr_jw_key(&w, "tokens");
        vr_jw_arr_begin(&w);
        for (size_t i = 0; i < p->n_ids[0]; i++) vr_jw_int(&w, p->ids[0][i]);
        vr_jw_arr_end(&w);
        vr_jw_key(&w, "token_strs");
        if (j->return_token_strs) {
            vr_jw_arr_begin(&w);
            for (size_t i = 0; i < p->n_ids[0]; i++) vr_jw_str(&w, vr_tokenizer_id_to_token(s->tok, p->ids[0][i]));
            vr_jw_arr_end(&w);
        } else {
            vr_jw_null(&w);
        }
        vr_jw_obj_end(&w);
        vr_send_json(j->c, 200, &b);
    }
    vr_http_conn_unref(j->c);
    vr_jdoc_free(j->doc);
    free(j);
    vr_prep_free(p);
}

void vr_route_tokenize(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    vr_jdoc *doc;
    const vr_json *body = vr_open_engine_request(s, c, r, 1, &doc);
    if (!body) return;
    vr_field_err e = {0};
    vr_prep *p = NULL;
    tok_job *j = NULL;
    int return_strs = 0;
    if (vr_get_bool(body, "return_token_strs", &return_strs, &e)) goto bad;
    const vr_json *prompt = vr_jget(body, "prompt");
    const vr_json *messages = vr_jget(body, "messages");
    if (prompt && prompt->type == VR_JSON_NULL) prompt = NULL;
    if (messages && messages->type == VR_JSON_NULL) messages = NULL;
    if (!prompt == !messages) {
        vr_field_fail(&e, prompt ? "prompt" : NULL, "give exactly one of `prompt` (text) or `messages` (chat)");
        goto bad;
    }
    p = vr_prep_new(s);
    j = calloc(1, sizeof *j);
    if (!p || !j) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (prompt) {
        if (prompt->type != VR_JSON_STRING) {
            vr_field_fail(&e, "prompt", "prompt must be a string, not %s", vr_jtype_name(prompt->type));
            goto bad;
        }
        p->add_special = 1;
        if (vr_get_bool(body, "add_special_tokens", &p->add_special, &e)) goto bad;
        p->n_texts = 1;
        p->texts = malloc(sizeof *p->texts);
        p->text_lens = malloc(sizeof *p->text_lens);
        if (!p->texts || !p->text_lens) {
            vr_send_error(c, 500, NULL, "out of memory");
            goto out;
        }
        p->texts[0] = prompt->u.str.s;
        p->text_lens[0] = prompt->u.str.len;
    } else {
        vr_sbuf ctx = {0};
        p->add_special = 0;
        if (vr_get_bool(body, "add_special_tokens", &p->add_special, &e)) goto bad;
        if (vr_chat_context(s, body, &ctx, &p->continue_final, &p->final_content, &e)) {
            vr_sb_free(&ctx);
            goto bad;
        }
        p->ctx_len = ctx.len;
        p->ctx = vr_sb_take(&ctx);
    }
    j->c = c;
    j->doc = doc;
    j->return_token_strs = return_strs;
    p->ud = j;
    p->done = tokenize_done;
    vr_http_conn_ref(c);
    vr_prep_start(p);
    return;
bad:
    vr_send_error(c, 400, e.param, "%s", e.msg);
out:
    free(j);
    vr_prep_free(p);
    vr_jdoc_free(doc);
}

void vr_route_detokenize(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    vr_jdoc *doc;
    const vr_json *body = vr_open_engine_request(s, c, r, 1, &doc);
    if (!body) return;
    int32_t *ids = NULL;
    const vr_json *toks = vr_jget(body, "tokens");
    if (!toks || toks->type != VR_JSON_ARRAY) {
        vr_send_error(c, 400, "tokens", "tokens must be an array of token ids%s", toks ? "" : " (missing)");
        goto out;
    }
    size_t n = toks->u.arr.n;
    size_t vocab = vr_tokenizer_vocab_size(s->tok);
    ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const vr_json *t = &toks->u.arr.items[i];
        if (t->type != VR_JSON_INT) {
            vr_send_error(c, 400, "tokens", "tokens[%zu] must be an integer, not %s", i, vr_jtype_name(t->type));
            goto out;
        }
        if (t->u.i < 0 || (uint64_t)t->u.i >= vocab) {
            vr_send_error(c, 400, "tokens", "tokens[%zu] = %lld is outside the vocabulary [0, %zu)", i,
                          (long long)t->u.i, vocab);
            goto out;
        }
        ids[i] = (int32_t)t->u.i;
    }
    char *text = NULL;
    size_t len = 0;
    char err[300];
    if (vr_tokenizer_decode(s->tok, ids, n, 0, &text, &len, err, sizeof err)) {
        vr_send_error(c, 400, "tokens", "cannot detokenize: %s", err);
        goto out;
    }
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "prompt");
    vr_jw_strn(&w, text, len);
    vr_jw_obj_end(&w);
    free(text);
    vr_send_json(c, 200, &b);
out:
    free(ids);
    vr_jdoc_free(doc);
}
