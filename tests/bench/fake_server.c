/* tests/bench/fake_server.c — see fake_server.h. Timings are deadlines
 * (clock_nanosleep with TIMER_ABSTIME) from the moment the request was read
 * (first token) and from the previous chunk's send (later tokens), so on a
 * busy machine every gap can only come out longer, never shorter. */
#include "tests/bench/fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024

struct fake_server {
    fake_server_opts o;
    int lfd, port;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_t threads[MAX_CONNS];
    int fds[MAX_CONNS];
    int n_conns;
    atomic_int stopping;
    atomic_long requests;
    /* server-side timings of completed streams (under mu) */
    double *ttft, *span, *gap;
    size_t n_streams, cap_ttft, n_span, cap_span, n_gaps, cap_gaps;
};

static double ms_since(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int push(double **arr, size_t *n, size_t *cap, double v) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        double *p = realloc(*arr, c * sizeof *p);
        if (!p) return -1;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

typedef struct {
    fake_server *s;
    int fd;
} conn_arg;

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* With no delays to honour, a whole response is gathered and sent with one
 * send(), so the fake server stays far faster than the harness it measures. */
typedef struct {
    char *buf;
    size_t len, cap;
} batch;

/* Where a response goes: the socket, or a batch sent later in one piece. */
typedef struct {
    int fd;
    batch *b;
    int raw;  /* no chunked framing (HTTP/1.0, body ends at close) */
} sink;

static int out_bytes(sink *o, const char *p, size_t n) {
    batch *b = o->b;
    if (!b) return send_all(o->fd, p, n);
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        char *q = realloc(b->buf, cap);
        if (!q) return -1;
        b->buf = q;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

static int send_chunk(sink *o, const char *data, size_t n) {
    if (o->raw) return n ? out_bytes(o, data, n) : 0;
    char head[32];
    int h = snprintf(head, sizeof head, "%zx\r\n", n);
    char *buf = malloc((size_t)h + n + 2);
    if (!buf) return -1;
    memcpy(buf, head, (size_t)h);
    memcpy(buf + h, data, n);
    memcpy(buf + h + n, "\r\n", 2);
    int rc = out_bytes(o, buf, (size_t)h + n + 2);
    free(buf);
    return rc;
}

static int send_event(sink *o, const char *json) {
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "data: %s\n\n", json);
    return send_chunk(o, buf, (size_t)n);
}

static void sleep_until(const struct timespec *t0, long ms) {
    struct timespec t = *t0;
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {}
}

static int json_int_after(const char *body, const char *key, int dflt) {
    const char *p = strstr(body, key);
    if (!p) return dflt;
    p += strlen(key);
    while (*p == '"' || *p == ':' || *p == ' ') p++;
    return atoi(p);
}

static int respond_json(int fd, int status, const char *json, int keep) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n", status,
                     status == 200 ? "OK" : "Error", strlen(json), keep ? "" : "Connection: close\r\n");
    if (send_all(fd, head, (size_t)n)) return -1;
    return send_all(fd, json, strlen(json));
}

/* /tokenize: each space-separated word is one token; "wN" is id N, any other
 * word gets a hashed id. /detokenize writes ids back as "wN". */
static int do_tokenize(int fd, const char *body) {
    const char *p = strstr(body, "\"prompt\":\"");
    if (!p) return respond_json(fd, 400, "{\"error\":{\"message\":\"no prompt\"}}", 1);
    p += 10;
    char *out = malloc(strlen(body) * 8 + 64);
    if (!out) return -1;
    size_t o = (size_t)sprintf(out, "{\"tokens\":[");
    int count = 0;
    while (*p && *p != '"') {
        while (*p == ' ') p++;
        if (!*p || *p == '"') break;
        const char *w = p;
        while (*p && *p != ' ' && *p != '"') p++;
        unsigned id;
        if (w[0] == 'w' && w[1] >= '0' && w[1] <= '9') id = (unsigned)atoi(w + 1);
        else {
            id = 5381;
            for (const char *c = w; c < p; c++) id = id * 33 + (unsigned char)*c;
            id %= 50000;
        }
        o += (size_t)sprintf(out + o, "%s%u", count ? "," : "", id);
        count++;
    }
    sprintf(out + o, "],\"count\":%d}", count);
    int rc = respond_json(fd, 200, out, 1);
    free(out);
    return rc;
}

