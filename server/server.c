/* server/server.c — the server object: model + engine + template, listeners,
 * the engine->loop output queue, signals and graceful stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/parsers/parsers.h"
#include "server/server_impl.h"

void vr_server_options_default(vr_server_options *o) {
    memset(o, 0, sizeof *o);
    vr_engine_options_default(&o->engine);
    o->engine.model_path = NULL;
    o->host = "0.0.0.0";
    o->port = 8000;
    o->log_requests = 1;
    o->max_body_bytes = 32u * 1024 * 1024;
    o->max_header_bytes = 64 * 1024;
    o->request_timeout_ms = 30000;
    o->idle_timeout_ms = 75000;
    o->install_signal_handlers = 1;
}

/* ---- engine thread -> loop thread ---- */

static void *dup_mem(const void *p, size_t n) {
    if (!p || !n) return NULL;
    void *q = malloc(n);
    if (q) memcpy(q, p, n);
    return q;
}

void vr_outev_free(vr_outev *e) {
    if (!e) return;
    free(e->ids);
    free(e->text);
    free(e->logprobs);
    free(e->top_ids);
    free(e->top_logprobs);
    free(e->prompt_logprobs);
    free(e->prompt_top_ids);
    free(e->prompt_top_logprobs);
    free(e->embedding);
    free(e->stop_str);
    free(e->error);
    free(e);
}

/* Engine thread: copy everything the loop will need (the delta's pointers
 * die when this returns) and wake the loop. On allocation failure the
 * event still goes through, flagged with an error, so the request ends. */
void vr_server_on_output(void *user, const vr_output_delta *d) {
    vr_sub *sub = user;
    vr_server *s = sub->srv;
    vr_outev *e = calloc(1, sizeof *e);
    if (!e) return; /* nothing we can do without memory; the request will hang only if finals are lost */
    e->user = sub;
    e->seq_index = d->seq_index;
    e->n_new = d->n_new;
    e->ids = dup_mem(d->new_ids, sizeof(int32_t) * (size_t)d->n_new);
    if (d->text_len) {
        e->text = malloc(d->text_len + 1);
        if (e->text) {
            memcpy(e->text, d->text, d->text_len);
            e->text[d->text_len] = 0;
            e->text_len = d->text_len;
        }
    }
    if (d->logprobs) {
        e->logprobs = dup_mem(d->logprobs, sizeof(float) * (size_t)d->n_new);
        e->n_top = d->n_top;
        e->top_ids = dup_mem(d->top_ids, sizeof(int32_t) * (size_t)d->n_new * (size_t)d->n_top);
        e->top_logprobs = dup_mem(d->top_logprobs, sizeof(float) * (size_t)d->n_new * (size_t)d->n_top);
    }
    if (d->prompt_logprobs && d->n_prompt > 0) {
        e->n_prompt = d->n_prompt;
        e->n_prompt_top = d->n_prompt_top;
        e->prompt_logprobs = dup_mem(d->prompt_logprobs, sizeof(float) * (size_t)d->n_prompt);
        e->prompt_top_ids = dup_mem(d->prompt_top_ids, sizeof(int32_t) * (size_t)d->n_prompt * (size_t)d->n_prompt_top);
        e->prompt_top_logprobs =
            dup_mem(d->prompt_top_logprobs, sizeof(float) * (size_t)d->n_prompt * (size_t)d->n_prompt_top);
    }
    if (d->embedding && d->embedding_dim > 0) {
        e->embedding = dup_mem(d->embedding, sizeof(float) * (size_t)d->embedding_dim);
        e->embedding_dim = e->embedding ? d->embedding_dim : 0;
    }
    e->finished = d->finished;
    e->request_finished = d->request_finished;
    if (d->finish_reason) snprintf(e->finish_reason, sizeof e->finish_reason, "%s", d->finish_reason);
    if (d->stop_str) e->stop_str = strdup(d->stop_str);
    e->stop_token = d->stop_token;
    if (d->error) e->error = strdup(d->error);
    e->prompt_tokens = d->prompt_tokens;
    e->completion_tokens = d->completion_tokens;
    e->cached_tokens = d->cached_tokens;
    e->queue_time_s = d->queue_time_s;
    e->first_token_time_s = d->first_token_time_s;
    e->e2e_time_s = d->e2e_time_s;
    e->arrival_ns = uv_hrtime();
    pthread_mutex_lock(&s->q_mu);
    if (s->q_tail) s->q_tail->next = e;
    else s->q_head = e;
    s->q_tail = e;
    pthread_mutex_unlock(&s->q_mu);
    uv_async_send(&s->out_async);
}

