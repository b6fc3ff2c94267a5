/* HTTP layer end to end over real sockets: the server runs in-process
 * (no model) on an ephemeral loopback port; the test speaks raw HTTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json/json.h"
#include "server/server.h"

static int failures;
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static int port;
#define AUTH "Authorization: Bearer sekret\r\n"

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}
static void sends(int fd, const char *s) { send_all(fd, s, strlen(s)); }

typedef struct resp {
    int status;
    char head[4096];
    char *body;
    size_t body_len;
} resp;

/* Reads into buf until pred says done, EOF, or 5 s pass. Returns bytes. */
static size_t read_until(int fd, char *buf, size_t cap, size_t have, int want_responses, int *eof) {
    *eof = 0;
    for (;;) {
        /* count complete responses (Content-Length or chunked) in buf */
        int complete = 0;
        size_t off = 0;
        for (;;) {
            buf[have] = 0;
            char *he = strstr(buf + off, "\r\n\r\n");
            if (!he) break;
            size_t hlen = (size_t)(he + 4 - (buf + off));
            char *cl = strcasestr(buf + off, "content-length:");
            char *te = strcasestr(buf + off, "transfer-encoding: chunked");
            if (cl && cl > he) cl = NULL;
            if (te && te > he) te = NULL;
            if (!strncmp(buf + off, "HTTP/1.1 100", 12)) {
                off += hlen;
                continue;
            }
            size_t body = 0;
            if (cl) body = strtoul(cl + 15, NULL, 10);
            if (te) {
                char *end = strstr(he + 4, "\r\n0\r\n\r\n");
                if (!end && !strncmp(he + 4, "0\r\n\r\n", 5)) end = he + 2;
                if (!end) break;
                body = (size_t)(end + 7 - (he + 4));
            }
            if (off + hlen + body > have) break;
            off += hlen + body;
            complete++;
        }
        if (complete >= want_responses) return have;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) return have;
        ssize_t k = recv(fd, buf + have, cap - have - 1, 0);
        if (k <= 0) {
            *eof = 1;
            return have;
        }
        have += (size_t)k;
    }
}

/* One request on a fresh connection; returns status, fills body (static). */
static int request(const char *raw, char *out, size_t cap, int *closed) {
    int fd = dial();
    sends(fd, raw);
    int eof;
    size_t n = read_until(fd, out, cap, 0, 1, &eof);
    out[n] = 0;
    if (closed) {
        /* did the server close after answering? */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        *closed = eof || (poll(&p, 1, 1000) > 0 && recv(fd, &c, 1, 0) == 0);
    }
    close(fd);
    int status = 0;
    sscanf(out, "HTTP/1.1 %d", &status);
    return status;
}

static const char *body_of(const char *r) {
    const char *b = strstr(r, "\r\n\r\n");
    return b ? b + 4 : "";
}

static void *run_server(void *arg) {
    vr_server_run(arg);
    return NULL;
}

static char buf[1 << 20];

