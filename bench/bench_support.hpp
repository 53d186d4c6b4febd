// Shared by the benchmark executables: where the corpus is, the deterministic inputs drawn from it
// (module subset, module-only names, a local BTF naming them), clocks, RSS and allocation counters.
#pragma once

#include <malloc.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include <btfkit/kernel.hpp>

#ifndef BTFKIT_CORPUS_DIR
#define BTFKIT_CORPUS_DIR ""
#endif

namespace bench {

// The OS tuning BTFKIT_TUNING names (os/tuning.hpp's parse_tuning), turned on. Default none: the
// in-process benchmarks measure the library as a program links it, which turns nothing on unless it
// calls apply_tuning (the CLI turns all on; whole-process rows measure that); bench/tuning compares.
inline void apply_tuning_from_env() {
    const char* t = std::getenv("BTFKIT_TUNING");
    auto tuning = btfkit::parse_tuning(t != nullptr ? t : "none");
    if (!tuning) {
        std::fprintf(stderr, "%s\n", tuning.error().message().c_str());
        std::exit(2);
    }
    btfkit::apply_tuning(*tuning);
}

// Exit status meson (and bench/run) read as "skipped".
inline constexpr int exit_skip = 77;

// ---- allocation counting (alloc_counter.cpp interposes malloc and operator new) -------------------

struct alloc_snapshot {
    std::uint64_t allocs = 0;  // malloc/calloc/realloc/memalign/new calls so far
    std::uint64_t frees = 0;
    std::int64_t live_bytes = 0;  // usable bytes currently allocated through the counted entry points
    std::int64_t peak_bytes = 0;  // high-water mark of live_bytes since the last reset_peak()
};
alloc_snapshot allocations() noexcept;
void reset_peak() noexcept;

// A path for a scratch file of this process: $TMPDIR (or /tmp)/btfkit-bench-<pid>-NAME.
[[nodiscard]] inline std::string temp_path(const std::string& name) {
    const char* t = std::getenv("TMPDIR");
    return std::string(t != nullptr && *t == '/' ? t : "/tmp") + "/btfkit-bench-" + std::to_string(::getpid()) + "-" + name;
}

// ---- clocks and process memory ------------------------------------------------------------------

[[nodiscard]] inline std::int64_t now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
// CPU time of the whole process (all threads): btfkit's module index uses two.
[[nodiscard]] inline std::int64_t process_cpu_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A field of /proc/self/status in kB (VmRSS, RssAnon, RssFile, VmHWM), -1 if absent.
[[nodiscard]] inline long status_kb(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':') {
            return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
        }
    }
    return -1;
}

// Bytes in use on the malloc heap (all arenas, mmapped chunks included).
[[nodiscard]] inline std::int64_t heap_in_use() noexcept {
    const struct mallinfo2 m = ::mallinfo2();
    return static_cast<std::int64_t>(m.uordblks + m.hblkhd);
}

// ---- the corpus ---------------------------------------------------------------------------------

struct corpus {
    std::string dir;
    std::string vmlinux;                     // Debian 6.1 raw BTF
    std::string modules_dir;
    std::vector<std::string> modules;        // every module BTF, in name order (btfkit --modules-dir order)
    std::vector<std::string> objects;        // libbpf-tools .bpf.o, in name order
};

[[nodiscard]] inline bool is_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The corpus directory: --corpus DIR (removed from argv), else $BTFKIT_CORPUS_DIR, else the build's default.
[[nodiscard]] inline std::string corpus_dir_from(int& argc, char** argv) {
    std::string dir;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        int take = 0;
        if (a == "--corpus" && i + 1 < argc) {
            dir = argv[i + 1];
            take = 2;
        } else if (a.starts_with("--corpus=")) {
            dir = std::string(a.substr(9));
            take = 1;
        }
        if (take) {
            for (int j = i; j + take <= argc; ++j) argv[j] = argv[j + take];
            argc -= take;
            --i;
        }
    }
    if (dir.empty()) {
        if (const char* e = std::getenv("BTFKIT_CORPUS_DIR"); e && *e) dir = e;
        else dir = BTFKIT_CORPUS_DIR;
    }
    return dir;
}

