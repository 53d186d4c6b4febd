// The simplest target source: one BTF (vmlinux, or a custom target such as libbpf's btf_custom_path),
// scanned linearly as libbpf does. Works in constant evaluation.
#pragma once

#include <cstdint>
#include <string_view>

#include "../core/candidates.hpp"
#include "../error.hpp"
#include "../format/btf.hpp"

namespace btfkit {

class single_target {
public:
    constexpr explicit single_target(const btf& b) noexcept : btf_(&b) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    [[nodiscard]] constexpr const btf* target_btf(std::uint32_t) const noexcept { return btf_; }
    template <class F>
    constexpr status for_each_named(target_group g, std::string_view key, name_space sp, F&& f) const {
        if (g == target_group::vmlinux) scan_named(*btf_, 0, 1, key, sp, f);
        return {};
    }
    // Upper half of a TYPE_ID_TARGET for a type in `target`: 0, there are no modules.
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }

private:
    const btf* btf_;
};

}  // namespace btfkit