/* Loop thread: drain the queue; all events of one wake-up are applied
 * before anything is written, so a burst of deltas becomes one write per
 * connection (coalescing). */
static void on_out_async(uv_async_t *a) {
    vr_server *s = a->data;
    pthread_mutex_lock(&s->q_mu);
    vr_outev *e = s->q_head;
    s->q_head = s->q_tail = NULL;
    pthread_mutex_unlock(&s->q_mu);
    while (e) {
        vr_outev *next = e->next;
        vr_gen_on_event(e);
        e = next;
    }
    vr_gen_flush_all(s);
}

/* ---- stop ---- */

static void close_all(vr_server *s) {
    if (s->handles_closed) return;
    s->handles_closed = 1;
    uv_close((uv_handle_t *)&s->out_async, NULL);
    uv_close((uv_handle_t *)&s->stop_async, NULL);
    if (s->opt.install_signal_handlers) {
        uv_close((uv_handle_t *)&s->sig_int, NULL);
        uv_close((uv_handle_t *)&s->sig_term, NULL);
    }
}

void vr_server_maybe_finish_stop(vr_server *s) {
    if (s->stopping && !s->gens && vr_http_server_connections(s->http) == 0) close_all(s);
}

static void on_drained(void *ud) { vr_server_maybe_finish_stop(ud); }

static void begin_stop(vr_server *s) {
    if (s->stopping) return;
    s->stopping = 1;
    if (!s->opt.quiet) fprintf(stderr, "INFO vireo: shutting down (aborting running requests)\n");
    vr_gen_abort_all(s);
    vr_http_server_shutdown(s->http, on_drained, s);
    vr_server_maybe_finish_stop(s);
}

static void on_stop_async(uv_async_t *a) { begin_stop(a->data); }

static void on_signal(uv_signal_t *h, int signum) {
    (void)signum;
    begin_stop(h->data);
}

void vr_server_stop(vr_server *s) { uv_async_send(&s->stop_async); }

/* ---- create ---- */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    vr_sbuf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) vr_sb_put(&b, tmp, n);
    fclose(f);
    if (b.oom) {
        vr_sb_free(&b);
        return NULL;
    }
    *len = b.len;
    return vr_sb_take(&b);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* --chat-template (file, else inline text), else chat_template.jinja in the
 * model folder, else tokenizer_config.json's. A broken explicit template is a
 * startup error; a model without one only makes chat answer 400. */
