// A reusable Google Benchmark harness for candidate sources (btfkit::candidate_source): any vmlinux,
// module directory and object set, and any source, timed W2- and W4-style (docs/performance.md)
// beside btfkit's target_set. A user's benchmark is a main() that registers its source:
//
//   int main(int argc, char** argv) {
//       source_bench::add_source("mine", [](const source_bench::inputs& in) { return my_source::open(in.vmlinux, in.modules); });
//       return source_bench::run(argc, argv);   // target_set is registered as "target_set"
//   }
//
// open(inputs) returns the source owned by anything `*` dereferences to it (std::unique_ptr<S>,
// std::optional<S>, btfkit::result<S>). Every source's candidates and relocated bits are checked
// against target_set's first: a source that differs fails its benchmark instead of timing it.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"

#include "bench_support.hpp"

namespace source_bench {

struct inputs {
    std::string vmlinux;
    std::vector<std::string> modules;  // searched in this order (btfkit --modules-dir's: by name)
    std::vector<std::string> objects;  // BPF objects with CO-RE records
};

namespace detail {

struct state {
    inputs in;
    std::vector<std::size_t> name_counts{1, 10, 100};
    std::vector<bench::named_kind> all_names;       // module-only names of the inputs
    std::map<std::size_t, std::vector<char>> blobs;  // per name count: a local BTF naming them
    struct object {
        std::vector<char> bytes;
        btfkit::bpf_object obj;
        std::vector<char> reference;  // relocated through target_set
    };
    std::vector<std::unique_ptr<object>> objects;
    std::map<std::size_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> reference_candidates;  // per name count
    bool prepared = false;
    std::vector<std::function<void()>> registrars;  // add_source's, run once the inputs are known
};
inline state& the() {
    static state s;
    return s;
}

// btfkit's target_set as file_targets opens it (no index cache, no prefetch: the plain open).
struct owned_target_set {
    btfkit::result<std::unique_ptr<btfkit::file_targets>> files;
    explicit operator bool() const noexcept { return files.has_value(); }
    btfkit::target_set& operator*() const noexcept { return (*files)->targets(); }
};
[[nodiscard]] inline owned_target_set open_target_set(const inputs& in) {
    return {btfkit::file_targets::open(in.vmlinux, in.modules, btfkit::target_options{})};
}

// The candidates of every local type of `blob`, as (target, id), through `src`.
template <class Source>
[[nodiscard]] btfkit::result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> candidates(Source& src, const btfkit::btf& local) {
    std::vector<btfkit::candidate> out;
    btfkit::relocate_options libbpf_like;  // modules only when vmlinux has none
    for (std::uint32_t id = 1; id < local.type_count(); ++id) {
        BTFKIT_TRY(btfkit::collect_candidates(src, local[id], btfkit::essential_name(local[id].name()), libbpf_like, out));
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ids;
    for (const auto& c : out) ids.emplace_back(c.target, c.id);
    return ids;
}

template <class Source>
[[nodiscard]] btfkit::result<std::uint32_t> relocate_all(Source& src, btfkit::relocation_scratch& scratch, std::vector<std::vector<char>>& images) {
    std::uint32_t n = 0;
    auto& s = the();
    for (std::size_t i = 0; i < s.objects.size(); ++i) {
        auto& o = *s.objects[i];
        images[i].assign(o.bytes.begin(), o.bytes.end());
        auto sum = btfkit::relocate_object(o.obj, std::span<char>(images[i].data(), images[i].size()), src, scratch, {},
                                           [](const btfkit::relocation_report&) {});
        if (!sum) return sum.error();
        n += sum->total;
    }
    return n;
}

// Names, local BTFs, parsed objects and target_set's answers: once, outside every timing.
inline void prepare() {
    auto& s = the();
    if (s.prepared) return;
    s.prepared = true;
    s.all_names = bench::all_module_only_names(s.in.vmlinux, s.in.modules);
    for (const std::size_t n : s.name_counts) {
        const auto names = bench::pick_names(s.all_names, n);
        if (names.size() == n) s.blobs[n] = bench::local_btf_blob(names);
    }
    for (const auto& p : s.in.objects) {
        auto o = std::make_unique<state::object>();
        auto f = btfkit::mapped_file::open(p);
        if (!f) continue;
        o->bytes.assign(f->bytes().begin(), f->bytes().end());
        auto obj = btfkit::bpf_object::parse(btfkit::byte_span(o->bytes.data(), o->bytes.size()));
        if (!obj || !obj->has_ext()) continue;
        o->obj = std::move(*obj);
        s.objects.push_back(std::move(o));
    }
    auto ours = open_target_set(s.in);
    if (!ours) {
        std::fprintf(stderr, "source_bench: %s\n", ours.files.error().message().c_str());
        std::exit(1);
    }
    btfkit::relocation_scratch scratch;
    std::vector<std::vector<char>> images(s.objects.size());
    if (auto r = relocate_all(*ours, scratch, images); !r) {
        std::fprintf(stderr, "source_bench: target_set: %s\n", r.error().message().c_str());
        std::exit(1);
    }
    for (std::size_t i = 0; i < s.objects.size(); ++i) s.objects[i]->reference = std::move(images[i]);
    for (const auto& [n, blob] : s.blobs) {
        auto local = btfkit::btf::parse(btfkit::byte_span(blob.data(), blob.size()));
        auto c = local ? candidates(*ours, *local) : btfkit::result<std::vector<std::pair<std::uint32_t, std::uint32_t>>>(local.error());
        if (c) s.reference_candidates[n] = std::move(*c);
    }
}

using clock = std::chrono::steady_clock;

// W2-style: open the source and find the candidates of n module-only names (vmlinux, then modules).
template <class Open>
void w2(benchmark::State& st, Open& open, std::size_t n) {
    prepare();
    auto& s = the();
    const auto blob = s.blobs.find(n);
    if (blob == s.blobs.end()) {
        st.SkipWithError("not enough module-only names in these modules");
        return;
    }
    auto local = btfkit::btf::parse(btfkit::byte_span(blob->second.data(), blob->second.size()));
    if (!local) {
        st.SkipWithError(local.error().message().c_str());
        return;
    }
    std::size_t found = 0;
    for (auto _ : st) {
        auto src = open(s.in);
        if (!src) {
            st.SkipWithError("the source did not open");
            return;
        }
        auto c = candidates(*src, *local);
        if (!c) {
            st.SkipWithError(c.error().message().c_str());
            return;
        }
        if (*c != s.reference_candidates[n]) {
            st.SkipWithError("candidates differ from target_set's");
            return;
        }
        found = c->size();
    }
    st.counters["names"] = static_cast<double>(n);
    st.counters["candidates"] = static_cast<double>(found);
}

// W4-style: the source open and warm (every object relocated once), each relocation of every object
// timed; the result checked against target_set's bits.
template <class Open>
void w4(benchmark::State& st, Open& open) {
    prepare();
    auto& s = the();
    auto src = open(s.in);
    if (!src) {
        st.SkipWithError("the source did not open");
        return;
    }
    btfkit::relocation_scratch scratch;
    std::vector<std::vector<char>> images(s.objects.size());
    auto warm = relocate_all(*src, scratch, images);
    if (!warm) {
        st.SkipWithError(warm.error().message().c_str());
        return;
    }
    for (std::size_t i = 0; i < s.objects.size(); ++i) {
        if (images[i] != s.objects[i]->reference) {
            st.SkipWithError("relocated bits differ from target_set's");
            return;
        }
    }
    std::uint64_t relocations = 0;
    double seconds = 0;
    for (auto _ : st) {
        std::uint32_t n = 0;
        double iteration = 0;
        for (std::size_t i = 0; i < s.objects.size(); ++i) {
            auto& o = *s.objects[i];
            std::copy(o.bytes.begin(), o.bytes.end(), images[i].begin());
            const auto t0 = clock::now();
            auto sum = btfkit::relocate_object(o.obj, std::span<char>(images[i].data(), images[i].size()), *src, scratch, {},
                                               [](const btfkit::relocation_report&) {});
            const double dt = std::chrono::duration<double>(clock::now() - t0).count();
            if (!sum) {
                st.SkipWithError(sum.error().message().c_str());
                return;
            }
            n += sum->total;
            iteration += dt;
        }
        st.SetIterationTime(iteration);
        seconds += iteration;
        relocations += n;
    }
    st.counters["relocations"] = static_cast<double>(relocations / std::max<std::uint64_t>(1, st.iterations()));
    st.counters["ns_per_relocation"] = relocations == 0 ? 0.0 : seconds * 1e9 / static_cast<double>(relocations);
}

}  // namespace detail

// Registers the W2- and W4-style benchmarks of one source (when run() knows the inputs).
template <class Open>
void add_source(const std::string& name, Open open) {
    auto shared = std::make_shared<Open>(std::move(open));
    detail::the().registrars.push_back([name, shared] {
        for (const std::size_t n : detail::the().name_counts) {
            benchmark::RegisterBenchmark(("w2_source/" + name + "/names:" + std::to_string(n)).c_str(),
                                         [shared, n](benchmark::State& st) { detail::w2(st, *shared, n); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
        benchmark::RegisterBenchmark(("w4_source/" + name).c_str(), [shared](benchmark::State& st) { detail::w4(st, *shared); })
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
    });
}

// The inputs from the command line (removed from argv before Google Benchmark's flags are read):
//   --vmlinux FILE       vmlinux BTF (raw or ELF)              default: the corpus's
//   --modules-dir DIR    module BTF/.ko files, by name order   default: the corpus's
//   --objects DIR|FILE   BPF objects (repeatable)              default: the corpus's libbpf-tools
//   --names N,N,...      W2 name counts                        default: 1,10,100
//   --corpus DIR         the corpus (bench/corpus/fetch)
// Exits 77 (skipped) when there is nothing to run on.
inline bool parse_args(int& argc, char** argv) {
    auto& s = detail::the();
    std::string vmlinux, modules_dir;
    std::vector<std::string> objects;
    std::string names;
    const std::string corpus = bench::corpus_dir_from(argc, argv);
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--vmlinux" && has) vmlinux = argv[++i];
        else if (a == "--modules-dir" && has) modules_dir = argv[++i];
        else if (a == "--objects" && has) objects.emplace_back(argv[++i]);
        else if (a == "--names" && has) names = argv[++i];
        else argv[out++] = argv[i];
    }
    argc = out;
    bench::corpus c;
    if (vmlinux.empty() || modules_dir.empty() || objects.empty()) (void)bench::load_corpus(corpus, c);  // the defaults
    s.in.vmlinux = !vmlinux.empty() ? vmlinux : c.vmlinux;
    if (!modules_dir.empty()) {
        if (auto files = btfkit::list_directory(modules_dir)) {
            for (const auto& f : *files) {
                if (f != "vmlinux") s.in.modules.push_back(modules_dir + "/" + f);
            }
        }
    } else {
        s.in.modules = c.modules;
    }
    for (const auto& o : objects) {
        if (auto files = btfkit::list_directory(o)) {
            for (const auto& f : *files) {
                if (f.ends_with(".o")) s.in.objects.push_back(o + "/" + f);
            }
        } else {
            s.in.objects.push_back(o);
        }
    }
    if (objects.empty()) s.in.objects = c.objects;
    if (!names.empty()) {
        s.name_counts.clear();
        for (std::size_t at = 0; at < names.size();) {
            const std::size_t comma = std::min(names.find(',', at), names.size());
            s.name_counts.push_back(std::stoul(names.substr(at, comma - at)));
            at = comma + 1;
        }
    }
    return !s.in.vmlinux.empty() && bench::is_file(s.in.vmlinux) && !s.in.objects.empty();
}

// Parses the inputs, registers target_set's benchmarks and then those of add_source's sources, and
// runs them.
inline int run(int argc, char** argv) {
    if (!parse_args(argc, argv)) {
        std::fprintf(stderr, "source_bench: no vmlinux or no objects (--vmlinux, --modules-dir, --objects, or the corpus)\n");
        return bench::exit_skip;
    }
    auto& registrars = detail::the().registrars;
    add_source("target_set", [](const inputs& in) { return detail::open_target_set(in); });
    std::rotate(registrars.begin(), registrars.end() - 1, registrars.end());  // the reference first
    for (const auto& r : registrars) r();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // namespace source_bench
