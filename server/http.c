/* server/http.c — HTTP/1.1 connections: llhttp parsing, limits, timeouts,
 * keep-alive, in-order pipelining, chunked streaming responses. */
#include "server/http.h"

#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/json_writer.h"

#define VR_MAX_LISTENERS 4

typedef struct write_req {
    uv_write_t req;
    vr_http_conn *c;
    size_t len;
    char data[];
} write_req;

struct vr_http_conn {
    vr_http_server *srv;
    vr_http_conn *prev, *next; /* server's list */
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    int open_handles; /* stream + timer; freed when 0 and refs == 0 */
    int refs;
    int closed;       /* close started: no more reads or writes */
    int close_after;  /* close once the current response has ended */
    int finishing;    /* shutdown (flush, then close) started */
    llhttp_t parser;

    /* unparsed input */
    char *in;
    size_t in_len, in_off, in_cap;
    int reading;

    /* the request being parsed / served */
    vr_sbuf meta; /* url and header names/values, NUL-separated */
    size_t url_off, name_off[VR_HTTP_MAX_HEADERS], value_off[VR_HTTP_MAX_HEADERS];
    size_t n_headers;
    int in_field, in_value;
    vr_sbuf body;
    int err_status;          /* set by a callback that stops the parse */
    const char *err_message;
    int receiving;           /* bytes of a request seen, not complete */
    int busy;                /* handler owns the response */
    int streaming;           /* chunked response begun */
    int keep_alive;
    int processing;          /* inside process_input (no re-entry) */
    vr_http_req req;
    char *common_headers;
    void (*abort_fn)(void *);
    void *abort_ud;

    /* access log */
    int status;
    long log_prompt, log_completion;
    char peer[64];
    size_t backlog;
    int pending_writes;
};

struct vr_http_server {
    uv_loop_t *loop;
    vr_http_config cfg;
    llhttp_settings_t settings;
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_handle_t handle;
    } listeners[VR_MAX_LISTENERS];
    int n_listeners;
    vr_http_conn *conns;
    size_t n_conns;
    int shutting_down;
    void (*on_drained)(void *);
    void *drained_ud;
};

const char *vr_http_status_text(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

const char *vr_http_header_get(const vr_http_req *r, const char *name) {
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name)) return r->headers[i].value;
    return NULL;
}

static void process_input(vr_http_conn *c);
static void conn_close(vr_http_conn *c);
static void start_reading(vr_http_conn *c);

/* ---- lifetime ---- */

static void maybe_free(vr_http_conn *c) {
    if (c->open_handles > 0 || c->refs > 0) return;
    free(c->in);
    vr_sb_free(&c->meta);
    vr_sb_free(&c->body);
    free(c->common_headers);
    free(c);
}

void vr_http_conn_ref(vr_http_conn *c) { c->refs++; }
void vr_http_conn_unref(vr_http_conn *c) {
    c->refs--;
    maybe_free(c);
}
int vr_http_conn_closed(const vr_http_conn *c) { return c->closed; }
size_t vr_http_conn_write_backlog(const vr_http_conn *c) { return c->backlog; }

void vr_http_set_abort_hook(vr_http_conn *c, void (*fn)(void *), void *ud) {
    c->abort_fn = fn;
    c->abort_ud = ud;
}

