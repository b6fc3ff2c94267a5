/* benchmarks/serve/bench_serve.h — `vireo bench serve`: a load generator for
 * any OpenAI-compatible streaming server (see README.md in this folder). */
#ifndef VR_BENCH_SERVE_H
#define VR_BENCH_SERVE_H

/* argv[0] is "serve" (or any program name); returns the exit status:
 * 0 ok, 1 the benchmark could not run, 2 bad flags. */
int vr_bench_serve_main(int argc, char **argv);

#endif
