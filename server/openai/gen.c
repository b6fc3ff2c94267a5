/* server/openai/gen.c — one generation (or embedding) HTTP request from
 * submission to its last byte: engine requests per prompt, engine output
 * events turned into SSE chunks or one JSON body, metrics, disconnects.
 *
 * Lifetime: a vr_gen lives until every engine request it submitted has
 * delivered its final delta (request_finished), even if the client left
 * earlier: only then can no callback refer to it any more. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openai/openai.h"
#include "server/guided/guided.h"
#include "server/parsers/parsers.h"

/* A client whose unsent output grows past this is too slow to keep up;
 * its request is aborted rather than buffering without bound. */
#define VR_MAX_BACKLOG (64u * 1024 * 1024)

typedef struct vr_choice {
    vr_sbuf text;                        /* non-stream: accumulated text */
    vr_sbuf lp;                          /* chat: logprobs.content items */
    vr_sbuf lp_tok, lp_val, lp_top, lp_off; /* completions: the four arrays */
    size_t text_offset;
    int32_t *ids;
    size_t n_ids, cap_ids;
    int completion_tokens;
    int finished;
    char finish_reason[16];
    char *stop_str;
    int32_t stop_token;
    uint64_t last_ns;
    int got_first;
    int echo_sent;
    /* chat with --reasoning-parser / tool calling: text goes through a parser */
    vr_parser *parser;
    vr_parse_delta pd;  /* stream: the current chunk's parts */
    vr_parse_result pr; /* non-stream: the whole answer */
} vr_choice;

struct vr_gen {
    vr_server *s;
    vr_gen *prev, *next;
    vr_http_conn *c;
    vr_api api;
    vr_req_params p;
    vr_jdoc *doc; /* the request body: params point into it until submitted */
    char id[80];
    int64_t created;
    char *model;
    int n; /* sequences per prompt */
    int n_subs, n_live;
    vr_sub *subs;
    int n_choices;
    vr_choice *ch;
    char **echo; /* per prompt */
    size_t *echo_len;
    vr_sbuf *prompt_lp; /* completions echo+logprobs: [prompt][4] leading parts of the 4 arrays */
    int32_t **prompt_ids; /* completions echo+logprobs: the prompts' ids */
    size_t *n_prompt_ids;
    long prompt_tokens, cached_tokens;
    int streaming, aborted, error_status;
    char *error_msg;
    vr_sbuf out; /* SSE bytes not yet handed to the connection */
    /* chat output parsing (server/parsers) */
    int use_parser;
    const char *tool_parser, *reasoning_parser;
    int think_off, max_calls;
    const char **tool_names;
    size_t n_tool_names;
    vr_tool_choice tool_choice;  /* AUTO unless "required" / named */
    const char *named_function;  /* points into the request document */
    int json_object;             /* response_format json_object */
    /* embeddings */
    int base64;
    long long dimensions;
    float **emb;
    int *emb_dim;
};

static void gen_free(vr_gen *g) {
    vr_server *s = g->s;
    if (g->prev) g->prev->next = g->next;
    else if (s->gens == g) s->gens = g->next;
    if (g->next) g->next->prev = g->prev;
    for (int i = 0; i < g->n_choices; i++) {
        vr_choice *ch = &g->ch[i];
        vr_sb_free(&ch->text);
        vr_sb_free(&ch->lp);
        vr_sb_free(&ch->lp_tok);
        vr_sb_free(&ch->lp_val);
        vr_sb_free(&ch->lp_top);
        vr_sb_free(&ch->lp_off);
        free(ch->ids);
        free(ch->stop_str);
        vr_parser_destroy(ch->parser);
        vr_parse_delta_free(&ch->pd);
        vr_parse_result_free(&ch->pr);
    }
    free(g->tool_names);
    for (int i = 0; i < g->n_subs; i++) {
        if (g->echo) free(g->echo[i]);
        if (g->prompt_lp)
            for (int k = 0; k < 4; k++) vr_sb_free(&g->prompt_lp[i * 4 + k]);
        if (g->prompt_ids) free(g->prompt_ids[i]);
        if (g->emb) free(g->emb[i]);
    }
    free(g->echo);
    free(g->echo_len);
    free(g->prompt_lp);
    free(g->prompt_ids);
    free(g->n_prompt_ids);
    free(g->emb);
    free(g->emb_dim);
    free(g->ch);
    free(g->subs);
    free(g->model);
    free(g->error_msg);
    vr_sb_free(&g->out);
    vr_req_params_free(&g->p);
    vr_jdoc_free(g->doc);
    if (g->c) {
        vr_http_set_abort_hook(g->c, NULL, NULL);
        vr_http_conn_unref(g->c);
    }
    free(g);
    vr_server_maybe_finish_stop(s);
}

static void abort_subs(vr_gen *g) {
    for (int i = 0; i < g->n_subs; i++)
        if (g->subs[i].submitted && !g->subs[i].finished) vr_engine_abort(g->s->engine, g->subs[i].id);
}

/* The client went away (or the server is stopping): stop generating now. */
static void on_conn_abort(void *ud) {
    vr_gen *g = ud;
    g->aborted = 1;
    abort_subs(g);
}

void vr_gen_abort_all(vr_server *s) {
    for (vr_gen *g = s->gens; g; g = g->next) abort_subs(g);
}

vr_gen *vr_gen_new(vr_server *s, vr_http_conn *c, vr_api api, vr_req_params *p, const char *model) {
    vr_gen *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->s = s;
    g->c = c;
    vr_http_conn_ref(c);
    g->api = api;
    g->p = *p;
    g->p.sp.stop = g->p.stop; /* the array moved with the struct */
    memset(p, 0, sizeof *p);
    g->created = (int64_t)time(NULL);
    g->model = strdup(model);
    const char *prefix = api == VR_API_CHAT ? "chatcmpl" : api == VR_API_COMPLETION ? "cmpl" : "embd";
    if (g->p.request_id) snprintf(g->id, sizeof g->id, "%s-%.60s", prefix, g->p.request_id);
    else vr_make_id(s, prefix, g->id, sizeof g->id);
    g->p.request_id = NULL; /* pointed into the request document */
    g->n = api == VR_API_EMBEDDING ? 1 : g->p.sp.n;
    g->next = s->gens;
    if (s->gens) s->gens->prev = g;
    s->gens = g;
    return g;
}