static void on_handle_closed(uv_handle_t *h) {
    vr_http_conn *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

/* Mark closed and unlink (once): no more reads or writes; a response still
 * owed is aborted through the hook so its engine request stops at once. */
static void unlink_conn(vr_http_conn *c) {
    if (c->closed) return;
    c->closed = 1;
    vr_http_server *s = c->srv;
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->n_conns--;
    if (c->busy && c->abort_fn) {
        void (*fn)(void *) = c->abort_fn;
        c->abort_fn = NULL;
        fn(c->abort_ud);
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (s->shutting_down && s->n_conns == 0 && s->on_drained) {
        void (*fn)(void *) = s->on_drained;
        s->on_drained = NULL;
        fn(s->drained_ud);
    }
}

static void conn_close(vr_http_conn *c) {
    unlink_conn(c);
    if (!uv_is_closing(&c->h.handle)) uv_close(&c->h.handle, on_handle_closed);
}

static void on_linger_timeout(uv_timer_t *t) { conn_close(t->data); }

/* Write side closed: wait (briefly) for the client to close too, reading and
 * dropping what it still sends. Closing at once with unread bytes would make
 * the kernel send a reset, and a client still uploading a body we refused
 * (413) would lose our answer. */
static void on_shutdown(uv_shutdown_t *req, int status) {
    vr_http_conn *c = req->data;
    if (status < 0 || !c->reading || c->closed) conn_close(c);
    else uv_timer_start(&c->timer, on_linger_timeout, 2000, 0);
    vr_http_conn_unref(c);
}

/* Flush what was written, then close (a plain close would drop queued writes). */
static void conn_finish(vr_http_conn *c) {
    if (c->closed || c->finishing) return;
    c->finishing = 1;
    uv_timer_stop(&c->timer);
    c->shutdown_req.data = c;
    vr_http_conn_ref(c);
    if (uv_shutdown(&c->shutdown_req, &c->h.stream, on_shutdown) != 0) {
        vr_http_conn_unref(c);
        conn_close(c);
    }
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    vr_http_conn *c = w->c;
    c->backlog -= w->len;
    c->pending_writes--;
    free(w);
    if (status < 0 && !c->closed) conn_close(c);
    vr_http_conn_unref(c);
}

static void conn_write(vr_http_conn *c, const char *data, size_t len) {
    if (c->closed || c->finishing || !len) return;
    if (c->pending_writes == 0) {
        /* Fast path: most responses fit the socket buffer; no copy, no callback. */
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int n = uv_try_write(&c->h.stream, &b, 1);
        if (n == (int)len) return;
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
            conn_close(c);
            return;
        }
    }
    write_req *w = malloc(sizeof *w + len);
    if (!w) {
        conn_close(c);
        return;
    }
    memcpy(w->data, data, len);
    w->c = c;
    w->len = len;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, &c->h.stream, &b, 1, on_write) != 0) {
        free(w);
        conn_close(c);
        return;
    }
    vr_http_conn_ref(c);
    c->backlog += len;
    c->pending_writes++;
}

static void write_head(vr_http_conn *c, vr_sbuf *b, int status, const char *content_type, const char *extra) {
    vr_sb_printf(b, "HTTP/1.1 %d %s\r\nserver: vireo\r\n", status, vr_http_status_text(status));
    if (content_type) vr_sb_printf(b, "content-type: %s\r\n", content_type);
    if (extra) vr_sb_puts(b, extra);
    if (c->common_headers) vr_sb_puts(b, c->common_headers);
    if (!c->keep_alive || c->close_after || c->srv->shutting_down) vr_sb_puts(b, "connection: close\r\n");
}

static void log_line(vr_http_conn *c) {
    if (!c->srv->cfg.log_requests || !c->req.method) return;
    double ms = (double)(uv_hrtime() - c->req.start_ns) / 1e6;
    char toks[96] = "";
    if (c->log_prompt >= 0 || c->log_completion >= 0)
        snprintf(toks, sizeof toks, " prompt_tokens=%ld completion_tokens=%ld", c->log_prompt < 0 ? 0 : c->log_prompt,
                 c->log_completion < 0 ? 0 : c->log_completion);
    fprintf(stderr, "INFO access: %s \"%s %s%s%s\" %d%s %.1fms\n", c->peer, c->req.method, c->req.path,
            c->req.query[0] ? "?" : "", c->req.query, c->status, toks, ms);
}

static void end_response(vr_http_conn *c) {
    log_line(c);
    c->busy = 0;
    c->streaming = 0;
    c->abort_fn = NULL;
    c->req.method = NULL;
    free(c->common_headers);
    c->common_headers = NULL;
    if (c->closed) return;
    if (!c->keep_alive || c->close_after || c->srv->shutting_down) {
        conn_finish(c);
        return;
    }
    uv_timer_stop(&c->timer);
    if (!c->processing) process_input(c);
}

