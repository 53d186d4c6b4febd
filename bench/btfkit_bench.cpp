// W1–W4 of docs/performance.md in one Google Benchmark binary: every btfkit benchmark beside its libbpf
// baseline, timed manually (UseManualTime) so that only the work named in the table is measured.
//
// libbpf is linked statically with -Wl,--wrap (see meson.build): bpf_prog_load and bpf_btf_load return
// a dummy fd without a syscall (maps are not created either), so bpf_object__load runs open, BTF
// handling and CO-RE without the kernel; bpf_core_calc_relo_insn, bpf_core_patch_insn, btf__parse and
// btf__load_vmlinux_btf are timed where libbpf calls them, to find where its CO-RE pass starts and ends.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "btfkit.hpp"
#include <btfkit/kernel.hpp>
#include <btfkit/core/relocate.hpp>

#include "bench_support.hpp"

// libbpf-internal types and functions (relo_core.h, libbpf.c of libbpf 1.1), restated: global in libbpf.a.
struct bpf_core_cand {
    const struct btf* btf;
    __u32 id;
};
struct bpf_core_cand_list {
    struct bpf_core_cand* cands;
    int len;
};
struct bpf_core_spec;
struct bpf_core_relo_res;

extern "C" {
int bpf_core_add_cands(struct bpf_core_cand* local_cand, size_t local_essent_len, const struct btf* targ_btf,
                       const char* targ_btf_name, int targ_start_id, struct bpf_core_cand_list* cands);
size_t bpf_core_essential_name_len(const char* name);

int __real_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                   const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                   struct bpf_core_spec* specs_scratch, struct bpf_core_relo_res* targ_res);
int __real_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                               const struct bpf_core_relo* relo, int relo_idx, const struct bpf_core_relo_res* res);
struct btf* __real_btf__parse(const char* path, struct btf_ext** btf_ext);
struct btf* __real_btf__load_vmlinux_btf(void);

int __wrap_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                   const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                   struct bpf_core_spec* specs_scratch, struct bpf_core_relo_res* targ_res);
int __wrap_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                               const struct bpf_core_relo* relo, int relo_idx, const struct bpf_core_relo_res* res);
struct btf* __wrap_btf__parse(const char* path, struct btf_ext** btf_ext);
struct btf* __wrap_btf__load_vmlinux_btf(void);
int __wrap_bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name, const char* license,
                         const struct bpf_insn* insns, size_t insn_cnt, const struct bpf_prog_load_opts* opts);
int __wrap_bpf_btf_load(const void* btf_data, size_t btf_size, const struct bpf_btf_load_opts* opts);
}

namespace {

// An fd number no process here has open: libbpf's close() of it fails harmlessly with EBADF.
constexpr int dummy_fd = 1'000'000;

// What happened inside one timed bpf_object__open_file + bpf_object__load.
struct libbpf_trace {
    bool active = false;
    std::int64_t kernel_btf_ns = 0;      // inside btf__load_vmlinux_btf, before CO-RE started
    std::int64_t kernel_btf_cpu_ns = 0;
    std::int64_t target_parsed = 0;      // btf__parse of btf_custom_path returned
    std::uint64_t target_parsed_allocs = 0;
    std::int64_t core_end = 0;           // last bpf_core_calc_relo_insn / bpf_core_patch_insn returned
    std::int64_t core_end_cpu = 0;
    std::uint64_t core_end_allocs = 0;
    std::uint32_t sites = 0, site_errors = 0;
};
libbpf_trace g_trace;

void note_core_end() {
    g_trace.core_end = bench::now_ns();
    g_trace.core_end_cpu = bench::process_cpu_ns();
    g_trace.core_end_allocs = bench::allocations().allocs;
}

}  // namespace