static int load_template(vr_server *s, char *err, size_t errlen) {
    char *src = NULL;
    size_t len = 0;
    const char *from = NULL;
    char path[4096];
    if (s->opt.chat_template) {
        const char *t = s->opt.chat_template;
        if (is_file(t)) {
            src = read_file(t, &len);
            from = t;
            if (!src) {
                snprintf(err, errlen, "--chat-template: cannot read %s", t);
                return -1;
            }
        } else if (strstr(t, "{{") || strstr(t, "{%")) {
            src = strdup(t);
            len = strlen(t);
            from = "--chat-template (inline)";
        } else {
            snprintf(err, errlen, "--chat-template: no such file: %s", t);
            return -1;
        }
    } else if (s->opt.engine.model_path) {
        snprintf(path, sizeof path, "%s/chat_template.jinja", s->opt.engine.model_path);
        if (is_file(path)) {
            src = read_file(path, &len);
            from = path;
        } else if (s->tok) {
            const char *t = vr_tokenizer_chat_template(s->tok, NULL);
            if (t) {
                src = strdup(t);
                len = strlen(t);
                from = "tokenizer_config.json";
            }
        }
    }
    if (!src) {
        snprintf(s->tmpl_error, sizeof s->tmpl_error,
                 "the model has no chat template; pass one with --chat-template FILE");
        return 0;
    }
    char terr[512];
    int rc = vr_template_compile(src, len, &s->tmpl, terr, sizeof terr);
    free(src);
    if (rc) {
        if (s->opt.chat_template) {
            snprintf(err, errlen, "chat template %s: %s", from, terr);
            return -1;
        }
        snprintf(s->tmpl_error, sizeof s->tmpl_error, "the model's chat template (%.200s) does not compile: %.300s", from,
                 terr);
        fprintf(stderr, "WARNING vireo: %s\n", s->tmpl_error);
    }
    return 0;
}

