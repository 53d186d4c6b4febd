// The storage of an index: a table of u32 values, owned, or borrowed from little-endian bytes that
// outlive it (an index cache mapped from a file).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../bytes.hpp"
#include "../memory.hpp"

namespace btfkit::detail {

// A table of u32 values: owned, or borrowed from little-endian bytes that outlive it (an index cache
// mapped from a file). Reads decode with byte loads, so a borrowed table needs no alignment.
class u32_table {
public:
    [[nodiscard]] constexpr std::uint32_t operator[](std::size_t i) const noexcept {
        if (borrowed_ != nullptr) return load<std::uint32_t>(borrowed_ + 4 * i, byte_order::little);
        return owned_[i];
    }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return borrowed_ != nullptr ? borrowed_size_ : owned_.size(); }
    [[nodiscard]] constexpr bool empty() const noexcept { return size() == 0; }
    // The owned storage, for building (drops any borrowed view).
    constexpr big_vector<std::uint32_t>& own() noexcept {
        borrowed_ = nullptr;
        borrowed_size_ = 0;
        return owned_;
    }
    void borrow(const char* p, std::size_t n) {
        owned_ = {};
        borrowed_ = p;
        borrowed_size_ = n;
    }
    [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept { return owned_.capacity() * sizeof(std::uint32_t); }
    // The values as little-endian bytes at `out` (4 x size()): one copy where they are stored so.
    void store_le(char* out) const noexcept {
        const std::size_t n = size();
        if (borrowed_ != nullptr) {
            std::memcpy(out, borrowed_, 4 * n);
        } else if constexpr (std::endian::native == std::endian::little) {
            if (n != 0) std::memcpy(out, owned_.data(), 4 * n);
        } else {
            for (std::size_t i = 0; i < n; ++i) store(out + 4 * i, owned_[i], byte_order::little);
        }
    }

private:
    big_vector<std::uint32_t> owned_{};
    const char* borrowed_ = nullptr;
    std::size_t borrowed_size_ = 0;
};

}  // namespace btfkit::detail