extern "C" int __wrap_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                              const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                              struct bpf_core_spec* specs_scratch, struct bpf_core_relo_res* targ_res) {
    const int err = __real_bpf_core_calc_relo_insn(prog_name, relo, relo_idx, local_btf, cands, specs_scratch, targ_res);
    if (g_trace.active) {
        ++g_trace.sites;
        if (err) ++g_trace.site_errors;
        note_core_end();
    }
    return err;
}

extern "C" int __wrap_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                                          const struct bpf_core_relo* relo, int relo_idx, const struct bpf_core_relo_res* res) {
    const int err = __real_bpf_core_patch_insn(prog_name, insn, insn_idx, relo, relo_idx, res);
    if (g_trace.active) {
        if (err) ++g_trace.site_errors;
        note_core_end();
    }
    return err;
}

extern "C" struct btf* __wrap_btf__parse(const char* path, struct btf_ext** btf_ext) {
    struct btf* b = __real_btf__parse(path, btf_ext);
    if (g_trace.active && g_trace.sites == 0) {
        g_trace.target_parsed = bench::now_ns();
        g_trace.target_parsed_allocs = bench::allocations().allocs;
    }
    return b;
}

extern "C" struct btf* __wrap_btf__load_vmlinux_btf(void) {
    const std::int64_t t0 = bench::now_ns(), c0 = bench::process_cpu_ns();
    struct btf* b = __real_btf__load_vmlinux_btf();
    if (g_trace.active && g_trace.sites == 0) {
        g_trace.kernel_btf_ns += bench::now_ns() - t0;
        g_trace.kernel_btf_cpu_ns += bench::process_cpu_ns() - c0;
    }
    return b;
}

extern "C" int __wrap_bpf_prog_load(enum bpf_prog_type, const char*, const char*, const struct bpf_insn*, size_t,
                                    const struct bpf_prog_load_opts*) {
    return dummy_fd;
}

extern "C" int __wrap_bpf_btf_load(const void*, size_t, const struct bpf_btf_load_opts*) { return dummy_fd; }

namespace {

using benchmark::State;

bench::corpus g_corpus;
constexpr const char* running_vmlinux = "/sys/kernel/btf/vmlinux";

// Both sides relocate exactly as libbpf 1.1 does: no FWD extension, no module fd in TYPE_ID_TARGET.
constexpr btfkit::relocate_options libbpf_like = [] {
    btfkit::relocate_options o;
    o.fwd_extension = false;
    o.encoding = btfkit::fd_encoding::none;
    return o;
}();

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "btfkit-bench: %s\n", what.c_str());
    std::exit(1);
}

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Fresh-process allocation (see main): after an iteration's teardown, untimed, freed pages go back to
// the system, so that the next iteration touches fresh memory as a new process would.
bool g_fresh_heap = true;
void settle() {
    if (g_fresh_heap) ::malloc_trim(0);
}

// Wall time (the benchmark's manual time) and process CPU time (all threads; counter cpu_ms per
// iteration) of the measured spans. CPU time is what to compare when other jobs share the machine.
class meter {
public:
    explicit meter(State& st) : st_(st) {}
    meter(const meter&) = delete;
    meter& operator=(const meter&) = delete;
    ~meter() {
        if (st_.iterations() > 0 && cpu_ > 0) st_.counters["cpu_ms"] = ms(cpu_) / static_cast<double>(st_.iterations());
    }
    void start() {
        w0_ = bench::now_ns();
        c0_ = bench::process_cpu_ns();
    }
    void stop() { add(bench::now_ns() - w0_, bench::process_cpu_ns() - c0_); }
    void add(std::int64_t wall, std::int64_t cpu) {
        iteration_ += wall;
        cpu_ += cpu;
    }
    void next_iteration() {
        st_.SetIterationTime(static_cast<double>(iteration_) / 1e9);
        total_ += iteration_;
        iteration_ = 0;
    }
    [[nodiscard]] std::int64_t total_wall() const noexcept { return total_; }

private:
    State& st_;
    std::int64_t w0_ = 0, c0_ = 0, iteration_ = 0, total_ = 0, cpu_ = 0;
};