void vr_http_respond(vr_http_conn *c, int status, const char *content_type, const char *extra_headers,
                     const char *body, size_t len) {
    if (!c->busy || c->streaming) return;
    c->status = status;
    if (c->closed) {
        end_response(c);
        return;
    }
    vr_sbuf b = {0};
    write_head(c, &b, status, content_type, extra_headers);
    vr_sb_printf(&b, "content-length: %zu\r\n\r\n", len);
    if (len < 65536) {
        vr_sb_put(&b, body, len);
        if (!b.oom) conn_write(c, b.p, b.len);
    } else if (!b.oom) {
        conn_write(c, b.p, b.len);
        conn_write(c, body, len);
    }
    if (b.oom) conn_close(c);
    vr_sb_free(&b);
    end_response(c);
}

int vr_http_stream_begin(vr_http_conn *c, int status, const char *content_type, const char *extra_headers) {
    if (!c->busy || c->streaming) return -1;
    c->status = status;
    c->streaming = 1;
    if (c->closed) return -1;
    vr_sbuf b = {0};
    write_head(c, &b, status, content_type, extra_headers);
    vr_sb_puts(&b, "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n");
    if (b.oom) conn_close(c);
    else conn_write(c, b.p, b.len);
    vr_sb_free(&b);
    return c->closed ? -1 : 0;
}

int vr_http_stream_write(vr_http_conn *c, const char *data, size_t len) {
    if (!c->streaming || c->closed) return -1;
    if (!len) return 0; /* an empty chunk would end the body */
    char head[32];
    int n = snprintf(head, sizeof head, "%zx\r\n", len);
    vr_sbuf b = {0};
    vr_sb_put(&b, head, (size_t)n);
    vr_sb_put(&b, data, len);
    vr_sb_put(&b, "\r\n", 2);
    if (b.oom) conn_close(c);
    else conn_write(c, b.p, b.len);
    vr_sb_free(&b);
    return c->closed ? -1 : 0;
}

void vr_http_stream_end(vr_http_conn *c) {
    if (!c->streaming) return;
    conn_write(c, "0\r\n\r\n", 5);
    end_response(c);
}

void vr_http_set_common_headers(vr_http_conn *c, const char *headers) {
    free(c->common_headers);
    c->common_headers = headers ? strdup(headers) : NULL;
}

void vr_http_note_tokens(vr_http_conn *c, long prompt_tokens, long completion_tokens) {
    c->log_prompt = prompt_tokens;
    c->log_completion = completion_tokens;
}

/* An error found while parsing: answer it (JSON, OpenAI error shape) and close. */
static void respond_parse_error(vr_http_conn *c, int status, const char *message) {
    static const char *types[] = {"BadRequestError", "RequestEntityTooLarge", "RequestTimeout"};
    const char *type = status == 413 ? types[1] : status == 408 ? types[2] : types[0];
    vr_sbuf b = {0};
    vr_sb_puts(&b, "{\"error\":{\"message\":\"");
    vr_json_escape(&b, message, strlen(message));
    vr_sb_printf(&b, "\",\"type\":\"%s\",\"param\":null,\"code\":%d}}", type, status);
    c->busy = 1;
    c->close_after = 1;
    if (!c->req.method) {
        c->req.method = "-";
        c->req.path = "-";
        c->req.query = "";
        c->req.start_ns = uv_hrtime();
    }
    vr_http_respond(c, status, "application/json", NULL, b.p ? b.p : "", b.len);
    vr_sb_free(&b);
}

/* ---- parsing ---- */

static vr_http_conn *conn_of(llhttp_t *p) { return p->data; }

static int fail(llhttp_t *p, int status, const char *message) {
    vr_http_conn *c = conn_of(p);
    c->err_status = status;
    c->err_message = message;
    return HPE_USER;
}

