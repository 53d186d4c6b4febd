// Bounds-checked, endian-aware byte decoding over borrowed memory; usable in constant evaluation.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <algorithm>
#include <vector>

namespace btfkit {

// Bytes are viewed as `char` so that strings inside a blob are `std::string_view`s even in constant
// evaluation; any object representation may be read through `char` without aliasing issues.
using byte_span = std::span<const char>;

// A runtime view of std::byte data as a byte_span.
[[nodiscard]] inline byte_span as_byte_span(std::span<const std::byte> data) noexcept {
    return {static_cast<const char*>(static_cast<const void*>(data.data())), data.size()};
}

enum class byte_order : std::uint8_t { little, big };

inline constexpr byte_order native_order =
    std::endian::native == std::endian::little ? byte_order::little : byte_order::big;

namespace detail {

template <class T>
constexpr T byteswap(T v) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (sizeof(T) == 1) {
        return v;
    } else if constexpr (sizeof(T) == 2) {  // one instruction, so that every load stays small enough to inline
        return __builtin_bswap16(v);
    } else if constexpr (sizeof(T) == 4) {
        return __builtin_bswap32(v);
    } else if constexpr (sizeof(T) == 8) {
        return __builtin_bswap64(v);
    } else {
        T r = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            r = static_cast<T>((r << 8) | ((v >> (8 * i)) & 0xff));
        }
        return r;
    }
}

// 0x80 in the lowest zero byte of `w` (and possibly in bytes above it): the first NUL of eight bytes
// loaded little-endian-first is at countr_zero / 8.
inline constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
[[nodiscard]] constexpr std::uint64_t zero_bytes(std::uint64_t w) noexcept { return (w - ones) & ~w & highs; }

// Unchecked load of an unsigned integer; callers have checked bounds.
template <class T>
constexpr T load(const char* p, byte_order order) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if (std::is_constant_evaluated()) {
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            const auto b = static_cast<T>(static_cast<unsigned char>(p[i]));
            if (order == byte_order::little) {
                v = static_cast<T>(v | static_cast<T>(b << (8 * i)));
            } else {
                v = static_cast<T>((v << 8) | b);
            }
        }
        return v;
    } else {
        std::array<char, sizeof(T)> raw;
        for (std::size_t i = 0; i < sizeof(T); ++i) raw[i] = p[i];
        T v = std::bit_cast<T>(raw);
        return order == native_order ? v : byteswap(v);
    }
}

template <class T>
constexpr void store(char* p, T v, byte_order order) noexcept {
    static_assert(std::is_unsigned_v<T>);
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        const std::size_t shift = order == byte_order::little ? 8 * i : 8 * (sizeof(T) - 1 - i);
        p[i] = static_cast<char>(static_cast<unsigned char>((v >> shift) & 0xff));
    }
}

}  // namespace detail

// A view of bytes in a known byte order; every read is checked against the view's size.
class byte_reader {
public:
    constexpr byte_reader() noexcept = default;
    constexpr byte_reader(byte_span data, byte_order order) noexcept : data_(data), order_(order) {}

    [[nodiscard]] constexpr std::size_t size() const noexcept { return data_.size(); }
    [[nodiscard]] constexpr byte_order order() const noexcept { return order_; }
    [[nodiscard]] constexpr byte_span data() const noexcept { return data_; }

    [[nodiscard]] constexpr bool fits(std::uint64_t offset, std::uint64_t length) const noexcept {
        return offset <= data_.size() && length <= data_.size() - offset;
    }

    // Unchecked loads: callers prove bounds once for a whole record.
    template <class T>
    [[nodiscard]] constexpr T get(std::size_t offset) const noexcept {
        return detail::load<T>(data_.data() + offset, order_);
    }
    [[nodiscard]] constexpr std::uint8_t u8(std::size_t off) const noexcept { return get<std::uint8_t>(off); }
    [[nodiscard]] constexpr std::uint16_t u16(std::size_t off) const noexcept { return get<std::uint16_t>(off); }
    [[nodiscard]] constexpr std::uint32_t u32(std::size_t off) const noexcept { return get<std::uint32_t>(off); }
    [[nodiscard]] constexpr std::uint64_t u64(std::size_t off) const noexcept { return get<std::uint64_t>(off); }
    [[nodiscard]] constexpr std::int32_t s32(std::size_t off) const noexcept {
        return std::bit_cast<std::int32_t>(u32(off));
    }

    [[nodiscard]] constexpr byte_reader sub(std::size_t offset, std::size_t length) const noexcept {
        return byte_reader{data_.subspan(offset, length), order_};
    }

private:
    byte_span data_{};
    byte_order order_ = byte_order::little;
};

// The NUL-terminated string at `offset` inside `data`; false if out of range or unterminated.
[[nodiscard]] constexpr bool c_string_at(byte_span data, std::size_t offset, std::string_view& out) noexcept {
    if (offset >= data.size()) return false;
    if (!std::is_constant_evaluated()) {
        // Eight bytes at a time: names are short, and a call to memchr costs more than the scan
        // (a type or member name is looked up for every declaration a C header writes).
        const char* const first = data.data() + offset;
        const char* const end = data.data() + data.size();
        const char* p = first;
        for (; end - p >= 8; p += 8) {
            if (const std::uint64_t z = detail::zero_bytes(detail::load<std::uint64_t>(p, byte_order::little)); z != 0) {
                out = std::string_view(first, static_cast<std::size_t>(p - first) + static_cast<std::size_t>(std::countr_zero(z)) / 8);
                return true;
            }
        }
        for (; p != end; ++p) {
            if (*p == 0) {
                out = std::string_view(first, static_cast<std::size_t>(p - first));
                return true;
            }
        }
        return false;
    }
    const std::string_view rest(data.data() + offset, data.size() - offset);
    const std::size_t end = rest.find('\0');
    if (end == std::string_view::npos) return false;
    out = rest.substr(0, end);
    return true;
}

}  // namespace btfkit