// ---- W1: vmlinux BTF ready for lookups by id and name ---------------------------------------------

void w1_btfkit(State& st, std::string path) {
    meter m(st);
    for (auto _ : st) {
        {
            m.start();
            // As file_targets::open does without an index cache: mapped by halves on the parse's threads,
            // which also hash the names for the index.
            auto f = btfkit::mapped_file::open(path, btfkit::mapped_file::load::map_halves);
            if (!f) die(f.error().message());
            btfkit::named_hashes hashes;
            auto b = btfkit::parse_two_threads(f->bytes(), nullptr, nullptr, &hashes, true);
            if (!b) die(b.error().message());
            auto ix = btfkit::name_index::build(*b, hashes);
            m.stop();
            benchmark::DoNotOptimize(ix);
            m.next_iteration();
        }
        settle();
    }
}

void w1_libbpf(State& st, std::string path) {
    meter m(st);
    for (auto _ : st) {
        m.start();
        struct btf* b = btf__parse(path.c_str(), nullptr);
        m.stop();
        if (b == nullptr) die("btf__parse failed: " + path);
        m.next_iteration();
        btf__free(b);
        settle();
    }
}

// ---- W2: candidates for module-only names across vmlinux + modules, opening included --------------

struct w2_input {
    std::vector<std::string> modules;
    std::vector<bench::named_kind> names;
    std::vector<char> blob;  // local BTF naming them, ids 1..n
};

// Computed once per (module set, name count), outside any timing.
const w2_input& w2_inputs(std::size_t module_count, std::size_t name_count) {
    static std::map<std::size_t, std::vector<bench::named_kind>> all_names;
    static std::map<std::pair<std::size_t, std::size_t>, w2_input> inputs;
    const auto key = std::make_pair(module_count, name_count);
    if (auto it = inputs.find(key); it != inputs.end()) return it->second;
    w2_input in;
    in.modules = bench::module_subset(g_corpus.modules, module_count);
    auto& all = all_names[module_count];
    if (all.empty()) all = bench::all_module_only_names(g_corpus.vmlinux, in.modules);
    in.names = bench::pick_names(all, name_count);
    if (in.names.size() != name_count) die("not enough module-only names in the corpus");
    in.blob = bench::local_btf_blob(in.names);
    return inputs.emplace(key, std::move(in)).first->second;
}

// file_targets::open given the names (target_options::prefetch: their modules found and opened on two
// threads, while vmlinux is read and parsed when there is no cache) + target_set::collect per name
// (vmlinux, then modules: libbpf's order).
// `cached`: with an index cache file written by an untimed first open (index_cache.hpp), as every
// later process on the same host finds it; the timed open still stats every file to check it.
void w2_btfkit(State& st, std::size_t module_count, std::size_t name_count, bool cached) {
    const w2_input& in = w2_inputs(module_count, name_count);
    auto local = btfkit::btf::parse(btfkit::byte_span(in.blob.data(), in.blob.size()));
    if (!local) die(local.error().message());
    btfkit::target_options opts;
    if (cached) {
        opts.index_cache = bench::temp_path("w2-index-" + std::to_string(module_count) + ".bin");
        ::unlink(opts.index_cache.c_str());
        auto ft = btfkit::file_targets::open(g_corpus.vmlinux, in.modules, opts);
        if (!ft) die(ft.error().message());
        if (auto s = (*ft)->targets().build_module_index(); !s) die(s.error().message());
        if (!(*ft)->index_cache_note().empty()) die((*ft)->index_cache_note());
        settle();
    }
    std::size_t found = 0, opened = 0;
    // The names are given at open (target_options::prefetch): without the cache, the modules are
    // walked while vmlinux is read and parsed. The prefetch call below then finds them done.
    std::vector<std::string_view> essentials;
    for (std::uint32_t id = 1; id < local->type_count(); ++id) essentials.push_back(btfkit::essential_name((*local)[id].name()));
    opts.prefetch.assign(essentials.begin(), essentials.end());
    meter m(st);
    for (auto _ : st) {
        {
            m.start();
            auto ft = btfkit::file_targets::open(g_corpus.vmlinux, in.modules, opts);
            if (!ft) die(ft.error().message());
            if (auto s = (*ft)->targets().prefetch(essentials); !s) die(s.error().message());
            std::vector<btfkit::candidate> out;
            for (std::uint32_t id = 1; id < local->type_count(); ++id) {
                if (auto s = btfkit::collect_candidates((*ft)->targets(), (*local)[id], essentials[id - 1], libbpf_like, out); !s) die(s.error().message());
            }
            m.stop();
            m.next_iteration();
            found = out.size();
            opened = (*ft)->targets().modules_opened();
            if (cached && !(*ft)->index_cache_hit()) die("W2: the index cache missed: " + (*ft)->index_cache_note());
        }
        settle();
    }
    st.counters["candidates"] = static_cast<double>(found);
    st.counters["modules_opened"] = static_cast<double>(opened);
    if (cached) ::unlink(opts.index_cache.c_str());
}