int vr_server_create(const vr_server_options *o, vr_server **out, char *err, size_t errlen) {
    *out = NULL;
    vr_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->opt = *o;
    s->created = time(NULL);
    if (o->tool_call_parser && *o->tool_call_parser && !vr_tool_parser_known(o->tool_call_parser)) {
        snprintf(err, errlen, "--tool-call-parser %s: unknown (known: %s)", o->tool_call_parser, vr_tool_parser_names);
        free(s);
        return -1;
    }
    if (o->reasoning_parser && *o->reasoning_parser && !vr_reasoning_parser_known(o->reasoning_parser)) {
        snprintf(err, errlen, "--reasoning-parser %s: unknown (known: %s)", o->reasoning_parser,
                 vr_reasoning_parser_names);
        free(s);
        return -1;
    }
    s->port = -1;
    vr_metrics_init(&s->metrics);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write must be an error code, not a kill */

    if (o->engine.model_path) {
        vr_engine_options eo = o->engine;
        eo.quiet = eo.quiet || o->quiet;
        if (vr_engine_create(&eo, &s->engine, err, errlen)) {
            free(s);
            return -1;
        }
        s->info = vr_engine_get_info(s->engine);
        s->tok = vr_engine_tokenizer(s->engine);
        s->root = strdup(o->engine.model_path);
    }
    for (int i = 0; i < o->n_served_model_names && i < VR_SERVER_MAX_LIST; i++)
        s->model_names[s->n_model_names++] = o->served_model_names[i];
    if (!s->n_model_names) s->model_names[s->n_model_names++] = o->engine.model_path ? o->engine.model_path : "vireo";
    if (load_template(s, err, errlen)) {
        vr_server_destroy(s);
        return -1;
    }

    if (uv_loop_init(&s->loop)) {
        snprintf(err, errlen, "cannot create the event loop");
        vr_engine_destroy(s->engine);
        vr_template_free(s->tmpl);
        free(s->root);
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->q_mu, NULL);
    uv_async_init(&s->loop, &s->out_async, on_out_async);
    s->out_async.data = s;
    uv_async_init(&s->loop, &s->stop_async, on_stop_async);
    s->stop_async.data = s;
    if (o->install_signal_handlers) {
        uv_signal_init(&s->loop, &s->sig_int);
        uv_signal_init(&s->loop, &s->sig_term);
        s->sig_int.data = s->sig_term.data = s;
        uv_signal_start(&s->sig_int, on_signal, SIGINT);
        uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    }
    vr_http_config hc = {
        .max_header_bytes = o->max_header_bytes,
        .max_body_bytes = o->max_body_bytes,
        .request_timeout_ms = o->request_timeout_ms,
        .idle_timeout_ms = o->idle_timeout_ms,
        .log_requests = o->log_requests,
        .handler = vr_route,
        .handler_ud = s,
    };
    s->http = vr_http_server_create(&s->loop, &hc);
    int rc = s->http ? 0 : -1;
    if (rc) snprintf(err, errlen, "out of memory");
    if (!rc && o->port >= 0) rc = vr_http_listen_tcp(s->http, o->host, o->port, &s->port, err, errlen);
    if (!rc && o->uds) {
        rc = vr_http_listen_unix(s->http, o->uds, err, errlen);
        s->uds_bound = rc == 0;
    }
    if (!rc && o->port < 0 && !o->uds) {
        snprintf(err, errlen, "nothing to listen on (no port and no --uds)");
        rc = -1;
    }
    if (rc) {
        /* Close what was opened and let the loop run the close callbacks. */
        s->stopping = 1;
        vr_http_server_shutdown(s->http, NULL, NULL);
        close_all(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        vr_server_destroy(s);
        return -1;
    }
    *out = s;
    return 0;
}

int vr_server_port(const vr_server *s) { return s->port; }

/* What a user needs at a glance: what is served, on what, where, and a
 * command to try it. The "listening on" line is also what scripts and tests
 * wait for (it carries the bound port when --port 0 was asked). */
static void startup_summary(vr_server *s) {
    if (s->opt.quiet) return;
    if (s->info) {
        const vr_engine_info *i = s->info;
        fprintf(stderr,
                "INFO vireo %s: model %s (%s, %s on %s), max_model_len %d, KV cache %ld tokens (%d blocks of %d), "
                "max_num_seqs %d\n",
                VIREO_VERSION, i->model_path ? i->model_path : s->root, i->architecture ? i->architecture : "?",
                i->dtype ? i->dtype : "?", i->device ? i->device : "?", i->max_model_len, i->kv_tokens,
                i->num_kv_blocks, i->block_size, i->max_num_seqs);
        if (!s->tmpl) fprintf(stderr, "WARNING vireo: %s (chat completions will answer 400)\n", s->tmpl_error);
    } else {
        fprintf(stderr, "INFO vireo %s: no model loaded\n", VIREO_VERSION);
    }
    const char *host = s->opt.host && *s->opt.host ? s->opt.host : "0.0.0.0";
    const char *shown = !strcmp(host, "0.0.0.0") || !strcmp(host, "::") ? "127.0.0.1" : host;
    int v6 = strchr(shown, ':') != NULL;
    if (s->port >= 0)
        fprintf(stderr, "INFO vireo: listening on http://%s%s%s:%d\n", v6 ? "[" : "", shown, v6 ? "]" : "", s->port);
    if (s->opt.uds) fprintf(stderr, "INFO vireo: listening on unix:%s\n", s->opt.uds);
    if (s->port >= 0)
        fprintf(stderr,
                "INFO vireo: try it:\n  curl http://%s%s%s:%d/v1/chat/completions -H 'Content-Type: application/json'%s "
                "-d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}], "
                "\"max_tokens\": 32}'\n",
                v6 ? "[" : "", shown, v6 ? "]" : "", s->port,
                s->opt.n_api_keys ? " -H \"Authorization: Bearer $VLLM_API_KEY\"" : "", s->model_names[0]);
}

int vr_server_run(vr_server *s) {
    startup_summary(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return 0;
}

void vr_server_destroy(vr_server *s) {
    if (!s) return;
    vr_engine_destroy(s->engine); /* no callbacks after this */
    vr_outev *e = s->q_head;
    while (e) {
        vr_outev *n = e->next;
        vr_outev_free(e);
        e = n;
    }
    if (s->http) {
        uv_loop_close(&s->loop);
        vr_http_server_free(s->http);
        pthread_mutex_destroy(&s->q_mu);
    }
    if (s->uds_bound) unlink(s->opt.uds); /* ours: a later start can bind it again */
    vr_template_free(s->tmpl);
    free(s->root);
    free(s);
}
