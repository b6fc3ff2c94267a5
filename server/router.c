/* server/router.c — method + path -> handler; auth; CORS; 404 / 405. */
#include <stdio.h>
#include <string.h>

#include "server/server_impl.h"

typedef void (*route_fn)(vr_server *, vr_http_conn *, const vr_http_req *);

enum { M_GET = 1, M_POST = 2 };

static const struct route {
    const char *path;
    int methods;
    int guarded; /* needs the API key when one is configured */
    route_fn fn;
} routes[] = {
    {"/v1/chat/completions", M_POST, 1, vr_route_chat},
    {"/v1/completions", M_POST, 1, vr_route_completions},
    {"/v1/embeddings", M_POST, 1, vr_route_embeddings},
    {"/tokenize", M_POST, 1, vr_route_tokenize},
    {"/detokenize", M_POST, 1, vr_route_detokenize},
    {"/v1/models", M_GET, 1, vr_route_models},
    {"/version", M_GET, 1, vr_route_version},
    {"/docs", M_GET, 1, vr_route_docs},
    {"/openapi.json", M_GET, 1, vr_route_openapi},
    {"/health", M_GET, 0, vr_route_health},
    {"/ping", M_GET | M_POST, 0, vr_route_health},
    {"/metrics", M_GET, 0, vr_route_metrics},
};

static const char *allowed_origin(const vr_server *s, const vr_http_req *r) {
    if (s->opt.n_allowed_origins == 0) return NULL;
    const char *origin = vr_http_header_get(r, "origin");
    if (!origin) return NULL;
    for (int i = 0; i < s->opt.n_allowed_origins; i++) {
        if (!strcmp(s->opt.allowed_origins[i], "*")) return "*";
        if (!strcmp(s->opt.allowed_origins[i], origin)) return origin;
    }
    return NULL;
}

static void allow_header(int methods, char *out, size_t cap) {
    snprintf(out, cap, "allow: %s%s%s\r\n", methods & M_GET ? "GET" : "", methods == (M_GET | M_POST) ? ", " : "",
             methods & M_POST ? "POST" : "");
}

void vr_route(void *ud, vr_http_conn *c, const vr_http_req *r) {
    vr_server *s = ud;
    s->metrics.http_requests++;
    const char *origin = allowed_origin(s, r);
    if (origin) {
        char h[600];
        snprintf(h, sizeof h, "access-control-allow-origin: %.500s\r\nvary: Origin\r\n", origin);
        vr_http_set_common_headers(c, h);
    }
    const struct route *rt = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(r->path, routes[i].path)) rt = &routes[i];
    if (!rt) {
        vr_send_error(c, 404, NULL, "Not Found: %.200s", r->path);
        return;
    }
    int m = !strcmp(r->method, "GET") ? M_GET : !strcmp(r->method, "POST") ? M_POST : 0;
    if (!strcmp(r->method, "OPTIONS") && origin) {
        /* CORS preflight: answered without auth (browsers send no key here). */
        const char *req_headers = vr_http_header_get(r, "access-control-request-headers");
        char h[800];
        snprintf(h, sizeof h,
                 "access-control-allow-methods: GET, POST, OPTIONS\r\n"
                 "access-control-allow-headers: %.600s\r\naccess-control-max-age: 600\r\n",
                 req_headers ? req_headers : "authorization, content-type");
        vr_http_respond(c, 204, NULL, h, "", 0);
        return;
    }
    if (!(rt->methods & m)) {
        char allow[64];
        allow_header(rt->methods, allow, sizeof allow);
        char msg[300];
        snprintf(msg, sizeof msg, "Method Not Allowed: %.20s %.200s", r->method, r->path);
        vr_send_error_with_headers(c, 405, allow, NULL, msg);
        return;
    }
    if (rt->guarded && !vr_auth_ok(s, r)) {
        vr_send_error_with_headers(c, 401, "www-authenticate: Bearer\r\n", NULL,
                                   "Unauthorized: a valid API key is required (Authorization: Bearer KEY)");
        return;
    }
    rt->fn(s, c, r);
}