void vr_gen_discard(vr_gen *g) { gen_free(g); }

int vr_gen_echo_requested(const vr_gen *g) { return g->p.echo; }

void vr_gen_launch(vr_gen *g, vr_prep *prep, vr_jdoc *doc, int has_ids) {
    g->doc = doc;
    prep->ud = g;
    prep->done = vr_gen_prepared;
    if (has_ids) vr_gen_prepared(prep);
    else vr_prep_start(prep);
}

void vr_gen_set_echo(vr_gen *g, int n, const char *const *texts, const size_t *lens) {
    g->echo = calloc((size_t)n + 1, sizeof *g->echo);
    g->echo_len = calloc((size_t)n + 1, sizeof *g->echo_len);
    if (!g->echo || !g->echo_len) return;
    for (int i = 0; i < n; i++) {
        if (!texts || !texts[i]) continue;
        g->echo[i] = malloc(lens[i] + 1);
        if (!g->echo[i]) continue;
        memcpy(g->echo[i], texts[i], lens[i]);
        g->echo[i][lens[i]] = 0;
        g->echo_len[i] = lens[i];
    }
}

void vr_gen_set_parsers(vr_gen *g, const char *tool_parser, const char *reasoning_parser, int think_off, int max_calls,
                        const char **tool_names, size_t n_tool_names) {
    g->use_parser = (tool_parser && *tool_parser) || (reasoning_parser && *reasoning_parser);
    g->tool_parser = tool_parser;
    g->reasoning_parser = reasoning_parser;
    g->think_off = think_off;
    g->max_calls = max_calls;
    g->tool_names = tool_names; /* owned; point into the request document */
    g->n_tool_names = n_tool_names;
}

void vr_gen_set_guided(vr_gen *g, vr_tool_choice choice, const char *named_function) {
    g->use_parser = 1;
    g->tool_choice = choice;
    g->named_function = named_function;
}

void vr_gen_set_json_object(vr_gen *g) { g->json_object = 1; }

/* Enforce each tool's `parameters` schema (server/guided: a subset of JSON
 * Schema). A tool whose schema goes beyond the subset keeps "any object",
 * as vLLM falls back for some features: noted in the log, not refused, so
 * tools that worked before still do. named: only that tool (NULL: all). */
static vr_jshape *tool_shape(vr_gen *g, const char *named, char *err, size_t errlen) {
    const vr_json *tools = vr_jget(vr_jdoc_root(g->doc), "tools");
    vr_jshape *shape = named ? NULL
                             : vr_jshape_new(VR_JSHAPE_TOOL_CALLS, g->tool_names, (int)g->n_tool_names, g->max_calls,
                                             err, errlen);
    if (!named && !shape) return NULL;
    int warned = 0;
    for (size_t i = 0; i < vr_jlen(tools); i++) {
        const vr_json *fn = vr_jget(vr_jat(tools, i), "function");
        const char *name = vr_jstring(vr_jget(fn, "name"));
        const vr_json *params = vr_jget(fn, "parameters");
        if (!name || !params || (named && strcmp(name, named))) continue;
        char path[64], why[512];
        snprintf(path, sizeof path, "tools[%zu].function.parameters", i);
        if (named) {
            shape = vr_jshape_new_schema(params, path, 1, why, sizeof why);
            if (shape) return shape;
        } else if (!vr_jshape_set_tool_schema(shape, name, params, path, why, sizeof why)) {
            continue;
        }
        if (!strcmp(why, "out of memory")) break;
        /* one line per request, however many tools the client sent */
        if (!warned++)
            fprintf(stderr, "WARNING vireo: %s: %s; that function's arguments (and those of any other tool beyond "
                            "the supported schema subset) are only held to be a JSON object\n", g->id, why);
    }
    return shape ? shape : vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, errlen);
}

/* The shape of a constrained output: the tool calls, the named function's
 * arguments, or the response_format (json_schema, else any object). */
static vr_jshape *guided_shape(vr_gen *g, char *err, size_t errlen) {
    if (g->tool_choice == VR_TOOL_CHOICE_REQUIRED) return tool_shape(g, NULL, err, errlen);
    if (g->tool_choice == VR_TOOL_CHOICE_NAMED) return tool_shape(g, g->named_function, err, errlen);
    const vr_json *rf = vr_jget(vr_jdoc_root(g->doc), "response_format");
    const char *type = vr_jstring(vr_jget(rf, "type"));
    if (type && !strcmp(type, "json_schema")) /* checked by params.c */
        return vr_jshape_new_schema(vr_jget(vr_jget(rf, "json_schema"), "schema"), "response_format.json_schema.schema",
                                    0, err, errlen);
    return vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, errlen);
}

/* The per-request logits processor of a constrained output; the engine
 * owns it from vr_engine_submit on. Each submission gets its own. */