// btf__parse + btf__parse_split of every module, then libbpf's own bpf_core_add_cands per name in
// bpf_core_find_cands' order: vmlinux, then every module when vmlinux has none.
void w2_libbpf(State& st, std::size_t module_count, std::size_t name_count) {
    const w2_input& in = w2_inputs(module_count, name_count);
    struct btf* local = btf__new(in.blob.data(), static_cast<__u32>(in.blob.size()));
    if (local == nullptr) die("btf__new of the local BTF failed");
    std::vector<std::string> mod_names;
    for (const auto& p : in.modules) mod_names.push_back(btfkit::module_name_of(p));
    std::size_t found = 0;
    meter m(st);
    for (auto _ : st) {
        m.start();
        struct btf* vmlinux = btf__parse(g_corpus.vmlinux.c_str(), nullptr);
        if (vmlinux == nullptr) die("btf__parse failed: " + g_corpus.vmlinux);
        std::vector<struct btf*> mods;
        mods.reserve(in.modules.size());
        for (const auto& p : in.modules) {
            if (struct btf* b = btf__parse_split(p.c_str(), vmlinux)) mods.push_back(b);
            else die("btf__parse_split failed: " + p);
        }
        std::size_t total = 0;
        const int module_start = static_cast<int>(btf__type_cnt(vmlinux));
        for (std::uint32_t id = 1; id <= in.names.size(); ++id) {
            bpf_core_cand local_cand{local, id};
            bpf_core_cand_list cands{nullptr, 0};
            const char* name = btf__name_by_offset(local, btf__type_by_id(local, id)->name_off);
            const std::size_t len = bpf_core_essential_name_len(name);
            if (bpf_core_add_cands(&local_cand, len, vmlinux, "vmlinux", 1, &cands) != 0) die("bpf_core_add_cands failed");
            if (cands.len == 0) {
                for (std::size_t i = 0; i < mods.size(); ++i) {
                    if (bpf_core_add_cands(&local_cand, len, mods[i], mod_names[i].c_str(), module_start, &cands) != 0) die("bpf_core_add_cands failed");
                }
            }
            total += static_cast<std::size_t>(cands.len);
            std::free(cands.cands);
        }
        m.stop();
        m.next_iteration();
        found = total;
        for (auto* b : mods) btf__free(b);
        btf__free(vmlinux);
        settle();
    }
    btf__free(local);
    st.counters["candidates"] = static_cast<double>(found);
    st.counters["modules_opened"] = static_cast<double>(in.modules.size());
}

// ---- W3 / W4: relocating the libbpf-tools objects --------------------------------------------------

