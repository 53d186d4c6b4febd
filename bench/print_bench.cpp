// Printing throughput (values per second): btfkit's format_value / format_json / json_plan over vmlinux types against
// bpftool's dumper printing the same values from an array map (`bpftool map dump id ID -j`, whole process).
// Needs the running kernel's BTF; the bpftool rows need bpftool and BPF privileges (else they skip).
#include <benchmark/benchmark.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <btfkit/kernel.hpp>
#include <btfkit/show/format_json.hpp>
#include <btfkit/show/format_value.hpp>

namespace {

namespace bk = btfkit;

constexpr const char* value_types[] = {"sk_buff", "sock_common", "file", "inode", "page"};
constexpr std::uint32_t values_per_type = 4096;

struct workload {
    bk::mapped_file file;
    bk::btf types;
    struct one {
        std::uint32_t id = 0;
        std::uint32_t size = 0;
        std::vector<std::string> values;
    };
    std::vector<one> sets;
    bool ok = false;
};

workload& load() {
    static workload w = [] {
        workload x;
        auto f = bk::mapped_file::open("/sys/kernel/btf/vmlinux");
        if (!f) return x;
        x.file = std::move(*f);
        auto b = bk::btf::parse(x.file.bytes());
        if (!b) return x;
        x.types = std::move(*b);
        std::mt19937_64 rng(0x9e37'79b9);
        for (const char* name : value_types) {
            for (std::uint32_t id = 1; id < x.types.type_count(); ++id) {
                const bk::type t = x.types[id];
                if (t.kind() != bk::kind::struct_ || t.name() != name) continue;
                workload::one s{id, t.size(), {}};
                for (std::uint32_t v = 0; v < values_per_type; ++v) {
                    std::string bytes(t.size(), '\0');
                    for (auto& c : bytes) {
                        const auto r = rng();
                        c = r % 6 == 0 ? static_cast<char>(r >> 8) : 0;  // mostly zero, as live objects are
                    }
                    s.values.push_back(std::move(bytes));
                }
                x.sets.push_back(std::move(s));
                break;
            }
        }
        x.ok = !x.sets.empty();
        return x;
    }();
    return w;
}

struct counting_sink {
    std::size_t n = 0;
    void append(const char*, std::size_t k) noexcept { n += k; }
};

void print_btfkit_text(benchmark::State& state) {
    workload& w = load();
    if (!w.ok) return state.SkipWithError("no /sys/kernel/btf/vmlinux");
    std::vector<char> buf(1 << 20);
    std::int64_t values = 0;
    for (auto _ : state) {
        for (const auto& s : w.sets) {
            for (const std::string& v : s.values) {
                bk::bounded_buffer out(buf.data(), buf.size());
                auto r = bk::format_value(w.types, s.id, bk::byte_span(v.data(), v.size()), bk::show_ptr_raw, out);
                benchmark::DoNotOptimize(r);
                ++values;
            }
        }
    }
    state.SetItemsProcessed(values);
}

void print_btfkit_json(benchmark::State& state) {
    workload& w = load();
    if (!w.ok) return state.SkipWithError("no /sys/kernel/btf/vmlinux");
    std::int64_t values = 0;
    for (auto _ : state) {
        for (const auto& s : w.sets) {
            for (const std::string& v : s.values) {
                counting_sink out;
                auto r = bk::format_json(w.types, s.id, bk::byte_span(v.data(), v.size()), out);
                benchmark::DoNotOptimize(r);
                ++values;
            }
        }
    }
    state.SetItemsProcessed(values);
}

// As a map dump prints many values of one type: each type's json_plan compiled (inside the timed loop,
// once per 4,096 values), then every value printed from it.
void print_btfkit_json_plan(benchmark::State& state) {
    workload& w = load();
    if (!w.ok) return state.SkipWithError("no /sys/kernel/btf/vmlinux");
    std::int64_t values = 0;
    for (auto _ : state) {
        for (const auto& s : w.sets) {
            auto plan = bk::json_plan::compile(w.types, s.id);
            if (!plan) return state.SkipWithError("json_plan::compile failed");
            for (const std::string& v : s.values) {
                counting_sink out;
                auto r = plan->format(bk::byte_span(v.data(), v.size()), out);
                benchmark::DoNotOptimize(r);
                ++values;
            }
        }
    }
    state.SetItemsProcessed(values);
}

// The baseline: the same values in array maps typed by vmlinux's BTF (loaded as a user BTF), printed by
// bpftool's dumper; the whole `bpftool map dump -j` process per map, output discarded.
void print_bpftool_json(benchmark::State& state) {
    workload& w = load();
    if (!w.ok) return state.SkipWithError("no /sys/kernel/btf/vmlinux");
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.btf = bk::sys::user_ptr(w.file.bytes().data());
    a.btf_size = static_cast<std::uint32_t>(w.file.bytes().size());
    const long btf_fd = bk::sys::bpf(BPF_BTF_LOAD, &a, sizeof(a));
    if (btf_fd < 0) return state.SkipWithError("BPF_BTF_LOAD failed (privileges?)");
    std::uint32_t u32_id = 0;
    for (std::uint32_t id = 1; id < w.types.type_count() && u32_id == 0; ++id) {
        const bk::type t = w.types[id];
        if (t.kind() == bk::kind::int_ && t.size() == 4 && t.int_bits() == 32 && t.int_encoding() == 0) u32_id = id;
    }
    std::vector<int> maps;
    std::vector<std::string> commands;
    for (const auto& s : w.sets) {
        std::memset(&a, 0, sizeof(a));
        a.map_type = BPF_MAP_TYPE_ARRAY;
        a.key_size = 4;
        a.value_size = s.size;
        a.max_entries = values_per_type;
        a.btf_fd = static_cast<std::uint32_t>(btf_fd);
        a.btf_key_type_id = u32_id;
        a.btf_value_type_id = s.id;
        const long fd = bk::sys::bpf(BPF_MAP_CREATE, &a, sizeof(a));
        if (fd < 0) continue;
        maps.push_back(static_cast<int>(fd));
        for (std::uint32_t k = 0; k < values_per_type; ++k) {
            std::memset(&a, 0, sizeof(a));
            a.map_fd = static_cast<std::uint32_t>(fd);
            a.key = bk::sys::user_ptr(&k);
            a.value = bk::sys::user_ptr(s.values[k].data());
            (void)bk::sys::bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a));
        }
        struct bpf_map_info info;
        std::memset(&info, 0, sizeof(info));
        std::memset(&a, 0, sizeof(a));
        a.info.bpf_fd = static_cast<std::uint32_t>(fd);
        a.info.info_len = sizeof(info);
        a.info.info = bk::sys::user_ptr(&info);
        (void)bk::sys::bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
        commands.push_back("bpftool map dump id " + std::to_string(info.id) + " -j >/dev/null 2>&1");
    }
    if (commands.size() != w.sets.size()) state.SkipWithError("BPF_MAP_CREATE failed for a value type");
    std::int64_t values = 0;
    for (auto _ : state) {
        for (const std::string& c : commands) {
            if (std::system(c.c_str()) != 0) {
                state.SkipWithError("bpftool map dump failed (not installed?)");
                break;
            }
            values += values_per_type;
        }
    }
    state.SetItemsProcessed(values);
    for (const int fd : maps) ::close(fd);
    ::close(static_cast<int>(btf_fd));
}

}  // namespace

BENCHMARK(print_btfkit_text)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(print_btfkit_json)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(print_btfkit_json_plan)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(print_bpftool_json)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