// Loads the corpus listing; false (with a reason on stderr) when it is absent or incomplete.
[[nodiscard]] inline bool load_corpus(const std::string& dir, corpus& c) {
    c.dir = dir;
    c.vmlinux = dir + "/vmlinux";
    c.modules_dir = dir + "/modules";
    if (dir.empty() || !is_file(c.vmlinux)) {
        std::fprintf(stderr, "corpus not found (%s): run bench/corpus/fetch, or pass --corpus DIR\n",
                     dir.empty() ? "no directory" : c.vmlinux.c_str());
        return false;
    }
    auto mods = btfkit::list_directory(c.modules_dir);
    auto objs = btfkit::list_directory(dir + "/bpf");
    if (!mods || !objs || mods->empty() || objs->empty()) {
        std::fprintf(stderr, "corpus at %s lacks modules/ or bpf/: re-run bench/corpus/fetch\n", dir.c_str());
        return false;
    }
    for (const auto& m : *mods) {
        if (m != "vmlinux") c.modules.push_back(c.modules_dir + "/" + m);
    }
    for (const auto& o : *objs) {
        if (o.ends_with(".bpf.o")) c.objects.push_back(dir + "/bpf/" + o);
    }
    return true;
}

// `n` modules spread evenly over the sorted list (every k-th): a stand-in for a typical loaded host.
[[nodiscard]] inline std::vector<std::string> module_subset(const std::vector<std::string>& all, std::size_t n) {
    if (n >= all.size()) return all;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(all[i * all.size() / n]);
    return out;
}

// ---- module-only names ----------------------------------------------------------------------------

struct named_kind {
    std::string name;
    btfkit::kind kind{};
};

// Every essential name of a STRUCT, UNION or ENUM that some module in `modules` has and that no
// type of `vmlinux` has (whatever its kind), sorted; the kind is the one of its first occurrence.
[[nodiscard]] inline std::vector<named_kind> all_module_only_names(const std::string& vmlinux_path,
                                                                   const std::vector<std::string>& modules) {
    auto vf = btfkit::mapped_file::open(vmlinux_path);
    if (!vf) return {};
    auto vb = btfkit::btf::parse(vf->bytes());
    if (!vb) return {};
    std::set<std::string_view, std::less<>> in_vmlinux;  // every essential name, whatever the kind
    for (const auto t : vb->types()) in_vmlinux.insert(btfkit::essential_name(t.name()));
    std::map<std::string, btfkit::kind, std::less<>> found;
    btfkit::byte_buffer buf;
    for (const auto& path : modules) {
        if (!btfkit::read_btf_into(path, buf)) continue;
        auto mb = btfkit::btf::parse(btfkit::byte_span(buf.data(), buf.size()), &*vb);
        if (!mb) continue;
        for (const auto t : mb->types()) {
            if (!(t.is(btfkit::kind::struct_) || t.is(btfkit::kind::union_) || t.is(btfkit::kind::enum_))) continue;
            const std::string_view e = btfkit::essential_name(t.name());
            if (e.empty() || found.find(e) != found.end() || in_vmlinux.count(e) != 0) continue;
            found.emplace(std::string(e), t.kind());
        }
    }
    std::vector<named_kind> out;
    out.reserve(found.size());
    for (auto& [n, k] : found) out.push_back({n, k});
    return out;
}

// `n` of them, evenly spread over the list (the middle of each of n equal slices).
template <class T>
[[nodiscard]] std::vector<T> pick_names(const std::vector<T>& all, std::size_t n) {
    std::vector<T> out;
    if (all.empty()) return out;
    for (std::size_t i = 0; i < n && i < all.size(); ++i) out.push_back(all[(2 * i + 1) * all.size() / (2 * n)]);
    return out;
}