// btfkit's targets: the Debian vmlinux file (and `modules`), or the running kernel.
std::unique_ptr<btfkit::file_targets> open_targets(bool running, const std::vector<std::string>& modules = {}) {
    auto t = running ? btfkit::file_targets::running_kernel() : btfkit::file_targets::open(g_corpus.vmlinux, modules);
    if (!t) die(t.error().message());
    return std::move(*t);
}

// Opens one object (mapped, parsed, copied into a writable image) and relocates it against `set`;
// returns the relocations done (sites of programs libbpf skips are not counted, as libbpf does not).
std::uint32_t relocate_file(const std::string& path, btfkit::target_set& set, btfkit::relocation_scratch& scratch,
                            btfkit::byte_buffer& image, std::uint32_t& errors) {
    auto f = btfkit::mapped_file::open(path);
    if (!f) die(f.error().message());
    auto obj = btfkit::bpf_object::parse(f->bytes());
    if (!obj) die(obj.error().message());
    image.assign(f->bytes().begin(), f->bytes().end());
    auto sum = btfkit::relocate_object(*obj, std::span<char>(image.data(), image.size()), set, scratch, libbpf_like,
                                       [](const btfkit::relocation_report&) {});
    if (!sum) die(sum.error().message());
    errors += sum->errors;
    return sum->total;
}

// As a loader process per object would: targets opened and indexed for every object.
void w3_btfkit_per_object(State& st, bool running) {
    std::uint32_t relos = 0, errors = 0;
    meter m(st);
    for (auto _ : st) {
        relos = errors = 0;
        for (const auto& path : g_corpus.objects) {
            {
                m.start();
                auto targets = open_targets(running);
                btfkit::relocation_scratch scratch;
                btfkit::byte_buffer image;
                relos += relocate_file(path, targets->targets(), scratch, image, errors);
                m.stop();
            }
            settle();
        }
        m.next_iteration();
    }
    st.counters["relocations"] = relos;
    st.counters["relo_errors"] = errors;
}

// All objects in one process: targets opened once, scratch and image buffer reused.
void w3_btfkit_batch(State& st, bool running) {
    std::uint32_t relos = 0, errors = 0;
    meter m(st);
    for (auto _ : st) {
        relos = errors = 0;
        {
            m.start();
            auto targets = open_targets(running);
            btfkit::relocation_scratch scratch;
            btfkit::byte_buffer image;
            for (const auto& path : g_corpus.objects) relos += relocate_file(path, targets->targets(), scratch, image, errors);
            m.stop();
            m.next_iteration();
        }
        settle();
    }
    st.counters["relocations"] = relos;
    st.counters["relo_errors"] = errors;
}

struct libbpf_run {
    std::int64_t wall = 0, cpu = 0;  // open start -> CO-RE done, minus the running kernel's BTF load (custom target)
    std::int64_t core_window = 0;    // custom target parsed -> CO-RE done
    std::uint64_t core_window_allocs = 0;
    std::int64_t excluded = 0;       // the running kernel's BTF load taken out
    std::uint32_t sites = 0, errors = 0;
};