static void test_basic_routes(void) {
    int closed;
    CHECK(request("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strcasestr(buf, "content-length: 0"));
    CHECK(request("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(request("GET /version HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strstr(body_of(buf), "{\"version\":\"" VIREO_VERSION "\"}"));
    CHECK(request("GET /v1/models HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strstr(buf, "\"object\":\"list\"") && strstr(buf, "\"owned_by\":\"vireo\""));
    CHECK(strstr(buf, "\"id\":\"tiny\"") && strstr(buf, "\"id\":\"alias\""));
    /* 404 / 405 as JSON errors */
    CHECK(request("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 404);
    CHECK(strstr(buf, "\"type\":\"NotFoundError\"") && strstr(buf, "\"code\":404"));
    CHECK(request("POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", buf, sizeof buf, NULL) == 405);
    CHECK(strcasestr(buf, "allow: GET") && strstr(buf, "\"code\":405"));
    CHECK(request("DELETE /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 405);
    /* metrics: Prometheus text with vLLM names and the model label */
    CHECK(request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strcasestr(buf, "content-type: text/plain"));
    CHECK(strstr(buf, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"tiny\"} 0"));
    CHECK(strstr(buf, "vllm:time_to_first_token_seconds_bucket{le=\"0.001\",model_name=\"tiny\"} 0"));
    CHECK(strstr(buf, "vllm:e2e_request_latency_seconds_count{model_name=\"tiny\"} 0"));
    CHECK(strstr(buf, "vllm:request_success_total{finished_reason=\"stop\",model_name=\"tiny\"} 0"));
    /* docs */
    CHECK(request("GET /docs HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strstr(buf, "<html") && strstr(buf, "/v1/chat/completions"));
    CHECK(request("GET /openapi.json HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n", buf, sizeof buf, NULL) == 200);
    const char *b = body_of(buf);
    vr_jdoc *d = vr_jdoc_parse(b, strlen(b), NULL, 0);
    CHECK(d && vr_jget(vr_jget(vr_jdoc_root(d), "paths"), "/v1/completions"));
    vr_jdoc_free(d);
    /* HTTP/1.0 without keep-alive: answered, then closed */
    CHECK(request("GET /health HTTP/1.0\r\n\r\n", buf, sizeof buf, &closed) == 200);
    CHECK(closed);
}

static void test_auth(void) {
    const char *guarded[] = {"POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings",
                             "POST /tokenize",            "POST /detokenize",    "GET /v1/models",
                             "GET /version",              "GET /docs",           "GET /openapi.json"};
    char req[512];
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++) {
        snprintf(req, sizeof req, "%s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", guarded[i]);
        CHECK(request(req, buf, sizeof buf, NULL) == 401);
        CHECK(strstr(buf, "\"code\":401") && strstr(buf, "\"error\":{"));
        snprintf(req, sizeof req, "%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekreT\r\nContent-Length: 2\r\n\r\n{}",
                 guarded[i]);
        CHECK(request(req, buf, sizeof buf, NULL) == 401);
        snprintf(req, sizeof req, "%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer other-key\r\nContent-Length: 2\r\n\r\n{}",
                 guarded[i]);
        CHECK(request(req, buf, sizeof buf, NULL) != 401); /* the second key works */
    }
    CHECK(request("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: sekret\r\n\r\n", buf, sizeof buf, NULL) == 401);
    CHECK(request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 200);
}

static void test_bodies(void) {
    /* body errors come back as OpenAI errors (the body is read before the
     * missing model is noticed) */
    CHECK(request("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 4\r\n\r\n{bad", buf,
                  sizeof buf, NULL) == 400);
    CHECK(strstr(buf, "not valid JSON") && strstr(buf, "\"type\":\"BadRequestError\""));
    CHECK(request("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 9\r\n\r\n{\"a\":\"\xff\"}",
                  buf, sizeof buf, NULL) == 400);
    CHECK(strstr(buf, "UTF-8"));
    CHECK(request("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 2\r\n\r\n[]", buf, sizeof buf,
                  NULL) == 400);
    CHECK(strstr(buf, "must be a JSON object"));
    CHECK(request("POST /tokenize HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n", buf, sizeof buf, NULL) == 400);
    /* a well-formed request without a model: 503 */
    CHECK(request("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 2\r\n\r\n{}", buf, sizeof buf,
                  NULL) == 503);
    /* chunked request body, split in odd places */
    int fd = dial();
    sends(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Transfer-Encoding: chunked\r\n\r\n3\r\n{\"p");
    usleep(20000);
    sends(fd, "\r\n2\r\nx\"\r\n0\r\n\r\n");
    int eof;
    size_t n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(strstr(buf, "HTTP/1.1 400") && strstr(buf, "not valid JSON"));
    close(fd);
    /* Expect: 100-continue gets the interim answer first */
    fd = dial();
    sends(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    n = read_until(fd, buf, sizeof buf, 0, 0, &eof);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK(poll(&p, 1, 2000) == 1);
    n = (size_t)recv(fd, buf, sizeof buf - 1, 0);
    buf[n] = 0;
    CHECK(!strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25));
    sends(fd, "[]");
    n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(strstr(buf, "HTTP/1.1 400"));
    close(fd);
}

static void test_limits(void) {
    int closed;
    /* declared body over the limit: 413 at once, then close */
    CHECK(request("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 100000\r\n\r\n", buf, sizeof buf,
                  &closed) == 413);
    CHECK(closed && strstr(buf, "\"code\":413"));
    /* chunked body growing over the limit */
    int fd = dial();
    sends(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Transfer-Encoding: chunked\r\n\r\n");
    char chunk[1100];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 6; i++) {
        sends(fd, "44c\r\n");
        send_all(fd, chunk, 0x44c);
        sends(fd, "\r\n");
    }
    int eof;
    size_t n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(strstr(buf, "HTTP/1.1 413"));
    close(fd);
    /* headers over the limit: 431 */
    char big[4000];
    memset(big, 'h', sizeof big);
    memcpy(big, "GET /health HTTP/1.1\r\nX-Big: ", 29);
    memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
    CHECK(request(big, buf, sizeof buf, &closed) == 431);
    CHECK(closed);
    /* malformed requests: 400 and close */
    CHECK(request("GARBAGE\r\n\r\n", buf, sizeof buf, &closed) == 400);
    CHECK(closed && strstr(buf, "malformed HTTP request"));
    CHECK(request("GET /health HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", buf, sizeof buf,
                  &closed) == 400);
    CHECK(request("GET /health HTTP/1.1\r\nNoColonHere\r\n\r\n", buf, sizeof buf, &closed) == 400);
    /* slowloris: a request that never completes gets 408 and is closed */
    fd = dial();
    sends(fd, "GET /health HTTP/1.1\r\nHost: x\r\n");
    usleep(100000);
    sends(fd, "X-A: 1\r\n");
    n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(strstr(buf, "HTTP/1.1 408"));
    close(fd);
}

static void test_keepalive_pipelining(void) {
    int fd = dial();
    /* three requests in one write: answers in order on the same connection */
    sends(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
              "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 3\r\n\r\n{x}"
              "GET /version HTTP/1.1\r\nHost: x\r\n" AUTH "\r\n");
    int eof;
    size_t n = read_until(fd, buf, sizeof buf, 0, 4, &eof);
    buf[n] = 0;
    char *a = strstr(buf, "HTTP/1.1 200");
    char *b = strstr(buf, "HTTP/1.1 404");
    char *c = strstr(buf, "HTTP/1.1 400");
    char *d = a ? strstr(a + 1, "HTTP/1.1 200") : NULL;
    CHECK(a && b && c && d && a < b && b < c && c < d);
    CHECK(strstr(buf, VIREO_VERSION));
    /* and the connection is still usable afterwards */
    sends(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
    close(fd);
    /* a request split byte by byte still parses */
    fd = dial();
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    for (const char *q = req; *q; q++) send_all(fd, q, 1);
    n = read_until(fd, buf, sizeof buf, 0, 1, &eof);
    buf[n] = 0;
    CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
    close(fd);
}

static void test_cors(void) {
    CHECK(request("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n"
                  "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n",
                  buf, sizeof buf, NULL) == 204);
    CHECK(strcasestr(buf, "access-control-allow-origin: http://app.example"));
    CHECK(strcasestr(buf, "access-control-allow-methods:"));
    CHECK(request("GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(strcasestr(buf, "access-control-allow-origin: http://app.example"));
    CHECK(request("GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", buf, sizeof buf, NULL) == 200);
    CHECK(!strcasestr(buf, "access-control-allow-origin"));
    CHECK(request("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", buf,
                  sizeof buf, NULL) == 405);
}

static void test_many_connections(void) {
    enum { N = 200 };
    int fds[N];
    for (int i = 0; i < N; i++) fds[i] = dial();
    for (int i = 0; i < N; i++) sends(fds[i], "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    int ok = 0;
    for (int i = 0; i < N; i++) {
        int eof;
        char small[1024];
        size_t n = read_until(fds[i], small, sizeof small, 0, 1, &eof);
        small[n] = 0;
        ok += !strncmp(small, "HTTP/1.1 200", 12);
        close(fds[i]);
    }
    CHECK(ok == N);
    /* random bytes (and random bytes after a valid request line) never
     * crash or wedge the server */
    unsigned x = 7;
    for (int i = 0; i < 100; i++) {
        int fd = dial();
        char junk[512];
        size_t n = 1 + (x % sizeof junk);
        for (size_t k = 0; k < n; k++) junk[k] = (char)((x = x * 1103515245u + 12345u) >> 16);
        if (i % 2) sends(fd, "POST /v1/completions HTTP/1.1\r\n");
        send_all(fd, junk, n);
        if (i % 3 == 0) {
            int eof;
            read_until(fd, buf, sizeof buf, 0, 1, &eof);
        }
        close(fd);
    }
    CHECK(request("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 200);
    /* clients that vanish mid-request leave nothing behind */
    for (int i = 0; i < 50; i++) {
        int fd = dial();
        sends(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"pro");
        close(fd);
    }
    CHECK(request("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, NULL) == 200);
}

int main(void) {
    vr_server_options o;
    vr_server_options_default(&o);
    o.host = "127.0.0.1";
    o.port = 0;
    o.api_keys[o.n_api_keys++] = "sekret";
    o.api_keys[o.n_api_keys++] = "other-key";
    o.served_model_names[o.n_served_model_names++] = "tiny";
    o.served_model_names[o.n_served_model_names++] = "alias";
    o.allowed_origins[o.n_allowed_origins++] = "http://app.example";
    o.max_body_bytes = 4096;
    o.max_header_bytes = 2048;
    o.request_timeout_ms = 400;
    o.idle_timeout_ms = 5000;
    o.install_signal_handlers = 0;
    o.quiet = 1;
    o.log_requests = 0;
    char err[512];
    vr_server *s;
    if (vr_server_create(&o, &s, err, sizeof err)) {
        fprintf(stderr, "create: %s\n", err);
        return 1;
    }
    port = vr_server_port(s);
    CHECK(port > 0);
    pthread_t th;
    pthread_create(&th, NULL, run_server, s);

    test_basic_routes();
    test_auth();
    test_bodies();
    test_limits();
    test_keepalive_pipelining();
    test_cors();
    test_many_connections();

    /* graceful stop with an idle keep-alive connection open */
    int idle = dial();
    sends(idle, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    int eof;
    read_until(idle, buf, sizeof buf, 0, 1, &eof);
    vr_server_stop(s);
    pthread_join(th, NULL);
    char c;
    CHECK(recv(idle, &c, 1, 0) <= 0);
    close(idle);
    vr_server_destroy(s);

    /* a port already taken is a clear error, not a crash */
    vr_server_options o2 = o;
    o2.port = port;
    vr_server *s2 = NULL;
    int blocker = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(blocker, (struct sockaddr *)&a, sizeof a);
    listen(blocker, 1);
    socklen_t al = sizeof a;
    getsockname(blocker, (struct sockaddr *)&a, &al);
    o2.port = ntohs(a.sin_port);
    CHECK(vr_server_create(&o2, &s2, err, sizeof err) != 0 && strstr(err, "cannot listen"));
    close(blocker);

    if (failures) {
        fprintf(stderr, "test_http: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_http: ok\n");
    return 0;
}
