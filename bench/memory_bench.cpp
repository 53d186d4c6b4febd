// W5: heap and RSS of "vmlinux + modules ready for kernel-wide lookups", one mode per fresh process,
// printed as one JSON line. Modes:
//   btfkit         file_targets::open(vmlinux, modules) + build_module_index (modules read once, not kept)
//   btfkit-parsed  for context: vmlinux and every module read and parsed by btfkit, all kept
//   libbpf         btf__parse(vmlinux) + btf__parse_split(module, vmlinux) for every module, all kept
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include <btfkit/kernel.hpp>

#include "bench_support.hpp"

namespace {

struct usage {
    std::int64_t heap = 0;
    long rss = 0, anon = 0, file = 0;
};

usage measure() {
    return {bench::heap_in_use(), bench::status_kb("VmRSS"), bench::status_kb("RssAnon"), bench::status_kb("RssFile")};
}

}  // namespace

int main(int argc, char** argv) {
    bench::apply_tuning_from_env();
    const std::string dir = bench::corpus_dir_from(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: btfkit-memory btfkit|btfkit-parsed|libbpf [--corpus DIR] [MODULE_COUNT]\n");
        return 2;
    }
    const std::string_view mode = argv[1];
    bench::corpus c;
    if (!bench::load_corpus(dir, c)) return bench::exit_skip;
    const std::vector<std::string> modules =
        argc >= 3 ? bench::module_subset(c.modules, std::strtoul(argv[2], nullptr, 10)) : c.modules;
    libbpf_set_print(nullptr);

    const usage before = measure();
    bench::reset_peak();
    const std::int64_t peak_base = bench::allocations().live_bytes;
    const std::int64_t t0 = bench::now_ns();

    // Everything below stays alive until the measurement after it.
    std::unique_ptr<btfkit::file_targets> targets;
    btfkit::mapped_file vmlinux_file;
    std::unique_ptr<btfkit::btf> vmlinux;
    std::vector<btfkit::byte_buffer> module_bytes;
    std::vector<btfkit::btf> module_btfs;
    struct btf* lb_vmlinux = nullptr;
    std::vector<struct btf*> lb_modules;

    if (mode == "btfkit") {
        auto t = btfkit::file_targets::open(c.vmlinux, modules);
        if (!t) return std::fprintf(stderr, "%s\n", t.error().message().c_str()), 1;
        targets = std::move(*t);
        if (auto s = targets->targets().build_module_index(); !s) return std::fprintf(stderr, "%s\n", s.error().message().c_str()), 1;
    } else if (mode == "btfkit-parsed") {
        auto f = btfkit::mapped_file::open(c.vmlinux);
        if (!f) return 1;
        vmlinux_file = std::move(*f);
        auto b = btfkit::btf::parse(vmlinux_file.bytes());
        if (!b) return 1;
        vmlinux = std::make_unique<btfkit::btf>(std::move(*b));
        module_bytes.resize(modules.size());
        module_btfs.reserve(modules.size());
        for (std::size_t i = 0; i < modules.size(); ++i) {
            if (!btfkit::read_btf_into(modules[i], module_bytes[i])) return 1;
            module_bytes[i].shrink_to_fit();
            auto m = btfkit::btf::parse(btfkit::byte_span(module_bytes[i].data(), module_bytes[i].size()), vmlinux.get());
            if (!m) return 1;
            module_btfs.push_back(std::move(*m));
        }
    } else if (mode == "libbpf") {
        lb_vmlinux = btf__parse(c.vmlinux.c_str(), nullptr);
        if (lb_vmlinux == nullptr) return 1;
        for (const auto& m : modules) {
            struct btf* b = btf__parse_split(m.c_str(), lb_vmlinux);
            if (b == nullptr) return std::fprintf(stderr, "btf__parse_split failed: %s\n", m.c_str()), 1;
            lb_modules.push_back(b);
        }
    } else {
        std::fprintf(stderr, "unknown mode '%s'\n", argv[1]);
        return 2;
    }

    const std::int64_t t1 = bench::now_ns();
    const usage after = measure();
    const std::int64_t peak = bench::allocations().peak_bytes - peak_base;
    std::printf("{\"mode\": \"%s\", \"modules\": %zu, \"heap_bytes\": %lld, \"peak_heap_bytes\": %lld, \"rss_kb\": %ld, "
                "\"rss_anon_kb\": %ld, \"rss_file_kb\": %ld, \"ms\": %.1f}\n",
                argv[1], modules.size(), static_cast<long long>(after.heap - before.heap), static_cast<long long>(peak),
                after.rss - before.rss, after.anon - before.anon, after.file - before.file, static_cast<double>(t1 - t0) / 1e6);
    for (auto* b : lb_modules) btf__free(b);
    btf__free(lb_vmlinux);
    return 0;
}