// bpf_object__open_file + bpf_object__load of one object, with maps not created and program and BTF
// loads answered by the dummy wrappers; the clock stops when libbpf's CO-RE pass ends.
libbpf_run libbpf_relocate(const std::string& path, const char* custom_btf) {
    struct bpf_object_open_opts opts;
    std::memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.btf_custom_path = custom_btf;
    g_trace = {};
    g_trace.active = true;
    const std::int64_t t0 = bench::now_ns(), c0 = bench::process_cpu_ns();
    struct bpf_object* obj = bpf_object__open_file(path.c_str(), &opts);
    if (obj == nullptr) die("bpf_object__open_file failed: " + path);
    struct bpf_map* map = nullptr;
    bpf_object__for_each_map(map, obj) bpf_map__set_autocreate(map, false);
    (void)bpf_object__load(obj);  // errors after CO-RE (none expected) do not matter here
    const std::int64_t t_load = bench::now_ns(), c_load = bench::process_cpu_ns();
    g_trace.active = false;
    libbpf_run r;
    r.sites = g_trace.sites;
    r.errors = g_trace.site_errors;
    const std::int64_t end = g_trace.sites ? g_trace.core_end : t_load;
    const std::int64_t end_cpu = g_trace.sites ? g_trace.core_end_cpu : c_load;
    // With a custom target, libbpf still parses the running kernel's BTF for programs that attach by
    // BTF id (fentry, tp_btf): not CO-RE work, so it is taken out.
    r.excluded = custom_btf ? g_trace.kernel_btf_ns : 0;
    r.wall = end - t0 - r.excluded;
    r.cpu = end_cpu - c0 - (custom_btf ? g_trace.kernel_btf_cpu_ns : 0);
    if (custom_btf && g_trace.target_parsed) {
        r.core_window = end - g_trace.target_parsed;
        r.core_window_allocs = g_trace.core_end_allocs - g_trace.target_parsed_allocs;
    }
    if (std::getenv("BTFKIT_BENCH_TRACE")) {
        std::fprintf(stderr, "%s: load %.2f ms, running-kernel BTF %.2f ms, target parsed at %.2f ms, CO-RE end at %.2f ms, %u sites\n",
                     path.c_str(), ms(t_load - t0), ms(g_trace.kernel_btf_ns),
                     g_trace.target_parsed ? ms(g_trace.target_parsed - t0) : -1.0, ms(end - t0), g_trace.sites);
    }
    bpf_object__close(obj);
    settle();
    return r;
}

void w3_libbpf(State& st, bool running) {
    std::uint32_t relos = 0, errors = 0;
    std::int64_t excluded = 0;
    meter m(st);
    for (auto _ : st) {
        relos = errors = 0;
        excluded = 0;
        for (const auto& path : g_corpus.objects) {
            const libbpf_run r = libbpf_relocate(path, running ? nullptr : g_corpus.vmlinux.c_str());
            m.add(r.wall, r.cpu);
            relos += r.sites;
            errors += r.errors;
            excluded += r.excluded;
        }
        m.next_iteration();
    }
    st.counters["relocations"] = relos;
    st.counters["relo_errors"] = errors;
    st.counters["excluded_kernel_btf_ms"] = ms(excluded);
}

