/* server/openai/chat_prompt.c — validate `messages` (+ `tools`) and build
 * the chat template's context, the way Hugging Face's apply_chat_template
 * sees it: text-part lists joined into one string, assistant tool-call
 * arguments given to the template as objects, chat_template_kwargs merged
 * at the top level. */
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"

static const char *roles[] = {"system", "developer", "user", "assistant", "tool"};

static int str_eq(const vr_json *v, const char *s) {
    return v && v->type == VR_JSON_STRING && strlen(s) == v->u.str.len && !memcmp(v->u.str.s, s, v->u.str.len);
}

/* content -> one string (text parts joined by "\n"), or NULL content. */
static int content_text(const vr_json *content, size_t mi, vr_sbuf *out, int *is_null, vr_field_err *e) {
    *is_null = 0;
    if (!content || content->type == VR_JSON_NULL) {
        *is_null = 1;
        return 0;
    }
    if (content->type == VR_JSON_STRING) {
        vr_sb_put(out, content->u.str.s, content->u.str.len);
        return 0;
    }
    if (content->type != VR_JSON_ARRAY)
        return vr_field_fail(e, "messages", "messages[%zu].content must be a string or an array of parts, not %s", mi,
                             vr_jtype_name(content->type));
    for (size_t i = 0; i < content->u.arr.n; i++) {
        const vr_json *part = &content->u.arr.items[i];
        if (part->type == VR_JSON_STRING) { /* bare strings: accepted as text */
            if (i) vr_sb_put(out, "\n", 1);
            vr_sb_put(out, part->u.str.s, part->u.str.len);
            continue;
        }
        if (part->type != VR_JSON_OBJECT)
            return vr_field_fail(e, "messages", "messages[%zu].content[%zu] must be an object, not %s", mi, i,
                                 vr_jtype_name(part->type));
        const vr_json *type = vr_jget(part, "type");
        if (!str_eq(type, "text")) {
            if (type && type->type == VR_JSON_STRING)
                return vr_field_fail(e, "messages", "messages[%zu].content[%zu]: content parts of type '%.40s' are not supported (text only)",
                                     mi, i, type->u.str.s);
            return vr_field_fail(e, "messages", "messages[%zu].content[%zu].type must be \"text\"", mi, i);
        }
        const vr_json *text = vr_jget(part, "text");
        if (!text || text->type != VR_JSON_STRING)
            return vr_field_fail(e, "messages", "messages[%zu].content[%zu].text must be a string", mi, i);
        if (i) vr_sb_put(out, "\n", 1);
        vr_sb_put(out, text->u.str.s, text->u.str.len);
    }
    return 0;
}

/* tool_calls[].function.arguments: templates index it as a mapping, clients
 * send it as a JSON string (OpenAI's format): parse it when it is one. */
static void write_tool_calls(vr_jw *w, const vr_json *calls) {
    vr_jw_arr_begin(w);
    for (size_t i = 0; i < calls->u.arr.n; i++) {
        const vr_json *call = &calls->u.arr.items[i];
        if (call->type != VR_JSON_OBJECT) {
            vr_jw_value(w, call);
            continue;
        }
        vr_jw_obj_begin(w);
        for (size_t k = 0; k < call->u.obj.n; k++) {
            const vr_json_member *m = &call->u.obj.m[k];
            vr_jw_key(w, m->key);
            if (strcmp(m->key, "function") || m->value->type != VR_JSON_OBJECT) {
                vr_jw_value(w, m->value);
                continue;
            }
            vr_jw_obj_begin(w);
            for (size_t f = 0; f < m->value->u.obj.n; f++) {
                const vr_json_member *fm = &m->value->u.obj.m[f];
                vr_jw_key(w, fm->key);
                vr_jdoc *args = NULL;
                if (!strcmp(fm->key, "arguments") && fm->value->type == VR_JSON_STRING)
                    args = vr_jdoc_parse(fm->value->u.str.s, fm->value->u.str.len, NULL, 0);
                if (args && vr_jdoc_root(args)->type == VR_JSON_OBJECT) vr_jw_value(w, vr_jdoc_root(args));
                else vr_jw_value(w, fm->value);
                vr_jdoc_free(args);
            }
            vr_jw_obj_end(w);
        }
        vr_jw_obj_end(w);
    }
    vr_jw_arr_end(w);
}

