/* server/respond.c — JSON responses and OpenAI-style errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_impl.h"

const char *vr_error_type(int status) {
    switch (status) {
    case 400: return "BadRequestError";
    case 401: return "AuthenticationError";
    case 403: return "PermissionDeniedError";
    case 404: return "NotFoundError";
    case 405: return "MethodNotAllowedError";
    case 408: return "RequestTimeoutError";
    case 413: return "PayloadTooLargeError";
    case 422: return "UnprocessableEntityError";
    case 429: return "RateLimitError";
    case 503: return "ServiceUnavailableError";
    default: return status >= 500 ? "InternalServerError" : "BadRequestError";
    }
}

void vr_error_json(vr_sbuf *b, int status, const char *param, const char *message) {
    vr_jw w;
    vr_jw_init(&w, b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "error");
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "message");
    vr_jw_str(&w, message);
    vr_jw_key(&w, "type");
    vr_jw_str(&w, vr_error_type(status));
    vr_jw_key(&w, "param");
    vr_jw_str(&w, param);
    vr_jw_key(&w, "code");
    vr_jw_int(&w, status);
    vr_jw_obj_end(&w);
    vr_jw_obj_end(&w);
}

void vr_send_error_with_headers(vr_http_conn *c, int status, const char *headers, const char *param,
                                const char *message) {
    vr_sbuf b = {0};
    vr_error_json(&b, status, param, message);
    vr_http_respond(c, status, "application/json", headers, b.p ? b.p : "", b.len);
    vr_sb_free(&b);
}

void vr_send_error(vr_http_conn *c, int status, const char *param, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vr_send_error_with_headers(c, status, NULL, param, msg);
}

void vr_send_json(vr_http_conn *c, int status, vr_sbuf *body) {
    if (body->oom) {
        vr_sb_free(body);
        vr_send_error(c, 500, NULL, "out of memory");
        return;
    }
    vr_http_respond(c, status, "application/json", NULL, body->p ? body->p : "", body->len);
    vr_sb_free(body);
}

vr_jdoc *vr_parse_body(vr_http_conn *c, const vr_http_req *r) {
    char err[200];
    vr_jdoc *d = vr_jdoc_parse(r->body, r->body_len, err, sizeof err);
    if (!d) {
        vr_send_error(c, 400, NULL, "the request body is not valid JSON: %s", err);
        return NULL;
    }
    if (vr_jdoc_root(d)->type != VR_JSON_OBJECT) {
        vr_send_error(c, 400, NULL, "the request body must be a JSON object, not %s",
                      vr_jtype_name(vr_jdoc_root(d)->type));
        vr_jdoc_free(d);
        return NULL;
    }
    return d;
}

int vr_check_model(vr_server *s, vr_http_conn *c, const vr_json *body) {
    const vr_json *m = vr_jget(body, "model");
    if (!m || m->type == VR_JSON_NULL) return 0;
    if (m->type != VR_JSON_STRING) {
        vr_send_error(c, 400, "model", "model must be a string, not %s", vr_jtype_name(m->type));
        return -1;
    }
    for (int i = 0; i < s->n_model_names; i++)
        if (!strcmp(m->u.str.s, s->model_names[i]) && strlen(s->model_names[i]) == m->u.str.len) return 0;
    vr_sbuf b = {0};
    vr_sb_puts(&b, "The model `");
    vr_sb_put(&b, m->u.str.s, m->u.str.len > 200 ? 200 : m->u.str.len);
    vr_sb_puts(&b, "` does not exist.");
    vr_send_error_with_headers(c, 404, NULL, "model", b.p ? b.p : "model not found");
    vr_sb_free(&b);
    return -1;
}

int vr_need_engine(vr_server *s, vr_http_conn *c, int need_tok) {
    if (!s->engine) {
        vr_send_error(c, 503, NULL, "no model is loaded");
        return -1;
    }
    if (need_tok && !s->tok) {
        vr_send_error(c, 400, NULL, "the model has no tokenizer (tokenizer.json); send token ids instead");
        return -1;
    }
    if (s->stopping) {
        vr_send_error(c, 503, NULL, "the server is shutting down");
        return -1;
    }
    return 0;
}

void vr_make_id(vr_server *s, const char *prefix, char *out, size_t cap) {
    /* Unique within the process (counter) and unlikely to repeat across
     * restarts (start time mixed in); not a secret. */
    uint64_t x = ++s->next_id ^ ((uint64_t)s->created << 20) ^ (uint64_t)(uintptr_t)s;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    snprintf(out, cap, "%s-%016llx%08llx", prefix, (unsigned long long)x, (unsigned long long)s->next_id);
}

const vr_json *vr_open_engine_request(vr_server *s, vr_http_conn *c, const vr_http_req *r,
                                      int need_tok, vr_jdoc **doc) {
    *doc = vr_parse_body(c, r);
    if (!*doc) return NULL;
    const vr_json *body = vr_jdoc_root(*doc);
    if (vr_need_engine(s, c, need_tok) || vr_check_model(s, c, body)) {
        vr_jdoc_free(*doc);
        *doc = NULL;
        return NULL;
    }
    return body;
}
