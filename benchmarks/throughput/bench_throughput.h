/* benchmarks/throughput/bench_throughput.h — `vireo bench throughput`. */
#ifndef VR_BENCH_THROUGHPUT_H
#define VR_BENCH_THROUGHPUT_H

/* argv[0] is the subcommand name ("throughput"); flags follow:
 *   MODEL --num-prompts N --input-len I --output-len O [--max-num-seqs C]
 *   [--max-num-batched-tokens B] [--threads T] [--kv-cache-memory-bytes X]
 *   [--dtype D] [--seed S] [--json]
 * Returns the process exit status. */
int vr_bench_throughput_main(int argc, char **argv);

#endif
