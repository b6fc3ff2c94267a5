/* server/server.h — the one public header of the server library: the
 * OpenAI-compatible HTTP server behind `vireo serve`.
 *
 * Usage:
 *   vr_server_options o; vr_server_options_default(&o);
 *   o.engine.model_path = "./Qwen3-0.6B"; o.port = 8000;
 *   vr_server *s; if (vr_server_create(&o, &s, err, sizeof err)) ...
 *   vr_server_run(s);      // blocks until SIGINT/SIGTERM or vr_server_stop
 *   vr_server_destroy(s);
 *
 * With engine.model_path NULL the server runs without a model (the HTTP
 * layer, auth, docs, version, health): routes that need one answer 503. The
 * unit tests use that mode.
 *
 * Threading: one event-loop thread (the one calling vr_server_run), the
 * engine's thread, and libuv's work pool for tokenizing/templating long
 * prompts. vr_server_stop may be called from any thread. */
#ifndef VR_SERVER_H
#define VR_SERVER_H

#include <stddef.h>

#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VR_SERVER_MAX_LIST 16

typedef struct vr_server_options {
    vr_engine_options engine;     /* model_path NULL = no model */
    const char *host;             /* default "0.0.0.0" */
    int port;                     /* default 8000; 0 = any free port */
    const char *uds;              /* also (or instead, with port -1) a unix socket */
    const char *api_keys[VR_SERVER_MAX_LIST];
    int n_api_keys;
    const char *served_model_names[VR_SERVER_MAX_LIST]; /* default: model_path */
    int n_served_model_names;
    const char *chat_template;    /* file path or inline template; NULL = model's */
    const char *allowed_origins[VR_SERVER_MAX_LIST];   /* CORS; "*" = any */
    int n_allowed_origins;
    int log_requests;             /* access log, default 1 */
    int enable_auto_tool_choice;
    const char *tool_call_parser;
    const char *reasoning_parser;
    size_t max_body_bytes;        /* default 32 MiB */
    size_t max_header_bytes;      /* default 64 KiB */
    unsigned request_timeout_ms;  /* first byte -> complete request; default 30 s */
    unsigned idle_timeout_ms;     /* keep-alive; default 75 s */
    int install_signal_handlers;  /* SIGINT/SIGTERM stop the server; default 1 */
    int quiet;                    /* no startup summary */
} vr_server_options;

void vr_server_options_default(vr_server_options *o);

typedef struct vr_server vr_server;

/* Loads the model (if any), binds the listeners. Nonzero + message on error. */
int vr_server_create(const vr_server_options *o, vr_server **out, char *err, size_t errlen);
int vr_server_port(const vr_server *s); /* the bound TCP port, -1 if none */
/* Runs the event loop until stopped; then every handle is closed. 0 on a clean stop. */
int vr_server_run(vr_server *s);
/* Graceful stop from any thread: stop accepting, abort running requests,
 * close connections once their responses end; vr_server_run then returns. */
void vr_server_stop(vr_server *s);
void vr_server_destroy(vr_server *s);

#ifdef __cplusplus
}
#endif

#endif