static int add_guided(vr_gen *g, vr_sampling_params *sp, char *err, size_t errlen) {
    vr_server *s = g->s;
    const vr_guided_vocab *v = s->tok ? vr_guided_vocab_for(s->tok) : NULL;
    if (!v) {
        snprintf(err, errlen, "constrained output (tool_choice required / named, json_object) needs the model's tokenizer");
        return -1;
    }
    vr_jshape *shape = guided_shape(g, err, errlen);
    if (!shape) return -1;
    vr_guided_proc *proc = vr_guided_proc_new(shape, v, sp->n, s->info->eos_ids, s->info->n_eos);
    if (!proc) {
        vr_jshape_free(shape);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sp->logits_processor = vr_guided_logits;
    sp->logits_processor_user = proc;
    sp->logits_processor_free = vr_guided_proc_free;
    return 0;
}

/* Tool-call ids: "chatcmpl-tool-" + 24 hex digits, unique per process. */
static void tool_id(void *user, int index, char *out, size_t cap) {
    vr_gen *g = user;
    uint64_t x = ++g->s->next_id * 0x9e3779b97f4a7c15ULL ^ uv_hrtime() ^ (uint64_t)index << 48;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    snprintf(out, cap, "chatcmpl-tool-%016llx%08x", (unsigned long long)x, (unsigned)(g->s->next_id & 0xffffffffu));
}

void vr_gen_set_embedding(vr_gen *g, int base64, long long dimensions) {
    g->base64 = base64;
    g->dimensions = dimensions;
}

/* ---- pieces of JSON ---- */

static void w_logprob(vr_jw *w, float v) {
    if (isinf(v) && v < 0) vr_jw_double(w, -9999.0); /* JSON has no -inf; vLLM's convention */
    else if (isnan(v)) vr_jw_null(w);
    else vr_jw_float(w, v);
}

static void token_text(const vr_server *s, int32_t id, char *buf, size_t cap, size_t *len) {
    *len = 0;
    if (!s->tok || vr_tokenizer_token_bytes(s->tok, id, buf, cap, len)) {
        *len = (size_t)snprintf(buf, cap, "token_id:%d", id);
        return;
    }
    if (*len > cap) *len = cap;
}

static void w_token_obj(vr_jw *w, const vr_server *s, int32_t id, float lp) {
    char tb[256];
    size_t tl;
    token_text(s, id, tb, sizeof tb, &tl);
    vr_jw_obj_begin(w);
    vr_jw_key(w, "token");
    vr_jw_strn(w, tb, tl);
    vr_jw_key(w, "logprob");
    w_logprob(w, lp);
    vr_jw_key(w, "bytes");
    vr_jw_arr_begin(w);
    for (size_t i = 0; i < tl; i++) vr_jw_int(w, (unsigned char)tb[i]);
    vr_jw_arr_end(w);
}

/* Appends comma-separated items to a fragment buffer. */
static void frag_sep(vr_sbuf *b) {
    if (b->len) vr_sb_put(b, ",", 1);
}

/* Chat format: logprobs.content items for the tokens of one event. */
static void chat_lp_items(const vr_server *s, const vr_outev *e, vr_sbuf *out) {
    for (int t = 0; t < e->n_new; t++) {
        frag_sep(out);
        vr_jw w;
        vr_jw_init(&w, out);
        w_token_obj(&w, s, e->ids[t], e->logprobs[t]);
        vr_jw_key(&w, "top_logprobs");
        vr_jw_arr_begin(&w);
        for (int k = 0; k < e->n_top; k++) {
            w_token_obj(&w, s, e->top_ids[t * e->n_top + k], e->top_logprobs[t * e->n_top + k]);
            vr_jw_obj_end(&w);
        }
        vr_jw_arr_end(&w);
        vr_jw_obj_end(&w);
    }
}

/* Completions format: tokens / token_logprobs / top_logprobs / text_offset. */
static void comp_lp_items(const vr_server *s, const int32_t *ids, const float *lps, const int32_t *top_ids,
                          const float *top_lps, int n, int n_top, size_t *offset, vr_sbuf *tok, vr_sbuf *val,
                          vr_sbuf *top, vr_sbuf *off, int first_is_prompt_start) {
    for (int t = 0; t < n; t++) {
        char tb[256];
        size_t tl;
        token_text(s, ids[t], tb, sizeof tb, &tl);
        vr_jw w;
        frag_sep(tok);
        vr_jw_init(&w, tok);
        vr_jw_strn(&w, tb, tl);
        frag_sep(val);
        vr_jw_init(&w, val);
        int none = first_is_prompt_start && t == 0; /* nothing predicts the first prompt token */
        if (none) vr_jw_null(&w);
        else w_logprob(&w, lps[t]);
        frag_sep(top);
        vr_jw_init(&w, top);
        if (none) {
            vr_jw_null(&w);
        } else {
            vr_jw_obj_begin(&w);
            for (int k = 0; k < n_top; k++) {
                char kb[256];
                size_t kl;
                token_text(s, top_ids[t * n_top + k], kb, sizeof kb, &kl);
                kb[kl < sizeof kb ? kl : sizeof kb - 1] = 0;
                vr_jw_key(&w, kb);
                w_logprob(&w, top_lps[t * n_top + k]);
            }
            vr_jw_obj_end(&w);
        }
        frag_sep(off);
        vr_sb_printf(off, "%zu", *offset);
        *offset += tl;
    }
}

static void w_stop_reason(vr_jw *w, const vr_choice *ch) {
    if (ch->stop_str) vr_jw_str(w, ch->stop_str);
    else if (ch->stop_token >= 0 && ch->finished) vr_jw_int(w, ch->stop_token);
    else vr_jw_null(w);
}

static void w_usage(vr_jw *w, const vr_gen *g) {
    long completion = 0;
    for (int i = 0; i < g->n_choices; i++) completion += g->ch[i].completion_tokens;
    vr_jw_obj_begin(w);
    vr_jw_key(w, "prompt_tokens");
    vr_jw_int(w, g->prompt_tokens);
    if (g->api != VR_API_EMBEDDING) {
        vr_jw_key(w, "completion_tokens");
        vr_jw_int(w, completion);
    }
    vr_jw_key(w, "total_tokens");
    vr_jw_int(w, g->prompt_tokens + completion);
    if (g->api != VR_API_EMBEDDING) {
        vr_jw_key(w, "prompt_tokens_details");
        vr_jw_obj_begin(w);
        vr_jw_key(w, "cached_tokens");
        vr_jw_int(w, g->cached_tokens);
        vr_jw_obj_end(w);
    }
    vr_jw_obj_end(w);
}

static void w_chunk_head(vr_jw *w, const vr_gen *g) {
    vr_jw_obj_begin(w);
    vr_jw_key(w, "id");
    vr_jw_str(w, g->id);
    vr_jw_key(w, "object");
    vr_jw_str(w, g->api == VR_API_CHAT ? "chat.completion.chunk" : "text_completion");
    vr_jw_key(w, "created");
    vr_jw_int(w, g->created);
    vr_jw_key(w, "model");
    vr_jw_str(w, g->model);
    vr_jw_key(w, "choices");
    vr_jw_arr_begin(w);
}

/* ---- streaming ---- */

static void emit(vr_gen *g, vr_sbuf *json) {
    if (!json->oom) vr_sse_event(&g->out, json->p, json->len);
    vr_sb_free(json);
}

static void stream_role_chunks(vr_gen *g) {
    for (int i = 0; i < g->n_choices; i++) {
        vr_sbuf b = {0};
        vr_jw w;
        vr_jw_init(&w, &b);
        w_chunk_head(&w, g);
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "index");
        vr_jw_int(&w, i);
        vr_jw_key(&w, "delta");
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "role");
        vr_jw_str(&w, "assistant");
        vr_jw_key(&w, "content");
        vr_jw_str(&w, "");
        vr_jw_obj_end(&w);
        vr_jw_key(&w, "logprobs");
        vr_jw_null(&w);
        vr_jw_key(&w, "finish_reason");
        vr_jw_null(&w);
        vr_jw_obj_end(&w);
        vr_jw_arr_end(&w);
        vr_jw_obj_end(&w);
        emit(g, &b);
    }
}