int vr_chat_context(vr_server *s, const vr_json *body, vr_sbuf *ctx, int *continue_final, char **final_content,
                    vr_field_err *e) {
    const vr_json *msgs = vr_jget(body, "messages");
    if (!msgs || msgs->type == VR_JSON_NULL) return vr_field_fail(e, "messages", "messages is required");
    if (msgs->type != VR_JSON_ARRAY)
        return vr_field_fail(e, "messages", "messages must be an array, not %s", vr_jtype_name(msgs->type));
    if (msgs->u.arr.n == 0) return vr_field_fail(e, "messages", "messages must not be empty");
    int add_gen = 1, cont = 0;
    if (vr_get_bool(body, "add_generation_prompt", &add_gen, e)) return -1;
    if (vr_get_bool(body, "continue_final_message", &cont, e)) return -1;
    if (add_gen && cont) {
        const vr_json *ag = vr_jget(body, "add_generation_prompt");
        if (ag && ag->type == VR_JSON_BOOL) /* explicitly both true */
            return vr_field_fail(e, "continue_final_message",
                                 "continue_final_message and add_generation_prompt cannot both be true");
        add_gen = 0; /* continuing implies no new turn */
    }
    const vr_json *tools = vr_jget(body, "tools");
    if (tools && tools->type != VR_JSON_NULL) {
        if (tools->type != VR_JSON_ARRAY)
            return vr_field_fail(e, "tools", "tools must be an array, not %s", vr_jtype_name(tools->type));
        /* bounded: a forced tool choice matches names byte by byte at every
         * decoding step, on the engine thread every request shares */
        if (tools->u.arr.n > VR_MAX_TOOLS)
            return vr_field_fail(e, "tools", "at most %d tools (got %zu)", VR_MAX_TOOLS, tools->u.arr.n);
        for (size_t i = 0; i < tools->u.arr.n; i++) {
            const vr_json *t = &tools->u.arr.items[i];
            const vr_json *fn = vr_jget(t, "function");
            const vr_json *name = vr_jget(fn, "name");
            if (t->type != VR_JSON_OBJECT || !fn || fn->type != VR_JSON_OBJECT || !name || name->type != VR_JSON_STRING)
                return vr_field_fail(e, "tools", "tools[%zu] must be {\"type\":\"function\",\"function\":{\"name\":...}}", i);
            if (name->u.str.len == 0)
                return vr_field_fail(e, "tools", "tools[%zu].function.name must not be empty", i);
            const vr_json *type = vr_jget(t, "type");
            if (type && !str_eq(type, "function"))
                return vr_field_fail(e, "tools", "tools[%zu].type must be \"function\"", i);
        }
    } else {
        tools = NULL;
    }
    const vr_json *kwargs = vr_jget(body, "chat_template_kwargs");
    if (kwargs && kwargs->type != VR_JSON_NULL && kwargs->type != VR_JSON_OBJECT)
        return vr_field_fail(e, "chat_template_kwargs", "chat_template_kwargs must be an object, not %s",
                             vr_jtype_name(kwargs->type));

    vr_jw w;
    vr_jw_init(&w, ctx);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "messages");
    vr_jw_arr_begin(&w);
    vr_sbuf text = {0};
    for (size_t i = 0; i < msgs->u.arr.n; i++) {
        const vr_json *m = &msgs->u.arr.items[i];
        if (m->type != VR_JSON_OBJECT) {
            vr_sb_free(&text);
            return vr_field_fail(e, "messages", "messages[%zu] must be an object, not %s", i, vr_jtype_name(m->type));
        }
        const vr_json *role = vr_jget(m, "role");
        int ok = 0;
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) ok |= str_eq(role, roles[r]);
        if (!ok) {
            vr_sb_free(&text);
            return vr_field_fail(e, "messages",
                                 "messages[%zu].role must be one of system, developer, user, assistant, tool", i);
        }
        const vr_json *tc = vr_jget(m, "tool_calls");
        if (tc && tc->type != VR_JSON_NULL && tc->type != VR_JSON_ARRAY) {
            vr_sb_free(&text);
            return vr_field_fail(e, "messages", "messages[%zu].tool_calls must be an array", i);
        }
        const vr_json *tcid = vr_jget(m, "tool_call_id");
        if (tcid && tcid->type != VR_JSON_NULL && tcid->type != VR_JSON_STRING) {
            vr_sb_free(&text);
            return vr_field_fail(e, "messages", "messages[%zu].tool_call_id must be a string", i);
        }
        int is_null;
        text.len = 0;
        if (content_text(vr_jget(m, "content"), i, &text, &is_null, e)) {
            vr_sb_free(&text);
            return -1;
        }
        if (is_null && !str_eq(role, "assistant")) {
            vr_sb_free(&text);
            return vr_field_fail(e, "messages", "messages[%zu].content is required for role %.20s", i, role->u.str.s);
        }
        vr_jw_obj_begin(&w);
        int wrote_content = 0;
        for (size_t k = 0; k < m->u.obj.n; k++) {
            const vr_json_member *mm = &m->u.obj.m[k];
            vr_jw_key(&w, mm->key);
            if (!strcmp(mm->key, "content")) {
                /* null content (assistant turns with tool calls) reaches the
                 * template as "" like vLLM's string content format does: real
                 * templates test `'</think>' in content`, which None breaks */
                vr_jw_strn(&w, text.p && !is_null ? text.p : "", is_null ? 0 : text.len);
                wrote_content = 1;
            } else if (!strcmp(mm->key, "tool_calls") && mm->value->type == VR_JSON_ARRAY) {
                write_tool_calls(&w, mm->value);
            } else {
                vr_jw_value(&w, mm->value);
            }
        }
        if (!wrote_content) {
            vr_jw_key(&w, "content");
            vr_jw_str(&w, "");
        }
        vr_jw_obj_end(&w);
        if (i + 1 == msgs->u.arr.n && cont) {
            free(*final_content);
            *final_content = strdup(text.p && !is_null ? text.p : "");
        }
    }
    vr_sb_free(&text);
    vr_jw_arr_end(&w);
    vr_jw_key(&w, "tools");
    vr_jw_value(&w, tools);
    vr_jw_key(&w, "add_generation_prompt");
    vr_jw_bool(&w, add_gen);
    const char *bos = s->tok ? vr_tokenizer_special_token(s->tok, "bos_token") : NULL;
    const char *eos = s->tok ? vr_tokenizer_special_token(s->tok, "eos_token") : NULL;
    vr_jw_key(&w, "bos_token");
    vr_jw_str(&w, bos ? bos : "");
    vr_jw_key(&w, "eos_token");
    vr_jw_str(&w, eos ? eos : "");
    if (kwargs && kwargs->type == VR_JSON_OBJECT)
        for (size_t k = 0; k < kwargs->u.obj.n; k++) {
            vr_jw_key(&w, kwargs->u.obj.m[k].key);
            vr_jw_value(&w, kwargs->u.obj.m[k].value);
        }
    vr_jw_obj_end(&w);
    if (ctx->oom) return vr_field_fail(e, NULL, "out of memory");
    if (w.err) return vr_field_fail(e, "messages", "messages are nested too deeply");
    *continue_final = cont;
    return 0;
}
