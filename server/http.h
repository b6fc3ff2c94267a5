/* server/http.h — private to server/: HTTP/1.1 connections on libuv + llhttp.
 *
 * One request at a time per connection: when a request is complete the
 * parser pauses, the handler runs, and parsing resumes only after the
 * response has ended. That is what makes pipelining answer in order without
 * a reorder queue; bytes of later requests wait in the connection's buffer.
 *
 * A handler answers with vr_http_respond (one body) or with
 * vr_http_stream_begin/_write/_end (chunked; used for SSE). It may answer
 * later (after engine output or a work-queue job): it then holds a reference
 * (vr_http_conn_ref) and registers an abort hook that runs if the client goes
 * away first. Calls on a closed connection are harmless no-ops.
 * Everything here runs on the event-loop thread only. */
#ifndef VR_SERVER_HTTP_H
#define VR_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct vr_http_conn vr_http_conn;
typedef struct vr_http_server vr_http_server;

typedef struct vr_http_header {
    const char *name; /* as sent */
    const char *value;
} vr_http_header;

#define VR_HTTP_MAX_HEADERS 64

typedef struct vr_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *query;  /* after '?', "" when none */
    vr_http_header headers[VR_HTTP_MAX_HEADERS];
    size_t n_headers;
    const char *body;   /* NUL-terminated copy, body_len bytes */
    size_t body_len;
    uint64_t start_ns;  /* uv_hrtime() when the request was complete */
} vr_http_req;

/* Case-insensitive lookup; NULL when absent. */
const char *vr_http_header_get(const vr_http_req *r, const char *name);

typedef void (*vr_http_handler)(void *ud, vr_http_conn *c, const vr_http_req *req);

typedef struct vr_http_config {
    size_t max_header_bytes;     /* request line + headers; over it: 431 */
    size_t max_body_bytes;       /* over it: 413 */
    unsigned request_timeout_ms; /* first byte to complete request (slowloris): 408 */
    unsigned idle_timeout_ms;    /* keep-alive idle connection is closed */
    size_t max_connections;      /* 0 = unlimited; over it new ones are closed at once */
    int log_requests;            /* one access-log line per request on stderr */
    vr_http_handler handler;
    void *handler_ud;
} vr_http_config;

vr_http_server *vr_http_server_create(uv_loop_t *loop, const vr_http_config *cfg);
/* Bind + listen. host "0.0.0.0", "::", "127.0.0.1", a name ("localhost"), ...;
 * port 0 picks a free one, reported through *bound_port. */
int vr_http_listen_tcp(vr_http_server *s, const char *host, int port, int *bound_port, char *err, size_t errlen);
int vr_http_listen_unix(vr_http_server *s, const char *path, char *err, size_t errlen);
/* Shutdown: stop accepting, close idle connections, let busy ones end their
 * response and then close. on_drained runs once no connection is left. */
void vr_http_server_shutdown(vr_http_server *s, void (*on_drained)(void *), void *ud);
size_t vr_http_server_connections(const vr_http_server *s);
/* Call after uv_run returned (every handle closed). */
void vr_http_server_free(vr_http_server *s);

/* ---- answering ---- */

/* extra_headers: "Name: value\r\n" lines or NULL. */
void vr_http_respond(vr_http_conn *c, int status, const char *content_type, const char *extra_headers,
                     const char *body, size_t len);
int vr_http_stream_begin(vr_http_conn *c, int status, const char *content_type, const char *extra_headers);
int vr_http_stream_write(vr_http_conn *c, const char *data, size_t len);
void vr_http_stream_end(vr_http_conn *c);

/* Headers added to every response of the current request (CORS). Copied. */
void vr_http_set_common_headers(vr_http_conn *c, const char *headers);
/* Token counts for the access-log line of the current request. */
void vr_http_note_tokens(vr_http_conn *c, long prompt_tokens, long completion_tokens);

void vr_http_conn_ref(vr_http_conn *c);
void vr_http_conn_unref(vr_http_conn *c);
int vr_http_conn_closed(const vr_http_conn *c);
size_t vr_http_conn_write_backlog(const vr_http_conn *c); /* bytes queued, not yet sent */
/* fn(ud) runs once if the connection closes before the current response
 * ended (client disconnect, timeout, shutdown). Pass NULL to clear. */
void vr_http_set_abort_hook(vr_http_conn *c, void (*fn)(void *), void *ud);

const char *vr_http_status_text(int status);

#endif
