/* server/openai/embeddings.c — POST /v1/embeddings: one engine request per
 * input (prefill only, pooled + normalized by the engine). */
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

void vr_route_embeddings(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    vr_jdoc *doc;
    const vr_json *body = vr_open_engine_request(s, c, r, 0, &doc);
    if (!body) return;
    vr_field_err e = {0};
    vr_req_params p;
    memset(&p, 0, sizeof p);
    vr_prep *prep = NULL;
    int has_ids = 0;
    if (vr_parse_params(s, body, VR_API_EMBEDDING, &p, &e)) goto bad;
    if (p.stream) {
        vr_field_fail(&e, "stream", "embeddings cannot be streamed");
        goto bad;
    }
    const char *fmt = "float";
    if (vr_get_str(body, "encoding_format", &fmt, &e)) goto bad;
    if (strcmp(fmt, "float") && strcmp(fmt, "base64")) {
        vr_field_fail(&e, "encoding_format", "encoding_format must be \"float\" or \"base64\"");
        goto bad;
    }
    long long dims = 0;
    if (vr_get_int(body, "dimensions", 1, s->info ? s->info->hidden_size : 1 << 20, &dims, &e)) goto bad;
    p.add_special_tokens = 1;
    if (vr_get_bool(body, "add_special_tokens", &p.add_special_tokens, &e)) goto bad;
    if (vr_get_int(body, "truncate_prompt_tokens", -1, 1LL << 31, &p.truncate_prompt_tokens, &e)) goto bad;
    prep = vr_prep_new(s);
    if (!prep) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (vr_parse_prompt_input(s, body, "input", prep, &has_ids, &e)) goto bad;
    prep->add_special = p.add_special_tokens;
    const vr_json *model = vr_jget(body, "model");
    vr_gen *g = vr_gen_new(s, c, VR_API_EMBEDDING, &p,
                           model && model->type == VR_JSON_STRING ? model->u.str.s : s->model_names[0]);
    if (!g) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    vr_gen_set_embedding(g, !strcmp(fmt, "base64"), dims);
    vr_gen_launch(g, prep, doc, has_ids);
    return;
bad:
    vr_send_error(c, 400, e.param, "%s", e.msg);
out:
    vr_prep_free(prep);
    vr_req_params_free(&p);
    vr_jdoc_free(doc);
}
