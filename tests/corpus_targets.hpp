// The Debian corpus (bench/corpus/fetch) opened as targets, for the suites that look names up in it:
// a sample of its modules, the names to look up, find()'s answers, and damaged copies of a module.
// Tests that use it skip without the corpus (have_corpus).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "core_object.hpp"
#include "temp_dir.hpp"

namespace btfkit::testing::corpus_targets {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;

inline const fs::path corpus = BTFKIT_CORPUS_DIR;

inline bool have_corpus() {
    if (fs::exists(corpus / "vmlinux") && fs::exists(corpus / "modules" / "xfs")) return true;
    MESSAGE("skipping: no Debian corpus in " << corpus.string() << " (bench/corpus/fetch)");
    return false;
}

inline std::string vmlinux_path() { return (corpus / "vmlinux").string(); }

// The corpus's libbpf-tools objects, sorted (none without the corpus).
inline std::vector<fs::path> corpus_objects() {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(corpus / "bpf", ec)) {
        if (e.path().string().ends_with(".bpf.o")) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Every 20th module of the corpus (sorted), xfs and tcp_bic, and the extra paths given.
inline std::vector<std::string> module_set(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> all;
    for (const auto& e : fs::directory_iterator(corpus / "modules")) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < all.size(); i += 20) out.push_back(all[i]);
    for (const char* m : {"xfs", "tcp_bic"}) out.push_back((corpus / "modules" / m).string());
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

// Names to look up: every named STRUCT/UNION/ENUM of the given modules (some vmlinux has too), a
// few vmlinux-only ones and one that exists nowhere.
inline std::vector<std::string> names_of(const bk::btf& vmlinux, const std::vector<std::string>& modules) {
    std::vector<std::string> names{"task_struct", "sk_buff", "no_such_type_anywhere", "xfs_mount___flavour"};
    for (const auto& p : modules) {
        bk::byte_buffer buf;
        if (!bk::read_btf_into(p, buf)) continue;
        auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), &vmlinux);
        if (!b) continue;
        for (const bk::type t : b->types()) {
            if ((t.is(bk::kind::struct_) || t.is(bk::kind::union_) || t.is(bk::kind::enum_)) && !t.name().empty()) names.emplace_back(t.name());
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

// find() for every name, as "name target id kind" lines.
inline std::vector<std::string> answers(bk::target_set& set, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    std::vector<bk::candidate> found;
    for (const auto& n : names) {
        found.clear();
        REQUIRE(set.find(bk::essential_name(n), found).has_value());
        for (const auto& c : found) {
            out.push_back(n + " " + std::string(set.target_name(c.target)) + " " + std::to_string(c.id) + " " +
                          std::string(bk::kind_name((*c.owner)[c.id].kind())));
        }
    }
    return out;
}

inline std::unique_ptr<bk::file_targets> open(const std::vector<std::string>& modules, const std::string& cache,
                                       const std::vector<std::string>& prefetch = {}) {
    bk::target_options o;
    o.index_cache = cache;
    o.prefetch = prefetch;
    auto ft = bk::file_targets::open(vmlinux_path(), modules, o);
    REQUIRE_MESSAGE(ft.has_value(), ft.error().message());
    return std::move(*ft);
}

// A copy of module `name` whose first STRUCT member with a type refers past the end: the module index
// (which reads names only) takes it, a full parse rejects it.
inline std::string module_with_bad_reference(const bt::temp_dir& tmp, const bk::btf& vmlinux, const char* name) {
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / name).string(), buf).has_value());
    auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), &vmlinux);
    REQUIRE(b.has_value());
    bool done = false;
    for (const bk::type t : b->types()) {
        if (!t.is(bk::kind::struct_) || t.vlen() == 0) continue;
        bk::detail::store<std::uint32_t>(buf.data() + t.offset() + 12 + 4, 0x7ffffff0u, bk::byte_order::little);
        done = true;
        break;
    }
    REQUIRE(done);
    const std::string path = (tmp.path / (std::string(name) + "_bad")).string();
    REQUIRE(bt::write_bytes(path, bk::byte_span(buf.data(), buf.size())));
    return path;
}

// The first `keep` bytes of module `name`, under a new name: the module index rejects it (its
// header promises more than there is).
inline std::string truncated_module(const bt::temp_dir& tmp, const char* name, const char* as, std::size_t keep) {
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / name).string(), buf).has_value());
    REQUIRE(buf.size() > keep);
    const std::string path = (tmp.path / as).string();
    REQUIRE(bt::write_bytes(path, bk::byte_span(buf.data(), keep)));
    return path;
}

}  // namespace btfkit::testing::corpus_targets