static void stream_delta(vr_gen *g, int idx, vr_choice *ch, const vr_outev *e, const char *echo, size_t echo_len) {
    int has_lp = e->logprobs && e->n_new > 0;
    int has_text = ch->parser ? !vr_parse_delta_empty(&ch->pd) : e->text_len > 0;
    if (!has_text && !e->finished && !has_lp && !echo_len && !(g->p.return_token_ids && e->n_new)) return;
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    w_chunk_head(&w, g);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "index");
    vr_jw_int(&w, idx);
    if (g->api == VR_API_CHAT) {
        vr_jw_key(&w, "delta");
        vr_jw_obj_begin(&w);
        if (echo_len) { /* chat echo: the final assistant message leads the first chunk */
            vr_sbuf t = {0};
            vr_sb_put(&t, echo, echo_len);
            if (ch->parser) vr_sb_put(&t, ch->pd.content, ch->pd.content_len);
            else vr_sb_put(&t, e->text, e->text_len);
            vr_jw_key(&w, "content");
            vr_jw_strn(&w, t.p ? t.p : "", t.len);
            vr_sb_free(&t);
        }
        if (ch->parser) {
            const vr_parse_delta *d = &ch->pd;
            if (d->content_len && !echo_len) {
                vr_jw_key(&w, "content");
                vr_jw_strn(&w, d->content, d->content_len);
            }
            if (d->reasoning_len) { /* both names: vLLM has used both */
                vr_jw_key(&w, "reasoning_content");
                vr_jw_strn(&w, d->reasoning, d->reasoning_len);
                vr_jw_key(&w, "reasoning");
                vr_jw_strn(&w, d->reasoning, d->reasoning_len);
            }
            int any = 0;
            for (size_t t = 0; t < d->n_tools; t++) {
                const vr_tool_delta *td = &d->tools[t];
                if (td->aborted || (!td->id && !td->arguments_len)) continue;
                if (!any++) {
                    vr_jw_key(&w, "tool_calls");
                    vr_jw_arr_begin(&w);
                }
                vr_jw_obj_begin(&w);
                vr_jw_key(&w, "index");
                vr_jw_int(&w, td->index);
                if (td->id) {
                    vr_jw_key(&w, "id");
                    vr_jw_str(&w, td->id);
                    vr_jw_key(&w, "type");
                    vr_jw_str(&w, "function");
                }
                vr_jw_key(&w, "function");
                vr_jw_obj_begin(&w);
                if (td->name) {
                    vr_jw_key(&w, "name");
                    vr_jw_str(&w, td->name);
                }
                vr_jw_key(&w, "arguments");
                vr_jw_strn(&w, td->arguments ? td->arguments : "", td->arguments_len);
                vr_jw_obj_end(&w);
                vr_jw_obj_end(&w);
            }
            if (any) vr_jw_arr_end(&w);
        } else if (e->text_len && !echo_len) {
            vr_jw_key(&w, "content");
            vr_jw_strn(&w, e->text, e->text_len);
        }
        vr_jw_obj_end(&w);
        vr_jw_key(&w, "logprobs");
        if (has_lp) {
            vr_sbuf items = {0};
            chat_lp_items(g->s, e, &items);
            vr_jw_obj_begin(&w);
            vr_jw_key(&w, "content");
            vr_jw_arr_begin(&w);
            vr_jw_raw(&w, items.p ? items.p : "", items.len);
            vr_jw_arr_end(&w);
            vr_jw_obj_end(&w);
            vr_sb_free(&items);
        } else {
            vr_jw_null(&w);
        }
    } else {
        vr_sbuf t = {0};
        vr_sb_put(&t, echo, echo_len);
        vr_sb_put(&t, e->text, e->text_len);
        vr_jw_key(&w, "text");
        vr_jw_strn(&w, t.p ? t.p : "", t.len);
        vr_sb_free(&t);
        vr_jw_key(&w, "logprobs");
        if (has_lp) {
            vr_sbuf tok = {0}, val = {0}, top = {0}, off = {0};
            ch->text_offset += echo_len;
            comp_lp_items(g->s, e->ids, e->logprobs, e->top_ids, e->top_logprobs, e->n_new, e->n_top,
                          &ch->text_offset, &tok, &val, &top, &off, 0);
            vr_jw_obj_begin(&w);
            vr_jw_key(&w, "tokens");
            vr_jw_arr_begin(&w);
            vr_jw_raw(&w, tok.p ? tok.p : "", tok.len);
            vr_jw_arr_end(&w);
            vr_jw_key(&w, "token_logprobs");
            vr_jw_arr_begin(&w);
            vr_jw_raw(&w, val.p ? val.p : "", val.len);
            vr_jw_arr_end(&w);
            vr_jw_key(&w, "top_logprobs");
            vr_jw_arr_begin(&w);
            vr_jw_raw(&w, top.p ? top.p : "", top.len);
            vr_jw_arr_end(&w);
            vr_jw_key(&w, "text_offset");
            vr_jw_arr_begin(&w);
            vr_jw_raw(&w, off.p ? off.p : "", off.len);
            vr_jw_arr_end(&w);
            vr_jw_obj_end(&w);
            vr_sb_free(&tok);
            vr_sb_free(&val);
            vr_sb_free(&top);
            vr_sb_free(&off);
        } else {
            vr_jw_null(&w);
        }
    }
    vr_jw_key(&w, "finish_reason");
    vr_jw_str(&w, e->finished ? ch->finish_reason : NULL);
    vr_jw_key(&w, "stop_reason");
    w_stop_reason(&w, ch);
    if (g->p.return_token_ids) {
        vr_jw_key(&w, "token_ids");
        vr_jw_arr_begin(&w);
        for (int t = 0; t < e->n_new; t++) vr_jw_int(&w, e->ids[t]);
        vr_jw_arr_end(&w);
    }
    vr_jw_obj_end(&w);
    vr_jw_arr_end(&w);
    vr_jw_obj_end(&w);
    emit(g, &b);
}

