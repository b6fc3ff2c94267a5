/* server/openai/info_routes.c — the small read-only routes: models,
 * version, health/ping, metrics. */
#include <stdio.h>
#include <string.h>

#include "server/server_impl.h"

void vr_route_models(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)r;
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "object");
    vr_jw_str(&w, "list");
    vr_jw_key(&w, "data");
    vr_jw_arr_begin(&w);
    for (int i = 0; i < s->n_model_names; i++) {
        vr_jw_obj_begin(&w);
        vr_jw_key(&w, "id");
        vr_jw_str(&w, s->model_names[i]);
        vr_jw_key(&w, "object");
        vr_jw_str(&w, "model");
        vr_jw_key(&w, "created");
        vr_jw_int(&w, (int64_t)s->created);
        vr_jw_key(&w, "owned_by");
        vr_jw_str(&w, "vireo");
        vr_jw_key(&w, "root");
        vr_jw_str(&w, s->root ? s->root : s->model_names[i]);
        vr_jw_key(&w, "parent");
        vr_jw_null(&w);
        vr_jw_key(&w, "max_model_len");
        if (s->info) vr_jw_int(&w, s->info->max_model_len);
        else vr_jw_null(&w);
        vr_jw_key(&w, "permission");
        vr_jw_arr_begin(&w);
        vr_jw_arr_end(&w);
        vr_jw_obj_end(&w);
    }
    vr_jw_arr_end(&w);
    vr_jw_obj_end(&w);
    vr_send_json(c, 200, &b);
}

void vr_route_version(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)s;
    (void)r;
    static const char body[] = "{\"version\":\"" VIREO_VERSION "\"}";
    vr_http_respond(c, 200, "application/json", NULL, body, sizeof body - 1);
}

/* 200 with an empty body while the engine is stepping (or idle); 503 when
 * its thread died or is stuck with work, so load balancers take us out. */
void vr_route_health(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)r;
    if (s->stopping) {
        vr_send_error(c, 503, NULL, "the server is shutting down");
        return;
    }
    if (s->engine && !vr_engine_healthy(s->engine)) {
        vr_send_error(c, 503, NULL, "the engine is not running (its thread died or has not stepped in 60 s)");
        return;
    }
    vr_http_respond(c, 200, NULL, NULL, "", 0);
}

void vr_route_metrics(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)r;
    vr_sbuf b = {0};
    vr_metrics_render(s, &b);
    if (b.oom) {
        vr_sb_free(&b);
        vr_send_error(c, 500, NULL, "out of memory");
        return;
    }
    vr_http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.p ? b.p : "", b.len);
    vr_sb_free(&b);
}
