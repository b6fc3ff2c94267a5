/* server/server_impl.h — private to server/: the server object and the
 * helpers every route uses. */
#ifndef VR_SERVER_IMPL_H
#define VR_SERVER_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "chat_templates/template.h"
#include "server/http.h"
#include "json/json.h"
#include "server/json_writer.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"

/* ---- metrics (metrics.c) ---- */

#define VR_HIST_MAX_BUCKETS 24
typedef struct vr_histogram {
    const double *bounds; /* upper bounds, ascending; +Inf implied */
    int n;
    uint64_t counts[VR_HIST_MAX_BUCKETS]; /* per bucket (not cumulative) */
    uint64_t count;
    double sum;
} vr_histogram;

typedef struct vr_metrics {
    vr_histogram ttft, itl, e2e, queue, prompt_tokens, generation_tokens;
    uint64_t http_requests;
} vr_metrics;

void vr_metrics_init(vr_metrics *m);
void vr_hist_observe(vr_histogram *h, double v);
struct vr_server;
void vr_metrics_render(struct vr_server *s, vr_sbuf *out);

/* ---- engine output events: engine thread -> loop thread ---- */

typedef struct vr_outev {
    struct vr_outev *next;
    void *user;
    int seq_index;
    int32_t *ids;
    int n_new;
    char *text;
    size_t text_len;
    float *logprobs;      /* [n_new] */
    int32_t *top_ids;     /* [n_new][n_top] */
    float *top_logprobs;
    int n_top;
    float *prompt_logprobs; /* [n_prompt] */
    int32_t *prompt_top_ids;
    float *prompt_top_logprobs;
    int n_prompt, n_prompt_top;
    float *embedding;
    int embedding_dim;
    int finished, request_finished;
    char finish_reason[16];
    char *stop_str;
    int32_t stop_token;
    char *error;
    int prompt_tokens, completion_tokens, cached_tokens;
    double queue_time_s, first_token_time_s, e2e_time_s;
    uint64_t arrival_ns;
} vr_outev;

void vr_outev_free(vr_outev *e);

typedef struct vr_gen vr_gen; /* a generation/embedding HTTP request (openai/gen.c) */

/* One engine request of a vr_gen (a prompt of a batch); the engine
 * callback's `user`. */
typedef struct vr_sub {
    struct vr_server *srv;
    vr_gen *gen;
    int index;         /* prompt index */
    int submitted, finished;
    char id[96];
} vr_sub;

struct vr_server {
    vr_server_options opt;
    uv_loop_t loop;
    vr_http_server *http;
    vr_engine *engine;
    const vr_engine_info *info;
    const vr_tokenizer *tok;
    vr_template *tmpl;
    char tmpl_error[1024]; /* why there is no template */
    const char *model_names[VR_SERVER_MAX_LIST];
    int n_model_names;
    char *root; /* model path for /v1/models */
    time_t created;
    int port;
    int uds_bound;

    /* engine -> loop queue */
    pthread_mutex_t q_mu;
    vr_outev *q_head, *q_tail;
    uv_async_t out_async;

    uv_async_t stop_async;
    uv_signal_t sig_int, sig_term;
    int stopping, handles_closed;
    vr_gen *gens; /* live generation requests */
    uint64_t next_id;
    vr_metrics metrics;
};
typedef struct vr_server vr_server;

/* ---- responses (respond.c) ---- */

const char *vr_error_type(int status);
/* OpenAI error object; param may be NULL. */
void vr_send_error(vr_http_conn *c, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vr_send_error_with_headers(vr_http_conn *c, int status, const char *headers, const char *param,
                                const char *message);
void vr_error_json(vr_sbuf *b, int status, const char *param, const char *message);
void vr_send_json(vr_http_conn *c, int status, vr_sbuf *body); /* frees body */
/* Parses the body as a JSON object; on failure answers 400 and returns NULL. */
vr_jdoc *vr_parse_body(vr_http_conn *c, const vr_http_req *r);
/* Checks "model" if present: must be a served name (else 404 and returns -1). */
int vr_check_model(vr_server *s, vr_http_conn *c, const vr_json *body);
/* 503 unless an engine (and, when need_tok, a tokenizer) is loaded. */
int vr_need_engine(vr_server *s, vr_http_conn *c, int need_tok);
/* The opening every engine-backed POST route shares: parse the JSON body,
 * require a loaded engine (and its tokenizer when need_tok), and check that
 * "model", when given, names a served model. On any failure the client has
 * its answer, *doc is NULL and NULL comes back; else the body's root, with
 * *doc for the caller to free. */
const vr_json *vr_open_engine_request(vr_server *s, vr_http_conn *c, const vr_http_req *r,
                                      int need_tok, vr_jdoc **doc);
/* A fresh id "<prefix>-<hex>". */
void vr_make_id(vr_server *s, const char *prefix, char *out, size_t cap);

/* ---- routing (router.c) ---- */
void vr_route(void *ud, vr_http_conn *c, const vr_http_req *r);
/* Constant-time: 1 when the request carries one of the keys. (auth.c) */
int vr_auth_ok(const vr_server *s, const vr_http_req *r);

/* ---- routes ---- */
void vr_route_models(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_version(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_health(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_metrics(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_docs(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_openapi(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_tokenize(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_detokenize(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_chat(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_completions(vr_server *s, vr_http_conn *c, const vr_http_req *r);
void vr_route_embeddings(vr_server *s, vr_http_conn *c, const vr_http_req *r);

/* Engine callback (engine thread): copies the delta and wakes the loop. */
void vr_server_on_output(void *user, const vr_output_delta *d);
/* Loop thread: one event for a vr_gen (openai/gen.c). */
void vr_gen_on_event(vr_outev *e); /* takes e */
void vr_gen_flush_all(vr_server *s);
void vr_gen_abort_all(vr_server *s);
/* Called when the last live vr_gen is gone or the HTTP side drained. */
void vr_server_maybe_finish_stop(vr_server *s);

#endif