static void stream_error(vr_gen *g, int status, const char *msg) {
    vr_sbuf b = {0};
    vr_error_json(&b, status, NULL, msg);
    emit(g, &b);
}

void vr_gen_flush_all(vr_server *s) {
    for (vr_gen *g = s->gens; g; g = g->next) {
        if (!g->streaming || !g->out.len) continue;
        vr_http_stream_write(g->c, g->out.p, g->out.len);
        g->out.len = 0;
        if (!g->aborted && vr_http_conn_write_backlog(g->c) > VR_MAX_BACKLOG) {
            fprintf(stderr, "WARNING vireo: %s: client reads too slowly, aborting the request\n", g->id);
            on_conn_abort(g);
        }
    }
}

/* ---- non-stream bodies ---- */

static void send_completion_body(vr_gen *g) {
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "id");
    vr_jw_str(&w, g->id);
    vr_jw_key(&w, "object");
    vr_jw_str(&w, g->api == VR_API_CHAT ? "chat.completion" : "text_completion");
    vr_jw_key(&w, "created");
    vr_jw_int(&w, g->created);
    vr_jw_key(&w, "model");
    vr_jw_str(&w, g->model);
    vr_jw_key(&w, "choices");
    vr_jw_arr_begin(&w);
    for (int i = 0; i < g->n_choices; i++) {
        vr_choice *ch = &g->ch[i];
        int prompt = i / g->n;
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "index");
        vr_jw_int(&w, i);
        if (g->api == VR_API_CHAT) {
            vr_jw_key(&w, "message");
            vr_jw_obj_begin(&w);
            vr_jw_key(&w, "role");
            vr_jw_str(&w, "assistant");
            vr_jw_key(&w, "content");
            const char *echo = g->echo ? g->echo[prompt] : NULL;
            if (echo || !ch->parser || ch->pr.content) {
                vr_sbuf t = {0};
                if (echo) vr_sb_put(&t, echo, g->echo_len[prompt]);
                if (!ch->parser) vr_sb_put(&t, ch->text.p, ch->text.len);
                else vr_sb_put(&t, ch->pr.content, ch->pr.content_len);
                vr_jw_strn(&w, t.p ? t.p : "", t.len);
                vr_sb_free(&t);
            } else {
                vr_jw_null(&w);
            }
            vr_jw_key(&w, "refusal");
            vr_jw_null(&w);
            vr_jw_key(&w, "tool_calls");
            vr_jw_arr_begin(&w);
            for (size_t t = 0; ch->parser && t < ch->pr.n_calls; t++) {
                const vr_tool_call *tc = &ch->pr.calls[t];
                vr_jw_obj_begin(&w);
                vr_jw_key(&w, "id");
                vr_jw_str(&w, tc->id);
                vr_jw_key(&w, "type");
                vr_jw_str(&w, "function");
                vr_jw_key(&w, "function");
                vr_jw_obj_begin(&w);
                vr_jw_key(&w, "name");
                vr_jw_str(&w, tc->name);
                vr_jw_key(&w, "arguments");
                vr_jw_str(&w, tc->arguments ? tc->arguments : "{}");
                vr_jw_obj_end(&w);
                vr_jw_obj_end(&w);
            }
            vr_jw_arr_end(&w);
            const char *reasoning = ch->parser ? ch->pr.reasoning : NULL;
            vr_jw_key(&w, "reasoning_content");
            if (reasoning) vr_jw_strn(&w, reasoning, ch->pr.reasoning_len);
            else vr_jw_null(&w);
            vr_jw_key(&w, "reasoning");
            if (reasoning) vr_jw_strn(&w, reasoning, ch->pr.reasoning_len);
            else vr_jw_null(&w);
            vr_jw_obj_end(&w);
            vr_jw_key(&w, "logprobs");
            if (g->p.logprobs_chat) {
                vr_jw_obj_begin(&w);
                vr_jw_key(&w, "content");
                vr_jw_arr_begin(&w);
                vr_jw_raw(&w, ch->lp.p ? ch->lp.p : "", ch->lp.len);
                vr_jw_arr_end(&w);
                vr_jw_obj_end(&w);
            } else {
                vr_jw_null(&w);
            }
        } else {
            vr_sbuf t = {0};
            if (g->echo && g->echo[prompt]) vr_sb_put(&t, g->echo[prompt], g->echo_len[prompt]);
            vr_sb_put(&t, ch->text.p ? ch->text.p : "", ch->text.len);
            vr_jw_key(&w, "text");
            vr_jw_strn(&w, t.p ? t.p : "", t.len);
            vr_sb_free(&t);
            vr_jw_key(&w, "logprobs");
            if (g->p.logprobs_k >= 0) {
                const vr_sbuf *pl = g->prompt_lp ? &g->prompt_lp[prompt * 4] : NULL;
                const vr_sbuf *parts[4] = {&ch->lp_tok, &ch->lp_val, &ch->lp_top, &ch->lp_off};
                static const char *names[4] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
                vr_jw_obj_begin(&w);
                for (int k = 0; k < 4; k++) {
                    vr_jw_key(&w, names[k]);
                    vr_jw_arr_begin(&w);
                    int have_prefix = pl && pl[k].len;
                    if (have_prefix) vr_jw_raw(&w, pl[k].p, pl[k].len);
                    if (parts[k]->len) {
                        if (have_prefix) vr_sb_put(&b, ",", 1);
                        vr_sb_put(&b, parts[k]->p, parts[k]->len);
                    }
                    vr_jw_arr_end(&w);
                }
                vr_jw_obj_end(&w);
            } else {
                vr_jw_null(&w);
            }
        }
        vr_jw_key(&w, "finish_reason");
        vr_jw_str(&w, ch->finish_reason[0] ? ch->finish_reason : "abort");
        vr_jw_key(&w, "stop_reason");
        w_stop_reason(&w, ch);
        if (g->p.return_token_ids) {
            vr_jw_key(&w, "token_ids");
            vr_jw_arr_begin(&w);
            for (size_t t = 0; t < ch->n_ids; t++) vr_jw_int(&w, ch->ids[t]);
            vr_jw_arr_end(&w);
        }
        vr_jw_obj_end(&w);
    }
    vr_jw_arr_end(&w);
    vr_jw_key(&w, "usage");
    w_usage(&w, g);
    vr_jw_obj_end(&w);
    vr_send_json(g->c, 200, &b);
}