static int do_detokenize(int fd, const char *body) {
    const char *p = strstr(body, "\"tokens\":[");
    if (!p) return respond_json(fd, 400, "{\"error\":{\"message\":\"no tokens\"}}", 1);
    p += 10;
    char *out = malloc(strlen(body) * 2 + 64);
    if (!out) return -1;
    size_t o = (size_t)sprintf(out, "{\"prompt\":\"");
    int first = 1;
    while (*p && *p != ']') {
        char *end;
        long id = strtol(p, &end, 10);
        if (end == p) break;
        o += (size_t)sprintf(out + o, "%sw%ld", first ? "" : " ", id);
        first = 0;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    sprintf(out + o, "\"}");
    int rc = respond_json(fd, 200, out, 1);
    free(out);
    return rc;
}

static int do_completion(fake_server *s, sink *out, const char *body, int chat, int keep,
                         const struct timespec *t0) {
    const fake_server_opts *o = &s->o;
    int fd = out->fd;
    atomic_fetch_add(&s->requests, 1);
    if (o->mode == FAKE_STATUS_400)
        return respond_json(fd, 400, "{\"error\":{\"message\":\"prompt is too long\",\"type\":\"BadRequestError\","
                                     "\"param\":\"prompt\",\"code\":400}}", keep);
    if (o->mode == FAKE_BAD_HTTP) {
        const char *g = "HTTP/1.1 2x0 NOPE\r\n\r\n";
        send_all(fd, g, strlen(g));
        return -1;
    }
    int n = o->tokens > 0 ? o->tokens : json_int_after(body, chat ? "\"max_completion_tokens\"" : "\"max_tokens\"", 16);
    if (n < 1) n = 1;
    int per = o->tokens_per_chunk > 1 ? o->tokens_per_chunk : 1;
    int prompt_tokens = 0;
    const char *pp = strstr(body, chat ? "\"content\":\"" : "\"prompt\":\"");
    if (pp) { /* count words, as /tokenize would */
        pp = strchr(pp + 3, ':') + 2;
        int inword = 0;
        for (; *pp && *pp != '"'; pp++) {
            if (*pp == ' ') inword = 0;
            else if (!inword) { inword = 1; prompt_tokens++; }
        }
    }
    char head[256];
    int hn = out->raw ? snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
                      : snprintf(head, sizeof head,
                                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n%s\r\n",
                                 keep ? "" : "Connection: close\r\n");
    if (out_bytes(out, head, (size_t)hn)) return -1;
    const char *obj = chat ? "chat.completion.chunk" : "text_completion";
    char ev[1024];
    if (chat) { /* role chunk at once, before any token: must not count as the first token */
        snprintf(ev, sizeof ev, "{\"id\":\"x\",\"object\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                 "\"assistant\",\"content\":\"\"}}]}", obj);
        if (send_event(out, ev)) return -1;
    }
    if (o->mode == FAKE_STALL) {
        while (!atomic_load(&s->stopping)) usleep(10000);
        return -1;
    }
    if (o->mode == FAKE_GARBAGE_SSE) {
        send_event(out, "{\"choices\":[{\"text\":\"a\"}]}");
        send_event(out, "{not json at all");
        return -1;
    }
    int sent = 0, k = 0;
    struct timespec t_prev = *t0, t_first = *t0;
    double *gaps = malloc(sizeof *gaps * (size_t)n);
    if (!gaps) return -1;
    while (sent < n) {
        int m = n - sent < per ? n - sent : per;
        /* first token ttft_ms after the request; each later one itl_ms after the
         * previous one actually went out, so a late wake-up delays the rest
         * instead of bunching them: gaps on the wire are never shorter */
        if (k == 0 && o->ttft_ms > 0) sleep_until(t0, o->ttft_ms);
        if (k > 0 && o->itl_ms > 0) sleep_until(&t_prev, o->itl_ms);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (k == 0) t_first = now;
        else gaps[k - 1] = ms_since(&t_prev, &now);
        t_prev = now;
        char text[256] = "";
        for (int j = 0; j < m && j < 32; j++) strcat(text, "tok ");
        if (chat)
            snprintf(ev, sizeof ev, "{\"id\":\"x\",\"object\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                     "\"%s\"},\"finish_reason\":%s}]}", obj, text, sent + m == n ? "\"length\"" : "null");
        else
            snprintf(ev, sizeof ev, "{\"id\":\"x\",\"object\":\"%s\",\"choices\":[{\"index\":0,\"text\":\"%s\","
                     "\"finish_reason\":%s}]}", obj, text, sent + m == n ? "\"length\"" : "null");
        if (send_event(out, ev)) {
            free(gaps);
            return -1;
        }
        sent += m;
        k++;
        if (o->mode == FAKE_CLOSE_MID && k == 2) { /* caller closes: truncated chunked body */
            free(gaps);
            return -1;
        }
        if (o->mode == FAKE_ERROR_EVENT && k == 2) {
            send_event(out, "{\"error\":{\"message\":\"engine died\",\"code\":500}}");
            send_event(out, "[DONE]");
            send_chunk(out, "", 0);
            free(gaps);
            return keep ? 0 : -1;
        }
    }
    pthread_mutex_lock(&s->mu);
    if (push(&s->ttft, &s->n_streams, &s->cap_ttft, ms_since(t0, &t_first)) == 0 &&
        push(&s->span, &s->n_span, &s->cap_span, ms_since(&t_first, &t_prev)) != 0)
        s->n_streams--; /* keep the two per-stream arrays the same length */
    for (int i = 0; i + 1 < k; i++) push(&s->gap, &s->n_gaps, &s->cap_gaps, gaps[i]);
    pthread_mutex_unlock(&s->mu);
    free(gaps);
    snprintf(ev, sizeof ev, "{\"id\":\"x\",\"object\":\"%s\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,"
             "\"completion_tokens\":%d,\"total_tokens\":%d}}", obj, prompt_tokens, n, prompt_tokens + n);
    if (send_event(out, ev)) return -1;
    if (o->mode != FAKE_NO_DONE && send_event(out, "[DONE]")) return -1;
    if (out->raw) return -1; /* close: that is the end of the body */
    if (out_bytes(out, "0\r\n\r\n", 5)) return -1;
    return keep ? 0 : -1;
}

static int do_completion_fast(fake_server *s, int fd, const char *body, int chat, int keep,
                              const struct timespec *t0) {
    batch b = {0};
    sink out = {fd, &b, 0};
    int rc = do_completion(s, &out, body, chat, keep, t0);
    if (s->o.mode == FAKE_DRIP) { /* every byte its own segment: the client must reassemble anything */
        for (size_t i = 0; i < b.len && rc == 0; i++) {
            if (send_all(fd, b.buf + i, 1)) rc = -1;
            if (i % 64 == 0) usleep(50);
        }
    } else if (b.len && send_all(fd, b.buf, b.len)) {
        rc = -1;
    }
    free(b.buf);
    return rc;
}

/* Random bytes seeded by the request number; half the time after a valid
 * chunked SSE head, so the noise reaches the chunk and SSE parsers too. */
static int do_random(fake_server *s, int fd) {
    unsigned long long x = 0x9E3779B97F4A7C15ull * (unsigned long long)(atomic_fetch_add(&s->requests, 1) + 1);
    char buf[4096];
    size_t n = 0;
    x ^= x >> 29;
    if (x & 1) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        n = strlen(h);
        memcpy(buf, h, n);
    }
    static const char *const bits[] = {"data: ", "{\"choices\":[{\"text\":\"", "\"}]}", "\n\n", "\r\n",
                                       "1a\r\n", "0\r\n\r\n", "[DONE]", "\"usage\":{", "ffffffff\r\n"};
    size_t want = 64 + (size_t)((x >> 8) % 3000);
    while (n < want && n < sizeof buf - 32) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        if ((x >> 60) < 6) {
            const char *b = bits[(x >> 40) % (sizeof bits / sizeof bits[0])];
            size_t l = strlen(b);
            memcpy(buf + n, b, l);
            n += l;
        } else {
            buf[n++] = (char)(x >> 33);
        }
    }
    send_all(fd, buf, n);
    return -1; /* close */
}

