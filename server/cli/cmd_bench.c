/* server/cli/cmd_bench.c — `vireo bench serve|throughput ...`: hands the
 * rest of the command line to the benchmark named. The benchmarks live in
 * benchmarks/<name>/ and are linked into the binary by their own CMake
 * files; throughput is optional until its library exists. */
#include <stdio.h>
#include <string.h>

#include "benchmarks/serve/bench_serve.h"
#include "server/cli/commands.h"

#if defined(VR_HAVE_BENCH_THROUGHPUT) && __has_include("benchmarks/throughput/bench_throughput.h")
#include "benchmarks/throughput/bench_throughput.h"
#define VR_BENCH_THROUGHPUT 1
#endif

static void bench_usage(FILE *f) {
    fprintf(f, "usage: vireo bench COMMAND [flags]\n\n"
               "  serve        load-test an OpenAI-compatible server (TTFT, TPOT, ITL, throughput)\n"
               "  throughput   offline engine throughput%s\n\n"
               "`vireo bench COMMAND --help` for its flags.\n",
#ifdef VR_BENCH_THROUGHPUT
               ""
#else
               " (not in this build)"
#endif
    );
}

int vr_cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        bench_usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        bench_usage(stdout);
        return 0;
    }
    if (!strcmp(sub, "serve")) return vr_bench_serve_main(argc - 1, argv + 1);
    if (!strcmp(sub, "throughput")) {
#ifdef VR_BENCH_THROUGHPUT
        return vr_bench_throughput_main(argc - 1, argv + 1);
#else
        fprintf(stderr, "vireo bench throughput: not available in this build\n");
        return 2;
#endif
    }
    fprintf(stderr, "vireo bench: unknown benchmark '%s'\n\n", sub);
    bench_usage(stderr);
    return 2;
}