static void send_embedding_body(vr_gen *g) {
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "id");
    vr_jw_str(&w, g->id);
    vr_jw_key(&w, "object");
    vr_jw_str(&w, "list");
    vr_jw_key(&w, "created");
    vr_jw_int(&w, g->created);
    vr_jw_key(&w, "model");
    vr_jw_str(&w, g->model);
    vr_jw_key(&w, "data");
    vr_jw_arr_begin(&w);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < g->n_subs; i++) {
        int dim = g->emb_dim[i];
        float *v = g->emb[i];
        /* dimensions: keep the first d values and renormalize (Matryoshka). */
        if (g->dimensions > 0 && g->dimensions < dim) {
            dim = (int)g->dimensions;
            double n2 = 0;
            for (int k = 0; k < dim; k++) n2 += (double)v[k] * v[k];
            double inv = n2 > 0 ? 1.0 / sqrt(n2) : 0;
            for (int k = 0; k < dim; k++) v[k] = (float)(v[k] * inv);
        }
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "index");
        vr_jw_int(&w, i);
        vr_jw_key(&w, "object");
        vr_jw_str(&w, "embedding");
        vr_jw_key(&w, "embedding");
        if (g->base64) {
            /* little-endian float32, base64 (what numpy.frombuffer expects) */
            vr_sbuf raw = {0};
            for (int k = 0; k < dim; k++) {
                uint32_t u;
                memcpy(&u, &v[k], 4);
                unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                                       (unsigned char)(u >> 24)};
                vr_sb_put(&raw, le, 4);
            }
            vr_sbuf enc = {0};
            const unsigned char *r = (const unsigned char *)raw.p;
            for (size_t k = 0; k < raw.len; k += 3) {
                unsigned x = (unsigned)r[k] << 16 | (k + 1 < raw.len ? (unsigned)r[k + 1] << 8 : 0) |
                             (k + 2 < raw.len ? r[k + 2] : 0);
                char q[4] = {b64[x >> 18 & 63], b64[x >> 12 & 63], k + 1 < raw.len ? b64[x >> 6 & 63] : '=',
                             k + 2 < raw.len ? b64[x & 63] : '='};
                vr_sb_put(&enc, q, 4);
            }
            vr_jw_strn(&w, enc.p ? enc.p : "", enc.len);
            vr_sb_free(&raw);
            vr_sb_free(&enc);
        } else {
            vr_jw_arr_begin(&w);
            for (int k = 0; k < dim; k++) vr_jw_float(&w, v[k]);
            vr_jw_arr_end(&w);
        }
        vr_jw_obj_end(&w);
    }
    vr_jw_arr_end(&w);
    vr_jw_key(&w, "usage");
    w_usage(&w, g);
    vr_jw_obj_end(&w);
    vr_send_json(g->c, 200, &b);
}

/* Every engine request has delivered its last delta: answer and release. */
static void finish(vr_gen *g) {
    long completion = 0;
    for (int i = 0; i < g->n_choices; i++) completion += g->ch[i].completion_tokens;
    vr_http_note_tokens(g->c, g->prompt_tokens, completion);
    if (g->streaming) {
        if (g->error_status) stream_error(g, g->error_status, g->error_msg ? g->error_msg : "internal error");
        if (g->p.include_usage) {
            vr_sbuf b = {0};
            vr_jw w;
            vr_jw_init(&w, &b);
            w_chunk_head(&w, g);
            vr_jw_arr_end(&w);
            vr_jw_key(&w, "usage");
            w_usage(&w, g);
            vr_jw_obj_end(&w);
            emit(g, &b);
        }
        vr_sse_done(&g->out);
        if (g->out.len) vr_http_stream_write(g->c, g->out.p, g->out.len);
        g->out.len = 0;
        vr_http_stream_end(g->c);
    } else if (g->error_status) {
        vr_send_error_with_headers(g->c, g->error_status, g->error_status == 429 ? "retry-after: 1\r\n" : NULL, NULL,
                                   g->error_msg ? g->error_msg : "internal error");
    } else if (g->api == VR_API_EMBEDDING) {
        int missing = 0;
        for (int i = 0; i < g->n_subs; i++) missing |= !g->emb[i];
        if (missing) vr_send_error(g->c, g->aborted ? 503 : 500, NULL, "the embedding request was aborted");
        else send_embedding_body(g);
    } else {
        send_completion_body(g);
    }
    gen_free(g);
}

static void set_error(vr_gen *g, int status, const char *msg) {
    if (g->error_status) return;
    g->error_status = status;
    g->error_msg = strdup(msg);
}

/* ---- engine events ---- */