// W4: warm targets (Debian vmlinux + all modules, module index built), objects parsed, scratch reused;
// only relocate_object is timed. The image is restored between runs, untimed.
void w4_btfkit(State& st) {
    struct prepared {
        btfkit::mapped_file file;
        std::optional<btfkit::bpf_object> obj;
        btfkit::byte_buffer image;
    };
    static auto targets = open_targets(false, g_corpus.modules);
    if (auto s = targets->targets().build_module_index(); !s) die(s.error().message());
    static std::vector<prepared> objects = [] {
        std::vector<prepared> v(g_corpus.objects.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            auto f = btfkit::mapped_file::open(g_corpus.objects[i]);
            if (!f) die(f.error().message());
            v[i].file = std::move(*f);
            auto o = btfkit::bpf_object::parse(v[i].file.bytes());
            if (!o) die(o.error().message());
            v[i].obj.emplace(std::move(*o));
            v[i].image.assign(v[i].file.bytes().begin(), v[i].file.bytes().end());
        }
        return v;
    }();
    btfkit::relocation_scratch scratch;
    btfkit::target_set& set = targets->targets();
    auto restore = [](prepared& p) { std::memcpy(p.image.data(), p.file.bytes().data(), p.image.size()); };
    auto run_one = [&](prepared& p) {
        auto sum = btfkit::relocate_object(*p.obj, std::span<char>(p.image.data(), p.image.size()), set, scratch, libbpf_like,
                                           [](const btfkit::relocation_report&) {});
        if (!sum) die(sum.error().message());
        return sum->total;
    };
    for (auto& p : objects) {  // warm-up: modules with hits opened, scratch at its high-water mark
        restore(p);
        run_one(p);
    }
    std::uint64_t relos = 0, allocs = 0;
    meter m(st);
    for (auto _ : st) {
        for (auto& p : objects) {
            restore(p);
            const std::uint64_t a0 = bench::allocations().allocs;
            const std::int64_t t0 = bench::now_ns();
            relos += run_one(p);
            m.add(bench::now_ns() - t0, 0);
            allocs += bench::allocations().allocs - a0;
        }
        m.next_iteration();
    }
    const double n = static_cast<double>(relos);
    st.counters["relocations"] = n / static_cast<double>(st.iterations());
    st.counters["ns_per_relo"] = static_cast<double>(m.total_wall()) / n;
    st.counters["allocs_per_relo"] = static_cast<double>(allocs) / n;

    // Untimed: the distribution over single relocations (clock read in the report callback; the first
    // relocation of an object also carries the object's set-up).
    std::vector<std::int64_t> each;
    each.reserve(static_cast<std::size_t>(n / static_cast<double>(st.iterations())) + 1);
    for (auto& p : objects) {
        restore(p);
        std::int64_t last = bench::now_ns();
        (void)btfkit::relocate_object(*p.obj, std::span<char>(p.image.data(), p.image.size()), set, scratch, libbpf_like,
                                      [&](const btfkit::relocation_report&) {
                                          const std::int64_t t = bench::now_ns();
                                          each.push_back(t - last);
                                          last = t;
                                      });
    }
    std::sort(each.begin(), each.end());
    if (!each.empty()) {
        st.counters["p50_ns"] = static_cast<double>(each[each.size() / 2]);
        st.counters["p90_ns"] = static_cast<double>(each[each.size() * 9 / 10]);
        st.counters["max_ns"] = static_cast<double>(each.back());
    }
}

// libbpf's CO-RE pass per relocation: from its parse of the target BTF to its last patched instruction
// (candidate scans, spec parsing, matching, patching), per object load; allocations in the same window.
void w4_libbpf(State& st) {
    std::uint64_t relos = 0, allocs = 0;
    meter m(st);
    for (auto _ : st) {
        for (const auto& path : g_corpus.objects) {
            const libbpf_run r = libbpf_relocate(path, g_corpus.vmlinux.c_str());
            m.add(r.core_window, 0);
            relos += r.sites;
            allocs += r.core_window_allocs;
        }
        m.next_iteration();
    }
    const double n = static_cast<double>(relos);
    st.counters["relocations"] = n / static_cast<double>(st.iterations());
    st.counters["ns_per_relo"] = static_cast<double>(m.total_wall()) / n;
    st.counters["allocs_per_relo"] = static_cast<double>(allocs) / n;
}

