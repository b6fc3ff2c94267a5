/* tests/bench/fake_server_main.c — the test suite's fake OpenAI server as a
 * program, to measure how fast the load generator is:
 *   fake_openai_server [--ttft-ms N] [--itl-ms N] [--tokens N] [--seconds S]
 * prints "port N" on stdout, serves on 127.0.0.1 for S seconds (default 60),
 * then stops by itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/bench/fake_server.h"

int main(int argc, char **argv) {
    fake_server_opts o = {.mode = FAKE_TIMED, .vocab = 1};
    int seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--ttft-ms")) o.ttft_ms = v;
        else if (!strcmp(argv[i], "--itl-ms")) o.itl_ms = v;
        else if (!strcmp(argv[i], "--tokens")) o.tokens = v;
        else if (!strcmp(argv[i], "--seconds")) seconds = v;
        else {
            fprintf(stderr, "unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    fake_server *s = fake_server_start(&o);
    if (!s) return 1;
    printf("port %d\n", fake_server_port(s));
    fflush(stdout);
    sleep((unsigned)(seconds > 0 ? seconds : 1));
    printf("served %ld completion requests\n", fake_server_requests(s));
    fake_timings t;
    if (fake_server_timings(s, &t) == 0 && t.n_streams) {
        /* what the server itself did: compare with what the harness reports */
        double ttft = 0, maxttft = 0, gap = 0;
        for (size_t i = 0; i < t.n_streams; i++) {
            ttft += t.ttft[i];
            if (t.ttft[i] > maxttft) maxttft = t.ttft[i];
        }
        for (size_t i = 0; i < t.n_gaps; i++) gap += t.gap[i];
        printf("server side: mean ttft %.2f ms (max %.2f), mean gap %.2f ms over %zu streams\n",
               ttft / (double)t.n_streams, maxttft, t.n_gaps ? gap / (double)t.n_gaps : 0.0, t.n_streams);
        fake_timings_free(&t);
    }
    fake_server_stop(s);
    return 0;
}
