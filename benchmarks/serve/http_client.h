/* benchmarks/serve/http_client.h — a small HTTP/1.1 client on libuv for the
 * load generator.
 *
 * One thread, one loop, any number of requests in flight: each request gets
 * a keep-alive connection from the pool (or a new one), responses are parsed
 * by llhttp (which also undoes chunked transfer encoding), and the body is
 * handed to the caller as it arrives so SSE can be timed chunk by chunk.
 * Anything a server can do wrong (refuse, close early, send garbage, stall)
 * ends the request through on_done with a reason; nothing aborts the process.
 *
 * Ownership: the caller owns vr_hc_request and the body bytes until on_done
 * has been called for it. */
#ifndef VR_BENCH_HTTP_CLIENT_H
#define VR_BENCH_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

typedef struct vr_hc vr_hc;
typedef struct vr_hc_conn vr_hc_conn;
typedef struct vr_hc_request vr_hc_request;

struct vr_hc_request {
    /* in */
    const char *method;       /* "GET", "POST" */
    const char *path;         /* "/v1/completions" */
    const char *body;         /* may be NULL for GET */
    size_t body_len;
    double timeout_s;         /* whole request, <= 0 for none */
    /* Called once the status line and headers are in. */
    void (*on_status)(vr_hc_request *r, int status);
    /* Body bytes (de-chunked) as they arrive; return nonzero to abandon the
     * request, after writing the reason into r->error. */
    int (*on_body)(vr_hc_request *r, const char *data, size_t len);
    /* Exactly once per vr_hc_start that returned 0. ok = 1 when a complete
     * response arrived (any status); else r->error says why. The request may
     * be reused or freed from inside this callback. */
    void (*on_done)(vr_hc_request *r, int ok);
    void *user;
    /* out */
    int status;
    char error[160];
    /* private */
    vr_hc_conn *conn;
    int retried;              /* one transparent retry when a pooled connection was stale */
    size_t bytes_in;
};

typedef struct vr_hc_options {
    const char *base_url;     /* "http://host:port" (a path prefix is allowed) */
    const char *api_key;      /* NULL or "" for none */
} vr_hc_options;

/* Resolves the host (blocking, once). Nonzero + message on a bad URL or name. */
int vr_hc_create(uv_loop_t *loop, const vr_hc_options *opt, vr_hc **out, char *err, size_t errlen);
/* Closes every connection; run the loop afterwards until it has no handles,
 * then call vr_hc_destroy. */
void vr_hc_close(vr_hc *c);
void vr_hc_destroy(vr_hc *c);

/* Starts a request. Nonzero only on allocation failure (message in r->error). */
int vr_hc_start(vr_hc *c, vr_hc_request *r);

/* Number of connections ever opened (pool efficiency figure). */
size_t vr_hc_connections_opened(const vr_hc *c);

/* Blocking helper for setup calls (/v1/models, /tokenize): runs the loop
 * until the response is complete. *body is malloc'd and NUL-terminated. */
int vr_hc_fetch(vr_hc *c, const char *method, const char *path, const char *body,
                double timeout_s, int *status, char **resp, size_t *resp_len, char *err, size_t errlen);

#endif
