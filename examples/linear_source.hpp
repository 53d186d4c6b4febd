// A candidate source of one's own, written as libbpf searches (bpf_core_find_cands): vmlinux scanned
// type by type, and the first time vmlinux has no candidate, every module BTF read and parsed
// (load_module_btfs) and then scanned in turn. No index, no cache: what btfkit's target_set is
// measured against by bench/source_bench.cpp, and proven bit-identical to it by tests/test_sources.cpp.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"

namespace example {

class linear_source {
public:
    // vmlinux (raw BTF or ELF) and module files (raw BTF or .ko), searched in this order.
    [[nodiscard]] static btfkit::result<linear_source> open(const std::string& vmlinux, std::vector<std::string> modules) {
        linear_source s;
        s.module_paths_ = std::move(modules);
        auto bytes = read(vmlinux);
        if (!bytes) return bytes.error();
        s.bytes_.push_back(std::move(*bytes));
        auto b = btfkit::btf::parse(btf_of(s.bytes_.back()));
        if (!b) return b.error().about(vmlinux);
        s.btfs_.push_back(std::move(*b));
        return s;
    }

    // ---- what btfkit::candidate_source asks for ----
    template <class F>
    btfkit::status for_each_named(btfkit::target_group g, std::string_view key, btfkit::name_space sp, F&& f) {
        if (g == btfkit::target_group::vmlinux) {
            btfkit::scan_named(btfs_.front(), 0, 1, key, sp, f);
            return {};
        }
        BTFKIT_TRY(load_modules());
        for (std::uint32_t t = 1; t < btfs_.size(); ++t) btfkit::scan_named(btfs_[t], t, btfs_[t].first_id(), key, sp, f);
        return {};
    }
    [[nodiscard]] std::uint32_t target_count() const noexcept { return static_cast<std::uint32_t>(module_paths_.size()) + 1; }
    [[nodiscard]] const btfkit::btf* target_btf(std::uint32_t t) const noexcept { return t < btfs_.size() ? &btfs_[t] : nullptr; }
    // Files have no kernel BTF object: no fd or id to give (the upper half stays 0, with a warning).
    [[nodiscard]] btfkit::result<std::uint32_t> upper_bits(std::uint32_t t, btfkit::fd_encoding e) const {
        if (t == 0 || e == btfkit::fd_encoding::none) return std::uint32_t{0};
        return btfkit::error(btfkit::errc::not_found, "no kernel BTF fd or id for a module file");
    }

    [[nodiscard]] bool modules_loaded() const noexcept { return loaded_; }

private:
    static btfkit::result<std::vector<char>> read(const std::string& path) {
        auto f = btfkit::mapped_file::open(path);
        if (!f) return f.error().about(path);
        return std::vector<char>(f->bytes().begin(), f->bytes().end());
    }
    static btfkit::byte_span btf_of(const std::vector<char>& bytes) {
        auto b = btfkit::find_btf(btfkit::byte_span(bytes.data(), bytes.size()));
        return b ? *b : btfkit::byte_span(bytes.data(), bytes.size());  // parse then says what is wrong
    }
    // Every module, read and parsed over vmlinux, once. A module that fails stops the search, as
    // libbpf's load_module_btfs fails the object.
    btfkit::status load_modules() {
        if (loaded_) return {};
        loaded_ = true;
        for (const auto& p : module_paths_) {
            auto bytes = read(p);
            if (!bytes) return bytes.error();
            bytes_.push_back(std::move(*bytes));
            auto b = btfkit::btf::parse(btf_of(bytes_.back()), &btfs_.front());
            if (!b) return b.error().about(p);
            btfs_.push_back(std::move(*b));
        }
        return {};
    }

    std::vector<std::string> module_paths_{};
    std::deque<std::vector<char>> bytes_{};  // a deque: the parsed BTFs point into these, and into btfs_.front()
    std::deque<btfkit::btf> btfs_{};         // 0 vmlinux, then the modules in order
    bool loaded_ = false;
};

static_assert(btfkit::candidate_source<linear_source>);

}  // namespace example