void vr_gen_on_event(vr_outev *e) {
    vr_sub *sub = e->user;
    vr_gen *g = sub->gen;
    vr_server *s = g->s;
    int idx = sub->index * g->n + e->seq_index;
    if (e->seq_index < 0 || e->seq_index >= g->n) idx = -1;
    vr_choice *ch = idx >= 0 ? &g->ch[idx] : NULL;
    if (e->error) set_error(g, 500, e->error);

    if (ch && g->api == VR_API_EMBEDDING && e->embedding) {
        g->emb[sub->index] = e->embedding;
        g->emb_dim[sub->index] = e->embedding_dim;
        e->embedding = NULL;
    }
    /* echo + logprobs: the prompt's own logprobs lead the arrays */
    if (e->prompt_logprobs && g->prompt_lp && g->prompt_ids && g->prompt_ids[sub->index]) {
        vr_sbuf *pl = &g->prompt_lp[sub->index * 4];
        size_t off = 0;
        int n = e->n_prompt < (int)g->n_prompt_ids[sub->index] ? e->n_prompt : (int)g->n_prompt_ids[sub->index];
        if (!pl[0].len)
            comp_lp_items(s, g->prompt_ids[sub->index], e->prompt_logprobs, e->prompt_top_ids, e->prompt_top_logprobs,
                          n, e->n_prompt_top, &off, &pl[0], &pl[1], &pl[2], &pl[3], 1);
    }
    if (ch) {
        if (e->n_new > 0) {
            if (ch->got_first) {
                double gap = (double)(e->arrival_ns - ch->last_ns) / 1e9 / e->n_new;
                for (int t = 0; t < e->n_new; t++) vr_hist_observe(&s->metrics.itl, gap);
            }
            ch->got_first = 1;
            ch->last_ns = e->arrival_ns;
            ch->completion_tokens += e->n_new;
            if (g->p.return_token_ids) {
                if (ch->n_ids + (size_t)e->n_new > ch->cap_ids) {
                    size_t cap = (ch->cap_ids ? ch->cap_ids * 2 : 64) + (size_t)e->n_new;
                    int32_t *p = realloc(ch->ids, cap * sizeof *p);
                    if (p) {
                        ch->ids = p;
                        ch->cap_ids = cap;
                    }
                }
                if (ch->n_ids + (size_t)e->n_new <= ch->cap_ids) {
                    memcpy(ch->ids + ch->n_ids, e->ids, (size_t)e->n_new * sizeof *e->ids);
                    ch->n_ids += (size_t)e->n_new;
                }
            }
        }
        if (e->completion_tokens > ch->completion_tokens) ch->completion_tokens = e->completion_tokens;
        if (e->finished) {
            ch->finished = 1;
            snprintf(ch->finish_reason, sizeof ch->finish_reason, "%s", e->finish_reason[0] ? e->finish_reason : "stop");
            ch->stop_str = e->stop_str;
            e->stop_str = NULL;
            ch->stop_token = e->stop_token;
        }
        if (ch->parser) {
            /* Text goes through the reasoning / tool-call parser; the
             * collectors (pd for a stream chunk, pr for the whole answer)
             * receive what it lets out. */
            if (e->text_len && vr_parser_feed(ch->parser, e->text, e->text_len)) set_error(g, 500, "out of memory");
            if (e->finished) {
                if (vr_parser_finish(ch->parser)) set_error(g, 500, "out of memory");
                /* A named function is not a "tool_calls" finish in vLLM;
                 * a constrained list cut by the length limit stays
                 * "length" (its complete calls are still returned). */
                int forced = g->tool_choice != VR_TOOL_CHOICE_AUTO;
                if (vr_parser_tool_calls(ch->parser) > 0 && strcmp(ch->finish_reason, "abort") &&
                    g->tool_choice != VR_TOOL_CHOICE_NAMED && (!forced || !strcmp(ch->finish_reason, "stop")))
                    snprintf(ch->finish_reason, sizeof ch->finish_reason, "tool_calls");
                unsigned warn = vr_parser_warnings(ch->parser);
                if (warn & (VR_WARN_MALFORMED_CALL | VR_WARN_ABORTED_CALL | VR_WARN_UNKNOWN_TOOL))
                    fprintf(stderr, "WARNING vireo: %s: the model wrote a malformed tool call; kept as content\n",
                            g->id);
            }
        }
        if (g->streaming) {
            const char *echo = NULL;
            size_t echo_len = 0;
            if (g->echo && !ch->echo_sent && g->echo[sub->index]) {
                echo = g->echo[sub->index];
                echo_len = g->echo_len[sub->index];
            }
            ch->echo_sent = 1;
            stream_delta(g, idx, ch, e, echo, echo_len);
            if (ch->parser) vr_parse_delta_clear(&ch->pd);
        } else if (g->api != VR_API_EMBEDDING) {
            vr_sb_put(&ch->text, e->text, e->text_len);
            if (e->logprobs && e->n_new > 0) {
                if (g->api == VR_API_CHAT) {
                    chat_lp_items(s, e, &ch->lp);
                } else {
                    if (!ch->echo_sent && g->echo && g->echo[sub->index]) ch->text_offset += g->echo_len[sub->index];
                    comp_lp_items(s, e->ids, e->logprobs, e->top_ids, e->top_logprobs, e->n_new, e->n_top,
                                  &ch->text_offset, &ch->lp_tok, &ch->lp_val, &ch->lp_top, &ch->lp_off, 0);
                }
            }
            ch->echo_sent = 1;
        }
    }
    if (e->request_finished && !sub->finished) {
        sub->finished = 1;
        g->n_live--;
        g->prompt_tokens += e->prompt_tokens;
        g->cached_tokens += e->cached_tokens;
        long gen_tokens = 0;
        for (int k = 0; k < g->n; k++) gen_tokens += g->ch[sub->index * g->n + k].completion_tokens;
        vr_hist_observe(&s->metrics.e2e, e->e2e_time_s);
        vr_hist_observe(&s->metrics.queue, e->queue_time_s);
        if (g->api != VR_API_EMBEDDING && gen_tokens > 0) vr_hist_observe(&s->metrics.ttft, e->first_token_time_s);
        vr_hist_observe(&s->metrics.prompt_tokens, e->prompt_tokens);
        if (g->api != VR_API_EMBEDDING) vr_hist_observe(&s->metrics.generation_tokens, (double)gen_tokens);
    }
    vr_outev_free(e);
    if (g->n_live == 0) {
        if (g->streaming && g->out.len) {
            vr_http_stream_write(g->c, g->out.p, g->out.len);
            g->out.len = 0;
        }
        finish(g);
    }
}

/* ---- submission ---- */

static int status_of(int rc) {
    switch (rc) {
    case VR_E_INVALID: return 400;
    case VR_E_DUPLICATE: return 400;
    case VR_E_QUEUE_FULL: return 429;
    case VR_E_SHUTDOWN: return 503;
    default: return 500;
    }
}

