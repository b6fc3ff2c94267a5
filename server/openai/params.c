/* server/openai/params.c — request fields -> vr_sampling_params and the
 * per-request options, with vLLM's names, defaults and ranges. Unknown fields
 * are ignored; known fields we cannot honour are a 400 naming them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"
#include "server/openai/openai.h"

/* Fields of the OpenAI / vLLM APIs that change what a client gets back and
 * that we do not implement: silently ignoring them would return wrong results. */
static const char *const unsupported[] = {
    "guided_json", "guided_regex", "guided_choice", "guided_grammar", "guided_decoding_backend",
    "guided_whitespace_pattern", "structured_outputs", "prompt_logprobs", "logits_processors",
    "prompt_embeds", "bad_words", "allowed_token_ids", "audio", "modalities", "prediction",
    "web_search_options", "vllm_xargs", "kv_transfer_params",
};

/* response_format json_schema: {"json_schema": {"name": ..., "schema":
 * {...}, "strict": ...}}; the schema must stay inside the subset that
 * server/guided enforces, else a 400 naming the keyword and its path. */
static int check_json_schema(const vr_json *rf, vr_field_err *e) {
    const vr_json *js = vr_jget(rf, "json_schema");
    if (!js || js->type != VR_JSON_OBJECT)
        return vr_field_fail(e, "response_format", "response_format json_schema needs a `json_schema` object");
    const vr_json *name = vr_jget(js, "name"), *strict = vr_jget(js, "strict");
    if (name && name->type != VR_JSON_STRING && name->type != VR_JSON_NULL)
        return vr_field_fail(e, "response_format", "response_format.json_schema.name must be a string");
    if (strict && strict->type != VR_JSON_BOOL && strict->type != VR_JSON_NULL)
        return vr_field_fail(e, "response_format", "response_format.json_schema.strict must be a boolean");
    const vr_json *schema = vr_jget(js, "schema");
    if (!schema || schema->type == VR_JSON_NULL)
        return vr_field_fail(e, "response_format", "response_format.json_schema.schema is required");
    char why[512];
    if (vr_jschema_check(schema, "response_format.json_schema.schema", 0, why, sizeof why))
        return vr_field_fail(e, "response_format", "%s", why);
    return 0;
}

static int check_unsupported(const vr_json *body, vr_api api, vr_field_err *e) {
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        const vr_json *v = vr_jget(body, unsupported[i]);
        if (v && v->type != VR_JSON_NULL)
            return vr_field_fail(e, unsupported[i], "%s is not supported by this server", unsupported[i]);
    }
    const vr_json *rf = vr_jget(body, "response_format");
    if (rf && rf->type != VR_JSON_NULL) {
        const vr_json *t = vr_jget(rf, "type");
        if (rf->type != VR_JSON_OBJECT || !t || t->type != VR_JSON_STRING)
            return vr_field_fail(e, "response_format", "response_format must be an object with a string `type`");
        /* json_object / json_schema: constrained by server/guided (gen.c) */
        int gen = api == VR_API_CHAT || api == VR_API_COMPLETION;
        int json_object = gen && !strcmp(t->u.str.s, "json_object");
        int json_schema = gen && !strcmp(t->u.str.s, "json_schema");
        if (strcmp(t->u.str.s, "text") && !json_object && !json_schema)
            return vr_field_fail(e, "response_format", "response_format of type '%.40s' is not supported (only 'text'%s)",
                                 t->u.str.s, gen ? ", 'json_object' and 'json_schema'" : "");
        if (json_schema && check_json_schema(rf, e)) return -1;
    }
    /* Fields whose value changes nothing here are still type-checked: a
     * wrong type is a 400 naming the field, as for every other field. */
    int beam = 0, parallel = 1;
    const char *user = NULL;
    if (vr_get_bool(body, "use_beam_search", &beam, e)) return -1;
    if (beam) return vr_field_fail(e, "use_beam_search", "use_beam_search is not supported");
    if (vr_get_str(body, "user", &user, e)) return -1;
    if (api == VR_API_CHAT && vr_get_bool(body, "parallel_tool_calls", &parallel, e)) return -1;
    if (api == VR_API_COMPLETION) {
        const vr_json *suffix = vr_jget(body, "suffix");
        if (suffix && suffix->type != VR_JSON_NULL)
            return vr_field_fail(e, "suffix", "suffix is not supported");
    }
    return 0;
}