void register_all(int repetitions) {
    // Runs of a second or more (libbpf over every module or object) repeat at most 3 times: bench/run
    // stays within a few minutes.
    const int heavy = std::min(repetitions, 3);
    auto add = [&](const std::string& name, auto fn, auto... args) {
        auto* b = benchmark::RegisterBenchmark(name.c_str(), fn, args...);
        return b->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(repetitions);
    };
    const bool have_running = bench::is_file(running_vmlinux);
    // W1
    for (const bool running : {false, true}) {
        if (running && !have_running) continue;
        const std::string path = running ? running_vmlinux : g_corpus.vmlinux;
        const std::string tag = std::string("w1_open/") + (running ? "running" : "debian") + "/";
        add(tag + "btfkit", w1_btfkit, path)->MinTime(0.2);
        add(tag + "libbpf", w1_libbpf, path)->MinTime(0.2);
    }
    // W2
    for (const std::size_t mods : {g_corpus.modules.size(), std::size_t{200}}) {
        const bool all = mods == g_corpus.modules.size();
        const std::string set = all ? "all" : std::to_string(mods);
        for (const std::size_t n : {std::size_t{1}, std::size_t{10}, std::size_t{100}}) {
            const std::string tag = "w2_lookup/" + set + "_modules/" + std::to_string(n) + "_names/";
            add(tag + "btfkit", w2_btfkit, mods, n, false)->Iterations(all ? 2 : 10);
            add(tag + "btfkit_cached", w2_btfkit, mods, n, true)->Iterations(all ? 4 : 10);
            if (all) add(tag + "libbpf", w2_libbpf, mods, n)->Iterations(1)->Repetitions(heavy);
            else add(tag + "libbpf", w2_libbpf, mods, n)->Iterations(3);
        }
    }
    // W3
    for (const bool running : {false, true}) {
        if (running && !have_running) continue;
        const std::string tag = std::string("w3_objects/") + (running ? "running" : "debian") + "/";
        add(tag + "btfkit_per_object", w3_btfkit_per_object, running)->Iterations(1)->Repetitions(heavy);
        add(tag + "btfkit_batch", w3_btfkit_batch, running)->Iterations(5);
        add(tag + "libbpf", w3_libbpf, running)->Iterations(1)->Repetitions(heavy);
    }
    // W4
    add("w4_per_relocation/debian/btfkit", w4_btfkit)->MinTime(0.3);
    add("w4_per_relocation/debian/libbpf", w4_libbpf)->Iterations(1)->Repetitions(heavy);
}

int print_inputs(std::string_view what, std::size_t n, std::size_t module_count) {
    if (what == "exprs") {
        for (const auto& e : bench::pick_names(bench::all_trace_exprs(g_corpus.vmlinux, g_corpus.modules), n)) std::printf("%s\n", e.c_str());
    } else if (what == "names") {
        for (const auto& nk : w2_inputs(module_count, n).names) std::printf("%s\n", nk.name.c_str());
    } else {
        for (const auto& m : bench::module_subset(g_corpus.modules, n)) std::printf("%s\n", m.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bench::apply_tuning_from_env();
    const std::string dir = bench::corpus_dir_from(argc, argv);
    if (!bench::load_corpus(dir, g_corpus)) return bench::exit_skip;
    libbpf_set_print(nullptr);
    // Allocate like a fresh process in every iteration: the mmap threshold stays at glibc's initial
    // 128 KiB (glibc raises it after the first large free, then recycles warm heap pages) and settle()
    // trims the heap after each teardown. A one-shot loader never sees warm pages, and first touches of
    // fresh pages are what costs most on some VMs. BTFKIT_BENCH_WARM_HEAP=1 keeps glibc's defaults.
    if (const char* w = std::getenv("BTFKIT_BENCH_WARM_HEAP"); w == nullptr || *w == '0') {
        ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        ::mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    } else {
        g_fresh_heap = false;
    }
    // Inputs of the whole-process comparisons in bench/run:
    //   --print-names N [MODULES]   the N module-only names W2 uses (over all modules, or the MODULES subset)
    //   --print-modules N           the N-module subset
    //   --print-exprs N             the N ksnoop expressions W9 resolves (over vmlinux and all modules)
    if (argc >= 3 && (std::string_view(argv[1]) == "--print-names" || std::string_view(argv[1]) == "--print-modules" ||
                      std::string_view(argv[1]) == "--print-exprs")) {
        const std::size_t n = std::strtoul(argv[2], nullptr, 10);
        const std::size_t mods = argc >= 4 ? std::strtoul(argv[3], nullptr, 10) : g_corpus.modules.size();
        return print_inputs(std::string_view(argv[1]).substr(8), n, mods);
    }
    int repetitions = 5;
    if (const char* r = std::getenv("BTFKIT_BENCH_REPETITIONS")) repetitions = std::max(1, std::atoi(r));
    register_all(repetitions);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
