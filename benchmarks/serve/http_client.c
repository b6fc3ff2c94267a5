/* benchmarks/serve/http_client.c — see http_client.h.
 *
 * A connection is either busy (owns one request), idle (in the pool, still
 * reading so a server-side close is noticed), or closing. The request head is
 * formatted per request; the body is written straight from the caller's
 * buffer (no copy). A pooled connection that the server closed in the
 * meantime fails with no response bytes; such a request is retried once on a
 * fresh connection, which is what every keep-alive client has to do. */
#include "benchmarks/serve/http_client.h"

#include <llhttp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HC_READ_BUF 65536

struct vr_hc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_write_t wreq;
    llhttp_t parser;
    vr_hc *client;
    vr_hc_request *req;
    vr_hc_conn *next_idle;
    vr_hc_conn *prev_all, *next_all;
    char *head;               /* formatted request head */
    int connected;
    int closing;
    int handles_open;
    int message_done;
    int keep_alive;           /* decided at message end, before llhttp resets */
    int writing;              /* a uv_write is pending: the connection cannot take the next request */
    int reused;               /* served a request before */
    char rbuf[HC_READ_BUF];
};

struct vr_hc {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    char host[256];           /* Host header value */
    char prefix[256];         /* path prefix from the base URL, no trailing '/' */
    char auth[512];           /* "Authorization: Bearer ...\r\n" or "" */
    llhttp_settings_t settings;
    vr_hc_conn *idle;
    vr_hc_conn *all;
    size_t opened;
    int closing;
};

static void conn_close(vr_hc_conn *k);
static void conn_fail(vr_hc_conn *k, const char *fmt, ...);

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- llhttp callbacks ---- */

static int on_headers_complete(llhttp_t *p) {
    vr_hc_conn *k = p->data;
    if (!k->req) return -1;
    k->req->status = llhttp_get_status_code(p);
    if (k->req->on_status) k->req->on_status(k->req, k->req->status);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    vr_hc_conn *k = p->data;
    if (!k->req) return -1;
    if (k->req->on_body && k->req->on_body(k->req, at, len)) return -1;
    return 0;
}

static int on_message_complete(llhttp_t *p) {
    vr_hc_conn *k = p->data;
    int st = llhttp_get_status_code(p);
    if (st >= 100 && st < 200 && st != 101) return 0; /* interim answer (100 Continue): the real one follows */
    k->message_done = 1;
    k->keep_alive = llhttp_should_keep_alive(p);
    return HPE_PAUSED; /* stop here: bytes after this belong to no request of ours */
}

/* ---- connection lifecycle ---- */

static void handle_closed(uv_handle_t *h) {
    vr_hc_conn *k = h->data;
    if (--k->handles_open > 0) return;
    vr_hc *c = k->client;
    if (k->prev_all) k->prev_all->next_all = k->next_all;
    else c->all = k->next_all;
    if (k->next_all) k->next_all->prev_all = k->prev_all;
    free(k->head);
    free(k);
}

static void idle_remove(vr_hc_conn *k) {
    vr_hc_conn **pp = &k->client->idle;
    while (*pp && *pp != k) pp = &(*pp)->next_idle;
    if (*pp) *pp = k->next_idle;
    k->next_idle = NULL;
}

static void conn_close(vr_hc_conn *k) {
    if (k->closing) return;
    k->closing = 1;
    idle_remove(k);
    uv_timer_stop(&k->timer);
    uv_close((uv_handle_t *)&k->timer, handle_closed);
    uv_close((uv_handle_t *)&k->tcp, handle_closed);
}

/* Ends the current request (if any) with ok=1 and the connection back in the pool
 * when the server keeps it alive. */
static void finish_request(vr_hc_conn *k, int keep) {
    vr_hc_request *r = k->req;
    k->req = NULL;
    k->message_done = 0;
    uv_timer_stop(&k->timer);
    if (keep && !k->writing && !k->client->closing) {
        k->reused = 1;
        k->next_idle = k->client->idle;
        k->client->idle = k;
    } else {
        conn_close(k);
    }
    if (r) {
        r->conn = NULL;
        r->on_done(r, 1);
    }
}