/* "stop": a string or a list of strings. */
static int parse_stop(const vr_json *body, vr_req_params *p, vr_field_err *e) {
    const vr_json *st = vr_jget(body, "stop");
    if (!st || st->type == VR_JSON_NULL) return 0;
    if (st->type == VR_JSON_STRING) {
        if (st->u.str.len == 0) return 0;
        p->stop[0] = st->u.str.s;
        p->sp.n_stop = 1;
        return 0;
    }
    if (st->type != VR_JSON_ARRAY)
        return vr_field_fail(e, "stop", "stop must be a string or an array of strings, not %s",
                             vr_jtype_name(st->type));
    if (st->u.arr.n > VR_MAX_STOP) return vr_field_fail(e, "stop", "at most %d stop strings", VR_MAX_STOP);
    for (size_t i = 0; i < st->u.arr.n; i++) {
        const vr_json *x = &st->u.arr.items[i];
        if (x->type != VR_JSON_STRING)
            return vr_field_fail(e, "stop", "stop[%zu] must be a string, not %s", i, vr_jtype_name(x->type));
        if (x->u.str.len) p->stop[p->sp.n_stop++] = x->u.str.s;
    }
    return 0;
}

static int parse_ids(const vr_json *v, const char *name, long long vocab, int32_t **out, int *n, vr_field_err *e) {
    if (!v || v->type == VR_JSON_NULL) return 0;
    if (v->type != VR_JSON_ARRAY)
        return vr_field_fail(e, name, "%s must be an array of token ids, not %s", name, vr_jtype_name(v->type));
    *out = malloc((v->u.arr.n + 1) * sizeof(int32_t));
    if (!*out) return vr_field_fail(e, NULL, "out of memory");
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const vr_json *x = &v->u.arr.items[i];
        if (x->type != VR_JSON_INT || x->u.i < 0 || x->u.i >= vocab)
            return vr_field_fail(e, name, "%s[%zu] must be a token id in [0, %lld)", name, i, vocab);
        (*out)[i] = (int32_t)x->u.i;
    }
    *n = (int)v->u.arr.n;
    return 0;
}

static int parse_logit_bias(const vr_json *body, long long vocab, vr_req_params *p, vr_field_err *e) {
    const vr_json *lb = vr_jget(body, "logit_bias");
    if (!lb || lb->type == VR_JSON_NULL) return 0;
    if (lb->type != VR_JSON_OBJECT)
        return vr_field_fail(e, "logit_bias", "logit_bias must be an object {token_id: bias}, not %s",
                             vr_jtype_name(lb->type));
    size_t n = lb->u.obj.n;
    p->bias_ids = malloc((n + 1) * sizeof(int32_t));
    p->bias_vals = malloc((n + 1) * sizeof(float));
    if (!p->bias_ids || !p->bias_vals) return vr_field_fail(e, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const vr_json_member *m = &lb->u.obj.m[i];
        char *end;
        long long id = strtoll(m->key, &end, 10);
        if (!m->key[0] || *end || id < 0 || id >= vocab)
            return vr_field_fail(e, "logit_bias", "logit_bias key '%.40s' is not a token id in [0, %lld)", m->key, vocab);
        if (!vr_jis_number(m->value))
            return vr_field_fail(e, "logit_bias", "logit_bias['%.40s'] must be a number", m->key);
        double v = vr_jnum(m->value);
        if (v < -100 || v > 100)
            return vr_field_fail(e, "logit_bias", "logit_bias['%.40s'] must be between -100 and 100, got %g", m->key, v);
        p->bias_ids[i] = (int32_t)id;
        p->bias_vals[i] = (float)v;
    }
    p->sp.n_logit_bias = (int)n;
    return 0;
}

