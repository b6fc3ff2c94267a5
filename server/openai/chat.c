/* server/openai/chat.c — POST /v1/chat/completions: validate, render the
 * chat template, tokenize (prep.c), then hand over to gen.c. */
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

/* tool_choice: "none" always works; "auto" (the default when tools are
 * given) needs a tool-call parser like vLLM; "required" and a named function
 * work without one, as in vLLM: the output is constrained (server/guided)
 * to a JSON list of calls, or to the named function's arguments object.
 * Sets *auto_tools when tool calls are to be parsed out of the output, and
 * *forced / *named for the constrained choices. */
static int check_tool_choice(vr_server *s, const vr_json *body, int *auto_tools, vr_tool_choice *forced,
                             const char **named, vr_field_err *e) {
    *auto_tools = 0;
    *forced = VR_TOOL_CHOICE_AUTO;
    *named = NULL;
    const vr_json *tools = vr_jget(body, "tools");
    int has_tools = tools && tools->type == VR_JSON_ARRAY && tools->u.arr.n > 0;
    const vr_json *tc = vr_jget(body, "tool_choice");
    const char *choice = has_tools ? "auto" : "none";
    if (tc && tc->type == VR_JSON_STRING) choice = tc->u.str.s;
    else if (tc && tc->type == VR_JSON_OBJECT) choice = "named";
    else if (tc && tc->type != VR_JSON_NULL)
        return vr_field_fail(e, "tool_choice", "tool_choice must be a string or an object");
    if (!strcmp(choice, "none")) return 0;
    if (!strcmp(choice, "auto")) {
        if (!s->opt.enable_auto_tool_choice || !s->opt.tool_call_parser)
            return vr_field_fail(e, "tool_choice",
                                 "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set");
        *auto_tools = has_tools;
        return 0;
    }
    if (!strcmp(choice, "required")) {
        if (!has_tools)
            return vr_field_fail(e, "tool_choice", "tool_choice \"required\" needs a non-empty `tools` list");
        *forced = VR_TOOL_CHOICE_REQUIRED;
        return 0;
    }
    if (!strcmp(choice, "named") && tc && tc->type == VR_JSON_OBJECT) {
        const vr_json *type = vr_jget(tc, "type");
        const vr_json *name = vr_jget(vr_jget(tc, "function"), "name");
        if ((type && (type->type != VR_JSON_STRING || strcmp(type->u.str.s, "function"))) || !name ||
            name->type != VR_JSON_STRING || !name->u.str.len)
            return vr_field_fail(e, "tool_choice",
                                 "tool_choice must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
        if (!has_tools)
            return vr_field_fail(e, "tool_choice", "tool_choice names function '%.100s' but no `tools` were given",
                                 name->u.str.s);
        *forced = VR_TOOL_CHOICE_NAMED;
        *named = name->u.str.s;
        return 0;
    }
    return vr_field_fail(e, "tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or a named function");
}

/* The named function must be one of `tools` (validated by now). */
static int check_named_tool(const vr_json *body, const char *named, vr_field_err *e) {
    const vr_json *tools = vr_jget(body, "tools");
    for (size_t i = 0; i < tools->u.arr.n; i++)
        if (!strcmp(vr_jget(vr_jget(&tools->u.arr.items[i], "function"), "name")->u.str.s, named)) return 0;
    return vr_field_fail(e, "tool_choice", "tool_choice names function '%.100s', which is not in `tools`", named);
}

void vr_route_chat(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    vr_jdoc *doc;
    const vr_json *body = vr_open_engine_request(s, c, r, 1, &doc);
    if (!body) return;
    vr_field_err e = {0};
    vr_req_params p;
    memset(&p, 0, sizeof p);
    vr_sbuf ctx = {0};
    vr_prep *prep = NULL;
    if (vr_parse_params(s, body, VR_API_CHAT, &p, &e)) goto bad;
    int auto_tools = 0;
    vr_tool_choice forced;
    const char *named;
    if (check_tool_choice(s, body, &auto_tools, &forced, &named, &e)) goto bad;
    /* response_format json_object / json_schema: the content is a JSON
     * object / a value of the schema (params.c checked it; gen.c builds the
     * shape). A forced tool choice, itself constrained, takes precedence as
     * in vLLM. */
    const vr_json *rf_type = vr_jget(vr_jget(body, "response_format"), "type");
    int json_object = !forced && rf_type && rf_type->type == VR_JSON_STRING &&
                      (!strcmp(rf_type->u.str.s, "json_object") || !strcmp(rf_type->u.str.s, "json_schema"));
    if ((forced || json_object) &&
        vr_check_constrained_params(&p, json_object ? "response_format json_object / json_schema"
                                                    : "tool_choice \"required\" or a named function", &e))
        goto bad;
    prep = vr_prep_new(s);
    if (!prep) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (vr_chat_context(s, body, &ctx, &prep->continue_final, &prep->final_content, &e)) goto bad;
    if (named && check_named_tool(body, named, &e)) goto bad;
    prep->ctx_len = ctx.len;
    prep->ctx = vr_sb_take(&ctx);
    prep->add_special = p.add_special_tokens;
    const vr_json *model = vr_jget(body, "model");
    vr_gen *g = vr_gen_new(s, c, VR_API_CHAT, &p, model && model->type == VR_JSON_STRING ? model->u.str.s : s->model_names[0]);
    if (!g) {
        vr_send_error(c, 500, NULL, "out of memory");
        goto out;
    }
    if (vr_gen_echo_requested(g)) {
        /* echo: vLLM returns the final message's content first when that
         * message is the assistant's (a prefill being continued) */
        const vr_json *msgs = vr_jget(body, "messages");
        const vr_json *last = &msgs->u.arr.items[msgs->u.arr.n - 1];
        const vr_json *role = vr_jget(last, "role");
        const vr_json *content = vr_jget(last, "content");
        if (role && !strcmp(role->u.str.s, "assistant") && content && content->type == VR_JSON_STRING) {
            const char *texts[1] = {content->u.str.s};
            size_t lens[1] = {content->u.str.len};
            vr_gen_set_echo(g, 1, texts, lens);
        }
    }
    if (json_object) vr_gen_set_json_object(g);
    if (auto_tools || forced || (s->opt.reasoning_parser && !json_object)) {
        /* names the model may call (others stay text), from `tools` */
        const vr_json *tools = vr_jget(body, "tools");
        size_t n = auto_tools || forced ? tools->u.arr.n : 0;
        const char **names = n ? calloc(n, sizeof *names) : NULL;
        for (size_t i = 0; names && i < n; i++)
            names[i] = vr_jget(vr_jget(&tools->u.arr.items[i], "function"), "name")->u.str.s;
        const vr_json *kw = vr_jget(vr_jget(body, "chat_template_kwargs"), "enable_thinking");
        int think_off = kw && kw->type == VR_JSON_BOOL && !kw->u.b;
        const vr_json *ptc = vr_jget(body, "parallel_tool_calls");
        int max_calls = ptc && ptc->type == VR_JSON_BOOL && !ptc->u.b ? 1 : 0;
        /* A constrained output is JSON from its first token: there is no
         * think block to look for. */
        vr_gen_set_parsers(g, auto_tools ? s->opt.tool_call_parser : NULL,
                           forced || json_object ? NULL : s->opt.reasoning_parser,
                           think_off, max_calls, names, names ? n : 0);
        if (forced) vr_gen_set_guided(g, forced, named);
    }
    vr_gen_launch(g, prep, doc, 0);
    return;
bad:
    vr_send_error(c, 400, e.param, "%s", e.msg);
out:
    vr_sb_free(&ctx);
    vr_prep_free(prep);
    vr_req_params_free(&p);
    vr_jdoc_free(doc);
}
