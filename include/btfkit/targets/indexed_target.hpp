// One BTF with its name indexes: the same answers as single_target, without scanning. Nothing in it
// changes after construction, so lookups may run on several threads at once.
#pragma once

#include <cstdint>
#include <string_view>

#include "../core/candidates.hpp"
#include "../error.hpp"
#include "../format/btf.hpp"
#include "../index/name_index.hpp"

namespace btfkit {

class indexed_target {
public:
    // The types index always; the symbols index too if `index_symbols` (else symbols are scanned).
    constexpr explicit indexed_target(const btf& b, bool index_symbols = false)
        : btf_(&b), index_(name_index::build(b)), symbols_(index_symbols ? name_index::build(b, name_space::symbols) : name_index{}) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    [[nodiscard]] constexpr const btf* target_btf(std::uint32_t) const noexcept { return btf_; }
    template <class F>
    constexpr status for_each_named(target_group g, std::string_view key, name_space sp, F&& f) const {
        if (g != target_group::vmlinux) return {};
        const name_index* index = sp == name_space::types ? &index_ : sp == name_space::symbols && !symbols_.slots().empty() ? &symbols_ : nullptr;
        if (index == nullptr) {
            scan_named(*btf_, 0, btf_->first_id(), key, sp, f);
            return {};
        }
        index->for_each(*btf_, key, [&](std::uint32_t id) { f(*btf_, id, std::uint32_t{0}); });
        return {};
    }
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }
    [[nodiscard]] constexpr const name_index& index() const noexcept { return index_; }

private:
    const btf* btf_;
    name_index index_;
    name_index symbols_;
};

}  // namespace btfkit