int vr_parse_params(vr_server *s, const vr_json *body, vr_api api, vr_req_params *p, vr_field_err *e) {
    memset(p, 0, sizeof *p);
    vr_sampling_params_default(&p->sp, s->engine);
    p->sp.stop = p->stop;
    p->logprobs_k = -1;
    p->truncate_prompt_tokens = -1;
    p->add_special_tokens = api != VR_API_CHAT;
    if (check_unsupported(body, api, e)) return -1;
    const vr_engine_info *info = s->info;
    long long vocab = info ? info->vocab_size : 0;
    long long max_lp = info ? info->max_logprobs : 20;
    double d;
    long long ll;

    if (vr_get_bool(body, "stream", &p->stream, e)) return -1;
    const vr_json *so = vr_jget(body, "stream_options");
    if (so && so->type != VR_JSON_NULL) {
        if (so->type != VR_JSON_OBJECT) return vr_field_fail(e, "stream_options", "stream_options must be an object");
        if (!p->stream)
            return vr_field_fail(e, "stream_options", "stream_options can only be given when stream is true");
        if (vr_get_bool(so, "include_usage", &p->include_usage, e)) {
            e->param = "stream_options";
            return -1;
        }
    }
    if (api == VR_API_EMBEDDING) return 0;

    d = p->sp.temperature;
    if (vr_get_num(body, "temperature", 0, 1e6, &d, e)) return -1;
    p->sp.temperature = (float)d;
    d = p->sp.top_p;
    if (vr_get_num(body, "top_p", 1e-9, 1, &d, e)) return -1;
    p->sp.top_p = (float)d;
    ll = p->sp.top_k;
    if (vr_get_int(body, "top_k", -1, 1LL << 30, &ll, e)) return -1;
    p->sp.top_k = (int)ll;
    d = p->sp.min_p;
    if (vr_get_num(body, "min_p", 0, 1, &d, e)) return -1;
    p->sp.min_p = (float)d;
    d = p->sp.presence_penalty;
    if (vr_get_num(body, "presence_penalty", -2, 2, &d, e)) return -1;
    p->sp.presence_penalty = (float)d;
    d = p->sp.frequency_penalty;
    if (vr_get_num(body, "frequency_penalty", -2, 2, &d, e)) return -1;
    p->sp.frequency_penalty = (float)d;
    d = p->sp.repetition_penalty;
    if (vr_get_num(body, "repetition_penalty", 1e-6, 1e6, &d, e)) return -1;
    p->sp.repetition_penalty = (float)d;
    const vr_json *seed = vr_jget(body, "seed");
    if (seed && seed->type != VR_JSON_NULL) {
        if (seed->type != VR_JSON_INT) return vr_field_fail(e, "seed", "seed must be an integer");
        p->sp.has_seed = 1;
        p->sp.seed = (uint64_t)seed->u.i;
    }

    /* max tokens: max_completion_tokens wins; completions default to 16, chat
     * to the model's generation_config or else the rest of the context. */
    long long mt = -1;
    if (api == VR_API_CHAT) {
        if (vr_get_int(body, "max_tokens", 1, 1LL << 31, &mt, e)) return -1;
        if (vr_get_int(body, "max_completion_tokens", 1, 1LL << 31, &mt, e)) return -1;
        p->max_tokens_given = mt > 0;
        if (mt < 0 && info && info->has_max_new_tokens) mt = info->gen_max_new_tokens;
    } else {
        mt = 16;
        if (vr_get_int(body, "max_tokens", 1, 1LL << 31, &mt, e)) return -1;
    }
    p->sp.max_tokens = mt > 0x7fffffff ? 0x7fffffff : (int)mt;
    ll = 0;
    if (vr_get_int(body, "min_tokens", 0, 1LL << 31, &ll, e)) return -1;
    if (mt > 0 && ll > mt)
        return vr_field_fail(e, "min_tokens", "min_tokens (%lld) must not exceed max_tokens (%lld)", ll, mt);
    p->sp.min_tokens = (int)ll;
    ll = 1;
    if (vr_get_int(body, "n", 1, 128, &ll, e)) return -1;
    p->sp.n = (int)ll;
    ll = p->sp.n;
    if (vr_get_int(body, "best_of", 1, 1 << 30, &ll, e)) return -1;
    if (ll != p->sp.n) return vr_field_fail(e, "best_of", "best_of other than n is not supported");

    if (vr_get_bool(body, "ignore_eos", &p->sp.ignore_eos, e)) return -1;
    if (vr_get_bool(body, "skip_special_tokens", &p->sp.skip_special_tokens, e)) return -1;
    if (vr_get_bool(body, "spaces_between_special_tokens", &p->sp.spaces_between_special_tokens, e)) return -1;
    if (vr_get_bool(body, "include_stop_str_in_output", &p->sp.include_stop_str_in_output, e)) return -1;
    if (vr_get_bool(body, "echo", &p->echo, e)) return -1;
    if (vr_get_bool(body, "return_token_ids", &p->return_token_ids, e)) return -1;
    if (vr_get_bool(body, "add_special_tokens", &p->add_special_tokens, e)) return -1;
    ll = 0;
    if (vr_get_int(body, "priority", -(1LL << 31), 1LL << 31, &ll, e)) return -1;
    p->priority = (int)ll;
    if (vr_get_str(body, "request_id", &p->request_id, e)) return -1;
    if (vr_get_str(body, "cache_salt", &p->sp.cache_salt, e)) return -1; /* prefix-cache isolation */
    if (vr_get_int(body, "truncate_prompt_tokens", -1, 1LL << 31, &p->truncate_prompt_tokens, e)) return -1;
    if (p->truncate_prompt_tokens == 0)
        return vr_field_fail(e, "truncate_prompt_tokens", "truncate_prompt_tokens must be positive or -1");

    if (parse_stop(body, p, e)) return -1;
    if (parse_ids(vr_jget(body, "stop_token_ids"), "stop_token_ids", vocab, &p->stop_ids, &p->sp.n_stop_token_ids, e))
        return -1;
    p->sp.stop_token_ids = p->stop_ids;
    if (parse_logit_bias(body, vocab, p, e)) return -1;
    p->sp.logit_bias_ids = p->bias_ids;
    p->sp.logit_bias_vals = p->bias_vals;

    if (api == VR_API_CHAT) {
        if (vr_get_bool(body, "logprobs", &p->logprobs_chat, e)) return -1;
        ll = -1;
        if (vr_get_int(body, "top_logprobs", 0, max_lp, &ll, e)) return -1;
        if (ll >= 0 && !p->logprobs_chat)
            return vr_field_fail(e, "top_logprobs", "top_logprobs needs logprobs set to true");
        p->top_logprobs = ll < 0 ? 0 : (int)ll;
        p->sp.logprobs = p->logprobs_chat ? p->top_logprobs : -1;
    } else {
        const vr_json *lp = vr_jget(body, "logprobs");
        if (lp && lp->type == VR_JSON_BOOL) /* some clients send a bool; true means 0 alternatives */
            p->logprobs_k = lp->u.b ? 0 : -1;
        else if (vr_get_int(body, "logprobs", 0, max_lp, &ll, e)) return -1;
        else if (lp && lp->type != VR_JSON_NULL) p->logprobs_k = (int)ll;
        p->sp.logprobs = p->logprobs_k;
        if (p->echo && p->logprobs_k >= 0) p->sp.prompt_logprobs = p->logprobs_k;
    }
    return 0;
}

void vr_req_params_free(vr_req_params *p) {
    free(p->stop_ids);
    free(p->bias_ids);
    free(p->bias_vals);
    memset(p, 0, sizeof *p);
}

/* A constrained output (server/guided) allows only EOS once its JSON value
 * is complete: min_tokens would forbid that EOS and ignore_eos would not
 * stop on it, so either would burn tokens after the value. */
int vr_check_constrained_params(const vr_req_params *p, const char *what, vr_field_err *e) {
    if (p->sp.min_tokens > 0)
        return vr_field_fail(e, "min_tokens", "min_tokens cannot be used with %s: the JSON may be complete before it", what);
    if (p->sp.ignore_eos)
        return vr_field_fail(e, "ignore_eos", "ignore_eos cannot be used with %s: generation must end with the JSON value", what);
    return 0;
}