// ---- ksnoop expressions ---------------------------------------------------------------------------

// The expression W9 resolves for the FUNC `id`: `f(p->m)` when its first parameter p points to a named
// struct whose first named member is m, else `f(p)`, else `f`.
[[nodiscard]] inline std::string trace_expr_for(const btfkit::btf& b, std::uint32_t id) {
    const btfkit::type f = b[id];
    std::string e(f.name());
    if (!b.valid_id(f.ref()) || !b[f.ref()].is(btfkit::kind::func_proto)) return e;
    const btfkit::type proto = b[f.ref()];
    if (proto.vlen() == 0) return e;
    const btfkit::param p = *proto.params().begin();
    const std::string_view pname = b.string(p.name_off);
    if (pname.empty() || p.type == 0) return e;
    e += "(" + std::string(pname);
    auto ptr = b.skip_mods_and_typedefs(p.type);
    if (ptr && ptr->is(btfkit::kind::ptr)) {
        auto s = b.skip_mods_and_typedefs(ptr->ref());
        if (s && s->is(btfkit::kind::struct_) && !s->name().empty()) {
            for (const btfkit::member m : s->members()) {
                if (const std::string_view mname = b.string(m.name_off); !mname.empty()) {
                    e += "->" + std::string(mname);
                    break;
                }
            }
        }
    }
    return e + ")";
}

// Every FUNC of vmlinux and then of each module, in id order, each name where a lookup by name finds it
// first (vmlinux, then the modules in order), as the expression trace_expr_for gives.
[[nodiscard]] inline std::vector<std::string> all_trace_exprs(const std::string& vmlinux_path, const std::vector<std::string>& modules) {
    auto vf = btfkit::mapped_file::open(vmlinux_path);
    if (!vf) return {};
    auto vb = btfkit::btf::parse(vf->bytes());
    if (!vb) return {};
    std::set<std::string, std::less<>> seen;
    std::vector<std::string> out;
    auto add = [&](const btfkit::btf& b) {
        for (const auto t : b.types()) {
            if (t.is(btfkit::kind::func) && seen.insert(std::string(t.name())).second) out.push_back(trace_expr_for(b, t.id()));
        }
    };
    add(*vb);
    btfkit::byte_buffer buf;
    for (const auto& path : modules) {
        if (!btfkit::read_btf_into(path, buf)) continue;
        if (auto mb = btfkit::btf::parse(btfkit::byte_span(buf.data(), buf.size()), &*vb)) add(*mb);
    }
    return out;
}

// A raw little-endian BTF with one type per name (STRUCT/UNION with no members, or ENUM with no
// enumerators), ids 1..n in order: the "local" types whose candidates W2 looks up.
[[nodiscard]] inline std::vector<char> local_btf_blob(const std::vector<named_kind>& names) {
    std::string strings(1, '\0');
    std::vector<std::uint32_t> words;
    for (const auto& nk : names) {
        words.push_back(static_cast<std::uint32_t>(strings.size()));
        strings += nk.name;
        strings += '\0';
        words.push_back(static_cast<std::uint32_t>(nk.kind) << 24);
        words.push_back(nk.kind == btfkit::kind::enum_ ? 4u : 0u);
    }
    const std::uint32_t type_len = static_cast<std::uint32_t>(words.size() * 4);
    const std::uint32_t hdr[] = {0x0001eB9Fu, 24u, 0u, type_len, type_len, static_cast<std::uint32_t>(strings.size())};
    std::vector<char> blob(24 + type_len + strings.size());
    // magic (u16) + version (u8) + flags (u8) packs into the first word on a little-endian host
    std::memcpy(blob.data(), hdr, sizeof(hdr));
    std::memcpy(blob.data() + 24, words.data(), type_len);
    std::memcpy(blob.data() + 24 + type_len, strings.data(), strings.size());
    return blob;
}

}  // namespace bench
