// One BTF with its name index: the same answers as single_target, without scanning. Nothing in it
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
    constexpr explicit indexed_target(const btf& b) : btf_(&b), index_(name_index::build(b)) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    [[nodiscard]] constexpr const btf& target_btf(std::uint32_t) const noexcept { return *btf_; }
    template <class F>
    constexpr status for_each_named(target_group g, std::string_view essential, bool indexed, F&& f) const {
        if (g != target_group::vmlinux) return {};
        if (!indexed) {
            scan_named(*btf_, 0, btf_->first_id(), essential, f);
            return {};
        }
        index_.for_each(*btf_, essential, [&](std::uint32_t id) { f(*btf_, id, std::uint32_t{0}); });
        return {};
    }
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }
    [[nodiscard]] constexpr const name_index& index() const noexcept { return index_; }

private:
    const btf* btf_;
    name_index index_;
};

}  // namespace btfkit