static int start_on_conn(vr_hc_conn *k, vr_hc_request *r);

static void conn_fail(vr_hc_conn *k, const char *fmt, ...) {
    vr_hc_request *r = k->req;
    k->req = NULL;
    int stale = r && k->reused && r->bytes_in == 0 && !r->retried && !k->client->closing;
    conn_close(k);
    if (!r) return;
    r->conn = NULL;
    if (stale) {
        r->retried = 1;
        if (vr_hc_start(k->client, r) == 0) return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->on_done(r, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    vr_hc_conn *k = h->data;
    *buf = uv_buf_init(k->rbuf, sizeof k->rbuf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    vr_hc_conn *k = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        if (!k->req) { conn_close(k); return; } /* idle connection closed by the server */
        if (nread == UV_EOF) {
            /* A response delimited by close ends here; anything else was cut short. */
            llhttp_finish(&k->parser); /* may complete a close-delimited body */
            if (k->message_done) {
                finish_request(k, 0);
                return;
            }
            if (k->req->bytes_in == 0) conn_fail(k, "connection closed before any response");
            else conn_fail(k, "connection closed mid-response (truncated after %zu bytes)", k->req->bytes_in);
            return;
        }
        conn_fail(k, "read error: %s", uv_strerror((int)nread));
        return;
    }
    if (!k->req) { conn_close(k); return; } /* bytes nobody asked for */
    k->req->bytes_in += (size_t)nread;
    llhttp_errno_t e = llhttp_execute(&k->parser, buf->base, (size_t)nread);
    if (e == HPE_PAUSED && k->message_done) {
        finish_request(k, k->keep_alive);
        return;
    }
    if (e != HPE_OK) {
        if (e == HPE_USER && k->req && k->req->error[0]) {
            vr_hc_request *r = k->req;
            k->req = NULL;
            conn_close(k);
            r->conn = NULL;
            r->on_done(r, 0);
            return;
        }
        conn_fail(k, "bad HTTP response: %s (%s)", llhttp_errno_name(e),
                  llhttp_get_error_reason(&k->parser) ? llhttp_get_error_reason(&k->parser) : "");
    }
}

static void write_cb(uv_write_t *w, int status) {
    vr_hc_conn *k = w->data;
    k->writing = 0;
    if (status < 0 && k->req && !k->closing) conn_fail(k, "write failed: %s", uv_strerror(status));
}

static void timeout_cb(uv_timer_t *t) {
    vr_hc_conn *k = t->data;
    if (k->req) {
        k->req->retried = 1; /* a timeout is never retried */
        conn_fail(k, "timeout after %.1f s", k->req->timeout_s);
    }
}

static int send_request(vr_hc_conn *k) {
    vr_hc *c = k->client;
    vr_hc_request *r = k->req;
    free(k->head);
    size_t need = strlen(r->method) + strlen(c->prefix) + strlen(r->path) + strlen(c->host) + strlen(c->auth) + 256;
    k->head = malloc(need);
    if (!k->head) return -1;
    int n = snprintf(k->head, need,
                     "%s %s%s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: vireo-bench\r\n"
                     "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     r->method, c->prefix, r->path, c->host, c->auth, r->body ? r->body_len : 0);
    uv_buf_t bufs[2] = {uv_buf_init(k->head, (unsigned)n), uv_buf_init((char *)(r->body ? r->body : ""), (unsigned)(r->body ? r->body_len : 0))};
    llhttp_init(&k->parser, HTTP_RESPONSE, &c->settings);
    k->parser.data = k;
    k->message_done = 0;
    k->wreq.data = k;
    int e = uv_write(&k->wreq, (uv_stream_t *)&k->tcp, bufs, bufs[1].len ? 2 : 1, write_cb);
    if (!e) k->writing = 1;
    if (e) {
        conn_fail(k, "write failed: %s", uv_strerror(e));
        return 0; /* reported through on_done */
    }
    return 0;
}

static void connect_cb(uv_connect_t *cr, int status) {
    vr_hc_conn *k = cr->data;
    if (k->closing) return;
    if (status < 0) {
        if (k->req) k->req->retried = 1;
        conn_fail(k, "connect failed: %s", uv_strerror(status));
        return;
    }
    k->connected = 1;
    uv_tcp_nodelay(&k->tcp, 1);
    int e = uv_read_start((uv_stream_t *)&k->tcp, alloc_cb, read_cb);
    if (e) {
        conn_fail(k, "read start failed: %s", uv_strerror(e));
        return;
    }
    if (k->req && send_request(k)) conn_fail(k, "out of memory");
}

static int start_on_conn(vr_hc_conn *k, vr_hc_request *r) {
    k->req = r;
    r->conn = k;
    if (r->timeout_s > 0) uv_timer_start(&k->timer, timeout_cb, (uint64_t)(r->timeout_s * 1000.0 + 0.5), 0);
    if (!k->connected) return 0; /* connect_cb sends */
    if (send_request(k)) {
        k->req = NULL;
        r->conn = NULL;
        conn_close(k);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    return 0;
}

int vr_hc_start(vr_hc *c, vr_hc_request *r) {
    r->status = 0;
    r->error[0] = 0;
    r->bytes_in = 0;
    if (c->closing) {
        snprintf(r->error, sizeof r->error, "client closed");
        return -1;
    }
    if (c->idle) {
        vr_hc_conn *k = c->idle;
        c->idle = k->next_idle;
        k->next_idle = NULL;
        return start_on_conn(k, r);
    }
    vr_hc_conn *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    k->client = c;
    uv_tcp_init(c->loop, &k->tcp);
    uv_timer_init(c->loop, &k->timer);
    k->tcp.data = k->timer.data = k->creq.data = k;
    k->handles_open = 2;
    k->next_all = c->all;
    if (c->all) c->all->prev_all = k;
    c->all = k;
    c->opened++;
    k->req = r;
    r->conn = k;
    if (r->timeout_s > 0) uv_timer_start(&k->timer, timeout_cb, (uint64_t)(r->timeout_s * 1000.0 + 0.5), 0);
    int e = uv_tcp_connect(&k->creq, &k->tcp, (const struct sockaddr *)&c->addr, connect_cb);
    if (e) {
        r->retried = 1;
        conn_fail(k, "connect failed: %s", uv_strerror(e));
    }
    return 0;
}

/* ---- client ---- */

int vr_hc_create(uv_loop_t *loop, const vr_hc_options *opt, vr_hc **out, char *err, size_t errlen) {
    *out = NULL;
    const char *u = opt->base_url;
    if (!u || strncmp(u, "http://", 7)) {
        set_err(err, errlen, "--base-url must start with http:// (got '%s')", u ? u : "");
        return -1;
    }
    u += 7;
    const char *slash = strchr(u, '/');
    size_t hostport_len = slash ? (size_t)(slash - u) : strlen(u);
    if (!hostport_len || hostport_len >= 256) {
        set_err(err, errlen, "--base-url has no host");
        return -1;
    }
    char hostport[256], host[256], port[16] = "80";
    memcpy(hostport, u, hostport_len);
    hostport[hostport_len] = 0;
    const char *colon = strrchr(hostport, ':');
    if (hostport[0] == '[') { /* [v6]:port */
        const char *rb = strchr(hostport, ']');
        if (!rb) { set_err(err, errlen, "--base-url: bad IPv6 literal"); return -1; }
        snprintf(host, sizeof host, "%.*s", (int)(rb - hostport - 1), hostport + 1);
        if (rb[1] == ':') snprintf(port, sizeof port, "%s", rb + 2);
    } else if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", hostport);
    }
    char *pe;
    long pn = strtol(port, &pe, 10);
    if (*pe || pn <= 0 || pn > 65535) {
        set_err(err, errlen, "--base-url: bad port '%s'", port);
        return -1;
    }
    vr_hc *c = calloc(1, sizeof *c);
    if (!c) { set_err(err, errlen, "out of memory"); return -1; }
    c->loop = loop;
    snprintf(c->host, sizeof c->host, "%s", hostport);
    if (slash) {
        size_t pl = strlen(slash);
        while (pl && slash[pl - 1] == '/') pl--;
        if (pl >= sizeof c->prefix) { free(c); set_err(err, errlen, "--base-url path too long"); return -1; }
        memcpy(c->prefix, slash, pl);
        c->prefix[pl] = 0;
    }
    if (opt->api_key && opt->api_key[0]) {
        if (strlen(opt->api_key) > 400 || strpbrk(opt->api_key, "\r\n")) {
            free(c);
            set_err(err, errlen, "--api-key is too long or has line breaks");
            return -1;
        }
        snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s\r\n", opt->api_key);
    }
    uv_getaddrinfo_t gai;
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = uv_getaddrinfo(loop, &gai, NULL, host, port, &hints);
    if (e || !gai.addrinfo) {
        set_err(err, errlen, "cannot resolve '%s': %s", host, uv_strerror(e));
        free(c);
        return -1;
    }
    memcpy(&c->addr, gai.addrinfo->ai_addr, gai.addrinfo->ai_addrlen);
    uv_freeaddrinfo(gai.addrinfo);
    llhttp_settings_init(&c->settings);
    c->settings.on_headers_complete = on_headers_complete;
    c->settings.on_body = on_body;
    c->settings.on_message_complete = on_message_complete;
    *out = c;
    return 0;
}

void vr_hc_close(vr_hc *c) {
    if (!c) return;
    c->closing = 1;
    for (vr_hc_conn *k = c->all; k; k = k->next_all) {
        if (k->req) {
            k->req->retried = 1;
            conn_fail(k, "client closed");
        } else {
            conn_close(k);
        }
    }
}

void vr_hc_destroy(vr_hc *c) { free(c); }

size_t vr_hc_connections_opened(const vr_hc *c) { return c->opened; }

/* ---- blocking fetch ---- */

typedef struct {
    vr_hc_request r;
    char *buf;
    size_t len, cap;
    int done, ok, oom;
} fetch_state;

static int fetch_body(vr_hc_request *r, const char *d, size_t n) {
    fetch_state *f = r->user;
    if (f->len + n + 1 > f->cap) {
        size_t cap = (f->len + n + 1) * 2;
        if (cap > (size_t)256 << 20) {
            snprintf(r->error, sizeof r->error, "response body over 256 MiB");
            return -1;
        }
        char *p = realloc(f->buf, cap);
        if (!p) {
            snprintf(r->error, sizeof r->error, "out of memory");
            return -1;
        }
        f->buf = p;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, d, n);
    f->len += n;
    f->buf[f->len] = 0;
    return 0;
}

static void fetch_done(vr_hc_request *r, int ok) {
    fetch_state *f = r->user;
    f->done = 1;
    f->ok = ok;
}

int vr_hc_fetch(vr_hc *c, const char *method, const char *path, const char *body,
                double timeout_s, int *status, char **resp, size_t *resp_len, char *err, size_t errlen) {
    fetch_state f;
    memset(&f, 0, sizeof f);
    f.r.method = method;
    f.r.path = path;
    f.r.body = body;
    f.r.body_len = body ? strlen(body) : 0;
    f.r.timeout_s = timeout_s;
    f.r.on_body = fetch_body;
    f.r.on_done = fetch_done;
    f.r.user = &f;
    *resp = NULL;
    if (resp_len) *resp_len = 0;
    if (vr_hc_start(c, &f.r)) {
        set_err(err, errlen, "%s %s: %s", method, path, f.r.error);
        return -1;
    }
    while (!f.done) uv_run(c->loop, UV_RUN_ONCE);
    if (!f.ok) {
        free(f.buf);
        set_err(err, errlen, "%s %s: %s", method, path, f.r.error);
        return -1;
    }
    if (!f.buf) f.buf = calloc(1, 1);
    if (!f.buf) { set_err(err, errlen, "out of memory"); return -1; }
    *status = f.r.status;
    *resp = f.buf;
    if (resp_len) *resp_len = f.len;
    return 0;
}
