/* Standalone entry of the throughput benchmark (same flags as
 * `vireo bench throughput`). */
#include "benchmarks/throughput/bench_throughput.h"

int main(int argc, char **argv) { return vr_bench_throughput_main(argc, argv); }
