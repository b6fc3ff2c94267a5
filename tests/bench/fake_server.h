/* tests/bench/fake_server.h — a small OpenAI-compatible streaming server for
 * testing the load generator: it streams with KNOWN timings (first token
 * ttft_ms after the request, then one token itl_ms after the previous, each
 * token one SSE chunk, usage at the end), or misbehaves in one chosen way.
 * Plain sockets and one thread per connection; binds 127.0.0.1 on an
 * ephemeral port; stops (joining every thread) on fake_server_stop. */
#ifndef VR_TESTS_FAKE_SERVER_H
#define VR_TESTS_FAKE_SERVER_H

#include <stddef.h>

typedef enum {
    FAKE_TIMED,        /* well-behaved, timed stream */
    FAKE_STATUS_400,   /* 400 with an OpenAI error body */
    FAKE_CLOSE_MID,    /* two chunks, then the connection is closed */
    FAKE_GARBAGE_SSE,  /* a data: event that is not JSON */
    FAKE_BAD_HTTP,     /* a status line that is not HTTP */
    FAKE_STALL,        /* headers, then nothing (for --timeout) */
    FAKE_NO_DONE,      /* tokens and usage, but the stream ends without [DONE] */
    FAKE_ERROR_EVENT,  /* a data: {"error":...} event mid-stream */
    FAKE_DRIP,         /* a well-formed, unpaced response sent one byte per send() */
    FAKE_RANDOM,       /* seeded random bytes (sometimes after a plausible head), then close */
    FAKE_HTTP10,       /* HTTP/1.0, no chunked encoding: the stream ends when the connection closes */
} fake_mode;

typedef struct fake_server_opts {
    fake_mode mode;
    int ttft_ms, itl_ms;     /* FAKE_TIMED; 0 = no delay at all */
    int tokens;              /* tokens per response; 0 = the request's max_tokens */
    int tokens_per_chunk;    /* >1: several tokens' text in one chunk */
    int vocab;               /* serve /tokenize and /detokenize */
    int close_every;         /* >0: answer every Nth request with Connection: close */
    const char *api_key;     /* non-NULL: routes under /v1/ need "Authorization: Bearer <key>", else 401 */
} fake_server_opts;

typedef struct fake_server fake_server;

/* Returns NULL on failure (message on stderr). */
fake_server *fake_server_start(const fake_server_opts *o);
int fake_server_port(const fake_server *s);
long fake_server_requests(const fake_server *s); /* completion requests answered */

/* What the server actually did, measured on its side (ms), for streams that
 * completed: time from reading the request to sending the first token, every
 * gap between token chunks, and first-to-last token span per stream. On a
 * busy machine these drift from the nominal ttft_ms / itl_ms; the harness
 * must report these, not the nominal ones. Arrays are malloc'd copies. */
typedef struct fake_timings {
    double *ttft, *gap, *span;
    size_t n_streams, n_gaps;
} fake_timings;
int fake_server_timings(fake_server *s, fake_timings *out);
void fake_timings_free(fake_timings *t);
void fake_server_stop(fake_server *s);

#endif
