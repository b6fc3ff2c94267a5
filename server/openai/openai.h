/* server/openai/openai.h — private to server/openai: request preparation
 * (templating + tokenizing, off the loop when large) and request-field
 * parsing shared by the routes. */
#ifndef VR_SERVER_OPENAI_H
#define VR_SERVER_OPENAI_H

#include "server/parsers/parsers.h"
#include "server/server_impl.h"

/* ---- field access with errors that name the field (fields.c) ---- */

/* Every getter: absent or JSON null leaves *out unchanged and returns 0; a
 * wrong type or range writes the message, sets *param and returns -1. */
typedef struct vr_field_err {
    const char *param;
    char msg[512];
} vr_field_err;

int vr_get_bool(const vr_json *o, const char *key, int *out, vr_field_err *e);
int vr_get_int(const vr_json *o, const char *key, long long lo, long long hi, long long *out, vr_field_err *e);
int vr_get_num(const vr_json *o, const char *key, double lo, double hi, double *out, vr_field_err *e);
int vr_get_str(const vr_json *o, const char *key, const char **out, vr_field_err *e);
int vr_field_fail(vr_field_err *e, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- sampling / request options (params.c) ---- */

#define VR_MAX_STOP 64
#define VR_MAX_TOOLS 1024 /* tools in one chat request */

typedef struct vr_req_params {
    vr_sampling_params sp;
    const char *stop[VR_MAX_STOP];
    int32_t *stop_ids;
    int32_t *bias_ids;
    float *bias_vals;
    int stream, include_usage;
    int priority;
    const char *request_id;
    int echo;
    int return_token_ids;
    int logprobs_chat, top_logprobs; /* chat: logprobs bool + top_logprobs */
    int logprobs_k;                  /* completions: -1 off */
    int add_special_tokens;
    long long truncate_prompt_tokens; /* -1 off */
    int max_tokens_given;
} vr_req_params;

typedef enum { VR_API_CHAT, VR_API_COMPLETION, VR_API_EMBEDDING } vr_api;

int vr_parse_params(vr_server *s, const vr_json *body, vr_api api, vr_req_params *p, vr_field_err *e);
/* 400 unless p suits a constrained (JSON-shaped) output; `what` names it. */
int vr_check_constrained_params(const vr_req_params *p, const char *what, vr_field_err *e);
void vr_req_params_free(vr_req_params *p);

/* ---- chat prompt (chat_prompt.c) ---- */

/* Validates messages/tools/template options of body and writes the
 * template context JSON into ctx. *final_content (malloc'd) is the last
 * message's text when continue_final_message is set. */
int vr_chat_context(vr_server *s, const vr_json *body, vr_sbuf *ctx, int *continue_final, char **final_content,
                    vr_field_err *e);

/* ---- preparation: template + tokenizer work (prep.c) ---- */

typedef struct vr_prep vr_prep;
struct vr_prep {
    uv_work_t work;
    vr_server *s;
    /* chat: render ctx, then encode the result as one prompt */
    char *ctx;
    size_t ctx_len;
    int continue_final;
    char *final_content;
    /* plain texts (pointers into a JSON document the owner keeps alive) */
    int n_texts;
    const char **texts;
    size_t *text_lens;
    int add_special;
    /* results: one id list per text (or one for chat) */
    int n_out;
    int32_t **ids;
    size_t *n_ids;
    char *rendered;
    size_t rendered_len;
    int failed;
    int status; /* HTTP status of the failure */
    char err[600];
    void (*done)(vr_prep *p); /* on the loop thread */
    void *ud;
};

vr_prep *vr_prep_new(vr_server *s);
/* Runs the work inline when it is small, else on libuv's pool. */
void vr_prep_start(vr_prep *p);
void vr_prep_free(vr_prep *p);

/* ---- generation requests (gen.c) ---- */

/* Creates a live request context owning params (moved in: p is zeroed).
 * model: the name to echo in responses. */
vr_gen *vr_gen_new(vr_server *s, vr_http_conn *c, vr_api api, vr_req_params *p, const char *model);
/* Completions echo: the prompt texts (copied), one per prompt; NULL entries
 * are decoded from the ids. */
void vr_gen_set_echo(vr_gen *g, int n, const char *const *texts, const size_t *lens);
/* Chat: run the output through server/parsers (reasoning and/or tool
 * calls). tool_names (malloc'd array, taken) may be NULL. */
void vr_gen_set_parsers(vr_gen *g, const char *tool_parser, const char *reasoning_parser, int think_off, int max_calls,
                        const char **tool_names, size_t n_tool_names);
/* Chat tool_choice "required" / named (a function of `tools`, name pointing
 * into the request document): constrain the output (server/guided) and
 * parse it as that choice's JSON. Call after vr_gen_set_parsers. */
void vr_gen_set_guided(vr_gen *g, vr_tool_choice choice, const char *named_function);
/* response_format json_object or json_schema (chat and completions): the
 * content is constrained to one JSON value of that shape (server/guided; the
 * schema is compiled at launch from the request); no reasoning parsing (it
 * is JSON from the start). */
void vr_gen_set_json_object(vr_gen *g);
int vr_gen_echo_requested(const vr_gen *g);
/* Embeddings output options. */
void vr_gen_set_embedding(vr_gen *g, int base64, long long dimensions);
/* Submits one engine request per prompt (ids taken from prep, which is
 * freed) and answers errors itself; g may be gone when this returns. */
void vr_gen_submit(vr_gen *g, vr_prep *prep);
/* The last step of every generation route: g takes doc (params point into
 * it; freed when g ends) and the request is submitted once its prompts are
 * token ids: at once when has_ids, else after prep encodes them off the
 * event loop. The route must not touch g, prep or doc afterwards. */
void vr_gen_launch(vr_gen *g, vr_prep *prep, vr_jdoc *doc, int has_ids);
/* Parses a prompt/input field (string, [string], [int], [[int]]) into prep:
 * texts to encode, or ids directly (then *has_ids = 1 and prep->ids/n_ids
 * are filled). */
int vr_parse_prompt_input(vr_server *s, const vr_json *body, const char *key, vr_prep *prep, int *has_ids,
                          vr_field_err *e);
/* prep.done for generation routes: submits. */
void vr_gen_prepared(vr_prep *p);
/* Drop a request that never got submitted (answers nothing). */
void vr_gen_discard(vr_gen *g);

/* ---- SSE framing (sse.c) ---- */
void vr_sse_event(vr_sbuf *out, const char *json, size_t len); /* "data: <json>\n\n" */
void vr_sse_done(vr_sbuf *out);                                 /* "data: [DONE]\n\n" */

#endif