void vr_gen_submit(vr_gen *g, vr_prep *prep) {
    vr_server *s = g->s;
    if (prep->failed) {
        vr_send_error(g->c, prep->status, prep->status == 400 ? (g->api == VR_API_CHAT ? "messages" : g->api == VR_API_EMBEDDING ? "input" : "prompt") : NULL, "%s", prep->err);
        vr_prep_free(prep);
        gen_free(g);
        return;
    }
    if (vr_http_conn_closed(g->c) || s->stopping) { /* client left while we prepared */
        if (!vr_http_conn_closed(g->c)) vr_send_error(g->c, 503, NULL, "the server is shutting down");
        vr_prep_free(prep);
        gen_free(g);
        return;
    }
    int np = prep->n_out;
    g->n_subs = np;
    g->subs = calloc((size_t)np, sizeof *g->subs);
    g->n_choices = np * g->n;
    g->ch = calloc((size_t)g->n_choices, sizeof *g->ch);
    if (g->api == VR_API_EMBEDDING) {
        g->emb = calloc((size_t)np, sizeof *g->emb);
        g->emb_dim = calloc((size_t)np, sizeof *g->emb_dim);
    }
    if (!g->subs || !g->ch || (g->api == VR_API_EMBEDDING && (!g->emb || !g->emb_dim))) {
        vr_send_error(g->c, 500, NULL, "out of memory");
        vr_prep_free(prep);
        gen_free(g);
        return;
    }
    for (int i = 0; i < g->n_choices; i++) g->ch[i].stop_token = -1;
    if (g->use_parser) {
        vr_parser_opts po;
        memset(&po, 0, sizeof po);
        po.tool_parser = g->tool_parser;
        po.reasoning_parser = g->reasoning_parser;
        po.think_start = g->think_off ? VR_THINK_OFF
                         : prep->rendered && vr_prompt_opens_think(prep->rendered, prep->rendered_len) ? VR_THINK_OPEN
                                                                                                     : VR_THINK_DEFAULT;
        po.tool_choice = g->tool_choice;
        po.named_function = g->named_function;
        po.tool_names = g->tool_names;
        po.n_tool_names = g->n_tool_names;
        po.max_calls = g->max_calls;
        po.id_fn = tool_id;
        po.id_user = g;
        for (int i = 0; i < g->n_choices; i++) {
            vr_choice *ch = &g->ch[i];
            char perr[256];
            ch->parser = g->p.stream ? vr_parser_create(&po, vr_parse_delta_collect, &ch->pd, perr, sizeof perr)
                                     : vr_parser_create(&po, vr_parse_collect, &ch->pr, perr, sizeof perr);
            if (!ch->parser) {
                vr_send_error(g->c, 500, NULL, "cannot set up the output parser: %s", perr);
                vr_prep_free(prep);
                gen_free(g);
                return;
            }
        }
    }
    /* echo of token-id prompts: decode them */
    if (g->echo && g->api == VR_API_COMPLETION)
        for (int i = 0; i < np; i++)
            if (!g->echo[i] && s->tok)
                vr_tokenizer_decode(s->tok, prep->ids[i], prep->n_ids[i], 0, &g->echo[i], &g->echo_len[i], NULL, 0);
    /* echo + logprobs: keep the prompt ids to name the prompt tokens */
    if (g->echo && g->p.sp.prompt_logprobs >= 0) {
        g->prompt_lp = calloc((size_t)np * 4, sizeof *g->prompt_lp);
        g->prompt_ids = calloc((size_t)np, sizeof *g->prompt_ids);
        g->n_prompt_ids = calloc((size_t)np, sizeof *g->n_prompt_ids);
        if (g->prompt_ids && g->n_prompt_ids)
            for (int i = 0; i < np; i++) {
                g->prompt_ids[i] = prep->ids[i];
                g->n_prompt_ids[i] = prep->n_ids[i];
                prep->ids[i] = NULL; /* moved */
            }
    }
    const char *prompt_param = g->api == VR_API_CHAT ? "messages" : g->api == VR_API_EMBEDDING ? "input" : "prompt";
    for (int i = 0; i < np; i++) {
        int32_t *ids = prep->ids[i] ? prep->ids[i] : g->prompt_ids[i];
        size_t n = prep->n_ids[i];
        if (g->p.truncate_prompt_tokens > 0 && n > (size_t)g->p.truncate_prompt_tokens) {
            ids += n - (size_t)g->p.truncate_prompt_tokens; /* keep the end, like vLLM */
            n = (size_t)g->p.truncate_prompt_tokens;
        }
        char err[512] = "";
        int rc = VR_E_INVALID;
        int status = 400;
        if (n == 0) {
            snprintf(err, sizeof err, "%s%s is empty (0 tokens)", prompt_param, np > 1 ? "[i]" : "");
        } else if (s->info && n >= (size_t)s->info->max_model_len + (g->api == VR_API_EMBEDDING)) {
            snprintf(err, sizeof err,
                     "This model's maximum context length is %d tokens. However, your request has %zu input tokens. "
                     "Please reduce the length of the input.",
                     s->info->max_model_len, n);
        } else {
            vr_sub *sub = &g->subs[i];
            sub->srv = s;
            sub->gen = g;
            sub->index = i;
            if (np > 1) snprintf(sub->id, sizeof sub->id, "%s-%d", g->id, i);
            else snprintf(sub->id, sizeof sub->id, "%s", g->id);
            vr_sampling_params sp = g->p.sp;
            if ((g->tool_choice != VR_TOOL_CHOICE_AUTO || g->json_object) && add_guided(g, &sp, err, sizeof err)) {
                rc = VR_E_NOMEM;
                status = 500;
            } else {
                rc = vr_engine_submit(s->engine, sub->id, g->api == VR_API_EMBEDDING ? VR_REQ_EMBED : VR_REQ_GENERATE,
                                      ids, (int)n, &sp, g->p.priority, vr_server_on_output, sub, err, sizeof err);
                status = status_of(rc);
            }
            if (rc == VR_E_OK) {
                sub->submitted = 1;
                g->n_live++;
                continue;
            }
        }
        /* This prompt failed: abort the ones already queued; answer once they end. */
        if (g->n_live == 0) {
            const char *param = status == 400 ? (strstr(err, "max_tokens") ? "max_tokens" : prompt_param) : NULL;
            if (status == 429)
                vr_send_error_with_headers(g->c, 429, "retry-after: 1\r\n", NULL, err);
            else
                vr_send_error(g->c, status, param, "%s", err);
            vr_prep_free(prep);
            gen_free(g);
            return;
        }
        set_error(g, status, err);
        abort_subs(g);
        break;
    }
    vr_prep_free(prep);
    vr_http_set_abort_hook(g->c, on_conn_abort, g);
    if (g->p.stream && !g->error_status) {
        g->streaming = 1;
        vr_http_stream_begin(g->c, 200, "text/event-stream; charset=utf-8", NULL);
        if (g->api == VR_API_CHAT) stream_role_chunks(g);
        if (g->out.len) {
            vr_http_stream_write(g->c, g->out.p, g->out.len);
            g->out.len = 0;
        }
    }
}

void vr_gen_prepared(vr_prep *p) { vr_gen_submit(p->ud, p); }
