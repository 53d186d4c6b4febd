// The candidate-source harness (source_bench.hpp) on examples/linear_source.hpp, libbpf's linear search,
// beside target_set: `btfkit-source-bench [--vmlinux F --modules-dir D --objects D|F...] [benchmark flags]`.
#include "../examples/linear_source.hpp"
#include "source_bench.hpp"

int main(int argc, char** argv) {
    source_bench::add_source("linear_source", [](const source_bench::inputs& in) { return example::linear_source::open(in.vmlinux, in.modules); });
    return source_bench::run(argc, argv);
}