static void *conn_main(void *arg) {
    conn_arg *ca = arg;
    fake_server *s = ca->s;
    int fd = ca->fd;
    free(ca);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    long served = 0;
    while (buf && !atomic_load(&s->stopping)) {
        char *end = NULL;
        while (!(end = (len ? strstr(buf, "\r\n\r\n") : NULL))) {
            if (len == cap) goto out;
            ssize_t r = recv(fd, buf + len, cap - len, 0);
            if (r <= 0) goto out;
            len += (size_t)r;
            buf[len] = 0;
        }
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t head_len = (size_t)(end - buf) + 4;
        const char *cl = strcasestr(buf, "Content-Length:");
        size_t body_len = cl && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        if (head_len + body_len > cap) goto out;
        while (len < head_len + body_len) {
            ssize_t r = recv(fd, buf + len, cap - len, 0);
            if (r <= 0) goto out;
            len += (size_t)r;
            buf[len] = 0;
        }
        char method[8] = "", path[128] = "";
        sscanf(buf, "%7s %127s", method, path);
        int authorized = 1;
        if (s->o.api_key) { /* the header must be in the head, exactly */
            char want[300];
            snprintf(want, sizeof want, "\r\nAuthorization: Bearer %s\r\n", s->o.api_key);
            char saved = buf[head_len];
            buf[head_len] = 0;
            authorized = strstr(buf, want) != NULL;
            buf[head_len] = saved;
        }
        char *body = malloc(body_len + 1);
        if (!body) goto out;
        memcpy(body, buf + head_len, body_len);
        body[body_len] = 0;
        memmove(buf, buf + head_len + body_len, len - head_len - body_len);
        len -= head_len + body_len;
        buf[len] = 0;
        served++;
        int keep = !(s->o.close_every > 0 && served % s->o.close_every == 0);
        int rc;
        if (!authorized && !strncmp(path, "/v1/", 4))
            rc = respond_json(fd, 401, "{\"error\":{\"message\":\"invalid API key\",\"code\":401}}", 1);
        else if (!strcmp(path, "/v1/models"))
            rc = respond_json(fd, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\"}]}", 1);
        else if (!strcmp(path, "/tokenize") && s->o.vocab) rc = do_tokenize(fd, body);
        else if (!strcmp(path, "/detokenize") && s->o.vocab) rc = do_detokenize(fd, body);
        else if (!strcmp(path, "/v1/completions") || !strcmp(path, "/v1/chat/completions")) {
            int chat = !strcmp(path, "/v1/chat/completions");
            int fast = (s->o.mode == FAKE_TIMED && s->o.ttft_ms == 0 && s->o.itl_ms == 0) || s->o.mode == FAKE_DRIP;
            sink direct = {fd, NULL, s->o.mode == FAKE_HTTP10};
            if (s->o.mode == FAKE_RANDOM) rc = do_random(s, fd);
            else if (fast) rc = do_completion_fast(s, fd, body, chat, keep, &t0);
            else rc = do_completion(s, &direct, body, chat, keep, &t0);
        }
        else rc = respond_json(fd, 404, "{\"error\":{\"message\":\"not found\"}}", 1);
        free(body);
        if (rc) break;
    }
out:
    free(buf);
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg) {
    fake_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&s->mu);
        conn_arg *ca = malloc(sizeof *ca);
        if (atomic_load(&s->stopping) || s->n_conns == MAX_CONNS || !ca) {
            pthread_mutex_unlock(&s->mu);
            free(ca);
            close(fd);
            continue;
        }
        ca->s = s;
        ca->fd = fd;
        if (pthread_create(&s->threads[s->n_conns], NULL, conn_main, ca)) {
            pthread_mutex_unlock(&s->mu);
            free(ca);
            close(fd);
            continue;
        }
        s->fds[s->n_conns++] = fd;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