static int meta_put(llhttp_t *p, const char *at, size_t len) {
    vr_http_conn *c = conn_of(p);
    if (c->meta.len + len > c->srv->cfg.max_header_bytes)
        return fail(p, 431, "request line and headers are over the size limit");
    vr_sb_put(&c->meta, at, len);
    return c->meta.oom ? fail(p, 500, "out of memory") : 0;
}

static int on_message_begin(llhttp_t *p) {
    vr_http_conn *c = conn_of(p);
    c->meta.len = 0;
    c->body.len = 0;
    c->n_headers = 0;
    c->url_off = 0;
    c->in_field = c->in_value = 0;
    c->log_prompt = c->log_completion = -1;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) { return meta_put(p, at, len); }
static int on_url_complete(llhttp_t *p) { return meta_put(p, "", 1); }

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    vr_http_conn *c = conn_of(p);
    if (!c->in_field) {
        if (c->n_headers >= VR_HTTP_MAX_HEADERS) return fail(p, 431, "too many request headers");
        c->in_field = 1;
        c->name_off[c->n_headers] = c->meta.len;
    }
    return meta_put(p, at, len);
}

static int on_header_field_complete(llhttp_t *p) {
    vr_http_conn *c = conn_of(p);
    if (!c->in_field) { /* empty name: llhttp rejects it, but be safe */
        if (c->n_headers >= VR_HTTP_MAX_HEADERS) return fail(p, 431, "too many request headers");
        c->name_off[c->n_headers] = c->meta.len;
    }
    c->in_field = 0;
    return meta_put(p, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    vr_http_conn *c = conn_of(p);
    if (!c->in_value) {
        c->in_value = 1;
        c->value_off[c->n_headers] = c->meta.len;
    }
    return meta_put(p, at, len);
}

static int on_header_value_complete(llhttp_t *p) {
    vr_http_conn *c = conn_of(p);
    if (!c->in_value) c->value_off[c->n_headers] = c->meta.len; /* empty value */
    c->in_value = 0;
    c->n_headers++;
    return meta_put(p, "", 1);
}

static int on_headers_complete(llhttp_t *p) {
    vr_http_conn *c = conn_of(p);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->cfg.max_body_bytes)
        return fail(p, 413, "request body is over the size limit");
    for (size_t i = 0; i < c->n_headers; i++) {
        if (!strcasecmp(c->meta.p + c->name_off[i], "expect")) {
            if (strcasecmp(c->meta.p + c->value_off[i], "100-continue"))
                return fail(p, 400, "unsupported Expect header (only 100-continue)");
            conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    vr_http_conn *c = conn_of(p);
    if (c->body.len + len > c->srv->cfg.max_body_bytes) return fail(p, 413, "request body is over the size limit");
    vr_sb_put(&c->body, at, len);
    return c->body.oom ? fail(p, 500, "out of memory") : 0;
}

static int on_message_complete(llhttp_t *p) {
    vr_http_conn *c = conn_of(p);
    c->keep_alive = llhttp_should_keep_alive(p);
    /* Pause: the handler answers first; later pipelined requests wait. */
    return HPE_PAUSED;
}

static void dispatch(vr_http_conn *c) {
    vr_http_req *r = &c->req;
    memset(r, 0, sizeof *r);
    r->method = llhttp_method_name((llhttp_method_t)llhttp_get_method(&c->parser));
    char *url = c->meta.p + c->url_off;
    char *q = strchr(url, '?');
    if (q) *q++ = 0;
    r->path = url;
    r->query = q ? q : "";
    for (size_t i = 0; i < c->n_headers; i++) {
        r->headers[i].name = c->meta.p + c->name_off[i];
        r->headers[i].value = c->meta.p + c->value_off[i];
    }
    r->n_headers = c->n_headers;
    vr_sb_reserve(&c->body, 0); /* NUL-terminated even when empty */
    r->body = c->body.p ? c->body.p : "";
    r->body_len = c->body.len;
    r->start_ns = uv_hrtime();
    c->busy = 1;
    c->status = 0;
    c->srv->cfg.handler(c->srv->cfg.handler_ud, c, r);
}

static void on_timeout(uv_timer_t *t) {
    vr_http_conn *c = t->data;
    if (c->busy) return;
    if (c->receiving) respond_parse_error(c, 408, "the request was not received in time");
    else conn_close(c); /* idle keep-alive connection */
}

static void arm_timer(vr_http_conn *c) {
    if (c->closed || c->finishing) return;
    unsigned ms = c->receiving ? c->srv->cfg.request_timeout_ms : c->srv->cfg.idle_timeout_ms;
    if (ms) uv_timer_start(&c->timer, on_timeout, ms, 0);
    else uv_timer_stop(&c->timer);
}

static void process_input(vr_http_conn *c) {
    c->processing = 1;
    vr_http_conn_ref(c);
    while (!c->closed && !c->busy && !c->close_after && c->in_off < c->in_len) {
        if (!c->receiving) {
            c->receiving = 1;
            arm_timer(c);
        }
        const char *start = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        c->err_status = 0;
        llhttp_errno_t e = llhttp_execute(&c->parser, start, avail);
        if (e == HPE_PAUSED) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            c->in_off += (size_t)(pos - start);
            llhttp_resume(&c->parser);
            c->receiving = 0;
            uv_timer_stop(&c->timer);
            dispatch(c);
        } else if (e == HPE_OK) {
            c->in_off = c->in_len;
        } else {
            int status = c->err_status ? c->err_status : 400;
            char msg[200];
            if (c->err_status) snprintf(msg, sizeof msg, "%s", c->err_message);
            else if (e == HPE_PAUSED_UPGRADE) snprintf(msg, sizeof msg, "protocol upgrades are not supported");
            else snprintf(msg, sizeof msg, "malformed HTTP request: %s", llhttp_get_error_reason(&c->parser));
            c->in_off = c->in_len;
            respond_parse_error(c, status, msg);
        }
    }
    if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
    if (!c->closed && !c->busy && !c->receiving) arm_timer(c);
    /* Resume reading once the backlog of unparsed input has been consumed. */
    if (!c->closed && !c->reading && !c->finishing && !c->close_after) start_reading(c);
    c->processing = 0;
    vr_http_conn_unref(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    vr_http_conn *c = h->data;
    (void)suggested;
    if (c->in_off > 0 && c->in_off == c->in_len) c->in_off = c->in_len = 0;
    size_t want = 65536;
    if (c->in_cap - c->in_len < want) {
        /* Slide unparsed bytes to the front before growing. */
        if (c->in_off > 0) {
            memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
            c->in_len -= c->in_off;
            c->in_off = 0;
        }
        if (c->in_cap - c->in_len < want) {
            size_t cap = c->in_len + want;
            char *p = realloc(c->in, cap);
            if (!p) {
                *buf = uv_buf_init(NULL, 0);
                return;
            }
            c->in = p;
            c->in_cap = cap;
        }
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    vr_http_conn *c = s->data;
    (void)buf;
    if (n < 0) {
        /* EOF or error: the client is gone; a running request is aborted. */
        conn_close(c);
        return;
    }
    if (n == 0) return;
    if (c->finishing) { /* lingering close: drop what still arrives */
        c->in_len = c->in_off = 0;
        return;
    }
    c->in_len += (size_t)n;
    if (c->busy) {
        /* Pipelined bytes wait; stop reading if far too many pile up. */
        if (c->in_len - c->in_off > c->srv->cfg.max_body_bytes + c->srv->cfg.max_header_bytes) {
            uv_read_stop(&c->h.stream);
            c->reading = 0;
        }
        return;
    }
    if (!c->processing) process_input(c);
}

static void start_reading(vr_http_conn *c) {
    if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0) c->reading = 1;
}

static void on_connection(uv_stream_t *listener, int status) {
    vr_http_server *s = listener->data;
    if (status < 0 || s->shutting_down) return;
    vr_http_conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    c->log_prompt = c->log_completion = -1;
    int is_tcp = listener->type == UV_TCP;
    int rc = is_tcp ? uv_tcp_init(s->loop, &c->h.tcp) : uv_pipe_init(s->loop, &c->h.pipe, 0);
    if (rc) {
        free(c);
        return;
    }
    c->h.handle.data = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(listener, &c->h.stream) != 0 || (s->cfg.max_connections && s->n_conns > s->cfg.max_connections)) {
        conn_close(c);
        return;
    }
    snprintf(c->peer, sizeof c->peer, "unix");
    if (is_tcp) {
        uv_tcp_nodelay(&c->h.tcp, 1);
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
            char ip[48] = "?";
            int port = 0;
            if (ss.ss_family == AF_INET) {
                uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            }
            snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
        }
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
    c->parser.data = c;
    start_reading(c);
    arm_timer(c);
}

vr_http_server *vr_http_server_create(uv_loop_t *loop, const vr_http_config *cfg) {
    vr_http_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->loop = loop;
    s->cfg = *cfg;
    if (!s->cfg.max_header_bytes) s->cfg.max_header_bytes = 64 * 1024;
    if (!s->cfg.max_body_bytes) s->cfg.max_body_bytes = 32u * 1024 * 1024;
    llhttp_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_url_complete = on_url_complete;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_field_complete = on_header_field_complete;
    s->settings.on_header_value = on_header_value;
    s->settings.on_header_value_complete = on_header_value_complete;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    return s;
}

int vr_http_listen_tcp(vr_http_server *s, const char *host, int port, int *bound_port, char *err, size_t errlen) {
    if (s->n_listeners >= VR_MAX_LISTENERS) {
        snprintf(err, errlen, "too many listeners");
        return -1;
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host && *host ? host : NULL, portstr, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errlen, "cannot resolve host '%s': %s", host ? host : "", gai_strerror(gai));
        return -1;
    }
    uv_tcp_t *t = &s->listeners[s->n_listeners].tcp;
    uv_tcp_init(s->loop, t);
    t->data = s;
    int rc = uv_tcp_bind(t, res->ai_addr, 0);
    freeaddrinfo(res);
    if (rc == 0) rc = uv_listen((uv_stream_t *)t, 1024, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)t, NULL);
        return -1;
    }
    s->n_listeners++;
    if (bound_port) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len);
        *bound_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

