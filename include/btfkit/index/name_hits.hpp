// What a name pass found for a set of names (runtime/name_pass.hpp): every vmlinux and module entry
// whose essential-name hash is one of theirs. Lookups of those names are answered from it as from
// the indexes, which then need not exist.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace btfkit {

struct name_hits {
    using entry = std::pair<std::uint32_t, std::uint32_t>;  // (hash, vmlinux id) or (hash, module entry)

    std::vector<std::uint32_t> hashes{};  // the names', sorted
    std::vector<entry> vmlinux{};         // sorted by hash, then id; empty if vmlinux was indexed already
    std::vector<entry> modules{};         // sorted by hash, then module entry
    bool has_vmlinux = false;             // whether vmlinux was scanned
    bool has_modules = false;             // whether the modules were read

    [[nodiscard]] bool empty() const noexcept { return hashes.empty(); }
    [[nodiscard]] bool covers(std::uint32_t h) const noexcept { return std::binary_search(hashes.begin(), hashes.end(), h); }
    // Calls f(value) for the entries of `list` with hash h, in order.
    template <class F>
    static void each(const std::vector<entry>& list, std::uint32_t h, F&& f) {
        auto at = std::lower_bound(list.begin(), list.end(), entry{h, 0});
        for (; at != list.end() && at->first == h; ++at) f(at->second);
    }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return hashes.capacity() * sizeof(std::uint32_t) + (vmlinux.capacity() + modules.capacity()) * sizeof(entry);
    }
};

}  // namespace btfkit
