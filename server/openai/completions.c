/* server/openai/completions.c — POST /v1/completions, and the prompt forms
 * shared with embeddings: a string, a list of strings, a list of token ids,
 * or a list of such lists. */
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

static int ids_of(const vr_json *arr, long long vocab, const char *key, size_t at, int32_t **out, size_t *n,
                  vr_field_err *e) {
    *out = malloc((arr->u.arr.n + 1) * sizeof **out);
    if (!*out) return vr_field_fail(e, NULL, "out of memory");
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const vr_json *x = &arr->u.arr.items[i];
        if (x->type != VR_JSON_INT || x->u.i < 0 || x->u.i >= vocab) {
            if (at == (size_t)-1)
                return vr_field_fail(e, key, "%s[%zu] must be a token id in [0, %lld)", key, i, vocab);
            return vr_field_fail(e, key, "%s[%zu][%zu] must be a token id in [0, %lld)", key, at, i, vocab);
        }
        (*out)[i] = (int32_t)x->u.i;
    }
    *n = arr->u.arr.n;
    return 0;
}

int vr_parse_prompt_input(vr_server *s, const vr_json *body, const char *key, vr_prep *prep, int *has_ids,
                          vr_field_err *e) {
    const vr_json *v = vr_jget(body, key);
    long long vocab = s->info ? s->info->vocab_size : 0;
    *has_ids = 0;
    if (!v || v->type == VR_JSON_NULL) return vr_field_fail(e, key, "%s is required", key);
    const vr_json *one = v;
    size_t n = 1;
    if (v->type == VR_JSON_ARRAY) {
        if (v->u.arr.n == 0) return vr_field_fail(e, key, "%s must not be empty", key);
        n = v->u.arr.n;
        one = &v->u.arr.items[0];
    } else if (v->type != VR_JSON_STRING) {
        return vr_field_fail(e, key, "%s must be a string, a list of strings or a list of token ids, not %s", key,
                             vr_jtype_name(v->type));
    }
    if (v->type == VR_JSON_ARRAY && one->type == VR_JSON_INT) {
        /* one prompt as token ids */
        prep->ids = calloc(2, sizeof *prep->ids);
        prep->n_ids = calloc(2, sizeof *prep->n_ids);
        if (!prep->ids || !prep->n_ids) return vr_field_fail(e, NULL, "out of memory");
        prep->n_out = 1;
        *has_ids = 1;
        return ids_of(v, vocab, key, (size_t)-1, &prep->ids[0], &prep->n_ids[0], e);
    }
    if (v->type == VR_JSON_ARRAY && one->type == VR_JSON_ARRAY) {
        prep->ids = calloc(n + 1, sizeof *prep->ids);
        prep->n_ids = calloc(n + 1, sizeof *prep->n_ids);
        if (!prep->ids || !prep->n_ids) return vr_field_fail(e, NULL, "out of memory");
        prep->n_out = (int)n;
        *has_ids = 1;
        for (size_t i = 0; i < n; i++) {
            const vr_json *x = &v->u.arr.items[i];
            if (x->type != VR_JSON_ARRAY)
                return vr_field_fail(e, key, "%s[%zu] must be a list of token ids like the others", key, i);
            if (ids_of(x, vocab, key, i, &prep->ids[i], &prep->n_ids[i], e)) return -1;
        }
        return 0;
    }
    if (!s->tok) return vr_field_fail(e, key, "the model has no tokenizer: send token ids");
    prep->texts = calloc(n + 1, sizeof *prep->texts);
    prep->text_lens = calloc(n + 1, sizeof *prep->text_lens);
    if (!prep->texts || !prep->text_lens) return vr_field_fail(e, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const vr_json *x = v->type == VR_JSON_ARRAY ? &v->u.arr.items[i] : v;
        if (x->type != VR_JSON_STRING)
            return vr_field_fail(e, key, "%s[%zu] must be a string like the others, not %s", key, i,
                                 vr_jtype_name(x->type));
        prep->texts[i] = x->u.str.s;
        prep->text_lens[i] = x->u.str.len;
    }
    prep->n_texts = (int)n;
    return 0;
}

void vr_route_completions(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    vr_jdoc *doc;
    const vr_json *body = vr_open_engine_request(s, c, r, 0, &doc);
    if (!body) return;
    vr_field_err e = {0};
    vr_req_params p;
    memset(&p, 0, sizeof p);
    vr_prep *prep = NULL;
    int has_ids = 0;
    if (vr_parse_params(s, body, VR_API_COMPLETION, &p, &e)) goto bad;
    /* response_format json_object / json_schema (checked by params.c): the
     * text is constrained (server/guided) */
    const char *rf = vr_jstring(vr_jget(vr_jget(body, "response_format"), "type"));
    int json = rf && (!strcmp(rf, "json_object") || !strcmp(rf, "json_schema"));
    if (json && vr_check_constrained_params(&p, "response_format json_object / json_schema", &e)) goto bad;
    prep = vr_prep_new(s);
    if (!prep) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (vr_parse_prompt_input(s, body, "prompt", prep, &has_ids, &e)) goto bad;
    prep->add_special = p.add_special_tokens;
    const vr_json *model = vr_jget(body, "model");
    int echo = p.echo;
    vr_gen *g = vr_gen_new(s, c, VR_API_COMPLETION, &p,
                           model && model->type == VR_JSON_STRING ? model->u.str.s : s->model_names[0]);
    if (!g) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (echo) vr_gen_set_echo(g, has_ids ? prep->n_out : prep->n_texts, has_ids ? NULL : prep->texts, prep->text_lens);
    if (json) vr_gen_set_json_object(g);
    vr_gen_launch(g, prep, doc, has_ids);
    return;
bad:
    vr_send_error(c, 400, e.param, "%s", e.msg);
out:
    vr_prep_free(prep);
    vr_req_params_free(&p);
    vr_jdoc_free(doc);
}