int vr_http_listen_unix(vr_http_server *s, const char *path, char *err, size_t errlen) {
    if (s->n_listeners >= VR_MAX_LISTENERS) {
        snprintf(err, errlen, "too many listeners");
        return -1;
    }
    uv_pipe_t *p = &s->listeners[s->n_listeners].pipe;
    uv_pipe_init(s->loop, p, 0);
    p->data = s;
    int rc = uv_pipe_bind(p, path);
    if (rc == 0) rc = uv_listen((uv_stream_t *)p, 1024, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on unix socket %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)p, NULL);
        return -1;
    }
    s->n_listeners++;
    return 0;
}

void vr_http_server_shutdown(vr_http_server *s, void (*on_drained)(void *), void *ud) {
    if (s->shutting_down) return;
    s->shutting_down = 1;
    s->on_drained = on_drained;
    s->drained_ud = ud;
    for (int i = 0; i < s->n_listeners; i++) uv_close(&s->listeners[i].handle, NULL);
    vr_http_conn *c = s->conns;
    while (c) {
        vr_http_conn *next = c->next;
        if (c->busy) c->close_after = 1;
        else conn_close(c);
        c = next;
    }
    if (s->n_conns == 0 && s->on_drained) {
        s->on_drained = NULL;
        on_drained(ud);
    }
}

size_t vr_http_server_connections(const vr_http_server *s) { return s->n_conns; }

void vr_http_server_free(vr_http_server *s) { free(s); }