fake_server *fake_server_start(const fake_server_opts *o) {
    fake_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 1024) ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al)) {
        perror("fake_server");
        if (s->lfd >= 0) close(s->lfd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->accept_thread, NULL, accept_main, s)) {
        close(s->lfd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

int fake_server_port(const fake_server *s) { return s->port; }

int fake_server_timings(fake_server *s, fake_timings *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_streams, g = s->n_gaps;
    out->ttft = malloc((n + 1) * sizeof(double));
    out->span = malloc((n + 1) * sizeof(double));
    out->gap = malloc((g + 1) * sizeof(double));
    if (out->ttft && out->span && out->gap) {
        if (n) memcpy(out->ttft, s->ttft, n * sizeof(double));
        if (n) memcpy(out->span, s->span, n * sizeof(double));
        if (g) memcpy(out->gap, s->gap, g * sizeof(double));
        out->n_streams = n;
        out->n_gaps = g;
    }
    pthread_mutex_unlock(&s->mu);
    if (!out->ttft || !out->span || !out->gap) {
        fake_timings_free(out);
        return -1;
    }
    return 0;
}

void fake_timings_free(fake_timings *t) {
    free(t->ttft);
    free(t->span);
    free(t->gap);
    memset(t, 0, sizeof *t);
}
long fake_server_requests(const fake_server *s) { return atomic_load(&((fake_server *)s)->requests); }

void fake_server_stop(fake_server *s) {
    if (!s) return;
    atomic_store(&s->stopping, 1);
    shutdown(s->lfd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->accept_thread, NULL);
    close(s->lfd);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_conns; i++) shutdown(s->fds[i], SHUT_RDWR); /* wakes recv() */
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_conns; i++) {
        pthread_join(s->threads[i], NULL);
        close(s->fds[i]);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->ttft);
    free(s->span);
    free(s->gap);
    free(s);
}
